"""The fixed cost of one small evaluation: lazyarray against numpy doing the same (``make bench``).

xarray's reprs, array-API test harnesses and per-block calls from other
engines evaluate tiny arrays one at a time, so what lazyarray adds to each
call matters as much there as bandwidth does for big ones. Each case is run
``--calls`` times (after one untimed call); the table gives the median time of
a call, numpy's, their ratio and the difference, which is lazyarray's own cost:

* **scalar**: ``float(x[i, j])`` of a 100 x 100 float64 array in memory;
* **row**: ``x[i].ndarray()``, 800 bytes;
* **1 KiB graph, realised**: ``g.ndarray()`` of ``g = (x * 2 + 1)[:16, :8]``
  built once (1 KiB of result): what realising costs;
* **1 KiB graph, built and realised**: ``((x * 2 + 1)[:16, :8]).ndarray()``:
  building three nodes and pushing the selection down to the source too;
* **mean 100x100**: ``la.mean(x, axis=0).ndarray()``;
* **scalar, HDF5**: ``float(x[i, j])`` of a chunked HDF5 dataset (``d[i, j]``
  with h5py).

Examples
--------
::

    python benchmarks/overhead.py --record -     # print only
    python benchmarks/overhead.py                # append the table to RESULTS.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import h5py
import numpy as np

import lazyarray as la

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def median_seconds(call: Callable[[], object], calls: int) -> float:
    """The median time of ``call`` over ``calls`` calls, after one untimed call."""
    call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(folder: Path) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """(name, lazyarray's call, numpy's call) of each case; both give equal values."""
    a = np.arange(10_000.0).reshape(100, 100)
    x = la.asarray(a)
    path = folder / "small.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=a, chunks=(10, 10))
    dataset = h5py.File(path, "r")["x"]
    h = la.asarray(dataset)
    graph = (x * 2 + 1)[:16, :8]
    made = [
        ("scalar", lambda: float(x[37, 59]), lambda: float(a[37, 59])),
        ("row", lambda: x[37].ndarray(), lambda: a[37].copy()),
        # numpy computes only the selection, as lazyarray does: the least numpy work.
        ("1 KiB graph, realised", graph.ndarray, lambda: a[:16, :8] * 2 + 1),
        ("1 KiB graph, built and realised", lambda: ((x * 2 + 1)[:16, :8]).ndarray(),
         lambda: a[:16, :8] * 2 + 1),
        ("mean 100x100", lambda: la.mean(x, axis=0).ndarray(), lambda: a.mean(axis=0)),
        ("scalar, HDF5", lambda: float(h[37, 59]), lambda: float(dataset[37, 59])),
    ]
    for name, lazy, eager in made:  # the benchmark compares equal work
        np.testing.assert_array_equal(lazy(), eager(), err_msg=name)
    return made


def table(calls: int) -> str:
    with tempfile.TemporaryDirectory(prefix="lazyarray-overhead-") as folder:
        rows = []
        for name, lazy, eager in cases(Path(folder)):
            ours, theirs = median_seconds(lazy, calls), median_seconds(eager, calls)
            rows.append(f"| {name} | {ours * 1e6:.1f} | {theirs * 1e6:.1f} | "
                        f"{ours / theirs:.0f} | {(ours - theirs) * 1e6:.1f} |")
    return "\n".join([
        "| case | lazyarray, us | numpy (h5py), us | ratio | lazyarray's own, us |",
        "|---|---|---|---|---|",
        *rows,
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per case (default 1000)")
    parser.add_argument("--record", default=str(RESULTS),
                        help="append the table to this file (default RESULTS.md; '-' for none)")
    args = parser.parse_args(argv)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=False).stdout.strip()
    header = (f"Overhead of small evaluations, median of {args.calls} calls; "
              f"Python {platform.python_version()}, numpy {np.__version__}, "
              f"lazyarray at git {revision or 'unknown'}.")
    report = f"{header}\n\n{table(args.calls)}"
    print(report)
    if args.record != "-":
        with open(args.record, "a") as out:
            out.write(f"\n## Small evaluations\n\n{report}\n")


if __name__ == "__main__":
    main()
