"""The statistics lazyarray computes: names, accumulators and numpy's argument and dtype rules.

One :class:`Reduction` per numpy function (``mean``, ``nanstd``, ``argmax``...):
the accumulator that computes it, the keyword arguments it takes, and the
rules that give numpy's result dtype and the dtype it reduces in. The node
that applies a statistic to an array is :class:`lazyarray.aggregation.Aggregation`.

Examples
--------
>>> import numpy as np
>>> REDUCTIONS["nanstd"].skipna, REDUCTIONS["nanstd"].takes
(True, ('dtype', 'ddof'))
>>> numpy_dtype(REDUCTIONS["mean"], np.dtype("i2"), (3, 4), (0,), {})
dtype('float64')
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import accumulators as acc

__all__ = ["REDUCTIONS", "Reduction", "check_options", "numpy_dtype", "work_dtype"]


@dataclass(frozen=True)
class Reduction:
    """A statistic: how to accumulate it and how numpy names and types it.

    Attributes
    ----------
    name : str
        numpy's name of the function (``count`` is numpy.ma's).
    accumulator : type
        The :class:`~lazyarray.accumulators.Accumulator` that computes it.
    skipna : bool
        NaN counts as a missing value (the ``nan`` forms).
    finish : callable or None
        Applied to the accumulated result (``numpy.sqrt`` for ``std``).
    takes : tuple of str
        numpy keyword arguments it accepts besides ``axis``.
    positional : bool
        The result is a position (arg-min/max): one axis or all, flattened.
    empty_warning : str or None
        numpy's warning when an output has no valid input.
    keeps_fill_value : bool
        The result carries its input's fill value (numpy.ma's ``var`` and
        ``std`` do; its other reductions give the default).
    """

    name: str
    accumulator: type[acc.Accumulator]
    skipna: bool = False
    finish: Callable[[Any], Any] | None = None
    takes: tuple[str, ...] = ()
    positional: bool = False
    empty_warning: str | None = None
    keeps_fill_value: bool = False


REDUCTIONS = {
    r.name: r
    for r in (
        Reduction("sum", acc.Sum, takes=("dtype",)),
        Reduction("nansum", acc.Sum, skipna=True, takes=("dtype",)),
        Reduction("prod", acc.Prod, takes=("dtype",)),
        Reduction("nanprod", acc.Prod, skipna=True, takes=("dtype",)),
        Reduction("mean", acc.Mean, takes=("dtype",), empty_warning="Mean of empty slice"),
        Reduction("nanmean", acc.Mean, skipna=True, takes=("dtype",),
                  empty_warning="Mean of empty slice"),
        Reduction("var", acc.Var, takes=("dtype", "ddof"),
                  empty_warning="Degrees of freedom <= 0 for slice.", keeps_fill_value=True),
        Reduction("nanvar", acc.Var, skipna=True, takes=("dtype", "ddof"),
                  empty_warning="Degrees of freedom <= 0 for slice.", keeps_fill_value=True),
        Reduction("std", acc.Var, finish=np.sqrt, takes=("dtype", "ddof"),
                  empty_warning="Degrees of freedom <= 0 for slice.", keeps_fill_value=True),
        Reduction("nanstd", acc.Var, skipna=True, finish=np.sqrt, takes=("dtype", "ddof"),
                  empty_warning="Degrees of freedom <= 0 for slice.", keeps_fill_value=True),
        Reduction("min", acc.Min),
        Reduction("nanmin", acc.Min, skipna=True, empty_warning="All-NaN slice encountered"),
        Reduction("max", acc.Max),
        Reduction("nanmax", acc.Max, skipna=True, empty_warning="All-NaN slice encountered"),
        Reduction("ptp", acc.Ptp),
        Reduction("any", acc.AnyTrue),
        Reduction("all", acc.AllTrue),
        Reduction("argmin", acc.ArgMin, positional=True),
        Reduction("nanargmin", acc.ArgMin, skipna=True, positional=True),
        Reduction("argmax", acc.ArgMax, positional=True),
        Reduction("nanargmax", acc.ArgMax, skipna=True, positional=True),
        Reduction("count", acc.Count),
    )
}


def check_options(reduction: str, options: dict[str, Any]) -> None:
    """Refuse a ``dtype=`` without arithmetic and a ``ddof`` that is not a finite number.

    numpy takes any real ``ddof`` (the divisor is ``count - ddof``); a NaN or
    infinite one divides by NaN or infinity. Object and string dtypes would
    reduce Python objects (and divide them by zero on an empty probe).

    Examples
    --------
    >>> check_options("var", {"ddof": 1.5, "dtype": "f4"})
    >>> check_options("std", {"ddof": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: std: ddof must be a finite number, found nan
    """
    if "dtype" in options:
        dtype = np.dtype(options["dtype"])
        if dtype.kind not in "biufc":
            raise TypeError(
                f"{reduction}: dtype= must be a bool or numeric dtype, found {dtype}"
            )
    if "ddof" in options:
        ddof = options["ddof"]
        if not isinstance(ddof, (numbers.Real, np.bool_)):
            raise TypeError(f"{reduction}: ddof must be a real number, found {ddof!r}")
        if not math.isfinite(float(ddof)):
            raise ValueError(f"{reduction}: ddof must be a finite number, found {ddof!r}")


def numpy_dtype(reduction: Reduction, dtype: np.dtype, shape: tuple[int, ...],
                 axes: tuple[int, ...], options: dict[str, Any]) -> np.dtype:
    """numpy's result dtype, found by running numpy on a tiny stand-in.

    The stand-in keeps zero-length axes, so that reductions numpy refuses
    (the minimum of nothing, say) raise numpy's own error here, at build time.
    """
    if reduction.name == "count":
        return np.dtype(np.intp)
    stand_in = tuple(0 if n == 0 else 1 for n in shape)
    try:
        return _stand_in_dtype(reduction, dtype, stand_in, axes, tuple(sorted(options.items())))
    except TypeError as error:
        if "unhashable" not in str(error):
            raise
        return _stand_in_dtype.__wrapped__(reduction, dtype, stand_in, axes,
                                           tuple(sorted(options.items())))


@functools.lru_cache(maxsize=1024)
def _stand_in_dtype(reduction: Reduction, dtype: np.dtype, stand_in: tuple[int, ...],
                    axes: tuple[int, ...], options: tuple[tuple[str, Any], ...]) -> np.dtype:
    """:func:`numpy_dtype` of the stand-in shape, remembered: building a
    reduction is then mostly bookkeeping, not a call of numpy (an error is
    raised again each time, not remembered)."""
    sample = np.zeros(stand_in, dtype)
    axis: Any = axes
    if reduction.positional:
        axis = axes[0] if len(axes) == 1 and len(stand_in) > 1 else None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = getattr(np, reduction.name)(sample, axis=axis, **dict(options))
    return np.asarray(result).dtype


def work_dtype(reduction: Reduction, dtype: np.dtype, options: dict[str, Any]) -> np.dtype:
    """The dtype numpy reduces in, that the accumulator is built for.

    Sums, products and means reduce in ``dtype=`` when it is given; means of
    integers and booleans in float64 (``numpy.mean``'s rule). Every other
    statistic sees the data's own dtype (variances pick float64 themselves).
    """
    if reduction.accumulator not in (acc.Sum, acc.Prod, acc.Mean):
        return dtype
    if "dtype" in options:
        return np.dtype(options["dtype"])
    if reduction.accumulator is acc.Mean and dtype.kind in "biu":
        return np.dtype(np.float64)
    return dtype
