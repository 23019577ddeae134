"""What one read of a source costs, in bytes of stored chunk data fetched.

A pass's tile reads, from each source under it, one orthogonal key: the
source node's own key composed with the part of the tile that reaches it
through views, mosaics and stacks. What that read costs depends on how the
source stores its data (its :class:`~lazyarray.array.ReadModel`), counted
in one unit, *bytes of stored chunk data fetched* (decoded, as in memory):

* a chunk a read touches counts whole (its elements inside the array, at
  the source's itemsize), once per read that touches it: compressed HDF5
  chunks, and every Zarr chunk, are fetched and decoded whole;
* except plain (unfiltered) HDF5 chunks read by lazyarray's direct reader
  (``direct_io``), which fetches only the selected rows of each chunk when
  the read takes exactly one whole chunk along every other axis, and only
  the selected part of a chunk one row thick when the read takes one chunk
  along the second axis and whole chunks after it (the reader's row and
  slab paths), and only the selected byte runs of each chunk where that is
  few system calls and whole chunks would be several times the bytes
  (:func:`~lazyarray.storage.hdf5.chunked.part_runs`), a chunk's runs as
  the one span from the first to the last where it is short
  (:func:`~lazyarray.storage.hdf5.chunked.part_bytes`); any other plain
  read fetches whole chunks;
* a contiguous HDF5 dataset read directly costs whole rows of its first axis
  when the reader reads whole rows (short rows, or a quarter of a row or
  more selected in short runs: :func:`~lazyarray.storage.hdf5.contiguous.reads_whole_rows`),
  else the selected elements;
* a source without storage chunks (numpy, HDF5 read through h5py) costs the
  elements the read asks of it (after the in-memory part of the key is
  taken away: :func:`~lazyarray.indexing.decompose_key`).

Reads of one source through one key in one tile are made once (the tile
cache), so they count once. Chunks never written (HDF5 or Zarr fill
values) count as read. Through h5py, HDF5's own chunk cache may fetch less
than counted, never more.

Examples
--------
>>> from lazyarray.indexing import NativeSupport
>>> packed = ReadModel("chunks", (10, 6), (4, 6), 8, NativeSupport.everything())
>>> _key_bytes(packed, (range(8, 2, -1), 2))  # rows 3-8: chunks 0-2 whole
480
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..indexing import _progression, decompose_key, sorted_unique
from ..planprotocol import ReadModel
from ..storage.hdf5.chunked import part_bytes, part_runs
from ..storage.hdf5.contiguous import reads_whole_rows

__all__ = ["ReadModel", "native_read_bytes"]


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
    ids = sorted_unique(np.asarray(item, np.intp) // c)
    return int(ids.size * c - (((n - 1) // c + 1) * c - n if ids.size and ids[-1] == (n - 1) // c
                               else 0))


def _is_hyperslab(item: Any) -> bool:
    """What the direct reader's fast paths take: an int, or a range of step 1 (or of one position)."""
    return isinstance(item, (int, np.integer)) or (
        isinstance(item, range) and (item.step == 1 or len(item) == 1))


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
    >>> native_read_bytes(plain, (range(3, 9), range(0, 5)))  # chunks 0-2 whole
    480
    >>> native_read_bytes(plain, (range(3, 9), range(0, 3)))  # the runs' span in each chunk
    216
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
            as_ranges = tuple(range(i, i + 1) if isinstance(i, (int, np.integer)) else i
                              for i in native)
            if reads_whole_rows(shape, model.itemsize, as_ranges):
                return lengths[0] * math.prod(shape[1:]) * model.itemsize
        return math.prod(lengths) * model.itemsize
    if model.kind == "plain" and all(_is_hyperslab(i) for i in native):
        if all(_is_one_chunk(i, c) for i, c in zip(native[1:], chunks[1:])):
            return math.prod(lengths) * model.itemsize  # selected rows of whole chunks
        if (len(chunks) >= 2 and chunks[0] == 1
                and _first_chunk(native[1], chunks[1]) == _last_chunk(native[1], chunks[1])
                and all(_is_one_chunk(i, c) for i, c in zip(native[2:], chunks[2:]))):
            return math.prod(lengths) * model.itemsize  # one slab of each chunk
        parts = [range(i, i + 1) if isinstance(i, (int, np.integer))
                 else range(i.start, i.start + 1) if len(i) == 1 else i for i in native]
        found = part_runs(shape, chunks, model.itemsize, parts)
        if found is not None:  # the selected runs of each chunk, or their spans
            return part_bytes(shape, chunks, model.itemsize, parts, found[0])
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
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, range):
        return item if item.step > 0 or support.negative_steps else item[::-1]
    unique = sorted_unique(item)
    progression = _progression(unique)
    if progression is not None:
        return progression
    return item if support.unsorted_arrays else unique


def _independent(key: Sequence[Any], support: Any) -> bool:
    """Whether ``decompose_key`` treats each item of ``key`` (and of its parts)
    on its own: no more index arrays than the source takes in one read."""
    arrays = sum(isinstance(item, np.ndarray) for item in key)
    return support.index_arrays is None or arrays <= support.index_arrays



def _key_bytes(model: ReadModel, key: tuple[Any, ...]) -> int:
    """Bytes one read of ``key`` (any key: its in-memory part taken away) costs."""
    if any(_length(item) == 0 for item in key):
        return 0
    native, _ = decompose_key(key, model.support)
    return native_read_bytes(model, native)



def _rows_factorise(model: ReadModel) -> bool:
    """Whether a contiguous dataset's reads are whole rows whatever the tile (short rows)."""
    return math.prod(model.shape[1:]) * model.itemsize <= model.sieve_bytes

