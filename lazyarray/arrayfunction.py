"""numpy's function protocol (``__array_function__``, NEP 18): numpy's functions, lazily.

``np.mean(x, axis=0)``, ``np.where(c, x, 0)`` or ``np.concatenate([x, y])``
on lazy arrays call lazyarray's functions of the same meaning and return
lazy arrays, whether the other arguments are lazy arrays, ndarrays or
scalars. numpy's argument names are mapped to lazyarray's; an argument
lazyarray cannot honour (``out=``, ``where=`` on a reduction, ``initial=``)
raises ``TypeError`` saying what to do instead. Every other numpy function
raises ``TypeError`` naming it, and reads nothing: realise first with
``x.ndarray()``, which reads all of ``x`` into memory, or use lazyarray's
functions.

``np.allclose`` and ``np.array_equal`` answer with a Python ``bool``: they
evaluate a lazy ``all`` of the elementwise comparison, one pass over the
sources in bounded memory, never the arrays themselves. ``np.shape``,
``np.ndim``, ``np.size`` and ``np.result_type`` answer from metadata, and
``np.zeros_like``, ``np.ones_like``, ``np.full_like`` and ``np.empty_like``
(zeros) read nothing.

The table (:data:`IMPLEMENTATIONS`) is keyed by numpy's own function
objects, built once at import; :meth:`lazyarray.Array.__array_function__`
reaches :func:`array_function` through :mod:`lazyarray.upcalls`.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(6.0).reshape(2, 3))
>>> m = np.mean(x, axis=0)
>>> m
<Aggregation shape=(3,) dtype=float64 size=24 B>
>>> m.ndarray().tolist()
[1.5, 2.5, 3.5]
>>> np.where(x > 2, x, np.zeros(3)).ndarray().tolist()
[[0.0, 0.0, 0.0], [3.0, 4.0, 5.0]]
>>> np.allclose(x, np.arange(6.0).reshape(2, 3))
True
>>> np.sort(x)
Traceback (most recent call last):
...
TypeError: numpy.sort is not implemented for lazyarray arrays: realise first with x.ndarray() (reads all of x into memory), or use lazyarray's functions
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from . import aggregation, elementwise, mosaic, quantiles, reshape, scans, views, windows
from .adapters import asarray
from .array import Array
from .axes import normalise_axes
from .creation import full, zeros

__all__ = ["IMPLEMENTATIONS", "array_function"]

#: numpy's marker for an argument not given (``keepdims=<no value>``).
_NO_VALUE: Any = getattr(np, "_NoValue", object())

#: numpy's function -> lazyarray's implementation, taking numpy's arguments.
IMPLEMENTATIONS: dict[Callable[..., Any], Callable[..., Any]] = {}


def array_function(func: Callable[..., Any], types: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
    """What ``Array.__array_function__`` returns: ``func`` of ``args``, lazily.

    Parameters
    ----------
    func : callable
        The numpy function called (``np.mean``).
    types : collection of type
        The types of the arguments that implement the protocol.
    args, kwargs
        The arguments, as given to ``func``.

    Returns
    -------
    lazyarray.Array, bool, tuple, int, numpy.dtype or NotImplemented
        ``NotImplemented`` when another kind of array takes part, so that it
        may answer (numpy then raises ``TypeError`` if none does).

    Raises
    ------
    TypeError
        For a numpy function lazyarray does not implement, naming it.
    """
    if not all(issubclass(t, (Array, np.ndarray)) for t in types):
        return NotImplemented
    implementation = IMPLEMENTATIONS.get(func)
    if implementation is None:
        raise TypeError(
            f"{_name(func)} is not implemented for lazyarray arrays: realise first with "
            "x.ndarray() (reads all of x into memory), or use lazyarray's functions"
        )
    return implementation(*args, **kwargs)


def _name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{getattr(func, '__name__', func)}"


def _implements(*funcs: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(implementation: Callable[..., Any]) -> Callable[..., Any]:
        for func in funcs:
            IMPLEMENTATIONS[func] = implementation
        return implementation

    return register


# -- arguments lazyarray does not take ------------------------------------------


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(
            f"numpy.{name}: lazyarray cannot write into an out array; leave out= unset and "
            "realise the lazy result with .ndarray() (la.ndarrays([...]) for several in one "
            "pass), then copy it where you want it"
        )


def _keepdims(keepdims: Any) -> bool:
    return False if keepdims is _NO_VALUE else bool(keepdims)


def _refuse(name: str, **arguments: Any) -> None:
    """Refuse numpy's arguments that lazyarray's reductions do not take."""
    for argument, value in arguments.items():
        if value is _NO_VALUE:
            continue
        if argument == "where" and isinstance(value, (bool, np.bool_)) and value:
            continue
        advice = {
            "where": "mask the data first (la.masked_where(~condition, a)) or put the "
                     "statistic's identity there (la.where(condition, a, 0))",
            "initial": "combine the initial value with the lazy result instead "
                       "(np.sum(a) + initial, la.maximum(np.max(a), initial))",
            "mean": "lazyarray computes the mean in the same pass",
        }[argument]
        raise TypeError(f"numpy.{name}: lazyarray's reductions take no {argument}=; {advice}")


# -- reductions (lazyarray.aggregation) ---------------------------------------


def _sum_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                       keepdims: Any = _NO_VALUE, initial: Any = _NO_VALUE,
                       where: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        _refuse(name, initial=initial, where=where)
        return reduce(a, axis, dtype=dtype, keepdims=_keepdims(keepdims))

    return implementation


def _mean_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                       keepdims: Any = _NO_VALUE, *, where: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        _refuse(name, where=where)
        return reduce(a, axis, dtype=dtype, keepdims=_keepdims(keepdims))

    return implementation


def _var_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
                       ddof: Any = 0, keepdims: Any = _NO_VALUE, *, where: Any = _NO_VALUE,
                       mean: Any = _NO_VALUE, correction: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        _refuse(name, where=where, mean=mean)
        if correction is not _NO_VALUE:
            if ddof != 0:
                raise ValueError(f"numpy.{name}: ddof and correction can't be provided "
                                 "simultaneously")
            ddof = correction
        return reduce(a, axis, dtype=dtype, ddof=ddof, keepdims=_keepdims(keepdims))

    return implementation


def _min_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, out: Any = None, keepdims: Any = _NO_VALUE,
                       initial: Any = _NO_VALUE, where: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        _refuse(name, initial=initial, where=where)
        return reduce(a, axis, keepdims=_keepdims(keepdims))

    return implementation


def _any_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, out: Any = None, keepdims: Any = _NO_VALUE,
                       *, where: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        _refuse(name, where=where)
        return reduce(a, axis, keepdims=_keepdims(keepdims))

    return implementation


def _arg_like(name: str, reduce: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, out: Any = None, *,
                       keepdims: Any = _NO_VALUE) -> Array:
        _no_out(name, out)
        return reduce(a, axis, keepdims=_keepdims(keepdims))

    return implementation


def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = _NO_VALUE) -> Array:
    _no_out("ptp", out)
    return aggregation.ptp(a, axis, keepdims=_keepdims(keepdims))


_REDUCTIONS: list[tuple[Callable[..., Callable[..., Array]], Callable[..., Any],
                        Callable[..., Array]]] = [
    (_sum_like, np.sum, aggregation.sum),
    (_sum_like, np.prod, aggregation.prod),
    (_sum_like, np.nansum, aggregation.nansum),
    (_sum_like, np.nanprod, aggregation.nanprod),
    (_mean_like, np.mean, aggregation.mean),
    (_mean_like, np.nanmean, aggregation.nanmean),
    (_var_like, np.var, aggregation.var),
    (_var_like, np.std, aggregation.std),
    (_var_like, np.nanvar, aggregation.nanvar),
    (_var_like, np.nanstd, aggregation.nanstd),
    (_min_like, np.min, aggregation.min),
    (_min_like, np.amin, aggregation.min),
    (_min_like, np.max, aggregation.max),
    (_min_like, np.amax, aggregation.max),
    (_min_like, np.nanmin, aggregation.nanmin),
    (_min_like, np.nanmax, aggregation.nanmax),
    (_any_like, np.any, aggregation.any),
    (_any_like, np.all, aggregation.all),
    (_arg_like, np.argmin, aggregation.argmin),
    (_arg_like, np.argmax, aggregation.argmax),
    (_arg_like, np.nanargmin, aggregation.nanargmin),
    (_arg_like, np.nanargmax, aggregation.nanargmax),
]
for _kind, _func, _reduce in _REDUCTIONS:
    IMPLEMENTATIONS[_func] = _kind(_func.__name__, _reduce)
IMPLEMENTATIONS[np.ptp] = _ptp


def _median_like(name: str, statistic: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, out: Any = None,
                       overwrite_input: bool = False, keepdims: bool = False) -> Array:
        _no_out(name, out)
        return statistic(a, axis, keepdims=bool(keepdims), overwrite_input=overwrite_input)

    return implementation


def _quantile_like(name: str, statistic: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, q: Any, axis: Any = None, out: Any = None,
                       overwrite_input: bool = False, method: str = "linear",
                       keepdims: bool = False, *, weights: Any = None,
                       interpolation: Any = None) -> Array:
        _no_out(name, out)
        if interpolation is not None:
            raise TypeError(f"numpy.{name}: interpolation= is deprecated in numpy; "
                            "use method=")
        return statistic(a, q, axis, method=method, keepdims=bool(keepdims), weights=weights,
                         overwrite_input=overwrite_input)

    return implementation


_ORDER_STATISTICS: list[tuple[Callable[..., Callable[..., Array]], Callable[..., Any],
                              Callable[..., Array]]] = [
    (_median_like, np.median, quantiles.median),
    (_median_like, np.nanmedian, quantiles.nanmedian),
    (_quantile_like, np.quantile, quantiles.quantile),
    (_quantile_like, np.nanquantile, quantiles.nanquantile),
    (_quantile_like, np.percentile, quantiles.percentile),
    (_quantile_like, np.nanpercentile, quantiles.nanpercentile),
]
for _kind, _func, _reduce in _ORDER_STATISTICS:
    IMPLEMENTATIONS[_func] = _kind(_func.__name__, _reduce)


@_implements(np.count_nonzero)
def _count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Array:
    # numpy returns a Python int for axis=None; lazily, a 0-d array of intp.
    return aggregation.sum(elementwise.not_equal(a, 0), axis, dtype=np.intp,
                           keepdims=bool(keepdims))


# -- scans (lazyarray.scans) ----------------------------------------------------------


def _scan_like(name: str, scan: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Array:
        _no_out(name, out)
        return scan(a, axis, dtype)

    return implementation


def _cumulative_like(name: str, scan: Callable[..., Array]) -> Callable[..., Array]:
    def implementation(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                       include_initial: bool = False) -> Array:
        _no_out(name, out)
        return scan(x, axis=axis, dtype=dtype, include_initial=include_initial)

    return implementation


_SCANS: list[tuple[Callable[..., Callable[..., Array]], Callable[..., Any],
                   Callable[..., Array]]] = [
    (_scan_like, np.cumsum, scans.cumsum),
    (_scan_like, np.cumprod, scans.cumprod),
    (_scan_like, np.nancumsum, scans.nancumsum),
    (_scan_like, np.nancumprod, scans.nancumprod),
    (_cumulative_like, np.cumulative_sum, scans.cumulative_sum),
    (_cumulative_like, np.cumulative_prod, scans.cumulative_prod),
]
for _kind, _func, _reduce in _SCANS:
    IMPLEMENTATIONS[_func] = _kind(_func.__name__, _reduce)
del _kind, _func, _reduce


# -- elementwise (lazyarray.elementwise) ----------------------------------------------


@_implements(np.where)
def _where(condition: Any, x: Any = None, y: Any = None, /) -> Array:
    if x is None and y is None:
        raise TypeError(
            "numpy.where with one argument (numpy.nonzero) is not implemented for lazyarray "
            "arrays: realise first with x.ndarray() (reads all of x into memory)"
        )
    if x is None or y is None:
        raise ValueError("numpy.where: either both or neither of x and y should be given")
    return elementwise.where(condition, x, y)


@_implements(np.clip)
def _clip(a: Any, a_min: Any = _NO_VALUE, a_max: Any = _NO_VALUE, out: Any = None,
          **kwargs: Any) -> Array:
    _no_out("clip", out)
    bounds = [a_min, a_max]
    for i, keyword in enumerate(("min", "max")):
        given = kwargs.pop(keyword, _NO_VALUE)
        if given is not _NO_VALUE:
            if bounds[i] is not _NO_VALUE:
                raise ValueError(f"numpy.clip: pass a_{keyword} or {keyword}, not both")
            bounds[i] = given
    if kwargs:
        raise TypeError(f"numpy.clip: lazyarray's clip takes no {', '.join(sorted(kwargs))}=; "
                        "cast the result with .astype() instead")
    low, high = (None if b is _NO_VALUE else b for b in bounds)
    return elementwise.clip(a, low, high)


@_implements(np.astype)
def _astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Array:
    # A lazy cast copies nothing whatever copy= says: the array is computed when realised.
    if device not in (None, "cpu"):
        raise ValueError(f"numpy.astype: lazyarray arrays are on the cpu, not {device!r}")
    return elementwise.astype(x, dtype)


@dataclasses.dataclass(frozen=True)
class _Round:
    """``numpy.round`` to ``decimals`` places, elementwise (pickles, unlike a closure)."""

    __name__: ClassVar[str] = "round"
    decimals: int

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.round(values, self.decimals)


@_implements(np.round, np.around)
def _round(a: Any, decimals: Any = 0, out: Any = None) -> Array:
    _no_out("round", out)
    array = asarray(a)
    rounding = _Round(operator.index(decimals))
    return elementwise.apply_ufunc(rounding, array,
                                   dtype=rounding(np.zeros(0, array.dtype)).dtype)


@dataclasses.dataclass(frozen=True)
class _IsClose:
    """``numpy.isclose`` elementwise, tolerances as operands (so they may be arrays)."""

    __name__: ClassVar[str] = "isclose"
    equal_nan: bool

    def __call__(self, x: np.ndarray, y: np.ndarray, rtol: np.ndarray,
                 atol: np.ndarray) -> np.ndarray:
        return np.isclose(x, y, rtol, atol, self.equal_nan)


@_implements(np.isclose)
def _isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08,
             equal_nan: bool = False) -> Array:
    # numpy's own isclose on each block: its rules for infinities, NaN and
    # integer overflow, and no warnings where it suppresses them.
    return elementwise.apply_ufunc(_IsClose(bool(equal_nan)), a, b, rtol, atol, dtype=bool)


@_implements(np.allclose)
def _allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08,
              equal_nan: bool = False) -> bool:
    close = _isclose(a, b, rtol, atol, equal_nan)
    return bool(aggregation.all(close).ndarray())


@_implements(np.array_equal)
def _array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> bool:
    first, second = asarray(a1), asarray(a2)
    if first.shape != second.shape:
        return False
    equal = elementwise.equal(first, second)
    if equal_nan and all(a.dtype.kind in "fc" for a in (first, second)):
        both_nan = elementwise.logical_and(elementwise.isnan(first), elementwise.isnan(second))
        equal = elementwise.logical_or(equal, both_nan)
    return bool(aggregation.all(equal).ndarray())


def _part_dtype(dtype: np.dtype) -> np.dtype:
    return np.zeros(0, dtype).real.dtype


@_implements(np.real)
def _real(val: Any) -> Array:
    array = asarray(val)
    if array.dtype.kind != "c":
        return array
    return elementwise.apply_ufunc(np.real, array, dtype=_part_dtype(array.dtype))


@_implements(np.imag)
def _imag(val: Any) -> Array:
    array = asarray(val)
    if array.dtype.kind == "c" or array.masked:  # a masked imag keeps the mask, as numpy.ma's
        return elementwise.apply_ufunc(np.imag, array, dtype=_part_dtype(array.dtype))
    return zeros(array.shape, array.dtype)


# -- constants like an array (lazyarray.creation): read nothing ------------------------


def _like(name: str, prototype: Any, fill_value: Any, dtype: Any, order: Any, shape: Any,
          device: Any) -> Array:
    # Lazy arrays have no memory layout (order=) nor subclass (subok=) to keep.
    if device not in (None, "cpu"):
        raise ValueError(f"numpy.{name}: lazyarray arrays are on the cpu, not {device!r}")
    array = asarray(prototype)
    dtype = array.dtype if dtype is None else np.dtype(dtype)
    shape = array.shape if shape is None else shape
    if fill_value is None:
        return zeros(shape, dtype)
    return full(shape, fill_value, dtype)


@_implements(np.zeros_like)
def _zeros_like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
                shape: Any = None, *, device: Any = None) -> Array:
    return _like("zeros_like", a, None, dtype, order, shape, device)


@_implements(np.empty_like)
def _empty_like(prototype: Any, /, dtype: Any = None, order: Any = "K", subok: bool = True,
                shape: Any = None, *, device: Any = None) -> Array:
    return _like("empty_like", prototype, None, dtype, order, shape, device)  # zeros


@_implements(np.ones_like)
def _ones_like(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> Array:
    return _like("ones_like", a, 1, dtype, order, shape, device)


@_implements(np.full_like)
def _full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> Array:
    return _like("full_like", a, fill_value, dtype, order, shape, device)


# -- joins (lazyarray.mosaic) ---------------------------------------------------------


def _members(name: str, arrays: Any, dtype: Any, casting: Any) -> list[Array]:
    members = [asarray(a) for a in arrays]
    if dtype is None:
        return members
    dtype = np.dtype(dtype)
    for member in members:
        if not np.can_cast(member.dtype, dtype, casting):
            raise TypeError(f"numpy.{name}: cannot cast array data from {member.dtype!r} to "
                            f"{dtype!r} according to the rule {casting!r}")
    return [elementwise.astype(member, dtype) for member in members]


@_implements(np.concatenate)
def _concatenate(arrays: Any, /, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                 casting: Any = "same_kind") -> Array:
    _no_out("concatenate", out)
    members = _members("concatenate", arrays, dtype, casting)
    if axis is None:  # numpy flattens: lazyarray can for arrays of at most one axis
        if any(m.ndim > 1 for m in members):
            raise TypeError(
                "numpy.concatenate with axis=None flattens, and lazyarray does not flatten "
                "arrays of several axes lazily: give an axis, or realise first with x.ndarray()"
            )
        members = [m if m.ndim else views.expand_dims(m, 0) for m in members]
        axis = 0
    return mosaic.concatenate(members, axis)


@_implements(np.stack)
def _stack(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
           casting: Any = "same_kind") -> Array:
    _no_out("stack", out)
    return mosaic.stack(_members("stack", arrays, dtype, casting), axis)


@_implements(np.pad)
def _pad(array: Any, pad_width: Any, mode: Any = "constant", *, constant_values: Any = 0,
         **kwargs: Any) -> Array:
    """``numpy.pad`` with ``mode="constant"``: the array between constant blocks,
    joined along each axis in turn (reads nothing; each block is a constant)."""
    if mode != "constant" or kwargs:
        raise TypeError(
            f"numpy.pad: lazyarray pads with mode='constant' only, found mode={mode!r}"
            + (f" and {sorted(kwargs)}" if kwargs else "")
            + "; realise first with x.ndarray() for the other modes")
    node = asarray(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (node.ndim, 2))
    values = np.broadcast_to(np.asarray(constant_values), (node.ndim, 2))
    if np.any(widths < 0):
        raise ValueError(f"numpy.pad: pad widths must not be negative, found {pad_width!r}")
    for axis in range(node.ndim):
        parts = []
        for side, width in enumerate(widths[axis]):
            if width:
                shape = tuple(int(width) if a == axis else n for a, n in enumerate(node.shape))
                # numpy casts the constant to the array's dtype, unsafely.
                value = np.asarray(values[axis, side]).astype(node.dtype)[()]
                parts.append((side, full(shape, value, node.dtype)))
        if parts:
            before = [p for side, p in parts if side == 0]
            after = [p for side, p in parts if side == 1]
            node = mosaic.concatenate([*before, node, *after], axis)
    return node


@_implements(np.lib.stride_tricks.sliding_window_view)
def _sliding_window_view(x: Any, window_shape: Any, axis: Any = None, *, subok: bool = False,
                         writeable: bool = False) -> Array:
    # Shifted slices stacked: what xarray's rolling windows are built on.
    return windows.sliding_window_view(x, window_shape, axis, subok=subok, writeable=writeable)


@_implements(np.take)
def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: Any = "raise") -> Array:
    """``numpy.take`` of integer indices (a scalar or 1-d) along an axis: a selection."""
    _no_out("take", out)
    node = asarray(a)
    if mode != "raise":
        raise TypeError(f"numpy.take: lazyarray takes with mode='raise' only, found {mode!r}")
    positions = np.asarray(indices)
    if positions.ndim > 1 or positions.dtype.kind not in "iu":
        raise TypeError("numpy.take: lazyarray takes a scalar or 1-d array of integer "
                        f"indices, found {positions.ndim}-d of dtype {positions.dtype}")
    if axis is None:
        if node.ndim > 1:
            raise TypeError("numpy.take with axis=None takes from the flattened array, and "
                            "lazyarray does not flatten arrays of several axes lazily: give "
                            "an axis, or realise first with x.ndarray()")
        axis = 0
    axis = normalise_axes(axis, node.ndim, "numpy.take")[0]
    item: Any = int(positions) if positions.ndim == 0 else positions
    return node[(slice(None),) * axis + (item,)]


# -- views (lazyarray.views) ---------------------------------------------------------


@_implements(np.transpose)
def _transpose(a: Any, axes: Any = None) -> Array:
    return views.transpose(a, axes)


@_implements(np.moveaxis)
def _moveaxis(a: Any, source: Any, destination: Any) -> Array:
    return views.moveaxis(a, source, destination)


@_implements(np.broadcast_to)
def _broadcast_to(array: Any, shape: Any, subok: bool = False) -> Array:
    return views.broadcast_to(array, shape)


@_implements(np.expand_dims)
def _expand_dims(a: Any, axis: Any) -> Array:
    return views.expand_dims(a, axis)


@_implements(np.squeeze)
def _squeeze(a: Any, axis: Any = None) -> Array:
    return views.squeeze(a, axis)


# -- metadata ------------------------------------------------------------------------


@_implements(np.result_type)
def _result_type(*arrays_and_dtypes: Any) -> np.dtype:
    # An empty array of the dtype stands for a lazy array: numpy 2 promotes
    # arrays by dtype alone, and Python scalars stay weak.
    return np.result_type(*(np.empty(0, a.dtype) if isinstance(a, Array) else a
                            for a in arrays_and_dtypes))


@_implements(np.shape)
def _shape(a: Any) -> tuple[int, ...]:
    return asarray(a).shape


@_implements(np.ndim)
def _ndim(a: Any) -> int:
    return asarray(a).ndim


@_implements(np.size)
def _size(a: Any, axis: Any = None) -> int:
    array = asarray(a)
    if axis is None:
        return array.size
    return math.prod(array.shape[i] for i in normalise_axes(axis, array.ndim, "size"))


# -- reshapes ------------------------------------------------------------------------


@_implements(np.reshape)
def _reshape(a: Any, shape: Any, order: str = "C", *, copy: bool | None = None) -> Array:
    return reshape.reshape(a, shape, order=order, copy=copy)


@_implements(np.ravel)
def _ravel(a: Any, order: str = "C") -> Array:
    return reshape.ravel(a, order=order)
