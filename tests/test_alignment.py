"""Tiles end on storage chunk boundaries, seen through mosaics, views and slices."""

from __future__ import annotations

import collections
import itertools

import h5py
import numpy as np
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.adapters.zarr_ import ZarrArrayAdapter
from lazyarray.planning import axis_cuts, chunk_edges
from lazyarray.testing import ReadLog, recording_reads


def _fewest_tiles(length: int, stops: set[int], target: int) -> int:
    """The fewest tiles of at most ``target`` that end only at ``stops`` (a DP)."""
    best = [0] + [length + 1] * length
    for end in range(1, length + 1):
        if end in stops or end == length:
            best[end] = min(
                (best[s] + 1 for s in range(max(0, end - target), end) if s == 0 or s in stops),
                default=length + 1,
            )
    return best[length]


@given(st.data())
def test_axis_cuts_end_on_edges_within_target_and_are_fewest(data):
    length = data.draw(st.integers(1, 60))
    edges = sorted(data.draw(st.sets(st.integers(1, length - 1), max_size=length)) if length > 1 else [])
    target = data.draw(st.integers(1, length + 2))
    cuts = axis_cuts(length, np.array(edges, np.intp), target)
    assert cuts[0] == 0 and cuts[-1] == length
    assert all(b > a for a, b in itertools.pairwise(cuts))
    gaps = np.diff([0, *edges, length])
    if gaps.max() <= target:
        assert set(cuts[1:-1]) <= set(edges)
        assert all(b - a <= target for a, b in itertools.pairwise(cuts))
        assert len(cuts) - 1 == _fewest_tiles(length, set(edges), target)
    else:  # chunks longer than the target: plain cuts of the target
        assert all(b - a <= max(target, 1) for a, b in itertools.pairwise(cuts))


def test_axis_cuts_free_axis_is_uniform():
    assert axis_cuts(10, None, 3) == (0, 3, 6, 9, 10)
    assert axis_cuts(0, None, 3) == (0,)


def _zarr(data: np.ndarray, chunks: tuple[int, ...]) -> zarr.Array:
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=data.shape,
                          chunks=chunks, dtype=data.dtype)
    z[...] = data
    return z


@given(st.data())
def test_chunk_edges_of_a_strided_window_are_where_the_stored_chunk_changes(data):
    length = data.draw(st.integers(2, 40))
    chunk = data.draw(st.integers(1, length))
    z = _zarr(np.zeros(length, np.int8), (chunk,))
    start = data.draw(st.integers(0, length - 1))
    step = data.draw(st.sampled_from([1, 2, 3, -1, -2]))
    window = slice(start, None, step)
    positions = np.arange(length)[window]
    (edges,) = chunk_edges(la.asarray(z)[window])
    expected = [i for i in range(1, len(positions))
                if positions[i] // chunk != positions[i - 1] // chunk]
    assert edges.tolist() == expected


def test_chunk_edges_pass_views_stacks_and_elementwise_operands():
    a = la.asarray(_zarr(np.zeros((6, 4), np.float32), (2, 4)))
    b = la.asarray(_zarr(np.zeros((6, 4), np.float32), (3, 4)))
    assert chunk_edges(a + b)[0].tolist() == [2, 3, 4]
    assert chunk_edges(a.T)[1].tolist() == [2, 4]
    assert chunk_edges(la.expand_dims(a, 0))[0] is None
    stacked = chunk_edges(la.stack([a, b]))
    assert stacked[0] is None and stacked[1].tolist() == [2, 3, 4]
    assert chunk_edges(la.asarray(np.zeros((6, 4))) * 2) == (None, None)
    assert chunk_edges(la.mean(a, axis=1) + la.asarray(np.zeros(6))) == (None,)


def _chunks_touched(reads: ReadLog) -> collections.Counter[tuple[int, int]]:
    """Per stored chunk along axis 0, how many of ``reads`` touch it."""
    touched: collections.Counter[tuple[int, int]] = collections.Counter()
    for read in reads:
        rows = read.key[0]
        chunk = read.adapter.storage_chunks[0]
        rows = [rows] if isinstance(rows, int) else list(rows)
        for block in {int(r) // chunk for r in rows}:
            touched[id(read.source), block] += 1
    return touched


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_tiles_of_a_mosaic_read_each_stored_chunk_once(data):
    lengths = data.draw(st.lists(st.integers(1, 12), min_size=1, max_size=4))
    width = data.draw(st.integers(1, 5))
    members, arrays = [], []
    for number, length in enumerate(lengths):
        values = np.arange(length * width, dtype=np.float32).reshape(length, width) + 100 * number
        chunk = data.draw(st.integers(1, length))
        skip = data.draw(st.integers(0, min(chunk, length) - 1))  # a window off the chunk grid
        arrays.append(values[skip:])
        members.append(la.asarray(_zarr(values, (chunk, width)))[skip:])
    mosaic = la.concatenate(members, axis=0)
    expected = np.concatenate(arrays, axis=0)
    # From a tile of one plane up to everything in one tile.
    chunk_bytes = data.draw(st.integers(4 * width, 4 * expected.size))
    workers = data.draw(st.sampled_from([1, 2]))
    with recording_reads() as reads:
        mean, doubled = la.ndarrays([la.mean(mosaic, axis=0), mosaic * 2],
                                    chunk_bytes=chunk_bytes, workers=workers)
    assert {type(read.adapter) for read in reads} == {ZarrArrayAdapter}
    np.testing.assert_allclose(mean, expected.mean(axis=0, dtype=np.float64).astype(np.float32),
                               rtol=1e-6)
    np.testing.assert_array_equal(doubled, expected * 2)
    assert mean.dtype == np.float32 and doubled.dtype == np.float32
    largest = max(m.storage_chunks[0] for m in members) * width * 4
    if chunk_bytes >= largest:  # a tile can hold whole chunks: none is split
        assert set(_chunks_touched(reads).values()) == {1}


def test_edges_of_huge_axes_are_computed_without_listing_positions():
    from lazyarray.adapters.base import MAX_EDGES, key_chunk_edges

    [edges] = key_chunk_edges((range(5, 10**12, 2),), (10**7,))
    assert len(edges) == (10**12 - 1) // 10**7
    assert edges[0] == -(-(10**7 - 5) // 2) and edges[1] == -(-(2 * 10**7 - 5) // 2)
    # More chunks than are worth listing: the axis is free.
    assert key_chunk_edges((range(0, 10**12, 3),), (7,)) == (None,)
    assert (10**12 // 7) > MAX_EDGES


@given(st.data())
def test_member_breaks_are_cut_at_when_every_stretch_is_half_a_tile(data):
    members = data.draw(st.lists(st.integers(1, 30), min_size=2, max_size=5))
    length = sum(members)
    breaks = np.cumsum(members)[:-1]
    target = data.draw(st.integers(1, length))
    chunk = data.draw(st.integers(1, min(4, target)))
    edges = np.union1d(np.arange(chunk, length, chunk), breaks)
    cuts = axis_cuts(length, edges, target, breaks)
    assert cuts[0] == 0 and cuts[-1] == length
    lengths = np.diff(cuts)
    assert lengths.min() > 0 and lengths.max() <= target
    assert set(cuts[1:-1]) <= set(edges.tolist())
    if min(members) * 2 >= target:
        assert set(breaks.tolist()) <= set(cuts)
        for start, stop in itertools.pairwise([0, *breaks.tolist(), length]):
            inside = [c for c in cuts if start <= c <= stop]
            # The fewest tiles that fit the stretch.
            assert len(inside) - 1 == -(-(stop - start) // target) or chunk > 1


def test_tiles_of_a_mosaic_of_long_members_stay_within_members():
    members = [la.asarray(np.full((n, 50), n, np.float32)) for n in (25, 25, 26, 24)]
    mosaic = la.concatenate(members)
    (step,) = la.plan([la.mean(mosaic, 0)], chunk_bytes=8 * 50 * 4).passes
    assert {25, 50, 76} <= set(step.bounds[0])
    expected = np.concatenate([np.full((n, 50), n, np.float32) for n in (25, 25, 26, 24)])
    np.testing.assert_allclose(la.mean(mosaic, 0).ndarray(chunk_bytes=8 * 50 * 4),
                               expected.mean(0), rtol=1e-6)


def test_tiles_keep_encoded_chunks_whole_and_may_split_plain_ones(tmp_path):
    data = np.arange(40 * 6, dtype=np.float32).reshape(40, 6)
    packed = zarr.create_array(store=zarr.storage.MemoryStore(), shape=data.shape,
                               chunks=(10, 6), dtype=data.dtype)  # zstd by default
    packed[...] = data
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(4, 6))  # no filters
    with h5py.File(tmp_path / "plain.h5", "r") as f:
        plain = la.asarray(f["x"])
        assert la.asarray(packed).chunks_encoded and not plain.chunks_encoded
        # Zarr reads a chunk whole even when it is stored plain.
        bare = zarr.create_array(store=zarr.storage.MemoryStore(), shape=data.shape,
                                 chunks=(10, 6), dtype=data.dtype, compressors=None)
        assert la.asarray(bare).chunks_encoded
        total = la.asarray(packed) + plain
        (step,) = la.plan([la.mean(total, 0)], chunk_bytes=15 * 6 * 4).passes
        assert set(step.bounds[0]) <= {0, 10, 20, 30, 40}
        np.testing.assert_allclose(la.mean(total, 0).ndarray(chunk_bytes=15 * 6 * 4),
                                   (data + data).mean(0), rtol=1e-6)
        # With only plain chunks, tiles follow them.
        (step,) = la.plan([la.mean(plain, 0)], chunk_bytes=15 * 6 * 4).passes
        assert all(b % 4 == 0 for b in step.bounds[0][:-1])


# -- common cuts and counted reads -------------------------------------------------------


def test_tiling_cuts_are_the_cuts_every_chunk_grid_shares():
    from lazyarray.planning import source_reads, tiling_cuts

    a = la.asarray(_zarr(np.ones((24, 4), np.float32), (3, 4)))
    b = la.asarray(_zarr(np.ones((24, 4), np.float32), (4, 2)))
    cuts = tiling_cuts(source_reads([a + b], 2), (24, 4))
    # Along time, every 12 (3 and 4 share no other); across, nowhere inside
    # a's chunks of 4 columns.
    assert cuts.allowed[0].tolist() == [12] and cuts.allowed[1].tolist() == []
    assert cuts.extents((24, 4)) == (12, 4) and cuts.floor == (3, 4)  # the largest chunk
    # A mosaic: each member's own grid within it, and the member's end.
    m = la.concatenate([a[:10], b[:14]])
    cuts = tiling_cuts(source_reads([m], 2), (24, 4))
    assert cuts.allowed[0].tolist() == [3, 6, 9, 10, 14, 18, 22]
    assert cuts.allowed[1] is None or cuts.allowed[1].tolist() == []


def test_tiling_cuts_keep_chunks_an_index_list_comes_back_to_in_one_tile():
    from lazyarray.planning import source_reads, tiling_cuts

    a = la.asarray(_zarr(np.ones((12, 2), np.float32), (4, 2)))
    picked = a[[0, 5, 1, 9, 10]]  # chunk 0, 1, 0, 2, 2: no cut before the second 0
    cuts = tiling_cuts(source_reads([picked], 2), (5, 2))
    assert cuts.allowed[0].tolist() == [3]


def test_plain_hdf5_chunks_are_cut_along_rows_only_where_the_reader_reads_rows(tmp_path):
    from lazyarray.planning import read_model, source_reads, tiling_cuts

    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("rows", data=np.ones((24, 6), np.float32), chunks=(8, 6))
        f.create_dataset("blocks", data=np.ones((24, 6), np.float32), chunks=(8, 3))
        f.create_dataset("packed", data=np.ones((24, 6), np.float32), chunks=(8, 6),
                         compression="gzip")
    with h5py.File(tmp_path / "x.h5", "r") as f:
        rows, blocks, packed = (la.asarray(f[n]) for n in ("rows", "blocks", "packed"))
        assert read_model(rows).kind == "plain" and read_model(packed).kind == "chunks"
        assert read_model(rows, direct_io=False).kind == "chunks"
        relaxed = tiling_cuts(source_reads([rows], 2), (24, 6), relax=True)
        assert relaxed.allowed[0] is None and relaxed.caps == (24, 6)
        # Read by rows only when a tile holds one chunk across: cuts at 3, capped.
        relaxed = tiling_cuts(source_reads([blocks], 2), (24, 6), relax=True)
        assert relaxed.allowed[0] is None and relaxed.required[1].tolist() == [3]
        assert relaxed.caps == (24, 3)
        strict = tiling_cuts(source_reads([packed], 2), (24, 6), relax=True)
        assert strict.allowed[0].tolist() == [8, 16]


def _graphs(data):
    """Small random graphs over in-memory Zarr and numpy sources."""
    rows = data.draw(st.integers(2, 9), label="rows")
    width = data.draw(st.integers(1, 4), label="width")
    values = np.arange(rows * width, dtype=np.float32).reshape(rows, width) + 1
    chunks = (data.draw(st.integers(1, rows)), data.draw(st.integers(1, width)))
    z = la.asarray(_zarr(values, chunks))
    n = la.asarray(values * 2)
    member = data.draw(st.sampled_from(["same", "reversed", "numpy", "window"]))
    other = {"same": z, "reversed": z[::-1], "numpy": n, "window": z[1:]}[member]
    m = la.concatenate([z, other])
    kind = data.draw(st.sampled_from(["stats", "picked", "broadcast", "stack"]))
    if kind == "picked":
        m = m[data.draw(st.lists(st.integers(0, m.shape[0] - 1), min_size=1, max_size=8))]
    elif kind == "broadcast":
        m = m - z[0]
    elif kind == "stack":
        m = la.stack([m, m[::-1]], axis=1)
    return [la.mean(m, 0), m * 2]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_counted_reads_are_the_reads_the_executor_makes(data):
    """``count_reads`` (axis by axis, shared reads of one source tile by tile)
    counts what the executor reads: each adapter read it makes, costed as
    :func:`native_read_bytes` says, over random graphs and budgets."""
    from lazyarray.planning import native_read_bytes, read_model

    targets = _graphs(data)
    chunk_bytes = data.draw(st.integers(4, 400), label="chunk_bytes")
    with recording_reads() as reads:
        results = la.ndarrays(targets, chunk_bytes=chunk_bytes)
    made = [native_read_bytes(read_model(read.adapter), read.key) for read in reads]
    plan = la.plan(targets, chunk_bytes=chunk_bytes)
    assert sum(made) == plan.read_bytes
    expected = [t.ndarray(chunk_bytes=10**6) for t in targets]
    for actual, wanted in zip(results, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_counting_axis_by_axis_equals_counting_tile_by_tile(data):
    from lazyarray.planning import count_reads, source_reads

    targets = _graphs(data)
    chunk_bytes = data.draw(st.integers(4, 400), label="chunk_bytes")
    plan = la.plan(targets, chunk_bytes=chunk_bytes)
    for step in plan.passes:
        inputs = [r.array for r in step.reductions] + list(step.stores)
        reads = source_reads(inputs, len(step.domain))
        fast = count_reads(reads, step.bounds)
        slow = count_reads(reads, step.bounds, axis_by_axis=False)
        assert fast.total == slow.total == step.read_bytes
        assert [c.total for c in fast.costs] == [c.total for c in slow.costs]
