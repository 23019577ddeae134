"""numpy.ma's fill-value rules, in one place.

A masked point of a lazy array becomes its node's fill value when the array
is realised as a plain ``ndarray``, and every node knows that value without
reading anything (:attr:`lazyarray.Array.fill_value`). The rules are
numpy.ma's, and every node kind takes them from here:

* the default of a dtype (:func:`default_fill_value`), and telling a value
  that stands for "unset" (:func:`is_default_fill_value`);
* what a value writes into an array of a dtype (:func:`written_value`,
  :func:`same_fill_value`; two values compared, NaN equal to NaN:
  :func:`same_scalar`), and how numpy.ma stores one given for a dtype
  (:func:`stored_fill_value`);
* what a result takes from its inputs: one input of another dtype
  (:func:`carried_fill_value`), the operands of a function
  (:func:`result_fill_value`), the members of a mosaic
  (:func:`joined_fill_value`);
* filling a computed ``MaskedArray`` (:func:`fill_masked`), and making one
  that holds numpy.ma's own unset value (:func:`fill_value_argument`).

The fill values that files declare (``_FillValue``, ``missing_value``) follow
the netCDF conventions, not numpy.ma: see :mod:`lazyarray.adapters.missingvalues`
and :mod:`lazyarray.cf`. ``docs/masked.md`` tells the rules as users see them.

This module is at the bottom of the package: it knows numpy, not nodes
(functions that take arrays read only their ``fill_value``, ``dtype`` and
``masked``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import FillValueError
from .foreign import is_masked_array

if TYPE_CHECKING:
    from .array import Array

__all__ = [
    "carried_fill_value",
    "default_fill_value",
    "fill_masked",
    "fill_value_argument",
    "is_default_fill_value",
    "joined_fill_value",
    "result_fill_value",
    "same_fill_value",
    "same_scalar",
    "stored_fill_value",
    "written_value",
]


#: numpy.ma's default fill values of the numeric kinds, in the widest type of
#: each kind, as ``numpy.ma.default_fill_value`` gives them.
_NUMERIC_DEFAULTS: dict[str, Any] = {
    "b": np.True_, "i": np.int64(999999), "u": np.uint64(999999),
    "f": np.float64(1e20), "c": np.complex128(1e20 + 0j),
}


@functools.cache
def default_fill_value(dtype: np.dtype) -> Any:
    """numpy.ma's default fill value for ``dtype``.

    numpy.ma keeps it in the widest type of the kind (999999 as an int64 for
    every integer type); filling casts it, so an ``int8`` array's masked
    points become 63. One exception: ``float16``, where numpy.ma's 1e20
    overflows (with a warning each time it is written or given as a fill
    value), has the infinity it writes.

    Examples
    --------
    >>> default_fill_value(np.dtype("float32")), default_fill_value(np.dtype("int8"))
    (np.float64(1e+20), np.int64(999999))
    >>> default_fill_value(np.dtype("float16"))
    np.float16(inf)
    """
    kind = np.dtype(dtype).kind
    if kind in _NUMERIC_DEFAULTS:
        # numpy.ma's values, known here: every evaluation asks for them, and
        # numpy.ma would otherwise be imported for them (tests/test_masking.py
        # checks them against numpy.ma for every numeric dtype).
        value = _NUMERIC_DEFAULTS[kind]
    else:
        value = np.ma.MaskedArray(np.empty(0, dtype)).fill_value
    if kind == "f" and np.dtype(dtype).itemsize < 4:
        return written_value(value, dtype)
    return value


def same_scalar(a: Any, b: Any) -> bool:
    """``a == b`` for two scalars, NaN (and NaT) equal to itself.

    Values that do not compare (a string and a number) are not the same.

    Examples
    --------
    >>> same_scalar(np.float32("nan"), float("nan")), same_scalar(np.int8(1), 2)
    (True, False)
    """
    try:
        if bool(a == b):
            return True
        return bool(np.isnan(a)) and bool(np.isnan(b))
    except (TypeError, ValueError):  # values that do not compare (a string and a number)
        return False


def is_default_fill_value(value: Any, dtype: np.dtype) -> bool:
    """Whether ``value`` is the default fill value of ``dtype`` arrays.

    numpy.ma tells an unset fill value (``None``: the default of whatever
    dtype a result has) from one that was set; lazyarray only has values,
    so a value that writes what the default writes stands for "unset".

    Examples
    --------
    >>> is_default_fill_value(np.int64(999999), np.dtype("i2"))
    True
    >>> is_default_fill_value(np.int16(16959), np.dtype("i2"))  # what 999999 writes
    True
    >>> is_default_fill_value(np.float32(-1), np.dtype("f4"))
    False
    """
    return same_fill_value(value, default_fill_value(dtype), dtype)


def written_value(value: Any, dtype: Any) -> Any:
    """What filling an array of ``dtype`` with ``value`` writes, as a scalar of ``dtype``.

    The cast of ``numpy.ma.MaskedArray.filled``: unsafe, so numpy.ma's default
    fill value 999999 becomes 63 in an ``int8`` array. Writers record this
    value, so that the file's metadata names what its masked points hold.

    Examples
    --------
    >>> written_value(np.int64(999999), "int8"), written_value(1e20, "float32")
    (np.int8(63), np.float32(1e+20))
    """
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(np.dtype(dtype))[()]


def same_fill_value(a: Any, b: Any, dtype: np.dtype) -> bool:
    """Whether fill values ``a`` and ``b`` write the same value into ``dtype`` arrays.

    Examples
    --------
    >>> same_fill_value(np.int64(999999), np.int16(16959), np.dtype("i2"))
    True
    >>> same_fill_value(np.float64(np.nan), np.float32(np.nan), np.dtype("f4"))
    True
    """
    if a is b:
        return True
    try:
        return same_scalar(written_value(a, dtype), written_value(b, dtype))
    except (TypeError, ValueError):
        return False


def carried_fill_value(value: Any, source: np.dtype, dtype: np.dtype) -> Any:
    """The fill value a result of ``dtype`` takes from an input of dtype ``source``.

    numpy.ma's rules, where they are well defined:

    1. An input without a fill value of its own (the default of its dtype,
       see :func:`is_default_fill_value`) gives the result the default of
       the result's dtype, as numpy.ma's unset fill value does.
    2. Otherwise the value is cast to ``dtype`` as numpy.ma's ``astype``
       casts it: integers wrap (300 becomes 44 in ``int8``), floats truncate
       towards zero in integer types, anything non-zero is true.
    3. Where that cast is undefined or lossy beyond rounding, the result
       takes its dtype's default instead (numpy.ma warns, or keeps a value
       of another kind that it then cannot write): a float that is NaN,
       infinite or out of range for an integer type, a float that
       overflows a smaller float type, a complex number for a real type,
       and values of another kind altogether (numbers and dates, say).

    Examples
    --------
    >>> i4, f8 = np.dtype("i4"), np.dtype("f8")
    >>> carried_fill_value(np.int32(7), i4, f8)  # an int set as fill value, into a float result
    np.float64(7.0)
    >>> carried_fill_value(np.int64(999999), i4, f8)  # the default: the result's default
    np.float64(1e+20)
    >>> carried_fill_value(np.float64(-1e30), f8, i4)  # out of int32's range: the default
    np.int64(999999)
    >>> carried_fill_value(np.float64(0.0), f8, np.dtype(bool))
    np.False_
    """
    source, dtype = np.dtype(source), np.dtype(dtype)
    if is_default_fill_value(value, source):
        return default_fill_value(dtype)
    item = np.asarray(value)
    if dtype.kind == "b":
        try:
            return np.bool_(bool(item))
        except (TypeError, ValueError):
            return default_fill_value(dtype)
    numbers = "biufc"
    if item.dtype.kind not in numbers or dtype.kind not in numbers:
        if item.dtype.kind == dtype.kind:  # dates to dates, strings to strings
            try:
                return item.astype(dtype)[()]
            except (TypeError, ValueError):
                pass
        return default_fill_value(dtype)
    if item.dtype.kind == "c" and dtype.kind != "c":
        return default_fill_value(dtype)  # numpy warns that it discards the imaginary part
    if item.dtype.kind == "f" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        # As Python numbers: compared in float16, int32's bounds would overflow.
        if not np.isfinite(item) or not info.min <= float(item) <= info.max:
            return default_fill_value(dtype)
    try:
        with np.errstate(over="raise", invalid="raise"):
            return item.astype(dtype)[()]
    except (FloatingPointError, OverflowError, TypeError, ValueError):
        return default_fill_value(dtype)


def fill_masked(value: np.ndarray, fill_value: Any) -> np.ndarray:
    """``value``'s data with its masked points set to ``fill_value``; a plain array.

    As ``MaskedArray.filled``, whose unsafe cast it makes (numpy.ma's
    default 999999 writes 63 into ``int8``), but without its warning where a
    default overflows (1e20 in ``float16`` writes infinity).

    Examples
    --------
    >>> fill_masked(np.ma.masked_array([1, 2], mask=[0, 1], dtype="i1"), np.int64(999999))
    array([ 1, 63], dtype=int8)
    """
    if not is_masked_array(value):
        return value
    masked: np.ma.MaskedArray = value  # type: ignore[assignment]
    return masked.filled(written_value(fill_value, masked.dtype))


def fill_value_argument(value: Any, dtype: np.dtype) -> Any:
    """``value`` as the ``fill_value`` argument of a ``MaskedArray`` of ``dtype``.

    ``None`` for the default, so that the result holds numpy.ma's own unset
    fill value, exactly as numpy.ma's results do (giving numpy.ma its default
    explicitly makes it cast it: 999999 becomes 63 for ``int8``, and 1e20
    overflows ``float16`` with a warning).

    Examples
    --------
    >>> fill_value_argument(np.float64(1e20), np.dtype("f2")) is None
    True
    >>> fill_value_argument(np.float32(-1), np.dtype("f4"))
    np.float32(-1.0)
    """
    return None if is_default_fill_value(value, dtype) else value


def stored_fill_value(value: Any, dtype: np.dtype) -> Any:
    """``value`` as numpy.ma stores it as the fill value of a ``dtype`` array.

    Raises
    ------
    lazyarray.FillValueError
        A ``TypeError``, as numpy.ma raises, when it does not fit.

    Examples
    --------
    >>> stored_fill_value(-1, np.dtype("f4"))
    np.float32(-1.0)
    >>> stored_fill_value(1000, np.dtype("i1"))
    Traceback (most recent call last):
    ...
    lazyarray.errors.FillValueError: fill_value 1000 cannot be stored in dtype int8: Cannot convert fill_value 1000 to dtype int8
    """
    try:
        return np.ma.MaskedArray(np.empty(0, dtype), fill_value=value).fill_value
    except TypeError as error:
        raise FillValueError(
            f"fill_value {value!r} cannot be stored in dtype {dtype}: {error}"
        ) from None


def result_fill_value(arrays: Sequence[Array], dtype: np.dtype) -> Any:
    """numpy.ma's fill value for a result of ``dtype`` computed from ``arrays``.

    numpy.ma's operations take the fill value of their first masked operand
    (scalars and plain arrays have none); here the first operand that is
    masked, else the first array (whose fill value is then the default),
    carried to ``dtype`` by :func:`carried_fill_value`.

    Examples
    --------
    >>> import lazyarray as la
    >>> m = la.asarray(np.ma.masked_array([1, 2], mask=[0, 1], fill_value=-9))
    >>> result_fill_value([la.asarray(np.zeros(2)), m], np.dtype("f8"))
    np.float64(-9.0)
    >>> result_fill_value([], np.dtype("f4"))
    np.float64(1e+20)
    """
    if not arrays:
        return default_fill_value(dtype)
    first = next((a for a in arrays if a.masked), arrays[0])
    return carried_fill_value(first.fill_value, first.dtype, dtype)


def joined_fill_value(arrays: Sequence[Array], dtype: np.dtype) -> Any:
    """The fill value of arrays joined into one (a mosaic, a stack) of ``dtype``.

    The masked members' fill value when they all agree, else the dtype's
    default. Members that are not masked have no masked points to fill, so
    their (default) fill values do not count: a masked file mosaicked with
    plain arrays keeps the file's fill value. Values agree when they write
    the same value into ``dtype``.

    Examples
    --------
    >>> import lazyarray as la
    >>> m = la.asarray(np.ma.masked_array([1.0], mask=[1], fill_value=-999))
    >>> joined_fill_value([la.asarray(np.zeros(2)), m], np.dtype("f8"))
    np.float64(-999.0)
    >>> other = la.asarray(np.ma.masked_array([1.0], mask=[1], fill_value=-1))
    >>> joined_fill_value([m, other], np.dtype("f8"))
    np.float64(1e+20)
    """
    members = [a for a in arrays if a.masked] or list(arrays)
    first = members[0].fill_value
    for other in members[1:]:
        if not same_fill_value(other.fill_value, first, dtype):
            return default_fill_value(dtype)
    return first
