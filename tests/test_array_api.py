"""``lazyarray.array_api`` against array-api-strict, the standard's reference namespace.

Each function is called on the same inputs in both namespaces (drawn with
hypothesis's Array API strategies over array-api-strict, then given to
lazyarray as numpy arrays), and the results must agree in values, shape and
dtype: exactly, except the float statistics lazyarray accumulates in float64.
Functions of one signature share a parametrized test. A source that refuses
reads proves that every function builds its result without reading.
"""

from __future__ import annotations

import contextlib
import inspect
import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import array_api_strict as strict
import numpy as np
import pytest
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

import lazyarray as la
import lazyarray.array_api as xp
from lazyarray.testing import InaccessibleArray, refusing_reads

hxp = make_strategies_namespace(strict)
StrictArray = type(strict.asarray(0))
StrictDType = type(strict.int8)

FEW = settings(max_examples=examples(4, 40))
SOME = settings(max_examples=examples(8, 100))

shapes = hxp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nonempty = hxp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def numpy_of(value: Any) -> np.ndarray:
    """A strict array's values as numpy's."""
    return np.from_dlpack(value)


def lazy_of(value: Any) -> Any:
    """The same array in lazyarray (a strict array, or several in a list or tuple)."""
    if isinstance(value, (list, tuple)):
        return type(value)(lazy_of(v) for v in value)
    if isinstance(value, StrictArray):
        return xp.asarray(numpy_of(value))
    if isinstance(value, StrictDType):
        return numpy_of(strict.empty(0, dtype=value)).dtype
    return value


def no_nan(dtype: Any) -> dict[str, Any]:
    """Elements without NaN, for what orders values."""
    return {"allow_nan": False} if dtype in (strict.float32, strict.float64) else {}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    # Both namespaces compute with numpy, which warns of NaN and overflow the
    # same way in both; setup.cfg makes warnings errors.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def assert_same(lazy: Any, expected: Any, *, close: bool = False) -> None:
    """A lazy result equals a strict one: type, shape, dtype, values (NaN equal to NaN)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(lazy, (list, tuple)) and len(lazy) == len(expected)
        for one, other in zip(lazy, expected):
            assert_same(one, other, close=close)
        return
    if not isinstance(expected, StrictArray):  # a dtype
        assert lazy == numpy_of(strict.empty(0, dtype=expected)).dtype
        return
    assert isinstance(lazy, la.Array), type(lazy)
    want = numpy_of(expected)
    assert lazy.shape == want.shape
    assert lazy.dtype == want.dtype
    with quiet():
        got = lazy.ndarray()
    assert got.shape == want.shape and got.dtype == want.dtype
    if close and want.dtype.kind in "fc":
        # lazyarray accumulates float statistics in float64: a rounding apart.
        tolerance = 1e-4 if want.dtype in (np.float32, np.complex64) else 1e-10
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(got, want, strict=True)


def both(name: str, *args: Any, close: bool = False, invalid: bool = False, **kwargs: Any
         ) -> None:
    """Call ``name`` in both namespaces and compare; with ``invalid`` (for draws
    that may be outside the standard, an axis out of range), errors too."""
    with quiet():
        try:
            expected = getattr(strict, name)(*args, **kwargs)
        except (TypeError, ValueError, IndexError) as error:
            if not invalid:
                raise
            # The same kind of error (numpy's AxisError is a ValueError and an IndexError).
            kinds = tuple(k for k in (TypeError, ValueError, IndexError) if isinstance(error, k))
            with pytest.raises(kinds):
                getattr(xp, name)(*lazy_of(args), **{k: lazy_of(v) for k, v in kwargs.items()})
            return
    result = getattr(xp, name)(*lazy_of(args), **{k: lazy_of(v) for k, v in kwargs.items()})
    assert_same(result, expected, close=close)


# -- names ---------------------------------------------------------------------------

#: Left out on purpose, each listed with its reason in docs/array-api.md.
LEFT_OUT = {
    "argsort", "fft", "linalg", "matmul", "nonzero", "searchsorted",
    "sort", "take_along_axis", "tensordot", "unique_all", "unique_counts", "unique_inverse",
    "unique_values", "vecdot",
}
#: Of the 2025.12 revision, which array-api-strict follows; not of 2024.12.
LATER = {"broadcast_shapes", "isin"}


def test_every_name_of_the_standard_is_here_or_left_out_on_purpose() -> None:
    standard = {n for n in dir(strict) if not n.startswith("_") and n[0].islower()}
    standard -= {"set_array_api_strict_flags", "get_array_api_strict_flags",
                 "reset_array_api_strict_flags", "ArrayAPIStrictFlags"}
    standard = {n for n in standard if not n.startswith(("array_api_strict", "set_", "get_"))}
    missing = standard - set(xp.__all__) - LEFT_OUT - LATER
    assert not missing, sorted(missing)
    assert not LEFT_OUT & set(dir(xp)), "a name left out is defined"
    assert xp.__array_api_version__ == "2024.12"
    for name in xp.__all__:
        assert hasattr(xp, name), name


def test_signatures_are_the_standards() -> None:
    # Parameter names and kinds (positional-only, keyword-only) as the reference's.
    compared = 0
    for name in xp.__all__:
        mine, theirs = getattr(xp, name), getattr(strict, name, None)
        if not inspect.isfunction(mine) or theirs is None:
            continue
        assert [(p.name, p.kind) for p in inspect.signature(mine).parameters.values()] == [
            (p.name, p.kind) for p in inspect.signature(theirs).parameters.values()], name
        compared += 1
    assert compared > 120


def test_namespace_versions() -> None:
    assert xp.array_namespace() is xp and xp.array_namespace("2023.12") is xp
    with pytest.raises(ValueError, match="2022.12"):
        xp.array_namespace("2022.12")


def test_info() -> None:
    info, oracle = xp.__array_namespace_info__(), strict.__array_namespace_info__()
    assert info.capabilities() == {"boolean indexing": False, "data-dependent shapes": False,
                                   "max dimensions": 64}
    assert info.default_device() == "cpu" and info.devices() == ["cpu"]
    assert {k: v.name for k, v in info.default_dtypes().items()} == {
        k: numpy_of(strict.empty(0, dtype=v)).dtype.name
        for k, v in oracle.default_dtypes().items()}
    for kind in (None, "bool", "integral", "real floating", "numeric", ("bool", "complex floating")):
        assert sorted(info.dtypes(kind=kind)) == sorted(oracle.dtypes(kind=kind))
    with pytest.raises(ValueError, match="gpu"):
        info.dtypes(device="gpu")


def test_constants() -> None:
    for name in ("e", "inf", "pi"):
        assert getattr(xp, name) == getattr(strict, name)
    assert np.isnan(xp.nan) and xp.newaxis is None


# -- elementwise ------------------------------------------------------------------------

UNARY = {
    "floating": ["acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp",
                 "expm1", "log", "log1p", "log2", "log10", "sin", "sinh", "sqrt", "tan",
                 "tanh", "reciprocal"],
    "numeric": ["abs", "negative", "positive", "square", "sign", "isfinite", "isinf",
                "isnan", "round"],
    "real": ["ceil", "floor", "trunc"],
    "real floating": ["signbit"],
    "complex": ["real", "imag", "conj"],
    "integral or bool": ["bitwise_invert"],
    "bool": ["logical_not"],
}
BINARY = {
    "numeric": ["add", "subtract", "multiply", "equal", "not_equal"],
    "floating": ["divide", "pow"],
    "real": ["floor_divide", "remainder", "maximum", "minimum", "greater", "greater_equal",
             "less", "less_equal"],
    "real floating": ["atan2", "copysign", "hypot", "logaddexp", "nextafter"],
    "integral or bool": ["bitwise_and", "bitwise_or", "bitwise_xor"],
    "integral": ["bitwise_left_shift", "bitwise_right_shift"],
    "bool": ["logical_and", "logical_or", "logical_xor"],
}
DTYPES = {
    "floating": hxp.floating_dtypes(),
    "numeric": hxp.numeric_dtypes(),
    "real": hxp.real_dtypes(),
    "real floating": hxp.floating_dtypes(sizes=(32, 64)).filter(
        lambda d: d in (strict.float32, strict.float64)),
    "complex": hxp.complex_dtypes(),
    "integral or bool": hxp.integer_dtypes() | hxp.boolean_dtypes(),
    "integral": hxp.integer_dtypes(),
    "bool": hxp.boolean_dtypes(),
}


@pytest.mark.parametrize("kind", list(UNARY))
@SOME
@given(data=st.data())
def test_unary_elementwise(kind: str, data: st.DataObject) -> None:
    # Every function of the kind on the same drawn array.
    x = data.draw(hxp.arrays(DTYPES[kind], shapes))
    for name in UNARY[kind]:
        if name == "sign" and x.dtype in (strict.complex64, strict.complex128):
            # array-api-strict computes a complex sign as x / abs(x) itself (NaN
            # for infinities, a rounding off elsewhere): numpy's is the oracle.
            with quiet():
                np.testing.assert_array_equal(xp.sign(lazy_of(x)).ndarray(),
                                              np.sign(numpy_of(x)), strict=True)
            continue
        both(name, x)


@pytest.mark.parametrize("kind", list(BINARY))
@SOME
@given(data=st.data())
def test_binary_elementwise(kind: str, data: st.DataObject) -> None:
    dtype = data.draw(DTYPES[kind])
    first, second = data.draw(hxp.mutually_broadcastable_shapes(2, max_dims=3, max_side=3)
                              ).input_shapes
    # Shifts by at least the width of the type are numpy's, not the standard's.
    elements = {"min_value": 0, "max_value": 7} if kind == "integral" else None
    x1 = data.draw(hxp.arrays(dtype, first, elements=elements))
    x2 = data.draw(hxp.arrays(dtype, second, elements=elements))
    # numpy's complex loops differ in the last bit between a broadcast operand and
    # a full one (fused multiply-adds): a rounding apart, which the standard allows.
    complex_ = dtype in (strict.complex64, strict.complex128)
    for name in BINARY[kind]:
        both(name, x1, x2, close=complex_)


PROMOTABLE = [("int8", "uint8"), ("int16", "int64"), ("uint16", "uint32"), ("uint32", "int32"),
              ("float32", "float64"), ("float32", "complex64"), ("float64", "complex64"),
              ("bool", "bool")]


@pytest.mark.parametrize("first,second", PROMOTABLE)
@FEW
@given(data=st.data())
def test_mixed_dtypes_promote_as_the_table(first: str, second: str, data: st.DataObject
                                           ) -> None:
    x1 = data.draw(hxp.arrays(getattr(strict, first), hxp.array_shapes(max_dims=2)))
    x2 = data.draw(hxp.arrays(getattr(strict, second), x1.shape))
    both("equal" if first == "bool" else "add", x1, x2)
    both("result_type", x1, x2)
    assert xp.result_type(getattr(xp, first), getattr(xp, second)) == numpy_of(
        strict.empty(0, dtype=strict.result_type(x1, x2))).dtype


@pytest.mark.parametrize("kind,scalar", [("integral", 3), ("real floating", -1.5),
                                         ("complex", 2j), ("bool", True), ("real floating", 2)])
@FEW
@given(data=st.data())
def test_python_scalars_take_the_array_dtype(kind: str, scalar: Any, data: st.DataObject
                                             ) -> None:
    x = data.draw(hxp.arrays(DTYPES[kind], shapes))
    both("multiply" if kind != "bool" else "logical_and", x, scalar)
    both("result_type", x, scalar)
    both("where", x if kind == "bool" else strict.isnan(x), scalar, x)


@SOME
@given(x=hxp.arrays(hxp.real_dtypes(), shapes), data=st.data())
def test_clip(x: Any, data: st.DataObject) -> None:
    bounds = data.draw(st.lists(hxp.from_dtype(x.dtype, **no_nan(x.dtype)), min_size=2,
                                max_size=2).map(sorted))  # min > max is unspecified
    low, high = (data.draw(st.sampled_from([None, b])) for b in bounds)
    both("clip", x, low, high)


def test_round_keeps_integers_and_rounds_halves_to_even() -> None:
    for dtype in ("uint8", "int64"):
        x = strict.asarray([0, 3, 250], dtype=getattr(strict, dtype))
        both("round", x)
    both("round", strict.asarray([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], dtype=strict.float32))
    both("round", strict.asarray([2.5 - 1.5j, 0.5 + 0.5j]))


# -- data types ----------------------------------------------------------------------

ALL = [d for d in xp.__array_namespace_info__().dtypes().values()]


def test_data_type_functions_agree_for_every_pair() -> None:
    oracle = strict.__array_namespace_info__().dtypes()
    for first in ALL:
        for second in ALL:
            a, b = oracle[first.name], oracle[second.name]
            assert xp.can_cast(first, second) == strict.can_cast(a, b), (first, second)
            try:
                expected = strict.result_type(a, b)
            except TypeError:  # the standard leaves it open: numpy's answer
                assert xp.result_type(first, second) == np.result_type(first, second)
            else:
                assert xp.result_type(first, second) == numpy_of(
                    strict.empty(0, dtype=expected)).dtype
        for kind in ("bool", "signed integer", "unsigned integer", "integral", "real floating",
                     "complex floating", "numeric", (first, "bool")):
            strict_kind = tuple(oracle[k.name] if isinstance(k, np.dtype) else k
                                for k in kind) if isinstance(kind, tuple) else kind
            assert xp.isdtype(first, kind) == strict.isdtype(oracle[first.name], strict_kind)
        if first.kind in "fc":
            mine, theirs = xp.finfo(first), strict.finfo(oracle[first.name])
            for field in ("bits", "eps", "max", "min", "smallest_normal"):
                assert getattr(mine, field) == getattr(theirs, field)
                assert type(getattr(mine, field)) is (int if field == "bits" else float)
            assert mine.dtype == numpy_of(strict.empty(0, dtype=theirs.dtype)).dtype
        if first.kind in "iu":
            mine_i, theirs_i = xp.iinfo(first), strict.iinfo(oracle[first.name])
            assert (mine_i.bits, mine_i.max, mine_i.min) == (theirs_i.bits, theirs_i.max,
                                                             theirs_i.min)
            assert type(mine_i.max) is int and mine_i.dtype == first


def test_result_type_needs_an_array_or_dtype_and_ignores_values() -> None:
    with pytest.raises(TypeError, match="at least one"):
        xp.result_type(1, 2.0)
    assert xp.result_type(xp.int8, 1000) == xp.int8
    assert xp.result_type(xp.float32, 1j, 2) == xp.complex64
    with pytest.raises(ValueError, match="kinds"):
        xp.isdtype(xp.int8, "integer")


@SOME
@given(x=hxp.arrays(hxp.scalar_dtypes(), shapes), dtype=hxp.scalar_dtypes())
def test_astype(x: Any, dtype: Any) -> None:
    if x.dtype in (strict.complex64, strict.complex128) and dtype not in (
            strict.complex64, strict.complex128):
        return  # the standard leaves complex to real unspecified; numpy warns
    lazy = xp.astype(lazy_of(x), numpy_of(strict.empty(0, dtype=dtype)).dtype)
    with quiet():
        assert_same(lazy, strict.astype(x, dtype))


# -- creation ------------------------------------------------------------------------


def strict_dtype(dtype: Any) -> Any:
    return None if dtype is None else getattr(strict, np.dtype(dtype).name)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@FEW
@given(shape=shapes, dtype=st.sampled_from([None, *ALL]))
def test_constant_creation(name: str, shape: tuple[int, ...], dtype: Any) -> None:
    result = getattr(xp, name)(shape, dtype=dtype)
    expected = getattr(strict, name)(shape, dtype=strict_dtype(dtype))
    if name == "empty":  # unspecified values: shape and dtype only
        assert result.shape == expected.shape and result.dtype == numpy_of(expected).dtype
    else:
        assert_same(result, expected)
    like = getattr(xp, name + "_like")(result, dtype=xp.int16)
    assert like.shape == shape and like.dtype == xp.int16


@FEW
@given(shape=shapes, value=st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) |
       st.complex_numbers(max_magnitude=3))
def test_full(shape: tuple[int, ...], value: Any) -> None:
    both("full", shape, value)
    x = strict.zeros(shape, dtype=strict.float32)
    if not isinstance(value, complex):
        both("full_like", x, value)


@SOME
@given(start=st.integers(-20, 20) | st.floats(-20, 20), stop=st.none() | st.integers(-20, 20)
       | st.floats(-20, 20), step=st.sampled_from([1, 2, -3, 0.5, -0.25, 0.37]),
       dtype=st.sampled_from([None, "float32", "float64", "int16", "int64"]))
def test_arange(start: Any, stop: Any, step: Any, dtype: Any) -> None:
    if dtype is not None and np.dtype(dtype).kind == "i" and not all(
            isinstance(v, int) for v in (start, stop, step) if v is not None):
        return  # the standard leaves float arguments with integer dtypes open
    if stop is None:
        both("arange", start, dtype=strict_dtype(dtype))
    else:
        both("arange", start, stop, step, dtype=strict_dtype(dtype))


@SOME
@given(start=st.integers(-9, 9) | st.floats(-9, 9), stop=st.integers(-9, 9) | st.floats(-9, 9)
       | st.complex_numbers(max_magnitude=9), num=st.integers(0, 9), endpoint=st.booleans(),
       dtype=st.sampled_from([None, "float32"]))
def test_linspace(start: Any, stop: Any, num: int, endpoint: bool, dtype: Any) -> None:
    if isinstance(stop, complex):
        dtype = None
    both("linspace", start, stop, num, endpoint=endpoint, dtype=strict_dtype(dtype))


@FEW
@given(n=st.integers(0, 5), m=st.none() | st.integers(0, 5), k=st.integers(-6, 6),
       dtype=st.sampled_from([None, "int8", "bool", "float32"]))
def test_eye(n: int, m: int | None, k: int, dtype: Any) -> None:
    both("eye", n, m, k=k, dtype=strict_dtype(dtype))


@pytest.mark.parametrize("name", ["tril", "triu"])
@FEW
@given(x=hxp.arrays(hxp.scalar_dtypes(), hxp.array_shapes(min_dims=2, max_dims=4, max_side=4)),
       k=st.integers(-4, 4))
def test_triangles(name: str, x: Any, k: int) -> None:
    both(name, x, k=k)


@FEW
@given(data=st.data(), count=st.integers(0, 3), indexing=st.sampled_from(["xy", "ij"]))
def test_meshgrid(data: st.DataObject, count: int, indexing: str) -> None:
    dtype = data.draw(hxp.numeric_dtypes())
    arrays = [data.draw(hxp.arrays(dtype, hxp.array_shapes(min_dims=1, max_dims=1, max_side=3)))
              for _ in range(count)]
    expected = strict.meshgrid(*arrays, indexing=indexing)
    result = xp.meshgrid(*lazy_of(arrays), indexing=indexing)
    assert isinstance(result, list)
    assert_same(result, list(expected))


@FEW
@given(x=hxp.arrays(hxp.scalar_dtypes(), shapes), dtype=st.none() | hxp.scalar_dtypes(),
       copy=st.sampled_from([None, True]))
def test_asarray(x: Any, dtype: Any, copy: Any) -> None:
    if dtype is not None and (x.dtype in (strict.complex64, strict.complex128)) != (
            dtype in (strict.complex64, strict.complex128)):
        return  # casts across complex are unspecified and warn in numpy
    values = numpy_of(x).copy()
    target = None if dtype is None else numpy_of(strict.empty(0, dtype=dtype)).dtype
    with quiet():  # casts of values out of range are undefined, and numpy warns
        expected = strict.asarray(x, dtype=dtype, copy=copy)
        for source in (values, xp.asarray(values)):
            assert_same(xp.asarray(source, dtype=target, copy=copy), expected)
    if values.size:  # Python values: of their own default dtypes unless told
        assert_same(xp.asarray(values.tolist(), dtype=values.dtype, copy=copy), x)
    assert_same(xp.from_dlpack(values), x)
    assert_same(xp.asarray(x), x)  # through DLPack


def test_asarray_copies_as_asked() -> None:
    values = np.arange(3.0)
    shared, copied = xp.asarray(values), xp.asarray(values, copy=True)
    values[0] = 9.0
    assert shared.ndarray()[0] == 9.0 and copied.ndarray()[0] == 0.0
    with pytest.raises(ValueError):
        xp.asarray(values, dtype=xp.float32, copy=False)
    with pytest.raises(ValueError):
        xp.asarray(xp.asarray(values), dtype=xp.float32, copy=False)
    assert xp.asarray(True).dtype == xp.bool and xp.asarray(2**40).dtype == xp.int64
    assert xp.asarray(1.5).dtype == xp.float64 and xp.asarray(1j).dtype == xp.complex128
    with pytest.raises(ValueError, match="gpu"):
        xp.asarray(values, device="gpu")


# -- manipulation ----------------------------------------------------------------------


@FEW
@given(data=st.data())
def test_broadcasting(data: st.DataObject) -> None:
    dtype = data.draw(hxp.scalar_dtypes())
    shapes_ = data.draw(hxp.mutually_broadcastable_shapes(3, max_dims=3, max_side=3))
    arrays = [data.draw(hxp.arrays(dtype, s)) for s in shapes_.input_shapes]
    expected = list(strict.broadcast_arrays(*arrays))
    result = xp.broadcast_arrays(*lazy_of(arrays))
    assert isinstance(result, list)
    assert_same(result, expected)
    both("broadcast_to", arrays[0], shapes_.result_shape)


@FEW
@given(data=st.data(), count=st.integers(1, 3), axis=st.none() | st.integers(-3, 2))
def test_concat_promotes(data: st.DataObject, count: int, axis: int | None) -> None:
    base = data.draw(hxp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    pair = data.draw(st.sampled_from(PROMOTABLE))
    arrays = []
    for i in range(count):
        shape = list(base)
        if axis is not None and -len(base) <= axis < len(base):
            shape[axis] = data.draw(st.integers(0, 3))
        arrays.append(data.draw(hxp.arrays(getattr(strict, pair[i % 2]), tuple(shape))))
    both("concat", arrays, axis=axis, invalid=True)  # axes out of range drawn too


@FEW
@given(data=st.data(), count=st.integers(1, 3), axis=st.integers(-4, 3))
def test_stack(data: st.DataObject, count: int, axis: int) -> None:
    shape = data.draw(shapes)
    pair = data.draw(st.sampled_from(PROMOTABLE))
    arrays = [data.draw(hxp.arrays(getattr(strict, pair[i % 2]), shape)) for i in range(count)]
    both("stack", arrays, axis=axis, invalid=True)


AXIS_FUNCTIONS: list[tuple[str, Callable[[Any, st.DataObject], tuple[tuple, dict]]]] = [
    ("expand_dims", lambda x, d: ((), {"axis": d.draw(st.integers(-x.ndim - 2, x.ndim + 1))})),
    ("flip", lambda x, d: ((), {"axis": d.draw(st.none() | hxp.valid_tuple_axes(x.ndim))})),
    ("moveaxis", lambda x, d: ((d.draw(st.integers(-x.ndim, x.ndim - 1)),
                                d.draw(st.integers(-x.ndim, x.ndim - 1))), {})
     if x.ndim else ((0, 0), {})),
    ("permute_dims", lambda x, d: ((), {"axes": tuple(d.draw(st.permutations(range(x.ndim))))})),
    ("squeeze", lambda x, d: ((), {"axis": d.draw(hxp.valid_tuple_axes(x.ndim))})),
    ("repeat", lambda x, d: ((d.draw(st.integers(0, 3)),),
                             {"axis": d.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
                              if x.ndim else None})),
    ("roll", lambda x, d: ((d.draw(st.integers(-5, 5)),),
                           {"axis": d.draw(st.none() | hxp.valid_tuple_axes(x.ndim, min_size=1))
                            if x.ndim else None})),
    ("tile", lambda x, d: ((tuple(d.draw(st.lists(st.integers(0, 2), max_size=4))),), {})),
    ("unstack", lambda x, d: ((), {"axis": d.draw(st.integers(-x.ndim, x.ndim - 1))})
     if x.ndim else ((), {})),
    ("matrix_transpose", lambda x, d: ((), {})),
    ("reshape", lambda x, d: ((d.draw(st.sampled_from(
        [(-1,), (x.size,), (1, x.size), (x.size, 1, 1), x.shape[::-1]])),), {})),
]


@pytest.mark.parametrize("name,arguments", AXIS_FUNCTIONS, ids=[n for n, _ in AXIS_FUNCTIONS])
@SOME
@given(x=hxp.arrays(hxp.scalar_dtypes(), shapes), data=st.data())
def test_manipulation(name: str, arguments: Any, x: Any, data: st.DataObject) -> None:
    args, kwargs = arguments(x, data)
    if name == "roll" and isinstance(kwargs.get("axis"), tuple):
        args = (tuple(data.draw(st.integers(-5, 5)) for _ in kwargs["axis"]),)
    if name == "squeeze":
        kwargs["axis"] = tuple(a for a in kwargs["axis"] if x.shape[a] == 1)
    # Axes out of range and arrays of too few dimensions are drawn for these: the same
    # errors; every other draw is valid, and compared.
    invalid = name in ("expand_dims", "moveaxis", "unstack", "matrix_transpose")
    both(name, x, *args, invalid=invalid, **kwargs)


def test_repeat_with_an_array_of_repeats_and_refuses_a_lazy_one() -> None:
    x = strict.asarray([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="data-dependent"):
        xp.repeat(lazy_of(x), xp.asarray([0, 2]), axis=1)
    assert_same(xp.repeat(lazy_of(x), np.array([0, 2]), axis=1),
                strict.repeat(x, strict.asarray([0, 2]), axis=1))


@FEW
@given(x=hxp.arrays(hxp.scalar_dtypes(), nonempty), data=st.data())
def test_take(x: Any, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    indices = strict.asarray(data.draw(st.lists(st.integers(-n, n - 1), max_size=5)),
                             dtype=strict.int64)
    both("take", x, indices, axis=axis)
    assert_same(xp.take(lazy_of(x), np.asarray(numpy_of(indices)), axis=axis),
                strict.take(x, indices, axis=axis))


# -- statistics, utility, searching ---------------------------------------------------

REDUCTIONS = {
    "sum": ("numeric", True), "prod": ("numeric", True), "mean": ("real floating", True),
    "std": ("real floating", True), "var": ("real floating", True), "min": ("real", False),
    "max": ("real", False), "all": ("numeric", False), "any": ("numeric", False),
    "count_nonzero": ("numeric", False),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@SOME
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(name: str, data: st.DataObject, keepdims: bool) -> None:
    kind, close = REDUCTIONS[name]
    # Empty reductions are unspecified for min and max, and NaN (warned) for mean.
    dtype = data.draw(DTYPES[kind])
    # Finite values, small enough for products not to overflow near the dtype's
    # limit (where accumulating in float64 and in float32 part ways).
    bound = 2 if name == "prod" else 100
    elements: Any = None
    if strict.isdtype(dtype, "real floating"):
        elements = {"allow_nan": False, "min_value": -bound, "max_value": bound}
    elif strict.isdtype(dtype, "complex floating"):
        elements = st.complex_numbers(max_magnitude=bound, allow_nan=False,
                                      allow_infinity=False,
                                      width=64 if dtype == strict.complex64 else 128)
    x = data.draw(hxp.arrays(dtype, shapes if name in ("sum", "prod", "all", "any") else nonempty,
                             elements=elements))
    axis = data.draw(st.none() | hxp.valid_tuple_axes(x.ndim))
    kwargs: dict[str, Any] = {"axis": axis, "keepdims": keepdims}
    if name in ("std", "var"):
        kwargs["correction"] = data.draw(st.sampled_from([0, 1, 0.5]))
    if name in ("sum", "prod") and x.dtype in (strict.int8, strict.float32):
        kwargs["dtype"] = data.draw(st.sampled_from([None, strict.float64]))
    if name == "prod" and kind == "numeric":
        close = True
    both(name, x, close=close, **kwargs)


@pytest.mark.parametrize("name", ["argmax", "argmin", "cumulative_sum", "cumulative_prod",
                                  "diff"])
@SOME
@given(data=st.data())
def test_along_an_axis(name: str, data: st.DataObject) -> None:
    dtype = data.draw(hxp.real_dtypes())
    x = data.draw(hxp.arrays(dtype, nonempty, elements=no_nan(dtype)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    kwargs: dict[str, Any] = {"axis": axis}
    if name.startswith("arg"):
        kwargs["keepdims"] = data.draw(st.booleans())
        if data.draw(st.booleans()):
            kwargs["axis"] = None
    elif name.startswith("cumulative"):
        kwargs["include_initial"] = data.draw(st.booleans())
        if x.dtype == strict.bool:
            return  # the standard leaves sums of booleans open
    else:
        kwargs["n"] = data.draw(st.integers(0, 2))
        if data.draw(st.booleans()):
            shape = tuple(1 if a == axis % x.ndim else n for a, n in enumerate(x.shape))
            kwargs["prepend"] = data.draw(hxp.arrays(x.dtype, shape))
    both(name, x, close=name == "cumulative_prod", **kwargs)


@FEW
@given(data=st.data())
def test_where(data: st.DataObject) -> None:
    dtype = data.draw(hxp.scalar_dtypes())
    shapes_ = data.draw(hxp.mutually_broadcastable_shapes(3, max_dims=3, max_side=3))
    condition = data.draw(hxp.arrays(strict.bool, shapes_.input_shapes[0]))
    x1 = data.draw(hxp.arrays(dtype, shapes_.input_shapes[1]))
    x2 = data.draw(hxp.arrays(dtype, shapes_.input_shapes[2]))
    both("where", condition, x1, x2)


# -- laziness --------------------------------------------------------------------------


def test_every_function_builds_without_reading() -> None:
    """Every function on a source that refuses reads: the result is built, shaped
    and typed, and nothing is read until it is realised."""
    source = xp.asarray(la.asarray(InaccessibleArray((3, 4), "f8")))
    ints = xp.asarray(la.asarray(InaccessibleArray((3, 4), "i4")))
    flags = xp.asarray(la.asarray(InaccessibleArray((3, 4), "?")))
    built = []
    with refusing_reads():
        for names in UNARY.values():
            for name in names:
                built.append(getattr(xp, name)(
                    ints if name.startswith("bitwise") else flags if name.startswith("logical")
                    else source))
        for names in BINARY.values():
            for name in names:
                operand = ints if "bitwise" in name else flags if "logical" in name else source
                built.append(getattr(xp, name)(operand, operand))
        built += [
            xp.clip(source, 0.0, 1.0), xp.astype(source, xp.float32), xp.tril(source),
            xp.triu(source, k=1), xp.zeros_like(source), xp.ones_like(source),
            xp.full_like(source, 2.0), xp.empty_like(source), *xp.meshgrid(source[0], source[1]),
            *xp.broadcast_arrays(source, source[0]), xp.broadcast_to(source[0], (2, 3, 4)),
            xp.concat([source, ints]), xp.concat([source, ints], axis=None),
            xp.stack([source, ints], axis=1), xp.expand_dims(source, axis=1),
            xp.flip(source), xp.moveaxis(source, 0, 1), xp.permute_dims(source, (1, 0)),
            xp.repeat(source, 2, axis=0), xp.repeat(source, 2), xp.reshape(source, (4, 3)),
            xp.roll(source, 1), xp.roll(source, (1, 2), axis=(0, 1)),
            xp.squeeze(source[None], 0), xp.tile(source, (2, 1)), *xp.unstack(source),
            xp.matrix_transpose(source), xp.take(source, np.array([2, 0]), axis=1),
            xp.asarray([source[0], source[1]]), xp.asarray(source, dtype=xp.float32),
            xp.where(flags, source, 0.0), xp.diff(source, axis=0, n=2, prepend=source),
        ]
        for name in ("sum", "prod", "mean", "std", "var", "min", "max", "all", "any",
                     "count_nonzero"):
            built.append(getattr(xp, name)(source, axis=0, keepdims=True))
        for name in ("argmax", "argmin", "cumulative_sum", "cumulative_prod"):
            built.append(getattr(xp, name)(source, axis=1))
        for built_one in built:
            assert isinstance(built_one, la.Array)
            assert built_one.shape is not None and built_one.dtype is not None
        with pytest.raises(AssertionError, match="read"):
            built[0].ndarray()
    assert xp.sum(xp.zeros((4, 3))).ndarray() == 0


def test_generated_arrays_evaluate_by_tiles() -> None:
    # Values computed per tile agree with numpy's, however the planner cuts.
    with la.set_options(chunk_bytes=256):
        ramp = xp.arange(0.5, 700.0, 0.75, dtype=xp.float32)
        assert ramp.numblocks[0] > 1
        np.testing.assert_array_equal(ramp.ndarray(), np.arange(0.5, 700.0, 0.75, "f4"),
                                      strict=True)
        space = xp.linspace(-3.0, 8.0, 1001)
        np.testing.assert_array_equal(space[::-3].ndarray(), np.linspace(-3.0, 8.0, 1001)[::-3],
                                      strict=True)
        diagonal = xp.eye(40, 50, k=3, dtype=xp.int16)
        np.testing.assert_array_equal(diagonal[5:, [0, 9, 4]].ndarray(),
                                      np.eye(40, 50, k=3, dtype="i2")[5:, [0, 9, 4]],
                                      strict=True)
    # Graphs of them pickle (for processes) and compute the same.
    graph = xp.tril(xp.reshape(xp.linspace(0, 1, 12), (3, 4))) + xp.eye(3, 4)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(graph)).ndarray(), graph.ndarray(),
                                  strict=True)
