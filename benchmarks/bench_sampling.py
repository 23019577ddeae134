"""Benchmark ``la.iter_batches(..., shuffle="rows")`` against a hand-written h5py loop.

1. 20 HDF5 files are written into ``data_dir`` once (kept when already there
   with the right shape): features float32
   ``(2000, 128)`` in chunks of ``(64, 128)``, stored plain, and int64
   labels: 40 000 rows (20 MB) in all.
2. One epoch of batches of 256 rows, shuffled row by row, seed 0:

   * **lazyarray rows**: ``la.iter_batches([x, y], 256, shuffle="rows")`` over
     ``la.concatenate`` of ``la.open_dataset`` of each file (threads,
     ``prefetch=2``, default ``workers``);
   * **hand**: the loop a scientist writes, one thread: for each batch (the
     same rows, taken from lazyarray's plan), per file, the batch's sorted
     row numbers of that file read with h5py's fancy indexing, then put back
     in the batch's order;
   * **index lists**: the same batches read by lazyarray's reader of
     ``"rows"`` as one orthogonal index list per array (what it does for
     sources with encoded chunks), one after the other: the direct HDF5
     reader then reads every chunk a batch needs whole;
   * **lazyarray blocks**: ``shuffle="blocks"`` (other batches: whole
     chunks, read once each), for scale.

   Each is timed over the epoch (the data in the page cache, read once
   before, untimed; files opened before the clock starts for the hand
   loop, by the first batch for lazyarray). Bytes read are counted twice: what the
   process read from files (``rchar`` of ``/proc/self/io``: every byte
   ``read``/``pread`` returned, page cache or not), and for lazyarray what
   its adapters asked for (:func:`lazyarray.testing.recording_reads`).
   The batches of the hand loop are checked equal to lazyarray's.

Run ``python benchmarks/bench_sampling.py [data_dir]`` (default
``benchmarks/data/sampling``); :func:`run` returns the numbers as a dict.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import lazyarray as la
from lazyarray.files import default_cache
from lazyarray.sampling.layout import find_layout
from lazyarray.sampling.plans import BatchJob, epoch_jobs
from lazyarray.sampling.reading import read_job
from lazyarray.testing import recording_reads

FILES, ROWS, COLUMNS, CHUNK, BATCH, SEED = 20, 2000, 128, 64, 256, 0


def _rchar() -> int:
    """Bytes this process has read from files so far (``/proc/self/io``), or -1."""
    try:
        with open("/proc/self/io") as io:
            for line in io:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def make_data(data_dir: Path) -> list[str]:
    """The files of step 1, written unless there with the right shape."""
    data_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for n in range(FILES):
        path = data_dir / f"part{n:02d}.h5"
        try:
            with h5py.File(path, "r") as f:
                ok = f["x"].shape == (ROWS, COLUMNS) and f["x"].chunks == (CHUNK, COLUMNS)
        except (OSError, KeyError):
            ok = False
        if not ok:
            with h5py.File(path, "w") as f:
                f.create_dataset("x", data=rng.standard_normal((ROWS, COLUMNS), np.float32),
                                 chunks=(CHUNK, COLUMNS))
                f.create_dataset("y", data=np.arange(n * ROWS, (n + 1) * ROWS, dtype=np.int64),
                                 chunks=(CHUNK * 16,))
        paths.append(str(path))
    return paths


def _lazyarray(x: la.Array, y: la.Array, shuffle: str) -> dict[str, Any]:
    before = _rchar()
    start = time.perf_counter()
    with recording_reads() as reads:
        labels = [yb for _, yb in la.iter_batches([x, y], BATCH, shuffle=shuffle, seed=SEED)]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "file_bytes": _rchar() - before, "asked_bytes": reads.nbytes,
            "batches": len(labels), "labels": labels}


def _index_lists(x: la.Array, y: la.Array, plan: list[np.ndarray]) -> dict[str, Any]:
    before = _rchar()
    start = time.perf_counter()
    with recording_reads() as reads:
        for number, rows in enumerate(plan):
            read_job([x, y], [0, 0], BatchJob(number, rows), {}, plain=[False, False])
    return {"seconds": time.perf_counter() - start, "file_bytes": _rchar() - before,
            "asked_bytes": reads.nbytes, "batches": len(plan)}


def _hand(paths: list[str], batches: list[np.ndarray]) -> dict[str, Any]:
    files = [h5py.File(p, "r") for p in paths]
    try:
        xs, ys = [f["x"] for f in files], [f["y"] for f in files]
        before = _rchar()
        start = time.perf_counter()
        out = []
        for rows in batches:
            order = np.argsort(rows)
            ordered = rows[order]
            member = ordered // ROWS
            xb = np.empty((len(rows), COLUMNS), np.float32)
            yb = np.empty(len(rows), np.int64)
            for m in np.unique(member):
                where = np.flatnonzero(member == m)
                local = ordered[where] - m * ROWS
                xb[order[where]] = xs[m][local]
                yb[order[where]] = ys[m][local]
            out.append((xb, yb))
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "file_bytes": _rchar() - before, "batches": len(out),
                "labels": [yb for _, yb in out]}
    finally:
        for f in files:
            f.close()


def run(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The numbers of the module's steps, as a dict, and a table of them printed."""
    paths = make_data(Path(data_dir))
    x = la.concatenate([la.open_dataset(p, "x") for p in paths])
    y = la.concatenate([la.open_dataset(p, "y") for p in paths])
    # The batches lazyarray's plan makes, for the hand loop to read the same rows.
    layout = find_layout([x, y], [0, 0], la.get_options().chunk_bytes)
    plan = [job.rows for job in epoch_jobs(np.random.default_rng(SEED), layout, "rows", BATCH,
                                           False, None, 8, 1)]
    for path in paths:  # the page cache warm
        Path(path).read_bytes()
    # The hand loop's h5py would share lazyarray's open files (HDF5 opens a
    # file once per process), and their chunk caches: closed first.
    default_cache.clear()
    data_bytes = x.nbytes + y.nbytes
    results = {"hand": _hand(paths, plan), "rows": _lazyarray(x, y, "rows"),
               "index lists": _index_lists(x, y, plan), "blocks": _lazyarray(x, y, "blocks")}
    for got, expected in zip(results["rows"]["labels"], results["hand"]["labels"]):
        np.testing.assert_array_equal(got, expected)
    numbers: dict[str, Any] = {"data_bytes": data_bytes, "batches": len(plan)}
    for name, found in results.items():
        for key, value in found.items():
            if key != "labels":
                numbers[f"{name.replace(' ', '_')}_{key}"] = value
    numbers["rows_over_hand_seconds"] = results["rows"]["seconds"] / results["hand"]["seconds"]
    numbers["rows_over_hand_file_bytes"] = (results["rows"]["file_bytes"]
                                            / max(1, results["hand"]["file_bytes"]))
    numbers["rows_asked_over_data_bytes"] = results["rows"]["asked_bytes"] / data_bytes
    print(f"{FILES} files, {data_bytes / 2**20:.1f} MiB, {len(plan)} batches of {BATCH} rows")
    print(f"{'method':<18}{'seconds':>9}{'file MiB':>10}{'x data':>8}")
    for name, found in results.items():
        print(f"{name:<18}{found['seconds']:>9.2f}{found['file_bytes'] / 2**20:>10.1f}"
              f"{found['file_bytes'] / data_bytes:>8.2f}")
    print(f"rows / hand: {numbers['rows_over_hand_seconds']:.2f} x the time, "
          f"{numbers['rows_over_hand_file_bytes']:.2f} x the file bytes; lazyarray asked "
          f"{numbers['rows_asked_over_data_bytes']:.2f} x the data's bytes")
    return numbers


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data" / "sampling")
