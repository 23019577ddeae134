"""numpy as the oracle for lazy elementwise maths: comparisons and sample data.

Shared by ``test_elementwise.py`` and ``test_operators.py`` (pytest puts
``tests/`` on ``sys.path``). :func:`check_against_numpy` is the one check:
lazyarray builds what numpy computes (shape and dtype before reading),
rejects what numpy rejects with the same exception type, and realises to
numpy's values, NaNs equal, under the same ``np.errstate``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import lazyarray as la

#: The dtypes every elementwise function is checked with.
DTYPES = tuple(
    np.dtype(code)
    for code in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8", "c16")
)
#: Datetimes too: isnat accepts nothing else, and add, subtract... have loops for them.
TIME_DTYPES = (np.dtype("M8[s]"), np.dtype("m8[s]"))


def assert_same(actual: np.ndarray, expected: Any) -> None:
    """``actual`` is an ndarray equal to ``expected`` in shape, dtype and values."""
    expected = np.asarray(expected)
    assert type(actual) is np.ndarray, type(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    equal_nan = expected.dtype.kind in "fcmM"
    assert np.array_equal(actual, expected, equal_nan=equal_nan), (actual, expected)


def assert_same_masked(actual: np.ma.MaskedArray, expected: np.ma.MaskedArray) -> None:
    """Same shape, dtype and mask, and equal values where unmasked."""
    assert isinstance(actual, np.ma.MaskedArray), type(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask)
    assert_same(np.ma.getdata(actual)[~mask], np.ma.getdata(expected)[~mask])


def outputs(result: Any, nout: int) -> tuple[Any, ...]:
    """A function's result as a tuple of its ``nout`` outputs."""
    if nout == 1:
        return (result,)
    assert isinstance(result, tuple) and len(result) == nout, result
    return result


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """numpy's floating-point and empty-slice warnings off, on both sides:
    what is compared is values, dtypes and errors."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def numpy_accepts(func: Callable[..., Any], *values: Any) -> bool:
    """Whether numpy computes ``func`` of ``values`` (a step numpy refuses is skipped)."""
    try:
        with quiet():
            func(*values)
    except Exception:  # noqa: BLE001 - numpy's verdict decides
        return False
    return True


def numpy_rejection(func: Callable[..., Any], values: Sequence[Any]) -> Exception | None:
    """The exception ``func`` raises for the dtypes of ``values``, if any.

    Arrays are replaced by empty ones of their dtype (scalars stay as they
    are), so this is numpy's verdict on dtypes and scalar values, not on data.
    """
    probes = [
        np.empty((0,), v.dtype) if isinstance(v, (np.ndarray, la.Array)) else v for v in values
    ]
    try:
        with np.errstate(all="ignore"):
            func(*probes)
    except Exception as error:  # noqa: BLE001 - any error numpy raises is the oracle
        return error
    return None


def check_against_numpy(
    build: Callable[[], Any],
    reference: Callable[..., Any],
    values: Sequence[Any],
    nout: int = 1,
    layouts: np.ufunc | None = None,
    **options: Any,
) -> str:
    """``build()`` gives lazily what ``reference(*values)`` gives.

    1. If numpy rejects the dtypes, ``build()`` raises the same exception type.
    2. If numpy rejects the values (``int ** -1``), realising raises it.
    3. Otherwise ``build()`` returns ``nout`` lazy arrays whose declared shape
       and dtype are numpy's, and which realise (with ``options``) to numpy's
       values. ``layouts``: a ufunc whose results depend on memory layout
       (see :data:`LAYOUT_DEPENDENT`), whose values are checked against any layout.

    Returns which case it was: "rejected dtypes", "rejected values" or "computed".
    """
    rejected = numpy_rejection(reference, values)
    if rejected is not None:
        with pytest.raises(type(rejected)):
            build()
        return "rejected dtypes"
    with np.errstate(all="ignore"):
        try:
            expected = outputs(reference(*values), nout)
        except Exception as error:  # noqa: BLE001 - any error numpy raises is the oracle
            with pytest.raises(type(error)):
                la.ndarrays(list(outputs(build(), nout)), **options)
            return "rejected values"
        results = outputs(build(), nout)
        for result, want in zip(results, expected):
            assert isinstance(result, la.Array), type(result)
            assert result.shape == np.shape(want), (result.shape, np.shape(want))
            assert result.dtype == np.asarray(want).dtype, (result.dtype, np.asarray(want).dtype)
        realised = la.ndarrays(list(results), **options)
    if layouts in LAYOUT_DEPENDENT and all(isinstance(v, np.ndarray) and v.ndim for v in values):
        for actual, *candidates in zip(realised, expected, *numpy_layouts(layouts, values)):
            assert_same_as_one_of(actual, candidates)
        return "computed"
    for actual, want in zip(realised, expected):
        assert_same(actual, want)
    return "computed"


#: Ufuncs whose numpy results depend on memory layout. With a stride-0
#: exponent, power takes fast paths (0.5 is sqrt, so ``-inf ** 0.5`` is nan,
#: not inf; float32 results move by an ulp). A lazy result's tiles lay
#: broadcast operands out differently from numpy's one call, so each element
#: must equal numpy's result in one of the layouts.
LAYOUT_DEPENDENT = frozenset({np.power})


def numpy_layouts(ufunc: np.ufunc, values: Sequence[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """numpy's outputs for the same elements with contiguous operands, and with
    each operand in turn a 0-d scalar (computed element by element)."""
    arrays = np.broadcast_arrays(*values)
    flat = [a.ravel() for a in arrays]
    with np.errstate(all="ignore"):
        contiguous = outputs(ufunc(*(a.copy() for a in arrays)), ufunc.nout)
        layouts = [contiguous]
        for scalar in range(len(flat)):
            elements = [
                outputs(
                    ufunc(
                        *(
                            f[i].reshape(()) if j == scalar else f[i : i + 1]
                            for j, f in enumerate(flat)
                        )
                    ),
                    ufunc.nout,
                )
                for i in range(flat[0].size)
            ]
            layouts.append(
                tuple(
                    np.array([np.ravel(e[k])[0] for e in elements], want.dtype).reshape(want.shape)
                    for k, want in enumerate(contiguous)
                )
            )
    return layouts


def assert_same_as_one_of(actual: np.ndarray, candidates: Sequence[Any]) -> None:
    """Shape and dtype of the first candidate; each value equal to some candidate's."""
    first = np.asarray(candidates[0])
    assert type(actual) is np.ndarray and actual.shape == first.shape, (actual, first)
    assert actual.dtype == first.dtype, (actual.dtype, first.dtype)
    equal = np.zeros(actual.shape, bool)
    for candidate in candidates:
        equal |= (actual == candidate) | (np.isnan(actual) & np.isnan(candidate))
    assert equal.all(), (actual, candidates)


def sample(dtype: np.dtype, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values of ``dtype`` that exercise edge cases: zeros, negatives, extremes, NaN, inf."""
    if dtype.kind == "b":
        pool = np.array([False, True])
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        candidates = (info.min, -3, -1, 0, 1, 2, 3, 7, info.max)
        pool = np.array([v for v in candidates if info.min <= v <= info.max], dtype)
    elif dtype.kind == "f":
        pool = np.array([-np.inf, -2.5, -1, -0.0, 0, 0.5, 1, 3, 1e30, np.nan, np.inf], dtype)
    elif dtype.kind == "c":
        parts = np.array([-2.5, -1, 0, 0.5, 3, np.nan, np.inf])
        pool = np.empty((parts.size, parts.size), dtype)
        pool.real, pool.imag = parts[:, None], parts[None, :]
        pool = pool.ravel()
    else:  # datetime64 / timedelta64, NaT included
        pool = np.array([-5, 0, 3, 86400, np.iinfo("i8").min], "i8").view(dtype)
    return rng.choice(pool, size=shape)
