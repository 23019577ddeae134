"""The order rows are drawn in, and the batches and reads made of it: index arithmetic only.

Everything random in :func:`~lazyarray.iter_batches` is decided here, in the
consumer's process, from one :class:`numpy.random.Generator`, epoch after
epoch: which rows go into which batch, in which order, and (``"blocks"``)
which blocks each batch needs read first. Readers (threads or processes)
only carry the plan out, so the batches depend on the seed alone.

The ``"blocks"`` shuffle is simulated exactly, without a loop over rows, as a
race of exponential clocks: drawing, at each step, a row uniformly among the
rows of the blocks in the working set is the same as giving each row an
exponential waiting time from when its block entered, and taking rows in
order of their times (the exponential has no memory). A block leaves the
working set at its last row's time, and the next block enters then. So the
whole epoch costs one heap operation per block and one sort of the rows.

Examples
--------
>>> import numpy as np
>>> order = block_order(np.random.default_rng(0), np.array([0, 4]), np.array([4, 8]),
...                     None, n_active=1)
>>> sorted(order[:4].tolist()) in ([0, 1, 2, 3], [4, 5, 6, 7])  # one block at a time
True
>>> sorted(order.tolist())
[0, 1, 2, 3, 4, 5, 6, 7]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .layout import Layout

__all__ = ["BatchJob", "block_order", "epoch_jobs", "row_order", "weighted_permutation"]


def weighted_permutation(rng: np.random.Generator, weights: np.ndarray | None,
                         n: int) -> np.ndarray:
    """A random permutation of ``range(n)`` drawn item by item, each next item
    among those left with probability proportional to its weight (uniform
    when ``weights`` is ``None``).

    Efraimidis and Spirakis's sampling without replacement: order the items
    by exponential keys of rates ``weights``.

    Examples
    --------
    >>> import numpy as np
    >>> p = weighted_permutation(np.random.default_rng(1), np.array([1.0, 1e9, 1.0]), 3)
    >>> int(p[0]), sorted(p.tolist())
    (1, [0, 1, 2])
    """
    if weights is None:
        return rng.permutation(n)
    keys = rng.exponential(size=n) / weights
    return np.argsort(keys, kind="stable")


def row_order(rng: np.random.Generator, layout: Layout,
              weights: np.ndarray | None) -> np.ndarray:
    """The ``"rows"`` shuffle: every row once, each next row drawn among the rows
    left with probability proportional to its member's weight (a uniform
    permutation without weights)."""
    per_row = None if weights is None else np.repeat(
        weights, np.diff(layout.member_ends, prepend=0))
    return weighted_permutation(rng, per_row, layout.length)


def block_order(rng: np.random.Generator, starts: np.ndarray, stops: np.ndarray,
                weights: np.ndarray | None, n_active: int) -> np.ndarray:
    """The ``"blocks"`` shuffle: every row of the blocks ``[starts, stops)`` once.

    1. The order in which blocks enter the working set: each next block drawn
       among those left with probability proportional to its weight
       (:func:`weighted_permutation`).
    2. The first ``n_active`` enter at time 0; each row gets its block's
       entry time plus an exponential waiting time; a block leaves at its
       last row's time, and the next block enters in its place then.
    3. The rows, in order of their times: at every step, a row drawn
       uniformly among the rows left in the working set.
    """
    sizes = stops - starts
    entering = weighted_permutation(rng, weights, len(starts))
    lengths = sizes[entering]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    waits = rng.exponential(size=int(offsets[-1]))
    if not len(lengths):
        return np.zeros(0, np.int64)
    # The last row of a block leaves at its entry time plus its longest wait
    # (blocks are never empty).
    longest = np.maximum.reduceat(waits, offsets[:-1])
    entry = np.zeros(len(lengths))
    leaving: list[float] = []
    for k in range(len(lengths)):
        if k >= n_active:
            entry[k] = heapq.heappop(leaving)
        heapq.heappush(leaving, entry[k] + longest[k])
    times = waits + np.repeat(entry, lengths)
    # Each row's number, laid out as the waits are: the blocks in entry order.
    rows = np.repeat(starts[entering] - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
    return rows[np.argsort(times, kind="stable")]


@dataclass(frozen=True, eq=False)
class BatchJob:
    """One batch of the plan, and what to read for it.

    Attributes
    ----------
    number : int
        The batch's place among all batches of all epochs.
    rows : numpy.ndarray of int64
        The batch's rows, in the order yielded.
    blocks : tuple of (int, int)
        ``"blocks"`` shuffle: the ``(start, stop)`` of the blocks to read for
        this batch (those it is the first to need); empty otherwise, when
        the rows themselves are read.
    release : tuple of int
        ``"blocks"`` shuffle: the starts of the blocks no later batch needs,
        dropped from the working set after this one.
    from_blocks : bool
        Whether the batch is gathered from blocks (read whole, kept in a
        working set), or read row by row.
    """

    number: int
    rows: np.ndarray
    blocks: tuple[tuple[int, int], ...] = ()
    release: tuple[int, ...] = ()
    from_blocks: bool = False

    @property
    def rows_read(self) -> int:
        """How many rows are read for this batch: of its new blocks, or its own."""
        if self.from_blocks:
            return sum(b - a for a, b in self.blocks)
        return len(self.rows)


def _batch_bounds(n: int, batch_size: int, drop_last: bool) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of an epoch of ``n`` rows.

    Examples
    --------
    >>> _batch_bounds(5, 2, False), _batch_bounds(5, 2, True)
    ([(0, 2), (2, 4), (4, 5)], [(0, 2), (2, 4)])
    """
    stop = n - n % batch_size if drop_last else n
    return [(a, min(a + batch_size, n)) for a in range(0, stop, batch_size)]


def epoch_jobs(rng: np.random.Generator, layout: Layout, shuffle: str | bool, batch_size: int,
               drop_last: bool, weights: np.ndarray | None, n_active: int, epochs: int
               ) -> Iterator[BatchJob]:
    """The batches of every epoch, planned an epoch at a time (when its first is needed)."""
    number = 0
    for _ in range(epochs):
        if shuffle is False:
            order = np.arange(layout.length, dtype=np.int64)
        elif shuffle == "rows":
            order = row_order(rng, layout, weights)
        else:
            block_weights = None if weights is None else weights[layout.block_members]
            order = block_order(rng, layout.block_starts, layout.block_stops, block_weights,
                                n_active)
        order = order.astype(np.int64, copy=False)
        bounds = _batch_bounds(layout.length, batch_size, drop_last)
        if shuffle != "blocks":
            for a, b in bounds:
                yield BatchJob(number, order[a:b])
                number += 1
            continue
        # The batch each block is first and last needed in (of those kept).
        kept = bounds[-1][1] if bounds else 0
        block = np.searchsorted(layout.block_starts, order[:kept], side="right") - 1
        batch = np.arange(kept) // batch_size
        first = np.full(len(layout.block_starts), np.iinfo(np.int64).max)
        last = np.full(len(layout.block_starts), -1)
        np.minimum.at(first, block, batch)
        np.maximum.at(last, block, batch)
        needed = np.flatnonzero(last >= 0)
        reads: dict[int, list[int]] = {}
        drops: dict[int, list[int]] = {}
        for k in needed.tolist():
            reads.setdefault(int(first[k]), []).append(k)
            drops.setdefault(int(last[k]), []).append(k)
        for i, (a, b) in enumerate(bounds):
            yield BatchJob(
                number, order[a:b],
                tuple((int(layout.block_starts[k]), int(layout.block_stops[k]))
                      for k in reads.get(i, ())),
                tuple(int(layout.block_starts[k]) for k in drops.get(i, ())),
                from_blocks=True,
            )
            number += 1
