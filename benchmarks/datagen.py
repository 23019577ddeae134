"""Generate realistic sample data for the demo and the benchmarks.

The data is a synthetic daily surface air temperature (``tas``, in kelvin,
float32) on a regular latitude-longitude grid. It has the structure real model
output has, so that compression, chunked reads and anomaly maths behave as they
would on real data:

* a mean that falls from about 301 K at the equator to 253 K (north) and
  243 K (south) at the poles;
* continents (about a third of the grid cells, Antarctica included) from
  smooth random harmonics, with orography that cools them at 6.5 K/km;
* a seasonal cycle, opposite in the two hemispheres, stronger over land and
  towards the poles, and lagging by a month over the sea;
* weather: an AR(1) process in time (lag-one correlation 0.7) of spatially
  smooth noise (features of about 10 degrees), stronger at high latitudes,
  plus a little white noise.

Everything is seeded and deterministic. Time runs on a 365-day ("noleap")
calendar, as in many climate models. Fields are generated slab by slab, so
memory stays bounded (about ``max_bytes``) whatever the size of the output.

Files are written under a temporary name and renamed into place when complete,
with a JSON ``datagen`` attribute describing their content. A file that exists
with the expected attribute is therefore complete and up to date, and is not
written again; one with another attribute is replaced.

Examples
--------
Build the demo sample (about 430 MB, in ``benchmarks/data/``):

>>> sample = make_sample()  # doctest: +SKIP

Or a field of another shape for a benchmark, e.g. 2000 days of 1000 x 1000:

>>> model = SurfaceTemperature(Grid(1000, 1000), seed=1)  # doctest: +SKIP
>>> write_temperature_hdf5("big.h5", model, ndays=2000,
...                        chunks=(1, 1000, 1000))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import zarr

__all__ = [
    "DATA_DIR",
    "DAYS_PER_YEAR",
    "Grid",
    "Sample",
    "SurfaceTemperature",
    "make_sample",
    "slab_length",
    "write_climatology_zarr",
    "write_hdf5",
    "write_temperature_hdf5",
    "write_zarr",
]

#: Where generated data goes (ignored by git).
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Length of a year in the "noleap" calendar the data uses.
DAYS_PER_YEAR = 365

# Bump when the model changes: files written by an older model are regenerated.
MODEL_VERSION = 1

MiB = 2**20
SPEC_ATTRIBUTE = "datagen"

# Independent random streams of one seed, so that the continents do not change
# when the weather is drawn for other days, and each file's weather depends
# only on (seed, first day), not on which files were generated before it.
_LAND_STREAM = 1
_WEATHER_STREAM = 2
_WHITE_STREAM = 3

# Weather: lag-one autocorrelation of daily anomalies, coarse grid of the
# smooth noise (18 x 36 nodes: one per 10 degrees) and white noise in kelvin.
_AR1 = 0.7
_COARSE = (18, 36)
_WHITE_NOISE = 0.3


@dataclass(frozen=True)
class Grid:
    """A regular latitude-longitude grid of cell centres.

    Latitudes run from north to south (as in ERA5), longitudes eastwards from
    the Greenwich meridian.

    Parameters
    ----------
    nlat, nlon : int
        Number of rows and columns.

    Examples
    --------
    >>> g = Grid(4, 8)
    >>> g.lat.tolist(), g.lon[:3].tolist()
    ([67.5, 22.5, -22.5, -67.5], [22.5, 67.5, 112.5])
    """

    nlat: int
    nlon: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(nlat, nlon)``."""
        return (self.nlat, self.nlon)

    @property
    def lat(self) -> np.ndarray:
        """Latitudes of the rows, in degrees north, decreasing."""
        return 90 - (np.arange(self.nlat) + 0.5) * (180 / self.nlat)

    @property
    def lon(self) -> np.ndarray:
        """Longitudes of the columns, in degrees east, from 0 to 360."""
        return (np.arange(self.nlon) + 0.5) * (360 / self.nlon)


def _interpolation_weights(fine: np.ndarray, nodes: int, periodic: bool) -> np.ndarray:
    """Matrix of linear interpolation from ``nodes`` (at least 2) coarse nodes.

    ``fine`` holds positions in units of coarse cells (node ``k`` sits at
    ``k + 0.5``). A periodic axis wraps around; another is clamped at its ends.
    """
    position = fine - 0.5
    if periodic:
        position = position % nodes
        low = np.floor(position).astype(int)
        weight = position - low
        high = (low + 1) % nodes
    else:
        position = np.clip(position, 0, nodes - 1)
        low = np.minimum(np.floor(position).astype(int), nodes - 2)
        weight = position - low
        high = low + 1
    matrix = np.zeros((fine.size, nodes))
    rows = np.arange(fine.size)
    matrix[rows, low] += 1 - weight
    matrix[rows, high] += weight
    return matrix


class SurfaceTemperature:
    """A deterministic synthetic daily surface temperature field, in kelvin.

    Parameters
    ----------
    grid : Grid
        The horizontal grid.
    seed : int
        Seeds the continents and the weather.

    Examples
    --------
    >>> model = SurfaceTemperature(Grid(18, 36), seed=0)
    >>> july, = model.climatology([195])
    >>> bool(july[2].mean() > july[-3].mean())  # northern summer, southern winter
    True
    >>> slabs = list(model.daily(start_day=0, ndays=10, slab_days=4))
    >>> [s.shape for s in slabs]
    [(4, 18, 36), (4, 18, 36), (2, 18, 36)]
    >>> whole = np.concatenate(list(model.daily(0, 10)))  # slabs change no draw
    >>> np.allclose(np.concatenate(slabs), whole, rtol=0, atol=1e-4)
    True
    """

    def __init__(self, grid: Grid, seed: int = 0):
        self.grid = grid
        self.seed = int(seed)

    def spec(self) -> dict[str, Any]:
        """What determines the field: recorded in files to recognise them."""
        return {
            "model": type(self).__name__,
            "version": MODEL_VERSION,
            "grid": list(self.grid.shape),
            "seed": self.seed,
        }

    def _harmonics(self, rng: np.random.Generator, terms: int) -> np.ndarray:
        """A smooth random field of low zonal and meridional wavenumbers."""
        phi = np.radians(self.grid.lat)[:, None]
        lam = np.radians(self.grid.lon)[None, :]
        field = np.zeros(self.grid.shape)
        for _ in range(terms):
            m, n = rng.integers(1, 5, size=2)
            amplitude = rng.normal() / np.hypot(m, n)
            phase_lon, phase_lat = rng.uniform(0, 2 * np.pi, size=2)
            field += amplitude * np.cos(m * lam + phase_lon) * np.cos(n * phi + phase_lat)
        return field

    @cached_property
    def _static(self) -> dict[str, np.ndarray]:
        """Fields that do not change with time, float32 of shape ``grid.shape``."""
        rng = np.random.default_rng([self.seed, _LAND_STREAM])
        lat = self.grid.lat[:, None]
        sin_lat = np.sin(np.radians(lat))
        # Continents: the top 30 % of a smooth field, with soft coasts, plus
        # Antarctica south of about 67 S.
        shape = self._harmonics(rng, terms=12)
        coast = np.quantile(shape, 0.7)
        land = 0.5 + 0.5 * np.tanh((shape - coast) / (0.1 * shape.std()))
        land = np.maximum(land, 0.5 - 0.5 * np.tanh((lat + 67) / 3))
        relief = self._harmonics(rng, terms=8)
        relief = (relief - relief.min()) / np.ptp(relief)
        elevation_km = land * (0.2 + 2.5 * relief**2)
        mean = 301 - 48 * sin_lat**2 - 10 * sin_lat**4 * (lat < 0) - 6.5 * elevation_km
        # Seasonal cycle A cos(w (d - lag)), split as cos(w d) P + sin(w d) Q so
        # that a day costs two multiply-adds per point.
        amplitude = (1 + 14 * np.abs(sin_lat) ** 1.5) * (0.4 + land) * np.sign(lat)
        lag = 2 * np.pi * (200 + 30 * (1 - land)) / DAYS_PER_YEAR
        sigma = (0.8 + 3.5 * np.abs(sin_lat)) * (0.6 + 0.6 * land)
        return {
            "land": land.astype(np.float32),
            "mean": mean.astype(np.float32),
            "cos": (amplitude * np.cos(lag)).astype(np.float32),
            "sin": (amplitude * np.sin(lag)).astype(np.float32),
            "sigma": sigma.astype(np.float32),
        }

    @property
    def land_fraction(self) -> np.ndarray:
        """Fraction of land in each cell, from 0 (sea) to 1, float32."""
        return self._static["land"]

    def climatology(self, days: Sequence[int] | np.ndarray) -> np.ndarray:
        """The expected temperature (no weather) of the given days, in kelvin.

        Parameters
        ----------
        days : sequence of int
            Day numbers; only the day of the year (``day % 365``) matters.

        Returns
        -------
        numpy.ndarray of float32, shape ``(len(days),) + grid.shape``
        """
        out = np.zeros((len(days),) + self.grid.shape, np.float32)
        scratch = np.empty(self.grid.shape, np.float32)
        for i, day in enumerate(days):
            self._add_climatology(int(day), out[i], scratch)
        return out

    def _add_climatology(self, day: int, out: np.ndarray, scratch: np.ndarray) -> None:
        """Add the climatology of ``day`` to ``out`` (float32, in place).

        ``scratch`` is a reused buffer of the grid's shape: fresh temporaries
        per day would cost page faults at every operation.
        """
        static = self._static
        angle = 2 * np.pi * (day % DAYS_PER_YEAR) / DAYS_PER_YEAR
        out += static["mean"]
        out += np.multiply(static["cos"], np.float32(np.cos(angle)), out=scratch)
        out += np.multiply(static["sin"], np.float32(np.sin(angle)), out=scratch)

    def daily(self, start_day: int = 0, ndays: int = DAYS_PER_YEAR,
              slab_days: int = 64) -> Iterator[np.ndarray]:
        """Daily temperatures, weather included, slab by slab along time.

        The weather of a call depends only on ``seed`` and ``start_day``: it
        starts from a random state drawn from its stationary distribution, so
        files generated separately (one per year, say) are each reproducible.

        Parameters
        ----------
        start_day : int
            Day number of the first day (0 is 1 January of the first year).
        ndays : int
            Number of days.
        slab_days : int
            Days per yielded slab; a slab takes ``slab_days * nlat * nlon * 4``
            bytes.

        Yields
        ------
        numpy.ndarray of float32, shape ``(n, nlat, nlon)``
            Consecutive slabs, ``n == slab_days`` except maybe for the last.
        """
        if ndays < 0 or slab_days < 1:
            raise ValueError(f"need ndays >= 0 and slab_days >= 1, got {ndays} and {slab_days}")
        static = self._static
        weather = np.random.default_rng([self.seed, _WEATHER_STREAM, start_day])
        white = np.random.default_rng([self.seed, _WHITE_STREAM, start_day])
        ny, nx = _COARSE
        to_lat = _interpolation_weights((90 - self.grid.lat) / (180 / ny), ny, periodic=False)
        to_lon = _interpolation_weights(self.grid.lon / (360 / nx), nx, periodic=True)
        # Interpolating white noise shrinks its variance between nodes;
        # dividing by the interpolated variance gives unit variance everywhere.
        variance = (to_lat**2).sum(1)[:, None] * (to_lon**2).sum(1)[None, :]
        scale = (static["sigma"] / np.sqrt(variance)).astype(np.float32)
        to_lat = to_lat.astype(np.float32)
        to_lon_t = to_lon.T.astype(np.float32)
        # The AR(1) recursion runs on the coarse nodes (interpolation is
        # linear, so it commutes), and a whole slab is interpolated in two
        # matrix products: far cheaper than a product per day.
        state = weather.standard_normal(_COARSE)
        innovation = np.sqrt(1 - _AR1**2)
        # White noise: uniform on 256 levels, with standard deviation
        # _WHITE_NOISE. Drawing bytes is several times cheaper than drawing
        # floats (which dominated the cost), and the levels vanish in the sum.
        step = np.float32(_WHITE_NOISE * np.sqrt(12) / 256)
        offset = np.float32(-127.5) * step
        noise = np.empty(self.grid.shape, np.float32)
        for first in range(0, ndays, slab_days):
            n = min(slab_days, ndays - first)
            coarse = np.empty((n,) + _COARSE, np.float32)
            for i in range(n):
                # Draws go day by day, so they do not depend on slab_days.
                if first + i:  # day 0 keeps the stationary initial state
                    state = _AR1 * state + innovation * weather.standard_normal(_COARSE)
                coarse[i] = state
            slab = np.empty((n,) + self.grid.shape, np.float32)
            np.matmul((to_lat @ coarse).reshape(-1, nx), to_lon_t,
                      out=slab.reshape(-1, self.grid.nlon))
            for i in range(n):
                day = slab[i]
                day *= scale
                self._add_climatology(start_day + first + i, day, noise)
                np.multiply(white.integers(0, 256, self.grid.shape, np.uint8), step, out=noise)
                noise += offset
                day += noise
            yield slab


def slab_length(shape: Sequence[int], chunks: Sequence[int] | None, itemsize: int,
                max_bytes: int = 64 * MiB) -> int:
    """Rows of axis 0 to generate and write at once.

    A whole number of storage chunks along axis 0 (so compressed chunks are
    written once, never read back and rewritten), as many as fit
    ``max_bytes``, at least one chunk.

    Parameters
    ----------
    shape : sequence of int
        Shape of the whole array.
    chunks : sequence of int or None
        Its storage chunks (``None``: contiguous).
    itemsize : int
        Bytes per element.
    max_bytes : int
        Memory to use for one slab, in bytes.

    Examples
    --------
    >>> slab_length((365, 180, 360), (8, 180, 360), 4)
    256
    >>> slab_length((10, 1000, 1000), (1, 1000, 1000), 4, max_bytes=2**20)
    1
    """
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * itemsize
    step = chunks[0] if chunks else 1
    rows = max(1, max_bytes // max(row_bytes, 1)) // step * step
    return int(min(max(rows, step), max(shape[0], 1)))


def _read_spec(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _normalised_spec(spec: Mapping[str, Any]) -> Any:
    # A JSON round trip makes tuples lists, as they are when read back.
    return json.loads(json.dumps(spec, sort_keys=True))


def _hdf5_is_current(path: Path, name: str, spec: Mapping[str, Any]) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return name in f and _read_spec(f[name].attrs.get(SPEC_ATTRIBUTE)) == spec
    except OSError:  # missing or not HDF5
        return False


def _zarr_is_current(path: Path, spec: Mapping[str, Any]) -> bool:
    if not path.is_dir():
        return False
    try:
        array = zarr.open_array(path, mode="r")
    except (OSError, ValueError):  # missing, or not a Zarr array
        return False
    return _read_spec(array.attrs.get(SPEC_ATTRIBUTE)) == spec


def _temporary(path: Path) -> Path:
    # Unique per process, so that two runs never write into the same file.
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _replace(temporary: Path, path: Path) -> None:
    """Move a complete ``temporary`` file or directory to ``path``."""
    if path.is_dir():
        # A directory cannot be replaced atomically: move the old one aside
        # first, so that ``path`` is never a half-deleted store.
        old = path.with_name(f".{path.name}.{os.getpid()}.old")
        os.replace(path, old)
        os.replace(temporary, path)
        shutil.rmtree(old)
    else:
        os.replace(temporary, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _write_slabs(target: Any, slabs: Iterable[np.ndarray], shape: tuple[int, ...],
                 where: str) -> None:
    """Write consecutive slabs along axis 0 into ``target``, checking they fit."""
    row = 0
    for slab in slabs:
        if slab.shape[1:] != shape[1:] or row + slab.shape[0] > shape[0]:
            raise ValueError(
                f"{where}: slab of shape {slab.shape} at row {row} does not fit shape {shape}"
            )
        target[row:row + slab.shape[0]] = slab
        row += slab.shape[0]
    if row != shape[0]:
        raise ValueError(f"{where}: slabs covered {row} rows of axis 0, expected {shape[0]}")


def write_hdf5(path: str | os.PathLike[str], name: str, slabs: Iterable[np.ndarray], *,
               shape: Sequence[int], dtype: Any, chunks: Sequence[int] | None,
               spec: Mapping[str, Any], compression: str | None = None,
               compression_opts: Any = None, shuffle: bool = False,
               attrs: Mapping[str, Any] | None = None,
               extra: Mapping[str, tuple[np.ndarray, Mapping[str, Any]]] | None = None,
               log: Callable[[str], Any] | None = None) -> bool:
    """Write a dataset slab by slab into a new HDF5 file, unless it is current.

    Steps:

    1. If ``path`` holds dataset ``name`` whose ``datagen`` attribute equals
       ``spec``, return ``False`` without consuming ``slabs``.
    2. Write everything into a temporary file next to ``path``; the ``spec``
       attribute goes last.
    3. Rename the temporary file to ``path`` (replacing any older file); on
       any error, delete it instead.

    Parameters
    ----------
    path : path-like
        The file to create.
    name : str
        Name of the dataset.
    slabs : iterable of numpy.ndarray
        Consecutive slabs along axis 0 that together make ``shape``; consumed
        lazily, one at a time.
    shape : sequence of int
    dtype : numpy dtype-like
    chunks : sequence of int or None
        HDF5 chunk shape; ``None`` for a contiguous dataset.
    spec : mapping
        JSON-serialisable description of the content, to recognise the file.
    compression, compression_opts, shuffle
        Passed to ``h5py.File.create_dataset`` (e.g. ``"gzip"``, ``1``).
    attrs : mapping, optional
        Attributes of the dataset (units, names...).
    extra : mapping, optional
        Other small datasets to write, ``name: (data, attrs)`` (coordinates).
    log : callable, optional
        Called with a line of text when the file is about to be written.

    Returns
    -------
    bool
        Whether the file was written.
    """
    path = Path(path)
    spec = _normalised_spec(spec)
    if _hdf5_is_current(path, name, spec):
        return False
    if log:
        log(f"writing {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    shape = tuple(int(n) for n in shape)
    try:
        with h5py.File(temporary, "w") as f:
            dataset = f.create_dataset(
                name, shape=shape, dtype=dtype, chunks=tuple(chunks) if chunks else None,
                compression=compression, compression_opts=compression_opts, shuffle=shuffle,
            )
            dataset.attrs.update(dict(attrs or {}))
            for extra_name, (data, extra_attrs) in (extra or {}).items():
                f.create_dataset(extra_name, data=data).attrs.update(dict(extra_attrs))
            _write_slabs(dataset, slabs, shape, f"write_hdf5({path.name!r})")
            dataset.attrs[SPEC_ATTRIBUTE] = json.dumps(spec, sort_keys=True)
        _replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    return True


def write_zarr(path: str | os.PathLike[str], slabs: Iterable[np.ndarray], *,
               shape: Sequence[int], dtype: Any, chunks: Sequence[int],
               spec: Mapping[str, Any], shards: Sequence[int] | None = None,
               compressors: Any = "auto", attributes: Mapping[str, Any] | None = None,
               dimension_names: Sequence[str] | None = None,
               log: Callable[[str], Any] | None = None) -> bool:
    """Write a Zarr (v3) array slab by slab into a new local store, unless it is current.

    Works as :func:`write_hdf5` does: skip when the ``datagen`` attribute of
    the array at ``path`` equals ``spec``, else write into a temporary
    directory and rename it into place when complete.

    Parameters
    ----------
    path : path-like
        The store directory to create (e.g. ``clim.zarr``).
    slabs : iterable of numpy.ndarray
        Consecutive slabs along axis 0 that together make ``shape``.
    shape : sequence of int
    dtype : numpy dtype-like
    chunks : sequence of int
        Zarr chunk shape.
    spec : mapping
        JSON-serialisable description of the content.
    shards : sequence of int, optional
        Shard shape, for sharded arrays.
    compressors : optional
        Passed to ``zarr.create_array``; ``"auto"`` is Zarr's default (zstd),
        ``None`` stores raw chunks.
    attributes : mapping, optional
        User attributes (units, names...).
    dimension_names : sequence of str, optional
    log : callable, optional
        Called with a line of text when the array is about to be written.

    Returns
    -------
    bool
        Whether the array was written.
    """
    path = Path(path)
    spec = _normalised_spec(spec)
    if _zarr_is_current(path, spec):
        return False
    if log:
        log(f"writing {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    shape = tuple(int(n) for n in shape)
    try:
        array = zarr.create_array(
            store=str(temporary), shape=shape, dtype=dtype, chunks=tuple(chunks),
            shards=tuple(shards) if shards else None, compressors=compressors,
            attributes=dict(attributes or {}),
            dimension_names=tuple(dimension_names) if dimension_names else None,
        )
        _write_slabs(array, slabs, shape, f"write_zarr({path.name!r})")
        array.attrs[SPEC_ATTRIBUTE] = json.dumps(spec, sort_keys=True)
        _replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    return True


_TAS_ATTRS = {
    "standard_name": "air_temperature",
    "long_name": "Near-surface air temperature (synthetic)",
    "units": "K",
}


def _coordinates(grid: Grid, days: np.ndarray, epoch_year: int) -> dict[str, Any]:
    return {
        "time": (days.astype(np.float64), {
            "units": f"days since {epoch_year:04d}-01-01", "calendar": "noleap"}),
        "lat": (grid.lat, {"units": "degrees_north"}),
        "lon": (grid.lon, {"units": "degrees_east"}),
    }


def write_temperature_hdf5(path: str | os.PathLike[str], model: SurfaceTemperature, *,
                           start_day: int = 0, ndays: int = DAYS_PER_YEAR,
                           chunks: Sequence[int] | None = (8, 180, 360),
                           compression: str | None = None, compression_opts: Any = None,
                           shuffle: bool = False, epoch_year: int = 2001,
                           max_bytes: int = 64 * MiB,
                           log: Callable[[str], Any] | None = None) -> bool:
    """Write ``ndays`` of the model's daily temperature as dataset ``tas`` of an HDF5 file.

    The file also holds ``time``, ``lat`` and ``lon`` coordinates. It is
    skipped when already complete with the same content.

    Parameters
    ----------
    path : path-like
    model : SurfaceTemperature
    start_day : int
        Day number of the first day, counted from 1 January of ``epoch_year``.
    ndays : int
        Length of the time axis.
    chunks : sequence of int or None
        HDF5 chunk shape of ``tas``, clipped to its shape.
    compression, compression_opts, shuffle
        HDF5 filters, as for ``h5py.File.create_dataset``.
    epoch_year : int
        Year of day 0, for the time units.
    max_bytes : int
        Memory for one generated slab, in bytes.
    log : callable, optional
        Called with a line of text when the file is about to be written.

    Returns
    -------
    bool
        Whether the file was written.
    """
    shape = (ndays,) + model.grid.shape
    if chunks is not None:
        chunks = tuple(min(c, n) for c, n in zip(chunks, shape))
    spec = {
        **model.spec(), "variable": "tas", "start_day": start_day, "ndays": ndays,
        "chunks": chunks, "compression": compression, "compression_opts": compression_opts,
        "shuffle": shuffle, "epoch_year": epoch_year,
    }
    rows = slab_length(shape, chunks, 4, max_bytes)
    days = np.arange(start_day, start_day + ndays)
    return write_hdf5(
        path, "tas", model.daily(start_day, ndays, rows), shape=shape, dtype=np.float32,
        chunks=chunks, spec=spec, compression=compression, compression_opts=compression_opts,
        shuffle=shuffle, attrs=_TAS_ATTRS, extra=_coordinates(model.grid, days, epoch_year),
        log=log,
    )


def write_climatology_zarr(path: str | os.PathLike[str], model: SurfaceTemperature, *,
                           chunks: Sequence[int] = (73, 45, 90),
                           compressors: Any = "auto", max_bytes: int = 64 * MiB,
                           log: Callable[[str], Any] | None = None) -> bool:
    """Write the model's daily climatology (365 days, no weather) as a Zarr array.

    It is the expected value of :meth:`SurfaceTemperature.daily` for each day
    of the year, so ``tas - climatology`` is the weather alone.

    Parameters
    ----------
    path : path-like
        The store directory to create.
    model : SurfaceTemperature
    chunks : sequence of int
        Zarr chunk shape, clipped to ``(365, nlat, nlon)``.
    compressors : optional
        Passed to ``zarr.create_array`` (``"auto"``: zstd).
    max_bytes : int
        Memory for one generated slab, in bytes.
    log : callable, optional
        Called with a line of text when the array is about to be written.

    Returns
    -------
    bool
        Whether the array was written.
    """
    shape = (DAYS_PER_YEAR,) + model.grid.shape
    chunks = tuple(min(c, n) for c, n in zip(chunks, shape))
    spec = {**model.spec(), "variable": "tas_clim", "chunks": chunks,
            "compressors": str(compressors)}
    rows = slab_length(shape, chunks, 4, max_bytes)
    slabs = (model.climatology(range(first, min(first + rows, DAYS_PER_YEAR)))
             for first in range(0, DAYS_PER_YEAR, rows))
    return write_zarr(
        path, slabs, shape=shape, dtype=np.float32, chunks=chunks, spec=spec,
        compressors=compressors, dimension_names=("dayofyear", "lat", "lon"),
        attributes={**_TAS_ATTRS, "long_name": "Daily climatology of tas (synthetic)",
                    "lat": model.grid.lat.tolist(), "lon": model.grid.lon.tolist()},
        log=log,
    )


@dataclass(frozen=True)
class Sample:
    """The files of a generated sample.

    Attributes
    ----------
    tas_paths : tuple of Path
        One HDF5 file per year, each with dataset ``tas`` of shape
        ``(365, nlat, nlon)`` and coordinates ``time``, ``lat``, ``lon``.
    clim_path : Path
        A Zarr array of shape ``(365, nlat, nlon)``: the daily climatology.
    years : tuple of int
        The year of each file of ``tas_paths``.
    grid : Grid
    written : int
        How many files this call generated (0 when all were up to date).
    """

    tas_paths: tuple[Path, ...]
    clim_path: Path
    years: tuple[int, ...]
    grid: Grid
    written: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of all years of ``tas`` joined along time."""
        return (DAYS_PER_YEAR * len(self.years),) + self.grid.shape

    @property
    def nbytes(self) -> int:
        """Size of all years of ``tas`` in memory, in bytes."""
        return int(np.prod(self.shape)) * 4

    def disk_bytes(self) -> int:
        """Size of all files on disk, in bytes."""
        files = list(self.tas_paths) + [p for p in self.clim_path.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in files)


def make_sample(directory: str | os.PathLike[str] = DATA_DIR, *, first_year: int = 2001,
                years: int = 4, grid: Grid = Grid(180, 360),
                chunks: Sequence[int] = (8, 180, 360),
                clim_chunks: Sequence[int] = (73, 45, 90), seed: int = 0,
                compression: str | None = None,
                log: Callable[[str], Any] | None = None) -> Sample:
    """Generate the demo sample, or find it up to date.

    With the defaults: four HDF5 files ``tas_day_<year>.h5`` of
    ``(365, 180, 360)`` float32 (95 MB each, 2 MB chunks of eight daily maps)
    and the Zarr array ``tas_clim.zarr`` of the same shape (zstd-compressed).

    Parameters
    ----------
    directory : path-like
        Where the files go.
    first_year, years : int
        The years to generate, one file each.
    grid : Grid
    chunks : sequence of int
        HDF5 chunk shape.
    clim_chunks : sequence of int
        Zarr chunk shape of the climatology.
    seed : int
    compression : str, optional
        HDF5 compression filter (``"gzip"``, ``"lzf"``); none by default, so
        that reads measure lazyarray rather than the codec.
    log : callable, optional
        Called with a line of text before each file is written.

    Returns
    -------
    Sample
    """
    directory = Path(directory)
    model = SurfaceTemperature(grid, seed)
    year_list = tuple(range(first_year, first_year + years))
    written = 0
    paths = []
    for i, year in enumerate(year_list):
        path = directory / f"tas_day_{year}.h5"
        written += write_temperature_hdf5(
            path, model, start_day=i * DAYS_PER_YEAR, chunks=chunks,
            compression=compression, epoch_year=first_year, log=log,
        )
        paths.append(path)
    clim_path = directory / "tas_clim.zarr"
    written += write_climatology_zarr(clim_path, model, chunks=clim_chunks, log=log)
    return Sample(tuple(paths), clim_path, year_list, grid, written)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: generate the demo sample (``python benchmarks/datagen.py``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=DATA_DIR, type=Path, help="output directory")
    parser.add_argument("--years", default=4, type=int, help="number of yearly files")
    parser.add_argument("--seed", default=0, type=int)
    args = parser.parse_args(argv)
    sample = make_sample(args.dir, years=args.years, seed=args.seed, log=print)
    print(f"{len(sample.tas_paths)} HDF5 files and 1 Zarr array in {args.dir}: "
          f"{sample.disk_bytes() / 1e6:.0f} MB on disk, {sample.written} written now")


if __name__ == "__main__":
    main()
