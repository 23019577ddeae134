"""Sliding windows as a lazy view: ``numpy.lib.stride_tricks.sliding_window_view``.

numpy's ``sliding_window_view(x, w, axis=a)`` is a strided view whose
position ``(..., i, ..., k)`` is ``x[..., i + k, ...]``: the windows of ``w``
positions along ``a``, on a new last axis. Lazily it is the ``w`` shifted
slices of ``x`` stacked on a new last axis, which reads nothing when built
and, evaluated, reads of ``x`` only the positions a region's windows cover.
A reduction over the window axis then reduces few values per result, and
streams with the tiles that use it where its result is big (see
:attr:`lazyarray.Aggregation.streams`): this is how xarray's
``rolling(...).mean()`` runs on lazy arrays. lazyarray's own moving windows,
which read each position once, are :func:`lazyarray.rolling`.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = np.arange(6.0)
>>> la.sliding_window_view(x, 3).ndarray().tolist()
[[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0]]
>>> la.mean(la.sliding_window_view(x, 3), axis=-1).ndarray().tolist()
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .adapters import asarray
from .array import Array
from .axes import normalise_axis
from .creation import full
from .mosaic import stack

__all__ = ["sliding_window_view"]


def sliding_window_view(x: Any, window_shape: Any, axis: Any = None, *, subok: bool = False,
                        writeable: bool = False) -> Array:
    """The windows of ``window_shape`` positions along ``axis`` of ``x``, lazily.

    As ``numpy.lib.stride_tricks.sliding_window_view``: for each windowed
    axis, its length becomes ``n - w + 1`` and a new last axis of length
    ``w`` holds the window's positions (an axis may be windowed several
    times, as numpy allows).

    Parameters
    ----------
    x : array_like
    window_shape : int or tuple of int
        The window's length along each axis of ``axis``.
    axis : int or tuple of int, optional
        The axes windowed; by default all, one window length per axis.
    subok : bool, optional
        Ignored: the result is a lazy array, realised as ``x``'s kind is.
    writeable : bool, optional
        Must be false: lazy arrays are read-only.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        For negative window lengths, a window longer than its axis, window
        lengths that do not match the axes, or ``writeable=True``.
    lazyarray.AxisError
        For an axis out of range.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = np.arange(12).reshape(3, 4)
    >>> v = la.sliding_window_view(x, (2, 2))
    >>> v.shape, v[1, 2].ndarray().tolist()
    ((2, 3, 2, 2), [[6, 7], [10, 11]])
    >>> la.sliding_window_view(x, 3, axis=-1).ndarray().tolist()[2]
    [[8, 9, 10], [9, 10, 11]]
    """
    array = asarray(x)
    if writeable:
        raise ValueError("sliding_window_view: lazy arrays are read-only; writeable=True "
                         "cannot be honoured")
    window = tuple(operator.index(w) for w in (
        window_shape if np.iterable(window_shape) else (window_shape,)))
    if axis is None:
        if len(window) != array.ndim:
            raise ValueError(
                f"sliding_window_view: since axis is None, window_shape must give a length "
                f"for every axis of x: got {len(window)} lengths for {array.ndim} axes"
            )
        axes = tuple(range(array.ndim))
    else:
        given = tuple(axis) if np.iterable(axis) else (axis,)
        axes = tuple(normalise_axis(a, array.ndim, "sliding_window_view") for a in given)
        if len(axes) != len(window):
            raise ValueError(
                f"sliding_window_view: window_shape and axis must have the same length; "
                f"got {len(window)} window lengths and {len(axes)} axes"
            )
    if any(w < 0 for w in window):
        raise ValueError(f"sliding_window_view: window_shape cannot hold negative lengths, "
                         f"got {window}")
    result = array
    for a, w in zip(axes, window):
        length = result.shape[a]
        if length < w:
            raise ValueError(
                f"sliding_window_view: a window of {w} is longer than axis {a} of length "
                f"{length}"
            )
        result = _windows_along(result, a, w)
    return result


def _windows_along(array: Array, axis: int, window: int) -> Array:
    """The windows of ``window`` positions along ``axis``, on a new last axis."""
    count = array.shape[axis] - window + 1
    if window == 0:  # numpy's: one more position, windows of nothing
        shape = tuple(count if a == axis else n for a, n in enumerate(array.shape)) + (0,)
        return full(shape, 0, dtype=array.dtype)
    before = (slice(None),) * axis
    # Position k of every window is the slice that starts k later.
    shifted = [array[before + (slice(k, k + count),)] for k in range(window)]
    return stack(shifted, axis=-1)
