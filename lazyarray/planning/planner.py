"""Making a plan: results grouped into passes, each pass's tiles chosen and sized.

:func:`make_plan` is what the evaluator and :func:`lazyarray.plan` call. It
knows no node class: it asks nodes what it needs (which reduce, what they
read, what a tile of them costs; see the planner protocol of
:class:`lazyarray.Array`), through :mod:`.stages`, :mod:`.sources`,
:mod:`.memory` and :mod:`.tiling`.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> from lazyarray.options import get_options
>>> x = la.asarray(np.zeros((100, 10), np.float32))
>>> plan = make_plan([la.mean(x, 0), x * 2], get_options(chunk_bytes=1600))
>>> [(p.domain, p.tile, p.tile_count) for p in plan.passes]
[((100, 10), (40, 10), 3)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..array import Array
from ..indexing import sorted_union
from ..options import Options
from ..planprotocol import Edges
from .edges import chunk_edges, member_breaks
from .memory import _largest_chunk, _tile_bytes, pass_bytes
from .passreads import PassReads
from .plans import Pass, Plan, _notes
from .sources import source_reads
from .stages import ends_pass, nearest_reductions
from .tiling import _Tiling, _tiling

__all__ = ["MIN_TASKS", "TASK_TILES", "make_plan"]

# Tasks of a pass of reductions are at most this many tiles of one output
# region, and a pass is cut into at least MIN_TASKS tasks when it has the
# tiles, so that the workers share the last tasks evenly. Neither depends on
# ``workers``: tasks set the order of merges, as tiles do. Since the fused
# kernels add tiles into running states in place, longer tasks cost nothing in
# the workers and make fewer states to join (measured: workload (a),
# 2.23-2.44 s with tasks of 8 tiles; 2.16-2.22 s with 16).
TASK_TILES = 16
MIN_TASKS = 8


def _domain_edges(inputs: Sequence[Array], domain: tuple[int, ...],
                  find: Callable[[Array], Edges] = chunk_edges) -> Edges:
    """Where the storage chunks of every input's sources begin along each axis of ``domain``
    (or, with ``find=member_breaks``, where mosaic members end)."""
    edges: list[np.ndarray | None] = [None] * len(domain)
    for node in inputs:
        for axis, found in enumerate(find(node)):
            known = edges[axis]
            if found is not None:
                edges[axis] = found if known is None else sorted_union(known, found)
    return tuple(edges)


def make_plan(targets: Sequence[Array], options: Options,
              in_memory: Sequence[bool] | None = None, whole: bool = False) -> Plan:
    """Plan the evaluation of ``targets`` (lazy arrays) within ``options``.

    ``in_memory`` says which targets become in-memory arrays (all by default);
    the others stream into sinks and take no result memory. ``whole``: each
    pass is one tile of its whole domain where that fits ``memory_limit``,
    as small graphs are evaluated
    (:func:`lazyarray.execution.evaluate.check_graph`).

    Steps:

    1. Group results into passes: those that traverse one domain shape in
       one stage (after the aggregations they need) share a pass.
    2. For each pass, find its sources and where they lie in its domain
       (:func:`~lazyarray.planning.source_reads`), then its tiles: the
       candidate tiling that reads the fewest bytes
       (:func:`~lazyarray.planning.tiling._tiling`).
    3. Order each pass's traversal (reduced axes innermost), group the tiles
       of reductions alone into tasks, and size the tiles in flight.

    Raises
    ------
    MemoryBudgetError
        When even the smallest tiles of some pass cannot fit ``memory_limit``.
    """
    stage_of: dict[int, int] = {}

    def stage(node: Array) -> int:
        # 0 for nodes that need no reduction first, else one after the latest
        # they need: found for the reductions needed first (an explicit stack,
        # so chains of any length of reductions of reductions plan).
        needs: dict[int, list[Array]] = {}
        todo = [node]
        while todo:
            current = todo[-1]
            if id(current) in stage_of:
                todo.pop()
                continue
            if id(current) not in needs:
                needs[id(current)] = nearest_reductions(current)
            waiting = [d for d in needs[id(current)] if id(d) not in stage_of]
            if waiting:
                todo.extend(waiting)
                continue
            todo.pop()
            stage_of[id(current)] = max((1 + stage_of[id(d)] for d in needs[id(current)]),
                                        default=0)
        return stage_of[id(node)]

    kept_flags = list(in_memory) if in_memory is not None else [True] * len(targets)
    # Results streamed into sinks: each tile of them is also held as the copy
    # prepared for its sink (pass_bytes), never whole.
    written = {id(t): t for t, m in zip(targets, kept_flags) if not m and not ends_pass(t)}
    reductions: dict[int, Array] = {}
    stores: dict[int, Array] = {}
    todo = list(targets)
    for target in targets:
        if ends_pass(target):
            reductions[id(target)] = target
        else:
            stores[id(target)] = target
    while todo:  # every reduction any target needs, however deep
        for dep in nearest_reductions(todo.pop()):
            if id(dep) not in reductions:
                reductions[id(dep)] = dep
                todo.append(dep)
    for node in reductions.values():
        stage(node)
    groups: dict[tuple[int, tuple[int, ...]], tuple[list[Array], list[Array]]] = {}
    for node in reductions.values():
        key = (stage(node), node.inputs[0].shape)
        groups.setdefault(key, ([], []))[0].append(node)
    for node in stores.values():
        key = (stage(node), node.shape)
        groups.setdefault(key, ([], []))[1].append(node)

    passes = []
    fits = []  # bytes each pass needs per tile in flight
    for (stage_number, domain), (reds, outs) in sorted(groups.items(), key=lambda g: g[0][0]):
        inputs = [r.inputs[0] for r in reds] + outs
        sent = [o for o in outs if id(o) in written]
        per_element = pass_bytes(inputs, reds, stores=outs, written=sent)
        decode = _largest_chunk(inputs)
        largest = max(n.dtype.itemsize for n in inputs)
        alone = bool(reds) and not outs and all(r.reduced_axes == reds[0].reduced_axes
                                                for r in reds)
        reads = PassReads(source_reads(inputs, len(domain)), len(domain), options.direct_io)
        breaks = _domain_edges(inputs, domain, member_breaks)
        if (whole and all(domain)
                and _tile_bytes(domain, per_element, reds) + decode <= options.memory_limit):
            single: tuple[tuple[int, ...], ...] = tuple((0, n) for n in domain)
            tiling = _Tiling(domain, single, reads.count(single))
        else:
            tiling = _tiling(domain, reads, breaks, per_element, reds, largest, decode,
                             options, deepen=alone)
        bounds, count = tiling.bounds, tiling.count
        mosaics = any(b is not None for b in breaks)  # else joining changes nothing
        if mosaics and all(b is None or set(b.tolist()) <= set(cuts)
                           for b, cuts in zip(breaks, bounds)):
            # No tile spans two members of a mosaic: none is joined into a copy.
            per_element = pass_bytes(inputs, reds, joined=False, stores=outs, written=sent)
        # Cutting on edges can only shorten tiles; record the largest that remains.
        tile = tuple(max((b[i + 1] - b[i] for i in range(len(b) - 1)), default=t)
                     for b, t in zip(bounds, tiling.tile))
        if reds:
            reduced = reds[0].reduced_axes or ()
            order = tuple(a for a in range(len(domain)) if a not in reduced) + tuple(reduced)
        else:
            order = tuple(range(len(domain)))
        group = 1
        if alone:
            along = math.prod(len(bounds[a]) - 1 for a in reds[0].reduced_axes or ())
            total = math.prod(len(b) - 1 for b in bounds)
            group = max(1, min(TASK_TILES, along, total // MIN_TASKS))
            if along:
                group = -(-along // -(-along // group))  # the same number of tiles in each task
        passes.append(Pass(
            stage=stage_number,
            domain=domain,
            tile=tile,
            order=order,
            reductions=tuple(reds),
            stores=tuple(outs),
            bytes_per_element=per_element,
            read_bytes=count.total,
            bounds=bounds,
            group=group,
            stored_bytes=count.once,
            notes=_notes(count, options, largest),
        ))
        fits.append(max(passes[-1].tile_bytes + decode, 1))  # empty domains have empty tiles
    # Tiles in flight: enough to keep every worker busy and reads running
    # ahead, as many as the budget allows. Only concurrency depends on
    # ``workers``; the tiles, and so the results, do not.
    in_flight = max(1, min([2 * options.workers] + [options.memory_limit // f for f in fits]))
    kept = [t for t, m in zip(targets, kept_flags) if m]
    result_bytes = sum(r.nbytes + r.size * r._plan_state_bytes for r in reductions.values())
    result_bytes += sum(t.nbytes for t in kept if not ends_pass(t))
    written_bytes = sum(t.nbytes for t in written.values())
    return Plan(tuple(passes), in_flight, result_bytes, options.memory_limit, options.workers,
                written_bytes)
