"""Benchmarks of lazyarray against a hand-written numpy loop, Dask and raw reads (``make bench``).

Workloads, on float32 arrays of ``(N, 1000, 1000)`` (``N = 250 * size_gb``)
stored in planes (chunks of ``(1, 1000, 1000)``) unless said otherwise:

* **a**: mean, std, min and max over axis 0 of an HDF5 dataset;
* **a-gzip**: the same of a copy of **a** compressed with gzip level 1 and
  shuffle (same chunks), so that decoding, not the loop, is the bulk of the
  work; its hand loop reads with h5py, which decodes under its global lock;
* **b**: the same from a Zarr v3 array (default codecs: zstd);
* **c**: ``(a - b) * 2.5 + 1`` of two HDF5 datasets, streamed into a new
  HDF5 dataset;
* **d**: the mean over axis 0 of a mosaic of 40 HDF5 files;
* **e**: mean, std, min, max and count over axis 0 of a copy of **a** with a
  tenth of its points (at random) set to its ``_FillValue``: masked data, with
  ``numpy.ma`` in the hand loop and ``dask.array.ma`` for Dask;
* **m**: the median over axis 0 of **a**, exact: the hand loop takes bands of
  rows across every plane (64 MB at a time) and ``np.median`` of each; Dask's
  ``da.median`` must first rechunk the axis into one chunk;
* **probe-4MB**, **probe-250KB**, **probe-40KB** (``--only probe`` for all
  three): the per-chunk overhead probe, the sum over axis 0 of the first
  ``N / 2`` planes of **a** (2 GB at the default size) stored in chunks of
  ``(1, 1000, 1000)``, ``(1, 250, 250)`` and ``(1, 100, 100)``; the summary
  gives each method's 40 KB / 4 MB time ratio;
* the layouts of issue 18 (``--only layouts`` for all), of operand a at the
  size of ``--layout-gb`` (1 GB by default: ``a.h5`` of that size is reused
  for planes), mean and std unless said: **planes-0**, **planes-12**
  (axes (1, 2)) and **planes-2** (the mean over axis 2) in planes;
  **cubes-0** and **cubes-12** in cubes (chunks ``(50, 100, 100)``);
  **contiguous-0** (unchunked HDF5); **cubes-gzip4-0** (cubes, gzip level 4
  and shuffle); **zstd-0** (Zarr v3, zstd, chunks ``(10, 500, 500)``);
  **planes-0-cold** (the page cache always cold: each run's files evicted
  first); **point-planes** and **point-cubes**, the series
  ``x[:, 500, 500]`` against h5py's ``dset[:, 500, 500]``.

Methods, each the way a user would write it:

* **raw**: only the I/O: read every storage chunk (and for **c** write every
  output plane) with h5py or zarr, computing nothing; the floor. Contiguous
  data is read in slabs of whole planes of about 4 MiB; a point series reads the chunks
  that hold it;
* **hand**: the loop a scientist writes: read a plane (a slab as deep as the
  chunks where they are deeper than a plane), accumulate float64 sums (and
  squares, running min and max); over axes that keep axis 0, reduce each
  plane with numpy in float64; for a point series, h5py's own
  ``dset[:, 500, 500]``; single-threaded. It is the reference that every
  other method's results are checked against;
* **lazyarray**: ``la.ndarrays([...], workers=...)`` (``la.to_hdf5`` for
  **c**) with the library's default kernels; **lazyarray+numba** and
  **lazyarray+numpy** pass ``kernels=`` (the default methods of **a** and
  **a-gzip**). Where numba may compile, the first call is also measured on
  its own, with an empty numba cache;
* **dask**: ``da.from_array`` with chunks equal to the storage chunks, and
  with larger chunks (``--dask-chunk-mb``), computed in one ``dask.compute``
  (``da.store`` for **c**) on the threads scheduler;
* **xarray** (the layouts): ``xr.open_dataset`` (engine h5netcdf, or zarr)
  with Dask chunks equal to the storage chunks, every statistic over the
  named dimensions in one ``xr.Dataset(...).compute()``.

lazyarray and Dask run once per worker count of ``--workers`` (``1,2,4``: a
sweep). Every measurement runs in a fresh process (``run.py --measure
WORKLOAD METHOD``), which prints one line of JSON: the seconds of the job
(files are opened and libraries imported before the clock starts), the peak
resident memory of the process and the seconds numba spent compiling within
the job. By default each workload first runs its raw read once, untimed, so
that every method finds the data in the page cache; ``--cold`` instead evicts
the workload's files from the page cache before every timed run, and
``mincore`` checks what remained resident. Data is generated into
``benchmarks/data/bench-<N>/`` the first time and reused after.

Examples
--------
Develop at a small size; the acceptance run is the default of 4 GB::

    python benchmarks/run.py --size-gb 0.25 --only a,c --repeat 1 --record -
    python benchmarks/run.py --size-gb 0.25 --only probe --cold --workers 1,2 --record -
    python benchmarks/run.py --only layouts --layout-gb 1 --workers 2 --repeat 1
    python benchmarks/run.py                     # what make bench runs

One measurement, with a profile of every thread (the lazyarray executor
works in a thread pool, which a plain cProfile of the main thread misses)::

    python benchmarks/run.py --size-gb 0.25 --measure a lazyarray+numpy --profile 25
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import ctypes.util
import importlib
import importlib.util
import json
import math
import mmap
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import datagen
import h5py
import numpy as np
import zarr

#: Where ``make bench`` appends its tables, with the machine and revision.
RESULTS = Path(__file__).with_name("RESULTS.md")
GB = 1e9
MB = 1e6
PLANE = (1000, 1000)
PLANE_BYTES = math.prod(PLANE) * 4  # float32
MOSAIC_FILES = 40
# Results are checked against the hand loop, which accumulates in float64.
RTOL = 1e-5
# Planes of the output of workload c read back to check it.
CHECK_PLANES = 16
# Seeds of the two synthetic fields (operands a and b of workload c).
SEED_A, SEED_B = 1, 2
#: Storage chunks of the per-chunk overhead probe: 4 MB, 250 KB and 40 KB of float32.
PROBE_CHUNKS = {"4MB": (1, 1000, 1000), "250KB": (1, 250, 250), "40KB": (1, 100, 100)}
#: Storage chunks of the layouts (``--only layouts``): cubes of 2 MB, Zarr chunks of 10 MB.
CUBES = (50, 100, 100)
ZARR_CHUNKS = (10, 500, 500)
#: The point whose series over axis 0 the point workloads read: ``x[:, 500, 500]``.
POINT = (500, 500)


# -- data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """Where the benchmark data of one size lives.

    Parameters
    ----------
    planes : int
        Length ``N`` of axis 0 of every array (and of the whole mosaic).
    directory : Path
    """

    planes: int
    directory: Path

    @classmethod
    def of_size(cls, size_gb: float, root: Path = datagen.DATA_DIR) -> Data:
        """The data of ``size_gb`` gigabytes (10**9 bytes) per array."""
        planes = round(size_gb * GB / PLANE_BYTES)
        if planes < MOSAIC_FILES:
            raise SystemExit(
                f"--size-gb {size_gb} gives {planes} planes; the mosaic needs at least "
                f"{MOSAIC_FILES} (--size-gb {MOSAIC_FILES * PLANE_BYTES / GB:g})"
            )
        return cls(planes, root / f"bench-{planes}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.planes,) + PLANE

    @property
    def nbytes(self) -> int:
        """Bytes of one array, in memory."""
        return self.planes * PLANE_BYTES

    @property
    def hdf5_a(self) -> Path:
        return self.directory / "a.h5"

    @property
    def hdf5_b(self) -> Path:
        return self.directory / "b.h5"

    @property
    def zarr_a(self) -> Path:
        return self.directory / "a.zarr"

    @property
    def mosaic(self) -> list[Path]:
        return [self.directory / "mosaic" / f"tile-{i:02d}.h5" for i in range(MOSAIC_FILES)]

    def mosaic_lengths(self) -> list[int]:
        """Planes of each mosaic file: ``planes`` shared as evenly as possible."""
        base, extra = divmod(self.planes, MOSAIC_FILES)
        return [base + (i < extra) for i in range(MOSAIC_FILES)]

    @property
    def hdf5_masked(self) -> Path:
        return self.directory / "masked.h5"

    @property
    def hdf5_gzip(self) -> Path:
        return self.directory / "a-gzip.h5"

    @property
    def probe_planes(self) -> int:
        """Planes of the probe: half of ``planes`` (2 GB at the default 4 GB)."""
        return max(1, self.planes // 2)

    def probe(self, size: str) -> Path:
        """The probe's file with the chunks named ``size``, a key of :data:`PROBE_CHUNKS`."""
        return self.directory / f"probe-{size}.h5"

    @property
    def hdf5_cubes(self) -> Path:
        """Operand a in cubes (chunks :data:`CUBES`), uncompressed."""
        return self.directory / "cubes.h5"

    @property
    def hdf5_contiguous(self) -> Path:
        """Operand a stored contiguously (no chunks)."""
        return self.directory / "contiguous.h5"

    @property
    def hdf5_cubes_gzip(self) -> Path:
        """Operand a in cubes, compressed with gzip level 4 and shuffle."""
        return self.directory / "cubes-gzip4.h5"

    @property
    def zarr_zstd(self) -> Path:
        """A Zarr group holding operand a as array ``tas`` in chunks :data:`ZARR_CHUNKS`."""
        return self.directory / "zstd.zarr"

    def output(self, method: str) -> Path:
        """The file a method of workload c writes (deleted after each run)."""
        return self.directory / f"out-{method}.h5"


def _model(seed: int) -> datagen.SurfaceTemperature:
    return datagen.SurfaceTemperature(datagen.Grid(*PLANE), seed=seed)


def make_hdf5(data: Data, which: str) -> None:
    """Write HDF5 operand ``which`` (``"a"`` or ``"b"``) unless it is up to date."""
    path, seed = (data.hdf5_a, SEED_A) if which == "a" else (data.hdf5_b, SEED_B)
    datagen.write_temperature_hdf5(path, _model(seed), ndays=data.planes,
                                   chunks=(1,) + PLANE, log=print)


def make_gzip(data: Data) -> None:
    """Write operand a again, compressed with gzip level 1 and shuffle, unless up to date.

    The model is deterministic, so the values are those of ``a.h5``; level 1
    is the usual choice for model output (most of the gain, the cheapest
    encoding), and shuffle groups the float32 bytes so that it compresses.
    """
    datagen.write_temperature_hdf5(data.hdf5_gzip, _model(SEED_A), ndays=data.planes,
                                   chunks=(1,) + PLANE, compression="gzip",
                                   compression_opts=1, shuffle=True, log=print)


def make_probe(data: Data, size: str) -> None:
    """Write the probe's data (the first planes of operand a) in chunks ``size``."""
    datagen.write_temperature_hdf5(data.probe(size), _model(SEED_A), ndays=data.probe_planes,
                                   chunks=PROBE_CHUNKS[size], log=print)


def make_layout(data: Data, layout: str) -> None:
    """Write operand a in one of the layouts of ``--only layouts`` unless it is up to date.

    ``layout`` is ``"planes"`` (``a.h5`` itself), ``"cubes"``, ``"contiguous"``,
    ``"cubes-gzip4"`` (level 4 and shuffle, as model output often is) or
    ``"zstd"`` (a Zarr group with dimension names, so that xarray opens it).
    The model is deterministic: every layout holds the values of ``a.h5``.
    """
    model = _model(SEED_A)
    if layout == "planes":
        make_hdf5(data, "a")
    elif layout == "cubes":
        datagen.write_temperature_hdf5(data.hdf5_cubes, model, ndays=data.planes, chunks=CUBES,
                                       log=print)
    elif layout == "contiguous":
        datagen.write_temperature_hdf5(data.hdf5_contiguous, model, ndays=data.planes,
                                       chunks=None, log=print)
    elif layout == "cubes-gzip4":
        datagen.write_temperature_hdf5(data.hdf5_cubes_gzip, model, ndays=data.planes,
                                       chunks=CUBES, compression="gzip", compression_opts=4,
                                       shuffle=True, log=print)
    elif layout == "zstd":
        zarr.open_group(data.zarr_zstd, mode="a")  # xarray opens groups, not bare arrays
        rows = datagen.slab_length(data.shape, ZARR_CHUNKS, 4)
        datagen.write_zarr(
            data.zarr_zstd / "tas", model.daily(0, data.planes, rows), shape=data.shape,
            dtype=np.float32, chunks=ZARR_CHUNKS, dimension_names=("time", "lat", "lon"),
            spec={**model.spec(), "variable": "tas", "ndays": data.planes,
                  "chunks": ZARR_CHUNKS}, log=print,
        )
    else:
        raise ValueError(f"unknown layout {layout!r}: expected planes, cubes, contiguous, "
                         "cubes-gzip4 or zstd")


def make_operands(data: Data) -> None:
    """Write both HDF5 operands of workload c unless they are up to date."""
    make_hdf5(data, "a")
    make_hdf5(data, "b")


def make_zarr(data: Data) -> None:
    """Write the Zarr copy of operand a (Zarr's default codecs) unless up to date."""
    model = _model(SEED_A)
    rows = datagen.slab_length(data.shape, (1,) + PLANE, 4)
    datagen.write_zarr(
        data.zarr_a, model.daily(0, data.planes, rows), shape=data.shape, dtype=np.float32,
        chunks=(1,) + PLANE, spec={**model.spec(), "variable": "tas", "ndays": data.planes},
        log=print,
    )


def make_mosaic(data: Data) -> None:
    """Write the 40 consecutive files of the mosaic unless up to date."""
    model = _model(SEED_A)
    start = 0
    for path, length in zip(data.mosaic, data.mosaic_lengths()):
        datagen.write_temperature_hdf5(path, model, start_day=start, ndays=length,
                                       chunks=(1,) + PLANE, log=print)
        start += length


#: Fraction of the points of workload e that are missing, and the value marking them.
MASKED_FRACTION = 0.1
FILL = np.float32(1e20)


def make_masked(data: Data) -> None:
    """Write operand a with a tenth of its points replaced by ``_FillValue`` unless present.

    The missing points are random (seeded), as failed pixels are; a file is
    written under a temporary name and renamed when complete.
    """
    if data.hdf5_masked.exists():
        return
    make_hdf5(data, "a")
    print(f"writing {data.hdf5_masked}")
    partial = data.hdf5_masked.with_suffix(".partial")
    rng = np.random.default_rng(SEED_A)
    with h5py.File(data.hdf5_a, "r") as source, h5py.File(partial, "w") as f:
        a = source["tas"]
        out = f.create_dataset("tas", shape=a.shape, dtype=a.dtype, chunks=a.chunks)
        out.attrs["_FillValue"] = FILL
        plane = np.empty(a.shape[1:], a.dtype)
        for i in range(a.shape[0]):
            a.read_direct(plane, np.s_[i])
            plane[rng.random(plane.shape) < MASKED_FRACTION] = FILL
            out.write_direct(plane, dest_sel=np.s_[i])
    partial.rename(data.hdf5_masked)


# -- jobs and methods --------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A workload with its sources open: everything a method needs to run it.

    Attributes
    ----------
    sources : tuple
        h5py datasets or Zarr arrays. For a reduction, the parts of the
        array, joined along axis 0 (one part, or the mosaic's files); for a
        save, the operands ``a`` and ``b``.
    statistics : tuple of str
        numpy's names of the reductions over ``axes`` (reductions only).
    output : Path or None
        The HDF5 file to create, with dataset ``out`` (saves only).
    workers : int
        Threads for lazyarray, Dask and xarray.
    chunk_mb : float or None
        Dask only: chunk size in megabytes (``None``: the storage chunks).
    kernels : str or None
        lazyarray only: its ``kernels`` option (``None``: the library's default).
    axes : tuple of int
        The axes the statistics reduce (``(0,)``, ``(1, 2)``, ``(2,)``...).
    store : tuple of (Path, str) or None
        xarray only: what it opens, and its engine (``"h5netcdf"`` or ``"zarr"``).
    """

    sources: tuple[Any, ...]
    statistics: tuple[str, ...] = ()
    output: Path | None = None
    workers: int = 1
    chunk_mb: float | None = None
    kernels: str | None = None
    axes: tuple[int, ...] = (0,)
    store: tuple[Path, str] | None = None

    @property
    def axis(self) -> int | tuple[int, ...]:
        """The axes as numpy takes them: an int for one axis."""
        return self.axes[0] if len(self.axes) == 1 else self.axes

    @property
    def options(self) -> dict[str, Any]:
        """lazyarray's evaluation options for this job."""
        options: dict[str, Any] = {"workers": self.workers}
        if self.kernels is not None:
            options["kernels"] = self.kernels
        return options


#: Results of a method to check, by name (numpy arrays).
Results = dict[str, Any]


def storage_chunks(source: Any) -> tuple[int, ...]:
    """The chunks of ``source``; of a contiguous HDF5 dataset (or a numpy array), one
    plane (rows of axis 0)."""
    chunks = getattr(source, "chunks", None)
    if chunks is None:
        return (1,) + tuple(source.shape[1:])
    return tuple(chunks)


def dask_chunks(source: Any, chunk_mb: float | None) -> tuple[int, ...]:
    """Dask's chunks: the storage chunks, or about ``chunk_mb`` of whole storage chunks.

    A larger chunk grows the storage chunk along the last axis first, up to
    its whole length, then along the axis before it, and so on: so that
    chunks of planes grow by whole planes, and cubes into slabs of whole rows.

    Examples
    --------
    >>> class Source:
    ...     shape, chunks, dtype = (250, 1000, 1000), (50, 100, 100), np.dtype("f4")
    >>> dask_chunks(Source, None), dask_chunks(Source, 128)
    ((50, 100, 100), (50, 600, 1000))
    >>> Source.chunks = (1, 1000, 1000)
    >>> dask_chunks(Source, 128)
    (32, 1000, 1000)
    """
    step = storage_chunks(source)
    if chunk_mb is None:
        return step
    chunks = list(step)
    target = chunk_mb * MB / source.dtype.itemsize  # elements
    for axis in reversed(range(len(chunks))):
        others = math.prod(chunks) // chunks[axis]
        want = round(target / others) // step[axis] * step[axis]
        chunks[axis] = min(source.shape[axis], max(step[axis], want))
        if chunks[axis] < source.shape[axis]:
            break
    return tuple(chunks)


def chunk_boxes(shape: Sequence[int], chunks: Sequence[int],
                point: Sequence[int | None] | None = None) -> Iterator[tuple[slice, ...]]:
    """The boxes of a chunk grid, in C order; with ``point``, those holding it.

    ``point`` gives an index per axis, ``None`` for the whole axis.

    Examples
    --------
    >>> [b[1:] for b in chunk_boxes((2, 4, 4), (2, 3, 4))]
    [(slice(0, 3, None), slice(0, 4, None)), (slice(3, 4, None), slice(0, 4, None))]
    >>> len(list(chunk_boxes((4, 9, 9), (1, 3, 3), point=(None, 5, 5))))
    4
    """
    ranges = []
    for axis, (n, c) in enumerate(zip(shape, chunks)):
        at = None if point is None else point[axis]
        starts = range(0, n, c) if at is None else [at // c * c]
        ranges.append([slice(start, min(start + c, n)) for start in starts])

    def boxes(axis: int) -> Iterator[tuple[slice, ...]]:
        if axis == len(ranges):
            yield ()
            return
        for part in ranges[axis]:
            for rest in boxes(axis + 1):
                yield (part,) + rest

    return boxes(0)


def _read_box(source: Any, box: tuple[slice, ...], buffer: np.ndarray) -> np.ndarray:
    """Read ``source[box]`` into the start of a flat reused buffer (contiguous, as
    ``read_direct`` wants), the fastest plain read."""
    shape = tuple(s.stop - s.start for s in box)
    out = buffer[: math.prod(shape)].reshape(shape)
    if isinstance(source, h5py.Dataset):
        source.read_direct(out, box)
    else:  # zarr decodes into a new array; copying it out costs little next to zstd
        out[...] = source[box]
    return out


def _raw_blocks(source: Any) -> tuple[int, ...]:
    """What the raw read reads at a time: each stored chunk; contiguous data in
    slabs of whole planes of about 4 MiB (at least one plane), the fastest read:
    the reused buffer stays in the CPU cache (1 GB of planes of 4 MB on a
    2-core machine: 0.18-0.19 s through h5py, 0.20 s in 64 MiB slabs; 0.12 s,
    against 0.18 s, with os.preadv)."""
    if getattr(source, "chunks", None) is None:
        rows = datagen.slab_length(source.shape, None, source.dtype.itemsize,
                                   max_bytes=4 * datagen.MiB)
        return (rows,) + tuple(source.shape[1:])
    return tuple(source.chunks)


def _planes(source: Any) -> Iterator[np.ndarray]:
    """The planes of ``source`` (along axis 0), as a single-threaded loop reads them.

    One plane at a time where storage chunks are one plane deep (or the data
    contiguous); otherwise a slab as deep as the chunks at a time, plane by
    plane from it, so that each chunk is read once rather than once per plane.
    """
    depth = storage_chunks(source)[0]
    if depth == 1:
        for i in range(source.shape[0]):
            yield source[i]
        return
    for start in range(0, source.shape[0], depth):
        yield from source[start:start + depth]


def _chunk_rows(source: Any) -> Iterator[slice]:
    step = source.chunks[0]
    for start in range(0, source.shape[0], step):
        yield slice(start, min(start + step, source.shape[0]))


def _read_into(source: Any, rows: slice, buffer: np.ndarray) -> np.ndarray:
    """Read ``source[rows]`` into (a view of) a reused buffer, as the fastest plain read."""
    out = buffer[: rows.stop - rows.start]
    if isinstance(source, h5py.Dataset):
        source.read_direct(out, np.s_[rows])
    else:  # zarr decodes into a new array; copying it out costs little next to zstd
        out[...] = source[rows]
    return out


def _buffer(source: Any) -> np.ndarray:
    return np.empty((source.chunks[0],) + tuple(source.shape[1:]), source.dtype)


def raw_reduce(job: Job) -> Results:
    """Read every storage chunk of every part into a reused buffer; compute nothing.

    Contiguous data is read in slabs of whole planes of about 4 MiB.
    """
    for source in job.sources:
        blocks = _raw_blocks(source)
        buffer = np.empty(math.prod(blocks), source.dtype)
        for box in chunk_boxes(source.shape, blocks):
            _read_box(source, box, buffer)
    return {}


def hand_reduce(job: Job) -> Results:
    """The single-threaded loop a scientist writes: plane by plane, float64 accumulators.

    Over axis 0 it accumulates running sums (and squares, minima, maxima);
    over axes that keep axis 0, it reduces each plane on its own (see
    :func:`hand_planewise`).
    """
    if 0 not in job.axes:
        return hand_planewise(job)
    if job.axes != (0,):
        raise ValueError(f"the hand loop reduces axis 0 alone or axes without it, "
                         f"got axes {job.axes}")
    want = set(job.statistics)
    shape = job.sources[0].shape[1:]
    total = np.zeros(shape)
    squares = np.zeros(shape) if "std" in want else None
    low = np.full(shape, np.inf) if "min" in want else None
    high = np.full(shape, -np.inf) if "max" in want else None
    plane64 = np.empty(shape)
    count = 0
    for source in job.sources:
        for plane in _planes(source):
            plane64[...] = plane
            total += plane64
            if squares is not None:
                squares += np.square(plane64, out=plane64)
            if low is not None:
                np.minimum(low, plane, out=low)
            if high is not None:
                np.maximum(high, plane, out=high)
            count += 1
    mean = total / count
    results = {"sum": total, "mean": mean, "min": low, "max": high}
    if squares is not None:
        # Fine in float64 for these data: (mean / std)**2 is at most about
        # 1e6, so some 10 of the 16 digits survive the subtraction.
        results["std"] = np.sqrt(np.maximum(squares / count - mean * mean, 0))
    return {name: results[name] for name in job.statistics}


def hand_planewise(job: Job) -> Results:
    """The single-threaded loop for reductions that keep axis 0: each plane is
    reduced over the job's axes by numpy, in float64, and the results stacked."""
    axis = tuple(a - 1 for a in job.axes)  # the axes within a plane
    values: dict[str, list[np.ndarray]] = {name: [] for name in job.statistics}
    for source in job.sources:
        for plane in _planes(source):
            for name in job.statistics:
                function = getattr(np, name)
                if name in ("min", "max"):
                    values[name].append(function(plane, axis=axis))
                else:
                    values[name].append(function(plane, axis=axis, dtype=np.float64))
    return {name: np.stack(parts) for name, parts in values.items()}


def lazyarray_reduce(job: Job) -> Results:
    """``la.ndarrays`` of every statistic in one call: one pass over the data."""
    import lazyarray as la

    parts = [la.asarray(source) for source in job.sources]
    x = parts[0] if len(parts) == 1 else la.LinearMosaic(parts, axis=0)
    values = la.ndarrays([getattr(la, name)(x, job.axis) for name in job.statistics],
                         **job.options)
    return dict(zip(job.statistics, values))


def hand_masked_reduce(job: Job) -> Results:
    """The single-threaded loop with ``numpy.ma``: mask each plane, accumulate what is valid."""
    shape = job.sources[0].shape[1:]
    count = np.zeros(shape, np.int64)
    total, squares = np.zeros(shape), np.zeros(shape)
    low, high = np.full(shape, np.inf), np.full(shape, -np.inf)
    for source in job.sources:
        fill = source.attrs["_FillValue"]
        for i in range(source.shape[0]):
            x = np.ma.masked_equal(source[i], fill)
            valid = ~np.ma.getmaskarray(x)
            count += valid
            x64 = x.filled(0).astype(np.float64)
            total += x64
            squares += x64 * x64
            np.minimum(low, x.filled(np.inf), out=low)
            np.maximum(high, x.filled(-np.inf), out=high)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0))
    return {"mean": mean, "std": std, "min": low, "max": high, "count": count}


def _masked_results(values: Sequence[Any]) -> Results:
    # No output of this workload is masked (about 100 valid values each);
    # NaN would show one that is.
    return {name: np.ma.filled(np.ma.asarray(v).astype(np.float64), np.nan)
            for name, v in zip(MASKED_STATISTICS, values)}


def lazyarray_masked_reduce(job: Job) -> Results:
    """``la.masked_arrays`` of every statistic of the ``_FillValue``-masked source, one pass."""
    import lazyarray as la

    parts = [la.asarray(source, masked=True) for source in job.sources]
    x = parts[0] if len(parts) == 1 else la.LinearMosaic(parts, axis=0)
    values = la.masked_arrays([getattr(la, name)(x, 0) for name in MASKED_STATISTICS],
                              **job.options)
    return _masked_results(values)


def dask_masked_reduce(job: Job) -> Results:
    """``da.ma.masked_equal`` of each part, every statistic in one ``dask.compute``."""
    import dask
    import dask.array as da

    parts = [da.ma.masked_equal(_dask_array(source, job.chunk_mb), source.attrs["_FillValue"])
             for source in job.sources]
    x = parts[0] if len(parts) == 1 else da.concatenate(parts, axis=0)
    lazy = [x.mean(axis=0), x.std(axis=0), x.min(axis=0), x.max(axis=0), da.ma.count(x, axis=0)]
    return _masked_results(dask.compute(*lazy, scheduler="threads", num_workers=job.workers))


def _dask_array(source: Any, chunk_mb: float | None) -> Any:
    import dask.array as da

    return da.from_array(source, chunks=dask_chunks(source, chunk_mb))


def dask_reduce(job: Job) -> Results:
    """Every statistic in one ``dask.compute``, so Dask shares the reads between them."""
    import dask
    import dask.array as da

    parts = [_dask_array(source, job.chunk_mb) for source in job.sources]
    x = parts[0] if len(parts) == 1 else da.concatenate(parts, axis=0)
    values = dask.compute(*[getattr(x, name)(axis=job.axis) for name in job.statistics],
                          scheduler="threads", num_workers=job.workers)
    return dict(zip(job.statistics, values))


def _xarray_tas(job: Job) -> Any:
    """``tas`` opened by xarray with Dask chunks equal to the storage chunks.

    HDF5 files are opened with h5netcdf: datagen's files have no dimension
    scales, so h5netcdf names the dimensions (``phony_dims="sort"``, netCDF's
    own naming); the names are read first, to give each its chunk size.
    """
    import xarray as xr

    assert job.store is not None
    path, engine = job.store
    options: dict[str, Any] = ({"consolidated": False} if engine == "zarr"
                               else {"phony_dims": "sort"})
    with xr.open_dataset(path, engine=engine, **options) as ds:
        dims = ds["tas"].dims
    chunks = dict(zip(dims, storage_chunks(job.sources[0])))
    return xr.open_dataset(path, engine=engine, chunks=chunks, **options)["tas"]


def xarray_reduce(job: Job) -> Results:
    """xarray with Dask: every statistic over the named dimensions, one ``compute``."""
    import xarray as xr

    tas = _xarray_tas(job)
    dims = [tas.dims[a] for a in job.axes]
    stats = xr.Dataset({name: getattr(tas, name)(dim=dims) for name in job.statistics})
    stats = stats.compute(scheduler="threads", num_workers=job.workers)
    return {name: stats[name].values for name in job.statistics}


def raw_point(job: Job) -> Results:
    """Read every storage chunk that holds the series (whole, decoded); compute nothing."""
    (source,) = job.sources
    chunks = storage_chunks(source)
    buffer = np.empty(math.prod(chunks), source.dtype)
    for box in chunk_boxes(source.shape, chunks, point=(None, *POINT)):
        _read_box(source, box, buffer)
    return {}


def hand_point(job: Job) -> Results:
    """h5py (or zarr) reading the series itself: ``dset[:, 500, 500]``."""
    (source,) = job.sources
    return {"series": source[(slice(None), *POINT)]}


def lazyarray_point(job: Job) -> Results:
    """``la.asarray(dset)[:, 500, 500].ndarray()``."""
    import lazyarray as la

    (source,) = job.sources
    return {"series": la.asarray(source)[(slice(None), *POINT)].ndarray(**job.options)}


def dask_point(job: Job) -> Results:
    """``da.from_array(dset, chunks=...)[:, 500, 500].compute()``."""
    (source,) = job.sources
    series = _dask_array(source, job.chunk_mb)[(slice(None), *POINT)]
    return {"series": series.compute(scheduler="threads", num_workers=job.workers)}


def xarray_point(job: Job) -> Results:
    """``tas[:, 500, 500].compute()`` of the file opened by xarray with Dask."""
    series = _xarray_tas(job)[(slice(None), *POINT)]
    return {"series": series.compute(scheduler="threads", num_workers=job.workers).values}


#: Bytes of the input the median's hand loop holds at once: bands of whole rows
#: across every plane (a band of the kept axes with the whole reduced one).
MEDIAN_BAND_BYTES = 64 * MB


def hand_median(job: Job) -> Results:
    """The loop a scientist writes for a median over axis 0 in bounded memory:
    bands of rows, every plane of them read at once, ``np.median`` of each."""
    (source,) = job.sources
    planes, rows, columns = source.shape
    band = max(1, int(MEDIAN_BAND_BYTES // (planes * columns * source.dtype.itemsize)))
    median = np.empty((rows, columns), np.float32)
    for start in range(0, rows, band):
        part = slice(start, min(start + band, rows))
        median[part] = np.median(source[:, part, :], axis=0)
    return {"median": median}


def dask_median(job: Job) -> Results:
    """``da.median`` over axis 0: Dask rechunks the axis into one chunk first."""
    import dask.array as da

    x = _dask_array(job.sources[0], job.chunk_mb)
    return {"median": da.median(x, axis=0).compute(scheduler="threads",
                                                   num_workers=job.workers)}


def _create_output(job: Job) -> h5py.File:
    """A new HDF5 file with an empty ``out`` dataset shaped and chunked as operand a."""
    assert job.output is not None
    a = job.sources[0]
    f = h5py.File(job.output, "w")
    f.create_dataset("out", shape=a.shape, dtype=a.dtype, chunks=a.chunks)
    return f


def raw_save(job: Job) -> Results:
    """Read both operands and write every plane of the output; compute nothing."""
    a, b = job.sources
    buffer_a, buffer_b = _buffer(a), _buffer(b)
    with _create_output(job) as f:
        out = f["out"]
        for rows in _chunk_rows(a):
            plane = _read_into(a, rows, buffer_a)
            _read_into(b, rows, buffer_b)
            out.write_direct(plane, dest_sel=np.s_[rows])
    return {}


def hand_save(job: Job) -> Results:
    """The single-threaded loop: one plane of each operand at a time, written at once."""
    a, b = job.sources
    with _create_output(job) as f:
        out = f["out"]
        for i in range(a.shape[0]):
            out[i] = (a[i] - b[i]) * 2.5 + 1
    return {}


def lazyarray_save(job: Job) -> Results:
    """``la.to_hdf5``: it creates the file, with chunks of its choosing, and fills it."""
    import lazyarray as la

    assert job.output is not None
    a, b = (la.asarray(source) for source in job.sources)
    la.to_hdf5(job.output, {"out": (a - b) * 2.5 + 1}, **job.options)
    return {}


def dask_save(job: Job) -> Results:
    """``da.store`` into a dataset made here (with Dask's default lock around writes)."""
    import dask.array as da

    a, b = (_dask_array(source, job.chunk_mb) for source in job.sources)
    with _create_output(job) as f:
        da.store((a - b) * 2.5 + 1, f["out"], scheduler="threads", num_workers=job.workers)
    return {}


def sample_output(job: Job) -> Results:
    """Planes of the output of a save, evenly spread, to check it; then delete the file."""
    assert job.output is not None
    with h5py.File(job.output, "r") as f:
        out = f["out"]
        rows = np.unique(np.linspace(0, out.shape[0] - 1, CHECK_PLANES).round().astype(int))
        sample = np.stack([out[i] for i in rows])
    job.output.unlink()
    return {"sample": sample}


@dataclass(frozen=True)
class Kind:
    """What a family of workloads does, and each method's way of doing it.

    Attributes
    ----------
    methods : dict
        Method name to the function that runs a :class:`Job` and returns
        the results to check (empty for ``raw``, which computes nothing).
    results : callable or None
        Called after the clock stops, for results that live in a file.
    """

    methods: dict[str, Callable[[Job], Results]]
    results: Callable[[Job], Results] | None = None


KINDS = {
    "reduce": Kind({"raw": raw_reduce, "hand": hand_reduce, "lazyarray": lazyarray_reduce,
                    "dask": dask_reduce, "xarray": xarray_reduce}),
    "point": Kind({"raw": raw_point, "hand": hand_point, "lazyarray": lazyarray_point,
                   "dask": dask_point, "xarray": xarray_point}),
    "masked": Kind({"raw": raw_reduce, "hand": hand_masked_reduce,
                    "lazyarray": lazyarray_masked_reduce, "dask": dask_masked_reduce}),
    "save": Kind({"raw": raw_save, "hand": hand_save, "lazyarray": lazyarray_save,
                  "dask": dask_save}, results=sample_output),
    "median": Kind({"raw": raw_reduce, "hand": hand_median, "lazyarray": lazyarray_reduce,
                    "dask": dask_median}),
}


def _open(path: Path, name: str = "tas") -> h5py.Dataset:
    # h5py's default file settings (1 MiB chunk cache), as a user opens a file.
    return h5py.File(path, "r")[name]


@dataclass(frozen=True)
class Workload:
    """One benchmark: its data, how to open it, and what is computed.

    Attributes
    ----------
    key : str
        Its name, for ``--only`` and ``--measure``.
    title : str
    kind : str
        A key of :data:`KINDS`.
    make : callable
        Generates the data the workload needs, if missing.
    open : callable
        The sources of the :class:`Job`, from the :class:`Data`.
    files : callable
        Every file the workload reads, from the :class:`Data`: what ``--cold``
        evicts from the page cache.
    statistics : tuple of str
        Reductions over ``axes`` (reductions only).
    inputs : int
        How many arrays the workload reads.
    planes : callable
        Their length along axis 0, from the :class:`Data`.
    storage : str
        How they are stored, for the title.
    methods : str
        Which methods run by default: ``"all"``, ``"kernels"`` (both of
        lazyarray's kernels instead of its default), ``"probe"`` (lazyarray
        and Dask with the storage chunks), ``"layouts"`` (those of ``"all"``
        and xarray) or ``"point"`` (lazyarray, Dask and xarray with the
        storage chunks).
    axes : tuple of int
        The axes the statistics reduce.
    layout : bool
        Whether its data is sized by ``--layout-gb`` (the layouts of issue
        18) rather than ``--size-gb``.
    cold : bool
        Whether it always runs with a cold page cache (evicting with
        ``posix_fadvise`` unless ``--cold`` says otherwise).
    store : callable or None
        What xarray opens and with which engine, from the :class:`Data`
        (``None``: no xarray method).
    chunks : tuple of int or None
        Point series only: the storage chunks, whose bytes holding the
        series are what the raw read reads.
    """

    key: str
    title: str
    kind: str
    make: Callable[[Data], None]
    open: Callable[[Data], tuple[Any, ...]]
    files: Callable[[Data], list[Path]]
    statistics: tuple[str, ...] = ()
    inputs: int = 1
    planes: Callable[[Data], int] = lambda d: d.planes
    storage: str = "chunks (1, 1000, 1000), uncompressed HDF5"
    methods: str = "all"
    axes: tuple[int, ...] = (0,)
    layout: bool = False
    cold: bool = False
    store: Callable[[Data], tuple[Path, str]] | None = None
    chunks: tuple[int, ...] | None = None

    def job(self, data: Data, method: Method) -> Job:
        return Job(self.open(data), self.statistics,
                   data.output(method.id) if self.kind == "save" else None,
                   method.workers, method.chunk_mb, method.kernels, self.axes,
                   self.store(data) if self.store is not None else None)

    @property
    def compressed(self) -> bool:
        """Whether its storage compresses (so decoding, not reading, may be the limit)."""
        return "gzip" in self.storage or "zstd" in self.storage

    def shape(self, data: Data) -> tuple[int, int, int]:
        return (self.planes(data),) + PLANE

    def nbytes(self, data: Data) -> int:
        """Bytes read, once decoded (of a point series: the chunks holding it)."""
        shape = self.shape(data)
        if self.kind == "point" and self.chunks is not None:
            shape = shape[:1] + self.chunks[1:]
        return self.inputs * math.prod(shape) * 4


STATISTICS = ("mean", "std", "min", "max")
MASKED_STATISTICS = ("mean", "std", "min", "max", "count")


def _zarr_files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def _probe(size: str) -> Workload:
    chunks = PROBE_CHUNKS[size]
    return Workload(
        f"probe-{size}", "sum over axis 0 (per-chunk overhead probe)", "reduce",
        make=lambda d: make_probe(d, size), open=lambda d: (_open(d.probe(size)),),
        files=lambda d: [d.probe(size)], statistics=("sum",), planes=lambda d: d.probe_planes,
        storage=f"chunks {chunks} ({size[:-2]} {size[-2:]}), uncompressed HDF5",
        methods="probe",
    )


_LAYOUT_FILES: dict[str, Callable[[Data], Path]] = {
    "planes": lambda d: d.hdf5_a, "cubes": lambda d: d.hdf5_cubes,
    "contiguous": lambda d: d.hdf5_contiguous, "cubes-gzip4": lambda d: d.hdf5_cubes_gzip,
}
_LAYOUT_STORAGE = {
    "planes": "chunks (1, 1000, 1000), uncompressed HDF5",
    "cubes": f"chunks {CUBES}, uncompressed HDF5",
    "contiguous": "contiguous (unchunked) HDF5",
    "cubes-gzip4": f"chunks {CUBES}, HDF5 gzip level 4 + shuffle",
    "zstd": f"chunks {ZARR_CHUNKS}, Zarr v3 (zstd)",
}
_AXES_TITLE = {(0,): "over axis 0", (1, 2): "over axes (1, 2)", (2,): "over axis 2"}


def _layout(key: str, layout: str, axes: tuple[int, ...] = (0,),
            statistics: tuple[str, ...] = ("mean", "std"), cold: bool = False) -> Workload:
    """A workload of issue 18's layouts: ``statistics`` over ``axes`` of a in ``layout``."""
    if layout == "zstd":
        def open_(d: Data) -> tuple[Any, ...]:
            return (zarr.open_array(d.zarr_zstd / "tas", mode="r"),)

        def files(d: Data) -> list[Path]:
            return _zarr_files(d.zarr_zstd)

        def store(d: Data) -> tuple[Path, str]:
            return (d.zarr_zstd, "zarr")
    else:
        path = _LAYOUT_FILES[layout]

        def open_(d: Data) -> tuple[Any, ...]:
            return (_open(path(d)),)

        def files(d: Data) -> list[Path]:
            return [path(d)]

        def store(d: Data) -> tuple[Path, str]:
            return (path(d), "h5netcdf")
    title = f"{', '.join(statistics)} {_AXES_TITLE[axes]}" + (", cold cache" if cold else "")
    return Workload(key, title, "reduce", make=lambda d: make_layout(d, layout), open=open_,
                    files=files, statistics=statistics, storage=_LAYOUT_STORAGE[layout],
                    methods="layouts", axes=axes, layout=True, cold=cold, store=store)


def _point(key: str, layout: str, chunks: tuple[int, ...]) -> Workload:
    """The series ``x[:, 500, 500]`` of a in ``layout``, an HDF5 file in ``chunks``."""
    path = _LAYOUT_FILES[layout]
    return Workload(key, f"point series x[:, {POINT[0]}, {POINT[1]}]", "point",
                    make=lambda d: make_layout(d, layout), open=lambda d: (_open(path(d)),),
                    files=lambda d: [path(d)], storage=_LAYOUT_STORAGE[layout],
                    methods="point", layout=True, store=lambda d: (path(d), "h5netcdf"),
                    chunks=chunks)


LAYOUTS = (
    _layout("planes-0", "planes"),
    _layout("planes-12", "planes", axes=(1, 2)),
    _layout("planes-2", "planes", axes=(2,), statistics=("mean",)),
    _layout("cubes-0", "cubes"),
    _layout("cubes-12", "cubes", axes=(1, 2)),
    _layout("contiguous-0", "contiguous"),
    _layout("cubes-gzip4-0", "cubes-gzip4"),
    _layout("zstd-0", "zstd"),
    _layout("planes-0-cold", "planes", cold=True),
    _point("point-planes", "planes", (1,) + PLANE),
    _point("point-cubes", "cubes", CUBES),
)

WORKLOADS = {w.key: w for w in (
    Workload("a", "mean, std, min, max over axis 0", "reduce",
             make=lambda d: make_hdf5(d, "a"), open=lambda d: (_open(d.hdf5_a),),
             files=lambda d: [d.hdf5_a], statistics=STATISTICS, methods="kernels"),
    Workload("a-gzip", "mean, std, min, max over axis 0", "reduce",
             make=make_gzip, open=lambda d: (_open(d.hdf5_gzip),),
             files=lambda d: [d.hdf5_gzip], statistics=STATISTICS, methods="kernels",
             storage="chunks (1, 1000, 1000), HDF5 gzip level 1 + shuffle"),
    Workload("b", "mean, std, min, max over axis 0", "reduce",
             make=make_zarr, open=lambda d: (zarr.open_array(d.zarr_a, mode="r"),),
             files=lambda d: _zarr_files(d.zarr_a), statistics=STATISTICS,
             storage="chunks (1, 1000, 1000), Zarr v3 (zstd)"),
    Workload("c", "(a - b) * 2.5 + 1 of two datasets into a new HDF5 dataset", "save",
             make=make_operands, open=lambda d: (_open(d.hdf5_a), _open(d.hdf5_b)),
             files=lambda d: [d.hdf5_a, d.hdf5_b], inputs=2),
    Workload("d", f"mean over axis 0 of a mosaic of {MOSAIC_FILES} files", "reduce",
             make=make_mosaic, open=lambda d: tuple(_open(p) for p in d.mosaic),
             files=lambda d: d.mosaic, statistics=("mean",)),
    Workload("e", "mean, std, min, max, count over axis 0, "
             f"{MASKED_FRACTION:.0%} of it masked by _FillValue", "masked",
             make=make_masked, open=lambda d: (_open(d.hdf5_masked),),
             files=lambda d: [d.hdf5_masked], statistics=MASKED_STATISTICS),
    Workload("m", "median over axis 0 (exact, in bounded memory)", "median",
             make=lambda d: make_hdf5(d, "a"), open=lambda d: (_open(d.hdf5_a),),
             files=lambda d: [d.hdf5_a], statistics=("median",)),
    *(_probe(size) for size in PROBE_CHUNKS),
    *LAYOUTS,
)}
#: Names that ``--only`` expands to several workloads.
GROUPS = {"probe": [f"probe-{size}" for size in PROBE_CHUNKS],
          "layouts": [w.key for w in LAYOUTS]}


@dataclass(frozen=True)
class Method:
    """A method and its settings.

    On the command line a method is ``raw``, ``hand``, ``lazyarray``,
    ``lazyarray+numba``, ``lazyarray+numpy``, ``dask``, ``dask@<MB>`` or
    ``xarray`` (xarray with Dask at the storage chunks; layouts only); the
    worker count comes from ``--workers``.

    Examples
    --------
    >>> Method.parse("dask@128"), Method.parse("lazyarray+numba").spec
    (Method(name='dask', chunk_mb=128.0, kernels=None, workers=1), 'lazyarray+numba')
    >>> Method.parse("lazyarray+numpy").with_workers(2).id
    'lazyarray+numpy-w2'
    """

    name: str
    chunk_mb: float | None = None
    kernels: str | None = None
    workers: int = 1

    @classmethod
    def parse(cls, text: str) -> Method:
        name, _, size = text.partition("@")
        name, _, kernels = name.partition("+")
        valid = (name in KINDS["reduce"].methods
                 and (not size or name == "dask")  # only Dask takes a chunk size
                 and (not kernels or name == "lazyarray")  # only lazyarray has kernels
                 and kernels in ("", "numba", "numpy", "auto"))
        if not valid:
            raise SystemExit(f"unknown method {text!r}: expected raw, hand, "
                             "lazyarray[+numba|+numpy], dask[@MB], xarray")
        return cls(name, float(size) if size else None, kernels or None)

    @property
    def threaded(self) -> bool:
        """Whether it runs with ``--workers`` threads (the others use one)."""
        return self.name in ("lazyarray", "dask", "xarray")

    def with_workers(self, workers: int) -> Method:
        return replace(self, workers=workers) if self.threaded else self

    @property
    def spec(self) -> str:
        """The method as on the command line."""
        if self.kernels:
            return f"{self.name}+{self.kernels}"
        return self.name if self.chunk_mb is None else f"{self.name}@{self.chunk_mb:g}"

    @property
    def id(self) -> str:
        """Unique within a run: the spec and, for threaded methods, the worker count."""
        return f"{self.spec}-w{self.workers}" if self.threaded else self.spec

    def label(self) -> str:
        if self.name == "raw":
            return "raw I/O (no compute)"
        if self.name == "hand":
            return "hand loop (1 thread)"
        if self.name == "lazyarray":
            kernels = f", {self.kernels}" if self.kernels else ""
            return f"lazyarray{kernels} ({self.workers} worker{'s' * (self.workers > 1)})"
        if self.name == "xarray":
            return f"xarray+dask, storage chunks ({self.workers} thr)"
        chunks = "storage chunks" if self.chunk_mb is None else f"~{self.chunk_mb:g} MB chunks"
        return f"dask, {chunks} ({self.workers} thr)"

    def may_compile(self, numba: bool) -> bool:
        """Whether its kernels may be compiled by numba (installed or not: ``numba``)."""
        return self.name == "lazyarray" and (self.kernels == "numba"
                                             or (numba and self.kernels in (None, "auto")))


# -- the page cache ----------------------------------------------------------------

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def evict(paths: Iterable[Path], how: str) -> str:
    """Evict files from the page cache, so that the next read comes from the disk.

    Parameters
    ----------
    paths : iterable of Path
        The files to evict.
    how : {"auto", "drop", "fadvise"}
        ``"drop"`` writes 1 to ``/proc/sys/vm/drop_caches`` (the whole page
        cache of the machine, which needs root and a writable ``/proc/sys``);
        ``"fadvise"`` calls ``posix_fadvise(POSIX_FADV_DONTNEED)`` on each
        file (only these files, any user who can read them); ``"auto"``
        tries the first and falls back to the second.

    Returns
    -------
    str
        The way used: ``"drop_caches"`` or ``"fadvise"``.
    """
    os.sync()  # both ways evict only clean pages: flush what earlier runs wrote
    if how in ("auto", "drop"):
        try:
            DROP_CACHES.write_text("1\n")  # 1: page cache only; dentries and inodes stay
            return "drop_caches"
        except OSError as error:
            if how == "drop":
                raise SystemExit(f"--cold drop: cannot write {DROP_CACHES}: {error}") from None
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return "fadvise"


def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    return libc


def resident(paths: Iterable[Path]) -> float | None:
    """Fraction of the pages of ``paths`` that are in the page cache (``None``: unknown).

    ``mincore`` on a mapping of each file, as ``fincore`` does: mapping
    reads nothing, so the check does not warm what it measures. Python's
    ``mmap`` hides the mapping's address, hence libc through ctypes.
    """
    try:
        libc = _libc()
    except (OSError, AttributeError):  # no libc with mmap and mincore (not Linux or BSD)
        return None
    failed = ctypes.c_void_p(-1).value  # MAP_FAILED
    pages = cached = 0
    for path in paths:
        size = path.stat().st_size
        if not size:
            continue
        count = -(-size // mmap.PAGESIZE)
        vector = (ctypes.c_ubyte * count)()
        fd = os.open(path, os.O_RDONLY)
        try:
            address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if address in (None, failed):
                return None
            try:
                if libc.mincore(address, size, vector):
                    return None
            finally:
                libc.munmap(address, size)
        finally:
            os.close(fd)
        pages += count
        cached += int(np.count_nonzero(np.frombuffer(vector, np.uint8) & 1))
    return cached / pages if pages else None


# -- one measurement (the child process) -----------------------------------------------


def _peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes.

    Linux keeps ``getrusage``'s ``ru_maxrss`` across ``exec``, so a child
    forked from a big parent (one that has just generated data, say) would
    report the parent's peak. ``VmHWM`` belongs to the process's own memory
    map, which ``exec`` replaces; ``ru_maxrss`` stays the fallback elsewhere.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # in kB
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class _ThreadProfiles:
    """cProfile of the main thread and of every thread started meanwhile.

    ``threading.setprofile`` runs a hook first thing in each new thread; the
    hook starts that thread's own profiler, which replaces it.
    """

    def __init__(self) -> None:
        self.profiles = [cProfile.Profile()]
        self._lock = threading.Lock()

    def _start_thread(self, *_: Any) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append(profile)
        profile.enable()

    def __enter__(self) -> Self:
        threading.setprofile(self._start_thread)
        self.profiles[0].enable()
        return self

    def __exit__(self, *_: object) -> None:
        self.profiles[0].disable()
        threading.setprofile(None)

    def print(self, lines: int, file: Any) -> None:
        # The main thread's stats first: creating the others' disables the
        # profiler of the calling thread.
        stats = pstats.Stats(self.profiles[0], stream=file)
        for profile in self.profiles[1:]:
            stats.add(profile)
        print(f"Profile of {len(self.profiles)} threads, summed:", file=file)
        stats.sort_stats("tottime").print_stats(lines)


def _compile_timer(method: Method) -> contextlib.AbstractContextManager[Any]:
    """Time numba's compilations (and cache loads) during the job, into ``seconds``.

    numba's ``numba:compile`` events nest (a kernel compiles the functions it
    calls); its timer counts only the outermost, so nothing is counted twice.
    """
    seconds: list[float] = []
    if not method.may_compile(importlib.util.find_spec("numba") is not None):
        return contextlib.nullcontext(seconds)
    from numba.core import event

    @contextlib.contextmanager
    def timer() -> Iterator[list[float]]:
        with event.install_timer("numba:compile", seconds.append):
            yield seconds

    return timer()


def measure(workload: Workload, method: Method, data: Data, check: Path | None,
            profile: int = 0) -> dict[str, Any]:
    """Run one method on one workload in this process; its time and peak memory.

    Steps:

    1. Import what the method needs and open the sources (untimed).
    2. Run the method (timed), under a profiler of every thread if ``profile``,
       timing numba's compilations if it may compile.
    3. Save its results to ``check`` (an ``.npz``) for the parent to compare.
    """
    kind = KINDS[workload.kind]
    for module in {"lazyarray": ["lazyarray"], "dask": ["dask", "dask.array"]}.get(method.name, []):
        importlib.import_module(module)
    job = workload.job(data, method)
    if job.output is not None:  # left by a failed run; to_hdf5 may refuse to replace it
        job.output.unlink(missing_ok=True)
    start_rss = _peak_rss()
    profiler = _ThreadProfiles() if profile else contextlib.nullcontext()
    with _compile_timer(method) as compiling:
        start = time.perf_counter()
        with profiler:
            results = kind.methods[method.name](job)
        seconds = time.perf_counter() - start
    peak_rss = _peak_rss()
    if isinstance(profiler, _ThreadProfiles):
        profiler.print(profile, sys.stderr)
    if kind.results is not None:
        results = kind.results(job)
    if check is not None:
        np.savez(check, **results)
    return {"seconds": seconds, "peak_rss": peak_rss, "start_rss": start_rss,
            "compile_seconds": sum(compiling)}


# -- the driver (the parent process) -------------------------------------------------


@dataclass
class Timing:
    """The measurements of one method on one workload.

    ``first_call`` marks the single run of a method that may compile with
    numba, made with an empty numba cache: its time includes the JIT.
    """

    method: Method
    first_call: bool = False
    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    start_rss: list[int] = field(default_factory=list)
    compile_seconds: list[float] = field(default_factory=list)
    check: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def id(self) -> str:
        return self.method.id + ("-first" if self.first_call else "")

    def label(self) -> str:
        return self.method.label() + (", 1st call" if self.first_call else "")


@dataclass
class Cache:
    """How the page cache was prepared before the timed runs of one workload."""

    cold: str | None  # None (warm), or how --cold evicts: "auto", "drop" or "fadvise"
    ways: set[str] = field(default_factory=set)  # the ways eviction actually used
    fractions: list[float] = field(default_factory=list)  # resident before each run

    def describe(self) -> str:
        if self.cold is None:
            state = "warm (the raw read ran once first)"
        else:
            state = f"cold (evicted by {' and '.join(sorted(self.ways))} before each run)"
        if not self.fractions:
            return f"page cache: {state}, residency not checked"
        low, high = min(self.fractions), max(self.fractions)
        return (f"page cache: {state}; mincore: {100 * low:.1f}-{100 * high:.1f}% of the input "
                "files resident before each timed run")


def _child(workload: Workload, method: Method, args: argparse.Namespace,
           check: Path | None, numba_cache: Path | None = None,
           cache: Cache | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh Python process and parse its JSON line.

    ``numba_cache`` becomes the child's ``NUMBA_CACHE_DIR``, so that what it
    finds compiled is what this run put there, never an older library's
    kernels. With ``cache``, the workload's files are evicted first (if
    cold) and their residency recorded.
    """
    os.sync()  # pages written by a previous save must not be flushed during this one
    if cache is not None:
        files = workload.files(data_of(workload, args))
        if cache.cold is not None:
            cache.ways.add(evict(files, cache.cold))
        fraction = resident(files)
        if fraction is not None:
            cache.fractions.append(fraction)
    command = [sys.executable, os.path.abspath(__file__), "--measure", workload.key, method.spec,
               "--size-gb", str(args.size_gb), "--layout-gb", str(args.layout_gb),
               "--workers", str(method.workers)]
    if check is not None:
        command += ["--check", str(check)]
    env = dict(os.environ)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        raise SystemExit(
            f"measurement {workload.key} {method.id} failed:\n{done.stdout}{done.stderr}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _compare(actual: Path, expected: Path) -> str:
    """``ok``, or what differs, between two saved sets of results."""
    with np.load(actual) as got, np.load(expected) as want:
        if sorted(got.files) != sorted(want.files):
            return f"DIFFERS: results {sorted(got.files)}, expected {sorted(want.files)}"
        for name in want.files:
            x, y = got[name], want[name]
            if x.shape != y.shape:
                return f"DIFFERS: {name} shape {x.shape}, expected {y.shape}"
            if not np.allclose(x, y, rtol=RTOL, atol=0):
                error = np.max(np.abs(x - y) / np.maximum(np.abs(y), np.finfo(float).tiny))
                return f"DIFFERS: {name} relative error up to {error:.1e}"
    return "ok"


def _record(timing: Timing, result: dict[str, Any]) -> None:
    timing.seconds.append(result["seconds"])
    timing.peak_rss.append(result["peak_rss"])
    timing.start_rss.append(result["start_rss"])
    timing.compile_seconds.append(result.get("compile_seconds", 0.0))


def run_workload(workload: Workload, methods: Sequence[Method], data: Data,
                 args: argparse.Namespace, scratch: Path) -> tuple[list[Timing], Cache]:
    """Measure every method ``repeat`` times, with the page cache warm or cold.

    Steps:

    1. Make the data; unless ``--cold``, warm the page cache with the raw read.
    2. For each method that may compile kernels with numba, measure one first
       call with an empty numba cache (its own directory); the method's
       later runs reuse that directory, as a user's second run finds it.
    3. Measure every method ``repeat`` times. Repeats go round the methods,
       so that a slow spell of the machine spreads over all of them rather
       than spoiling one.
    4. Check every method's results against the hand loop's.
    """
    workload.make(data)
    cache = Cache(args.cold or ("fadvise" if workload.cold else None))
    if cache.cold is None:
        print(f"({workload.key}) warming the page cache...", file=sys.stderr)
        _child(workload, Method("raw"), args, None)
    numba = importlib.util.find_spec("numba") is not None
    compiles = workload.kind != "save"  # saves run no reduction kernels
    timings, first_calls = [], []
    for method in methods:
        timings.append(Timing(method))
        if compiles and method.may_compile(numba) and method.workers == args.workers[0]:
            first_calls.append(Timing(method, first_call=True))

    def numba_cache(method: Method) -> Path:
        return scratch / "numba" / f"{workload.key}-{method.spec}"

    for timing in first_calls:
        print(f"({workload.key}) {timing.method.id}, first call (empty numba cache)",
              file=sys.stderr)
        _record(timing, _child(workload, timing.method, args,
                               scratch / f"{workload.key}-{timing.id}.npz",
                               numba_cache(timing.method), cache))
    for repeat in range(args.repeat):
        for timing in timings:
            print(f"({workload.key}) {timing.method.id}, run {repeat + 1} of {args.repeat}",
                  file=sys.stderr)
            check = scratch / f"{workload.key}-{timing.id}.npz"
            _record(timing, _child(workload, timing.method, args, check,
                                   numba_cache(timing.method), cache))
    # Each first call goes just before the warm runs of its method.
    timings = [t for timing in timings
               for t in [f for f in first_calls if f.method == timing.method] + [timing]]
    reference = scratch / f"{workload.key}-hand.npz"
    for timing in timings:
        if timing.method.name == "raw":
            timing.check = "-"
        elif timing.method.name == "hand":
            timing.check = "reference"
        else:
            timing.check = _compare(scratch / f"{workload.key}-{timing.id}.npz", reference)
    return timings, cache


def data_of(workload: Workload, args: argparse.Namespace) -> Data:
    """The data a workload reads: of ``--layout-gb`` for the layouts, else of ``--size-gb``."""
    return args.layout_data if workload.layout else args.data


def _revision() -> str:
    """The git commit of the working tree, ``-dirty`` when it has local changes."""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def _version(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return "not installed"


def machine() -> str:
    """Cores, memory, load and library versions, for the table's header."""
    import dask

    import lazyarray

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: {os.cpu_count()} cores, {memory:.1f} GiB RAM, {platform.system()} "
        f"{platform.release()}; load average {load}\n"
        f"Python {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__} "
        f"(HDF5 {h5py.version.hdf5_version}), zarr {zarr.__version__}, dask {dask.__version__}, "
        f"numba {_version('numba')}, lazyarray {lazyarray.__version__} (git {_revision()})"
    )


def table(workload: Workload, timings: Sequence[Timing], data: Data, cache: Cache) -> str:
    """The results of one workload as a text table."""
    gigabytes = workload.nbytes(data) / GB
    hand = next((t.best for t in timings if t.method.name == "hand"), None)
    # The layouts give lazyarray's time over each method's too (its best worker count).
    lazy = _best(timings, lambda m: m.name == "lazyarray") if workload.layout else None
    lines = [
        (f"({workload.key}) {workload.title}: {workload.inputs} x {workload.shape(data)} in "
         f"{workload.storage}, {gigabytes:.2f} GB read"),
        f"  {cache.describe()}",
        (f"  {'method':<40}{'time s':>8}{'GB/s':>7}{'/ hand':>8}"
         f"{'lazy / it' if lazy else '':>10}{'peak RSS MB':>13}{'at start':>10}  check"),
    ]
    for t in timings:
        ratio = f"{t.best / hand:.2f}" if hand else "-"
        versus = f"{lazy.best / t.best:>10.2f}" if lazy else ""
        lines.append(
            f"  {t.label():<40}{t.best:>8.3f}{gigabytes / t.best:>7.2f}{ratio:>8}{versus}"
            f"{max(t.peak_rss) / MB:>13.0f}{max(t.start_rss) / MB:>10.0f}  {t.check}"
        )
    for t in timings:
        if t.first_call:
            warm = [w for w in timings if w.method == t.method and not w.first_call]
            warm_jit = f"{min(warm[0].compile_seconds):.2f} s" if warm else "-"
            lines.append(f"  {t.method.label()}: numba compiled (or loaded from its cache) "
                         f"for {t.compile_seconds[0]:.2f} s of the 1st call, "
                         f"{warm_jit} of the best warm run")
    if any(t.method.name == "dask" and t.check.startswith("DIFFERS") for t in timings):
        lines.append("  Dask reduces float32 data in float32 (its std is off by a few 1e-5 here; "
                     "with .astype(float64) it agrees to 1e-14).")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """A ratio the issue sets a target for, and its measured value."""

    name: str
    value: float
    goal: float

    def line(self) -> str:
        met = "met" if self.value <= self.goal else "MISSED"
        return f"  {self.name:<72}{self.value:>8.2f}   target <= {self.goal:<7g}{met}"


def _best(timings: Sequence[Timing], accept: Callable[[Method], bool]) -> Timing | None:
    """The fastest warm timing over every worker count of the methods accepted."""
    chosen = [t for t in timings if not t.first_call and accept(t.method)]
    return min(chosen, key=lambda t: t.best) if chosen else None


def targets(workload: Workload, timings: Sequence[Timing], memory_limit: int,
            cold: bool = False) -> list[Target]:
    """The issue's targets that this workload's timings measure.

    Each method is taken at its best worker count, as a user would run it;
    ``cold`` says that the page cache was cold (which sets other goals for
    the layouts).
    """
    hand = _best(timings, lambda m: m.name == "hand")
    fast = (_best(timings, lambda m: m.spec == "lazyarray+numba")
            or _best(timings, lambda m: m.spec == "lazyarray"))
    numpy = _best(timings, lambda m: m.spec == "lazyarray+numpy")
    dask = _best(timings, lambda m: m.spec == "dask")
    best_dask = _best(timings, lambda m: m.name == "dask")
    rows = []

    def ratio(a: Timing | None, b: Timing | None, name: str, goal: float) -> None:
        if a is not None and b is not None:
            rows.append(Target(f"{a.label()} / {name or b.label()}", a.best / b.best, goal))

    if workload.key == "a":
        ratio(fast, hand, "hand loop", 0.4)
        ratio(fast, dask, "", 0.1)
        ratio(fast, best_dask, f"best dask ({best_dask.label()[6:]})" if best_dask else "", 0.3)
        ratio(numpy, hand, "hand loop", 0.8)
    elif workload.key == "a-gzip":
        for lazy in (fast, numpy):
            ratio(lazy, hand, "h5py read + hand loop", 0.6)
    elif workload.key == "c":
        ratio(_best(timings, lambda m: m.name == "lazyarray"), hand, "hand loop", 1.0)
    elif workload.layout and not workload.compressed:
        # Issue 18: where the raw read is the limit (uncompressed data),
        # lazyarray within 1.3 x of it warm, 1.15 x cold.
        lazy = _best(timings, lambda m: m.name == "lazyarray")
        raw = _best(timings, lambda m: m.name == "raw")
        ratio(lazy, raw, "raw read" + (" (cold)" if cold else ""), 1.15 if cold else 1.3)
        if workload.kind == "point":
            ratio(lazy, hand, f"h5py dset[:, {POINT[0]}, {POINT[1]}]", 1.3)
    lazy = [t for t in timings if t.method.name == "lazyarray"]
    if lazy:
        rss = max(max(t.peak_rss) for t in lazy) / MB
        rows.append(Target("lazyarray peak RSS, MB (all its runs)", rss,
                           round(memory_limit / MB + 150)))
    return rows


def probe_summary(results: dict[str, list[Timing]]) -> str:
    """Each method's time on the smallest chunks over its time on the largest."""
    small, large = (results.get(f"probe-{size}") for size in ("40KB", "4MB"))
    if not small or not large:
        return ""
    lines = ["Per-chunk overhead probe: time with 40 KB chunks / time with 4 MB chunks"]
    for t in large:
        if t.first_call:
            continue
        other = next((s for s in small if s.method == t.method and not s.first_call), None)
        if other is None:
            continue
        value = other.best / t.best
        if t.method.name == "lazyarray":
            lines.append(Target(t.label(), value, 1.5).line())
        else:
            note = "   (measured at 17 before)" if t.method.spec == "dask" else ""
            lines.append(f"  {t.label():<72}{value:>8.2f}{note}")
    return "\n".join(lines)


def _methods(args: argparse.Namespace, workload: Workload, numba: bool) -> list[Method]:
    """The methods to run on ``workload``, one per worker count for the threaded ones."""
    if args.methods:
        chosen = [Method.parse(m) for m in args.methods.split(",")]
        # The hand loop is the reference of every check and ratio.
        chosen = [Method("hand")] + [m for m in chosen if m.name != "hand"]
    elif workload.methods == "probe":
        chosen = [Method("raw"), Method("hand"), Method("lazyarray"), Method("dask")]
    elif workload.methods == "point":
        chosen = [Method("raw"), Method("hand"), Method("lazyarray"), Method("dask"),
                  Method("xarray")]
    else:
        sizes = [float(s) for s in args.dask_chunk_mb.split(",") if s]
        lazy = ([Method("lazyarray", kernels="numba"), Method("lazyarray", kernels="numpy")]
                if workload.methods == "kernels" else [Method("lazyarray")])
        chosen = ([Method("raw"), Method("hand")] + lazy + [Method("dask")]
                  + [Method("dask", size) for size in sizes])
        if workload.methods == "layouts":
            chosen.append(Method("xarray"))
    # What the workload's kind cannot run (xarray beyond the layouts) is left out.
    chosen = [m for m in chosen if m.name in KINDS[workload.kind].methods
              and (m.name != "xarray" or workload.store is not None)]
    if not numba:  # kernels="numba" would fail: say so in the table instead
        chosen = [m for m in chosen if m.kernels != "numba"]
    methods = []
    for method in chosen:
        if method.threaded:
            methods.extend(method.with_workers(n) for n in args.workers)
        else:
            methods.append(method)
    return methods


def _workers(text: str) -> list[int]:
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 1,2,4, got {text!r}")
    return counts


def _chosen(only: str) -> list[Workload]:
    keys = [key for name in only.split(",") for key in GROUPS.get(name, [name])]
    unknown = sorted(set(keys) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}: expected some of "
                         f"{', '.join([*WORKLOADS, *GROUPS])}")
    return [WORKLOADS[key] for key in dict.fromkeys(keys)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=4.0,
                        help="size of each array in GB (10**9 bytes); default 4 (N = 1000); "
                             "the probe uses half")
    parser.add_argument("--layout-gb", type=float, default=1.0,
                        help="size in GB of each array of the layouts (--only layouts); "
                             "default 1 (N = 250); their data shares benchmarks/data/bench-<N>/ "
                             "with --size-gb's of that size")
    parser.add_argument("--workers", type=_workers, default=[os.cpu_count() or 1],
                        help="threads for lazyarray and Dask; several (1,2,4) for a sweep, "
                             "each measured (default: the cores)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help="workloads to run, e.g. a,a-gzip,probe (default: all)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the best is shown (default 3)")
    parser.add_argument("--methods", default="",
                        help="methods to run, e.g. lazyarray+numba,dask@128 (default: all; "
                             "the hand loop always runs)")
    parser.add_argument("--dask-chunk-mb", default="64,128,256",
                        help="larger Dask chunk sizes to try, in MB (default 64,128,256)")
    parser.add_argument("--cold", nargs="?", const="auto", choices=("auto", "drop", "fadvise"),
                        help="evict the workload's files from the page cache before each "
                             "timed run: with /proc/sys/vm/drop_caches (drop), "
                             "posix_fadvise (fadvise) or the first that works (auto, the "
                             "default of a bare --cold); without it the cache is warm")
    parser.add_argument("--measure", nargs=2, metavar=("WORKLOAD", "METHOD"),
                        help="run one measurement in this process and print it as JSON")
    parser.add_argument("--check", type=Path, help="with --measure: save results to this .npz")
    parser.add_argument("--profile", type=int, default=0, metavar="LINES",
                        help="with --measure: print a profile of all threads to stderr")
    parser.add_argument("--record", type=Path, default=RESULTS,
                        help=f"append the tables to this file (default {RESULTS.name} beside "
                             "this script; '-' for none)")
    args = parser.parse_args(argv)
    data = args.data = Data.of_size(args.size_gb)
    args.layout_data = Data.of_size(args.layout_gb)

    if args.measure:
        key, method = args.measure
        if key not in WORKLOADS or len(args.workers) != 1:
            raise SystemExit("--measure takes one workload (not a group) and one worker count")
        # The data must exist (the parent makes it): generating it here would
        # count in this process's peak memory.
        result = measure(WORKLOADS[key], Method.parse(method).with_workers(args.workers[0]),
                         data_of(WORKLOADS[key], args), args.check, args.profile)
        print(json.dumps(result))
        return

    chosen = _chosen(args.only)
    numba = importlib.util.find_spec("numba") is not None
    from lazyarray.options import get_options

    memory_limit = get_options().memory_limit
    cache = ("warm: each workload's raw read ran once first" if args.cold is None else
             f"cold: the workload's files evicted before each timed run (--cold {args.cold})")
    if args.cold is None and any(w.cold for w in chosen):
        cache += ("; those marked 'cold cache' evict their files (posix_fadvise) before each "
                  "timed run instead")
    def describe(d: Data) -> str:
        return f"{d.directory.name}, float32 arrays of {d.shape} ({d.nbytes / GB:.2f} GB each)"

    described = [describe(data)]
    if any(w.layout for w in chosen):
        described = ([] if all(w.layout for w in chosen) else [described[0] + "; layouts:"])
        described.append(describe(args.layout_data))
    sizes = " ".join(described)
    heading = (
        f"{machine()}\nData: {sizes}; storage in each title. Every measurement runs in "
        f"a fresh process, best of {args.repeat}; workers {', '.join(map(str, args.workers))} "
        f"for lazyarray and Dask. Page cache {cache}. 'peak RSS' is the process's, 'at start' "
        "its level after imports, before the job. '1st call': numba's cache empty "
        "(NUMBA_CACHE_DIR a new directory), which the warm runs then reuse.\n"
    )
    if not numba:
        heading += "numba is not installed: lazyarray+numba is skipped.\n"
    print(heading, flush=True)
    record = None if str(args.record) == "-" else args.record
    if record is not None:
        with open(record, "a") as f:
            f.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')}: benchmarks/run.py "
                    f"{' '.join(sys.argv[1:]) or '(defaults)'}\n\n```\n{heading}```\n")
    probes: dict[str, list[Timing]] = {}
    probing = [w.key for w in chosen if w.key in GROUPS["probe"]]
    with tempfile.TemporaryDirectory(prefix="lazyarray-bench-") as scratch:
        for workload in chosen:
            methods = _methods(args, workload, numba)
            its_data = data_of(workload, args)
            timings, cache_state = run_workload(workload, methods, its_data, args, Path(scratch))
            report = table(workload, timings, its_data, cache_state)
            cold = cache_state.cold is not None
            goals = targets(workload, timings, memory_limit, cold)
            if goals:
                # The issue sets its targets for a warm cache, but for the
                # cold layout of issue 18.
                state = ("" if not cold or workload.layout
                         else ", set for a warm cache, measured cold")
                report += f"\nTargets for ({workload.key}){state}:\n" + "\n".join(
                    t.line() for t in goals)
            if workload.key in probing:
                probes[workload.key] = timings
                if len(probes) == len(probing):  # the last of the probe's workloads
                    report += "\n\n" + probe_summary(probes)
            print(report + "\n", flush=True)
            if record is not None:  # each workload as it completes
                with open(record, "a") as f:
                    f.write(f"\n```\n{report}\n```\n")


if __name__ == "__main__":
    main()
