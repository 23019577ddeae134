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
A spawned worker imports lazyarray (0.4 s on a quiet machine, numpy and
h5py the most of it; Zarr is imported only by workers that read or write
Zarr) and, on its first reduction with numba kernels, numba and its CPU
target (0.75 to 1 s and 115 MB more, even when the kernels come from
numba's disk cache: importing numba takes 0.28 s and 53 MB, and loading one
cached kernel initialises numba's whole typing and lowering registry, 0.45
to 0.75 s and 63 MB, of which importing scipy.linalg for numba's BLAS check
is 0.3 s and 28 MB), where numpy's first reduction takes 0.02 s and 1 MB.
Nothing can avoid that while numba's dispatcher loads the kernels. Three
things keep workers cheap:

1. Kernels built ahead of time (``lazyarray build-kernels``, see
   :mod:`lazyarray.kernelcache`) load without numba: a worker's first
   reduction with them costs about 0.02 s and 2 MB more than with numpy.
2. Under ``kernels="auto"``, a block smaller than
   :data:`lazyarray.fused.FIRST_KERNEL_BYTES` (4 MiB) is reduced by numpy,
   so a small reduction never loads numba.
3. When the ``kernels`` option in force is ``"auto"``, a run whose inputs
   are small in total (:data:`NUMBA_WORTH`) evaluates with
   ``kernels="numpy"``, in every process alike (results do not depend on
   ``processes``); pass ``kernels="numba"`` to insist.

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

import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from ..arguments import check_flag, check_optional_count
from ..execution import Progress
from ..options import get_options
from .inputs import OPERATION, Job, check_callables, check_outputs, check_variables, resolve
from .memory import MEMORY_SHARE, NUMBA_WORTH, WORKER_BYTES, allot, project
from .results import FileResult, MapFilesCancelled
from .running import GRACE, run

__all__ = [
    "GRACE",
    "MEMORY_SHARE",
    "NUMBA_WORTH",
    "WORKER_BYTES",
    "FileResult",
    "MapFilesCancelled",
    "map_files",
    "projected_memory",
]


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
    ValueError: map_files: input 0 (...a.h5') is a file of named variables and no variable was named: say which with variables='name' (or a list), 'path:name' or (path, 'name')
    """
    if not callable(fn):
        raise TypeError(f"{OPERATION}: fn must be callable, found {type(fn).__name__}")
    if isinstance(inputs, (str, bytes, os.PathLike)) or not isinstance(inputs, Sequence):
        raise TypeError(f"{OPERATION}: inputs must be a sequence (a list of paths, say), "
                        f"found {type(inputs).__name__}; wrap a single input in a list")
    pres = check_callables("pre", pre)
    posts = check_callables("post", post)
    processes = check_optional_count(OPERATION, "processes", processes, 0)
    memory_per_task = check_optional_count(OPERATION, "memory_per_task", memory_per_task, 1)
    if errors not in ("collect", "raise"):
        raise ValueError(f"{OPERATION}: errors must be 'collect' or 'raise', found {errors!r}")
    overwrite = check_flag(OPERATION, "overwrite", overwrite)
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"{OPERATION}: progress must be True, False or a callable, "
                        f"found {progress!r}")
    if not isinstance(outname, str):
        raise TypeError(f"{OPERATION}: outname must be a str, found {type(outname).__name__}")
    try:
        in_force = get_options(**options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{OPERATION}: {error}") from None
    wanted = check_variables(variables, "variables")
    folder = None if outdir is None else os.fspath(outdir)
    tasks = [resolve(n, given, wanted, folder, outname) for n, given in enumerate(inputs)]
    check_outputs(tasks)
    if not tasks:
        return []
    job = Job(fn, pres, posts, overwrite)
    if processes != 0:
        try:
            pickle.dumps((job, tasks))
        except Exception as error:  # noqa: BLE001 - whatever pickle raises
            raise TypeError(
                f"{OPERATION}: fn, pre, post and the inputs must pickle to reach the worker "
                f"processes (module-level functions, not lambdas or local functions); "
                f"{error!r}; or use processes=0") from None
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
    # Steps 2 and 3: project one task, then choose processes and budgets.
    allotment = allot(job, tasks, processes, memory_per_task, in_force, options)
    return run(job, tasks, allotment.processes, allotment.options, errors, progress)


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
    task = resolve(0, input, check_variables(variables, "variables"), None, "{stem}_out.h5")
    job = Job(fn, (), (), False)
    projection = project(job, [task], options)
    if projection is None:
        raise ValueError(f"{OPERATION}: fn could not be built on {input!r}")
    return projection.peak_bytes(options) if projection.nodes else 0
