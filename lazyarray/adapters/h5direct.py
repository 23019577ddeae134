"""Reading HDF5 datasets straight from the file, outside h5py's global lock.

h5py holds one lock for every HDF5 call, decompression included, so worker
threads reading through it take turns (DESIGN, section 12). For the common
storage layouts the bytes can be found without HDF5: a chunked dataset's
chunk index gives each stored chunk's file offset, size and filter mask, and
a contiguous dataset is one run of bytes at a known offset. A
:class:`DirectReader` reads those bytes with ``os.preadv`` on h5py's own
read-only descriptor of the file, leased from :mod:`lazyarray.files` for
each read (positional reads are thread-safe, and leave the descriptor's
offset, which HDF5 may use, alone) and decodes
them in the calling thread: ``zlib`` releases the GIL, and so do numpy's
copies that undo the shuffle filter.

Only what HDF5 would give back byte for byte is read this way, and where
the bytes are comes from what the file states, never from bytes that look
right (DESIGN, section 10c). What the fast path relies on:

* the sec2 (default) file driver, the file opened read-only by h5py (and
  not in SWMR mode, where a writer may add chunks the index does not know),
  and a descriptor of that very file (h5py's own, or one of the same
  device and inode);
* the base address: the location of the superblock, found by its signature
  as HDF5 finds it, whose stated base address must equal its location and
  h5py's ``userblock_size`` (HDF5 takes the location for the base and
  reports it as the user block's size); addresses and lengths of 8 bytes
  (:func:`~lazyarray.adapters.h5btree.read_superblock`);
* the dataset's object header, at the address HDF5 gives
  (``H5Oget_info``: the object's address in the file, relative to the base
  address, as every address stored in the file is), checked by its own
  structure, and its dataspace message, whose dimensions must be the
  dataset's (:func:`~lazyarray.adapters.h5btree.read_dataset_header`);
* its data layout message, whose class must be h5py's: contiguous storage
  is read at the address it states, plus the base address, and must be as
  long as the data; chunked storage must have h5py's chunk shape and the
  dtype's element size;
* the chunk index: for layout version 3, the version 1 B-tree the layout
  points to (addresses relative to the base address), used only if HDF5
  counts as many chunks; for other layouts (``libver="latest"``), HDF5's
  ``chunk_iter``, whose addresses include the user block from HDF5 1.14.4 on
  and are relative to the base address before (HDFGroup/hdf5 issue 3003,
  pull request 4236), as :func:`_chunk_address_shift` says;
* the layout's ``DONT_FILTER_PARTIAL_BOUND_CHUNKS`` flag (versions 4 and 5):
  when set, chunks that reach past the dataset's current extent are stored,
  and read by HDF5, without filters;
* each chunk's filter mask, and the filter pipeline h5py reports: no
  filters but deflate (gzip), shuffle (its element size as stored in the
  pipeline) and fletcher32;
* plain numeric or bool dtypes whose file type is exactly the type h5py
  makes for the dtype (so no conversion happens on reading);
* a fill value that is defined and written (unallocated chunks, and
  unallocated contiguous storage, read as it).

:func:`direct_reader` returns ``None`` for anything else (:func:`unsupported_reason`
says why for what h5py reports; a file whose statements cannot be read or
disagree gives ``None`` too); the adapter then reads through h5py.

Steps of a chunked read (:meth:`ChunkedReader.read`):

1. The chunk index (built once, see :meth:`ChunkIndex.build`) is a set of
   numpy arrays over the chunk grid, so the chunks a selection touches are a
   slice of it, found without looping over chunks.
2. Uncompressed, fully allocated selections of plain slices read whole runs
   of chunks that lie one after the other in the file with one system call
   each, into a scratch buffer (or straight into the destination when the
   chunks' bytes are the destination's bytes), and copy the selected part
   in at most three pieces per axis (a partly covered first chunk, whole
   chunks, a partly covered last chunk): a few numpy copies per scratch
   buffer, whatever the number of chunks.
3. Everything else goes chunk by chunk: file runs are still read with one
   system call, then each chunk is checked, inflated and unshuffled as its
   filter mask says, and its selected part copied; unallocated chunks
   receive the fill value.

Examples
--------
>>> import h5py, numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "d.h5")
>>> with h5py.File(path, "w", userblock_size=512) as f:
...     _ = f.create_dataset("x", data=np.arange(60.0).reshape(6, 10), chunks=(4, 4),
...                          compression="gzip", shuffle=True)
>>> reader = direct_reader(h5py.File(path, "r")["x"])
>>> out = np.empty((2, 3))
>>> reader.read((range(3, 5), range(2, 8, 2)), out)
>>> out.tolist()
[[32.0, 34.0, 36.0], [42.0, 44.0, 46.0]]
"""

from __future__ import annotations

import abc
import itertools
import math
import os
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import h5py
import numpy as np

from ..errors import ChunkDecodeError
from ..indexing import Key
from . import h5btree

__all__ = [
    "ChunkIndex",
    "ChunkedReader",
    "ContiguousReader",
    "DirectReader",
    "Storage",
    "direct_reader",
    "fletcher32",
    "storage_facts",
    "unsupported_reason",
]

#: HDF5 filter ids this module decodes, and their names in messages.
_FILTER_NAMES = {
    h5py.h5z.FILTER_DEFLATE: "deflate",
    h5py.h5z.FILTER_SHUFFLE: "shuffle",
    h5py.h5z.FILTER_FLETCHER32: "fletcher32",
}
_SHUFFLE = h5py.h5z.FILTER_SHUFFLE

#: Scratch kept per thread, and the bytes one group of chunks reads at most
#: (more only when a single row of the chunk grid is bigger).
_SCRATCH_BYTES = 8 * 2**20

#: Runs of a contiguous dataset at least this long are read straight into the
#: destination one system call each; shorter ones through whole rows.
_DIRECT_RUN_BYTES = 4096

#: Rows of a contiguous dataset this short are read whole, however little of
#: them is selected: HDF5's sieve buffer reads as much (64 KiB by default).
_SIEVE_BYTES = 64 * 2**10


# --------------------------------------------------------------------------
# Files


class _File(Protocol):
    """Where a reader's bytes come from: a path (for messages) and a descriptor
    open for reading, valid while the reader reads (a lease of
    :class:`lazyarray.files.OpenFile`, or the h5py file of :class:`_HandleFile`)."""

    @property
    def path(self) -> str: ...

    @property
    def fd(self) -> int: ...


class _HandleFile:
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


def _handle_file(dataset: h5py.Dataset) -> _HandleFile | None:
    """h5py's descriptor of ``dataset``'s file, or ``None`` (a driver without one)."""
    try:
        file = dataset.file
        fd = int(file.id.get_vfd_handle())
        os.fstat(fd)
    except (OSError, TypeError, ValueError):
        return None
    return _HandleFile(dataset, file.filename, fd)


def _pread(fd: int, buffer: memoryview, offset: int) -> int:
    """Fill ``buffer`` from ``offset`` of ``fd``; the number of bytes read (short at EOF)."""
    done = 0
    total = buffer.nbytes
    while done < total:
        n = os.preadv(fd, [buffer[done:]], offset + done)
        if n <= 0:
            break
        done += n
    return done


_scratch = threading.local()


def _scratch_bytes(nbytes: int) -> np.ndarray:
    """A reusable uint8 buffer of ``nbytes`` for this thread (not kept if big)."""
    buffer: np.ndarray | None = getattr(_scratch, "buffer", None)
    if buffer is not None and buffer.size >= nbytes:
        return buffer[:nbytes]
    buffer = np.empty(nbytes, np.uint8)
    if nbytes <= 2 * _SCRATCH_BYTES:
        _scratch.buffer = buffer
    return buffer


# --------------------------------------------------------------------------
# Filters


def fletcher32(data: Any) -> int:
    """HDF5's Fletcher-32 checksum of ``data`` (bytes-like), as its filter computes it.

    HDF5 sums big-endian 16-bit words in blocks of 360, folding both sums
    to 16 bits after each block (an odd last byte is a word with a zero low
    byte). Folding keeps each sum's value modulo 65535, so the sums follow
    in closed form from per-block totals computed with numpy; only data
    whose blocks could overflow HDF5's 32-bit second sum (words near 0xffff
    throughout) are summed block by block, to wrap exactly as HDF5 does.

    Examples
    --------
    >>> hex(fletcher32(b"abcde"))
    '0x4ff029c7'
    >>> fletcher32(b"\\xff" * 720) == fletcher32(bytearray(b"\\xff" * 720))
    True
    """
    raw = np.frombuffer(data, np.uint8)
    words = raw[: raw.size - raw.size % 2].view(">u2")
    odd = int(raw[-1]) << 8 if raw.size % 2 else None
    p = 65535
    nblocks = -(-words.size // 360)
    blocks = np.zeros((nblocks, 360), np.float64)
    blocks.ravel()[: words.size] = words
    # Exact in float64: at most 360 * 65535 * 359 < 2**53.
    totals = blocks.sum(axis=1).astype(np.int64)
    weighted = (blocks @ np.arange(360.0)).astype(np.int64)
    lengths = np.full(nblocks, 360, np.int64)
    if nblocks:
        lengths[-1] = words.size - 360 * (nblocks - 1)
    # What each block adds to the second sum, besides n times the first sum.
    second = lengths * totals - weighted
    if nblocks and int(second.max()) + 361 * 0x1FFFE >= 2**32:
        s1 = s2 = 0
        for n, w, t in zip(lengths.tolist(), totals.tolist(), second.tolist()):
            s2 = (s2 + n * s1 + t) & 0xFFFFFFFF
            s1 += w
            s1 = (s1 & 0xFFFF) + (s1 >> 16)
            s2 = (s2 & 0xFFFF) + (s2 >> 16)
        if odd is not None:
            s1 += odd
            s2 += s1
            s1 = (s1 & 0xFFFF) + (s1 >> 16)
            s2 = (s2 & 0xFFFF) + (s2 >> 16)
        s1 = (s1 & 0xFFFF) + (s1 >> 16)
        s2 = (s2 & 0xFFFF) + (s2 >> 16)
        return (s2 << 16) | s1
    # Sum1 is the sum of all words; sum2 the sum of sum1 after each word.
    # Both are congruent modulo 65535 to the folded values, which lie in
    # 1..65535 unless every word is zero.
    count = words.size + (odd is not None)
    starts = (count - 360 * np.arange(nblocks, dtype=np.int64)) % p
    sum1 = int(totals.sum()) + (odd or 0)
    sum2 = int(((starts * (totals % p)) % p - weighted % p).sum()) + (odd or 0)
    if sum1 == 0:
        return 0
    return ((((sum2 - 1) % p) + 1) << 16) | (((sum1 - 1) % p) + 1)


def _check_fletcher32(data: Any) -> Any:
    """``data`` without its trailing checksum, which must match (HDF5's rules)."""
    view = memoryview(data).cast("B")
    if view.nbytes < 4:
        raise ValueError(f"{view.nbytes} bytes, too short to hold a checksum")
    stored = int.from_bytes(view[-4:], "little")
    body = view[:-4]
    computed = fletcher32(body)
    # HDF5 before 1.6.3 stored the checksum with its bytes swapped in pairs
    # on little-endian machines; HDF5 still accepts both.
    native = computed.to_bytes(4, sys.byteorder)
    swapped = int.from_bytes(bytes((native[1], native[0], native[3], native[2])), sys.byteorder)
    if stored not in (computed, swapped):
        raise ValueError(f"checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
    return body


def _unshuffle(data: Any, itemsize: int, out: np.ndarray | None = None) -> Any:
    """Undo HDF5's shuffle filter: bytes grouped by position in the element.

    Into ``out`` (bytes, as many as ``data``) if given.
    """
    raw = np.frombuffer(data, np.uint8)
    n = raw.size // itemsize
    if itemsize <= 1 or n <= 1:
        if out is None:
            return data
        out[...] = raw
        return out
    if out is None:
        out = np.empty(raw.size, np.uint8)
    elements = out[: n * itemsize].reshape(n, itemsize)
    planes = raw[: n * itemsize].reshape(itemsize, n)
    # One plane at a time: numpy's inner loop then runs over the n elements,
    # not over the few bytes of one element (4 times faster than one copy).
    for j in range(itemsize):
        elements[:, j] = planes[j]
    out[n * itemsize :] = raw[n * itemsize :]  # leftover bytes are stored as they are
    return out


@dataclass(frozen=True)
class _Filter:
    """One filter of a dataset's pipeline: its position, id and first parameter."""

    position: int
    code: int
    parameter: int | None

    @property
    def name(self) -> str:
        return _FILTER_NAMES[self.code]

    def decoder(self, itemsize: int, nbytes: int) -> Callable[[Any], Any]:
        if self.code == h5py.h5z.FILTER_DEFLATE:
            return lambda data: zlib.decompress(data, bufsize=max(nbytes, 1))
        if self.code == h5py.h5z.FILTER_SHUFFLE:
            size = self.parameter or itemsize
            return lambda data: _unshuffle(data, size)
        return _check_fletcher32


# --------------------------------------------------------------------------
# Eligibility


def unsupported_reason(dataset: h5py.Dataset) -> str | None:
    """Why ``dataset`` cannot be read directly, or ``None`` if it can.

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("s", data=np.zeros(4, "i4,f4"))
    >>> unsupported_reason(h5py.File(path, "r")["s"])
    "dtype [('f0', '<i4'), ('f1', '<f4')] is not a plain numeric or bool dtype"
    """
    if not isinstance(dataset, h5py.Dataset):
        # A dataset known by path and name (lazyarray.adapters.h5py_): the
        # reason found when it was opened, kept with its other metadata.
        return str(dataset.unsupported_reason) if dataset.unsupported_reason else None
    if not dataset.id.valid:  # reading it raises, naming it (HDF5ArrayAdapter._read)
        return "the dataset's file was closed"
    file = dataset.file
    if file.mode != "r":
        return "the file is open for writing"
    if file.swmr_mode:
        return "the file is open for SWMR reading (a writer may add chunks)"
    if file.driver != "sec2":
        return f"the file driver is {file.driver!r}, not 'sec2'"
    dtype = dataset.dtype
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        return f"dtype {dtype} is not a plain numeric or bool dtype"
    if dtype.kind != "b" and h5py.check_enum_dtype(dtype) is not None:
        return "the dtype is an enumeration"
    if not dataset.id.get_type().equal(h5py.h5t.py_create(dtype)):
        return f"the file's type of the data is not h5py's type for {dtype}"
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    if layout not in (h5py.h5d.CHUNKED, h5py.h5d.CONTIGUOUS):
        names = {h5py.h5d.COMPACT: "compact", getattr(h5py.h5d, "VIRTUAL", -1): "virtual"}
        return f"the layout is {names.get(layout, layout)}"
    if plist.get_external_count():
        return "the data are stored in external files"
    for position in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(position)
        if code not in _FILTER_NAMES:
            return f"filter {name.decode(errors='replace')!r} (id {code}) is not decoded here"
    if plist.fill_value_defined() == h5py.h5d.FILL_VALUE_UNDEFINED:
        return "the fill value is undefined"
    if plist.get_fill_time() == h5py.h5d.FILL_TIME_NEVER:
        return "the fill value is never written"
    return None


def direct_reader(dataset: h5py.Dataset, file: _File | None = None) -> DirectReader | None:
    """A reader of ``dataset``'s storage, or ``None`` if it must go through h5py.

    Reads what the file states about the dataset's storage
    (:func:`storage_facts`) and, for a chunked dataset, builds its chunk
    index (:meth:`ChunkIndex.build`). ``None`` where :func:`unsupported_reason`
    gives a reason, and where the file's statements cannot be read or
    disagree with h5py's.

    Parameters
    ----------
    dataset : h5py.Dataset
    file : optional
        The descriptor to read with (``path`` and ``fd`` attributes), of the
        very file ``dataset`` is in: an :class:`lazyarray.files.OpenFile`
        leased for the read. The reader keeps no descriptor of its own: for
        a later read with another lease of the same file, use
        ``dataclasses.replace(reader, file=...)``. Default: h5py's own
        descriptor of ``dataset``'s file, valid while that file is open.
    """
    if unsupported_reason(dataset) is not None:
        return None
    shape = tuple(int(n) for n in dataset.shape)
    if not shape or 0 in shape:
        return None  # scalars and empty datasets: nothing worth reading directly
    if file is None:
        file = _handle_file(dataset)
        if file is None:
            return None
    storage = storage_facts(dataset, file.fd)
    if storage is None:
        return None
    plist = dataset.id.get_create_plist()
    filters = tuple(
        _Filter(i, code, values[0] if values else None)
        for i, (code, _, values, _) in enumerate(
            plist.get_filter(i) for i in range(plist.get_nfilters())
        )
    )
    fill = np.asarray(dataset.fillvalue).astype(dataset.dtype)[()]
    layout = storage.layout
    if layout.layout_class == h5btree.CONTIGUOUS:
        offset = None  # nothing allocated: every point is the fill value
        if layout.address is not None:
            if layout.size != math.prod(shape) * dataset.dtype.itemsize:
                return None
            offset = storage.base + layout.address
        return ContiguousReader(file, dataset.name, shape, dataset.dtype, fill, offset)
    try:
        index = ChunkIndex.build(dataset, storage)
    except (OSError, RuntimeError, ValueError):  # an index HDF5 cannot iterate
        return None
    return ChunkedReader(file, dataset.name, shape, dataset.dtype, fill, index, filters)


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
    layout : lazyarray.adapters.h5btree.Layout
        The dataset's data layout message.
    """

    fd: int
    base: int
    layout: h5btree.Layout


def storage_facts(dataset: h5py.Dataset, fd: int) -> Storage | None:
    """What the file open at ``fd`` states about ``dataset``'s storage, or ``None``.

    1. The superblock (:func:`~lazyarray.adapters.h5btree.read_superblock`)
       gives the base address: its location, which must be the base address
       it states and the user block's size h5py reports.
    2. The dataset's object header, at the address HDF5 gives (relative to
       the base address), is read with its dataspace and data layout
       messages (:func:`~lazyarray.adapters.h5btree.read_dataset_header`).
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
    >>> facts.base, facts.layout.layout_class == h5btree.CONTIGUOUS, facts.layout.size
    (4096, True, 48)
    >>> os.close(fd)
    """
    superblock = h5btree.read_superblock(fd)
    try:
        userblock = int(dataset.file.userblock_size)
        header = int(h5py.h5o.get_info(dataset.id).addr)
        layout_class = dataset.id.get_create_plist().get_layout()
    except (AttributeError, RuntimeError, ValueError):
        return None
    if superblock is None or not superblock.location == superblock.base_address == userblock:
        return None
    stated = h5btree.read_dataset_header(fd, header, superblock.location)
    if stated is None or stated.dims != tuple(int(n) for n in dataset.shape):
        return None
    layout = stated.layout
    if layout_class == h5py.h5d.CONTIGUOUS:
        if layout.layout_class != h5btree.CONTIGUOUS or layout.size is None:
            return None
    elif layout_class == h5py.h5d.CHUNKED:
        if (
            layout.layout_class != h5btree.CHUNKED
            or layout.chunks != tuple(int(c) for c in dataset.chunks)
            or layout.itemsize != dataset.dtype.itemsize
            or layout.flags & ~(h5btree.DONT_FILTER_PARTIAL_BOUND_CHUNKS
                                | h5btree.SINGLE_INDEX_WITH_FILTER)
        ):
            return None
    else:
        return None
    return Storage(fd, superblock.location, layout)


#: The first HDF5 release whose chunk queries (``H5Dchunk_iter``,
#: ``H5Dget_chunk_info``) report a chunk's address with the base address
#: added (HDFGroup/hdf5 pull request 4236, fixing issue 3003). Before it they
#: report the address as the file stores it, relative to the base address.
#: (``H5Dget_offset`` of contiguous data has always added it; it is not used.)
CHUNK_QUERIES_ADD_BASE = (1, 14, 4)


def _chunk_address_shift(base: int) -> int:
    """What to add to a chunk address HDF5's chunk queries report, to make it a file offset.

    The rule is the HDF5 library's, by its version (:data:`CHUNK_QUERIES_ADD_BASE`);
    ``base`` is the file offset of the base address.

    Examples
    --------
    >>> _chunk_address_shift(0)
    0
    >>> _chunk_address_shift(512) == (0 if h5py.version.hdf5_version_tuple >= (1, 14, 4) else 512)
    True
    """
    return 0 if tuple(h5py.version.hdf5_version_tuple) >= CHUNK_QUERIES_ADD_BASE else base


# --------------------------------------------------------------------------
# The chunk index

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
           addresses are made file offsets by :func:`_chunk_address_shift`.
        3. Where the layout says partial edge chunks are stored without
           filters, their filter masks skip every filter, as HDF5 reads them.
        """
        table = _btree_table(dataset, storage)
        if table is None:
            table = _hdf5_table(dataset, storage.base)
        return cls.from_table(dataset, table, storage.layout)

    @classmethod
    def from_table(cls, dataset: h5py.Dataset, table: np.ndarray,
                   layout: h5btree.Layout) -> ChunkIndex:
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
        if layout.flags & h5btree.DONT_FILTER_PARTIAL_BOUND_CHUNKS:
            # HDF5 neither filters nor unfilters a chunk that reaches past the
            # dataset's current extent (H5D__chunk_is_partial_edge_chunk).
            for axis, (n, c) in enumerate(zip(shape, chunks)):
                if n % c:
                    masks[(slice(None),) * axis + (-1,)] = _NO_FILTERS
        return cls(chunks, offsets, sizes, masks)


def _btree_table(dataset: h5py.Dataset, storage: Storage) -> np.ndarray | None:
    """The chunk table of ``dataset`` read from its version 1 B-tree, addresses made
    file offsets; ``None`` if it has none, or HDF5 counts another number of chunks."""
    layout = storage.layout
    if layout.version != 3 or layout.index != h5btree.BTREE_INDEX:
        return None
    if layout.address is None:  # nothing written: no B-tree yet
        table = np.zeros((0, dataset.ndim + 3), np.int64)
    else:
        found = h5btree.btree_chunks(storage.fd, layout.address, storage.base,
                                     dataset.shape, dataset.chunks)
        if found is None:
            return None
        table = found.copy()
        table[:, -3] += storage.base
    return table if len(table) == dataset.id.get_num_chunks() else None


def _hdf5_table(dataset: h5py.Dataset, base: int) -> np.ndarray:
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
    table[:, -3] += _chunk_address_shift(base)
    return table


# --------------------------------------------------------------------------
# Readers


@dataclass(frozen=True, eq=False)
class DirectReader(abc.ABC):
    """Reads a dataset's storage from the file; subclasses know the layout.

    Attributes
    ----------
    file : _File
        Where to read: ``file.fd``, a descriptor valid while the reader reads
        (the reader holds none of its own), and ``file.path``.
    dataset : str
        The dataset's name in its file, for messages.
    shape : tuple of int
    dtype : numpy.dtype
        The dataset's dtype, byte order included: what the bytes hold.
    fill_value : numpy scalar
        What unallocated storage reads as.
    """

    file: _File
    dataset: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any

    @abc.abstractmethod
    def supports(self, key: Key) -> bool:
        """Whether :meth:`read` can read ``key`` efficiently."""

    @abc.abstractmethod
    def read(self, key: Key, out: np.ndarray) -> None:
        """Read ``key`` into ``out``.

        Parameters
        ----------
        key : Key
            Normalised, with ranges of positive step and sorted, unique index
            arrays; ints select one position.
        out : numpy.ndarray
            C-contiguous, of :attr:`dtype`, one axis per key item (length 1
            for an int).
        """

    def _fail(self, what: str, chunk: tuple[int, ...] | None = None) -> ChunkDecodeError:
        return ChunkDecodeError(f"{self.file.path}: dataset {self.dataset!r}: {what}",
                                chunk=chunk)

    def _read_exactly(self, buffer: memoryview, offset: int) -> None:
        """Fill ``buffer`` from ``offset``; a file that ends first is corrupt."""
        if _pread(self.file.fd, buffer, offset) != buffer.nbytes:
            raise self._fail(
                f"the file ends before byte {offset + buffer.nbytes}, inside the stored data"
            )


def _as_range(item: Any) -> Any:
    return range(item, item + 1) if isinstance(item, int) else item


@dataclass(frozen=True, eq=False)
class ContiguousReader(DirectReader):
    """Reads hyperslabs of a contiguous dataset: one run of bytes at ``offset``."""

    offset: int | None = None

    def supports(self, key: Key) -> bool:
        if self.offset is None:
            return True
        if not all(isinstance(k, int) or (isinstance(k, range) and k.step == 1) for k in key):
            return False
        # Whole rows of the first axis, when they are short or mostly
        # selected; else runs long enough to be worth one system call each.
        # Scattered short runs in long rows are left to HDF5's sieve buffer.
        return self._whole_rows(key) or (
            self._run(key)[1] * self.dtype.itemsize >= _DIRECT_RUN_BYTES
        )

    def _whole_rows(self, key: Key) -> bool:
        row = math.prod(self.shape[1:])
        selected = math.prod(len(_as_range(k)) for k in key[1:])
        return row * self.dtype.itemsize <= _SIEVE_BYTES or row <= 4 * selected

    def _run(self, key: Key) -> tuple[int, int]:
        """The innermost axis not selected whole, and the elements in one run."""
        axis = len(key) - 1
        while axis > 0 and len(_as_range(key[axis])) == self.shape[axis]:
            axis -= 1
        return axis, len(_as_range(key[axis])) * math.prod(self.shape[axis + 1 :])

    def read(self, key: Key, out: np.ndarray) -> None:
        if self.offset is None:
            out[...] = self.fill_value
            return
        ranges = [_as_range(k) for k in key]
        itemsize = self.dtype.itemsize
        row = math.prod(self.shape[1:])
        if self._whole_rows(key):
            # Whole rows of axis 0, in groups, then the selected columns.
            rows_per_group = max(1, _SCRATCH_BYTES // max(1, row * itemsize))
            whole = all(len(r) == n for r, n in zip(ranges[1:], self.shape[1:]))
            first = ranges[0].start
            for start in range(0, len(ranges[0]), rows_per_group):
                count = min(rows_per_group, len(ranges[0]) - start)
                nbytes = count * row * itemsize
                offset = self.offset + (first + start) * row * itemsize
                if whole:
                    target = out[start : start + count].data.cast("B")
                    self._read_exactly(target, offset)
                    continue
                scratch = _scratch_bytes(nbytes)
                self._read_exactly(scratch.data, offset)
                rows = scratch.view(self.dtype).reshape((count, *self.shape[1:]))
                out[start : start + count] = rows[(slice(None), *map(_slice, ranges[1:]))]
            return
        axis, run = self._run(key)
        strides = np.array([math.prod(self.shape[k + 1 :]) for k in range(len(self.shape))])
        starts = np.array([r.start for r in ranges])
        # Element offsets of every run: broadcast over the outer axes' positions.
        flat = int(starts @ strides)
        grids = np.ix_(*[np.arange(len(r)) * int(s) for r, s in zip(ranges[:axis], strides)])
        offsets = (flat + sum(grids, np.zeros((), np.int64))).ravel() if axis else np.array([flat])
        target = out.reshape(-1).data.cast("B")
        step = run * itemsize
        for i, element in enumerate(offsets.tolist()):
            self._read_exactly(target[i * step : (i + 1) * step], self.offset + element * itemsize)


def _slice(r: range) -> slice:
    return slice(r.start, r.stop, r.step)


@dataclass(frozen=True)
class _Piece:
    """Where a group of chunks along one axis lands: chunks, part of each, destination."""

    grid: slice
    within: slice
    dest: slice
    nchunks: int
    width: int


def _pieces(start: int, stop: int, first_chunk: int, nchunks: int, chunk: int) -> list[_Piece]:
    """Split a selection ``[start, stop)`` over chunks ``first_chunk...`` into at most
    three pieces: a partly covered first chunk, whole chunks, a partly covered last one."""
    pieces = []
    j, end = 0, nchunks
    low = start - first_chunk * chunk
    if low or nchunks == 1:
        width = min(stop - start, chunk - low)
        pieces.append(_Piece(slice(0, 1), slice(low, low + width), slice(0, width), 1, width))
        j = 1
    high = stop - (first_chunk + nchunks - 1) * chunk  # selected length of the last chunk
    if j < nchunks and high < chunk:
        end = nchunks - 1
    if j < end:
        d0 = (first_chunk + j) * chunk - start
        pieces.append(
            _Piece(slice(j, end), slice(0, chunk), slice(d0, d0 + (end - j) * chunk),
                   end - j, chunk)
        )
    if end < nchunks and j <= end:
        d0 = (first_chunk + end) * chunk - start
        pieces.append(_Piece(slice(end, end + 1), slice(0, high), slice(d0, d0 + high), 1, high))
    return pieces


@dataclass(frozen=True)
class _AxisPlan:
    """The chunks one key item touches, and for each its part and destination."""

    chunks: np.ndarray
    within: list[Any]
    dest: list[slice]


def _axis_plan(item: Any, chunk: int) -> _AxisPlan:
    """Which chunks of an axis ``item`` (int, range of positive step, sorted
    unique array) selects from, what inside each, and where it goes."""
    item = _as_range(item)
    chunks: list[int] = []
    within: list[Any] = []
    dest: list[slice] = []
    if isinstance(item, range):
        start, step, last = item.start, item.step, item[-1]
        for j in range(start // chunk, last // chunk + 1):
            low = j * chunk
            first = start if start >= low else start + -(-(low - start) // step) * step
            limit = min(low + chunk, last + 1)
            if first >= limit:
                continue  # a step longer than the chunk skips it
            count = (limit - 1 - first) // step + 1
            d0 = (first - start) // step
            chunks.append(j)
            within.append(slice(first - low, first - low + (count - 1) * step + 1, step))
            dest.append(slice(d0, d0 + count))
    else:
        which = item // chunk
        bounds = [0, *(np.flatnonzero(np.diff(which)) + 1).tolist(), item.size]
        for a, b in itertools.pairwise(bounds):
            j = int(which[a])
            chunks.append(j)
            within.append(item[a:b] - j * chunk)
            dest.append(slice(a, b))
    return _AxisPlan(np.array(chunks, np.intp), within, dest)


def _take(chunk: np.ndarray, within: tuple[Any, ...]) -> np.ndarray:
    """``chunk`` indexed orthogonally by slices and index arrays."""
    arrays = [i for i, w in enumerate(within) if isinstance(w, np.ndarray)]
    if len(arrays) <= 1:
        return chunk[within]
    part = chunk[tuple(slice(None) if isinstance(w, np.ndarray) else w for w in within)]
    for axis in arrays:
        part = np.take(part, within[axis], axis=axis)
    return part


@dataclass(frozen=True, eq=False)
class ChunkedReader(DirectReader):
    """Reads any orthogonal selection of a chunked dataset from its chunks."""

    index: ChunkIndex | None = None
    filters: tuple[_Filter, ...] = ()

    def supports(self, key: Key) -> bool:
        return True

    @property
    def _index(self) -> ChunkIndex:
        assert self.index is not None
        return self.index

    def read(self, key: Key, out: np.ndarray) -> None:
        index = self._index
        if not self.filters and all(
            isinstance(k, int) or (isinstance(k, range) and k.step == 1) for k in key
        ):
            ranges = [_as_range(k) for k in key]
            block = tuple(
                slice(r.start // c, (r.stop - 1) // c + 1) for r, c in zip(ranges, index.chunks)
            )
            chunk_bytes = math.prod(index.chunks) * self.dtype.itemsize
            # Every chunk there, at its full size (HDF5 writes no other, but
            # a chunk written raw by another program could differ).
            if np.all(index.offsets[block] >= 0) and np.all(index.sizes[block] == chunk_bytes):
                self._read_block(ranges, block, out)
                return
        self._read_chunks(key, out)

    # Uncompressed, fully allocated hyperslabs: whole runs of chunks at once.

    def _read_block(self, ranges: list[range], block: tuple[slice, ...], out: np.ndarray) -> None:
        index = self._index
        chunks = index.chunks
        itemsize = self.dtype.itemsize
        chunk_bytes = math.prod(chunks) * itemsize
        offsets = index.offsets[block]
        grid = offsets.shape
        if all(
            g == 1 and r.start == b.start * c and len(r) == c
            for g, r, b, c in zip(grid[1:], ranges[1:], block[1:], chunks[1:])
        ):
            self._read_rows(ranges[0], block[0].start, offsets.ravel(), out)
            return
        if self._read_slabs(ranges, block, offsets, out):
            return
        per_row = math.prod(grid[1:]) * chunk_bytes
        rows_per_group = max(1, _SCRATCH_BYTES // per_row)
        pieces_after = [
            _pieces(r.start, r.stop, b.start, g, c)
            for r, b, g, c in zip(ranges[1:], block[1:], grid[1:], chunks[1:])
        ]
        for g0 in range(0, grid[0], rows_per_group):
            g1 = min(g0 + rows_per_group, grid[0])
            group = offsets[g0:g1].ravel()
            scratch = _scratch_bytes(group.size * chunk_bytes)
            self._read_runs(group, chunk_bytes, scratch.data)
            # The group's chunks as one array, axes (g0, g1, ..., c0, c1, ...).
            ndim = len(grid)
            stored = scratch.view(self.dtype).reshape((g1 - g0, *grid[1:], *chunks))
            # The destination's axes (g0, c0, g1, c1, ...) taken in the stored
            # order: numpy then copies in the scratch's memory order, which
            # runs faster than in the destination's.
            order = [*range(0, 2 * ndim, 2), *range(1, 2 * ndim, 2)]
            # The rows of axis 0 this group holds, clipped to the selection.
            lo = max(ranges[0].start, (block[0].start + g0) * chunks[0])
            hi = min(ranges[0].stop, (block[0].start + g1) * chunks[0])
            first = block[0].start + g0
            for combo in itertools.product(
                _pieces(lo, hi, first, g1 - g0, chunks[0]), *pieces_after
            ):
                source = stored[(*(p.grid for p in combo), *(p.within for p in combo))]
                dest = out[
                    (_shift(combo[0].dest, lo - ranges[0].start), *(p.dest for p in combo[1:]))
                ]
                split = tuple(n for p in combo for n in (p.nchunks, p.width))
                np.copyto(dest.reshape(split, copy=False).transpose(order), source)

    def _read_rows(self, rows: range, first_chunk: int, offsets: np.ndarray, out: np.ndarray) -> None:
        """Chunks that hold whole rows of ``out``: their bytes are ``out``'s bytes."""
        chunk0 = self._index.chunks[0]
        row_bytes = math.prod(out.shape[1:]) * self.dtype.itemsize
        chunk_ids = np.arange(first_chunk, first_chunk + offsets.size)
        low = np.maximum(rows.start, chunk_ids * chunk0) - chunk_ids * chunk0
        high = np.minimum(rows.stop, (chunk_ids + 1) * chunk0) - chunk_ids * chunk0
        starts = offsets + low * row_bytes
        lengths = (high - low) * row_bytes
        target = out.reshape(-1).data.cast("B")
        breaks = np.flatnonzero(starts[1:] != starts[:-1] + lengths[:-1]) + 1
        done = 0
        for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), offsets.size]):
            nbytes = int(lengths[a:b].sum())
            self._read_exactly(target[done : done + nbytes], int(starts[a]))
            done += nbytes

    def _read_slabs(self, ranges: list[range], block: tuple[slice, ...], offsets: np.ndarray,
                    out: np.ndarray) -> bool:
        """Chunks one slab thick along axis 0, each holding a contiguous part of
        ``out``: rows of axis 1 of whole trailing axes. Their selected bytes
        are read straight into ``out``, one system call per chunk, and the
        rest of each chunk is not read (tiles of mosaics, cut along axis 1,
        would otherwise read every chunk whole, several times). ``False``
        when the selection is not of that form."""
        chunks = self._index.chunks
        if (
            len(chunks) < 2
            or chunks[0] != 1
            or any(g != 1 for g in offsets.shape[1:])
            or any(r.start != b.start * c or len(r) != c
                   for r, b, c in zip(ranges[2:], block[2:], chunks[2:]))
        ):
            return False
        trailing = math.prod(chunks[2:]) * self.dtype.itemsize
        skip = (ranges[1].start - block[1].start * chunks[1]) * trailing
        nbytes = len(ranges[1]) * trailing
        if out.nbytes != offsets.size * nbytes or not out.flags.c_contiguous:
            return False
        target = out.reshape(-1).data.cast("B")
        for i, offset in enumerate(offsets.ravel().tolist()):
            self._read_exactly(target[i * nbytes : (i + 1) * nbytes], offset + skip)
        return True

    def _read_runs(self, offsets: np.ndarray, chunk_bytes: int, target: memoryview) -> None:
        """Read chunks at ``offsets`` (of ``chunk_bytes`` each) one after the other into
        ``target``, one system call per run of chunks adjacent in the file."""
        breaks = np.flatnonzero(np.diff(offsets) != chunk_bytes) + 1
        for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), offsets.size]):
            self._read_exactly(target[a * chunk_bytes : b * chunk_bytes], int(offsets[a]))

    # Everything else: chunk by chunk, decoded in this thread.

    def _read_chunks(self, key: Key, out: np.ndarray) -> None:
        index = self._index
        plans = [_axis_plan(k, c) for k, c in zip(key, index.chunks)]
        where = np.ix_(*[p.chunks for p in plans])
        offsets = index.offsets[where].ravel()
        sizes = index.sizes[where].ravel()
        masks = index.masks[where].ravel().tolist()
        entries = list(
            itertools.product(*[list(zip(p.chunks.tolist(), p.within, p.dest)) for p in plans])
        )
        missing = np.flatnonzero(offsets < 0)
        for i in missing.tolist():
            out[tuple(e[2] for e in entries[i])] = self.fill_value
        stored = np.flatnonzero(offsets >= 0)
        if not stored.size:
            return
        order = stored[np.argsort(offsets[stored], kind="stable")]
        ends = offsets[order] + sizes[order]
        # Runs of chunks that follow each other in the file, up to the scratch size.
        adjacent = offsets[order][1:] == ends[:-1]
        run_start = 0
        chunk_bytes = math.prod(index.chunks) * self.dtype.itemsize
        decoders = [(f, f.decoder(self.dtype.itemsize, chunk_bytes)) for f in self.filters]
        for k in range(1, order.size + 1):
            if k < order.size and adjacent[k - 1] and (
                ends[k] - offsets[order[run_start]] <= _SCRATCH_BYTES
            ):
                continue
            run = order[run_start:k]
            begin = int(offsets[run[0]])
            scratch = _scratch_bytes(int(ends[k - 1]) - begin)
            view = scratch.data
            self._read_exactly(view, begin)
            for i in run.tolist():
                entry = entries[i]
                a = int(offsets[i]) - begin
                raw = view[a : a + int(sizes[i])]
                dest = out[tuple(e[2] for e in entry)]
                within = tuple(e[1] for e in entry)
                whole = (dest.shape == index.chunks and dest.flags.c_contiguous
                         and dest.dtype == self.dtype
                         and all(isinstance(w, slice) and w == slice(0, c, 1)
                                 for w, c in zip(within, index.chunks)))
                chunk = self._decode(raw, masks[i], decoders, chunk_bytes, entry,
                                     dest if whole else None)
                if chunk is not dest:
                    dest[...] = _take(chunk, within)
            run_start = k

    def _decode(
        self,
        raw: memoryview,
        mask: int,
        decoders: Sequence[tuple[_Filter, Callable[[Any], Any]]],
        chunk_bytes: int,
        entry: Sequence[tuple[int, Any, slice]],
        into: np.ndarray | None = None,
    ) -> np.ndarray:
        """The decoded chunk; ``into`` itself when the shuffle filter, undone
        last, could write the chunk there (a C-contiguous place for all of it)."""
        active = [(f, decode) for f, decode in reversed(decoders) if not mask >> f.position & 1]
        # (HDF5 skipped the filters whose bit is set in the mask when it wrote the chunk.)
        last_shuffles = into is not None and bool(active) and active[-1][0].code == _SHUFFLE
        data: Any = raw
        for f, decode in active[:-1] if last_shuffles else active:
            try:
                data = decode(data)
            except (zlib.error, ValueError) as error:
                raise self._chunk_error(entry, f"the {f.name} filter failed: {error}") from error
        nbytes = memoryview(data).nbytes
        if nbytes != chunk_bytes:  # the shuffle filter keeps the size
            name = next((f.name for f, _ in decoders if not mask >> f.position & 1), "none")
            raise self._chunk_error(
                entry, f"decoding ({name} filter) gave {nbytes} bytes, expected {chunk_bytes}"
            )
        if last_shuffles:
            assert into is not None
            # Straight into the tile: no chunk-sized array, no copy of it.
            _unshuffle(data, active[-1][0].parameter or self.dtype.itemsize,
                       into.reshape(-1).view(np.uint8))
            return into
        return np.frombuffer(data, self.dtype).reshape(self._index.chunks)

    def _chunk_error(self, entry: Sequence[tuple[int, Any, slice]], what: str) -> ChunkDecodeError:
        grid = tuple(e[0] for e in entry)
        start = tuple(j * c for j, c in zip(grid, self._index.chunks))
        return self._fail(f"chunk {grid} (elements from {start}): {what}", grid)


def _shift(s: slice, by: int) -> slice:
    return slice(s.start + by, s.stop + by)
