"""Walking and rewriting expression graphs.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = la.asarray(np.arange(3))
>>> expr = a * 2 + a
>>> sorted(type(n).__name__ for n in walk([expr]))
['Elementwise', 'Elementwise', 'NumpyArrayAdapter']
>>> b = la.asarray(np.ones(3, dtype=int))
>>> rewrite(expr, {id(a): b}).ndarray().tolist()
[3, 3, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .array import Array

__all__ = ["GraphSummary", "inputs_first", "rewrite", "summary", "walk"]


def walk(nodes: Iterable[Array]) -> Iterator[Array]:
    """Every node reachable from ``nodes``, each once, parents before inputs."""
    seen: set[int] = set()
    todo = list(nodes)[::-1]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        todo.extend(reversed(node.inputs))


def inputs_first(
    nodes: Iterable[Array],
    skip: Callable[[Array], bool] | None = None,
    inputs: Callable[[Array], Iterable[Array]] | None = None,
) -> Iterator[Array]:
    """Every node reachable from ``nodes``, each once, after all of its inputs.

    Nodes for which ``skip(node)`` is true are left out, and so is what lies
    below them unless reachable another way. ``inputs(node)``, when given,
    says which of a node's inputs to walk into (for instance none of an
    aggregation's, to stay within a pass). The walk keeps its own stack:
    graphs of any depth take no recursion.
    """
    seen: set[int] = set()
    todo: list[tuple[Array, bool]] = [(node, False) for node in reversed(list(nodes))]
    while todo:
        node, inputs_done = todo.pop()
        if inputs_done:
            yield node
            continue
        if id(node) in seen or (skip is not None and skip(node)):
            continue
        seen.add(id(node))
        todo.append((node, True))
        below = node.inputs if inputs is None else inputs(node)
        todo.extend((i, False) for i in reversed(tuple(below)))


def rewrite(node: Array, replacements: Mapping[int, Array]) -> Array:
    """``node`` with every node whose ``id`` is in ``replacements`` replaced.

    Nodes on the way are rebuilt with their new inputs; nodes unaffected are
    kept, so rewriting is cheap and shares what it can.
    """
    # Rebuilt nodes and replacements, by the id of the node they stand for.
    done: dict[int, Array] = dict(replacements)
    for current in inputs_first([node], skip=lambda n: id(n) in replacements):
        inputs = current.inputs
        new_inputs = tuple(done.get(id(i), i) for i in inputs)
        changed = any(new is not old for new, old in zip(new_inputs, inputs))
        done[id(current)] = current._with_inputs(new_inputs) if changed else current
    return done[id(node)]


class GraphSummary(NamedTuple):
    """What evaluating a graph needs to know of it as a whole, found in one walk.

    Attributes
    ----------
    nbytes : int
        The bytes of every node of the graph evaluated whole, a byte more
        per element for the masks of masked nodes.
    encoded : bool
        Whether some node's storage chunks are read whole to read any part.
    reduced : frozenset of int
        The ``id`` of each node that reduces axes (an aggregation).
    shared : frozenset of int
        The ``id`` of each node that two or more nodes of the graph use as
        an input (computed once, its value shared).
    opened : bool
        Whether some node has ``check_open`` (a source in a file its user
        may close).
    """

    nbytes: int
    encoded: bool
    reduced: frozenset[int]
    shared: frozenset[int]
    opened: bool


_NONE: frozenset[int] = frozenset()


def summary(root: Array) -> GraphSummary:
    """The :class:`GraphSummary` of the graph of ``root``, kept with ``root``.

    Nodes are immutable and ``root`` holds its whole graph alive, so the
    summary found once stays true, and the ``id`` values in it name the
    same nodes; small evaluations, which ask for it each time, then cost
    one walk less.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.asarray(np.zeros(3))
    >>> facts = summary(a * a + 1)
    >>> facts.nbytes, facts.shared == {id(a)}, facts.reduced
    (72, True, frozenset())
    """
    found = root.__dict__.get("_graph_summary")
    if found is not None:
        return found
    if not root.inputs:  # a leaf, x[i] say: at once
        found = GraphSummary(root.size * (root.dtype.itemsize + root.masked),
                             root.chunks_encoded,
                             frozenset((id(root),)) if root.reduced_axes is not None else _NONE,
                             _NONE, hasattr(root, "check_open"))
        root.__dict__["_graph_summary"] = found
        return found
    nbytes, encoded, opened = 0, False, False
    reduced: set[int] = set()
    uses: dict[int, int] = {}
    for node in walk([root]):
        nbytes += node.size * (node.dtype.itemsize + node.masked)
        encoded = encoded or node.chunks_encoded
        opened = opened or hasattr(node, "check_open")
        if node.reduced_axes is not None:
            reduced.add(id(node))
        for used in node.inputs:
            uses[id(used)] = uses.get(id(used), 0) + 1
    found = GraphSummary(nbytes, encoded, frozenset(reduced),
                         frozenset(n for n, count in uses.items() if count > 1), opened)
    root.__dict__["_graph_summary"] = found
    return found
