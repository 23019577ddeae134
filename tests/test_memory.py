"""Bounded memory: evaluations over GiBs of HDF5 cost their results plus a budget.

DESIGN.md promise 4: peak memory is the result buffers plus a budget of
in-flight tiles, whatever the source size. Each check runs in a fresh
process and reads its peak resident set (imports and tiles included):

* a 2 GiB float32 dataset through ``a * 2.5 + 1`` into a 2 GiB in-memory
  result stays below 2.4 GiB;
* mean and std over the first axis of an 8 GiB float32 dataset with
  ``memory_limit=256 MiB`` stay below 450 MB, and so do mean, std and count
  of the same dataset opened masked (about 10 % of it above its
  ``valid_max``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
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


# A process started from this one starts with this one's peak RSS as its own
# ``ru_maxrss`` (Linux carries the high-water mark over exec), and pytest's
# peak depends on every test run before. A small launcher process starts the
# measured one, which then starts from the launcher's few MB.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def run_fresh(code: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose ``ru_maxrss`` is its own."""
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-c", code, *args]
    # In a session of its own, so that a timeout (or an interrupted test run)
    # stops the measured process too, not only the launcher.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_elementwise_over_2_gib_of_hdf5_peaks_below_result_plus_budget(tmp_path):
    path = tmp_path / "big.h5"
    write_source(path)
    child = run_fresh(CHILD, str(path), timeout=600)
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


# -- mean and std of 8 GB of HDF5 within a 256 MiB budget ----------------------------
#
# Promise 4 for reductions: the results are small (two 4 MiB planes and their
# float64 states), so the peak is the interpreter, the results and the
# 256 MiB budget of tiles in flight, whatever the size of the source.

BIG_SHAPE = (2048, 1024, 1024)  # float32: 8 GiB
BIG_CHUNKS = (1, 1024, 1024)  # 4 MiB, a plane
BIG_PEAK_LIMIT = 450 * 10**6
MiB = 2**20


def big_plane(i: int) -> np.ndarray:
    """Plane ``i`` of the 8 GB source: smooth in space, varying from plane to plane."""
    j, k = np.ogrid[: BIG_SHAPE[1], : BIG_SHAPE[2]]
    return (((j * 3 + k * 5 + i * 11) % 997) * 0.25 - 100 + (i % 7) * 0.125).astype(np.float32)


def write_big_source(path) -> None:
    """Write the dataset 16 planes (64 MiB) at a time, in bounded memory."""
    block = np.empty((16,) + BIG_SHAPE[1:], np.float32)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("a", shape=BIG_SHAPE, dtype="f4", chunks=BIG_CHUNKS)
        for start in range(0, BIG_SHAPE[0], len(block)):
            for offset in range(len(block)):
                block[offset] = big_plane(start + offset)
            dataset[start : start + len(block)] = block


BIG_CHILD = f"""
import json, resource, sys, time
import h5py, numpy as np
import lazyarray as la

baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The fused kernels (numba, when installed) cost a fixed amount of memory to
# import and load, whatever the data: measured here on a tiny array, and
# allowed on top of the limit.
la.ndarrays([la.mean(la.asarray(np.ones((64, 32), "f4")), 0), la.std(np.ones((64, 32), "f4"), 0)],
            chunk_bytes=1024)
kernels = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline
a = la.asarray(h5py.File(sys.argv[1], "r")["a"])
start = time.perf_counter()
mean, std = la.ndarrays([la.mean(a, 0), la.std(a, 0)], memory_limit={256 * MiB})
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The oracle only now, after the peak is taken: a numpy loop over planes with
# float64 sums of deviations from the first plane (shifted sums keep the
# variance free of cancellation).
dataset = h5py.File(sys.argv[1], "r")["a"]
shift = dataset[0].astype(np.float64)
total = np.zeros_like(shift)
squares = np.zeros_like(shift)
for i in range(dataset.shape[0]):
    deviation = dataset[i] - shift
    total += deviation
    squares += deviation * deviation
n = dataset.shape[0]
expected_mean = shift + total / n
expected_std = np.sqrt((squares - total * total / n) / n)
np.savez(sys.argv[2], mean=mean, std=std, expected_mean=expected_mean, expected_std=expected_std)
print(json.dumps({{"peak": peak, "baseline": baseline, "seconds": seconds,
                  "kernels": kernels}}))
"""


@pytest.mark.timeout(3600)  # writing 8 GB, then reading it twice, on a busy machine
def test_mean_and_std_of_8_gb_of_hdf5_peak_below_450_mb(tmp_path):
    path = tmp_path / "big.h5"
    try:
        write_big_source(path)
        child = run_fresh(BIG_CHILD, str(path), str(tmp_path / "results.npz"), timeout=1800)
    finally:
        path.unlink(missing_ok=True)  # 8 GB: do not wait for pytest's tmp_path cleanup
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"mean and std of 8 GiB: peak RSS {report['peak'] / 10**6:.0f} MB "
        f"(after imports {report['baseline'] / 10**6:.0f} MB, kernels "
        f"{report['kernels'] / 10**6:.0f} MB) in {report['seconds']:.1f} s"
    )
    with np.load(tmp_path / "results.npz") as results:
        assert results["mean"].shape == BIG_SHAPE[1:] and results["mean"].dtype == np.float32
        assert results["std"].shape == BIG_SHAPE[1:] and results["std"].dtype == np.float32
        np.testing.assert_allclose(results["mean"], results["expected_mean"], rtol=1e-6)
        np.testing.assert_allclose(results["std"], results["expected_std"], rtol=1e-6)
    limit = BIG_PEAK_LIMIT + report["kernels"]
    assert report["peak"] < limit, (
        f"peak RSS {report['peak'] / 10**6:.0f} MB exceeds {limit / 10**6:.0f} MB "
        f"(450 MB and {report['kernels'] / 10**6:.0f} MB of kernels) "
        f"for mean and std of 8 GiB with memory_limit=256 MiB"
    )


# -- the same in masked mode: a masked HDF5 source, about 10 % of it masked ------------------
#
# Promise 4 holds in masked mode too: masks are made tile by tile (values above
# the dataset's valid_max, as netCDF conventions define it), and masked
# reductions skip them within the same budget.

VALID_MAX = 124.5  # values above it (about 10 %) are masked


def write_big_masked_source(path) -> None:
    """The 8 GB source, declaring a fill value and a valid maximum."""
    write_big_source(path)
    with h5py.File(path, "a") as f:
        f["a"].attrs["_FillValue"] = np.float32(-999.0)
        f["a"].attrs["valid_max"] = np.float32(VALID_MAX)


BIG_MASKED_CHILD = f"""
import json, resource, sys, time
import h5py, numpy as np
import lazyarray as la

baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# As in BIG_CHILD: the kernels' fixed memory, measured on a tiny array.
tiny = la.asarray(np.ma.masked_less(np.arange(2048, dtype="f4").reshape(64, 32), 100))
la.masked_arrays([la.mean(tiny, 0), la.std(tiny, 0), la.count(tiny, 0)], chunk_bytes=1024)
kernels = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline
a = la.asarray(h5py.File(sys.argv[1], "r")["a"], masked=True, valid_range=True)
start = time.perf_counter()
mean, std, count = la.masked_arrays([la.mean(a, 0), la.std(a, 0), la.count(a, 0)],
                                    memory_limit={256 * MiB})
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The oracle only now: a numpy loop over planes, masked points left out, with
# float64 sums of deviations from the first plane.
dataset = h5py.File(sys.argv[1], "r")["a"]
shift = dataset[0].astype(np.float64)
total = np.zeros_like(shift)
squares = np.zeros_like(shift)
n = np.zeros(shift.shape, np.int64)
for i in range(dataset.shape[0]):
    plane = dataset[i]
    valid = plane <= {VALID_MAX}
    deviation = np.where(valid, plane - shift, 0.0)
    total += deviation
    squares += deviation * deviation
    n += valid
masked_fraction = 1 - n.sum() / (dataset.shape[0] * n.size)
np.savez(sys.argv[2], mean=mean.data, std=std.data, count=count.data,
         mask=np.ma.getmaskarray(mean) | np.ma.getmaskarray(std),
         expected_mean=shift + total / n, expected_std=np.sqrt((squares - total * total / n) / n),
         expected_count=n)
print(json.dumps({{"peak": peak, "baseline": baseline, "seconds": seconds,
                  "masked_fraction": masked_fraction, "kernels": kernels}}))
"""


@pytest.mark.timeout(3600)
def test_masked_mean_and_std_of_8_gb_of_hdf5_peak_below_450_mb(tmp_path):
    path = tmp_path / "big.h5"
    try:
        write_big_masked_source(path)
        child = run_fresh(BIG_MASKED_CHILD, str(path), str(tmp_path / "results.npz"),
                          timeout=1800)
    finally:
        path.unlink(missing_ok=True)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"masked mean and std of 8 GiB ({report['masked_fraction']:.1%} masked): peak RSS "
        f"{report['peak'] / 10**6:.0f} MB (after imports {report['baseline'] / 10**6:.0f} MB, "
        f"kernels {report['kernels'] / 10**6:.0f} MB) in {report['seconds']:.1f} s"
    )
    assert 0.05 < report["masked_fraction"] < 0.15
    with np.load(tmp_path / "results.npz") as results:
        assert not results["mask"].any()  # every pixel has valid values
        np.testing.assert_array_equal(results["count"], results["expected_count"])
        np.testing.assert_allclose(results["mean"], results["expected_mean"], rtol=1e-6)
        np.testing.assert_allclose(results["std"], results["expected_std"], rtol=1e-6)
    limit = BIG_PEAK_LIMIT + report["kernels"]
    assert report["peak"] < limit, (
        f"peak RSS {report['peak'] / 10**6:.0f} MB exceeds {limit / 10**6:.0f} MB "
        f"(450 MB and {report['kernels'] / 10**6:.0f} MB of kernels) "
        f"for masked mean and std of 8 GiB with memory_limit=256 MiB"
    )
