"""The adapter for ``netCDF4.Variable`` sources, read through the netCDF4 library.

A ``netCDF4.Variable`` looks like any array-like (``shape``, ``dtype``,
``__getitem__``) but is not one: with its default *auto mask and scale*, it
returns ``numpy.ma.MaskedArray`` data whose masked points hold arbitrary
numbers, and, for packed variables, values of another dtype than the
``dtype`` it declares (``int16`` stored, ``float32`` returned). Wrapped as a
plain array-like, its masked points would be averaged as data and its floats
cast back to ``int16``. :class:`NetCDF4VariableAdapter` reads it as netCDF4
returns it:

1. its dtype is the one netCDF4's reads have (:func:`returned_dtype`), from
   the variable's own settings (``scale``, ``mask``) and attributes
   (``scale_factor``, ``add_offset``, ``_Unsigned``), known without reading;
2. with auto masking on, the adapter is masked: netCDF4's masks are kept, so
   masked points never enter a result;
3. reads hold a lock: the netCDF-C library is not thread-safe, and the
   evaluation's worker threads would otherwise call it at once.

The adapter keeps the file's path and the variable's path, so a graph over it
pickles and unpickles in another process (with the variable's mask and scale
settings); variables of in-memory datasets cannot be pickled. Adapters of
files lazyarray opens itself (unpickled ones, and :func:`stored_values`)
hold no open file: each read leases it from :mod:`lazyarray.files`.

Examples
--------
>>> import os, tempfile, netCDF4, numpy as np, lazyarray as la
>>> path = os.path.join(tempfile.mkdtemp(), "packed.nc")
>>> with netCDF4.Dataset(path, "w") as f:
...     _ = f.createDimension("x", 4)
...     v = f.createVariable("t", "i2", ("x",), fill_value=-1)
...     v.scale_factor, v.add_offset = np.float32(0.5), np.float32(10)
...     v[:] = np.ma.masked_array([1.0, 2.0, 3.0, 4.0], mask=[0, 0, 1, 0])
>>> f = netCDF4.Dataset(path)
>>> t = la.asarray(f["t"])
>>> t, t.masked
(<NetCDF4VariableAdapter shape=(4,) dtype=float32 size=16 B source=Variable>, True)
>>> t.masked_array().tolist(), float(t.mean())
([1.0, 2.0, None, 4.0], 2.3333332538604736)
>>> f.close()
"""

from __future__ import annotations

import contextvars
import os
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import files
from ..errors import ShapeError, UnsupportedDTypeError
from ..indexing import Key, NativeSupport, full_key, to_native
from .base import ArrayAdapter

if TYPE_CHECKING:
    from ..context import EvaluationContext

__all__ = ["NetCDF4VariableAdapter", "is_netcdf4_variable", "returned_dtype", "stored_values"]

#: One lock for every netCDF4 call this module makes: netCDF-C is not
#: thread-safe, and netCDF4 releases the GIL while it reads.
_NETCDF4_LOCK = threading.RLock()

def _open_netcdf4(path: str) -> Any:
    import netCDF4

    with _NETCDF4_LOCK:
        return netCDF4.Dataset(path, "r")


def _close_netcdf4(handle: Any) -> None:
    with _NETCDF4_LOCK:
        handle.close()


# Files opened to unpickle adapters (and for stored values) are lazyarray's
# own: leased from the cache of open files, one handle per path.
files.register_kind("netcdf4", _open_netcdf4, _close_netcdf4)

#: The variable an adapter being built stands for, when it is lazyarray's own
#: (of a leased file): the adapter then keeps the paths, not the variable.
_by_path: contextvars.ContextVar[tuple[Any, str, str] | None] = contextvars.ContextVar(
    "lazyarray_netcdf4_by_path", default=None
)


class VariableRef:
    """A netCDF4 variable known by file path and variable path, its metadata read once.

    What :attr:`NetCDF4VariableAdapter.concrete` is for adapters lazyarray
    opened itself (unpickled, or the stored values of
    :func:`stored_values`): reads lease the file from :mod:`lazyarray.files`,
    so a replaced file is read as it is now.

    Parameters
    ----------
    filename, path : str
        The file's absolute path and the variable's path in it.
    variable : netCDF4.Variable
        The variable, open now.
    """

    def __init__(self, filename: str, path: str, variable: Any):
        self.filename = filename
        self.path = path
        self.name: str = variable.name
        self.shape = tuple(int(n) for n in variable.shape)
        self.dtype = variable.dtype

    def read(self, key: Any, settings: dict[str, bool], bound: int | None = None) -> Any:
        """``variable[key]`` with netCDF4's auto mask and scale ``settings``, as the
        file at :attr:`filename` holds it now (``bound``: the open-file cache's,
        see :meth:`lazyarray.files.FileCache.acquire`)."""
        with files.lease(self.filename, "netcdf4", bound) as file, _NETCDF4_LOCK:
            variable = file.handle[self.path]
            shape = tuple(int(n) for n in variable.shape)
            if shape != self.shape or variable.dtype != self.dtype:
                raise ShapeError(
                    f"netCDF4 variable {self.path!r} of {self.filename!r} is now "
                    f"{variable.dtype} {shape}, not {self.dtype} {self.shape} (the file was "
                    "replaced since the graph was built; open it again)"
                )
            # Handles are shared: set the settings of this read, every read.
            variable.set_auto_mask(settings["mask"])
            variable.set_auto_scale(settings["scale"])
            variable.set_always_mask(settings["always_mask"])
            return variable[key]

    def __getitem__(self, key: Any) -> Any:
        return self.read(key, {"mask": True, "scale": True, "always_mask": True})

    def __repr__(self) -> str:
        return f"<VariableRef {self.path!r} of {self.filename!r}, shape {self.shape}>"


def is_netcdf4_variable(source: Any) -> bool:
    """Whether ``source`` is a ``netCDF4.Variable`` (without importing netCDF4).

    Examples
    --------
    >>> is_netcdf4_variable(np.zeros(2))
    False
    """
    kind = type(source)
    return kind.__name__ == "Variable" and kind.__module__.split(".")[0] == "netCDF4"


def _unsigned(variable: Any) -> bool:
    """netCDF4's test of the ``_Unsigned`` attribute: the string "true" or "True"."""
    return getattr(variable, "_Unsigned", False) in ("true", "True")


def returned_dtype(variable: Any) -> np.dtype:
    """The dtype of what ``variable[...]`` returns, from its settings and attributes.

    netCDF4 (1.6 and later) unpacks only with auto scaling on (``variable.scale``):

    1. ``_Unsigned`` set to "true" on a signed integer variable makes it read
       as the unsigned integer of the same size;
    2. with ``scale_factor`` and ``add_offset`` (both numbers), data becomes
       ``data * scale_factor + add_offset`` unless they are 1 and 0, when it
       is cast to ``scale_factor``'s type; with one of them, only where it is
       not 1 (0) does it apply. numpy's promotion rules give the dtype (numpy
       scalar attributes are typed: ``int16`` data and a ``float32`` factor
       give ``float32``).

    Examples
    --------
    >>> class Packed:  # what returned_dtype reads of a netCDF4.Variable
    ...     dtype, scale = np.dtype("i2"), True
    ...     scale_factor, add_offset = np.float32(0.1), np.float32(5)
    >>> returned_dtype(Packed())
    dtype('float32')
    """
    dtype = np.dtype(variable.dtype)
    if not getattr(variable, "scale", True):
        return dtype
    if dtype.kind == "i" and _unsigned(variable):
        dtype = np.dtype(f"{dtype.byteorder}u{dtype.itemsize}")
    factor = getattr(variable, "scale_factor", None)
    offset = getattr(variable, "add_offset", None)
    try:
        for value in (factor, offset):
            if value is not None:
                float(value)
    except (TypeError, ValueError):
        return dtype  # netCDF4 warns and does not unpack
    if factor is not None and offset is not None:
        if offset != 0 or factor != 1:
            return np.result_type(np.result_type(dtype, factor), offset)
        return np.asarray(factor).dtype
    if factor is not None and factor != 1:
        return np.result_type(dtype, factor)
    if offset is not None and offset != 0:
        return np.result_type(dtype, offset)
    return dtype


def _reopen(cls: type[NetCDF4VariableAdapter], filename: str, path: str, key: Key,
            settings: dict[str, bool]) -> NetCDF4VariableAdapter:
    with files.lease(filename, "netcdf4") as file, _NETCDF4_LOCK:
        variable = file.handle[path]
        # This handle is lazyarray's own: giving it the settings of the
        # variable that was pickled changes nothing of the user's.
        variable.set_auto_mask(settings["mask"])
        variable.set_auto_scale(settings["scale"])
        variable.set_always_mask(settings["always_mask"])
        token = _by_path.set((variable, filename, path))
        try:
            adapter = cls(variable)
        finally:
            _by_path.reset(token)
    adapter._set_key(key)
    return adapter


def _restored(cls: type[NetCDF4VariableAdapter],
              state: dict[str, Any]) -> NetCDF4VariableAdapter:
    """An adapter unpickled from ``state`` (see :meth:`NetCDF4VariableAdapter.__reduce__`)."""
    adapter = cls.__new__(cls)
    adapter.__dict__.update(state)
    return adapter


def _location(variable: Any) -> tuple[str, str] | None:
    """The absolute path of ``variable``'s file and its path in it; ``None`` if in memory."""
    group = variable.group()
    try:
        filename = group.filepath()
    except ValueError:  # a dataset opened from memory has no path
        return None
    if not os.path.isfile(filename):  # a diskless one
        return None
    return os.path.abspath(filename), group.path.rstrip("/") + "/" + variable.name


def stored_values(variable: Any) -> NetCDF4VariableAdapter:
    """An adapter of ``variable``'s stored values: no masking, scaling or ``_Unsigned``.

    Read through a handle of lazyarray's own on the variable's file, with
    netCDF4's auto mask and scale off, so that the user's variable keeps its
    settings.

    Raises
    ------
    TypeError
        For a variable of an in-memory dataset (no file to open again).
    """
    where = _location(variable)
    if where is None:
        raise TypeError(
            f"asarray(decode=False): variable {variable.name!r} is in an in-memory dataset, "
            "which lazyarray cannot open again without its decoding; call "
            "variable.set_auto_maskandscale(False) and wrap it with decode=True"
        )
    settings = {"mask": False, "scale": False, "always_mask": False}
    return _reopen(NetCDF4VariableAdapter, *where, full_key(variable.shape), settings)


class NetCDF4VariableAdapter(ArrayAdapter):
    """A lazy view of a ``netCDF4.Variable``, as netCDF4 reads it.

    Values, dtype and masks are those of ``variable[key]`` with the
    variable's own auto mask and scale settings (see the module's notes):
    a packed ``int16`` variable has a ``float32`` dtype, and with auto masking
    on (netCDF4's default) the adapter is masked. netCDF4 indexes
    orthogonally with increasing index lists; the rest is done in memory.

    Parameters
    ----------
    variable : netCDF4.Variable
    keys : key, optional
        The adapter shows ``variable[keys]`` (see
        :class:`~lazyarray.adapters.base.ArrayAdapter`).

    Raises
    ------
    TypeError
        If ``variable`` is not a ``netCDF4.Variable``.
    lazyarray.UnsupportedDTypeError
        For string, variable-length and compound variables.
    """

    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=None, unsorted_arrays=False
    )

    def __init__(self, variable: Any, keys: Any = ()):
        if not is_netcdf4_variable(variable):
            raise TypeError(
                f"NetCDF4VariableAdapter: expected a netCDF4.Variable, got "
                f"{type(variable).__name__}"
            )
        if getattr(variable, "_isvlen", False) or variable.dtype is str:
            raise UnsupportedDTypeError(
                f"NetCDF4VariableAdapter({variable.name!r}): cannot wrap a variable of "
                f"variable-length type {variable.dtype}: lazy arrays hold numbers, "
                "booleans, fixed-size strings or dates"
            )
        by_path = _by_path.get()
        if by_path is not None and by_path[0] is variable:
            super().__init__(VariableRef(by_path[1], by_path[2], variable), keys)
        else:
            super().__init__(variable, keys)
        self._dtype = returned_dtype(variable)
        self._source_masked = bool(getattr(variable, "mask", False))
        self._settings = {
            "mask": bool(getattr(variable, "mask", False)),
            "scale": bool(getattr(variable, "scale", False)),
            "always_mask": bool(getattr(variable, "always_mask", True)),
        }

    def describe_source(self) -> str:
        """The variable and its file, for error messages."""
        source = self._source
        try:
            where = ((source.filename, source.path) if isinstance(source, VariableRef)
                     else _location(source))
            if where is None:
                return f"netCDF4 variable {source.name!r} (in memory)"
        except Exception:  # noqa: BLE001 - a closed dataset no longer knows its file
            return "a netCDF4 variable (its dataset was closed?)"
        return f"netCDF4 variable {where[1]!r} of {where[0]!r}"

    def _read(self, native: Key, context: EvaluationContext) -> Any:
        # Ints are read as length-1 slices and their axes dropped after: a
        # single point comes back from netCDF4 as a scalar, and a masked one as
        # numpy.ma.masked, whose dtype is always float64.
        key = tuple(slice(k, k + 1) if isinstance(k, int) else k for k in to_native(native))
        if isinstance(self._source, VariableRef):
            data = self._source.read(key or Ellipsis, self._settings,
                                     context.options.max_open_files)
        else:
            with _NETCDF4_LOCK:
                data = self._source[key or Ellipsis]
        if isinstance(data, np.ma.MaskedArray) and not self._source_masked:
            # Auto masking off but always_mask on: a mask with nothing masked.
            data = data.data
        # (An Ellipsis keeps a 0-d array: ints alone would give a scalar again.)
        return data[tuple(0 if isinstance(k, int) else slice(None) for k in native) + (...,)]

    def __reduce__(self) -> tuple[Any, ...]:
        source = self._source
        where = ((source.filename, source.path) if isinstance(source, VariableRef)
                 else _location(source))
        if where is None:
            raise TypeError(
                f"NetCDF4VariableAdapter({self._source.name!r}) cannot be pickled: its "
                "dataset has no file to reopen (it is in memory)"
            )
        if not isinstance(source, VariableRef):
            source = VariableRef(*where, source)
        # By path and metadata, with the netCDF4 settings the adapter reads
        # with: unpickling opens nothing; the first read leases the file.
        return (_restored, (type(self), {**self.__dict__, "_source": source}))
