"""``iter_chunks`` throughput, and how much its read-ahead hides (part of ``make bench``).

On a 1 GB float32 HDF5 dataset of ``(256, 1000, 1000)`` stored in planes,
warm in the page cache, each measured three times (the median kept):

* **raw**: h5py's ``read_direct`` of each slab into one reused buffer: the floor;
* **h5py loop**: ``dataset[k:k + size]`` for each slab, as a user writes it;
* **iter_chunks**: ``la.iter_chunks(x, size=size)``;
* **compute**: the consumer's work alone, on slabs already in memory (a
  sum of squares in float64, about as costly as reading a slab);
* **h5py loop + compute** and **iter_chunks + compute**: the two pipelines.
  Read-ahead overlaps reading with the consumer: the ratio of
  ``iter_chunks + compute`` to ``read + compute`` (h5py loop plus compute
  alone) is below 1 by what it hides.

Run alone: ``python benchmarks/bench_iteration.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

import lazyarray as la

SHAPE = (256, 1000, 1000)
SIZE = 8  # planes per slab: 32 MB


def make(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with h5py.File(path.with_suffix(".tmp"), "w") as f:
        dataset = f.create_dataset("x", shape=SHAPE, dtype="f4", chunks=(1, *SHAPE[1:]))
        for start in range(0, SHAPE[0], 16):
            dataset[start:start + 16] = rng.standard_normal((16, *SHAPE[1:]), np.float32)
    path.with_suffix(".tmp").rename(path)


def timed(job: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def consume(slab: np.ndarray) -> float:
    """The consumer's work on a slab: about as costly as reading it."""
    return float(np.square(slab, dtype=np.float64).sum())


def run(data_dir: Path) -> dict[str, float]:
    path = data_dir / "streams" / "planes.h5"
    make(path)
    file = h5py.File(path, "r")
    dataset = file["x"]
    buffer = np.empty((SIZE, *SHAPE[1:]), np.float32)
    starts = range(0, SHAPE[0], SIZE)

    def raw() -> None:
        for k in starts:
            dataset.read_direct(buffer, np.s_[k:k + SIZE], np.s_[:])

    def h5py_loop() -> None:
        for k in starts:
            dataset[k:k + SIZE]

    x = la.open_dataset(path, "x")

    def lazy() -> None:
        for _ in la.iter_chunks(x, size=SIZE):
            pass

    slabs = [dataset[k:k + SIZE] for k in starts[:4]]

    def compute() -> None:
        for k in range(len(starts)):
            consume(slabs[k % len(slabs)])

    def h5py_pipeline() -> None:
        for k in starts:
            consume(dataset[k:k + SIZE])

    def lazy_pipeline() -> None:
        for slab in la.iter_chunks(x, size=SIZE):
            consume(slab)

    raw()  # warm the page cache
    results = {name: timed(job) for name, job in [
        ("raw", raw), ("h5py loop", h5py_loop), ("iter_chunks", lazy), ("compute", compute),
        ("h5py loop + compute", h5py_pipeline), ("iter_chunks + compute", lazy_pipeline)]}
    file.close()
    gigabytes = np.prod(SHAPE) * 4 / 1e9
    print(f"iter_chunks over {gigabytes:.2f} GB in slabs of {SIZE} planes, warm cache "
          f"(median of 3)")
    for name, seconds in results.items():
        print(f"  {name:24s} {seconds:7.3f} s  {gigabytes / seconds:6.2f} GB/s")
    results["iter_chunks / raw"] = results["iter_chunks"] / results["raw"]
    results["iter_chunks / h5py loop"] = results["iter_chunks"] / results["h5py loop"]
    results["overlap"] = results["iter_chunks + compute"] / (
        results["h5py loop"] + results["compute"])
    print(f"  iter_chunks / raw read            {results['iter_chunks / raw']:.2f}")
    print(f"  iter_chunks / h5py loop           {results['iter_chunks / h5py loop']:.2f}")
    print(f"  (iter_chunks + compute) / (read + compute)  {results['overlap']:.2f}")
    return results


if __name__ == "__main__":
    run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data")
