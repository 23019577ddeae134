"""Tests for :mod:`lazyarray.views`: transposes, moved, new and squeezed axes,
broadcasting, and views of views, against numpy.

Every comparison checks values, shape and dtype (``assert_array_equal``);
indexing is judged by the numpy oracle ``strategies.oindex``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import CHUNK_BYTES, arrays, check_indexing, keys, oindex, shapes

import lazyarray as la
from lazyarray.testing import InaccessibleArray, assert_array_equal


@st.composite
def sources(draw: st.DrawFn, **shape_options: Any) -> tuple[np.ndarray, la.Array]:
    """An ndarray and the same values as a lazy array: an adapter or a mosaic."""
    array = draw(arrays(shape=shapes(**shape_options)))
    if array.ndim and draw(st.booleans()):
        axis = draw(st.integers(0, array.ndim - 1))
        cut = draw(st.integers(0, array.shape[axis]))
        halves = np.split(array, [cut], axis=axis)
        return array, la.LinearMosaic([halves[0], la.asarray(halves[1])], axis)
    return array, la.asarray(array)


def signed(axes: Any, ndim: int, draw: st.DrawFn) -> list[int]:
    """``axes`` with each one randomly written as a negative axis."""
    return [a - ndim if draw(st.booleans()) else a for a in axes]


# -- transpose ---------------------------------------------------------------------


@given(sources(), st.data())
def test_transpose_equals_numpy(source, data):
    array, lazy = source
    axes = signed(data.draw(st.permutations(range(array.ndim))), array.ndim, data.draw)
    expected = np.transpose(array, axes)
    assert_array_equal(la.transpose(lazy, axes), expected)
    assert_array_equal(lazy.transpose(*axes), expected)
    assert_array_equal(lazy.transpose(tuple(axes)), expected)
    assert_array_equal(la.TransposedArray(lazy, axes), expected)
    check_indexing(data, la.transpose(lazy, axes), expected)


@given(sources(), st.data())
def test_reversing_transposes_equal_numpy(source, data):
    array, lazy = source
    assert_array_equal(lazy.T, array.T)
    assert_array_equal(lazy.transpose(), array.transpose())
    assert_array_equal(lazy.transpose(None), array.transpose())
    assert_array_equal(la.transpose(lazy), np.transpose(array))
    assert_array_equal(la.TransposedArray(lazy), array.T)
    check_indexing(data, lazy.T, array.T)


def test_views_of_views_fold_into_one_view():
    x = la.asarray(np.arange(24).reshape(2, 3, 4))
    assert x.T.T is x
    assert la.moveaxis(la.moveaxis(x, 0, -1), -1, 0) is x
    view = la.expand_dims(x.T, 1)[:, :, None].transpose(3, 0, 1, 2, 4)
    assert isinstance(view, la.AxisView)
    assert view.inputs == (x,)
    assert_array_equal(view, np.expand_dims(np.arange(24).reshape(2, 3, 4).T, 1)[:, :, None]
                       .transpose(3, 0, 1, 2, 4))


# -- moveaxis, expand_dims, squeeze ------------------------------------------------------


@given(sources(min_dims=1), st.data())
def test_moveaxis_equals_numpy(source, data):
    array, lazy = source
    count = data.draw(st.integers(1, array.ndim))
    source_axes = signed(data.draw(st.permutations(range(array.ndim)))[:count], array.ndim, data.draw)
    destination = signed(data.draw(st.permutations(range(array.ndim)))[:count], array.ndim, data.draw)
    if count == 1 and data.draw(st.booleans()):
        source_axes, destination = source_axes[0], destination[0]
    expected = np.moveaxis(array, source_axes, destination)
    assert_array_equal(la.moveaxis(lazy, source_axes, destination), expected)
    check_indexing(data, la.moveaxis(lazy, source_axes, destination), expected)


@given(sources(max_dims=3), st.data())
def test_expand_dims_equals_numpy(source, data):
    array, lazy = source
    count = data.draw(st.integers(1, 2))
    ndim = array.ndim + count
    axes = signed(data.draw(st.permutations(range(ndim)))[:count], ndim, data.draw)
    axis = axes[0] if count == 1 and data.draw(st.booleans()) else tuple(axes)
    expected = np.expand_dims(array, axis)
    assert_array_equal(la.expand_dims(lazy, axis), expected)
    check_indexing(data, la.expand_dims(lazy, axis), expected)


@given(sources(max_side=2), st.data())
def test_squeeze_equals_numpy(source, data):
    array, lazy = source
    ones = [a for a, n in enumerate(array.shape) if n == 1]
    chosen = data.draw(st.sets(st.sampled_from(ones)) if ones else st.just(set()))
    axis = data.draw(st.sampled_from([None, tuple(sorted(chosen))] + list(chosen)))
    expected = np.squeeze(array, axis)
    assert_array_equal(la.squeeze(lazy, axis), expected)
    check_indexing(data, la.squeeze(lazy, axis), expected)


@pytest.mark.parametrize(
    "key",
    [
        None,
        np.s_[None, None],
        np.s_[..., None],
        np.s_[None, ..., None],
        np.s_[1, None, ::-1],
        np.s_[None, [2, 0, 0], None, 1],
        np.s_[:, None, [True, False, True, True], None],
        np.s_[-1, -1, None],
    ],
)
def test_none_in_keys_adds_axes_as_numpy(key):
    array = np.arange(16.0).reshape(4, 4)
    lazy = la.asarray(array)
    assert_array_equal(lazy[key], oindex(array, key))
    assert_array_equal(lazy.T[key], oindex(array.T, key))


# -- broadcasting ------------------------------------------------------------------------


@st.composite
def broadcastable(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(source shape, target shape) that numpy broadcasts."""
    target = draw(shapes(max_dims=4, max_side=4))
    lead = draw(st.integers(0, len(target)))
    source = tuple(1 if draw(st.booleans()) else n for n in target[lead:])
    return source, target


@given(broadcastable(), st.data())
def test_broadcast_to_equals_numpy(shapes_, data):
    source_shape, target = shapes_
    array = data.draw(arrays(shape=source_shape))
    lazy = data.draw(st.sampled_from([array, la.asarray(array)]))
    given_shape = target[0] if len(target) == 1 and data.draw(st.booleans()) else target
    expected = np.broadcast_to(array, target)
    assert_array_equal(la.broadcast_to(lazy, given_shape), expected)
    check_indexing(data, la.broadcast_to(lazy, given_shape), expected)


@given(st.data())
def test_broadcast_array_equals_numpy(data):
    array = data.draw(arrays(shape=shapes(max_dims=3, max_side=3)))
    ones = [a for a, n in enumerate(array.shape) if n == 1]
    stretched = data.draw(st.sets(st.sampled_from(ones)) if ones else st.just(set()))
    broadcast = {
        a - array.ndim if data.draw(st.booleans()) else a: data.draw(st.integers(0, 3))
        for a in stretched
    }
    leading = data.draw(shapes(max_dims=2, max_side=3))
    view = la.BroadcastArray(array, broadcast, leading_shape=leading)
    lengths = list(array.shape)
    for a, n in broadcast.items():
        lengths[a] = n
    expected = np.broadcast_to(array, leading + tuple(lengths))
    assert_array_equal(view, expected)
    check_indexing(data, view, expected)


def test_broadcast_to_same_shape_is_the_array():
    x = la.asarray(np.zeros((2, 3)))
    assert la.broadcast_to(x, (2, 3)) is x


def test_broadcast_masked_array_keeps_mask_and_fill_value():
    array = np.ma.masked_array([[1.0, 2.0, 3.0]], mask=[[0, 1, 0]], fill_value=-1.0)
    view = la.broadcast_to(array, (2, 3))
    expected = np.ma.masked_array(
        np.broadcast_to(array.data, (2, 3)), mask=np.broadcast_to(array.mask, (2, 3))
    )
    assert_array_equal(view, expected)
    assert_array_equal(view.T[::-1], expected.T[::-1])
    assert view.fill_value == -1.0
    assert_array_equal(view.ndarray(), np.array([[1.0, -1.0, 3.0]] * 2))


# -- views of views ----------------------------------------------------------------------


@st.composite
def view_steps(draw: st.DrawFn, array: np.ndarray) -> tuple[str, Any, Any]:
    """A random view of ``array``: (name, lazy function, numpy function)."""
    ndim = array.ndim
    names = ["transpose", "index"]
    if ndim:
        names.append("moveaxis")
    if ndim < 5:
        names += ["expand_dims", "broadcast_to"]
    if 1 in array.shape:
        names.append("squeeze")
    name = draw(st.sampled_from(names))
    if name == "transpose":
        axes = signed(draw(st.permutations(range(ndim))), ndim, draw)
        return name, lambda x: x.transpose(axes), lambda a: a.transpose(axes)
    if name == "moveaxis":
        source, destination = draw(st.integers(-ndim, ndim - 1)), draw(st.integers(-ndim, ndim - 1))
        return (name, lambda x: la.moveaxis(x, source, destination),
                lambda a: np.moveaxis(a, source, destination))
    if name == "expand_dims":
        axis = draw(st.integers(-ndim - 1, ndim))
        return name, lambda x: la.expand_dims(x, axis), lambda a: np.expand_dims(a, axis)
    if name == "squeeze":
        axis = draw(st.sampled_from([a for a, n in enumerate(array.shape) if n == 1]))
        return name, lambda x: la.squeeze(x, axis), lambda a: np.squeeze(a, axis)
    if name == "broadcast_to":
        lead = tuple(draw(st.lists(st.integers(0, 3), max_size=min(1, 4 - ndim))))
        shape = lead + tuple(draw(st.integers(0, 3)) if n == 1 else n for n in array.shape)
        return name, lambda x: la.broadcast_to(x, shape), lambda a: np.broadcast_to(a, shape)
    key = draw(keys(array.shape))
    return name, lambda x: x[key], lambda a: oindex(a, key)


@given(sources(max_dims=3, max_side=3), st.data())
def test_views_of_views_equal_numpy(source, data):
    array, lazy = source
    for _ in range(data.draw(st.integers(1, 4))):
        name, lazy_step, numpy_step = data.draw(view_steps(array))
        array, lazy = numpy_step(array), lazy_step(lazy)
        assert (lazy.shape, lazy.dtype) == (array.shape, array.dtype), name
    with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES)):
        assert_array_equal(lazy, array)


# -- bad input ---------------------------------------------------------------------------


X = la.asarray(InaccessibleArray((2, 3, 4), "f4"))

BAD = [
    (lambda: la.transpose(X, (0, 1, 3)), la.AxisError,
     r"transpose: axis 3 is out of range for an array of 3 dimensions"),
    (lambda: X.transpose(-4, 0, 1), la.AxisError,
     r"transpose: axis -4 is out of range for an array of 3 dimensions"),
    (lambda: X.transpose(0, 1), la.AxisError,
     r"transpose: axes \(0, 1\) do not match an array of 3 dimensions"),
    (lambda: X.transpose(0, 2, -1), la.AxisError, r"transpose: axis -1 is repeated in \(0, 2, -1\)"),
    (lambda: la.TransposedArray(X, (1, 0)), la.AxisError,
     r"transpose: axes \(1, 0\) do not match an array of 3 dimensions"),
    (lambda: la.moveaxis(X, 3, 0), la.AxisError,
     r"moveaxis: axis 3 is out of range for an array of 3 dimensions"),
    (lambda: la.moveaxis(X, 0, -4), la.AxisError,
     r"moveaxis: axis -4 is out of range for an array of 3 dimensions"),
    (lambda: la.moveaxis(X, (0, 1), (2,)), la.AxisError,
     r"moveaxis: source \(0, 1\) and destination \(2,\) must have the same number"),
    (lambda: la.moveaxis(X, (0, 0), (1, 2)), la.AxisError, r"moveaxis: axis 0 is repeated"),
    (lambda: la.expand_dims(X, 4), la.AxisError,
     r"expand_dims: axis 4 is out of range for an array of 4 dimensions"),
    (lambda: la.expand_dims(X, (0, -6)), la.AxisError,
     r"expand_dims: axis -6 is out of range for an array of 5 dimensions"),
    (lambda: la.expand_dims(X, (1, -4)), la.AxisError, r"expand_dims: axis -4 is repeated in \(1, -4\)"),
    (lambda: la.squeeze(X, 1), la.ShapeError, r"squeeze: cannot remove axis 1 of length 3"),
    (lambda: la.squeeze(X, 3), la.AxisError, r"squeeze: axis 3 is out of range"),
    (lambda: la.broadcast_to(X, (2, 3, 5)), la.ShapeError,
     r"broadcast_to: cannot broadcast an array of shape \(2, 3, 4\) to \(2, 3, 5\)"),
    (lambda: la.broadcast_to(X, (3, 4)), la.ShapeError,
     r"broadcast_to: cannot broadcast an array of shape \(2, 3, 4\) to \(3, 4\)"),
    (lambda: la.broadcast_to(X[:1], (-1, 3, 4)), la.ShapeError,
     r"broadcast_to: negative lengths in shape \(-1, 3, 4\)"),
    (lambda: la.BroadcastArray(X, {1: 5}), la.ShapeError,
     r"BroadcastArray: axis 1 has length 3; only axes of length 1 can be broadcast"),
    (lambda: la.BroadcastArray(X, {3: 5}), la.AxisError,
     r"BroadcastArray: axis 3 is out of range for an array of 3 dimensions"),
    (lambda: la.BroadcastArray(X[:1], {0: -2}), la.ShapeError,
     r"BroadcastArray: negative lengths in shape \(-2, 3, 4\)"),
    (lambda: la.BroadcastArray(X, leading_shape=(-1,)), la.ShapeError,
     r"BroadcastArray: negative lengths in shape \(-1, 2, 3, 4\)"),
]


@pytest.mark.parametrize("build, error, message", BAD)
def test_bad_input_raises_with_the_numbers(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_repr_of_a_view():
    view = la.broadcast_to(X, (10, 2, 3, 4)).T
    assert repr(view) == "<AxisView shape=(4, 3, 2, 10) dtype=float32 size=960 B>"
