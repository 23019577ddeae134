"""The :class:`MapBlocks` node: a user function applied block by block, lazily.

:func:`map_blocks` is dask's ``dask.array.map_blocks``: ``func`` is called
on each block of its array arguments (the same block of each, broadcast as
dask broadcasts, right-aligned), and the blocks it returns make the result.
Nothing is called when the node is built or indexed: a region is computed by
calling ``func`` on the blocks that cover it and taking the region's part.

The planner sees the node as a stored source whose chunks are its blocks
(the planner protocol's ``_plan_stored_source``, ``_plan_stored_key`` and
``_plan_read_model``; an irregular grid is seen with each block padded to
the longest, so that its blocks are regular chunks): tiles are made of whole
blocks wherever a block is within ``chunk_bytes``, so evaluating the node
calls ``func`` once per block, in one pass with the other results that use
it, which share each tile's blocks as they share reads. Its inputs' sources
are not seen by the planner through it: what a pass reads of them is not in
the plan's read counts.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = np.arange(6.0)
>>> m = map_blocks(lambda b: b - b.mean(), x, dtype=float, chunks=((3, 3),))
>>> m.chunks, m.ndarray().tolist()
(((3, 3),), [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0])
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .blockspec import BlockSpec, Grid, block_starts, item_positions, positions_item
from .errors import AxisError, DTypeError, ShapeError
from .fillvalues import fill_masked, fill_value_argument, result_fill_value
from .indexing import Key, NativeSupport, compose_keys, orthogonal_take, sorted_unique
from .planprotocol import Edges, Placement, ReadModel
from .steps import Steps
from .views import broadcast_shapes

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .context import EvaluationContext

__all__ = ["MapBlocks", "map_blocks"]


class MapBlocks(Array):
    """``func`` applied to each block of its inputs (see :func:`map_blocks`).

    A node is the whole result, or a selection of it: the blocks of the
    result it covers along each axis (``blocks``, global block numbers),
    its inputs selected to those blocks, and the part of those blocks it
    takes (``take``, a normalised key of the blocks put together).

    Parameters
    ----------
    spec : BlockSpec
        The function, its arguments and the block grids.
    inputs : sequence of Array
        The array inputs, selected to ``blocks``.
    blocks : tuple of tuple of int, optional
        Per output axis, the blocks covered; all by default.
    take : Key, optional
        The part of the covered blocks selected; all by default.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = map_blocks(np.cumsum, np.ones(6), dtype="f8", chunks=((2, 4),))
    >>> type(m).__name__, m[1:4].ndarray().tolist()
    ('MapBlocks', [2.0, 1.0, 2.0])
    """

    def __init__(self, spec: BlockSpec, inputs: Sequence[Array],
                 blocks: tuple[tuple[int, ...], ...] | None = None, take: Key | None = None):
        if blocks is None:
            blocks = tuple(tuple(range(len(g))) for g in spec.out_grid)
        if take is None:
            take = tuple(range(sum(g[b] for b in bs)) for g, bs in zip(spec.out_grid, blocks))
        self._spec = spec
        self._inputs = tuple(inputs)
        self._blocks = blocks
        self._take = take
        self._shape = tuple(len(item) for item in take if not isinstance(item, int))
        self._fill_value = result_fill_value(self._inputs, spec.dtype)

    # -- metadata -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._spec.dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return self._inputs

    @property
    def func(self) -> Callable[..., Any]:
        """The function applied to each block."""
        return self._spec.func

    @property
    def chunks(self) -> Grid:
        """The blocks ``func`` makes, along each axis (dask's ``chunks``).

        For a selection, the lengths of the runs of its positions that lie
        in one block.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> m = map_blocks(np.negative, np.ones(10), dtype="f8", chunks=((4, 4, 2),))
        >>> m.chunks, m[2:9].chunks
        (((4, 4, 2),), ((2, 4, 1),))
        """
        grid: list[tuple[int, ...]] = []
        for axis, item in enumerate(self._take):
            if isinstance(item, int):
                continue
            ids = self._block_ids(axis, item_positions(item))
            if ids.size == 0:
                grid.append((0,))
                continue
            changes = np.flatnonzero(np.diff(ids)) + 1
            grid.append(tuple(int(n) for n in np.diff(np.concatenate([[0], changes, [ids.size]]))))
        return tuple(grid)

    @property
    def storage_chunks(self) -> tuple[int, ...] | None:
        return None  # computed: nothing is stored

    def _block_ids(self, axis: int, positions: np.ndarray) -> np.ndarray:
        """The global block number of ``positions`` of the covered blocks along ``axis``."""
        grid = self._spec.out_grid[axis]
        covered = self._blocks[axis]
        ends = np.cumsum([grid[b] for b in covered])
        return np.asarray(covered, np.intp)[np.searchsorted(ends, positions, side="right")]

    def _global_key(self, padded: bool = False) -> Key:
        """This node's positions in the whole result, one item per output axis.

        ``padded``: positions in the result with every block padded to the
        longest along its axis, where block ``b`` begins at ``b`` times that
        length: the planner's view, in which the blocks are regular chunks.
        """
        key: list[Any] = []
        for axis, item in enumerate(self._take):
            grid = self._spec.out_grid[axis]
            starts = block_starts(grid)
            longest = max(max(grid), 1)
            covered = np.concatenate(
                [np.arange(b * longest if padded else starts[b],
                           (b * longest if padded else starts[b]) + grid[b])
                 for b in self._blocks[axis]] or [np.empty(0, np.intp)]).astype(np.intp)
            key.append(int(covered[item]) if isinstance(item, int)
                       else positions_item(covered[item_positions(item)]))
        return tuple(key)

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return MapBlocks(self._spec, inputs, self._blocks, self._take)

    # -- indexing -------------------------------------------------------------
    def _index_steps(self, key: Key) -> Steps[Array]:
        spec = self._spec
        take = compose_keys(self._take, key)
        blocks: list[tuple[int, ...]] = []
        new_take: list[Any] = []
        kept_of: dict[int, np.ndarray] = {}  # per axis: which covered blocks stay
        for axis, item in enumerate(take):
            grid = spec.out_grid[axis]
            covered = self._blocks[axis]
            starts = np.asarray(block_starts([grid[b] for b in covered]))
            positions = item_positions(item)
            ordinal = np.searchsorted(starts, positions, side="right") - 1
            kept = sorted_unique(ordinal)
            kept_of[axis] = kept
            blocks.append(tuple(covered[k] for k in kept))
            # Positions in the kept blocks put together.
            new_starts = np.asarray(block_starts([grid[covered[k]] for k in kept]))
            rank = np.searchsorted(kept, ordinal)
            moved = positions - starts[ordinal] + new_starts[rank]
            new_take.append(int(moved[0]) if isinstance(item, int) else positions_item(moved))
        inputs = []
        for number, array in enumerate(self._inputs):
            inputs.append((yield array._select_steps(self._input_key(number, array, kept_of))))
        return MapBlocks(spec, inputs, tuple(blocks), tuple(new_take))

    def _input_key(self, number: int, array: Array, kept_of: dict[int, np.ndarray]) -> Key:
        """The key of input ``number`` (selected to this node's blocks) that
        selects the covered blocks kept, ``kept_of`` (per output axis)."""
        spec = self._spec
        key: list[Any] = []
        for length, full, label in zip(array.shape, spec.shapes[number], spec.labels[number]):
            blocks = spec._input_blocks(full, label)
            if len(blocks) == 1 or label not in spec.out_labels:
                key.append(range(length))  # seen whole by every call
                continue
            axis = spec.out_labels.index(label)
            covered = self._blocks[axis]
            starts = block_starts([blocks[b] for b in covered])
            kept = kept_of[axis]
            key.append(positions_item(np.concatenate(
                [np.arange(starts[k], starts[k + 1]) for k in kept] or [np.empty(0, np.intp)]
            ).astype(np.intp)))
        return tuple(key)

    # -- evaluation -------------------------------------------------------------
    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        with_mask = masked or self.masked
        # Blocks computed for one tile are shared by every use of this result
        # in it (``mean(m, 0)`` beside ``m * 2``), as the tile cache shares reads.
        done = context.cached_read(("map_blocks", id(self._spec), with_mask), dict)
        values: list[Any] = []
        if not all(location in done for location in itertools.product(*self._blocks)):
            for array in self._inputs:
                values.append((yield array._evaluate_steps(context, with_mask)))
        result = self._blocks_value(values, with_mask, done)
        if with_mask and not masked:
            return fill_masked(result, self._fill_value)
        return result

    def _blocks_value(self, values: list[Any], masked: bool,
                      done: dict[tuple[int, ...], Any]) -> np.ndarray:
        """The covered blocks, each computed by one call, put together and taken from.

        ``done`` holds the blocks already computed in this tile, by location,
        and receives the others (``values``, the inputs' values, are then given).

        1. For each covered block (in C order), the part of each input
           value it sees: its block along the axes ``func`` maps, all of a
           dropped or broadcast axis.
        2. ``func`` is called on them (with ``block_info``/``block_id``
           where it takes them), and its result checked against the
           declared dtype and the block's shape.
        3. The results are put together (a single block is used as it is)
           and ``take`` selects this node's part.
        """
        spec = self._spec
        grid = spec.out_grid
        in_starts = []  # per input, per axis: block starts within its value, or None
        for number in range(len(values)):
            per_axis: list[list[int] | None] = []
            for full, label in zip(spec.shapes[number], spec.labels[number]):
                blocks = spec._input_blocks(full, label)
                if len(blocks) == 1 or label not in spec.out_labels:
                    per_axis.append(None)
                else:
                    axis = spec.out_labels.index(label)
                    per_axis.append(block_starts([blocks[b] for b in self._blocks[axis]]))
            in_starts.append(per_axis)
        out_starts = [block_starts([g[b] for b in bs]) for g, bs in zip(grid, self._blocks)]
        covered = tuple(s[-1] for s in out_starts)
        single = all(len(bs) == 1 for bs in self._blocks)
        data = None if single else np.empty(covered, spec.dtype)
        mask = None if single or not masked else np.zeros(covered, bool)
        block: Any = None
        for ordinals in itertools.product(*(range(len(bs)) for bs in self._blocks)):
            location = tuple(bs[k] for bs, k in zip(self._blocks, ordinals))
            block = done.get(location)
            if block is None:
                block = done[location] = self._called(location, ordinals, values, in_starts,
                                                      masked)
            if single:
                break
            where = tuple(slice(s[k], s[k + 1]) for s, k in zip(out_starts, ordinals))
            data[where] = np.ma.getdata(block)  # type: ignore[index]
            if mask is not None:
                mask[where] = np.ma.getmaskarray(block)
        if single:
            assert block is not None
            whole = block
        elif masked:
            assert data is not None and mask is not None
            whole = np.ma.MaskedArray(data, mask=mask,
                                      fill_value=fill_value_argument(self._fill_value, spec.dtype))
        else:
            whole = data
        return orthogonal_take(whole, self._take)

    def _called(self, location: tuple[int, ...], ordinals: tuple[int, ...], values: list[Any],
                in_starts: list[list[list[int] | None]], masked: bool) -> np.ndarray:
        """``func``'s block at ``location`` (``ordinals`` among the covered blocks)."""
        spec = self._spec
        by_label = dict(zip(spec.out_labels, ordinals))
        args = list(spec.args)
        for number, position in enumerate(spec.arrays):
            index = tuple(
                slice(None) if starts is None
                else slice(starts[by_label[label]], starts[by_label[label] + 1])
                for starts, label in zip(in_starts[number], spec.labels[number])
            )
            args[position] = values[number][index]
        kwargs = dict(spec.kwargs)
        if spec.block_info:
            kwargs["block_info"] = spec.info(location)
        if spec.block_id:
            kwargs["block_id"] = location
        return self._checked(spec.func(*args, **kwargs), location, masked)

    def _checked(self, block: Any, location: tuple[int, ...], masked: bool) -> np.ndarray:
        """``func``'s result for the block at ``location``, checked and made an array."""
        spec = self._spec
        if isinstance(block, np.ma.MaskedArray):
            if not masked:
                block = np.ma.filled(block, self._fill_value)
        elif isinstance(block, (np.ndarray, np.generic)) or np.isscalar(block):
            block = np.asarray(block)
            if masked:
                block = np.ma.MaskedArray(block)
        else:
            raise TypeError(
                f"map_blocks: {spec.name} returned a {type(block).__name__} for block "
                f"{location}; expected a numpy array"
            )
        expected = tuple(g[b] for g, b in zip(spec.out_grid, location))
        if block.dtype != spec.dtype:
            raise DTypeError(
                f"map_blocks: {spec.name} returned dtype {block.dtype} for block {location} "
                f"(chunk-location); expected the declared dtype {spec.dtype}"
            )
        if block.shape != expected:
            raise ShapeError(
                f"map_blocks: {spec.name} returned shape {block.shape} for block {location} "
                f"(chunk-location); expected {expected} (see chunks=, drop_axis=, new_axis=)"
            )
        return block

    # -- planner protocol ---------------------------------------------------------
    # The node is a stored source to the planner: its blocks are its chunks,
    # each made whole by any tile that touches it, so tiles end on block edges.
    @property
    def _plan_stored_source(self) -> Any:
        return self._spec

    @property
    def _plan_stored_key(self) -> Key:
        return self._global_key(padded=True)

    def _plan_read_model(self, direct_io: bool) -> ReadModel:
        # Blocks padded to the longest along each axis are regular chunks
        # (see _global_key): any grid, regular or not, is then one the
        # planner keeps whole, counting a block as the longest's bytes.
        longest = tuple(max(max(g), 1) for g in self._spec.out_grid)
        return ReadModel("chunks", tuple(len(g) * n for g, n in zip(self._spec.out_grid, longest)),
                         longest, self.dtype.itemsize, NativeSupport.everything())

    def _plan_edges(self, kind: str, edges_of: Callable[[Array], Edges]) -> Edges:
        if kind == "breaks":
            return (None,) * self.ndim
        edges = []
        for axis, item in enumerate(self._take):
            if isinstance(item, int):
                continue
            ids = self._block_ids(axis, item_positions(item))
            edges.append((np.flatnonzero(np.diff(ids)) + 1).astype(np.intp))
        return tuple(edges)

    def _plan_placements(self) -> tuple[Placement, ...]:
        # An input of the whole result follows an output axis where its blocks
        # are the output's; elsewhere (dropped, broadcast, resized axes, or a
        # selection) every call sees all of it.
        spec = self._spec
        whole = all(isinstance(k, range) and k == range(n)
                    for k, n in zip(self._global_key(), spec.shape))
        placements = []
        for number, array in enumerate(self._inputs):
            axes: list[Any] = []
            for full, label in zip(spec.shapes[number], spec.labels[number]):
                blocks = spec._input_blocks(full, label)
                axis = spec.out_labels.index(label) if label in spec.out_labels else None
                follows = (whole and axis is not None and len(blocks) > 1
                           and spec.out_grid[axis] == blocks)
                axes.append((axis, 0, 1) if follows else None)
            placements.append(Placement(array, tuple(axes)))
        return tuple(placements)

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        # Each call sees whole dropped and broadcast axes: inputs larger than
        # the output hold more per output element.
        size = max(math.prod(self._spec.shape), 1)
        return sum(p * max(1, -(-math.prod(s) // size)) for p, s in zip(parts, self._spec.shapes))

    @property
    def _plan_label(self) -> str:
        return f"map_blocks({self._spec.name})"


def _takes(func: Callable[..., Any], name: str) -> bool:
    """Whether ``func`` takes a keyword ``name`` (as dask's ``has_keyword``)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _is_array(value: Any) -> bool:
    return isinstance(value, (Array, np.ndarray)) or (
        hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)
    )


def _axes(values: Any, name: str) -> tuple[int, ...]:
    if values is None:
        return ()
    if isinstance(values, (int, np.integer)):
        return (int(values),)
    return tuple(int(v) for v in values)


def map_blocks(
    func: Callable[..., Any],
    *args: Any,
    dtype: DTypeLike,
    chunks: Sequence[Any] | None = None,
    drop_axis: int | Sequence[int] = (),
    new_axis: int | Sequence[int] = (),
    block_info: bool = False,
    **kwargs: Any,
) -> MapBlocks:
    """Apply ``func`` to each block of the arrays in ``args``, lazily, as dask does.

    ``func`` is called once per block of the result, with the matching
    block of each array argument (other arguments are passed as they are).
    Arrays broadcast against each other as in ``dask.array.map_blocks``
    (right-aligned; an axis of length 1 gives its one block to every call).

    The blocks are those of the first array argument along each axis
    (its :attr:`~lazyarray.Array.chunks` when the call is made, under the
    options in force), unless ``chunks`` gives them; the other arguments are
    cut on the same grid. Nothing is read or called until a result is
    evaluated; evaluating the whole result calls ``func`` once per block
    (the planner's tiles are made of whole blocks, as long as a block is
    within ``chunk_bytes``), and a selection calls it for the blocks that
    cover the selection only.

    In masked mode (masked inputs, or :func:`lazyarray.masked_arrays`),
    ``func`` receives ``numpy.ma.MaskedArray`` blocks and may return
    masked arrays; plain results are taken as unmasked.

    Parameters
    ----------
    func : callable
        Called as ``func(*blocks, **kwargs)``; it must return an array of
        ``dtype`` and the block's shape. It is also given
        ``block_info=`` (dask's dict: ``block_info[None]`` describes the
        output block, with ``shape``, ``num-chunks``, ``chunk-location``,
        ``array-location``, ``chunk-shape`` and ``dtype``; ``block_info[i]``
        the block of argument ``i``) when ``block_info`` is true or ``func``
        has a ``block_info`` parameter, and ``block_id=`` (the block's
        chunk-location) when it has a ``block_id`` parameter. It must pickle
        for the result to pickle.
    *args : Array, numpy.ndarray or any
        The arguments: lazy arrays and arrays (made lazy by
        :func:`lazyarray.asarray`) are cut into blocks; anything else is
        passed to every call as it is. At least one must be an array.
    dtype : dtype
        The dtype of the blocks ``func`` returns (not inferred: that would
        call ``func``).
    chunks : tuple, optional
        The result's blocks along each axis: a tuple of block lengths, or an
        int, the length of every block along that axis. By default the
        input's. Along an axis of the input, a tuple whose sum is the
        input's length also sets the blocks the input is cut into; otherwise
        it must have as many blocks as the input, and the result's length is
        their sum.
    drop_axis : int or sequence of int, optional
        Axes of the (broadcast) input that ``func`` reduces away: each call
        sees the whole of them.
    new_axis : int or sequence of int, optional
        Positions in the result of axes ``func`` adds: of length 1, or as
        ``chunks`` gives (several blocks along a new axis call ``func`` once
        for each, with the same input blocks). When ``chunks`` has more axes
        than the result would, the first ones are new (dask's rule).
    block_info : bool, optional
        Pass ``block_info=`` to ``func`` even when its signature does not
        name it (a ``**kwargs`` function, say).
    **kwargs
        Passed to every call.

    Returns
    -------
    MapBlocks

    Raises
    ------
    ShapeError, DTypeError
        When evaluated, if ``func`` returns a block of another shape or
        dtype than declared; the message names the block (its
        chunk-location).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(12.0).reshape(3, 4))
    >>> m = map_blocks(lambda b: b.sum(axis=1), x, dtype="f8", drop_axis=1,
    ...                   chunks=((1, 2),))
    >>> m.shape, m.chunks, m.ndarray().tolist()
    ((3,), ((1, 2),), [6.0, 22.0, 38.0])
    >>> def where(b, block_info=None):
    ...     return np.full(b.shape, block_info[None]["chunk-location"][0], "i8")
    >>> map_blocks(where, np.zeros(5), dtype="i8", chunks=((2, 3),)).ndarray().tolist()
    [0, 0, 1, 1, 1]
    >>> n = map_blocks(lambda b: b[None] * 2, np.ones(2), dtype="f8", new_axis=0)
    >>> n.shape, n[0].ndarray().tolist()
    ((1, 2), [2.0, 2.0])
    """
    if not callable(func):
        raise TypeError(f"map_blocks: func must be callable, not {type(func).__name__}")
    dtype = np.dtype(dtype)
    arrays: list[Array] = []
    positions: list[int] = []
    template: list[Any] = []
    for position, value in enumerate(args):
        if _is_array(value):
            arrays.append(asarray(value))
            positions.append(position)
            template.append(None)
        else:
            template.append(value)
    if not arrays:
        raise TypeError("map_blocks: no array among the arguments")
    loops = max(a.ndim for a in arrays)
    shape = broadcast_shapes(*(a.shape for a in arrays), operation="map_blocks")
    labels = tuple(tuple(range(loops - a.ndim, loops)) for a in arrays)
    drop = _axes(drop_axis, "drop_axis")
    if any(not -loops <= d < loops for d in drop):
        raise AxisError(f"map_blocks: drop_axis {drop} out of range for {loops}-d inputs")
    dropped = tuple(sorted({d % loops for d in drop})) if loops else ()
    out_labels = [label for label in range(loops) if label not in dropped]
    new = _axes(new_axis, "new_axis")
    if not new and chunks is not None and len(chunks) > len(out_labels):
        new = tuple(range(len(chunks) - len(out_labels)))
    for number, position in enumerate(sorted(new)):
        if not 0 <= position <= len(out_labels):
            raise AxisError(f"map_blocks: new_axis {new} out of range for a "
                            f"{len(out_labels) + len(new)}-d result")
        out_labels.insert(position, loops + number)
    if chunks is not None and len(chunks) != len(out_labels):
        raise ShapeError(f"map_blocks: chunks has {len(chunks)} axes; the result has "
                         f"{len(out_labels)}")
    asked = dict(zip(out_labels, chunks)) if chunks is not None else {}

    # The input blocks along each label: a tuple of chunks= that covers the
    # input, else the first input's own blocks (its length if dropped).
    in_grid: list[tuple[int, ...]] = []
    for label in range(loops):
        length = shape[label]
        given = asked.get(label)
        if label in dropped:
            in_grid.append((length,))
        elif isinstance(given, (tuple, list)) and sum(given) == length:
            in_grid.append(tuple(int(c) for c in given))
        else:
            first = next(a for a, ls in zip(arrays, labels)
                         if label in ls and a.shape[ls.index(label)] == length)
            in_grid.append(tuple(first.chunks[labels[arrays.index(first)].index(label)]))
    out_grid = []
    for axis, label in enumerate(out_labels):
        given = asked.get(label)
        base = in_grid[label] if label < loops else (1,)
        if given is None:
            out_grid.append(base)
        elif isinstance(given, (int, np.integer)):
            out_grid.append((int(given),) * len(base))
        else:
            blocks = tuple(int(c) for c in given)
            if label < loops and len(blocks) != len(base):
                raise ShapeError(
                    f"map_blocks: chunks gives {len(blocks)} blocks along axis {axis}; the "
                    f"input has {len(base)} there ({base})"
                )
            out_grid.append(blocks)
    spec = BlockSpec(
        func=func,
        args=tuple(template),
        arrays=tuple(positions),
        kwargs=dict(kwargs),
        dtype=dtype,
        shapes=tuple(a.shape for a in arrays),
        labels=labels,
        loops=loops,
        in_grid=tuple(in_grid),
        dropped=dropped,
        out_labels=tuple(out_labels),
        out_grid=tuple(out_grid),
        block_info=block_info or _takes(func, "block_info"),
        block_id=_takes(func, "block_id"),
    )
    return MapBlocks(spec, arrays)
