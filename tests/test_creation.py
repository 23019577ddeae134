"""Tests for :mod:`lazyarray.creation`: ``ConstantArray``, ``zeros``, ``ones`` and
``full`` against ``np.full``, ``np.zeros`` and ``np.ones``, dtype rules included.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import DTYPES, keys, oindex, shapes

import lazyarray as la
from lazyarray.testing import assert_array_equal

STRUCTURED = np.dtype([("a", "i4"), ("b", "f8")])
OTHER_DTYPES = [np.dtype(d) for d in ("float16", "U3", "S2", "M8[s]", "m8[ms]", "O")] + [STRUCTURED]

SHAPES = [(), 3, np.int64(3), (2, 3), [2, 0, 4], (np.intp(1), 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=repr)
@pytest.mark.parametrize("dtype", [None, *DTYPES, *OTHER_DTYPES], ids=str)
def test_zeros_and_ones_equal_numpy(shape, dtype):
    assert_array_equal(la.zeros(shape, dtype=dtype), np.zeros(shape, dtype=dtype))
    assert_array_equal(la.ones(shape, dtype=dtype), np.ones(shape, dtype=dtype))


def test_zeros_and_ones_default_to_float64():
    assert_array_equal(la.zeros((2, 1)), np.zeros((2, 1)))
    assert_array_equal(la.ones(2), np.ones(2))


FULL = [
    # (shape, fill value, dtype)
    (3, 7, None),
    ((2, 2), 2.5, None),
    ((2, 2), True, None),
    (3, 1 + 2j, None),
    (3, np.float32(1.5), None),
    (3, np.uint8(200), None),
    (3, 1.7, "i4"),  # unsafe cast, as numpy.full
    (3, -1.7, "u2"),
    (3, np.int64(300), "i1"),  # a numpy integer wraps, as numpy.full
    (3, 127, "i1"),
    (3, -128, "i1"),
    (3, 255, "u1"),
    (2, 3, bool),
    (2, 0.0, bool),
    (2, np.nan, "f4"),
    (2, np.inf, "f2"),
    (2, "abcd", None),
    (2, "abcd", "U2"),
    (2, b"xy", None),
    (2, np.datetime64("2020-01-02"), None),
    (2, "2020-01-02T03", "M8[h]"),
    (2, None, None),
    (2, np.array((1, 2.5), STRUCTURED)[()], None),
    (2, np.array((1, 2.5), STRUCTURED)[()], STRUCTURED),
    ((), 5, "i8"),
    ((0, 3), 5, "i8"),
]


@pytest.mark.parametrize("shape, value, dtype", FULL, ids=repr)
def test_full_and_constant_array_equal_numpy(shape, value, dtype):
    expected = np.full(shape, value, dtype)
    assert_array_equal(la.full(shape, value, dtype), expected)
    assert_array_equal(la.full(shape, value, dtype=dtype), expected)
    assert_array_equal(la.ConstantArray(shape, value, dtype), expected)


@pytest.mark.parametrize(
    "value, dtype, error",
    [(300, "i1", OverflowError), (-1, "u1", OverflowError), (2**64, "u8", OverflowError),
     ("x", "i4", ValueError), (1 + 1j, "f8", None)],
)
def test_full_refuses_and_warns_like_numpy(value, dtype, error):
    """Python integers that do not fit raise, as in numpy 2; complex-to-real warns."""
    if error is None:
        with warnings.catch_warnings(record=True) as expected_warnings:
            warnings.simplefilter("always")
            np.full(3, value, dtype)
        with pytest.warns(expected_warnings[0].category):
            la.full(3, value, dtype)
        return
    with pytest.raises(error):
        np.full(3, value, dtype)
    with pytest.raises(error):
        la.full(3, value, dtype)
    with pytest.raises(error):
        la.ConstantArray(3, value, dtype)


def test_full_300_int8_behaves_like_numpy():
    with pytest.raises(OverflowError, match="300 out of bounds for int8"):
        np.full(3, 300, "i1")
    with pytest.raises(OverflowError, match="300 out of bounds for int8"):
        la.full(3, 300, "i1")


def test_constant_array_defaults_and_value():
    constant = la.ConstantArray((2, 3))
    assert_array_equal(constant, np.zeros((2, 3)))
    assert constant.value == 0.0
    assert la.ConstantArray(4, 1.5, "f4").value == np.float32(1.5)
    assert la.ConstantArray(4, 1.5, "f4").value.dtype == np.dtype("f4")
    assert la.ConstantArray(4, 7).inputs == ()


@given(shapes(max_side=4), st.sampled_from(DTYPES), st.data())
def test_indexing_constant_arrays_equals_numpy(shape, dtype, data):
    value = data.draw(st.integers(0, 1) if dtype == bool else st.integers(0, 100))
    lazy = la.full(shape, value, dtype)
    expected = np.full(shape, value, dtype)
    k1 = data.draw(keys(shape))
    once = oindex(expected, k1)
    k2 = data.draw(keys(once.shape))
    assert_array_equal(lazy[k1], once)
    assert_array_equal(lazy[k1][k2], oindex(once, k2))


def test_constant_arrays_in_expressions():
    expected = np.full((2, 3), 2, "i2") * np.arange(3, dtype="i2") + np.ones((2, 1), "f4")
    result = la.full((2, 3), 2, "i2") * np.arange(3, dtype="i2") + la.ones((2, 1), "f4")
    assert_array_equal(result, expected)
    assert_array_equal(la.concatenate([la.zeros((1, 3), "i1"), la.ones((2, 3), "u1")]),
                       np.concatenate([np.zeros((1, 3), "i1"), np.ones((2, 3), "u1")]))


def test_masked_constant_array_has_no_masked_points():
    masked = la.full((2, 2), 3, "i2").masked_array()
    assert_array_equal(masked, np.ma.masked_array(np.full((2, 2), 3, "i2"), mask=False))


@pytest.mark.parametrize(
    "shape, error, message",
    [
        (-1, ValueError, r"negative dimensions are not allowed, got shape \(-1,\)"),
        ((2, -3), ValueError, r"negative dimensions are not allowed, got shape \(2, -3\)"),
        (2.5, TypeError, r"shape must be an integer or a sequence of integers, got 2\.5"),
        ((2, 1.0), TypeError, r"got \(2, 1\.0\)"),
    ],
)
def test_bad_shapes_raise_like_numpy(shape, error, message):
    with pytest.raises(error):
        np.full(shape, 1)
    with pytest.raises(error, match=message):
        la.full(shape, 1)
    with pytest.raises(error, match=message):
        la.zeros(shape)


def test_repr():
    assert repr(la.zeros((1000, 720, 1440), "f4")) == (
        "<ConstantArray shape=(1000, 720, 1440) dtype=float32 size=3.9 GiB>"
    )
