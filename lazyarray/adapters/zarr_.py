"""The adapter for Zarr arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import zarr

from ..indexing import Key, NativeSupport, to_native
from .base import ArrayAdapter

__all__ = ["ZarrArrayAdapter"]


class ZarrArrayAdapter(ArrayAdapter):
    """A lazy view of a Zarr array.

    Zarr indexes orthogonally (``oindex``) with index arrays in any order on
    every axis; only negative steps are done in memory. Zarr arrays pickle by
    their store, so graphs over them can be evaluated in another process.

    Parameters
    ----------
    array : zarr.Array
    keys : sequence of keys, optional

    Examples
    --------
    >>> import numpy as np, zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(4, 5), chunks=(2, 5), dtype="i8")
    >>> z[:] = np.arange(20).reshape(4, 5)
    >>> a = la.ZarrArrayAdapter(z)
    >>> a.chunks
    (2, 5)
    >>> a[[3, 1, 1], ::-2].ndarray().tolist()
    [[19, 17, 15], [9, 7, 5], [9, 7, 5]]
    """

    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=None, unsorted_arrays=True
    )

    def __init__(self, array: zarr.Array, keys: Sequence[Any] = ()):
        if not isinstance(array, zarr.Array):
            raise TypeError(
                f"ZarrArrayAdapter: expected a zarr.Array, got {type(array).__name__}"
            )
        super().__init__(array, keys)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        # With sharding, the shard is the unit stored (and best read) whole.
        shards = self._source.shards
        return tuple(shards if shards is not None else self._source.chunks)

    def _read(self, native: Key) -> Any:
        if not native:
            return self._source[()]
        return self._source.oindex[to_native(native)]
