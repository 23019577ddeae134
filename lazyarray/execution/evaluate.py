"""Evaluating into memory: ``ndarrays``, ``masked_arrays``, ``compute`` and ``plan``; small graphs at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from ..adapters import asarray
from ..aggregation import Aggregation
from ..array import Array
from ..carries import CarryStore
from ..context import EvaluationContext
from ..fused import kernels_for, tile_states
from ..graph import summary, walk
from ..options import Options, get_options
from ..planning import Plan, make_plan
from ..todask import dask_scheduler, run_on_dask
from .passes import PassRun, run_pass
from .progress import Reporter
from .sinks import Sink, whole_result

#: Graphs whose nodes' values take at most this many bytes together are
#: evaluated at once in the caller's thread (:func:`evaluate_at_once`): a
#: result of 1 MiB and the two or three nodes it is computed from. Planning
#: and starting worker threads cost about a millisecond, more than such a
#: graph's work.
AT_ONCE_BYTES = 4 << 20


def evaluate(nodes: Sequence[Array], targets: Sequence[Any], masked: bool,
              options: Options, carries: CarryStore | None = None,
              scheduler: Any = None) -> list[np.ndarray | None]:
    """Evaluate ``nodes``, each into its target (``None``: a new in-memory array).

    ``carries``: where scans find and leave their carries, when the caller
    evaluates consecutive parts of a scan in several calls (slabs of
    :func:`lazyarray.iter_chunks`); by default, each pass has its own.
    ``scheduler``: ``None`` (lazyarray's executor), or a Dask scheduler
    checked by :func:`lazyarray.todask.dask_scheduler`.
    """
    small = check_graph(nodes, options)
    if small and scheduler is None and all(t is None for t in targets):
        return evaluate_at_once(nodes, masked, options, carries)
    sinks: dict[int, list[Sink]] = {}
    outputs: list[Sink] = []
    for number, (node, target) in enumerate(zip(nodes, targets)):
        sink = Sink(node, masked, target, number)
        sinks.setdefault(id(node), []).append(sink)
        outputs.append(sink)
    if scheduler is not None:
        return evaluate_on_dask(nodes, outputs, masked, options, scheduler)
    the_plan = make_plan(nodes, options, in_memory=[t is None for t in targets])
    reporter = Reporter(options.progress, the_plan.read_bytes)
    replacements: dict[int, Array] = {}
    try:
        for step in the_plan.passes:
            run = PassRun(step, options, replacements, sinks, masked, carries)
            run_pass(run, options, reporter, the_plan.in_flight)
            for original, result in zip(run.originals, run.results):
                replacements[id(original)] = asarray(result.result())
    finally:
        reporter.close()
    return [sink.result() if sink.target is None else None for sink in outputs]


def evaluate_on_dask(nodes: Sequence[Array], outputs: Sequence[Sink], masked: bool,
                     options: Options, scheduler: Any) -> list[np.ndarray | None]:
    """:func:`evaluate` on a Dask scheduler (:func:`lazyarray.todask.run_on_dask`).

    The sinks are written in this thread, as blocks come back, except Zarr
    targets that the workers write. Progress counts the bytes of the
    results' blocks (not of the sources read), as they are written.
    """
    total = sum(node.size * node.dtype.itemsize for node in nodes)
    reporter = Reporter(options.progress, total)

    def write(number: int, region: tuple[slice, ...], value: Any) -> None:
        outputs[number].write(region, value)

    try:
        run_on_dask(nodes, masked, [sink.target for sink in outputs], scheduler, options,
                    write, reporter.advance)
    finally:
        reporter.close()
    return [sink.result() if sink.target is None else None for sink in outputs]


def as_nodes(arrays: Any, operation: str) -> list[Array]:
    if isinstance(arrays, (Array, np.ndarray)):
        raise TypeError(f"{operation}: expected a sequence of arrays; wrap a single array in a list")
    return [a if isinstance(a, Array) else asarray(a) for a in arrays]


def plan(arrays: Sequence[Any], **options: Any) -> Plan:
    """The plan that evaluating ``arrays`` in memory would follow; reads nothing.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> p = la.plan([la.mean(np.zeros((10, 4)), 0)])
    >>> len(p.passes), p.passes[0].domain
    (1, (10, 4))
    """
    nodes = as_nodes(arrays, "plan")
    chosen = get_options(**options)
    # Small graphs are evaluated at once, in one tile: so is their plan.
    return make_plan(nodes, chosen, in_memory=[True] * len(nodes),
                     whole=check_graph(nodes, chosen, files=False))


def ndarrays(arrays: Sequence[Any], *, scheduler: Any = "lazyarray",
             **options: Any) -> list[np.ndarray]:
    """Realise several lazy arrays as ndarrays, in one pass where they share sources.

    Parameters
    ----------
    arrays : sequence of arrays
    scheduler : str or dask.distributed.Client, optional
        ``"lazyarray"`` (the default): lazyarray's own executor. ``"threads"``,
        ``"processes"``, ``"synchronous"`` or a ``dask.distributed.Client``:
        the arrays exported by :func:`lazyarray.to_dask` and computed on that
        Dask scheduler, with the same results (see ``docs/dask.md``).
    **options
        Evaluation options for this call (see :class:`lazyarray.Options`).

    Returns
    -------
    list of numpy.ndarray
    """
    chosen = dask_scheduler(scheduler, "ndarrays")
    nodes = as_nodes(arrays, "ndarrays")
    return evaluate(nodes, [None] * len(nodes), False, get_options(**options),  # type: ignore[return-value]
                    scheduler=chosen)


def masked_arrays(arrays: Sequence[Any], *, scheduler: Any = "lazyarray",
                  **options: Any) -> list[np.ma.MaskedArray]:
    """Realise several lazy arrays as ``numpy.ma.MaskedArray``, in one pass.

    ``scheduler``: as in :func:`ndarrays`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    >>> la.masked_arrays([la.asarray(m) * 2])[0].tolist()
    [2, None, 6]
    """
    chosen = dask_scheduler(scheduler, "masked_arrays")
    nodes = as_nodes(arrays, "masked_arrays")
    return evaluate(nodes, [None] * len(nodes), True, get_options(**options),  # type: ignore[return-value]
                    scheduler=chosen)


def compute(*arrays: Any, scheduler: Any = "lazyarray", **options: Any) -> tuple[np.ndarray, ...]:
    """Realise the given arrays as ndarrays in one evaluation; a tuple.

    ``scheduler``: as in :func:`ndarrays`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a, b = la.compute(la.zeros(2), la.ones(1))
    >>> a.tolist(), b.tolist()
    ([0.0, 0.0], [1.0])
    """
    dask_scheduler(scheduler, "compute")  # named in the error by its own name
    return tuple(ndarrays(arrays, scheduler=scheduler, **options))


def check_graph(nodes: Sequence[Array], options: Options, files: bool = True) -> bool:
    """Raise :class:`~lazyarray.errors.ClosedFileError`, before anything is
    read, for a source whose h5py file its user has closed (unless not
    ``files``: planning reads nothing); and say whether the graph is small
    enough to evaluate at once (:func:`evaluate_at_once`).

    Small means: every node of the graph, evaluated whole, in at most
    :data:`AT_ONCE_BYTES` (and ``memory_limit`` and ``chunk_bytes``)
    together; one pass (the results, and the inputs of those that reduce,
    of one shape), aggregations only among the results asked for (one
    aggregated by another needs passes in stages); no source whose chunks
    are decoded whole (the planner counts those); and no progress to
    report. Such a graph is evaluated as one tile of its one pass, which is
    what :func:`plan` then says it reads.
    """
    facts = [summary(node) for node in nodes]
    if files and any(f.opened for f in facts):
        for node in walk(nodes):
            check_open = getattr(node, "check_open", None)
            if check_open is not None:
                check_open()
    if options.progress is not False:
        return False
    # Within one tile of chunk_bytes too: where the planner would cut tiles.
    # (Nodes in the graphs of several results count once per result: cautious.)
    budget = min(AT_ONCE_BYTES, options.memory_limit, options.chunk_bytes)
    if len(facts) == 1:  # the common case, in fewer steps
        (only,) = facts
        return (only.nbytes <= budget and not only.encoded
                and (not only.reduced or only.reduced == {id(nodes[0])}))
    results = {id(node) for node in nodes}
    domains = {node.inputs[0].shape if node.reduced_axes is not None else node.shape
               for node in nodes}
    return (len(domains) == 1 and sum(f.nbytes for f in facts) <= budget
            and not any(f.encoded for f in facts) and all(f.reduced <= results for f in facts))


def evaluate_at_once(nodes: Sequence[Array], masked: bool, options: Options,
                     carries: CarryStore | None = None) -> list[np.ndarray | None]:
    """Evaluate small graphs (see :func:`check_graph`) in this thread, without a plan.

    What the executor does with the one tile of the one pass the planner
    would make of them, for less: every distinct input evaluated once,
    whole, in one context sharing reads; the aggregations of one input
    reduced together (:func:`~lazyarray.fused.tile_states`) and finished;
    the values written into their results. Planning and starting worker
    threads cost far more than such work (issue 14); the results are the
    executor's, bit for bit.
    """
    # At most AT_ONCE_BYTES reduced: numpy's reductions under kernels="auto".
    read = sum(node.inputs[0].nbytes for node in nodes if node.reduced_axes is not None)
    context = EvaluationContext(kernels_for(options, read), carries=carries)
    values: dict[int, np.ndarray] = {}

    def value_of(node: Array) -> np.ndarray:
        found = values.get(id(node))
        if found is None:
            # As in PassRun._tile: masked inputs are evaluated masked.
            found = values[id(node)] = node._evaluate(context, masked or node.masked)
        return found

    with context.sharing_reads():
        reduced: dict[int, dict[int, Aggregation]] = {}  # by input, as a pass groups them
        for node in nodes:
            if node.reduced_axes is not None:
                reduced.setdefault(id(node.inputs[0]), {})[id(node)] = cast(Aggregation, node)
        for by_id in reduced.values():
            group = list(by_id.values())
            source = group[0].array
            if source.size == 0:  # as PassRun.finish_empty
                for reduction in group:
                    values[id(reduction)] = reduction._evaluate(context,
                                                                masked or reduction.masked)
                continue
            block = value_of(source)
            with context.sharing_reads():  # as block_states, for one block
                states = tile_states(group, block, (0,) * source.ndim, context)
            for reduction, state in zip(group, states):
                values[id(reduction)] = reduction.finish(state, masked or source.masked)
        results: list[np.ndarray | None] = []
        taken: set[int] = set()
        for node in nodes:
            if not node.size:  # nothing to read, as a pass has no tile to run
                results.append(whole_result(node, None, masked))
                continue
            value = value_of(node)
            if (not masked and node._makes_fresh_values and id(node) not in taken
                    and type(value) is np.ndarray and value.base is None
                    and value.flags.owndata and value.flags.writeable
                    and value.flags.c_contiguous  # as the planner's results are
                    and value.dtype == node.dtype and value.shape == node.shape):
                # A new array that nothing else refers to: the result itself,
                # not a copy (the first time it is asked for).
                taken.add(id(node))
                results.append(value)
            else:
                results.append(whole_result(node, value, masked))
        return results
