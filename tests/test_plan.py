"""Tests of lazyarray.planning: tile shapes within the budget, tiles covering each element once."""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lazyarray.planning import iter_tiles, tile_shape

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12)
itemsizes = st.sampled_from([1, 2, 4, 8, 16])
budgets = st.integers(1, 6000)


@st.composite
def chunkings(draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Storage chunks for ``shape``: any positive lengths, some beyond the axis."""
    return tuple(draw(st.integers(1, max(n, 1) + 3)) for n in shape)


def coverage(shape: tuple[int, ...], tile: tuple[int, ...]) -> np.ndarray:
    """How many tiles of ``iter_tiles(shape, tile)`` cover each element."""
    counts = np.zeros(shape, np.int64)
    for region in iter_tiles(shape, tile):
        assert len(region) == len(shape)
        for item, n in zip(region, shape):
            assert isinstance(item, slice) and item.step is None
            assert 0 <= item.start < item.stop <= n  # in bounds and never empty
        counts[region] += 1
    return counts


def check_tiles(shape, itemsize, budget, tile) -> None:
    assert len(tile) == len(shape)
    assert all(isinstance(t, int) for t in tile)
    if math.prod(shape) == 0:
        assert list(iter_tiles(shape, tile)) == []
        return
    assert all(1 <= t <= n for t, n in zip(tile, shape)), (tile, shape)
    if itemsize <= budget:  # one element fits: so does a tile
        assert math.prod(tile) * itemsize <= budget, (tile, itemsize, budget)
    else:
        assert math.prod(tile) == 1
    assert (coverage(shape, tile) == 1).all()


@given(shape=shapes, itemsize=itemsizes, budget=budgets)
def test_tiles_fit_the_budget_and_cover_each_element_once(shape, itemsize, budget):
    tile = tile_shape(shape, itemsize, budget)
    check_tiles(shape, itemsize, budget, tile)


@given(shape=shapes, itemsize=itemsizes, budget=budgets)
def test_tiles_without_chunks_are_c_ordered_blocks_using_half_the_budget(shape, itemsize, budget):
    tile = tile_shape(shape, itemsize, budget)
    if math.prod(shape) == 0:
        return
    # Contiguous in a C-ordered result: whole trailing axes, then part of one
    # axis, then length 1.
    partial = [a for a, (t, n) in enumerate(zip(tile, shape)) if t != n]
    if partial:
        last = partial[-1]
        assert all(t == 1 for t in tile[:last]), (tile, shape)
        # Not needlessly small: at least half of what the budget allows.
        elements = max(1, budget // itemsize)
        assert math.prod(tile) * 2 >= elements, (tile, shape, elements)


@given(data=st.data(), shape=shapes, itemsize=itemsizes, budget=budgets)
def test_tiles_align_to_storage_chunks_when_one_fits(data, shape, itemsize, budget):
    chunks = data.draw(chunkings(shape), label="chunks")
    tile = tile_shape(shape, itemsize, budget, chunks)
    check_tiles(shape, itemsize, budget, tile)
    if math.prod(shape) == 0:
        return
    one_chunk = math.prod(min(c, n) for c, n in zip(chunks, shape)) * itemsize
    if one_chunk <= budget:
        # Every tile boundary is a chunk boundary: tiles are unions of whole chunks.
        for t, c, n in zip(tile, chunks, shape):
            assert t % c == 0 or t == n, (tile, chunks, shape)
        for region in iter_tiles(shape, tile):
            for item, c, n in zip(region, chunks, shape):
                assert item.start % c == 0 and (item.stop % c == 0 or item.stop == n)


@given(shape=shapes, itemsize=itemsizes, budget=budgets)
def test_chunks_of_another_rank_are_ignored(shape, itemsize, budget):
    chunks = (1,) * (len(shape) + 1)
    assert tile_shape(shape, itemsize, budget, chunks) == tile_shape(shape, itemsize, budget)


@given(shape=shapes, tile=st.data())
def test_iter_tiles_covers_with_any_tile_shape(shape, tile):
    tile = tuple(tile.draw(st.integers(1, max(n, 1) + 2)) for n in shape)
    tiles = list(iter_tiles(shape, tile))
    if math.prod(shape) == 0:
        assert tiles == []
        return
    assert len(tiles) == math.prod(math.ceil(n / t) for n, t in zip(shape, tile))
    starts = [tuple(item.start for item in region) for region in tiles]
    assert starts == sorted(starts)  # C order
    assert (coverage(shape, tile) == 1).all()


@pytest.mark.parametrize(
    "shape, itemsize, budget, chunks, expected",
    [
        ((100, 50, 40), 8, 8 * 4000, None, (2, 50, 40)),
        ((100, 50, 40), 8, 8 * 4000, (1, 25, 40), (2, 50, 40)),
        ((100, 50, 40), 8, 8 * 1000, (1, 25, 40), (1, 25, 40)),
        ((100, 50, 40), 8, 8 * 999, (1, 25, 40), (1, 24, 40)),  # a chunk does not fit
        ((10, 10), 4, 4 * 59, (3, 3), (3, 10)),
        ((7,), 8, 8 * 100, None, (7,)),  # the whole array fits
        ((7,), 8, 8 * 100, (100,), (7,)),  # chunks beyond the shape
        ((5, 6), 8, 4, None, (1, 1)),  # not one element fits: one at a time
    ],
)
def test_tile_shape_examples(shape, itemsize, budget, chunks, expected):
    assert tile_shape(shape, itemsize, budget, chunks) == expected


def test_0d_and_zero_size():
    assert tile_shape((), 8, 1) == ()
    assert list(iter_tiles((), ())) == [()]
    for shape in [(0,), (3, 0), (0, 4, 5)]:
        tile = tile_shape(shape, 8, 64)
        assert len(tile) == len(shape)
        assert list(iter_tiles(shape, tile)) == []
        assert list(iter_tiles(shape, tile_shape(shape, 8, 64, (2,) * len(shape)))) == []


# -- passes: bytes and reads --------------------------------------------------------


def test_an_aggregation_of_an_aggregation_reads_the_earlier_result_not_the_source():
    import lazyarray as la
    from lazyarray.planning import walk_inputs
    from lazyarray.testing import InaccessibleArray

    a = la.asarray(InaccessibleArray((50, 8, 6), "f4"))
    top = la.max(a, 0)
    first, second = la.plan([la.mean(top, 0)]).passes
    assert first.read_bytes == a.nbytes
    # The second pass traverses the maximum, computed by the first: in
    # memory, so it reads no source and needs the maximum's bytes only.
    assert second.domain == (8, 6) and second.read_bytes == 0
    assert second.bytes_per_element == top.dtype.itemsize
    assert list(walk_inputs(top)) == [top]
    values = np.arange(50 * 8 * 6, dtype="f4").reshape(50, 8, 6) % 17
    mean = la.mean(la.max(values, 0), 0).ndarray()
    np.testing.assert_allclose(mean, values.max(0).mean(0), rtol=1e-6)


def test_tile_bytes_count_partial_states():
    import lazyarray as la
    from lazyarray.testing import InaccessibleArray

    a = la.asarray(InaccessibleArray((40, 30, 20), "f4"))
    step = la.plan([la.mean(a, 0), la.var(a, (1, 2))], chunk_bytes=4 * 30 * 20 * 4).passes[0]
    assert step.tile == (4, 30, 20)
    data = 4 * 30 * 20 * step.bytes_per_element
    states = 30 * 20 * a.mean(0).accumulator_state_bytes + 4 * a.var((1, 2)).accumulator_state_bytes
    assert step.tile_bytes == data + states


# -- the tiling that reads least ------------------------------------------------------------


def _zarr(values, chunks):
    import zarr

    z = zarr.create_array({}, shape=values.shape, chunks=chunks, dtype=values.dtype)
    z[...] = values
    return z


def test_sources_whose_chunk_grids_share_no_cut_within_the_budget_are_planned_and_explained():
    """Chunks of 5 and of 7 rows share no cut below 35 rows: with tiles of at
    most 10 rows, the planner keeps one source's chunks whole (the one whose
    splitting would cost most) and says what the other costs."""
    import lazyarray as la

    a_values = np.arange(70 * 3, dtype=np.float32).reshape(70, 3) + 1
    b_values = a_values[::-1] * 2
    a, b = la.asarray(_zarr(a_values, (5, 3))), la.asarray(_zarr(b_values, (7, 3)))
    plan = la.plan([a + b], chunk_bytes=10 * 3 * 4)
    [step] = plan.passes
    assert max(np.diff(step.bounds[0])) <= 10
    assert set(step.bounds[0]) <= set(range(0, 71, 5)) or set(step.bounds[0]) <= set(
        list(range(0, 71, 7)) + [70])
    assert step.read_bytes > step.stored_bytes == a.nbytes + b.nbytes
    assert "share no cuts" in plan.explain()
    np.testing.assert_array_equal((a + b).ndarray(chunk_bytes=10 * 3 * 4), a_values + b_values)
    # Room for 35 rows: every chunk read once, nothing to say.
    plan = la.plan([a + b], chunk_bytes=35 * 3 * 4)
    assert plan.read_bytes == plan.passes[0].stored_bytes and not plan.passes[0].notes


def test_a_chunk_that_cannot_fit_the_memory_limit_is_refused_even_beside_others():
    import pytest

    import lazyarray as la
    from lazyarray.errors import MemoryBudgetError

    small = la.asarray(_zarr(np.ones((64, 64), np.float32), (4, 64)))
    large = la.asarray(_zarr(np.ones((64, 64), np.float32), (64, 64)))
    with pytest.raises(MemoryBudgetError, match=r"storage chunks \(64, 64\)"):
        la.plan([small + large], memory_limit=20 * 1024)
    assert la.plan([small + large], memory_limit=200 * 1024).read_bytes == 2 * 64 * 64 * 4


def test_tiles_within_mosaic_members_count_no_joined_copy():
    import lazyarray as la
    from lazyarray.planning.memory import pass_bytes

    members = [la.asarray(_zarr(np.ones((30, 8), np.float32), (10, 8))) for _ in range(3)]
    mosaic = la.concatenate(members)
    target = mosaic * 2
    [step] = la.plan([target], chunk_bytes=10 * 8 * 4).passes
    assert {30, 60} <= set(step.bounds[0])
    assert step.bytes_per_element == pass_bytes([target], [], joined=False)
    assert pass_bytes([target], []) == step.bytes_per_element + 4  # the joined copy
    [step] = la.plan([target], chunk_bytes=90 * 8 * 4).passes  # one tile across members
    assert step.bytes_per_element == pass_bytes([target], [])
