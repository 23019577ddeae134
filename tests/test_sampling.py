"""Tests of :func:`lazyarray.iter_batches` (lazyarray/sampling/), numpy as the oracle.

Data: row ``i`` of every array holds ``i`` (the features ``[i, i + 0.25, i + 0.5]``,
the labels ``i``), so a batch tells which rows it holds, and its values must be
numpy's rows.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.sampling.layout import find_layout
from lazyarray.testing import CountingArray, recording_reads


def features(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.float64)[:, None] + np.array([0.0, 0.25, 0.5])


def write_files(folder: Path, sizes: list[int], chunk: int = 8,
                compression: str | None = None) -> list[str]:
    """One HDF5 file per size, holding its rows of ``features`` ("x") and labels ("y")."""
    paths = []
    start = 0
    for n, size in enumerate(sizes):
        path = str(folder / f"part{n:04d}.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=features(start, start + size), chunks=(min(chunk, size), 3))
            f.create_dataset("y", data=np.arange(start, start + size, dtype=np.int32),
                             chunks=(min(chunk, size),), compression=compression)
        paths.append(path)
        start += size
    return paths


def mosaic(paths: list[str]) -> tuple[la.Array, la.Array]:
    return (la.concatenate([la.open_dataset(p, "x") for p in paths]),
            la.concatenate([la.open_dataset(p, "y") for p in paths]))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Seven files of unequal lengths, 203 rows in all, chunks of 8 rows."""
    return write_files(tmp_path_factory.mktemp("sampling"), [40, 17, 33, 1, 50, 30, 32])


N = 203


def check_batch(x: np.ndarray, y: np.ndarray, size: int) -> None:
    """A batch of features and labels equals numpy's rows ``y`` of the data."""
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((size, 3), np.float64, (size,), np.int32)
    np.testing.assert_array_equal(x, features(0, N)[y])


def same_batches(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        len(p) == len(q) and all(np.array_equal(u, v) and u.dtype == v.dtype
                                 for u, v in zip(p, q))
        for p, q in zip(a, b))


# -- every row once an epoch ---------------------------------------------------------------


def test_in_order_equals_numpy_slices(files: list[str]) -> None:
    x, y = mosaic(files)
    batches = list(la.iter_batches([x, y], 30, shuffle=False))
    assert [len(b) for _, b in batches] == [30] * 6 + [23]
    for k, (xb, yb) in enumerate(batches):
        np.testing.assert_array_equal(yb, np.arange(N, dtype=np.int32)[30 * k:30 * k + 30])
        check_batch(xb, yb, len(yb))
    dropped = list(la.iter_batches(y, 30, shuffle=False, drop_last=True))
    assert isinstance(dropped[0], np.ndarray) and len(dropped) == 6


@pytest.mark.parametrize("shuffle", ["blocks", "rows"])
@pytest.mark.parametrize("drop_last", [False, True])
def test_every_row_once_per_epoch(files: list[str], shuffle: str, drop_last: bool) -> None:
    x, y = mosaic(files)
    batches = list(la.iter_batches([x, y], 16, shuffle=shuffle, seed=7, epochs=3,
                                   drop_last=drop_last, n_active=3, chunk_bytes=16 * 28))
    per_epoch = N // 16 if drop_last else -(-N // 16)
    assert len(batches) == 3 * per_epoch
    epochs = [batches[e * per_epoch:(e + 1) * per_epoch] for e in range(3)]
    for epoch in epochs:
        for k, (xb, yb) in enumerate(epoch):
            check_batch(xb, yb, 16 if drop_last or k < per_epoch - 1 else N % 16)
        rows = np.concatenate([yb for _, yb in epoch])
        if drop_last:  # every row at most once, all but N % 16 of them
            assert len(set(rows.tolist())) == len(rows) == N - N % 16
        else:
            assert Counter(rows.tolist()) == Counter(range(N))
    # A new order every epoch, and a shuffled one.
    orders = [np.concatenate([yb for _, yb in epoch]) for epoch in epochs]
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], np.sort(orders[0]))


def test_a_single_array_along_another_axis() -> None:
    data = np.arange(5 * 23).reshape(5, 23).astype(np.int16)
    x = la.concatenate([data[:, :10], data[:, 10:]], axis=1)
    for shuffle in ("blocks", "rows", False):
        batches = list(la.iter_batches(x, 6, axis=-1, shuffle=shuffle, seed=0, chunk_bytes=20))
        assert all(isinstance(b, np.ndarray) and b.dtype == np.int16 for b in batches)
        columns = np.concatenate([b[0] for b in batches])
        assert sorted(columns.tolist()) == list(range(23))
        np.testing.assert_array_equal(np.concatenate(batches, axis=1), data[:, columns])


def test_blocks_keep_a_working_set_of_n_active_blocks() -> None:
    # One row per batch: the rows of a batch's window come from n_active blocks at most.
    x = la.asarray(np.arange(400, dtype=np.int64))
    layout = find_layout([x], [0], chunk_bytes=80)  # blocks of 10 rows
    assert (layout.block_stops - layout.block_starts == 10).all()
    rows = np.concatenate(list(la.iter_batches(x, 1, seed=3, n_active=4, chunk_bytes=80)))
    assert sorted(rows.tolist()) == list(range(400))
    blocks = rows // 10
    first = {b: i for i, b in reversed(list(enumerate(blocks.tolist())))}
    last = {b: i for i, b in enumerate(blocks.tolist())}
    live = [sum(first[b] <= i <= last[b] for b in first) for i in range(400)]
    assert max(live) == 4


# -- determinism ------------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", ["blocks", "rows"])
def test_same_seed_same_batches_for_any_workers(files: list[str], shuffle: str) -> None:
    x, y = mosaic(files)
    runs = [list(la.iter_batches([x, y], 20, shuffle=shuffle, seed=11, workers=w,
                                 prefetch=p, chunk_bytes=16 * 28))
            for w, p in [(1, 1), (2, 3)]]
    assert same_batches(*runs)
    other = list(la.iter_batches([x, y], 20, shuffle=shuffle, seed=12, chunk_bytes=16 * 28))
    assert not same_batches(runs[0], other)
    generator = list(la.iter_batches([x, y], 20, shuffle=shuffle,
                                     seed=np.random.default_rng(11), chunk_bytes=16 * 28))
    assert same_batches(runs[0], generator)


@pytest.mark.parametrize(("shuffle", "processes"), [
    ("rows", 1), pytest.param("blocks", 2, marks=pytest.mark.slow)])
def test_processes_give_the_batches_of_threads(files: list[str], shuffle: str,
                                               processes: int) -> None:
    x, y = mosaic(files)
    kwargs: dict[str, Any] = {"shuffle": shuffle, "seed": 5, "epochs": 2,
                              "chunk_bytes": 16 * 28}
    threads = list(la.iter_batches([x, y], 24, **kwargs))
    spawned = list(la.iter_batches([x, y], 24, processes=processes, **kwargs))
    assert same_batches(threads, spawned)
    assert multiprocessing.active_children() == []


# -- weights ------------------------------------------------------------------------------------

#: The chi-square distribution's 0.999 quantile with 3 degrees of freedom.
CHI2_3_999 = 16.266


def chi_square(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("shuffle", ["rows", "blocks"])
def test_weights_set_how_often_members_are_drawn(shuffle: str) -> None:
    # Four members of equal length: early in an epoch (few rows drawn of many),
    # a member's share of the draws is proportional to its weight.
    size, weights = 8_000, np.array([1.0, 2.0, 3.0, 4.0])
    x = la.concatenate([np.arange(m * size, (m + 1) * size, dtype=np.int32) for m in range(4)])
    counts = np.zeros(4)
    for seed in range(5):
        # chunk_bytes of one row: blocks of one row, drawn about independently.
        first = next(iter(la.iter_batches(x, 400, shuffle=shuffle, seed=seed, weights=weights,
                                          chunk_bytes=4)))
        counts += np.bincount(first // size, minlength=4)
    expected = counts.sum() * weights / weights.sum()
    assert chi_square(counts, expected) < CHI2_3_999
    # Uniform, without weights (the test has power: the weighted counts are far from it).
    uniform = np.full(4, counts.sum() / 4)
    assert chi_square(counts, uniform) > 10 * CHI2_3_999


def test_weights_still_give_every_row_once() -> None:
    x = la.concatenate([np.arange(0, 30), np.arange(30, 100)])
    for shuffle in ("rows", "blocks"):
        rows = np.concatenate(list(la.iter_batches(x, 7, shuffle=shuffle, seed=1,
                                                   weights=[10, 1], chunk_bytes=40)))
        assert sorted(rows.tolist()) == list(range(100))
        # The heavy member's rows come early: its mean position is before the light's.
        position = np.argsort(rows)
        assert position[:30].mean() < position[30:].mean()


# -- reads -------------------------------------------------------------------------------------


def test_rows_reads_proportional_to_the_rows(tmp_path: Path) -> None:
    # x stored plain (read by rows), y compressed (read by chunks).
    paths = write_files(tmp_path, [64, 48, 72], chunk=16, compression="gzip")
    x, y = mosaic(paths)
    with recording_reads() as reads:
        marks = [0]
        batches = []
        # prefetch=1: the next batch is read only once this one is taken.
        for xb, yb in la.iter_batches([x, y], 20, shuffle="rows", seed=2, prefetch=1):
            batches.append(yb)
            marks.append(len(reads))
    log = list(reads)
    bounds = {p: (a, b) for p, a, b in zip(paths, [0, 64, 112], [64, 112, 184])}
    for k, batch in enumerate(batches):
        part = log[marks[k]:marks[k + 1]]
        assert part  # each batch read after the one before was taken
        for name in ("/x", "/y"):
            for path, (start, stop) in bounds.items():
                rows = [np.arange(stop - start)[r.key[0]] for r in part
                        if r.adapter.name == name and r.adapter.filename == path]
                needed = np.sort(batch[(batch >= start) & (batch < stop)]) - start
                got = np.sort(np.concatenate(rows)) if rows else np.zeros(0, int)
                # Only the rows needed, each once; ...
                np.testing.assert_array_equal(got, needed)
                if name == "/y":  # ... and a compressed chunk asked for once a batch.
                    chunks = [c for r in rows for c in set((r // 16).tolist())]
                    assert len(chunks) == len(set(chunks))
    # Over the epoch, every element of each source read exactly once.
    for r in log:
        assert (reads.counts(r.adapter) == 1).all()


def bytes_read() -> int:
    """Bytes this process read from files so far (``read``, ``pread``: cached or not)."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="Linux's /proc/self/io")
def test_rows_of_plain_chunks_read_only_their_bytes(tmp_path: Path) -> None:
    # Batches of 10 rows of 400 touch about 10 chunks of 16 rows each: read
    # whole, the chunks would be 16 times the rows' bytes.
    [path] = write_files(tmp_path, [400], chunk=16)
    x = la.open_dataset(path, "x")
    _ = x[:1].ndarray()  # the file open, its chunk index read
    before = bytes_read()
    batches = list(la.iter_batches(x, 10, shuffle="rows", seed=0, workers=1))
    read = bytes_read() - before
    assert sum(len(b) for b in batches) == 400
    assert read < 1.5 * x.nbytes, (read, x.nbytes)


# -- files open ----------------------------------------------------------------------------------


def files_open(folder: Path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(folder))
    return count


def check_open_files(folder: Path, n_files: int, shuffles: tuple[str, ...]) -> None:
    sizes = [5 + n % 7 for n in range(n_files)]
    paths = write_files(folder, sizes, chunk=4)
    with la.set_options(max_open_files=16):
        x, y = mosaic(paths)
    for shuffle in shuffles:
        most = 0
        rows = []
        for _, yb in la.iter_batches([x, y], 64, shuffle=shuffle, seed=0, max_open_files=16,
                                     workers=2, prefetch=2, n_active=8):
            most = max(most, files_open(folder))
            rows.append(yb)
        assert sorted(np.concatenate(rows).tolist()) == list(range(sum(sizes)))
        # The cache's 16, and files being read past it: a read each, by 2 workers,
        # in 2 evaluations at most.
        assert most <= 16 + 4, (shuffle, most)


def test_many_files_stay_within_max_open_files(tmp_path: Path) -> None:
    check_open_files(tmp_path, 40, ("blocks", "rows"))


@pytest.mark.slow
def test_a_thousand_files_stay_within_max_open_files(tmp_path: Path) -> None:
    check_open_files(tmp_path, 1000, ("blocks", "rows"))


# -- closing early ----------------------------------------------------------------------------


def wait_for_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.01)
    return {t for t in set(threading.enumerate()) - before}


@pytest.mark.parametrize("how", ["break", "close"])
@pytest.mark.parametrize("shuffle", ["blocks", "rows"])
def test_stopping_early_leaves_no_thread(files: list[str], how: str, shuffle: str) -> None:
    before = set(threading.enumerate())
    x, y = mosaic(files)
    batches = la.iter_batches([x, y], 5, shuffle=shuffle, seed=0, prefetch=3, workers=2,
                              chunk_bytes=16 * 28)
    for xb, yb in batches:
        check_batch(xb, yb, 5)
        break
    if how == "close":
        batches.close()
    del batches
    assert wait_for_threads(before) == set()


def test_stopping_early_or_failing_leaves_no_process(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    paths = write_files(tmp_path, [10, 10, 10])
    x, y = mosaic(paths)
    for xb, yb in la.iter_batches([x, y], 5, shuffle="rows", seed=0, processes=1):
        assert (xb.shape, yb.shape) == ((5, 3), (5,))
        np.testing.assert_array_equal(xb, features(0, 30)[yb])
        break
    assert multiprocessing.active_children() == []
    assert wait_for_threads(before) == set()
    os.remove(paths[0])  # gone after the graph was built: the process cannot read it
    with pytest.raises(FileNotFoundError, match="part0000.h5"):
        next(la.iter_batches(x, 4, shuffle=False, processes=1))
    assert multiprocessing.active_children() == []
    assert wait_for_threads(before) == set()


def test_a_read_error_reaches_the_consumer_at_its_batch(tmp_path: Path) -> None:
    paths = write_files(tmp_path, [10, 10, 10])
    x, _ = mosaic(paths)
    os.remove(paths[1])  # gone after the graph was built: its reads fail
    batches = la.iter_batches(x, 4, shuffle=False, prefetch=3)
    # In order until the file gone, whose error comes at the batch that reads it.
    np.testing.assert_array_equal(np.concatenate([next(batches), next(batches)]),
                                  features(0, 8))
    with pytest.raises(FileNotFoundError, match="part0001.h5"):
        next(batches)


def test_an_unstarted_iterator_starts_nothing_and_reads_nothing(files: list[str]) -> None:
    before = set(threading.enumerate())
    x, y = mosaic(files)
    with recording_reads() as reads:
        batches = la.iter_batches([x, y], 5, processes=1)
        del batches
    assert len(reads) == 0 and set(threading.enumerate()) == before
    assert multiprocessing.active_children() == []


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1, found 0"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an integer, found 2.5"),
    ({"shuffle": "columns"}, ValueError, ("shuffle must be 'blocks', 'rows' or False, "
                                          "found 'columns'")),
    ({"shuffle": True}, ValueError, "found True"),
    ({"n_active": 0}, ValueError, "n_active must be at least 1"),
    ({"epochs": 0}, ValueError, "epochs must be at least 1"),
    ({"prefetch": 0}, ValueError, "prefetch must be at least 1"),
    ({"processes": -1}, ValueError, "processes must be at least 0"),
    ({"max_open_files": 0}, ValueError, "max_open_files must be at least 1"),
    ({"drop_last": "yes"}, TypeError, "drop_last must be True or False, found 'yes'"),
    ({"seed": "abc"}, TypeError, "seed must be None"),
    ({"seed": True}, TypeError, "seed must be None"),
    ({"weights": [1, 2]}, ValueError, r"one value per member of the mosaic \(3 members"),
    ({"weights": [1, 0, 2]}, ValueError, "weights must be positive and finite"),
    ({"weights": ["a", "b", "c"]}, TypeError, "weights must be a sequence of numbers"),
    ({"weights": [1, 1, 1], "shuffle": False}, ValueError, "weights need a shuffle"),
    ({"axis": 2}, la.errors.AxisError, "axis"),
    ({"chunkbytes": 4}, TypeError, "unknown option"),
])
def test_bad_arguments_are_refused_before_reading(kwargs: dict[str, Any], error: type,
                                                  message: str) -> None:
    x = la.concatenate([np.zeros((4, 2)), np.zeros((3, 2)), np.zeros((5, 2))])
    kwargs = {"batch_size": 2, **kwargs}
    with recording_reads() as reads, pytest.raises(error, match=message):
        la.iter_batches([x, x[:, 0]], **kwargs)
    assert len(reads) == 0


def test_arrays_of_different_lengths_are_refused() -> None:
    with pytest.raises(la.errors.ShapeError, match=r"one length along axis 0, found \[4, 3\]"):
        la.iter_batches([np.zeros(4), np.zeros(3)], 2)
    with pytest.raises(ValueError, match="at least one array"):
        la.iter_batches([], 2)


def test_arrays_that_do_not_pickle_are_refused_with_processes() -> None:
    x = la.asarray(CountingArray(np.arange(4.0))) * 2  # holds a lock
    with pytest.raises(TypeError, match="must pickle"):
        la.iter_batches(x, 2, processes=1)
    assert len(list(la.iter_batches(x, 2))) == 2  # in threads it is read


def test_an_empty_array_yields_nothing() -> None:
    assert list(la.iter_batches(np.zeros((0, 3)), 4)) == []
    assert list(la.iter_batches(np.zeros((0, 3)), 4, shuffle="rows")) == []
