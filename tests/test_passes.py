"""The pass planner (DESIGN.md section 6): results grouped into passes and
stages, tiles of whole storage chunks within the budget, reduced axes
innermost, plans explained in words, and plans that cannot fit refused
before anything is read.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import re

import h5py
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.array import format_bytes
from lazyarray.errors import MemoryBudgetError
from lazyarray.planning import COLUMN_BYTES, DEPTH, REGION_BYTES
from lazyarray.testing import CountingArray, InaccessibleArray, recording_reads

KiB = 2**10
planner = importlib.import_module("lazyarray.planning.tiling")  # where REGION_BYTES is used


def lazy(shape, dtype="f8"):
    """A source that refuses to be read: planning must not read."""
    return la.asarray(InaccessibleArray(shape, dtype))


def coverage(step) -> np.ndarray:
    """How many of ``step``'s tiles cover each element of its domain."""
    counts = np.zeros(step.domain, np.int64)
    for region in step.tiles():
        assert all(0 <= s.start < s.stop <= n for s, n in zip(region, step.domain))
        counts[region] += 1
    return counts


# -- grouping into passes and stages -----------------------------------------------


def shared_domain(a, b, c):
    return [la.mean(a, 0), la.std(a, 0), la.max(a, 1), la.sum(a), a * 2, a - b]


def anomalies(a, b, c):
    return [a - la.mean(a, 0)]


def anomalies_with_statistics(a, b, c):
    return [a - la.mean(a, 0), la.std(a, 0), a * 2]


def aggregation_of_aggregation(a, b, c):
    return [la.mean(la.max(a, 0))]


def coefficient_of_variation(a, b, c):
    mosaic = la.concatenate([a, b], axis=0)
    return [la.std(mosaic) / la.mean(mosaic)]


def different_domains(a, b, c):
    return [la.mean(a), la.mean(c), a[0] * 2]


def standardised(a, b, c):
    deviation = a - la.mean(a, 0)
    return [deviation / la.std(deviation, 0)]


def numpy_results(case, a, b, c):
    """What numpy computes for ``case`` on the realised sources."""
    return {
        shared_domain: lambda: [a.mean(0), a.std(0), a.max(1), a.sum(), a * 2, a - b],
        anomalies: lambda: [a - a.mean(0)],
        anomalies_with_statistics: lambda: [a - a.mean(0), a.std(0), a * 2],
        aggregation_of_aggregation: lambda: [a.max(0).mean()],
        coefficient_of_variation: lambda: [
            np.concatenate([a, b]).std() / np.concatenate([a, b]).mean()
        ],
        different_domains: lambda: [a.mean(), c.mean(), a[0] * 2],
        standardised: lambda: [(a - a.mean(0)) / (a - a.mean(0)).std(0)],
    }[case]()


# case: passes as (stage, domain, reductions, stores); times the first row of
# ``a`` and the others are read (once per pass that traverses them)
GROUPINGS = [
    (shared_domain, [(0, (12, 10), 4, 2)], (1, 1)),
    (anomalies, [(0, (12, 10), 1, 0), (1, (12, 10), 0, 1)], (2, 2)),
    (anomalies_with_statistics, [(0, (12, 10), 2, 1), (1, (12, 10), 0, 1)], (2, 2)),
    (aggregation_of_aggregation, [(0, (12, 10), 1, 0), (1, (10,), 1, 0)], (1, 1)),
    (coefficient_of_variation, [(0, (24, 10), 2, 0), (1, (), 0, 1)], (1, 1)),
    (different_domains, [(0, (12, 10), 1, 0), (0, (5, 7), 1, 0), (0, (10,), 0, 1)], (2, 1)),
    (standardised, [(0, (12, 10), 1, 0), (1, (12, 10), 1, 0), (2, (12, 10), 0, 1)], (3, 3)),
]


@pytest.mark.parametrize("case, expected, reads", GROUPINGS, ids=[g[0].__name__ for g in GROUPINGS])
def test_results_are_grouped_into_passes_and_stages(case, expected, reads):
    plan = la.plan(case(lazy((12, 10)), lazy((12, 10)), lazy((5, 7))), chunk_bytes=256)
    found = [(p.stage, p.domain, len(p.reductions), len(p.stores)) for p in plan.passes]
    assert found == expected
    assert [p.stage for p in plan.passes] == sorted(p.stage for p in plan.passes)
    for step in plan.passes:
        if step.tile_count:
            assert (coverage(step) == 1).all()


@pytest.mark.parametrize("case, expected, reads", GROUPINGS, ids=[g[0].__name__ for g in GROUPINGS])
@pytest.mark.parametrize("workers", [1, 3])
def test_planned_evaluations_read_once_per_pass_and_equal_numpy(case, expected, reads, workers):
    rng = np.random.default_rng(0)
    a, b, c = rng.random((12, 10)) + 1, rng.random((12, 10)) + 1, rng.random((5, 7))
    sources = CountingArray(a), CountingArray(b), CountingArray(c)
    results = la.ndarrays(case(*map(la.asarray, sources)), chunk_bytes=256, workers=workers)
    # Each pass reads its tiles of ``a`` once: a pass over a's shape reads all
    # of it, the one over a[0] (different_domains) reads its first row again.
    counts = sources[0].counts
    assert (counts[0] == reads[0]).all() and (counts[1:] == reads[1]).all(), counts
    for actual, wanted in zip(results, numpy_results(case, a, b, c), strict=True):
        wanted = np.asarray(wanted)
        assert actual.shape == wanted.shape and actual.dtype == wanted.dtype
        np.testing.assert_allclose(actual, wanted, rtol=1e-12)


def test_the_same_aggregation_used_twice_is_computed_once():
    a = lazy((8, 6))
    mean = la.mean(a, 0)
    plan = la.plan([mean, a - mean, mean * 2])
    # The mean in stage 1; in stage 2, a - mean over a's shape, mean * 2 over the mean's.
    assert [(p.stage, p.domain) for p in plan.passes] == [(0, (8, 6)), (1, (8, 6)), (1, (6,))]
    assert [len(p.reductions) for p in plan.passes] == [1, 0, 0]
    assert [len(p.stores) for p in plan.passes] == [0, 1, 1]


# -- explain ----------------------------------------------------------------------------


def test_explain_says_passes_bytes_and_projected_peak():
    a = lazy((200, 30, 20), "f4")
    plan = la.plan([a - la.mean(a, 0), la.std(a, 0)], workers=2, chunk_bytes=16 * KiB,
                   memory_limit=4 * 2**20)
    text = plan.explain()
    lines = text.splitlines()
    assert lines[0] == "2 passes in 2 stages; 2 workers, up to 4 tiles in flight."
    assert lines[1] == (
        f"Reads {format_bytes(plan.read_bytes)} in all. Projected peak "
        f"{format_bytes(plan.peak_bytes)}: results {format_bytes(plan.result_bytes)} + tiles "
        f"{format_bytes(plan.tile_memory)} (limit 4.0 MiB)."
    )
    assert plan.read_bytes == 2 * a.nbytes
    assert len(lines) == 2 + len(plan.passes)
    for number, (line, step) in enumerate(zip(lines[2:], plan.passes), start=1):
        assert line.startswith(f"Pass {number} (stage {step.stage + 1}): traverses {step.domain} "
                               f"in {step.tile_count} tiles of {step.tile}, "
                               f"{format_bytes(step.tile_bytes)} each")
        assert line.endswith(f"reads {format_bytes(step.read_bytes)}.")
    assert "computes std over axis 0, mean over axis 0" in lines[2]
    assert "reduced axes innermost" in lines[2]
    assert "writes 1 array of that shape" in lines[3]


def test_explain_of_one_small_pass():
    plan = la.plan([la.sum(lazy((3,), "i2"))], workers=1)
    assert plan.explain().splitlines()[:1] == [
        "1 pass in 1 stage; 1 worker, up to 2 tiles in flight."
    ]
    assert re.search(r"in 1 tile of \(3,\), \d+ B each; computes sum over axis 0; reads 6 B\.$",
                     plan.explain())


# -- memory: projected peak within results + memory_limit --------------------------------

GRAPHS = {
    "statistics": lambda a: [la.mean(a, 0), la.std(a, -1), la.max(a)],
    "saved and reduced": lambda a: [a * 2, la.var(a, 0), la.argmin(a, 0)],
    "anomalies": lambda a: [a - la.mean(a, 0)],
    "elementwise": lambda a: [la.sqrt(abs(a)) + (a > 0)],
}


@settings(max_examples=100)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
    dtype=st.sampled_from(["u1", "i4", "f4", "f8", "c16"]),
    graph=st.sampled_from(list(GRAPHS)),
    memory_limit=st.integers(64, 256 * KiB),
    chunk_bytes=st.integers(1, 64 * KiB),
    workers=st.integers(1, 8),
)
def test_projected_peak_stays_within_results_plus_memory_limit(
    shape, dtype, graph, memory_limit, chunk_bytes, workers
):
    a = lazy(shape, dtype)
    try:
        plan = la.plan(GRAPHS[graph](a), memory_limit=memory_limit, chunk_bytes=chunk_bytes,
                       workers=workers)
    except MemoryBudgetError as error:
        # Refused only when not even one element a tile fits.
        needed = int(re.search(r"needs (\d+) B", str(error)).group(1))
        assert needed > memory_limit
        return
    assert plan.tile_memory <= memory_limit
    assert plan.peak_bytes == plan.result_bytes + plan.tile_memory
    assert plan.peak_bytes <= plan.result_bytes + memory_limit
    assert 1 <= plan.in_flight <= 2 * workers
    for step in plan.passes:
        assert step.tile_bytes * plan.in_flight <= memory_limit
        if step.tile_count <= 500:  # one-element tiles of big shapes: long to walk
            assert (coverage(step) == 1).all()


def test_tiles_do_not_depend_on_workers():
    # The tiling sets the order partial results merge in: the same for any
    # number of workers, so results are too (see test_progress.py).
    a = lazy((600, 50, 40))
    tiles = {
        workers: [p.tile for p in la.plan([la.std(a, 0), a - la.mean(a, 0)],
                                          memory_limit=2**20, workers=workers).passes]
        for workers in (1, 2, 3, 8)
    }
    assert tiles[1] == tiles[2] == tiles[3] == tiles[8]


def test_partial_states_count_in_a_tiles_memory():
    # mean over axis 0 of planes: each tile's partial state is a plane (of
    # float64 sums and int64 counts).
    a = lazy((100, 256, 256), "f4")
    [step] = la.plan([la.mean(a, 0)]).passes
    state = step.reductions[0].accumulator_state_bytes
    assert state > 0
    assert step.tile_bytes == math.prod(step.tile) * step.bytes_per_element + 256 * 256 * state


# -- tiles of whole storage chunks ------------------------------------------------------


@pytest.fixture
def hdf5_file(tmp_path):
    with h5py.File(tmp_path / "chunks.h5", "w") as f:
        yield f


def read_only(hdf5_file, stack):
    """``hdf5_file`` closed and opened again read-only (in ``stack``), as the
    direct reader needs: its plain chunks are then read in parts where it
    can, and the planner counts and cuts them so."""
    path = hdf5_file.filename
    hdf5_file.close()
    return stack.enter_context(h5py.File(path, "r"))


def chunked_sources(shape, chunks, hdf5_file):
    hdf5 = hdf5_file.create_dataset(f"x{len(hdf5_file)}", shape=shape, dtype="f4", chunks=chunks)
    z = zarr.create_array({}, shape=shape, chunks=chunks, dtype="f4")
    return {"hdf5": la.asarray(hdf5), "zarr": la.asarray(z)}


@st.composite
def shapes_and_chunks(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40))
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    return shape, chunks


@settings(max_examples=40)
@given(case=shapes_and_chunks(), budget_chunks=st.integers(1, 12), reduce=st.booleans())
def test_tiles_are_unions_of_whole_storage_chunks(tmp_path_factory, case, budget_chunks, reduce):
    shape, chunks = case
    path = tmp_path_factory.mktemp("chunks") / "x.h5"
    with h5py.File(path, "w") as f:
        for kind, a in chunked_sources(shape, chunks, f).items():
            targets = [la.mean(a, 0), la.max(a, -1)] if reduce else [a * 2]
            one = la.plan(targets, chunk_bytes=2**30, memory_limit=2**30).passes[0]
            chunk_bytes = math.prod(chunks) * 4
            # A budget of some chunks a tile; each fits.
            plan = la.plan(targets, chunk_bytes=chunk_bytes * budget_chunks,
                           memory_limit=max(4, budget_chunks) * one.tile_bytes)
            [step] = plan.passes
            assert (coverage(step) == 1).all(), kind
            for region in step.tiles():
                for item, c, n in zip(region, chunks, shape):
                    assert item.start % c == 0 and (item.stop % c == 0 or item.stop == n), (
                        kind, step.tile, chunks
                    )
            assert math.prod(step.tile) * 4 <= max(chunk_bytes * budget_chunks, chunk_bytes)


def test_one_chunk_beyond_a_tile_share_still_makes_whole_chunk_tiles(hdf5_file):
    # Planes of 256 KiB, 1 MiB of memory: a chunk is more than a quarter of
    # the budget, so fewer tiles go in flight, but chunks are not cut.
    for kind, a in chunked_sources((50, 256, 256), (1, 256, 256), hdf5_file).items():
        plan = la.plan([la.mean(a, 0), a + 1], memory_limit=2**20 * 3, workers=2)
        [step] = plan.passes
        assert step.tile == (1, 256, 256), kind
        assert plan.in_flight * step.tile_bytes <= 2**20 * 3
        assert plan.in_flight >= 1


def test_chunk_bytes_below_a_chunk_cuts_chunks(hdf5_file):
    a = chunked_sources((8, 100), (4, 100), hdf5_file)["hdf5"]
    [step] = la.plan([a * 2], chunk_bytes=200).passes
    assert math.prod(step.tile) * 4 <= 200


# -- traversal order: reduced axes innermost -------------------------------------------


@pytest.mark.parametrize(
    "axis, order",
    [(0, (1, 2, 0)), (1, (0, 2, 1)), (2, (0, 1, 2)), ((0, 2), (1, 0, 2)), (None, (0, 1, 2))],
)
def test_reduced_axes_are_innermost(axis, order):
    a = lazy((7, 6, 5))
    [step] = la.plan([la.mean(a, axis), la.std(a, axis)], chunk_bytes=8 * 3).passes
    assert step.order == order
    reduced = [x for x in range(3) if x not in order[: 3 - len(step.reductions[0].axes)]]
    kept = [x for x in range(3) if x not in reduced]
    tiles = list(step.tiles())
    assert len(tiles) == step.tile_count == len({tuple((r.start, r.stop) for r in t) for t in tiles})
    assert (coverage(step) == 1).all()
    # Runs of consecutive tiles share their output region, and each output
    # region is one run: it completes before the next starts.
    regions = [tuple((r[x].start, r[x].stop) for x in kept) for r in tiles]
    runs = [regions[0]] + [b for a_, b in itertools.pairwise(regions) if b != a_]
    assert len(runs) == len(set(runs))
    run_length = math.prod(-(-step.domain[x] // step.tile[x]) for x in reduced)
    assert len(tiles) == len(runs) * run_length
    # Within a run, tiles go in C order along the reduced axes.
    for start in range(0, len(tiles), run_length):
        corners = [tuple(r[x].start for x in reduced) for r in tiles[start : start + run_length]]
        assert corners == sorted(corners)


def test_stores_are_traversed_in_c_order():
    [step] = la.plan([lazy((9, 4)) * 2], chunk_bytes=8 * 3).passes
    assert step.order == (0, 1)
    starts = [tuple(s.start for s in r) for r in step.tiles()]
    assert starts == sorted(starts)


# -- plans that cannot fit ----------------------------------------------------------------


def test_memory_budget_error_names_the_numbers_and_reads_nothing(hdf5_file):
    data = hdf5_file.create_dataset("planes", data=np.ones((6, 64, 64), "f4"), chunks=(2, 64, 64))
    a = la.HDF5ArrayAdapter(data)
    out = np.full((6, 64, 64), -1.0, "f4")
    # One chunk is 32 KiB of data, 4 working bytes an element, plus an 8 KiB
    # chunk-sized decode buffer... and 64 KiB of partial states for the mean.
    calls = {
        "plan": lambda: la.plan([la.mean(a, 0)], memory_limit=48 * KiB),
        "ndarrays": lambda: la.ndarrays([la.mean(a, 0), a * 2], memory_limit=48 * KiB),
        "save": lambda: la.save([a * 2], [out], compute=[la.mean(a, 0)], memory_limit=48 * KiB),
    }
    with recording_reads() as reads:
        for name, call in calls.items():
            with pytest.raises(MemoryBudgetError) as caught:
                call()
            message = str(caught.value)
            assert "(6, 64, 64)" in message and "tiles of at least (2, 64, 64)" in message, name
            assert re.search(r"needs [\d.]+ KiB for its smallest tile", message), name
            assert "memory_limit is 48.0 KiB" in message, name
            assert isinstance(caught.value, MemoryError)
    assert len(reads) == 0
    np.testing.assert_array_equal(out, -1.0)
    # With room for one chunk, the same evaluations run and equal numpy.
    [mean] = la.save([a * 2], [out], compute=[la.mean(a, 0)], memory_limit=256 * KiB)
    np.testing.assert_array_equal(out, 2.0)
    np.testing.assert_array_equal(mean, np.ones((64, 64), "f4"))


def test_memory_budget_error_without_chunks_when_one_element_does_not_fit():
    source = CountingArray(np.arange(10.0))
    a = la.asarray(source)
    with pytest.raises(MemoryBudgetError, match=r"needs \d+ B .*memory_limit is 4 B"):
        la.ndarrays([a * 2 + 1], memory_limit=4)
    assert source.reads == 0
    np.testing.assert_array_equal(la.ndarrays([a * 2 + 1], memory_limit=64)[0],
                                  np.arange(10.0) * 2 + 1)


def test_the_plan_of_mean_and_std_over_8_gb_of_planes(hdf5_file):
    """The slow test in test_memory.py, planned only (h5py allocates chunks when written)."""
    hdf5_file.create_dataset("big", shape=(2048, 1024, 1024), dtype="f4", chunks=(1, 1024, 1024))
    with contextlib.ExitStack() as stack:
        a = la.asarray(read_only(hdf5_file, stack)["big"])
        check_the_plan_of_mean_and_std_over_8_gb_of_planes(a)


def check_the_plan_of_mean_and_std_over_8_gb_of_planes(a):
    MiB = 2**20
    plans = [la.plan([la.mean(a, 0), la.std(a, 0)], memory_limit=256 * MiB, workers=w)
             for w in (1, 2, 4)]
    assert len({p.passes[0].tile for p in plans}) == 1  # whatever the workers
    plan = plans[1]
    [step] = plan.passes
    mean, std = step.reductions
    # Plain chunks are cut along the kept axes: a narrower output region,
    # deeper tiles, so that each tile's data outweighs its partial states
    # (float64 sums, means and squared deviations) DEPTH times.
    region = step.tile[1] * step.tile[2]
    states = region * (mean.accumulator_state_bytes + std.accumulator_state_bytes)
    assert step.tile[2] == 1024 and 1024 % step.tile[1] == 0  # whole rows of planes
    assert region * 4 >= REGION_BYTES
    assert states * DEPTH <= math.prod(step.tile) * step.bytes_per_element
    assert step.tile_bytes == math.prod(step.tile) * step.bytes_per_element + states
    assert plan.tile_memory <= 256 * MiB
    assert plan.peak_bytes <= plan.result_bytes + 256 * MiB
    assert plan.read_bytes == 8 * 2**30
    assert f"{step.tile_count} tiles of {step.tile}" in plan.explain()


@settings(max_examples=60, deadline=None)
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=9), data=st.data())
def test_deep_tiles_of_reductions_alone_equal_numpy(tmp_path_factory, shape, data):
    """Reductions alone over one set of axes get deep tiles: the output region
    narrows (plain chunks cut along kept axes) until a tile's data outweighs
    its partial states DEPTH times. REGION_BYTES is lowered so that small
    arrays have such tiles too."""
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1,
                                          max_size=len(shape) - 1))))
    values = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-1e3, 1e3, width=32)))
    chunk_bytes = data.draw(st.integers(4, 4 * values.size), label="chunk_bytes")
    with contextlib.ExitStack() as stack:
        source = values
        if data.draw(st.booleans(), label="hdf5"):
            chunks = tuple(data.draw(st.integers(1, n), label="chunk") for n in shape)
            path = tmp_path_factory.mktemp("deep") / "x.h5"
            with h5py.File(path, "w") as f:
                f.create_dataset("x", data=values, chunks=chunks)  # plain: may be cut
            source = stack.enter_context(h5py.File(path, "r"))["x"]
        x = la.asarray(source)
        reductions = [la.mean(x, axes), la.std(x, axes), la.min(x, axes), la.max(x, axes)]
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(planner, "REGION_BYTES", 4)
        [step] = la.plan(reductions, chunk_bytes=chunk_bytes).passes
        results = la.ndarrays(reductions, chunk_bytes=chunk_bytes)
    kept = [a for a in range(len(shape)) if a not in axes]
    region = math.prod(step.tile[a] for a in kept)
    states = region * sum(r.accumulator_state_bytes for r in reductions)
    assert (states * DEPTH <= math.prod(step.tile) * step.bytes_per_element
            or region == 1 or all(step.tile[a] == shape[a] for a in axes)
            or math.prod(step.tile) * 4 > chunk_bytes / 2)  # the reduced axes have grown
    wide = values.astype(np.float64)
    for result, expected in zip(results, (wide.mean(axes), wide.std(axes),
                                          values.min(axes), values.max(axes))):
        assert result.shape == expected.shape and result.dtype == np.float32
        np.testing.assert_allclose(result, expected.astype(np.float32), rtol=1e-5, atol=1e-3)


def test_deep_tiles_keep_encoded_chunks_whole_and_long_reads(hdf5_file):
    """Compressed chunks are not cut to deepen tiles (each part would decode
    the whole chunk), and the output region keeps REGION_BYTES of input."""
    for name, compression in (("plain", None), ("packed", "gzip"), ("blocks", None)):
        hdf5_file.create_dataset(name, shape=(512, 1024, 1024), dtype="f4",
                                 chunks=(1, 256, 256) if name == "blocks" else (1, 1024, 1024),
                                 compression=compression)
    with contextlib.ExitStack() as stack:
        check_deep_tiles_keep_encoded_chunks_whole_and_long_reads(read_only(hdf5_file, stack))


def check_deep_tiles_keep_encoded_chunks_whole_and_long_reads(f):
    plain, packed, blocks = f["plain"], f["packed"], f["blocks"]
    for source, deep in ((plain, True), (packed, False)):
        x = la.asarray(source)
        [step] = la.plan([la.mean(x, 0), la.std(x, 0)], memory_limit=256 * 2**20).passes
        assert (step.tile[1] < 1024) == deep
        assert step.tile[1] * step.tile[2] * 4 >= REGION_BYTES and step.tile[2] == 1024
    # Plain chunks are cut only where each part is read alone: not (1, 256,
    # 256) chunks, whose parts are 256 runs each (the reader fetches such a
    # chunk whole); tiles are made of whole ones, each one run of 256 KiB.
    x = la.asarray(blocks)
    [step] = la.plan([la.mean(x, 0), la.std(x, 0)], memory_limit=256 * 2**20).passes
    assert step.tile[1] % 256 == 0 and step.tile[2] % 256 == 0
    assert all(b % 256 == 0 for b in step.bounds[1][:-1] + step.bounds[2][:-1])
    assert step.read_bytes == step.stored_bytes == x.nbytes
    # Not with a store in the same pass: tiles stay C-ordered for the writes.
    x = la.asarray(plain)
    [step] = la.plan([la.mean(x, 0), x * 2], memory_limit=256 * 2**20).passes
    assert step.tile[1:] == (1024, 1024)
    # Through h5py, a chunk a tile takes part of counts whole: deep tiles
    # would read each plane four times or more, so tiles hold whole planes.
    [step] = la.plan([la.mean(x, 0), la.std(x, 0)], memory_limit=256 * 2**20,
                     direct_io=False).passes
    assert step.tile[1:] == (1024, 1024) and step.read_bytes == x.nbytes


def test_reductions_of_large_chunks_stack_them_along_the_first_axis(hdf5_file):
    """Chunks of a megabyte or more that a tile would hold side by side are
    stacked along the first axis instead, one chunk wide: each is then read
    into its place in the tile, and every chunk is still read once."""
    hdf5_file.create_dataset("cubes", shape=(500, 1000, 1000), dtype="f4",
                             chunks=(50, 100, 100))  # 2 MB each
    hdf5_file.create_dataset("small", shape=(500, 1000, 1000), dtype="f4",
                             chunks=(10, 50, 100))  # 200 KB each
    with contextlib.ExitStack() as stack:
        f = read_only(hdf5_file, stack)
        for axes in (0, (1, 2)):
            x = la.asarray(f["cubes"])
            [step] = la.plan([la.mean(x, axes), la.std(x, axes)]).passes
            assert step.tile[1:] == (100, 100) and step.tile[0] % 50 == 0
            assert math.prod(step.tile) * 4 <= COLUMN_BYTES
            assert step.read_bytes == step.stored_bytes == x.nbytes
            # Smaller chunks stay side by side: a call each would cost more.
            y = la.asarray(f["small"])
            [step] = la.plan([la.mean(y, axes), la.std(y, axes)]).passes
            assert step.tile[2] > 100


def test_column_tiles_equal_numpy(tmp_path):
    values = np.random.default_rng(5).normal(3.0, 2.0, (96, 256, 256)).astype(np.float32)
    path = tmp_path / "cubes.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=values, chunks=(32, 128, 128))  # 2 MB each
    wide = values.astype(np.float64)
    with h5py.File(path, "r") as f:
        x = la.asarray(f["x"])
        for axes in (0, (1, 2)):
            [step] = la.plan([la.mean(x, axes)]).passes
            assert step.tile[1:] == (128, 128)
            mean, std = la.ndarrays([la.mean(x, axes), la.std(x, axes)])
            assert mean.dtype == std.dtype == np.float32
            np.testing.assert_allclose(mean, wide.mean(axes), rtol=1e-6)
            np.testing.assert_allclose(std, wide.std(axes), rtol=1e-6)


def test_read_bytes_count_a_repeated_mosaic_member_once_per_place_and_shared_reads_once():
    year_values = np.arange(12, dtype=np.float32).reshape(4, 3)
    source = CountingArray(year_values)
    year = la.asarray(source)
    days = la.asarray(np.ones((12, 3), np.float32))
    climatology = la.concatenate([year] * 3)  # one source, read at three places
    # Tiles of four rows: each reads the year at one place.
    plan = la.plan([days - climatology, la.mean(days, 0)], chunk_bytes=4 * 3 * 4)
    assert plan.read_bytes == days.nbytes + 3 * year.nbytes
    # One tile: the three places read the same key, once (the tile cache).
    plan = la.plan([days - climatology, la.mean(days, 0)])
    assert plan.read_bytes == days.nbytes + year.nbytes
    for chunk_bytes, reads in ((4 * 3 * 4, 3), (2**20, 1)):
        source.reset()
        [anomaly, _] = la.ndarrays([days - climatology, la.mean(days, 0)],
                                   chunk_bytes=chunk_bytes)
        np.testing.assert_array_equal(anomaly, 1 - np.concatenate([year_values] * 3))
        assert (source.counts == reads).all()
    assert la.plan([days * 2, la.mean(days, 0), days[::2] + 1]).read_bytes == (
        days.nbytes + days[::2].nbytes
    )
