"""The lazyarray exception family.

Every exception also inherits the built-in exception that existing ``except``
clauses expect, so code written for numpy or Biggus keeps catching them.

Examples
--------
>>> from lazyarray.errors import IndexingError, LazyArrayError
>>> issubclass(IndexingError, IndexError) and issubclass(IndexingError, LazyArrayError)
True
"""

from __future__ import annotations

__all__ = [
    "AxisError",
    "ChunkDecodeError",
    "DTypeError",
    "FillValueError",
    "IndexingError",
    "LazyArrayError",
    "MaskedSourceError",
    "MemoryBudgetError",
    "ShapeError",
    "UnsupportedDTypeError",
]


class LazyArrayError(Exception):
    """Base class of every error lazyarray raises on purpose."""


class IndexingError(LazyArrayError, IndexError):
    """A key is out of range, has too many indices, or a mask of the wrong length."""


class ShapeError(LazyArrayError, ValueError):
    """Tiles, stack members, operands or sinks whose shapes do not fit together."""


class DTypeError(LazyArrayError, ValueError):
    """Tiles or stack members whose dtypes differ where one dtype is required."""


class FillValueError(DTypeError, TypeError):
    """A fill value that the array's dtype cannot hold (1000 for ``int8``, 0.5 for
    an integer dtype). Also a ``TypeError``, as ``numpy.ma`` raises for it."""


class AxisError(LazyArrayError, ValueError):
    """An axis is out of range or repeated."""


class UnsupportedDTypeError(DTypeError, TypeError):
    """A source whose dtype has no numpy arithmetic (object, void, structured,
    variable-length strings), refused when it is wrapped. Also a ``TypeError``,
    as numpy raises for arithmetic it cannot do."""


class MaskedSourceError(LazyArrayError, ValueError):
    """A source returned masked points (``numpy.ma.MaskedArray``) but was wrapped
    as unmasked, so its masked points would have entered results as data."""


class ChunkDecodeError(LazyArrayError, OSError):
    """A stored chunk that cannot be decoded (corrupt, truncated, or an unknown
    filter); the message names the file, the dataset and the chunk."""


class MemoryBudgetError(LazyArrayError, MemoryError):
    """An evaluation plan cannot fit the memory limit."""
