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
from hypothesis import given, settings
from hypothesis import strategies as st
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
    """Every dtype combination, broadcast operands, several tiles: numpy's result."""
    ufunc = getattr(np, name)
    rng = np.random.default_rng(sum(map(ord, name)))
    shapes = [(2, 4, 3)] if ufunc.nin == 1 else [(2, 1, 3), (4, 1)]
    computed = 0
    for dtypes in itertools.product(DTYPES + TIME_DTYPES, repeat=ufunc.nin):
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
@settings(max_examples=12)
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
    MaskedArray's ``__array_wrap__`` makes masked."""
    counterpart = getattr(np.ma, ufunc.__name__, None)
    return counterpart if callable(counterpart) else ufunc


@pytest.mark.parametrize("name", UNIQUE_UFUNC_NAMES)
@pytest.mark.parametrize("shape", [(3, 4), ()], ids=["2d", "0d"])
def test_ufunc_keeps_masks(name, shape):
    ufunc = getattr(np, name)
    rng = np.random.default_rng(7)
    dtypes = [
        d
        for d in DTYPES + TIME_DTYPES
        if numpy_rejection(ufunc, [np.empty(0, d)] * ufunc.nin) is None
    ]
    assert dtypes
    for dtype in dtypes:
        for fully_masked in (False, True):
            operands = [
                np.ma.masked_array(
                    sample(dtype, shape, rng),
                    mask=np.ones(shape, bool) if fully_masked else rng.random(shape) < 0.3,
                )
                for _ in range(ufunc.nin)
            ]
            lazy = outputs(getattr(la, name)(*map(la.asarray, operands)), ufunc.nout)
            with np.errstate(all="ignore"):
                try:
                    expected = outputs(masked_reference(ufunc)(*operands), ufunc.nout)
                except ValueError as error:  # integer ** negative integer
                    with pytest.raises(type(error)):
                        la.masked_arrays(list(lazy), chunk_bytes=16)
                    continue
                realised = la.masked_arrays(list(lazy), chunk_bytes=16)
            for actual, want, node in zip(realised, expected, lazy):
                want = np.ma.asarray(want)
                # numpy.ma turns a fully masked 0-d result into np.ma.masked,
                # a float64; lazyarray keeps the declared dtype.
                if want.dtype != node.dtype:
                    assert want.shape == () and want.mask
                    want = np.ma.masked_array(np.zeros((), node.dtype), mask=True)
                assert_same_masked(actual, want)
                assert actual.dtype == node.dtype


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
    # Plain mode: masked sources are filled with their fill_value first (Biggus).
    with np.errstate(all="ignore"):
        plain = (a.filled() - b.filled()) * 2.5 + np.sqrt(a.filled())
    assert_same(lazy.ndarray(chunk_bytes=24), plain)


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
