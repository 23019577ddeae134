"""A block of memory as the fused kernels see it: kept-outer, reduced and kept-inner runs.

:func:`block_layout` describes a block reduced over some of its axes as
``A`` kept-outer rows, ``R`` reduced rows and ``B`` kept-inner elements with
element strides (:class:`BlockLayout`); :func:`arrange_block` copies a block whose
axes do not merge that way into kept-then-reduced order; :func:`flat_view`
is the one-dimensional memory the kernels sweep. Used by
:mod:`lazyarray.fused`; knows nothing of statistics.

Examples
--------
>>> import numpy as np
>>> block_layout(np.zeros((4, 6)), (1,))
BlockLayout(A=4, R=6, B=1, sa=6, sr=1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FEW", "BlockLayout", "arrange_block", "block_layout", "flat_view"]


@dataclass(frozen=True)
class BlockLayout:
    """A block as ``A`` kept-outer rows, ``R`` reduced rows and ``B`` kept-inner elements.

    Strides are in elements; the ``B`` elements of a row are adjacent, and
    so are the ``R`` reduced ones when ``B == 1``.
    """

    A: int
    R: int
    B: int
    sa: int
    sr: int

    @property
    def loop(self) -> str:
        """The kernels' loop order: over outputs innermost, or over reduced elements."""
        return "outer" if self.B > 1 else "inner"

    def span(self) -> int:
        """Elements from the first to the last of the block, in memory."""
        return (self.A - 1) * self.sa + (self.R - 1) * self.sr + self.B


def block_layout(array: np.ndarray, axes: tuple[int, ...]) -> BlockLayout | None:
    """``array`` reduced over ``axes`` as a :class:`BlockLayout`, or ``None``.

    ``None`` when the reduced axes are not adjacent (length-1 axes aside),
    an outer or reduced run's axes do not merge into one stride, or the
    innermost run is not contiguous.

    Examples
    --------
    >>> import numpy as np
    >>> block = np.zeros((5, 100, 8), np.float32)[:, 10:14]
    >>> block_layout(block, (0,))
    BlockLayout(A=1, R=5, B=32, sa=0, sr=800)
    >>> block_layout(block, (1, 2)), block_layout(block, (0, 2))
    (BlockLayout(A=5, R=32, B=1, sa=800, sr=1), None)
    """
    runs: tuple[list[tuple[int, int]], ...] = ([], [], [])
    stage = 0  # 0: kept-outer axes, 1: reduced axes, 2: kept-inner axes
    itemsize = array.itemsize
    for axis, (n, stride) in enumerate(zip(array.shape, array.strides)):
        if n == 1:
            continue
        if stride < 0 or stride % itemsize:
            return None
        if axis in axes:
            if stage == 2:
                return None  # reduced axes on both sides of a kept one
            stage = 1
        elif stage == 1:
            stage = 2
        runs[stage].append((n, stride // itemsize))
    merged = []
    for run in runs:
        if not run:
            merged.append((1, 0))
            continue
        count, step = run[-1]
        for n, stride in reversed(run[:-1]):
            if stride != count * step:
                return None
            count *= n
        merged.append((count, step))
    (A, sa), (R, sr), (B, sb) = merged
    if B > 1 and sb != 1:
        return None
    if B == 1 and R > 1 and sr != 1:
        return None
    return BlockLayout(A, R, B, sa if A > 1 else 0, sr if R > 1 else (1 if B == 1 else 0))


def flat_view(array: np.ndarray, layout: BlockLayout) -> np.ndarray:
    """The memory ``array`` spans, as a read-only one-dimensional array.

    Read-only always, so that numba compiles one kernel per dtype, not
    another for read-only sources.
    """
    if array.flags.c_contiguous:
        flat = array.reshape(-1)  # a view, made faster than by as_strided
        flat.flags.writeable = False
        return flat
    return np.lib.stride_tricks.as_strided(
        array, shape=(layout.span(),), strides=(array.itemsize,), writeable=False
    )


#: Fewer kept-inner outputs than this (and more reduced rows) make the
#: kernels' loop over outputs too short to vectorise: such blocks are copied.
FEW = 16

#: Reduced rows of adjacent elements shorter than this (and at least FEW
#: outputs) are copied to the ``"outer"`` layout.
SHORT = 16


def arrange_block(data: np.ndarray, mask: np.ndarray | None, axes: tuple[int, ...]
              ) -> tuple[np.ndarray, BlockLayout, np.ndarray | None, BlockLayout | None]:
    """``data`` and ``mask`` with their layouts for the kernels, copied only where needed."""
    layout = block_layout(data, axes)
    if layout is not None and 1 < layout.B < FEW and layout.R >= FEW:
        layout = None  # a few outputs: the loop over them would not vectorise
    if layout is not None and layout.B == 1 and 1 < layout.R < SHORT and layout.A >= FEW:
        # Short rows of many outputs (a mean over a last axis of 10): the
        # "inner" loop's lanes cost more to set up than such a row holds.
        # Reduced axes first, kept ones last, the block is swept as rows of
        # outputs, the "outer" loop, which vectorises over them.
        kept = [a for a in range(data.ndim) if a not in axes]
        order = list(axes) + kept
        moved = np.ascontiguousarray(data.transpose(order))
        moved_axes = tuple(range(len(axes)))
        moved_layout = block_layout(moved, moved_axes)
        if moved_layout is not None and moved_layout.loop == "outer":
            data, axes, layout = moved, moved_axes, moved_layout
            if mask is not None:
                mask = mask.transpose(order)
    if layout is None:
        # Kept axes first, reduced ones last: the block is in the CPU cache,
        # so this copy costs a fraction of the sweep it makes vectorise.
        kept = [a for a in range(data.ndim) if a not in axes]
        order = kept + list(axes)
        data = np.ascontiguousarray(data.transpose(order))
        if mask is not None:
            mask = mask.transpose(order)
        axes = tuple(range(len(kept), data.ndim))
        layout = block_layout(data, axes)
        assert layout is not None  # contiguous, kept axes then reduced ones
    if mask is None:
        return data, layout, None, None
    mask_layout = block_layout(mask, axes)
    if mask_layout is None or mask_layout.loop != layout.loop:
        mask = np.ascontiguousarray(mask)
        mask_layout = block_layout(mask, axes)
        assert mask_layout is not None and mask_layout.loop == layout.loop
    return data, layout, mask, mask_layout
