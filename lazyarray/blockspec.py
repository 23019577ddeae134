"""The block grid of a :func:`lazyarray.map_blocks` result, and dask's ``block_info``.

:class:`BlockSpec` holds what every selection of one result shares: the
user's function and arguments, the blocks of its inputs and of its output,
and how their axes correspond. It knows no node: :mod:`lazyarray.mapblocks`
builds the nodes on it. Key items of positions (:func:`positions_item`,
:func:`item_positions`) and block starts (:func:`block_starts`) are the
arithmetic both share.

Examples
--------
>>> import numpy as np
>>> spec = BlockSpec(func=np.negative, args=(None,), arrays=(0,), kwargs={},
...                  dtype=np.dtype("f8"), shapes=((5,),), labels=((0,),), loops=1,
...                  in_grid=((2, 3),), dropped=(), out_labels=(0,), out_grid=((2, 3),),
...                  block_info=True, block_id=False)
>>> info = spec.info((1,))
>>> info[None]["array-location"], info[0]["chunk-location"], spec.shape
([(2, 5)], (1,), (5,))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BlockSpec", "Grid", "block_starts", "item_positions", "positions_item"]

Grid = tuple[tuple[int, ...], ...]


@dataclass(frozen=True, eq=False)
class BlockSpec:
    """What every selection of one :func:`map_blocks` result shares.

    The function and its arguments, the block grids of the inputs and of
    the output, and how the output's axes map to the inputs'. It is also
    what the planner sees as the node's stored source: selections of one
    result are reads of one source.

    Attributes
    ----------
    func : callable
        The user's function.
    args : tuple
        The positional arguments; ``None`` where an array input goes.
    arrays : tuple of int
        The positions in ``args`` of the array inputs, in the order of the
        node's inputs.
    kwargs : dict
        Keyword arguments passed to every call.
    dtype : numpy.dtype
        The declared dtype of every block.
    shapes : tuple of tuple of int
        The array inputs' shapes, as given.
    labels : tuple of tuple of int
        For each array input, the label of each of its axes: inputs are
        right-aligned against ``loops`` labels ``0 .. loops - 1``.
    loops : int
        Labels of the broadcast inputs (the most axes of any input).
    in_grid : tuple of tuple of int
        Per label, the input blocks along it (the whole length along a
        dropped label, which each call sees whole).
    dropped : tuple of int
        The labels that ``func`` reduces over (``drop_axis``).
    out_labels : tuple of int
        The label of each output axis; labels from ``loops`` on are new
        axes (``new_axis``).
    out_grid : tuple of tuple of int
        The output blocks along each output axis (its ``chunks``).
    block_info : bool
        Whether ``func`` takes ``block_info=``.
    block_id : bool
        Whether ``func`` takes ``block_id=``.
    """

    func: Callable[..., Any]
    args: tuple[Any, ...]
    arrays: tuple[int, ...]
    kwargs: dict[str, Any]
    dtype: np.dtype
    shapes: tuple[tuple[int, ...], ...]
    labels: tuple[tuple[int, ...], ...]
    loops: int
    in_grid: Grid
    dropped: tuple[int, ...]
    out_labels: tuple[int, ...]
    out_grid: Grid
    block_info: bool
    block_id: bool

    @property
    def shape(self) -> tuple[int, ...]:
        """The whole output's shape."""
        return tuple(sum(c) for c in self.out_grid)

    @property
    def name(self) -> str:
        """The function's name, for messages."""
        return str(getattr(self.func, "__name__", None) or type(self.func).__name__)

    def info(self, location: tuple[int, ...]) -> dict[Any, dict[str, Any]]:
        """dask's ``block_info`` of the output block at ``location``.

        ``info[None]`` describes the output block, ``info[i]`` the block of
        the array argument at position ``i`` of the call.
        """
        by_label = dict(zip(self.out_labels, location))
        info: dict[Any, dict[str, Any]] = {}
        for number, position in enumerate(self.arrays):
            shape, labels = self.shapes[number], self.labels[number]
            grids = [self._input_blocks(length, label) for length, label in zip(shape, labels)]
            where = tuple(by_label.get(label, 0) if len(g) > 1 else 0
                          for label, g in zip(labels, grids))
            starts = [block_starts(g) for g in grids]
            info[position] = {
                "shape": shape,
                "num-chunks": tuple(len(g) for g in grids),
                "array-location": [(s[w], s[w + 1]) for s, w in zip(starts, where)],
                "chunk-location": where,
            }
        out_starts = [block_starts(g) for g in self.out_grid]
        info[None] = {
            "shape": self.shape,
            "num-chunks": tuple(len(g) for g in self.out_grid),
            "array-location": [(s[w], s[w + 1]) for s, w in zip(out_starts, location)],
            "chunk-location": tuple(location),
            "chunk-shape": tuple(g[w] for g, w in zip(self.out_grid, location)),
            "dtype": self.dtype,
        }
        return info

    def _input_blocks(self, length: int, label: int) -> tuple[int, ...]:
        """The blocks of an input axis of ``length`` with ``label``."""
        if label in self.dropped or length != sum(self.in_grid[label]):
            return (length,)  # seen whole (dropped), or broadcast
        return self.in_grid[label]


def block_starts(blocks: Sequence[int]) -> list[int]:
    """Where each block begins, and the end.

    Examples
    --------
    >>> block_starts((2, 3))
    [0, 2, 5]
    """
    return [0, *itertools.accumulate(int(b) for b in blocks)]


def positions_item(positions: np.ndarray) -> range | np.ndarray:
    """Positions as a normalised key item: a range where they are a progression.

    Examples
    --------
    >>> positions_item(np.array([4, 2, 0])), positions_item(np.array([1, 2, 5])).tolist()
    (range(4, -1, -2), [1, 2, 5])
    """
    if positions.size == 0:
        return range(0)
    if positions.size == 1:
        return range(int(positions[0]), int(positions[0]) + 1)
    step = int(positions[1] - positions[0])
    if step != 0 and np.all(np.diff(positions) == step):
        last = int(positions[-1])
        # The stop just past the last: -1 at least, as slices of ranges give.
        return range(int(positions[0]), last + (1 if step > 0 else -1), step)
    return positions.astype(np.intp)


def item_positions(item: Any) -> np.ndarray:
    """A normalised key item's positions (an int's as one)."""
    if isinstance(item, range):
        return np.arange(item.start, item.stop, item.step, dtype=np.intp)
    return np.atleast_1d(np.asarray(item, np.intp))
