"""Running one pass of a plan: tiles evaluated by worker threads, merged in order by the caller's thread."""

from __future__ import annotations

import collections
import contextvars
import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np

from ..accumulators import State
from ..aggregation import Aggregation
from ..array import Array
from ..buffers import BufferPool
from ..carries import CarryStore, Ticket
from ..context import EvaluationContext
from ..encoding import EncodedChunk
from ..fused import kernels_for
from ..graph import rewrite, walk
from ..options import Options
from ..planning import Pass
from .progress import Reporter
from .sinks import Sink, Stored
from .states import StatePool, block_states, blocking_of, task_states

#: What :meth:`PassRun.announce` prepares for a task: its inputs selected on
#: each of its tiles, and the tickets of the carries announced.
Prepared = tuple[list[list[Array]], list[Ticket]]


def as_ranges(region: tuple[slice, ...]) -> tuple[range, ...]:
    return tuple(range(s.start, s.stop) for s in region)


class PassRun:
    """The state of one pass while it runs: accumulators, counts, sinks."""

    def __init__(self, step: Pass, options: Options, replacements: dict[int, Array],
                 sinks: dict[int, list[Sink]],
                 masked: bool, carries: CarryStore | None = None):
        self.step = step
        self.masked = masked
        # Graphs with earlier stages' aggregations replaced by their results.
        self.reductions = [cast(Aggregation, rewrite(r, replacements)) for r in step.reductions]
        self.originals = list(step.reductions)
        self.stores = [(rewrite(s, replacements), s) for s in step.stores]
        inputs: list[Array] = []
        index: dict[int, int] = {}
        for node in [r.array for r in self.reductions] + [s for s, _ in self.stores]:
            if id(node) not in index:
                index[id(node)] = len(inputs)
                inputs.append(node)
        self.inputs = inputs
        self.reduction_inputs = [index[id(r.array)] for r in self.reductions]
        self.store_inputs = [index[id(s)] for s, _ in self.stores]
        #: Inputs whose tile values are kept for the whole tile, to be stored.
        self.kept = frozenset(self.store_inputs)
        # Per input, the reductions of it, and how its tiles are cut into blocks.
        self.grouped: dict[int, list[int]] = {}
        for n, i in enumerate(self.reduction_inputs):
            self.grouped.setdefault(i, []).append(n)
        self.blocking = {
            i: blocking_of([self.reductions[n] for n in mine], step.tile)
            for i, mine in self.grouped.items()
        }
        self.sinks = sinks
        self.partials: list[dict[tuple[int, ...], State]] = [{} for _ in self.reductions]
        self.pool = StatePool()
        #: The evaluation's context; each task works in one derived from it.
        self.buffers = BufferPool()
        # The kernels are chosen for the pass as a whole, from what it reduces.
        reduced = sum(inputs[i].nbytes for i in set(self.reduction_inputs))
        self.context = EvaluationContext(kernels_for(options, reduced), buffers=self.buffers,
                                         carries=carries)
        self.cancelled = self.context.cancelled
        #: Whether some input scans (``cumsum``): its tiles pass carries along
        #: and are announced before they start (see :meth:`announce`).
        self.carrying = any(node._plan_carries() for node in walk(inputs))
        self.lent: list[np.ndarray] = []  # read buffers still referred to at last look
        self.left: list[dict[tuple[int, ...], int]] = [{} for _ in self.reductions]
        # A reduction asked for in memory keeps its result in that buffer;
        # others (needed by later stages, or only saved) get their own.
        self.results = [
            next((s for s in sinks.get(id(o), ())
                  if s.target is None and s.masked == (masked or r.masked)), None)
            or Sink(r, masked or r.masked)
            for r, o in zip(self.reductions, self.originals)
        ]
        self.read_bytes_per_element = step.read_bytes // max(math.prod(step.domain), 1)

    # -- main-thread side, before a task starts ---------------------------------
    def announce(self, task: list[tuple[slice, ...]]) -> Prepared:
        """Select the inputs on the task's tiles, and announce the carries
        their scans will publish (:mod:`lazyarray.carries`).

        Called in traversal order, before the task is handed to a worker:
        a tile that needs the carry of a tile before it then waits for that
        one, which has started, instead of computing the carry again.
        """
        selected = [[node._select(as_ranges(region)) for node in self.inputs]
                    for region in task]
        ends = [end for nodes in selected for node in walk(nodes)
                for end in node._plan_carries()]
        return selected, self.context.carries.announce(ends)

    # -- worker side (pure) ----------------------------------------------------
    def work(self, task: list[tuple[slice, ...]], prepared: Prepared | None = None
             ) -> tuple[list[State], list[Stored], list[np.ndarray]]:
        try:
            return self._work(task, None if prepared is None else prepared[0])
        except BaseException:
            self.cancelled.set()  # other tasks stop at their next tile
            raise
        finally:
            if prepared is not None:
                CarryStore.release(prepared[1])

    def _work(self, task: list[tuple[slice, ...]], selected: list[list[Array]] | None
              ) -> tuple[list[State], list[Stored], list[np.ndarray]]:
        """Partial states and stored values of a task: tiles with one output region.

        A task of several tiles (a pass of reductions only, see
        :attr:`Pass.group`) reads them one after the other and combines
        their states block by block while the blocks are in the CPU cache;
        the main thread then merges one state per task instead of one per tile.
        """
        running: dict[int, list[list[State]]] = {}
        values: list[np.ndarray | None] = []
        borrowed: list[np.ndarray] = []
        context = self.context.for_tile()
        for number, region in enumerate(task):
            if self.cancelled.is_set():
                return [], [], []  # the pass failed elsewhere: read no more
            values, borrowed = self._tile(context, region, running,
                                          None if selected is None else selected[number])
            if self.cancelled.is_set():
                return [], [], []
            if len(task) > 1:  # reductions only: the tile's data is done with
                values = []
                self.buffers.give_back(borrowed)
        states: list[State | None] = [None] * len(self.reductions)
        for index, blocks in running.items():
            mine = self.grouped[index]
            joined = task_states([self.reductions[n] for n in mine], blocks,
                                 self.blocking[index], self.pool)
            for n, state in zip(mine, joined):
                states[n] = state
        # Filled for the reductions of every group the task's tiles ran; the
        # main thread reads no other entry.
        found = cast(list[State], states)
        if len(task) > 1:
            return found, [], []
        region = task[0]
        stored = [self._stored(context, region, cast(np.ndarray, values[i]), original)
                  for i, (_, original) in zip(self.store_inputs, self.stores)]
        return found, stored, borrowed

    def _tile(self, context: EvaluationContext, region: tuple[slice, ...],
              running: dict[int, list[list[State]]], selected: list[Array] | None = None
              ) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
        """Evaluate every input of the pass on one tile, folding it into ``running``.

        Returns the values of the stored inputs (``None`` for the others),
        and the read and scratch buffers the tile still holds.

        1. Source reads are shared in ``context`` for the whole tile, so a
           region of a source that several inputs read is read once.
        2. Each input is evaluated with buffers lent for it alone, and folded
           into the running states of its reductions at once (the same
           calls, on the same values, as when every input was evaluated
           first: each reduction's states, so its results, do not change).
        3. A stored input's value is kept for the tile, with its buffers. An
           input used by reductions only is dropped, and its buffers given
           back for the next input; those still referred to (reads the tile
           cache still shares) stay with the tile's, handed back as they are.
           Only one such input lives at a time, so a pass of many results,
           each of its own elementwise input, needs the memory of one
           (:func:`lazyarray.planning.memory.pass_bytes` counts it so).

        ``selected``: the inputs already selected on the tile (by :meth:`announce`).
        """
        key = as_ranges(region)
        origin = tuple(s.start for s in region)
        values: list[np.ndarray | None] = [None] * len(self.inputs)
        borrowed: list[np.ndarray] = []
        with context.sharing_reads():
            for index, node in enumerate(self.inputs):
                if self.cancelled.is_set():
                    break  # the pass failed elsewhere: the caller returns nothing
                with context.lending() as lent:
                    # Masked inputs are evaluated masked in plain mode too: a
                    # reduction of them skips their masked points, as numpy.ma's does.
                    tile = node._select(key) if selected is None else selected[index]
                    value = tile._evaluate(context, self.masked or node.masked)
                mine = self.grouped.get(index)
                if mine is not None:
                    reductions = [self.reductions[n] for n in mine]
                    running[index] = block_states(context, reductions, value, origin,
                                                   self.blocking[index], running.get(index),
                                                   self.pool)
                if index in self.kept:
                    values[index] = value
                    borrowed.extend(lent)
                else:
                    del value
                    borrowed.extend(self.buffers.give_back(lent))
        return values, borrowed

    def _stored(self, context: EvaluationContext, region: tuple[slice, ...], value: np.ndarray,
                original: Array) -> Stored:
        """A tile's ``value`` of a stored result, prepared for writing by each sink."""
        encoded: dict[int, list[EncodedChunk]] = {}
        sinks = self.sinks.get(id(original), ())
        for sink in sinks:
            if self.cancelled.is_set():
                break  # the pass failed elsewhere: spend nothing more; write() still works
            chunks = sink.prepare(region, value, context.options.direct_io)
            if chunks is not None:
                encoded[id(sink)] = chunks
        everyone = all(id(sink) in encoded for sink in sinks)
        return Stored(None if everyone else value, encoded)

    # -- main-thread side ----------------------------------------------------------
    def recycle(self, borrowed: list[np.ndarray]) -> None:
        """Hand a merged tile's read buffers back for the next tiles' reads.

        A worker may not have dropped its last references yet; those buffers
        are looked at again after the next tile, then left to the allocator.
        """
        self.buffers.give_back(self.lent)
        self.lent = self.buffers.give_back(borrowed)
    def _out_region(self, reduction: Aggregation, region: tuple[slice, ...]) -> tuple[slice, ...]:
        return tuple(s for a, s in enumerate(region) if a not in reduction.axes)

    def take(self, task: list[tuple[slice, ...]], states: list[State], values: list[Stored]) -> None:
        region = task[0]  # the tiles of a task share their output regions
        for number, (reduction, state) in enumerate(zip(self.reductions, states)):
            out = self._out_region(reduction, region)
            where = tuple(s.start for s in out)
            partials = self.partials[number]
            previous = partials.get(where)
            if previous is None:
                partials[where] = state
            else:
                # Both states are the main thread's, and spent once merged.
                partials[where] = merged = reduction.combine(previous, state, spend=True)
                self.pool.give(state, merged)
            left = self.left[number]
            if where not in left:
                left[where] = self.step.tasks_along(reduction.axes)
            left[where] -= 1
            if not left[where]:
                self._finish(number, out, partials.pop(where))
                del left[where]
        # Stored values are written in tile order, here as before: encoded
        # chunks as they are, other values through their sink.
        for (_, original), stored in zip(self.stores, values):
            for sink in self.sinks.get(id(original), ()):
                chunks = stored.encoded.get(id(sink))
                if chunks is not None:
                    sink.write_chunks(chunks)
                else:
                    assert stored.value is not None
                    sink.write(region, stored.value)

    def _finish(self, number: int, out: tuple[slice, ...], state: State) -> None:
        reduction = self.reductions[number]
        value = reduction.finish(state, self.masked or reduction.array.masked)
        self._write_result(number, out, value)

    def _write_result(self, number: int, out: tuple[slice, ...], value: np.ndarray) -> None:
        result = self.results[number]
        result.write(out, value)
        for sink in self.sinks.get(id(self.originals[number]), ()):
            if sink is not result:
                sink.write(out, value)

    def finish_empty(self) -> None:
        """Results of a pass over a domain with no elements."""
        for number, reduction in enumerate(self.reductions):
            value = reduction._evaluate(self.context.for_tile(), self.masked or reduction.masked)
            self._write_result(number, tuple(slice(0, n) for n in reduction.shape), value)


#: A pass whose whole domain takes at most this many bytes of working memory
#: runs its tasks in the caller's thread, one after the other: starting the
#: worker threads costs more (about 0.3 ms) than such a pass's work. The tasks
#: and the order of their merges are the same, so are the results.
INLINE_BYTES = 1 << 20


def merge_task(run: PassRun, reporter: Reporter, task: list[tuple[slice, ...]],
           done: tuple[list[State], list[Stored], list[np.ndarray]]) -> None:
    """Merge a finished task's states and write its values, in traversal order."""
    states, values, borrowed = done
    run.take(task, states, values)
    del states, values, done
    run.recycle(borrowed)
    reporter.advance(sum(
        math.prod(s.stop - s.start for s in region) for region in task
    ) * run.read_bytes_per_element)


def run_pass(run: PassRun, options: Options, reporter: Reporter, in_flight: int) -> None:
    if run.step.tile_count == 0:
        run.finish_empty()
        return
    if math.prod(run.step.domain) * run.step.bytes_per_element <= INLINE_BYTES:
        for inline in run.step.tasks():
            merge_task(run, reporter, inline, run.work(inline))
        return
    pending: collections.deque[tuple[list[tuple[slice, ...]], Future[Any]]] = collections.deque()
    pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="lazyarray")
    try:
        tasks = run.step.tasks()
        exhausted = False
        while True:
            while not exhausted and len(pending) < in_flight:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                # Each task runs in a copy of the caller's context, so settings
                # such as numpy.errstate apply in the workers as in the caller.
                context = contextvars.copy_context()
                prepared = run.announce(task) if run.carrying else None
                pending.append((task, pool.submit(context.run, run.work, task, prepared)))
            if not pending:
                break
            task, future = pending.popleft()
            done = future.result()
            # Drop the future (which holds the task's results) before waiting
            # for the next one, so no more than in_flight tasks are alive.
            del future
            merge_task(run, reporter, task, done)
            del done
    except BaseException:
        run.cancelled.set()
        for _, future in pending:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
