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
6. The main job: statistics of the whole series (time mean, standard
   deviation, minimum and maximum maps) and the anomaly of every day, saved
   to a new HDF5 file with ``to_hdf5`` in one pass over the sources, with the
   extremes of the anomaly computed in memory in the same pass. The plan
   ``to_hdf5`` follows is printed first (``make_plan`` with the saved arrays
   streamed to the file, the extremes kept in memory; explained), with the
   bytes it reads against one read of each stored chunk (tas once, the
   climatology once a year), and the bytes the process read from files
   during the job (Linux's ``rchar``); a NOTE says so if chunks are read
   more than once. The plan's projected peak memory is printed beside the
   resident peak measured during the job (the kernels loaded first, so that
   numba's own memory is not counted as the job's). The output file is read
   back and checked against a numpy loop over the files (float64 sums).
7. The timings, each line saying what it does (the main job's lazyarray
   line also writes the file; numpy's writes nothing).

``--grid NLAT NLON`` makes the sample on another grid (default 180 x 360,
379 MB of tas; ``--grid 45 90`` runs in seconds), in a folder of its own
under ``benchmarks/data/``.

Exits with status 1 if any result differs (float statistics beyond a relative
1e-6, anything else at all), or if the main job is not planned as one pass.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import datagen
import h5py
import numpy as np
import zarr

import lazyarray as la
from lazyarray.planning import make_plan

MB = 1e6
MiB = 2**20

# Packing as CF's scale_factor does: int16 in hundredths of a kelvin.
PACKING_SCALE = 0.01

# The demo's grid: 1-degree daily maps (four years are 379 MB of float32).
DEFAULT_GRID = (180, 360)

# The output of the main job, beside the sample (rewritten by every run).
STATS_NAME = "tas_stats_2001-2004.h5"

# Tolerance of float statistics against numpy's float64 loop: float32 results
# are within half an ulp (6e-8) of the float64 value when accumulated in float64.
RTOL = 1e-6


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


def bytes_read() -> int | None:
    """Bytes this process has read from files so far (Linux's ``rchar``), if known."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def resident_bytes() -> int | None:
    """Resident memory of this process, in bytes, if known (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


@contextmanager
def peak_memory(interval: float = 0.01) -> Iterator[dict[str, int]]:
    """Sample resident memory in a thread; ``["growth"]`` is the peak above the start."""
    start = resident_bytes()
    found = {"growth": 0}
    if start is None:
        yield found
        return
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            found["growth"] = max(found["growth"], (resident_bytes() or start) - start)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()


def progress_option() -> bool | Callable[[la.Progress], None]:
    """``True`` (a tqdm bar) when tqdm is installed, else a callback printing quarters."""
    if importlib.util.find_spec("tqdm") is not None:
        return True
    reported = [0]

    def report(event: la.Progress) -> None:
        quarter = 4 * event.done // max(event.total, 1)
        if quarter > reported[0]:
            reported[0] = quarter
            print(f"  {25 * quarter:3d}% of {event.total / MB:.0f} MB in {event.elapsed:.1f} s")

    return report


def check_close(name: str, actual: np.ndarray, expected: np.ndarray, dtype: Any) -> bool:
    """Print whether float ``actual`` is ``expected`` (float64) within ``RTOL``."""
    if actual.shape != expected.shape or actual.dtype != dtype:
        print(f"  {name:<20} MISMATCH: got {actual.shape} {actual.dtype}, "
              f"numpy {expected.shape} {np.dtype(dtype)}")
        return False
    try:
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=0)
    except AssertionError as error:
        print(f"  {name:<20} MISMATCH beyond rtol {RTOL:g}:")
        print(textwrap.indent(str(error).strip(), "    "))
        return False
    worst = np.max(np.abs(actual - expected) / np.abs(expected))
    print(f"  {name:<20} matches numpy within rtol {RTOL:g}: {actual.shape} {actual.dtype},"
          f" largest relative difference {worst:.1e}")
    return True


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


def statistics(tas: la.Array, clim_series: la.Array) -> tuple[dict[str, la.Array], list[la.Array]]:
    """The main job, lazily: the arrays to save, by dataset name, and those kept in memory."""
    anomaly = tas - clim_series
    saved = {
        "tas_mean": la.mean(tas, axis=0),
        "tas_std": tas.std(axis=0, ddof=1),  # the method form of la.std
        "tas_min": la.min(tas, axis=0),
        "tas_max": la.max(tas, axis=0),
        "tas_anomaly": anomaly,
    }
    return saved, [la.min(anomaly), la.max(anomaly)]


def numpy_statistics(files: list[h5py.File], clim: np.ndarray) -> dict[str, np.ndarray]:
    """The main job's statistics by hand: a loop over the files, summing in float64.

    The sums are of deviations from the first day, so that the sum of squares
    does not cancel (the variance is small next to the mean squared).
    """
    shift = files[0]["tas"][0].astype(np.float64)
    total = np.zeros_like(shift)
    squares = np.zeros_like(shift)
    low: Any = None
    high: Any = None
    coldest: Any = None
    warmest: Any = None
    count = 0
    for f in files:
        days = f["tas"][:]
        deviation = days - shift
        total += deviation.sum(axis=0)
        squares += np.square(deviation).sum(axis=0)
        low = days.min(axis=0) if low is None else np.minimum(low, days.min(axis=0))
        high = days.max(axis=0) if high is None else np.maximum(high, days.max(axis=0))
        anomaly = days - clim
        coldest = anomaly.min() if coldest is None else np.minimum(coldest, anomaly.min())
        warmest = anomaly.max() if warmest is None else np.maximum(warmest, anomaly.max())
        count += len(days)
    mean = total / count
    return {
        "tas_mean": shift + mean,
        "tas_std": np.sqrt((squares - total * mean) / (count - 1)),
        "tas_min": low,
        "tas_max": high,
        "anomaly_min": coldest,
        "anomaly_max": warmest,
    }


def check_saved_anomaly(path: Path, files: list[h5py.File], clim: np.ndarray) -> bool:
    """Whether the anomaly written to ``path`` is exactly ``tas - clim``, year by year."""
    with h5py.File(path, "r") as out:
        saved = out["tas_anomaly"]
        shape = (len(files) * datagen.DAYS_PER_YEAR,) + clim.shape[1:]
        if saved.shape != shape or saved.dtype != np.float32:
            print(f"  {'tas_anomaly':<20} MISMATCH: got {saved.shape} {saved.dtype}, "
                  f"numpy {shape} float32")
            return False
        wrong = 0
        for i, f in enumerate(files):
            rows = slice(i * datagen.DAYS_PER_YEAR, (i + 1) * datagen.DAYS_PER_YEAR)
            wrong += int(np.count_nonzero(saved[rows] != f["tas"][:] - clim))
    if wrong:
        print(f"  {'tas_anomaly':<20} MISMATCH: {wrong} of {np.prod(shape)} values differ")
    else:
        print(f"  {'tas_anomaly':<20} identical to numpy: {shape} float32 (read back)")
    return not wrong


def warm_up_kernels() -> None:
    """Load the kernels of the main job's statistics (numba's, compiled or cached)
    on a few float32 maps, so that the memory measured is the job's and not
    the few tens of MB numba and LLVM take once per process."""
    days = la.asarray(np.zeros((4, 2, 3), np.float32))
    saved, extremes = statistics(days, days)
    la.ndarrays(list(saved.values()) + extremes)


def main_job(files: list[h5py.File], clim_store: zarr.Array,
             sample: datagen.Sample) -> tuple[bool, dict[str, float]]:
    """Statistics of the whole series and the daily anomaly, in one pass, to HDF5."""
    print("\nmain job: statistics of 2001-2004 and the daily anomaly, one pass, to_hdf5")
    tas = la.LinearMosaic([la.asarray(f["tas"]) for f in files], axis=0)
    clim_series = la.LinearMosaic([la.asarray(clim_store)] * len(files), axis=0)
    saved, extremes = statistics(tas, clim_series)
    stats_path = sample.clim_path.parent / STATS_NAME

    # The plan to_hdf5 follows, made before anything is read: the saved arrays
    # stream into the file (not in memory: only their tiles in flight are
    # held), the extremes are returned in memory. (la.plan([...]) plans an
    # evaluation that returns every array in memory, the anomaly included.)
    nodes = list(saved.values()) + extremes
    in_memory = [False] * len(saved) + [True] * len(extremes)
    plan, plan_seconds = timed(lambda: make_plan(nodes, la.get_options(), in_memory=in_memory))
    print("  the plan of to_hdf5 (the saved arrays streamed to the file, the extremes in "
          "memory), explained:")
    for line in plan.explain().splitlines():
        print(f"    {line}")
    # One pass reads tas once and the climatology once per year: the tiles
    # are whole climatology chunks (73 days, quarter planes) by whole planes,
    # so they cut no chunk of the climatology, and tas's plain chunks of
    # eight whole planes are read by rows, each row once.
    once = tas.nbytes + clim_series.nbytes
    stored = sum(p.stored_bytes for p in plan.passes)
    ok = len(plan.passes) == 1
    print(f"  passes: {len(plan.passes)}{'' if ok else ' -- EXPECTED ONE'}; the planner counts "
          f"{plan.read_bytes / MB:.1f} MB of chunk data to read; each stored chunk once per "
          f"use is {stored / MB:.1f} MB (tas {tas.nbytes / MB:.1f} MB + the "
          f"{clim_store.nbytes / MB:.1f} MB climatology once per year = {once / MB:.1f} MB)")
    if plan.read_bytes != once or stored != once:
        print("  NOTE: the planner's count of bytes to read is not one read of each stored chunk")

    # The job: one evaluation writes the file and returns the extremes.
    print(f"  writing {stats_path}", flush=True)
    progress = progress_option()
    warm_up_kernels()
    before = bytes_read()
    with peak_memory() as memory:
        (coldest, warmest), job_seconds = timed(lambda: la.to_hdf5(
            stats_path, saved, compute=extremes, overwrite=True, progress=progress))
    sys.stderr.flush()
    after = bytes_read()
    read = None if before is None or after is None else after - before
    written = sum(a.nbytes for a in saved.values())
    print(f"  done in {job_seconds:.2f} s: {tas.nbytes / MB / job_seconds:.0f} MB/s of tas, "
          f"{written / MB:.1f} MB written; anomaly from {coldest:+.2f} to {warmest:+.2f} K")
    if read is not None:
        on_disk = sum(p.stat().st_size for p in sample.tas_paths)
        clim_disk = sum(p.stat().st_size for p in sample.clim_path.rglob("*") if p.is_file())
        each_once = on_disk + len(files) * clim_disk
        print(f"  read from files during the job: {read / MB:.1f} MB (each stored chunk once "
              f"per use: tas {on_disk / MB:.1f} MB + {len(files)} x {clim_disk / MB:.1f} MB of "
              f"compressed climatology = {each_once / MB:.1f} MB; a few MB more are the "
              f"direct reader's check of one chunk a file when it first opens a dataset)")
        if read > 1.05 * each_once:
            print("  NOTE: some stored chunks were read more than once")
    if memory["growth"]:
        print(f"  memory: projected peak {plan.peak_bytes / MiB:.1f} MiB (results held "
              f"{plan.result_bytes / MiB:.1f} MiB + tiles in flight "
              f"{plan.tile_memory / MiB:.1f} MiB; memory_limit "
              f"{plan.memory_limit / MiB:.0f} MiB); measured resident peak "
              f"{memory['growth'] / MiB:.1f} MiB above the start, "
              f"{memory['growth'] / max(plan.peak_bytes, 1):.2f} x the projection. The "
              f"{saved['tas_anomaly'].nbytes / MiB:.1f} MiB anomaly went to the file, "
              "a tile at a time")

    # The check: numpy by hand, against the file read back.
    clim = np.asarray(clim_store[:])
    expected, numpy_seconds = timed(lambda: numpy_statistics(files, clim))

    def verify() -> bool:
        good = True
        with h5py.File(stats_path, "r") as out:
            actual = {name: out[name][:] for name in ("tas_mean", "tas_std", "tas_min", "tas_max")}
        # numpy's dtypes: the mean and std of float32 data are float32.
        for name in ("tas_mean", "tas_std"):
            good &= check_close(name, actual[name], expected[name], np.float32)
        for name in ("tas_min", "tas_max"):
            good &= compare(name, actual[name], expected[name])
        good &= compare("anomaly min, max", np.array([coldest, warmest]),
                        np.array([expected["anomaly_min"], expected["anomaly_max"]]))
        return good & check_saved_anomaly(stats_path, files, clim)

    print("  checked against numpy (a loop over the files, float64 sums), file read back:")
    good, verify_seconds = timed(verify)
    timings = {"plan": plan_seconds, "job": job_seconds, "numpy": numpy_seconds,
               "verify": verify_seconds, "read": float(read or 0), "written": float(written),
               "kept": float(sum(np.asarray(x).nbytes for x in expected.values()))}
    return ok and good, timings


def make_sample(nlat: int, nlon: int) -> datagen.Sample:
    """The demo's sample on a grid of ``nlat`` by ``nlon`` points: the default one in
    ``benchmarks/data/``, others in a folder of their own there."""
    def log(line: str) -> None:
        print(f"  {line}")

    if (nlat, nlon) == DEFAULT_GRID:
        return datagen.make_sample(log=log)
    return datagen.make_sample(datagen.DATA_DIR / f"demo-{nlat}x{nlon}",
                               grid=datagen.Grid(nlat, nlon), chunks=(8, nlat, nlon),
                               clim_chunks=(73, max(nlat // 4, 1), max(nlon // 4, 1)), log=log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", nargs=2, type=int, default=DEFAULT_GRID,
                        metavar=("NLAT", "NLON"),
                        help="points of the daily maps (default: 180 360, 379 MB of tas; "
                             "e.g. 45 90 for a quick run)")
    args = parser.parse_args(argv)
    print("lazyarray demo: daily temperature, 4 HDF5 files + a Zarr climatology\n")
    total = time.perf_counter()

    sample, seconds = timed(lambda: make_sample(*args.grid))
    state = f"generated {sample.written} files" if sample.written else "already there"
    print(f"sample: {state} in {seconds:.1f} s, {sample.disk_bytes() / MB:.0f} MB on disk, "
          f"in {sample.clim_path.parent}")

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
    del lazy_anomaly, numpy_anomaly  # twice the sample's size, no longer needed

    # 4. The main job: statistics of everything, saved, in one pass.
    main_ok, job = main_job(files, clim_store, sample)
    ok &= main_ok
    for f in files:
        f.close()

    # Each line says what it does: the lazyarray and numpy lines of a job do
    # the same work unless their words say otherwise (the main job's lazyarray
    # line also writes the anomaly and the maps to a file; numpy's writes nothing).
    tas_mb = sample.nbytes / MB
    regional_mb = sum(a.nbytes for a in lazy_regional) / MB
    fsync = ", synced to disk" if la.get_options().fsync else ""

    def line(label: str, value: float, what: str) -> None:
        digits = 4 if value < 0.1 else 2
        print(f"  {label:<32} {value:8.{digits}f} s   {what}")

    print("\ntimings (what each line does)")
    line("generate sample", seconds,
         "writes the sample files" if sample.written else "finds the sample up to date")
    line("build lazy graph", build_seconds, "wraps the files and builds 5 graphs; reads nothing")
    line("lazyarray regional (ndarrays)", realise_regional,
         f"reads the box, returns 3 arrays ({regional_mb:.1f} MB) in memory")
    line("numpy regional", numpy_regional_seconds,
         "reads the latitude band (h5py, zarr), selects in memory: the same 3 arrays")
    line("lazyarray global (.ndarray())", realise_global,
         f"reads tas ({tas_mb:.0f} MB) and the climatology, returns the {tas_mb:.0f} MB "
         f"anomaly in memory ({tas_mb / realise_global:.0f} MB/s of tas)")
    line("numpy global", numpy_global_seconds,
         f"the same, a loop over the files: the {tas_mb:.0f} MB anomaly in memory "
         f"({tas_mb / numpy_global_seconds:.0f} MB/s of tas)")
    line("main job: plan", job["plan"], "plans the pass; reads nothing")
    line("main job: lazyarray to_hdf5", job["job"],
         f"reads tas once, computes 4 maps and the anomaly's extremes, AND WRITES "
         f"{job['written'] / MB:.0f} MB (maps and anomaly) to a new HDF5 file{fsync} "
         f"({tas_mb / job['job']:.0f} MB/s of tas)")
    line("main job: numpy, no file", job["numpy"],
         f"reads tas once, computes the 4 maps and the extremes in memory "
         f"({job['kept'] / MB:.1f} MB); WRITES NOTHING ({tas_mb / job['numpy']:.0f} MB/s of tas)")
    line("check the file (read back)", job["verify"],
         "reads the file back and compares it with numpy's results")
    line("total", time.perf_counter() - total, "")
    print(f"\nOK: lazyarray matches numpy (float statistics within rtol {RTOL:g}, all else "
          "exactly)" if ok else "\nFAILED: results differ, or the main job is not one pass")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
