"""Storage chunk edges seen from a node: where along each axis a stored chunk begins.

A tile that ends inside a storage chunk makes two tiles read (and, when the
chunk is compressed, decode) that chunk. :func:`chunk_edges` lists, per
axis of a node, the interior positions ``0 < e < length`` where some
source's storage chunk begins (``None`` for a free axis: nothing stored is
split wherever it is cut). Each node says how its inputs' edges map to its
axes (:meth:`lazyarray.Array._plan_edges`); a source, where its chunks
begin under its key. :func:`member_breaks` lists where mosaics' members
end, which tiles are cut at to join no members.

The union of these edges is not a safe place to cut when sources' grids
differ (a cut at one source's edge splits another's chunk): tiles follow
:func:`lazyarray.planning.tiling_cuts` instead.

Examples
--------
Two files of 25 planes each, chunked in threes, joined along time:

>>> import h5py, lazyarray as la
>>> parts = []
>>> for number in range(2):
...     f = h5py.File(f"part{number}.h5", "w", driver="core", backing_store=False)
...     parts.append(la.asarray(f.create_dataset("x", (25, 4), "f4", chunks=(3, 4))))
>>> edges = chunk_edges(la.concatenate(parts))
>>> edges[0].tolist()
[3, 6, 9, 12, 15, 18, 21, 24, 25, 28, 31, 34, 37, 40, 43, 46, 49]
>>> edges[1] is None or edges[1].tolist()
[]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..array import Array
from ..graph import inputs_first
from ..planprotocol import Edges
from .stages import ends_pass, within_pass

__all__ = ["Edges", "chunk_edges", "chunk_extents", "encoded_chunk_edges", "member_breaks"]


def chunk_edges(node: Array) -> Edges:
    """Interior positions along each axis of ``node`` where a source chunk begins.

    Sources without storage chunks (numpy arrays, contiguous HDF5), constant
    arrays and the results of earlier reductions constrain nothing. Nodes
    map their inputs' edges to their axes (by default, inputs of their shape
    share theirs). The boundaries between a mosaic's members are edges too.

    Parameters
    ----------
    node : Array

    Returns
    -------
    tuple of (ndarray of intp or None)
        One entry per axis of ``node``.

    Examples
    --------
    >>> import numpy as np, zarr, lazyarray as la
    >>> z = la.asarray(zarr.create_array({}, shape=(6, 4), chunks=(2, 4), dtype="f4"))
    >>> [None if e is None else e.tolist() for e in chunk_edges(z.T * 2)]
    [[], [2, 4]]
    """
    return _walk(node, "chunks")


def encoded_chunk_edges(node: Array) -> Edges:
    """As :func:`chunk_edges`, for the sources whose chunks are stored encoded only.

    Splitting an encoded (compressed) chunk between two tiles decodes it
    twice; splitting a plain one only reads each part once.
    """
    return _walk(node, "encoded")


def member_breaks(node: Array) -> Edges:
    """Interior positions along each axis of ``node`` where a mosaic's member ends.

    A tile across such a break joins the parts of two members into a new
    array, a copy that tiles within one member do not make.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> parts = [la.asarray(np.zeros((n, 2))) for n in (3, 4, 2)]
    >>> member_breaks(la.concatenate(parts) * 2)[0].tolist()
    [3, 7]
    """
    return _walk(node, "breaks")


def _walk(node: Array, kind: str) -> Edges:
    # Inputs first, so each node finds its inputs' edges computed: no
    # recursion, whatever the graph's depth. Nothing below a node that
    # reduces matters (its result is read as it is).
    memo: dict[int, Edges] = {}

    def edges_of(n: Array) -> Edges:
        return memo[id(n)]

    for current in inputs_first([node], inputs=within_pass):
        memo[id(current)] = ((None,) * current.ndim if ends_pass(current)
                             else current._plan_edges(kind, edges_of))
    return memo[id(node)]


def chunk_extents(edges: Edges, shape: Sequence[int]) -> tuple[int, ...] | None:
    """The longest stretch between edges along each axis (1 for free axes).

    A tile at least this long along every axis can always end on an edge, so
    tiles can be made of whole chunks. ``None`` when every axis is free.

    Examples
    --------
    >>> chunk_extents((np.array([3, 6]), None), (8, 5))
    (3, 1)
    """
    if all(e is None for e in edges):
        return None
    extents = []
    for e, n in zip(edges, shape):
        if e is None or n == 0:
            extents.append(1)
        else:
            ends = np.concatenate([[0], e, [n]])
            extents.append(int(np.diff(ends).max()))
    return tuple(extents)
