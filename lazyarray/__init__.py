"""lazyarray: lazy arrays over numpy, HDF5 and Zarr, evaluated in bounded memory.

Wrap sources with :func:`asarray` (or Biggus's adapters), combine them with
mosaics, stacks, indexing and elementwise maths, and realise the result with
``.ndarray()``, :func:`ndarrays` or :func:`compute`. Nothing is read until then.

Notes
-----
**What** ``import lazyarray`` **loads.** A spawned worker, a command-line call
and a notebook's first cell all pay for ``import lazyarray`` before any work,
so the package imports what a plain array computation needs (the node, the
adapters, the node kinds, the planner and the executor) and nothing else.
The rest of the public API is imported on first use by the package's
``__getattr__`` (PEP 562), and is then the very object its module defines:

* :func:`map_files` and :class:`FileResult` load :mod:`lazyarray.mapfiles`
  (process pools: ``multiprocessing``, ``concurrent.futures.process``) and,
  through it, :mod:`lazyarray.writers`;
* :func:`iter_batches` loads :mod:`lazyarray.sampling` (batches shared
  between processes: ``multiprocessing.shared_memory``);
* :func:`to_hdf5` and :func:`to_zarr` load :mod:`lazyarray.writers`, with
  :mod:`lazyarray.publish` and :mod:`lazyarray.temporaries` (atomic
  publication: ``ctypes``, ``socket``, ``shutil``); ``asyncio`` (and ``ssl``)
  is imported only to stop an interrupted Zarr write;
* :mod:`lazyarray.testing` loads when first named.

Those submodules are still attributes of the package (``la.mapfiles``), also
loaded on first use. Optional dependencies load later still: Zarr when a Zarr
array is opened, read or written; numba when a reduction first runs its numba
kernels; Dask, xarray and netCDF4 only when asked for.
:mod:`lazyarray.array_api` is imported with the package (7 ms), because every
array's ``__array_namespace__`` is given its function then
(:mod:`lazyarray.upcalls`). ``tests/test_import_cost.py`` checks, in a fresh
process, that ``import lazyarray`` imports none of these and that every
public name resolves to its module's object; ``benchmarks/startup.py``
measures the time and memory that ``import lazyarray`` and a first reduction
add to a process.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> tiles = [la.asarray(np.full((2, 3), i)) for i in range(4)]
>>> m = la.LinearMosaic(tiles, axis=0)
>>> m
<LinearMosaic shape=(8, 3) dtype=int64 size=192 B>
>>> (m[3:6, 0] * 10).ndarray().tolist()
[10, 20, 20]

Names that load their module on first use are that module's own:

>>> from lazyarray.mapfiles import map_files
>>> la.map_files is map_files, "map_files" in dir(la)
(True, True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import (
    aggregation,
    array_api,
    arrayfunction,
    cf,
    elementwise,
    execution,
    iteration,
    pickling,
    planning,
    scans,
    todask,
    upcalls,
    views,
)
from .adapters import (
    ArrayAdapter,
    HDF5ArrayAdapter,
    NetCDF4VariableAdapter,
    NumpyArrayAdapter,
    OrthoArrayAdapter,
    ZarrArrayAdapter,
    asarray,
    ensure_array,
    open_dataset,
)
from .aggregation import (
    Aggregation,
    all,
    any,
    argmax,
    argmin,
    count,
    max,
    mean,
    min,
    nanargmax,
    nanargmin,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    prod,
    ptp,
    std,
    sum,
    var,
)
from .array import Array, size
from .cf import CFEncoding
from .containers import ArrayContainer
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
    iscomplex,
    isfinite,
    isinf,
    isnan,
    isnat,
    isreal,
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
    ChunkDecodeError,
    ClosedFileError,
    DTypeError,
    FillValueError,
    IndexingError,
    LazyArrayError,
    MaskedSourceError,
    MemoryBudgetError,
    ReadOnlyTargetError,
    ShapeError,
    UnsupportedDTypeError,
)
from .execution import Progress, compute, masked_arrays, ndarrays, plan, save
from .iteration import iter_aligned_chunks, iter_blocks, iter_chunks
from .mapblocks import MapBlocks, map_blocks
from .masking import (
    filled,
    getmaskarray,
    is_masked,
    masked_equal,
    masked_greater,
    masked_greater_equal,
    masked_inside,
    masked_invalid,
    masked_less,
    masked_less_equal,
    masked_not_equal,
    masked_outside,
    masked_values,
    masked_where,
)
from .mosaic import ArrayStack, LinearMosaic, concatenate, stack
from .options import Options, get_options, set_options
from .quantiles import (
    OrderStatistic,
    median,
    nanmedian,
    nanpercentile,
    nanquantile,
    percentile,
    quantile,
)
from .reshape import ReshapedArray, ravel, reshape
from .rolling import MovingWindow, Rolling, rolling
from .scans import (
    Scan,
    cumprod,
    cumsum,
    cumulative_prod,
    cumulative_sum,
    nancumprod,
    nancumsum,
)
from .todask import to_dask
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
from .windows import sliding_window_view

if TYPE_CHECKING:  # what __getattr__ below loads on first use, for type checkers
    from . import mapfiles as mapfiles
    from . import publish as publish
    from . import sampling as sampling
    from . import temporaries as temporaries
    from . import testing as testing
    from . import writers as writers
    from .mapfiles import FileResult, map_files
    from .sampling import iter_batches
    from .writers import to_hdf5, to_zarr

#: The public names that ``import lazyarray`` leaves unloaded, each with the
#: submodule that defines it, imported by :func:`__getattr__` on first use.
_LAZY_NAMES = {
    "FileResult": "mapfiles",
    "map_files": "mapfiles",
    "iter_batches": "sampling",
    "to_hdf5": "writers",
    "to_zarr": "writers",
}

#: Submodules that ``import lazyarray`` used to import and no longer does:
#: still attributes of the package, imported on first use.
_LAZY_MODULES = frozenset({"mapfiles", "publish", "sampling", "temporaries", "testing",
                           "writers"})


def __getattr__(name: str) -> Any:
    """A public name or submodule that ``import lazyarray`` does not load, loaded now.

    The value is then a global of the package, so later lookups do not come
    here; ``from lazyarray import map_files`` comes here once too.

    Examples
    --------
    >>> import lazyarray as la
    >>> from lazyarray.sampling import iter_batches
    >>> la.iter_batches is iter_batches
    True
    >>> la.no_such_name
    Traceback (most recent call last):
    ...
    AttributeError: module 'lazyarray' has no attribute 'no_such_name'
    """
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's globals, with the names :func:`__getattr__` loads on first use."""
    return sorted(set(globals()) | _LAZY_NAMES.keys() | _LAZY_MODULES)


#: Biggus's name for errors of axes: lazyarray's :class:`AxisError`, so that
#: ``except biggus.AxisSupportError`` still catches them.
AxisSupportError = AxisError

# This module is the composition root: with every layer imported, it gives
# the lower layers the calls they make upward (see lazyarray.upcalls), once.
upcalls.install(
    apply_ufunc=elementwise.apply_ufunc,
    is_operand=elementwise.is_operand,
    astype=elementwise.astype,
    negative=elementwise.negative,
    positive=elementwise.positive,
    absolute=elementwise.absolute,
    invert=elementwise.invert,
    transpose=views.transpose,
    expand_dims=views.expand_dims,
    sum=aggregation.sum,
    prod=aggregation.prod,
    mean=aggregation.mean,
    std=aggregation.std,
    var=aggregation.var,
    min=aggregation.min,
    max=aggregation.max,
    ptp=aggregation.ptp,
    count=aggregation.count,
    any=aggregation.any,
    all=aggregation.all,
    argmin=aggregation.argmin,
    argmax=aggregation.argmax,
    cumsum=scans.cumsum,
    cumprod=scans.cumprod,
    ndarrays=execution.ndarrays,
    masked_arrays=execution.masked_arrays,
    iter_chunks=iteration.iter_chunks,
    iter_blocks=iteration.iter_blocks,
    to_dask=todask.to_dask,
    array_function=arrayfunction.array_function,
    block_grid=planning.block_grid,
    chunk_edges=planning.chunk_edges,
    reduce_graph=pickling.reduce_graph,
    array_namespace=array_api.array_namespace,
    wrap_file_source=cf.wrap_file_source,
)

__version__ = "0.1.0"

__all__ = [
    "Aggregation",
    "Array",
    "ArrayAdapter",
    "ArrayContainer",
    "ArrayStack",
    "AxisError",
    "AxisSupportError",
    "AxisView",
    "BroadcastArray",
    "CFEncoding",
    "ChunkDecodeError",
    "ClosedFileError",
    "ConstantArray",
    "DTypeError",
    "Elementwise",
    "FileResult",
    "FillValueError",
    "HDF5ArrayAdapter",
    "IndexingError",
    "LazyArrayError",
    "LinearMosaic",
    "MapBlocks",
    "MaskedSourceError",
    "MemoryBudgetError",
    "MovingWindow",
    "NetCDF4VariableAdapter",
    "NumpyArrayAdapter",
    "Options",
    "OrderStatistic",
    "OrthoArrayAdapter",
    "Progress",
    "ReadOnlyTargetError",
    "ReshapedArray",
    "Rolling",
    "Scan",
    "ShapeError",
    "TransposedArray",
    "UnsupportedDTypeError",
    "ZarrArrayAdapter",
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "all",
    "any",
    "apply_ufunc",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argmax",
    "argmin",
    "asarray",
    "asin",
    "asinh",
    "astype",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_count",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "broadcast_shapes",
    "broadcast_to",
    "cbrt",
    "ceil",
    "cf",
    "clip",
    "compute",
    "concatenate",
    "conj",
    "conjugate",
    "copysign",
    "cos",
    "cosh",
    "count",
    "cumprod",
    "cumsum",
    "cumulative_prod",
    "cumulative_sum",
    "deg2rad",
    "degrees",
    "divide",
    "divmod",
    "ensure_array",
    "equal",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "fabs",
    "filled",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frexp",
    "full",
    "gcd",
    "get_options",
    "getmaskarray",
    "greater",
    "greater_equal",
    "heaviside",
    "hypot",
    "invert",
    "is_masked",
    "iscomplex",
    "isfinite",
    "isinf",
    "isnan",
    "isnat",
    "isreal",
    "iter_aligned_chunks",
    "iter_batches",
    "iter_blocks",
    "iter_chunks",
    "lcm",
    "ldexp",
    "left_shift",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "map_blocks",
    "map_files",
    "masked_arrays",
    "masked_equal",
    "masked_greater",
    "masked_greater_equal",
    "masked_inside",
    "masked_invalid",
    "masked_less",
    "masked_less_equal",
    "masked_not_equal",
    "masked_outside",
    "masked_values",
    "masked_where",
    "max",
    "maximum",
    "mean",
    "median",
    "min",
    "minimum",
    "mod",
    "modf",
    "moveaxis",
    "multiply",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanpercentile",
    "nanprod",
    "nanquantile",
    "nanstd",
    "nansum",
    "nanvar",
    "ndarrays",
    "negative",
    "nextafter",
    "not_equal",
    "ones",
    "open_dataset",
    "percentile",
    "plan",
    "positive",
    "pow",
    "power",
    "prod",
    "ptp",
    "quantile",
    "rad2deg",
    "radians",
    "ravel",
    "reciprocal",
    "remainder",
    "reshape",
    "right_shift",
    "rint",
    "rolling",
    "save",
    "set_options",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "size",
    "sliding_window_view",
    "spacing",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "testing",
    "to_dask",
    "to_hdf5",
    "to_zarr",
    "transpose",
    "true_divide",
    "trunc",
    "var",
    "where",
    "zeros",
]
