"""The Array API standard (2024.12) for lazy arrays: ``lazyarray.array_api``.

Code written against the standard (``xp = x.__array_namespace__()``) runs on
lazyarray's arrays through this namespace: every function builds a lazy
array and reads nothing; values are computed, in one pass and bounded
memory, when realised (``x.ndarray()``, ``bool(...)``, ``float(...)``).
Devices are ``"cpu"``; dtypes are numpy's. What a lazy array cannot do (shapes
that depend on values, sorting, linear algebra...) is left out rather than
half done: see ``docs/array-api.md``.

Examples
--------
>>> import numpy as np
>>> import lazyarray.array_api as xp
>>> x = xp.asarray(np.arange(6.0))
>>> y = xp.reshape(xp.sqrt(x), (2, 3))
>>> m = xp.mean(y, axis=1, keepdims=True)
>>> m.shape, m.dtype
((2, 1), dtype('float64'))
>>> xp.round(m * 100).ndarray().tolist()
[[80.0], [199.0]]
"""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from ._creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tril,
    triu,
    zeros,
    zeros_like,
)
from ._dtypes import (
    astype,
    bool,
    can_cast,
    complex64,
    complex128,
    e,
    finfo,
    float32,
    float64,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    nan,
    newaxis,
    pi,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._elementwise import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clip,
    conj,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    imag,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    nextafter,
    not_equal,
    positive,
    pow,
    real,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
)
from ._info import __array_namespace_info__
from ._manipulation import (
    broadcast_arrays,
    broadcast_to,
    concat,
    expand_dims,
    flip,
    matrix_transpose,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    roll,
    squeeze,
    stack,
    take,
    tile,
    unstack,
)
from ._statistical import (
    all,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumulative_prod,
    cumulative_sum,
    diff,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
    where,
)

#: The revision of the standard this namespace follows.
__array_api_version__ = "2024.12"

#: The revisions ``Array.__array_namespace__(api_version=...)`` accepts: those
#: whose functions here behave as they specify.
API_VERSIONS = ("2023.12", "2024.12")


def array_namespace(api_version: str | None = None) -> ModuleType:
    """This namespace, as ``Array.__array_namespace__(api_version=...)`` returns it.

    Raises
    ------
    ValueError
        For a revision other than those of :data:`API_VERSIONS` (``None``
        means the latest, 2024.12).

    Examples
    --------
    >>> import lazyarray.array_api as xp
    >>> xp.array_namespace("2023.12") is xp
    True
    >>> xp.array_namespace("2021.12")
    Traceback (most recent call last):
    ...
    ValueError: expected api_version None, '2023.12' or '2024.12', found '2021.12'
    """
    if api_version is not None and api_version not in API_VERSIONS:
        raise ValueError(f"expected api_version None, '2023.12' or '2024.12', "
                         f"found {api_version!r}")
    return sys.modules[__name__]


#: The standard's names left out on purpose (docs/array-api.md says why): numpy's
#: functions of these names are not offered either, so that code testing for
#: them (``hasattr(xp, "sort")``) learns that this namespace has none.
LEFT_OUT = frozenset({
    "argsort", "fft", "linalg", "matmul", "nonzero", "searchsorted", "sort",
    "take_along_axis", "tensordot", "unique_all", "unique_counts", "unique_inverse",
    "unique_values", "vecdot",
})


def __getattr__(name: str) -> Any:
    """numpy's other functions, which libraries written for numpy-like namespaces call.

    xarray, given this namespace by ``x.__array_namespace__()``, calls
    ``xp.transpose``, ``xp.pad`` or ``xp.einsum`` as numpy has them. A name
    the standard does not define is numpy's function of that name, if numpy
    dispatches it through ``__array_function__``: on lazy arrays it is
    lazyarray's implementation (:mod:`lazyarray.arrayfunction`), or a
    ``TypeError`` naming it that reads nothing.

    Examples
    --------
    >>> import numpy as np
    >>> import lazyarray.array_api as xp
    >>> xp.transpose(xp.asarray(np.arange(6).reshape(2, 3))).shape
    (3, 2)
    """
    if name == "lib":  # xarray's rolling windows: xp.lib.stride_tricks.sliding_window_view
        return SimpleNamespace(stride_tricks=SimpleNamespace(
            sliding_window_view=np.lib.stride_tricks.sliding_window_view))
    found = None if name.startswith("_") or name in LEFT_OUT else getattr(np, name, None)
    if found is None or not hasattr(found, "_implementation"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


__all__ = [
    "__array_api_version__", "__array_namespace_info__", "abs", "acos", "acosh", "add",
    "all", "any", "arange", "argmax", "argmin", "array_namespace", "asarray", "asin",
    "asinh", "astype", "atan", "atan2", "atanh", "bitwise_and", "bitwise_invert",
    "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "bool",
    "broadcast_arrays", "broadcast_to", "can_cast", "ceil", "clip", "complex64",
    "complex128", "concat", "conj", "copysign", "cos", "cosh", "count_nonzero",
    "cumulative_prod", "cumulative_sum", "diff", "divide", "e", "empty", "empty_like",
    "equal", "exp", "expand_dims", "expm1", "eye", "finfo", "flip", "float32", "float64",
    "floor", "floor_divide", "from_dlpack", "full", "full_like", "greater",
    "greater_equal", "hypot", "iinfo", "imag", "inf", "int8", "int16", "int32", "int64",
    "isdtype", "isfinite", "isinf", "isnan", "less", "less_equal", "linspace", "log",
    "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "matrix_transpose", "max", "maximum", "mean", "meshgrid", "min",
    "minimum", "moveaxis", "multiply", "nan", "negative", "newaxis", "nextafter",
    "not_equal", "ones", "ones_like", "permute_dims", "pi", "positive", "pow", "prod",
    "real", "reciprocal", "remainder", "repeat", "reshape", "result_type", "roll",
    "round", "sign", "signbit", "sin", "sinh", "sqrt", "square", "squeeze", "stack",
    "std", "subtract", "sum", "take", "tan", "tanh", "tile", "tril", "triu", "trunc",
    "uint8", "uint16", "uint32", "uint64", "unstack", "var", "where", "zeros",
    "zeros_like",
]
