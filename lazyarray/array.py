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
import functools
import math
import operator
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .graph import inputs_first
from .indexing import Key, is_full, parse_key
from .options import get_options
from .steps import Steps, memo, run

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = [
    "Array",
    "carried_fill_value",
    "default_fill_value",
    "fill_masked",
    "fill_value_argument",
    "format_bytes",
    "is_default_fill_value",
    "same_fill_value",
    "written_value",
]


@functools.cache
def default_fill_value(dtype: np.dtype) -> Any:
    """numpy.ma's default fill value for ``dtype``.

    numpy.ma keeps it in the widest type of the kind (999999 as an int64 for
    every integer type); filling casts it, so an ``int8`` array's masked
    points become 63. One exception: ``float16``, where numpy.ma's 1e20
    overflows (with a warning each time it is written or given as a fill
    value), has the infinity it writes.

    Examples
    --------
    >>> default_fill_value(np.dtype("float32")), default_fill_value(np.dtype("int8"))
    (np.float64(1e+20), np.int64(999999))
    >>> default_fill_value(np.dtype("float16"))
    np.float16(inf)
    """
    value = np.ma.MaskedArray(np.empty(0, dtype)).fill_value
    if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 4:
        return written_value(value, dtype)
    return value


def _same_scalar(a: Any, b: Any) -> bool:
    """``a == b`` for two numpy scalars, NaN (and NaT) equal to itself."""
    try:
        if bool(a == b):
            return True
        return bool(np.isnan(a)) and bool(np.isnan(b))
    except (TypeError, ValueError):  # values that do not compare (a string and a number)
        return False


def is_default_fill_value(value: Any, dtype: np.dtype) -> bool:
    """Whether ``value`` is the default fill value of ``dtype`` arrays.

    numpy.ma tells an unset fill value (``None``: the default of whatever
    dtype a result has) from one that was set; lazyarray only has values,
    so a value that writes what the default writes stands for "unset".

    Examples
    --------
    >>> is_default_fill_value(np.int64(999999), np.dtype("i2"))
    True
    >>> is_default_fill_value(np.int16(16959), np.dtype("i2"))  # what 999999 writes
    True
    >>> is_default_fill_value(np.float32(-1), np.dtype("f4"))
    False
    """
    return same_fill_value(value, default_fill_value(dtype), dtype)


def written_value(value: Any, dtype: np.dtype) -> Any:
    """What filling an array of ``dtype`` with ``value`` writes (numpy.ma's unsafe cast)."""
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(dtype)[()]


def same_fill_value(a: Any, b: Any, dtype: np.dtype) -> bool:
    """Whether fill values ``a`` and ``b`` write the same value into ``dtype`` arrays.

    Examples
    --------
    >>> same_fill_value(np.int64(999999), np.int16(16959), np.dtype("i2"))
    True
    >>> same_fill_value(np.float64(np.nan), np.float32(np.nan), np.dtype("f4"))
    True
    """
    if a is b:
        return True
    try:
        return _same_scalar(written_value(a, dtype), written_value(b, dtype))
    except (TypeError, ValueError):
        return False


def carried_fill_value(value: Any, source: np.dtype, dtype: np.dtype) -> Any:
    """The fill value a result of ``dtype`` takes from an input of dtype ``source``.

    numpy.ma's rules, where they are well defined:

    1. An input without a fill value of its own (the default of its dtype,
       see :func:`is_default_fill_value`) gives the result the default of
       the result's dtype, as numpy.ma's unset fill value does.
    2. Otherwise the value is cast to ``dtype`` as numpy.ma's ``astype``
       casts it: integers wrap (300 becomes 44 in ``int8``), floats truncate
       towards zero in integer types, anything non-zero is true.
    3. Where that cast is undefined or lossy beyond rounding, the result
       takes its dtype's default instead (numpy.ma warns, or keeps a value
       of another kind that it then cannot write): a float that is NaN,
       infinite or out of range for an integer type, a float that
       overflows a smaller float type, a complex number for a real type,
       and values of another kind altogether (numbers and dates, say).

    Examples
    --------
    >>> i4, f8 = np.dtype("i4"), np.dtype("f8")
    >>> carried_fill_value(np.int32(7), i4, f8)  # an int set as fill value, into a float result
    np.float64(7.0)
    >>> carried_fill_value(np.int64(999999), i4, f8)  # the default: the result's default
    np.float64(1e+20)
    >>> carried_fill_value(np.float64(-1e30), f8, i4)  # out of int32's range: the default
    np.int64(999999)
    >>> carried_fill_value(np.float64(0.0), f8, np.dtype(bool))
    np.False_
    """
    source, dtype = np.dtype(source), np.dtype(dtype)
    if is_default_fill_value(value, source):
        return default_fill_value(dtype)
    item = np.asarray(value)
    if dtype.kind == "b":
        try:
            return np.bool_(bool(item))
        except (TypeError, ValueError):
            return default_fill_value(dtype)
    numbers = "biufc"
    if item.dtype.kind not in numbers or dtype.kind not in numbers:
        if item.dtype.kind == dtype.kind:  # dates to dates, strings to strings
            try:
                return item.astype(dtype)[()]
            except (TypeError, ValueError):
                pass
        return default_fill_value(dtype)
    if item.dtype.kind == "c" and dtype.kind != "c":
        return default_fill_value(dtype)  # numpy warns that it discards the imaginary part
    if item.dtype.kind == "f" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        # As Python numbers: compared in float16, int32's bounds would overflow.
        if not np.isfinite(item) or not info.min <= float(item) <= info.max:
            return default_fill_value(dtype)
    try:
        with np.errstate(over="raise", invalid="raise"):
            return item.astype(dtype)[()]
    except (FloatingPointError, OverflowError, TypeError, ValueError):
        return default_fill_value(dtype)


def fill_masked(value: np.ndarray, fill_value: Any) -> np.ndarray:
    """``value``'s data with its masked points set to ``fill_value``; a plain array.

    As ``MaskedArray.filled``, whose unsafe cast it makes (numpy.ma's
    default 999999 writes 63 into ``int8``), but without its warning where a
    default overflows (1e20 in ``float16`` writes infinity).

    Examples
    --------
    >>> fill_masked(np.ma.masked_array([1, 2], mask=[0, 1], dtype="i1"), np.int64(999999))
    array([ 1, 63], dtype=int8)
    """
    if not isinstance(value, np.ma.MaskedArray):
        return value
    return value.filled(written_value(fill_value, value.dtype))


def fill_value_argument(value: Any, dtype: np.dtype) -> Any:
    """``value`` as the ``fill_value`` argument of a ``MaskedArray`` of ``dtype``.

    ``None`` for the default, so that the result holds numpy.ma's own unset
    fill value, exactly as numpy.ma's results do (giving numpy.ma its default
    explicitly makes it cast it: 999999 becomes 63 for ``int8``, and 1e20
    overflows ``float16`` with a warning).

    Examples
    --------
    >>> fill_value_argument(np.float64(1e20), np.dtype("f2")) is None
    True
    >>> fill_value_argument(np.float32(-1), np.dtype("f4"))
    np.float32(-1.0)
    """
    return None if is_default_fill_value(value, dtype) else value


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
        """Value that stands for masked points in :meth:`ndarray` results.

        Known without reading anything: sources give theirs, and every node
        carries one by numpy.ma's rules (see ``docs/masked.md``).
        """
        return default_fill_value(self.dtype)

    @functools.cached_property
    def masked(self) -> bool:
        """Whether this array has a mask: it is a masked source, or computed from one.

        Known without reading anything. Arrays that are not masked compute
        exactly as numpy computes on plain arrays; masked ones as numpy.ma
        computes, their masked points becoming :attr:`fill_value` in
        :meth:`ndarray` results.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> m = la.asarray(np.ma.masked_array([1.0, 2.0], mask=[0, 1]))
        >>> m.masked, (m * 2).masked, la.asarray(np.ones(2)).masked
        (True, True, False)
        """
        # Leaves that can be masked (adapters), and nodes that know it when
        # built, override this. Inputs not yet asked are asked first, inputs
        # first, so that no graph's depth makes this recurse; the walk stops
        # at nodes that answer at once.
        for node in inputs_first(self.inputs, skip=_knows_masked):
            _ = node.masked  # cached
        return any(array.masked for array in self.inputs)

    @property
    def storage_chunks(self) -> tuple[int, ...] | None:
        """Storage chunk shape of the underlying source (HDF5 or Zarr), or
        ``None``: in memory, contiguous, or computed."""
        return None

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """The block grid, in dask's sense: for each axis, the lengths of the
        blocks the planner cuts this array into when it is evaluated alone,
        under the options in force (see :meth:`lazyarray.plan`). A block is
        made of whole storage chunks where the sources have them.

        Until version 0.1 this was the storage chunk shape, now
        :attr:`storage_chunks`.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> x = la.asarray(np.zeros((1000, 100)))
        >>> x.chunks == ((1000,), (100,)), x.numblocks, x.chunksize
        (True, (1, 1), (1000, 100))
        >>> with la.set_options(chunk_bytes=200_000):
        ...     x.chunks[0][:3], x.numblocks
        ((250, 250, 250), (4, 1))
        """
        options = get_options()
        # What the tiles depend on (not workers, kernels or progress): the key
        # of the grid kept with the node, which is immutable.
        key = (options.memory_limit, options.chunk_bytes, options.direct_io)
        cached = self.__dict__.get("_block_grid")
        if cached is None or cached[0] != key:
            # plan.py builds on the node modules, which build on this one.
            from .plan import block_grid

            cached = self.__dict__["_block_grid"] = (key, block_grid(self, options))
        return cached[1]

    @property
    def numblocks(self) -> tuple[int, ...]:
        """Blocks along each axis (see :attr:`chunks`)."""
        return tuple(len(c) for c in self.chunks)

    @property
    def chunksize(self) -> tuple[int, ...]:
        """The longest block along each axis (see :attr:`chunks`)."""
        return tuple(max(c) for c in self.chunks)

    @property
    def chunks_encoded(self) -> bool:
        """Whether reading part of a storage chunk costs reading all of it: the
        chunks are stored encoded (compressed, filtered), or the store reads
        them whole (Zarr)."""
        return False

    @property
    @abc.abstractmethod
    def inputs(self) -> tuple[Array, ...]:
        """The nodes this node is computed from."""

    # -- the two things a node must know how to do -----------------------
    #
    # Each comes in two forms: a plain method, and the same written as steps
    # (:mod:`lazyarray.steps`), which asks for its inputs' results by
    # yielding their steps instead of calling them, so that graphs of any
    # depth evaluate without deep recursion. Leaves define the plain
    # methods; nodes with inputs define the steps. Each form defaults to the
    # other.
    def _index(self, key: Key) -> Array:
        """The node selecting ``key`` (normalised, one item per axis) of this one."""
        return run(self._index_steps(key))

    def _index_steps(self, key: Key) -> Steps[Array]:
        """:meth:`_index` as steps."""
        if type(self)._index is Array._index:
            raise TypeError(f"{type(self).__name__} defines neither _index nor _index_steps")
        return self._index(key)
        yield  # a generator, which requests nothing  # pragma: no cover

    def _evaluate(self, masked: bool) -> np.ndarray:
        """This whole node in memory: a ``MaskedArray`` if ``masked``.

        Called only on nodes small enough to hold; the evaluator indexes big
        nodes down to tiles first.
        """
        return run(_evaluation(self, masked))

    def _evaluate_steps(self, masked: bool) -> Steps[np.ndarray]:
        """:meth:`_evaluate` as steps, as parents ask for their inputs' values.

        A node that several nodes of the evaluation use (``y * y``) is
        computed once; its value is then shared, so no parent may write into
        it (see :meth:`lazyarray.elementwise.Elementwise._evaluate_owned_steps`).
        Nodes define :meth:`_compute_steps` (or, leaves, :meth:`_evaluate`),
        not this.
        """
        if id(self) not in memo().get("shared", ()):
            return (yield from self._compute_steps(masked))
        values = memo().setdefault("values", {})
        key = (id(self), masked)
        if key not in values:
            values[key] = yield from self._compute_steps(masked)
        return values[key]

    def _compute_steps(self, masked: bool) -> Steps[np.ndarray]:
        """This node's value, from its inputs' values asked for as steps."""
        if type(self)._evaluate is Array._evaluate:
            raise TypeError(f"{type(self).__name__} defines neither _evaluate nor _compute_steps")
        return self._evaluate(masked)
        yield  # a generator, which requests nothing  # pragma: no cover

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

    def _select_steps(self, key: Key) -> Steps[Array]:
        """:meth:`_select` as steps.

        Selected once per key per selection: a node that several others use
        stays one node of the selected graph (``(y * y)[k]`` is ``y[k] * y[k]``
        with one ``y[k]``), which is then evaluated once.
        """
        if is_full(key, self.shape):
            return self
        selections = memo().setdefault("selections", {})
        found = selections.get((id(self), id(key)))
        if found is None:
            # The key is kept with the selection, so its id is not reused meanwhile.
            found = selections[(id(self), id(key))] = (key, (yield from self._index_steps(key)))
        return found[1]

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

    # -- pickling ----------------------------------------------------------
    def __reduce_ex__(self, protocol: Any) -> Any:
        # A node with inputs pickles as a flat list of its graph's nodes,
        # inputs first, each referring to its inputs by position: pickle's
        # own walk would recurse once per level of the graph. Leaves pickle
        # as they are (adapters define __reduce__).
        if not self.inputs:
            return super().__reduce_ex__(protocol)
        return _rebuild_graph, (_flat_graph(self),)


def _knows_masked(node: Array) -> bool:
    """Whether ``node.masked`` answers without looking at the inputs."""
    return "masked" in vars(node) or type(node).masked is not Array.masked


def _evaluation(root: Array, masked: bool) -> Steps[np.ndarray]:
    """The value of ``root``, with the nodes that several nodes of its graph
    use marked shared for :meth:`Array._evaluate_steps`."""
    uses: dict[int, int] = {}
    for node in inputs_first([root]):
        for used in node.inputs:
            uses[id(used)] = uses.get(id(used), 0) + 1
    shared = memo().setdefault("shared", set())
    shared.update(n for n, count in uses.items() if count > 1)
    return (yield root._evaluate_steps(masked))


class _Slot(Array):
    """Where a pickled node's input goes: its metadata, no data.

    A node pickled by :meth:`Array.__reduce_ex__` is kept as a copy of
    itself made with slots for inputs (:meth:`Array._with_inputs`), which
    checks and derives what it does from its inputs' metadata as usual.
    """

    def __init__(self, array: Array):
        self._shape = array.shape
        self._dtype = array.dtype
        self._fill_value = array.fill_value
        self._masked = array.masked

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def masked(self) -> bool:
        return self._masked

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    def _index(self, key: Key) -> Array:
        raise TypeError("a pickled graph's input slot cannot be indexed")

    def _evaluate(self, masked: bool) -> np.ndarray:
        raise TypeError("a pickled graph's input slot holds no data")


def _flat_graph(root: Array) -> list[tuple[Any, ...]]:
    """``root``'s graph as ``(leaf,)`` and ``(class, state, input positions)``
    entries, inputs first, ``root`` last."""
    nodes = list(inputs_first([root]))
    position = {id(node): n for n, node in enumerate(nodes)}
    entries: list[tuple[Any, ...]] = []
    for node in nodes:
        inputs = node.inputs
        if not inputs:
            entries.append((node,))
            continue
        shell = node._with_inputs(tuple(_Slot(i) for i in inputs))
        # The shell's state, not the shell: pickling the shell would flatten it again.
        entries.append((type(shell), vars(shell), tuple(position[id(i)] for i in inputs)))
    return entries


def _rebuild_graph(entries: list[tuple[Any, ...]]) -> Array:
    """The graph :func:`_flat_graph` flattened: each node rebuilt from its
    shell with its rebuilt inputs."""
    built: list[Array] = []
    for entry in entries:
        if len(entry) == 1:
            built.append(entry[0])
            continue
        cls, state, inputs = entry
        shell = cls.__new__(cls)
        shell.__dict__.update(state)
        built.append(shell._with_inputs(tuple(built[n] for n in inputs)))
    return built[-1]

