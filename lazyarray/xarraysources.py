"""xarray's lazily decoded netCDF-4 variables, read by lazyarray's own readers.

``xr.open_dataset`` hands its chunk manager each variable as a stack of
lazy wrappers: the backend's array (which reads the stored values through
the netCDF4 or h5netcdf library, one read at a time under xarray's file
lock), a lazy selection of it, and xarray's decoding steps (fill values to
NaN, unpacking, unsigned integers...), each an elementwise function applied
when the array is read. Read as it is, such a variable costs xarray's lock
per tile and a copy per wrapper.

:func:`stored_and_decoded` recognises that stack for netCDF-4 (HDF5) files
and builds the same array as a lazyarray graph: the stored values from
:func:`lazyarray.open_dataset` with ``decode=False`` (so lazyarray's direct
HDF5 reader, in parallel, without the lock), the same selection, and each of
xarray's own decoding functions applied to every tile as an elementwise node.
The values are xarray's by construction: the same stored numbers through the
same functions. Anything it does not recognise exactly (another backend, a
netCDF-3 file, a vectorised selection, a dataset whose shape or dtype in the
file differs from what the backend reports) is left to the generic path
(``None``), which reads through xarray.

xarray's wrappers are internal classes, recognised here by name and shape:
a change in them sends variables to the generic path, never to wrong values.

Examples
--------
>>> import os, tempfile, numpy as np, netCDF4, xarray as xr, lazyarray as la
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "t.nc")
>>> with netCDF4.Dataset(path, "w") as f:
...     _ = f.createDimension("x", 4)
...     v = f.createVariable("t", "i2", ("x",), fill_value=-1)
...     v.scale_factor = 0.5
...     v[:] = np.ma.masked_array([1.0, 2.0, 0, 3.5], mask=[0, 0, 1, 0])
>>> ds = xr.open_dataset(path, chunks={}, chunked_array_type="lazyarray")
>>> [type(n).__name__ for n in (ds.t.data, ds.t.data.inputs[0])]
['Elementwise', 'Elementwise']
>>> ds.t.values.tolist()
[1.0, 2.0, nan, 3.5]
>>> ds.close()
>>> folder.cleanup()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import h5py
import numpy as np

from .adapters.h5py_ import open_dataset
from .array import Array
from .elementwise import apply_ufunc

__all__ = ["XarrayDecoding", "stored_and_decoded"]

#: Wrappers that only pass reads through (copy-on-write, caching, the
#: explicit-indexing adapter): the values below them are the values.
_PASS_THROUGH = ("ImplicitToExplicitIndexingAdapter", "CopyOnWriteArray", "MemoryCachedArray")

#: Wrappers that convert the values below to their dtype, elementwise.
_CASTS = ("NativeEndiannessArray", "BoolTypeArray")

#: Prefix the netCDF-C library gives the HDF5 dataset of a variable named
#: like a dimension it does not coordinate (netCDF-4 format specification).
_NON_COORD = "_nc4_non_coord_"


@dataclasses.dataclass(frozen=True)
class XarrayDecoding:
    """One of xarray's decoding steps, applied to a tile of stored values.

    ``func`` is the elementwise function xarray wraps in its lazy decoding
    array (``xarray.coding.common.lazy_elemwise_func``), ``dtype`` the dtype
    xarray says it gives.
    """

    __name__: ClassVar[str] = "xarray_decoding"
    func: Callable[[np.ndarray], Any]
    dtype: np.dtype

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(self.func(values), dtype=self.dtype)


def _inner(node: Any) -> Any:
    return getattr(node, "array", None)


def _unwrap(data: Any) -> tuple[Any, tuple[Any, ...], list[XarrayDecoding]] | None:
    """xarray's backend array under ``data``, the selection of it and the decoding
    steps (outermost first); ``None`` where the stack is not exactly that."""
    node = data
    while type(node).__name__ in _PASS_THROUGH:
        node = _inner(node)
    steps = []
    while type(node).__name__ in ("_ElementwiseFunctionArray", *_CASTS):
        # A cast (to native byte order, int8 to bool) is numpy's conversion.
        func = np.asarray if type(node).__name__ in _CASTS else node.func
        steps.append(XarrayDecoding(func, np.dtype(node.dtype)))
        node = _inner(node)
    key: tuple[Any, ...] | None = None
    if type(node).__name__ == "LazilyIndexedArray":
        if type(node.key).__name__ not in ("BasicIndexer", "OuterIndexer"):
            return None  # a vectorised (pointwise) selection: not lazyarray's orthogonal one
        key = tuple(node.key.tuple)
        node = _inner(node)
    if type(node).__name__ not in ("NetCDF4ArrayWrapper", "H5NetCDFArrayWrapper"):
        return None
    if key is None:
        key = (slice(None),) * len(node.shape)
    return node, key, steps


def _hdf5_location(wrapper: Any) -> tuple[str, str] | None:
    """The file and HDF5 dataset path of a netCDF4 or h5netcdf backend array."""
    variable = wrapper.get_array()
    if type(wrapper).__name__ == "H5NetCDFArrayWrapper":
        dataset = variable._h5ds
        return dataset.file.filename, dataset.name
    group = variable.group()
    if not str(group.data_model).startswith("NETCDF4"):
        return None  # netCDF-3 or CDF-5: not HDF5
    return group.filepath(), group.path.rstrip("/") + "/" + variable.name


def _stored(filename: str, name: str, shape: tuple[int, ...], dtype: np.dtype) -> Array | None:
    """The stored values of ``name`` (or its non-coordinate name) in ``filename``,
    if the file holds them with the shape and dtype the backend reports."""
    with h5py.File(filename, "r") as file:
        parent, _, base = name.rpartition("/")
        # A dimension without a coordinate variable is a dataset of its own
        # name too (a dimension scale): the variable is the one of its shape.
        for candidate in (name, f"{parent}/{_NON_COORD}{base}"):
            found = file.get(candidate)
            if isinstance(found, h5py.Dataset) and found.shape == tuple(shape):
                break
        else:
            return None
    stored = open_dataset(filename, candidate, decode=False)
    if stored.shape != tuple(shape) or stored.dtype != dtype:
        return None
    return stored


def stored_and_decoded(data: Any) -> Array | None:
    """``data`` (one of xarray's lazily decoded netCDF-4 variables) as a lazyarray
    graph reading the file itself; ``None`` if it is not recognised (see the module).

    Parameters
    ----------
    data : object
        What xarray passes to the chunk manager's ``from_array``.

    Returns
    -------
    Array or None
        Of ``data``'s shape and dtype, reading nothing until evaluated.
    """
    unwrapped = _unwrap(data)
    if unwrapped is None:
        return None
    wrapper, key, steps = unwrapped
    raw = np.dtype(wrapper.dtype)
    if raw.kind not in "biufc":
        return None
    try:
        location = _hdf5_location(wrapper)
        array = None if location is None else _stored(*location, tuple(wrapper.shape), raw)
        if array is None:
            return None
        array = array[key]
        for step in reversed(steps):
            array = apply_ufunc(step, array, dtype=step.dtype)
    except (OSError, KeyError, ValueError, AttributeError, TypeError):
        # Not an HDF5 file lazyarray opens, or a dtype lazyarray does not
        # hold: the generic path reads it through xarray.
        return None
    if array.shape != tuple(data.shape) or array.dtype != np.dtype(data.dtype):
        return None
    return array
