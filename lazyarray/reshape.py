"""Reshapes in C order, as one kind of node that reads only what a region needs.

A reshape in C order is a product of independent reshapes of *groups* of
consecutive axes: the input's axes and the output's fall into runs whose
lengths have equal products (``(6, 4, 5) -> (2, 3, 20)`` is ``6 -> (2, 3)``
and ``(4, 5) -> 20``), and positions along one group never depend on another.
So a :class:`ReshapedArray` is seen through its *group space*, one axis per
group holding the group's input axes flattened:

1. **Indexing.** A key of the output gives, group by group, the flat
   positions it selects (exactly, as a ``range`` or an index array). A
   group of one input axis passes them down to the input; a group of
   several passes them down where they are whole rows of the trailing axes
   (``x.reshape(-1, 1000)[2000:5000]`` reads rows 2:5 of ``x``) or a
   progression whose step is whole rows (``ravel(x)[3::1000]`` reads
   ``x[:, 3]`` of a ``(n, 1000)`` ``x``), and otherwise keeps the span of
   flat positions they lie in, and what it takes of it
   (:func:`_group_selection`).
2. **Evaluation.** A kept span is read as the boxes of the input that hold
   exactly its flat positions, at most two per axis (:func:`flat_boxes`),
   joined and flattened in memory; then the positions taken are taken and
   the result reshaped. What a region reads is thus proportional to the
   span of the flat positions it covers, which is the region itself for
   tiles (contiguous along a merged axis) and for selections of a split
   axis; a strided or scattered selection along a merged axis whose step is
   not whole rows (``ravel(x)[::7]``) reads the span it lies in, which is
   bounded by the selection's extent but not proportional to its size;
   so does a tile narrower than a row of a group that both merges and
   splits (``(6, 4) -> (4, 6)``): it reads from its first row to its last.
3. **The planner** (:mod:`lazyarray.planprotocol`) sees output axes that are
   input axes unchanged as following them one to one, so tiles align to
   their storage chunks; the axes of a group that merges or splits follow no
   input axis in the protocol (it has no "every ``b`` output positions per
   input position"), so the planner sizes tiles by memory alone there and
   counts their reads as if each tile read those input axes whole (an
   over-estimate in ``Plan.explain``: what is read is what step 2 says).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> from lazyarray.reshape import reshape, ravel
>>> x = la.asarray(np.arange(24).reshape(2, 3, 4))
>>> r = reshape(x, (6, -1))
>>> r.shape, r[4].ndarray().tolist()
((6, 4), [16, 17, 18, 19])
>>> ravel(x)[10:13].ndarray().tolist()
[10, 11, 12]
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .blockspec import item_positions
from .errors import ShapeError
from .fillvalues import fill_value_argument
from .indexing import Item, Key, full_key, key_shape, orthogonal_take, sorted_unique
from .planprotocol import AxisPlace, Edges, Placement
from .sequential import flat_boxes
from .steps import Steps
from .views import expand_dims

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["ReshapedArray", "ravel", "reshape", "reshape_groups"]

#: The positions a group takes of the flat span it reads: a ``range`` or a
#: 1-D index array, numbered from the span's start.
_Take = Any


def reshape_groups(old: Sequence[int], new: Sequence[int]) -> list[tuple[int, int]]:
    """The groups of a C-order reshape: per group, how many axes of ``old``
    and of ``new`` it holds, the products of their lengths being equal.

    Both shapes have at least one axis and the same number of elements. An
    empty array is one group. Groups are as small as can be, so an axis that
    is the same in both is a group of its own.

    Examples
    --------
    >>> reshape_groups((6, 4, 5), (2, 3, 20))
    [(1, 2), (2, 1)]
    >>> reshape_groups((2, 1, 3), (2, 3, 1))
    [(1, 1), (2, 2)]
    >>> reshape_groups((0, 3), (3, 0))
    [(2, 2)]
    """
    if math.prod(old) == 0:
        return [(len(old), len(new))]
    groups: list[tuple[int, int]] = []
    i = j = 0
    while i < len(old) and j < len(new):
        start_i, start_j = i, j
        have, want = old[i], new[j]
        i, j = i + 1, j + 1
        while have != want:
            if have < want:
                have *= old[i]
                i += 1
            else:
                want *= new[j]
                j += 1
        groups.append((i - start_i, j - start_j))
    # Trailing axes of length 1 on either side join the last group.
    last_i, last_j = groups[-1]
    groups[-1] = (last_i + len(old) - i, last_j + len(new) - j)
    return groups


def _as_item(positions: np.ndarray) -> Item:
    """1-D positions as a key item: a ``range`` when they are a progression."""
    positions = np.asarray(positions, np.intp).reshape(-1)
    if positions.size == 0:
        return range(0)
    if positions.size == 1:
        return range(int(positions[0]), int(positions[0]) + 1)
    step = int(positions[1] - positions[0])
    if step != 0 and bool(np.all(np.diff(positions) == step)):
        return _progression(int(positions[0]), step, positions.size)
    return positions


def _flat_positions(items: Sequence[Item], shape: Sequence[int]) -> np.ndarray:
    """The C-order flat positions, in an array of ``shape``, that ``items``
    (one per axis) select, shaped as the selection (ints drop their axes)."""
    flat = np.zeros((), np.intp)
    stride = 1
    for item, n in zip(reversed(items), reversed(shape)):
        positions = item_positions(item) * stride
        if isinstance(item, int):
            flat = flat + positions[0]
        else:
            flat = positions.reshape((-1,) + (1,) * flat.ndim) + flat
        stride *= n
    return flat


def _span_box(shape: Sequence[int], start: int, stop: int) -> tuple[Key, int]:
    """The smallest box of ``shape`` holding the flat positions ``start:stop``
    (not empty), and the flat position of ``start`` within that box."""
    key: list[Item] = []
    for axis, n in enumerate(shape):
        inner = math.prod(shape[axis + 1:])
        first, last = start // inner, (stop - 1) // inner
        key.append(range(first, last + 1))
        start, stop = start - first * inner, stop - first * inner
        if last > first:
            key.extend(range(m) for m in shape[axis + 1:])
            break
    # ``start`` was moved to the box's first row on every axis down to the one
    # it spans: it now counts from the box's first element.
    return tuple(key), start


class ReshapedArray(Array):
    """A C-order reshape of a selection of ``array``, by groups (see the module).

    Made by :func:`reshape` and by indexing; its parameters are the group
    space's.

    Parameters
    ----------
    array : Array
        The input.
    sizes : tuple of int
        Per group, how many consecutive axes of ``array`` it flattens (at
        least one each, all of them in all).
    spans : tuple of (int, int)
        Per group, the flat positions ``start:stop`` of its axes that are read.
    takes : tuple of (range or numpy.ndarray)
        Per group, the positions of its span taken (from the span's start).
    splits : tuple of tuple of int
        Per group, the output axes its taken positions fill in C order
        (their product is the number taken).

    Examples
    --------
    A selection across rows of a merged axis keeps the span it lies in:

    >>> import numpy as np, lazyarray as la
    >>> r = reshape(la.asarray(np.arange(12).reshape(3, 4)), 12)[3:9:2]
    >>> r.inputs[0].shape, r._spans, r._takes, r.ndarray().tolist()
    ((2, 4), ((3, 8),), (range(0, 5, 2),), [3, 5, 7])
    """

    def __init__(self, array: Array, sizes: Sequence[int], spans: Sequence[tuple[int, int]],
                 takes: Sequence[_Take], splits: Sequence[Sequence[int]]):
        self._array = array
        self._sizes = tuple(int(s) for s in sizes)
        self._spans = tuple((int(a), int(b)) for a, b in spans)
        self._takes = tuple(takes)
        self._splits = tuple(tuple(int(n) for n in s) for s in splits)
        if sum(self._sizes) != array.ndim or any(s < 1 for s in self._sizes):
            raise ShapeError(
                f"ReshapedArray: groups of {self._sizes} axes do not partition the "
                f"{array.ndim} axes of the input"
            )
        for take, split in zip(self._takes, self._splits):
            if len(take) != math.prod(split):
                raise ShapeError(
                    f"ReshapedArray: {len(take)} positions taken cannot fill axes of "
                    f"lengths {split}"
                )
        self._shape = tuple(n for split in self._splits for n in split)

    # -- metadata -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def fill_value(self) -> Any:
        return self._array.fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._array,)

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return ReshapedArray(inputs[0], self._sizes, self._spans, self._takes, self._splits)

    def _group_shapes(self) -> list[tuple[int, ...]]:
        """Per group, the lengths of the input's axes it flattens."""
        shapes, start = [], 0
        for size in self._sizes:
            shapes.append(tuple(self._array.shape[start:start + size]))
            start += size
        return shapes

    def _is_whole(self, group: int, shape: tuple[int, ...]) -> bool:
        """Whether a group takes all of its axes in order."""
        total = math.prod(shape)
        take = self._takes[group]
        return self._spans[group] == (0, total) and _takes_all(take, total)

    def _takes_everything(self) -> bool:
        """Whether this node is its input reshaped, nothing left out."""
        return all(self._is_whole(g, shape) for g, shape in enumerate(self._group_shapes()))

    # -- planner protocol -------------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # An input axis that is a group of its own, taken whole into one
        # output axis, follows that axis; the axes of groups that merge or
        # split follow none (the protocol places an input position at one
        # node position, not at a run of them), so tiles read them as a
        # whole as far as the planner knows.
        axes: list[AxisPlace | None] = []
        out = 0
        for group, shape in enumerate(self._group_shapes()):
            split = self._splits[group]
            if self._is_whole(group, shape) and split == shape:
                axes.extend((out + a, 0, 1) for a in range(len(shape)))
            else:
                axes.extend([None] * len(shape))
            out += len(split)
        return (Placement(self._array, tuple(axes)),)

    def _plan_edges(self, kind: str, edges_of: Callable[[Array], Edges]) -> Edges:
        # An unchanged axis shows its input axis's edges. A whole group shows
        # the edges of its leading input axis, in flat positions, wherever
        # they fall on a whole row of the output axes after one (an edge of
        # the trailing input axes repeats in every row: those are left out,
        # tiles of whole rows hold whole chunks of them).
        found = edges_of(self._array)
        edges: list[np.ndarray | None] = [None] * self.ndim
        out = start = 0
        for group, shape in enumerate(self._group_shapes()):
            split = self._splits[group]
            leading = found[start]
            if leading is not None and self._is_whole(group, shape):
                flat = np.asarray(leading, np.int64) * math.prod(shape[1:])
                for k, n in enumerate(split):
                    row = math.prod(split[k + 1:])
                    at = sorted_unique(flat[flat % row == 0] // row % n)
                    edges[out + k] = at[at > 0] if (at > 0).any() else None
            out += len(split)
            start += len(shape)
        return tuple(edges)

    # -- indexing ---------------------------------------------------------------
    def _index_steps(self, key: Key) -> Steps[Array]:
        inner_key: list[Item] = []
        sizes: list[int] = []
        spans: list[tuple[int, int]] = []
        takes: list[_Take] = []
        splits: list[tuple[int, ...]] = []
        used = 0
        for group, shape in enumerate(self._group_shapes()):
            split = self._splits[group]
            items = key[used:used + len(split)]
            used += len(split)
            # The flat positions of the group's axes that the key selects.
            chosen = _chosen(items, split, self._takes[group], self._spans[group][0])
            kept = key_shape(items)
            if not kept:  # one element of the group: ints on its input axes
                inner_key.extend(int(i) for i in np.unravel_index(chosen[0], shape))
                continue
            selection, size, span, take = _group_selection(shape, chosen)
            inner_key.extend(selection)
            sizes.append(size)
            spans.append(span)
            takes.append(take)
            splits.append(kept)
        inner = yield self._array._select_steps(tuple(inner_key))
        return _make(inner, sizes, spans, takes, splits)

    # -- evaluation ---------------------------------------------------------------
    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        reads = [self._group_reads(g, shape) for g, shape in enumerate(self._group_shapes())]
        boxes = [boxes for boxes, _, _ in reads]
        lengths = tuple(length for _, length, _ in reads)
        takes = tuple(take for _, _, take in reads)
        if all(len(b) == 1 for b in boxes):
            key = tuple(item for box in (b[0] for b in boxes) for item in box)
            value = yield self._array._select(key)._evaluate_steps(context, masked)
            value = value.reshape(lengths)
        else:
            value = yield from self._joined_steps(context, masked, boxes, lengths)
        value = orthogonal_take(value, takes).reshape(self._shape)
        if not isinstance(value, np.ma.MaskedArray):
            return value
        return np.ma.MaskedArray(
            np.ma.getdata(value), mask=np.ma.getmaskarray(value),
            fill_value=fill_value_argument(self.fill_value, self.dtype),
        )

    def _group_reads(self, group: int, shape: tuple[int, ...]
                     ) -> tuple[list[Key], int, _Take]:
        """What evaluating a group reads: boxes of its input axes, whose
        flattened values joined make ``length`` positions, of which ``take``.

        The group's span, in at most two boxes per axis; but where the
        positions taken are runs scattered over a span more than twice their
        number (a tile narrower than a row of a group that merges and
        splits), the runs alone, so that what is read and held stays
        proportional to the tile. Runs shorter than 8 on average are read as
        the span instead: many tiny reads cost more than the gaps.
        """
        start, stop = self._spans[group]
        take = self._takes[group]
        if (start, stop) == (0, math.prod(shape)):
            return [full_key(shape)], stop, take
        if isinstance(take, np.ndarray) and stop - start > 2 * len(take):
            positions = sorted_unique(take)
            cut = np.flatnonzero(np.diff(positions) != 1) + 1
            firsts = positions[np.concatenate([[0], cut])]
            lasts = positions[np.concatenate([cut - 1, [positions.size - 1]])]
            if firsts.size * 8 <= positions.size:
                boxes = [box for a, b in zip(firsts.tolist(), lasts.tolist())
                         for box in flat_boxes(shape, start + a, start + b + 1)]
                # A position's place among the runs read: its run's offset
                # in them, plus how far into its run it lies.
                run = np.searchsorted(firsts, take, side="right") - 1
                offsets = np.concatenate([[0], np.cumsum(lasts - firsts + 1)[:-1]])
                return boxes, int(positions.size), offsets[run] + take - firsts[run]
        return flat_boxes(shape, start, stop), stop - start, take

    def _joined_steps(self, context: EvaluationContext, masked: bool,
                      boxes: list[list[Key]], lengths: tuple[int, ...]) -> Steps[np.ndarray]:
        """The spans of every group, read box by box into one array."""
        data = np.empty(lengths, self.dtype)
        mask = np.zeros(lengths, bool) if masked else None
        where = []
        for group_boxes in boxes:
            offsets = itertools.accumulate((math.prod(key_shape(b)) for b in group_boxes),
                                           initial=0)
            where.append(list(zip(group_boxes, offsets)))
        for combination in itertools.product(*where):
            key = tuple(item for box, _ in combination for item in box)
            part = yield self._array._select(key)._evaluate_steps(context, masked)
            counts = tuple(math.prod(key_shape(box)) for box, _ in combination)
            place = tuple(slice(at, at + n) for (_, at), n in zip(combination, counts))
            data[place] = np.ma.getdata(part).reshape(counts)
            if mask is not None:
                mask[place] = np.ma.getmaskarray(part).reshape(counts)
        if mask is None:
            return data
        return np.ma.MaskedArray(data, mask=mask)


def _takes_all(take: _Take, length: int) -> bool:
    """Whether ``take`` takes the ``length`` positions of its span in order."""
    return isinstance(take, range) and take == range(length)


def _group_selection(shape: tuple[int, ...], chosen: range | np.ndarray
                     ) -> tuple[list[Item], int, tuple[int, int], _Take]:
    """How a group's input axes (of ``shape``) give its flat positions ``chosen``.

    Returns the key items of the input axes, how many of those axes stay
    (and are flattened), the span of their flat positions read and the
    positions taken of it, in the order of ``chosen``:

    1. along one axis, or as whole rows of the trailing axes: those rows,
       read exactly;
    2. a progression whose step is whole rows of some trailing axes: one
       position of those (ints), and the progression over the leading axes;
    3. otherwise the span from the first to the last position (the smallest
       box that holds it is selected below).
    """
    count = len(chosen)
    row = math.prod(shape[1:])
    if count == 0:
        return [range(0), *full_key(shape[1:])], len(shape), (0, 0), range(0)
    if len(shape) == 1 or _whole_rows(chosen, row):
        if isinstance(chosen, range):
            rows: Item = chosen if len(shape) == 1 else range(chosen.start // row,
                                                              chosen.start // row + count // row)
        else:
            rows = _as_item(chosen[::row] // row)
        return [rows, *full_key(shape[1:])], len(shape), (0, count), range(count)
    if isinstance(chosen, range) and count > 1:
        for axis in range(1, len(shape)):
            tail = math.prod(shape[axis:])
            if chosen.step % tail == 0:
                fixed = np.unravel_index(chosen[0] % tail, shape[axis:])
                head = _progression(chosen[0] // tail, chosen.step // tail, count)
                items, size, span, take = _group_selection(shape[:axis], head)
                return items + [int(i) for i in fixed], size, span, take
    # Ends of a range from its first and last (min() would iterate it).
    ends = (chosen[0], chosen[-1]) if isinstance(chosen, range) else (
        int(chosen.min()), int(chosen.max()))
    first, stop = min(ends), max(ends) + 1
    box, offset = _span_box(shape, first, stop)
    take = (_progression(chosen[0] - first, chosen.step, count)
            if isinstance(chosen, range) else _as_item(chosen - first))
    return list(box), len(shape), (offset, offset + stop - first), take


def _whole_rows(chosen: range | np.ndarray, row: int) -> bool:
    """Whether ``chosen`` is whole rows of ``row`` positions, each in order."""
    if row == 0 or len(chosen) % row:
        return False
    if isinstance(chosen, range):
        return chosen.step == 1 and chosen.start % row == 0
    rows = chosen.reshape(-1, row)
    return bool(np.all(rows[:, 0] % row == 0) and np.all(rows - rows[:, :1] == np.arange(row)))


def _flat_range(items: Sequence[Item], shape: Sequence[int]) -> range | None:
    """The C-order flat positions that ``items`` select in an array of
    ``shape``, when they are one progression (``None`` otherwise)."""
    start, step, count, stride = 0, 1, 1, 1
    for item, n in zip(reversed(items), reversed(shape)):
        if isinstance(item, int):
            start += item * stride
        elif not isinstance(item, range):
            return None
        elif len(item) == 0:
            return range(0)
        else:
            outer = item.step * stride
            if count == 1:
                step = outer
            elif len(item) > 1 and outer != step * count:
                return None  # the runs of the inner axes do not continue each other
            start += item.start * stride
            count *= len(item)
        stride *= n
    return _progression(start, step, count)


def _progression(first: int, step: int, count: int) -> range:
    """``count`` positions from ``first`` by ``step``, as a range whose stop is
    just past the last (never below -1, as normalised keys have it)."""
    if count == 0:
        return range(0)
    last = first + step * (count - 1)
    return range(first, last + (1 if step > 0 else -1), step)


def _chosen(items: Sequence[Item], split: Sequence[int], take: _Take,
            start: int) -> range | np.ndarray:
    """The flat positions of a group's input axes that ``items`` (a key of its
    output axes) select, in order: a range where they are a progression, so
    that keys of huge groups cost nothing, else an array."""
    flat = _flat_range(items, split)
    if flat is not None and isinstance(take, range):
        if len(flat) == 0:
            return range(0)
        return _progression(start + take[flat.start], flat.step * take.step, len(flat))
    positions = np.asarray(take)[flat] if flat is not None else (
        item_positions(take)[_flat_positions(items, split)].reshape(-1))
    return positions + start


def _make(array: Array, sizes: Sequence[int], spans: Sequence[tuple[int, int]],
          takes: Sequence[_Take], splits: Sequence[tuple[int, ...]]) -> Array:
    """A :class:`ReshapedArray`, or ``array`` itself where it changes nothing.

    A group that takes all of its axes into axes of the same lengths is
    split into groups of one axis each, so the planner sees them follow.
    """
    out_sizes: list[int] = []
    out_spans: list[tuple[int, int]] = []
    out_takes: list[_Take] = []
    out_splits: list[tuple[int, ...]] = []
    start = 0
    for size, span, take, split in zip(sizes, spans, takes, splits):
        shape = tuple(array.shape[start:start + size])
        start += size
        total = math.prod(shape)
        if span == (0, total) and _takes_all(take, total) and split == shape:
            out_sizes.extend([1] * size)
            out_spans.extend((0, n) for n in shape)
            out_takes.extend(range(n) for n in shape)
            out_splits.extend((n,) for n in shape)
        else:
            out_sizes.append(size)
            out_spans.append(span)
            out_takes.append(take)
            out_splits.append(split)
    if all(size == 1 and split == (n,) and span == (0, n) and _takes_all(take, n)
           for size, span, take, split, n in zip(out_sizes, out_spans, out_takes, out_splits,
                                                 array.shape)):
        return array
    return ReshapedArray(array, out_sizes, out_spans, out_takes, out_splits)


def _target_shape(shape: Any, size: int) -> tuple[int, ...]:
    """``shape`` as numpy reads it for an array of ``size`` elements: an int or
    a sequence of ints, one of which may be -1 (the length that fits)."""
    dims = (operator.index(shape),) if np.ndim(shape) == 0 else tuple(
        operator.index(n) for n in shape)
    unknown = [a for a, n in enumerate(dims) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in dims):
        raise ShapeError(
            f"reshape: expected lengths of at least 0 and at most one -1, found {dims}"
        )
    known = math.prod(n for n in dims if n != -1)
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape an array of size {size} into shape "
                             f"{dims}")
        dims = tuple(size // known if n == -1 else n for n in dims)
    if math.prod(dims) != size:
        raise ShapeError(f"reshape: cannot reshape an array of size {size} into shape {dims}")
    return dims


def reshape(array: Any, shape: int | Sequence[int], *, order: str = "C",
            copy: bool | None = None) -> Array:
    """Give ``array`` a new shape of as many elements, in C order, as ``numpy.reshape``.

    Lazy: nothing is read, and a selection or tile of the result reads the
    input positions it holds (see :mod:`lazyarray.reshape` for when a
    selection reads more: a strided or scattered one along a merged axis
    reads the span of flat positions it lies in). Masks are reshaped with
    the values; the fill value is kept.

    Parameters
    ----------
    array : array-like or Array
    shape : int or sequence of int
        The new shape; one length may be -1, inferred from the others.
    order : {"C"}
        Only C order: lazyarray reshapes in C order.
    copy : bool, optional
        Accepted for numpy's signature: lazy arrays are immutable, so a
        reshape never shares anything that could change.

    Returns
    -------
    Array
        ``array`` itself when the shape is its own.

    Raises
    ------
    ShapeError
        When the sizes differ, or ``shape`` has more than one -1.
    ValueError
        For ``order`` other than ``"C"``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> from lazyarray.reshape import reshape
    >>> x = la.asarray(np.ma.masked_array(np.arange(6), mask=[0, 1, 0, 0, 0, 1],
    ...                                   fill_value=-9))
    >>> r = reshape(x, (3, -1))
    >>> r.masked_array().tolist(), r.ndarray().tolist()
    ([[0, None], [2, 3], [4, None]], [[0, -9], [2, 3], [4, -9]])
    >>> reshape(x, (4, 2))
    Traceback (most recent call last):
    ...
    lazyarray.errors.ShapeError: reshape: cannot reshape an array of size 6 into shape (4, 2)
    """
    if order != "C":
        raise ValueError(
            f"reshape: expected order='C', found order={order!r}: lazyarray reshapes in C order"
        )
    del copy  # immutable arrays: copying or not gives the same
    array = asarray(array)
    target = _target_shape(shape, array.size)
    if target == array.shape:
        return array
    if isinstance(array, ReshapedArray) and array._takes_everything():
        array = array.inputs[0]  # a reshape of a reshape is one reshape
        if target == array.shape:
            return array
    if array.ndim == 0:
        array = expand_dims(array, 0)
    if not target:  # one element: reshaped to (1,), its one position taken
        return reshape(array, (1,))[0]
    groups = reshape_groups(array.shape, target)
    sizes, spans, takes, splits = [], [], [], []
    start_in = start_out = 0
    for count_in, count_out in groups:
        total = math.prod(array.shape[start_in:start_in + count_in])
        sizes.append(count_in)
        spans.append((0, total))
        takes.append(range(total))
        splits.append(target[start_out:start_out + count_out])
        start_in += count_in
        start_out += count_out
    return _make(array, sizes, spans, takes, splits)


def ravel(array: Any, order: str = "C") -> Array:
    """The elements of ``array`` in one axis, in C order, as ``numpy.ravel``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> from lazyarray.reshape import ravel
    >>> ravel(np.arange(6).reshape(2, 3))[1:5].ndarray().tolist()
    [1, 2, 3, 4]
    """
    return reshape(array, -1, order=order)
