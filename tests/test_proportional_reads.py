"""Proportional reads: realising a selection reads nothing outside its bounding
box, and realising a whole array reads each element exactly once.

Sources are :class:`~lazyarray.testing.CountingArray` s, which count the reads
of each element. They are not ndarrays, so their adapter asks them only for
what h5py can do (ints, slices of positive step, one increasing index list)
and the rest is done in memory, as for real files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import CHUNK_BYTES, arrays, keys, oindex, shapes

import lazyarray as la
from lazyarray.testing import CountingArray, assert_array_equal


@dataclass
class Case:
    """A lazy array over counting sources, and how to find their reads.

    ``reads()`` gives, for each source, its read counts laid out in the lazy
    array's coordinates, and the axes of the lazy array those counts span.
    """

    lazy: la.Array
    expected: np.ndarray
    reads: Callable[[], list[tuple[np.ndarray, tuple[int, ...]]]]


def counting(array: np.ndarray) -> CountingArray:
    return CountingArray(array)


def every(ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim))


@st.composite
def cases(draw: st.DrawFn, structure: str) -> Case:
    """A :class:`Case` of the given ``structure``."""
    whole = draw(arrays(shape=shapes(min_dims=1, max_dims=3, max_side=5)))
    ndim = whole.ndim
    if structure == "adapter":
        source = counting(whole)
        return Case(la.asarray(source), whole, lambda: [(source.counts, every(ndim))])
    if structure in ("mosaic", "transposed mosaic", "mosaic of mosaics"):
        axis = draw(st.integers(-ndim, ndim - 1))
        cuts = sorted(draw(st.lists(st.integers(0, whole.shape[axis]), max_size=3)))
        pieces = np.split(whole, cuts, axis=axis)
        if structure == "mosaic of mosaics":
            inner = draw(st.integers(0, ndim - 1))
            sources = [[counting(q) for q in np.split(p, [p.shape[inner] // 2], axis=inner)]
                       for p in pieces]
            lazy = la.LinearMosaic([la.LinearMosaic(s, inner) for s in sources], axis)
            return Case(lazy, whole, lambda: [(np.concatenate(
                [np.concatenate([s.counts for s in row], inner) for row in sources], axis),
                every(ndim))])
        sources = [counting(p) for p in pieces]
        lazy = la.LinearMosaic(sources, axis)
        if structure == "mosaic":
            return Case(lazy, whole, lambda: [
                (np.concatenate([s.counts for s in sources], axis), every(ndim))])
        perm = draw(st.permutations(range(ndim)))
        return Case(lazy.transpose(perm), whole.transpose(perm), lambda: [
            (np.concatenate([s.counts for s in sources], axis).transpose(perm), every(ndim))])
    if structure == "stack":
        members = [whole.copy()] + [draw(arrays(dtype=whole.dtype, shape=whole.shape))
                                 for _ in range(draw(st.integers(0, 3)))]
        axis = draw(st.integers(-ndim - 1, ndim))
        sources = [counting(m) for m in members]
        return Case(la.stack(sources, axis), np.stack(members, axis), lambda: [
            (np.stack([s.counts for s in sources], axis), every(ndim + 1))])
    if structure == "transpose":
        perm = draw(st.permutations(range(ndim)))
        source = counting(whole)
        return Case(la.transpose(source, perm), whole.transpose(perm),
                    lambda: [(source.counts.transpose(perm), every(ndim))])
    if structure == "elementwise":
        other = draw(arrays(dtype=st.sampled_from(["i2", "f4", "f8"]), shape=whole.shape))
        a, b = counting(whole), counting(other)
        with np.errstate(all="ignore"):
            expected = np.not_equal(whole, other)
        return Case(la.not_equal(la.asarray(a), b), expected,
                    lambda: [(a.counts, every(ndim)), (b.counts, every(ndim))])
    if structure == "broadcast elementwise":
        row = draw(arrays(dtype="f8", shape=whole.shape[1:]))
        a, b = counting(whole), counting(row)
        with np.errstate(all="ignore"):
            expected = np.equal(whole, row)
        return Case(la.equal(la.asarray(a), b), expected,
                    lambda: [(a.counts, every(ndim)), (b.counts, tuple(range(1, ndim)))])
    raise AssertionError(structure)


STRUCTURES = ["adapter", "mosaic", "mosaic of mosaics", "transposed mosaic", "stack",
              "transpose", "elementwise", "broadcast elementwise"]


def bounding_box(shape: tuple[int, ...], key: Any) -> list[tuple[int, int]] | None:
    """Per axis, the first and last position ``key`` selects; ``None`` if nothing."""
    box = []
    for coordinates in np.indices(shape, sparse=False):
        chosen = oindex(coordinates, key)
        if chosen.size == 0:
            return None
        box.append((int(chosen.min()), int(chosen.max())))
    return box


def assert_reads_inside(counts: np.ndarray, axes: tuple[int, ...], box: Any) -> None:
    inside = np.ones(counts.shape, bool)
    if box is None:
        inside[...] = False
    else:
        for dim, axis in enumerate(axes):
            low, high = box[axis]
            positions = np.arange(counts.shape[dim])
            along = (low <= positions) & (positions <= high)
            inside &= along.reshape((-1,) + (1,) * (counts.ndim - dim - 1))
    outside = counts[~inside]
    assert not outside.any(), (
        f"{int(np.count_nonzero(outside))} elements read outside the bounding box {box}"
    )


@pytest.mark.parametrize("structure", STRUCTURES)
@settings(max_examples=25)
@given(data=st.data())
def test_selection_reads_nothing_outside_its_bounding_box(structure, data):
    case = data.draw(cases(structure))
    key = data.draw(keys(case.lazy.shape, new_axes=False))
    with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES)):
        assert_array_equal(case.lazy[key], oindex(case.expected, key))
    box = bounding_box(case.expected.shape, key)
    for counts, axes in case.reads():
        assert_reads_inside(counts, axes, box)


@pytest.mark.parametrize("structure", STRUCTURES)
@settings(max_examples=15)
@given(data=st.data())
def test_selection_of_a_selection_reads_nothing_outside_its_bounding_box(structure, data):
    case = data.draw(cases(structure))
    k1 = data.draw(keys(case.lazy.shape, new_axes=False))
    once = oindex(case.expected, k1)
    k2 = data.draw(keys(once.shape, new_axes=False))
    assert_array_equal(case.lazy[k1][k2], oindex(once, k2))
    # Where the second selection lands in the first array: index the coordinates.
    coordinates = [oindex(oindex(c, k1), k2) for c in np.indices(case.expected.shape)]
    box = None if coordinates[0].size == 0 else [(int(c.min()), int(c.max())) for c in coordinates]
    for counts, axes in case.reads():
        assert_reads_inside(counts, axes, box)


@pytest.mark.parametrize("structure", [s for s in STRUCTURES if s != "broadcast elementwise"])
@settings(max_examples=20)
@given(data=st.data())
def test_full_realisation_reads_each_element_once(structure, data):
    case = data.draw(cases(structure))
    chunk_bytes = data.draw(st.sampled_from([8, 40, 1000, 32 * 2**20]))
    assert_array_equal(case.lazy.ndarray(chunk_bytes=chunk_bytes), case.expected)
    for counts, _ in case.reads():
        assert (counts == 1).all(), f"read counts {np.unique(counts)}"


def test_selection_in_a_big_mosaic_reads_only_its_elements():
    """A concrete case, with numbers: a 1-element selection reads 1 element."""
    sources = [CountingArray(np.arange(1000.0).reshape(10, 100) + i) for i in range(5)]
    mosaic = la.LinearMosaic(sources, axis=1)
    assert_array_equal(mosaic[7, 250], np.array(7 * 100 + 50 + 2.0))
    assert [int(s.counts.sum()) for s in sources] == [0, 0, 1, 0, 0]
    assert sources[2].counts[7, 50] == 1
    stride = mosaic[::-3, 480:20:-97]
    expected = np.concatenate([np.arange(1000.0).reshape(10, 100) + i for i in range(5)], axis=1)
    assert_array_equal(stride, expected[::-3, 480:20:-97])
    # 4 rows by 1 column in each of the 5 tiles, besides the element read above
    assert [int(s.counts.sum()) for s in sources] == [4, 4, 5, 4, 4]


@pytest.mark.parametrize("size", [1, 7, math.prod((4, 5))])
def test_full_realisation_of_a_stack_of_transposes_reads_once(size):
    arrays_ = [np.arange(size * 3.0).reshape(size, 3) * i for i in range(3)]
    members = [CountingArray(a) for a in arrays_]
    lazy = la.stack([la.transpose(m) for m in members], axis=1)
    assert_array_equal(lazy.ndarray(chunk_bytes=16), np.stack([a.T for a in arrays_], 1))
    assert all((m.counts == 1).all() for m in members)
