"""Lazy mask makers: numpy.ma's ``masked_*`` functions, ``filled`` and ``getmaskarray``.

Each function takes numpy.ma's arguments and gives, once realised, what its
numpy.ma namesake gives on the realised input: the same data where unmasked,
mask, ``fill_value`` and dtype. Nothing is read when they are called: the mask
is computed tile by tile during evaluation, from the input's data and its own
mask (a masked source's mask is kept, OR-ed with the new one, as numpy.ma
does).

Both evaluation modes work on the results: ``masked_array()`` gives the
``numpy.ma.MaskedArray`` numpy.ma would, and ``ndarray()`` gives it filled
with the result's ``fill_value`` (``masked_equal`` and ``masked_values`` make
``value`` the fill value, as numpy.ma does).

Each function builds a :class:`~lazyarray.maskedelementwise.MaskedElementwise`
node, with a kernel of this module that gives its data and mask.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.array([[1.0, -2.0, np.nan], [4.0, 5.0, -6.0]]))
>>> m = la.masked_less(la.masked_invalid(x), 0)
>>> m.masked_array().tolist()
[[1.0, None, None], [4.0, 5.0, None]]
>>> la.count(m, axis=1).masked_array().tolist()
[1, 2]
>>> la.filled(m, 0.0)[1].ndarray().tolist()
[4.0, 5.0, 0.0]
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import aggregation
from .adapters import asarray
from .array import Array
from .creation import ConstantArray
from .errors import ShapeError
from .fillvalues import default_fill_value, stored_fill_value
from .maskedelementwise import Kernel, MaskedElementwise
from .views import broadcast_shapes, broadcast_to

__all__ = [
    "filled",
    "getmaskarray",
    "is_masked",
    "masked_equal",
    "masked_greater",
    "masked_greater_equal",
    "masked_inside",
    "masked_invalid",
    "masked_less",
    "masked_less_equal",
    "masked_not_equal",
    "masked_outside",
    "masked_values",
    "masked_where",
]


# -- helpers ------------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, Array)


def _scalar(value: Any, function: str, argument: str) -> Any:
    """``value`` as given, checked to be a concrete scalar (it is used before evaluation)."""
    if isinstance(value, Array) or np.ndim(value) != 0:
        raise TypeError(
            f"{function}: {argument} must be a scalar, got {type(value).__name__} "
            f"of shape {np.shape(value)}"
        )
    return value[()] if isinstance(value, np.ndarray) else value


def _operand(value: Any, shape: tuple[int, ...], function: str, argument: str) -> Any:
    """``value`` as an operand: a scalar as it is, an array broadcast to ``shape``.

    Only ``value`` broadcasts: the result has the masked array's shape, as in
    numpy.ma.
    """
    if _is_scalar(value):
        return value
    array = asarray(value)
    try:
        fits = broadcast_shapes(array.shape, shape) == shape
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{function}: {argument} of shape {array.shape} does not broadcast to "
            f"the array's shape {shape}"
        )
    return broadcast_to(array, shape)


def _probe(function: Callable[..., Any], *values: Any) -> None:
    """Call ``function`` on empty stand-ins, to reject what numpy rejects when building."""
    stand_ins = [np.empty(0, v.dtype) if isinstance(v, Array) else v for v in values]
    with np.errstate(all="ignore"):
        function(*stand_ins)


def _with_mask(mask: Any, more: Any) -> Any:
    """``mask | more``, where ``mask`` may be ``nomask``.

    ``more`` must be a new array (or a scalar): it becomes the result's mask
    as it is when there is no mask to add it to.
    """
    if mask is np.ma.nomask:
        return more
    return np.logical_or(mask, more)


def _make(kernel: Kernel, x: Array, operands: Sequence[Any] = (), *,
          dtype: np.dtype | None = None, fill_value: Any = None,
          masked: bool = True) -> MaskedElementwise:
    return MaskedElementwise(
        kernel,
        [x, *operands],
        x.shape,
        x.dtype if dtype is None else dtype,
        x.fill_value if fill_value is None else fill_value,
        masked,
    )


# -- kernels (module functions, so that graphs pickle) ----------------------------


def _where_kernel(a: np.ma.MaskedArray, condition: Any) -> tuple[np.ndarray, np.ndarray]:
    # As numpy.ma.make_mask: masked points of the condition count as true, and
    # any value converts to bool (NaN is true). A copy: a bool condition's data
    # may be a source's own memory, which must not become a result's mask.
    condition = np.array(np.ma.filled(condition, True), dtype=bool)
    return np.ma.getdata(a), _with_mask(np.ma.getmask(a), condition)


def _compare_kernel(
    ufunc: np.ufunc, x: np.ma.MaskedArray, value: Any
) -> tuple[np.ndarray, np.ndarray]:
    # numpy.ma's comparisons (np.ma.greater...) take the data of both sides
    # with np.ma.getdata, which makes a Python scalar a 0-d array of its
    # default dtype: float32 data compare with 0.1 in float64, unlike plain
    # numpy's weak scalars. The masks of both sides mask the result.
    condition = ufunc(np.ma.getdata(x), np.ma.getdata(value))
    mask = _with_mask(np.ma.getmask(x), condition)
    value_mask = np.ma.getmask(value)
    if value_mask is not np.ma.nomask:
        mask |= value_mask
    return np.ma.getdata(x), mask


def _inside_kernel(x: np.ma.MaskedArray, v1: Any, v2: Any) -> tuple[np.ndarray, np.ndarray]:
    # Plain comparisons, as numpy.ma.masked_inside makes them: here Python
    # scalars are weak. Masked points are masked whatever their data.
    data = np.ma.getdata(x)
    return data, _with_mask(np.ma.getmask(x), (data >= v1) & (data <= v2))


def _outside_kernel(x: np.ma.MaskedArray, v1: Any, v2: Any) -> tuple[np.ndarray, np.ndarray]:
    data = np.ma.getdata(x)
    return data, _with_mask(np.ma.getmask(x), (data < v1) | (data > v2))


def _invalid_kernel(x: np.ma.MaskedArray) -> tuple[np.ndarray, np.ndarray]:
    data = np.ma.getdata(x)
    return data, _with_mask(np.ma.getmask(x), ~np.isfinite(data))


def _values_kernel(
    x: np.ma.MaskedArray, *, value: Any, fill: Any, rtol: float, atol: float, close: bool
) -> tuple[np.ndarray, np.ndarray]:
    # numpy.ma.masked_values fills the masked points with the value first and
    # then tests every point, so its mask replaces the input's rather than
    # extending it: a point masked before stays masked only if the filled
    # value passes the test (not for a NaN value, nor for 2.5 in integers).
    data = x.filled(fill)
    if close:
        return data, np.isclose(data, value, rtol=rtol, atol=atol)
    return data, np.equal(data, value)


def _filled_kernel(x: np.ma.MaskedArray, *, fill: Any) -> tuple[np.ndarray, None]:
    return x.filled(fill), None


def _mask_kernel(x: np.ma.MaskedArray) -> tuple[np.ndarray, None]:
    return np.ma.getmaskarray(x), None


# -- the mask makers ------------------------------------------------------------------


def masked_where(condition: Any, a: Any, copy: bool = True) -> Array:
    """Mask ``a`` where ``condition`` is true, as ``numpy.ma.masked_where``; lazily.

    Parameters
    ----------
    condition : array_like, lazy array or scalar
        Where to mask. Any dtype (non-zero is true); masked points of a
        masked condition mask the result, as in numpy.ma. numpy.ma wants the
        shape of ``a`` (or a scalar); here any shape that broadcasts to it
        will do, such as a land mask for a stack of maps.
    a : array_like or lazy array
        The data. Its mask, if it has one, is kept.
    copy : bool, optional
        Accepted for compatibility with numpy.ma; a lazy result never shares
        memory with ``a``, so it has no effect.

    Returns
    -------
    Array
        Of ``a``'s shape, dtype and ``fill_value``.

    Raises
    ------
    ShapeError
        When ``condition`` does not broadcast to ``a``'s shape (numpy.ma
        raises an ``IndexError``).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.asarray(np.arange(6).reshape(2, 3))
    >>> land = np.array([True, False, False])
    >>> la.masked_where(land, a).masked_array().tolist()
    [[None, 1, 2], [None, 4, 5]]
    >>> la.masked_where(a > 3, a).ndarray().tolist()  # filled with the fill value
    [[0, 1, 2], [3, 999999, 999999]]
    """
    del copy  # meaningless for lazy arrays
    a = asarray(a)
    condition = _operand(condition, a.shape, "masked_where", "condition")
    return _make(_where_kernel, a, [condition])


def _masked_compare(
    ufunc: np.ufunc, function: str, x: Array, value: Any, fill_value: Any = None
) -> MaskedElementwise:
    value = _operand(value, x.shape, function, "value")
    _probe(ufunc, x, np.asarray(value) if _is_scalar(value) else value)
    return _make(functools.partial(_compare_kernel, ufunc), x, [value], fill_value=fill_value)


def masked_equal(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x`` equals ``value``, as ``numpy.ma.masked_equal``; lazily.

    ``value`` becomes the result's ``fill_value``, as in numpy.ma. For
    floating-point data, :func:`masked_values` compares with a tolerance.

    Parameters
    ----------
    x : array_like or lazy array
    value : scalar
        Converted to ``x``'s dtype for the fill value as numpy.ma converts it
        (``TypeError`` when it does not fit).
    copy : bool, optional
        Accepted for compatibility with numpy.ma; no effect on lazy arrays.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_equal(np.array([0, 1, -99, 3]), -99)
    >>> m.masked_array().tolist(), m.fill_value
    ([0, 1, None, 3], np.int64(-99))
    >>> m.ndarray().tolist()
    [0, 1, -99, 3]
    """
    del copy
    x = asarray(x)
    value = _scalar(value, "masked_equal", "value")
    fill = stored_fill_value(value, x.dtype)
    return _masked_compare(np.equal, "masked_equal", x, value, fill)


def masked_not_equal(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x`` differs from ``value``, as ``numpy.ma.masked_not_equal``; lazily.

    ``value`` may be a scalar or an array (lazy too) that broadcasts to
    ``x``'s shape; its masked points mask the result. ``copy`` is accepted
    for compatibility and has no effect.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_not_equal(np.array([1, 2, 1]), 1).masked_array().tolist()
    [1, None, 1]
    """
    del copy
    return _masked_compare(np.not_equal, "masked_not_equal", asarray(x), value)


def masked_greater(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x > value``, as ``numpy.ma.masked_greater``; lazily.

    ``value`` may be a scalar or an array (lazy too) that broadcasts to
    ``x``'s shape. As in numpy.ma, a Python scalar compares as a numpy value
    of its default type (float32 data compare with ``0.1`` in float64).
    ``copy`` is accepted for compatibility and has no effect.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_greater(np.arange(4), 2).masked_array().tolist()
    [0, 1, 2, None]
    """
    del copy
    return _masked_compare(np.greater, "masked_greater", asarray(x), value)


def masked_greater_equal(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x >= value``, as ``numpy.ma.masked_greater_equal``; lazily.

    See :func:`masked_greater` for ``value`` and ``copy``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_greater_equal(np.arange(4), 2).masked_array().tolist()
    [0, 1, None, None]
    """
    del copy
    return _masked_compare(np.greater_equal, "masked_greater_equal", asarray(x), value)


def masked_less(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x < value``, as ``numpy.ma.masked_less``; lazily.

    See :func:`masked_greater` for ``value`` and ``copy``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_less(np.arange(4), 2).masked_array().tolist()
    [None, None, 2, 3]
    """
    del copy
    return _masked_compare(np.less, "masked_less", asarray(x), value)


def masked_less_equal(x: Any, value: Any, copy: bool = True) -> Array:
    """Mask where ``x <= value``, as ``numpy.ma.masked_less_equal``; lazily.

    See :func:`masked_greater` for ``value`` and ``copy``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_less_equal(np.arange(4), 2).masked_array().tolist()
    [None, None, None, 3]
    """
    del copy
    return _masked_compare(np.less_equal, "masked_less_equal", asarray(x), value)


def _interval(v1: Any, v2: Any, function: str) -> tuple[Any, Any]:
    v1 = _scalar(v1, function, "v1")
    v2 = _scalar(v2, function, "v2")
    return (v2, v1) if v2 < v1 else (v1, v2)  # either order, as numpy.ma


def masked_inside(x: Any, v1: Any, v2: Any, copy: bool = True) -> Array:
    """Mask where ``x`` is in the closed interval ``[v1, v2]``; lazily.

    As ``numpy.ma.masked_inside``: the bounds may come in either order, and
    they compare as plain numpy compares scalars (float32 data with ``0.1``
    in float32). ``copy`` is accepted for compatibility and has no effect.

    Parameters
    ----------
    x : array_like or lazy array
    v1, v2 : scalar
        The bounds.
    copy : bool, optional

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_inside(np.arange(5.0), 3, 1).masked_array().tolist()
    [0.0, None, None, None, 4.0]
    """
    del copy
    x = asarray(x)
    v1, v2 = _interval(v1, v2, "masked_inside")
    _probe(_inside_kernel, x, v1, v2)
    return _make(_inside_kernel, x, [v1, v2])


def masked_outside(x: Any, v1: Any, v2: Any, copy: bool = True) -> Array:
    """Mask where ``x`` is outside the closed interval ``[v1, v2]``; lazily.

    As ``numpy.ma.masked_outside``; see :func:`masked_inside`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.masked_outside(np.arange(5.0), 1, 3).masked_array().tolist()
    [None, 1.0, 2.0, 3.0, None]
    """
    del copy
    x = asarray(x)
    v1, v2 = _interval(v1, v2, "masked_outside")
    _probe(_outside_kernel, x, v1, v2)
    return _make(_outside_kernel, x, [v1, v2])


def masked_invalid(a: Any, copy: bool = True) -> Array:
    """Mask NaN and infinite values, as ``numpy.ma.masked_invalid``; lazily.

    Data of types without NaN (integers, booleans) come out unmasked, apart
    from their own masked points. ``copy`` is accepted for compatibility and
    has no effect.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_invalid(np.array([1.0, np.nan, -np.inf, 4.0]))
    >>> m.masked_array().tolist()
    [1.0, None, None, 4.0]
    >>> m.ndarray().tolist()
    [1.0, 1e+20, 1e+20, 4.0]
    """
    del copy
    a = asarray(a)
    _probe(np.isfinite, a)
    return _make(_invalid_kernel, a)


def masked_values(
    x: Any,
    value: Any,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    copy: bool = True,
    shrink: bool = True,
) -> Array:
    """Mask where ``x`` is close to ``value``, as ``numpy.ma.masked_values``; lazily.

    Floating-point data match when ``numpy.isclose(x, value, rtol=rtol,
    atol=atol)``, others when equal. ``value`` becomes the fill value.

    As in numpy.ma, the input's masked points are first filled with
    ``value`` and then tested like the others: they stay masked unless the
    filled value fails the test (a NaN ``value``, or ``2.5`` for integers, in
    which case they come out unmasked with the filled value as data).

    Parameters
    ----------
    x : array_like or lazy array
    value : scalar
    rtol, atol : float, optional
        Relative and absolute tolerances, as for ``numpy.isclose``.
    copy : bool, optional
        Accepted for compatibility; no effect on lazy arrays.
    shrink : bool, optional
        Accepted for compatibility: ``masked_array()`` results always carry
        a full boolean mask.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_values(np.array([1.0, 1.1, 2.0, 1.1, 3.0]), 1.1)
    >>> m.masked_array().tolist(), m.fill_value
    ([1.0, None, 2.0, None, 3.0], np.float64(1.1))
    """
    del copy, shrink
    x = asarray(x)
    value = _scalar(value, "masked_values", "value")
    fill = stored_fill_value(value, x.dtype)
    close = bool(np.issubdtype(x.dtype, np.floating))
    kernel = functools.partial(
        _values_kernel, value=value, fill=fill, rtol=rtol, atol=atol, close=close
    )
    _probe(np.isclose if close else np.equal, x, value)
    return _make(kernel, x, fill_value=fill)


# -- filling and masks -------------------------------------------------------------------


def filled(a: Any, fill_value: Any = None) -> Array:
    """``a`` with masked points replaced by ``fill_value``, as ``numpy.ma.filled``; lazily.

    The result has no mask: ``masked_array()`` of it has nothing masked, and
    its own ``fill_value`` is the dtype's default, as for any plain array.

    Parameters
    ----------
    a : array_like or lazy array
    fill_value : scalar, optional
        ``a.fill_value`` by default. Converted to ``a``'s dtype as numpy.ma
        converts it: ``TypeError`` when it does not fit, raised when building
        (numpy.ma raises only if ``a`` has masked points).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_greater(np.arange(5), 2)
    >>> la.filled(m, -1).ndarray().tolist()
    [0, 1, 2, -1, -1]
    >>> la.filled(m, -1).masked_array().tolist()
    [0, 1, 2, -1, -1]
    """
    a = asarray(a)
    value = a.fill_value if fill_value is None else _scalar(fill_value, "filled", "fill_value")
    # numpy.ma checks the fill value only when there is something to fill; a
    # lazy array's mask is not known before reading, so it is checked now.
    fill = stored_fill_value(value, a.dtype)
    return _make(
        functools.partial(_filled_kernel, fill=fill),
        a,
        fill_value=default_fill_value(a.dtype),
        masked=False,
    )


def getmaskarray(arr: Any) -> Array:
    """The mask of ``arr`` as a lazy boolean array, as ``numpy.ma.getmaskarray``.

    Always of ``arr``'s shape: all false where ``arr`` has no mask.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_invalid(np.array([[1.0, np.nan], [np.inf, 0.0]]))
    >>> la.getmaskarray(m).ndarray().tolist()
    [[False, True], [True, False]]
    >>> la.getmaskarray(m).sum(axis=0).ndarray().tolist()
    [1, 1]
    """
    arr = asarray(arr)
    dtype = np.dtype(bool)
    return _make(
        _mask_kernel, arr, dtype=dtype, fill_value=default_fill_value(dtype), masked=False
    )


def is_masked(x: Any) -> Array:
    """Whether ``x`` has masked points, as a lazy 0-d boolean array.

    ``numpy.ma.is_masked`` answers at once, from data in memory; a lazy
    array's mask is only known once read, so this returns the lazy
    ``any(getmaskarray(x))``, which can be evaluated in one pass with other
    results. ``bool()`` of it (or ``if la.is_masked(x):``) evaluates it,
    reading all of ``x``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.masked_less(np.arange(4), 1)
    >>> bool(la.is_masked(m)), bool(la.is_masked(la.filled(m)))
    (True, False)
    """
    x = asarray(x)
    if x.size == 0:
        # Nothing to read, and nothing masked: numpy.ma's False, without
        # depending on what a reduction over nothing gives.
        return ConstantArray((), False, bool)
    return aggregation.any(getmaskarray(x))
