"""Reading what a batch needs, and putting the batch together.

:func:`read_job` runs in a reading thread or process: for a batch read row
by row, the rows sorted (orthogonal index lists, which lazyarray reads in
proportion to the rows: a chunk once, only the rows asked of a chunk stored
plain), then put back in the batch's order; for the ``"blocks"`` shuffle,
the new blocks, whole. :class:`WorkingSet` runs in the consumer: it keeps
the blocks read and gathers each batch's rows from them.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> from lazyarray.sampling.plans import BatchJob
>>> x = la.asarray(np.arange(10) * 10)
>>> read_job([x], [0], BatchJob(0, np.array([7, 2, 5])), {})[0].tolist()
[70, 20, 50]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..array import Array
from ..execution import ndarrays
from ..graph import walk
from ..options import set_options
from .plans import BatchJob

__all__ = ["WorkingSet", "is_plain", "read_job"]


def _along(ndim: int, axis: int, item: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (item,) + (slice(None),) * (ndim - axis - 1)


def read_job(arrays: Sequence[Array], axes: Sequence[int], job: BatchJob,
             options: dict[str, Any], plain: Sequence[bool] | None = None) -> list[np.ndarray]:
    """What ``job`` reads of ``arrays``, realised under ``options`` (in force
    during the evaluation, so that the open-file cache keeps to their
    ``max_open_files``).

    A batch's rows are read sorted, as one orthogonal index list (a slice
    where they are consecutive): from an array whose sources store no chunk
    encoded (``plain``, see :func:`is_plain`) through the sources' library
    (``direct_io=False``: HDF5 reads the rows asked of a chunk, where the
    direct reader would read the chunk whole); from the others directly,
    each chunk the rows need read once, whole (it is decoded whole anyway).

    Returns
    -------
    list of numpy.ndarray
        Row by row: the batch, one array per input. From blocks: each new
        block's rows of each input, block after block.
    """
    if job.from_blocks:
        selected = [a[_along(a.ndim, ax, slice(start, stop))]
                    for start, stop in job.blocks for a, ax in zip(arrays, axes)]
        return _realised(selected, options)
    rows = np.sort(job.rows)
    consecutive = rows.size == 0 or rows[-1] - rows[0] + 1 == rows.size
    key = slice(int(rows[0]), int(rows[-1]) + 1) if consecutive and rows.size else rows
    selected = [a[_along(a.ndim, ax, key)] for a, ax in zip(arrays, axes)]
    through_library = [not consecutive and plain is not None and plain[i]
                       for i in range(len(arrays))]
    values: list[np.ndarray] = [np.empty(0)] * len(arrays)
    for library in (False, True):
        # Index lists of sources stored plain are read through their library
        # (h5py, whose HDF5 reads only the rows asked of a chunk larger than
        # its chunk cache), not directly (which reads such chunks whole).
        mine = [i for i, t in enumerate(through_library) if t == library]
        if mine:
            found = _realised([selected[i] for i in mine],
                              dict(options, direct_io=False) if library else options)
            for i, value in zip(mine, found):
                values[i] = value
    if np.array_equal(rows, job.rows):
        return values
    where = np.searchsorted(rows, job.rows)  # rows are distinct: each found once
    return [np.take(v, where, axis=ax) for v, ax in zip(values, axes)]


def is_plain(array: Array) -> bool:
    """Whether no source of ``array`` stores its chunks encoded (compressed,
    filtered), so that reading part of a chunk reads only that part.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> is_plain(la.asarray(np.zeros(3)) * 2)
    True
    """
    return not any(node.chunks_encoded for node in walk([array]))


def _realised(selected: list[Array], options: dict[str, Any]) -> list[np.ndarray]:
    if not selected:  # a batch of the working set's blocks alone
        return []
    with set_options(**options):
        return ndarrays(selected)


class WorkingSet:
    """The blocks read and not yet used up, from which ``"blocks"`` batches are gathered.

    Parameters
    ----------
    axes : sequence of int
        The sampled axis of each input.
    """

    def __init__(self, axes: Sequence[int]):
        self._axes = list(axes)
        #: Block start -> (stop, one array per input).
        self._blocks: dict[int, tuple[int, list[np.ndarray]]] = {}

    def __len__(self) -> int:
        return len(self._blocks)

    def gather(self, job: BatchJob, values: list[np.ndarray]) -> list[np.ndarray]:
        """Keep the blocks ``values`` read for ``job``, and return its batch, one
        array per input; then drop the blocks no later batch needs.

        Examples
        --------
        >>> import numpy as np
        >>> w = WorkingSet([0])
        >>> job = BatchJob(0, np.array([3, 0]), ((0, 2), (2, 4)), (0,), True)
        >>> w.gather(job, [np.array([10, 11]), np.array([12, 13])])[0].tolist()
        [13, 10]
        >>> len(w)
        1
        """
        n = len(self._axes)
        for k, (start, stop) in enumerate(job.blocks):
            self._blocks[start] = (stop, values[k * n:(k + 1) * n])
        starts = np.array(sorted(self._blocks), np.int64)
        block = starts[np.searchsorted(starts, job.rows, side="right") - 1]
        # The batch's positions grouped by block.
        by_block = np.argsort(block, kind="stable")
        cuts = np.flatnonzero(np.diff(block[by_block])) + 1
        groups = np.split(by_block, cuts)
        batch = []
        for i, axis in enumerate(self._axes):
            some = self._blocks[int(block[groups[0][0]])][1][i]
            shape = list(some.shape)
            shape[axis] = len(job.rows)
            out = np.empty(shape, some.dtype)
            moved = np.moveaxis(out, axis, 0)
            for positions in groups:
                start = int(block[positions[0]])
                source = np.moveaxis(self._blocks[start][1][i], axis, 0)
                moved[positions] = source[job.rows[positions] - start]
            batch.append(out)
        for start in job.release:
            del self._blocks[start]
        return batch
