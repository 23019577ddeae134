"""Sources that are not plain numpy-like arrays: their masks, dtypes and refusals.

* A ``netCDF4.Variable`` with its default auto mask and scale returns masked
  arrays of another dtype than it declares: :func:`lazyarray.asarray` reads
  it as netCDF4 returns it, and reductions equal numpy.ma's on netCDF4's own
  values.
* Any array-like whose ``__getitem__`` returns masked arrays is masked by
  them when declared so, and refused (never averaged) when not.
* Object, void, structured and variable-length string sources are refused
  at wrapping with a ``TypeError`` naming the dtype.
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
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import keys, oindex

import lazyarray as la

#: The reductions compared with numpy.ma, as (name, lazy, numpy.ma) triples.
REDUCTIONS = [
    ("mean", la.mean, np.ma.mean),
    ("std", la.std, np.ma.std),
    ("min", la.min, np.ma.min),
    ("max", la.max, np.ma.max),
    ("sum", la.sum, np.ma.sum),
    ("count", la.count, np.ma.count),
]


def _netcdf(path: Path, values: np.ma.MaskedArray, *, dtype: str = "i2",
            scale: Any = None, offset: Any = None, fill: Any = None,
            unsigned: bool = False) -> None:
    """A netCDF-4 file written by netCDF4 with one variable ``v`` packing ``values``."""
    with netCDF4.Dataset(path, "w") as f:
        names = []
        for axis, n in enumerate(values.shape):
            names.append(f"d{axis}")
            f.createDimension(names[-1], n)
        v = f.createVariable("v", dtype, names, fill_value=fill)
        if scale is not None:
            v.scale_factor = scale
        if offset is not None:
            v.add_offset = offset
        if unsigned:
            v._Unsigned = "true"
        v[...] = values


def _assert_same(actual: Any, expected: Any, dtype: Any = None, scale: float = 0.0) -> None:
    """Equal shape, dtype (``expected``'s, or ``dtype``), mask and unmasked values.

    numpy.ma's reductions for floats may round their last bit differently
    (lazyarray accumulates in float64): to a relative 2e-6, or to 2e-6 of
    ``scale`` (the size of the data, for sums that cancel).
    """
    actual, expected = np.ma.asarray(actual), np.ma.asarray(expected)
    assert actual.shape == expected.shape
    dtype = expected.dtype if dtype is None else np.dtype(dtype)
    assert actual.dtype == dtype, (actual.dtype, dtype)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), np.ma.getmaskarray(expected))
    keep = ~np.ma.getmaskarray(expected)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual.data[keep], expected.data[keep], rtol=2e-6,
                                   atol=2e-6 * scale)
    else:
        np.testing.assert_array_equal(actual.data[keep], expected.data[keep])


def _reductions_equal_numpy_ma(lazy: la.Array, values: np.ma.MaskedArray) -> None:
    plain = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max, "sum": np.sum,
             "count": lambda a, axis: np.sum(np.ones_like(a, "i8"), axis=axis)}
    for name, ours, theirs in REDUCTIONS:
        for axis in (None, 0):
            expected = theirs(values, axis=axis)
            # numpy.ma's scalar results do not keep numpy's dtypes (a Python
            # int for count, float64 for a float32 mean): the dtype is numpy's.
            dtype = plain[name](values.data, axis=axis).dtype
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                _assert_same(ours(lazy, axis=axis).masked_array(), expected, dtype)


# -- netCDF4.Variable ---------------------------------------------------------


def test_netcdf4_variable_packed_with_fill_values_equals_numpy_ma(tmp_path: Path) -> None:
    # The issue's case: netCDF4's masked points carry arbitrary data, and its
    # int16 variable returns float32 values.
    rng = np.random.default_rng(0)
    data = rng.normal(3.5, 2.0, (12, 5)).astype("f4")
    mask = rng.random(data.shape) < 0.3
    mask[:, 2] = True  # an all-missing column
    _netcdf(tmp_path / "p.nc", np.ma.masked_array(data, mask), scale=np.float32(0.01),
            offset=np.float32(3), fill=np.int16(-32767))
    with netCDF4.Dataset(tmp_path / "p.nc") as f:
        variable = f["v"]
        values = variable[...]
        lazy = la.asarray(variable)
        assert type(lazy) is la.NetCDF4VariableAdapter
        assert (lazy.shape, lazy.dtype, lazy.masked) == (values.shape, values.dtype, True)
        _assert_same(lazy.masked_array(), values)
        _reductions_equal_numpy_ma(lazy, values)
        # Indexed and computed on, still netCDF4's values.
        # (numpy.ma turns the 2 into an int64 array, and so the result into
        # float64; numpy's rule keeps float32.)
        _assert_same((lazy[::-2, [4, 0]] * 2).masked_array(), values[::-2][:, [4, 0]] * 2,
                     values.dtype)
        # ndarray() fills masked points with the result's fill value, as numpy.ma does.
        np.testing.assert_array_equal(lazy.ndarray(), values.filled(lazy.fill_value))


@settings(max_examples=15, deadline=None)
@given(
    dtype=st.sampled_from(["i1", "i2", "i4", "u2", "f4", "f8"]),
    scale=st.sampled_from([None, 1.0, 0.5, 0.01]),
    offset=st.sampled_from([None, 0.0, -3.0, 250.0]),
    attribute_type=st.sampled_from(["f4", "f8"]),
    unsigned=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_netcdf4_decoding_rules_match_netcdf4(
    tmp_path_factory: pytest.TempPathFactory, dtype: str, scale: Any, offset: Any,
    attribute_type: str, unsigned: bool, seed: int,
) -> None:
    # The adapter's dtype is declared before anything is read: it must be the
    # dtype netCDF4's reads have, for every combination of attributes.
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype) if dtype[0] in "iu" else None
    raw = (rng.integers(max(info.min, -100), min(info.max, 100), (6, 4)) if info
           else rng.normal(0, 50, (6, 4))).astype(dtype)
    fill = raw.flat[0]  # some points hold it: masked
    path = tmp_path_factory.mktemp("rules") / "r.nc"
    cast = np.dtype(attribute_type).type
    _netcdf(path, np.ma.masked_array(raw), dtype=dtype, fill=fill,
            scale=None if scale is None else cast(scale),
            offset=None if offset is None else cast(offset),
            unsigned=unsigned and dtype[0] == "i")
    with netCDF4.Dataset(path) as f:
        variable = f["v"]
        values = variable[...]
        lazy = la.asarray(variable)
        assert lazy.dtype == values.dtype
        _assert_same(lazy.masked_array(), values)
        _assert_same(la.mean(lazy, 0).masked_array(), np.ma.mean(values, 0),
                     np.mean(values.data, 0).dtype, float(np.abs(values.data).max()))
        _assert_same(la.max(lazy).masked_array(), np.ma.max(values), values.dtype)


def test_netcdf4_variable_decode_false_gives_stored_values(tmp_path: Path) -> None:
    values = np.ma.masked_array(np.linspace(-2, 2, 12).reshape(3, 4), mask=np.eye(3, 4))
    _netcdf(tmp_path / "r.nc", values, dtype="i1", scale=np.float32(0.05),
            fill=np.int8(-128), unsigned=True)
    with netCDF4.Dataset(tmp_path / "r.nc") as f:
        variable = f["v"]
        stored = la.asarray(variable, decode=False)
        assert (variable.mask, variable.scale) == (True, True)  # the user's settings stay
        variable.set_auto_maskandscale(False)
        raw = variable[...]
        assert (stored.dtype, stored.masked) == (np.dtype("i1"), False)
        np.testing.assert_array_equal(stored.ndarray(), raw)
        assert int(la.sum(stored)) == int(raw.astype("i8").sum())
        _assert_same(pickle.loads(pickle.dumps(stored[1:, ::-1])).ndarray(), raw[1:, ::-1])
    with netCDF4.Dataset(tmp_path / "m.nc", "w", diskless=True, persist=False) as f:
        f.createDimension("x", 2)
        with pytest.raises(TypeError, match="in-memory dataset"):
            la.asarray(f.createVariable("v", "f4", ("x",)), decode=False)


@pytest.fixture(scope="module")
def netcdf4_cube(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A (5, 4, 3) packed, partly masked variable of a netCDF-4 file, open for the module."""
    values = np.ma.masked_array(np.arange(60, dtype="f8").reshape(5, 4, 3) / 4,
                                mask=np.arange(60).reshape(5, 4, 3) % 7 == 0)
    path = tmp_path_factory.mktemp("cube") / "c.nc"
    _netcdf(path, values, dtype="i2", scale=np.float32(0.25), fill=np.int16(-1))
    with netCDF4.Dataset(path) as f:
        yield f["v"]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_netcdf4_keys_and_indexing_equal_numpy(netcdf4_cube: Any, data: st.DataObject) -> None:
    # Biggus's keys= and indexing of the netCDF4 adapter: numpy's orthogonal
    # indexing of what netCDF4 returns, masks included.
    values = netcdf4_cube[...]
    key = data.draw(keys(values.shape, new_axes=False), label="key")
    expected = np.ma.masked_array(oindex(values.data, key),
                                  mask=oindex(np.ma.getmaskarray(values), key))
    for lazy in (la.NetCDF4VariableAdapter(netcdf4_cube, keys=key), la.asarray(netcdf4_cube)[key]):
        _assert_same(lazy.masked_array(), expected)


def test_netcdf4_variable_with_auto_mask_off_is_plain(tmp_path: Path) -> None:
    values = np.ma.masked_array(np.arange(6, dtype="f4"), mask=[0, 1, 0, 0, 1, 0])
    _netcdf(tmp_path / "m.nc", values, dtype="f4", fill=np.float32(-1))
    with netCDF4.Dataset(tmp_path / "m.nc") as f:
        variable = f["v"]
        variable.set_auto_mask(False)
        lazy = la.asarray(variable)
        raw = variable[...]
        assert not lazy.masked and not np.ma.isMaskedArray(raw)
        np.testing.assert_array_equal(lazy.ndarray(), raw)
        assert float(lazy.sum()) == float(raw.astype("f8").sum())  # -1s included, as asked


def test_netcdf4_variable_pickles_with_its_settings(tmp_path: Path) -> None:
    values = np.ma.masked_array(np.arange(20, dtype="f8").reshape(4, 5), mask=np.eye(4, 5))
    _netcdf(tmp_path / "k.nc", values, dtype="i2", scale=np.float64(0.5), fill=np.int16(-9))
    with netCDF4.Dataset(tmp_path / "k.nc") as f:
        lazy = la.mean(la.asarray(f["v"])[1:, ::2], axis=0)
        expected = np.ma.mean(f["v"][...][1:, ::2], axis=0)
        again = pickle.loads(pickle.dumps(lazy))
        _assert_same(again.masked_array(), expected)
        f["v"].set_auto_scale(False)
        raw = la.asarray(f["v"])
        assert raw.dtype == np.int16
        _assert_same(pickle.loads(pickle.dumps(raw)).masked_array(), f["v"][...])


def test_netcdf4_variable_reads_from_several_threads(tmp_path: Path) -> None:
    # netCDF-C is not thread-safe: the adapter serialises its reads.
    values = np.ma.masked_array(np.arange(4000, dtype="f4").reshape(400, 10))
    values[::7] = np.ma.masked
    _netcdf(tmp_path / "t.nc", values, dtype="f4", fill=np.float32(-1))
    with netCDF4.Dataset(tmp_path / "t.nc") as f:
        lazy = la.asarray(f["v"])
        mean, top = la.masked_arrays([lazy.mean(axis=0), lazy.max(axis=0)], workers=2,
                                     chunk_bytes=400)
        _assert_same(mean, np.ma.mean(values, axis=0), np.mean(values.data, axis=0).dtype)
        _assert_same(top, np.ma.max(values, axis=0))


def test_netcdf4_in_memory_variable_refuses_to_pickle(tmp_path: Path) -> None:
    with netCDF4.Dataset(tmp_path / "never.nc", "w", diskless=True, persist=False) as f:
        f.createDimension("x", 3)
        variable = f.createVariable("v", "f4", ("x",))
        variable[:] = [1, 2, 3]
        lazy = la.asarray(variable)
        np.testing.assert_array_equal(lazy.ndarray(), np.array([1, 2, 3], "f4"))
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(lazy)


def test_netcdf4_refuses_masking_options_and_strings(tmp_path: Path) -> None:
    with netCDF4.Dataset(tmp_path / "s.nc", "w") as f:
        f.createDimension("x", 2)
        strings = f.createVariable("s", str, ("x",))
        strings[0], strings[1] = "a", "bb"
        numbers = f.createVariable("n", "f4", ("x",))
        with pytest.raises(TypeError, match="variable-length"):
            la.asarray(strings)
        with pytest.raises(TypeError, match="own settings"):
            la.asarray(numbers, masked=True)


# -- array-likes that return masked arrays --------------------------------------


class MaskingSource:
    """An array-like whose reads are masked arrays whose masked points hold junk."""

    def __init__(self, values: np.ma.MaskedArray):
        self._values = values
        self.shape, self.dtype = values.shape, values.dtype

    def __getitem__(self, key: Any) -> np.ma.MaskedArray:
        out = self._values[key]
        junk = np.ma.masked_array(np.full(np.shape(out), 2.5e19, self.dtype),
                                  mask=np.ma.getmaskarray(out))
        return np.ma.where(np.ma.getmaskarray(out), junk, out)


def _masked_values(seed: int) -> np.ma.MaskedArray:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(9, 7))
    return np.ma.masked_array(data, mask=rng.random(data.shape) < 0.25)


@pytest.mark.parametrize("adapter", [
    lambda s: la.asarray(s, masked=True),
    lambda s: la.NumpyArrayAdapter(s, masked=True),
    lambda s: la.OrthoArrayAdapter(s, masked=True),
], ids=["asarray", "NumpyArrayAdapter", "OrthoArrayAdapter"])
def test_declared_masked_array_like_is_masked_by_what_it_returns(adapter: Any) -> None:
    values = _masked_values(1)
    lazy = adapter(MaskingSource(values))
    assert lazy.masked
    _reductions_equal_numpy_ma(lazy, values)
    _assert_same((lazy - 1).masked_array(), values - 1, values.dtype)


def test_undeclared_masked_points_raise_instead_of_entering_results() -> None:
    values = _masked_values(2)
    lazy = la.asarray(MaskingSource(values))
    assert not lazy.masked
    for realise in (lambda: lazy.ndarray(), lambda: la.mean(lazy).ndarray(),
                    lambda: (lazy * 2).sum(axis=0).ndarray()):
        with pytest.raises(la.MaskedSourceError, match=r"asarray\(source, masked=True\)"):
            realise()
    # Reads without masked points are fine, and equal numpy.
    unmasked = la.asarray(MaskingSource(np.ma.masked_array(values.data)))
    np.testing.assert_allclose(float(unmasked.mean()), values.data.mean(), rtol=1e-12)


def test_source_returning_another_dtype_raises() -> None:
    class Scaling:
        shape, dtype = (3,), np.dtype("i2")

        def __getitem__(self, key: Any) -> np.ndarray:
            return np.array([0.5, 1.5, 2.5], "f4")[key]

    with pytest.raises(la.DTypeError, match="declares dtype int16 but returned float32"):
        la.asarray(Scaling()).ndarray()

    class Narrower:
        shape, dtype = (3,), np.dtype("f8")

        def __getitem__(self, key: Any) -> np.ndarray:
            return np.array([0.5, 1.5, 2.5], "f4")[key]

    result = la.asarray(Narrower()).ndarray()  # float32 values fit float64 exactly
    assert result.dtype == np.float64 and result.tolist() == [0.5, 1.5, 2.5]


# -- dtypes without maths -----------------------------------------------------------


def _h5(tmp_path: Path, name: str, **kwargs: Any) -> h5py.Dataset:
    f = h5py.File(tmp_path / f"{name}.h5", "w")
    return f.create_dataset(name, **kwargs)


@pytest.mark.parametrize("make, kind", [
    (lambda tmp: np.array([1, 2, None], dtype=object), "Python objects"),
    (lambda tmp: np.zeros(3, "V4"), "void"),
    (lambda tmp: np.zeros(3, "i4,f8"), "structured"),
    (lambda tmp: np.array(["a", "bb"], dtype=np.dtypes.StringDType()), "variable-length"),
    (lambda tmp: _h5(tmp, "s", data=["a", "bb"], dtype=h5py.string_dtype()),
     "variable-length strings"),
    (lambda tmp: _h5(tmp, "q", shape=(2,), dtype=h5py.vlen_dtype("i4")),
     "variable-length sequences"),
    (lambda tmp: _h5(tmp, "c", data=np.zeros(3, "i4,f8")), "structured"),
    (lambda tmp: zarr.create_array({}, shape=(2,), dtype=str), "variable-length strings"),
], ids=["object", "void", "structured", "StringDType", "h5py-vlen-str", "h5py-vlen-int",
        "h5py-compound", "zarr-str"])
def test_dtypes_without_maths_are_refused_at_wrapping(
    tmp_path: Path, make: Any, kind: str
) -> None:
    source = make(tmp_path)
    with pytest.raises(TypeError, match=rf"dtype .*\({kind}") as raised:
        la.asarray(source)
    assert isinstance(raised.value, la.UnsupportedDTypeError)
    assert isinstance(raised.value, la.DTypeError)


def test_object_sum_is_refused_not_garbage() -> None:
    # The case: numpy raises; lazyarray used to give -9223372036854775808.
    values = np.array([1, 2, None], dtype=object)
    with pytest.raises(TypeError):
        np.sum(values)
    with pytest.raises(TypeError, match="object"):
        la.sum(values)
