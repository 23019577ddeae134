"""Tests of lazyarray.masking: lazy mask makers against numpy.ma.

Every mask maker, applied lazily to a random source (plain or masked, with
masks from none to all, and random fill values), then indexed by a random key
and realised in many small tiles, must give what its numpy.ma namesake gives
on the realised source: the same mask, data where unmasked, fill value,
dtype and shape from ``masked_array()``, and numpy.ma's ``filled()`` result
from ``ndarray()``. Building and indexing never read. numpy is the only
oracle: no expected value is written by hand.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy_oracle import assert_same, assert_same_masked
from strategies import CHUNK_BYTES, keys, oindex, shapes

import lazyarray as la
from lazyarray.errors import ShapeError
from lazyarray.testing import CountingArray, InaccessibleArray

#: Integer and floating dtypes; booleans and complex numbers in some tests only.
NUMERIC = tuple(
    np.dtype(name)
    for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint64", "float32",
                 "float64")
)
ALL = NUMERIC + (np.dtype(bool), np.dtype("complex128"))

#: Mask makers taking one value, with numpy.ma's namesakes as their oracle.
VALUE_MAKERS = (
    "masked_equal",
    "masked_not_equal",
    "masked_greater",
    "masked_greater_equal",
    "masked_less",
    "masked_less_equal",
)
INTERVAL_MAKERS = ("masked_inside", "masked_outside")
COMPARISONS = {
    "masked_not_equal", "masked_greater", "masked_greater_equal", "masked_less",
    "masked_less_equal",
}


# -- the oracle ---------------------------------------------------------------------


def masked_oindex(array: np.ma.MaskedArray, key: Any) -> np.ma.MaskedArray:
    """numpy's orthogonal indexing of a masked array: of its data and of its mask."""
    return np.ma.MaskedArray(
        oindex(np.ma.getdata(array), key),
        mask=oindex(np.ma.getmaskarray(array), key),
        fill_value=array.fill_value,
    )


def same_fill_value(actual: Any, expected: Any, dtype: np.dtype) -> bool:
    """Whether two fill values fill a ``dtype`` array alike (NaN equals NaN).

    numpy.ma stores an explicit fill value converted to the array's dtype but
    reports its default one unconverted (int8 arrays: 999999, which fills as
    63), so both are compared as numpy.ma fills with them.
    """
    def as_filled(value: Any) -> np.ndarray:
        return np.ma.MaskedArray(np.zeros(1, dtype), mask=True, fill_value=value).filled()

    return bool(np.array_equal(as_filled(actual), as_filled(expected),
                               equal_nan=dtype.kind in "fc"))


def check(lazy: la.Array, expected: Any, chunk_bytes: int) -> None:
    """``lazy`` realises in both modes as numpy.ma's ``expected`` (a masked or plain array)."""
    expected = np.ma.asarray(expected)
    assert lazy.shape == expected.shape, (lazy.shape, expected.shape)
    assert lazy.dtype == expected.dtype, (lazy.dtype, expected.dtype)
    assert same_fill_value(lazy.fill_value, expected.fill_value, expected.dtype), (
        lazy.fill_value, expected.fill_value)
    masked, plain = (
        la.masked_arrays([lazy], chunk_bytes=chunk_bytes)[0],
        la.ndarrays([lazy], chunk_bytes=chunk_bytes)[0],
    )
    assert_same_masked(masked, expected)
    assert same_fill_value(masked.fill_value, expected.fill_value, expected.dtype)
    assert_same(plain, expected.filled())


# -- sources --------------------------------------------------------------------------


@st.composite
def masks(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """No mask at all, ``nomask``, nothing masked, everything masked, or any mask."""
    kind = draw(st.sampled_from(["plain", "nomask", "none", "all", "random"]))
    if kind in ("plain", "nomask"):
        return kind
    if kind == "none":
        return np.zeros(shape, bool)
    if kind == "all":
        return np.ones(shape, bool)
    return draw(hnp.arrays(bool, shape))


@st.composite
def sources(draw: st.DrawFn, dtypes: tuple[np.dtype, ...] = NUMERIC,
            shape: Any = None, bounded: bool = False) -> np.ndarray:
    """A plain or masked array: NaN and inf among floats, random masks and fill values.

    ``bounded``: floats within +-1e6 (no NaN, inf or near-overflow values).
    """
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = shapes(max_dims=3)
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    elements = None
    if dtype.kind in "iu":
        # Small values, so that drawn thresholds fall among them.
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -20), min(info.max, 20)) | st.sampled_from(
            [info.min, info.max])
    elif bounded and dtype.kind == "f":
        elements = st.floats(-1e6, 1e6, width=8 * dtype.itemsize)
    data = draw(hnp.arrays(dtype, shape, elements=elements))
    mask = draw(masks(shape))
    if isinstance(mask, str):
        if mask == "plain":
            return data
        source = np.ma.MaskedArray(data)  # a masked array with nomask
    else:
        source = np.ma.MaskedArray(data, mask=mask)
    if draw(st.booleans()):
        fill = draw(thresholds(data), label="fill_value")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                source.fill_value = fill
            except (TypeError, Warning):
                pass  # numpy.ma refuses it for this dtype: keep the default
    return source


@st.composite
def thresholds(draw: st.DrawFn, data: np.ndarray) -> Any:
    """A scalar to compare ``data`` with: one of its values (as a Python or numpy
    scalar), or any number, NaN, inf and values out of the dtype's range included."""
    data = np.ma.getdata(data)
    choices = [st.integers(-300, 300), st.floats(-1e3, 1e3, width=32),
               st.sampled_from([np.nan, np.inf, -np.inf, 0.1, 2**63])]
    if data.size:
        element = st.sampled_from(list(data.ravel()))
        choices += [element, element.map(lambda v: v.item())]
    return draw(st.one_of(choices))


def numpy_or_error(function: Callable[[], Any]) -> tuple[Any, Exception | None]:
    """numpy.ma's result, or the exception it raises."""
    try:
        return function(), None
    except Exception as error:  # noqa: BLE001 - any error numpy raises is the oracle
        return None, error


def check_maker(name: str, source: np.ndarray, args: tuple, data: st.DataObject,
                lazy_args: tuple | None = None, **kwargs: Any) -> None:
    """``la.<name>(x, *args)[k]`` against ``np.ma.<name>(source, *args)`` indexed by ``k``."""
    reference = getattr(np.ma, name)
    expected, error = numpy_or_error(lambda: reference(source, *args, **kwargs))
    if error is not None and source.ndim == 0:
        # numpy.ma fails on some fully masked 0-d inputs (masked_invalid: its
        # isfinite gives np.ma.masked, a float, which ~ refuses); the lazy
        # result is the 1-element result, as 0-d.
        expected, error = numpy_or_error(
            lambda: reference(source.reshape(1), *args, **kwargs).reshape(()))
    x = la.asarray(source)

    def build() -> la.Array:
        return getattr(la, name)(x, *(args if lazy_args is None else lazy_args), **kwargs)

    if error is not None:
        with pytest.raises(type(error)):
            build()
        return
    lazy = build()
    key = data.draw(keys(lazy.shape), label="key")
    check(lazy[key], masked_oindex(np.ma.asarray(expected), key),
          data.draw(CHUNK_BYTES, label="chunk_bytes"))


# -- properties: every maker equals numpy.ma ------------------------------------------


@given(st.data())
def test_value_makers_equal_numpy_ma(data):
    source = data.draw(sources(), label="source")
    name = data.draw(st.sampled_from(VALUE_MAKERS), label="maker")
    check_maker(name, source, (data.draw(thresholds(source), label="value"),), data)


@given(st.data())
def test_comparisons_with_array_values_equal_numpy_ma(data):
    source = data.draw(sources(), label="source")
    name = data.draw(st.sampled_from(sorted(COMPARISONS)), label="maker")
    # A value per point of some trailing axes, masked or not, lazy or not.
    trailing = source.shape[data.draw(st.integers(0, source.ndim), label="from axis"):]
    value = data.draw(sources(shape=trailing), label="value")
    full = np.ma.MaskedArray(
        np.broadcast_to(np.ma.getdata(value), source.shape),
        mask=np.broadcast_to(np.ma.getmaskarray(value), source.shape),
    )
    lazy_value = la.asarray(value) if data.draw(st.booleans(), label="lazy value") else value
    check_maker(name, source, (full,), data, lazy_args=(lazy_value,))


@given(st.data())
def test_interval_makers_equal_numpy_ma(data):
    source = data.draw(sources(), label="source")
    name = data.draw(st.sampled_from(INTERVAL_MAKERS), label="maker")
    bounds = (data.draw(thresholds(source), label="v1"), data.draw(thresholds(source), label="v2"))
    check_maker(name, source, bounds, data)


@given(st.data())
def test_masked_invalid_equals_numpy_ma(data):
    check_maker("masked_invalid", data.draw(sources(ALL), label="source"), (), data)


@given(st.data())
def test_masked_values_equals_numpy_ma(data):
    source = data.draw(sources(), label="source")
    value = data.draw(thresholds(source), label="value")
    tolerances = data.draw(st.sampled_from([{}, {"rtol": 0.0, "atol": 0.0},
                                            {"rtol": 0.1, "atol": 0.5}]), label="tolerances")
    check_maker("masked_values", source, (value,), data, **tolerances)


@given(st.data())
def test_masked_where_equals_numpy_ma(data):
    source = data.draw(sources(ALL), label="source")
    # A condition of the source's shape or of some of its trailing axes, or a
    # scalar; any dtype (non-zero is true), masked or not, lazy or not.
    form = data.draw(st.sampled_from(["array", "trailing", "scalar"]), label="form")
    if form == "scalar":
        condition = data.draw(st.booleans() | st.sampled_from([0, 1.5, np.nan]), label="cond")
        full = condition
    else:
        start = data.draw(st.integers(0, source.ndim), label="from axis") if form == "trailing" else 0
        condition = data.draw(sources(ALL, shape=source.shape[start:]), label="condition")
        # numpy.ma wants the source's shape; the lazy one broadcasts.
        full = np.ma.MaskedArray(
            np.broadcast_to(np.ma.getdata(condition), source.shape),
            mask=np.broadcast_to(np.ma.getmaskarray(condition), source.shape),
        )
        if data.draw(st.booleans(), label="lazy condition"):
            condition = la.asarray(condition)
    expected = np.ma.masked_where(full, source)
    lazy = la.masked_where(condition, la.asarray(source))
    key = data.draw(keys(lazy.shape), label="key")
    check(lazy[key], masked_oindex(expected, key), data.draw(CHUNK_BYTES, label="chunk_bytes"))


@given(st.data())
def test_filled_equals_numpy_ma(data):
    source = data.draw(sources(ALL), label="source")
    fill = data.draw(st.none() | thresholds(source), label="fill_value")
    expected, error = numpy_or_error(lambda: np.ma.filled(source, fill))
    if error is not None:
        with pytest.raises(type(error)):
            la.filled(source, fill)
        return
    if fill is not None and numpy_or_error(
        lambda: np.ma.MaskedArray(np.empty(0, source.dtype), fill_value=fill)
    )[1]:
        # numpy.ma checks the fill value only when there are masked points to
        # fill; lazily that is not known before reading, so it is always checked.
        with pytest.raises(TypeError):
            la.filled(source, fill)
        return
    lazy = la.filled(source, fill)
    key = data.draw(keys(lazy.shape), label="key")
    # numpy.ma.filled gives a plain array: as a masked array, nothing is masked.
    check(lazy[key], oindex(expected, key), data.draw(CHUNK_BYTES, label="chunk_bytes"))


@given(st.data())
def test_getmaskarray_equals_numpy_ma(data):
    source = data.draw(sources(ALL), label="source")
    lazy = la.getmaskarray(la.asarray(source))
    key = data.draw(keys(lazy.shape), label="key")
    expected = oindex(np.ma.getmaskarray(source), key)
    check(lazy[key], expected, data.draw(CHUNK_BYTES, label="chunk_bytes"))
    assert bool(la.is_masked(source)) == np.ma.is_masked(source)


@given(st.data())
def test_makers_chain_and_commute_with_indexing(data):
    """Makers of makers, over an indexed input, equal numpy.ma's chain."""
    source = data.draw(sources(), label="source")
    k1 = data.draw(keys(source.shape), label="k1")
    low, high = data.draw(thresholds(source), label="low"), data.draw(thresholds(source), label="high")
    expected, error = numpy_or_error(lambda: np.ma.masked_invalid(
        np.ma.masked_outside(masked_oindex(np.ma.asarray(source), k1), low, high)))
    if error is not None:
        return  # the makers' own rejections are tested above
    lazy = la.masked_invalid(la.masked_outside(la.asarray(source)[k1], low, high))
    k2 = data.draw(keys(lazy.shape), label="k2")
    check(lazy[k2], masked_oindex(expected, k2), data.draw(CHUNK_BYTES, label="chunk_bytes"))


# -- composition: maths, mosaics, aggregations --------------------------------------


@given(st.data())
def test_aggregations_of_masked_results_equal_numpy_ma(data):
    # Bounded values: numpy.ma's mean masks results near overflow (its safe
    # division), a quirk of aggregations, not of the mask makers tested here.
    source = data.draw(sources((np.dtype("float64"), np.dtype("int32")),
                               shape=shapes(min_dims=1, max_dims=3, min_side=1), bounded=True),
                       label="source")
    value = data.draw(thresholds(source), label="value")
    axis = data.draw(st.none() | st.integers(-source.ndim, source.ndim - 1), label="axis")
    chunk_bytes = data.draw(CHUNK_BYTES, label="chunk_bytes")
    lazy_m = la.masked_less(source, value)
    expected_m = np.ma.masked_less(source, value)
    lazy = [la.mean(lazy_m, axis=axis), la.count(lazy_m, axis=axis), la.max(lazy_m, axis=axis),
            la.sum(la.getmaskarray(lazy_m), axis=axis)]
    with np.errstate(all="ignore"):
        expected = [np.ma.mean(expected_m, axis=axis), np.ma.count(expected_m, axis=axis),
                    np.ma.max(expected_m, axis=axis),
                    np.sum(np.ma.getmaskarray(expected_m), axis=axis)]
    results = la.masked_arrays(lazy, chunk_bytes=chunk_bytes)
    for name, result, want in zip(["mean", "count", "max", "masks"], results, expected):
        if want is np.ma.masked:
            # numpy.ma gives a fully masked 0-d result as np.ma.masked, a
            # float64 whatever the statistic: its dtype is numpy's unmasked one.
            plain = getattr(np, name)(np.ma.getdata(expected_m), axis=axis)
            want = np.ma.MaskedArray(plain, mask=True)
        want = np.ma.asarray(want)
        assert result.shape == want.shape and result.dtype == want.dtype, name
        mask = np.ma.getmaskarray(want)
        np.testing.assert_array_equal(np.ma.getmaskarray(result), mask, err_msg=name)
        np.testing.assert_allclose(np.ma.getdata(result)[~mask], np.ma.getdata(want)[~mask],
                                   rtol=1e-12, err_msg=name)


def test_masked_results_in_mosaics_and_maths_equal_numpy_ma():
    rng = np.random.default_rng(4)
    plain = rng.normal(size=(3, 5))
    plain[0, 1] = np.nan
    masked = np.ma.masked_array(rng.normal(size=(2, 5)), mask=rng.random((2, 5)) < 0.3,
                                fill_value=-1.0)
    lazy_mosaic = la.LinearMosaic(
        [la.masked_invalid(plain), la.masked_greater(masked, 0.5)], axis=0
    )
    expected_mosaic = np.ma.concatenate(
        [np.ma.masked_invalid(plain), np.ma.masked_greater(masked, 0.5)], axis=0
    )
    lazy = la.sqrt(lazy_mosaic * 2 + 1)[::-1, 1:]
    with np.errstate(all="ignore"):
        expected = np.ma.sqrt(expected_mosaic * 2 + 1)[::-1, 1:]
    assert_same_masked(lazy.masked_array(chunk_bytes=16), expected)
    mean = la.mean(lazy, axis=0, mdtol=0.5)
    with np.errstate(all="ignore"):
        want = np.ma.mean(expected, axis=0)
        want[np.ma.getmaskarray(expected).mean(axis=0) > 0.5] = np.ma.masked
    result = mean.masked_array(chunk_bytes=16)
    np.testing.assert_array_equal(result.mask, np.ma.getmaskarray(want))
    np.testing.assert_allclose(result.compressed(), want.compressed(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
@pytest.mark.parametrize("name, args", [
    ("masked_greater", (0.1,)),
    ("masked_greater_equal", (0.1,)),
    ("masked_equal", (0.1,)),
    ("masked_inside", (0.1, 0.3)),
    ("masked_outside", (0.1, 0.3)),
    ("masked_values", (0.1,)),
    ("masked_less", (np.float32(0.1),)),
])
def test_scalars_are_typed_as_numpy_ma_types_them(dtype, name, args):
    # numpy.ma's comparisons make Python scalars 0-d arrays of their default
    # dtype (float32 data compare with 0.1 in float64), masked_inside compares
    # as plain numpy (in float32): each lazy maker does as its namesake.
    source = np.array([0.1, 0.2, 0.3, 0.30000001, 0.0], dtype=dtype)
    check(getattr(la, name)(source, *args), getattr(np.ma, name)(source, *args), 8)


# -- fill values ----------------------------------------------------------------------


@pytest.mark.parametrize("name, args", [
    ("masked_where", (np.array([True, False, True]),)),
    ("masked_greater", (1,)),
    ("masked_invalid", ()),
    ("masked_inside", (0, 1)),
    ("masked_equal", (1,)),
    ("masked_values", (1,)),
    ("filled", ()),
    ("getmaskarray", ()),
])
@pytest.mark.parametrize("fill_value", [None, -7])
def test_fill_value_is_numpy_ma_s(name, args, fill_value):
    source = np.ma.masked_array([0.0, 1.0, 2.0], mask=[0, 0, 1], fill_value=fill_value)
    lazy = getattr(la, name)(*args, la.asarray(source)) if name == "masked_where" else getattr(
        la, name)(la.asarray(source), *args)
    expected = np.ma.asarray(
        np.ma.masked_where(*args, source) if name == "masked_where"
        else getattr(np.ma, name)(source, *args))
    # Known statically, and carried to the realised result.
    assert same_fill_value(lazy.fill_value, expected.fill_value, expected.dtype)
    assert same_fill_value(lazy.masked_array().fill_value, expected.fill_value, expected.dtype)


def test_fill_values_numpy_ma_refuses_are_refused_when_building():
    x = la.asarray(InaccessibleArray((4,), "i1"))
    for build, reference in [
        (lambda: la.masked_equal(x, 1000), lambda: np.ma.masked_equal(np.zeros(4, "i1"), 1000)),
        (lambda: la.masked_values(x, 1000), lambda: np.ma.masked_values(np.zeros(4, "i1"), 1000)),
        (lambda: la.filled(x, 1000), lambda: np.ma.filled(np.ma.masked_array(np.zeros(4, "i1"), mask=[1, 0, 0, 0]), 1000)),
    ]:
        _, error = numpy_or_error(reference)
        assert error is not None
        with pytest.raises(type(error)):
            build()


def test_results_say_statically_whether_they_are_masked():
    # A mask maker's result is masked even over a plain source; filled and
    # getmaskarray give plain arrays even over a masked one.
    for x in (la.asarray(InaccessibleArray((4, 3, 5), "f8")), la.asarray(np.ma.ones((4, 3, 5)))):
        *makers, filled_zero, filled_default, mask, _ = every_maker(x)
        assert all(node.masked for node in makers)
        assert not (filled_zero.masked or filled_default.masked or mask.masked)


def test_filled_result_has_no_mask_and_the_default_fill_value():
    source = np.ma.masked_array([1, 2, 3], mask=[1, 0, 0], fill_value=-5)
    lazy = la.filled(source)
    assert same_fill_value(lazy.fill_value, np.ma.asarray(np.ma.filled(source)).fill_value,
                           source.dtype)
    result = lazy.masked_array()
    assert not np.ma.getmaskarray(result).any()
    assert_same(np.ma.getdata(result), np.ma.filled(source))


# -- laziness, errors, pickling, tiles -------------------------------------------------


def every_maker(x: la.Array) -> list[la.Array]:
    condition = la.asarray(InaccessibleArray(x.shape[1:], bool))
    return [
        la.masked_equal(x, 1.5),
        la.masked_not_equal(x, la.asarray(InaccessibleArray(x.shape, "f4"))),
        la.masked_greater(x, 0),
        la.masked_greater_equal(x, 0),
        la.masked_less(x, 0),
        la.masked_less_equal(x, 0),
        la.masked_inside(x, 1, -1),
        la.masked_outside(x, -1, 1),
        la.masked_invalid(x),
        la.masked_values(x, 2.5, rtol=0.1),
        la.masked_where(condition, x),
        la.masked_where(x > 2, x, copy=False),
        la.filled(x, 0),
        la.filled(x),
        la.getmaskarray(x),
        la.is_masked(x),
    ]


def test_building_indexing_and_composing_never_read():
    x = la.asarray(InaccessibleArray((4, 3, 5), "f8"))
    for node in every_maker(x):
        assert isinstance(node, la.Array)
        if node.ndim:
            selected = node[1:, [2, 0], ::-2]
            assert selected.shape == (3, 2, 3)
            la.mean(la.LinearMosaic([selected, node[:1, [2, 0], ::-2]], axis=0) * 2, axis=0)
            la.count(node, axis=(0, 2))
        assert node.fill_value is not None  # known statically


@pytest.mark.parametrize("build, error", [
    (lambda x: la.masked_where(np.ones((2, 5), bool), x), ShapeError),
    (lambda x: la.masked_where(np.ones((4, 3, 5, 1), bool), x), ShapeError),
    (lambda x: la.masked_greater(x, np.ones(4)), ShapeError),
    (lambda x: la.masked_equal(x, np.ones(5)), TypeError),
    (lambda x: la.masked_values(x, la.zeros(())), TypeError),
    (lambda x: la.masked_inside(x, la.zeros(()), 1), TypeError),
    (lambda x: la.filled(x, np.ones(5)), TypeError),
    (lambda x: la.masked_greater(x, "a"), TypeError),
])
def test_bad_arguments_are_refused_when_building(build, error):
    with pytest.raises(error):
        build(la.asarray(InaccessibleArray((4, 3, 5), "f8")))


@pytest.mark.parametrize("name, args", [("masked_invalid", ()), ("masked_greater", (1,))])
def test_numpy_ma_s_dtype_rejections_are_refused_when_building(name, args):
    strings = np.array(["a", "b"])
    _, error = numpy_or_error(lambda: getattr(np.ma, name)(strings, *args))
    assert error is not None
    with pytest.raises(type(error)):
        getattr(la, name)(la.asarray(InaccessibleArray((2,), strings.dtype)), *args)


def test_masked_graphs_pickle():
    source = np.ma.masked_array(np.linspace(-2, 2, 12).reshape(3, 4), mask=np.eye(3, 4, dtype=bool),
                                fill_value=9.0)
    source[1, 2] = np.nan
    x = la.asarray(source)
    for node in every_maker_over(x):
        copied = pickle.loads(pickle.dumps(node))
        assert copied.shape == node.shape and copied.dtype == node.dtype
        assert same_fill_value(copied.fill_value, node.fill_value, node.dtype)
        assert_same_masked(copied.masked_array(), node.masked_array())


def every_maker_over(x: la.Array) -> list[la.Array]:
    return [
        la.masked_equal(x, 1.5), la.masked_not_equal(x, x[0]), la.masked_greater(x, 0),
        la.masked_greater_equal(x, 0), la.masked_less(x, 0), la.masked_less_equal(x, 0),
        la.masked_inside(x, 1, -1), la.masked_outside(x, -1, 1), la.masked_invalid(x),
        la.masked_values(x, 2.0, rtol=0.1), la.masked_where(x[0] > 0, x), la.filled(x, 0.5),
        la.getmaskarray(x), la.is_masked(x),
    ]


def test_evaluation_reads_each_element_once_in_small_tiles():
    data = np.linspace(-3, 3, 6 * 4 * 5).reshape(6, 4, 5)
    source = CountingArray(data)
    m = la.masked_outside(la.masked_less(la.asarray(source), -2), -3, 2.5)
    results = la.masked_arrays(
        [m, la.mean(m, axis=0), la.count(m, axis=(1, 2)), la.getmaskarray(m)], chunk_bytes=64
    )
    assert source.counts.max() == 1 and source.counts.min() == 1
    expected = np.ma.masked_outside(np.ma.masked_less(data, -2), -3, 2.5)
    assert_same_masked(results[0], expected)
    assert_same_masked(results[2], np.ma.asarray(np.ma.count(expected, axis=(1, 2))))
    assert_same(np.ma.getdata(results[3]), np.ma.getmaskarray(expected))
    assert source.reads > 1  # evaluated tile by tile


@pytest.mark.parametrize("dtype", ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2",
                                   "f4", "f8", "g", "c8", "c16", "G", "M8[s]", "U3", "S2"])
def test_default_fill_values_are_numpy_ma_s(dtype):
    from lazyarray.fillvalues import default_fill_value, same_scalar

    dtype = np.dtype(dtype)
    ours = default_fill_value(dtype)
    theirs = np.ma.MaskedArray(np.empty(0, dtype)).fill_value
    if dtype == np.float16:  # numpy.ma's 1e20 overflows float16: lazyarray keeps inf
        assert ours == np.float16(np.inf)
        return
    assert type(ours) is type(theirs)
    assert same_scalar(ours, theirs)
