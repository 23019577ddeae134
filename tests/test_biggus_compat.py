"""Biggus as a drop-in: ``import lazyarray as biggus`` runs code written for Biggus 0.14.

Every public name Biggus exports, each against numpy (values, shape and
dtype); subclasses of ``Array`` written to Biggus's contract; ``ArrayContainer``;
``size``; the Biggus forms of ``LinearMosaic``, ``BroadcastArray`` and the
adapters. The deliberate departures are listed in ``docs/biggus.md``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import keys, oindex

import lazyarray as biggus
from lazyarray.testing import recording_reads

#: Biggus 0.14's ``biggus.__all__`` (from its ``biggus/_init.py``).
BIGGUS_PUBLIC = ["AxisSupportError", "AllThreadedEngine", "Array", "ArrayContainer", "BroadcastArray", "masked_equal", "ConstantArray", "zeros", "ones", "NumpyArrayAdapter", "OrthoArrayAdapter", "ArrayStack", "LinearMosaic", "ndarrays", "masked_arrays", "save", "count", "min", "max", "sum", "mean", "std", "var", "ensure_array", "size", "negative", "absolute", "rint", "sign", "conj", "exp", "exp2", "log", "log2", "log10", "expm1", "sqrt", "square", "reciprocal", "add", "sub", "subtract", "multiply", "floor_divide", "true_divide", "divide", "power", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "arctan2", "hypot", "bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "greater", "greater_equal", "less", "less_equal", "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "logical_not", "maximum", "minimum", "fmax", "fmin", "isreal", "iscomplex", "isinf", "isnan", "signbit", "copysign", "nextafter", "ldexp", "fmod", "floor", "ceil", "trunc"]

#: Biggus's names lazyarray does not have, with the reason (docs/biggus.md).
DEPARTED = {"AllThreadedEngine": "no pluggable engine: the planner and executor evaluate"}

#: Biggus's elementwise functions and the numpy function each applies.
UNARY = {name: getattr(np, name) for name in ["negative", "absolute", "rint", "sign", "exp", "exp2", "log", "log2", "log10", "expm1", "sqrt", "square", "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "invert", "logical_not", "isreal", "iscomplex", "isinf", "isnan", "signbit", "floor", "ceil", "trunc"]} | {"conj": np.conjugate}
BINARY = {name: getattr(np, name) for name in ["add", "subtract", "multiply", "floor_divide", "true_divide", "divide", "power", "arctan2", "hypot", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "greater", "greater_equal", "less", "less_equal", "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "maximum", "minimum", "fmax", "fmin", "copysign", "nextafter", "ldexp", "fmod"]} | {"sub": np.subtract}

INTEGER_ONLY = {"invert", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                "right_shift"}


@pytest.fixture(autouse=True)
def _numpy_kernels():
    # These tests are about Biggus's API, not compiled kernels: numpy's
    # kernels spare them numba's first compilations.
    with biggus.set_options(kernels="numpy"):
        yield


def assert_same(result: np.ndarray, expected: np.ndarray) -> None:
    """Values, shape and dtype equal (NaN equal to NaN)."""
    expected = np.asarray(expected)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_every_biggus_name_is_public_here():
    missing = {name for name in BIGGUS_PUBLIC if not hasattr(biggus, name)}
    assert missing == set(DEPARTED)
    assert not [name for name in BIGGUS_PUBLIC if name not in DEPARTED
                and name not in biggus.__all__]
    assert len(BIGGUS_PUBLIC) == 95
    assert set(UNARY) | set(BINARY) <= set(BIGGUS_PUBLIC)


def _operand(name: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name in INTEGER_ONLY or name == "ldexp" and seed == 1:
        return rng.integers(0, 5, shape).astype(np.int32)
    if name in {"arccosh"}:
        return rng.uniform(1.0, 3.0, shape)
    if name in {"iscomplex", "isreal"}:
        return rng.uniform(-1, 1, shape) + 1j * rng.integers(0, 2, shape)
    # Within (-1, 1), where every function has values; ints make floor_divide exact.
    return rng.uniform(-0.95, 0.95, shape) if seed == 0 else rng.uniform(0.1, 0.9, shape)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_equal_numpy(name):
    data = _operand(name, (3, 4), 0)
    with np.errstate(all="ignore"):
        expected = UNARY[name](data)
        lazy = getattr(biggus, name)(biggus.NumpyArrayAdapter(data))
        assert isinstance(lazy, biggus.Array)
        assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
        assert_same(lazy[1:, ::-2].ndarray(), expected[1:, ::-2])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_functions_equal_numpy(name):
    a, b = _operand(name, (3, 1), 0), _operand(name, (4,), 1)
    with np.errstate(all="ignore"):
        expected = BINARY[name](a, b)
        lazy = getattr(biggus, name)(biggus.NumpyArrayAdapter(a), b)
        assert_same(lazy.ndarray(), expected)


def test_isreal_iscomplex_of_real_and_masked_arrays():
    real = np.arange(4.0)
    assert_same(biggus.isreal(real).ndarray(), np.isreal(real))
    assert_same(biggus.iscomplex(real).ndarray(), np.iscomplex(real))
    data = np.ma.masked_array([1 + 1j, 2, 3j], mask=[0, 1, 0])
    result = biggus.isreal(data).masked_array()
    assert result.mask.tolist() == [False, True, False]
    assert result.filled(True).tolist() == [False, True, False]


def test_division_keeps_python_2_names():
    a = biggus.NumpyArrayAdapter(np.arange(1.0, 5.0))
    assert_same(a.__div__(2).ndarray(), np.arange(1.0, 5.0) / 2)
    assert_same(a.__rdiv__(2).ndarray(), 2 / np.arange(1.0, 5.0))
    assert a.__div__(None) is NotImplemented


# -- subclasses written to Biggus's contract -----------------------------------


class Windowed(biggus.Array):
    """Biggus's contract: dtype, shape, _getitem_full_keys, ndarray, masked_array.

    A window ``[start, stop)`` of rows of a source, read when realised; rows
    equal to ``masked_row`` are masked by ``masked_array``.
    """

    def __init__(self, source, start=0, stop=None, masked_row=None):
        self.source, self.start = source, start
        self.stop = len(source) if stop is None else stop
        self.masked_row = masked_row

    @property
    def dtype(self):
        return self.source.dtype

    @property
    def shape(self):
        return (self.stop - self.start,) + self.source.shape[1:]

    def _getitem_full_keys(self, keys):
        first, rest = keys[0], keys[1:]
        if isinstance(first, slice) and first.step in (None, 1):
            start, stop, _ = first.indices(self.shape[0])
            window = Windowed(self.source, self.start + start, self.start + max(start, stop),
                              self.masked_row)
            if all(isinstance(k, slice) and k.indices(n) == (0, n, 1)
                   for k, n in zip(rest, self.shape[1:])):
                return window
            return biggus.NumpyArrayAdapter(window.masked_array())[(slice(None),) + rest]
        # Anything else: Biggus's way, realise this window and index that.
        return biggus.NumpyArrayAdapter(self.masked_array())[keys]

    def ndarray(self):
        return np.asarray(self.source[self.start:self.stop])

    def masked_array(self):
        data = self.ndarray()
        mask = np.zeros(data.shape, bool)
        if self.masked_row is not None and self.start <= self.masked_row < self.stop:
            mask[self.masked_row - self.start] = True
        return np.ma.masked_array(data, mask=mask)


class Counted:
    """A source counting the rows read."""

    def __init__(self, data):
        self.data, self.dtype, self.shape = data, data.dtype, data.shape
        self.rows = np.zeros(len(data), int)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, key):
        self.rows[key] += 1
        return self.data[key]


def test_biggus_subclass_is_an_instantiable_indexable_leaf():
    data = np.arange(40.0).reshape(10, 4)
    w = Windowed(Counted(data))
    assert (w.shape, w.dtype, w.ndim, w.nbytes, w.inputs) == ((10, 4), data.dtype, 2, 320, ())
    for key in [np.s_[2:7], np.s_[2:7, 1], np.s_[::-3, [3, 0]], np.s_[..., 2], np.s_[4, None]]:
        assert_same(w[key].ndarray(), data[key])
    assert_same(np.asarray(w), data)
    with pytest.raises(TypeError):
        hash(w)


def test_biggus_subclass_evaluates_in_one_pass_through_its_hooks():
    data = np.random.default_rng(0).normal(size=(2000, 8))
    source = Counted(data)
    w = Windowed(source)
    mean, std = biggus.mean(w, axis=0), biggus.std(w - 1, axis=0, ddof=1)
    assert not source.rows.any()  # building reads nothing
    with biggus.set_options(chunk_bytes=16 * 1024):
        m, s = biggus.ndarrays([mean, std])
    np.testing.assert_allclose(m, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s, (data - 1).std(axis=0, ddof=1), rtol=1e-12)
    assert (m.shape, m.dtype, s.dtype) == ((8,), data.dtype, data.dtype)
    assert source.rows.tolist() == [1] * 2000  # each row once, for both results
    # A selection reads only its rows.
    source.rows[:] = 0
    assert_same((w[100:110] * 2).ndarray(), data[100:110] * 2)
    assert source.rows.sum() == 10


def test_biggus_subclass_masks_are_honoured():
    data = np.arange(12.0).reshape(4, 3)
    w = Windowed(data, masked_row=1)
    expected = np.ma.masked_array(data, mask=np.repeat([[0], [1], [0], [0]], 3, axis=1))
    assert w.masked
    result = biggus.sum(w * 2, axis=0).masked_array()
    assert_same(result.data, np.ma.sum(expected * 2, axis=0).data)
    assert_same((w + 1).ndarray(), (expected + 1).filled(w.fill_value))


def test_biggus_subclass_with_getitem_and_no_hook():
    class Old(biggus.Array):  # the older contract: __getitem__ itself
        dtype = np.dtype("i8")
        shape = (5,)

        def __getitem__(self, keys):
            return biggus.NumpyArrayAdapter(np.arange(5))[keys]

        def ndarray(self):
            return np.arange(5)

        def masked_array(self):
            return np.ma.masked_array(np.arange(5))

    old = Old()
    assert old.ndim == 1
    assert_same((old * 3).ndarray(), np.arange(5) * 3)
    assert_same(biggus.max(old[1:4]).ndarray(), np.max(np.arange(5)[1:4]))


def test_biggus_subclass_hook_of_wrong_shape_is_refused():
    class Wrong(Windowed):
        def _getitem_full_keys(self, keys):
            return biggus.NumpyArrayAdapter(np.zeros(3))

    with pytest.raises(biggus.ShapeError, match=r"returned an array of shape \(3,\); expected"):
        Wrong(np.zeros((10, 4)))[2:5]


# -- ArrayContainer, size, errors ---------------------------------------------------


@pytest.mark.parametrize("wrap", [np.asarray, biggus.NumpyArrayAdapter], ids=["ndarray", "lazy"])
def test_array_container_passes_through(wrap):
    data = np.arange(24.0).reshape(4, 6)
    contained = wrap(data)
    c = biggus.ArrayContainer(contained)
    assert c.array is contained
    assert (c.shape, c.dtype) == (data.shape, data.dtype)
    assert_same(c.ndarray(), data)
    assert isinstance(c.masked_array(), np.ma.MaskedArray)
    assert_same(c.masked_array().data, data)
    assert_same(c[1:3, ::-2].ndarray(), data[1:3, ::-2])
    assert_same(biggus.mean(c, axis=1).ndarray(), data.mean(axis=1))
    assert_same(pickle.loads(pickle.dumps(c * 2)).ndarray(), data * 2)


def test_array_container_subclass_realises_itself():
    class Scaled(biggus.ArrayContainer):
        def __getitem__(self, keys):
            return Scaled(self.array[keys])

        def ndarray(self):
            return np.asarray(self.array) * 10

        def masked_array(self):
            return np.ma.masked_array(self.ndarray())

    data = np.arange(6.0).reshape(2, 3)
    s = Scaled(data)
    assert_same(s[1].ndarray(), data[1] * 10)
    assert_same((s + 1).ndarray(), data * 10 + 1)
    assert_same(biggus.sum(s, axis=0).ndarray(), (data * 10).sum(axis=0))


@pytest.mark.parametrize("nbytes, text", [
    (8, "8 B"), (1023, "1023 B"), (1024, "1.00 KiB"), (40000, "39.06 KiB"),
    (4e6, "3.81 MiB"), (4e9, "3.73 GiB"), (4e12, "3.64 TiB"), (4e15, "3637.98 TiB"),
])
def test_size_in_biggus_words(nbytes, text):
    class Sized:
        pass

    sized = Sized()
    sized.nbytes = nbytes
    assert biggus.size(sized) == text


def test_size_of_arrays():
    assert biggus.size(biggus.zeros((1024, 256), dtype="f4")) == "1.00 MiB"
    assert biggus.size(np.zeros(3)) == "24 B"


def test_axis_support_error_catches_axis_errors():
    with pytest.raises(biggus.AxisSupportError):
        biggus.mean(np.zeros((2, 3)), axis=2)


# -- mosaics, broadcasting, adapters ---------------------------------------------------


def test_linear_mosaic_of_one_array():
    data = np.arange(12.0, dtype="f4").reshape(3, 4)
    mosaic = biggus.LinearMosaic(biggus.NumpyArrayAdapter(data), 0)
    assert (mosaic.shape, mosaic.dtype, mosaic.ndim) == ((3, 4), np.dtype("f4"), 2)
    assert_same(mosaic[:, 2].ndarray(), data[:, 2])
    assert_same(biggus.LinearMosaic(mosaic, axis=1).ndarray(), data)


def test_multidim_array_stack_refuses_nested_lists():
    with pytest.raises(ValueError, match="expected a flat sequence of arrays"):
        biggus.ArrayStack.multidim_array_stack([[np.zeros(2)] * 3] * 2, (2, 3))
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        biggus.ArrayStack.multidim_array_stack([np.zeros(2)] * 6, (3, 1))


@pytest.mark.parametrize("a_shape, b_shape", [((1, 2), (2,)), ((2,), (1, 2)), ((1, 2), (3, 1)),
                                              ((3, 1, 5), (4, 1)), ((), (2, 3))])
def test_broadcast_arrays(a_shape, b_shape):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=a_shape), rng.normal(size=b_shape)
    a1, b1 = biggus.BroadcastArray.broadcast_arrays(a, b)
    ea, eb = np.broadcast_arrays(a, b)
    for original, result, expected in [(a, a1, ea), (b, b1, eb)]:
        if original.shape == expected.shape:
            assert result is original
        else:
            assert isinstance(result, biggus.BroadcastArray) and result.array is original
            assert_same(result.ndarray(), expected)
    with pytest.raises(ValueError, match="could not be broadcast"):
        biggus.BroadcastArray.broadcast_arrays(np.zeros((2, 3)), np.zeros((1, 2, 4)))


@pytest.mark.parametrize("key", [np.s_[:-1], np.s_[:, -1], np.s_[1, 1:, 0, ::2],
                                 np.s_[..., [0, 0, 3]], np.s_[:, [2, 0], 1, [3, 1], :],
                                 np.s_[[1, 0], 2, [0], 3]])
def test_broadcast_array_indexed_stays_one(key):
    orig = np.arange(15.0).reshape(1, 3, 1, 5)
    a = biggus.BroadcastArray(orig, {0: 6, 2: 4}, (2,))
    full = np.broadcast_to(orig, a.shape)
    result = a[key]
    assert isinstance(result, biggus.BroadcastArray)
    # Orthogonal indexing, as every lazy array's.
    items = list(np.index_exp[key])
    if items[0] is Ellipsis:
        items = [slice(None)] * (5 - len(items[1:])) + items[1:]
    items += [slice(None)] * (5 - len(items))
    expected = full[np.ix_(*[np.atleast_1d(np.arange(n)[k]) for k, n in zip(items, full.shape)])]
    expected = expected.reshape([len(np.arange(n)[k]) for k, n in zip(items, full.shape)
                                 if not isinstance(k, int)])
    assert_same(result.ndarray(), expected)
    if key == np.s_[:-1]:
        assert result.array is orig


@given(data=st.data())
def test_broadcast_array_indexed_by_random_keys_equals_numpy(data: st.DataObject) -> None:
    # Every key on a stretched axis (a single position included) selects
    # position 0 of the array; the rest select as numpy does, orthogonally.
    orig = np.arange(6.0).reshape(1, 2, 1, 3)
    a = biggus.BroadcastArray(orig, {0: 5, 2: 3}, (2,))
    full = np.broadcast_to(orig, a.shape)
    key = data.draw(keys(a.shape), label="key")
    assert_same(a[key].ndarray(), oindex(full, key))


class ShapeAndDtype:
    """A source with shape and dtype alone: no ndim, no __getitem__."""

    shape, dtype = (3, 4), np.dtype("f4")


@pytest.mark.parametrize("adapter", [biggus.NumpyArrayAdapter, biggus.OrthoArrayAdapter])
def test_adapter_over_a_source_without_ndim_or_getitem(adapter):
    array = adapter(ShapeAndDtype(), (1,))
    assert (array.shape, array.dtype, array.ndim) == ((4,), np.dtype("f4"), 1)
    assert array[::2].shape == (2,)
    with pytest.raises(TypeError, match="has no __getitem__ to read with"):
        array.ndarray()
    for attribute in ("shape", "dtype"):
        lacking = type("Lacking", (), {"shape": (3,), "dtype": np.dtype("f4")})()
        setattr(type(lacking), attribute, None)
        delattr(type(lacking), attribute)
        with pytest.raises(AttributeError, match=f"has no {attribute}"):
            adapter(lacking)
        with pytest.raises(TypeError):
            adapter(lacking)


@pytest.mark.parametrize("keys, then", [((1,), np.s_[::2]), ((slice(2, None), 3), np.s_[1:]),
                                        (([3, 0],), np.s_[:, -1]), ((-1, slice(None, None, -2)),
                                                                    np.s_[1:])])
def test_adapter_keys_compose_as_biggus(keys, then):
    data = np.arange(60.0).reshape(5, 4, 3)
    a = biggus.NumpyArrayAdapter(data, keys)
    assert_same(a.ndarray(), data[keys])
    assert a.chunks == tuple((n,) for n in data[keys].shape)
    b = a[then]
    # The view's block grid is its own, not the one cached for its parent.
    assert b.chunks == tuple((n,) for n in data[keys][then].shape)
    assert_same(b.ndarray(), data[keys][then])
    with recording_reads() as log:
        b.ndarray()
    assert log.counts(data).sum() == data[keys][then].size


def test_biggus_subclass_declared_unmasked_computes_plainly():
    class Plain(Windowed):
        masked = False

        def masked_array(self):
            raise AssertionError("an unmasked leaf is realised by ndarray()")

    data = np.arange(12.0).reshape(4, 3)
    plain = Plain(data)
    assert not plain.masked and not (plain * 2).masked
    assert_same(biggus.var(plain[1:] * 2, axis=0).ndarray(), np.var(data[1:] * 2, axis=0))
