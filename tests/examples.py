"""How many examples a property test draws: fewer in ``make test``, more in ``make test-all``.

``make test`` must stay under 3.5 minutes on a fresh 2-core machine, so the
property tests that re-prove one law over hundreds of random graphs draw
enough examples there to catch a regression of any node or statistic, and
``make test-all`` (which sets ``LAZYARRAY_THOROUGH=1``) draws several times
more, to search the space.

Examples
--------
>>> examples(20, 100) in (20, 100)
True
"""

from __future__ import annotations

import os

__all__ = ["THOROUGH", "examples"]

#: Set by ``make test-all``.
THOROUGH = os.environ.get("LAZYARRAY_THOROUGH", "") not in ("", "0")


def examples(fast: int, thorough: int) -> int:
    """``thorough`` under ``make test-all``, else ``fast``."""
    return thorough if THOROUGH else fast
