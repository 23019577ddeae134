"""Masked arrays are saved as missing by default, and every reader sees the mask.

``save``, ``to_hdf5`` and ``to_zarr`` write an array whose ``masked`` is true
in masked mode without being asked: masked points become the fill value the
target declares (or the array's, then recorded as ``_FillValue`` or as the
Zarr array's ``fill_value``), so reading back with lazyarray, h5py + numpy.ma,
netCDF4 or xarray gives the same mask. ``masked=False`` still forces plain
writes, and ``masked=True`` masked ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest
import xarray as xr
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la


def _source(seed: int, dtype: str = "f4", shape: tuple[int, ...] = (6, 5)) -> np.ma.MaskedArray:
    rng = np.random.default_rng(seed)
    data = (rng.normal(10, 3, shape) * (100 if dtype[0] in "iu" else 1)).astype(dtype)
    mask = rng.random(shape) < 0.3
    return np.ma.masked_array(data, mask)


def _expression(values: np.ma.MaskedArray) -> tuple[la.Array, np.ma.MaskedArray]:
    """A masked lazy expression and what numpy.ma gives for it (numpy's dtype)."""
    lazy = la.asarray(values)[::-1] * 2
    expected = values[::-1] * 2
    return lazy, expected.astype(np.result_type(values.dtype, 2))


def _same_masked(actual: Any, expected: np.ma.MaskedArray) -> None:
    actual = np.ma.asarray(actual)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
    keep = ~np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.asarray(actual.data)[keep],
                                  np.asarray(expected.data)[keep].astype(actual.dtype))


def _read_back_everywhere(path: Path, name: str, expected: np.ma.MaskedArray) -> None:
    """The mask, as lazyarray, h5py + _FillValue, netCDF4 and xarray each read it."""
    with h5py.File(path, "r") as f:
        dataset = f[name]
        fill = dataset.attrs["_FillValue"]
        raw = dataset[()]
        _same_masked(np.ma.masked_equal(raw, fill), expected)
        _same_masked(la.asarray(dataset, masked=True).masked_array(), expected)
    with netCDF4.Dataset(path) as f:
        _same_masked(f[name][...], expected)
    with xr.open_dataset(path, engine="netcdf4") as ds:
        decoded = ds[name].values
        _same_masked(np.ma.masked_invalid(decoded), expected)


def test_to_hdf5_of_a_masked_expression_records_its_fill_value(tmp_path: Path) -> None:
    # The case: without masked=True, the fill value (1e20) was written
    # as data and no _FillValue recorded.
    values = _source(0)
    lazy, expected = _expression(values)
    assert lazy.masked
    la.to_hdf5(tmp_path / "m.h5", {"m": lazy, "plain": la.asarray(values.data)})
    _read_back_everywhere(tmp_path / "m.h5", "m", expected)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert f["m"].attrs["_FillValue"] == np.float32(lazy.fill_value)
        assert "_FillValue" not in f["plain"].attrs  # an unmasked array records nothing
        np.testing.assert_array_equal(f["plain"][()], values.data)


@settings(max_examples=10, deadline=None)
@given(dtype=st.sampled_from(["f4", "f8", "i2", "i4", "u1"]), seed=st.integers(0, 2**16),
       fill=st.sampled_from([None, "declared"]))
def test_save_into_hdf5_targets_is_masked_by_default(
    tmp_path_factory: pytest.TempPathFactory, dtype: str, seed: int, fill: Any
) -> None:
    values = _source(seed, dtype)
    if fill == "declared":
        values.fill_value = np.asarray(values.data.flat[0]) + 1
    # An unmasked point equal to the fill value written would read back masked,
    # as in any file that marks missing points by value: keep the data off it.
    written = np.asarray(values.fill_value).astype(dtype)
    values.data[values.data == written] = written + np.asarray(1, dtype)
    lazy = la.asarray(values)
    path = tmp_path_factory.mktemp("save") / "t.h5"
    with h5py.File(path, "w") as f:
        target = f.create_dataset("t", shape=values.shape, dtype=dtype)
        [count] = la.save([lazy], [target], compute=[la.count(lazy)])
    assert int(count) == values.count()
    _read_back_everywhere(path, "t", values)


def test_save_into_a_target_that_declares_a_fill_value_uses_it(tmp_path: Path) -> None:
    values = _source(3, "i2")
    with h5py.File(tmp_path / "d.h5", "w") as f:
        target = f.create_dataset("d", shape=values.shape, dtype="i4")
        target.attrs["_FillValue"] = np.int32(-9999)
        la.save([la.asarray(values)], [target])
        raw = target[()]
    assert (raw[values.mask] == -9999).all()
    np.testing.assert_array_equal(raw[~values.mask], values.data[~values.mask])
    _read_back_everywhere(tmp_path / "d.h5", "d", values)


def test_to_zarr_of_a_masked_array_sets_its_fill_value(tmp_path: Path) -> None:
    values = _source(4)
    lazy, expected = _expression(values)
    la.to_zarr(tmp_path / "z.zarr", lazy)
    z = zarr.open_array(tmp_path / "z.zarr")
    assert z.fill_value == np.float32(lazy.fill_value)
    _same_masked(la.asarray(z, masked=True).masked_array(), expected)
    _same_masked(np.ma.masked_equal(z[...], z.fill_value), expected)


def test_save_into_zarr_targets_is_masked_by_default(tmp_path: Path) -> None:
    values = _source(5, "i4")
    target = zarr.create_array(tmp_path / "s.zarr", shape=values.shape, dtype="i4",
                               fill_value=-1)
    la.save([la.asarray(values)], [target])
    stored = zarr.open_array(tmp_path / "s.zarr")
    assert (stored[...][values.mask] == -1).all()
    _same_masked(la.asarray(stored, masked=True).masked_array(), values)


@pytest.mark.parametrize("writer", ["to_hdf5", "to_zarr", "save"])
def test_masked_false_still_writes_plain(tmp_path: Path, writer: str) -> None:
    values = _source(6)
    lazy = la.asarray(values)
    filled = values.filled(values.fill_value)
    if writer == "to_hdf5":
        la.to_hdf5(tmp_path / "p.h5", {"p": lazy}, masked=False)
        with h5py.File(tmp_path / "p.h5", "r") as f:
            assert "_FillValue" not in f["p"].attrs
            np.testing.assert_array_equal(f["p"][()], filled)
    elif writer == "to_zarr":
        la.to_zarr(tmp_path / "p.zarr", lazy, masked=False)
        z = zarr.open_array(tmp_path / "p.zarr")
        assert z.fill_value == 0
        np.testing.assert_array_equal(z[...], filled)
    else:
        out = np.zeros(values.shape, values.dtype)
        la.save([lazy], [out], masked=False)
        np.testing.assert_array_equal(out, filled)


def test_masked_true_forces_masked_compute_results(tmp_path: Path) -> None:
    values = _source(7)
    lazy = la.asarray(values)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        target = f.create_dataset("c", shape=values.shape, dtype="f4")
        [mean] = la.save([lazy], [target], compute=[la.mean(lazy, axis=0)], masked=True)
        [plain] = la.save([lazy], [target], compute=[la.mean(lazy, axis=0)])
    assert isinstance(mean, np.ma.MaskedArray) and not isinstance(plain, np.ma.MaskedArray)
    np.testing.assert_allclose(mean, np.ma.mean(values, axis=0).astype("f4"), rtol=1e-6)
    np.testing.assert_allclose(plain, mean.filled(np.nan), rtol=1e-6)
