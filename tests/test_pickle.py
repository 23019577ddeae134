"""Tests that lazy graphs over files pickle by reference and evaluate elsewhere.

HDF5 and netCDF4 adapters pickle as file path, dataset name, key and the
metadata read when they were built (unpickling opens no file), Zarr adapters as
their store, so a graph can be sent to another process (or a cluster) and
realised there, without the original h5py ``File`` object.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
import zarr.storage
from hypothesis import given
from hypothesis import strategies as st
from strategies import keys, oindex

import lazyarray as la
from lazyarray import files
from lazyarray.adapters.h5py_ import DatasetRef
from lazyarray.testing import assert_array_equal

#: Realises the pickled graph read from stdin and writes the pickled ndarray
#: to stdout, in a fresh interpreter that treats warnings as errors.
CHILD = (
    "import pickle, sys; "
    "node = pickle.loads(sys.stdin.buffer.read()); "
    "sys.stdout.buffer.write(pickle.dumps((node.shape, node.dtype, node.ndarray())))"
)

A = np.arange(60, dtype="f4").reshape(5, 3, 4) / 8
B = -np.arange(36, dtype="f4").reshape(3, 3, 4)
Z = np.arange(12, dtype="i2").reshape(3, 4) * 7


def realise_elsewhere(node: la.Array) -> tuple[Any, Any, np.ndarray]:
    """Pickle ``node``, realise it in a new Python process, return (shape, dtype, values)."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", CHILD],
        input=pickle.dumps(node),
        check=False,  # the assertion below shows the child's traceback
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return pickle.loads(done.stdout)


@pytest.fixture(scope="module")
def h5path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HDF5 file, written and closed, with datasets ``a``, ``b`` and ``group/c``."""
    path = tmp_path_factory.mktemp("pickle") / "tiles.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("a", data=A, chunks=(2, 3, 2))
        file.create_dataset("b", data=B)
        file.create_dataset("group/c", data=np.arange(10, dtype="u8"))
    return path


@pytest.fixture(scope="module")
def zpath(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Zarr array on disk holding ``Z``."""
    path = tmp_path_factory.mktemp("pickle") / "z.zarr"
    z = zarr.create_array(
        zarr.storage.LocalStore(path), shape=Z.shape, dtype=Z.dtype, chunks=(2, 2)
    )
    z[...] = Z
    return path


@pytest.fixture
def h5file(h5path: Path) -> Iterator[h5py.File]:
    """The HDF5 file, opened read-only (as users open it) for one test."""
    with h5py.File(h5path, "r") as file:
        yield file


def graph(file: h5py.File, zpath: Path) -> tuple[la.Array, np.ndarray]:
    """A graph over two HDF5 datasets and a Zarr array, and numpy's value of it."""
    mosaic = la.LinearMosaic([la.asarray(file["a"]), la.asarray(file["b"])], axis=0)
    z = la.asarray(zarr.open_array(zarr.storage.LocalStore(zpath, read_only=True)))
    lazy = mosaic[6:1:-2, [2, 0, 0], ::3] * 2 + z[::-1, ::3] - 1.5
    expected = (
        np.concatenate([A, B])[6:1:-2][:, [2, 0, 0]][:, :, ::3] * 2 + Z[::-1, ::3] - 1.5
    )
    return lazy, expected


def test_graph_realises_in_another_process(h5file: h5py.File, zpath: Path) -> None:
    lazy, expected = graph(h5file, zpath)
    shape, dtype, values = realise_elsewhere(lazy)
    assert (
        (shape, dtype) == (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    )
    np.testing.assert_array_equal(values, expected)
    assert_array_equal(lazy, expected)  # and here too


def test_unpickling_needs_no_open_file(h5path: Path, zpath: Path) -> None:
    with h5py.File(h5path, "r") as file:
        lazy, expected = graph(file, zpath)
        payload = pickle.dumps(lazy)
        loaded_while_open = pickle.loads(payload)
    assert not file.id.valid
    assert_array_equal(loaded_while_open, expected)
    assert_array_equal(pickle.loads(payload), expected)


def test_hdf5_adapters_pickle_by_reference(h5file: h5py.File) -> None:
    adapter = la.asarray(h5file["group/c"])[[7, 2, 2]]
    payload = pickle.dumps(adapter)
    assert str(Path(h5file.filename).name).encode() in payload
    assert b"/group/c" in payload
    copy = pickle.loads(payload)
    assert type(copy) is la.HDF5ArrayAdapter
    assert (copy.filename, copy.name) == (adapter.filename, adapter.name)
    assert [list(np.atleast_1d(i)) for i in copy.key] == [[7, 2, 2]]
    assert_array_equal(copy, np.arange(10, dtype="u8")[[7, 2, 2]])


def test_hdf5_pickles_hold_no_data(tmp_path: Path) -> None:
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as file:
        file["x"] = np.arange(100_000.0)
    with h5py.File(path, "r") as file:
        payload = pickle.dumps(la.asarray(file["x"])[10:])
    assert len(payload) < 2_000
    assert_array_equal(pickle.loads(payload), np.arange(100_000.0)[10:])


@given(name=st.sampled_from(["a", "b", "group/c"]), data=st.data())
def test_pickled_views_realise_the_same(
    h5path: Path, name: str, data: st.DataObject
) -> None:
    with h5py.File(h5path, "r") as file:
        array = file[name][()]
        key1 = data.draw(keys(array.shape), label="key1")
        view = la.asarray(file[name])[key1]
        payload = pickle.dumps(view)
    first = oindex(array, key1)
    key2 = data.draw(keys(first.shape), label="key2")
    assert_array_equal(pickle.loads(payload)[key2], oindex(first, key2))


def test_open_dataset_keeps_paths_and_shares_one_open_file(h5path: Path) -> None:
    a, c = la.open_dataset(h5path, "a"), la.open_dataset(str(h5path), "/group/c")
    path = os.path.abspath(h5path)
    assert isinstance(a.concrete, DatasetRef) and isinstance(c.concrete, DatasetRef)
    assert a.concrete.filename == c.concrete.filename == a.filename == path
    assert_array_equal(c, np.arange(10, dtype="u8"))
    assert_array_equal(a, A)
    assert files.default_cache.paths().count(path) == 1
    # Unpickled, they keep the path too.
    assert isinstance(pickle.loads(pickle.dumps(a)).concrete, DatasetRef)


def test_unpickling_opens_no_file_until_a_read(tmp_path: Path) -> None:
    """Adapters of every file kind unpickle while their files are elsewhere
    (so nothing was opened), then read what they did; a file replaced since
    by one of another shape is refused at the first read, naming it."""
    import netCDF4

    folder = tmp_path / "data"
    folder.mkdir()
    values = np.arange(12.0).reshape(3, 4)
    with h5py.File(folder / "a.h5", "w") as file:
        file.create_dataset("x", data=values, chunks=(1, 4)).attrs["_FillValue"] = 5.0
    with netCDF4.Dataset(folder / "b.nc", "w") as nc:
        nc.createDimension("t", 3)
        nc.createDimension("y", 4)
        variable = nc.createVariable("v", "f4", ("t", "y"), fill_value=-1.0)
        variable[:] = np.ma.masked_array(values, mask=values == 0)
    zarr.create_array(str(folder / "c.zarr"), shape=(3, 4), chunks=(1, 4), dtype="f8")[:] = values
    with h5py.File(folder / "a.h5", "r") as h5, netCDF4.Dataset(folder / "b.nc") as nc:
        arrays = [
            la.open_dataset(folder / "a.h5", "x"),  # by path, decoded
            la.HDF5ArrayAdapter(h5["x"], masked=True)[1:, ::-1],  # the user's dataset
            la.asarray(nc["v"])[:, 1:],  # the user's netCDF4 variable
            la.open_dataset(folder / "b.nc", "v") * 2,
            la.asarray(zarr.open_array(str(folder / "c.zarr"))),
        ]
        wanted = la.masked_arrays(arrays)
        payload = pickle.dumps(arrays)
    assert values.tobytes() not in payload
    files.default_cache.clear()
    folder.rename(tmp_path / "away")
    copies = pickle.loads(payload)
    assert [copy.shape for copy in copies] == [want.shape for want in wanted]
    (tmp_path / "away").rename(folder)
    for copy, want in zip(la.masked_arrays(copies), wanted):
        np.testing.assert_array_equal(copy, want)
        np.testing.assert_array_equal(np.ma.getmaskarray(copy), np.ma.getmaskarray(want))
        assert copy.dtype == want.dtype

    files.default_cache.clear()
    (folder / "a.h5").unlink()
    with h5py.File(folder / "a.h5", "w") as file:
        file["x"] = np.zeros((2, 4))
    with pytest.raises(la.ShapeError, match=r"'/x' of .*a\.h5.* now \(2, 4\), not \(3, 4\)"):
        pickle.loads(payload)[1].ndarray()
