"""What an HDF5 file states about a dataset's storage, read from the file itself.

The direct reader (:mod:`~lazyarray.adapters.h5direct`) finds a dataset's
bytes from what the file says, never by looking for bytes that match. This
module reads those statements, after the HDF5 File Format Specification
(version 3, and HDF5's ``H5Fsuper_cache.c``, ``H5Ocache.c`` and
``H5Olayout.c`` where the specification is terse):

1. The superblock (:func:`read_superblock`): found by its signature at
   offset 0, 512, 1024, 2048, ... of the file, the first one found, as HDF5
   looks for it. Its location is the file's *base address*: every address
   stored in the file (object headers, B-tree nodes, chunks, contiguous
   data) counts from there, so a user block before it shifts them all.
   Versions 0 and 1 state the base address at byte 24 or 28, versions 2 and
   3 at byte 12, under a checksum.
2. The dataset's object header, version 1 (no signature; 8-byte aligned
   messages) or 2 (``OHDR``, continued in ``OCHK`` blocks, each under a
   checksum), with its continuation messages (type 16) followed
   (:func:`read_dataset_header`). Its dataspace message (type 1) gives the
   dataset's dimensions and its data layout message (type 8) the storage
   (:class:`Layout`): for contiguous storage the address and size of the
   data; for chunked storage the chunk dimensions (the element size last),
   layout flags and, in version 3, the address of a version 1 B-tree.
3. That B-tree's nodes (``TREE``, node type 1) hold one key and one address
   per child: the key is the stored size, filter mask and origin of the
   first chunk below it; the address is a chunk's in a leaf (level 0), a
   node's of the next level down otherwise (:func:`btree_chunks`).

Addresses and lengths must be of 8 bytes (HDF5's default), and every
structure must be what the format says (signatures, versions, checksums of
version 2 structures, messages within their blocks, keys within the
dataset); anything else gives ``None``, and the caller asks HDF5 or reads
through it. Addresses are returned as the file stores them, relative to the
base address.

Examples
--------
>>> import h5py, numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "b.h5")
>>> with h5py.File(path, "w", userblock_size=512) as f:
...     _ = f.create_dataset("x", data=np.arange(24.0).reshape(4, 6), chunks=(2, 3))
>>> dataset = h5py.File(path, "r")["x"]
>>> fd = os.open(path, os.O_RDONLY)
>>> superblock = read_superblock(fd)
>>> superblock.location, superblock.base_address
(512, 512)
>>> header = read_dataset_header(fd, h5py.h5o.get_info(dataset.id).addr, superblock.location)
>>> header.dims, header.layout.chunks, header.layout.itemsize
((4, 6), (2, 3), 8)
>>> table = btree_chunks(fd, header.layout.address, superblock.location, (4, 6), (2, 3))
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
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DatasetHeader",
    "Layout",
    "Superblock",
    "btree_chunks",
    "chunk_table",
    "lookup3",
    "read_dataset_header",
    "read_superblock",
]

#: The 8 bytes every HDF5 superblock begins with.
SIGNATURE = b"\x89HDF\r\n\x1a\n"

#: HDF5's undefined address: storage not allocated, or no B-tree yet.
_UNDEFINED = 2**64 - 1

#: Message types of an object header.
_DATASPACE = 1
_LAYOUT = 8
_CONTINUATION = 16

#: Message flag: the message is kept elsewhere (a shared message), its body a reference.
_SHARED = 0x02

#: Layout classes of the data layout message.
COMPACT, CONTIGUOUS, CHUNKED, VIRTUAL = 0, 1, 2, 3

#: Chunked layout flags (layout message versions 4 and 5).
DONT_FILTER_PARTIAL_BOUND_CHUNKS = 0x01
SINGLE_INDEX_WITH_FILTER = 0x02

#: The chunk index of a version 3 layout (a version 1 B-tree), as HDF5 numbers indexes.
BTREE_INDEX = 0

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


# --------------------------------------------------------------------------
# Checksums


def _rotate(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins's lookup3 hash of ``data`` (``hashlittle``), HDF5's metadata checksum.

    HDF5 (``H5_checksum_lookup3``) checks its version 2 superblocks, object
    headers and other newer structures with it. The bytes are taken as
    little-endian 32-bit words in blocks of three; every block but the last
    is mixed into the state, the last (padded with zeros) is added and the
    state finalised.

    Examples
    --------
    >>> hex(lookup3(b""))
    '0xdeadbeef'
    >>> hex(lookup3(b"Four score and seven years ago"))
    '0x17770551'
    """
    mask = 0xFFFFFFFF
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & mask
    if not n:
        return c
    words = struct.unpack(f"<{-(-n // 12) * 3}I", data + bytes(-n % 12))
    for i in range(0, len(words) - 3, 3):
        a = (a + words[i]) & mask
        b = (b + words[i + 1]) & mask
        c = (c + words[i + 2]) & mask
        # mix(a, b, c)
        a = ((a - c) & mask) ^ _rotate(c, 4)
        c = (c + b) & mask
        b = ((b - a) & mask) ^ _rotate(a, 6)
        a = (a + c) & mask
        c = ((c - b) & mask) ^ _rotate(b, 8)
        b = (b + a) & mask
        a = ((a - c) & mask) ^ _rotate(c, 16)
        c = (c + b) & mask
        b = ((b - a) & mask) ^ _rotate(a, 19)
        a = (a + c) & mask
        c = ((c - b) & mask) ^ _rotate(b, 4)
        b = (b + a) & mask
    a = (a + words[-3]) & mask
    b = (b + words[-2]) & mask
    c = (c + words[-1]) & mask
    # final(a, b, c)
    c = ((c ^ b) - _rotate(b, 14)) & mask
    a = ((a ^ c) - _rotate(c, 11)) & mask
    b = ((b ^ a) - _rotate(a, 25)) & mask
    c = ((c ^ b) - _rotate(b, 16)) & mask
    a = ((a ^ c) - _rotate(c, 4)) & mask
    b = ((b ^ a) - _rotate(a, 14)) & mask
    c = ((c ^ b) - _rotate(b, 24)) & mask
    return c


def _check_sum(block: bytes, what: str) -> None:
    """``block`` ends with the lookup3 checksum of the rest of it."""
    if len(block) < 4 or lookup3(block[:-4]) != int.from_bytes(block[-4:], "little"):
        raise _Malformed(f"the checksum of {what} does not match")


# --------------------------------------------------------------------------
# The superblock


@dataclass(frozen=True)
class Superblock:
    """The statements of an HDF5 file's superblock that locate its data.

    Attributes
    ----------
    version : int
        The superblock's version, 0 to 3.
    location : int
        Its offset in the file, in bytes: the size of the user block before
        it. HDF5 takes this for the base address (and says so as
        ``userblock_size``), whatever the field below holds.
    base_address : int
        The base address the superblock states, in bytes.
    offset_size, length_size : int
        Bytes of the file's addresses and lengths.
    """

    version: int
    location: int
    base_address: int
    offset_size: int
    length_size: int


def read_superblock(fd: int) -> Superblock | None:
    """The superblock of the HDF5 file open at ``fd``, or ``None`` if it cannot be read.

    Looked for where HDF5 looks (``H5FD_locate_signature``): at offset 0,
    then 512 and every power of two after it within the file; the first
    signature found is the superblock. ``None`` also for versions other than
    0 to 3, addresses or lengths not of 8 bytes, a version 2 or 3 superblock
    whose checksum does not match, and a version 0 or 1 superblock whose
    fixed version fields are not 0.

    Examples
    --------
    >>> import h5py, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "s.h5")
    >>> h5py.File(path, "w", userblock_size=1024, libver="latest").close()
    >>> fd = os.open(path, os.O_RDONLY)
    >>> read_superblock(fd)
    Superblock(version=3, location=1024, base_address=1024, offset_size=8, length_size=8)
    >>> os.close(fd)
    """
    try:
        end = os.fstat(fd).st_size
        location = 0
        while os.pread(fd, len(SIGNATURE), location) != SIGNATURE:
            location = 512 if location == 0 else 2 * location
            if location + len(SIGNATURE) > end:
                return None
        data = os.pread(fd, 48, location)
        version = data[8]
        if version in (0, 1):
            # Versions of the free-space storage, root group symbol table
            # entry and shared header message formats: 0 is all there is.
            if data[9] or data[10] or data[12]:
                return None
            offset_size, length_size = data[13], data[14]
            at = 24 if version == 0 else 28  # version 1 adds a K and 2 reserved bytes
        elif version in (2, 3):
            offset_size, length_size = data[9], data[10]
            if offset_size != 8:
                return None
            # Base, extension, end-of-file and root group addresses, then the checksum.
            _check_sum(data[:48], "the superblock")
            at = 12
        else:
            return None
        if offset_size != 8 or length_size != 8:
            return None
        (base,) = struct.unpack_from("<Q", data, at)
    except (OSError, IndexError, struct.error, _Malformed):
        return None
    return Superblock(version, location, base, offset_size, length_size)


# --------------------------------------------------------------------------
# Object headers and their messages


@dataclass(frozen=True)
class Layout:
    """A dataset's data layout message (message type 8), as the file states it.

    Attributes
    ----------
    version : int
        The message's version (1 to 5; only 3 to 5 are read past the class).
    layout_class : int
        :data:`COMPACT`, :data:`CONTIGUOUS`, :data:`CHUNKED` or :data:`VIRTUAL`.
    address : int or None
        Contiguous: the data's address; chunked, version 3: the B-tree's.
        Relative to the base address; ``None`` where undefined (nothing
        allocated) or not read.
    size : int or None
        Contiguous: the bytes of storage.
    chunks : tuple of int or None
        Chunked: the chunk's dimensions.
    itemsize : int or None
        Chunked: the element size the layout states, in bytes.
    flags : int
        Chunked, versions 4 and 5: :data:`DONT_FILTER_PARTIAL_BOUND_CHUNKS`
        (partial edge chunks are stored without filters) and
        :data:`SINGLE_INDEX_WITH_FILTER`. 0 in version 3, which has none.
    index : int or None
        Chunked: the chunk index type, :data:`BTREE_INDEX` in version 3.
    """

    version: int
    layout_class: int
    address: int | None = None
    size: int | None = None
    chunks: tuple[int, ...] | None = None
    itemsize: int | None = None
    flags: int = 0
    index: int | None = None


@dataclass(frozen=True)
class DatasetHeader:
    """What a dataset's object header states about its storage.

    Attributes
    ----------
    dims : tuple of int
        The dataspace's current dimensions.
    layout : Layout
    """

    dims: tuple[int, ...]
    layout: Layout


def _address(value: int) -> int | None:
    return None if value == _UNDEFINED else value


def _parse_layout(body: bytes) -> Layout:
    version, layout_class = body[0], body[1]
    if version not in (3, 4, 5):
        # Versions 1 and 2 (HDF5 before 1.6.3) put the class third and state
        # no contiguous size: left to HDF5.
        return Layout(version, body[2] if version in (1, 2) else -1)
    if layout_class == CONTIGUOUS:
        address, size = struct.unpack_from("<QQ", body, 2)
        return Layout(version, layout_class, _address(address), size)
    if layout_class != CHUNKED:
        return Layout(version, layout_class)
    if version == 3:
        ndims = body[2]
        (root,) = struct.unpack_from("<Q", body, 3)
        dims = struct.unpack_from(f"<{ndims}I", body, 11)
        flags, index = 0, BTREE_INDEX
    else:
        # Version 5 (HDF5 2.0) keeps version 4's fields here; it changes how
        # indexes encode filtered chunks' sizes, which HDF5 reads for us.
        flags, ndims, width = body[2], body[3], body[4]
        if not 1 <= width <= 8:
            raise _Malformed("chunk dimensions of an impossible width")
        dims = tuple(
            int.from_bytes(body[5 + k * width : 5 + (k + 1) * width], "little") for k in range(ndims)
        )
        if len(body) <= 5 + ndims * width:
            raise _Malformed("a layout message shorter than its fields")
        index, root = body[5 + ndims * width], _UNDEFINED
    if ndims < 2 or 0 in dims:
        raise _Malformed("chunk dimensions that are not what the format allows")
    return Layout(version, layout_class, _address(root), None, tuple(dims[:-1]), dims[-1],
                  flags, index)


def _parse_dims(body: bytes) -> tuple[int, ...]:
    version, rank = body[0], body[1]
    if version == 1:
        at = 8  # version, rank, flags, 5 reserved bytes
    elif version == 2:
        if body[3] != 1:  # 0: scalar, 2: null; 1: simple
            return ()
        at = 4  # version, rank, flags, type
    else:
        raise _Malformed("a dataspace message of an unknown version")
    return struct.unpack_from(f"<{rank}Q", body, at)


def read_dataset_header(fd: int, header: int, base: int) -> DatasetHeader | None:
    """The dimensions and data layout the object header at ``header`` states.

    Parameters
    ----------
    fd : int
        A descriptor of the file, open for reading.
    header : int
        The object header's address, relative to the base address (as HDF5
        gives it: ``h5py.h5o.get_info(dataset.id).addr``).
    base : int
        The file offset of the base address, in bytes (the superblock's location).

    Returns
    -------
    DatasetHeader or None
        ``None`` when the header is not what the format says (a signature,
        version or checksum wrong, a message outside its block), lacks a
        dataspace or layout message, or keeps either as a shared message.
    """
    dims: tuple[int, ...] | None = None
    layout: Layout | None = None
    try:
        for kind, flags, body in _messages(fd, header, base):
            if kind in (_DATASPACE, _LAYOUT) and flags & _SHARED:
                return None
            if kind == _DATASPACE:
                dims = tuple(int(n) for n in _parse_dims(body))
            elif kind == _LAYOUT:
                layout = _parse_layout(body)
    except (_Malformed, struct.error, IndexError, OSError, OverflowError):
        return None
    if dims is None or layout is None:
        return None
    return DatasetHeader(dims, layout)


def _messages(fd: int, header: int, base: int) -> Iterator[tuple[int, int, bytes]]:
    """The (type, flags, body) of each message of an object header, continuations followed.

    Checks what the format lets a reader check: version 2 headers and their
    continuation blocks begin with their signature and end with a matching
    checksum; version 1 messages are 8-byte aligned, as HDF5 requires.
    """
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
        # The first chunk: prefix, messages, then the checksum of both.
        chunk = _read(fd, header + base, at + width + size + 4)
        _check_sum(chunk, "an object header")
        blocks = [chunk[at + width : at + width + size]]
        message_header = 6 if flags & 0x04 else 4
    else:
        if start[0] != 1 or start[1] != 0:
            raise _Malformed("object header of an unknown version")
        size = struct.unpack_from("<I", start, 8)[0]
        blocks = [_read(fd, header + base + 16, size)]
        message_header = 8
    followed = 0
    while blocks:
        data = blocks.pop(0)
        length = len(data)
        followed += 1
        if followed > _MAX_BLOCKS:
            raise _Malformed("too many header continuation blocks")
        at = 0
        while at + message_header <= length:
            if v2:
                kind, size, flags = data[at], struct.unpack_from("<H", data, at + 1)[0], data[at + 3]
            else:
                kind, size, flags = *struct.unpack_from("<HH", data, at), data[at + 4]
                if size % 8:
                    raise _Malformed("a message not aligned as version 1 headers require")
            body = data[at + message_header : at + message_header + size]
            if len(body) != size:
                raise _Malformed("a message runs past its block")
            if kind == _CONTINUATION:
                address, nbytes = struct.unpack_from("<QQ", body)
                if v2:  # an OCHK block: signature, messages, checksum
                    block = _read(fd, address + base, nbytes)
                    if block[:4] != b"OCHK":
                        raise _Malformed("a continuation block without its signature")
                    _check_sum(block, "a header continuation block")
                    blocks.append(block[4:-4])
                else:
                    blocks.append(_read(fd, address + base, nbytes))
            yield kind, flags, body
            at += message_header + size


# --------------------------------------------------------------------------
# The version 1 B-tree of chunks


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
    except (_Malformed, struct.error, OSError, OverflowError):
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
