"""Missing values by the netCDF conventions: which points of a file's variable are masked.

HDF5 datasets and Zarr arrays wrapped with ``masked=True``
(:func:`lazyarray.asarray`) mask the points their attributes mark missing,
as netCDF readers do: values equal to the ``_FillValue`` or to a
``missing_value``, and, when asked, values outside ``valid_range``,
``valid_min`` and ``valid_max`` (the netCDF User Guide's names,
:data:`MASKING_ATTRIBUTES`). :func:`resolve_masking` turns the attributes
and the user's options into a :class:`Masking`, which the adapter applies to
each tile it reads, after the read that adapters of one source share.

Saving goes the other way, by the same rules: a target's declared fill value
(:func:`target_fill_value`, from :func:`declared_fill_value`) is what its
masked points are written as, and :func:`record_fill_value` declares one.
Values are checked against the dtype that must hold them
(:func:`storable_value`).

numpy.ma's fill-value rules (what the masked points of a computed result
become) are :mod:`lazyarray.fillvalues`'s. The full CF decoding (packing,
``_Unsigned``) is :mod:`lazyarray.cfencoding`'s, which masks with a
:class:`Masking` too.

Examples
--------
>>> m = resolve_masking("demo", "int16", {"missing_value": [-1, -2]}, 0, masked=True)
>>> m
Masking(fill_value=np.int16(-1), missing_values=(np.int16(-2),), valid_min=None, valid_max=None)
>>> m.apply(np.array([3, -2, -1], "i2"), masked=True).tolist()
[3, None, None]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..errors import DTypeError, FillValueError
from ..fillvalues import same_scalar
from ..foreign import is_zarr_array

__all__ = [
    "MASKING_ATTRIBUTES",
    "Masking",
    "declared_fill_value",
    "record_fill_value",
    "resolve_masking",
    "storable_value",
    "target_fill_value",
    "where_equal",
]


#: dtype kinds whose points can be masked by value: bool, integers, floats, complex.
_MASKABLE_KINDS = "buifc"


def storable_value(value: Any, dtype: Any, what: str, operation: str) -> Any:
    """``value`` as a numpy scalar of ``dtype``, refusing values it cannot hold.

    Integer dtypes take whole numbers within their range; float and complex
    dtypes take any number that does not overflow them (rounded to the
    nearest value of the dtype, as the data were when written).

    Parameters
    ----------
    value : scalar or one-element array
    dtype : numpy dtype
    what, operation : str
        What the value is and who asks, for error messages.

    Raises
    ------
    DTypeError
        If ``value`` is not one number, or ``dtype`` cannot hold it.

    Examples
    --------
    >>> storable_value(-9999, "int16", "fill_value", "demo")
    np.int16(-9999)
    >>> storable_value([1e20], "float32", "the _FillValue attribute", "demo")
    np.float32(1e+20)
    >>> storable_value(0.5, "int16", "fill_value", "demo")
    Traceback (most recent call last):
    ...
    lazyarray.errors.FillValueError: demo: fill_value 0.5 is not a value of dtype int16 (not a whole number)
    """
    dtype = np.dtype(dtype)
    values = np.asarray(value)
    if values.size != 1 or values.dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: {what} must be one number, found {value!r}"
            + (f" of dtype {values.dtype}" if values.size == 1 else f" with {values.size} values")
        )
    if dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: masking by value needs a bool, integer, float or complex dtype, "
            f"found {dtype}"
        )
    item = values.reshape(()).item()
    shown = f"{operation}: {what} {item!r} is not a value of dtype {dtype}"
    if isinstance(item, complex) and dtype.kind != "c":
        if item.imag:
            raise FillValueError(f"{shown} (a complex number)")
        item = item.real
    if dtype.kind == "b":
        if item not in (0, 1):
            raise FillValueError(f"{shown} (booleans are 0 or 1)")
        return np.bool_(item)
    if dtype.kind in "iu":
        if isinstance(item, float):
            if not (math.isfinite(item) and item.is_integer()):
                raise FillValueError(f"{shown} (not a whole number)")
            item = int(item)
        info = np.iinfo(dtype)
        if not info.min <= item <= info.max:
            raise FillValueError(f"{shown} (out of its range {info.min} to {info.max})")
        return dtype.type(item)
    try:
        with np.errstate(over="ignore"):
            stored = np.asarray(item, dtype=dtype)
    except OverflowError:  # Python ints too large even for float64
        stored = None
    was_infinite = isinstance(item, (float, complex)) and bool(np.isinf(item))
    if stored is None or (bool(np.isinf(stored)) and not was_infinite):
        raise FillValueError(f"{shown} (it overflows to infinity)")
    return stored[()]


def where_equal(data: np.ndarray, value: Any) -> np.ndarray:
    """Where ``data`` equals ``value``; where it is NaN, for a NaN ``value``.

    Examples
    --------
    >>> where_equal(np.array([1.0, np.nan]), np.float64("nan")).tolist()
    [False, True]
    """
    if isinstance(value, (np.floating, np.complexfloating)) and np.isnan(value):
        return np.isnan(data)
    return np.asarray(data == value)


@dataclass(frozen=True)
class Masking:
    """Which points of a source an adapter masks, tested on each tile it reads.

    A point is masked when it equals :attr:`fill_value` (for a NaN fill
    value: when it is NaN) or any of :attr:`missing_values`, or lies below
    :attr:`valid_min` or above :attr:`valid_max`. Adapters get theirs from
    :func:`resolve_masking`.

    Attributes
    ----------
    fill_value : numpy scalar
        Of the source's dtype; also what masked points hold in ``ndarray()``.
    missing_values : tuple of numpy scalars
        More values that mark missing points (netCDF's ``missing_value``).
    valid_min, valid_max : int, float or None
        Bounds of the valid values, inclusive; ``None`` for no bound.

    Examples
    --------
    >>> m = Masking(np.float32(-1), valid_max=10.0)
    >>> m.mask(np.array([-1, 3, 12], "f4")).tolist()
    [True, False, True]
    >>> m.apply(np.array([-1, 3, 12], "f4"), masked=False).tolist()
    [-1.0, 3.0, -1.0]
    """

    fill_value: Any
    missing_values: tuple[Any, ...] = ()
    valid_min: Any = None
    valid_max: Any = None

    def mask(self, data: np.ndarray) -> np.ndarray:
        """A boolean array: where ``data`` is masked."""
        mask = where_equal(data, self.fill_value)
        for value in self.missing_values:
            mask |= where_equal(data, value)
        if self.valid_min is not None:
            mask |= data < self.valid_min
        if self.valid_max is not None:
            mask |= data > self.valid_max
        return mask

    def apply(self, data: np.ndarray, masked: bool) -> np.ndarray:
        """``data`` as a masked array, or (``masked`` false) with masked points filled.

        ``data`` is never changed: it may be a read shared by other results.
        """
        if masked:
            return np.ma.MaskedArray(data, mask=self.mask(data), fill_value=self.fill_value)
        if not self.missing_values and self.valid_min is None and self.valid_max is None:
            return data  # the only masked points already hold the fill value
        return np.where(self.mask(data), self.fill_value, data)


#: The attributes :func:`resolve_masking` reads (netCDF User Guide names).
MASKING_ATTRIBUTES = ("_FillValue", "missing_value", "valid_range", "valid_min", "valid_max")


def _attribute(attrs: Mapping[str, Any], name: str) -> np.ndarray | None:
    """The attribute ``name`` as a 1-D array, or ``None`` when absent."""
    if name not in attrs:
        return None
    return np.asarray(attrs[name]).ravel()


def _bound(value: Any, what: str, operation: str) -> int | float:
    """A bound of the valid range: one real number, not NaN, as a Python number."""
    values = np.asarray(value)
    if values.size != 1 or values.dtype.kind not in "iuf" or np.isnan(values).any():
        raise ValueError(f"{operation}: {what} must be one real number, found {value!r}")
    bound: int | float = values.reshape(()).item()
    return bound


def _valid_bounds(
    operation: str, attrs: Mapping[str, Any], valid_range: Any
) -> tuple[int | float | None, int | float | None]:
    """``(valid_min, valid_max)`` from the user's ``valid_range`` option and the attributes."""
    if valid_range is False:
        return None, None
    if valid_range is True:
        pair = _attribute(attrs, "valid_range")
        low = _attribute(attrs, "valid_min")
        high = _attribute(attrs, "valid_max")
        if pair is None:
            return (
                None if low is None else _bound(low, "the valid_min attribute", operation),
                None if high is None else _bound(high, "the valid_max attribute", operation),
            )
        if pair.size != 2:
            raise ValueError(
                f"{operation}: the valid_range attribute must hold 2 values (minimum, "
                f"maximum), found {pair.size}: {pair.tolist()}"
            )
        bounds = (
            _bound(pair[0], "the valid_range attribute's minimum", operation),
            _bound(pair[1], "the valid_range attribute's maximum", operation),
        )
        for name, given, bound in (("valid_min", low, bounds[0]), ("valid_max", high, bounds[1])):
            # The NUG forbids valid_min/valid_max beside valid_range; tolerate
            # them only when they say the same.
            if given is not None and _bound(given, f"the {name} attribute", operation) != bound:
                raise ValueError(
                    f"{operation}: the valid_range attribute {list(bounds)} and the {name} "
                    f"attribute {given.tolist()} disagree; pass valid_range=(minimum, maximum)"
                )
        return bounds
    try:
        if isinstance(valid_range, (str, bytes, Mapping)):
            raise TypeError
        low, high = valid_range
    except (TypeError, ValueError):
        raise TypeError(
            f"{operation}: valid_range must be True, False or a pair (minimum, maximum), "
            f"found {valid_range!r}"
        ) from None
    return (
        None if low is None else _bound(low, "valid_range's minimum", operation),
        None if high is None else _bound(high, "valid_range's maximum", operation),
    )


def declared_fill_value(
    operation: str, dtype: Any, attrs: Mapping[str, Any], own_fill_value: Any
) -> tuple[Any, tuple[Any, ...]]:
    """The fill value a source's metadata declares, and its other missing values.

    The fill value is the ``_FillValue`` attribute, else the first value of
    the ``missing_value`` attribute, else ``own_fill_value`` (the library's
    own; ``None`` if there is none to use), as scalars of ``dtype``. The
    other missing values are those of ``missing_value`` that differ from it.
    Both sides of saving use this: what a target declares is what reading it
    back will mask.

    Raises
    ------
    DTypeError
        For a declared value that ``dtype`` cannot hold.

    Examples
    --------
    >>> declared_fill_value("demo", "int16", {"missing_value": [-1, -2]}, 0)
    (np.int16(-1), (np.int16(-2),))
    >>> declared_fill_value("demo", "int16", {}, None)
    (None, ())
    """
    dtype = np.dtype(dtype)
    declared = _attribute(attrs, "_FillValue")
    listed = _attribute(attrs, "missing_value")
    try:
        missing = [
            storable_value(v, dtype, "a value of the missing_value attribute", operation)
            for v in (() if listed is None else listed)
        ]
        if declared is not None:
            fill = storable_value(declared, dtype, "the _FillValue attribute", operation)
        elif missing:
            fill = missing[0]
        elif own_fill_value is not None:
            fill = storable_value(own_fill_value, dtype, "the source's fill value", operation)
        else:
            return None, ()
    except FillValueError as error:
        raise FillValueError(f"{error}; pass fill_value= to choose the fill value") from None
    others: list[Any] = []
    for value in missing:
        if not same_scalar(value, fill) and not any(same_scalar(value, o) for o in others):
            others.append(value)
    return fill, tuple(others)


def resolve_masking(
    operation: str,
    dtype: Any,
    attrs: Mapping[str, Any],
    own_fill_value: Any,
    *,
    masked: bool = False,
    fill_value: Any = None,
    valid_range: bool | tuple[Any, Any] = False,
) -> Masking | None:
    """The :class:`Masking` a source's adapter applies, from the user's options and metadata.

    1. Without ``masked`` nothing is masked (``None``), and ``fill_value`` or
       ``valid_range`` are refused, since they would do nothing.
    2. The fill value is ``fill_value`` if given; else the ``_FillValue``
       attribute; else the first value of the ``missing_value`` attribute;
       else the source's own fill value (``own_fill_value``). Points equal to
       it are masked; a NaN fill value masks NaNs.
    3. Unless ``fill_value`` is given (it replaces what the metadata says),
       points equal to any value of ``missing_value`` are masked too, as
       netCDF readers do.
    4. With ``valid_range=True``, points below the minimum or above the
       maximum of the ``valid_range`` attribute, or below ``valid_min`` or
       above ``valid_max``, are masked (netCDF User Guide); attributes that
       are absent set no bound. A pair ``(minimum, maximum)`` gives the
       bounds instead (``None``: unbounded). Bounds are inclusive.

    Parameters
    ----------
    operation : str
        Who asks, for error messages.
    dtype : numpy dtype
        The source's dtype.
    attrs : mapping
        The source's attributes; only :data:`MASKING_ATTRIBUTES` are read.
    own_fill_value : scalar or None
        The library's own fill value of the source (HDF5 and Zarr have one).

    Raises
    ------
    TypeError
        For ``fill_value`` or ``valid_range`` without ``masked``, or a
        ``valid_range`` that is neither a bool nor a pair.
    DTypeError
        For a fill value (given or read) that ``dtype`` cannot hold, or a
        dtype that cannot be masked by value.
    ValueError
        For malformed or contradictory valid-range attributes or bounds.

    Examples
    --------
    >>> attrs = {"_FillValue": np.float32(-999), "valid_range": [0.0, 50.0]}
    >>> resolve_masking("demo", "float32", attrs, 0.0, masked=True, valid_range=True)
    Masking(fill_value=np.float32(-999.0), missing_values=(), valid_min=0.0, valid_max=50.0)
    >>> resolve_masking("demo", "int8", {}, 0, masked=True, fill_value=-1).fill_value
    np.int8(-1)
    >>> resolve_masking("demo", "int8", {}, 0, masked=True, fill_value=300)
    Traceback (most recent call last):
    ...
    lazyarray.errors.FillValueError: demo: fill_value 300 is not a value of dtype int8 (out of its range -128 to 127)
    """
    if not masked:
        if fill_value is not None or valid_range is not False:
            raise TypeError(
                f"{operation}: fill_value and valid_range apply only with masked=True; found "
                f"masked={masked!r}, fill_value={fill_value!r}, valid_range={valid_range!r}"
            )
        return None
    dtype = np.dtype(dtype)
    if dtype.kind not in _MASKABLE_KINDS:
        raise DTypeError(
            f"{operation}: masking by value needs a bool, integer, float or complex dtype, "
            f"found {dtype}"
        )
    if fill_value is not None:
        fill = storable_value(fill_value, dtype, "fill_value", operation)
        others: tuple[Any, ...] = ()
    else:
        declared, others = declared_fill_value(operation, dtype, attrs, own_fill_value)
        if declared is None:
            raise DTypeError(
                f"{operation}: masked=True, but the source declares no fill value (no "
                f"_FillValue or missing_value attribute, no fill value of its own); pass "
                f"fill_value="
            )
        fill = declared
    low, high = _valid_bounds(operation, attrs, valid_range)
    if (low is not None or high is not None) and dtype.kind not in "iuf":
        raise DTypeError(
            f"{operation}: a valid range needs an integer or float dtype, found {dtype}"
        )
    if low is not None and high is not None and low > high:
        raise ValueError(f"{operation}: the valid range's minimum {low} exceeds its maximum {high}")
    return Masking(fill, tuple(others), low, high)


def target_fill_value(target: Any) -> Any:
    """The fill value an output's metadata declares, as a scalar of its dtype, or ``None``.

    What reading ``target`` back with ``masked=True`` would take as its fill
    value, so what masked points must be written as:

    * ``h5py.Dataset``: the ``_FillValue`` attribute, else the first value of
      ``missing_value``, else the dataset's fill value if it was set when the
      dataset was created (HDF5's default, 0, declares nothing): ``None``.
    * ``zarr.Array``: the ``_FillValue`` attribute, else the first value of
      ``missing_value``, else the array's ``fill_value`` (always set).
    * anything else (an ``ndarray``, say): ``None``.

    Raises
    ------
    lazyarray.DTypeError
        For a declared value that is not a value of the target's dtype.

    Examples
    --------
    >>> import zarr
    >>> target_fill_value(zarr.create_array({}, shape=(2,), dtype="f4", fill_value=-1))
    np.float32(-1.0)
    >>> target_fill_value(np.zeros(2)) is None
    True
    """
    if isinstance(target, h5py.Dataset):
        chosen = target.id.get_create_plist().fill_value_defined()
        own = target.fillvalue if chosen == h5py.h5d.FILL_VALUE_USER_DEFINED else None
        fill, _ = declared_fill_value(
            f"target {target.name!r} of {target.file.filename!r}",
            np.dtype(target.dtype),
            target.attrs,
            own,
        )
        return fill
    if is_zarr_array(target):
        fill, _ = declared_fill_value(
            f"target {str(target.store_path)!r}",
            np.dtype(target.dtype),
            target.attrs,
            target.fill_value,
        )
        return fill
    return None


def record_fill_value(target: Any, value: Any) -> None:
    """Record ``value`` as the ``_FillValue`` attribute of an HDF5 ``target`` without one.

    The attribute has the dataset's dtype, as the netCDF conventions ask.
    Zarr arrays keep their fill value in their own metadata and other
    targets have none, so for them this does nothing.

    Examples
    --------
    >>> import h5py
    >>> with h5py.File("demo.h5", "w", driver="core", backing_store=False) as f:
    ...     d = f.create_dataset("d", shape=(2,), dtype="i2")
    ...     record_fill_value(d, -9999)
    ...     d.attrs["_FillValue"]
    np.int16(-9999)
    """
    if isinstance(target, h5py.Dataset) and "_FillValue" not in target.attrs:
        where = f"target {target.name!r} of {target.file.filename!r}"
        target.attrs["_FillValue"] = np.asarray(
            storable_value(value, target.dtype, "the fill value", where), dtype=target.dtype
        )
