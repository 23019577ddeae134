"""Graphs of any depth plan, evaluate, index and pickle (issue 13, point 4).

Chains of 10 000 operations and sums of 10 000 terms (2 000 outside the
slow tests) used to raise
``RecursionError`` at planning, evaluation and pickling: every walk over a
graph was recursive. Each test builds the same computation with numpy, one
operation at a time, as the oracle: the same operations in the same order
give the same bits.
"""

from __future__ import annotations

import pickle
import sys

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.testing import InaccessibleArray, assert_array_equal

#: Depths: well past the old limit (about 500) in make test, the issue's 10 000
#: with the slow tests.
DEPTHS = [2_000, pytest.param(10_000, marks=pytest.mark.slow)]
DEPTH = 3_000


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_chain_of_additions_evaluates_and_pickles(depth):
    data = np.arange(12.0).reshape(3, 4)
    lazy, expected = la.asarray(data), data
    for _ in range(depth):
        lazy, expected = lazy + 1.0, expected + 1.0
    assert sys.getrecursionlimit() < depth  # else this would prove nothing
    assert_array_equal(lazy.ndarray(), expected)
    assert_array_equal(lazy[1:, ::-2].ndarray(), expected[1:, ::-2])
    mean, std = la.ndarrays([la.mean(lazy, axis=0), la.std(lazy, axis=1)])
    assert_array_equal(mean, expected.mean(axis=0))
    np.testing.assert_allclose(std, expected.std(axis=1), rtol=1e-12)
    again = pickle.loads(pickle.dumps(lazy))
    assert again.shape == expected.shape and again.dtype == expected.dtype
    assert_array_equal(again.ndarray(), expected)


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_sum_of_sources_evaluates_and_pickles(depth):
    rng = np.random.default_rng(13)
    terms = [rng.integers(-100, 100, size=5, dtype=np.int64) for _ in range(depth)]
    total, expected = la.asarray(terms[0]), terms[0]
    for term in terms[1:]:
        total, expected = total + la.asarray(term), expected + term
    assert_array_equal(total.ndarray(), expected)
    assert_array_equal(la.sum(total).ndarray(), expected.sum())
    assert_array_equal(pickle.loads(pickle.dumps(total)).ndarray(), expected)


def test_a_sum_of_many_hdf5_datasets_is_one_graph_that_saves(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "terms.h5"
    with h5py.File(path, "w") as f:
        for n in range(600):
            f.create_dataset(f"t{n}", data=rng.random((4, 3)).astype("f4"))
    with h5py.File(path, "r") as f:
        total, expected = None, None
        for n in range(600):
            term = f[f"t{n}"]
            total = la.asarray(term) if total is None else total + la.asarray(term)
            expected = term[...] if expected is None else expected + term[...]
        la.to_hdf5(tmp_path / "out.h5", {"total": total})
        unpickled = pickle.loads(pickle.dumps(total))
    with h5py.File(tmp_path / "out.h5", "r") as out:
        saved = out["total"][...]
    assert saved.dtype == expected.dtype
    assert_array_equal(saved, expected)
    assert_array_equal(unpickled.ndarray(), expected)


def _deep_mixed(source: la.Array, data: np.ndarray, depth: int):
    """``source`` and ``data`` through ``depth`` steps of every node kind."""
    xp = np.ma if isinstance(data, np.ma.MaskedArray) else np
    lazy, expected = source, data
    for step in range(depth):
        kind = step % 6
        if kind == 0:
            lazy, expected = lazy * 1.5 - 2.0, expected * 1.5 - 2.0
        elif kind == 1:
            lazy, expected = lazy.T.T, expected.T.T
        elif kind == 2:
            lazy = la.LinearMosaic([lazy[:1], lazy[1:]], axis=0)
            expected = xp.concatenate([expected[:1], expected[1:]], axis=0)
        elif kind == 3:
            lazy, expected = la.ArrayStack([lazy])[0], xp.stack([expected])[0]
        elif kind == 4:
            keep = np.arange(data.size).reshape(data.shape) % 5 != 0
            lazy, expected = la.where(keep, lazy, -1.0), xp.where(keep, expected, -1.0)
        else:
            lazy, expected = lazy[::-1] / 1.25, expected[::-1] / 1.25
    return lazy, expected


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_deep_graphs_of_every_node_kind_evaluate_index_and_pickle(masked):
    data = np.arange(24.0).reshape(4, 6) - 10
    source = np.ma.masked_array(data, mask=data % 7 == 0) if masked else data
    lazy, expected = _deep_mixed(la.asarray(source), source, 600)
    assert_array_equal(lazy.masked_array(), np.ma.asarray(expected), masked=True)
    assert_array_equal(la.masked_arrays([la.max(lazy, axis=1)])[0],
                       np.ma.asarray(expected).max(axis=1), masked=True)
    assert_array_equal(lazy[2:, 1::3].masked_array(), np.ma.asarray(expected)[2:, 1::3],
                       masked=True)
    again = pickle.loads(pickle.dumps(lazy))
    assert type(again) is type(lazy) and again.masked == lazy.masked
    assert_array_equal(again.masked_array(), np.ma.asarray(expected), masked=True)


def test_aggregations_inside_a_deep_chain_are_computed_in_stages():
    data = np.linspace(0, 1, 20).reshape(4, 5)
    lazy, expected = la.asarray(data), data
    for step in range(2000):
        if step % 500 == 250:
            lazy, expected = lazy - la.mean(lazy, axis=0), expected - expected.mean(axis=0)
        else:
            lazy, expected = lazy + 0.5, expected + 0.5
    np.testing.assert_allclose(lazy.ndarray(), expected, rtol=1e-12, atol=1e-12)


def test_building_and_indexing_a_deep_graph_reads_nothing():
    lazy = la.asarray(InaccessibleArray((50, 40), np.float32))
    for _ in range(DEPTH):
        lazy = lazy * 2.0
    selected = lazy[3:10, ::4][1]
    assert selected.shape == (10,) and selected.dtype == (np.ones(1, np.float32) * 2.0).dtype
    pickle.loads(pickle.dumps(selected))
    plan = la.plan([la.mean(selected)])
    assert plan.read_bytes == 10 * 4


def test_every_node_kind_pickles_by_its_graph():
    """Pickling goes through the flat form for every kind of node, deep or not."""
    data = np.arange(30, dtype="i4").reshape(5, 6)
    x = la.asarray(np.ma.masked_array(data, mask=data % 4 == 1, fill_value=-7))
    nodes = {
        "elementwise": x * 3 + 1,
        "masked elementwise": la.where(x > 4, x, 0),
        "view": x.T[::2],
        "broadcast": la.broadcast_to(x[0], (3, 6)),
        "fill value": la.LinearMosaic([x[:2], x[2:]], axis=0)[3],
        "mosaic": la.LinearMosaic([x[:2] * 2, x[2:]], axis=0),
        "stack": la.ArrayStack([x, x + 1]),
        "aggregation": la.mean(x, axis=0),
        "aggregation of aggregation": la.max(x - la.mean(x, axis=0), axis=1),
    }
    for name, node in nodes.items():
        again = pickle.loads(pickle.dumps(node))
        assert type(again) is type(node), name
        assert (again.shape, again.dtype, again.masked) == (node.shape, node.dtype, node.masked)
        want = node.masked_array()
        assert_array_equal(again.masked_array(), want, masked=True)
        assert again.fill_value == node.fill_value, name


def test_a_node_used_by_several_is_computed_once():
    """``y = y * y`` repeated: each level uses the one below twice. Evaluated
    once per use, 40 levels would take 2**40 evaluations."""
    data = np.linspace(0.1, 0.9, 12).reshape(3, 4)
    lazy, expected = la.asarray(data), data
    for _ in range(40):
        lazy, expected = lazy * lazy * 0.5 + 0.25, expected * expected * 0.5 + 0.25
    assert_array_equal(lazy.ndarray(), expected)
    assert_array_equal(lazy[1:, ::2].ndarray(), expected[1:, ::2])
    np.testing.assert_allclose(la.std(lazy, axis=0).ndarray(), expected.std(axis=0), rtol=1e-12)
    square = la.asarray(data) + 1.0
    selected = (square * square)[1:]
    assert selected.inputs[0] is selected.inputs[1]  # still one node once selected
    masked = np.ma.masked_array(data, mask=data > 0.6)
    lazy, expected = la.asarray(masked), masked
    for _ in range(30):
        lazy, expected = lazy * lazy * 0.5 + 0.25, expected * expected * 0.5 + 0.25
    assert_array_equal(lazy.masked_array(), expected, masked=True)
