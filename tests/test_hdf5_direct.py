"""Tests of lazyarray/storage/hdf5/: HDF5 storage read without h5py.

Every read with ``direct_io=True`` must equal the same read with
``direct_io=False`` (h5py's own reading) and numpy's indexing of the data
written, in values, shape and dtype, for any layout, filters, allocation,
user block, byte order and key.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from examples import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import keys, oindex

import lazyarray as la
from lazyarray.storage.hdf5 import (
    ChunkedReader,
    ChunkIndex,
    ContiguousReader,
    chunked,
    chunkindex,
    direct_reader,
    fletcher32,
    handles,
    unsupported_reason,
)

DTYPES = ["bool", "int8", "uint16", "<i4", ">i4", ">u2", "float32", "<f8", ">f8", "complex128"]

#: Filter settings as h5py's create_dataset keywords.
FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "gzip1": {"compression": "gzip", "compression_opts": 1},
    "gzip9": {"compression": "gzip", "compression_opts": 9},
    "gzip4+shuffle": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "shuffle": {"shuffle": True},
    "fletcher32": {"fletcher32": True},
    "gzip+shuffle+fletcher32": {"compression": "gzip", "shuffle": True, "fletcher32": True},
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("direct")


_names = itertools.count()


@dataclass(frozen=True)
class Stored:
    """A dataset written to a file, and the data it holds (numpy, fill value included)."""

    path: str
    data: np.ndarray

    def open(self) -> h5py.Dataset:
        return h5py.File(self.path, "r")["x"]


def _values(shape: tuple[int, ...], dtype: np.dtype, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    if dtype.kind == "c":
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    # Smooth-ish data, so that shuffle and deflate have something to do.
    return (np.cumsum(rng.normal(size=shape), axis=-1) * 100).astype(dtype)


@st.composite
def stored_datasets(draw: st.DrawFn, folder: Path) -> Stored:
    """Datasets of 1-3 dims: chunked (any filters, some chunks maybe never written)
    or contiguous, in files with or without a user block, of either file format."""
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    data = _values(shape, dtype, draw(st.integers(0, 2**16)))
    contiguous = draw(st.booleans()) and draw(st.booleans())
    chunks = None if contiguous else tuple(draw(st.integers(1, n)) for n in shape)
    filters = {} if contiguous else FILTERS[draw(st.sampled_from(sorted(FILTERS)))]
    fill = _values((), dtype, draw(st.integers(0, 2**16)))[()] if draw(st.booleans()) else None
    userblock = draw(st.sampled_from([0, 0, 512, 1024, 4096]))
    libver = draw(st.sampled_from([None, None, "latest"]))
    path = str(folder / f"d{next(_names)}.h5")
    expected = np.full(shape, fill if fill is not None else np.zeros((), dtype), dtype)
    with h5py.File(path, "w", userblock_size=userblock, libver=libver) as f:
        dset = f.create_dataset("x", shape, dtype, chunks=chunks, fillvalue=fill, **filters)
        if chunks is None:
            if draw(st.integers(0, 4)):  # else never written: all fill value
                dset[...] = data
                expected = data
        else:
            grid = [range(0, n, c) for n, c in zip(shape, chunks)]
            every = list(itertools.product(*grid))
            written = draw(st.sets(st.sampled_from(every), max_size=len(every)))
            if draw(st.booleans()):
                written = set(every)
            for origin in sorted(written):
                region = tuple(slice(o, o + c) for o, c in zip(origin, chunks))
                dset[region] = data[region]
                expected[region] = data[region]
    return Stored(path, expected)


def _realise(array: la.Array, direct: bool, **options: Any) -> np.ndarray:
    return array.ndarray(direct_io=direct, **options)


def _assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, strict=True)


# -- reads: direct equals h5py equals numpy ---------------------------------------


@given(data=st.data())
def test_reads_equal_h5py_and_numpy(folder: Path, data: st.DataObject) -> None:
    stored = data.draw(stored_datasets(folder), label="stored")
    dset = stored.open()
    key = data.draw(keys(stored.data.shape, new_axes=False), label="key")
    expected = oindex(stored.data, key)
    lazy = la.asarray(dset)[key]
    chunk_bytes = data.draw(st.sampled_from([8, 64, 32 * 2**20]), label="chunk_bytes")
    direct = _realise(lazy, True, chunk_bytes=chunk_bytes, workers=2)
    through_h5py = _realise(lazy, False, chunk_bytes=chunk_bytes, workers=2)
    _assert_same(through_h5py, expected)
    _assert_same(direct, expected)


@given(data=st.data())
def test_reads_in_groups_of_columns_equal_h5py(folder: Path, data: st.DataObject) -> None:
    # Whole chunks are read and copied into place a group at a time; where a
    # row of the chunk grid holds more than COPY_BYTES (4 MiB), a group of its
    # last axis's columns at a time. Forced here with a limit of a few bytes.
    stored = data.draw(stored_datasets(folder), label="stored")
    key = data.draw(keys(stored.data.shape, new_axes=False), label="key")
    expected = oindex(stored.data, key)
    limit = data.draw(st.sampled_from([1, 64, 256]), label="COPY_BYTES")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunked, "COPY_BYTES", limit)
        got = _realise(la.asarray(stored.open())[key], True, chunk_bytes=2**20, workers=2)
    _assert_same(got, expected)


@given(data=st.data())
@settings(max_examples=examples(12, 30))
def test_reductions_equal_h5py(folder: Path, data: st.DataObject) -> None:
    stored = data.draw(stored_datasets(folder), label="stored")
    x = la.asarray(stored.open())
    if stored.data.dtype.kind == "c":
        x = abs(x)  # keep to reductions every dtype has
    results = la.mean(x, axis=0), la.max(x, axis=-1), la.sum(x)
    options = {"chunk_bytes": data.draw(st.sampled_from([8, 256, 4096])), "workers": 2}
    direct = la.ndarrays(results, direct_io=True, **options)
    through_h5py = la.ndarrays(results, direct_io=False, **options)
    values = stored.data if stored.data.dtype.kind != "c" else np.abs(stored.data)
    for got, other, want in zip(
        direct,
        through_h5py,
        [
            values.astype("f8" if values.dtype.kind == "f" else values.dtype).mean(axis=0)
            .astype(direct[0].dtype),
            values.max(axis=-1),
            values.sum(),
        ],
    ):
        if values.dtype.kind == "f":
            # The planner tiles by what the reader reads best (direct reads or
            # h5py's), so float sums may differ in their last bits.
            scale = float(np.abs(values).max())
            for result in (got, other):
                assert result.shape == want.shape and result.dtype == want.dtype
                np.testing.assert_allclose(result, want, rtol=1e-5, atol=1e-6 * scale)
        else:
            _assert_same(got, other)
            np.testing.assert_array_equal(got, want, strict=True)


def test_mean_of_many_small_chunks(tmp_path: Path) -> None:
    data = _values((6, 50, 40), np.dtype("f4"), 1)
    path = tmp_path / "small.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, chunks=(1, 7, 9))
        f.create_dataset("z", data=data, chunks=(2, 7, 9), compression="gzip", shuffle=True)
    with h5py.File(path, "r") as f:
        for name in ("x", "z"):
            lazy = la.mean(la.asarray(f[name]), axis=0)
            direct = lazy.ndarray(chunk_bytes=4096, workers=2, direct_io=True)
            _assert_same(direct, lazy.ndarray(chunk_bytes=4096, workers=2, direct_io=False))
            # numpy's float32 mean rounds more than lazyarray's float64 sums.
            np.testing.assert_allclose(direct, data.astype("f8").mean(axis=0), rtol=1e-6)


# -- the fast path is taken when it should be, and only then ---------------------


@pytest.fixture
def no_h5py_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make h5py's high-level reads raise: only the direct path can read."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read through h5py")

    monkeypatch.setattr(h5py.Dataset, "read_direct", refuse)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", refuse)
    yield


def _write(path: Path, data: np.ndarray, **kwargs: Any) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, **kwargs)


KEYS = [
    (...,),
    (slice(2, 9), slice(None), 3),
    (slice(None, None, 3), slice(1, None, 2), [0, 2, 5]),
    (4, slice(None, None, -1), slice(None)),
    ([7, 1, 1, 3], 2, slice(5, 1, -1)),
]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"chunks": (3, 4, 2)}, id="chunked"),
        pytest.param({"chunks": (10, 8, 6)}, id="one-chunk"),
        pytest.param({"chunks": (1, 8, 6)}, id="whole-planes"),
        pytest.param({}, id="contiguous"),
        pytest.param({"chunks": (4, 3, 6), "compression": "gzip"}, id="gzip"),
        pytest.param(
            {"chunks": (2, 5, 3), "compression": "gzip", "shuffle": True, "fletcher32": True},
            id="gzip-shuffle-fletcher32",
        ),
    ],
)
def test_fast_path_reads_without_h5py(tmp_path: Path, no_h5py_reads: None, kwargs: Any) -> None:
    data = _values((10, 8, 6), np.dtype(">f8"), 2)
    _write(tmp_path / "f.h5", data, **kwargs)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        x = la.asarray(f["x"])
        for key in KEYS:
            if kwargs == {} and any(isinstance(k, list) for k in key):
                continue  # index lists of contiguous data are left to HDF5's sieve
            _assert_same(x[key].ndarray(workers=2, chunk_bytes=512), oindex(data, key))
        _assert_same(la.mean(x, axis=(0, 2)).ndarray(workers=2), data.mean(axis=(0, 2)))


@given(
    rows=st.tuples(st.integers(0, 11), st.integers(1, 12)),
    cols=st.tuples(st.integers(0, 15), st.integers(1, 16)),
    chunk_cols=st.sampled_from([4, 8, 16]),
)
@settings(max_examples=examples(15, 40))
def test_parts_of_slab_chunks_read_only_their_bytes(
    folder: Path, rows: tuple[int, int], cols: tuple[int, int], chunk_cols: int
) -> None:
    """Chunks one slab thick, of which a tile takes some rows (mosaics' tiles): their
    bytes go straight into the tile, and nothing else of the chunk is read."""
    path = folder / f"slabs-{chunk_cols}.h5"
    data = _values((12, 16, 5), np.dtype("<f4"), 3)
    if not path.exists():
        _write(path, data, chunks=(1, chunk_cols, 5))
    (r0, r1), (c0, c1) = sorted(rows), sorted(cols)
    assume(r0 < r1 and c0 < c1 and c0 // chunk_cols == (c1 - 1) // chunk_cols)
    taken = []
    original = ChunkedReader.read_exactly

    def counted(self: Any, target: memoryview, offset: int) -> None:
        taken.append(len(target))
        original(self, target, offset)

    with h5py.File(path, "r") as f, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ChunkedReader, "read_exactly", counted)
        got = la.asarray(f["x"])[r0:r1, c0:c1].ndarray()
    _assert_same(got, data[r0:r1, c0:c1])
    assert sum(taken) == got.nbytes  # the selected bytes only


@pytest.fixture
def preads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the direct readers' system calls, in order (every one goes
    through ``handles.pread``)."""
    sizes: list[int] = []
    pread = handles.pread
    monkeypatch.setattr(
        handles, "pread", lambda fd, buffer, offset: sizes.append(buffer.nbytes) or pread(
            fd, buffer, offset
        )
    )
    return sizes


def test_contiguous_tiles_read_only_their_runs(tmp_path: Path, preads: list[int]) -> None:
    """Rows of a contiguous dataset longer than the sieve, of which tiles take a
    part in long runs: each run is read alone, and the plan counts just those
    bytes (reading whole rows took four times the bytes, issue 18)."""
    path = tmp_path / "contiguous.h5"
    data = _values((12, 64, 400), np.dtype("<f4"), 5)  # rows of 100 KiB
    _write(path, data)
    taken = preads
    with h5py.File(path, "r") as f:
        x = la.asarray(f["x"])
        part = x[2:10, 16:32]  # runs of 16 x 400 x 4 = 25 KiB, a quarter of each row
        got = part.ndarray()
        planned = la.plan([part * 1]).read_bytes
    _assert_same(got, data[2:10, 16:32])
    assert sum(taken) == got.nbytes == planned
    assert len(taken) == 8  # one run a row


def _raising_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("read directly")

    monkeypatch.setattr(ChunkedReader, "read", refuse)
    monkeypatch.setattr(ContiguousReader, "read", refuse)


def test_direct_io_false_goes_through_h5py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _values((10, 8, 6), np.dtype("i4"), 3)
    _write(tmp_path / "f.h5", data, chunks=(3, 4, 2), compression="gzip")
    _raising_readers(monkeypatch)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        x = la.asarray(f["x"])
        _assert_same(x[1:, ::2].ndarray(direct_io=False), data[1:, ::2])
        with la.set_options(direct_io=False):
            _assert_same(la.sum(x, axis=1).ndarray(), data.sum(axis=1))
        with pytest.raises(AssertionError, match="read directly"):
            x.ndarray()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(
            lambda f, d: f.create_dataset("x", data=d, chunks=(5, 4, 3), compression="lzf"),
            "filter 'lzf'",
            id="lzf",
        ),
        pytest.param(
            lambda f, d: f.create_dataset("x", data=d, chunks=(5, 4, 3), scaleoffset=0),
            "filter 'scaleoffset'",
            id="scaleoffset",
        ),
        pytest.param(
            lambda f, d: f.create_dataset(
                "x", data=d.astype("i4").view("i2,i2"), chunks=(5, 4, 3)
            ),
            "not a plain numeric",
            id="compound",
        ),
        pytest.param(
            lambda f, d: f.create_dataset(
                "x", data=d.astype("u1") % 3,
                dtype=h5py.enum_dtype({"a": 0, "b": 1, "c": 2}, basetype="u1"),
            ),
            "enumeration",
            id="enum",
        ),
        pytest.param(
            lambda f, d: f.create_dataset("x", data=d[:1, :1, :2], chunks=None),
            None,
            id="supported-contiguous",
        ),
    ],
)
def test_unsupported_datasets_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any, reason: str | None
) -> None:
    data = _values((10, 8, 6), np.dtype("i4"), 4)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        make(f, data)
    _raising_readers(monkeypatch)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        dset = f["x"]
        why = unsupported_reason(dset)
        if reason is None:
            assert why is None and direct_reader(dset) is not None
            return
        assert why is not None and reason in why
        assert direct_reader(dset) is None
        if dset.dtype.fields is not None:
            return  # whether lazy arrays wrap compound data is the adapters' business
        expected = dset[...]
        _assert_same(la.asarray(dset)[2:, ::-1].ndarray(), expected[2:, ::-1])


def test_files_open_for_writing_fall_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _values((10, 8, 6), np.dtype("f4"), 5)
    _write(tmp_path / "f.h5", data, chunks=(3, 4, 2))
    _raising_readers(monkeypatch)
    with h5py.File(tmp_path / "f.h5", "r+") as f:
        assert unsupported_reason(f["x"]) == "the file is open for writing"
        x = la.asarray(f["x"])
        f["x"][0] = -1  # may sit in HDF5's caches, not yet in the file
        expected = data.copy()
        expected[0] = -1
        _assert_same(x.ndarray(), expected)
    with h5py.File(tmp_path / "swmr.h5", "w", libver="latest") as f:
        f.create_dataset("x", data=data, chunks=(3, 4, 2), maxshape=(None, 8, 6))
    with h5py.File(tmp_path / "swmr.h5", "r", libver="latest", swmr=True) as f:
        assert "SWMR" in str(unsupported_reason(f["x"]))
        _assert_same(la.asarray(f["x"])[3].ndarray(), data[3])
    with h5py.File(tmp_path / "f.h5", "r", driver="core") as f:
        assert "driver is 'core'" in str(unsupported_reason(f["x"]))
        _assert_same(la.asarray(f["x"]).ndarray(), expected)


def test_skipped_filters_honoured(tmp_path: Path, no_h5py_reads: None) -> None:
    """A chunk stored with deflate skipped (filter mask bit 0) reads as it is."""
    data = _values((4, 6), np.dtype("<i4"), 6)
    path = tmp_path / "mask.h5"
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("x", (4, 6), "<i4", chunks=(2, 3), compression="gzip")
        dset[:2] = data[:2]
        # Raw (not deflated) bytes for the chunks of the last two rows.
        for origin in [(2, 0), (2, 3)]:
            block = np.ascontiguousarray(data[2:4, origin[1] : origin[1] + 3])
            dset.id.write_direct_chunk(origin, block.tobytes(), filter_mask=1)
    with h5py.File(path, "r") as f:
        reader = direct_reader(f["x"])
        assert isinstance(reader, ChunkedReader) and reader.index is not None
        assert reader.index.masks.tolist() == [[0, 0], [1, 1]]
        _assert_same(la.asarray(f["x"]).ndarray(), data)


def test_unallocated_storage_reads_as_fill_value(tmp_path: Path, no_h5py_reads: None) -> None:
    path = tmp_path / "empty.h5"
    # With a user block, HDF5 2.0 reports an offset for unwritten contiguous data.
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("c", (5, 7), ">i2", chunks=(2, 2), fillvalue=-3, compression="gzip")
        f.create_dataset("k", (5, 7), "f8", fillvalue=2.5)
        f["c"][4, 6] = 9
    with h5py.File(path, "r") as f:
        expected = np.full((5, 7), -3, ">i2")
        expected[4, 6] = 9
        _assert_same(la.asarray(f["c"])[1:, [0, 6]].ndarray(), expected[1:, [0, 6]])
        _assert_same(la.asarray(f["k"])[::2].ndarray(), np.full((3, 7), 2.5))
        reader = direct_reader(f["k"])
        assert isinstance(reader, ContiguousReader) and reader.offset is None


# -- corrupt chunks ---------------------------------------------------------------


def _corrupt(path: Path, chunk: tuple[int, ...], how: str) -> None:
    with h5py.File(path, "r") as f:
        info = f["x"].id.get_chunk_info_by_coord(chunk)
    assert info.byte_offset + info.size == os.path.getsize(path) or how != "truncate"
    with open(path, "r+b") as file:
        if how == "truncate":
            file.truncate(info.byte_offset + info.size // 2)
            return
        file.seek(info.byte_offset + info.size // 2)
        file.write(b"\x13\x57\x9b\xdf" * 4)


@pytest.mark.parametrize(
    ("kwargs", "how", "message"),
    [
        ({"compression": "gzip"}, "overwrite", "deflate filter failed"),
        ({"fletcher32": True}, "overwrite", "fletcher32 filter failed"),
        ({"compression": "gzip", "shuffle": True, "fletcher32": True}, "overwrite", "fletcher32"),
        ({"compression": "gzip"}, "truncate", "the file ends"),
    ],
)
def test_corrupt_chunk_raises_chunk_decode_error(
    tmp_path: Path, kwargs: Any, how: str, message: str
) -> None:
    data = _values((12, 20), np.dtype("f8"), 7)
    path = tmp_path / "bad.h5"
    _write(path, data, chunks=(4, 10), **kwargs)
    with h5py.File(path, "r") as f:
        x = la.asarray(f["x"])
        # The last chunk, so that truncating the file cuts it and leaves the
        # others; after opening, since HDF5 refuses to open truncated files.
        _corrupt(path, (8, 10), how)
        _assert_same(x[:8].ndarray(), data[:8])  # the other chunks still read
        with pytest.raises(la.ChunkDecodeError, match=message) as error:
            la.mean(x, axis=0).ndarray(workers=2, chunk_bytes=640)
        text = str(error.value)
        assert "'/x'" in text and os.fspath(path) in text
        if how == "overwrite":
            assert "chunk (2, 1) (elements from (8, 10))" in text
            assert error.value.__cause__ is not None
        with pytest.raises(OSError):
            x[9, 15].ndarray()


# -- files with a user block; pickling; laziness; the index is built once ----------


@pytest.mark.parametrize("userblock", [512, 4096])
@pytest.mark.parametrize("chunks", [None, (3, 5)])
def test_userblock_offsets(tmp_path: Path, no_h5py_reads: None, userblock: int, chunks: Any) -> None:
    data = _values((9, 10), np.dtype("<i8"), 8)
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=userblock) as f:
        f.create_dataset("x", data=data, chunks=chunks)
    with open(path, "r+b") as file:
        file.write(b"\xff" * userblock)  # the user block is the user's: anything goes
    with h5py.File(path, "r") as f:
        assert direct_reader(f["x"]) is not None
        key = (slice(1, 8, 3) if chunks else slice(1, 8), slice(2, None))
        _assert_same(la.asarray(f["x"])[key].ndarray(), data[key])


def test_graphs_pickle_and_stay_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _values((10, 8), np.dtype("f4"), 9)
    _write(tmp_path / "p.h5", data, chunks=(3, 3), compression="gzip")
    _settle(tmp_path / "p.h5")
    built = []
    build = ChunkIndex.build
    monkeypatch.setattr(
        ChunkIndex, "build", classmethod(lambda cls, *a: built.append(1) or build(*a))
    )
    x = la.asarray(la.open_dataset(tmp_path / "p.h5", "x"))
    views = [x[2:], x[:, ::2][1:], la.mean(x, axis=0)]
    assert built == []  # building and indexing read nothing
    for view in views:
        view.ndarray(workers=2, chunk_bytes=64)
    assert built == [1]  # one index for the adapter and all its views
    again = pickle.loads(pickle.dumps(views[1]))
    _assert_same(again.ndarray(), data[:, ::2][1:])
    assert built == [1]  # this process's readers are shared (see the next test)
    from lazyarray.adapters import h5py_

    monkeypatch.setattr(h5py_, "_readers", h5py_._ReaderCache())  # as in a fresh process
    again = pickle.loads(pickle.dumps(views[1]))
    _assert_same(again.ndarray(), data[:, ::2][1:])
    assert built == [1, 1]  # rebuilt after unpickling, not carried along
    assert len(pickle.dumps(views[1])) < 2000


def test_fletcher32_equals_hdf5(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    cases = [np.frombuffer(b"abcde", np.uint8), np.zeros(9, np.uint8)]
    cases += [np.full(n, 255, np.uint8) for n in (1, 720, 721, 100_001)]
    cases += [rng.integers(0, 256, n, dtype=np.uint8) for n in (1, 2, 3, 719, 720, 9999)]
    cases += [np.where(rng.random(n) < 0.999, 255, 7).astype(np.uint8) for n in (2000, 30_001)]
    with h5py.File(tmp_path / "sums.h5", "w") as f:
        for i, case in enumerate(cases):
            dset = f.create_dataset(str(i), data=case, chunks=case.shape, fletcher32=True)
            _, raw = dset.id.read_direct_chunk((0,))
            assert fletcher32(raw[:-4]) == int.from_bytes(raw[-4:], "little"), i


@pytest.mark.parametrize("kwargs", [{}, {"compression": "gzip", "shuffle": True}])
def test_reads_proportional_to_selection(tmp_path: Path, preads: list[int], kwargs: Any) -> None:
    data = _values((20, 30), np.dtype("f8"), 11)
    _write(tmp_path / "p.h5", data, chunks=(4, 5), **kwargs)
    reads = preads
    with h5py.File(tmp_path / "p.h5", "r") as f:
        x = la.asarray(f["x"])
        sizes = {c: f["x"].id.get_chunk_info_by_coord(c).size for c in [(4, 5), (4, 10)]}
        _assert_same(x[6, 7:13].ndarray(), data[6, 7:13])
        if kwargs:
            # The two chunks the selection touches, nothing else (one call if adjacent).
            assert sum(reads) == sum(sizes.values())
        else:  # plain chunks: only the selected runs of each
            assert sum(reads) == 6 * 8 and len(reads) == 2
        reads.clear()
        _assert_same(x[::7, [2, 29]].ndarray(), data[::7, [2, 29]])
        touched = [(r, c) for r in (0, 4, 12) for c in (0, 25)]  # rows 0, 7, 14; columns 2, 29
        assert sum(reads) == sum(f["x"].id.get_chunk_info_by_coord(c).size for c in touched)


def test_a_point_series_from_planes_reads_its_points(tmp_path: Path, preads: list[int]) -> None:
    """Plain chunks of whole planes: a point series reads one element of each
    (issue 18: h5py reads every plane whole), and the plan counts just that."""
    data = _values((20, 50, 40), np.dtype("<f4"), 4)
    _write(tmp_path / "planes.h5", data, chunks=(1, 50, 40))
    reads = preads
    with h5py.File(tmp_path / "planes.h5", "r") as f:
        series = la.asarray(f["x"])[:, 25, 30]
        _assert_same(series.ndarray(), data[:, 25, 30])
        assert reads == [4] * 20
        assert la.plan([series * 1]).read_bytes == 20 * 4


def test_a_box_of_planes_reads_one_span_of_each_plane(tmp_path: Path,
                                                     preads: list[int]) -> None:
    """Rows 10-29, columns 5-14 of plain chunks of whole planes: one system call
    per plane, for the span from the box's first element to its last (not one
    per row), where that span is short; the plan counts those bytes."""
    data = _values((6, 50, 40), np.dtype("<f4"), 5)
    _write(tmp_path / "planes.h5", data, chunks=(1, 50, 40))
    span = (19 * 40 + 10) * 4  # 19 rows apart, then one run of 10
    with h5py.File(tmp_path / "planes.h5", "r") as f:
        box = la.asarray(f["x"])[1:5, 10:30, 5:15]
        _assert_same(box.ndarray(), data[1:5, 10:30, 5:15])
        assert preads == [span] * 4
        assert la.plan([box * 1]).read_bytes == 4 * span < 4 * 50 * 40 * 4
        preads.clear()
        # Spans longer than SIEVE_BYTES are read run by run: the same values.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(chunked, "SIEVE_BYTES", span - 1)
            _assert_same(box.ndarray(), data[1:5, 10:30, 5:15])
            assert preads == [10 * 4] * (4 * 20)
            assert la.plan([box * 1]).read_bytes == 4 * 20 * 10 * 4


@pytest.mark.parametrize("kwargs", [{}, {"compression": "gzip", "shuffle": True}])
def test_resized_datasets(tmp_path: Path, kwargs: Any) -> None:
    """Shrunk then grown: whatever HDF5 gives for the regrown part, direct reads agree."""
    data = _values((10, 9), np.dtype("<i2"), 12)
    path = tmp_path / "resized.h5"
    with h5py.File(path, "w") as f:
        dset = f.create_dataset(
            "x", data=data, chunks=(3, 4), maxshape=(None, None), fillvalue=-7, **kwargs
        )
        dset.resize((5, 6))
    with h5py.File(path, "r") as f:
        assert direct_reader(f["x"]) is not None
        _assert_same(la.asarray(f["x"]).ndarray(), data[:5, :6])
    with h5py.File(path, "a") as f:
        f["x"].resize((12, 10))
    with h5py.File(path, "r") as f:
        through_h5py = f["x"][...]
        x = la.asarray(f["x"])
        _assert_same(x.ndarray(direct_io=True), through_h5py)
        _assert_same(x[::-2, 3:].ndarray(direct_io=True), through_h5py[::-2, 3:])


@given(data=st.data())
def test_reader_reads_native_keys(folder: Path, data: st.DataObject) -> None:
    """The reader alone, on any native key: several index arrays at once too."""
    from strategies import normalised_keys

    from lazyarray.indexing import NativeSupport, decompose_key

    stored = data.draw(stored_datasets(folder), label="stored")
    dset = stored.open()
    reader = direct_reader(dset)
    assert reader is not None
    key = data.draw(normalised_keys(stored.data.shape), label="key")
    assume(all(isinstance(k, int) or len(k) for k in key))  # adapters never read nothing
    native, _ = decompose_key(key, NativeSupport(False, None, False))
    if not reader.supports(native):
        assert isinstance(reader, ContiguousReader)  # stepped or listed: left to HDF5
        return
    out = np.empty([1 if isinstance(k, int) else len(k) for k in native], reader.dtype)
    reader.read(native, out)
    expected = oindex(stored.data, tuple(range(k, k + 1) if isinstance(k, int) else k
                                         for k in native))
    _assert_same(out, expected)


def test_index_arrays_over_whole_chunks(tmp_path: Path) -> None:
    """An index array that selects a whole chunk is copied from it like any other
    (a hypothesis draw once found the chunk's place taken for a slice)."""
    data = np.array([[False], [True], [False], [True]])
    path = tmp_path / "b.h5"
    _write(path, data, chunks=(2, 1), compression="gzip")
    with h5py.File(path, "r") as f:
        reader = direct_reader(f["x"])
        assert isinstance(reader, ChunkedReader)
        for key in [(np.array([0, 1, 3]), 0), (np.array([0, 1]), range(1)), (range(2), 0)]:
            out = np.empty((len(key[0]), 1), bool)
            reader.read(key, out)
            _assert_same(out, oindex(data, (key[0], range(1))))


@pytest.mark.parametrize(("version", "added"), [
    ((1, 10, 11), False), ((1, 12, 3), False), ((1, 14, 3), False),
    ((1, 14, 4), True), ((1, 14, 6), True), ((2, 0, 0), True),
])
def test_chunk_addresses_by_hdf5_version(monkeypatch: pytest.MonkeyPatch,
                                         version: tuple[int, int, int], added: bool) -> None:
    """HDF5's chunk queries add the base address from 1.14.4 on (HDFGroup/hdf5 #4236)."""
    monkeypatch.setattr(h5py.version, "hdf5_version_tuple", version)
    assert chunkindex.chunk_address_shift(0) == 0
    assert chunkindex.chunk_address_shift(4096) == (0 if added else 4096)


def test_chunk_addresses_hdf5_reports_are_file_offsets(tmp_path: Path) -> None:
    """The index from HDF5's report (layout version 4) points at the chunks' bytes: the
    bytes HDF5 itself gives for each chunk with ``read_direct_chunk``."""
    path = tmp_path / "latest.h5"
    data = _values((6, 8), np.dtype("<i4"), 15)
    with h5py.File(path, "w", libver="latest", userblock_size=1024) as f:
        f.create_dataset("x", data=data, chunks=(2, 3), compression="gzip")
    with h5py.File(path, "r") as f, open(path, "rb") as file:
        reader = direct_reader(f["x"])
        assert isinstance(reader, ChunkedReader) and reader.index is not None
        content = file.read()
        for origin in itertools.product(range(0, 6, 2), range(0, 8, 3)):
            _, stored = f["x"].id.read_direct_chunk(origin)
            where = (origin[0] // 2, origin[1] // 3)
            offset, size = int(reader.index.offsets[where]), int(reader.index.sizes[where])
            assert content[offset : offset + size] == stored


def test_chunk_index_built_once_per_file_across_adapters(tmp_path: Path) -> None:
    """Adapters made apart (open_dataset in a loop) share the direct reader of
    a settled file, built once; a file replaced since (another identity) gets a
    new one, and its new values are read; a file modified in the last seconds
    is not shared."""
    from lazyarray.adapters import h5py_

    path = tmp_path / "index.h5"
    data = _values((8, 6, 5), np.dtype("<f4"), 3)
    _write(path, data, chunks=(2, 3, 5))
    built = []
    original = h5py_.direct_reader

    def counted(dataset: Any, file: Any) -> Any:
        built.append(dataset.name)
        return original(dataset, file)

    def read_three_times(want: np.ndarray) -> None:
        for _ in range(3):
            _assert_same(la.open_dataset(path, "x", decode=False)[:, 2, 1].ndarray(),
                         want[:, 2, 1])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(h5py_, "direct_reader", counted)
        read_three_times(data)  # just written: not shared (a rewrite may keep its identity)
        assert built == ["/x"] * 3
        _settle(path)
        read_three_times(data)
        assert built == ["/x"] * 4
        _write(path.with_suffix(".new"), data + 1, chunks=(4, 3, 5))
        os.replace(path.with_suffix(".new"), path)  # replaced: another identity
        _settle(path)
        read_three_times(data + 1)
        assert built == ["/x"] * 5


def _settle(path: Path) -> None:
    """Date ``path``'s last modification a minute back: a file at rest."""
    then = time.time_ns() - 60 * 10**9
    os.utime(path, ns=(then, then))


def _stored_bytes(dataset: h5py.Dataset, key: tuple[slice, ...]) -> int:
    """The bytes of the stored chunks that ``key`` (slices of step 1) touches, as
    HDF5 stores them (compressed chunks at their compressed size); of a
    contiguous dataset, the rows (positions along the first axis) it touches:
    splittable at any row, it is read in rows, or parts of long ones."""
    ranges = [range(n)[k] for k, n in zip(key, dataset.shape)]
    if dataset.chunks is None:
        return len(ranges[0]) * math.prod(dataset.shape[1:]) * dataset.dtype.itemsize
    key = tuple(slice(r.start, r.stop) for r in ranges)
    total = 0
    for n in range(dataset.id.get_num_chunks()):
        info = dataset.id.get_chunk_info(n)
        if all(s.start < o + c and o < s.stop
               for s, o, c in zip(key, info.chunk_offset, dataset.chunks)):
            total += info.size
    return total


LAYOUTS = {
    "planes": {"chunks": (1, 24, 30)},
    "cubes": {"chunks": (5, 6, 10)},
    "contiguous": {},
    "gzip cubes": {"chunks": (5, 6, 10), "compression": "gzip", "compression_opts": 4,
                   "shuffle": True},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("axes", [0, (1, 2), 2])
@pytest.mark.parametrize("key", [(slice(None),) * 3, (slice(3, 17), slice(5, 19), slice(7, 23))])
def test_each_layout_reads_no_more_than_the_stored_chunks_it_touches(
        tmp_path: Path, preads: list[int], layout: str, axes: Any, key: tuple[slice, ...]
) -> None:
    """Issue 18: statistics of every layout, whole or of a box, read through the
    direct readers no more bytes than the stored chunks the selection touches (of
    plain chunks, the byte runs it needs), in tiles forced small."""
    data = _values((20, 24, 30), np.dtype("<f4"), 9)
    _write(tmp_path / "x.h5", data, **LAYOUTS[layout])
    with h5py.File(tmp_path / "x.h5", "r") as f:
        x = la.asarray(f["x"])[key]
        mean, std = la.ndarrays([la.mean(x, axes), la.std(x, axes)], memory_limit=60_000,
                                chunk_bytes=6_000)
        np.testing.assert_allclose(mean, data[key].mean(axes, dtype=np.float64), rtol=1e-6)
        np.testing.assert_allclose(std, data[key].std(axes, dtype=np.float64), rtol=1e-5)
        assert 0 < sum(preads) <= _stored_bytes(f["x"], key)
