"""Nodes computed along one axis in order, each region handing a carry to the next.

A scan (``cumsum``) and a moving window (``rolling(x, 7).mean()``) compute a
region of their result from the same region of their input *and* from what
came before it along their axis: the running total, or the last few
positions. :class:`AlongAxis` holds what the two have in common:

1. **Selections.** A node is the whole result or a selection of it: a
   ``window``, the positions along the axis that it computes (numbered as in
   the whole result), and ``take``, the part of the window it keeps. Its
   input is selected on the other axes and cut at the window's end (what
   comes before the window makes the carry); the other axes' selection, in
   the whole result's coordinates, is the node's **section**: carries are
   kept per section.
2. **Chains.** Every selection of one result shares its ``origin``, which
   names the chain of carries in the evaluation's store
   (:mod:`lazyarray.carries`).
3. **The planner** sees the input lying along the node's axes, shifted by
   the window's start (and by the ``lead`` of a centred window): a tile reads
   its own positions, aligned to the storage chunks below; the carries it
   publishes are announced before it starts (:meth:`_plan_carries`).

Subclasses say how a region is computed from its input's values and the
carry (``_compute_steps``), with :meth:`AlongAxis._values_steps` to read
positions of the input.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from .array import Array
from .blockspec import item_positions
from .fillvalues import result_fill_value
from .indexing import Key, compose_keys, full_key, is_full, key_shape
from .planprotocol import AxisPlace, Placement
from .steps import Steps

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["AlongAxis", "Origin", "flat_boxes"]


class Origin:
    """Names the result a node was selected from: its selections' chain of
    carries. ``length``: that result's, along its axis."""

    __slots__ = ("length",)

    def __init__(self, length: int):
        self.length = length


class AlongAxis(Array):
    """The common part of nodes computed along one axis in order (see the module).

    Attributes set by :meth:`_start`: ``_source`` (the input), ``_spec``
    (what the subclass computes), ``_axis`` (of the input; ``None`` for its
    flattening), ``_window``, ``_take``, ``_origin``, ``_others`` (the
    section) and ``_lead`` (how far ahead of a result position its input
    lies, for centred windows).
    """

    _lead = 0

    def _start(self, array: Array, spec: Any, axis: int | None, dtype: np.dtype,
               lead: int = 0) -> None:
        """Set up the whole result over ``array``."""
        length = array.shape[axis] if axis is not None else array.size
        others = (full_key(tuple(n for a, n in enumerate(array.shape) if a != axis))
                  if axis is not None else ())
        self._lead = lead
        self._setup(array, spec, axis, dtype, (0, length), None, Origin(length), others)

    def _setup(self, source: Array, spec: Any, axis: int | None, dtype: np.dtype,
               window: tuple[int, int], take: Key | None, origin: Origin,
               others: Key) -> None:
        self._source = source
        self._spec = spec
        self._axis = axis
        self._dtype = np.dtype(dtype)
        self._window = window
        if axis is None:
            window_shape: tuple[int, ...] = (window[1] - window[0],)
        else:
            window_shape = tuple(window[1] - window[0] if a == axis else n
                                 for a, n in enumerate(source.shape))
        self._window_shape = window_shape
        self._take = full_key(window_shape) if take is None else take
        self._shape = key_shape(self._take)
        self._origin = origin
        self._others = others
        self._fill_value = result_fill_value([source], self._dtype)

    def _like(self, source: Array, axis: int | None, window: tuple[int, int], take: Key,
              others: Key) -> AlongAxis:
        """This node's kind and spec, over another selection."""
        node = type(self).__new__(type(self))
        node._lead = self._lead
        node._setup(source, self._spec, axis, self._dtype, window, take, self._origin, others)
        return node

    # -- metadata -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._source,)

    @property
    def axis(self) -> int | None:
        """The input's axis computed along (``None``: its flattening)."""
        return self._axis

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return self._like(inputs[0], self._axis, self._window, self._take, self._others)

    @property
    def _along(self) -> int:
        return 0 if self._axis is None else self._axis

    def _slab(self, start: int | None, stop: int | None) -> tuple[slice, ...]:
        """A key of positions ``start:stop`` along the axis of a region's values."""
        return (slice(None),) * self._along + (slice(start, stop),)

    # -- indexing -------------------------------------------------------------
    def _index_steps(self, key: Key) -> Steps[Array]:
        take = compose_keys(self._take, key)
        along = self._along
        start, _ = self._window
        positions = item_positions(take[along])
        low = int(positions.min()) if positions.size else 0
        high = int(positions.max()) + 1 if positions.size else 0
        # The window shrinks to the positions kept; the take moves with it.
        item = take[along]
        if isinstance(item, int):
            moved: Any = item - low
        elif isinstance(item, range):
            moved = range(item.start - low, item.stop - low, item.step)
        else:
            moved = item - low
        window = (start + low, start + high)
        if self._axis is None:
            return self._like(self._source, None, window, (moved,), self._others)
        # The other axes push down to the input, which keeps the positions
        # before the window's end (and its lead) along the axis, for the carry.
        end = min(window[1] + self._lead, self._origin.length)
        others = tuple(item for a, item in enumerate(take) if a != along)
        inner = tuple(range(end) if a == along else take[a] for a in range(len(take)))
        source = yield self._source._select_steps(inner)
        axis = along - sum(isinstance(take[a], int) for a in range(along))
        new_take = tuple(moved if a == along else range(len(item_positions(take[a])))
                         for a in range(len(take)) if a == along or not isinstance(take[a], int))
        return self._like(source, axis, window, new_take, compose_keys(self._others, others))

    # -- reading the input ---------------------------------------------------------
    def _values_steps(self, context: EvaluationContext, start: int, stop: int,
                      with_mask: bool) -> Steps[np.ndarray]:
        """The input's positions ``start:stop`` along the axis; of the
        flattening, the fewest boxes that cover them, each flattened, joined."""
        source = self._source
        if self._axis is not None:
            key = tuple(range(start, stop) if a == self._axis else range(n)
                        for a, n in enumerate(source.shape))
            return (yield source._select(key)._evaluate_steps(context, with_mask))
        if source.ndim == 0:
            value = yield source._evaluate_steps(context, with_mask)
            return value.reshape(1)[start:stop]
        parts = []
        for box in flat_boxes(source.shape, start, stop):
            part = yield source._select(box)._evaluate_steps(context, with_mask)
            parts.append(part.reshape(-1))
        if not parts:
            empty = np.empty(0, source.dtype)
            return np.ma.MaskedArray(empty, mask=np.zeros(0, bool)) if with_mask else empty
        join = np.ma.concatenate if with_mask else np.concatenate
        return parts[0] if len(parts) == 1 else join(parts)

    # -- planner protocol -------------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # The input lies along the node's axes, the window's start (plus the
        # lead) at the node's 0 along the axis: a tile reads its own
        # positions. Where the node keeps part of its window (a step along
        # the axis, an index array), or works on the flattening, tiles read all.
        if self._axis is None or not is_full(self._take, self._window_shape):
            return (Placement(self._source, (None,) * self._source.ndim),)
        shift = -(self._window[0] + self._lead)
        axes: list[AxisPlace | None] = [(a, shift if a == self._axis else 0, 1)
                                        for a in range(self._source.ndim)]
        return (Placement(self._source, tuple(axes)),)

    def _plan_carries(self) -> tuple[tuple[Hashable, int, Key], ...]:
        start, stop = self._window
        if stop <= start:
            return ()
        return ((self._origin, min(stop + self._lead, self._origin.length), self._others),)


def flat_boxes(shape: tuple[int, ...], start: int, stop: int) -> list[Key]:
    """Boxes (keys of ranges) whose positions, in C order, are the flat
    positions ``start:stop`` of an array of ``shape``: at most two per axis.

    Examples
    --------
    >>> flat_boxes((3, 4), 2, 9)
    [(range(0, 1), range(2, 4)), (range(1, 2), range(0, 4)), (range(2, 3), range(0, 1))]
    >>> flat_boxes((3, 4), 4, 12)
    [(range(1, 3), range(0, 4))]
    """
    if start >= stop:
        return []
    if len(shape) == 1:
        return [(range(start, stop),)]
    inner = math.prod(shape[1:])
    first, head = divmod(start, inner)
    last, tail = divmod(stop, inner)
    if first == last:
        return [(range(first, first + 1), *box) for box in flat_boxes(shape[1:], head, tail)]
    boxes: list[Key] = []
    if head:
        boxes += [(range(first, first + 1), *box)
                  for box in flat_boxes(shape[1:], head, inner)]
        first += 1
    if last > first:
        boxes.append((range(first, last), *(range(n) for n in shape[1:])))
    if tail:
        boxes += [(range(last, last + 1), *box) for box in flat_boxes(shape[1:], 0, tail)]
    return boxes
