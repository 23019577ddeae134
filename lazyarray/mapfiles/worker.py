"""One input of :func:`~lazyarray.mapfiles.map_files`, run in a worker process (or here).

:func:`run_task` runs the ``pre`` callables, opens the input lazily, builds
``fn``'s graph, then saves the returned arrays and computes the lazy values
of the metadata in one evaluation (:func:`save_and_compute`), and runs the
``post`` callables; its time and peak memory growth are measured. A worker
process is started by :func:`start_worker` with the pool's cancel event, and
runs :func:`work` for each task: the evaluation stops at its next tile once
the event is set (:func:`stop_if_cancelled`).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> from lazyarray.mapfiles.inputs import Job, resolve
>>> job = Job(lambda data: (None, {"max": la.max(data["t"])}), (), (), False)
>>> task = resolve(0, {"t": np.arange(4.0)}, None, None, "")
>>> result = run_task(job, task, {}, measure=False, pickled=False)
>>> result.ok, float(result.meta["max"]), result.output
(True, 3.0, None)
"""

from __future__ import annotations

import gc
import os
import pickle
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..adapters import asarray, open_dataset
from ..array import Array
from ..errors import portable
from ..execution import Progress, ndarrays
from ..options import set_options
from ..writers import to_hdf5, to_zarr
from .inputs import OPERATION, ZARR_SUFFIXES, Job, Task
from .results import FileResult, MapFilesCancelled

__all__ = [
    "build",
    "open_input",
    "run_pre",
    "run_task",
    "save_and_compute",
    "start_worker",
    "stop_if_cancelled",
    "work",
]


def open_input(task: Task) -> Any:
    """What ``fn`` receives: the lazy array, or a dict of them (several variables)."""
    if task.graph is not None:
        if isinstance(task.graph, Mapping):
            return {k: asarray(v) for k, v in task.graph.items()}
        return asarray(task.graph)
    assert task.path is not None
    if os.path.isdir(task.path):
        import zarr  # Zarr's import is slow (lazyarray.foreign): only Zarr inputs need it

        node: Any = zarr.open(task.path, mode="r")

        def one(name: str | None) -> Array:
            return asarray(node if name is None else node[name])
    else:
        def one(name: str | None) -> Array:
            assert name is not None
            return open_dataset(task.path, name)  # type: ignore[arg-type]
    if isinstance(task.variables, tuple):
        return {name: one(name) for name in task.variables}
    return one(task.variables)


def run_pre(job: Job, given: Any) -> dict[str, Any] | None:
    """The keywords for ``fn`` that the ``pre`` callables return, or ``None`` to skip."""
    keywords: dict[str, Any] = {}
    for n, pre in enumerate(job.pre):
        answer = pre(given)
        if answer is None:
            return None
        if not isinstance(answer, Mapping):
            raise TypeError(f"{OPERATION}: pre[{n}] must return None (skip) or a dict of "
                            f"keywords for fn, found {type(answer).__name__}")
        keywords.update(answer)
    return keywords


def build(job: Job, task: Task, keywords: dict[str, Any]) -> tuple[dict[str, Array],
                                                                  dict[str, Any]]:
    """``fn``'s arrays to save (by dataset name) and its metadata, checked."""
    answer = job.fn(open_input(task), **keywords)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise TypeError(f"{OPERATION}: fn must return (arrays, meta): arrays None, an array "
                        f"or a dict of arrays, meta a dict or None; found {type(answer).__name__}")
    arrays, meta = answer
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"{OPERATION}: fn's meta must be a dict or None, "
                        f"found {type(meta).__name__}")
    if arrays is None:
        named: dict[str, Any] = {}
    elif isinstance(arrays, Mapping):
        named = dict(arrays)
    else:
        named = {task.default_name: arrays}
    for name, value in named.items():
        if not isinstance(name, str):
            raise TypeError(f"{OPERATION}: fn's arrays must be named by str, found {name!r}")
        named[name] = asarray(value)
    return named, dict(meta)


def save_and_compute(job: Job, task: Task, arrays: dict[str, Array], meta: dict[str, Any],
                     options: dict[str, Any]) -> str | None:
    """Save ``arrays`` and compute ``meta``'s lazy values in one evaluation; the output.

    ``meta``'s lazy values are replaced by their values (0-d ones as numpy
    scalars). The output is ``None`` when there are no arrays to save.
    """
    lazy = [k for k, v in meta.items() if isinstance(v, Array)]
    compute = [meta[k] for k in lazy]
    output = None
    if arrays:
        if task.output is None:
            raise ValueError(f"{OPERATION}: fn returned arrays to save for input {task.index}, "
                             "a lazy array: give outdir to say where they go")
        output = task.output
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        if Path(output).suffix.lower() in ZARR_SUFFIXES:
            if len(arrays) != 1:
                raise ValueError(f"{OPERATION}: a Zarr output ({output!r}) holds one array; "
                                 f"fn returned {len(arrays)} ({', '.join(arrays)}): use an "
                                 "HDF5 outname (.h5) for several")
            [array] = arrays.values()
            values = to_zarr(output, array, compute=compute, overwrite=job.overwrite, **options)
        else:
            values = to_hdf5(output, arrays, compute=compute, overwrite=job.overwrite, **options)
    else:
        values = ndarrays(compute, **options) if compute else []
    for key, value in zip(lazy, values):
        meta[key] = value[()] if np.ndim(value) == 0 else value
    return output


def _status() -> tuple[int, int] | None:
    """Resident memory and its high-water mark, in bytes (Linux), or ``None``."""
    try:
        with open("/proc/self/status") as f:
            found = {line.split(":")[0]: int(line.split()[1]) * 1024
                     for line in f if line.startswith(("VmRSS:", "VmHWM:"))}
        return found["VmRSS"], found["VmHWM"]
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _reset_peak() -> int | None:
    """Reset this process's high-water mark; its resident memory now, or ``None``."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # 5: reset the peak resident set size (Linux 4.0+)
    except OSError:
        return None
    status = _status()
    return None if status is None else status[0]


def run_task(job: Job, task: Task, options: dict[str, Any], measure: bool,
             pickled: bool) -> FileResult:
    """Run one task here: pre, open, fn, save and compute, post; timed and measured.

    Parameters
    ----------
    job : Job
    task : Task
    options : dict
        Evaluation options of the task.
    measure : bool
        Measure the peak growth of resident memory (resets this process's
        high-water mark: only in a worker process).
    pickled : bool
        The result is pickled back to the caller: its error is made
        portable (:func:`lazyarray.errors.portable`) and its meta must pickle.

    Returns
    -------
    FileResult
        The failure, if any, in its ``error``: nothing but ``BaseException``
        that are not ``Exception`` (``KeyboardInterrupt``) is raised.
    """
    start = time.perf_counter()
    base = None
    if measure:
        gc.collect()
        base = _reset_peak()
    meta: dict[str, Any] = {}
    output = None
    error: BaseException | None = None
    skipped = False
    try:
        if _CANCEL is not None and _CANCEL.is_set():
            raise MapFilesCancelled(f"{OPERATION}: input {task.index} not started: "
                                    "another input failed")
        with set_options(**options):
            keywords = run_pre(job, task.given)
            if keywords is None:
                skipped = True
            else:
                arrays, meta = build(job, task, keywords)
                output = save_and_compute(job, task, arrays, meta, options)
                for n, post in enumerate(job.post):
                    extra = post(meta, task.given, output)
                    if extra is None:
                        continue
                    if not isinstance(extra, Mapping):
                        raise TypeError(f"{OPERATION}: post[{n}] must return a dict or None, "
                                        f"found {type(extra).__name__}")
                    meta.update(extra)
        if pickled:
            try:
                pickle.dumps(meta)
            except Exception as failure:
                raise TypeError(f"{OPERATION}: the meta of input {task.index} does not pickle "
                                f"back from the worker: {failure!r}") from failure
    except Exception as failure:  # noqa: BLE001 - reported in the result; Ctrl-C stops all
        # The output stays reported if it was published (a later step failed):
        # it is complete, and the caller may want to remove it.
        error = portable(failure, f"{OPERATION} worker {os.getpid()}") if pickled else failure
        meta = {}
    peak = None
    if base is not None:
        status = _status()
        peak = None if status is None else max(0, status[1] - base)
    return FileResult(task.given, output, meta, error, time.perf_counter() - start, peak,
                      skipped)


#: In a worker: the event the parent sets to stop every task (errors="raise").
_CANCEL: Any = None


def start_worker(cancel: Any) -> None:
    """Start a worker (the pool's initializer): ``cancel`` set stops its tasks.

    Parameters
    ----------
    cancel : multiprocessing.Event or threading.Event or None
        The event the parent sets to stop every task (``errors="raise"``);
        ``None`` for none.
    """
    global _CANCEL
    _CANCEL = cancel


def stop_if_cancelled(event: Progress) -> None:
    """The workers' progress callback: stop the evaluation at its next tile once cancelled.

    Raises
    ------
    MapFilesCancelled
        When the event given to :func:`start_worker` is set.
    """
    if _CANCEL is not None and _CANCEL.is_set():
        raise MapFilesCancelled(f"{OPERATION}: cancelled, another input failed")


def work(job: Job, task: Task, options: dict[str, Any]) -> FileResult:
    """A worker's task (module level, so that it pickles by name): :func:`run_task`, measured."""
    return run_task(job, task, dict(options, progress=stop_if_cancelled), True, True)
