"""Tests of realisation: ``.ndarray()``, ``.masked_array()``, ``np.asarray``,
``ndarrays``, ``masked_arrays``, ``compute``, and the scalar protocols.

Only public behaviour is tested here, so the tests hold for any evaluator:
results equal numpy's whatever the tile size, options behave as documented,
errors in sources reach the caller, and reads stay within the tile budget.
"""

from __future__ import annotations

import operator
import threading
import weakref

import h5py
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import assert_same, assert_same_masked
from strategies import arrays, keys, oindex

import lazyarray as la
from lazyarray.testing import CountingArray, InaccessibleArray

# Expressions over one source: ``xp`` is lazyarray for lazy arrays, numpy for
# the realised source.
EXPRESSIONS = {
    "a": lambda x, xp: x,
    "a * 2.5 + 1": lambda x, xp: x * 2.5 + 1,
    "(a - a[::-1]) ** 2": lambda x, xp: (x - (x[::-1] if x.ndim else x)) ** 2,
    "sqrt(abs(a)) > 1": lambda x, xp: xp.sqrt(abs(x)) > 1,
    "a.T * a.T": lambda x, xp: x.T * x.T,
    "where(a > 0, a, -a)": lambda x, xp: xp.where(x > 0, x, -x),
}


def apply(name: str, x: object) -> object:
    return EXPRESSIONS[name](x, la if isinstance(x, la.Array) else np)


# -- results do not depend on the tiling ---------------------------------------


@settings(max_examples=80)
@given(
    data=st.data(),
    expression=st.sampled_from(list(EXPRESSIONS)),
    chunk_bytes=st.integers(1, 4096),
    how=st.sampled_from(["keyword", "set_options", "both"]),
)
def test_results_do_not_depend_on_chunk_bytes(data, expression, chunk_bytes, how):
    source = data.draw(arrays(dtype=st.sampled_from(["i2", "i8", "u1", "f4", "f8", "c16"])))
    key = data.draw(keys(source.shape), label="key")
    with np.errstate(all="ignore"):
        expected = apply(expression, oindex(source, key))
        lazy = apply(expression, la.asarray(source)[key])
        if how == "keyword":
            actual = lazy.ndarray(chunk_bytes=chunk_bytes)
        elif how == "set_options":
            with la.set_options(chunk_bytes=chunk_bytes):
                actual = lazy.ndarray()
        else:  # the keyword wins over the context
            with la.set_options(chunk_bytes=10**6):
                actual = lazy.ndarray(chunk_bytes=chunk_bytes)
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    assert_same(actual, expected)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The same values stored in numpy, HDF5 (chunked and contiguous) and Zarr."""
    values = np.arange(13 * 7 * 5, dtype="f4").reshape(13, 7, 5) * 0.25 - 20
    path = tmp_path_factory.mktemp("execute") / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("chunked", data=values, chunks=(4, 3, 5))
        f.create_dataset("contiguous", data=values)
    z = zarr.create_array({}, shape=values.shape, chunks=(5, 2, 3), dtype=values.dtype)
    z[...] = values
    handle = h5py.File(path, "r")
    yield (
        values,
        {
            "numpy": values,
            "hdf5 chunked": handle["chunked"],
            "hdf5 contiguous": handle["contiguous"],
            "zarr": z,
        },
    )
    handle.close()


@pytest.mark.parametrize("source", ["numpy", "hdf5 chunked", "hdf5 contiguous", "zarr"])
@settings(max_examples=25)
@given(data=st.data(), expression=st.sampled_from(list(EXPRESSIONS)))
def test_results_from_stored_sources_do_not_depend_on_chunk_bytes(stored, source, data, expression):
    values, sources = stored
    key = data.draw(keys(values.shape), label="key")
    chunk_bytes = data.draw(st.integers(1, 8192), label="chunk_bytes")
    lazy = apply(expression, la.asarray(sources[source])[key])
    expected = apply(expression, oindex(values, key))
    assert_same(lazy.ndarray(chunk_bytes=chunk_bytes), expected)
    assert_same(la.ndarrays([lazy], chunk_bytes=chunk_bytes)[0], expected)


@given(
    data=st.data(),
    chunk_bytes=st.integers(1, 512),
)
def test_masked_results_do_not_depend_on_chunk_bytes(data, chunk_bytes):
    values = data.draw(
        arrays(dtype=st.sampled_from(["i4", "f8"]), shape=hnp.array_shapes(max_dims=3, max_side=5))
    )
    mask = data.draw(hnp.arrays(bool, values.shape))
    source = np.ma.masked_array(values, mask=mask)
    lazy = la.asarray(source) * 3 - source[..., :1]
    with np.errstate(all="ignore"):
        # np.multiply, not *: numpy.ma's operators type Python scalars as
        # int64, numpy 2 (and lazyarray) as the array's dtype.
        expected = np.subtract(np.multiply(source, 3), source[..., :1])
        assert_same_masked(lazy.masked_array(chunk_bytes=chunk_bytes), expected)
        assert_same_masked(la.masked_arrays([lazy], chunk_bytes=chunk_bytes)[0], expected)


def test_every_read_fits_chunk_bytes():
    values = np.arange(600, dtype="f8").reshape(20, 30)
    source = CountingArray(values)
    x = la.asarray(source)

    def in_context(**options):
        with la.set_options(**options):
            return x.ndarray()

    def keyword_over_context():
        with la.set_options(chunk_bytes=4800):
            return x.ndarray(chunk_bytes=80)

    runs = {
        "ndarray": lambda: x.ndarray(chunk_bytes=80),
        "masked_array": lambda: x.masked_array(chunk_bytes=80).data,
        "ndarrays": lambda: la.ndarrays([x], chunk_bytes=80)[0],
        "compute": lambda: la.compute(x, chunk_bytes=80)[0],
        "set_options": lambda: in_context(chunk_bytes=80),
        "keyword over set_options": keyword_over_context,
    }
    for name, run in runs.items():
        source.reset()
        assert_same(run(), values)
        assert source.counts.min() >= 1, name
        assert max(values[key].size for key in source.keys) * values.itemsize <= 80, name


# -- the realisation API ------------------------------------------------------------


def test_ndarray_and_masked_array():
    a = np.arange(12.0).reshape(3, 4)
    x = la.asarray(a) * 2
    plain = x.ndarray()
    assert type(plain) is np.ndarray
    assert_same(plain, a * 2)
    masked = x.masked_array()
    assert type(masked) is np.ma.MaskedArray
    assert_same_masked(masked, np.ma.masked_array(a * 2))
    assert not np.ma.getmaskarray(masked).any()


def test_masked_sources_fill_in_ndarray_and_mask_in_masked_array():
    m = np.ma.masked_array([[1, 2, 3], [4, 5, 6]], mask=[[0, 1, 0], [1, 0, 0]], fill_value=-9)
    x = la.asarray(m)
    assert x.fill_value == -9
    assert_same(x.ndarray(), m.filled())
    assert_same_masked(x.masked_array(), m)
    assert x.masked_array().fill_value == -9
    assert_same_masked((x + 1).masked_array(), m + 1)


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (2, 1, 3)])
@pytest.mark.parametrize("masked", [False, True])
def test_zero_size_and_0d_results(shape, masked):
    a = np.arange(int(np.prod(shape)), dtype="i2").reshape(shape)
    x = la.asarray(a) + np.int16(1)
    if masked:
        assert_same_masked(x.masked_array(chunk_bytes=1), np.ma.masked_array(a + np.int16(1)))
    else:
        assert_same(x.ndarray(chunk_bytes=1), a + np.int16(1))


def test_ndarrays_masked_arrays_and_compute():
    a, b = np.arange(6).reshape(2, 3), np.linspace(0, 1, 4)
    x, y = la.asarray(a), la.asarray(b)
    results = la.ndarrays([x * 2, y, x.T])
    assert isinstance(results, list) and len(results) == 3
    for actual, expected in zip(results, [a * 2, b, a.T]):
        assert_same(actual, expected)
    masked = la.masked_arrays([x, y > 0.5])
    assert isinstance(masked, list)
    for actual, expected in zip(masked, [a, b > 0.5]):
        assert_same_masked(actual, np.ma.masked_array(expected))
    computed = la.compute(x + 1, y)
    assert isinstance(computed, tuple) and len(computed) == 2
    assert_same(computed[0], a + 1)
    assert_same(computed[1], b)
    assert la.compute() == ()
    assert la.ndarrays([]) == [] and la.masked_arrays([]) == []


def test_ndarrays_accepts_array_likes_and_any_iterable():
    result = la.ndarrays(iter([np.arange(3), la.asarray(np.ones(2))]))
    assert_same(result[0], np.arange(3))
    assert_same(result[1], np.ones(2))


@pytest.mark.parametrize("func", [la.ndarrays, la.masked_arrays])
def test_ndarrays_refuses_a_single_array(func):
    with pytest.raises(TypeError, match="sequence"):
        func(la.asarray(np.arange(3)))
    with pytest.raises(TypeError, match="sequence"):
        func(np.arange(3))


def test_the_same_array_twice_in_one_call():
    a = np.arange(10.0)
    x = la.asarray(a) / 3
    first, second = la.ndarrays([x, x])
    assert_same(first, a / 3)
    assert_same(second, a / 3)
    assert first is not second


def test_one_call_reads_a_shared_source_once():
    source = CountingArray(np.arange(24.0).reshape(4, 6))
    x = la.asarray(source)
    la.ndarrays([x, x * 2, x + 1])
    assert source.counts.max() == 1


# -- numpy's array protocol ----------------------------------------------------


def test_np_asarray():
    a = np.arange(6, dtype="i4").reshape(2, 3)
    x = la.asarray(a) * 2
    assert_same(np.asarray(x), a * 2)
    assert_same(np.asarray(x, dtype="f8"), (a * 2).astype("f8"))
    assert_same(np.array(x), a * 2)
    assert_same(np.array(x, copy=True), a * 2)
    assert_same(x.__array__(), a * 2)
    assert_same(x.__array__(np.dtype("i1")), (a * 2).astype("i1"))
    assert_same(x.__array__(copy=True), a * 2)


def test_np_asarray_refuses_copy_false():
    x = la.asarray(np.arange(3))
    with pytest.raises(ValueError, match="copy"):
        np.asarray(x, copy=False)
    with pytest.raises(ValueError, match="copy"):
        x.__array__(copy=False)


# -- scalars, len, iteration, repr ----------------------------------------------


@pytest.mark.parametrize("shape", [(), (1,), (1, 1, 1)])
def test_python_scalars_of_size_1_arrays(shape):
    assert bool(la.asarray(np.full(shape, 2.5))) is True
    assert bool(la.asarray(np.zeros(shape))) is False
    assert float(la.asarray(np.full(shape, 2.5)) * 2) == 5.0
    assert int(la.asarray(np.full(shape, 7, "i2")) + 1) == 8
    assert int(la.asarray(np.full(shape, -2.7))) == -2
    assert complex(la.asarray(np.full(shape, 1 + 2j))) == 1 + 2j
    assert type(float(la.asarray(np.full(shape, 2.5)))) is float


def test_index_of_0d_integer_arrays_as_numpy():
    for dtype in ("i1", "u1", "i8", "u8"):
        assert operator.index(la.asarray(np.array(3, dtype)) * 1) == 3
        assert [10, 20, 30, 40][la.asarray(np.array(2, dtype))] == 30
    for value in (np.array(True), np.array(2.0), np.array([2]), np.array([[2]])):
        with pytest.raises(TypeError):
            operator.index(value)  # numpy refuses ...
        with pytest.raises(TypeError):
            operator.index(la.asarray(value))  # ... and so does lazyarray


def test_python_scalars_of_bigger_arrays_raise():
    x = la.asarray(np.arange(4.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(la.asarray(np.zeros(0)))
    for convert in (float, int, complex):
        with pytest.raises(TypeError, match="size 1"):
            convert(x)


def test_len_and_iteration():
    a = np.arange(12).reshape(3, 4)
    x = la.asarray(a) + 1
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3
    for row, expected in zip(rows, a + 1):
        assert isinstance(row, la.Array)
        assert_same(row.ndarray(), expected)
    assert len(la.asarray(np.zeros((0, 2)))) == 0 and list(la.asarray(np.zeros((0, 2)))) == []
    scalar = la.asarray(np.float64(1.5))
    with pytest.raises(TypeError):
        len(scalar)
    with pytest.raises(TypeError):
        iter(scalar)


def test_iteration_and_len_do_not_read():
    x = la.asarray(InaccessibleArray((3, 2), "f4"))
    assert len(x) == 3
    assert [row.shape for row in x] == [(2,)] * 3


@pytest.mark.parametrize(
    "build, text",
    [
        (
            lambda: la.asarray(np.zeros((2, 3))) + 1,
            "<Elementwise shape=(2, 3) dtype=float64 size=48 B>",
        ),
        (
            lambda: la.asarray(np.zeros(3, "i1")) == 0,
            "<Elementwise shape=(3,) dtype=bool size=3 B>",
        ),
        (lambda: la.sqrt(np.float32(4)), "<Elementwise shape=() dtype=float32 size=4 B>"),
        (
            lambda: la.asarray(InaccessibleArray((1000, 720, 1440), "f4")) * 2,
            "<Elementwise shape=(1000, 720, 1440) dtype=float32 size=3.9 GiB>",
        ),
        (
            lambda: la.asarray(InaccessibleArray((1024, 1024), "i2")) - 1,
            "<Elementwise shape=(1024, 1024) dtype=int16 size=2.0 MiB>",
        ),
    ],
)
def test_repr(build, text):
    assert repr(build()) == text


# -- options and errors reach the caller ----------------------------------------------


def test_options_as_keywords():
    x = la.asarray(np.arange(10.0))
    for options in (
        {"workers": 1},
        {"memory_limit": 2**20},
        {"progress": False},
        {"chunk_bytes": 8},
    ):
        assert_same(x.ndarray(**options), np.arange(10.0))
        assert_same(la.ndarrays([x], **options)[0], np.arange(10.0))
        assert_same(la.compute(x, **options)[0], np.arange(10.0))
        assert_same_masked(x.masked_array(**options), np.ma.masked_array(np.arange(10.0)))


@pytest.mark.parametrize("call", ["ndarray", "masked_array", "ndarrays", "compute"])
def test_bad_options_raise(call):
    x = la.asarray(np.arange(3))
    run = {
        "ndarray": lambda **o: x.ndarray(**o),
        "masked_array": lambda **o: x.masked_array(**o),
        "ndarrays": lambda **o: la.ndarrays([x], **o),
        "compute": lambda **o: la.compute(x, **o),
    }[call]
    with pytest.raises(TypeError, match="chunk_size"):
        run(chunk_size=8)
    with pytest.raises(ValueError, match="chunk_bytes"):
        run(chunk_bytes=0)
    with pytest.raises(ValueError, match="workers"):
        run(workers=-1)


class Failing:
    """A source whose ``n``-th read raises."""

    def __init__(self, array, n):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.n, self.reads = n, 0
        self.lock = threading.Lock()

    def __getitem__(self, key):
        with self.lock:
            self.reads += 1
            if self.reads == self.n:
                raise KeyError(f"read {self.n} failed")
        return self.array[key]


@pytest.mark.parametrize("n", [1, 3])
def test_an_error_in_a_source_reaches_the_caller(n):
    source = Failing(np.arange(100.0), n)
    x = la.asarray(source) * 2
    with pytest.raises(KeyError, match=f"read {n} failed"):
        x.ndarray(chunk_bytes=80)
    assert source.reads >= n
    # and the next evaluation works
    assert_same(x.ndarray(chunk_bytes=80), np.arange(100.0) * 2)


def test_an_error_in_a_function_reaches_the_caller():
    x = la.asarray(np.array([1, -1, 2]))
    with pytest.raises(ValueError, match="negative"):
        (x**x).ndarray(chunk_bytes=8)  # numpy: integers to negative integer powers
    with pytest.raises(AssertionError, match="InaccessibleArray"):
        (la.asarray(InaccessibleArray((4,), "f8")) + 1).ndarray()


# -- the caller's context reaches the worker threads ---------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_numpy_errstate_of_the_caller_applies_in_workers(workers):
    x = la.asarray(np.arange(1.0, 41.0).reshape(10, 4))
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError, match="divide by zero"):
            (x / 0).ndarray(chunk_bytes=32, workers=workers)
        with pytest.raises(FloatingPointError, match="divide by zero"):
            la.ndarrays([la.sum(x / 0, 0)], chunk_bytes=32, workers=workers)
    # Warnings are errors in this test suite: ignoring must reach the workers too.
    with np.errstate(divide="ignore"):
        result = (x / 0).ndarray(chunk_bytes=32, workers=workers)
    assert np.isposinf(result).all() and result.shape == (10, 4)
    with np.errstate(invalid="ignore"):
        assert np.isnan((x * 0 / 0).ndarray(chunk_bytes=32, workers=workers)).all()


def test_errstate_in_one_thread_does_not_leak_into_another_evaluation():
    x = la.asarray(np.ones(8))
    results = {}

    def evaluate(name, mode):
        with np.errstate(divide=mode):
            try:
                results[name] = (x / 0).ndarray(chunk_bytes=8, workers=2)
            except FloatingPointError as error:
                results[name] = error

    threads = [threading.Thread(target=evaluate, args=("raise", "raise")),
               threading.Thread(target=evaluate, args=("ignore", "ignore"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results["raise"], FloatingPointError)
    np.testing.assert_array_equal(results["ignore"], np.full(8, np.inf))


# -- bounded tiles in flight ------------------------------------------------------------


class Tracked:
    """A source that counts how many of the arrays it has returned are alive."""

    def __init__(self, array):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.alive = self.most = self.reads = 0
        self.lock = threading.Lock()

    def _released(self):
        with self.lock:
            self.alive -= 1

    def __getitem__(self, key):
        data = self.array[key].copy()
        with self.lock:
            self.alive += 1
            self.reads += 1
            self.most = max(self.most, self.alive)
        weakref.finalize(data, self._released)
        return data


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_no_more_tiles_than_planned_are_alive_at_once(workers):
    values = np.arange(100 * 8, dtype="f8").reshape(100, 8)
    source = Tracked(values)
    x = la.asarray(source)
    out = np.zeros_like(values)
    plan = la.plan([x], chunk_bytes=64, workers=workers)
    la.save([x], [out], chunk_bytes=64, workers=workers)
    np.testing.assert_array_equal(out, values)
    assert source.reads == plan.passes[0].tile_count == 100
    assert source.alive == 0
    # Tiles read ahead, but no more than the plan's in_flight are held.
    assert 1 <= source.most <= plan.in_flight


# Small evaluations run in the caller's thread (issue 14, point 5).


class ThreadRecordingArray:
    """An array-like source that records the threads reading it."""

    def __init__(self, array: np.ndarray):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.threads: set[int] = set()

    def __getitem__(self, key):
        self.threads.add(threading.get_ident())
        return self._array[key]


def test_small_evaluations_run_in_the_callers_thread():
    data = np.arange(600.0).reshape(20, 30)
    source = ThreadRecordingArray(data)
    x = la.asarray(source)
    mean, scaled = la.ndarrays([la.mean(x, axis=0), x[3:9] * 2])
    np.testing.assert_array_equal(mean, data.mean(axis=0))
    np.testing.assert_array_equal(scaled, data[3:9] * 2)
    assert float(x[4, 5]) == data[4, 5]
    assert source.threads == {threading.get_ident()}


@pytest.mark.parametrize("chunk_bytes", [64, 2**20])
def test_inline_and_threaded_passes_give_identical_results(monkeypatch, chunk_bytes):
    from lazyarray.execution import passes

    rng = np.random.default_rng(5)
    data = rng.normal(size=(40, 30)).astype("f4")
    masked = np.ma.masked_array(data, mask=rng.random(data.shape) < 0.2)
    x, m = la.asarray(data), la.asarray(masked)
    graphs = [la.mean(x, axis=0), la.std(x * 3 - 1, axis=1), la.sum(m, axis=0),
              la.var(m + x, axis=None), (x - la.mean(x, axis=0))[::3]]
    inline = la.masked_arrays(graphs, chunk_bytes=chunk_bytes)
    monkeypatch.setattr(passes, "INLINE_BYTES", 0)  # every pass on the worker threads
    threaded = la.masked_arrays(graphs, chunk_bytes=chunk_bytes)
    for a, b in zip(inline, threaded):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b))
        np.testing.assert_array_equal(a.filled(0), b.filled(0))  # bit for bit
    expected = masked.sum(axis=0)
    np.testing.assert_allclose(inline[2].filled(0), expected.filled(0), rtol=1e-5)
