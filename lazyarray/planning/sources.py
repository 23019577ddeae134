"""The sources a pass reads, and where each lies in the pass's domain.

:func:`source_reads` walks a pass's graph from its inputs down to the nodes
that read storage, mapping the domain's axes through each node's
placements of its inputs (:meth:`lazyarray.Array._plan_placements`):
windows, mosaics' members, stacks, transposes, broadcasts and reversals.
Each source found is a :class:`SourceRead`: what a tile of the domain reads
of it. :func:`read_model` says how its reads cost
(:meth:`lazyarray.Array._plan_read_model`).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> year = la.asarray(np.zeros((4, 3)))
>>> reads = source_reads([la.concatenate([year, year]).T * 2], 2)
>>> [(r.axes, r.offsets, r.presence) for r in reads]
[((1, 0), (0, 0), ((1, 0, 4),)), ((1, 0), (4, 0), ((1, 4, 8),))]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..array import Array
from ..indexing import Key, key_token
from ..planprotocol import AxisPlace, Placement, ReadModel
from .stages import ends_pass

__all__ = ["SourceRead", "read_model", "source_reads"]


@dataclass(frozen=True, eq=False)
class SourceRead:
    """A source as a pass reads it: where its axes lie in the pass's domain.

    A tile (one slice per domain axis) reads, along adapter axis ``j``, the
    items of ``key`` at the tile's positions along domain axis ``axes[j]``,
    less ``offsets[j]``, clipped to the adapter's length; all of it where
    ``axes[j]`` is ``None`` (under a node whose inputs are not mapped to its
    axes). Nothing is read when that is empty, nor by tiles that miss a
    ``presence`` interval (the place of a mosaic's or a stack's member).
    Along the domain axes it does not follow, the source is read again by
    every tile (a broadcast).

    Attributes
    ----------
    adapter : Array
        The node that reads the source (an adapter).
    axes : tuple of (int or None)
        For each axis of the adapter, the domain axis it follows.
    offsets : tuple of int
        For each axis of the adapter, the domain position of its first element.
    presence : tuple of (int, int, int)
        ``(domain axis, start, stop)``: the source is read only by tiles
        that overlap ``start:stop`` along that axis.
    key : tuple
        The adapter's key into its source (one item per source axis) as the
        domain sees it: an item is reversed where a node above reverses its
        axis, so that it runs along the domain axis it follows. The
        adapter's own key when not given.
    """

    adapter: Any
    axes: tuple[int | None, ...]
    offsets: tuple[int, ...]
    presence: tuple[tuple[int, int, int], ...] = ()
    key: Key = None  # type: ignore[assignment]  # set from the adapter

    def __post_init__(self) -> None:
        if self.key is None:
            object.__setattr__(self, "key", tuple(self.adapter._plan_stored_key))

    @property
    def source(self) -> Any:
        """The stored object read (reads of one source with one key in one tile
        are made once, whoever asks)."""
        return self.adapter._plan_stored_source

    @property
    def identity(self) -> Hashable:
        """Equal for reads that read the same keys in every tile."""
        return (id(self.source), key_token(self.key), self.axes, self.offsets, self.presence)

    def spans(self, ndim: int) -> list[tuple[int, int] | None]:
        """Per domain axis, the positions any tile must overlap to read the source."""
        spans: list[tuple[int, int] | None] = [None] * ndim
        for axis, start, stop in self.presence:
            span = spans[axis]
            spans[axis] = (start, stop) if span is None else (max(span[0], start),
                                                               min(span[1], stop))
        for followed, offset, length in zip(self.axes, self.offsets, self.adapter.shape):
            if followed is not None:
                axis = followed
                span = spans[axis]
                start, stop = offset, offset + length
                spans[axis] = (start, stop) if span is None else (max(span[0], start),
                                                                   min(span[1], stop))
        return spans


#: Where a node's axes lie in the domain: per axis, ``(domain axis, offset,
#: step)`` (node position ``p`` is domain position ``offset + step * p``), or
#: ``None`` for an axis that follows no domain axis.
_Place = tuple["AxisPlace | None", ...]
_Presence = tuple[tuple[int, int, int], ...]


def source_reads(nodes: Sequence[Array], ndim: int) -> list[SourceRead]:
    """Every source read by a pass over ``nodes``, which share a domain of ``ndim`` axes.

    Walks down to the nodes that read storage, not past nodes that reduce
    (results of earlier stages, in memory by then). Reads that read the same
    keys in every tile (one source used twice, ``a * 2`` beside
    ``mean(a, 0)``) are listed once.
    """
    found: dict[Hashable, SourceRead] = {}
    seen: set[Hashable] = set()
    todo: list[tuple[Array, _Place, _Presence]] = [
        (node, tuple((d, 0, 1) for d in range(ndim)), ()) for node in reversed(nodes)
    ]
    while todo:
        node, place, presence = todo.pop()
        mark = (id(node), place, presence)
        if mark in seen or 0 in node.shape:
            continue  # an empty node reads nothing
        seen.add(mark)
        if ends_pass(node):
            continue
        if node._plan_stored_source is not None:
            read = _read_of(node, place, presence)
            found.setdefault(read.identity, read)
            continue
        todo.extend(reversed([_placed(p, place, presence) for p in node._plan_placements()]))
    return list(found.values())


def _placed(placement: Placement, place: _Place, presence: _Presence
            ) -> tuple[Array, _Place, _Presence]:
    """An input's place in the domain, from its node's place and its placement in it."""
    inner: list[AxisPlace | None] = []
    for follows in placement.axes:
        outer = None if follows is None else place[follows[0]]
        if follows is None or outer is None:
            inner.append(None)
            continue
        axis, offset, step = outer
        inner.append((axis, offset + step * follows[1], step * follows[2]))
    spans = []
    for along, start, stop in placement.spans:
        outer = place[along]
        if outer is not None:
            axis, offset, step = outer
            spans.append((axis, offset + start, offset + stop) if step > 0
                         else (axis, offset - stop + 1, offset - start + 1))
    return placement.array, tuple(inner), presence + tuple(spans)


def _read_of(node: Array, place: _Place, presence: _Presence) -> SourceRead:
    """What the tiles of the domain read of a node that reads storage, at ``place``."""
    key = list(node._plan_stored_key)  # type: ignore[arg-type]
    axes: list[int | None] = []
    offsets: list[int] = []
    shown = iter(place)
    for number, item in enumerate(key):
        if isinstance(item, (int, np.integer)):
            continue  # a dropped axis
        where = next(shown)
        if where is None:
            axes.append(None)
            offsets.append(0)
            continue
        axis, offset, step = where
        axes.append(axis)
        if step > 0:
            offsets.append(offset)
        else:  # read backwards: its last item comes first along the domain
            offsets.append(offset - (len(item) - 1))
            key[number] = item[::-1]
    return SourceRead(node, tuple(axes), tuple(offsets), presence, tuple(key))


def read_model(adapter: Array, direct_io: bool = True) -> ReadModel:
    """How reads of ``adapter``'s source are counted (see :class:`~lazyarray.array.ReadModel`).

    Parameters
    ----------
    adapter : Array
        A node that reads storage (an adapter).
    direct_io : bool
        The evaluation's ``direct_io`` option: HDF5 datasets are then read
        by lazyarray's direct reader where it can.

    Examples
    --------
    >>> import zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(8, 2), chunks=(4, 2), dtype="f4")
    >>> model = read_model(la.asarray(z))
    >>> model.kind, model.chunks
    ('chunks', (4, 2))
    """
    model = adapter._plan_read_model(direct_io)
    if model is None:
        raise TypeError(f"read_model: a {type(adapter).__name__} reads no storage")
    return model
