"""What iterating leaves behind and holds: no file lease after ``break``, memory within the budget (issue 15, point 1).

The memory check runs in a fresh interpreter and reads its peak resident
set, as ``tests/test_memory.py`` does: iterating over 1 GiB of HDF5 with
``memory_limit=64 MiB`` may hold the budget, the slabs read ahead and the
one being consumed (``prefetch + 1`` slabs), and 100 MB besides (allocator
slack, HDF5's caches) -- nothing that grows with the array. The interpreter,
its imports and numba's kernels are loaded before the baseline.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import threading

import h5py
import numpy as np
import psutil
import pytest

import lazyarray as la
from lazyarray.files import default_cache

MiB = 2**20


def open_paths() -> set[str]:
    return {os.path.realpath(f.path) for f in psutil.Process().open_files()}


def test_break_holds_no_file_and_no_thread(tmp_path):
    """After ``break``, no lease on the source's file is held: the file
    cache can close it, and then the process has it open no more."""
    path = tmp_path / "x.h5"
    data = np.arange(4000.0).reshape(200, 20)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, chunks=(10, 20))
    x = la.open_dataset(path, "x")
    for slab in la.iter_chunks(x * 2, size=10, prefetch=3):
        np.testing.assert_array_equal(slab, data[:10] * 2)
        break
    assert not [t for t in threading.enumerate() if t.name.startswith("lazyarray")]
    default_cache.discard(path)
    assert os.path.realpath(path) not in open_paths()


SHAPE = (256, 1024, 1024)  # float32: 1 GiB
CHUNKS = (1, 1024, 1024)  # 4 MiB, a plane


def plane(i: int) -> np.ndarray:
    j, k = np.ogrid[: SHAPE[1], : SHAPE[2]]
    return ((j * 3 + k + i * 11) % 977).astype(np.float32)


CHILD = f"""
import json, resource, sys
import numpy as np
import lazyarray as la

SHAPE = {SHAPE}
{inspect.getsource(plane)}
x = la.open_dataset(sys.argv[1], "x")
standardised = (x - la.mean(x, axis=0)) / 977.0
# numba and its kernels, loaded once per process (about 115 MB), before the baseline.
la.mean(np.ones((64, 64, 64), "f4"), axis=0).ndarray(kernels="numba")
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
largest = 0
for start, slab in enumerate(la.iter_chunks(standardised, memory_limit=64 * 2**20, prefetch=2)):
    largest = max(largest, slab.nbytes)
    del slab
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"baseline": baseline, "peak": peak, "slab": largest}}))
"""


@pytest.mark.slow
def test_iterating_1_gib_stays_within_the_budget(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("x", shape=SHAPE, dtype="f4", chunks=CHUNKS)
        for start in range(0, SHAPE[0], 16):
            dataset[start:start + 16] = np.stack([plane(i) for i in range(start, start + 16)])
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, timeout=600, check=True)
    measured = json.loads(done.stdout)
    allowed = 64 * MiB + 3 * measured["slab"] + 100 * MiB
    assert measured["peak"] - measured["baseline"] <= allowed, measured
