"""lazyarray: lazy arrays over numpy, HDF5 and Zarr, evaluated in bounded memory.

Wrap sources with :func:`asarray` (or Biggus's adapters), combine them with
mosaics, stacks, indexing and elementwise maths, and realise the result with
``.ndarray()``, :func:`ndarrays` or :func:`compute`. Nothing is read until then.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> tiles = [la.asarray(np.full((2, 3), i)) for i in range(4)]
>>> m = la.LinearMosaic(tiles, axis=0)
>>> m
<LinearMosaic shape=(8, 3) dtype=int64 size=192 B>
>>> (m[3:6, 0] * 10).ndarray().tolist()
[10, 20, 20]
"""

from __future__ import annotations

from . import testing
from .adapters import (
    ArrayAdapter,
    HDF5ArrayAdapter,
    NumpyArrayAdapter,
    OrthoArrayAdapter,
    ZarrArrayAdapter,
    asarray,
    ensure_array,
    open_dataset,
)
from .array import Array
from .creation import ConstantArray, full, ones, zeros
from .elementwise import (
    Elementwise,
    abs,
    absolute,
    acos,
    acosh,
    add,
    apply_ufunc,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    astype,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_count,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    cbrt,
    ceil,
    clip,
    conj,
    conjugate,
    copysign,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    divmod,
    equal,
    exp,
    exp2,
    expm1,
    fabs,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frexp,
    gcd,
    greater,
    greater_equal,
    heaviside,
    hypot,
    invert,
    isfinite,
    isinf,
    isnan,
    isnat,
    lcm,
    ldexp,
    left_shift,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    modf,
    multiply,
    negative,
    nextafter,
    not_equal,
    positive,
    pow,
    power,
    rad2deg,
    radians,
    reciprocal,
    remainder,
    right_shift,
    rint,
    sign,
    signbit,
    sin,
    sinh,
    spacing,
    sqrt,
    square,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from .errors import (
    AxisError,
    DTypeError,
    IndexingError,
    LazyArrayError,
    MemoryBudgetError,
    ShapeError,
)
from .execute import compute, masked_arrays, ndarrays
from .mosaic import ArrayStack, LinearMosaic, concatenate, stack
from .options import Options, get_options, set_options
from .views import (
    AxisView,
    BroadcastArray,
    TransposedArray,
    broadcast_shapes,
    broadcast_to,
    expand_dims,
    moveaxis,
    squeeze,
    transpose,
)

__version__ = "0.1.0"

__all__ = [
    "Array", "ArrayAdapter", "ArrayStack", "AxisError", "AxisView", "BroadcastArray",
    "ConstantArray", "DTypeError", "Elementwise", "HDF5ArrayAdapter", "IndexingError",
    "LazyArrayError", "LinearMosaic", "MemoryBudgetError", "NumpyArrayAdapter", "Options",
    "OrthoArrayAdapter", "ShapeError", "TransposedArray", "ZarrArrayAdapter",
    "abs", "absolute", "acos", "acosh", "add", "apply_ufunc", "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "asarray", "asin", "asinh", "astype", "atan",
    "atan2", "atanh", "bitwise_and", "bitwise_count", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "broadcast_shapes",
    "broadcast_to", "cbrt", "ceil", "clip", "compute", "concatenate", "conj", "conjugate",
    "copysign", "cos", "cosh", "deg2rad", "degrees", "divide", "divmod", "ensure_array",
    "equal", "exp", "exp2", "expand_dims", "expm1", "fabs", "float_power", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "frexp", "full", "gcd", "get_options", "greater",
    "greater_equal", "heaviside", "hypot", "invert", "isfinite", "isinf", "isnan", "isnat",
    "lcm", "ldexp", "left_shift", "less", "less_equal", "log", "log10", "log1p", "log2",
    "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor",
    "masked_arrays", "maximum", "minimum", "mod", "modf", "moveaxis", "multiply", "ndarrays",
    "negative", "nextafter", "not_equal", "ones", "open_dataset", "positive", "pow", "power",
    "rad2deg", "radians", "reciprocal", "remainder", "right_shift", "rint", "set_options",
    "sign", "signbit", "sin", "sinh", "spacing", "sqrt", "square", "squeeze", "stack", "sub",
    "subtract", "tan", "tanh", "testing", "transpose", "true_divide", "trunc", "where",
    "zeros",
]
