"""The adapter for HDF5 datasets read through h5py."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import dataclasses
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import h5py
import numpy as np

from .. import files, upcalls
from ..array import Array
from ..errors import ClosedFileError, DTypeError, ShapeError
from ..files import FileIdentity, OpenFile
from ..indexing import Key, NativeSupport, to_native
from ..planprotocol import ReadModel
from ..storage.hdf5 import DirectReader, direct_reader, unsupported_reason
from ..storage.hdf5.contiguous import SIEVE_BYTES
from .base import ArrayAdapter
from .missingvalues import resolve_masking

if TYPE_CHECKING:
    from ..context import EvaluationContext

__all__ = ["DatasetRef", "HDF5ArrayAdapter", "open_dataset", "refuse_closed"]

#: The dataset (and its file's path) that an adapter being built from a path
#: stands for: the adapter then keeps the path, not the handle.
_by_path: contextvars.ContextVar[tuple[h5py.Dataset, str] | None] = contextvars.ContextVar(
    "lazyarray_h5py_by_path", default=None
)


@contextmanager
def _opened(filename: str | os.PathLike[str], name: str) -> Iterator[h5py.Dataset]:
    """Dataset ``name`` of ``filename``, leased from :mod:`lazyarray.files` for the
    ``with`` block; adapters built of it inside the block keep the path, not it."""
    path = os.path.abspath(os.fspath(filename))
    with files.lease(path) as file:
        dataset = file.dataset(name)
        token = _by_path.set((dataset, path))
        try:
            yield dataset
        finally:
            _by_path.reset(token)


class DatasetRef:
    """An HDF5 dataset known by file path and name, whose metadata are read once.

    What :attr:`HDF5ArrayAdapter.concrete` is for adapters built from a path
    (:func:`open_dataset`, unpickling): it holds no open file. Reading it
    leases the file from :mod:`lazyarray.files`, so a file replaced since is
    read as it is now; a dataset whose shape or dtype changed with it is
    refused.

    Parameters
    ----------
    filename : str
        The file's absolute path.
    dataset : h5py.Dataset
        The dataset, open now, whose metadata are kept.

    Examples
    --------
    >>> import h5py, numpy as np, os, tempfile
    >>> from lazyarray.files import lease
    >>> path = os.path.join(tempfile.mkdtemp(), "r.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("x", data=np.arange(6).reshape(2, 3), chunks=(1, 3))
    >>> with lease(path) as file:
    ...     ref = DatasetRef(path, file.dataset("x"))
    >>> ref.name, ref.shape, ref.chunks, ref[1, ::2].tolist()
    ('/x', (2, 3), (1, 3), [3, 5])
    """

    def __init__(self, filename: str, dataset: h5py.Dataset):
        self.filename = filename
        self.name: str = dataset.name
        self.shape = tuple(int(n) for n in dataset.shape)
        self.dtype: np.dtype = dataset.dtype
        self.chunks: tuple[int, ...] | None = dataset.chunks
        self.nfilters = int(dataset.id.get_create_plist().get_nfilters())
        self.fillvalue = dataset.fillvalue
        #: Why the direct reader cannot read it (see storage.hdf5.unsupported_reason).
        self.unsupported_reason = unsupported_reason(dataset)
        self._checked: FileIdentity | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def attrs(self) -> dict[str, Any]:
        """The dataset's attributes, as the file holds them now."""
        with files.lease(self.filename) as file:
            return dict(self.open(file).attrs)

    def open(self, file: OpenFile) -> h5py.Dataset:
        """The dataset in ``file`` (a lease of :attr:`filename`), checked to have the
        shape and dtype it had when this reference was made.

        Raises
        ------
        KeyError
            If the file (replaced since) has no such dataset.
        lazyarray.ShapeError, lazyarray.DTypeError
            If the file was replaced by one whose dataset has another shape
            or dtype.
        """
        dataset = file.dataset(self.name)
        if file.identity != self._checked:  # once per file identity
            shape = tuple(int(n) for n in dataset.shape)
            where = (f"HDF5 dataset {self.name!r} of {self.filename!r} (the file was replaced "
                     "since the graph was built; open it again)")
            if shape != self.shape:
                raise ShapeError(f"{where}: its shape is now {shape}, not {self.shape}")
            if dataset.dtype != self.dtype:
                raise DTypeError(f"{where}: its dtype is now {dataset.dtype}, not {self.dtype}")
            self._checked = file.identity
        return dataset

    def __getitem__(self, key: Any) -> Any:
        with files.lease(self.filename) as file:
            return self.open(file)[key]

    def __getstate__(self) -> dict[str, Any]:
        # A process that unpickles it checks the file again on its first read.
        return {**self.__dict__, "_checked": None}

    def __repr__(self) -> str:
        return f"<DatasetRef {self.name!r} of {self.filename!r}, shape {self.shape}>"


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
    and ``add_offset``. Nothing is read but the attributes.

    The array keeps the file's path, not an open file: each read takes the
    file from a cache of open files (:mod:`lazyarray.files`), bounded by the
    ``max_open_files`` option and checked against the file at the path, so
    a file replaced since is read as it is now (its dataset must keep its
    shape and dtype; the attributes read here still decode it).

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
    with _opened(filename, name) as dataset:
        # What asarray does with a dataset: CF decoding, of the layers above
        # the adapters (lazyarray.cf.wrap_file_source, installed).
        return upcalls.wrap_file_source(dataset, decode=decode, masked=masked,
                                        fill_value=fill_value, valid_range=valid_range)


def refuse_closed(dataset: h5py.Dataset, operation: str) -> None:
    """Raise :class:`~lazyarray.errors.ClosedFileError` for a dataset whose file was closed.

    Such a dataset knows neither its name nor its file any more: h5py would
    raise "Not an id of a file object" on first use.

    Examples
    --------
    >>> import h5py, numpy as np
    >>> f = h5py.File("c.h5", "w", driver="core", backing_store=False)
    >>> d = f.create_dataset("x", data=np.zeros(2))
    >>> f.close()
    >>> refuse_closed(d, "demo")
    Traceback (most recent call last):
    ...
    lazyarray.errors.ClosedFileError: demo: the h5py.Dataset is closed (its file was closed); open the file again, or use lazyarray.open_dataset(path, name)
    """
    if not dataset.id.valid:
        raise ClosedFileError(
            f"{operation}: the h5py.Dataset is closed (its file was closed); open the file "
            "again, or use lazyarray.open_dataset(path, name)"
        )


def _restored(cls: type[HDF5ArrayAdapter], state: dict[str, Any]) -> HDF5ArrayAdapter:
    """An adapter unpickled from ``state`` (see :meth:`HDF5ArrayAdapter.__reduce__`).

    Nothing is opened: the state holds the metadata, and the first read
    leases the file and checks that its dataset still has the shape and dtype.
    """
    adapter = cls.__new__(cls)
    adapter.__dict__.update(state)
    adapter._direct = _DirectSlot()
    return adapter


#: Why the direct reader cannot read a dataset the user opened (``None``: it
#: can), by dataset: asking HDF5 takes about 0.1 ms, and plans are made at
#: every evaluation. Such files are open read-only, so the answer holds.
_direct_reasons: weakref.WeakKeyDictionary[h5py.Dataset, str | None] = (
    weakref.WeakKeyDictionary()
)


def _direct_reason(source: h5py.Dataset | DatasetRef) -> str | None:
    """Why the direct reader cannot read an adapter's source (``None``: it can).

    A :class:`DatasetRef` knows already; a dataset is asked once.
    """
    if isinstance(source, DatasetRef):
        return source.unsupported_reason
    with contextlib.suppress(KeyError, TypeError):
        return _direct_reasons[source]
    reason = unsupported_reason(source)
    with contextlib.suppress(TypeError):
        _direct_reasons[source] = reason
    return reason


class _ReaderCache:
    """The direct readers of recent datasets, by file identity and dataset name.

    Adapters of one dataset made apart (``open_dataset`` in a loop, graphs
    unpickled in a worker) share the reader, and so its chunk index, which
    is built once per file identity (a file replaced or rewritten has
    another: :class:`lazyarray.files.FileIdentity`). The least recently used
    of more than :attr:`capacity` readers are dropped.

    Examples
    --------
    >>> cache = _ReaderCache(capacity=1)
    >>> cache.get(("f", 1), "/x"), cache.put(("f", 1), "/x", None)
    ((False, None), None)
    >>> cache.get(("f", 1), "/x")
    (True, None)
    """

    def __init__(self, capacity: int = 64):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._readers: collections.OrderedDict[tuple[Any, str], DirectReader | None] = (
            collections.OrderedDict()
        )

    def get(self, identity: Any, name: str) -> tuple[bool, DirectReader | None]:
        """``(found, reader)``: a reader is ``None`` where the dataset must go through h5py."""
        with self._lock:
            key = (identity, name)
            if key not in self._readers:
                return False, None
            self._readers.move_to_end(key)
            return True, self._readers[key]

    def put(self, identity: Any, name: str, reader: DirectReader | None) -> None:
        with self._lock:
            self._readers[(identity, name)] = reader
            self._readers.move_to_end((identity, name))
            while len(self._readers) > self.capacity:
                self._readers.popitem(last=False)


#: Readers shared by every adapter of the process (see :class:`_ReaderCache`).
_readers = _ReaderCache()

#: A file last modified this long ago (in nanoseconds) or more has settled:
#: its identity has outlived the coarsest file-system clocks (2 s on FAT), so
#: a reader of it may be shared.
SETTLED_NS = 3 * 10**9


class _DirectSlot:
    """A dataset's :class:`~lazyarray.storage.hdf5.DirectReader`, made on first read
    of each file identity (see :class:`lazyarray.files.FileIdentity`).

    An adapter and the views indexing makes of it share one slot, so the
    chunk index is built once per file, by whichever worker thread reads
    first, and again only if the file is replaced. The reader holds no
    descriptor: each read gives it the lease's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: tuple[FileIdentity, DirectReader | None] | None = None
        self._unsupported: bool | None = None

    def hopeless(self, dataset: h5py.Dataset) -> bool:
        """Whether ``dataset`` (the user's) cannot be read directly: a reason found
        (asked once), or a reader tried and not made. No lease is taken then (a
        file the user opened for writing or in SWMR mode cannot be opened again)."""
        if self._unsupported is None:
            self._unsupported = unsupported_reason(dataset) is not None
        state = self._state
        return self._unsupported or (state is not None and state[1] is None)

    def reader(self, dataset: h5py.Dataset, file: OpenFile) -> DirectReader | None:
        state = self._state
        if state is None or state[0] != file.identity:
            with self._lock:
                state = self._state
                if state is None or state[0] != file.identity:
                    # Shared only for files not modified in the last seconds:
                    # a file rewritten in place within one tick of a coarse
                    # file-system clock, at the same size, keeps its identity.
                    settled = time.time_ns() - file.identity.mtime_ns > SETTLED_NS
                    found, made = _readers.get(file.identity, dataset.name)
                    if not (found and settled):
                        made = direct_reader(dataset, file)
                        if settled:
                            _readers.put(file.identity, dataset.name, made)
                    state = self._state = (file.identity, made)
        reader = state[1]
        if reader is not None and reader.file is not file:
            # The same file, reopened since: the index holds, the descriptor is new.
            reader = dataclasses.replace(reader, file=file)
            self._state = (file.identity, reader)
        return reader


class HDF5ArrayAdapter(ArrayAdapter):
    """A lazy view of an HDF5 dataset.

    h5py reads slices of positive step and one increasing index list per
    selection; anything else (negative steps, unsorted or repeated indices,
    several index lists) is decomposed into such a read and an in-memory rest.
    The adapter remembers the file path and dataset name, so a graph pickles
    and can be evaluated in another process. Adapters built from a path
    (:func:`open_dataset`, unpickling) hold no open file (their
    :attr:`concrete` is a :class:`DatasetRef`): each read leases it from
    :mod:`lazyarray.files`. An adapter of a dataset the user opened reads
    through that dataset, and its direct reads lease the file's descriptor.

    With the ``direct_io`` option on (the default), datasets whose storage
    can be read without HDF5 (files opened read-only with the default
    driver; contiguous or chunked with deflate, shuffle and fletcher32 at
    most; plain numeric dtypes) are read straight from the file and decoded
    in the worker threads, outside h5py's global lock; the chunk index is
    built on the first read. See :mod:`lazyarray.storage.hdf5`.
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
    :func:`~lazyarray.adapters.missingvalues.resolve_masking` for the exact rules.

    Parameters
    ----------
    dataset : h5py.Dataset or DatasetRef
        A :class:`DatasetRef` (the :attr:`concrete` of an adapter built from a
        path) gives an adapter built from that path.
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
    >>> d.storage_chunks, d.chunks  # HDF5's chunks; the blocks of an evaluation
    ((2, 5), ((4,), (5,)))
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
        dataset: h5py.Dataset | DatasetRef,
        keys: Any = (),
        *,
        masked: bool = False,
        fill_value: Any = None,
        valid_range: bool | tuple[Any, Any] = False,
    ):
        if isinstance(dataset, DatasetRef):  # another adapter's concrete: open it again
            with _opened(dataset.filename, dataset.name) as opened:
                self.__init__(opened, keys, masked=masked, fill_value=fill_value,  # type: ignore[misc]
                              valid_range=valid_range)
            return
        if not isinstance(dataset, h5py.Dataset):
            raise TypeError(
                f"HDF5ArrayAdapter: expected an h5py.Dataset, got {type(dataset).__name__}"
            )
        refuse_closed(dataset, "HDF5ArrayAdapter")
        by_path = _by_path.get()
        source: h5py.Dataset | DatasetRef
        #: (device, inode) of the user's file, whose descriptor direct reads lease.
        self._inode: tuple[int, int] | None = None
        if by_path is not None and by_path[0] is dataset:
            source = DatasetRef(by_path[1], dataset)
            self._filename = self._path = by_path[1]
        else:
            source = dataset
            file = dataset.file
            self._filename = file.filename
            self._path = os.path.abspath(self._filename)
            try:
                found = os.fstat(int(file.id.get_vfd_handle()))
                self._inode = (found.st_dev, found.st_ino)
            except (OSError, TypeError, ValueError):
                pass  # no descriptor (an in-memory file): read through h5py
        super().__init__(source, keys)
        self._name = dataset.name
        self._chunks: tuple[int, ...] | None = dataset.chunks
        self._encoded = bool(dataset.id.get_create_plist().get_nfilters())
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
    def storage_chunks(self) -> tuple[int, ...] | None:
        return self._chunks

    @property
    def chunks_encoded(self) -> bool:
        return self._encoded

    # -- planner protocol ---------------------------------------------------
    def _plan_read_model(self, direct_io: bool) -> ReadModel:
        # With direct_io, the direct reader reads what it can: plain chunks in
        # parts, contiguous data by rows (see ReadModel's kinds). Made once per
        # dataset (indexing shares the cache), as plans are made at every
        # evaluation.
        models = self.__dict__.setdefault("_plan_models", {})
        model = models.get(direct_io)
        if model is None:
            model = super()._plan_read_model(direct_io)
            if direct_io and model.shape and _direct_reason(self._source) is None:
                kind = "rows" if model.chunks is None else "chunks" if self._encoded else "plain"
                model = dataclasses.replace(model, kind=kind, sieve_bytes=SIEVE_BYTES)
            models[direct_io] = model
        return model

    def describe_source(self) -> str:
        """The dataset and its file, for error messages.

        Examples
        --------
        >>> import h5py, numpy as np
        >>> with h5py.File("d.h5", "w", driver="core", backing_store=False) as f:
        ...     HDF5ArrayAdapter(f.create_dataset("x", data=np.zeros(2))).describe_source()
        "HDF5 dataset '/x' of 'd.h5'"
        """
        return f"HDF5 dataset {self._name!r} of {self._filename!r}"

    def check_open(self) -> None:
        """Raise :class:`~lazyarray.errors.ClosedFileError` if the user's
        ``h5py.Dataset`` this adapter reads was closed since it was wrapped.

        The evaluator asks before reading anything; reads do not ask again
        (the check takes h5py's global lock, which a writing thread holds for
        milliseconds at a time), but one that fails on a closed dataset is
        raised as this error too.
        """
        source = self._source
        if not isinstance(source, DatasetRef) and not source.id.valid:
            raise self._closed()

    def _closed(self) -> ClosedFileError:
        return ClosedFileError(
            f"HDF5ArrayAdapter: the file of the h5py.Dataset {self._name!r} of "
            f"{self._filename!r} was closed after it was wrapped; keep it open until "
            f"evaluated, or use lazyarray.open_dataset({self._filename!r}, {self._name!r})"
        )

    def _read(self, native: Key, context: EvaluationContext) -> Any:
        source = self._source
        if isinstance(source, DatasetRef):
            with files.lease(self._path, bound=context.options.max_open_files) as file:
                return self._read_from(source.open(file), native, file, context)
        try:
            return self._read_user_dataset(source, native, context)
        except Exception as error:
            if not source.id.valid:
                raise self._closed() from error
            raise

    def _read_user_dataset(self, source: h5py.Dataset, native: Key,
                           context: EvaluationContext) -> Any:
        if self._inode is None or self._direct.hopeless(source) or not context.options.direct_io:
            return self._read_from(source, native, None, context)
        # The user's dataset, read directly with a leased descriptor of its file
        # (while the path still names that file); otherwise through the dataset.
        leased: OpenFile | None
        try:
            leased = files.default_cache.acquire(self._path, "raw",
                                                 bound=context.options.max_open_files)
        except OSError:
            leased = None
        try:
            same = leased is not None and leased.identity.inode_key == self._inode
            return self._read_from(source, native, leased if same else None, context)
        finally:
            if leased is not None:
                files.default_cache.release(leased)

    def _read_from(self, dataset: h5py.Dataset, native: Key, file: OpenFile | None,
                   context: EvaluationContext) -> Any:
        """Read ``native`` of ``dataset``, directly from ``file`` (leased) where possible."""
        drop = tuple(0 if isinstance(k, int) else slice(None) for k in native)
        reader = (self._direct.reader(dataset, file)
                  if file is not None and context.options.direct_io else None)
        if reader is not None and reader.supports(native):
            out = context.read_buffer(tuple(1 if isinstance(k, int) else len(k) for k in native),
                                      reader.dtype)
            reader.read(native, out)
            return out[drop]
        if all(isinstance(k, int) or (isinstance(k, range) and k.step == 1) for k in native):
            # A plain hyperslab: read straight into a new array, skipping the
            # selection machinery of h5py's __getitem__ (a third faster on
            # whole chunks). Ints are read as length-1 slabs and dropped.
            slab = tuple(range(k, k + 1) if isinstance(k, int) else k for k in native)
            out = context.read_buffer(tuple(len(k) for k in slab), dataset.dtype)
            if out.size:
                dataset.read_direct(out, source_sel=to_native(slab))
            return out[drop]
        return dataset[to_native(native)]

    def __reduce__(self) -> tuple[Any, ...]:
        # By path and metadata: unpickling opens nothing (a worker opens the
        # file on its first read, through its own file cache), and a graph of
        # thousands of files unpickles in the time it takes to read the pickle.
        source = self._source
        if not isinstance(source, DatasetRef):
            if not os.path.isfile(self._path):
                raise TypeError(
                    f"HDF5ArrayAdapter({self._name!r}) cannot be pickled: its file "
                    f"{self._filename!r} is not on disk (an in-memory file) to open again"
                )
            refuse_closed(source, "pickling an HDF5ArrayAdapter")
            source = DatasetRef(self._path, source)
        state = {name: value for name, value in self.__dict__.items()
                 if name not in ("_direct", "_plan_models")}
        # Read by path from now on: the user's descriptor is not the unpickler's.
        state.update(_source=source, _inode=None)
        return (_restored, (type(self), state))
