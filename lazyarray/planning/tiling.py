"""Tile shapes and tilings: how a pass's domain is cut, within the budget.

Tiles are C-ordered blocks (:func:`tile_shape`) of whole storage chunks
where the budget allows; a pass's tile (:func:`_pass_tile`) is also within
its share of ``memory_limit`` with scratch and partial states, and, for
reductions alone, deepened along the reduced axes (:func:`_deepened`), or
made of large chunks stacked along the first axis, each read into its place
(:func:`_column`). A
pass's tiles are chosen among a few candidate tilings (:func:`_tiling`):
those that split no storage chunk of any source where the budget allows,
else those that read the fewest bytes, as
:class:`~lazyarray.planning.PassReads` counts them.

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
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..array import Array, format_bytes
from ..errors import MemoryBudgetError
from ..planprotocol import Edges
from .cuts import Cuts, axis_cuts
from .memory import _tile_bytes
from .passreads import PassReads
from .tilereads import ReadCount

__all__ = ["COLUMN_BYTES", "COLUMN_CHUNK", "DEPTH", "REGION_BYTES", "TILE_SLOTS", "iter_tiles",
           "tile_shape"]


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
    inner: Sequence[int] = (),
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
    inner : sequence of int, optional
        Axes grown first, as if they were the last (axes that no source
        follows: cutting them would read every source again).

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> tile_shape((3, 100, 40), itemsize=8, budget=8 * 600, inner=(0,))
    (3, 5, 40)
    """
    if inner:
        order = [a for a in range(len(shape)) if a not in inner] + list(inner)
        found = tile_shape([shape[a] for a in order], itemsize, budget,
                           None if chunks is None else [chunks[a] for a in order])
        tile = [0] * len(shape)
        for position, axis in enumerate(order):
            tile[axis] = found[position]
        return tuple(tile)
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


# Tiles are sized for this many in flight, whatever the number of workers:
# the tiling sets the order in which floating-point partial results merge,
# so it must not depend on ``workers`` for results to be bit-identical for
# any number of them. Four is two workers, each with a tile read ahead.
TILE_SLOTS = 4


# A tile of reductions is deepened until its data is at least this many
# times the bytes of its partial states. Each tile of a task is added into
# the task's running states: with tiles a few planes deep over wide planes
# (workload (a): 7 of (1000, 1000) float32), the kernels move more bytes of
# state than of data. Measured, one core, mean, std, min and max of 28 MB
# tiles: 2.8 GB/s at (7, 1000, 1000), 3.7 at (14, 500, 1000), 5.2 at
# (28, 250, 1000) and at (56, 125, 1000).
DEPTH = 8

# ... but its output region stays at least this many bytes of the input: the
# tile is read as one run of the region per reduced index, and short runs
# are slow to read.
REGION_BYTES = 1 << 18

# Tiles of reductions over sources whose chunks are at least COLUMN_CHUNK
# bytes are stacks of whole chunks along the first axis, one chunk wide
# along the others, of about COLUMN_BYTES (:func:`_column`): each chunk is
# then a contiguous part of the tile, read into its place with no copy,
# and the tile is reduced while it is in the CPU cache. Tiles of several
# chunks side by side are first read into a scratch buffer and copied (the
# chunks' bytes are not the tile's), and at 20 MB a tile is out of the
# cache by the time the kernels sweep it. Measured, mean and std of 1 GB of
# float32 in (50, 100, 100) chunks on 2 cores, the raw read 0.32 s: tiles
# (100, 100, 100) took 0.22 s over axis 0 and 0.26 s over axes (1, 2),
# (50, 100, 1000) tiles 0.41 s for both. Smaller chunks stay in wider tiles:
# one system call each would cost more than the copy.
COLUMN_BYTES = 4 << 20
COLUMN_CHUNK = 1 << 20


def _deepened(tile: Sequence[int], domain: Sequence[int], granule: Sequence[int],
              axes: Sequence[int], elements: int, per_element: int, itemsize: int,
              reductions: Sequence[Array]) -> tuple[int, ...]:
    """``tile`` reshaped for ``reductions`` (all over ``axes``): a narrower output
    region, deeper along the reduced axes, about as many elements.

    The outermost kept axis is halved (to multiples of ``granule``, the
    extent below which tiles must not cut it; the region to no less than
    :data:`REGION_BYTES` of ``itemsize`` elements) and the reduced axes grow,
    innermost first, to ``elements``, until the data is :data:`DEPTH` times
    the partial states or nothing can move. Reads stay long: the inner axes
    keep their extent.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((1000, 1000, 1000), np.float32))
    >>> _deepened((7, 1000, 1000), x.shape, (1, 1, 1), (0,), 7_000_000, 4, 4, [la.mean(x, 0)])
    (28, 250, 1000)
    >>> _deepened((7, 1000, 1000), x.shape, (1, 1000, 1000), (0,), 7_000_000, 4, 4, [la.mean(x, 0)])
    (7, 1000, 1000)
    """
    tile = list(tile)
    kept = [a for a in range(len(tile)) if a not in axes]
    while _tile_bytes(tile, 0, reductions) * DEPTH > math.prod(tile) * per_element:
        region = math.prod(tile[a] for a in kept) * itemsize
        narrow = [a for a in kept if tile[a] >= 2 * granule[a] and region // 2 >= REGION_BYTES]
        deep = [a for a in axes if tile[a] < domain[a]]
        if not narrow or not deep:
            break
        axis = narrow[0]
        tile[axis] = tile[axis] // 2 // granule[axis] * granule[axis]
        for axis in reversed(deep):
            others = math.prod(tile) // tile[axis]
            most = elements // others // granule[axis] * granule[axis]
            tile[axis] = min(domain[axis], max(tile[axis], most))
            if tile[axis] < domain[axis]:
                break
    return tuple(tile)


def _pass_tile(
    domain: tuple[int, ...],
    chunks: tuple[int, ...] | None,
    per_element: int,
    reductions: Sequence[Array],
    largest: int,
    decode: int,
    options: Any,
    deepen: bool = False,
    inner: Sequence[int] = (),
) -> tuple[int, ...]:
    """The tile shape of a pass (``inner``: see :func:`tile_shape`).

    ``chunks`` is the longest stretch between the cuts that split no chunk
    along each axis (1 along free axes; see :class:`~lazyarray.planning.Cuts`).

    1. At most ``chunk_bytes`` of its largest array, and within a
       ``TILE_SLOTS``-th of ``memory_limit`` with scratch and partial states.
    2. Whole storage chunks where the sources have them, even when one chunk
       is more than that share, as long as a chunk is within ``chunk_bytes``
       and fits ``memory_limit`` (fewer tiles are then in flight).
    3. A pass whose smallest tile (a chunk, or one element) cannot fit
       ``memory_limit`` raises :class:`MemoryBudgetError`.
    4. With ``deepen`` (a pass of reductions alone, all over the same
       axes), deep tiles (see :func:`_deepened`), narrowed along the kept
       axes in steps of ``chunks``: plain chunks that the direct reader
       reads in parts have a step of 1 where those parts are read alone.
    5. Where partial states are still most of a tile, within half of
       ``memory_limit`` instead: deeper tiles, fewer states to merge.
    """
    cap = max(1, options.chunk_bytes // largest)
    chunk = tuple(min(c, n) for c, n in zip(chunks, domain)) if chunks else None
    if chunk is not None and math.prod(chunk) > cap:
        chunk = None  # chunk_bytes asks for tiles smaller than a chunk
    floor = chunk or (1,) * len(domain)
    smallest = _tile_bytes(floor, per_element, reductions) + decode
    if smallest > options.memory_limit:
        states = _tile_bytes(floor, 0, reductions)
        least = (f", tiles of at least {chunks} (a storage chunk, or the part of a plain "
                 "one read alone)") if chunks else ""
        raise MemoryBudgetError(
            f"plan: a pass over shape {domain} needs {format_bytes(smallest)} for its "
            f"smallest tile ({per_element} working bytes per element{least}"
            f"{', ' + format_bytes(states) + ' of partial states' if states else ''}); "
            f"memory_limit is {format_bytes(options.memory_limit)}"
        )

    axes = (reductions[0].reduced_axes or ()) if deepen else ()
    granule = list(floor)

    def shaped(elements: int) -> tuple[int, ...]:
        tile = tile_shape(domain, 1, elements, chunks, inner)
        if deepen:
            tile = _deepened(tile, domain, granule, axes, elements, per_element, largest,
                             reductions)
        return tile

    def fitted(share: int) -> tuple[int, ...]:
        elements = max(1, min(cap, share // per_element))
        tile = shaped(elements)
        # Partial states grow with the tile's output region: shrink until it fits.
        while _tile_bytes(tile, per_element, reductions) > share and math.prod(tile) > math.prod(floor):
            need = _tile_bytes(tile, per_element, reductions)
            elements = max(1, min(math.prod(tile) - 1, math.prod(tile) * share // need))
            tile = shaped(elements)
        if chunk is not None and math.prod(tile) < math.prod(chunk):
            tile = chunk  # tile_shape cut the chunks; one whole chunk fits the limit
        return tile

    tile = fitted(options.memory_limit // TILE_SLOTS)
    if _tile_bytes(tile, 0, reductions) * 2 > _tile_bytes(tile, per_element, reductions):
        # Partial states are most of a tile (a reduction over the outer axis
        # of wide planes, say). The main thread merges them once per tile, in
        # time proportional to their size: deeper tiles, two in flight, make
        # fewer merges of the same size.
        tile = max(tile, fitted(options.memory_limit // 2 - decode), key=math.prod)
    if deepen and chunk is not None:
        tile = _column(tile, domain, chunk, cap, largest, per_element, reductions) or tile
    return tile


def _column(tile: tuple[int, ...], domain: tuple[int, ...], chunk: tuple[int, ...], cap: int,
            itemsize: int, per_element: int, reductions: Sequence[Array]
            ) -> tuple[int, ...] | None:
    """A tile of whole chunks stacked along axis 0 instead of ``tile``, or ``None``.

    Only where ``tile`` holds chunks side by side along a later axis (which
    are copied into it), the chunks hold at least :data:`COLUMN_CHUNK`
    bytes, and the stack keeps the partial states a small part of it
    (:data:`DEPTH`): about :data:`COLUMN_BYTES`, and no more than ``cap``
    elements (``chunk_bytes``) or ``tile``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((500, 1000, 1000), np.float32))
    >>> _column((50, 100, 1000), x.shape, (50, 100, 100), 2**23, 4, 12, [la.mean(x, 0)])
    (100, 100, 100)
    >>> _column((50, 100, 1000), x.shape, (50, 10, 100), 2**23, 4, 12, [la.mean(x, 0)]) is None
    True
    """
    width = chunk[1:]
    if len(domain) < 2 or all(t <= c for t, c in zip(tile[1:], width)):
        return None  # one chunk wide already
    if math.prod(chunk) * itemsize < COLUMN_CHUNK:
        return None
    depth = COLUMN_BYTES // itemsize // math.prod(width) // chunk[0] * chunk[0]
    most = min(cap, math.prod(tile)) // math.prod(width) // chunk[0] * chunk[0]
    column = (min(domain[0], max(chunk[0], min(depth, most))), *width)
    if _tile_bytes(column, 0, reductions) * DEPTH > math.prod(column) * per_element:
        return None
    return column


@dataclass(frozen=True)
class _Tiling:
    """A pass's tiles under one set of allowed cuts, and what they read."""

    tile: tuple[int, ...]
    bounds: tuple[tuple[int, ...], ...]
    count: ReadCount


def _candidates(reads: PassReads, domain: tuple[int, ...]) -> Iterator[tuple[Cuts, bool]]:
    """Sets of allowed cuts to try, each with whether its tiles are sized in its chunks.

    1. Every source's chunks whole (no chunk split).
    2. The same, but plain chunks that the direct reader reads in parts may
       be cut where the parts are read alone (deep tiles need this).
    3. Compressed (and Zarr) chunks whole, plain ones cut anywhere.
    4. The chunks of the sources of one chunk shape whole, for the three
       shapes with the most bytes: when the sources' chunk grids have no
       common cut that fits the budget, keep the chunks of one whole.
    5. No constraint: tiles the size of the largest source chunk, cut evenly.

    Made one at a time: the planner stops at the first that reads nothing twice.
    """
    seen: set[Any] = set()

    def fresh(cuts: Cuts) -> bool:
        mark = cuts.key()
        if mark in seen:
            return False
        seen.add(mark)
        return True

    strict = reads.cuts(domain)
    yield strict, True
    relaxed = reads.cuts(domain, relax=True)
    if fresh(strict) and fresh(relaxed):
        yield relaxed, True
    chunked = [n for n, m in enumerate(reads.models) if m.kind in ("chunks", "plain")]
    encoded = [n for n in chunked if reads.models[n].kind == "chunks"]
    if encoded and len(encoded) < len(chunked):
        cuts = reads.cuts(domain, only=encoded)
        if fresh(cuts):
            yield cuts, True
    shapes: dict[tuple[int, ...] | None, list[int]] = {}
    for n in chunked:
        shapes.setdefault(reads.models[n].chunks, []).append(n)
    if len(shapes) > 1:
        ranked = sorted(shapes.values(),
                        key=lambda g: -sum(reads.reads[n].adapter.nbytes for n in g))
        for group in ranked[:3]:
            cuts = reads.cuts(domain, relax=True, only=group)
            if fresh(cuts):
                yield cuts, True
    free = (None,) * len(domain)
    yield Cuts(free, free, tuple(domain), strict.floor), False


def _tiling(domain: tuple[int, ...], reads: PassReads, breaks: Edges, per_element: int,
            reductions: Sequence[Array], largest: int, decode: int, options: Any,
            deepen: bool) -> _Tiling:
    """The tiles of a pass that read the fewest bytes (see :func:`_candidates`).

    Each candidate set of cuts gives tiles (:func:`_pass_tile`, within the
    caps of the cuts) cut on allowed positions (:func:`axis_cuts`), and
    :func:`~lazyarray.planning.count_reads` counts what they read; the first
    candidate that reads the fewest bytes wins, or, for deep tiles, of those
    that read as few, the one whose tiles have the narrowest output region
    and are no shallower (deep tiles exist for speed). A candidate whose smallest
    tile cannot fit ``memory_limit`` is passed over; a tile must hold the
    largest chunk of any one source (of a plain chunk that the direct reader
    reads in parts, the smallest part it reads alone), else
    :class:`MemoryBudgetError`.
    """
    candidates = _candidates(reads, domain)
    # The smallest tile holds the largest chunk of any one source, as it is
    # stored, or the smallest part of it that is read alone: raises if it
    # cannot fit.
    first = next(candidates)
    _pass_tile(domain, reads.cuts(domain, relax=True).floor, per_element, reductions, largest,
               decode, options)
    best: _Tiling | None = None
    error: MemoryBudgetError | None = None
    reduced = (reductions[0].reduced_axes or ()) if deepen else ()

    def deeper(tile: Sequence[int], than: Sequence[int]) -> bool:
        # Deep tiles narrow the output region and deepen along the reduced
        # axes, but keep reading runs of REGION_BYTES at least, as
        # _deepened does: tiles one 40 KB chunk wide along the kept axes
        # read each chunk with a call of its own, where wider ones read runs
        # of chunks adjacent in the file in one (the chunk-size probe of
        # make bench: 0.85-1.47 s against 0.74-1.08 s).
        def region(t: Sequence[int]) -> int:
            return math.prod(n for a, n in enumerate(t) if a not in reduced)

        def depth(t: Sequence[int]) -> int:
            return math.prod(t[a] for a in reduced)

        return (region(tile) < region(than) and depth(tile) >= depth(than)
                and region(tile) * largest >= REGION_BYTES)

    # Domain axes that no source follows (the quantiles of an order
    # statistic, a broadcast's new axes): a tile cut along one reads its
    # sources again, so in passes without reductions (whose tiles are
    # deepened along the reduced axes instead) tiles grown along them first
    # are tried too, and kept where they read less.
    followed = {axis for read in reads.reads for axis in read.axes if axis is not None}
    unfollowed = tuple(a for a, n in enumerate(domain) if n > 1 and a not in followed)
    orders = [(), unfollowed] if unfollowed and reads.reads and not reductions else [()]
    for number, (cuts, sized) in enumerate(itertools.chain([first], candidates)):
        shape = tuple(min(n, c) for n, c in zip(domain, cuts.caps))
        chunks = cuts.extents(domain) if sized else cuts.floor
        for inner in orders:
            try:
                tile = _pass_tile(shape, chunks, per_element, reductions, largest, decode,
                                  options, deepen=deepen, inner=inner)
            except MemoryBudgetError as failed:
                error = failed
                continue
            bounds = tuple(
                axis_cuts(n, allowed, t, _breaks_at(b, allowed), required)
                for n, allowed, t, b, required in zip(domain, cuts.allowed, tile, breaks,
                                                      cuts.required)
            )
            count = reads.count(bounds)
            if best is None or count.total < best.count.total or (
                deepen and count.total == best.count.total and deeper(tile, best.tile)
            ):
                best = _Tiling(tile, bounds, count)
        if best is None:
            continue
        if best.count.total <= best.count.once and (
            number or not deepen or tuple(best.tile) == tuple(domain)
        ):
            # Nothing read twice: no later candidate reads less (and none is
            # deeper than one tile of the whole domain).
            break
    if best is None:
        assert error is not None
        raise error
    return best


def _breaks_at(breaks: np.ndarray | None, allowed: np.ndarray | None) -> np.ndarray | None:
    """Members' ends where cuts are allowed (a cut elsewhere would split a chunk)."""
    if breaks is None or allowed is None:
        return breaks
    return breaks[np.isin(breaks, allowed)]
