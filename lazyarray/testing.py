"""Tools for testing code built on lazyarray, ours and our users'.

* :class:`CountingArray` records every read, to prove that an evaluation
  reads each element once, or only what a selection touches.
* :class:`InaccessibleArray` raises on any read, to prove laziness.
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
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .array import Array
from .indexing import normalise_key, orthogonal_take

__all__ = ["CountingArray", "InaccessibleArray", "assert_array_equal"]


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
