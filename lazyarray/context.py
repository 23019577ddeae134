"""The evaluation context: everything evaluating a region needs, passed explicitly.

Evaluating a node's region needs more than the node: the options of the
call (may sources be read directly? which kernels?), somewhere to share a
source read between the results that need it, buffers lent by the pass so
that big reads reuse memory, a flag saying the evaluation was abandoned, and
somewhere to keep the values of nodes that several others use. All of it
lives in one :class:`EvaluationContext`, which every method that evaluates
takes as an argument (``_evaluate(context, masked)``, ``_compute_steps``,
adapters' ``_read(native, context)``, accumulators' ``chunk``); nothing
reaches them through global or context variables.

So a region of a graph can be evaluated by anyone who builds a context: the
executor builds one per tile in its worker threads, an outside engine (a
Dask task, a generator yielding tiles) builds its own in any thread or
process.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(12.0).reshape(3, 4))
>>> context = EvaluationContext()
>>> context.evaluate(x * 2, (slice(1, 3), 2)).tolist()
[12.0, 20.0]
>>> context.evaluate(la.mean(x, axis=0), masked=True).tolist()
[4.0, 5.0, 6.0, 7.0]
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from . import buffers as _buffers
from .buffers import BufferPool
from .carries import CarryStore
from .options import Options, get_options

if TYPE_CHECKING:
    from .array import Array

__all__ = ["EvaluationContext", "shared_result"]


class EvaluationContext:
    """What evaluating a region of a graph needs, in one object.

    A context is used by one thread at a time; the parts it shares with
    other contexts of the same evaluation (the buffer pool, the cancel flag)
    are thread-safe. Build one per task (:meth:`for_tile` derives one from
    the evaluation's).

    Parameters
    ----------
    options : Options, optional
        The evaluation's options; by default those in force
        (:func:`lazyarray.get_options`) when the context is built.
    buffers : lazyarray.buffers.BufferPool, optional
        Where big read and scratch buffers are lent from; ``None`` (default)
        allocates each afresh. Lent buffers are listed in :attr:`borrowed`
        until the caller gives them back to the pool.
    cancelled : threading.Event, optional
        Set when the evaluation is abandoned (another tile failed, a
        generator was closed); long-running steps look at it between units
        of work. By default a new, unset event.
    carries : lazyarray.carries.CarryStore, optional
        Where scans hand their carries from one region to the next
        (:mod:`lazyarray.carries`); by default a new store, made when first
        asked for.

    Attributes
    ----------
    options : Options
    buffers : BufferPool or None
    borrowed : list of numpy.ndarray
        The blocks lent by :attr:`buffers` to this context since the last
        :meth:`lending` began (or since it was built).
    """

    def __init__(self, options: Options | None = None, *, buffers: BufferPool | None = None,
                 cancelled: threading.Event | None = None, carries: CarryStore | None = None):
        self.options = get_options() if options is None else options
        self.buffers = buffers
        self._cancelled = cancelled
        self._carries = carries
        self.borrowed: list[np.ndarray] = []
        self._reads: dict[Hashable, Any] | None = None
        #: Values shared between the steps of one :meth:`evaluate` (``None``
        #: outside one): see :meth:`lazyarray.Array._evaluate_steps`.
        self.memo: dict[str, Any] | None = None

    @property
    def cancelled(self) -> threading.Event:
        """Set when the evaluation is abandoned (see the class's parameters)."""
        if self._cancelled is None:
            # Made when first asked for: most small evaluations never ask.
            self._cancelled = threading.Event()
        return self._cancelled

    @property
    def carries(self) -> CarryStore:
        """Where scans keep their carries (see the class's parameters)."""
        if self._carries is None:
            self._carries = CarryStore()
        return self._carries

    def for_tile(self) -> EvaluationContext:
        """A context for another task of the same evaluation: same options,
        buffer pool, cancel flag and carries; reads, loans and memo of its own."""
        return EvaluationContext(self.options, buffers=self.buffers, cancelled=self.cancelled,
                                 carries=self.carries)

    # -- evaluating ------------------------------------------------------------
    def evaluate(self, array: Array, key: Any = None, masked: bool = False) -> np.ndarray:
        """The value of ``array[key]`` (all of it by default), in memory.

        Parameters
        ----------
        array : lazyarray.Array
            The node; the selection must fit in memory.
        key : optional
            Any key ``array[key]`` accepts.
        masked : bool
            Return a ``numpy.ma.MaskedArray``; otherwise masked points are
            filled with the array's fill value.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> y = la.asarray(np.arange(6)) + 1
        >>> EvaluationContext().evaluate(y, slice(None, None, 2)).tolist()
        [1, 3, 5]
        """
        node = array if key is None else array[key]
        with self.sharing_reads(keep=True):
            return node._evaluate(self, masked)

    # -- reads shared between results --------------------------------------------
    def sharing_reads(self, keep: bool = False) -> _SharedReads:
        """Share reads within the ``with`` block: :meth:`cached_read` calls
        with the same key read once. A new block starts afresh, and the
        reads shared before it are shared again after it; ``keep=True``
        joins the block in progress, if any, instead."""
        return _SharedReads(self, keep)

    def cached_read(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """``read()``, or its earlier result for ``key`` in the same
        :meth:`sharing_reads` block (two results needing the same region of
        the same source share one read).

        Examples
        --------
        >>> context, calls = EvaluationContext(), []
        >>> with context.sharing_reads():
        ...     first = context.cached_read("a", lambda: calls.append(1) or "data")
        ...     again = context.cached_read("a", lambda: calls.append(1) or "data")
        >>> first == again == "data", len(calls)
        (True, 1)
        """
        reads = self._reads
        if reads is None:
            return read()
        if key not in reads:
            reads[key] = read()
        return reads[key]

    # -- memory lent by the pass ---------------------------------------------------
    @contextmanager
    def lending(self) -> Iterator[list[np.ndarray]]:
        """Collect the blocks lent inside the ``with`` block in a list of
        their own (yielded), apart from those lent before."""
        outer, self.borrowed = self.borrowed, []
        try:
            yield self.borrowed
        finally:
            self.borrowed = outer

    def read_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array for a read: lent by :attr:`buffers`, or new.

        Examples
        --------
        >>> import numpy as np
        >>> context = EvaluationContext(buffers=BufferPool())
        >>> context.read_buffer((2, 3), np.dtype("f4")).shape, len(context.borrowed)
        ((2, 3), 1)
        """
        if self.buffers is None:
            return np.empty(shape, dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        memory = self.buffers.take(nbytes)
        self.borrowed.append(memory)
        return memory[:nbytes].view(dtype).reshape(shape)

    def scratch_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
        """An uninitialised array for a computed result, lent by :attr:`buffers`.

        As :meth:`read_buffer`, but only with a pool and for arrays of at
        least :data:`~lazyarray.buffers.SCRATCH_MIN_BYTES`; otherwise
        ``None``, and the caller lets numpy allocate.

        Examples
        --------
        >>> import numpy as np
        >>> EvaluationContext().scratch_buffer((10**6,), np.dtype("f8")) is None
        True
        >>> context = EvaluationContext(buffers=BufferPool())
        >>> context.scratch_buffer((10**6,), np.dtype("f8")).shape
        (1000000,)
        >>> context.scratch_buffer((10,), np.dtype("f8")) is None
        True
        """
        if (self.buffers is None
                or math.prod(shape) * dtype.itemsize < _buffers.SCRATCH_MIN_BYTES):
            return None
        return self.read_buffer(shape, dtype)


class _SharedReads:
    """The ``with`` block of :meth:`EvaluationContext.sharing_reads`.

    A class rather than a generator-based context manager: every small
    evaluation enters one, and this costs a third as much.
    """

    __slots__ = ("_context", "_joined", "_keep", "_outer")

    def __init__(self, context: EvaluationContext, keep: bool):
        self._context = context
        self._keep = keep
        self._joined = False  # the block in progress: nothing to restore
        self._outer: dict[Hashable, Any] | None = None

    def __enter__(self) -> None:
        context = self._context
        if self._keep and context._reads is not None:
            self._joined = True
            return
        self._outer, context._reads = context._reads, {}

    def __exit__(self, *exc_info: object) -> None:
        if not self._joined:
            self._context._reads = self._outer


def shared_result(context: EvaluationContext | None, key: Hashable,
                  find: Callable[[], Any]) -> Any:
    """``find()``, found once per :meth:`~EvaluationContext.sharing_reads`
    block of ``context`` (the statistics of one tile share its counts and
    sums, say); found each time without a context.

    The result should hold the objects whose ids ``key`` contains, so that
    those ids are not reused by other objects while the entry lives.
    """
    return find() if context is None else context.cached_read(key, find)
