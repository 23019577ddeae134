"""What an HDF5 file states about one dataset's storage, checked against h5py.

The readers rely on the file's own statements (:mod:`.headers`) only where
h5py, asked the same questions through HDF5, agrees with them: the base
address, the dimensions, the layout class and, for chunked storage, the
chunk shape and element size. :func:`storage_facts` gathers them, or gives
``None`` when anything cannot be read or disagrees (the dataset is then
read through h5py).
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py

from .headers import (
    CHUNKED,
    CONTIGUOUS,
    DONT_FILTER_PARTIAL_BOUND_CHUNKS,
    SINGLE_INDEX_WITH_FILTER,
    Layout,
    read_dataset_header,
    read_superblock,
)

__all__ = ["Storage", "storage_facts"]


@dataclass(frozen=True)
class Storage:
    """What an HDF5 file states about one dataset's storage, checked against h5py.

    Attributes
    ----------
    fd : int
        A descriptor of the file, open for reading.
    base : int
        The file offset of the file's base address, in bytes: what every
        address the file stores counts from (the user block's size).
    layout : lazyarray.storage.hdf5.headers.Layout
        The dataset's data layout message.
    """

    fd: int
    base: int
    layout: Layout


def storage_facts(dataset: h5py.Dataset, fd: int) -> Storage | None:
    """What the file open at ``fd`` states about ``dataset``'s storage, or ``None``.

    1. The superblock (:func:`~lazyarray.storage.hdf5.headers.read_superblock`)
       gives the base address: its location, which must be the base address
       it states and the user block's size h5py reports.
    2. The dataset's object header, at the address HDF5 gives (relative to
       the base address), is read with its dataspace and data layout
       messages (:func:`~lazyarray.storage.hdf5.headers.read_dataset_header`).
    3. They must agree with h5py: the dimensions, the layout class, and for
       chunked storage the chunk shape and element size.

    ``None`` when anything cannot be read or disagrees.

    Examples
    --------
    >>> import h5py, numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "f.h5")
    >>> with h5py.File(path, "w", userblock_size=4096) as f:
    ...     _ = f.create_dataset("x", data=np.zeros((3, 4), "f4"))
    >>> fd = os.open(path, os.O_RDONLY)
    >>> facts = storage_facts(h5py.File(path, "r")["x"], fd)
    >>> facts.base, facts.layout.layout_class == CONTIGUOUS, facts.layout.size
    (4096, True, 48)
    >>> os.close(fd)
    """
    superblock = read_superblock(fd)
    try:
        userblock = int(dataset.file.userblock_size)
        header = int(h5py.h5o.get_info(dataset.id).addr)
        layout_class = dataset.id.get_create_plist().get_layout()
    except (AttributeError, RuntimeError, ValueError):
        return None
    if superblock is None or not superblock.location == superblock.base_address == userblock:
        return None
    stated = read_dataset_header(fd, header, superblock.location)
    if stated is None or stated.dims != tuple(int(n) for n in dataset.shape):
        return None
    layout = stated.layout
    if layout_class == h5py.h5d.CONTIGUOUS:
        if layout.layout_class != CONTIGUOUS or layout.size is None:
            return None
    elif layout_class == h5py.h5d.CHUNKED:
        if (
            layout.layout_class != CHUNKED
            or layout.chunks != tuple(int(c) for c in dataset.chunks)
            or layout.itemsize != dataset.dtype.itemsize
            or layout.flags & ~(DONT_FILTER_PARTIAL_BOUND_CHUNKS | SINGLE_INDEX_WITH_FILTER)
        ):
            return None
    else:
        return None
    return Storage(fd, superblock.location, layout)
