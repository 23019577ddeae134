"""Tests of :mod:`lazyarray.fused` and :mod:`lazyarray.kernels`: fused reductions.

Every fused statistic computed with ``kernels="numba"`` equals the numpy path
(``kernels="numpy"``): counts, minima, maxima and ranges exactly, sums,
means and variances to tight floating-point tolerance (the kernels sum in
another order), and both equal numpy (plain data) or numpy.ma (masked data)
on the same data, in value, shape and dtype. Further tests check that the
kernels are used exactly when they should be, and the ``kernels`` option.
"""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_masked_graphs import expected_reduction

import lazyarray as la
from lazyarray import fused, kernels
from lazyarray.context import EvaluationContext
from lazyarray.options import get_options

#: Tests that run the kernels: they need numba (the ``lazyarray[fast]`` extra).
needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                 reason="needs numba: pip install lazyarray[fast]")

#: The statistics the kernels compute, and the exact ones among them.
FUSED = ["count", "sum", "nansum", "mean", "nanmean", "var", "nanvar", "std", "nanstd", "min",
         "nanmin", "max", "nanmax", "ptp"]
EXACT = {"count", "min", "nanmin", "max", "nanmax", "ptp"}
VARIANCES = {"var", "nanvar", "std", "nanstd"}
#: The dtypes the kernels take.
DTYPES = [np.dtype(t) for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8")]
#: One of each kind in the parametrized tests of make test: booleans (summed as uint8 into int64, like every narrow
#: integer), the widest unsigned integers (summed in their own dtype) and both
#: floats; the other integers (the same kernel code, each compiled anew: a few
#: seconds of numba per dtype and variant on a new machine) with the slow tests.
FAST_DTYPES = [d for d in DTYPES if d.str[1:] in ("b1", "u8", "f4", "f8")]
#: What the properties of make test draw from: every variant a draw meets is
#: compiled anew on a new machine, and each dtype multiplies the variants; the
#: integers take the same paths in the parametrized tests, and every dtype is
#: drawn by the slow properties.
FLOATS = [np.dtype("f4"), np.dtype("f8")]
EVERY_DTYPE = [d if d in FAST_DTYPES else pytest.param(d, marks=pytest.mark.slow) for d in DTYPES]


@contextlib.contextmanager
def quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture
def kernel_calls(monkeypatch):
    """The (loop, masked, skipnan, extremes, deviations) of every kernel run.

    ``extremes`` and ``deviations`` are arguments of the compiled kernel, the
    others choose which kernel is compiled.
    """
    calls = []
    original = kernels.sweep

    def counted(*flags):
        kernel = original(*flags)

        def run(*args):
            calls.append((*flags, *args[-2:]))
            return kernel(*args)

        return run

    monkeypatch.setattr(kernels, "sweep", counted)
    return calls


@pytest.fixture
def no_numba(monkeypatch):
    """numba made unimportable (as if not installed) for the test."""
    monkeypatch.setitem(sys.modules, "numba", None)
    fused.numba_kernels.cache_clear()
    yield
    fused.numba_kernels.cache_clear()


def sample(dtype, shape, rng, nans):
    """Random data of ``dtype``: the whole range of small integers, NaN at ``nans``."""
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = (max(info.min, -10**12), min(info.max, 10**12)) if dtype.itemsize == 8 else (
            info.min, info.max)
        return rng.integers(low, high, shape, endpoint=True).astype(dtype)
    data = (rng.standard_normal(shape) * 100 + 30).astype(dtype)
    data[nans] = np.nan
    return data


@st.composite
def cases(draw, dtypes=FLOATS):
    """A reduction of random data of one of ``dtypes``, with the options of its evaluation."""
    name = draw(st.sampled_from(FUSED))
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=7))
    ndim = len(shape)
    if draw(st.booleans()):
        axis = draw(st.none() | st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    kwargs = {"keepdims": draw(st.booleans()), "mdtol": draw(st.sampled_from([0.0, 0.3, 1.0]))}
    if name in VARIANCES:
        kwargs["ddof"] = draw(st.sampled_from([0, 1, 2, 0.5]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nan_rate = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    nans = rng.random(shape) < nan_rate
    masked = draw(st.booleans())
    mask = rng.random(shape) < draw(st.sampled_from([0.0, 0.1, 0.6, 1.0])) if masked else None
    if masked and not name.startswith("nan"):
        nans &= mask  # NaN under the mask only: numpy.ma's NaN results are erratic
    data = sample(dtype, shape, rng, nans)
    options = {"chunk_bytes": draw(st.sampled_from([16, 64, 512, 2**20])),
               "workers": draw(st.sampled_from([1, 2]))}
    return name, data, mask, axis, kwargs, options


def evaluate(lazy, masked, **options):
    with quiet():
        return lazy.masked_array(**options) if masked else lazy.ndarray(**options)


def numpy_expected(name, data, axis, kwargs):
    """numpy's result on plain data: its dtype; its values from 64-bit data for floats."""
    options = {k: v for k, v in kwargs.items() if k in ("keepdims", "ddof")}
    func = np.ma.count if name == "count" else getattr(np, name)
    with quiet():
        dtype = np.asarray(func(data, axis=axis, **options)).dtype
        wide = data.astype(np.float64) if data.dtype.kind == "f" and name not in EXACT else data
        return np.asarray(func(wide, axis=axis, **options)).astype(dtype)


def tolerance(name, data):
    """An absolute tolerance for sums, means and variances of ``data``."""
    scale = float(np.nanmax(np.abs(data.astype(np.float64)), initial=1.0))
    if name.endswith(("var", "std")):
        return 1e-9 * scale * (scale if name.endswith("var") else 1.0)
    return 1e-9 * scale * data.size


def state_tolerance(field, block):
    """An absolute tolerance for a state's ``field`` of ``block`` found in another order.

    Sums of n elements of magnitude up to m differ by up to n * n * eps * m
    between orders (numpy sums pairwise, the kernels in lanes); the squared
    deviations from means that differ by that much, by n times its square.
    """
    values = np.ma.getdata(block).astype(np.float64)
    scale = float(np.nanmax(np.abs(values), initial=1.0))
    shift = block.size * block.size * float(np.finfo(np.float64).eps) * scale
    bound = 4 * block.size * shift * shift if field == "m2" else 4 * shift
    # Finite (Python floats overflow to inf): an inf found for a finite value fails.
    return min(max(1e-9, bound), float(np.finfo(np.float64).max))


def overflows_squared(block):
    """Whether ``block`` holds values whose squared deviations from a mean one
    rounding away may overflow float64 (beyond ``kernels.HUGE``)."""
    values = np.ma.getdata(block).astype(np.float64)
    return float(np.nanmax(np.abs(values), initial=0.0)) > kernels.HUGE


def assert_same(actual, expected, exact, atol):
    assert (type(actual), actual.shape, actual.dtype) == (
        type(expected), expected.shape, expected.dtype)
    if isinstance(actual, np.ma.MaskedArray):
        np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
        keep = ~np.ma.getmaskarray(expected)
        actual, expected = np.ma.getdata(actual)[keep], np.ma.getdata(expected)[keep]
    if exact or actual.dtype.kind not in "f":
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=1e-6 if actual.dtype.itemsize < 8 else 1e-9, atol=atol)


# -- the kernels against the numpy path and against numpy ----------------------------------


@needs_numba
@given(cases())
def test_fused_reductions_equal_the_numpy_path_and_numpy(case):
    fused_reduction_case(case)


@pytest.mark.slow
@needs_numba
@given(cases(DTYPES))
def test_fused_reductions_of_every_dtype_equal_the_numpy_path_and_numpy(case):
    fused_reduction_case(case)


def fused_reduction_case(case):
    name, data, mask, axis, kwargs, options = case
    note(f"{name} {data.dtype} {data.shape} axis={axis} {kwargs} {options} masked={mask is not None}")
    if name == "ptp" and data.dtype.kind == "b":
        with pytest.raises(TypeError):
            la.ptp(data)  # numpy refuses it too
        return
    source = data if mask is None else np.ma.masked_array(data, mask=mask)
    lazy = getattr(la, name)(source, axis, **kwargs)
    masked = mask is not None
    fast = evaluate(lazy, masked, kernels="numba", **options)
    slow = evaluate(lazy, masked, kernels="numpy", **options)
    atol = tolerance(name, data)
    assert_same(fast, slow, name in EXACT, atol)
    if masked:
        expected, exact = expected_reduction(name, source, axis, kwargs)
        assert_same(fast, expected, exact or name in EXACT, atol)
    else:
        assert_same(fast, numpy_expected(name, data, axis, kwargs), name in EXACT, atol)


@needs_numba
@pytest.mark.parametrize("dtype", EVERY_DTYPE, ids=str)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, (0, 1), (1, 2), (0, 2), None])
def test_every_statistic_of_one_input_in_one_pass(dtype, axis):
    # Blocks of the executor (strided views along a kept axis) fed to the kernels.
    rng = np.random.default_rng(5)
    data = sample(dtype, (40, 30, 20), rng, rng.random((40, 30, 20)) < 0.05)
    names = [n for n in FUSED if not (n == "ptp" and dtype.kind == "b")]
    source = la.asarray(data)
    lazies = [getattr(la, n)(source, axis) for n in names]
    with quiet():
        fast = la.ndarrays(lazies, kernels="numba", chunk_bytes=8192)
        slow = la.ndarrays(lazies, kernels="numpy", chunk_bytes=8192)
    for name, a, b in zip(names, fast, slow):
        assert_same(a, b, name in EXACT, tolerance(name, data))
        assert_same(a, numpy_expected(name, data, axis, {}), name in EXACT, tolerance(name, data))


@needs_numba
@given(
    hnp.arrays(st.sampled_from(FLOATS),
               hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6)),
    st.data(),
)
def test_block_states_equal_tile_state_for_any_layout(data, draw):
    # Views of every kind (steps, negative steps, transposes, broadcasts),
    # with a mask laid out unlike the data.
    ndim = data.ndim
    key = tuple(draw.draw(st.sampled_from([slice(None), slice(None, None, 2),
                                           slice(None, None, -1)])) for _ in range(ndim))
    block = np.transpose(data, draw.draw(st.permutations(range(ndim))))[key]
    if draw.draw(st.booleans()):
        block = np.broadcast_to(block[:1], block.shape)
    axes = tuple(sorted(draw.draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1))))
    if draw.draw(st.booleans()):
        mask = np.asfortranarray(np.random.default_rng(ndim).random(block.shape) < 0.3)
        block = np.ma.masked_array(block, mask=mask)
    names = [n for n in FUSED if not (n == "ptp" and data.dtype.kind == "b")]
    reductions = [getattr(la, n)(np.ma.zeros(block.shape, block.dtype), axes) for n in names]
    fast_context = EvaluationContext(get_options(kernels="numba"))
    with quiet(), fast_context.sharing_reads():
        fast = fused.tile_states(reductions, block, (0,) * ndim, fast_context)
    slow_context = EvaluationContext()
    with quiet(), slow_context.sharing_reads():
        slow = [r.tile_state(block, (0,) * ndim, slow_context) for r in reductions]
    for name, a, b in zip(names, fast, slow):
        assert type(a) is type(b)  # the same named record
        for field, y in b.arrays().items():
            x = getattr(a, field)
            assert np.broadcast_shapes(x.shape, y.shape) == y.shape
            assert x.dtype == y.dtype
            if name in EXACT or y.dtype.kind != "f":
                np.testing.assert_array_equal(x, np.broadcast_to(y, y.shape) if x.ndim else y)
            elif field == "m2" and overflows_squared(block):
                # Squared deviations from a mean rounded one way or the other
                # may overflow: numpy's own variance of such values is inf or
                # not by its summation order (three values of 7.7e270 give
                # inf, eight give 0). Both are sums of squares still.
                x = np.broadcast_to(x, y.shape)
                np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
                assert not (x < 0).any()
            else:
                np.testing.assert_allclose(np.broadcast_to(x, y.shape), y, rtol=1e-12,
                                           atol=state_tolerance(field, block))


# -- the fused path is taken when it should be -----------------------------------------------


@needs_numba
def test_fused_statistics_do_not_go_through_tile_state(monkeypatch, kernel_calls):
    data = la.asarray(np.random.default_rng(1).standard_normal((50, 40, 30)).astype("f4"))
    lazies = [la.mean(data, 0), la.std(data, 0), la.min(data, 0), la.max(data, 0),
              la.count(data, 0), la.nanvar(data, 0), la.ptp(data, 0), la.sum(data, 0)]
    expected = la.ndarrays(lazies, kernels="numpy")

    def refuse(self, *args, **kwargs):
        raise AssertionError("the numpy path was taken")

    monkeypatch.setattr(la.Aggregation, "tile_state", refuse)
    for got, want, lazy in zip(la.ndarrays(lazies, kernels="numba", chunk_bytes=2**16),
                               expected, lazies):
        exact = lazy.reduction.name in ("min", "max", "count", "ptp")
        assert_same(got, want, exact, 1e-4)
    assert kernel_calls
    # One sweep per block and group (plain statistics, and the nan form).
    assert {flags[2] for flags in kernel_calls} == {False, True}
    assert all(flags[3] and flags[4] for flags in kernel_calls if not flags[2])


@needs_numba
def test_masked_blocks_take_the_masked_kernel(kernel_calls):
    data = np.ma.masked_array(np.arange(600.0).reshape(20, 30), mask=np.arange(600) % 7 == 0)
    lazy = la.asarray(data)
    lazies = [la.mean(lazy, 1), la.max(lazy, 1)]
    fast = la.masked_arrays(lazies, kernels="numba")
    assert kernel_calls and all(flags[1] for flags in kernel_calls)
    np.testing.assert_allclose(fast[0], data.mean(1))
    np.testing.assert_array_equal(fast[1], data.max(1))


@needs_numba
def test_an_all_valid_block_keeps_a_0d_count():
    data = np.arange(24.0).reshape(4, 6)
    plain = np.ma.masked_array(data, mask=np.zeros(data.shape, bool))
    context = EvaluationContext(get_options(kernels="numba"))
    with context.sharing_reads():
        for block, name in [(data, "nanmean"), (plain, "mean"), (plain, "nanvar")]:
            state = fused.tile_states([getattr(la, name)(data, 0)], block, (0, 0), context)[0]
            assert state.count.ndim == 0 and int(state.count) == 4
        masked = np.ma.masked_array(data, mask=data == 5)
        state = fused.tile_states([la.mean(data, 0)], masked, (0, 0), context)[0]
        assert state.count.tolist() == [4, 4, 4, 4, 4, 3]


@needs_numba
@pytest.mark.parametrize("axis", [0, 1])
def test_variance_of_values_near_the_largest_square_is_finite(axis):
    # The kernels merge segments and lanes by Chan's update: the first one
    # with data must not be merged with the empty start (0 * inf is NaN).
    data = np.full((3, 40), 1.5e154)
    data[:, ::3] = 1.25e154
    data[1, 5] = np.nan
    for name in ("var", "nanvar", "std", "nanstd"):
        got = getattr(la, name)(data, axis).ndarray(kernels="numba")
        with quiet():
            expected = getattr(np, name)(data, axis=axis)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-9)


@needs_numba
def test_one_compiled_kernel_serves_every_choice_of_statistics():
    # Whether extremes and deviations are found is an argument of the kernel,
    # not a variant compiled anew (see lazyarray.kernels: compiled variants).
    data = np.random.default_rng(9).standard_normal((12, 40))
    source = la.asarray(data)
    for names in (["mean"], ["std"], ["mean", "min"], ["var", "max", "sum"]):
        got = la.ndarrays([getattr(la, n)(source, 0) for n in names], kernels="numba")
        for name, result in zip(names, got):
            np.testing.assert_allclose(result, getattr(np, name)(data, 0), rtol=1e-12)
    kernel = kernels.sweep("outer", False, False)
    assert [str(sig[0].dtype) for sig in kernel.signatures].count("float64") == 1


@needs_numba
def test_each_state_owns_its_arrays():
    data = np.random.default_rng(2).standard_normal((10, 8))
    data[3, 2] = np.nan
    reductions = [getattr(la, n)(data, 0) for n in FUSED + ["mean", "std", "min", "count"]]
    context = EvaluationContext(get_options(kernels="numba"))
    with context.sharing_reads():
        states = fused.tile_states(reductions, data, (0, 0), context)
    arrays = [a for s in states for a in s.arrays().values()]
    for i, a in enumerate(arrays):
        assert a.base is None or a.ndim == 0
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


@needs_numba
@pytest.mark.parametrize("lazy", [
    la.prod(np.arange(1.0, 7.0).reshape(2, 3), 0),
    la.sum(np.arange(6, dtype="f4").reshape(2, 3), 0, dtype="f8"),
    la.mean(np.arange(6, dtype="f2").reshape(2, 3), 0),
    la.var(np.arange(6, dtype="c16").reshape(2, 3), 0),
    la.argmax(np.arange(6.0).reshape(2, 3), 0),
    la.any(np.arange(6.0).reshape(2, 3), 0),
], ids=["prod", "cast", "float16", "complex", "argmax", "any"])
def test_other_reductions_go_through_numpy(lazy, kernel_calls):
    data = lazy.array.ndarray()
    name = lazy.reduction.name
    options = dict(lazy._options)
    with quiet():
        expected = getattr(np, name)(data, 0, **options)
    assert_same(lazy.ndarray(kernels="numba"), np.asarray(expected), True, 0)
    assert not kernel_calls


@needs_numba
def test_mixed_reductions_of_one_input_share_the_block(kernel_calls):
    data = np.random.default_rng(3).integers(-100, 100, (30, 20)).astype("i1")
    lazy = la.asarray(data)
    lazies = [la.sum(lazy, 0), la.mean(lazy, 0), la.prod(lazy % 3, 0), la.max(lazy, 0),
              la.argmin(lazy, 0)]
    got = la.ndarrays(lazies, kernels="numba")
    np.testing.assert_array_equal(got[0], data.sum(0))
    np.testing.assert_allclose(got[1], data.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(got[2], np.prod(data % 3, 0))
    np.testing.assert_array_equal(got[3], data.max(0))
    np.testing.assert_array_equal(got[4], data.argmin(0))
    # The int64 sum and the float64 one of the mean, found in one kernel run:
    # int8 elements sum exactly in int64, and float64 sums of them are exact.
    assert len(kernel_calls) == 1


@needs_numba
@pytest.mark.parametrize("dtype", ["u1", "i8", *(pytest.param(t, marks=pytest.mark.slow)
                                                 for t in ("i1", "u2", "i4", "u4", "?", "u8"))])
def test_integer_sums_and_means_are_exact_in_one_kernel_run(dtype, kernel_calls):
    # Narrow integers are summed in int64 for sums and means alike (uint64 sums
    # have the same bits); 64-bit ones, whose float64 sums may round, are not.
    rng = np.random.default_rng(7)
    info = np.iinfo(np.uint8 if dtype == "?" else dtype)
    data = rng.integers(max(info.min, -2**62), min(info.max, 2**62), (40, 30), endpoint=True)
    data = data.astype(dtype)
    source = la.asarray(data)  # one input: its statistics share the block
    lazies = [la.sum(source, 1), la.mean(source, 1), la.var(source, 1), la.nansum(source, 0)]
    fast = la.ndarrays(lazies, kernels="numba")
    slow = la.ndarrays(lazies, kernels="numpy")
    for got, want in zip(fast, slow):
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(fast[0], data.sum(1))
    np.testing.assert_array_equal(fast[3], data.sum(0))
    wide = data.astype(np.float64)
    if dtype not in ("i8", "u8"):
        # Exact float64 sums: the mean is the exact sum divided, as numpy's.
        np.testing.assert_array_equal(fast[1], data.astype(np.int64).sum(1) / data.shape[1])
    np.testing.assert_allclose(fast[1], wide.mean(1), rtol=1e-12)
    np.testing.assert_allclose(fast[2], wide.var(1), rtol=1e-9)
    runs_along_1 = [c for c in kernel_calls if c[0] == "inner"]
    assert len(runs_along_1) == (2 if dtype in ("i8", "u8") else 1)


@needs_numba
def test_short_rows_of_many_outputs_are_swept_as_rows_of_outputs(kernel_calls):
    # A reduction over a last axis shorter than blocklayout.SHORT: the block
    # is copied with the reduced axis first, and the "outer" loop runs over
    # its outputs (the "inner" loop would set up lanes for each short row).
    rng = np.random.default_rng(3)
    data = (rng.standard_normal((500, 10)) * 3 + 100).astype(np.float32)
    x = la.asarray(data)
    mean, std, low = la.ndarrays([la.mean(x, 1), la.std(x, 1), la.min(x, 1)], kernels="numba")
    assert {call[0] for call in kernel_calls} == {"outer"}
    wide = data.astype(np.float64)
    np.testing.assert_allclose(mean, wide.mean(1), rtol=1e-6)
    np.testing.assert_allclose(std, wide.std(1), rtol=1e-5)
    np.testing.assert_array_equal(low, data.min(1))


# -- the kernels option -------------------------------------------------------------------------


@needs_numba
def test_numpy_kernels_never_run_the_kernels(kernel_calls):
    data = np.random.default_rng(4).standard_normal((20, 30))
    result = la.std(data, 1).ndarray(kernels="numpy")
    np.testing.assert_allclose(result, data.std(1))
    assert not kernel_calls
    # Under "auto", evaluations reducing less than FIRST_KERNEL_BYTES use numpy too.
    np.testing.assert_array_equal(la.std(data, 1).ndarray(kernels="auto"), result)
    assert not kernel_calls
    la.std(data, 1).ndarray(kernels="numba")
    assert kernel_calls


@needs_numba
def test_auto_chooses_the_kernels_per_evaluation_from_what_it_reduces(kernel_calls):
    # The executor cuts tiles into blocks of a megabyte or less: the choice is
    # the evaluation's (fused.kernels_for), so a big one still uses the kernels.
    big = np.random.default_rng(2).standard_normal((1100, 512))  # 4.5 MB
    assert big.nbytes >= fused.FIRST_KERNEL_BYTES
    np.testing.assert_allclose(la.std(big, 0).ndarray(chunk_bytes=2**20), big.std(0),
                               rtol=1e-10)
    assert kernel_calls
    kernel_calls.clear()
    small = big[:100]
    np.testing.assert_allclose(la.std(small, 0).ndarray(chunk_bytes=2**15), small.std(0),
                               rtol=1e-10)
    assert not kernel_calls


def test_auto_uses_numpy_without_numba(no_numba, kernel_calls):
    data = np.random.default_rng(4).standard_normal((20, 30))
    np.testing.assert_allclose(la.mean(data, 0).ndarray(), data.mean(0))
    assert not kernel_calls


def test_numba_kernels_without_numba_say_what_to_install(no_numba):
    with pytest.raises(ImportError, match=r"pip install lazyarray\[fast\]"):
        la.mean(np.ones((3, 4)), 0).ndarray(kernels="numba")


def test_importing_lazyarray_does_not_import_numba():
    code = "import sys, lazyarray; print('numba' in sys.modules, 'lazyarray.kernels' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- block layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, key, axes, expected", [
    ((4, 5, 6), (), (0,), (1, 4, 30, 0, 30)),
    ((4, 5, 6), (), (2,), (20, 6, 1, 6, 1)),
    ((4, 5, 6), (), (0, 1, 2), (1, 120, 1, 0, 1)),
    ((4, 5, 6), (), (1,), (4, 5, 6, 30, 6)),
    ((4, 5, 6), (slice(None), slice(1, 3)), (0,), (1, 4, 12, 0, 30)),
    ((4, 5, 6), (slice(None), slice(1, 3)), (1, 2), (4, 12, 1, 30, 1)),
    ((4, 1, 6), (), (0, 2), (1, 24, 1, 0, 1)),  # adjacent once the length-1 axis is dropped
    ((4, 5, 6), (), (0, 2), None),  # a kept axis between reduced ones
    ((4, 5, 6), (slice(None), slice(None), slice(None, None, 2)), (0,), None),
    ((4, 5, 6), (slice(None, None, -1),), (0,), None),
])
def test_block_layout(shape, key, axes, expected):
    block = np.zeros(shape, "f4")[key]
    layout = fused.block_layout(block, axes)
    if expected is None:
        assert layout is None
    else:
        assert layout == fused.BlockLayout(*expected)


@needs_numba
@pytest.mark.parametrize("names, masked, fused_", [
    (["min", "max"], False, False),  # numpy's own minimum and maximum are faster
    (["ptp", "count"], False, False),
    (["nanmin", "nanmax"], False, True),
    (["max"], True, True),
    (["min", "mean"], False, True),
])
def test_plain_extremes_alone_stay_with_numpy(names, masked, fused_, kernel_calls):
    data = np.random.default_rng(6).standard_normal((30, 40))
    data[2, 3] = np.nan
    source = np.ma.masked_array(data, mask=data > 1) if masked else data
    lazy = la.asarray(source)
    lazies = [getattr(la, n)(lazy, 1) for n in names]
    got = la.masked_arrays(lazies, kernels="numba") if masked else la.ndarrays(lazies,
                                                                               kernels="numba")
    for name, result in zip(names, got):
        func = np.ma.count if name == "count" else getattr(np.ma if masked else np, name)
        expected = np.asarray(func(source, 1)) if not masked else func(source, 1)
        np.testing.assert_allclose(np.ma.getdata(result), np.ma.getdata(expected), rtol=1e-12)
    assert bool(kernel_calls) == fused_


# -- running states updated in place (kernels.into) ----------------------------------------


@st.composite
def long_reductions(draw, dtypes=FLOATS):
    """Statistics of one input over a long axis 0, in tiles of a few rows: the tiles of a
    task are added into running states by :func:`lazyarray.fused.accumulate`."""
    dtype = draw(st.sampled_from(dtypes))
    rows = draw(st.integers(130, 260))  # 32 tiles or more along the axis make tasks
    shape = (rows, *draw(st.sampled_from([(24,), (4, 9), (33,)])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nans = rng.random(shape) < draw(st.sampled_from([0.0, 0.2]))
    offset = draw(st.sampled_from([0.0, 1e6]))
    data = sample(dtype, shape, rng, nans)
    if dtype.kind == "f":
        data = (data + offset).astype(dtype)
    mask = None
    if draw(st.booleans()):
        mask = rng.random(shape) < draw(st.sampled_from([0.1, 0.9]))
        mask[: rows // 2] |= draw(st.booleans())  # outputs masked in whole tasks too
    names = draw(st.lists(st.sampled_from([n for n in FUSED if n != "ptp"]), min_size=1,
                          max_size=4, unique=True))
    itemsize = data.dtype.itemsize * int(np.prod(shape[1:]))
    # Tiles of 2 to 4 rows (a block of one row is no reduction along the axis).
    options = {"chunk_bytes": itemsize * draw(st.integers(2, 4)),
               "workers": draw(st.sampled_from([1, 2]))}
    return names, data, mask, options


@needs_numba
@settings(max_examples=6)  # each example compiles a few kernels on a new machine (~3 s)
@given(long_reductions())
def test_running_states_updated_in_place_equal_the_numpy_path_and_numpy(case):
    running_states_case(case)


@pytest.mark.slow
@needs_numba
@settings(max_examples=40)  # each example runs two evaluations of a few hundred tiles
@given(long_reductions(DTYPES))
def test_running_states_updated_in_place_in_many_more_cases(case):
    running_states_case(case)


def running_states_case(case):
    names, data, mask, options = case
    note(f"{names} {data.dtype} {data.shape} {options} masked={mask is not None}")
    used = []
    original = kernels.into

    def counted(*flags):
        kernel = original(*flags)

        def run(*args):
            used.append(flags)
            return kernel(*args)

        return run

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "into", counted)
        check_running_states(names, data, mask, options)
    # Unmasked counts and extremes without NaN to skip go to numpy (see tile_states).
    plain_extremes = mask is None and all(
        n.removeprefix("nan") in ("count", "min", "max")
        and not (n.startswith("nan") and data.dtype.kind == "f")
        for n in names
    )
    if not plain_extremes:
        assert used, "no tile was added into running states in place"


def check_running_states(names, data, mask, options):
    source = data if mask is None else np.ma.masked_array(data, mask=mask)
    masked = mask is not None
    lazies = [getattr(la, name)(source, 0) for name in names]
    with quiet():
        run = la.masked_arrays if masked else la.ndarrays
        fast = run(lazies, kernels="numba", **options)
        slow = run(lazies, kernels="numpy", **options)
    for name, got, numpy_path in zip(names, fast, slow):
        atol = tolerance(name, data)
        assert_same(got, numpy_path, name in EXACT, atol)
        if masked:
            expected, exact = expected_reduction(name, source, 0, {"mdtol": 1.0, "keepdims": False})
            assert_same(got, expected, exact or name in EXACT, atol)
        else:
            assert_same(got, numpy_expected(name, data, 0, {}), name in EXACT, atol)


@needs_numba
@pytest.mark.parametrize("form", ["plain", "nan", "masked"])
def test_rows_longer_than_a_segment_reduce_in_one_sweep_to_numpy_s_values(form, kernel_calls):
    # Reductions over the inner axes of whole planes: each row holds several
    # segments, whose squared deviations are merged (kernels.SEGMENT).
    rng = np.random.default_rng(11)
    length = 3 * kernels.SEGMENT + 77
    data = (rng.standard_normal((3, length)) * 5 + 1000).astype(np.float32)
    if form == "nan":
        data[:, ::97] = np.nan
    x = la.asarray(data)
    if form == "masked":
        mask = rng.random(data.shape) < 0.2
        x = la.asarray(np.ma.masked_array(data, mask=mask))
    mean_of = {"plain": la.mean, "nan": la.nanmean, "masked": la.mean}[form]
    std_of = {"plain": la.std, "nan": la.nanstd, "masked": la.std}[form]
    mean, std = la.ndarrays([mean_of(x, 1), std_of(x, 1, ddof=1)], kernels="numba")
    assert {call[0] for call in kernel_calls} == {"inner"}
    wide = data.astype(np.float64)
    if form == "masked":
        wide = np.ma.masked_array(wide, mask=mask)
    expected_mean = (np.nanmean if form == "nan" else np.ma.mean)(wide, axis=1)
    expected_std = (np.nanstd if form == "nan" else np.ma.std)(wide, axis=1, ddof=1)
    np.testing.assert_allclose(mean, np.ma.filled(expected_mean), rtol=1e-7)
    np.testing.assert_allclose(std, np.ma.filled(expected_std), rtol=1e-6)
    # A mean has the same bits alone and beside a variance.
    np.testing.assert_array_equal(mean_of(x, 1).ndarray(kernels="numba"), mean)
