"""Writing the command line's results: netCDF-4 files (through h5netcdf) and Zarr stores.

Results are streamed, never held whole in memory:

1. the output is created under a temporary name beside its path
   (:func:`lazyarray.publish.publishing`), with its dimensions, coordinate
   variables (written whole: they are small) and empty, chunked result
   variables with their attributes, by a netCDF writer (h5netcdf, so the
   dimension scales are netCDF-4's own) or by Zarr (format 2 with xarray's
   ``_ARRAY_DIMENSIONS`` and consolidated metadata, which every version of
   xarray opens);
2. lazyarray evaluates the results straight into those variables
   (:func:`lazyarray.save` with the HDF5 datasets or Zarr arrays as
   targets), tile by tile, masked points written as each variable's
   ``_FillValue``;
3. the output is synced and renamed to its path, so a failed or interrupted
   run leaves no output that looks complete, and an existing output is
   replaced only when asked.

Examples
--------
>>> import os, tempfile, netCDF4, numpy as np, lazyarray as la
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "out.nc")
>>> x = Coordinate("x", ("x",), np.array([10.0, 20.0]), {"units": "m"})
>>> y = OutputVariable("y", ("x",), la.asarray(np.ma.masked_array([1.5, 0], [0, 1])),
...                    {"units": "K"}, chunks=(2,))
>>> write_netcdf(path, Layout({"x": 2}, [x], [y], {"title": "demo"}), overwrite=False)
>>> with netCDF4.Dataset(path) as f:
...     f["y"].dimensions, f["y"][:].tolist(), f["x"][:].tolist(), f.title
(('x',), [1.5, None], [10.0, 20.0], 'demo')
>>> folder.cleanup()
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import h5netcdf
import h5py
import numpy as np
import zarr

import lazyarray as la
from lazyarray.publish import publishing

__all__ = ["Coordinate", "Layout", "OutputVariable", "netcdf_fill_value", "write_netcdf",
           "write_zarr"]

#: The netCDF library's default fill values, by dtype (``netCDF4.default_fillvals``):
#: what result variables declare as ``_FillValue``.
_DEFAULT_FILLS = {
    "i1": -127, "u1": 255, "i2": -32767, "u2": 65535, "i4": -2147483647, "u4": 4294967295,
    "i8": -9223372036854775806, "u8": 18446744073709551614,
    "f2": np.nan, "f4": 9.969209968386869e36, "f8": 9.969209968386869e36,
}


def netcdf_fill_value(dtype: Any) -> Any:
    """The netCDF library's default fill value for ``dtype``, a scalar of it.

    >>> netcdf_fill_value("f4"), netcdf_fill_value("i8")
    (np.float32(9.96921e+36), np.int64(-9223372036854775806))
    """
    dtype = np.dtype(dtype)
    return np.asarray(_DEFAULT_FILLS[dtype.str[1:]], dtype)[()]


@dataclass(frozen=True)
class Coordinate:
    """A variable copied as it is (stored values and attributes): a coordinate or its bounds."""

    name: str
    dims: tuple[str, ...]
    values: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputVariable:
    """A result variable: a lazy array written into it as it is evaluated.

    ``fill_value`` is its ``_FillValue`` (``None``: it has none; its masked
    points, if any, hold the array's fill value).
    """

    name: str
    dims: tuple[str, ...]
    array: la.Array
    attrs: dict[str, Any] = field(default_factory=dict)
    chunks: tuple[int, ...] | None = None
    fill_value: Any = None


@dataclass(frozen=True)
class Layout:
    """What an output holds: dimensions, copied variables, results and global attributes."""

    dimensions: dict[str, int]
    coordinates: list[Coordinate]
    results: list[OutputVariable]
    attrs: dict[str, Any] = field(default_factory=dict)


def _fill_of(attrs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """``attrs`` without ``_FillValue``, and its value (which writers take apart)."""
    rest = dict(attrs)
    return rest, rest.pop("_FillValue", None)


def _netcdf_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` as netCDF attributes: numbers, text, or lists of either.

    Attributes from Zarr's JSON may be what netCDF has no type for: an object
    is written as its JSON text, a bool as 0 or 1 (h5py would store an
    enumeration netCDF cannot read), a ``None`` is left out.

    >>> _netcdf_attrs({"a": {"b": 1}, "flag": True, "none": None, "n": [1, 2]})
    {'a': '{"b": 1}', 'flag': 1, 'n': [1, 2]}
    """
    found: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(
                isinstance(v, (dict, list, tuple, type(None))) for v in value)):
            value = json.dumps(_json(value))
        found[key] = value
    return found


def write_netcdf(path: str | os.PathLike[str], layout: Layout, overwrite: bool,
                 **options: Any) -> None:
    """Write ``layout`` to a new netCDF-4 file at ``path``, results streamed.

    Parameters
    ----------
    path : path-like
    layout : Layout
    overwrite : bool
        Replace a file at ``path`` (once all is written).
    **options
        Evaluation options (``memory_limit``, ``workers``, ``progress``).

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false; nothing is evaluated.
    """
    with publishing(path, "file", overwrite=overwrite, operation="lazyarray") as temporary:
        with h5netcdf.File(temporary, "w") as f:
            f.attrs.update(_netcdf_attrs(layout.attrs))
            f.dimensions = dict(layout.dimensions)
            for c in layout.coordinates:
                attrs, fill = _fill_of(c.attrs)
                v = f.create_variable(c.name, c.dims, c.values.dtype, data=c.values,
                                      fillvalue=fill)
                v.attrs.update(_netcdf_attrs(attrs))
            for r in layout.results:
                attrs, _ = _fill_of(r.attrs)
                v = f.create_variable(r.name, r.dims, r.array.dtype, chunks=r.chunks,
                                      fillvalue=r.fill_value)
                v.attrs.update(_netcdf_attrs(attrs))
        # The variables exist, with their dimension scales: lazyarray fills them in.
        with h5py.File(temporary, "r+") as f:
            la.save([r.array for r in layout.results], [f[r.name] for r in layout.results],
                    **options)


def _json(value: Any) -> Any:
    """An attribute's value (or a dict of them) as Zarr's JSON metadata hold it."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()] if value.ndim else _json(value[()])
    if isinstance(value, np.generic):
        return _json(value.item())
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "NaN", "Infinity": as Zarr writes them
    return value


def write_zarr(path: str | os.PathLike[str], layout: Layout, overwrite: bool,
               **options: Any) -> None:
    """Write ``layout`` to a new Zarr store (format 2) at ``path``, results streamed.

    Each array names its dimensions in xarray's ``_ARRAY_DIMENSIONS``
    attribute, and the store's metadata are consolidated, so
    ``xarray.open_zarr(path)`` opens it. A result's fill value is both the
    Zarr array's ``fill_value`` and its ``_FillValue`` attribute, so xarray,
    netCDF-minded readers and :func:`lazyarray.asarray` all mask it.

    Raises
    ------
    FileExistsError
        If something is at ``path`` and ``overwrite`` is false, or it is not a
        Zarr store; nothing is evaluated.
    """
    with publishing(path, "store", overwrite=overwrite, operation="lazyarray") as temporary:
        group = zarr.open_group(temporary, mode="w", zarr_format=2,
                                attributes=_json(dict(layout.attrs)))
        for c in layout.coordinates:
            attrs, fill = _fill_of(c.attrs)
            array = group.create_array(
                c.name, shape=c.values.shape, dtype=c.values.dtype,
                chunks=c.values.shape or "auto", fill_value=fill,
                attributes={**_json(attrs), "_ARRAY_DIMENSIONS": list(c.dims)})
            array[...] = c.values
        targets = []
        for r in layout.results:
            attrs, _ = _fill_of(r.attrs)
            if r.fill_value is not None:
                attrs["_FillValue"] = r.fill_value
            targets.append(group.create_array(
                r.name, shape=r.array.shape, dtype=r.array.dtype, chunks=r.chunks or "auto",
                fill_value=r.fill_value,
                attributes={**_json(attrs), "_ARRAY_DIMENSIONS": list(r.dims)}))
        la.save([r.array for r in layout.results], targets, **options)
        zarr.consolidate_metadata(temporary)
