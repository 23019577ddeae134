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

from collections.abc import Iterable, Iterator, Mapping

from .array import Array

__all__ = ["rewrite", "walk"]


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


def rewrite(node: Array, replacements: Mapping[int, Array]) -> Array:
    """``node`` with every node whose ``id`` is in ``replacements`` replaced.

    Nodes on the way are rebuilt with their new inputs; nodes unaffected are
    kept, so rewriting is cheap and shares what it can.
    """
    memo: dict[int, Array] = {}

    def visit(current: Array) -> Array:
        done = memo.get(id(current))
        if done is not None:
            return done
        if id(current) in replacements:
            result = replacements[id(current)]
        else:
            inputs = current.inputs
            new_inputs = tuple(visit(i) for i in inputs)
            changed = any(new is not old for new, old in zip(new_inputs, inputs))
            result = current._with_inputs(new_inputs) if changed else current
        memo[id(current)] = result
        return result

    return visit(node)
