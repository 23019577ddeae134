"""The partial states of several reductions of one block, found together.

The executor hands every block of a tile to :func:`tile_states` with all
the reductions of that input, so that statistics can share their work.
With compiled kernels (the ``kernels`` option; see :mod:`lazyarray.kernels`),
the counts, sums, means, variances, minima, maxima and ranges of a block
are found in one sweep over it (a second one for the deviations of a
variance, while the block is in the CPU cache), in their plain, ``nan`` and
masked forms:

1. The reductions that fuse are grouped by their reduced axes and whether
   NaN counts as missing; the others (a cast through ``dtype=``, products,
   arg-min/max, any/all, complex or half-precision data) go through
   :meth:`~lazyarray.aggregation.Aggregation.tile_state`, as with
   ``kernels="numpy"``, and so do groups of plain (unmasked, not ``nan``)
   counts, minima, maxima and ranges without a sum beside them, which
   numpy finds faster.
2. The block (and its mask) is described as kept-outer, reduced and
   kept-inner runs of memory (:func:`~lazyarray.blocklayout.block_layout`); a block whose reduced
   axes are not adjacent is copied into kept-then-reduced order first.
3. One kernel call per group and sum dtype fills the count, the sum, the
   minimum and maximum and the mean and M2, and these are dealt out as the
   named states (:mod:`lazyarray.accumulators`) each accumulator's
   ``combine`` and ``finalise`` expect, each with arrays of its own (the
   executor merges states in place).

A kernel call runs this machine's ahead-of-time build of the kernel when
there is one for its dtypes (``lazyarray build-kernels``), numba's JIT
otherwise (see :class:`lazyarray.kernels.Kernel`). Under
``kernels="auto"``, an evaluation that reduces less than
:data:`FIRST_KERNEL_BYTES` uses numpy (:func:`kernels_for`), whatever the
process has loaded, so that a process's first small reduction takes
milliseconds, not a second, and a result does not depend on what was
computed before it; such evaluations agree with the kernels as
``kernels="numpy"`` does: counts, minima and maxima to the bit, sums, means
and variances to rounding.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> data = np.arange(12.0).reshape(3, 4)
>>> mean, high = tile_states([la.mean(data, 0), la.max(data, 0)], data, (0, 0))
>>> int(mean.count), mean.total.tolist(), high.value.tolist()
(3, [12.0, 15.0, 18.0, 21.0], [8.0, 9.0, 10.0, 11.0])
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from . import accumulators as acc
from .blocklayout import FEW, BlockLayout, arrange_block, block_layout, flat_view
from .context import EvaluationContext
from .foreign import is_masked_array, unmasked_data
from .options import Options
from .scratch import scratch_array

if TYPE_CHECKING:
    from .accumulators import State
    from .aggregation import Aggregation

__all__ = ["BlockLayout", "accumulate", "block_layout", "fuses", "kernels_for", "numba_kernels",
           "tile_states"]

#: The accumulators the kernels compute, by exact type (Prod is a Sum too),
#: and what each takes from them (type lookups: isinstance on abstract
#: classes is slow, and this runs for every block).
_ROLES: dict[type, str] = {acc.Count: "count", acc.Sum: "sum", acc.Mean: "sum", acc.Var: "var",
                           acc.Min: "min", acc.Max: "max", acc.Ptp: "ptp"}


@functools.cache
def numba_kernels() -> ModuleType | None:
    """:mod:`lazyarray.kernels` when numba is installed, else ``None``.

    Imported on first use, not with lazyarray; numba itself is imported
    only when a kernel that this machine's ahead-of-time build lacks is
    first run (see :class:`lazyarray.kernels.Kernel`). The answer is kept
    (``numba_kernels.cache_clear()`` forgets it).
    """
    from . import kernels

    return kernels if kernels.available() else None


def _chosen_kernels(context: EvaluationContext) -> ModuleType | None:
    """The kernels module ``context``'s ``kernels`` option asks for, or ``None`` for numpy."""
    choice = context.options.kernels
    if choice == "numpy":
        return None
    kernels = numba_kernels()
    if kernels is None and choice == "numba":
        raise ImportError(
            "kernels='numba' needs numba, which is not installed: "
            "pip install lazyarray[fast] (or use kernels='auto' or 'numpy')"
        )
    return kernels


def fuses(reduction: Aggregation, dtype: np.dtype) -> bool:
    """Whether the kernels compute ``reduction`` of data of ``dtype``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a = np.zeros(3, np.float32)
    >>> fuses(la.nanstd(a), a.dtype), fuses(la.prod(a), a.dtype), fuses(la.sum(a, dtype="f8"), a.dtype)
    (True, False, False)
    """
    return (
        type(reduction.accumulator) in _ROLES
        and reduction.cast is None
        and dtype.isnative
        and (dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize in (4, 8)))
    )


#: Evaluations (passes) that reduce fewer bytes than this go to numpy under
#: ``kernels="auto"`` (:func:`kernels_for`), whatever this process has
#: loaded: numpy finds every fused statistic of 4 MiB in under 10 ms, where
#: loading numba takes 0.75 to 1 s. A small evaluation never loads numba
#: then, and a large one loads the kernels on its first block.
FIRST_KERNEL_BYTES = 4 * 2**20

#: Blocks of at most this many elements have their sums and means found by
#: numpy, not the kernels, when nothing else is asked of them and the kernels
#: are chosen by ``kernels="auto"`` (``"numba"`` always uses them): a kernel's fixed
#: cost in Python (layouts, outputs, states) is 3x numpy's whole reduction of a
#: 100 x 100 block, and a small evaluation is mostly that cost (issue 14).
SMALL_BLOCK = 1 << 14


def tile_states(reductions: Sequence[Aggregation], block: np.ndarray,
                origin: tuple[int, ...], context: EvaluationContext | None = None) -> list[State]:
    """The partial state of each of ``reductions`` of ``block`` (at ``origin``).

    Parameters
    ----------
    reductions : sequence of Aggregation
        Reductions of one input, of which ``block`` is a part.
    block : numpy.ndarray or numpy.ma.MaskedArray
        The block, masked in masked mode.
    origin : tuple of int
        Where the block starts in the input.
    context : lazyarray.context.EvaluationContext, optional
        The evaluation: its options choose the kernels, and the statistics
        found in one of its ``sharing_reads`` blocks share counts and sums.
        By default, a context under the options in force.

    Returns
    -------
    list of State
        Each reduction's state, as its ``tile_state`` would give.
    """
    context = EvaluationContext() if context is None else context
    data: np.ndarray = unmasked_data(block)
    kernels = _chosen_kernels(context)
    if kernels is None or block.size == 0:
        return [r.tile_state(block, origin, context) for r in reductions]
    states: list[State | None] = [None] * len(reductions)
    groups: dict[tuple[tuple[int, ...], bool], list[int]] = {}
    for number, reduction in enumerate(reductions):
        if fuses(reduction, data.dtype):
            skipnan = reduction.reduction.skipna and data.dtype.kind == "f"
            groups.setdefault((reduction.axes, skipnan), []).append(number)
        else:
            states[number] = reduction.tile_state(block, origin, context)
    if groups:
        mask = _block_mask(block)
        for (axes, skipnan), numbers in groups.items():
            group = [reductions[n] for n in numbers]
            if (mask is None and not skipnan and all(_sum_dtype(r.accumulator) is None
                                                     for r in group)) or (
                    data.size <= SMALL_BLOCK and context.options.kernels == "auto"
                    and all(_ROLES[type(r.accumulator)] in ("sum", "count") for r in group)):
                # Plain counts and extremes: numpy's vectorised minimum and
                # maximum (no float64 conversion) are faster than a kernel that
                # must also test for NaN, and counts need no sweep at all.
                # Sums of small blocks: numpy's one reduction costs less than
                # arranging the block and the outputs for a kernel.
                found = [r.tile_state(block, origin, context) for r in group]
            else:
                computed = _fused_states(kernels, group, data, mask, axes, skipnan)
                if computed is None:  # a small block, and the kernel is not loaded
                    computed = [r.tile_state(block, origin, context) for r in group]
                found = computed
            for number, state in zip(numbers, found):
                states[number] = state
    return states  # type: ignore[return-value]  # every entry is filled


def kernels_for(options: Options, reduced_bytes: int) -> Options:
    """``options`` for an evaluation whose reductions read ``reduced_bytes``:
    under ``kernels="auto"``, numpy's when that is less than
    :data:`FIRST_KERNEL_BYTES`, so that a small evaluation never loads numba.

    Decided once per evaluation (per pass), from what it reduces, not per
    block (the executor cuts tiles into blocks of a few megabytes or less), nor
    from what the process loaded before: the same call always takes the same
    path, and gives the same bits.

    Examples
    --------
    >>> from lazyarray.options import get_options
    >>> kernels_for(get_options(kernels="auto"), 10_000).kernels
    'numpy'
    >>> kernels_for(get_options(kernels="auto"), FIRST_KERNEL_BYTES).kernels
    'auto'
    >>> kernels_for(get_options(kernels="numba"), 10).kernels
    'numba'
    """
    if options.kernels == "auto" and 0 < reduced_bytes < FIRST_KERNEL_BYTES:
        return _with_numpy_kernels(options)
    return options  # (nothing reduced: the kernels are never asked for)


@functools.lru_cache(maxsize=16)
def _with_numpy_kernels(options: Options) -> Options:
    # Kept: replacing a field checks every option again, which costs a small
    # evaluation more than its work.
    return dataclasses.replace(options, kernels="numpy")


def _block_mask(block: np.ndarray) -> np.ndarray | None:
    """The mask of a masked block, or ``None`` when nothing in it is masked.

    An all-false mask takes the faster unmasked kernel (and gives the 0-d
    count the numpy path gives).
    """
    if is_masked_array(block):
        given = np.ma.getmask(block)
        if given is not np.ma.nomask and given.any():
            return np.asarray(given)
    return None


def accumulate(reductions: Sequence[Aggregation], block: np.ndarray, origin: tuple[int, ...],
               earlier: list[State], context: EvaluationContext | None = None) -> list[State]:
    """``earlier`` (the states of ``reductions`` so far) with ``block`` added.

    The executor's tasks add tile after tile of one output region into
    running states. Merging each block's own state into them costs several
    sweeps over the states per block (numpy's operations in ``combine``),
    more than finding the block's statistics when tiles are shallow. Where
    the kernels allow (see :func:`kernels.into`), the running states are
    updated in place in the block's one sweep instead; other reductions are
    combined as before. ``context`` is as for :func:`tile_states`.

    ``earlier`` is spent: its arrays are updated in place, or merged with
    ``combine(..., spend=True)``. Only the executor calls this, with the
    running states of one of its tasks, which nothing else sees.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> data = np.arange(24.0).reshape(6, 4)
    >>> reductions = [la.mean(data, 0), la.std(data, 0)]
    >>> running = tile_states(reductions, data[:3], (0, 0))
    >>> states = accumulate(reductions, data[3:], (3, 0), running)
    >>> [bool(np.allclose(r.finish(s, False), f(data, 0)))
    ...  for r, s, f in zip(reductions, states, (np.mean, np.std))]
    [True, True]
    """
    context = EvaluationContext() if context is None else context
    states: list[State | None] = [None] * len(reductions)
    rest = list(range(len(reductions)))
    data: np.ndarray = unmasked_data(block)
    kernels = _chosen_kernels(context)
    if kernels is not None and block.size:
        mask = _block_mask(block)
        groups: dict[tuple[tuple[int, ...], bool], list[int]] = {}
        for number, reduction in enumerate(reductions):
            if fuses(reduction, data.dtype):
                skipnan = reduction.reduction.skipna and data.dtype.kind == "f"
                groups.setdefault((reduction.axes, skipnan), []).append(number)
        for (axes, skipnan), numbers in groups.items():
            group = [reductions[n] for n in numbers]
            updated = _accumulated(kernels, group, [earlier[n] for n in numbers], data, mask,
                                   axes, skipnan)
            if updated is not None:
                for number, state in zip(numbers, updated):
                    states[number] = state
        rest = [n for n, state in enumerate(states) if state is None]
    if rest:
        found = tile_states([reductions[n] for n in rest], block, origin, context)
        for number, state in zip(rest, found):
            states[number] = reductions[number].combine(earlier[number], state, spend=True)
    return states  # type: ignore[return-value]  # every entry is filled


def _scratch_arrays(outputs: int, inner: int) -> tuple[np.ndarray, ...]:
    """Scratch for :func:`_accumulated`: zeroed counts of ``outputs``, three float64 rows of ``inner``.

    The calling thread's buffers (:mod:`lazyarray.scratch`), reused from
    block to block, and held only while :func:`_accumulated` runs.
    """
    found = scratch_array((outputs,), np.dtype(np.int64), "fused.counts")
    found.fill(0)
    rows = scratch_array((3, inner), _FLOAT64, "fused.deviations")
    return found, rows[0], rows[1], rows[2]


@dataclass
class _Running:
    """The arrays of running states that :func:`_accumulated`'s kernel updates."""

    total: np.ndarray | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    mean: np.ndarray | None = None
    m2: np.ndarray | None = None
    var_count: np.ndarray | None = None


def _running(reductions: list[Aggregation], roles: list[str], earlier: list[State],
             shape: tuple[int, ...], dtype: np.dtype) -> _Running | None:
    """The arrays of ``earlier`` to update, or ``None`` if one cannot be updated in place.

    Each must be a contiguous, writeable array of the output's ``shape`` and
    of the dtype the kernel writes (``dtype``, the data's, for extremes).
    """
    def fits(array: np.ndarray, wanted: np.dtype) -> bool:
        return (array.shape == shape and array.dtype == wanted and array.flags.c_contiguous
                and array.flags.writeable)

    running = _Running()
    for reduction, role, state in zip(reductions, roles, earlier):
        if state.count.ndim and not fits(state.count, np.dtype(np.int64)):
            return None
        if isinstance(state, acc.SumState):
            if not fits(state.total, acc.accumulation_dtype(reduction.accumulator.dtype)):
                return None
            running.total = state.total
        elif isinstance(state, acc.VarState):
            if not (fits(state.mean, _FLOAT64) and fits(state.m2, _FLOAT64)):
                return None
            running.var_count, running.mean, running.m2 = state.count, state.mean, state.m2
        elif isinstance(state, acc.ExtremeState):
            if not fits(state.value, dtype):
                return None
            if role == "min":
                running.low = state.value
            else:
                running.high = state.value
        elif not isinstance(state, acc.CountState):
            return None
    return running


def _accumulated(kernels: ModuleType, reductions: list[Aggregation], earlier: list[State],
                 data: np.ndarray, mask: np.ndarray | None, axes: tuple[int, ...],
                 skipnan: bool) -> list[State] | None:
    """``earlier`` updated in place with ``data`` by one kernel, or ``None`` if it cannot be.

    It can when the block needs no copy (the ``"outer"`` layout), its
    reductions need at most one sum dtype and no statistic is asked twice
    (each running array receives the block once), every running array is a
    contiguous, writeable array of the output's shape and dtype.
    """
    roles = [_ROLES[type(r.accumulator)] for r in reductions]
    counts_only = all(role == "count" for role in roles)
    if "ptp" in roles or any(roles.count(role) > 1 for role in roles if role != "count"):
        return None
    if mask is None and not skipnan and not any(role in ("sum", "var") for role in roles) \
            and not counts_only:
        return None  # tile_states gives these to numpy: combine as usual
    layout = block_layout(data, axes)
    if layout is None or layout.loop != "outer" or layout.B < FEW:
        return None
    mask_layout = None
    if mask is not None:
        mask_layout = block_layout(mask, axes)
        if mask_layout is None or mask_layout.loop != "outer":
            mask = np.ascontiguousarray(mask)
            mask_layout = block_layout(mask, axes)
            if mask_layout is None or mask_layout.loop != "outer":
                return None
    shape = tuple(n for a, n in enumerate(data.shape) if a not in axes)
    running = _running(reductions, roles, earlier, shape, data.dtype)
    if running is None:
        return None
    data_dtype = np.dtype(np.uint8) if data.dtype.kind == "b" else data.dtype
    total, low, high, mean, m2 = running.total, running.low, running.high, running.mean, running.m2
    counting = mask is not None or skipnan
    extremes = low is not None or high is not None
    if extremes and (low is None or high is None):
        # The kernel updates both extremes; the one not asked for goes to scratch.
        spare = np.full(shape, acc._identity(data.dtype, high is None), data.dtype)
        low, high = (spare, high) if low is None else (low, spare)
    outputs = layout.A * layout.B
    found, centre, s1, s2 = _scratch_arrays(outputs if counting else 1, kernels.STRIP)
    var_count = running.var_count
    if var_count is None:
        count_view, step = _ONE[np.int64], 0
    elif var_count.ndim == 0:
        count_view, step = np.array([int(var_count)], np.int64), 0
    else:
        count_view, step = var_count.reshape(-1), 1
    arranged = data.view(np.uint8) if data.dtype.kind == "b" else data
    flat_mask, ma, mr = _NO_MASK, 0, 0
    if mask is not None and mask_layout is not None:
        flat_mask, ma, mr = flat_view(mask, mask_layout), mask_layout.sa, mask_layout.sr
    flags = (mask is not None, skipnan, total is not None, extremes, mean is not None)
    kernel = kernels.into(*flags)
    if counting or total is not None or extremes or mean is not None:  # else counts only
        kernel(flat_view(arranged, layout), flat_mask, layout.A, layout.R, layout.B, layout.sa, layout.sr,
               ma, mr, found,
               _out(total) if total is not None else _ONE[_FLOAT64],
               _out(low) if low is not None else _ONE[data_dtype],
               _out(high) if high is not None else _ONE[data_dtype],
               count_view, step,
               _out(mean) if mean is not None else _ONE[_FLOAT64],
               _out(m2) if m2 is not None else _ONE[_FLOAT64],
               centre, s1, s2)
    block_counts = found.reshape(shape) if counting else None
    if block_counts is not None and int(block_counts.min()) == layout.R:
        block_counts = None  # every element counted: counts stay 0-d where they are
    return [state.replace(count=_added(state.count, block_counts, layout.R))
            for state in earlier]


def _added(count: np.ndarray, block_counts: np.ndarray | None, rows: int) -> np.ndarray:
    """A running ``count`` plus a block's: ``block_counts``, or ``rows`` each if ``None``.

    In place where ``count`` is an array (the running state's own); a 0-d
    count stays 0-d while every block counts all its rows.
    """
    if block_counts is None:
        if count.ndim:
            count += rows
            return count
        return np.asarray(int(count) + rows, dtype=np.int64)
    if count.ndim:
        count += block_counts
        return count
    return block_counts + int(count)


def _sum_dtype(accumulator: acc.Accumulator) -> np.dtype | None:
    """The dtype ``accumulator`` (a fused one) sums in, or ``None`` if it needs no sum."""
    role = _ROLES[type(accumulator)]
    if role == "var":
        return _FLOAT64
    if role == "sum":  # sums and means
        return acc.accumulation_dtype(accumulator.dtype)
    return None


_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


def _kernel_sum_dtype(kind: np.dtype, dtype: np.dtype, rows: int) -> np.dtype:
    """The dtype the kernels sum ``rows`` elements of ``dtype`` in, for totals of ``kind``.

    Integers narrower than 64 bits are summed in int64 where that gives the
    same bits: for uint64 totals always (both wrap modulo 2**64), for
    float64 ones (means and variances of integers) while no partial sum can
    reach 2**53, so that every float64 addition would be exact too. One
    sweep then serves the sum and the mean of the same integers, and the
    kernels are compiled for fewer pairs of dtypes.
    """
    if dtype.kind in "biu" and dtype.itemsize < 8:
        if kind.kind in "iu":
            return _INT64
        if kind == _FLOAT64:
            largest = 1 if dtype.kind == "b" else int(max(-np.iinfo(dtype).min, np.iinfo(dtype).max))
            if rows * largest < 2**53:
                return _INT64
    return kind


def _fused_states(kernels: ModuleType, reductions: list[Aggregation], data: np.ndarray,
                  mask: np.ndarray | None, axes: tuple[int, ...], skipnan: bool
                  ) -> list[State] | None:
    """The states of ``reductions`` (fused ones, same axes) of ``data``, from the kernels."""
    accumulators = [r.accumulator for r in reductions]
    roles = [_ROLES[type(a)] for a in accumulators]
    extremes = "min" in roles or "max" in roles or "ptp" in roles
    deviations = "var" in roles
    shape = tuple(n for a, n in enumerate(data.shape) if a not in axes)
    counting = mask is not None or skipnan
    arranged, layout, mask, mask_layout = arrange_block(data, mask, axes)
    if data.dtype.kind == "b":  # the kernels see booleans as bytes
        arranged = arranged.view(np.uint8)
    flat = flat_view(arranged, layout)
    flat_mask, ma, mr = _NO_MASK, 0, 0
    if mask is not None and mask_layout is not None:
        flat_mask, ma, mr = flat_view(mask, mask_layout), mask_layout.sa, mask_layout.sr

    # The dtype of each state's total, and the dtype the kernels find it in.
    sums = [_sum_dtype(a) for a in accumulators]
    summed_in = {k: _kernel_sum_dtype(k, data.dtype, layout.R) for k in sums if k is not None}
    kinds = list(dict.fromkeys(summed_in.values()))
    if deviations:  # the call that finds the deviations sums as variances do
        first_kind = summed_in[_FLOAT64]
        kinds.sort(key=lambda k: k != first_kind)
    if not kinds:  # counts and extremes only; the sum found beside them is not used
        kinds = [_kernel_sum_dtype(acc.accumulation_dtype(data.dtype), data.dtype, layout.R)]

    count = np.zeros(shape, np.int64)
    found: dict[np.dtype, np.ndarray] = {}
    low = high = mean = m2 = None
    flags = (layout.loop, mask is not None, skipnan)
    kernel = kernels.sweep(*flags)
    for number, kind in enumerate(kinds):
        first = number == 0
        total = np.zeros(shape, kind)
        if first and extremes:
            low = np.full(shape, acc._identity(data.dtype, True), data.dtype)
            high = np.full(shape, acc._identity(data.dtype, False), data.dtype)
        if first and deviations:
            mean, m2 = np.zeros(shape), np.zeros(shape)
        # Unused outputs get one-element stand-ins (the kernels do not touch
        # them); a later call (another sum dtype) counts into a scratch array.
        counts = (count if first else np.zeros(shape, np.int64)) if counting else _ONE[np.int64]
        kernel(flat, flat_mask, layout.A, layout.R, layout.B, layout.sa, layout.sr, ma, mr,
               _out(counts), _out(total),
               _out(low if first and low is not None else _ONE[data.dtype]),
               _out(high if first and high is not None else _ONE[data.dtype]),
               _out(mean if first and mean is not None else _ONE[np.float64]),
               _out(m2 if first and m2 is not None else _ONE[np.float64]),
               first and extremes, first and deviations)
        found[kind] = total

    all_valid = not counting or int(count.sum()) == count.size * layout.R
    shared: set[int] = set()

    def own(array: np.ndarray) -> np.ndarray:
        """``array`` the first time, a copy after: each state owns its arrays."""
        if id(array) in shared:
            return array.copy()
        shared.add(id(array))
        return array

    def valid_count() -> np.ndarray:
        if all_valid:
            return np.asarray(layout.R, dtype=np.int64)  # 0-d, as the numpy path gives
        return own(count)

    def total_of(kind: np.dtype) -> np.ndarray:
        """The total a state of ``kind`` takes, in that dtype."""
        total = found[summed_in[kind]]
        if total.dtype == kind:
            return own(total)
        if kind.kind == "f":
            return total.astype(kind)  # exact (see _kernel_sum_dtype), and a new array
        return own(total).view(kind)  # int64 bits as uint64

    states: list[State] = []
    for role, summed in zip(roles, sums):
        if role == "count":
            states.append(acc.CountState(own(count) if counting
                                         else np.full(shape, layout.R, np.int64)))
        elif role == "var":
            assert mean is not None and m2 is not None
            states.append(acc.VarState(valid_count(), own(mean), own(m2)))
        elif role == "sum":
            assert summed is not None
            states.append(acc.SumState(valid_count(), total_of(summed)))
        else:
            assert low is not None and high is not None
            if role == "ptp":
                states.append(acc.RangeState(valid_count(), own(low), own(high)))
            else:
                states.append(acc.ExtremeState(valid_count(), own(low if role == "min" else high)))
    return states


def _out(array: np.ndarray) -> np.ndarray:
    """``array`` as the flat, writeable view the kernels fill (bytes for booleans)."""
    flat = array.reshape(-1)
    return flat.view(np.uint8) if flat.dtype.kind == "b" else flat


class _Dummies(dict[type[np.generic] | np.dtype, np.ndarray]):
    """One-element arrays for the kernels' unused outputs, one per dtype.

    Shared by every thread: the kernels never write them.
    """

    def __missing__(self, dtype: type[np.generic] | np.dtype) -> np.ndarray:
        self[dtype] = value = np.zeros(1, dtype)
        return value


_ONE = _Dummies()
_NO_MASK = np.zeros(1, bool)
