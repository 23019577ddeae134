"""Reading a contiguous HDF5 dataset: one run of bytes at a known offset.

Selections of whole rows of the first axis (short rows, or rows mostly
selected) are read a group of rows at a time, straight into the
destination when the rows are whole, else through the scratch buffer; other
hyperslabs are read one run of the innermost axes at a time, straight into
the destination, when the runs are long enough to be worth a system call
each (:data:`DIRECT_RUN_BYTES`). Anything else (scattered short runs, index
arrays) is left to h5py, whose sieve buffer does better.

Examples
--------
>>> import h5py, numpy as np, os, tempfile
>>> from lazyarray.storage.hdf5 import direct_reader
>>> path = os.path.join(tempfile.mkdtemp(), "c.h5")
>>> with h5py.File(path, "w") as f:
...     _ = f.create_dataset("x", data=np.arange(12.0).reshape(3, 4))
>>> reader = direct_reader(h5py.File(path, "r")["x"])
>>> type(reader).__name__
'ContiguousReader'
>>> out = np.empty((2, 2))
>>> reader.read((range(1, 3), range(0, 2)), out)
>>> out.tolist()
[[4.0, 5.0], [8.0, 9.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...indexing import Key
from .readers import SCRATCH_BYTES, DirectReader, read_scratch
from .selection import as_range

__all__ = ["DIRECT_RUN_BYTES", "SIEVE_BYTES", "ContiguousReader", "reads_whole_rows"]

#: Runs of a contiguous dataset at least this long are read straight into the
#: destination one system call each; shorter ones through whole rows.
DIRECT_RUN_BYTES = 4096

#: Rows of a contiguous dataset this short are read whole, however little of
#: them is selected: HDF5's sieve buffer reads as much (64 KiB by default).
#: The planner counts the bytes such reads fetch by the same rule.
SIEVE_BYTES = 64 * 2**10


@dataclass(frozen=True, eq=False)
class ContiguousReader(DirectReader):
    """Reads hyperslabs of a contiguous dataset: one run of bytes at ``offset``."""

    offset: int | None = None

    def supports(self, key: Key) -> bool:
        if self.offset is None:
            return True
        if not all(isinstance(k, int) or (isinstance(k, range) and (k.step == 1 or len(k) == 1))
                   for k in key):
            return False  # one position is a hyperslab whatever its step
        # Whole rows of the first axis, when they are short or mostly
        # selected; else runs long enough to be worth one system call each.
        # Scattered short runs in long rows are left to HDF5's sieve buffer.
        return self._whole_rows(key) or (
            self._run(key)[1] * self.dtype.itemsize >= DIRECT_RUN_BYTES
        )

    def _whole_rows(self, key: Key) -> bool:
        return reads_whole_rows(self.shape, self.dtype.itemsize, key)

    def _run(self, key: Key) -> tuple[int, int]:
        """The innermost axis not selected whole, and the elements in one run."""
        return _run(self.shape, key)

    def read(self, key: Key, out: np.ndarray) -> None:
        if self.offset is None:
            out[...] = self.fill_value
            return
        ranges = [as_range(k) for k in key]
        itemsize = self.dtype.itemsize
        row = math.prod(self.shape[1:])
        if self._whole_rows(key):
            # Whole rows of axis 0, in groups, then the selected columns.
            rows_per_group = max(1, SCRATCH_BYTES // max(1, row * itemsize))
            whole = all(len(r) == n for r, n in zip(ranges[1:], self.shape[1:]))
            first = ranges[0].start
            for start in range(0, len(ranges[0]), rows_per_group):
                count = min(rows_per_group, len(ranges[0]) - start)
                nbytes = count * row * itemsize
                offset = self.offset + (first + start) * row * itemsize
                if whole:
                    target = out[start : start + count].data.cast("B")
                    self.read_exactly(target, offset)
                    continue
                scratch = read_scratch(nbytes)
                self.read_exactly(scratch.data, offset)
                rows = scratch.view(self.dtype).reshape((count, *self.shape[1:]))
                out[start : start + count] = rows[(slice(None), *map(_slice, ranges[1:]))]
            return
        axis, run = self._run(key)
        strides = np.array([math.prod(self.shape[k + 1 :]) for k in range(len(self.shape))])
        starts = np.array([r.start for r in ranges])
        # Element offsets of every run: broadcast over the outer axes' positions.
        flat = int(starts @ strides)
        grids = np.ix_(*[np.arange(len(r)) * int(s) for r, s in zip(ranges[:axis], strides)])
        offsets = (flat + sum(grids, np.zeros((), np.int64))).ravel() if axis else np.array([flat])
        target = out.reshape(-1).data.cast("B")
        step = run * itemsize
        for i, element in enumerate(offsets.tolist()):
            self.read_exactly(target[i * step : (i + 1) * step], self.offset + element * itemsize)


def reads_whole_rows(shape: tuple[int, ...], itemsize: int, key: Key) -> bool:
    """Whether the direct reader reads ``key`` of a contiguous dataset in whole rows.

    Rows of the first axis are read whole when they are short (within
    :data:`SIEVE_BYTES`, as HDF5's sieve buffer would), or when a quarter of
    each row or more is selected in runs too short for a system call each
    (:data:`DIRECT_RUN_BYTES`); selected runs at least that long are read
    alone, so that a tile reads only what it needs. The planner counts the
    bytes of reads by this rule (:mod:`lazyarray.planning.readcost`).

    Examples
    --------
    >>> reads_whole_rows((500, 1000, 1000), 4, (range(0, 20), range(0, 250), range(0, 1000)))
    False
    >>> reads_whole_rows((500, 1000, 1000), 4, (range(0, 20), range(0, 1000), range(0, 300)))
    True
    >>> reads_whole_rows((500, 100, 100), 4, (range(0, 20), range(0, 5), range(0, 100)))
    True
    """
    row = math.prod(shape[1:])
    if row * itemsize <= SIEVE_BYTES:
        return True
    selected = math.prod(len(as_range(k)) for k in key[1:])
    return row <= 4 * selected and _run(shape, key)[1] * itemsize < DIRECT_RUN_BYTES


def _run(shape: tuple[int, ...], key: Key) -> tuple[int, int]:
    """The innermost axis ``key`` does not select whole, and the elements in one run."""
    axis = len(key) - 1
    while axis > 0 and len(as_range(key[axis])) == shape[axis]:
        axis -= 1
    return axis, len(as_range(key[axis])) * math.prod(shape[axis + 1 :])


def _slice(r: range) -> slice:
    """``r`` as a slice (``r`` has a positive step)."""
    return slice(r.start, r.stop, r.step)
