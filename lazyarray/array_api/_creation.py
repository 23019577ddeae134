"""The standard's creation functions, lazily.

Constant arrays read nothing and hold one value; ``arange``, ``linspace``,
``eye``, ``tril`` and ``triu`` compute their values from positions, tile by
tile (:class:`~lazyarray.array_api._positions.PositionArray`); ``asarray``
wraps numpy arrays without copying unless asked to.

Examples
--------
>>> import lazyarray.array_api as xp
>>> xp.arange(1, 2, 0.25).ndarray().tolist()
[1.0, 1.25, 1.5, 1.75]
>>> xp.triu(xp.ones((3, 3), dtype=xp.int8), k=1).ndarray().tolist()
[[0, 1, 1], [0, 0, 1], [0, 0, 0]]
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import numpy as np

from .. import creation, elementwise, mosaic, views
from ..adapters import asarray as _wrap
from ..array import Array
from ..errors import ShapeError
from ._dtypes import (
    DEFAULT_FLOAT,
    DEFAULT_INT,
    as_dtype,
    check_device,
    scalar_dtype,
)
from ._positions import Arange, Diagonal, Linspace, PositionArray, Triangle

__all__ = [
    "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
    "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros", "zeros_like",
]


def _holds_arrays(obj: Any) -> builtins.bool:
    if isinstance(obj, Array):
        return True
    return isinstance(obj, (list, tuple)) and builtins.any(_holds_arrays(o) for o in obj)


def _stacked(obj: Any) -> Array:
    """Nested sequences holding lazy arrays, stacked lazily (numpy would read them)."""
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ShapeError("asarray: an empty sequence among lazy arrays has no shape")
        return mosaic.stack([_stacked(o) for o in obj])
    if isinstance(obj, Array):
        return obj
    return _wrap(np.asarray(obj))


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None,
            copy: builtins.bool | None = None) -> Array:
    """A lazy array of ``obj``: a lazy array, a numpy array, a Python scalar,
    nested sequences of them, or any object numpy or DLPack converts.

    Nothing is read. A numpy array is wrapped as it is unless ``copy=True``
    (later changes to it then show in the lazy array, as in numpy's
    ``asarray``); ``copy=False`` refuses a conversion that needs a copy.
    Python scalars take the default dtypes (``int64``, ``float64``,
    ``complex128``).

    Examples
    --------
    >>> import numpy as np, lazyarray.array_api as xp
    >>> xp.asarray([[1, 2], [3, 4]], dtype=xp.float32).dtype
    dtype('float32')
    >>> x = xp.asarray(np.arange(3))
    >>> xp.asarray([x, x + 1]).ndarray().tolist()  # stacked lazily
    [[0, 1, 2], [1, 2, 3]]
    """
    check_device(device, "asarray")
    target = None if dtype is None else as_dtype(dtype, "asarray")
    if isinstance(obj, Array):
        if target is None or target == obj.dtype:
            return obj
        if copy is False:
            raise ValueError(f"asarray: casting from {obj.dtype} to {target} makes a new "
                             "array, and copy=False forbids it")
        return obj.astype(target)
    if isinstance(obj, (list, tuple)) and _holds_arrays(obj):
        if copy is False:
            raise ValueError("asarray: stacking arrays makes a new array, and copy=False "
                             "forbids it")
        stacked = _stacked(obj)
        return stacked if target is None else stacked.astype(target)
    if isinstance(obj, (builtins.bool, int, float, complex)):
        target = scalar_dtype(obj, "asarray") if target is None else target
    elif not isinstance(obj, np.ndarray) and hasattr(obj, "__dlpack__"):
        obj = np.from_dlpack(obj)
    # numpy's copy semantics (None: only if needed; False: never), masks kept.
    data = np.array(obj, dtype=target, copy=copy, subok=True)
    if data.dtype == object:
        raise TypeError(f"asarray: expected numbers or arrays, found {type(obj).__name__} "
                        "holding objects that make no numeric array")
    return _wrap(data)


def from_dlpack(x: Any, /, *, device: Any = None, copy: builtins.bool | None = None) -> Array:
    """A lazy array of an object that supports DLPack (a numpy array...), wrapped unread.

    Examples
    --------
    >>> import numpy as np, lazyarray.array_api as xp
    >>> xp.from_dlpack(np.arange(3.0)).ndarray().tolist()
    [0.0, 1.0, 2.0]
    """
    check_device(device, "from_dlpack")
    if isinstance(x, Array):
        return x
    return _wrap(np.from_dlpack(x, copy=copy))


def _shape(shape: Any) -> tuple[int, ...]:
    return creation.ConstantArray(shape, 0).shape  # its checks of lengths


def zeros(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    """A lazy array of zeros (``float64`` by default); reads and holds nothing.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.zeros((2, 3), dtype=xp.int32)
    <ConstantArray shape=(2, 3) dtype=int32 size=24 B>
    """
    check_device(device, "zeros")
    return creation.zeros(shape, DEFAULT_FLOAT if dtype is None else as_dtype(dtype, "zeros"))


def ones(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    """A lazy array of ones (``float64`` by default)."""
    check_device(device, "ones")
    return creation.ones(shape, DEFAULT_FLOAT if dtype is None else as_dtype(dtype, "ones"))


def empty(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    """An array whose values are unspecified: zeros, which cost nothing lazily."""
    check_device(device, "empty")
    return zeros(shape, dtype=dtype)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    """A lazy array of ``fill_value``, of its Python type's default dtype unless given.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.full(2, 7).dtype, xp.full(2, 7.0).dtype, xp.full(2, True).dtype
    (dtype('int64'), dtype('float64'), dtype('bool'))
    """
    check_device(device, "full")
    if dtype is None:
        target = (fill_value.dtype if isinstance(fill_value, np.generic)
                  else scalar_dtype(fill_value, "full"))
    else:
        target = as_dtype(dtype, "full")
    return creation.full(shape, fill_value, target)


def _like(x: Any, dtype: Any, device: Any, operation: str) -> tuple[tuple[int, ...], np.dtype]:
    check_device(device, operation)
    array = _wrap(x)
    return array.shape, array.dtype if dtype is None else as_dtype(dtype, operation)


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Array:
    """Zeros of ``x``'s shape (and dtype, unless given); reads nothing of ``x``."""
    return creation.zeros(*_like(x, dtype, device, "zeros_like"))


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Array:
    """Ones of ``x``'s shape (and dtype, unless given); reads nothing of ``x``."""
    return creation.ones(*_like(x, dtype, device, "ones_like"))


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Array:
    """An array of ``x``'s shape whose values are unspecified: zeros."""
    return creation.zeros(*_like(x, dtype, device, "empty_like"))


def full_like(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    """``fill_value`` in ``x``'s shape (and dtype, unless given); reads nothing of ``x``."""
    shape, target = _like(x, dtype, device, "full_like")
    return creation.full(shape, fill_value, target)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None) -> Array:
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange`` computes them.

    ``int64`` when ``start``, ``stop`` and ``step`` are all ints, else
    ``float64``, unless ``dtype`` is given. Each tile computes its values.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.arange(5), xp.arange(5)[::-2].ndarray().tolist()
    (<PositionArray shape=(5,) dtype=int64 size=40 B>, [4, 2, 0])
    """
    check_device(device, "arange")
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: expected a step other than 0, found 0")
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(value, complex) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"arange: expected {name} an int or a float, found {value!r}")
    if dtype is None:
        integers = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        target = DEFAULT_INT if integers else DEFAULT_FLOAT
    else:
        target = as_dtype(dtype, "arange")
    # numpy's length, from Python's arithmetic on the arguments.
    length = builtins.max(0, math.ceil((stop - start) / step))
    # The first two values as numpy stores them (it refuses what overflows).
    first = np.array(start, dtype=target) if length else np.zeros((), target)
    second = np.array(start + step, dtype=target) if length > 1 else first
    return PositionArray(Arange(first[()], second[()], target), (length,), target)


def linspace(start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: Any = None,
             endpoint: builtins.bool = True) -> Array:
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``numpy.linspace``.

    ``float64`` by default, ``complex128`` if ``start`` or ``stop`` is complex.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.linspace(0, 1, 5).ndarray().tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> xp.linspace(0, 1, 4, endpoint=False).ndarray().tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    check_device(device, "linspace")
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: expected num of at least 0, found {num}")
    # numpy computes in the floating dtype of start and stop, then casts.
    compute = np.result_type(start, stop, float(num))
    if dtype is None:
        target = compute
    else:
        target = as_dtype(dtype, "linspace")
        if target.kind == "c":
            compute = np.result_type(compute, target)
    rule = Linspace(start, stop, num, builtins.bool(endpoint), np.dtype(compute), target)
    return PositionArray(rule, (num,), target)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None,
        device: Any = None) -> Array:
    """A 2-d array of ones on the ``k``-th diagonal and zeros elsewhere.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.eye(2, 3, k=1, dtype=xp.int8).ndarray().tolist()
    [[0, 1, 0], [0, 0, 1]]
    """
    check_device(device, "eye")
    shape = _shape((n_rows, n_rows if n_cols is None else n_cols))
    target = DEFAULT_FLOAT if dtype is None else as_dtype(dtype, "eye")
    return PositionArray(Diagonal(operator.index(k)), shape, target)


def _triangle(x: Any, k: int, lower: builtins.bool, operation: str) -> Array:
    array = _wrap(x)
    if array.ndim < 2:
        raise ValueError(f"{operation}: expected an array of at least 2 dimensions, "
                         f"found {array.ndim}")
    mask = PositionArray(Triangle(operator.index(k), lower), array.shape[-2:], np.dtype(bool))
    # A zero of x's dtype: a Python 0 would promote bool arrays to integers.
    return elementwise.where(mask, array, creation.zeros((), array.dtype))


def tril(x: Any, /, *, k: int = 0) -> Array:
    """``x`` with the elements above the ``k``-th diagonal of its last two axes zeroed."""
    return _triangle(x, k, True, "tril")


def triu(x: Any, /, *, k: int = 0) -> Array:
    """``x`` with the elements below the ``k``-th diagonal of its last two axes zeroed."""
    return _triangle(x, k, False, "triu")


def meshgrid(*arrays: Any, indexing: str = "xy") -> list[Array]:
    """Coordinate arrays from 1-d arrays, as broadcast views (nothing is copied).

    With ``indexing="xy"`` the first two axes are swapped, as numpy does.
    A list, as the 2024.12 standard says.

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> x, y = xp.meshgrid(xp.arange(3), xp.arange(2))
    >>> x.shape, y.ndarray().tolist()
    ((2, 3), [[0, 0, 0], [1, 1, 1]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: expected indexing 'xy' or 'ij', found {indexing!r}")
    members = [_wrap(a) for a in arrays]
    for i, member in enumerate(members):
        if member.ndim != 1:
            raise ValueError(f"meshgrid: expected 1-d arrays, found array {i} of "
                             f"{member.ndim} dimensions")
    places = list(range(len(members)))
    if indexing == "xy" and len(members) > 1:
        places[0], places[1] = 1, 0
    shape = [0] * len(members)
    for place, member in zip(places, members):
        shape[place] = member.shape[0]
    out = []
    for place, member in zip(places, members):
        others = [a for a in range(len(members)) if a != place]
        out.append(views.broadcast_to(views.expand_dims(member, others), shape))
    return out
