"""Benchmark :func:`lazyarray.map_files` against a hand-written ``multiprocessing.Pool`` loop.

1. 30 HDF5 files of 20 MB each (float32 ``(5, 1000, 1000)``, one chunk per
   plane, seeded random data) are written into ``data_dir`` once; a file
   already there with the right shape is kept.
2. Each method computes per-file statistics over axis 0 (mean, std, min,
   max: 4 MB each), saves them to a new HDF5 file per input and returns
   metadata (the global mean and maximum) to the caller, with as many
   processes as there are CPUs: ``map_files`` (kernels as ``"auto"``
   resolves them; without ``fsync``, as the hand loop writes; with numba
   forced), and the loop a scientist writes by hand with h5py and numpy in
   a ``spawn`` pool (which writes in place, neither atomically nor synced).
3. Worker start-up: a fresh interpreter times ``import lazyarray`` and its
   first ``la.mean(x, 0).ndarray()`` of a ``(200, 1000)`` float32 array,
   with numpy kernels, with numba's as this machine has them (built ahead
   of time by ``lazyarray build-kernels`` where it was run:
   ``startup_numba_built_ahead``) and from numba's JIT alone (its disk
   cache), measuring resident memory (``/proc/self/statm``).

Run ``python benchmarks/bench_mapfiles.py [data_dir]`` (default
``benchmarks/data/mapfiles``); :func:`run` returns the numbers as a dict.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

import lazyarray as la

FILES = 30
SHAPE = (5, 1000, 1000)

_STARTUP = r"""
import json, os, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
import numpy as np
r0, t0 = rss(), time.perf_counter()
import lazyarray as la
r1, t1 = rss(), time.perf_counter()
x = np.random.default_rng(0).random((200, 1000), dtype=np.float32)
r2, t2 = rss(), time.perf_counter()
la.mean(x, 0).ndarray(kernels=sys.argv[1])
r3, t3 = rss(), time.perf_counter()
from lazyarray import kernelcache
print(json.dumps({"import_s": t1 - t0, "import_mb": (r1 - r0) / 2**20,
                  "first_s": t3 - t2, "first_mb": (r3 - r2) / 2**20,
                  "numba_imported": float("numba" in sys.modules),
                  "built_ahead": float(kernelcache.loaded())}))
"""


def make_data(data_dir: str | os.PathLike[str]) -> list[str]:
    """The input files, written if missing (seeded, so always the same)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(FILES):
        path = folder / f"in{n:02d}.h5"
        try:
            with h5py.File(path, "r") as f:
                ok = f["x"].shape == SHAPE
        except (OSError, KeyError):
            ok = False
        if not ok:
            rng = np.random.default_rng(n)
            with h5py.File(path, "w") as f:
                f.create_dataset("x", data=rng.standard_normal(SHAPE, dtype=np.float32) + n,
                                 chunks=(1,) + SHAPE[1:])
        paths.append(str(path))
    return paths


def statistics(x):
    """map_files' fn: the statistics to save, and metadata computed in the same pass."""
    return ({"mean": la.mean(x, 0), "std": la.std(x, 0), "min": la.min(x, 0),
             "max": la.max(x, 0)},
            {"mean": la.mean(x), "max": la.max(x)})


def by_hand(job: tuple[str, str]) -> dict[str, float]:
    """The hand-written task: h5py and numpy, one file."""
    path, output = job
    with h5py.File(path, "r") as f:
        x = f["x"][...]
    with h5py.File(output, "w") as f:
        f["mean"], f["std"] = x.mean(0), x.std(0)
        f["min"], f["max"] = x.min(0), x.max(0)
    return {"mean": float(x.mean()), "max": float(x.max())}


def _startup(kernels: str, environment: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _STARTUP, kernels], capture_output=True,
                         text=True, check=True, env={**os.environ, **(environment or {})})
    return json.loads(out.stdout)


def run(data_dir: str | os.PathLike[str]) -> dict[str, float]:
    """Time both methods and the worker start-up; the numbers, by name."""
    paths = make_data(data_dir)
    processes = min(os.cpu_count() or 1, FILES)
    results: dict[str, float] = {"files": FILES, "processes": processes,
                                 "mb_per_file": float(np.prod(SHAPE) * 4 / 2**20)}
    with tempfile.TemporaryDirectory() as scratch:
        for label, options in (("map_files", {}), ("map_files_nofsync", {"fsync": False}),
                               ("map_files_numba", {"kernels": "numba"})):
            outdir = os.path.join(scratch, label)
            start = time.perf_counter()
            found = la.map_files(statistics, paths, variables="x", processes=processes,
                                 outdir=outdir, progress=False, **options)
            results[f"{label}_s"] = time.perf_counter() - start
            failed = [r for r in found if not r.ok]
            if failed:
                raise RuntimeError(f"{label}: {failed[0].error!r}")
            results[f"{label}_peak_mb"] = max(r.peak_bytes or 0 for r in found) / 2**20
            shutil.rmtree(outdir)
        outdir = os.path.join(scratch, "hand")
        os.makedirs(outdir)
        jobs = [(p, os.path.join(outdir, Path(p).stem + "_out.h5")) for p in paths]
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            hand = pool.map(by_hand, jobs)
        results["hand_s"] = time.perf_counter() - start
        for r, h in zip(found, hand):
            assert abs(float(r.meta["max"]) - h["max"]) == 0
            assert abs(float(r.meta["mean"]) - h["mean"]) <= 1e-5 * max(1.0, abs(h["mean"]))
    # numba's kernels as this machine has them (built ahead of time by
    # ``lazyarray build-kernels``, or not), and from numba's JIT alone (an
    # empty kernel cache: numba's own disk cache then serves them).
    with tempfile.TemporaryDirectory() as empty:
        for label, kernels, environment in (
                ("numpy", "numpy", None), ("numba", "numba", None),
                ("numba_jit", "numba", {"LAZYARRAY_KERNELS_DIR": empty})):
            for key, value in _startup(kernels, environment).items():
                results[f"startup_{label}_{key}"] = value
    results["map_files_over_hand"] = results["map_files_s"] / results["hand_s"]
    results["map_files_nofsync_over_hand"] = results["map_files_nofsync_s"] / results["hand_s"]
    results["map_files_numba_over_hand"] = results["map_files_numba_s"] / results["hand_s"]
    return results


if __name__ == "__main__":
    where = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).parent / "data" / "mapfiles")
    numbers = run(where)
    for key, value in numbers.items():
        print(f"{key:32s} {value:10.3f}" if isinstance(value, float) else f"{key:32s} {value}")
