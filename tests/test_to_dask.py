"""Exporting graphs to Dask (issue 16, point 1): ``la.to_dask`` computes what lazyarray does.

Every graph is exported with small ``chunk_bytes``, so that arrays span several
blocks, computed by Dask's schedulers and compared with ``la.ndarrays`` (or
``la.masked_arrays``): integers, counts, truth values, minima, maxima and
positions are equal exactly; floating-point statistics to float64 rounding (the
tiles differ, the accumulators do not).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from examples import examples
from graph_strategies import Sources, graphs
from hypothesis import event, given, settings
from hypothesis import strategies as st
from numpy_oracle import quiet
from test_random_graphs import aggregations

import lazyarray as la
from lazyarray.aggregation import Aggregation
from lazyarray.aggregation import __all__ as AGGREGATION_NAMES
from lazyarray.testing import refusing_reads

dask = pytest.importorskip("dask")
h5py = pytest.importorskip("h5py")

REDUCTIONS = [n for n in AGGREGATION_NAMES if n not in ("Aggregation", "Reduction")]
EXACT = {"min", "max", "nanmin", "nanmax", "ptp", "argmin", "argmax", "nanargmin",
         "nanargmax", "count", "any", "all"}
#: Small blocks, so that every array below is cut into several; numpy's kernels,
#: which spare the reference a numba compilation (a second or two).
OPTIONS: dict[str, Any] = {"chunk_bytes": 400, "kernels": "numpy"}


def _is_exact(node: la.Array, value: np.ndarray) -> bool:
    if value.dtype.kind in "biu":
        return True
    return isinstance(node, Aggregation) and node.reduction.name in EXACT


def _check(graphs: list[la.Array], masked: bool = False, schedulers: tuple[str, ...] = (
        "synchronous", "threads"), **options: Any) -> None:
    options = {**OPTIONS, **options}
    exported = la.to_dask(graphs, masked=masked, **options)
    realise = la.masked_arrays if masked else la.ndarrays
    # The reference at the default options: one tile, at once (fast), so the
    # results are also shown not to depend on the blocks.
    expected = realise(graphs, **{k: v for k, v in options.items() if k != "chunk_bytes"})
    for scheduler in schedulers:
        got = dask.compute(*exported, scheduler=scheduler)
        for node, value, want in zip(graphs, got, expected):
            message = f"{node!r} on {scheduler}"
            assert value.shape == want.shape, message
            assert value.dtype == want.dtype, message
            assert isinstance(value, np.ma.MaskedArray) == masked, message
            if masked:
                np.testing.assert_array_equal(np.ma.getmaskarray(value),
                                              np.ma.getmaskarray(want), err_msg=message)
                value, want = np.ma.filled(value, 0), np.ma.filled(want, 0)
            if _is_exact(node, value):
                np.testing.assert_array_equal(value, want, err_msg=message)
            else:
                rtol = 1e-6 if value.dtype == np.float32 else 1e-12
                np.testing.assert_allclose(value, want, rtol=rtol, err_msg=message)


def _statistics(x: la.Array, axes: tuple[int | None, ...] = (0, None)) -> list[la.Array]:
    """Every aggregation of ``x`` over each of ``axes`` (``None``: all)."""
    return [getattr(la, name)(x, axis) for name in REDUCTIONS for axis in axes]


@pytest.fixture
def source() -> np.ndarray:
    rng = np.random.default_rng(16)
    data = rng.standard_normal((24, 7))
    data[3, 2] = data[17, 5] = np.nan
    data[5, 1] = data[6, 1] = data[:, 1].max() + 1  # a tie for argmax
    return data


def _write(path: Path, data: np.ndarray) -> la.Array:
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=data, chunks=(4,) + data.shape[1:], compression="gzip")
    return la.open_dataset(path, "v")


@pytest.fixture
def mosaic(tmp_path: Path) -> tuple[la.Array, np.ndarray]:
    """A mosaic of three HDF5 files, float32 ``(30, 6, 5)``, and its data."""
    data = np.random.default_rng(3).standard_normal((30, 6, 5)).astype(np.float32)
    parts = [_write(tmp_path / f"part{i}.h5", data[i * 10:(i + 1) * 10]) for i in range(3)]
    return la.concatenate(parts, axis=0), data


def test_numpy_graphs(source: np.ndarray) -> None:
    x = la.asarray(source)
    integers = la.asarray((np.nan_to_num(source) * 10).astype(np.int32))
    assert x.to_dask(**OPTIONS).numblocks[0] > 1
    graphs = [
        x * 2 + 1, x[3:17, ::2], x.T, la.transpose(x)[1:, 4], la.sqrt(la.abs(x)),
        (x - x.mean(0)) / x.std(0), x - la.nanmean(x, 0, keepdims=True),
        la.max(x - la.nanmin(x), axis=1), la.mean(x.T, axis=1),
        *_statistics(x), *_statistics(integers, (0,)),
        la.std(x, 0, ddof=1), la.sum(integers, 0, dtype=np.int8), la.mean(integers, 0),
    ]
    _check(graphs)


def test_hdf5_mosaic(mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, data = mosaic
    d = x.to_dask(**OPTIONS)
    assert d.numblocks[0] >= 3  # cut at the members at least
    np.testing.assert_array_equal(d.compute(scheduler="threads"), data)
    anomaly = (x - x.mean(0)) / x.std(0)
    graphs = [x[5:25, 1:4, ::2] * 2, la.transpose(x, (2, 0, 1)), anomaly, la.max(anomaly, 0),
              *_statistics(x)]
    _check(graphs)


def test_masked_sources(source: np.ndarray) -> None:
    mask = np.random.default_rng(1).random(source.shape) < 0.3
    mask[:, 3] = True  # a column with nothing valid
    x = la.asarray(np.ma.masked_array(source, mask=mask))
    graphs = [x * 2, x.T[2:], (x - x.mean(0)) / x.std(0), *_statistics(x)]
    graphs = [g for g in graphs if not (isinstance(g, Aggregation) and g.reduction.positional
                                        and g.axes == (0,))]  # all masked: an error unmasked
    with np.errstate(all="ignore"):
        _check(graphs, masked=True)
        _check(graphs[:3] + [la.mean(x, 0), la.count(x, 0)], masked=False)


def test_masked_mode_of_plain_sources(source: np.ndarray) -> None:
    x = la.asarray(source)
    graphs = [x + 1, x - la.mean(x, 1, keepdims=True), la.sum(x, 0), la.argmin(x)]
    exported = la.to_dask(graphs, masked=True, **OPTIONS)
    # Dask keeps no 0-d masked meta (dask.array.utils.meta_from_array makes it plain).
    assert all(isinstance(d._meta, np.ma.MaskedArray) for d in exported if d.ndim)
    _check(graphs, masked=True)


def test_tree_of_merges(source: np.ndarray) -> None:
    x = la.asarray(source)
    graphs = [la.sum(x, 0), la.argmax(x), la.nanargmin(x, 0), la.std(x)]
    with dask.config.set(split_every=2):  # merges in three levels
        _check(graphs, schedulers=("synchronous",), chunk_bytes=100)


def test_empty_arrays() -> None:
    empty = la.asarray(np.zeros((0, 4)))
    _check([empty * 2, la.sum(empty, 0), la.count(empty)], schedulers=("synchronous",))


def test_shared_inputs_are_evaluated_once(source: np.ndarray) -> None:
    x = la.asarray(source)
    mean, std = la.to_dask([la.mean(x, 0), la.std(x, 0)], **OPTIONS)
    blocks = {k for d in (mean, std) for k in dict(d.dask) if "lazyarray-block" in str(k)}
    # The source's blocks, plus its graph's key: shared by both statistics.
    assert len(blocks) == x.to_dask(**OPTIONS).npartitions + 1


def test_building_reads_nothing(mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, _ = mosaic
    with refusing_reads():
        la.to_dask([x * 2, (x - x.mean(0)) / x.std(0), la.argmax(x, 0)], **OPTIONS)


def test_graph_pickles_small_without_handles(mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, data = mosaic
    exported = la.to_dask([la.mean(x, 0), la.std(x, 0), la.max(x)], **OPTIONS)
    for d in exported:
        pickled = pickle.dumps(dict(d.dask))
        assert len(pickled) < 50_000
        assert b"h5py._hl" not in pickled
    mean = pickle.loads(pickle.dumps(exported[0]))
    np.testing.assert_allclose(mean.compute(scheduler="synchronous"),
                               data.mean(0, dtype=np.float64), rtol=1e-6)


def test_processes_scheduler(mosaic: tuple[la.Array, np.ndarray]) -> None:
    x, _ = mosaic
    mean = la.mean(x, 0)
    value = mean.to_dask(**OPTIONS).compute(scheduler="processes", num_workers=1)
    np.testing.assert_allclose(value, mean.ndarray(**OPTIONS), rtol=1e-6)


def test_refuses_a_single_array() -> None:
    with pytest.raises(TypeError, match="sequence"):
        la.to_dask(la.zeros(3))  # type: ignore[arg-type]


# -- random graphs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: Any) -> Any:
    path = tmp_path_factory.mktemp("to_dask") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


@settings(max_examples=examples(8, 60), deadline=None)
@given(data=st.data())
def test_random_graphs_and_their_statistics(sources: Any, data: st.DataObject) -> None:
    """Random graphs (numpy, HDF5 and Zarr sources, keys, transposes, mosaics,
    stacks, elementwise maths) and a random statistic of each, in plain or
    masked mode: Dask computes what lazyarray computes."""
    lazy, _ = data.draw(graphs(sources), label="graph")
    name, axis, kwargs = data.draw(aggregations(lazy.ndim), label="statistic")
    masked = data.draw(st.booleans(), label="masked")
    with quiet():
        try:
            statistic = getattr(la, name)(lazy, axis, **kwargs)
            realise = la.masked_arrays if masked else la.ndarrays
            expected = realise([lazy, statistic], kernels="numpy")
        except Exception:  # noqa: BLE001 - lazyarray refuses it (a dtype, an axis)
            event("refused by lazyarray")
            return
        event("compared")
        exported = la.to_dask([lazy, statistic], masked=masked, chunk_bytes=64,
                              kernels="numpy")
        got = dask.compute(*exported, scheduler="synchronous")
    for node, value, want in zip([lazy, statistic], got, expected):
        assert (value.shape, value.dtype) == (want.shape, want.dtype), node
        if masked:
            np.testing.assert_array_equal(np.ma.getmaskarray(value), np.ma.getmaskarray(want))
            value, want = np.ma.getdata(value), np.ma.getdata(want)
            mask = np.ma.getmaskarray(got[0] if node is lazy else got[1])
            value, want = value[~mask], want[~mask]
        if _is_exact(node, np.asarray(value)) or node is lazy:
            np.testing.assert_array_equal(value, want, err_msg=repr(node))
        else:
            np.testing.assert_allclose(value, want, rtol=1e-6 if want.dtype.itemsize <= 8
                                       and want.dtype.kind == "c" or want.dtype == np.float32
                                       else 1e-12, atol=1e-12, err_msg=repr(node))
