"""Tests for chunks encoded in the workers and written whole (lazyarray.encoding).

The oracles: HDF5 itself (what h5py writes and reads back through its own
filter pipeline and conversions) and numpy (the values). With ``direct_io``
on and off, files must hold identical values; the direct path must be taken
exactly where a tile covers whole chunks of a dataset whose filters and
conversion lazyarray reproduces.
"""

from __future__ import annotations

import itertools
import threading
import zlib

import h5py
import numpy as np
import pytest
import zarr
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from test_writers import FailingArray

import lazyarray as la
from lazyarray.encoding import (
    ChunkEncoder,
    Deflate,
    Fletcher32,
    Shuffle,
    chunk_starts,
    fletcher32,
    hdf5_cast,
    hdf5_encoder,
    shuffle,
)
from lazyarray.execution.sinks import Sink
from lazyarray.options import get_options
from lazyarray.planning import make_plan
from lazyarray.writers import output_chunks


@pytest.fixture
def h5file(tmp_path):
    with h5py.File(tmp_path / "scratch.h5", "w") as f:
        yield f


@pytest.fixture
def direct_chunks(monkeypatch):
    """Offsets of the chunks written with ``write_direct_chunk``, per dataset name."""
    written: dict[str, list[tuple[int, ...]]] = {}
    real = Sink.write_chunks

    def counting(self, chunks):
        written.setdefault(self.target.name, []).extend(c.offset for c in chunks)
        return real(self, chunks)

    monkeypatch.setattr(Sink, "write_chunks", counting)
    return written


def same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes, dtypes and bytes (NaNs and signed zeros included)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# -- filters, one by one, against HDF5's own -----------------------------------------

FILTERS = {
    "none": {},
    "shuffle": {"shuffle": True},
    "gzip0": {"compression": "gzip", "compression_opts": 0},
    "gzip1": {"compression": "gzip", "compression_opts": 1},
    "gzip9+shuffle": {"compression": "gzip", "compression_opts": 9, "shuffle": True},
    "fletcher32": {"fletcher32": True},
    "all": {"compression": "gzip", "compression_opts": 4, "shuffle": True, "fletcher32": True},
}
UNSUPPORTED = {
    "lzf": {"compression": "lzf"},
    "scaleoffset": {"scaleoffset": 0},
}


@given(data=st.binary(max_size=3000), itemsize=st.sampled_from([1, 2, 4, 8]))
def test_shuffle_groups_byte_k_of_every_element(data, itemsize):
    whole = len(data) // itemsize * itemsize
    expected = b"".join(data[k:whole:itemsize] for k in range(itemsize)) + data[whole:]
    assert shuffle(data, itemsize) == (expected if whole > itemsize else data)


@given(data=st.one_of(st.binary(min_size=1, max_size=5000),
                      st.integers(1, 5000).map(lambda n: b"\xff" * n),
                      st.integers(1, 5000).map(lambda n: bytes(n - 1) + b"\x01")))
def test_fletcher32_matches_hdf5(tmp_path_factory, data):
    with h5py.File(tmp_path_factory.mktemp("f") / "f.h5", "w") as f:
        d = f.create_dataset("d", (len(data),), "u1", chunks=(len(data),), fletcher32=True)
        d[...] = np.frombuffer(data, "u1")
        _, stored = d.id.read_direct_chunk((0,))
    assert stored == data + fletcher32(data).to_bytes(4, "little")


@st.composite
def chunked_values(draw):
    """A dtype, a shape, a chunk shape and values of that shape."""
    dtype = np.dtype(draw(st.sampled_from(["f4", ">f8", "i1", "<u2", ">i4", "c8", "?"])))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    raw = draw(st.binary(min_size=dtype.itemsize * int(np.prod(shape)),
                         max_size=dtype.itemsize * int(np.prod(shape))))
    values = np.frombuffer(raw, dtype).reshape(shape).copy()
    if dtype.kind == "b":
        values = np.frombuffer(raw, "u1").reshape(shape) % 2 == 1
    return values, chunks


@given(case=chunked_values(), filters=st.sampled_from(sorted(FILTERS)),
       fill=st.integers(-3, 3))
def test_encoded_chunks_are_the_chunks_hdf5_writes(tmp_path_factory, case, filters, fill):
    values, chunks = case
    with h5py.File(tmp_path_factory.mktemp("e") / "e.h5", "w") as f:
        options = dict(shape=values.shape, dtype=values.dtype, chunks=chunks,
                       fillvalue=np.asarray(fill).astype(values.dtype), **FILTERS[filters])
        theirs = f.create_dataset("theirs", **options)
        theirs[...] = values
        mine = f.create_dataset("mine", **options)
        encoder = hdf5_encoder(mine)
        assert encoder is not None
        whole = tuple(slice(0, n) for n in values.shape)
        assert encoder.covers(whole)
        encoded = encoder.encode(whole, values)
        assert [c.offset for c in encoded] == chunk_starts(whole, chunks)
        for chunk in encoded:
            mine.id.write_direct_chunk(chunk.offset, chunk.data, chunk.filter_mask)
        assert same_bytes(mine[...], values)
        for chunk in encoded:
            mask, stored = theirs.id.read_direct_chunk(chunk.offset)
            assert mask == chunk.filter_mask == 0
            if "compression" in FILTERS[filters]:
                # zlib versions may differ in their streams; what they hold may not.
                stored_data = stored[:-4] if "fletcher32" in FILTERS[filters] else stored
                mine_data = bytes(chunk.data)
                mine_data = mine_data[:-4] if "fletcher32" in FILTERS[filters] else mine_data
                assert zlib.decompress(stored_data) == zlib.decompress(mine_data)
            else:
                assert stored == bytes(memoryview(chunk.data).cast("B"))


def test_chunks_never_written_read_as_the_fill_value(h5file):
    d = h5file.create_dataset("d", (7, 5), "i2", chunks=(3, 2), fillvalue=-7,
                              compression="gzip", shuffle=True, fletcher32=True)
    encoder = hdf5_encoder(d)
    region = (slice(3, 7), slice(4, 5))  # two edge chunks: 3 rows then 1 row, 1 column
    values = np.array([[1], [2], [3], [4]], "i2")
    for chunk in encoder.encode(region, values):
        d.id.write_direct_chunk(chunk.offset, chunk.data, chunk.filter_mask)
    expected = np.full((7, 5), -7, "i2")
    expected[region] = values
    assert same_bytes(d[...], expected)
    assert d.id.get_num_chunks() == 2


@pytest.mark.parametrize("options, reason", [
    ({"chunks": None}, "contiguous"),
    ({"compression": "lzf"}, "lzf"),
    ({"scaleoffset": 0}, "scale-offset"),
    ({"dtype": h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1")}, "enum"),
    ({"dtype": "S4"}, "strings"),
    ({"dtype": [("x", "f4"), ("y", "i2")]}, "compound"),
])
def test_no_encoder_for_what_cannot_be_reproduced(h5file, options, reason):
    settings = {"shape": (6,), "dtype": "i4", "chunks": (3,), **options}
    assert hdf5_encoder(h5file.create_dataset(reason, **settings)) is None


def test_no_encoder_for_other_targets():
    assert hdf5_encoder(np.zeros(3)) is None
    assert hdf5_encoder(zarr.create_array({}, shape=(3,), dtype="f4")) is None


@pytest.mark.parametrize("region, covers", [
    ((slice(0, 4), slice(0, 6)), True),
    ((slice(4, 10), slice(3, 7)), True),  # both edge chunks, partial at the dataset's end
    ((slice(0, 2), slice(0, 3)), False),
    ((slice(2, 6), slice(0, 3)), False),
    ((slice(8, 10), slice(0, 3)), True),
    ((slice(8, 9), slice(0, 3)), False),
])
def test_covers_whole_chunks_edges_included(region, covers):
    encoder = ChunkEncoder((10, 7), (4, 3), np.dtype("f4"), np.float32(0))
    assert encoder.covers(region) is covers


# -- conversions: the worker's cast equals HDF5's ------------------------------------

CASTS = [
    ("f8", "f4"), ("f4", "f8"), ("f4", ">f4"), (">f8", "<f8"), ("c16", "c8"), ("c8", "c16"),
    ("i8", "i1"), ("i4", "u1"), ("u2", "i2"), ("u8", "i8"), ("i1", "i8"), ("u1", "f4"),
    ("i2", "f4"), ("i4", "f8"), ("?", "i1"), ("?", "f8"), ("?", "?"), (">i2", "<i2"),
    ("u8", ">i2"), ("i2", ">f4"),
    # Not reproduced: the worker leaves these to h5py.
    ("f8", "f2"), ("i8", "f4"), ("f4", "f2"), ("i4", "f2"), ("f8", ">f4"), (">f8", "f4"),
    (">c16", "c8"), ("f4", ">f8"),
]
NOT_REPRODUCED = CASTS[-8:]
REFUSED_BY_HDF5 = [("f8", "c16"), ("i2", "c8"), ("?", "c8")]


@pytest.mark.parametrize("source, target", CASTS, ids=[f"{s}:{t}" for s, t in CASTS])
@given(raw=st.binary(min_size=64, max_size=64))
def test_hdf5_cast_converts_as_hdf5_does(tmp_path_factory, source, target, raw):
    source_dtype, target_dtype = np.dtype(source), np.dtype(target)
    values = np.frombuffer(raw[: 64 // source_dtype.itemsize * source_dtype.itemsize], source_dtype)
    if source_dtype.kind == "b":
        values = np.frombuffer(raw, "u1") % 2 == 1
    mine = hdf5_cast(values, target_dtype)
    with h5py.File(tmp_path_factory.mktemp("c") / "c.h5", "w") as f:
        d = f.create_dataset("d", values.shape, target_dtype)
        d[...] = values
        theirs = d[...]
    assert (mine is None) == ((source, target) in NOT_REPRODUCED)
    if mine is not None:
        assert same_bytes(mine, theirs)


@pytest.mark.parametrize("source, target", REFUSED_BY_HDF5)
def test_hdf5_cast_leaves_refused_conversions_to_hdf5(h5file, source, target):
    values = np.ones(3, source)
    assert hdf5_cast(values, np.dtype(target)) is None
    with pytest.raises(OSError, match="conversion path"):
        h5file.create_dataset("d", (3,), target)[...] = values


# -- save and to_hdf5 with direct_io on and off ------------------------------------------


def save_both_ways(tmp_path, make_source, dtype, options, dataset_options, masked=False):
    """Save into datasets with direct_io on and off; their contents, read back."""
    contents = []
    for direct in (True, False):
        with h5py.File(tmp_path / f"direct-{direct}.h5", "w") as f:
            source = make_source()
            d = f.create_dataset("out", shape=source.shape, dtype=dtype, **dataset_options)
            la.save([source], [d], masked=masked, direct_io=direct, **options)
            contents.append(d[...])
    return contents


#: The fill value of the targets: one every dtype in :func:`saves` holds.
FILL = 99


@st.composite
def saves(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 12), min_size=ndim, max_size=ndim)))
    source, target = draw(st.sampled_from([
        ("f4", "f4"), ("f8", "f4"), ("f4", ">f4"), ("i4", "i2"), ("i2", "i8"), ("u1", "u1"),
        ("f8", "f2"),
    ]))
    return {
        "shape": shape,
        "source": np.dtype(source),
        "target": np.dtype(target),
        "filters": draw(st.sampled_from(sorted(FILTERS) + sorted(UNSUPPORTED))),
        "aligned": draw(st.booleans()),
        "misaligned": tuple(draw(st.integers(1, n)) for n in shape),
        "chunk_bytes": draw(st.sampled_from([64, 200, 1000, 10**6])),
        "workers": draw(st.integers(1, 3)),
        "masked": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@given(case=saves())
def test_save_direct_and_not_write_the_same_as_numpy(tmp_path_factory, case):
    tmp_path = tmp_path_factory.mktemp("s")
    rng = np.random.default_rng(case["seed"])
    shape, source, target = case["shape"], case["source"], case["target"]
    # Small integers: every dtype here holds them exactly, so numpy's cast
    # (which wraps) and HDF5's (which saturates) agree.
    data = rng.integers(-50, 50, shape).astype(source) if source.kind != "u" else \
        rng.integers(0, 100, shape).astype(source)
    mask = rng.random(shape) < 0.2
    if case["filters"] == "scaleoffset" and target.kind == "f":
        case["filters"] = "lzf"  # scale-offset is lossy for floats: unsupported anyway
    options = {"chunk_bytes": case["chunk_bytes"], "workers": case["workers"]}

    def make_source():
        if case["masked"]:
            return la.asarray(np.ma.masked_array(data, mask=mask, fill_value=7)) + 1
        return la.asarray(data) + 1

    node = make_source()
    plan = make_plan([node], get_options(**options), in_memory=[False])
    [tile] = [p.tile for p in plan.passes]
    # Aligned: what to_hdf5 chooses, the output chunks of the planned tiles.
    chunks = output_chunks(tile, node.dtype.itemsize) if case["aligned"] else case["misaligned"]
    dataset_options = {"chunks": chunks, "fillvalue": target.type(FILL),
                       **{**FILTERS, **UNSUPPORTED}[case["filters"]]}
    offsets: list[tuple[int, ...]] = []
    regions: list[tuple[slice, ...]] = []
    real_write, real_encode = Sink.write_chunks, Sink.prepare

    def counting(self, encoded):
        offsets.extend(c.offset for c in encoded)
        return real_write(self, encoded)

    def recording(self, region, value, direct_io):
        if direct_io:
            regions.append(region)
        return real_encode(self, region, value, direct_io)

    Sink.write_chunks, Sink.prepare = counting, recording
    try:
        direct, through_h5py = save_both_ways(tmp_path, make_source, target, options,
                                              dataset_options, case["masked"])
    finally:
        Sink.write_chunks, Sink.prepare = real_write, real_encode

    expected = (data + source.type(1)).astype(target)
    if case["masked"]:
        expected[mask] = FILL  # masked points: the fill value the target was created with
    assert same_bytes(direct, expected)
    assert same_bytes(through_h5py, expected)

    assert len(offsets) == len(set(offsets))  # each chunk once
    every_chunk = set(chunk_starts(tuple(slice(0, n) for n in shape), chunks))
    # f8 to f2 is a conversion the worker leaves to HDF5, but a masked save
    # casts to the target's dtype with numpy already, before the sink.
    supported = case["filters"] in FILTERS and (
        case["masked"] or (source, target) != (np.dtype("f8"), np.dtype("f2")))
    if not supported:
        assert not offsets
        return
    # Exactly the chunks of the tiles that cover whole chunks go direct.
    covering = [r for r in regions if all(
        s.start % c == 0 and (s.stop % c == 0 or s.stop == n) for s, c, n in zip(r, chunks, shape)
    )]
    assert sorted(offsets) == sorted(o for r in covering for o in chunk_starts(r, chunks))
    if not case["masked"] and all(t % c == 0 for t, c in zip(tile, chunks)):
        # A masked save evaluates the source cast to the target's dtype, whose
        # tiles may differ: the planned tiles are those of the unmasked source.
        assert set(offsets) == every_chunk


def test_direct_path_only_where_tiles_cover_whole_chunks(tmp_path, direct_chunks):
    a = np.arange(12 * 10, dtype="f4").reshape(12, 10)
    node = la.asarray(a) * 2
    options = {"chunk_bytes": 3 * 10 * 4, "workers": 2}  # tiles of 3 rows
    assert make_plan([node], get_options(**options), in_memory=[False]).passes[0].tile == (3, 10)
    with h5py.File(tmp_path / "o.h5", "w") as f:
        f.create_dataset("two", (12, 10), "f4", chunks=(2, 10), compression="gzip")
        f.create_dataset("six", (12, 10), "f4", chunks=(6, 5))  # tiles hold half a chunk
        f.create_dataset("one", (12, 10), "f4", chunks=(1, 5), shuffle=True)  # all aligned
        f.create_dataset("lzf", (12, 10), "f4", chunks=(1, 10), compression="lzf")
        targets = [f[name] for name in ("two", "six", "one", "lzf")]
        la.save([node] * 4, targets, **options)
        for target in targets:
            np.testing.assert_array_equal(target[...], a * 2)
        # Tiles of rows 0-3, 3-6, 6-9, 9-12: none starts and ends on a
        # boundary of 2-row or 6-row chunks.
        assert "/two" not in direct_chunks
        assert "/six" not in direct_chunks
        assert sorted(direct_chunks["/one"]) == [(r, c) for r in range(12) for c in (0, 5)]
        assert "/lzf" not in direct_chunks


def test_direct_io_false_never_writes_chunks_directly(tmp_path, direct_chunks):
    node = la.asarray(np.ones((8, 8), "f4")) - 3
    la.to_hdf5(tmp_path / "o.h5", {"x": node}, compression="gzip", direct_io=False,
               chunk_bytes=64)
    assert direct_chunks == {}
    la.to_hdf5(tmp_path / "p.h5", {"x": node}, compression="gzip", chunk_bytes=64)
    with h5py.File(tmp_path / "p.h5", "r") as f:
        assert f["x"].chunks == (2, 8)  # one chunk per tile of 2 rows
        assert sorted(direct_chunks["/x"]) == [(0, 0), (2, 0), (4, 0), (6, 0)]
        np.testing.assert_array_equal(f["x"][...], np.full((8, 8), -2, "f4"))


@pytest.mark.parametrize("workers", [1, 2])
def test_save_into_masked_and_memory_targets_alongside(tmp_path, direct_chunks, workers):
    m = np.ma.masked_array(np.arange(40.0).reshape(8, 5), mask=np.arange(40) % 3 == 0,
                           fill_value=-1.0)
    node = la.asarray(m) * 2
    with h5py.File(tmp_path / "o.h5", "w") as f:
        d = f.create_dataset("d", (8, 5), "f4", chunks=(1, 5), compression="gzip",
                             fillvalue=-5)
        masked_target = np.ma.masked_array(np.zeros((8, 5)), mask=False)
        [total] = la.save([node, node], [d, masked_target], compute=[la.sum(node)],
                          masked=True, chunk_bytes=80, workers=workers)
        assert same_bytes(d[...], (m * 2).filled(-5).astype("f4"))
        assert d.attrs["_FillValue"] == -5
    np.testing.assert_array_equal(masked_target.mask, np.ma.getmaskarray(m))
    np.testing.assert_array_equal(masked_target.data[~masked_target.mask], (m * 2).compressed())
    assert total == (m * 2).sum()
    assert len(direct_chunks["/d"]) == 8


# -- to_hdf5 ------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {},
    {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    {"compression": "gzip", "fletcher32": True},
])
def test_to_hdf5_writes_every_chunk_directly(tmp_path, direct_chunks, settings):
    a = np.random.default_rng(0).normal(size=(10, 30, 20)).astype("f4")
    b = np.random.default_rng(1).normal(size=(10, 30, 20)).astype("f4")
    x, y = la.asarray(a), la.asarray(b)
    la.to_hdf5(tmp_path / "o.h5", {"out": (x - y) * 2.5 + 1, "i": la.asarray(a > 0)},
               chunk_bytes=30 * 20 * 4 * 3, **settings)
    with h5py.File(tmp_path / "o.h5", "r") as f:
        out = f["out"]
        assert same_bytes(out[...], (a - b) * np.float32(2.5) + 1)
        assert same_bytes(f["i"][...], a > 0)
        assert out.shuffle == settings.get("shuffle", False)
        assert out.fletcher32 == settings.get("fletcher32", False)
        assert out.compression == settings.get("compression")
        assert out.id.get_num_chunks() == len(direct_chunks["/out"])
        assert sorted(direct_chunks["/out"]) == chunk_starts(
            tuple(slice(0, n) for n in out.shape), out.chunks)
        assert f["i"].id.get_num_chunks() == len(direct_chunks["/i"])


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_read_with_direct_writes_leaves_no_file(tmp_path, workers):
    data = np.random.default_rng(0).normal(size=(40, 10)).astype("f4")
    bad = la.asarray(FailingArray(data, fail_on=4, error=OSError("disk on fire")))
    before = threading.active_count()
    with pytest.raises(OSError, match="disk on fire"):
        la.to_hdf5(tmp_path / "o.h5", {"x": bad * 2}, compression="gzip", shuffle=True,
                   chunk_bytes=160, workers=workers)
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


def test_failed_encoding_raises_itself(tmp_path, monkeypatch):
    real = ChunkEncoder.encode
    calls = itertools.count()

    def failing(self, region, value):
        if next(calls) == 2:
            raise MemoryError("no room for chunks")
        return real(self, region, value)

    monkeypatch.setattr(ChunkEncoder, "encode", failing)
    with pytest.raises(MemoryError, match="no room for chunks"):
        la.to_hdf5(tmp_path / "o.h5", {"x": la.asarray(np.ones((40, 10))) * 2},
                   compression="gzip", chunk_bytes=160, workers=2)
    assert list(tmp_path.iterdir()) == []


# -- Zarr ---------------------------------------------------------------------------------


@pytest.mark.parametrize("direct", [True, False])
@settings(max_examples=examples(12, 60))
@given(shape=st.lists(st.integers(1, 12), min_size=1, max_size=3),
       chunk_bytes=st.sampled_from([64, 300, 10**6]), workers=st.integers(1, 2),
       misaligned=st.booleans())
def test_zarr_targets_direct_or_not(tmp_path_factory, direct, shape, chunk_bytes, workers,
                                    misaligned):
    data = np.random.default_rng(len(shape)).normal(size=shape)
    chunks = tuple(max(1, n // 2) for n in shape) if misaligned else "auto"
    z = zarr.create_array(str(tmp_path_factory.mktemp("z") / "z.zarr"), shape=tuple(shape),
                          dtype="f4", chunks=chunks, fill_value=-1)
    la.save([la.asarray(data) * 3], [z], chunk_bytes=chunk_bytes, workers=workers,
            direct_io=direct)
    assert same_bytes(z[...], (data * 3).astype("f4"))


@pytest.fixture
def zarr_writes(monkeypatch):
    """The thread and the first row of each write into a Zarr array, in order."""
    writes: list[tuple[str, int]] = []
    real = zarr.Array.__setitem__

    def recording(self, key, value):
        writes.append((threading.current_thread().name, key[0].start))
        return real(self, key, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", recording)
    return writes


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("layout", [{"chunks": (2, 10)}, {"chunks": (1, 5), "shards": (2, 10)}])
def test_zarr_tiles_are_written_by_the_main_thread_in_order(tmp_path, zarr_writes, layout, direct):
    # Zarr encodes in its own threads while the main thread waits; writing
    # from the workers measured no faster, so Zarr targets keep one path.
    data = np.arange(120, dtype="f4").reshape(12, 10)
    z = zarr.create_array(str(tmp_path / "z.zarr"), shape=(12, 10), dtype="f4", **layout)
    la.save([la.asarray(data) - 1], [z], chunk_bytes=2 * 10 * 4, workers=2, direct_io=direct)
    assert same_bytes(z[...], data - 1)
    assert zarr_writes == [("MainThread", row) for row in range(0, 12, 2)]


def test_to_zarr_failing_midway_leaves_nothing(tmp_path):
    data = np.random.default_rng(0).normal(size=(40, 10)).astype("f4")
    bad = la.asarray(FailingArray(data, fail_on=5, error=RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        la.to_zarr(tmp_path / "o.zarr", bad * 2, chunk_bytes=160, workers=2)
    assert list(tmp_path.iterdir()) == []


# -- the pieces -------------------------------------------------------------------------


def test_filter_values_compose():
    encoder = ChunkEncoder((4,), (4,), np.dtype("<u2"), np.uint16(0),
                           (Shuffle(2), Deflate(1), Fletcher32()))
    [chunk] = encoder.encode((slice(0, 4),), np.array([1, 2, 3, 258], "<u2"))
    body, checksum = chunk.data[:-4], chunk.data[-4:]
    assert zlib.decompress(body) == bytes([1, 2, 3, 2, 0, 0, 0, 1])
    assert int.from_bytes(checksum, "little") == fletcher32(body)


# -- what the chunks written rely on: stated by HDF5, else h5py writes ----------------------


@pytest.mark.parametrize("libver", [None, "latest"])
@pytest.mark.parametrize("filters", ["gzip1", "shuffle", "fletcher32", "all"])
def test_partial_edge_chunks_stored_unfiltered(tmp_path, direct_chunks, libver, filters):
    """With H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS, HDF5 stores and reads the chunks that
    reach past the extent without filters: the encoder writes them so."""
    from test_direct_facts import dont_filter_partial_chunks

    values = np.arange(7 * 10, dtype="<f8").reshape(7, 10)
    with h5py.File(tmp_path / "edges.h5", "w", libver=libver) as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2, 4))
        settings = FILTERS[filters]
        if settings.get("shuffle"):
            dcpl.set_shuffle()
        if "compression" in settings:
            dcpl.set_deflate(settings.get("compression_opts", 4))
        if settings.get("fletcher32"):
            dcpl.set_fletcher32()
        dont_filter_partial_chunks(dcpl)
        space = h5py.h5s.create_simple(values.shape)
        h5py.h5d.create(f.id, b"out", h5py.h5t.py_create(values.dtype), space, dcpl=dcpl)
        theirs = f.create_dataset("theirs", data=values, chunks=(2, 4), **settings)
        encoder = hdf5_encoder(f["out"])
        assert encoder is not None and encoder.unfiltered_edges
        assert hdf5_encoder(theirs).unfiltered_edges is False  # h5py's default: filtered
        la.save([la.asarray(values)], [f["out"]], direct_io=True, chunk_bytes=64, workers=2)
        assert direct_chunks["/out"]  # written directly ...
        assert same_bytes(f["out"][...], values)  # ... and HDF5 reads them back
        for origin in [(6, 0), (0, 8), (6, 8)]:  # partial edge chunks: raw bytes
            mask, stored = f["out"].id.read_direct_chunk(origin)
            assert mask == 0 and len(stored) == 2 * 4 * 8
        _, whole = f["out"].id.read_direct_chunk((0, 0))
        assert whole != values[:2, :4].tobytes()  # a whole chunk: filtered


def test_unknown_chunk_options_leave_partial_edges_to_h5py(h5file, monkeypatch):
    from lazyarray import encoding

    monkeypatch.setattr(encoding, "_chunk_options", lambda plist: None)
    edges = h5file.create_dataset("edges", (7, 10), "f4", chunks=(2, 4), compression="gzip")
    whole = h5file.create_dataset("whole", (8, 8), "f4", chunks=(2, 4), compression="gzip")
    plain = h5file.create_dataset("plain", (7, 10), "f4", chunks=(2, 4))
    assert hdf5_encoder(edges) is None
    assert hdf5_encoder(whole) is not None and hdf5_encoder(plain) is not None


def test_file_types_other_than_h5pys_are_left_to_h5py(h5file, direct_chunks):
    """A 12-bit integer in 2 bytes reads as int16, but its bytes are not int16's."""
    file_type = h5py.h5t.STD_I16LE.copy()
    file_type.set_precision(12)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((4,))
    h5py.h5d.create(h5file.id, b"p", file_type, h5py.h5s.create_simple((8,)), dcpl=dcpl)
    d = h5file["p"]
    assert d.dtype == np.dtype("<i2") and hdf5_encoder(d) is None
    values = np.array([1, -1, 2047, -2048, 3000, -3000, 0, 5], "<i2")
    la.save([la.asarray(values)], [d], direct_io=True, chunk_bytes=8)
    assert direct_chunks == {}
    expected = h5file.create_dataset("q", (8,), file_type, chunks=(4,))
    expected[...] = values
    assert same_bytes(d[...], expected[...])
