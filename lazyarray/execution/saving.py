"""``save``: streaming results into targets, masked points written as each target's fill value."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from ..adapters import record_fill_value, target_fill_value
from ..array import Array
from ..elementwise import Elementwise
from ..fillvalues import same_scalar, written_value
from ..options import get_options
from ..todask import dask_scheduler
from .evaluate import as_nodes, evaluate
from .sinks import check_targets


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.asarray(values).astype(dtype)


def _refill(values: np.ndarray, dtype: np.dtype, fill: Any) -> np.ndarray:
    # Cast first: the target's fill value may not fit the source's dtype
    # (int8 data into an int16 target declaring -9999).
    data = np.ma.getdata(values).astype(dtype)
    np.copyto(data, fill, where=np.ma.getmaskarray(values))
    return data


def save(sources: Sequence[Any], targets: Sequence[Any], *, compute: Sequence[Any] = (),
         masked: bool | None = None, scheduler: Any = "lazyarray",
         **options: Any) -> list[np.ndarray]:
    """Stream each source into its target, in as few passes as possible.

    Parameters
    ----------
    sources : sequence of arrays
        What to write.
    targets : sequence
        One per source: anything with ``shape``, ``dtype`` and
        ``__setitem__`` (``numpy.ndarray``, ``h5py.Dataset``, ``zarr.Array``).
    compute : sequence of arrays, optional
        Arrays to compute in memory in the same evaluation (statistics of
        what is saved, say); they share its reads.
    masked : bool, optional
        Whether masked points are saved as missing: written as the fill value
        each target declares, which is recorded if it declares none (see
        below), so that reading it back masked (``asarray``, netCDF4,
        xarray) gives the mask again. By default (``None``), each source that
        is masked (:attr:`~lazyarray.Array.masked`) is. ``True`` also makes
        the ``compute`` results masked arrays. ``False`` writes every source
        plain: masked points hold its ``fill_value`` and nothing records it.
    scheduler : str or dask.distributed.Client, optional
        ``"lazyarray"`` (the default): lazyarray's own executor. ``"threads"``,
        ``"processes"``, ``"synchronous"`` or a ``dask.distributed.Client``:
        the evaluation runs on that Dask scheduler (:func:`lazyarray.to_dask`).
        Zarr targets in a store the workers see (a directory, fsspec) whose
        chunks the blocks cover whole are written by the workers, block by
        block; every other target (HDF5 datasets, ndarrays) by this process,
        as the blocks arrive, in batches of at most ``memory_limit`` bytes.
    **options
        Evaluation options for this call.

    Returns
    -------
    list of numpy.ndarray
        The ``compute`` results.

    Raises
    ------
    lazyarray.ShapeError, lazyarray.DTypeError
        Before anything is written, for a target whose shape differs from its
        source's, whose dtype the source cannot be cast to (same kind), or
        (masked) whose declared fill value is not a value of its dtype.

    Notes
    -----
    The fill value of a target that a source is saved masked into is what
    reading it with ``masked=True`` would take
    (:func:`lazyarray.adapters.target_fill_value`):

    * an ``h5py.Dataset``: its ``_FillValue`` attribute, else its first
      ``missing_value``, else the fill value it was created with. If it has
      no ``_FillValue`` attribute, one is recorded (in its dtype) before
      writing: the value its masked points are written as.
    * a ``zarr.Array``: its ``_FillValue`` attribute, else its first
      ``missing_value``, else its own ``fill_value``. Nothing is recorded:
      Zarr's ``fill_value`` is set when the array is created.
    * anything else: none; masked points hold the source's ``fill_value``.

    Unmasked points that happen to equal the fill value read back as masked,
    as with any file that marks missing points by value.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = la.asarray(np.arange(6.0).reshape(2, 3))
    >>> out = np.zeros((2, 3))
    >>> [m] = la.save([a * 2], [out], compute=[la.max(a * 2)])
    >>> out.tolist(), float(m)
    ([[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]], 10.0)

    A masked result saved into a Zarr array whose fill value is -1 (masked
    sources are saved masked by default):

    >>> import zarr
    >>> m = la.asarray(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], fill_value=99))
    >>> z = zarr.create_array({}, shape=(3,), dtype="i8", fill_value=-1)
    >>> _ = la.save([m], [z])
    >>> z[:].tolist(), la.asarray(z, masked=True).masked_array().tolist()
    ([1, -1, 3], [1, None, 3])
    """
    chosen = dask_scheduler(scheduler, "save")
    nodes = as_nodes(sources, "save")
    targets = list(targets)
    check_targets(nodes, targets, "save")
    extra = as_nodes(compute, "save")
    saved_masked = [node.masked if masked is None else masked for node in nodes]
    if any(saved_masked):
        def refilled(node: Array, fill: Any, dtype: np.dtype) -> Array:
            """``node`` cast to ``dtype``, masked points set to ``fill``, nothing masked."""
            # Functions of the module: the node pickles (Dask's schedulers).
            return Elementwise(partial(_cast, dtype=dtype), [node],
                               masked_func=partial(_refill, dtype=dtype, fill=fill), name="save")

        # Every target's fill value is found (and checked) before anything is
        # written to any of them.
        fills = [target_fill_value(target) if wanted else None
                 for target, wanted in zip(targets, saved_masked)]
        for number, (node, target, fill) in enumerate(zip(nodes, targets, fills)):
            if not saved_masked[number]:
                continue
            dtype = np.dtype(target.dtype)
            # What the sink writes for a masked point: the source's fill value
            # in its own dtype, then cast to the target's.
            written = written_value(written_value(node.fill_value, node.dtype), dtype)
            if fill is None:
                fill = written
            elif not same_scalar(fill, written):
                nodes[number] = refilled(node, fill, dtype)
            fills[number] = fill
    results = evaluate(nodes + extra, list(targets) + [None] * len(extra), bool(masked),
                        get_options(**options), scheduler=chosen)
    if any(saved_masked):
        # Recorded once the data is written: a failed save leaves no metadata
        # claiming that the target holds masked data.
        for target, fill, wanted in zip(targets, fills, saved_masked):
            if wanted:
                record_fill_value(target, fill)
    return results[len(nodes):]  # type: ignore[return-value]
