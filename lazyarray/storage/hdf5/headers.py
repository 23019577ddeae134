"""What an HDF5 file states about a dataset: its superblock and object header.

The direct reader (:mod:`lazyarray.storage.hdf5`) finds a dataset's bytes
from what the file says, never by looking for bytes that match. This
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
   layout flags and, in version 3, the address of a version 1 B-tree
   (read by :mod:`lazyarray.storage.hdf5.btree`).

Addresses and lengths must be of 8 bytes (HDF5's default), and every
structure must be what the format says (signatures, versions, checksums of
version 2 structures, messages within their blocks); anything else gives
``None``, and the caller asks HDF5 or reads through it. Addresses are
returned as the file stores them, relative to the base address. Nothing
here knows h5py: only a descriptor of the file is read.

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
>>> os.close(fd)
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .checksums import lookup3

__all__ = [
    "BTREE_INDEX",
    "CHUNKED",
    "COMPACT",
    "CONTIGUOUS",
    "DONT_FILTER_PARTIAL_BOUND_CHUNKS",
    "SIGNATURE",
    "SINGLE_INDEX_WITH_FILTER",
    "VIRTUAL",
    "DatasetHeader",
    "Layout",
    "Malformed",
    "Superblock",
    "read_block",
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


class Malformed(Exception):
    """What the file holds is not what the format says: ask HDF5 instead."""


def read_block(fd: int, offset: int, nbytes: int) -> bytes:
    """``nbytes`` of the file at ``offset``, all of them; :class:`Malformed` if a
    corrupt address or length points outside anything a file holds, or the
    file ends first."""
    if not 0 <= offset < 2**63 or not 0 <= nbytes <= _MAX_BLOCK_BYTES:
        raise Malformed(f"{nbytes} bytes at {offset} is not where anything can be")
    data = os.pread(fd, nbytes, offset)
    if len(data) != nbytes:
        raise Malformed(f"the file ends before byte {offset + nbytes}")
    return data


def _check_sum(block: bytes, what: str) -> None:
    """``block`` ends with the lookup3 checksum of the rest of it."""
    if len(block) < 4 or lookup3(block[:-4]) != int.from_bytes(block[-4:], "little"):
        raise Malformed(f"the checksum of {what} does not match")


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
    except (OSError, IndexError, struct.error, Malformed):
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
            raise Malformed("chunk dimensions of an impossible width")
        dims = tuple(
            int.from_bytes(body[5 + k * width : 5 + (k + 1) * width], "little")
            for k in range(ndims)
        )
        if len(body) <= 5 + ndims * width:
            raise Malformed("a layout message shorter than its fields")
        index, root = body[5 + ndims * width], _UNDEFINED
    if ndims < 2 or 0 in dims:
        raise Malformed("chunk dimensions that are not what the format allows")
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
        raise Malformed("a dataspace message of an unknown version")
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
    except (Malformed, struct.error, IndexError, OSError, OverflowError):
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
    start = read_block(fd, header + base, 16)
    v2 = start[:4] == b"OHDR"
    if v2:
        if start[4] != 2:
            raise Malformed("object header of an unknown version")
        flags = start[5]
        at = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 3)
        prefix = read_block(fd, header + base, at + width)
        size = int.from_bytes(prefix[at:], "little")
        # The first chunk: prefix, messages, then the checksum of both.
        chunk = read_block(fd, header + base, at + width + size + 4)
        _check_sum(chunk, "an object header")
        blocks = [chunk[at + width : at + width + size]]
        message_header = 6 if flags & 0x04 else 4
    else:
        if start[0] != 1 or start[1] != 0:
            raise Malformed("object header of an unknown version")
        size = struct.unpack_from("<I", start, 8)[0]
        blocks = [read_block(fd, header + base + 16, size)]
        message_header = 8
    followed = 0
    while blocks:
        data = blocks.pop(0)
        length = len(data)
        followed += 1
        if followed > _MAX_BLOCKS:
            raise Malformed("too many header continuation blocks")
        at = 0
        while at + message_header <= length:
            if v2:
                kind, flags = data[at], data[at + 3]
                size = struct.unpack_from("<H", data, at + 1)[0]
            else:
                kind, size, flags = *struct.unpack_from("<HH", data, at), data[at + 4]
                if size % 8:
                    raise Malformed("a message not aligned as version 1 headers require")
            body = data[at + message_header : at + message_header + size]
            if len(body) != size:
                raise Malformed("a message runs past its block")
            if kind == _CONTINUATION:
                address, nbytes = struct.unpack_from("<QQ", body)
                if v2:  # an OCHK block: signature, messages, checksum
                    block = read_block(fd, address + base, nbytes)
                    if block[:4] != b"OCHK":
                        raise Malformed("a continuation block without its signature")
                    _check_sum(block, "a header continuation block")
                    blocks.append(block[4:-4])
                else:
                    blocks.append(read_block(fd, address + base, nbytes))
            yield kind, flags, body
            at += message_header + size
