"""The chunk index of an HDF5 dataset, read from the file's version 1 B-tree.

h5py's ``chunk_iter`` calls a Python function for every stored chunk, with
the GIL and h5py's lock held: for a dataset of 40 KB chunks, 50 000 calls
(0.07 s measured here, 0.1 s with the index built from them) before the first
read of it can start. Most chunked datasets (all that HDF5 writes in its
default, earliest file format, netCDF-4's included) index their chunks with
a version 1 B-tree, whose nodes are a few kilobytes of fixed-size records:
numpy decodes a node at a time (0.02 s for the same 50 000 chunks).

What is read, after the HDF5 File Format Specification (version 3):

1. The dataset's object header, version 1 or 2 (``OHDR``, continued in
   ``OCHK`` blocks), following header continuation messages (type 16) to its
   data layout message (type 8).
2. A layout message of version 3 and class 2 (chunked) gives the address of
   the B-tree and the chunk's dimensions (the last is the element size).
3. The B-tree's nodes (``TREE``, node type 1) hold one key and one address
   per child: the key is the stored size, filter mask and origin of the
   first chunk below it; the address is a chunk's in a leaf (level 0), a
   node's of the next level down otherwise.

Anything else (layout version 4 and its indexes, addresses or lengths not of
8 bytes, a node or key that is not what the format says) gives ``None``, and
the caller asks HDF5. Addresses are as the file stores them: relative to its
base address.

Examples
--------
>>> import h5py, numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "b.h5")
>>> with h5py.File(path, "w") as f:
...     _ = f.create_dataset("x", data=np.arange(24.0).reshape(4, 6), chunks=(2, 3))
>>> dataset = h5py.File(path, "r")["x"]
>>> fd = os.open(path, os.O_RDONLY)
>>> table = chunk_table(fd, h5py.h5o.get_info(dataset.id).addr, 0, (4, 6), (2, 3), 8)
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
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["chunk_table"]

#: HDF5's undefined address: a chunked dataset with nothing written has no B-tree.
_UNDEFINED = 2**64 - 1

#: Message types of an object header.
_LAYOUT = 8
_CONTINUATION = 16

#: Header continuation blocks followed at most: a cycle in a corrupt file ends.
_MAX_BLOCKS = 1024

#: Bytes an object header block may have: HDF5 keeps them to a few kilobytes,
#: and a corrupt length must not become a huge read.
_MAX_BLOCK_BYTES = 2**24

#: Entries read with a node's header in one system call; nodes of HDF5's
#: default chunk B-tree (K = 32) hold at most 64, bigger ones are read again.
_ENTRIES_READ = 64


class _Malformed(Exception):
    """What the file holds is not what the format says: ask HDF5 instead."""


def _read(fd: int, offset: int, nbytes: int) -> bytes:
    if not 0 <= offset < 2**63 or not 0 <= nbytes <= _MAX_BLOCK_BYTES:
        raise _Malformed(f"{nbytes} bytes at {offset} is not where anything can be")
    data = os.pread(fd, nbytes, offset)
    if len(data) != nbytes:
        raise _Malformed(f"the file ends before byte {offset + nbytes}")
    return data


def chunk_table(fd: int, header: int, base: int, shape: Sequence[int], chunks: Sequence[int],
                itemsize: int) -> np.ndarray | None:
    """Every stored chunk of a dataset, from its version 1 B-tree; ``None`` if it has none.

    Parameters
    ----------
    fd : int
        A descriptor of the file, open for reading.
    header : int
        The address of the dataset's object header (``h5py.h5o.get_info``).
    base : int
        The file offset of the file's base address, in bytes (the user block's
        size, or 0), which every address in the file is relative to.
    shape, chunks : sequence of int
        The dataset's shape and chunk shape, which the layout must agree with.
    itemsize : int
        Bytes per element.

    Returns
    -------
    numpy.ndarray of int64, shape (stored chunks, len(shape) + 3), or None
        One row per stored chunk, in the B-tree's order: the chunk's origin
        (element coordinates), its address, its stored size in bytes and its
        filter mask. ``None`` when the dataset's chunks are not indexed by a
        version 1 B-tree, or what was read does not hold together.
    """
    rank = len(shape)
    try:
        layout = _layout_message(fd, header, base)
        if len(layout) < 3 or layout[0] != 3 or layout[1] != 2 or layout[2] != rank + 1:
            return None  # not a chunked layout of version 3
        (root,) = struct.unpack_from("<Q", layout, 3)
        dims = struct.unpack_from(f"<{rank + 1}I", layout, 11)
        if dims != (*chunks, itemsize):
            return None
        if root == _UNDEFINED:
            return np.zeros((0, rank + 3), np.int64)
        return _leaf_table(fd, root, base, shape, chunks)
    except (_Malformed, struct.error, OSError, OverflowError):
        return None


def _layout_message(fd: int, header: int, base: int) -> bytes:
    """The body of the data layout message of the object header at ``header``."""
    for kind, body in _messages(fd, header, base):
        if kind == _LAYOUT:
            return body
    raise _Malformed("no data layout message")


def _messages(fd: int, header: int, base: int) -> Iterator[tuple[int, bytes]]:
    """The (type, body) of each message of an object header, continuations followed."""
    start = _read(fd, header + base, 16)
    v2 = start[:4] == b"OHDR"
    if v2:
        if start[4] != 2:
            raise _Malformed("object header of an unknown version")
        flags = start[5]
        at = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 3)
        prefix = _read(fd, header + base, at + width)
        size = int.from_bytes(prefix[at:], "little")
        blocks = [(header + base + at + width, size)]
        message_header = 6 if flags & 0x04 else 4
    else:
        if start[0] != 1:
            raise _Malformed("object header of an unknown version")
        size = struct.unpack_from("<I", start, 8)[0]
        blocks = [(header + base + 16, size)]
        message_header = 8
    followed = 0
    while blocks:
        offset, length = blocks.pop(0)
        followed += 1
        if followed > _MAX_BLOCKS:
            raise _Malformed("too many header continuation blocks")
        data = _read(fd, offset, length)
        at = 0
        while at + message_header <= length:
            if v2:
                kind, size = data[at], struct.unpack_from("<H", data, at + 1)[0]
            else:
                kind, size = struct.unpack_from("<HH", data, at)
            body = data[at + message_header : at + message_header + size]
            if len(body) != size:
                raise _Malformed("a message runs past its block")
            if kind == _CONTINUATION:
                address, nbytes = struct.unpack_from("<QQ", body)
                if v2:  # an OCHK block: signature, messages, checksum
                    if _read(fd, address + base, 4) != b"OCHK":
                        raise _Malformed("a continuation block without its signature")
                    blocks.append((address + base + 4, nbytes - 8))
                else:
                    blocks.append((address + base, nbytes))
            yield kind, body
            at += message_header + size


def _leaf_table(fd: int, root: int, base: int, shape: Sequence[int],
                chunks: Sequence[int]) -> np.ndarray:
    """The rows of :func:`chunk_table` from the B-tree whose root node is at ``root``."""
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
            raise _Malformed("a B-tree node twice, or more nodes than a tree has")
        visited.add(address)
        if not 0 <= address + base < 2**63:
            raise _Malformed("a B-tree node outside the file")
        node = os.pread(fd, 24 + _ENTRIES_READ * entry.itemsize, address + base)
        if len(node) < 24 or node[:4] != b"TREE" or node[4] != 1:
            raise _Malformed("not a B-tree node of chunks")
        used = struct.unpack_from("<H", node, 6)[0]
        if (level is not None and node[5] != level) or used == 0:
            raise _Malformed("a B-tree node out of place")
        if len(node) < 24 + used * entry.itemsize:
            node = _read(fd, address + base, 24 + used * entry.itemsize)
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
        raise _Malformed("a chunk key outside the dataset")
    # Keys are in the order of the chunks' origins, C order over the grid:
    # positions that do not increase are a tree out of order or a chunk twice.
    position = (origins[:, :rank] // step).astype(np.int64)
    if np.any(np.diff(np.ravel_multi_index(tuple(position.T), grid)) <= 0):
        raise _Malformed("B-tree keys out of order")
    return np.column_stack([
        origins[:, :rank].astype(np.int64),
        table["child"].astype(np.int64),
        table["size"].astype(np.int64),
        table["mask"].astype(np.int64),
    ]).reshape(table.size, rank + 3)
