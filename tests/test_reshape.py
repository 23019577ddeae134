"""Tests of lazyarray.reshape: numpy's values, laziness, proportional reads, bounded memory."""

from __future__ import annotations

import itertools
import math
import pickle

import h5py
import numpy as np
import pytest
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays, check_indexing, dtypes, shapes

import lazyarray as la
from lazyarray.planning import chunk_edges
from lazyarray.reshape import ReshapedArray, ravel, reshape, reshape_groups
from lazyarray.testing import (
    InaccessibleArray,
    assert_array_equal,
    recording_reads,
    refusing_reads,
)

# -- numpy's results --------------------------------------------------------------


@st.composite
def new_shapes(draw: st.DrawFn, size: int) -> tuple[int, ...]:
    """Shapes of up to 4 axes holding ``size`` elements, sometimes with one -1."""
    if size == 0:
        # numpy cannot infer a length from zero elements: no -1 here.
        lengths = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
        lengths[draw(st.integers(0, len(lengths) - 1))] = 0
        return tuple(lengths)
    lengths, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        length = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        lengths.append(length)
        rest //= length
    lengths.append(rest)
    if draw(st.booleans()):
        lengths.insert(draw(st.integers(0, len(lengths))), 1)
    order = draw(st.permutations(lengths))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(order) - 1))
        order = order[:at] + [-1] + order[at + 1:]
    return tuple(order)


_FILES = itertools.count()


@st.composite
def sources(draw: st.DrawFn, directory) -> tuple[la.Array, np.ndarray]:
    """A lazy source and its numpy value: numpy (plain or masked) or HDF5 of
    random chunks."""
    shape = draw(shapes(max_dims=4, max_side=4), label="shape")
    kind = draw(st.sampled_from(["numpy", "masked", "hdf5"]), label="kind")
    if kind == "hdf5":
        value = draw(arrays(st.sampled_from(["i4", "f8"]), shape), label="value")
        chunks = None
        if value.ndim and value.size:
            chunks = tuple(draw(st.integers(1, n), label="chunk") for n in shape)
        # A new file each time: a file written before may still be open.
        path = directory / f"source{next(_FILES)}.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=value, chunks=chunks)
        return la.open_dataset(path, "x"), value
    value = draw(arrays(dtypes(), shape), label="value")
    if kind == "masked":
        mask = np.asarray(draw(st.lists(st.booleans(), min_size=value.size,
                                        max_size=value.size)), bool).reshape(shape)
        value = np.ma.masked_array(value, mask=mask, fill_value=value.flat[0]
                                   if value.size else None)
    return la.asarray(value), value


@settings(max_examples=examples(20, 300), deadline=None)
@given(data=st.data())
def test_reshape_as_numpy(tmp_path_factory, data):
    """Any reshape of any source, and two keys in a row of it, over tiles of a
    few elements: numpy's values, shape, dtype, mask and fill value."""
    lazy, value = data.draw(sources(tmp_path_factory.getbasetemp()), label="source")
    shape = data.draw(new_shapes(value.size), label="new shape")
    expected = np.reshape(value, shape)
    actual = reshape(lazy, shape)
    chunk_bytes = data.draw(st.sampled_from([8, 64, 1 << 20]), label="chunk_bytes")
    assert_array_equal(actual, expected)
    if isinstance(value, np.ma.MaskedArray):
        assert actual.fill_value == value.fill_value
        assert_array_equal(actual[...], expected)
        # Keys are checked on the values filled with the fill value.
        expected = expected.filled(value.fill_value)
    with la.set_options(chunk_bytes=chunk_bytes):
        assert_array_equal(actual, expected)
    check_indexing(data, actual, np.asarray(expected))
    assert_array_equal(ravel(actual), np.ravel(expected))


@pytest.mark.parametrize(
    ("old", "new", "groups"),
    [
        ((6, 4, 5), (2, 3, 20), [(1, 2), (2, 1)]),
        ((1000, 1000, 1000), (10, 100, 1000, 1000), [(1, 2), (1, 1), (1, 1)]),
        ((1000, 1000, 1000), (1000000, 1000), [(2, 1), (1, 1)]),
        ((6, 4), (4, 6), [(2, 2)]),
        ((3,), (3, 1, 1), [(1, 3)]),
        ((1, 1, 3), (3,), [(3, 1)]),
        ((0, 3), (3, 0, 1), [(2, 3)]),
    ],
)
def test_groups(old, new, groups):
    """Groups are the smallest runs of axes of equal products."""
    assert reshape_groups(old, new) == groups
    for count_in, count_out in groups:
        assert count_in >= 1 and count_out >= 1
    assert sum(g[0] for g in groups) == len(old)
    assert sum(g[1] for g in groups) == len(new)


@pytest.mark.parametrize(
    ("shape", "new"),
    [((), ()), ((), (1, 1)), ((1, 1), ()), ((2, 3), -1), ((2, 3), 6), ((4,), (2, -1)),
     ((2, 3, 4), (4, 3, 2)), ((0, 4), (2, 0, 2))],
)
def test_edge_shapes(shape, new):
    """0-d and empty arrays, integer shapes: as numpy."""
    value = np.arange(math.prod(shape), dtype="i2").reshape(shape)
    actual = reshape(value, new)
    assert_array_equal(actual, np.reshape(value, new))
    assert_array_equal(np.reshape(la.asarray(value), new), np.reshape(value, new))
    assert_array_equal(np.ravel(la.asarray(value)), np.ravel(value))


def test_reshape_of_reshape_is_one_node():
    """Reshaping back gives the source itself; a reshape of a reshape, one node."""
    x = la.asarray(np.arange(24).reshape(2, 3, 4))
    assert reshape(reshape(x, (6, 4)), (2, 3, 4)) is x
    twice = reshape(reshape(x, (6, 4)), (4, 6))
    assert isinstance(twice, ReshapedArray) and twice.inputs[0] is x
    assert_array_equal(twice, np.arange(24).reshape(4, 6))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: reshape(x, (5, 5)), la.ShapeError,
         "reshape: cannot reshape an array of size 24 into shape (5, 5)"),
        (lambda x: reshape(x, (-1, -1)), la.ShapeError,
         "expected lengths of at least 0 and at most one -1, found (-1, -1)"),
        (lambda x: reshape(x, (-2, 12)), la.ShapeError, "found (-2, 12)"),
        (lambda x: reshape(x, (-1, 5)), la.ShapeError, "size 24 into shape (-1, 5)"),
        (lambda x: reshape(x, 24, order="F"), ValueError,
         "expected order='C', found order='F': lazyarray reshapes in C order"),
        (lambda x: np.ravel(x, order="F"), ValueError, "lazyarray reshapes in C order"),
        (lambda x: reshape(x, (2.5, 2)), TypeError, "float"),
    ],
)
def test_errors(call, error, message):
    """Errors say what was expected and what was found, as numpy's kinds."""
    x = la.asarray(InaccessibleArray((2, 3, 4), "f4"))
    with pytest.raises(error, match=None) as raised:
        call(x)
    assert message in str(raised.value)


def test_copy_false_accepted():
    """``copy=False`` (numpy 2's no-copy request) holds: nothing is copied lazily."""
    x = la.asarray(np.arange(6))
    assert_array_equal(np.reshape(x, (3, 2), copy=False), np.arange(6).reshape(3, 2))
    assert_array_equal(np.reshape(x, shape=(2, 3), copy=True), np.arange(6).reshape(2, 3))


# -- laziness and proportional reads ----------------------------------------------


def test_building_and_indexing_read_nothing():
    """Reshapes, keys of them, their plans and pickles never read."""
    x = la.asarray(InaccessibleArray((6, 4, 5), "f8"))
    r = reshape(x, (2, 3, 20))
    for key in [(0,), (1, slice(None), slice(3, 17)), (slice(None), [2, 0], slice(None, None, -3)),
                (1, 2, 19)]:
        selected = r[key]
        assert selected.shape == np.empty((2, 3, 20))[key].shape
    la.plan([la.sum(r[:, 1:, 5:9] * 2, axis=0)], chunk_bytes=64)
    pickle.loads(pickle.dumps(ravel(r)[7:90]))


@pytest.fixture
def stored(tmp_path):
    """An HDF5 dataset of (12, 8, 10) in chunks of (3, 4, 5), and its values."""
    value = np.arange(960, dtype="f4").reshape(12, 8, 10)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=value, chunks=(3, 4, 5))
    return la.open_dataset(tmp_path / "x.h5", "x"), value


@pytest.mark.parametrize(
    ("shape", "key"),
    [
        ((3, 4, 8, 10), (1, slice(2, 4))),  # a split: rows 6:8 of axis 0
        ((3, 4, 8, 10), (slice(None), 1, slice(4, 8), slice(5, None))),  # a chunk per row
        ((96, 10), slice(16, 32)),  # a merge, whole rows: 2:4 of axis 0
        ((96, 10), (slice(13, 35), slice(0, 5))),  # a merge, across rows of axis 1
        ((12, 80), (slice(3, 6), slice(15, 42))),  # across rows of the last axis
        ((960,), slice(75, 405)),  # everything flattened
        ((2, 6, 80), (1, slice(None, None, 2), slice(40, 50))),  # split and merge at once
        ((960,), slice(3, None, 10)),  # a step of whole rows: one column
        ((960,), slice(-5, None, -80)),  # one column of the last two axes, backwards
    ],
)
def test_selection_reads_only_what_it_holds(stored, shape, key):
    """A selection of a split or merge reads exactly the elements it holds
    (so the stored chunks that hold them), and each once."""
    x, value = stored
    lazy = reshape(x, shape)[key]
    needed = np.zeros(value.size, bool)
    needed[np.arange(value.size).reshape(shape)[key].ravel()] = True
    with recording_reads() as reads:
        actual = lazy.ndarray()
    assert_array_equal(actual, value.reshape(shape)[key])
    counts = reads.counts(x).ravel()
    np.testing.assert_array_equal(counts > 0, needed)
    assert counts.max() == 1
    chunk_of = np.indices(value.shape).reshape(3, -1) // np.array([[3], [4], [5]])
    touched = {tuple(c) for c in chunk_of[:, counts > 0].T}
    assert touched == {tuple(c) for c in chunk_of[:, needed].T}


def test_tiles_of_a_reshape_read_each_element_once(stored):
    """Realising a reshape in many small tiles reads every element once."""
    x, value = stored
    for shape in [(3, 4, 8, 10), (96, 10), (12, 80), (960,), (8, 12, 10)]:
        with recording_reads() as reads:
            actual = reshape(x * 2, shape).ndarray(chunk_bytes=200)
        np.testing.assert_array_equal(actual, (value * 2).reshape(shape))
        assert (reads.counts(x) == 1).all(), shape


def test_strided_selection_of_a_merge_reads_its_span(stored):
    """A strided selection along a merged axis reads the span it lies in, not more."""
    x, value = stored
    with recording_reads() as reads:
        actual = ravel(x)[100:200:7].ndarray()
    np.testing.assert_array_equal(actual, value.ravel()[100:200:7])
    assert reads.counts(x).sum() == 99  # positions 100 to 198


@pytest.mark.parametrize("masked", [False, True])
def test_narrow_selection_of_a_merge_and_split_reads_its_runs(masked):
    """``(40, 40) -> (20, 80)`` merges and splits in one group: a selection
    narrower than a row reads its runs, not the span from its first to its last."""
    value = np.arange(1600.0).reshape(40, 40)
    if masked:
        value = np.ma.masked_array(value, mask=np.arange(1600).reshape(40, 40) % 3 == 0,
                                   fill_value=-2.0)
    x = la.asarray(value)
    with recording_reads() as reads:
        actual = reshape(x, (20, 80))[2:, 10:30]
        assert_array_equal(actual, np.reshape(value, (20, 80))[2:, 10:30])
    assert reads.counts(x).sum() == 18 * 20 and reads.counts(x).max() == 1
    with recording_reads() as reads:
        total = la.sum(reshape(x, (20, 80)), axis=0).ndarray(chunk_bytes=256)
    np.testing.assert_allclose(total, np.reshape(value, (20, 80)).sum(axis=0).filled(0)
                               if masked else np.reshape(value, (20, 80)).sum(axis=0))
    assert (reads.counts(x) == 1).all()


def test_masked_selection_keeps_mask_and_fill_value():
    """A selection across rows of a masked source: the mask moves with the values."""
    value = np.ma.masked_array(np.arange(30.0).reshape(5, 6), mask=np.arange(30) % 4 == 0,
                               fill_value=-1.5)
    lazy = ravel(value)[4:23:3]
    expected = value.ravel()[4:23:3]
    assert_array_equal(lazy, expected)
    assert lazy.fill_value == -1.5
    np.testing.assert_array_equal(lazy.ndarray(), expected.filled(-1.5))
    assert_array_equal(reshape(value, (3, 10))[1:, 3:9], value.reshape(3, 10)[1:, 3:9])


# -- bounded memory and the planner ---------------------------------------------


@pytest.mark.parametrize("shape", [(1_000_000, 1000), (10, 100, 1000, 1000),
                                   (1000, 1_000_000), (100, 10, 100, 10_000)])
def test_big_reshapes_plan_within_memory(shape):
    """A reshape of a 4 GB virtual source plans tiles within 16 MiB, reading nothing."""
    big = la.zeros((1000, 1000, 1000), dtype="f4") + 1
    limit = 16 * 2**20
    plan = la.plan([la.sum(reshape(big, shape))], memory_limit=limit)
    assert plan.peak_bytes <= limit
    assert plan.passes[0].tile_bytes * plan.in_flight <= limit
    assert math.prod(plan.passes[0].tile) < big.size // 100


def test_big_reshape_evaluates_within_memory():
    """Realised through tiles within the limit, a reshape gives numpy's result."""
    source = la.broadcast_to(la.asarray(np.arange(60, dtype="f4")), (20, 40, 60))
    expected = np.broadcast_to(np.arange(60, dtype="f4"), (20, 40, 60)).reshape(8, 100, 60)
    lazy = la.sum(reshape(source, (8, 100, 60)), axis=1)
    limit = 256 * 2**10
    plan = la.plan([lazy], memory_limit=limit)
    assert plan.passes[0].tile_count > 1 and plan.peak_bytes <= limit
    np.testing.assert_allclose(lazy.ndarray(memory_limit=limit), expected.sum(axis=1))


def test_unchanged_axes_follow_stored_chunks(stored):
    """Axes that are input axes unchanged carry the source's chunk edges to the
    planner: tiles never split a chunk along them."""
    x, _ = stored
    plan = la.plan([la.sum(reshape(x, (3, 4, 8, 10)), axis=(0, 1))], chunk_bytes=160)
    bounds = plan.passes[0].bounds
    assert set(bounds[2]) <= {0, 4, 8} and set(bounds[3]) <= {0, 5, 10}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((96, 10), [[24, 48, 72], [5]]),  # merged: the leading axis's chunks, whole rows
        ((3, 4, 8, 10), [None, [1, 2, 3], [4], [5]]),  # split: chunks of 3 in rows of 4
        ((12, 80), [[3, 6, 9], [40]]),
        ((960,), [[240, 480, 720]]),
    ],
)
def test_chunk_edges_through_a_reshape(stored, shape, expected):
    """Where stored chunks begin, seen through a reshape (the planner protocol)."""
    x, _ = stored
    edges = chunk_edges(reshape(x, shape))
    assert [None if e is None else e.tolist() for e in edges] == expected


# -- pickling ----------------------------------------------------------------------


def test_pickles(stored):
    """A reshape and a selection of it pickle, over a file too, and give the same values."""
    x, value = stored
    for lazy, expected in [
        (reshape(x, (96, 10))[13:35, 2:], value.reshape(96, 10)[13:35, 2:]),
        (ravel(x * 1)[::-5], value.ravel()[::-5]),
        (reshape(np.ma.masked_array(np.arange(6), mask=[1, 0, 0, 1, 0, 0], fill_value=9),
                 (3, 2))[::2], np.ma.masked_array([[0, 1], [4, 5]], mask=[[1, 0], [0, 0]])),
    ]:
        again = pickle.loads(pickle.dumps(lazy))
        assert type(again) is type(lazy) and again.shape == lazy.shape
        assert_array_equal(again, expected)
        assert again.fill_value == lazy.fill_value


def test_every_split_and_merge_of_a_small_array():
    """Every shape of 12 elements (up to 4 axes) from every other, every
    single-element key: numpy's values, reading nothing while building."""
    value = np.arange(12)
    factors = [s for d in range(1, 5) for s in itertools.product([1, 2, 3, 4, 6, 12], repeat=d)
               if math.prod(s) == 12 and s.count(1) <= 1]
    for old, new in itertools.product(factors[::4], factors):
        x = la.asarray(value.reshape(old))
        lazy = reshape(x, new)
        with refusing_reads(x):
            picked = [lazy[index] for index in np.ndindex(*new)]
        assert la.ndarrays(picked) == list(range(12)), (old, new)
