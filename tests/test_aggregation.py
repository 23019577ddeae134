"""Tests of :mod:`lazyarray.aggregation`: numpy's reductions, lazily, over many tiles.

Every case compares the value, the shape and the dtype with numpy's. Float
statistics are compared with numpy on the data widened to float64 (complex128):
lazyarray accumulates in 64 bits, so it is at least as accurate as numpy.
Small ``chunk_bytes`` make every evaluation run on many tiles.
"""

from __future__ import annotations

import contextlib
import warnings

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import AxisError
from lazyarray.testing import CountingArray, InaccessibleArray, recording_reads

# Tiles of a few elements: every evaluation below runs on many of them.
TINY = 64
WORKERS = [1, 2, 3]

#: Reductions whose results must be exact (equal to numpy's bit for bit).
EXACT = {"min", "max", "nanmin", "nanmax", "count", "argmin", "argmax", "nanargmin", "nanargmax",
         "any", "all", "ptp"}
ALL = ["sum", "nansum", "prod", "nanprod", "mean", "nanmean", "std", "nanstd", "var", "nanvar",
       "min", "nanmin", "max", "nanmax", "ptp", "count", "any", "all", "argmin", "nanargmin",
       "argmax", "nanargmax"]
METHODS = ["sum", "prod", "mean", "std", "var", "min", "max", "ptp", "count", "any", "all",
           "argmin", "argmax"]


def values(shape, seed=0, dtype="f4"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@contextlib.contextmanager
def quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def widened(data):
    data = np.asanyarray(data)
    if data.dtype.kind == "f":
        return data.astype(np.float64)
    if data.dtype.kind == "c":
        return data.astype(np.complex128)
    return data


def numpy_result(name, data, **kwargs):
    """numpy's ``name`` of ``data``: the dtype from the data itself, the values
    (for inexact statistics) from the data widened to 64 bits."""
    func = np.ma.count if name == "count" else getattr(np, name)
    with quiet():
        dtype = np.asarray(func(data, **kwargs)).dtype
        if name in EXACT or np.asarray(data).dtype.kind not in "fc":
            return np.asarray(func(data, **kwargs))
        return np.asarray(func(widened(data), **kwargs)).astype(dtype)


def check(actual, expected, exact):
    """``actual`` is an ndarray with ``expected``'s shape, dtype and values."""
    expected = np.asarray(expected)
    assert type(actual) is np.ndarray, type(actual)
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-12)


def check_masked(actual, expected, exact=False):
    """Same shape, dtype and mask as numpy.ma's ``expected``; values where unmasked."""
    assert isinstance(actual, np.ma.MaskedArray), type(actual)
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask)
    check(np.ma.getdata(actual)[~mask], np.ma.getdata(expected)[~mask], exact)


@pytest.fixture
def hdf5(tmp_path):
    """A function making a chunked HDF5 dataset of an array, as an adapter."""
    files = []

    def make(data, chunks):
        handle = h5py.File(tmp_path / f"source{len(files)}.h5", "w")
        files.append(handle)
        handle.create_dataset("x", data=data, chunks=chunks)
        return la.HDF5ArrayAdapter(handle["x"])

    yield make
    for handle in files:
        handle.close()


# -- min / max past one tile (Biggus got this wrong past one chunk) ---------------


def name_axis_pairs(names, axes):
    """(name, axis) pairs; arg-min/max take one axis or None, as numpy's."""
    return [(n, a) for n in names for a in axes if not (n.startswith(("arg", "nanarg"))
                                                       and isinstance(a, tuple))]


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("dtype", ["i2", "u1", "f4", "f8"])
@pytest.mark.parametrize("name, axis", name_axis_pairs(["min", "max", "argmin", "argmax", "ptp"],
                                                       [0, 1, None, (0, 1)]))
def test_extremes_along_a_multi_tile_axis(name, dtype, axis, workers):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 200, (60, 9)).astype(dtype)
    # The extremes sit in the last tile of each column, or the first, or the middle.
    data[-1, 0], data[0, 1], data[31, 2] = 250, 250, 250
    data[-2, 3], data[1, 4], data[30, 5] = 0, 0, 0
    lazy = getattr(la, name)(data, axis)
    result = lazy.ndarray(chunk_bytes=TINY, workers=workers)
    assert la.plan([lazy], chunk_bytes=TINY).passes[0].tile_count >= 8
    check(result, numpy_result(name, data, axis=axis), exact=True)


# -- one call, one pass -------------------------------------------------------------


@pytest.mark.parametrize("workers", WORKERS)
def test_several_statistics_and_an_expression_in_one_call(workers):
    a_data, b_data = values((23, 17), 1), values((23, 17), 2)
    a_source, b_source = CountingArray(a_data), CountingArray(b_data)
    a, b = la.asarray(a_source), la.asarray(b_source)
    mean0, mean1, difference = la.ndarrays([la.mean(a, 0), la.mean(a, 1), a - b],
                                           chunk_bytes=TINY * 4, workers=workers)
    check(mean0, numpy_result("mean", a_data, axis=0), exact=False)
    check(mean1, numpy_result("mean", a_data, axis=1), exact=False)
    check(difference, a_data - b_data, exact=True)
    # Every element of both sources read once, for all three results.
    assert a_source.counts.min() == a_source.counts.max() == 1
    assert b_source.counts.min() == b_source.counts.max() == 1


# -- integers: accumulated wide, numpy's dtypes ---------------------------------------


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "prod", "var", "std"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_int8_near_100_does_not_overflow(name, axis):
    data = (100 + np.arange(-3, 3)[np.arange(120) % 6]).astype(np.int8).reshape(40, 3)
    if name == "prod":
        data = data[:3]  # 102 ** 3 fits int64, as numpy's int64 product
    result = getattr(la, name)(data, axis).ndarray(chunk_bytes=8)
    expected = numpy_result(name, data, axis=axis)
    assert expected.dtype == (np.int64 if name in ("sum", "nansum", "prod") else np.float64)
    check(result, expected, exact=name in ("sum", "nansum", "prod"))


@pytest.mark.parametrize("name", ["std", "nanstd", "mean", "sum"])
def test_float32_statistics_of_huge_values_accumulate_in_float64(name):
    # Masked float32 data realised with ndarray() holds its fill value, 1e20:
    # squares of such deviations overflow float32, not float64 (DESIGN promise
    # 2). (Their variance, ~1e39, is itself beyond float32.)
    data = values((40, 3), 17)
    data[::7, 1] = 1e20
    result = getattr(la, name)(data, 0).ndarray(chunk_bytes=TINY)
    assert np.isfinite(result).all()
    check(result, numpy_result(name, data, axis=0), exact=False)


@pytest.mark.parametrize("dtype", ["i8", "u8"])
def test_mean_of_large_integers_sums_in_float64_as_numpy(dtype):
    data = np.full((8, 3), 2**62, dtype)  # their int64 sum wraps around
    result = la.mean(data, 0).ndarray(chunk_bytes=16)
    check(result, np.mean(data, 0), exact=False)


# -- dtype= --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data, dtype",
    [
        ("sum", np.full((30, 2), 100, np.int8), np.int8),  # numpy wraps around in int8
        ("sum", np.full((30, 2), 100, np.int8), np.int16),
        ("sum", np.array([[0.5, 1.5], [2.7, 3.2], [-1.5, 0.9]]), np.int64),  # each cast first
        ("sum", np.arange(12, dtype=np.int32).reshape(6, 2), np.float32),
        ("sum", np.array([[True, False], [True, False]]), np.bool_),
        ("sum", np.arange(12, dtype=np.uint8).reshape(6, 2) * 20, np.uint8),
        ("prod", np.array([[1.5, 2.5], [3.9, 1.1], [2.2, -1.7]]), np.int64),
        ("prod", np.arange(1, 13, dtype=np.int16).reshape(6, 2), np.float64),
        ("mean", np.full((30, 2), 100, np.int8), np.int8),  # the int8 sum wraps, then divides
        ("mean", np.arange(12, dtype=np.int16).reshape(6, 2), np.float32),
        ("mean", np.array([[0.5, 1.5], [1.5, 2.5], [7.5, 0.25]]), np.int64),
        ("mean", values((9, 2)), np.float64),
        ("mean", (values((9, 2)) + 1j).astype(np.complex64), np.complex128),
        ("var", values((9, 2)), np.float64),
        ("std", np.arange(12, dtype=np.int16).reshape(6, 2), np.float32),
        ("nansum", np.array([[np.nan, 1.5], [2.5, np.nan]]), np.int64),
        ("nanmean", np.array([[np.nan, 1.5], [2.5, np.nan], [1.0, 1.0]], np.float32), np.float64),
    ],
)
def test_dtype_argument(name, data, dtype):
    for axis in (0, None):
        result = getattr(la, name)(data, axis, dtype=dtype).ndarray(chunk_bytes=8)
        expected = numpy_result(name, data, axis=axis, dtype=dtype)
        check(result, expected, exact=np.dtype(dtype).kind in "biu")


# -- results do not depend on the number of workers -------------------------------------


@pytest.mark.parametrize("axis", [0, 2, (0, 2), None])
def test_results_are_bitwise_identical_for_any_number_of_workers(axis):
    data = values((21, 5, 13), 4)
    data[3, 1, 2] = np.nan
    names = ["mean", "std", "var", "sum", "nanmean", "nanstd", "min", "nanmax", "prod", "ptp"]
    if not isinstance(axis, tuple):
        names += ["argmin", "nanargmax"]
    lazies = [getattr(la, name)(data, axis) for name in names]
    runs = [la.ndarrays(lazies, chunk_bytes=200, workers=workers) for workers in WORKERS]
    for name, *results in zip(names, *runs):
        assert all(r.tobytes() == results[0].tobytes() for r in results), name
        check(results[0], numpy_result(name, data, axis=axis), exact=name in EXACT)


# -- aggregations are lazy arrays -----------------------------------------------------------


def test_aggregations_of_aggregations_and_anomalies():
    x_data = values((31, 7, 4), 5)
    x = la.asarray(x_data)
    wide = widened(x_data)
    results = la.ndarrays(
        [la.mean(la.std(x, 0), 0), x - la.mean(x, axis=0), la.max(la.var(x, 2, ddof=1), None),
         la.mean(x, 0) - la.mean(x[::2], 0)],
        chunk_bytes=TINY * 2, workers=2,
    )
    check(results[0], np.mean(np.std(wide, 0), 0).astype(np.float32), exact=False)
    # The anomaly is a float32 difference, as numpy's x - x.mean(0) is.
    check(results[1], x_data - np.mean(wide, axis=0).astype(np.float32), exact=False)
    check(results[2], np.max(np.var(wide, 2, ddof=1)).astype(np.float32), exact=False)
    check(results[3], np.mean(wide, 0).astype(np.float32) - np.mean(wide[::2], 0).astype(np.float32),
          exact=False)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_statistics_of_a_mosaic_combined(axis):
    tiles = [values((n, 6), seed) + 10 for seed, n in enumerate((4, 1, 7, 3))]
    mosaic = la.LinearMosaic([la.asarray(t) for t in tiles], axis=0)
    joined = widened(np.concatenate(tiles))
    result = (la.std(mosaic, axis) / la.mean(mosaic, axis)).ndarray(chunk_bytes=TINY, workers=3)
    expected = (np.std(joined, axis) / np.mean(joined, axis)).astype(np.float32)
    check(result, expected, exact=False)
    # and of a stack of the mosaic with an expression of itself
    stacked = la.stack([mosaic, mosaic * 2], axis=1)
    result = la.var(stacked, (0, 2), ddof=1).ndarray(chunk_bytes=TINY)
    check(result, np.var(np.stack([joined, joined * 2], 1), (0, 2), ddof=1).astype(np.float32),
          exact=False)


@pytest.mark.parametrize(
    "name, key",
    [
        ("mean", (slice(None, None, 2), [3, 1])),
        ("std", (slice(2, 5),)),
        ("max", (-1, slice(None, None, -2))),
        ("argmin", ([True, False, True, False, False, True], 4)),
        ("nansum", (Ellipsis, [0, 0, 4])),
    ],
)
def test_indexing_an_aggregation_reads_only_what_the_selection_needs(name, key):
    data = values((12, 6, 5), 6)
    source = CountingArray(data)
    lazy = getattr(la, name)(la.asarray(source), 0)[key]
    assert source.reads == 0  # indexing read nothing
    result = lazy.ndarray(chunk_bytes=TINY, workers=2)
    check(result, getattr(np, name)(widened(data) if name not in EXACT else data, 0)[key]
          .astype(lazy.dtype), exact=name in EXACT)
    # Exactly the input columns the selection needs, each once.
    needed = np.zeros(data.shape[1:], bool)
    needed[key] = True
    np.testing.assert_array_equal(source.counts, np.broadcast_to(needed, data.shape).astype(int))


def test_mean_of_a_slice_of_hdf5_reads_each_selected_element_once(hdf5):
    data = values((17, 6, 5), 7)
    source = hdf5(data, chunks=(4, 3, 5))
    lazy = la.mean(source[1:], 0)
    with recording_reads() as reads:
        result = lazy.ndarray(chunk_bytes=TINY * 4, workers=2)
    check(result, np.mean(widened(data)[1:], 0).astype(np.float32), exact=False)
    counts = reads.counts(source)
    assert (counts[0] == 0).all() and (counts[1:] == 1).all()
    # An index of the mean selects from the file before reading.
    with recording_reads() as reads:
        result = lazy[::2, [4, 0]].ndarray(chunk_bytes=TINY, workers=3)
    check(result, np.mean(widened(data)[1:], 0)[::2][:, [4, 0]].astype(np.float32), exact=False)
    counts = reads.counts(source)
    assert counts.sum() == 16 * 3 * 2
    assert (counts[1:, ::2][:, :, [0, 4]] == 1).all()


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("axis", [0, -1, None, (0, 2)])
def test_methods_equal_functions(name, axis):
    if name.startswith("arg") and isinstance(axis, tuple):
        axis = 1
    data = values((5, 4, 3), 8)
    kwargs = {"ddof": 1} if name in ("std", "var") else {"keepdims": True} if name == "max" else {}
    a = la.asarray(data)
    method = getattr(a, name)(axis=axis, **kwargs)
    positional = getattr(a, name)(axis, **kwargs)
    function = getattr(la, name)(a, axis, **kwargs)
    results = la.ndarrays([method, positional, function], chunk_bytes=TINY)
    expected = numpy_result(name, data, axis=axis, **kwargs)
    for result in results:
        check(result, expected, exact=name in EXACT)
        assert result.tobytes() == results[0].tobytes()


@pytest.mark.parametrize("name, axis", name_axis_pairs(
    ["sum", "mean", "std", "min", "any", "count", "nanvar", "argmax"],
    [0, -2, (0, 2), (2, 0), None, ()],
))
def test_keepdims(name, axis):
    data = values((3, 4, 5), 9)
    lazy = getattr(la, name)(data, axis, keepdims=True)
    expected = numpy_result(name, data, axis=axis, keepdims=True)
    assert lazy.shape == expected.shape
    check(lazy.ndarray(chunk_bytes=TINY), expected, exact=name in EXACT)
    without = getattr(la, name)(data, axis)
    assert without.shape == numpy_result(name, data, axis=axis).shape


def test_reductions_over_no_axes_keep_the_array():
    data = values((3, 4), 10)
    for name in ("sum", "mean", "var", "min", "any"):
        check(getattr(la, name)(data, ()).ndarray(), numpy_result(name, data, axis=()),
              exact=name in EXACT)


def test_building_and_indexing_aggregations_reads_nothing():
    x = la.asarray(InaccessibleArray((6, 5, 4), "f4"))
    for name in ALL:
        node = getattr(la, name)(x, 1)
        node = node[::2] + getattr(la, name)(x[:, ::-1], 1)[1:4]
        assert node.shape[0] == 3
        assert la.mean(node, 0).shape == (4,)


# -- errors, as numpy's ----------------------------------------------------------------


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda a: la.mean(a, 3), ["mean", "axis 3", "3 dimensions"]),
        (lambda a: la.sum(a, -4), ["sum", "axis -4", "3 dimensions"]),
        (lambda a: la.std(a, (0, 5)), ["std", "axis 5", "3 dimensions"]),
        (lambda a: la.var(a, (1, 1)), ["var", "axis 1 is repeated", "(1, 1)"]),
        (lambda a: la.max(a, (0, -3)), ["max", "axis -3 is repeated", "(0, -3)"]),
        (lambda a: la.argmin(a, 3), ["argmin", "axis 3", "3 dimensions"]),
        (lambda a: a.mean(axis=(2, -1)), ["mean", "axis -1 is repeated"]),
        (lambda a: la.nanmean(a, keepdims=True, axis=7), ["nanmean", "axis 7"]),
    ],
)
def test_axis_errors(build, words):
    a = la.asarray(InaccessibleArray((2, 3, 4), "f8"))
    with pytest.raises(AxisError) as info:
        build(a)
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("name", ["min", "max", "ptp", "argmin", "argmax", "nanmin", "nanmax",
                                  "nanargmin", "nanargmax"])
@pytest.mark.parametrize("shape, axis", [((0, 3), 0), ((0, 3), None), ((4, 0), 1), ((0,), None)])
def test_extremes_of_nothing_raise_numpy_errors_at_build_time(name, shape, axis):
    with pytest.raises(Exception) as numpy_error:
        getattr(np, name)(np.zeros(shape), axis=axis)
    with pytest.raises(type(numpy_error.value), match=str(numpy_error.value)):
        getattr(la, name)(la.asarray(InaccessibleArray(shape, "f8")), axis)


@pytest.mark.parametrize("name", ["min", "max", "argmin", "sum", "mean"])
def test_extremes_along_a_non_empty_axis_of_an_empty_array(name):
    data = np.zeros((0, 3))
    result = getattr(la, name)(data, 1).ndarray()
    check(result, numpy_result(name, data, axis=1), exact=True)


def test_bad_arguments():
    a = np.zeros((2, 3))
    with pytest.raises(TypeError):
        la.argmin(a, (0, 1))  # as numpy: one axis
    with pytest.raises(TypeError):
        la.min(a, 0, ddof=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        la.asarray(a).max(dtype=float)
    with pytest.raises(ValueError, match="mdtol"):
        la.mean(a, mdtol=1.5)


# -- empty slices and NaN, as numpy -------------------------------------------------------


def nan_columns():
    data = values((40, 4), 11).astype(np.float64)
    data[:, 1] = np.nan  # all NaN, across every tile
    data[::3, 2] = np.nan
    data[-1, 3] = np.nan  # only in the last tile
    return data


@pytest.mark.parametrize("name, message", [
    ("nanmean", "Mean of empty slice"),
    ("nanmin", "All-NaN slice encountered"),
    ("nanmax", "All-NaN slice encountered"),
    ("nanvar", "Degrees of freedom <= 0"),
    ("nanstd", "Degrees of freedom <= 0"),
])
@pytest.mark.parametrize("workers", [1, 3])
def test_all_nan_slices_give_nan_with_numpys_warning(name, message, workers):
    data = nan_columns()
    with pytest.warns(RuntimeWarning, match=message):
        result = getattr(la, name)(data, 0).ndarray(chunk_bytes=TINY, workers=workers)
    with pytest.warns(RuntimeWarning, match=message):
        expected = getattr(np, name)(data, 0)
    check(result, expected, exact=name in EXACT)
    assert np.isnan(result[1])


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanargmin", "nanargmax", "mean", "max",
                                  "argmin", "argmax", "sum", "std"])
def test_nan_without_all_nan_slices_needs_no_warning(name):
    data = nan_columns()[:, [0, 2, 3]]
    result = getattr(la, name)(data, 0).ndarray(chunk_bytes=TINY, workers=2)
    check(result, numpy_result(name, data, axis=0), exact=name in EXACT)


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax"])
def test_nanargmin_of_an_all_nan_slice_raises_as_numpy(name):
    data = nan_columns()
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        getattr(np, name)(data, 0)
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        getattr(la, name)(data, 0).ndarray(chunk_bytes=TINY, workers=2)
    with pytest.raises(ValueError, match="All-NaN slice encountered"):
        getattr(la, name)(data[:, 1]).ndarray(chunk_bytes=TINY)


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_reductions_over_an_empty_axis_warn_as_numpy(name):
    data = np.zeros((0, 3))
    with pytest.warns(RuntimeWarning):
        expected = getattr(np, name)(data, 0)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice|Degrees of freedom"):
        result = getattr(la, name)(data, 0).ndarray()
    check(result, expected, exact=True)


@pytest.mark.parametrize("name", ["var", "std", "nanvar", "nanstd"])
@pytest.mark.parametrize("ddof", [4, 5, 9])
def test_ddof_at_or_above_the_count_warns_as_numpy(name, ddof):
    data = np.array([[1.0, 2.0, 2.0], [3.0, 2.0, 5.0], [4.0, 2.0, np.nan], [0.0, 2.0, np.nan]])
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"):
        result = getattr(la, name)(data, 0, ddof=ddof).ndarray(chunk_bytes=16)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"), np.errstate(all="ignore"):
        expected = getattr(np, name)(data, 0, ddof=ddof)
    # var gives inf (or NaN for no spread) there, nanvar NaN.
    check(result, expected, exact=True)


@pytest.mark.parametrize("name", ["var", "std", "nanvar", "nanstd"])
@pytest.mark.parametrize("ddof", [0.5, 1.5, -1, np.int8(2)])
def test_ddof_may_be_any_real_number_as_in_numpy(name, ddof):
    data = values((9, 4), 16)
    data[2, 1] = np.nan
    for axis in (0, None):
        result = getattr(la, name)(data, axis, ddof=ddof).ndarray(chunk_bytes=TINY)
        check(result, numpy_result(name, data, axis=axis, ddof=ddof), exact=False)


# -- arg-min / arg-max across tile boundaries ---------------------------------------------


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("axis", [0, 1, None])
@pytest.mark.parametrize("name", ["argmin", "argmax", "nanargmin", "nanargmax"])
def test_arg_extremes_break_ties_and_see_nan_across_tiles(name, axis, workers):
    data = np.tile(np.array([3.0, 1.0, 5.0, 1.0, 5.0, 2.0]), 12).reshape(18, 4)  # ties everywhere
    data[7, 0] = data[15, 0] = np.nan  # NaN in two tiles of column 0
    data[:, 3] = 1.0  # one value: the first wins
    data[10, 2] = np.nan
    result = getattr(la, name)(data, axis).ndarray(chunk_bytes=24, workers=workers)
    check(result, getattr(np, name)(data, axis), exact=True)


def test_arg_extremes_of_integers_and_booleans():
    rng = np.random.default_rng(12)
    for dtype in ("?", "i1", "u8", "i8"):
        data = rng.integers(0, 3, (30, 5)).astype(dtype)
        for name in ("argmin", "argmax", "nanargmin", "nanargmax"):
            for axis in (0, 1, None):
                result = getattr(la, name)(data, axis).ndarray(chunk_bytes=TINY // 4)
                check(result, getattr(np, name)(data, axis), exact=True)


# -- complex data ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["c8", "c16"])
@pytest.mark.parametrize("name", ["var", "std", "nanvar", "mean", "sum", "prod", "nanmean"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_complex_statistics(dtype, name, ddof):
    data = (values((25, 3), 13) + 1j * values((25, 3), 14) + (3 - 2j)).astype(dtype)
    data[4, 1] = np.nan
    kwargs = {"ddof": ddof} if "var" in name or "std" in name else {}
    if name == "prod":
        data = data[:6]
    for axis in (0, None):
        result = getattr(la, name)(data, axis, **kwargs).ndarray(chunk_bytes=TINY)
        check(result, numpy_result(name, data, axis=axis, **kwargs), exact=False)


# -- masked mode: numpy.ma and Biggus's mdtol -------------------------------------------------


def masked_source():
    data = values((24, 5), 15)
    mask = np.zeros(data.shape, bool)
    mask[:, 0] = True  # fully masked
    mask[::2, 1] = True  # half
    mask[:6, 2] = True  # a quarter
    mask[-1, 3] = True  # one
    return np.ma.masked_array(data, mask=mask)


@pytest.mark.parametrize("name", ["mean", "sum", "min", "max", "var", "std", "prod", "ptp",
                                  "count", "any", "all"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_masked_statistics_equal_numpy_ma(name, axis):
    m = masked_source()
    if name == "prod":
        m = m[:8]
    lazy = getattr(la, name)(m, axis)
    [result] = la.masked_arrays([lazy], chunk_bytes=TINY, workers=2)
    with quiet():
        expected = np.ma.asarray(getattr(np.ma, name)(widened(m) if name not in EXACT else m, axis))
    # The declared dtype is numpy's, in both modes (numpy.ma gives float64 for
    # means and variances of float32; lazyarray keeps float32, as numpy.mean does).
    expected = expected.astype(numpy_result(name, m.data, axis=axis).dtype)
    if axis == 0 and name != "count":
        assert np.ma.getmaskarray(result)[0]  # fully masked column: masked
    check_masked(result, expected, exact=name in EXACT)


@pytest.mark.parametrize("mdtol, masked_columns", [
    (0.0, [0, 1, 2, 3]),
    (0.04, [0, 1, 2, 3]),  # 1/24 masked is above 4%
    (0.05, [0, 1, 2]),
    (0.25, [0, 1]),  # exactly a quarter is not above
    (0.5, [0]),
    (0.99, [0]),
    (1.0, [0]),  # only outputs with nothing valid
])
@pytest.mark.parametrize("name", ["mean", "std", "sum", "max"])
def test_mdtol_masks_outputs_whose_masked_fraction_exceeds_it(name, mdtol, masked_columns):
    m = masked_source()
    [result] = la.masked_arrays([getattr(la, name)(m, 0, mdtol=mdtol)], chunk_bytes=TINY)
    wanted = np.zeros(5, bool)
    wanted[masked_columns] = True
    np.testing.assert_array_equal(np.ma.getmaskarray(result), wanted)
    expected = getattr(np.ma, name)(widened(m), 0)
    keep = ~wanted
    np.testing.assert_allclose(result.data[keep], expected.data[keep], rtol=1e-6)


@pytest.mark.parametrize("name", ["mean", "std", "max", "count"])
def test_plain_realisation_of_a_masked_reduction_is_its_masked_result_filled(name):
    m = masked_source()
    lazy = getattr(la, name)(m, 0, mdtol=0.5)
    masked = lazy.masked_array(chunk_bytes=TINY)
    plain = lazy.ndarray(chunk_bytes=TINY)
    # Masked points skipped, outputs masked by mdtol filled with the fill value,
    # as ndarray() of any masked array (not numpy of the filled inputs).
    check(plain, masked.filled(lazy.fill_value), exact=True)


def test_reductions_carry_numpy_mas_fill_values():
    m = np.ma.masked_array(np.arange(12.0).reshape(3, 4), mask=np.eye(3, 4, dtype=bool),
                           fill_value=-99.0)
    for name in ["sum", "mean", "var", "std", "min", "max", "prod", "ptp", "any", "all"]:
        node = getattr(la, name)(la.asarray(m.copy()), 0)
        expected = getattr(np.ma, name)(np.ma.masked_array(m.data, mask=m.mask,
                                                           fill_value=-99.0), 0)
        # numpy.ma's var and std keep their input's fill value; its other
        # reductions have the default of their dtype.
        wanted = -99.0 if name in ("var", "std") else np.ma.default_fill_value(expected)
        assert node.fill_value == wanted == expected.fill_value, name
        assert node.masked_array(chunk_bytes=TINY).fill_value == wanted, name
    ints = np.ma.masked_array(np.arange(6, dtype="i2"), mask=[0, 1, 0, 0, 0, 0], fill_value=-1)
    assert la.var(ints).fill_value == np.float64(-1.0)  # converted to the result's dtype
    assert la.nanstd(ints).fill_value == np.float64(-1.0)  # the nan forms as theirs
    assert la.count(ints).fill_value == la.argmax(ints).fill_value == 999999


@pytest.mark.parametrize("name", ["count", "any", "all", "argmin", "argmax", "nanargmin",
                                  "ptp", "nanprod"])
def test_mdtol_applies_to_every_reduction(name):
    m = masked_source()
    [result] = la.masked_arrays([getattr(la, name)(m, 0, mdtol=0.25)], chunk_bytes=TINY)
    fraction = np.ma.getmaskarray(m).mean(axis=0)
    np.testing.assert_array_equal(np.ma.getmaskarray(result), fraction > 0.25)


def test_count_is_masked_only_by_mdtol():
    m = masked_source()
    [default, strict] = la.masked_arrays([la.count(m, 0), la.count(m, 0, mdtol=0.0)])
    assert not np.ma.getmaskarray(default).any()  # a count of nothing is 0, as numpy.ma's
    np.testing.assert_array_equal(default.data, np.ma.count(m, 0))
    np.testing.assert_array_equal(np.ma.getmaskarray(strict), np.ma.getmaskarray(m).any(0))


@pytest.mark.parametrize("name", ["argmin", "argmax", "nanargmin", "nanargmax"])
def test_positions_of_fully_masked_outputs_are_masked(name):
    # numpy.ma gives 0 there (the position of a masked point); lazyarray masks
    # outputs with no valid input, for every reduction.
    m = masked_source()
    [result] = la.masked_arrays([getattr(la, name)(m, 0)], chunk_bytes=TINY, workers=2)
    expected = getattr(np.ma, name.replace("nan", ""))(m, 0)
    mask = np.ma.getmaskarray(m).all(axis=0)
    np.testing.assert_array_equal(np.ma.getmaskarray(result), mask)
    np.testing.assert_array_equal(result.data[~mask], expected[~mask])
    assert expected[0] == 0 and mask[0]  # the fully masked column


@pytest.mark.parametrize("name", ["nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
                                  "nanprod", "nanargmin", "nanargmax"])
def test_nan_forms_treat_nan_as_masked_in_masked_mode(name):
    data = values((12, 4), 21, dtype="f8")
    data[::3, 1] = np.nan
    data[:, 2] = np.nan  # all NaN: masked, not NaN, not an error
    mask = np.zeros(data.shape, bool)
    mask[1::3, 1] = True
    mask[:, 3] = True  # all masked
    m = np.ma.masked_array(data, mask=mask)
    [result] = la.masked_arrays([getattr(la, name)(m, 0)], chunk_bytes=TINY)
    base = name[3:]
    with quiet():
        expected = getattr(np.ma, base)(np.ma.masked_array(data, mask=mask | np.isnan(data)), 0)
    check_masked(result, np.ma.masked_array(np.ma.getdata(expected).astype(result.dtype),
                                            mask=np.ma.getmaskarray(expected) | [0, 0, 1, 1]),
                 exact=base in EXACT)
    assert np.ma.getmaskarray(result).tolist() == [False, False, True, True]


def test_masked_mode_reduces_without_warnings_about_masked_points():
    # Masked points hold values whose arithmetic warns (inf - inf, overflow in
    # float32 squares); warnings are errors here.
    data = np.array([[np.inf, 1.0], [-np.inf, 2.0], [3e38, 3.0]], dtype="f4")
    m = np.ma.masked_array(data, mask=[[1, 0], [1, 0], [1, 0]])
    results = la.masked_arrays([la.var(m, 0), la.mean(m, 0), la.std(m)], chunk_bytes=8)
    assert np.ma.getmaskarray(results[0]).tolist() == [True, False]
    np.testing.assert_allclose(results[0][1], 2 / 3, rtol=1e-6)


def test_masked_variance_without_degrees_of_freedom_is_masked_as_numpy_ma():
    m = np.ma.masked_array([[1.0, 2.0, 3.0], [3.0, 5.0, 7.0]], mask=[[0, 1, 0], [0, 0, 1]])
    for name in ("var", "std"):
        [result] = la.masked_arrays([getattr(la, name)(m, 0, ddof=1)], chunk_bytes=8)
        check_masked(result, getattr(np.ma, name)(m, 0, ddof=1))


def test_masked_count_is_never_masked():
    m = masked_source()
    [result] = la.masked_arrays([la.count(m, 0)], chunk_bytes=TINY)
    expected = np.ma.count(m, 0)
    assert not np.ma.getmaskarray(result).any()
    check(np.ma.getdata(result), expected, exact=True)
