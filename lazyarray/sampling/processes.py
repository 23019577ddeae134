"""Reading batches in ``spawn`` processes, handed over through shared memory.

pescador's background streaming (``ZMQStreamer``) without its TCP socket:

1. The inputs' graph is pickled once (graphs of files pickle by path,
   :mod:`lazyarray.pickling`) and given to ``processes`` processes, started
   with ``spawn`` (no fork of the consumer's threads or open files).
2. The consumer sends each job (a batch's rows, or the blocks to read for
   it: :class:`~lazyarray.sampling.plans.BatchJob`) to process
   ``number % processes``, with the name of a free shared-memory slot the
   process writes the values into; a slot too small for a job is replaced
   by a larger one before the job is sent. The slots bound what is in
   flight: ``prefetch`` jobs per process.
3. The consumer takes the values in job order, copies them out of the slot
   and frees it. An error in a process is raised in the consumer at that job.
4. Closing (the consumer's ``break``, an error) tells the processes to stop,
   waits for them (and ends those that do not stop), and frees the slots.
"""

from __future__ import annotations

import collections
import os
import pickle
import queue
import time
from collections.abc import Iterator, Sequence
from multiprocessing import get_context
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from ..errors import portable
from .plans import BatchJob
from .reading import read_job

__all__ = ["read_in_processes"]

#: Where each array starts in a slot: a multiple of this, in bytes.
_ALIGN = 64
#: How long the consumer waits for a result before checking the processes live, in seconds.
_POLL = 0.5


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _serve(payload: bytes, tasks: Any, results: Any, stop: Any) -> None:
    """A reading process: read each job sent on ``tasks`` into its slot; ``None`` ends."""
    try:
        arrays, axes, options, plain = pickle.loads(payload)
        failed: BaseException | None = None
    except BaseException as error:  # noqa: BLE001 - a file gone, say: told at every job
        failed = error
    while True:
        message = tasks.get()
        if message is None or stop.is_set():
            return
        number, job, slot = message
        try:
            if failed is not None:
                raise failed
            values = read_job(arrays, axes, job, options, plain)
            memory = SharedMemory(name=slot)
            try:
                layout = []
                offset = 0
                for value in values:
                    view = np.ndarray(value.shape, value.dtype, buffer=memory.buf, offset=offset)
                    view[...] = value
                    del view  # no export of the buffer may outlive it
                    layout.append((value.shape, value.dtype.str, offset))
                    offset += _aligned(value.nbytes)
            finally:
                memory.close()
            results.put((number, layout, None))
        except BaseException as error:  # noqa: BLE001 - sent to the consumer, raised there
            where = f"iter_batches reading process {os.getpid()}"
            results.put((number, None, portable(error, where)))


def read_in_processes(jobs: Iterator[BatchJob], payload: bytes, job_bytes: Any,
                      processes: int, prefetch: int
                      ) -> Iterator[tuple[BatchJob, list[np.ndarray]]]:
    """Each of ``jobs`` with the values read for it, in order, read by ``processes``
    processes (see the module's steps).

    Parameters
    ----------
    jobs : iterator of BatchJob
    payload : bytes
        What each process reads, and how (:func:`payload_of`).
    job_bytes : callable
        A job's values' bytes, each array's rounded up to a multiple of 64.
    processes, prefetch : int
    """
    context = get_context("spawn")
    stop = context.Event()
    tasks = [context.Queue() for _ in range(processes)]
    results = context.Queue()
    workers = [context.Process(target=_serve, args=(payload, tasks[i], results, stop),
                               name=f"lazyarray-sampling-{i}", daemon=True)
               for i in range(processes)]
    slots: list[SharedMemory] = []
    free: list[SharedMemory] = []
    pending: collections.deque[tuple[BatchJob, SharedMemory]] = collections.deque()
    done: dict[int, tuple[Any, BaseException | None]] = {}
    try:
        for worker in workers:
            worker.start()
        while True:
            while len(pending) < prefetch * processes:
                job = next(jobs, None)
                if job is None:
                    break
                slot = free.pop() if free else None
                size = max(1, job_bytes(job))
                if slot is None or slot.size < size:
                    if slot is not None:
                        slots.remove(slot)
                        slot.close()
                        slot.unlink()
                    slot = SharedMemory(create=True, size=size)
                    slots.append(slot)
                tasks[job.number % processes].put((job.number, job, slot.name))
                pending.append((job, slot))
            if not pending:
                return
            job, slot = pending.popleft()
            while job.number not in done:
                try:
                    number, layout, error = results.get(timeout=_POLL)
                except queue.Empty:
                    dead = [w for w in workers if w.exitcode is not None]
                    if dead:
                        raise RuntimeError(
                            f"iter_batches: reading process {dead[0].name} ended with exit "
                            f"code {dead[0].exitcode}") from None
                    continue
                done[number] = (layout, error)
            layout, error = done.pop(job.number)
            if error is not None:
                raise error
            values = [np.ndarray(shape, np.dtype(dtype), buffer=slot.buf, offset=offset).copy()
                      for shape, dtype, offset in layout]
            free.append(slot)
            yield job, values
            del values
    finally:
        stop.set()
        for task in tasks:
            task.put(None)
        # Results not taken are drained while waiting: a process exits only
        # once what it put is in the pipe.
        deadline = time.monotonic() + 5
        started = [w for w in workers if w.pid is not None]
        while any(w.is_alive() for w in started) and time.monotonic() < deadline:
            try:
                results.get(timeout=0.05)
            except queue.Empty:
                pass
        for worker in started:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        for q in [*tasks, results]:
            q.cancel_join_thread()
            q.close()
        for slot in slots:
            slot.close()
            slot.unlink()


def payload_of(arrays: Sequence[Any], axes: Sequence[int], options: dict[str, Any],
               plain: Sequence[bool]) -> bytes:
    """The pickled inputs of the reading processes (the arguments of
    :func:`~lazyarray.sampling.reading.read_job` but the job); a ``TypeError``
    if they do not pickle."""
    try:
        return pickle.dumps((list(arrays), list(axes), options, list(plain)))
    except Exception as error:
        raise TypeError(
            "iter_batches: with processes, the arrays (and options) must pickle to be sent to "
            f"the reading processes, and they do not: {error}. Build them from files "
            "(la.open_dataset), which pickle by path, or use processes=0") from error
