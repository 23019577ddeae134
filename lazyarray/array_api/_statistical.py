"""The standard's statistical, utility and searching functions, lazily.

Reductions are lazyarray's one-pass aggregations (:mod:`lazyarray.aggregation`)
under the standard's keywords (``correction`` is numpy's ``ddof``); their
dtypes are numpy's, which are the standard's: sums of signed integers in
``int64``, of unsigned in ``uint64``, of floats in their own dtype (lazyarray
accumulates floats in ``float64``, so results may differ from numpy's in the
last bits). Indices are ``int64``.

Examples
--------
>>> import lazyarray.array_api as xp
>>> x = xp.asarray([[1.0, 2.0], [3.0, 5.0]], dtype=xp.float32)
>>> xp.var(x, axis=0, correction=1).ndarray().tolist(), xp.sum(x).dtype
([2.0, 4.5], dtype('float32'))
>>> xp.diff(x, axis=1).ndarray().tolist()
[[1.0], [2.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import aggregation, elementwise, mosaic, scans
from ..adapters import asarray
from ..array import Array
from ..axes import normalise_axis
from ._dtypes import DEFAULT_INDEX, as_dtype, result_type

__all__ = [
    "all", "any", "argmax", "argmin", "count_nonzero", "cumulative_prod", "cumulative_sum",
    "diff", "max", "mean", "min", "prod", "std", "sum", "var", "where",
]


def _dtype(dtype: Any, operation: str) -> np.dtype | None:
    return None if dtype is None else as_dtype(dtype, operation)


def sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """The sum over ``axis`` (an int, a tuple, or ``None`` for all)."""
    return aggregation.sum(x, axis, dtype=_dtype(dtype, "sum"), keepdims=keepdims)


def prod(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """The product over ``axis``."""
    return aggregation.prod(x, axis, dtype=_dtype(dtype, "prod"), keepdims=keepdims)


def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """The arithmetic mean over ``axis``, of ``x``'s floating dtype."""
    return aggregation.mean(x, axis, keepdims=keepdims)


def var(x: Any, /, *, axis: Any = None, correction: float = 0.0,
        keepdims: bool = False) -> Array:
    """The variance over ``axis``, the sum of squares divided by ``N - correction``."""
    return aggregation.var(x, axis, ddof=correction, keepdims=keepdims)


def std(x: Any, /, *, axis: Any = None, correction: float = 0.0,
        keepdims: bool = False) -> Array:
    """The standard deviation over ``axis``, with ``N - correction`` degrees of freedom."""
    return aggregation.std(x, axis, ddof=correction, keepdims=keepdims)


def min(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """The minimum over ``axis`` (NaN if any element is)."""
    return aggregation.min(x, axis, keepdims=keepdims)


def max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """The maximum over ``axis`` (NaN if any element is)."""
    return aggregation.max(x, axis, keepdims=keepdims)


def all(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """Whether every element over ``axis`` is true (non-zero)."""
    return aggregation.all(x, axis, keepdims=keepdims)


def any(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """Whether any element over ``axis`` is true (non-zero)."""
    return aggregation.any(x, axis, keepdims=keepdims)


def argmax(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Array:
    """The position of the first maximum along ``axis`` (of the flattened ``x`` if ``None``)."""
    return aggregation.argmax(x, axis, keepdims=keepdims)


def argmin(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Array:
    """The position of the first minimum along ``axis`` (of the flattened ``x`` if ``None``)."""
    return aggregation.argmin(x, axis, keepdims=keepdims)


def count_nonzero(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    """How many elements over ``axis`` are not zero, as ``int64``."""
    return aggregation.sum(elementwise.not_equal(x, 0), axis, dtype=DEFAULT_INDEX,
                           keepdims=keepdims)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Array:
    """Running sums along ``axis`` (optional for 1-d ``x``), 0 first if ``include_initial``."""
    return scans.cumulative_sum(x, axis=axis, dtype=_dtype(dtype, "cumulative_sum"),
                                include_initial=include_initial)


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Array:
    """Running products along ``axis``, 1 first if ``include_initial``."""
    return scans.cumulative_prod(x, axis=axis, dtype=_dtype(dtype, "cumulative_prod"),
                                 include_initial=include_initial)


def diff(x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None,
         append: Any = None) -> Array:
    """The ``n``-th differences along ``axis``, from views of ``x`` (``x[1:] - x[:-1]``).

    ``prepend`` and ``append`` are joined to ``x`` along ``axis`` first,
    dtypes promoted. Differences of booleans are whether neighbours differ,
    as numpy's.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.diff(xp.asarray([1, 4, 9, 16]), n=2, prepend=xp.asarray([0])).ndarray().tolist()
    [2, 2, 2]
    """
    array = asarray(x)
    if n < 0:
        raise ValueError(f"diff: expected n of at least 0, found {n}")
    if n == 0:  # as numpy: nothing joined, nothing taken
        return array
    if array.ndim == 0:
        raise ValueError("diff: expected an array of at least 1 dimension, found 0-d")
    axis = normalise_axis(axis, array.ndim, "diff")
    parts = [asarray(p) for p in (prepend, array, append) if p is not None]
    if len(parts) > 1:
        dtype = result_type(*parts)
        array = mosaic.concatenate([p.astype(dtype, copy=False) for p in parts], axis)
    before = (slice(None),) * axis
    for _ in range(n):
        later, earlier = array[before + (slice(1, None),)], array[before + (slice(None, -1),)]
        array = (elementwise.not_equal(later, earlier) if array.dtype == np.bool_
                 else elementwise.subtract(later, earlier))
    return array


def where(condition: Any, x1: Any, x2: Any, /) -> Array:
    """Elements of ``x1`` where ``condition`` holds, else of ``x2`` (arrays or scalars)."""
    return elementwise.where(condition, x1, x2)
