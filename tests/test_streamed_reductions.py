"""Reductions over short axes with big results, computed tile by tile (``Aggregation.streams``).

A reduction whose result is big and whose elements each reduce few values
(three components, a window of days) is not a stage of its own, whose
result would be held whole in memory: the passes that use it compute it
tile by tile, reading the reduced axes whole. numpy is the oracle.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray import aggregation
from lazyarray.testing import recording_reads

KiB = 2**10
ROWS = 30_000  # with 4 components: 30 000 results, over 256 KiB of states

#: The threshold of a big result, scaled down with the data (1/64 of it).
RESULT_BYTES = aggregation.STREAMED_RESULT_BYTES // 64
#: The memory limit of the evaluations, scaled down likewise (1 MiB).
LIMIT = 64 * 2**20 // 64


@pytest.fixture(autouse=True)
def small_big_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregation, "STREAMED_RESULT_BYTES", RESULT_BYTES)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(18).normal(size=(ROWS, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, data: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("streamed") / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("rows", data=data, chunks=(1000, 4))  # whole rows per chunk
        f.create_dataset("columns", data=data, chunks=(1000, 1))  # rows cut by chunks
    return path


@pytest.mark.parametrize("name, kwargs", [
    ("mean", {}), ("std", {"ddof": 1}), ("max", {}), ("argmin", {}), ("sum", {}),
])
def test_short_axis_reductions_stream_and_equal_numpy(data: np.ndarray, name: str,
                                                      kwargs: dict[str, int]) -> None:
    reduced = getattr(la, name)(la.asarray(data), axis=1, **kwargs)
    assert reduced.streams and reduced.reduced_axes is None
    # An anomaly is one pass: the mean is computed with each tile that uses it.
    plan = la.plan([reduced * 2], memory_limit=LIMIT)
    assert len(plan.passes) == 1 and plan.tile_memory <= LIMIT
    [got] = la.ndarrays([reduced * 2], memory_limit=LIMIT)
    want = getattr(np, name)(data.astype(np.float64), axis=1, **kwargs) * 2
    assert got.shape == want.shape
    assert got.dtype == (getattr(np, name)(data[:2], axis=1, **kwargs) * 2).dtype
    np.testing.assert_allclose(got, want, rtol=2e-7 if got.dtype == np.float32 else 0)


def test_anomaly_in_one_pass_reads_each_chunk_once(stored: Path, data: np.ndarray) -> None:
    x = la.open_dataset(stored, "rows")
    mean = la.mean(x, axis=1, keepdims=True)
    assert mean.inputs[0].streams
    anomaly = x - mean
    with recording_reads() as reads:
        [got] = la.ndarrays([anomaly], memory_limit=LIMIT)
    assert (reads.counts(x) == 1).all()
    want = data - data.mean(axis=1, dtype=np.float64, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_chunks_cut_along_the_reduced_axis_keep_a_stage(stored: Path) -> None:
    # Reading the reduced axis whole would read many chunks per tile.
    x = la.open_dataset(stored, "columns")
    assert not la.mean(x, axis=1).streams
    assert len(la.plan([la.mean(x, axis=1) * 2]).passes) == 2


def test_small_results_keep_a_stage(data: np.ndarray) -> None:
    small = la.mean(la.asarray(data[:1000]), axis=1)
    assert 1000 * aggregation.STREAMED_STATE_BYTES < RESULT_BYTES
    assert not small.streams and small.reduced_axes == (1,)


def test_masked_streamed_reductions_equal_numpy_ma(data: np.ndarray) -> None:
    masked = np.ma.masked_array(data, mask=data > 1.5)
    mean = la.mean(la.asarray(masked), axis=1)
    count = la.count(la.asarray(masked), axis=1)
    assert mean.streams and count.streams
    got_mean, got_count = la.masked_arrays([mean, count], memory_limit=LIMIT)
    want = masked.astype(np.float64).mean(axis=1)
    np.testing.assert_array_equal(np.ma.getmaskarray(got_mean), np.ma.getmaskarray(want))
    np.testing.assert_allclose(got_mean.compressed(), want.compressed(), rtol=2e-7)
    np.testing.assert_array_equal(got_count, masked.count(axis=1))


def test_saved_within_the_memory_limit(stored: Path, data: np.ndarray, tmp_path: Path) -> None:
    x = la.open_dataset(stored, "rows")
    la.to_hdf5(tmp_path / "out.h5", {"std": la.std(x, axis=1)}, memory_limit=LIMIT // 2)
    with h5py.File(tmp_path / "out.h5") as f:
        got = f["std"][()]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, data.std(axis=1, dtype=np.float64), rtol=2e-7)


def test_statistics_of_one_input_stream_together_and_read_it_once(data: np.ndarray) -> None:
    x = la.asarray(data)
    mean, std, top = la.mean(x, axis=1), la.std(x, axis=1), la.max(x, axis=1)
    assert mean.streams and std.streams and top.streams
    assert len(la.plan([mean, std, top]).passes) == 1
    with recording_reads() as reads:
        la.ndarrays([mean, std, top], memory_limit=LIMIT)
    assert (reads.counts(x) == 1).all()


def test_long_axes_keep_a_stage_and_one_pass() -> None:
    # Time steps beyond STREAMED_REDUCED_LENGTH: a stage, whose statistics
    # share their pass with a saved array of the same input.
    values = np.zeros((aggregation.STREAMED_REDUCED_LENGTH + 1, 10_000), np.float32)
    assert 10_000 * aggregation.STREAMED_STATE_BYTES >= RESULT_BYTES  # big: length decides
    x = la.asarray(values)
    assert not la.mean(x, axis=0).streams and not la.std(x, axis=0).streams
    assert len(la.plan([la.mean(x, 0), la.std(x, 0), x * 2]).passes) == 1
