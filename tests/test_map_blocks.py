"""``map_blocks``: a user function per block, lazily, as dask's (issue 15, point 4).

dask's ``map_blocks`` on the same function, blocks and ``block_info`` is the
oracle, and numpy for results composed with reductions. Calls of the user's
function are counted to prove that evaluating a result calls it once per
block, in one pass with the other results, and that a selection calls it
for the blocks that cover the selection only.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import dask.array as da
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.errors import DTypeError, ShapeError
from lazyarray.mapblocks import MapBlocks, map_blocks
from lazyarray.testing import InaccessibleArray, refusing_reads


class Calls:
    """A function of blocks that records the chunk-location of each call."""

    def __init__(self, func: Any):
        self.func = func
        self.locations: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, *blocks: Any, block_info: Any = None) -> Any:
        with self.lock:
            self.locations.append(block_info[None]["chunk-location"])
        return self.func(*blocks)


def doubled(block: np.ndarray) -> np.ndarray:
    """Module level, so that graphs holding it pickle."""
    return block * 2


@st.composite
def grids(draw: Any, ndim: int | None = None) -> tuple[tuple[int, ...], ...]:
    """A block grid: per axis, 1-3 blocks of 1-4."""
    ndim = draw(st.integers(1, 3)) if ndim is None else ndim
    return tuple(tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
                 for _ in range(ndim))


def _dask_infos(func: Any, *args: Any, **kwargs: Any) -> tuple[np.ndarray, dict[Any, Any]]:
    """dask's result of ``map_blocks(func, *args)``, and the ``block_info`` of each call."""
    infos: dict[Any, Any] = {}

    def recording(*blocks: Any, block_info: Any = None) -> Any:
        if isinstance(block_info, dict) and None in block_info:
            infos[block_info[None]["chunk-location"]] = block_info
        return func(*blocks, block_info=block_info)

    result = da.map_blocks(recording, *args, **kwargs).compute(scheduler="sync")
    return result, infos


def _lazy_infos(func: Any, *args: Any, **kwargs: Any) -> tuple[np.ndarray, dict[Any, Any]]:
    infos: dict[Any, Any] = {}

    def recording(*blocks: Any, block_info: Any = None) -> Any:
        infos[block_info[None]["chunk-location"]] = block_info
        return func(*blocks, block_info=block_info)

    return map_blocks(recording, *args, **kwargs).ndarray(), infos


def _placed(a: np.ndarray, b: np.ndarray, block_info: Any) -> np.ndarray:
    # Depends on where the block is, so that misplaced blocks show.
    where = block_info[None]["chunk-location"]
    return a * 2 + b + sum(w * 10 ** n for n, w in enumerate(where))


@given(grids(), st.data())
def test_blocks_and_block_info_are_dask_s(grid, data):
    shape = tuple(sum(g) for g in grid)
    x = np.arange(np.prod(shape), dtype="f8").reshape(shape)
    # A second argument broadcast along some axes (length 1 there), or of fewer axes.
    ones = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    trailing = data.draw(st.integers(0, len(shape) - 1))
    yshape = tuple(1 if one else n for one, n in zip(ones, shape))[trailing:]
    y = np.arange(np.prod(yshape), dtype="f8").reshape(yshape) * 0.5
    ygrid = tuple((1,) if n == 1 else g for n, g in zip(yshape, grid[trailing:]))
    meta = np.empty((0,) * len(shape), "f8")
    expected, dask_infos = _dask_infos(
        _placed, da.from_array(x, chunks=grid), da.from_array(y, chunks=ygrid),
        dtype="f8", meta=meta)
    result, infos = _lazy_infos(_placed, x, y, dtype="f8", chunks=grid)
    np.testing.assert_array_equal(result, expected)
    assert infos == dask_infos
    m = map_blocks(_placed, x, y, dtype="f8", chunks=grid)
    assert m.chunks == grid and m.storage_chunks is None and m.shape == shape


@given(grids(), st.data())
def test_dropped_axes_are_seen_whole_as_dask_sees_them(grid, data):
    shape = tuple(sum(g) for g in grid)
    x = np.arange(np.prod(shape), dtype="f8").reshape(shape) % 7
    drop = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1),
                                          max_size=len(shape) - 1))))

    def total(a: np.ndarray, block_info: Any) -> np.ndarray:
        return a.sum(axis=drop) + sum(block_info[None]["chunk-location"])

    kept = tuple(g for n, g in enumerate(grid) if n not in drop)
    meta = np.empty((0,) * len(kept), "f8")
    expected, dask_infos = _dask_infos(total, da.from_array(x, chunks=grid), dtype="f8",
                                       drop_axis=drop, meta=meta)
    result, infos = _lazy_infos(total, x, dtype="f8", drop_axis=drop, chunks=kept)
    np.testing.assert_array_equal(result, expected)
    assert infos == dask_infos
    assert map_blocks(total, x, dtype="f8", drop_axis=drop, chunks=kept).chunks == kept


def test_chunks_change_block_lengths_as_dask():
    x = np.arange(20.0).reshape(10, 2)
    grid = ((3, 3, 4), (2,))

    def halves(a: np.ndarray, block_info: Any = None) -> np.ndarray:
        return a[::2] + 0 * block_info[None]["chunk-location"][0]

    out = ((2, 2, 2), (2,))
    meta = np.empty((0, 0), "f8")
    expected, dask_infos = _dask_infos(halves, da.from_array(x, chunks=grid), dtype="f8",
                                       chunks=out, meta=meta)
    with la.set_options(chunk_bytes=48):  # x's own grid: blocks of 3 rows
        lazy_x = la.asarray(x)
        assert lazy_x.chunks == ((3, 3, 3, 1), (2,))
        # The input's blocks are the first argument's (under the options in
        # force when the result is made); the output's, chunks=.
        m = map_blocks(halves, lazy_x, dtype="f8", chunks=((2, 2, 2, 1), 2))
    assert m.shape == (7, 2) and m.chunks == ((2, 2, 2, 1), (2,))
    np.testing.assert_array_equal(m.ndarray(), np.concatenate(
        [x[0:3:2], x[3:6:2], x[6:9:2], x[9:10]]))
    # Resizing per dask, with the blocks dask has:
    xb = map_blocks(lambda a: a, x, dtype="f8", chunks=grid)
    r, infos = _lazy_infos(halves, xb, dtype="f8", chunks=out)
    np.testing.assert_array_equal(r, expected)
    assert infos == dask_infos
    with pytest.raises(ShapeError, match="2 blocks along axis 0; the input has 3"):
        map_blocks(halves, xb, dtype="f8", chunks=((3, 3), (2,)))


def test_new_axes_as_dask():
    x = np.arange(6.0)
    grid = ((2, 4),)

    def pair(a: np.ndarray, block_info: Any = None) -> np.ndarray:
        return np.stack([a, a * 10])[:, None] + block_info[None]["chunk-location"][0]

    meta = np.empty((0, 0, 0), "f8")
    expected, dask_infos = _dask_infos(pair, da.from_array(x, chunks=grid), dtype="f8",
                                       new_axis=[0, 1], chunks=((2,), (1,), grid[0]), meta=meta)
    result, infos = _lazy_infos(pair, x, dtype="f8", new_axis=[0, 1],
                                chunks=((2,), (1,), grid[0]))
    np.testing.assert_array_equal(result, expected)
    assert infos == dask_infos
    # Several blocks along a new axis: a call for each, with the same input block.
    calls = Calls(lambda a: a[None] * 1.0)
    m = map_blocks(calls, x, dtype="f8", new_axis=0, chunks=((1, 1, 1), grid[0]))
    np.testing.assert_array_equal(m.ndarray(), np.stack([x, x, x]))
    assert sorted(calls.locations) == [(i, j) for i in range(3) for j in range(2)]
    # A new axis of length 1 by default.
    n = map_blocks(lambda a: a[:, None], x, dtype="f8", new_axis=1, chunks=(grid[0], 1))
    assert n.shape == (6, 1) and n.chunks == (grid[0], (1,))
    np.testing.assert_array_equal(n.ndarray(), x[:, None])


def test_evaluating_calls_func_once_per_block():
    x = np.arange(4000.0).reshape(100, 40)
    calls = Calls(doubled)
    with la.set_options(chunk_bytes=8 * 40 * 10):
        m = map_blocks(calls, x, dtype="f8")
        assert m.chunks == ((10,) * 10, (40,))
        np.testing.assert_array_equal(m.ndarray(), x * 2)
        assert sorted(calls.locations) == [(i, 0) for i in range(10)]
    # Blocks of 7 rows, tiles of at most 20 rows: tiles end on block edges.
    calls.locations.clear()
    m = map_blocks(calls, x, dtype="f8", chunks=((7,) * 14 + (2,), (40,)))
    [step] = la.plan([m], chunk_bytes=8 * 40 * 20).passes
    assert set(step.bounds[0]) <= set(np.cumsum((0,) + (7,) * 14 + (2,)).tolist())
    np.testing.assert_array_equal(m.ndarray(chunk_bytes=8 * 40 * 20, workers=2), x * 2)
    assert sorted(calls.locations) == [(i, 0) for i in range(15)]
    # An irregular grid: tiles still end on block edges.
    calls.locations.clear()
    grid = (3, 17, 5, 9, 11, 2, 19, 4, 12, 18)
    m = map_blocks(calls, x, dtype="f8", chunks=(grid, (40,)))
    [step] = la.plan([m * 1], chunk_bytes=8 * 40 * 20).passes
    assert set(step.bounds[0]) <= set(np.cumsum((0,) + grid).tolist())
    np.testing.assert_array_equal(m.ndarray(chunk_bytes=8 * 40 * 20), x * 2)
    assert sorted(calls.locations) == [(i, 0) for i in range(len(grid))]


def test_with_reductions_in_one_pass_each_block_once():
    x = np.arange(4000.0).reshape(100, 40) % 13
    calls = Calls(doubled)
    m = map_blocks(calls, x, dtype="f8", chunks=((25,) * 4, (20, 20)))
    results = [la.mean(m, 0), m * 2, la.max(m, 1)]
    with la.set_options(chunk_bytes=8 * 40 * 25):
        [step] = la.plan(results).passes
        assert len(step.reductions) == 2 and len(step.stores) == 1
        mean, twice, top = la.ndarrays(results)
    np.testing.assert_allclose(mean, (x * 2).mean(0))
    np.testing.assert_array_equal(twice, x * 4)
    np.testing.assert_array_equal(top, (x * 2).max(1))
    assert sorted(calls.locations) == [(i, j) for i in range(4) for j in range(2)]


@pytest.mark.parametrize("key, blocks", [
    (np.s_[30:40], [(1, 0), (1, 1)]),
    (np.s_[30:55, 25:], [(1, 1), (2, 1)]),
    (np.s_[[99, 3], 0], [(0, 0), (3, 0)]),
    (np.s_[::50, 19], [(0, 0), (2, 0)]),
    (np.s_[74, 20], [(2, 1)]),
])
def test_a_selection_calls_func_for_the_blocks_covering_it(key, blocks):
    x = np.arange(4000.0).reshape(100, 40)
    calls = Calls(doubled)
    m = map_blocks(calls, x, dtype="f8", chunks=((25,) * 4, (20, 20)))
    np.testing.assert_array_equal(np.asarray(m[key].ndarray()), (x * 2)[key])
    assert sorted(calls.locations) == blocks
    if m[key].ndim:  # a selection of a selection
        calls.locations.clear()
        np.testing.assert_array_equal(m[key][::-1].ndarray(), (x * 2)[key][::-1])
        assert sorted(calls.locations) == blocks


@pytest.mark.parametrize("func, error, found", [
    (lambda a: a.astype("f4"), DTypeError, "dtype float32"),
    (lambda a: a[:-1] if a.shape[0] == 3 else a, ShapeError, r"shape \(2,\)"),
])
def test_a_wrong_block_is_named(func, error, found):
    m = map_blocks(func, np.zeros(6), dtype="f8", chunks=((3, 3),))
    with pytest.raises(error, match=rf"{found} for block \(0,\) \(chunk-location\); expected"):
        m.ndarray()
    with pytest.raises(error, match=r"block \(1,\)"):
        m[4:].ndarray()


def test_building_and_indexing_read_nothing():
    source = InaccessibleArray((20, 6), "f4")
    with refusing_reads():
        x = la.asarray(source)
        m = map_blocks(doubled, x, dtype="f4", chunks=((5,) * 4, (6,)))
        part = m[3:12, ::2] * 2
        assert part.shape == (9, 3) and m.chunks == ((5,) * 4, (6,))
        la.plan([la.mean(m, 0), part])
        assert isinstance(m[1:2], MapBlocks)


def test_pickled_results_evaluate_equal():
    x = np.arange(24.0).reshape(6, 4)
    m = map_blocks(doubled, x, dtype="f8", chunks=((2, 4), (4,)))
    for node in (m, m[1:5], la.mean(m, 0) + 1, map_blocks(np.sum, x, dtype="f8", drop_axis=1,
                                                         chunks=((2, 4),), axis=1)):
        back = pickle.loads(pickle.dumps(node))
        np.testing.assert_array_equal(back.ndarray(), node.ndarray())
        assert back.chunks == node.chunks


def test_masked_blocks_reach_func_masked():
    x = np.ma.masked_array(np.arange(6.0), mask=[0, 1, 0, 0, 0, 1])
    seen = []

    def kind(a: np.ndarray) -> np.ndarray:
        seen.append(isinstance(a, np.ma.MaskedArray))
        return a * 2

    m = map_blocks(kind, x, dtype="f8", chunks=((4, 2),))
    assert m.masked
    la.testing.assert_array_equal(m.masked_array(), x * 2)
    assert seen and all(seen)
    plain = map_blocks(lambda a: np.ma.masked_greater(a, 3), np.arange(6.0), dtype="f8",
                       chunks=((3, 3),))
    # Masked mode asked for: func's masks are kept.
    np.testing.assert_array_equal(plain.masked_array().mask, np.arange(6) > 3)


def test_other_arguments_and_keywords_are_passed_to_every_call():
    x = np.arange(6.0)
    m = map_blocks(np.add, x, 10.0, dtype="f8", chunks=((2, 4),))
    np.testing.assert_array_equal(m.ndarray(), x + 10)
    n = map_blocks(np.round, x / 3, dtype="f8", chunks=((3, 3),), decimals=1)
    np.testing.assert_array_equal(n.ndarray(), np.round(x / 3, 1))
    ids = map_blocks(lambda a, block_id: np.full_like(a, block_id[0]), x, dtype="f8",
                     chunks=((1, 5),))
    np.testing.assert_array_equal(ids.ndarray(), [0, 1, 1, 1, 1, 1])
    # block_info=True for a function that takes it through **kwargs.
    info = map_blocks(lambda a, **kw: a + kw["block_info"][0]["array-location"][0][0], x,
                      dtype="f8", chunks=((2, 4),), block_info=True)
    np.testing.assert_array_equal(info.ndarray(), x + [0, 0, 2, 2, 2, 2])
    with pytest.raises(TypeError, match="no array"):
        map_blocks(np.add, 1, 2, dtype="f8")


@st.composite
def selections(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """A key of ints, slices (of any step) and index lists, one item per axis."""
    key = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "list"])) if n else "slice"
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key.append(slice(draw(st.none() | st.integers(-n, n)),
                             draw(st.none() | st.integers(-n, n)),
                             draw(st.sampled_from([None, 1, 2, -1, -3]))))
        else:
            key.append(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))
    return tuple(key)


def _orthogonal(values: np.ndarray, key: tuple[Any, ...]) -> np.ndarray:
    return la.testing.orthogonal_index(values, key)


@given(grids(2), st.data())
def test_selections_of_any_result_are_numpy_s(grid, data):
    shape = tuple(sum(g) for g in grid)
    x = np.arange(np.prod(shape), dtype="f8").reshape(shape)
    kind = data.draw(st.sampled_from(["same", "drop", "resize", "new"]))
    if kind == "same":
        m = map_blocks(_placed, x, 1.0, dtype="f8", chunks=grid)
        expected = _dask_infos(_placed, da.from_array(x, chunks=grid), 1.0, dtype="f8",
                               meta=np.empty((0, 0)))[0]
    elif kind == "drop":
        m = map_blocks(np.sum, x, dtype="f8", drop_axis=0, chunks=grid[1:], axis=0)
        expected = x.sum(0)
    elif kind == "resize":  # the first row of each block along axis 0
        blocks = map_blocks(doubled, x / 2, dtype="f8", chunks=grid)  # x, in those blocks
        m = map_blocks(lambda a: a[:1], blocks, dtype="f8", chunks=((1,) * len(grid[0]), grid[1]))
        expected = x[np.cumsum((0,) + grid[0][:-1])]
    else:
        m = map_blocks(lambda a: np.stack([a, -a]), x, dtype="f8", new_axis=0,
                       chunks=((2,),) + grid)
        expected = np.stack([x, -x])
    assert m.shape == expected.shape
    key = data.draw(selections(m.shape))
    first = _orthogonal(expected, key)
    np.testing.assert_array_equal(m[key].ndarray(), first)
    if first.ndim:
        again = data.draw(selections(first.shape))
        np.testing.assert_array_equal(m[key][again].ndarray(), _orthogonal(first, again))


def test_empty_inputs_give_empty_results():
    m = map_blocks(doubled, np.zeros((0, 3)), dtype="f8")
    assert m.shape == (0, 3)
    assert m.ndarray().shape == (0, 3)
    assert map_blocks(doubled, np.ones(4), dtype="f8")[2:2].ndarray().shape == (0,)


def test_dropping_every_axis_gives_a_0d_result():
    x = np.ma.masked_array(np.arange(12.0).reshape(3, 4), mask=np.arange(12) % 5 == 0)
    s = map_blocks(np.sum, x.data, dtype="f8", drop_axis=[0, 1])
    assert s.shape == () and s.chunks == () and float(s) == 66.0
    t = map_blocks(lambda b: b.sum(axis=0), x, dtype="f8", drop_axis=0)
    la.testing.assert_array_equal(t.masked_array(), x.sum(0))
