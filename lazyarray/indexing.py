"""Key algebra: normalise, compose and decompose orthogonal keys.

A *normalised key* for an array of shape ``shape`` is a tuple with one item per
axis, each one of:

* ``int`` in ``range(n)``: selects one position and drops the axis;
* ``range``: positions ``r[0], r[1], ...`` (a slice made exact, any step);
* a 1-D ``numpy.ndarray`` of ``intp`` in ``range(n)``: positions in any order,
  repeats allowed.

Items apply *orthogonally*: several index arrays select their outer product, as
netCDF4 and ``numpy.ix_`` do. ``None`` and ``Ellipsis`` are handled by
:func:`parse_key`, which also reports where new axes go.

Everything here is pure and cheap: no function reads data, and the cost of a
composition never depends on the size of the array.

Examples
--------
>>> key = normalise_key((slice(None, None, -1), [2, 0]), (5, 3))
>>> key
(range(4, -1, -1), array([2, 0]))
>>> key_shape(key)
(5, 2)
>>> compose_keys(key, normalise_key((slice(1, 3), 1), key_shape(key)))
(range(3, 1, -1), 0)
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

import numpy as np

from .errors import IndexingError

__all__ = [
    "Item",
    "Key",
    "NativeSupport",
    "ParsedKey",
    "basic_index",
    "compose_keys",
    "decompose_key",
    "full_key",
    "is_full",
    "is_hyperslab",
    "key_shape",
    "key_token",
    "normalise_key",
    "orthogonal_take",
    "parse_key",
    "sorted_union",
    "sorted_unique",
    "to_native",
]

Item: TypeAlias = int | range | np.ndarray
Key: TypeAlias = tuple[Item, ...]


def _describe(item: Any) -> str:
    return f"{type(item).__name__} {item!r}" if not isinstance(item, np.ndarray) else (
        f"{item.ndim}-d array of {item.dtype}"
    )


def _normalise_item(item: Any, length: int, axis: int) -> Item:
    """Normalise one user key item against an axis of ``length`` positions."""
    if isinstance(item, slice):
        return range(length)[item]
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(
            f"boolean scalar keys are not supported (axis {axis}); use a boolean "
            "sequence with one value per position"
        )
    if isinstance(item, numbers.Integral):
        index = operator.index(item)
        if not -length <= index < length:
            raise IndexingError(
                f"index {index} is out of range for axis {axis} with size {length}"
            )
        return index % length if length else index
    if isinstance(item, (list, tuple, range, np.ndarray)):
        values = np.asarray(item)
        if values.dtype == bool:
            if values.ndim != 1:
                raise TypeError(
                    f"boolean mask for axis {axis} must be 1-D, got {values.ndim}-D"
                )
            if values.shape[0] != length:
                raise IndexingError(
                    f"boolean mask of length {values.shape[0]} does not match axis "
                    f"{axis} with size {length}"
                )
            return np.flatnonzero(values)
        if values.size == 0 and values.ndim == 1 and values.dtype.kind in "fO":
            values = values.astype(np.intp)  # [] comes in as float64
        if values.dtype == object and values.ndim == 1 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
            for v in values.flat
        ):
            # Python ints too big for 64 bits make numpy fall back to an object
            # array: they are out of range of any axis, not of a wrong type.
            bad = next((v for v in values.flat if not -length <= v < length), None)
            if bad is not None:
                raise IndexingError(
                    f"index {bad} is out of range for axis {axis} with size {length}"
                )
            values = values.astype(np.intp)
        if values.dtype.kind not in "iu":
            raise TypeError(
                f"index arrays must hold integers or booleans, got {_describe(values)} "
                f"for axis {axis}"
            )
        if values.ndim == 0:
            return _normalise_item(int(values), length, axis)
        if values.ndim != 1:
            raise TypeError(
                f"index arrays must be 1-D (one per axis, applied orthogonally), got "
                f"a {values.ndim}-d array for axis {axis}"
            )
        # Check the range before casting to intp: a uint64 beyond intp's range
        # would wrap to a negative index (and a wrong number in the message).
        if values.size and (values.min() < -length or values.max() >= length):
            bad = values[(values < -length) | (values >= length)][0]
            raise IndexingError(
                f"index {bad} is out of range for axis {axis} with size {length}"
            )
        values = values.astype(np.intp, copy=False)
        return np.where(values < 0, values + length, values)
    raise TypeError(
        f"invalid key item {_describe(item)} for axis {axis}: expected an int, a "
        "slice, a 1-D integer or boolean sequence, None or Ellipsis"
    )


class ParsedKey(NamedTuple):
    """A user key split into a normalised key and the new axes it asks for.

    Attributes
    ----------
    key : Key
        One normalised item per axis of the indexed array.
    new_axes : tuple of int
        Positions, in the result, of the axes inserted by ``None``.
    """

    key: Key
    new_axes: tuple[int, ...]


def parse_key(key: Any, shape: Sequence[int]) -> ParsedKey:
    """Expand ``Ellipsis``, normalise each item and locate ``None`` axes.

    Parameters
    ----------
    key : object
        Anything accepted by ``array[key]``.
    shape : sequence of int
        The shape of the array being indexed.

    Returns
    -------
    ParsedKey

    Raises
    ------
    IndexingError
        For too many indices, more than one ``Ellipsis`` or an index out of range.
    TypeError
        For a float, string or multi-dimensional key item.

    Examples
    --------
    >>> parse_key((None, 1, ...), (3, 4))
    ParsedKey(key=(1, range(0, 4)), new_axes=(0,))
    >>> parse_key(5, (3,))
    Traceback (most recent call last):
    ...
    lazyarray.errors.IndexingError: index 5 is out of range for axis 0 with size 3
    """
    if type(key) is tuple and len(key) == len(shape):
        # One Python int per axis (x[i, j]): the common scalar access, at once.
        scalar: list[int] = []
        for item, length in zip(key, shape):
            if type(item) is not int or not -length <= item < length:
                break  # the general way, which says what is wrong
            scalar.append(item if item >= 0 else item + length)
        else:
            return ParsedKey(tuple(scalar), ())
    if type(key) is slice or type(key) is int:
        key = (key,)
    if type(key) is tuple and len(key) <= len(shape):
        # Ints and slices (x[:16, :8], x[3:5]): one pass, nothing to expand.
        basic: list[Item] = []
        for item, length in zip(key, shape):
            if type(item) is slice:
                basic.append(range(length)[item])
            elif type(item) is int and -length <= item < length:
                basic.append(item if item >= 0 else item + length)
            else:
                break  # the general way
        else:
            basic.extend([range(length) for length in shape[len(key):]])
            return ParsedKey(tuple(basic), ())
    items = list(key) if isinstance(key, tuple) else [key]
    ellipses = sum(1 for item in items if item is Ellipsis)
    if ellipses > 1:
        raise IndexingError("an index can only have a single ellipsis ('...')")
    consuming = sum(1 for item in items if item is not None and item is not Ellipsis)
    ndim = len(shape)
    if consuming > ndim:
        raise IndexingError(
            f"too many indices: array is {ndim}-dimensional, but {consuming} were indexed"
        )
    if ellipses:
        at = next(i for i, item in enumerate(items) if item is Ellipsis)
        items[at : at + 1] = [slice(None)] * (ndim - consuming)
    else:
        items.extend([slice(None)] * (ndim - consuming))
    normalised: list[Item] = []
    new_axes: list[int] = []
    out_axis = 0
    for item in items:
        if item is None:
            new_axes.append(out_axis)
            out_axis += 1
            continue
        axis = len(normalised)
        value = _normalise_item(item, shape[axis], axis)
        normalised.append(value)
        if not isinstance(value, int):
            out_axis += 1
    return ParsedKey(tuple(normalised), tuple(new_axes))


def normalise_key(key: Any, shape: Sequence[int]) -> Key:
    """Normalise a key that has no ``None`` (see :func:`parse_key`).

    Examples
    --------
    >>> normalise_key((-1, [True, False, True]), (2, 3))
    (1, array([0, 2]))
    """
    parsed = parse_key(key, shape)
    if parsed.new_axes:
        raise TypeError("normalise_key does not take None; use parse_key")
    return parsed.key


def full_key(shape: Sequence[int]) -> Key:
    """The key that selects everything of ``shape``.

    Examples
    --------
    >>> full_key((2, 3))
    (range(0, 2), range(0, 3))
    """
    return tuple(range(n) for n in shape)


def is_full(key: Key, shape: Sequence[int]) -> bool:
    """Whether ``key`` selects all of ``shape`` in order.

    Examples
    --------
    >>> is_full((range(3),), (3,)), is_full((range(2, -1, -1),), (3,))
    (True, False)
    """
    return all(
        isinstance(item, range) and item == range(n) for item, n in zip(key, shape)
    )


def key_shape(key: Key) -> tuple[int, ...]:
    """The shape of what ``key`` selects.

    Examples
    --------
    >>> key_shape((0, range(0, 10, 3), np.array([4, 4])))
    (4, 2)
    """
    return tuple([len(item) for item in key if not isinstance(item, int)])


def _compose_item(outer: range | np.ndarray, inner: Item) -> Item:
    if isinstance(inner, int):
        return int(outer[inner])
    if isinstance(outer, range):
        if isinstance(inner, range):
            # Exact arithmetic: the composition of two progressions is one.
            start = outer.start + inner.start * outer.step
            step = outer.step * inner.step
            return range(start, start + len(inner) * step, step)
        return outer.start + outer.step * inner
    if isinstance(inner, range):
        return outer[range_to_slice(inner)]
    return outer[inner]


def compose_keys(first: Key, second: Key) -> Key:
    """One key equal to applying ``first`` and then ``second``.

    ``first`` is normalised against the source; ``second`` against the shape
    that ``first`` selects. The result is normalised against the source.

    Examples
    --------
    >>> compose_keys((range(2, 10, 2), 1), (range(3, -1, -1),))
    (range(8, 0, -2), 1)
    >>> compose_keys((np.array([5, 1, 1]),), (range(0, 3, 2),))
    (array([5, 1]),)
    """
    rest = iter(second)
    return tuple([item if isinstance(item, int) else _compose_item(item, next(rest))
                  for item in first])


def range_to_slice(r: range) -> slice:
    """The slice that selects the positions of ``r``.

    Examples
    --------
    >>> range_to_slice(range(4, -1, -1))
    slice(4, None, -1)
    """
    if len(r) == 0:
        return slice(0, 0, 1)
    stop: int | None = r.stop
    if stop is not None and stop < 0:
        stop = None
    return slice(r.start, stop, r.step)


_EVERYTHING = slice(None)


def _basic_items(key: Key) -> tuple[tuple[Any, ...], bool]:
    """numpy's basic index for ``key`` (whole axes where it has index arrays),
    and whether it has index arrays."""
    basic: list[Any] = []
    arrays = False
    for item in key:  # a loop, not a generator: this runs for every read
        if isinstance(item, int):
            basic.append(item)
        elif isinstance(item, range):
            basic.append(slice(item.start, item.stop, item.step) if item.step > 0
                          else range_to_slice(item))
        else:
            basic.append(_EVERYTHING)
            arrays = True
    return tuple(basic), arrays


def basic_index(key: Key) -> tuple[Any, ...] | None:
    """The index that numpy's basic indexing takes for ``key`` (a view), or
    ``None`` if ``key`` holds index arrays.

    Examples
    --------
    >>> basic_index((2, range(0, 6, 2), range(3, -1, -1)))
    (2, slice(0, 6, 2), slice(3, None, -1))
    >>> basic_index((np.array([0, 2]),)) is None
    True
    """
    basic, arrays = _basic_items(key)
    return None if arrays else basic


def orthogonal_take(array: Any, key: Key) -> Any:
    """Apply a normalised key to an in-memory array, orthogonally.

    Basic items (ints and ranges) go first, giving a view; each index array
    then takes along its axis, so only the selection is copied.

    Examples
    --------
    >>> a = np.arange(12).reshape(3, 4)
    >>> orthogonal_take(a, (np.array([2, 0]), np.array([3, 3, 1]))).tolist()
    [[11, 11, 9], [3, 3, 1]]
    """
    basic, arrays = _basic_items(key)
    out = array[basic]
    if not arrays:
        return out
    axis = 0
    for item in key:
        if isinstance(item, int):
            continue
        if isinstance(item, np.ndarray):
            out = out.take(item, axis=axis)
        axis += 1
    return out


@dataclass(frozen=True)
class NativeSupport:
    """What indexing a storage library does natively.

    Attributes
    ----------
    negative_steps : bool
        Slices with a negative step.
    index_arrays : int or None
        How many axes may take an index array in one read (``None``: any).
    unsorted_arrays : bool
        Index arrays in any order, with repeats; otherwise strictly increasing.
    """

    negative_steps: bool
    index_arrays: int | None
    unsorted_arrays: bool

    #: numpy arrays, indexed in memory by :func:`orthogonal_take`.
    @classmethod
    def everything(cls) -> NativeSupport:
        return cls(negative_steps=True, index_arrays=None, unsorted_arrays=True)


def sorted_unique(values: Any) -> np.ndarray:
    """The distinct integers of ``values``, sorted: ``np.unique`` of integers.

    Not ``np.unique`` itself, which imports ``numpy.ma`` (about 40 ms, paid
    by the first plan of every process) to ask whether its input is masked.

    Examples
    --------
    >>> sorted_unique([3, 1, 3, 2]).tolist(), sorted_unique(np.array([], int)).tolist()
    ([1, 2, 3], [])
    """
    flat = np.sort(np.asarray(values).reshape(-1))
    if flat.size < 2:
        return flat
    keep = np.empty(flat.size, bool)
    keep[0] = True
    np.not_equal(flat[1:], flat[:-1], out=keep[1:])
    return flat[keep]


def sorted_union(first: Any, second: Any) -> np.ndarray:
    """``np.union1d`` of integers (see :func:`sorted_unique`).

    >>> sorted_union([4, 1], np.array([1, 2])).tolist()
    [1, 2, 4]
    """
    return sorted_unique(np.concatenate([np.asarray(first).reshape(-1),
                                         np.asarray(second).reshape(-1)]))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``; ``values`` itself when it is strictly increasing."""
    if values.size < 2 or bool((values[1:] > values[:-1]).all()):
        return values
    return sorted_unique(values)


def _progression(values: np.ndarray) -> range | None:
    """``values`` as an increasing range, when it is one."""
    if values.size == 1:
        return range(int(values[0]), int(values[0]) + 1)
    step = int(values[1] - values[0])
    if step > 0 and np.all(np.diff(values) == step):
        return range(int(values[0]), int(values[-1]) + 1, step)
    return None


def is_hyperslab(key: Key) -> bool:
    """Whether ``key`` holds only ints and ranges of positive step: what
    every library reads as it is (:func:`decompose_key` leaves it whole).

    Examples
    --------
    >>> is_hyperslab((3, range(0, 10, 2))), is_hyperslab((range(4, -1, -1),))
    (True, False)
    """
    for item in key:
        if type(item) is not int and (type(item) is not range or item.step <= 0):
            return False
    return True


def decompose_key(key: Key, support: NativeSupport) -> tuple[Key, Key]:
    """Split a key into what a library reads natively and an in-memory rest.

    Reading ``source[native]`` and applying ``rest`` with
    :func:`orthogonal_take` gives ``source[key]`` taken orthogonally. The
    native part never covers more than the key's bounding box, and stays
    close to the selection: negative steps are read forwards and reversed in
    memory, unsorted index arrays are read sorted and unique, and axes past
    the library's limit of index arrays are read as bounding slices, the
    sparsest axis keeping its index array.

    Parameters
    ----------
    key : Key
        A normalised key selecting at least one element.
    support : NativeSupport

    Returns
    -------
    native, rest : Key
        ``native`` is normalised against the source, with ranges of positive
        step; ``rest`` against the shape that ``native`` selects.

    Examples
    --------
    >>> h5py_like = NativeSupport(negative_steps=False, index_arrays=1,
    ...                           unsorted_arrays=False)
    >>> native, rest = decompose_key(
    ...     (np.array([5, 1, 1, 4]), range(8, -1, -2), np.array([3, 0, 1])), h5py_like)
    >>> native
    (array([1, 4, 5]), range(0, 10, 2), range(0, 4))
    >>> rest
    (array([2, 0, 0, 1]), range(4, -1, -1), array([3, 0, 1]))
    """
    if is_hyperslab(key):
        # The common case, every tile of an evaluation: a hyperslab that
        # every library reads as it is. Found first, for speed.
        return key, tuple([range(len(item)) for item in key if type(item) is range])
    # Each index array's sorted distinct positions, found once (most arrays
    # reaching here, a batch's rows say, are sorted already).
    uniques = {i: _sorted_unique(item) for i, item in enumerate(key)
               if isinstance(item, np.ndarray)}
    arrays: list[tuple[int, np.ndarray]] = [
        (i, unique) for i, unique in uniques.items() if _progression(unique) is None]
    keep_arrays: set[int] = {i for i, _ in arrays}
    if support.index_arrays is not None and len(arrays) > support.index_arrays:
        # Keep index arrays where they save the most reading: the sparsest axes.
        def sparsity(entry: tuple[int, np.ndarray]) -> float:
            values = entry[1]
            return float(values.max() - values.min() + 1) / values.size  # distinct already

        ranked = sorted(arrays, key=sparsity, reverse=True)
        keep_arrays = {i for i, _ in ranked[: support.index_arrays]}
    native: list[Item] = []
    rest: list[Item] = []
    for i, item in enumerate(key):
        if isinstance(item, int):
            native.append(item)
        elif isinstance(item, range):
            if item.step > 0 or support.negative_steps:
                native.append(item)
                rest.append(range(len(item)))
            else:
                forward = item[::-1]
                native.append(forward)
                rest.append(range(len(item) - 1, -1, -1))
        elif support.unsorted_arrays and i in keep_arrays:
            native.append(item)
            rest.append(range(item.size))
        else:
            unique = uniques[i]
            as_range = _progression(unique)
            read: range | np.ndarray
            if unique is item and (as_range is not None or i in keep_arrays):
                # Sorted and distinct already: read as it is (or as its range).
                native.append(item if as_range is None else as_range)
                rest.append(range(item.size))
                continue
            if as_range is not None:
                read = as_range
                positions = (item - as_range.start) // as_range.step
            elif i in keep_arrays:
                read = unique
                positions = np.searchsorted(unique, item)
            else:
                low = int(unique[0])
                read = range(low, int(unique[-1]) + 1)
                positions = item - low
            native.append(read)
            sorted_unique = positions.size == len(read) and bool(
                np.all(positions == np.arange(positions.size))
            )
            rest.append(range(positions.size) if sorted_unique else positions)
    return tuple(native), tuple(rest)


def key_token(key: Key) -> Hashable:
    """A hashable stand-in for a normalised key: equal keys give equal tokens.

    Examples
    --------
    >>> key_token((1, range(0, 4), np.array([2, 0]))) == key_token(
    ...     (1, range(0, 4), np.array([2, 0])))
    True
    """
    return tuple([(item.size, item.tobytes()) if isinstance(item, np.ndarray) else item
                  for item in key])


def to_native(key: Key) -> tuple[Any, ...]:
    """A normalised key as plain ``int``, ``slice`` and array items for a library.

    Examples
    --------
    >>> to_native((1, range(0, 6, 2), np.array([3, 4])))
    (1, slice(0, 6, 2), array([3, 4]))
    """
    return tuple(range_to_slice(item) if isinstance(item, range) else item for item in key)
