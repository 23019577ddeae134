"""Start-up cost: what ``import lazyarray`` and a first computation add to a fresh process.

Every spawned worker, command-line call and notebook pays for Python's imports
before doing anything (issue 18, point 4). Each case runs in a fresh process,
``--runs`` times (after one untimed run), the cases taking turns so that the
machine's load falls on all alike; the table gives the medians of the whole
process's wall time (start to exit), of its peak resident memory (``VmHWM``)
and of the CPU time it used (user and system, which a loaded machine inflates
less than the wall time), and each one's difference from (a):

* **(a)** ``import numpy, h5py``: the floor;
* **(b)** ``import numpy, h5py, lazyarray``;
* **(c)** (b), then a first small reduction, ``la.mean(np.ones((100, 100)), 0).ndarray()``;
* **(d)** (b), then ``float(la.asarray(np.arange(10.0))[3])``;
* **(e)** (b), then what a :func:`lazyarray.map_files` worker does first: the mean
  over axis 0 of a 2000 x 2000 float32 HDF5 dataset, with ``kernels="numba"``
  (its time includes importing numba and loading the kernels from numba's cache);
* **(f)** (e) with ``kernels="numpy"``: numpy's own time for the same reduction.

The targets (issue 18), in wall time: (c) at most 0.15 s and 40 MB over (a);
loading the numba kernels, (e) over (f), at most 0.1 s and 30 MB.

Bytecode is compiled once, by the untimed runs, into a temporary
``PYTHONPYCACHEPREFIX`` (removed at the end), so that every timed run reads
compiled modules as an installed package does, whatever
``PYTHONDONTWRITEBYTECODE`` says and however stale the source tree's
``__pycache__`` is. MB are 10**6 bytes.

Examples
--------
::

    python benchmarks/startup.py --record -     # print only
    python benchmarks/startup.py --runs 11      # append the table to RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ROOT = Path(__file__).resolve().parent.parent

#: Rows and columns of the worker-like case's dataset: 16 MB of float32.
SHAPE = (2000, 2000)

#: Issue 18's targets, in seconds and MB: (c) over (a), and (e) over (f).
FIRST_REDUCTION_TARGET = (0.15, 40.0)
KERNEL_LOAD_TARGET = (0.1, 30.0)

#: Printed last by every child: its peak resident memory in KiB (VmHWM, which
#: exec resets, unlike ``ru_maxrss``: a child would report its parent's peak),
#: and the CPU seconds it has used (user and system, all threads).
_PEAK = """
import resource as _r, sys as _s
_use = _r.getrusage(_r.RUSAGE_SELF)
try:
    with open("/proc/self/status") as _f:
        _kib = next(int(_l.split()[1]) for _l in _f if _l.startswith("VmHWM:"))
except OSError:
    _kib = _use.ru_maxrss // (1 if _s.platform != "darwin" else 1024)
print("peak-kib", _kib, "cpu-s", _use.ru_utime + _use.ru_stime)
"""

_LAZY = "import numpy as np, h5py\nimport lazyarray as la\n"

#: What each reduction of the dataset must give: row ``i`` holds ``0 .. 1999``.
_WORKER = _LAZY + """
x = la.open_dataset({path!r}, "x")
r = la.mean(x, 0).ndarray(kernels={kernels!r})
assert r.dtype == np.float32 and r.shape == ({columns},), (r.dtype, r.shape)
assert (r == np.arange({columns}, dtype=np.float32)).all()
"""


def cases(path: Path) -> dict[str, tuple[str, str]]:
    """Each case's letter: (what it does, its code); each code checks its values."""
    worker = {kernels: _WORKER.format(path=str(path), kernels=kernels, columns=SHAPE[1])
              for kernels in ("numba", "numpy")}
    return {
        "a": ("`import numpy, h5py`", "import numpy, h5py\n"),
        "b": ("`import numpy, h5py, lazyarray`", _LAZY),
        "c": ("(b) + `la.mean(np.ones((100, 100)), 0).ndarray()`",
              _LAZY + "r = la.mean(np.ones((100, 100)), 0).ndarray()\n"
                      "assert r.dtype == np.float64 and (r == np.ones(100)).all()\n"),
        "d": ("(b) + `float(la.asarray(np.arange(10.0))[3])`",
              _LAZY + "assert float(la.asarray(np.arange(10.0))[3]) == 3.0\n"),
        "e": ("(b) + mean over axis 0 of 2000x2000 float32 HDF5, `kernels=\"numba\"`",
              worker["numba"]),
        "f": ("(e) with `kernels=\"numpy\"`", worker["numpy"]),
    }


def run_once(code: str, environment: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak MB, CPU seconds) of a fresh process running ``code``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + _PEAK], capture_output=True,
                          text=True, env=environment, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"a start-up case failed (exit {done.returncode}):\n{code}\n"
                           f"{done.stderr}")
    _, kib, _, cpu = [line for line in done.stdout.splitlines()
                      if line.startswith("peak-kib ")][-1].split()
    return seconds, int(kib) * 1024 / 1e6, float(cpu)


def measure(runs: int, letters: Sequence[str],
            folder: Path) -> dict[str, tuple[float, float, float]]:
    """Each case's median (seconds, MB, CPU seconds) over ``runs`` runs, after an untimed one."""
    path = folder / "worker.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.broadcast_to(np.arange(SHAPE[1], dtype=np.float32),
                                                   SHAPE))
    environment = dict(os.environ, PYTHONPYCACHEPREFIX=str(folder / "pycache"))
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    code = cases(path)
    found: dict[str, list[tuple[float, float, float]]] = {letter: [] for letter in letters}
    for letter in letters:  # untimed: compiles bytecode (and numba's kernels if stale)
        run_once(code[letter][1], environment)
    for _ in range(runs):
        for letter in letters:
            found[letter].append(run_once(code[letter][1], environment))
    medians = {}
    for letter, got in found.items():
        seconds, mb, cpu = zip(*got)
        medians[letter] = (statistics.median(seconds), statistics.median(mb),
                           statistics.median(cpu))
    return medians


def _verdict(seconds: float, mb: float, target: tuple[float, float]) -> str:
    met = seconds <= target[0] and mb <= target[1]
    return (f"{seconds:.3f} s and {mb:.1f} MB against at most {target[0]} s and "
            f"{target[1]:.0f} MB: {'met' if met else 'NOT met'}")


def table(runs: int, with_numba: bool) -> str:
    letters = ["a", "b", "c", "d"] + (["e", "f"] if with_numba else ["f"])
    with tempfile.TemporaryDirectory(prefix="lazyarray-startup-") as folder:
        found = measure(runs, letters, Path(folder))
        described = cases(Path(folder) / "worker.h5")
    floor_s, floor_mb, floor_cpu = found["a"]
    rows = [f"| ({letter}) {described[letter][0]} | {s:.3f} | {mb:.1f} | {s - floor_s:+.3f} | "
            f"{mb - floor_mb:+.1f} | {cpu:.3f} | {cpu - floor_cpu:+.3f} |"
            for letter, (s, mb, cpu) in found.items()]
    c_s, c_mb, _ = found["c"]
    notes = [("First small reduction, (c) over (a): "
              f"{_verdict(c_s - floor_s, c_mb - floor_mb, FIRST_REDUCTION_TARGET)}.")]
    b_s, b_mb, _ = found["b"]
    f_s, f_mb, _ = found["f"]
    notes.append(f"`import lazyarray`, (b) over (a): {b_s - floor_s:.3f} s and "
                 f"{b_mb - floor_mb:.1f} MB; numpy's own reduction, (f) over (b): "
                 f"{f_s - b_s:.3f} s and {f_mb - b_mb:.1f} MB.")
    if with_numba:
        e_s, e_mb, _ = found["e"]
        notes.append(f"Loading the numba kernels, (e) over (f): "
                     f"{_verdict(e_s - f_s, e_mb - f_mb, KERNEL_LOAD_TARGET)}.")
    else:
        notes.append("numba is not installed: case (e) and the kernels' target are skipped.")
    return "\n".join([
        "| case | seconds | peak MB | over (a), s | over (a), MB | CPU s | over (a), CPU s |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        *notes,
    ])


def _revision() -> str | None:
    """The checked-out commit, short, read from ``.git`` (no git process: it may be absent)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()[:7]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line[:7]
    except OSError:
        pass
    return None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7,
                        help="timed runs of each case, after an untimed one (default 7)")
    parser.add_argument("--record", default=str(RESULTS),
                        help="append the table to this file (default RESULTS.md; '-' for none)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, found {args.runs}")
    try:  # the version only: importing numba here would cost 0.3 s for nothing
        numba: str | None = metadata.version("numba")
    except metadata.PackageNotFoundError:
        numba = None
    revision = _revision()
    header = (f"Start-up in fresh processes, median of {args.runs} runs; "
              f"Python {platform.python_version()}, numpy {np.__version__}, h5py "
              f"{h5py.__version__}, numba {numba or 'absent'}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
              f"lazyarray at git {revision or 'unknown'}.")
    report = f"{header}\n\n{table(args.runs, numba is not None)}"
    print(report)
    if args.record != "-":
        with open(args.record, "a") as out:
            out.write(f"\n## Start-up\n\n{report}\n")


if __name__ == "__main__":
    main()
