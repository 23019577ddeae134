"""``Array``: the immutable node every lazy array is made of.

A node knows its shape, dtype and fill value without reading anything, turns
an index into another node (pushing the selection down towards the sources),
and can produce itself in memory when it is small (``_evaluate``). The
evaluator (:mod:`lazyarray.execution`) only ever evaluates nodes indexed down to
one tile, so ``_evaluate`` is never asked for more than a budget allows.

Every node also offers numpy's methods: operators, ``astype``, ``T``,
reductions (``x.mean()``), realisation (``x.ndarray()``). The node kinds
and the evaluator that build them are above this module, which they import;
the methods reach them through :mod:`lazyarray.upcalls`, where the package
installs them. What the planner asks of a node, with its defaults, is
inherited from :class:`lazyarray.planprotocol.Plannable`; numpy.ma's
fill-value rules are in :mod:`lazyarray.fillvalues`; how a graph pickles,
in :mod:`lazyarray.pickling`.

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
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

import numpy as np

from . import upcalls
from .errors import ShapeError
from .fillvalues import default_fill_value
from .graph import inputs_first, summary
from .indexing import Key, is_full, key_token, parse_key
from .options import get_options
from .planprotocol import Plannable
from .steps import MEMO, Steps, run

T = TypeVar("T")

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .context import EvaluationContext

__all__ = ["Array", "format_bytes", "size"]


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


def size(array: Any) -> str:
    """The bytes ``array`` holds, in words: Biggus's ``size``.

    Two decimals in binary units, as Biggus wrote them (``format_bytes``,
    which reprs use, gives one). Not numpy's ``size`` (a number of
    elements): that is the :attr:`Array.size` attribute.

    Parameters
    ----------
    array : object
        Anything with ``nbytes``: a lazy array, an ndarray.

    Examples
    --------
    >>> import numpy as np
    >>> size(np.zeros(1000)), size(np.zeros(5, "i1")), size(np.zeros((1024, 1024, 3)))
    ('7.81 KiB', '5 B', '24.00 MiB')
    """
    nbytes = array.nbytes
    if nbytes < 1024:
        return f"{int(nbytes)} B"
    for power, unit in ((2, "KiB"), (3, "MiB"), (4, "GiB")):
        if nbytes < 1024**power:
            return f"{nbytes / 1024 ** (power - 1):.2f} {unit}"
    return f"{nbytes / 1024**4:.2f} TiB"


class cached_attribute(Generic[T]):
    """A property computed once per instance, then kept in its ``__dict__``.

    As :class:`functools.cached_property` without its lock (Python 3.11
    takes one on every first access, which costs a new node more than
    computing the value; the value is the same whichever thread wins).
    """

    def __init__(self, compute: Callable[[Any], T]):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_attribute[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class Array(Plannable):
    """A lazy N-dimensional array: a node of an expression graph.

    Subclasses define ``shape``, ``dtype``, :meth:`_index`, :meth:`_evaluate`
    and :attr:`inputs`; everything else (indexing syntax, operators,
    realisation, reductions) is shared. What the planner asks of a node
    (``_plan_*``, :attr:`reduced_axes`) has defaults in
    :class:`~lazyarray.planprotocol.Plannable`, which node kinds override.

    A subclass may instead follow Biggus's contract: ``dtype``, ``shape``,
    ``_getitem_full_keys(keys)`` (or its own ``__getitem__``), ``ndarray()``
    and ``masked_array()``. It is then a leaf: lazyarray indexes it through
    its hook (one int, slice or index array per axis; the hook returns a lazy
    array) and, in a graph's single pass, realises each selected piece by its
    ``ndarray()``, or ``masked_array()`` (such a leaf counts as masked, so
    that masks it may hold are honoured).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> class Ramp(la.Array):  # Biggus's contract: a leaf computing its values
    ...     def __init__(self, start, stop):
    ...         self.start, self.stop = start, stop
    ...     dtype = np.dtype("f8")
    ...     shape = property(lambda self: (self.stop - self.start,))
    ...     def _getitem_full_keys(self, keys):
    ...         (key,) = keys
    ...         if isinstance(key, slice) and key.step in (None, 1):
    ...             start, stop, _ = key.indices(self.shape[0])
    ...             return Ramp(self.start + start, self.start + max(start, stop))
    ...         return la.asarray(self.ndarray())[key]
    ...     def ndarray(self):
    ...         return np.arange(self.start, self.stop, dtype="f8")
    ...     def masked_array(self):
    ...         return np.ma.masked_array(self.ndarray())
    >>> r = Ramp(0, 10)
    >>> r[2:5].ndarray().tolist(), la.sum(r * 2).ndarray().item()
    ([2.0, 3.0, 4.0], 90.0)
    """

    __array_priority__ = 20
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as in numpy

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Abstract as with abc.ABC (a node kind that leaves ``shape`` or
        # ``dtype`` undefined cannot be instantiated), without ABCMeta: its
        # isinstance goes through Python code, three times the cost of the
        # plain check, and graphs test isinstance(op, Array) for every operand
        # of every node they build and evaluate.
        super().__init_subclass__(**kwargs)
        cls.__abstractmethods__ = abstract_names(cls)  # type: ignore[attr-defined]

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
        carries one by numpy.ma's rules (:mod:`lazyarray.fillvalues`,
        ``docs/masked.md``).
        """
        return default_fill_value(self.dtype)

    @cached_attribute
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
        if not self.inputs and _realises_itself(type(self)):
            # A leaf written to Biggus's contract may hold masked points, which
            # only its masked_array() shows: evaluate it masked, so that they
            # never enter a result as data.
            return True
        # Leaves that can be masked (adapters), and nodes that know it when
        # built, override this. Inputs not yet asked are asked first, inputs
        # first, so that no graph's depth makes this recurse; the walk stops
        # at nodes that answer at once.
        inputs = self.inputs
        if not all(_knows_masked(node) for node in inputs):  # known: at once
            for node in inputs_first(inputs, skip=_knows_masked):
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
            cached = self.__dict__["_block_grid"] = (key, upcalls.block_grid(self, options))
        return cached[1]

    #: What a node keeps in its ``__dict__`` about its graph (its block grid,
    #: its :func:`~lazyarray.graph.summary`): true of this node only, so a copy
    #: that changes the key or the inputs must drop it (:meth:`_forget_graph`).
    _GRAPH_CACHES: ClassVar[tuple[str, ...]] = ("_block_grid", "_graph_summary")

    def _forget_graph(self) -> None:
        """Drop what this node cached about its graph (see :attr:`_GRAPH_CACHES`):
        for a copy whose key or inputs are about to change."""
        for name in self._GRAPH_CACHES:
            self.__dict__.pop(name, None)

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
    def inputs(self) -> tuple[Array, ...]:
        """The nodes this node is computed from: none, unless a node kind says.

        Not abstract, so that a subclass written to Biggus's contract (see
        :class:`Array`) is a leaf as it stands.
        """
        return ()

    #: Whether this node's value, evaluated whole, is an array it made itself
    #: that nothing else refers to (a ufunc's result, not a view of a source):
    #: a caller may then keep it rather than copy it (small evaluations do).
    _makes_fresh_values = False

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
        if _biggus_indexing(type(self)) is not None:
            return _biggus_index(self, key)
        return run(self._index_steps(key))

    def _getitem_full_keys(self, keys: tuple[Any, ...]) -> Array:
        """Biggus's indexing hook: this array indexed by one key per axis.

        ``keys`` holds one int, slice or 1-D index array for each axis, as
        Biggus passed them. Subclasses written to Biggus's contract override
        it (and lazyarray then indexes them through it); for every other
        array it is plain indexing.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> x = la.asarray(np.arange(12).reshape(3, 4))
        >>> x._getitem_full_keys((np.array([0, 2]), slice(None, None, 2))).ndarray().tolist()
        [[0, 2], [8, 10]]
        """
        return self[tuple(keys)]

    def _index_steps(self, key: Key) -> Steps[Array]:
        """:meth:`_index` as steps."""
        if type(self)._index is Array._index:
            if _biggus_indexing(type(self)) is not None:
                return _biggus_index(self, key)
            raise TypeError(f"{type(self).__name__} defines neither _index nor _index_steps")
        return self._index(key)
        yield  # a generator, which requests nothing  # pragma: no cover

    def _evaluate(self, context: EvaluationContext, masked: bool) -> np.ndarray:
        """This whole node in memory: a ``MaskedArray`` if ``masked``.

        Called only on nodes small enough to hold; the evaluator indexes big
        nodes down to tiles first. Everything the evaluation needs besides
        the node (options, shared reads, lent buffers) comes from ``context``.
        """
        if context.memo is not None:  # within an evaluation already: share its memo
            _mark_shared(self, context.memo)
            return run(self._evaluate_steps(context, masked))
        context.memo = {}
        try:
            _mark_shared(self, context.memo)
            return run(self._evaluate_steps(context, masked))
        finally:
            context.memo = None

    def _evaluate_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        """:meth:`_evaluate` as steps, as parents ask for their inputs' values.

        A node that several nodes of the evaluation use (``y * y``) is
        computed once; its value is then shared, so no parent may write into
        it (see :meth:`lazyarray.elementwise.Elementwise._evaluate_owned_steps`).
        Nodes define :meth:`_compute_steps` (or, leaves, :meth:`_evaluate`),
        not this.
        """
        memo = context.memo
        if memo is None or id(self) not in memo.get("shared", ()):
            return (yield from self._compute_steps(context, masked))
        values = memo.setdefault("values", {})
        key = (id(self), masked)
        if key not in values:
            values[key] = yield from self._compute_steps(context, masked)
        return values[key]

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        """This node's value, from its inputs' values asked for as steps."""
        if type(self)._evaluate is Array._evaluate:
            if _realises_itself(type(self)):
                # Results of one tile that select the same piece of this leaf
                # share one realisation, as they share an adapter's read.
                origin = self.__dict__.get("_biggus_origin", (id(self), None))
                return context.cached_read(("biggus", origin, masked),
                                           lambda: _biggus_value(self, masked))
            raise TypeError(f"{type(self).__name__} defines neither _evaluate nor _compute_steps")
        return self._evaluate(context, masked)
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
        selections = (yield MEMO).setdefault("selections", {})
        found = selections.get((id(self), id(key)))
        if found is None:
            # The key is kept with the selection, so its id is not reused meanwhile.
            found = selections[(id(self), id(key))] = (key, (yield from self._index_steps(key)))
        return found[1]

    def __getitem__(self, key: Any) -> Array:
        parsed = parse_key(_outer_from_ix(key), self.shape)
        node = self._select(parsed.key)
        if parsed.new_axes:
            node = upcalls.expand_dims(node, parsed.new_axes)
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
        return upcalls.ndarrays([self], **options)[0]

    def masked_array(self, **options: Any) -> np.ma.MaskedArray:
        """Realise as a ``numpy.ma.MaskedArray``."""
        return upcalls.masked_arrays([self], **options)[0]

    def to_dask(self, *, masked: bool = False, **options: Any) -> Any:
        """This array as a ``dask.array.Array`` (:func:`lazyarray.to_dask`); reads nothing."""
        return upcalls.to_dask([self], masked=masked, **options)[0]

    def iter_chunks(self, axis: int = 0, size: int | None = None,
                    **kwargs: Any) -> Iterator[np.ndarray]:
        """Consecutive slabs along ``axis``, realised ahead (:func:`lazyarray.iter_chunks`).

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> [s.tolist() for s in la.asarray(np.arange(5)).iter_chunks(size=2)]
        [[0, 1], [2, 3], [4]]
        """
        return upcalls.iter_chunks(self, axis, size, **kwargs)

    def iter_blocks(self, **kwargs: Any) -> Iterator[tuple[tuple[slice, ...], np.ndarray]]:
        """The blocks of :attr:`chunks` with their regions, realised ahead
        (:func:`lazyarray.iter_blocks`)."""
        return upcalls.iter_blocks(self, **kwargs)

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
    def astype(self, dtype: DTypeLike, *, copy: bool = True) -> Array:
        """A lazy cast to ``dtype`` (numpy's unsafe casting, as ``ndarray.astype``).

        ``copy`` is numpy's argument, accepted for code written for numpy and
        xarray: a lazy array is never written into, so a cast to its own
        dtype gives the array itself when ``copy=False``.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> x = la.asarray(np.arange(3))
        >>> x.astype("f4").ndarray().tolist(), x.astype(x.dtype, copy=False) is x
        ([0.0, 1.0, 2.0], True)
        """
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return upcalls.astype(self, dtype)

    def transpose(self, *axes: Any) -> Array:
        """Permute the axes (reverse them when none are given), as numpy does."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], Sequence)):
            axes = () if axes[0] is None else tuple(axes[0])
        return upcalls.transpose(self, axes or None)

    @property
    def T(self) -> Array:
        """The transposed array."""
        return self.transpose()

    def reshape(self, *shape: Any, order: str = "C", copy: bool | None = None) -> Array:
        """A new shape in C order (one length may be -1), as ``numpy.ndarray.reshape``; lazily.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> la.asarray(np.arange(6)).reshape(2, -1).ndarray().tolist()
        [[0, 1, 2], [3, 4, 5]]
        """
        if len(shape) == 1 and isinstance(shape[0], Sequence):
            shape = tuple(shape[0])
        return upcalls.array_function(np.reshape, (type(self),), (self, shape),
                                      {"order": order, "copy": copy})

    def ravel(self, order: str = "C") -> Array:
        """The elements in one axis, in C order, as ``numpy.ndarray.ravel``; lazily."""
        return upcalls.array_function(np.ravel, (type(self),), (self,), {"order": order})

    @property
    def real(self) -> Array:
        """The real part, lazily: the array itself unless it is complex, as numpy's."""
        return upcalls.array_function(np.real, (type(self),), (self,), {})

    @property
    def imag(self) -> Array:
        """The imaginary part, lazily: zeros of the dtype unless it is complex
        (read from nothing unless the array is masked), as numpy's."""
        return upcalls.array_function(np.imag, (type(self),), (self,), {})

    def conj(self) -> Array:
        """The complex conjugate, lazily; the array itself unless it is complex,
        as ``ndarray.conj``."""
        return upcalls.apply_ufunc(np.conjugate, self) if self.dtype.kind == "c" else self

    conjugate = conj

    # -- numpy's functions (see lazyarray.arrayfunction) ------------------------
    # -- the Array API standard (lazyarray.array_api) -------------------------
    def __array_namespace__(self, /, *, api_version: str | None = None) -> Any:
        """The Array API namespace of lazy arrays, :mod:`lazyarray.array_api`.

        Raises
        ------
        ValueError
            For an ``api_version`` other than ``None``, ``"2023.12"`` or ``"2024.12"``.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> xp = la.asarray(np.arange(3)).__array_namespace__()
        >>> xp.__name__, xp.__array_api_version__
        ('lazyarray.array_api', '2024.12')
        """
        return upcalls.array_namespace(api_version)

    @property
    def device(self) -> str:
        """Where the array is computed: ``"cpu"``, as numpy's arrays."""
        return "cpu"

    def to_device(self, device: Any, /, *, stream: Any = None) -> Array:
        """This array on ``device``, which must be ``"cpu"``: the array itself."""
        if stream is not None:
            raise ValueError(f"to_device: expected stream None, found {stream!r}")
        if device != "cpu":
            raise ValueError(f"to_device: expected device 'cpu', found {device!r}")
        return self

    @property
    def mT(self) -> Array:
        """The matrices of the array transposed: its last two axes swapped, as a view."""
        if self.ndim < 2:
            raise ValueError(f"mT: expected an array of at least 2 dimensions, found {self.ndim}")
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return upcalls.transpose(self, axes)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        # np.mean(x), np.where(c, x, 0)...: lazily, or a TypeError naming func.
        return upcalls.array_function(func, types, args, kwargs)

    # -- elementwise operators ----------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs or ufunc.signature is not None:
            return NotImplemented
        return upcalls.apply_ufunc(ufunc, *inputs)

    def _binary(self, ufunc: np.ufunc, other: Any, reflected: bool = False) -> Any:
        if not upcalls.is_operand(other):
            return NotImplemented
        if reflected:
            return upcalls.apply_ufunc(ufunc, other, self)
        return upcalls.apply_ufunc(ufunc, self, other)

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

    # Python 2's names of the division operators, which Biggus defined and
    # code written for it may call: true division, as Python 3's ``/``.
    def __div__(self, other: Any) -> Any:
        return self._binary(np.true_divide, other)

    def __rdiv__(self, other: Any) -> Any:
        return self._binary(np.true_divide, other, reflected=True)

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
        return upcalls.negative(self)

    def __pos__(self) -> Array:
        return upcalls.positive(self)

    def __abs__(self) -> Array:
        return upcalls.absolute(self)

    def __invert__(self) -> Array:
        return upcalls.invert(self)

    # -- reductions (see lazyarray.aggregation) ------------------------------
    def sum(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.sum` of this array."""
        return upcalls.sum(self, axis, **kwargs)

    def prod(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.prod` of this array."""
        return upcalls.prod(self, axis, **kwargs)

    def cumsum(self, axis: int | None = None, dtype: Any = None) -> Array:
        """Lazy :func:`lazyarray.cumsum` of this array."""
        return upcalls.cumsum(self, axis, dtype)

    def cumprod(self, axis: int | None = None, dtype: Any = None) -> Array:
        """Lazy :func:`lazyarray.cumprod` of this array."""
        return upcalls.cumprod(self, axis, dtype)

    def mean(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.mean` of this array."""
        return upcalls.mean(self, axis, **kwargs)

    def std(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.std` of this array."""
        return upcalls.std(self, axis, **kwargs)

    def var(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.var` of this array."""
        return upcalls.var(self, axis, **kwargs)

    def min(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.min` of this array."""
        return upcalls.min(self, axis, **kwargs)

    def max(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.max` of this array."""
        return upcalls.max(self, axis, **kwargs)

    def ptp(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.ptp` of this array."""
        return upcalls.ptp(self, axis, **kwargs)

    def count(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.count` of this array."""
        return upcalls.count(self, axis, **kwargs)

    def any(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.any` of this array."""
        return upcalls.any(self, axis, **kwargs)

    def all(self, axis: Any = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.all` of this array."""
        return upcalls.all(self, axis, **kwargs)

    def argmin(self, axis: int | None = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.argmin` of this array."""
        return upcalls.argmin(self, axis, **kwargs)

    def argmax(self, axis: int | None = None, **kwargs: Any) -> Array:
        """Lazy :func:`lazyarray.argmax` of this array."""
        return upcalls.argmax(self, axis, **kwargs)

    # -- presentation ------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} shape={self.shape} dtype={self.dtype} "
            f"size={format_bytes(self.nbytes)}>"
        )

    # -- pickling ----------------------------------------------------------
    def __reduce_ex__(self, protocol: Any) -> Any:
        # A node with inputs pickles as a flat list of its graph's nodes
        # (lazyarray.pickling): pickle's own walk would recurse once per
        # level of the graph. Leaves pickle as they are (adapters define
        # __reduce__).
        if not self.inputs:
            return super().__reduce_ex__(protocol)
        return upcalls.reduce_graph(self)


def _outer_from_ix(key: Any) -> Any:
    """``key`` with ``numpy.ix_``-shaped index arrays made 1-D: numpy's
    vectorized indexing with them is orthogonal indexing, which is how xarray
    asks a duck array for an outer selection (``_outer_to_numpy_indexer``).

    >>> _outer_from_ix((np.array([[0], [2]]), 1, np.array([[1, 2]])))
    (array([0, 2]), 1, array([1, 2]))
    """
    if not isinstance(key, tuple) or len(key) < 2:
        return key
    arrays = [k for k in key if isinstance(k, np.ndarray) and k.ndim]
    if len(arrays) < 2 or not all(isinstance(k, (int, np.integer)) or
                                  (isinstance(k, np.ndarray) and k.ndim) for k in key):
        return key
    if any(a.ndim != len(arrays) or any(n != 1 for j, n in enumerate(a.shape) if j != i)
           for i, a in enumerate(arrays)):
        return key
    flat = iter(a.reshape(-1) for a in arrays)
    return tuple(next(flat) if isinstance(k, np.ndarray) and k.ndim else k for k in key)


def _biggus_indexing(cls: type[Array]) -> str | None:
    """The indexing hook of a class written to Biggus's contract, if it is one.

    Such a class defines ``_getitem_full_keys`` (Biggus 0.14's hook) or its
    own ``__getitem__`` (older Biggus), and neither of lazyarray's
    ``_index`` nor ``_index_steps``.
    """
    if cls._index_steps is not Array._index_steps or cls._index is not Array._index:
        return None
    if cls._getitem_full_keys is not Array._getitem_full_keys:
        return "_getitem_full_keys"
    if cls.__getitem__ is not Array.__getitem__:
        return "__getitem__"
    return None


def abstract_names(cls: type) -> frozenset[str]:
    """The names of ``cls``'s methods and properties still abstract (marked
    with :func:`abc.abstractmethod` where ``cls`` finds them), as
    :class:`abc.ABCMeta` computes them.

    Examples
    --------
    >>> class Leaf(Array):
    ...     shape = (2,)
    >>> sorted(abstract_names(Leaf))
    ['dtype']
    """
    # As abc does: the class's own abstract attributes, and those its bases
    # leave abstract that the class does not define.
    found = {name for name, value in vars(cls).items()
             if getattr(value, "__isabstractmethod__", False)}
    for base in cls.__bases__:
        for name in getattr(base, "__abstractmethods__", ()):
            if getattr(getattr(cls, name, None), "__isabstractmethod__", False):
                found.add(name)
    return frozenset(found)


Array.__abstractmethods__ = abstract_names(Array)  # type: ignore[attr-defined]


def _realises_itself(cls: type[Array]) -> bool:
    """Whether a leaf class realises itself by Biggus's contract (its own
    ``ndarray`` and ``masked_array``) instead of lazyarray's ``_evaluate``."""
    return cls.ndarray is not Array.ndarray and cls._evaluate is Array._evaluate


def _biggus_keys(key: Key) -> tuple[Any, ...]:
    """A normalised key as Biggus's full keys: ints, slices and index arrays.

    >>> _biggus_keys((2, range(0, 5, 2), range(4, -1, -1), np.array([1, 0])))
    (2, slice(0, 5, 2), slice(4, None, -1), array([1, 0]))
    """
    return tuple(
        slice(item.start, item.stop if item.stop >= 0 else None, item.step)
        if isinstance(item, range) else item
        for item in key
    )


def _biggus_index(array: Array, key: Key, hook: str | None = None) -> Array:
    """``array`` indexed through its Biggus hook (``hook``, or the one its class
    defines), checked to be a lazy array of the shape the key selects."""
    hook = hook or _biggus_indexing(type(array))
    keys = _biggus_keys(key)
    result = (array._getitem_full_keys(keys) if hook == "_getitem_full_keys"
              else type(array).__getitem__(array, keys))
    expected = tuple(len(item) for item in key if not isinstance(item, int))
    if not isinstance(result, Array):
        raise TypeError(
            f"{type(array).__name__}.{hook}{keys!r} returned {type(result).__name__}; "
            "expected a lazyarray Array"
        )
    if tuple(result.shape) != expected:
        raise ShapeError(
            f"{type(array).__name__}.{hook}{keys!r} returned an array of shape "
            f"{tuple(result.shape)}; expected {expected}"
        )
    if _realises_itself(type(result)) and result is not array:
        # Where the piece came from: pieces of one leaf under one key hold
        # the same values, and are realised once per tile (see _compute_steps).
        origin = array.__dict__.get("_biggus_origin", (id(array), None))
        result.__dict__["_biggus_origin"] = (origin, key_token(key))
    return result


def _biggus_value(array: Array, masked: bool) -> np.ndarray:
    """A leaf written to Biggus's contract, realised by its own ``ndarray()`` or
    ``masked_array()``, in the shape and dtype it declares."""
    shape, dtype = tuple(array.shape), np.dtype(array.dtype)
    if masked:
        value: np.ndarray = np.ma.asanyarray(array.masked_array())
    else:
        value = array.ndarray()
        value = (value.filled(array.fill_value) if isinstance(value, np.ma.MaskedArray)
                 else np.asarray(value))
    if value.shape != shape:
        if value.size != math.prod(shape):
            method = "masked_array" if masked else "ndarray"
            raise ShapeError(
                f"{type(array).__name__}.{method}() returned shape {value.shape}; the "
                f"array declares shape {shape}"
            )
        value = value.reshape(shape)  # Biggus's 0-d results came as scalars
    return value if value.dtype == dtype else value.astype(dtype)


def _knows_masked(node: Array) -> bool:
    """Whether ``node.masked`` answers without looking at the inputs."""
    return "masked" in vars(node) or type(node).masked is not Array.masked


def _mark_shared(root: Array, memo: dict[str, Any]) -> None:
    """Mark the nodes that several nodes of ``root``'s graph use as shared
    in an evaluation's ``memo``, for :meth:`Array._evaluate_steps`."""
    shared = summary(root).shared
    if shared:
        memo.setdefault("shared", set()).update(shared)
