"""The planner: how an evaluation is cut into tiles that fit the budget.

Everything here is pure arithmetic on shapes and on the sources' metadata
(storage chunks, filters); nothing reads data.

Each pass's tiles are chosen among a few candidate tilings
(:func:`_tiling`): tiles that split no storage chunk of any source where
the budget allows, else those that read the fewest bytes, counted as
:mod:`lazyarray.alignment` counts them, the bytes the readers fetch. The
plan's ``read_bytes`` and :meth:`Plan.explain` say those bytes, and why
they exceed one read of each stored chunk where they do.

Examples
--------
>>> tile_shape((100, 50, 40), itemsize=8, budget=8 * 4000)
(2, 50, 40)
>>> tile_shape((100, 50, 40), itemsize=8, budget=8 * 4000, chunks=(1, 25, 40))
(2, 50, 40)
>>> list(iter_tiles((3, 4), (2, 4)))
[(slice(0, 2, None), slice(0, 4, None)), (slice(2, 3, None), slice(0, 4, None))]
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .adapters.base import ArrayAdapter
from .aggregation import Aggregation
from .alignment import (
    Cuts,
    Edges,
    PassReads,
    ReadCount,
    axis_cuts,
    chunk_edges,
    member_breaks,
    read_model,
    source_reads,
)
from .array import format_bytes
from .errors import MemoryBudgetError
from .mosaic import ArrayStack, LinearMosaic
from .views import AxisView

__all__ = ["Pass", "Plan", "block_grid", "iter_tiles", "make_plan", "tile_shape"]


def _c_order_tile(shape: Sequence[int], budget: int) -> list[int]:
    """The largest C-ordered block of at most ``budget`` elements: whole trailing
    axes, then as much of the next axis as fits, then length 1."""
    tile = [1] * len(shape)
    room = budget
    for axis in range(len(shape) - 1, -1, -1):
        length = shape[axis]
        if length <= room:
            tile[axis] = length
            room //= max(length, 1)
        else:
            tile[axis] = max(room, 1)
            break
    return tile


def tile_shape(
    shape: Sequence[int],
    itemsize: int,
    budget: int,
    chunks: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The shape of the tiles that cover ``shape`` within ``budget`` bytes.

    Tiles are C-ordered blocks (contiguous in a C-ordered result). When the
    source's storage ``chunks`` are known and one fits the budget, tiles are
    made of whole chunks, grown along the last axes first.

    Parameters
    ----------
    shape : sequence of int
        Shape of the array to cover.
    itemsize : int
        Bytes per element, the largest of any array evaluated for the tile.
    budget : int
        Bytes one tile may take.
    chunks : sequence of int, optional
        Storage chunk shape to align to.

    Returns
    -------
    tuple of int
    """
    elements = max(1, budget // max(itemsize, 1))
    if chunks is None or len(chunks) != len(shape):
        return tuple(_c_order_tile(shape, elements))
    tile = [min(c, n) for c, n in zip(chunks, shape)]
    if math.prod(tile) > elements:
        return tuple(_c_order_tile(shape, elements))
    for axis in range(len(shape) - 1, -1, -1):
        others = math.prod(tile[:axis] + tile[axis + 1 :])
        most = elements // max(others, 1)
        if most >= shape[axis]:
            tile[axis] = shape[axis]
            continue
        tile[axis] = max(tile[axis], most // chunks[axis] * chunks[axis])
        break
    return tuple(tile)


def iter_tiles(shape: Sequence[int], tile: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    """The tiles of ``tile`` shape that cover ``shape``, in C order.

    An array with a zero-length axis has no tiles; a 0-d array has one, ``()``.
    """
    if any(n == 0 for n in shape):
        return
    starts = [range(0, n, max(t, 1)) for n, t in zip(shape, tile)]
    for corner in itertools.product(*starts):
        yield tuple(slice(s, min(s + t, n)) for s, t, n in zip(corner, tile, shape))


# -- passes ------------------------------------------------------------------
#
# An evaluation is planned as *stages* of *passes*. A pass traverses one
# domain shape tile by tile; every result that traverses that shape in the
# same stage shares its tiles, so each source tile is read once however many
# results use it. Stages order the passes where results depend on
# aggregations (``x - mean(x, 0)`` needs the mean first).


@dataclass(frozen=True)
class Pass:
    """One traversal of a domain, tile by tile.

    Attributes
    ----------
    stage : int
        Passes of stage ``k`` run after every pass of earlier stages.
    domain : tuple of int
        The shape traversed.
    tile : tuple of int
        The shape of its tiles (the last along each axis may be shorter).
    order : tuple of int
        Axes from outermost to innermost in the traversal; reduced axes go
        innermost so each output region completes, is written and dropped early.
    reductions : tuple of Aggregation
        Aggregations whose input is this domain.
    stores : tuple of Array
        Arrays of this shape written tile by tile to their sinks.
    bytes_per_element : int
        Memory one domain element of a tile needs while it is worked on, in bytes.
    read_bytes : int
        Bytes of source data the pass reads: of stored chunks, counted as
        :func:`~lazyarray.alignment.count_reads` says (each chunk a tile's
        read touches, decoded, whole unless the reader fetches only part of
        a plain one; elements read for sources without chunks).
    bounds : tuple of tuple of int
        Per axis, where tiles begin, then the axis length: tiles end on
        storage chunk boundaries of the sources, so they are not all of
        ``tile`` shape, which is the largest. Uniform cuts by default.
    group : int
        Tiles per task: a worker reads that many consecutive tiles of one
        output region and combines their partial states itself, so the main
        thread merges one state per task. More than 1 only in passes of
        reductions alone, all over the same axes.
    stored_bytes : int
        Bytes of the stored chunks the pass touches, each once per place it
        is used at (``read_bytes`` when no tile cuts a chunk another tile
        reads too). Both count chunks as :mod:`lazyarray.alignment` says:
        decoded, whole unless the reader fetches only part of a plain one.
    notes : tuple of str
        Why the pass reads more than its sources' selections, in words.
    """

    stage: int
    domain: tuple[int, ...]
    tile: tuple[int, ...]
    order: tuple[int, ...]
    reductions: tuple[Any, ...]
    stores: tuple[Any, ...]
    bytes_per_element: int
    read_bytes: int
    bounds: tuple[tuple[int, ...], ...] = ()
    group: int = 1
    stored_bytes: int = 0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.bounds:
            uniform = tuple(axis_cuts(n, None, t) for n, t in zip(self.domain, self.tile))
            object.__setattr__(self, "bounds", uniform)

    @property
    def tile_bytes(self) -> int:
        """Working memory of one tile, in bytes: its data and scratch, and the
        partial states of its reductions (one per element of the tile's output
        region), which live until the main thread has merged them."""
        return _tile_bytes(self.tile, self.bytes_per_element, self.reductions)

    @property
    def tile_count(self) -> int:
        """Number of tiles."""
        return self.tiles_along(range(len(self.domain)))

    def tiles_along(self, axes: Sequence[int]) -> int:
        """Number of tiles along ``axes`` together (a reduction's, say)."""
        if 0 in self.domain:
            return 0
        return math.prod(len(self.bounds[a]) - 1 for a in axes)

    def tasks_along(self, axes: Sequence[int]) -> int:
        """Number of tasks along ``axes``: the tiles along them, ``group`` a task."""
        return -(-self.tiles_along(axes) // self.group)

    def tasks(self) -> Iterator[list[tuple[slice, ...]]]:
        """The tiles in traversal order, in tasks of up to ``group`` tiles of one output region."""
        if self.group == 1:
            yield from ([region] for region in self.tiles())
            return
        reduced = set(self.reductions[0].axes)
        task: list[tuple[slice, ...]] = []
        for region in self.tiles():
            if task and (len(task) == self.group or any(
                region[a] != task[0][a] for a in range(len(region)) if a not in reduced
            )):
                yield task
                task = []
            task.append(region)
        if task:
            yield task

    def tiles(self) -> Iterator[tuple[slice, ...]]:
        """The tiles in traversal order (see :attr:`order`)."""
        if 0 in self.domain:
            return
        spans = [
            [slice(b[i], b[i + 1]) for i in range(len(b) - 1)]
            for b in (self.bounds[a] for a in self.order)
        ]
        for picked in itertools.product(*spans):
            at = dict(zip(self.order, picked))
            yield tuple(at[a] for a in range(len(self.domain)))


@dataclass(frozen=True)
class Plan:
    """Every pass of an evaluation, with its projected memory.

    Attributes
    ----------
    passes : tuple of Pass
        In the order they run.
    in_flight : int
        Tiles worked on at once at most (read ahead, computing, combining).
    result_bytes : int
        Memory of the results kept in memory, with reduction states, in bytes.
    memory_limit : int
        The budget for tiles in flight, in bytes.
    workers : int
        Worker threads.
    """

    passes: tuple[Pass, ...]
    in_flight: int
    result_bytes: int
    memory_limit: int
    workers: int

    @property
    def tile_memory(self) -> int:
        """Projected memory of the tiles in flight, in bytes."""
        return max((p.tile_bytes for p in self.passes), default=0) * self.in_flight

    @property
    def peak_bytes(self) -> int:
        """Projected peak memory: results plus tiles in flight, in bytes."""
        return self.result_bytes + self.tile_memory

    @property
    def read_bytes(self) -> int:
        """Bytes of source data read by all passes (see :attr:`Pass.read_bytes`)."""
        return sum(p.read_bytes for p in self.passes)

    def explain(self) -> str:
        """The plan in plain words.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> a = la.asarray(np.zeros((100, 10, 10), np.float32))
        >>> print(la.plan([la.mean(a, 0), la.std(a, 0), a * 2], workers=2,
        ...               chunk_bytes=2**14).explain())  # doctest: +ELLIPSIS
        1 pass in 1 stage; 2 workers, up to 4 tiles in flight.
        Reads 39.1 KiB in all. Projected peak 301.6 KiB: results 42.2 KiB + tiles 259.4 KiB (limit 256.0 MiB).
        Pass 1 (stage 1): traverses (100, 10, 10) in 3 tiles of (40, 10, 10), 64.8 KiB each, reduced axes innermost; computes mean over axis 0, std over axis 0; writes 1 array of that shape; reads 39.1 KiB.
        """
        stages = len({p.stage for p in self.passes})
        head = (
            f"{_plural(len(self.passes), 'pass', 'passes')} in {_plural(stages, 'stage')}; "
            f"{_plural(self.workers, 'worker')}, up to {self.in_flight} tiles in flight."
        )
        memory = (
            f"Reads {format_bytes(self.read_bytes)} in all. Projected peak "
            f"{format_bytes(self.peak_bytes)}: results {format_bytes(self.result_bytes)} + "
            f"tiles {format_bytes(self.tile_memory)} (limit {format_bytes(self.memory_limit)})."
        )
        lines = [head, memory]
        for number, p in enumerate(self.passes, start=1):
            what = []
            if p.reductions:
                what.append("computes " + ", ".join(
                    f"{r.reduction.name} over axis {', '.join(map(str, r.axes))}"
                    if len(r.axes) == 1 else
                    f"{r.reduction.name} over axes {r.axes}"
                    for r in p.reductions
                ))
            if p.stores:
                what.append(f"writes {_plural(len(p.stores), 'array')} of that shape")
            inner = "; reduced axes innermost" if p.reductions and len(p.domain) > 1 else ""
            lines.append(
                f"Pass {number} (stage {p.stage + 1}): traverses {p.domain} in {p.tile_count} "
                f"{'tile' if p.tile_count == 1 else 'tiles'} of {p.tile}, {format_bytes(p.tile_bytes)} each{inner.replace(';', ',')}"
                + (f", {p.group} tiles a task; " if p.group > 1 else "; ")
                + "; ".join(what) + f"; reads {format_bytes(p.read_bytes)}."
            )
            lines.extend("  " + note for note in p.notes)
        return "\n".join(lines)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _nearest_aggregations(node: Any) -> list[Any]:
    """Aggregations reachable from ``node``'s inputs without crossing another."""
    found: list[Any] = []
    seen: set[int] = set()
    todo = list(node.inputs)
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Aggregation):
            found.append(current)
        else:
            todo.extend(current.inputs)
    return found


def _domain_edges(inputs: Sequence[Any], domain: tuple[int, ...], find: Any = chunk_edges) -> Edges:
    """Where the storage chunks of every input's sources begin along each axis of ``domain``
    (or, with ``find=member_breaks``, where mosaic members end)."""
    edges: list[Any] = [None] * len(domain)
    for node in inputs:
        for axis, found in enumerate(find(node)):
            if found is not None:
                edges[axis] = found if edges[axis] is None else np.union1d(edges[axis], found)
    return tuple(edges)


def walk_inputs(node: Any) -> Iterator[Any]:
    """Nodes of ``node``'s graph up to (and including) aggregations, not past them.

    ``node`` is a pass's input; when it is itself an aggregation (the input
    of an aggregation of an aggregation), the pass reads its result, computed
    by an earlier stage, so the walk stops there too.
    """
    seen: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if not isinstance(current, Aggregation):
            todo.extend(reversed(current.inputs))


def _pass_bytes(inputs: Sequence[Any], reductions: Sequence[Any], joined: bool = True,
                stores: Sequence[Any] | None = None) -> int:
    """Working bytes per domain element of a tile.

    Every node of the inputs' graphs holds its part of a tile while the tile
    is worked on, except views, which allocate nothing; the members of a
    mosaic or stack together make up the tile once, so the widest member
    counts, not their sum. A mosaic joins its members' parts into a new
    array, unless no tile holds parts of two members (not ``joined``): it is
    then the member's part itself. Reductions add their scratch. (What a
    tiling reads is counted by :func:`~lazyarray.alignment.count_reads`.)

    The executor (:meth:`lazyarray.execute._PassRun._work`) holds a tile's
    values as follows, and so they are counted:

    1. Source reads, shared through the tile cache by every input that reads
       the same region, live for the whole tile: each source once.
    2. The ``stores`` (inputs written to sinks or kept in memory; by default
       the inputs no reduction uses) live for the whole tile too.
    3. An input used by reductions only is evaluated, folded into their
       states and dropped before the next one: one of them lives at a time,
       so the largest counts (its working bytes beyond the sources, and its
       reductions' scratch), not their sum. The reductions of a stored
       input add their scratch likewise, while it is folded.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((4, 5)))
    >>> sums = [la.sum(x + i, 0) for i in range(100)]
    >>> _pass_bytes([s.array for s in sums], sums)  # the source, then one x + i at a time
    16
    >>> _pass_bytes([x + 1, x + 2], [])  # both stored: each lives for the whole tile
    24
    """
    if stores is None:
        used = {id(r.array) for r in reductions}
        stores = [node for node in inputs if id(node) not in used]
    stored = {id(node) for node in stores}
    by_input: dict[int, list[Any]] = {}
    for reduction in reductions:
        by_input.setdefault(id(reduction.array), []).append(reduction)

    def extra(node: Any) -> int:
        # The scratch of the reductions of ``node``. The reductions of one
        # input run one after the other on each block: their validity masks
        # (a reduction of a masked input turns its mask into one; ``nan``
        # forms find NaNs) and cast copies stay in the block's cache, so they
        # add up, but an accumulator's own scratch lives only while it runs
        # (the deviations of a variance, in a buffer each thread reuses),
        # so the largest counts.
        mine = by_input.get(id(node), ())
        running = [r.accumulator.scratch_bytes for r in mine]
        kept = sum(r.scratch_bytes - own + (1 if r.array.masked else 0)
                   for r, own in zip(mine, running))
        return kept + max(running, default=0)

    def shared(node: Any) -> int:
        # The part of a source that the tile cache shares: the read of an
        # adapter, or the earlier stage's result an aggregation stands for.
        if isinstance(node, Aggregation):
            return _own_bytes(node)
        return int(node.dtype.itemsize) if isinstance(node, ArrayAdapter) else 0

    def private(node: Any) -> int:
        # What each use of a source makes of the shared read: its mask, say.
        return _own_bytes(node) - shared(node)

    sources: set[int] = set()
    per_element = sum(_graph_bytes(node, sources, shared, joined, intermediate=False)
                      for node in inputs)
    seen: set[int] = set()
    per_element += sum(_graph_bytes(node, seen, private, joined) for node in stores)
    transient = [extra(node) for node in stores]
    done: set[int] = set()
    for node in inputs:
        if id(node) in stored or id(node) in done:
            continue
        done.add(id(node))
        transient.append(_graph_bytes(node, set(), private, joined) + extra(node))
    per_element += max(transient, default=0)
    return max(per_element, 1)


def _own_bytes(node: Any) -> int:
    """Bytes per element a node makes of its own: its values; its mask, if
    masked; for a source masked by value, the comparisons that find the mask."""
    masks = 1 if node.masked else 0
    if isinstance(node, ArrayAdapter) and node.masking is not None:
        masks += 2
    return int(node.dtype.itemsize) + masks


def _graph_bytes(root: Any, seen: set[int], leaf: Any, joined: bool,
                 intermediate: bool = True) -> int:
    """Working bytes per element of evaluating ``root``, nodes in ``seen`` aside.

    Sources (nodes without inputs, and aggregations, which earlier stages
    compute) count ``leaf(node)``; views count their input; a mosaic or
    stack its widest member, plus (when ``joined``, for a mosaic) the copy
    it joins them into; any other node its own values plus its inputs.
    Without ``intermediate``, only sources count. Nodes found are added to
    ``seen``, each counted once. Walked with an explicit stack, children
    before their parent, so graphs of any depth are counted.
    """
    def children(node: Any) -> Sequence[Any]:
        if isinstance(node, Aggregation) or not node.inputs:
            return ()
        return node.inputs[:1] if isinstance(node, AxisView) else node.inputs

    def total(node: Any, parts: list[int]) -> int:
        if isinstance(node, Aggregation) or not node.inputs:
            return leaf(node)
        if isinstance(node, AxisView):
            return parts[0]
        own = _own_bytes(node) if intermediate else 0
        if isinstance(node, LinearMosaic) and not joined:
            return max(parts)
        if isinstance(node, (LinearMosaic, ArrayStack)):
            return own + max(parts)
        return own + sum(parts)

    if id(root) in seen:
        return 0
    seen.add(id(root))
    # Each frame: a node, its inputs not yet counted, and its inputs' bytes so far.
    stack: list[tuple[Any, Iterator[Any], list[int]]] = [(root, iter(children(root)), [])]
    while True:
        node, pending, parts = stack[-1]
        child = next(pending, None)
        if child is not None:
            if id(child) in seen:
                parts.append(0)
            else:
                seen.add(id(child))
                stack.append((child, iter(children(child)), []))
            continue
        stack.pop()
        found = total(node, parts)
        if not stack:
            return found
        stack[-1][2].append(found)


def _tile_bytes(tile: Sequence[int], per_element: int, reductions: Sequence[Any]) -> int:
    """Working bytes of a tile: data and scratch per element, plus partial states."""
    states = sum(
        math.prod(n for a, n in enumerate(tile) if a not in r.axes) * r.accumulator_state_bytes
        for r in reductions
    )
    return math.prod(tile) * per_element + states


def _largest_chunk(inputs: Sequence[Any]) -> int:
    """Bytes of the largest storage chunk any source of ``inputs`` decodes."""
    return max(
        (
            math.prod(n.storage_chunks) * n.dtype.itemsize
            for i in inputs
            for n in walk_inputs(i)
            if isinstance(n, ArrayAdapter) and n.storage_chunks is not None
        ),
        default=0,
    )


# Tasks of a pass of reductions are at most this many tiles of one output
# region, and a pass is cut into at least MIN_TASKS tasks when it has the
# tiles, so that the workers share the last tasks evenly. Neither depends on
# ``workers``: tasks set the order of merges, as tiles do. Since the fused
# kernels add tiles into running states in place, longer tasks cost nothing in
# the workers and make fewer states to join (measured: workload (a),
# 2.23-2.44 s with tasks of 8 tiles; 2.16-2.22 s with 16).
TASK_TILES = 16
MIN_TASKS = 8

# Tiles are sized for this many in flight, whatever the number of workers:
# the tiling sets the order in which floating-point partial results merge,
# so it must not depend on ``workers`` for results to be bit-identical for
# any number of them. Four is two workers, each with a tile read ahead.
TILE_SLOTS = 4


# A tile of reductions is deepened until its data is at least this many
# times the bytes of its partial states. Each tile of a task is added into
# the task's running states: with tiles a few planes deep over wide planes
# (workload (a): 7 of (1000, 1000) float32), the kernels move more bytes of
# state than of data. Measured, one core, mean, std, min and max of 28 MB
# tiles: 2.8 GB/s at (7, 1000, 1000), 3.7 at (14, 500, 1000), 5.2 at
# (28, 250, 1000) and at (56, 125, 1000).
DEPTH = 8

# ... but its output region stays at least this many bytes of the input: the
# tile is read as one run of the region per reduced index, and short runs
# are slow to read.
REGION_BYTES = 1 << 18


def _deepened(tile: Sequence[int], domain: Sequence[int], granule: Sequence[int],
              axes: Sequence[int], elements: int, per_element: int, itemsize: int,
              reductions: Sequence[Any]) -> tuple[int, ...]:
    """``tile`` reshaped for ``reductions`` (all over ``axes``): a narrower output
    region, deeper along the reduced axes, about as many elements.

    The outermost kept axis is halved (to multiples of ``granule``, the
    extent below which tiles must not cut it; the region to no less than
    :data:`REGION_BYTES` of ``itemsize`` elements) and the reduced axes grow,
    innermost first, to ``elements``, until the data is :data:`DEPTH` times
    the partial states or nothing can move. Reads stay long: the inner axes
    keep their extent.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((1000, 1000, 1000), np.float32))
    >>> _deepened((7, 1000, 1000), x.shape, (1, 1, 1), (0,), 7_000_000, 4, 4, [la.mean(x, 0)])
    (28, 250, 1000)
    >>> _deepened((7, 1000, 1000), x.shape, (1, 1000, 1000), (0,), 7_000_000, 4, 4, [la.mean(x, 0)])
    (7, 1000, 1000)
    """
    tile = list(tile)
    kept = [a for a in range(len(tile)) if a not in axes]
    while _tile_bytes(tile, 0, reductions) * DEPTH > math.prod(tile) * per_element:
        region = math.prod(tile[a] for a in kept) * itemsize
        narrow = [a for a in kept if tile[a] >= 2 * granule[a] and region // 2 >= REGION_BYTES]
        deep = [a for a in axes if tile[a] < domain[a]]
        if not narrow or not deep:
            break
        axis = narrow[0]
        tile[axis] = tile[axis] // 2 // granule[axis] * granule[axis]
        for axis in reversed(deep):
            others = math.prod(tile) // tile[axis]
            most = elements // others // granule[axis] * granule[axis]
            tile[axis] = min(domain[axis], max(tile[axis], most))
            if tile[axis] < domain[axis]:
                break
    return tuple(tile)


def _pass_tile(
    domain: tuple[int, ...],
    chunks: tuple[int, ...] | None,
    per_element: int,
    reductions: Sequence[Any],
    largest: int,
    decode: int,
    options: Any,
    deepen: bool = False,
) -> tuple[int, ...]:
    """The tile shape of a pass.

    ``chunks`` is the longest stretch between the cuts that split no chunk
    along each axis (1 along free axes; see :class:`~lazyarray.alignment.Cuts`).

    1. At most ``chunk_bytes`` of its largest array, and within a
       ``TILE_SLOTS``-th of ``memory_limit`` with scratch and partial states.
    2. Whole storage chunks where the sources have them, even when one chunk
       is more than that share, as long as a chunk is within ``chunk_bytes``
       and fits ``memory_limit`` (fewer tiles are then in flight).
    3. A pass whose smallest tile (a chunk, or one element) cannot fit
       ``memory_limit`` raises :class:`MemoryBudgetError`.
    4. With ``deepen`` (a pass of reductions alone, all over the same
       axes), deep tiles (see :func:`_deepened`), narrowed along the kept
       axes in steps of ``chunks``: plain chunks that the direct reader
       reads in parts have a step of 1 where those parts are read alone.
    5. Where partial states are still most of a tile, within half of
       ``memory_limit`` instead: deeper tiles, fewer states to merge.
    """
    cap = max(1, options.chunk_bytes // largest)
    chunk = tuple(min(c, n) for c, n in zip(chunks, domain)) if chunks else None
    if chunk is not None and math.prod(chunk) > cap:
        chunk = None  # chunk_bytes asks for tiles smaller than a chunk
    floor = chunk or (1,) * len(domain)
    smallest = _tile_bytes(floor, per_element, reductions) + decode
    if smallest > options.memory_limit:
        states = _tile_bytes(floor, 0, reductions)
        raise MemoryBudgetError(
            f"plan: a pass over shape {domain} needs {format_bytes(smallest)} for its "
            f"smallest tile ({per_element} working bytes per element"
            f"{', tiles of whole storage chunks ' + str(chunks) if chunks else ''}"
            f"{', ' + format_bytes(states) + ' of partial states' if states else ''}); "
            f"memory_limit is {format_bytes(options.memory_limit)}"
        )

    axes = reductions[0].axes if deepen else ()
    granule = list(floor)

    def shaped(elements: int) -> tuple[int, ...]:
        tile = tile_shape(domain, 1, elements, chunks)
        if deepen:
            tile = _deepened(tile, domain, granule, axes, elements, per_element, largest,
                             reductions)
        return tile

    def fitted(share: int) -> tuple[int, ...]:
        elements = max(1, min(cap, share // per_element))
        tile = shaped(elements)
        # Partial states grow with the tile's output region: shrink until it fits.
        while _tile_bytes(tile, per_element, reductions) > share and math.prod(tile) > math.prod(floor):
            need = _tile_bytes(tile, per_element, reductions)
            elements = max(1, min(math.prod(tile) - 1, math.prod(tile) * share // need))
            tile = shaped(elements)
        if chunk is not None and math.prod(tile) < math.prod(chunk):
            tile = chunk  # tile_shape cut the chunks; one whole chunk fits the limit
        return tile

    tile = fitted(options.memory_limit // TILE_SLOTS)
    if _tile_bytes(tile, 0, reductions) * 2 > _tile_bytes(tile, per_element, reductions):
        # Partial states are most of a tile (a reduction over the outer axis
        # of wide planes, say). The main thread merges them once per tile, in
        # time proportional to their size: deeper tiles, two in flight, make
        # fewer merges of the same size.
        tile = max(tile, fitted(options.memory_limit // 2 - decode), key=math.prod)
    return tile


@dataclass(frozen=True)
class _Tiling:
    """A pass's tiles under one set of allowed cuts, and what they read."""

    tile: tuple[int, ...]
    bounds: tuple[tuple[int, ...], ...]
    count: ReadCount


def _candidates(reads: PassReads, domain: tuple[int, ...]) -> Iterator[tuple[Cuts, bool]]:
    """Sets of allowed cuts to try, each with whether its tiles are sized in its chunks.

    1. Every source's chunks whole (no chunk split).
    2. The same, but plain chunks that the direct reader reads in parts may
       be cut where the parts are read alone (deep tiles need this).
    3. Compressed (and Zarr) chunks whole, plain ones cut anywhere.
    4. The chunks of the sources of one chunk shape whole, for the three
       shapes with the most bytes: when the sources' chunk grids have no
       common cut that fits the budget, keep the chunks of one whole.
    5. No constraint: tiles the size of the largest source chunk, cut evenly.

    Made one at a time: the planner stops at the first that reads nothing twice.
    """
    seen: set[Any] = set()

    def fresh(cuts: Cuts) -> bool:
        mark = cuts.key()
        if mark in seen:
            return False
        seen.add(mark)
        return True

    strict = reads.cuts(domain)
    yield strict, True
    relaxed = reads.cuts(domain, relax=True)
    if fresh(strict) and fresh(relaxed):
        yield relaxed, True
    chunked = [n for n, m in enumerate(reads.models) if m.kind in ("chunks", "plain")]
    encoded = [n for n in chunked if reads.models[n].kind == "chunks"]
    if encoded and len(encoded) < len(chunked):
        cuts = reads.cuts(domain, only=encoded)
        if fresh(cuts):
            yield cuts, True
    shapes: dict[tuple[int, ...] | None, list[int]] = {}
    for n in chunked:
        shapes.setdefault(reads.models[n].chunks, []).append(n)
    if len(shapes) > 1:
        ranked = sorted(shapes.values(),
                        key=lambda g: -sum(reads.reads[n].adapter.nbytes for n in g))
        for group in ranked[:3]:
            cuts = reads.cuts(domain, relax=True, only=group)
            if fresh(cuts):
                yield cuts, True
    free = (None,) * len(domain)
    yield Cuts(free, free, tuple(domain), strict.floor), False


def _tiling(domain: tuple[int, ...], reads: PassReads, breaks: Edges, per_element: int,
            reductions: Sequence[Any], largest: int, decode: int, options: Any,
            deepen: bool) -> _Tiling:
    """The tiles of a pass that read the fewest bytes (see :func:`_candidates`).

    Each candidate set of cuts gives tiles (:func:`_pass_tile`, within the
    caps of the cuts) cut on allowed positions (:func:`axis_cuts`), and
    :func:`~lazyarray.alignment.count_reads` counts what they read; the first
    candidate that reads the fewest bytes wins, or, for deep tiles, of those
    that read as few, the one whose tiles have the narrowest output region
    and are no shallower (deep tiles exist for speed). A candidate whose smallest
    tile cannot fit ``memory_limit`` is passed over; a tile must hold the
    largest chunk of any one source, else :class:`MemoryBudgetError`.
    """
    candidates = _candidates(reads, domain)
    # The smallest tile holds the largest chunk of any one source, as it is
    # stored, even where parts of it could be read alone: raises if it cannot fit.
    first = next(candidates)
    _pass_tile(domain, first[0].floor, per_element, reductions, largest, decode, options)
    best: _Tiling | None = None
    error: MemoryBudgetError | None = None
    reduced = reductions[0].axes if deepen else ()

    def deeper(tile: Sequence[int], than: Sequence[int]) -> bool:
        # Deep tiles narrow the output region and deepen along the reduced
        # axes, but keep reading runs of REGION_BYTES at least, as
        # _deepened does: tiles one 40 KB chunk wide along the kept axes
        # read each chunk with a call of its own, where wider ones read runs
        # of chunks adjacent in the file in one (the chunk-size probe of
        # make bench: 0.85-1.47 s against 0.74-1.08 s).
        def region(t: Sequence[int]) -> int:
            return math.prod(n for a, n in enumerate(t) if a not in reduced)

        def depth(t: Sequence[int]) -> int:
            return math.prod(t[a] for a in reduced)

        return (region(tile) < region(than) and depth(tile) >= depth(than)
                and region(tile) * largest >= REGION_BYTES)

    for number, (cuts, sized) in enumerate(itertools.chain([first], candidates)):
        shape = tuple(min(n, c) for n, c in zip(domain, cuts.caps))
        chunks = cuts.extents(domain) if sized else cuts.floor
        try:
            tile = _pass_tile(shape, chunks, per_element, reductions, largest, decode, options,
                              deepen=deepen)
        except MemoryBudgetError as failed:
            error = failed
            continue
        bounds = tuple(
            axis_cuts(n, allowed, t, _breaks_at(b, allowed), required)
            for n, allowed, t, b, required in zip(domain, cuts.allowed, tile, breaks,
                                                  cuts.required)
        )
        count = reads.count(bounds)
        if best is None or count.total < best.count.total or (
            deepen and count.total == best.count.total and deeper(tile, best.tile)
        ):
            best = _Tiling(tile, bounds, count)
        if best.count.total <= best.count.once and (
            number or not deepen or tuple(best.tile) == tuple(domain)
        ):
            # Nothing read twice: no later candidate reads less (and none is
            # deeper than one tile of the whole domain).
            break
    if best is None:
        assert error is not None
        raise error
    return best


def _breaks_at(breaks: np.ndarray | None, allowed: np.ndarray | None) -> np.ndarray | None:
    """Members' ends where cuts are allowed (a cut elsewhere would split a chunk)."""
    if breaks is None or allowed is None:
        return breaks
    return breaks[np.isin(breaks, allowed)]


def _source_label(adapter: Any) -> str:
    """A short name of a source for :meth:`Plan.explain`."""
    filename = getattr(adapter, "filename", None)
    if isinstance(filename, str):
        return f"{os.path.basename(filename)}:{getattr(adapter, 'name', '')}"
    store_path = getattr(adapter.concrete, "store_path", None)
    if store_path is not None:
        path = str(getattr(store_path, "path", "") or "")
        root = getattr(getattr(store_path, "store", None), "root", None)
        where = os.path.basename(str(root)) if root is not None else type(
            store_path.store).__name__
        return f"zarr {where}{'/' + path if path else ''}"
    return f"a {type(adapter.concrete).__name__} {tuple(adapter.concrete.shape)}"


def _sources_label(costs: Sequence[Any]) -> str:
    """The first source of ``costs``, how many more, and at how many places."""
    label = _source_label(costs[0].read.adapter)
    sources = len({id(c.read.adapter.concrete) for c in costs})
    if sources > 1:
        label += f" and {sources - 1} more like it"
    if len(costs) > sources:
        label += f" (read at {len(costs)} places)"
    return label


def _axes_words(axes: Sequence[int]) -> str:
    return (f"axis {axes[0]}" if len(axes) == 1
            else "axes " + ", ".join(map(str, axes[:-1])) + f" and {axes[-1]}")


def _notes(count: ReadCount, options: Any, itemsize: int) -> tuple[str, ...]:
    """Why a pass reads more than its selections: chunks read twice, chunk data
    outside the selections, in words, sources alike grouped.

    Examples
    --------
    >>> import numpy as np, zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(8, 2), chunks=(4, 2), dtype="f4")
    >>> z[...] = 1
    >>> x = la.asarray(z)
    >>> print("\\n".join(la.plan([x[1:7] * 2], chunk_bytes=16).passes[0].notes))
    Reads 64 B more than each stored chunk once (64 B): tiles cut the chunks (4, 2) of zarr MemoryStore, along axis 0 (the chunks hold more than chunk_bytes, 16 B).
    Of the chunks read once, 16 B lie outside the selections: the selection of zarr MemoryStore takes part of its chunks (4, 2), fetched and decoded whole.
    """
    notes = []
    again = count.total - count.once
    if again > 0:
        groups: dict[Any, list[Any]] = {}
        for cost in count.costs:
            if cost.total > cost.once:
                model = read_model(cost.read.adapter, options.direct_io)
                groups.setdefault((model.chunks, cost.cut, cost.repeated), []).append(cost)
        reasons = []
        for (chunks, cut, repeated), costs in groups.items():
            label = _sources_label(costs)
            if cut:
                chunk_bytes = math.prod(chunks) * itemsize if chunks else 0
                why = (f"the chunks hold more than chunk_bytes, {format_bytes(options.chunk_bytes)}"
                       if chunk_bytes > options.chunk_bytes else
                       "no tiling that keeps every source's chunks whole fits the budget: "
                       "their chunk grids share no cuts, or an index list comes back to "
                       "chunks it left")
                reasons.append(f"tiles cut the chunks {chunks} of {label}, along "
                               f"{_axes_words(cut)} ({why})")
            for axis, tiles in repeated:
                reasons.append(f"{label} is broadcast along axis {axis} and read again by "
                               f"each of the {tiles} tiles along it")
        notes.append(f"Reads {format_bytes(again)} more than each stored chunk once "
                     f"({format_bytes(count.once)}): " + "; ".join(reasons) + ".")
    outside = sum(max(c.once - c.selected, 0) for c in count.costs)
    if outside > 0:
        partial: dict[Any, list[Any]] = {}
        for cost in count.costs:
            if cost.once > cost.selected:
                model = read_model(cost.read.adapter, options.direct_io)
                partial.setdefault((model.chunks, model.kind), []).append(cost)
        parts = []
        for (chunks, kind), costs in partial.items():
            label = _sources_label(costs)
            fetched = ("fetched and decoded whole" if kind == "chunks"
                       else "fetched whole where the reader cannot take part of them")
            parts.append(f"the selection of {label} takes part of its chunks {chunks}, {fetched}")
        notes.append(f"Of the chunks read once, {format_bytes(outside)} lie outside the "
                     "selections: " + "; ".join(parts) + ".")
    return tuple(notes)


def block_grid(array: Any, options: Any) -> tuple[tuple[int, ...], ...]:
    """The blocks ``array`` is cut into when evaluated alone: per axis, their
    lengths (:attr:`lazyarray.Array.chunks`, dask's ``chunks``).

    They are the tiles of the pass that makes ``array`` (the last: earlier
    ones make what it needs), along its axes; for an aggregation, the output
    regions of its tiles.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> from lazyarray.options import get_options
    >>> x = la.asarray(np.zeros((6, 4)))
    >>> block_grid(x * 2, get_options(chunk_bytes=64))
    ((2, 2, 2), (4,))
    >>> block_grid(la.mean(x, axis=1), get_options(chunk_bytes=64))
    ((2, 2, 2),)
    """
    step = make_plan([array], options).passes[-1]
    if isinstance(array, Aggregation):
        axes = [a for a in range(len(step.domain)) if a not in array.axes]
    else:
        axes = list(range(len(step.domain)))
    grid = []
    for a in axes:
        cuts = step.bounds[a]
        lengths = tuple(int(cuts[i + 1] - cuts[i]) for i in range(len(cuts) - 1))
        grid.append(lengths if step.domain[a] else (0,))
    return tuple(grid)


def make_plan(targets: Sequence[Any], options: Any, in_memory: Sequence[bool] | None = None) -> Plan:
    """Plan the evaluation of ``targets`` (lazy arrays) within ``options``.

    ``in_memory`` says which targets become in-memory arrays (all by default);
    the others stream into sinks and take no result memory.

    Steps:

    1. Group results into passes: those that traverse one domain shape in
       one stage (after the aggregations they need) share a pass.
    2. For each pass, find its sources and where they lie in its domain
       (:func:`~lazyarray.alignment.source_reads`), then its tiles: the
       candidate tiling that reads the fewest bytes (:func:`_tiling`).
    3. Order each pass's traversal (reduced axes innermost), group the tiles
       of reductions alone into tasks, and size the tiles in flight.

    Raises
    ------
    MemoryBudgetError
        When even the smallest tiles of some pass cannot fit ``memory_limit``.
    """
    stage_of: dict[int, int] = {}

    def stage(node: Any) -> int:
        # 0 for nodes that need no aggregation first, else one after the latest
        # they need: found for the aggregations needed first (an explicit
        # stack, so chains of any length of aggregations of aggregations plan).
        needs: dict[int, list[Any]] = {}
        todo = [node]
        while todo:
            current = todo[-1]
            if id(current) in stage_of:
                todo.pop()
                continue
            if id(current) not in needs:
                needs[id(current)] = _nearest_aggregations(current)
            waiting = [d for d in needs[id(current)] if id(d) not in stage_of]
            if waiting:
                todo.extend(waiting)
                continue
            todo.pop()
            stage_of[id(current)] = max((1 + stage_of[id(d)] for d in needs[id(current)]),
                                        default=0)
        return stage_of[id(node)]

    reductions: dict[int, Any] = {}
    stores: dict[int, Any] = {}
    todo = list(targets)
    for target in targets:
        if isinstance(target, Aggregation):
            reductions[id(target)] = target
        else:
            stores[id(target)] = target
    while todo:  # every aggregation any target needs, however deep
        for dep in _nearest_aggregations(todo.pop()):
            if id(dep) not in reductions:
                reductions[id(dep)] = dep
                todo.append(dep)
    for node in reductions.values():
        stage(node)
    groups: dict[tuple[int, tuple[int, ...]], tuple[list[Any], list[Any]]] = {}
    for node in reductions.values():
        key = (stage(node), node.array.shape)
        groups.setdefault(key, ([], []))[0].append(node)
    for node in stores.values():
        key = (stage(node), node.shape)
        groups.setdefault(key, ([], []))[1].append(node)

    passes = []
    fits = []  # bytes each pass needs per tile in flight
    for (stage_number, domain), (reds, outs) in sorted(groups.items(), key=lambda g: g[0][0]):
        inputs = [r.array for r in reds] + outs
        per_element = _pass_bytes(inputs, reds, stores=outs)
        decode = _largest_chunk(inputs)
        largest = max(n.dtype.itemsize for n in inputs)
        alone = bool(reds) and not outs and all(r.axes == reds[0].axes for r in reds)
        reads = PassReads(source_reads(inputs, len(domain)), len(domain), options.direct_io)
        breaks = _domain_edges(inputs, domain, member_breaks)
        tiling = _tiling(domain, reads, breaks, per_element, reds, largest, decode, options,
                         deepen=alone)
        bounds, count = tiling.bounds, tiling.count
        mosaics = any(b is not None for b in breaks)  # else joining changes nothing
        if mosaics and all(b is None or set(b.tolist()) <= set(cuts)
                           for b, cuts in zip(breaks, bounds)):
            # No tile spans two members of a mosaic: none is joined into a copy.
            per_element = _pass_bytes(inputs, reds, joined=False, stores=outs)
        # Cutting on edges can only shorten tiles; record the largest that remains.
        tile = tuple(max((b[i + 1] - b[i] for i in range(len(b) - 1)), default=t)
                     for b, t in zip(bounds, tiling.tile))
        if reds:
            reduced = reds[0].axes
            order = tuple(a for a in range(len(domain)) if a not in reduced) + tuple(reduced)
        else:
            order = tuple(range(len(domain)))
        group = 1
        if alone:
            along = math.prod(len(bounds[a]) - 1 for a in reds[0].axes)
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
    kept = [t for t, m in zip(targets, in_memory or [True] * len(targets)) if m]
    result_bytes = sum(r.nbytes + r.size * r.accumulator_state_bytes for r in reductions.values())
    result_bytes += sum(t.nbytes for t in kept if not isinstance(t, Aggregation))
    return Plan(tuple(passes), in_flight, result_bytes, options.memory_limit, options.workers)
