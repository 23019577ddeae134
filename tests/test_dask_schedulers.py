"""Running evaluations on Dask's schedulers and on dask.distributed (issue 16, point 2).

``scheduler=`` of ``ndarrays``, ``masked_arrays``, ``compute``, ``save``,
``to_hdf5`` and ``to_zarr`` exports the graphs (``la.to_dask``) and runs them
on that scheduler: every result is compared with lazyarray's own executor
(the default), exactly for integers, counts, minima, maxima and positions,
to float64 rounding otherwise. With small ``chunk_bytes`` every array spans
several blocks. One local cluster of two worker processes, started by this
module, checks the distributed path: statistics of an HDF5 mosaic, a Zarr
output written by the workers (the client's Zarr writes are made to fail),
an HDF5 output written by the client, and graphs that pickle without open
files.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.aggregation import Aggregation
from lazyarray.testing import refusing_reads

dask = pytest.importorskip("dask")
h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")

#: Small blocks, so that every array is cut into several; numpy's kernels,
#: which spare a numba compilation.
OPTIONS: dict[str, Any] = {"chunk_bytes": 400, "kernels": "numpy"}
SCHEDULERS = ("synchronous", "threads")
EXACT = {"min", "max", "argmin", "argmax", "nanargmax", "count", "ptp"}


def _same(got: Any, want: Any, node: la.Array, message: str = "") -> None:
    message = f"{node!r} {message}"
    got, want = np.asanyarray(got), np.asanyarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, message
    assert isinstance(got, np.ma.MaskedArray) == isinstance(want, np.ma.MaskedArray), message
    if isinstance(want, np.ma.MaskedArray):
        np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(want),
                                      err_msg=message)
        got, want = np.ma.filled(got, 0), np.ma.filled(want, 0)
    # Minima, maxima and positions of values that are themselves exact.
    exact = got.dtype.kind in "biu" or (isinstance(node, Aggregation)
                                        and node.reduction.name in EXACT
                                        and not _above_statistics(node.array))
    if exact:
        np.testing.assert_array_equal(got, want, err_msg=message)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=message)


def _above_statistics(node: la.Array) -> bool:
    return any(isinstance(n, Aggregation) or _above_statistics(n) for n in node.inputs)


def _graphs(x: la.Array) -> list[la.Array]:
    return [x * 2 + 1, x.T[1:], la.mean(x, 0), la.std(x, 0), la.max(x, 0), la.argmax(x, 0),
            la.argmax(x), la.sum(x), x - x.mean(0), la.max(x - x.mean(0), 0)]


@pytest.fixture
def source() -> np.ndarray:
    data = np.random.default_rng(16).standard_normal((24, 7))
    data[5, 1] = data[6, 1] = data[:, 1].max() + 1  # a tie for argmax
    return data


@pytest.fixture
def mosaic(tmp_path: Path) -> tuple[la.Array, np.ndarray]:
    """Three HDF5 files opened by path and concatenated: ``(30, 6, 5)`` float32."""
    data = np.random.default_rng(3).standard_normal((30, 6, 5)).astype(np.float32)
    parts = []
    for i in range(3):
        with h5py.File(tmp_path / f"part{i}.h5", "w") as f:
            f.create_dataset("v", data=data[i * 10:(i + 1) * 10], chunks=(4, 6, 5))
        parts.append(la.open_dataset(tmp_path / f"part{i}.h5", "v"))
    return la.concatenate(parts, axis=0), data


def _check_in_memory(graphs: list[la.Array], masked: bool = False) -> None:
    realise = la.masked_arrays if masked else la.ndarrays
    expected = realise(graphs, kernels="numpy")
    for scheduler in SCHEDULERS:
        got = realise(graphs, scheduler=scheduler, **OPTIONS)
        for node, value, want in zip(graphs, got, expected):
            _same(value, want, node, f"on {scheduler}")


def test_numpy_sources(source: np.ndarray) -> None:
    x = la.asarray(source)
    assert x.to_dask(**OPTIONS).numblocks[0] > 1
    _check_in_memory(_graphs(x) + [la.asarray(np.arange(30).reshape(6, 5)) * 3])
    a, b = la.compute(x * 2, la.sum(x), scheduler="threads", **OPTIONS)
    np.testing.assert_array_equal(a, source * 2)
    np.testing.assert_allclose(b, source.sum(), rtol=1e-12)


def test_hdf5_mosaic(mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, data = mosaic
    _check_in_memory(_graphs(x))
    [whole] = la.ndarrays([x], scheduler="threads", **OPTIONS)
    np.testing.assert_array_equal(whole, data)


def test_masked_source_in_masked_mode(source: np.ndarray) -> None:
    mask = np.random.default_rng(1).random(source.shape) < 0.3
    x = la.asarray(np.ma.masked_array(source, mask=mask))
    with np.errstate(all="ignore"):
        _check_in_memory([x * 2, x.T[2:], la.mean(x, 0), la.max(x, 1), la.count(x, 0),
                          x - x.mean(0)], masked=True)


def test_saves_write_what_the_executor_writes(tmp_path: Path,
                                              mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, _ = mosaic
    anomaly, peak = x - x.mean(0), la.max(x, 0)
    masked = la.asarray(np.ma.masked_array(np.arange(12.0), mask=np.arange(12) % 5 == 0))
    [want_anomaly, want_peak, want_std] = la.ndarrays([anomaly, peak, la.std(x)], kernels="numpy")
    for scheduler in SCHEDULERS:
        folder = tmp_path / scheduler
        folder.mkdir()
        # save: into an ndarray, an HDF5 dataset (this process writes both)
        # and Zarr arrays (the workers write them), one masked.
        out = np.zeros(anomaly.shape, anomaly.dtype)
        with h5py.File(folder / "t.h5", "w") as f:
            dataset = f.create_dataset("peak", shape=peak.shape, dtype=peak.dtype)
            z = zarr.create_array(store=str(folder / "a.zarr"), shape=anomaly.shape,
                                  dtype=anomaly.dtype, chunks=(2, 6, 5))
            zm = zarr.create_array(store=str(folder / "m.zarr"), shape=(12,), dtype="f8",
                                   chunks=(3,), fill_value=-1.0)
            [std] = la.save([anomaly, peak, anomaly, masked], [out, dataset, z, zm],
                            compute=[la.std(x)], scheduler=scheduler, **OPTIONS)
            saved_peak = dataset[()]
        _same(out, want_anomaly, anomaly, scheduler)
        _same(saved_peak, want_peak, peak, scheduler)
        _same(z[...], want_anomaly, anomaly, scheduler)
        _same(std, want_std, x, scheduler)
        zm_default = zarr.create_array({}, shape=(12,), dtype="f8", fill_value=-1.0)
        la.save([masked], [zm_default])
        np.testing.assert_array_equal(zm[...], zm_default[...])
        # to_hdf5 and to_zarr, as the default path writes them.
        if scheduler == SCHEDULERS[0]:
            la.to_hdf5(tmp_path / "ref.h5", {"a": anomaly, "g/p": peak, "m": masked},
                       scheduler="lazyarray", **OPTIONS)
            la.to_zarr(tmp_path / "m-ref.zarr", masked, **OPTIONS)
        la.to_hdf5(folder / "dask.h5", {"a": anomaly, "g/p": peak, "m": masked},
                   scheduler=scheduler, **OPTIONS)
        with h5py.File(folder / "dask.h5") as got, h5py.File(tmp_path / "ref.h5") as want:
            for name, node in (("a", anomaly), ("g/p", peak), ("m", masked)):
                _same(got[name][()], want[name][()], node, scheduler)
            assert got["m"].attrs["_FillValue"] == want["m"].attrs["_FillValue"]
        la.to_zarr(folder / "z.zarr", anomaly, scheduler=scheduler, **OPTIONS)
        la.to_zarr(folder / "m2.zarr", masked, scheduler=scheduler, **OPTIONS)
        _same(zarr.open_array(folder / "z.zarr")[...], want_anomaly, anomaly, scheduler)
        got_m, want_m = (zarr.open_array(folder / "m2.zarr"),
                         zarr.open_array(tmp_path / "m-ref.zarr"))
        np.testing.assert_array_equal(got_m[...], want_m[...])
        assert got_m.fill_value == want_m.fill_value
        # Published under their names, no temporary left.
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_progress_counts_the_results_blocks(source: np.ndarray) -> None:
    x = la.asarray(source)
    events: list[la.Progress] = []
    la.ndarrays([x - x.mean(0), la.sum(x, 1)], scheduler="threads", progress=events.append,
                memory_limit=600, **OPTIONS)
    total = source.nbytes + source.shape[0] * 8
    assert [e.total for e in events] == [total] * len(events)
    done = [e.done for e in events]
    assert done[0] == 0 and done[-1] == total and done == sorted(done) and len(done) > 3


@pytest.mark.parametrize("bad", ["thread", "dask", "", 3, object(), la.Options()])
def test_bad_schedulers_raise_before_reading(bad: Any, tmp_path: Path,
                                             mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, _ = mosaic
    out = np.zeros(x.shape, x.dtype)
    error = ValueError if isinstance(bad, str) else TypeError
    with refusing_reads():
        for call in (lambda: la.ndarrays([x], scheduler=bad),
                     lambda: la.masked_arrays([x], scheduler=bad),
                     lambda: la.compute(x, scheduler=bad),
                     lambda: la.save([x], [out], scheduler=bad),
                     lambda: la.to_hdf5(tmp_path / "no.h5", {"x": x}, scheduler=bad),
                     lambda: la.to_zarr(tmp_path / "no.zarr", x, scheduler=bad)):
            with pytest.raises(error, match="scheduler must be one of 'lazyarray'"):
                call()
    assert not out.any()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part0.h5", "part1.h5", "part2.h5"]


# -- dask.distributed: one local cluster of two worker processes ---------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close(timeout=5)


def test_distributed_statistics_of_a_mosaic(client: Any,
                                            mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, data = mosaic
    graphs = [la.mean(x, 0), la.std(x), la.max(x, 0), la.argmax(x, 0), la.argmin(x),
              x - x.mean(0)]
    expected = la.ndarrays(graphs, kernels="numpy")
    for node, value, want in zip(graphs, la.ndarrays(graphs, scheduler=client, **OPTIONS),
                                 expected):
        _same(value, want, node, "on a cluster")
    np.testing.assert_allclose(expected[0], data.mean(0, dtype=np.float64).astype(np.float32),
                               rtol=1e-6)


def test_distributed_zarr_written_by_the_workers(client: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, _ = mosaic
    anomaly = (x - x.mean(0)) / x.std(0)
    [want] = la.ndarrays([anomaly], kernels="numpy")

    def refuse(self: Any, key: Any, value: Any) -> None:
        raise AssertionError("the client wrote into the Zarr array")

    # Zarr writes in this process fail; the workers (other processes) are untouched.
    monkeypatch.setattr(zarr.Array, "__setitem__", refuse)
    events: list[la.Progress] = []
    [peak] = la.to_zarr(tmp_path / "out.zarr", anomaly, compute=[la.max(anomaly)],
                        scheduler=client, progress=events.append, **OPTIONS)
    monkeypatch.undo()
    written = zarr.open_array(tmp_path / "out.zarr")
    _same(written[...], want, anomaly, "written by the workers")
    _same(peak, want.max(), la.max(anomaly), "on a cluster")
    assert events[-1].done == events[-1].total == want.nbytes + want.dtype.itemsize
    assert len(events) > 3  # every block stored, then the peak brought back


def test_distributed_hdf5_written_by_the_client(client: Any, tmp_path: Path,
                                                mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, data = mosaic
    path = tmp_path / "out.h5"
    la.to_hdf5(path, {"x": x * 2, "mean": la.mean(x, 0)}, scheduler=client,
               memory_limit=2000, **OPTIONS)  # several batches
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["x"][()], data * 2)
        np.testing.assert_allclose(f["mean"][()], data.mean(0, dtype=np.float64), rtol=1e-6)


def test_graphs_pickle_by_path(tmp_path: Path, mosaic: tuple[la.Array, np.ndarray]) -> None:
    """A Dask graph of a mosaic pickles small, without data or handle; a fresh
    process unpickles it without opening a file (the files are not even where
    the graph says while it unpickles), then computes the same blocks, and the
    files open after are the graph's, held by lazyarray's file cache."""
    x, data = mosaic
    [exported] = la.to_dask([x - x.mean(0)], **OPTIONS)
    keys = list(dask.core.flatten(exported.__dask_keys__()))
    graph = dict(exported.__dask_graph__())
    blob = pickle.dumps((graph, keys))
    assert len(blob) < 40_000  # nodes once each, by path
    assert not any(data[i * 10:i * 10 + 2].tobytes() in blob for i in range(3))  # no data
    (tmp_path / "graph.pkl").write_bytes(blob)
    # The graph's tasks are plain tuples: the fresh process runs them by hand
    # rather than import Dask (half a second of this module's 10 s).
    code = (
        "import os, pickle, sys, lazyarray.files as files, psutil\n"
        "folder = os.path.dirname(sys.argv[1])\n"
        "def h5(): return sorted(f.path for f in psutil.Process().open_files()"
        " if f.path.endswith('.h5'))\n"
        "parts = [os.path.join(folder, f'part{i}.h5') for i in range(3)]\n"
        "for p in parts: os.rename(p, p + '.away')\n"
        "graph, keys = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "print(len(h5()), len(files.default_cache.paths()))\n"
        "for p in parts: os.rename(p + '.away', p)\n"
        "done = {}\n"
        "def run(v):\n"
        "    if isinstance(v, list): return [run(a) for a in v]\n"
        "    if isinstance(v, tuple) and v and callable(v[0]):\n"
        "        return v[0](*[run(a) for a in v[1:]])\n"
        "    try:\n"
        "        key = v in graph\n"
        "    except TypeError:  # slices\n"
        "        key = False\n"
        "    if key and v not in done:\n"
        "        done[v] = run(graph[v])\n"
        "    return done[v] if key else v\n"
        "total = float(sum(run(key).sum() for key in keys))\n"
        "print(*h5(), sep=',')\n"
        "print(*sorted(files.default_cache.paths()), sep=',')\n"
        "print(total)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "graph.pkl")],
                         capture_output=True, text=True, check=True, cwd=os.getcwd())
    open_at_unpickling, cached_at_unpickling, open_files, cached, total = out.stdout.split()
    assert open_at_unpickling == cached_at_unpickling == "0"
    members = ",".join(str(tmp_path / f"part{i}.h5") for i in range(3))
    assert open_files == cached == members
    [anomaly] = la.ndarrays([x - x.mean(0)])
    assert np.isclose(float(total), float(anomaly.sum(dtype=np.float64)), atol=1e-3)
