"""HDF5's filter pipeline, undone on reading: deflate, shuffle and fletcher32.

A chunked dataset's chunks went through its filters in pipeline order
when they were written, each filter skipped where the chunk's filter mask
says so; reading undoes them in reverse order. Only these three filters are
decoded here (:data:`FILTER_NAMES`): datasets with any other are read
through h5py (:func:`~lazyarray.storage.hdf5.direct.unsupported_reason`).
Each decoder runs in the calling thread: ``zlib`` releases the GIL, and so
do numpy's copies that undo the shuffle.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from .checksums import check_fletcher32

__all__ = ["FILTER_NAMES", "SHUFFLE", "Filter", "pipeline", "unshuffle"]

#: HDF5 filter ids this package decodes, and their names in messages.
FILTER_NAMES = {
    h5py.h5z.FILTER_DEFLATE: "deflate",
    h5py.h5z.FILTER_SHUFFLE: "shuffle",
    h5py.h5z.FILTER_FLETCHER32: "fletcher32",
}

#: The shuffle filter's id: undone last on reading, it may write straight into the tile.
SHUFFLE = h5py.h5z.FILTER_SHUFFLE


def unshuffle(data: Any, itemsize: int, out: np.ndarray | None = None) -> Any:
    """Undo HDF5's shuffle filter: bytes grouped by position in the element.

    Into ``out`` (bytes, as many as ``data``) if given.

    Examples
    --------
    >>> unshuffle(bytes.fromhex("01030502040607"), 2).tobytes().hex()
    '01020304050607'
    """
    raw = np.frombuffer(data, np.uint8)
    n = raw.size // itemsize
    if itemsize <= 1 or n <= 1:
        if out is None:
            return data
        out[...] = raw
        return out
    if out is None:
        out = np.empty(raw.size, np.uint8)
    elements = out[: n * itemsize].reshape(n, itemsize)
    planes = raw[: n * itemsize].reshape(itemsize, n)
    # One plane at a time: numpy's inner loop then runs over the n elements,
    # not over the few bytes of one element (4 times faster than one copy).
    for j in range(itemsize):
        elements[:, j] = planes[j]
    out[n * itemsize :] = raw[n * itemsize :]  # leftover bytes are stored as they are
    return out


@dataclass(frozen=True)
class Filter:
    """One filter of a dataset's pipeline: its position, id and first parameter.

    Attributes
    ----------
    position : int
        Its place in the pipeline: bit ``position`` of a chunk's filter mask
        is set when the filter was skipped for that chunk.
    code : int
        The HDF5 filter id, one of :data:`FILTER_NAMES`.
    parameter : int or None
        Its first client value (the shuffle filter's element size).
    """

    position: int
    code: int
    parameter: int | None

    @property
    def name(self) -> str:
        return FILTER_NAMES[self.code]

    def decoder(self, itemsize: int, nbytes: int) -> Callable[[Any], Any]:
        """The function that undoes this filter for chunks of ``nbytes`` decoded
        bytes and elements of ``itemsize`` bytes."""
        if self.code == h5py.h5z.FILTER_DEFLATE:
            return lambda data: zlib.decompress(data, bufsize=max(nbytes, 1))
        if self.code == h5py.h5z.FILTER_SHUFFLE:
            size = self.parameter or itemsize
            return lambda data: unshuffle(data, size)
        return check_fletcher32


def pipeline(dataset: h5py.Dataset) -> tuple[Filter, ...]:
    """The filter pipeline HDF5 reports for ``dataset``, in pipeline order.

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "p.h5")
    >>> with h5py.File(path, "w") as f:
    ...     d = f.create_dataset("x", data=np.zeros(8, "<i4"), chunks=(4,), shuffle=True,
    ...                          compression="gzip")
    ...     [(f.name, f.parameter) for f in pipeline(d)]
    [('shuffle', 4), ('deflate', 4)]
    """
    plist = dataset.id.get_create_plist()
    return tuple(
        Filter(i, code, values[0] if values else None)
        for i, (code, _, values, _) in enumerate(
            plist.get_filter(i) for i in range(plist.get_nfilters())
        )
    )
