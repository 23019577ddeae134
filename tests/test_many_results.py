"""Many results in one pass (issue 13, point 5).

Results that each reduce an elementwise input of their own (``mean(x + i)``
for many ``i``) are evaluated one input at a time on each tile, each folded
into its reductions' states and dropped before the next: the plan's tiles do
not shrink as results are added, so time per result stays about constant.
The source is still read once per tile, stored results and masked inputs are
still right, and every result equals numpy's.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.options import get_options
from lazyarray.planning import make_plan
from lazyarray.planning.memory import pass_bytes
from lazyarray.testing import CountingArray

# numpy's function and lazyarray's, by name; the i-th result uses the i-th (mod 5).
STATISTICS = [("mean", la.mean, np.mean), ("std", la.std, np.std), ("max", la.max, np.max),
              ("min", la.min, np.min), ("sum", la.sum, np.sum)]


def values(shape, seed=0, dtype="f8"):
    return (np.random.default_rng(seed).standard_normal(shape) * 10).astype(dtype)


def same(actual, expected, exact=False, rtol=1e-10):
    """``actual`` has ``expected``'s shape and dtype, and its values (to ``rtol``)."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-9)


def shifted(x, i):
    """The i-th result's own elementwise input: ``x * (1 + i/64) - i``."""
    return x * (1 + i / 64) - i


def statistics_of_shifted(source, count, axes=(0, 1, 2, None)):
    """``count`` results, each a statistic of an input of its own, over varied axes."""
    results = []
    for i in range(count):
        name, function, reference = STATISTICS[i % len(STATISTICS)]
        axis = axes[i % len(axes)]
        results.append((name, function, reference, axis, i))
    return results


# -- values -------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_200_statistics_of_inputs_of_their_own_equal_numpy(workers):
    data = values((40, 6, 8))
    x = la.asarray(data)
    wanted = statistics_of_shifted(x, 200)
    results = la.ndarrays([f(shifted(x, i), axis=axis) for _, f, _, axis, i in wanted],
                          chunk_bytes=6 * 8 * 8 * 3, workers=workers)  # tiles of 3 planes
    assert len(results) == 200
    for result, (name, _, reference, axis, i) in zip(results, wanted):
        same(result, reference(shifted(data, i), axis=axis), exact=name in ("max", "min"))


def test_many_statistics_of_float32_inputs_keep_numpy_dtypes():
    data = values((30, 5, 7), dtype="f4")
    x = la.asarray(data)
    inputs = [x * np.float32(1 + i / 8) for i in range(60)]
    wanted = [(STATISTICS[i % 5], inputs[i], i) for i in range(60)]
    results = la.ndarrays([f(node, axis=0) for (_, f, _), node, _ in wanted],
                          chunk_bytes=5 * 7 * 4 * 4)
    for result, ((name, _, reference), _, i) in zip(results, wanted):
        expected = data * np.float32(1 + i / 8)
        if name in ("max", "min"):
            same(result, reference(expected, axis=0), exact=True)
        else:
            # lazyarray accumulates in float64: compare with numpy's float64
            # result in the declared dtype.
            assert result.dtype == np.float32
            same(result, reference(expected.astype("f8"), axis=0).astype("f4"), rtol=1e-5)


def test_a_source_read_by_many_inputs_is_read_once_per_tile():
    data = values((24, 10))
    source = CountingArray(data)
    x = la.asarray(source)
    targets = [la.mean(x + float(i), 0) for i in range(50)] + [la.std(x - i, 1) for i in range(50)]
    plan = la.plan(targets, chunk_bytes=10 * 8 * 4)
    assert len(plan.passes) == 1 and plan.passes[0].tile_count > 1
    results = la.ndarrays(targets, chunk_bytes=10 * 8 * 4, workers=2)
    assert source.counts.min() == source.counts.max() == 1  # the tile cache shares each read
    assert source.reads == plan.passes[0].tile_count
    for i in range(50):
        same(results[i], np.mean(data + float(i), 0))
        same(results[50 + i], np.std(data - i, 1))


# -- the plan ---------------------------------------------------------------------------


def the_pass(targets, **options):
    [step] = make_plan(targets, get_options(**options)).passes
    return step


@pytest.mark.parametrize("axis", [None, (1, 2), 0])
def test_tiles_do_not_shrink_with_results_of_inputs_of_their_own(axis):
    """Before, the bytes per element were the sum over the inputs (8 + 8n for
    n results): tiles n times smaller, n times more of them, each n times the
    work. One input at a time, the bytes per element do not depend on n, nor
    do the tiles, where partial states do not grow them."""
    x = la.asarray(values((256, 64, 64)))  # 8 MiB
    options = {"memory_limit": 2 * 2**20, "workers": 2}  # the budget sizes tiles

    def means(count):
        return the_pass([la.mean(x + float(i), axis=axis) for i in range(count)], **options)

    def mixed(count):
        return the_pass([STATISTICS[i % 5][1](x * float(i), axis=axis) for i in range(count)],
                        **options)

    assert means(200).bytes_per_element == 16  # the source, and one x + i at a time
    for build in (means, mixed):
        few, many = build(10), build(200)
        assert few.bytes_per_element == many.bytes_per_element
        if axis == 0:
            # One partial state per result and output element (a plane): they
            # grow with the results, and the planner narrows tiles to fit them.
            continue
        assert few.tile == many.tile
        assert few.tile_count == many.tile_count
        assert few.tile_count < 64  # tiles of several planes, not of parts of one


def test_bytes_per_element_count_stored_inputs_all_and_reduced_ones_one_at_a_time():
    x = la.asarray(values((8, 5)))
    reduced = [la.mean(x + float(i), 0) for i in range(30)]
    stored = [x * 2.0, x * 3.0]
    # The source once (8), the two stored arrays (8 each), one x + i (8).
    step = the_pass(reduced + stored)
    assert step.bytes_per_element == 8 + 2 * 8 + 8
    assert step.bytes_per_element == pass_bytes([r.array for r in reduced] + stored, reduced,
                                                stores=stored)
    # A stored array that is also reduced is held for the tile, and counted once.
    both = la.mean(stored[0], 1)
    assert the_pass([both] + stored).bytes_per_element == 8 + 2 * 8
    # The scratch of one input's reductions: the largest accumulator's (the
    # deviations of a variance, in a buffer each thread reuses), however
    # many variances; of inputs of their own, the largest input's.
    y = x + 1.0
    one = the_pass([la.std(y, 0)]).bytes_per_element
    assert one == 8 + 8 + 8
    assert the_pass([la.std(y, 0), la.var(y, 1), la.std(y, None)]).bytes_per_element == one
    assert the_pass([la.std(x + float(i), i % 2) for i in range(20)]).bytes_per_element == one


@pytest.mark.parametrize("chunks", [None, (10, 100, 125)])
def test_the_planner_does_not_refuse_many_statistics_of_a_100_mb_source(tmp_path, chunks):
    """With the bytes of every input summed, 250 means of ``x + i`` over a
    dataset in chunks of 10 planes needed 264 MiB for the smallest tile (a
    chunk), above the default 256 MiB budget, and were refused."""
    with h5py.File(tmp_path / "a.h5", "w") as f:  # nothing written: a small file
        f.create_dataset("a", shape=(1000, 100, 125), dtype="f8", chunks=chunks)
    axes = (0, (1, 2), 2, None, (0, 1))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        x = la.asarray(f["a"])
        for count in (100, 500):
            for targets in (
                [la.mean(x + float(i), axis=0) for i in range(count)],
                [STATISTICS[i % 5][1](x + float(i), axis=axes[i % 4]) for i in range(count)],
                [STATISTICS[i % 5][1](x, axis=axes[i % 5]) for i in range(count)],
            ):
                plan = la.plan(targets)
                assert plan.tile_memory <= plan.memory_limit
                for step in plan.passes:
                    assert step.bytes_per_element <= 8 + 8 + 8  # the source, one input, a variance


# -- stored arrays beside reductions ------------------------------------------------


@pytest.mark.parametrize("workers", [1, 3])
def test_stored_arrays_among_many_reductions_equal_numpy(workers):
    data = values((33, 7, 5), seed=1)
    x = la.asarray(data)
    doubled = x * 2.0
    targets = [doubled, la.mean(doubled, 0), x - 3.0, la.max(x - 3.0, (1, 2))]
    targets += [STATISTICS[i % 5][1](shifted(x, i), axis=i % 3) for i in range(40)]
    targets += [x, la.std(x, 0), shifted(x, 7)]
    results = la.ndarrays(targets, chunk_bytes=7 * 5 * 8 * 2, workers=workers)
    same(results[0], data * 2.0, exact=True)
    same(results[1], np.mean(data * 2.0, 0))
    same(results[2], data - 3.0, exact=True)
    same(results[3], np.max(data - 3.0, (1, 2)), exact=True)
    for i in range(40):
        name, _, reference = STATISTICS[i % 5]
        same(results[4 + i], reference(shifted(data, i), axis=i % 3), exact=name in ("max", "min"))
    same(results[44], data, exact=True)
    same(results[45], np.std(data, 0))
    same(results[46], shifted(data, 7), exact=True)


def test_saved_arrays_and_many_computed_statistics_equal_numpy(tmp_path):
    data = values((50, 12), seed=2).astype("f4")
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f.create_dataset("a", data=data, chunks=(5, 12))
    with h5py.File(tmp_path / "in.h5", "r") as f, h5py.File(tmp_path / "out.h5", "w") as out:
        x = la.asarray(f["a"])
        target = out.create_dataset("b", shape=data.shape, dtype="f4", chunks=(5, 12))
        memory = np.zeros(data.shape, "f4")
        computed = [la.mean(x * np.float32(i), 0) for i in range(30)] + [la.min(x + 1, 1)]
        results = la.save([x * 2, x - 1], [target, memory], compute=computed,
                          chunk_bytes=5 * 12 * 4 * 2, workers=2)
        same(target[...], data * 2, exact=True)
        same(memory, data - 1, exact=True)
    for i in range(30):
        same(results[i], np.mean((data * np.float32(i)).astype("f8"), 0).astype("f4"), rtol=1e-5)
    same(results[30], np.min(data + 1, 1), exact=True)


# -- masked inputs ----------------------------------------------------------------------


def masked_values(shape, seed=3):
    data = values(shape, seed)
    mask = np.random.default_rng(seed + 1).random(shape) < 0.2
    mask[0] = False  # every output along axis 0 has valid points
    return np.ma.masked_array(data, mask=mask, fill_value=-999.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_many_statistics_of_masked_inputs_equal_numpy_ma(workers):
    data = masked_values((36, 9))
    m = la.asarray(data)
    targets = [STATISTICS[i % 5][1](m + float(i), axis=0) for i in range(50)] + [m * 2.0]
    results = la.masked_arrays(targets, chunk_bytes=9 * 8 * 4, workers=workers)
    for i in range(50):
        name, _, _ = STATISTICS[i % 5]
        expected = getattr(np.ma, name)(data + float(i), axis=0)
        assert isinstance(results[i], np.ma.MaskedArray)
        np.testing.assert_array_equal(np.ma.getmaskarray(results[i]), np.ma.getmaskarray(expected))
        same(results[i].data, np.ma.getdata(expected), exact=name in ("max", "min"))
    np.testing.assert_array_equal(np.ma.getmaskarray(results[50]), data.mask)
    same(results[50].compressed(), (data * 2.0).compressed(), exact=True)


def test_many_statistics_of_a_masked_source_in_plain_mode_skip_masked_points():
    data = masked_values((36, 9), seed=5)
    m = la.asarray(data)
    targets = [la.mean(m - float(i), 0) for i in range(40)] + [la.std(m * float(i), 1)
                                                              for i in range(40)]
    results = la.ndarrays(targets, chunk_bytes=9 * 8 * 4, workers=2)
    for i in range(40):
        same(results[i], np.ma.getdata(np.ma.mean(data - float(i), 0)))
        expected = np.ma.std(data * float(i), 1)
        assert not np.ma.getmaskarray(expected).any()
        same(results[40 + i], np.ma.getdata(expected))


def test_many_statistics_of_an_hdf5_source_masked_by_its_attributes(tmp_path):
    """The read is shared by every input through the tile cache; each input
    masks it anew (values above ``valid_max``), and none changes it."""
    data = values((40, 6), seed=6).astype("f4")
    data[0] = np.minimum(data[0], 12)  # every output has a valid point
    expected_source = np.ma.masked_greater(data, 12)
    assert expected_source.mask.any()
    with h5py.File(tmp_path / "a.h5", "w") as f:
        dataset = f.create_dataset("a", data=data, chunks=(4, 6))
        dataset.attrs["_FillValue"] = np.float32(-999)
        dataset.attrs["valid_max"] = np.float32(12)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        a = la.asarray(f["a"], masked=True, valid_range=True)
        targets = [la.mean(a * np.float32(1 + i / 4), 0) for i in range(25)] + [la.max(a, 0)]
        results = la.masked_arrays(targets, chunk_bytes=4 * 6 * 4 * 2, workers=2)
    for i in range(25):
        expected = np.ma.mean((expected_source * np.float32(1 + i / 4)).astype("f8"), 0)
        np.testing.assert_array_equal(np.ma.getmaskarray(results[i]), np.ma.getmaskarray(expected))
        same(results[i].data, np.ma.getdata(expected).astype("f4"), rtol=1e-5)
    same(results[25].data, np.ma.max(expected_source, 0).data, exact=True)


# -- buffers --------------------------------------------------------------------------------


def test_the_buffers_of_inputs_reduced_alone_are_reused_by_the_next_input(monkeypatch):
    """Each input's scratch goes back to the pass's pool once its reductions
    have it: a tile of many results allocates about one block, not one per
    input."""
    from lazyarray.execution import passes

    pools = []

    class Recorded(passes.BufferPool):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(passes, "BufferPool", Recorded)
    data = values((64, 64, 64))  # tiles of 16 planes: 512 KiB, above SCRATCH_MIN_BYTES
    x = la.asarray(data)
    targets = [la.sum(x * float(i), (1, 2)) for i in range(40)]
    results = la.ndarrays(targets, chunk_bytes=16 * 64 * 64 * 8, workers=2)
    [pool] = pools
    assert pool.made <= 8  # about one per tile in flight; before, one per input per tile
    for i in (0, 17, 39):
        same(results[i], np.sum(data * float(i), (1, 2)))


# -- deep graphs --------------------------------------------------------------------------


def test_the_planner_walks_graphs_of_any_depth():
    """The planner's walks (bytes per element, stages) use explicit stacks."""
    x = la.asarray(np.arange(24.0).reshape(4, 6))
    y = x
    for _ in range(3_000):
        y = y + 1.0
    [step] = la.plan([y, la.mean(y, 0)]).passes
    assert step.bytes_per_element == 8 + 3_000 * 8  # every node's values, as before
    z = x
    for _ in range(1_200):
        z = la.sum(z + 0.0, axis=())  # aggregations of aggregations: a stage each
    assert len(la.plan([z]).passes) == 1_200
