"""Arrays of one value everywhere: ``ConstantArray``, ``zeros``, ``ones``, ``full``.

They take no memory until realised, and realise tile by tile like any node.

Examples
--------
>>> import lazyarray as la
>>> la.zeros((2, 3), dtype="i4")
<ConstantArray shape=(2, 3) dtype=int32 size=24 B>
>>> la.full(3, 7).ndarray().tolist()
[7, 7, 7]
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .array import Array
from .indexing import Key, key_shape

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .context import EvaluationContext

__all__ = ["ConstantArray", "full", "ones", "zeros"]


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    dims: tuple[Any, ...] = (shape,) if np.ndim(shape) == 0 else tuple(shape)  # type: ignore[arg-type]
    # operator.index, not int: numpy refuses a shape of 2.5 rather than truncating it.
    try:
        out = tuple(operator.index(n) for n in dims)
    except TypeError:
        raise TypeError(
            f"shape must be an integer or a sequence of integers, got {shape!r}"
        ) from None
    if any(n < 0 for n in out):
        raise ValueError(f"negative dimensions are not allowed, got shape {out}")
    return out


class ConstantArray(Array):
    """An array with the same value everywhere (Biggus's name).

    Parameters
    ----------
    shape : int or sequence of int
    value : scalar, optional
        The value; 0.0 by default.
    dtype : dtype, optional
        numpy's dtype of ``value`` by default.

    Examples
    --------
    >>> ConstantArray((2,), 3, dtype="f4").ndarray()
    array([3., 3.], dtype=float32)
    """

    def __init__(self, shape: int | Sequence[int], value: Any = 0.0, dtype: DTypeLike | None = None):
        self._shape = _shape(shape)
        self._dtype = np.dtype(dtype) if dtype is not None else np.asarray(value).dtype
        # Keep the value in the array's dtype, converted exactly as numpy.full does.
        self._value = np.full((), value, self._dtype)[()]

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def value(self) -> Any:
        """The value of every element."""
        return self._value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    def _index(self, key: Key) -> Array:
        return ConstantArray(key_shape(key), self._value, self._dtype)

    def _evaluate(self, context: EvaluationContext, masked: bool) -> np.ndarray:
        data = np.full(self._shape, self._value, self._dtype)
        # Nothing masked, and numpy.ma's default (unset) fill value.
        return np.ma.MaskedArray(data) if masked else data


def zeros(shape: int | Sequence[int], dtype: DTypeLike = float) -> ConstantArray:
    """A lazy array of zeros, as ``numpy.zeros``.

    Examples
    --------
    >>> zeros(2, dtype="U3").ndarray()
    array(['', ''], dtype='<U3')
    """
    # np.dtype(None) is float64, as for numpy.zeros. The value is numpy's own
    # zero of the dtype: casting 0 would give '0' for strings, not ''.
    dtype = np.dtype(dtype)
    return ConstantArray(shape, np.zeros((), dtype)[()], dtype)


def ones(shape: int | Sequence[int], dtype: DTypeLike = float) -> ConstantArray:
    """A lazy array of ones, as ``numpy.ones``."""
    return ConstantArray(shape, 1, np.dtype(dtype))  # np.dtype(None) is float64


def full(shape: int | Sequence[int], fill_value: Any, dtype: DTypeLike | None = None) -> ConstantArray:
    """A lazy array of ``fill_value``, as ``numpy.full``."""
    return ConstantArray(shape, fill_value, dtype)
