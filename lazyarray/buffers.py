"""Read buffers that tiles borrow and hand back, so big reads reuse memory.

Each tile of a pass reads tens of MB from its sources. A fresh ``np.empty``
of that size is mapped anew by the allocator on every tile, and the kernel
then zeroes it page by page as the read fills it: a tenth of the time of a
streaming mean over HDF5 went there (DESIGN, section 12). While a pass runs,
adapters ask :func:`read_buffer` for their output arrays; the executor lends
them from a :class:`BufferPool` and takes them back once the tile's results
have been merged and nothing refers to them any more.

Outside an evaluation :func:`read_buffer` is plain ``np.empty``.

Elementwise maths borrows the same way: :func:`scratch_buffer` lends the
memory a ufunc writes its result into when no operand can take it, so that
``(a - b) * 2.5 + 1`` on a big tile refills a reused block instead of
faulting in a new one.

Examples
--------
>>> import numpy as np
>>> pool = BufferPool()
>>> with pool.lending() as borrowed:
...     first = read_buffer((1000,), np.dtype("f4"))
>>> address = first.__array_interface__["data"][0]
>>> del first
>>> pool.give_back(borrowed)  # nothing still in use
[]
>>> with pool.lending():
...     again = read_buffer((1000,), np.dtype("f4"))
>>> again.__array_interface__["data"][0] == address
True
"""

from __future__ import annotations

import contextvars
import math
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["SCRATCH_MIN_BYTES", "BufferPool", "read_buffer", "scratch_buffer"]

_lending: contextvars.ContextVar[tuple[BufferPool, list[np.ndarray]] | None] = (
    contextvars.ContextVar("lazyarray_read_buffers", default=None)
)



def _unused_references() -> int:
    """What ``sys.getrefcount`` says, in :meth:`BufferPool.give_back`'s loop,
    of a buffer nothing else refers to (it differs between Python versions)."""
    for buffer in [np.empty(1)]:
        return sys.getrefcount(buffer)
    raise AssertionError("unreachable")


_UNUSED_REFERENCES = _unused_references()


def read_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array for a read: lent by the running pass, or new."""
    lending = _lending.get()
    if lending is None:
        return np.empty(shape, dtype)
    pool, borrowed = lending
    nbytes = math.prod(shape) * dtype.itemsize
    memory = pool.take(nbytes)
    borrowed.append(memory)
    return memory[:nbytes].view(dtype).reshape(shape)


#: Arrays smaller than this (in bytes) are not worth lending: the allocator
#: hands small blocks back from its own free lists without page faults
#: (glibc's default threshold for mapping fresh memory is 128 KiB), and the
#: pool's lock and bookkeeping would cost more than they save.
SCRATCH_MIN_BYTES = 1 << 17


def scratch_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """An uninitialised array for a computed result, lent by the running pass.

    As :func:`read_buffer`, but only during an evaluation and for arrays of
    at least :data:`SCRATCH_MIN_BYTES`; otherwise ``None``, and the caller
    lets numpy allocate. The block goes back to the pool with the tile's
    read buffers, and is reused only once nothing refers to it.

    Examples
    --------
    >>> import numpy as np
    >>> scratch_buffer((10**6,), np.dtype("f8")) is None  # not in an evaluation
    True
    >>> with BufferPool().lending() as borrowed:
    ...     out = scratch_buffer((10**6,), np.dtype("f8"))
    ...     small = scratch_buffer((10,), np.dtype("f8"))
    >>> out.shape, small, len(borrowed)
    ((1000000,), None, 1)
    """
    if _lending.get() is None or math.prod(shape) * dtype.itemsize < SCRATCH_MIN_BYTES:
        return None
    return read_buffer(shape, dtype)


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

    @contextmanager
    def lending(self) -> Iterator[list[np.ndarray]]:
        """Lend buffers to :func:`read_buffer` calls in this block; yields their list."""
        borrowed: list[np.ndarray] = []
        token = _lending.set((self, borrowed))
        try:
            yield borrowed
        finally:
            _lending.reset(token)

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
