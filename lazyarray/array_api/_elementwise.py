"""The standard's elementwise functions, lazily, under its names.

Each is numpy's ufunc made lazy (:mod:`lazyarray.elementwise`): numpy's
results, special cases and broadcasting, and numpy 2's promotion, which is the
standard's where the standard has one (a Python scalar takes the dtype of the
array it meets). Besides the ufuncs: ``round`` (half to even, integers kept
as they are), ``real``, ``imag``, ``conj`` and ``clip``.

Examples
--------
>>> import lazyarray.array_api as xp
>>> x = xp.asarray([0.5, 1.5, 2.5], dtype=xp.float32)
>>> xp.round(x).ndarray().tolist(), xp.round(x).dtype
([0.0, 2.0, 2.0], dtype('float32'))
>>> xp.round(xp.asarray([3], dtype=xp.uint8)).dtype
dtype('uint8')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import elementwise
from ..adapters import asarray
from ..array import Array

__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "ceil", "clip", "conj", "copysign", "cos",
    "cosh", "divide", "equal", "exp", "expm1", "floor", "floor_divide", "greater",
    "greater_equal", "hypot", "imag", "isfinite", "isinf", "isnan", "less",
    "less_equal", "log", "log1p", "log2", "log10", "logaddexp", "logical_and",
    "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
    "negative", "nextafter", "not_equal", "positive", "pow", "real", "reciprocal",
    "remainder", "round", "sign", "signbit", "sin", "sinh", "sqrt", "square",
    "subtract", "tan", "tanh", "trunc",
]


def _unary(ufunc: np.ufunc, name: str) -> Callable[[Any], Array]:
    def function(x: Any, /) -> Array:
        return elementwise.apply_ufunc(ufunc, x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"The standard's ``{name}``: lazy ``numpy.{ufunc.__name__}`` of ``x``, "
                        "numpy's dtype rules.")
    return function


def _binary(ufunc: np.ufunc, name: str) -> Callable[[Any, Any], Array]:
    def function(x1: Any, x2: Any, /) -> Array:
        return elementwise.apply_ufunc(ufunc, x1, x2)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"The standard's ``{name}``: lazy ``numpy.{ufunc.__name__}``, "
                        "operands broadcast, a Python scalar taking the other's dtype.")
    return function


abs = _unary(np.absolute, "abs")
acos = _unary(np.arccos, "acos")
acosh = _unary(np.arccosh, "acosh")
asin = _unary(np.arcsin, "asin")
asinh = _unary(np.arcsinh, "asinh")
atan = _unary(np.arctan, "atan")
atanh = _unary(np.arctanh, "atanh")
bitwise_invert = _unary(np.invert, "bitwise_invert")
ceil = _unary(np.ceil, "ceil")
cos = _unary(np.cos, "cos")
cosh = _unary(np.cosh, "cosh")
exp = _unary(np.exp, "exp")
expm1 = _unary(np.expm1, "expm1")
floor = _unary(np.floor, "floor")
isfinite = _unary(np.isfinite, "isfinite")
isinf = _unary(np.isinf, "isinf")
isnan = _unary(np.isnan, "isnan")
log = _unary(np.log, "log")
log1p = _unary(np.log1p, "log1p")
log2 = _unary(np.log2, "log2")
log10 = _unary(np.log10, "log10")
logical_not = _unary(np.logical_not, "logical_not")
negative = _unary(np.negative, "negative")
positive = _unary(np.positive, "positive")
reciprocal = _unary(np.reciprocal, "reciprocal")
sign = _unary(np.sign, "sign")
signbit = _unary(np.signbit, "signbit")
sin = _unary(np.sin, "sin")
sinh = _unary(np.sinh, "sinh")
sqrt = _unary(np.sqrt, "sqrt")
square = _unary(np.square, "square")
tan = _unary(np.tan, "tan")
tanh = _unary(np.tanh, "tanh")
trunc = _unary(np.trunc, "trunc")

add = _binary(np.add, "add")
atan2 = _binary(np.arctan2, "atan2")
bitwise_and = _binary(np.bitwise_and, "bitwise_and")
bitwise_left_shift = _binary(np.left_shift, "bitwise_left_shift")
bitwise_or = _binary(np.bitwise_or, "bitwise_or")
bitwise_right_shift = _binary(np.right_shift, "bitwise_right_shift")
bitwise_xor = _binary(np.bitwise_xor, "bitwise_xor")
copysign = _binary(np.copysign, "copysign")
divide = _binary(np.divide, "divide")
equal = _binary(np.equal, "equal")
floor_divide = _binary(np.floor_divide, "floor_divide")
greater = _binary(np.greater, "greater")
greater_equal = _binary(np.greater_equal, "greater_equal")
hypot = _binary(np.hypot, "hypot")
less = _binary(np.less, "less")
less_equal = _binary(np.less_equal, "less_equal")
logaddexp = _binary(np.logaddexp, "logaddexp")
logical_and = _binary(np.logical_and, "logical_and")
logical_or = _binary(np.logical_or, "logical_or")
logical_xor = _binary(np.logical_xor, "logical_xor")
maximum = _binary(np.maximum, "maximum")
minimum = _binary(np.minimum, "minimum")
multiply = _binary(np.multiply, "multiply")
nextafter = _binary(np.nextafter, "nextafter")
not_equal = _binary(np.not_equal, "not_equal")
pow = _binary(np.power, "pow")
remainder = _binary(np.remainder, "remainder")
subtract = _binary(np.subtract, "subtract")


def round(x: Any, /) -> Array:
    """Round to the nearest integer, halves to even, keeping the dtype.

    Integer arrays are already whole: they are returned as they are (where
    ``numpy.rint`` would make them floats). Complex numbers round both parts.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.round(xp.asarray([-1.5, 0.5, 2.5 + 0.5j])).ndarray().tolist()
    [(-2+0j), 0j, (2+0j)]
    """
    array = asarray(x)
    if array.dtype.kind in "biu":
        return array
    # rint keeps float32 and complex64: half to even, as the standard asks.
    return elementwise.apply_ufunc(np.rint, array)


def real(x: Any, /) -> Array:
    """The real part of a complex array (float of its precision); a real array itself.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.real(xp.asarray([1 + 2j], dtype=xp.complex64)).dtype
    dtype('float32')
    """
    return asarray(x).real


def imag(x: Any, /) -> Array:
    """The imaginary part of a complex array; zeros of a real one (reading nothing).

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.imag(xp.asarray([1 + 2j])).ndarray().tolist()
    [2.0]
    """
    return asarray(x).imag


def conj(x: Any, /) -> Array:
    """The complex conjugate; a real array itself.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.conj(xp.asarray([1 + 2j])).ndarray().tolist()
    [(1-2j)]
    """
    return asarray(x).conj()


def clip(x: Any, /, min: Any = None, max: Any = None) -> Array:
    """Limit ``x`` to ``[min, max]`` (arrays or scalars; either may be ``None``).

    The result has ``x``'s dtype, as the standard asks, even where numpy
    would promote it with array bounds of another dtype.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.clip(xp.asarray([1, 5, 9], dtype=xp.int8), 2, 6).ndarray().tolist()
    [2, 5, 6]
    """
    array = asarray(x)
    if min is None and max is None:
        return array
    clipped = elementwise.clip(array, min, max)
    return clipped if clipped.dtype == array.dtype else clipped.astype(array.dtype)
