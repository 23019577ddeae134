"""Order statistics: median, quantiles and percentiles, exact, in bounded memory.

``median``, ``quantile``, ``percentile`` and their ``nan`` forms take
numpy's arguments (``axis`` as an int, a tuple or ``None``, ``q``, every
``method`` numpy has, ``keepdims``) and give numpy's results: values,
shapes (the axes of ``q`` first) and dtypes, bit for bit.

No partial state of an order statistic can be merged exactly, so an
:class:`OrderStatistic` is computed differently from a mean: each tile of
it holds the *whole* reduced extent for a region of the kept axes (every
value of each output point's column), and numpy's own function is applied
to that block. To the planner it is a node like an elementwise one, whose
input is read whole along the reduced axes (see
:meth:`OrderStatistic._plan_placements`): tiles cut the kept axes only,
sized so that a tile's columns, with numpy's working copy, fit
``memory_limit``; a single column too big for it raises
:class:`~lazyarray.errors.MemoryBudgetError` before anything is read.
Several quantiles of one input are one node (its first axes are ``q``'s):
the planner keeps them in one tile (cutting an axis that no source follows
would read the columns again), so each column is read once and sorted once.
An order statistic shares a pass with other results over the same domain;
with reductions of the same input over the same axes (a mean over time
beside a median over time), the plan has two passes, each reading the input.

Masked arrays: ``median`` is ``numpy.ma.median`` (masked points left out,
outputs with no valid point masked); ``nanmedian`` of a masked array leaves
out NaN as well. numpy.ma has no quantile or percentile, and neither has
lazyarray for masked arrays: fill or mask them first (``nanquantile`` of
``where(mask, nan, x)``).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = np.array([[7.0, 1.0, 4.0], [2.0, 9.0, 3.0]])
>>> la.median(x, axis=1).ndarray().tolist()
[4.0, 3.0]
>>> q = la.quantile(x, [0.25, 1.0], axis=0, method="lower")
>>> q.shape, q.ndarray().tolist()
((2, 3), [[2.0, 1.0, 3.0], [7.0, 9.0, 4.0]])
>>> float(la.nanpercentile(np.array([1.0, np.nan, 3.0]), 50))
2.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .axes import normalise_axes
from .fillvalues import default_fill_value, fill_masked, fill_value_argument
from .indexing import Key, key_shape
from .planprotocol import Placement
from .steps import Steps
from .views import expand_dims

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = [
    "METHODS",
    "OrderStatistic",
    "median",
    "nanmedian",
    "nanpercentile",
    "nanquantile",
    "percentile",
    "quantile",
]

#: The ``method`` values numpy's quantile and percentile take.
METHODS = (
    "inverted_cdf", "averaged_inverted_cdf", "closest_observation",
    "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
    "normal_unbiased", "lower", "higher", "midpoint", "nearest",
)

#: numpy's function for each statistic, and numpy.ma's name of it for masked
#: blocks (``None``: numpy.ma has none). By name: numpy loads numpy.ma when it
#: is first named, which ``import lazyarray`` need not pay for.
_FUNCTIONS: dict[str, tuple[Callable[..., Any], str | None]] = {
    "median": (np.median, "median"),
    "nanmedian": (np.nanmedian, "median"),
    "quantile": (np.quantile, None),
    "nanquantile": (np.nanquantile, None),
    "percentile": (np.percentile, None),
    "nanpercentile": (np.nanpercentile, None),
}


class OrderStatistic(Array):
    """An order statistic of an array over some of its axes, computed by numpy per tile.

    Parameters
    ----------
    array : array-like
        The data.
    statistic : str
        ``"median"``, ``"quantile"``, ``"percentile"`` or their ``nan`` forms.
    axis : int, tuple of int or None
        The axes reduced (``None``: all).
    q : float or sequence of float, optional
        For quantiles (in [0, 1]) and percentiles (in [0, 100]): the
        result's first axes are those of ``q``.
    method : str, optional
        numpy's interpolation method (:data:`METHODS`), ``"linear"`` by default.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(24.0).reshape(2, 3, 4)
    >>> s = OrderStatistic(x, "quantile", (0, 2), q=[0.1, 0.9])
    >>> s.shape, s.axes, np.array_equal(s.ndarray(), np.quantile(x, [0.1, 0.9], axis=(0, 2)))
    ((2, 3), (0, 2), True)
    """

    def __init__(self, array: Any, statistic: str, axis: Any = None, q: Any = None,
                 method: str = "linear"):
        array = asarray(array)
        if statistic not in _FUNCTIONS:
            raise ValueError(f"order statistic must be one of {', '.join(_FUNCTIONS)}, "
                             f"got {statistic!r}")
        if method not in METHODS:
            raise ValueError(f"{statistic}: method must be one of {', '.join(METHODS)}, "
                             f"got {method!r}")
        if array.masked and _FUNCTIONS[statistic][1] is None:
            raise TypeError(
                f"{statistic}: the array is masked, and numpy.ma has no {statistic}; fill "
                f"the masked points first (x.filled(...)), or make them NaN and use "
                f"nan{statistic.removeprefix('nan')}"
            )
        axes = normalise_axes(axis, array.ndim, statistic)
        if "median" in statistic:
            if q is not None:
                raise TypeError(f"{statistic} takes no q")
        else:
            q = _checked_q(q, statistic)
        dtype = _result_dtype(array.dtype, array.ndim, statistic, axes, q, method)
        self._setup(array, statistic, tuple(sorted(axes)), q, method, dtype)

    def _setup(self, array: Array, statistic: str, axes: tuple[int, ...], q: Any,
               method: str, dtype: np.dtype) -> None:
        self._array = array
        self._statistic = statistic
        self._axes = axes
        self._q = q
        self._method = method
        self._dtype = dtype
        self._q_shape = np.shape(q) if q is not None else ()
        kept = tuple(n for a, n in enumerate(array.shape) if a not in axes)
        self._shape = tuple(self._q_shape) + kept

    # -- metadata -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._array,)

    @property
    def fill_value(self) -> Any:
        return default_fill_value(self._dtype)

    @property
    def array(self) -> Array:
        """The array whose order statistic this is."""
        return self._array

    @property
    def axes(self) -> tuple[int, ...]:
        """The reduced axes of :attr:`array`, increasing."""
        return self._axes

    @property
    def statistic(self) -> str:
        """numpy's name of the statistic (``"nanquantile"``, say)."""
        return self._statistic

    @property
    def q(self) -> Any:
        """The quantiles or percentiles asked for (``None`` for a median)."""
        return self._q

    @property
    def method(self) -> str:
        """numpy's interpolation method."""
        return self._method

    # -- planner protocol ---------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # The kept axes follow this node's (after q's); every tile reads the
        # reduced ones whole, and no input follows q's axes.
        kept = iter(range(len(self._q_shape), self.ndim))
        return (Placement(self._array, tuple(None if a in self._axes else (next(kept), 0, 1)
                                             for a in range(self._array.ndim))),)

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        # Per element of the result: its whole column, as read, and numpy's
        # working copy of it (partitioned in place, a mask beside it when
        # masked); counted for every quantile, as a tile may hold one.
        reduced = math.prod(self._array.shape[a] for a in self._axes)
        copy = self._array.dtype.itemsize + (1 if self._array.masked else 0)
        return reduced * (sum(parts) + copy)

    @property
    def _plan_label(self) -> str:
        return self._statistic

    # -- graph ----------------------------------------------------------------
    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        node = OrderStatistic.__new__(OrderStatistic)
        node._setup(inputs[0], self._statistic, self._axes, self._q, self._method, self._dtype)
        return node

    def _index_steps(self, key: Key) -> Steps[Array]:
        # q's axes select among the quantiles; the kept axes select from the
        # input, whose reduced axes stay whole.
        nq = len(self._q_shape)
        q = self._q if not nq else np.asarray(self._q)[_basic(key[:nq])]
        items = iter(key[nq:])
        inner = tuple(range(n) if a in self._axes else next(items)
                      for a, n in enumerate(self._array.shape))
        selected = yield self._array._select_steps(inner)
        kept = tuple(a for a in range(self._array.ndim) if a not in self._axes)
        # Kept axes selected by an int are gone: the reduced ones renumber.
        gone = {a for a, item in zip(kept, key[nq:]) if isinstance(item, int)}
        axes = tuple(a - sum(1 for g in gone if g < a) for a in self._axes)
        node = OrderStatistic.__new__(OrderStatistic)
        node._setup(selected, self._statistic, axes, q, self._method, self._dtype)
        assert node.shape == key_shape(key)
        return node

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        value = yield self._array._evaluate_steps(context, self.masked)
        plain, for_masks = _FUNCTIONS[self._statistic]
        arguments: dict[str, Any] = {"axis": self._axes}
        if self._q is not None:
            arguments["method"] = self._method
        if not self.masked:
            if self._q is None:
                result = plain(value, **arguments)
            elif np.ndim(self._q) > 1:
                # numpy's nan forms misplace the axes of a q of 2 or more
                # dimensions over several axes (numpy 2.4: shape (1, 40, 2)
                # for q of (2, 1)); each quantile is found alone, so the
                # quantiles of q flattened, reshaped, are numpy's values.
                flat = plain(value, np.ravel(self._q), **arguments)
                result = np.reshape(flat, self._shape)
            else:
                result = plain(value, self._q, **arguments)
            result = np.asarray(result, dtype=self._dtype)
            return np.ma.MaskedArray(result) if masked else result
        assert for_masks is not None  # refused when built
        if self._statistic == "nanmedian" and value.dtype.kind in "fc":
            value = np.ma.masked_where(np.isnan(np.ma.getdata(value)), value, copy=False)
        found = getattr(np.ma, for_masks)(value, **arguments)
        result = np.ma.MaskedArray(np.ma.getdata(found).astype(self._dtype, copy=False),
                                   mask=np.ma.getmaskarray(found),
                                   fill_value=fill_value_argument(self.fill_value, self._dtype))
        return result if masked else fill_masked(result, self.fill_value)


def _basic(key: Sequence[Any]) -> tuple[Any, ...]:
    """A normalised key as numpy basic and integer-array indexing of ``q``."""
    return tuple(slice(item.start, item.stop if item.stop >= 0 else None, item.step)
                 if isinstance(item, range) else item for item in key)


def _checked_q(q: Any, statistic: str) -> Any:
    """``q`` as numpy takes it (a Python number stays one), checked for range."""
    if q is None:
        raise TypeError(f"{statistic} needs q")
    high = 100 if "percentile" in statistic else 1
    values = np.asarray(q)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{statistic}: q must be a number or an array of numbers, got {q!r}")
    if values.size and (np.isnan(values).any() or values.min() < 0 or values.max() > high):
        raise ValueError(f"{statistic}: q must be within [0, {high}], got {q!r}")
    return q if isinstance(q, numbers.Real) else values


def _result_dtype(dtype: np.dtype, ndim: int, statistic: str, axes: Sequence[int], q: Any,
                  method: str) -> np.dtype:
    """numpy's result dtype: numpy's function on a one-element stand-in.

    Raises numpy's own error (a dtype it cannot order, say) now, before
    anything is read.
    """
    sample = np.zeros((1,) * ndim, dtype)
    function = _FUNCTIONS[statistic][0]
    if q is None:
        return np.asarray(function(sample, axis=tuple(axes))).dtype
    return np.asarray(function(sample, q, axis=tuple(axes), method=method)).dtype


def _order_statistic(statistic: str, a: Any, q: Any, axis: Any, method: str, keepdims: bool,
                     weights: Any, overwrite_input: bool) -> Array:
    if weights is not None:
        raise TypeError(f"{statistic}: weights are not supported lazily; got weights=")
    del overwrite_input  # every tile is numpy's own copy: the input is never written
    node = OrderStatistic(a, statistic, axis, q, method)
    if not keepdims:
        return node
    # numpy keeps the reduced axes as length 1, after q's axes.
    nq = len(node.shape) - (node.array.ndim - len(node.axes))
    return expand_dims(node, tuple(nq + a for a in node.axes))


def median(a: Any, axis: Any = None, *, keepdims: bool = False,
           overwrite_input: bool = False) -> Array:
    """Median over ``axis``, as ``numpy.median`` (``numpy.ma.median`` for masked arrays); lazily.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.median(np.array([[3, 1], [2, 8]]), axis=0).ndarray().tolist()
    [2.5, 4.5]
    """
    return _order_statistic("median", a, None, axis, "linear", keepdims, None, overwrite_input)


def nanmedian(a: Any, axis: Any = None, *, keepdims: bool = False,
              overwrite_input: bool = False) -> Array:
    """Median over ``axis`` ignoring NaN, as ``numpy.nanmedian``; lazily."""
    return _order_statistic("nanmedian", a, None, axis, "linear", keepdims, None, overwrite_input)


def quantile(a: Any, q: Any, axis: Any = None, *, method: str = "linear",
             keepdims: bool = False, weights: Any = None,
             overwrite_input: bool = False) -> Array:
    """The ``q``-th quantiles over ``axis``, as ``numpy.quantile``; lazily.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.quantile(np.arange(10.0), [0.5, 0.9], method="nearest").ndarray().tolist()
    [4.0, 8.0]
    """
    return _order_statistic("quantile", a, q, axis, method, keepdims, weights, overwrite_input)


def nanquantile(a: Any, q: Any, axis: Any = None, *, method: str = "linear",
                keepdims: bool = False, weights: Any = None,
                overwrite_input: bool = False) -> Array:
    """The ``q``-th quantiles over ``axis`` ignoring NaN, as ``numpy.nanquantile``; lazily."""
    return _order_statistic("nanquantile", a, q, axis, method, keepdims, weights,
                            overwrite_input)


def percentile(a: Any, q: Any, axis: Any = None, *, method: str = "linear",
               keepdims: bool = False, weights: Any = None,
               overwrite_input: bool = False) -> Array:
    """The ``q``-th percentiles over ``axis``, as ``numpy.percentile``; lazily.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.percentile(np.arange(5), 50).ndarray().item()
    2.0
    """
    return _order_statistic("percentile", a, q, axis, method, keepdims, weights,
                            overwrite_input)


def nanpercentile(a: Any, q: Any, axis: Any = None, *, method: str = "linear",
                  keepdims: bool = False, weights: Any = None,
                  overwrite_input: bool = False) -> Array:
    """The ``q``-th percentiles over ``axis`` ignoring NaN, as ``numpy.nanpercentile``; lazily."""
    return _order_statistic("nanpercentile", a, q, axis, method, keepdims, weights,
                            overwrite_input)
