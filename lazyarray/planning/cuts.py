"""Where tiles end along each axis: on chunk edges, within a target length.

:func:`axis_cuts` cuts one axis of a pass's domain into tiles at most a
target long that end where the sources' chunks allow (:class:`Cuts`, found
by :func:`lazyarray.planning.tiling_cuts`), at mosaics' member ends where
that makes no sliver, and at every position that must end a tile.

Examples
--------
>>> axis_cuts(50, np.array([3, 6, 9, 12, 15, 18, 21, 24, 25, 28, 31, 34, 37, 40, 43, 46, 49]), 10)
(0, 9, 18, 28, 37, 46, 50)
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from .edges import chunk_extents

__all__ = ["Cuts", "axis_cuts"]

_NO_EDGES = np.empty(0, np.intp)


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

