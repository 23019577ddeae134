"""Tests of :mod:`lazyarray.accumulators`: each statistic as chunk, combine, finalise.

The property: cut an array along the reduced axes into random pieces, ``chunk``
each, ``combine`` the states in C order (and, as every merge here is
commutative, in a random order), ``finalise``; the result equals the one-chunk
result and numpy's. Exact statistics (counts, integer sums, extremes and their
positions, truth values) must be equal; float ones equal to rounding, against
a float64 reference. States are named records: ``combine`` leaves its
arguments as they were (``spend=True``, the executor's in-place form, gives
the same bits), and a state pickles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
import pickle
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray.accumulators as acc
from lazyarray.context import EvaluationContext

# accumulator -> (numpy function, exact?) ; ``None`` for the statistics numpy has no name for.
NUMPY = {
    acc.Count: (None, True),
    acc.Sum: (np.sum, True),
    acc.Prod: (np.prod, True),
    acc.Mean: (np.mean, False),
    acc.Var: (np.var, False),
    acc.Min: (np.min, True),
    acc.Max: (np.max, True),
    acc.Ptp: (np.ptp, True),
    acc.AnyTrue: (np.any, True),
    acc.AllTrue: (np.all, True),
    acc.ArgMin: (np.argmin, True),
    acc.ArgMax: (np.argmax, True),
}
POSITIONAL = (acc.ArgMin, acc.ArgMax)
DTYPES = ("?", "i1", "i8", "u1", "u8", "f4", "f8", "c16")


# -- helpers -------------------------------------------------------------------


def pieces(shape, axes, cuts):
    """The blocks of an array of ``shape`` cut at ``cuts[axis]`` along each
    reduced axis (kept axes whole), in C order: (slices, origin) pairs."""
    bounds = []
    for axis, n in enumerate(shape):
        edges = [0, *sorted(set(cuts.get(axis, ()))), n] if axis in axes else [0, n]
        bounds.append(list(itertools.pairwise(edges)))
    for block in itertools.product(*bounds):
        yield tuple(slice(a, b) for a, b in block), tuple(a for a, _ in block)


def states(accumulator, data, valid, axes, cuts):
    """The partial state of every piece, in C order."""
    out = []
    for region, origin in pieces(data.shape, axes, cuts):
        part_valid = None if valid is None else valid[region]
        out.append(accumulator.chunk(data[region], part_valid, axes, origin, data.shape))
    return out


def fold(accumulator, parts, spend=False):
    """Combine ``parts`` left to right and finalise. With ``spend`` (the
    executor's in-place merge) the states are spent: a list is folded once only."""
    merged = functools.reduce(lambda a, b: accumulator.combine(a, b, spend=spend), parts)
    return accumulator.finalise(merged)


def broadcasts_to(state, shape):
    """Each array of ``state`` is output-shaped, or (counts) broadcasts to it."""
    return all(np.broadcast_shapes(item.shape, shape) == shape for item in state.arrays().values())


def assert_same_state(actual, expected):
    """The same record type, and the same arrays field by field: shapes, dtypes and bits."""
    assert type(actual) is type(expected)
    for field, want in expected.arrays().items():
        got = getattr(actual, field)
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want, strict=True)


@contextlib.contextmanager
def quiet():
    """numpy's warnings off: they are not what a reference is computed for."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def widened(data):
    """``data`` in float64 / complex128 when it is floating, as accumulators sum."""
    if data.dtype.kind == "f":
        return data.astype(np.float64)
    if data.dtype.kind == "c":
        return data.astype(np.complex128)
    return data


def numpy_reference(kind, data, axes, ddof=0):
    """numpy's value of statistic ``kind`` over ``axes``; sums, products, means
    and variances of floats in float64 (complex128), the others in the data's dtype."""
    func, _ = NUMPY[kind]
    if kind is acc.Count:
        return np.full(tuple(n for i, n in enumerate(data.shape) if i not in axes),
                       math.prod(data.shape[a] for a in axes), np.int64)
    if kind in (acc.Sum, acc.Prod, acc.Mean, acc.Var):
        data = widened(data)
    with quiet():
        if kind in POSITIONAL:
            return func(data, axis=axes[0] if len(axes) < data.ndim else None)
        return func(data, axis=axes, **({"ddof": ddof} if kind is acc.Var else {}))


def is_exact(kind, dtype):
    """Whether ``kind`` of ``dtype`` data must be exact: all but float sums,
    products, means and variances (rounding depends on the order of merges)."""
    if kind in (acc.Mean, acc.Var):
        return False
    return not (kind in (acc.Sum, acc.Prod) and np.dtype(dtype).kind in "fc")


def check_equal(actual, expected, exact):
    """Same shape and dtype, and values equal (``exact``) or to rounding; NaN
    equals NaN. (Finalised results are in the accumulation dtype, which is
    numpy's dtype for the data widened to 64 bits.)"""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12)


@st.composite
def data_and_axes(draw, kinds=tuple(NUMPY), dtypes=DTYPES, nan=True):
    """An accumulator, an array, axes to reduce and cuts along them."""
    kind = draw(st.sampled_from(kinds))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if kind is acc.Ptp and dtype == bool:
        dtype = np.dtype("i1")  # numpy has no ptp of booleans (no subtract)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    # Small values: products of a few of them fit every integer dtype, and
    # repeats make ties for arg-min/max. Floats get NaN and infinities too.
    if dtype == bool:
        elements = st.booleans()
    elif dtype.kind in "iu":
        elements = st.integers(0 if dtype.kind == "u" else -2, 2)
    else:
        values = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
        if nan:
            values += [np.nan, np.inf, -np.inf]
        elements = st.sampled_from(values)
    data = draw(hnp.arrays(dtype, shape, elements=elements))
    if dtype.kind == "c":
        data = data + 1j * draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0])))
    if kind in POSITIONAL and draw(st.booleans()):
        axes = tuple(range(len(shape)))  # flat position
    elif kind in POSITIONAL:
        axes = (draw(st.integers(0, len(shape) - 1)),)
    else:
        axes = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    cuts = {a: draw(st.lists(st.integers(1, max(shape[a] - 1, 1)), max_size=3)) for a in axes}
    cuts = {a: [c for c in cs if 0 < c < shape[a]] for a, cs in cuts.items()}
    return kind, data, axes, cuts


def make(kind, dtype, ddof=0):
    # The dtype an accumulator is built for is the one numpy reduces in
    # (aggregation.py passes float64 for means of integers, as numpy.mean does).
    if kind is acc.Mean and np.dtype(dtype).kind in "biu":
        dtype = np.float64
    return kind(np.dtype(dtype), ddof=ddof)


# -- the property --------------------------------------------------------------


@settings(max_examples=150)
@given(case=data_and_axes(), ddof=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_any_split_combined_in_any_order_equals_one_chunk_and_numpy(case, ddof, seed):
    kind, data, axes, cuts = case
    accumulator = make(kind, data.dtype, ddof)
    exact = is_exact(kind, data.dtype)
    with np.errstate(all="ignore"):
        whole = fold(accumulator, states(accumulator, data, None, axes, {}))
        parts = states(accumulator, data, None, axes, cuts)
        assert all(broadcasts_to(part, np.shape(whole)) for part in parts)
        in_order = fold(accumulator, parts)
        spent = fold(accumulator, states(accumulator, data, None, axes, cuts), spend=True)
        parts = states(accumulator, data, None, axes, cuts)
        random.Random(seed).shuffle(parts)
        shuffled = fold(accumulator, parts)
    expected = numpy_reference(kind, data, axes, ddof)
    np.testing.assert_array_equal(spent, in_order, strict=True)  # in place: the same bits
    check_equal(in_order, whole, exact)
    check_equal(shuffled, whole, exact)
    check_equal(whole, expected, exact)


@pytest.mark.parametrize("kind", [acc.Sum, acc.Mean, acc.Var, acc.Min, acc.Max, acc.ArgMin, acc.ArgMax])
def test_one_chunk_state_shapes_and_dtypes(kind):
    data = np.arange(24, dtype="i2").reshape(2, 3, 4)
    axes, shape = ((0, 2), (3,)) if kind not in POSITIONAL else ((2,), (2, 3))
    state = make(kind, data.dtype).chunk(data, None, axes, (0, 0, 0), data.shape)
    assert broadcasts_to(state, shape)
    assert all(item.shape == shape for field, item in state.arrays().items() if field != "count")
    assert state.count.dtype == np.int64 and state.count.ndim == 0  # every input valid
    record, field, wanted = {
        acc.Sum: (acc.SumState, "total", np.int64), acc.Mean: (acc.SumState, "total", np.float64),
        acc.Var: (acc.VarState, "mean", np.float64), acc.Min: (acc.ExtremeState, "value", np.int16),
        acc.Max: (acc.ExtremeState, "value", np.int16), acc.ArgMin: (acc.ArgState, "value", np.int16),
        acc.ArgMax: (acc.ArgState, "value", np.int16),
    }[kind]
    assert type(state) is record
    assert getattr(state, field).dtype == wanted  # partials in 64 bits, extremes exact


# -- validity: NaN as missing (the nan functions) and masks (numpy.ma) ----------

NAN_FUNCTIONS = {acc.Sum: np.nansum, acc.Mean: np.nanmean, acc.Var: np.nanvar, acc.Min: np.nanmin,
                 acc.Max: np.nanmax, acc.ArgMin: np.nanargmin, acc.ArgMax: np.nanargmax}


@settings(max_examples=120)
@given(case=data_and_axes(kinds=(*NAN_FUNCTIONS, acc.Count), dtypes=("f4", "f8")),
       ddof=st.integers(0, 1))
def test_nan_as_invalid_equals_the_nan_functions(case, ddof):
    kind, data, axes, cuts = case
    valid = ~np.isnan(data)
    accumulator = make(kind, data.dtype, ddof)
    with np.errstate(all="ignore"):
        result = np.asarray(fold(accumulator, states(accumulator, data, valid, axes, cuts)))
    count = np.count_nonzero(valid, axis=axes)
    if kind is acc.Count:
        check_equal(result, count, True)
        return
    with quiet():
        if kind in POSITIONAL:
            # numpy's rule: NaN read as +inf for nanargmin, -inf for nanargmax. It
            # raises for all-NaN slices, which the caller decides from the count.
            filled = np.where(valid, data, np.inf if kind is acc.ArgMin else -np.inf)
            expected = NUMPY[kind][0](filled, axis=axes[0] if len(axes) < data.ndim else None)
        else:
            source = widened(data) if kind in (acc.Sum, acc.Mean, acc.Var) else data
            options = {"ddof": ddof} if kind is acc.Var else {}
            expected = np.asarray(NAN_FUNCTIONS[kind](source, axis=axes, **options))
    keep = count > (ddof if kind is acc.Var else 0)
    assert result.shape == np.shape(expected)
    check_equal(result[keep], np.asarray(expected)[keep], is_exact(kind, data.dtype))
    if kind in (acc.Min, acc.Max):
        assert np.isnan(result[~keep]).all()  # nothing valid: NaN, as nanmin gives


MASKED_FUNCTIONS = {acc.Sum: np.ma.sum, acc.Prod: np.ma.prod, acc.Mean: np.ma.mean, acc.Var: np.ma.var,
                    acc.Min: np.ma.min, acc.Max: np.ma.max, acc.Ptp: np.ma.ptp,
                    acc.AnyTrue: np.ma.any, acc.AllTrue: np.ma.all, acc.Count: np.ma.count}


@settings(max_examples=120)
@given(case=data_and_axes(kinds=tuple(MASKED_FUNCTIONS), nan=False), ddof=st.integers(0, 1),
       data=st.data())
def test_a_mask_as_invalid_equals_numpy_ma(case, ddof, data):
    kind, values, axes, cuts = case
    valid = data.draw(hnp.arrays(bool, values.shape), label="valid")
    accumulator = make(kind, values.dtype, ddof)
    with np.errstate(all="ignore"):
        result = np.asarray(fold(accumulator, states(accumulator, values, valid, axes, cuts)))
    masked = np.ma.masked_array(widened(values) if kind in (acc.Sum, acc.Prod, acc.Mean, acc.Var)
                                else values, mask=~valid)
    with quiet():
        options = {"ddof": ddof} if kind is acc.Var else {}
        expected = MASKED_FUNCTIONS[kind](masked, axis=axes, **options)
        # The dtype of the unmasked result: numpy.ma's all-masked constant is float64.
        dtype = np.asarray(MASKED_FUNCTIONS[kind](masked.data, axis=axes, **options)).dtype
    count = np.count_nonzero(valid, axis=axes)
    keep = count > (ddof if kind is acc.Var else 0)
    assert result.shape == np.shape(expected)
    # numpy.ma masks the outputs with nothing valid (or no degrees of freedom).
    np.testing.assert_array_equal(np.ma.getmaskarray(expected), ~keep if kind is not acc.Count else False)
    check_equal(result[keep], np.ma.getdata(expected).astype(dtype)[keep], is_exact(kind, values.dtype))


# -- Chan, Golub and LeVeque: the variance merge is stable -----------------------


@pytest.mark.parametrize("pieces_count", [1, 7, 100])
@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_variance_of_data_with_a_large_mean_is_stable(pieces_count, dtype):
    rng = np.random.default_rng(42)
    offset = 1e9 if dtype == "f8" else 1e4
    data = (offset + rng.standard_normal((1000, 3))).astype(dtype)
    wide = data.astype(np.float64)
    # Two-pass float64 reference: the mean first, then the squared deviations.
    reference = np.mean((wide - wide.mean(axis=0)) ** 2, axis=0)
    if dtype == "f8":
        # The sum-of-squares formula loses everything here; the test would see it.
        naive = np.mean(wide**2, axis=0) - np.mean(wide, axis=0) ** 2
        assert not np.allclose(naive, reference, rtol=1e-3)
    accumulator = acc.Var(np.dtype(dtype))
    cuts = {0: list(np.linspace(0, 1000, pieces_count + 1).astype(int)[1:-1])}
    result = fold(accumulator, states(accumulator, data, None, (0,), cuts))
    np.testing.assert_allclose(result, reference, rtol=1e-6)
    np.testing.assert_allclose(result, np.var(wide, axis=0), rtol=1e-6)


def test_variance_merge_of_states_with_no_valid_input():
    accumulator = acc.Var(np.dtype("f8"), ddof=1)
    data = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    valid = ~np.isnan(data)
    with np.errstate(all="ignore"):
        result = fold(accumulator, states(accumulator, data, valid, (0,), {0: [1, 2]}))
        merged = functools.reduce(accumulator.combine, states(accumulator, data, valid, (0,), {0: [1, 2]}))
    np.testing.assert_array_equal(result[:1], [2.0])
    assert np.isnan(result[1])  # 0 / 0: no degrees of freedom, the caller warns
    np.testing.assert_array_equal(merged.count, [2, 0])


@pytest.mark.parametrize("spend", [False, True])
def test_variance_of_values_near_the_largest_square_merges_with_empty_states(spend):
    # A mean beyond sqrt(float64 max) squares to inf; merged with a state that
    # has no valid input (weight 0) it must not give inf * 0 = NaN.
    accumulator = acc.Var(np.dtype("f8"))
    data = np.array([[np.nan, 1.5e154], [np.nan, 1.5e154], [1.4e154, 1.5e154],
                     [1.3e154, 1.5e154]])
    valid = ~np.isnan(data)
    pieces = states(accumulator, data, valid, (0,), {0: [1, 2, 3]})
    merged = functools.reduce(functools.partial(accumulator.combine, spend=spend), pieces)
    with np.errstate(all="ignore"):
        expected = np.nanvar(data, axis=0)
    np.testing.assert_allclose(accumulator.finalise(merged), expected, rtol=1e-12)


def test_complex_variance_is_real_and_uses_the_modulus():
    data = np.array([1 + 1j, -1 - 1j, 2j, 3 + 0j, -2 + 1j], np.complex128)
    accumulator = acc.Var(data.dtype, ddof=1)
    result = fold(accumulator, states(accumulator, data, None, (0,), {0: [1, 3]}))
    expected = np.var(data, ddof=1)
    assert np.isrealobj(result) and expected.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-12)


# -- arg-min / arg-max: ties and NaN across pieces --------------------------------


@pytest.mark.parametrize(
    "kind, values, expected",
    [
        (acc.ArgMin, [3, 1, 2, 1, 1], 1),  # the first of equal minima
        (acc.ArgMax, [3, 1, 3, 3, 0], 0),
        (acc.ArgMin, [3, np.nan, 2, np.nan, 0], 1),  # the first NaN is the extreme
        (acc.ArgMax, [3, 4, 2, np.nan, 9], 3),
        (acc.ArgMin, [np.inf, np.inf, np.inf, np.inf, np.inf], 0),
        (acc.ArgMax, [-np.inf, -np.inf, -np.inf, -np.inf, -np.inf], 0),
    ],
)
@pytest.mark.parametrize("cuts", [[], [1], [2], [1, 2, 3, 4]])
def test_positions_break_ties_and_nan_as_numpy(kind, values, expected, cuts):
    data = np.array(values, np.float64)
    accumulator = kind(data.dtype)
    in_order = fold(accumulator, states(accumulator, data, None, (0,), {0: cuts}))
    backwards = fold(accumulator, states(accumulator, data, None, (0,), {0: cuts})[::-1])
    assert int(in_order) == expected == NUMPY[kind][0](data)
    assert int(backwards) == expected  # the position decides ties


def test_positions_along_one_axis_are_in_the_whole_array():
    data = np.array([[5, 1, 7], [0, 9, 7], [0, 9, 2], [4, 9, 8]], np.int32)
    for kind in (acc.ArgMin, acc.ArgMax):
        accumulator = kind(data.dtype)
        parts = states(accumulator, data, None, (0,), {0: [1, 2, 3]})
        result = fold(accumulator, parts)
        assert result.dtype == np.intp
        np.testing.assert_array_equal(result, NUMPY[kind][0](data, axis=0))


@pytest.mark.parametrize("kind", [acc.Min, acc.Max, acc.Ptp, acc.Sum, acc.Mean, acc.Var, acc.ArgMin, acc.ArgMax])
@pytest.mark.parametrize("cuts", [[1], [2], [3], [1, 3]])
@pytest.mark.parametrize("at", [0, 2, 3])
def test_nan_in_any_piece_propagates_as_in_numpy(kind, cuts, at):
    data = np.array([[1.0, 5.0], [-2.0, 4.0], [7.0, 3.0], [0.5, 6.0]])
    data[at, 0] = np.nan
    accumulator = kind(data.dtype)
    with np.errstate(invalid="ignore"):
        result = fold(accumulator, states(accumulator, data, None, (0,), {0: cuts}))
        reversed_order = fold(accumulator, states(accumulator, data, None, (0,), {0: cuts})[::-1])
    expected = numpy_reference(kind, data, (0,))
    check_equal(result, expected, is_exact(kind, data.dtype))
    check_equal(reversed_order, expected, is_exact(kind, data.dtype))


def test_tile_sums_shared_within_a_tile_never_alias_freed_arrays():
    # Mean and variance share one tile sum through the context's shared reads. Arrays freed
    # within the tile (casts, masks) must not pass for later ones reusing
    # their ids: CPython reuses the memory of the first np.full at once.
    context = EvaluationContext()
    with context.sharing_reads():
        accumulator = acc.Sum(np.dtype("i8"))
        first = accumulator.chunk(np.full(3, 1), None, (0,), context=context)
        second = accumulator.chunk(np.full(3, 2), None, (0,), context=context)
        mean = acc.Mean(np.dtype("f8"))
        data = np.arange(4.0)
        left = mean.chunk(data, np.array([True, True, False, False]), (0,), context=context)
        right = mean.chunk(data, np.array([False, False, True, True]), (0,), context=context)
    check_equal(first.total, np.int64(3), True)
    check_equal(second.total, np.int64(6), True)
    check_equal(mean.finalise(left), np.float64(0.5), True)
    check_equal(mean.finalise(right), np.float64(2.5), True)


# -- states: combine leaves its arguments as they were; states pickle ------------


@settings(max_examples=100)
@given(case=data_and_axes(), masked=st.booleans(), ddof=st.integers(0, 1), data=st.data())
def test_combine_leaves_both_states_unchanged(case, masked, ddof, data):
    # An engine may retry a merge or feed one state to two consumers: the
    # arguments of combine must come out as they went in, for every
    # accumulator, 0-d counts (all valid) and output-shaped ones (masked) alike.
    kind, values, axes, cuts = case
    valid = data.draw(hnp.arrays(bool, values.shape), label="valid") if masked else None
    accumulator = make(kind, values.dtype, ddof)
    with np.errstate(all="ignore"):
        parts = states(accumulator, values, valid, axes, cuts)
        if len(parts) == 1:
            parts = parts * 2  # one state merged with itself: nothing may be written
        copies = [copy_state(p) for p in parts]
        merged = functools.reduce(accumulator.combine, parts)
        again = functools.reduce(accumulator.combine, parts)
        for part, before in zip(parts, copies):
            assert_same_state(part, before)
        assert_same_state(again, merged)  # a retried merge gives the same state
        owned = functools.reduce(lambda a, b: accumulator.combine(a, b, spend=True), copies)
    assert_same_state(owned, merged)  # the in-place form: the same bits
    for field, array in merged.arrays().items():
        for part in parts:
            assert not np.shares_memory(array, getattr(part, field)), field


def copy_state(state):
    """A deep copy of ``state``: its record type, with copies of its arrays."""
    return type(state)(**{field: np.array(a, copy=True) for field, a in state.arrays().items()})


@pytest.mark.parametrize("kind", list(NUMPY))
def test_a_state_pickles_and_round_trips(kind):
    data = np.arange(24, dtype="f8").reshape(2, 3, 4) - 7.5
    valid = data % 3 != 0
    accumulator = make(kind, data.dtype, ddof=1)
    axes = (1,) if kind in POSITIONAL else (0, 2)
    state = accumulator.chunk(data, valid, axes, (0, 0, 0), data.shape)
    copy = pickle.loads(pickle.dumps(state))
    assert_same_state(copy, state)
    assert next(iter(copy.arrays())) == "count"
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(accumulator.finalise(copy), accumulator.finalise(state))


def test_states_are_named_records():
    data = np.arange(6.0).reshape(2, 3)
    found = {kind: make(kind, data.dtype).chunk(data, None, (0,), (0, 0), data.shape)
             for kind in NUMPY}
    fields = {kind: tuple(state.arrays()) for kind, state in found.items()}
    assert fields == {
        acc.Count: ("count",), acc.Sum: ("count", "total"), acc.Prod: ("count", "product"),
        acc.Mean: ("count", "total"), acc.Var: ("count", "mean", "m2"),
        acc.Min: ("count", "value"), acc.Max: ("count", "value"),
        acc.Ptp: ("count", "low", "high"), acc.AnyTrue: ("count", "value"),
        acc.AllTrue: ("count", "value"), acc.ArgMin: ("count", "value", "position"),
        acc.ArgMax: ("count", "value", "position"),
    }
    np.testing.assert_array_equal(found[acc.Var].m2, [4.5, 4.5, 4.5])
    state = found[acc.Sum]
    with pytest.raises(TypeError):
        state[0]  # no positions: fields are read by name
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.total = np.zeros(3)
    replaced = state.replace(count=np.asarray(5))
    assert int(replaced.count) == 5 and replaced.total is state.total and int(state.count) == 2
