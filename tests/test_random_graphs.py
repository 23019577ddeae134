"""Random graphs under every aggregation: lazyarray equals numpy on the realised input.

A graph generator builds a lazy array and, step by step, the numpy array it
stands for: sources (numpy, HDF5, Zarr), keys of every kind, transposes,
mosaics and concatenations, stacks, and elementwise maths with scalars and
with other (broadcast) sources. Each aggregation is then taken over random
axes (int, negative, tuple, ``None``) with random ``keepdims`` and ``ddof``,
and evaluated with random ``chunk_bytes`` (tiny to large, so many tiles) and
``workers``, together with another aggregation and the graph itself, in one
call.

Exact results (integer results, extremes, counts, positions, truth values) must
equal numpy's bit for bit; float results must equal numpy's computed on the
input widened to float64 (complex128), to ``rtol=1e-6``. Declared and realised
dtypes must be numpy's on the original input. When numpy refuses (the minimum
of nothing, an all-NaN ``nanargmin``), lazyarray must raise the same error.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import zarr
from examples import examples
from graph_strategies import Sources, graphs
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import quiet

import lazyarray as la

ALL = ["sum", "nansum", "prod", "nanprod", "mean", "nanmean", "std", "nanstd", "var", "nanvar",
       "min", "nanmin", "max", "nanmax", "ptp", "count", "any", "all", "argmin", "nanargmin",
       "argmax", "nanargmax"]
#: Statistics whose values are exact whatever the dtype: they pick, count or compare.
PICKING = {"min", "nanmin", "max", "nanmax", "ptp", "count", "any", "all", "argmin", "nanargmin",
           "argmax", "nanargmax"}
POSITIONAL = {"argmin", "nanargmin", "argmax", "nanargmax"}
WITH_DDOF = {"std", "nanstd", "var", "nanvar"}
CHUNK_BYTES = [1, 8, 24, 64, 200, 1000, 2**20]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    path = tmp_path_factory.mktemp("random_graphs") / "sources.h5"
    with h5py.File(path, "w") as handle:
        yield Sources(handle, zarr.open_group(zarr.storage.MemoryStore(), mode="w"))


# -- aggregations ---------------------------------------------------------------------------


@st.composite
def aggregations(draw, ndim, name=None):
    """A reduction and its arguments: (name, axis, keywords)."""
    if name is None:
        name = draw(st.sampled_from(ALL))
    if name in POSITIONAL or draw(st.integers(0, 3)) == 0:
        axis = draw(st.none() | st.integers(-ndim, ndim - 1)) if ndim else None
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]  # negative too
        axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
    kwargs = {"keepdims": draw(st.booleans())}
    if name in WITH_DDOF:
        kwargs["ddof"] = draw(st.sampled_from([0, 1, 2, 0.5]))
    return name, axis, kwargs


def numpy_count(data, axis, keepdims=False):
    """numpy.ma.count of data with no mask: the number of elements reduced (as
    an intp); numpy.ma.count itself refuses ``axis=()`` on 0-d arrays."""
    return np.sum(np.ones(data.shape, np.intp), axis=axis, keepdims=keepdims)


def numpy_reduce(name, data, axis, kwargs):
    func = numpy_count if name == "count" else getattr(np, name)
    return np.asarray(func(data, axis=axis, **kwargs))


def expected_result(name, data, axis, kwargs):
    """numpy's result (or its exception) and whether it is compared exactly."""
    with quiet():
        try:
            result = numpy_reduce(name, data, axis, kwargs)
        except Exception as error:  # noqa: BLE001 - numpy's verdict decides
            return error, True
        if name in PICKING or data.dtype.kind not in "fc" and result.dtype.kind in "biu":
            return result, True
        wide = data.astype(np.complex128 if data.dtype.kind == "c" else np.float64)
        return numpy_reduce(name, wide, axis, kwargs).astype(result.dtype), False


def check(name, actual, expected, exact, data):
    assert type(actual) is np.ndarray, (name, type(actual))
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype), name
    if exact:
        np.testing.assert_array_equal(actual, expected, err_msg=name)
        return
    # Tolerances: relative, and absolute at the scale of the data for results
    # that cancel (a variance of ~0, a sum of ~0).
    magnitudes = np.abs(data[np.isfinite(data)])
    scale = max(1.0, float(magnitudes.max())) if magnitudes.size else 1.0
    atol = 1e-9 * scale ** (2 if "var" in name else 1)
    if expected.dtype.kind == "c" and name in ("prod", "nanprod"):
        # numpy's complex products of infinities depend on how they are grouped
        # (its own reduce of the one element -inf+infj is nan+nanj): only
        # whether a product is finite is defined there.
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(np.isfinite(actual), finite, err_msg=name)
        actual, expected = actual[finite], expected[finite]
    if expected.dtype.kind == "c":  # assert_allclose cannot match complex infinities
        for part in (np.real, np.imag):
            np.testing.assert_allclose(part(actual), part(expected), rtol=1e-6, atol=atol,
                                       err_msg=name)
        return
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=atol, err_msg=name)


@settings(max_examples=examples(6, 100))
@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_every_aggregation_of_random_graphs_equals_numpy(sources, name, data):
    lazy, realised = data.draw(graphs(sources), label="graph")
    first = data.draw(aggregations(realised.ndim, name), label="aggregation")
    second = data.draw(aggregations(realised.ndim), label="another aggregation")
    options = {"chunk_bytes": data.draw(st.sampled_from(CHUNK_BYTES), label="chunk_bytes"),
               "workers": data.draw(st.integers(1, 3), label="workers")}
    # The fast paths (fused kernels, direct reads of HDF5 and Zarr chunks),
    # each on or off; the results are also compared with every one off.
    paths = {"kernels": data.draw(st.sampled_from(["auto", "numpy"]), label="kernels"),
             "direct_io": data.draw(st.booleans(), label="direct_io")}

    built, wanted = [], []
    for reduction, axis, kwargs in (first, second):
        expected, exact = expected_result(reduction, realised, axis, kwargs)
        if isinstance(expected, Exception):
            # numpy refuses: building or evaluating must raise the same error.
            with pytest.raises(type(expected)), quiet():
                la.ndarrays([getattr(la, reduction)(lazy, axis, **kwargs)], **options)
            continue
        node = getattr(la, reduction)(lazy, axis, **kwargs)
        assert (node.shape, node.dtype) == (expected.shape, expected.dtype), (reduction, axis)
        built.append(node)
        wanted.append((reduction, expected, exact))
    with quiet():
        results = la.ndarrays([*built, lazy], **options, **paths)
        slow = la.ndarrays([*built, lazy], **options, kernels="numpy", direct_io=False)
    for (reduction, expected, exact), actual, without in zip(wanted, results, slow):
        check(reduction, actual, expected, exact, realised)
        check(reduction, actual, without, exact, realised)
    np.testing.assert_array_equal(results[-1], realised)  # the graph itself, in the same pass
    assert results[-1].dtype == realised.dtype
    np.testing.assert_array_equal(results[-1], slow[-1])
