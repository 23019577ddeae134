"""Fast checks of the benchmark driver (``benchmarks/run.py``), without its data."""

from __future__ import annotations

import doctest
import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# run.py is a script beside datagen.py, not a package module: import it as
# ``python benchmarks/run.py`` does, from its own directory.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
run = importlib.import_module("run")


def test_doctests():
    assert doctest.testmod(run).failed == 0


@pytest.mark.parametrize(("text", "name", "chunk_mb", "kernels", "spec"), [
    ("raw", "raw", None, None, "raw"),
    ("hand", "hand", None, None, "hand"),
    ("lazyarray", "lazyarray", None, None, "lazyarray"),
    ("lazyarray+numba", "lazyarray", None, "numba", "lazyarray+numba"),
    ("lazyarray+numpy", "lazyarray", None, "numpy", "lazyarray+numpy"),
    ("dask", "dask", None, None, "dask"),
    ("dask@64", "dask", 64.0, None, "dask@64"),
])
def test_method_parse(text, name, chunk_mb, kernels, spec):
    method = run.Method.parse(text)
    assert (method.name, method.chunk_mb, method.kernels, method.spec) == (
        name, chunk_mb, kernels, spec)


@pytest.mark.parametrize("text", ["numba", "dask+numba", "lazyarray@64", "lazyarray+fast",
                                  "hand@1"])
def test_method_parse_refuses(text):
    with pytest.raises(SystemExit, match="unknown method"):
        run.Method.parse(text)


def test_workers_apply_to_threaded_methods_only():
    assert run.Method("hand").with_workers(4).id == "hand"
    assert run.Method("dask", 128.0).with_workers(4).id == "dask@128-w4"
    assert run.Method("lazyarray").with_workers(1).label() == "lazyarray (1 worker)"


def test_may_compile():
    assert run.Method("lazyarray", kernels="numba").may_compile(numba=False)
    assert run.Method("lazyarray").may_compile(numba=True)
    assert not run.Method("lazyarray").may_compile(numba=False)
    assert not run.Method("lazyarray", kernels="numpy").may_compile(numba=True)
    assert not run.Method("dask").may_compile(numba=True)


def test_sweep_and_default_methods():
    args = run.argparse.Namespace(methods="", dask_chunk_mb="64", workers=[1, 2])
    ids = [m.id for m in run._methods(args, run.WORKLOADS["a"], numba=True)]
    assert ids == ["raw", "hand", "lazyarray+numba-w1", "lazyarray+numba-w2",
                   "lazyarray+numpy-w1", "lazyarray+numpy-w2", "dask-w1", "dask-w2",
                   "dask@64-w1", "dask@64-w2"]
    ids = [m.id for m in run._methods(args, run.WORKLOADS["probe-40KB"], numba=False)]
    assert ids == ["raw", "hand", "lazyarray-w1", "lazyarray-w2", "dask-w1", "dask-w2"]
    # Without numba installed, kernels="numba" is left out rather than failing.
    ids = [m.spec for m in run._methods(args, run.WORKLOADS["a-gzip"], numba=False)]
    assert "lazyarray+numba" not in ids and "lazyarray+numpy" in ids


def test_workload_selection():
    keys = [w.key for w in run._chosen("a,probe,a")]
    assert keys == ["a", "probe-4MB", "probe-250KB", "probe-40KB"]
    with pytest.raises(SystemExit, match="unknown workload"):
        run._chosen("a,z")


@pytest.mark.parametrize(("text", "counts"), [("2", [2]), ("1,2,4", [1, 2, 4])])
def test_workers_option(text, counts):
    assert run._workers(text) == counts


@pytest.mark.parametrize("text", ["", "0", "1,x", "-1"])
def test_workers_option_refuses(text):
    with pytest.raises(run.argparse.ArgumentTypeError):
        run._workers(text)


def test_probe_is_half_of_the_data(tmp_path):
    data = run.Data(62, tmp_path)
    probe = run.WORKLOADS["probe-250KB"]
    assert probe.shape(data) == (31, 1000, 1000)
    assert probe.nbytes(data) == 31 * 4_000_000
    assert run.WORKLOADS["c"].nbytes(data) == 2 * 62 * 4_000_000


def _fstype(path: Path) -> str:
    """The type of the file system holding ``path``, from /proc/mounts ('' if unknown)."""
    best, kind = "", ""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    for line in mounts:
        _, point, fstype, *_ = line.split()
        if str(path).startswith(point) and len(point) > len(best):
            best, kind = point, fstype
    return kind


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="needs posix_fadvise")
def test_fadvise_eviction_and_residency(tmp_path):
    if _fstype(tmp_path) in ("tmpfs", "ramfs"):
        pytest.skip("memory file systems keep their pages")
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(4 * 2**20))
    path.read_bytes()
    if run.resident([path]) is None:
        pytest.skip("mincore unavailable")
    assert run.resident([path]) == 1.0
    # "fadvise" only: "drop" and "auto" would empty the whole machine's cache.
    assert run.evict([path], "fadvise") == "fadvise"
    assert run.resident([path]) < 0.5
    assert run.resident([]) is None


def _timing(spec, seconds, workers=2, rss=300e6, first_call=False):
    method = run.Method.parse(spec).with_workers(workers)
    return run.Timing(method, first_call, [seconds], [int(rss)], [int(60e6)], [0.0], "ok")


def test_targets_of_a_take_each_method_at_its_best_worker_count():
    timings = [
        _timing("hand", 10.0), _timing("lazyarray+numba", 3.0, workers=1),
        _timing("lazyarray+numba", 2.0), _timing("lazyarray+numba", 9.0, first_call=True),
        _timing("lazyarray+numpy", 9.0, rss=500e6), _timing("dask", 40.0),
        _timing("dask@64", 8.0),
    ]
    goals = {t.name: (t.value, t.goal) for t in run.targets(run.WORKLOADS["a"], timings,
                                                              256 * 2**20)}
    assert goals["lazyarray, numba (2 workers) / hand loop"] == (0.2, 0.4)
    assert goals["lazyarray, numba (2 workers) / dask, storage chunks (2 thr)"] == (0.05, 0.1)
    assert goals["lazyarray, numba (2 workers) / best dask (~64 MB chunks (2 thr))"] == (0.25, 0.3)
    assert goals["lazyarray, numpy (2 workers) / hand loop"] == (0.9, 0.8)
    assert goals["lazyarray peak RSS, MB (all its runs)"] == (500.0, 418)


def test_probe_summary():
    def runs(scale):
        return [_timing("hand", 1.0 * scale), _timing("lazyarray", 2.0 * scale),
                _timing("dask", 3.0)]

    summary = run.probe_summary({"probe-4MB": runs(1.0), "probe-40KB": runs(2.0)})
    assert "lazyarray (2 workers)" in summary and "2.00   target <= 1.5    MISSED" in summary
    assert run.probe_summary({"probe-4MB": runs(1.0)}) == ""


def test_hand_loop_and_lazyarray_agree_on_a_small_array():
    x = np.random.default_rng(0).normal(280, 10, (5, 4, 3)).astype(np.float32)
    statistics = ("sum", "mean", "std", "min", "max")
    hand = run.hand_reduce(run.Job((x,), statistics))
    lazy = run.lazyarray_reduce(run.Job((x,), statistics, workers=2, kernels="numpy"))
    for name, function in zip(statistics, (np.sum, np.mean, np.std, np.min, np.max)):
        expected = function(x.astype(np.float64), axis=0)
        np.testing.assert_allclose(hand[name], expected, rtol=1e-12)
        np.testing.assert_allclose(lazy[name], expected, rtol=1e-5)


def test_overhead_cases_do_the_same_work_as_numpy(tmp_path):
    overhead = importlib.import_module("overhead")
    made = overhead.cases(tmp_path)  # asserts that each pair gives equal values
    assert [name for name, _, _ in made] == ["scalar", "row", "1 KiB graph, realised",
                                             "1 KiB graph, built and realised",
                                             "mean 100x100", "scalar, HDF5"]
    for name, lazy, eager in made:
        got, expected = np.asarray(lazy()), np.asarray(eager())
        assert (got.shape, got.dtype) == (expected.shape, expected.dtype), name
    lines = overhead.table(calls=3).splitlines()
    assert len(lines) == 2 + len(made) and all(line.count("|") == 6 for line in lines)


# -- the layouts of issue 18 ------------------------------------------------------------

#: A small stand-in for operand a: mean well above zero, as temperatures are, but
#: spread enough that float32 sums (Dask's) stay within the run's check.
SMALL = (12, 20, 30)
SMALL_POINT = (13, 17)


def _small_layouts(data):
    """Operand a in every layout, at the paths the layout workloads open, small."""
    import zarr

    x = np.random.default_rng(5).normal(4, 3, SMALL).astype(np.float32)
    cubes = (4, 10, 10)
    for path, options in [
        (data.hdf5_a, {"chunks": (1,) + SMALL[1:]}),
        (data.hdf5_cubes, {"chunks": cubes}),
        (data.hdf5_contiguous, {"chunks": None}),
        (data.hdf5_cubes_gzip, {"chunks": cubes, "compression": "gzip",
                                "compression_opts": 4, "shuffle": True}),
    ]:
        with run.h5py.File(path, "w") as f:
            f.create_dataset("tas", data=x, **options)
    group = zarr.open_group(data.zarr_zstd, mode="w")
    group.create_array("tas", shape=SMALL, chunks=(3, 10, 15), dtype=np.float32,
                        dimension_names=("time", "lat", "lon"))[...] = x
    return x


def _expected(workload, x):
    if workload.kind == "point":
        return {"series": x[(slice(None), *SMALL_POINT)]}
    return {name: getattr(np, name)(x.astype(np.float64), axis=workload.axes)
            for name in workload.statistics}


def test_every_layout_method_agrees_with_numpy(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "POINT", SMALL_POINT)
    data = run.Data(SMALL[0], tmp_path)
    x = _small_layouts(data)
    methods = [run.Method("hand"), run.Method("lazyarray", workers=2),
               run.Method("dask", workers=2), run.Method("dask", 0.005, workers=2),
               run.Method("xarray", workers=2)]
    assert {w.kind for w in run.LAYOUTS} == {"reduce", "point"}
    assert {w.axes for w in run.LAYOUTS} == {(0,), (1, 2), (2,)}
    for workload in run.LAYOUTS:
        kind = run.KINDS[workload.kind]
        expected = tmp_path / f"{workload.key}-numpy.npz"
        np.savez(expected, **_expected(workload, x))
        assert kind.methods["raw"](workload.job(data, run.Method("raw"))) == {}
        for method in methods:
            results = kind.methods[method.name](workload.job(data, method))
            got = tmp_path / f"{workload.key}-{method.id}.npz"
            np.savez(got, **results)
            # The run's own check: the same names and shapes, allclose at rtol 1e-5.
            assert run._compare(got, expected) == "ok", (workload.key, method.id)
            for name, value in _expected(workload, x).items():
                assert np.shape(results[name]) == value.shape, (workload.key, method.id)


def test_layout_hand_loops_reduce_in_float64(tmp_path):
    data = run.Data(SMALL[0], tmp_path)
    x = _small_layouts(data).astype(np.float64)
    for key, axes in [("planes-12", (1, 2)), ("planes-2", (2,)), ("cubes-0", 0)]:
        workload = run.WORKLOADS[key]
        results = run.hand_reduce(workload.job(data, run.Method("hand")))
        for name in workload.statistics:
            assert results[name].dtype == np.float64
            np.testing.assert_allclose(results[name], getattr(np, name)(x, axis=axes),
                                       rtol=1e-12)
    with pytest.raises(ValueError, match=r"axis 0 alone or axes without it, got axes \(0, 1\)"):
        run.hand_reduce(run.Job((x,), ("mean",), axes=(0, 1)))


def test_layout_sources_and_chunks(tmp_path):
    data = run.Data(SMALL[0], tmp_path)
    _small_layouts(data)
    contiguous = run.WORKLOADS["contiguous-0"].open(data)[0]
    assert contiguous.chunks is None
    assert run.storage_chunks(contiguous) == (1,) + SMALL[1:]
    zstd = run.WORKLOADS["zstd-0"].open(data)[0]
    assert run.storage_chunks(zstd) == (3, 10, 15)
    assert run.WORKLOADS["zstd-0"].store(data) == (data.zarr_zstd, "zarr")
    assert run.WORKLOADS["point-cubes"].store(data) == (data.hdf5_cubes, "h5netcdf")
    # 5 KB chunks of whole storage chunks, grown along the last axes first.
    assert run.dask_chunks(zstd, 0.005) == (3, 10, 30)
    assert run.dask_chunks(zstd, 0.02) == (6, 20, 30)
    # A point series reads the chunks that hold it: whole planes, or a column of cubes.
    assert run.WORKLOADS["point-planes"].nbytes(data) == SMALL[0] * 4_000_000
    assert run.WORKLOADS["point-cubes"].nbytes(data) == SMALL[0] * 100 * 100 * 4


@pytest.mark.parametrize(("shape", "chunks", "point"), [
    ((5, 7, 9), (2, 3, 4), None), ((5, 7, 9), (5, 7, 9), None), ((6, 7, 9), (2, 3, 4), (None, 4, 5)),
])
def test_chunk_boxes_cover_each_element_once(shape, chunks, point):
    counts = np.zeros(shape, int)
    for box in run.chunk_boxes(shape, chunks, point):
        assert all(s.stop - s.start <= c for s, c in zip(box, chunks))
        counts[box] += 1
    if point is None:
        assert (counts == 1).all()
    else:
        assert (counts[:, point[1], point[2]] == 1).all()
        assert counts.sum() == shape[0] * chunks[1] * chunks[2]  # only the chunks holding it


def test_layout_methods_and_group():
    args = run.argparse.Namespace(methods="", dask_chunk_mb="128", workers=[2])
    ids = [m.id for m in run._methods(args, run.WORKLOADS["cubes-12"], numba=True)]
    assert ids == ["raw", "hand", "lazyarray-w2", "dask-w2", "dask@128-w2", "xarray-w2"]
    ids = [m.id for m in run._methods(args, run.WORKLOADS["point-planes"], numba=True)]
    assert ids == ["raw", "hand", "lazyarray-w2", "dask-w2", "xarray-w2"]
    # xarray is left out where it has nothing to open or no way to run.
    args.methods = "xarray,dask"
    assert [m.id for m in run._methods(args, run.WORKLOADS["a"], numba=True)] == [
        "hand", "dask-w2"]
    assert run.Method.parse("xarray").with_workers(2).label() == (
        "xarray+dask, storage chunks (2 thr)")
    assert [w.key for w in run._chosen("layouts")] == [w.key for w in run.LAYOUTS]
    assert [w.key for w in run.LAYOUTS if w.cold] == ["planes-0-cold"]
    assert [w.key for w in run.LAYOUTS if w.compressed] == ["cubes-gzip4-0", "zstd-0"]


def test_layout_targets():
    def timings(lazy):
        return [_timing("raw", 1.0), _timing("hand", 2.0), _timing("lazyarray", lazy),
                _timing("lazyarray", 9.0, first_call=True), _timing("dask", 3.0)]

    def goals(key, cold=False, lazy=1.2):
        found = run.targets(run.WORKLOADS[key], timings(lazy), 256 * 2**20, cold)
        return {t.name: (t.value, t.goal) for t in found}

    assert goals("cubes-0")["lazyarray (2 workers) / raw read"] == (1.2, 1.3)
    assert goals("planes-0-cold", cold=True)["lazyarray (2 workers) / raw read (cold)"] == (
        1.2, 1.15)
    point = goals("point-planes", lazy=0.5)
    assert point["lazyarray (2 workers) / raw read"] == (0.5, 1.3)
    assert point["lazyarray (2 workers) / h5py dset[:, 500, 500]"] == (0.25, 1.3)
    # Decoding, not the read, limits compressed data: no target there but memory.
    assert list(goals("zstd-0")) == ["lazyarray peak RSS, MB (all its runs)"]
