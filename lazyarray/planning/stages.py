"""Where a pass ends: the nodes that reduce, computed in a stage of their own.

A node that reduces (:attr:`lazyarray.Array.reduced_axes`) is computed by a
pass over its input; the passes that use it run in a later stage and read
its value in memory. Every walk of a pass's graph stops at such nodes.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.zeros((4, 3)))
>>> anomaly = x - la.mean(x, 0)
>>> [type(n).__name__ for n in walk_inputs(anomaly)]
['Elementwise', 'NumpyArrayAdapter', 'AxisView', 'Aggregation']
>>> [n.reduced_axes for n in nearest_reductions(anomaly)]
[(0,)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..array import Array

__all__ = ["ends_pass", "nearest_reductions", "walk_inputs", "within_pass"]


def ends_pass(node: Array) -> bool:
    """Whether ``node`` is computed by a pass of its own (it reduces), which the
    passes that use it do not enter."""
    return node.reduced_axes is not None


def within_pass(node: Array) -> Sequence[Array]:
    """The inputs of ``node`` that a pass computing it evaluates: none past a
    node that reduces."""
    return () if ends_pass(node) else node.inputs


def nearest_reductions(node: Array) -> list[Array]:
    """Nodes that reduce, reachable from ``node``'s inputs without crossing another."""
    found: list[Array] = []
    seen: set[int] = set()
    todo = list(node.inputs)
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if ends_pass(current):
            found.append(current)
        else:
            todo.extend(current.inputs)
    return found


def walk_inputs(node: Array) -> Iterator[Array]:
    """Nodes of ``node``'s graph up to (and including) nodes that reduce, not past them.

    ``node`` is a pass's input; when it itself reduces (the input of an
    aggregation of an aggregation), the pass reads its result, computed by
    an earlier stage, so the walk stops there too.
    """
    seen: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(reversed(within_pass(current)))
