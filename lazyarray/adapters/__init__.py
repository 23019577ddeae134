"""Adapters wrap concrete sources; :func:`asarray` picks the right one.

Adapters and :class:`~lazyarray.creation.ConstantArray` are the leaves of
every graph, and :func:`asarray` is how the node kinds above take their
arguments. HDF5 datasets and Zarr arrays are decoded by their CF attributes
with nodes of those kinds (:func:`lazyarray.cf.wrap_file_source`), which
:func:`asarray` reaches through :mod:`lazyarray.upcalls`.

A module per kind of source (:mod:`~lazyarray.adapters.numpy_`,
:mod:`~lazyarray.adapters.h5py_`, :mod:`~lazyarray.adapters.zarr_`,
:mod:`~lazyarray.adapters.netcdf4_`) builds on the base class
(:mod:`~lazyarray.adapters.base`); the netCDF masking rules are
:mod:`~lazyarray.adapters.missingvalues`'s, whose :func:`target_fill_value`
and :func:`record_fill_value` saving takes from here.

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

from .. import upcalls
from ..array import Array
from ..creation import ConstantArray
from ..foreign import is_masked_constant, is_zarr_array
from .base import ArrayAdapter
from .h5py_ import HDF5ArrayAdapter, open_dataset, refuse_closed
from .missingvalues import record_fill_value, target_fill_value
from .netcdf4_ import NetCDF4VariableAdapter, is_netcdf4_variable, stored_values
from .numpy_ import NumpyArrayAdapter, OrthoArrayAdapter
from .zarr_ import ZarrArrayAdapter

__all__ = [
    "ArrayAdapter",
    "HDF5ArrayAdapter",
    "NetCDF4VariableAdapter",
    "NumpyArrayAdapter",
    "OrthoArrayAdapter",
    "ZarrArrayAdapter",
    "asarray",
    "ensure_array",
    "open_dataset",
    "record_fill_value",
    "target_fill_value",
]


def asarray(
    source: Any,
    *,
    decode: bool = True,
    masked: bool = False,
    fill_value: Any = None,
    valid_range: bool | tuple[Any, Any] = False,
) -> Array:
    """Wrap ``source`` in the lazy array that suits it; never reads it.

    ===========================================  =======================
    source                                       result
    ===========================================  =======================
    a lazyarray ``Array``                        itself
    ``numpy.ndarray``, ``numpy.ma.MaskedArray``  ``NumpyArrayAdapter``
    ``h5py.Dataset``                             ``HDF5ArrayAdapter``, or a
                                                 ``Decoded`` node over it
                                                 (see ``decode``)
    ``zarr.Array``                               ``ZarrArrayAdapter``, or a
                                                 ``Decoded`` node over it
    ``netCDF4.Variable``                         ``NetCDF4VariableAdapter``
    a Python or numpy scalar                     0-d ``ConstantArray``
    other objects with ``shape``, ``dtype``      ``NumpyArrayAdapter``
    and ``__getitem__``
    lists and tuples of numbers                  ``NumpyArrayAdapter``
    ===========================================  =======================

    Object, void, structured and variable-length string sources are refused
    (:class:`~lazyarray.errors.UnsupportedDTypeError`): they have no numpy
    maths. A ``netCDF4.Variable`` is read as netCDF4 returns it, with its own
    mask and scale settings (see :mod:`lazyarray.adapters.netcdf4_`).

    Parameters
    ----------
    source : object
        What to wrap.
    decode : bool, optional
        For an ``h5py.Dataset`` or a ``zarr.Array`` whose attributes carry CF
        attributes (``_FillValue``, ``missing_value``, ``valid_min``,
        ``valid_max``, ``valid_range``, ``scale_factor``, ``add_offset``,
        ``_Unsigned``; a Zarr array's own ``fill_value`` is not one): decode
        the stored values as they say, as netCDF4 and xarray do (the
        default): mask the missing values, read ``_Unsigned`` integers as
        unsigned, unpack packed values (see :mod:`lazyarray.cf`). Nothing is
        read but the attributes. ``False`` gives the stored values.
        ``masked``, ``fill_value`` and ``valid_range`` replace the masking
        the attributes declare: the stored values are masked as they say,
        then unpacked. The Biggus adapter classes (``HDF5ArrayAdapter``...)
        made directly never decode. For a ``netCDF4.Variable``: ``True``
        reads it with its own mask and scale settings, ``False`` gives its
        stored values (read through a handle of lazyarray's own).
    masked : bool, optional
        For an ``h5py.Dataset`` or a ``zarr.Array``: mask points equal to its
        fill value, read from its metadata (``_FillValue``, ``missing_value``,
        then the library's own fill value) unless ``fill_value`` is given.
        For other array-likes: their ``__getitem__`` may return
        ``numpy.ma.MaskedArray`` data, whose masks are to be honoured (without
        it, a read holding masked points raises
        :class:`~lazyarray.errors.MaskedSourceError`).
        ``numpy.ma.MaskedArray`` sources declare masks themselves.
    fill_value : scalar, optional
        With ``masked``: the value that marks masked points instead.
    valid_range : bool or (minimum, maximum), optional
        With ``masked``: also mask points outside the valid range that the
        ``valid_range``, ``valid_min`` and ``valid_max`` attributes declare
        (``True``), or outside the given inclusive bounds.

        See :class:`HDF5ArrayAdapter` and :class:`ZarrArrayAdapter` for the rules.

    Raises
    ------
    TypeError
        For anything else, or masking options that do not apply to the source.
    lazyarray.UnsupportedDTypeError
        For object, void, structured and variable-length string sources.
    lazyarray.DTypeError
        For a fill value that is not a value of the source's dtype, or
        malformed CF attributes (named with the file and variable).

    Examples
    --------
    >>> import numpy as np
    >>> asarray([[1, 2], [3, 4]]).shape
    (2, 2)
    >>> asarray(np.ma.masked).masked_array()
    masked_array(data=--,
                 mask=True,
           fill_value=1e+20,
                dtype=float64)
    >>> import zarr
    >>> z = zarr.create_array({}, shape=(3,), dtype="i2", fill_value=-1)
    >>> z[:2] = [7, 8]
    >>> asarray(z, masked=True).masked_array().tolist()
    [7, 8, None]

    A Zarr array with CF attributes is decoded unless ``decode=False``:

    >>> z.attrs.update({"_FillValue": 8, "scale_factor": 0.5})
    >>> asarray(z).masked_array().tolist(), asarray(z, decode=False).ndarray().tolist()
    ([3.5, None, -0.5], [7, 8, -1])
    """
    if isinstance(source, h5py.Dataset):
        refuse_closed(source, "asarray")
    if isinstance(source, h5py.Dataset) or is_zarr_array(source):
        # CF decoding builds masking and elementwise nodes, of the layers
        # above the adapters: lazyarray.cf.wrap_file_source, installed.
        return upcalls.wrap_file_source(source, decode=decode, masked=masked,
                                        fill_value=fill_value, valid_range=valid_range)
    if is_netcdf4_variable(source):
        if masked or fill_value is not None or valid_range is not False:
            raise TypeError(
                "asarray: a netCDF4.Variable is masked and scaled as its own settings say "
                "(set_auto_maskandscale); masked, fill_value and valid_range do not apply"
            )
        return NetCDF4VariableAdapter(source) if decode else stored_values(source)
    duck = not isinstance(source, (Array, np.ndarray, list, tuple, numbers.Number, np.generic))
    if (masked and not duck) or fill_value is not None or valid_range is not False:
        advice = (
            "build the mask with numpy.ma (numpy.ma.masked_equal(a, value), say)"
            if isinstance(source, (np.ndarray, list, tuple))
            else "a lazy array masks as its sources do"
            if isinstance(source, Array)
            else "mask it lazily (lazyarray.masked_equal(asarray(source), value), say)"
        )
        raise TypeError(
            f"asarray: fill_value and valid_range apply to h5py.Dataset and zarr.Array "
            f"sources, and masked to those and to array-likes that return masked arrays; "
            f"found {type(source).__name__}; {advice}"
        )
    if isinstance(source, Array):
        return source
    if is_masked_constant(source):
        # numpy.ma.masked: one masked float64, as numpy.ma.asarray makes it
        # (the constant itself refuses to have its fill value set).
        return NumpyArrayAdapter(np.ma.MaskedArray(0.0, mask=True))
    if isinstance(source, np.ndarray):
        return NumpyArrayAdapter(source)
    if isinstance(source, (numbers.Number, np.generic)):
        return ConstantArray((), source)
    if all(hasattr(source, name) for name in ("shape", "dtype", "__getitem__")):
        return NumpyArrayAdapter(source, masked=masked)
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
