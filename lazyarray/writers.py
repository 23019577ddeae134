"""Writing results to new HDF5 and Zarr outputs, all or nothing.

:func:`to_hdf5` and :func:`to_zarr` create a *new* output: they write it under
a temporary name beside the destination, sync it to disk and publish it under
its name only when everything is written (see :mod:`lazyarray.publish`), so a
failed, interrupted or killed evaluation never leaves an output that looks
complete, never destroys what it did not create (a directory, another
writer's new file), and its temporary is removed by itself or, if the
process was killed, by the next write into that directory. Output chunks are
chosen so that every tile of the evaluation covers whole chunks: each chunk
is written once, whole, and (with the ``direct_io`` option) encoded in the
worker threads (see :mod:`lazyarray.encoding`).

Examples
--------
>>> import os, tempfile, h5py, numpy as np, lazyarray as la
>>> folder = tempfile.mkdtemp()
>>> a = la.asarray(np.arange(12.0).reshape(3, 4))
>>> [peak] = la.to_hdf5(os.path.join(folder, "out.h5"), {"double": a * 2},
...                     compute=[la.max(a * 2)])
>>> with h5py.File(os.path.join(folder, "out.h5"), "r") as f:
...     f["double"][:].tolist() == (np.arange(12.0).reshape(3, 4) * 2).tolist()
True
>>> float(peak)
22.0
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from . import cf
from .adapters import asarray
from .array import Array
from .encoding import hdf5_encoder
from .execution import save
from .fillvalues import written_value as written_fill_value
from .options import get_options
from .planning import make_plan
from .publish import check_destination, publishing, release_space, reserve_space
from .todask import dask_chunks, dask_scheduler

__all__ = ["output_chunks", "to_hdf5", "to_zarr"]

#: Preferred size of one output chunk, in bytes: large enough for fast I/O,
#: small enough for selective reads later (HDF5 advises about 1 MiB).
CHUNK_TARGET = 2 * 2**20


def _largest_divisor_below(n: int, below: int) -> int:
    """The largest divisor of ``n`` that is smaller than ``below`` (at least 1)."""
    best = 1
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            for candidate in (d, n // d):
                if best < candidate < below:
                    best = candidate
    return best


def output_chunks(tile: Sequence[int], itemsize: int,
                  target: int = CHUNK_TARGET) -> tuple[int, ...]:
    """Chunks of at most ``target`` bytes that tile ``tile`` exactly.

    Axes are cut from the outermost inwards, each to a divisor of the tile's
    length, so the chunks of a grid of such tiles line up with the tiles.

    Examples
    --------
    >>> output_chunks((8, 1000, 1000), 4)
    (1, 500, 1000)
    >>> output_chunks((3, 7), 8)
    (3, 7)
    """
    chunk = [max(1, n) for n in tile]
    for axis in range(len(chunk)):
        while math.prod(chunk) * itemsize > target and chunk[axis] > 1:
            chunk[axis] = _largest_divisor_below(tile[axis], chunk[axis])
    return tuple(chunk)


def _planned_chunks(nodes: Sequence[Array], extra: Sequence[Array],
                    options: Any) -> list[tuple[int, ...] | None]:
    """Output chunks for ``nodes``, aligned to the tiles the evaluation will use."""
    plan = make_plan(list(nodes) + list(extra), options,
                     in_memory=[False] * len(nodes) + [True] * len(extra))
    tiles: dict[int, tuple[int, ...]] = {}
    for step in plan.passes:
        for node in step.stores:
            tiles[id(node)] = step.tile
        for node in step.reductions:
            tiles[id(node)] = tuple(n for a, n in enumerate(step.tile) if a not in node.axes)
    chunks: list[tuple[int, ...] | None] = []
    for node in nodes:
        if node.ndim == 0 or node.size == 0:
            chunks.append(None)
        else:
            tile = tiles.get(id(node), node.shape)
            chunks.append(output_chunks(tile, node.dtype.itemsize))
    return chunks


def _block_chunks(nodes: Sequence[Array], options: Any) -> list[tuple[int, ...] | None]:
    """Output chunks for ``nodes`` evaluated on a Dask scheduler: every block of
    their Dask arrays covers whole chunks (so workers writing blocks at once
    never write one chunk together)."""
    chunks: list[tuple[int, ...] | None] = []
    for node, grid in zip(nodes, dask_chunks(nodes, options)):
        if node.ndim == 0 or node.size == 0:
            chunks.append(None)
        else:
            # The last block of an axis ends with the array: only the others count.
            tile = tuple(math.gcd(*lengths[:-1]) if len(lengths) > 1 else lengths[0]
                         for lengths in grid)
            chunks.append(output_chunks(tile, node.dtype.itemsize))
    return chunks


def _through_h5py(datasets: Sequence[Any], direct_io: bool) -> bool:
    """Whether h5py (rather than direct chunk writes) may write any of ``datasets``."""
    return any(d.chunks is not None and (not direct_io or d.dtype.kind not in "biufc"
                                         or hdf5_encoder(d) is None)
               for d in datasets)


def _largest_file(datasets: Sequence[Any]) -> int:
    """An upper bound of an HDF5 file's size holding ``datasets``, in bytes.

    Their data uncompressed (HDF5 stores a chunk raw where a filter would make
    it larger), 256 bytes of index per chunk and 1 MiB of other metadata.
    """
    total = 2**20
    for d in datasets:
        total += d.size * d.dtype.itemsize
        if d.chunks is not None:
            total += 256 * math.prod(-(-n // c) for n, c in zip(d.shape, d.chunks))
    return total


def to_hdf5(
    path: str | os.PathLike[str],
    arrays: Mapping[str, Any],
    *,
    compute: Sequence[Any] = (),
    masked: bool | None = None,
    encode: bool | Mapping[str, Any] = False,
    compression: str | None = None,
    compression_opts: Any = None,
    shuffle: bool = False,
    fletcher32: bool = False,
    overwrite: bool = False,
    scheduler: Any = "lazyarray",
    **options: Any,
) -> list[np.ndarray]:
    """Evaluate ``arrays`` into datasets of a new HDF5 file, in one evaluation.

    Parameters
    ----------
    path : path-like
        The file to create.
    arrays : mapping of str to array
        Dataset names (``"group/name"`` creates groups) and what to write.
    compute : sequence of arrays, optional
        Arrays to compute in memory in the same evaluation; returned.
    masked : bool, optional
        Whether masked points are saved as missing: written as the array's
        ``fill_value`` (in the dataset's dtype), which is recorded both as the
        dataset's HDF5 fill value and as its ``_FillValue`` attribute (the
        netCDF convention), so that ``asarray(dataset)``, netCDF4 and xarray
        read the mask back. By default (``None``) every array that is masked
        (:attr:`~lazyarray.Array.masked`) is; ``True`` also makes the
        ``compute`` results masked arrays; ``False`` writes every array plain
        (masked points hold its ``fill_value``, recorded nowhere). Unmasked
        points equal to the fill value read back masked.
    encode : bool or mapping, optional
        Store arrays encoded, as netCDF files store them (CF conventions; see
        :mod:`lazyarray.cf`): missing points as the ``_FillValue``, values
        packed with ``scale_factor`` and ``add_offset`` (rounded half to even
        for integer storage, as netCDF4 and xarray pack) into the stored
        ``dtype``, and the attributes that say so written, so that netCDF4,
        xarray and :func:`lazyarray.open_dataset` decode the data back.
        ``True``: every array with the encoding it was decoded with (a
        decoded source, or a selection, view or mosaic of decoded sources
        sharing one; see :func:`lazyarray.cf.source_encoding`). A mapping
        gives some arrays' encodings by name: ``True`` as above, or a dict of
        CF attributes and ``"dtype"`` (the stored dtype, the array's by
        default), e.g. ``{"dtype": "int16", "scale_factor": 0.01,
        "_FillValue": -32767}``. Encoded arrays are written plain, so
        ``masked=True`` cannot go with them.
    compression, compression_opts : optional
        As ``h5py.Group.create_dataset``: ``"gzip"`` (deflate, level 0-9 in
        ``compression_opts``, default 4), ``"lzf"``, or a filter number.
        ``None`` (the default) stores chunks uncompressed.
    shuffle, fletcher32 : bool, optional
        As ``h5py.Group.create_dataset``: HDF5's byte-shuffle filter (before
        compression; helps deflate on numbers whose high bytes vary
        little), and its checksum of every chunk.
    overwrite : bool, optional
        Replace an existing file at ``path`` (only once all is written, in
        one rename). A directory is never replaced.
    scheduler : str or dask.distributed.Client, optional
        ``"lazyarray"`` (the default): lazyarray's own executor. ``"threads"``,
        ``"processes"``, ``"synchronous"`` or a ``dask.distributed.Client``:
        the blocks are computed on that Dask scheduler (see
        :func:`lazyarray.save`) and written by this process into the
        temporary file as they arrive, in batches of at most
        ``memory_limit`` bytes: one process writes an HDF5 file. Chunks are
        then chosen so that every block covers whole chunks.
    **options
        Evaluation options for this call.

    Returns
    -------
    list of numpy.ndarray
        The ``compute`` results.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false (nothing is evaluated),
        or another writer created it while this one was writing (this one's
        output is removed).
    IsADirectoryError
        If ``path`` is a directory (``"out/"`` and ``"out/."`` included);
        nothing is evaluated.
    OSError
        With ``errno.ENOSPC`` when the disk is full; what was written is
        removed.

    Notes
    -----
    The file is written as ``.<name>.lazyarray-<host>-<pid>-<start>-<hex>.partial``
    beside ``path``, then it and its directory are fsynced, and it is renamed
    to ``path``: without ``overwrite`` by a rename that refuses to replace
    (``renameat2(RENAME_NOREPLACE)``, else a hard link then an unlink), so of
    several writers of one new path exactly one wins. An exception,
    ``KeyboardInterrupt`` or ``SIGTERM`` removes the temporary file before it
    is re-raised; SIGTERM (if the program has left it to its default action)
    is sent again after the clean-up, so the process still ends by it. After
    a ``SIGKILL`` or a power cut, ``path`` holds the old file or the new one,
    complete, or nothing, and the temporary left behind is removed by the
    next write into that directory (on this host, once its process is gone).

    Where h5py itself writes (``"lzf"`` and other filters lazyarray does not
    encode, or ``direct_io=False``), the space the uncompressed data could
    need is reserved before writing, and a full disk is reported then: HDF5
    cannot close a file whose writes ran out of space without crashing.

    Every tile of the evaluation covers whole chunks of the datasets, so
    with the ``direct_io`` option (the default) and no compression or gzip,
    shuffle and fletcher32 only, the worker threads cast, shuffle, compress
    and checksum each chunk, and the main thread stores the bytes with
    HDF5's direct chunk writes (see :mod:`lazyarray.encoding`). Other
    compressors go through h5py, which encodes under its global lock.

    Examples
    --------
    A masked result, saved and read back with its mask:

    >>> import os, tempfile, h5py, numpy as np, lazyarray as la
    >>> path = os.path.join(tempfile.mkdtemp(), "masked.h5")
    >>> m = np.ma.masked_array([1.5, 2.0, 4.0], mask=[0, 1, 0], fill_value=-1.0)
    >>> _ = la.to_hdf5(path, {"m": la.asarray(m) * 2})
    >>> with h5py.File(path, "r") as f:
    ...     float(f["m"].attrs["_FillValue"]), f["m"][()].tolist()
    ...     la.asarray(f["m"], masked=True).masked_array().tolist()
    (-1.0, [3.0, -1.0, 8.0])
    [3.0, None, 8.0]

    Compressed, with gzip at level 1 after shuffling the bytes:

    >>> big = la.asarray(np.arange(10000, dtype="f4").reshape(100, 100))
    >>> _ = la.to_hdf5(path, {"b": big / 2}, compression="gzip", compression_opts=1,
    ...                shuffle=True, overwrite=True)
    >>> with h5py.File(path, "r") as f:
    ...     f["b"].compression, f["b"].compression_opts, f["b"].shuffle, float(f["b"][99, 99])
    ('gzip', 1, True, 4999.5)

    Packed as 16-bit integers, and read back decoded:

    >>> t = la.asarray(np.ma.masked_array([271.25, 0.0, 288.5], mask=[0, 1, 0]))
    >>> _ = la.to_hdf5(path, {"t": t}, overwrite=True, encode={"t": {
    ...     "dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0, "_FillValue": -32767}})
    >>> with h5py.File(path, "r") as f:
    ...     f["t"][()].tolist(), float(f["t"].attrs["scale_factor"])
    ([-875, -32767, 850], 0.01)
    >>> la.open_dataset(path, "t").masked_array().tolist()
    [271.25, None, 288.5]
    """
    chosen = dask_scheduler(scheduler, "to_hdf5")
    if not isinstance(arrays, Mapping) or not arrays:
        raise TypeError("to_hdf5: arrays must be a non-empty mapping of dataset names to arrays")
    names = list(arrays)
    nodes = [asarray(arrays[name]) for name in names]
    encodings = cf.chosen_encodings(names, nodes, encode, "to_hdf5")
    if masked and any(e is not None for e in encodings):
        raise TypeError("to_hdf5: masked=True and encode both say how masked points are "
                        "written; encoded arrays store them as their _FillValue (leave masked "
                        "unset, or do not encode)")
    nodes = [node if e is None else cf.encode(node, e, f"to_hdf5: encoding {name!r}")
             for name, node, e in zip(names, nodes, encodings)]
    check_destination(path, "file", overwrite, "to_hdf5")
    extra = [asarray(a) for a in compute]
    settings = get_options(**options)
    if chosen is None:
        chunks = _planned_chunks(nodes, extra, settings)
    else:
        chunks = _block_chunks(nodes, settings)
    with publishing(path, "file", overwrite, "to_hdf5", settings.fsync) as temporary:
        reserved: int | None = None
        handle = h5py.File(temporary, "w")
        datasets: list[Any] = []
        try:
            for name, node, chunk, encoding in zip(names, nodes, chunks, encodings):
                extra_args: dict[str, Any] = {}
                if encoding is not None and encoding.fill_value is not None:
                    extra_args["fillvalue"] = encoding.fill_value
                saved_masked = node.masked if masked is None else masked
                if saved_masked:
                    # What the sink writes at masked points: numpy.ma's default
                    # fill value for int8 (999999) is written as 63, so 63 is
                    # recorded.
                    fill = written_fill_value(node.fill_value, node.dtype)
                    extra_args["fillvalue"] = fill
                if chunk:  # filters need chunks: scalars and empty arrays go without
                    extra_args.update(compression=compression,
                                      compression_opts=compression_opts,
                                      shuffle=shuffle, fletcher32=fletcher32)
                dataset = handle.create_dataset(
                    name, shape=node.shape, dtype=node.dtype, chunks=chunk, **extra_args,
                )
                if saved_masked:
                    dataset.attrs["_FillValue"] = np.asarray(fill, dtype=node.dtype)
                for key, value in (encoding.attributes() if encoding is not None
                                   else {}).items():
                    dataset.attrs[key] = value
                datasets.append(dataset)
            # On a Dask scheduler, this process writes every block through h5py.
            if _through_h5py(datasets, settings.direct_io and chosen is None):
                # HDF5 crashes closing a file after a write through its own
                # chunk cache ran out of space (HDF5 1.14, h5py 3.16): the
                # space is reserved first, so a full disk raises here.
                reserved = reserve_space(temporary, _largest_file(datasets))
            results = save(nodes, datasets, compute=extra, masked=masked, scheduler=chosen,
                           **options)
        finally:
            # Closed before any exception leaves: h5py objects kept alive by
            # a traceback must not outlive the file.
            del datasets[:]
            handle.close()
            release_space(reserved)
    return results


def to_zarr(
    path: str | os.PathLike[str],
    array: Any,
    *,
    compute: Sequence[Any] = (),
    masked: bool | None = None,
    overwrite: bool = False,
    scheduler: Any = "lazyarray",
    **options: Any,
) -> list[np.ndarray]:
    """Evaluate ``array`` into a new Zarr array at ``path`` (a directory store).

    Parameters
    ----------
    path : path-like
        The Zarr array to create.
    array : array
        What to write.
    compute : sequence of arrays, optional
        Arrays to compute in memory in the same evaluation; returned.
    masked : bool, optional
        Whether masked points are saved as missing: written as the array's
        ``fill_value`` (in its dtype), which becomes the Zarr array's own
        ``fill_value``, so ``asarray(z, masked=True)`` reads the mask back.
        By default (``None``), if the array is masked
        (:attr:`~lazyarray.Array.masked`); ``False`` writes it plain.
        No ``_FillValue`` attribute is written: Zarr's ``fill_value`` is the
        one record every Zarr reader sees, and a second copy could only
        disagree with it (readers that follow the netCDF convention can be
        told to mask Zarr's fill value). Unmasked points equal to the fill
        value read back masked.
    overwrite : bool, optional
        Replace a Zarr store (or an empty directory) at ``path``, only once
        all is written. Anything else is never replaced.
    scheduler : str or dask.distributed.Client, optional
        ``"lazyarray"`` (the default): lazyarray's own executor. ``"threads"``,
        ``"processes"``, ``"synchronous"`` or a ``dask.distributed.Client``:
        the evaluation runs on that Dask scheduler and its workers write the
        temporary store, block by block (chunks are chosen so that every
        block covers whole chunks; no lock); it is then published as below.
    **options
        Evaluation options for this call.

    Returns
    -------
    list of numpy.ndarray
        The ``compute`` results.

    Raises
    ------
    FileExistsError
        If something is at ``path`` and ``overwrite`` is false, or it is not a
        Zarr store or an empty directory (a file, a symbolic link, another
        directory), or another writer created it meanwhile.
    OSError
        With ``errno.ENOSPC`` when the disk is full; what was written is
        removed.

    Notes
    -----
    The store is written beside ``path`` under a temporary name (as in
    :func:`to_hdf5`), its files and directories are fsynced, and it is
    renamed to ``path`` by a rename that refuses to replace
    (``renameat2(RENAME_NOREPLACE)``, else an empty directory created as an
    exclusive claim, then renamed over). An existing store is replaced by
    exchanging the two in one step (``renameat2(RENAME_EXCHANGE)``), so that
    ``path`` holds the old or the new store at every instant; where the
    filesystem cannot exchange, the old store is renamed aside (to
    ``.<name>.lazyarray-...old``), the new one in, and the old one deleted. A
    process killed between those two renames leaves no store at ``path``,
    the old one aside and the new one under its temporary name; the next
    write into that directory puts the old one back. On an interrupt, an
    exception or ``SIGTERM``, Zarr's own writer threads are waited for
    before the temporary store is removed.

    Examples
    --------
    >>> import os, tempfile, zarr, numpy as np, lazyarray as la
    >>> where = os.path.join(tempfile.mkdtemp(), "out.zarr")
    >>> _ = la.to_zarr(where, la.asarray(np.arange(6)) + 1)
    >>> zarr.open_array(where)[:].tolist()
    [1, 2, 3, 4, 5, 6]

    A masked result, saved and read back with its mask:

    >>> m = la.asarray(np.ma.masked_array([1, 2, 3], mask=[1, 0, 0], fill_value=-9))
    >>> _ = la.to_zarr(where, m, overwrite=True)
    >>> z = zarr.open_array(where)
    >>> z.fill_value, z[:].tolist(), la.asarray(z, masked=True).masked_array().tolist()
    (np.int64(-9), [-9, 2, 3], [None, 2, 3])

    A directory that is not a Zarr store is never replaced:

    >>> notes = os.path.join(os.path.dirname(where), "notes")
    >>> os.mkdir(notes)
    >>> with open(os.path.join(notes, "todo.txt"), "w") as f:
    ...     _ = f.write("keep me")
    >>> la.to_zarr(notes, m, overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: to_zarr: ...notes is a directory but not a Zarr store (...); ...
    >>> os.listdir(notes)
    ['todo.txt']
    """
    chosen = dask_scheduler(scheduler, "to_zarr")
    check_destination(path, "store", overwrite, "to_zarr")
    node = asarray(array)
    extra = [asarray(a) for a in compute]
    settings = get_options(**options)
    if chosen is None:
        [chunk] = _planned_chunks([node], extra, settings)
    else:
        [chunk] = _block_chunks([node], settings)
    import zarr  # Zarr's import is slow (lazyarray.foreign): only Zarr writes need it

    with publishing(path, "store", overwrite, "to_zarr", settings.fsync) as temporary:
        target = zarr.create_array(
            store=str(temporary),
            shape=node.shape,
            dtype=node.dtype,
            chunks=chunk if chunk is not None else "auto",
            fill_value=(written_fill_value(node.fill_value, node.dtype)
                        if (node.masked if masked is None else masked) else None),
        )
        results = save([node], [target], compute=extra, masked=masked, scheduler=chosen,
                       **options)
    return results
