"""``import lazyarray`` stays cheap: heavy modules load on first use (issue 18, point 4).

Each test runs a fresh interpreter, because the test process has long since
imported everything. Timings are measured by ``benchmarks/startup.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from typing import Any

import h5py
import numpy as np
import pytest

import lazyarray as la

#: What ``import lazyarray`` must not import. Before issue 18 it imported the
#: first five: asyncio and ssl through lazyarray.publish, and socket through
#: lazyarray.temporaries (both imported by lazyarray.writers, which
#: lazyarray.mapfiles imports); multiprocessing.shared_memory through
#: lazyarray.sampling; concurrent.futures.process through lazyarray.mapfiles.
#: The rest are optional dependencies, imported only when asked for.
HEAVY = (
    "asyncio",
    "ssl",
    "socket",
    "multiprocessing.shared_memory",
    "concurrent.futures.process",
    "numba",
    "zarr",
    "xarray",
    "dask",
    "netCDF4",
    "h5netcdf",
    "scipy",
    "sklearn",
)

#: lazyarray's own modules that load on first use (lazyarray/__init__.py).
LAZY = (
    "lazyarray.mapfiles",
    "lazyarray.sampling",
    "lazyarray.writers",
    "lazyarray.publish",
    "lazyarray.temporaries",
    "lazyarray.testing",
)


def fresh(code: str) -> Any:
    """What ``code``, run in a new interpreter, prints as JSON on its last line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_loads_no_heavy_module() -> None:
    # numpy and h5py first: what they import themselves is not lazyarray's doing.
    loaded = fresh(
        "import json, sys, numpy, h5py\n"
        "before = set(sys.modules)\n"
        "import lazyarray\n"
        "added = set(sys.modules) - before\n"
        f"print(json.dumps(sorted(m for m in added if m in {HEAVY + LAZY!r})))\n"
    )
    assert loaded == []


def test_first_small_evaluations_load_neither_numba_nor_numpy_ma() -> None:
    # A worker's or a notebook's first small computations: numpy.ma (25 ms)
    # and numba (a second) are loaded only by masked data and big reductions.
    loaded = fresh(
        "import json, sys, numpy as np, h5py\n"
        "import lazyarray as la\n"
        "x = la.asarray(np.arange(12.0).reshape(3, 4))\n"
        "values = [float(x[1, 2]), la.mean(x, 0).ndarray().tolist(), (x * 2 + 1).ndarray()[0, 0],\n"
        "          la.std(x, 1).ndarray().tolist()]\n"
        "print(json.dumps([sorted(m for m in ('numpy.ma', 'numba') if m in sys.modules),\n"
        "                  [values[0], values[1], float(values[2])]]))\n"
    )
    assert loaded == [[], [6.0, [4.0, 5.0, 6.0, 7.0], 1.0]]


def test_planned_evaluations_of_plain_files_do_not_load_numpy_ma(tmp_path) -> None:
    # numpy's own np.unique imports numpy.ma (about 40 ms) to ask whether its
    # input is masked: the planner's sets of cuts and chunk ids use
    # lazyarray.indexing.sorted_unique instead.
    path = tmp_path / "planes.h5"
    values = np.arange(6 * 20 * 30, dtype=np.float32).reshape(6, 20, 30)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=values, chunks=(1, 20, 30))
        f.create_dataset("y", data=values, chunks=(2, 10, 15))
    loaded = fresh(
        "import json, sys, numpy as np, h5py\n"
        "import lazyarray as la\n"
        f"f = h5py.File({str(path)!r}, 'r')\n"
        "x, y = la.asarray(f['x']), la.asarray(f['y'])\n"
        "m = la.LinearMosaic([x, y], axis=0)\n"
        "results = la.ndarrays([la.mean(m, 0), la.std(x + y, (1, 2))], chunk_bytes=4096)\n"
        "print(json.dumps(['numpy.ma' in sys.modules, [r.tolist() for r in results]]))\n"
    )
    wide = values.astype(np.float64)
    both = np.concatenate([wide, wide])
    assert loaded[0] is False
    np.testing.assert_allclose(loaded[1][0], both.mean(0), rtol=1e-6)
    np.testing.assert_allclose(loaded[1][1], (wide + wide).std((1, 2)), rtol=1e-6)


# One fresh process checks every public name, in the order a user meets them:
# dir() before anything is loaded, then each name through attribute access or
# ``from lazyarray import name``, each against its defining module.
_NAMES = """
import importlib, json, sys, types
import lazyarray as la
listed = set(dir(la))
report = {"missing from dir": sorted(set(la.__all__) - listed), "wrong": [],
          "lazy loaded after": []}
for n, name in enumerate(la.__all__):
    if n % 2:
        value = getattr(la, name)
    else:
        namespace = {}
        exec(f"from lazyarray import {name} as value", namespace)
        value = namespace["value"]
    if isinstance(value, types.ModuleType):
        defined = sys.modules[f"lazyarray.{name}"]
    else:
        defined = getattr(importlib.import_module(value.__module__), value.__qualname__)
    if value is not defined or value is not getattr(la, name):
        report["wrong"].append(name)
report["lazy loaded after"] = sorted(m for m in LAZY if m in sys.modules)
report["modules"] = [type(getattr(la, m.split(".")[1])).__name__ for m in LAZY]
try:
    la.no_such_name
except AttributeError as error:
    report["unknown"] = str(error)
print(json.dumps(report))
""".replace("LAZY", repr(LAZY))


def test_every_public_name_resolves_to_its_defining_modules_object() -> None:
    report = fresh(_NAMES)
    assert report["missing from dir"] == []
    assert report["wrong"] == []
    # Every lazy module is loaded once its names are asked for (the submodules
    # writers needs, and mapfiles's, come along).
    assert report["lazy loaded after"] == sorted(LAZY)
    assert report["modules"] == ["module"] * len(LAZY)
    assert report["unknown"] == "module 'lazyarray' has no attribute 'no_such_name'"


@pytest.mark.parametrize("name, module", [
    ("map_files", "lazyarray.mapfiles"),
    ("FileResult", "lazyarray.mapfiles"),
    ("iter_batches", "lazyarray.sampling"),
    ("to_hdf5", "lazyarray.writers"),
    ("to_zarr", "lazyarray.writers"),
])
def test_lazy_names_are_their_modules_objects(name: str, module: str) -> None:
    # In this process they are loaded already; the object is the module's own.
    assert getattr(la, name) is getattr(sys.modules[module], name)
    assert name in la.__all__ and name in dir(la)


def test_dir_lists_every_public_name_and_the_lazy_submodules() -> None:
    listed = dir(la)
    assert listed == sorted(listed)
    assert set(la.__all__) <= set(listed)
    assert {m.split(".")[1] for m in LAZY} <= set(listed)


def test_modules_another_thread_is_still_importing_are_not_taken_as_loaded(monkeypatch):
    # While a thread imports numpy.ma, Zarr or distributed, the module is in
    # sys.modules without its classes (partially initialised); a reduction in
    # another thread asking whether its block is masked, or whether a
    # scheduler is a distributed Client, must not fail on the missing names.
    for name in ("numpy.ma.core", "zarr", "distributed", "numba"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    data = np.arange(12.0).reshape(3, 4)
    got = la.ndarrays([la.mean(data, 0), la.asarray(data)[1:] * 2], memory_limit=64)
    expected = [np.mean(data, 0), data[1:] * 2]
    for result, wanted in zip(got, expected):
        assert (result.shape, result.dtype) == (wanted.shape, wanted.dtype)
        np.testing.assert_array_equal(result, wanted)
    with pytest.raises(TypeError, match="scheduler must be"):
        la.mean(data, 0).ndarray(scheduler=object())
