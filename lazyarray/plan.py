"""The planner: how an evaluation is cut into tiles that fit the budget.

Everything here is pure arithmetic on shapes; nothing reads data.

Examples
--------
>>> tile_shape((100, 50, 40), itemsize=8, budget=8 * 4000)
(2, 50, 40)
>>> tile_shape((100, 50, 40), itemsize=8, budget=8 * 4000, chunks=(1, 25, 40))
(2, 50, 40)
>>> list(iter_tiles((3, 4), (2, 4)))
[(slice(0, 2, None), slice(0, 4, None)), (slice(2, 3, None), slice(0, 4, None))]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

__all__ = ["iter_tiles", "tile_shape"]


def _c_order_tile(shape: Sequence[int], budget: int) -> list[int]:
    """The largest C-ordered block of at most ``budget`` elements: whole trailing
    axes, then as much of the next axis as fits, then length 1."""
    tile = [1] * len(shape)
    room = budget
    for axis in range(len(shape) - 1, -1, -1):
        length = shape[axis]
        if length <= room:
            tile[axis] = length
            room //= max(length, 1)
        else:
            tile[axis] = max(room, 1)
            break
    return tile


def tile_shape(
    shape: Sequence[int],
    itemsize: int,
    budget: int,
    chunks: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The shape of the tiles that cover ``shape`` within ``budget`` bytes.

    Tiles are C-ordered blocks (contiguous in a C-ordered result). When the
    source's storage ``chunks`` are known and one fits the budget, tiles are
    made of whole chunks, grown along the last axes first.

    Parameters
    ----------
    shape : sequence of int
        Shape of the array to cover.
    itemsize : int
        Bytes per element, the largest of any array evaluated for the tile.
    budget : int
        Bytes one tile may take.
    chunks : sequence of int, optional
        Storage chunk shape to align to.

    Returns
    -------
    tuple of int
    """
    elements = max(1, budget // max(itemsize, 1))
    if chunks is None or len(chunks) != len(shape):
        return tuple(_c_order_tile(shape, elements))
    tile = [min(c, n) for c, n in zip(chunks, shape)]
    if math.prod(tile) > elements:
        return tuple(_c_order_tile(shape, elements))
    for axis in range(len(shape) - 1, -1, -1):
        others = math.prod(tile[:axis] + tile[axis + 1 :])
        most = elements // max(others, 1)
        if most >= shape[axis]:
            tile[axis] = shape[axis]
            continue
        tile[axis] = max(tile[axis], most // chunks[axis] * chunks[axis])
        break
    return tuple(tile)


def iter_tiles(shape: Sequence[int], tile: Sequence[int]) -> Iterator[tuple[slice, ...]]:
    """The tiles of ``tile`` shape that cover ``shape``, in C order.

    An array with a zero-length axis has no tiles; a 0-d array has one, ``()``.
    """
    if any(n == 0 for n in shape):
        return
    starts = [range(0, n, max(t, 1)) for n, t in zip(shape, tile)]
    for corner in itertools.product(*starts):
        yield tuple(slice(s, min(s + t, n)) for s, t, n in zip(corner, tile, shape))
