"""``chunks`` is the block grid (dask's meaning); ``storage_chunks`` the source's chunks.

xarray and dask read ``.chunks`` as a tuple of tuples of block lengths, and xarray
takes an object with ``chunks`` for a chunked array (issue 14, point 4).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import zarr
from dask.array.core import normalize_chunks

import lazyarray as la
from lazyarray.options import get_options
from lazyarray.planning import make_plan


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    data = np.arange(40 * 12 * 10, dtype="f4").reshape(40, 12, 10)
    with h5py.File(folder / "x.h5", "w") as f:
        f.create_dataset("chunked", data=data, chunks=(4, 6, 10))
        f.create_dataset("contiguous", data=data)
    z = zarr.create_array(folder / "z.zarr", shape=data.shape, chunks=(8, 12, 5), dtype="f4")
    z[:] = data
    h5 = h5py.File(folder / "x.h5", "r")
    yield data, h5["chunked"], h5["contiguous"], z
    h5.close()


def node_kinds(sources):
    data, chunked, contiguous, z = sources
    x = la.asarray(chunked)
    masked = la.asarray(np.ma.masked_array(data, mask=data % 7 == 0))
    return {
        "numpy": la.asarray(data),
        "masked numpy": masked,
        "hdf5 chunked": x,
        "hdf5 contiguous": la.asarray(contiguous),
        "zarr": la.asarray(z),
        "elementwise": x * 2 + la.asarray(z),
        "masked elementwise": la.where(x > 100, x, 0),
        "view": x[3:31, ::2].T,
        "broadcast": la.broadcast_to(x[0], (5, 12, 10)),
        "mosaic": la.LinearMosaic([x[:16], la.asarray(contiguous)[16:]], axis=0),
        "stack": la.ArrayStack([x, la.asarray(z)]),
        "aggregation": la.mean(x, axis=0),
        "aggregation of all": la.sum(masked),
        "after an aggregation": x - la.mean(x, axis=0),
        "constant": la.zeros((7, 3)),
        "empty": x[5:5],
    }


@pytest.mark.parametrize("chunk_bytes", [2**20, 4000])
def test_every_node_has_a_block_grid_that_dask_accepts(sources, chunk_bytes):
    with la.set_options(chunk_bytes=chunk_bytes):
        for name, node in node_kinds(sources).items():
            grid = node.chunks
            assert isinstance(grid, tuple) and len(grid) == node.ndim, name
            assert all(isinstance(c, tuple) and all(type(n) is int for n in c) for c in grid)
            assert tuple(sum(c) for c in grid) == node.shape, name
            assert normalize_chunks(grid, node.shape) == grid, name
            assert node.numblocks == tuple(len(c) for c in grid)
            assert node.chunksize == tuple(max(c) for c in grid)


def test_the_grid_is_the_planners_tiles(sources):
    x = la.asarray(sources[1])
    with la.set_options(chunk_bytes=4000):
        step = make_plan([x], get_options()).passes[-1]
        assert x.chunks == tuple(
            tuple(int(b[i + 1] - b[i]) for i in range(len(b) - 1)) for b in step.bounds
        )
        # Whole storage chunks (4, 6, 10) where the sources have them.
        assert all(n % 4 == 0 for n in x.chunks[0][:-1]) and set(x.chunks[1]) <= {6, 12}
        mean = la.mean(x, axis=1)
        step = make_plan([mean], get_options()).passes[-1]
        kept = [step.bounds[0], step.bounds[2]]
        assert mean.chunks == tuple(tuple(np.diff(b).tolist()) for b in kept)


def test_the_grid_follows_the_options_in_force(sources):
    x = la.asarray(sources[0])
    assert x.numblocks == (1, 1, 1)
    with la.set_options(chunk_bytes=4800):
        assert x.numblocks[0] > 1
    assert x.numblocks == (1, 1, 1)


def test_storage_chunks_are_the_sources(sources):
    data, chunked, contiguous, z = sources
    assert la.asarray(chunked).storage_chunks == (4, 6, 10)
    assert la.asarray(chunked)[1:, ::-1].storage_chunks == (4, 6, 10)
    assert la.asarray(contiguous).storage_chunks is None
    assert la.asarray(z).storage_chunks == (8, 12, 5)
    assert la.asarray(data).storage_chunks is None
    assert (la.asarray(chunked) * 2).storage_chunks is None


def test_nodes_with_a_grid_still_pickle(sources):
    import pickle

    x = la.asarray(sources[0]) * 2
    with la.set_options(chunk_bytes=4000, progress=lambda event: None):
        assert x.numblocks[0] > 1
        again = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(again.ndarray(), sources[0] * 2)
