"""The partial states of several reductions of one block, found together.

The executor hands every block of a tile to :func:`tile_states` with all
the reductions of that input, so that statistics can share their work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .accumulators import State
    from .aggregation import Aggregation

__all__ = ["tile_states"]


def tile_states(reductions: Sequence[Aggregation], block: np.ndarray,
                origin: tuple[int, ...]) -> list[State]:
    """The partial state of each of ``reductions`` of ``block`` (at ``origin``)."""
    return [r.tile_state(block, origin) for r in reductions]
