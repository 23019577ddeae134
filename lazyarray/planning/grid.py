"""The block grid: how an array is cut into blocks when evaluated alone.

What :attr:`lazyarray.Array.chunks` reports (dask's ``chunks``): the tiles of
the last pass of the array's plan, along its axes.
"""

from __future__ import annotations

from ..array import Array
from ..options import Options
from .planner import make_plan

__all__ = ["block_grid"]


def block_grid(array: Array, options: Options) -> tuple[tuple[int, ...], ...]:
    """The blocks ``array`` is cut into when evaluated alone: per axis, their
    lengths (:attr:`lazyarray.Array.chunks`, dask's ``chunks``).

    They are the tiles of the pass that makes ``array`` (the last: earlier
    ones make what it needs), along its axes; for a node that reduces, the
    output regions of its tiles.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> from lazyarray.options import get_options
    >>> x = la.asarray(np.zeros((6, 4)))
    >>> block_grid(x * 2, get_options(chunk_bytes=64))
    ((2, 2, 2), (4,))
    >>> block_grid(la.mean(x, axis=1), get_options(chunk_bytes=64))
    ((2, 2, 2),)
    """
    step = make_plan([array], options).passes[-1]
    reduced = array.reduced_axes or ()
    axes = [a for a in range(len(step.domain)) if a not in reduced]
    grid = []
    for a in axes:
        cuts = step.bounds[a]
        lengths = tuple(int(cuts[i + 1] - cuts[i]) for i in range(len(cuts) - 1))
        grid.append(lengths if step.domain[a] else (0,))
    return tuple(grid)

