"""``ArrayAdapter``: a lazy view of a concrete source through one composed key.

An adapter holds its source and a normalised key. Indexing an adapter composes
keys and reads nothing. Reading splits the key (:func:`decompose_key`) into
what the source's library does natively and an in-memory rest, so every key
works on every source and reads stay within the selection's bounding box.
Beside the class: what a source must be to be wrapped
(:func:`refuse_unsupported_dtype`, :func:`source_shape`), where its stored
chunks begin under a key (:func:`key_chunk_edges`, for the planner), and
what a key selects in words (:func:`describe_elements`, for error messages).

An adapter may also mask what it reads (a
:class:`~lazyarray.adapters.missingvalues.Masking`): points equal to a fill
value or outside a valid range, the netCDF conventions that HDF5 and Zarr
adapters honour when asked (see :mod:`lazyarray.adapters.missingvalues`).
"""

from __future__ import annotations

import abc
import contextlib
import operator
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..array import Array, cached_attribute
from ..errors import (
    DTypeError,
    IndexingError,
    MaskedSourceError,
    ShapeError,
    UnsupportedDTypeError,
    located,
)
from ..fillvalues import default_fill_value
from ..foreign import is_masked_array
from ..indexing import (
    Key,
    NativeSupport,
    compose_keys,
    decompose_key,
    is_full,
    is_hyperslab,
    key_shape,
    key_token,
    orthogonal_take,
    parse_key,
    sorted_unique,
)
from ..planprotocol import Edges, ReadModel
from .missingvalues import Masking

if TYPE_CHECKING:
    from ..context import EvaluationContext

__all__ = [
    "MAX_EDGES",
    "ArrayAdapter",
    "SourceAttributeError",
    "describe_elements",
    "key_chunk_edges",
    "observing_reads",
    "refuse_unsupported_dtype",
    "source_shape",
]


def refuse_unsupported_dtype(dtype: np.dtype, operation: str) -> None:
    """Raise for a dtype lazy arrays cannot compute with, naming it.

    Object arrays (Python objects, and HDF5's variable-length strings, which
    h5py reads as objects), numpy's ``StringDType`` (Zarr's strings), void
    and structured dtypes have no numpy maths:
    numpy refuses to sum them, but summing an object array's Python ``None``
    as int64 bits gives a number that looks right. They are refused when
    wrapped, before anything is built on them. So are dtypes of no bytes
    (``S0``, ``U0``, ``V0``), whose elements hold nothing.

    Examples
    --------
    >>> refuse_unsupported_dtype(np.dtype("f4"), "demo")
    >>> refuse_unsupported_dtype(np.dtype("i4,f8"), "demo")
    Traceback (most recent call last):
    ...
    lazyarray.errors.UnsupportedDTypeError: demo: cannot wrap a source of dtype [('f0', '<i4'), ('f1', '<f8')] (structured): lazy arrays hold numbers, booleans, fixed-size strings or dates
    """
    if dtype.fields is not None:
        kind = "structured"
    elif dtype.kind == "V":
        kind = "void"
    elif dtype.itemsize == 0:
        kind = "zero-size: its elements hold no bytes"
    elif dtype.kind == "T":
        kind = "variable-length strings"
    elif dtype.kind == "O":
        metadata: Mapping[str, Any] = dtype.metadata or {}
        vlen = metadata.get("vlen")
        kind = (
            "variable-length strings" if vlen in (str, bytes)
            else "variable-length sequences" if vlen is not None
            else "Python objects"
        )
    else:
        return
    raise UnsupportedDTypeError(
        f"{operation}: cannot wrap a source of dtype {dtype} ({kind}): lazy arrays hold "
        "numbers, booleans, fixed-size strings or dates"
    )


def source_shape(shape: Any, operation: str) -> tuple[int, ...]:
    """``shape``, a source's, as a tuple of non-negative ints; refused otherwise.

    Raises
    ------
    lazyarray.ShapeError
        For a shape that is not a sequence of whole, non-negative numbers.

    Examples
    --------
    >>> source_shape([2, np.int64(3)], "demo")
    (2, 3)
    >>> source_shape((-2,), "demo")
    Traceback (most recent call last):
    ...
    lazyarray.errors.ShapeError: demo: the source's shape (-2,) has a negative length
    """
    try:
        lengths = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise ShapeError(
            f"{operation}: the source's shape {shape!r} is not a sequence of whole numbers"
        ) from None
    if any(n < 0 for n in lengths):
        raise ShapeError(f"{operation}: the source's shape {lengths} has a negative length")
    return lengths


def _describe_item(item: Any) -> str:
    """One item of a normalised key, as a slice or a few indices."""
    if isinstance(item, range):
        if item.step == 1:
            return f"{item.start}:{item.stop}"
        stop = "" if item.stop < 0 else item.stop
        return f"{item.start}:{stop}:{item.step}"
    if isinstance(item, np.ndarray):
        if item.size <= 4:
            return str(item.tolist())
        return f"{item.size} indices from {item.min()} to {item.max()}"
    return str(item)


def _chunk_span(item: Any, chunk: int) -> str:
    """The chunk indices along one axis that ``item`` touches."""
    if isinstance(item, range):
        low, high = min(item[0], item[-1]), max(item[0], item[-1])
    elif isinstance(item, np.ndarray):
        low, high = int(item.min()), int(item.max())
    else:
        low = high = int(item)
    first, last = low // chunk, high // chunk
    return str(first) if first == last else f"{first}:{last + 1}"


def describe_elements(key: Key, chunks: tuple[int, ...] | None = None) -> str:
    """What ``key`` selects, in words for error messages, with the chunks it touches.

    Examples
    --------
    >>> describe_elements((range(0, 10), 3), (5, 4))
    'elements [0:10, 3] (chunks [0:2, 0] of shape (5, 4))'
    >>> describe_elements((range(9, -1, -2), np.arange(10)))
    'elements [9::-2, 10 indices from 0 to 9]'
    """
    text = f"elements [{', '.join(_describe_item(item) for item in key)}]"
    sizes = [len(item) if isinstance(item, (range, np.ndarray)) else 1 for item in key]
    if chunks and len(chunks) == len(key) and all(sizes):
        spans = ", ".join(_chunk_span(item, c) for item, c in zip(key, chunks))
        text += f" (chunks [{spans}] of shape {tuple(chunks)})"
    return text


#: Chunk edges listed along one axis at most: past this many chunks the axis
#: is taken as free, since cutting anywhere splits at most one tiny chunk per
#: tile, and listing them would cost memory in proportion to the axis.
MAX_EDGES = 1 << 20


def _positions_edges(positions: np.ndarray, chunk: int) -> np.ndarray:
    """Where the storage chunk of consecutive ``positions`` changes."""
    block = positions // chunk
    return np.flatnonzero(block[1:] != block[:-1]) + 1


def _range_edges(k: range, chunk: int) -> np.ndarray | None:
    """Edges of a window ``k`` of a source axis stored in chunks of ``chunk``.

    Examples
    --------
    >>> _range_edges(range(1, 10), 4).tolist(), _range_edges(range(9, 0, -2), 4).tolist()
    ([3, 7], [1, 3])
    """
    low, high = min(k[0], k[-1]), max(k[0], k[-1])
    if high // chunk - low // chunk > MAX_EDGES:
        return None
    if k.step > 0:
        # The first position at or past each chunk start inside the window.
        starts = np.arange((low // chunk + 1) * chunk, high + 1, chunk, dtype=np.intp)
        return sorted_unique(-((k.start - starts) // k.step))
    # A falling window: the edges of the same window rising, seen from the end.
    rising = _range_edges(k[::-1], chunk)
    return None if rising is None else np.sort(len(k) - rising)


def key_chunk_edges(key: Key, chunks: tuple[int, ...] | None) -> tuple[np.ndarray | None, ...]:
    """Where, along each axis a key keeps, the stored chunks it reads begin.

    Parameters
    ----------
    key : Key
        Normalised against the source's shape; its ints drop their axes.
    chunks : tuple of int or None
        The source's storage chunks (``None``: none, every axis free).

    Returns
    -------
    tuple of (ndarray of intp or None)
        Per axis of the selection, the interior positions where a chunk
        begins; ``None`` for a free axis.

    Examples
    --------
    >>> [e.tolist() for e in key_chunk_edges((range(2, 10), 1, np.array([0, 5, 6])), (3, 2, 4))]
    [[1, 4, 7], [1]]
    """
    edges: list[np.ndarray | None] = []
    for k, c in zip(key, chunks or [None] * len(key)):
        if isinstance(k, (int, np.integer)):
            continue  # the axis is dropped
        if c is None:
            edges.append(None)
        elif isinstance(k, range):
            edges.append(_range_edges(k, c) if len(k) else np.empty(0, np.intp))
        else:
            edges.append(_positions_edges(np.asarray(k), c))
    return tuple(edges)


#: What :func:`observing_reads` installed: replaced whole under the lock, so a
#: reading thread iterates one consistent tuple without locking; empty outside tests.
_read_observers: tuple[Callable[[ArrayAdapter, Key], None], ...] = ()
_read_observers_lock = threading.Lock()


@contextlib.contextmanager
def observing_reads(observer: Callable[[ArrayAdapter, Key], None]) -> Iterator[None]:
    """Call ``observer(adapter, native)`` before every read any adapter makes, while inside.

    The hook behind :func:`lazyarray.testing.recording_reads`. ``native`` is
    the key the adapter asks its source's library for (against the source's
    shape; what a shared read of a tile reads, once). The observer runs in
    the reading thread, which may be any worker's; what it raises is raised
    by the read, told where.

    Examples
    --------
    >>> from lazyarray.adapters import NumpyArrayAdapter
    >>> seen = []
    >>> with observing_reads(lambda adapter, native: seen.append(native)):
    ...     _ = NumpyArrayAdapter(np.arange(10))[2:8:3].ndarray()
    >>> seen
    [(range(2, 8, 3),)]
    """
    global _read_observers
    with _read_observers_lock:
        _read_observers += (observer,)
    try:
        yield
    finally:
        with _read_observers_lock:
            _read_observers = tuple(o for o in _read_observers if o is not observer)


class SourceAttributeError(TypeError, AttributeError):
    """A source lacks an attribute an adapter needs (``shape`` or ``dtype``).

    A ``TypeError`` (the source is not of a usable type) and, as Biggus
    raised, an ``AttributeError``.
    """


class ArrayAdapter(Array):
    """Base class of adapters: a concrete source seen through a key.

    Subclasses set :attr:`support` and implement :meth:`_read`.

    Parameters
    ----------
    source : object
        Anything with ``shape`` and ``dtype`` (no ``ndim`` needed), read
        through its ``__getitem__``.
    keys : key, optional
        One key, as ``adapter[keys]`` would take it (Biggus's meaning: a tuple
        with an item per axis of ``source``, or a single item for the first
        axis): the adapter shows ``source[keys]``, indexed orthogonally.

    Raises
    ------
    SourceAttributeError
        If ``source`` lacks ``shape`` or ``dtype`` (a ``TypeError`` and an
        ``AttributeError``). A source without ``__getitem__`` is wrapped, as
        Biggus allowed, and refused when read.
    lazyarray.UnsupportedDTypeError
        For object, void, structured and variable-length string dtypes.
    lazyarray.IndexingError
        For ``keys`` out of range, or a ``None`` in ``keys`` (the source has
        no such axis: index the adapter instead).
    """

    #: What the source's library indexes natively; the rest is done in memory.
    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=1, unsorted_arrays=False
    )

    #: How points are masked, for adapters that mask by value (see :class:`Masking`).
    _masking: Masking | None = None

    #: Whether the source's reads may hold masked points (a ``MaskedArray``
    #: source, or one declared so): its masks are then honoured.
    _source_masked: bool = False

    def __init__(self, source: Any, keys: Any = ()):
        # As Biggus: shape and dtype are all a source needs to be wrapped
        # (not ndim, nor __getitem__, which only reading needs).
        for attribute in ("shape", "dtype"):
            if not hasattr(source, attribute):
                raise SourceAttributeError(
                    f"{type(self).__name__}: source must have shape and dtype (and "
                    f"__getitem__ to be read); {type(source).__name__} has no {attribute}"
                )
        self._source = source
        operation = f"{type(self).__name__}({type(source).__name__})"
        self._source_shape = source_shape(source.shape, operation)
        try:
            dtype = np.dtype(source.dtype)
        except TypeError as error:
            raise TypeError(f"{operation}: the source's dtype {source.dtype!r} is not a "
                            f"numpy dtype ({error})") from None
        refuse_unsupported_dtype(dtype, operation)
        # h5py reports explicit little-endian dtypes ('<f4'); show them as numpy does.
        self._dtype = dtype.newbyteorder("=") if dtype.isnative else dtype
        self._source_masked = is_masked_array(source)
        parsed = parse_key(keys, self._source_shape)
        if parsed.new_axes:
            raise IndexingError(
                f"{type(self).__name__}: keys index the source's own axes, and None "
                f"(a new axis) is not one of them; found keys={keys!r}. Index the "
                "adapter instead: adapter[None, ...]"
            )
        self._set_key(parsed.key)

    def _set_key(self, key: Key) -> None:
        self._key = key
        self._shape = key_shape(key)
        # A view made by indexing starts as a copy of its parent: what was
        # cached for the parent's key (its block grid, its graph summary, how
        # its key is read) is not this view's.
        cached = self.__dict__
        for name in self._VIEW_DROPS:
            if name in cached:
                del cached[name]

    @property
    def concrete(self) -> Any:
        """The wrapped source (Biggus's name)."""
        return self._source

    @property
    def key(self) -> Key:
        """The normalised key, against the source's shape, that this adapter shows."""
        return self._key

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        if self._masking is not None:
            return self._masking.fill_value
        if is_masked_array(self._source):
            return self._source.fill_value
        return default_fill_value(self._dtype)

    @property
    def masking(self) -> Masking | None:
        """How this adapter masks the points it reads, or ``None`` if it does not."""
        return self._masking

    @property
    def masked(self) -> bool:
        # A numpy masked array, a source declared masked, or a file source
        # opened with masked=True.
        return self._masking is not None or self._source_masked

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    def __copy__(self) -> ArrayAdapter:
        # Not copy.copy's default, which goes through __reduce__: subclasses
        # that pickle by reference (HDF5: file path and dataset name) would
        # reopen the file on every index, and fail for in-memory files.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def _index(self, key: Key) -> Array:
        view = self.__copy__()
        view._set_key(compose_keys(self._key, key))
        return view

    def _support(self) -> NativeSupport:
        """What this adapter's source indexes natively."""
        return self.support

    # -- planner protocol ---------------------------------------------------
    def _plan_edges(self, kind: str, edges_of: Callable[[Array], Edges]) -> Edges:
        # A source's edges are its storage chunks' under its key; encoded
        # ones only where they are, and it joins nothing.
        if kind == "chunks" or (kind == "encoded" and self.chunks_encoded):
            return key_chunk_edges(self._key, self.storage_chunks)
        return (None,) * self.ndim

    def _plan_own_bytes(self, joined: bool) -> int:
        # A source masked by value also makes the comparisons that find its mask.
        return super()._plan_own_bytes(joined) + (2 if self._masking is not None else 0)

    @property
    def _plan_shared_bytes(self) -> int:
        return int(self._dtype.itemsize)  # the read, shared through the tile cache

    @property
    def _plan_label(self) -> str:
        # Short: a file and dataset, a Zarr store and path, else the source's type.
        filename = getattr(self, "filename", None)
        if isinstance(filename, str):
            return f"{os.path.basename(filename)}:{getattr(self, 'name', '')}"
        store_path = getattr(self._source, "store_path", None)
        if store_path is not None:
            path = str(getattr(store_path, "path", "") or "")
            root = getattr(getattr(store_path, "store", None), "root", None)
            where = (os.path.basename(str(root)) if root is not None
                     else type(store_path.store).__name__)
            return f"zarr {where}{'/' + path if path else ''}"
        return f"a {type(self._source).__name__} {tuple(self._source.shape)}"

    @property
    def _plan_stored_source(self) -> Any:
        return self._source

    @property
    def _plan_stored_key(self) -> Key:
        return self._key

    def _plan_read_model(self, direct_io: bool) -> ReadModel:
        # Read through the source's library: whole chunks where it stores
        # them, else the elements asked for.
        shape = self._source_shape
        chunks = self.storage_chunks
        chunks = tuple(int(c) for c in chunks) if chunks is not None and shape else None
        return ReadModel("elements" if chunks is None else "chunks", shape, chunks,
                         int(self._dtype.itemsize), self._support())

    @abc.abstractmethod
    def _read(self, native: Key, context: EvaluationContext) -> Any:
        """Read ``native`` (a key :attr:`support` allows) from the source.

        ``context`` is the evaluation's: its options (may the source be read
        directly?) and its read buffers
        (:meth:`~lazyarray.context.EvaluationContext.read_buffer`) are there
        for the adapters that use them.
        """

    def _evaluate(self, context: EvaluationContext, masked: bool) -> np.ndarray:
        # Within one tile of an evaluation, results that need the same region
        # of the same source share one read.
        data = context.cached_read((id(self._source), key_token(self._key)),
                                   lambda: self._read_key(context))
        if self._masking is not None:
            # Masked per tile, after the shared read: adapters of one source
            # with different masking options still share it.
            return self._masking.apply(data, masked)
        if masked:
            return np.ma.MaskedArray(data, fill_value=self.fill_value, copy=False)
        if is_masked_array(data):
            if not self._source_masked and np.ma.getmask(data) is not np.ma.nomask \
                    and data.mask.any():
                # Filled, these points would enter results as data: a wrong
                # number that looks right. The adapter must be told to expect
                # masks, so that reductions run in masked mode.
                raise MaskedSourceError(
                    f"{type(self).__name__}: the source ({type(self._source).__name__}) "
                    f"returned masked points, but was wrapped as unmasked; wrap it with "
                    f"lazyarray.asarray(source, masked=True) so that its masks are honoured"
                )
            return data.filled(self.fill_value)
        return data

    #: What an adapter caches about reading its key.
    _KEY_CACHES: ClassVar[tuple[str, ...]] = ("_native_and_rest",)
    #: What a view's copy drops: what was true of its parent's key and graph.
    _VIEW_DROPS: ClassVar[tuple[str, ...]] = Array._GRAPH_CACHES + _KEY_CACHES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._VIEW_DROPS = cls._GRAPH_CACHES + cls._KEY_CACHES

    @cached_attribute
    def _native_and_rest(self) -> tuple[Key, Key | None]:
        """:attr:`key` split into what the source reads and what is taken in
        memory after (:func:`~lazyarray.indexing.decompose_key`); found once
        (adapters are immutable), as small evaluations read the same key again."""
        key = self._key
        # A hyperslab is read as it is (decompose_key's answer, at once).
        return (key, None) if is_hyperslab(key) else decompose_key(key, self._support())

    def _read_key(self, context: EvaluationContext) -> Any:
        """Read what :attr:`key` selects, as an ndarray (masked if the source is)."""
        if 0 in self._shape:
            data: Any = np.empty(self._shape, self._dtype)
        else:
            native, rest = self._native_and_rest
            try:
                if not hasattr(self._source, "__getitem__"):
                    raise TypeError(
                        f"the source ({type(self._source).__name__}) has no __getitem__ "
                        "to read with"
                    )
                for observer in _read_observers:  # none outside tests
                    observer(self, native)
                data = self._read(native, context)
                if not isinstance(data, np.ndarray):
                    data = np.asarray(data, dtype=self._dtype)
                elif data.dtype != self._dtype:
                    data = self._declared_dtype(data)
            except Exception as error:
                # Costs nothing unless raised; then the message says which
                # source, and which elements of it, out of thousands perhaps.
                wrapped = located(error, f"reading {self.describe_source()}, "
                                         f"{describe_elements(self._key, self.storage_chunks)}")
                if wrapped is None:
                    raise
                raise wrapped from error
            if rest is not None and not is_full(rest, data.shape):
                data = orthogonal_take(data, rest)
        return data

    def describe_source(self) -> str:
        """The source, in words for error messages: its file and dataset where it has them.

        Examples
        --------
        >>> from lazyarray.adapters import NumpyArrayAdapter
        >>> NumpyArrayAdapter(np.zeros(3)).describe_source()
        'a source of type ndarray'
        """
        return f"a source of type {type(self._source).__name__}"

    def _declared_dtype(self, data: np.ndarray) -> np.ndarray:
        """``data``, read as another dtype than the source declares, in the declared one.

        Only where every value survives the cast (float32 data from a float64
        source, say); otherwise graphs built on the declared dtype would
        compute on different numbers than the source's, so this raises.
        """
        if np.can_cast(data.dtype, self._dtype, "safe"):
            return data.astype(self._dtype)
        raise DTypeError(
            f"{type(self).__name__}: the source ({type(self._source).__name__}) declares "
            f"dtype {self._dtype} but returned {data.dtype} data, which that dtype cannot "
            "hold exactly (a reader that unpacks or scales values?); wrap a source whose "
            "dtype is what it returns"
        )

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f" source={type(self._source).__name__}>"
