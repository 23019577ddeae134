"""Iterating in slabs and blocks, evaluated ahead (lazyarray/iteration.py, issue 15).

numpy is the oracle: slabs concatenated make the array, blocks tile it once.
Reads are counted with :func:`lazyarray.testing.recording_reads`: aggregations
are computed once, not once per slab, and chunked sources are read once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from examples import examples
from graph_strategies import Sources, graphs
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy_oracle import quiet

import lazyarray as la
from lazyarray.errors import AxisError, ShapeError
from lazyarray.graph import walk
from lazyarray.iteration import iter_aligned_chunks, iter_blocks, iter_chunks
from lazyarray.testing import CountingArray, recording_reads


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("iteration") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


def same(found: np.ndarray, expected: np.ndarray) -> None:
    assert type(found) is type(expected)
    assert (found.shape, found.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_array_equal(found, expected)
    if isinstance(expected, np.ma.MaskedArray):
        np.testing.assert_array_equal(np.ma.getmaskarray(found), np.ma.getmaskarray(expected))


def gen_batches(n: int, batch_size: int, min_batch_size: int = 0) -> Any:
    """scikit-learn's ``sklearn.utils.gen_batches`` (1.x), the oracle of slab lengths."""
    start = 0
    for _ in range(int(n // batch_size)):
        end = start + batch_size
        if end + min_batch_size > n:
            continue
        yield slice(start, end)
        start = end
    if start < n:
        yield slice(start, n)


# -- slabs and blocks equal the array -------------------------------------------------------


@settings(max_examples=examples(15, 40), deadline=None)
@given(data=st.data())
def test_slabs_concatenate_to_the_array(sources: Sources, data: st.DataObject) -> None:
    lazy, expected = data.draw(graphs(sources), label="graph")
    assume(lazy.ndim > 0)
    if expected.dtype.kind == "f" and data.draw(st.booleans(), label="centred"):
        # An aggregation that every slab needs whole, or one along the slabs.
        along = data.draw(st.integers(0, lazy.ndim - 1), label="mean along")
        with quiet():
            lazy = lazy - la.mean(lazy, along, keepdims=True)
            expected = expected - np.mean(expected, along, keepdims=True)
    axis = data.draw(st.integers(-lazy.ndim, lazy.ndim - 1), label="axis")
    size = data.draw(st.none() | st.integers(1, 7), label="size")
    min_size = data.draw(st.integers(0, 4), label="min_size")
    prefetch = data.draw(st.integers(1, 3), label="prefetch")
    masked = data.draw(st.booleans(), label="masked")
    chunk_bytes = data.draw(st.sampled_from([None, 16, 256]), label="chunk_bytes")
    with quiet():
        plain = lazy.ndarray()
        whole = lazy.masked_array() if masked else plain
        slabs = list(iter_chunks(lazy, axis, size, min_size=min_size, prefetch=prefetch,
                                 masked=masked, chunk_bytes=chunk_bytes))
    if expected.dtype.kind in "fc":
        # numpy sums float32 and float16 in their own precision
        loose = max(1e-9, 1000 * float(np.finfo(expected.dtype).eps))
        np.testing.assert_allclose(plain, expected, rtol=loose, atol=loose)
    else:
        np.testing.assert_array_equal(plain, expected)
    n = lazy.shape[axis]
    lengths = [s.shape[axis] for s in slabs]
    assert sum(lengths) == n and all(lengths)
    if size is not None:
        assert lengths == [b.stop - b.start for b in gen_batches(n, size, min_size)]
    if len(lengths) > 1:
        assert lengths[-1] >= min_size
    if not n:
        assert slabs == []
        return
    join = np.ma.concatenate if masked else np.concatenate
    found = join(slabs, axis=axis % lazy.ndim)
    if lazy.reduced_axes is None and not any(n.reduced_axes is not None for n in walk([lazy])):
        same(found, whole)
    else:  # a mean, whose tiles the whole evaluation may cut otherwise: to a few ulps
        assert (type(found), found.shape, found.dtype) == (type(whole), whole.shape, whole.dtype)
        close = 8 * float(np.finfo(whole.dtype).eps)
        np.testing.assert_allclose(found, whole, rtol=close, atol=close)


@settings(max_examples=examples(12, 30), deadline=None)
@given(data=st.data())
def test_blocks_tile_the_array_once(sources: Sources, data: st.DataObject) -> None:
    lazy, expected = data.draw(graphs(sources), label="graph")
    masked = data.draw(st.booleans(), label="masked")
    chunk_bytes = data.draw(st.sampled_from([16, 64, 1024]), label="chunk_bytes")
    with quiet():
        np.testing.assert_array_equal(lazy.ndarray(), expected)
    covered = np.zeros(lazy.shape, int)
    with quiet():
        whole = lazy.masked_array() if masked else lazy.ndarray()
        blocks = list(iter_blocks(lazy, masked=masked, chunk_bytes=chunk_bytes))
    with la.set_options(chunk_bytes=chunk_bytes):
        grid = lazy.chunks
    if lazy.size:
        assert len(blocks) == int(np.prod([len(g) for g in grid]))
    regions = [region for region, _ in blocks]
    assert regions == sorted(regions, key=lambda r: tuple(s.start for s in r))  # C order
    for region, block in blocks:
        covered[region] += 1
        same(block, whole[region] if region else whole)  # a 0-d array, not a scalar
    assert (covered == 1).all()


def test_aggregations_under_slabs_and_a_transpose() -> None:
    data = np.random.default_rng(0).standard_normal((9, 5, 4))
    x = la.asarray(data)
    y = (x - la.mean(x, 0)) / la.std(x, 0) + la.mean(x, (0, 2))[:, None]
    z = la.transpose(y, (2, 0, 1)) * la.sum(x, 1).T[:, :, None]
    for array in (y, z, la.mean(x, 1), la.max(y, 0)):
        for axis in range(array.ndim):
            expected = array.ndarray()
            found = np.concatenate(list(iter_chunks(array, axis, 2)), axis)
            same(found, expected)


def test_aligned_slabs_of_features_and_labels() -> None:
    data = np.arange(40.0).reshape(10, 4)
    x = la.asarray(data)
    labels = la.sum(x, 1) > 70
    pairs = list(iter_aligned_chunks([x, labels, x[:, :2] - la.mean(x, 0)[:2]], size=4,
                                     min_size=3))
    assert [p[0].shape[0] for p in pairs] == [4, 6]
    expected = [data, data.sum(1) > 70, data[:, :2] - data.mean(0)[:2]]
    for part, value in zip(zip(*pairs), expected):
        same(np.concatenate(part), value)
    # Different lengths along the axis are refused.
    with pytest.raises(ShapeError, match=r"one length along axis 0, found \[10, 4\]"):
        iter_aligned_chunks([x, x.T])
    # la.iter_chunks and the method take the same arrays as a list, or one array.
    for part, value in zip(zip(*la.iter_chunks([x, labels], size=4, min_size=3)), expected):
        same(np.concatenate(part), value)
    same(np.concatenate(list(x.iter_chunks(size=3))), data)
    same(np.concatenate([b for _, b in x.iter_blocks()]), data)


def test_masked_slabs_keep_their_masks() -> None:
    data = np.ma.masked_array(np.arange(12.0).reshape(6, 2), mask=np.arange(12) % 5 == 0)
    x = la.asarray(data)
    y = x - la.mean(x, 0)
    found = np.ma.concatenate(list(iter_chunks(y, size=4, masked=True)))
    same(found, y.masked_array())
    plain = np.concatenate(list(iter_chunks(y, size=4)))
    same(plain, y.ndarray())


# -- reads: aggregations once, chunks once -----------------------------------------------------


@pytest.fixture
def chunked(tmp_path: Any) -> Any:
    data = np.random.default_rng(1).standard_normal((120, 6))
    with h5py.File(tmp_path / "x.h5", "w") as file:
        file.create_dataset("x", data=data, chunks=(10, 6))
        yield la.asarray(file["x"]), data


def test_aggregations_are_read_once_not_per_slab(chunked: Any) -> None:
    x, data = chunked
    y = (x - la.mean(x, 0)) / la.std(x, 0)
    with recording_reads() as reads:
        slabs = list(iter_chunks(y, size=13))
    assert len(slabs) == 10
    # Once for the mean and std together, once for the slabs: 2, not 1 + 10.
    assert (reads.counts(x) == 2).all()
    np.testing.assert_array_equal(np.concatenate(slabs), y.ndarray())
    np.testing.assert_allclose(np.concatenate(slabs),
                               (data - data.mean(0)) / data.std(0), rtol=1e-12)


def test_aggregations_the_slabs_reduce_are_computed_slab_by_slab(chunked: Any) -> None:
    x, _ = chunked
    y = la.mean(x, 1) * 2
    with recording_reads() as reads:
        found = np.concatenate(list(iter_chunks(y, size=25)))
    assert (reads.counts(x) == 1).all()
    same(found, y.ndarray())


def test_a_chunked_source_is_read_once_at_the_default_size(chunked: Any) -> None:
    x, data = chunked
    for chunk_bytes in (480, 1000, None):  # blocks of 1, 2 chunks, and the whole array
        with recording_reads() as reads:
            slabs = list(iter_chunks(x, chunk_bytes=chunk_bytes))
        assert (reads.counts(x) == 1).all()
        with la.set_options(chunk_bytes=chunk_bytes or la.get_options().chunk_bytes):
            assert [s.shape[0] for s in slabs] == list(x.chunks[0])
        same(np.concatenate(slabs), data)
    assert len(list(iter_chunks(x, chunk_bytes=480))) == 12
    with recording_reads() as reads:
        regions = [r for r, _ in iter_blocks(x, chunk_bytes=1000)]
    assert len(regions) == 6 and (reads.counts(x) == 1).all()


def test_shared_sources_of_aligned_slabs_are_read_once(chunked: Any) -> None:
    x, _ = chunked
    with recording_reads() as reads:
        pairs = list(iter_aligned_chunks([x * 2, la.sum(x, 1)], size=30))
    assert len(pairs) == 4 and (reads.counts(x) == 1).all()
    same(np.concatenate([b for _, b in pairs]), la.sum(x, 1).ndarray())


# -- threads and errors ----------------------------------------------------------------------


def wait_for_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = set(threading.enumerate()) - before
        if not left:
            return left
        time.sleep(0.01)
    return set(threading.enumerate()) - before


@pytest.mark.parametrize("how", ["break", "close", "del"])
def test_stopping_early_leaves_no_thread(how: str) -> None:
    before = set(threading.enumerate())
    x = la.asarray(np.arange(1000.0).reshape(100, 10))
    slabs = iter_chunks((x - la.mean(x, 0)) * 2, size=5, prefetch=3, workers=2)
    if how == "break":
        del slabs
        for slab in iter_chunks((x - la.mean(x, 0)) * 2, size=5, prefetch=3, workers=2):
            assert slab.shape == (5, 10)
            break
    else:
        assert next(slabs).shape == (5, 10)
        if how == "close":
            slabs.close()
        del slabs
    assert wait_for_threads(before) == set()


def test_slabs_are_read_ahead_prefetch_at_most() -> None:
    source = CountingArray(np.arange(1000.0).reshape(100, 10))
    slabs = iter_chunks(la.asarray(source) * 2, size=10, prefetch=3)
    assert source.reads == 0
    first = next(slabs)
    deadline = time.monotonic() + 5
    while source.counts[:30].min() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    # The slab taken and the two after it, evaluated while the consumer works.
    assert (source.counts[:30] == 1).all() and (source.counts[30:] == 0).all()
    same(first, np.arange(100.0).reshape(10, 10) * 2)
    assert len(list(slabs)) == 9 and (source.counts == 1).all()


def test_an_unstarted_iterator_starts_no_thread_and_reads_nothing() -> None:
    before = set(threading.enumerate())
    source = CountingArray(np.arange(20.0).reshape(10, 2))
    x = la.asarray(source)
    slabs = iter_chunks(x - la.mean(x, 0), size=3)
    assert source.reads == 0 and set(threading.enumerate()) == before
    del slabs
    assert source.reads == 0 and set(threading.enumerate()) == before


class BadSource:
    """A source of shape (20, 2) whose reads of rows 12 and after raise ``OSError``."""

    shape = (20, 2)
    dtype = np.dtype(float)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows = np.arange(20)[key[0]]
        if rows.size and rows.max() >= 12:
            raise OSError(f"cannot read rows {rows.min()} to {rows.max()}")
        return np.arange(40.0).reshape(20, 2)[key]


@pytest.mark.parametrize("prefetch", [1, 3])
def test_an_error_in_a_slab_reaches_the_consumer_at_that_slab(prefetch: int) -> None:
    before = set(threading.enumerate())
    got = []
    with pytest.raises(OSError, match="cannot read rows 12 to 15"):
        for slab in iter_chunks(la.asarray(BadSource()) * 2, size=4, prefetch=prefetch):
            got.append(slab)  # noqa: PERF402 - up to the slab that fails
    assert len(got) == 3
    same(np.concatenate(got), np.arange(24.0).reshape(12, 2) * 2)
    assert wait_for_threads(before) == set()


# -- scikit-learn: partial_fit over the slabs is fit with batch_size ------------------------------


def test_incremental_pca_over_slabs_equals_fit() -> None:
    decomposition = pytest.importorskip("sklearn.decomposition")
    data = np.random.default_rng(2).standard_normal((103, 8)) * np.arange(1, 9)
    x = la.asarray(data)
    batch_size, n_components = 20, 4  # 103 = 5 * 20 + 3: the last 3 are merged
    fitted = decomposition.IncrementalPCA(n_components, batch_size=batch_size).fit(data)
    partial = decomposition.IncrementalPCA(n_components)
    slabs = list(iter_chunks(x, size=batch_size, min_size=n_components))
    assert [len(s) for s in slabs] == [20, 20, 20, 20, 23]
    for slab in slabs:
        partial.partial_fit(slab)
    for name in ("components_", "mean_", "var_", "explained_variance_", "singular_values_"):
        np.testing.assert_array_equal(getattr(partial, name), getattr(fitted, name), name)


# -- bad arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda x: iter_chunks(x, axis=2), AxisError,
     "iter_chunks: axis 2 is out of range for an array of 2 dimensions"),
    (lambda x: iter_chunks(x, axis=1.0), TypeError, "iter_chunks: axis must be an integer"),
    (lambda x: iter_chunks(x, size=0), ValueError, "iter_chunks: size must be at least 1, found 0"),
    (lambda x: iter_chunks(x, size=2.5), TypeError, "size must be an integer, found 2.5"),
    (lambda x: iter_chunks(x, min_size=-1), ValueError,
     "iter_chunks: min_size must be at least 0, found -1"),
    (lambda x: iter_chunks(x, prefetch=0), ValueError,
     "iter_chunks: prefetch must be at least 1, found 0"),
    (lambda x: iter_chunks(x, prefetch=True), TypeError, "prefetch must be an integer, found True"),
    (lambda x: iter_chunks(x, memory_limit=0), ValueError, "memory_limit must be a positive"),
    (lambda x: iter_chunks(x, nonsense=1), TypeError, "unknown option"),
    (lambda x: iter_blocks(x, prefetch=0), ValueError,
     "iter_blocks: prefetch must be at least 1, found 0"),
    (lambda x: iter_aligned_chunks(x), TypeError, "expected a sequence of arrays"),
    (lambda x: iter_aligned_chunks([x], axis=-3), AxisError, "axis -3 is out of range"),
])
def test_bad_arguments_are_refused_at_once(call: Any, error: type, message: str) -> None:
    x = la.asarray(np.zeros((4, 3)))
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        call(x)
