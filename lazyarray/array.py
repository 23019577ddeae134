"""``Array``: the immutable node every lazy array is made of.

A node knows its shape, dtype and fill value without reading anything, turns
an index into another node (pushing the selection down towards the sources),
and can produce itself in memory when it is small (``_evaluate``). The
evaluator (:mod:`lazyarray.execute`) only ever evaluates nodes indexed down to
one tile, so ``_evaluate`` is never asked for more than a budget allows.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(6.0).reshape(2, 3))
>>> y = (x * 2)[:, ::-1]
>>> y
<Elementwise shape=(2, 3) dtype=float64 size=48 B>
>>> y.ndarray().tolist()
[[4.0, 2.0, 0.0], [10.0, 8.0, 6.0]]
"""

from __future__ import annotations

import abc
import math
import operator
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .indexing import Key, is_full, parse_key

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["Array", "default_fill_value", "format_bytes"]


def default_fill_value(dtype: np.dtype) -> Any:
    """numpy.ma's default fill value for ``dtype``.

    Examples
    --------
    >>> default_fill_value(np.dtype("float32")), default_fill_value(np.dtype("int8"))
    (np.float64(1e+20), np.int64(999999))
    """
    return np.ma.MaskedArray(np.empty(0, dtype)).fill_value


def format_bytes(nbytes: int) -> str:
    """A byte count in binary units, for reprs and messages.

    Examples
    --------
    >>> format_bytes(48), format_bytes(4 * 720 * 1440 * 1000)
    ('48 B', '3.9 GiB')
    """
    if nbytes < 1024:
        return f"{nbytes} B"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"


class Array(abc.ABC):
    """A lazy N-dimensional array: a node of an expression graph.

    Subclasses define ``shape``, ``dtype``, :meth:`_index`, :meth:`_evaluate`
    and :attr:`inputs`; everything else (indexing syntax, operators,
    realisation, reductions) is shared.
    """

    __array_priority__ = 20
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as in numpy

    # -- metadata -------------------------------------------------------
    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, ...]:
        """The array's dimensions."""

    @property
    @abc.abstractmethod
    def dtype(self) -> np.dtype:
        """The numpy dtype of the realised array."""

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Size of the realised array, in bytes."""
        return self.size * self.dtype.itemsize

    @property
    def fill_value(self) -> Any:
        """Value that stands for masked points in :meth:`ndarray` results."""
        return default_fill_value(self.dtype)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """Storage chunk shape of the underlying source, or ``None``."""
        return None

    @property
    @abc.abstractmethod
    def inputs(self) -> tuple[Array, ...]:
        """The nodes this node is computed from."""

    # -- the two things a node must know how to do -----------------------
    @abc.abstractmethod
    def _index(self, key: Key) -> Array:
        """The node selecting ``key`` (normalised, one item per axis) of this one."""

    @abc.abstractmethod
    def _evaluate(self, masked: bool) -> np.ndarray:
        """This whole node in memory: a ``MaskedArray`` if ``masked``.

        Called only on nodes small enough to hold; the evaluator indexes big
        nodes down to tiles first.
        """

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        """This node computed from ``inputs`` instead (same shapes and dtypes).

        Used to rewrite graphs, e.g. to put computed aggregations in place.
        Nodes with inputs override it; leaves have nothing to replace.
        """
        if inputs:
            raise TypeError(f"{type(self).__name__} takes no inputs, got {len(inputs)}")
        return self

    # -- indexing ------------------------------------------------------
    def _select(self, key: Key) -> Array:
        """The node selecting a normalised ``key``: ``self`` if it selects all."""
        return self if is_full(key, self.shape) else self._index(key)

    def __getitem__(self, key: Any) -> Array:
        parsed = parse_key(key, self.shape)
        node = self._select(parsed.key)
        if parsed.new_axes:
            from .views import expand_dims

            node = expand_dims(node, parsed.new_axes)
        return node

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self) -> Iterator[Array]:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # -- realisation ----------------------------------------------------
    def ndarray(self, **options: Any) -> np.ndarray:
        """Realise as a plain ``numpy.ndarray`` (masked points filled).

        Parameters
        ----------
        **options
            Evaluation options for this call (see :class:`lazyarray.Options`).
        """
        from .execute import ndarrays

        return ndarrays([self], **options)[0]

    def masked_array(self, **options: Any) -> np.ma.MaskedArray:
        """Realise as a ``numpy.ma.MaskedArray``."""
        from .execute import masked_arrays

        return masked_arrays([self], **options)[0]

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError(
                f"{type(self).__name__}: a lazy array cannot be converted without "
                "computing (and so copying) it; use copy=None"
            )
        result = self.ndarray()
        return result if dtype is None else result.astype(dtype, copy=False)

    def _scalar(self) -> Any:
        if self.size != 1:
            raise TypeError(
                f"only arrays of size 1 convert to Python scalars, this one has size {self.size}"
            )
        return self.ndarray().reshape(()).item()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of an array with {self.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._scalar())

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def __index__(self) -> int:
        # As numpy: only 0-d integer arrays (not bool) stand for an index.
        if self.dtype.kind not in "iu" or self.ndim:
            raise TypeError(
                "only 0-d integer arrays can be used as an index, "
                f"not one of shape {self.shape} and dtype {self.dtype}"
            )
        return operator.index(self._scalar())

    # -- views -----------------------------------------------------------
    def astype(self, dtype: DTypeLike) -> Array:
        """A lazy cast to ``dtype`` (numpy's unsafe casting, as ``ndarray.astype``)."""
        from .elementwise import astype

        return astype(self, dtype)

    def transpose(self, *axes: Any) -> Array:
        """Permute the axes (reverse them when none are given), as numpy does."""
        from .views import transpose

        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], Sequence)):
            axes = () if axes[0] is None else tuple(axes[0])
        return transpose(self, axes or None)

    @property
    def T(self) -> Array:
        """The transposed array."""
        return self.transpose()

    # -- elementwise operators ----------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from .elementwise import apply_ufunc

        if method != "__call__" or kwargs or ufunc.signature is not None:
            return NotImplemented
        return apply_ufunc(ufunc, *inputs)

    def _binary(self, ufunc: np.ufunc, other: Any, reflected: bool = False) -> Any:
        from .elementwise import apply_ufunc, is_operand

        if not is_operand(other):
            return NotImplemented
        return apply_ufunc(ufunc, other, self) if reflected else apply_ufunc(ufunc, self, other)

    def __add__(self, other: Any) -> Any:
        return self._binary(np.add, other)

    def __radd__(self, other: Any) -> Any:
        return self._binary(np.add, other, reflected=True)

    def __sub__(self, other: Any) -> Any:
        return self._binary(np.subtract, other)

    def __rsub__(self, other: Any) -> Any:
        return self._binary(np.subtract, other, reflected=True)

    def __mul__(self, other: Any) -> Any:
        return self._binary(np.multiply, other)

    def __rmul__(self, other: Any) -> Any:
        return self._binary(np.multiply, other, reflected=True)

    def __truediv__(self, other: Any) -> Any:
        return self._binary(np.true_divide, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._binary(np.true_divide, other, reflected=True)

    def __floordiv__(self, other: Any) -> Any:
        return self._binary(np.floor_divide, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._binary(np.floor_divide, other, reflected=True)

    def __mod__(self, other: Any) -> Any:
        return self._binary(np.remainder, other)

    def __rmod__(self, other: Any) -> Any:
        return self._binary(np.remainder, other, reflected=True)

    def __divmod__(self, other: Any) -> Any:
        return self._binary(np.divmod, other)

    def __rdivmod__(self, other: Any) -> Any:
        return self._binary(np.divmod, other, reflected=True)

    def __pow__(self, other: Any) -> Any:
        return self._binary(np.power, other)

    def __rpow__(self, other: Any) -> Any:
        return self._binary(np.power, other, reflected=True)

    def __lshift__(self, other: Any) -> Any:
        return self._binary(np.left_shift, other)

    def __rlshift__(self, other: Any) -> Any:
        return self._binary(np.left_shift, other, reflected=True)

    def __rshift__(self, other: Any) -> Any:
        return self._binary(np.right_shift, other)

    def __rrshift__(self, other: Any) -> Any:
        return self._binary(np.right_shift, other, reflected=True)

    def __and__(self, other: Any) -> Any:
        return self._binary(np.bitwise_and, other)

    def __rand__(self, other: Any) -> Any:
        return self._binary(np.bitwise_and, other, reflected=True)

    def __or__(self, other: Any) -> Any:
        return self._binary(np.bitwise_or, other)

    def __ror__(self, other: Any) -> Any:
        return self._binary(np.bitwise_or, other, reflected=True)

    def __xor__(self, other: Any) -> Any:
        return self._binary(np.bitwise_xor, other)

    def __rxor__(self, other: Any) -> Any:
        return self._binary(np.bitwise_xor, other, reflected=True)

    def __eq__(self, other: object) -> Any:
        return self._binary(np.equal, other)

    def __ne__(self, other: object) -> Any:
        return self._binary(np.not_equal, other)

    def __lt__(self, other: Any) -> Any:
        return self._binary(np.less, other)

    def __le__(self, other: Any) -> Any:
        return self._binary(np.less_equal, other)

    def __gt__(self, other: Any) -> Any:
        return self._binary(np.greater, other)

    def __ge__(self, other: Any) -> Any:
        return self._binary(np.greater_equal, other)

    def __neg__(self) -> Array:
        from .elementwise import negative

        return negative(self)

    def __pos__(self) -> Array:
        from .elementwise import positive

        return positive(self)

    def __abs__(self) -> Array:
        from .elementwise import absolute

        return absolute(self)

    def __invert__(self) -> Array:
        from .elementwise import invert

        return invert(self)

    # -- reductions (see lazyarray.aggregation) ------------------------------
    def sum(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.sum` of this array."""
        from .aggregation import sum

        return sum(self, axis, **kwargs)

    def prod(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.prod` of this array."""
        from .aggregation import prod

        return prod(self, axis, **kwargs)

    def mean(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.mean` of this array."""
        from .aggregation import mean

        return mean(self, axis, **kwargs)

    def std(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.std` of this array."""
        from .aggregation import std

        return std(self, axis, **kwargs)

    def var(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.var` of this array."""
        from .aggregation import var

        return var(self, axis, **kwargs)

    def min(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.min` of this array."""
        from .aggregation import min

        return min(self, axis, **kwargs)

    def max(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.max` of this array."""
        from .aggregation import max

        return max(self, axis, **kwargs)

    def ptp(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.ptp` of this array."""
        from .aggregation import ptp

        return ptp(self, axis, **kwargs)

    def count(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.count` of this array."""
        from .aggregation import count

        return count(self, axis, **kwargs)

    def any(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.any` of this array."""
        from .aggregation import any

        return any(self, axis, **kwargs)

    def all(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.all` of this array."""
        from .aggregation import all

        return all(self, axis, **kwargs)

    def argmin(self, axis: int | None = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.argmin` of this array."""
        from .aggregation import argmin

        return argmin(self, axis, **kwargs)

    def argmax(self, axis: int | None = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.argmax` of this array."""
        from .aggregation import argmax

        return argmax(self, axis, **kwargs)

    # -- presentation ------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} shape={self.shape} dtype={self.dtype} "
            f"size={format_bytes(self.nbytes)}>"
        )

