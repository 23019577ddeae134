"""Where the members of a mosaic and the blocks of :func:`~lazyarray.iter_batches` lie.

A *member* is a stretch of rows (positions along the sampled axis) that lies
in one tile of every input that is a :class:`~lazyarray.LinearMosaic` along
that axis: one file of a mosaic of files, say. A *block* is a stretch of a
member made of whole storage chunks along the axis, the unit that the
``"blocks"`` shuffle reads and decodes whole.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.concatenate([np.zeros((5, 2)), np.zeros((3, 2))])
>>> layout = find_layout([x], [0], chunk_bytes=48)
>>> layout.member_ends.tolist(), layout.block_starts.tolist(), layout.block_stops.tolist()
([5, 8], [0, 3, 5], [3, 5, 8])
>>> layout.block_members.tolist()
[0, 0, 1]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..array import Array
from ..mosaic import LinearMosaic

__all__ = ["Layout", "find_layout", "row_bytes"]


@dataclass(frozen=True)
class Layout:
    """Members and blocks along the sampled axis, in row numbers.

    Attributes
    ----------
    length : int
        Rows in all.
    member_ends : numpy.ndarray of int64
        Where each member ends (exclusive); the first starts at 0.
    block_starts, block_stops : numpy.ndarray of int64
        Each block's rows, ``[start, stop)``, in order; they tile ``[0, length)``.
    block_members : numpy.ndarray of int64
        The member each block lies in.
    """

    length: int
    member_ends: np.ndarray
    block_starts: np.ndarray
    block_stops: np.ndarray
    block_members: np.ndarray

    @property
    def members(self) -> int:
        """How many members."""
        return len(self.member_ends)

    def member_of(self, rows: np.ndarray) -> np.ndarray:
        """The member of each of ``rows``.

        Examples
        --------
        >>> import numpy as np
        >>> layout = Layout(4, np.array([1, 4]), np.array([0, 1]), np.array([1, 4]),
        ...                 np.array([0, 1]))
        >>> layout.member_of(np.array([3, 0, 1])).tolist()
        [1, 0, 1]
        """
        return np.searchsorted(self.member_ends, rows, side="right")


def row_bytes(array: Array, axis: int) -> int:
    """Bytes of one row of ``array`` along ``axis`` (one position there, all else whole)."""
    others = array.shape[:axis] + array.shape[axis + 1:]
    return math.prod(others) * array.dtype.itemsize


def _tiles(array: Array, axis: int) -> tuple[list[int], list[Array]]:
    """The starts and tiles of ``array`` along ``axis``: a mosaic's, or itself whole."""
    if isinstance(array, LinearMosaic) and array.axis == axis:
        starts = [0, *np.cumsum([t.shape[axis] for t in array.tiles])[:-1].tolist()]
        return starts, list(array.tiles)
    return [0], [array]


def find_layout(arrays: Sequence[Array], axes: Sequence[int], chunk_bytes: int) -> Layout:
    """The members and blocks of ``arrays`` (of one length along their ``axes``).

    1. Members end where a tile of any input that is a mosaic along its axis
       ends (the union of their tiles' ends), so a member lies in one file of
       every input.
    2. Blocks are cut in the input of most bytes (the features, usually): in
       its tile covering the member, at multiples of its storage chunk length
       along the axis (1 for sources without chunks), counted from the
       tile's start, each as many chunks as fit in ``chunk_bytes`` together
       with the other inputs' rows (at least one chunk), and cut at the
       member's ends.

    Parameters
    ----------
    arrays : sequence of Array
    axes : sequence of int
        Each array's sampled axis, normalised.
    chunk_bytes : int
        Target bytes of one block, of all the inputs' rows together.
    """
    length = arrays[0].shape[axes[0]]
    ends: set[int] = {length} if length else set()
    for array, axis in zip(arrays, axes):
        origins, parts = _tiles(array, axis)
        ends.update(s + t.shape[axis] for s, t in zip(origins, parts) if t.shape[axis])
    member_ends = np.array(sorted(ends), np.int64)

    widest = max(range(len(arrays)), key=lambda i: arrays[i].nbytes)
    tile_starts, tiles = _tiles(arrays[widest], axes[widest])
    per_row = max(1, sum(row_bytes(a, ax) for a, ax in zip(arrays, axes)))
    block_starts: list[int] = []
    block_members: list[int] = []
    start = 0
    for member, end in enumerate(member_ends.tolist()):
        t = bisect.bisect_right(tile_starts, start) - 1
        chunks = tiles[t].storage_chunks
        chunk = int(chunks[axes[widest]]) if chunks else 1
        size = chunk * max(1, chunk_bytes // (per_row * chunk))
        origin = tile_starts[t]
        # The first cut after start that is a whole number of blocks from the tile's start.
        cut = origin + (((start - origin) // size) + 1) * size
        cuts = [start, *range(cut, end, size)]
        block_starts.extend(cuts)
        block_members.extend([member] * len(cuts))
        start = end
    starts = np.array(block_starts, np.int64)
    stops = np.append(starts[1:], length).astype(np.int64)[:len(starts)]
    return Layout(length, member_ends, starts, stops, np.array(block_members, np.int64))
