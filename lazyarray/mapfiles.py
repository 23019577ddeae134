"""Per-file processing in processes: run a function on each input file, save what it returns.

:func:`map_files` is BigMultiPipe's job (one task per file, in a pool of
processes, metadata back to the caller, data left on disk), with the
memory per task projected by lazyarray's planner instead of guessed:

1. The arguments are checked here, before any process starts: every input
   is resolved to a file or store and the variable(s) to open in it (or a
   ready-built lazy graph), its output path is formatted, and no output may
   be an input or another input's output.
2. The first input that can be is *projected* in this process: its ``pre``
   callables run, the file is opened lazily (attributes only), ``fn``
   builds its graph and the planner plans the evaluation that the worker
   will run (saving the arrays, computing the lazy metadata). Nothing is
   read. The plan's peak memory (results plus the tiles in flight) is the
   memory per task, unless ``memory_per_task`` is given.
3. ``processes`` (when not given) is the number of tasks that fit: at most
   one per input and per CPU, and at most ``0.8 * available memory //
   (memory per task + WORKER_BYTES)`` (a worker's own memory). Each task
   evaluates with ``memory_limit`` its share of that budget (at most the
   ``memory_limit`` option in force), and with its share of the CPUs as
   worker threads (unless ``workers`` is given).
4. Each input runs in a ``spawn`` process: ``pre``, open, ``fn``, then one
   evaluation that writes the returned arrays to a new output, atomically
   (:func:`lazyarray.to_hdf5` or :func:`lazyarray.to_zarr`), and computes
   the lazy values of the metadata in the same pass over the file; then
   ``post``. Its time and peak memory growth are measured.
5. Results come back in input order, failures included
   (``errors="collect"``); with ``errors="raise"`` the first failure stops
   the inputs not started, cancels those running at their next tile (their
   outputs are never published), shuts the pool down and raises.

Worker start-up
---------------
A spawned worker imports lazyarray (0.7 to 1 s and 37 MB, mostly zarr and
h5py) and, on its first reduction with numba kernels, numba and its CPU
target (0.75 to 1 s and 115 MB more, even when the kernels come from
numba's disk cache: importing numba takes 0.28 s and 53 MB, and loading one
cached kernel initialises numba's whole typing and lowering registry, 0.45
to 0.75 s and 63 MB, of which importing scipy.linalg for numba's BLAS check
is 0.3 s and 28 MB), where numpy's first reduction takes 0.02 s and 1 MB.
Nothing in :mod:`lazyarray.kernels` can avoid that while numba's dispatcher
loads the kernels. So when the ``kernels`` option in force is
``"auto"``, a run whose inputs are small in total (:data:`NUMBA_WORTH`)
evaluates with ``kernels="numpy"``, in every process alike (results do not
depend on ``processes``); pass ``kernels="numba"`` to insist.

Examples
--------
>>> import os, tempfile, h5py, numpy as np, lazyarray as la
>>> folder = tempfile.mkdtemp()
>>> for n in range(2):
...     with h5py.File(os.path.join(folder, f"f{n}.h5"), "w") as f:
...         _ = f.create_dataset("x", data=np.arange(6.0).reshape(2, 3) + n)
>>> def centred(x):
...     return x - la.mean(x, 0), {"mean": la.mean(x)}
>>> paths = [os.path.join(folder, f"f{n}.h5") for n in range(2)]
>>> results = la.map_files(centred, paths, variables="x", processes=0, progress=False)
>>> [float(r.meta["mean"]) for r in results]
[2.5, 3.5]
>>> os.path.basename(results[1].output)
'f1_out.h5'
>>> with h5py.File(results[1].output) as f:
...     f["x"][:].tolist()
[[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]]
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import numbers
import os
import pickle
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from .adapters import asarray, open_dataset
from .array import Array
from .execution import Progress, ndarrays
from .options import get_options, set_options
from .planning import make_plan
from .writers import to_hdf5, to_zarr

__all__ = [
    "NUMBA_WORTH",
    "WORKER_BYTES",
    "FileResult",
    "MapFilesCancelled",
    "map_files",
    "projected_memory",
]

#: Below this many bytes read by a whole run (projected: the first input's
#: reads times the number of inputs), ``kernels="auto"`` evaluates with
#: numpy: loading numba in each new process costs about 0.7 s and 115 MB,
#: more than the kernels save on that little data.
NUMBA_WORTH = 2 * 2**30

#: The share of the available memory that the tasks may use together.
MEMORY_SHARE = 0.8

#: Resident memory of a worker before its first task, in bytes: Python,
#: numpy, h5py, zarr and lazyarray imported (66 MB measured on Linux x86-64,
#: Python 3.11), counted with each task when choosing how many processes fit.
WORKER_BYTES = 80 * 2**20

#: Seconds the workers get to stop after a failure (``errors="raise"``)
#: before they are terminated.
GRACE = 30.0

_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5", ".nc", ".nc4")
_ZARR_SUFFIXES = (".zarr",)
_FIELDS = ("stem", "suffix", "name", "index", "variable")
_OPERATION = "map_files"


@dataclass(frozen=True)
class FileResult:
    """What :func:`map_files` did with one input.

    Attributes
    ----------
    input : object
        The input, as given.
    output : str or None
        The file or store written (complete: outputs are published whole),
        or ``None`` when nothing was saved (``fn`` returned no arrays, the
        input was skipped, or failed before its output was published).
    meta : dict
        ``fn``'s metadata, lazy values computed (0-d results as numpy
        scalars), with what the ``post`` callables added; empty for a
        failed or skipped input.
    error : BaseException or None
        The exception that stopped this input: the original one when it
        pickles (with a note holding the worker's traceback), else a
        ``RuntimeError`` with its ``repr`` and traceback.
    seconds : float
        Wall-clock time of the input in its process, in seconds.
    peak_bytes : int or None
        Peak growth of the worker's resident memory while it processed this
        input, in bytes: the kernel's high-water mark (``VmHWM``, reset
        before the input through ``/proc/self/clear_refs``) minus the
        resident memory before it. Memory the allocator kept from an
        earlier input and reused is not counted again. ``None`` where this
        cannot be measured: not Linux, or ``processes=0`` (resetting the
        caller's own high-water mark would falsify its measurements).
    skipped : bool
        A ``pre`` callable returned ``None``: nothing was opened or run.
    """

    input: Any
    output: str | None
    meta: dict[str, Any]
    error: BaseException | None
    seconds: float
    peak_bytes: int | None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """Whether the input was processed without error (skipped inputs are not)."""
        return self.error is None and not self.skipped


class MapFilesCancelled(RuntimeError):
    """An input stopped because another one failed under ``errors="raise"``."""


@dataclass(frozen=True)
class _Task:
    """One input, resolved: where it is, what to open, where its output goes."""

    index: int
    given: Any
    path: str | None
    variables: str | tuple[str, ...] | None
    graph: Any
    output: str | None
    default_name: str


@dataclass(frozen=True)
class _Job:
    """What every task does (pickled once per task to the workers)."""

    fn: Callable[..., Any]
    pre: tuple[Callable[..., Any], ...]
    post: tuple[Callable[..., Any], ...]
    overwrite: bool


# -- checking the arguments --------------------------------------------------------


def _check_callables(name: str, value: Any) -> tuple[Callable[..., Any], ...]:
    items = (value,) if callable(value) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"{_OPERATION}: {name} must be a callable or a sequence of callables, "
                        f"found {type(value).__name__}")
    for n, item in enumerate(items):
        if not callable(item):
            raise TypeError(f"{_OPERATION}: {name}[{n}] must be callable, "
                            f"found {type(item).__name__}")
    return tuple(items)


def _check_count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_OPERATION}: {name} must be an integer or None, found {value!r}")
    if value < least:
        raise ValueError(f"{_OPERATION}: {name} must be at least {least}, found {value!r}")
    return int(value)


def _check_variables(value: Any, where: str) -> str | tuple[str, ...] | None:
    """``None``, one variable name, or a tuple of them (``fn`` then gets a dict)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{_OPERATION}: {where} must be a variable name or a non-empty sequence "
                    f"of names, found {value!r}")


def _resolve(index: int, given: Any, variables: str | tuple[str, ...] | None,
             outdir: str | None, outname: str) -> _Task:
    """``given`` as a task: its file or store and variables, or its graph; its output.

    The forms of an input: a path (``variables`` says what to open, except
    for a Zarr array store), ``"path:variable"``, ``(path, variable)`` or
    ``(path, [variables])``, a lazy array or a mapping of names to lazy
    arrays (pickled to the worker: by path when built from files).
    """
    graph: Any = None
    path: str | None = None
    wanted = variables
    if isinstance(given, (Array, np.ndarray)) or (
            isinstance(given, Mapping) and given
            and all(isinstance(v, (Array, np.ndarray)) for v in given.values())):
        graph = given
    elif isinstance(given, tuple) and len(given) == 2 and isinstance(given[0], (str, os.PathLike)):
        path = os.fspath(given[0])
        wanted = _check_variables(given[1], f"input {index}'s variables")
    elif isinstance(given, (str, os.PathLike)):
        path = os.fspath(given)
        if not os.path.exists(path) and ":" in path:
            head, _, tail = path.rpartition(":")
            if os.path.exists(head) and tail:
                path, wanted = head, tail
    else:
        raise TypeError(
            f"{_OPERATION}: input {index} must be a path, 'path:variable', (path, variable(s)), "
            f"a lazy array or a dict of lazy arrays, found {type(given).__name__}")
    default_name = "data"
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{_OPERATION}: input {index} does not exist: {path!r}")
        is_array_store = os.path.isdir(path) and any(
            os.path.exists(os.path.join(path, meta)) for meta in (".zarray", "zarr.json")
        ) and _zarr_is_array(path)
        if wanted is None and not is_array_store:
            raise ValueError(
                f"{_OPERATION}: input {index} ({path!r}) holds several variables: say which "
                "with variables='name' (or a list), 'path:name' or (path, 'name')")
        if isinstance(wanted, str):
            default_name = wanted.rsplit("/", 1)[-1]
    output = _output_path(index, path, wanted, outdir, outname)
    return _Task(index, given, path, wanted, graph, output, default_name)


def _zarr_is_array(path: str) -> bool:
    if os.path.exists(os.path.join(path, ".zarray")):
        return True
    try:
        with open(os.path.join(path, "zarr.json")) as f:
            return json.load(f).get("node_type") == "array"
    except (OSError, ValueError):
        return False


def _output_path(index: int, path: str | None, variables: Any, outdir: str | None,
                 outname: str) -> str | None:
    """Where the task's arrays go: ``outname`` formatted, in ``outdir`` or beside the input."""
    if path is None and outdir is None:
        return None  # a graph input: fn may save only if outdir is given (checked when it does)
    source = Path(path.rstrip("/\\")) if path is not None else Path(f"input{index}.h5")
    variable = variables if isinstance(variables, str) else ""
    try:
        name = outname.format(stem=source.stem, suffix=source.suffix, name=source.name,
                              index=index, variable=variable.replace("/", "_"))
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"{_OPERATION}: outname {outname!r} cannot be formatted ({error!r}); "
                         f"its fields are {', '.join(_FIELDS)}") from None
    folder = outdir if outdir is not None else str(source.parent)
    output = os.path.join(folder, name)
    suffix = Path(output).suffix.lower()
    if suffix not in _HDF5_SUFFIXES + _ZARR_SUFFIXES:
        raise ValueError(
            f"{_OPERATION}: output {output!r} (from outname {outname!r}) must end in one of "
            f"{', '.join(_HDF5_SUFFIXES)} (HDF5) or .zarr (Zarr), found {suffix or 'no suffix'!r}")
    return output


def _check_outputs(tasks: Sequence[_Task]) -> None:
    """No output may be an input, nor two inputs share one."""
    inputs = {os.path.realpath(t.path): t.index for t in tasks if t.path is not None}
    seen: dict[str, int] = {}
    for task in tasks:
        if task.output is None:
            continue
        real = os.path.realpath(task.output)
        if real in inputs:
            raise ValueError(f"{_OPERATION}: input {task.index}'s output {task.output!r} is "
                             f"input {inputs[real]}; choose outname or outdir so that no "
                             "input is overwritten")
        if real in seen:
            raise ValueError(f"{_OPERATION}: inputs {seen[real]} and {task.index} would both "
                             f"write {task.output!r}; put a field that differs in outname "
                             f"({', '.join(_FIELDS)})")
        seen[real] = task.index


# -- one task, in a worker or here ---------------------------------------------------


def _open(task: _Task) -> Any:
    """What ``fn`` receives: the lazy array, or a dict of them (several variables)."""
    if task.graph is not None:
        if isinstance(task.graph, Mapping):
            return {k: asarray(v) for k, v in task.graph.items()}
        return asarray(task.graph)
    assert task.path is not None
    if os.path.isdir(task.path):
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


def _run_pre(job: _Job, given: Any) -> dict[str, Any] | None:
    keywords: dict[str, Any] = {}
    for n, pre in enumerate(job.pre):
        answer = pre(given)
        if answer is None:
            return None
        if not isinstance(answer, Mapping):
            raise TypeError(f"{_OPERATION}: pre[{n}] must return None (skip) or a dict of "
                            f"keywords for fn, found {type(answer).__name__}")
        keywords.update(answer)
    return keywords


def _built(job: _Job, task: _Task, keywords: dict[str, Any]) -> tuple[dict[str, Array],
                                                                      dict[str, Any]]:
    """``fn``'s arrays to save (by dataset name) and its metadata, checked."""
    answer = job.fn(_open(task), **keywords)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise TypeError(f"{_OPERATION}: fn must return (arrays, meta): arrays None, an array "
                        f"or a dict of arrays, meta a dict or None; found {type(answer).__name__}")
    arrays, meta = answer
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"{_OPERATION}: fn's meta must be a dict or None, "
                        f"found {type(meta).__name__}")
    if arrays is None:
        named: dict[str, Any] = {}
    elif isinstance(arrays, Mapping):
        named = dict(arrays)
    else:
        named = {task.default_name: arrays}
    for name, value in named.items():
        if not isinstance(name, str):
            raise TypeError(f"{_OPERATION}: fn's arrays must be named by str, found {name!r}")
        named[name] = asarray(value)
    return named, dict(meta)


def _evaluate(job: _Job, task: _Task, arrays: dict[str, Array], meta: dict[str, Any],
              options: dict[str, Any]) -> str | None:
    """Save ``arrays`` and compute ``meta``'s lazy values in one evaluation; the output."""
    lazy = [k for k, v in meta.items() if isinstance(v, Array)]
    compute = [meta[k] for k in lazy]
    output = None
    if arrays:
        if task.output is None:
            raise ValueError(f"{_OPERATION}: fn returned arrays to save for input {task.index}, "
                             "a lazy array: give outdir to say where they go")
        output = task.output
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        if Path(output).suffix.lower() in _ZARR_SUFFIXES:
            if len(arrays) != 1:
                raise ValueError(f"{_OPERATION}: a Zarr output ({output!r}) holds one array; "
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


def _portable(error: BaseException) -> BaseException:
    """``error`` with its traceback as a note, or a RuntimeError if it does not pickle."""
    text = "".join(traceback.format_exception(error))
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure to pickle makes it unportable
        portable = RuntimeError(f"{error!r} (which does not pickle); its traceback:\n{text}")
        return portable
    error.add_note(f"[{_OPERATION} worker {os.getpid()}] {text}")
    return error


def _process(job: _Job, task: _Task, options: dict[str, Any], measure: bool,
             portable: bool) -> FileResult:
    """Run one task here: pre, open, fn, save and compute, post; timed and measured."""
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
            raise MapFilesCancelled(f"{_OPERATION}: input {task.index} not started: "
                                    "another input failed")
        with set_options(**options):
            keywords = _run_pre(job, task.given)
            if keywords is None:
                skipped = True
            else:
                arrays, meta = _built(job, task, keywords)
                output = _evaluate(job, task, arrays, meta, options)
                for n, post in enumerate(job.post):
                    extra = post(meta, task.given, output)
                    if extra is None:
                        continue
                    if not isinstance(extra, Mapping):
                        raise TypeError(f"{_OPERATION}: post[{n}] must return a dict or None, "
                                        f"found {type(extra).__name__}")
                    meta.update(extra)
        if portable:
            try:
                pickle.dumps(meta)
            except Exception as failure:
                raise TypeError(f"{_OPERATION}: the meta of input {task.index} does not pickle "
                                f"back from the worker: {failure!r}") from failure
    except Exception as failure:  # noqa: BLE001 - reported in the result; Ctrl-C stops all
        # The output stays reported if it was published (a later step failed):
        # it is complete, and the caller may want to remove it.
        error = _portable(failure) if portable else failure
        meta = {}
    peak = None
    if base is not None:
        status = _status()
        peak = None if status is None else max(0, status[1] - base)
    return FileResult(task.given, output, meta, error, time.perf_counter() - start, peak,
                      skipped)


#: In a worker: the event the parent sets to stop every task (errors="raise").
_CANCEL: Any = None


def _start_worker(cancel: Any) -> None:
    global _CANCEL
    _CANCEL = cancel


def _stop_if_cancelled(event: Progress) -> None:
    """The workers' progress callback: stop the evaluation at its next tile once cancelled."""
    if _CANCEL is not None and _CANCEL.is_set():
        raise MapFilesCancelled(f"{_OPERATION}: cancelled, another input failed")


def _work(job: _Job, task: _Task, options: dict[str, Any]) -> FileResult:
    """A worker's task (module level, so that it pickles by name)."""
    return _process(job, task, dict(options, progress=_stop_if_cancelled), True, True)


# -- planning the run ---------------------------------------------------------------


def _available_memory() -> int:
    """Memory available to new processes, in bytes (psutil when installed)."""
    try:
        import psutil
    except ImportError:
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 4 * 2**30
    return int(psutil.virtual_memory().available)


@dataclass(frozen=True)
class _Projection:
    """The planner's view of one task: its graph and what evaluating it takes."""

    nodes: tuple[Array, ...]
    saved: int
    read_bytes: int

    def peak_bytes(self, options: dict[str, Any]) -> int:
        """The plan's peak memory, in bytes, counting only tiles that exist, and writes.

        Two corrections to :attr:`Plan.peak_bytes` (results plus
        ``in_flight`` tiles of the widest pass):

        1. a pass of fewer tiles than ``in_flight`` (a small file is often
           one tile) never has more in memory: counting them would project
           twice the memory of a one-tile file, and run half the processes
           that fit;
        2. one tile of each saved array more: its encoded copy waits for
           the disk while the next tiles are computed (measured, 200 MB
           inputs in tiles of 28 MB written with ``fsync``, two processes
           writing at once: 27 MiB more than the plan, 142 MiB against
           169 MiB with and without ``fsync``).
        """
        plan = make_plan(list(self.nodes), get_options(**options),
                         in_memory=[n >= self.saved for n in range(len(self.nodes))])
        tiles = max((p.tile_bytes * min(plan.in_flight, p.tile_count) for p in plan.passes),
                    default=0)
        count = max((p.tile_count for p in plan.passes), default=1)
        writing = sum(node.nbytes for node in self.nodes[:self.saved]) // max(count, 1)
        return int(plan.result_bytes + tiles + writing)


def _project(job: _Job, tasks: Sequence[_Task], options: dict[str, Any]) -> _Projection | None:
    """Build the first buildable task's graph here (reads nothing) for the planner.

    Inputs that are skipped, or whose ``fn`` fails here, are passed over
    (they fail again in their process, and are reported there); at most
    three are tried.
    """
    tried = 0
    for task in tasks:
        if tried == 3:
            break
        tried += 1
        try:
            with set_options(**options):
                keywords = _run_pre(job, task.given)
                if keywords is None:
                    tried -= 1
                    continue
                arrays, meta = _built(job, task, keywords)
                nodes = (*arrays.values(), *(v for v in meta.values() if isinstance(v, Array)))
                if not nodes:
                    return _Projection((), 0, 0)
                plan = make_plan(list(nodes), get_options(**options),
                                 in_memory=[n >= len(arrays) for n in range(len(nodes))])
        except Exception:  # noqa: BLE001, S112 - it fails again in its task, reported there
            continue
        return _Projection(tuple(nodes), len(arrays), int(plan.read_bytes))
    return None


# -- the run ----------------------------------------------------------------------------


class _Reporter:
    """Progress over inputs: a tqdm bar, or ``Progress`` events counting inputs."""

    def __init__(self, progress: Any, total: int):
        self._bar: Any = None
        self._callback = progress if callable(progress) else None
        self._done, self._total, self._start = 0, total, time.perf_counter()
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="file", desc=_OPERATION)
        elif self._callback is not None:
            self._callback(Progress(0, total, 0.0))

    def advance(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        if self._callback is not None:
            self._callback(Progress(self._done, self._total, time.perf_counter() - self._start))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _failed(task: _Task, error: BaseException) -> FileResult:
    return FileResult(task.given, None, {}, error, 0.0, None)


def _raise(result: FileResult, task: _Task) -> None:
    error = result.error
    assert error is not None
    error.add_note(f"{_OPERATION}: input {task.index} ({task.given!r}) failed")
    raise error


def _run_serial(job: _Job, tasks: Sequence[_Task], options: dict[str, Any], errors: str,
                reporter: _Reporter) -> list[FileResult]:
    results = []
    for task in tasks:
        result = _process(job, task, options, measure=False, portable=False)
        results.append(result)
        reporter.advance()
        if result.error is not None and errors == "raise":
            _raise(result, task)
    return results


def _run_pool(job: _Job, tasks: Sequence[_Task], processes: int, options: dict[str, Any],
              errors: str, reporter: _Reporter) -> list[FileResult]:
    """Run the tasks in ``processes`` spawned workers, at most one queued per worker."""
    context = multiprocessing.get_context("spawn")
    cancel = context.Event()
    results: list[FileResult | None] = [None] * len(tasks)
    pending = deque(tasks)
    running: dict[Future[FileResult], _Task] = {}
    failure: tuple[FileResult, _Task] | None = None
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_start_worker,
                               initargs=(cancel,))
    clean = False
    finished = 0  # tasks the current pool finished
    try:
        while pending or running:
            # Submitting only what the workers can start keeps the inputs not
            # started here, so stopping them is forgetting them.
            while pending and len(running) < processes:
                task = pending.popleft()
                running[pool.submit(_work, job, task, options)] = task
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
                        f"{_OPERATION}: input {task.index}: its worker process died ({error})"))
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
                        f"{_OPERATION}: input {task.index}: a worker process died"))
                    reporter.advance()
                running.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                if pending:
                    finished = 0
                    pool = ProcessPoolExecutor(processes, mp_context=context,
                                               initializer=_start_worker, initargs=(cancel,))
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


def map_files(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    variables: str | Sequence[str] | None = None,
    processes: int | None = None,
    memory_per_task: int | None = None,
    pre: Callable[..., Any] | Sequence[Callable[..., Any]] = (),
    post: Callable[..., Any] | Sequence[Callable[..., Any]] = (),
    outdir: str | os.PathLike[str] | None = None,
    outname: str = "{stem}_out{suffix}",
    overwrite: bool = False,
    progress: bool | Callable[[Progress], Any] = True,
    errors: str = "collect",
    **options: Any,
) -> list[FileResult]:
    """Run ``fn`` on each input file in a pool of processes; save what it returns.

    Parameters
    ----------
    fn : callable
        ``fn(data, **keywords) -> (arrays, meta)``. ``data`` is the input
        opened lazily (nothing read): a lazy array for one variable, a dict
        of them (by name) for several. ``arrays`` is ``None`` (nothing
        saved), one array (lazy or numpy; saved under the variable's name,
        ``"data"`` when there is none) or a dict of dataset names to arrays;
        ``meta`` is a dict (or ``None``) of anything that pickles, and its
        lazy arrays are computed in the evaluation that saves the arrays
        (one pass over the file). Must pickle (a module-level function)
        unless ``processes=0``.
    inputs : sequence
        Each one of: a path to an HDF5 or netCDF-4 file, with the variable
        named by ``variables``, or as ``"path:variable"``, or
        ``(path, variable)``, or ``(path, [variables])``; a path to a Zarr
        array store (or a Zarr group, with variables); a lazy array or a dict
        of lazy arrays (pickled to the worker: by path when built from
        files, see :mod:`lazyarray.pickling`).
    variables : str or sequence of str, optional
        The variable(s) to open in path inputs that do not name their own.
        A sequence (even of one name) gives ``fn`` a dict.
    processes : int, optional
        Worker processes (``spawn``). ``0`` runs every input here, one after
        the other, exactly as a worker would (for debugging and doctests).
        By default, as many as fit (see the module's notes).
    memory_per_task : int, optional
        Memory one task needs, in bytes, instead of the planner's projection.
    pre : callable or sequence of callables, optional
        ``pre(input)`` (run in the worker, and here for the projected input,
        in order): ``None`` skips the input (its result has ``skipped``
        true), or a dict of keywords for ``fn`` (later ones win).
    post : callable or sequence of callables, optional
        ``post(meta, input, output) -> dict or None``, run in the worker
        after saving: merged into ``meta`` (``output`` is ``None`` when
        nothing was saved).
    outdir : path-like, optional
        Where outputs go (created if needed); by default beside each input.
        Required when ``fn`` saves arrays of lazy-array inputs.
    outname : str, optional
        The output's file name, formatted with ``stem``, ``suffix``,
        ``name`` (the input's file name), ``index`` (its position in
        ``inputs``) and ``variable`` (its one variable, ``""`` otherwise).
        A suffix of ``.zarr`` writes a Zarr array (one array), else HDF5
        (``.h5``, ``.hdf5``, ``.hdf``, ``.he5``, ``.nc``, ``.nc4``). No
        output may be an input or shared by two inputs.
    overwrite : bool, optional
        Replace existing outputs (once all is written); by default an
        existing output fails its input with ``FileExistsError``.
    progress : bool or callable, optional
        ``True`` (default) shows a bar over inputs; a callable receives
        :class:`lazyarray.Progress` events whose ``done`` and ``total``
        count inputs; ``False`` shows nothing.
    errors : {"collect", "raise"}, optional
        ``"collect"`` (default): a failure is reported in its input's
        result and the others go on. ``"raise"``: the first failure stops
        the others (outputs not published) and is raised, with a note
        naming the input.
    **options
        Evaluation options for every task (see :class:`lazyarray.Options`);
        ``memory_limit`` bounds each task's evaluation (capped by its share
        of the available memory).

    Returns
    -------
    list of FileResult
        One per input, in input order.

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        For bad arguments, before any process starts.

    Examples
    --------
    >>> import os, tempfile, h5py, numpy as np, lazyarray as la
    >>> folder = tempfile.mkdtemp()
    >>> with h5py.File(os.path.join(folder, "a.h5"), "w") as f:
    ...     _ = f.create_dataset("t", data=np.arange(4.0))
    >>> def peak(t, scale=1):
    ...     return None, {"max": la.max(t) * scale}
    >>> def big_only(path):
    ...     return {"scale": 10}
    >>> [r] = la.map_files(peak, [os.path.join(folder, "a.h5:t")], pre=big_only,
    ...                    processes=0, progress=False)
    >>> float(r.meta["max"]), r.output, r.ok
    (30.0, None, True)
    >>> la.map_files(peak, [os.path.join(folder, "a.h5")], processes=0,
    ...              progress=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: map_files: input 0 (...a.h5') holds several variables: say which with variables='name' (or a list), 'path:name' or (path, 'name')
    """
    if not callable(fn):
        raise TypeError(f"{_OPERATION}: fn must be callable, found {type(fn).__name__}")
    if isinstance(inputs, (str, bytes, os.PathLike)) or not isinstance(inputs, Sequence):
        raise TypeError(f"{_OPERATION}: inputs must be a sequence (a list of paths, say), "
                        f"found {type(inputs).__name__}; wrap a single input in a list")
    pres = _check_callables("pre", pre)
    posts = _check_callables("post", post)
    if processes is not None:
        processes = _check_count("processes", processes, 0)
    if memory_per_task is not None:
        memory_per_task = _check_count("memory_per_task", memory_per_task, 1)
    if errors not in ("collect", "raise"):
        raise ValueError(f"{_OPERATION}: errors must be 'collect' or 'raise', found {errors!r}")
    if not isinstance(overwrite, bool):
        raise TypeError(f"{_OPERATION}: overwrite must be True or False, found {overwrite!r}")
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"{_OPERATION}: progress must be True, False or a callable, "
                        f"found {progress!r}")
    if not isinstance(outname, str):
        raise TypeError(f"{_OPERATION}: outname must be a str, found {type(outname).__name__}")
    try:
        in_force = get_options(**options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{_OPERATION}: {error}") from None
    wanted = _check_variables(variables, "variables")
    folder = None if outdir is None else os.fspath(outdir)
    tasks = [_resolve(n, given, wanted, folder, outname) for n, given in enumerate(inputs)]
    _check_outputs(tasks)
    if not tasks:
        return []
    job = _Job(fn, pres, posts, overwrite)
    if processes != 0:
        try:
            pickle.dumps((job, tasks))
        except Exception as error:  # noqa: BLE001 - whatever pickle raises
            raise TypeError(
                f"{_OPERATION}: fn, pre, post and the inputs must pickle to reach the worker "
                f"processes (module-level functions, not lambdas or local functions); "
                f"{error!r}; or use processes=0") from None
    if folder is not None:
        os.makedirs(folder, exist_ok=True)

    # Steps 2 and 3: project one task, then choose processes and budgets.
    task_options = {k: v for k, v in options.items() if v is not None}
    projection = _project(job, tasks, task_options)
    if in_force.kernels == "auto" and projection is not None and \
            projection.read_bytes * len(tasks) < NUMBA_WORTH:
        task_options["kernels"] = "numpy"
    budget = int(_available_memory() * MEMORY_SHARE)
    per_task = memory_per_task
    if per_task is None and projection is not None:
        per_task = projection.peak_bytes(task_options)
    if processes is None:
        fits = budget // (per_task + WORKER_BYTES) if per_task is not None else len(tasks)
        processes = max(1, min(len(tasks), os.cpu_count() or 1, fits))
    share = budget // max(processes, 1)
    if share < in_force.memory_limit:
        task_options["memory_limit"] = max(1, share)
    if "workers" not in task_options and processes > 1:
        # The processes share the CPUs: threads beyond them only contend.
        # (Results do not depend on the number of workers.)
        task_options["workers"] = max(1, (os.cpu_count() or 1) // processes)

    reporter = _Reporter(progress, len(tasks))
    try:
        if processes == 0:
            return _run_serial(job, tasks, dict(task_options, progress=False), errors,
                               reporter)
        return _run_pool(job, tasks, min(processes, len(tasks)), task_options, errors, reporter)
    finally:
        reporter.close()


def projected_memory(fn: Callable[..., Any], input: Any, *, variables: Any = None,
                     **options: Any) -> int:
    """The memory one task of :func:`map_files` is projected to need, in bytes; reads nothing.

    Examples
    --------
    >>> import os, tempfile, h5py, numpy as np, lazyarray as la
    >>> path = os.path.join(tempfile.mkdtemp(), "a.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("t", data=np.zeros((100, 100)))
    >>> projected_memory(lambda t: (None, {"m": la.mean(t, 0)}), path + ":t") > 0
    True
    """
    task = _resolve(0, input, _check_variables(variables, "variables"), None, "{stem}_out.h5")
    job = _Job(fn, (), (), False)
    projection = _project(job, [task], options)
    if projection is None:
        raise ValueError(f"{_OPERATION}: fn could not be built on {input!r}")
    return projection.peak_bytes(options) if projection.nodes else 0
