"""The planner: how an evaluation is cut into passes of tiles that fit the budget.

Everything here is arithmetic on shapes and on what nodes say of themselves
(the planner protocol of :class:`lazyarray.Array`: how a node's axes lie
over its inputs', the storage-chunk edges it exposes, the bytes a tile of
it costs, which axes it reduces, what its reads of storage cost); nothing
reads data, and no node class is named. The modules, from the entry point
down:

* :mod:`.grid`: the block grid of an array evaluated alone
  (:func:`block_grid`, :attr:`lazyarray.Array.chunks`);
* :mod:`.planner`: :func:`make_plan`, results grouped into stages of
  passes, each pass's tiles chosen and sized;
* :mod:`.plans`: the plan objects (:class:`Plan`, :class:`Pass`) and the
  plan in words;
* :mod:`.tiling`: tile shapes within the budget and the candidate tilings
  a pass chooses among;
* :mod:`.memory`: the working bytes of a pass's tiles;
* :mod:`.passreads`: a pass's reads, where its tiles may cut
  (:func:`tiling_cuts`) and what a tiling reads (:func:`count_reads`);
* :mod:`.tilereads`: what each tile of a tiling reads of each source;
* :mod:`.readcost`: what one read of a source costs
  (:func:`native_read_bytes`);
* :mod:`.sources`: the sources a pass reads and where they lie in its
  domain (:func:`source_reads`);
* :mod:`.cuts`: where tiles end along one axis (:func:`axis_cuts`);
* :mod:`.edges`: storage chunk edges seen from a node (:func:`chunk_edges`);
* :mod:`.stages`: where passes end (nodes that reduce).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = la.asarray(np.zeros((100, 10, 10), np.float32))
>>> [step] = la.plan([la.mean(a, 0), a * 2], chunk_bytes=2**14).passes
>>> step.domain, step.tile, step.tile_count
((100, 10, 10), (40, 10, 10), 3)
"""

from __future__ import annotations

from ..planprotocol import Edges, ReadModel
from .cuts import Cuts, axis_cuts
from .edges import chunk_edges, chunk_extents, encoded_chunk_edges, member_breaks
from .grid import block_grid
from .passreads import MAX_CUT_AXIS, PassReads, count_reads, tiling_cuts
from .planner import MIN_TASKS, TASK_TILES, make_plan
from .plans import Pass, Plan
from .readcost import native_read_bytes
from .sources import SourceRead, read_model, source_reads
from .stages import walk_inputs
from .tilereads import ReadCost, ReadCount
from .tiling import (
    COLUMN_BYTES,
    COLUMN_CHUNK,
    DEPTH,
    REGION_BYTES,
    TILE_SLOTS,
    iter_tiles,
    tile_shape,
)

__all__ = [
    "COLUMN_BYTES",
    "COLUMN_CHUNK",
    "DEPTH",
    "MAX_CUT_AXIS",
    "MIN_TASKS",
    "REGION_BYTES",
    "TASK_TILES",
    "TILE_SLOTS",
    "Cuts",
    "Edges",
    "Pass",
    "PassReads",
    "Plan",
    "ReadCost",
    "ReadCount",
    "ReadModel",
    "SourceRead",
    "axis_cuts",
    "block_grid",
    "chunk_edges",
    "chunk_extents",
    "count_reads",
    "encoded_chunk_edges",
    "iter_tiles",
    "make_plan",
    "member_breaks",
    "native_read_bytes",
    "read_model",
    "source_reads",
    "tile_shape",
    "tiling_cuts",
    "walk_inputs",
]
