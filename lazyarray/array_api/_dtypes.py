"""The standard's data types, constants and data type functions.

The dtypes are numpy's (``float64 is numpy.dtype("float64")``), so a lazy
array's ``dtype`` compares equal to them. Promotion follows the standard's
table where it has an answer; where it leaves the answer open (integers with
floats, ``int64`` with ``uint64``, ``bool`` with numbers) it is numpy's, which
is what lazyarray's functions compute. Python scalars are weak and values
never change a result's dtype (no value-based casting).

Examples
--------
>>> import lazyarray.array_api as xp
>>> xp.result_type(xp.int8, xp.uint8), xp.result_type(xp.float32, 1.0)
(dtype('int16'), dtype('float32'))
>>> xp.can_cast(xp.int64, xp.float64), xp.can_cast(xp.int8, xp.int16)
(False, True)
>>> xp.finfo(xp.float32).eps
1.1920928955078125e-07
"""

from __future__ import annotations

import builtins
import dataclasses
import math
from typing import Any

import numpy as np

from ..array import Array

__all__ = [
    "astype",
    "bool",
    "can_cast",
    "complex64",
    "complex128",
    "e",
    "finfo",
    "float32",
    "float64",
    "iinfo",
    "inf",
    "int8",
    "int16",
    "int32",
    "int64",
    "isdtype",
    "nan",
    "newaxis",
    "pi",
    "result_type",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

bool = np.dtype("bool")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
complex64 = np.dtype("complex64")
complex128 = np.dtype("complex128")

e = math.e
inf = math.inf
nan = math.nan
pi = math.pi
newaxis = None

#: The standard's dtypes by kind, as ``isdtype`` names the kinds.
KINDS: dict[str, tuple[np.dtype, ...]] = {
    "bool": (bool,),
    "signed integer": (int8, int16, int32, int64),
    "unsigned integer": (uint8, uint16, uint32, uint64),
    "real floating": (float32, float64),
    "complex floating": (complex64, complex128),
}
KINDS["integral"] = KINDS["signed integer"] + KINDS["unsigned integer"]
KINDS["numeric"] = KINDS["integral"] + KINDS["real floating"] + KINDS["complex floating"]
ALL_DTYPES = KINDS["bool"] + KINDS["numeric"]

#: The defaults: the dtype of ``asarray`` of a Python int, float or complex.
DEFAULT_INT, DEFAULT_FLOAT, DEFAULT_COMPLEX = int64, float64, complex128
#: The dtype of indices (``argmax``, ``count_nonzero``).
DEFAULT_INDEX = int64


def check_device(device: Any, operation: str) -> None:
    """Refuse a device other than the one lazyarray computes on.

    Examples
    --------
    >>> check_device("gpu", "zeros")
    Traceback (most recent call last):
    ...
    ValueError: zeros: expected device None or 'cpu', found 'gpu'
    """
    if device not in (None, "cpu"):
        raise ValueError(f"{operation}: expected device None or 'cpu', found {device!r}")


def as_dtype(dtype: Any, operation: str) -> np.dtype:
    """``dtype`` as a numpy dtype, refusing what names none (a kind string...)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{operation}: expected a dtype, found {dtype!r}") from None


def scalar_dtype(value: Any, operation: str) -> np.dtype:
    """The default dtype of a Python scalar (``True`` → bool, ``1`` → int64...)."""
    for kind, dtype in ((builtins.bool, bool), (int, DEFAULT_INT), (float, DEFAULT_FLOAT),
                        (complex, DEFAULT_COMPLEX)):
        if isinstance(value, kind):
            return dtype
    raise TypeError(f"{operation}: expected a bool, int, float or complex, "
                    f"found {type(value).__name__}")


def _standard_promotion(first: np.dtype, second: np.dtype) -> np.dtype | None:
    """The standard's promotion table: the dtype of ``first`` with ``second``,
    or ``None`` where the table has none (mixed kinds, ``uint64`` with signed)."""
    if first == second:
        return first
    kinds = {first.kind, second.kind}
    if kinds == {"i", "u"}:
        signed, unsigned = (first, second) if first.kind == "i" else (second, first)
        if signed.itemsize > unsigned.itemsize:
            return signed
        if unsigned.itemsize == 8:
            return None
        return np.dtype(f"i{2 * unsigned.itemsize}")
    if len(kinds) == 1 and first.kind in "iuf":
        return builtins.max(first, second, key=lambda d: d.itemsize)
    if kinds <= {"f", "c"}:
        # The complex dtype whose parts hold both.
        part = builtins.max(d.itemsize if d.kind == "f" else d.itemsize // 2
                            for d in (first, second))
        return np.dtype(f"c{2 * part}")
    return None


def astype(x: Any, dtype: Any, /, *, copy: builtins.bool = True, device: Any = None) -> Array:
    """Cast ``x`` to ``dtype`` lazily (numpy's unsafe casting).

    A lazy array is never written into, so ``copy=False`` to the array's own
    dtype gives ``x`` itself and ``copy=True`` a cast that reads when realised.

    Examples
    --------
    >>> import numpy as np, lazyarray.array_api as xp
    >>> xp.astype(xp.asarray([1.5, -2.5]), xp.int16).ndarray()
    array([ 1, -2], dtype=int16)
    """
    check_device(device, "astype")
    return _array(x, "astype").astype(as_dtype(dtype, "astype"), copy=copy)


def _array(x: Any, operation: str) -> Array:
    if not isinstance(x, Array):
        raise TypeError(f"{operation}: expected a lazyarray array, found {type(x).__name__}")
    return x


def _dtype_of(value: Any, operation: str) -> np.dtype:
    if isinstance(value, (Array, np.ndarray, np.generic)):
        # numpy's arrays and scalars have their dtype (libraries mix them in).
        return value.dtype
    if isinstance(value, np.dtype) or (isinstance(value, type) and
                                       issubclass(value, np.generic)):
        return np.dtype(value)
    raise TypeError(f"{operation}: expected a dtype or an array, found {value!r}")


def can_cast(from_: Any, to: Any, /) -> builtins.bool:
    """Whether ``from_`` (a dtype or array) promotes to ``to`` by the standard's table.

    Unlike ``numpy.can_cast``, no cast across kinds is allowed: not ``bool``
    to integers, nor integers to floats.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.can_cast(xp.uint8, xp.int16), xp.can_cast(xp.bool, xp.int8)
    (True, False)
    """
    source = _dtype_of(from_, "can_cast")
    target = _dtype_of(to, "can_cast")
    promoted = _standard_promotion(source, target)
    # Not ``promoted == target``: numpy's dtypes compare equal to None (float64).
    return promoted is not None and promoted == target


@dataclasses.dataclass(frozen=True)
class finfo_object:
    """Machine limits of a floating-point dtype, as Python floats.

    For a complex dtype, those of its real and imaginary parts, whose dtype
    ``dtype`` is.
    """

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype


@dataclasses.dataclass(frozen=True)
class iinfo_object:
    """Limits of an integer dtype, as Python ints."""

    bits: int
    max: int
    min: int
    dtype: np.dtype


def finfo(type: Any, /) -> finfo_object:
    """Machine limits of a floating-point dtype (or an array's), as Python floats.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> info = xp.finfo(xp.complex64)
    >>> info.bits, info.dtype, info.max
    (32, dtype('float32'), 3.4028234663852886e+38)
    """
    dtype = _dtype_of(type, "finfo")
    if dtype.kind not in "fc":
        raise TypeError(f"finfo: expected a floating-point dtype, found {dtype}")
    info = np.finfo(dtype)
    return finfo_object(bits=info.bits, eps=float(info.eps), max=float(info.max),
                        min=float(info.min), smallest_normal=float(info.smallest_normal),
                        dtype=np.dtype(info.dtype))


def iinfo(type: Any, /) -> iinfo_object:
    """Limits of an integer dtype (or an array's), as Python ints.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.iinfo(xp.int8)
    iinfo_object(bits=8, max=127, min=-128, dtype=dtype('int8'))
    """
    dtype = _dtype_of(type, "iinfo")
    if dtype.kind not in "iu":
        raise TypeError(f"iinfo: expected an integer dtype, found {dtype}")
    info = np.iinfo(dtype)
    return iinfo_object(bits=info.bits, max=int(info.max), min=int(info.min), dtype=dtype)


def isdtype(dtype: Any, kind: Any) -> builtins.bool:
    """Whether ``dtype`` is ``kind``: a dtype, a kind's name, or a tuple of them.

    The kinds are ``"bool"``, ``"signed integer"``, ``"unsigned integer"``,
    ``"integral"``, ``"real floating"``, ``"complex floating"`` and
    ``"numeric"``.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.isdtype(xp.uint8, "integral"), xp.isdtype(xp.float32, ("bool", xp.float64))
    (True, False)
    """
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"isdtype: expected a dtype, found {dtype!r}")
    if isinstance(kind, tuple):
        if any(isinstance(k, tuple) for k in kind):
            raise TypeError(f"isdtype: expected a dtype, a kind or a tuple of them, found "
                            f"the nested tuple {kind!r}")
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ValueError(f"isdtype: expected one of the kinds {sorted(KINDS)}, "
                             f"found {kind!r}")
        return dtype in KINDS[kind]
    if isinstance(kind, np.dtype):
        return dtype == kind
    raise TypeError(f"isdtype: expected a dtype, a kind or a tuple of them, found {kind!r}")


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """The dtype of an operation on arrays, dtypes and Python scalars.

    Python scalars take the dtype of the arrays they meet (``float32`` with
    ``1.0`` is ``float32``) whatever their values; at least one array or
    dtype must be given.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.result_type(xp.asarray([1, 2], dtype=xp.uint8), 300)
    dtype('uint8')
    >>> xp.result_type(xp.float32, 1j)
    dtype('complex64')
    """
    dtypes: list[np.dtype] = []
    scalars: list[builtins.bool | int | float | complex] = []
    for item in arrays_and_dtypes:
        if isinstance(item, (builtins.bool, int, float, complex)):
            scalars.append(item)
        else:
            dtypes.append(_dtype_of(item, "result_type"))
    if not dtypes:
        raise TypeError(f"result_type: expected at least one array or dtype, found "
                        f"{arrays_and_dtypes!r}")
    # The table where it answers; numpy (what lazyarray's functions compute) elsewhere.
    dtype = dtypes[0]
    for other in dtypes[1:]:
        promoted = _standard_promotion(dtype, other)
        dtype = promoted if promoted is not None else np.result_type(dtype, other)
    # numpy 2's weak scalars: the kind may rise (1j with float32 → complex64),
    # the value never matters (an empty array of the dtype stands for the arrays).
    return np.result_type(np.empty(0, dtype=dtype), *scalars) if scalars else dtype
