"""Adapters wrap concrete sources; :func:`asarray` picks the right one.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> la.asarray(np.zeros((2, 3)))
<NumpyArrayAdapter shape=(2, 3) dtype=float64 size=48 B source=ndarray>
>>> la.asarray(2.5)
<ConstantArray shape=() dtype=float64 size=8 B>
"""

from __future__ import annotations

import numbers
from typing import Any

import h5py
import numpy as np
import zarr

from ..array import Array
from .base import ArrayAdapter
from .h5py_ import HDF5ArrayAdapter, open_dataset
from .numpy_ import NumpyArrayAdapter, OrthoArrayAdapter
from .zarr_ import ZarrArrayAdapter

__all__ = [
    "ArrayAdapter",
    "HDF5ArrayAdapter",
    "NumpyArrayAdapter",
    "OrthoArrayAdapter",
    "ZarrArrayAdapter",
    "asarray",
    "ensure_array",
    "open_dataset",
]


def asarray(source: Any) -> Array:
    """Wrap ``source`` in the lazy array that suits it; never reads it.

    ===========================================  =======================
    source                                       result
    ===========================================  =======================
    a lazyarray ``Array``                        itself
    ``numpy.ndarray``, ``numpy.ma.MaskedArray``  ``NumpyArrayAdapter``
    ``h5py.Dataset``                             ``HDF5ArrayAdapter``
    ``zarr.Array``                               ``ZarrArrayAdapter``
    a Python or numpy scalar                     0-d ``ConstantArray``
    other objects with ``shape``, ``dtype``      ``NumpyArrayAdapter``
    and ``__getitem__``
    lists and tuples of numbers                  ``NumpyArrayAdapter``
    ===========================================  =======================

    Raises
    ------
    TypeError
        For anything else.

    Examples
    --------
    >>> import numpy as np
    >>> asarray([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    if isinstance(source, Array):
        return source
    if isinstance(source, np.ndarray):
        return NumpyArrayAdapter(source)
    if isinstance(source, h5py.Dataset):
        return HDF5ArrayAdapter(source)
    if isinstance(source, zarr.Array):
        return ZarrArrayAdapter(source)
    if isinstance(source, (numbers.Number, np.generic)):
        from ..creation import ConstantArray

        return ConstantArray((), source)
    if all(hasattr(source, name) for name in ("shape", "dtype", "__getitem__")):
        return NumpyArrayAdapter(source)
    if isinstance(source, (list, tuple)):
        values = np.asarray(source)
        if values.dtype != object:
            return NumpyArrayAdapter(values)
    raise TypeError(
        f"cannot make a lazy array of {type(source).__name__}: expected a lazyarray "
        "Array, an ndarray, an h5py.Dataset, a zarr.Array, a scalar, or an object "
        "with shape, dtype and __getitem__"
    )


#: Biggus's name for :func:`asarray`.
ensure_array = asarray
