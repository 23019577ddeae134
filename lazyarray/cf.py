"""CF decoding: what a variable's attributes say about its stored values, applied lazily.

netCDF files, and HDF5 and Zarr files that follow the same conventions (the
netCDF User Guide, NUG, and the CF conventions, sections 2.5.1 and 8.1), say
with attributes how stored values become data:

* ``_FillValue`` and ``missing_value``: stored values that mark missing points;
* ``valid_min``, ``valid_max`` and ``valid_range``: stored values outside them
  are missing (bounds are inclusive and in stored units);
* ``_Unsigned = "true"``: signed integers that hold unsigned ones;
* ``scale_factor`` and ``add_offset``: packed data, unpacked as
  ``stored * scale_factor + add_offset``.

:class:`CFEncoding` is what the attributes say, checked when they are read
(:mod:`lazyarray.cfencoding`, which knows values, not nodes). This module
builds the lazy graphs that apply it: :func:`decode` decodes stored values,
in the order CF gives (validity is tested on the stored values, then the
values are unpacked); :func:`encode` packs data back into stored values.
Both read nothing when called: the work is done tile by tile when the
result is evaluated, so indexing still reads only the selection.

:func:`lazyarray.asarray` and :func:`lazyarray.open_dataset` decode HDF5
datasets and Zarr arrays by default (:func:`wrap_file_source`); see
``docs/masked.md`` for the rules and how they compare with netCDF4 and xarray.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> stored = np.array([-32767, 0, 100, 250], "i2")
>>> attrs = {"_FillValue": np.int16(-32767), "scale_factor": np.float32(0.5),
...          "add_offset": np.float32(10), "valid_max": np.int16(200)}
>>> encoding = CFEncoding.from_attrs(attrs, stored.dtype, where="demo")
>>> encoding.decoded_dtype
dtype('float32')
>>> t = decode(stored, encoding)
>>> t.masked_array().tolist(), t.fill_value
([None, 10.0, 60.0, None], np.float32(nan))
>>> encode(t, encoding).ndarray().tolist()  # masked points become the _FillValue
[-32767, 0, 100, -32767]
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from .adapters import asarray
from .adapters.base import ArrayAdapter
from .adapters.h5py_ import HDF5ArrayAdapter
from .adapters.missingvalues import Masking
from .adapters.zarr_ import ZarrArrayAdapter
from .array import Array
from .cfencoding import CF_ATTRIBUTES, CFEncoding
from .errors import DTypeError
from .fillvalues import default_fill_value
from .graph import inputs_first
from .indexing import Key
from .maskedelementwise import MaskedElementwise
from .mosaic import ArrayStack, LinearMosaic
from .steps import Steps
from .views import AxisView, FillValueView

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = [
    "CF_ATTRIBUTES",
    "CFEncoding",
    "Decoded",
    "chosen_encodings",
    "decode",
    "encode",
    "source_encoding",
    "wrap_file_source",
]


# -- the lazy graphs -------------------------------------------------------------------------


class Decoded(MaskedElementwise):
    """Stored values decoded as a :class:`CFEncoding` says.

    Each tile of the stored values is read as unsigned for ``_Unsigned``
    data, masked where the encoding marks values missing (with
    ``mask_values``; a mask the stored values bring is kept), and unpacked.
    A selection of a decoded array is the decoded selection, so indexing
    reads only what it selects.

    Parameters
    ----------
    stored : Array
        The stored values, of the encoding's dtype.
    encoding : CFEncoding
    mask_values : bool, optional
        Mask the values the encoding marks missing (``False`` when ``stored``
        masks them already).
    """

    def __init__(self, stored: Array, encoding: CFEncoding, mask_values: bool = True):
        if stored.dtype != encoding.dtype:
            raise DTypeError(
                f"Decoded: the stored values have dtype {stored.dtype}, the encoding "
                f"{encoding.dtype}"
            )
        masked = stored.masked or (mask_values and encoding.masks)
        dtype = encoding.decoded_dtype
        super().__init__(
            functools.partial(encoding.decode_values, mask_values=mask_values),
            [stored],
            stored.shape,
            dtype,
            encoding.decoded_fill_value if masked else default_fill_value(dtype),
            masked=masked,
        )
        self._encoding = encoding
        self._mask_values = mask_values
        # Values the stored tiles already hold, masked by the adapter: no work.
        self._passes_through = not (mask_values or encoding.packed or encoding.unsigned)

    @property
    def encoding(self) -> CFEncoding:
        """How the data are stored: what :func:`encode` stores them back as."""
        return self._encoding

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return Decoded(inputs[0], self._encoding, self._mask_values)

    def _index_steps(self, key: Key) -> Steps[Array]:
        selected = yield self.operands[0]._select_steps(key)
        return Decoded(selected, self._encoding, self._mask_values)

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        if self._passes_through:
            return (yield self.operands[0]._evaluate_steps(context, masked))
        return (yield from super()._compute_steps(context, masked))


def _with_masking(adapter: ArrayAdapter, masking: Masking) -> ArrayAdapter:
    """A copy of an unmasked file adapter that masks what it reads as ``masking`` says.

    The adapter's own tile-level masking, as ``masked=True`` sets it up, with
    the missing values the attributes declare (its constructor cannot be given
    both a fill value and other missing values).
    """
    clone = copy.copy(adapter)
    clone._masking = masking
    return clone


def decode(array: Any, encoding: CFEncoding) -> Array:
    """``array``'s stored values decoded as ``encoding`` says; lazily.

    The result is a :class:`Decoded` node, which carries the encoding (for
    :func:`encode`). For an unmasked HDF5 or Zarr adapter of data that are not
    ``_Unsigned``, the missing values are masked by the adapter itself as it
    reads each tile (as with ``masked=True``), and the node only unpacks (or,
    for data that are not packed, passes the adapter's tiles on); otherwise
    the node masks and unpacks.

    Raises
    ------
    lazyarray.DTypeError
        If ``array``'s dtype is not the encoding's.

    Examples
    --------
    >>> import numpy as np
    >>> e = CFEncoding.from_attrs({"missing_value": [-1, -2], "add_offset": 0.5}, "int8")
    >>> decode(np.array([3, -2, -1], "i1"), e).masked_array().tolist()
    [3.5, None, None]
    """
    array = asarray(array)
    if array.dtype != encoding.dtype:
        raise DTypeError(f"decode: the array has dtype {array.dtype}, the encoding {encoding.dtype}")
    if encoding.declares_nothing:
        return array
    masking = encoding.masking()
    if (masking is not None and not encoding.unsigned and not array.masked
            and isinstance(array, (HDF5ArrayAdapter, ZarrArrayAdapter))):
        return Decoded(_with_masking(array, masking), encoding, mask_values=False)
    return Decoded(array, encoding)


#: :func:`decode`, for functions whose ``decode`` argument hides it.
_decode = decode


def encode(array: Any, encoding: CFEncoding, where: str = "encode") -> Array:
    """``array``'s data as the stored values of ``encoding``; lazily.

    Masked points (and NaN, for integer storage) are stored as the
    ``_FillValue`` (else the first ``missing_value``); the rest are packed with
    ``scale_factor`` and ``add_offset`` and rounded to the nearest integer
    (halves to even) for integer storage, as netCDF4 and xarray pack. The
    result is not masked: it is what a file holds.

    Parameters
    ----------
    array : array
        Decoded data.
    encoding : CFEncoding
    where : str, optional
        What is encoded, for error messages.

    Raises
    ------
    lazyarray.DTypeError
        When evaluated: for values that the stored dtype cannot hold, or
        missing points and an encoding that declares no fill value.

    Examples
    --------
    >>> import numpy as np
    >>> e = CFEncoding.from_attrs({"_FillValue": -1, "scale_factor": 0.1}, "int16")
    >>> x = np.ma.masked_array([0.31, 0.46, 7.0], mask=[0, 0, 1])
    >>> encode(x, e).ndarray().tolist()
    [3, 5, -1]
    """
    array = asarray(array)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{where}: cannot encode data of dtype {array.dtype}")
    marker = encoding._written_marker()
    fill = (default_fill_value(encoding.dtype) if marker is None
            else np.asarray(marker, encoding.values_dtype).view(encoding.dtype)[()])
    return MaskedElementwise(
        functools.partial(encoding.encode_values, where=where),
        [array], array.shape, encoding.dtype, fill, masked=False,
    )


def source_encoding(array: Array) -> CFEncoding | None:
    """The encoding ``array`` was decoded with, or ``None`` if it has no single one.

    A :class:`Decoded` array carries its encoding; an HDF5 or Zarr adapter's
    is its masking (nothing, if it masks nothing: the stored values); a
    selection, view, mosaic or stack of such arrays has theirs when they all
    share one. Anything computed from them has none.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> e = CFEncoding.from_attrs({"_FillValue": -1, "scale_factor": 0.5}, "int16")
    >>> year = decode(np.zeros((2, 3), "i2"), e)
    >>> source_encoding(la.LinearMosaic([year, year], axis=0)[1:, 0]) == e
    True
    >>> source_encoding(year * 2) is None
    True
    """
    joins = (AxisView, FillValueView, LinearMosaic, ArrayStack)
    # Members first, so that each join finds its members' encodings: no
    # recursion, however deeply views and mosaics nest.
    found: dict[int, CFEncoding | None] = {}
    for node in inputs_first([array], inputs=lambda n: n.inputs if isinstance(n, joins) else ()):
        if isinstance(node, joins):
            members = [found[id(member)] for member in node.inputs]
            first = members[0]
            same = first is not None and all(other == first for other in members[1:])
            found[id(node)] = first if same else None
        else:
            found[id(node)] = _own_encoding(node)
    return found[id(array)]


def _own_encoding(array: Array) -> CFEncoding | None:
    """The encoding of a decoded array or a file adapter; ``None`` for anything else."""
    if isinstance(array, Decoded):
        return array.encoding
    if isinstance(array, (HDF5ArrayAdapter, ZarrArrayAdapter)):
        masking = array.masking
        if masking is None:
            return CFEncoding(array.dtype)
        return CFEncoding(array.dtype, masking.fill_value, masking.missing_values,
                          masking.valid_min, masking.valid_max)
    return None


def wrap_file_source(source: Any, *, decode: bool = True, masked: bool = False,
                     fill_value: Any = None, valid_range: Any = False) -> Array:
    """An ``h5py.Dataset`` or ``zarr.Array`` as a lazy array, decoded as its attributes say.

    What :func:`lazyarray.asarray` does with these sources:

    1. ``decode=False``: the adapter of the stored values, masked as
       ``masked``, ``fill_value`` and ``valid_range`` say (the rules of
       :func:`~lazyarray.adapters.missingvalues.resolve_masking`).
    2. Otherwise, without masking options: the stored values decoded as the
       attributes declare (:meth:`CFEncoding.from_attrs`, :func:`decode`);
       the adapter alone when they declare nothing.
    3. Otherwise the stored values are masked as the options say (as with
       ``decode=False``), then read as unsigned and unpacked as the
       attributes declare. A ``valid_range`` option for ``_Unsigned`` data
       is refused: its bounds would apply to the signed stored values.

    Raises
    ------
    TypeError
        For a ``decode`` that is not a bool, masking options without
        ``masked=True``, or a ``valid_range`` option for ``_Unsigned`` data.
    lazyarray.DTypeError
        For malformed attributes (see :meth:`CFEncoding.from_attrs`) or options.
    """
    if not isinstance(decode, (bool, np.bool_)):
        raise TypeError(f"decode must be True or False, found {decode!r}")
    kind = HDF5ArrayAdapter if isinstance(source, h5py.Dataset) else ZarrArrayAdapter
    options = bool(masked) or fill_value is not None or valid_range is not False
    adapter = kind(source, masked=masked, fill_value=fill_value, valid_range=valid_range)
    if not decode:
        return adapter
    json = not isinstance(adapter, HDF5ArrayAdapter)
    where = (f"HDF5 dataset {adapter.name!r} of {adapter.filename!r}"
             if isinstance(adapter, HDF5ArrayAdapter)
             else f"Zarr array {str(source.store_path)!r}")
    attrs = source.attrs
    if options:  # the options replace the masking attributes: only unpacking is read
        attrs = {name: attrs[name] for name in ("scale_factor", "add_offset", "_Unsigned")
                 if name in attrs}
    try:
        encoding = CFEncoding.from_attrs(attrs, adapter.dtype, where, json=json)
    except (DTypeError, ValueError) as error:
        advice = ("; masked=True with fill_value= or valid_range= replaces the masking "
                  "attributes" if not options else "")
        raise type(error)(f"{error}; decode=False reads the stored values{advice}") from None
    if not options:
        return _decode(adapter, encoding)
    if not (encoding.packed or encoding.unsigned):
        return adapter
    if encoding.unsigned and valid_range is not False:
        raise TypeError(
            f"{where}: valid_range would bound the signed stored values of _Unsigned data; "
            "leave the valid range to the attributes, or pass decode=False to mask stored values"
        )
    given = adapter.masking
    if given is not None:
        encoding = CFEncoding(encoding.dtype, given.fill_value, given.missing_values,
                              given.valid_min, given.valid_max, encoding.scale_factor,
                              encoding.add_offset, encoding.unsigned)
    else:
        encoding = CFEncoding(encoding.dtype, scale_factor=encoding.scale_factor,
                              add_offset=encoding.add_offset, unsigned=encoding.unsigned)
    return Decoded(adapter, encoding, mask_values=False)


def chosen_encodings(names: list[str], arrays: list[Array], encode: Any,
                     operation: str) -> list[CFEncoding | None]:
    """The encoding each of ``arrays`` is to be stored with, as a writer's ``encode`` says.

    ``encode`` is ``False`` or ``None`` (none), ``True`` (each array's own,
    :func:`source_encoding`), or a mapping of some of ``names`` to ``True``,
    ``False``/``None``, a :class:`CFEncoding`, or a dict of CF attributes
    with an optional ``"dtype"`` (the stored dtype; the array's by default).
    A ``scale_factor`` or ``add_offset`` given as a Python number is taken in
    the array's dtype when that is ``float32`` or ``float64``, so that the
    data decode back to their own dtype.

    Raises
    ------
    TypeError
        For an ``encode`` of another kind, names that are not arrays', keys
        that are not CF attributes, or ``True`` for an array that carries no
        encoding.
    lazyarray.DTypeError
        For attributes :meth:`CFEncoding.from_attrs` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.5, 2.5], "f4")
    >>> [e] = chosen_encodings(["x"], [x], {"x": {"dtype": "i2", "scale_factor": 0.5}}, "demo")
    >>> e.dtype, e.scale_factor, e.decoded_dtype
    (dtype('int16'), np.float32(0.5), dtype('float32'))
    """
    if encode is None or encode is False:
        return [None] * len(arrays)
    if encode is True:
        specs: dict[str, Any] = dict.fromkeys(names, True)
    elif isinstance(encode, Mapping):
        unknown = [name for name in encode if name not in names]
        if unknown:
            raise TypeError(f"{operation}: encode names {unknown}, which are not among the "
                            f"arrays written: {names}")
        specs = dict(encode)
    else:
        raise TypeError(f"{operation}: encode must be True, False or a mapping of names to "
                        f"encodings, found {type(encode).__name__}")
    found: list[CFEncoding | None] = []
    for name, array in zip(names, arrays):
        spec = specs.get(name)
        where = f"{operation}: encoding {name!r}"
        if spec is None or spec is False:
            found.append(None)
        elif spec is True:
            own = source_encoding(array)
            if own is None:
                raise TypeError(
                    f"{where}: the array carries no encoding to store it with (it is not a "
                    "decoded source, nor a selection, view or mosaic of decoded sources that "
                    "share one); give one: encode={name: {'dtype': ..., 'scale_factor': ...}}"
                )
            found.append(own)
        elif isinstance(spec, CFEncoding):
            found.append(spec)
        elif isinstance(spec, Mapping):
            attrs = dict(spec)
            unknown = [key for key in attrs if key != "dtype" and key not in CF_ATTRIBUTES]
            if unknown:
                raise TypeError(f"{where}: {unknown} are not CF attributes; an encoding has "
                                f"'dtype' and any of {list(CF_ATTRIBUTES)}")
            dtype = np.dtype(attrs.pop("dtype", array.dtype))
            for key in ("scale_factor", "add_offset"):
                value = attrs.get(key)
                if (isinstance(value, (int, float)) and not isinstance(value, bool)
                        and array.dtype in (np.dtype("f4"), np.dtype("f8"))):
                    attrs[key] = array.dtype.type(value)
            found.append(CFEncoding.from_attrs(attrs, dtype, where))
        else:
            raise TypeError(f"{where}: expected True, False, a dict of attributes or a "
                            f"CFEncoding, found {type(spec).__name__}")
    return found
