"""The executor: run a plan's passes on a thread pool, into memory or sinks.

1. The planner (:func:`lazyarray.plan.make_plan`) groups the results into
   passes; each pass traverses one domain tile by tile.
2. Worker threads do the pure work of a tile: evaluate every distinct input
   of the pass on the tile (a read shared by several results happens once,
   through a per-tile read cache) and reduce it to partial states, one
   input at a time: an input only reductions use is dropped once reduced,
   so many results of inputs of their own need the memory of one.
3. The main thread owns every accumulator and sink: it takes tiles back in
   traversal order, combines partial states, finalises each output region as
   soon as its last tile is in, and writes. Results are therefore identical
   for any number of workers.
4. At most ``in_flight`` tiles exist at once, so memory stays bounded; reads
   of later tiles run ahead while earlier ones are combined.
5. An exception in any tile cancels the tiles not started, waits for those
   running, and re-raises the original exception in the caller.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = la.asarray(np.arange(12.0).reshape(3, 4))
>>> mean0, total, doubled = la.ndarrays([la.mean(a, 0), a.sum(), a * 2])
>>> mean0.tolist(), float(total), doubled.shape
([4.0, 5.0, 6.0, 7.0], 66.0, (3, 4))
"""

from __future__ import annotations

import collections
import contextvars
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .accumulators import State
from .adapters import asarray
from .aggregation import Aggregation
from .array import Array, fill_masked
from .buffers import BufferPool
from .encoding import ChunkEncoder, EncodedChunk, hdf5_cast, hdf5_encoder
from .errors import ClosedFileError, DTypeError, ReadOnlyTargetError, ShapeError, located
from .fused import accumulate, tile_states
from .graph import rewrite, walk
from .options import Options, get_options, in_force
from .plan import Pass, Plan, make_plan
from .tilecache import tile_cache

__all__ = [
    "Progress",
    "check_targets",
    "compute",
    "describe_target",
    "masked_arrays",
    "ndarrays",
    "plan",
    "save",
]


@dataclass(frozen=True)
class Progress:
    """A progress event of an evaluation.

    A ``progress`` callback receives one event before anything is read
    (``done == 0``), then one after each tile that read source data, the
    last with ``done == total``.

    Attributes
    ----------
    done : int
        Bytes of source data processed so far.
    total : int
        Bytes of source data the whole evaluation processes.
    elapsed : float
        Seconds since the evaluation started.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> events = []
    >>> _ = la.asarray(np.zeros(1000)).sum().ndarray(chunk_bytes=4000, progress=events.append)
    >>> [(e.done, e.total) for e in events]
    [(0, 8000), (4000, 8000), (8000, 8000)]
    >>> events[0].eta is None, events[-1].eta
    (True, 0.0)
    """

    done: int
    total: int
    elapsed: float

    @property
    def eta(self) -> float | None:
        """Estimated seconds left, once anything is done."""
        if not self.done:
            return None
        return self.elapsed * (self.total - self.done) / self.done


class _Reporter:
    """Sends :class:`Progress` events to a callback or a tqdm bar."""

    def __init__(self, progress: bool | Callable[[Progress], Any], total: int):
        self._callback: Callable[[Progress], Any] | None = None
        self._bar: Any = None
        self._total = total
        self._done = 0
        self._start = time.perf_counter()
        if progress is True:
            try:
                from tqdm.auto import tqdm
            except ImportError as error:  # tqdm is optional
                raise ImportError("progress=True shows a tqdm bar: install tqdm, or pass a "
                                  "callable to receive lazyarray.Progress events") from error

            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc="lazyarray")
        elif callable(progress):
            self._callback = progress
            # A first event before anything is read, so a callback learns the
            # total (and sees eta None) even before the first tile is done.
            progress(Progress(0, total, 0.0))

    def advance(self, nbytes: int) -> None:
        if not nbytes:  # passes over in-memory results read nothing: no event
            return
        self._done += nbytes
        if self._bar is not None:
            self._bar.update(nbytes)
        if self._callback is not None:
            self._callback(Progress(self._done, self._total, time.perf_counter() - self._start))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Sink:
    """Where one result goes: a user's sink, an in-memory buffer, or both.

    With ``direct_io``, the worker that makes a tile encodes it for a target
    that allows it (:meth:`prepare`); the main thread still takes tiles in
    order and stores the chunks (:meth:`write_chunks`).
    """

    def __init__(self, node: Array, masked: bool, target: Any = None, number: int = 0):
        self.node = node
        self.masked = masked
        self.target = target
        #: The target, in words, for error messages: found now, while a file
        #: closed later would still name itself.
        self.label = None if target is None else f"target {number} ({describe_target(target)})"
        self.data: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.encoder: ChunkEncoder | None = None
        if target is None:
            self.data = np.empty(node.shape, node.dtype)
            if masked:
                self.mask = np.zeros(node.shape, bool)
        elif not isinstance(target, np.ma.MaskedArray):  # a masked target keeps the mask
            self.encoder = hdf5_encoder(target)

    def prepare(self, region: tuple[slice, ...], value: np.ndarray) -> list[EncodedChunk] | None:
        """The worker's part of writing ``value`` at ``region``, with ``direct_io``.

        For a chunked HDF5 dataset, when ``region`` covers whole chunks of it
        and :mod:`lazyarray.encoding` reproduces its filters and the
        conversion to its dtype: the chunks, cast and encoded (pure numpy and
        zlib), for :meth:`write_chunks`. Otherwise ``None``: the main thread
        calls :meth:`write`.

        Zarr targets are left to :meth:`write`: Zarr already encodes in its
        own threads while the main thread waits, and writing from the
        workers measured no faster on two cores (issue 5).
        """
        encoder = self.encoder
        if encoder is None or not get_options().direct_io or not encoder.covers(region):
            return None
        cast = hdf5_cast(np.asarray(fill_masked(value, self.node.fill_value)), encoder.dtype)
        if cast is None:
            return None
        return encoder.encode(region, cast)

    def write_chunks(self, chunks: list[EncodedChunk]) -> None:
        """Store chunks made by :meth:`prepare`, as they are (main thread)."""
        try:
            write = self.target.id.write_direct_chunk
            for chunk in chunks:
                write(chunk.offset, chunk.data, chunk.filter_mask)
        except Exception as error:
            offsets = ", ".join(str(tuple(c.offset)) for c in chunks[:4])
            more = f" and {len(chunks) - 4} more" if len(chunks) > 4 else ""
            wrapped = located(error, f"writing {self.label}, chunks at elements "
                                     f"{offsets}{more}")
            if wrapped is None:
                raise
            raise wrapped from error

    def write(self, region: tuple[slice, ...], value: np.ndarray) -> None:
        if self.target is not None:
            try:
                if isinstance(self.target, np.ma.MaskedArray):
                    self.target[region] = value  # a masked target keeps the mask
                else:
                    self.target[region] = fill_masked(value, self.node.fill_value)
            except Exception as error:
                # Costs nothing unless raised; then the message names the target.
                where = ", ".join(f"{r.start}:{r.stop}" for r in region)
                wrapped = located(error, f"writing {self.label}, elements [{where}]")
                if wrapped is None:
                    raise
                raise wrapped from error
            return
        assert self.data is not None
        if self.mask is None:
            self.data[region] = fill_masked(value, self.node.fill_value)
            return
        self.data[region] = np.ma.getdata(value)
        self.mask[region] = np.ma.getmaskarray(value)

    def result(self) -> np.ndarray:
        assert self.data is not None
        if self.mask is not None:
            return np.ma.MaskedArray(self.data, mask=self.mask, fill_value=self.node.fill_value)
        return self.data


@dataclass(frozen=True)
class _Stored:
    """A stored value of a tile, as a worker hands it to the main thread.

    Attributes
    ----------
    value : numpy.ndarray or None
        The tile's values, for the sinks that write them; ``None`` when every
        sink of the value took encoded chunks instead (the tile's buffers are
        then free once the chunks are made).
    encoded : dict
        Encoded chunks by ``id`` of the sink that stores them.
    """

    value: np.ndarray | None
    encoded: dict[int, list[EncodedChunk]]


def _ranges(region: tuple[slice, ...]) -> tuple[range, ...]:
    return tuple(range(s.start, s.stop) for s in region)


#: Bytes of a tile that the reductions of one input work through at a time,
#: so that every statistic finds the block in the CPU cache: the machine's
#: memory bandwidth, not its arithmetic, limits streaming reductions.
BLOCK_BYTES = 1 << 20


class _StatePool:
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
        """Keep the arrays of ``spent`` that ``kept`` (the merged state) does not use."""
        with self._lock:
            for array in spent:
                if array.ndim and array.base is None and all(array is not k for k in kept):
                    free = self._free.setdefault((array.shape, array.dtype.str), [])
                    if len(free) < self.KEEP:
                        free.append(array)


Blocking = tuple[int, int] | None


def _blocking(reductions: Sequence[Aggregation], tile: tuple[int, ...]) -> Blocking:
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


def _block_states(reductions: Sequence[Aggregation], value: np.ndarray,
                  origin: tuple[int, ...], blocking: Blocking,
                  earlier: list[list[State]] | None = None,
                  pool: _StatePool | None = None) -> list[list[State]]:
    """The partial states of ``reductions`` of one tile, block by block.

    Every reduction runs on a block before moving on, within a tile cache,
    so statistics that share work (the sum of mean and variance) do it
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
    whole: dict[tuple[int, int], np.ndarray] = {}
    for number, (block, at) in enumerate(pieces):
        with tile_cache():
            if earlier is None:
                states = tile_states(reductions, block, at)
                if pool is not None and blocking is not None:
                    states = _placed(reductions, states, value.shape, blocking,
                                     at[blocking[0]] - origin[blocking[0]], pool, whole)
                found.append(states)
            else:
                # Added into the running states in place where the kernels can.
                earlier[number] = accumulate(reductions, block, at, earlier[number])
    return found if earlier is None else earlier


def _placed(reductions: Sequence[Aggregation], states: list[State], shape: tuple[int, ...],
            blocking: tuple[int, int], start: int, pool: _StatePool,
            whole: dict[tuple[int, int], np.ndarray]) -> list[State]:
    """A block's ``states`` copied into ``whole``: arrays of the tile's output region.

    The block starts ``start`` elements along the blocking axis of a tile of
    ``shape``. ``whole`` holds one array per reduction and state position,
    taken from ``pool`` when the first block has an array there. The states
    returned are views of them where the shapes and dtypes agree (a 0-d count
    stays as it is), so that the task's running states take no more memory
    than one state of its output region, and :func:`_join_states` finds them
    already joined instead of copying them into one.
    """
    axis = blocking[0]
    placed = []
    for number, (reduction, state) in enumerate(zip(reductions, states)):
        out_axis = axis - sum(a < axis for a in reduction.axes)
        arrays = []
        for position, array in enumerate(state):
            target = whole.get((number, position))
            if target is None and array.ndim and start == 0:
                region = tuple(n for a, n in enumerate(shape) if a not in reduction.axes)
                target = whole[number, position] = pool.take(region, array.dtype)
            if target is None or not array.ndim or target.dtype != array.dtype:
                arrays.append(array)
                continue
            view = target[(slice(None),) * out_axis + (slice(start, start + array.shape[out_axis]),)]
            if view.shape != array.shape:
                arrays.append(array)
                continue
            view[...] = array
            arrays.append(view)
        placed.append(tuple(arrays))
    return placed


def _joined(reductions: Sequence[Aggregation], blocks: list[list[State]], blocking: Blocking,
            pool: _StatePool) -> list[State]:
    """Each reduction's state of a whole tile, from its block states."""
    if blocking is None:
        return blocks[0]
    axis = blocking[0]
    return [_join_states([b[n] for b in blocks], axis - sum(a < axis for a in r.axes), pool)
            for n, r in enumerate(reductions)]


def _join_states(blocks: list[State], axis: int, pool: _StatePool) -> State:
    """One state from the states of consecutive blocks along output ``axis``."""
    joined = []
    for arrays in zip(*blocks):
        if all(a.ndim == 0 for a in arrays) and all(a == arrays[0] for a in arrays):
            joined.append(arrays[0])  # a count equal in every block stays 0-d
            continue
        shapes = [b[-1].shape for b in blocks]  # the last array of a state is full-shaped
        full = [np.broadcast_to(a, s) if a.ndim == 0 else a for a, s in zip(arrays, shapes)]
        shape = list(full[0].shape)
        shape[axis] = sum(a.shape[axis] for a in full)
        base = _covered(arrays, tuple(shape))
        if base is not None:
            joined.append(base)  # placed side by side already (see _placed)
            continue
        out = pool.take(tuple(shape), np.result_type(*full))
        joined.append(np.concatenate(full, axis=axis, out=out))
    return tuple(joined)


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


class _PassRun:
    """The state of one pass while it runs: accumulators, counts, sinks."""

    def __init__(self, step: Pass, replacements: dict[int, Array], sinks: dict[int, list[_Sink]],
                 masked: bool):
        self.step = step
        self.masked = masked
        # Graphs with earlier stages' aggregations replaced by their results.
        self.reductions = [cast(Aggregation, rewrite(r, replacements)) for r in step.reductions]
        self.originals = list(step.reductions)
        self.stores = [(rewrite(s, replacements), s) for s in step.stores]
        inputs: list[Array] = []
        index: dict[int, int] = {}
        for node in [r.array for r in self.reductions] + [s for s, _ in self.stores]:
            if id(node) not in index:
                index[id(node)] = len(inputs)
                inputs.append(node)
        self.inputs = inputs
        self.reduction_inputs = [index[id(r.array)] for r in self.reductions]
        self.store_inputs = [index[id(s)] for s, _ in self.stores]
        #: Inputs whose tile values are kept for the whole tile, to be stored.
        self.kept = frozenset(self.store_inputs)
        # Per input, the reductions of it, and how its tiles are cut into blocks.
        self.grouped: dict[int, list[int]] = {}
        for n, i in enumerate(self.reduction_inputs):
            self.grouped.setdefault(i, []).append(n)
        self.blocking = {
            i: _blocking([self.reductions[n] for n in mine], step.tile)
            for i, mine in self.grouped.items()
        }
        self.sinks = sinks
        self.partials: list[dict[tuple[int, ...], State]] = [{} for _ in self.reductions]
        self.pool = _StatePool()
        self.buffers = BufferPool()
        self.cancelled = threading.Event()
        self.lent: list[np.ndarray] = []  # read buffers still referred to at last look
        self.left: list[dict[tuple[int, ...], int]] = [{} for _ in self.reductions]
        # A reduction asked for in memory keeps its result in that buffer;
        # others (needed by later stages, or only saved) get their own.
        self.results = [
            next((s for s in sinks.get(id(o), ())
                  if s.target is None and s.masked == (masked or r.masked)), None)
            or _Sink(r, masked or r.masked)
            for r, o in zip(self.reductions, self.originals)
        ]
        self.read_bytes_per_element = step.read_bytes // max(math.prod(step.domain), 1)

    # -- worker side (pure) ----------------------------------------------------
    def work(self, task: list[tuple[slice, ...]]) -> tuple[list[State], list[_Stored], list[np.ndarray]]:
        try:
            return self._work(task)
        except BaseException:
            self.cancelled.set()  # other tasks stop at their next tile
            raise

    def _work(self, task: list[tuple[slice, ...]]) -> tuple[list[State], list[_Stored], list[np.ndarray]]:
        """Partial states and stored values of a task: tiles with one output region.

        A task of several tiles (a pass of reductions only, see
        :attr:`Pass.group`) reads them one after the other and combines
        their states block by block while the blocks are in the CPU cache;
        the main thread then merges one state per task instead of one per tile.
        """
        running: dict[int, list[list[State]]] = {}
        values: list[np.ndarray | None] = []
        borrowed: list[np.ndarray] = []
        for region in task:
            if self.cancelled.is_set():
                return [], [], []  # the pass failed elsewhere: read no more
            values, borrowed = self._tile(region, running)
            if self.cancelled.is_set():
                return [], [], []
            if len(task) > 1:  # reductions only: the tile's data is done with
                values = []
                self.buffers.give_back(borrowed)
        states: list[State] = [()] * len(self.reductions)
        for index, blocks in running.items():
            mine = self.grouped[index]
            joined = _joined([self.reductions[n] for n in mine], blocks, self.blocking[index],
                             self.pool)
            for n, state in zip(mine, joined):
                states[n] = state
        if len(task) > 1:
            return states, [], []
        region = task[0]
        stored = [self._stored(region, cast(np.ndarray, values[i]), original)
                  for i, (_, original) in zip(self.store_inputs, self.stores)]
        return states, stored, borrowed

    def _tile(self, region: tuple[slice, ...], running: dict[int, list[list[State]]]
              ) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
        """Evaluate every input of the pass on one tile, folding it into ``running``.

        Returns the values of the stored inputs (``None`` for the others),
        and the read and scratch buffers the tile still holds.

        1. Source reads go through one tile cache for the whole tile, so a
           region of a source that several inputs read is read once.
        2. Each input is evaluated with buffers lent for it alone, and folded
           into the running states of its reductions at once (the same
           calls, on the same values, as when every input was evaluated
           first: each reduction's states, so its results, do not change).
        3. A stored input's value is kept for the tile, with its buffers. An
           input used by reductions only is dropped, and its buffers given
           back for the next input; those still referred to (reads the tile
           cache still shares) stay with the tile's, handed back as they are.
           Only one such input lives at a time, so a pass of many results,
           each of its own elementwise input, needs the memory of one
           (:func:`lazyarray.plan._pass_bytes` counts it so).
        """
        key = _ranges(region)
        origin = tuple(s.start for s in region)
        values: list[np.ndarray | None] = [None] * len(self.inputs)
        borrowed: list[np.ndarray] = []
        with tile_cache():
            for index, node in enumerate(self.inputs):
                if self.cancelled.is_set():
                    break  # the pass failed elsewhere: the caller returns nothing
                with self.buffers.lending() as lent:
                    # Masked inputs are evaluated masked in plain mode too: a
                    # reduction of them skips their masked points, as numpy.ma's does.
                    value = node._select(key)._evaluate(self.masked or node.masked)
                mine = self.grouped.get(index)
                if mine is not None:
                    reductions = [self.reductions[n] for n in mine]
                    running[index] = _block_states(reductions, value, origin,
                                                   self.blocking[index], running.get(index),
                                                   self.pool)
                if index in self.kept:
                    values[index] = value
                    borrowed.extend(lent)
                else:
                    del value
                    borrowed.extend(self.buffers.give_back(lent))
        return values, borrowed

    def _stored(self, region: tuple[slice, ...], value: np.ndarray, original: Array) -> _Stored:
        """A tile's ``value`` of a stored result, prepared for writing by each sink."""
        encoded: dict[int, list[EncodedChunk]] = {}
        sinks = self.sinks.get(id(original), ())
        for sink in sinks:
            if self.cancelled.is_set():
                break  # the pass failed elsewhere: spend nothing more; write() still works
            chunks = sink.prepare(region, value)
            if chunks is not None:
                encoded[id(sink)] = chunks
        everyone = all(id(sink) in encoded for sink in sinks)
        return _Stored(None if everyone else value, encoded)

    # -- main-thread side ----------------------------------------------------------
    def recycle(self, borrowed: list[np.ndarray]) -> None:
        """Hand a merged tile's read buffers back for the next tiles' reads.

        A worker may not have dropped its last references yet; those buffers
        are looked at again after the next tile, then left to the allocator.
        """
        self.buffers.give_back(self.lent)
        self.lent = self.buffers.give_back(borrowed)
    def _out_region(self, reduction: Aggregation, region: tuple[slice, ...]) -> tuple[slice, ...]:
        return tuple(s for a, s in enumerate(region) if a not in reduction.axes)

    def take(self, task: list[tuple[slice, ...]], states: list[State], values: list[_Stored]) -> None:
        region = task[0]  # the tiles of a task share their output regions
        for number, (reduction, state) in enumerate(zip(self.reductions, states)):
            out = self._out_region(reduction, region)
            where = tuple(s.start for s in out)
            partials = self.partials[number]
            previous = partials.get(where)
            if previous is None:
                partials[where] = state
            else:
                partials[where] = merged = reduction.combine(previous, state)
                self.pool.give(state, merged)
            left = self.left[number]
            if where not in left:
                left[where] = self.step.tasks_along(reduction.axes)
            left[where] -= 1
            if not left[where]:
                self._finish(number, out, partials.pop(where))
                del left[where]
        # Stored values are written in tile order, here as before: encoded
        # chunks as they are, other values through their sink.
        for (_, original), stored in zip(self.stores, values):
            for sink in self.sinks.get(id(original), ()):
                chunks = stored.encoded.get(id(sink))
                if chunks is not None:
                    sink.write_chunks(chunks)
                else:
                    assert stored.value is not None
                    sink.write(region, stored.value)

    def _finish(self, number: int, out: tuple[slice, ...], state: State) -> None:
        reduction = self.reductions[number]
        value = reduction.finish(state, self.masked or reduction.array.masked)
        self._write_result(number, out, value)

    def _write_result(self, number: int, out: tuple[slice, ...], value: np.ndarray) -> None:
        result = self.results[number]
        result.write(out, value)
        for sink in self.sinks.get(id(self.originals[number]), ()):
            if sink is not result:
                sink.write(out, value)

    def finish_empty(self) -> None:
        """Results of a pass over a domain with no elements."""
        for number, reduction in enumerate(self.reductions):
            value = reduction._evaluate(self.masked or reduction.masked)
            self._write_result(number, tuple(slice(0, n) for n in reduction.shape), value)


#: A pass whose whole domain takes at most this many bytes of working memory
#: runs its tasks in the caller's thread, one after the other: starting the
#: worker threads costs more (about 0.3 ms) than such a pass's work. The tasks
#: and the order of their merges are the same, so are the results.
INLINE_BYTES = 1 << 20


def _merge(run: _PassRun, reporter: _Reporter, task: list[tuple[slice, ...]],
           done: tuple[list[State], list[_Stored], list[np.ndarray]]) -> None:
    """Merge a finished task's states and write its values, in traversal order."""
    states, values, borrowed = done
    run.take(task, states, values)
    del states, values, done
    run.recycle(borrowed)
    reporter.advance(sum(
        math.prod(s.stop - s.start for s in region) for region in task
    ) * run.read_bytes_per_element)


def _run_pass(run: _PassRun, options: Options, reporter: _Reporter, in_flight: int) -> None:
    if run.step.tile_count == 0:
        run.finish_empty()
        return
    if math.prod(run.step.domain) * run.step.bytes_per_element <= INLINE_BYTES:
        for inline in run.step.tasks():
            _merge(run, reporter, inline, run.work(inline))
        return
    pending: collections.deque[tuple[list[tuple[slice, ...]], Future[Any]]] = collections.deque()
    pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="lazyarray")
    try:
        tasks = run.step.tasks()
        exhausted = False
        while True:
            while not exhausted and len(pending) < in_flight:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                # Each task runs in a copy of the caller's context, so settings
                # such as numpy.errstate apply in the workers as in the caller.
                context = contextvars.copy_context()
                pending.append((task, pool.submit(context.run, run.work, task)))
            if not pending:
                break
            task, future = pending.popleft()
            done = future.result()
            # Drop the future (which holds the task's results) before waiting
            # for the next one, so no more than in_flight tasks are alive.
            del future
            _merge(run, reporter, task, done)
            del done
    except BaseException:
        run.cancelled.set()
        for _, future in pending:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _evaluate(nodes: Sequence[Array], targets: Sequence[Any], masked: bool,
              options: Options) -> list[np.ndarray | None]:
    """Evaluate ``nodes``, each into its target (``None``: a new in-memory array)."""
    _refuse_closed_sources(nodes)
    sinks: dict[int, list[_Sink]] = {}
    outputs: list[_Sink] = []
    for number, (node, target) in enumerate(zip(nodes, targets)):
        sink = _Sink(node, masked, target, number)
        sinks.setdefault(id(node), []).append(sink)
        outputs.append(sink)
    the_plan = make_plan(nodes, options, in_memory=[t is None for t in targets])
    reporter = _Reporter(options.progress, the_plan.read_bytes)
    replacements: dict[int, Array] = {}
    # The call's options are in force while it runs, so that the workers
    # (which run in copies of this context), adapters and kernels see them.
    with in_force(options):
        try:
            for step in the_plan.passes:
                run = _PassRun(step, replacements, sinks, masked)
                _run_pass(run, options, reporter, the_plan.in_flight)
                for original, result in zip(run.originals, run.results):
                    replacements[id(original)] = asarray(result.result())
        finally:
            reporter.close()
    return [sink.result() if sink.target is None else None for sink in outputs]


def _nodes(arrays: Any, operation: str) -> list[Array]:
    if isinstance(arrays, (Array, np.ndarray)):
        raise TypeError(f"{operation}: expected a sequence of arrays; wrap a single array in a list")
    return [asarray(a) for a in arrays]


def plan(arrays: Sequence[Any], **options: Any) -> Plan:
    """The plan that evaluating ``arrays`` in memory would follow; reads nothing.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> p = la.plan([la.mean(np.zeros((10, 4)), 0)])
    >>> len(p.passes), p.passes[0].domain
    (1, (10, 4))
    """
    nodes = _nodes(arrays, "plan")
    return make_plan(nodes, get_options(**options), in_memory=[True] * len(nodes))


def ndarrays(arrays: Sequence[Any], **options: Any) -> list[np.ndarray]:
    """Realise several lazy arrays as ndarrays, in one pass where they share sources.

    Parameters
    ----------
    arrays : sequence of arrays
    **options
        Evaluation options for this call (see :class:`lazyarray.Options`).

    Returns
    -------
    list of numpy.ndarray
    """
    nodes = _nodes(arrays, "ndarrays")
    return _evaluate(nodes, [None] * len(nodes), False, get_options(**options))  # type: ignore[return-value]


def masked_arrays(arrays: Sequence[Any], **options: Any) -> list[np.ma.MaskedArray]:
    """Realise several lazy arrays as ``numpy.ma.MaskedArray``, in one pass.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    >>> la.masked_arrays([la.asarray(m) * 2])[0].tolist()
    [2, None, 6]
    """
    nodes = _nodes(arrays, "masked_arrays")
    return _evaluate(nodes, [None] * len(nodes), True, get_options(**options))  # type: ignore[return-value]


def compute(*arrays: Any, **options: Any) -> tuple[np.ndarray, ...]:
    """Realise the given arrays as ndarrays in one evaluation; a tuple.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a, b = la.compute(la.zeros(2), la.ones(1))
    >>> a.tolist(), b.tolist()
    ([0.0, 0.0], [1.0])
    """
    return tuple(ndarrays(arrays, **options))


def _refuse_closed_sources(nodes: Sequence[Array]) -> None:
    """Raise :class:`~lazyarray.errors.ClosedFileError`, before anything is
    read, for a source whose h5py file its user has closed."""
    for node in walk(nodes):
        check_open = getattr(node, "check_open", None)
        if check_open is not None:
            check_open()


def describe_target(target: Any) -> str:
    """A target, in words for error messages: its file and dataset where it has them.

    Examples
    --------
    >>> describe_target(np.zeros(2))
    'a target of type ndarray'
    """
    import h5py
    import zarr

    if isinstance(target, h5py.Dataset):
        if not target.id.valid:
            return "an h5py.Dataset whose file was closed"
        return f"HDF5 dataset {target.name!r} of {target.file.filename!r}"
    if isinstance(target, zarr.Array):
        return f"Zarr array {'/' + target.path!r} of store {str(target.store)!r}"
    return f"a target of type {type(target).__name__}"


def _refuse_unwritable(target: Any, number: int, operation: str) -> None:
    """Raise for a target that is closed or read-only, which no write could change."""
    import h5py
    import zarr

    if isinstance(target, h5py.Dataset):
        if not target.id.valid:
            raise ClosedFileError(
                f"{operation}: target {number} is an h5py.Dataset whose file was closed; "
                "open the file again (mode 'r+' or 'a')"
            )
        if target.file.mode != "r+":
            raise ReadOnlyTargetError(
                f"{operation}: target {number} ({describe_target(target)}) is in a file "
                "opened read-only; open it with mode 'r+' or 'a'"
            )
    elif isinstance(target, zarr.Array):
        if target.read_only:
            raise ReadOnlyTargetError(
                f"{operation}: target {number} ({describe_target(target)}) is read-only; "
                "open it with mode 'r+' or 'a'"
            )
    elif isinstance(target, np.ndarray) and not target.flags.writeable:
        raise ReadOnlyTargetError(
            f"{operation}: target {number} ({describe_target(target)}) is read-only "
            "(its writeable flag is off)"
        )


def check_targets(nodes: Sequence[Array], targets: Sequence[Any], operation: str) -> None:
    """Check sinks fit their sources, and can be written, before anything is read.

    Raises
    ------
    lazyarray.ShapeError, lazyarray.DTypeError
        For a target whose shape differs from its source's, or whose dtype
        the source cannot be cast to (same kind).
    lazyarray.errors.ClosedFileError, lazyarray.errors.ReadOnlyTargetError
        For an HDF5 target whose file was closed or opened read-only, a
        read-only Zarr array or a non-writeable ndarray.
    TypeError
        For a target without ``shape``, ``dtype`` and ``__setitem__``.

    Examples
    --------
    >>> import lazyarray as la
    >>> frozen = np.zeros(2)
    >>> frozen.flags.writeable = False
    >>> check_targets([la.asarray(np.ones(2))], [frozen], "save")
    Traceback (most recent call last):
    ...
    lazyarray.errors.ReadOnlyTargetError: save: target 0 (a target of type ndarray) is read-only (its writeable flag is off)
    """
    if len(nodes) != len(targets):
        raise ShapeError(
            f"{operation}: {len(nodes)} source(s) but {len(targets)} target(s); give one target per source"
        )
    for number, (node, target) in enumerate(zip(nodes, targets)):
        _refuse_unwritable(target, number, operation)
        for attribute in ("shape", "dtype", "__setitem__"):
            if not hasattr(target, attribute):
                raise TypeError(
                    f"{operation}: target {number} must have shape, dtype and __setitem__; "
                    f"{type(target).__name__} has no {attribute}"
                )
        try:
            shape, dtype = tuple(target.shape), np.dtype(target.dtype)
        except TypeError as error:
            raise TypeError(f"{operation}: target {number} has shape {target.shape!r} and "
                            f"dtype {target.dtype!r}: not a shape and a dtype ({error})") from None
        if shape != node.shape:
            raise ShapeError(
                f"{operation}: source {number} has shape {node.shape}, target {number} has "
                f"shape {tuple(target.shape)}"
            )
        if not np.can_cast(node.dtype, dtype, casting="same_kind"):
            raise DTypeError(
                f"{operation}: source {number} of dtype {node.dtype} cannot be stored in "
                f"target {number} of dtype {dtype} (not a same-kind cast)"
            )


def save(sources: Sequence[Any], targets: Sequence[Any], *, compute: Sequence[Any] = (),
         masked: bool | None = None, **options: Any) -> list[np.ndarray]:
    """Stream each source into its target, in as few passes as possible.

    Parameters
    ----------
    sources : sequence of arrays
        What to write.
    targets : sequence
        One per source: anything with ``shape``, ``dtype`` and
        ``__setitem__`` (``numpy.ndarray``, ``h5py.Dataset``, ``zarr.Array``).
    compute : sequence of arrays, optional
        Arrays to compute in memory in the same evaluation (statistics of
        what is saved, say); they share its reads.
    masked : bool, optional
        Whether masked points are saved as missing: written as the fill value
        each target declares, which is recorded if it declares none (see
        below), so that reading it back masked (``asarray``, netCDF4,
        xarray) gives the mask again. By default (``None``), each source that
        is masked (:attr:`~lazyarray.Array.masked`) is. ``True`` also makes
        the ``compute`` results masked arrays. ``False`` writes every source
        plain: masked points hold its ``fill_value`` and nothing records it.
    **options
        Evaluation options for this call.

    Returns
    -------
    list of numpy.ndarray
        The ``compute`` results.

    Raises
    ------
    lazyarray.ShapeError, lazyarray.DTypeError
        Before anything is written, for a target whose shape differs from its
        source's, whose dtype the source cannot be cast to (same kind), or
        (masked) whose declared fill value is not a value of its dtype.

    Notes
    -----
    The fill value of a target that a source is saved masked into is what
    reading it with ``masked=True`` would take
    (:func:`lazyarray.adapters.target_fill_value`):

    * an ``h5py.Dataset``: its ``_FillValue`` attribute, else its first
      ``missing_value``, else the fill value it was created with. If it has
      no ``_FillValue`` attribute, one is recorded (in its dtype) before
      writing: the value its masked points are written as.
    * a ``zarr.Array``: its ``_FillValue`` attribute, else its first
      ``missing_value``, else its own ``fill_value``. Nothing is recorded:
      Zarr's ``fill_value`` is set when the array is created.
    * anything else: none; masked points hold the source's ``fill_value``.

    Unmasked points that happen to equal the fill value read back as masked,
    as with any file that marks missing points by value.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.asarray(np.arange(6.0).reshape(2, 3))
    >>> out = np.zeros((2, 3))
    >>> [m] = la.save([a * 2], [out], compute=[la.max(a * 2)])
    >>> out.tolist(), float(m)
    ([[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]], 10.0)

    A masked result saved into a Zarr array whose fill value is -1 (masked
    sources are saved masked by default):

    >>> import zarr
    >>> m = la.asarray(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], fill_value=99))
    >>> z = zarr.create_array({}, shape=(3,), dtype="i8", fill_value=-1)
    >>> _ = la.save([m], [z])
    >>> z[:].tolist(), la.asarray(z, masked=True).masked_array().tolist()
    ([1, -1, 3], [1, None, 3])
    """
    nodes = _nodes(sources, "save")
    targets = list(targets)
    check_targets(nodes, targets, "save")
    extra = _nodes(compute, "save")
    saved_masked = [node.masked if masked is None else masked for node in nodes]
    if any(saved_masked):
        from .adapters import record_fill_value, target_fill_value
        from .adapters.base import same_value, written_fill_value
        from .elementwise import Elementwise

        def refilled(node: Array, fill: Any, dtype: np.dtype) -> Array:
            """``node`` cast to ``dtype``, masked points set to ``fill``, nothing masked."""

            def cast(values: np.ndarray) -> np.ndarray:
                return np.asarray(values).astype(dtype)

            def fill_masked(values: np.ndarray) -> np.ndarray:
                # Cast first: the target's fill value may not fit the source's
                # dtype (int8 data into an int16 target declaring -9999).
                data = np.ma.getdata(values).astype(dtype)
                np.copyto(data, fill, where=np.ma.getmaskarray(values))
                return data

            return Elementwise(cast, [node], masked_func=fill_masked, name="save")

        # Every target's fill value is found (and checked) before anything is
        # written to any of them.
        fills = [target_fill_value(target) if wanted else None
                 for target, wanted in zip(targets, saved_masked)]
        for number, (node, target, fill) in enumerate(zip(nodes, targets, fills)):
            if not saved_masked[number]:
                continue
            dtype = np.dtype(target.dtype)
            # What the sink writes for a masked point: the source's fill value
            # in its own dtype, then cast to the target's.
            written = written_fill_value(written_fill_value(node.fill_value, node.dtype), dtype)
            if fill is None:
                fill = written
            elif not same_value(fill, written):
                nodes[number] = refilled(node, fill, dtype)
            fills[number] = fill
    results = _evaluate(nodes + extra, list(targets) + [None] * len(extra), bool(masked),
                        get_options(**options))
    if any(saved_masked):
        # Recorded once the data is written: a failed save leaves no metadata
        # claiming that the target holds masked data.
        for target, fill, wanted in zip(targets, fills, saved_masked):
            if wanted:
                record_fill_value(target, fill)
    return results[len(nodes):]  # type: ignore[return-value]
