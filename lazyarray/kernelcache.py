"""Ahead-of-time builds of the fused kernels: where they live, how they are built and found.

Loading the kernels of :mod:`lazyarray.kernels` through numba costs a new
process 0.75 to 1 s and about 115 MB, even from numba's disk cache (see
"Worker start-up" in :mod:`lazyarray.mapfiles`). A build made ahead of
time by ``numba.pycc`` (``lazyarray build-kernels``, or :func:`build`) is a
few extension modules holding the very functions that the kernels module
defines, compiled for this machine's CPU: loading one costs a few
milliseconds and imports neither numba nor LLVM.

1. Each *export* is one compile-time variant of :func:`~lazyarray.kernels.sweep`
   or :func:`~lazyarray.kernels.into` for one pair of dtypes (the data's and
   the total's), named like ``sweep_outer_01_f4_f8`` (:func:`export_name`);
   the arrays it takes are one-dimensional and C-contiguous, as
   :mod:`lazyarray.fused` passes them.
2. A build lives in a folder of the cache root (``LAZYARRAY_KERNELS_DIR``,
   by default ``~/.cache/lazyarray/kernels``, or under ``XDG_CACHE_HOME``)
   named by a hash of everything that invalidates it (:class:`BuildKey`):
   the kernels' source, the versions of numba and numpy, the Python ABI and
   the CPU as numba names it (and its features). A new process finds that
   name without importing numba: the build records the CPU's name under a
   fingerprint of ``/proc/cpuinfo`` (:func:`machine_fingerprint`).
3. A ``manifest.json`` says which module holds which export; modules are
   loaded when one of their exports is first wanted (:func:`find_export`).
4. :func:`build` compiles the modules in parallel processes into a
   temporary folder and renames it into place: a process that finds the
   folder finds it complete, and of two processes building at once, the
   first to rename wins and the other uses its build.

Examples
--------
>>> export_name("sweep", ("outer", False, True), np.dtype("f4"), np.dtype("f8"))
'sweep_outer_01_f4_f8'
>>> export_name("into", (True, False, True, False, True), np.dtype("i2"), np.dtype("i8"))
'into_10101_i2_i8'
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.machinery import ExtensionFileLoader
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ENVIRONMENT",
    "BuildKey",
    "Export",
    "build",
    "build_folder",
    "cache_root",
    "current_key",
    "every_export",
    "export_name",
    "exports",
    "find_export",
    "forget",
    "loaded",
    "machine_fingerprint",
]

#: The environment variable that chooses the cache root.
ENVIRONMENT = "LAZYARRAY_KERNELS_DIR"

#: The data dtypes the kernels take (booleans are passed as bytes, ``u1``).
DATA_DTYPES = ("u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8", "f4", "f8")

_SOURCE = Path(__file__).with_name("kernels.py")


def cache_root() -> Path:
    """The folder that holds the builds: ``$LAZYARRAY_KERNELS_DIR``, or the user's cache.

    Examples
    --------
    >>> import os
    >>> os.environ.get(ENVIRONMENT) is not None or cache_root().name == "kernels"
    True
    """
    given = os.environ.get(ENVIRONMENT)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lazyarray" / "kernels"


def machine_fingerprint() -> str:
    """A short hash of what identifies this machine's CPU, found without numba or LLVM.

    The processor lines of ``/proc/cpuinfo`` that tell the model and its
    features (vendor, family, model, flags), where there is one; otherwise
    what :mod:`platform` says. Two machines with the same fingerprint get the
    same code from LLVM.

    Examples
    --------
    >>> len(machine_fingerprint())
    16
    """
    wanted = ("vendor_id", "cpu family", "model", "flags", "cpu implementer", "cpu part",
              "features", "cpu model", "isa")
    lines: list[str] = [platform.machine(), sys.platform]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break  # the first processor's block: the others are alike
                name = line.split(":", 1)[0].strip().lower()
                if name in wanted:
                    lines.append(" ".join(line.split()))
    except OSError:
        lines.append(platform.processor())
    return _sha256("\n".join(lines).encode())[:16]


@dataclass(frozen=True)
class BuildKey:
    """Everything that invalidates a build: it is compiled anew when one changes.

    Examples
    --------
    >>> key = BuildKey("ab12", "0.61.0", "2.1.0", "cpython-311", "znver3", "+avx2")
    >>> key.folder_name() == BuildKey("ab12", "0.61.0", "2.1.0", "cpython-311", "znver3",
    ...                               "+avx2").folder_name()
    True
    >>> key.folder_name() == BuildKey("ab13", *list(asdict(key).values())[1:]).folder_name()
    False
    """

    source: str  #: sha256 of lazyarray/kernels.py and kernelcache.py
    numba: str  #: numba's version
    numpy: str  #: numpy's version
    abi: str  #: the interpreter's cache tag and extension suffix
    cpu: str  #: the CPU's name as numba (LLVM) gives it
    features: str  #: the CPU's features as numba gives them to LLVM

    def folder_name(self) -> str:
        """The name of the build's folder: a hash of the key."""
        text = json.dumps(asdict(self), sort_keys=True)
        return "build-" + _sha256(text.encode())[:20]


def _sha256(data: bytes) -> str:
    # Imported when needed: hashlib loads OpenSSL (5 ms, 3 MB), which a
    # process that finds no build never needs.
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _source_hash(source: Path) -> str:
    """A hash of the kernels' source and of this module's (which chooses how they compile)."""
    return _sha256(source.read_bytes() + Path(__file__).read_bytes())


def _numba_version() -> str | None:
    """numba's version, found without importing numba (which takes 0.3 s); None if absent."""
    # getattr: another thread may be importing numba, its module not yet complete.
    version = getattr(sys.modules.get("numba"), "__version__", None)
    if version is not None:
        return str(version)
    try:
        spec = find_spec("numba")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    # The installed distribution's metadata folder, beside the package.
    site = Path(spec.origin).parent.parent
    for info in site.glob("numba-*.dist-info"):
        return info.name[len("numba-"):-len(".dist-info")]
    from importlib import metadata  # slower: it scans every installed distribution

    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return None


def _abi() -> str:
    return f"{sys.implementation.cache_tag}{sysconfig.get_config_var('EXT_SUFFIX')}"


def _cpu_record(root: Path) -> Path:
    return root / "cpus" / f"{machine_fingerprint()}.json"


def current_key(root: Path | None = None, source: Path | None = None) -> BuildKey | None:
    """The key of a build for this machine, or ``None`` if no build ever named its CPU.

    Found without importing numba: the CPU's name is the one a build on a
    machine with the same :func:`machine_fingerprint` recorded under ``root``.
    ``None`` too when numba is not installed.
    """
    root = cache_root() if root is None else root
    if not (root / "cpus").is_dir():
        return None  # nothing was ever built here (the usual case: say it at once)
    try:
        cpu = json.loads(_cpu_record(root).read_text())
    except (OSError, ValueError):
        return None  # no build ever ran here on this kind of machine
    numba_version = _numba_version()
    if numba_version is None:
        return None
    return BuildKey(_source_hash(_SOURCE if source is None else source), numba_version,
                    np.__version__, _abi(), str(cpu.get("name")), str(cpu.get("features")))


def build_folder(root: Path | None = None) -> Path | None:
    """The folder of the complete build for this machine under ``root``, or ``None``."""
    root = cache_root() if root is None else root
    key = current_key(root)
    if key is None:
        return None
    folder = root / key.folder_name()
    return folder if (folder / "manifest.json").is_file() else None


# -- the exports -----------------------------------------------------------------------------


def export_name(kind: str, flags: Sequence[Any], data: np.dtype, total: np.dtype) -> str:
    """The name of the export of kernel ``kind`` with compile-time ``flags`` for two dtypes.

    ``flags`` are the arguments of :func:`~lazyarray.kernels.sweep` (the
    layout, then booleans) or of :func:`~lazyarray.kernels.into`.
    """
    parts = [kind] + [f for f in flags if isinstance(f, str)]
    parts.append("".join(str(int(f)) for f in flags if not isinstance(f, str)))
    return "_".join([*parts, data.str[1:], total.str[1:]])


@dataclass(frozen=True)
class Export:
    """One kernel variant for one pair of dtypes, as compiled into a module."""

    kind: str  #: "sweep" or "into"
    flags: tuple[Any, ...]  #: the compile-time arguments of :func:`kernels.sweep` or ``into``
    data: str  #: the data's dtype (``"f4"``)
    total: str  #: the total's dtype

    @property
    def name(self) -> str:
        """The export's name (:func:`export_name`)."""
        return export_name(self.kind, self.flags, np.dtype(self.data), np.dtype(self.total))

    @property
    def stem(self) -> str:
        """The name without its dtypes: the variant (``"sweep_outer_01"``)."""
        return self.name.rsplit("_", 2)[0]


def _sweep_totals(data: str) -> tuple[str, ...]:
    """The dtypes :mod:`lazyarray.fused` sums data of dtype ``data`` in, for ``sweep``."""
    if data[0] == "f":
        return ("f8",)
    return ("u8", "f8") if data == "u8" else ("i8", "f8")


def _into_totals(data: str, summing: bool) -> tuple[str, ...]:
    """The dtypes of the running totals ``into`` updates (float64 stand-ins when not summing)."""
    if not summing or data[0] == "f":
        return ("f8",)
    if data == "u1":  # bytes are booleans too, whose sums are int64
        return ("i8", "u8", "f8")
    return ("u8", "f8") if data[0] == "u" else ("i8", "f8")


def every_export(dtypes: Collection[str] = DATA_DTYPES,
                 variants: Collection[str] | None = None) -> list[Export]:
    """Every export :mod:`lazyarray.fused` can call, for data of ``dtypes``.

    Only the variants it calls: NaN is skipped only in float data, and
    ``into`` runs only when it counts or updates a sum or a variance.
    ``variants`` (stems such as ``"sweep_outer_01"``) keeps only those.

    Examples
    --------
    >>> len(every_export())
    324
    >>> [e.name for e in every_export(["f8"], ["sweep_inner_11"])]
    ['sweep_inner_11_f8_f8']
    """
    found = []
    for data in dtypes:
        nans = (False, True) if data[0] == "f" else (False,)
        for layout in ("outer", "inner"):
            for masked in (False, True):
                for skipnan in nans:
                    found += [Export("sweep", (layout, masked, skipnan), data, total)
                              for total in _sweep_totals(data)]
        for masked in (False, True):
            for skipnan in nans:
                for summing in (False, True):
                    for extremes in (False, True):
                        for variance in (False, True):
                            if not (masked or skipnan or summing or variance):
                                continue  # fused.py leaves these to numpy
                            flags = (masked, skipnan, summing, extremes, variance)
                            found += [Export("into", flags, data, total)
                                      for total in _into_totals(data, summing)]
    if variants is not None:
        found = [e for e in found if e.stem in variants]
    return found


class _Build:
    """A build's manifest, and its modules loaded as their exports are wanted."""

    def __init__(self, folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        self.folder = folder
        self.where: dict[str, str] = manifest["exports"]
        self.files: dict[str, str] = manifest["modules"]
        self.modules: dict[str, Any] = {}
        self.lock = threading.Lock()

    def find(self, name: str) -> Callable[..., None] | None:
        module_name = self.where.get(name)
        if module_name is None:
            return None
        with self.lock:
            if module_name not in self.modules:
                self.modules[module_name] = self._load(module_name)
            module = self.modules[module_name]
        function: Callable[..., None] | None = getattr(module, name, None)
        return function

    def _load(self, module_name: str) -> Any:
        """The module ``module_name``, or ``None`` if it does not load (its exports go to the JIT)."""
        path = self.folder / self.files[module_name]
        try:
            loader = ExtensionFileLoader(module_name, str(path))
            spec = spec_from_file_location(module_name, path, loader=loader)
            assert spec is not None
            module = module_from_spec(spec)
            loader.exec_module(module)
        except (ImportError, OSError) as error:
            # A build that this machine cannot load (a missing system library,
            # a file removed meanwhile) only costs speed: say so once.
            warnings.warn(f"lazyarray: the kernels built ahead of time in {path} do not "
                          f"load ({error}); numba's JIT compiles them instead", RuntimeWarning,
                          stacklevel=4)
            return None
        return module


@functools.cache
def _current_build() -> _Build | None:
    folder = build_folder()
    if folder is None:
        return None
    try:
        return _Build(folder)
    except (OSError, ValueError, KeyError):  # an unreadable manifest: no build
        return None


def exports() -> frozenset[str]:
    """The names of the exports of this machine's build (empty without a build).

    Looked up once per process (:func:`forget` looks again).
    """
    found = _current_build()
    return frozenset() if found is None else frozenset(found.where)


def find_export(name: str) -> Callable[..., None] | None:
    """The compiled export ``name`` of this machine's build, or ``None`` if it has none."""
    found = _current_build()
    return None if found is None else found.find(name)


def loaded() -> bool:
    """Whether a build was found for this process (its modules load in milliseconds)."""
    return _current_build() is not None


#: Incremented by :func:`forget`: what remembers exports looks them up again.
generation = 0


def forget() -> None:
    """Look for the build again at the next use (after ``LAZYARRAY_KERNELS_DIR`` changed)."""
    global generation
    _current_build.cache_clear()
    generation += 1


# -- building --------------------------------------------------------------------------------


@contextlib.contextmanager
def _as_the_jit_compiles() -> Iterator[None]:
    """numba.pycc compiling as :func:`lazyarray.kernels._jit` does, for this build only.

    pycc compiles with the GIL held, Python's error model and a generic CPU
    (or a named one with the features LLVM assumes of the model); the JIT
    releases the GIL (the executor's threads run kernels side by side), uses
    numpy's error model and this CPU's own features (a virtual machine may
    hide some that its model has, and code using them would crash). pycc
    takes none of these as options, so its flags and its CPU features are
    replaced while the build compiles, and restored after.
    """
    from numba.core import codegen as _codegen

    with warnings.catch_warnings():
        # numba.pycc warns, on import, that it will be replaced (numba 0.57
        # and later); it is still the way to build modules that load without
        # numba, and the warning would fail a test run with warnings as errors.
        warnings.filterwarnings("ignore", message=".*pycc.*")
        from numba.pycc import compiler as _compiler
    compiler: Any = _compiler
    codegen: Any = _codegen

    class KernelFlags(compiler.Flags):  # numba's Flags, set as the JIT's
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True
            self.error_model = "numpy"

    def host_features(self: Any) -> str:
        return str(self._get_host_cpu_features())

    saved = compiler.Flags, codegen.AOTCPUCodegen._customize_tm_features
    compiler.Flags = KernelFlags
    codegen.AOTCPUCodegen._customize_tm_features = host_features
    try:
        yield
    finally:
        compiler.Flags, codegen.AOTCPUCodegen._customize_tm_features = saved


def _signature(export: Export) -> Any:
    """The numba signature of ``export``: the types the JIT infers for fused.py's arguments.

    Arrays are one-dimensional and C-contiguous; the data (and the mask) are
    read-only, as :func:`lazyarray.blocklayout.flat_view` makes them.
    """
    from numba import types
    from numba.np.numpy_support import from_dtype

    def array(code: str, readonly: bool = False) -> Any:
        return types.Array(from_dtype(np.dtype(code)), 1, "C", readonly=readonly)

    data, mask, index = array(export.data, True), array("?", True), types.int64
    total, extreme, float64 = array(export.total), array(export.data), array("f8")
    layout = [data, mask] + [index] * 7
    if export.kind == "sweep":
        rest = [array("i8"), total, extreme, extreme, float64, float64, types.boolean,
                types.boolean]
    else:
        rest = [array("i8"), total, extreme, extreme, array("i8"), index, float64, float64,
                float64, float64, float64]
    return types.void(*layout, *rest)


def _compile_module(folder: str, module_name: str, chosen: list[Export]) -> str:
    """Compile ``chosen`` into the extension module ``module_name`` in ``folder``; its file name."""
    from . import kernels

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pycc.*")  # see _as_the_jit_compiles
        from numba.pycc import CC

    cc = CC(module_name, source_module=kernels)
    cc.output_dir = folder
    cc.target_cpu = "host"
    for export in chosen:
        cc.export(export.name, _signature(export))(kernels.python_kernel(export.kind, export.flags))
    with _as_the_jit_compiles(), warnings.catch_warnings():
        # setuptools' distutils, which pycc drives, may warn of its own deprecations.
        warnings.simplefilter("ignore", DeprecationWarning)
        cc.compile()
    return str(cc.output_file)


def _host_cpu() -> tuple[str, str]:
    """This CPU's name and features, as numba's JIT gives them to LLVM."""
    from numba.core import codegen
    from numba.core import config as _config

    config: Any = _config
    name = config.CPU_NAME or _llvm_cpu_name()
    return str(name), str(codegen.get_host_cpu_features())


def _llvm_cpu_name() -> str:
    import llvmlite.binding as llvm

    return str(llvm.get_host_cpu_name())


def _write_atomically(path: Path, text: str) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.chmod(temporary, 0o644)  # mkstemp's file is private: let every user read it
    os.replace(temporary, path)


def build(root: str | os.PathLike[str] | None = None, *, dtypes: Collection[str] = DATA_DTYPES,
          variants: Collection[str] | None = None, jobs: int | None = None,
          force: bool = False, log: Callable[[str], None] | None = None) -> Path:
    """Compile the kernels ahead of time for this machine, under ``root``; the build's folder.

    1. The build's key (:class:`BuildKey`) names its folder; a complete
       build there that has every export asked for is kept (unless
       ``force``); one that lacks some is replaced by a build of both.
    2. The exports (:func:`every_export` of ``dtypes`` and ``variants``) are
       dealt into ``jobs`` modules, compiled by ``numba.pycc`` in as many
       processes, in a temporary folder beside the build's.
    3. A manifest says which module holds which export, and the folder is
       renamed into place; if another process renamed its build there first,
       that one is kept. The CPU's name is recorded under this machine's
       fingerprint, for new processes to find the build without numba.

    Parameters
    ----------
    root : path, optional
        The cache root (default: :func:`cache_root`).
    dtypes : collection of str
        The data dtypes to compile for, as ``numpy.dtype.str`` without the
        byte order (``"f4"``; ``"u1"`` serves booleans too). Default: all.
    variants : collection of str, optional
        Only these variants (``"sweep_outer_01"``, ``"into_10101"``; see
        :func:`export_name`). Default: every one fused.py calls.
    jobs : int, optional
        Modules compiled in parallel processes (default: one per CPU; 1
        compiles in this process).
    force : bool
        Compile even when a complete build is there, and replace it.
    log : callable, optional
        Receives a line of progress now and then.

    Returns
    -------
    pathlib.Path
        The build's folder.
    """
    # Imported here, as the modules only building needs: loading a build should cost little.
    import shutil
    import tempfile

    started = time.perf_counter()
    say = log if log is not None else (lambda line: None)
    root = cache_root() if root is None else Path(root)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pycc.*")
        import numba
    cpu, features = _host_cpu()
    key = BuildKey(_source_hash(_SOURCE), numba.__version__, np.__version__, _abi(), cpu, features)
    folder = root / key.folder_name()
    root.mkdir(parents=True, exist_ok=True)
    _write_atomically(_cpu_record(root), json.dumps({"name": cpu, "features": features}))
    unknown = sorted(set(dtypes) - set(DATA_DTYPES))
    if unknown:
        raise ValueError(f"build: dtypes must be among {', '.join(DATA_DTYPES)}, got {unknown}")
    wanted = every_export(dtypes, variants)
    if not wanted:
        raise ValueError(f"build: no export matches dtypes={sorted(dtypes)} and "
                         f"variants={sorted(variants or ())}")
    present = set() if force else _exports_in(folder)
    if present and {e.name for e in wanted} <= present:
        say(f"up to date: {folder}")
        return folder
    # A build of fewer dtypes or variants is there: the new one keeps them too.
    names = {e.name for e in wanted} | present
    chosen = sorted((e for e in every_export() if e.name in names),
                    key=lambda e: (e.data, e.kind, e.name))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chosen)))
    # Consecutive runs of the sorted exports: a process that reduces one
    # dtype loads the module(s) of that dtype only.
    # Names of their own: a process that loaded a build it replaces would
    # otherwise be given the old modules again (CPython keeps extension modules).
    stem = f"lazyarray_kernels_{key.folder_name()[6:18]}_{os.urandom(3).hex()}"
    parts = {f"{stem}_{n}": chosen[n * len(chosen) // jobs:(n + 1) * len(chosen) // jobs]
             for n in range(jobs)}
    say(f"compiling {len(chosen)} kernels in {jobs} module(s) for {cpu} into {folder}")
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
    try:
        if jobs == 1:
            files = {name: _compile_module(str(temporary), name, part)
                     for name, part in parts.items()}
        else:
            # Imported here: a process that only loads kernels never needs them.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fresh interpreter per module, not a fork of one that may hold locks.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context) as pool:
                futures = {name: pool.submit(_compile_module, str(temporary), name, part)
                           for name, part in parts.items()}
                files = {name: future.result() for name, future in futures.items()}
        seconds = time.perf_counter() - started
        manifest = {"key": asdict(key), "seconds": round(seconds, 1), "modules": files,
                    "exports": {e.name: name for name, part in parts.items() for e in part}}
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        # mkdtemp's folder is private: a build in a shared folder serves every user.
        os.chmod(temporary, 0o755)
        _install(temporary, folder, replace=force or bool(present))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    forget()
    say(f"built {len(chosen)} kernels in {time.perf_counter() - started:.1f} s: {folder}")
    return folder


def _exports_in(folder: Path) -> set[str]:
    """The names of the exports of the build in ``folder`` (none if there is none)."""
    try:
        return set(json.loads((folder / "manifest.json").read_text())["exports"])
    except (OSError, ValueError, KeyError):
        return set()


def _install(temporary: Path, folder: Path, replace: bool) -> None:
    """Rename the complete build ``temporary`` to ``folder``, unless one got there first.

    With ``replace``, the build in ``folder`` is moved away first (a process
    looking meanwhile finds none, and uses numba's JIT).
    """
    import shutil

    if replace and folder.exists():
        old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
        with contextlib.suppress(OSError):
            os.rename(folder, old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(temporary, folder)
    except OSError:
        if not (folder / "manifest.json").is_file():
            raise  # not another build in the way: something is wrong with the folder
