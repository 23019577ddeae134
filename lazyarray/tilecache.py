"""A per-tile cache of source reads, so a read shared by results happens once.

While one tile of a pass is evaluated, every adapter read goes through
:func:`cached_read`: two results that need the same region of the same
source (``mean(a, 0)`` and ``a * 2``, say) share one read. The cache lives
only for the tile, in the thread working on it.

Examples
--------
>>> calls = []
>>> with tile_cache():
...     first = cached_read(("a", 1), lambda: calls.append(1) or "data")
...     again = cached_read(("a", 1), lambda: calls.append(1) or "data")
>>> first == again == "data", len(calls)
(True, 1)
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cached_read", "tile_cache"]

_cache: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "lazyarray_tile_cache", default=None
)


@contextmanager
def tile_cache() -> Iterator[None]:
    """Share reads within the ``with`` block (one tile, in this thread)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def cached_read(key: Hashable, read: Callable[[], Any]) -> Any:
    """``read()``, or its earlier result for ``key`` inside the same tile."""
    cache = _cache.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]
