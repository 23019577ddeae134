"""The memory of a task of :func:`~lazyarray.mapfiles.map_files`, and how many processes fit.

Steps 2 and 3 of :mod:`lazyarray.mapfiles`: the first input that can be is
built here and planned (:func:`project`, nothing read); its plan's peak
memory is the memory per task (:meth:`Projection.peak_bytes`); then
:func:`allot` chooses the number of processes that fit in
:data:`MEMORY_SHARE` of the available memory and each task's options
(its share of the memory and of the CPUs).

Examples
--------
>>> import os, tempfile, h5py, numpy as np, lazyarray as la
>>> from lazyarray.mapfiles.inputs import Job, resolve
>>> path = os.path.join(tempfile.mkdtemp(), "a.h5")
>>> with h5py.File(path, "w") as f:
...     _ = f.create_dataset("t", data=np.zeros((100, 100)))
>>> job = Job(lambda t: (None, {"m": la.mean(t, 0)}), (), (), False)
>>> projection = project(job, [resolve(0, path + ":t", None, None, "{stem}_out.h5")], {})
>>> projection.read_bytes, projection.peak_bytes({}) > 0
(80000, True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..array import Array
from ..options import Options, get_options, set_options
from ..planning import make_plan
from .inputs import Job, Task
from .worker import build, run_pre

__all__ = [
    "MEMORY_SHARE",
    "NUMBA_WORTH",
    "WORKER_BYTES",
    "Allotment",
    "Projection",
    "allot",
    "available_memory",
    "project",
]

#: Below this many bytes read by a whole run (projected: the first input's
#: reads times the number of inputs), ``kernels="auto"`` evaluates with
#: numpy: loading numba in each new process costs about 0.7 s and 115 MB,
#: more than the kernels save on that little data.
NUMBA_WORTH = 2 * 2**30

#: The share of the available memory that the tasks may use together.
MEMORY_SHARE = 0.8

#: Resident memory of a worker before its first task, in bytes: Python,
#: numpy, h5py, zarr and lazyarray imported (66 MB measured on Linux x86-64,
#: Python 3.11), counted with each task when choosing how many processes fit.
WORKER_BYTES = 80 * 2**20


def available_memory() -> int:
    """Memory available to new processes, in bytes (psutil when installed).

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    try:
        import psutil
    except ImportError:
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 4 * 2**30
    return int(psutil.virtual_memory().available)


@dataclass(frozen=True)
class Projection:
    """The planner's view of one task: its graph and what evaluating it takes.

    Attributes
    ----------
    nodes : tuple of Array
        The arrays to save, then the lazy values of the metadata.
    saved : int
        How many of ``nodes`` are saved.
    read_bytes : int
        What the plan reads, in bytes.
    """

    nodes: tuple[Array, ...]
    saved: int
    read_bytes: int

    def peak_bytes(self, options: dict[str, Any]) -> int:
        """The plan's peak memory, in bytes, counting only tiles that exist, and writes.

        Two corrections to :attr:`Plan.peak_bytes` (results plus
        ``in_flight`` tiles of the widest pass):

        1. a pass of fewer tiles than ``in_flight`` (a small file is often
           one tile) never has more in memory: counting them would project
           twice the memory of a one-tile file, and run half the processes
           that fit;
        2. one tile of each saved array more: its encoded copy waits for
           the disk while the next tiles are computed (measured, 200 MB
           inputs in tiles of 28 MB written with ``fsync``, two processes
           writing at once: 27 MiB more than the plan, 142 MiB against
           169 MiB with and without ``fsync``).
        """
        plan = make_plan(list(self.nodes), get_options(**options),
                         in_memory=[n >= self.saved for n in range(len(self.nodes))])
        tiles = max((p.tile_bytes * min(plan.in_flight, p.tile_count) for p in plan.passes),
                    default=0)
        count = max((p.tile_count for p in plan.passes), default=1)
        writing = sum(node.nbytes for node in self.nodes[:self.saved]) // max(count, 1)
        return int(plan.result_bytes + tiles + writing)


def project(job: Job, tasks: Sequence[Task], options: dict[str, Any]) -> Projection | None:
    """Build the first buildable task's graph here (reads nothing) for the planner.

    Inputs that are skipped, or whose ``fn`` fails here, are passed over
    (they fail again in their process, and are reported there); at most
    three are tried. ``None`` when none could be built.
    """
    tried = 0
    for task in tasks:
        if tried == 3:
            break
        tried += 1
        try:
            with set_options(**options):
                keywords = run_pre(job, task.given)
                if keywords is None:
                    tried -= 1
                    continue
                arrays, meta = build(job, task, keywords)
                nodes = (*arrays.values(), *(v for v in meta.values() if isinstance(v, Array)))
                if not nodes:
                    return Projection((), 0, 0)
                plan = make_plan(list(nodes), get_options(**options),
                                 in_memory=[n >= len(arrays) for n in range(len(nodes))])
        except Exception:  # noqa: BLE001, S112 - it fails again in its task, reported there
            continue
        return Projection(tuple(nodes), len(arrays), int(plan.read_bytes))
    return None


@dataclass(frozen=True)
class Allotment:
    """How a run of :func:`map_files` is shared out.

    Attributes
    ----------
    processes : int
        Worker processes (``0``: every task in the caller's process).
    options : dict
        The evaluation options of each task.
    """

    processes: int
    options: dict[str, Any]


def allot(job: Job, tasks: Sequence[Task], processes: int | None,
          memory_per_task: int | None, in_force: Options,
          options: dict[str, Any]) -> Allotment:
    """Project one task, then choose the processes and each task's options.

    1. The memory per task is ``memory_per_task``, else the projection's
       peak (:func:`project`).
    2. ``processes`` (when ``None``) is at most one per task and per CPU,
       and at most ``MEMORY_SHARE * available_memory() // (memory per task
       + WORKER_BYTES)``.
    3. Each task's ``memory_limit`` is its share of that memory, when below
       the option in force; its ``workers``, its share of the CPUs (unless
       given); its ``kernels``, ``"numpy"`` when the option is ``"auto"``
       and the run reads less than :data:`NUMBA_WORTH`.

    Parameters
    ----------
    job : Job
    tasks : sequence of Task
        At least one.
    processes : int, optional
        As given to :func:`map_files`.
    memory_per_task : int, optional
        As given to :func:`map_files`, in bytes.
    in_force : Options
        The options in force, with ``options`` applied.
    options : dict
        The evaluation options given to :func:`map_files`.
    """
    task_options = {k: v for k, v in options.items() if v is not None}
    projection = project(job, tasks, task_options)
    if in_force.kernels == "auto" and projection is not None and \
            projection.read_bytes * len(tasks) < NUMBA_WORTH:
        task_options["kernels"] = "numpy"
    budget = int(available_memory() * MEMORY_SHARE)
    per_task = memory_per_task
    if per_task is None and projection is not None:
        per_task = projection.peak_bytes(task_options)
    if processes is None:
        fits = budget // (per_task + WORKER_BYTES) if per_task is not None else len(tasks)
        processes = max(1, min(len(tasks), os.cpu_count() or 1, fits))
    share = budget // max(processes, 1)
    if share < in_force.memory_limit:
        task_options["memory_limit"] = max(1, share)
    if "workers" not in task_options and processes > 1:
        # The processes share the CPUs: threads beyond them only contend.
        # (Results do not depend on the number of workers.)
        task_options["workers"] = max(1, (os.cpu_count() or 1) // processes)
    return Allotment(processes, task_options)
