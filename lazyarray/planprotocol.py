"""The planner protocol: what the planner asks of every node, and the defaults.

The planner (:mod:`lazyarray.planning`) knows no node class. It asks each
node how its axes lie over its inputs' (where tiles may cut, what each tile
reads: :class:`Placement`), the storage-chunk edges it exposes
(:data:`Edges`), the bytes a tile of it costs, whether it reduces (which
ends a pass), and, for nodes that read storage, what their reads cost
(:class:`ReadModel`). :class:`Plannable` holds those questions with the
answers that suit a node computed element by element from inputs of its
shape; :class:`lazyarray.Array` inherits them, and a node class overrides
what differs, in a block of its own headed "planner protocol".

This module sits below :mod:`lazyarray.array`, so that the planner's value
types can be named by nodes and planner alike without either importing the
other's module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .indexing import Key, NativeSupport, sorted_union

if TYPE_CHECKING:
    from .array import Array

__all__ = ["AxisPlace", "Edges", "Placement", "Plannable", "ReadModel"]

#: Per axis, the sorted interior positions where a stored chunk begins, or
#: ``None`` for a free axis: what :meth:`Array._plan_edges` gives.
Edges = tuple["np.ndarray | None", ...]

#: How an input's axis lies along an axis of the node using it:
#: ``(axis, offset, step)``, input position ``p`` being node position
#: ``offset + step * p`` along ``axis`` (``step`` is 1, or -1 where the node
#: reverses the axis).
AxisPlace = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Placement:
    """Where an input lies in the node that uses it, as the planner sees it.

    What a selection of the node selects of the input, axis by axis: the
    planner maps the storage chunks of the sources below a node to the
    node's axes through it, and so knows where tiles may cut and what each
    tile reads (see :meth:`Array._plan_placements`).

    Attributes
    ----------
    array : Array
        The input.
    axes : tuple of (AxisPlace or None)
        For each axis of the input, the axis of the node it follows, as
        ``(axis, offset, step)``: input position ``p`` is node position
        ``offset + step * p``. ``None`` for an axis the node does not follow
        position by position (a broadcast operand's, a reduced one): every
        tile then reads all of it.
    spans : tuple of (int, int, int)
        ``(axis, start, stop)``: the input lies within ``start:stop`` along
        that axis of the node (a mosaic's member, a stack's); tiles outside
        read nothing of it.

    Examples
    --------
    The second member of a mosaic of two 3-row arrays is rows 3-5 of it:

    >>> import numpy as np, lazyarray as la
    >>> m = la.concatenate([np.zeros((3, 2)), np.ones((3, 2))])
    >>> second = m._plan_placements()[1]
    >>> second.axes, second.spans
    (((0, 3, 1), (1, 0, 1)), ((0, 3, 6),))
    """

    array: Array
    axes: tuple[AxisPlace | None, ...]
    spans: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class ReadModel:
    """How reading a stored source costs, in bytes of stored chunk data fetched.

    What a node that reads storage says of its source
    (:meth:`Array._plan_read_model`); the planner counts each tile's reads
    with it (:func:`lazyarray.planning.native_read_bytes`).

    Attributes
    ----------
    kind : str
        ``"chunks"``: every chunk touched is fetched whole; ``"plain"``:
        plain HDF5 chunks read directly, whole or only the selected rows or
        slab; ``"rows"``: a contiguous HDF5 dataset read directly, by whole
        rows or selected elements; ``"elements"``: the elements read.
    shape : tuple of int
        The source's shape.
    chunks : tuple of int or None
        Its storage chunks.
    itemsize : int
        Bytes per element.
    support : NativeSupport
        What the source reads natively; the rest of a key is taken in memory.
    sieve_bytes : int
        For ``"rows"``: rows of at most this many bytes are read whole,
        whatever part of them is selected (the direct reader's sieve).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> la.asarray(np.zeros((4, 3)))._plan_read_model(direct_io=True)
    ReadModel(kind='elements', shape=(4, 3), chunks=None, itemsize=8, support=NativeSupport(negative_steps=True, index_arrays=None, unsorted_arrays=True), sieve_bytes=0)
    """

    kind: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...] | None
    itemsize: int
    support: NativeSupport
    sieve_bytes: int = 0



class Plannable:
    """The planner protocol's methods, with the answers that suit most nodes.

    A mixin of :class:`lazyarray.Array`, whose ``shape``, ``ndim``,
    ``dtype``, ``masked`` and ``inputs`` the defaults read.
    """

    if TYPE_CHECKING:  # what the defaults read, defined by Array

        @property
        def shape(self) -> tuple[int, ...]: ...

        @property
        def ndim(self) -> int: ...

        @property
        def dtype(self) -> np.dtype: ...

        @property
        def masked(self) -> bool: ...

        @property
        def inputs(self) -> tuple[Array, ...]: ...

    @property
    def reduced_axes(self) -> tuple[int, ...] | None:
        """The axes of its input this node reduces, or ``None`` if it reduces none.

        A node that reduces is computed by a pass over its input
        (``inputs[0]``), in a stage before the passes that use it, for which
        it stands for its value in memory: planning walks stop at it.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> x = la.asarray(np.zeros((4, 3, 2)))
        >>> la.mean(x, axis=(0, 2)).reduced_axes, (x * 2).reduced_axes
        ((0, 2), None)
        """
        return None

    def _plan_placements(self) -> tuple[Placement, ...]:
        """Where each input lies in this node: how a key of it pushes down, axis by axis.

        Returns
        -------
        tuple of Placement
            One per input that a selection of this node reads. By default an
            input of this node's shape follows its axes one to one, and any
            other (a broadcast operand) is read whole by every tile.
        """
        identity = tuple((axis, 0, 1) for axis in range(self.ndim))
        return tuple(
            Placement(operand, identity if operand.shape == self.shape
                      else (None,) * operand.ndim)
            for operand in self.inputs
        )

    def _plan_edges(self, kind: str, edges_of: Callable[[Array], Edges]) -> Edges:
        """Where, along each axis, the stored chunks this node reads begin.

        Parameters
        ----------
        kind : {"chunks", "encoded", "breaks"}
            The edges asked for: of every source's storage chunks, of the
            encoded (compressed) ones only, or where a mosaic's members end.
        edges_of : callable
            Gives the same edges of an input, computed before.

        Returns
        -------
        Edges
            Per axis, the sorted interior positions, or ``None`` for a free
            axis. By default the inputs' edges, mapped through
            :meth:`_plan_placements`.
        """
        edges: list[np.ndarray | None] = [None] * self.ndim
        for placement in self._plan_placements():
            for follows, found in zip(placement.axes, edges_of(placement.array)):
                if follows is None or found is None:
                    continue
                axis, offset, step = follows
                # A chunk that begins at input position e begins at node position
                # offset + e, or, the axis reversed, ends at offset - e.
                moved = offset + found if step > 0 else (offset + 1 - found)[::-1]
                # An input may reach past this node's ends (a scan's, a moving
                # window's input): only edges inside the node count.
                moved = moved[(moved > 0) & (moved < self.shape[axis])]
                known = edges[axis]
                edges[axis] = moved if known is None else sorted_union(known, moved)
        return tuple(edges)

    def _plan_own_bytes(self, joined: bool) -> int:
        """Bytes per element this node makes of its own while a tile is worked on.

        Its values, and its mask if it is masked; nothing for a view.
        ``joined`` says whether some tile of the pass spans two members of
        a node that joins members (a mosaic): otherwise such a node is its
        member's part itself, and makes nothing.
        """
        return int(self.dtype.itemsize) + (1 if self.masked else 0)

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        """Working bytes per element of this node's inputs, given each one's (``parts``).

        Their sum by default, each input holding a whole tile; the members of
        a mosaic or stack make up one tile together, so the widest counts.
        """
        return sum(parts)

    @property
    def _plan_shared_bytes(self) -> int:
        """Bytes per element of this node's value that all its uses in a tile share.

        Only asked of nodes without inputs: a source's read, which the tile
        cache shares (its item size), or nothing (a constant's values are
        made for each use).
        """
        return 0

    def _plan_carries(self) -> tuple[tuple[Any, int, Key], ...]:
        """For a scan: the carries evaluating this node publishes, each as
        ``(chain, position, cross-section)`` (see :mod:`lazyarray.carries`);
        none for other nodes. The executor
        announces them before a tile starts, so that the next tile along
        the chain waits for the carry rather than computing it again."""
        return ()

    @property
    def _plan_state_bytes(self) -> int:
        """For a node that reduces: partial state per output element, in bytes."""
        return 0

    @property
    def _plan_scratch_bytes(self) -> tuple[int, int]:
        """For a node that reduces: scratch per input element, in bytes.

        Returns
        -------
        (int, int)
            What stays while a tile's block is worked on (validity masks,
            cast copies), and what lives only while the reduction runs.
        """
        return 0, 0

    @property
    def _plan_label(self) -> str:
        """How :meth:`lazyarray.planning.Plan.explain` names this node: a
        reduction its statistic, a source its file."""
        return type(self).__name__

    @property
    def _plan_stored_source(self) -> Any:
        """The stored object this node reads (a dataset, an array), or ``None``
        for a node that reads no storage. Reads of one source with one key in
        one tile are made once, whoever asks."""
        return None

    @property
    def _plan_stored_key(self) -> Key | None:
        """The key, normalised against :attr:`_plan_stored_source`'s shape, through
        which this node reads it; ``None`` for a node that reads no storage."""
        return None

    def _plan_read_model(self, direct_io: bool) -> ReadModel | None:
        """How reading this node's stored source costs (``None``: it reads none).

        ``direct_io`` is the evaluation's option: it may change which reader
        reads the source.
        """
        return None
