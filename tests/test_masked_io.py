"""Masked sources read from HDF5 and Zarr, and masked results saved to them.

numpy.ma is the oracle: a masked source equals ``np.ma.masked_array(data,
mask=..., fill_value=...)`` built from the stored data by the netCDF rules
(points equal to the fill value, or to a ``missing_value``, or outside the
valid range), in data where unmasked, mask, fill value, shape and dtype, under
random keys and tilings; ``ndarray()`` equals its ``filled()``. Saving and
reading back gives the saved masked array again.
"""

from __future__ import annotations

import itertools
import math
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
import zarr.storage
from examples import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import CHUNK_BYTES, keys, oindex, shapes

import lazyarray as la
from lazyarray.testing import CountingArray, ReadLog, recording_reads

#: The dtypes masking by value is checked with.
DTYPES = tuple(
    np.dtype(code) for code in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8")
)

_names = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the files of hypothesis examples (each gets new names)."""
    return tmp_path_factory.mktemp("masked_io")


def fresh(folder: Path, suffix: str) -> Path:
    """A path in ``folder`` no earlier example used."""
    return folder / f"f{next(_names)}{suffix}"


# -- oracle helpers ---------------------------------------------------------------


def equal(data: np.ndarray, value: Any) -> np.ndarray:
    """Where ``data`` equals ``value``; NaN equal to NaN."""
    data = np.asarray(data)
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return np.isnan(data)
    return data == value


def same(a: Any, b: Any) -> bool:
    """Two values (or arrays) equal, NaNs equal, and of one dtype."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def cast(value: Any, dtype: np.dtype) -> Any:
    """``value`` cast to ``dtype`` as numpy.ma's ``filled`` casts a fill value."""
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(dtype)[()]


def check_masked(lazy: la.Array, expected: np.ma.MaskedArray, chunk_bytes: int) -> None:
    """``lazy`` realises to ``expected`` in both modes, and declares its shape, dtype, fill."""
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    assert same(lazy.fill_value, expected.fill_value), (lazy.fill_value, expected.fill_value)
    with la.set_options(chunk_bytes=chunk_bytes):
        got, plain = lazy.masked_array(), lazy.ndarray()
    assert type(got) is np.ma.MaskedArray
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(got), mask)
    assert same(got.data[~mask], expected.data[~mask])
    assert same(got.fill_value, expected.fill_value)
    assert type(plain) is np.ndarray
    assert same(plain, expected.filled(expected.fill_value))


# -- strategies -------------------------------------------------------------------


def values_of(dtype: np.dtype, nan: bool = True) -> st.SearchStrategy[Any]:
    """Any value of ``dtype`` (NaN and infinities too, for floats, with ``nan``)."""
    if dtype.kind == "f":
        return st.floats(width=8 * dtype.itemsize, allow_nan=nan).map(dtype.type)
    info = np.iinfo(dtype)
    return st.integers(int(info.min), int(info.max)).map(dtype.type)


def fill_values(dtype: np.dtype) -> st.SearchStrategy[Any]:
    """Fill values of ``dtype``: any value, NaN often for floats."""
    if dtype.kind == "f":
        return st.just(dtype.type("nan")) | values_of(dtype, nan=False)
    return values_of(dtype)


@st.composite
def masks(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    """Masks of ``shape``: random, all masked, none masked, or whole slices of an axis."""
    kind = draw(st.sampled_from(["random", "all", "none", "slices"]))
    if kind == "all":
        return np.ones(shape, bool)
    if kind == "none" or not shape:
        return np.zeros(shape, bool)
    if kind == "random":
        return draw(hnp.arrays(bool, shape))
    axis = draw(st.integers(0, len(shape) - 1))
    rows = draw(hnp.arrays(bool, shape[axis]))
    others = [a for a in range(len(shape)) if a != axis]
    return np.broadcast_to(np.expand_dims(rows, others), shape).copy()


@st.composite
def masked_data(
    draw: st.DrawFn, dtype: np.dtype, shape: tuple[int, ...], fill: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``(data, mask)``: random data of ``dtype`` holding ``fill`` exactly where ``mask`` is.

    Unmasked points that happen to equal ``fill`` are changed, so the mask
    is what the data say.
    """
    data = draw(hnp.arrays(dtype, shape, elements=values_of(dtype)))
    mask = draw(masks(shape))
    data[mask] = fill
    clash = equal(data, fill) & ~mask
    data[clash] = dtype.type(0 if not equal(dtype.type(0), fill) else 1)
    return data, mask


def chunks_for(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A storage chunk shape for ``shape``: one to three chunks along each axis."""
    return tuple(draw(st.integers(max(1, math.ceil(n / 3)), max(n, 1))) for n in shape)


def hdf5_dataset(path: Path, data: np.ndarray, chunks: tuple[int, ...] | None, **kwargs: Any
                 ) -> h5py.Dataset:
    """Write ``data`` to dataset ``x`` of a new file; return it opened read-only.

    ``attrs`` (a dict) become attributes; other arguments go to ``create_dataset``.
    """
    attrs = kwargs.pop("attrs", {})
    if data.ndim and chunks is not None:
        # HDF5 refuses chunks longer than a fixed axis, so zero-length axes are resizable.
        kwargs.update(chunks=chunks, maxshape=tuple(None if n == 0 else n for n in data.shape))
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset("x", data=data, **kwargs)
        dataset.attrs.update(attrs)
    return h5py.File(path, "r")["x"]


def zarr_array(path: Path, data: np.ndarray, chunks: tuple[int, ...], **kwargs: Any) -> zarr.Array:
    """Write ``data`` to a new Zarr array at ``path``; ``attrs`` become its attributes."""
    attrs = kwargs.pop("attrs", {})
    z = zarr.create_array(
        zarr.storage.LocalStore(path), shape=data.shape, dtype=data.dtype,
        chunks=chunks if data.ndim else "auto", **kwargs,
    )
    z[...] = data
    z.attrs.update({name: np.asarray(v).tolist() for name, v in attrs.items()})
    return zarr.open_array(zarr.storage.LocalStore(path, read_only=True))


def store(backend: str, draw: st.DrawFn, folder: Path, data: np.ndarray, own: Any = None,
          attrs: dict[str, Any] | None = None) -> Any:
    """``data`` stored by ``backend`` with its own fill value ``own`` and ``attrs``."""
    attrs = attrs or {}
    chunks = chunks_for(draw, data.shape)
    if backend == "hdf5":
        extra = {} if own is None else {"fillvalue": own}
        return hdf5_dataset(fresh(folder, ".h5"), data, chunks, attrs=attrs, **extra)
    extra = {} if own is None else {"fill_value": own}
    return zarr_array(fresh(folder, ".zarr"), data, chunks, attrs=attrs, **extra)


def close(source: Any) -> None:
    if isinstance(source, h5py.Dataset):
        source.file.close()


BACKENDS = ["hdf5", "zarr"]


# -- masked sources: fill values ------------------------------------------------------


@settings(max_examples=examples(15, 40))
@given(
    backend=st.sampled_from(BACKENDS),
    dtype=st.sampled_from(DTYPES),
    shape=shapes(max_dims=3),
    declared_by=st.sampled_from(["_FillValue", "own", "user", "missing_value"]),
    data=st.data(),
)
def test_masked_source_matches_numpy_ma(
    folder: Path, backend: str, dtype: np.dtype, shape: tuple[int, ...], declared_by: str,
    data: st.DataObject,
) -> None:
    fill = data.draw(fill_values(dtype), label="fill")
    values, mask = data.draw(masked_data(dtype, shape, fill), label="values")
    decoy = data.draw(values_of(dtype, nan=False).filter(lambda v: not equal(v, fill)),
                      label="decoy")
    options: dict[str, Any] = {}
    if declared_by in ("_FillValue", "user"):
        # The decoy (the value the rules pass over) is planted at unmasked points.
        values[~mask & data.draw(hnp.arrays(bool, shape), label="planted")] = decoy
    if declared_by == "_FillValue":
        # netCDF writes a one-element attribute; the dataset's own fill value is another.
        source = store(backend, data.draw, folder, values, own=decoy,
                       attrs={"_FillValue": np.array([fill], dtype)})
    elif declared_by == "own":
        source = store(backend, data.draw, folder, values, own=fill)
    elif declared_by == "user":
        source = store(backend, data.draw, folder, values, attrs={"_FillValue": decoy})
        options["fill_value"] = fill
    else:
        # missing_value's first value is the fill value; all its values are masked.
        values[mask & data.draw(hnp.arrays(bool, shape), label="second")] = decoy
        source = store(backend, data.draw, folder, values,
                       attrs={"missing_value": np.array([fill, decoy], dtype)})
        mask = mask | equal(values, decoy)
    try:
        lazy = la.asarray(source, masked=True, **options)
        assert type(lazy) is (la.HDF5ArrayAdapter if backend == "hdf5" else la.ZarrArrayAdapter)
        expected = np.ma.masked_array(values, mask=mask, fill_value=fill)
        chunk_bytes = data.draw(CHUNK_BYTES, label="chunk_bytes")
        check_masked(lazy, expected, chunk_bytes)
        key = data.draw(keys(shape), label="key")
        view = np.ma.masked_array(oindex(values, key), mask=oindex(mask, key), fill_value=fill)
        check_masked(lazy[key], view, chunk_bytes)
    finally:
        close(source)


@settings(max_examples=examples(12, 30))
@given(
    backend=st.sampled_from(BACKENDS),
    dtype=st.sampled_from(DTYPES),
    shape=shapes(min_dims=1, max_dims=3, min_side=1),
    given_as=st.sampled_from(
        ["valid_range", "valid_min", "valid_max", "valid_min+valid_max", "none", "user"]
    ),
    data=st.data(),
)
def test_valid_range_masks_points_outside_it(
    folder: Path, backend: str, dtype: np.dtype, shape: tuple[int, ...], given_as: str,
    data: st.DataObject,
) -> None:
    fill = data.draw(fill_values(dtype), label="fill")
    values, _ = data.draw(masked_data(dtype, shape, fill), label="values")
    finite = values[np.isfinite(values)] if dtype.kind == "f" else values.ravel()
    picks = st.sampled_from(sorted(finite.tolist())) if finite.size else values_of(dtype, False)
    low, high = sorted([dtype.type(data.draw(picks, label="bound")) for _ in range(2)])
    attrs: dict[str, Any] = {"_FillValue": fill}
    option: Any = True
    if given_as == "valid_range":
        attrs["valid_range"] = np.array([low, high], dtype)
    elif given_as == "user":
        attrs["valid_range"] = np.array([high, high], dtype)  # ignored: the user's pair wins
        low = data.draw(st.sampled_from([low, None]), label="user low")
        high = data.draw(st.sampled_from([high, None]), label="user high")
        option = (low, high)
    else:
        low = low if "valid_min" in given_as else None
        high = high if "valid_max" in given_as else None
        attrs.update({n: v for n, v in (("valid_min", low), ("valid_max", high)) if v is not None})
    source = store(backend, data.draw, folder, values, attrs=attrs)
    try:
        lazy = la.asarray(source, masked=True, valid_range=option)
        mask = equal(values, fill)
        if low is not None:
            mask |= values < low
        if high is not None:
            mask |= values > high
        expected = np.ma.masked_array(values, mask=mask, fill_value=fill)
        check_masked(lazy, expected, data.draw(CHUNK_BYTES, label="chunk_bytes"))
        without = la.asarray(source, masked=True)  # the same source, no valid range
        check_masked(without, np.ma.masked_array(values, mask=equal(values, fill), fill_value=fill),
                     data.draw(CHUNK_BYTES, label="chunk_bytes"))
    finally:
        close(source)


@settings(max_examples=examples(12, 30))
@given(dtype=st.sampled_from(DTYPES), shape=shapes(max_dims=3), data=st.data())
def test_numpy_masked_sources_match_numpy_ma(
    dtype: np.dtype, shape: tuple[int, ...], data: st.DataObject
) -> None:
    fill = data.draw(fill_values(dtype), label="fill")
    values, mask = data.draw(masked_data(dtype, shape, fill), label="values")
    values[mask] = 0  # a numpy.ma source's masked points hold anything
    source = np.ma.masked_array(values, mask=mask, fill_value=fill)
    key = data.draw(keys(shape), label="key")
    view = np.ma.masked_array(oindex(values, key), mask=oindex(mask, key), fill_value=fill)
    check_masked(la.asarray(source)[key], view, data.draw(CHUNK_BYTES, label="chunk_bytes"))


# -- laziness and pickling --------------------------------------------------------------


@pytest.fixture
def reads() -> Iterator[ReadLog]:
    """Every read of a source during the test."""
    with recording_reads() as log:
        yield log


@pytest.fixture
def sources(tmp_path: Path) -> Iterator[tuple[la.Array, la.Array, np.ma.MaskedArray]]:
    """Masked HDF5 (``_FillValue``, valid range) and Zarr (own fill value) sources of (6, 4)
    float32, and numpy.ma's view of the two stacked along axis 0."""
    a = np.arange(24, dtype="f4").reshape(6, 4)
    a[[0, 3], 1] = -1.0
    b = np.arange(24, 48, dtype="f4").reshape(6, 4)
    b[2] = np.nan
    h5 = hdf5_dataset(tmp_path / "a.h5", a, (3, 2),
                      attrs={"_FillValue": np.float32(-1), "valid_max": np.float32(20)})
    z = zarr_array(tmp_path / "b.zarr", b, (2, 4), fill_value=np.nan)
    expected = np.ma.masked_array(
        np.concatenate([a, b]),
        mask=np.concatenate([(a == -1) | (a > 20), np.isnan(b)]),
        fill_value=np.float32(-1),
    )
    yield la.asarray(h5, masked=True, valid_range=True), la.asarray(z, masked=True), expected
    h5.file.close()


def mean_with_mdtol(x: np.ma.MaskedArray, axis: int, mdtol: float) -> tuple[np.ndarray, np.ndarray]:
    """numpy.ma's mean (in float64) and its mask under Biggus's ``mdtol`` rule:
    an output is masked when the masked fraction of its inputs exceeds ``mdtol``."""
    mean = np.ma.mean(x.astype("f8"), axis=axis)
    masked_fraction = 1 - np.ma.count(x, axis=axis) / x.shape[axis]
    return np.ma.getdata(mean), np.ma.getmaskarray(mean) | (masked_fraction > mdtol)


def test_building_and_indexing_masked_sources_reads_nothing(
    sources: tuple[la.Array, la.Array, np.ma.MaskedArray], reads: ReadLog
) -> None:
    h5, z, expected = sources
    mosaic = la.concatenate([h5[:, ::-1], z[1:]], axis=0)
    graph = [mosaic * 2, la.mean(mosaic, axis=0, mdtol=0.5), la.count(mosaic, axis=1)]
    pickle.dumps(graph)
    assert len(reads) == 0
    # Evaluation reads each element the selection touches once, in one pass.
    with la.set_options(chunk_bytes=64):
        doubled, mean, count = la.masked_arrays(graph)
    assert {type(read.adapter) for read in reads} == {la.HDF5ArrayAdapter, la.ZarrArrayAdapter}
    assert sum(read.size for read in reads) == h5.size + z[1:].size
    source = np.ma.concatenate([expected[:6, ::-1], expected[7:]])
    mask = source.mask
    np.testing.assert_array_equal(doubled.mask, mask)
    np.testing.assert_array_equal(doubled.data[~mask], (source * 2).data[~mask])
    means, masked = mean_with_mdtol(source, 0, 0.5)
    np.testing.assert_array_equal(np.ma.getmaskarray(mean), masked)
    np.testing.assert_allclose(mean.data[~masked], means[~masked].astype("f4"), rtol=1e-6)
    assert (doubled.dtype, mean.dtype, count.dtype) == (
        np.dtype("f4"), np.dtype("f4"), np.ma.count(source, axis=1).dtype)
    np.testing.assert_array_equal(count, np.ma.count(source, axis=1))


def test_masked_sources_pickle_with_their_masking(
    sources: tuple[la.Array, la.Array, np.ma.MaskedArray],
) -> None:
    h5, z, expected = sources
    for lazy, part in ((h5, expected[:6]), (z, expected[6:])):
        payload = pickle.dumps(lazy[1:])
        assert len(payload) < 4_000  # by reference: no data
        copy = pickle.loads(payload)
        assert type(copy) is type(lazy) and copy.masking is not None
        assert same(copy.fill_value, lazy.fill_value)
        assert (copy.masking.valid_min, copy.masking.valid_max) == (
            lazy.masking.valid_min, lazy.masking.valid_max)
        fill = lazy.fill_value
        check_masked(copy, np.ma.masked_array(part[1:].data, mask=part[1:].mask, fill_value=fill),
                     64)


#: Realises the pickled graph read from stdin in masked mode and writes the
#: pickled result to stdout, in a fresh interpreter that treats warnings as errors.
CHILD = (
    "import pickle, sys; "
    "node = pickle.loads(sys.stdin.buffer.read()); "
    "sys.stdout.buffer.write(pickle.dumps(node.masked_array(chunk_bytes=64)))"
)


def test_masked_source_graph_realises_in_another_process(
    sources: tuple[la.Array, la.Array, np.ma.MaskedArray],
) -> None:
    h5, z, expected = sources
    graph = la.LinearMosaic([h5, z], axis=0)[::-1] + 1
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", CHILD],
        input=pickle.dumps(graph), check=False, capture_output=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = pickle.loads(done.stdout)
    wanted = expected[::-1] + np.float32(1)
    assert (result.shape, result.dtype) == (wanted.shape, wanted.dtype)
    assert (graph.shape, graph.dtype) == (wanted.shape, wanted.dtype)
    np.testing.assert_array_equal(result.mask, wanted.mask)
    np.testing.assert_array_equal(result.data[~wanted.mask], wanted.data[~wanted.mask])


# -- acceptance: a masked HDF5 source mosaicked with numpy, mean with mdtol --------------


@settings(max_examples=examples(10, 25))
@given(
    dtype=st.sampled_from([np.dtype("i2"), np.dtype("f4"), np.dtype("f8")]),
    plain_dtype=st.sampled_from([np.dtype("i4"), np.dtype("f4"), np.dtype("f8")]),
    rows=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    width=st.integers(1, 4),
    mosaic=st.sampled_from(["concatenate", "LinearMosaic"]),
    data=st.data(),
)
def test_mean_of_masked_hdf5_mosaicked_with_numpy_matches_numpy_ma(
    folder: Path, dtype: np.dtype, plain_dtype: np.dtype, rows: tuple[int, int], width: int,
    mosaic: str, data: st.DataObject,
) -> None:
    fill = dtype.type(-999)
    # Moderate values: means of huge ones overflow, in numpy as here.
    values = data.draw(hnp.arrays(dtype, (rows[0], width),
                                  elements=st.integers(-1000, 1000).map(dtype.type)), label="hdf")
    values[values == fill] = 0
    values[data.draw(masks(values.shape), label="mask")] = fill
    plain = data.draw(hnp.arrays(plain_dtype, (rows[1], width),
                                 elements=st.integers(-1000, 1000).map(plain_dtype.type)),
                      label="plain")
    if mosaic == "LinearMosaic":
        plain = plain.astype(dtype)  # Biggus's mosaics take tiles of one dtype
    source = hdf5_dataset(fresh(folder, ".h5"), values, chunks_for(data.draw, values.shape),
                          attrs={"_FillValue": fill})
    try:
        hdf = la.asarray(source, masked=True)
        lazy_mosaic = (la.concatenate([hdf, plain], axis=0) if mosaic == "concatenate"
                       else la.LinearMosaic([hdf, la.asarray(plain)], axis=0))
        result = la.mean(lazy_mosaic, axis=0, mdtol=0.5)
        with la.set_options(chunk_bytes=data.draw(CHUNK_BYTES, label="chunk_bytes")):
            [got] = la.masked_arrays([result])
        # The oracle: numpy.ma on the realised inputs, with Biggus's mdtol rule
        # (mask an output whose masked fraction of inputs exceeds mdtol).
        realised = np.ma.concatenate([np.ma.masked_equal(source[()], fill), np.ma.asarray(plain)])
        dtype_out = np.mean(realised.data, axis=0).dtype
        mean, mask = mean_with_mdtol(realised, 0, 0.5)
        assert (result.shape, result.dtype) == (got.shape, got.dtype) == ((width,), dtype_out)
        np.testing.assert_array_equal(np.ma.getmaskarray(got), mask)
        np.testing.assert_allclose(got.data[~mask], mean[~mask].astype(dtype_out),
                                   rtol=4 * np.finfo(dtype_out).eps)
    finally:
        close(source)


# -- saving masked results --------------------------------------------------------------


@st.composite
def masked_results(draw: st.DrawFn) -> tuple[la.Array, np.ma.MaskedArray]:
    """A lazy masked result and numpy.ma's value of it, whose unmasked points are
    never its fill value (as written), so that it round-trips exactly."""
    dtype = draw(st.sampled_from(DTYPES), label="dtype")
    shape = draw(shapes(max_dims=3), label="shape")
    fill = draw(fill_values(dtype), label="fill")
    how = draw(st.sampled_from(["source", "indexed", "arithmetic"]), label="how")
    key = draw(keys(shape), label="key") if how == "indexed" else ()

    def build(m: np.ma.MaskedArray) -> la.Array:
        lazy = la.asarray(m)
        if how == "indexed":
            return lazy[key]
        if how == "arithmetic":
            return lazy * dtype.type(1)  # a new node, with its own fill value
        return lazy

    # The fill value written is the result's, in its dtype (numpy.ma's default
    # for arithmetic results): the data are drawn to avoid it.
    written = cast(build(np.ma.masked_array(np.zeros(shape, dtype), fill_value=fill)).fill_value,
                   dtype)
    values, mask = draw(masked_data(dtype, shape, written), label="values")
    m = np.ma.masked_array(values, mask=mask, fill_value=fill)
    if how == "indexed":
        values, mask = oindex(values, key), oindex(mask, key)
    return build(m), np.ma.masked_array(values, mask=mask, fill_value=written)


def check_written(stored: np.ndarray, expected: np.ma.MaskedArray) -> None:
    """Raw stored values: the data where unmasked, the fill value where masked."""
    assert (stored.shape, stored.dtype) == (expected.shape, expected.dtype)
    assert same(stored, expected.filled(expected.fill_value))


@settings(max_examples=examples(15, 40))
@given(result=masked_results(), chunk_bytes=CHUNK_BYTES)
def test_to_hdf5_round_trips_masked_results(
    folder: Path, result: tuple[la.Array, np.ma.MaskedArray], chunk_bytes: int
) -> None:
    lazy, expected = result
    path = fresh(folder, ".h5")
    la.to_hdf5(path, {"group/x": lazy}, masked=True, chunk_bytes=chunk_bytes)
    with h5py.File(path, "r") as file:
        dataset = file["group/x"]
        check_written(dataset[()], expected)
        assert same(dataset.attrs["_FillValue"], expected.fill_value)
        assert same(dataset.fillvalue, expected.fill_value)
        check_masked(la.asarray(dataset, masked=True), expected, chunk_bytes)


@settings(max_examples=examples(15, 40))
@given(result=masked_results(), chunk_bytes=CHUNK_BYTES)
def test_to_zarr_round_trips_masked_results(
    folder: Path, result: tuple[la.Array, np.ma.MaskedArray], chunk_bytes: int
) -> None:
    lazy, expected = result
    path = fresh(folder, ".zarr")
    la.to_zarr(path, lazy, masked=True, chunk_bytes=chunk_bytes)
    z = zarr.open_array(zarr.storage.LocalStore(path, read_only=True))
    check_written(z[...], expected)
    assert same(z.fill_value, expected.fill_value)
    assert "_FillValue" not in z.attrs  # Zarr's own fill_value is the record
    check_masked(la.asarray(z, masked=True), expected, chunk_bytes)


def wider(dtype: np.dtype) -> np.dtype:
    """A dtype of the same kind that holds every value of ``dtype`` (uint64 has none)."""
    if dtype == np.dtype("u8"):
        return dtype
    return np.dtype("f8") if dtype.kind == "f" else np.promote_types(dtype, "i8")


@settings(max_examples=examples(15, 40))
@given(
    result=masked_results(),
    target=st.sampled_from(["hdf5", "hdf5 _FillValue", "hdf5 fillvalue", "zarr", "numpy"]),
    widen=st.booleans(),
    chunk_bytes=CHUNK_BYTES,
    data=st.data(),
)
def test_save_writes_masked_points_as_the_target_declares(
    folder: Path, result: tuple[la.Array, np.ma.MaskedArray], target: str, widen: bool,
    chunk_bytes: int, data: st.DataObject,
) -> None:
    lazy, expected = result
    dtype = wider(lazy.dtype) if widen else lazy.dtype
    values = expected.data.astype(dtype)
    mask = np.ma.getmaskarray(expected)
    # The target's own fill value, drawn among values the data avoid, or the
    # source's (cast) when the target declares none.
    declared = data.draw(fill_values(dtype).filter(lambda v: not equal(values[~mask], v).any()),
                         label="declared")
    if target in ("hdf5", "numpy"):
        declared = cast(expected.fill_value, dtype)
    if target.startswith("hdf5"):
        file = h5py.File(fresh(folder, ".h5"), "w")
        kwargs = {"fillvalue": declared} if target == "hdf5 fillvalue" else {}
        sink: Any = file.create_dataset("x", shape=lazy.shape, dtype=dtype, **kwargs)
        if target == "hdf5 _FillValue":
            sink.attrs["_FillValue"] = np.array([declared], dtype)
    elif target == "zarr":
        sink = zarr.create_array(zarr.storage.LocalStore(fresh(folder, ".zarr")), shape=lazy.shape,
                                 dtype=dtype, fill_value=declared)
    else:
        sink = np.zeros(lazy.shape, dtype)
    [count] = la.save([lazy], [sink], compute=[la.count(lazy)], masked=True,
                      chunk_bytes=chunk_bytes)
    assert int(count) == int(np.ma.count(expected))
    wanted = np.ma.masked_array(values, mask=mask, fill_value=declared)
    check_written(sink[...], wanted)
    if target.startswith("hdf5"):
        assert same(sink.attrs["_FillValue"], np.asarray(declared, dtype).reshape(
            sink.attrs["_FillValue"].shape))
        check_masked(la.asarray(sink, masked=True), wanted, chunk_bytes)
        file.close()
    elif target == "zarr":
        check_masked(la.asarray(sink, masked=True), wanted, chunk_bytes)


def test_save_refuses_a_target_fill_value_of_another_type_before_writing(tmp_path: Path) -> None:
    source = CountingArray(np.arange(4.0))
    with h5py.File(tmp_path / "t.h5", "w") as file:
        first = file.create_dataset("first", shape=(4,), dtype="f8")
        second = file.create_dataset("second", shape=(4,), dtype="i2")
        second.attrs["_FillValue"] = "none"
        with pytest.raises(la.DTypeError, match=r"_FillValue attribute 'none'|must be one number"):
            la.save([la.asarray(source), la.asarray(source).astype("i2")], [first, second],
                    masked=True)
        assert source.reads == 0
        assert "_FillValue" not in first.attrs
        np.testing.assert_array_equal(first[()], np.zeros(4))


def test_unmasked_points_equal_to_the_fill_value_read_back_masked(tmp_path: Path) -> None:
    # The price of marking missing points by value, in every netCDF-style file.
    m = np.ma.masked_array([5, -1, 7], mask=[True, False, False], fill_value=-1)
    la.to_hdf5(tmp_path / "m.h5", {"m": m}, masked=True)
    with h5py.File(tmp_path / "m.h5", "r") as file:
        back = la.asarray(file["m"], masked=True).masked_array()
    np.testing.assert_array_equal(back.mask, [True, True, False])
    np.testing.assert_array_equal(back.data, np.array([-1, -1, 7]))
    assert back.dtype == m.dtype and back.fill_value == -1


def test_save_into_a_narrower_source_dtype_keeps_the_target_fill_value(tmp_path: Path) -> None:
    # -9999 is no int8: masked points are cast before they are filled.
    m = np.ma.masked_array(np.array([1, 2, 3], "i1"), mask=[False, True, False])
    with h5py.File(tmp_path / "w.h5", "w") as file:
        target = file.create_dataset("x", shape=(3,), dtype="i2")
        target.attrs["_FillValue"] = np.int16(-9999)
        la.save([m], [target], masked=True)
        np.testing.assert_array_equal(target[()], np.array([1, -9999, 3], "i2"))
        back = la.asarray(target, masked=True).masked_array()
    np.testing.assert_array_equal(back.mask, [False, True, False])
    assert back.dtype == np.dtype("i2") and back.fill_value == -9999


# -- bad input ------------------------------------------------------------------------


def _h5(tmp_path: Path, dtype: str = "i2", **attrs: Any) -> h5py.Dataset:
    return hdf5_dataset(tmp_path / "bad.h5", np.arange(4).astype(dtype), None, attrs=attrs)


#: (source factory, asarray options, exception, message pattern)
BAD_INPUT = [
    pytest.param(lambda p: _h5(p, "i1"), {"masked": True, "fill_value": 300}, la.DTypeError,
                 r"^HDF5ArrayAdapter\('.*bad\.h5', '/x'\): fill_value 300 is not a value of dtype "
                 r"int8 \(out of its range -128 to 127\)$", id="fill-out-of-range"),
    pytest.param(lambda p: _h5(p), {"masked": True, "fill_value": 0.5}, la.DTypeError,
                 r"fill_value 0.5 is not a value of dtype int16 \(not a whole number\)",
                 id="fill-not-whole"),
    pytest.param(lambda p: _h5(p), {"masked": True, "fill_value": np.nan}, la.DTypeError,
                 r"fill_value nan is not a value of dtype int16", id="nan-fill-int"),
    pytest.param(lambda p: _h5(p, "f4"), {"masked": True, "fill_value": 1e39}, la.DTypeError,
                 r"fill_value 1e\+39 is not a value of dtype float32 \(it overflows",
                 id="fill-overflows"),
    pytest.param(lambda p: _h5(p, "f4"), {"masked": True, "fill_value": "x"}, la.DTypeError,
                 r"fill_value must be one number, found 'x'", id="fill-string"),
    pytest.param(lambda p: _h5(p, "f4"), {"masked": True, "fill_value": [1, 2]}, la.DTypeError,
                 r"fill_value must be one number, found \[1, 2\] with 2 values",
                 id="fill-two-values"),
    pytest.param(lambda p: _h5(p, _FillValue=1.5), {"masked": True}, la.DTypeError,
                 r"the _FillValue attribute 1.5 is not a value of dtype int16 .*pass fill_value=",
                 id="attribute-not-whole"),
    pytest.param(lambda p: _h5(p, missing_value=[1, 70000]), {"masked": True}, la.DTypeError,
                 r"a value of the missing_value attribute 70000 is not a value of dtype int16",
                 id="missing-value-out-of-range"),
    pytest.param(lambda p: _h5(p), {"fill_value": 1}, TypeError,
                 r"fill_value and valid_range apply only with masked=True; found masked=False, "
                 r"fill_value=1", id="fill-without-masked"),
    pytest.param(lambda p: _h5(p), {"valid_range": True}, TypeError,
                 r"apply only with masked=True", id="valid-range-without-masked"),
    pytest.param(lambda p: _h5(p), {"masked": True, "valid_range": (1, 2, 3)}, TypeError,
                 r"valid_range must be True, False or a pair \(minimum, maximum\), "
                 r"found \(1, 2, 3\)",
                 id="valid-range-triple"),
    pytest.param(lambda p: _h5(p), {"masked": True, "valid_range": (3, 1)}, ValueError,
                 r"the valid range's minimum 3 exceeds its maximum 1", id="valid-range-reversed"),
    pytest.param(lambda p: _h5(p), {"masked": True, "valid_range": (np.nan, 1)}, ValueError,
                 r"valid_range's minimum must be one real number, found nan", id="nan-bound"),
    pytest.param(lambda p: _h5(p, valid_range=[1, 2, 3]), {"masked": True, "valid_range": True},
                 ValueError, r"the valid_range attribute must hold 2 values \(minimum, maximum\), "
                 r"found 3", id="valid-range-attribute-triple"),
    pytest.param(lambda p: _h5(p, valid_range=[0, 5], valid_min=1),
                 {"masked": True, "valid_range": True}, ValueError,
                 r"the valid_range attribute \[0, 5\] and the valid_min attribute \[1\] disagree",
                 id="valid-range-attributes-disagree"),
    pytest.param(lambda p: _h5(p, "c8"), {"masked": True, "valid_range": (0, 1)}, la.DTypeError,
                 r"a valid range needs an integer or float dtype, found complex64",
                 id="valid-range-complex"),
    pytest.param(lambda p: hdf5_dataset(p / "s.h5", np.array([b"ab"]), None), {"masked": True},
                 la.DTypeError, r"masking by value needs a bool, integer, float or complex dtype, "
                 r"found \|S2", id="bytes-dtype"),
    pytest.param(lambda p: np.arange(3), {"masked": True}, TypeError,
                 r"masked to those and to array-likes that return masked arrays; found ndarray; "
                 r"build the mask "
                 r"with numpy.ma", id="numpy-masked"),
    pytest.param(lambda p: np.ma.arange(3), {"fill_value": 1}, TypeError,
                 r"found MaskedArray", id="numpy-ma-fill"),
    pytest.param(lambda p: la.zeros(3), {"masked": True}, TypeError,
                 r"found ConstantArray; a lazy array masks as its sources do", id="lazy-array"),
]


@pytest.mark.parametrize("make, options, error, match", BAD_INPUT)
def test_bad_masking_input_is_refused_clearly(
    tmp_path: Path, make: Callable[[Path], Any], options: dict[str, Any], error: type, match: str
) -> None:
    source = make(tmp_path)
    try:
        with pytest.raises(error, match=match):
            la.asarray(source, **options)
    finally:
        close(source)


def test_zarr_adapter_takes_the_options_and_refuses_bad_ones(tmp_path: Path) -> None:
    z = zarr_array(tmp_path / "z.zarr", np.arange(5, dtype="u1"), (5,), fill_value=3,
                   attrs={"valid_min": 1})
    adapter = la.ZarrArrayAdapter(z, masked=True, valid_range=True)
    expected = np.ma.masked_array(np.arange(5, dtype="u1"), mask=[1, 0, 0, 1, 0],
                                  fill_value=np.uint8(3))
    check_masked(adapter, expected, 8)
    with pytest.raises(la.DTypeError, match=r"fill_value -1 is not a value of dtype uint8"):
        la.ZarrArrayAdapter(z, masked=True, fill_value=-1)
    # Messages name the array.
    named = r"ZarrArrayAdapter\('file://.*z\.zarr'\): fill_value and valid_range apply"
    with pytest.raises(TypeError, match=named):
        la.ZarrArrayAdapter(z, fill_value=3)
    # Bounds may come as any pair, a numpy array too.
    pair = la.ZarrArrayAdapter(z, masked=True, valid_range=np.array([2, 9]))
    check_masked(pair, np.ma.masked_array(np.arange(5, dtype="u1"), mask=[1, 1, 0, 1, 0],
                                          fill_value=np.uint8(3)), 8)


def test_unmasked_adapters_keep_numpy_ma_default_fill_values(tmp_path: Path) -> None:
    source = _h5(tmp_path, _FillValue=np.int16(2))
    try:
        lazy = la.asarray(source, decode=False)  # the stored values: nothing masked
        assert lazy.masking is None and lazy.fill_value == np.ma.default_fill_value(np.int16(0))
        np.testing.assert_array_equal(lazy.masked_array().mask, np.zeros(4, bool))
    finally:
        close(source)


def test_a_failed_masked_save_records_no_fill_value_on_its_target(tmp_path: Path) -> None:
    class Failing:
        shape, dtype = (40, 3), np.dtype("f8")

        def __getitem__(self, key: Any) -> np.ndarray:
            rows = np.arange(40)[key[0]] if isinstance(key, tuple) else np.arange(40)[key]
            if np.max(rows, initial=0) >= 30:
                raise OSError("disk gone")
            return np.ma.masked_array(np.ones(self.shape), mask=np.eye(40, 3, dtype=bool))[key]

    with h5py.File(tmp_path / "out.h5", "w") as f:
        target = f.create_dataset("x", shape=(40, 3), dtype="f8")
        with pytest.raises(OSError, match="disk gone"):
            la.save([la.masked_equal(la.asarray(Failing()), 0.0)], [target], masked=True,
                    chunk_bytes=24)
        assert "_FillValue" not in target.attrs


@settings(max_examples=examples(10, 25), deadline=None)
@given(data=st.data())
def test_save_into_a_masked_array_target_gives_it_the_mask(data: st.DataObject) -> None:
    # Values that do not overflow: np.ma makes ``* 2`` an int64 product, numpy an int32 one.
    values = data.draw(hnp.arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                                  elements=st.integers(-1000, 1000)))
    mask = data.draw(hnp.arrays(np.bool_, values.shape))
    source = np.ma.masked_array(values, mask=mask, fill_value=-7)
    target = np.ma.masked_array(np.zeros(values.shape, np.int64), mask=~mask)
    la.save([la.asarray(source) * 2], [target], masked=True,
            chunk_bytes=data.draw(st.sampled_from([4, 64, 2**20])))
    expected = source * 2
    np.testing.assert_array_equal(np.ma.getmaskarray(target), np.ma.getmaskarray(expected))
    np.testing.assert_array_equal(target.data[~mask], expected.data[~mask])
    assert target.dtype == np.int64


@pytest.mark.parametrize("value", [1000, -129])
def test_a_fill_value_the_dtype_cannot_hold_is_one_error_everywhere(value: Any) -> None:
    """Sources and mask makers raise one error for it: a FillValueError, which is
    also a DTypeError and the TypeError that numpy.ma raises for it."""
    data = np.arange(6, dtype=np.int8)
    with pytest.raises(TypeError):
        np.ma.masked_array(data, fill_value=value)  # numpy.ma's own refusal
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=(6,), dtype="i1")
    masked = la.asarray(np.ma.masked_array(data, mask=data > 3))
    for build in (lambda: la.asarray(z, masked=True, fill_value=value),
                  lambda: la.filled(masked, value)):
        with pytest.raises(la.FillValueError) as caught:
            build()
        assert isinstance(caught.value, la.DTypeError) and isinstance(caught.value, TypeError)
        assert str(value) in str(caught.value)
