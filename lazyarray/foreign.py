"""Objects of other libraries recognised without importing those libraries.

Importing Zarr takes about a third of a second, a third of ``import
lazyarray``: every process that unpickles a graph or runs a worker would pay
it. An object can only be a ``zarr.Array`` if Zarr has been imported, so
the test asks Zarr only then; the modules that read or write Zarr import it
when they first do.

Examples
--------
>>> import numpy as np, zarr
>>> is_zarr_array(zarr.create_array({}, shape=(2,), dtype="f4")), is_zarr_array(np.zeros(2))
(True, False)
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["is_zarr_array"]


def is_zarr_array(obj: Any) -> bool:
    """Whether ``obj`` is a ``zarr.Array`` (Zarr left unimported if it is not loaded)."""
    zarr = sys.modules.get("zarr")
    return zarr is not None and isinstance(obj, zarr.Array)
