"""Where each stored chunk of a dataset is: the chunk index, as arrays over the grid.

:class:`ChunkIndex` holds, for every chunk of the grid, its file offset
(-1 where none is allocated), stored size and filter mask, so the chunks a
selection touches are a slice of numpy arrays, found without looping over
chunks. It is built once per dataset (:meth:`ChunkIndex.build`) from a
*chunk table*, one row per stored chunk:

* for layout version 3 (HDF5's default file format), the version 1 B-tree
  the layout points to (:func:`btree_table`, read by
  :mod:`lazyarray.storage.hdf5.btree`), used only if HDF5 counts as many
  chunks;
* for other layouts (``libver="latest"``), HDF5's ``chunk_iter``
  (:func:`hdf5_table`), whose addresses include the user block from HDF5
  1.14.4 on and are relative to the base address before (HDFGroup/hdf5
  issue 3003, pull request 4236), as :func:`chunk_address_shift` says.

Either way the table's addresses are made file offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

# The module, not its function: tests replace ``btree.btree_chunks`` to feed
# a damaged table, and the lookup at each call sees the replacement.
from . import btree
from .facts import Storage
from .headers import BTREE_INDEX, DONT_FILTER_PARTIAL_BOUND_CHUNKS, Layout

__all__ = [
    "CHUNK_QUERIES_ADD_BASE",
    "ChunkIndex",
    "btree_table",
    "chunk_address_shift",
    "hdf5_table",
]

#: The first HDF5 release whose chunk queries (``H5Dchunk_iter``,
#: ``H5Dget_chunk_info``) report a chunk's address with the base address
#: added (HDFGroup/hdf5 pull request 4236, fixing issue 3003). Before it they
#: report the address as the file stores it, relative to the base address.
#: (``H5Dget_offset`` of contiguous data has always added it; it is not used.)
CHUNK_QUERIES_ADD_BASE = (1, 14, 4)


def chunk_address_shift(base: int) -> int:
    """What to add to a chunk address HDF5's chunk queries report, to make it a file offset.

    The rule is the HDF5 library's, by its version (:data:`CHUNK_QUERIES_ADD_BASE`);
    ``base`` is the file offset of the base address.

    Examples
    --------
    >>> chunk_address_shift(0)
    0
    >>> chunk_address_shift(512) == (0 if h5py.version.hdf5_version_tuple >= (1, 14, 4) else 512)
    True
    """
    return 0 if tuple(h5py.version.hdf5_version_tuple) >= CHUNK_QUERIES_ADD_BASE else base


#: A filter mask with every filter skipped.
_NO_FILTERS = 0xFFFFFFFF


@dataclass(frozen=True)
class ChunkIndex:
    """Where each stored chunk of a dataset is, as arrays over the chunk grid.

    Attributes
    ----------
    chunks : tuple of int
        The chunk shape.
    offsets : numpy.ndarray of int64, shape of the chunk grid
        File offset of each chunk in bytes, -1 where none is allocated.
    sizes : numpy.ndarray of int64
        Stored size of each chunk, in bytes.
    masks : numpy.ndarray of uint32
        Each chunk's filter mask: bit ``i`` set when filter ``i`` was skipped
        (all set for partial edge chunks that the layout says are stored
        without filters).
    """

    chunks: tuple[int, ...]
    offsets: np.ndarray
    sizes: np.ndarray
    masks: np.ndarray

    @classmethod
    def build(cls, dataset: h5py.Dataset, storage: Storage) -> ChunkIndex:
        """The index of ``dataset``, whose storage the file states as ``storage``.

        1. Layout version 3: the chunk table is read from the version 1
           B-tree the layout points to, if it reads whole and HDF5 counts as
           many chunks (a check that no subtree was missed); its addresses
           are relative to the base address.
        2. Otherwise it comes from HDF5 (one ``chunk_iter`` call), whose
           addresses are made file offsets by :func:`chunk_address_shift`.
        3. Where the layout says partial edge chunks are stored without
           filters, their filter masks skip every filter, as HDF5 reads them.
        """
        table = btree_table(dataset, storage)
        if table is None:
            table = hdf5_table(dataset, storage.base)
        return cls.from_table(dataset, table, storage.layout)

    @classmethod
    def from_table(cls, dataset: h5py.Dataset, table: np.ndarray, layout: Layout) -> ChunkIndex:
        """The index from a chunk table: one row per stored chunk, its origin (in
        elements), then its file offset, stored size and filter mask."""
        chunks = tuple(int(c) for c in dataset.chunks)
        shape = tuple(int(n) for n in dataset.shape)
        grid = tuple(-(-n // c) for n, c in zip(shape, chunks))
        offsets = np.full(grid, -1, np.int64)
        sizes = np.zeros(grid, np.int64)
        masks = np.zeros(grid, np.uint32)
        if table.size:
            position = table[:, : len(grid)] // np.array(chunks, np.int64)
            # Chunks left beyond a shrunk extent are never read (nor by HDF5).
            inside = np.all(position < np.array(grid, np.int64), axis=1)
            where = tuple(position[inside].T)
            offsets[where] = table[inside, -3]
            sizes[where] = table[inside, -2]
            masks[where] = table[inside, -1]
        if layout.flags & DONT_FILTER_PARTIAL_BOUND_CHUNKS:
            # HDF5 neither filters nor unfilters a chunk that reaches past the
            # dataset's current extent (H5D__chunk_is_partial_edge_chunk).
            for axis, (n, c) in enumerate(zip(shape, chunks)):
                if n % c:
                    masks[(slice(None),) * axis + (-1,)] = _NO_FILTERS
        return cls(chunks, offsets, sizes, masks)


def btree_table(dataset: h5py.Dataset, storage: Storage) -> np.ndarray | None:
    """The chunk table of ``dataset`` read from its version 1 B-tree, addresses made
    file offsets; ``None`` if it has none, or HDF5 counts another number of chunks."""
    layout = storage.layout
    if layout.version != 3 or layout.index != BTREE_INDEX:
        return None
    if layout.address is None:  # nothing written: no B-tree yet
        table = np.zeros((0, dataset.ndim + 3), np.int64)
    else:
        found = btree.btree_chunks(storage.fd, layout.address, storage.base,
                                    dataset.shape, dataset.chunks)
        if found is None:
            return None
        table = found.copy()
        table[:, -3] += storage.base
    return table if len(table) == dataset.id.get_num_chunks() else None


def hdf5_table(dataset: h5py.Dataset, base: int) -> np.ndarray:
    """The chunk table of ``dataset`` from HDF5 (one ``chunk_iter`` call where it has
    one), addresses made file offsets; ``base`` is the base address's file offset."""
    rows: list[tuple[int, ...]] = []
    keep = rows.append

    def add(info: Any) -> None:
        keep((*info.chunk_offset, info.byte_offset, info.size, info.filter_mask))

    if hasattr(dataset.id, "chunk_iter"):
        dataset.id.chunk_iter(add)
    else:
        for i in range(dataset.id.get_num_chunks()):
            add(dataset.id.get_chunk_info(i))
    table = np.array(rows, np.int64).reshape(len(rows), dataset.ndim + 3)
    table[:, -3] += chunk_address_shift(base)
    return table
