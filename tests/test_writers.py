"""Tests for lazyarray.writers: to_hdf5 and to_zarr create outputs all or nothing."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest
import zarr
from hypothesis import given
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.testing import CountingArray
from lazyarray.writers import output_chunks


class FailingArray:
    """An array-like source whose ``fail_on``-th read raises ``error``."""

    def __init__(self, array: np.ndarray, fail_on: int, error: Exception):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self._fail_on, self._error = fail_on, error
        self._reads = 0
        self._lock = threading.Lock()

    def __getitem__(self, key):
        with self._lock:
            self._reads += 1
            if self._reads == self._fail_on:
                raise self._error
        return self._array[key]


def data(shape=(12, 10, 8), dtype="f4", seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def test_to_hdf5_writes_every_array_and_returns_computed(tmp_path):
    a, b = data(), data(seed=1)
    x, y = la.asarray(a), la.asarray(b)
    path = tmp_path / "out.h5"
    mean, top = la.to_hdf5(
        path, {"diff": (x - y) * 2.5 + 1, "group/sum": x + y},
        compute=[la.mean(x, 0), la.max(y)], chunk_bytes=2000,
    )
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["diff"][...], (a - b) * np.float32(2.5) + 1)
        np.testing.assert_array_equal(f["group/sum"][...], a + b)
        assert f["diff"].dtype == np.float32
    np.testing.assert_allclose(mean, a.mean(0, dtype="f8"), rtol=1e-6)
    assert mean.dtype == np.float32
    assert top == b.max() and top.dtype == b.dtype
    assert not list(tmp_path.glob(".*partial"))


def test_to_hdf5_reads_each_source_element_once(tmp_path):
    a = data()
    source = CountingArray(a)
    x = la.asarray(source)
    la.to_hdf5(tmp_path / "o.h5", {"x2": x * 2, "x3": x * 3}, compute=[la.std(x, 1)],
               chunk_bytes=1500)
    assert source.counts.min() == source.counts.max() == 1


def test_to_hdf5_chunks_align_with_the_tiles(tmp_path):
    a = data((40, 30, 20))
    x = la.asarray(a)
    options = {"chunk_bytes": 30 * 20 * 4 * 6}
    [step] = la.plan([x * 2], **options).passes
    la.to_hdf5(tmp_path / "o.h5", {"y": x * 2}, **options)
    with h5py.File(tmp_path / "o.h5", "r") as f:
        chunks = f["y"].chunks
    assert all(t % c == 0 for t, c in zip(step.tile, chunks))


def test_to_hdf5_compression_round_trips(tmp_path):
    a = data()
    la.to_hdf5(tmp_path / "c.h5", {"a": a}, compression="gzip", compression_opts=1)
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert f["a"].compression == "gzip"
        np.testing.assert_array_equal(f["a"][...], a)


def test_to_hdf5_zero_size_and_scalar(tmp_path):
    la.to_hdf5(tmp_path / "z.h5", {"empty": la.zeros((0, 3)), "scalar": la.mean(np.arange(4))})
    with h5py.File(tmp_path / "z.h5", "r") as f:
        assert f["empty"].shape == (0, 3)
        assert f["scalar"][()] == 1.5


def test_failed_to_hdf5_leaves_no_file(tmp_path):
    bad = la.asarray(FailingArray(data(), fail_on=3, error=OSError("disk on fire")))
    path = tmp_path / "new.h5"
    with pytest.raises(OSError, match="disk on fire"):
        la.to_hdf5(path, {"x": bad + 1}, chunk_bytes=800)
    assert list(tmp_path.iterdir()) == []


def test_failed_to_hdf5_keeps_the_existing_file(tmp_path):
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as f:
        f["old"] = np.arange(3)
    before = path.read_bytes()
    bad = la.asarray(FailingArray(data(), fail_on=2, error=ValueError("bad read")))
    with pytest.raises(ValueError, match="bad read"):
        la.to_hdf5(path, {"x": bad}, overwrite=True, chunk_bytes=800)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.h5"]


def test_to_hdf5_refuses_to_replace_without_overwrite(tmp_path):
    path = tmp_path / "old.h5"
    path.write_bytes(b"keep me")
    source = CountingArray(np.arange(4))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        la.to_hdf5(path, {"x": la.asarray(source)})
    assert path.read_bytes() == b"keep me" and source.reads == 0


def test_to_hdf5_overwrite_replaces(tmp_path):
    path = tmp_path / "o.h5"
    path.write_bytes(b"old")
    la.to_hdf5(path, {"x": np.arange(5)}, overwrite=True)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][...], np.arange(5))


def test_to_hdf5_masked_writes_fill_value(tmp_path):
    m = np.ma.masked_array(np.arange(6.0), mask=[0, 1, 0, 0, 1, 0], fill_value=-999.0)
    node = la.asarray(m) * 2
    la.to_hdf5(tmp_path / "m.h5", {"m": node}, masked=True)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        values = f["m"][...]
        fill = f["m"].attrs["_FillValue"]
        declared = f["m"].fillvalue
    assert fill == declared == node.fill_value
    np.testing.assert_array_equal(values, (m * 2).filled(node.fill_value))


def test_to_hdf5_rejects_bad_arrays(tmp_path):
    with pytest.raises(TypeError, match="non-empty mapping"):
        la.to_hdf5(tmp_path / "x.h5", np.arange(3))
    with pytest.raises(TypeError, match="non-empty mapping"):
        la.to_hdf5(tmp_path / "x.h5", {})
    assert list(tmp_path.iterdir()) == []


def test_to_zarr_round_trip_and_alignment(tmp_path):
    a = data((20, 16, 8))
    x = la.asarray(a)
    path = tmp_path / "out.zarr"
    options = {"chunk_bytes": 16 * 8 * 4 * 3}
    [step] = la.plan([x - 1], **options).passes
    [total] = la.to_zarr(path, x - 1, compute=[la.sum(x)], **options)
    z = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(z[...], a - 1)
    assert z.dtype == np.float32
    assert all(t % c == 0 for t, c in zip(step.tile, z.chunks))
    np.testing.assert_allclose(total, a.sum(dtype="f8"), rtol=1e-6)


def test_failed_to_zarr_keeps_the_existing_array(tmp_path):
    path = tmp_path / "old.zarr"
    old = zarr.create_array(str(path), shape=(3,), dtype="i8")
    old[:] = [7, 8, 9]
    bad = la.asarray(FailingArray(data(), fail_on=2, error=RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        la.to_zarr(path, bad, overwrite=True, chunk_bytes=800)
    assert zarr.open_array(str(path), mode="r")[:].tolist() == [7, 8, 9]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.zarr"]


def test_to_zarr_overwrite_replaces_a_store(tmp_path):
    path = tmp_path / "o.zarr"
    zarr.create_array(str(path), shape=(2,), dtype="i8")
    la.to_zarr(path, np.arange(4.0), overwrite=True)
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[:], np.arange(4.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.zarr"]


@given(
    tile=st.lists(st.integers(1, 300), min_size=1, max_size=4),
    itemsize=st.sampled_from([1, 2, 4, 8, 16]),
    target=st.integers(1, 2**16),
)
def test_output_chunks_divide_the_tile_and_fit(tile, itemsize, target):
    chunks = output_chunks(tile, itemsize, target)
    assert len(chunks) == len(tile)
    assert all(t % c == 0 for t, c in zip(tile, chunks))
    # Within the target unless the axes have been cut down to single elements.
    assert np.prod(chunks) * itemsize <= target or all(
        c == 1 for c in chunks[:-1]
    ) and chunks[-1] <= tile[-1]
