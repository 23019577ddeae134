"""Read buffers that tiles borrow and hand back, so big reads reuse memory.

Each tile of a pass reads tens of MB from its sources. A fresh ``np.empty``
of that size is mapped anew by the allocator on every tile, and the kernel
then zeroes it page by page as the read fills it: a tenth of the time of a
streaming mean over HDF5 went there (DESIGN, section 12). While a pass runs,
adapters ask their evaluation context for their output arrays
(:meth:`lazyarray.context.EvaluationContext.read_buffer`); the context lends
them from the pass's :class:`BufferPool`, and the executor gives them back
once the tile's results have been merged and nothing refers to them any more.

Elementwise maths borrows the same way
(:meth:`~lazyarray.context.EvaluationContext.scratch_buffer`): the memory a
ufunc writes its result into when no operand can take it, so that
``(a - b) * 2.5 + 1`` on a big tile refills a reused block instead of
faulting in a new one.

Examples
--------
>>> pool = BufferPool()
>>> in_use = pool.take(4000)
>>> len(pool.give_back([in_use]))  # still referred to: not reused, handed back
1
>>> pool.give_back([pool.take(4000)])  # nothing else refers to it: kept
[]
>>> block = pool.take(3000)  # the kept block serves a read of 3000 to 4000 bytes
>>> block.nbytes, pool.made
(4000, 2)
"""

from __future__ import annotations

import sys
import threading

import numpy as np

__all__ = ["SCRATCH_MIN_BYTES", "BufferPool"]


def _unused_references() -> int:
    """What ``sys.getrefcount`` says, in :meth:`BufferPool.give_back`'s loop,
    of a buffer nothing else refers to (it differs between Python versions)."""
    for buffer in [np.empty(1)]:
        return sys.getrefcount(buffer)
    raise AssertionError("unreachable")


_UNUSED_REFERENCES = _unused_references()


#: Arrays smaller than this (in bytes) are not worth lending: the allocator
#: hands small blocks back from its own free lists without page faults
#: (glibc's default threshold for mapping fresh memory is 128 KiB), and the
#: pool's lock and bookkeeping would cost more than they save.
SCRATCH_MIN_BYTES = 1 << 17


class BufferPool:
    """Spare read buffers of one pass: blocks of bytes, lent by size.

    Tiles of a pass differ in shape (the last along an axis, tiles cut on
    chunk or member boundaries), so a spare block serves any read that
    needs between half of it and all of it.

    Parameters
    ----------
    keep : int
        Spare blocks kept at most; more are left to the allocator. Blocks in
        use are the tiles in flight; spares only replace the allocations of
        the next tiles.
    """

    def __init__(self, keep: int = 4):
        self._keep = keep
        #: Blocks this pool has allocated; every other :meth:`take` reused one.
        self.made = 0
        self._spare: list[np.ndarray] = []
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> np.ndarray:
        """A spare block of ``nbytes`` to twice that (the smallest), or a new one."""
        with self._lock:
            fits = [b for b in self._spare if nbytes <= b.nbytes <= 2 * nbytes]
            if fits:
                block = min(fits, key=lambda b: b.nbytes)
                self._spare = [b for b in self._spare if b is not block]
                return block
            self.made += 1
        return np.empty(nbytes, np.uint8)

    def give_back(self, borrowed: list[np.ndarray]) -> list[np.ndarray]:
        """Keep the ``borrowed`` blocks that nothing else refers to.

        A block still referred to (by a result that kept a view of it, or a
        thread not yet done with it) is never reused; those are returned, so
        the caller can try again later.
        """
        still_used = []
        with self._lock:
            for block in borrowed:
                if sys.getrefcount(block) > _UNUSED_REFERENCES:
                    still_used.append(block)
                elif len(self._spare) < self._keep:
                    self._spare.append(block)
        borrowed.clear()
        return still_used
