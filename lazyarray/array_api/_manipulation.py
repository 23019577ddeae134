"""The standard's manipulation functions and ``take``, as views, selections and mosaics.

Nothing is read or copied: ``flip`` is a selection with negative steps,
``roll`` a mosaic of two slices, ``tile`` a mosaic of the array repeated,
``repeat`` and ``take`` selections of positions, ``reshape``
:func:`lazyarray.reshape.reshape`. Joins promote their members' dtypes
(casting them lazily first, as lazyarray's mosaics hold one dtype).

Examples
--------
>>> import lazyarray.array_api as xp
>>> x = xp.reshape(xp.arange(6), (2, 3))
>>> xp.roll(x, 1, axis=1).ndarray().tolist()
[[2, 0, 1], [5, 3, 4]]
>>> xp.concat([x, xp.ones((1, 3), dtype=xp.float32)]).dtype
dtype('float64')
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import mosaic, views
from ..adapters import asarray
from ..array import Array
from ..axes import normalise_axes, normalise_axis
from ..errors import AxisError as _LazyAxisError
from ..reshape import reshape as _reshape
from ._dtypes import result_type

__all__ = [
    "broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip",
    "matrix_transpose", "moveaxis", "permute_dims", "repeat", "reshape", "roll",
    "squeeze", "stack", "take", "tile", "unstack",
]


class AxisError(_LazyAxisError, IndexError):
    """An axis out of range: lazyarray's ``AxisError`` (a ``ValueError``) and
    the ``IndexError`` the standard asks for, as numpy's ``AxisError`` is both."""


def _members(arrays: Any, operation: str) -> list[Array]:
    """The arrays to join, cast to their promoted dtype (mosaics hold one dtype)."""
    if not isinstance(arrays, (list, tuple)) or not arrays:
        raise TypeError(f"{operation}: expected a non-empty list or tuple of arrays, "
                        f"found {arrays!r}")
    members = [asarray(a) for a in arrays]
    dtype = result_type(*members)
    return [m if m.dtype == dtype else m.astype(dtype) for m in members]


def _flat(array: Array) -> Array:
    return array if array.ndim == 1 else _reshape(array, (-1,))


def broadcast_arrays(*arrays: Any) -> list[Array]:
    """The arrays broadcast to their common shape, as views (a list, as 2024.12 says).

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> [a.shape for a in xp.broadcast_arrays(xp.zeros((2, 1)), xp.zeros(3))]
    [(2, 3), (2, 3)]
    """
    members = [asarray(a) for a in arrays]
    shape = views.broadcast_shapes(*(m.shape for m in members), operation="broadcast_arrays")
    return [views.broadcast_to(m, shape) for m in members]


def broadcast_to(x: Any, /, shape: Sequence[int]) -> Array:
    """``x`` broadcast to ``shape``, as a view."""
    return views.broadcast_to(x, shape)


def concat(arrays: Any, /, *, axis: int | None = 0) -> Array:
    """Join arrays along ``axis`` (their flattened elements if ``None``), dtypes promoted.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.concat([xp.asarray([[1, 2]], dtype=xp.int8), xp.asarray([3], dtype=xp.int16)],
    ...           axis=None).ndarray()
    array([1, 2, 3], dtype=int16)
    """
    members = _members(arrays, "concat")
    if axis is None:
        return mosaic.concatenate([_flat(m) for m in members], 0)
    return mosaic.concatenate(members, axis)


def stack(arrays: Any, /, *, axis: int = 0) -> Array:
    """Join arrays of one shape along a new axis, dtypes promoted."""
    return mosaic.stack(_members(arrays, "stack"), axis)


def expand_dims(x: Any, /, axis: int = 0) -> Array:
    """``x`` with a new axis of length 1 at ``axis`` of the result.

    Raises
    ------
    AxisError
        An ``IndexError`` (and ``ValueError``), for ``axis`` outside
        ``[-x.ndim - 1, x.ndim]``.
    """
    array = asarray(x)
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"expand_dims: expected axis an int, found {axis!r}")
    if not -array.ndim - 1 <= axis <= array.ndim:
        raise AxisError(f"expand_dims: axis {axis} is out of range for a result of "
                        f"{array.ndim + 1} dimensions")
    return views.expand_dims(array, axis)


def flip(x: Any, /, *, axis: int | Sequence[int] | None = None) -> Array:
    """``x`` with the order of elements along ``axis`` (all axes if ``None``) reversed."""
    array = asarray(x)
    axes = normalise_axes(axis, array.ndim, "flip")
    return array[tuple(slice(None, None, -1) if a in axes else slice(None)
                       for a in range(array.ndim))]


def moveaxis(x: Any, source: int | Sequence[int], destination: int | Sequence[int], /
             ) -> Array:
    """``x`` with axes moved from ``source`` to ``destination``, as a view."""
    return views.moveaxis(x, source, destination)


def permute_dims(x: Any, /, axes: Sequence[int]) -> Array:
    """``x`` with its axes in the order ``axes`` (a permutation of all of them)."""
    array = asarray(x)
    if len(axes) != array.ndim:
        raise ValueError(f"permute_dims: expected {array.ndim} axes, found {tuple(axes)}")
    return views.transpose(array, axes)


def matrix_transpose(x: Any, /) -> Array:
    """``x`` with its last two axes swapped (an array of matrices, transposed)."""
    array = asarray(x)
    if array.ndim < 2:
        raise ValueError(f"matrix_transpose: expected an array of at least 2 dimensions, "
                         f"found {array.ndim}")
    return views.moveaxis(array, -1, -2)


def reshape(x: Any, /, shape: Sequence[int], *, copy: bool | None = None) -> Array:
    """``x`` with a new shape of as many elements, in C order (one length may be -1)."""
    return _reshape(x, shape, copy=copy)


def _along(array: Array, axis: int, item: Any) -> Array:
    return array[(slice(None),) * axis + (item,)]


def repeat(x: Any, repeats: Any, /, *, axis: int | None = None) -> Array:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (of the
    flattened ``x`` if ``None``), as a selection.

    ``repeats`` is an int, or integers known without reading (a list, a numpy
    array) of one per element or one for all. A lazy array of repeats is
    refused: the result's shape would depend on values not yet read, which is
    what the standard allows libraries that build graphs to refuse.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.repeat(xp.asarray([1, 2]), [2, 1]).ndarray().tolist()
    [1, 1, 2]
    """
    if isinstance(repeats, Array):
        raise TypeError("repeat: expected repeats an int or a list or numpy array of ints; "
                        "a lazy array of repeats would make the result's shape depend on "
                        "values not read (data-dependent shapes are not supported)")
    array = asarray(x)
    if axis is None:
        array, axis = _flat(array) if array.ndim else views.expand_dims(array, 0), 0
    axis = normalise_axis(axis, array.ndim, "repeat")
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: expected repeats an int or 1-d integers, found "
                        f"{counts.ndim}-d of dtype {counts.dtype}")
    if np.any(counts < 0):
        raise ValueError("repeat: expected repeats of at least 0, found negative ones")
    length = array.shape[axis]
    if counts.ndim and counts.size not in (1, length):
        raise ValueError(f"repeat: expected {length} repeats (one per element) or 1, "
                         f"found {counts.size}")
    return _along(array, axis, np.repeat(np.arange(length), counts))


def roll(x: Any, /, shift: int | Sequence[int], *,
         axis: int | Sequence[int] | None = None) -> Array:
    """``x`` with elements shifted along ``axis`` (of the flattened ``x`` if
    ``None``), those past the end coming back at the start: a mosaic of two slices.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.roll(xp.arange(5), -2).ndarray().tolist()
    [2, 3, 4, 0, 1]
    """
    array = asarray(x)
    if axis is None:
        if not isinstance(shift, int):
            raise TypeError(f"roll: expected an int shift with axis=None, found {shift!r}")
        return _reshape(roll(_flat(array) if array.ndim else array[None], shift, axis=0),
                        array.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shifts = (shift,) * len(axes) if isinstance(shift, int) else tuple(shift)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: expected as many shifts as axes, found shift {shift!r} "
                         f"and axis {axis!r}")
    total = [0] * array.ndim
    for a, s in zip(axes, shifts):  # shifts of one axis add up, as numpy's
        total[normalise_axis(a, array.ndim, "roll")] += operator.index(s)
    for a, s in enumerate(total):
        n = array.shape[a]
        if n and s % n:
            cut = n - s % n
            array = mosaic.concatenate([_along(array, a, slice(cut, None)),
                                        _along(array, a, slice(None, cut))], a)
    return array


def squeeze(x: Any, /, axis: int | Sequence[int]) -> Array:
    """``x`` without the axes ``axis``, which must have length 1 (``ValueError`` if not)."""
    return views.squeeze(x, axis)


def tile(x: Any, repetitions: Sequence[int], /) -> Array:
    """``x`` repeated ``repetitions[i]`` times along each axis, as a mosaic of ``x``.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.tile(xp.asarray([1, 2]), (2, 2)).ndarray().tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    array = asarray(x)
    reps = tuple(operator.index(r) for r in repetitions)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: expected repetitions of at least 0, found {reps}")
    if len(reps) > array.ndim:
        array = views.expand_dims(array, tuple(range(len(reps) - array.ndim)))
    reps = (1,) * (array.ndim - len(reps)) + reps
    for a, r in enumerate(reps):
        if r == 0:
            array = _along(array, a, slice(0, 0))
        elif r > 1:
            array = mosaic.concatenate([array] * r, a)
    return array


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Array, ...]:
    """The arrays along ``axis`` of ``x``, as a tuple of selections."""
    array = asarray(x)
    if array.ndim == 0:
        raise ValueError("unstack: expected an array of at least 1 dimension, found 0-d")
    axis = normalise_axis(axis, array.ndim, "unstack")
    return tuple(_along(array, axis, i) for i in range(array.shape[axis]))


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Array:
    """The elements of ``x`` at ``indices`` (1-d integers, negative from the end)
    along ``axis`` (optional for 1-d ``x``), as a selection.

    The selection must know its positions: ``indices`` given as a lazy array
    are realised when ``take`` is called (they alone, not ``x``); give a list
    or a numpy array to read nothing.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> x = xp.reshape(xp.arange(6), (2, 3))
    >>> xp.take(x, xp.asarray([2, -3]), axis=1).ndarray().tolist()
    [[2, 0], [5, 3]]
    """
    array = asarray(x)
    positions = indices.ndarray() if isinstance(indices, Array) else np.asarray(indices)
    if positions.ndim != 1 or positions.dtype.kind not in "iu":
        raise TypeError(f"take: expected 1-d integer indices, found {positions.ndim}-d of "
                        f"dtype {positions.dtype}")
    if axis is None:
        if array.ndim != 1:
            raise ValueError(f"take: expected an axis for an array of {array.ndim} "
                             "dimensions")
        axis = 0
    axis = normalise_axis(axis, array.ndim, "take")
    return _along(array, axis, positions)
