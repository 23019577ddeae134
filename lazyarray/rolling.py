"""Moving windows: sums, means, variances, minima and maxima over a window along an axis.

``la.rolling(x, window, axis=0, center=False, min_periods=None)`` gives a
:class:`Rolling`, whose methods ``sum``, ``mean``, ``var``, ``std``
(``ddof``), ``min`` and ``max`` are lazy arrays of ``x``'s shape, as
xarray's ``rolling`` gives them: position ``i`` holds the statistic of the
``window`` positions ending at ``i`` (``center=False``) or centred on it
(the window's later half one shorter for an even window, as xarray and
pandas centre). Missing values (NaN, masked points, positions beyond the
ends) are skipped; where fewer than ``min_periods`` values are present
(by default, the whole window), the result is NaN, or masked in masked mode.

How a region is computed, read once:

1. The region reads its own positions of the input (the planner aligns
   tiles to the storage chunks below).
2. The ``window - 1`` positions before them come from the region before,
   which published them as its carry (:mod:`lazyarray.carries`); failing
   that (a region evaluated alone), they are read.
3. The statistic of each window is computed over
   :func:`numpy.lib.stride_tricks.sliding_window_view` of the positions put
   together; sums (and means, variances) add a window's values in order,
   so results do not depend on the tiling, and equal numpy's NaN-skipping
   functions over the same windows to rounding (minima and maxima exactly).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
>>> la.rolling(x, 3).sum().ndarray().tolist()
[nan, nan, 7.0, 14.0, 28.0]
>>> la.rolling(x, 3, center=True, min_periods=1).max().ndarray().tolist()
[2.0, 4.0, 8.0, 16.0, 16.0]
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .adapters import asarray
from .array import Array
from .axes import normalise_axis
from .indexing import is_full, orthogonal_take
from .sequential import AlongAxis
from .steps import Steps, run

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["MovingWindow", "Rolling", "rolling"]

STATISTICS = ("sum", "mean", "var", "std", "min", "max")


@dataclass(frozen=True)
class RollingSpec:
    """What a moving window computes.

    Attributes
    ----------
    statistic : str
        One of :data:`STATISTICS`.
    window : int
        Positions in each window.
    min_periods : int
        Fewest values present for a result (else NaN).
    center : bool
        Centred windows, rather than trailing.
    ddof : int
        For ``var`` and ``std``: delta degrees of freedom.
    work : numpy.dtype
        The dtype the values are computed in (NaN marks missing ones).
    """

    statistic: str
    window: int
    min_periods: int
    center: bool
    ddof: int
    work: np.dtype

    @property
    def lead(self) -> int:
        """How far past a position its window reaches."""
        return (self.window - 1) // 2 if self.center else 0


class MovingWindow(AlongAxis):
    """A statistic over a moving window along one axis (see :func:`rolling`).

    Parameters
    ----------
    array : Array
    spec : RollingSpec
    axis : int

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = la.rolling(np.arange(6.0), 2).mean()
    >>> type(m).__name__, m[3:].ndarray().tolist()
    ('MovingWindow', [2.5, 3.5, 4.5])
    """

    def __init__(self, array: Array, spec: RollingSpec, axis: int):
        self._start(array, spec, axis, _result_dtype(spec), lead=spec.lead)

    @property
    def masked(self) -> bool:
        # Missing values are NaN in the result, never masked points.
        return False

    @property
    def spec(self) -> RollingSpec:
        """What the window computes."""
        return self._spec

    # -- evaluation -------------------------------------------------------------
    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        spec = self._spec
        start, stop = self._window
        length = self._origin.length
        before = spec.window - 1
        # The windows of this region cover input positions first:last, some
        # of them before 0 or past the end (missing).
        first, last = start + self._lead - before, stop + self._lead
        low, high = min(max(start + self._lead, 0), length), min(last, length)
        own = yield from self._work_steps(context, low, high)
        wanted = low - max(first, 0)  # positions before the region's own
        tail = None
        if before:
            chain = context.carries.chain(self._origin)
            found, carry = chain.best(low, self._others, context.cancelled, self._along)
            if found == low and carry is not None:
                tail = carry[self._slab(before - wanted, None)]
            elif wanted:
                tail = self._work(run(self._values_steps(context, low - wanted, low,
                                                         self._source.masked)))
        joined = self._joined(max(first, 0) - first, tail, own, last - high)
        end = high - first
        if before and stop > start and end >= before:
            chain.publish(high, self._others, joined[self._slab(end - before, end)].copy(),
                          consumed=low)
        result, present = self._statistic(joined)
        scarce = present < spec.min_periods
        if not is_full(self._take, self._window_shape):
            result, scarce = orthogonal_take(result, self._take), orthogonal_take(
                scarce, self._take)
        result[scarce] = np.nan
        if masked:
            return np.ma.MaskedArray(result, mask=scarce)
        return result

    def _work_steps(self, context: EvaluationContext, start: int, stop: int
                    ) -> Steps[np.ndarray]:
        """The input's positions ``start:stop`` in the work dtype, missing ones NaN."""
        value = yield from self._values_steps(context, start, stop, self._source.masked)
        return self._work(value)

    def _work(self, value: np.ndarray) -> np.ndarray:
        work = np.array(np.ma.getdata(value), dtype=self._spec.work, copy=True)
        if isinstance(value, np.ma.MaskedArray):
            work[np.ma.getmaskarray(value)] = np.nan
        return work

    def _joined(self, missing: int, tail: np.ndarray | None, own: np.ndarray,
                beyond: int) -> np.ndarray:
        """The positions the windows need, in order: ``missing`` NaN for those
        before the start, the ``tail`` before the region, its ``own``, and
        ``beyond`` NaN for those past the end."""
        parts = [own] if tail is None else [tail, own]
        if missing:
            parts.insert(0, self._nans(own, missing))
        if beyond:
            parts.append(self._nans(own, beyond))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=self._along)

    def _nans(self, like: np.ndarray, count: int) -> np.ndarray:
        shape = list(like.shape)
        shape[self._along] = count
        return np.full(shape, np.nan, self._spec.work)

    def _statistic(self, joined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window's statistic, and how many values it had.

        Sums add a window's values one position after another (missing ones
        as 0), the same for every tiling: the result does not depend on
        where tiles begin, as numpy's pairwise sums over views of different
        shapes would. Variances take the deviations from that mean, summed
        the same way (two passes, as numpy's ``nanvar``).
        """
        spec = self._spec
        windows = sliding_window_view(joined, spec.window, self._along)
        missing = np.isnan(windows)
        present = spec.window - np.sum(missing, axis=-1, dtype=np.intp)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # windows with no value
            if spec.statistic == "min":
                return np.nanmin(windows, axis=-1), present
            if spec.statistic == "max":
                return np.nanmax(windows, axis=-1), present
            total = self._summed(windows, missing, lambda k: windows[..., k])
            if spec.statistic == "sum":
                return total, present
            mean = np.true_divide(total, present, out=total, casting="unsafe")
            if spec.statistic == "mean":
                return mean, present

            def squared(k: int) -> np.ndarray:
                deviation = windows[..., k] - mean
                return (deviation * deviation.conj()).real if deviation.dtype.kind == "c" \
                    else deviation * deviation

            squares = self._summed(windows, missing, squared)
            dof = present - spec.ddof
            variance = np.true_divide(squares, dof, out=squares, casting="unsafe")
            variance[dof <= 0] = np.nan
            return (variance if spec.statistic == "var" else np.sqrt(variance)), present

    @staticmethod
    def _summed(windows: np.ndarray, missing: np.ndarray,
                term: Callable[[int], np.ndarray]) -> np.ndarray:
        """``term(k)`` summed over a window's positions ``k``, in order,
        missing positions adding nothing."""
        total = None
        for k in range(windows.shape[-1]):
            value = np.where(missing[..., k], 0, term(k))
            total = value if total is None else np.add(total, value, out=total)
        assert total is not None
        return total

    # -- planner protocol -------------------------------------------------------
    def _plan_own_bytes(self, joined: bool) -> int:
        # The joined positions, NaN made 0 (sums), the result, counts; the
        # variance's deviations take a copy of every window.
        work = self._spec.work.itemsize
        copies = self._spec.window + 3 if self._spec.statistic in ("var", "std") else 3
        return work * copies + 8 + 1

    @property
    def _plan_label(self) -> str:
        return f"rolling {self._spec.statistic}"


def _result_dtype(spec: RollingSpec) -> np.dtype:
    sample = np.ones((1, 2), spec.work)
    if spec.statistic in ("var", "std"):
        return np.nanvar(sample, axis=-1).dtype
    return spec.work


class Rolling:
    """Moving windows over an array along one axis (made by :func:`rolling`).

    Each method gives a lazy array of the array's shape.
    """

    def __init__(self, array: Array, window: int, axis: int, center: bool, min_periods: int):
        self._array = array
        self._window = window
        self._axis = axis
        self._center = center
        self._min_periods = min_periods
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._work = np.nanmean(np.ones(1, array.dtype)).dtype

    def __repr__(self) -> str:
        return (f"<Rolling window={self._window} axis={self._axis} center={self._center} "
                f"min_periods={self._min_periods} over {self._array!r}>")

    def _node(self, statistic: str, ddof: int = 0) -> MovingWindow:
        if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof < 0:
            raise ValueError(f"rolling {statistic}: ddof must be a non-negative integer, "
                             f"found {ddof!r}")
        spec = RollingSpec(statistic, self._window, self._min_periods, self._center, int(ddof),
                           self._work)
        return MovingWindow(self._array, spec, self._axis)

    def sum(self) -> MovingWindow:
        """The sum of each window's values."""
        return self._node("sum")

    def mean(self) -> MovingWindow:
        """The mean of each window's values."""
        return self._node("mean")

    def var(self, ddof: int = 0) -> MovingWindow:
        """The variance of each window's values (``ddof`` as numpy's)."""
        return self._node("var", ddof)

    def std(self, ddof: int = 0) -> MovingWindow:
        """The standard deviation of each window's values (``ddof`` as numpy's)."""
        return self._node("std", ddof)

    def min(self) -> MovingWindow:
        """The least of each window's values."""
        return self._node("min")

    def max(self) -> MovingWindow:
        """The greatest of each window's values."""
        return self._node("max")


def rolling(x: Any, window: int, axis: int = 0, *, center: bool = False,
            min_periods: int | None = None) -> Rolling:
    """Moving windows of ``window`` positions along ``axis`` of ``x``.

    Parameters
    ----------
    x : array_like
        Of a numeric or boolean dtype; computed in numpy's dtype for its
        mean (float64 for integers).
    window : int
        Positions in each window, at least 1.
    axis : int
    center : bool
        Centre the windows on their positions (xarray's ``center=True``),
        rather than end them there.
    min_periods : int, optional
        Fewest values present in a window for a result; NaN otherwise. By
        default ``window``: windows that run past either end are NaN.

    Returns
    -------
    Rolling
        With ``sum``, ``mean``, ``var``, ``std``, ``min`` and ``max``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> days = np.arange(12.0).reshape(6, 2)
    >>> la.rolling(days, 3, axis=0).mean().ndarray()[2:].tolist()
    [[2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]]
    """
    array = asarray(x)
    if array.ndim == 0:
        raise ValueError("rolling: expected an array of at least one dimension, found 0-d")
    axis = normalise_axis(axis, array.ndim, "rolling")
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"rolling: window must be a positive integer, found {window!r}")
    if min_periods is None:
        min_periods = int(window)
    if (isinstance(min_periods, bool) or not isinstance(min_periods, numbers.Integral)
            or not 1 <= min_periods <= window):
        raise ValueError(f"rolling: min_periods must be an integer from 1 to the window "
                         f"({window}), found {min_periods!r}")
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"rolling: center must be True or False, found {center!r}")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"rolling: expected a numeric or boolean array, found dtype "
                        f"{array.dtype}")
    return Rolling(array, int(window), axis, bool(center), int(min_periods))
