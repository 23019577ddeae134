"""Aggregations: the lazy :class:`Aggregation` node and numpy's reductions.

``mean``, ``std``, ``var``, ``sum``, ``prod``, ``min``, ``max``, ``ptp``,
``count``, ``any``, ``all``, ``argmin``, ``argmax`` and the ``nan`` forms take
numpy's arguments (``axis`` as an int, a negative int, a tuple or ``None``;
``keepdims``; ``ddof``; ``dtype``) and Biggus's ``mdtol``, and give numpy's
result dtypes. An aggregation is a lazy array like any other: it can be
indexed (which selects from its input before anything is read), combined and
aggregated again. The evaluator streams its input tile by tile through the
statistic's accumulator (:mod:`lazyarray.accumulators`).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
>>> m = la.mean(a, axis=(0, -1))
>>> m, m.ndarray().tolist()
(<Aggregation shape=(3,) dtype=float32 size=12 B>, [7.5, 11.5, 15.5])
>>> la.std(a, axis=0, ddof=1, keepdims=True).shape
(1, 3, 4)
>>> int(la.asarray(a).argmax())
23
"""

from __future__ import annotations

import builtins
import contextlib
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import accumulators as acc
from . import upcalls
from .adapters import asarray
from .array import Array
from .axes import normalise_axes, normalise_axis
from .context import shared_result
from .fillvalues import carried_fill_value, default_fill_value, fill_masked, fill_value_argument
from .foreign import is_masked_array
from .indexing import Key
from .planprotocol import Placement
from .reductions import REDUCTIONS, Reduction, check_options, numpy_dtype, work_dtype
from .steps import Steps
from .views import expand_dims

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from .context import EvaluationContext

__all__ = [
    "Aggregation",
    "Reduction",
    "all",
    "any",
    "argmax",
    "argmin",
    "count",
    "max",
    "mean",
    "min",
    "nanargmax",
    "nanargmin",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "prod",
    "ptp",
    "std",
    "sum",
    "var",
]


class Aggregation(Array):
    """A reduction of an array over some of its axes.

    Parameters
    ----------
    array : array-like
        The data to reduce.
    reduction : str
        numpy's name of the statistic: ``"mean"``, ``"nanstd"``, ``"count"``...
    axis : int, tuple of int or None
        Axes to reduce (``None``: all). Positional reductions (arg-min/max)
        take one axis or ``None`` (the position in the flattened array).
    mdtol : float, optional
        For masked arrays: an output is masked when the fraction of its
        inputs that are masked exceeds ``mdtol`` (Biggus's meaning); with the
        default of 1, only outputs with no valid input are masked (except
        counts, which are 0 there, as ``numpy.ma.count`` gives).
    **options
        ``dtype`` and ``ddof`` where numpy takes them.

    Notes
    -----
    Masked arrays reduce as numpy.ma reduces them, with these rules where
    numpy.ma has none or is not consistent:

    1. An output with no valid input (all its inputs masked, or for the
       ``nan`` forms masked or NaN, or none at all along a zero-length
       axis) is masked; for ``argmin`` and ``argmax`` too, where
       ``numpy.ma`` gives 0. Variances with no degrees of freedom left
       (``count <= ddof``) are masked, as in numpy.ma.
    2. The valid inputs reduce as numpy reduces them: NaN and infinities in
       them give numpy's NaN or infinity (numpy.ma masks some such means
       and variances and not others, depending on how the mask is stored).
    3. The dtype is numpy's (``mean`` of ``float32`` is ``float32``, where
       numpy.ma gives ``float64``): a node has one dtype in both modes.
    4. The fill value is numpy.ma's: the input's for ``var`` and ``std``
       (and their ``nan`` forms), converted to the result's dtype, the
       default of the result's dtype for the others.

    Examples
    --------
    >>> import numpy as np
    >>> Aggregation(np.arange(6).reshape(2, 3), "sum", axis=1).ndarray().tolist()
    [3, 12]
    """

    def __init__(self, array: Any, reduction: str, axis: Any = None, mdtol: float = 1.0,
                 **options: Any):
        array = asarray(array)
        spec = REDUCTIONS[reduction]
        unknown = sorted(set(options) - set(spec.takes))
        if unknown:
            raise TypeError(f"{reduction}() got unexpected keyword argument(s) {', '.join(unknown)}")
        options = {k: v for k, v in options.items() if v is not None}
        check_options(reduction, options)
        if not 0 <= mdtol <= 1:
            raise ValueError(f"{reduction}: mdtol must be between 0 and 1, got {mdtol}")
        if spec.positional and axis is not None:
            axes: tuple[int, ...] = (normalise_axis(axis, array.ndim, reduction),)
        else:
            axes = normalise_axes(axis, array.ndim, reduction)
        if spec.positional and axis is None:
            axes = tuple(range(array.ndim))
        dtype = numpy_dtype(spec, array.dtype, array.shape, axes, options)
        if spec.keeps_fill_value:
            fill_value = carried_fill_value(array.fill_value, array.dtype, dtype)
        else:
            fill_value = default_fill_value(dtype)
        self._setup(array, spec, tuple(sorted(axes)), float(mdtol), options, dtype, fill_value)

    def _setup(self, array: Array, spec: Reduction, axes: tuple[int, ...], mdtol: float,
               options: dict[str, Any], dtype: np.dtype, fill_value: Any,
               streams: bool | None = None) -> None:
        self._array = array
        self._spec = spec
        self._axes = axes
        self._mdtol = mdtol
        self._options = options
        self._dtype = dtype
        self._fill_value = fill_value
        self._shape = tuple(n for i, n in enumerate(array.shape) if i not in axes)
        self._work = work_dtype(spec, array.dtype, options)
        # Only an explicit dtype= casts the data itself (numpy casts each element
        # before summing: sum([0.5, 1.5], dtype=int) is 1); float64 for means of
        # integers is applied by the accumulator's reduce, without a copy.
        self._cast = self._work if "dtype" in options and self._work != array.dtype else None
        self._accumulator = spec.accumulator(self._work, ddof=options.get("ddof", 0))
        self._streams = self._should_stream() if streams is None else streams

    def _should_stream(self) -> bool:
        """Whether to compute this reduction tile by tile in the passes that use it.

        When its result is big (:data:`STREAMED_RESULT_BYTES`), each of its
        elements reduces few values (:data:`STREAMED_REDUCED_LENGTH`, and
        :data:`STREAMED_REDUCED_BYTES`), and no stored chunk of its input is
        cut along the reduced axes, so that a tile reading them whole reads
        whole chunks. Otherwise it is a stage of its own, whose tiles may cut
        the reduced axes anywhere. The rule looks at the input and the axes
        only, not at the statistic, so that the statistics of one input over
        the same axes (a mean and a standard deviation) stream or not
        together, and share one pass.
        """
        array = self._array
        result = math.prod(self._shape) * STREAMED_STATE_BYTES
        reduced = math.prod(array.shape[a] for a in self._axes)
        if (result < STREAMED_RESULT_BYTES or reduced > STREAMED_REDUCED_LENGTH
                or reduced * array.dtype.itemsize > STREAMED_REDUCED_BYTES):
            return False
        edges = upcalls.chunk_edges(array)
        along = (edges[a] for a in self._axes)
        return builtins.all(cuts is None or not len(cuts) for cuts in along)

    # -- metadata -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._array,)

    @property
    def mdtol(self) -> float:
        """The largest fraction of masked inputs an unmasked output may have."""
        return self._mdtol

    @property
    def array(self) -> Array:
        """The array being reduced."""
        return self._array

    @property
    def axes(self) -> tuple[int, ...]:
        """The reduced axes of :attr:`array`, increasing."""
        return self._axes

    @property
    def scratch_bytes(self) -> int:
        """Scratch memory per element of an input tile, in bytes (for the planner).

        Includes the validity mask made from a masked input's mask or NaNs.
        """
        mask = 1 if self._spec.skipna or self._array.masked else 0
        cast = self._cast.itemsize if self._cast is not None else 0
        return self._accumulator.scratch_bytes + mask + cast

    @property
    def accumulator_state_bytes(self) -> int:
        """Memory of the partial state per output element, in bytes (for the planner).

        Counts of valid inputs are one number for a whole tile unless masks or
        NaNs make them differ: then they are an int64 array like the others.
        """
        varying = self._array.masked or (self._spec.skipna and self._array.dtype.kind in "fc")
        if varying and self._spec.accumulator is not acc.Count:
            return self._accumulator.state_bytes + 8
        return self._accumulator.state_bytes

    @property
    def reduction(self) -> Reduction:
        """The statistic computed."""
        return self._spec

    @property
    def accumulator(self) -> acc.Accumulator:
        """The accumulator that reduces :attr:`array` tile by tile."""
        return self._accumulator

    @property
    def cast(self) -> np.dtype | None:
        """The dtype every element is cast to before reducing (``dtype=``), or ``None``."""
        return self._cast

    @property
    def streams(self) -> bool:
        """Whether the passes that use it compute it tile by tile (see :data:`STREAMED_RESULT_BYTES`).

        Otherwise, it is computed in a stage before them, and its result is
        held in memory while they run.
        """
        return self._streams

    # -- planner protocol ---------------------------------------------------
    @property
    def reduced_axes(self) -> tuple[int, ...] | None:
        # A streamed reduction is, to the planner, a node like any other
        # whose tiles read the reduced axes whole (see _plan_placements).
        return None if self._streams else self._axes

    def _plan_placements(self) -> tuple[Placement, ...]:
        if not self._streams:
            return super()._plan_placements()
        # The kept axes follow the result's; every tile reads the reduced ones whole.
        kept = iter(range(self.ndim))
        return (Placement(self._array, tuple(None if a in self._axes else (next(kept), 0, 1)
                                             for a in range(self._array.ndim))),)

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        if not self._streams:
            return super()._plan_input_bytes(parts)
        # Per element of the result: the values it reduces, with their
        # scratch, and its partial state.
        reduced = math.prod(self._array.shape[a] for a in self._axes)
        return reduced * (builtins.sum(parts) + self.scratch_bytes) + self.accumulator_state_bytes

    @property
    def _plan_state_bytes(self) -> int:
        return self.accumulator_state_bytes

    @property
    def _plan_scratch_bytes(self) -> tuple[int, int]:
        # The accumulator's own scratch (a variance's deviations) lives only
        # while it runs, in a buffer each thread reuses; the rest (validity
        # masks, cast copies) stays in the block's cache with the block.
        running = self._accumulator.scratch_bytes
        return self.scratch_bytes - running, running

    @property
    def _plan_label(self) -> str:
        return self._spec.name

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        node = Aggregation.__new__(Aggregation)
        node._setup(inputs[0], self._spec, self._axes, self._mdtol, self._options, self._dtype,
                    self._fill_value, self._streams)
        return node

    def _index_steps(self, key: Key) -> Steps[Array]:
        # Select from the input on the kept axes; the reduced axes stay whole.
        items = iter(key)
        inner = tuple(
            range(n) if i in self._axes else next(items) for i, n in enumerate(self._array.shape)
        )
        kept_before = [builtins.sum(not isinstance(inner[j], int) for j in range(i)) for i in self._axes]
        selected = yield self._array._select_steps(inner)
        node = Aggregation.__new__(Aggregation)
        node._setup(selected, self._spec, tuple(kept_before), self._mdtol,
                    self._options, self._dtype, self._fill_value, self._streams)
        return node

    # -- the streaming protocol used by the evaluator -------------------------
    def tile_state(self, value: np.ndarray, origin: tuple[int, ...],
                   context: EvaluationContext | None = None) -> acc.State:
        """The partial state of a tile of :attr:`array` starting at ``origin``.

        Statistics of one tile evaluated in one ``context``'s
        :meth:`~lazyarray.context.EvaluationContext.sharing_reads` block share
        their validity masks, counts and sums.
        """
        valid: np.ndarray | None = None
        masked = is_masked_array(value)
        if masked:
            # Every reduction of this block shares its validity and its data
            # (through the tile cache), so the sums and counts keyed on them
            # are found once per block, not once per statistic. The entries
            # hold their keys' objects, whose ids stay theirs meanwhile.
            mask = np.ma.getmask(value)
            if mask is not np.ma.nomask:
                valid = shared_result(
                    context, ("valid", id(mask)),
                    lambda: (mask, np.logical_not(mask) if mask.any() else None),
                )[1]
            source = value
            value = shared_result(context, ("data", id(source)),
                            lambda: (source, np.ma.getdata(source)))[1]
        if self._spec.skipna and value.dtype.kind in "fc":
            not_nan = ~np.isnan(value)
            valid = not_nan if valid is None else valid & not_nan
        if masked:
            # Masked points hold anything (1e20 fill values, say): numpy's
            # warnings about arithmetic on them would be noise, so masked mode
            # computes without floating-point warnings, as elementwise maths
            # does in masked mode.
            with np.errstate(all="ignore"):
                if self._cast is not None:
                    value = value.astype(self._cast)
                return self._accumulator.chunk(value, valid, self._axes, origin,
                                               self._array.shape, context=context)
        if self._cast is not None:
            # After finding NaN: nansum(x, dtype=int) skips NaN, it does not cast
            # it. Invalid points may hold anything; their casts are ignored.
            with np.errstate(invalid="ignore") if valid is not None else contextlib.nullcontext():
                value = value.astype(self._cast)
        return self._accumulator.chunk(value, valid, self._axes, origin, self._array.shape,
                                       context=context)

    def combine(self, first: acc.State, second: acc.State, *, spend: bool = False) -> acc.State:
        """Merge two partial states (``first`` earlier in C order).

        Both are left as they were, unless ``spend``: the caller (the
        executor, merging states it owns) will not use them again, and the
        result may be written into their arrays (see
        :meth:`lazyarray.accumulators.Accumulator.combine`).
        """
        if self._array.masked:
            # As in tile_state: no warnings about masked arrays' arithmetic.
            with np.errstate(all="ignore"):
                return self._accumulator.combine(first, second, spend=spend)
        return self._accumulator.combine(first, second, spend=spend)

    def finish(self, state: acc.State, masked: bool) -> np.ndarray:
        """The result of a complete state, as a masked array if ``masked``."""
        count = state.count
        with np.errstate(all="ignore"):
            result = self._accumulator.finalise(state)
            if self._spec.finish is not None:
                result = self._spec.finish(result)
            result = np.asarray(result).astype(self._dtype, copy=False)
        # Outputs with nothing to reduce: no valid input, or for variances no
        # degrees of freedom left (count <= ddof).
        empty = count == 0 if self._spec.accumulator is not acc.Var else (
            count <= self._options.get("ddof", 0)
        )
        if masked:
            total = math.prod(self._array.shape[a] for a in self._axes)
            mask = count < _fewest_valid(total, self._mdtol)
            if self._spec.accumulator is not acc.Count:
                # numpy.ma masks variances without degrees of freedom too, and
                # any statistic of nothing (even a variance whose negative ddof
                # leaves it degrees of freedom); a count of nothing is 0
                # (numpy.ma.count), masked only by mdtol.
                mask = empty | (count == 0) | mask
            return np.ma.MaskedArray(
                result, mask=mask, fill_value=fill_value_argument(self._fill_value, self._dtype),
            )
        # A 0-d count (no masks) gives a numpy bool, whose truth is at once;
        # its .any() goes through Python code in numpy.
        if empty.any() if type(empty) is np.ndarray else empty:
            if self._spec.positional:
                raise ValueError(f"{self._spec.name}: All-NaN slice encountered")
            if self._spec.empty_warning:
                warnings.warn(self._spec.empty_warning, RuntimeWarning, stacklevel=3)
            if self._spec.skipna and self._spec.accumulator is acc.Var:
                # numpy's nanvar gives NaN there, where var gives M2 / 0 (inf).
                result = np.where(empty, np.nan, result).astype(self._dtype, copy=False)
        return result

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        # A masked array realised plainly: reduced as numpy.ma reduces it, the
        # masked outputs filled with the result's fill value.
        with_masks = masked or self.masked
        value = yield self._array._evaluate_steps(context, with_masks)
        if 0 in self._array.shape:
            state = self._accumulator.chunk(
                np.ma.getdata(value), None, self._axes, (0,) * self._array.ndim, self._array.shape
            )
        else:
            with context.sharing_reads():
                state = self.tile_state(value, (0,) * self._array.ndim, context)
        result = self.finish(state, with_masks)
        return result if masked else fill_masked(result, self._fill_value)


#: An aggregation streams, computed tile by tile within the passes that use
#: it (:attr:`Aggregation.streams`), when its result's partial states and
#: values take at least this many bytes, so that holding them whole, as a
#: stage's result is held, would weigh on memory...
STREAMED_RESULT_BYTES = 16 * 2**20

#: ... and each element of its result reduces at most this many values (a
#: short axis: components, a window of days; a long one, time, keeps a stage,
#: so that statistics over it share one pass with what else reads the input)...
STREAMED_REDUCED_LENGTH = 64

#: ... taking at most this many bytes: a tile then holds whole reductions of
#: many result elements.
STREAMED_REDUCED_BYTES = 256 * 2**10

#: The partial state and value of one result element that the rule counts,
#: whatever the statistic: a variance's count, mean and squared deviations.
STREAMED_STATE_BYTES = 32


def _fewest_valid(total: int, mdtol: float) -> int:
    """The fewest valid inputs of ``total`` an output needs not to be masked.

    Biggus's rule, that the masked fraction ``(total - count) / total`` must
    not exceed ``mdtol``, solved for ``count`` once per output region rather
    than evaluated on float arrays of the output's size. With no inputs at
    all, the fraction counts as 1.

    Examples
    --------
    >>> _fewest_valid(24, 0.25), _fewest_valid(24, 0.0), _fewest_valid(24, 1.0), _fewest_valid(0, 1.0)
    (18, 24, 0, 0)
    """
    if not total:
        return 1 if 1 > mdtol else 0
    count = builtins.max(0, builtins.min(total, math.floor(total * (1 - mdtol))))
    # Rounding may put the estimate one off the exact answer of the rule.
    while count > 0 and not (total - (count - 1)) / total > mdtol:
        count -= 1
    while count <= total and (total - count) / total > mdtol:
        count += 1
    return count


def _reduce(name: str, a: Any, axis: Any, keepdims: bool, mdtol: float = 1.0,
            **options: Any) -> Array:
    node = Aggregation(a, name, axis, mdtol=mdtol, **options)
    if not keepdims:
        return node
    return expand_dims(node, node.axes)


def sum(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
        mdtol: float = 1.0) -> Array:
    """Sum over ``axis``, as ``numpy.sum``; lazily."""
    return _reduce("sum", a, axis, keepdims, mdtol, dtype=dtype)


def nansum(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
           mdtol: float = 1.0) -> Array:
    """Sum over ``axis`` treating NaN as missing, as ``numpy.nansum``; lazily."""
    return _reduce("nansum", a, axis, keepdims, mdtol, dtype=dtype)


def prod(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
         mdtol: float = 1.0) -> Array:
    """Product over ``axis``, as ``numpy.prod``; lazily."""
    return _reduce("prod", a, axis, keepdims, mdtol, dtype=dtype)


def nanprod(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
            mdtol: float = 1.0) -> Array:
    """Product over ``axis`` treating NaN as missing, as ``numpy.nanprod``; lazily."""
    return _reduce("nanprod", a, axis, keepdims, mdtol, dtype=dtype)


def mean(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
         mdtol: float = 1.0) -> Array:
    """Arithmetic mean over ``axis``, as ``numpy.mean``, accumulated in float64; lazily.

    Examples
    --------
    >>> import numpy as np
    >>> mean(np.array([100, 101, 102], dtype=np.int8)).ndarray()
    array(101.)
    """
    return _reduce("mean", a, axis, keepdims, mdtol, dtype=dtype)


def nanmean(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, keepdims: bool = False,
            mdtol: float = 1.0) -> Array:
    """Mean over ``axis`` ignoring NaN, as ``numpy.nanmean``; lazily."""
    return _reduce("nanmean", a, axis, keepdims, mdtol, dtype=dtype)


def var(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, ddof: float = 0,
        keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Variance over ``axis``, as ``numpy.var``; lazily and in one pass."""
    return _reduce("var", a, axis, keepdims, mdtol, dtype=dtype, ddof=ddof)


def nanvar(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, ddof: float = 0,
           keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Variance over ``axis`` ignoring NaN, as ``numpy.nanvar``; lazily."""
    return _reduce("nanvar", a, axis, keepdims, mdtol, dtype=dtype, ddof=ddof)


def std(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, ddof: float = 0,
        keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Standard deviation over ``axis``, as ``numpy.std``; lazily and in one pass."""
    return _reduce("std", a, axis, keepdims, mdtol, dtype=dtype, ddof=ddof)


def nanstd(a: Any, axis: Any = None, *, dtype: DTypeLike | None = None, ddof: float = 0,
           keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Standard deviation over ``axis`` ignoring NaN, as ``numpy.nanstd``; lazily."""
    return _reduce("nanstd", a, axis, keepdims, mdtol, dtype=dtype, ddof=ddof)


def min(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Minimum over ``axis``, as ``numpy.min``; lazily."""
    return _reduce("min", a, axis, keepdims, mdtol)


def nanmin(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Minimum over ``axis`` ignoring NaN, as ``numpy.nanmin``; lazily."""
    return _reduce("nanmin", a, axis, keepdims, mdtol)


def max(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Maximum over ``axis``, as ``numpy.max``; lazily."""
    return _reduce("max", a, axis, keepdims, mdtol)


def nanmax(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Maximum over ``axis`` ignoring NaN, as ``numpy.nanmax``; lazily."""
    return _reduce("nanmax", a, axis, keepdims, mdtol)


def ptp(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Range (maximum minus minimum) over ``axis``, as ``numpy.ptp``; lazily."""
    return _reduce("ptp", a, axis, keepdims, mdtol)


def count(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Number of unmasked elements over ``axis``, as ``numpy.ma.count``; lazily."""
    return _reduce("count", a, axis, keepdims, mdtol)


def any(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Whether any element over ``axis`` is true, as ``numpy.any``; lazily."""
    return _reduce("any", a, axis, keepdims, mdtol)


def all(a: Any, axis: Any = None, *, keepdims: bool = False, mdtol: float = 1.0) -> Array:
    """Whether every element over ``axis`` is true, as ``numpy.all``; lazily."""
    return _reduce("all", a, axis, keepdims, mdtol)


def argmin(a: Any, axis: int | None = None, *, keepdims: bool = False,
           mdtol: float = 1.0) -> Array:
    """Position of the first minimum, as ``numpy.argmin``; lazily."""
    return _reduce("argmin", a, axis, keepdims, mdtol)


def nanargmin(a: Any, axis: int | None = None, *, keepdims: bool = False,
              mdtol: float = 1.0) -> Array:
    """Position of the first minimum ignoring NaN, as ``numpy.nanargmin``; lazily."""
    return _reduce("nanargmin", a, axis, keepdims, mdtol)


def argmax(a: Any, axis: int | None = None, *, keepdims: bool = False,
           mdtol: float = 1.0) -> Array:
    """Position of the first maximum, as ``numpy.argmax``; lazily."""
    return _reduce("argmax", a, axis, keepdims, mdtol)


def nanargmax(a: Any, axis: int | None = None, *, keepdims: bool = False,
              mdtol: float = 1.0) -> Array:
    """Position of the first maximum ignoring NaN, as ``numpy.nanargmax``; lazily."""
    return _reduce("nanargmax", a, axis, keepdims, mdtol)
