"""CF decoding of HDF5 (netCDF-4) and Zarr sources, and encoding on writing (lazyarray/cf.py).

netCDF4 is the oracle: its default (auto mask and scale) reading of the same
file gives the values, mask and dtype that decoding must give; numpy.ma on
what it returns gives the statistics. xarray is checked where it applies the
same rules (it does not mask by valid range, and turns masked integers into
floats).
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest
import zarr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lazyarray as la
from lazyarray import cf
from lazyarray.adapters.h5py_ import HDF5ArrayAdapter
from lazyarray.errors import DTypeError, FillValueError
from lazyarray.indexing import to_native
from lazyarray.testing import (
    InaccessibleArray,
    assert_array_equal,
    recording_reads,
    refusing_reads,
)

# -- helpers ------------------------------------------------------------------------------


def write_nc(path: Path, name: str, raw: np.ndarray, attrs: dict[str, Any],
             fill: Any = None, chunks: tuple[int, ...] | None = None) -> None:
    """A netCDF-4 file holding ``raw`` as stored values of variable ``name``, with ``attrs``."""
    with netCDF4.Dataset(path, "w") as f:
        dims = []
        for number, n in enumerate(raw.shape):
            dims.append(f"d{number}")
            f.createDimension(dims[-1], n)
        v = f.createVariable(name, raw.dtype, dims, fill_value=fill, chunksizes=chunks)
        v.set_auto_maskandscale(False)
        for key, value in attrs.items():
            v.setncattr(key, value)
        v[...] = raw


def read_nc(path: Path, name: str, decode: bool = True) -> np.ndarray:
    """What netCDF4 reads (decoded as its defaults say, or the stored values)."""
    with netCDF4.Dataset(path) as f:
        v = f[name]
        v.set_auto_maskandscale(decode)
        return v[...]


def assert_same_masked(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same dtype, shape, mask, and data where unmasked (NaN equal to NaN)."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask)
    np.testing.assert_array_equal(np.ma.getdata(actual)[~mask], np.ma.getdata(expected)[~mask])


def yearly_files(tmp_path: Path, years: int = 3) -> tuple[list[Path], np.ndarray]:
    """Yearly files of packed temperatures: int16, float32 scale and offset, both fill markers."""
    rng = np.random.default_rng(12)
    paths, raws = [], []
    for year in range(years):
        kelvin = 273.15 + 3.5 + 2 * rng.standard_normal((4, 6, 8))
        raw = np.round((kelvin - 273.15) / 0.001).astype("i2")
        raw[rng.random(raw.shape) < 0.15] = -32767
        raw[rng.random(raw.shape) < 0.05] = -1  # the missing_value
        raw[:, 0, 0] = -32767  # a column missing all along
        path = tmp_path / f"t{2000 + year}.nc"
        write_nc(path, "t", raw, {"scale_factor": np.float32(0.001),
                                  "add_offset": np.float32(273.15),
                                  "missing_value": np.int16(-1)},
                 fill=np.int16(-32767), chunks=(2, 3, 8))
        paths.append(path)
        raws.append(raw)
    return paths, np.concatenate(raws)


# -- values against netCDF4 and xarray --------------------------------------------------------


@pytest.mark.filterwarnings("ignore:variable 't' has multiple fill values")
def test_packed_mosaic_equals_netcdf4_and_xarray(tmp_path: Path) -> None:
    import xarray as xr

    paths, raw = yearly_files(tmp_path)
    series = la.LinearMosaic([la.open_dataset(p, "t") for p in paths], axis=0)
    expected = np.ma.concatenate([read_nc(p, "t") for p in paths])
    assert series.dtype == expected.dtype == np.float32
    assert_same_masked(series.masked_array(), expected)
    # The statistics equal numpy.ma's on what netCDF4 returns, in one pass.
    wanted = [la.mean(series, axis=0), la.std(series, axis=0), la.min(series), la.max(series),
              la.count(series, axis=0), la.mean(series)]
    got = la.masked_arrays(wanted, chunk_bytes=600)
    np.testing.assert_allclose(got[0], expected.mean(axis=0), rtol=2e-7)
    np.testing.assert_array_equal(np.ma.getmaskarray(got[0]), expected.mean(axis=0).mask)
    assert got[0].mask[0, 0] and got[1].mask[0, 0]  # the all-missing column: masked, not -999
    np.testing.assert_allclose(got[1], expected.std(axis=0), rtol=1e-5)
    assert got[2] == expected.min() and got[3] == expected.max()
    np.testing.assert_array_equal(got[4], expected.count(axis=0))
    assert abs(float(got[5]) - float(expected.mean())) < 1e-6 * 277
    for value, reference in zip(got, (expected.mean(0), expected.std(0), expected.min(),
                                      expected.max(), expected.count(0), expected.mean())):
        assert np.shape(value) == np.shape(reference)
    # numpy's dtypes (numpy.ma's std of float32 is float64: see docs/masked.md).
    assert got[0].dtype == got[1].dtype == np.std(np.zeros(1, "f4")).dtype == np.float32
    assert got[4].dtype == expected.count(0).dtype == np.int64
    # The raw integers, undecoded: as netCDF4 stores them.
    stored = la.LinearMosaic([la.open_dataset(p, "t", decode=False) for p in paths], axis=0)
    assert_array_equal(stored, np.concatenate([read_nc(p, "t", decode=False) for p in paths]))
    assert_array_equal(stored, raw)
    # xarray applies the same rules here (NaN where we mask).
    with xr.open_mfdataset(paths, combine="nested", concat_dim="d0", engine="netcdf4") as ds:
        values = ds["t"].values
    assert values.dtype == series.dtype
    np.testing.assert_array_equal(values, series.masked_array().filled(np.nan))
    with xr.open_dataset(paths[1], engine="netcdf4") as ds:
        np.testing.assert_array_equal(ds["t"].values, series[4:8].masked_array().filled(np.nan))


def test_bug_case_mean_of_packed_data(tmp_path: Path) -> None:
    # The case of issue 12: a packed variable used to average as its raw integers.
    paths, _ = yearly_files(tmp_path, years=1)
    with h5py.File(paths[0], "r") as f:
        decoded = float(la.mean(la.asarray(f["t"])).ndarray())
        stored = float(la.mean(la.asarray(f["t"], decode=False)).ndarray())
    reference = float(read_nc(paths[0], "t").mean())
    assert decoded == pytest.approx(reference, rel=1e-6) and reference > 270
    assert stored < -1000  # fill values and packed integers, averaged as they are


@pytest.mark.parametrize(("attrs", "fill"), [
    ({"valid_range": np.array([-100, 100], "i2")}, -999),
    ({"valid_min": np.int16(-50)}, None),
    ({"valid_max": np.int16(60), "missing_value": np.array([7, 8], "i2")}, -999),
    ({"valid_range": np.array([-100, 100], "i2"), "scale_factor": np.float32(0.5),
      "add_offset": np.float32(-3)}, -999),
])
def test_masking_rules_equal_netcdf4(tmp_path: Path, attrs: dict[str, Any], fill: Any) -> None:
    raw = np.arange(-120, 120, 3, dtype="i2").reshape(4, 20)
    raw[0, :3] = [-999, 7, 8]
    write_nc(tmp_path / "v.nc", "v", raw, attrs, fill=None if fill is None else np.int16(fill))
    x = la.open_dataset(tmp_path / "v.nc", "v")
    expected = read_nc(tmp_path / "v.nc", "v")
    assert_same_masked(x.masked_array(), expected)
    assert_same_masked(x[1:3, ::-2].masked_array(), expected[1:3, ::-2])
    assert int(la.count(x).ndarray()) == expected.count()


def test_unsigned_bytes_equal_netcdf4(tmp_path: Path) -> None:
    raw = np.array([[0, 5, -1, -6, -128], [127, -2, 3, -1, 1]], "i1")  # -6 is 250, -1 is 255
    write_nc(tmp_path / "u.nc", "u", raw, {"_Unsigned": "true",
                                           "valid_range": np.array([1, -6], "i1")},
             fill=np.int8(-1))
    write_nc(tmp_path / "p.nc", "p", raw, {"_Unsigned": "true", "scale_factor": np.float32(0.5)})
    u = la.open_dataset(tmp_path / "u.nc", "u")
    assert u.dtype == np.uint8 and u.fill_value == 255
    assert_same_masked(u.masked_array(), read_nc(tmp_path / "u.nc", "u"))
    assert_array_equal(u, masked([[None, 5, None, 250, 128], [127, None, 3, None, 1]], "u1"))
    assert float(la.mean(u).ndarray()) == pytest.approx(read_nc(tmp_path / "u.nc", "u").mean())
    p = la.open_dataset(tmp_path / "p.nc", "p")
    assert_same_masked(p.masked_array(), read_nc(tmp_path / "p.nc", "p"))
    assert_array_equal(la.open_dataset(tmp_path / "u.nc", "u", decode=False), raw)


#: stored dtype, scale_factor type, add_offset type, netCDF4's (and our) dtype, xarray's.
DTYPE_RULES = [
    ("i2", "f4", "f4", "f4", "f4"),
    ("i2", "f8", "f8", "f8", "f8"),
    ("u1", "f4", None, "f4", "f4"),
    ("i4", "f4", "f4", "f8", "f8"),  # float32 cannot hold every int32: both widen
    ("i2", "f4", "f8", "f8", "f8"),
    ("i2", None, "f4", "f4", "f8"),  # xarray widens any offset-only packing
    ("f8", "f4", "f4", "f8", "f4"),  # xarray takes the attributes' type, narrowing
    ("i2", None, None, "i2", "f4"),  # masked integers: xarray makes them NaN floats
]


@pytest.mark.parametrize(("stored", "scale", "offset", "ours", "xarrays"), DTYPE_RULES)
def test_decoded_dtype_rule(tmp_path: Path, stored: str, scale: str | None, offset: str | None,
                            ours: str, xarrays: str) -> None:
    import xarray as xr

    raw = np.array([1, 2, 7, 100], stored)
    attrs = {}
    if scale is not None:
        attrs["scale_factor"] = np.dtype(scale).type(0.25)
    if offset is not None:
        attrs["add_offset"] = np.dtype(offset).type(10.1)
    write_nc(tmp_path / "d.nc", "d", raw, attrs, fill=np.dtype(stored).type(7))
    x = la.open_dataset(tmp_path / "d.nc", "d")
    expected = read_nc(tmp_path / "d.nc", "d")
    assert x.dtype == np.dtype(ours) == expected.dtype
    assert_same_masked(x.masked_array(), expected)
    with xr.open_dataset(tmp_path / "d.nc", engine="netcdf4") as ds:
        values = ds["d"].values
    assert values.dtype == np.dtype(xarrays)
    if values.dtype == x.dtype:
        np.testing.assert_array_equal(values, x.masked_array().filled(np.nan))


# -- random encodings against netCDF4 ----------------------------------------------------------

STORED = ("i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8")


@st.composite
def cf_variables(draw: Any) -> tuple[np.ndarray, dict[str, Any], Any]:
    """Stored values, CF attributes and a fill value (or ``None``), all netCDF4 can write."""
    dtype = np.dtype(draw(st.sampled_from(STORED)))
    if dtype.kind == "f":
        elements = st.floats(-1e4, 1e4, width=8 * dtype.itemsize) | st.just(np.nan)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    raw = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, max_side=7),
                          elements=elements))
    pick = st.sampled_from(raw.ravel().tolist()) | elements  # often a value the data hold
    attrs: dict[str, Any] = {}
    if dtype.kind == "i" and draw(st.booleans()):
        attrs["_Unsigned"] = "true"
    # netCDF4 fails on _Unsigned data without a _FillValue (its default does not
    # fit the unsigned type), so those always have one.
    fill = draw(pick if attrs.get("_Unsigned") else st.none() | pick)
    if fill is None:
        # netCDF4 masks the library's default fill value when there is no
        # _FillValue; decoding, as xarray, only what attributes declare.
        raw[raw == netCDF4.default_fillvals[dtype.str[1:]]] = 0
    else:
        fill = dtype.type(fill)
    if draw(st.booleans()):
        attrs["missing_value"] = np.array(draw(st.lists(pick, min_size=1, max_size=2)), dtype)
    bounds = draw(st.sampled_from(["none", "range", "min", "max"]))
    if bounds != "none":
        a, b = sorted(draw(st.lists(pick.filter(lambda v: not np.isnan(v)), min_size=2, max_size=2)))
        if attrs.get("_Unsigned"):  # sorted as the unsigned numbers they stand for
            a, b = sorted((a, b), key=lambda v: np.asarray(v, dtype).view(f"u{dtype.itemsize}"))
        if bounds == "range":
            attrs["valid_range"] = np.array([a, b], dtype)
        else:
            attrs[f"valid_{bounds}"] = dtype.type(a if bounds == "min" else b)
    # Never 1 and 0: netCDF4 skips such packings and keeps the stored dtype.
    for name, choices in (("scale_factor", (0.5, 0.01, -2.0, 3.0)),
                          ("add_offset", (10.0, -273.15, 0.5))):
        if draw(st.booleans()):
            kind = np.dtype(draw(st.sampled_from(("f4", "f8"))))
            attrs[name] = kind.type(draw(st.sampled_from(choices)))
    return raw, attrs, fill


@given(variable=cf_variables(), data=st.data())
def test_decoding_equals_netcdf4(tmp_path_factory: Any, variable: Any, data: Any) -> None:
    raw, attrs, fill = variable
    path = tmp_path_factory.mktemp("h") / "v.nc"
    write_nc(path, "v", raw, attrs, fill=fill)
    expected = np.ma.asarray(read_nc(path, "v"))
    x = la.open_dataset(path, "v")
    assert x.shape == expected.shape
    assert_same_masked(x.masked_array(), expected)
    keys = [(slice(None, None, -1),), (slice(1, None, 2),)] + [(0,)] * (raw.ndim > 1)
    key = data.draw(st.sampled_from(keys))  # (0-d results of netCDF4 are np.ma.masked)
    assert_same_masked(x[key].masked_array(), expected[key])
    assert_array_equal(la.open_dataset(path, "v", decode=False), raw)
    # Encoding stores back what decoding read: the stored values where unmasked,
    # and netCDF4 reads the result as it read the original. (Packing into
    # floats is not exact: there, only the encoding is checked.)
    out = path.with_name("out.h5")
    la.to_hdf5(out, {"v": x}, encode=True)
    encoding = cf.source_encoding(x)
    assert encoding == cf.CFEncoding.from_attrs({**attrs, "_FillValue": fill} if fill is not None
                                                else attrs, raw.dtype)
    with h5py.File(out, "r") as f:
        assert cf.CFEncoding.from_attrs(f["v"].attrs, f["v"].dtype) == encoding
    if raw.dtype.kind in "iu" or not encoding.packed:
        assert_same_masked(np.ma.asarray(read_nc(out, "v")), expected)
        kept = ~np.ma.getmaskarray(expected)
        np.testing.assert_array_equal(read_nc(out, "v", decode=False)[kept], raw[kept])


# -- laziness, single pass, kernels, pickling -------------------------------------------------


def test_decoding_reads_nothing_until_evaluated(tmp_path: Path) -> None:
    encoding = cf.CFEncoding.from_attrs({"_FillValue": -1, "scale_factor": np.float32(0.5)}, "i2")
    lazy = cf.decode(la.asarray(InaccessibleArray((40, 50), "i2")), encoding)
    built = la.mean(lazy[3:9, ::-2] * 2 + 1, axis=0)
    assert built.shape == (25,) and built.dtype == np.float32 and lazy.fill_value != 0
    paths, _ = yearly_files(tmp_path)
    with refusing_reads():  # wrapping, decoding, indexing, building: attributes only
        series = la.LinearMosaic([la.open_dataset(p, "t") for p in paths], axis=0)
        view = series[5:7, 2, ::2]
        la.mean(view, axis=0)
    expected = np.ma.concatenate([read_nc(p, "t") for p in paths])[5:7, 2, ::2]
    with recording_reads() as reads:
        assert_same_masked(view.masked_array(), expected)
    assert all(isinstance(read.adapter, HDF5ArrayAdapter) for read in reads)
    # Rows 5 and 6: the second year.
    assert {read.adapter.filename for read in reads} == {str(paths[1])}
    assert sum(read.size for read in reads) <= 2 * 8  # the selection's rows, no more


def test_statistics_of_decoded_sources_run_the_kernels_in_one_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba")
    from lazyarray import kernels

    paths, _ = yearly_files(tmp_path)
    kernel_calls = []
    for name in ("sweep", "into"):  # the kernels' entry points, as lazyarray.fused asks them
        original = getattr(kernels, name)

        def spy(*args: Any, _original: Any = original, _name: str = name) -> Any:
            kernel_calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(kernels, name, spy)
    series = la.LinearMosaic([la.open_dataset(p, "t") for p in paths], axis=0)
    with recording_reads() as reads:
        results = la.ndarrays([la.mean(series, axis=0), la.std(series, axis=0),
                               la.max(series, axis=0), la.count(series, axis=0)],
                              kernels="numba", chunk_bytes=2000)
    assert kernel_calls  # the fused kernels computed the statistics
    counts = {str(p): np.zeros((4, 6, 8), np.int64) for p in paths}
    for read in reads:
        counts[read.adapter.filename][to_native(read.key)] += 1
    assert all((c == 1).all() for c in counts.values())  # every element read once
    expected = np.ma.concatenate([read_nc(p, "t") for p in paths])
    np.testing.assert_allclose(results[0][~expected.mean(0).mask],
                               expected.mean(0).compressed(), rtol=2e-7)


def test_decoded_graphs_pickle(tmp_path: Path) -> None:
    paths, _ = yearly_files(tmp_path)
    series = la.LinearMosaic([la.open_dataset(p, "t") for p in paths], axis=0)
    graphs = [series[2:9, ::-1], la.std(series * 1.8 - 459.67, axis=0)]
    raw = np.array([[0, -1, -56]], "i1")  # -56 is 200
    with h5py.File(tmp_path / "u.h5", "w") as f:
        f.create_dataset("u", data=raw).attrs.update({"_Unsigned": "true", "_FillValue": -1})
    graphs.append(la.open_dataset(tmp_path / "u.h5", "u")[0])
    z = zarr.create_array(str(tmp_path / "z.zarr"), shape=(4,), chunks=(2,), dtype="i2")
    z[:] = [3, -1, 5, 7]
    z.attrs.update({"_FillValue": -1, "valid_max": 6, "add_offset": 0.5})
    graphs.append(la.asarray(z)[::-1])
    for graph in graphs:
        again = pickle.loads(pickle.dumps(graph))
        assert_same_masked(again.masked_array(), graph.masked_array())
        np.testing.assert_array_equal(again.ndarray(), graph.ndarray())
    assert_array_equal(graphs[2], masked([0, None, 200], "u1"))
    assert_array_equal(graphs[3], masked([None, 5.5, None, 3.5], "f8"))


# -- asarray options and Zarr ------------------------------------------------------------------


def masked(values: list[Any], dtype: str) -> np.ma.MaskedArray:
    """``values`` with ``None`` for masked points, as a masked array of ``dtype``."""
    data = np.array([[0 if v is None else v for v in row] if isinstance(row, list)
                     else (0 if row is None else row) for row in values], dtype)
    mask = np.array([[v is None for v in row] if isinstance(row, list) else row is None
                     for row in values])
    return np.ma.masked_array(data, mask=mask)


def test_asarray_decode_and_masking_options(tmp_path: Path) -> None:
    raw = np.array([[-32767, 10, 20, 900], [30, -1, 40, 50]], "i2")
    path = tmp_path / "o.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("v", data=raw)
        d.attrs.update({"_FillValue": np.int16(-32767), "missing_value": np.int16(-1),
                        "scale_factor": np.float32(0.5), "valid_max": np.int16(100)})
        f.create_dataset("plain", data=np.arange(4.0))
    f = h5py.File(path, "r")
    decoded = la.asarray(f["v"])
    assert np.isnan(decoded.fill_value) and decoded.fill_value.dtype == np.float32
    assert_array_equal(decoded, masked([[None, 5, 10, None], [15, None, 20, 25]], "f4"))
    assert_array_equal(decoded, np.array([[np.nan, 5, 10, np.nan], [15, np.nan, 20, 25]], "f4"))
    assert_array_equal(la.asarray(f["v"], decode=False), raw)
    # Masking options mask the stored values by the rules of masked=True, then unpack.
    own = la.asarray(f["v"], masked=True)  # no valid range unless asked
    assert_array_equal(own, masked([[None, 5, 10, 450], [15, None, 20, 25]], "f4"))
    chosen = la.asarray(f["v"], masked=True, fill_value=10, valid_range=(0, None))
    assert_array_equal(chosen, masked([[None, None, 10, 450], [15, None, 20, 25]], "f4"))
    assert cf.source_encoding(chosen).fill_value == 10
    stored = la.asarray(f["v"], decode=False, masked=True)
    assert_array_equal(stored, masked([[None, 10, 20, 900], [30, None, 40, 50]], "i2"))
    # The Biggus adapter stays raw; a source without CF attributes is the plain adapter.
    assert_array_equal(la.HDF5ArrayAdapter(f["v"]), raw)
    assert type(la.asarray(f["plain"])) is la.HDF5ArrayAdapter
    f.close()


def test_zarr_attributes_decode_but_not_its_own_fill_value(tmp_path: Path) -> None:
    z = zarr.create_array(str(tmp_path / "z.zarr"), shape=(5,), dtype="i2", fill_value=-9)
    z[:4] = [1, 2, 3, 4]
    assert_array_equal(la.asarray(z), masked([1, 2, 3, 4, -9], "i2"))  # no CF attribute: raw
    z.attrs.update({"scale_factor": 0.5, "add_offset": 1.0, "missing_value": [2, 3]})
    # JSON numbers are doubles.
    assert_array_equal(la.asarray(z), masked([1.5, None, None, 3.0, -3.5], "f8"))
    # xarray keeps a Zarr v2 variable's _FillValue in the array's own fill value:
    # name it to mask it.
    assert_array_equal(la.asarray(z, masked=True, fill_value=z.fill_value),
                       masked([1.5, 2.0, 2.5, 3.0, None], "f8"))
    f = zarr.create_array(str(tmp_path / "f.zarr"), shape=(3,), dtype="f4")
    f[:] = [1.5, np.nan, 3.0]
    f.attrs["_FillValue"] = "AAAAAAAA+H8="  # xarray's base64 of NaN in Zarr v3
    assert_array_equal(la.asarray(f), masked([1.5, None, 3.0], "f4"))
    f.attrs["_FillValue"] = "Infinity"
    assert la.asarray(f).fill_value == np.float32("inf")
    f.attrs["_FillValue"] = "a string"
    with pytest.raises(DTypeError, match=r"Zarr array 'file://.*f\.zarr': the _FillValue "
                                         r"attribute must be one number, found 'a string'"):
        la.asarray(f)


def test_xarray_written_zarr_decodes_as_xarray_reads_it(tmp_path: Path) -> None:
    import xarray as xr

    ds = xr.Dataset({"p": ("x", np.array([1.0, np.nan, 2.5, 4.0])),
                     "t": ("x", np.array([1.5, np.nan, 3.0, 0.5], "f4"))})
    ds["p"].encoding = {"dtype": "i2", "scale_factor": 0.5, "add_offset": 10.0,
                        "_FillValue": -99}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xarray's notes on Zarr v3 and consolidation
        ds.to_zarr(tmp_path / "o.zarr", mode="w", zarr_format=3, consolidated=False)
        back = xr.open_zarr(tmp_path / "o.zarr", consolidated=False).load()
    for name in ("p", "t"):
        x = la.asarray(zarr.open_array(str(tmp_path / "o.zarr" / name)))
        assert x.dtype == back[name].dtype
        np.testing.assert_array_equal(x.masked_array().filled(np.nan), back[name].values)


# -- encoding on writing -------------------------------------------------------------------------


def test_encode_true_round_trips_a_mosaic_through_netcdf4(tmp_path: Path) -> None:
    paths, raw = yearly_files(tmp_path)
    series = la.LinearMosaic([la.open_dataset(p, "t") for p in paths], axis=0)
    out = tmp_path / "out.nc"
    [n] = la.to_hdf5(out, {"t": series, "part": series[2:5, 1]}, encode=True,
                     compute=[la.count(series)])
    expected = np.ma.concatenate([read_nc(p, "t") for p in paths])
    assert int(n) == expected.count()
    assert_same_masked(np.ma.asarray(read_nc(out, "t")), expected)
    assert_same_masked(np.ma.asarray(read_nc(out, "part")), expected[2:5, 1])
    stored = read_nc(out, "t", decode=False)
    assert stored.dtype == np.int16
    # Missing points are stored as the _FillValue (netCDF4 stores its -1s as they are).
    np.testing.assert_array_equal(stored, np.where(raw == -1, -32767, raw))
    with h5py.File(out, "r") as f:
        attrs = dict(f["t"].attrs)
        assert f["t"].fillvalue == -32767
    assert attrs["scale_factor"].dtype == np.float32 and attrs["_FillValue"] == -32767
    assert list(attrs["missing_value"]) == [-1]
    assert_same_masked(la.open_dataset(out, "t").masked_array(), expected)


def test_encode_packs_as_netcdf4_packs(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = np.ma.masked_array((rng.standard_normal((5, 7)) * 10 + 280).clip(250, 310).astype("f4"),
                              mask=rng.random((5, 7)) < 0.2, fill_value=0)
    data[0, :4] = [280.0005, 280.0015, 279.9995, 280.0025]  # halves, rounded to even
    spec = {"dtype": "int16", "scale_factor": 0.001, "add_offset": 280.0, "_FillValue": -32767}
    la.to_hdf5(tmp_path / "ours.nc", {"t": la.asarray(data)}, encode={"t": spec})
    with netCDF4.Dataset(tmp_path / "theirs.nc", "w") as f:
        f.createDimension("y", 5)
        f.createDimension("x", 7)
        v = f.createVariable("t", "i2", ("y", "x"), fill_value=np.int16(-32767))
        v.scale_factor, v.add_offset = np.float32(0.001), np.float32(280.0)
        v[:] = data
    np.testing.assert_array_equal(read_nc(tmp_path / "ours.nc", "t", decode=False),
                                  read_nc(tmp_path / "theirs.nc", "t", decode=False))
    assert_same_masked(np.ma.asarray(read_nc(tmp_path / "ours.nc", "t")),
                       np.ma.asarray(read_nc(tmp_path / "theirs.nc", "t")))
    # Unsigned bytes, from a dict spec, read back by netCDF4.
    counts = np.ma.masked_array(np.array([0, 200, 255, 17], "u1"), mask=[0, 0, 1, 0])
    la.to_hdf5(tmp_path / "u.nc", {"c": counts}, encode={
        "c": {"dtype": "int8", "_Unsigned": "true", "_FillValue": 255}})
    assert_same_masked(read_nc(tmp_path / "u.nc", "c"), masked([0, 200, None, 17], "u1"))
    assert_array_equal(read_nc(tmp_path / "u.nc", "c", decode=False),
                       np.array([0, -56, -1, 17], "i1"))


# -- bad input ---------------------------------------------------------------------------------


BAD_ATTRIBUTES = [
    ({"scale_factor": "0.01"}, "i2", DTypeError,
     "the scale_factor attribute must be a number, found '0.01'"),
    ({"scale_factor": np.array([1.0, 2.0])}, "i2", ValueError,
     r"the scale_factor attribute must be one number, found 2: \[1.0, 2.0\]"),
    ({"add_offset": np.float64(np.nan)}, "i2", ValueError,
     "the add_offset attribute must be finite, found nan"),
    ({"add_offset": np.True_}, "i2", DTypeError, "the add_offset attribute must be a number"),
    ({"_FillValue": np.float64(1e20)}, "i2", FillValueError,
     r"the _FillValue attribute 1e\+20 is not a value of dtype int16 \(out of its range"),
    ({"_FillValue": np.float64(0.5)}, "i2", FillValueError,
     r"the _FillValue attribute 0.5 is not a value of dtype int16 \(not a whole number\)"),
    ({"_FillValue": np.array([1, 2], "i2")}, "i2", ValueError,
     r"the _FillValue attribute must be one value, found 2: \[1, 2\]"),
    ({"missing_value": np.int16(-1)}, "u1", FillValueError,
     r"a value of the missing_value attribute -1 is not a value of dtype uint8"),
    ({"_FillValue": np.int16(300), "_Unsigned": "true"}, "i1", FillValueError,
     r"the _FillValue attribute 300 is a value of neither int8 nor \(the data being _Unsigned\) uint8"),
    ({"_Unsigned": "yes"}, "i1", ValueError,
     'the _Unsigned attribute must be "true" or "false", found \'yes\''),
    ({"_Unsigned": "true"}, "f4", DTypeError,
     "the _Unsigned attribute applies to integer data, found dtype float32"),
    ({"valid_range": np.array([0, 1, 2], "i2")}, "i2", ValueError,
     r"the valid_range attribute must hold 2 values \(minimum, maximum\), found 3"),
    ({"valid_range": np.array([5, 1], "i2")}, "i2", ValueError,
     "the valid range's minimum 5 exceeds its maximum 1"),
    ({"valid_range": np.array([0, 10], "i2"), "valid_min": np.int16(1)}, "i2", ValueError,
     r"the valid_range attribute \[0, 10\] and the valid_min attribute 1 disagree"),
    ({"valid_max": np.float64(np.nan)}, "f4", ValueError,
     "the valid_max attribute must be one real number"),
    ({"valid_min": np.int8(0)}, "c8", DTypeError, "a valid range needs integer or float data"),
]


@pytest.mark.parametrize(("attrs", "dtype", "error", "message"), BAD_ATTRIBUTES)
def test_malformed_attributes_are_refused_naming_the_variable(
        tmp_path: Path, attrs: dict[str, Any], dtype: str, error: type, message: str) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("grp/v", data=np.zeros(3, dtype)).attrs.update(attrs)
    with pytest.raises(error, match=f"HDF5 dataset '/grp/v' of '{path}': {message}"):
        la.open_dataset(path, "grp/v")
    with h5py.File(path, "r") as f:
        with pytest.raises(error, match=message):
            la.asarray(f["grp/v"])
        assert_array_equal(la.asarray(f["grp/v"], decode=False), np.zeros(3, dtype))


def test_contradictory_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("u", data=np.zeros(3, "i1")).attrs.update(
            {"_Unsigned": "true", "_FillValue": -1})
        f.create_dataset("t", data=np.zeros(3, "i2")).attrs["scale_factor"] = np.float32(2)
    with h5py.File(path, "r") as f:
        with pytest.raises(TypeError, match="decode must be True or False, found 'yes'"):
            la.asarray(f["t"], decode="yes")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="fill_value and valid_range apply only with "
                                            "masked=True"):
            la.asarray(f["t"], fill_value=3)
        with pytest.raises(TypeError, match="valid_range would bound the signed stored values "
                                            "of _Unsigned data"):
            la.asarray(f["u"], masked=True, valid_range=(0, 200))
        with pytest.raises(DTypeError, match="the stored values have dtype int16, the encoding"):
            cf.Decoded(la.asarray(f["t"], decode=False), cf.CFEncoding("i4"))


def test_bad_encodings_are_refused(tmp_path: Path) -> None:
    x = la.asarray(np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]))
    out = tmp_path / "o.h5"
    cases: list[tuple[dict[str, Any], type, str]] = [
        ({"encode": True}, TypeError,
         "to_hdf5: encoding 'x': the array carries no encoding to store it with"),
        ({"encode": {"y": True}}, TypeError,
         r"to_hdf5: encode names \['y'\], which are not among the arrays written: \['x'\]"),
        ({"encode": {"x": {"dtype": "i2", "scale": 2}}}, TypeError,
         r"to_hdf5: encoding 'x': \['scale'\] are not CF attributes"),
        ({"encode": {"x": 3}}, TypeError, "expected True, False, a dict of attributes"),
        ({"encode": "yes"}, TypeError, "encode must be True, False or a mapping"),
        ({"encode": {"x": {"dtype": "i2"}}}, DTypeError,
         (r"to_hdf5: encoding 'x': missing points \(masked, or NaN stored as integers\), but "
          "the encoding declares no _FillValue or missing_value to store them as")),
        ({"encode": {"x": {"dtype": "i2", "_FillValue": 0.5}}}, FillValueError,
         "to_hdf5: encoding 'x': the _FillValue attribute 0.5 is not a value of dtype int16"),
        ({"encode": {"x": {"dtype": "i1", "_FillValue": -1, "scale_factor": 0.01}}}, DTypeError,
         r"to_hdf5: encoding 'x': a value packs to 300.0, beyond the range of int8, -128 to 127"),
        ({"encode": {"x": {"dtype": "i2", "_FillValue": -1}}, "masked": True}, TypeError,
         "masked=True and encode both say how masked points are written"),
    ]
    for arguments, error, message in cases:
        with pytest.raises(error, match=message):
            la.to_hdf5(out, {"x": x}, **arguments)
        assert not out.exists()  # nothing left behind
    nan = la.asarray(np.array([1.0, np.nan]))
    with pytest.raises(DTypeError, match="missing points .masked, or NaN stored as integers"):
        la.to_hdf5(out, {"x": nan}, encode={"x": {"dtype": "i2"}})


def test_masking_options_replace_malformed_masking_attributes(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    raw = np.array([4, 0, 8], "i2")
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=raw).attrs.update(
            {"_FillValue": 1e20, "valid_range": [5, 1], "scale_factor": np.float32(0.5)})
    with h5py.File(path, "r") as f:
        with pytest.raises(ValueError, match="the valid range's minimum 5 exceeds its maximum "
                                             "1; decode=False reads the stored values; "
                                             "masked=True with fill_value="):
            la.asarray(f["v"])
        assert_array_equal(la.asarray(f["v"], masked=True, fill_value=0),
                           masked([2.0, None, 4.0], "f4"))
        assert_array_equal(la.asarray(f["v"], decode=False), raw)
