"""Batches sampled across arrays and mosaics of many files: :func:`iter_batches`.

pescador's working set of streams (``StochasticMux``), over lazy arrays and
the mosaics of files (:class:`~lazyarray.LinearMosaic`,
:func:`~lazyarray.concatenate`) that hold a data set, with reads in whole
storage chunks or in proportion to the rows, in threads or in processes.

1. **Layout** (:mod:`.layout`). The rows (positions along ``axis``) are cut
   into *members* (where a tile of any input that is a mosaic along
   ``axis`` ends: a file, usually) and members into *blocks* (whole storage
   chunks along ``axis``, about ``chunk_bytes`` of all the inputs' rows).
2. **Plan** (:mod:`.plans`). From ``seed`` alone, in the consumer, an epoch
   at a time: the order of the rows (every row once), cut into batches, and
   for the ``"blocks"`` shuffle which blocks each batch reads first and
   after which batch each block is dropped. Nothing random happens
   elsewhere, so neither ``workers`` nor ``processes`` changes a batch.
3. **Reads** (:mod:`.reading`). ``prefetch`` batches ahead, in threads
   (:func:`lazyarray.iteration` read-ahead) or in ``processes`` spawned
   processes handing their values over through shared memory
   (:mod:`.processes`). A batch read row by row is read sorted (the mosaic
   splits it by member), then put back in its order: from arrays stored
   without encoded chunks as runs of consecutive rows, which read only the
   rows' bytes; from the others as one orthogonal index list, which reads
   each chunk the batch needs once. A ``"blocks"`` batch reads the blocks it
   is the first to need, whole. The evaluations run with ``max_open_files`` in force: the
   open-file cache (:mod:`lazyarray.files`) keeps to it.
4. **Batches**. ``"blocks"`` batches are gathered in the consumer from the
   blocks in the working set (:class:`.reading.WorkingSet`); the others are
   the values read. Closing the generator stops the threads or processes.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.concatenate([np.arange(6), np.arange(100, 104)])
>>> [b.tolist() for b in iter_batches(x, 4, shuffle=False)]
[[0, 1, 2, 3], [4, 5, 100, 101], [102, 103]]
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..adapters import asarray
from ..arguments import check_count, check_flag
from ..array import Array
from ..axes import normalise_axis
from ..errors import ShapeError
from ..iteration import budget_share, read_ahead, resolved_options
from .layout import Layout, find_layout, row_bytes
from .plans import BatchJob, epoch_jobs
from .processes import payload_of, read_in_processes
from .reading import WorkingSet, is_plain, read_job

__all__ = ["iter_batches"]

_SHUFFLES = ("blocks", "rows", False)


def iter_batches(arrays: Any, batch_size: int, *, axis: int = 0,
                 shuffle: str | bool = "blocks", seed: Any = None, n_active: int = 8,
                 weights: Sequence[float] | np.ndarray | None = None, epochs: int = 1,
                 drop_last: bool = False, prefetch: int = 2, processes: int = 0,
                 max_open_files: int = 64, **options: Any) -> Iterator[Any]:
    """Batches of rows drawn at random from arrays (mosaics of many files), every row
    once per epoch, read ahead.

    See the module's description for the steps.

    Parameters
    ----------
    arrays : array_like, or list or tuple of array_like
        A lazy array (or anything :func:`lazyarray.asarray` takes), or several
        of one length along ``axis`` (features and labels), whose batches are
        yielded together, as tuples, with the same rows.
    batch_size : int
        Rows in a batch (the last of an epoch may have fewer).
    axis : int
        The axis of the rows, of every array.
    shuffle : {"blocks", "rows", False}
        ``"blocks"`` (default): blocks of whole storage chunks (within one
        member) are read whole into a working set of ``n_active`` blocks,
        and each next row is drawn uniformly among the rows left in the
        working set; a block used up is replaced by the next, drawn among
        the blocks left. Reads are whole chunks, each once an epoch.
        ``"rows"``: a uniform random permutation of all rows; each batch's
        rows are read (sorted, grouped by member) with orthogonal index
        lists, in proportion to the rows: a needed chunk once per batch,
        and only the rows needed of a chunk stored without compression.
        ``False``: in order.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Decides every batch (``None``: fresh entropy). A Generator is drawn
        from as epochs begin.
    n_active : int
        Blocks in the working set (``"blocks"``).
    weights : sequence of float, optional
        One positive weight per member (a tile of the inputs that are a
        :class:`~lazyarray.LinearMosaic` along ``axis``, such as one file;
        one member when none is). Every row is still yielded exactly once
        per epoch, so weights decide *when* a member's rows come, not how
        many: ``"rows"``: each next row is drawn among the rows left with
        probability proportional to its member's weight; ``"blocks"``: each
        next block entering the working set is drawn among the blocks left
        with probability proportional to its member's weight. A member of
        twice the weight is so drawn from about twice as often as one with
        as many rows (blocks) left, and is used up earlier. Equal weights
        are the same as none. Not with ``shuffle=False``.
    epochs : int
        Passes over the data, each with a new order from the same generator.
    drop_last : bool
        Drop the last batch of each epoch if it is short.
    prefetch : int
        Batches read ahead (per process, with ``processes``) while the
        consumer works. Each read may use ``memory_limit // (prefetch + 1)``
        bytes of working memory. ``"blocks"`` keeps besides the blocks of
        the working set: about ``n_active`` times ``chunk_bytes``.
    processes : int
        ``0``: read in threads of this process. ``1`` or more: in that many
        ``spawn`` processes (the arrays must pickle: arrays of files pickle
        by path), batches handed over through shared memory; each process
        reads whole batches, in turn, and the batches are those of
        ``processes=0``.
    max_open_files : int
        Files the reads keep open at most (shared among the processes).
    **options
        Evaluation options (see :class:`lazyarray.Options`): ``workers``
        (threads per read), ``chunk_bytes`` (the size of blocks),
        ``memory_limit``...

    Yields
    ------
    numpy.ndarray, or tuple of numpy.ndarray
        A batch, of each array when ``arrays`` is a list or tuple.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or out of range, before anything is read.
    lazyarray.errors.ShapeError
        When the arrays differ in length along ``axis``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(10))
    >>> [b.tolist() for b in iter_batches(x, 4, shuffle=False)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> pairs = list(iter_batches([x, x * 10], 4, shuffle="rows", seed=0, drop_last=True))
    >>> [a.shape for a, _ in pairs], all((b == a * 10).all() for a, b in pairs)
    ([(4,), (4,)], True)
    >>> rows = np.concatenate(list(iter_batches(x, 3, seed=1, epochs=2)))
    >>> sorted(rows.tolist()) == sorted(list(range(10)) * 2)
    True
    >>> iter_batches(x, 0)
    Traceback (most recent call last):
    ...
    ValueError: iter_batches: batch_size must be at least 1, found 0
    """
    operation = "iter_batches"
    single = not isinstance(arrays, (list, tuple))
    nodes = [asarray(a) for a in ([arrays] if single else arrays)]
    if not nodes:
        raise ValueError(f"{operation}: expected at least one array, found an empty "
                         f"{type(arrays).__name__}")
    for i, node in enumerate(nodes):
        if node.ndim == 0:
            raise ShapeError(f"{operation}: array {i} is 0-d; batches need an axis of rows")
    axes = [normalise_axis(axis, n.ndim, operation) for n in nodes]
    lengths = [n.shape[a] for n, a in zip(nodes, axes)]
    if len(set(lengths)) > 1:
        raise ShapeError(f"{operation}: the arrays must have one length along axis {axis}, "
                         f"found {lengths}")
    batch_size = check_count(operation, "batch_size", batch_size, 1)
    if not any(shuffle is s or (isinstance(s, str) and shuffle == s) for s in _SHUFFLES):
        raise ValueError(f"{operation}: shuffle must be 'blocks', 'rows' or False, "
                         f"found {shuffle!r}")
    n_active = check_count(operation, "n_active", n_active, 1)
    epochs = check_count(operation, "epochs", epochs, 1)
    drop_last = check_flag(operation, "drop_last", drop_last)
    processes = check_count(operation, "processes", processes, 0)
    max_open_files = check_count(operation, "max_open_files", max_open_files, 1)
    given = resolved_options(operation, prefetch, options)
    rng = _generator(seed)
    layout = find_layout(nodes, axes, given["chunk_bytes"])
    chosen = _weights(weights, layout, shuffle)
    jobs = epoch_jobs(rng, layout, shuffle, batch_size, drop_last, chosen, n_active,
                      epochs)
    plain = [is_plain(n) for n in nodes]
    if processes:
        # Each process reads one batch at a time; the files open are shared out.
        in_process = dict(budget_share(given, processes), progress=False,
                          max_open_files=max(1, max_open_files // processes))
        payload = payload_of(nodes, axes, in_process, plain)
        sizes = [row_bytes(n, a) for n, a in zip(nodes, axes)]
        stream = read_in_processes(jobs, payload, functools.partial(_job_bytes, sizes),
                                   processes, int(prefetch))
    else:
        in_thread = dict(budget_share(given, int(prefetch)), max_open_files=max_open_files)
        stream = read_ahead(
            (functools.partial(_read, nodes, axes, job, in_thread, plain) for job in jobs),
            int(prefetch))
    return _batches(stream, axes, single)


def _generator(seed: Any) -> np.random.Generator:
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"iter_batches: seed must be None, an int, a numpy SeedSequence or "
                        f"Generator, found {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise TypeError(f"iter_batches: seed must be None, a non-negative int, a numpy "
                        f"SeedSequence or Generator, found {seed!r}") from error


def _weights(weights: Any, layout: Layout, shuffle: str | bool) -> np.ndarray | None:
    """``weights`` checked: one positive finite float per member."""
    if weights is None:
        return None
    if shuffle is False:
        raise ValueError("iter_batches: weights need a shuffle ('blocks' or 'rows'); "
                         "with shuffle=False the rows come in order")
    try:
        found = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"iter_batches: weights must be a sequence of numbers, one per member, "
                        f"found {weights!r}") from error
    if found.shape != (layout.members,):
        raise ValueError(f"iter_batches: weights must have one value per member of the mosaic "
                         f"({layout.members} members along the axis), found shape {found.shape}")
    if not (np.isfinite(found).all() and (found > 0).all()):
        raise ValueError(f"iter_batches: weights must be positive and finite, found "
                         f"{found.tolist()}")
    # Equal weights are no weights: the same batches as without, not only the same law.
    return None if (found == found[0]).all() else found


def _job_bytes(sizes: Sequence[int], job: BatchJob) -> int:
    """Bytes of a job's values in a shared-memory slot, each array's aligned to 64."""
    spans = [b - a for a, b in job.blocks] if job.from_blocks else [len(job.rows)]
    return sum(-(-(n * size) // 64) * 64 for n in spans for size in sizes)


def _read(arrays: Sequence[Array], axes: Sequence[int], job: BatchJob,
          options: dict[str, Any], plain: Sequence[bool]) -> tuple[BatchJob, list[np.ndarray]]:
    return job, read_job(arrays, axes, job, options, plain)


def _batches(stream: Iterator[tuple[BatchJob, list[np.ndarray]]], axes: Sequence[int],
             single: bool) -> Iterator[Any]:
    """The batches of the values read, gathered from the working set where they are blocks."""
    working = WorkingSet(axes)
    try:
        for job, values in stream:
            batch = working.gather(job, values) if job.from_blocks else values
            del values
            yield batch[0] if single else tuple(batch)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
