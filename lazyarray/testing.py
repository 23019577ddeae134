"""Tools for testing code built on lazyarray, ours and our users'.

* :class:`CountingArray` records every read, to prove that an evaluation
  reads each element once, or only what a selection touches.
* :class:`InaccessibleArray` raises on any read, to prove laziness.
* :func:`recording_reads` records every read any adapter makes of its source
  (HDF5, Zarr, numpy, ...) as a :class:`Read`: which source, which elements,
  how many bytes; :func:`refusing_reads` makes those reads fail instead.
  Both work on sources that cannot count for themselves, such as files.
* :func:`assert_array_equal` realises a lazy array and checks values, and that
  the declared shape and dtype are the realised ones.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> from lazyarray.testing import CountingArray, InaccessibleArray, assert_array_equal
>>> source = CountingArray(np.arange(10))
>>> assert_array_equal(la.asarray(source)[2:4] * 2, np.array([4, 6]))
>>> int(source.counts.sum())  # two elements read
2
>>> x = la.asarray(InaccessibleArray((3, 4), "f4"))
>>> (x + 1)[1:].shape  # building never reads
(2, 4)
>>> y = la.asarray(np.arange(12).reshape(3, 4))
>>> with recording_reads() as reads:
...     total = la.sum(y[1:, ::2]).ndarray()
>>> [(read.key, read.nbytes) for read in reads]  # one read, of the selection only
[((range(1, 3), range(0, 4, 2)), 32)]
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .adapters.base import ArrayAdapter, observing_reads
from .array import Array
from .indexing import Key, key_shape, normalise_key, orthogonal_take

__all__ = [
    "CountingArray",
    "InaccessibleArray",
    "Read",
    "ReadLog",
    "assert_array_equal",
    "recording_reads",
    "refusing_reads",
]


class CountingArray:
    """An array-like source that counts how often each element is read.

    Parameters
    ----------
    array : numpy.ndarray
        The data, served by ``__getitem__`` with numpy-style keys.

    Attributes
    ----------
    counts : numpy.ndarray of int64
        How many times each element has been read.
    keys : list
        Every key it was asked for, in order.
    """

    def __init__(self, array: Any):
        self._array = np.asanyarray(array)
        self.shape = self._array.shape
        self.dtype = self._array.dtype
        self.counts = np.zeros(self.shape, np.int64)
        self.keys: list[Any] = []
        self._lock = threading.Lock()

    @property
    def reads(self) -> int:
        """Number of reads so far."""
        return len(self.keys)

    def __getitem__(self, key: Any) -> Any:
        # numpy semantics with at most one index array equal orthogonal ones,
        # and that is all lazyarray asks of sources like this one.
        with self._lock:
            self.keys.append(key)
            np.add.at(self.counts, key, 1)  # unbuffered: repeated indices count twice
        return self._array[key]

    def reset(self) -> None:
        """Forget the reads so far."""
        with self._lock:
            self.counts[...] = 0
            self.keys.clear()


class InaccessibleArray:
    """An array-like source of the given shape and dtype that raises when read.

    Examples
    --------
    >>> InaccessibleArray((2,), "i4")[0]
    Traceback (most recent call last):
    ...
    AssertionError: InaccessibleArray was read with key 0
    """

    def __init__(self, shape: Any, dtype: Any):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __getitem__(self, key: Any) -> Any:
        raise AssertionError(f"InaccessibleArray was read with key {key!r}")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("InaccessibleArray was converted with __array__")


@dataclass(frozen=True)
class Read:
    """One read an adapter made of its source, as :func:`recording_reads` records it.

    Attributes
    ----------
    adapter : lazyarray.adapters.ArrayAdapter
        The adapter that read (HDF5 ones have ``filename`` and ``name``).
    key : Key
        The normalised key the adapter asked its source's library for,
        against the source's shape (ints, ranges and index arrays): what the
        library reads natively, before the adapter finishes the selection
        in memory.
    nbytes : int
        Size of the values read, in bytes (elements times item size).

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.zeros((4, 5), "f4"))
    >>> read = Read(x, (1, range(0, 5, 2)), 12)
    >>> read.shape, read.size, read.source is x.concrete
    ((3,), 3, True)
    """

    adapter: ArrayAdapter
    key: Key
    nbytes: int

    @property
    def source(self) -> Any:
        """The source read: ``adapter.concrete``."""
        return self.adapter.concrete

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the values read."""
        return key_shape(self.key)

    @property
    def size(self) -> int:
        """The number of elements read."""
        return math.prod(self.shape)


class ReadLog(Sequence[Read]):
    """The reads :func:`recording_reads` saw, in the order they began.

    A sequence of :class:`Read`; appended to from the reading threads, so
    it is safe to look at after the evaluations being watched have returned.
    """

    def __init__(self) -> None:
        self._reads: list[Read] = []
        self._lock = threading.Lock()

    def _add(self, adapter: ArrayAdapter, native: Key) -> None:
        read = Read(adapter, native, math.prod(key_shape(native)) * adapter.dtype.itemsize)
        with self._lock:
            self._reads.append(read)

    def __len__(self) -> int:
        return len(self._reads)

    @overload
    def __getitem__(self, index: int) -> Read: ...
    @overload
    def __getitem__(self, index: slice) -> list[Read]: ...
    def __getitem__(self, index: int | slice) -> Read | list[Read]:
        with self._lock:
            return self._reads[index]

    def __iter__(self) -> Iterator[Read]:
        with self._lock:
            return iter(list(self._reads))

    def __repr__(self) -> str:
        return f"ReadLog({list(self)!r})"

    @property
    def nbytes(self) -> int:
        """The bytes of every read together."""
        return sum(read.nbytes for read in self)

    def of(self, source: Any) -> list[Read]:
        """The reads of ``source`` (a source, or an adapter: then its source's)."""
        if isinstance(source, ArrayAdapter):
            source = source.concrete
        return [read for read in self if read.source is source]

    def counts(self, source: Any) -> np.ndarray:
        """How many reads of ``source`` included each of its elements.

        Parameters
        ----------
        source : object
            A source, or an adapter (then its source), with a ``shape``.

        Returns
        -------
        numpy.ndarray of int64
            Of the source's shape.

        Examples
        --------
        >>> import numpy as np, lazyarray as la
        >>> data = np.arange(6)
        >>> with recording_reads() as reads:
        ...     _ = la.ndarrays([la.asarray(data)[1:3], la.asarray(data)[2:]])
        >>> reads.counts(data).tolist()
        [0, 1, 2, 1, 1, 1]
        """
        if isinstance(source, ArrayAdapter):
            source = source.concrete
        counts = np.zeros(tuple(source.shape), np.int64)
        for read in self.of(source):
            # Orthogonal, as adapters index: one index array per axis, kept 1-d.
            positions = [np.atleast_1d(np.asarray(item, np.intp)) for item in read.key]
            np.add.at(counts, np.ix_(*positions), 1)  # unbuffered: repeats count twice
        return counts

    def clear(self) -> None:
        """Forget the reads so far."""
        with self._lock:
            self._reads.clear()


@contextlib.contextmanager
def recording_reads() -> Iterator[ReadLog]:
    """Record every read any adapter makes of its source while inside.

    Reads are recorded as they begin, in whichever thread makes them (the
    executor's workers included), through
    :func:`lazyarray.adapters.base.observing_reads`. A region that several
    results of a tile need is read once, and recorded once. Nothing is
    recorded when nothing is read: building, indexing and planning.

    Yields
    ------
    ReadLog
        The reads, appended to while inside.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> data = np.arange(20.0).reshape(4, 5)
    >>> x = la.asarray(data)
    >>> with recording_reads() as reads:
    ...     lazy = la.mean(x[:, [4, 1]], axis=0)  # reads nothing
    ...     assert len(reads) == 0
    ...     mean = lazy.ndarray()
    >>> reads.nbytes, reads.counts(x)[0].tolist()  # 2 columns of 4 float64
    (64, [0, 1, 0, 0, 1])
    """
    log = ReadLog()
    with observing_reads(log._add):
        yield log


@contextlib.contextmanager
def refusing_reads(*sources: Any) -> Iterator[None]:
    """Make every read of ``sources`` (all sources, if none are given) raise while inside.

    The :class:`InaccessibleArray` of sources that exist, such as files: to
    prove that building, indexing or planning reads nothing.

    Parameters
    ----------
    *sources : object
        Sources, or adapters (then their sources); reads of others proceed.

    Raises
    ------
    AssertionError
        From the read, naming the source and the elements asked for.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> x = la.asarray(np.arange(10))
    >>> with refusing_reads(x):
    ...     lazy = la.sum(x[::2] * 2)
    ...     lazy.ndarray()
    Traceback (most recent call last):
    ...
    AssertionError: read while reads are refused; reading a source of type ndarray, elements [0:10:2]
    """
    refused = {id(s.concrete if isinstance(s, ArrayAdapter) else s) for s in sources}

    def refuse(adapter: ArrayAdapter, native: Key) -> None:
        if not refused or id(adapter.concrete) in refused:
            # The read tells where: which source, which elements.
            raise AssertionError("read while reads are refused")

    with observing_reads(refuse):
        yield


def orthogonal_index(array: np.ndarray, key: Any) -> np.ndarray:
    """numpy's result of indexing ``array`` orthogonally by ``key`` (no ``None``).

    Examples
    --------
    >>> orthogonal_index(np.arange(6).reshape(2, 3), ([1, 0], [2, 2])).tolist()
    [[5, 5], [2, 2]]
    """
    return orthogonal_take(array, normalise_key(key, array.shape))


def assert_array_equal(actual: Any, expected: Any, masked: bool | None = None) -> None:
    """Realise ``actual`` and check it equals ``expected`` in values, shape and dtype.

    For a lazy ``actual``, the declared shape and dtype must equal both the
    realised ones and ``expected``'s. NaNs compare equal. With ``masked``
    (the default when ``expected`` is a masked array), masks must match and
    values are compared where unmasked.

    Examples
    --------
    >>> import lazyarray as la
    >>> assert_array_equal(la.ones(2, dtype="i1"), np.ones(2, "i1"))
    >>> assert_array_equal(la.ones(2), np.ones(2, "i1"))
    Traceback (most recent call last):
    ...
    AssertionError: dtype: float64 (realised float64), expected int8
    """
    expected_is_masked = isinstance(expected, np.ma.MaskedArray)
    masked = expected_is_masked if masked is None else masked
    if isinstance(actual, Array):
        realised = actual.masked_array() if masked else actual.ndarray()
        declared_shape, declared_dtype = actual.shape, actual.dtype
    else:
        realised = np.ma.asarray(actual) if masked else np.asarray(actual)
        declared_shape, declared_dtype = realised.shape, realised.dtype
    expected = np.ma.asarray(expected) if masked else np.asarray(expected)
    if declared_shape != realised.shape or realised.shape != expected.shape:
        raise AssertionError(
            f"shape: {declared_shape} (realised {realised.shape}), expected {expected.shape}"
        )
    if declared_dtype != realised.dtype or realised.dtype != expected.dtype:
        raise AssertionError(
            f"dtype: {declared_dtype} (realised {realised.dtype}), expected {expected.dtype}"
        )
    if masked:
        np.testing.assert_array_equal(np.ma.getmaskarray(realised), np.ma.getmaskarray(expected))
        keep = ~np.ma.getmaskarray(expected)
        np.testing.assert_array_equal(np.ma.getdata(realised)[keep], np.ma.getdata(expected)[keep])
    else:
        np.testing.assert_array_equal(realised, expected)
