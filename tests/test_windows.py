"""``sliding_window_view`` (:mod:`lazyarray.windows`) against numpy's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view as numpy_windows
from strategies import keys, oindex

import lazyarray as la
from lazyarray.testing import recording_reads, refusing_reads


@st.composite
def windowed(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...], Any]:
    """An array, window lengths and the axes they apply to (repeats and 0 included)."""
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple))
    data = np.arange(int(np.prod(shape)), dtype=draw(st.sampled_from(["f4", "i2"])))
    data = data.reshape(shape)
    if draw(st.booleans()):
        return data, tuple(draw(st.integers(0, n)) for n in shape), None
    count = draw(st.integers(1, 3))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=count,
                         max_size=count))
    remaining = list(shape)
    window = []
    for a in axes:  # each window within the axis as the earlier ones left it
        w = draw(st.integers(0, remaining[a]))
        remaining[a] -= max(w - 1, 0) if w else -1
        window.append(w)
    return data, tuple(window), tuple(axes)


@given(case=windowed(), data=st.data(), masked=st.booleans())
def test_windows_equal_numpys(case: tuple[np.ndarray, tuple[int, ...], Any],
                              data: st.DataObject, masked: bool) -> None:
    values, window, axis = case
    source: Any = values
    want: Any = numpy_windows(values, window, axis=axis)
    if masked:
        # numpy's view of a masked array does not window its mask: the
        # oracle windows data and mask apart.
        mask = values % 3 == 0
        source = np.ma.masked_array(values, mask=mask)
        want = np.ma.masked_array(want, mask=numpy_windows(mask, window, axis=axis))
    with refusing_reads():
        lazy = la.sliding_window_view(la.asarray(source), window, axis=axis)
    assert lazy.shape == want.shape and lazy.dtype == want.dtype
    got = lazy.masked_array() if masked else lazy.ndarray()
    np.testing.assert_array_equal(got, want)
    if masked:
        np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want))
    if want.size:
        key = data.draw(keys(want.shape), label="key")
        part = lazy[key].masked_array()
        np.testing.assert_array_equal(np.ma.getdata(part), oindex(np.ma.getdata(want), key))
        np.testing.assert_array_equal(np.ma.getmaskarray(part),
                                      oindex(np.ma.getmaskarray(want), key))


def test_numpy_dispatches_to_lazy_windows() -> None:
    x = np.arange(10.0)
    lazy = np.lib.stride_tricks.sliding_window_view(la.asarray(x), 4)
    assert isinstance(lazy, la.Array)
    np.testing.assert_array_equal(lazy.ndarray(), numpy_windows(x, 4))


def test_a_selection_reads_the_positions_its_windows_cover() -> None:
    x = la.asarray(np.arange(100.0))
    with recording_reads() as reads:
        part = la.sliding_window_view(x, 5)[10:20].ndarray()
    counts = reads.counts(x)
    assert set(np.flatnonzero(counts)) == set(range(10, 24))
    np.testing.assert_array_equal(part, numpy_windows(np.arange(100.0), 5)[10:20])


@pytest.mark.parametrize("window, axis, message", [
    ((-1, 1), None, "negative"), (4, 0, "longer than axis 0"), ((2, 2), 0, "same length"),
    ((2,), None, "every axis"),
])
def test_bad_windows_are_refused(window: Any, axis: Any, message: str) -> None:
    x = la.asarray(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=message):
        la.sliding_window_view(x, window, axis=axis)
    numpy_error = pytest.raises(ValueError)
    with numpy_error:
        numpy_windows(np.zeros((3, 2)), window, axis=axis)


def test_windows_are_read_only() -> None:
    with pytest.raises(ValueError, match="read-only"):
        la.sliding_window_view(np.zeros(3), 2, writeable=True)
