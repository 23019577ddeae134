"""How a graph pickles: flat, inputs first, so that no depth makes pickle recurse.

Pickle's own walk recurses once per level of a graph, and a graph built in a
loop (``y = y * y`` forty times) is deeper than Python's recursion limit.
So a node with inputs pickles (:meth:`lazyarray.Array.__reduce_ex__`) as
the flat list of its graph's nodes, inputs first, each holding its state
and its inputs' positions in the list (:func:`flat_graph`); unpickling
rebuilds the nodes in that order (:func:`rebuild_graph`). Leaves pickle as
they are (adapters define ``__reduce__``).

The node base calls :func:`reduce_graph` through :mod:`lazyarray.upcalls`:
this module builds on :mod:`lazyarray.array` (:class:`InputSlot` is a node).

Examples
--------
>>> import pickle, numpy as np, lazyarray as la
>>> y = la.asarray(np.arange(3.0))
>>> for _ in range(2000):  # deeper than the recursion limit
...     y = y * 1.0
>>> pickle.loads(pickle.dumps(y)).ndarray().tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .array import Array
from .graph import inputs_first

if TYPE_CHECKING:
    from .context import EvaluationContext
    from .indexing import Key

__all__ = ["InputSlot", "flat_graph", "rebuild_graph", "reduce_graph"]


def reduce_graph(node: Array) -> tuple[Any, ...]:
    """``node.__reduce_ex__``'s value for a node with inputs: its graph, flat."""
    return rebuild_graph, (flat_graph(node),)


class InputSlot(Array):
    """Where a pickled node's input goes: its metadata, no data.

    A node pickled by :func:`reduce_graph` is kept as a copy of
    itself made with slots for inputs (:meth:`Array._with_inputs`), which
    checks and derives what it does from its inputs' metadata as usual.
    """

    def __init__(self, array: Array):
        self._shape = array.shape
        self._dtype = array.dtype
        self._fill_value = array.fill_value
        self._masked = array.masked

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def masked(self) -> bool:
        return self._masked

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    def _index(self, key: Key) -> Array:
        raise TypeError("a pickled graph's input slot cannot be indexed")

    def _evaluate(self, context: EvaluationContext, masked: bool) -> np.ndarray:
        raise TypeError("a pickled graph's input slot holds no data")


def flat_graph(root: Array) -> list[tuple[Any, ...]]:
    """``root``'s graph as ``(leaf,)`` and ``(class, state, input positions)``
    entries, inputs first, ``root`` last."""
    nodes = list(inputs_first([root]))
    position = {id(node): n for n, node in enumerate(nodes)}
    entries: list[tuple[Any, ...]] = []
    for node in nodes:
        inputs = node.inputs
        if not inputs:
            entries.append((node,))
            continue
        shell = node._with_inputs(tuple(InputSlot(i) for i in inputs))
        # The shell's state, not the shell: pickling the shell would flatten it again.
        entries.append((type(shell), vars(shell), tuple(position[id(i)] for i in inputs)))
    return entries


def rebuild_graph(entries: list[tuple[Any, ...]]) -> Array:
    """The graph :func:`flat_graph` flattened: each node rebuilt from its
    shell with its rebuilt inputs."""
    built: list[Array] = []
    for entry in entries:
        if len(entry) == 1:
            built.append(entry[0])
            continue
        cls, state, inputs = entry
        shell = cls.__new__(cls)
        shell.__dict__.update(state)
        built.append(shell._with_inputs(tuple(built[n] for n in inputs)))
    return built[-1]

