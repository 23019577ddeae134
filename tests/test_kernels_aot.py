"""Tests of :mod:`lazyarray.kernelcache`: the fused kernels compiled ahead of time.

A small build (three exports, float64 data) is made once in a temporary
folder; its exports must give the very bits numba's JIT gives for the same
kernels, and values numpy (the oracle) agrees with; the dispatch must pick
an export exactly when one fits the call; a new process must reduce through
the build without importing numba, and a small first reduction without any
build must not import numba either. Builds are slow (the small one takes 10 to
20 s of one core, every export minutes): the tests that need one run with
the slow tests (``make test-all``); those that need none run in ``make test``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lazyarray as la
from lazyarray import kernelcache, kernels
from lazyarray.cli import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                reason="needs numba: pip install lazyarray[fast]")

#: The exports of the small build (each costs it seconds): the masked nan
#: forms of every statistic, by blocks and by running update, of float64 data.
VARIANTS = ("sweep_outer_11", "into_11111")
F8 = np.dtype(np.float64)


#: Tests that need a build (the fixtures below).
needs_a_build = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The cache root holding the small build (compiled in this process: a few seconds)."""
    root = tmp_path_factory.mktemp("kernels")
    folder = kernelcache.build(root, dtypes=["f8"], variants=VARIANTS, jobs=1)
    return root, folder


@pytest.fixture
def using(built, monkeypatch):
    """The small build made this process's (and its children's) kernel cache."""
    root, _ = built
    monkeypatch.setenv(kernelcache.ENVIRONMENT, str(root))
    kernelcache.forget()
    yield root
    monkeypatch.delenv(kernelcache.ENVIRONMENT)
    kernelcache.forget()


def sweep_arguments(data, mask, layout, A, R, B, extremes=True, deviations=True):
    """The arguments of a sweep of ``data`` (flat) with fresh outputs, as fused.py passes them."""
    n = A * B
    outputs = [np.zeros(n, np.int64), np.zeros(n), np.full(n, np.inf), np.full(n, -np.inf),
               np.zeros(n), np.zeros(n)]
    if layout == "outer":
        strides = (R * B, B)
    else:
        strides = (R, 1)
    flat = data.reshape(-1)
    flat.flags.writeable = False
    flat_mask = mask.reshape(-1) if mask is not None else np.zeros(1, bool)
    return (flat, flat_mask, A, R, B, *strides, *(strides if mask is not None else (0, 0)),
            *outputs, extremes, deviations)


def random_block(seed, shape, nan_rate=0.1, mask_rate=0.2):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape) * 100 + 30
    data[rng.random(shape) < nan_rate] = np.nan
    mask = rng.random(shape) < mask_rate
    return data, mask


@needs_a_build
@pytest.mark.parametrize("nan_rate, mask_rate", [(0.0, 0.0), (0.1, 0.2), (0.0, 0.5)])
def test_exports_give_the_jit_bits_and_numpy_values(using, nan_rate, mask_rate):
    A, R, B = 3, 37, 40
    data, mask = random_block(1, (A, R, B), nan_rate, mask_rate)
    kernel = kernels.sweep("outer", True, True)
    arguments = sweep_arguments(data, mask, "outer", A, R, B)
    source, export = kernel.choose(*arguments)
    assert source == "aot"
    export(*arguments)
    again = sweep_arguments(data, mask, "outer", A, R, B)
    kernel.jit()(*again)
    for got, expected in zip(arguments[9:15], again[9:15]):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))

    count, total, low, high, _, m2 = arguments[9:15]
    valid = ~np.isnan(data) & ~mask
    oracle = np.ma.masked_array(data, ~valid)
    np.testing.assert_array_equal(count, valid.sum(1).reshape(-1))
    np.testing.assert_allclose(total, oracle.sum(1).filled(0).reshape(-1), rtol=1e-12,
                               atol=1e-9)
    np.testing.assert_array_equal(low, oracle.min(1).filled(np.inf).reshape(-1))
    np.testing.assert_array_equal(high, oracle.max(1).filled(-np.inf).reshape(-1))
    centre = oracle.mean(1)
    np.testing.assert_allclose(m2, ((oracle - centre[:, None]) ** 2).sum(1).filled(0).reshape(-1),
                               rtol=1e-10)


@needs_a_build
def test_running_update_export_gives_the_jit_bits(using):
    A, R, B = 2, 9, 24
    data, mask = random_block(2, (A, R, B))
    kernel = kernels.into(True, True, True, True, True)

    def arguments():
        flat = data.reshape(-1)
        flat.flags.writeable = False
        n = A * B
        return (flat, mask.reshape(-1), A, R, B, R * B, B, R * B, B, np.zeros(n, np.int64),
                np.full(n, 5.0), np.full(n, np.inf), np.full(n, -np.inf),
                np.full(n, 3, np.int64), 1, np.full(n, 1.5), np.full(n, 2.0),
                np.zeros(kernels.STRIP), np.zeros(kernels.STRIP), np.zeros(kernels.STRIP))

    first, second = arguments(), arguments()
    source, export = kernel.choose(*first)
    assert source == "aot"
    export(*first)
    kernel.jit()(*second)
    for got, expected in zip(first[9:17], second[9:17]):
        if isinstance(got, np.ndarray):
            np.testing.assert_array_equal(got.view(np.int64), expected.view(np.int64))
    valid = ~np.isnan(data) & ~mask
    np.testing.assert_array_equal(first[9], valid.sum(1).reshape(-1))
    np.testing.assert_allclose(first[10], 5.0 + np.where(valid, data, 0).sum(1).reshape(-1),
                               rtol=1e-12)


@needs_a_build
def test_reductions_through_the_build_equal_numpy(using):
    data, mask = random_block(3, (50, 40))
    block = np.ma.masked_array(data, mask)
    lazies = [la.nanmean(block, 0), la.nanstd(block, 0), la.nanmax(block, 0)]
    got = [x.masked_array(kernels="numba") for x in lazies]
    oracle = np.ma.masked_array(data, mask | np.isnan(data))
    for result, expected in zip(got, (oracle.mean(0), oracle.std(0), oracle.max(0))):
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_allclose(result.filled(np.nan), expected.filled(np.nan), rtol=1e-12)


@needs_a_build
def test_dispatch_falls_back_to_the_jit_without_a_fitting_export(using):
    kernel = kernels.sweep("outer", True, True)
    data, mask = random_block(4, (3, 20))
    arguments = list(sweep_arguments(data, mask, "outer", 1, 3, 20))
    assert kernel.choose(*arguments)[0] == "aot"
    data32 = data.astype(np.float32)
    assert kernel.choose(*sweep_arguments(data32, mask, "outer", 1, 3, 20))[0] == "jit"
    strided = np.zeros(40)[::2]  # an export would read it as contiguous
    arguments[10] = strided
    assert kernel.choose(*arguments)[0] == "jit"
    arguments[10] = np.zeros(20, np.float32)  # another total dtype
    assert kernel.choose(*arguments)[0] == "jit"
    for other in (kernels.sweep("outer", False, False), kernels.sweep("inner", True, True)):
        # Variants not in the build.
        layout = other.flags[0]
        shape = (1, 3, 20) if layout == "outer" else (3, 20, 1)
        assert other.choose(*sweep_arguments(data, mask, layout, *shape))[0] == "jit"
    # The dispatch runs what it chose: the JIT's kernel gives numpy's values.
    kernel(*sweep_arguments(data32, mask, "outer", 1, 3, 20))


def run_fresh(code, root):
    """Run ``code`` in a new interpreter with ``root`` as the kernel cache; its output lines."""
    env = dict(os.environ, **{kernelcache.ENVIRONMENT: str(root)})
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout.split()


@needs_a_build
def test_a_new_process_reduces_through_the_build_without_numba(built, monkeypatch, tmp_path):
    monkeypatch.setenv(kernelcache.ENVIRONMENT, str(tmp_path))  # no build here: the JIT's
    kernelcache.forget()
    data = np.random.default_rng(5).standard_normal((300, 200)) * 100 + 30
    mask = np.random.default_rng(6).random(data.shape) < 0.3
    try:
        expected = la.nanmean(np.ma.masked_array(data, mask), 0).masked_array(
            kernels="numba", chunk_bytes=2**30).filled(np.nan)
    finally:
        kernelcache.forget()
    code = """
        import sys, numpy as np, lazyarray as la
        data = np.random.default_rng(5).standard_normal((300, 200)) * 100 + 30
        mask = np.random.default_rng(6).random(data.shape) < 0.3
        result = la.nanmean(np.ma.masked_array(data, mask), 0).masked_array(
            kernels="numba", chunk_bytes=2**30).filled(np.nan)
        print("numba" in sys.modules, result.dtype, result.shape[0], result.tobytes().hex())
    """
    imported, dtype, length, bits = run_fresh(code, built[0])
    assert (imported, dtype, int(length)) == ("False", "float64", 200)
    assert bits == expected.tobytes().hex()  # the bits of the JIT, in this process
    np.testing.assert_allclose(expected, np.ma.masked_array(data, mask).mean(0), rtol=1e-12)


def test_a_small_first_reduction_does_not_wait_for_numba(tmp_path):
    code = """
        import sys, numpy as np, lazyarray as la
        data = np.arange(10000.0).reshape(100, 100) % 7
        mean = la.mean(data, 0).ndarray()
        std = la.nanstd(data, 1).ndarray()
        print("numba" in sys.modules, np.array_equal(mean, data.mean(0)),
              np.allclose(std, np.nanstd(data, 1), rtol=1e-12), mean.dtype, std.shape[0])
    """
    assert run_fresh(code, tmp_path) == ["False", "True", "True", "float64", "100"]


@needs_a_build
def test_the_build_is_found_by_its_key_and_kept(using, built, tmp_path, monkeypatch):
    root, folder = built
    assert kernelcache.build_folder(root) == folder
    key = kernelcache.current_key(root)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["key"] == {name: getattr(key, name) for name in manifest["key"]}
    assert sorted(manifest["exports"]) == sorted(e.name for e in kernelcache.every_export(
        ["f8"], VARIANTS))
    # Up to date: kept, not compiled again; nothing else left in the root.
    assert kernelcache.build(root, dtypes=["f8"], variants=VARIANTS, jobs=1) == folder
    assert kernelcache.build(root, dtypes=["f8"], variants=VARIANTS[:1], jobs=1) == folder
    assert sorted(p.name for p in root.iterdir()) == sorted(["cpus", folder.name])
    # Another source of the kernels: another key, and no build for it.
    changed = tmp_path / "kernels.py"
    changed.write_text(kernelcache._SOURCE.read_text() + "\n# changed\n")
    monkeypatch.setattr(kernelcache, "_SOURCE", changed)
    kernelcache.forget()
    other = kernelcache.current_key(root)
    assert other is not None and other.source != key.source
    assert other.folder_name() != key.folder_name()
    assert kernelcache.build_folder(root) is None and kernelcache.exports() == frozenset()
    assert kernels.sweep("outer", True, True).choose(*sweep_arguments(
        np.ones((2, 20)), np.zeros((2, 20), bool), "outer", 1, 2, 20))[0] == "jit"


def test_every_export_covers_what_fused_calls():
    names = {e.name for e in kernelcache.every_export()}
    assert "sweep_inner_11_f4_f8" in names and "into_00101_u1_f8" in names
    assert "sweep_outer_01_i4_i8" not in names  # integers have no NaN to skip
    assert "into_00010_f8_f8" not in names  # plain extremes alone stay with numpy
    assert len(names) == len(kernelcache.every_export())


def test_build_kernels_command_says_what_is_wrong(capsys):
    assert main(["build-kernels", "--dtypes", "f4,x9"]) == 2
    assert "expected dtypes among" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 324 kernels: about 330 s on 2 cores, beyond the default 300
def test_every_export_builds_and_loads(tmp_path, monkeypatch):
    folder = kernelcache.build(tmp_path, jobs=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(manifest["exports"]) == len(kernelcache.every_export())
    monkeypatch.setenv(kernelcache.ENVIRONMENT, str(tmp_path))
    kernelcache.forget()
    try:
        for dtype in ("f4", "i2", "u1"):
            data = (np.arange(40 * 50) % 11).astype(dtype).reshape(40, 50)
            for name in ("mean", "std", "max", "sum"):
                got = getattr(la, name)(data, 0).ndarray(kernels="numba")
                expected = getattr(np, name)(data, 0)
                assert got.dtype == expected.dtype or name in ("mean", "std")
                np.testing.assert_allclose(got, expected, rtol=1e-6)
        assert all(kernelcache.find_export(name) is not None for name in manifest["exports"])
    finally:
        kernelcache.forget()
