"""Output chunks encoded as HDF5 stores them, so that they can be written whole.

Writing through h5py compresses each chunk under h5py's global lock, in the
thread that writes (DESIGN, section 12). A tile that covers whole chunks of a
chunked HDF5 dataset can instead be cast, cut into chunks and run through
the dataset's filter pipeline in a worker thread; the main thread then
stores the bytes with ``write_direct_chunk``, which only does I/O.

1. :func:`hdf5_encoder` reads, once, what encoding a dataset's chunks takes:
   its shape, chunk shape, dtype, fill value, filter pipeline and whether
   partial edge chunks are filtered. Datasets whose pipeline holds a filter
   this module cannot reproduce exactly (szip, nbit, scale-offset, LZF or
   any plugin) get ``None``.
2. :func:`hdf5_cast` converts values to the dataset's dtype as HDF5's own
   conversion would (integers saturate, floats round once); conversions it
   cannot reproduce exactly give ``None``.
3. :meth:`ChunkEncoder.encode` cuts a region's values into chunks, pads edge
   chunks with the fill value (HDF5 stores them full-size, padded so), and
   applies the filters in pipeline order: :func:`shuffle`, deflate
   (:mod:`zlib`, at the dataset's level) and :func:`fletcher32`.

What the chunks written rely on, all stated by HDF5 for the dataset (DESIGN,
section 10c), else :func:`hdf5_encoder` gives ``None`` and h5py writes:

* the file's type of the data is exactly the type h5py makes for the
  dataset's dtype, so the chunk's bytes are the dtype's bytes;
* the filter pipeline (``H5Pget_filter``): filter ids and, for shuffle, the
  element size HDF5 stored as its parameter; deflate streams of any zlib
  decode to the same bytes, which is what HDF5 checks;
* the chunk options (``H5Pget_chunk_opts``): with
  ``H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS`` HDF5 stores, and reads, chunks
  that reach past the dataset's extent without filters, so they are written
  so. h5py does not wrap the function; it is asked of the HDF5 library h5py
  loaded (:func:`_chunk_options`), and where it cannot be, datasets with
  filters and partial edge chunks get ``None``;
* the fill value (``dataset.fillvalue``) for the padding;
* the conversion: only those whose result HDF5's conversion functions fix
  exactly (integers saturate; exact integer-to-float; native IEEE floats
  round once, overflowing to infinity), as :func:`hdf5_cast` lists.

Everything here is pure numpy and zlib (both release the GIL); only
:func:`hdf5_encoder` touches h5py. For Zarr, whose codecs run wherever its
arrays are written, :func:`zarr_write_unit` tells which regions a worker
thread may write by itself: those that :func:`covers` whole stored objects.

Examples
--------
>>> import numpy as np
>>> encoder = ChunkEncoder(shape=(3, 4), chunks=(2, 4), dtype=np.dtype("<i2"),
...                        fill_value=np.int16(-1), filters=(Shuffle(2),))
>>> encoder.covers((slice(0, 2), slice(0, 4))), encoder.covers((slice(0, 1), slice(0, 4)))
(True, False)
>>> [(c.offset, c.data.hex()) for c in encoder.encode(
...     (slice(2, 3), slice(0, 4)), np.array([[1, 2, 3, 4]], "<i2"))]
[((2, 0), '01020304ffffffff00000000ffffffff')]
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import h5py.h5p
import numpy as np

# The one implementation of HDF5's checksum, shared with the readers that check it.
from .storage.hdf5.checksums import fletcher32

__all__ = [
    "ChunkEncoder",
    "Deflate",
    "EncodedChunk",
    "Fletcher32",
    "Shuffle",
    "chunk_starts",
    "covers",
    "fletcher32",
    "hdf5_cast",
    "hdf5_encoder",
    "shuffle",
]

Region = tuple[slice, ...]


@dataclass(frozen=True)
class EncodedChunk:
    """One chunk ready to be stored as it is.

    Attributes
    ----------
    offset : tuple of int
        Where the chunk starts in the dataset, in elements along each axis.
    data : bytes or numpy.ndarray
        The chunk's stored bytes (an unfiltered chunk may be the C-contiguous
        array itself, which exposes them without a copy).
    filter_mask : int
        HDF5's filter mask: bit ``n`` set when filter ``n`` was skipped.
    """

    offset: tuple[int, ...]
    data: Any
    filter_mask: int = 0


def shuffle(data: Any, itemsize: int) -> bytes:
    """HDF5's shuffle filter: byte ``k`` of every element, for each ``k`` in turn.

    Bytes left over after the last whole element stay at the end, unshuffled,
    as HDF5 leaves them.

    Examples
    --------
    >>> shuffle(bytes([1, 2, 3, 4, 5, 6, 7]), 2).hex()
    '01030502040607'
    """
    raw = np.frombuffer(data, np.uint8)
    count = raw.size // itemsize
    if itemsize <= 1 or count <= 1:
        return raw.tobytes()
    whole = raw[: count * itemsize].reshape(count, itemsize).T.tobytes()
    return whole + raw[count * itemsize:].tobytes()


@dataclass(frozen=True)
class Shuffle:
    """HDF5's shuffle filter (``H5Z_FILTER_SHUFFLE``) for elements of ``itemsize`` bytes."""

    itemsize: int

    def apply(self, data: Any) -> Any:
        return shuffle(data, self.itemsize)


@dataclass(frozen=True)
class Deflate:
    """HDF5's deflate filter (``H5Z_FILTER_DEFLATE``): a zlib stream at ``level``.

    HDF5 calls zlib's ``compress2``, which makes the same stream as
    :func:`zlib.compress` (window 15, memory level 8, default strategy).
    """

    level: int

    def apply(self, data: Any) -> Any:
        return zlib.compress(data, self.level)


@dataclass(frozen=True)
class Fletcher32:
    """HDF5's checksum filter (``H5Z_FILTER_FLETCHER32``): data, then its checksum.

    The checksum is appended little-endian (HDF5's ``UINT32ENCODE``).
    """

    def apply(self, data: Any) -> Any:
        return bytes(memoryview(data).cast("B")) + fletcher32(data).to_bytes(4, "little")


Filter = Shuffle | Deflate | Fletcher32


@dataclass(frozen=True)
class ChunkEncoder:
    """How the chunks of one chunked HDF5 dataset are stored.

    Parameters
    ----------
    shape : tuple of int
        The dataset's shape.
    chunks : tuple of int
        Its chunk shape.
    dtype : numpy.dtype
        Its dtype, byte order included: chunks hold the values in it.
    fill_value : numpy scalar
        Its fill value, which pads the part of an edge chunk beyond the data.
    filters : tuple
        Its filter pipeline, in order.
    unfiltered_edges : bool
        Whether chunks that reach past the dataset's extent are stored without
        filters (HDF5's ``H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS`` option).
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any
    filters: tuple[Filter, ...] = ()
    unfiltered_edges: bool = False

    def covers(self, region: Region) -> bool:
        """Whether ``region`` covers whole chunks only (edge chunks count as whole).

        Examples
        --------
        >>> e = ChunkEncoder((5,), (2,), np.dtype("f4"), np.float32(0))
        >>> [e.covers((slice(a, b),)) for a, b in [(0, 4), (2, 5), (1, 3), (0, 3)]]
        [True, True, False, False]
        """
        return covers(region, self.chunks, self.shape)

    def encode(self, region: Region, value: np.ndarray) -> list[EncodedChunk]:
        """The encoded chunks of ``region`` (which :meth:`covers`), in C order.

        ``value`` holds the region's values in :attr:`dtype` already (see
        :func:`hdf5_cast`).
        """
        encoded = []
        for offset in chunk_starts(region, self.chunks):
            inside = tuple(
                slice(o - s.start, min(o + c, n) - s.start)
                for o, s, c, n in zip(offset, region, self.chunks, self.shape)
            )
            block = value[inside]
            partial = block.shape != self.chunks
            if partial:
                padded = np.full(self.chunks, self.fill_value, self.dtype)
                padded[tuple(slice(0, k) for k in block.shape)] = block
                block = padded
            data: Any = np.ascontiguousarray(block)
            if not (partial and self.unfiltered_edges):
                for step in self.filters:
                    data = step.apply(data)
            encoded.append(EncodedChunk(offset, data))
        return encoded


def _exact_in_float(source: np.dtype, target: np.dtype) -> bool:
    """Whether every integer of ``source`` is a number of the float ``target``."""
    return np.iinfo(source).bits <= np.finfo(target).nmant + 1


def hdf5_cast(value: np.ndarray, dtype: np.dtype) -> np.ndarray | None:
    """``value`` converted to ``dtype`` as HDF5 converts it on writing, or ``None``.

    HDF5 saturates integers that do not fit (numpy wraps them round) and
    converts floats between native dtypes with the machine's casts, as numpy
    does (overflow gives infinity). Conversions reproduced here: within a
    dtype (byte order aside); from bool to integers and floats; integers to
    integers; integers to floats that hold them exactly; native floats to
    native floats of at least 32 bits, native complex to native complex
    numbers. Not reproduced (``None``): conversions to half precision (HDF5
    goes through single, rounding twice), float conversions across byte
    orders (HDF5's own code rounds subnormals and keeps NaN payloads its
    way) and anything else to complex numbers (HDF5 refuses it).

    Examples
    --------
    >>> hdf5_cast(np.array([300, -300, 5]), np.dtype("i1")).tolist()
    [127, -128, 5]
    >>> hdf5_cast(np.array([1e300, 0.5]), np.dtype("f4")).tolist()
    [inf, 0.5]
    >>> hdf5_cast(np.array([0.5]), np.dtype("f2")), hdf5_cast(np.array([0.5]), np.dtype(">f4"))
    (None, None)
    """
    source = value.dtype
    if dtype.kind not in "biufc" or source.kind not in "biufc" or dtype.itemsize > 16:
        return None
    if source.kind == "f" and source.itemsize > 8 or source.kind == "c" and source.itemsize > 16:
        return None  # long doubles: HDF5's conversions of them are its own
    if source.newbyteorder("=") == dtype.newbyteorder("="):
        # No copy when nothing changes: the chunks are written before the
        # tile's buffers are reused.
        return value.astype(dtype, copy=False)
    if dtype.kind == "c" and source.kind != "c":
        return None  # HDF5 has no conversion of numbers to its complex compounds
    if source.kind == "b":
        return value.astype(dtype)
    if source.kind in "iu" and dtype.kind in "iu":
        low = max(np.iinfo(source).min, np.iinfo(dtype).min)
        high = min(np.iinfo(source).max, np.iinfo(dtype).max)
        if low > np.iinfo(source).min or high < np.iinfo(source).max:
            value = np.clip(value, source.type(low), source.type(high))
        return value.astype(dtype)
    if source.kind in "iu" and dtype.kind == "f":
        return value.astype(dtype) if _exact_in_float(source, dtype) else None
    if source.kind in "fc" and dtype.kind in "fc" and source.kind <= dtype.kind:
        if dtype.itemsize < (8 if dtype.kind == "c" else 4):
            return None
        if not (source.isnative and dtype.isnative):
            return None  # HDF5's own (soft) conversion rounds subnormals and NaNs its way
        with np.errstate(over="ignore", invalid="ignore"):  # overflow gives inf, as in HDF5
            return value.astype(dtype)
    return None


def _filters(plist: Any, dtype: np.dtype) -> tuple[Filter, ...] | None:
    """The filters of a dataset creation property list, or ``None`` if any is unknown."""
    found: list[Filter] = []
    for number in range(plist.get_nfilters()):
        code, _, values, _ = plist.get_filter(number)
        if code == h5py.h5z.FILTER_SHUFFLE:
            found.append(Shuffle(int(values[0]) if values else dtype.itemsize))
        elif code == h5py.h5z.FILTER_DEFLATE:
            found.append(Deflate(int(values[0]) if values else 6))
        elif code == h5py.h5z.FILTER_FLETCHER32:
            found.append(Fletcher32())
        else:
            return None
    return tuple(found)


#: ``H5Pget_chunk_opts``'s option: partial edge chunks are stored without filters.
DONT_FILTER_PARTIAL_CHUNKS = 0x0002


@functools.lru_cache(maxsize=1)
def _get_chunk_opts() -> Any:
    """``H5Pget_chunk_opts`` of the HDF5 library h5py loaded, or ``None`` if not found.

    Looked up as a symbol of h5py's own extension module: the dynamic linker
    searches a library's dependencies too (POSIX ``dlsym``), and libhdf5 is
    one; so it is the very library h5py calls, whatever its path.
    """
    try:
        function = ctypes.CDLL(h5py.h5p.__file__).H5Pget_chunk_opts
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_uint)]  # hid_t, unsigned *
    function.restype = ctypes.c_int
    return function


def _chunk_options(plist: Any) -> int | None:
    """The chunk options of a chunked dataset's creation property list, or ``None``
    if HDF5 cannot be asked (h5py does not wrap ``H5Pget_chunk_opts``)."""
    try:
        from h5py._objects import phil  # the lock h5py takes around every HDF5 call
    except ImportError:
        return None
    function = _get_chunk_opts()
    if function is None:
        return None
    options = ctypes.c_uint(0)
    with phil:  # every HDF5 call under h5py's lock, as h5py makes them
        status = function(plist.id, ctypes.byref(options))
    return int(options.value) if status >= 0 else None


def hdf5_encoder(dataset: Any) -> ChunkEncoder | None:
    """How ``dataset``'s chunks are stored, if it is a chunked ``h5py.Dataset`` that allows it.

    ``None`` for anything else: other targets, contiguous or compact
    datasets, dtypes other than plain numbers and booleans (h5py's enums,
    strings and compounds carry metadata HDF5 converts by), file types other
    than h5py's for the dtype, filter pipelines with a filter other than
    shuffle, deflate and fletcher32, and filtered datasets with partial edge
    chunks whose chunk options HDF5 cannot be asked for.

    Examples
    --------
    >>> import h5py, numpy as np, io
    >>> f = h5py.File(io.BytesIO(), "w")
    >>> d = f.create_dataset("d", (10, 10), "f4", chunks=(5, 10), compression="gzip",
    ...                      shuffle=True, fillvalue=-1)
    >>> encoder = hdf5_encoder(d)
    >>> encoder.chunks, encoder.filters, float(encoder.fill_value)
    ((5, 10), (Shuffle(itemsize=4), Deflate(level=4)), -1.0)
    >>> hdf5_encoder(f.create_dataset("c", (10,), "f4")) is None
    True
    """
    if not type(dataset).__module__.startswith("h5py"):
        return None
    if not isinstance(dataset, h5py.Dataset) or dataset.chunks is None:
        return None
    dtype = dataset.dtype
    if dtype.kind not in "biufc" or dtype.metadata or dtype.itemsize > 16:
        return None
    if not dataset.id.get_type().equal(h5py.h5t.py_create(dtype)):
        return None  # e.g. integers of fewer bits than their bytes hold, or other float formats
    plist = dataset.id.get_create_plist()
    if plist.get_layout() != h5py.h5d.CHUNKED:
        return None
    filters = _filters(plist, dtype)
    if filters is None:
        return None
    shape, chunks = tuple(dataset.shape), tuple(dataset.chunks)
    unfiltered_edges = False
    if filters and any(n % c for n, c in zip(shape, chunks)):
        options = _chunk_options(plist)
        if options is None:
            return None
        unfiltered_edges = bool(options & DONT_FILTER_PARTIAL_CHUNKS)
    return ChunkEncoder(
        shape=shape, chunks=chunks, dtype=dtype,
        fill_value=np.asarray(dataset.fillvalue).astype(dtype)[()], filters=filters,
        unfiltered_edges=unfiltered_edges,
    )


def chunk_starts(region: Region, chunks: Sequence[int]) -> list[tuple[int, ...]]:
    """Offsets of the chunks a region covers, in C order.

    Examples
    --------
    >>> chunk_starts((slice(0, 4), slice(2, 4)), (2, 2))
    [(0, 2), (2, 2)]
    """
    return list(itertools.product(*(range(s.start, s.stop, c) for s, c in zip(region, chunks))))


def covers(region: Region, chunks: Sequence[int], shape: Sequence[int]) -> bool:
    """Whether ``region`` covers whole chunks of an array of ``shape`` (edge chunks count).

    Examples
    --------
    >>> covers((slice(2, 5),), (2,), (5,)), covers((slice(2, 4),), (3,), (5,))
    (True, False)
    """
    return all(
        s.start % c == 0 and (s.stop % c == 0 or s.stop == n)
        for s, c, n in zip(region, chunks, shape)
    )

