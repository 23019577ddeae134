"""Hypothesis strategies for lazyarray's tests, and the numpy oracle they check against.

Import them from any test module (pytest puts ``tests/`` on ``sys.path``)::

    from strategies import arrays, keys, oindex

* :func:`dtypes`, :func:`shapes` and :func:`arrays` draw sources: 0 to 4
  dimensions, zero-length axes included, every dtype lazyarray promises.
* :func:`int_items`, :func:`slice_items`, :func:`int_sequences`,
  :func:`bool_masks` draw one key item of each kind for an axis of a given
  length; :func:`keys` draws a whole key for a shape (with ``Ellipsis``,
  ``None`` and omitted trailing axes); :func:`normalised_keys` draws keys
  in the form of :mod:`lazyarray.indexing`.
* :func:`oindex` is the reference result: numpy, one axis at a time, written
  without any of lazyarray's code so that it can judge it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "DTYPES",
    "KINDS",
    "arrays",
    "bool_masks",
    "dtypes",
    "int_items",
    "int_sequences",
    "key_items",
    "keys",
    "normalised_keys",
    "oindex",
    "shapes",
    "slice_items",
]

#: Every dtype lazyarray promises to index exactly.
DTYPES = tuple(
    np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
        "complex128",
    )
)

#: The kinds of key item :func:`key_items` draws.
KINDS = ("int", "slice", "int_sequence", "bool_mask")

_INDEX_DTYPES = tuple(
    np.dtype(name)
    for name in ("int8", "int16", "int32", "int64", "uint8", "uint32", "uint64")
)


# -- oracle -------------------------------------------------------------------


def oindex(array: Any, key: Any) -> np.ndarray:
    """numpy's result of indexing ``array`` by ``key`` orthogonally.

    Applies the items one axis at a time: an integer takes (and drops the
    axis), a slice slices, a sequence of integers ``np.take`` s, a boolean
    sequence ``np.compress`` es, ``None`` inserts an axis with
    ``np.expand_dims`` and ``Ellipsis`` stands for the full slices the key
    leaves out. ``range`` items (normalised keys) are taken like sequences.
    Deliberately shares no code with lazyarray, so it can judge it; it does
    not validate keys.

    Examples
    --------
    >>> a = np.arange(12).reshape(3, 4)
    >>> oindex(a, ([2, 0], None, [True, False, False, True])).tolist()
    [[[8, 11]], [[0, 3]]]
    >>> oindex(a, (..., -1)).tolist()
    [3, 7, 11]
    """
    array = np.asarray(array)
    items = list(key) if isinstance(key, tuple) else [key]
    consuming = sum(1 for item in items if item is not None and item is not Ellipsis)
    missing = [slice(None)] * (array.ndim - consuming)
    at = next((i for i, item in enumerate(items) if item is Ellipsis), None)
    items = items + missing if at is None else items[:at] + missing + items[at + 1 :]
    out, axis = array, 0
    for item in items:
        if item is None:
            out = np.expand_dims(out, axis)
            axis += 1
        elif isinstance(item, slice):
            out = out[(slice(None),) * axis + (item,)]
            axis += 1
        elif isinstance(item, (int, np.integer)) and not isinstance(
            item, (bool, np.bool_)
        ):
            out = np.take(out, item, axis=axis)
        else:
            values = np.asarray(item)
            if values.dtype == bool:
                out = np.compress(values, out, axis=axis)
            else:
                out = np.take(out, values.astype(np.intp), axis=axis)
            axis += 1
    return np.asarray(out, dtype=array.dtype)


# -- sources ------------------------------------------------------------------


def dtypes() -> st.SearchStrategy[np.dtype]:
    """One of :data:`DTYPES`."""
    return st.sampled_from(DTYPES)


def shapes(
    min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 5
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes; zero-length axes are drawn when ``min_side`` is 0."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def _distinct(shape: tuple[int, ...], dtype: np.dtype, start: int) -> np.ndarray:
    """Values that differ from their neighbours, so a misplaced element shows."""
    values = np.arange(start, start + int(np.prod(shape)), dtype=np.int64)
    if dtype == bool:
        data = values % 3 == 1
    elif dtype.kind == "c":
        data = values + 1j * values[::-1] if values.size else values.astype(dtype)
    else:
        data = values
    return np.asarray(data).astype(dtype).reshape(shape)


@st.composite
def arrays(
    draw: st.DrawFn,
    dtype: np.dtype | st.SearchStrategy[np.dtype] | None = None,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
) -> np.ndarray:
    """Arrays of :func:`dtypes` and :func:`shapes` (or the given ones).

    Mostly distinct values (a shifted ``arange``, wrapped for small integer
    types), sometimes hypothesis's arbitrary values (NaN and inf included).
    """
    if dtype is None:
        dtype = dtypes()
    if isinstance(dtype, st.SearchStrategy):
        dtype = draw(dtype)
    dtype = np.dtype(dtype)
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    if draw(st.integers(0, 3)) == 0:
        return draw(hnp.arrays(dtype, shape))
    return _distinct(tuple(shape), dtype, draw(st.integers(-1000, 1000)))


# -- key items ----------------------------------------------------------------


def int_items(length: int) -> st.SearchStrategy[int]:
    """Integers in range for an axis of ``length`` (negative too); Python or numpy."""
    if length == 0:
        return st.nothing()
    values = st.integers(-length, length - 1)
    return values | values.map(np.int64) | values.map(np.intp)


def slice_items(length: int) -> st.SearchStrategy[slice]:
    """Slices of any step (negative and empty too), bounds past the ends included."""
    bound = st.none() | st.integers(-length - 3, length + 3)
    step = st.none() | st.integers(-length - 2, length + 2).filter(bool)
    return st.builds(slice, bound, bound, step)


def _index_dtypes(values: Sequence[int]) -> list[np.dtype]:
    """Integer dtypes that hold every one of ``values``."""
    low, high = (min(values), max(values)) if values else (0, 0)
    return [
        dtype
        for dtype in _INDEX_DTYPES
        if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max
    ]


@st.composite
def int_sequences(
    draw: st.DrawFn, length: int, min_size: int = 0, max_size: int | None = None
) -> Any:
    """1-D integer sequences for an axis of ``length``: lists, tuples or ndarrays.

    Any order, repeats and negative positions included; empty when the axis is.
    """
    if length == 0:
        values: list[int] = []
    else:
        size = max_size if max_size is not None else 2 * length + 1
        values = draw(
            st.lists(st.integers(-length, length - 1), min_size=min_size, max_size=size)
        )
    form = draw(st.sampled_from(["list", "tuple", "ndarray"]))
    if form == "list":
        return values
    if form == "tuple":
        return tuple(values)
    return np.array(values, dtype=draw(st.sampled_from(_index_dtypes(values))))


@st.composite
def bool_masks(draw: st.DrawFn, length: int) -> Any:
    """1-D boolean masks of ``length`` values, as a list or an ndarray."""
    values = draw(st.lists(st.booleans(), min_size=length, max_size=length))
    return values if draw(st.booleans()) else np.array(values, dtype=bool)


def key_items(length: int, kinds: Sequence[str] = KINDS) -> st.SearchStrategy[Any]:
    """One key item of the given ``kinds`` (see :data:`KINDS`) for an axis of ``length``."""
    return _key_items(length, tuple(kinds))


@functools.cache
def _key_items(length: int, kinds: tuple[str, ...]) -> st.SearchStrategy[Any]:
    # Cached: building strategies anew for every draw costs more than drawing.
    strategies = {
        "int": int_items,
        "slice": slice_items,
        "int_sequence": int_sequences,
        "bool_mask": bool_masks,
    }
    return st.one_of([strategies[kind](length) for kind in kinds])


@st.composite
def keys(
    draw: st.DrawFn,
    shape: Sequence[int],
    kinds: Sequence[str] = KINDS,
    new_axes: bool = True,
    ellipsis: bool = True,
) -> Any:
    """Keys for an array of ``shape``: one item per axis of the given ``kinds``.

    Sometimes a run of axes (possibly none) is replaced by ``Ellipsis`` or
    trailing axes are left out; with ``new_axes``, up to two ``None`` go
    anywhere. A key with one item is sometimes given bare, as ``x[item]``.
    """
    items: list[Any] = [draw(key_items(n, kinds)) for n in shape]
    layout = draw(
        st.sampled_from(
            ["full", "ellipsis", "short"] if ellipsis else ["full", "short"]
        )
    )
    if layout == "ellipsis":
        start = draw(st.integers(0, len(items)))
        stop = draw(st.integers(start, len(items)))
        items[start:stop] = [Ellipsis]
    elif layout == "short":
        items = items[: draw(st.integers(0, len(items)))]
    if new_axes:
        for _ in range(draw(st.integers(0, 2))):
            items.insert(draw(st.integers(0, len(items))), None)
    if len(items) == 1 and not isinstance(items[0], tuple) and draw(st.booleans()):
        return items[0]
    return tuple(items)


@st.composite
def normalised_keys(
    draw: st.DrawFn, shape: Sequence[int], kinds: Sequence[str] = KINDS
) -> tuple:
    """Keys in :mod:`lazyarray.indexing`'s normal form for ``shape``.

    One item per axis: an ``int`` in ``range(n)``, a ``range`` of positions
    in ``range(n)`` (any step) or a 1-D ``intp`` array of positions.
    """
    key: list[Any] = []
    for n in shape:
        choices = [kind for kind in kinds if n or kind != "int"]
        kind = draw(st.sampled_from(choices))
        if kind == "int":
            key.append(draw(st.integers(0, n - 1)))
        elif kind == "slice":
            key.append(range(n)[draw(slice_items(n))])
        elif kind == "bool_mask":
            key.append(np.flatnonzero(draw(bool_masks(n))))
        else:
            values = draw(int_sequences(n))
            key.append(np.asarray(values, dtype=np.intp) % max(n, 1))
    return tuple(key)


#: Tile budgets for realisation: tiny (many tiles) to the default (one tile).
CHUNK_BYTES = st.sampled_from([8, 64, 32 * 2**20])


def check_indexing(data: st.DataObject, lazy: Any, expected: np.ndarray) -> None:
    """``lazy[k1]`` and ``lazy[k1][k2]`` equal numpy's orthogonal indexing of ``expected``."""
    import lazyarray as la
    from lazyarray.testing import assert_array_equal

    k1 = data.draw(keys(lazy.shape), label="k1")
    once = oindex(expected, k1)
    k2 = data.draw(keys(once.shape), label="k2")
    with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES, label="chunk_bytes")):
        assert_array_equal(lazy[k1], once)
        assert_array_equal(lazy[k1][k2], oindex(once, k2))
