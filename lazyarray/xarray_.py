"""lazyarray as an xarray chunked array type: :class:`LazyArrayManager` (issue 16, point 4).

xarray finds chunk managers through the ``xarray.chunkmanagers`` entry point
(lazyarray registers this class under the name ``"lazyarray"``), so that::

    xr.open_dataset(path, chunks={}, chunked_array_type="lazyarray")
    xr.open_mfdataset(paths, chunked_array_type="lazyarray")
    da.chunk(time=10, chunked_array_type="lazyarray")

give variables backed by lazy :class:`~lazyarray.Array` nodes. Reductions,
indexing, arithmetic and ``where`` then build lazy graphs (through
``__array_function__`` and ``__array_ufunc__``), and xarray's batched calls
evaluate them together: ``Dataset.compute()``/``.load()`` ask
:meth:`LazyArrayManager.compute` for every variable at once, one
:func:`lazyarray.compute`, a single pass over the files in bounded memory;
``to_netcdf``/``to_zarr`` ask :meth:`LazyArrayManager.store` for every
variable at once, one :func:`lazyarray.save`.

Chunks are a hint. The blocks a lazy array reports (:attr:`Array.chunks`)
are the planner's, whatever xarray asked: the planner tiles each evaluation
itself, from the storage chunks and the ``chunk_bytes`` budget. So
``rechunk`` returns the array as it is, and two variables that share a
dimension may report different blocks along it (``Dataset.chunks`` then
raises xarray's "inconsistent chunks" error; ``Dataset.chunksizes`` of each
variable does not).

This module imports xarray; nothing in lazyarray imports it: xarray loads it
through the entry point.

Examples
--------
>>> import numpy as np, xarray as xr, lazyarray as la
>>> t = xr.DataArray(np.arange(12.0).reshape(4, 3), dims=("time", "x"))
>>> lazy = t.chunk(time=2, chunked_array_type="lazyarray")
>>> isinstance(lazy.data, la.Array)
True
>>> anomaly = lazy - lazy.mean("time")
>>> isinstance(anomaly.data, la.Array), anomaly.values[0].tolist()
(True, [-4.5, -4.5, -4.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

import lazyarray

from .adapters import OrthoArrayAdapter, asarray
from .array import Array
from .execution import compute as la_compute
from .execution import save
from .mapblocks import map_blocks
from .options import get_options
from .scans import cumprod, cumsum, nancumprod, nancumsum
from .views import expand_dims
from .xarraysources import stored_and_decoded

__all__ = ["LazyArrayManager", "normalize_chunks"]

#: The scans :meth:`LazyArrayManager.scan` knows, by the numpy function xarray names.
_SCANS: dict[Any, Callable[..., Array]] = {
    np.cumsum: cumsum,
    np.cumprod: cumprod,
    np.nancumsum: nancumsum,
    np.nancumprod: nancumprod,
}


#: Arguments of ``dask.array.from_array`` that xarray passes and lazyarray ignores.
_DASK_FROM_ARRAY = ("name", "lock", "inline_array", "meta", "asarray", "fancy", "getitem")


def normalize_chunks(chunks: Any, shape: tuple[int, ...], *, limit: int | None = None,
                     dtype: Any = None, previous_chunks: Any = None
                     ) -> tuple[tuple[int, ...], ...]:
    """Blocks along each axis, from what xarray asks, as ``dask.array.normalize_chunks``.

    Parameters
    ----------
    chunks : int, str, tuple or dict
        Per axis (a dict by axis number, or one value for all): a block
        length, ``-1`` or ``None`` (the whole axis; ``None`` keeps
        ``previous_chunks`` when given), a tuple of block lengths, or
        ``"auto"``: whole multiples of ``previous_chunks`` (the storage
        chunks) when given, else lengths that keep a block within ``limit``.
    shape : tuple of int
        The array's shape.
    limit : int, optional
        Largest block, in bytes, for ``"auto"``: by default lazyarray's
        ``chunk_bytes`` option.
    dtype : dtype, optional
        The array's dtype, for ``"auto"`` (float64 if not given).
    previous_chunks : tuple, optional
        The blocks (or block lengths) the source prefers, per axis.

    Returns
    -------
    tuple of tuple of int

    Examples
    --------
    >>> normalize_chunks((2, -1), (5, 3))
    ((2, 2, 1), (3,))
    >>> normalize_chunks("auto", (100, 4), limit=800, dtype="f8", previous_chunks=(10, 4))
    ((20, 20, 20, 20, 20), (4,))
    >>> normalize_chunks({0: (1, 4)}, (5, 3))
    ((1, 4), (3,))
    """
    shape = tuple(int(n) for n in shape)
    ndim = len(shape)
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(axis, chunks.get(axis - ndim, -1)) for axis in range(ndim))
    elif not isinstance(chunks, (tuple, list)):
        chunks = (chunks,) * ndim
    if len(chunks) != ndim:
        raise ValueError(f"chunks {chunks!r} has {len(chunks)} axes; the array has {ndim}")
    previous = tuple(previous_chunks) if previous_chunks is not None else (None,) * ndim
    sizes = [_preferred(p, n) for p, n in zip(previous, shape)]
    out: list[tuple[int, ...] | None] = []
    for axis, (asked, n) in enumerate(zip(chunks, shape)):
        if asked is None and previous[axis] is not None:
            asked = previous[axis]
        if asked is None or asked == -1:
            out.append((n,) if n else (0,))
        elif isinstance(asked, str):
            if asked != "auto":
                raise ValueError(f"chunks along axis {axis}: {asked!r} is neither 'auto' "
                                 "nor a length")
            out.append(None)  # decided below, knowing the others
        elif isinstance(asked, (tuple, list)):
            lengths = tuple(int(c) for c in asked)
            if sum(lengths) != n:
                raise ValueError(f"chunks along axis {axis}: {lengths} do not add up to {n}")
            out.append(lengths)
        else:
            out.append(_even(int(asked), n))
    auto = [axis for axis, given in enumerate(out) if given is None]
    if auto:
        itemsize = np.dtype(dtype if dtype is not None else "f8").itemsize
        budget = (limit or get_options().chunk_bytes) // itemsize
        for given in out:
            if given is not None:
                budget //= max(1, max(given))
        # Shortest axes first, each taking the n-th root of what is left (or
        # all of itself, leaving the rest to the longer ones).
        auto.sort(key=lambda axis: shape[axis])
        for number, axis in enumerate(auto):
            n, stored = shape[axis], sizes[axis]
            side = max(1, math.floor(max(1, budget) ** (1 / (len(auto) - number))))
            length = min(side, n)
            if stored and length:
                length = min(n, max(stored, length // stored * stored))  # whole storage chunks
            out[axis] = _even(length, n)
            budget //= max(1, length)
    return tuple(lengths for lengths in out if lengths is not None)


def _preferred(previous: Any, n: int) -> int | None:
    if previous is None:
        return None
    if isinstance(previous, (tuple, list)):
        return int(max(previous)) if previous else None
    return min(int(previous), n) if int(previous) > 0 else None


def _even(length: int, n: int) -> tuple[int, ...]:
    if n == 0:
        return (0,)
    if length <= 0:
        raise ValueError(f"a block length must be positive, not {length}")
    return (length,) * (n // length) + ((n % length,) if n % length else ())


class _Region:
    """A store target written at an offset (xarray's ``region=``), under xarray's lock."""

    def __init__(self, target: Any, region: tuple[slice, ...] | None, lock: Any):
        self.target, self.lock = target, lock
        self.region = tuple(region) if region else ()
        self.dtype = np.dtype(target.dtype)
        starts, shape = [], []
        for axis, n in enumerate(target.shape):
            key = self.region[axis] if axis < len(self.region) else slice(None)
            start, stop, _ = key.indices(n)
            starts.append(start)
            shape.append(stop - start)
        self.starts, self.shape = tuple(starts), tuple(shape)

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        moved = tuple(slice(k.start + s, k.stop + s) for k, s in zip(key, self.starts))
        if self.lock:
            with self.lock:
                self.target[moved] = value
        else:
            self.target[moved] = value


class LazyArrayManager(ChunkManagerEntrypoint[Any]):
    """xarray's interface to lazyarray: lazy :class:`~lazyarray.Array` nodes as chunked arrays.

    Registered under the ``xarray.chunkmanagers`` entry point as
    ``"lazyarray"``: pass ``chunked_array_type="lazyarray"`` to
    ``open_dataset``, ``open_mfdataset`` or ``.chunk()``. See the module
    docstring for what chunks mean here.
    """

    available: bool = True
    array_cls: type[Any]

    def __init__(self) -> None:
        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, Array)

    def chunks(self, data: Array) -> Any:
        """The planner's blocks (:attr:`lazyarray.Array.chunks`)."""
        return data.chunks

    def normalize_chunks(self, chunks: Any, shape: tuple[int, ...] | None = None,
                         limit: int | None = None, dtype: Any = None,
                         previous_chunks: Any = None) -> Any:
        """See :func:`normalize_chunks`."""
        if shape is None:
            raise ValueError("lazyarray: normalize_chunks needs the shape")
        return normalize_chunks(chunks, shape, limit=limit, dtype=dtype,
                                previous_chunks=previous_chunks)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Array:
        """A lazy array over ``data``; reads nothing. ``chunks`` is a hint only.

        xarray's lazily indexed backend arrays index orthogonally ("outer"
        indexing), as lazyarray does: they become an
        :class:`~lazyarray.OrthoArrayAdapter`, except those of netCDF-4 files
        that lazyarray can read itself: their stored values are read by
        lazyarray's readers and xarray's own decoding functions applied to
        each tile (:func:`lazyarray.xarraysources.stored_and_decoded`). Lazy arrays are returned as
        they are, numpy arrays wrapped. ``masked=True`` reads masked arrays
        from the source (xarray's decoded data is not masked but NaN-filled).
        Dask's ``name``, ``lock``, ``inline_array``, ``meta``, ``asarray``,
        ``fancy`` and ``getitem``, which xarray may pass, are ignored
        (xarray's backend arrays hold their file's lock when they read).
        """
        masked = bool(kwargs.pop("masked", False))
        for ignored in _DASK_FROM_ARRAY:
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"lazyarray: from_array takes no {', '.join(sorted(kwargs))}")
        if isinstance(data, Array):
            return data
        if isinstance(data, np.ndarray):
            return asarray(data, masked=masked)
        if type(data).__module__.startswith("xarray."):
            direct = None if masked else stored_and_decoded(data)
            return direct if direct is not None else OrthoArrayAdapter(data, masked=masked)
        return asarray(data, masked=masked)

    def rechunk(self, data: Array, chunks: Any, **kwargs: Any) -> Array:
        """``data`` itself: the planner tiles each evaluation (chunks are a hint)."""
        return data

    def compute(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Every lazy array of ``data`` in one evaluation (:func:`lazyarray.compute`).

        ``kwargs`` are lazyarray's evaluation options (``chunk_bytes``,
        ``workers``, ...); other values are returned as they are.
        """
        lazy = [d for d in data if isinstance(d, Array)]
        values = iter(la_compute(*lazy, **kwargs)) if lazy else iter(())
        return tuple(next(values) if isinstance(d, Array) else np.asarray(d) for d in data)

    def persist(self, *data: Any, **kwargs: Any) -> tuple[Array, ...]:
        """Computed in one evaluation, and kept in memory as lazy arrays.

        The results are :class:`~lazyarray.NumpyArrayAdapter` nodes over
        the computed values: still this chunked type (as Dask's ``persist``
        keeps Dask arrays), so what is built on them stays lazy and reads
        memory, not the files.
        """
        return tuple(asarray(value) for value in self.compute(*data, **kwargs))

    @property
    def array_api(self) -> Any:
        """The ``lazyarray`` namespace, whose ``full`` and ``arange`` take (and
        ignore) dask's ``chunks``: xarray's ``full_like``/``zeros_like``/``ones_like``
        call them."""
        return _NAMESPACE

    def reduction(self, arr: Array, func: Callable[..., Any],
                  combine_func: Callable[..., Any] | None = None,
                  aggregate_func: Callable[..., Any] | None = None,
                  axis: int | Sequence[int] | None = None, dtype: Any = None,
                  keepdims: bool = False) -> Array:
        """A user reduction, as ``dask.array.reduction``, with each call seeing
        the whole of the reduced axes.

        ``func(block, axis=, keepdims=True)`` then ``aggregate_func(...,
        axis=, keepdims=False)`` run on blocks whole along ``axis`` (and
        cut along the others; :func:`lazyarray.map_blocks` with
        ``drop_axis``): no tree of partial results, so a block holds whole
        reduced axes. ``combine_func`` is not needed.
        """
        if dtype is None:
            raise TypeError("lazyarray: reduction needs dtype")
        axes = tuple(range(arr.ndim)) if axis is None else (
            (axis,) if isinstance(axis, int) else tuple(axis))
        axes = tuple(sorted(a % arr.ndim for a in axes))
        aggregate = aggregate_func or func
        result = map_blocks(_reduce_block, arr, dtype=dtype, drop_axis=axes,
                            reduce=func, aggregate=aggregate, axes=axes)
        return expand_dims(result, axes) if keepdims else result

    def scan(self, func: Callable[..., Any], binop: Callable[..., Any], ident: float,
             arr: Array, axis: int | None = None, dtype: Any = None,
             **kwargs: Any) -> Array:
        """numpy's ``cumsum``, ``cumprod`` and their ``nan`` forms, as :class:`lazyarray.Scan`.

        Raises
        ------
        TypeError
            For any other scan function (xarray's ``ffill``/``bfill`` among
            them): lazyarray has no general scan.
        """
        scan = _SCANS.get(func)
        if scan is None:
            raise TypeError(f"lazyarray: no lazy scan for {getattr(func, '__name__', func)!r}; "
                            "lazyarray scans with numpy's cumsum, cumprod, nancumsum and "
                            "nancumprod only (load the data first for others)")
        return scan(arr, axis=axis, dtype=dtype)

    def apply_gufunc(self, func: Callable[..., Any], signature: str, *args: Any,
                     axes: Any = None, axis: Any = None, keepdims: bool = False,
                     output_dtypes: Sequence[Any] | None = None,
                     output_sizes: dict[str, int] | None = None,
                     vectorize: bool | None = None, allow_rechunk: bool = False,
                     meta: Any = None, **kwargs: Any) -> Any:
        """``func`` over the blocks of ``args``, for signatures with one output
        whose core dimensions are none, or those of every input.

        Core dimensions are the last axes (xarray puts them there); every
        call sees them whole: dropped (``(i)->()``) or kept (``(i)->(i)``).

        Raises
        ------
        TypeError
            For other signatures (several outputs, new or resized core
            dimensions), and for ``axes``/``axis``/``keepdims``: lazyarray
            has no general gufunc.
        """
        inputs, outputs = _parse_signature(signature)
        if len(outputs) != 1 or axes is not None or axis is not None or keepdims:
            raise TypeError(f"lazyarray: apply_gufunc supports one output and no axes/axis/"
                            f"keepdims, not signature {signature!r}")
        core = inputs[0] if inputs else ()
        if any(dims != core for dims in inputs) or outputs[0] not in ((), core):
            raise TypeError(f"lazyarray: apply_gufunc needs the same core dimensions on every "
                            f"input and none or the same on the output, not {signature!r}")
        if not output_dtypes:
            raise TypeError("lazyarray: apply_gufunc needs output_dtypes")
        if vectorize:
            func = np.vectorize(func, signature=signature, otypes=list(output_dtypes))
        arrays = [a if isinstance(a, Array) else asarray(a) for a in args]
        ndim = max(a.ndim for a in arrays)
        ncore = len(core)
        if outputs[0]:
            first = arrays[0]
            if first.ndim != ndim:
                raise TypeError("lazyarray: apply_gufunc with kept core dimensions needs the "
                                "first input to have every loop dimension")
            loops = first.chunks[: ndim - ncore]
            whole = tuple((n,) for n in first.shape[ndim - ncore:])
            return map_blocks(func, *arrays, dtype=output_dtypes[0], chunks=loops + whole,
                              **kwargs)
        drop = tuple(range(ndim - ncore, ndim))
        return map_blocks(func, *arrays, dtype=output_dtypes[0], drop_axis=drop, **kwargs)

    def map_blocks(self, func: Callable[..., Any], *args: Any, dtype: Any = None,
                   chunks: Any = None, drop_axis: Any = None, new_axis: Any = None,
                   **kwargs: Any) -> Array:
        """:func:`lazyarray.map_blocks` (dask's meaning); ``name``, ``token``
        and ``meta`` are ignored."""
        for ignored in ("name", "token", "meta"):
            kwargs.pop(ignored, None)
        if dtype is None:
            raise TypeError("lazyarray: map_blocks needs dtype (it does not call func to guess)")
        return map_blocks(func, *args, dtype=dtype, chunks=chunks,
                          drop_axis=() if drop_axis is None else drop_axis,
                          new_axis=() if new_axis is None else new_axis, **kwargs)

    def blockwise(self, func: Callable[..., Any], out_ind: Iterable[Any], *args: Any,
                  name: str | None = None, token: Any = None, dtype: Any = None,
                  adjust_chunks: Any = None, new_axes: Any = None, align_arrays: bool = True,
                  concatenate: bool | None = None, meta: Any = None, **kwargs: Any) -> Array:
        """Dask's ``blockwise`` where every array has the output's indices in
        the output's order (an elementwise map of blocks): as :meth:`map_blocks`.

        Raises
        ------
        TypeError
            For contractions, transpositions, new axes or adjusted chunks.
        """
        out = tuple(out_ind)
        arrays, indices = list(args[::2]), list(args[1::2])
        if adjust_chunks or new_axes or any(
                ind is not None and tuple(ind) != out[len(out) - len(tuple(ind)):]
                for ind in indices):
            raise TypeError("lazyarray: blockwise supports only arrays indexed as the output "
                            f"(a map of blocks), not {indices} -> {out}")
        if dtype is None:
            raise TypeError("lazyarray: blockwise needs dtype")
        return map_blocks(func, *arrays, dtype=dtype, **kwargs)

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict[Any, Any], list[Any]]:
        """The arrays as they are, with their blocks by index: the planner
        aligns the arrays of an evaluation itself."""
        arrays, indices = list(args[::2]), list(args[1::2])
        chunks: dict[Any, Any] = {}
        for array, ind in zip(arrays, indices):
            if ind is not None and isinstance(array, Array):
                for index, lengths in zip(ind, array.chunks):
                    chunks.setdefault(index, lengths)
        return chunks, arrays

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        """Every source into its target in one evaluation (:func:`lazyarray.save`).

        ``regions`` (xarray's ``region=``) are offsets in the targets;
        ``lock`` is held around each write (netCDF4 and HDF5 are not
        thread-safe). ``kwargs`` are lazyarray's evaluation options.

        Raises
        ------
        TypeError
            For ``compute=False``: lazyarray has no delayed store.
        """
        lock, regions = kwargs.pop("lock", None), kwargs.pop("regions", None)
        kwargs.pop("flush", None)
        if not kwargs.pop("compute", True):
            raise TypeError("lazyarray: store(compute=False) is not supported (lazyarray has "
                            "no delayed writes): write with compute=True (the default)")
        if isinstance(sources, Array) or not isinstance(sources, (list, tuple)):
            sources, targets = [sources], [targets]
            regions = [regions] if regions is not None else None
        if regions is None:
            regions = [None] * len(sources)
        elif isinstance(regions, tuple):
            regions = [regions] * len(sources)
        wrapped = [_Region(t, r, lock) for t, r in zip(targets, regions)]
        save([asarray(s) for s in sources], wrapped, **kwargs)

    def get_auto_chunk_size(self) -> int:
        """lazyarray's ``chunk_bytes`` option, in bytes."""
        return int(get_options().chunk_bytes)


class _Namespace:
    """``lazyarray``'s functions, with ``full`` and ``arange`` as xarray calls them."""

    @staticmethod
    def full(shape: Any, fill_value: Any, dtype: Any = None, chunks: Any = None,
             **kwargs: Any) -> Array:
        return lazyarray.full(shape, fill_value, dtype)

    @staticmethod
    def arange(*args: Any, chunks: Any = None, dtype: Any = None, **kwargs: Any) -> Array:
        return asarray(np.arange(*args, dtype=dtype))

    def __getattr__(self, name: str) -> Any:
        return getattr(lazyarray, name)


_NAMESPACE = _Namespace()


def _reduce_block(block: np.ndarray, *, reduce: Callable[..., Any],
                  aggregate: Callable[..., Any], axes: tuple[int, ...]) -> np.ndarray:
    partial = reduce(block, axis=axes, keepdims=True)
    return np.asarray(aggregate(partial, axis=axes, keepdims=False))


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Core dimensions of a gufunc signature's inputs and outputs.

    >>> _parse_signature("(i),()->(i)")
    ([('i',), ()], [('i',)])
    """
    left, _, right = signature.replace(" ", "").partition("->")

    def parts(side: str) -> list[tuple[str, ...]]:
        groups = side[1:-1].split("),(") if side else []
        return [tuple(d for d in group.split(",") if d) for group in groups]

    return parts(left), parts(right)

