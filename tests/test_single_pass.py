"""Single pass (DESIGN.md promise 3): one evaluation call reads each element of
each source once, however many results use it, whatever the tiling and the
number of workers; and every result still equals numpy's.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import zarr

import lazyarray as la
from lazyarray.indexing import to_native
from lazyarray.testing import CountingArray, recording_reads

WORKERS = [1, 2, 3]
# Small tiles, so that every call runs on many of them.
CHUNK_BYTES = [96, 1000]


def values(shape, seed=0, dtype="f4"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(actual, expected, rtol=1e-6):
    """``actual`` has ``expected``'s shape and dtype, and its values to ``rtol``.

    lazyarray accumulates in float64: compare with numpy's float64 result,
    cast back to the declared dtype.
    """
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6)


def reads_once(source: CountingArray) -> None:
    assert source.counts.min() == 1 and source.counts.max() == 1, (
        f"elements read between {source.counts.min()} and {source.counts.max()} times"
    )


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("chunk_bytes", CHUNK_BYTES)
def test_statistics_and_a_saved_array_read_the_source_once(workers, chunk_bytes):
    data = values((37, 23))
    wide = data.astype(np.float64)
    source = CountingArray(data)
    a = la.asarray(source)
    out = np.zeros(data.shape, np.float32)
    requested = [la.mean(a, 0), la.std(a, 0), la.max(a, 0), la.min(a, 1)]
    plan = la.plan(requested + [a * 2], chunk_bytes=chunk_bytes, workers=workers)
    assert len(plan.passes) == 1 and plan.passes[0].tile_count >= 4

    mean, std, top, bottom = la.save(
        [a * 2], [out], compute=requested, chunk_bytes=chunk_bytes, workers=workers
    )

    reads_once(source)
    assert source.reads == plan.passes[0].tile_count  # one read per tile
    np.testing.assert_array_equal(out, data * 2)
    close(mean, wide.mean(0).astype(np.float32))
    close(std, wide.std(0).astype(np.float32))
    np.testing.assert_array_equal(top, data.max(0))
    np.testing.assert_array_equal(bottom, data.min(1))


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("chunk_bytes", CHUNK_BYTES)
def test_masked_statistics_and_a_saved_array_read_the_masked_source_once(workers, chunk_bytes):
    """The first test in masked mode: a masked source, whole columns and rows
    masked among random points, statistics as numpy.ma gives them."""
    data = values((37, 23))
    mask = np.random.default_rng(9).random(data.shape) < 0.1
    mask[:, 5] = True  # a fully masked column: masked mean, std and max
    mask[4] = True  # a fully masked row: a masked min
    m = np.ma.masked_array(data, mask=mask)
    source = CountingArray(m)
    a = la.asarray(source)
    out = np.zeros(data.shape, np.float32)
    requested = [la.mean(a, 0), la.std(a, 0), la.max(a, 0), la.min(a, 1)]
    plan = la.plan(requested + [a * 2], chunk_bytes=chunk_bytes, workers=workers)
    assert len(plan.passes) == 1 and plan.passes[0].tile_count >= 4

    mean, std, top, bottom = la.save(
        [a * 2], [out], compute=requested, masked=True, chunk_bytes=chunk_bytes, workers=workers
    )

    reads_once(source)
    assert source.reads == plan.passes[0].tile_count  # one read per tile
    # Saved: masked points written as the fill value (the default: a source
    # that is not itself a numpy masked array declares none).
    fill = np.float32((a * 2).fill_value)
    np.testing.assert_array_equal(out, np.where(mask, fill, data * 2))
    wide = m.astype(np.float64)
    for actual, expected in [(mean, wide.mean(0)), (std, wide.std(0)), (top, m.max(0)),
                             (bottom, m.min(1))]:
        assert isinstance(actual, np.ma.MaskedArray) and actual.dtype == np.float32
        np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
        keep = ~np.ma.getmaskarray(expected)
        np.testing.assert_allclose(actual.data[keep], expected.data[keep], rtol=1e-6, atol=1e-6)
    assert np.ma.getmaskarray(mean)[5] and np.ma.getmaskarray(bottom)[4]


@pytest.mark.parametrize("workers", WORKERS)
def test_statistics_over_other_axes_and_masked_mode_read_once(workers):
    data = values((9, 8, 7), seed=1, dtype="f8")
    mask = np.random.default_rng(2).random(data.shape) < 0.2
    source = CountingArray(np.ma.masked_array(data, mask))
    a = la.asarray(source)
    requested = [la.mean(a, (0, 2)), la.var(a, 1, ddof=1), la.sum(a), la.count(a, 0), a - 1]
    mean, var, total, count, shifted = la.masked_arrays(
        requested, chunk_bytes=64, workers=workers
    )
    reads_once(source)
    expected = np.ma.masked_array(data, mask)
    np.testing.assert_allclose(mean, expected.mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(var, expected.var(1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(total, expected.sum(), rtol=1e-12)
    np.testing.assert_array_equal(count, expected.count(0))
    np.testing.assert_array_equal(np.ma.getmaskarray(shifted), mask)
    np.testing.assert_array_equal(shifted.compressed(), (expected - 1).compressed())


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("chunk_bytes", CHUNK_BYTES)
def test_ndarrays_of_means_and_a_difference_read_each_source_once(workers, chunk_bytes):
    first, second = values((31, 17), seed=3, dtype="f8"), values((31, 17), seed=4, dtype="f8")
    sources = CountingArray(first), CountingArray(second)
    a, b = map(la.asarray, sources)
    mean0, mean1, difference = la.ndarrays(
        [la.mean(a, 0), la.mean(a, 1), a - b], chunk_bytes=chunk_bytes, workers=workers
    )
    for source in sources:
        reads_once(source)
    close(mean0, first.mean(0), rtol=1e-12)
    close(mean1, first.mean(1), rtol=1e-12)
    np.testing.assert_array_equal(difference, first - second)


@pytest.mark.parametrize("workers", WORKERS)
def test_compute_reads_once(workers):
    data = np.arange(20 * 6, dtype=np.int32).reshape(20, 6)
    source = CountingArray(data)
    a = la.asarray(source)
    total, biggest, doubled = la.compute(la.sum(a, 0), la.max(a), a * 2, chunk_bytes=48,
                                         workers=workers)
    reads_once(source)
    np.testing.assert_array_equal(total, data.sum(0))
    assert total.dtype == data.sum(0).dtype
    assert int(biggest) == data.max()
    np.testing.assert_array_equal(doubled, data * 2)


@pytest.mark.parametrize("workers", WORKERS)
def test_save_two_sources_into_two_targets_in_one_pass(workers):
    first, second = values((25, 12), seed=5), values((25, 12), seed=6)
    sources = CountingArray(first), CountingArray(second)
    a, b = map(la.asarray, sources)
    out_sum = np.zeros((25, 12), np.float32)
    out_product = np.zeros((25, 12), np.float64)  # float32 into float64: a safe cast
    requested = [a + b, a * b]
    plan = la.plan(requested + [la.mean(a + b)], chunk_bytes=120)
    assert len(plan.passes) == 1

    [mean] = la.save(requested, [out_sum, out_product], compute=[la.mean(a + b)],
                     chunk_bytes=120, workers=workers)

    for source in sources:
        reads_once(source)
    np.testing.assert_array_equal(out_sum, first + second)
    np.testing.assert_array_equal(out_product, (first * second).astype(np.float64))
    close(mean, (first + second).astype(np.float64).mean().astype(np.float32))


@pytest.mark.parametrize("workers", WORKERS)
def test_save_into_hdf5_and_zarr_in_one_pass(tmp_path, workers):
    data = values((30, 20), seed=7)
    source = CountingArray(data)
    a = la.asarray(source)
    with h5py.File(tmp_path / "out.h5", "w") as f:
        hdf5 = f.create_dataset("x", shape=data.shape, dtype="f4", chunks=(5, 20))
        z = zarr.create_array({}, shape=data.shape, chunks=(10, 5), dtype="f8")
        [std] = la.save([a * 3, a - 1], [hdf5, z], compute=[la.std(a, 1)], chunk_bytes=400,
                        workers=workers)
        reads_once(source)
        np.testing.assert_array_equal(hdf5[...], data * 3)
        np.testing.assert_array_equal(z[...], (data - 1).astype(np.float64))
    close(std, data.astype(np.float64).std(1).astype(np.float32))


def test_a_chunked_hdf5_source_is_read_chunk_by_chunk(tmp_path):
    """Tiles are unions of whole storage chunks: each chunk is read once, never split."""
    data = values((24, 10, 6), seed=8)
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(4, 5, 6))
    with h5py.File(tmp_path / "in.h5", "r") as f, recording_reads() as reads:
        a = la.HDF5ArrayAdapter(f["x"])
        # A budget of about two chunks a tile.
        mean, top, doubled = la.ndarrays([la.mean(a, 0), la.max(a, 2), a * 2],
                                         chunk_bytes=2 * 4 * 5 * 6 * 4, workers=2)
    assert {type(read.adapter) for read in reads} == {la.HDF5ArrayAdapter}
    counts = np.zeros(data.shape, np.int64)
    for native in [read.key for read in reads]:
        assert all(isinstance(item, range) and item.step == 1 for item in native)
        counts[to_native(native)] += 1
        for item, chunk, n in zip(native, (4, 5, 6), data.shape):
            assert item.start % chunk == 0 and (item.stop % chunk == 0 or item.stop == n)
    assert (counts == 1).all()
    close(mean, data.astype(np.float64).mean(0).astype(np.float32))
    np.testing.assert_array_equal(top, data.max(2))
    np.testing.assert_array_equal(doubled, data * 2)
