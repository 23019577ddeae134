"""Scans (``cumsum`` and friends): numpy's results bit for bit, each chunk read once (issue 15, point 3).

numpy is the oracle: every result is compared with ``np.cumsum`` and its
kin on the same data with :func:`numpy.testing.assert_array_equal`, which
is exact (no tolerance), together with shape and dtype. Tilings are forced
small (``chunk_bytes``) so that a scan runs over many tiles and its carry
crosses tile edges, with one worker and with two.
"""

from __future__ import annotations

import pickle
import threading
import warnings

import h5py
import numpy as np
import pytest
import zarr
from examples import examples
from graph_strategies import Sources, graphs
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import keys, oindex

import lazyarray as la
from lazyarray.carries import CarryStore
from lazyarray.context import EvaluationContext
from lazyarray.testing import InaccessibleArray, recording_reads, refusing_reads

SCANS = {
    "cumsum": (la.cumsum, np.cumsum),
    "cumprod": (la.cumprod, np.cumprod),
    "nancumsum": (la.nancumsum, np.nancumsum),
    "nancumprod": (la.nancumprod, np.nancumprod),
}


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal bit for bit (NaN where numpy has NaN), with numpy's shape and dtype."""
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected, strict=True)


def numpy_scan(name: str, data: np.ndarray, axis: int | None, **kwargs) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return SCANS[name][1](data, axis=axis, **kwargs)


def lazy_scan(name: str, array, axis: int | None, **options) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return SCANS[name][0](array, axis=axis).ndarray(**options)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    path = tmp_path_factory.mktemp("scans") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


# -- numpy's results ---------------------------------------------------------------


@settings(max_examples=examples(15, 100), deadline=None)
@given(data=st.data())
def test_random_graphs_scan_as_numpy(sources, data):
    """Any graph, scanned along any axis (or flattened), over tiles of a few
    elements, with one and two workers: numpy's result, bit for bit."""
    lazy, expected = data.draw(graphs(sources), label="graph")
    if expected.dtype.kind not in "biufc":
        return
    name = data.draw(st.sampled_from(sorted(SCANS)), label="scan")
    axis = data.draw(st.sampled_from([None, *range(-expected.ndim, expected.ndim)]),
                     label="axis")
    chunk_bytes = data.draw(st.sampled_from([16, 64, 1 << 20]), label="chunk_bytes")
    workers = data.draw(st.sampled_from([1, 2]), label="workers")
    wanted = numpy_scan(name, expected, axis)
    assert_same(lazy_scan(name, lazy, axis, chunk_bytes=chunk_bytes, workers=workers), wanted)


@pytest.mark.parametrize("dtype", ["?", "i1", "u2", "i8", "f2", "f4", "f8", "c8"])
@pytest.mark.parametrize("name", sorted(SCANS))
def test_dtypes_as_numpy(name, dtype):
    """numpy's result dtype (int8 sums in int64, uint16 in uint64, float16 in float16)."""
    rng = np.random.default_rng(7)
    data = (rng.standard_normal((40, 3)) * 3).astype(dtype)
    if data.dtype.kind in "fc":
        data[rng.random(data.shape) < 0.1] = np.nan
    for axis in (0, 1, None):
        assert_same(lazy_scan(name, data, axis, chunk_bytes=32), numpy_scan(name, data, axis))


@pytest.mark.parametrize("dtype", ["f4", "i2", None])
def test_dtype_argument_as_numpy(dtype):
    data = np.arange(1, 31, dtype=np.int8).reshape(10, 3)
    for lazy, numpy in ((la.cumsum, np.cumsum), (la.cumprod, np.cumprod)):
        with np.errstate(all="ignore"):
            expected = numpy(data, axis=0, dtype=dtype)
            actual = lazy(data, axis=0, dtype=dtype).ndarray(chunk_bytes=16)
        assert_same(actual, expected)


def test_float32_carry_is_injected_not_added():
    """Dask adds the carry after the local scan, which rounds differently
    (up to 4.6e-5 on this data, issue 15); injected, the carry gives numpy's."""
    data = np.random.default_rng(0).standard_normal((1000, 7)).astype(np.float32)
    expected = np.cumsum(data, axis=0)
    for chunk_bytes in (64 * 7 * 4, 7 * 4):
        assert_same(la.cumsum(data, axis=0).ndarray(chunk_bytes=chunk_bytes, workers=2),
                    expected)
    # The order matters on this data: the local scan plus the carry is not numpy's.
    local = np.cumsum(data[64:128], axis=0) + expected[63]
    assert not np.array_equal(local, expected[64:128])


@settings(max_examples=examples(20, 80), deadline=None)
@given(data=st.data())
def test_selections_of_scans_as_numpy(data):
    """Any key of a scan (steps, reversals, index arrays, ints), then scanned
    again or reduced: numpy's result. Keys push down: the scan computes
    only up to the window's end."""
    shape = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
                      label="shape")
    values = np.random.default_rng(data.draw(st.integers(0, 99))).integers(
        -5, 6, shape).astype(np.float64)
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    key = data.draw(keys(shape), label="key")
    scanned = la.cumsum(la.asarray(values), axis=axis)
    expected = np.cumsum(values, axis=axis)
    selected = scanned[key]
    assert_same(selected.ndarray(chunk_bytes=24), oindex(expected, key))
    if selected.ndim:
        twice = la.cumprod(selected, axis=-1)
        assert_same(twice.ndarray(chunk_bytes=24), np.cumprod(oindex(expected, key), axis=-1))
        assert_same(la.sum(selected, axis=0).ndarray(chunk_bytes=24),
                    np.sum(oindex(expected, key), axis=0))


def test_flattened_scan_of_a_selection():
    values = np.arange(60.0).reshape(3, 4, 5)
    x = la.asarray(values)
    for key in [(slice(None), 1), (slice(1, 3), slice(None, None, -1), 2), (0,)]:
        expected = np.cumsum(values[key])
        assert_same(la.cumsum(x[key]).ndarray(chunk_bytes=16), expected)
        assert_same(la.cumsum(x[key])[3:7].ndarray(chunk_bytes=16), expected[3:7])


def test_scalar_and_empty_as_numpy():
    assert_same(la.cumsum(np.float32(2.5)).ndarray(), np.cumsum(np.float32(2.5)))
    for shape in [(0,), (3, 0), (0, 4)]:
        data = np.ones(shape, np.int16)
        for axis in (None, 0, -1):
            assert_same(la.cumsum(data, axis=axis).ndarray(), np.cumsum(data, axis=axis))


def test_methods_and_array_api_names():
    data = np.arange(1, 13, dtype=np.int32).reshape(3, 4)
    x = la.asarray(data)
    assert_same(x.cumsum(axis=1).ndarray(), data.cumsum(axis=1))
    assert_same(x.cumprod().ndarray(), data.cumprod())
    for lazy, numpy in ((la.cumulative_sum, np.cumulative_sum),
                        (la.cumulative_prod, np.cumulative_prod)):
        for include_initial in (False, True):
            for axis in (0, 1, -1):
                assert_same(lazy(x, axis=axis, include_initial=include_initial).ndarray(),
                            numpy(data, axis=axis, include_initial=include_initial))
        assert_same(lazy(data[0], include_initial=True, dtype="f4").ndarray(),
                    numpy(data[0], include_initial=True, dtype="f4"))


# -- masked data -------------------------------------------------------------------


@settings(max_examples=examples(15, 60), deadline=None)
@given(data=st.data())
def test_masked_as_numpy_ma(data):
    """Masked points count as the identity and stay masked, as in
    ``numpy.ma.cumsum``/``cumprod``; in plain mode they hold the fill value."""
    shape = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    values = np.ma.masked_array(rng.integers(-3, 4, shape).astype("f4"),
                                mask=rng.random(shape) < 0.3, fill_value=-99)
    axis = data.draw(st.sampled_from([None, *range(len(shape))]))
    for lazy, numpy in ((la.cumsum, np.ma.cumsum), (la.cumprod, np.ma.cumprod)):
        expected = numpy(values, axis=axis)
        scanned = lazy(la.asarray(values), axis=axis)
        actual = scanned.masked_array(chunk_bytes=8)
        assert_same(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
        assert_same(actual.data, expected.data)
        assert_same(scanned.ndarray(chunk_bytes=8), expected.filled(scanned.fill_value))


# -- laziness, reads and carries ---------------------------------------------------


def test_building_and_indexing_read_nothing():
    source = InaccessibleArray((10, 4), "f8")
    scanned = la.cumsum(la.asarray(source), axis=0)[3:7, 1]
    assert scanned.shape == (4,) and scanned.dtype == np.float64
    with refusing_reads():
        assert la.cumprod(scanned * 2).chunks == ((4,),)


@pytest.mark.parametrize("workers", [1, 2])
def test_each_stored_chunk_read_once(tmp_path, workers):
    """Over many tiles of an HDF5 source, each chunk is read once, whatever
    the workers: every tile takes its carry from the one before it."""
    data = np.random.default_rng(1).standard_normal((64, 6, 5)).astype("f4")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(4, 3, 5))
    x = la.open_dataset(tmp_path / "x.h5", "x")
    with recording_reads() as reads:
        actual = la.cumsum(x, axis=0).ndarray(chunk_bytes=4 * 3 * 5 * 4, workers=workers)
    assert_same(actual, np.cumsum(data, axis=0))
    assert (reads.counts(x) == 1).all()
    with recording_reads() as reads:
        scans, total = la.ndarrays([la.cumsum(x, axis=0), la.sum(x * 2, axis=0)],
                                   chunk_bytes=8 * 6 * 5 * 4, workers=workers)
    assert_same(scans, np.cumsum(data, axis=0))
    np.testing.assert_allclose(total, np.sum(data * 2, axis=0), rtol=1e-5, atol=1e-5)
    assert (reads.counts(x) == 1).all()


def test_selection_mid_axis_reads_what_comes_before():
    """``cumsum(x)[40:]`` needs the sum of the 40 positions before: read
    once, in slabs, by the first tile; then each tile's own part."""
    data = np.arange(100.0).reshape(50, 2)
    x = la.asarray(data)
    with recording_reads() as reads:
        actual = la.cumsum(x, axis=0)[40:].ndarray(chunk_bytes=32)
    assert_same(actual, np.cumsum(data, axis=0)[40:])
    assert (reads.counts(x) == 1).all()


def test_carries_flow_across_iterated_slabs():
    """Slabs of ``iter_chunks`` are evaluations of their own; the scan's
    carries pass from one to the next, so the source is read once."""
    data = np.random.default_rng(2).standard_normal((60, 3))
    x = la.asarray(data)
    with recording_reads() as reads:
        slabs = list(la.cumsum(x, axis=0).iter_chunks(size=7))
    assert_same(np.concatenate(slabs), np.cumsum(data, axis=0))
    assert (reads.counts(x) == 1).all()


def test_context_by_hand_computes_the_carry():
    """A region evaluated alone, by anyone's context, computes its carry
    from the start: the same values."""
    data = np.arange(1.0, 41.0).reshape(20, 2)
    scanned = la.cumprod(data / 10, axis=0)
    expected = np.cumprod(data / 10, axis=0)
    results = []
    thread = threading.Thread(target=lambda: results.append(
        EvaluationContext().evaluate(scanned, (slice(12, 15),))))
    thread.start()
    thread.join()
    assert_same(results[0], expected[12:15])


def test_a_failing_tile_stops_the_waiting_ones():
    """A tile whose read fails, with tiles after it waiting for its carry:
    the original error propagates, and no thread is left waiting."""

    class FailingRows:
        """Rows 20 and later raise when read."""

        shape, dtype = (40, 2), np.dtype("f8")

        def __getitem__(self, key):
            rows = np.arange(40)[key[0]]
            if np.any(rows >= 20):
                raise OSError("row 20 is unreadable")
            return np.zeros(self.shape)[key]

    with pytest.raises(OSError, match="row 20 is unreadable"):
        la.cumsum(la.asarray(FailingRows()), axis=0).ndarray(chunk_bytes=32, workers=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("lazyarray")]


def test_carry_store_waits_only_for_announced_positions():
    store = CarryStore()
    chain = store.chain("c")
    whole = (range(2),)
    assert chain.best(5, whole) == (0, None)
    chain.publish(3, whole, np.array([[1.0, 2.0]]), consumed=0)
    found, carry = chain.best(5, (1,))
    assert found == 3 and carry.tolist() == [2.0]
    cancelled = threading.Event()
    tickets = store.announce([("c", 5, whole)])
    cancelled.set()  # waiting for 5, but the evaluation was abandoned
    assert chain.best(5, whole, cancelled)[0] == 3
    store.release(tickets)
    chain.publish(5, whole, np.array([[3.0, 4.0]]), consumed=3)
    assert chain.best(9, whole)[0] == 5
    assert chain.best(4, whole)[0] == 3
    chain.publish(7, whole, np.array([[5.0, 6.0]]), consumed=5)
    assert chain.best(4, whole) == (0, None)  # dropped: consumed by the region from 5


def test_saved_to_hdf5_in_one_pass_and_pickled(tmp_path):
    """A scan streams into a file beside a statistic, reading the source
    once; a pickled scan (by path) evaluates to the same values."""
    data = np.random.default_rng(3).standard_normal((40, 4, 3)).astype("f8")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=(5, 4, 3))
    x = la.open_dataset(tmp_path / "x.h5", "x")
    with h5py.File(tmp_path / "out.h5", "w") as out:
        target = out.create_dataset("running", shape=x.shape, dtype=x.dtype)
        with recording_reads() as reads:
            la.save([la.cumsum(x, axis=0), la.max(x, axis=0)],
                    [target, out.create_dataset("max", shape=(4, 3), dtype=x.dtype)],
                    chunk_bytes=5 * 4 * 3 * 8, workers=2)
        assert_same(target[...], np.cumsum(data, axis=0))
        assert_same(out["max"][...], np.max(data, axis=0))
    assert (reads.counts(x) == 1).all()
    again = pickle.loads(pickle.dumps(la.cumprod(x / 2, axis=1)[3:9]))
    assert_same(again.ndarray(chunk_bytes=64), np.cumprod(data / 2, axis=1)[3:9])


# -- errors ------------------------------------------------------------------------


def test_bad_arguments():
    x = la.asarray(np.zeros((2, 3)))
    with pytest.raises(la.AxisError, match="axis 2"):
        la.cumsum(x, axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        la.cumsum(x, axis=1.5)
    with pytest.raises(ValueError, match="axis is required"):
        la.cumulative_sum(x)
    with pytest.raises(TypeError, match="dtype <U1 cannot be accumulated"):
        la.cumsum(np.array(["a"]))
    with pytest.raises(la.AxisError, match="0-d"):
        la.cumsum(np.float64(1), axis=0)
