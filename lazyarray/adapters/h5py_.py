"""The adapter for HDF5 datasets read through h5py."""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import h5py

from ..array import Array
from ..buffers import read_buffer
from ..indexing import Key, NativeSupport, to_native
from ..options import get_options
from .base import ArrayAdapter, Masking, resolve_masking
from .h5direct import DirectReader, direct_reader

__all__ = ["HDF5ArrayAdapter", "open_dataset"]

_open_files: dict[str, h5py.File] = {}
_open_lock = threading.Lock()


def _open_h5py(filename: str | os.PathLike[str], name: str) -> h5py.Dataset:
    """Dataset ``name`` of the HDF5 file ``filename``, opened for reading.

    Files are opened once per process and kept open, so that a graph over
    many datasets of one file, or unpickled in a worker, opens each file once.
    """
    path = os.path.abspath(os.fspath(filename))
    with _open_lock:
        handle = _open_files.get(path)
        if handle is None or not handle.id.valid:
            handle = _open_files[path] = h5py.File(path, "r")
    return handle[name]


def open_dataset(
    filename: str | os.PathLike[str],
    name: str,
    *,
    decode: bool = True,
    masked: bool = False,
    fill_value: Any = None,
    valid_range: bool | tuple[Any, Any] = False,
) -> Array:
    """Variable ``name`` of the netCDF-4 or HDF5 file ``filename``, as a lazy array.

    The variable is decoded as its CF attributes say (see :mod:`lazyarray.cf`):
    masked where ``_FillValue`` or ``missing_value`` mark values missing and
    outside ``valid_min``, ``valid_max`` or ``valid_range``; ``_Unsigned``
    integers read as unsigned; packed values unpacked with ``scale_factor``
    and ``add_offset``. Nothing is read but the attributes. Files are opened
    once per process and kept open, so that a graph over many variables of
    one file, or unpickled in a worker, opens each file once.

    Parameters
    ----------
    filename : path-like
    name : str
        The variable's (dataset's) path in the file.
    decode : bool, optional
        ``False``: the stored values, as an :class:`HDF5ArrayAdapter`.
    masked, fill_value, valid_range : optional
        As for :func:`lazyarray.asarray`: mask the stored values by these
        rules instead of what the attributes say.

    Examples
    --------
    >>> import os, tempfile, netCDF4, numpy as np, lazyarray as la
    >>> path = os.path.join(tempfile.mkdtemp(), "sst.nc")
    >>> with netCDF4.Dataset(path, "w") as f:
    ...     _ = f.createDimension("x", 4)
    ...     v = f.createVariable("sst", "i2", ("x",), fill_value=-32767)
    ...     v.scale_factor, v.add_offset = np.float32(0.01), np.float32(20)
    ...     v[:] = np.ma.masked_array([18.5, 21.25, 0, 19.0], mask=[0, 0, 1, 0])
    >>> sst = la.open_dataset(path, "sst")
    >>> sst.dtype, sst.masked_array().tolist()
    (dtype('float32'), [18.5, 21.25, None, 19.0])
    >>> la.open_dataset(path, "sst", decode=False).ndarray().tolist()
    [-150, 125, -32767, -100]
    """
    from . import asarray

    return asarray(_open_h5py(filename, name), decode=decode, masked=masked,
                   fill_value=fill_value, valid_range=valid_range)


def _reopen(
    cls: type[HDF5ArrayAdapter], filename: str, name: str, key: Key, masking: Masking | None = None
) -> HDF5ArrayAdapter:
    adapter = cls(_open_h5py(filename, name))
    adapter._set_key(key)
    # The masking resolved when the graph was built, not the attributes again:
    # the unpickled graph computes what the pickled one would have.
    adapter._masking = masking
    return adapter


class _DirectSlot:
    """A dataset's :class:`~lazyarray.adapters.h5direct.DirectReader`, made on first read.

    An adapter and the views indexing makes of it share one slot, so the
    chunk index is built once, by whichever worker thread reads first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._reader: DirectReader | None = None

    def reader(self, dataset: h5py.Dataset) -> DirectReader | None:
        if not self._done:
            with self._lock:
                if not self._done:
                    self._reader = direct_reader(dataset)
                    self._done = True
        return self._reader


class HDF5ArrayAdapter(ArrayAdapter):
    """A lazy view of an HDF5 dataset.

    h5py reads slices of positive step and one increasing index list per
    selection; anything else (negative steps, unsorted or repeated indices,
    several index lists) is decomposed into such a read and an in-memory rest.
    The adapter remembers the file path and dataset name, so a graph pickles
    and can be evaluated in another process.

    With the ``direct_io`` option on (the default), datasets whose storage
    can be read without HDF5 (files opened read-only with the default
    driver; contiguous or chunked with deflate, shuffle and fletcher32 at
    most; plain numeric dtypes) are read straight from the file and decoded
    in the worker threads, outside h5py's global lock; the chunk index is
    built on the first read. See :mod:`lazyarray.adapters.h5direct`.
    ``direct_io=False`` reads everything through h5py. Both give the same
    values and dtype.

    With ``masked=True``, points equal to the fill value are masked, and
    ``fill_value`` is that value: the ``fill_value`` argument, else the
    ``_FillValue`` attribute, else the first value of the ``missing_value``
    attribute (whose values are all masked), else the dataset's own fill
    value (``dataset.fillvalue``, which the netCDF library sets to the
    variable's fill value). A NaN fill value masks NaNs. Masks are
    computed from each tile read; building and indexing read nothing (the
    attributes are read once, here). See
    :func:`~lazyarray.adapters.base.resolve_masking` for the exact rules.

    Parameters
    ----------
    dataset : h5py.Dataset
    keys : key, optional
        The adapter shows ``source[keys]`` (Biggus's meaning; see
        :class:`~lazyarray.adapters.base.ArrayAdapter`).
    masked : bool, optional
        Mask points equal to the fill value (default: mask nothing).
    fill_value : scalar, optional
        The value that marks masked points, instead of what the attributes
        say; it must be a value of the dataset's dtype. Only with ``masked``.
    valid_range : bool or (minimum, maximum), optional
        ``True``: also mask points outside the range the ``valid_range``, or
        ``valid_min`` and ``valid_max``, attributes declare (netCDF User
        Guide; absent attributes set no bound). A pair gives the inclusive
        bounds instead (``None``: unbounded). Only with ``masked``.

    Raises
    ------
    TypeError
        If ``dataset`` is not an ``h5py.Dataset``, or ``fill_value`` or
        ``valid_range`` is given without ``masked``.
    lazyarray.DTypeError
        If the fill value is not a value of the dataset's dtype.
    ValueError
        If the valid-range attributes are malformed or contradict each other.

    Examples
    --------
    >>> import h5py, numpy as np, lazyarray as la, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("x", data=np.arange(20).reshape(4, 5), chunks=(2, 5))
    >>> d = la.HDF5ArrayAdapter(h5py.File(path, "r")["x"])
    >>> d.chunks
    (2, 5)
    >>> d[[3, 1, 1], ::-2].ndarray().tolist()
    [[19, 17, 15], [9, 7, 5], [9, 7, 5]]

    A dataset with a ``_FillValue`` attribute, masked on request:

    >>> path = os.path.join(tempfile.mkdtemp(), "t.h5")
    >>> with h5py.File(path, "w") as f:
    ...     t = f.create_dataset("t", data=np.array([3.5, -999.0, 4.0, 99.0], "f4"))
    ...     t.attrs["_FillValue"] = np.float32(-999.0)
    ...     t.attrs["valid_max"] = np.float32(50.0)
    >>> t = la.HDF5ArrayAdapter(h5py.File(path, "r")["t"], masked=True)
    >>> t.fill_value
    np.float32(-999.0)
    >>> t.masked_array()
    masked_array(data=[3.5, --, 4.0, 99.0],
                 mask=[False,  True, False, False],
           fill_value=-999.0,
                dtype=float32)
    >>> t = la.HDF5ArrayAdapter(t.concrete, masked=True, valid_range=True)
    >>> t.masked_array().mask.tolist(), t.ndarray().tolist()
    ([False, True, False, True], [3.5, -999.0, 4.0, -999.0])
    """

    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=1, unsorted_arrays=False
    )

    def __init__(
        self,
        dataset: h5py.Dataset,
        keys: Any = (),
        *,
        masked: bool = False,
        fill_value: Any = None,
        valid_range: bool | tuple[Any, Any] = False,
    ):
        if not isinstance(dataset, h5py.Dataset):
            raise TypeError(
                f"HDF5ArrayAdapter: expected an h5py.Dataset, got {type(dataset).__name__}"
            )
        super().__init__(dataset, keys)
        self._filename = dataset.file.filename
        self._name = dataset.name
        self._direct = _DirectSlot()
        if masked or fill_value is not None or valid_range is not False:
            self._masking = resolve_masking(
                f"HDF5ArrayAdapter({self._filename!r}, {self._name!r})",
                self._dtype,
                dataset.attrs,
                dataset.fillvalue,
                masked=masked,
                fill_value=fill_value,
                valid_range=valid_range,
            )

    @property
    def filename(self) -> str:
        """Path of the HDF5 file."""
        return self._filename

    @property
    def name(self) -> str:
        """Name of the dataset in its file."""
        return self._name

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._source.chunks

    @property
    def chunks_encoded(self) -> bool:
        return bool(self._source.id.get_create_plist().get_nfilters())

    def _read(self, native: Key) -> Any:
        drop = tuple(0 if isinstance(k, int) else slice(None) for k in native)
        reader = self._direct.reader(self._source) if get_options().direct_io else None
        if reader is not None and reader.supports(native):
            out = read_buffer(tuple(1 if isinstance(k, int) else len(k) for k in native),
                              reader.dtype)
            reader.read(native, out)
            return out[drop]
        if all(isinstance(k, int) or (isinstance(k, range) and k.step == 1) for k in native):
            # A plain hyperslab: read straight into a new array, skipping the
            # selection machinery of h5py's __getitem__ (a third faster on
            # whole chunks). Ints are read as length-1 slabs and dropped.
            slab = tuple(range(k, k + 1) if isinstance(k, int) else k for k in native)
            out = read_buffer(tuple(len(k) for k in slab), self._source.dtype)
            if out.size:
                self._source.read_direct(out, source_sel=to_native(slab))
            return out[drop]
        return self._source[to_native(native)]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (type(self), self._filename, self._name, self._key, self._masking))

