"""What a plan says it reads is what is read: counted where the bytes are fetched.

``Plan.read_bytes`` (and the bytes ``explain()`` states) count *bytes of
stored chunk data fetched*, decoded, inside the array (see
:mod:`lazyarray.planning.readcost`). :class:`StorageReads` counts the same unit at
the storage level, below lazyarray's readers:

* HDF5 (read by the direct reader, ``direct_io``): every ``os.preadv`` the
  reader makes while it reads a selection (``lazyarray.storage.hdf5.handles.pread``, called from
  ``ChunkedReader.read``) is mapped, by file (inode) and byte offset, to the
  chunks it overlaps, using HDF5's own chunk index (``get_chunk_info``). A
  plain chunk counts the elements whose bytes were fetched, a filtered
  (gzip) chunk all its elements, since it is decoded whole.
* Zarr: each chunk file the direct reader reads (``zarrdirect.read_file``,
  matched by inode), or each chunk key asked of the store (a ``LocalStore``
  subclass, with ``direct_io=False``), counts the chunk whole.

Elements count only inside the array (an edge chunk's padding does not), at
the dtype's item size. Metadata reads (superblocks, B-tree nodes, the
readers' checks of a first chunk when they open a dataset) are not chunk
data: the sources are read once before counting starts, and only reads made
inside a selection's read are counted.

Files are small and in ``tmp_path``; every result is compared with numpy.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import math
import os
import threading
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zarr.storage import LocalStore

import lazyarray as la
from lazyarray.adapters import zarrdirect
from lazyarray.array import format_bytes
from lazyarray.storage.hdf5 import ChunkedReader, handles

FORMATS = ["hdf5", "hdf5-gzip", "zarr"]


class CountingStore(LocalStore):
    """A local Zarr store that tells :class:`StorageReads` which keys are fetched."""

    counter: StorageReads | None = None

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        if self.counter is not None:
            self.counter.zarr_key(str(self.root), key)
        return await super().get(key, prototype, byte_range)


class StorageReads:
    """Counts chunk data fetched from files, in the unit of ``Plan.read_bytes``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.lock = threading.Lock()
        self.active = threading.local()
        self.counting = False
        # Elements fetched, by (source, chunk coordinates).
        self.fetched: collections.Counter[tuple[Any, tuple[int, ...]]] = collections.Counter()
        self.nbytes = 0
        self.hdf5: dict[int, dict[str, Any]] = {}  # by inode
        self.zarr_files: dict[int, tuple[str, tuple[int, ...]]] = {}  # inode -> (root, chunk)
        self.zarr: dict[str, dict[str, Any]] = {}  # by root
        read, pread, read_file = ChunkedReader.read, handles.pread, zarrdirect.read_file
        counter = self

        def chunked_read(reader: Any, key: Any, out: Any) -> None:
            counter.active.on = True
            try:
                read(reader, key, out)
            finally:
                counter.active.on = False

        def counted_pread(fd: int, buffer: memoryview, offset: int) -> int:
            done = pread(fd, buffer, offset)
            if getattr(counter.active, "on", False):
                counter.hdf5_bytes(os.fstat(fd).st_ino, offset, done)
            return done

        def counted_read_file(fd: int, into: np.ndarray) -> int:
            found = counter.zarr_files.get(os.fstat(fd).st_ino)
            if found is not None:
                counter.zarr_chunk(*found)
            return read_file(fd, into)

        monkeypatch.setattr(ChunkedReader, "read", chunked_read)
        monkeypatch.setattr(handles, "pread", counted_pread)
        monkeypatch.setattr(zarrdirect, "read_file", counted_read_file)
        CountingStore.counter = self
        monkeypatch.setattr(CountingStore, "counter", self)

    # -- sources ----------------------------------------------------------------
    def add_hdf5(self, dataset: h5py.Dataset) -> None:
        """Learn where ``dataset``'s chunks lie (HDF5's index)."""
        starts, stops, coords = [], [], []
        for i in range(dataset.id.get_num_chunks()):
            info = dataset.id.get_chunk_info(i)
            starts.append(info.byte_offset)
            stops.append(info.byte_offset + info.size)
            coords.append(tuple(o // c for o, c in zip(info.chunk_offset, dataset.chunks)))
        order = np.argsort(starts)
        self.hdf5[os.stat(dataset.file.filename).st_ino] = {
            "name": (dataset.file.filename, dataset.name),
            "starts": np.asarray(starts)[order], "stops": np.asarray(stops)[order],
            "coords": [coords[i] for i in order], "chunks": dataset.chunks,
            "shape": dataset.shape, "itemsize": dataset.dtype.itemsize,
            "filtered": dataset.compression is not None,
        }

    def add_zarr(self, root: str, array: zarr.Array) -> None:
        """Learn ``array``'s chunk files (stored under ``root``)."""
        self.zarr[root] = {"chunks": array.chunks, "shape": array.shape,
                           "itemsize": array.dtype.itemsize}
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                key = os.path.relpath(path, root)
                if key.startswith("c" + os.sep):
                    chunk = tuple(int(p) for p in key.split(os.sep)[1:])
                    self.zarr_files[os.stat(path).st_ino] = (root, chunk)

    # -- counting ---------------------------------------------------------------
    @staticmethod
    def inside(chunk: tuple[int, ...], chunks: tuple[int, ...], shape: tuple[int, ...]) -> int:
        return math.prod(min(c, n - j * c) for j, c, n in zip(chunk, chunks, shape))

    def _add(self, source: Any, chunk: tuple[int, ...], elements: int, itemsize: int) -> None:
        if not self.counting or not elements:
            return
        with self.lock:
            self.fetched[source, chunk] += elements
            self.nbytes += elements * itemsize

    def hdf5_bytes(self, inode: int, offset: int, nbytes: int) -> None:
        table = self.hdf5.get(inode)
        if table is None:
            return
        end = offset + nbytes
        first = max(int(np.searchsorted(table["stops"], offset, side="right")), 0)
        for k in range(first, len(table["starts"])):
            start, stop = int(table["starts"][k]), int(table["stops"][k])
            if start >= end:
                break
            if stop <= offset:
                continue
            chunk, chunks, shape = table["coords"][k], table["chunks"], table["shape"]
            itemsize = table["itemsize"]
            if table["filtered"]:
                elements = self.inside(chunk, chunks, shape)
            else:
                # The elements whose bytes were fetched, inside the array.
                low = (max(offset, start) - start) // itemsize
                high = (min(end, stop) - start) // itemsize
                where = np.unravel_index(np.arange(low, high), chunks)
                keep = np.ones(high - low, bool)
                for axis, (j, c, n) in enumerate(zip(chunk, chunks, shape)):
                    keep &= where[axis] + j * c < n
                elements = int(keep.sum())
            self._add(table["name"], chunk, elements, itemsize)

    def zarr_chunk(self, root: str, chunk: tuple[int, ...]) -> None:
        info = self.zarr[root]
        self._add(root, chunk, self.inside(chunk, info["chunks"], info["shape"]), info["itemsize"])

    def zarr_key(self, root: str, key: str) -> None:
        if root in self.zarr and key.startswith("c/"):
            self.zarr_chunk(root, tuple(int(p) for p in key.split("/")[1:]))

    @contextlib.contextmanager
    def count(self) -> Any:
        self.fetched.clear()
        self.nbytes = 0
        self.counting = True
        try:
            yield self
        finally:
            self.counting = False


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> StorageReads:
    return StorageReads(monkeypatch)


class Sources:
    """Writes arrays as chunked HDF5 or Zarr in ``folder`` and wraps them, read-only."""

    def __init__(self, folder: Any, storage: StorageReads, stack: contextlib.ExitStack,
                 direct_io: bool = True):
        self.folder, self.storage, self.stack = folder, storage, stack
        self.direct_io = direct_io
        self.count = 0

    def add(self, values: np.ndarray, chunks: tuple[int, ...], kind: str) -> la.Array:
        self.count += 1
        if kind.startswith("hdf5"):
            path = os.path.join(self.folder, f"s{self.count}.h5")
            with h5py.File(path, "w") as f:
                f.create_dataset("x", data=values, chunks=chunks,
                                 compression="gzip" if kind == "hdf5-gzip" else None)
            dataset = self.stack.enter_context(h5py.File(path, "r"))["x"]
            self.storage.add_hdf5(dataset)
            array = la.asarray(dataset)
        else:
            root = os.path.join(self.folder, f"s{self.count}.zarr")
            z = zarr.create_array(root, shape=values.shape, chunks=chunks, dtype=values.dtype)
            z[...] = values
            self.storage.add_zarr(root, z)
            store = CountingStore(root, read_only=True) if not self.direct_io else root
            array = la.asarray(zarr.open_array(store, mode="r"))
        # A first read: the readers check the file and index their chunks.
        array[(0,) * values.ndim].ndarray(direct_io=self.direct_io)
        return array


def values_of(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Float32 values with no chunk all zeros (Zarr stores no chunk of fill values)."""
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 10 + 1).astype(np.float32)


def check_equal(actual: np.ndarray, expected: Any) -> None:
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(actual, expected)


# -- a mosaic of members whose chunks do not line up: each chunk once ------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mosaic_of_unaligned_members_reads_each_stored_chunk_once(tmp_path_factory, data):
    """Members of random lengths, random chunkings and random formats, joined
    along time: with room in a tile for the sources' common cuts, every stored
    chunk is fetched exactly once (elements fetched equal the chunk's), what
    the plan says is what is read, and the results are numpy's."""
    folder = tmp_path_factory.mktemp("mosaic")
    width = data.draw(st.integers(1, 6), label="width")
    count = data.draw(st.integers(1, 4), label="members")
    with contextlib.ExitStack() as stack:
        counter = StorageReads(stack.enter_context(pytest.MonkeyPatch.context()))
        sources = Sources(folder, counter, stack)
        members, arrays, rows = [], [], []
        for number in range(count):
            length = data.draw(st.integers(1, 20), label="length")
            chunks = (data.draw(st.integers(1, length), label="rows"),
                      data.draw(st.integers(1, width), label="columns"))
            kind = data.draw(st.sampled_from(FORMATS), label="format")
            values = values_of((length, width), number)
            members.append(sources.add(values, chunks, kind))
            arrays.append(values)
            rows.append(chunks[0])
        mosaic = la.concatenate(members)
        expected = np.concatenate(arrays)
        # A tile can hold the longest chunk by the whole width: room for the
        # common cuts (along time, each member's own; across, the width).
        chunk_bytes = data.draw(st.integers(1, 3), label="tiles") * max(rows) * width * 4
        targets = [la.mean(mosaic, 0), la.max(mosaic, 0), mosaic * 2]
        if data.draw(st.booleans(), label="reductions only"):
            targets = targets[:2]  # deep tiles
        plan = la.plan(targets, chunk_bytes=chunk_bytes)
        with counter.count():
            results = la.ndarrays(targets, chunk_bytes=chunk_bytes)
    check_equal(results[0], expected.astype(np.float64).mean(0).astype(np.float32))
    check_equal(results[1], expected.max(0))
    if len(results) > 2:
        check_equal(results[2], expected * 2)
    [step] = plan.passes
    assert counter.nbytes == plan.read_bytes == step.stored_bytes == expected.nbytes
    for (source, chunk), fetched in counter.fetched.items():
        info = counter.zarr.get(source) or next(
            t for t in counter.hdf5.values() if t["name"] == source)
        assert fetched == StorageReads.inside(chunk, info["chunks"], info["shape"]), chunk
    assert not step.notes


# -- random graphs: the plan's bytes are the bytes read ------------------------------


def take(values: np.ndarray, key: tuple[Any, ...]) -> np.ndarray:
    """numpy's orthogonal indexing: one axis at a time, last first (ints drop axes)."""
    for axis in range(len(key) - 1, -1, -1):
        values = values[(slice(None),) * axis + (key[axis],)]
    return values


@st.composite
def items(draw: Any, n: int, arrays: bool = True) -> Any:
    """A key item for an axis of length ``n``: a slice, an index list or an int."""
    kind = draw(st.sampled_from(["slice", "slice", "list", "int"] if arrays else ["slice"]))
    if kind == "int":
        return draw(st.integers(0, n - 1))
    if kind == "list":
        return np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n + 2)))
    step = draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
    start = draw(st.integers(0, n - 1))
    stop = draw(st.integers(start + 1, n)) if step > 0 else None
    return slice(start, stop, step) if step > 0 else slice(start, None, step)


@st.composite
def graphs(draw: Any, folder: Any, counter: StorageReads, stack: contextlib.ExitStack,
           direct_io: bool) -> tuple[list[la.Array], list[Any]]:
    """Random results over chunked sources: windows, strides, index lists, ints,
    mosaics (members transposed or reversed too), broadcasts, elementwise
    operations and reductions; with the same computed by numpy."""
    side = draw(st.integers(1, 5), label="side")
    kinds = FORMATS if direct_io else ["zarr"]
    sources = Sources(folder, counter, stack, direct_io)
    lazy, real = [], []
    for number in range(draw(st.integers(1, 3), label="sources")):
        shape = (draw(st.integers(1, 8), label="length"), side, side)
        chunks = tuple(draw(st.integers(1, n), label="chunk") for n in shape)
        values = values_of(shape, 10 + number)
        lazy.append(sources.add(values, chunks, draw(st.sampled_from(kinds), label="format")))
        real.append(values)
    members, parts = [], []
    for _ in range(draw(st.integers(1, 4), label="members")):
        pick = draw(st.integers(0, len(lazy) - 1))
        a, v = lazy[pick], real[pick]
        how = draw(st.sampled_from(["as is", "transposed", "window"]))
        if how == "transposed":
            a, v = a.transpose(0, 2, 1), v.transpose(0, 2, 1)
        elif how == "window":
            item = draw(items(v.shape[0], arrays=draw(st.booleans())))
            if isinstance(item, int):
                item = slice(item, item + 1)
            a, v = a[item], v[item]
        members.append(a)
        parts.append(v)
    m, x = la.concatenate(members), np.concatenate(parts)
    if draw(st.booleans(), label="select"):
        key = tuple(draw(items(n)) for n in x.shape)
        if all(isinstance(k, int) for k in key):
            key = key[:-1] + (slice(None),)
        m, x = m[key], take(x, key)
    other = None
    if draw(st.booleans(), label="broadcast") and x.ndim >= 2:
        # Another source's first plane, broadcast along the first axis.
        pick = draw(st.integers(0, len(lazy) - 1))
        plane_shape = x.shape[-1:]
        if real[pick].shape[2] >= plane_shape[0]:
            other = (lazy[pick][0, 0, : plane_shape[0]], real[pick][0, 0, : plane_shape[0]])
    if other is not None:
        m, x = m - other[0], x - other[1]
    axis = draw(st.sampled_from([None, *range(x.ndim)]), label="axis")
    shape = x.shape
    targets = draw(st.lists(st.sampled_from(["mean", "std", "max", "double", "anomaly"]),
                            min_size=1, max_size=3, unique=True), label="targets")
    results, expected = [], []
    wide = x.astype(np.float64)
    for name in targets:
        if name == "mean":
            results.append(la.mean(m, axis))
            expected.append(wide.mean(axis).astype(np.float32))
        elif name == "std":
            results.append(la.std(m, axis))
            expected.append(wide.std(axis).astype(np.float32))
        elif name == "max":
            results.append(la.max(m, axis))
            expected.append(x.max(axis))
        elif name == "double":
            results.append(m * 2 + 1)
            expected.append(x * 2 + 1)
        elif shape[0] > 0:  # anomaly: two passes
            results.append(m - la.mean(m, 0))
            expected.append((wide - wide.mean(0)).astype(np.float32))
    return results, expected


@pytest.mark.parametrize(("shape", "chunks", "key", "chunk_bytes"), [
    # Spans of part reads that cross the padding of edge chunks (counted
    # without it, as whole chunks are).
    ((1, 4, 4), (1, 3, 3), np.s_[:, :, :], 32),
    # A negative step, read forwards, in parts of its chunks.
    ((2, 2, 2), (1, 2, 2), np.s_[::-1, 0:1, 0], 8),
    # An index array that is a progression, read as a range, in parts.
    ((1, 2, 2), (1, 2, 2), np.s_[[0], :, :], 4),
    ((6, 2, 4), (2, 2, 2), np.s_[[2, 3, 4], 1, :], 8),
], ids=["edge-padding", "negative-step", "one-index", "progression"])
def test_plans_count_part_reads_as_the_reader_makes_them(tmp_path, shape, chunks, key,
                                                          chunk_bytes):
    # Cases the property above found: the plan counted whole chunks, or the
    # padding of edge chunks, where the direct reader reads parts of them.
    values = values_of(shape, 3)
    with contextlib.ExitStack() as stack:
        counter = StorageReads(stack.enter_context(pytest.MonkeyPatch.context()))
        source = Sources(str(tmp_path), counter, stack, direct_io=True)
        target = la.mean(source.add(values, chunks, "hdf5")[key])
        options = {"chunk_bytes": chunk_bytes, "direct_io": True}
        plan = la.plan([target], **options)
        with counter.count():
            (got,) = la.ndarrays([target], **options)
    expected = values[key].astype(np.float64).mean().astype(np.float32)
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert counter.nbytes == plan.read_bytes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_plan_says_the_bytes_that_are_read(tmp_path_factory, data):
    """For random graphs over chunked HDF5 (plain, gzip) and Zarr sources and
    random budgets, ``Plan.read_bytes`` (summed over passes, as ``explain()``
    says) equals the chunk data fetched from storage, whether or not chunks
    are read more than once; ``explain()`` states it and says why."""
    direct_io = data.draw(st.sampled_from([True, True, False]), label="direct_io")
    with contextlib.ExitStack() as stack:
        counter = StorageReads(stack.enter_context(pytest.MonkeyPatch.context()))
        folder = tmp_path_factory.mktemp("graphs")
        targets, expected = data.draw(graphs(folder, counter, stack, direct_io))
        chunk_bytes = data.draw(st.integers(4, 2048), label="chunk_bytes")
        options = {"chunk_bytes": chunk_bytes, "direct_io": direct_io}
        plan = la.plan(targets, **options)
        with counter.count():
            results = la.ndarrays(targets, **options)
    for actual, wanted in zip(results, expected, strict=True):
        check_equal(actual, wanted)
    assert counter.nbytes == plan.read_bytes == sum(p.read_bytes for p in plan.passes)
    text = plan.explain()
    for step in plan.passes:
        again = step.read_bytes - step.stored_bytes
        if again > 0:
            assert f"Reads {format_bytes(again)} more than each stored chunk once" in text


def test_a_stepped_selection_of_one_position_reads_one_element(tmp_path, storage):
    """``x[0:2:2]`` cut into tiles keeps ``range(0, 2, 2)``: one position,
    read as one element of its plain chunk (as the plan counts it), not the
    whole chunk (a case hypothesis found: 28 bytes read where 24 were said)."""
    values = values_of((2, 1, 1), 1)
    with contextlib.ExitStack() as stack:
        x = Sources(tmp_path, storage, stack).add(values, (2, 1, 1), "hdf5")
        mosaic = la.concatenate([x[0:2], x[0:1], x[0:2:2]])
        plan = la.plan([la.mean(mosaic)], chunk_bytes=4)
        with storage.count():
            [mean] = la.ndarrays([la.mean(mosaic)], chunk_bytes=4)
    expected = np.concatenate([values, values[0:1], values[0:2:2]])
    check_equal(mean, expected.astype(np.float64).mean().astype(np.float32))
    assert storage.nbytes == plan.read_bytes == expected.nbytes


# -- the demo's layout, small: plain planes by eight days, a compressed climatology ----


def test_a_climatology_mosaic_beside_plain_planes_reads_each_chunk_once(tmp_path, storage):
    """The layout of ``make demo``: yearly files of plain chunks of whole
    planes (8 days), and a compressed climatology in chunks that cut the
    planes (73 days, quarter planes), repeated once per year. The common cut
    is the climatology's chunk by whole planes: the plain chunks are read
    by rows (each row once), the climatology's chunks whole once per year."""
    year, lat, lon = 73, 8, 12
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        days = [values_of((year, lat, lon), n) for n in range(3)]
        clim_values = values_of((year, lat, lon), 9)
        tas = la.concatenate([sources.add(v, (8, lat, lon), "hdf5") for v in days])
        clim = sources.add(clim_values, (15, lat // 2, lon // 2), "zarr")
        anomaly = tas - la.concatenate([clim] * 3)
        targets = [la.mean(tas, 0), la.std(tas, 0), la.max(tas, 0), anomaly, la.min(anomaly)]
        chunk_bytes = 15 * lat * lon * 4
        plan = la.plan(targets, chunk_bytes=chunk_bytes)
        with storage.count():
            results = la.ndarrays(targets, chunk_bytes=chunk_bytes)
    x = np.concatenate(days)
    a = x - np.concatenate([clim_values] * 3)
    for actual, wanted in zip(results, [x.astype(np.float64).mean(0).astype(np.float32),
                                        x.astype(np.float64).std(0).astype(np.float32),
                                        x.max(0), a, a.min()]):
        check_equal(actual, wanted)
    [step] = plan.passes
    assert all(b % year % 15 == 0 for b in step.bounds[0])  # on the climatology's chunks
    assert step.bounds[1:] == ((0, lat), (0, lon))
    once = x.nbytes + 3 * clim_values.nbytes
    assert storage.nbytes == plan.read_bytes == step.stored_bytes == once
    assert not step.notes
    # Reductions alone: deep tiles that read each plain chunk once.
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path / "..", storage, stack)
        tas = la.concatenate([sources.add(v, (8, lat, lon), "hdf5") for v in days])
        plan = la.plan([la.mean(tas, 0), la.std(tas, 0)], chunk_bytes=chunk_bytes)
        with storage.count():
            mean, _ = la.ndarrays([la.mean(tas, 0), la.std(tas, 0)], chunk_bytes=chunk_bytes)
    check_equal(mean, x.astype(np.float64).mean(0).astype(np.float32))
    assert storage.nbytes == plan.read_bytes == x.nbytes


# -- explain(): the bytes, and why ------------------------------------------------------


def test_explain_states_chunks_read_twice_when_no_common_cut_fits(tmp_path, storage):
    """Chunks of 3 and of 4 rows have no common cut shorter than 12 rows; with
    tiles of at most 4 rows, some chunks are read twice, and explain() says
    how many bytes that adds, which chunks and why."""
    a_values, b_values = values_of((24, 5), 1), values_of((24, 5), 2)
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        a = sources.add(a_values, (3, 5), "zarr")
        b = sources.add(b_values, (4, 5), "hdf5-gzip")
        chunk_bytes = 4 * 5 * 4
        plan = la.plan([a + b], chunk_bytes=chunk_bytes)
        with storage.count():
            [total] = la.ndarrays([a + b], chunk_bytes=chunk_bytes)
    check_equal(total, a_values + b_values)
    [step] = plan.passes
    assert storage.nbytes == plan.read_bytes > step.stored_bytes == 2 * a_values.nbytes
    text = plan.explain()
    again = format_bytes(step.read_bytes - step.stored_bytes)
    assert f"Reads {again} more than each stored chunk once" in text
    assert "no tiling that keeps every source's chunks whole fits the budget" in text
    assert "tiles cut the chunks" in text and "along axis 0" in text
    # With room for 12 rows a tile, each chunk is read once and nothing is said.
    plan = la.plan([a + b], chunk_bytes=12 * 5 * 4)
    assert plan.read_bytes == plan.passes[0].stored_bytes and not plan.passes[0].notes


def test_explain_states_chunk_data_outside_the_selection(tmp_path, storage):
    """A key that takes a few rows of compressed chunks fetches them whole."""
    values = values_of((12, 6), 3)
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        x = sources.add(values, (4, 6), "zarr")
        plan = la.plan([x[3:5] * 2])
        with storage.count():
            [doubled] = la.ndarrays([x[3:5] * 2])
    check_equal(doubled, values[3:5] * 2)
    assert storage.nbytes == plan.read_bytes == 8 * 6 * 4  # chunks 0 and 1, whole
    assert "lie outside the selections" in plan.explain()
    assert "takes part of its chunks (4, 6), fetched and decoded whole" in plan.explain()


def test_transposed_members_and_index_lists_that_come_back(tmp_path, storage):
    """A member transposed in a mosaic, and an index list that returns to a
    chunk it left: still, what the plan says is what is read."""
    values = values_of((6, 6, 6), 4)
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        x = sources.add(values, (2, 3, 6), "hdf5-gzip")
        mosaic = la.concatenate([x, x.transpose(0, 2, 1)])
        picked = mosaic[:, [0, 5, 1, 4]]
        for chunk_bytes in (24, 96, 10**6):
            plan = la.plan([la.mean(picked, 0), picked * 2], chunk_bytes=chunk_bytes)
            with storage.count():
                mean, doubled = la.ndarrays([la.mean(picked, 0), picked * 2],
                                            chunk_bytes=chunk_bytes)
            expected = np.concatenate([values, values.transpose(0, 2, 1)])[:, [0, 5, 1, 4]]
            check_equal(doubled, expected * 2)
            check_equal(mean, expected.astype(np.float64).mean(0).astype(np.float32))
            assert storage.nbytes == plan.read_bytes, chunk_bytes
    # Rows 0 and 1 share a chunk: a tile that holds the list's axis whole reads it once.
    [step] = la.plan([picked * 2], chunk_bytes=10**6).passes
    assert step.read_bytes == step.stored_bytes


def test_counted_reads_do_not_depend_on_workers(tmp_path, storage):
    values = values_of((30, 7), 5)
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        x = la.concatenate([sources.add(values, (4, 3), "zarr"),
                            sources.add(values, (5, 7), "hdf5")])
        found = set()
        for workers in (1, 2, 3):
            with storage.count():
                [mean] = la.ndarrays([la.mean(x * 2, 1)], chunk_bytes=64, workers=workers)
            found.add(storage.nbytes)
            check_equal(mean, (np.concatenate([values, values]).astype(np.float64) * 2)
                        .mean(1).astype(np.float32))
        assert found == {la.plan([la.mean(x * 2, 1)], chunk_bytes=64).read_bytes}


@pytest.mark.parametrize("kind", FORMATS)
def test_storage_counter_sees_every_chunk_of_a_whole_read(tmp_path, storage, kind):
    """The counter itself: reading everything once counts every chunk once."""
    values = values_of((10, 7), 6)
    with contextlib.ExitStack() as stack:
        sources = Sources(tmp_path, storage, stack)
        x = sources.add(values, (3, 4), kind)
        with storage.count():
            check_equal(x.ndarray(), values)
    assert storage.nbytes == values.nbytes
    assert len(storage.fetched) == 4 * 2
    assert sorted(set(itertools.chain.from_iterable(c for _, c in storage.fetched))) == [0, 1, 2, 3]
