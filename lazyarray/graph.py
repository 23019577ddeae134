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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .array import Array

__all__ = ["inputs_first", "rewrite", "walk"]


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
