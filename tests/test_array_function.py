"""Tests of :mod:`lazyarray.arrayfunction`: numpy's functions on lazy arrays stay lazy.

Each numpy function lazyarray implements, called on lazy arrays (alone or
with ndarrays and scalars), returns a lazy array equal to numpy's result on
the same data, in values, shape and dtype, and building it reads nothing.
Every other numpy function raises ``TypeError`` naming it, reading nothing.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

import lazyarray as la
from lazyarray.testing import InaccessibleArray, recording_reads, refusing_reads

SHAPE = (2, 3, 4)
RNG = np.random.default_rng(16)
A = RNG.standard_normal(SHAPE)
B = RNG.standard_normal(SHAPE)
N = np.where(RNG.random(SHAPE) < 0.3, np.nan, A)  # NaNs, none a whole reduced line
N[:, :, 0] = A[:, :, 0]
I = RNG.integers(-20, 20, SHAPE).astype(np.int32)

#: (call on arrays a, b, n, i, id, exact): exact unless a float statistic,
#: which lazyarray accumulates in its own order (tests/test_aggregation.py).
CASES = [
    (lambda a, b, n, i: np.sum(a), "sum", False),
    (lambda a, b, n, i: np.sum(a, axis=1, keepdims=True), "sum-keepdims", False),
    (lambda a, b, n, i: np.sum(a, 0, np.float32), "sum-dtype", False),
    (lambda a, b, n, i: np.sum(i, axis=(0, 2)), "sum-int", True),
    (lambda a, b, n, i: np.prod(a, axis=(0, 2)), "prod", False),
    (lambda a, b, n, i: np.mean(a, axis=0), "mean", False),
    (lambda a, b, n, i: np.mean(i, keepdims=True), "mean-int", False),
    (lambda a, b, n, i: np.std(a), "std", False),
    (lambda a, b, n, i: np.std(a, axis=1, ddof=1), "std-ddof", False),
    (lambda a, b, n, i: np.var(a, axis=-1, correction=1), "var-correction", False),
    (lambda a, b, n, i: np.min(a), "min", True),
    (lambda a, b, n, i: np.amin(i, axis=0), "amin", True),
    (lambda a, b, n, i: np.max(a, 1), "max", True),
    (lambda a, b, n, i: np.amax(a, keepdims=True), "amax", True),
    (lambda a, b, n, i: np.ptp(i, axis=2), "ptp", True),
    (lambda a, b, n, i: np.any(a > 1, axis=0), "any", True),
    (lambda a, b, n, i: np.all(a > -5), "all", True),
    (lambda a, b, n, i: np.argmin(a, axis=1), "argmin", True),
    (lambda a, b, n, i: np.argmax(a), "argmax", True),
    (lambda a, b, n, i: np.argmax(i, axis=0, keepdims=True), "argmax-keepdims", True),
    (lambda a, b, n, i: np.count_nonzero(i > 0), "count_nonzero", True),
    (lambda a, b, n, i: np.count_nonzero(i, axis=1), "count_nonzero-axis", True),
    (lambda a, b, n, i: np.nansum(n, axis=0), "nansum", False),
    (lambda a, b, n, i: np.nanprod(n, axis=2), "nanprod", False),
    (lambda a, b, n, i: np.nanmean(n, axis=2), "nanmean", False),
    (lambda a, b, n, i: np.nanvar(n, axis=2, ddof=1), "nanvar", False),
    (lambda a, b, n, i: np.nanstd(n), "nanstd", False),
    (lambda a, b, n, i: np.nanmin(n, axis=2), "nanmin", True),
    (lambda a, b, n, i: np.nanmax(n, axis=(1, 2)), "nanmax", True),
    (lambda a, b, n, i: np.nanargmin(n, axis=2), "nanargmin", True),
    (lambda a, b, n, i: np.nanargmax(n, axis=2), "nanargmax", True),
    (lambda a, b, n, i: np.where(a > 0, a, b), "where", True),
    (lambda a, b, n, i: np.where(A > 0, a, 0.0), "where-ndarray-condition", True),
    (lambda a, b, n, i: np.where(a > 0, B, i), "where-mixed", True),
    (lambda a, b, n, i: np.clip(a, -0.5, 0.5), "clip", True),
    (lambda a, b, n, i: np.clip(i, None, 3), "clip-upper", True),
    (lambda a, b, n, i: np.clip(a, min=b), "clip-min-keyword", True),
    (lambda a, b, n, i: np.concatenate([a, b], axis=1), "concatenate", True),
    (lambda a, b, n, i: np.concatenate((B, a, i)), "concatenate-mixed", True),
    (lambda a, b, n, i: np.concatenate([a, i], axis=-1, dtype="f4"), "concatenate-dtype", True),
    (lambda a, b, n, i: np.concatenate([a[0, 0], b[1, 2]], axis=None), "concatenate-none",
     True),
    (lambda a, b, n, i: np.stack([a, b], axis=-1), "stack", True),
    (lambda a, b, n, i: np.stack([A, i, b]), "stack-mixed", True),
    (lambda a, b, n, i: np.cumsum(a, axis=1), "cumsum", True),
    (lambda a, b, n, i: np.cumsum(i), "cumsum-flat", True),
    (lambda a, b, n, i: np.cumprod(i, axis=0, dtype=np.int16), "cumprod", True),
    (lambda a, b, n, i: np.nancumsum(n, axis=2), "nancumsum", True),
    (lambda a, b, n, i: np.nancumprod(n, axis=0), "nancumprod", True),
    (lambda a, b, n, i: np.cumulative_sum(i, axis=1, include_initial=True), "cumulative_sum",
     True),
    (lambda a, b, n, i: np.cumulative_prod(a, axis=0), "cumulative_prod", True),
    (lambda a, b, n, i: np.transpose(a), "transpose", True),
    (lambda a, b, n, i: np.transpose(i, (1, 0, 2)), "transpose-axes", True),
    (lambda a, b, n, i: np.moveaxis(a, 0, -1), "moveaxis", True),
    (lambda a, b, n, i: np.broadcast_to(a[0], (5, 3, 4)), "broadcast_to", True),
    (lambda a, b, n, i: np.expand_dims(a, (0, 2)), "expand_dims", True),
    (lambda a, b, n, i: np.squeeze(a[:1]), "squeeze", True),
    (lambda a, b, n, i: np.squeeze(i[:, :1], axis=1), "squeeze-axis", True),
    (lambda a, b, n, i: np.isclose(a, b), "isclose", True),
    (lambda a, b, n, i: np.isclose(a, A + 1e-9), "isclose-mixed", True),
    (lambda a, b, n, i: np.isclose(n, n, equal_nan=True), "isclose-equal_nan", True),
    (lambda a, b, n, i: np.isclose(i, 3, atol=np.arange(4)), "isclose-int-atol", True),
    (lambda a, b, n, i: np.astype(a, np.int16), "astype", True),
    (lambda a, b, n, i: np.round(a, 2), "round", True),
    (lambda a, b, n, i: np.around(i, -1), "around-int", True),
    (lambda a, b, n, i: np.real(a + 1j * b), "real", True),
    (lambda a, b, n, i: np.imag(a + 1j * b), "imag", True),
    (lambda a, b, n, i: np.real(i), "real-int", True),
    (lambda a, b, n, i: np.imag(a), "imag-float", True),
    (lambda a, b, n, i: np.zeros_like(a), "zeros_like", True),
    (lambda a, b, n, i: np.ones_like(i, dtype="f4", shape=(2, 5)), "ones_like", True),
    (lambda a, b, n, i: np.full_like(i, 2.7), "full_like", True),
    (lambda a, b, n, i: np.full_like(a, np.nan, "f4"), "full_like-dtype", True),
    (lambda a, b, n, i: np.pad(a, 1), "pad", True),
    (lambda a, b, n, i: np.pad(i, ((1, 2), (0, 1), (3, 0)), constant_values=((7, 8), (9, 1),
                                                                           (2, 3))),
     "pad-widths-values", True),
    (lambda a, b, n, i: np.pad(i, (2, 0), constant_values=1e6), "pad-unsafe-cast", True),
    (lambda a, b, n, i: np.take(a, [2, 0, 2], axis=1), "take", True),
    (lambda a, b, n, i: np.take(i, -1, axis=2), "take-scalar", True),
    (lambda a, b, n, i: np.take(a[0, 0], [3, 1]), "take-1d", True),
]
PARAMS = [pytest.param(call, exact, id=name) for call, name, exact in CASES]


def lazy_arrays():
    return tuple(la.asarray(data) for data in (A, B, N, I))


@pytest.mark.parametrize(("call", "exact"), PARAMS)
def test_numpy_functions_are_lazy_and_equal_numpy(call, exact):
    expected = np.asarray(call(A, B, N, I))
    lazy = call(*lazy_arrays())
    assert isinstance(lazy, la.Array), type(lazy)
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    actual = lazy.ndarray()
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("call", "exact"), PARAMS)
def test_building_reads_nothing(call, exact):
    sources = [la.asarray(InaccessibleArray(d.shape, d.dtype)) for d in (A, B, N, I)]
    with refusing_reads():
        assert isinstance(call(*sources), la.Array)


def test_metadata_functions_answer_without_reading():
    x = la.asarray(InaccessibleArray(SHAPE, "f4"))
    with refusing_reads():
        assert np.shape(x) == SHAPE and np.ndim(x) == 3 and np.size(x) == 24
        assert np.size(x, 1) == 3
        assert np.result_type(x, 1.0) == np.float32  # a Python scalar does not upcast
        assert np.result_type(x, np.int32) == np.float64
        assert np.result_type(x, np.ones(2, "f8")) == np.float64
        empty = np.empty_like(x, dtype="i2")
        assert isinstance(empty, la.Array) and (empty.shape, empty.dtype) == (SHAPE, "i2")


UNIMPLEMENTED = [
    (lambda x: np.fft.fft(x), "numpy.fft.fft"),
    (lambda x: np.linalg.norm(x), "numpy.linalg.norm"),
    (lambda x: np.sort(x), "numpy.sort"),
    (lambda x: np.unique(x), "numpy.unique"),
    (lambda x: np.argsort(x), "numpy.argsort"),
    (lambda x: np.dot(np.ones(4), x), "numpy.dot"),
]


@pytest.mark.parametrize(("call", "name"), UNIMPLEMENTED, ids=[n for _, n in UNIMPLEMENTED])
def test_other_functions_raise_naming_them_and_read_nothing(call, name):
    x = la.asarray(InaccessibleArray((3, 4), "f8"))
    with refusing_reads(), pytest.raises(TypeError, match=re.escape(name) + " is not implemented"
                                         ".*x.ndarray()"):
        call(x)


REFUSED = [
    (lambda x: np.mean(x, out=np.empty(())), "cannot write into an out array"),
    (lambda x: np.cumsum(x, out=np.empty(12)), "cannot write into an out array"),
    (lambda x: np.concatenate([x, x], out=np.empty((6, 4))), "cannot write into an out array"),
    (lambda x: np.sum(x, where=np.ones((3, 4), bool)), "take no where="),
    (lambda x: np.max(x, initial=0.0), "take no initial="),
    (lambda x: np.std(x, mean=np.zeros(())), "take no mean="),
    (lambda x: np.where(x), "numpy.where with one argument"),
    (lambda x: np.clip(x, 0, 1, casting="unsafe"), "takes no casting="),
    (lambda x: np.concatenate([x, x], axis=None), "does not flatten"),
    (lambda x: np.concatenate([x, x], dtype=np.int8), "cannot cast"),
    (lambda x: np.pad(x, 1, mode="edge"), "mode='constant' only"),
    (lambda x: np.take(x, [0, 1]), "does not flatten"),
    (lambda x: np.take(x, [[0], [1]], axis=0), "a scalar or 1-d array of integer indices"),
    (lambda x: np.take(x, [0], axis=0, mode="wrap"), "mode='raise' only"),
]


@pytest.mark.parametrize(("call", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_arguments_lazyarray_cannot_honour_raise_type_errors(call, message):
    x = la.asarray(InaccessibleArray((3, 4), "f8"))
    with refusing_reads(), pytest.raises(TypeError, match=re.escape(message)):
        call(x)


def test_mean_and_std_with_numpy_keywords_accepted_as_none():
    x = la.asarray(A)
    result = np.std(x, axis=0, dtype=None, out=None, ddof=0, keepdims=False, where=True)
    np.testing.assert_allclose(result.ndarray(), np.std(A, axis=0), rtol=1e-12)


# -- allclose and array_equal: a bool from one pass, never the arrays in memory -------

BIG = RNG.standard_normal((200, 100))
SMALL_BUDGET = {"memory_limit": 64 * 2**10, "chunk_bytes": 8 * 2**10}  # the arrays: 156 KiB


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda x, y: np.allclose(x, y), True),
        (lambda x, y: np.allclose(x, y + 1e-3), False),
        (lambda x, y: np.allclose(x, y, atol=1e-2, rtol=0), True),
        (lambda x, y: np.array_equal(x, y), True),
        (lambda x, y: np.array_equal(x, y * 2), False),
    ],
    ids=["allclose", "allclose-not", "allclose-atol", "array_equal", "array_equal-not"],
)
def test_allclose_and_array_equal_read_each_source_once(call, expected):
    first, second = BIG.copy(), BIG.copy()
    x, y = la.asarray(first), la.asarray(second)
    with la.set_options(**SMALL_BUDGET), recording_reads() as reads:
        answer = call(x, y)
    assert type(answer) is bool and answer is expected
    for source in (first, second):
        assert (reads.counts(source) == 1).all()
        assert max(read.nbytes for read in reads.of(source)) < source.nbytes


def test_array_equal_with_nan_and_shapes():
    assert np.array_equal(la.asarray(N), N, equal_nan=True) is True
    assert np.array_equal(la.asarray(N), N) is False
    with refusing_reads():  # different shapes: no need to read
        assert np.array_equal(la.asarray(InaccessibleArray((2, 3), "f8")), np.ones(3)) is False


def test_allclose_with_nan_and_mixed_operands():
    assert np.allclose(N, la.asarray(N), equal_nan=True) is True
    assert np.allclose(N, la.asarray(N)) is False


# -- real, imag, conj -------------------------------------------------------------------

PARTS = [
    (A + 1j * B).astype(np.complex64),
    A + 1j * B,
    A.astype(np.float32),
    I,
    I > 0,
]


@pytest.mark.parametrize("data", PARTS, ids=lambda d: str(d.dtype))
def test_real_imag_and_conj_equal_numpys(data):
    x = la.asarray(data)
    for lazy, expected in [(x.real, data.real), (x.imag, data.imag), (np.real(x), np.real(data)),
                           (np.imag(x), np.imag(data)), (x.conj(), data.conj())]:
        assert isinstance(lazy, la.Array)
        la.testing.assert_array_equal(lazy, expected)


def test_imag_of_a_real_array_reads_nothing():
    x = la.asarray(InaccessibleArray((3, 2), "i2"))
    with refusing_reads():
        la.testing.assert_array_equal(x.imag, np.zeros((3, 2), "i2"))
        assert x.real is x


def test_imag_of_a_masked_real_array_keeps_the_mask():
    data = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    la.testing.assert_array_equal(la.asarray(data).imag, data.imag)


def test_graphs_of_numpy_functions_pickle():
    x = la.asarray(A + 1j * B)
    for lazy in [np.round(x, 1), np.isclose(x, 0.5, atol=np.arange(4)), x.real, np.imag(x)]:
        copy = pickle.loads(pickle.dumps(lazy))
        np.testing.assert_array_equal(copy.ndarray(), lazy.ndarray())
