"""Tests of lazyarray/adapters/zarrdirect.py: Zarr chunks read and decoded by lazyarray.

Every read through the direct path must give what Zarr's own reading gives
(``direct_io=False``) and what numpy gives on the same data, for any codec,
byte order, format, chunking, key and missing chunk.
"""

from __future__ import annotations

import os
import pickle

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.storage
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import keys, oindex
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, TransposeCodec, ZstdCodec

import lazyarray as la
from lazyarray.adapters import zarrdirect
from lazyarray.adapters.zarrdirect import DirectZarrReader, direct_reader, split_axis

DTYPES = ("bool", "int8", "uint16", ">i4", "<i8", "float32", ">f8", "complex64", ">c16")

#: Compressors by Zarr format, by name.
COMPRESSORS = {
    3: {
        "none": None,
        "zstd": ZstdCodec(level=1),
        "zstd-checksum": ZstdCodec(level=3, checksum=True),
        "blosc": BloscCodec(cname="lz4", shuffle="shuffle"),
        "blosc-bit": BloscCodec(cname="zstd", shuffle="bitshuffle"),
        "gzip": GzipCodec(level=1),
    },
    2: {
        "none": None,
        "zstd": numcodecs.Zstd(level=1),
        "blosc": numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.SHUFFLE),
        "gzip": numcodecs.GZip(level=1),
        "zlib": numcodecs.Zlib(level=1),
        "lz4": numcodecs.LZ4(),
    },
}


def make_array(path, data, chunks, zarr_format=3, compressor="zstd", fill_value=0,
               big_endian_bytes=False, name=None):
    """A Zarr array of ``data`` in a local store at ``path`` (in group path ``name``)."""
    extra = {}
    if big_endian_bytes:
        extra["serializer"] = BytesCodec(endian="big")
    store = zarr.storage.LocalStore(path)
    array = zarr.create_array(
        store, name=name, shape=data.shape, chunks=chunks, dtype=data.dtype,
        zarr_format=zarr_format, compressors=COMPRESSORS[zarr_format][compressor],
        fill_value=fill_value, **extra,
    )
    array[...] = data
    return array


def chunk_path(array, coords):
    """The file of the chunk at ``coords`` in ``array``'s local store."""
    key = array.metadata.encode_chunk_key(tuple(coords))
    return os.path.join(str(array.store.root), array.store_path.path, key)


def chunk_region(array, coords):
    return tuple(slice(c * n, (c + 1) * n) for c, n in zip(coords, array.chunks))


@pytest.fixture
def reads(monkeypatch):
    """The chunk keys the direct path reads, as they are read (from any thread)."""
    keys_read: list[str] = []
    real = DirectZarrReader._read_chunk

    def recording(self, pieces, out):
        keys_read.append(self.chunk_key(tuple(p.chunk for p in pieces)))
        return real(self, pieces, out)

    monkeypatch.setattr(DirectZarrReader, "_read_chunk", recording)
    return keys_read


# -- split_axis ---------------------------------------------------------------------------


@given(data=st.data(), length=st.integers(1, 40), chunk=st.integers(1, 12))
def test_split_axis_covers_the_selection_once(data, length, chunk):
    """Pieces put every selected point where it belongs, each chunk at most once."""
    if data.draw(st.booleans(), label="range"):
        start = data.draw(st.integers(0, length - 1), label="start")
        step = data.draw(st.integers(1, length + 2), label="step")
        stop = data.draw(st.integers(start + 1, length), label="stop")
        item = range(start, stop, step)
    else:
        item = np.array(data.draw(st.lists(st.integers(0, length - 1), min_size=1)), np.intp)
    axis = np.arange(length) * 10
    stored = np.zeros(-(-length // chunk) * chunk, int)  # chunks are stored whole
    stored[:length] = axis
    got = np.full(len(item), -1)
    pieces = split_axis(item, length, chunk)
    for piece in pieces:
        got[piece.outer] = stored[piece.chunk * chunk : (piece.chunk + 1) * chunk][piece.inner]
        inner = np.arange(chunk)[piece.inner]
        whole = inner.size == chunk and bool(np.all(inner == np.arange(chunk))) and \
            (piece.chunk + 1) * chunk <= length
        # Whole chunks are decoded in place: never claimed wrongly; for ranges, always found.
        assert piece.whole == whole if isinstance(item, range) else whole or not piece.whole
    np.testing.assert_array_equal(got, axis[np.asarray(item)])
    assert len({p.chunk for p in pieces}) == len(pieces)


# -- equal to Zarr and numpy ------------------------------------------------------------


@st.composite
def stored_arrays(draw):
    """Data, chunking, format, codec and chunks to delete, for :func:`make_array`."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, n + 1)) for n in shape)
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    zarr_format = draw(st.sampled_from([2, 3]))
    compressor = draw(st.sampled_from(sorted(COMPRESSORS[zarr_format])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Small whole numbers: every dtype holds them, and sums of them are exact.
    data = rng.integers(-3, 4, shape).astype(dtype) if dtype != bool else \
        rng.integers(0, 2, shape).astype(bool)
    fill_value = draw(st.sampled_from([0, 1, 5])) if dtype != bool else draw(st.booleans())
    grid = [-(-n // c) for n, c in zip(shape, chunks)]
    every = [tuple(int(i) for i in index) for index in np.ndindex(*grid)]
    missing = draw(st.lists(st.sampled_from(every), unique=True, max_size=len(every)))
    return {
        "data": data, "chunks": chunks, "zarr_format": zarr_format, "compressor": compressor,
        "fill_value": fill_value, "missing": missing,
        "big_endian_bytes": zarr_format == 3 and draw(st.booleans()),
    }


def stored(tmp_path_factory, case):
    """The Zarr array of ``case`` and the numpy array it holds (missing chunks filled)."""
    path = tmp_path_factory.mktemp("z") / "a.zarr"
    array = make_array(path, case["data"], case["chunks"], case["zarr_format"],
                       case["compressor"], case["fill_value"], case["big_endian_bytes"])
    expected = case["data"].copy()
    for coords in case["missing"]:
        if os.path.exists(chunk_path(array, coords)):
            os.remove(chunk_path(array, coords))
        expected[chunk_region(array, coords)] = case["fill_value"]
    return array, expected


def same(actual, expected):
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_array_equal(actual, expected)


@settings(max_examples=examples(20, 60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stored_arrays(), data=st.data())
def test_direct_reads_equal_zarr_and_numpy(tmp_path_factory, reads, case, data):
    reads.clear()  # the fixture lives across hypothesis's examples
    array, expected = stored(tmp_path_factory, case)
    key = data.draw(keys(expected.shape, kinds=("int", "slice", "int_sequence")), label="key")
    adapter = la.ZarrArrayAdapter(array)
    assert adapter.direct is not None  # a local store, codecs numcodecs decodes
    lazy = adapter[key]
    wanted = oindex(expected, key)
    options = {"chunk_bytes": data.draw(st.sampled_from([16, 64, 512])), "workers": 2}

    through_zarr = lazy.ndarray(direct_io=False, **options)
    assert reads == []  # direct_io=False: Zarr's own reading
    direct = lazy.ndarray(direct_io=True, **options)
    same(through_zarr, wanted)
    same(direct, wanted)
    if wanted.size:
        assert reads  # the fast path was taken
        # ... reading only chunks the selection touches, each once per tile
        assert len(set(reads)) <= len(reads)


@settings(max_examples=examples(15, 40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stored_arrays(), data=st.data())
def test_direct_reductions_equal_zarr_and_numpy(tmp_path_factory, case, data):
    array, expected = stored(tmp_path_factory, case)
    axis = data.draw(st.sampled_from([None, *range(expected.ndim)]), label="axis")
    names = ["sum"] if expected.dtype.kind in "bc" else ["sum", "min", "max"]
    lazy = la.ZarrArrayAdapter(array)
    nodes = [getattr(la, name)(lazy, axis) for name in names]
    options = {"chunk_bytes": data.draw(st.sampled_from([16, 64, 512])), "workers": 2}
    direct = la.ndarrays(nodes, direct_io=True, **options)
    through_zarr = la.ndarrays(nodes, direct_io=False, **options)
    for name, a, b in zip(names, direct, through_zarr):
        want = np.asarray(getattr(np, name)(expected, axis=axis))
        same(a, want)
        same(b, want)


def test_reads_only_the_chunks_a_selection_touches(tmp_path, reads):
    data = np.arange(6 * 8 * 10, dtype="f4").reshape(6, 8, 10)
    array = make_array(tmp_path / "a.zarr", data, (2, 4, 5))
    lazy = la.ZarrArrayAdapter(array)[3, 1:6, [9, 0]]
    same(lazy.ndarray(workers=2), data[3, 1:6][:, [9, 0]])
    assert sorted(reads) == ["c/1/0/0", "c/1/0/1", "c/1/1/0", "c/1/1/1"]


def test_a_group_member_and_its_masked_fill_value(tmp_path):
    data = np.array([[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]], "f4")
    array = make_array(tmp_path / "g.zarr", data, (1, 2), fill_value=np.nan, name="grp/t")
    os.remove(chunk_path(array, (1, 1)))  # never written: NaN, masked
    lazy = la.ZarrArrayAdapter(array, masked=True)
    assert lazy.direct is not None and lazy.direct.name == "grp/t"
    direct = lazy.masked_array(direct_io=True)
    through_zarr = lazy.masked_array(direct_io=False)
    assert direct.mask.tolist() == through_zarr.mask.tolist() == [[0, 0, 0], [0, 0, 1]]
    same(direct.filled(-1), through_zarr.filled(-1))


def test_building_and_indexing_read_nothing(tmp_path, monkeypatch):
    array = make_array(tmp_path / "a.zarr", np.arange(20.0).reshape(4, 5), (2, 2))

    def refuse(*args):
        raise AssertionError("read while building")

    monkeypatch.setattr(DirectZarrReader, "_read_chunk", refuse)
    lazy = la.ZarrArrayAdapter(array)[1:, [4, 0]][::-1] * 2
    assert lazy.shape == (3, 2)


def test_pickles_with_its_reader(tmp_path):
    data = np.arange(30, dtype=">i4").reshape(5, 6)
    lazy = la.ZarrArrayAdapter(make_array(tmp_path / "a.zarr", data, (2, 4)))[1:, ::2]
    again = pickle.loads(pickle.dumps(lazy))
    assert again.direct == lazy.direct
    same(again.ndarray(workers=2), data[1:, ::2])


# -- when Zarr reads ------------------------------------------------------------------------


def _memory(tmp_path):
    return zarr.create_array(zarr.storage.MemoryStore(), shape=(6, 4), chunks=(2, 2), dtype="f4")


def _sharded(tmp_path):
    return zarr.create_array(tmp_path / "s.zarr", shape=(6, 4), chunks=(1, 2), shards=(2, 4),
                             dtype="f4")


def _transposed(tmp_path):
    return zarr.create_array(tmp_path / "t.zarr", shape=(6, 4), chunks=(2, 2), dtype="f4",
                             filters=[TransposeCodec(order=(1, 0))])


def _checksummed(tmp_path):
    return zarr.create_array(tmp_path / "c.zarr", shape=(6, 4), chunks=(2, 2), dtype="f4",
                             compressors=[ZstdCodec(), Crc32cCodec()])


def _v2_filtered(tmp_path):
    return zarr.create_array(tmp_path / "f.zarr", shape=(6, 4), chunks=(2, 2), dtype="f4",
                             zarr_format=2, filters=[numcodecs.Delta(dtype="f4")])


def _v2_fortran(tmp_path):
    return zarr.create_array(tmp_path / "o.zarr", shape=(6, 4), chunks=(2, 2), dtype="f4",
                             zarr_format=2, order="F")


def _v2_bz2(tmp_path):
    return zarr.create_array(tmp_path / "b.zarr", shape=(6, 4), chunks=(2, 2), dtype="f4",
                             zarr_format=2, compressors=numcodecs.BZ2())


def _strings(tmp_path):
    return zarr.create_array(tmp_path / "u.zarr", shape=(6, 4), chunks=(2, 2), dtype="U3",
                             zarr_format=2)


@pytest.mark.parametrize("make", [_memory, _sharded, _transposed, _checksummed, _v2_filtered,
                                  _v2_fortran, _v2_bz2, _strings])
def test_zarr_reads_what_the_direct_path_cannot(tmp_path, reads, make):
    array = make(tmp_path)
    data = np.arange(24).reshape(6, 4).astype(array.dtype)
    array[...] = data
    lazy = la.ZarrArrayAdapter(array)
    assert direct_reader(array) is None and lazy.direct is None
    same(lazy[1:5, ::-1].ndarray(direct_io=True, workers=2, chunk_bytes=32), data[1:5, ::-1])
    assert reads == []


# -- corrupt chunks ------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format, compressor", [
    (3, "none"), (3, "zstd"), (3, "blosc"), (3, "gzip"),
    (2, "none"), (2, "zstd"), (2, "blosc"), (2, "gzip"), (2, "zlib"), (2, "lz4"),
])
@pytest.mark.parametrize("damage", ["garbage", "truncated", "another size"])
def test_a_corrupt_chunk_raises_naming_it(tmp_path, zarr_format, compressor, damage):
    data = np.arange(8 * 6, dtype="f8").reshape(8, 6)
    array = make_array(tmp_path / "a.zarr", data, (2, 6), zarr_format, compressor)
    path = chunk_path(array, (2, 0))
    with open(path, "rb") as f:
        good = f.read()
    if damage == "garbage":
        bad = bytes(range(256)) * 2
    elif damage == "truncated":
        bad = good[: len(good) // 2]
    else:  # a well-formed chunk of 5 rows instead of 2
        codec = zarrdirect.direct_reader(array).compressor
        raw = np.zeros((5, 6), "f8").tobytes()
        bad = raw if codec is None else bytes(codec.encode(raw))
    with open(path, "wb") as f:
        f.write(bad)
    key = array.metadata.encode_chunk_key((2, 0))
    with pytest.raises(la.ChunkDecodeError) as caught:
        la.ZarrArrayAdapter(array).mean(axis=0).ndarray(workers=2, chunk_bytes=96)
    message = str(caught.value)
    assert repr(key) in message and str(tmp_path / "a.zarr") in message and "'/'" in message
    assert isinstance(caught.value, OSError)
    # The chunks around it still read.
    same(la.ZarrArrayAdapter(array)[:4].ndarray(workers=2), data[:4])


@pytest.mark.parametrize("zarr_format, encoding", [
    (3, {"name": "default", "separator": "."}),
    (3, {"name": "v2", "separator": "/"}),
    (3, {"name": "v2", "separator": "."}),
    (2, {"name": "v2", "separator": "/"}),
])
def test_chunk_key_encodings(tmp_path, reads, zarr_format, encoding):
    data = np.arange(5 * 7, dtype="u2").reshape(5, 7)
    array = zarr.create_array(tmp_path / "k.zarr", shape=data.shape, chunks=(2, 3),
                              dtype=data.dtype, zarr_format=zarr_format,
                              chunk_key_encoding=encoding)
    array[...] = data
    os.remove(chunk_path(array, (1, 2)))
    expected = data.copy()
    expected[2:4, 6:] = 0
    lazy = la.ZarrArrayAdapter(array)[::-1, 1:]
    same(lazy.ndarray(direct_io=True, workers=2, chunk_bytes=24), expected[::-1, 1:])
    # Each chunk looked up once by its key (the missing one too), tiles being whole chunks.
    every = [array.metadata.encode_chunk_key((i, j)) for i in range(3) for j in range(3)]
    assert sorted(reads) == sorted(every)


# -- what the direct path relies on: the metadata, as the specifications define it ----------


@pytest.mark.parametrize("zarr_format, dtype, extra", [
    (3, ">i4", {"serializer": BytesCodec(endian="big")}),
    (3, "<i4", {"serializer": BytesCodec(endian="big")}),
    (3, ">f8", {}),
    (3, "<u2", {"config": {"order": "F"}}),  # a memory layout: chunks stay in C order
    (2, ">i4", {}),
    (2, "<f4", {}),
])
def test_arrays_reopened_from_their_metadata(tmp_path, reads, zarr_format, dtype, extra):
    """Byte order and layout come from the metadata on disk, for arrays opened anew."""
    path = tmp_path / "a.zarr"
    data = np.arange(5 * 7).reshape(5, 7).astype(dtype)
    data[:2, :3] = 0  # an all-zero first chunk
    written = zarr.create_array(path, shape=data.shape, chunks=(2, 3), dtype=dtype,
                                zarr_format=zarr_format, fill_value=0, **extra)
    written[...] = data
    os.remove(chunk_path(written, (2, 2)))
    expected = data.copy()
    expected[4:, 6:] = 0
    array = zarr.open_array(path, mode="r")
    lazy = la.ZarrArrayAdapter(array)
    assert lazy.direct is not None
    through_zarr = lazy.ndarray(direct_io=False)
    same(through_zarr, expected.astype(through_zarr.dtype))
    same(lazy.ndarray(direct_io=True, workers=2, chunk_bytes=24), through_zarr)
    assert reads


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_stored_fill_chunks_and_missing_ones_read_alike(tmp_path, zarr_format):
    """A chunk of fill values may be stored or not (``write_empty_chunks``): the same."""
    data = np.zeros((4, 4), "f4")
    data[3, 3] = 1
    arrays = []
    for empty in (True, False):
        array = zarr.create_array(tmp_path / f"{empty}.zarr", shape=(4, 4), chunks=(2, 2),
                                  dtype="f4", fill_value=0, zarr_format=zarr_format,
                                  config={"write_empty_chunks": empty})
        array[...] = data
        arrays.append(array)
    assert os.path.exists(chunk_path(arrays[0], (0, 0)))
    assert not os.path.exists(chunk_path(arrays[1], (0, 0)))
    for array in arrays:
        same(la.ZarrArrayAdapter(array).ndarray(direct_io=True), data)


def test_no_fill_value_is_left_to_zarr(tmp_path, reads):
    """Format 2 without a fill value states nothing about missing chunks."""
    array = zarr.create_array(tmp_path / "n.zarr", shape=(4, 4), chunks=(2, 2), dtype="i4",
                              zarr_format=2, fill_value=None)
    array[:2] = np.arange(8).reshape(2, 4)
    assert direct_reader(array) is None
    lazy = la.ZarrArrayAdapter(array)
    same(lazy.ndarray(direct_io=True), array[...])
    assert reads == []
