"""Exporting lazy arrays to Dask: :func:`to_dask` (issue 16, point 1), and running
evaluations on a Dask scheduler with it: :func:`run_on_dask`, behind the
``scheduler=`` of ``ndarrays``, ``save``, ``to_hdf5``, ``to_zarr`` (point 2).

Each lazy array becomes a ``dask.array.Array`` whose tasks evaluate it with
lazyarray's own code, so that any Dask scheduler computes what
:func:`lazyarray.ndarrays` (or, with ``masked=True``,
:func:`lazyarray.masked_arrays`) would:

* a graph without aggregations becomes one task per block of its
  :attr:`~lazyarray.Array.chunks` (the planner's tiles for that array
  alone: storage-aligned, cut at mosaic members). Each block is evaluated
  by an :class:`~lazyarray.context.EvaluationContext` built in the task: the
  fused kernels, direct reads and masked rules are lazyarray's. The node is
  put in the Dask graph once, under a key of its own, which the block tasks
  refer to: it is pickled once per array (by path for files), not per task;
* an :class:`~lazyarray.Aggregation` becomes a tree reduction over the
  blocks of its input's export: a task per block computes lazyarray's named
  partial state (:meth:`~lazyarray.Aggregation.tile_state`, at the block's
  origin, which arg-reductions need), tasks merge the states of up to
  ``split_every`` (:data:`SPLIT_EVERY`) consecutive blocks in C order
  (:meth:`~lazyarray.Aggregation.combine`, which leaves its arguments as
  they were: Dask may hand one state to two tasks or retry one), and one
  task per output block merges and finishes. Same accumulators as the
  executor: integers, minima, maxima and positions equal lazyarray's
  exactly; float sums to float64 rounding;
* a node above aggregations (``x - la.mean(x, 0)``) waits for their values,
  replaced in its graph by their results in one task
  (:func:`lazyarray.graph.rewrite`, as the executor does between stages),
  which its block tasks then evaluate.

The reduction layer is built by hand rather than with
``dask.array.reduction``: ``reduction``'s ``chunk`` runs through
``blockwise``, which cannot tell a block its origin, so arg-reductions would
need a second path; the hand-built tree serves all 23 reductions alike,
merges in C order by construction (ties of ``argmin`` go to the first), and
needs no answer to Dask's ``computing_meta`` probes.

Examples
--------
>>> import dask, numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(12.0).reshape(3, 4))
>>> d, = to_dask([x - la.mean(x, axis=0)])
>>> d.compute(scheduler="synchronous")[0].tolist()
[-4.0, -4.0, -4.0, -4.0]
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .aggregation import Aggregation
from .array import Array
from .context import EvaluationContext
from .fillvalues import fill_masked
from .foreign import is_zarr_array
from .graph import rewrite
from .options import Options, get_options
from .planning import block_grid

if TYPE_CHECKING:
    import dask.array

__all__ = ["SCHEDULERS", "SPLIT_EVERY", "dask_chunks", "dask_scheduler", "run_on_dask",
           "to_dask"]

#: The most partial states one task merges, unless Dask's ``split_every``
#: setting says otherwise.
SPLIT_EVERY = 8


def to_dask(arrays: Sequence[Any], *, masked: bool = False,
            **options: Any) -> list[dask.array.Array]:
    """Dask arrays computing ``arrays`` as lazyarray does; reads nothing.

    Parameters
    ----------
    arrays : sequence of arrays
        Lazy arrays (or array-likes, wrapped by :func:`lazyarray.asarray`).
    masked : bool
        Blocks are ``numpy.ma.MaskedArray`` (:func:`lazyarray.masked_arrays`);
        otherwise plain, masked points filled (:func:`lazyarray.ndarrays`).
    **options
        Evaluation options (:class:`lazyarray.Options`), which also set the
        block grid (``chunk_bytes``, ``memory_limit``): taken now, and used
        by every task.

    Returns
    -------
    list of dask.array.Array
        Blocks along :attr:`lazyarray.Array.chunks`. Nodes used by several
        results (an input of several aggregations) are evaluated once.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    >>> total, = to_dask([la.sum(m)], masked=False)
    >>> float(total.compute(scheduler="synchronous"))
    4.0
    """
    if isinstance(arrays, (Array, np.ndarray)):
        raise TypeError("to_dask: expected a sequence of arrays; wrap a single array in a list")
    nodes = [a if isinstance(a, Array) else asarray(a) for a in arrays]
    exporter = _Exporter(get_options(**options))
    return [exporter.export(node, bool(masked)) for node in nodes]


class _Exporter:
    """One :func:`to_dask` call: the Dask array of each node and mode, made once.

    ``persist``: called on the value of every aggregation that a node above
    waits for (a stage, as the executor's), whose result then stands for it:
    :func:`run_on_dask` computes stages once rather than in every batch.
    """

    def __init__(self, options: Options,
                 persist: Callable[[dask.array.Array], dask.array.Array] | None = None):
        self.options = options
        self.persist = persist
        self.done: dict[tuple[int, bool], Any] = {}
        self.staged: dict[str, Any] = {}
        self.keep: list[Array] = []  # the nodes whose ids key ``done``

    def export(self, node: Array, masked: bool) -> dask.array.Array:
        found = self.done.get((id(node), masked))
        if found is None:
            if isinstance(node, Aggregation) and node.array.size:
                found = self._reduction(node, masked)
            else:
                found = self._blocks(node, masked)
            self.done[(id(node), masked)] = found
            self.keep.append(node)
        return found

    def _name(self, kind: str, node: Array, masked: bool, *extra: Any) -> str:
        from dask.base import tokenize

        # Deterministic: the same graph, mode and options give the same
        # names, which Dask then computes once.
        return f"lazyarray-{kind}-" + tokenize(pickle.dumps(node), masked, self.options, *extra)

    def _array(self, layer: dict[Any, Any], name: str, chunks: tuple[tuple[int, ...], ...],
               dtype: np.dtype, masked: bool, dependencies: list[Any]) -> dask.array.Array:
        import dask.array as da
        from dask.highlevelgraph import HighLevelGraph

        graph = HighLevelGraph.from_collections(name, layer, dependencies=dependencies)
        return da.Array(graph, name, chunks, meta=_meta(len(chunks), dtype, masked))

    def _blocks(self, node: Array, masked: bool) -> dask.array.Array:
        """Blocks evaluated by lazyarray, after the aggregations below are known."""
        name = self._name("block", node, masked)
        graph_key = name + "-graph"
        layer: dict[Any, Any] = {}
        dependencies = []
        chunks: tuple[tuple[int, ...], ...]
        if isinstance(node, Aggregation):  # of an empty input: one block
            chunks = tuple((n,) for n in node.shape)
        else:
            chunks = block_grid(node, self.options)
        below = _nearest_aggregations(node)
        if below:
            values = []
            for aggregation in below:
                # As the executor between stages: the value masked when the
                # evaluation is, or the aggregation is.
                value = self.export(aggregation, masked or aggregation.masked)
                if self.persist is not None:
                    if value.name not in self.staged:
                        self.staged[value.name] = self.persist(value)
                    value = self.staged[value.name]
                dependencies.append(value)
                values.append((_join, _nested_keys(value)))
            layer[graph_key] = (_substitute, node, *values)
        else:
            layer[graph_key] = node
        offsets = [_offsets(c) for c in chunks]
        for index in itertools.product(*(range(len(c)) for c in chunks)):
            region = tuple(slice(offsets[a][i], offsets[a][i + 1]) for a, i in enumerate(index))
            layer[(name, *index)] = (_evaluate_block, graph_key, region, masked, self.options)
        return self._array(layer, name, chunks, node.dtype, masked, dependencies)

    def _reduction(self, aggregation: Aggregation, masked: bool) -> dask.array.Array:
        """A tree of partial states over the blocks of the aggregation's input."""
        # As Aggregation._compute_steps: a masked input reduces masked.
        with_masks = masked or aggregation.array.masked
        source = self.export(aggregation.array, with_masks)
        split = _split_every()
        name = self._name("reduce", aggregation, masked, split)
        node_key = name + "-node"
        layer: dict[Any, Any] = {node_key: aggregation}
        axes = aggregation.axes
        offsets = [_offsets(c) for c in source.chunks]
        for index in itertools.product(*(range(n) for n in source.numblocks)):
            origin = tuple(offsets[a][i] for a, i in enumerate(index))
            # The origin as a list: a tuple of ints would read as a Dask key.
            layer[(name + "-state", *index)] = (_tile_state, node_key, (source.name, *index),
                                                list(origin))
        kept = [a for a in range(source.ndim) if a not in axes]
        for out in itertools.product(*(range(source.numblocks[a]) for a in kept)):
            positions = dict(zip(kept, out))
            states: list[Any] = []
            for inner in itertools.product(*(range(source.numblocks[a]) for a in axes)):
                positions.update(zip(axes, inner))
                states.append((name + "-state", *(positions[a] for a in range(source.ndim))))
            level = 0
            while len(states) > split:
                merged = []
                for n, start in enumerate(range(0, len(states), split)):
                    key = (name + f"-combine-{level}", *out, n)
                    layer[key] = (_combine, node_key, *states[start:start + split])
                    merged.append(key)
                states, level = merged, level + 1
            layer[(name, *out)] = (_finish, node_key, masked, with_masks, *states)
        chunks = tuple(source.chunks[a] for a in kept)
        return self._array(layer, name, chunks, aggregation.dtype, masked, [source])


# -- running on a Dask scheduler (issue 16, point 2) ---------------------------------

#: The names ``scheduler=`` takes (besides a ``dask.distributed.Client``);
#: ``"lazyarray"`` is lazyarray's own executor.
SCHEDULERS = ("lazyarray", "synchronous", "threads", "processes")


def dask_scheduler(scheduler: Any, operation: str) -> Any:
    """What ``scheduler=`` says, checked before anything is read or written:
    ``None`` for lazyarray's executor (``"lazyarray"``, or ``None``), else the
    Dask scheduler to run on (a name, or a ``dask.distributed.Client``).

    Examples
    --------
    >>> dask_scheduler("lazyarray", "ndarrays") is None, dask_scheduler("threads", "save")
    (True, 'threads')
    >>> dask_scheduler("thread", "save")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: save: scheduler must be one of 'lazyarray', 'synchronous', ..., got 'thread'
    """
    if scheduler is None or (isinstance(scheduler, str) and scheduler == "lazyarray"):
        return None
    expected = f"one of {', '.join(map(repr, SCHEDULERS))} or a dask.distributed.Client"
    if isinstance(scheduler, str):
        if scheduler not in SCHEDULERS:
            raise ValueError(f"{operation}: scheduler must be {expected}, got {scheduler!r}")
        try:
            import dask  # noqa: F401 - only to say it is missing, now
        except ImportError as error:
            raise ImportError(f"{operation}: scheduler={scheduler!r} runs on Dask: install "
                              "dask[array] (lazyarray[dask])") from error
        return scheduler
    # A Client exists only once distributed has defined it (getattr: another
    # thread may be importing distributed).
    client = getattr(sys.modules.get("distributed"), "Client", None)
    if client is not None and isinstance(scheduler, client):
        if scheduler.status in ("closing", "closed"):
            raise ValueError(f"{operation}: scheduler is a dask.distributed.Client that is "
                             f"{scheduler.status}")
        return scheduler
    raise TypeError(f"{operation}: scheduler must be {expected}, got an object of type "
                    f"{type(scheduler).__name__}")


def dask_chunks(nodes: Sequence[Array], options: Options) -> list[tuple[tuple[int, ...], ...]]:
    """The blocks of each node's Dask array (its ``chunks``) as :func:`run_on_dask`
    computes it; reads nothing."""
    exporter = _Exporter(options)
    return [exporter.export(node, False).chunks for node in nodes]


def run_on_dask(nodes: Sequence[Array], masked: bool, targets: Sequence[Any], scheduler: Any,
                options: Options, write: Callable[[int, tuple[slice, ...], Any], None],
                advance: Callable[[int], None]) -> None:
    """Evaluate ``nodes`` on a Dask ``scheduler`` (:func:`dask_scheduler`).

    Each node is exported as :func:`to_dask` does; the aggregations that
    nodes above wait for (stages) are persisted first (computed once, kept
    by the scheduler); then the blocks of all the nodes, in order, are
    computed in batches of at most ``memory_limit`` bytes (at least one
    block), one Dask graph per batch:

    * a block of a node whose target is a Zarr array that the workers can
      write (:func:`_workers_write`, its blocks covering whole chunks or
      shards) is written by a task of its own, ``target[region] = block``
      (what ``dask.array.store(..., lock=False)`` does), in the worker;
    * any other block is brought back and handed to ``write(number, region,
      block)`` in this thread, as it arrives (with a Client: as each task
      ends): in-memory results, HDF5 datasets (one process writes an HDF5
      file), ndarrays, Zarr arrays in memory or not aligned.

    ``advance(nbytes)`` follows each block written here and each block
    stored by a worker (local schedulers: each batch), with its bytes.
    """
    import dask

    client = None if isinstance(scheduler, str) else scheduler
    with contextlib.ExitStack() as stack:
        # One pool of processes for the whole call, not one per batch.
        local = {"pool": stack.enter_context(_process_pool())} if scheduler == "processes" else {}

        def persist(value: dask.array.Array) -> dask.array.Array:
            if client is not None:
                return client.persist(value)
            return dask.persist(value, scheduler=scheduler, **local)[0]

        # The tasks carry the options: no callback of the caller's among them.
        exporter = _Exporter(replace(options, progress=False), persist)
        in_process = client is None and scheduler != "processes"
        stored = [_workers_write(target, in_process) for target in targets]
        # Saved by the workers, a masked node's blocks come filled, as sinks fill.
        arrays = [exporter.export(node, masked and not s) for node, s in zip(nodes, stored)]
        stored = [s and _aligned(a.chunks, t) for s, a, t in zip(stored, arrays, targets)]
        for batch in _batches(arrays, options.memory_limit):
            _run_batch(batch, arrays, targets, stored, scheduler, client, local, write, advance)


def _process_pool() -> Any:
    """A pool as ``dask.multiprocessing.get`` makes one (its context, its worker set-up)."""
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from dask import multiprocessing

    return ProcessPoolExecutor(mp_context=multiprocessing.get_context(),
                               initializer=partial(multiprocessing.initialize_worker_process,
                                                   user_initializer=None))


def _run_batch(batch: list[tuple[int, tuple[int, ...], tuple[slice, ...], int]],
               arrays: Sequence[Any], targets: Sequence[Any], stored: Sequence[bool],
               scheduler: Any, client: Any, local: dict[str, Any],
               write: Callable[[int, tuple[slice, ...], Any], None],
               advance: Callable[[int], None]) -> None:
    import dask
    from dask.highlevelgraph import HighLevelGraph
    from dask.optimization import cull

    used = {arrays[number].name: arrays[number].dask for number, *_ in batch}
    graph: dict[Any, Any] = dict(HighLevelGraph.merge(*used.values()))
    # Never a result kept from another call (random as uuid4, without
    # importing uuid, which every evaluation would pay for).
    token = os.urandom(16).hex()
    keys: list[Any] = []
    items: list[tuple[int, tuple[slice, ...], int] | None] = []  # None: stored by a worker
    stored_bytes = 0
    for number, index, region, nbytes in batch:
        key = (arrays[number].name, *index)
        if stored[number]:
            target_key = f"lazyarray-target-{token}-{number}"
            graph[target_key] = targets[number]  # in the graph once: pickled once
            key = (f"lazyarray-store-{token}", len(keys))
            graph[key] = (_store_block, target_key, (arrays[number].name, *index),
                          [[r.start, r.stop] for r in region])
            stored_bytes += nbytes
            items.append(None)
        else:
            items.append((number, region, nbytes))
        keys.append(key)
    graph, _ = cull(graph, keys)
    if client is None:
        values = dask.base.get_scheduler(scheduler=scheduler)(graph, keys, **local)
        for item, value in zip(items, values):
            if item is not None:
                write(item[0], item[1], value)
                advance(item[2])
        advance(stored_bytes)
        return
    from distributed import as_completed

    waiting: dict[Any, list[Any]] = {}  # by key: a result asked for twice is one key
    for key, item in zip(keys, items):
        waiting.setdefault(key, []).append(item)
    futures = client.get(graph, list(waiting), sync=False)
    try:
        for future in as_completed(futures):
            value = future.result()  # raises the task's exception
            for item in waiting[future.key]:
                if item is None:
                    advance(value)
                else:
                    write(item[0], item[1], value)
                    advance(item[2])
            future.release()
    except BaseException:
        client.cancel(futures)
        raise


def _batches(arrays: Sequence[Any], limit: int
             ) -> Iterator[list[tuple[int, tuple[int, ...], tuple[slice, ...], int]]]:
    """``(number, block index, region, bytes)`` of the blocks of ``arrays``
    (empty ones left out), in runs of at most ``limit`` bytes."""
    batch: list[tuple[int, tuple[int, ...], tuple[slice, ...], int]] = []
    size = 0
    for number, array in enumerate(arrays):
        offsets = [_offsets(c) for c in array.chunks]
        for index in itertools.product(*(range(n) for n in array.numblocks)):
            region = tuple(slice(offsets[a][i], offsets[a][i + 1]) for a, i in enumerate(index))
            nbytes = math.prod(r.stop - r.start for r in region) * array.dtype.itemsize
            if not nbytes:
                continue
            if batch and size + nbytes > limit:
                yield batch
                batch, size = [], 0
            batch.append((number, index, region, nbytes))
            size += nbytes
    if batch:
        yield batch


def _workers_write(target: Any, in_process: bool) -> bool:
    """Whether Dask's workers may write ``target`` themselves: a Zarr array,
    in a store that other processes see too unless they are threads of this one."""
    if not is_zarr_array(target):
        return False
    if in_process:
        return True
    import zarr

    return isinstance(target.store, (zarr.storage.LocalStore, zarr.storage.FsspecStore))


def _aligned(chunks: tuple[tuple[int, ...], ...], target: Any) -> bool:
    """Whether every block covers whole chunks (shards) of the Zarr array ``target``,
    so that blocks written at once never share one."""
    grid = getattr(target, "shards", None) or target.chunks
    return all(all(o % g == 0 or o == n for o in _offsets(c))
               for c, g, n in zip(chunks, grid, target.shape))


# -- what the tasks run -------------------------------------------------------------


def _evaluate_block(node: Array, region: tuple[slice, ...], masked: bool,
                    options: Options) -> np.ndarray:
    value = EvaluationContext(options).evaluate(node, region, masked)
    if masked and not isinstance(value, np.ma.MaskedArray):
        value = np.ma.MaskedArray(value)
    return value


def _store_block(target: Any, block: np.ndarray, region: list[list[int]]) -> int:
    target[tuple(slice(start, stop) for start, stop in region)] = block
    return int(block.nbytes)


def _substitute(node: Array, *values: np.ndarray) -> Array:
    """``node`` with its nearest aggregations replaced by ``values``, in the order
    :func:`_nearest_aggregations` finds them (the same after pickling)."""
    below = _nearest_aggregations(node)
    if len(below) != len(values):  # pragma: no cover - a bug, not a user error
        raise AssertionError(f"to_dask: {len(values)} values for {len(below)} aggregations")
    return rewrite(node, {id(a): asarray(v) for a, v in zip(below, values)})


def _tile_state(aggregation: Aggregation, block: np.ndarray, origin: list[int]) -> Any:
    return aggregation.tile_state(block, tuple(origin))


def _fold(aggregation: Aggregation, states: Sequence[Any]) -> Any:
    # Never spend: Dask owns the states, and may use one again.
    state = states[0]
    for other in states[1:]:
        state = aggregation.combine(state, other)
    return state


def _combine(aggregation: Aggregation, *states: Any) -> Any:
    return _fold(aggregation, states)


def _finish(aggregation: Aggregation, masked: bool, with_masks: bool, *states: Any) -> np.ndarray:
    result = aggregation.finish(_fold(aggregation, states), with_masks)
    return result if masked else fill_masked(result, aggregation.fill_value)


def _join(blocks: Any, axis: int = 0) -> np.ndarray:
    """The array of nested lists of blocks (Dask's keys' nesting), masks kept."""
    if not isinstance(blocks, list):
        return blocks
    parts = [_join(b, axis + 1) for b in blocks]
    if len(parts) == 1:
        return parts[0]
    masks = [p for p in parts if isinstance(p, np.ma.MaskedArray)]
    if masks:
        joined: np.ma.MaskedArray = np.ma.concatenate(parts, axis=axis)
        joined.fill_value = masks[0].fill_value
        return joined
    return np.concatenate(parts, axis=axis)


# -- helpers ------------------------------------------------------------------------


def _nearest_aggregations(node: Array) -> list[Array]:
    """The aggregations below ``node`` not below another, each once, in a
    fixed order (depth first, inputs in order)."""
    found: list[Array] = []
    seen: set[int] = set()
    todo = list(reversed(node.inputs))
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.reduced_axes is not None:
            found.append(current)
        else:
            todo.extend(reversed(current.inputs))
    return found


def _split_every() -> int:
    """Dask's ``split_every`` setting where it is one number (at least 2), else
    :data:`SPLIT_EVERY`."""
    import dask

    value = dask.config.get("split_every", None)
    return value if isinstance(value, int) and value >= 2 else SPLIT_EVERY


def _offsets(lengths: Sequence[int]) -> list[int]:
    return [0, *itertools.accumulate(lengths)]


def _nested_keys(array: dask.array.Array) -> Any:
    return array.__dask_keys__()


def _meta(ndim: int, dtype: np.dtype, masked: bool) -> np.ndarray:
    empty = np.empty((0,) * ndim, dtype)
    return np.ma.masked_array(empty) if masked else empty

