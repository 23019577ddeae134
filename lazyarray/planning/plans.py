"""The plan objects: passes, what they read and hold, and the plan in words.

An evaluation is planned as *stages* of *passes* (:func:`~lazyarray.planning.make_plan`).
A pass traverses one domain shape tile by tile; every result that traverses
that shape in the same stage shares its tiles, so each source tile is read
once however many results use it. Stages order the passes where results
depend on reductions (``x - mean(x, 0)`` needs the mean first).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.zeros((6, 4)))
>>> [(p.stage, p.domain, p.tile_count) for p in la.plan([x - la.mean(x, 0)]).passes]
[(0, (6, 4), 1), (1, (6, 4), 1)]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..array import format_bytes
from .cuts import axis_cuts
from .memory import _tile_bytes
from .sources import read_model
from .tilereads import ReadCount

__all__ = ["Pass", "Plan"]


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
        :func:`~lazyarray.planning.count_reads` says (each chunk a tile's
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
        reads too). Both count chunks as :mod:`lazyarray.planning.readcost` says:
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
        reduced = set(self.reductions[0].reduced_axes)
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
        Results written to sinks (files, targets of ``save``) are not counted:
        they are held only as tiles in flight, in :attr:`tile_memory`.
    memory_limit : int
        The budget for tiles in flight, in bytes.
    workers : int
        Worker threads.
    written_bytes : int
        Bytes of the results written to sinks tile by tile, and so not held
        whole (0 when every result is kept in memory, as :func:`lazyarray.plan`
        plans).
    """

    passes: tuple[Pass, ...]
    in_flight: int
    result_bytes: int
    memory_limit: int
    workers: int
    written_bytes: int = 0

    @property
    def tile_memory(self) -> int:
        """Projected memory of the tiles in flight, in bytes.

        Of the pass that needs most: its tiles' bytes times the tiles in
        flight, or times its tile count where it has fewer tiles than that.
        """
        return max((p.tile_bytes * min(self.in_flight, p.tile_count) for p in self.passes),
                   default=0)

    @property
    def peak_bytes(self) -> int:
        """Projected peak memory: results kept in memory plus tiles in flight, in bytes."""
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
        Reads 39.1 KiB in all. Projected peak 236.7 KiB: results 42.2 KiB + tiles 194.5 KiB (limit 256.0 MiB).
        Pass 1 (stage 1): traverses (100, 10, 10) in 3 tiles of (40, 10, 10), 64.8 KiB each, reduced axes innermost; computes mean over axis 0, std over axis 0; writes 1 array of that shape; reads 39.1 KiB.

        A plan whose results go to files (``written_bytes``, as the planner
        of :func:`lazyarray.to_hdf5` and :func:`lazyarray.save` makes it)
        says so, and counts them only in its tiles in flight:

        >>> import dataclasses
        >>> p = la.plan([la.mean(a, 0)], workers=2, chunk_bytes=2**14)
        >>> print(dataclasses.replace(p, written_bytes=a.nbytes).explain().splitlines()[1])
        Reads 39.1 KiB in all. Projected peak 50.4 KiB: results 1.2 KiB + tiles 49.2 KiB (limit 256.0 MiB). Writes 39.1 KiB to files or targets, a tile at a time: not held in memory.
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
        if self.written_bytes:
            memory += (f" Writes {format_bytes(self.written_bytes)} to files or targets, a tile "
                       "at a time: not held in memory.")
        lines = [head, memory]
        for number, p in enumerate(self.passes, start=1):
            what = []
            if p.reductions:
                what.append("computes " + ", ".join(
                    f"{r._plan_label} over axis {', '.join(map(str, r.reduced_axes))}"
                    if len(r.reduced_axes) == 1 else
                    f"{r._plan_label} over axes {r.reduced_axes}"
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


def _sources_label(costs: Sequence[Any]) -> str:
    """The first source of ``costs``, how many more, and at how many places."""
    label = costs[0].read.adapter._plan_label
    sources = len({id(c.read.source) for c in costs})
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
