"""Random masked graphs: ``masked_array()`` equals numpy.ma, for every function and reduction.

A graph generator builds a lazy array and, step by step, the numpy.ma array it
stands for, from masked numpy sources with random masks (none at all, every
point, whole rows masked or clear, random points) and random fill values
(set or not). Steps are keys of every kind, transposes, every elementwise
ufunc of one or two inputs (with another masked source broadcast against the
graph), operators with scalars, ``astype``, ``where``, ``clip``, mosaics,
concatenations and stacks.

What is compared, against numpy.ma on the realised sources:

* the graph itself: data where unmasked (exactly), mask, dtype and fill
  value, declared before anything is read and realised; and ``ndarray()``
  equal to ``masked_array().filled(fill_value)``;
* every reduction over random axes (int, negative, tuple, ``None``), with
  random ``keepdims``, ``ddof``, ``dtype`` and ``mdtol``: outputs with no
  valid input, or with more than ``mdtol`` of them masked, are masked;
  otherwise the value is numpy.ma's (computed on data widened to 64 bits,
  to ``rtol=1e-6``; exactly for integers, extremes, counts and positions),
  and the ``nan`` forms treat NaN as masked.

Every evaluation uses random ``chunk_bytes`` (many tiles) and ``workers``, and
runs with warnings as errors: masked mode must not warn about masked points.
Where numpy.ma itself is not well defined, :mod:`masked_oracle` and the notes
below say what is expected instead (see ``docs/masked.md``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from examples import examples
from graph_strategies import DTYPES, source_data
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st
from masked_oracle import (
    assert_masked_equal,
    assert_same_fill,
    default,
    expected_fill,
    ma_apply,
    normalised,
    raw_fill,
    same_written,
    sane_cast,
    written,
)
from numpy_oracle import quiet
from strategies import keys, oindex
from test_random_graphs import CHUNK_BYTES

import lazyarray as la

UFUNCS = sorted({
    value.__name__
    for value in vars(np).values()
    if isinstance(value, np.ufunc) and value.signature is None and value.nin in (1, 2)
})
UNARY = [name for name in UFUNCS if getattr(np, name).nin == 1]
BINARY = [name for name in UFUNCS if getattr(np, name).nin == 2]

ALL = ["sum", "nansum", "prod", "nanprod", "mean", "nanmean", "std", "nanstd", "var", "nanvar",
       "min", "nanmin", "max", "nanmax", "ptp", "count", "any", "all", "argmin", "nanargmin",
       "argmax", "nanargmax"]
#: Statistics that pick, count or compare: exact whatever the dtype.
PICKING = {"min", "max", "ptp", "count", "any", "all", "argmin", "argmax"}
POSITIONAL = {"argmin", "argmax"}
VARIANCES = {"var", "std"}
MDTOLS = [0.0, 0.25, 0.5, 1.0]


def base_name(name: str) -> str:
    """The statistic without its ``nan`` prefix (numpy.ma has no ``nan`` forms)."""
    return name.removeprefix("nan")


def ma_reference(name: str):
    """numpy.ma's function of that name where it has one, else numpy's (which
    MaskedArray's ``__array_wrap__`` makes masked).

    Not numpy.ma's shifts, which fail when the shift count broadcasts the
    shifted array (their mask keeps the shifted array's shape); the ufuncs on
    masked arrays give what they give where they work.
    """
    counterpart = getattr(np.ma, name, None)
    if not callable(counterpart) or name in ("left_shift", "right_shift"):
        return getattr(np, name)
    return counterpart


def typed(value, *arrays):
    """A Python scalar with the dtype numpy 2 gives it against ``arrays``.

    numpy.ma makes Python scalars 0-d arrays of their default dtype (so
    ``float32 * 0.1`` is float64 in numpy.ma); lazyarray keeps numpy 2's weak
    scalars in both modes, a node having one dtype.
    """
    try:
        return np.asarray(value, dtype=np.result_type(value, *(a.dtype for a in arrays)))
    except OverflowError:  # out of the arrays' range (-1 and uint8): numpy's own handling
        return value


def rejected(build, plain):
    """Whether ``build()`` raises; if it does, ``plain()`` (numpy) must raise too,
    an exception of which lazyarray's is a kind (a ``ShapeError`` is a ``ValueError``)."""
    try:
        build()
    except Exception as error:
        try:
            with quiet():
                plain()
        except Exception as expected:  # noqa: BLE001
            assert isinstance(error, type(expected)), (error, expected)
            return True
        raise AssertionError(f"lazyarray raised {error!r} where numpy computes") from error
    return False


# -- masked sources ------------------------------------------------------------------


@st.composite
def masks(draw, shape):
    """No mask (``nomask``), nothing or everything masked, whole rows masked or
    clear among random points, or random points."""
    kind = draw(st.sampled_from(["nomask", "none", "all", "rows", "random", "random"]))
    if kind == "nomask":
        return np.ma.nomask
    if kind in ("none", "all"):
        return np.full(shape, kind == "all")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(shape) < draw(st.sampled_from([0.1, 0.5, 0.9]))
    if kind == "rows" and shape:
        axis = draw(st.integers(0, len(shape) - 1))
        for i in range(shape[axis]):
            where = (slice(None),) * axis + (i,)
            choice = draw(st.sampled_from(["masked", "clear", "as drawn"]))
            if choice != "as drawn":
                mask[where] = choice == "masked"
    return mask


#: Fill values set on sources, by dtype kind (numpy.ma's defaults are the unset case).
FILLS = {"b": [False], "i": [-5, 0, 7, 100], "u": [0, 7, 200], "f": [-999.0, 0.5, np.nan, -1e30],
         "c": [1 + 2j, -999 + 0j]}


@st.composite
def fill_values(draw, dtype):
    """``None`` (unset) or a value of ``dtype`` other than numpy.ma's default."""
    choices = [v for v in FILLS[dtype.kind]
               if (dtype.kind not in "iu" or np.iinfo(dtype).min <= v <= np.iinfo(dtype).max)
               and (dtype.kind != "f" or np.isnan(v) or abs(v) <= float(np.finfo(dtype).max))]
    if dtype == np.float16:
        # Always set: numpy.ma's default 1e20 overflows float16, and numpy.ma
        # warns whenever a float16 source with it is wrapped or filled.
        return draw(st.sampled_from(choices))
    return draw(st.none() | st.sampled_from(choices))


@st.composite
def masked_leaves(draw, shape=None, dtype=None):
    """A (lazy, numpy.ma) pair: the same masked array, as two objects.

    Two objects, because reading a numpy.ma array's ``fill_value`` sets it:
    the lazy side may read its own; the oracle's stays pristine.
    """
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    data = draw(source_data(shape, dtype))
    mask = draw(masks(shape))
    fill = draw(fill_values(data.dtype))

    def make():
        return np.ma.masked_array(data.copy(), mask=np.ma.nomask if mask is np.ma.nomask
                                  else mask.copy(), fill_value=fill)

    return la.asarray(make()), make()


def broadcast_shape(draw, shape):
    """A shape that broadcasts against ``shape`` (either way round)."""
    other = [draw(st.sampled_from([n, 1])) for n in shape]
    other = other[draw(st.integers(0, len(other))):]
    if draw(st.booleans()):
        other = [draw(st.integers(1, 3))] + list(shape)
    return tuple(other) or (1,)


# -- graph steps: each applies the same thing lazily and with numpy.ma -----------------


def masked_oindex(m, key):
    """numpy.ma's result of an orthogonal key: data and mask indexed alike, the
    fill value kept (as indexing a MaskedArray keeps it)."""
    return np.ma.masked_array(oindex(m.data, key), mask=oindex(np.ma.getmaskarray(m), key),
                              fill_value=raw_fill(m))


def ufunc_step(name, operands, oracles, output):
    """``la.<name>`` of ``operands`` and its numpy.ma reference, or ``None`` when
    numpy refuses (the dtypes, or the values: integers to negative powers)."""
    ufunc = getattr(np, name)
    if rejected(lambda: getattr(la, name)(*operands),
                lambda: ufunc(*(np.empty(0, o.dtype) for o in oracles))):
        return None
    lazy = getattr(la, name)(*operands)
    with quiet():
        try:
            result = ma_apply(ma_reference(name), *oracles)
        except (ValueError, TypeError):
            return None
    if ufunc.nout > 1:
        lazy, result = lazy[output], result[output]
    dtype = np.ma.getdata(result).dtype
    if name in ("left_shift", "right_shift"):
        # numpy.ma takes the shift count's fill value when the count is a
        # masked array (the default when it is a scalar); lazyarray the default.
        return lazy, normalised(result, dtype, default(dtype))
    return lazy, normalised(result, dtype)


SCALAR = {
    "+ 3": (lambda x, s: x + s, 3),
    "* 2": (lambda x, s: x * s, 2),
    "- 1.5": (lambda x, s: x - s, 1.5),
    "2 - x": (lambda x, s: s - x, 2),
    "/ 4": (lambda x, s: x / s, 4),
    "// 2": (lambda x, s: x // s, 2),
    # numpy.ma.remainder, not ``%``: numpy.ma leaves ``%`` to the ufunc, which
    # does not mask NaN results, where its remainder does; lazyarray masks
    # them both ways.
    "% 3": (lambda x, s: x % s if isinstance(x, la.Array) else np.ma.remainder(x, s), 3),
    "** 2": (lambda x, s: x**s, 2),
    "> 0": (lambda x, s: x > s, 0),
    "== 1": (lambda x, s: x == s, 1),
    "-x": (lambda x, s: -x, None),
    "abs": (lambda x, s: abs(x), None),
}
OPERATORS = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "<": lambda x, y: x < y,
    "!=": lambda x, y: x != y,
    "&": lambda x, y: x & y,
}


def joined_fill(members, dtype):
    """The fill value of a mosaic, stack or concatenation of (masked) ``members``:
    their common one, else the default (numpy.ma always gives the default)."""
    fills = [default(dtype) if raw_fill(m) is None else sane_cast(raw_fill(m), dtype)
             for m in members]
    if all(same_written(f, fills[0], dtype) for f in fills):
        return fills[0]
    return default(dtype)


@st.composite
def steps(draw, lazy, expected):
    """One random step applied to the (lazy, numpy.ma) pair; the pair unchanged
    when numpy refuses it."""
    step = draw(st.sampled_from(["key", "transpose", "unary", "unary", "scalar", "binary",
                                 "binary", "operator", "astype", "where", "clip", "mosaic",
                                 "concatenate", "stack"]))
    ndim = expected.ndim
    if step == "key":
        key = draw(keys(expected.shape), label="key")
        return lazy[key], normalised(masked_oindex(expected, key), expected.dtype)
    if step == "transpose" and ndim > 1:
        order = draw(st.permutations(range(ndim)))
        return la.transpose(lazy, order), np.ma.transpose(expected, order)
    if step == "unary":
        name = draw(st.sampled_from(UNARY), label="unary")
        found = ufunc_step(name, [lazy], [expected], draw(st.integers(0, 1)))
        if found:
            return found
    if step == "scalar":
        label = draw(st.sampled_from(sorted(SCALAR)), label="scalar")
        func, scalar = SCALAR[label]
        value = None if scalar is None else typed(scalar, expected)
        if not rejected(lambda: func(lazy, scalar),
                        lambda: func(np.empty(0, expected.dtype), value)):
            with quiet():
                result = ma_apply(lambda x: func(x, value), expected)
            return func(lazy, scalar), normalised(result, np.ma.getdata(result).dtype)
    if step in ("binary", "operator"):
        other, other_expected = draw(masked_leaves(broadcast_shape(draw, expected.shape)))
        pairs = [(lazy, expected), (other, other_expected)]
        if draw(st.booleans()):
            pairs.reverse()
        operands, oracles = zip(*pairs)
        if step == "binary":
            found = ufunc_step(draw(st.sampled_from(BINARY), label="binary"), list(operands),
                               list(oracles), draw(st.integers(0, 1)))
            if found:
                return found
        else:
            func = OPERATORS[draw(st.sampled_from(sorted(OPERATORS)), label="operator")]
            if not rejected(lambda: func(*operands),
                            lambda: func(*(np.empty(0, o.dtype) for o in oracles))):
                with quiet():
                    result = ma_apply(func, *oracles)
                return func(*operands), normalised(result, np.ma.getdata(result).dtype)
    if step == "astype":
        dtype = draw(st.sampled_from(DTYPES), label="astype")
        if expected.dtype.kind == "c" and dtype.kind != "c":
            dtype = np.dtype(np.complex128)  # numpy warns that it discards imaginary parts
        with quiet():
            data = expected.data.astype(dtype)
        # numpy.ma's astype casts the fill value; one that does not fit gives the default.
        fill = expected_fill(expected, expected.dtype)
        fill = default(dtype) if raw_fill(expected) is None else sane_cast(fill, dtype)
        result = np.ma.masked_array(data, mask=np.ma.getmaskarray(expected))
        return lazy.astype(dtype), normalised(result, dtype, fill)
    if step == "where":
        condition, condition_expected = draw(masked_leaves(
            broadcast_shape(draw, expected.shape), np.dtype(bool)))
        if draw(st.booleans()):
            other, other_expected = draw(masked_leaves(broadcast_shape(draw, expected.shape)))
        else:
            other = 0
            other_expected = typed(0, expected)
        if not rejected(lambda: la.where(condition, lazy, other),
                        lambda: np.where(condition_expected.data, expected.data,
                                         np.ma.getdata(other_expected))):
            with quiet():
                result = ma_apply(np.ma.where, condition_expected, expected, other_expected)
            return la.where(condition, lazy, other), normalised(
                result, np.ma.getdata(result).dtype)
    if step == "clip":
        low, high = -1, 3
        if not rejected(lambda: la.clip(lazy, low, high),
                        lambda: np.clip(np.empty(0, expected.dtype), typed(low, expected),
                                        typed(high, expected))):
            with quiet():
                result = ma_apply(lambda x: np.ma.clip(x, typed(low, x), typed(high, x)),
                                  expected)
            return la.clip(lazy, low, high), normalised(result, np.ma.getdata(result).dtype)
    if step in ("mosaic", "concatenate") and ndim:
        axis = draw(st.integers(-ndim, ndim - 1))
        pieces = [(lazy, expected)]
        for _ in range(draw(st.integers(1, 2))):
            shape = list(expected.shape)
            shape[axis] = draw(st.integers(1, 3))
            dtype = expected.dtype if step == "mosaic" else None
            pieces.append(draw(masked_leaves(tuple(shape), dtype)))
        members = [pieces[i] for i in draw(st.permutations(range(len(pieces))))]
        dtype = np.result_type(*(m[1].dtype for m in members))
        with quiet():
            joined = np.ma.concatenate([m[1].astype(dtype) for m in members], axis=axis)
        fill = joined_fill([m[1] for m in members], dtype)
        if step == "mosaic":
            return la.LinearMosaic([m[0] for m in members], axis), normalised(joined, dtype, fill)
        return la.concatenate([m[0] for m in members], axis), normalised(joined, dtype, fill)
    if step == "stack":
        axis = draw(st.integers(-ndim - 1, ndim))
        other, other_expected = draw(masked_leaves(expected.shape))
        members = [expected, other_expected]
        dtype = np.result_type(*(m.dtype for m in members))
        with quiet():
            joined = np.ma.stack([m.astype(dtype) for m in members], axis=axis)
        return (la.stack([lazy, other], axis=axis),
                normalised(joined, dtype, joined_fill(members, dtype)))
    return lazy, expected


@st.composite
def masked_graphs(draw):
    """A (lazy, numpy.ma) pair: a masked source and up to four steps, at most
    ~500 elements."""
    lazy, expected = draw(masked_leaves())
    expected = normalised(expected, expected.dtype)
    for _ in range(draw(st.integers(0, 4))):
        new_lazy, new_expected = draw(steps(lazy, expected))
        if new_expected.size <= 500:
            lazy, expected = new_lazy, new_expected
    return lazy, expected


#: Hypothesis's phases without "explain", which traces every line of a
#: failing example and takes minutes over graphs like these on Python 3.11.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


def describe(node, depth=0):
    """The lazy graph, one node a line, with dtypes and fill values (for failures)."""
    what = getattr(getattr(node, "func", None), "__name__", "")
    if isinstance(node, la.Aggregation):
        what = node.reduction.name
    lines = [(f"{'  ' * depth}{type(node).__name__} {node.shape} {node.dtype} "
              f"fill={node.fill_value!r} {what}")]
    for child in node.inputs:
        lines.append(describe(child, depth + 1))
    return "\n".join(lines)


def evaluation_options(data):
    return {"chunk_bytes": data.draw(st.sampled_from(CHUNK_BYTES), label="chunk_bytes"),
            "workers": data.draw(st.integers(1, 3), label="workers")}


def check_graph(lazy, expected, actual, where="graph"):
    """A graph's masked result: numpy.ma's data (exactly), mask, dtype and fill value."""
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype), where
    assert_same_fill(lazy.fill_value, expected_fill(expected, expected.dtype), expected.dtype,
                     f"{where} (declared)")
    exact = expected.dtype.kind not in "fc"
    assert_masked_equal(actual, expected, exact=exact, where=where, rtol=1e-6)


# -- the graph itself ----------------------------------------------------------------------


@settings(max_examples=200, phases=PHASES)
@given(data=st.data())
def test_random_masked_graphs_equal_numpy_ma(data):
    lazy, expected = data.draw(masked_graphs(), label="graph")
    note(describe(lazy))
    options = evaluation_options(data)
    [actual] = la.masked_arrays([lazy], **options)
    check_graph(lazy, expected, actual)
    # Plain realisation: numpy.ma's result, masked points filled with the fill value.
    [plain] = la.ndarrays([lazy], **options)
    assert type(plain) is np.ndarray and plain.dtype == expected.dtype
    wanted = expected.filled(written(lazy.fill_value, expected.dtype))
    np.testing.assert_array_equal(plain, wanted)


# -- reductions -----------------------------------------------------------------------------


@st.composite
def reductions(draw, ndim, name, kind="f"):
    """(name, axis, keywords) with random axis, keepdims, ddof, dtype and mdtol
    (no dtype= for complex data, which numpy warns it makes real)."""
    if base_name(name) in POSITIONAL or draw(st.integers(0, 3)) == 0:
        axis = draw(st.none() | st.integers(-ndim, ndim - 1)) if ndim else None
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]
        axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
    kwargs = {"keepdims": draw(st.booleans()), "mdtol": draw(st.sampled_from(MDTOLS))}
    base = base_name(name)
    if base in VARIANCES:
        kwargs["ddof"] = draw(st.sampled_from([0, 1, 2, 0.5]))
    if kind == "c":
        pass
    elif base in ("sum", "prod"):
        kwargs["dtype"] = draw(st.sampled_from([None, None, "f8", "i8"]))
    elif base in ("mean", "var", "std"):
        kwargs["dtype"] = draw(st.sampled_from([None, None, "f8", "f4"]))
    return name, axis, kwargs


def reduced_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))))


def valid_of(name, m):
    """The points a reduction counts: unmasked, and for the ``nan`` forms not NaN."""
    valid = ~np.ma.getmaskarray(m)
    if name.startswith("nan") and m.dtype.kind in "fc":
        valid &= ~np.isnan(m.data)
    return valid


def numpy_on_valid(base, wide, valid, axes, options):
    """numpy's ``base`` of the valid values alone, output element by output element."""
    kept = [a for a in range(wide.ndim) if a not in axes]
    out_shape = tuple(wide.shape[a] for a in kept)
    length = math.prod(wide.shape[a] for a in axes)
    rows = np.transpose(wide, kept + list(axes)).reshape(out_shape + (length,))
    flags = np.transpose(valid, kept + list(axes)).reshape(out_shape + (length,))
    with quiet():
        dtype = np.asarray(getattr(np, base)(np.ones(1, wide.dtype), **options)).dtype
    result = np.zeros(out_shape, dtype)
    with quiet():
        for index in np.ndindex(out_shape):
            values = rows[index][flags[index]]
            if values.size:
                result[index] = getattr(np, base)(values, **options)
    return result


def expected_reduction(name, m, axis, kwargs):
    """numpy.ma's masked reduction of ``m`` (declared dtype, mask by the mdtol
    rule, numpy.ma's values), and whether values compare exactly."""
    base = base_name(name)
    mdtol = kwargs["mdtol"]
    options = {k: v for k, v in kwargs.items() if k in ("ddof", "dtype") and v is not None}
    axes = kept_axes = reduced_axes(axis, m.ndim)
    if m.ndim == 0:
        # The same reduction of one element, as a 1-d array: numpy.ma refuses
        # axis=() on 0-d arrays, and its variance of a 0-d array fails.
        m, axis, axes = m.reshape(1), None, (0,)
    # The declared dtype: numpy's on the plain data (a node has one dtype in both modes).
    with quiet():
        if name == "count" or base in POSITIONAL:
            dtype = np.dtype(np.intp)
        else:
            dtype = np.asarray(getattr(np, name)(m.data, axis=axis, **options)).dtype
    valid = valid_of(name, m)
    source = np.ma.masked_array(m.data, mask=~valid, fill_value=raw_fill(m))
    exact = base in PICKING or (m.dtype.kind not in "fc" and dtype.kind in "biu")
    wide = source
    with quiet():
        if "dtype" in options:
            # numpy casts each element to dtype= before reducing (then it
            # accumulates in it; the reference accumulates in 64 bits).
            wide = wide.astype(options["dtype"])
            if options["dtype"] == "f4":
                options["dtype"] = "f8"
        if not exact and wide.dtype.kind in "fc":
            wide = wide.astype(np.complex128 if wide.dtype.kind == "c" else np.float64)
        result = getattr(np.ma, base)(wide, axis=axis, **options)
    count = np.ma.count(source, axis=axis) if axes else valid.astype(np.intp)
    total = math.prod(m.shape[a] for a in axes)
    missing = (total - count) / total if total else np.ones_like(count, dtype=float)
    mask = missing > mdtol
    if base != "count":
        mask |= (count - kwargs.get("ddof", 0) <= 0) if base in VARIANCES else count == 0
    data = np.array(np.ma.getdata(result))
    with quiet():
        data = data.astype(dtype)
        quirks = np.ma.getmaskarray(result) & ~mask
        if base in ("mean", "var", "std"):
            # numpy.ma's means and variances are numpy's only where they are
            # finite: its division masks non-finite results, and variances
            # of values that are (or whose squares are) not finite come out
            # 0 or masked. numpy's value of the valid data is expected; it
            # must be numpy.ma's wherever that is finite and unmasked.
            again = numpy_on_valid(base, wide.data, valid, axes,
                                   {k: v for k, v in options.items() if k == "ddof"})
            again = again.astype(dtype)
            finite = np.isfinite(again) & ~np.ma.getmaskarray(result) & ~mask
            tolerance = 1e-9 * max(1.0, float(np.max(np.abs(again[finite]), initial=0)))
            wide_dtype = np.result_type(dtype, np.float64)  # no overflow in the comparison
            np.testing.assert_allclose(data[finite].astype(wide_dtype),
                                       again[finite].astype(wide_dtype), rtol=1e-6,
                                       atol=tolerance, err_msg=f"numpy.ma's {name}")
            quirks = ~finite
        if quirks.any():
            again = numpy_on_valid(base, wide.data, valid, axes,
                                   {k: v for k, v in options.items() if k == "ddof"})
            data = np.where(quirks, again.astype(dtype), data)
    if base in VARIANCES:
        fill = default(dtype) if raw_fill(m) is None else sane_cast(raw_fill(m), dtype)
    else:
        fill = default(dtype)
    if kwargs["keepdims"]:
        data, mask = np.expand_dims(data, kept_axes), np.expand_dims(mask, kept_axes)
    expected = normalised(np.ma.masked_array(data, mask=mask), dtype, fill)
    return expected, exact


def check_reduction(name, actual, expected, exact, realised):
    magnitudes = np.abs(realised.data[valid_of(name, realised) & np.isfinite(realised.data)])
    scale = max(1.0, float(magnitudes.max())) if magnitudes.size else 1.0
    with quiet():  # the square of 1e200 is infinite: anything goes beside such values
        atol = min(float(1e-9 * np.float64(scale) ** (2 if "var" in name else 1)), 1e300)
    if expected.dtype.kind == "c" and base_name(name) == "prod":
        # numpy's complex products of infinities depend on how they are grouped.
        finite = np.isfinite(expected.data)
        actual, expected = actual[finite], expected[finite]
    assert_masked_equal(actual, expected, exact=exact, where=name, rtol=1e-6, atol=atol)


@settings(max_examples=examples(5, 60), phases=PHASES)
@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_every_masked_reduction_of_random_graphs_equals_numpy_ma(name, data):
    lazy, realised = data.draw(masked_graphs(), label="graph")
    note(describe(lazy))
    kind = realised.dtype.kind
    first = data.draw(reductions(realised.ndim, name, kind), label="reduction")
    second = data.draw(reductions(realised.ndim, data.draw(st.sampled_from(ALL)), kind),
                       label="another reduction")
    options = evaluation_options(data)
    built, wanted = [], []
    for reduction, axis, kwargs in (first, second):
        numpy_options = {k: v for k, v in kwargs.items() if k in ("ddof", "dtype", "keepdims")}

        def build(reduction=reduction, axis=axis, kwargs=kwargs):
            return getattr(la, reduction)(lazy, axis, **kwargs)

        def plain(reduction=reduction, axis=axis, numpy_options=numpy_options):
            if reduction == "count":
                return np.ma.count(realised.data, axis=axis)
            return getattr(np, reduction)(realised.data, axis=axis, **numpy_options)

        if rejected(build, plain):  # numpy refuses (the minimum of nothing, ptp of booleans)
            continue
        node = build()
        expected, exact = expected_reduction(reduction, realised, axis, kwargs)
        assert (node.shape, node.dtype) == (expected.shape, expected.dtype), reduction
        assert_same_fill(node.fill_value, expected_fill(expected, expected.dtype),
                         expected.dtype, f"{reduction} (declared)")
        built.append(node)
        wanted.append((reduction, expected, exact))
    results = la.masked_arrays([*built, lazy], **options)
    for (reduction, expected, exact), actual in zip(wanted, results):
        check_reduction(reduction, actual, expected, exact, realised)
    check_graph(lazy, realised, results[-1])  # the graph itself, in the same pass
