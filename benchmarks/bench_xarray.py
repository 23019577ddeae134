"""Workload (f): xarray over 4 netCDF files, mean and std over time (part of ``make bench``).

The files are netCDF-4, written by the ``netCDF4`` library: ``tas``, float32
``(T, 1000, 1000)`` per file (``T = 62.5 * size_gb``, so ``size_gb`` in
all; 4 GB by default), stored in planes (chunks of ``(1, 1000, 1000)``), with ``time``,
``lat`` and ``lon`` coordinates. Every method computes the mean and the
standard deviation of ``tas`` over time, the way a user of each writes it:

* **raw**: h5py reads every stored chunk of ``tas`` into one buffer, computing
  nothing: the floor;
* **xarray+lazyarray**: ``xr.open_mfdataset(paths,
  chunked_array_type="lazyarray")``, then ``xr.Dataset({"mean": ...,
  "std": ...}).compute()``: one pass;
* **xarray+dask**: ``xr.open_mfdataset(paths, chunks={})`` (Dask chunks equal
  to the storage chunks), then the same ``compute()``; **xarray+dask@N**: with
  chunks of ``N`` time steps (``--dask-time-chunks``); the summary takes the
  best of them as "Dask's best chunking";
* **xarray+numpy**: ``xr.open_mfdataset(paths, chunks=None)`` (no Dask):
  xarray loads ``tas`` into memory, then reduces.

Each measurement runs in a fresh process, which prints one line of JSON: the
seconds from opening the files to the computed results (libraries imported
before the clock starts), and the process's peak resident memory (``VmHWM``)
with its resident memory after the imports, so that the growth the job caused
shows. Each result is checked against a float64 hand loop over the files
(the largest relative difference is reported; a mismatch beyond 1e-5 fails
the run). The files are read once, untimed, before the measurements, so that
every method finds them in the page cache. Data goes to
``benchmarks/data/xarray-<T>/``, reused after.

Run ``python benchmarks/bench_xarray.py [--size-gb 4] [--repeat 2]``;
``--record FILE`` appends the table to a Markdown file (``-``: stdout only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FILES = 4
PLANE = (1000, 1000)
HERE = Path(__file__).resolve().parent

#: The child's program: imports, then the timed job of one method; prints JSON.
_CHILD = r"""
import json, os, sys, time
import numpy as np
method, out, *paths = sys.argv[1:]

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

import h5py, xarray as xr
import lazyarray as la
import dask.array  # noqa: F401 (imported before the clock, as for every method)
base = status("VmRSS")
start = time.perf_counter()
if method == "raw":
    total = 0
    for path in paths:
        with h5py.File(path, "r") as f:
            dataset = f["tas"]
            buffer = np.empty((1,) + dataset.shape[1:], dataset.dtype)
            for t in range(dataset.shape[0]):
                dataset.read_direct(buffer, np.s_[t:t + 1])
                total += 1
    results = None
else:
    if method == "xarray+lazyarray":
        ds = xr.open_mfdataset(paths, chunked_array_type="lazyarray", combine="by_coords")
    elif method == "xarray+numpy":
        ds = xr.open_mfdataset(paths, chunks=None, combine="by_coords")
    elif method == "xarray+dask":
        ds = xr.open_mfdataset(paths, chunks={}, combine="by_coords")
    else:  # xarray+dask@N
        steps = int(method.split("@")[1])
        ds = xr.open_mfdataset(paths, chunks={"time": steps, "lat": -1, "lon": -1},
                               combine="by_coords")
    stats = xr.Dataset({"mean": ds.tas.mean("time"), "std": ds.tas.std("time")}).compute()
    results = {name: stats[name].values for name in ("mean", "std")}
seconds = time.perf_counter() - start
if results is not None:
    np.savez(out, **results)
print(json.dumps({"seconds": seconds, "peak": status("VmHWM"), "base": base}))
"""


def make_data(folder: Path, steps: int) -> list[Path]:
    """The four input files, written with netCDF4 if missing (seeded)."""
    import netCDF4

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(FILES):
        path = folder / f"tas_{2000 + n}.nc"
        paths.append(path)
        if path.exists():
            continue
        rng = np.random.default_rng(n)
        partial = path.with_suffix(".part")
        with netCDF4.Dataset(partial, "w") as f:
            f.createDimension("time", None)
            f.createDimension("lat", PLANE[0])
            f.createDimension("lon", PLANE[1])
            time_ = f.createVariable("time", "f8", ("time",))
            time_.units = "days since 2000-01-01"
            time_.calendar = "standard"
            f.createVariable("lat", "f4", ("lat",))[:] = np.linspace(-90, 90, PLANE[0])
            f.createVariable("lon", "f4", ("lon",))[:] = np.linspace(0, 360, PLANE[1],
                                                                     endpoint=False)
            tas = f.createVariable("tas", "f4", ("time", "lat", "lon"),
                                   chunksizes=(1, *PLANE))
            tas.units = "K"
            for t in range(steps):
                time_[t] = n * steps + t
                tas[t] = 280 + 10 * rng.standard_normal(PLANE, dtype=np.float32)
        partial.rename(path)
    return paths


def reference(paths: list[Path]) -> dict[str, np.ndarray]:
    """Mean and std over time by a float64 hand loop (Welford's update per plane)."""
    import h5py

    count, mean, m2 = 0, np.zeros(PLANE), np.zeros(PLANE)
    for path in paths:
        with h5py.File(path, "r") as f:
            for plane in f["tas"]:
                count += 1
                delta = plane - mean
                mean += delta / count
                m2 += delta * (plane - mean)
    return {"mean": mean, "std": np.sqrt(m2 / count)}


def measure(method: str, paths: list[Path], out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, method, str(out), *map(str, paths)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(size_gb: float = 4.0, repeat: int = 2, dask_time_chunks: tuple[int, ...] = (16, 32),
        data_dir: Path | None = None) -> list[dict[str, object]]:
    """Measure every method; return one row per method (the best of ``repeat`` runs)."""
    steps = max(1, round(size_gb * 1e9 / (FILES * 4 * PLANE[0] * PLANE[1])))
    folder = data_dir or HERE / "data" / f"xarray-{steps}"
    paths = make_data(folder, steps)
    measure("raw", paths, folder / "unused.npz")  # warm the page cache
    wanted = reference(paths)
    methods = ["raw", "xarray+lazyarray", "xarray+dask",
               *(f"xarray+dask@{n}" for n in dask_time_chunks), "xarray+numpy"]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for method in methods:
            runs = []
            for attempt in range(repeat):
                out = Path(scratch) / f"{method.replace('@', '-')}-{attempt}.npz"
                runs.append(measure(method, paths, out))
                if method != "raw":
                    with np.load(out) as got:
                        error = max(float(np.max(np.abs(got[k] - wanted[k]) / np.abs(wanted[k])))
                                    for k in wanted)
                    if error > 1e-5:
                        raise AssertionError(f"{method}: relative difference {error:.2g}")
                    runs[-1]["error"] = error
            best = min(runs, key=lambda r: r["seconds"])
            rows.append({"method": method, **best,
                         "peak_mb": max(r["peak"] for r in runs) / 1e6,
                         "growth_mb": max(r["peak"] - r["base"] for r in runs) / 1e6})
    return rows


def table(rows: list[dict[str, object]], size_gb: float) -> str:
    by = {row["method"]: row for row in rows}
    ours = by["xarray+lazyarray"]
    dasks = [row for row in rows if str(row["method"]).startswith("xarray+dask")]
    best = min(dasks, key=lambda r: r["seconds"])
    lines = [
        (f"Workload (f): xarray, mean and std over time of {FILES} netCDF-4 files, "
        f"{size_gb:g} GB float32 in planes, warm cache; best of the runs; "
        "ratio = lazyarray's time / the method's"),
        "",
        "| method | seconds | lazyarray / it | peak RSS MB | growth MB | max rel. error |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        error = f"{row['error']:.1e}" if "error" in row else "-"
        lines.append(f"| {row['method']} | {row['seconds']:.2f} | "
                     f"{ours['seconds'] / row['seconds']:.2f} | {row['peak_mb']:.0f} | "
                     f"{row['growth_mb']:.0f} | {error} |")
    lines += ["", (f"lazyarray / raw read: {ours['seconds'] / by['raw']['seconds']:.2f}; "
              f"/ xarray+dask with storage chunks: "
              f"{ours['seconds'] / by['xarray+dask']['seconds']:.2f}; "
              f"/ Dask's best chunking ({best['method']}): "
              f"{ours['seconds'] / best['seconds']:.2f}; peak memory growth "
              f"{ours['growth_mb']:.0f} MB against {best['growth_mb']:.0f} MB.")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dask-time-chunks", default="16,32",
                        help="time steps per Dask chunk to try besides the storage chunks")
    parser.add_argument("--record", default=str(HERE / "RESULTS.md"),
                        help="Markdown file to append the table to ('-': print only)")
    args = parser.parse_args(argv)
    chunks = tuple(int(n) for n in args.dask_time_chunks.split(",") if n)
    rows = run(args.size_gb, args.repeat, chunks)
    text = table(rows, args.size_gb)
    print(text)
    if args.record != "-":
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        with open(args.record, "a") as record:
            record.write(f"\n## {stamp}: benchmarks/bench_xarray.py "
                         f"--size-gb {args.size_gb:g} --repeat {args.repeat}\n\n{text}\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
