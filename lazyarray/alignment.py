"""Storage chunks seen from a pass's domain: where tiles may cut, and what they read.

A tile that ends inside a storage chunk makes two tiles read (and, when the
chunk is compressed, decode) that chunk. This module maps the sources'
storage chunks through the graph (windows, strides and index lists of
adapters, mosaics, stacks, axis views, elementwise operands) to the axes of
a pass's domain, in three parts:

1. :func:`source_reads` finds every source a pass reads and where its axes
   lie in the domain (:class:`SourceRead`); :func:`read_model` says how
   reading it costs (:class:`ReadModel`).
2. :func:`tiling_cuts` says where tiles may end so that no chunk is read by
   two tiles: only at positions that split no chunk of *any* source (the
   common cuts of their chunk grids), or, for plain chunks that the direct
   HDF5 reader reads in parts, where those parts are read alone
   (:class:`Cuts`); :func:`axis_cuts` cuts one axis there.
3. :func:`count_reads` counts, for a tiling, the bytes of stored chunk data
   its tiles fetch (:class:`ReadCount`): what a plan says it reads is what
   the readers read. :class:`PassReads` holds a pass's reads for both, so
   that the planner can try several tilings and keep the one that reads
   least.

:func:`chunk_edges` lists, per axis, the interior positions ``0 < e <
length`` where some source's storage chunk begins (``None`` for a free axis:
nothing stored is split wherever it is cut). The union of these edges is
not a safe place to cut when sources' grids differ (a cut at one source's
edge splits another's chunk): tiles follow :func:`tiling_cuts` instead.

Examples
--------
Two files of 25 planes each, chunked in threes, joined along time:

>>> import numpy as np, h5py, lazyarray as la
>>> parts = []
>>> for number in range(2):
...     f = h5py.File(f"part{number}.h5", "w", driver="core", backing_store=False)
...     parts.append(la.asarray(f.create_dataset("x", (25, 4), "f4", chunks=(3, 4))))
>>> edges = chunk_edges(la.concatenate(parts))
>>> edges[0].tolist()
[3, 6, 9, 12, 15, 18, 21, 24, 25, 28, 31, 34, 37, 40, 43, 46, 49]
>>> edges[1] is None or edges[1].tolist()
[]
>>> axis_cuts(50, edges[0], 10)
(0, 9, 18, 28, 37, 46, 50)
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import itertools
import math
import weakref
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Cuts",
    "Edges",
    "PassReads",
    "ReadCost",
    "ReadCount",
    "ReadModel",
    "SourceRead",
    "axis_cuts",
    "chunk_edges",
    "chunk_extents",
    "count_reads",
    "encoded_chunk_edges",
    "member_breaks",
    "native_read_bytes",
    "read_model",
    "source_reads",
    "tiling_cuts",
]

#: Per axis, the sorted interior chunk starts, or ``None`` for a free axis.
Edges = tuple["np.ndarray | None", ...]

_NO_EDGES = np.empty(0, np.intp)


def _union(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    if first is None:
        return second
    if second is None:
        return first
    return np.union1d(first, second)


def _positions_edges(positions: np.ndarray, chunk: int) -> np.ndarray:
    """Where the storage chunk of consecutive ``positions`` changes."""
    block = positions // chunk
    return np.flatnonzero(block[1:] != block[:-1]) + 1


#: Edges kept along one axis at most: past this many chunks the axis is
#: taken as free, since cutting anywhere splits at most one tiny chunk per
#: tile, and listing them would cost memory in proportion to the axis.
MAX_EDGES = 1 << 20


def _range_edges(k: range, chunk: int) -> np.ndarray | None:
    """Edges of a window ``k`` of a source axis stored in chunks of ``chunk``."""
    low, high = min(k[0], k[-1]), max(k[0], k[-1])
    if high // chunk - low // chunk > MAX_EDGES:
        return None
    if k.step > 0:
        # The first position at or past each chunk start inside the window.
        starts = np.arange((low // chunk + 1) * chunk, high + 1, chunk, dtype=np.intp)
        return np.unique(-((k.start - starts) // k.step))
    # A falling window: the edges of the same window rising, seen from the end.
    rising = _range_edges(k[::-1], chunk)
    return None if rising is None else np.sort(len(k) - rising)


def _adapter_edges(node: object) -> Edges:
    chunks = node.storage_chunks  # type: ignore[attr-defined]
    edges: list[np.ndarray | None] = []
    for k, c in zip(node.key, chunks or [None] * len(node.key)):  # type: ignore[attr-defined]
        if isinstance(k, (int, np.integer)):
            continue  # the axis is dropped
        if c is None:
            edges.append(None)
        elif isinstance(k, range):
            edges.append(_range_edges(k, c) if len(k) else _NO_EDGES)
        else:
            edges.append(_positions_edges(np.asarray(k), c))
    return tuple(edges)


def chunk_edges(node: object) -> Edges:
    """Interior positions along each axis of ``node`` where a source chunk begins.

    Sources without storage chunks (numpy arrays, contiguous HDF5), constant
    arrays and the results of earlier aggregations constrain nothing. Nodes
    this function does not know constrain nothing either, unless their inputs
    have their shape (the elementwise kind), whose edges they share. The
    boundaries between a mosaic's members are edges too.

    Parameters
    ----------
    node : Array

    Returns
    -------
    tuple of (ndarray of intp or None)
        One entry per axis of ``node``.
    """
    return _walk(node, "chunks")


def encoded_chunk_edges(node: object) -> Edges:
    """As :func:`chunk_edges`, for the sources whose chunks are stored encoded only.

    Splitting an encoded (compressed) chunk between two tiles decodes it
    twice; splitting a plain one only reads each part once.
    """
    return _walk(node, "encoded")


def member_breaks(node: object) -> Edges:
    """Interior positions along each axis of ``node`` where a mosaic's member ends.

    A tile across such a break joins the parts of two members into a new
    array, a copy that tiles within one member do not make.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> parts = [la.asarray(np.zeros((n, 2))) for n in (3, 4, 2)]
    >>> member_breaks(la.concatenate(parts) * 2)[0].tolist()
    [3, 7]
    """
    return _walk(node, "breaks")


def _walk(node: object, kind: str) -> Edges:
    from .aggregation import Aggregation
    from .graph import inputs_first

    # Inputs first, so each node finds its inputs' edges computed: no
    # recursion, whatever the graph's depth. Nothing below an aggregation
    # matters (its result is read as it is).
    memo: dict[int, Edges] = {}
    for current in inputs_first(
        [node], inputs=lambda n: () if isinstance(n, Aggregation) else n.inputs  # type: ignore[list-item]
    ):
        memo[id(current)] = _edges(current, lambda n: memo[id(n)], kind)
    return memo[id(node)]


def _edges(node: object, edges_of: object, kind: str) -> Edges:
    from .adapters.base import ArrayAdapter
    from .aggregation import Aggregation
    from .mosaic import ArrayStack, LinearMosaic
    from .views import AxisView

    recurse = edges_of  # typed loosely: a closure over the memo
    ndim = len(node.shape)  # type: ignore[attr-defined]
    if isinstance(node, ArrayAdapter):
        if kind == "chunks" or (kind == "encoded" and node.chunks_encoded):
            return _adapter_edges(node)
        return (None,) * ndim
    if isinstance(node, Aggregation) or not node.inputs:  # type: ignore[attr-defined]
        return (None,) * ndim
    if isinstance(node, LinearMosaic):
        axis = node.axis
        merged: list[np.ndarray | None] = [None] * ndim
        start = 0
        along: list[np.ndarray] = []
        for tile in node.tiles:
            tile_edges = recurse(tile)  # type: ignore[operator]
            for a in range(ndim):
                if a != axis:
                    merged[a] = _union(merged[a], tile_edges[a])
            if start:
                along.append(np.array([start], np.intp))
            if tile_edges[axis] is not None:
                along.append(tile_edges[axis] + start)
            start += tile.shape[axis]
        # Member boundaries are edges too: a tile across one reads two sources.
        merged[axis] = np.unique(np.concatenate(along)) if along else _NO_EDGES
        return tuple(merged)
    if isinstance(node, ArrayStack):
        grid_ndim = node.stack.ndim
        items: list[np.ndarray | None] = [None] * (ndim - grid_ndim)
        for member in node.inputs:
            items = [_union(a, b) for a, b in zip(items, recurse(member))]  # type: ignore[operator]
        return (None,) * grid_ndim + tuple(items)
    if isinstance(node, AxisView):
        inner = recurse(node.inputs[0])  # type: ignore[operator]
        return tuple(None if a is None else inner[a] for a in node.axes)
    shape = tuple(node.shape)  # type: ignore[attr-defined]
    result: list[np.ndarray | None] = [None] * ndim
    for operand in node.inputs:  # type: ignore[attr-defined]
        if tuple(operand.shape) == shape:
            result = [_union(a, b) for a, b in zip(result, recurse(operand))]  # type: ignore[operator]
    return tuple(result)


def chunk_extents(edges: Edges, shape: Sequence[int]) -> tuple[int, ...] | None:
    """The longest stretch between edges along each axis (1 for free axes).

    A tile at least this long along every axis can always end on an edge, so
    tiles can be made of whole chunks. ``None`` when every axis is free.
    """
    if all(e is None for e in edges):
        return None
    extents = []
    for e, n in zip(edges, shape):
        if e is None or n == 0:
            extents.append(1)
        else:
            ends = np.concatenate([[0], e, [n]])
            extents.append(int(np.diff(ends).max()))
    return tuple(extents)


def axis_cuts(length: int, edges: np.ndarray | None, target: int,
              breaks: np.ndarray | None = None,
              required: np.ndarray | None = None) -> tuple[int, ...]:
    """Tile boundaries along one axis: tiles at most ``target`` long ending on edges.

    Each tile ends at the farthest edge within ``target`` of its start (the
    greedy cut, which makes the fewest tiles); where no edge is that close
    (chunks longer than the target) or the axis is free, it ends ``target``
    on. ``breaks`` (mosaic members' ends, among the edges) are cut at too
    when no stretch between them is shorter than half a tile: each stretch
    is then cut into tiles of even length, so no tile joins two members and
    none is a sliver. Tiles end at every position of ``required``, and
    between them as above.

    Returns
    -------
    tuple of int
        ``0``, the cut positions, then ``length``; ``(0,)`` for an empty axis.

    Examples
    --------
    >>> axis_cuts(10, None, 4)
    (0, 4, 8, 10)
    >>> axis_cuts(10, np.array([3, 6, 9]), 4)
    (0, 3, 6, 10)
    >>> axis_cuts(50, np.arange(1, 50), 8, breaks=np.array([25]))
    (0, 6, 12, 19, 25, 31, 37, 44, 50)
    >>> axis_cuts(10, None, 4, required=np.array([5]))
    (0, 4, 5, 9, 10)
    """
    target = max(int(target), 1)
    if not length:
        return (0,)
    if required is not None and len(required):
        ends = np.concatenate([[0], required[(required > 0) & (required < length)], [length]])
        pieces = [0]
        for low, high in itertools.pairwise(ends.tolist()):
            inner = axis_cuts(high - low, _within(edges, low, high), target,
                              _within(breaks, low, high))
            pieces.extend(low + c for c in inner[1:])
        return tuple(int(c) for c in pieces)
    if breaks is not None and len(breaks):
        stops = np.concatenate([[0], breaks, [length]])
        if np.diff(stops).min() * 2 >= target:
            cuts: list[int] = [0]
            for start, stop in itertools.pairwise(stops):
                inside = None if edges is None else edges[(edges > start) & (edges < stop)] - start
                cuts.extend(int(start) + c for c in _even_cuts(int(stop - start), inside, target)[1:])
            return tuple(int(c) for c in cuts)
    return _greedy_cuts(length, edges, target)


def _within(positions: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    """``positions`` strictly between ``start`` and ``stop``, counted from ``start``."""
    if positions is None:
        return None
    return positions[(positions > start) & (positions < stop)] - start


def _even_cuts(length: int, edges: np.ndarray | None, target: int) -> tuple[int, ...]:
    """The fewest tiles of nearly equal length, ending on the edges nearest the even cuts;
    the greedy cuts when snapping to edges would make a tile longer than ``target``."""
    tiles = -(-length // target)
    ideal = np.round(np.arange(1, tiles) * (length / tiles)).astype(np.intp)
    if edges is not None and len(ideal):
        if not len(edges):
            return _greedy_cuts(length, edges, target)
        at = np.clip(np.searchsorted(edges, ideal), 1, len(edges)) - 1
        after = np.minimum(at + 1, len(edges) - 1)
        nearer = np.abs(edges[after] - ideal) < np.abs(edges[at] - ideal)
        ideal = np.where(nearer, edges[after], edges[at])
    cuts = (0, *(int(c) for c in ideal), length)
    lengths = np.diff(cuts)
    if lengths.min() <= 0 or lengths.max() > target:
        return _greedy_cuts(length, edges, target)
    return cuts


def _greedy_cuts(length: int, edges: np.ndarray | None, target: int) -> tuple[int, ...]:
    if edges is None or not len(edges) or target >= length:
        return tuple(range(0, length, target)) + (length,)
    stops = np.append(np.asarray(edges, np.intp), length)
    cuts = [0]
    while cuts[-1] < length:
        start = cuts[-1]
        # The farthest stop within reach; when none, a plain cut.
        reach = int(np.searchsorted(stops, start + target, side="right")) - 1
        stop = int(stops[reach]) if reach >= 0 and stops[reach] > start else start + target
        cuts.append(min(stop, length))
    return tuple(cuts)


# -- what a pass reads ---------------------------------------------------------
#
# A pass's tile reads, from each source under it, one orthogonal key: the
# adapter's own key composed with the part of the tile that reaches it
# through views, mosaics and stacks. What that read costs depends on how the
# source stores its data, and is counted in one unit, *bytes of stored chunk
# data fetched* (decoded, as in memory):
#
# * a chunk a read touches counts whole (its elements inside the array, at
#   the source's itemsize), once per read that touches it: compressed HDF5
#   chunks, and every Zarr chunk, are fetched and decoded whole;
# * except plain (unfiltered) HDF5 chunks read by lazyarray's direct reader
#   (``direct_io``), which fetches only the selected rows of each chunk when
#   the read takes exactly one whole chunk along every other axis, and only
#   the selected part of a chunk one row thick when the read takes one chunk
#   along the second axis and whole chunks after it (the reader's row and
#   slab paths); any other plain read fetches whole chunks;
# * a contiguous HDF5 dataset read directly costs whole rows of its first axis
#   when the reader reads whole rows (short rows, or a quarter of a row or
#   more selected), else the selected elements;
# * a source without storage chunks (numpy, HDF5 read through h5py) costs the
#   elements the read asks of it (after the in-memory part of the key is
#   taken away: :func:`~lazyarray.indexing.decompose_key`).
#
# Reads of one source through one key in one tile are made once (the tile
# cache), so they count once. Chunks never written (HDF5 or Zarr fill
# values) count as read. Through h5py, HDF5's own chunk cache may fetch less
# than counted, never more.


@dataclass(frozen=True, eq=False)
class SourceRead:
    """A source as a pass reads it: where its axes lie in the pass's domain.

    A tile (one slice per domain axis) reads, along adapter axis ``j``, the
    tile's positions along domain axis ``axes[j]``, less ``offsets[j]``,
    clipped to the adapter's length; all of it where ``axes[j]`` is ``None``
    (under a node whose inputs are not mapped to its axes). Nothing is read
    when that is empty, nor by tiles that miss a ``presence`` interval (the
    place of a mosaic's or a stack's member). Along the domain axes it does
    not follow, the source is read again by every tile (a broadcast).

    Attributes
    ----------
    adapter : ArrayAdapter
    axes : tuple of (int or None)
        For each axis of the adapter, the domain axis it follows.
    offsets : tuple of int
        For each axis of the adapter, the domain position of its first element.
    presence : tuple of (int, int, int)
        ``(domain axis, start, stop)``: the source is read only by tiles
        that overlap ``start:stop`` along that axis.
    """

    adapter: Any
    axes: tuple[int | None, ...]
    offsets: tuple[int, ...]
    presence: tuple[tuple[int, int, int], ...] = ()

    @property
    def identity(self) -> Hashable:
        """Equal for reads that read the same keys in every tile."""
        from .indexing import key_token

        return (id(self.adapter.concrete), key_token(self.adapter.key), self.axes,
                self.offsets, self.presence)

    def spans(self, ndim: int) -> list[tuple[int, int] | None]:
        """Per domain axis, the positions any tile must overlap to read the source."""
        spans: list[tuple[int, int] | None] = [None] * ndim
        for axis, start, stop in self.presence:
            span = spans[axis]
            spans[axis] = (start, stop) if span is None else (max(span[0], start),
                                                               min(span[1], stop))
        for followed, offset, length in zip(self.axes, self.offsets, self.adapter.shape):
            if followed is not None:
                axis = followed
                span = spans[axis]
                start, stop = offset, offset + length
                spans[axis] = (start, stop) if span is None else (max(span[0], start),
                                                                   min(span[1], stop))
        return spans


#: Where a node's axes lie in the domain: (domain axis, offset) or None.
_Place = tuple["tuple[int, int] | None", ...]


def source_reads(nodes: Sequence[Any], ndim: int) -> list[SourceRead]:
    """Every source read by a pass over ``nodes``, which share a domain of ``ndim`` axes.

    Walks down to the adapters, not past aggregations (results of earlier
    stages, in memory by then). Reads that read the same keys in every tile
    (one source used twice, ``a * 2`` beside ``mean(a, 0)``) are listed once.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> year = la.asarray(np.zeros((4, 3)))
    >>> reads = source_reads([la.concatenate([year, year]).T * 2], 2)
    >>> [(r.axes, r.offsets, r.presence) for r in reads]
    [((1, 0), (0, 0), ((1, 0, 4),)), ((1, 0), (4, 0), ((1, 4, 8),))]
    """
    from .adapters.base import ArrayAdapter
    from .aggregation import Aggregation
    from .mosaic import ArrayStack, LinearMosaic
    from .views import AxisView

    found: dict[Hashable, SourceRead] = {}
    seen: set[Hashable] = set()
    todo: list[tuple[Any, _Place, tuple[tuple[int, int, int], ...]]] = [
        (node, tuple((d, 0) for d in range(ndim)), ()) for node in reversed(nodes)
    ]
    while todo:
        node, place, presence = todo.pop()
        mark = (id(node), place, presence)
        if mark in seen or 0 in node.shape:
            continue  # an empty node reads nothing
        seen.add(mark)
        if isinstance(node, ArrayAdapter):
            read = SourceRead(
                node,
                tuple(None if p is None else p[0] for p in place),
                tuple(0 if p is None else p[1] for p in place),
                presence,
            )
            found.setdefault(read.identity, read)
        elif isinstance(node, Aggregation) or not node.inputs:
            continue
        elif isinstance(node, LinearMosaic):
            axis, start = node.axis, 0
            inner = place[axis]
            members = []
            for member in node.tiles:
                length = member.shape[axis]
                if inner is None:
                    members.append((member, place, presence))
                else:
                    moved = place[:axis] + ((inner[0], inner[1] + start),) + place[axis + 1:]
                    at = (inner[0], inner[1] + start, inner[1] + start + length)
                    members.append((member, moved, presence + (at,)))
                start += length
            todo.extend(reversed(members))
        elif isinstance(node, ArrayStack):
            grid = node.stack.shape
            members = []
            for flat, member in enumerate(node.inputs):
                where = np.unravel_index(flat, grid)
                places = tuple(
                    (p[0], p[1] + int(i), p[1] + int(i) + 1)
                    for p, i in zip(place[: len(grid)], where) if p is not None
                )
                members.append((member, place[len(grid):], presence + places))
            todo.extend(reversed(members))
        elif isinstance(node, AxisView):
            inner_place: list[tuple[int, int] | None] = [None] * node.inputs[0].ndim
            for p, a in zip(place, node.axes):
                if a is not None:
                    inner_place[a] = p
            todo.append((node.inputs[0], tuple(inner_place), presence))
        else:
            # Elementwise nodes and the like: operands of the node's shape
            # follow its axes. A node of another kind may read all of an
            # operand for any tile: counted so, never less.
            for operand in reversed(node.inputs):
                same = tuple(operand.shape) == tuple(node.shape)
                todo.append((operand, place if same else (None,) * operand.ndim, presence))
    return list(found.values())


@dataclass(frozen=True)
class ReadModel:
    """How reading a source costs, in bytes of stored chunk data fetched.

    Attributes
    ----------
    kind : str
        ``"chunks"``: every chunk touched is fetched whole; ``"plain"``:
        plain HDF5 chunks read directly, whole or only the selected rows or
        slab (see the module's notes); ``"rows"``: a contiguous HDF5 dataset
        read directly, by whole rows or selected elements; ``"elements"``:
        the elements read.
    shape : tuple of int
        The source's shape.
    chunks : tuple of int or None
        Its storage chunks.
    itemsize : int
        Bytes per element.
    support : NativeSupport
        What the source reads natively; the rest of a key is taken in memory.
    """

    kind: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...] | None
    itemsize: int
    support: Any


#: Models of HDF5 datasets the direct reader can read, by dataset: asking
#: HDF5 whether it can (:func:`~lazyarray.adapters.h5direct.unsupported_reason`)
#: and for the filters takes about 0.1 ms, and plans are made at every
#: evaluation. Such files are open read-only, so what the model says holds.
_hdf5_models: weakref.WeakKeyDictionary[Any, ReadModel] = weakref.WeakKeyDictionary()


def _direct_reason(source: Any, unsupported_reason: Any) -> str | None:
    """Why the direct reader cannot read an HDF5 adapter's source (``None``: it can).

    The source is an ``h5py.Dataset``, or a reference to one that already
    knows (adapters built from a path)."""
    import h5py

    known = getattr(source, "unsupported_reason", None)
    if isinstance(known, str) or (known is None and hasattr(source, "unsupported_reason")):
        return known
    if isinstance(source, h5py.Dataset):
        reason: str | None = unsupported_reason(source)
        return reason
    return "not an h5py dataset"


def read_model(adapter: Any, direct_io: bool = True) -> ReadModel:
    """How reads of ``adapter``'s source are counted (see :class:`ReadModel`).

    Parameters
    ----------
    adapter : ArrayAdapter
    direct_io : bool
        The evaluation's ``direct_io`` option: HDF5 datasets are then read
        by lazyarray's direct reader where it can.
    """
    from .adapters.h5direct import unsupported_reason
    from .adapters.h5py_ import HDF5ArrayAdapter

    source = adapter.concrete
    direct = direct_io and isinstance(adapter, HDF5ArrayAdapter)
    if direct:
        with contextlib.suppress(KeyError, TypeError):
            return _hdf5_models[source]
    shape = tuple(int(n) for n in source.shape)
    chunks = adapter.storage_chunks
    chunks = tuple(int(c) for c in chunks) if chunks is not None and shape else None
    kind = "elements" if chunks is None else "chunks"
    readable = direct and bool(shape) and _direct_reason(source, unsupported_reason) is None
    if readable:
        if chunks is None:
            kind = "rows"
        elif not adapter.chunks_encoded:
            kind = "plain"
    model = ReadModel(kind, shape, chunks, int(adapter.dtype.itemsize), adapter._support())
    if readable:
        with contextlib.suppress(TypeError):
            _hdf5_models[source] = model
    return model


def _as_positions(item: Any) -> np.ndarray:
    if isinstance(item, (int, np.integer)):
        return np.array([int(item)], np.intp)
    if isinstance(item, range):
        return np.arange(item.start, item.stop, item.step, dtype=np.intp)
    return np.asarray(item, np.intp)


def _chunk_sum(item: Any, n: int, c: int) -> int:
    """Elements inside the array of the chunks of length ``c`` that ``item`` touches."""
    if isinstance(item, (int, np.integer)):
        j = int(item) // c
        return min(n, (j + 1) * c) - j * c
    if isinstance(item, range):
        if not len(item):
            return 0
        low, high = min(item[0], item[-1]), max(item[0], item[-1])
        step = abs(item.step)
        last = (n - 1) // c  # the last chunk, which may be partly outside
        if step >= c:  # every position in a chunk of its own
            total = len(item) * c
            return total - ((last + 1) * c - n if high // c == last else 0)
        return min(n, (high // c + 1) * c) - (low // c) * c
    ids = np.unique(np.asarray(item, np.intp) // c)
    return int(ids.size * c - (((n - 1) // c + 1) * c - n if ids.size and ids[-1] == (n - 1) // c
                               else 0))


def _is_hyperslab(item: Any) -> bool:
    """What the direct reader's fast paths take: an int, or a range of step 1."""
    return isinstance(item, (int, np.integer)) or (isinstance(item, range) and item.step == 1)


def _is_one_chunk(item: Any, c: int) -> bool:
    """Whether ``item`` (a hyperslab) is exactly one whole chunk of length ``c``."""
    if isinstance(item, (int, np.integer)):
        return c == 1
    return item.start % c == 0 and len(item) == c


def _length(item: Any) -> int:
    return 1 if isinstance(item, (int, np.integer)) else len(item)


def native_read_bytes(model: ReadModel, native: Sequence[Any]) -> int:
    """Bytes one read of ``native`` (a key the source reads natively) costs.

    Examples
    --------
    >>> from lazyarray.indexing import NativeSupport
    >>> plain = ReadModel("plain", (10, 6), (4, 6), 8, NativeSupport.everything())
    >>> native_read_bytes(plain, (range(3, 9), range(0, 6)))  # rows 3-8 only
    288
    >>> native_read_bytes(plain, (range(3, 9), range(0, 3)))  # chunks 0-2 whole
    480
    >>> packed = ReadModel("chunks", (10, 6), (4, 6), 8, NativeSupport.everything())
    >>> native_read_bytes(packed, (range(3, 9), range(0, 6)))
    480
    """
    shape, chunks = model.shape, model.chunks
    if any(_length(item) == 0 for item in native):
        return 0
    lengths = [_length(item) for item in native]
    if model.kind == "elements" or chunks is None:
        if model.kind == "rows" and all(_is_hyperslab(i) for i in native) and native:
            row = math.prod(shape[1:])
            if row * model.itemsize <= _sieve_bytes() or row <= 4 * math.prod(lengths[1:]):
                return lengths[0] * row * model.itemsize
        return math.prod(lengths) * model.itemsize
    if model.kind == "plain" and all(_is_hyperslab(i) for i in native):
        if all(_is_one_chunk(i, c) for i, c in zip(native[1:], chunks[1:])):
            return math.prod(lengths) * model.itemsize  # selected rows of whole chunks
        if (len(chunks) >= 2 and chunks[0] == 1
                and _first_chunk(native[1], chunks[1]) == _last_chunk(native[1], chunks[1])
                and all(_is_one_chunk(i, c) for i, c in zip(native[2:], chunks[2:]))):
            return math.prod(lengths) * model.itemsize  # one slab of each chunk
    return math.prod(
        _chunk_sum(item, n, c) for item, n, c in zip(native, shape, chunks)
    ) * model.itemsize


def _first_chunk(item: Any, c: int) -> int:
    return int(item if isinstance(item, (int, np.integer)) else item.start) // c


def _last_chunk(item: Any, c: int) -> int:
    return int(item if isinstance(item, (int, np.integer)) else item[-1]) // c


def _native_item(item: Any, support: Any) -> Any:
    """What the source reads natively for one key item, as
    :func:`~lazyarray.indexing.decompose_key` decides when every index array
    of the key is within the source's limit."""
    from .indexing import _progression

    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, range):
        return item if item.step > 0 or support.negative_steps else item[::-1]
    unique = np.unique(item)
    progression = _progression(unique)
    if progression is not None:
        return progression
    return item if support.unsorted_arrays else unique


def _independent(key: Sequence[Any], support: Any) -> bool:
    """Whether ``decompose_key`` treats each item of ``key`` (and of its parts)
    on its own: no more index arrays than the source takes in one read."""
    arrays = sum(isinstance(item, np.ndarray) for item in key)
    return support.index_arrays is None or arrays <= support.index_arrays


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
    for item in adapter.key:
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


def _key_bytes(model: ReadModel, key: tuple[Any, ...]) -> int:
    from .indexing import decompose_key

    if any(_length(item) == 0 for item in key):
        return 0
    native, _ = decompose_key(key, model.support)
    return native_read_bytes(model, native)


def count_reads(reads: Sequence[SourceRead], bounds: Sequence[Sequence[int]],
                direct_io: bool = True) -> ReadCount:
    """Bytes of stored chunk data the tiles of ``bounds`` read from ``reads``.

    Parameters
    ----------
    reads : sequence of SourceRead
        A pass's reads (:func:`source_reads`).
    bounds : sequence of sequence of int
        Per domain axis, where tiles begin, then the axis length.
    direct_io : bool
        The evaluation's option (see :func:`read_model`).

    Returns
    -------
    ReadCount

    Examples
    --------
    Chunks of four rows, tiles of three: chunks 0 and 1 are each read by two
    tiles (compressed chunks are fetched whole whatever part is wanted):

    >>> import numpy as np, zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(8, 2), chunks=(4, 2), dtype="f4")
    >>> reads = source_reads([la.asarray(z)], 2)
    >>> count = count_reads(reads, [(0, 3, 6, 8), (0, 2)])
    >>> count.total, count.once, count.costs[0].cut
    (128, 64, (0,))
    >>> count_reads(reads, [(0, 4, 8), (0, 2)]).total
    64
    """
    return PassReads(reads, len(bounds), direct_io).count(bounds)


def _rows_factorise(model: ReadModel) -> bool:
    """Whether a contiguous dataset's reads are whole rows whatever the tile (short rows)."""
    return math.prod(model.shape[1:]) * model.itemsize <= _sieve_bytes()


def _sieve_bytes() -> int:
    from .adapters.h5direct import _SIEVE_BYTES

    return int(_SIEVE_BYTES)


# -- where tiles may cut ---------------------------------------------------------


@dataclass(frozen=True)
class Cuts:
    """Where the tiles of a pass may end along each axis of its domain.

    Attributes
    ----------
    allowed : tuple of (ndarray of intp or None)
        Per axis, the interior positions where a cut splits no chunk that
        must stay whole; ``None``: anywhere.
    required : tuple of (ndarray of intp or None)
        Per axis, positions where tiles must end (chunk edges of plain
        chunks read in parts, whose parts are read alone only when a tile
        holds one chunk along the other axes).
    caps : tuple of int
        Per axis, the longest a tile may be (one such chunk).
    floor : tuple of int or None
        The chunk, in domain positions, of the source read whose chunks
        are the largest (``None`` without chunked sources): the smallest
        tile that still reads some source's chunks whole.
    """

    allowed: tuple[np.ndarray | None, ...]
    required: tuple[np.ndarray | None, ...]
    caps: tuple[int, ...]
    floor: tuple[int, ...] | None = None

    def extents(self, domain: Sequence[int]) -> tuple[int, ...] | None:
        """The longest stretch between allowed cuts along each axis of ``domain``,
        at most its cap (1 for free axes; ``None`` when every axis is free):
        tiles at least this long can end on allowed cuts only."""
        if all(a is None for a in self.allowed) and all(
            c >= n for c, n in zip(self.caps, domain)
        ):
            return None
        extents = chunk_extents(tuple(_NO_EDGES if a is None else a for a in self.allowed),
                                domain) or tuple(1 for _ in domain)
        return tuple(
            1 if a is None else min(e, c) for a, e, c in zip(self.allowed, extents, self.caps)
        )

    def key(self) -> Hashable:
        """Equal for equal cuts (to skip repeated candidates)."""
        def token(a: np.ndarray | None) -> Hashable:
            return None if a is None else a.tobytes()

        return (tuple(map(token, self.allowed)), tuple(map(token, self.required)), self.caps)


#: Axes longer than this are not constrained (nothing is listed along them;
#: see :data:`MAX_EDGES`).
MAX_CUT_AXIS = MAX_EDGES


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

    >>> import numpy as np, zarr, lazyarray as la
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
    :func:`~lazyarray.plan._tiling`): each read's model and chunk runs are
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
            mark = (type(read.adapter), id(read.adapter.concrete))
            if mark not in known:
                known[mark] = read_model(read.adapter, direct_io)
            self.models.append(known[mark])
        self.groups: dict[int, list[int]] = {}
        for number, read in enumerate(self.reads):
            self.groups.setdefault(id(read.adapter.concrete), []).append(number)
        self._cut_info: dict[int, list[_AxisCuts]] = {}
        self._runs: dict[Hashable, tuple[np.ndarray, np.ndarray, int]] = {}
        self._totals: dict[Hashable, int] = {}
        self._bytes: dict[Hashable, int] = {}
        self._once: dict[int, int] = {}

    def _key_bytes(self, number: int, key: tuple[Any, ...]) -> int:
        """:func:`_key_bytes` of read ``number``, remembered by source and key."""
        from .indexing import key_token

        mark = (id(self.reads[number].adapter.concrete), key_token(key))
        found = self._bytes.get(mark)
        if found is None:
            found = self._bytes[mark] = _key_bytes(self.models[number], key)
        return found

    def once(self, number: int) -> int:
        """Bytes one read of the whole selection of read ``number`` costs."""
        if number not in self._once:
            self._once[number] = self._key_bytes(number, tuple(self.reads[number].adapter.key))
        return self._once[number]

    def count(self, bounds: Sequence[Sequence[int]]) -> ReadCount:
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
                elif _independent(read.adapter.key, model.support) and (
                    model.kind != "rows" or _rows_factorise(model)
                ):
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
        from .indexing import key_token

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
                                                  read.adapter.key)
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
            for a, (item, chunk) in enumerate(zip(read.adapter.key, model.chunks)):
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
            mode = _relaxation(model, self.reads[number].adapter.key) if relax else None
            own = [1] * ndim
            for info in axes:
                d, a = info.domain, info.axis
                own[d] = info.run
                if mode is not None and a == 0:
                    continue  # read by rows (or chunks one row thick): cut anywhere
                if mode is not None:
                    # One chunk a tile along the axes read whole: required cuts, capped.
                    required[d].append(info.offset + info.changes)
                    caps[d] = min(caps[d], info.run)
                    if mode == "slab" and a == 1:
                        continue  # anywhere within that chunk
                mask = forbidden[d]
                if mask is None:
                    mask = forbidden[d] = np.zeros(int(domain[d]) + 1, bool)
                length = len(info.unsafe)
                mask[info.offset + 1: info.offset + length] |= info.unsafe[1:]
            if floor is None or math.prod(own) > math.prod(floor):
                floor = tuple(own)
        allowed = tuple(
            None if f is None or not f[1:-1].any() else np.flatnonzero(~f[1:-1]) + 1
            for f in forbidden
        )
        needed = tuple(np.unique(np.concatenate(r)) if r else None for r in required)
        return Cuts(allowed, needed, tuple(caps), floor)
