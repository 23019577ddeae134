"""Publishing a new file or Zarr store all or nothing: written aside, synced, renamed in.

A writer creates its output under a temporary name beside the destination
(:func:`temporary_path`) and, once everything is written, syncs it and
publishes it (:func:`publishing`):

1. Check the destination before anything is evaluated
   (:func:`check_destination`): a file never replaces a directory, a Zarr
   store replaces only a Zarr store or an empty directory.
2. Remove temporaries in that directory whose owner process is gone
   (:func:`remove_stale`).
3. Write into the temporary. A ``KeyboardInterrupt``, a ``SIGTERM`` or any
   exception removes it (after Zarr's writer threads have stopped) and is
   re-raised. Meanwhile a file's data is sent to the disk as it is written
   (:class:`_Writeback`), so that step 4 has little left to wait for.
4. ``fsync`` the data (every file and directory of a store), then the
   directory that holds it.
5. Publish without clobbering: ``renameat2(RENAME_NOREPLACE)`` where the
   kernel and filesystem have it, else ``link`` then ``unlink`` (a file) or
   ``mkdir`` as an exclusive claim then ``rename`` onto the empty directory
   (a store). Of several writers of one new path exactly one wins; the
   others raise ``FileExistsError``. A file is replaced by ``rename``; a
   store by ``renameat2(RENAME_EXCHANGE)`` (so the path holds the old or the
   new store at every instant), else by moving the old store aside, the new
   one in, and deleting the old one (moved back if the new one cannot go
   in).
6. ``fsync`` the directory again, so the rename itself is durable.

How temporaries are named, and how a write tells those whose owner is gone,
is :mod:`lazyarray.temporaries`'s (whose :class:`Owner`,
:func:`temporary_path` and :func:`remove_stale` are re-exported here).
An HDF5 writer also reserves the disk space its file will take
(:func:`reserve_space`), so that a full disk raises before HDF5 writes.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "out.bin")
>>> with publishing(path, "file", overwrite=False, operation="demo") as temporary:
...     with open(temporary, "wb") as f:
...         _ = f.write(b"all or nothing")
>>> from pathlib import Path
>>> os.listdir(folder), Path(path).read_bytes()
(['out.bin'], b'all or nothing')
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from .temporaries import NAME_PATTERN as _PATTERN  # noqa: F401 - tests match names here
from .temporaries import Owner, remove_path, remove_stale, temporary_path

__all__ = [
    "Owner",
    "check_destination",
    "publishing",
    "remove_stale",
    "reserve_space",
    "temporary_path",
]

Kind = Literal["file", "store"]

_ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_FALLOC_FL_KEEP_SIZE = 1
_SYNC_FILE_RANGE_WRITE = 2
_AT_FDCWD = -100


def _error(kind: type[OSError], message: str) -> OSError:
    """``kind(message)`` with its ``errno`` set, printed as just the message."""
    error = kind(message)
    error.errno = errno.EISDIR if kind is IsADirectoryError else errno.EEXIST
    return error


def _is_empty(path: str | os.PathLike[str]) -> bool:
    with os.scandir(path) as entries:
        return not any(True for _ in entries)


def _is_store(path: Path) -> bool:
    return any((path / marker).exists() for marker in _ZARR_MARKERS)


def check_destination(path: str | os.PathLike[str], kind: Kind, overwrite: bool,
                      operation: str) -> Path:
    """Refuse a destination that a new output may not replace; the path to write.

    A ``"file"`` may replace a file (with ``overwrite``) but never a
    directory; a ``"store"`` (a Zarr directory store) may replace a Zarr store
    or an empty directory (with ``overwrite``) and nothing else.

    Raises
    ------
    IsADirectoryError
        A file's path names a directory (``"out/"``, ``"out/."`` included).
    FileExistsError
        Something is at the path and ``overwrite`` is false, or it is
        something this kind of output does not replace.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_destination(folder, "file", True, "to_hdf5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IsADirectoryError: to_hdf5: ... is a directory; a file is never written in its place
    >>> os.mkdir(os.path.join(folder, "notes"))
    >>> open(os.path.join(folder, "notes", "x.txt"), "w").close()
    >>> check_destination(os.path.join(folder, "notes"), "store", True, "to_zarr")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: to_zarr: ...notes is a directory but not a Zarr store (...); ...
    """
    raw = os.fspath(path)
    resolved = Path(raw)
    if kind == "file":
        if (raw.endswith((os.sep, "/.")) or resolved.name in ("", ".", "..")
                or os.path.isdir(raw)):
            raise _error(IsADirectoryError,
                         f"{operation}: {raw} is a directory; a file is never written in its place")
        if os.path.lexists(raw) and not overwrite:
            raise _error(FileExistsError,
                         f"{operation}: {raw} exists; pass overwrite=True to replace it")
        return resolved
    if resolved.name in ("", ".", ".."):
        raise _error(FileExistsError, f"{operation}: {raw} names no new store")
    if not os.path.lexists(raw):
        return resolved
    if os.path.islink(raw) or not os.path.isdir(raw):
        what = "a symbolic link" if os.path.islink(raw) else "not a directory"
        raise _error(FileExistsError, f"{operation}: {raw} exists and is {what}; only a Zarr "
                     "store or an empty directory is replaced")
    if not overwrite:
        raise _error(FileExistsError,
                     f"{operation}: {raw} exists; pass overwrite=True to replace it")
    if not _is_empty(raw) and not _is_store(resolved):
        raise _error(FileExistsError, f"{operation}: {raw} is a directory but not a Zarr store "
                     f"(no {', '.join(_ZARR_MARKERS)}); only a Zarr store or an empty directory "
                     "is replaced")
    return resolved


_libc: Any = None


def _c_library() -> Any:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc = False
    return _libc


def _renameat2(source: Path, destination: Path, flags: int) -> bool:
    """``renameat2(source, destination, flags)``; False where there is none.

    Errors other than "not supported here" are raised as ``OSError`` (e.g.
    ``FileExistsError`` for ``RENAME_NOREPLACE``).
    """
    libc = _c_library()
    function = getattr(libc, "renameat2", None) if libc else None
    if function is None:
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    result = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination),
                      flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(destination))


def reserve_space(path: str | os.PathLike[str], nbytes: int) -> int | None:
    """Reserve ``nbytes`` of disk for ``path`` to grow into; an open descriptor.

    The blocks are allocated beyond the end of the file (its size does not
    change), so a writer that fills them later cannot run out of space. Close
    the descriptor with :func:`release_space` when the file is complete.
    None where the filesystem cannot reserve (nothing is reserved).

    Raises
    ------
    OSError
        With ``errno.ENOSPC``: there is not that much room.
    """
    libc = _c_library()
    function = getattr(libc, "fallocate", None) if libc else None
    if function is None or nbytes <= 0:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    descriptor = os.open(path, os.O_RDWR)
    if function(descriptor, _FALLOC_FL_KEEP_SIZE, 0, nbytes) == 0:
        return descriptor
    code = ctypes.get_errno()
    os.close(descriptor)
    if code == errno.ENOSPC:
        raise OSError(errno.ENOSPC, f"{os.strerror(code)}: cannot reserve {nbytes} bytes",
                      os.fspath(path))
    return None


def release_space(descriptor: int | None) -> None:
    """Give back what :func:`reserve_space` reserved and the file did not use."""
    if descriptor is None:
        return
    try:
        # Truncating to the current size frees blocks beyond the end.
        os.ftruncate(descriptor, os.fstat(descriptor).st_size)
    finally:
        os.close(descriptor)


def _fsync(path: Path | str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Writeback:
    """Sends a file's data to the disk while it is being written.

    The ``fsync`` before publishing must wait until every byte is on the
    disk. Started only then, it added the whole time the disk takes to write
    the output to the call: 2.6 s of 5.0 s for the 2 GB of ``make bench``'s
    workload (c). This thread asks the kernel, every ``interval`` seconds, to
    start writing the file's dirty pages (``sync_file_range`` with
    ``SYNC_FILE_RANGE_WRITE``, which does not wait, where the C library has
    it; else ``fdatasync``, in this thread), so that the disk works while the
    evaluation computes, and the final ``fsync`` finds little left.

    It is only a head start: durability still comes from the ``fsync`` in
    :func:`_sync`. ``sync_file_range`` reports no write error (the ``fsync``
    does); an ``fdatasync`` that fails is raised by :meth:`close`, since it
    may have reported the error in the ``fsync``'s place.
    """

    def __init__(self, path: Path, interval: float = 0.25):
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self.error: OSError | None = None
        libc = _c_library()
        self._range = getattr(libc, "sync_file_range", None) if libc else None
        if self._range is not None:
            self._range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        self._thread = threading.Thread(target=self._run, name="lazyarray-writeback",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        descriptor: int | None = None
        try:
            while not self._stop.wait(self._interval):
                if descriptor is None:
                    try:
                        descriptor = os.open(self._path, os.O_RDONLY)
                    except OSError:
                        continue  # not created yet
                if self._range is not None:
                    self._range(descriptor, 0, 0, _SYNC_FILE_RANGE_WRITE)
                else:
                    os.fdatasync(descriptor)
        except OSError as error:
            self.error = error
        finally:
            if descriptor is not None:
                os.close(descriptor)

    def stop(self) -> None:
        """Stop sending, once the file is written or abandoned (started or not)."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()

    def close(self) -> None:
        """Stop; raise what a failed ``fdatasync`` said."""
        self.stop()
        if self.error is not None:
            raise self.error


def _sync(temporary: Path) -> None:
    """fsync a file, or every file and directory of a tree, then its directory."""
    if temporary.is_dir():
        files: list[str] = []
        directories: list[str] = []
        for root, _, names in os.walk(temporary, topdown=False):
            files.extend(os.path.join(root, name) for name in names)
            directories.append(root)  # deepest first, the store itself last
        # Many small chunk files: syncing them together lets the filesystem
        # commit them in fewer journal transactions.
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="lazyarray-fsync") as pool:
            list(pool.map(_fsync, files))
        for directory in directories:
            _fsync(directory)
    else:
        _fsync(temporary)
    _fsync(temporary.parent)


def _taken(path: Path, operation: str) -> OSError:
    return _error(FileExistsError, f"{operation}: {path} was created by another writer "
                  "meanwhile; pass overwrite=True to replace it")


def _publish_file(temporary: Path, path: Path, overwrite: bool, operation: str) -> None:
    if overwrite:
        os.replace(temporary, path)  # onto a directory: IsADirectoryError
        return
    try:
        if _renameat2(temporary, path, _RENAME_NOREPLACE):
            return
        os.link(temporary, path)
    except FileExistsError:
        raise _taken(path, operation) from None
    os.unlink(temporary)


def _publish_store(temporary: Path, path: Path, overwrite: bool, operation: str) -> None:
    try:
        if _renameat2(temporary, path, _RENAME_NOREPLACE):
            return
        # An empty directory claims the name; rename may replace an empty
        # directory in one step.
        os.mkdir(path)
        os.rename(temporary, path)
        return
    except FileExistsError:
        if not overwrite:
            raise _taken(path, operation) from None
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        if not overwrite:
            raise _taken(path, operation) from None
    check_destination(path, "store", True, operation)  # still a store we may replace?
    if _is_empty(path):
        os.rename(temporary, path)
        return
    if _renameat2(temporary, path, _RENAME_EXCHANGE):
        remove_path(temporary)  # now the old store
        return
    aside = temporary_path(path, "old")
    os.rename(path, aside)
    try:
        os.rename(temporary, path)
    except BaseException:
        os.rename(aside, path)
        raise
    remove_path(aside)


class _Terminated(BaseException):
    """SIGTERM arrived during a write (raised in the main thread)."""


class _SigtermGuard:
    """Turns SIGTERM into :class:`_Terminated` while a write runs.

    Installed only in the main thread and only over the default action (a
    handler the program set, or an ignored SIGTERM, is left alone: its own
    exceptions are cleaned up like any other). After clean-up,
    :meth:`close` restores the default action and sends SIGTERM again, so the
    process ends as it would have, by the signal.
    """

    def __init__(self) -> None:
        self.installed = (threading.current_thread() is threading.main_thread()
                          and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        self.armed = True
        self.received = False
        if self.installed:
            signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        if self.armed:
            self.armed = False
            raise _Terminated(signum)

    def close(self) -> None:
        if not self.installed:
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if self.received:
            signal.raise_signal(signal.SIGTERM)


_DRAIN = "lazyarray-drain"


def _wait_for_zarr(timeout: float = 60.0) -> None:
    """Wait until Zarr's event loop has finished what it was doing.

    An exception in the thread waiting on Zarr (``KeyboardInterrupt``) leaves
    Zarr's writes running in its own loop; a store cannot be removed while
    they still create files.
    """
    try:
        from zarr.core import sync as zarr_sync
    except ImportError:  # pragma: no cover - another zarr
        return
    # asyncio (and ssl with it: 25 ms) is imported here rather than with this
    # module, which every writer loads: only stopping an interrupted Zarr write
    # needs it, and by then Zarr has imported it.
    import asyncio

    loop = getattr(zarr_sync, "loop", [None])[0]
    if loop is None or loop.is_closed() or not loop.is_running():
        return

    async def drain() -> None:
        asyncio.current_task().set_name(_DRAIN)  # type: ignore[union-attr]
        while True:  # other writers' drains wait too: not for each other
            running = [t for t in asyncio.all_tasks() if t.get_name() != _DRAIN and not t.done()]
            if not running:
                return
            await asyncio.wait(running)

    future = asyncio.run_coroutine_threadsafe(drain(), loop)
    try:
        future.result(timeout)
    except Exception:  # noqa: BLE001 - best effort; removal below retries
        future.cancel()


def _disk_full(error: BaseException) -> OSError | None:
    """The ``ENOSPC`` error in ``error``'s chain, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return current
        current = current.__cause__ or current.__context__
    return None


def _discard(temporary: Path, wait: bool) -> None:
    if wait:
        _wait_for_zarr()
    for attempt in range(5):
        try:
            remove_path(temporary)
            return
        except OSError as error:  # a straggling writer added a file: try again
            if error.errno != errno.ENOTEMPTY or attempt == 4:
                raise


@contextlib.contextmanager
def publishing(path: str | os.PathLike[str], kind: Kind, overwrite: bool,
               operation: str, durable: bool = True) -> Iterator[Path]:
    """A temporary path to write into, published at ``path`` if the block succeeds.

    See the module's description for the steps. On any exception,
    ``KeyboardInterrupt`` and ``SIGTERM`` included, the temporary is removed
    and ``path`` is left as it was; a full disk is raised as an ``OSError``
    whose ``errno`` is ``ENOSPC``; SIGTERM is sent again once the clean-up is
    done (see :class:`_SigtermGuard`).

    Parameters
    ----------
    path : path-like
        Where the output goes.
    kind : {"file", "store"}
        A single file, or a directory (Zarr) store.
    overwrite : bool
        Whether what is at ``path`` may be replaced (see
        :func:`check_destination`).
    operation : str
        Named in error messages.
    durable : bool
        Whether to ``fsync`` (steps 3, 4 and 6); without, the output is
        published once it is in the operating system's cache (the
        ``fsync`` option).
    """
    destination = check_destination(path, kind, overwrite, operation)
    remove_stale(destination.parent)
    temporary = temporary_path(destination)
    guard = _SigtermGuard()
    writeback: _Writeback | None = None
    written = False
    try:
        try:
            if durable and kind == "file":
                # Made and started here, so that a SIGTERM meanwhile is handled below.
                writeback = _Writeback(temporary)
                writeback.start()
            try:
                yield temporary
            except BaseException:
                if writeback is not None:
                    writeback.stop()  # the write's own error is the one to raise
                raise
            if writeback is not None:
                writeback.close()
            written = True
            guard.armed = False
            if durable:
                _sync(temporary)
            publish = _publish_file if kind == "file" else _publish_store
            publish(temporary, destination, overwrite, operation)
            if durable:
                _fsync(destination.parent)
        except BaseException as error:
            guard.armed = False
            if writeback is not None:
                writeback.stop()
            # Zarr may still be writing only if the write itself failed.
            _discard(temporary, wait=kind == "store" and not written)
            full = _disk_full(error)
            if full is not None and full is not error:
                raise OSError(errno.ENOSPC, f"{operation}: no space left on device writing "
                              f"{destination} ({full})", os.fspath(destination)) from error
            raise
    finally:
        guard.close()
