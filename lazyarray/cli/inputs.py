"""The files the command line reads: netCDF-4 and HDF5 files, Zarr stores (formats 2 and 3).

A :class:`Store` lists a file's array variables as :class:`Variable` records
(dimension names, shape, stored dtype, attributes; read from the metadata
alone), reads small variables (coordinates) whole, and gives any variable as
a lazy array decoded as lazyarray decodes it (:func:`lazyarray.open_dataset`,
:func:`lazyarray.asarray`). Dimension names come from netCDF-4's dimension
scales (read with h5netcdf; plain HDF5 datasets get h5netcdf's phony
names), from ``dimension_names`` (Zarr 3) or ``_ARRAY_DIMENSIONS`` (Zarr 2,
as xarray writes them).

Examples
--------
>>> import os, tempfile, netCDF4, numpy as np
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "t.nc")
>>> with netCDF4.Dataset(path, "w") as f:
...     _ = f.createDimension("x", 3)
...     f.createVariable("x", "f4", ("x",))[:] = [1, 2, 3]
...     f.createVariable("v", "i2", ("x",), fill_value=-1)[:] = [5, -1, 7]
>>> with open_store(path) as store:
...     v = store.variable("v")
...     v.dims, v.shape, v.dtype, store.lazy("v").masked_array().tolist()
(('x',), (3,), dtype('int16'), [5, None, 7])
>>> folder.cleanup()
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import h5netcdf
import h5py
import numpy as np
import zarr

import lazyarray as la

from .common import UsageError

__all__ = ["Store", "Variable", "open_store"]


def plain(value: Any) -> Any:
    """An attribute's value as Python or numpy values print it: text decoded, one value unwrapped.

    >>> plain(np.bytes_(b"K")), plain(np.array([1.5])), plain(np.array([1, 2], "i2")).tolist()
    ('K', np.float64(1.5), [1, 2])
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO" and value.size == 1:
            return plain(value.reshape(-1)[0])
        if value.size == 1:
            return value.reshape(-1)[0]
    return value


@dataclass(frozen=True)
class Variable:
    """An array variable of a file or store, as its metadata describe it.

    Attributes
    ----------
    path : str
        The file or store.
    name : str
        The variable's path inside it (``"tas"``, ``"group/tas"``).
    dims : tuple of str
        Its dimensions' names.
    shape : tuple of int
    dtype : numpy.dtype
        The stored dtype.
    attrs : dict
        Its attributes, without the format's own bookkeeping.
    """

    path: str
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    attrs: dict[str, Any] = field(compare=False)

    @property
    def where(self) -> str:
        """``path:name``, as error messages and the command line name a variable."""
        return f"{self.path}:{self.name}"


class Store(abc.ABC):
    """An open netCDF-4/HDF5 file or Zarr store; close it (or use :func:`open_store`)."""

    #: ``"netCDF-4/HDF5"``, ``"Zarr v2"`` or ``"Zarr v3"``.
    kind: str
    path: str

    @abc.abstractmethod
    def variables(self) -> list[Variable]:
        """Every array variable, groups included, in the file's order."""

    def variable(self, name: str) -> Variable:
        """The variable ``name``.

        Raises
        ------
        UsageError
            If there is none, naming those there are.
        """
        name = name.strip("/")
        for found in self.variables():
            if found.name == name:
                return found
        names = ", ".join(v.name for v in self.variables()) or "none"
        raise UsageError(f"{self.path}: no variable {name!r} (variables: {names})")

    @abc.abstractmethod
    def values(self, name: str) -> np.ndarray:
        """The stored values of variable ``name``, read whole (for coordinates)."""

    @abc.abstractmethod
    def lazy(self, name: str) -> la.Array:
        """Variable ``name`` as a lazy array, decoded as lazyarray decodes it; reads nothing."""

    @abc.abstractmethod
    def global_attrs(self) -> dict[str, Any]:
        """The attributes of the file or store itself (its root group's)."""

    def close(self) -> None:
        """Close what the store holds open."""


class HDF5Store(Store):
    """A netCDF-4 or HDF5 file, read with h5netcdf (dimensions) and h5py (storage)."""

    def __init__(self, path: str):
        self.path = path
        self.kind = "netCDF-4/HDF5"
        self.h5 = h5py.File(path, "r")
        try:
            self.nc = h5netcdf.File(path, "r", phony_dims="sort")
        except Exception:
            self.h5.close()
            raise
        self._variables: list[Variable] | None = None

    def variables(self) -> list[Variable]:
        if self._variables is None:
            found: list[Variable] = []
            groups = [self.nc]
            while groups:
                group = groups.pop(0)
                for var in group.variables.values():
                    name = var.name.strip("/")
                    found.append(Variable(
                        self.path, name, tuple(var.dimensions), tuple(var.shape),
                        np.dtype(self.h5[name].dtype),
                        {key: plain(value) for key, value in var.attrs.items()}))
                groups.extend(group.groups.values())
            self._variables = found
        return self._variables

    def dataset(self, name: str) -> h5py.Dataset:
        """The h5py dataset of variable ``name``."""
        return self.h5[name]

    def values(self, name: str) -> np.ndarray:
        return np.asarray(self.h5[name][()])

    def lazy(self, name: str) -> la.Array:
        return la.open_dataset(self.path, name)

    def global_attrs(self) -> dict[str, Any]:
        return {key: plain(value) for key, value in self.nc.attrs.items()}

    def close(self) -> None:
        self.nc.close()
        self.h5.close()


class ZarrStore(Store):
    """A Zarr store, format 2 or 3: a group of arrays, or one array."""

    def __init__(self, path: str):
        self.path = path
        self.root: Any = zarr.open(path, mode="r")
        self.kind = f"Zarr v{self.root.metadata.zarr_format}"
        self._variables: list[Variable] | None = None

    def arrays(self) -> dict[str, zarr.Array]:
        """The store's arrays by path (``""`` for a store that is one array)."""
        if isinstance(self.root, zarr.Array):
            return {"": self.root}
        found = {}
        for name, member in self.root.members(max_depth=None):
            if isinstance(member, zarr.Array):
                found[name] = member
        return found

    def variables(self) -> list[Variable]:
        if self._variables is None:
            found = []
            for name, array in self.arrays().items():
                found.append(Variable(self.path, name, _zarr_dims(array), tuple(array.shape),
                                      np.dtype(array.dtype), dict(array.attrs)))
            self._variables = found
        return self._variables

    def array(self, name: str) -> zarr.Array:
        """The Zarr array of variable ``name``."""
        return self.root if isinstance(self.root, zarr.Array) else self.root[name]

    def values(self, name: str) -> np.ndarray:
        return np.asarray(self.array(name)[...])

    def lazy(self, name: str) -> la.Array:
        return la.asarray(self.array(name))

    def global_attrs(self) -> dict[str, Any]:
        return {} if isinstance(self.root, zarr.Array) else dict(self.root.attrs)


def _zarr_dims(array: zarr.Array) -> tuple[str, ...]:
    """Dimension names of a Zarr array: ``dimension_names`` (Zarr 3) or xarray's
    ``_ARRAY_DIMENSIONS`` attribute (Zarr 2), else ``dim_0``, ``dim_1``, ..."""
    names: Any = getattr(array.metadata, "dimension_names", None)
    if not names:
        names = array.attrs.get("_ARRAY_DIMENSIONS")
    if not isinstance(names, (list, tuple)) or len(names) != array.ndim or any(n is None for n in names):
        names = [f"dim_{axis}" for axis in range(array.ndim)]
    return tuple(str(n) for n in names)


def is_zarr(path: str) -> bool:
    """Whether ``path`` is a Zarr store (a directory with Zarr metadata)."""
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, name)) for name in ("zarr.json", ".zgroup", ".zarray"))


@contextmanager
def open_store(path: str) -> Iterator[Store]:
    """The file or store at ``path``, open for the ``with`` block.

    Raises
    ------
    UsageError
        If nothing is there, or neither HDF5 nor Zarr.
    """
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file or directory")
    store: Store
    try:
        if is_zarr(path):
            store = ZarrStore(path)
        elif os.path.isfile(path) and h5py.is_hdf5(path):
            store = HDF5Store(path)
        else:
            raise UsageError(f"{path}: not a netCDF-4/HDF5 file nor a Zarr store (netCDF-3 "
                             "files are not read; convert them with nccopy -k nc4)")
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot be opened: {error}") from error
    try:
        yield store
    finally:
        store.close()
