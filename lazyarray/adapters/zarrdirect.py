"""Reading Zarr chunks straight from a local store, decoded in the calling thread.

Zarr 3 reads a selection on its own event loop: it fetches and decodes the
chunks concurrently in its own thread pool, each into a new buffer, and
copies them into a new output array. Under lazyarray's worker threads that
oversubscribes the cores and allocates buffers the planner does not count;
on 2 cores it reached a third of the speed the codec decodes at. For the
arrays it can read exactly, :class:`DirectZarrReader` does the same work in
the worker thread that asks for the tile:

1. split the tile's key, axis by axis, into the chunks it touches (which
   part of each chunk, and where that part lands in the tile);
2. per chunk, read the chunk file of the local store into a buffer reused by
   the thread (raw chunks: straight into the tile);
3. decode it with numcodecs straight into the tile where the chunk is whole
   and its place in the tile is contiguous, else into a reused chunk buffer
   from which the selected part is copied; a chunk missing from the store is
   the array's fill value.

The tile is a pooled read buffer (:meth:`~lazyarray.context.EvaluationContext.read_buffer`), so
memory is the tile plus one compressed chunk and at most one decoded chunk
per worker. :func:`direct_reader` says which arrays qualify: a ``LocalStore``,
Zarr format 2 or 3, a regular chunk grid without sharding, C order, fixed-size
numeric or bool data, and no codec other than the bytes codec (either byte
order) and one compressor among zstd, blosc, gzip (and, for format 2, zlib
and lz4). Everything else is read through Zarr.

What a direct read relies on: the array's metadata only, as the Zarr
specifications define it (DESIGN, section 10c), never the bytes found:

* where a chunk is: the store's directory, the array's path and the chunk
  key encoding of the metadata (format 2: ``dimension_separator``);
* that a chunk missing from the store holds the fill value everywhere (both
  formats say so; an array without a fill value is left to Zarr);
* how a chunk is encoded: format 3, the codec list, exactly a ``bytes``
  codec (its ``endian`` gives the stored byte order) then at most one
  compressor, so no ``transpose``, sharding, checksum or other codec;
  format 2, the ``compressor`` alone, no ``filters`` and ``order`` "C" (the
  dtype in the metadata gives the byte order);
* that every chunk is stored whole, edge chunks included, in C order: a
  decoded chunk of another size is an error, never read as it is;
* that compressors decode without parameters from the metadata (blosc,
  zstd, lz4 and deflate streams say how they are decoded).

Examples
--------
>>> import numpy as np, zarr, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.zarr")
>>> z = zarr.create_array(path, shape=(4, 6), chunks=(2, 4), dtype="i4", fill_value=-1)
>>> z[:2] = np.arange(12).reshape(2, 6)
>>> reader = direct_reader(z)
>>> reader.read((range(1, 4), np.array([5, 0]))).tolist()
[[11, 6], [-1, -1], [-1, -1]]
>>> direct_reader(zarr.create_array({}, shape=(4,), dtype="i4")) is None  # in memory
True
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from ..errors import ChunkDecodeError
from ..indexing import Key

if TYPE_CHECKING:
    import zarr
    from zarr.core.chunk_key_encodings import ChunkKeyEncoding
    from zarr.core.metadata import ArrayV3Metadata

__all__ = ["DirectZarrReader", "Piece", "direct_reader", "read_file", "split_axis"]

#: numcodecs compressors of Zarr format 2 that decode without parameters.
_V2_COMPRESSORS = frozenset({"zstd", "blosc", "gzip", "zlib", "lz4"})

#: dtype kinds read directly: bool, integers, floats, complex.
_KINDS = "biufc"


@dataclass(frozen=True)
class Piece:
    """The part of one chunk that a key selects along one axis.

    Attributes
    ----------
    chunk : int
        Index of the chunk along the axis.
    inner : slice or numpy.ndarray
        What is selected, as positions within the chunk.
    outer : slice or numpy.ndarray
        Where it lands, as positions within the selection.
    whole : bool
        Whether ``inner`` is the whole stored chunk, in order.
    """

    chunk: int
    inner: slice | np.ndarray
    outer: slice | np.ndarray
    whole: bool


def split_axis(item: range | np.ndarray, length: int, chunk: int) -> list[Piece]:
    """Split one axis of a key into the chunks it touches.

    Parameters
    ----------
    item : range (positive step) or 1-D integer array
        The selection along the axis (an array may be unsorted or repeat).
    length : int
        Length of the axis.
    chunk : int
        Chunk length along the axis.

    Examples
    --------
    >>> [(p.chunk, p.inner, p.outer, p.whole) for p in split_axis(range(2, 9), 10, 4)]
    [(0, slice(2, 4, 1), slice(0, 2, None), False), (1, slice(0, 4, 1), slice(2, 6, None), True), (2, slice(0, 1, 1), slice(6, 7, None), False)]
    >>> [(p.chunk, p.inner.tolist(), p.outer.tolist()) for p in split_axis(np.array([9, 1, 8]), 10, 4)]
    [(0, [1], [1]), (2, [1, 0], [0, 2])]
    """
    if isinstance(item, np.ndarray):
        ids = item // chunk
        order = np.argsort(ids, kind="stable")
        starts = np.flatnonzero(np.diff(ids[order], prepend=-1))
        pieces = []
        for positions in np.split(order, starts[1:]):
            j = int(ids[positions[0]])
            pieces.append(Piece(j, item[positions] - j * chunk, positions, False))
        return pieces
    step = item.step
    if step >= chunk:  # each selected point in a chunk of its own
        return [
            Piece(v // chunk, slice(v % chunk, v % chunk + 1), slice(k, k + 1), chunk == 1)
            for k, v in enumerate(item)
        ]
    pieces = []
    for j in range(item.start // chunk, item[-1] // chunk + 1):
        low, high = j * chunk, min((j + 1) * chunk, length)
        first = max(0, -(-(low - item.start) // step))  # ceiling divisions
        stop = min(len(item), -(-(high - item.start) // step))
        start = item.start + first * step - low
        inner = slice(start, start + (stop - first - 1) * step + 1, step)
        pieces.append(Piece(j, inner, slice(first, stop), step == 1 and stop - first == chunk))
    return pieces


def _orthogonal(index: Sequence[slice | np.ndarray]) -> tuple[Any, ...]:
    """An index of numpy's that selects ``index`` orthogonally (``np.ix_`` if arrays)."""
    if not any(isinstance(i, np.ndarray) for i in index):
        return tuple(index)
    return np.ix_(*(i if isinstance(i, np.ndarray) else np.arange(i.start, i.stop, i.step or 1)
                    for i in index))


def _declared_size(codec_id: str, data: memoryview) -> int | None:
    """The decoded size a compressed chunk's header declares, in bytes, if it says.

    numcodecs decodes zstd, blosc and lz4 into a larger ``out`` without
    complaint; a chunk is decoded in place only when its header declares
    exactly the size expected, so a chunk of another size is never taken for
    a good one.

    Raises
    ------
    ValueError
        For a blosc chunk whose header disagrees with its length.
    """
    if codec_id == "blosc" and len(data) >= 16:
        # numcodecs hands blosc no source length: a truncated chunk would be
        # read past its end. Its header says how long it is; check that first.
        length = int.from_bytes(data[12:16], "little")
        if length != len(data):
            raise ValueError(f"the blosc header declares {length} bytes, the chunk has {len(data)}")
        return int.from_bytes(data[4:8], "little")
    if codec_id == "lz4" and len(data) >= 4:  # numcodecs' own size prefix
        return int.from_bytes(data[:4], "little")
    if codec_id == "zstd" and len(data) >= 6 and bytes(data[:4]) == b"\x28\xb5\x2f\xfd":
        # Frame header (RFC 8878, 3.1.1.1): descriptor, window, dictionary id, content size.
        descriptor = data[4]
        single_segment = (descriptor >> 5) & 1
        size_bytes = (single_segment, 2, 4, 8)[descriptor >> 6]
        at = 5 + (1 - single_segment) + (0, 1, 2, 4)[descriptor & 3]
        if size_bytes and len(data) >= at + size_bytes:
            size = int.from_bytes(data[at : at + size_bytes], "little")
            return size + 256 if size_bytes == 2 else size
    return None


#: Flags of chunk files opened for reading (binary mode matters on Windows only).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)

_scratch = threading.local()


def _scratch_bytes(name: str, nbytes: int) -> np.ndarray:
    """A buffer of ``nbytes`` reused by this thread (the pool's threads end with each pass)."""
    buffer = getattr(_scratch, name, None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(nbytes, np.uint8)
        setattr(_scratch, name, buffer)
    return buffer[:nbytes]


def read_file(fd: int, into: np.ndarray) -> int:
    """Read from ``fd`` into ``into`` (bytes) until it is full or the file ends.

    Every chunk file the direct reader fetches is read through this function
    (looked up on this module at each call, so tests may wrap it to count).
    """
    view = into.data.cast("B")
    done = 0
    while done < len(view):
        count = os.readv(fd, [view[done:]])
        if not count:
            break
        done += count
    return done


@dataclass(frozen=True)
class DirectZarrReader:
    """Reads selections of a Zarr array from its local store, decoding in this thread.

    Build with :func:`direct_reader`, which checks that the array qualifies.
    Holds plain values only, so it pickles with the adapter that owns it.

    Attributes
    ----------
    store : str
        Directory of the local store.
    name : str
        The array's path in its store (``""`` for the root).
    shape, chunks : tuple of int
    dtype : numpy.dtype
        The dtype Zarr reads the array as.
    stored : numpy.dtype
        ``dtype`` in the byte order of the stored chunks.
    compressor : numcodecs codec or None
    fill_value : numpy scalar
        What chunks missing from the store hold.
    key_encoding : zarr.core.chunk_key_encodings.ChunkKeyEncoding
        How chunk coordinates name chunks in the store.
    """

    store: str
    name: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype
    stored: np.dtype
    compressor: Any
    fill_value: Any
    key_encoding: ChunkKeyEncoding

    def chunk_key(self, coords: tuple[int, ...]) -> str:
        """The key of the chunk at ``coords`` (chunk indices) in the store."""
        return self.key_encoding.encode_chunk_key(coords)

    def read(self, native: Key,
             allocate: Callable[[tuple[int, ...], np.dtype], np.ndarray] = np.empty,
             ) -> np.ndarray:
        """Read ``native`` (ints, ranges of positive step, index arrays), as Zarr's ``oindex``,
        into an array made by ``allocate(shape, dtype)`` (an evaluation's
        :meth:`~lazyarray.context.EvaluationContext.read_buffer`, say).

        Raises
        ------
        lazyarray.ChunkDecodeError
            For a chunk that cannot be decoded to the chunk's size.
        """
        slab = [range(k, k + 1) if isinstance(k, int) else k for k in native]
        out = allocate(tuple(len(k) for k in slab), self.dtype)
        if out.size:
            axes = [split_axis(k, n, c) for k, n, c in zip(slab, self.shape, self.chunks)]
            for pieces in itertools.product(*axes):
                self._read_chunk(pieces, out)
        return out[tuple(0 if isinstance(k, int) else slice(None) for k in native)]

    def _read_chunk(self, pieces: tuple[Piece, ...], out: np.ndarray) -> None:
        key = self.chunk_key(tuple(p.chunk for p in pieces))
        outer = _orthogonal([p.outer for p in pieces])
        try:
            fd = os.open(os.path.join(self.store, self.name, key), _READ_FLAGS)
        except FileNotFoundError:
            out[outer] = self.fill_value  # never written: the fill value, as Zarr reads it
            return
        try:
            nbytes = os.fstat(fd).st_size
            whole = all(p.whole for p in pieces)
            place = out[outer] if whole else None
            if place is not None and place.flags.c_contiguous:
                target = place  # decode straight into the tile
            else:
                chunk_bytes = int(np.prod(self.chunks)) * self.dtype.itemsize
                target = _scratch_bytes("chunk", chunk_bytes).view(self.stored)
                target = target.reshape(self.chunks)
            raw = target.reshape(-1).view(np.uint8)
            if self.compressor is None:
                got = read_file(fd, raw) if nbytes == raw.nbytes else nbytes
                if got != raw.nbytes:
                    self._fail(key, ValueError(f"{nbytes} bytes stored, expected {raw.nbytes}"))
            else:
                data = _scratch_bytes("compressed", nbytes)
                got = read_file(fd, data)
                self._decode(key, data[:got].data, raw)
        finally:
            os.close(fd)
        if target is place:
            if self.stored != self.dtype:
                place.byteswap(inplace=True)
        else:
            # Assigning converts the byte order where the stored one differs.
            out[outer] = target[_orthogonal([p.inner for p in pieces])]

    def _decode(self, key: str, data: memoryview, raw: np.ndarray) -> None:
        codec = self.compressor
        try:
            declared = _declared_size(codec.codec_id, data)
            if declared == raw.nbytes:
                codec.decode(data, out=raw)
                return
            if declared is not None and codec.codec_id != "zstd":
                # (zstd: the first of several frames declares only its own size)
                raise ValueError(f"its header declares {declared} bytes, expected {raw.nbytes}")
            decoded = np.frombuffer(memoryview(codec.decode(data)).cast("B"), np.uint8)
        except Exception as error:  # noqa: BLE001 - codecs raise what their C library says
            self._fail(key, error)
        if decoded.nbytes != raw.nbytes:
            self._fail(key, ValueError(f"decoded {decoded.nbytes} bytes, expected {raw.nbytes}"))
        raw[...] = decoded

    def _fail(self, key: str, error: Exception) -> NoReturn:
        what = getattr(self.compressor, "codec_id", "uncompressed")
        raise ChunkDecodeError(
            f"ZarrArrayAdapter: cannot decode chunk {key!r} of array {'/' + self.name!r} in "
            f"store {self.store!r} ({what}): {type(error).__name__}: {error}",
            chunk=key,
        ) from error


def _v3_compressor(metadata: ArrayV3Metadata) -> tuple[bool, Any, str | None]:
    """``(ok, compressor, endian)`` of format 3 codecs: bytes, then at most one compressor."""
    # Zarr and numcodecs are imported where a Zarr array is read (lazyarray.foreign).
    import numcodecs
    from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec

    codecs = metadata.codecs
    if not codecs or not isinstance(codecs[0], BytesCodec) or len(codecs) > 2:
        return False, None, None
    endian = None if codecs[0].endian is None else codecs[0].endian.value
    if len(codecs) == 1:
        return True, None, endian
    codec = codecs[1]
    if isinstance(codec, ZstdCodec):
        return True, numcodecs.Zstd(level=codec.level, checksum=codec.checksum), endian
    if isinstance(codec, BloscCodec):
        return True, numcodecs.Blosc(), endian  # the blosc header says how to decode
    if isinstance(codec, GzipCodec):
        return True, numcodecs.GZip(level=codec.level), endian
    return False, None, None


def direct_reader(array: zarr.Array) -> DirectZarrReader | None:
    """A :class:`DirectZarrReader` of ``array``, or ``None`` if Zarr must read it.

    Looks at the array's metadata and store only; reads nothing.

    Examples
    --------
    >>> import tempfile, os, zarr
    >>> path = os.path.join(tempfile.mkdtemp(), "x.zarr")
    >>> direct_reader(zarr.create_array(path, shape=(9,), chunks=(4,), dtype="f8")).chunks
    (4,)
    >>> sharded = zarr.create_array(path, shape=(8,), chunks=(2,), shards=(4,), dtype="f8",
    ...                             overwrite=True)
    >>> direct_reader(sharded) is None
    True
    """
    from zarr.core.chunk_grids import RegularChunkGrid
    from zarr.core.chunk_key_encodings import V2ChunkKeyEncoding
    from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
    from zarr.storage import LocalStore

    store = array.store
    metadata = array.metadata
    dtype = np.dtype(array.dtype)
    if (
        not isinstance(store, LocalStore)
        or dtype.kind not in _KINDS
        or dtype.fields is not None
        or array.fill_value is None
        or array.ndim == 0
    ):
        return None
    if isinstance(metadata, ArrayV3Metadata):
        if not isinstance(metadata.chunk_grid, RegularChunkGrid) or metadata.storage_transformers:
            return None
        ok, compressor, endian = _v3_compressor(metadata)
        if not ok:
            return None
        stored = dtype if endian is None else dtype.newbyteorder("<" if endian == "little" else ">")
        chunks = tuple(metadata.chunk_grid.chunk_shape)
        encoding = metadata.chunk_key_encoding
    elif isinstance(metadata, ArrayV2Metadata):
        compressor = metadata.compressor
        if metadata.order != "C" or metadata.filters or (
            compressor is not None and compressor.codec_id not in _V2_COMPRESSORS
        ):
            return None
        stored = dtype
        chunks = tuple(metadata.chunks)
        encoding = V2ChunkKeyEncoding(separator=metadata.dimension_separator)
    else:
        return None
    if dtype.itemsize == 1:  # no byte order to mind
        stored = dtype
    return DirectZarrReader(
        store=str(store.root),
        name=array.store_path.path,
        shape=tuple(int(n) for n in array.shape),
        chunks=tuple(int(c) for c in chunks),
        dtype=dtype,
        stored=stored,
        compressor=compressor,
        fill_value=np.asarray(array.fill_value, dtype)[()],
        key_encoding=encoding,
    )
