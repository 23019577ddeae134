"""``ArrayAdapter``: a lazy view of a concrete source through one composed key.

An adapter holds its source and a normalised key. Indexing an adapter composes
keys and reads nothing. Reading splits the key (:func:`decompose_key`) into
what the source's library does natively and an in-memory rest, so every key
works on every source and reads stay within the selection's bounding box.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..array import Array, default_fill_value
from ..indexing import (
    Key,
    NativeSupport,
    compose_keys,
    decompose_key,
    full_key,
    is_full,
    key_shape,
    key_token,
    normalise_key,
    orthogonal_take,
)
from ..tilecache import cached_read

__all__ = ["ArrayAdapter"]


class ArrayAdapter(Array):
    """Base class of adapters: a concrete source seen through a key.

    Subclasses set :attr:`support` and implement :meth:`_read`.

    Parameters
    ----------
    source : object
        Anything with ``shape``, ``dtype`` and ``__getitem__``.
    keys : sequence of keys, optional
        Keys applied one after the other to ``source`` (Biggus's meaning).
    """

    #: What the source's library indexes natively; the rest is done in memory.
    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=1, unsorted_arrays=False
    )

    def __init__(self, source: Any, keys: Sequence[Any] = ()):
        for attribute in ("shape", "dtype", "__getitem__"):
            if not hasattr(source, attribute):
                raise TypeError(
                    f"{type(self).__name__}: source must have shape, dtype and "
                    f"__getitem__; {type(source).__name__} has no {attribute}"
                )
        self._source = source
        self._source_shape = tuple(int(n) for n in source.shape)
        dtype = np.dtype(source.dtype)
        # h5py reports explicit little-endian dtypes ('<f4'); show them as numpy does.
        self._dtype = dtype.newbyteorder("=") if dtype.isnative else dtype
        key = full_key(self._source_shape)
        for k in keys:
            key = compose_keys(key, normalise_key(k, key_shape(key)))
        self._set_key(key)

    def _set_key(self, key: Key) -> None:
        self._key = key
        self._shape = key_shape(key)

    @property
    def concrete(self) -> Any:
        """The wrapped source (Biggus's name)."""
        return self._source

    @property
    def key(self) -> Key:
        """The normalised key, against the source's shape, that this adapter shows."""
        return self._key

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        if isinstance(self._source, np.ma.MaskedArray):
            return self._source.fill_value
        return default_fill_value(self._dtype)

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    def __copy__(self) -> ArrayAdapter:
        # Not copy.copy's default, which goes through __reduce__: subclasses
        # that pickle by reference (HDF5: file path and dataset name) would
        # reopen the file on every index, and fail for in-memory files.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def _index(self, key: Key) -> Array:
        view = copy.copy(self)
        view._set_key(compose_keys(self._key, key))
        return view

    def _support(self) -> NativeSupport:
        """What this adapter's source indexes natively."""
        return self.support

    @abc.abstractmethod
    def _read(self, native: Key) -> Any:
        """Read ``native`` (a key :attr:`support` allows) from the source."""

    def _evaluate(self, masked: bool) -> np.ndarray:
        # Within one tile of an evaluation, results that need the same region
        # of the same source share one read.
        data = cached_read((id(self._source), key_token(self._key)), self._read_key)
        if masked:
            return np.ma.MaskedArray(data, fill_value=self.fill_value, copy=False)
        if isinstance(data, np.ma.MaskedArray):
            return data.filled(self.fill_value)
        return data

    def _read_key(self) -> Any:
        """Read what :attr:`key` selects, as an ndarray (masked if the source is)."""
        if 0 in self._shape:
            data: Any = np.empty(self._shape, self._dtype)
        else:
            native, rest = decompose_key(self._key, self._support())
            data = self._read(native)
            if not isinstance(data, np.ndarray):
                data = np.asarray(data, dtype=self._dtype)
            if not is_full(rest, data.shape):
                data = orthogonal_take(data, rest)
        return data

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f" source={type(self._source).__name__}>"
