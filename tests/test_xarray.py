"""lazyarray as an xarray chunked array type (:mod:`lazyarray.xarray_`)."""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
netCDF4 = pytest.importorskip("netCDF4")

import lazyarray as la
from lazyarray.testing import recording_reads, refusing_reads
from lazyarray.xarray_ import LazyArrayManager, normalize_chunks

VARIABLES = ("tas", "pr", "hus")


def _write_member(path: Path, number: int, rng: np.random.Generator) -> None:
    """One file of the mosaic: 5 times of (y=6, x=8), chunked by time, CF attributes."""
    with netCDF4.Dataset(path, "w") as f:
        f.createDimension("time", None)
        f.createDimension("y", 6)
        f.createDimension("x", 8)
        time = f.createVariable("time", "f8", ("time",))
        time.units, time.calendar, time.standard_name = "days since 2000-01-01", "standard", "time"
        time[:] = np.arange(5) + 5 * number
        f.createVariable("y", "f4", ("y",))[:] = np.arange(6)
        f.createVariable("x", "f4", ("x",))[:] = np.arange(8) * 0.5
        for name in VARIABLES:
            var = f.createVariable(name, "f4", ("time", "y", "x"), chunksizes=(1, 6, 8),
                                   fill_value=np.float32(1e20))
            var.units, var.long_name = "1", f"{name} of file {number}"
            var[:] = rng.normal(size=(5, 6, 8)).astype("f4")
            if name == "pr":
                var[1, 2, 3] = np.ma.masked  # a missing value: NaN once decoded


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("mosaic")
    rng = np.random.default_rng(16)
    paths = [directory / f"member{i}.nc" for i in range(4)]
    for number, path in enumerate(paths):
        _write_member(path, number, rng)
    return paths


@pytest.fixture(scope="module")
def eager(files: list[Path]) -> Any:
    """The same files, read by xarray and numpy (no chunks)."""
    parts = []
    for path in files:
        with xr.open_dataset(path) as part:
            parts.append(part.load())
    return xr.concat(parts, "time")


@pytest.fixture
def lazy(files: list[Path]) -> Any:
    with xr.open_mfdataset(files, chunked_array_type="lazyarray", chunks={},
                           combine="by_coords") as ds:
        yield ds


def _sources(ds: Any) -> list[Any]:
    """The adapters at the leaves of the data variables' graphs."""
    found: dict[int, Any] = {}
    stack = [ds[v].data for v in ds.data_vars]
    while stack:
        node = stack.pop()
        if isinstance(node, la.ArrayAdapter):
            found[id(node.concrete)] = node
        stack.extend(node.inputs)
    return list(found.values())


# -- discovery -----------------------------------------------------------------


def test_the_chunk_manager_is_registered() -> None:
    from xarray.namedarray.parallelcompat import guess_chunkmanager, list_chunkmanagers

    assert isinstance(list_chunkmanagers()["lazyarray"], LazyArrayManager)
    assert isinstance(guess_chunkmanager("lazyarray"), LazyArrayManager)
    a = xr.DataArray([1.0, 2.0], dims="x").chunk(x=1, chunked_array_type="lazyarray")
    assert isinstance(a.data, la.Array)


# -- opening a mosaic of files -------------------------------------------------


def test_open_mfdataset_is_lazy_and_its_mean_equals_xarray_numpy(lazy: Any,
                                                                eager: Any) -> None:
    with refusing_reads():
        mean = lazy.mean("time")
    assert {type(lazy[v].data) for v in VARIABLES} == {la.LinearMosaic}
    assert all(isinstance(mean[v].data, la.Aggregation) for v in VARIABLES)
    xr.testing.assert_allclose(mean.compute(), eager.mean("time"))
    assert lazy.attrs == eager.attrs and lazy.tas.attrs == eager.tas.attrs


def test_open_dataset_per_file_then_concat(files: list[Path], eager: Any) -> None:
    with refusing_reads():
        parts = [xr.open_dataset(p, chunks={}, chunked_array_type="lazyarray") for p in files]
        ds = xr.concat(parts, "time")
        maximum = ds.max("time")
    assert isinstance(ds.tas.data, la.LinearMosaic)
    xr.testing.assert_allclose(maximum.compute(), eager.max("time"))
    for part in parts:
        part.close()


def test_statistics_read_each_stored_chunk_once_and_round_trip(lazy: Any, eager: Any,
                                                               tmp_path: Path) -> None:
    def statistics(ds: Any) -> Any:
        return xr.Dataset({"mean": ds.tas.mean("time"), "std": ds.tas.std("time"),
                           "max": ds.pr.max("time")})

    with refusing_reads():
        lazy_statistics = statistics(lazy)
    sources = _sources(lazy_statistics)
    assert len(sources) == 8  # tas and pr of 4 files
    with recording_reads() as reads:
        computed = lazy_statistics.compute()
    for source in sources:
        assert (reads.counts(source) == 1).all()
    xr.testing.assert_allclose(computed, statistics(eager))

    with recording_reads() as reads:
        lazy_statistics.to_netcdf(tmp_path / "statistics.nc")
    for source in sources:
        assert (reads.counts(source) == 1).all()
    with xr.open_dataset(tmp_path / "statistics.nc") as back:
        xr.testing.assert_allclose(back.load(), statistics(eager))


def test_load_evaluates_every_variable_in_one_pass(lazy: Any, eager: Any) -> None:
    sources = _sources(lazy)
    with recording_reads() as reads:
        loaded = lazy.load()
    assert all((reads.counts(s) == 1).all() for s in sources)
    assert all(isinstance(loaded[v].data, np.ndarray) for v in VARIABLES)
    xr.testing.assert_identical(loaded, eager)


def test_whole_dataset_round_trips_through_netcdf(lazy: Any, eager: Any,
                                                  tmp_path: Path) -> None:
    lazy.to_netcdf(tmp_path / "all.nc")
    with xr.open_dataset(tmp_path / "all.nc") as back:
        xr.testing.assert_identical(back.load(), eager)


#: Lazy operations on the dataset, compared with the same on numpy-backed data.
OPERATIONS = {
    "isel": lambda d: d.isel(time=slice(3, 12), x=[1, 5]),
    "isel point": lambda d: d.isel(time=7, y=2),
    "isel lists": lambda d: d.isel(time=[0, 7, 19], y=[4, 1], x=[0, 3, 5]),
    "sel": lambda d: d.sel(y=slice(1, 3)).sel(x=2.2, method="nearest"),
    "arithmetic": lambda d: d.tas * 2 + d.pr - 1,
    "anomaly": lambda d: d - d.mean("time"),
    "where": lambda d: d.tas.where(d.tas > 0),
    "where other": lambda d: d.where(d.tas > 0, 0.0),
    "sum": lambda d: d.sum("time"),
    "count": lambda d: d.count("time"),
    "min": lambda d: d.min("time"),
    "max": lambda d: d.max(["y", "x"]),
    "std ddof": lambda d: d.std("time", ddof=1),
    "mean all": lambda d: d.tas.mean(),
    "argmax": lambda d: d.tas.argmax("time"),
    "cumsum": lambda d: d.tas.cumsum("time"),
    "isnull": lambda d: d.pr.isnull(),
    "fillna": lambda d: d.pr.fillna(0),
    "ufunc": lambda d: np.sqrt(abs(d.tas)),
    "clip": lambda d: d.tas.clip(0, 1),
    "transpose": lambda d: d.tas.transpose("x", "y", "time"),
    "diff": lambda d: d.tas.diff("time"),
    "groupby": lambda d: d.tas.groupby("y").mean(),
    "resample": lambda d: d.tas.resample(time="5D").mean(),
    "mean of where": lambda d: d.tas.where(d.pr > 0).mean("time"),
    "rolling mean": lambda d: d.tas.rolling(time=3, center=True).mean(),
    "rolling max": lambda d: d.pr.rolling(time=4, min_periods=2).max(),
    "rolling std": lambda d: d.tas.rolling(time=5).std(),
    "coarsen": lambda d: d.tas.coarsen(time=5).mean(),
    "stack": lambda d: d.tas.stack(points=("y", "x")).mean("points"),
    "median": lambda d: d.tas.median("time"),
    "quantile": lambda d: d.tas.quantile([0.1, 0.5], dim="time"),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_operations_are_lazy_and_equal_xarray_numpy(name: str, lazy: Any, eager: Any) -> None:
    operation = OPERATIONS[name]
    with refusing_reads():
        result = operation(lazy)
    arrays = result.data_vars.values() if isinstance(result, xr.Dataset) else [result]
    assert all(isinstance(a.data, la.Array) for a in arrays)
    # Absolute tolerance: lazyarray's float32 means accumulate in float64,
    # numpy's in float32, so anomalies near 0 differ relatively.
    xr.testing.assert_allclose(result.compute(), operation(eager), atol=1e-6)


#: What lazyarray cannot do lazily: numpy functions it does not implement.
REFUSED = {
    "dot": (lambda d: xr.dot(d.tas, d.pr, dim="x"), "einsum"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_is_not_lazy_raises_clearly_without_reading(name: str, lazy: Any) -> None:
    operation, function = REFUSED[name]
    with refusing_reads(), pytest.raises(TypeError, match=f"{function} is not implemented"):
        operation(lazy).compute()


def test_persist_keeps_lazy_arrays_over_memory(lazy: Any, eager: Any) -> None:
    with recording_reads() as reads:
        persisted = lazy.persist()
    assert len(reads) == 12  # each variable of each file, once
    assert isinstance(persisted.tas.data, la.NumpyArrayAdapter)
    with recording_reads() as reads:
        mean = persisted.mean("time").compute()
    assert all(read.source is not None and isinstance(read.source, np.ndarray)
               for read in reads)
    xr.testing.assert_allclose(mean, eager.mean("time"))


def test_rechunk_and_chunks(lazy: Any) -> None:
    rechunked = lazy.chunk(time=3, chunked_array_type="lazyarray")
    assert rechunked.tas.data is lazy.tas.data  # the planner tiles
    assert dict(lazy.chunks) == {d: lazy.tas.data.chunks[i] for i, d in enumerate(lazy.tas.dims)}


def test_full_like_and_apply_ufunc(lazy: Any, eager: Any) -> None:
    assert isinstance(xr.full_like(lazy.tas, 2.0).data, la.ConstantArray)
    xr.testing.assert_identical(xr.zeros_like(lazy.tas).compute(), xr.zeros_like(eager.tas))
    sine = xr.apply_ufunc(np.sin, lazy.tas, dask="parallelized", output_dtypes=["f4"])
    assert isinstance(sine.data, la.MapBlocks)
    xr.testing.assert_allclose(sine.compute(), np.sin(eager.tas))
    kwargs = {"input_core_dims": [["x"]], "output_core_dims": [["x"]]}
    ranks = xr.apply_ufunc(np.sort, lazy.tas, dask="parallelized", output_dtypes=["f4"],
                           **kwargs)
    xr.testing.assert_allclose(ranks.compute(), xr.apply_ufunc(np.sort, eager.tas, **kwargs))
    totals = xr.apply_ufunc(lambda b: b.sum(-1), lazy.tas, input_core_dims=[["x"]],
                            dask="parallelized", output_dtypes=["f4"])
    xr.testing.assert_allclose(totals.compute(), eager.tas.sum("x"))


# -- the manager's own methods ---------------------------------------------------


def test_manager_reduction_scan_and_store() -> None:
    manager = LazyArrayManager()
    values = np.arange(24.0).reshape(4, 6)
    x = manager.from_array(values, ((2, 2), (6,)))
    total = manager.reduction(x, np.sum, aggregate_func=np.sum, axis=0, dtype="f8")
    np.testing.assert_array_equal(total.ndarray(), values.sum(axis=0))
    kept = manager.reduction(x, np.max, axis=(0, 1), dtype="f8", keepdims=True)
    np.testing.assert_array_equal(kept.ndarray(), values.max(keepdims=True))
    np.testing.assert_array_equal(manager.scan(np.cumsum, np.add, 0, x, axis=1).ndarray(),
                                  values.cumsum(axis=1))
    with pytest.raises(TypeError, match="no lazy scan"):
        manager.scan(np.maximum.accumulate, np.maximum, -np.inf, x, axis=0)
    target = np.zeros((6, 6))
    manager.store([x], [target], regions=[(slice(1, 5), slice(None))])
    np.testing.assert_array_equal(target[1:5], values)
    with pytest.raises(TypeError, match="compute=False"):
        manager.store([x], [target], compute=False)
    with pytest.raises(TypeError, match="one output"):
        manager.apply_gufunc(np.divmod, "(),()->(),()", x, x, output_dtypes=["f8", "f8"])
    a, b = manager.compute(x * 2, values)
    np.testing.assert_array_equal(a, values * 2)
    assert b is values


@pytest.mark.parametrize("chunks, shape, kwargs, expected", [
    ((2, -1), (5, 3), {}, ((2, 2, 1), (3,))),
    ({0: (1, 4)}, (5, 3), {}, ((1, 4), (3,))),
    ((None, 2), (5, 3), {"previous_chunks": (5, 3)}, ((5,), (2, 1))),
    ("auto", (100, 4), {"limit": 800, "dtype": "f8", "previous_chunks": (10, 4)},
     ((20,) * 5, (4,))),
    ("auto", (0, 4), {}, ((0,), (4,))),
])
def test_normalize_chunks(chunks: Any, shape: tuple[int, ...], kwargs: dict[str, Any],
                          expected: Any) -> None:
    assert normalize_chunks(chunks, shape, **kwargs) == expected


# -- ported from xarray's xarray/tests/test_dask.py ---------------------------------
# TestVariable and TestDataArrayAndDataset, on lazyarray instead of Dask: the
# same eager/lazy pairs, the same comparisons, and a check that results stay lazy.


@pytest.fixture
def pair() -> tuple[Any, Any]:
    values = np.random.default_rng(0).random((4, 6))
    eager = xr.DataArray(values, coords={"x": range(4)}, dims=("x", "y"), name="foo")
    return eager, eager.chunk({"x": 2, "y": 2}, chunked_array_type="lazyarray")


def _lazy_and(test: Any, expected: Any, actual: Any) -> None:
    """xarray's ``assertLazyAnd``: the data stay lazy, and compare equal."""
    assert isinstance(actual.variable.data, la.Array)
    test(actual, expected)


PORTED = {
    # TestVariable
    "test_copy": lambda v: v.copy(deep=True),
    "test_indexing": lambda v: v[[0, 1], [0, 1, 2]],
    "test_squeeze": lambda v: v[0:1].squeeze(),
    "test_transpose": lambda v: v.T,
    "test_roll": lambda v: v.roll(x=2),
    "test_unary_op": lambda v: abs(-v).round(),
    "test_binary_op": lambda v: v[0] + 2 * v,
    "test_binary_op_bitshift": lambda v: ((v * 10000).astype(int) << 5) >> 2,
    "test_reduce": lambda v: v.std(),
    "test_reduce_argmin": lambda v: v.argmin(dim="x"),
    "test_reduce_all": lambda v: (v < 0.5).all("x"),
    "test_univariate_ufunc": lambda v: np.sin(v),
    "test_bivariate_ufunc": lambda v: np.maximum(0.5, v),
    "test_missing_values": lambda v: v.where(v > 0.3).fillna(2),
    "test_missing_values_count": lambda v: v.where(v > 0.3).count(),
    # TestDataArrayAndDataset
    "test_lazy_array": lambda v: xr.concat([v[:2], v[2:]], "x").mean(),
    "test_groupby": lambda v: v.groupby("x").mean(...),
    "test_reindex": lambda v: v.reindex(x=[2, 3, 4]),
    "test_reindex_missing": lambda v: v.reindex(x=[1, 100, 2, 101, 3]),
    "test_reindex_between": lambda v: v.assign_coords(y=range(6)).reindex(
        x=[2.5, 3, 3.5], y=[2, 2.5, 3]),
    "test_groupby_first": lambda v: v.assign_coords(ab=("x", list("aabb"))).groupby("ab").first(),
    "test_groupby_last": lambda v: v.assign_coords(ab=("x", list("aabb"))).groupby("ab").last(),
    "test_dataarray_pickle": lambda v: pickle.loads(pickle.dumps(v)),
    "test_to_dataset_roundtrip": lambda v: v.to_dataset("x").to_dataarray("x"),
    "test_merge": lambda v: xr.merge([v, v.rename("bar")]).to_dataarray(),
    "test_ufuncs": lambda v: np.sin(v),
    "test_persist": lambda v: (v + 1).persist(),
    "test_where_dispatching": lambda v: v.where(v > 0.5),
    "test_shift": lambda v: v.shift(x=2),
    "test_rolling": lambda v: v.rolling(x=2).mean(),
    "test_stack": lambda v: v.stack(z=("x", "y")),
    "test_concat": lambda v: xr.DataArray(xr.Variable.concat(
        [v.variable[[0, 2]], v.variable[[1]]], "x", positions=[[0, 2], [1]])),
}

#: Ported cases lazyarray does not pass, with the clear error each raises.
PORTED_REFUSED = {
    "test_dot": (lambda v: v.dot(v), TypeError),  # numpy.einsum
}


@pytest.mark.parametrize("name", list(PORTED))
def test_ported_from_xarray_dask_tests(name: str, pair: tuple[Any, Any]) -> None:
    eager, lazy = pair
    with contextlib.nullcontext() if name == "test_persist" else refusing_reads():
        actual = PORTED[name](lazy)
    _lazy_and(xr.testing.assert_allclose, PORTED[name](eager), actual)


@pytest.mark.parametrize("name", list(PORTED_REFUSED))
def test_ported_cases_lazyarray_refuses(name: str, pair: tuple[Any, Any]) -> None:
    operation, error = PORTED_REFUSED[name]
    with pytest.raises(error):
        operation(pair[1]).compute()


def test_ported_simultaneous_compute() -> None:
    # xarray's test counts the scheduler's calls; here, reads of each source.
    values = np.arange(5.0)
    ds = xr.Dataset({"foo": ("x", values), "bar": ("x", values + 1)}).chunk(
        chunked_array_type="lazyarray")
    with recording_reads() as reads:
        ds.load()
    assert len(reads) == 2


def test_ported_chunk_and_values(pair: tuple[Any, Any]) -> None:
    eager, lazy = pair
    assert lazy.chunks == lazy.data.chunks  # the planner's blocks, not the ones asked
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert lazy.chunksizes == dict(zip(lazy.dims, lazy.data.chunks, strict=True))


# -- netCDF-4 variables read by lazyarray's own readers ---------------------------


def _write_encodings(path: Path, fmt: str) -> list[str]:
    """Variables in the encodings xarray decodes; returns their paths in the file."""
    rng = np.random.default_rng(7)
    values = rng.normal(size=(6, 5)).astype("f4") * 10
    with netCDF4.Dataset(path, "w", format=fmt) as f:
        f.createDimension("y", 6)
        f.createDimension("x", 5)
        filled = f.createVariable("filled", "f4", ("y", "x"), fill_value=np.float32(1e20))
        filled.missing_value = np.float32(-999)
        filled[:] = np.ma.masked_array(values, mask=values > 8)
        filled[0, 0] = -999
        packed = f.createVariable("packed", "i2", ("y", "x"), fill_value=np.int16(-32767))
        packed.scale_factor, packed.add_offset = np.float32(0.01), np.float32(20)
        packed[:] = np.ma.masked_array(values, mask=values < -8)
        plain = f.createVariable("plain", "f8", ("y", "x"))
        plain[:] = values
        names = ["filled", "packed", "plain"]
        if fmt == "NETCDF4":
            unsigned = f.createVariable("unsigned", "i1", ("y", "x"))
            unsigned._Unsigned = "true"
            unsigned.set_auto_scale(False)
            unsigned[:] = (np.arange(30).reshape(6, 5) * 9 - 128).astype("i1")
            big = f.createVariable("big", ">f4", ("y", "x"), endian="big")
            big[:] = values
            # Named like a dimension it does not coordinate: stored as _nc4_non_coord_x.
            f.createVariable("x", "f4", ("y", "x"))[:] = values + 1
            group = f.createGroup("inner")
            group.createVariable("deep", "f4", ("y", "x"), chunksizes=(2, 5))[:] = values - 1
            flags = f.createVariable("flags", "i1", ("y", "x"))
            flags.setncattr("dtype", "bool")  # as xarray writes booleans
            flags[:] = values > 0
            when = f.createVariable("when", "f8", ("y", "x"))
            when.units, when.calendar = "hours since 2000-01-01", "standard"
            when[:] = np.arange(30.0).reshape(6, 5) * 7
            names += ["unsigned", "big", "x", "flags", "when"]
    return names


@pytest.mark.filterwarnings("ignore:variable 'filled' has multiple fill values")
@pytest.mark.parametrize("fmt", ["NETCDF4", "NETCDF4_CLASSIC", "NETCDF3_64BIT_OFFSET"])
def test_decoded_variables_read_by_lazyarray_equal_xarrays_own(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "encodings.nc"
    names = _write_encodings(path, fmt)
    groups = [None, "inner"] if fmt == "NETCDF4" else [None]
    for group in groups:
        with refusing_reads():
            lazy = xr.open_dataset(path, group=group, chunks={}, chunked_array_type="lazyarray")
        with xr.open_dataset(path, group=group) as eager:
            for name in (["deep"] if group else names):
                data = lazy[name].data
                assert isinstance(data, la.Array) and data.dtype == eager[name].dtype
                leaves = [n for n in _walk(data) if not n.inputs]
                # HDF5 files are read by lazyarray; netCDF-3 ones through xarray.
                kind = la.OrthoArrayAdapter if fmt.startswith("NETCDF3") else la.HDF5ArrayAdapter
                assert [type(leaf) for leaf in leaves] == [kind], name
                want = eager[name].values
                got = lazy[name].values
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got, want)  # NaN where NaN
                np.testing.assert_array_equal(lazy[name].isel(y=[4, 1], x=slice(1, None, 2))
                                              .values, want[[4, 1], 1::2])
                restored = pickle.loads(pickle.dumps(data)).ndarray()
                np.testing.assert_array_equal(restored, want)
        lazy.close()


def _walk(node: Any) -> list[Any]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.inputs)
    return found


@pytest.mark.filterwarnings("ignore:variable 'filled' has multiple fill values")
def test_variables_opened_with_h5netcdf_are_read_by_lazyarray(tmp_path: Path) -> None:
    pytest.importorskip("h5netcdf")
    path = tmp_path / "encodings.nc"
    names = _write_encodings(path, "NETCDF4")
    with (xr.open_dataset(path, engine="h5netcdf", chunks={},
                          chunked_array_type="lazyarray") as lazy,
          xr.open_dataset(path, engine="h5netcdf") as eager):
        for name in names:
            leaves = [n for n in _walk(lazy[name].data) if not n.inputs]
            assert [type(leaf) for leaf in leaves] == [la.HDF5ArrayAdapter], name
            got, want = lazy[name].values, eager[name].values
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want)
