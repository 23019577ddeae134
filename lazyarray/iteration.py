"""Iterating over an array in slabs or blocks, evaluated ahead in bounded memory.

:func:`iter_chunks` yields consecutive slabs of an array along one axis,
:func:`iter_aligned_chunks` aligned slabs of several arrays (features and
labels), :func:`iter_blocks` the planner's tiles with where they lie. Each
slab is realised by the library's normal evaluation
(:func:`lazyarray.ndarrays`), in a background thread while the consumer
works on the previous ones, so reading and computing overlap with the
consumer's work (fitting a model with ``partial_fit``, writing elsewhere).

1. **Aggregations once.** Before the first slab, the aggregations of the
   graph that a slab's selection does not reach (``mean(x, 0)`` in
   ``x - mean(x, 0)``, iterated along axis 0, is needed whole by every slab)
   are evaluated, all in one call, and replaced in the graph by their
   results (:func:`lazyarray.graph.rewrite`, as the executor does between
   stages). Slabs then read their own part of the sources only. An
   aggregation the selection reaches (``mean(x, 1)`` iterated along axis 0)
   is computed slab by slab, from the slab's part of its input.
2. **Read-ahead.** At most ``prefetch`` slabs are in flight or waiting to be
   consumed; the next is started when one is taken.
3. **Bounded memory.** The evaluations in flight share ``memory_limit``:
   each is given ``memory_limit // (prefetch + 1)``, so the working memory
   of all of them together stays within the budget, with a share left over
   for the consumer's work. (The aggregations, evaluated before any slab,
   alone, have the whole budget.) As for any evaluation, the results
   themselves come on top: the slabs waiting and the one being consumed
   (``prefetch + 1`` slabs at most), and the aggregations' results, the
   size of their outputs, kept until the iteration ends.
4. **Clean ends.** Closing the generator (``break``, ``close()``, garbage
   collection) cancels the slabs not started and waits for those running:
   no thread is left behind. An exception raised evaluating a slab is
   raised to the consumer when it reaches that slab.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(12.0).reshape(6, 2))
>>> [s.tolist() for s in iter_chunks(x, size=4)]
[[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]], [[8.0, 9.0], [10.0, 11.0]]]

A pipeline of generators, in constant memory: the sum of squares of a
standardised array, slab by slab (the mean and standard deviation are
computed once, before the first slab).

>>> y = (x - la.mean(x, 0)) / la.std(x, 0)
>>> squares = (float((slab ** 2).sum()) for slab in iter_chunks(y, size=2))
>>> sum(squares)
12.0

The same with toolz:

>>> import toolz
>>> toolz.pipe(iter_chunks(y, size=2), toolz.curried.map(lambda s: float((s ** 2).sum())),
...            sum)
12.0
"""

from __future__ import annotations

import collections
import contextvars
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from typing import Any

import numpy as np

from .adapters import asarray
from .arguments import check_count
from .array import Array
from .axes import normalise_axis
from .carries import CarryStore
from .errors import ShapeError
from .execution import masked_arrays, ndarrays
from .execution.evaluate import evaluate
from .graph import rewrite, walk
from .options import Options, get_options
from .planning import block_grid

__all__ = [
    "budget_share",
    "iter_aligned_chunks",
    "iter_blocks",
    "iter_chunks",
    "read_ahead",
    "resolved_options",
]

Region = tuple[slice, ...]


# -- the options of the evaluations -----------------------------------------------


def resolved_options(operation: str, prefetch: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The options in force now, with ``options`` applied, as keywords; ``prefetch`` checked.

    Resolved when an iteration is asked for (so that bad options are refused
    at once, and later :func:`lazyarray.set_options` calls do not change the
    evaluations to come), and passed to each of them.

    Parameters
    ----------
    operation : str
        The public function asking, named in error messages.
    prefetch : int
        Evaluations to run ahead: checked to be an integer of at least 1.
    options : dict
        Evaluation options (see :class:`lazyarray.Options`) to apply.

    Returns
    -------
    dict
        Every field of :class:`lazyarray.Options`, by name.

    Raises
    ------
    TypeError, ValueError
        For a bad ``prefetch``, or an unknown option or value.

    Examples
    --------
    >>> resolved_options("iter_chunks", 2, {"workers": 3})["workers"]
    3
    >>> resolved_options("iter_chunks", 0, {})
    Traceback (most recent call last):
    ...
    ValueError: iter_chunks: prefetch must be at least 1, found 0
    """
    check_count(operation, "prefetch", prefetch, 1)
    resolved = get_options(**options)
    return {f.name: getattr(resolved, f.name) for f in fields(Options)}


def budget_share(options: dict[str, Any], prefetch: int) -> dict[str, Any]:
    """The options of each of ``prefetch`` evaluations in flight: a share of ``memory_limit``.

    The evaluations in flight (at most ``prefetch``) share ``memory_limit``
    equally, one share being left for the consumer's work.

    Parameters
    ----------
    options : dict
        Resolved options (:func:`resolved_options`), with ``memory_limit`` in bytes.
    prefetch : int
        Evaluations in flight at most.

    Returns
    -------
    dict
        ``options`` with ``memory_limit`` divided by ``prefetch + 1`` (at least 1 byte).

    Examples
    --------
    >>> budget_share({"memory_limit": 900, "workers": 2}, 2)
    {'memory_limit': 300, 'workers': 2}
    """
    return dict(options, memory_limit=max(1, options["memory_limit"] // (prefetch + 1)))


# -- slabs ----------------------------------------------------------------------------


def _batches(bounds: Sequence[int], min_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each slab between ``bounds`` (starts, then the
    length), as :func:`sklearn.utils.gen_batches` cuts its batches with
    ``min_batch_size``: a slab is kept when at least ``min_size`` elements
    follow it (or none), and the rest made one last slab.

    Examples
    --------
    >>> _batches([0, 4, 8, 10], 0)
    [(0, 4), (4, 8), (8, 10)]
    >>> _batches([0, 4, 8, 10], 3)
    [(0, 4), (4, 10)]
    >>> _batches([0, 1, 2, 3], 3)
    [(0, 3)]
    >>> _batches([0, 2], 5)
    [(0, 2)]
    """
    length = bounds[-1]
    spans = []
    start = 0
    for stop in bounds[1:]:
        if stop > start and (stop + min_size <= length or stop == length):
            spans.append((int(start), int(stop)))
            start = stop
    if start < length:
        spans.append((int(start), int(length)))
    return spans


def _bounds(length: int, size: int | None, grid: Sequence[int]) -> list[int]:
    """Where slabs begin along an axis of ``length``, then ``length``: every
    ``size`` elements, or at the blocks of ``grid`` (their lengths)."""
    if size is None:
        return [0, *itertools.accumulate(int(n) for n in grid)]
    return [*range(0, length, size), length]


def _key(ndim: int, axis: int, start: int, stop: int) -> Region:
    return (slice(None),) * axis + (slice(start, stop),) + (slice(None),) * (ndim - axis - 1)


# -- aggregations computed once ----------------------------------------------------------


def _unreached(originals: Sequence[Array], probes: Sequence[Array]) -> list[Array]:
    """The aggregations of ``originals``' graphs found unchanged in ``probes``
    (the same graphs with a slab selected): those the selection did not reach,
    which every slab would compute whole again. Not looked into: their results
    replace them."""
    aggregations = {id(n): n for n in walk(originals) if n.reduced_axes is not None}
    found: dict[int, Array] = {}
    seen: set[int] = set()
    todo = list(probes)
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in aggregations:
            found[id(node)] = node
        else:
            todo.extend(node.inputs)
    return list(found.values())


def _precompute(nodes: Sequence[Array], probe: Callable[[Array], Array], masked: bool,
                options: dict[str, Any]) -> list[Array]:
    """``nodes`` with the aggregations a slab's selection (``probe``) does not
    reach replaced by their values, computed in one evaluation where they are
    of one kind (masked or not) and two otherwise.

    Each value is what the executor itself would put in its place between
    stages: the aggregation evaluated masked when ``masked`` or when it is
    masked, wrapped by :func:`lazyarray.asarray`.
    """
    found = _unreached(nodes, [probe(n) for n in nodes])
    if not found:
        return list(nodes)
    replacements: dict[int, Array] = {}
    plain = [a for a in found if not (masked or a.masked)]
    masks = [a for a in found if masked or a.masked]
    for group, realise in ((plain, ndarrays), (masks, masked_arrays)):
        if group:
            for aggregation, value in zip(group, realise(group, **options)):
                replacements[id(aggregation)] = asarray(value)
    return [rewrite(n, replacements) for n in nodes]


def _mapped(function: Callable[[Any], Any], items: Iterator[Any]) -> Iterator[Any]:
    """``function`` of each of ``items``, a generator that closes ``items`` when closed."""
    try:
        for item in items:
            yield function(item)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


# -- read-ahead --------------------------------------------------------------------------


def read_ahead(jobs: Iterator[Callable[[], Any]], prefetch: int) -> Iterator[Any]:
    """The results of ``jobs`` in order, each run in a thread, ``prefetch`` at most ahead.

    At most ``prefetch`` jobs are started and their results not yet taken;
    the next job is started when a result is taken. Each runs in a copy of
    the consumer's context (so settings such as ``numpy.errstate`` apply).
    Closing the generator cancels the jobs not started and waits for those
    running: no thread is left behind. A job's exception is raised when its
    result is reached.

    Parameters
    ----------
    jobs : iterator of callable
        Functions of no arguments, taken from the iterator only when there is
        room for them (so it may be infinite, or lazy).
    prefetch : int
        Jobs running or done but not yet taken, at most (at least 1).

    Yields
    ------
    object
        Each job's result, in the order of ``jobs``.

    Examples
    --------
    >>> import functools
    >>> list(read_ahead((functools.partial(pow, n, 2) for n in range(5)), 2))
    [0, 1, 4, 9, 16]
    """
    pool = ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="lazyarray-iter")
    pending: collections.deque[Future[Any]] = collections.deque()
    try:
        while True:
            while len(pending) < prefetch:
                job = next(jobs, None)
                if job is None:
                    break
                # In a copy of the consumer's context, so that settings such as
                # numpy.errstate apply in the thread as where iteration began.
                pending.append(pool.submit(contextvars.copy_context().run, job))
            if not pending:
                return
            future = pending.popleft()
            try:
                value = future.result()
            finally:
                del future  # hold no finished slab but the one yielded
            yield value
            del value
    finally:
        for future in pending:
            future.cancel()
        pending.clear()
        pool.shutdown(wait=True, cancel_futures=True)


def _slabs(arrays: list[Array], axes: list[int], spans: list[tuple[int, int]], masked: bool,
           options: dict[str, Any], prefetch: int) -> Iterator[list[np.ndarray]]:
    """Each span's slabs of ``arrays`` (along their ``axes``), one evaluation a span."""
    if not spans:
        return

    ready = arrays
    if len(spans) > 1:  # with one slab, there is nothing to share
        # Probed with the first slab's selection. Nothing else runs meanwhile:
        # the aggregations have the whole budget.
        first, last = spans[0]
        probes = {id(a): a[_key(a.ndim, axis, first, last)] for a, axis in zip(arrays, axes)}
        ready = _precompute(arrays, lambda a: probes[id(a)], masked, options)
    shared = get_options(**budget_share(options, prefetch))
    # Scans (cumsum) hand their carries from one slab to the next: the slabs
    # share a store of carries, and each is evaluated once the one before is
    # done (its carries are then known; the consumer's work still overlaps).
    carries = CarryStore()
    in_order = any(node._plan_carries() for node in walk(ready))

    def jobs() -> Iterator[Callable[[], Sequence[Any]]]:
        before: threading.Event | None = None
        for start, stop in spans:
            selected = [a[_key(a.ndim, axis, start, stop)] for a, axis in zip(ready, axes)]
            job = functools.partial(evaluate, selected, [None] * len(selected), masked, shared,
                                    carries)
            if in_order:
                done = threading.Event()
                job = functools.partial(_after, before, done, job)
                before = done
            yield job

    yield from read_ahead(jobs(), prefetch)


def _after(before: threading.Event | None, done: threading.Event,
           job: Callable[[], Any]) -> Any:
    """``job()``, once ``before`` is set (the job before it has ended); then set ``done``.

    The job before was submitted earlier to the same first-in, first-out
    pool: it is running or over, never waiting for this one.
    """
    try:
        if before is not None:
            before.wait()
        return job()
    finally:
        done.set()


# -- the public functions -------------------------------------------------------------------


def iter_chunks(array: Any, axis: int = 0, size: int | None = None, *, min_size: int = 0,
                prefetch: int = 2, masked: bool = False,
                **options: Any) -> Iterator[Any]:
    """Consecutive slabs of ``array`` along ``axis``, realised, evaluated ahead.

    The slabs are ``array[..., k:k + size, ...]`` for ``k`` from 0 along the
    axis; concatenated along ``axis`` they make the array. See the module's
    description for how aggregations are computed once, and memory bounded.

    Parameters
    ----------
    array : array_like, or list or tuple of array_like
        A lazy array, or anything :func:`lazyarray.asarray` takes. A list or
        tuple is several arrays (wrap nested lists of numbers in
        ``numpy.asarray``): their aligned slabs are yielded as tuples, as
        :func:`iter_aligned_chunks` yields them.
    axis : int
        The axis along which to cut slabs.
    size : int, optional
        Length of each slab along ``axis`` (the last may be shorter). By
        default the blocks of :attr:`lazyarray.Array.chunks` along ``axis``
        (the planner's tiles of the array alone, made of whole storage
        chunks): each stored chunk is then read once.
    min_size : int
        A last slab shorter than this is merged into the one before, as
        :func:`sklearn.utils.gen_batches` does with ``min_batch_size``
        (``IncrementalPCA.fit`` passes ``n_components``).
    prefetch : int
        Slabs evaluated ahead: at most this many are in flight or waiting to
        be consumed. Each evaluation may use ``memory_limit // (prefetch + 1)``
        bytes of working memory.
    masked : bool
        Yield ``numpy.ma.MaskedArray`` slabs (as :meth:`lazyarray.Array.masked_array`).
    **options
        Evaluation options (see :class:`lazyarray.Options`), resolved when
        this is called.

    Yields
    ------
    numpy.ndarray or numpy.ma.MaskedArray
        Or a tuple of them, one per array, when ``array`` is a list or tuple.

    Raises
    ------
    lazyarray.errors.AxisError
        When ``axis`` is out of range (at once, not at the first slab).
    ValueError, TypeError
        When ``size``, ``min_size`` or ``prefetch`` are not integers in range.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(10).reshape(5, 2))
    >>> [s.shape for s in iter_chunks(x, size=2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> [s.shape for s in iter_chunks(x, size=2, min_size=2)]
    [(2, 2), (3, 2)]
    >>> [s.tolist() for s in iter_chunks(x, axis=1, size=1)]
    [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]]
    >>> m = la.asarray(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]))
    >>> [s.tolist() for s in iter_chunks(m, size=2, masked=True)]
    [[1, None], [3]]
    >>> [(a.shape, b.shape) for a, b in iter_chunks([x, x[:, 0]], size=3)]
    [((3, 2), (3,)), ((2, 2), (2,))]
    """
    if isinstance(array, (list, tuple)):  # several arrays: aligned slabs, as tuples
        return iter_aligned_chunks(array, axis, size, min_size=min_size, prefetch=prefetch,
                                   masked=masked, **options)
    slabs = _aligned("iter_chunks", [array], axis, size, min_size, prefetch, masked, options)
    return _mapped(lambda slab: slab[0], slabs)


def iter_aligned_chunks(arrays: Sequence[Any], axis: int = 0, size: int | None = None, *,
                        min_size: int = 0, prefetch: int = 2, masked: bool = False,
                        **options: Any) -> Iterator[tuple[np.ndarray, ...]]:
    """Aligned slabs of several arrays of one length along ``axis``, as tuples.

    Like :func:`iter_chunks`, for arrays used together (features and
    labels): the slabs of one step are evaluated together, in one call, so
    sources they share are read once; aggregations are computed once for
    them all.

    Parameters
    ----------
    arrays : sequence of array_like
        Of the same length along ``axis`` (their other axes may differ).
    axis : int
        The axis, of each array, along which to cut slabs.
    size : int, optional
        Length of the slabs along ``axis``. By default the blocks of
        :attr:`lazyarray.Array.chunks` of the array of most bytes.
    min_size, prefetch, masked, **options
        As for :func:`iter_chunks`.
    Yields
    ------
    tuple of numpy.ndarray
        One slab of each array, in the order of ``arrays``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(8.0).reshape(4, 2))
    >>> y = x.sum(axis=1) > 4
    >>> [(a.shape, b.tolist()) for a, b in iter_aligned_chunks([x, y], size=3)]
    [((3, 2), [False, True, True]), ((1, 2), [True])]
    """
    slabs = _aligned("iter_aligned_chunks", arrays, axis, size, min_size, prefetch, masked,
                     options)
    return _mapped(tuple, slabs)


def _aligned(operation: str, arrays: Sequence[Any], axis: int, size: int | None,
             min_size: int, prefetch: int, masked: bool,
             options: dict[str, Any]) -> Iterator[list[np.ndarray]]:
    """The slabs of :func:`iter_aligned_chunks`, as lists; arguments checked now."""
    if isinstance(arrays, (Array, np.ndarray)):
        raise TypeError(f"{operation}: expected a sequence of arrays; wrap a single array "
                        "in a list")
    nodes = [asarray(a) for a in arrays]
    if not nodes:
        raise ValueError(f"{operation}: expected at least one array, found none")
    axes = [normalise_axis(axis, n.ndim, operation) for n in nodes]
    lengths = {n.shape[a] for n, a in zip(nodes, axes)}
    if len(lengths) > 1:
        raise ShapeError(f"{operation}: the arrays must have one length along axis {axis}, "
                         f"found {[n.shape[a] for n, a in zip(nodes, axes)]}")
    length = lengths.pop()
    if size is not None:
        size = check_count(operation, "size", size, 1)
    min_size = check_count(operation, "min_size", min_size, 0)
    given = resolved_options(operation, prefetch, options)
    if size is None:
        widest = max(range(len(nodes)), key=lambda i: nodes[i].nbytes)
        grid = block_grid(nodes[widest], get_options(**options))[axes[widest]]
    else:
        grid = ()
    spans = _batches(_bounds(length, size, grid), min_size)
    return _slabs(nodes, axes, spans, masked, given, int(prefetch))


def iter_blocks(array: Any, *, prefetch: int = 2, masked: bool = False,
                **options: Any) -> Iterator[tuple[Region, np.ndarray]]:
    """The blocks of ``array`` with where they lie, realised, evaluated ahead.

    The blocks are the planner's tiles of the array alone
    (:attr:`lazyarray.Array.chunks`), made of whole storage chunks where the
    sources have them, in C order. Aggregations, read-ahead and memory are
    as for :func:`iter_chunks`.

    Parameters
    ----------
    array : array_like
    prefetch : int
        Blocks evaluated ahead (see :func:`iter_chunks`).
    masked : bool
        Yield ``numpy.ma.MaskedArray`` blocks.
    **options
        Evaluation options (see :class:`lazyarray.Options`).

    Yields
    ------
    region : tuple of slice
        Where the block lies in ``array``, one slice per axis.
    block : numpy.ndarray or numpy.ma.MaskedArray
        ``array[region]``, realised.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(6.0).reshape(3, 2))
    >>> for region, block in iter_blocks(x * 2, chunk_bytes=16):
    ...     print(region, block.tolist())
    (slice(0, 1, None), slice(0, 2, None)) [[0.0, 2.0]]
    (slice(1, 2, None), slice(0, 2, None)) [[4.0, 6.0]]
    (slice(2, 3, None), slice(0, 2, None)) [[8.0, 10.0]]
    """
    node = asarray(array)
    given = resolved_options("iter_blocks", prefetch, options)
    grid = block_grid(node, get_options(**options))
    spans = [[slice(a, b) for a, b in itertools.pairwise(bounds)]
             for bounds in (_bounds(n, None, lengths) for n, lengths in zip(node.shape, grid))]
    regions = [tuple(r) for r in itertools.product(*spans)]
    return _blocks(node, regions, masked, given, int(prefetch))


def _blocks(node: Array, regions: list[Region], masked: bool, options: dict[str, Any],
            prefetch: int) -> Iterator[tuple[Region, np.ndarray]]:
    if len(regions) > 1:
        [node] = _precompute([node], lambda n: n[regions[0]], masked, options)
    options = budget_share(options, prefetch)
    evaluate: Callable[..., Sequence[np.ndarray]] = masked_arrays if masked else ndarrays

    def block(region: Region, selected: Array) -> tuple[Region, np.ndarray]:
        return region, evaluate([selected], **options)[0]

    def jobs() -> Iterator[Callable[[], tuple[Region, np.ndarray]]]:
        for region in regions:
            yield functools.partial(block, region, node[region])

    yield from read_ahead(jobs(), prefetch)
