"""Bounded memory: realising an expression over 2 GiB of HDF5 costs the result plus a little.

DESIGN.md promise 4: peak memory is the result buffers plus a budget of
in-flight tiles, whatever the source size. Here a 2 GiB float32 dataset goes
through ``a * 2.5 + 1`` into a 2 GiB in-memory result; the peak resident set
of a fresh process must stay below 2.4 GiB (imports and tiles included).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.slow

GiB = 2**30
SHAPE = (512, 1024, 1024)  # float32: 2 GiB
CHUNKS = (1, 1024, 1024)  # 4 MiB, a plane
PEAK_LIMIT = int(2.4 * GiB)


def plane(i: int) -> np.ndarray:
    """Plane ``i`` of the source: values that differ between neighbours and planes."""
    j, k = np.ogrid[: SHAPE[1], : SHAPE[2]]
    return ((j * 7 + k + i * 13) % 1000).astype(np.float32)


def write_source(path) -> None:
    """Write the dataset 16 planes (64 MiB) at a time, so the test itself stays small."""
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("a", shape=SHAPE, dtype="f4", chunks=CHUNKS)
        for start in range(0, SHAPE[0], 16):
            dataset[start : start + 16] = np.stack([plane(i) for i in range(start, start + 16)])


# Run in a fresh interpreter, so its peak RSS is this evaluation's alone.
CHILD = f"""
import json, resource, sys
import h5py, numpy as np
import lazyarray as la

SHAPE = {SHAPE}
{inspect.getsource(plane)}
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
a = la.asarray(h5py.File(sys.argv[1], "r")["a"])
expression = a * 2.5 + 1
result = expression.ndarray()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# Check every value only now, plane by plane, after the peak is taken.
wrong = [i for i in range(result.shape[0]) if not np.array_equal(result[i], plane(i) * 2.5 + 1)]
print(json.dumps({{
    "peak": peak, "baseline": baseline, "shape": list(result.shape),
    "dtype": str(result.dtype), "declared": [list(expression.shape), str(expression.dtype)],
    "wrong_planes": wrong[:10],
}}))
"""


def test_elementwise_over_2_gib_of_hdf5_peaks_below_result_plus_budget(tmp_path):
    path = tmp_path / "big.h5"
    write_source(path)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"peak RSS {report['peak'] / GiB:.3f} GiB "
        f"(after imports {report['baseline'] / GiB:.3f} GiB) for a 2 GiB result"
    )
    assert report["shape"] == list(SHAPE) and report["dtype"] == "float32"
    assert report["declared"] == [list(SHAPE), "float32"]
    assert report["wrong_planes"] == []
    assert report["peak"] < PEAK_LIMIT, (
        f"peak RSS {report['peak'] / GiB:.2f} GiB exceeds {PEAK_LIMIT / GiB:.2f} GiB "
        f"for a {np.prod(SHAPE) * 4 / GiB:.0f} GiB result"
    )
