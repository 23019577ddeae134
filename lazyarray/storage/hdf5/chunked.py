"""Reading a chunked HDF5 dataset: any orthogonal selection, from its chunks.

Steps of a read (:meth:`ChunkedReader.read`):

1. The chunk index (built once, see
   :meth:`~lazyarray.storage.hdf5.chunkindex.ChunkIndex.build`) is a set of
   numpy arrays over the chunk grid, so the chunks a selection touches are a
   slice of it, found without looping over chunks.
2. Uncompressed, fully allocated selections of plain slices read whole runs
   of chunks that lie one after the other in the file with one system call
   each, into a scratch buffer (or straight into the destination when the
   chunks' bytes are the destination's bytes), and copy the selected part
   in at most three pieces per axis (a partly covered first chunk, whole
   chunks, a partly covered last chunk,
   :func:`~lazyarray.storage.hdf5.selection.axis_pieces`): a few numpy
   copies per scratch buffer, whatever the number of chunks.
3. Everything else goes chunk by chunk: file runs are still read with one
   system call, then each chunk is checked, inflated and unshuffled as its
   filter mask says (:mod:`.filters`), and its selected part copied;
   unallocated chunks receive the fill value.

Examples
--------
>>> import h5py, numpy as np, tempfile, os
>>> from lazyarray.storage.hdf5 import direct_reader
>>> path = os.path.join(tempfile.mkdtemp(), "d.h5")
>>> with h5py.File(path, "w", userblock_size=512) as f:
...     _ = f.create_dataset("x", data=np.arange(60.0).reshape(6, 10), chunks=(4, 4),
...                          compression="gzip", shuffle=True)
>>> reader = direct_reader(h5py.File(path, "r")["x"])
>>> type(reader).__name__
'ChunkedReader'
>>> out = np.empty((2, 3))
>>> reader.read((range(3, 5), range(2, 8, 2)), out)
>>> out.tolist()
[[32.0, 34.0, 36.0], [42.0, 44.0, 46.0]]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ChunkDecodeError
from ...indexing import Key
from .chunkindex import ChunkIndex
from .filters import SHUFFLE, Filter, unshuffle
from .readers import SCRATCH_BYTES, DirectReader, read_scratch
from .selection import as_range, axis_pieces, axis_plan, shift_slice, take

__all__ = ["COPY_BYTES", "PART_RUNS", "SIEVE_BYTES", "ChunkedReader", "chunk_part_bytes", "part_bytes",
           "part_runs"]

#: Bytes of whole chunks read at a time and copied into place at once, where a
#: row of the chunk grid holds more: about what the CPU's last-level cache
#: keeps while they are copied.
COPY_BYTES = 4 * 2**20

#: A read of plain chunks takes only the selected byte runs of each (rather
#: than whole chunks) when that is at most this many system calls...
PART_RUNS = 4096

#: ... and the whole chunks would be at least this many times the bytes selected.
PART_RATIO = 4

#: The runs of one chunk are read with one system call, as the span from the
#: first to the last (the bytes between them read and dropped), where that
#: span is at most this many bytes: a box of 100 rows of a plane is one read
#: of 400 KB, not 100 reads of its rows (0.4 ms, where the calls take 2 ms).
SIEVE_BYTES = 1 << 20


def chunk_part_bytes(low: Sequence[int], high: Sequence[int], chunks: Sequence[int],
                     itemsize: int, axis: int) -> tuple[int, bool]:
    """The bytes a part read (see :func:`part_runs`) takes of one chunk, and
    whether it reads them as one span: ``low``/``high``, the selected box
    within the chunk, per axis; the axes after ``axis`` are selected whole.

    Examples
    --------
    Rows 100-199, columns 300-399 of a plane of 1000 x 1000 float32: one span
    from the first selected element to the last.

    >>> chunk_part_bytes((0, 100, 300), (1, 200, 400), (1, 1000, 1000), 4, 2)
    (396400, True)
    >>> chunk_part_bytes((0, 500, 500), (1, 501, 501), (1, 1000, 1000), 4, 2)  # one run
    (4, False)
    """
    strides = [math.prod(chunks[a + 1:]) for a in range(len(chunks))]
    run = (high[axis] - low[axis]) * strides[axis]
    runs = math.prod(high[a] - low[a] for a in range(axis))
    if runs <= 1:
        return run * itemsize, False
    first = sum(low[a] * strides[a] for a in range(axis + 1))
    last = sum((high[a] - 1) * strides[a] for a in range(axis)) + low[axis] * strides[axis] + run
    if (last - first) * itemsize <= SIEVE_BYTES:
        return (last - first) * itemsize, True
    return runs * run * itemsize, False


def part_bytes(shape: Sequence[int], chunks: Sequence[int], itemsize: int,
               ranges: Sequence[range], axis: int) -> int:
    """The bytes of the array's data that a part read of the hyperslab ``ranges``
    fetches, over every chunk it touches (what :func:`chunk_part_bytes` reads
    of each, less the padding of edge chunks beyond the array, which is not
    the array's data: the planner's unit, as for whole chunks).

    Examples
    --------
    >>> part_bytes((10, 1000, 1000), (1, 1000, 1000), 4,
    ...            [range(0, 10), range(100, 200), range(300, 400)], 2)
    3964000

    Rows 0-1 of the last column of a (4, 4) array in chunks of (3, 3): the
    span from row 0 to row 1 of the edge chunk holds two padding elements.

    >>> part_bytes((4, 4), (3, 3), 4, [range(0, 2), range(3, 4)], 1)
    8
    """
    # Along each axis the chunks touched see at most three boxes (the first,
    # the last and those between), each with the extent of the chunk inside
    # the array: count each distinct box once, times its chunks.
    variants: list[list[tuple[int, int, int, int]]] = []
    for r, c, n in zip(ranges, chunks, shape):
        first, last = r.start // c, (r.stop - 1) // c
        boxes: dict[tuple[int, int, int], int] = {}
        for j in {first, last, min(first + 1, last)}:
            box = (max(r.start, j * c) - j * c, min(r.stop, (j + 1) * c) - j * c,
                   min(c, n - j * c))
            count = 1 if j in (first, last) else last - first - 1
            if count:
                boxes[box] = boxes.get(box, 0) + count
        variants.append([(lo, hi, inside, k) for (lo, hi, inside), k in boxes.items()])
    total = 0
    for combination in itertools.product(*variants):
        low = [lo for lo, _, _, _ in combination]
        high = [hi for _, hi, _, _ in combination]
        inside = [v for _, _, v, _ in combination]
        count = math.prod(k for _, _, _, k in combination)
        total += count * _data_bytes(low, high, chunks, inside, itemsize, axis)
    return total


def _data_bytes(low: Sequence[int], high: Sequence[int], chunks: Sequence[int],
                inside: Sequence[int], itemsize: int, axis: int) -> int:
    """The bytes of array data among those :func:`chunk_part_bytes` reads of
    one chunk, whose first ``inside[a]`` elements along each axis are in the
    array (fewer than ``chunks[a]`` in an edge chunk)."""
    strides = [math.prod(chunks[a + 1:]) for a in range(len(chunks))]
    nbytes, spanned = chunk_part_bytes(low, high, chunks, itemsize, axis)
    if spanned:
        first = sum(low[a] * strides[a] for a in range(axis + 1))
        return (_inside_before(first + nbytes // itemsize, chunks, inside)
                - _inside_before(first, chunks, inside)) * itemsize
    # Runs: the selection along axis, every element of the chunk after it.
    return (math.prod(high[a] - low[a] for a in range(axis + 1))
            * math.prod(inside[axis + 1:]) * itemsize)


def _inside_before(offset: int, chunks: Sequence[int], inside: Sequence[int]) -> int:
    """How many elements before ``offset`` (in C order) of a chunk of shape
    ``chunks`` have every coordinate ``a`` below ``inside[a]``."""
    count = 0
    for a, c in enumerate(chunks):
        stride = math.prod(chunks[a + 1:])
        digit, offset = divmod(offset, stride)
        block = math.prod(inside[a + 1:])
        if digit >= inside[a]:
            return count + inside[a] * block
        count += digit * block
    return count


def part_runs(shape: Sequence[int], chunks: Sequence[int], itemsize: int,
              ranges: Sequence[range]) -> tuple[int, int] | None:
    """How a hyperslab of plain chunks is read in parts: ``(axis, runs)``, or ``None``.

    A run is the selection along ``axis`` within one chunk, with the chunk's
    whole extent along every later axis (which the selection covers whole):
    contiguous bytes of the chunk, read with one system call. ``None`` where
    that would take more than :data:`PART_RUNS` calls, or where whole chunks
    cost less than :data:`PART_RATIO` times the bytes selected: the reader
    then reads the chunks whole. The planner counts reads by the same rule
    (:mod:`lazyarray.planning.readcost`).

    Examples
    --------
    A point series from planes: one run of one element per plane.

    >>> part_runs((500, 1000, 1000), (1, 1000, 1000), 4,
    ...           [range(0, 500), range(500, 501), range(500, 501)])
    (2, 500)
    >>> part_runs((10, 8), (2, 8), 4, [range(0, 10), range(0, 8)]) is None  # all of it
    True
    """
    axis = len(chunks) - 1
    while axis > 0 and all(r.start % c == 0 and r.stop % c == 0
                           for r, c in zip(ranges[axis:], chunks[axis:])):
        axis -= 1
    touched = [(r.stop - 1) // c - r.start // c + 1 for r, c in zip(ranges, chunks)]
    runs = math.prod(len(r) for r in ranges[:axis]) * math.prod(touched[axis:])
    selected = math.prod(len(r) for r in ranges) * itemsize
    whole = math.prod(touched) * math.prod(chunks) * itemsize
    if runs > PART_RUNS or selected * PART_RATIO > whole:
        return None
    return axis, runs


@dataclass(frozen=True, eq=False)
class ChunkedReader(DirectReader):
    """Reads any orthogonal selection of a chunked dataset from its chunks."""

    index: ChunkIndex | None = None
    filters: tuple[Filter, ...] = ()

    def supports(self, key: Key) -> bool:
        return True

    @property
    def _index(self) -> ChunkIndex:
        assert self.index is not None
        return self.index

    def read(self, key: Key, out: np.ndarray) -> None:
        index = self._index
        if not self.filters and all(
            isinstance(k, int) or (isinstance(k, range) and (k.step == 1 or len(k) == 1))
            for k in key
        ):
            # One position is a hyperslab whatever its step (as the planner
            # counts it): range(0, 2, 2) reads one element, not the chunk.
            ranges = [k if isinstance(k, range) and k.step == 1
                      else as_range(k if isinstance(k, int) else k[0]) for k in key]
            block = tuple(
                slice(r.start // c, (r.stop - 1) // c + 1) for r, c in zip(ranges, index.chunks)
            )
            chunk_bytes = math.prod(index.chunks) * self.dtype.itemsize
            # Every chunk there, at its full size (HDF5 writes no other, but
            # a chunk written raw by another program could differ).
            if np.all(index.offsets[block] >= 0) and np.all(index.sizes[block] == chunk_bytes):
                self._read_block(ranges, block, out)
                return
        self._read_chunks(key, out)

    # Uncompressed, fully allocated hyperslabs: whole runs of chunks at once.

    def _read_block(self, ranges: list[range], block: tuple[slice, ...], out: np.ndarray) -> None:
        index = self._index
        chunks = index.chunks
        itemsize = self.dtype.itemsize
        chunk_bytes = math.prod(chunks) * itemsize
        offsets = index.offsets[block]
        grid = offsets.shape
        if all(
            g == 1 and r.start == b.start * c and len(r) == c
            for g, r, b, c in zip(grid[1:], ranges[1:], block[1:], chunks[1:])
        ):
            self._read_rows(ranges[0], block[0].start, offsets.ravel(), out)
            return
        if self._read_slabs(ranges, block, offsets, out):
            return
        parts = part_runs(self.shape, chunks, itemsize, ranges)
        if parts is not None:
            self._read_parts(ranges, block, parts[0], out)
            return
        # Whole chunks, read into the scratch buffer a group at a time and
        # copied into place: groups of rows of the chunk grid, and where one
        # row of the grid holds more than COPY_BYTES, of columns of its last
        # axis of several chunks, so that each group is copied while its bytes
        # are in the CPU cache (and the scratch buffer stays one kept buffer).
        split = max((a for a in range(1, len(grid)) if grid[a] > 1), default=None)
        per_row = math.prod(grid[1:]) * chunk_bytes
        if split is not None and per_row > COPY_BYTES:
            per_column = per_row // grid[split]
            columns = max(1, COPY_BYTES // per_column)
            rows_per_group = 1
        else:
            split, columns = None, 0
            rows_per_group = max(1, SCRATCH_BYTES // per_row)
        pieces_after = [
            axis_pieces(r.start, r.stop, b.start, g, c)
            for r, b, g, c in zip(ranges[1:], block[1:], grid[1:], chunks[1:])
        ]
        ndim = len(grid)
        # The destination's axes (g0, c0, g1, c1, ...) taken in the stored
        # order: numpy then copies in the scratch's memory order, which runs
        # faster than in the destination's.
        order = [*range(0, 2 * ndim, 2), *range(1, 2 * ndim, 2)]
        spans = ([(0, 0)] if split is None else  # (no split: one group of every column)
                 [(c0, min(c0 + columns, grid[split])) for c0 in range(0, grid[split], columns)])
        for g0 in range(0, grid[0], rows_per_group):
            g1 = min(g0 + rows_per_group, grid[0])
            # The rows of axis 0 this group holds, clipped to the selection.
            lo = max(ranges[0].start, (block[0].start + g0) * chunks[0])
            hi = min(ranges[0].stop, (block[0].start + g1) * chunks[0])
            first = block[0].start + g0
            rows = axis_pieces(lo, hi, first, g1 - g0, chunks[0])
            for c0, c1 in spans:
                within = offsets[g0:g1]
                pieces = list(pieces_after)
                if split is not None:
                    within = within[(slice(None),) * split + (slice(c0, c1),)]
                    r, b, c = ranges[split], block[split], chunks[split]
                    low = max(r.start, (b.start + c0) * c)
                    high = min(r.stop, (b.start + c1) * c)
                    pieces[split - 1] = [
                        dataclasses.replace(p, dest=shift_slice(p.dest, low - r.start))
                        for p in axis_pieces(low, high, b.start + c0, c1 - c0, c)
                    ]
                group = within.ravel()
                scratch = read_scratch(group.size * chunk_bytes)
                self._read_runs(group, chunk_bytes, scratch.data)
                # The group's chunks as one array, axes (g0, g1, ..., c0, c1, ...).
                stored = scratch.view(self.dtype).reshape((*within.shape, *chunks))
                for combo in itertools.product(rows, *pieces):
                    source = stored[(*(p.grid for p in combo), *(p.within for p in combo))]
                    dest = out[(shift_slice(combo[0].dest, lo - ranges[0].start),
                                *(p.dest for p in combo[1:]))]
                    split_shape = tuple(n for p in combo for n in (p.nchunks, p.width))
                    np.copyto(dest.reshape(split_shape, copy=False).transpose(order), source)

    def _read_rows(self, rows: range, first_chunk: int, offsets: np.ndarray,
                   out: np.ndarray) -> None:
        """Chunks that hold whole rows of ``out``: their bytes are ``out``'s bytes."""
        chunk0 = self._index.chunks[0]
        row_bytes = math.prod(out.shape[1:]) * self.dtype.itemsize
        chunk_ids = np.arange(first_chunk, first_chunk + offsets.size)
        low = np.maximum(rows.start, chunk_ids * chunk0) - chunk_ids * chunk0
        high = np.minimum(rows.stop, (chunk_ids + 1) * chunk0) - chunk_ids * chunk0
        starts = offsets + low * row_bytes
        lengths = (high - low) * row_bytes
        target = out.reshape(-1).data.cast("B")
        breaks = np.flatnonzero(starts[1:] != starts[:-1] + lengths[:-1]) + 1
        done = 0
        for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), offsets.size]):
            nbytes = int(lengths[a:b].sum())
            self.read_exactly(target[done : done + nbytes], int(starts[a]))
            done += nbytes

    def _read_slabs(self, ranges: list[range], block: tuple[slice, ...], offsets: np.ndarray,
                    out: np.ndarray) -> bool:
        """Chunks one slab thick along axis 0, each holding a contiguous part of
        ``out``: rows of axis 1 of whole trailing axes. Their selected bytes
        are read straight into ``out``, one system call per chunk, and the
        rest of each chunk is not read (tiles of mosaics, cut along axis 1,
        would otherwise read every chunk whole, several times). ``False``
        when the selection is not of that form."""
        chunks = self._index.chunks
        if (
            len(chunks) < 2
            or chunks[0] != 1
            or any(g != 1 for g in offsets.shape[1:])
            or any(r.start != b.start * c or len(r) != c
                   for r, b, c in zip(ranges[2:], block[2:], chunks[2:]))
        ):
            return False
        trailing = math.prod(chunks[2:]) * self.dtype.itemsize
        skip = (ranges[1].start - block[1].start * chunks[1]) * trailing
        nbytes = len(ranges[1]) * trailing
        if out.nbytes != offsets.size * nbytes or not out.flags.c_contiguous:
            return False
        target = out.reshape(-1).data.cast("B")
        for i, offset in enumerate(offsets.ravel().tolist()):
            self.read_exactly(target[i * nbytes : (i + 1) * nbytes], offset + skip)
        return True

    def _read_parts(self, ranges: list[range], block: tuple[slice, ...], axis: int,
                    out: np.ndarray) -> None:
        """The selected byte runs of each chunk (see :func:`part_runs`) rather than
        whole chunks: a point series from chunks of planes reads its points, not
        the planes. A chunk's runs are one system call each, or one for all of
        them where their span is short (:func:`chunk_part_bytes`)."""
        index = self._index
        chunks = index.chunks
        itemsize = self.dtype.itemsize
        strides = [math.prod(chunks[a + 1:]) for a in range(len(chunks))]
        trailing = tuple(chunks[axis + 1:])
        for position in itertools.product(*[range(b.start, b.stop) for b in block]):
            base = int(index.offsets[position])
            low = [max(r.start, j * c) - j * c for r, j, c in zip(ranges, position, chunks)]
            high = [min(r.stop, (j + 1) * c) - j * c for r, j, c in zip(ranges, position, chunks)]
            # Where the chunk's box lands in ``out``.
            dest = [j * c + lo - r.start for r, j, c, lo in zip(ranges, position, chunks, low)]
            length = high[axis] - low[axis]
            nbytes, spanned = chunk_part_bytes(low, high, chunks, itemsize, axis)
            if spanned:
                first = sum(low[a] * strides[a] for a in range(axis + 1))
                span = np.empty(nbytes // itemsize, self.dtype)
                self.read_exactly(span.data.cast("B"), base + first * itemsize)
                # The runs as a strided view of the span: the box, read at once.
                box = np.lib.stride_tricks.as_strided(
                    span, shape=(*[high[a] - low[a] for a in range(axis)], length, *trailing),
                    strides=tuple(s * itemsize for s in strides), writeable=False)
                out[tuple(slice(d, d + n) for d, n in zip(dest, box.shape))] = box
                continue
            run = np.empty((length, *trailing), self.dtype)
            target = run.reshape(-1).data.cast("B")
            for outer in itertools.product(*[range(low[a], high[a]) for a in range(axis)]):
                start = sum(o * s for o, s in zip(outer, strides)) + low[axis] * strides[axis]
                self.read_exactly(target, base + start * itemsize)
                where: list[int | slice] = [d + o - lo for d, o, lo in zip(dest, outer, low)]
                where.append(slice(dest[axis], dest[axis] + length))
                where.extend(slice(d, d + n) for d, n in zip(dest[axis + 1:], trailing))
                out[tuple(where)] = run

    def _read_runs(self, offsets: np.ndarray, chunk_bytes: int, target: memoryview) -> None:
        """Read chunks at ``offsets`` (of ``chunk_bytes`` each) one after the other into
        ``target``, one system call per run of chunks adjacent in the file."""
        breaks = np.flatnonzero(np.diff(offsets) != chunk_bytes) + 1
        for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), offsets.size]):
            self.read_exactly(target[a * chunk_bytes : b * chunk_bytes], int(offsets[a]))

    # Everything else: chunk by chunk, decoded in this thread.

    def _read_chunks(self, key: Key, out: np.ndarray) -> None:
        index = self._index
        plans = [axis_plan(k, c) for k, c in zip(key, index.chunks)]
        where = np.ix_(*[p.chunks for p in plans])
        offsets = index.offsets[where].ravel()
        sizes = index.sizes[where].ravel()
        masks = index.masks[where].ravel().tolist()
        entries = list(
            itertools.product(*[list(zip(p.chunks.tolist(), p.within, p.dest)) for p in plans])
        )
        missing = np.flatnonzero(offsets < 0)
        for i in missing.tolist():
            out[tuple(e[2] for e in entries[i])] = self.fill_value
        stored = np.flatnonzero(offsets >= 0)
        if not stored.size:
            return
        order = stored[np.argsort(offsets[stored], kind="stable")]
        ends = offsets[order] + sizes[order]
        # Runs of chunks that follow each other in the file, up to the scratch size.
        adjacent = offsets[order][1:] == ends[:-1]
        run_start = 0
        chunk_bytes = math.prod(index.chunks) * self.dtype.itemsize
        decoders = [(f, f.decoder(self.dtype.itemsize, chunk_bytes)) for f in self.filters]
        for k in range(1, order.size + 1):
            if k < order.size and adjacent[k - 1] and (
                ends[k] - offsets[order[run_start]] <= SCRATCH_BYTES
            ):
                continue
            run = order[run_start:k]
            begin = int(offsets[run[0]])
            scratch = read_scratch(int(ends[k - 1]) - begin)
            view = scratch.data
            self.read_exactly(view, begin)
            for i in run.tolist():
                entry = entries[i]
                a = int(offsets[i]) - begin
                raw = view[a : a + int(sizes[i])]
                dest = out[tuple(e[2] for e in entry)]
                within = tuple(e[1] for e in entry)
                whole = (dest.shape == index.chunks and dest.flags.c_contiguous
                         and dest.dtype == self.dtype
                         and all(isinstance(w, slice) and w == slice(0, c, 1)
                                 for w, c in zip(within, index.chunks)))
                chunk = self._decode(raw, masks[i], decoders, chunk_bytes, entry,
                                     dest if whole else None)
                if chunk is not dest:
                    dest[...] = take(chunk, within)
            run_start = k

    def _decode(
        self,
        raw: memoryview,
        mask: int,
        decoders: Sequence[tuple[Filter, Callable[[Any], Any]]],
        chunk_bytes: int,
        entry: Sequence[tuple[int, Any, slice]],
        into: np.ndarray | None = None,
    ) -> np.ndarray:
        """The decoded chunk; ``into`` itself when the shuffle filter, undone
        last, could write the chunk there (a C-contiguous place for all of it)."""
        active = [(f, decode) for f, decode in reversed(decoders) if not mask >> f.position & 1]
        # (HDF5 skipped the filters whose bit is set in the mask when it wrote the chunk.)
        last_shuffles = into is not None and bool(active) and active[-1][0].code == SHUFFLE
        data: Any = raw
        for f, decode in active[:-1] if last_shuffles else active:
            try:
                data = decode(data)
            except (zlib.error, ValueError) as error:
                raise self._chunk_error(entry, f"the {f.name} filter failed: {error}") from error
        nbytes = memoryview(data).nbytes
        if nbytes != chunk_bytes:  # the shuffle filter keeps the size
            name = next((f.name for f, _ in decoders if not mask >> f.position & 1), "none")
            raise self._chunk_error(
                entry, f"decoding ({name} filter) gave {nbytes} bytes, expected {chunk_bytes}"
            )
        if last_shuffles:
            assert into is not None
            # Straight into the tile: no chunk-sized array, no copy of it.
            unshuffle(data, active[-1][0].parameter or self.dtype.itemsize,
                       into.reshape(-1).view(np.uint8))
            return into
        return np.frombuffer(data, self.dtype).reshape(self._index.chunks)

    def _chunk_error(self, entry: Sequence[tuple[int, Any, slice]], what: str) -> ChunkDecodeError:
        grid = tuple(e[0] for e in entry)
        start = tuple(j * c for j, c in zip(grid, self._index.chunks))
        return self._fail(f"chunk {grid} (elements from {start}): {what}", grid)
