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
    with pytest.raises(MemoryBudgetError, match=r"tiles of at least \(64, 64\) \(a storage chunk"):
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


# -- results written to sinks against results kept in memory -----------------------------


def test_a_result_written_to_a_sink_is_held_only_as_tiles_with_their_copies():
    """pass_bytes: a store written to a sink adds the copy prepared for it (its
    itemsize per element, twice when masked: filled, then encoded), each node once;
    one kept in memory adds nothing (the plan counts its result apart)."""
    import lazyarray as la
    from lazyarray.planning.memory import pass_bytes

    x = la.asarray(np.zeros((6, 5), np.float64))
    doubled, halved = x * 2, (x / 2).astype(np.float32)
    kept = pass_bytes([doubled, halved], [])
    assert kept == 8 + 8 + 8 + 4  # the source, x * 2, x / 2, then its float32 copy
    assert pass_bytes([doubled, halved], [], written=[halved]) == kept + 4
    assert pass_bytes([doubled, halved], [], written=[doubled, halved, doubled]) == kept + 8 + 4
    masked = la.asarray(np.ma.masked_array(np.zeros((6, 5), np.int16), mask=False)) + 1
    alone = pass_bytes([masked], [])
    assert pass_bytes([masked], [], written=[masked]) == alone + 2 * 2
    # What the sink receives is still what numpy computes.
    assert masked.ndarray().dtype == np.int16 and halved.ndarray().dtype == np.float32


@pytest.mark.parametrize("in_memory", [[True, True], [False, True], [False, False]])
def test_results_count_in_memory_only_when_kept_there(in_memory):
    """make_plan's projection: a stored array kept in memory counts whole in
    ``result_bytes``; one streamed to a sink does not. A reduction counts its
    result and states either way (they are held until it finishes)."""
    import lazyarray as la
    from lazyarray.options import get_options
    from lazyarray.planning import make_plan
    from lazyarray.testing import InaccessibleArray

    a = la.asarray(InaccessibleArray((40, 30, 20), "f4"))
    anomaly, mean = a - 1, la.mean(a, 0)
    plan = make_plan([anomaly, mean], get_options(chunk_bytes=2**15), in_memory=in_memory)
    states = mean.nbytes + mean.size * mean._plan_state_bytes
    expected = states + (anomaly.nbytes if in_memory[0] else 0)
    assert plan.result_bytes == expected
    assert plan.peak_bytes == plan.result_bytes + plan.tile_memory
    assert plan.tile_memory <= plan.memory_limit
    [step] = plan.passes
    assert step.stores == (anomaly,) and step.reductions == (mean,)


def test_explain_says_what_is_written_and_not_held():
    import dataclasses

    import lazyarray as la

    a = la.asarray(np.zeros((100, 10, 10), np.float32))
    plan = la.plan([a * 2], chunk_bytes=2**14)
    text = plan.explain()
    assert plan.written_bytes == 0 and "Writes" not in text
    written = dataclasses.replace(plan, result_bytes=0, written_bytes=a.nbytes)
    line = written.explain().splitlines()[1]
    assert line.endswith("Writes 39.1 KiB to files or targets, a tile at a time: "
                         "not held in memory.")
    assert written.peak_bytes == plan.tile_memory == plan.peak_bytes - a.nbytes


def test_a_plan_that_writes_to_files_counts_the_copies_and_says_so():
    import lazyarray as la
    from lazyarray.options import get_options
    from lazyarray.planning import make_plan
    from lazyarray.testing import InaccessibleArray

    a = la.asarray(InaccessibleArray((400, 100, 100), "f4"))
    target = a - 1
    options = get_options(memory_limit=2**22)
    kept = make_plan([target], options, in_memory=[True])
    sent = make_plan([target], options, in_memory=[False])
    both = make_plan([target, target], options, in_memory=[True, False])
    assert sent.passes[0].bytes_per_element == kept.passes[0].bytes_per_element + 4
    assert both.passes[0].bytes_per_element == sent.passes[0].bytes_per_element
    assert (kept.written_bytes, sent.written_bytes) == (0, target.nbytes)
    assert (kept.result_bytes, sent.result_bytes, both.result_bytes) == (
        target.nbytes, 0, target.nbytes)
    assert sent.tile_memory <= sent.memory_limit
    assert "Writes 15.3 MiB to files or targets" in sent.explain()
