"""Partial states of a pass's reductions, block by block, and their assembly.

A tile's reductions run block by block, so each statistic finds its block in
the CPU cache (:func:`block_states`); a task's blocks are then joined into one
state per task, in arrays taken from a pool that the main thread refills
with the states it has merged (:class:`StatePool`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

from ..accumulators import State
from ..aggregation import Aggregation
from ..context import EvaluationContext
from ..fused import accumulate, tile_states

#: Bytes of a tile that the reductions of one input work through at a time,
#: so that every statistic finds the block in the CPU cache: the machine's
#: memory bandwidth, not its arithmetic, limits streaming reductions. The
#: fused kernels sweep a block once (twice for variances) and run as fast
#: from the L3 cache as from L2, while each block costs about 0.1 ms of
#: Python around them: mean and std of 1 GB of float32 (planes, 2 MB cubes,
#: contiguous) took 0.30-0.41 s with blocks of 4 MiB against 0.34-0.70 s
#: with 1 MiB, and 0.8-1.7 s with 128 KiB. numpy's reductions, which sweep
#: a block once per statistic, ran as fast with either size.
BLOCK_BYTES = 4 << 20


class StatePool:
    """Spent partial-state arrays, handed back by the main thread for reuse.

    Every tile of a reduction makes output-sized state arrays; allocating
    fresh ones costs page faults on each tile (DESIGN, section 12). Once the
    main thread has merged a tile's state into the running one, its arrays
    are free, and the next tiles' states are assembled in them.
    """

    #: Arrays kept per shape and dtype: about the tiles in flight.
    KEEP = 8

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], str], list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        with self._lock:
            free = self._free.get((shape, dtype.str))
            if free:
                return free.pop()
        return np.empty(shape, dtype)

    def give(self, spent: State, kept: State) -> None:
        """Keep the arrays of ``spent`` that ``kept`` (the merged state) does not use.

        ``spent`` was merged into ``kept`` with ``combine(..., spend=True)``:
        the main thread owns both, and nothing reads ``spent`` again.
        """
        kept_arrays = kept.arrays().values()
        with self._lock:
            for array in spent.arrays().values():
                if array.ndim and array.base is None and all(array is not k for k in kept_arrays):
                    free = self._free.setdefault((array.shape, array.dtype.str), [])
                    if len(free) < self.KEEP:
                        free.append(array)


Blocking = tuple[int, int] | None


def blocking_of(reductions: Sequence[Aggregation], tile: tuple[int, ...]) -> Blocking:
    """How tiles of a pass are cut into blocks for ``reductions`` of one input.

    The outermost axis that every reduction keeps is cut into blocks of
    about :data:`BLOCK_BYTES`, so every statistic finds its block in the CPU
    cache. Blocks follow from the pass's largest tile, not from each tile,
    so the tiles of a task (which share their output region) are cut alike
    and their block states combine block by block. ``None``: one block.
    """
    itemsize = reductions[0].array.dtype.itemsize
    kept = [a for a in range(len(tile)) if tile[a] > 1 and all(a not in r.axes for r in reductions)]
    nbytes = math.prod(tile) * itemsize
    if not kept or nbytes <= BLOCK_BYTES:
        return None
    return kept[0], max(1, BLOCK_BYTES // (nbytes // tile[kept[0]]))


def block_states(context: EvaluationContext, reductions: Sequence[Aggregation],
                  value: np.ndarray, origin: tuple[int, ...], blocking: Blocking,
                  earlier: list[list[State]] | None = None,
                  pool: StatePool | None = None) -> list[list[State]]:
    """The partial states of ``reductions`` of one tile, block by block.

    Every reduction runs on a block before moving on, within one block of
    shared reads of ``context``, so statistics that share work (the sum of mean and variance) do it
    once per block. Returns, per block, the state of each reduction; with
    ``earlier`` (the block states of earlier tiles of the task), each block's
    states are combined into them as soon as they are found, while the block
    is in the CPU cache, and ``earlier`` is returned. With a ``pool``, the
    blocks' states are placed in arrays of the whole tile's output region
    taken from it (see :func:`_placed`), which then need no join.
    """
    if blocking is None:
        pieces = [(value, origin)]
    else:
        axis, rows = blocking
        pieces = [
            (value[(slice(None),) * axis + (slice(start, start + rows),)],
             origin[:axis] + (origin[axis] + start,) + origin[axis + 1:])
            for start in range(0, value.shape[axis], rows)
        ]
    found = []
    whole: dict[tuple[int, str], np.ndarray] = {}
    for number, (block, at) in enumerate(pieces):
        with context.sharing_reads():
            if earlier is None:
                states = tile_states(reductions, block, at, context)
                if pool is not None and blocking is not None:
                    states = _placed(reductions, states, value.shape, blocking,
                                     at[blocking[0]] - origin[blocking[0]], pool, whole)
                found.append(states)
            else:
                # Added into the running states in place where the kernels can.
                earlier[number] = accumulate(reductions, block, at, earlier[number], context)
    return found if earlier is None else earlier


def _placed(reductions: Sequence[Aggregation], states: list[State], shape: tuple[int, ...],
            blocking: tuple[int, int], start: int, pool: StatePool,
            whole: dict[tuple[int, str], np.ndarray]) -> list[State]:
    """A block's ``states`` copied into ``whole``: arrays of the tile's output region.

    The block starts ``start`` elements along the blocking axis of a tile of
    ``shape``. ``whole`` holds one array per reduction and state field,
    taken from ``pool`` when the first block has an array there. The states
    returned are views of them where the shapes and dtypes agree (a 0-d count
    stays as it is), so that the task's running states take no more memory
    than one state of its output region, and :func:`join_states` finds them
    already joined instead of copying them into one.
    """
    axis = blocking[0]
    placed: list[State] = []
    for number, (reduction, state) in enumerate(zip(reductions, states)):
        out_axis = axis - sum(a < axis for a in reduction.axes)
        views: dict[str, np.ndarray] = {}
        for field, array in state.arrays().items():
            target = whole.get((number, field))
            if target is None and array.ndim and start == 0:
                region = tuple(n for a, n in enumerate(shape) if a not in reduction.axes)
                target = whole[number, field] = pool.take(region, array.dtype)
            if target is None or not array.ndim or target.dtype != array.dtype:
                continue
            view = target[(slice(None),) * out_axis + (slice(start, start + array.shape[out_axis]),)]
            if view.shape != array.shape:
                continue
            view[...] = array
            views[field] = view
        placed.append(state.replace(**views))
    return placed


def task_states(reductions: Sequence[Aggregation], blocks: list[list[State]], blocking: Blocking,
            pool: StatePool) -> list[State]:
    """Each reduction's state of a whole tile, from its block states."""
    if blocking is None:
        return blocks[0]
    axis = blocking[0]
    return [join_states([b[n] for b in blocks], axis - sum(a < axis for a in r.axes), pool)
            for n, r in enumerate(reductions)]


def join_states(blocks: list[State], axis: int, pool: StatePool) -> State:
    """One state from the states of consecutive blocks along output ``axis``."""
    # Each block's output shape: its arrays' broadcast (a count may be 0-d).
    shapes = [np.broadcast_shapes(*(a.shape for a in b.arrays().values())) for b in blocks]
    joined: dict[str, np.ndarray] = {}
    for field in blocks[0].arrays():
        arrays = [getattr(b, field) for b in blocks]
        if all(a.ndim == 0 for a in arrays) and all(a == arrays[0] for a in arrays):
            joined[field] = arrays[0]  # a count equal in every block stays 0-d
            continue
        full = [np.broadcast_to(a, s) if a.ndim == 0 else a for a, s in zip(arrays, shapes)]
        shape = list(full[0].shape)
        shape[axis] = sum(a.shape[axis] for a in full)
        base = _covered(arrays, tuple(shape))
        if base is not None:
            joined[field] = base  # placed side by side already (see _placed)
            continue
        out = pool.take(tuple(shape), np.result_type(*full))
        joined[field] = np.concatenate(full, axis=axis, out=out)
    return blocks[0].replace(**joined)


def _covered(arrays: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray | None:
    """The array of ``shape`` that ``arrays``, in order, are adjacent views covering, or ``None``."""
    base = arrays[0].base
    if not isinstance(base, np.ndarray) or base.shape != shape or not base.flags.c_contiguous:
        return None
    at = base.ctypes.data
    for array in arrays:
        if array.base is not base or not array.flags.c_contiguous or array.ctypes.data != at:
            return None
        at += array.nbytes
    return base if at == base.ctypes.data + base.nbytes else None
