"""Benchmarks: lazyarray against a hand-written loop and Dask, from benchmarks/RESULTS.md.

The numbers are read from the latest full run of ``make bench`` recorded in
``benchmarks/RESULTS.md`` (a section titled ``benchmarks/run.py (defaults)``): for
each workload, the hand loop's time, lazyarray's best warm run and Dask's best
chunking. Workloads (a) to (e) read 4 GB (8 GB for (c)) from HDF5 or Zarr files on
2 cores; the section says which machine and revision.
"""

import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RESULTS = Path(sys.argv[0]).resolve().parents[2] / "benchmarks" / "RESULTS.md"

# A row of a workload's table: the method, then time s, GB/s, / hand, peak RSS MB,
# at start, check (run.py's fixed-width layout).
ROW = re.compile(r"^  (\S.*?)\s{2,}(\d+\.\d+)\s+\d+\.\d+\s+\d+\.\d+\s+\d+\s+\d+\s+\S")
WORKLOAD = re.compile(r"^\(([\w-]+)\) (.*?): ")


def latest_full_run(text):
    """The title and the text of the last section of a run with the default arguments."""
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    full = [s for s in sections if s.split("\n", 1)[0].endswith("benchmarks/run.py (defaults)")]
    if not full:
        raise ValueError(f"{RESULTS}: no section 'benchmarks/run.py (defaults)' found")
    title, body = full[-1].split("\n", 1)
    return title, body


def best_times(body):
    """{workload: (description, {method: best seconds})} of a section's tables."""
    workloads = {}
    methods = None
    for line in body.splitlines():
        if m := WORKLOAD.match(line):
            methods = {}
            workloads[m.group(1)] = (m.group(2), methods)
        elif methods is not None and (m := ROW.match(line)):
            name, seconds = m.group(1).strip(), float(m.group(2))
            if name.startswith("hand loop"):
                kind = "hand loop, 1 thread"
            elif name.startswith("lazyarray") and "1st call" not in name:
                kind = "lazyarray, 2 workers"
            elif name.startswith("dask"):
                kind = "Dask, best chunks"
            else:
                continue  # raw reads and first calls (numba compiling) are not compared
            methods[kind] = min(seconds, methods.get(kind, np.inf))
    return workloads


title, body = latest_full_run(RESULTS.read_text(encoding="utf-8"))
workloads = {
    name: value
    for name, value in best_times(body).items()
    if not name.startswith("probe") and len(value[1]) == 3
}
if not workloads:
    raise ValueError(f"{RESULTS}: no workload table found under '{title}'")

kinds = ["hand loop, 1 thread", "lazyarray, 2 workers", "Dask, best chunks"]
names = list(workloads)
x = np.arange(len(names))
fig, ax = plt.subplots(figsize=(8.0, 4.2))
for k, kind in enumerate(kinds):
    seconds = [workloads[name][1][kind] for name in names]
    bars = ax.bar(x + (k - 1) * 0.27, seconds, 0.27, label=kind, color=["0.6", "C3", "C0"][k])
    ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
ax.set_xticks(x, [f"({name})" for name in names])
ax.set(ylabel="seconds, less is better", title=f"make bench, {title.rsplit(': ', 1)[0]}")
ax.legend(loc="upper left", fontsize=8)
for name in names:
    print(f"({name}) {workloads[name][0]}")

plt.show()  # a window when run by hand; the site's build saves the figures instead
