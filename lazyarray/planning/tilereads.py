"""What the tiles of one tiling read of each source.

Under a tiling (per domain axis, where tiles begin), each source read
(:class:`~lazyarray.planning.SourceRead`) is read, along each of its axes,
through the items of its key that each tile's segment reaches
(:func:`_read_axes`), and again by every tile along the domain axes it does
not follow. :class:`~lazyarray.planning.PassReads` sums what those reads
cost (:mod:`lazyarray.planning.readcost`) into a :class:`ReadCount`.

Examples
--------
>>> import zarr, lazyarray as la
>>> from lazyarray.planning import source_reads
>>> z = la.asarray(zarr.create_array({}, shape=(8, 2), chunks=(4, 2), dtype="f4"))
>>> [read] = source_reads([z[::-1] * 2], 2)
>>> axes, repeats = _read_axes(read, [(0, 3, 6, 8), (0, 2)])
>>> axes[0].items, repeats
([range(7, 4, -1), range(4, 1, -1), range(1, -1, -1)], [])
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..planprotocol import ReadModel
from .readcost import (
    _chunk_sum,
    _first_chunk,
    _is_hyperslab,
    _is_one_chunk,
    _last_chunk,
    _length,
    _native_item,
)
from .sources import SourceRead

__all__ = ["ReadCost", "ReadCount"]


@dataclass(frozen=True)
class ReadCost:
    """What one :class:`SourceRead` costs a pass, in bytes of stored chunk data.

    Attributes
    ----------
    read : SourceRead
    total : int
        Bytes its reads fetch over all tiles.
    once : int
        Bytes one read of its whole selection fetches: each stored chunk it
        touches once.
    selected : int
        Bytes of the elements it selects.
    cut : tuple of int
        Domain axes along which tiles cut its chunks, so that some are fetched
        by more than one tile.
    repeated : tuple of (int, int)
        ``(domain axis, tiles)``: it is broadcast along that axis, and read
        again by each of that many tiles along it.
    """

    read: SourceRead
    total: int
    once: int
    selected: int
    cut: tuple[int, ...] = ()
    repeated: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ReadCount:
    """What a pass's tiles read, in bytes of stored chunk data fetched.

    Attributes
    ----------
    total : int
        Bytes all tiles read (a read shared within a tile counted once).
    once : int
        Bytes of each stored chunk the pass touches, once per place it is
        used at: what an evaluation that cut no chunk would read.
    selected : int
        Bytes of the elements selected from the sources.
    costs : tuple of ReadCost
        Per source read.
    """

    total: int
    once: int
    selected: int
    costs: tuple[ReadCost, ...] = ()


#: Reads of one source at several places are counted tile by tile (to count
#: reads that fall on the same key in one tile once) up to this many
#: (tile, read) pairs; past it each place counts on its own, which may
#: count a shared read twice, never less than is read.
PER_TILE_LIMIT = 1 << 16


def _segments(bounds: Sequence[int], span: tuple[int, int] | None) -> range:
    """Indices of the segments of ``bounds`` that overlap ``span`` (all of them for None)."""
    count = len(bounds) - 1
    if span is None:
        return range(count)
    start, stop = span
    if stop <= start:
        return range(0)
    first = bisect.bisect_right(bounds, start) - 1
    last = bisect.bisect_left(bounds, stop)
    return range(max(first, 0), min(last, count))


@dataclass
class _Axis:
    """One source axis of a read under a tiling: its item in each tile."""

    domain: int | None  # the domain axis it follows (None: none)
    segments: list[int]  # segment indices along ``domain`` (``[0]`` when None)
    items: list[Any]  # the source positions read, per segment


#: A read under a tiling: per source axis, its items; and the domain axes it
#: repeats along, with their segments.
_Planned = tuple[list["_Axis"], list[tuple[int, list[int]]]]


def _read_axes(read: SourceRead, bounds: Sequence[Sequence[int]]) -> _Planned | None:
    """Per source axis, the items a tiling reads; and the domain axes the read
    repeats along, with their segments. ``None`` when no tile reads it."""
    adapter = read.adapter
    spans = read.spans(len(bounds))
    axes: list[_Axis] = []
    followed = {d for d in read.axes if d is not None}
    j = 0
    for item in read.key:
        if isinstance(item, (int, np.integer)):
            axes.append(_Axis(None, [0], [int(item)]))
            continue
        d, offset, length = read.axes[j], read.offsets[j], adapter.shape[j]
        j += 1
        if d is None:
            axes.append(_Axis(None, [0], [item]))
            continue
        b = bounds[d]
        picked = list(_segments(b, spans[d]))
        items = []
        for s in picked:
            low, high = max(b[s] - offset, 0), min(b[s + 1] - offset, length)
            items.append(item[low:high])
        if not picked:
            return None
        axes.append(_Axis(d, picked, items))
    repeats = []
    for d, b in enumerate(bounds):
        if d not in followed:
            picked = list(_segments(b, spans[d]))
            if not picked:
                return None
            repeats.append((d, picked))
    return axes, repeats


def _factorised_total(model: ReadModel, axes: list[_Axis], repeats: int) -> int:
    """Bytes of every tile's read, summed axis by axis: a tile's read is the
    product of its items, so the sum over tiles is the product of sums (the
    direct reader's row and slab paths, which hold for tiles whose items all
    qualify, are sums over products of qualifying items)."""
    natives = [[_native_item(i, model.support) for i in a.items] for a in axes]
    lengths = [[_length(i) for i in n] for n in natives]
    selected = math.prod(sum(x) for x in lengths)
    if model.kind == "rows":
        # Whole rows of the first axis for hyperslabs (short rows: always).
        hyper = [[_is_hyperslab(i) for i in items] for items in natives]
        rows = sum(x for x, h in zip(lengths[0], hyper[0]) if h)
        rows *= math.prod(sum(h) for h in hyper[1:]) * math.prod(model.shape[1:])
        slabs = math.prod(sum(x for x, h in zip(xs, hs) if h) for xs, hs in zip(lengths, hyper))
        return repeats * (selected - slabs + rows) * model.itemsize
    if model.kind == "elements" or model.chunks is None:
        return repeats * selected * model.itemsize
    chunks, shape = model.chunks, model.shape
    whole = [[_chunk_sum(i, n, c) for i in items] for items, n, c in zip(natives, shape, chunks)]
    total = math.prod(sum(w) for w in whole)
    if model.kind == "plain":
        hyper = [[_is_hyperslab(i) for i in items] for items in natives]
        exact = [[h and _is_one_chunk(i, c) for i, h in zip(items, hs)]
                 for items, hs, c in zip(natives, hyper, chunks)]

        def summed(values: list[int], keep: list[bool]) -> int:
            return sum(v for v, k in zip(values, keep) if k)

        # Row path: hyperslabs that take one whole chunk along every later axis.
        later_len = math.prod(summed(x, e) for x, e in zip(lengths[1:], exact[1:]))
        later_whole = math.prod(summed(w, e) for w, e in zip(whole[1:], exact[1:]))
        total += (summed(lengths[0], hyper[0]) * later_len
                  - summed(whole[0], hyper[0]) * later_whole)
        if len(chunks) >= 2 and chunks[0] == 1:
            # Slab path: within one chunk along the second axis (not a whole
            # one: the row path took those), whole chunks after it.
            within = [h and not e and _first_chunk(i, chunks[1]) == _last_chunk(i, chunks[1])
                      for i, h, e in zip(natives[1], hyper[1], exact[1])]
            rest_len = math.prod(summed(x, e) for x, e in zip(lengths[2:], exact[2:]))
            rest_whole = math.prod(summed(w, e) for w, e in zip(whole[2:], exact[2:]))
            total += summed(lengths[0], hyper[0]) * summed(lengths[1], within) * rest_len
            total -= summed(whole[0], hyper[0]) * summed(whole[1], within) * rest_whole
    return repeats * total * model.itemsize


#: A tile, as its segment along each domain axis: ``((axis, segment), ...)``.
_Tile = tuple[tuple[int, int], ...]


def _tile_reads(read: SourceRead, axes: list[_Axis], repeats: list[tuple[int, list[int]]]
                ) -> Iterator[tuple[_Tile, tuple[Any, ...]]]:
    """Each tile that reads ``read``: its segment along every domain axis, and the key."""
    choices = [list(zip(a.segments, a.items)) for a in axes]
    repeat_axes = [d for d, _ in repeats]
    for picked in itertools.product(*choices):
        key = tuple(item for _, item in picked)
        segment: dict[int, int] = {
            a.domain: s for a, (s, _) in zip(axes, picked) if a.domain is not None
        }
        for extra in itertools.product(*(segs for _, segs in repeats)):
            where = dict(segment)
            where.update(zip(repeat_axes, extra))
            yield tuple(sorted(where.items())), key


def _box(axes: list[_Axis], repeats: list[tuple[int, list[int]]]) -> dict[int, tuple[int, int]]:
    """The first and last segment along each domain axis of the tiles that read a read."""
    box = {a.domain: (a.segments[0], a.segments[-1]) for a in axes if a.domain is not None}
    box.update((d, (segments[0], segments[-1])) for d, segments in repeats)
    return box
