"""Axis arguments: check and normalise them as numpy does.

Examples
--------
>>> normalise_axis(-1, 3, "mean")
2
>>> normalise_axes((0, -1), 3, "sum")
(0, 2)
>>> normalise_axes(None, 2, "sum")
(0, 1)
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Any

from .errors import AxisError

__all__ = ["normalise_axes", "normalise_axis"]


def normalise_axis(axis: Any, ndim: int, operation: str) -> int:
    """``axis`` as a non-negative int below ``ndim``.

    Raises
    ------
    AxisError
        When ``axis`` is out of range.
    TypeError
        When ``axis`` is not an integer.

    Examples
    --------
    >>> normalise_axis(2, 2, "stack")
    Traceback (most recent call last):
    ...
    lazyarray.errors.AxisError: stack: axis 2 is out of range for an array of 2 dimensions
    """
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{operation}: axis must be an integer, got {axis!r}")
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise AxisError(
            f"{operation}: axis {axis} is out of range for an array of {ndim} dimensions"
        )
    return axis % ndim


def normalise_axes(axes: Any, ndim: int, operation: str) -> tuple[int, ...]:
    """``axes`` (an int, a sequence of ints, or ``None`` for all) as distinct
    non-negative ints, in the order given.

    Examples
    --------
    >>> normalise_axes((1, -1), 2, "sum")
    Traceback (most recent call last):
    ...
    lazyarray.errors.AxisError: sum: axis -1 is repeated in (1, -1)
    """
    if axes is None:
        return tuple(range(ndim))
    items = tuple(axes) if isinstance(axes, Sequence) else (axes,)
    out = tuple(normalise_axis(a, ndim, operation) for a in items)
    seen: set[int] = set()
    for given, a in zip(items, out):
        if a in seen:
            raise AxisError(f"{operation}: axis {given} is repeated in {tuple(items)}")
        seen.add(a)
    return out
