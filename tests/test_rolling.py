"""Moving windows (``la.rolling``): the numpy reference, xarray's results, each chunk read once (issue 15, point 3).

The oracle is numpy: the array padded with NaN past its ends, cut into
windows by ``sliding_window_view``, reduced by numpy's NaN-skipping
functions, NaN where fewer than ``min_periods`` values are present. Minima
and maxima equal it exactly; sums, means and variances add in another order
(a window's values one after another, so that results do not depend on the
tiling) and equal it to rounding. Results are the same bit for bit whatever
the tiles and workers.
"""

from __future__ import annotations

import threading
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import lazyarray as la
from lazyarray.testing import (
    InaccessibleArray,
    orthogonal_index,
    recording_reads,
    refusing_reads,
)

NUMPY = {"sum": np.nansum, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax,
         "var": np.nanvar, "std": np.nanstd}


def reference(data: np.ndarray, window: int, axis: int, center: bool, min_periods: int,
              statistic: str, ddof: int = 0) -> np.ndarray:
    """The numpy reference, built with ``sliding_window_view``."""
    masked = np.ma.getmaskarray(data)
    values = np.array(np.ma.getdata(data), dtype=np.nanmean(np.ones(1, data.dtype)).dtype)
    values[masked] = np.nan
    lead = (window - 1) // 2 if center else 0
    pad = [(0, 0)] * values.ndim
    pad[axis] = (window - 1 - lead, lead)
    windows = sliding_window_view(np.pad(values, pad, constant_values=np.nan), window, axis)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kwargs = {"ddof": ddof} if statistic in ("var", "std") else {}
        result = np.array(NUMPY[statistic](windows, axis=-1, **kwargs))
    present = window - np.isnan(windows).sum(axis=-1)
    result[present < min_periods] = np.nan
    if statistic in ("var", "std"):
        result[present - ddof <= 0] = np.nan
    return result


def assert_matches(actual: np.ndarray, expected: np.ndarray, statistic: str) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if statistic in ("min", "max"):
        np.testing.assert_array_equal(actual, expected)
        return
    tolerance = 1e-5 if expected.dtype.itemsize <= 4 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))


@settings(max_examples=examples(15, 100), deadline=None)
@given(data=st.data())
def test_random_windows_as_the_reference(data):
    """Any shape, axis, window, centring, ``min_periods``, statistic, missing
    values, tiling and workers: the reference's values; and the same bits
    for every tiling."""
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple),
                      label="shape")
    dtype = data.draw(st.sampled_from(["f8", "f4", "i4", "?"]), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 999), label="seed"))
    values = (rng.standard_normal(shape) * 10).astype(dtype)
    if values.dtype.kind == "f":
        values[rng.random(shape) < 0.15] = np.nan
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    window = data.draw(st.integers(1, shape[axis] + 2), label="window")
    min_periods = data.draw(st.integers(1, window), label="min_periods")
    center = data.draw(st.booleans(), label="center")
    statistic = data.draw(st.sampled_from(sorted(NUMPY)), label="statistic")
    ddof = data.draw(st.integers(0, 1)) if statistic in ("var", "std") else 0
    rolled = la.rolling(values, window, axis, center=center, min_periods=min_periods)
    node = getattr(rolled, statistic)(ddof) if ddof else getattr(rolled, statistic)()
    expected = reference(values, window, axis % len(shape), center, min_periods, statistic, ddof)
    results = [node.ndarray(chunk_bytes=chunk_bytes, workers=workers)
               for chunk_bytes, workers in ((1 << 20, 1), (24, 1), (40, 2))]
    assert_matches(results[0], expected, statistic)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("statistic", ["sum", "mean", "std", "min", "max"])
@pytest.mark.parametrize("center", [False, True])
def test_as_xarray(statistic, center):
    """xarray's ``rolling`` gives the same values (its own numpy path)."""
    values = np.random.default_rng(4).standard_normal((25, 3))
    values[5, 1] = np.nan
    expected = getattr(xr.DataArray(values, dims=("time", "x")).rolling(
        time=4, center=center, min_periods=2), statistic)().values
    actual = getattr(la.rolling(values, 4, center=center, min_periods=2), statistic)()
    assert_matches(actual.ndarray(chunk_bytes=48), expected, statistic)


def test_masked_points_are_missing():
    data = np.ma.masked_array(np.arange(10.0), mask=[0, 1, 0, 0, 1, 1, 0, 0, 0, 0])
    rolled = la.rolling(la.asarray(data), 3, min_periods=2)
    assert_matches(rolled.mean().ndarray(chunk_bytes=16), reference(data, 3, 0, False, 2,
                                                                    "mean"), "mean")
    result = rolled.sum().masked_array(chunk_bytes=16)
    expected = reference(data, 3, 0, False, 2, "sum")
    np.testing.assert_array_equal(np.ma.getmaskarray(result), np.isnan(expected))


def test_selections_compute_their_part():
    values = np.random.default_rng(5).standard_normal((40, 6))
    node = la.rolling(values, 5, center=True).max()
    expected = reference(values, 5, 0, True, 5, "max")
    for key in [np.s_[10:20], np.s_[::-3, 2], np.s_[35:], np.s_[[4, 0, 39], 1:3]]:
        actual = node[key].ndarray(chunk_bytes=64)
        np.testing.assert_array_equal(actual, orthogonal_index(expected, key))


# -- reads ---------------------------------------------------------------------------


def test_building_and_indexing_read_nothing():
    x = la.asarray(InaccessibleArray((100, 4), "f4"))
    with refusing_reads():
        node = la.rolling(x, 10).std(ddof=1)[20:30, 1]
        assert node.shape == (10,) and node.dtype == np.float32
        assert node.chunks == ((10,),)


@pytest.mark.parametrize("workers", [1, 2])
def test_each_stored_chunk_read_once(tmp_path, workers):
    """The window's earlier positions come from the tile before: the source
    is read once, not ``window`` times."""
    data = np.random.default_rng(6).standard_normal((60, 4, 5)).astype("f4")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(5, 4, 5))
    x = la.open_dataset(tmp_path / "x.h5", "x")
    rolled = la.rolling(x, 7, center=True, min_periods=1)
    with recording_reads() as reads:
        mean, top = la.ndarrays([rolled.mean(), rolled.max()], chunk_bytes=5 * 4 * 5 * 4,
                                workers=workers)
    assert (reads.counts(x) == 1).all()
    assert_matches(mean, reference(data, 7, 0, True, 1, "mean"), "mean")
    assert_matches(top, reference(data, 7, 0, True, 1, "max"), "max")


def test_iterated_slabs_read_once():
    data = np.random.default_rng(7).standard_normal((50, 3))
    x = la.asarray(data)
    with recording_reads() as reads:
        slabs = list(la.rolling(x, 6).sum().iter_chunks(size=8))
    assert (reads.counts(x) == 1).all()
    assert_matches(np.concatenate(slabs), reference(data, 6, 0, False, 6, "sum"), "sum")
    assert not [t for t in threading.enumerate() if t.name.startswith("lazyarray")]


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), [
    ((0,), {}, ValueError, "window must be a positive integer, found 0"),
    ((2.5,), {}, ValueError, "window must be a positive integer, found 2.5"),
    ((3,), {"min_periods": 4}, ValueError,
     r"min_periods must be an integer from 1 to the window \(3\), found 4"),
    ((3, 2), {}, la.AxisError, "axis 2 is out of range"),
    ((3,), {"center": "yes"}, TypeError, "center must be True or False"),
])
def test_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        la.rolling(np.zeros((4, 2)), *args, **kwargs)
    with pytest.raises(TypeError, match="numeric or boolean"):
        la.rolling(np.array(["a", "b"]), 1)
    with pytest.raises(ValueError, match="ddof must be a non-negative integer"):
        la.rolling(np.zeros(3), 2).var(ddof=-1)
