"""``lazyarray info``: what a variable holds, how it is stored, and how lazyarray will read it.

For each variable: dimensions and shape, the stored and decoded dtypes,
storage chunks, filters or codecs, the storage's fill value, the CF
attributes and what lazyarray's decoding does with them in words (the
encoding :func:`lazyarray.open_dataset` or :func:`lazyarray.asarray` actually
decodes with, :func:`lazyarray.cf.source_encoding`), the bytes on disk and in
memory, and whether lazyarray's direct reader applies (HDF5:
:func:`lazyarray.storage.hdf5.unsupported_reason`; Zarr:
:func:`lazyarray.adapters.zarrdirect.direct_reader`).

Examples
--------
>>> import os, tempfile, netCDF4, numpy as np
>>> folder = tempfile.TemporaryDirectory()
>>> path = os.path.join(folder.name, "sst.nc")
>>> with netCDF4.Dataset(path, "w") as f:
...     _ = f.createDimension("x", 4)
...     v = f.createVariable("sst", "i2", ("x",), fill_value=-32767)
...     v.scale_factor, v.add_offset = np.float32(0.01), np.float32(20)
>>> with open_store(path) as store:
...     [record] = [describe(store, v) for v in store.variables()]
>>> record["decoding"]
['masked where x == -32767', 'unpacked: x * 0.01 + 20.0 -> float32']
>>> folder.cleanup()
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import h5py
import numpy as np

import lazyarray as la
from lazyarray.adapters.zarrdirect import direct_reader as zarr_direct_reader
from lazyarray.array import format_bytes
from lazyarray.cf import CFEncoding, source_encoding
from lazyarray.cfencoding import CF_ATTRIBUTES
from lazyarray.storage.hdf5 import unsupported_reason

from .common import UsageError
from .inputs import HDF5Store, Store, Variable, ZarrStore, open_store

__all__ = ["describe", "describe_decoding", "run_info"]

#: Attributes shown besides the CF decoding ones.
_SHOWN = CF_ATTRIBUTES + ("units",)


def _text(value: Any) -> str:
    """A number or array as it reads best: numpy's own printing of scalars."""
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(_text(v) for v in value.reshape(-1)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def _jsonable(value: Any) -> Any:
    """``value`` as JSON holds it: numpy numbers and arrays as Python's."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN nor infinity
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def describe_decoding(encoding: CFEncoding, decoded_dtype: np.dtype) -> list[str]:
    """What decoding with ``encoding`` does, step by step, in words.

    Examples
    --------
    >>> e = CFEncoding.from_attrs({"_FillValue": -1, "_Unsigned": "true",
    ...                            "valid_max": 200, "scale_factor": 0.5}, "int8")
    >>> describe_decoding(e, e.decoded_dtype)
    ['read as uint8 (_Unsigned)', 'masked where x == 255 or x > 200', 'unpacked: x * 0.5 -> float64']
    >>> describe_decoding(CFEncoding(np.dtype("f4")), np.dtype("f4"))
    ['none: the stored values as they are']
    """
    if encoding.declares_nothing:
        return ["none: the stored values as they are"]
    steps = []
    if encoding.unsigned:
        steps.append(f"read as {encoding.values_dtype} (_Unsigned)")
    conditions = []
    markers: list[Any] = []
    for value in (encoding.fill_value, *encoding.missing_values):
        if value is None:
            continue
        value = np.asarray(value, encoding.dtype).view(encoding.values_dtype)[()]
        if not any(str(value) == str(other) for other in markers):
            markers.append(value)
    conditions += [f"x == {_text(m)}" for m in markers]
    if encoding.valid_min is not None:
        conditions.append(f"x < {_text(encoding.valid_min)}")
    if encoding.valid_max is not None:
        conditions.append(f"x > {_text(encoding.valid_max)}")
    if conditions:
        steps.append("masked where " + " or ".join(conditions))
    if encoding.packed:
        formula = "x"
        if encoding.scale_factor is not None:
            formula += f" * {_text(encoding.scale_factor)}"
        if encoding.add_offset is not None:
            formula += f" + {_text(encoding.add_offset)}"
        steps.append(f"unpacked: {formula} -> {decoded_dtype}")
    return steps


def _hdf5_storage(store: HDF5Store, variable: Variable) -> dict[str, Any]:
    dataset = store.dataset(variable.name)
    plist = dataset.id.get_create_plist()
    filters = []
    for position in range(plist.get_nfilters()):
        code, _, values, name = plist.get_filter(position)
        label = name.decode(errors="replace") or f"filter {code}"
        if code == h5py.h5z.FILTER_DEFLATE and values:
            label += f"(level {values[0]})"
        filters.append(label)
    layout = {h5py.h5d.CHUNKED: "chunked", h5py.h5d.CONTIGUOUS: "contiguous",
              h5py.h5d.COMPACT: "compact"}.get(plist.get_layout(), "other")
    reason = unsupported_reason(dataset)
    return {
        "layout": layout,
        "chunks": list(dataset.chunks) if dataset.chunks else None,
        "shards": None,
        "filters": filters,
        "fill_value": dataset.fillvalue if dataset.dtype.kind in "biufc" else None,
        "nbytes_stored": int(dataset.id.get_storage_size()),
        "direct_reader": reason is None,
        "direct_reader_reason": reason,
    }


def _codec_text(codec: Any) -> str:
    """A Zarr codec as ``name(parameter=value, ...)``."""
    if hasattr(codec, "get_config"):  # numcodecs (Zarr 2)
        config = dict(codec.get_config())
        name = config.pop("id", type(codec).__name__)
    else:
        config = codec.to_dict()
        name = config.get("name", type(codec).__name__)
        config = config.get("configuration", {}) or {}
    inner = ", ".join(f"{k}={_jsonable(v)}" for k, v in config.items())
    return f"{name}({inner})"


def _zarr_storage(store: ZarrStore, variable: Variable) -> dict[str, Any]:
    array = store.array(variable.name)
    codecs = [*array.filters, *([array.serializer] if array.serializer else []),
              *array.compressors]
    direct = zarr_direct_reader(array) is not None
    return {
        "layout": "sharded" if array.shards else "chunked",
        "chunks": list(array.chunks),
        "shards": list(array.shards) if array.shards else None,
        "filters": [_codec_text(c) for c in codecs],
        "fill_value": array.fill_value,
        "nbytes_stored": int(array.nbytes_stored()),
        "direct_reader": direct,
        "direct_reader_reason": None if direct else (
            "not a local store with a regular chunk grid, no sharding, C order and only "
            "the bytes codec and one of the compressors lazyarray decodes"),
    }


def describe(store: Store, variable: Variable) -> dict[str, Any]:
    """Everything ``lazyarray info`` says about ``variable`` of ``store``, as a dict.

    Keys: ``path``, ``variable``, ``format``, ``dims``, ``shape``, ``dtype``
    (stored), ``decoded_dtype``, ``masked`` (whether lazyarray reads it as a
    masked array), ``layout``, ``chunks``, ``shards`` (Zarr), ``filters``,
    ``fill_value`` (the storage's), ``attributes`` (CF ones and ``units``),
    ``decoding`` (steps in words), ``decoding_error`` (why lazyarray refuses
    to decode it, else ``None``), ``nbytes_stored``, ``nbytes_decoded``,
    ``direct_reader`` and ``direct_reader_reason``.
    """
    if isinstance(store, HDF5Store):
        storage = _hdf5_storage(store, variable)
    else:
        assert isinstance(store, ZarrStore)
        storage = _zarr_storage(store, variable)
    decoded_dtype = variable.dtype
    masked = False
    error = None
    decoding: list[str] = []
    try:
        array = store.lazy(variable.name)
    except (la.LazyArrayError, ValueError, TypeError) as refused:
        error = str(refused)
        decoding = [f"refused: {refused}"]
    else:
        decoded_dtype, masked = array.dtype, array.masked
        encoding = source_encoding(array)
        if encoding is not None:
            decoding = describe_decoding(encoding, array.dtype)
    return {
        "path": variable.path,
        "variable": variable.name,
        "format": store.kind,
        "dims": list(variable.dims),
        "shape": list(variable.shape),
        "dtype": str(variable.dtype),
        "decoded_dtype": str(decoded_dtype),
        "masked": masked,
        **storage,
        "attributes": {k: variable.attrs[k] for k in _SHOWN if k in variable.attrs},
        "decoding": decoding,
        "decoding_error": error,
        "nbytes_decoded": math.prod(variable.shape) * np.dtype(decoded_dtype).itemsize,
    }


def format_record(record: dict[str, Any]) -> str:
    """A :func:`describe` record as the lines ``lazyarray info`` prints."""
    dims = ", ".join(f"{d}={n}" for d, n in zip(record["dims"], record["shape"])) or "scalar"
    dtype = record["dtype"]
    if record["decoded_dtype"] != dtype:
        dtype += f" stored, {record['decoded_dtype']} decoded"
    if record["masked"]:
        dtype += " (masked)"
    chunks = (f"{tuple(record['chunks'])}" if record["chunks"] else record["layout"])
    if record.get("shards"):
        chunks += f" in shards of {tuple(record['shards'])}"
    attributes = ", ".join(f"{k}={_text(v)}" for k, v in record["attributes"].items())
    direct = ("yes" if record["direct_reader"]
              else f"no: {record['direct_reader_reason']}")
    rows = [
        ("dimensions", dims),
        ("dtype", dtype),
        ("chunks", chunks),
        ("filters", ", ".join(record["filters"]) or "none"),
        ("fill value", _text(record["fill_value"])),
        ("attributes", attributes or "none"),
        ("decoding", "; ".join(record["decoding"])),
        ("size", (f"{format_bytes(record['nbytes_stored'])} on disk, "
                  f"{format_bytes(record['nbytes_decoded'])} in memory")),
        ("direct read", direct),
    ]
    where = f"{record['path']}:{record['variable']}" if record["variable"] else record["path"]
    head = f"{where} ({record['format']})"
    return "\n".join([head] + [f"  {name:<11} {value}" for name, value in rows])


def _split(target: str) -> tuple[str, str | None]:
    """``PATH[:VARIABLE]`` split; a path that exists as given keeps its colons."""
    if os.path.exists(target) or ":" not in target:
        return target, None
    path, _, name = target.rpartition(":")
    return path, name or None


def run_info(targets: list[str], as_json: bool, out: Any) -> int:
    """Describe the variables ``targets`` name (``PATH[:VARIABLE]``) on ``out``."""
    records: list[dict[str, Any]] = []
    for target in targets:
        path, name = _split(target)
        with open_store(path) as store:
            variables = [store.variable(name)] if name else store.variables()
            if not variables:
                raise UsageError(f"{path}: holds no array variable")
            records.extend(describe(store, v) for v in variables)
    if as_json:
        out.write(json.dumps(_jsonable(records), indent=2) + "\n")
    else:
        out.write("\n\n".join(format_record(r) for r in records) + "\n")
    return 0
