"""The main job of lazyarray, end to end, checked against plain numpy (``make demo``).

Steps:

1. Generate the sample if it is missing (:mod:`datagen`): four yearly HDF5
   files of daily temperature and a Zarr array of its daily climatology.
2. Wrap them lazily: the four files become one ``LinearMosaic`` along time.
3. A regional job: winter 2002/03 (crossing a file boundary) over Europe
   (a longitude index list across the Greenwich meridian, latitudes turned
   south-to-north by a negative step), in degrees Celsius, as anomalies from
   the climatology (selected by an unsorted day-of-year list) and packed into
   int16 hundredths of a kelvin, realised together with ``ndarrays``.
4. A global job: the anomaly of every day of the four years, realised with
   ``.ndarray()`` tile by tile.
5. The same computed with numpy on data read directly with h5py and zarr;
   results must be equal in shape, dtype and every value.

Exits with status 1 if any result differs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import datagen
import h5py
import numpy as np
import zarr

import lazyarray as la

MB = 1e6

# Packing as CF's scale_factor does: int16 in hundredths of a kelvin.
PACKING_SCALE = 0.01


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """``func()`` and how long it took, in seconds."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def describe(name: str, array: Any) -> str:
    return f"{name:<20} {array.shape!s:<18} {array.dtype!s:<8} {array.nbytes / MB:8.1f} MB"


def compare(name: str, actual: np.ndarray, expected: np.ndarray) -> bool:
    """Print whether ``actual`` equals ``expected`` exactly (shape, dtype, values)."""
    same = (
        actual.shape == expected.shape
        and actual.dtype == expected.dtype
        and np.array_equal(actual, expected)
    )
    if same:
        print(f"  {name:<20} identical to numpy: {actual.shape} {actual.dtype}")
    else:
        detail = f"got {actual.shape} {actual.dtype}, numpy {expected.shape} {expected.dtype}"
        if actual.shape == expected.shape:
            wrong = np.count_nonzero(actual != expected)
            detail += f", {wrong} of {actual.size} values differ"
        print(f"  {name:<20} MISMATCH: {detail}")
    return same


class Region(NamedTuple):
    """The selection of the regional job."""

    time: slice  # on the four-year time axis
    lat: slice  # south to north: a negative step, as files store north to south
    lon: np.ndarray  # west to east across Greenwich: an unsorted index list
    day_of_year: np.ndarray  # of each day of ``time``: unsorted, it wraps at New Year
    rows: slice  # the latitude rows as stored (north to south), for plain reads


def europe_winter(lat: np.ndarray, lon: np.ndarray) -> Region:
    """15 November 2002 to 15 February 2003, 35-70N, 10W-40E, from the coordinates."""
    # Day-of-year 318 of the second file to day-of-year 45 of the third (noleap).
    start = 1 * datagen.DAYS_PER_YEAR + 318
    stop = 2 * datagen.DAYS_PER_YEAR + 46
    rows = np.flatnonzero((lat >= 35) & (lat <= 70))
    south_to_north = slice(rows[-1], rows[0] - 1 if rows[0] else None, -1)
    east = (lon + 180) % 360 - 180
    columns = np.flatnonzero((east >= -10) & (east <= 40))
    columns = columns[np.argsort(east[columns])]
    day_of_year = np.arange(start, stop) % datagen.DAYS_PER_YEAR
    return Region(slice(start, stop), south_to_north, columns, day_of_year,
                  slice(rows[0], rows[-1] + 1))


def main() -> int:
    print("lazyarray demo: daily temperature, 4 HDF5 files + a Zarr climatology\n")
    total = time.perf_counter()

    sample, seconds = timed(lambda: datagen.make_sample(log=lambda line: print(f"  {line}")))
    state = f"generated {sample.written} files" if sample.written else "already there"
    print(f"sample: {state} in {seconds:.1f} s, {sample.disk_bytes() / MB:.0f} MB on disk, "
          f"in {datagen.DATA_DIR}")

    # 1. Open the files and build the lazy graph: nothing is read here.
    # rdcc_nbytes=0: most reads here cover whole chunks, which HDF5's chunk
    # cache would only copy once more (and it takes memory per open file).
    files = [h5py.File(path, "r", rdcc_nbytes=0) for path in sample.tas_paths]
    clim_store = zarr.open_array(sample.clim_path, mode="r")
    lat, lon = files[0]["lat"][:], files[0]["lon"][:]
    region = europe_winter(lat, lon)

    def build() -> dict[str, la.Array]:
        tas = la.LinearMosaic([la.asarray(f["tas"]) for f in files], axis=0)
        clim = la.asarray(clim_store)
        winter = tas[region.time, region.lat, region.lon]
        winter_clim = clim[region.day_of_year, region.lat, region.lon]
        anomaly = winter - winter_clim
        return {
            "tas": tas,
            "winter_celsius": winter - 273.15,
            "winter_anomaly": anomaly,
            "winter_packed": la.rint(anomaly / PACKING_SCALE).astype(np.int16),
            # The climatology repeated once per year, lazily: the same Zarr
            # array four times in one mosaic.
            "anomaly": tas - la.LinearMosaic([clim] * len(files), axis=0),
        }

    lazy, build_seconds = timed(build)
    print(f"\nlazy graph built in {build_seconds * 1e3:.1f} ms, nothing read yet:")
    for name, array in lazy.items():
        print(f"  {describe(name, array)}   {array!r}")

    # 2. Regional job: three results of one selection, realised together.
    regional = ["winter_celsius", "winter_anomaly", "winter_packed"]
    lazy_regional, realise_regional = timed(lambda: la.ndarrays([lazy[n] for n in regional]))

    def numpy_regional() -> list[np.ndarray]:
        # Plain reads of the latitude band from the two files the window
        # spans (h5py and Zarr take neither negative steps nor unsorted
        # lists), then the selection in memory.
        first, start = divmod(region.time.start, datagen.DAYS_PER_YEAR)
        last, stop = divmod(region.time.stop, datagen.DAYS_PER_YEAR)
        assert last == first + 1, "the window spans two consecutive files"
        autumn = files[first]["tas"][start:, region.rows]
        winter = files[last]["tas"][:stop, region.rows]
        days = np.concatenate([autumn, winter])[:, ::-1][:, :, region.lon]
        band = np.asarray(clim_store[:, region.rows])
        clim = band[region.day_of_year][:, ::-1][:, :, region.lon]
        anomaly = days - clim
        return [days - 273.15, anomaly, np.rint(anomaly / PACKING_SCALE).astype(np.int16)]

    numpy_results, numpy_regional_seconds = timed(numpy_regional)

    # 3. Global job: every day's anomaly, one result the size of the sample.
    lazy_anomaly, realise_global = timed(lambda: lazy["anomaly"].ndarray())

    def numpy_global() -> np.ndarray:
        clim = np.asarray(clim_store[:])
        out = np.empty(sample.shape, np.float32)
        for i, f in enumerate(files):
            days = slice(i * datagen.DAYS_PER_YEAR, (i + 1) * datagen.DAYS_PER_YEAR)
            out[days] = f["tas"][:] - clim
        return out

    numpy_anomaly, numpy_global_seconds = timed(numpy_global)

    print("\nregional job: box 35-70N, 10W-40E, 15 Nov 2002 - 15 Feb 2003")
    ok = True
    for name, actual, expected in zip(regional, lazy_regional, numpy_results):
        ok &= compare(name, actual, expected)
    celsius, anomaly = lazy_regional[:2]
    print(f"  temperature {celsius.min():.1f} to {celsius.max():.1f} C; anomaly mean "
          f"{anomaly.mean():+.2f} K, standard deviation {anomaly.std():.2f} K")
    print("\nglobal job: anomaly of every day, 2001-2004")
    ok &= compare("anomaly", lazy_anomaly, numpy_anomaly)
    for f in files:
        f.close()

    result_mb = sum(a.nbytes for a in lazy_regional) / MB
    print("\ntimings")
    print(f"  {'generate sample':<34} {seconds:7.2f} s")
    print(f"  {'build lazy graph':<34} {build_seconds:7.4f} s")
    print(f"  {'realise regional (ndarrays)':<34} {realise_regional:7.2f} s"
          f"   {result_mb:6.1f} MB out")
    print(f"  {'numpy regional (h5py/zarr reads)':<34} {numpy_regional_seconds:7.2f} s")
    print(f"  {'realise global (.ndarray())':<34} {realise_global:7.2f} s"
          f"   {lazy_anomaly.nbytes / MB:6.1f} MB out,"
          f" {sample.nbytes / MB / realise_global:5.0f} MB/s of tas")
    print(f"  {'numpy global (h5py/zarr reads)':<34} {numpy_global_seconds:7.2f} s")
    print(f"  {'total':<34} {time.perf_counter() - total:7.2f} s")
    print("\nOK: lazyarray matches numpy exactly" if ok else "\nFAILED: results differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
