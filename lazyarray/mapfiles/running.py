"""Running the tasks of :func:`~lazyarray.mapfiles.map_files`: here, or in a pool of processes.

Step 5 of :mod:`lazyarray.mapfiles`: :func:`run_serial` runs every task in
the caller's process (``processes=0``), :func:`run_pool` in ``spawn``
workers, at most one queued per worker; both report progress over inputs
(:class:`Reporter`) and follow the ``errors`` policy: ``"collect"`` reports
each failure in its input's result, ``"raise"`` stops the inputs not
started, cancels those running and raises the first failure.

Examples
--------
Two inputs given as arrays, in this process, the second failing:

>>> import numpy as np, lazyarray as la
>>> from lazyarray.mapfiles.inputs import Job, resolve
>>> job = Job(lambda t: (None, {"sum": la.sum(t) + t.shape[1]}), (), (), False)
>>> tasks = [resolve(n, a, None, None, "") for n, a in enumerate([np.ones((2, 3)), np.ones(2)])]
>>> first, second = run(job, tasks, 0, {}, "collect", False)
>>> float(first.meta["sum"]), type(second.error).__name__
(9.0, 'IndexError')
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..execution import Progress
from .inputs import OPERATION, Job, Task
from .results import FileResult
from .worker import run_task, start_worker, work

__all__ = ["GRACE", "Reporter", "run", "run_pool", "run_serial"]

#: Seconds the workers get to stop after a failure (``errors="raise"``)
#: before they are terminated.
GRACE = 30.0


class Reporter:
    """Progress over inputs: a tqdm bar, or ``Progress`` events counting inputs.

    Parameters
    ----------
    progress : bool or callable
        As given to :func:`map_files`.
    total : int
        The number of inputs.

    Examples
    --------
    >>> events = []
    >>> reporter = Reporter(events.append, 2)
    >>> reporter.advance()
    >>> [(e.done, e.total) for e in events]
    [(0, 2), (1, 2)]
    """

    def __init__(self, progress: Any, total: int):
        self._bar: Any = None
        self._callback = progress if callable(progress) else None
        self._done, self._total, self._start = 0, total, time.perf_counter()
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="file", desc=OPERATION)
        elif self._callback is not None:
            self._callback(Progress(0, total, 0.0))

    def advance(self) -> None:
        """One more input is done."""
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        if self._callback is not None:
            self._callback(Progress(self._done, self._total, time.perf_counter() - self._start))

    def close(self) -> None:
        """Close the bar, if any."""
        if self._bar is not None:
            self._bar.close()


def _failed(task: Task, error: BaseException) -> FileResult:
    return FileResult(task.given, None, {}, error, 0.0, None)


def _raise(result: FileResult, task: Task) -> None:
    error = result.error
    assert error is not None
    error.add_note(f"{OPERATION}: input {task.index} ({task.given!r}) failed")
    raise error


def run_serial(job: Job, tasks: Sequence[Task], options: dict[str, Any], errors: str,
               reporter: Reporter) -> list[FileResult]:
    """Run the tasks one after the other in this process, exactly as a worker would."""
    results = []
    for task in tasks:
        result = run_task(job, task, options, measure=False, pickled=False)
        results.append(result)
        reporter.advance()
        if result.error is not None and errors == "raise":
            _raise(result, task)
    return results


def run_pool(job: Job, tasks: Sequence[Task], processes: int, options: dict[str, Any],
             errors: str, reporter: Reporter) -> list[FileResult]:
    """Run the tasks in ``processes`` spawned workers, at most one queued per worker."""
    context = multiprocessing.get_context("spawn")
    cancel = context.Event()
    results: list[FileResult | None] = [None] * len(tasks)
    pending = deque(tasks)
    running: dict[Future[FileResult], Task] = {}
    failure: tuple[FileResult, Task] | None = None
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=start_worker,
                               initargs=(cancel,))
    clean = False
    finished = 0  # tasks the current pool finished
    try:
        while pending or running:
            # Submitting only what the workers can start keeps the inputs not
            # started here, so stopping them is forgetting them.
            while pending and len(running) < processes:
                task = pending.popleft()
                running[pool.submit(work, job, task, options)] = task
            done, _ = wait(running, timeout=None if failure is None else GRACE,
                           return_when=FIRST_COMPLETED)
            if not done:
                break  # workers that do not stop within GRACE are terminated below
            broken = False
            for future in done:
                task = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as error:
                    broken = True
                    result = _failed(task, RuntimeError(
                        f"{OPERATION}: input {task.index}: its worker process died ({error})"))
                except Exception as error:  # noqa: BLE001 - e.g. the result did not pickle back
                    result = _failed(task, error)
                results[task.index] = result
                reporter.advance()
                if result.error is not None and errors == "raise" and failure is None:
                    failure = (result, task)
                    cancel.set()
                    pending.clear()
            finished += sum(1 for future in done if not future.exception())
            if broken:
                # A worker died (killed, out of memory): every task in the pool
                # fails with it. The inputs not yet run get a new pool, unless
                # this one finished nothing: then workers cannot run at all (a
                # script without the ``if __name__ == "__main__":`` guard, say)
                # and they fail too, rather than a pool being started for each.
                lost = list(running.values())
                if not finished:
                    lost += list(pending)
                    pending.clear()
                for task in lost:
                    results[task.index] = _failed(task, RuntimeError(
                        f"{OPERATION}: input {task.index}: a worker process died"))
                    reporter.advance()
                running.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                if pending:
                    finished = 0
                    pool = ProcessPoolExecutor(processes, mp_context=context,
                                               initializer=start_worker, initargs=(cancel,))
        clean = not running
    finally:
        if not clean:
            cancel.set()
            # Still running after GRACE, or interrupted: stop the workers.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        _raise(*failure)
    return results  # type: ignore[return-value]  # every entry is filled


def run(job: Job, tasks: Sequence[Task], processes: int, options: dict[str, Any],
        errors: str, progress: Any) -> list[FileResult]:
    """Run the tasks here (``processes=0``) or in a pool, reporting ``progress``.

    Parameters
    ----------
    job : Job
    tasks : sequence of Task
    processes : int
        Worker processes; ``0`` runs every task here (without progress
        events inside its evaluation).
    options : dict
        The evaluation options of each task.
    errors : {"collect", "raise"}
    progress : bool or callable
        As given to :func:`map_files`.

    Returns
    -------
    list of FileResult
        One per task, in the order of ``tasks``.
    """
    reporter = Reporter(progress, len(tasks))
    try:
        if processes == 0:
            return run_serial(job, tasks, dict(options, progress=False), errors, reporter)
        return run_pool(job, tasks, min(processes, len(tasks)), options, errors, reporter)
    finally:
        reporter.close()
