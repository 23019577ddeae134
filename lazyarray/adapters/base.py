"""``ArrayAdapter``: a lazy view of a concrete source through one composed key.

An adapter holds its source and a normalised key. Indexing an adapter composes
keys and reads nothing. Reading splits the key (:func:`decompose_key`) into
what the source's library does natively and an in-memory rest, so every key
works on every source and reads stay within the selection's bounding box.

An adapter may also mask what it reads (:class:`Masking`): points equal to a
fill value or outside a valid range, the netCDF conventions that HDF5 and
Zarr adapters honour when asked (:func:`resolve_masking`).
"""

from __future__ import annotations

import abc
import copy
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..array import Array, default_fill_value
from ..errors import (
    DTypeError,
    FillValueError,
    IndexingError,
    MaskedSourceError,
    ShapeError,
    UnsupportedDTypeError,
    located,
)
from ..indexing import (
    Key,
    NativeSupport,
    compose_keys,
    decompose_key,
    is_full,
    key_shape,
    key_token,
    orthogonal_take,
    parse_key,
)
from ..tilecache import cached_read

__all__ = [
    "MASKING_ATTRIBUTES",
    "ArrayAdapter",
    "Masking",
    "declared_fill_value",
    "describe_elements",
    "refuse_unsupported_dtype",
    "resolve_masking",
    "same_value",
    "source_shape",
    "storable_value",
    "written_fill_value",
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


#: dtype kinds whose points can be masked by value: bool, integers, floats, complex.
_MASKABLE_KINDS = "buifc"


def storable_value(value: Any, dtype: Any, what: str, operation: str) -> Any:
    """``value`` as a numpy scalar of ``dtype``, refusing values it cannot hold.

    Integer dtypes take whole numbers within their range; float and complex
    dtypes take any number that does not overflow them (rounded to the
    nearest value of the dtype, as the data were when written).

    Parameters
    ----------
    value : scalar or one-element array
    dtype : numpy dtype
    what, operation : str
        What the value is and who asks, for error messages.

    Raises
    ------
    DTypeError
        If ``value`` is not one number, or ``dtype`` cannot hold it.

    Examples
    --------
    >>> storable_value(-9999, "int16", "fill_value", "demo")
    np.int16(-9999)
    >>> storable_value([1e20], "float32", "the _FillValue attribute", "demo")
    np.float32(1e+20)
    >>> storable_value(0.5, "int16", "fill_value", "demo")
    Traceback (most recent call last):
    ...
    lazyarray.errors.FillValueError: demo: fill_value 0.5 is not a value of dtype int16 (not a whole number)
    """
    dtype = np.dtype(dtype)
    values = np.asarray(value)
    if values.size != 1 or values.dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: {what} must be one number, found {value!r}"
            + (f" of dtype {values.dtype}" if values.size == 1 else f" with {values.size} values")
        )
    if dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: masking by value needs a bool, integer, float or complex dtype, "
            f"found {dtype}"
        )
    item = values.reshape(()).item()
    shown = f"{operation}: {what} {item!r} is not a value of dtype {dtype}"
    if isinstance(item, complex) and dtype.kind != "c":
        if item.imag:
            raise FillValueError(f"{shown} (a complex number)")
        item = item.real
    if dtype.kind == "b":
        if item not in (0, 1):
            raise FillValueError(f"{shown} (booleans are 0 or 1)")
        return np.bool_(item)
    if dtype.kind in "iu":
        if isinstance(item, float):
            if not (math.isfinite(item) and item.is_integer()):
                raise FillValueError(f"{shown} (not a whole number)")
            item = int(item)
        info = np.iinfo(dtype)
        if not info.min <= item <= info.max:
            raise FillValueError(f"{shown} (out of its range {info.min} to {info.max})")
        return dtype.type(item)
    try:
        with np.errstate(over="ignore"):
            stored = np.asarray(item, dtype=dtype)
    except OverflowError:  # Python ints too large even for float64
        stored = None
    was_infinite = isinstance(item, (float, complex)) and bool(np.isinf(item))
    if stored is None or (bool(np.isinf(stored)) and not was_infinite):
        raise FillValueError(f"{shown} (it overflows to infinity)")
    return stored[()]


def written_fill_value(value: Any, dtype: Any) -> Any:
    """What filling an array of ``dtype`` with ``value`` writes, as a scalar of ``dtype``.

    The cast of ``numpy.ma.MaskedArray.filled``: unsafe, so numpy.ma's default
    fill value 999999 becomes 63 in an ``int8`` array. Writers record this
    value, so that the file's metadata names what its masked points hold.

    Examples
    --------
    >>> written_fill_value(np.int64(999999), "int8"), written_fill_value(1e20, "float32")
    (np.int8(63), np.float32(1e+20))
    """
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(np.dtype(dtype))[()]


def same_value(a: Any, b: Any) -> bool:
    """``a == b`` for two scalars, NaN equal to NaN.

    Examples
    --------
    >>> same_value(np.float32("nan"), float("nan")), same_value(np.int8(1), 2)
    (True, False)
    """
    if bool(a == b):
        return True
    inexact = (float, complex, np.inexact)
    return isinstance(a, inexact) and isinstance(b, inexact) and bool(np.isnan(a) and np.isnan(b))


def _equal(data: np.ndarray, value: Any) -> np.ndarray:
    """Where ``data`` equals ``value``; where it is NaN, for a NaN ``value``."""
    if isinstance(value, (np.floating, np.complexfloating)) and np.isnan(value):
        return np.isnan(data)
    return np.asarray(data == value)


@dataclass(frozen=True)
class Masking:
    """Which points of a source an adapter masks, tested on each tile it reads.

    A point is masked when it equals :attr:`fill_value` (for a NaN fill
    value: when it is NaN) or any of :attr:`missing_values`, or lies below
    :attr:`valid_min` or above :attr:`valid_max`. Adapters get theirs from
    :func:`resolve_masking`.

    Attributes
    ----------
    fill_value : numpy scalar
        Of the source's dtype; also what masked points hold in ``ndarray()``.
    missing_values : tuple of numpy scalars
        More values that mark missing points (netCDF's ``missing_value``).
    valid_min, valid_max : int, float or None
        Bounds of the valid values, inclusive; ``None`` for no bound.

    Examples
    --------
    >>> m = Masking(np.float32(-1), valid_max=10.0)
    >>> m.mask(np.array([-1, 3, 12], "f4")).tolist()
    [True, False, True]
    >>> m.apply(np.array([-1, 3, 12], "f4"), masked=False).tolist()
    [-1.0, 3.0, -1.0]
    """

    fill_value: Any
    missing_values: tuple[Any, ...] = ()
    valid_min: Any = None
    valid_max: Any = None

    def mask(self, data: np.ndarray) -> np.ndarray:
        """A boolean array: where ``data`` is masked."""
        mask = _equal(data, self.fill_value)
        for value in self.missing_values:
            mask |= _equal(data, value)
        if self.valid_min is not None:
            mask |= data < self.valid_min
        if self.valid_max is not None:
            mask |= data > self.valid_max
        return mask

    def apply(self, data: np.ndarray, masked: bool) -> np.ndarray:
        """``data`` as a masked array, or (``masked`` false) with masked points filled.

        ``data`` is never changed: it may be a read shared by other results.
        """
        if masked:
            return np.ma.MaskedArray(data, mask=self.mask(data), fill_value=self.fill_value)
        if not self.missing_values and self.valid_min is None and self.valid_max is None:
            return data  # the only masked points already hold the fill value
        return np.where(self.mask(data), self.fill_value, data)


#: The attributes :func:`resolve_masking` reads (netCDF User Guide names).
MASKING_ATTRIBUTES = ("_FillValue", "missing_value", "valid_range", "valid_min", "valid_max")


def _attribute(attrs: Mapping[str, Any], name: str) -> np.ndarray | None:
    """The attribute ``name`` as a 1-D array, or ``None`` when absent."""
    if name not in attrs:
        return None
    return np.asarray(attrs[name]).ravel()


def _bound(value: Any, what: str, operation: str) -> int | float:
    """A bound of the valid range: one real number, not NaN, as a Python number."""
    values = np.asarray(value)
    if values.size != 1 or values.dtype.kind not in "iuf" or np.isnan(values).any():
        raise ValueError(f"{operation}: {what} must be one real number, found {value!r}")
    bound: int | float = values.reshape(()).item()
    return bound


def _valid_bounds(
    operation: str, attrs: Mapping[str, Any], valid_range: Any
) -> tuple[int | float | None, int | float | None]:
    """``(valid_min, valid_max)`` from the user's ``valid_range`` option and the attributes."""
    if valid_range is False:
        return None, None
    if valid_range is True:
        pair = _attribute(attrs, "valid_range")
        low = _attribute(attrs, "valid_min")
        high = _attribute(attrs, "valid_max")
        if pair is None:
            return (
                None if low is None else _bound(low, "the valid_min attribute", operation),
                None if high is None else _bound(high, "the valid_max attribute", operation),
            )
        if pair.size != 2:
            raise ValueError(
                f"{operation}: the valid_range attribute must hold 2 values (minimum, "
                f"maximum), found {pair.size}: {pair.tolist()}"
            )
        bounds = (
            _bound(pair[0], "the valid_range attribute's minimum", operation),
            _bound(pair[1], "the valid_range attribute's maximum", operation),
        )
        for name, given, bound in (("valid_min", low, bounds[0]), ("valid_max", high, bounds[1])):
            # The NUG forbids valid_min/valid_max beside valid_range; tolerate
            # them only when they say the same.
            if given is not None and _bound(given, f"the {name} attribute", operation) != bound:
                raise ValueError(
                    f"{operation}: the valid_range attribute {list(bounds)} and the {name} "
                    f"attribute {given.tolist()} disagree; pass valid_range=(minimum, maximum)"
                )
        return bounds
    try:
        if isinstance(valid_range, (str, bytes, Mapping)):
            raise TypeError
        low, high = valid_range
    except (TypeError, ValueError):
        raise TypeError(
            f"{operation}: valid_range must be True, False or a pair (minimum, maximum), "
            f"found {valid_range!r}"
        ) from None
    return (
        None if low is None else _bound(low, "valid_range's minimum", operation),
        None if high is None else _bound(high, "valid_range's maximum", operation),
    )


def declared_fill_value(
    operation: str, dtype: Any, attrs: Mapping[str, Any], own_fill_value: Any
) -> tuple[Any, tuple[Any, ...]]:
    """The fill value a source's metadata declares, and its other missing values.

    The fill value is the ``_FillValue`` attribute, else the first value of
    the ``missing_value`` attribute, else ``own_fill_value`` (the library's
    own; ``None`` if there is none to use), as scalars of ``dtype``. The
    other missing values are those of ``missing_value`` that differ from it.
    Both sides of saving use this: what a target declares is what reading it
    back will mask.

    Raises
    ------
    DTypeError
        For a declared value that ``dtype`` cannot hold.

    Examples
    --------
    >>> declared_fill_value("demo", "int16", {"missing_value": [-1, -2]}, 0)
    (np.int16(-1), (np.int16(-2),))
    >>> declared_fill_value("demo", "int16", {}, None)
    (None, ())
    """
    dtype = np.dtype(dtype)
    declared = _attribute(attrs, "_FillValue")
    listed = _attribute(attrs, "missing_value")
    try:
        missing = [
            storable_value(v, dtype, "a value of the missing_value attribute", operation)
            for v in (() if listed is None else listed)
        ]
        if declared is not None:
            fill = storable_value(declared, dtype, "the _FillValue attribute", operation)
        elif missing:
            fill = missing[0]
        elif own_fill_value is not None:
            fill = storable_value(own_fill_value, dtype, "the source's fill value", operation)
        else:
            return None, ()
    except FillValueError as error:
        raise FillValueError(f"{error}; pass fill_value= to choose the fill value") from None
    others: list[Any] = []
    for value in missing:
        if not same_value(value, fill) and not any(same_value(value, o) for o in others):
            others.append(value)
    return fill, tuple(others)


def resolve_masking(
    operation: str,
    dtype: Any,
    attrs: Mapping[str, Any],
    own_fill_value: Any,
    *,
    masked: bool = False,
    fill_value: Any = None,
    valid_range: bool | tuple[Any, Any] = False,
) -> Masking | None:
    """The :class:`Masking` a source's adapter applies, from the user's options and metadata.

    1. Without ``masked`` nothing is masked (``None``), and ``fill_value`` or
       ``valid_range`` are refused, since they would do nothing.
    2. The fill value is ``fill_value`` if given; else the ``_FillValue``
       attribute; else the first value of the ``missing_value`` attribute;
       else the source's own fill value (``own_fill_value``). Points equal to
       it are masked; a NaN fill value masks NaNs.
    3. Unless ``fill_value`` is given (it replaces what the metadata says),
       points equal to any value of ``missing_value`` are masked too, as
       netCDF readers do.
    4. With ``valid_range=True``, points below the minimum or above the
       maximum of the ``valid_range`` attribute, or below ``valid_min`` or
       above ``valid_max``, are masked (netCDF User Guide); attributes that
       are absent set no bound. A pair ``(minimum, maximum)`` gives the
       bounds instead (``None``: unbounded). Bounds are inclusive.

    Parameters
    ----------
    operation : str
        Who asks, for error messages.
    dtype : numpy dtype
        The source's dtype.
    attrs : mapping
        The source's attributes; only :data:`MASKING_ATTRIBUTES` are read.
    own_fill_value : scalar or None
        The library's own fill value of the source (HDF5 and Zarr have one).

    Raises
    ------
    TypeError
        For ``fill_value`` or ``valid_range`` without ``masked``, or a
        ``valid_range`` that is neither a bool nor a pair.
    DTypeError
        For a fill value (given or read) that ``dtype`` cannot hold, or a
        dtype that cannot be masked by value.
    ValueError
        For malformed or contradictory valid-range attributes or bounds.

    Examples
    --------
    >>> attrs = {"_FillValue": np.float32(-999), "valid_range": [0.0, 50.0]}
    >>> resolve_masking("demo", "float32", attrs, 0.0, masked=True, valid_range=True)
    Masking(fill_value=np.float32(-999.0), missing_values=(), valid_min=0.0, valid_max=50.0)
    >>> resolve_masking("demo", "int8", {}, 0, masked=True, fill_value=-1).fill_value
    np.int8(-1)
    >>> resolve_masking("demo", "int8", {}, 0, masked=True, fill_value=300)
    Traceback (most recent call last):
    ...
    lazyarray.errors.FillValueError: demo: fill_value 300 is not a value of dtype int8 (out of its range -128 to 127)
    """
    if not masked:
        if fill_value is not None or valid_range is not False:
            raise TypeError(
                f"{operation}: fill_value and valid_range apply only with masked=True; found "
                f"masked={masked!r}, fill_value={fill_value!r}, valid_range={valid_range!r}"
            )
        return None
    dtype = np.dtype(dtype)
    if dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: masking by value needs a bool, integer, float or complex dtype, "
            f"found {dtype}"
        )
    if fill_value is not None:
        fill = storable_value(fill_value, dtype, "fill_value", operation)
        others: tuple[Any, ...] = ()
    else:
        declared, others = declared_fill_value(operation, dtype, attrs, own_fill_value)
        if declared is None:
            raise DTypeError(
                f"{operation}: masked=True, but the source declares no fill value (no "
                f"_FillValue or missing_value attribute, no fill value of its own); pass "
                f"fill_value="
            )
        fill = declared
    low, high = _valid_bounds(operation, attrs, valid_range)
    if (low is not None or high is not None) and dtype.kind not in "iuf":
        raise DTypeError(
            f"{operation}: a valid range needs an integer or float dtype, found {dtype}"
        )
    if low is not None and high is not None and low > high:
        raise ValueError(f"{operation}: the valid range's minimum {low} exceeds its maximum {high}")
    return Masking(fill, tuple(others), low, high)


class ArrayAdapter(Array):
    """Base class of adapters: a concrete source seen through a key.

    Subclasses set :attr:`support` and implement :meth:`_read`.

    Parameters
    ----------
    source : object
        Anything with ``shape``, ``dtype`` and ``__getitem__``.
    keys : key, optional
        One key, as ``adapter[keys]`` would take it (Biggus's meaning: a tuple
        with an item per axis of ``source``, or a single item for the first
        axis): the adapter shows ``source[keys]``, indexed orthogonally.

    Raises
    ------
    TypeError
        If ``source`` lacks ``shape``, ``dtype`` or ``__getitem__``.
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
        for attribute in ("shape", "dtype", "__getitem__"):
            if not hasattr(source, attribute):
                raise TypeError(
                    f"{type(self).__name__}: source must have shape, dtype and "
                    f"__getitem__; {type(source).__name__} has no {attribute}"
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
        self._source_masked = isinstance(source, np.ma.MaskedArray)
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
        if isinstance(self._source, np.ma.MaskedArray):
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
        view = copy.copy(self)
        view._set_key(compose_keys(self._key, key))
        return view

    def _support(self) -> NativeSupport:
        """What this adapter's source indexes natively."""
        return self.support

    @abc.abstractmethod
    def _read(self, native: Key) -> Any:
        """Read ``native`` (a key :attr:`support` allows) from the source."""

    def _evaluate(self, masked: bool) -> np.ndarray:
        # Within one tile of an evaluation, results that need the same region
        # of the same source share one read.
        data = cached_read((id(self._source), key_token(self._key)), self._read_key)
        if self._masking is not None:
            # Masked per tile, after the shared read: adapters of one source
            # with different masking options still share it.
            return self._masking.apply(data, masked)
        if masked:
            return np.ma.MaskedArray(data, fill_value=self.fill_value, copy=False)
        if isinstance(data, np.ma.MaskedArray):
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

    def _read_key(self) -> Any:
        """Read what :attr:`key` selects, as an ndarray (masked if the source is)."""
        if 0 in self._shape:
            data: Any = np.empty(self._shape, self._dtype)
        else:
            native, rest = decompose_key(self._key, self._support())
            try:
                data = self._read(native)
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
            if not is_full(rest, data.shape):
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
