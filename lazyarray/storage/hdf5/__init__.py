"""HDF5 datasets read straight from the file, outside h5py's global lock.

Storage I/O below the nodes: it knows files, byte offsets, HDF5's file
format and its filters, and nothing of graphs. The HDF5 adapter
(:mod:`lazyarray.adapters.h5py_`) asks :func:`direct_reader` for a reader
of a dataset, and reads through h5py where it gets ``None``. The modules,
from the entry point down:

* :mod:`.direct`: which datasets can be read directly
  (:func:`unsupported_reason`) and their reader (:func:`direct_reader`);
  what the fast path relies on;
* :mod:`.readers`: what every reader is (:class:`DirectReader`), with
  :mod:`.contiguous` and :mod:`.chunked`, one reader per storage layout, and
  :mod:`.selection`, which chunks a key touches;
* :mod:`.filters` and :mod:`.checksums`: the filter pipeline undone
  (deflate, shuffle, fletcher32) and HDF5's checksums;
* :mod:`.facts`, :mod:`.chunkindex`: where a dataset's bytes are, as the
  file states it and h5py agrees, and the chunk index;
* :mod:`.headers`, :mod:`.btree`: HDF5's file format read from the bytes
  (superblock, object header, version 1 B-tree);
* :mod:`.handles`: file descriptors and positional reads.

Examples
--------
>>> import h5py, numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "d.h5")
>>> with h5py.File(path, "w") as f:
...     _ = f.create_dataset("x", data=np.arange(6.0), chunks=(4,), compression="gzip")
>>> reader = direct_reader(h5py.File(path, "r")["x"])
>>> out = np.empty(3)
>>> reader.read((range(2, 5),), out)
>>> out.tolist()
[2.0, 3.0, 4.0]
"""

from __future__ import annotations

from .checksums import fletcher32
from .chunked import ChunkedReader
from .chunkindex import ChunkIndex
from .contiguous import ContiguousReader
from .direct import direct_reader, unsupported_reason
from .facts import Storage, storage_facts
from .readers import DirectReader

__all__ = [
    "ChunkIndex",
    "ChunkedReader",
    "ContiguousReader",
    "DirectReader",
    "Storage",
    "direct_reader",
    "fletcher32",
    "storage_facts",
    "unsupported_reason",
]
