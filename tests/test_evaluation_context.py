"""Evaluating regions of a graph with a context built by hand, as an outside engine would.

The executor is one user of :class:`lazyarray.context.EvaluationContext`;
anything else that holds a graph (a Dask task, a generator of tiles) builds
its own context, in its own thread or process, and asks for regions. Those
regions must equal what :meth:`~lazyarray.Array.ndarray` gives, and what
numpy gives on the same data.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from graph_strategies import Sources, graphs
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import quiet

import lazyarray as la
from lazyarray.buffers import BufferPool
from lazyarray.context import EvaluationContext
from lazyarray.options import Options


@st.composite
def regions(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """A block of ``shape``: a slice of positive step along each axis."""
    region = []
    for n in shape:
        start = draw(st.integers(0, n))
        region.append(slice(start, draw(st.integers(start, n))))
    return tuple(region)


@st.composite
def evaluated(draw: st.DrawFn, sources: Sources) -> tuple[la.Array, np.ndarray, list[Any]]:
    """A random graph (sometimes under a mean), its numpy value, and regions of it."""
    lazy, expected = draw(graphs(sources))
    if expected.ndim and expected.dtype.kind in "fiu" and draw(st.booleans()):
        axis = draw(st.integers(0, expected.ndim - 1))
        with quiet():
            # lazyarray sums floats in float64 (numpy sums float32 in float32,
            # which loses more than the tolerance below where values cancel).
            dtype = np.mean(expected[(slice(0, 1),) * expected.ndim], axis=axis).dtype
            lazy = la.mean(lazy, axis=axis)
            expected = np.mean(expected, axis=axis, dtype=np.float64).astype(dtype)
    picked = draw(st.lists(regions(expected.shape), min_size=1, max_size=3))
    return lazy, expected, picked


def options(data: st.DataObject) -> Options:
    """Options with each fast path (kernels, direct reads) on or off."""
    return Options(kernels=data.draw(st.sampled_from(["auto", "numpy"]), label="kernels"),
                   direct_io=data.draw(st.booleans(), label="direct_io"))


def check(values: list[np.ndarray], lazy: la.Array, expected: np.ndarray,
          picked: list[Any]) -> None:
    with quiet():
        whole = lazy.ndarray()
    for value, region in zip(values, picked):
        assert type(value) is np.ndarray
        assert (value.shape, value.dtype) == (expected[region].shape, expected.dtype)
        # The executor evaluates the same nodes with the same kernels: equal
        # to the bit, except a mean, whose tiles the executor may cut otherwise.
        if expected.dtype.kind == "f" and lazy.reduced_axes is not None:
            np.testing.assert_allclose(value, whole[region], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(value, expected[region], rtol=1e-6, atol=1e-9)
        else:
            np.testing.assert_array_equal(value, whole[region])
            np.testing.assert_array_equal(value, expected[region])


# -- in a thread of its own -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("context") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


def evaluate_in_a_new_thread(lazy: la.Array, picked: list[Any], chosen: Options,
                             pooled: bool) -> list[np.ndarray]:
    """The regions, evaluated in a fresh thread with a context made there."""
    found: list[Any] = []

    def work() -> None:
        try:
            context = EvaluationContext(chosen, buffers=BufferPool() if pooled else None)
            with quiet():
                # Copies: a lent buffer belongs to the context's pool.
                found.extend(np.array(context.evaluate(lazy, region)) for region in picked)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            found.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    for value in found:
        if isinstance(value, BaseException):
            raise value
    return found


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_regions_evaluated_in_a_fresh_thread_equal_ndarray(sources: Sources,
                                                           data: st.DataObject) -> None:
    lazy, expected, picked = data.draw(evaluated(sources), label="graph")
    pooled = data.draw(st.booleans(), label="pooled")
    values = evaluate_in_a_new_thread(lazy, picked, options(data), pooled)
    check(values, lazy, expected, picked)


def test_a_context_is_explicit_not_ambient() -> None:
    # Options come from the context, never from set_options around the call.
    source = la.asarray(np.arange(10.0)) * 2
    context = EvaluationContext(Options(kernels="numpy"))
    with la.set_options(kernels="numba", direct_io=False):
        assert context.options.kernels == "numpy" and context.options.direct_io
        np.testing.assert_array_equal(context.evaluate(la.sum(source)), np.sum(np.arange(10.0) * 2))


# -- in another process ------------------------------------------------------------------


@pytest.fixture(scope="module")
def by_path(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    folder = tmp_path_factory.mktemp("context_by_path")
    return Sources(None, zarr.open_group(str(folder / "store.zarr"), mode="w"), folder=folder)


@pytest.fixture(scope="module")
def other_process() -> Any:
    # spawn: a process that shares nothing with this one but the pickled graph.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def evaluate_pickled(graph: bytes, picked: list[Any], chosen: Options) -> list[np.ndarray]:
    """Run in the other process: unpickle the graph, build a context, evaluate the regions."""
    lazy = pickle.loads(graph)
    context = EvaluationContext(chosen)
    with quiet():
        return [np.array(context.evaluate(lazy, region)) for region in picked]


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_regions_evaluated_in_another_process_equal_ndarray(by_path: Sources, other_process: Any,
                                                            data: st.DataObject) -> None:
    lazy, expected, picked = data.draw(evaluated(by_path), label="graph")
    chosen = options(data)
    values = other_process.submit(evaluate_pickled, pickle.dumps(lazy), picked, chosen).result()
    check(values, lazy, expected, picked)
