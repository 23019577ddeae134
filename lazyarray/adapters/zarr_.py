"""The adapter for Zarr arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..foreign import is_zarr_array
from ..indexing import Key, NativeSupport, to_native
from .base import ArrayAdapter
from .missingvalues import resolve_masking
from .zarrdirect import DirectZarrReader, direct_reader

if TYPE_CHECKING:
    import zarr

    from ..context import EvaluationContext

__all__ = ["ZarrArrayAdapter"]


class ZarrArrayAdapter(ArrayAdapter):
    """A lazy view of a Zarr array.

    Zarr indexes orthogonally (``oindex``) with index arrays in any order on
    every axis; only negative steps are done in memory. Zarr arrays pickle by
    their store, so graphs over them can be evaluated in another process.

    With the ``direct_io`` option (the default), arrays in a local store
    whose codecs numcodecs decodes exactly are read chunk by chunk and decoded
    in the evaluation's worker threads, into the tile's buffer (see
    :mod:`lazyarray.adapters.zarrdirect`); the values are those Zarr reads.

    With ``masked=True``, points equal to the fill value are masked, and
    ``fill_value`` is that value: the ``fill_value`` argument, else a
    ``_FillValue`` attribute (the netCDF convention some writers carry over
    to Zarr), else the first value of a ``missing_value`` attribute (whose
    values are all masked), else the array's own ``fill_value``. A NaN fill
    value masks NaNs. Masks are computed from each tile read; building and
    indexing read nothing. See :func:`~lazyarray.adapters.missingvalues.resolve_masking`.

    Parameters
    ----------
    array : zarr.Array
    keys : key, optional
        The adapter shows ``source[keys]`` (Biggus's meaning; see
        :class:`~lazyarray.adapters.base.ArrayAdapter`).
    masked : bool, optional
        Mask points equal to the fill value (default: mask nothing).
    fill_value : scalar, optional
        The value that marks masked points, instead of what the metadata
        says; it must be a value of the array's dtype. Only with ``masked``.
    valid_range : bool or (minimum, maximum), optional
        ``True``: also mask points outside the range that ``valid_range``, or
        ``valid_min`` and ``valid_max``, attributes declare (absent ones set
        no bound). A pair gives the inclusive bounds instead (``None``:
        unbounded). Only with ``masked``.

    Raises
    ------
    TypeError
        If ``array`` is not a ``zarr.Array``, or ``fill_value`` or
        ``valid_range`` is given without ``masked``.
    lazyarray.DTypeError
        If the fill value is not a value of the array's dtype.
    ValueError
        If the valid-range attributes are malformed or contradict each other.

    Examples
    --------
    >>> import numpy as np, zarr, lazyarray as la
    >>> z = zarr.create_array({}, shape=(4, 5), chunks=(2, 5), dtype="i8")
    >>> z[:] = np.arange(20).reshape(4, 5)
    >>> a = la.ZarrArrayAdapter(z)
    >>> a.storage_chunks
    (2, 5)
    >>> a[[3, 1, 1], ::-2].ndarray().tolist()
    [[19, 17, 15], [9, 7, 5], [9, 7, 5]]

    Masking the array's own fill value, or one of the user's choosing:

    >>> f = zarr.create_array({}, shape=(4,), dtype="f4", fill_value=np.nan)
    >>> f[:2] = [1.5, 2.5]  # the rest was never written: NaN
    >>> la.ZarrArrayAdapter(f, masked=True).masked_array().mask.tolist()
    [False, False, True, True]
    >>> la.ZarrArrayAdapter(f, masked=True, fill_value=2.5).masked_array().mask.tolist()
    [False, True, False, False]
    """

    support: ClassVar[NativeSupport] = NativeSupport(
        negative_steps=False, index_arrays=None, unsorted_arrays=True
    )

    def __init__(
        self,
        array: zarr.Array,
        keys: Any = (),
        *,
        masked: bool = False,
        fill_value: Any = None,
        valid_range: bool | tuple[Any, Any] = False,
    ):
        if not is_zarr_array(array):
            raise TypeError(
                f"ZarrArrayAdapter: expected a zarr.Array, got {type(array).__name__}"
            )
        super().__init__(array, keys)
        # From the metadata only: building reads nothing.
        self._direct = direct_reader(array)
        if masked or fill_value is not None or valid_range is not False:
            self._masking = resolve_masking(
                f"ZarrArrayAdapter({str(array.store_path)!r})",
                self._dtype,
                array.attrs,
                array.fill_value,
                masked=masked,
                fill_value=fill_value,
                valid_range=valid_range,
            )

    @property
    def storage_chunks(self) -> tuple[int, ...] | None:
        # With sharding, the shard is the unit stored (and best read) whole.
        shards = self._source.shards
        return tuple(shards if shards is not None else self._source.chunks)

    @property
    def chunks_encoded(self) -> bool:
        # Zarr reads a chunk (a shard's inner chunk) whole even when it is
        # stored plain: reading part of one costs all of it, as when encoded.
        return True

    @property
    def direct(self) -> DirectZarrReader | None:
        """How tiles are read with ``direct_io``; ``None`` if always through Zarr."""
        return self._direct

    def describe_source(self) -> str:
        """The array's path and its store, for error messages.

        Examples
        --------
        >>> import zarr
        >>> z = zarr.create_array(zarr.storage.MemoryStore(), name="t/x", shape=(2,), dtype="i2")
        >>> ZarrArrayAdapter(z).describe_source().startswith("Zarr array '/t/x' of store 'memory://")
        True
        """
        array = self._source
        return f"Zarr array {'/' + array.path!r} of store {str(array.store)!r}"

    def _read(self, native: Key, context: EvaluationContext) -> Any:
        if not native:
            return self._source[()]
        if self._direct is not None and context.options.direct_io:
            return self._direct.read(native, context.read_buffer)
        return self._source.oindex[to_native(native)]
