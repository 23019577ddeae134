"""Per-thread scratch memory, reused from call to call.

Why it exists: a fresh multi-megabyte ``numpy.empty`` is memory the
operating system maps lazily, so the first write to each of its pages
faults; and an allocation that large is handed back to the system when it
is freed (glibc's ``mmap`` threshold), so the next one faults all over
again. Readers that decode a chunk at a time, and reductions that need a
temporary per tile, would pay those faults on every chunk or tile, at a
cost comparable to the work itself. A buffer kept by the thread faults
once, and is then reused.

One thread, one buffer per *slot*: users name their slot (by convention
``"package.purpose"``, such as ``"hdf5.read"``), so that two users in the
same thread never share memory. Buffers live as long as their thread; the
worker pools' threads end with each evaluation, and ``keep`` bounds what a
long-lived thread (the main thread) holds on to.

When the caller may hold a buffer: from the call until the same thread
asks for the same slot again. So hold it only inside one function, never
return it, store it or hand it to another thread, and do not, while using
it, call code that may ask for the same slot (a slot of one's own avoids
that). The contents are whatever was there before: nothing is zeroed.

Examples
--------
>>> a = scratch_bytes(16, slot="doc.a")
>>> a.dtype, a.shape
(dtype('uint8'), (16,))
>>> b = scratch_bytes(8, slot="doc.a")  # the same memory, viewed shorter
>>> bool(np.shares_memory(a, b))
True
>>> bool(np.shares_memory(a, scratch_bytes(16, slot="doc.b")))  # another slot
False
>>> scratch_array((2, 3), np.dtype("f8"), slot="doc.c").shape
(2, 3)
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["scratch_array", "scratch_bytes"]

#: Each thread's buffers, by slot name (a dict made on the thread's first call).
_local = threading.local()


def scratch_bytes(nbytes: int, slot: str = "default", *, keep: int | None = None) -> np.ndarray:
    """A uint8 array of ``nbytes``, the calling thread's buffer for ``slot``.

    The slot's buffer is reused when it is big enough (a view of its first
    ``nbytes``); otherwise a new one is made, and kept for the slot unless
    it is bigger than ``keep``.

    Parameters
    ----------
    nbytes : int
        Bytes wanted.
    slot : str
        Whose buffer: one name per user, so that users in the same thread
        do not overwrite each other's bytes (see the module's docstring for
        how long a buffer may be held).
    keep : int, optional
        The largest buffer kept for the next call, in bytes; larger requests
        get an array of their own, which the slot forgets (its previous
        buffer stays). Default: no limit.

    Returns
    -------
    numpy.ndarray of uint8, shape (nbytes,)
        Uninitialised: its bytes are whatever the slot last held.
    """
    slots: dict[str, np.ndarray] | None = getattr(_local, "slots", None)
    if slots is None:
        slots = _local.slots = {}
    buffer = slots.get(slot)
    if buffer is not None and buffer.size >= nbytes:
        return buffer[:nbytes]
    buffer = np.empty(nbytes, np.uint8)
    if keep is None or nbytes <= keep:
        slots[slot] = buffer
    return buffer


def scratch_array(shape: tuple[int, ...], dtype: np.dtype, slot: str = "default", *,
                  keep: int | None = None) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype`` over the slot's buffer.

    :func:`scratch_bytes` of the array's size, viewed as ``dtype``; the same
    rules for holding it apply.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    return scratch_bytes(nbytes, slot, keep=keep).view(dtype).reshape(shape)
