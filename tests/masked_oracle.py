"""numpy.ma as the oracle for masked results, and its fill value rules made explicit.

Shared by ``test_masked_graphs.py`` and ``test_elementwise.py`` (pytest puts
``tests/`` on ``sys.path``). numpy.ma decides data, masks and which operand's
fill value a result takes; two rules, documented in ``docs/masked.md``, say
what lazyarray does where numpy.ma's answer is not well defined, and are
written here without any of lazyarray's code:

* :func:`is_unset`: numpy.ma keeps ``None`` for a fill value never set (the
  default of whatever dtype a result has); lazyarray has only values, so
  numpy.ma's default value stands for "unset".
* :func:`sane_cast`: a fill value carried into another dtype is cast as
  ``MaskedArray.astype`` casts it, unless numpy warns (or the cast is
  platform-defined: a float out of an integer type's range); then the
  result's dtype takes its default.

numpy.ma results are *pristine* only if nobody has read their
``fill_value``: reading it stores the default as if it had been set. The
helpers here read ``_fill_value`` instead, and rebuild every result with its
fill value normalised by those two rules (:func:`normalised`), so that a
chain of numpy.ma operations follows them at each step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: numpy.ma's default fill values, by dtype kind, as numpy.ma keeps them.
DEFAULTS = {kind: np.ma.default_fill_value(np.dtype(code)) for kind, code in
            (("b", "?"), ("i", "i8"), ("u", "u8"), ("f", "f8"), ("c", "c16"))}


def default(dtype: Any) -> Any:
    """numpy.ma's default fill value for ``dtype``, as written into it.

    (For ``float16``, numpy.ma's 1e20 writes infinity, with a warning.)
    """
    return written(np.ma.default_fill_value(np.dtype(dtype)), dtype)


def written(value: Any, dtype: Any) -> Any:
    """What ``MaskedArray.filled`` writes for ``value`` into a ``dtype`` array (unsafe cast)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(value).astype(np.dtype(dtype))[()]


def same_written(a: Any, b: Any, dtype: Any) -> bool:
    """Whether fill values ``a`` and ``b`` write the same value (NaN equal to NaN)."""
    x, y = written(a, dtype), written(b, dtype)
    return bool(x == y) or (np.dtype(dtype).kind in "fcmM" and bool(np.isnan(x) and np.isnan(y)))


def is_unset(raw: Any) -> bool:
    """Whether a ``_fill_value`` stands for "not set": ``None``, a numpy.ma
    default, or a value that writes what the default of its dtype writes."""
    if raw is None:
        return True
    value = np.asarray(raw)
    # Compared as Python values: numpy would cast the default into a float16.
    if value.dtype.kind in DEFAULTS and value.item() == DEFAULTS[value.dtype.kind]:
        return True
    return value.dtype.kind in DEFAULTS and same_written(value[()], default(value.dtype),
                                                          value.dtype)


def raw_fill(m: Any) -> Any:
    """``m``'s fill value as numpy.ma keeps it: ``None`` when unset.

    (Printing a masked array reads its fill value, which stores the default:
    that counts as unset too.)
    """
    raw = getattr(m, "_fill_value", None)
    return None if is_unset(raw) else raw


def sane_cast(value: Any, dtype: Any) -> Any:
    """``value`` carried into ``dtype``: numpy.ma's cast where it is defined, else the default."""
    dtype = np.dtype(dtype)
    source = np.asarray(value)
    if dtype.kind == "b":
        return np.bool_(bool(source))
    if source.dtype.kind == "f" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not (np.isfinite(source) and info.min <= float(source) <= info.max):
            return default(dtype)  # undefined in C, platform-dependent in numpy
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        try:
            return source.astype(dtype)[()]
        except (Warning, FloatingPointError, TypeError, ValueError, OverflowError):
            return default(dtype)


def expected_fill(result: Any, dtype: Any) -> Any:
    """The fill value of a numpy.ma result, by the two rules, as a value of ``dtype``."""
    raw = getattr(result, "_fill_value", None)
    if is_unset(raw):
        return default(dtype)
    return sane_cast(np.asarray(raw)[()], dtype)


def normalised(result: Any, dtype: Any, fill: Any = "from result") -> np.ma.MaskedArray:
    """``result`` (any numpy.ma output, scalars too) as a MaskedArray of ``dtype``.

    The mask is a full array, and the fill value is ``fill`` (by default the
    result's own, by :func:`expected_fill`), stored unset when it is the
    default so that numpy.ma's next operation sees what lazyarray sees.
    """
    dtype = np.dtype(dtype)
    if isinstance(fill, str) and fill == "from result":
        fill = expected_fill(result, dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = np.asarray(np.ma.getdata(result)).astype(dtype)
    mask = np.array(np.broadcast_to(np.ma.getmaskarray(result), data.shape))
    return np.ma.masked_array(data, mask=mask,
                              fill_value=None if is_unset(fill) else np.asarray(fill, dtype)[()])


def ma_apply(func: Any, *operands: Any) -> Any:
    """``func(*operands)`` with numpy.ma, 0-d operands made 1-d and back.

    numpy.ma turns 0-d results into scalars (``np.ma.masked`` when masked),
    which lose the fill value; elementwise functions give the same values on
    shape ``(1,)``.
    """
    arrays = [op for op in operands if isinstance(op, np.ndarray)]
    if arrays and all(a.ndim == 0 for a in arrays):
        lifted = [op.reshape(1) if isinstance(op, np.ndarray) else op for op in operands]
        result = func(*lifted)
        if isinstance(result, tuple):
            return tuple(r.reshape(()) for r in result)
        return result.reshape(())
    return func(*operands)


def assert_same_fill(actual: Any, expected: Any, dtype: Any, where: str = "") -> None:
    """Fill values equal as written into ``dtype`` arrays."""
    assert same_written(actual, expected, dtype), (
        f"{where}: fill value {actual!r}, expected {expected!r} (as {np.dtype(dtype)})"
    )


def assert_masked_equal(actual: Any, expected: np.ma.MaskedArray, exact: bool = True,
                        where: str = "", rtol: float = 1e-6, atol: float = 0.0) -> None:
    """Same type, shape, dtype, mask and fill value; data equal where unmasked.

    ``exact``: bit for bit (NaN equal to NaN); else to ``rtol`` / ``atol``.
    """
    assert isinstance(actual, np.ma.MaskedArray), (where, type(actual))
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype), (
        where, actual.shape, actual.dtype, expected.shape, expected.dtype)
    mask = np.ma.getmaskarray(expected)
    np.testing.assert_array_equal(np.ma.getmaskarray(actual), mask, err_msg=f"{where}: mask")
    got, want = np.ma.getdata(actual)[~mask], np.ma.getdata(expected)[~mask]
    if not exact and want.dtype.kind in "fc":
        # Compared in 64 bits: a tolerance beyond float32's range overflows it.
        wide = np.result_type(want.dtype, np.float64)
        got, want = got.astype(wide), want.astype(wide)
    if exact or want.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, want, err_msg=f"{where}: data")
    elif want.dtype.kind == "c":
        for part in (np.real, np.imag):
            np.testing.assert_allclose(part(got), part(want), rtol=rtol, atol=atol,
                                       err_msg=f"{where}: data")
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{where}: data")
    assert_same_fill(actual.fill_value, expected_fill(expected, expected.dtype),
                     expected.dtype, where)
