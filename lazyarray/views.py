"""Axis views: transposes, new axes and broadcasting, as one kind of node.

An :class:`AxisView` maps each output axis either to an axis of its input or
to a new axis along which the input repeats. That one idea covers
``transpose``, ``None`` in keys, ``expand_dims``, ``broadcast_to`` and Biggus's
``BroadcastArray``; views of views fold into one view, and indexing a view
indexes its input, so selections still reach the sources.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(6).reshape(2, 3))
>>> v = la.broadcast_to(x.T[:, None, :], (3, 4, 2))
>>> v[1:, 2].ndarray().tolist()
[[1, 4], [2, 5]]
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .axes import normalise_axes, normalise_axis
from .errors import AxisError, ShapeError
from .fillvalues import fill_masked, fill_value_argument, same_fill_value
from .indexing import Key, full_key, key_shape
from .planprotocol import AxisPlace, Placement
from .steps import Steps

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = [
    "AxisView",
    "BroadcastArray",
    "FillValueView",
    "TransposedArray",
    "broadcast_shapes",
    "broadcast_to",
    "expand_dims",
    "moveaxis",
    "squeeze",
    "transpose",
    "with_fill_value",
]

AxisMap = tuple[int | None, ...]


class AxisView(Array):
    """Output axis ``j`` is input axis ``axes[j]``, or a new axis when ``None``.

    Parameters
    ----------
    array : Array
        The input. Every one of its axes appears exactly once in ``axes``.
    axes : tuple of int or None
        For each output axis, the input axis it shows, or ``None`` for a new
        axis along which the input repeats.
    shape : tuple of int
        The output shape; lengths of new axes are free, the others must equal
        the input's.
    """

    def __init__(self, array: Array, axes: AxisMap, shape: Sequence[int]):
        shape = tuple(int(n) for n in shape)
        if any(n < 0 for n in shape):
            raise ShapeError(f"{type(self).__name__}: negative lengths in shape {shape}")
        shown = sorted(a for a in axes if a is not None)
        if len(axes) != len(shape) or shown != list(range(array.ndim)):
            raise AxisError(
                f"{type(self).__name__}: axes {axes} must show each of the input's "
                f"{array.ndim} axes once and match the shape {shape}"
            )
        for a, n in zip(axes, shape):
            if a is not None and array.shape[a] != n:
                raise ShapeError(
                    f"{type(self).__name__}: output length {n} differs from input axis "
                    f"{a} of length {array.shape[a]}"
                )
        self._array = array
        self._axes = tuple(axes)
        self._shape = shape

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def fill_value(self) -> Any:
        return self._array.fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._array,)

    @property
    def axes(self) -> AxisMap:
        """For each output axis, the input axis it shows (``None``: a new axis)."""
        return self._axes

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return AxisView(inputs[0], self._axes, self._shape)

    # -- planner protocol ---------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # Each input axis is the output axis that shows it; new axes show none.
        axes: list[AxisPlace | None] = [None] * self._array.ndim
        for shown, a in enumerate(self._axes):
            if a is not None:
                axes[a] = (shown, 0, 1)
        return (Placement(self._array, tuple(axes)),)

    def _plan_own_bytes(self, joined: bool) -> int:
        return 0  # a view of its input's values: it allocates nothing

    def _index_steps(self, key: Key) -> Steps[Array]:
        inner = self._array
        inner_key: list[Any] = [None] * inner.ndim
        for item, a in zip(key, self._axes):
            if a is not None:
                inner_key[a] = item
        kept = [a for a in range(inner.ndim) if not isinstance(inner_key[a], int)]
        renumber = {a: n for n, a in enumerate(kept)}
        axes = tuple(
            None if a is None else renumber[a]
            for item, a in zip(key, self._axes)
            if not isinstance(item, int)
        )
        selected = yield inner._select_steps(tuple(inner_key))
        return make_view(selected, axes, key_shape(key))

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        data = yield self._array._evaluate_steps(context, masked)
        data = data.transpose([a for a in self._axes if a is not None])
        data = data[tuple(None if a is None else slice(None) for a in self._axes)]
        if data.shape == self._shape:
            return data
        if isinstance(data, np.ma.MaskedArray):
            mask = np.ma.getmask(data)
            return np.ma.MaskedArray(
                np.broadcast_to(data.data, self._shape),
                mask=mask if mask is np.ma.nomask else np.broadcast_to(mask, self._shape),
                fill_value=fill_value_argument(self.fill_value, self.dtype),
            )
        return np.broadcast_to(data, self._shape)


class FillValueView(Array):
    """The input with another fill value: same data, mask, shape and dtype.

    A selection of a mosaic can fall within one of its tiles; it keeps the
    mosaic's fill value, not the tile's, as indexing a ``numpy.ma`` array
    keeps its fill value.

    Parameters
    ----------
    array : Array
    fill_value : scalar
        The fill value, of ``array``'s dtype.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = np.ma.masked_array([1, 2], mask=[0, 1], fill_value=7)
    >>> v = FillValueView(la.asarray(m), np.int64(-1))
    >>> v.fill_value, v.ndarray().tolist(), v[1:].fill_value
    (np.int64(-1), [1, -1], np.int64(-1))
    """

    def __init__(self, array: Array, fill_value: Any):
        self._array = array
        self._fill_value = fill_value

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._array,)

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return with_fill_value(inputs[0], self._fill_value)

    def _index_steps(self, key: Key) -> Steps[Array]:
        selected = yield self._array._select_steps(key)
        return with_fill_value(selected, self._fill_value)

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        if not (masked or self.masked):
            return (yield self._array._evaluate_steps(context, False))
        value = yield self._array._evaluate_steps(context, True)
        if not masked:
            return fill_masked(value, self._fill_value)
        return np.ma.MaskedArray(
            np.ma.getdata(value), mask=np.ma.getmask(value),
            fill_value=fill_value_argument(self._fill_value, self.dtype),
        )


def with_fill_value(array: Array, fill_value: Any) -> Array:
    """``array`` with ``fill_value`` (``array`` itself when it has that one already).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.asarray(np.zeros(2))
    >>> with_fill_value(a, 1e20) is a, with_fill_value(a, -1.0).fill_value
    (True, -1.0)
    """
    if isinstance(array, FillValueView):
        array = array.inputs[0]
    if same_fill_value(array.fill_value, fill_value, array.dtype):
        return array
    return FillValueView(array, fill_value)


def make_view(array: Array, axes: AxisMap, shape: Sequence[int]) -> Array:
    """An :class:`AxisView`, folded into ``array`` when that is a view too, and
    ``array`` itself when the view would change nothing."""
    if isinstance(array, AxisView):
        axes = tuple(None if a is None else array.axes[a] for a in axes)
        array = array.inputs[0]
    if axes == tuple(range(array.ndim)):
        return array
    return AxisView(array, axes, shape)


class TransposedArray(AxisView):
    """Biggus's transposed array: the input with its axes permuted.

    Parameters
    ----------
    array : Array
    axes : sequence of int, optional
        A permutation of the input's axes; reversed when omitted.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.TransposedArray(la.asarray(np.zeros((2, 3, 4))), [2, 0, 1]).shape
    (4, 2, 3)
    """

    def __init__(self, array: Array, axes: Sequence[int] | None = None):
        perm = _permutation(array.ndim, axes)
        super().__init__(array, perm, tuple(array.shape[a] for a in perm))


def _permutation(ndim: int, axes: Sequence[int] | None) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim - 1, -1, -1))
    perm = normalise_axes(tuple(axes), ndim, "transpose")
    if len(perm) != ndim:
        raise AxisError(
            f"transpose: axes {tuple(axes)} do not match an array of {ndim} dimensions"
        )
    return perm


def transpose(array: Any, axes: Sequence[int] | None = None) -> Array:
    """Permute the axes of ``array`` (reverse them when ``axes`` is ``None``).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.transpose(np.arange(6).reshape(2, 3)).ndarray().tolist()
    [[0, 3], [1, 4], [2, 5]]
    """
    array = asarray(array)
    perm = _permutation(array.ndim, axes)
    return make_view(array, perm, tuple(array.shape[a] for a in perm))


def moveaxis(
    array: Any, source: int | Sequence[int], destination: int | Sequence[int]
) -> Array:
    """Move axes of ``array`` to new positions, as ``numpy.moveaxis``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    >>> la.moveaxis(np.zeros((2, 3, 4)), [0, 1], [-1, 0]).shape
    (3, 4, 2)
    """
    array = asarray(array)
    sources = normalise_axes(source, array.ndim, "moveaxis")
    destinations = normalise_axes(destination, array.ndim, "moveaxis")
    if len(sources) != len(destinations):
        raise AxisError(
            f"moveaxis: source {source} and destination {destination} must have the "
            "same number of elements"
        )
    order = [a for a in range(array.ndim) if a not in sources]
    # Inserting in increasing destination order puts each axis where it is asked.
    for dest, src in sorted(zip(destinations, sources)):
        order.insert(dest, src)
    return transpose(array, order)


def expand_dims(array: Any, axis: int | Sequence[int]) -> Array:
    """Insert new axes of length 1 at the positions ``axis`` of the result.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.expand_dims(np.zeros((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    array = asarray(array)
    ndim = array.ndim + (len(axis) if isinstance(axis, Sequence) else 1)
    new = set(normalise_axes(axis, ndim, "expand_dims"))
    inner = iter(range(array.ndim))
    axes = tuple(None if j in new else next(inner) for j in range(ndim))
    shape = tuple(1 if a is None else array.shape[a] for a in axes)
    return make_view(array, axes, shape)


def squeeze(array: Any, axis: int | Sequence[int] | None = None) -> Array:
    """Remove axes of length 1 (all of them when ``axis`` is ``None``).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.squeeze(np.zeros((1, 3, 1))).shape
    (3,)
    """
    array = asarray(array)
    if axis is None:
        drop = {a for a, n in enumerate(array.shape) if n == 1}
    else:
        drop = set(normalise_axes(axis, array.ndim, "squeeze"))
        for a in sorted(drop):
            if array.shape[a] != 1:
                raise ShapeError(
                    f"squeeze: cannot remove axis {a} of length {array.shape[a]}; "
                    "only axes of length 1 can be removed"
                )
    return array[tuple(0 if a in drop else slice(None) for a in range(array.ndim))]


def broadcast_shapes(*shapes: Sequence[int], operation: str = "broadcast") -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to, by numpy's rules.

    Raises
    ------
    ShapeError
        Naming the operation and the shapes that do not broadcast.

    Examples
    --------
    >>> broadcast_shapes((3, 1), (4,))
    (3, 4)
    >>> broadcast_shapes((3,), (4,), operation="add")
    Traceback (most recent call last):
    ...
    lazyarray.errors.ShapeError: add: operands could not be broadcast together with shapes (3,) (4,)
    """
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(
            f"{operation}: operands could not be broadcast together with shapes {listed}"
        ) from None


def _broadcast_view(
    array: Array, shape: tuple[int, ...], operation: str
) -> tuple[Array, AxisMap]:
    lead = len(shape) - array.ndim
    if any(n < 0 for n in shape):
        raise ShapeError(f"{operation}: negative lengths in shape {shape}")
    if lead < 0 or any(
        n not in (1, m) for n, m in zip(array.shape, shape[lead:])
    ):
        raise ShapeError(
            f"{operation}: cannot broadcast an array of shape {array.shape} to {shape}"
        )
    # Axes of length 1 that stretch become new axes over the input indexed at 0.
    stretched = [n == 1 and m != 1 for n, m in zip(array.shape, shape[lead:])]
    key = tuple(0 if s else r for s, r in zip(stretched, full_key(array.shape)))
    inner = array._select(key)
    kept = iter(range(inner.ndim))
    axes = (None,) * lead + tuple(None if s else next(kept) for s in stretched)
    return inner, axes


def broadcast_to(array: Any, shape: int | Sequence[int]) -> Array:
    """Broadcast ``array`` to ``shape`` by numpy's rules, without copying.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.broadcast_to(np.array([1, 2]), (2, 2)).ndarray().tolist()
    [[1, 2], [1, 2]]
    """
    if type(shape) is tuple and isinstance(array, Array) and array.shape == shape:
        return array  # every operand of most elementwise nodes: at once
    array = asarray(array)
    dims: Any = shape
    # operator.index, as numpy: a length of 2.5 is an error, not 2.
    target = (operator.index(dims),) if np.ndim(dims) == 0 else tuple(map(operator.index, dims))
    if target == array.shape:
        return array
    inner, axes = _broadcast_view(array, target, "broadcast_to")
    return make_view(inner, axes, target)


class BroadcastArray(AxisView):
    """Biggus's broadcast array: length-1 axes stretched and leading axes added.

    Parameters
    ----------
    array : Array or array-like
    broadcast : dict of int to int, optional
        New lengths for axes of ``array`` that have length 1.
    leading_shape : tuple of int, optional
        Axes put in front, along which ``array`` repeats.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> b = la.BroadcastArray(np.zeros((1, 3)), {0: 4}, leading_shape=(2,))
    >>> b.shape
    (2, 4, 3)
    """

    def __init__(
        self,
        array: Any,
        broadcast: dict[int, int] | None = None,
        leading_shape: Sequence[int] = (),
    ):
        # Biggus's ``array``: what was broadcast, as given; through a
        # broadcast of a broadcast, the array at the bottom.
        self._contained: Any = array.array if isinstance(array, BroadcastArray) else array
        array = asarray(array)
        lengths = list(array.shape)
        for axis, length in (broadcast or {}).items():
            a = normalise_axis(axis, array.ndim, "BroadcastArray")
            if array.shape[a] != 1:
                raise ShapeError(
                    f"BroadcastArray: axis {axis} has length {array.shape[a]}; only axes "
                    "of length 1 can be broadcast"
                )
            lengths[a] = int(length)
        self._leading = tuple(int(n) for n in leading_shape)
        self._input = array
        shape = self._leading + tuple(lengths)
        inner, axes = _broadcast_view(array, shape, "BroadcastArray")
        super().__init__(inner, axes, shape)

    def _index_steps(self, key: Key) -> Steps[Array]:
        # Indexed, a broadcast array stays one, of what it broadcasts indexed
        # (as Biggus kept it): a key on a stretched axis selects nothing of
        # the array, where that axis has length 1.
        lead = len(self._leading)
        leading = tuple(len(item) for item in key[:lead] if not isinstance(item, int))
        inner_key: list[Any] = []
        stretched: dict[int, int] = {}
        for item, n, length in zip(key[lead:], self._input.shape, self._shape[lead:]):
            broadcast = n != length  # stretched from 1: any position is position 0
            if isinstance(item, int):
                inner_key.append(0 if broadcast else item)
                continue
            if broadcast:
                stretched[len(inner_key) - sum(isinstance(k, int) for k in inner_key)] = len(item)
                inner_key.append(range(1))
            else:
                inner_key.append(item)
        selected = yield self._input._select_steps(tuple(inner_key))
        array = self._contained if selected is self._input else selected
        return BroadcastArray(array, stretched, leading)

    @property
    def array(self) -> Any:
        """The array broadcast, as it was given (Biggus's attribute)."""
        return self._contained

    @staticmethod
    def broadcast_arrays(a: Any, b: Any) -> tuple[Any, Any]:
        """``a`` and ``b`` broadcast against each other by numpy's rules (Biggus's API).

        Each comes back as it was given when it already has the common shape,
        otherwise as a :class:`BroadcastArray` of it.

        Raises
        ------
        lazyarray.ShapeError
            For shapes that do not broadcast (a ``ValueError``, as numpy's).

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> x, y = la.BroadcastArray.broadcast_arrays(np.zeros((1, 2)), np.ones((3, 1)))
        >>> x.shape, y.shape, (x + y).ndarray().tolist()
        ((3, 2), (3, 2), [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
        """
        shapes = [tuple(getattr(x, "shape", None) or np.shape(x)) for x in (a, b)]
        target = broadcast_shapes(*shapes, operation="broadcast_arrays")

        def broadcast(x: Any, shape: tuple[int, ...]) -> Any:
            if shape == target:
                return x
            lead = len(target) - len(shape)
            stretched = {axis: target[lead + axis] for axis, n in enumerate(shape)
                         if n == 1 and target[lead + axis] != 1}
            return BroadcastArray(x, stretched, target[:lead])

        return broadcast(a, shapes[0]), broadcast(b, shapes[1])
