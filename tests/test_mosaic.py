"""Tests for :mod:`lazyarray.mosaic`: ``LinearMosaic``, ``ArrayStack``,
``concatenate`` and ``stack`` against ``np.concatenate`` and ``np.stack``.

Every comparison checks values, shape and dtype (``assert_array_equal``);
indexing is judged by the numpy oracle ``strategies.oindex`` (orthogonal
indexing, one axis at a time).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import CHUNK_BYTES, DTYPES, arrays, check_indexing, key_items, keys, oindex, shapes

import lazyarray as la
from lazyarray.testing import CountingArray, InaccessibleArray, assert_array_equal

# Chunk sizes for realisation: tiny ones cut results into many tiles, so the
# tiler indexes mosaics at every possible boundary.


# -- strategies -----------------------------------------------------------------


def object_array(members: list[Any], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An object ndarray holding ``members`` (np.array would iterate into them)."""
    out = np.empty(len(members), dtype=object)
    for i, member in enumerate(members):
        out[i] = member
    return out if shape is None else out.reshape(shape)


@st.composite
def containers(draw: st.DrawFn, members: list[Any]) -> Any:
    """``members`` as a list, a tuple or a 1-D object ndarray."""
    form = draw(st.sampled_from(["list", "tuple", "object"]))
    if form == "list":
        return list(members)
    if form == "tuple":
        return tuple(members)
    return object_array(members)


@st.composite
def cuts(draw: st.DrawFn, length: int, max_tiles: int = 4) -> list[int]:
    """Sorted split points in ``0..length``; repeats make zero-length tiles."""
    return sorted(draw(st.lists(st.integers(0, length), max_size=max_tiles - 1)))


@st.composite
def lazy_forms(draw: st.DrawFn, array: np.ndarray, depth: int = 1) -> Any:
    """``array`` as an ndarray, an adapter, or (``depth`` permitting) a mosaic of
    its pieces along a random axis, themselves in any of these forms."""
    forms = ["ndarray", "adapter"] + (["mosaic"] if depth and array.ndim else [])
    form = draw(st.sampled_from(forms))
    if form == "ndarray":
        return array
    if form == "adapter":
        return la.asarray(array)
    axis = draw(st.integers(-array.ndim, array.ndim - 1))
    pieces = np.split(array, draw(cuts(array.shape[axis])), axis=axis)
    return la.LinearMosaic([draw(lazy_forms(p, depth - 1)) for p in pieces], axis)


@st.composite
def tilings(draw: st.DrawFn, depth: int = 1) -> tuple[np.ndarray, int, list[Any]]:
    """(whole array, axis, tiles): tiles along ``axis`` that concatenate to it."""
    whole = draw(arrays(shape=shapes(min_dims=1)))
    axis = draw(st.integers(-whole.ndim, whole.ndim - 1))
    pieces = np.split(whole, draw(cuts(whole.shape[axis])), axis=axis)
    return whole, axis, [draw(lazy_forms(p, depth)) for p in pieces]


# -- LinearMosaic -------------------------------------------------------------------


@given(tilings(), st.data())
def test_linear_mosaic_equals_concatenate(tiling, data):
    whole, axis, tiles = tiling
    mosaic = la.LinearMosaic(data.draw(containers(tiles)), axis)
    assert mosaic.axis == axis % whole.ndim
    assert len(mosaic.tiles) == len(tiles)
    with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES)):
        assert_array_equal(mosaic, whole)


@given(tilings(), st.data())
def test_linear_mosaic_indexing_equals_numpy(tiling, data):
    whole, axis, tiles = tiling
    check_indexing(data, la.LinearMosaic(tiles, axis), whole)


@given(st.data())
def test_mosaic_of_mosaics(data):
    """Tiles that are mosaics (along the same or another axis) of mosaics."""
    whole, axis, tiles = data.draw(tilings(depth=2))
    mosaic = la.LinearMosaic(tiles, axis)
    assert_array_equal(mosaic, whole)
    check_indexing(data, mosaic, whole)


@pytest.mark.parametrize(
    "key",
    [
        np.s_[::-1],
        np.s_[7:0:-3],
        np.s_[-1:-9:-2, ::-1],
        np.s_[[9, 0, 4, 4, 5, 3]],
        np.s_[[True, False] * 5, [2, 0]],
        np.s_[4:6],  # exactly the boundary between tiles 1 and 2
        np.s_[5],
        np.s_[None, 3:7, ..., None],
    ],
)
def test_linear_mosaic_keys_crossing_tiles(key):
    whole = np.arange(30.0).reshape(10, 3)
    tiles = [whole[:2], whole[2:5], whole[5:5], whole[5:9], whole[9:]]
    assert_array_equal(la.LinearMosaic(tiles, 0)[key], oindex(whole, key))


def test_linear_mosaic_all_tiles_empty():
    mosaic = la.LinearMosaic([np.zeros((0, 2), "i2")] * 3, axis=0)
    assert_array_equal(mosaic, np.zeros((0, 2), "i2"))
    assert_array_equal(mosaic[::-1, 1], np.zeros(0, "i2"))


def test_linear_mosaic_masked_tiles():
    tiles = [
        np.ma.masked_array([[1, 2]], mask=[[0, 1]], fill_value=-9),
        np.ma.masked_array([[3, 4], [5, 6]], mask=[[1, 0], [0, 0]], fill_value=-9),
    ]
    mosaic = la.LinearMosaic(tiles, axis=0)
    expected = np.ma.concatenate(tiles, axis=0)
    assert_array_equal(mosaic, expected)
    assert_array_equal(mosaic[::-1, [1, 1, 0]], expected[::-1][:, [1, 1, 0]])
    assert mosaic.fill_value == -9
    assert_array_equal(mosaic.ndarray(), expected.filled(-9))


@given(tilings(depth=0), st.data())
def test_masked_mosaics_and_stacks_equal_numpy_ma(tiling, data):
    whole, axis, _ = tiling
    whole = np.ma.masked_array(whole, mask=data.draw(arrays(dtype=bool, shape=whole.shape)))
    pieces = np.split(whole, data.draw(cuts(whole.shape[axis])), axis=axis)
    mosaic = la.LinearMosaic(pieces, axis)
    with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES)):
        assert_array_equal(mosaic, np.ma.concatenate(pieces, axis=axis))
        assert_array_equal(la.ArrayStack(pieces[:1] * 2), np.ma.stack(pieces[:1] * 2))
        key = data.draw(keys(mosaic.shape))
        assert_array_equal(mosaic[key], np.ma.masked_array(
            oindex(whole.data, key), mask=oindex(np.ma.getmaskarray(whole), key)))


@pytest.mark.parametrize(
    "fill_values, expected",
    [((-9, -9), -9), ((-9, 5), np.ma.default_fill_value(np.dtype("i4"))), ((None, None), None)],
)
def test_mosaic_fill_value_is_the_tiles_common_one(fill_values, expected):
    """The node's fill value is the tiles' when they agree (numpy's default if
    not); ``ndarray()`` fills every masked point with the node's fill value."""
    tiles = [np.ma.masked_array(np.arange(2, dtype="i4"), mask=[1, 0], fill_value=f)
             for f in fill_values]
    expected = tiles[0].fill_value if expected is None else expected
    for node in (la.LinearMosaic(tiles, 0), la.ArrayStack(tiles), la.concatenate(tiles)):
        assert node.fill_value == expected
        assert node.masked_array().fill_value == expected
        filled = np.stack([t.filled(node.fill_value) for t in tiles]).reshape(node.shape)
        assert_array_equal(node, filled)
        assert_array_equal(node[..., ::-1], filled[..., ::-1])


# -- reading only the tiles a selection touches ------------------------------------------


SHAPE = (4, 6, 5)  # the middle tile of the mosaics below; the other two are not read


def outer_tiles(axis: int, kind: Any) -> list[Any]:
    """The tiles either side of the middle one: lengths 2 and 3 along ``axis``."""
    shapes_ = [list(SHAPE), list(SHAPE)]
    shapes_[0][axis], shapes_[1][axis] = 2, 3
    return [kind(tuple(shape)) for shape in shapes_]


def global_item(item: Any, offset: int, length: int, total: int) -> Any:
    """A key item for tile-local positions, as positions in the whole mosaic."""
    if isinstance(item, (int, np.integer)):
        return int(item) % length + offset
    if isinstance(item, slice):
        local = range(length)[item]
        stop = local.stop + offset
        return slice(local.start + offset, None if stop < 0 else stop, local.step)
    values = np.asarray(item)
    if values.dtype == bool:
        mask = np.zeros(total, bool)
        mask[offset : offset + length] = values
        return mask
    return values.astype(np.intp) % length + offset


def selects_something(item: Any, length: int) -> bool:
    return np.size(oindex(np.arange(length), (item,))) > 0


@given(st.integers(-3, 2), st.data())
def test_selection_inside_one_tile_reads_no_other_tile(axis, data):
    whole = np.arange(math.prod(SHAPE), dtype="f8").reshape(SHAPE)
    local = [data.draw(key_items(n)) for n in SHAPE]
    # Selecting nothing along the mosaic axis involves no tile at all.
    local[axis] = data.draw(key_items(SHAPE[axis]).filter(
        lambda item: selects_something(item, SHAPE[axis])))
    key = list(local)
    key[axis] = global_item(local[axis], 2, SHAPE[axis], SHAPE[axis] + 5)
    expected = oindex(whole, tuple(local))

    before, after = outer_tiles(axis, lambda shape: InaccessibleArray(shape, "f8"))
    assert_array_equal(la.LinearMosaic([before, whole, after], axis)[tuple(key)], expected)

    before, after = outer_tiles(axis, lambda shape: CountingArray(np.zeros(shape)))
    mosaic = la.LinearMosaic([before, CountingArray(whole), after], axis)
    assert_array_equal(mosaic[tuple(key)], expected)
    assert (before.reads, after.reads) == (0, 0)


@pytest.mark.parametrize(
    "key",
    [np.s_[2,], np.s_[1:3,], np.s_[2:0:-1,], np.s_[[2, 0, 0, 1],], np.s_[:, 2:3],
     np.s_[..., ::-1], np.s_[None, 1, [True, False, True, True]]],
)
def test_selection_inside_stacked_member_reads_no_other_member(key):
    readable = np.arange(12, dtype="i4").reshape(3, 4)
    members = [InaccessibleArray((3, 4), "i4") for _ in range(6)]
    members[4] = readable
    expected = oindex(readable, key)
    assert_array_equal(la.ArrayStack(members)[(4,) + key], expected)
    assert_array_equal(la.ArrayStack(members)[(-2,) + key], expected)
    grid = la.ArrayStack.multidim_array_stack(members, (2, 3))
    assert_array_equal(grid[(1, 1) + key], expected)
    assert_array_equal(grid[1, 1:2][(0,) + key], expected)
    assert_array_equal(la.stack(members, axis=1)[:, 4][key], expected)


# -- ArrayStack ----------------------------------------------------------------------


@st.composite
def members(draw: st.DrawFn, count: int) -> tuple[list[np.ndarray], list[Any]]:
    """``count`` ndarrays of one shape and dtype, and each in a random lazy form."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes(max_dims=3, max_side=4))
    plain = [draw(arrays(dtype=dtype, shape=shape)) for _ in range(count)]
    return plain, [draw(lazy_forms(a)) for a in plain]


@given(st.integers(1, 5).flatmap(members), st.data())
def test_array_stack_equals_np_stack(drawn, data):
    plain, lazy = drawn
    stack = la.ArrayStack(data.draw(containers(lazy)))
    expected = np.stack(plain)
    assert stack.stack.shape == (len(plain),)
    assert_array_equal(stack, expected)
    check_indexing(data, stack, expected)


@given(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), st.data())
def test_array_stack_of_grid_equals_np_stack_reshaped(grid_shape, data):
    plain, lazy = data.draw(members(math.prod(grid_shape)))
    stack = la.ArrayStack(object_array(lazy, grid_shape))
    expected = np.stack(plain).reshape(grid_shape + plain[0].shape)
    assert stack.stack.shape == grid_shape
    assert_array_equal(stack, expected)
    check_indexing(data, stack, expected)


@given(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), st.sampled_from("CF"), st.data())
def test_multidim_array_stack(grid_shape, order, data):
    plain, lazy = data.draw(members(math.prod(grid_shape)))
    stack = la.ArrayStack.multidim_array_stack(lazy, grid_shape, order=order)
    expected = np.empty(grid_shape + plain[0].shape, plain[0].dtype)
    for flat, member in enumerate(plain):
        expected[np.unravel_index(flat, grid_shape, order=order)] = member
    assert_array_equal(stack, expected)
    check_indexing(data, stack, expected)


@given(st.data())
def test_stack_of_mosaics(data):
    whole, axis, tiles = data.draw(tilings())
    mosaic = la.LinearMosaic(tiles, axis)
    others = [data.draw(lazy_forms(whole.copy())) for _ in range(data.draw(st.integers(0, 2)))]
    stack = la.ArrayStack([mosaic, *others])
    expected = np.stack([whole] * (1 + len(others)))
    assert_array_equal(stack, expected)
    check_indexing(data, stack, expected)


def test_array_stack_of_zero_dimensional_members():
    stack = la.ArrayStack([np.float32(1), la.asarray(np.array(2, "f4")), la.ones((), "f4")])
    assert_array_equal(stack, np.array([1, 2, 1], "f4"))
    assert_array_equal(stack[::-1][[0, 0]], np.array([1, 1], "f4"))


def test_array_stack_of_zero_dimensional_grid():
    grid = np.empty((), dtype=object)
    grid[()] = np.arange(3)
    assert_array_equal(la.ArrayStack(grid), np.arange(3))


def test_array_stack_masked_members():
    items = [np.ma.masked_array([1.0, 2.0], mask=[0, 1]), np.ma.masked_array([3.0, 4.0], mask=[1, 0])]
    stack = la.ArrayStack(items)
    assert_array_equal(stack, np.ma.stack(items))
    assert_array_equal(stack[::-1, 1], np.ma.stack(items)[::-1, 1])


# -- numpy-style concatenate and stack -------------------------------------------------


PROMOTABLE = [np.dtype(name) for name in ("bool", "int8", "uint8", "int16", "int32", "float32", "float64", "complex128")]


@given(st.data())
def test_concatenate_promotes_like_numpy(data):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    whole = np.arange(math.prod(shape)).reshape(shape) % 100  # exact in every dtype below
    pieces = np.split(whole, data.draw(cuts(shape[axis])), axis=axis)
    cast = [p.astype(data.draw(st.sampled_from(PROMOTABLE))) for p in pieces]
    lazy = [data.draw(lazy_forms(p)) for p in cast]
    expected = np.concatenate(cast, axis=axis)
    result = la.concatenate(data.draw(containers(lazy)), axis=axis)
    assert_array_equal(result, expected)
    check_indexing(data, result, expected)


@given(st.integers(1, 4), st.data())
def test_stack_promotes_like_numpy(count, data):
    shape = data.draw(shapes(max_dims=3, max_side=4))
    plain = [data.draw(arrays(dtype=st.sampled_from(PROMOTABLE), shape=shape)) for _ in range(count)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    expected = np.stack(plain, axis=axis)
    result = la.stack(data.draw(containers([data.draw(lazy_forms(p)) for p in plain])), axis=axis)
    assert_array_equal(result, expected)
    check_indexing(data, result, expected)


# -- bad input ---------------------------------------------------------------------------


A = np.zeros((2, 3), "f4")

BAD = [
    (lambda: la.LinearMosaic([A, np.zeros((3, 4), "f4")], 1), la.ShapeError,
     r"LinearMosaic: tile 1 has shape \(3, 4\), expected \(2, 4\) off axis 1"),
    (lambda: la.LinearMosaic([A, A, np.zeros((2, 4), "f4")], 0), la.ShapeError,
     r"LinearMosaic: tile 2 has shape \(2, 4\), expected \(2, 3\) off axis 0"),
    (lambda: la.LinearMosaic([A, np.zeros(3, "f4")], 0), la.ShapeError,
     r"LinearMosaic: tile 1 has 1 dimensions, expected 2"),
    (lambda: la.LinearMosaic([A, A.astype("f8")], -1), la.DTypeError,
     r"LinearMosaic: tile 1 has dtype float64, expected float32"),
    (lambda: la.LinearMosaic([A, A], 2), la.AxisError,
     r"LinearMosaic: axis 2 is out of range for an array of 2 dimensions"),
    (lambda: la.LinearMosaic([A, A], -3), la.AxisError,
     r"LinearMosaic: axis -3 is out of range for an array of 2 dimensions"),
    (lambda: la.LinearMosaic([], 0), la.ShapeError, r"LinearMosaic: needs at least one array, got none"),
    (lambda: la.LinearMosaic(np.empty(0, object), 0), la.ShapeError, r"LinearMosaic: needs at least one"),
    (lambda: la.LinearMosaic([np.float32(1)], 0), la.ShapeError, r"at least one dimension; tile 0 is 0-d"),
    (lambda: la.LinearMosaic(A, 0), TypeError, r"LinearMosaic: expected a list, tuple or object array"),
    (lambda: la.ArrayStack([A, np.zeros((3, 2), "f4")]), la.ShapeError,
     r"ArrayStack: member \(1,\) has shape \(3, 2\), expected \(2, 3\)"),
    (lambda: la.ArrayStack(object_array([A, A, A, A.T], (2, 2))), la.ShapeError,
     r"ArrayStack: member \(1, 1\) has shape \(3, 2\), expected \(2, 3\)"),
    (lambda: la.ArrayStack([A, A.astype("i4")]), la.DTypeError,
     r"ArrayStack: member \(1,\) has dtype int32, expected float32"),
    (lambda: la.ArrayStack([]), la.ShapeError, r"ArrayStack: needs at least one array, got none"),
    (lambda: la.ArrayStack.multidim_array_stack([A] * 5, (2, 3)), la.ShapeError,
     r"5 arrays cannot fill a grid of shape \(2, 3\) \(6 places\)"),
    (lambda: la.ArrayStack.multidim_array_stack([A] * 6, (2, 3), order="A"), ValueError,
     r"order must be 'C' or 'F', got 'A'"),
    (lambda: la.ArrayStack.multidim_array_stack([], (0,)), la.ShapeError, r"needs at least one array"),
    (lambda: la.concatenate([A, np.zeros((3, 4), "i2")], 1), la.ShapeError,
     r"concatenate: array 1 has shape \(3, 4\), expected \(2, 4\) off axis 1"),
    (lambda: la.concatenate([A, A], axis=2), la.AxisError,
     r"concatenate: axis 2 is out of range for an array of 2 dimensions"),
    (lambda: la.concatenate([np.float32(1), np.float32(2)]), la.ShapeError,
     r"concatenate: zero-dimensional arrays cannot be concatenated"),
    (lambda: la.concatenate([]), la.ShapeError, r"concatenate: needs at least one array"),
    (lambda: la.stack([A, np.zeros(3, "f4")]), la.ShapeError,
     r"stack: array 1 has shape \(3,\), expected \(2, 3\)"),
    (lambda: la.stack([A, A], axis=3), la.AxisError,
     r"stack: axis 3 is out of range for an array of 3 dimensions"),
    (lambda: la.stack([A, A], axis=-4), la.AxisError,
     r"stack: axis -4 is out of range for an array of 3 dimensions"),
    (lambda: la.stack([]), la.ShapeError, r"stack: needs at least one array, got none"),
]


@pytest.mark.parametrize("build, error, message", BAD)
def test_bad_input_raises_with_the_numbers(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_errors_are_also_builtin_errors():
    with pytest.raises(ValueError):
        la.LinearMosaic([A, A.T], 0)
    with pytest.raises(ValueError):
        la.ArrayStack([A, A.astype("f8")])


# -- presentation --------------------------------------------------------------------------


def test_repr_shows_shape_dtype_and_size():
    tiles = [InaccessibleArray((250, 720, 1440), "f4") for _ in range(4)]
    mosaic = la.LinearMosaic(tiles, axis=0)
    assert repr(mosaic) == "<LinearMosaic shape=(1000, 720, 1440) dtype=float32 size=3.9 GiB>"
    stack = la.ArrayStack(tiles)
    assert re.fullmatch(r"<ArrayStack shape=\(4, 250, 720, 1440\) dtype=float32 size=3\.9 GiB>",
                        repr(stack))
