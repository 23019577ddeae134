"""Where a dataset's chunks are, as its version 1 B-tree states it.

A chunked dataset written with HDF5's default file format (netCDF-4's
included) has a data layout message of version 3 pointing to a version 1
B-tree (:mod:`lazyarray.storage.hdf5.headers` reads the message). Its
nodes (``TREE``, node type 1) hold one key and one address per child: the
key is the stored size, filter mask and origin of the first chunk below
it; the address is a chunk's in a leaf (level 0), a node's of the next
level down otherwise (:func:`btree_chunks`). Reading it is much faster than
asking HDF5 chunk by chunk (docs/performance.md, "Reading storage
directly").

Every node and key must be what the format says (signatures, levels, keys
within the dataset and in order); anything else gives ``None``, and the
caller asks HDF5. Addresses are returned as the file stores them, relative
to the base address.

Examples
--------
>>> import h5py, numpy as np, os, tempfile
>>> from lazyarray.storage.hdf5.headers import read_dataset_header, read_superblock
>>> path = os.path.join(tempfile.mkdtemp(), "b.h5")
>>> with h5py.File(path, "w", userblock_size=512) as f:
...     _ = f.create_dataset("x", data=np.arange(24.0).reshape(4, 6), chunks=(2, 3))
>>> dataset = h5py.File(path, "r")["x"]
>>> fd = os.open(path, os.O_RDONLY)
>>> base = read_superblock(fd).location
>>> header = read_dataset_header(fd, h5py.h5o.get_info(dataset.id).addr, base)
>>> table = btree_chunks(fd, header.layout.address, base, (4, 6), (2, 3))
>>> table[:, :2].tolist()  # the origins of the stored chunks
[[0, 0], [0, 3], [2, 0], [2, 3]]
>>> table[:, 3].tolist()  # their stored sizes, in bytes
[48, 48, 48, 48]
>>> os.close(fd)
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Sequence

import numpy as np

from .headers import CHUNKED, Malformed, read_block, read_dataset_header

__all__ = ["btree_chunks", "chunk_table"]

#: Entries read with a node's header in one system call; nodes of HDF5's
#: default chunk B-tree (K = 32) hold at most 64, bigger ones are read again.
_ENTRIES_READ = 64


def chunk_table(fd: int, header: int, base: int, shape: Sequence[int], chunks: Sequence[int],
                itemsize: int) -> np.ndarray | None:
    """Every stored chunk of a dataset, from its version 1 B-tree; ``None`` if it has none.

    Reads the object header (:func:`read_dataset_header`), then the B-tree
    its layout points to (:func:`btree_chunks`).

    Parameters
    ----------
    fd : int
        A descriptor of the file, open for reading.
    header : int
        The address of the dataset's object header (``h5py.h5o.get_info``),
        relative to the base address.
    base : int
        The file offset of the file's base address, in bytes (the superblock's
        location: the user block's size, or 0).
    shape, chunks : sequence of int
        The dataset's shape and chunk shape, which the header must agree with.
    itemsize : int
        Bytes per element, which the layout must state.

    Returns
    -------
    numpy.ndarray of int64, shape (stored chunks, len(shape) + 3), or None
        As :func:`btree_chunks`. ``None`` when the dataset's chunks are not
        indexed by a version 1 B-tree, or what was read does not hold together.
    """
    stated = read_dataset_header(fd, header, base)
    if stated is None or stated.dims != tuple(shape):
        return None
    layout = stated.layout
    if (layout.version != 3 or layout.layout_class != CHUNKED
            or layout.chunks != tuple(chunks) or layout.itemsize != itemsize):
        return None
    if layout.address is None:
        return np.zeros((0, len(shape) + 3), np.int64)
    return btree_chunks(fd, layout.address, base, shape, chunks)


def btree_chunks(fd: int, root: int, base: int, shape: Sequence[int],
                 chunks: Sequence[int]) -> np.ndarray | None:
    """Every chunk indexed by the version 1 B-tree whose root node is at ``root``.

    Parameters
    ----------
    fd : int
        A descriptor of the file, open for reading.
    root : int
        The root node's address, relative to the base address (a version 3
        layout's :attr:`Layout.address`).
    base : int
        The file offset of the base address, in bytes.
    shape, chunks : sequence of int
        The dataset's shape and chunk shape.

    Returns
    -------
    numpy.ndarray of int64, shape (stored chunks, len(shape) + 3), or None
        One row per stored chunk, in the B-tree's order: the chunk's origin
        (element coordinates), its address (relative to the base address),
        its stored size in bytes and its filter mask. ``None`` when a node or
        key is not what the format says.
    """
    try:
        return _leaf_table(fd, root, base, shape, chunks)
    except (Malformed, struct.error, OSError, OverflowError):
        return None


def _leaf_table(fd: int, root: int, base: int, shape: Sequence[int],
                chunks: Sequence[int]) -> np.ndarray:
    """The rows of :func:`btree_chunks` from the B-tree whose root node is at ``root``."""
    rank = len(shape)
    entry = np.dtype([("size", "<u4"), ("mask", "<u4"), ("origin", "<u8", (rank + 1,)),
                      ("child", "<u8")])
    grid = tuple(-(-int(n) // int(c)) for n, c in zip(shape, chunks))
    # Nodes a valid tree can have: at most one leaf per chunk, and fewer nodes
    # above the leaves than leaves. A bound that stops a corrupt tree's walk.
    most = 2 * math.prod(grid) + 1
    leaves: list[bytes] = []
    pending: list[tuple[int, int | None]] = [(root, None)]
    visited: set[int] = set()
    while pending:
        address, level = pending.pop()
        if address in visited or len(visited) >= most:
            raise Malformed("a B-tree node twice, or more nodes than a tree has")
        visited.add(address)
        if not 0 <= address + base < 2**63:
            raise Malformed("a B-tree node outside the file")
        node = os.pread(fd, 24 + _ENTRIES_READ * entry.itemsize, address + base)
        if len(node) < 24 or node[:4] != b"TREE" or node[4] != 1:
            raise Malformed("not a B-tree node of chunks")
        used = struct.unpack_from("<H", node, 6)[0]
        if (level is not None and node[5] != level) or used == 0:
            raise Malformed("a B-tree node out of place")
        if len(node) < 24 + used * entry.itemsize:
            node = read_block(fd, address + base, 24 + used * entry.itemsize)
        if node[5] == 0:
            leaves.append(node[24 : 24 + used * entry.itemsize])
        else:
            # Depth first, in key order: children are taken from the end.
            children = np.frombuffer(node, entry, count=used, offset=24)["child"]
            pending.extend((int(c), node[5] - 1) for c in children[::-1])
    table = np.frombuffer(b"".join(leaves), entry)
    origins = table["origin"]
    step = np.array(chunks, np.uint64)
    if (
        np.any(origins[:, rank] != 0)
        or np.any(origins[:, :rank] % step != 0)
        or np.any(origins[:, :rank] // step >= np.array(grid, np.uint64))
        or np.any(table["child"] >= 2**63)
    ):
        raise Malformed("a chunk key outside the dataset")
    # Keys are in the order of the chunks' origins, C order over the grid:
    # positions that do not increase are a tree out of order or a chunk twice.
    position = (origins[:, :rank] // step).astype(np.int64)
    if np.any(np.diff(np.ravel_multi_index(tuple(position.T), grid)) <= 0):
        raise Malformed("B-tree keys out of order")
    return np.column_stack([
        origins[:, :rank].astype(np.int64),
        table["child"].astype(np.int64),
        table["size"].astype(np.int64),
        table["mask"].astype(np.int64),
    ]).reshape(table.size, rank + 3)
