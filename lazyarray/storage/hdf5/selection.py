"""Which chunks a key touches, what of each, and where it goes in the destination.

The geometry the chunked reader (:mod:`lazyarray.storage.hdf5.chunked`)
plans its reads with, axis by axis, knowing nothing of files:

* :func:`axis_pieces`: a plain range over a run of chunks, cut into at most
  three pieces (a partly covered first chunk, whole chunks, a partly
  covered last chunk), so a whole run of chunks is copied with a few numpy
  copies whatever the number of chunks;
* :func:`axis_plan`: any key item (a range of positive step, or a sorted
  unique index array), chunk by chunk;
* :func:`take`: a decoded chunk indexed orthogonally by what
  :func:`axis_plan` says is selected in it.

Examples
--------
>>> for piece in axis_pieces(3, 10, 0, 3, 4):  # elements 3..9, chunks of 4
...     print(piece.grid, piece.within, piece.dest)
slice(0, 1, None) slice(3, 4, None) slice(0, 1, None)
slice(1, 2, None) slice(0, 4, None) slice(1, 5, None)
slice(2, 3, None) slice(0, 2, None) slice(5, 7, None)
>>> plan = axis_plan(range(1, 9, 3), 4)
>>> plan.chunks.tolist(), plan.within, plan.dest
([0, 1], [slice(1, 2, 3), slice(0, 4, 3)], [slice(0, 1, None), slice(1, 3, None)])
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AxisPlan", "Piece", "as_range", "axis_pieces", "axis_plan", "shift_slice", "take"]


def as_range(item: Any) -> Any:
    """A key item as a range: an int is the range of that one position."""
    return range(item, item + 1) if isinstance(item, int) else item


@dataclass(frozen=True)
class Piece:
    """Where a group of chunks along one axis lands: chunks, part of each, destination."""

    grid: slice
    within: slice
    dest: slice
    nchunks: int
    width: int


def axis_pieces(start: int, stop: int, first_chunk: int, nchunks: int, chunk: int) -> list[Piece]:
    """Split a selection ``[start, stop)`` over chunks ``first_chunk...`` into at most
    three pieces: a partly covered first chunk, whole chunks, a partly covered last one."""
    pieces = []
    j, end = 0, nchunks
    low = start - first_chunk * chunk
    if low or nchunks == 1:
        width = min(stop - start, chunk - low)
        pieces.append(Piece(slice(0, 1), slice(low, low + width), slice(0, width), 1, width))
        j = 1
    high = stop - (first_chunk + nchunks - 1) * chunk  # selected length of the last chunk
    if j < nchunks and high < chunk:
        end = nchunks - 1
    if j < end:
        d0 = (first_chunk + j) * chunk - start
        pieces.append(
            Piece(slice(j, end), slice(0, chunk), slice(d0, d0 + (end - j) * chunk),
                   end - j, chunk)
        )
    if end < nchunks and j <= end:
        d0 = (first_chunk + end) * chunk - start
        pieces.append(Piece(slice(end, end + 1), slice(0, high), slice(d0, d0 + high), 1, high))
    return pieces


@dataclass(frozen=True)
class AxisPlan:
    """The chunks one key item touches, and for each its part and destination."""

    chunks: np.ndarray
    within: list[Any]
    dest: list[slice]


def axis_plan(item: Any, chunk: int) -> AxisPlan:
    """Which chunks of an axis ``item`` (int, range of positive step, sorted
    unique array) selects from, what inside each, and where it goes."""
    item = as_range(item)
    chunks: list[int] = []
    within: list[Any] = []
    dest: list[slice] = []
    if isinstance(item, range):
        start, step, last = item.start, item.step, item[-1]
        for j in range(start // chunk, last // chunk + 1):
            low = j * chunk
            first = start if start >= low else start + -(-(low - start) // step) * step
            limit = min(low + chunk, last + 1)
            if first >= limit:
                continue  # a step longer than the chunk skips it
            count = (limit - 1 - first) // step + 1
            d0 = (first - start) // step
            chunks.append(j)
            within.append(slice(first - low, first - low + (count - 1) * step + 1, step))
            dest.append(slice(d0, d0 + count))
    else:
        which = item // chunk
        bounds = [0, *(np.flatnonzero(np.diff(which)) + 1).tolist(), item.size]
        for a, b in itertools.pairwise(bounds):
            j = int(which[a])
            chunks.append(j)
            within.append(item[a:b] - j * chunk)
            dest.append(slice(a, b))
    return AxisPlan(np.array(chunks, np.intp), within, dest)


def take(chunk: np.ndarray, within: tuple[Any, ...]) -> np.ndarray:
    """``chunk`` indexed orthogonally by slices and index arrays."""
    arrays = [i for i, w in enumerate(within) if isinstance(w, np.ndarray)]
    if len(arrays) <= 1:
        return chunk[within]
    part = chunk[tuple(slice(None) if isinstance(w, np.ndarray) else w for w in within)]
    for axis in arrays:
        part = np.take(part, within[axis], axis=axis)
    return part


def shift_slice(s: slice, by: int) -> slice:
    """``s`` moved by ``by`` positions (a slice of step 1)."""
    return slice(s.start + by, s.stop + by)
