"""Carries of scans, handed from one region to the next in an evaluation.

A scan (``cumsum`` along an axis) evaluated region by region needs, for a
region beginning at position ``a`` along its axis, the *carry*: the scan's
value just before ``a`` (the sum of everything before it), across the
region's other axes. The region that ends at ``a`` computed it; a
:class:`CarryStore` keeps it for the next.

1. Each scan has a **chain**, named by the scan its selections were
   selected from. A carry is kept with the position along the axis it
   precedes and the **cross-section** it covers: the selection of the
   other axes, in the whole scan's coordinates (a tuple of normalised key
   items).
2. A region that computed its part **publishes** the carry at its end;
   a region after it takes that carry, or the part of it covering its own
   cross-section (a carry of a whole cross-section serves every tile of
   it). The carries of a cross-section before the region that consumed
   them are dropped: a chain holds a few cross-sections at a time.
3. The executor **announces** the regions it hands to worker threads, in
   traversal order, before they start (:meth:`CarryStore.announce`). A
   region whose carry an announced region will publish waits for it
   instead of computing it again: so each region's input is read once, and
   its own reads still run ahead of the wait.
4. A region whose carry nobody publishes nor will (an evaluation by hand,
   a selection starting mid-axis) computes it from the nearest carry known
   before it, or from the start (:meth:`Chain.best`).

The carries are exact: every region's scan, and every carry computed
from a nearest one, adds in numpy's order, so results are numpy's bit for
bit whoever computed what.

Examples
--------
>>> import numpy as np
>>> chain = CarryStore().chain("cumsum of x")
>>> whole = (range(0, 3),)  # the cross-section: positions 0-2 of the other axis
>>> chain.best(4, whole)
(0, None)
>>> chain.publish(4, whole, np.array([[10.0, 20.0, 30.0]]), consumed=0)
>>> chain.best(6, (range(1, 3),))  # part of it serves part of the cross-section
(4, array([[20., 30.]]))
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np

__all__ = ["CarryStore", "Chain", "Section", "Ticket"]

#: A cross-section: per other axis of the scan, an int, a range or an index
#: array (a normalised key item), in the whole scan's coordinates.
Section = tuple[Any, ...]

#: An announcement: the chain, and what it will publish (position, section).
Ticket = tuple["Chain", int, Section]


def _positions(item: Any) -> np.ndarray:
    if isinstance(item, range):
        return np.arange(item.start, item.stop, item.step, dtype=np.intp)
    return np.atleast_1d(np.asarray(item, np.intp))


def _within(inner: Section, outer: Section) -> list[Any] | None:
    """Where ``inner``'s positions lie in ``outer``'s, per axis that ``outer``
    keeps (an index array, or an int where ``inner`` drops the axis); ``None``
    if some are not in ``outer``."""
    where: list[Any] = []
    for small, large in zip(inner, outer):
        if isinstance(large, (int, np.integer)):
            if not isinstance(small, (int, np.integer)) or small != large:
                return None
            continue
        positions = _positions(large)
        wanted = _positions(small)
        order = np.argsort(positions, kind="stable")
        found = np.searchsorted(positions[order], wanted)
        found = np.minimum(found, max(positions.size - 1, 0))
        if positions.size == 0 and wanted.size:
            return None
        if wanted.size and not np.array_equal(positions[order][found], wanted):
            return None
        index = order[found] if wanted.size else np.empty(0, np.intp)
        where.append(int(index[0]) if isinstance(small, (int, np.integer)) else index)
    return where


def _part(carry: np.ndarray, where: list[Any], axis: int) -> np.ndarray:
    """The part of ``carry`` (whose ``axis``, the scan's, has length 1) at
    ``where``, one axis at a time (orthogonally), the last first so that the
    axes before keep their numbers."""
    if not where:
        return carry  # a scan of one axis: the carry is all there is
    other = [a for a in range(carry.ndim) if a != axis]
    for a, item in reversed(list(zip(other, where))):
        carry = carry[(slice(None),) * a + (item,)]
    return carry


def _same(first: Section, second: Section) -> bool:
    return len(first) == len(second) and all(
        (isinstance(a, range) and isinstance(b, range) and a == b)
        or (not isinstance(a, range) and not isinstance(b, range)
            and np.array_equal(np.asarray(a), np.asarray(b)))
        for a, b in zip(first, second)
    )


class Chain:
    """The carries of one scan's regions (see the module). Thread-safe."""

    def __init__(self) -> None:
        self._carries: list[tuple[int, Section, Any]] = []
        self._announced: list[tuple[int, Section]] = []
        self._changed = threading.Condition()

    def announce(self, position: int, section: Section) -> Ticket:
        """Say that a region will publish the carry of ``section`` at
        ``position``; give the ticket back with :meth:`CarryStore.release`
        once it has run."""
        with self._changed:
            self._announced.append((position, section))
        return self, position, section

    def _release(self, position: int, section: Section) -> None:
        with self._changed:
            for number, (p, s) in enumerate(self._announced):
                if p == position and _same(s, section):
                    del self._announced[number]
                    break
            self._changed.notify_all()

    def best(self, position: int, section: Section, cancelled: threading.Event | None = None,
             axis: int = 0) -> tuple[int, Any]:
        """The carry of ``section`` at ``position``, or the nearest known before it.

        Waits while a region announced to publish a carry covering
        ``section``, at a position between the nearest known and
        ``position``, has not done so (it is running: the executor
        announces regions in traversal order, so never one that waits,
        directly or not, for this one). Returns ``(0, None)`` when nothing
        is known before ``position``: the scan's start, whose carry is the
        identity. Returns early, with what is known, when ``cancelled`` is
        set. ``axis``: the carry's axis along the scan (kept, of length 1).

        Returns
        -------
        (int, object)
            The position of the carry found and the carry (of ``section``).
        """
        with self._changed:
            while True:
                found, carry = 0, None
                for p, s, value in self._carries:
                    if found < p <= position:
                        where = _within(section, s)
                        if where is not None:
                            found, carry = p, _part(value, where, axis)
                waiting = any(found < p <= position and _within(section, s) is not None
                              for p, s in self._announced)
                if not waiting or (cancelled is not None and cancelled.is_set()):
                    return found, carry
                # A timeout, so that a cancelled evaluation is noticed.
                self._changed.wait(0.05)

    def publish(self, position: int, section: Section, carry: Any, consumed: int) -> None:
        """Keep ``carry``, the scan's value of ``section`` before ``position``,
        computed by a region that began at ``consumed``: the carries of that
        section before it are needed no more."""
        with self._changed:
            self._carries = [
                (p, s, v) for p, s, v in self._carries
                if not (p < consumed and _same(s, section)) and not (p == position
                                                                     and _same(s, section))
            ]
            self._carries.append((position, section, carry))
            self._changed.notify_all()


class CarryStore:
    """The chains of carries of one evaluation (see the module).

    Examples
    --------
    Announced regions make their successors wait rather than recompute:

    >>> import threading
    >>> store = CarryStore()
    >>> tickets = store.announce([("x", 3, ())])
    >>> done = threading.Timer(0.1, store.chain("x").publish, (3, (), "carry", 0))
    >>> done.start()
    >>> store.chain("x").best(3, ())
    (3, 'carry')
    >>> store.release(tickets)
    """

    def __init__(self) -> None:
        self._chains: dict[Hashable, Chain] = {}
        self._lock = threading.Lock()

    def chain(self, key: Hashable) -> Chain:
        """The chain named ``key``, made on first use."""
        with self._lock:
            found = self._chains.get(key)
            if found is None:
                found = self._chains[key] = Chain()
            return found

    def announce(self, ends: Iterable[tuple[Hashable, int, Section]]) -> list[Ticket]:
        """Announce regions by ``(chain key, end position, section)``; their tickets."""
        return [self.chain(key).announce(position, section) for key, position, section in ends]

    @staticmethod
    def release(tickets: Iterable[Ticket]) -> None:
        """Withdraw announcements whose regions have run (or never will)."""
        for chain, position, section in tickets:
            chain._release(position, section)
