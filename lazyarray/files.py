"""Open files: a bounded cache, validated against each file's identity before use.

Graphs built from paths (:func:`lazyarray.open_dataset`, unpickled graphs)
hold a file's path, not an open handle: each read *leases* the open file
from this cache. The cache

1. checks the path's identity (device, inode, size and modification time,
   one ``os.stat``) on every lease, so a file replaced or rewritten since it
   was opened is opened again, never read stale;
2. keeps at most ``max_open_files`` files open (see
   :class:`~lazyarray.options.Options`), one descriptor each, and closes the
   least recently used beyond that;
3. never closes a file while a lease on it is held: an evicted (or stale)
   file in use is closed when its last lease ends.

While the cache has a file open, HDF5 refuses to open it for writing in the
same process (it is open read-only); write a new file and rename it over the
old one (as :func:`lazyarray.to_hdf5` does), or :meth:`FileCache.discard` it first.

Files are opened with h5py, read-only. The direct reader
(:mod:`lazyarray.storage.hdf5`) reads with ``os.preadv`` on h5py's own
descriptor of the file (:attr:`OpenFile.fd`), so a file costs one descriptor.

Why validate on every lease: a lease is taken once per adapter read (per
tile, not per chunk), and an ``os.stat`` of a file whose directory entry is
cached costs about a microsecond, against the milliseconds of the read it
guards; checking on every lease is also what makes a graph see a file
replaced between two evaluations without any notion of "an evaluation" in
this module.

Examples
--------
>>> import h5py, numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "f.h5")
>>> with h5py.File(path, "w") as f:
...     f["x"] = np.arange(4)
>>> with lease(path) as file:
...     file.dataset("/x")[:].tolist()
[0, 1, 2, 3]
>>> with h5py.File(path + ".new", "w") as f:  # write a new file, then replace
...     f["x"] = np.arange(4) * 10
>>> os.replace(path + ".new", path)
>>> with lease(path) as file:  # the next lease sees the new file
...     file.dataset("/x")[:].tolist()
[0, 10, 20, 30]
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import h5py

from .options import get_options

__all__ = ["FileCache", "FileIdentity", "OpenFile", "default_cache", "lease", "register_kind"]


@dataclass(frozen=True)
class FileIdentity:
    """What tells one file from another at one path: ``os.stat``'s device, inode,
    size (in bytes) and modification time (in nanoseconds).

    A file replaced (a new inode) or rewritten in place (a new size or
    modification time) has another identity.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a")
    >>> with open(path, "w") as f:
    ...     _ = f.write("one")
    >>> FileIdentity.of(os.stat(path)).size
    3
    """

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        """The identity in ``stat`` (of ``os.stat`` or ``os.fstat``)."""
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)

    @property
    def inode_key(self) -> tuple[int, int]:
        """(device, inode): the file, whatever its contents."""
        return (self.device, self.inode)


#: Kinds of :class:`OpenFile` besides ``"h5py"`` and ``"raw"``: how to open
#: and close them (see :func:`register_kind`).
_KINDS: dict[str, tuple[Callable[[str], Any], Callable[[Any], None]]] = {}


def register_kind(kind: str, open: Callable[[str], Any], close: Callable[[Any], None]) -> None:
    """Let the cache open files of ``kind``: ``open(path)`` gives the handle (read-only),
    ``close(handle)`` closes it. The netCDF4 adapter registers ``"netcdf4"``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("text")
    >>> register_kind("text", lambda p: open(p), lambda handle: handle.close())
    >>> with lease(path, "text") as file:
    ...     file.handle.read()
    'text'
    >>> default_cache.clear()
    """
    _KINDS[kind] = (open, close)


class OpenFile:
    """One file opened read-only, shared by the leases on it.

    Attributes
    ----------
    path : str
        The absolute path it was opened at.
    kind : str
        ``"h5py"``: opened by h5py (:attr:`handle`), read with its descriptor;
        ``"raw"``: a bare descriptor (``os.open``), for direct reads of files
        the user opened with h5py (another h5py handle on them would keep
        HDF5 from opening them for writing in this process); or a kind
        :func:`register_kind` registered.
    identity : FileIdentity
        Of the file opened (``os.fstat`` of its descriptor; for registered
        kinds, ``identity`` as found before opening).
    handle : h5py.File or None
        ``None`` for ``"raw"``, and once closed.
    fd : int
        The descriptor, for positional reads (for ``"h5py"``, h5py's own: its
        sec2 driver's); -1 when the driver has none, for registered kinds,
        and after :meth:`close`.
    """

    def __init__(self, path: str, kind: str = "h5py", identity: FileIdentity | None = None):
        self.path = path
        self.kind = kind
        self.handle: Any = None
        if kind in _KINDS:
            # Stated before opening: a file replaced in between is then seen
            # as changed at the next lease, never the other way round.
            self.handle = _KINDS[kind][0](path)
            self.fd = -1
            self.identity = identity or FileIdentity.of(os.stat(path))
        elif kind == "raw":
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self.identity = FileIdentity.of(os.fstat(self.fd))
        else:
            self.handle = h5py.File(path, "r")
            try:
                self.fd = int(self.handle.id.get_vfd_handle())
                self.identity = FileIdentity.of(os.fstat(self.fd))
            except (OSError, TypeError, ValueError):  # a driver without a descriptor
                self.fd = -1
                self.identity = FileIdentity.of(os.stat(path))
        self._datasets: dict[str, h5py.Dataset] = {}
        self._lock = threading.Lock()
        #: Leases held; guarded by the cache's lock.
        self.leases = 0
        #: Out of the cache (evicted or stale): closed when the last lease ends.
        self.evicted = False
        self.closed = False

    def dataset(self, name: str) -> h5py.Dataset:
        """The dataset ``name`` of the file, opened once per open file."""
        found = self._datasets.get(name)
        if found is None:
            if self.handle is None:
                raise ValueError(f"{self!r} is closed, or a bare descriptor")
            with self._lock:
                found = self._datasets.get(name)
                if found is None:
                    found = self._datasets[name] = self.handle[name]
        return found

    def close(self) -> None:
        """Close the file (h5py's handle, its datasets and, if no one else in this
        process has the file open through h5py, its descriptor)."""
        if not self.closed:
            self.closed = True
            fd, self.fd = self.fd, -1
            self._datasets.clear()
            if self.kind in _KINDS:
                _KINDS[self.kind][1](self.handle)
            elif self.handle is not None:
                self.handle.close()
            else:
                os.close(fd)
            # Readers may keep this object: not h5py's, for h5py's every close
            # walks the objects of its that are alive.
            self.handle = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.leases} lease(s)"
        return f"<OpenFile {self.kind} {self.path!r} {state}>"


class FileCache:
    """A least-recently-used cache of :class:`OpenFile`, keyed by absolute path (and kind).

    Parameters
    ----------
    max_open_files : int, optional
        The bound; ``None`` (default): the ``max_open_files`` option in force
        when each lease is taken.

    Examples
    --------
    >>> import h5py, numpy as np, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> paths = [os.path.join(folder, f"{i}.h5") for i in range(3)]
    >>> for i, path in enumerate(paths):
    ...     with h5py.File(path, "w") as f:
    ...         f["x"] = np.full(2, i)
    >>> cache = FileCache(max_open_files=2)
    >>> for path in paths:
    ...     with cache.lease(path) as file:
    ...         _ = file.dataset("x")[0]
    >>> [os.path.basename(p) for p in cache.paths()]  # the first was evicted and closed
    ['1.h5', '2.h5']
    >>> cache.clear()
    """

    def __init__(self, max_open_files: int | None = None):
        self._max = max_open_files
        self._files: OrderedDict[tuple[str, str], OpenFile] = OrderedDict()
        self._lock = threading.Lock()

    def paths(self, kind: str = "h5py") -> list[str]:
        """The paths open as ``kind``, least recently used first."""
        with self._lock:
            return [path for path, k in self._files if k == kind]

    def __len__(self) -> int:
        return len(self._files)

    def _bound(self, bound: int | None) -> int:
        if self._max is not None:
            return self._max
        return bound if bound is not None else get_options().max_open_files

    def acquire(self, path: str | os.PathLike[str], kind: str = "h5py",
                bound: int | None = None) -> OpenFile:
        """Lease the file at ``path``: open (or reopen, if its identity changed), in use
        until :meth:`release`. Prefer :meth:`lease`.

        ``bound``: the most files to keep open (the evaluation's
        ``max_open_files``, say); by default the cache's own, or else the
        option in force (:func:`lazyarray.get_options`).

        Raises
        ------
        OSError
            If the path cannot be opened (``FileNotFoundError`` if it is gone).
        """
        path = os.path.abspath(os.fspath(path))
        identity = FileIdentity.of(os.stat(path))
        key = (path, kind)
        with self._lock:
            file = self._files.get(key)
            if file is not None and file.identity == identity:
                self._files.move_to_end(key)
                file.leases += 1
            else:
                if file is not None:
                    # Replaced or rewritten since it was opened: never read it again.
                    del self._files[key]
                    self._retire(file)
                file = OpenFile(path, kind, identity)
                file.leases = 1
                self._files[key] = file
            # On every lease, not only on opening: an evaluation may keep
            # fewer open than the files opened before it (max_open_files=).
            limit = self._bound(bound)
            while len(self._files) > limit:
                _, oldest = self._files.popitem(last=False)
                self._retire(oldest)
            return file

    def release(self, file: OpenFile) -> None:
        """End a lease :meth:`acquire` gave; a retired file closes with its last lease."""
        with self._lock:
            file.leases -= 1
            if file.evicted and file.leases == 0:
                file.close()

    @staticmethod
    def _retire(file: OpenFile) -> None:
        """Take ``file`` out of use: closed now, or when its last lease ends."""
        file.evicted = True
        if file.leases == 0:
            file.close()

    @contextmanager
    def lease(self, path: str | os.PathLike[str], kind: str = "h5py",
              bound: int | None = None) -> Iterator[OpenFile]:
        """The open file at ``path``, validated, not closed inside the ``with`` block
        (``bound`` as for :meth:`acquire`)."""
        file = self.acquire(path, kind, bound)
        try:
            yield file
        finally:
            self.release(file)

    def discard(self, path: str | os.PathLike[str]) -> None:
        """Close the files open at ``path`` (of every kind; those in use when their
        leases end): before opening it for writing in this process, say."""
        path = os.path.abspath(os.fspath(path))
        with self._lock:
            for key in [key for key in self._files if key[0] == path]:
                self._retire(self._files.pop(key))

    def clear(self) -> None:
        """Close every file (those in use when their leases end)."""
        with self._lock:
            files = list(self._files.values())
            self._files.clear()
            for file in files:
                self._retire(file)


#: The cache every adapter of a path uses.
default_cache = FileCache()


def lease(path: str | os.PathLike[str], kind: str = "h5py", bound: int | None = None) -> Any:
    """``default_cache.lease(path, kind, bound)``: see :meth:`FileCache.lease`."""
    return default_cache.lease(path, kind, bound)
