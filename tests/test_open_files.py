"""Tests of lazyarray/files.py: open files as a bounded cache, validated before use.

Graphs built from paths hold paths, not open files: a file replaced under
an open graph is read anew, the files open stay within ``max_open_files``
(so a mosaic of thousands of files evaluates under a low descriptor limit),
and a file in use is never closed under a read.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray import files
from lazyarray.adapters.h5py_ import DatasetRef
from lazyarray.errors import ShapeError
from lazyarray.files import FileCache
from lazyarray.options import Options
from lazyarray.testing import assert_array_equal

OLD = np.arange(240, dtype="f4").reshape(12, 20) / 4
NEW = -np.arange(240, dtype="f4").reshape(12, 20) * 3 + 1


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def write(path: Path, data: np.ndarray, **kwargs: object) -> None:
    """Write ``data`` as dataset ``x`` of a new file at ``path``."""
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, **kwargs)


def replace(path: Path, data: np.ndarray, **kwargs: object) -> None:
    """Replace the file at ``path`` as another program would: a new file renamed over it."""
    temporary = path.with_name(path.name + ".new")
    write(temporary, data, **kwargs)
    os.replace(temporary, path)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    files.default_cache.clear()
    yield
    files.default_cache.clear()


# Storage layouts of the old and new file: a stale chunk index (or a stale
# contiguous offset) would read the wrong bytes of the new file.
LAYOUTS = [
    ({"chunks": (5, 7)}, {"chunks": (3, 20), "compression": "gzip", "shuffle": True}),
    ({}, {"chunks": (4, 4)}),
    ({"chunks": (12, 20), "compression": "gzip"}, {}),
]


@pytest.mark.parametrize("direct_io", [True, False])
@pytest.mark.parametrize(("old", "new"), LAYOUTS)
def test_replaced_by_another_program_is_read_anew(
    tmp_path: Path, old: dict[str, object], new: dict[str, object], direct_io: bool
) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD, **old)
    x = la.open_dataset(path, "x")
    graph = x[1:, ::2] * 2 + x.mean(axis=0)[::2]
    with la.set_options(direct_io=direct_io):
        assert_array_equal(graph, OLD[1:, ::2] * 2 + OLD.mean(axis=0)[::2])
        payload = pickle.dumps(graph)
        unpickled_before = pickle.loads(payload)
        replace(path, NEW, **new)
        expected = NEW[1:, ::2] * 2 + NEW.mean(axis=0)[::2]
        assert_array_equal(graph, expected)
        assert_array_equal(unpickled_before, expected)
        assert_array_equal(pickle.loads(payload), expected)
        np.testing.assert_allclose(la.mean(x).ndarray(), NEW.mean(dtype="f8"), rtol=1e-12)


def test_replaced_by_to_hdf5_is_read_anew(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    la.to_hdf5(path, {"x": OLD})
    x = la.open_dataset(path, "x")
    assert_array_equal(x[::-1], OLD[::-1])
    payload = pickle.dumps(x[2:, 3])
    la.to_hdf5(path, {"x": la.asarray(NEW)}, overwrite=True)
    assert_array_equal(x[::-1], NEW[::-1])
    assert_array_equal(pickle.loads(payload), NEW[2:, 3])


def test_replaced_files_are_closed(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD)
    x = la.open_dataset(path, "x")
    assert_array_equal(x, OLD)
    before = open_fds()
    for data in (NEW, OLD, NEW):
        replace(path, data)
        assert_array_equal(x, data)
    assert open_fds() == before
    assert files.default_cache.paths() == [str(path)]


def test_replaced_with_another_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD)
    x = la.open_dataset(path, "x")
    assert_array_equal(x, OLD)
    replace(path, OLD[:5])
    with pytest.raises(ShapeError, match="replaced"):
        x.ndarray()
    replace(path, NEW)
    assert_array_equal(x, NEW)


def test_user_datasets_read_their_own_file(tmp_path: Path) -> None:
    """A dataset the user opened is read from the file the user has open, even after
    the path names another; its direct reads hold no descriptor between reads."""
    path = tmp_path / "f.h5"
    write(path, OLD, chunks=(5, 7))
    with h5py.File(path, "r") as f:
        x = la.asarray(f["x"])
        assert_array_equal(x, OLD)
        replace(path, NEW)
        assert_array_equal(x, OLD)
        assert_array_equal(x.mean(axis=1), OLD.mean(axis=1, dtype="f8").astype("f4"))


def test_user_datasets_lease_their_descriptors(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.h5" for i in range(8)]
    data = [OLD + i for i in range(8)]
    for path, values in zip(paths, data):
        write(path, values, chunks=(4, 10))
    handles = [h5py.File(path, "r") for path in paths]
    try:
        before = open_fds()
        mosaic = la.LinearMosaic([la.asarray(h["x"]) for h in handles], axis=0)
        with la.set_options(max_open_files=2):
            assert_array_equal(mosaic.mean(axis=0),
                               np.concatenate(data).mean(axis=0, dtype="f8").astype("f4"))
        assert open_fds() <= before + 2
    finally:
        for handle in handles:
            handle.close()


def test_open_dataset_keeps_path_not_file(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD, chunks=(5, 7))
    x = la.open_dataset(path, "x", decode=False)
    assert isinstance(x.concrete, DatasetRef)
    assert (x.concrete.shape, x.concrete.chunks, x.storage_chunks) == (OLD.shape, (5, 7), (5, 7))
    files.default_cache.clear()
    before = open_fds()
    assert_array_equal(x[3:7, ::3], OLD[3:7, ::3])
    assert open_fds() == before + 1
    files.default_cache.clear()
    assert open_fds() == before


def test_adapters_of_dataset_refs(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    data = np.array([1.5, -9.0, 2.5, -9.0], "f4")
    write(path, data)
    ref = la.open_dataset(path, "x").concrete
    masked = la.HDF5ArrayAdapter(ref, masked=True, fill_value=-9.0)
    assert isinstance(masked.concrete, DatasetRef)
    assert_array_equal(masked, np.ma.masked_equal(data, -9.0))
    assert_array_equal(la.mean(masked), np.float32(np.ma.masked_equal(data, -9.0).mean()))


def test_mosaic_bounded_by_the_option(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.h5" for i in range(30)]
    data = [np.full((3, 5), i, "f4") + np.arange(5, dtype="f4") for i in range(30)]
    for path, values in zip(paths, data):
        write(path, values, chunks=(1, 5))
    before = open_fds()
    with la.set_options(max_open_files=4):
        mosaic = la.LinearMosaic([la.open_dataset(p, "x") for p in paths], axis=0)
        assert len(files.default_cache) <= 4
        expected = np.concatenate(data)
        assert_array_equal(mosaic.mean(axis=0), expected.mean(axis=0, dtype="f8").astype("f4"))
        assert_array_equal(mosaic[::7, 1:], expected[::7, 1:])
        assert len(files.default_cache) <= 4
        assert open_fds() <= before + 4


def test_mosaic_bounded_by_the_evaluation_keyword(tmp_path: Path) -> None:
    """``max_open_files`` given to one evaluation bounds the files it keeps open."""
    paths = [tmp_path / f"{i}.h5" for i in range(12)]
    data = [np.arange(10, dtype="f8").reshape(2, 5) * i for i in range(12)]
    for path, values in zip(paths, data):
        write(path, values, chunks=(1, 5))
    files.default_cache.clear()
    before = open_fds()
    mosaic = la.LinearMosaic([la.open_dataset(p, "x") for p in paths], axis=0)
    actual = la.ndarrays([mosaic * 2], max_open_files=3, workers=1)[0]
    assert_array_equal(actual, np.concatenate(data) * 2)
    assert len(files.default_cache) <= 3
    assert open_fds() <= before + 3


# The LRU itself.


@pytest.fixture
def small_files(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / f"{i}.h5" for i in range(6)]
    for i, path in enumerate(paths):
        write(path, np.full(4, i, "i4"))
    return paths


def read(cache: FileCache, path: Path) -> np.ndarray:
    with cache.lease(path) as file:
        return np.asarray(file.dataset("x")[...])


def test_eviction_order(small_files: list[Path]) -> None:
    cache = FileCache(max_open_files=3)
    a, b, c, d, e, _ = (str(p) for p in small_files)
    for path in (a, b, c):
        read(cache, Path(path))
    assert cache.paths() == [a, b, c]
    read(cache, Path(a))  # a is now the most recently used
    assert cache.paths() == [b, c, a]
    read(cache, Path(d))
    assert cache.paths() == [c, a, d]
    read(cache, Path(e))
    assert cache.paths() == [a, d, e]
    np.testing.assert_array_equal(read(cache, Path(b)), np.full(4, 1, "i4"))
    assert cache.paths() == [d, e, b]
    cache.clear()
    assert cache.paths() == []


def test_evicted_files_are_closed(small_files: list[Path]) -> None:
    cache = FileCache(max_open_files=2)
    before = open_fds()
    with cache.lease(small_files[0]) as first:
        pass
    assert not first.closed and open_fds() == before + 1
    for path in small_files[1:3]:
        read(cache, path)
    assert first.closed and first.fd == -1 and first.handle is None
    assert open_fds() == before + 2
    with cache.lease(small_files[0]) as again:  # reopened on demand
        assert again is not first
        np.testing.assert_array_equal(again.dataset("x")[...], np.zeros(4, "i4"))
    cache.clear()
    assert open_fds() == before


def test_leases_protect_files_in_use(small_files: list[Path]) -> None:
    cache = FileCache(max_open_files=1)
    before = open_fds()
    with cache.lease(small_files[0]) as held:
        fd = held.fd
        for i, path in enumerate(small_files[1:], 1):
            np.testing.assert_array_equal(read(cache, path), np.full(4, i, "i4"))
        assert held.evicted and not held.closed
        # Still readable, by h5py and by its descriptor.
        np.testing.assert_array_equal(held.dataset("x")[...], np.zeros(4, "i4"))
        assert os.fstat(fd).st_ino == os.stat(small_files[0]).st_ino
        assert open_fds() == before + 2
    assert held.closed
    assert open_fds() == before + 1
    cache.clear()


def test_stale_files_in_use_close_when_released(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD)
    cache = FileCache(max_open_files=4)
    with cache.lease(path) as old:
        replace(path, NEW)
        with cache.lease(path) as new:
            assert new is not old and old.evicted and not old.closed
            np.testing.assert_array_equal(old.dataset("x")[...], OLD)
            np.testing.assert_array_equal(new.dataset("x")[...], NEW)
        assert not new.closed
    assert old.closed
    cache.clear()


def test_discarded_files_can_be_written(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    write(path, OLD)
    x = la.open_dataset(path, "x")
    assert_array_equal(x, OLD)
    files.default_cache.discard(path)
    assert files.default_cache.paths() == []
    with h5py.File(path, "r+") as f:  # HDF5 refuses while lazyarray has it open
        f["x"][0] = -1
    expected = OLD.copy()
    expected[0] = -1
    assert_array_equal(x, expected)


def test_raw_descriptors(small_files: list[Path]) -> None:
    cache = FileCache(max_open_files=2)
    with cache.lease(small_files[3], "raw") as raw:
        data = os.pread(raw.fd, 8, 0)
        assert data == b"\x89HDF\r\n\x1a\n"
        assert raw.handle is None and cache.paths("raw") == [str(small_files[3])]
    cache.clear()
    assert raw.closed


def test_concurrent_leases(small_files: list[Path]) -> None:
    cache = FileCache(max_open_files=3)
    before = open_fds()
    peak = [0]
    lock = threading.Lock()

    def work(seed: int) -> bool:
        rng = random.Random(seed)
        for _ in range(60):
            i = rng.randrange(len(small_files))
            with cache.lease(small_files[i]) as file:
                values = np.asarray(file.dataset("x")[...])
                assert not file.closed
                with lock:
                    peak[0] = max(peak[0], open_fds() - before)
            np.testing.assert_array_equal(values, np.full(4, i, "i4"))
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(16)))
    assert len(cache) <= 3
    # At most the bound, plus the files evicted while a lease was held (a
    # thread each), plus the executor's own.
    assert peak[0] <= 3 + 8 + 2
    cache.clear()
    assert open_fds() == before


def test_max_open_files_option() -> None:
    assert Options().max_open_files == 128
    assert la.get_options(max_open_files=7).max_open_files == 7
    with la.set_options(max_open_files=np.int64(3)) as options:
        assert options.max_open_files == 3 and type(options.max_open_files) is int


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", True])
def test_max_open_files_validation(bad: object) -> None:
    with pytest.raises(ValueError, match="max_open_files must be a positive integer"):
        Options(max_open_files=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_open_files"), la.set_options(max_open_files=bad):
        pass


# Many files under a low descriptor limit, in a child process.

CHILD = textwrap.dedent("""
    import os, resource, sys, time
    import h5py, numpy as np
    n, folder = int(sys.argv[1]), sys.argv[2]
    values = [np.full((2, 6), i % 89, "f4") + np.arange(6, dtype="f4") for i in range(n)]
    paths = [os.path.join(folder, f"{i:05d}.h5") for i in range(n)]
    for path, data in zip(paths, values):
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=data, chunks=(1, 6))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    import lazyarray as la
    fds = lambda: len(os.listdir("/proc/self/fd"))
    base = fds()
    seen = []
    start = time.perf_counter()
    members = []
    for i, path in enumerate(paths):
        members.append(la.open_dataset(path, "x"))
        if i % 97 == 0:
            seen.append(fds())
    mosaic = la.LinearMosaic(members, axis=0)
    built = time.perf_counter()
    # Descriptors counted as (small) tiles complete, and after.
    mean = mosaic.mean(axis=0).ndarray(progress=lambda event: seen.append(fds()),
                                       chunk_bytes=4096)
    done = time.perf_counter()
    peak = max(*seen, fds())
    expected = np.concatenate(values).mean(axis=0, dtype="f8").astype("f4")
    np.testing.assert_array_equal(mean, expected)
    np.testing.assert_array_equal(mosaic[::97, 2].ndarray(), np.concatenate(values)[::97, 2])
    open(os.devnull).close()  # files can still be opened
    print(peak - base, (built - start) / n, (done - built) / n)
""")


def run_mosaic(tmp_path: Path, n: int) -> tuple[int, float, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr
    held, build, mean = done.stdout.split()
    return int(held), float(build), float(mean)


def test_mosaic_of_many_files_under_a_low_limit(tmp_path: Path) -> None:
    # More files than the child's limit of 256 descriptors (10 000 in the slow test).
    held, _, _ = run_mosaic(tmp_path, 300)
    assert held <= 128 + 8


@pytest.mark.slow
def test_mosaic_of_10000_files_under_a_low_limit(tmp_path: Path) -> None:
    held, build, mean = run_mosaic(tmp_path, 10_000)
    assert held <= 128 + 8
    print(f"10 000 files: build {build * 1e3:.2f} ms, mean {mean * 1e3:.2f} ms a file")


# netCDF4 variables lazyarray opens itself (unpickled, stored values) lease their files too.


def write_netcdf4(path: Path, values: np.ndarray) -> None:
    import netCDF4

    with netCDF4.Dataset(path, "w") as f:
        f.createDimension("y", values.shape[0])
        f.createDimension("x", values.shape[1])
        v = f.createVariable("v", "i2", ("y", "x"), fill_value=-1)
        v.scale_factor = np.float32(0.5)
        v.set_auto_maskandscale(False)
        v[:] = values


def test_netcdf4_graphs_read_replaced_files_anew(tmp_path: Path) -> None:
    import netCDF4

    path = tmp_path / "f.nc"
    old, new = np.arange(12, dtype="i2").reshape(3, 4), np.arange(12, dtype="i2").reshape(3, 4) * 3
    old[1, 2] = new[0, 1] = -1
    write_netcdf4(path, old)
    with netCDF4.Dataset(path) as f:
        scaled = pickle.dumps(la.asarray(f["v"])[::-1])
        f["v"].set_auto_scale(False)
        unscaled = pickle.dumps(la.asarray(f["v"]))
        stored = la.asarray(f["v"], decode=False)
    a, b = pickle.loads(scaled), pickle.loads(unscaled)
    # One shared handle, each adapter with its own settings.
    assert_array_equal(a, np.ma.masked_equal(old, -1)[::-1] * np.float32(0.5))
    assert_array_equal(b, np.ma.masked_equal(old, -1))
    assert_array_equal(stored, old)
    assert files.default_cache.paths("netcdf4") == [str(path)]
    replace_by = tmp_path / "new.nc"
    write_netcdf4(replace_by, new)
    os.replace(replace_by, path)
    assert_array_equal(a, np.ma.masked_equal(new, -1)[::-1] * np.float32(0.5))
    assert_array_equal(b.mean(axis=0), np.ma.masked_equal(new, -1).mean(axis=0))
    assert_array_equal(stored, new)
