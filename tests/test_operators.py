"""Tests of the operators of lazyarray.Array against numpy's ndarray operators.

Arithmetic, bitwise and comparison operators, their reflected forms (a Python
scalar, a numpy scalar or an ndarray on the left), unary operators, ``abs``
and ``divmod`` all build lazy arrays whose shape, dtype and values are those
numpy's operators give; numpy's own functions and operators defer to lazy
operands through ``__array_ufunc__``.
"""

from __future__ import annotations

import builtins
import operator

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import DTYPES, assert_same, check_against_numpy, sample

import lazyarray as la
from lazyarray.testing import InaccessibleArray

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<<": operator.lshift,
    ">>": operator.rshift,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "divmod": builtins.divmod,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

UNARY = {"-": operator.neg, "+": operator.pos, "~": operator.invert, "abs": builtins.abs}


def as_tuple(result: object) -> tuple:
    return result if isinstance(result, tuple) else (result,)


def check_binary(func, left: object, right: object, lazy_left: bool, chunk_bytes: int = 64) -> None:
    """``func`` with a lazy operand on one side equals ``func`` on ndarrays.

    The operand on the lazy side must be an ndarray; it is wrapped with
    ``la.asarray``.
    """
    lazy = (la.asarray(left), right) if lazy_left else (left, la.asarray(right))
    check_against_numpy(
        lambda: func(*lazy),
        func,
        [left, right],
        nout=2 if func is builtins.divmod else 1,
        layouts=np.power if func is operator.pow else None,
        chunk_bytes=chunk_bytes,
    )


# -- binary operators ------------------------------------------------------


@st.composite
def other_operand(draw, dtype: np.dtype, shape: tuple[int, ...]) -> object:
    """What sits on the other side of a lazy array: ndarray, Python or numpy scalar."""
    kind = draw(st.sampled_from(["ndarray", "python scalar", "numpy scalar"]))
    if kind == "ndarray":
        return draw(hnp.arrays(dtype, shape))
    value = draw(hnp.arrays(dtype, ()))[()]
    if kind == "numpy scalar":
        return value
    if dtype.kind == "i":
        return draw(st.integers(-(2**40), 2**40))  # out of range for narrow ints
    return value.item()


@pytest.mark.parametrize("symbol", list(BINARY))
@pytest.mark.parametrize("lazy_left", [True, False], ids=["lazy-left", "reflected"])
@settings(max_examples=examples(12, 80))
@given(data=st.data())
def test_binary_operator_matches_numpy(symbol, lazy_left, data):
    func = BINARY[symbol]
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=0, max_side=4)
    )
    lazy_dtype, other_dtype = data.draw(st.sampled_from(DTYPES)), data.draw(st.sampled_from(DTYPES))
    lazy_values = data.draw(hnp.arrays(lazy_dtype, shapes.input_shapes[0]))
    other = data.draw(other_operand(other_dtype, shapes.input_shapes[1]))
    left, right = (lazy_values, other) if lazy_left else (other, lazy_values)
    check_binary(func, left, right, lazy_left, chunk_bytes=data.draw(st.integers(1, 256)))


@pytest.mark.parametrize("symbol", list(BINARY))
def test_binary_operator_between_lazy_arrays(symbol):
    func = BINARY[symbol]
    a = np.array([[7, -3, 0, 12]], dtype="i4")
    b = np.array([[2], [5], [3]], dtype="i2")  # positive: ** and << need it
    expected = as_tuple(func(a, b))
    results = as_tuple(func(la.asarray(a), la.asarray(b)))
    assert len(results) == len(expected)
    for result, want in zip(results, expected):
        assert isinstance(result, la.Array)
        assert_same(result.ndarray(chunk_bytes=8), want)


@pytest.mark.parametrize("symbol", list(BINARY))
def test_binary_operator_builds_without_reading(symbol):
    x = la.asarray(InaccessibleArray((3, 1), "i4"))
    y = la.asarray(InaccessibleArray((4,), "i4"))
    for result, want in zip(
        as_tuple(BINARY[symbol](x, y)),
        as_tuple(BINARY[symbol](np.ones((3, 1), "i4"), np.ones(4, "i4"))),
    ):
        assert (result.shape, result.dtype) == (want.shape, want.dtype)


@pytest.mark.parametrize("symbol", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_are_lazy(symbol):
    x = la.asarray(InaccessibleArray((2, 3), "f4"))
    result = BINARY[symbol](x, 1.5)
    assert isinstance(result, la.Array)
    assert result.dtype == np.bool_ and result.shape == (2, 3)
    reflected = BINARY[symbol](np.float32(2), x)
    assert isinstance(reflected, la.Array) and reflected.shape == (2, 3)


def test_lazy_arrays_are_unhashable():
    # == is elementwise, so hashing would break the hash/eq contract, as in numpy.
    with pytest.raises(TypeError):
        hash(la.asarray(np.zeros(2)))


@pytest.mark.parametrize("other", ["text", None, object()], ids=["str", "None", "object"])
def test_arithmetic_with_non_arrays_raises_type_error(other):
    x = la.asarray(np.arange(3.0))
    with pytest.raises(TypeError):
        x + other
    with pytest.raises(TypeError):
        other * x


def test_lists_are_operands_as_in_numpy():
    a = np.arange(6).reshape(2, 3)
    assert_same((la.asarray(a) + [1, 2, 3]).ndarray(), a + [1, 2, 3])
    assert_same(([[1.5], [2.5]] * la.asarray(a)).ndarray(), [[1.5], [2.5]] * a)


# -- unary operators -------------------------------------------------------


@pytest.mark.parametrize("symbol", list(UNARY))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_unary_operator_matches_numpy(symbol, dtype):
    func = UNARY[symbol]
    a = sample(dtype, (3, 4), np.random.default_rng(2))  # extremes, NaN and inf included
    x = la.asarray(a)
    try:
        expected = func(a)
    except TypeError as error:  # -bool, ~float
        with pytest.raises(type(error)):
            func(x)
        return
    result = func(x)
    assert isinstance(result, la.Array)
    assert (result.shape, result.dtype) == (expected.shape, expected.dtype)
    assert_same(result.ndarray(chunk_bytes=8), expected)


def test_unary_operators_build_without_reading():
    x = la.asarray(InaccessibleArray((2, 5), "i2"))
    for func in UNARY.values():
        result = func(x)
        assert (result.shape, result.dtype) == (x.shape, func(np.ones(1, "i2")).dtype)


# -- numpy dispatch (__array_ufunc__) -----------------------------------------


def test_numpy_functions_and_operators_defer_to_lazy_arrays():
    a = np.arange(6, dtype="f4").reshape(2, 3)
    x = la.asarray(a)
    cases = [
        (np.sqrt(x), np.sqrt(a)),
        (np.add(x, np.ones(3)), np.add(a, np.ones(3))),
        (np.add(np.ones(3), x), np.add(np.ones(3), a)),
        (np.ones(3) + x, np.ones(3) + a),
        (np.ones((2, 1), "i1") * x, np.ones((2, 1), "i1") * a),
        (np.float64(2) + x, np.float64(2) + a),
        (np.float32(2) - x, np.float32(2) - a),
        (np.int8(3) > x, np.int8(3) > a),
        (np.maximum(x, 2.5), np.maximum(a, 2.5)),
    ]
    for lazy, expected in cases:
        assert isinstance(lazy, la.Array), type(lazy)
        assert_same(lazy.ndarray(), expected)
    quotient, remainder = np.divmod(np.full(3, 7.0), x)
    assert isinstance(quotient, la.Array) and isinstance(remainder, la.Array)
    with np.errstate(divide="ignore", invalid="ignore"):
        for lazy, expected in zip((quotient, remainder), np.divmod(np.full(3, 7.0), a)):
            assert_same(lazy.ndarray(), expected)


def test_numpy_ufunc_on_lazy_arrays_does_not_read():
    x = la.asarray(InaccessibleArray((4, 3), "f8"))
    assert np.hypot(x, np.ones(3)).shape == (4, 3)
    assert (np.ones((1, 3)) < x).dtype == np.bool_


# -- numpy 2 promotion ---------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, symbol, scalar, expected",
    [
        ("f4", "+", 2.5, "f4"),  # Python float does not upcast float32
        ("f4", "*", 3, "f4"),
        ("f4", "+", 1j, "c8"),
        ("f4", "+", np.float64(2), "f8"),  # numpy scalars are strongly typed
        ("f4", "**", 2, "f4"),
        ("i1", "+", 100, "i1"),
        ("i1", "+", 1000, OverflowError),  # out of range for int8
        ("u1", "+", -1, OverflowError),
        ("u1", "-", 1, "u1"),
        ("i1", "*", 2.5, "f8"),
        ("i1", "+", np.int64(1000), "i8"),
        ("i4", "+", np.float32(1), "f8"),
        ("u8", "+", np.int64(1), "f8"),
        ("?", "+", 1, "i8"),
        ("?", "&", True, "?"),
        ("i2", "/", 2, "f8"),
        ("f4", "/", 2, "f4"),
        ("i1", "==", 1000, "?"),  # comparisons accept out-of-range Python ints
        ("u1", "<", -1, "?"),
    ],
)
@pytest.mark.parametrize("reflected", [False, True], ids=["scalar-right", "scalar-left"])
def test_numpy2_scalar_promotion(dtype, symbol, scalar, expected, reflected):
    func = BINARY[symbol]
    a = np.array([1, 2, 3], dtype)
    x = la.asarray(a)
    args = (scalar, a) if reflected else (a, scalar)
    lazy_args = (scalar, x) if reflected else (x, scalar)
    if isinstance(expected, type):
        with pytest.raises(expected):
            func(*args)  # numpy raises ...
        with pytest.raises(expected):
            func(*lazy_args)  # ... and so does lazyarray, when building
        return
    result = func(*lazy_args)
    assert result.dtype == np.dtype(expected) == func(*args).dtype
    assert_same(result.ndarray(), func(*args))


def test_numpy2_promotion_with_arrays_on_both_sides():
    for left, right in [("f4", "f8"), ("i1", "u1"), ("u8", "i8"), ("f4", "i4"), ("i2", "c16")]:
        a, b = np.ones(2, left), np.ones(2, right)
        assert (la.asarray(a) + b).dtype == (a + b).dtype
        assert (a + la.asarray(b)).dtype == (a + b).dtype


# -- shapes that do not broadcast ------------------------------------------------


@pytest.mark.parametrize("symbol", ["+", "*", "==", "<<", "divmod"])
def test_operands_that_do_not_broadcast_raise_shape_error(symbol):
    func = BINARY[symbol]
    x = la.asarray(InaccessibleArray((2, 3), "i4"))
    for left, right in [(x, np.zeros((4,), "i4")), (np.zeros((3, 2), "i4"), x)]:
        with pytest.raises(la.ShapeError) as info:
            func(left, right)
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        assert "(2, 3)" in message and str(np.shape(right if left is x else left)) in message
