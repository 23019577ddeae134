"""Tests of lazyarray/testing.py: the tools tests use to watch reads.

The oracles are reads counted where they happen (a :class:`CountingArray`
source counts what it is asked for itself) and numpy, never numbers written
down here.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import zarr
import zarr.storage
from hypothesis import given
from hypothesis import strategies as st
from strategies import keys, oindex, shapes

import lazyarray as la
from lazyarray.indexing import to_native
from lazyarray.testing import (
    CountingArray,
    InaccessibleArray,
    Read,
    ReadLog,
    assert_array_equal,
    recording_reads,
    refusing_reads,
)


def _hdf5(path, data, chunks):
    handle = h5py.File(path, "w")
    handle.create_dataset("x", data=data, chunks=chunks)
    return handle


def _zarr(path, data, chunks):
    array = zarr.create_array(zarr.storage.LocalStore(path), shape=data.shape, chunks=chunks,
                              dtype=data.dtype)
    array[...] = data
    return array


# -- recording_reads ------------------------------------------------------------------------


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
       chunk_bytes=st.sampled_from([8, 64, 10**6]), workers=st.sampled_from([1, 3]))
def test_recorded_reads_are_the_reads_the_source_sees(data, shape, chunk_bytes, workers):
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    key = data.draw(keys(shape), label="key")
    source = CountingArray(values)
    x = la.asarray(source)
    with recording_reads() as reads:
        lazy = x[key] * 2
        assert len(reads) == 0  # building and indexing read nothing
        result = lazy.ndarray(chunk_bytes=chunk_bytes, workers=workers)
    np.testing.assert_array_equal(result, oindex(values, key) * 2)
    assert len(reads) == source.reads
    np.testing.assert_array_equal(reads.counts(source), source.counts)
    np.testing.assert_array_equal(reads.counts(x), source.counts)  # an adapter: its source's
    assert reads.nbytes == source.counts.sum() * values.itemsize
    assert all(isinstance(read, Read) and read.source is source for read in reads)
    assert [read.size for read in reads] == [int(np.prod(read.shape)) for read in reads]
    assert sum(read.size for read in reads) * values.itemsize == reads.nbytes


def test_reads_of_several_sources_in_worker_threads_are_told_apart():
    a_values, b_values = np.arange(600.0).reshape(30, 20), np.ones((30, 20), "f4")
    a_source, b_source = CountingArray(a_values), CountingArray(b_values)
    a, b = la.asarray(a_source), la.asarray(b_source)
    with recording_reads() as reads:
        mean, total = la.ndarrays([la.mean(a, 0), a - b], chunk_bytes=160, workers=3)
    np.testing.assert_allclose(mean, a_values.mean(0))
    np.testing.assert_array_equal(total, a_values - b_values)
    assert a_source.reads > 1  # several tiles, read from the workers
    for source in (a_source, b_source):
        np.testing.assert_array_equal(reads.counts(source), source.counts)
        assert len(reads.of(source)) == source.reads
    assert len(reads) == a_source.reads + b_source.reads
    assert reads.nbytes == a_source.counts.sum() * 8 + b_source.counts.sum() * 4


def test_a_region_several_results_share_is_recorded_once():
    values = np.arange(24.0).reshape(4, 6)
    source = CountingArray(values)
    x = la.asarray(source)
    with recording_reads() as reads:
        results = la.ndarrays([x + 1, x * 2, la.sum(x, 1)])
    for actual, expected in zip(results, [values + 1, values * 2, values.sum(1)]):
        np.testing.assert_array_equal(actual, expected)
    assert len(reads) == source.reads
    np.testing.assert_array_equal(reads.counts(source), source.counts)


def test_file_sources_are_recorded_through_either_path(tmp_path):
    data = np.arange(8 * 6 * 5, dtype="f4").reshape(8, 6, 5)
    handle = _hdf5(tmp_path / "a.h5", data, (3, 6, 5))
    array = _zarr(tmp_path / "a.zarr", data, (3, 4, 5))
    try:
        for source in (la.asarray(handle["x"]), la.asarray(array)):
            seen = []
            for direct_io in (True, False):
                with recording_reads() as reads:
                    mean, doubled = la.ndarrays([la.mean(source, 0), source * 2],
                                                chunk_bytes=3 * 6 * 5 * 4, direct_io=direct_io)
                np.testing.assert_allclose(mean, data.mean(0), rtol=1e-6)
                np.testing.assert_array_equal(doubled, data * 2)
                # Each element once, the reads shared between the two results.
                np.testing.assert_array_equal(reads.counts(source), np.ones(data.shape))
                assert reads.nbytes == data.nbytes
                with recording_reads() as view_reads:
                    view = (source[:, ::-2] * 2).ndarray(direct_io=direct_io)
                np.testing.assert_array_equal(view, data[:, ::-2] * 2)
                selected = np.zeros(data.shape, bool)
                selected[:, ::-2] = True  # read natively rising, reversed in memory
                np.testing.assert_array_equal(view_reads.counts(source), selected)
                # Each read holds what the source holds there.
                for read in reads:
                    assert read.adapter.concrete is source.concrete
                    np.testing.assert_array_equal(read.adapter.concrete[to_native(read.key)],
                                                  data[to_native(read.key)])
                seen.append([read.key for read in reads])
            assert seen[0] == seen[1]  # the record is of the adapter's reads, whatever the path
    finally:
        handle.close()


def test_recording_stops_at_the_end_of_the_block_even_when_it_raises():
    source = CountingArray(np.arange(5))
    x = la.asarray(source)
    with recording_reads() as outer:
        with pytest.raises(ZeroDivisionError), recording_reads() as inner:
            x[1:].ndarray()
            1 / 0  # noqa: B018
        x[:2].ndarray()
    x.ndarray()  # after both: recorded by neither
    assert source.reads == 3
    assert [read.key for read in inner] == [read.key for read in outer[:1]]
    assert len(inner) == 1 and len(outer) == 2
    inner.clear()
    assert len(inner) == 0 and isinstance(inner, ReadLog)


# -- refusing_reads -------------------------------------------------------------------------


def test_refused_sources_raise_when_read_and_others_read_on():
    a_values, b_values = np.arange(12.0).reshape(3, 4), np.arange(12.0, 24.0).reshape(3, 4)
    a, b = la.asarray(a_values), la.asarray(b_values)
    with refusing_reads(a):
        lazy = la.mean(a[1:] + b[1:], 0)  # building reads nothing
        plan = la.plan([lazy])  # nor does planning
        assert plan.passes and lazy.shape == (4,)
        assert_array_equal(b * 2, b_values * 2)
        for workers in (1, 2):
            with pytest.raises(AssertionError, match="refused.*ndarray"):
                lazy.ndarray(workers=workers, chunk_bytes=16)
    np.testing.assert_allclose(lazy.ndarray(), (a_values[1:] + b_values[1:]).mean(0))


def test_refusing_every_source_as_inaccessible_arrays_do(tmp_path):
    data = np.arange(20, dtype="i2").reshape(4, 5)
    handle = _hdf5(tmp_path / "b.h5", data, (2, 5))
    try:
        h5 = la.asarray(handle["x"])
        never = la.asarray(InaccessibleArray(data.shape, data.dtype))
        with refusing_reads():
            graphs = [la.max(h5[::-1, [4, 0]] - 1, 1), la.sum(never[1:] * 2, 0)]
            assert [g.shape for g in graphs] == [(4,), (5,)]
            for graph in graphs:
                with pytest.raises(AssertionError):
                    graph.ndarray()
        assert_array_equal(graphs[0], (data[::-1][:, [4, 0]] - 1).max(1))
        with pytest.raises(AssertionError, match="InaccessibleArray was read"):
            graphs[1].ndarray()
    finally:
        handle.close()
