"""Tasks of several tiles, and read buffers lent to tiles (DESIGN.md section 6).

A pass of reductions over one set of axes hands its workers tasks of
consecutive tiles with one output region; the worker combines their partial
states itself. Results must still equal numpy, be bit-identical for any
number of workers, and a failure must still stop the other tasks.
"""

from __future__ import annotations

import warnings

import h5py
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.accumulators import SumState
from lazyarray.buffers import BufferPool
from lazyarray.context import EvaluationContext
from lazyarray.execution import states
from lazyarray.planning import TASK_TILES


def _plan_step(arrays, **options):
    (step,) = la.plan(arrays, **options).passes
    return step


@settings(max_examples=30, deadline=None)
@given(
    data=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=12),
                    elements=st.floats(-1e3, 1e3, width=32)),
    axis=st.integers(0, 2),
    chunk_bytes=st.sampled_from([8, 24, 64]),
)
def test_tasks_cover_every_tile_once_with_one_output_region_each(data, axis, chunk_bytes):
    axis %= data.ndim
    a = la.asarray(data)
    step = _plan_step([la.mean(a, axis), la.max(a, axis)], chunk_bytes=chunk_bytes)
    tasks = list(step.tasks())
    assert [r for task in tasks for r in task] == list(step.tiles())
    for task in tasks:
        assert 1 <= len(task) <= step.group <= TASK_TILES
        kept = [tuple((s.start, s.stop) for d, s in enumerate(r) if d != axis) for r in task]
        assert len(set(kept)) == 1
    regions = step.tiles_along([d for d in range(data.ndim) if d != axis])
    assert len(tasks) == regions * step.tasks_along([axis])


def test_a_pass_that_also_stores_or_reduces_over_other_axes_has_tasks_of_one_tile():
    a = la.asarray(np.zeros((64, 4), np.float32))
    assert _plan_step([la.mean(a, 0)], chunk_bytes=16).group > 1
    assert _plan_step([la.mean(a, 0), a * 2], chunk_bytes=16).group == 1
    assert _plan_step([la.mean(a, 0), la.mean(a, 1)], chunk_bytes=16).group == 1


@settings(max_examples=examples(10, 40), deadline=None)
@given(
    data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=16),
                    elements=st.floats(-1e6, 1e6)),
    axis=st.integers(0, 2),
    chunk_bytes=st.sampled_from([8, 64, 512]),
)
def test_results_of_tasks_equal_numpy_and_do_not_depend_on_workers(data, axis, chunk_bytes):
    axis %= data.ndim
    a = la.asarray(data)
    wanted = [la.mean(a, axis), la.std(a, axis, ddof=0), la.min(a, axis), la.max(a, axis),
              la.argmax(a, axis), la.count(a, axis), la.sum(a, axis)]
    results = [la.ndarrays(wanted, chunk_bytes=chunk_bytes, workers=w) for w in (1, 2, 3)]
    for got in results[1:]:
        for first, other in zip(results[0], got):
            np.testing.assert_array_equal(first, other)  # bit-identical
    mean, std, low, high, where, count, total = results[0]
    np.testing.assert_allclose(mean, data.mean(axis), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(std, data.std(axis), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(total, data.sum(axis), rtol=1e-6, atol=1e-6)
    for got, expected in [(low, data.min(axis)), (high, data.max(axis)),
                          (where, data.argmax(axis)), (count, np.ma.count(data, axis))]:
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == np.asarray(expected).dtype


@settings(max_examples=40, deadline=None)
@given(
    data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=12),
                    elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
    axis=st.integers(0, 2),
    chunk_bytes=st.sampled_from([64, 512, 4096]),
    block_bytes=st.sampled_from([8, 64, 256]),
    kernels=st.sampled_from(["auto", "numpy"]),
)
def test_tiles_cut_into_blocks_give_the_results_of_whole_tiles(data, axis, chunk_bytes,
                                                               block_bytes, kernels):
    """A task's tiles are reduced in blocks along a kept axis, their states
    placed side by side in arrays of the whole output region (no join copies
    them). Blocks do not change what is added to what, only the loops that
    add (numpy's, or the kernels' for narrow blocks, may order a sum
    differently): the results equal those of one-block tiles to rounding,
    and numpy.ma's, masked or not."""
    axis %= data.ndim
    masked = la.asarray(np.ma.masked_invalid(data))
    plain = la.asarray(data)
    wanted = [la.mean(masked, axis), la.std(masked, axis), la.min(masked, axis),
              la.max(masked, axis), la.count(masked, axis), la.nanmean(plain, axis),
              la.nanstd(plain, axis), la.mean(plain, axis), la.var(plain, axis)]
    options = {"chunk_bytes": chunk_bytes, "kernels": kernels}
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore", RuntimeWarning)  # empty slices, as numpy's
        whole = la.masked_arrays(wanted, **options)
        patch.setattr(states, "BLOCK_BYTES", block_bytes)
        blocks = la.masked_arrays(wanted, **options)
    for got, expected in zip(blocks, whole):
        np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expected))
        np.testing.assert_allclose(np.ma.getdata(got), np.ma.getdata(expected), rtol=1e-12,
                                   atol=1e-9)
        assert got.dtype == expected.dtype
    reference = np.ma.masked_invalid(data)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for got, expected in zip(blocks, [reference.mean(axis), reference.std(axis),
                                          reference.min(axis), reference.max(axis),
                                          reference.count(axis)]):
            np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expected))
            np.testing.assert_allclose(np.ma.filled(got, 0), np.ma.filled(expected, 0),
                                       rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(blocks[5], np.nanmean(data, axis), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(blocks[6], np.nanstd(data, axis), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(blocks[7], data.mean(axis), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(blocks[8], data.var(axis), rtol=1e-6, atol=1e-3)


def test_joined_block_states_are_not_copied_when_they_lie_side_by_side():
    pool = states.StatePool()
    whole = np.empty((4, 3))  # as the pool makes them: owning its memory
    whole[...] = np.arange(12.0).reshape(4, 3)
    blocks = [SumState(np.asarray(2), whole[:1]), SumState(np.asarray(2), whole[1:3]),
              SumState(np.asarray(2), whole[3:])]
    joined = states.join_states(blocks, 0, pool)
    assert type(joined) is SumState
    assert joined.total is whole and joined.count == 2
    apart = [SumState(np.asarray(2), whole[:1].copy()), SumState(np.asarray(3), whole[1:].copy())]
    joined = states.join_states(apart, 0, pool)
    np.testing.assert_array_equal(joined.total, whole)
    np.testing.assert_array_equal(joined.count, [[2, 2, 2], [3, 3, 3], [3, 3, 3], [3, 3, 3]])


def test_a_failure_in_one_task_stops_the_others_at_their_next_tile(tmp_path):
    class Failing:
        shape, dtype = (400, 8), np.dtype("f8")

        def __init__(self):
            self.reads = 0

        def __getitem__(self, key):
            self.reads += 1
            if self.reads == 10:
                raise OSError("disk gone")
            return np.ones(self.shape)[key]

    source = Failing()
    a = la.asarray(source)
    assert _plan_step([la.mean(a, 0)], chunk_bytes=64).group == TASK_TILES
    with pytest.raises(OSError, match="disk gone"):
        la.mean(a, 0).ndarray(chunk_bytes=64, workers=2)
    assert source.reads < 10 + 2 * 2 + 2


def test_hdf5_reads_into_lent_buffers_equal_numpy_tile_after_tile(tmp_path):
    data = np.random.default_rng(1).normal(size=(60, 30, 20)).astype(np.float32)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(1, 30, 20))
    with h5py.File(tmp_path / "x.h5", "r") as f:
        a = la.asarray(f["x"])
        copy, high, shifted = la.ndarrays([a, la.max(a, 0), a[1:] - a[:-1]], chunk_bytes=4800)
    np.testing.assert_array_equal(copy, data)
    np.testing.assert_array_equal(high, data.max(0))
    np.testing.assert_array_equal(shifted, data[1:] - data[:-1])


def test_a_buffer_still_referred_to_is_not_lent_again():
    pool = BufferPool()
    context = EvaluationContext(buffers=pool)
    with context.lending() as borrowed:
        kept = context.read_buffer((100,), np.dtype("f8"))[10:20]  # a view keeps its base alive
        dropped = context.read_buffer((100,), np.dtype("f8"))
    dropped_address = dropped.__array_interface__["data"][0]
    del dropped
    assert len(pool.give_back(borrowed)) == 1
    with context.lending():
        first = context.read_buffer((100,), np.dtype("f8"))
        second = context.read_buffer((100,), np.dtype("f8"))
    assert first.__array_interface__["data"][0] == dropped_address
    assert kept.base is not second and kept.base is not first


def test_read_buffer_without_a_pool_is_a_new_array():
    context = EvaluationContext()
    one = context.read_buffer((3, 4), np.dtype("i2"))
    two = context.read_buffer((3, 4), np.dtype("i2"))
    assert one.shape == (3, 4) and one.dtype == np.int16 and not np.shares_memory(one, two)


def test_a_spare_block_serves_smaller_reads_down_to_half_its_size():
    pool = BufferPool()
    context = EvaluationContext(buffers=pool)
    with context.lending() as borrowed:
        context.read_buffer((10, 100), np.dtype("f4"))
    assert pool.give_back(borrowed) == []
    with context.lending() as borrowed:
        smaller = context.read_buffer((7, 100), np.dtype("f4"))
        fresh = context.read_buffer((7, 100), np.dtype("f4"))  # the spare is lent already
    assert smaller.shape == (7, 100) and smaller.dtype == np.float32
    assert borrowed[0].nbytes == 4000 and borrowed[1].nbytes == 2800
    assert not np.shares_memory(smaller, fresh)
    del smaller, fresh
    assert pool.give_back(borrowed) == []
    with context.lending() as borrowed:
        context.read_buffer((1, 100), np.dtype("f8"))  # 800 bytes: under half of either
    assert borrowed[0].nbytes == 800
