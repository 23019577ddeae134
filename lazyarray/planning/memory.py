"""The memory a pass's tiles take: working bytes per element, partial states.

Every node of a pass's graph holds its part of a tile while the tile is
worked on; each says what it makes of its own and how its inputs' parts add
up (:meth:`lazyarray.Array._plan_own_bytes`,
:meth:`~lazyarray.Array._plan_input_bytes`). Nodes that reduce add their
scratch and, per element of a tile's output region, their partial states.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.zeros((4, 5), np.float32))
>>> pass_bytes([x * 2 + 1], [])  # the source, then two float32 results
12
>>> _tile_bytes((2, 5), 12, [la.mean(x, 0)])  # 10 elements, 5 partial states of 8 bytes
160
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

from ..array import Array
from .stages import ends_pass, walk_inputs, within_pass

__all__ = ["pass_bytes"]  # the rest is the planner's own arithmetic


def pass_bytes(inputs: Sequence[Array], reductions: Sequence[Array], joined: bool = True,
               stores: Sequence[Array] | None = None, written: Sequence[Array] = ()) -> int:
    """Working bytes per domain element of a tile.

    Every node of the inputs' graphs holds its part of a tile while the tile
    is worked on, except views, which allocate nothing; the members of a
    mosaic or stack together make up the tile once, so the widest member
    counts, not their sum. A mosaic joins its members' parts into a new
    array, unless no tile holds parts of two members (not ``joined``): it is
    then the member's part itself. Reductions add their scratch. (What a
    tiling reads is counted by :func:`~lazyarray.planning.count_reads`.)

    The executor (:meth:`lazyarray.execution.passes.PassRun.work`) holds a tile's
    values as follows, and so they are counted:

    1. Source reads, shared through the tile cache by every input that reads
       the same region, live for the whole tile: each source once.
    2. The ``stores`` (inputs written to sinks or kept in memory; by default
       the inputs no reduction uses) live for the whole tile too.
    3. An input used by reductions only is evaluated, folded into their
       states and dropped before the next one: one of them lives at a time,
       so the largest counts (its working bytes beyond the sources, and its
       reductions' scratch), not their sum. The reductions of a stored
       input add their scratch likewise, while it is folded.
    4. A store ``written`` to a sink (a file, a target of ``save``) is not
       held whole, but each of its tiles is held twice: its values, and the
       copy the worker prepares for the sink (cast to the target's dtype,
       masked points filled, chunks encoded), which waits for the main
       thread to write it. So it adds its itemsize per element, twice if it
       is masked (the filled copy is made before the encoded one); a target
       of a wider dtype than the array's holds more, which the planner,
       seeing no targets, does not count. A store
       kept in memory adds nothing: the main thread copies its tile into the
       result, which the plan counts apart
       (:attr:`~lazyarray.planning.Plan.result_bytes`).

    The planner sizes tiles by it; a :class:`~lazyarray.planning.Pass`
    reports it as ``bytes_per_element``.

    Parameters
    ----------
    inputs : sequence of Array
        The pass's inputs: the reductions' inputs and the stored arrays.
    reductions : sequence of Array
        The reductions of the pass.
    joined : bool
        Whether a tile may hold parts of two members of a mosaic (which
        are then joined into a new array).
    stores : sequence of Array, optional
        The inputs kept for the whole tile; by default those no reduction uses.
    written : sequence of Array, optional
        The stores written to sinks rather than kept in memory (a store
        both kept and written is written).

    Returns
    -------
    int
        In bytes per element of the pass's domain.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((4, 5)))
    >>> sums = [la.sum(x + i, 0) for i in range(100)]
    >>> pass_bytes([s.array for s in sums], sums)  # the source, then one x + i at a time
    16
    >>> pass_bytes([x + 1, x + 2], [])  # both stored: each lives for the whole tile
    24
    >>> y = x + 2
    >>> pass_bytes([x + 1, y], [], written=[y])  # y written to a file: its copy too
    32
    """
    if stores is None:
        used = {id(r.inputs[0]) for r in reductions}
        stores = [node for node in inputs if id(node) not in used]
    stored = {id(node) for node in stores}
    by_input: dict[int, list[Array]] = {}
    for reduction in reductions:
        by_input.setdefault(id(reduction.inputs[0]), []).append(reduction)

    def extra(node: Array) -> int:
        # The scratch of the reductions of ``node``. The reductions of one
        # input run one after the other on each block: their validity masks
        # (a reduction of a masked input turns its mask into one; ``nan``
        # forms find NaNs) and cast copies stay in the block's cache, so they
        # add up, but an accumulator's own scratch lives only while it runs
        # (the deviations of a variance, in a buffer each thread reuses),
        # so the largest counts.
        mine = by_input.get(id(node), ())
        scratch = [r._plan_scratch_bytes for r in mine]
        kept = sum(stays + (1 if r.inputs[0].masked else 0)
                   for r, (stays, _) in zip(mine, scratch))
        return kept + max((running for _, running in scratch), default=0)

    def shared(node: Array) -> int:
        # The part of a source that the tile cache shares: the read of a
        # source, or the earlier stage's result a reduction stands for.
        return _own_bytes(node) if ends_pass(node) else node._plan_shared_bytes

    def private(node: Array) -> int:
        # What each use of a source makes of the shared read: its mask, say.
        return _own_bytes(node) - shared(node)

    sources: set[int] = set()
    per_element = sum(_graph_bytes(node, sources, shared, joined, intermediate=False)
                      for node in inputs)
    seen: set[int] = set()
    per_element += sum(_graph_bytes(node, seen, private, joined) for node in stores)
    transient = [extra(node) for node in stores]
    done: set[int] = set()
    for node in inputs:
        if id(node) in stored or id(node) in done:
            continue
        done.add(id(node))
        transient.append(_graph_bytes(node, set(), private, joined) + extra(node))
    per_element += max(transient, default=0)
    # The copies prepared for sinks (4. above), each written array once.
    copies = {id(node): node for node in written}
    per_element += sum(node.dtype.itemsize * (2 if node.masked else 1)
                       for node in copies.values())
    return max(per_element, 1)


def _own_bytes(node: Array) -> int:
    """Bytes per element a node makes of its own: its values; its mask, if
    masked; for a source masked by value, the comparisons that find the mask."""
    return node._plan_own_bytes(joined=True)


def _graph_bytes(root: Array, seen: set[int], leaf: Callable[[Array], int], joined: bool,
                 intermediate: bool = True) -> int:
    """Working bytes per element of evaluating ``root``, nodes in ``seen`` aside.

    Sources (nodes without inputs, and nodes that reduce, which earlier
    stages compute) count ``leaf(node)``; any other node its own bytes
    (:meth:`lazyarray.Array._plan_own_bytes`: nothing for a view, a copy of
    its members for a mosaic when ``joined``) plus its inputs'
    (:meth:`lazyarray.Array._plan_input_bytes`: their sum, the widest
    member's for a mosaic or stack). Without ``intermediate``, only sources
    count. Nodes found are added to ``seen``, each counted once. Walked
    with an explicit stack, children before their parent, so graphs of any
    depth are counted.
    """
    def total(node: Array, parts: list[int]) -> int:
        if not within_pass(node):
            return leaf(node)
        own = node._plan_own_bytes(joined) if intermediate else 0
        return own + node._plan_input_bytes(parts)

    if id(root) in seen:
        return 0
    seen.add(id(root))
    # Each frame: a node, its inputs not yet counted, and its inputs' bytes so far.
    stack: list[tuple[Array, Iterator[Array], list[int]]] = [
        (root, iter(within_pass(root)), [])
    ]
    while True:
        node, pending, parts = stack[-1]
        child = next(pending, None)
        if child is not None:
            if id(child) in seen:
                parts.append(0)
            else:
                seen.add(id(child))
                stack.append((child, iter(within_pass(child)), []))
            continue
        stack.pop()
        found = total(node, parts)
        if not stack:
            return found
        stack[-1][2].append(found)


def _tile_bytes(tile: Sequence[int], per_element: int, reductions: Sequence[Array]) -> int:
    """Working bytes of a tile: data and scratch per element, plus partial states."""
    states = 0
    for r in reductions:
        reduced = r.reduced_axes or ()
        states += math.prod(n for a, n in enumerate(tile) if a not in reduced) * (
            r._plan_state_bytes
        )
    return math.prod(tile) * per_element + states


def _largest_chunk(inputs: Sequence[Array]) -> int:
    """Bytes of the largest storage chunk any source of ``inputs`` decodes."""
    return max(
        (
            math.prod(n.storage_chunks) * n.dtype.itemsize
            for i in inputs
            for n in walk_inputs(i)
            if n._plan_stored_source is not None and n.storage_chunks is not None
        ),
        default=0,
    )
