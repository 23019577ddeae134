"""Elementwise maths: every numpy ufunc made lazy, and ``where``, ``clip``, ``astype``.

Every numpy ufunc of one or two inputs has a lazy counterpart here of the same
name (``add``, ``sqrt``, ``logical_and``...), plus Biggus's short names
(``sub``, ``mod``), :func:`where`, :func:`clip` and :func:`astype`. Operands
broadcast by numpy's rules, and result dtypes are numpy's own: the dtype is
found by calling the function on empty arrays, so numpy 2's promotion rules
(a Python scalar does not upcast ``float32``) hold by construction.

Indexing an elementwise node indexes its operands, so ``(a + b)[k]`` reads
only what ``k`` selects of ``a`` and ``b``.

Each builds an :class:`~lazyarray.elementwisenode.Elementwise` node (the
node, and how an expression is evaluated on a tile in as few arrays as it
can, are :mod:`lazyarray.elementwisenode`'s; the class is re-exported here).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(4, dtype=np.float32))
>>> y = la.sqrt(x) + 2.5
>>> y.dtype
dtype('float32')
>>> np.add(x, np.ones(4)).dtype  # numpy dispatches to the lazy ufunc
dtype('float64')
>>> y[::2].ndarray().tolist()
[2.5, 3.9142136573791504]

In masked mode each function is numpy.ma's (``log`` masks the logarithms of
negative numbers, ``divide`` masks division by zero), and a result carries
numpy.ma's fill value: that of its first masked operand, converted to the
result's dtype (see :func:`lazyarray.fillvalues.carried_fill_value`):

>>> m = la.asarray(np.ma.masked_array([4, -1, 9], mask=[0, 0, 1], fill_value=-99))
>>> r = la.sqrt(m)
>>> r.masked_array().tolist(), r.fill_value
([2.0, None, None], np.float64(-99.0))
>>> r.ndarray().tolist()  # masked points become the fill value
[2.0, -99.0, -99.0]
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .elementwisenode import (
    Elementwise,
    cast_values,
    clip_lower,
    clip_unbounded,
    clip_upper,
    clip_values,
    nth_output,
    typed_scalar,
    where_values,
)
from .errors import ShapeError
from .fillvalues import default_fill_value

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = [
    "Elementwise",
    "apply_ufunc",
    "astype",
    "clip",
    "is_operand",
    "iscomplex",
    "isreal",
    "where",
]


def is_operand(value: Any) -> bool:
    """Whether ``value`` can take part in lazy elementwise maths."""
    return isinstance(value, (Array, np.ndarray, numbers.Number, np.generic, list, tuple)) or all(
        hasattr(value, name) for name in ("shape", "dtype", "__getitem__")
    )


#: Ufuncs whose numpy.ma counterparts give results the default fill value,
#: not their first operand's: ``maximum`` and ``minimum`` are ``numpy.ma.where``
#: underneath, and the shifts build a new masked array (numpy.ma then takes
#: the shift count's fill value when it is a masked array, which lazyarray
#: does not copy: the count is not the data).
_DEFAULT_FILL_VALUE = frozenset({np.maximum, np.minimum, np.left_shift, np.right_shift})


@functools.cache  # one per ufunc, asked for every node built
def _masked_counterpart(ufunc: np.ufunc) -> Callable[..., Any]:
    """numpy.ma's version of ``ufunc`` (see :func:`_numpy_ma_version`), found
    when first called: numpy loads numpy.ma on first use, which plain data
    never needs."""
    return _MaskedCounterpart(ufunc)


class _MaskedCounterpart:
    """A ufunc's numpy.ma version, looked up when first called (picklable)."""

    __slots__ = ("_found", "ufunc")

    def __init__(self, ufunc: np.ufunc):
        self.ufunc = ufunc
        self._found: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        found = self._found
        if found is None:
            found = self._found = _numpy_ma_version(self.ufunc)
        return found(*args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_masked_counterpart, (self.ufunc,))


def _numpy_ma_version(ufunc: np.ufunc) -> Callable[..., Any]:
    """numpy.ma's version of a ufunc where it has one (it masks domain errors).

    Some are plain functions rather than masked ufuncs: ``np.ma.power`` masks
    invalid results, as the domained ufuncs do, so it is the one to use. The
    shifts are not: numpy.ma's mask only the shifted array's masked points
    with its own shape, and fail when the shift count broadcasts it; the
    ufunc on masked arrays masks both operands' points, broadcast, which is
    what numpy.ma gives wherever it works.
    """
    counterpart = getattr(np.ma, ufunc.__name__, None)
    if not callable(counterpart) or ufunc in (np.left_shift, np.right_shift):
        return ufunc
    return functools.partial(_call_masked, counterpart)


def _call_masked(counterpart: Callable[..., Any], *args: Any) -> Any:
    """Call a numpy.ma function with Python scalars typed as numpy 2 types them.

    numpy.ma turns a Python scalar into a 0-d array of its default dtype, so
    ``float32_data == 0.1`` would compare in float64 and disagree with numpy
    (and with the node's declared dtype); give each scalar the dtype numpy 2's
    weak promotion gives it against the arrays instead.
    """
    dtypes = [a.dtype for a in args if isinstance(a, (np.ndarray, np.generic))]
    return counterpart(*(typed_scalar(a, dtypes) for a in args))


class DeclaredFunction:
    """An elementwise function of declared output dtype, as :func:`apply_ufunc` calls it.

    ``func`` (``np.vectorize``, ``np.frompyfunc``, a numba ``@vectorize``, any
    callable that maps broadcast arrays to an array of their shape) is never
    called on empty inputs, which some of them refuse: their result is an
    empty array of ``dtype``, which is how the node learns its dtype. Its
    results are converted to ``dtype`` (as ``numpy.asarray`` converts).
    In masked mode (:meth:`masked`), ``func`` sees the data, and a point
    masked in any operand is masked in the result, as numpy.ma does for
    its ufuncs.
    """

    def __init__(self, func: Callable[..., Any], dtype: np.dtype):
        self.func = func
        self.dtype = dtype
        self.__name__ = getattr(func, "__name__", None) or type(func).__name__

    def __call__(self, *args: Any) -> np.ndarray:
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        if 0 in shape:
            return np.empty(shape, self.dtype)
        result = np.asarray(self.func(*args), dtype=self.dtype)
        if result.shape != shape:
            raise ShapeError(f"apply_ufunc: {self.__name__} returned shape {result.shape} "
                             f"for operands broadcast to {shape}; an elementwise function "
                             "keeps the shape")
        return result

    def masked(self, *args: Any) -> np.ndarray:
        """``func`` of the data of masked operands, masked where any operand is."""
        result = self(*(np.ma.getdata(a) for a in args))
        mask = np.zeros(result.shape, bool)
        for operand in args:
            if isinstance(operand, np.ma.MaskedArray):
                mask |= np.ma.getmaskarray(operand)  # broadcast to the result's shape
        return np.ma.MaskedArray(result, mask=mask)


def apply_ufunc(ufunc: Callable[..., Any], *operands: Any, dtype: DTypeLike | None = None) -> Any:
    """Apply a numpy ufunc, or any elementwise function of declared dtype, lazily.

    Parameters
    ----------
    ufunc : numpy.ufunc or callable
        A numpy ufunc (its result dtypes are numpy's; a tuple of lazy arrays
        for ufuncs with several outputs), or any callable that maps
        broadcast arrays to one array of their shape: ``np.vectorize``,
        ``np.frompyfunc``, numba's ``@vectorize``... which then needs
        ``dtype``.
    *operands : array_like
        Lazy arrays, ndarrays or scalars, broadcast together.
    dtype : dtype, optional
        The result's dtype: required for a callable that is not a numpy
        ufunc; for a ufunc of one output, its result is converted to it.

    Examples
    --------
    >>> import numpy as np
    >>> q, r = apply_ufunc(np.divmod, np.array([7, 8]), 3)
    >>> q.ndarray().tolist(), r.ndarray().tolist()
    ([2, 2], [1, 2])
    >>> step = np.vectorize(lambda v: 1.0 if v > 1 else 0.0)
    >>> apply_ufunc(step, np.arange(4), dtype="f4").ndarray()
    array([0., 0., 1., 1.], dtype=float32)
    """
    if dtype is not None:
        if isinstance(ufunc, np.ufunc) and ufunc.nout != 1:
            raise TypeError(f"apply_ufunc: dtype= is for functions of one output; "
                            f"{ufunc.__name__} has {ufunc.nout}")
        declared = DeclaredFunction(ufunc, np.dtype(dtype))
        return Elementwise(declared, operands, masked_func=declared.masked,
                           name=declared.__name__)
    if not isinstance(ufunc, np.ufunc):
        name = getattr(ufunc, "__name__", None) or type(ufunc).__name__
        raise TypeError(f"apply_ufunc: {name} is not a numpy ufunc, so its result dtype is "
                        f"unknown: give it, as apply_ufunc({name}, ..., dtype=...)")
    if ufunc.signature is not None:
        raise TypeError(f"{ufunc.__name__} is a generalised ufunc; only elementwise ufuncs are lazy")
    if len(operands) != ufunc.nin:
        raise TypeError(
            f"{ufunc.__name__} takes {ufunc.nin} operand(s), got {len(operands)}"
        )
    masked = _masked_counterpart(ufunc)
    fill_value = default_fill_value if ufunc in _DEFAULT_FILL_VALUE else None
    if ufunc.nout == 1:
        return Elementwise(ufunc, operands, masked_func=masked, name=ufunc.__name__,
                           fill_value=fill_value)
    return tuple(
        Elementwise(
            functools.partial(nth_output, ufunc, i),
            operands,
            masked_func=functools.partial(nth_output, masked, i) if masked is not ufunc else None,
            name=ufunc.__name__,
        )
        for i in range(ufunc.nout)
    )


def _lazy(ufunc: np.ufunc) -> Callable[..., Any]:
    def wrapper(*operands: Any) -> Any:
        return apply_ufunc(ufunc, *operands)

    wrapper.__name__ = wrapper.__qualname__ = ufunc.__name__
    wrapper.__doc__ = (
        f"Lazy ``numpy.{ufunc.__name__}``: {ufunc.nin} operand(s), numpy's broadcasting "
        "and dtype rules; returns a lazy array"
        + (" (a tuple of them)." if ufunc.nout > 1 else ".")
    )
    return wrapper


def isreal(x: Any) -> Array:
    """Lazy ``numpy.isreal``: whether each element has no imaginary part.

    Not a ufunc in numpy (it compares ``imag(x)`` with 0), so lazily an
    elementwise node of boolean dtype; every element of a real array is real.
    Masked points stay masked.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.isreal(np.array([1 + 1j, 2 + 0j, 3])).ndarray().tolist()
    [False, True, True]
    """
    return apply_ufunc(np.isreal, x, dtype=np.bool_)


def iscomplex(x: Any) -> Array:
    """Lazy ``numpy.iscomplex``: whether each element has a non-zero imaginary part.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.iscomplex(np.array([1 + 1j, 2 + 0j, 3])).ndarray().tolist()
    [True, False, False]
    """
    return apply_ufunc(np.iscomplex, x, dtype=np.bool_)


def astype(array: Any, dtype: DTypeLike) -> Array:
    """Cast lazily to ``dtype``, with numpy's unsafe casting as ``ndarray.astype``.

    The fill value is cast too, as numpy.ma casts it, except that one that
    does not fit (``1e20`` in an integer type) gives the new dtype's default
    rather than an undefined number (see
    :func:`~lazyarray.fillvalues.carried_fill_value`).

    Examples
    --------
    >>> import numpy as np
    >>> astype(np.array([1.7, -1.7]), "i2").ndarray()
    array([ 1, -1], dtype=int16)
    >>> m = np.ma.masked_array([1.5, 2.5], mask=[0, 1], fill_value=-9.5)
    >>> astype(m, "i2").fill_value
    np.int16(-9)
    """
    array = asarray(array)
    dtype = np.dtype(dtype)
    if dtype == array.dtype:
        return array
    return Elementwise(functools.partial(cast_values, dtype=dtype), [array], name="astype")


def where(condition: Any, x: Any, y: Any) -> Array:
    """Elements of ``x`` where ``condition`` holds, else of ``y``; lazily.

    Examples
    --------
    >>> import numpy as np
    >>> where(np.array([True, False]), 1, np.array([5.0, 6.0])).ndarray().tolist()
    [1.0, 6.0]

    In masked mode it is ``numpy.ma.where``: masked where the chosen value
    is masked or the condition is, with the default fill value (numpy.ma's
    ``where`` keeps none of its operands').
    """
    return Elementwise(where_values, [condition, x, y], name="where",
                       fill_value=default_fill_value)


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Array:
    """Limit values to ``[a_min, a_max]`` (either may be ``None``), as ``numpy.clip``.

    Examples
    --------
    >>> import numpy as np
    >>> clip(np.arange(5), 1, 3).ndarray().tolist()
    [1, 1, 2, 3, 3]
    """
    operands = [a] + [bound for bound in (a_min, a_max) if bound is not None]
    if a_min is None and a_max is None:
        # numpy 2.0 refuses this, later versions copy: the probe does as numpy does.
        return Elementwise(clip_unbounded, operands, name="clip")
    if a_min is None:
        return Elementwise(clip_upper, operands, name="clip")
    if a_max is None:
        return Elementwise(clip_lower, operands, name="clip")
    return Elementwise(clip_values, operands, name="clip")


# Every elementwise numpy ufunc of one or two inputs, under numpy's own names.
absolute = _lazy(np.absolute)
abs = absolute
add = _lazy(np.add)
arccos = _lazy(np.arccos)
arccosh = _lazy(np.arccosh)
arcsin = _lazy(np.arcsin)
arcsinh = _lazy(np.arcsinh)
arctan = _lazy(np.arctan)
arctan2 = _lazy(np.arctan2)
arctanh = _lazy(np.arctanh)
acos, acosh, asin, asinh, atan, atan2, atanh = (
    arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
)
bitwise_and = _lazy(np.bitwise_and)
bitwise_count = _lazy(np.bitwise_count)
bitwise_or = _lazy(np.bitwise_or)
bitwise_xor = _lazy(np.bitwise_xor)
invert = _lazy(np.invert)
bitwise_not = bitwise_invert = invert
cbrt = _lazy(np.cbrt)
ceil = _lazy(np.ceil)
conjugate = _lazy(np.conjugate)
conj = conjugate
copysign = _lazy(np.copysign)
cos = _lazy(np.cos)
cosh = _lazy(np.cosh)
deg2rad = _lazy(np.deg2rad)
degrees = _lazy(np.degrees)
divmod = _lazy(np.divmod)
equal = _lazy(np.equal)
exp = _lazy(np.exp)
exp2 = _lazy(np.exp2)
expm1 = _lazy(np.expm1)
fabs = _lazy(np.fabs)
float_power = _lazy(np.float_power)
floor = _lazy(np.floor)
floor_divide = _lazy(np.floor_divide)
fmax = _lazy(np.fmax)
fmin = _lazy(np.fmin)
fmod = _lazy(np.fmod)
frexp = _lazy(np.frexp)
gcd = _lazy(np.gcd)
greater = _lazy(np.greater)
greater_equal = _lazy(np.greater_equal)
heaviside = _lazy(np.heaviside)
hypot = _lazy(np.hypot)
isfinite = _lazy(np.isfinite)
isinf = _lazy(np.isinf)
isnan = _lazy(np.isnan)
isnat = _lazy(np.isnat)
lcm = _lazy(np.lcm)
ldexp = _lazy(np.ldexp)
left_shift = _lazy(np.left_shift)
bitwise_left_shift = left_shift
less = _lazy(np.less)
less_equal = _lazy(np.less_equal)
log = _lazy(np.log)
log10 = _lazy(np.log10)
log1p = _lazy(np.log1p)
log2 = _lazy(np.log2)
logaddexp = _lazy(np.logaddexp)
logaddexp2 = _lazy(np.logaddexp2)
logical_and = _lazy(np.logical_and)
logical_not = _lazy(np.logical_not)
logical_or = _lazy(np.logical_or)
logical_xor = _lazy(np.logical_xor)
maximum = _lazy(np.maximum)
minimum = _lazy(np.minimum)
remainder = _lazy(np.remainder)
mod = remainder
modf = _lazy(np.modf)
multiply = _lazy(np.multiply)
negative = _lazy(np.negative)
nextafter = _lazy(np.nextafter)
not_equal = _lazy(np.not_equal)
positive = _lazy(np.positive)
power = _lazy(np.power)
pow = power
rad2deg = _lazy(np.rad2deg)
radians = _lazy(np.radians)
reciprocal = _lazy(np.reciprocal)
right_shift = _lazy(np.right_shift)
bitwise_right_shift = right_shift
rint = _lazy(np.rint)
sign = _lazy(np.sign)
signbit = _lazy(np.signbit)
sin = _lazy(np.sin)
sinh = _lazy(np.sinh)
spacing = _lazy(np.spacing)
sqrt = _lazy(np.sqrt)
square = _lazy(np.square)
subtract = _lazy(np.subtract)
sub = subtract
tan = _lazy(np.tan)
tanh = _lazy(np.tanh)
divide = _lazy(np.divide)
true_divide = divide
trunc = _lazy(np.trunc)

