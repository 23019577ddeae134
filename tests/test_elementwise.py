"""Tests of lazyarray.elementwise: every lazy ufunc against numpy, and where/clip/astype.

Each numpy ufunc of one or two inputs must have a lazy counterpart of the same
name that builds without reading and realises to exactly numpy's result: same
shape, same dtype (numpy 2 promotion), same values (NaNs equal), under the same
``np.errstate``. Dtype combinations numpy rejects must be rejected by lazyarray
with the same exception type when the graph is built.
"""

from __future__ import annotations

import itertools
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from examples import THOROUGH, examples
from hypothesis import given, settings
from hypothesis import strategies as st
from masked_oracle import (
    assert_masked_equal,
    assert_same_fill,
    default,
    expected_fill,
    ma_apply,
    normalised,
)
from numpy_oracle import (
    DTYPES,
    TIME_DTYPES,
    assert_same,
    assert_same_masked,
    check_against_numpy,
    numpy_rejection,
    outputs,
    sample,
)

import lazyarray as la
from lazyarray import kernels
from lazyarray.testing import CountingArray, InaccessibleArray

UFUNC_NAMES = sorted(
    name
    for name, value in vars(np).items()
    if isinstance(value, np.ufunc) and value.nin in (1, 2) and value.signature is None
)


def realise(operand: object) -> object:
    """A lazy operand as numpy sees it; anything else unchanged."""
    return operand.ndarray() if isinstance(operand, la.Array) else operand


def check_ufunc(name: str, operands: list, values: list | None = None, **options: object) -> str:
    """``la.<name>(*operands)`` builds like ``np.<name>`` and realises to its result.

    ``operands`` may mix lazy arrays, ndarrays and scalars; ``values`` are
    what numpy is given instead (the operands, realised, by default).
    Returns what :func:`check_against_numpy` does.
    """
    ufunc = getattr(np, name)
    return check_against_numpy(
        lambda: getattr(la, name)(*operands),
        ufunc,
        [realise(op) for op in operands] if values is None else values,
        nout=ufunc.nout,
        layouts=ufunc,
        **options,
    )


def accepted_dtype(ufunc: np.ufunc) -> np.dtype:
    """The first dtype numpy's ufunc accepts for all its inputs."""
    return next(
        d
        for d in DTYPES + TIME_DTYPES
        if numpy_rejection(ufunc, [np.empty(0, d)] * ufunc.nin) is None
    )


# -- every ufunc exists and is lazy ------------------------------------------


def test_ufunc_list_is_numpy_s():
    # Guards the enumeration itself: it must find numpy's ufuncs, aliases included.
    assert len(UFUNC_NAMES) > 90
    for name in ("add", "sqrt", "divmod", "frexp", "abs", "pow", "bitwise_invert", "isnat"):
        assert name in UFUNC_NAMES


def test_every_numpy_ufunc_has_a_lazy_counterpart():
    missing = [name for name in UFUNC_NAMES if not callable(getattr(la, name, None))]
    assert missing == [], f"numpy ufuncs without a lazy counterpart in lazyarray: {missing}"
    not_exported = [name for name in UFUNC_NAMES if name not in la.__all__]
    assert not_exported == []


@pytest.mark.parametrize("name", UFUNC_NAMES)
def test_lazy_ufunc_builds_without_reading(name):
    ufunc = getattr(np, name)
    dtype = accepted_dtype(ufunc)
    operands = [la.asarray(InaccessibleArray((2, 1, 3), dtype))] + [
        la.asarray(InaccessibleArray((4, 1), dtype))
    ] * (ufunc.nin - 1)
    results = outputs(getattr(la, name)(*operands), ufunc.nout)
    with np.errstate(all="ignore"):
        expected = outputs(ufunc(*(np.zeros(op.shape, dtype) for op in operands)), ufunc.nout)
    for result, want in zip(results, expected):
        assert isinstance(result, la.Array)
        assert result.shape == want.shape
        assert result.dtype == want.dtype
        assert result[1:, ::2].shape == want[1:, ::2].shape  # indexing does not read either


@pytest.mark.parametrize("name", UFUNC_NAMES)
def test_lazy_ufunc_of_ndarrays_is_lazy(name):
    # Given only ndarrays, the lazy function still returns lazy arrays.
    ufunc = getattr(np, name)
    dtype = accepted_dtype(ufunc)
    for result in outputs(getattr(la, name)(*[np.zeros(3, dtype)] * ufunc.nin), ufunc.nout):
        assert isinstance(result, la.Array)


# -- every ufunc, every dtype combination, against numpy ----------------------


# One name per ufunc: aliases (acos, pow...) are the same ufunc, and the
# hypothesis test below checks every name.
UNIQUE_UFUNC_NAMES = sorted({getattr(np, name).__name__ for name in UFUNC_NAMES})


@pytest.mark.parametrize("name", UNIQUE_UFUNC_NAMES)
def test_ufunc_every_dtype_combination(name):
    """Every dtype combination, broadcast operands, several tiles: numpy's result.

    ``make test`` takes every dtype with itself and a fifth of the mixed
    pairs (a fixed choice per ufunc; over all ufuncs, every pair is taken
    many times); ``make test-all`` every pair for every ufunc.
    """
    ufunc = getattr(np, name)
    rng = np.random.default_rng(sum(map(ord, name)))
    shapes = [(2, 4, 3)] if ufunc.nin == 1 else [(2, 1, 3), (4, 1)]
    combinations = list(itertools.product(DTYPES + TIME_DTYPES, repeat=ufunc.nin))
    if not THOROUGH:
        combinations = [c for c in combinations
                        if len(set(c)) == 1 or rng.random() < 1 / 5]
    computed = 0
    for dtypes in combinations:
        arrays = [sample(d, s, rng) for d, s in zip(dtypes, shapes)]
        outcome = check_ufunc(name, [la.asarray(a) for a in arrays], values=arrays, chunk_bytes=100)
        computed += outcome == "computed"
    assert computed > 0  # numpy computes it for some dtypes, and so the values were compared


# -- hypothesis: random shapes, dtypes, values and operand kinds -------------


@st.composite
def operand(draw, dtype: np.dtype, shape: tuple[int, ...]) -> object:
    """A lazy array, an ndarray, a Python scalar or a numpy scalar of ``dtype``."""
    kinds = ["lazy", "lazy", "ndarray", "numpy scalar"]
    if dtype.kind in "biufc":
        kinds.append("python scalar")
    kind = draw(st.sampled_from(kinds))
    if kind in ("lazy", "ndarray"):
        values = draw(hnp.arrays(dtype, shape))
        return la.asarray(values) if kind == "lazy" else values
    value = draw(hnp.arrays(dtype, ()))[()]
    if kind == "numpy scalar":
        return value
    if dtype.kind == "i":
        # Python ints beyond the dtype's range: numpy 2 raises OverflowError
        # when they meet a narrower integer array.
        return draw(st.integers(-(2**40), 2**40))
    return value.item()


@st.composite
def ufunc_operands(draw, nin: int) -> list:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=nin, max_dims=3, min_side=0, max_side=4)
    )
    dtypes = [draw(st.sampled_from(DTYPES + TIME_DTYPES)) for _ in range(nin)]
    return [draw(operand(d, s)) for d, s in zip(dtypes, shapes.input_shapes)]


@pytest.mark.parametrize("name", UFUNC_NAMES)
@settings(max_examples=examples(5, 30))
@given(data=st.data())
def test_ufunc_matches_numpy(name, data):
    ufunc = getattr(np, name)
    operands = data.draw(ufunc_operands(ufunc.nin), label="operands")
    chunk_bytes = data.draw(st.integers(1, 512), label="chunk_bytes")
    check_ufunc(name, operands, chunk_bytes=chunk_bytes)


@pytest.mark.parametrize("name", ["add", "sqrt", "divide", "floor_divide", "power", "log"])
@given(data=st.data())
def test_errstate_applies_to_evaluation(name, data):
    # The caller's errstate governs evaluation as it governs numpy: "raise"
    # raises FloatingPointError where numpy does, "ignore" stays quiet.
    ufunc = getattr(np, name)
    dtype = data.draw(st.sampled_from([np.dtype("f8"), np.dtype("i4")]))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
    arrays = [data.draw(hnp.arrays(dtype, shape)) for _ in range(ufunc.nin)]
    lazy = outputs(getattr(la, name)(*map(la.asarray, arrays)), ufunc.nout)
    with np.errstate(all="raise"):
        try:
            expected = ufunc(*arrays)
        except (FloatingPointError, ValueError) as error:
            with pytest.raises(type(error)):
                la.ndarrays(list(lazy), chunk_bytes=8)
        else:
            assert_same(la.ndarrays(list(lazy), chunk_bytes=8)[0], expected)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("error")
        try:
            expected = ufunc(*arrays)
        except ValueError:  # integer ** negative integer
            return
        assert_same(la.ndarrays(list(lazy), chunk_bytes=8)[0], expected)


# -- masked operands -----------------------------------------------------------


def masked_reference(ufunc: np.ufunc) -> object:
    """numpy.ma's version of a ufunc where it has one (looked up by the ufunc's
    own name: ``np.acos`` is ``np.arccos``), else the ufunc itself, which
    MaskedArray's ``__array_wrap__`` makes masked. Not numpy.ma's shifts,
    which fail when the shift count broadcasts (the ufuncs give what they
    give where they work)."""
    counterpart = getattr(np.ma, ufunc.__name__, None)
    if not callable(counterpart) or ufunc in (np.left_shift, np.right_shift):
        return ufunc
    return counterpart


#: Ufuncs whose results take the default fill value, as numpy.ma's (the
#: extrema are numpy.ma.where underneath; the shifts build new arrays).
DEFAULT_FILL = {"maximum", "minimum", "left_shift", "right_shift"}


def fill_values_for(dtype: np.dtype) -> list:
    """Fill values to set on a source of ``dtype``: unset, and one set."""
    if dtype.kind in "mM":
        return [None]
    return [None, {"b": False, "i": 7, "u": 7, "f": -9.5, "c": 2 - 1j}[dtype.kind]]


@pytest.mark.parametrize("name", UNIQUE_UFUNC_NAMES)
@pytest.mark.parametrize("shape", [(3, 4), ()], ids=["2d", "0d"])
def test_ufunc_keeps_masks_and_fill_values_as_numpy_ma(name, shape):
    """Data where unmasked, mask, dtype and fill value of numpy.ma's result,
    for every dtype, operands partly or fully masked, fill values set or not."""
    ufunc = getattr(np, name)
    rng = np.random.default_rng(7)
    dtypes = [
        d
        for d in DTYPES + TIME_DTYPES
        if numpy_rejection(ufunc, [np.empty(0, d)] * ufunc.nin) is None
    ]
    assert dtypes
    if shape == () and not THOROUGH:
        # 0-d operands take numpy.ma's scalar paths, the same for every dtype
        # of a kind: half the dtypes here, alternating between ufuncs (all in
        # make test-all).
        dtypes = dtypes[sum(map(ord, name)) % 2::2] or dtypes
    cases = list(itertools.product(dtypes, (False, True)))
    if not THOROUGH:
        # Fully masked operands take one path whatever the dtype: every other
        # dtype has that case here (all in make test-all).
        cases = [case for n, case in enumerate(cases) if not case[1] or n % 4 == 1]
    for number, (dtype, fully_masked) in enumerate(cases):
        # The fill value set on every other case (and so on both kinds of mask).
        fill = fill_values_for(dtype)[number // 2 % 2 and -1]
        data = [sample(dtype, shape, rng) for _ in range(ufunc.nin)]
        masks = [np.ones(shape, bool) if fully_masked else rng.random(shape) < 0.3
                 for _ in range(ufunc.nin)]

        def operands(data=data, masks=masks, fill=fill):
            # Fresh numpy.ma arrays for each side: reading a numpy.ma array's
            # fill_value sets it, which changes what numpy.ma's results carry.
            return [np.ma.masked_array(d.copy(), mask=m.copy(), fill_value=fill if i == 0
                                       else None) for i, (d, m) in enumerate(zip(data, masks))]

        lazy = outputs(getattr(la, name)(*map(la.asarray, operands())), ufunc.nout)
        with np.errstate(all="ignore"):
            try:
                expected = outputs(ma_apply(masked_reference(ufunc), *operands()), ufunc.nout)
            except ValueError as error:  # integer ** negative integer
                with pytest.raises(type(error)):
                    la.masked_arrays(list(lazy), chunk_bytes=16)
                continue
        # Masked mode computes without floating-point warnings (masked points
        # hold anything): no errstate around lazyarray, warnings are errors.
        realised = la.masked_arrays(list(lazy), chunk_bytes=16)
        for actual, want, node in zip(realised, expected, lazy):
            fill_wanted = default(node.dtype) if name in DEFAULT_FILL else "from result"
            want = normalised(want, node.dtype, fill_wanted)
            assert_masked_equal(actual, want, where=f"{name} {dtype}")
            assert_same_fill(node.fill_value, expected_fill(want, node.dtype), node.dtype,
                             f"{name} {dtype} (declared)")


MASKED_BINARY_NAMES = [
    name
    for name in UNIQUE_UFUNC_NAMES
    if getattr(np, name).nin == 2 and callable(getattr(np.ma, name, None))
]


@pytest.mark.parametrize("name", MASKED_BINARY_NAMES)
@pytest.mark.parametrize(
    "dtype, scalar", [("f4", 0.1), ("f4", 3), ("f4", 1j), ("i1", 3), ("u1", 7), ("i2", 2.5)]
)
@pytest.mark.parametrize("reflected", [False, True], ids=["scalar-right", "scalar-left"])
def test_masked_mode_types_python_scalars_as_numpy_does(name, dtype, scalar, reflected):
    # numpy.ma types Python scalars by their default dtype (float64 for 0.1);
    # lazyarray's masked results must equal numpy's unmasked ones, so that
    # float32 data == 0.1 is True where the data is float32(0.1).
    ufunc = getattr(np, name)
    rng = np.random.default_rng(11)
    first = np.asarray([getattr(scalar, "real", scalar)]).astype(dtype)  # the scalar itself
    values = np.concatenate([first, sample(np.dtype(dtype), (11,), rng)])
    source = np.ma.masked_array(values, mask=rng.random(values.shape) < 0.3)
    plain_args = (scalar, values) if reflected else (values, scalar)
    lazy_args = (scalar, la.asarray(source)) if reflected else (la.asarray(source), scalar)
    rejected = numpy_rejection(ufunc, plain_args)
    if rejected is not None:
        with pytest.raises(type(rejected)):
            getattr(la, name)(*lazy_args)
        return
    lazy = getattr(la, name)(*lazy_args)
    with np.errstate(all="ignore"):
        try:
            expected = ufunc(*plain_args)
        except ValueError as error:  # integer ** negative integer
            with pytest.raises(type(error)):
                lazy.masked_array(chunk_bytes=16)
            return
        result = lazy.masked_array(chunk_bytes=16)
    assert result.dtype == lazy.dtype == expected.dtype
    mask = np.ma.getmaskarray(result)
    assert mask[source.mask].all()
    assert_same(result.data[~mask], expected[~mask])


def test_masked_results_chain_in_declared_dtype():
    # A fully masked 0-d int result feeds an integer-only ufunc.
    x = la.asarray(np.ma.masked_array(np.int8(7), mask=True))
    y = la.left_shift(la.floor_divide(x, np.int8(2)), 1)
    assert y.dtype == np.int8
    result = y.masked_array()
    assert result.dtype == np.int8 and result.shape == () and result.mask
    assert y.ndarray().dtype == np.int8


def test_masked_values_keep_masks_through_expressions():
    a = np.ma.masked_array(np.arange(12.0).reshape(3, 4), mask=np.arange(12).reshape(3, 4) % 5 == 0)
    b = np.ma.masked_array(np.linspace(-1, 1, 4), mask=[0, 1, 0, 0])
    lazy = (la.asarray(a) - b) * 2.5 + la.sqrt(la.asarray(a))
    with np.errstate(all="ignore"):
        expected = (a - b) * 2.5 + np.ma.sqrt(a)
    assert_same_masked(lazy.masked_array(chunk_bytes=24), expected)
    # Plain mode: numpy.ma's result, its masked points filled with the result's
    # fill value (not computed from the sources' fill values).
    assert_same(lazy.ndarray(chunk_bytes=24), expected.filled(lazy.fill_value))


# -- masked maths: numpy.ma's domains and fill values ------------------------------


@pytest.mark.parametrize("name, values", [
    ("log", [-1.0, 0.0, 2.0]),
    ("log10", [-1.0, 0.0, 100.0]),
    ("log2", [-4.0, 0.0, 8.0]),
    ("sqrt", [-4.0, 0.0, 9.0]),
    ("arccos", [-2.0, 0.5, 1.5]),
    ("arcsin", [-1.5, 0.5, 2.0]),
    ("arctanh", [-1.0, 0.5, 1.0]),
    ("tan", [0.0, np.pi / 4, 1.0]),
])
def test_domain_errors_are_masked_as_numpy_ma(name, values):
    data = np.ma.masked_array(values + [7.0], mask=[0, 0, 0, 1])
    lazy = getattr(la, name)(la.asarray(data.copy()))
    with np.errstate(all="ignore"):
        expected = getattr(np.ma, name)(data)
    assert np.ma.getmaskarray(expected)[:3].any() or name == "tan"  # the case is one
    result = lazy.masked_array(chunk_bytes=8)  # no warning in masked mode
    assert_same_masked(result, expected)
    # Plain realisation: masked points (the domain errors too) are the fill value.
    assert_same(lazy.ndarray(chunk_bytes=8), expected.filled(lazy.fill_value))


@pytest.mark.parametrize("name, x, y", [
    ("divide", [1.0, 2.0, 3.0], [0.0, 4.0, -0.0]),
    ("true_divide", [1, 2, 3], [0, 4, 1]),
    ("floor_divide", [7, 8, 9], [0, 3, 2]),
    ("remainder", [7.0, 8.0, 9.0], [0.0, 3.0, 2.0]),
    ("fmod", [7, 8, 9], [0, 3, 2]),
    ("power", [-8.0, 4.0, 0.0], [0.5, 0.5, -1.0]),
    ("arctan2", [0.0, 1.0, -1.0], [0.0, 1.0, 2.0]),
    ("hypot", [3.0, 1e308, 1.0], [4.0, 1e308, 0.0]),
])
def test_binary_domain_errors_are_masked_as_numpy_ma(name, x, y):
    a = np.ma.masked_array(x, mask=[0, 0, 1])
    b = np.ma.masked_array(y, mask=[0, 0, 0])
    lazy = getattr(la, name)(la.asarray(a.copy()), la.asarray(b.copy()))
    with np.errstate(all="ignore"):
        expected = getattr(np.ma, name)(a, b)
    assert_same_masked(lazy.masked_array(chunk_bytes=8), expected)


def test_python_scalars_are_weak_in_masked_mode_too():
    # numpy.ma makes 0.1 a float64 array (float32 data * 0.1 is float64 in numpy.ma);
    # a node has one dtype, numpy's, in both modes.
    data = np.ma.masked_array(np.array([1, 2, 3], "f4"), mask=[0, 1, 0])
    lazy = la.asarray(data) * 0.1
    assert lazy.dtype == np.float32 == (data.data * 0.1).dtype
    assert lazy.masked_array().dtype == np.float32
    np.testing.assert_array_equal(lazy.masked_array().compressed(), data.compressed() * np.float32(0.1))


def test_fill_value_is_the_first_masked_operands_converted():
    m = np.ma.masked_array(np.array([1, 2, 3], "i4"), mask=[0, 1, 0], fill_value=7)
    other = np.ma.masked_array([1.0, 2.0, 3.0], mask=[1, 0, 0], fill_value=-5.0)
    plain = np.array([1.5, 2.5, 3.5])
    x, y = la.asarray(m), la.asarray(other)
    # As numpy.ma: the first masked operand's, in the result's dtype.
    assert (x / 2).fill_value == np.float64(7.0) == (m / 2).fill_value
    assert (x + y).fill_value == 7.0 and (y + x).fill_value == -5.0
    assert (2 - x).fill_value == 7  # scalars have none
    # Plain arrays have none either: numpy.ma takes the masked array's.
    assert (la.asarray(plain) * y).fill_value == -5.0 == np.ma.multiply(plain, other).fill_value
    # Comparisons: the truth value, as numpy.ma's comparison operators make it.
    assert (x > 1).fill_value == (m > 1).fill_value == np.True_
    zero = np.ma.masked_array([1.0, 2.0], mask=[0, 1], fill_value=0.0)
    assert (la.asarray(zero) > 1).fill_value == np.False_ == (zero > 1).fill_value
    # No fill value set: the default of the result's dtype, as numpy.ma's unset one.
    unset = np.ma.masked_array(np.array([1, 2], "i2"), mask=[0, 1])
    assert (la.asarray(unset) * 1.5).fill_value == np.ma.default_fill_value(np.float64(0))
    # where takes none of its operands' (numpy.ma.where); extrema neither.
    assert la.where(np.array([True, False, True]), x, y).fill_value == 1e20
    assert la.maximum(y, x).fill_value == 1e20
    assert la.clip(y, 0, 2).fill_value == -5.0 == np.ma.clip(other, 0, 2).fill_value
    # Kept through indexing, transposes and broadcasting.
    assert x[::2].fill_value == la.broadcast_to(x, (2, 3)).T.fill_value == 7


@pytest.mark.parametrize("value, dtype, expected", [
    (7, "f4", np.float32(7)),  # converted, as numpy.ma's astype
    (300, "i1", np.int8(44)),  # integers wrap, as numpy.ma's astype
    (-9.5, "i2", np.int16(-9)),  # floats truncate, as numpy.ma's astype
    (-1e30, "i4", np.int64(999999)),  # out of range: undefined, the default instead
    (np.nan, "i8", np.int64(999999)),  # NaN: undefined, the default instead
    (1e10, "f2", np.float16(np.inf)),  # overflows float16: its default (infinity)
    (0.0, "?", np.False_),  # anything non-zero is true
])
def test_astype_converts_the_fill_value(value, dtype, expected):
    source_dtype = "f8" if isinstance(value, float) else "i8"
    m = np.ma.masked_array(np.array([1, 2], source_dtype), mask=[0, 1], fill_value=value)
    lazy = la.asarray(m).astype(dtype)
    assert lazy.fill_value == expected and lazy.fill_value.dtype == np.asarray(expected).dtype
    result = lazy.masked_array()  # no warning for fill values that do not fit
    assert result.fill_value == expected
    if not np.isnan(value) and abs(value) < 1e9:
        with np.errstate(all="ignore"):
            assert m.astype(dtype).fill_value == expected  # what numpy.ma gives too


def test_plain_realisation_fills_masked_points_with_the_fill_value():
    m = np.ma.masked_array([4.0, -1.0, 9.0, 16.0], mask=[0, 0, 1, 0], fill_value=-99.0)
    lazy = la.log(la.asarray(m)) * 2
    with np.errstate(all="ignore"):
        expected = np.ma.log(m) * 2
    assert lazy.fill_value == -99.0
    # Masked points, and the logarithm of -1 that numpy.ma masks: the fill value,
    # not NaN and not the logarithm of the source's fill value.
    assert_same(lazy.ndarray(chunk_bytes=8), expected.filled(-99.0))
    with np.errstate(invalid="ignore"):  # plain data: numpy's NaN (and warning)
        assert np.isnan(la.log(np.array([-1.0])).ndarray()).all()


# -- graph structure: indexing pushes down, scalars stay weak -----------------


def test_indexing_an_elementwise_node_reads_only_the_selection():
    a = CountingArray(np.arange(20.0).reshape(4, 5))
    b = CountingArray(np.arange(5.0))
    lazy = la.asarray(a) * la.asarray(b) + 1
    assert_same(lazy[1:3, [4, 0]].ndarray(), (a._array * b._array + 1)[1:3][:, [4, 0]])
    assert a.counts.sum() == 4 and a.counts[1:3, [0, 4]].all()
    assert b.counts.sum() == 2 and b.counts[[0, 4]].all()


def test_two_output_ufuncs_return_tuples_of_lazy_arrays():
    x = np.array([-2.5, 0.0, 3.75, 8.0])
    for name in ("divmod", "modf", "frexp"):
        ufunc = getattr(np, name)
        operands = [x, np.array(1.5)][: ufunc.nin]
        result = getattr(la, name)(*operands)
        assert isinstance(result, tuple) and len(result) == 2
        assert all(isinstance(r, la.Array) for r in result)
        for r, want in zip(result, ufunc(*operands)):
            assert_same(r.ndarray(), want)


def test_elementwise_node_with_a_python_function():
    node = la.Elementwise(np.hypot, [np.array([[3.0], [6.0]]), np.array([4.0, 8.0])])
    assert repr(node) == "<Elementwise shape=(2, 2) dtype=float64 size=32 B>"
    assert_same(node.ndarray(), np.hypot([[3.0], [6.0]], [4.0, 8.0]))
    assert_same(node[1].ndarray(), np.array([np.hypot(6, 4), np.hypot(6, 8)]))
    assert len(node.inputs) == 2


def test_scalar_only_expression_is_0d():
    node = la.add(1, 2.5)
    assert node.shape == () and node.dtype == np.float64
    assert_same(node.ndarray(), np.asarray(np.add(1, 2.5)))


@pytest.mark.parametrize(
    "shapes", [[(3,), (4,)], [(2, 3), (3, 2)], [(5, 1, 2), (4, 3)], [(0,), (2,)]]
)
def test_operands_that_do_not_broadcast_raise_shape_error(shapes):
    arrays = [la.asarray(InaccessibleArray(s, "f8")) for s in shapes]
    with pytest.raises(la.ShapeError) as info:
        la.add(*arrays)
    assert isinstance(info.value, ValueError)
    for shape in shapes:
        assert str(shape) in str(info.value)
    with pytest.raises(ValueError):
        np.add(*(np.zeros(s) for s in shapes))  # numpy refuses the same shapes


def test_apply_ufunc_refuses_generalised_ufuncs_and_wrong_arity():
    with pytest.raises(TypeError, match="matmul"):
        la.apply_ufunc(np.matmul, np.eye(2), np.eye(2))
    with pytest.raises(TypeError, match="add takes 2"):
        la.apply_ufunc(np.add, np.zeros(2))
    with pytest.raises(TypeError):
        la.sqrt(np.zeros(2), np.zeros(2))


def test_apply_ufunc_takes_any_elementwise_callable_of_declared_dtype():
    """np.vectorize, np.frompyfunc and numba's @vectorize, given ``dtype``: numpy's
    values converted to it, over several tiles; masked points stay masked."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal(5)
    mask = rng.random((6, 5)) < 0.3
    step = np.vectorize(lambda u, v: 1.0 if u > v else -1.0)
    plus = np.frompyfunc(lambda u, v: u + 2 * v, 2, 1)
    cases = [(step, "f4"), (plus, "f8"), (np.hypot, "f4")]
    if kernels.available():  # numba's @vectorize too, where numba is installed (make test)
        import numba

        cases.append((numba.vectorize(lambda u, v: u * v - 1.0), "f8"))
    for func, dtype in cases:
        expected = np.asarray(func(a, b), dtype=dtype)
        lazy = la.apply_ufunc(func, la.asarray(a), b, dtype=dtype)
        assert lazy.dtype == np.dtype(dtype) and lazy.shape == (6, 5)
        assert_same(lazy.ndarray(chunk_bytes=64), expected)
        masked = la.apply_ufunc(func, la.asarray(np.ma.masked_array(a, mask=mask)), b,
                                dtype=dtype).masked_array(chunk_bytes=64)
        np.testing.assert_array_equal(np.ma.getmaskarray(masked), mask)
        np.testing.assert_array_equal(masked.data[~mask], expected[~mask])
    empty = la.apply_ufunc(step, np.zeros((0, 5)), b, dtype="f4").ndarray()
    assert empty.shape == (0, 5) and empty.dtype == np.float32


def test_apply_ufunc_refuses_callables_without_a_dtype_and_wrong_shapes():
    step = np.vectorize(lambda u: u)
    with pytest.raises(TypeError, match=r"not a numpy ufunc.*dtype=\.\.\."):
        la.apply_ufunc(step, np.zeros(3))
    with pytest.raises(TypeError, match="one output; divmod has 2"):
        la.apply_ufunc(np.divmod, np.zeros(3), 2, dtype="f8")
    summed = la.apply_ufunc(lambda u: u.sum(keepdims=True), np.zeros(3), dtype="f8")
    with pytest.raises(la.ShapeError, match=r"returned shape \(1,\) for operands broadcast "
                                            r"to \(3,\)"):
        summed.ndarray()


# -- where, clip, astype, Biggus aliases -------------------------------------


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4),
    dtypes=st.tuples(*[st.sampled_from(DTYPES)] * 2),
    data=st.data(),
)
def test_where_matches_numpy(shapes, dtypes, data):
    condition = data.draw(hnp.arrays(bool, shapes.input_shapes[0]))
    x = data.draw(hnp.arrays(dtypes[0], shapes.input_shapes[1]))
    y = data.draw(hnp.arrays(dtypes[1], shapes.input_shapes[2]))
    lazy = la.where(la.asarray(condition), x, la.asarray(y))
    assert lazy.shape == shapes.result_shape
    assert_same(lazy.ndarray(chunk_bytes=data.draw(st.integers(1, 256))), np.where(condition, x, y))


@pytest.mark.parametrize(
    "x, y",
    [(1, np.float32(2)), (1.5, np.arange(3, dtype="f4")), (np.int8(3), 300), (True, 2)],
)
def test_where_with_scalars_promotes_as_numpy(x, y):
    condition = np.array([True, False, True])
    assert_same(la.where(condition, x, y).ndarray(), np.where(condition, x, y))


def test_where_keeps_masks():
    condition = np.array([True, False, True, False])
    x = np.ma.masked_array([1.0, 2, 3, 4], mask=[1, 0, 0, 1])
    y = np.ma.masked_array([5.0, 6, 7, 8], mask=[0, 1, 0, 0])
    assert_same_masked(la.where(condition, x, y).masked_array(), np.ma.where(condition, x, y))


@pytest.mark.parametrize("dtype", DTYPES[:-1], ids=str)  # complex has no order to clip by
@pytest.mark.parametrize(
    "bounds", [(1, 5), (None, 5), (1, None), (2.5, 4.5), (np.int8(1), 3), (-1, 300), (None, None)]
)
def test_clip_matches_numpy(dtype, bounds):
    a = sample(dtype, (3, 4), np.random.default_rng(3))
    lower, upper = bounds
    try:
        with np.errstate(all="ignore"):
            expected = np.clip(a, lower, upper)
    except Exception as error:  # noqa: BLE001 - numpy is the oracle
        with pytest.raises(type(error)):
            la.clip(la.asarray(a), lower, upper).ndarray()
        return
    with np.errstate(all="ignore"):
        assert_same(la.clip(la.asarray(a), lower, upper).ndarray(chunk_bytes=16), expected)


def test_clip_with_array_bounds():
    a = np.arange(12.0).reshape(3, 4)
    lo, hi = np.array([0, 2, 4, 6.0]), np.array([[3.0], [5.0], [9.0]])
    assert_same(la.clip(a, la.asarray(lo), hi).ndarray(), np.clip(a, lo, hi))
    assert_same(la.clip(la.asarray(a), None, la.asarray(hi)).ndarray(), np.clip(a, None, hi))


def test_clip_without_bounds_does_as_numpy():
    a = np.arange(4, dtype="i2")
    try:
        expected = np.clip(a, None, None)  # numpy 2.0 raises, later versions copy
    except ValueError:
        with pytest.raises(ValueError):
            la.clip(a)
        return
    assert_same(la.clip(la.asarray(a)).ndarray(), expected)


@pytest.mark.parametrize("source", DTYPES, ids=str)
@pytest.mark.parametrize("target", DTYPES, ids=str)
def test_astype_matches_numpy(source, target):
    a = sample(source, (3, 5), np.random.default_rng(5))
    if source.kind == "f" and target.kind in "iub":
        a = np.where(np.isfinite(a) & (abs(a) < 100), a, 1).astype(
            source
        )  # casting NaN to int is UB
    if source.kind == "c" and target.kind != "c":
        a = np.where(np.isfinite(a) & (abs(a) < 100), a.real, 1).astype(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        expected = a.astype(target)
        lazy = la.asarray(a).astype(target)
        assert lazy.dtype == target and lazy.shape == a.shape
        assert_same(lazy.ndarray(chunk_bytes=8), expected)
        assert_same(la.astype(a, target).ndarray(), expected)


def test_astype_to_the_same_dtype_is_the_array_itself():
    x = la.asarray(np.arange(3))
    assert x.astype(x.dtype) is x
    assert x.astype("f4")[1:].ndarray().dtype == np.float32


@pytest.mark.parametrize(
    "alias, name", [("sub", "subtract"), ("mod", "remainder"), ("true_divide", "divide")]
)
def test_biggus_aliases(alias, name):
    a, b = np.array([7.5, -3, 4]), np.array([2.0, 2, -3])
    assert_same(getattr(la, alias)(la.asarray(a), b).ndarray(), getattr(np, name)(a, b))
