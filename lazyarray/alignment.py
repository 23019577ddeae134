"""Where storage chunks begin, seen from any node: so tiles cut only there.

A tile that ends inside a storage chunk makes two tiles read (and, when the
chunk is compressed, decode) that chunk. The sources' chunk boundaries are
mapped through the graph (windows and strides of adapters, mosaics, stacks,
axis views, elementwise operands) to positions along each axis of a pass's
domain, and :func:`axis_cuts` cuts each axis at those positions only.

Edges along an axis are the interior positions ``0 < e < length`` where some
source's storage chunk begins; ``None`` means the axis is free: nothing
stored is split wherever it is cut (no chunked source, or a new axis).

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

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = [
    "Edges",
    "axis_cuts",
    "chunk_edges",
    "chunk_extents",
    "encoded_chunk_edges",
    "member_breaks",
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
    chunks = node.chunks  # type: ignore[attr-defined]
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
    memo: dict[int, Edges] = {}

    def edges_of(current: object) -> Edges:
        found = memo.get(id(current))
        if found is None:
            found = memo[id(current)] = _edges(current, edges_of, kind)
        return found

    return edges_of(node)


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
              breaks: np.ndarray | None = None) -> tuple[int, ...]:
    """Tile boundaries along one axis: tiles at most ``target`` long ending on edges.

    Each tile ends at the farthest edge within ``target`` of its start (the
    greedy cut, which makes the fewest tiles); where no edge is that close
    (chunks longer than the target) or the axis is free, it ends ``target``
    on. ``breaks`` (mosaic members' ends, among the edges) are cut at too
    when no stretch between them is shorter than half a tile: each stretch
    is then cut into tiles of even length, so no tile joins two members and
    none is a sliver.

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
    """
    target = max(int(target), 1)
    if not length:
        return (0,)
    if breaks is not None and len(breaks):
        stops = np.concatenate([[0], breaks, [length]])
        if np.diff(stops).min() * 2 >= target:
            cuts: list[int] = [0]
            for start, stop in itertools.pairwise(stops):
                inside = None if edges is None else edges[(edges > start) & (edges < stop)] - start
                cuts.extend(int(start) + c for c in _even_cuts(int(stop - start), inside, target)[1:])
            return tuple(int(c) for c in cuts)
    return _greedy_cuts(length, edges, target)


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
