"""map_files: per-file processing in spawned processes (issue 15, point 5).

Spawned workers are slow to start (each imports lazyarray), so the runs in
worker processes are made once per module (fixtures) and shared by the
assertions; everything is compared with numpy on the same files.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.mapfiles import MapFilesCancelled, projected_memory

N_FILES = 20
BAD = 7  # this input's data has 21 rows, which fn refuses
SKIPPED = 3  # pre skips this one


def _data(n: int) -> np.ndarray:
    rows = 21 if n == BAD else 20
    return np.random.default_rng(n).standard_normal((rows, 30)).astype(np.float32)


# -- what the workers run: module level, so that it pickles by name --------------------


def anomalies(x, scale=1.0):
    """Saves the anomaly and a scaled copy; meta: lazy statistics and a plain value."""
    if x.shape[0] == 21:
        raise ValueError(f"21 rows: refused ({x.shape})")
    return (
        {"anom": x - la.mean(x, 0), "scaled": x * scale},
        {"mean": la.mean(x), "std0": la.std(x, 0), "rows": x.shape[0], "scale": scale},
    )


def skip_some(path):
    if os.path.basename(os.fspath(path)).startswith(f"f{SKIPPED:02d}"):
        return None
    return {"scale": 2.5}


def add_size(meta, path, output):
    return {"output_name": None if output is None else os.path.basename(output),
            "had_mean": "mean" in meta}


def with_tag(path):
    return {"scale": 3.0}


def stats_only(x):
    return None, {"max": la.max(x, 1), "total": float(np.sum(x.ndarray()))}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    paths = []
    for n in range(N_FILES):
        path = folder / f"f{n:02d}.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=_data(n), chunks=(10, 30))
        paths.append(str(path))
    return paths


def _run(files, outdir, processes, errors="collect"):
    return la.map_files(anomalies, files, variables="x", processes=processes, pre=[skip_some],
                        post=add_size, outdir=outdir, progress=False, errors=errors)


@pytest.fixture(scope="module")
def pooled(files, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("pooled")
    return _run(files, outdir, 2), outdir


@pytest.fixture(scope="module")
def serial(files, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("serial")
    return _run(files, outdir, 0), outdir


def _read(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][...] for name in f}


def test_results_in_input_order(files, pooled):
    results, _ = pooled
    assert [r.input for r in results] == files


def test_pool_equals_serial(pooled, serial):
    for p, s in zip(pooled[0], serial[0]):
        assert (p.skipped, p.ok, type(p.error)) == (s.skipped, s.ok, type(s.error))
        assert p.meta.keys() == s.meta.keys()
        for key in p.meta:
            np.testing.assert_array_equal(p.meta[key], s.meta[key])
        if p.output is not None:
            assert os.path.basename(p.output) == os.path.basename(s.output)
            pr, sr = _read(p.output), _read(s.output)
            assert pr.keys() == sr.keys()
            for name in pr:
                np.testing.assert_array_equal(pr[name], sr[name])


def test_outputs_equal_numpy(pooled):
    results, outdir = pooled
    for n, result in enumerate(results):
        if n in (BAD, SKIPPED):
            continue
        x = _data(n)
        assert result.ok, result.error
        assert result.output == os.path.join(outdir, f"f{n:02d}_out.h5")
        saved = _read(result.output)
        np.testing.assert_allclose(saved["anom"], x - x.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(saved["scaled"], x * np.float32(2.5), rtol=1e-6)
        assert saved["anom"].dtype == (x - x.mean(0)).dtype
        np.testing.assert_allclose(result.meta["mean"], x.mean(), rtol=1e-5)
        np.testing.assert_allclose(result.meta["std0"], x.std(0), rtol=1e-5)
        assert result.meta["rows"] == x.shape[0] and result.meta["scale"] == 2.5
        assert result.meta["output_name"] == f"f{n:02d}_out.h5" and result.meta["had_mean"]
        assert result.seconds > 0 and result.peak_bytes is not None and result.peak_bytes >= 0


def test_failure_is_collected(pooled):
    results, outdir = pooled
    bad = results[BAD]
    assert isinstance(bad.error, ValueError) and "21 rows: refused" in str(bad.error)
    assert any("anomalies" in note for note in getattr(bad.error, "__notes__", []))
    assert bad.output is None and not bad.ok
    assert not os.path.exists(os.path.join(outdir, f"f{BAD:02d}_out.h5"))
    assert sum(r.ok for r in results) == N_FILES - 2


def test_pre_skips(pooled):
    results, outdir = pooled
    skipped = results[SKIPPED]
    assert skipped.skipped and skipped.error is None and skipped.output is None
    assert skipped.meta == {} and not skipped.ok
    assert not os.path.exists(os.path.join(outdir, f"f{SKIPPED:02d}_out.h5"))


def test_errors_raise_stops_all(files, tmp_path):
    with pytest.raises(ValueError, match="21 rows: refused") as caught:
        _run(files, tmp_path, 2, errors="raise")
    assert any(f"input {BAD}" in note for note in caught.value.__notes__)
    assert multiprocessing.active_children() == []
    # No half-written output: whatever was published is complete and right,
    # nothing else (no temporary) is left.
    for name in os.listdir(tmp_path):
        assert name.endswith("_out.h5") and name != f"f{BAD:02d}_out.h5", name
        x = _data(int(name[1:3]))
        np.testing.assert_allclose(_read(tmp_path / name)["scaled"], x * np.float32(2.5))


def test_serial_raise_names_input(files, tmp_path):
    with pytest.raises(ValueError, match="21 rows") as caught:
        _run(files[BAD - 1:BAD + 1], tmp_path, 0, errors="raise")
    assert any("input 1" in note for note in caught.value.__notes__)


def test_input_forms_and_keywords(files, tmp_path):
    """'path:variable', (path, [variables]), a lazy graph; several pre merge keywords."""
    inputs = [files[0] + ":x", (files[1], ["x"]), la.open_dataset(files[2], "x")]

    def first(data):  # a dict for a list of variables
        return data["x"] if isinstance(data, dict) else data

    def fn(data, scale=1.0, tag=None):
        x = first(data)
        return x * scale, {"sum": la.sum(x), "tag": tag}

    results = la.map_files(fn, inputs, processes=0, progress=False, outdir=tmp_path,
                           pre=[with_tag, lambda given: {"tag": "t"}])
    for n, result in enumerate(results):
        x = _data(n)
        assert result.ok, result.error
        np.testing.assert_allclose(result.meta["sum"], x.sum(dtype=np.float64), rtol=1e-5)
        assert result.meta["tag"] == "t"
        [(name, saved)] = _read(result.output).items()
        assert name in ("x", "data")
        np.testing.assert_allclose(saved, x * np.float32(3.0))
    assert os.path.basename(results[2].output) == "input2_out.h5"


def test_meta_only_and_eager_meta(files):
    [result] = la.map_files(stats_only, [files[0]], variables="x", processes=0, progress=False)
    x = _data(0)
    assert result.output is None and result.ok
    np.testing.assert_array_equal(result.meta["max"], x.max(1))
    assert result.meta["total"] == pytest.approx(float(x.sum()), rel=1e-5)


def test_overwrite(files, tmp_path):
    run = {"variables": "x", "processes": 0, "progress": False, "outdir": tmp_path}
    la.map_files(anomalies, files[:1], **run)
    [again] = la.map_files(anomalies, files[:1], **run)
    assert isinstance(again.error, FileExistsError)
    [forced] = la.map_files(anomalies, files[:1], overwrite=True, **run)
    assert forced.ok


def test_progress_counts_inputs(files, tmp_path):
    events = []
    la.map_files(stats_only, files[:3], variables="x", processes=0, progress=events.append)
    assert [(e.done, e.total) for e in events] == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_unpicklable_error_is_described():
    from lazyarray.errors import portable

    class Local(Exception):  # a local class does not pickle
        pass

    try:
        raise Local("boom")
    except Local as error:
        sent = portable(error, "map_files worker 1")
    assert isinstance(sent, RuntimeError) and "boom" in str(sent)
    assert "Traceback" in str(sent)
    pickle.loads(pickle.dumps(sent))


def test_cancelled_is_a_runtime_error():
    assert issubclass(MapFilesCancelled, RuntimeError)


def _not_a_function():
    return None


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"fn": 3}, TypeError, "fn must be callable, found int"),
    ({"inputs": "a.h5"}, TypeError, "inputs must be a sequence.*found str"),
    ({"inputs": [3]}, TypeError, "input 0 must be a path.*found int"),
    ({"processes": -1}, ValueError, "processes must be at least 0, found -1"),
    ({"processes": 1.5}, TypeError, "processes must be an integer or None, found 1.5"),
    ({"memory_per_task": 0}, ValueError, "memory_per_task must be at least 1"),
    ({"errors": "ignore"}, ValueError, "errors must be 'collect' or 'raise', found 'ignore'"),
    ({"pre": [3]}, TypeError, r"pre\[0\] must be callable, found int"),
    ({"post": "x"}, TypeError, "post must be a callable or a sequence"),
    ({"outname": "{stem}.txt"}, ValueError, "must end in one of .*found '.txt'"),
    ({"outname": "{colour}.h5"}, ValueError, "outname '{colour}.h5' cannot be formatted"),
    ({"outname": "{name}", "outdir": None}, ValueError, "output .* is input 0"),
    ({"outname": "same.h5"}, ValueError, "inputs 0 and 1 would both write"),
    ({"variables": None}, ValueError, "no variable was named: say which"),
    ({"variables": [1]}, TypeError, "variables must be a variable name"),
    ({"inputs": ["/no/such/file.h5"]}, FileNotFoundError, "input 0 does not exist"),
    ({"chunk_size": 3}, TypeError, "map_files: unknown option"),
    ({"fn": lambda x: (None, {}), "processes": 2}, TypeError, "must pickle"),
    ({"overwrite": "yes"}, TypeError, "overwrite must be True or False"),
    ({"progress": "bar"}, TypeError, "progress must be True, False or a callable"),
])
def test_bad_arguments(files, tmp_path, change, error, match):
    arguments = {"fn": anomalies, "inputs": files[:2], "variables": "x", "outdir": tmp_path,
                     "progress": False, "processes": 2}
    arguments.update(change)
    fn, inputs = arguments.pop("fn"), arguments.pop("inputs")
    with pytest.raises(error, match=match):
        la.map_files(fn, inputs, **arguments)
    assert multiprocessing.active_children() == []
    assert os.listdir(tmp_path) == []


def big_statistics(x):
    return x * 2, {"mean": la.mean(x, 0)}


@pytest.mark.slow
def test_projected_memory_matches_measured(tmp_path):
    """Projected memory per task within 1.3x of a worker's measured peak (~200 MB inputs)."""
    rng = np.random.default_rng(0)
    paths = []
    for n in range(2):
        path = tmp_path / f"big{n}.h5"
        with h5py.File(path, "w") as f:
            d = f.create_dataset("x", shape=(50, 1000, 1000), dtype="f4", chunks=(1, 1000, 1000))
            for i in range(0, 50, 10):
                d[i:i + 10] = rng.random((10, 1000, 1000), dtype=np.float32)
        paths.append(str(path))
    # What map_files plans for each of 2 processes: half the CPUs as threads.
    projected = projected_memory(big_statistics, paths[0], variables="x",
                                 workers=max(1, (os.cpu_count() or 1) // 2))
    results = la.map_files(big_statistics, paths, variables="x", processes=2, progress=False,
                           outdir=tmp_path / "out")
    for result in results:
        assert result.ok, result.error
        ratio = result.peak_bytes / projected
        print(f"projected {projected / 2**20:.0f} MiB, measured "
              f"{result.peak_bytes / 2**20:.0f} MiB, ratio {ratio:.2f}")
        assert 1 / 1.3 <= ratio <= 1.3


def doubled(x):
    return x * 2, {"sum": la.sum(x)}


def test_zarr_store_in_and_out(tmp_path):
    import zarr

    values = np.random.default_rng(5).standard_normal((12, 7))
    store = str(tmp_path / "a.zarr")
    la.to_zarr(store, values)
    [result] = la.map_files(doubled, [store], processes=0, progress=False)
    assert result.ok, result.error
    assert result.output == str(tmp_path / "a_out.zarr")
    np.testing.assert_array_equal(zarr.open_array(result.output, mode="r")[...], values * 2)
    np.testing.assert_allclose(result.meta["sum"], values.sum())


def test_progress_bar_over_inputs(files, capsys):
    la.map_files(stats_only, files[:2], variables="x", processes=0)
    assert "map_files" in capsys.readouterr().err


def test_cancel_stops_a_running_evaluation(files, tmp_path):
    """A task whose run is cancelled mid-evaluation stops at its next tile and
    publishes nothing (what errors="raise" does to the inputs still running)."""
    import threading

    from lazyarray.mapfiles import inputs, worker

    event = threading.Event()
    seen = []

    def progress(report):
        seen.append(report.done)
        if len(seen) == 2:  # the first tile is in: cancel
            event.set()
        worker.stop_if_cancelled(report)

    [task] = [inputs.resolve(0, files[0], "x", str(tmp_path), "{stem}_out{suffix}")]
    job = inputs.Job(anomalies, (), (), False)
    worker.start_worker(event)
    try:
        result = worker.run_task(job, task, {"progress": progress, "chunk_bytes": 240},
                                 False, True)
        assert isinstance(result.error, MapFilesCancelled), result.error
        assert len(seen) == 2 and result.output is None
        assert os.listdir(tmp_path) == []
        # Once cancelled, a task does not start.
        again = worker.run_task(job, task, {}, False, True)
        assert isinstance(again.error, MapFilesCancelled) and "not started" in str(again.error)
    finally:
        worker.start_worker(None)


def test_processes_and_budgets_fit_memory(files, monkeypatch):
    """processes = what fits in 0.8 x available memory; each task gets its share."""
    from lazyarray import mapfiles
    from lazyarray.mapfiles import memory, running

    seen = {}

    def fake_pool(job, tasks, processes, options, errors, reporter):
        seen.update(processes=processes, options=options)
        return []

    monkeypatch.setattr(running, "run_pool", fake_pool)
    cpus = os.cpu_count() or 1
    per_task = 2**30
    available = int(3 * (per_task + mapfiles.WORKER_BYTES) / mapfiles.MEMORY_SHARE) + 8
    monkeypatch.setattr(memory, "available_memory", lambda: available)
    la.map_files(anomalies, files, variables="x", memory_per_task=per_task, progress=False)
    assert seen["processes"] == min(3, cpus)
    assert "memory_limit" not in seen["options"]  # the share is above the option in force
    assert seen["options"]["kernels"] == "numpy"  # tiny inputs: numba would not pay off

    # Room for one task only, with less than memory_limit: the task gets it all.
    available = int((100 * 2**20 + mapfiles.WORKER_BYTES) / mapfiles.MEMORY_SHARE) + 8
    la.map_files(anomalies, files, variables="x", memory_per_task=100 * 2**20,
                 progress=False, kernels="numba")
    assert seen["processes"] == 1
    assert seen["options"]["memory_limit"] == int(available * mapfiles.MEMORY_SHARE)
    assert seen["options"]["kernels"] == "numba"  # as asked

    # Projected by the planner when not given.
    per_task = projected_memory(anomalies, files[0], variables="x", kernels="numpy")
    available = int(2 * (per_task + mapfiles.WORKER_BYTES) / mapfiles.MEMORY_SHARE) + 8
    la.map_files(anomalies, files, variables="x", progress=False)
    assert seen["processes"] == min(2, cpus)
