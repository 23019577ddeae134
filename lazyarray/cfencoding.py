"""What a variable's CF attributes say about its stored values: :class:`CFEncoding`.

netCDF files, and HDF5 and Zarr files that follow the same conventions, say
with attributes (:data:`CF_ATTRIBUTES`) how stored values become data: which
values mark missing points, which are valid, whether signed integers hold
unsigned ones, how packed values unpack. :meth:`CFEncoding.from_attrs` reads
and checks them (as netCDF4 and xarray do, refusing what they would
misread), and a :class:`CFEncoding` applies them to values in memory
(:meth:`~CFEncoding.decode_values`, :meth:`~CFEncoding.encode_values`) and
writes them back (:meth:`~CFEncoding.attributes`).

It knows values and attributes, not nodes: the lazy graphs that apply an
encoding tile by tile are :mod:`lazyarray.cf`'s.

Examples
--------
>>> import numpy as np
>>> e = CFEncoding.from_attrs({"_FillValue": np.int16(-1), "scale_factor": 0.5}, "int16")
>>> values, mask = e.decode_values(np.array([-1, 4], "i2"))
>>> values[~mask].tolist(), mask.tolist()
([2.0], [True, False])
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .adapters.missingvalues import Masking, storable_value, where_equal
from .errors import DTypeError, FillValueError
from .fillvalues import default_fill_value, same_scalar

__all__ = ["CF_ATTRIBUTES", "CFEncoding"]

#: The attributes CF decoding reads, in the netCDF User Guide's spelling.
CF_ATTRIBUTES = (
    "_FillValue",
    "missing_value",
    "valid_range",
    "valid_min",
    "valid_max",
    "scale_factor",
    "add_offset",
    "_Unsigned",
)

#: The netCDF library's default fill values (``netCDF4.default_fillvals``): what
#: masked points of a variable that declares no fill value hold.
_NETCDF_FILLS: dict[str, float] = {
    "i1": -127, "u1": 255, "i2": -32767, "u2": 65535, "i4": -2147483647,
    "u4": 4294967295, "i8": -9223372036854775806, "u8": 18446744073709551614,
    "f4": 9.969209968386869e36, "f8": 9.969209968386869e36,
}

#: dtype kinds CF decoding applies to; other variables (strings, dates) are left as stored.
_DECODED_KINDS = "biufc"


# -- reading attributes ----------------------------------------------------------------


def _from_json(value: Any) -> Any:
    """A Zarr attribute's number as written in JSON: strings for NaN and infinities
    (the Zarr specification), hex bytes ("0x7fc00000", big-endian), or xarray's
    base64 of a little-endian float64 ("AAAAAAAA+H8=" is NaN)."""
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if not isinstance(value, str):
        return value
    named = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    if value in named:
        return named[value]
    try:
        if value.startswith("0x"):
            raw = bytes.fromhex(value[2:])
            formats = {2: ">e", 4: ">f", 8: ">d"}
            if len(raw) in formats:
                return struct.unpack(formats[len(raw)], raw)[0]
        else:
            # base64.b64decode(..., validate=True), without importing base64.
            raw = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
            if len(raw) == 8:
                return struct.unpack("<d", raw)[0]
    except (ValueError, binascii.Error, UnicodeEncodeError):
        pass
    return value  # not a number: refused where it is used, with its name


def _values(attrs: Mapping[str, Any], name: str, json: bool) -> np.ndarray | None:
    """Attribute ``name`` as a 1-D array, or ``None`` when absent."""
    if name not in attrs:
        return None
    value = attrs[name]
    return np.asarray(_from_json(value) if json else value).ravel()


def _number(values: np.ndarray, name: str, where: str) -> Any:
    """The one real, finite number ``values`` hold, as a numpy scalar of its own type."""
    if values.dtype.kind not in "iuf":
        shown = values.tolist()[0] if values.size == 1 else values.tolist()
        raise DTypeError(
            f"{where}: the {name} attribute must be a number, found {shown!r} of dtype "
            f"{values.dtype}"
        )
    if values.size != 1:
        raise ValueError(
            f"{where}: the {name} attribute must be one number, found {values.size}: "
            f"{values.tolist()}"
        )
    value = values.astype(values.dtype.newbyteorder("=")).reshape(())[()]
    if not np.isfinite(value):
        raise ValueError(f"{where}: the {name} attribute must be finite, found {value}")
    return value


def _unsigned(attrs: Mapping[str, Any], dtype: np.dtype, where: str) -> bool:
    """Whether the ``_Unsigned`` attribute says to read ``dtype``'s integers as unsigned."""
    if "_Unsigned" not in attrs:
        return False
    value = attrs["_Unsigned"]
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("ascii", "replace")
    said = str(value).lower() if isinstance(value, str) else None
    if said not in ("true", "false"):
        raise ValueError(f'{where}: the _Unsigned attribute must be "true" or "false", '
                         f"found {value!r}")
    if said == "false" or dtype.kind == "u":
        return False
    if dtype.kind != "i":
        raise DTypeError(f"{where}: the _Unsigned attribute applies to integer data, "
                         f"found dtype {dtype}")
    return True


def _unsigned_dtype(dtype: np.dtype) -> np.dtype:
    """The unsigned integer dtype of ``dtype``'s size and byte order."""
    return np.dtype(f"u{dtype.itemsize}").newbyteorder(dtype.byteorder)


def _stored(value: Any, dtype: np.dtype, unsigned: bool, what: str, where: str) -> Any:
    """``value`` as a stored value (a scalar of ``dtype``).

    For ``_Unsigned`` data a value may also be given as the unsigned number
    the stored bits stand for (255 for the ``int8`` -1), as xarray writes it.
    """
    try:
        return storable_value(value, dtype, what, where)
    except FillValueError:
        if not unsigned:
            raise
    view = _unsigned_dtype(dtype)
    try:
        return np.asarray(storable_value(value, view, what, where)).view(dtype)[()]
    except FillValueError:
        raise FillValueError(
            f"{where}: {what} {np.asarray(value).reshape(-1)[0].item()!r} is a value of "
            f"neither {dtype} nor (the data being _Unsigned) {view}"
        ) from None


def _bound(values: np.ndarray, what: str, where: str) -> float:
    """A valid-range bound: one real number, not NaN, as a Python number."""
    if values.dtype.kind not in "iuf" or values.size != 1 or np.isnan(values).any():
        raise ValueError(f"{where}: {what} must be one real number, found {values.tolist()!r}")
    bound: float = values.reshape(()).item()
    return bound


def _in_values(bound: float | None, dtype: np.dtype, unsigned: bool) -> float | None:
    """A bound in the units compared with: for ``_Unsigned`` data, a stored integer
    is read as unsigned, as netCDF4 reads it (-6 in ``int8`` is 250)."""
    if bound is None or not unsigned or not float(bound).is_integer():
        return bound
    info = np.iinfo(dtype)
    if info.min <= bound <= info.max:
        return int(np.asarray(int(bound), dtype).view(_unsigned_dtype(dtype))[()])
    return bound


def _bounds(attrs: Mapping[str, Any], dtype: np.dtype, unsigned: bool, where: str,
            json: bool) -> tuple[float | None, float | None]:
    """``(valid_min, valid_max)`` the attributes declare, in the units compared with."""
    pair = _values(attrs, "valid_range", json)
    low_values = _values(attrs, "valid_min", json)
    high_values = _values(attrs, "valid_max", json)
    low = None if low_values is None else _bound(low_values, "the valid_min attribute", where)
    high = None if high_values is None else _bound(high_values, "the valid_max attribute", where)
    if pair is not None:
        if pair.size != 2:
            raise ValueError(f"{where}: the valid_range attribute must hold 2 values (minimum, "
                             f"maximum), found {pair.size}: {pair.tolist()}")
        bounds = (_bound(pair[:1], "the valid_range attribute's minimum", where),
                  _bound(pair[1:], "the valid_range attribute's maximum", where))
        for name, given, bound in (("valid_min", low, bounds[0]), ("valid_max", high, bounds[1])):
            # The NUG forbids valid_min/valid_max beside valid_range; tolerate
            # them only when they say the same.
            if given is not None and given != bound:
                raise ValueError(f"{where}: the valid_range attribute {list(bounds)} and the "
                                 f"{name} attribute {given} disagree")
        low, high = bounds
    if (low is not None or high is not None) and dtype.kind not in "iuf":
        raise DTypeError(f"{where}: a valid range needs integer or float data, found {dtype}")
    low, high = _in_values(low, dtype, unsigned), _in_values(high, dtype, unsigned)
    if low is not None and high is not None and low > high:
        raise ValueError(f"{where}: the valid range's minimum {low} exceeds its maximum {high}")
    return low, high


# -- what the attributes say --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CFEncoding:
    """How a variable's data are stored, as its CF attributes say.

    Build one with :meth:`from_attrs`, which checks the attributes; a decoded
    array carries the one it was decoded with (:func:`source_encoding`).

    Attributes
    ----------
    dtype : numpy.dtype
        The stored dtype.
    fill_value : numpy scalar or None
        The ``_FillValue`` attribute, a value of :attr:`dtype`.
    missing_values : tuple of numpy scalars
        The values of the ``missing_value`` attribute, values of :attr:`dtype`.
    valid_min, valid_max : int, float or None
        Inclusive bounds of the valid stored values (``valid_range`` or
        ``valid_min``/``valid_max``), in the units compared with: for
        ``_Unsigned`` data, the unsigned numbers.
    scale_factor, add_offset : numpy scalar or None
        The packing, each a numpy scalar of the attribute's type.
    unsigned : bool
        ``_Unsigned = "true"`` on signed integers: read them as unsigned.

    Examples
    --------
    >>> e = CFEncoding.from_attrs({"_FillValue": -1, "_Unsigned": "true"}, "int8")
    >>> e.values_dtype, e.decoded_dtype, e.decoded_fill_value
    (dtype('uint8'), dtype('uint8'), np.uint8(255))
    >>> e.attributes()
    {'_FillValue': np.int8(-1), '_Unsigned': 'true'}
    """

    dtype: np.dtype
    fill_value: Any = None
    missing_values: tuple[Any, ...] = ()
    valid_min: float | None = None
    valid_max: float | None = None
    scale_factor: Any = None
    add_offset: Any = None
    unsigned: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any], dtype: Any, where: str = "CFEncoding",
                   *, json: bool = False) -> CFEncoding:
        """What ``attrs`` say about data stored as ``dtype``, checked.

        Variables of dtypes other than booleans and numbers (strings, dates)
        are not decoded: their encoding declares nothing.

        Parameters
        ----------
        attrs : mapping
            The variable's attributes; only :data:`CF_ATTRIBUTES` are read.
        dtype : numpy dtype
            The stored dtype.
        where : str
            The variable (file and name), for error messages.
        json : bool
            Whether the attributes come from JSON (Zarr), whose numbers may be
            strings ("NaN", base64 or hex bytes).

        Raises
        ------
        lazyarray.FillValueError
            For a ``_FillValue`` or ``missing_value`` that is not a value of
            ``dtype`` (for ``_Unsigned`` data: of its unsigned counterpart).
        lazyarray.DTypeError
            For an attribute that is not a number, or ``_Unsigned`` or a valid
            range for data they do not apply to.
        ValueError
            For attributes with the wrong number of values, a NaN or infinite
            ``scale_factor`` or ``add_offset``, an ``_Unsigned`` that is neither
            "true" nor "false", or valid ranges that contradict each other.

        Examples
        --------
        >>> CFEncoding.from_attrs({"scale_factor": "0.01"}, "int16", where="'t' of x.nc")
        Traceback (most recent call last):
        ...
        lazyarray.errors.DTypeError: 't' of x.nc: the scale_factor attribute must be a number, found '0.01' of dtype <U4
        >>> CFEncoding.from_attrs({"_FillValue": 1e20}, "int16", where="'t' of x.nc")
        Traceback (most recent call last):
        ...
        lazyarray.errors.FillValueError: 't' of x.nc: the _FillValue attribute 1e+20 is not a value of dtype int16 (out of its range -32768 to 32767)
        """
        dtype = np.dtype(dtype)
        if dtype.kind not in _DECODED_KINDS:
            return cls(dtype)
        unsigned = _unsigned(attrs, dtype, where)
        scale = _values(attrs, "scale_factor", json)
        offset = _values(attrs, "add_offset", json)
        fill = _values(attrs, "_FillValue", json)
        if fill is not None and fill.size != 1:
            raise ValueError(f"{where}: the _FillValue attribute must be one value, found "
                             f"{fill.size}: {fill.tolist()}")
        missing = _values(attrs, "missing_value", json)
        low, high = _bounds(attrs, dtype, unsigned, where, json)
        return cls(
            dtype,
            fill_value=None if fill is None else _stored(
                fill.tolist()[0], dtype, unsigned, "the _FillValue attribute", where),
            missing_values=() if missing is None else tuple(
                _stored(v, dtype, unsigned, "a value of the missing_value attribute", where)
                for v in missing.tolist()),
            valid_min=low,
            valid_max=high,
            scale_factor=None if scale is None else _number(scale, "scale_factor", where),
            add_offset=None if offset is None else _number(offset, "add_offset", where),
            unsigned=unsigned,
        )

    # -- what follows from it ----------------------------------------------------------

    @property
    def values_dtype(self) -> np.dtype:
        """The dtype the stored values are read as: unsigned for ``_Unsigned`` data."""
        return _unsigned_dtype(self.dtype) if self.unsigned else self.dtype

    @property
    def packed(self) -> bool:
        """Whether the data are packed (``scale_factor`` or ``add_offset``)."""
        return self.scale_factor is not None or self.add_offset is not None

    @property
    def masks(self) -> bool:
        """Whether the attributes mark any stored value as missing."""
        return (self.fill_value is not None or bool(self.missing_values)
                or self.valid_min is not None or self.valid_max is not None)

    @property
    def declares_nothing(self) -> bool:
        """Whether decoding changes nothing: no mask, no packing, no ``_Unsigned``."""
        return not (self.masks or self.packed or self.unsigned)

    @property
    def decoded_dtype(self) -> np.dtype:
        """The dtype of the decoded data.

        Unpacked data keep their dtype (unsigned for ``_Unsigned`` data);
        packed data take numpy's type of ``stored * scale_factor +
        add_offset``, so the type of the attributes (CF section 8.1) for the
        packings CF allows: ``int16`` with ``float32`` attributes gives
        ``float32``, ``int32`` with ``float32`` gives ``float64``.
        """
        dtype = self.values_dtype
        for attribute in (self.scale_factor, self.add_offset):
            if attribute is not None:
                dtype = np.result_type(dtype, attribute.dtype)
        return dtype

    def _markers(self) -> list[Any]:
        """The stored values that mark missing points, read as :attr:`values_dtype`."""
        found: list[Any] = []
        for value in (self.fill_value, *self.missing_values):
            if value is None:
                continue
            value = np.asarray(value, self.dtype).view(self.values_dtype)[()]
            if not any(same_scalar(value, other) for other in found):
                found.append(value)
        return found

    def masking(self) -> Masking | None:
        """The :class:`~lazyarray.adapters.missingvalues.Masking` of the values read as
        :attr:`values_dtype`, when a fill value or missing value is declared."""
        markers = self._markers()
        if not markers:
            return None
        return Masking(markers[0], tuple(markers[1:]), self.valid_min, self.valid_max)

    @property
    def decoded_fill_value(self) -> Any:
        """The fill value of the decoded data.

        NaN for packed data decoded to floats (a packed fill value decodes to a
        number that could be data); otherwise the declared fill value (the
        ``_FillValue``, else the first ``missing_value``, else the netCDF
        library's default for the dtype) as the decoded data hold it.
        """
        dtype = self.decoded_dtype
        if not self.masks:
            return default_fill_value(dtype)
        if self.packed and dtype.kind in "fc":
            return dtype.type("nan")
        markers = self._markers()
        if markers:
            fill = markers[0]
        else:
            default = _NETCDF_FILLS.get(self.values_dtype.str[1:])
            fill = (default_fill_value(self.values_dtype) if default is None
                    else self.values_dtype.type(default))
        return np.asarray(self.unpack(np.asarray(fill, self.values_dtype)), dtype)[()]

    # -- the numpy work on one tile ------------------------------------------------------

    def mask(self, values: np.ndarray) -> np.ndarray | None:
        """Where ``values`` (read as :attr:`values_dtype`) are missing, or ``None``."""
        mask = None
        for marker in self._markers():
            found = where_equal(values, marker)
            mask = found if mask is None else (mask | found)
        for bound, outside in ((self.valid_min, np.less), (self.valid_max, np.greater)):
            if bound is not None:
                found = np.asarray(outside(values, bound))
                mask = found if mask is None else (mask | found)
        return mask

    def unpack(self, values: np.ndarray) -> np.ndarray:
        """``values * scale_factor + add_offset`` as numpy computes it (netCDF4's bits).

        Examples
        --------
        >>> e = CFEncoding("int16", scale_factor=np.float32(0.5), add_offset=np.float32(1))
        >>> e.unpack(np.array([2, 4], "i2"))
        array([2., 3.], dtype=float32)
        """
        out = values
        # Masked points hold arbitrary values: overflow there is no one's concern.
        with np.errstate(all="ignore"):
            if self.scale_factor is not None:
                out = np.asarray(np.multiply(out, self.scale_factor))
            if self.add_offset is not None:
                dtype = np.result_type(out.dtype, self.add_offset.dtype)
                if out is not values and dtype == out.dtype and out.ndim:
                    np.add(out, self.add_offset, out=out)
                else:
                    out = np.asarray(np.add(out, self.add_offset))
        return out

    def decode_values(self, stored: np.ndarray, mask_values: bool = True
                      ) -> tuple[np.ndarray, np.ndarray | None]:
        """Decoded values and mask of a tile of stored values (masked or not).

        A mask ``stored`` brings is kept; with ``mask_values``, the values the
        attributes mark as missing are masked too.
        """
        data = np.ma.getdata(stored)
        given = np.ma.getmask(stored)
        if self.unsigned:
            data = data.view(self.values_dtype)
        mask = self.mask(data) if mask_values else None
        if given is not np.ma.nomask:
            mask = np.asarray(given if mask is None else (mask | given))
        return self.unpack(data), mask

    def _written_marker(self) -> Any:
        """What missing points are stored as (as :attr:`values_dtype`), or ``None``.

        The fill value, else the first missing value, else a value outside the
        valid range (the netCDF library's default fill value if it is, else
        the dtype's lowest or highest value), which reads back missing too.
        """
        markers = self._markers()
        if markers:
            return markers[0]
        if self.valid_min is None and self.valid_max is None:
            return None
        dtype = self.values_dtype
        info: Any = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
        default = _NETCDF_FILLS.get(dtype.str[1:])
        for candidate in ([] if default is None else [default]) + [info.min, info.max]:
            if ((self.valid_min is not None and candidate < self.valid_min)
                    or (self.valid_max is not None and candidate > self.valid_max)):
                return dtype.type(candidate)
        return None

    def encode_values(self, decoded: np.ndarray, where: str = "encode"
                      ) -> tuple[np.ndarray, None]:
        """Stored values of a tile of decoded data: packed, rounded, masked points filled.

        As netCDF4 packs: ``(data - add_offset) / scale_factor`` in numpy's
        types, rounded half to even for integer storage. NaN is missing for
        integer storage, as in xarray.

        Raises
        ------
        lazyarray.DTypeError
            For a value that packs beyond the stored dtype's range, or missing
            points with no ``_FillValue`` or ``missing_value`` to store them as.
        """
        data = np.ma.getdata(decoded)
        missing = np.ma.getmaskarray(decoded) if np.ma.getmask(decoded) is not np.ma.nomask \
            else None
        target = self.values_dtype
        with np.errstate(all="ignore"):
            values = data
            if self.add_offset is not None:
                values = np.subtract(values, self.add_offset)
            if self.scale_factor is not None:
                values = np.true_divide(values, self.scale_factor)
            values = np.asarray(values)
            if target.kind in "iu" and values.dtype.kind in "fc":
                if values.dtype.kind == "c":
                    raise DTypeError(f"{where}: complex data cannot be stored as {target}")
                nan = np.isnan(values)
                if nan.any():
                    missing = nan if missing is None else (missing | nan)
                values = np.rint(values)
            kept = values if missing is None else values[~missing]
            if kept.size and target.kind in "iu" and values.dtype.kind in "iuf":
                info = np.iinfo(target)
                low, high = kept.min(), kept.max()
                if low < info.min or high > info.max:
                    beyond = low if low < info.min else high
                    raise DTypeError(
                        f"{where}: a value packs to {beyond.item()!r}, beyond the range of "
                        f"{target}, {info.min} to {info.max}"
                    )
            out = values.astype(target)
            if target.kind == "f" and values.dtype.kind == "f" and kept.size:
                overflowed = np.isfinite(values) & ~np.isfinite(out)
                if missing is not None:
                    overflowed &= ~missing
                if overflowed.any():
                    raise DTypeError(f"{where}: a value overflows {target}: "
                                     f"{values[overflowed].reshape(-1)[0].item()!r}")
        if missing is not None and missing.any():
            marker = self._written_marker()
            if marker is None:
                raise DTypeError(
                    f"{where}: missing points (masked, or NaN stored as integers), but the "
                    "encoding declares no _FillValue or missing_value to store them as"
                )
            out[missing] = marker
        if self.unsigned:
            out = out.view(self.dtype)
        return out, None

    # -- writing it down -------------------------------------------------------------------

    def attributes(self) -> dict[str, Any]:
        """The attributes that declare this encoding, for a dataset of :attr:`dtype`.

        Fill and missing values are written in :attr:`dtype`, and so are valid
        bounds that it holds (as the NUG asks); others are written as
        ``float64``.

        Examples
        --------
        >>> CFEncoding("int16", np.int16(-1), valid_min=0, scale_factor=np.float32(2)).attributes()
        {'_FillValue': np.int16(-1), 'valid_min': np.int16(0), 'scale_factor': np.float32(2.0)}
        """
        out: dict[str, Any] = {}
        if self.fill_value is not None:
            out["_FillValue"] = np.asarray(self.fill_value, self.dtype)[()]
        if self.missing_values:
            out["missing_value"] = np.asarray(self.missing_values, self.dtype)
        bounds = [b for b in (self.valid_min, self.valid_max) if b is not None]
        if bounds:
            stored = [self._stored_bound(b) for b in bounds]
            kind = self.dtype if all(s is not None for s in stored) else np.dtype("f8")
            written = np.asarray([s if s is not None else b for s, b in zip(stored, bounds)],
                                 kind)
            if len(bounds) == 2:
                out["valid_range"] = written
            else:
                out["valid_min" if self.valid_min is not None else "valid_max"] = written[0]
        if self.scale_factor is not None:
            out["scale_factor"] = self.scale_factor
        if self.add_offset is not None:
            out["add_offset"] = self.add_offset
        if self.unsigned:
            out["_Unsigned"] = "true"
        return out

    def _stored_bound(self, bound: float) -> Any:
        """``bound`` as a stored value, or ``None`` when the stored dtype cannot hold it."""
        view = self.values_dtype
        try:
            value = storable_value(bound, view, "a bound", "CFEncoding")
        except DTypeError:
            return None
        return np.asarray(value, view).view(self.dtype)[()]

    # -- equality: NaN fill values are the same fill value --------------------------------

    def _token(self) -> tuple[Any, ...]:
        def norm(value: Any) -> Any:
            if value is None:
                return None
            item = np.asarray(value)
            return (item.dtype.str, "nan" if item.dtype.kind in "fc" and np.isnan(item)
                    else item.item())

        return (self.dtype.str, norm(self.fill_value),
                tuple(norm(v) for v in self.missing_values), self.valid_min, self.valid_max,
                norm(self.scale_factor), norm(self.add_offset), self.unsigned)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CFEncoding):
            return NotImplemented
        return self._token() == other._token()

    def __hash__(self) -> int:
        return hash(self._token())
