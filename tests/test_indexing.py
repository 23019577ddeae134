"""Tests of lazyarray.indexing: the key algebra, against numpy one axis at a time.

Every property compares with :func:`strategies.oindex`, which shares no code
with lazyarray. Tables pin down exact forms (``range`` vs arrays, new-axis
positions, error messages) that the properties leave free.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    KINDS,
    arrays,
    int_sequences,
    keys,
    normalised_keys,
    oindex,
    shapes,
)

from lazyarray import IndexingError
from lazyarray.indexing import (
    NativeSupport,
    ParsedKey,
    compose_keys,
    decompose_key,
    full_key,
    is_full,
    key_shape,
    normalise_key,
    orthogonal_take,
    parse_key,
    range_to_slice,
    to_native,
)

# -- helpers ------------------------------------------------------------------


def assert_normalised(key: Any, shape: tuple[int, ...]) -> None:
    """Fail unless ``key`` is in normal form for ``shape`` (see lazyarray.indexing)."""
    assert isinstance(key, tuple) and len(key) == len(shape), (key, shape)
    for item, n in zip(key, shape):
        if type(item) is int:
            assert 0 <= item < n, (item, n)
        elif isinstance(item, range):
            assert all(0 <= i < n for i in item), (item, n)
        else:
            assert isinstance(item, np.ndarray), item
            assert item.ndim == 1 and item.dtype == np.intp, (item.ndim, item.dtype)
            assert np.all((0 <= item) & (item < n)), (item, n)


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Fail unless two in-memory arrays agree in shape, dtype and values."""
    actual = np.asarray(actual)
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_array_equal(actual, expected)


def without_new_axes(key: Any) -> Any:
    """``key`` with its ``None`` items removed."""
    items = key if isinstance(key, tuple) else (key,)
    return tuple(item for item in items if item is not None)


def positions(item: Any) -> list[int]:
    """The positions a normalised item reads along its axis."""
    if isinstance(item, int):
        return [item]
    return [int(i) for i in item]


supports = st.builds(
    NativeSupport,
    negative_steps=st.booleans(),
    index_arrays=st.none() | st.integers(0, 3),
    unsorted_arrays=st.booleans(),
)


# -- parse_key, normalise_key -------------------------------------------------

#: (key, shape, normalised key, new axes)
PARSED = [
    (0, (3,), (0,), ()),
    (-1, (3,), (2,), ()),
    (np.int8(-3), (3,), (0,), ()),
    (slice(None), (3,), (range(3),), ()),
    (slice(None, None, -1), (3,), (range(2, -1, -1),), ()),
    (slice(5, -10, -2), (4,), (range(3, -1, -2),), ()),
    (slice(2, 1), (4,), (range(2, 1),), ()),
    ((), (2, 3), (range(2), range(3)), ()),
    (..., (2, 3), (range(2), range(3)), ()),
    ((..., 1), (2, 3), (range(2), 1), ()),
    ((1, ...), (2, 3), (1, range(3)), ()),
    ((1, ..., 2), (2, 3), (1, 2), ()),
    (None, (2,), (range(2),), (0,)),
    ((None, 1, ...), (3, 4), (1, range(4)), (0,)),
    ((1, None), (3, 4), (1, range(4)), (0,)),
    ((slice(None), None, 0, None), (3, 4), (range(3), 0), (1, 2)),
    ((..., None), (3, 4), (range(3), range(4)), (2,)),
    ((None, None), (), (), (0, 1)),
    ((0, None, 1), (2, 3), (0, 1), (0,)),
]


@pytest.mark.parametrize("key, shape, expected, new_axes", PARSED)
def test_parse_key(
    key: Any, shape: tuple[int, ...], expected: tuple, new_axes: tuple
) -> None:
    parsed = parse_key(key, shape)
    assert parsed == ParsedKey(expected, new_axes)
    assert all(type(a) is type(b) for a, b in zip(parsed.key, expected))


#: (key, shape, normalised array items)
PARSED_ARRAYS = [
    ([2, 0, 0], (3,), [2, 0, 0]),
    ((-1, 0), (3,), [2, 0]),
    (np.array([1, -1], np.int8), (3,), [1, 2]),
    (np.array([2], np.uint64), (3,), [2]),
    ([True, False, True], (3,), [0, 2]),
    (np.array([False] * 3), (3,), []),
    ([], (3,), []),
    ((), (0,), []),
    (np.array([], np.uint8), (0,), []),
    (range(2, 0, -1), (3,), [2, 1]),
]


@pytest.mark.parametrize("key, shape, expected", PARSED_ARRAYS)
def test_normalise_index_arrays(
    key: Any, shape: tuple[int, ...], expected: list
) -> None:
    (item,) = normalise_key((key,), shape)
    assert isinstance(item, np.ndarray) and item.dtype == np.intp
    assert item.tolist() == expected


@given(data=st.data())
def test_parse_key_matches_numpy(data: st.DataObject) -> None:
    array = data.draw(arrays(), label="array")
    key = data.draw(keys(array.shape), label="key")
    parsed = parse_key(key, array.shape)
    assert_normalised(parsed.key, array.shape)
    # The normalised key selects what the key does, and None goes where it says.
    selected = oindex(array, parsed.key)
    assert_same(selected, oindex(array, without_new_axes(key)))
    assert_same(np.expand_dims(selected, parsed.new_axes), oindex(array, key))
    items = key if isinstance(key, tuple) else (key,)
    assert len(parsed.new_axes) == sum(1 for item in items if item is None)
    assert key_shape(parsed.key) == selected.shape


def test_normalise_key_refuses_new_axes() -> None:
    with pytest.raises(TypeError, match="parse_key"):
        normalise_key((None, 0), (3,))


#: (key, shape, exception, message pattern)
INVALID = [
    (3, (3,), IndexingError, r"^index 3 is out of range for axis 0 with size 3$"),
    (0, (0,), IndexingError, r"^index 0 is out of range for axis 0 with size 0$"),
    (
        (0, -4),
        (1, 3),
        IndexingError,
        r"^index -4 is out of range for axis 1 with size 3$",
    ),
    (
        [0, 3, 9],
        (3,),
        IndexingError,
        r"^index 3 is out of range for axis 0 with size 3$",
    ),
    ([0], (0,), IndexingError, r"index 0 is out of range for axis 0 with size 0"),
    (
        (0, [-3]),
        (2, 2),
        IndexingError,
        r"index -3 is out of range for axis 1 with size 2",
    ),
    ([2**64], (3,), IndexingError, r"index 18446744073709551616 is out of range"),
    ([-(2**70)], (3,), IndexingError, r"index -1180591620717411303424 is out of range"),
    (
        np.array([2**64 - 1], np.uint64),
        (3,),
        IndexingError,
        r"index 18446744073709551615 ",
    ),
    (
        (0, 0),
        (3,),
        IndexingError,
        r"too many indices: array is 1-dimensional, but 2 were",
    ),
    (0, (), IndexingError, r"too many indices: array is 0-dimensional, but 1 were"),
    ((..., ...), (3,), IndexingError, r"single ellipsis"),
    ((None, ..., None, ...), (3,), IndexingError, r"single ellipsis"),
    (
        [True],
        (3,),
        IndexingError,
        r"mask of length 1 does not match axis 0 with size 3",
    ),
    (
        (0, [True] * 3),
        (1, 2),
        IndexingError,
        r"length 3 does not match axis 1 with size 2",
    ),
    (0.0, (3,), TypeError, r"float"),
    (np.float32(1), (3,), TypeError, r"float32"),
    ("0", (3,), TypeError, r"str"),
    ({0}, (3,), TypeError, r"set"),
    ([0.0], (3,), TypeError, r"integers or booleans"),
    (["a"], (3,), TypeError, r"integers or booleans"),
    ([[0]], (3,), TypeError, r"1-D"),
    (np.zeros((1, 1), int), (3,), TypeError, r"1-D"),
    (np.zeros((3, 1), bool), (3,), TypeError, r"1-D"),
    (True, (3,), TypeError, r"boolean scalar"),
    (np.False_, (3,), TypeError, r"boolean scalar"),
    (slice(0.5), (3,), TypeError, r"slice indices must be integers"),
    (slice(None, None, 0), (3,), ValueError, r"step"),
]


@pytest.mark.parametrize("key, shape, error, match", INVALID)
def test_parse_key_refuses(
    key: Any, shape: tuple[int, ...], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        parse_key(key, shape)


def test_indexing_error_is_an_index_error() -> None:
    assert issubclass(IndexingError, IndexError)


@given(data=st.data())
def test_out_of_range_ints_raise_naming_them(data: st.DataObject) -> None:
    shape = data.draw(shapes(min_dims=1), label="shape")
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    n = shape[axis]
    bad = data.draw(st.integers(n, 2**80) | st.integers(-(2**80), -n - 1), label="bad")
    item = [bad] if data.draw(st.booleans(), label="as_list") else bad
    key = (slice(None),) * axis + (item,)
    message = rf"index {bad} is out of range for axis {axis} with size {n}"
    with pytest.raises(IndexingError, match=message):
        parse_key(key, shape)


@given(data=st.data())
def test_out_of_range_entries_of_index_arrays_raise(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 5), label="n")
    good = data.draw(int_sequences(n), label="good")
    bad = data.draw(
        st.integers(n, 2**63 - 1) | st.integers(-(2**63), -n - 1), label="bad"
    )
    values = [int(v) for v in good] + [bad]
    where = data.draw(st.integers(0, len(values) - 1), label="where")
    values.insert(where, values.pop())
    item = np.array(values) if data.draw(st.booleans(), label="ndarray") else values
    with pytest.raises(IndexingError, match=rf"index {bad} is out of range for axis 0"):
        parse_key((item,), (n,))


@given(n=st.integers(0, 6), length=st.integers(0, 8))
def test_masks_of_the_wrong_length_raise(n: int, length: int) -> None:
    mask = np.ones(length, bool)
    if length == n:
        assert parse_key(mask, (n,)).key[0].tolist() == list(range(n))
    else:
        message = rf"length {length} does not match axis 0 with size {n}"
        with pytest.raises(IndexingError, match=message):
            parse_key(mask, (n,))


# -- key_shape, full_key, is_full, to_native ------------------------------------------


@pytest.mark.parametrize(
    "key, shape",
    [
        ((), ()),
        ((0,), ()),
        ((range(3),), (3,)),
        ((range(5, 5),), (0,)),
        ((0, range(0, 10, 3), np.array([4, 4])), (4, 2)),
        ((np.array([], np.intp), 1, range(2, -1, -1)), (0, 3)),
    ],
)
def test_key_shape(key: tuple, shape: tuple[int, ...]) -> None:
    assert key_shape(key) == shape


@given(array=arrays())
def test_full_key_selects_everything(array: np.ndarray) -> None:
    key = full_key(array.shape)
    assert_normalised(key, array.shape)
    assert is_full(key, array.shape)
    assert_same(oindex(array, key), array)


@pytest.mark.parametrize(
    "key, shape, full",
    [
        ((range(3),), (3,), True),
        ((), (), True),
        ((range(0),), (0,), True),
        ((range(2, -1, -1),), (3,), False),
        ((range(2),), (3,), False),
        ((np.arange(3),), (3,), False),
        ((0, range(2)), (1, 2), False),
    ],
)
def test_is_full(key: tuple, shape: tuple[int, ...], full: bool) -> None:
    assert is_full(key, shape) is full


@given(data=st.data())
def test_to_native_selects_the_same(data: st.DataObject) -> None:
    array = data.draw(arrays(), label="array")
    key = data.draw(normalised_keys(array.shape), label="key")
    native = to_native(key)
    assert all(isinstance(item, (int, slice, np.ndarray)) for item in native)
    assert_same(oindex(array, native), oindex(array, key))


# -- range_to_slice -----------------------------------------------------------

#: (range, slice) pairs, including the composed forms with far negative stops.
RANGES = [
    (range(4, -1, -1), slice(4, None, -1)),
    (range(3), slice(0, 3, 1)),
    (range(3, -3, -3), slice(3, None, -3)),
    (range(8, 0, -2), slice(8, 0, -2)),
    (range(2, 2), slice(0, 0, 1)),
    (range(7, 9, -1), slice(0, 0, 1)),
]


@pytest.mark.parametrize("r, expected", RANGES)
def test_range_to_slice(r: range, expected: slice) -> None:
    assert range_to_slice(r) == expected


@given(data=st.data())
def test_range_to_slice_selects_the_range(data: st.DataObject) -> None:
    # Ranges as compose_keys makes them: start + i * step for i < length, whatever
    # the stop (far below -1 for negative steps), all positions inside range(n).
    n = data.draw(st.integers(1, 20), label="n")
    start = data.draw(st.integers(0, n - 1), label="start")
    step = data.draw(st.integers(-25, 25).filter(bool), label="step")
    most = (n - 1 - start) // step + 1 if step > 0 else start // -step + 1
    length = data.draw(st.integers(0, most), label="length")
    r = range(start, start + length * step, step)
    assert np.arange(n)[range_to_slice(r)].tolist() == list(r)


# -- compose_keys ---------------------------------------------------------------

#: (first, second, composed)
COMPOSED = [
    ((range(2, 10, 2), 1), (range(3, -1, -1),), (range(8, 0, -2), 1)),
    ((np.array([5, 1, 1]),), (range(0, 3, 2),), (np.array([5, 1]),)),
    ((range(9, -1, -3),), (np.array([3, 0, 0]),), (np.array([0, 9, 9]),)),
    ((range(4, -1, -1),), (2,), (2,)),
    ((np.array([4, 2]), range(3)), (1, range(2, 0, -1)), (2, range(2, 0, -1))),
    ((range(3, 0, -1),), (range(2, -1, -1),), (range(1, 4, 1),)),
]


@pytest.mark.parametrize("first, second, expected", COMPOSED)
def test_compose_keys(first: tuple, second: tuple, expected: tuple) -> None:
    composed = compose_keys(first, second)
    assert len(composed) == len(expected)
    for item, want in zip(composed, expected):
        assert type(item) is type(want)
        assert list(np.atleast_1d(item)) == list(np.atleast_1d(want))


@given(data=st.data())
def test_compose_keys_composes(data: st.DataObject) -> None:
    array = data.draw(arrays(), label="array")
    first = data.draw(normalised_keys(array.shape), label="first")
    selected = oindex(array, first)
    second = data.draw(normalised_keys(selected.shape), label="second")
    composed = compose_keys(first, second)
    assert_normalised(composed, array.shape)
    assert_same(oindex(array, composed), oindex(selected, second))


@given(data=st.data())
def test_compose_user_keys(data: st.DataObject) -> None:
    # a[k1][k2] == a[compose(k1, k2)] for keys as users write them.
    array = data.draw(arrays(), label="array")
    key1 = data.draw(keys(array.shape, new_axes=False), label="key1")
    selected = oindex(array, key1)
    key2 = data.draw(keys(selected.shape, new_axes=False), label="key2")
    first = normalise_key(key1, array.shape)
    composed = compose_keys(first, normalise_key(key2, key_shape(first)))
    assert_same(oindex(array, composed), oindex(selected, key2))


# -- orthogonal_take ------------------------------------------------------------


@given(data=st.data())
def test_orthogonal_take_matches_numpy(data: st.DataObject) -> None:
    array = data.draw(arrays(), label="array")
    key = data.draw(normalised_keys(array.shape), label="key")
    assert_same(orthogonal_take(array, key), oindex(array, key))


# -- decompose_key ----------------------------------------------------------------

H5PY = NativeSupport(negative_steps=False, index_arrays=1, unsorted_arrays=False)
ZARR = NativeSupport(negative_steps=False, index_arrays=None, unsorted_arrays=True)

#: (key, support, native, rest)
DECOMPOSED = [
    (
        (np.array([5, 1, 1, 4]), range(8, -1, -2), np.array([3, 0, 1])),
        H5PY,
        (np.array([1, 4, 5]), range(0, 10, 2), range(4)),
        (np.array([2, 0, 0, 1]), range(4, -1, -1), np.array([3, 0, 1])),
    ),
    ((range(4, -1, -1),), NativeSupport.everything(), (range(4, -1, -1),), (range(5),)),
    ((range(4, -1, -1),), ZARR, (range(5),), (range(4, -1, -1),)),
    ((np.array([4, 2, 0]),), H5PY, (range(0, 5, 2),), (np.array([2, 1, 0]),)),
    ((np.array([1, 3, 5]),), H5PY, (range(1, 6, 2),), (range(3),)),
    ((np.array([3, 3]),), H5PY, (range(3, 4),), (np.array([0, 0]),)),
    ((np.array([3, 0, 7]), 2), ZARR, (np.array([3, 0, 7]), 2), (range(3),)),
    (
        (np.array([0, 1, 9]), np.array([2, 3, 4, 0])),
        H5PY,
        (np.array([0, 1, 9]), range(5)),
        (range(3), np.array([2, 3, 4, 0])),
    ),
]


def _item_values(item: Any) -> Any:
    """A comparable form of a key item: ints stay, ranges and arrays become lists."""
    return (
        item if isinstance(item, int) else (type(item).__name__, [int(i) for i in item])
    )


@pytest.mark.parametrize("key, support, native, rest", DECOMPOSED)
def test_decompose_key(
    key: tuple, support: NativeSupport, native: tuple, rest: tuple
) -> None:
    got_native, got_rest = decompose_key(key, support)
    assert [_item_values(i) for i in got_native] == [_item_values(i) for i in native]
    assert [_item_values(i) for i in got_rest] == [_item_values(i) for i in rest]


@given(data=st.data())
def test_decompose_key_reads_natively_then_in_memory(data: st.DataObject) -> None:
    array = data.draw(arrays(shape=shapes(min_side=1)), label="array")
    key = data.draw(normalised_keys(array.shape), label="key")
    support = data.draw(supports, label="support")
    assume(0 not in key_shape(key))  # adapters never read an empty selection
    native, rest = decompose_key(key, support)
    assert_normalised(native, array.shape)
    read = oindex(array, native)
    assert_normalised(rest, read.shape)
    assert_same(orthogonal_take(read, rest), oindex(array, key))
    # What the library is asked for is what it can do.
    arrays_read = [item for item in native if isinstance(item, np.ndarray)]
    if support.index_arrays is not None:
        assert len(arrays_read) <= support.index_arrays
    if not support.negative_steps:
        assert all(item.step > 0 for item in native if isinstance(item, range))
    if not support.unsorted_arrays:
        assert all(np.all(np.diff(item) > 0) for item in arrays_read)
    # And it stays within the key's bounding box, reading each position at most once
    # unless the library takes repeats.
    for item, wanted in zip(native, key):
        got, want = positions(item), positions(wanted)
        assert min(want) <= min(got) and max(got) <= max(want)
        if not support.unsorted_arrays or not isinstance(item, np.ndarray):
            assert len(set(got)) == len(got)


def test_decompose_key_keeps_the_sparsest_index_arrays() -> None:
    dense = np.array([0, 1, 2, 4])  # bounding range 5 for 4 positions
    sparse = np.array([0, 50, 99])  # bounding range 100 for 3
    native, _ = decompose_key((dense, sparse), H5PY)
    assert isinstance(native[0], range) and native[0] == range(5)
    assert isinstance(native[1], np.ndarray) and native[1].tolist() == [0, 50, 99]


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_each_kind_on_every_axis(kind: str, data: st.DataObject) -> None:
    # Ints cannot index a zero-length axis: slices stand in there.
    kinds = [kind, "slice"] if kind == "int" else [kind]
    array = data.draw(arrays(), label="array")
    key = data.draw(keys(array.shape, kinds=kinds), label="key")
    parsed = parse_key(key, array.shape)
    taken = np.expand_dims(orthogonal_take(array, parsed.key), parsed.new_axes)
    assert_same(taken, oindex(array, key))
