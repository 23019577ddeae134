"""Scans: cumulative sums and products, streamed along an axis with a carry.

``cumsum``, ``cumprod``, ``nancumsum``, ``nancumprod`` take numpy's
arguments and give numpy's results, bit for bit; ``cumulative_sum`` and
``cumulative_prod`` are the Array API's (``include_initial``). A scan is a
lazy :class:`Scan` node: indexing it reads nothing, and the evaluator
computes it tile by tile, in bounded memory, beside any other result of the
same pass.

How a region of a scan is computed, beginning at ``a`` along the axis:

1. Its input's region is read, as any node's would be (the planner aligns
   tiles to the storage chunks below).
2. The **carry**, the scan's value just before ``a``, is taken from the
   region that ended at ``a`` (:mod:`lazyarray.carries`); failing that, it
   is computed from the nearest carry known before ``a``, in slabs.
3. The carry is added to the region's first slice, and the region scanned
   in place (``np.add.accumulate``). numpy adds sequentially in the output
   dtype, so injecting the carry *before* the local scan gives numpy's
   result exactly; adding it after (Dask's way) rounds differently.
4. The region's last slice is published as the carry of the next region.

Masked points count as the identity (0 for sums, 1 for products) and stay
masked, as in ``numpy.ma.cumsum``; the ``nan`` forms count NaN as the
identity. ``axis=None`` scans the C-order flattening, a 1-d result.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
>>> la.cumsum(x, axis=1).ndarray().tolist()
[[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]
>>> la.cumprod(x).ndarray().tolist()
[1.0, 2.0, 6.0, 24.0, 120.0, 720.0]
>>> la.cumulative_sum(x[0], include_initial=True).ndarray().tolist()
[0.0, 1.0, 3.0, 6.0]
>>> m = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
>>> la.cumsum(m).masked_array().tolist()
[1, None, 4]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .axes import normalise_axis
from .creation import full
from .errors import AxisError
from .fillvalues import fill_masked
from .indexing import is_full, orthogonal_take
from .mosaic import concatenate
from .sequential import AlongAxis
from .steps import Steps, run

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .context import EvaluationContext

__all__ = [
    "Scan",
    "cumprod",
    "cumsum",
    "cumulative_prod",
    "cumulative_sum",
    "nancumprod",
    "nancumsum",
]


@dataclass(frozen=True)
class ScanOp:
    """A scan's operation: the ufunc accumulated and what counts as nothing.

    Attributes
    ----------
    name : str
        numpy's name (``"cumsum"``).
    ufunc : numpy.ufunc
        The binary operation accumulated (``np.add``).
    identity : int
        What masked points, and NaN in the ``nan`` forms, count as.
    skipna : bool
        Whether NaN counts as the identity.
    """

    name: str
    ufunc: np.ufunc
    identity: int
    skipna: bool = False

    def result_dtype(self, dtype: np.dtype, requested: DTypeLike | None) -> np.dtype:
        """numpy's result dtype, found by asking numpy on an empty array."""
        numpy_scan = np.cumsum if self.ufunc is np.add else np.cumprod
        try:
            return numpy_scan(np.zeros(0, dtype), dtype=requested).dtype
        except (TypeError, np.exceptions.DTypePromotionError) as error:
            raise TypeError(
                f"{self.name}: arrays of dtype {dtype} cannot be accumulated"
                + ("" if requested is None else f" into dtype {np.dtype(requested)}")
                + f" ({error})"
            ) from None


CUMSUM = ScanOp("cumsum", np.add, 0)
CUMPROD = ScanOp("cumprod", np.multiply, 1)
NANCUMSUM = ScanOp("nancumsum", np.add, 0, skipna=True)
NANCUMPROD = ScanOp("nancumprod", np.multiply, 1, skipna=True)


class Scan(AlongAxis):
    """A scan of an array along one axis, or of its C-order flattening.

    A node is the whole scan or a selection of it (see
    :class:`lazyarray.sequential.AlongAxis`): the positions along the
    scanned axis that it computes, and its input, the array's positions
    before their end (the carry comes from those before them).

    Parameters
    ----------
    array : Array
        The array scanned.
    op : ScanOp
        The operation.
    axis : int or None
        The axis scanned; ``None`` for the flattening.
    dtype : numpy.dtype
        The result's dtype (numpy's, see :meth:`ScanOp.result_dtype`).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> s = la.cumsum(np.arange(5), axis=0)
    >>> type(s).__name__, s[2:4].ndarray().tolist()
    ('Scan', [3, 6])
    """

    def __init__(self, array: Array, op: ScanOp, axis: int | None, dtype: np.dtype):
        self._start(array, op, axis, dtype)

    @property
    def op(self) -> ScanOp:
        """The operation accumulated."""
        return self._spec

    # -- evaluation -------------------------------------------------------------
    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        with_mask = masked or self.masked
        start, stop = self._window
        value = yield from self._values_steps(context, start, stop, with_mask)
        scanned = self._prepared(value)
        chain = context.carries.chain(self._origin)
        found, carry = chain.best(start, self._others, context.cancelled, self._along)
        if found < start:
            carry = self._carry_from(found, carry, start, context, with_mask)
            chain.publish(start, self._others, carry, consumed=found)
        if stop > start:
            scanned = self._scan_into(scanned, carry)
            chain.publish(stop, self._others, self._last(scanned), consumed=start)
        else:
            scanned = scanned[self._slab(1, None)]
        result: np.ndarray = scanned
        if with_mask:
            result = np.ma.MaskedArray(scanned, mask=np.ma.getmaskarray(value),
                                       fill_value=self._fill_value)
        if not is_full(self._take, self._window_shape):
            result = orthogonal_take(result, self._take)
        if with_mask and not masked:
            return fill_masked(result, self._fill_value)
        return result

    def _prepared(self, value: np.ndarray) -> np.ndarray:
        """``value`` in the result's dtype, in a new array with room for the
        carry before its first slice along the axis; masked points (and NaN
        in the ``nan`` forms) as the identity."""
        op = self._spec
        if isinstance(value, np.ma.MaskedArray):
            value = value.filled(value.dtype.type(op.identity))
        if op.skipna and value.dtype.kind in "fc":
            value = np.where(np.isnan(value), np.array(op.identity, value.dtype), value)
        along = self._along
        shape = list(value.shape)
        shape[along] += 1
        buffer = np.empty(shape, self._dtype)
        buffer[self._slab(1, None)] = value
        return buffer

    def _scan_into(self, buffer: np.ndarray, carry: np.ndarray | None) -> np.ndarray:
        """Scan a :meth:`_prepared` buffer in place, continuing from ``carry``
        (``None``: the start); the scanned values, a view of it.

        The carry is put in the room before the values and accumulated with
        them, by the same loop as numpy's own scan: adding it to the first
        slice by a separate call could round otherwise (complex products,
        whose loops differ).
        """
        along = self._along
        if carry is None:
            buffer = buffer[self._slab(1, None)]
        else:
            buffer[self._slab(0, 1)] = carry
        if buffer.shape[along] == 2 and self._origin.length > 2 and buffer.dtype.kind == "c":
            # numpy scans two elements with another loop than longer runs,
            # which rounds complex products otherwise: scan three, as numpy
            # scans the whole axis, the third being the identity.
            longer = np.concatenate([buffer, np.ones_like(buffer[self._slab(0, 1)])], along)
            self._spec.ufunc.accumulate(longer, axis=along, out=longer)
            buffer[...] = longer[self._slab(0, 2)]
        else:
            self._spec.ufunc.accumulate(buffer, axis=along, out=buffer)
        return buffer if carry is None else buffer[self._slab(1, None)]

    def _last(self, values: np.ndarray) -> np.ndarray:
        """The last slice along the axis: the carry of what follows."""
        return values[self._slab(-1, None)].copy()

    def _carry_from(self, found: int, carry: np.ndarray | None, start: int,
                    context: EvaluationContext, with_mask: bool) -> np.ndarray | None:
        """The carry at ``start``, from ``carry`` at ``found``: the input
        between them scanned in slabs of about ``chunk_bytes``, each in a
        read block of its own and its buffers given back at once."""
        cross = max(math.prod(self._window_shape) // max(self._window_shape[self._along], 1), 1)
        depth = max(1, context.options.chunk_bytes // (cross * max(self._dtype.itemsize, 1)))
        position = found
        while position < start:
            if context.cancelled.is_set():
                break  # the evaluation was abandoned: what is returned is not used
            stop = min(start, position + depth)
            with context.sharing_reads(), context.lending() as lent:
                values = self._prepared(
                    run(self._values_steps(context, position, stop, with_mask)))
                if context.buffers is not None:
                    context.buffers.give_back(lent)
            carry = self._last(self._scan_into(values, carry))
            position = stop
        return carry

    @property
    def _plan_label(self) -> str:
        return self._spec.name


# -- public functions ---------------------------------------------------------------


def _scan(x: Any, op: ScanOp, axis: Any, dtype: DTypeLike | None) -> Scan:
    array = asarray(x)
    result = op.result_dtype(array.dtype, dtype)
    if axis is None:
        return Scan(array, op, None, result)
    if array.ndim == 0:
        raise AxisError(f"{op.name}: axis {axis!r} is out of range for a 0-d array")
    return Scan(array, op, normalise_axis(axis, array.ndim, op.name), result)


def cumsum(x: Any, axis: int | None = None, dtype: DTypeLike | None = None) -> Scan:
    """The cumulative sum along ``axis`` (of the flattening when ``None``), lazily.

    As :func:`numpy.cumsum`, bit for bit: integers and booleans accumulate
    in numpy's default integer (unsigned for unsigned), unless ``dtype``
    says otherwise. Masked points count as 0 and stay masked.

    Parameters
    ----------
    x : array_like
    axis : int, optional
    dtype : dtype, optional

    Returns
    -------
    Scan

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = np.array([[1, 2], [3, 4]], dtype=np.int8)
    >>> s = la.cumsum(a, axis=0)
    >>> s.dtype, s.ndarray().tolist()
    (dtype('int64'), [[1, 2], [4, 6]])
    """
    return _scan(x, CUMSUM, axis, dtype)


def cumprod(x: Any, axis: int | None = None, dtype: DTypeLike | None = None) -> Scan:
    """The cumulative product along ``axis``, lazily, as :func:`numpy.cumprod`.

    Masked points count as 1 and stay masked.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.cumprod(np.array([1.5, 2.0, 4.0])).ndarray().tolist()
    [1.5, 3.0, 12.0]
    """
    return _scan(x, CUMPROD, axis, dtype)


def nancumsum(x: Any, axis: int | None = None, dtype: DTypeLike | None = None) -> Scan:
    """The cumulative sum counting NaN as 0, as :func:`numpy.nancumsum`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.nancumsum(np.array([1.0, np.nan, 2.0])).ndarray().tolist()
    [1.0, 1.0, 3.0]
    """
    return _scan(x, NANCUMSUM, axis, dtype)


def nancumprod(x: Any, axis: int | None = None, dtype: DTypeLike | None = None) -> Scan:
    """The cumulative product counting NaN as 1, as :func:`numpy.nancumprod`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.nancumprod(np.array([2.0, np.nan, 3.0])).ndarray().tolist()
    [2.0, 2.0, 6.0]
    """
    return _scan(x, NANCUMPROD, axis, dtype)


def _cumulative(x: Any, op: ScanOp, axis: Any, dtype: DTypeLike | None,
                include_initial: bool, name: str) -> Array:
    array = asarray(x)
    if axis is None:
        if array.ndim > 1:
            raise ValueError(
                f"{name}: an axis is required for arrays of more than one dimension; "
                f"found {array.ndim} dimensions and axis=None"
            )
        if array.ndim == 0:
            raise ValueError(f"{name}: expected an array of at least one dimension, found 0-d")
        axis = 0
    scanned = _scan(array, op, axis, dtype)
    if not include_initial:
        return scanned
    axis = normalise_axis(axis, array.ndim, name)
    shape = tuple(1 if a == axis else n for a, n in enumerate(array.shape))
    return concatenate([full(shape, op.identity, scanned.dtype), scanned], axis=axis)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: DTypeLike | None = None,
                   include_initial: bool = False) -> Array:
    """The Array API's cumulative sum (:func:`numpy.cumulative_sum`), lazily.

    ``axis`` may be left out only for 1-d arrays; ``include_initial`` puts
    the sum of nothing (0) first, the result one longer along ``axis``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.cumulative_sum(np.array([1, 2, 3]), include_initial=True).ndarray().tolist()
    [0, 1, 3, 6]
    """
    return _cumulative(x, CUMSUM, axis, dtype, include_initial, "cumulative_sum")


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: DTypeLike | None = None,
                    include_initial: bool = False) -> Array:
    """The Array API's cumulative product (:func:`numpy.cumulative_prod`), lazily.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.cumulative_prod(np.array([[1, 2], [3, 4]]), axis=1).ndarray().tolist()
    [[1, 2], [3, 12]]
    """
    return _cumulative(x, CUMPROD, axis, dtype, include_initial, "cumulative_prod")
