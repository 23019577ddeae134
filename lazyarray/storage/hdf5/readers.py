"""What every direct reader of an HDF5 dataset is: :class:`DirectReader`.

A reader knows one dataset's storage (where its bytes are, how they are
encoded) and fills a destination array with a normalised key's selection,
reading with a descriptor it is given (:mod:`.handles`). Two kinds exist,
one per storage layout: :class:`~lazyarray.storage.hdf5.contiguous.ContiguousReader`
and :class:`~lazyarray.storage.hdf5.chunked.ChunkedReader`;
:func:`~lazyarray.storage.hdf5.direct.direct_reader` makes the right one.

Also here, what both share: reading an exact number of bytes, the errors
they raise (:class:`~lazyarray.errors.ChunkDecodeError`, naming file,
dataset and chunk), and their per-thread scratch buffer (:func:`read_scratch`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ChunkDecodeError
from ...indexing import Key
from ...scratch import scratch_bytes

# The module, not its function: tests wrap ``handles.pread`` to count the
# bytes read, and the lookup at each call sees the wrapper.
from . import handles
from .handles import ReadableFile

__all__ = ["SCRATCH_BYTES", "DirectReader", "read_scratch"]

#: The bytes one group of chunks or rows reads through the scratch buffer at
#: most (more only when a single row of the chunk grid is bigger). Twice as
#: much is kept per thread between reads; bigger buffers are made per read.
SCRATCH_BYTES = 8 * 2**20


def read_scratch(nbytes: int) -> np.ndarray:
    """This thread's buffer for the HDF5 readers' raw bytes, ``nbytes`` long.

    A slot of :func:`lazyarray.scratch.scratch_bytes`, kept up to twice
    :data:`SCRATCH_BYTES`.

    Held by a reader only within one call of its ``read``, which asks for it
    once per group of chunks and is done with it before asking again.
    """
    return scratch_bytes(nbytes, "hdf5.read", keep=2 * SCRATCH_BYTES)


@dataclass(frozen=True, eq=False)
class DirectReader(abc.ABC):
    """Reads a dataset's storage from the file; subclasses know the layout.

    Attributes
    ----------
    file : lazyarray.storage.hdf5.handles.ReadableFile
        Where to read: ``file.fd``, a descriptor valid while the reader reads
        (the reader holds none of its own), and ``file.path``.
    dataset : str
        The dataset's name in its file, for messages.
    shape : tuple of int
    dtype : numpy.dtype
        The dataset's dtype, byte order included: what the bytes hold.
    fill_value : numpy scalar
        What unallocated storage reads as.
    """

    file: ReadableFile
    dataset: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any

    @abc.abstractmethod
    def supports(self, key: Key) -> bool:
        """Whether :meth:`read` can read ``key`` efficiently."""

    @abc.abstractmethod
    def read(self, key: Key, out: np.ndarray) -> None:
        """Read ``key`` into ``out``.

        Parameters
        ----------
        key : Key
            Normalised, with ranges of positive step and sorted, unique index
            arrays; ints select one position.
        out : numpy.ndarray
            C-contiguous, of :attr:`dtype`, one axis per key item (length 1
            for an int).
        """

    def read_exactly(self, buffer: memoryview, offset: int) -> None:
        """Fill ``buffer`` from file offset ``offset``: every system call a
        reader makes for stored data goes through here.

        Raises
        ------
        ChunkDecodeError
            If the file ends first: it is corrupt (or truncated).
        """
        if handles.pread(self.file.fd, buffer, offset) != buffer.nbytes:
            raise self._fail(
                f"the file ends before byte {offset + buffer.nbytes}, inside the stored data"
            )

    def _fail(self, what: str, chunk: tuple[int, ...] | None = None) -> ChunkDecodeError:
        return ChunkDecodeError(f"{self.file.path}: dataset {self.dataset!r}: {what}",
                                chunk=chunk)
