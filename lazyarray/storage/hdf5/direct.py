"""Which HDF5 datasets are read straight from the file, and their readers.

h5py holds one lock for every HDF5 call, decompression included, so worker
threads reading through it take turns (docs/performance.md, "Reading
storage directly"). For the common storage layouts the bytes can be found
without HDF5: a chunked dataset's chunk index gives each stored chunk's
file offset, size and filter mask, and a contiguous dataset is one run of
bytes at a known offset. A :class:`~lazyarray.storage.hdf5.readers.DirectReader`
reads those bytes with ``os.preadv`` on h5py's own read-only descriptor of
the file, leased from :mod:`lazyarray.files` for each read, and decodes
them in the calling thread.

Only what HDF5 would give back byte for byte is read this way, and where
the bytes are comes from what the file states, never from bytes that look
right. What the fast path relies on:

* the sec2 (default) file driver, the file opened read-only by h5py (and
  not in SWMR mode, where a writer may add chunks the index does not know),
  and a descriptor of that very file (h5py's own, or one of the same
  device and inode);
* the base address: the location of the superblock, found by its signature
  as HDF5 finds it, whose stated base address must equal its location and
  h5py's ``userblock_size`` (HDF5 takes the location for the base and
  reports it as the user block's size); addresses and lengths of 8 bytes
  (:func:`~lazyarray.storage.hdf5.headers.read_superblock`);
* the dataset's object header, at the address HDF5 gives
  (``H5Oget_info``: the object's address in the file, relative to the base
  address, as every address stored in the file is), checked by its own
  structure, and its dataspace message, whose dimensions must be the
  dataset's (:func:`~lazyarray.storage.hdf5.headers.read_dataset_header`);
* its data layout message, whose class must be h5py's: contiguous storage
  is read at the address it states, plus the base address, and must be as
  long as the data; chunked storage must have h5py's chunk shape and the
  dtype's element size (:func:`~lazyarray.storage.hdf5.facts.storage_facts`);
* the chunk index (:mod:`~lazyarray.storage.hdf5.chunkindex`): for layout
  version 3, the version 1 B-tree the layout points to, used only if HDF5
  counts as many chunks; for other layouts, HDF5's ``chunk_iter``;
* the layout's ``DONT_FILTER_PARTIAL_BOUND_CHUNKS`` flag (versions 4 and 5):
  when set, chunks that reach past the dataset's current extent are stored,
  and read by HDF5, without filters;
* each chunk's filter mask, and the filter pipeline h5py reports: no
  filters but deflate (gzip), shuffle (its element size as stored in the
  pipeline) and fletcher32 (:mod:`~lazyarray.storage.hdf5.filters`);
* plain numeric or bool dtypes whose file type is exactly the type h5py
  makes for the dtype (so no conversion happens on reading);
* a fill value that is defined and written (unallocated chunks, and
  unallocated contiguous storage, read as it).

:func:`direct_reader` returns ``None`` for anything else (:func:`unsupported_reason`
says why for what h5py reports; a file whose statements cannot be read or
disagree gives ``None`` too); the adapter then reads through h5py.

Examples
--------
>>> import h5py, numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "d.h5")
>>> with h5py.File(path, "w", userblock_size=512) as f:
...     _ = f.create_dataset("x", data=np.arange(60.0).reshape(6, 10), chunks=(4, 4),
...                          compression="gzip", shuffle=True)
>>> reader = direct_reader(h5py.File(path, "r")["x"])
>>> out = np.empty((2, 3))
>>> reader.read((range(3, 5), range(2, 8, 2)), out)
>>> out.tolist()
[[32.0, 34.0, 36.0], [42.0, 44.0, 46.0]]
"""

from __future__ import annotations

import math

import h5py
import numpy as np

from .chunked import ChunkedReader
from .chunkindex import ChunkIndex
from .contiguous import ContiguousReader
from .facts import storage_facts
from .filters import FILTER_NAMES, pipeline
from .handles import ReadableFile, handle_file
from .headers import CONTIGUOUS
from .readers import DirectReader

__all__ = ["direct_reader", "unsupported_reason"]


def unsupported_reason(dataset: h5py.Dataset) -> str | None:
    """Why ``dataset`` cannot be read directly, or ``None`` if it can.

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("s", data=np.zeros(4, "i4,f4"))
    >>> unsupported_reason(h5py.File(path, "r")["s"])
    "dtype [('f0', '<i4'), ('f1', '<f4')] is not a plain numeric or bool dtype"
    """
    if not isinstance(dataset, h5py.Dataset):
        # A dataset known by path and name (lazyarray.adapters.h5py_): the
        # reason found when it was opened, kept with its other metadata.
        return str(dataset.unsupported_reason) if dataset.unsupported_reason else None
    if not dataset.id.valid:  # reading it raises, naming it (HDF5ArrayAdapter._read)
        return "the dataset's file was closed"
    file = dataset.file
    if file.mode != "r":
        return "the file is open for writing"
    if file.swmr_mode:
        return "the file is open for SWMR reading (a writer may add chunks)"
    if file.driver != "sec2":
        return f"the file driver is {file.driver!r}, not 'sec2'"
    dtype = dataset.dtype
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        return f"dtype {dtype} is not a plain numeric or bool dtype"
    if dtype.kind != "b" and h5py.check_enum_dtype(dtype) is not None:
        return "the dtype is an enumeration"
    if not dataset.id.get_type().equal(h5py.h5t.py_create(dtype)):
        return f"the file's type of the data is not h5py's type for {dtype}"
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    if layout not in (h5py.h5d.CHUNKED, h5py.h5d.CONTIGUOUS):
        names = {h5py.h5d.COMPACT: "compact", getattr(h5py.h5d, "VIRTUAL", -1): "virtual"}
        return f"the layout is {names.get(layout, layout)}"
    if plist.get_external_count():
        return "the data are stored in external files"
    for position in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(position)
        if code not in FILTER_NAMES:
            return f"filter {name.decode(errors='replace')!r} (id {code}) is not decoded here"
    if plist.fill_value_defined() == h5py.h5d.FILL_VALUE_UNDEFINED:
        return "the fill value is undefined"
    if plist.get_fill_time() == h5py.h5d.FILL_TIME_NEVER:
        return "the fill value is never written"
    return None


def direct_reader(dataset: h5py.Dataset, file: ReadableFile | None = None) -> DirectReader | None:
    """A reader of ``dataset``'s storage, or ``None`` if it must go through h5py.

    Reads what the file states about the dataset's storage
    (:func:`storage_facts`) and, for a chunked dataset, builds its chunk
    index (:meth:`ChunkIndex.build`). ``None`` where :func:`unsupported_reason`
    gives a reason, and where the file's statements cannot be read or
    disagree with h5py's.

    Parameters
    ----------
    dataset : h5py.Dataset
    file : optional
        The descriptor to read with (``path`` and ``fd`` attributes), of the
        very file ``dataset`` is in: an :class:`lazyarray.files.OpenFile`
        leased for the read. The reader keeps no descriptor of its own: for
        a later read with another lease of the same file, use
        ``dataclasses.replace(reader, file=...)``. Default: h5py's own
        descriptor of ``dataset``'s file, valid while that file is open.
    """
    if unsupported_reason(dataset) is not None:
        return None
    shape = tuple(int(n) for n in dataset.shape)
    if not shape or 0 in shape:
        return None  # scalars and empty datasets: nothing worth reading directly
    if file is None:
        file = handle_file(dataset)
        if file is None:
            return None
    storage = storage_facts(dataset, file.fd)
    if storage is None:
        return None
    filters = pipeline(dataset)
    fill = np.asarray(dataset.fillvalue).astype(dataset.dtype)[()]
    layout = storage.layout
    if layout.layout_class == CONTIGUOUS:
        offset = None  # nothing allocated: every point is the fill value
        if layout.address is not None:
            if layout.size != math.prod(shape) * dataset.dtype.itemsize:
                return None
            offset = storage.base + layout.address
        return ContiguousReader(file, dataset.name, shape, dataset.dtype, fill, offset)
    try:
        index = ChunkIndex.build(dataset, storage)
    except (OSError, RuntimeError, ValueError):  # an index HDF5 cannot iterate
        return None
    return ChunkedReader(file, dataset.name, shape, dataset.dtype, fill, index, filters)
