"""Where the HDF5 readers' bytes come from: file descriptors and positional reads.

The readers hold no descriptor of their own. They read with one given to
them for the read (a lease of :class:`lazyarray.files.OpenFile`), or with
h5py's own descriptor of the dataset's file (:func:`handle_file`), valid
while h5py keeps the file open. Either way a file costs one descriptor.

Reads are positional (:func:`pread`, ``os.preadv``): they are thread-safe,
and leave the descriptor's offset, which HDF5 may use, alone.
"""

from __future__ import annotations

import os
from typing import Protocol

import h5py

__all__ = ["HandleFile", "ReadableFile", "handle_file", "pread"]


class ReadableFile(Protocol):
    """Where a reader's bytes come from: a path (for messages) and a descriptor
    open for reading, valid while the reader reads (a lease of
    :class:`lazyarray.files.OpenFile`, or the h5py file of :class:`HandleFile`)."""

    @property
    def path(self) -> str: ...

    @property
    def fd(self) -> int: ...


class HandleFile:
    """h5py's own descriptor of a dataset's file, kept open by the dataset.

    Valid while the dataset is: once its file is closed, reads raise instead
    of reading whatever file the descriptor's number names next.
    """

    def __init__(self, dataset: h5py.Dataset, path: str, fd: int):
        self._dataset = dataset
        self.path = path
        self._fd = fd

    @property
    def fd(self) -> int:
        if not self._dataset.id.valid:
            raise ValueError(f"{self.path}: the h5py file was closed")
        return self._fd


def handle_file(dataset: h5py.Dataset) -> HandleFile | None:
    """h5py's descriptor of ``dataset``'s file, or ``None`` (a driver without one)."""
    try:
        file = dataset.file
        fd = int(file.id.get_vfd_handle())
        os.fstat(fd)
    except (OSError, TypeError, ValueError):
        return None
    return HandleFile(dataset, file.filename, fd)


def pread(fd: int, buffer: memoryview, offset: int) -> int:
    """Fill ``buffer`` from ``offset`` of ``fd``; the number of bytes read (short at EOF).

    Every byte of stored data the readers fetch goes through this function
    (looked up on this module at each call, so tests may wrap it to count).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "bytes")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"0123456789")
    >>> fd = os.open(path, os.O_RDONLY)
    >>> buffer = bytearray(4)
    >>> pread(fd, memoryview(buffer), 8), bytes(buffer[:2])
    (2, b'89')
    >>> os.close(fd)
    """
    done = 0
    total = buffer.nbytes
    while done < total:
        n = os.preadv(fd, [buffer[done:]], offset + done)
        if n <= 0:
            break
        done += n
    return done
