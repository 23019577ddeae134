"""Elementwise maths without temporaries: results written into reused memory, exactly.

``lazyarray/elementwise.py`` writes a ufunc's result over an operand that only
it can see (the result of a child node, made for it), or into an array that
an earlier step of the same evaluation finished with, or into a scratch
buffer lent by the pass (``lazyarray/buffers.py``). Checked here:

* the memory is actually reused: ``(a - b) * 2.5 + 1`` makes one array per
  tile, in a buffer the pass lends again to the next tiles;
* nothing that is handed out (to a sink, a result, a user's sink that keeps
  what it is given) is overwritten afterwards;
* values, shapes and dtypes are numpy's, bit for bit, on random DAGs of
  ufuncs (shared subexpressions, Python and numpy scalars, casts,
  broadcasting, ``where``, ``clip``, ufuncs with several outputs), in plain
  and masked mode, whatever ``chunk_bytes`` and ``workers``, with scratch
  buffers lent for every array or only for big ones.
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from examples import examples
from hypothesis import given, note, settings
from hypothesis import strategies as st
from numpy_oracle import assert_same, assert_same_masked, numpy_accepts, quiet

import lazyarray as la
import lazyarray.buffers
import lazyarray.execution.passes
from lazyarray.buffers import SCRATCH_MIN_BYTES, BufferPool
from lazyarray.context import EvaluationContext
from lazyarray.fillvalues import fill_masked

#: Elements of a float32 array big enough for a scratch buffer, with room to spare.
BIG = 4 * SCRATCH_MIN_BYTES // 4


@contextlib.contextmanager
def one_tile() -> Iterator[EvaluationContext]:
    """Evaluate as a worker does one tile: sharing reads, with a lending pool."""
    context = EvaluationContext(buffers=BufferPool())
    with context.sharing_reads():
        yield context


def float32_sources(size: int = BIG) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.random(size, dtype=np.float32), rng.random(size, dtype=np.float32)


# -- memory is reused ---------------------------------------------------------------


def test_a_chain_writes_every_step_into_one_lent_buffer():
    a, b = float32_sources()
    saved = a.copy(), b.copy()
    expression = (la.asarray(a) - la.asarray(b)) * 2.5 + 1
    with one_tile() as tile:
        value = tile.evaluate(expression)
    # a - b went into a scratch buffer, * 2.5 and + 1 over it: one buffer in all.
    assert len(tile.borrowed) == 1
    assert np.shares_memory(value, tile.borrowed[0])
    assert_same(value, (a - b) * 2.5 + 1)
    np.testing.assert_array_equal(a, saved[0])  # the sources' memory is never written
    np.testing.assert_array_equal(b, saved[1])


def test_a_chain_outside_an_evaluation_allocates_one_array():
    a, b = float32_sources()
    expression = (la.asarray(a) - la.asarray(b)) * 2.5 + 1
    tracemalloc.start()
    try:
        value = EvaluationContext().evaluate(expression)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One new array per operator would peak at two arrays (the operand and the result).
    assert peak < 1.5 * a.nbytes, peak
    assert_same(value, (a - b) * 2.5 + 1)


def test_steps_that_cannot_write_over_their_operand_alternate_between_two_arrays():
    # exp and sin are not computed in place (numpy's in-place loops may differ in
    # the last bit): each writes into the array the step before last finished with.
    a, _ = float32_sources()
    expression = la.exp(la.sin(la.exp(la.sin(la.asarray(a)))))
    with one_tile() as tile:
        value = tile.evaluate(expression)
    assert len(tile.borrowed) == 2
    assert_same(value, np.exp(np.sin(np.exp(np.sin(a)))))


@pytest.mark.parametrize("build, expected", [
    (lambda x: x + 1.5, lambda x: x + 1.5),
    (lambda x: x * x, lambda x: x * x),  # the source read, shared: never written
    (lambda x: la.sqrt(x) * la.sqrt(x), lambda x: np.sqrt(x) * np.sqrt(x)),
    (lambda x: (x > 0.5) & (x < 0.7), lambda x: (x > 0.5) & (x < 0.7)),
    (lambda x: la.astype(x * 3, np.int16) + 1, lambda x: (x * 3).astype(np.int16) + 1),
    (lambda x: la.clip(x - 0.5, 0, 0.25) * 2, lambda x: np.clip(x - 0.5, 0, 0.25) * 2),
    (lambda x: la.modf(x * 10)[1] + 1, lambda x: np.modf(x * 10)[1] + 1),
])
def test_chains_of_every_kind_borrow_and_match_numpy(build, expected):
    a, _ = float32_sources()
    with one_tile() as tile:
        value = tile.evaluate(build(la.asarray(a)))
    assert tile.borrowed  # the first result needing memory of its own took lent memory
    assert_same(value, expected(a))


def test_small_arrays_are_left_to_the_allocator():
    a, b = float32_sources(100)
    with one_tile() as tile:
        value = tile.evaluate((la.asarray(a) - la.asarray(b)) * 2.5)
    assert tile.borrowed == []
    assert_same(value, (a - b) * 2.5)


def counting_pools(monkeypatch: pytest.MonkeyPatch) -> list[BufferPool]:
    """Record the buffer pool of every pass the executor runs."""
    pools: list[BufferPool] = []

    class Recorded(BufferPool):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(lazyarray.execution.passes, "BufferPool", Recorded)
    return pools


@pytest.mark.parametrize("workers", [1, 2])
def test_buffers_are_lent_again_to_later_tiles(monkeypatch, workers):
    pools = counting_pools(monkeypatch)
    a, b = float32_sources(32 * BIG)
    expression = (la.asarray(a) - la.asarray(b)) * 2.5 + 1
    options = {"chunk_bytes": 2 * a.nbytes // 32, "workers": workers}
    plan = la.plan([expression], **options)
    [value] = la.ndarrays([expression], **options)
    assert_same(value, (a - b) * 2.5 + 1)
    [pool] = pools
    assert plan.passes[0].tile_count >= 16
    # One buffer per tile in flight, and at most one more per worker for a
    # tile whose buffer a worker had not dropped yet when the tile was merged;
    # one new array per operator would be three per tile.
    assert pool.made <= plan.in_flight + workers, (pool.made, plan.passes[0].tile_count)


# -- what is handed out stays as it was -----------------------------------------------


class KeepingSink:
    """A sink that keeps the arrays it is given, without copying them."""

    def __init__(self, shape: tuple[int, ...], dtype: Any):
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.kept: list[tuple[Any, np.ndarray]] = []

    def __setitem__(self, region: Any, value: np.ndarray) -> None:
        self.kept.append((region, value))


@pytest.mark.parametrize("workers", [1, 2])
def test_values_handed_to_sinks_and_users_are_never_overwritten(workers):
    a, b = float32_sources(16 * BIG)
    x, y = la.asarray(a), la.asarray(b)
    shared = x - y
    sources = [shared * 2.5 + 1, la.exp(shared), la.astype(shared * 100, np.int32)]
    expected = [(a - b) * np.float32(2.5) + 1, np.exp(a - b), ((a - b) * 100).astype(np.int32)]
    sinks = [KeepingSink(s.shape, s.dtype) for s in sources]
    computed = la.save(sources, sinks, compute=[shared * 3, la.sqrt(x) + y, shared.sum()],
                       chunk_bytes=a.nbytes // 8, workers=workers)
    for sink, want in zip(sinks, expected):
        assert len(sink.kept) >= 8
        for region, value in sink.kept:
            assert_same(value, want[region])
    assert_same(computed[0], (a - b) * 3)
    assert_same(computed[1], np.sqrt(a) + b)
    np.testing.assert_allclose(computed[2], np.sum((a - b).astype(np.float64)), rtol=1e-6)


def test_results_of_many_evaluations_stay_as_they_were():
    a, b = float32_sources(8 * BIG)
    x, y = la.asarray(a), la.asarray(b)
    results = []
    for scale in range(1, 6):
        results.append(la.ndarrays([(x - y) * scale + 1, la.sin(x) * scale],
                                   chunk_bytes=a.nbytes // 4, workers=2))
    for scale, (first, second) in enumerate(results, start=1):
        assert_same(first, (a - b) * scale + 1)
        assert_same(second, np.sin(a) * scale)


# -- numpy's semantics ------------------------------------------------------------------


def square_of_shared(m: Any, x: Any, y: Any) -> Any:
    s = x + 1
    return s * s


def difference_with_itself(m: Any, x: Any, y: Any) -> Any:
    s = x * y
    return s - s


def shared_by_two_branches(m: Any, x: Any, y: Any) -> Any:
    s = m.exp(x) - y
    return (s * 2) + s / 3


def shared_by_where(m: Any, x: Any, y: Any) -> Any:
    s = x * 2
    return m.where(s > 1, s, -s) + s


def both_outputs_of_divmod(m: Any, x: Any, y: Any) -> Any:
    q, r = m.divmod(x * 7, 3)
    return q * 10 + r


def both_outputs_of_frexp(m: Any, x: Any, y: Any) -> Any:
    mantissa, exponent = m.frexp(x + y)
    return mantissa + exponent


@pytest.mark.parametrize("build", [
    lambda m, x, y: x * x,
    lambda m, x, y: (x + 1) * (x + 1),
    square_of_shared,
    difference_with_itself,
    shared_by_two_branches,
    shared_by_where,
    both_outputs_of_divmod,
    both_outputs_of_frexp,
])
def test_shared_subexpressions_give_numpy_s_answer(build):
    a, b = float32_sources(2 * BIG)
    with quiet():
        expected = build(np, a, b)
    graph = build(la, la.asarray(a), la.asarray(b))
    with quiet():
        whole = EvaluationContext().evaluate(graph)
        with one_tile() as tile:
            lent = tile.evaluate(graph)
        values = la.ndarrays([graph, graph * 1, graph], chunk_bytes=a.nbytes // 3, workers=2)
    for value in [whole, lent, *values]:
        assert_same(value, expected)


def test_integer_overflow_wraps_as_numpy_s():
    a = np.arange(BIG, dtype=np.int8)
    graph = (la.asarray(a) * 3 + 100) * 2 - 7
    with one_tile() as tile:
        value = tile.evaluate(graph)
    assert_same(value, (a * 3 + 100) * 2 - 7)


def test_floating_point_errors_follow_errstate():
    a, _ = float32_sources()
    graph = (la.asarray(a) + 1) * np.float32(1e30) * np.float32(1e30)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        la.ndarrays([graph], chunk_bytes=a.nbytes // 2)
    with pytest.warns(RuntimeWarning, match="overflow"):
        [value] = la.ndarrays([graph], chunk_bytes=a.nbytes // 2)
    with quiet():
        assert_same(value, (a + 1) * np.float32(1e30) * np.float32(1e30))


@pytest.mark.parametrize("dtype", ["c8", "c16"])
def test_complex_products_are_not_computed_in_place(dtype):
    # numpy multiplies complex numbers by another loop when the output is an
    # input, whose last bit differs on some one-element arrays: a product is
    # written into other memory, as numpy writes it.
    rng = np.random.default_rng(0)
    x, y, z = (np.round(rng.standard_normal(300) * 10, 2) + 1j * np.round(rng.standard_normal(300), 1)
               for _ in range(3))
    x, y, z = x.astype(dtype), y.astype(dtype), z.astype(dtype)
    expected = (x * y) * z
    in_place = []
    for i in range(x.size):
        product = x[i:i + 1] * y[i:i + 1]
        in_place.append(np.multiply(product, z[i:i + 1], out=product)[0])
    assert not np.array_equal(in_place, expected)  # so the check below means something
    graph = (la.asarray(x) * la.asarray(y)) * la.asarray(z)
    [value] = la.ndarrays([graph], chunk_bytes=1)
    assert_same(value, expected)


def test_python_scalars_stay_weak_through_a_chain():
    a, _ = float32_sources()
    graph = ((la.asarray(a) * 2.5 + 1) / 3) ** 2
    assert graph.dtype == np.float32
    with one_tile() as tile:
        value = tile.evaluate(graph)
    assert_same(value, ((a * 2.5 + 1) / 3) ** 2)


def test_a_function_that_returns_its_argument_is_never_written_over():
    # Its result may be (a view of) the child's value: not owned, so the parent
    # writes its result elsewhere and the function's view stays intact.
    a, _ = float32_sources()
    kept = []

    def keep(values: np.ndarray) -> np.ndarray:
        kept.append(values)
        return values[::-1]

    graph = la.Elementwise(keep, [la.asarray(a) + 1]) * 2
    with one_tile() as tile:
        value = tile.evaluate(graph)
    assert_same(value, (a + 1)[::-1] * 2)
    assert_same(kept[-1], a + 1)  # kept[0] is what the node's dtype was found from


# -- random graphs against numpy --------------------------------------------------------


DTYPES = [np.dtype(t) for t in ("?", "i1", "u1", "i4", "i8", "u8", "f4", "f8", "c8", "c16")]
SHAPES = {"full": (5, 6), "row": (6,), "column": (5, 1)}
SCALARS = st.sampled_from([2, -3, 1.5, 0.25, 2j, True, np.float32(0.5), np.int8(3),
                           np.float64(-1.25), np.uint8(7)])
UNARY: dict[str, Callable[..., Any]] = {
    name: getattr(np, name)
    for name in ("negative", "absolute", "square", "sqrt", "exp", "sin", "floor", "rint",
                 "logical_not", "invert", "reciprocal", "conjugate")
}
BINARY: dict[str, Callable[..., Any]] = {
    name: getattr(np, name)
    for name in ("add", "subtract", "multiply", "true_divide", "maximum", "fmin",
                 "floor_divide", "power", "less", "equal", "bitwise_xor", "logical_and",
                 "arctan2", "copysign")
}
MULTI = {"divmod": 2, "modf": 2, "frexp": 2}


def source_data(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if dtype == bool:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -9, 10, shape).astype(dtype)
    data = np.round(rng.standard_normal(shape) * 4, 2)
    if dtype.kind == "c":
        data = data + 1j * np.round(rng.standard_normal(shape) * 2, 1)
    data = data.astype(dtype)
    if data.size > 2:
        data.reshape(-1)[rng.integers(0, data.size)] = np.nan if dtype.kind in "fc" else 0
    return data


def output_of(func: Callable[..., Any], index: int) -> Callable[..., Any]:
    """Output ``index`` of ``func``, a function with several outputs."""

    def output(*values: Any) -> Any:
        return func(*values)[index]

    return output


@st.composite
def graphs(draw: st.DrawFn, masked: bool = False) -> tuple[list[Any], list[np.ndarray]]:
    """Lazy nodes and the numpy arrays they stand for: a DAG over a few sources.

    Each step takes its operands among all the nodes so far (so nodes are
    shared), scalars of several types, and sources of other shapes (so
    operands broadcast). In masked mode the sources are masked arrays and the
    steps are those numpy.ma computes as numpy does on the unmasked points.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lazy: list[Any] = []
    real: list[np.ndarray] = []
    for _ in range(draw(st.integers(1, 3))):
        shape = SHAPES[draw(st.sampled_from(sorted(SHAPES)))]
        data = source_data(rng, shape, draw(st.sampled_from(DTYPES)))
        if masked:
            data = np.ma.masked_array(data, mask=rng.random(shape) < 0.3)
        lazy.append(la.asarray(data.copy()))
        real.append(data)
    steps = ["unary", "binary", "scalar", "cast"]
    steps += [] if masked else ["where", "clip", "multi"]
    unary = sorted(UNARY) if not masked else ["negative", "absolute", "square", "floor"]
    binary = sorted(BINARY) if not masked else ["add", "subtract", "multiply", "maximum"]
    for _ in range(draw(st.integers(1, 8))):
        step = draw(st.sampled_from(steps))
        pick = st.integers(0, len(lazy) - 1)
        i, j = draw(pick), draw(pick)
        x, y = real[i], real[j]
        if step == "unary":
            name = draw(st.sampled_from(unary))
            func = getattr(np.ma, name, UNARY[name]) if masked else UNARY[name]
            lazy_func = getattr(la, name)
            operands: tuple[tuple[Any, ...], tuple[Any, ...]] = ((lazy[i],), (x,))
        elif step in ("binary", "scalar"):
            name = draw(st.sampled_from(binary))
            func = getattr(np.ma, name) if masked else BINARY[name]
            lazy_func = getattr(la, name)
            other: Any = draw(SCALARS) if step == "scalar" else None
            if masked and other is not None and not isinstance(other, np.generic):
                # numpy.ma types a Python scalar by itself; lazyarray (and numpy 2) weakly.
                try:
                    other = np.asarray(other, np.result_type(other, x.dtype))
                except OverflowError:
                    continue  # -3 with uint8: numpy refuses, numpy.ma computes in int64
            reflected = draw(st.booleans())
            if other is None:
                pair = ((lazy[i], lazy[j]), (x, y))
            else:
                pair = ((lazy[i], other), (x, other))
            operands = tuple(p[::-1] for p in pair) if reflected else pair  # type: ignore[assignment]
        elif step == "cast":
            dtype = draw(st.sampled_from(DTYPES))
            lazy_func = la.astype
            func = np.ma.MaskedArray.astype if masked else np.ndarray.astype
            operands = ((lazy[i], dtype), (x, dtype))
        elif step == "where":
            lazy_func, func = la.where, np.where
            choice = draw(SCALARS)
            operands = ((la.isfinite(lazy[i]), lazy[j], choice), (np.isfinite(x), y, choice))
        elif step == "clip":
            low = draw(SCALARS)
            lazy_func, func = la.clip, np.clip
            operands = ((lazy[i], low, lazy[j]), (x, low, y))
        else:
            name = draw(st.sampled_from(sorted(MULTI)))
            index = draw(st.integers(0, MULTI[name] - 1))
            lazy_func = output_of(getattr(la, name), index)
            func = output_of(getattr(np, name), index)
            operands = ((lazy[i], lazy[j]), (x, y)) if name == "divmod" else ((lazy[i],), (x,))
        if not numpy_accepts(func, *operands[1]):
            continue
        with quiet():
            expected = func(*operands[1])
        if np.ndim(expected) == 0 or not isinstance(expected, np.ndarray):
            continue  # numpy.ma gives a scalar for a 0-d result; not a case here
        note(f"{step}: node {len(lazy)} from {i}, {j}: {getattr(func, '__name__', func)}")
        with quiet():  # numpy's warnings when the dtype is found (complex to real casts)
            lazy.append(lazy_func(*operands[0]))
        real.append(expected)
    return lazy, real


CHUNK_BYTES = st.sampled_from([1, 40, 200, 1000, 2**20])
WORKERS = st.integers(1, 2)


@contextlib.contextmanager
def scratch_from(minimum: int) -> Iterator[None]:
    """Lend scratch buffers for arrays of ``minimum`` bytes and more."""
    saved = lazyarray.buffers.SCRATCH_MIN_BYTES
    lazyarray.buffers.SCRATCH_MIN_BYTES = minimum
    try:
        yield
    finally:
        lazyarray.buffers.SCRATCH_MIN_BYTES = saved


@settings(max_examples=examples(40, 150))
@given(graph=graphs(), chunk_bytes=CHUNK_BYTES, workers=WORKERS,
       minimum=st.sampled_from([0, SCRATCH_MIN_BYTES]), picks=st.data())
def test_random_graphs_equal_numpy(graph, chunk_bytes, workers, minimum, picks):
    lazy, real = graph
    # The last node, and a few others of the same DAG, in one evaluation.
    chosen = [len(lazy) - 1] + picks.draw(st.lists(st.integers(0, len(lazy) - 1), max_size=3))
    with scratch_from(minimum), quiet():
        values = la.ndarrays([lazy[n] for n in chosen], chunk_bytes=chunk_bytes, workers=workers)
        whole = EvaluationContext().evaluate(lazy[-1])
    for n, value in zip(chosen, values):
        assert lazy[n].shape == real[n].shape and lazy[n].dtype == real[n].dtype
        assert_same(value, real[n])
    assert_same(whole, real[-1])


@given(graph=graphs(masked=True), chunk_bytes=CHUNK_BYTES, workers=WORKERS,
       minimum=st.sampled_from([0, SCRATCH_MIN_BYTES]))
def test_random_masked_graphs_equal_numpy_ma(graph, chunk_bytes, workers, minimum):
    lazy, real = graph
    nodes = [lazy[-1], lazy[len(lazy) // 2]]
    with scratch_from(minimum), quiet():
        masked = la.masked_arrays(nodes, chunk_bytes=chunk_bytes, workers=workers)
        plain = la.ndarrays(nodes, chunk_bytes=chunk_bytes, workers=workers)
    for node, got, filled, want in zip(nodes, masked, plain, [real[-1], real[len(lazy) // 2]]):
        assert_same_masked(got, want)
        # ndarray() is the masked result with masked points filled.
        assert_same(filled, fill_masked(got, node.fill_value))
