"""Adapters for numpy arrays and for sources indexed like numpy or orthogonally."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..array import cached_attribute
from ..indexing import Key, NativeSupport, basic_index, orthogonal_take, to_native
from .base import ArrayAdapter

if TYPE_CHECKING:
    from ..context import EvaluationContext

__all__ = ["NumpyArrayAdapter", "OrthoArrayAdapter"]


class NumpyArrayAdapter(ArrayAdapter):
    """A lazy view of a numpy array, or of any object indexed like one.

    For a ``numpy.ndarray`` (masked ones too) every key is taken in memory.
    Other sources with ``shape``, ``dtype`` and numpy-style ``__getitem__``
    (as Biggus allowed, e.g. an ``h5py.Dataset``) are asked only for what any
    such library can do: ints, slices of positive step and one increasing
    index list per read; lazyarray does the rest.

    Parameters
    ----------
    source : numpy.ndarray or array-like object
    keys : key, optional
        The adapter shows ``source[keys]`` (Biggus's meaning; see
        :class:`~lazyarray.adapters.base.ArrayAdapter`).
    masked : bool, optional
        For array-like sources whose ``__getitem__`` returns
        ``numpy.ma.MaskedArray`` data (a ``netCDF4.Variable``, say): honour
        those masks, so that masked points never enter a result. Without it,
        a read that holds masked points raises
        :class:`~lazyarray.errors.MaskedSourceError` instead of computing
        with what they hide. ``numpy.ma.MaskedArray`` sources are masked
        anyway.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.NumpyArrayAdapter(np.arange(12).reshape(3, 4))
    >>> a[[2, 0], ::-2].ndarray().tolist()
    [[11, 9], [3, 1]]
    >>> la.NumpyArrayAdapter(np.arange(12).reshape(3, 4), keys=(slice(None), [3, 0])).shape
    (3, 2)
    """

    support: ClassVar[NativeSupport] = NativeSupport.everything()

    def __init__(self, source: Any, keys: Any = (), *, masked: bool = False):
        super().__init__(source, keys)
        if masked:
            self._source_masked = True

    def _support(self) -> NativeSupport:
        if isinstance(self._source, np.ndarray):
            return self.support
        return ArrayAdapter.support

    _KEY_CACHES: ClassVar[tuple[str, ...]] = (*ArrayAdapter._KEY_CACHES, "_numpy_index")

    @cached_attribute
    def _numpy_index(self) -> tuple[Any, ...] | None:
        """The index numpy's basic indexing takes for this adapter's native
        key (found once: small evaluations read the same key again), or
        ``None`` if it holds index arrays."""
        native = self._native_and_rest[0]
        if all(isinstance(item, int) for item in native):
            # A 0-d view: ints alone give a scalar, and for a masked source
            # that scalar is np.ma.masked, whose dtype is always float64.
            return (*native, Ellipsis)
        return basic_index(native)

    def _read(self, native: Key, context: EvaluationContext) -> Any:
        if isinstance(self._source, np.ndarray):
            if native is self._native_and_rest[0]:
                index = self._numpy_index
                if index is not None:
                    return self._source[index]
            if all(isinstance(item, int) for item in native):
                return self._source[native + (Ellipsis,)]  # a 0-d view, as above
            return orthogonal_take(self._source, native)
        key = to_native(native)
        if any(isinstance(item, np.ndarray) for item in key) and any(
            isinstance(item, int) for item in key
        ):
            # numpy counts ints as index arrays too, and when they are apart
            # from the real one (a[1, :, [0, 2]]) puts the selected axis first.
            # Read ints as length-1 slices, then drop those axes.
            data = self._source[
                tuple(slice(i, i + 1) if isinstance(i, int) else i for i in key)
            ]
            return data[tuple(0 if isinstance(i, int) else slice(None) for i in key)]
        return self._source[key]


class OrthoArrayAdapter(ArrayAdapter):
    """A lazy view of a source whose ``__getitem__`` indexes orthogonally.

    Such sources (netCDF4 variables, for example) take an increasing index
    list on every axis at once; negative steps and unsorted lists are done in
    memory. ``keys`` and ``masked`` are as for :class:`NumpyArrayAdapter`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> class Ortho:
    ...     def __init__(self, a): self.a, self.shape, self.dtype = a, a.shape, a.dtype
    ...     def __getitem__(self, key): return la.indexing.orthogonal_take(
    ...         self.a, la.indexing.normalise_key(key, self.shape))
    >>> o = la.OrthoArrayAdapter(Ortho(np.arange(12).reshape(3, 4)))
    >>> o[[2, 0], [3, 1]].ndarray().tolist()
    [[11, 9], [3, 1]]
    """

    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=None, unsorted_arrays=False
    )

    def __init__(self, source: Any, keys: Any = (), *, masked: bool = False):
        super().__init__(source, keys)
        if masked:
            self._source_masked = True

    def _read(self, native: Key, context: EvaluationContext) -> Any:
        return self._source[to_native(native)]
