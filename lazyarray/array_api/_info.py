"""``__array_namespace_info__``: what the namespace supports, asked at run time.

Examples
--------
>>> import lazyarray.array_api as xp
>>> info = xp.__array_namespace_info__()
>>> info.capabilities()["data-dependent shapes"], info.default_device(), info.devices()
(False, 'cpu', ['cpu'])
>>> sorted(info.dtypes(kind="real floating"))
['float32', 'float64']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._dtypes import (
    ALL_DTYPES,
    DEFAULT_COMPLEX,
    DEFAULT_FLOAT,
    DEFAULT_INDEX,
    DEFAULT_INT,
    check_device,
    isdtype,
)

__all__ = ["Info", "__array_namespace_info__"]


class Info:
    """The inspection namespace of :mod:`lazyarray.array_api`."""

    def capabilities(self) -> dict[str, Any]:
        """What lazyarray can do of the optional parts of the standard.

        No boolean-mask indexing and no function whose result's shape depends
        on the values (``nonzero``, ``unique_*``): a lazy array knows its
        shape before anything is read. At most numpy's 64 dimensions, as the
        values are computed by numpy.
        """
        return {"boolean indexing": False, "data-dependent shapes": False,
                "max dimensions": 64}

    def default_device(self) -> str:
        """``"cpu"``: lazyarray computes with numpy."""
        return "cpu"

    def devices(self) -> list[str]:
        """The one device, ``["cpu"]``."""
        return ["cpu"]

    def default_dtypes(self, *, device: Any = None) -> dict[str, np.dtype]:
        """The dtypes of Python floats, complexes and ints, and of indices."""
        check_device(device, "default_dtypes")
        return {"real floating": DEFAULT_FLOAT, "complex floating": DEFAULT_COMPLEX,
                "integral": DEFAULT_INT, "indexing": DEFAULT_INDEX}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, np.dtype]:
        """The standard's dtypes by name, those of ``kind`` (as :func:`isdtype`) if given."""
        check_device(device, "dtypes")
        return {d.name: d for d in ALL_DTYPES if kind is None or isdtype(d, kind)}


def __array_namespace_info__() -> Info:
    """The namespace's inspection object (:class:`Info`)."""
    return Info()
