"""The ``lazyarray`` command line (lazyarray.cli): ``info`` and ``stats``, against numpy and cdo."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
import zarr

import lazyarray as la
from lazyarray.cli import main
from lazyarray.testing import recording_reads


@pytest.fixture(autouse=True)
def numpy_kernels():
    """numpy's reductions: these tests are of the command line, and numba's kernels (whose
    agreement with numpy ``tests/test_accumulators.py`` checks) take seconds to load."""
    with la.set_options(kernels="numpy"):
        yield


LAT = np.array([-45.0, 0.0, 45.0], "f4")
LON = np.array([0.0, 90.0, 180.0, 270.0], "f4")


def _series(seed: int, steps: int) -> np.ma.MaskedArray:
    """Temperatures with missing points: some scattered, and (lat 0, lon 0) always."""
    rng = np.random.default_rng(seed)
    values = rng.normal(285.0, 4.0, (steps, 3, 4))
    mask = rng.random((steps, 3, 4)) < 0.2
    mask[:, 0, 0] = True
    return np.ma.masked_array(values, mask)


def write_input(path: Path, data: np.ma.MaskedArray, start: float, *, packed: bool = False,
                lat: np.ndarray = LAT, dtype: str = "f4") -> None:
    """A netCDF-4 file of ``tas(time, lat, lon)`` with CF coordinates, as a model writes one."""
    with netCDF4.Dataset(path, "w") as f:
        f.title = "test input"
        f.createDimension("time", None)
        f.createDimension("lat", len(lat))
        f.createDimension("lon", len(LON))
        f.createDimension("bnds", 2)
        time = f.createVariable("time", "f8", ("time",))
        time.units, time.calendar, time.bounds = "days since 2000-01-01", "standard", "time_bnds"
        time[:] = start + np.arange(data.shape[0]) + 0.5
        bounds = f.createVariable("time_bnds", "f8", ("time", "bnds"))
        bounds[:] = np.stack([time[:] - 0.5, time[:] + 0.5], axis=1)
        y = f.createVariable("lat", "f4", ("lat",))
        y.units, y.standard_name = "degrees_north", "latitude"
        y[:] = lat
        x = f.createVariable("lon", "f4", ("lon",))
        x.units, x.standard_name = "degrees_east", "longitude"
        x[:] = LON
        if packed:
            v = f.createVariable("tas", "i2", ("time", "lat", "lon"), fill_value=-32767,
                                 chunksizes=(2, 3, 4), zlib=True)
            v.scale_factor, v.add_offset = np.float32(0.01), np.float32(280)
        else:
            v = f.createVariable("tas", dtype, ("time", "lat", "lon"), fill_value=-999.0,
                                 chunksizes=(2, len(lat), 4))
        v.units, v.standard_name = "K", "air_temperature"
        v[:] = data


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[list[Path], np.ma.MaskedArray]:
    """Two float32 inputs of 5 and 4 steps, and their data as netCDF4 reads them."""
    paths = [tmp_path / "tas_2000.nc", tmp_path / "tas_2001.nc"]
    write_input(paths[0], _series(0, 5), 0)
    write_input(paths[1], _series(1, 4), 5)
    return paths, _read(paths)


def _read(paths: list[Path], name: str = "tas") -> np.ma.MaskedArray:
    """The variable mosaicked along time, as netCDF4 decodes it (the oracle's input)."""
    parts = []
    for path in paths:
        with netCDF4.Dataset(path) as f:
            parts.append(f[name][:])
    return np.ma.concatenate(parts, axis=0)


def _expected(data: np.ma.MaskedArray, op: str, ddof: int = 0) -> np.ma.MaskedArray:
    """numpy.ma's statistic over time, kept as a length-1 axis, in the dtype numpy gives."""
    wide = data.astype("f8")
    found = {
        "mean": lambda: np.ma.mean(wide, axis=0).astype(np.mean(data.data, 0).dtype),
        "std": lambda: np.ma.std(wide, axis=0, ddof=ddof).astype(np.std(data.data, 0).dtype),
        "var": lambda: np.ma.var(wide, axis=0, ddof=ddof).astype(np.var(data.data, 0).dtype),
        "min": lambda: np.ma.min(data, axis=0),
        "max": lambda: np.ma.max(data, axis=0),
        "sum": lambda: np.ma.sum(wide, axis=0).astype(np.sum(data.data, 0).dtype),
        "ptp": lambda: np.ma.ptp(data, axis=0),
        "count": lambda: np.ma.masked_array(np.ma.count(data, axis=0)),
    }[op]()
    return np.ma.masked_array(found)[np.newaxis]


def _check_values(actual: np.ma.MaskedArray, expected: np.ma.MaskedArray) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
    np.testing.assert_allclose(np.ma.filled(actual, 0), np.ma.filled(expected, 0), rtol=2e-6)


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """``main`` on ``argv``: the status, stdout and stderr."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


OPS = ["mean", "std", "var", "min", "max", "count", "sum", "ptp"]


@pytest.mark.parametrize("packed", [(False, False), (True, True), (True, False)],
                         ids=["float32", "packed", "packed then float32"])
def test_stats_netcdf_matches_numpy_and_reads_back(tmp_path, capsys, packed) -> None:
    paths = [tmp_path / "a.nc", tmp_path / "b.nc"]
    write_input(paths[0], _series(0, 5), 0, packed=packed[0])
    write_input(paths[1], _series(1, 4), 5, packed=packed[1])
    data = _read(paths)
    out = tmp_path / "stats.nc"
    status, stdout, err = run(capsys, "stats", "--op", ",".join(OPS), "--axis", "time",
                              *paths, "-o", out, "--no-progress")
    assert (status, stdout, err) == (0, "", "")
    with netCDF4.Dataset(out) as f:
        for op in OPS:
            v = f[f"tas_{op}"]
            assert v.dimensions == ("time", "lat", "lon")
            _check_values(v[:], _expected(data, op))
        assert "_FillValue" not in f["tas_count"].ncattrs()
        assert f["tas_mean"].cell_methods == "time: mean"
        assert f["tas_std"].cell_methods == "time: standard_deviation"
        assert f["tas_mean"].units == "K" and f["tas_var"].units == "(K)^2"
        assert "units" not in f["tas_count"].ncattrs()
        assert "scale_factor" not in f["tas_mean"].ncattrs()  # results are written decoded
        np.testing.assert_array_equal(f["lat"][:], LAT)
        np.testing.assert_array_equal(f["lon"][:], LON)
        assert f["lat"].units == "degrees_north"
        # The time cell: from the first input's first bound to the last's last.
        assert f["time"][:].tolist() == [4.5] and f["time_bnds"][:].tolist() == [[0.0, 9.0]]
        assert f.title == "test input" and "lazyarray stats" in f.history
    with xr.open_dataset(out) as ds:
        assert dict(ds.sizes) == {"time": 1, "lat": 3, "lon": 4, "bnds": 2}
        assert ds["tas_mean"].dims == ("time", "lat", "lon")
        np.testing.assert_array_equal(ds["lat"].values, LAT)
        assert ds["time"].values[0] == np.datetime64("2000-01-05T12:00")
        assert np.isnan(ds["tas_mean"].values[0, 0, 0])  # the point missing at every time
        np.testing.assert_allclose(ds["tas_max"].values, np.ma.filled(
            _expected(data, "max").astype("f8"), np.nan), rtol=1e-6)


def test_stats_zarr_output_opens_in_xarray_and_lazyarray(tmp_path, capsys, inputs) -> None:
    paths, data = inputs
    out = tmp_path / "stats.zarr"
    status, _, err = run(capsys, "stats", "--op", "mean,count", "--axis", "time", *paths,
                         "-o", out, "--no-progress", "--workers", "2", "--memory-limit", "1MiB")
    assert (status, err) == (0, "")
    # xarray.open_zarr, without Dask's chunks (importing Dask takes seconds).
    with xr.open_zarr(out, chunks=None) as ds:
        assert ds["tas_mean"].dims == ("time", "lat", "lon")
        np.testing.assert_array_equal(ds["lon"].values, LON)
        assert ds["time"].values[0] == np.datetime64("2000-01-05T12:00")
        expected = _expected(data, "mean")
        np.testing.assert_allclose(ds["tas_mean"].values,
                                   np.ma.filled(expected.astype("f8"), np.nan), rtol=2e-6)
        assert ds["tas_mean"].attrs["cell_methods"] == "time: mean"
    group = zarr.open_group(out, mode="r")
    _check_values(la.asarray(group["tas_mean"]).masked_array(), _expected(data, "mean"))
    _check_values(np.ma.masked_array(group["tas_count"][...]), _expected(data, "count"))


def test_stats_mdtol_ddof_quoted_glob_and_default_variable(tmp_path, capsys, inputs) -> None:
    _, data = inputs
    out = tmp_path / "out.nc"
    status, _, err = run(capsys, "stats", "--op", "std,mean", "--axis", "0", "--mdtol", "0.1",
                         "--ddof", "1", str(tmp_path / "tas_*.nc"), "-o", out, "--no-progress")
    assert (status, err) == (0, "")
    # Biggus's mdtol: missing where more than a tenth of the values are.
    too_few = (np.ma.count_masked(data, axis=0) / data.shape[0] > 0.1)[np.newaxis]
    with netCDF4.Dataset(out) as f:
        for op in ("std", "mean"):
            expected = _expected(data, op, ddof=1)
            expected[too_few] = np.ma.masked
            _check_values(f[f"tas_{op}"][:], expected)


def test_stats_overwrite_only_when_asked(tmp_path, capsys, inputs) -> None:
    paths, data = inputs
    out = tmp_path / "out.nc"
    out.write_bytes(b"keep me")
    status, _, err = run(capsys, "stats", "--op", "max", "--axis", "time", *paths, "-o", out)
    assert status == 2 and err.count("\n") == 1 and "--overwrite" in err
    assert out.read_bytes() == b"keep me"
    status, _, err = run(capsys, "stats", "--op", "max", "--axis", "time", *paths, "-o", out,
                         "--overwrite", "--no-progress")
    assert (status, err) == (0, "")
    with netCDF4.Dataset(out) as f:
        _check_values(f["tas_max"][:], _expected(data, "max"))


def test_explain_reads_no_data_and_writes_nothing(tmp_path, capsys, inputs) -> None:
    paths, _ = inputs
    out = tmp_path / "out.nc"
    with recording_reads() as reads:
        status, stdout, err = run(capsys, "stats", "--op", "mean,std", "--axis", "time", *paths,
                                  "-o", out, "--explain")
    assert (status, err, len(reads)) == (0, "", 0)
    assert "mosaicked along 'time': (9, 3, 4) float32 masked" in stdout
    assert "tas_mean (1, 3, 4) float32, tas_std (1, 3, 4) float32" in stdout
    assert "Pass 1" in stdout and "computes" in stdout
    assert not out.exists()


@pytest.fixture(scope="module")
def odd_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files that cannot be mosaicked with ``tas_2000.nc``, and one with two data variables."""
    tmp_path = tmp_path_factory.mktemp("odd")
    good = tmp_path / "tas_2000.nc"
    write_input(good, _series(0, 3), 0)
    lat = tmp_path / "other_lat.nc"
    write_input(lat, _series(0, 3)[:, :2], 3, lat=LAT[:2])
    dtype = tmp_path / "double.nc"
    write_input(dtype, _series(0, 3), 3, dtype="f8")
    two = tmp_path / "two.nc"
    write_input(two, _series(0, 3), 0)
    with netCDF4.Dataset(two, "a") as f:
        f.createVariable("pr", "f4", ("time", "lat", "lon"))[:] = 0
    units = tmp_path / "hours.nc"
    write_input(units, _series(0, 3), 3)
    moved = tmp_path / "moved.nc"
    write_input(moved, _series(0, 3), 3, lat=LAT + 1)
    with netCDF4.Dataset(units, "a") as f:
        f["time"].units = "hours since 2000-01-01"
    text = tmp_path / "notes.txt"
    text.write_text("not a netCDF file")
    return {"good": good, "lat": lat, "dtype": dtype, "two": two, "text": text,
            "units": units, "moved": moved}


@pytest.mark.parametrize("case, argv, words", [
    ("missing file", ["stats", "--op", "mean", "--axis", "time", "{tmp}/nope.nc", "-o",
                      "{tmp}/o.nc"], ["nope.nc", "no such file"]),
    ("unknown variable", ["stats", "--op", "mean", "--axis", "time", "--var", "pr", "{good}",
                          "-o", "{tmp}/o.nc"], ["tas_2000.nc", "'pr'"]),
    ("unknown axis", ["stats", "--op", "mean", "--axis", "depth", "--var", "tas", "{good}",
                      "-o", "{tmp}/o.nc"], ["tas_2000.nc:tas", "'depth'"]),
    ("other shape", ["stats", "--op", "mean", "--axis", "time", "{good}", "{lat}", "-o",
                     "{tmp}/o.nc"], ["other_lat.nc:tas", "shape"]),
    ("other dtype", ["stats", "--op", "mean", "--axis", "time", "{good}", "{dtype}", "-o",
                     "{tmp}/o.nc"], ["double.nc:tas", "dtype float64", "expected float32"]),
    ("other time units", ["stats", "--op", "mean", "--axis", "time", "{good}", "{units}",
                          "-o", "{tmp}/o.nc"], ["hours.nc:time", "'hours since 2000-01-01'"]),
    ("other latitudes", ["stats", "--op", "mean", "--axis", "time", "{good}", "{moved}",
                         "-o", "{tmp}/o.nc"], ["moved.nc:lat", "coordinate values differ"]),
    ("ambiguous variable", ["stats", "--op", "mean", "--axis", "time", "{two}", "-o",
                            "{tmp}/o.nc"], ["two.nc", "tas, pr", "--var"]),
    ("unknown statistic", ["stats", "--op", "mean,median", "--axis", "time", "{good}", "-o",
                           "{tmp}/o.nc"], ["'median'"]),
    ("bad suffix", ["stats", "--op", "mean", "--axis", "time", "{good}", "-o", "{tmp}/o.txt"],
     [".txt"]),
    ("bad size", ["stats", "--op", "mean", "--axis", "time", "{good}", "-o", "{tmp}/o.nc",
                  "--memory-limit", "lots"], ["--memory-limit", "'lots'"]),
    ("budget too small", ["stats", "--op", "mean", "--axis", "time", "{good}", "-o",
                          "{tmp}/o.nc", "--memory-limit", "16"], ["memory_limit is 16 B"]),
    ("not netCDF", ["info", "{text}"], ["notes.txt", "not a netCDF-4/HDF5 file"]),
    ("info unknown variable", ["info", "{good}:nope"], ["tas_2000.nc", "'nope'", "tas"]),
    ("no command", [], ["required"]),
])
def test_mistakes_give_one_line_and_status_2(tmp_path, capsys, odd_inputs, case, argv,
                                             words) -> None:
    names = {k: str(v) for k, v in odd_inputs.items()}
    argv = [a.format(tmp=tmp_path, **names) for a in argv]
    status, _, err = run(capsys, *argv)
    assert status == 2, case
    assert err.count("\n") == 1 and err.startswith("lazyarray: error: "), err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "o.nc").exists()


def test_debug_shows_the_traceback(tmp_path, capsys) -> None:
    status, _, err = run(capsys, "--debug", "info", tmp_path / "nope.nc")
    assert status == 2 and "Traceback" in err and err.splitlines()[-1].startswith("lazyarray:")


def test_info_describes_storage_and_decoding(tmp_path, capsys) -> None:
    path = tmp_path / "packed.nc"
    write_input(path, _series(0, 4), 0, packed=True)
    status, stdout, err = run(capsys, "info", "--json", f"{path}:tas")
    assert (status, err) == (0, "")
    [record] = json.loads(stdout)
    assert (record["variable"], record["dims"], record["shape"]) == (
        "tas", ["time", "lat", "lon"], [4, 3, 4])
    assert (record["dtype"], record["decoded_dtype"], record["masked"]) == (
        "int16", "float32", True)
    assert record["chunks"] == [2, 3, 4] and record["filters"] == ["shuffle", "deflate(level 4)"]
    assert record["fill_value"] == -32767
    assert record["attributes"]["_FillValue"] == -32767 and record["attributes"]["units"] == "K"
    assert record["decoding"] == ["masked where x == -32767",
                                  "unpacked: x * 0.01 + 280.0 -> float32"]
    assert record["nbytes_decoded"] == 4 * 3 * 4 * 4
    assert 0 < record["nbytes_stored"] <= 4 * 3 * 4 * 2 + 64
    assert record["direct_reader"] is True and record["direct_reader_reason"] is None
    # Without :VARIABLE, every variable; in text, one block each.
    status, stdout, _ = run(capsys, "info", path)
    assert status == 0
    blocks = stdout.strip().split("\n\n")
    assert [b.split(" ")[0] for b in blocks] == [
        f"{path}:{n}" for n in ("time", "time_bnds", "lat", "lon", "tas")]
    assert "masked where x == -32767; unpacked: x * 0.01 + 280.0 -> float32" in blocks[-1]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_info_of_zarr_stores(tmp_path, capsys, zarr_format) -> None:
    path = tmp_path / f"v{zarr_format}.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    dims = ({"dimension_names": ["y", "x"]} if zarr_format == 3 else {})
    attrs = {"_FillValue": -1, "valid_max": 100, "units": "mm"}
    if zarr_format == 2:
        attrs["_ARRAY_DIMENSIONS"] = ["y", "x"]
    z = group.create_array("pr", shape=(4, 6), chunks=(2, 3), dtype="i2", fill_value=-1,
                           attributes=attrs, **dims)
    z[...] = np.arange(24).reshape(4, 6)
    status, stdout, err = run(capsys, "info", "--json", path)
    assert (status, err) == (0, "")
    [record] = json.loads(stdout)
    assert record["format"] == f"Zarr v{zarr_format}"
    assert (record["dims"], record["shape"], record["chunks"]) == (["y", "x"], [4, 6], [2, 3])
    assert record["decoding"] == ["masked where x == -1 or x > 100"]
    assert record["fill_value"] == -1 and record["dtype"] == "int16" and record["masked"]
    assert record["nbytes_stored"] > 0 and record["nbytes_decoded"] == 48
    assert record["direct_reader"] is True


def write_zarr_input(path: Path, data: np.ma.MaskedArray, start: float) -> None:
    """A Zarr 3 store of ``tas(time, lat, lon)`` with its coordinates, as netCDF's."""
    group = zarr.open_group(path, mode="w", zarr_format=3, attributes={
        "title": "zarr input", "provenance": {"model": "demo"}, "checked": True})
    time = start + np.arange(data.shape[0]) + 0.5
    for name, values, attrs in (("time", time, {"units": "days since 2000-01-01"}),
                                ("lat", LAT, {"units": "degrees_north"}),
                                ("lon", LON, {"units": "degrees_east"})):
        array = group.create_array(name, shape=values.shape, dtype=values.dtype,
                                   dimension_names=[name], attributes=attrs)
        array[...] = values
    tas = group.create_array("tas", shape=data.shape, dtype="f4", chunks=(2, 3, 4),
                             fill_value=np.float32(-999), dimension_names=["time", "lat", "lon"],
                             attributes={"_FillValue": -999.0, "units": "K"})
    tas[...] = data.filled(-999).astype("f4")


def test_stats_of_zarr_inputs(tmp_path, capsys) -> None:
    parts = [_series(3, 4).astype("f4"), _series(4, 3).astype("f4")]
    paths = [tmp_path / "a.zarr", tmp_path / "b.zarr"]
    write_zarr_input(paths[0], parts[0], 0)
    write_zarr_input(paths[1], parts[1], 4)
    data = np.ma.concatenate(parts, axis=0)
    out = tmp_path / "out.nc"
    status, _, err = run(capsys, "stats", "--op", "mean,min,count", "--axis", "time", *paths,
                         "-o", out, "--no-progress")
    assert (status, err) == (0, "")
    with netCDF4.Dataset(out) as f:
        for op in ("mean", "min", "count"):
            _check_values(f[f"tas_{op}"][:], _expected(data, op))
        assert f["time"][:].tolist() == [3.5] and f["time_bnds"][:].tolist() == [[0.5, 6.5]]
        assert f.title == "zarr input" and f["tas_mean"].dimensions == ("time", "lat", "lon")
        # JSON attributes netCDF has no type for: objects as their JSON, bools as numbers.
        assert (f.provenance, f.checked) == ('{"model": "demo"}', 1)


def _script() -> str:
    # The console script is part of the package (setup.cfg's entry point):
    # its absence is a failure of the install, not a reason to skip.
    script = Path(sys.executable).with_name("lazyarray")
    assert script.exists(), (f"the console script is not installed next to "
                             f"{sys.executable}: pip install -e .")
    return str(script)


def test_console_script_runs_and_fails_like_a_shell_tool(tmp_path, inputs) -> None:
    paths, data = inputs
    out = tmp_path / "mean.nc"
    done = subprocess.run([_script(), "stats", "--op", "mean", "--axis", "time",
                           str(tmp_path / "*.nc"), "-o", str(out), "--no-progress"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    with netCDF4.Dataset(out) as f:
        _check_values(f["tas_mean"][:], _expected(data, "mean"))
    failed = subprocess.run([_script(), "info", f"{paths[0]}:nope"],
                            check=False, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("lazyarray: error: ")
    assert "tas_2000.nc" in failed.stderr and "'nope'" in failed.stderr


def test_python_dash_m_runs_the_command_line(capsys, monkeypatch, inputs) -> None:
    paths, _ = inputs
    monkeypatch.setattr(sys, "argv", ["python -m lazyarray", "info", f"{paths[0]}:nope"])
    with pytest.raises(SystemExit) as exit:
        # What python -m runs: the package's __main__.py as the main module.
        runpy.run_path(str(Path(la.__file__).with_name("__main__.py")), run_name="__main__")
    assert exit.value.code == 2
    assert capsys.readouterr().err.startswith("lazyarray: error: ")


@pytest.mark.skipif(shutil.which("cdo") is None, reason="cdo is not installed")
def test_stats_agree_with_cdo_timmean_and_timstd(tmp_path, capsys, inputs) -> None:
    paths, _ = inputs
    out = tmp_path / "la.nc"
    status, _, err = run(capsys, "stats", "--op", "mean,std", "--axis", "time", *paths, "-o",
                         out, "--no-progress")
    assert (status, err) == (0, "")
    merged = tmp_path / "merged.nc"
    env = {**os.environ, "CDO_RESET_HISTORY": "1"}
    subprocess.run(["cdo", "-s", "mergetime", *map(str, paths), str(merged)], check=True,
                   env=env, timeout=60)
    with netCDF4.Dataset(out) as ours:
        for op, operator in (("mean", "timmean"), ("std", "timstd")):
            theirs_path = tmp_path / f"{operator}.nc"
            subprocess.run(["cdo", "-s", operator, str(merged), str(theirs_path)], check=True,
                           env=env, timeout=60)
            with netCDF4.Dataset(theirs_path) as theirs:
                expected = theirs["tas"][:]
                actual = ours[f"tas_{op}"][:]
                assert actual.shape == expected.shape and actual.dtype == expected.dtype
                np.testing.assert_array_equal(np.ma.getmaskarray(actual),
                                              np.ma.getmaskarray(expected))
                np.testing.assert_allclose(actual.compressed(), expected.compressed(),
                                           rtol=1e-5)
                np.testing.assert_array_equal(ours["time"][:], theirs["time"][:])
                np.testing.assert_array_equal(ours["time_bnds"][:], theirs["time_bnds"][:])
