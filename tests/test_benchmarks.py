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
