"""One pass's reads, found once: where its tiles may cut, and what a tiling reads.

The planner tries several tilings of a pass (:mod:`lazyarray.planning.tiling`);
:class:`PassReads` holds what they share: each source read's
:class:`~lazyarray.array.ReadModel` and the runs of positions it reads from
one chunk. :meth:`PassReads.cuts` says where tiles may end so that no chunk
is read twice (:func:`tiling_cuts`); :meth:`PassReads.count`, the bytes of
stored chunk data a tiling's tiles fetch (:func:`count_reads`): what a plan
says it reads is what the readers read.

Examples
--------
>>> import zarr, lazyarray as la
>>> from lazyarray.planning import source_reads
>>> z = zarr.create_array({}, shape=(12, 2), chunks=(3, 2), dtype="f4")
>>> reads = PassReads(source_reads([la.asarray(z)[::-1]], 2), 2)
>>> reads.cuts((12, 2)).allowed[0].tolist()
[3, 6, 9]
>>> # Tiles of 4 read 6 rows each (two chunks), tiles of 6 read each chunk once:
>>> reads.count([(0, 4, 8, 12), (0, 2)]).total, reads.count([(0, 6, 12), (0, 2)]).total
(144, 96)
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..indexing import key_token, sorted_unique
from ..planprotocol import ReadModel
from ..storage.hdf5.chunked import PART_RATIO
from .cuts import Cuts
from .readcost import (
    _as_positions,
    _chunk_sum,
    _independent,
    _key_bytes,
    _native_item,
    _rows_factorise,
)
from .sources import SourceRead, read_model
from .tilereads import (
    PER_TILE_LIMIT,
    ReadCost,
    ReadCount,
    _box,
    _factorised_total,
    _read_axes,
    _tile_reads,
)

__all__ = ["MAX_CUT_AXIS", "PassReads", "count_reads", "tiling_cuts"]

#: Axes longer than this are not constrained (nothing is listed along them),
#: as the sources list no chunk edges past
#: :data:`lazyarray.adapters.base.MAX_EDGES` chunks: cutting anywhere then
#: splits at most one tiny chunk per tile.
MAX_CUT_AXIS = 1 << 20


def _unsafe_cuts(positions: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """For cuts before each position of ``positions`` (source positions read one
    after the other): whether it splits a chunk (some chunk is read both
    before and after it), and whether the chunk changes there."""
    ids = positions // chunk
    changes = np.empty(ids.size, bool)
    changes[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=changes[1:])
    if ids.size < 2 or np.all(np.diff(ids) >= 0) or np.all(np.diff(ids) <= 0):
        return ~changes, changes  # monotonic: chunks are runs
    # Chunks that come back later: no cut between their first and last use.
    _, first = np.unique(ids, return_index=True)
    _, from_end = np.unique(ids[::-1], return_index=True)
    last = ids.size - 1 - from_end
    depth = np.zeros(ids.size + 1, np.intp)
    np.add.at(depth, first + 1, 1)
    np.add.at(depth, last + 1, -1)
    return np.cumsum(depth)[: ids.size] > 0, changes


def _relaxation(model: ReadModel, key: Sequence[Any]) -> str | None:
    """Which of the direct reader's partial paths a plain read can take in every tile
    that holds one chunk along the other axes: ``"rows"``, ``"slab"`` or ``None``."""
    if model.kind != "plain" or model.chunks is None:
        return None
    chunks = model.chunks

    def step_one(item: Any, chunk: int) -> bool:
        if isinstance(item, (int, np.integer)):
            return chunk == 1
        return isinstance(item, range) and abs(item.step) == 1

    first = key[0]
    if not (isinstance(first, (int, np.integer)) or step_one(first, chunks[0])):
        return None
    if len(chunks) >= 2 and chunks[0] == 1:
        second = key[1]
        if (isinstance(second, (int, np.integer)) or step_one(second, chunks[1])) and all(
            step_one(i, c) for i, c in zip(key[2:], chunks[2:])
        ):
            return "slab"
    if all(step_one(i, c) for i, c in zip(key[1:], chunks[1:])):
        return "rows"
    return None


def tiling_cuts(reads: Sequence[SourceRead], domain: Sequence[int], direct_io: bool = True,
                relax: bool = False) -> Cuts:
    """Where tiles may cut so that no read of ``reads`` fetches a chunk twice.

    A cut along an axis splits a chunk of a read when that chunk is read on
    both sides of it (through the read's window, steps and index lists). The
    allowed cuts are those that split no chunk of any read: each read's
    chunk edges, and anywhere outside the read (other members of a mosaic).

    With ``relax``, plain chunks the direct reader reads in parts do not
    bound cuts along the axis it reads parts of: its first axis (whole
    chunks along the others) or, for chunks one row thick, its second
    (within one chunk along it, whole chunks after it). Tiles must then
    hold exactly one chunk along the axes it reads whole: cuts at their
    chunk edges are required and tiles are capped at a chunk.

    Examples
    --------
    Chunks of 3 and of 4 along one axis of 12 can be cut at 12 only, unless
    the chunks of 3 are plain and read by rows:

    >>> import zarr, lazyarray as la
    >>> from lazyarray.planning import source_reads
    >>> a = la.asarray(zarr.create_array({}, shape=(12, 2), chunks=(3, 2), dtype="f4"))
    >>> b = la.asarray(zarr.create_array({}, shape=(12, 2), chunks=(4, 2), dtype="f4"))
    >>> cuts = tiling_cuts(source_reads([a + b], 2), (12, 2))
    >>> cuts.allowed[0].tolist(), cuts.allowed[1].tolist(), cuts.extents((12, 2))
    ([], [], (12, 2))
    >>> cuts = tiling_cuts(source_reads([a * 2], 2), (12, 2))
    >>> cuts.allowed[0].tolist(), cuts.floor
    ([3, 6, 9], (3, 2))
    """
    return PassReads(reads, len(domain), direct_io).cuts(domain, relax)


# -- one pass's reads, for both -------------------------------------------------


@dataclass
class _AxisCuts:
    """One source axis of a read, for :meth:`PassReads.cuts`."""

    axis: int  # the source axis
    domain: int  # the domain axis it follows
    offset: int
    unsafe: np.ndarray  # per local position: a cut just before it splits a chunk
    changes: np.ndarray  # local positions where the chunk changes
    run: int  # the most positions read from one chunk (in one run)


class PassReads:
    """The reads of one pass, with what planning needs of each, found once.

    The planner tries several tilings of a pass (see
    :func:`~lazyarray.planning.tiling._tiling`): each read's model and chunk runs are
    the same for all of them.

    Parameters
    ----------
    reads : sequence of SourceRead
    ndim : int
        Axes of the pass's domain.
    direct_io : bool
        The evaluation's option (see :func:`read_model`).
    """

    def __init__(self, reads: Sequence[SourceRead], ndim: int, direct_io: bool = True):
        self.reads = list(reads)
        self.ndim = ndim
        self.direct_io = direct_io
        known: dict[tuple[type, int], ReadModel] = {}
        self.models = []
        for read in self.reads:
            # One model per source (asking h5py for filters costs a call each).
            mark = (type(read.adapter), id(read.source))
            if mark not in known:
                known[mark] = read_model(read.adapter, direct_io)
            self.models.append(known[mark])
        self.groups: dict[int, list[int]] = {}
        for number, read in enumerate(self.reads):
            self.groups.setdefault(id(read.source), []).append(number)
        self._cut_info: dict[int, list[_AxisCuts]] = {}
        self._runs: dict[Hashable, tuple[np.ndarray, np.ndarray, int]] = {}
        self._totals: dict[Hashable, int] = {}
        self._bytes: dict[Hashable, int] = {}
        self._once: dict[int, int] = {}

    def _key_bytes(self, number: int, key: tuple[Any, ...]) -> int:
        """:func:`_key_bytes` of read ``number``, remembered by source and key."""
        mark = (id(self.reads[number].source), key_token(key))
        found = self._bytes.get(mark)
        if found is None:
            found = self._bytes[mark] = _key_bytes(self.models[number], key)
        return found

    def once(self, number: int) -> int:
        """Bytes one read of the whole selection of read ``number`` costs."""
        if number not in self._once:
            self._once[number] = self._key_bytes(number, self.reads[number].key)
        return self._once[number]

    def count(self, bounds: Sequence[Sequence[int]], *, axis_by_axis: bool = True) -> ReadCount:
        """Bytes the tiles of ``bounds`` read (see :func:`count_reads`)."""
        if any(len(b) < 2 for b in bounds):
            return ReadCount(0, 0, 0)
        total = 0
        costs = []
        for group in self.groups.values():
            planned = {n: _read_axes(self.reads[n], bounds) for n in group}
            # Each read alone: axis by axis where the source decomposes keys
            # axis by axis, else tile by tile.
            own: dict[int, int] = {}
            for n in group:
                axes, model, read = planned[n], self.models[n], self.reads[n]
                if axes is None:
                    own[n] = 0
                elif axis_by_axis and _independent(read.key, model.support) and (
                    model.kind != "rows" or _rows_factorise(model)
                ) and not (model.kind == "plain" and _may_read_parts(model, axes)
                           and _reads_of(axes) <= PLAIN_TILE_READS):
                    # Axis by axis: whole chunks, and the direct reader's row
                    # and slab paths. Plain chunks read in parts (part_runs)
                    # are counted tile by tile, up to PLAIN_TILE_READS reads;
                    # past that, this counts their chunks whole: more than is read.
                    own[n] = self._factorised(n, axes)
                else:
                    own[n] = sum(self._key_bytes(n, key) for _, key in _tile_reads(read, *axes))
            total += sum(own.values())
            if len(group) > 1:
                total += self._shared(group, planned)
            for n in group:
                costs.append(self._cost(n, planned[n], own[n]))
        return ReadCount(total, sum(c.once for c in costs), sum(c.selected for c in costs),
                         tuple(costs))

    def _shared(self, group: list[int], planned: dict[int, Any]) -> int:
        """What reads of one source at several places save in the tiles they
        share: reads that fall on the same key in the same tile are made once
        (the tile cache). Negative or 0; 0 past :data:`PER_TILE_LIMIT` tiles
        (each place then counts on its own: never less than is read)."""
        boxes = {n: _box(*planned[n]) for n in group if planned[n] is not None}
        if sum(math.prod(h - lo + 1 for lo, h in b.values()) for b in boxes.values()) > (
            PER_TILE_LIMIT
        ):
            return 0
        reached: collections.Counter[Hashable] = collections.Counter()
        for box in boxes.values():
            axes = sorted(box)
            reached.update(
                tuple(zip(axes, where))
                for where in itertools.product(*(range(box[d][0], box[d][1] + 1) for d in axes))
            )
        shared = {tile for tile, reads in reached.items() if reads > 1}
        saved = 0
        seen: set[Hashable] = set()
        for n in boxes:
            for tile, key in _tile_reads(self.reads[n], *planned[n]):
                if tile in shared:
                    mark = (tile, key_token(key))
                    if mark in seen:
                        saved -= self._key_bytes(n, key)
                    seen.add(mark)
        return saved

    def _factorised(self, number: int, axes: Any) -> int:
        """:func:`_factorised_total`, remembered for reads alike (a mosaic's
        members of one shape, through one window, read the same items)."""
        model = self.models[number]
        repeats = math.prod(len(segs) for _, segs in axes[1])
        items = tuple(tuple(a.items) for a in axes[0])
        mark: Hashable = None
        if not any(isinstance(i, np.ndarray) for group in items for i in group):
            mark = (model, items, repeats)
            found = self._totals.get(mark)
            if found is not None:
                return found
        total = _factorised_total(model, axes[0], repeats)
        if mark is not None:
            self._totals[mark] = total
        return total

    def _cost(self, number: int, axes: Any, spent: int) -> ReadCost:
        read, model = self.reads[number], self.models[number]
        once = self.once(number)
        cut: tuple[int, ...] = ()
        repeated: tuple[tuple[int, int], ...] = ()
        if axes is not None and model.chunks is not None and spent > once:
            cut = tuple(
                a.domain for a, n, c, item in zip(axes[0], model.shape, model.chunks,
                                                  read.key)
                if a.domain is not None and len(a.items) > 1
                and sum(_chunk_sum(i, n, c) for i in a.items) > _chunk_sum(item, n, c)
            )
        if axes is not None:
            repeated = tuple((d, len(s)) for d, s in axes[1] if len(s) > 1)
        return ReadCost(read, spent, once, int(read.adapter.nbytes), cut, repeated)

    def _axis_cuts(self, number: int, domain: Sequence[int]) -> list[_AxisCuts]:
        found = self._cut_info.get(number)
        if found is not None:
            return found
        read, model = self.reads[number], self.models[number]
        found = []
        if model.kind in ("chunks", "plain") and model.chunks is not None:
            j = 0
            for a, (item, chunk) in enumerate(zip(read.key, model.chunks)):
                if isinstance(item, (int, np.integer)):
                    continue
                d, offset = read.axes[j], read.offsets[j]
                j += 1
                if d is None or len(item) > MAX_CUT_AXIS or domain[d] > MAX_CUT_AXIS:
                    continue
                mark = (item, chunk) if isinstance(item, range) else None
                known = self._runs.get(mark) if mark is not None else None
                if known is None:
                    unsafe, changes = _unsafe_cuts(_as_positions(item), chunk)
                    starts = np.flatnonzero(changes)
                    runs = np.diff(np.append(starts, len(item)))
                    known = (unsafe, starts[1:], int(runs.max()) if runs.size else 1)
                    if mark is not None:  # mosaics' members often share windows
                        self._runs[mark] = known
                found.append(_AxisCuts(a, d, offset, *known))
        self._cut_info[number] = found
        return found

    def cuts(self, domain: Sequence[int], relax: bool = False,
             only: Sequence[int] | None = None) -> Cuts:
        """Where tiles may cut (see :func:`tiling_cuts`), for reads ``only`` (numbers)."""
        ndim = len(domain)
        forbidden: list[np.ndarray | None] = [None] * ndim
        required: list[list[np.ndarray]] = [[] for _ in range(ndim)]
        caps = [int(n) for n in domain]
        floor: tuple[int, ...] | None = None
        for number in range(len(self.reads)) if only is None else only:
            axes = self._axis_cuts(number, domain)
            if not axes:
                continue
            model = self.models[number]
            mode = _relaxation(model, self.reads[number].key) if relax else None
            own = [1] * ndim
            for info in axes:
                d, a = info.domain, info.axis
                own[d] = info.run
                if mode is not None and a == 0:
                    own[d] = 1  # the smallest tile holds a part of a chunk
                    continue  # read by rows (or chunks one row thick): cut anywhere
                if mode is not None:
                    # One chunk a tile along the axes read whole: required cuts, capped.
                    # (A source may reach past the domain's ends: a scan's or a
                    # moving window's input; only cuts inside the domain count.)
                    moved = info.offset + info.changes
                    required[d].append(moved[(moved > 0) & (moved < domain[d])])
                    caps[d] = min(caps[d], info.run)
                    if mode == "slab" and a == 1:
                        own[d] = 1
                        continue  # anywhere within that chunk
                mask = forbidden[d]
                if mask is None:
                    mask = forbidden[d] = np.zeros(int(domain[d]) + 1, bool)
                # Positions offset + 1 ... offset + length - 1, clipped to the domain.
                low = max(info.offset + 1, 0)
                high = min(info.offset + len(info.unsafe), len(mask))
                if high > low:
                    mask[low:high] |= info.unsafe[low - info.offset:high - info.offset]
            if floor is None or math.prod(own) > math.prod(floor):
                floor = tuple(own)
        allowed = tuple(
            None if f is None or not f[1:-1].any() else np.flatnonzero(~f[1:-1]) + 1
            for f in forbidden
        )
        needed = tuple(sorted_unique(np.concatenate(r)) if r else None for r in required)
        return Cuts(allowed, needed, tuple(caps), floor)


def count_reads(reads: Sequence[SourceRead], bounds: Sequence[Sequence[int]],
                direct_io: bool = True, *, axis_by_axis: bool = True) -> ReadCount:
    """Bytes of stored chunk data the tiles of ``bounds`` read from ``reads``.

    Parameters
    ----------
    reads : sequence of SourceRead
        A pass's reads (:func:`~lazyarray.planning.source_reads`).
    bounds : sequence of sequence of int
        Per domain axis, where tiles begin, then the axis length.
    direct_io : bool
        The evaluation's option (see :func:`~lazyarray.planning.read_model`).
    axis_by_axis : bool
        Count each read axis by axis where its source decomposes keys that
        way (the planner's fast count); ``False`` counts the read of every
        tile on its own, the slow reference the fast count equals.

    Returns
    -------
    ReadCount

    Examples
    --------
    Chunks of four rows, tiles of three: chunks 0 and 1 are each read by two
    tiles (compressed chunks are fetched whole whatever part is wanted):

    >>> import zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(8, 2), chunks=(4, 2), dtype="f4")
    >>> from lazyarray.planning import source_reads
    >>> reads = source_reads([la.asarray(z)], 2)
    >>> count = count_reads(reads, [(0, 3, 6, 8), (0, 2)])
    >>> count.total, count.once, count.costs[0].cut
    (128, 64, (0,))
    >>> count_reads(reads, [(0, 4, 8), (0, 2)]).total
    64
    """
    return PassReads(reads, len(bounds), direct_io).count(bounds, axis_by_axis=axis_by_axis)


#: Reads of plain chunks counted tile by tile at most (see PassReads.count).
PLAIN_TILE_READS = 20_000


def _reads_of(axes: Any) -> int:
    """How many tile reads a read's planned axes make (see :func:`_tile_reads`)."""
    items, repeats = axes
    return math.prod(len(a.items) for a in items) * math.prod(len(s) for _, s in repeats)


def _may_read_parts(model: ReadModel, axes: Any) -> bool:
    """Whether some tile's read of plain chunks may take only parts of them
    (:func:`~lazyarray.storage.hdf5.chunked.part_runs`): the smallest share of
    its touched chunks that a tile selects, the product of each axis's
    smallest, is within ``1 / PART_RATIO``. Otherwise every tile reads whole
    chunks or the row and slab paths, which the count axis by axis gets exactly."""
    assert model.chunks is not None
    smallest = 1.0
    for a, c in zip(axes[0], model.chunks):
        shares = []
        for item in a.items:
            if not isinstance(item, (int, np.integer)):
                # As the source reads it (decompose_key): a range of negative
                # step forwards, an index array that is a progression ([0],
                # [3, 4, 5]) as a range, whose chunks may be read in parts.
                item = _native_item(item, model.support)
            if isinstance(item, (int, np.integer)):
                shares.append(1 / c)
            elif isinstance(item, range) and (item.step == 1 or len(item) == 1):
                first, last = item[0], item[-1]
                touched = last // c - first // c + 1 if item.step == 1 else 1
                shares.append(len(item) / (touched * c))
        if not shares:
            return False  # index arrays along this axis: no tile reads parts
        smallest *= min(shares)
    return smallest * PART_RATIO <= 1
