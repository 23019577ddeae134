"""Order statistics (median, quantile, percentile and their nan forms) against numpy.

numpy is the oracle, bit for bit: every result is compared with numpy's
function on the same data, for shape, dtype and values, whatever the
tiling the memory budget forces.
"""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray import quantiles
from lazyarray.errors import MemoryBudgetError
from lazyarray.testing import InaccessibleArray, recording_reads
from tests.examples import examples

STATISTICS = ("median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile")


def lazy_statistic(name, data, axis, q=None, method="linear", keepdims=False):
    function = getattr(quantiles, name)
    if "median" in name:
        return function(data, axis=axis, keepdims=keepdims)
    return function(data, q, axis=axis, method=method, keepdims=keepdims)


def numpy_statistic(name, data, axis, q=None, method="linear", keepdims=False):
    function = getattr(np, name)
    if "median" in name:
        return function(data, axis=axis, keepdims=keepdims)
    if np.ndim(q) > 1 and name.startswith("nan") and not keepdims:
        # numpy 2.4's nan forms misplace the axes of a q of 2 dimensions
        # over several axes; each quantile alone is numpy's all the same.
        flat = np.stack([function(data, v, axis=axis, method=method) for v in np.ravel(q)])
        return flat.reshape(np.shape(q) + flat.shape[1:])
    return function(data, q, axis=axis, method=method, keepdims=keepdims)


def assert_same(actual, expected):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected, strict=True)


@st.composite
def cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(["f8", "f4", "i2", "u1"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    data = (rng.normal(size=shape) * 50).astype(dtype)
    name = draw(st.sampled_from(STATISTICS))
    if name.startswith("nan") and data.dtype.kind == "f":
        data[rng.random(shape) < 0.3] = np.nan
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                   unique=True).map(tuple)))
    high = 100 if "percentile" in name else 1
    q = draw(st.one_of(
        st.floats(0, high),
        st.lists(st.floats(0, high), min_size=1, max_size=3),
        st.lists(st.lists(st.floats(0, high), min_size=2, max_size=2), min_size=1, max_size=2),
    ))
    method = draw(st.sampled_from(quantiles.METHODS))
    keepdims = draw(st.booleans())
    # Budgets down to a few columns per tile.
    budget = draw(st.sampled_from([None, 4096, 16384]))
    return data, name, axis, q, method, keepdims, budget


@settings(max_examples=examples(40, 300), deadline=None)
@given(cases())
def test_equal_to_numpy_for_any_axes_method_and_tiling(case):
    data, name, axis, q, method, keepdims, budget = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's all-NaN slices, in both
        expected = numpy_statistic(name, data, axis, q, method, keepdims)
    lazy = lazy_statistic(name, la.asarray(data) * 1, axis, q, method, keepdims)
    options = {} if budget is None else {"memory_limit": budget, "chunk_bytes": budget // 8}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            actual = lazy.ndarray(**options)
    except MemoryBudgetError:
        column = data.size // max(1, np.prod([n for a, n in enumerate(data.shape)
                                             if a not in np.atleast_1d(
                                                 np.arange(data.ndim) if axis is None
                                                 else np.asarray(axis) % data.ndim)]))
        assert budget is not None and column * data.itemsize * 2 > budget // 4
        return
    assert_same(actual, expected)


@pytest.mark.parametrize("method", quantiles.METHODS)
@pytest.mark.parametrize("dtype", ["f4", "f8", "i2", "u1"])
def test_every_method_and_dtype_over_time_in_tiles(method, dtype):
    rng = np.random.default_rng(7)
    data = (rng.normal(size=(31, 6, 5)) * 40).astype(dtype)
    q = [0.0, 0.05, 0.5, 0.93, 1.0]
    lazy = la.quantile(la.asarray(data), q, axis=0, method=method)
    assert_same(lazy.ndarray(memory_limit=8000, chunk_bytes=1000), np.quantile(data, q, 0,
                                                                            method=method))


def test_statistics_of_a_chunked_hdf5_mosaic_read_each_chunk_once(tmp_path):
    rng = np.random.default_rng(3)
    parts = [rng.normal(size=(20, 12, 10)).astype("f4") for _ in range(2)]
    path = tmp_path / "parts.h5"
    with h5py.File(path, "w") as f:
        for n, part in enumerate(parts):
            f.create_dataset(f"x{n}", data=part, chunks=(5, 6, 5))
    data = np.concatenate(parts)
    with h5py.File(path, "r") as f:
        members = [la.asarray(f["x0"]), la.asarray(f["x1"])]
        x = la.concatenate(members)
        q = [0.1, 0.5, 0.9]
        wanted = [la.median(x, axis=0), la.quantile(x, q, axis=0, method="nearest"),
                  la.nanpercentile(x, 90, axis=0), la.mean(x, axis=0), x.max()]
        with recording_reads() as reads:
            results = la.ndarrays(wanted, memory_limit=200_000, chunk_bytes=20_000)
        assert_same(results[0], np.median(data, axis=0))
        assert_same(results[1], np.quantile(data, q, axis=0, method="nearest"))
        assert_same(results[2], np.nanpercentile(data, 90, axis=0))
        np.testing.assert_allclose(results[3], data.mean(axis=0, dtype=np.float64), rtol=1e-6)
        assert_same(results[4], data.max())
        # Quantiles share a pass whose tiles hold all of q: each element is
        # read once, and each column sorted once.
        plan = la.plan([wanted[1]], memory_limit=400_000, chunk_bytes=20_000)
        assert len(plan.passes) == 1 and plan.passes[0].tile[0] == 3
        assert plan.passes[0].tile_count > 1
        with recording_reads() as reads:
            again = la.ndarrays([wanted[1]], memory_limit=400_000, chunk_bytes=20_000)
        assert_same(again[0], results[1])
        for member in members:
            counts = reads.counts(member)
            assert counts.min() == counts.max() == 1


def test_masked_median_is_numpy_ma_median():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(9, 4, 3))
    mask = rng.random(data.shape) < 0.4
    mask[:, 0, 0] = True  # a column with nothing valid
    data[0, 1, 1] = np.nan  # for nanmedian
    m = np.ma.masked_array(data, mask=mask)
    for axis in (0, (0, 2), None):
        actual = la.median(m, axis=axis).masked_array(memory_limit=4000, chunk_bytes=500)
        expected = np.ma.median(m, axis=axis)
        np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
        np.testing.assert_array_equal(np.ma.filled(actual, 0.0), np.ma.filled(expected, 0.0))
    nan_masked = np.ma.masked_array(data, mask=mask | np.isnan(data))
    actual = la.nanmedian(m, axis=0).masked_array()
    expected = np.ma.median(nan_masked, axis=0)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
    np.testing.assert_array_equal(np.ma.filled(actual, 0.0), np.ma.filled(expected, 0.0))
    # Realised plainly, masked outputs take the fill value.
    plain = la.median(m, axis=0).ndarray()
    assert plain[0, 0] == la.median(m, axis=0).fill_value


def test_building_and_indexing_read_nothing():
    data = np.arange(60.0).reshape(5, 4, 3)
    x = la.asarray(InaccessibleArray(data.shape, data.dtype))
    q = la.quantile(x, [0.2, 0.8], axis=1)
    selected = q[1, ::-1, [2, 0]]
    assert selected.shape == (5, 2)
    expected = np.quantile(data, [0.2, 0.8], axis=1)[1, ::-1][:, [2, 0]]
    assert_same(la.quantile(la.asarray(data), [0.2, 0.8], axis=1)[1, ::-1, [2, 0]].ndarray(),
                expected)


def test_numpy_functions_stay_lazy():
    data = np.arange(24.0).reshape(4, 6)
    x = la.asarray(data)
    for function in (np.median, np.nanmedian):
        lazy = function(x, axis=0)
        assert isinstance(lazy, la.Array)
        assert_same(lazy.ndarray(), function(data, axis=0))
    for function in (np.quantile, np.nanquantile, np.percentile, np.nanpercentile):
        q = 30 if "percentile" in function.__name__ else 0.3
        lazy = function(x, q, axis=1, method="midpoint", keepdims=True)
        assert isinstance(lazy, la.Array)
        assert_same(lazy.ndarray(), function(data, q, axis=1, method="midpoint", keepdims=True))


def test_errors_say_what_was_expected():
    m = la.asarray(np.ma.masked_array([1.0, 2.0], mask=[0, 1]))
    with pytest.raises(TypeError, match="numpy.ma has no quantile"):
        la.quantile(m, 0.5)
    with pytest.raises(ValueError, match=r"q must be within \[0, 100\]"):
        la.percentile(np.arange(3), 101)
    with pytest.raises(ValueError, match="method must be one of"):
        la.quantile(np.arange(3), 0.5, method="cubic")
    with pytest.raises(TypeError, match="weights"):
        la.quantile(np.arange(3), 0.5, weights=np.ones(3))
    # One column of 10 000 float64 values cannot fit 40 kB: said before reading.
    x = la.asarray(InaccessibleArray((10_000, 3), "f8"))
    with pytest.raises(MemoryBudgetError, match="memory_limit"):
        la.median(x, axis=0).ndarray(memory_limit=40_000, chunk_bytes=4000)


MEDIAN_CHILD = """
import json, resource, sys
import h5py, numpy as np
import lazyarray as la

baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
x = la.asarray(h5py.File(sys.argv[1], "r")["x"])
limit = int(sys.argv[2])
median = la.median(x, axis=0).ndarray(memory_limit=limit)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
np.save(sys.argv[3], median)
print(json.dumps({"peak": peak, "baseline": baseline}))
"""


@pytest.mark.slow
def test_a_4_gb_median_over_time_of_planes_stays_within_the_budget(tmp_path):
    from tests.test_memory import run_fresh

    shape = (1000, 1000, 1000)  # float32: 4 GB, in plane chunks (1, 1000, 1000)
    path = tmp_path / "planes.h5"
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("x", shape=shape, dtype="f4", chunks=(1,) + shape[1:])
        for i in range(shape[0]):
            dataset[i] = np.random.default_rng(i).random(shape[1:], dtype=np.float32)
    limit = 256 * 2**20
    child = run_fresh(MEDIAN_CHILD, str(path), str(limit), str(tmp_path / "median.npy"),
                      timeout=1200)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    grown = report["peak"] - report["baseline"]
    print(f"peak RSS grew {grown / 2**20:.0f} MiB for memory_limit {limit / 2**20:.0f} MiB")
    assert grown <= limit + 150 * 10**6
    median = np.load(tmp_path / "median.npy")
    with h5py.File(path, "r") as f:  # numpy's median, 50 rows at a time
        for start in range(0, shape[1], 50):
            rows = slice(start, start + 50)
            assert_same(median[rows], np.median(f["x"][:, rows], axis=0))
