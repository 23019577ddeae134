"""The executor: run a plan's passes on a thread pool, into memory or sinks.

The package holds one idea per module: :mod:`~lazyarray.execution.evaluate`
(the calls that evaluate into memory, and small graphs at once),
:mod:`~lazyarray.execution.passes` (one pass, tile by tile),
:mod:`~lazyarray.execution.states` (reductions' partial states, block by
block), :mod:`~lazyarray.execution.sinks` (where results go),
:mod:`~lazyarray.execution.saving` (``save``) and
:mod:`~lazyarray.execution.progress`.

1. The planner (:func:`lazyarray.planning.make_plan`) groups the results into
   passes; each pass traverses one domain tile by tile.
2. Worker threads do the pure work of a tile: evaluate every distinct input
   of the pass on the tile (a read shared by several results happens once,
   through a per-tile read cache) and reduce it to partial states, one
   input at a time: an input only reductions use is dropped once reduced,
   so many results of inputs of their own need the memory of one.
3. The main thread owns every accumulator and sink: it takes tiles back in
   traversal order, combines partial states, finalises each output region as
   soon as its last tile is in, and writes. Results are therefore identical
   for any number of workers.
4. At most ``in_flight`` tiles exist at once, so memory stays bounded; reads
   of later tiles run ahead while earlier ones are combined.
5. An exception in any tile cancels the tiles not started, waits for those
   running, and re-raises the original exception in the caller.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = la.asarray(np.arange(12.0).reshape(3, 4))
>>> mean0, total, doubled = la.ndarrays([la.mean(a, 0), a.sum(), a * 2])
>>> mean0.tolist(), float(total), doubled.shape
([4.0, 5.0, 6.0, 7.0], 66.0, (3, 4))
"""

from .evaluate import compute, masked_arrays, ndarrays, plan
from .progress import Progress
from .saving import save
from .sinks import check_targets, describe_target

__all__ = [
    "Progress",
    "check_targets",
    "compute",
    "describe_target",
    "masked_arrays",
    "ndarrays",
    "plan",
    "save",
]
