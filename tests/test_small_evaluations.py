"""Small evaluations run at once in the caller's thread, with the executor's results.

A graph that fits one tile (``lazyarray.execution.evaluate.AT_ONCE_BYTES``) is evaluated
without a plan or worker threads. Its results must be the executor's to
the bit: the executor's path is forced here by asking for progress events,
which the shortcut does not report.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from examples import examples
from graph_strategies import Sources, graphs
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import quiet
from test_random_graphs import aggregations, check, expected_result

import lazyarray as la
from lazyarray.graph import rewrite, summary


def through_the_executor(nodes: list[la.Array], masked: bool) -> list[np.ndarray]:
    realise = la.masked_arrays if masked else la.ndarrays
    return realise(nodes, progress=lambda event: None)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("small") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


@settings(max_examples=examples(60, 150), deadline=None)
@given(data=st.data())
def test_small_graphs_give_the_executor_s_results_bit_for_bit(sources: Sources,
                                                              data: st.DataObject) -> None:
    lazy, realised = data.draw(graphs(sources), label="graph")
    nodes, wanted = [lazy], [(None, realised, True)]
    for _ in range(data.draw(st.integers(0, 3), label="aggregations")):
        name, axis, kwargs = data.draw(aggregations(realised.ndim), label="aggregation")
        expected, exact = expected_result(name, realised, axis, kwargs)
        if not isinstance(expected, Exception):
            nodes.append(getattr(la, name)(lazy, axis, **kwargs))
            wanted.append((name, expected, exact))
    if data.draw(st.booleans(), label="repeat a result"):
        nodes.append(nodes[-1])
        wanted.append(wanted[-1])
    masked = data.draw(st.booleans(), label="masked")
    with quiet():
        at_once = (la.masked_arrays if masked else la.ndarrays)(nodes)
        executed = through_the_executor(nodes, masked)
    for (name, expected, exact), mine, theirs in zip(wanted, at_once, executed):
        assert type(mine) is type(theirs)
        assert (mine.shape, mine.dtype) == (theirs.shape, theirs.dtype)
        # Masked points hold anything: the same masks, and the same values elsewhere.
        shown = np.ma.getmaskarray(mine)
        np.testing.assert_array_equal(shown, np.ma.getmaskarray(theirs))
        np.testing.assert_array_equal(np.ma.getdata(mine)[~shown], np.ma.getdata(theirs)[~shown])
        # And numpy's values, on plain data (in masked mode, numpy.ma masks
        # invalid results, which a reduction then skips: not numpy's values).
        if masked:
            continue
        if name is None:
            np.testing.assert_array_equal(mine, expected)
        else:
            check(name, mine, expected, exact, realised)


def test_a_reduction_of_a_reduction_is_planned_in_stages() -> None:
    # mean(x - mean(x)) needs the inner mean before the outer one's pass:
    # not small, whatever its size; the executor plans it.
    data = np.arange(12.0).reshape(3, 4)
    x = la.asarray(data)
    centred = la.mean(x - la.mean(x, axis=0), axis=1)
    [value] = la.ndarrays([centred])
    np.testing.assert_array_equal(value, np.mean(data - np.mean(data, axis=0), axis=1))


def test_small_evaluations_still_refuse_closed_files(tmp_path: Any) -> None:
    path = tmp_path / "closed.h5"
    with h5py.File(path, "w") as file:
        file["x"] = np.arange(4.0)
        lazy = la.asarray(file["x"])
    with pytest.raises(la.ClosedFileError):
        lazy.ndarray()


def test_results_of_small_evaluations_belong_to_the_caller_alone() -> None:
    data = np.arange(12.0).reshape(3, 4)
    x = la.asarray(data)
    graph = x * 2 + 1
    first, second = la.ndarrays([graph, graph])
    assert first is not second and not np.shares_memory(first, second)
    again = graph.ndarray()
    first[...] = -1  # the caller's to change: nothing else sees it
    np.testing.assert_array_equal(second, data * 2 + 1)
    np.testing.assert_array_equal(again, data * 2 + 1)
    np.testing.assert_array_equal(graph.ndarray(), data * 2 + 1)
    plain = x.ndarray()  # a source's values are copied, never handed out
    plain[...] = 0
    np.testing.assert_array_equal(data, np.arange(12.0).reshape(3, 4))
    assert second.flags.c_contiguous and second.dtype == np.float64


@pytest.mark.parametrize("key", [np.zeros(50_000, int), slice(2, 5), (np.array([3, 3, 1]),)])
def test_a_view_of_an_evaluated_source_does_not_inherit_its_size(key):
    # A view starts as a copy of its adapter: what was cached for the
    # parent's key (the graph summary that decides whether a graph is small
    # enough to evaluate at once) must not carry over to the view.
    data = np.arange(10.0)
    parent = la.asarray(data)
    np.testing.assert_array_equal(parent.ndarray(), data)
    view, fresh = parent[key], la.asarray(data)[key]
    assert summary(view) == summary(fresh)
    assert summary(view).nbytes == data[key].nbytes
    got = view.ndarray(memory_limit=2**16)
    assert (got.shape, got.dtype) == (data[key].shape, data[key].dtype)
    np.testing.assert_array_equal(got, data[key])


def test_a_container_given_new_inputs_does_not_keep_the_old_graph_s_size():
    # rewrite() gives a container its new input through a copy of it (a
    # subclass keeps its own state): the old graph's summary must not follow.
    small, large = np.arange(4.0), np.arange(60_000.0)
    container = la.ArrayContainer(la.asarray(small))
    np.testing.assert_array_equal(container.ndarray(), small)
    rewritten = rewrite(container, {id(container.inputs[0]): la.asarray(large)})
    assert summary(rewritten) == summary(la.ArrayContainer(la.asarray(large)))
    got = rewritten.ndarray(memory_limit=2**16)
    assert (got.shape, got.dtype) == (large.shape, large.dtype)
    np.testing.assert_array_equal(got, large)
