"""Streaming reducers: each statistic as ``chunk``, ``combine`` and ``finalise``.

An accumulator turns one tile of data into a small *partial state*
(:meth:`Accumulator.chunk`), merges two partial states
(:meth:`Accumulator.combine`) and turns a state into the result
(:meth:`Accumulator.finalise`).

A state is a small named record of arrays shaped like the output region,
one record type per family of statistics (:class:`CountState`,
:class:`SumState`, :class:`ProductState`, :class:`VarState`,
:class:`ExtremeState`, :class:`RangeState`, :class:`TruthState`,
:class:`ArgState`, all :class:`State`), whose fields are read by name.
Every record has a ``count``: the number of valid (unmasked, and for the
``nan`` forms not-NaN) inputs, which masked results, ``mdtol`` and
empty-slice rules are decided from; that count is 0-d (it broadcasts) when
every input of the tile is valid. Records are frozen dataclasses: they
pickle, and code that handles every array of a state alike (the executor's
pool of spent arrays) takes them from :meth:`State.arrays`.

``combine(first, second)`` leaves both arguments as they were, so a state
may be merged twice (an engine that retries a task, or feeds one result to
two consumers). Only ``combine(first, second, spend=True)``, for states the
caller owns and will not use again (the executor's running states), may
write the result into their arrays.

Partials accumulate in float64 (complex128 for complex data, int64 or uint64
for integer sums) and merge with exact formulas, so a result does not depend
on how the data was cut into tiles beyond floating-point rounding.

Examples
--------
>>> import numpy as np
>>> acc = Var(np.dtype("f4"), ddof=1)
>>> data = np.arange(12, dtype="f4").reshape(4, 3)
>>> left, right = acc.chunk(data[:1], None, (0,)), acc.chunk(data[1:], None, (0,))
>>> left.count, left.mean.tolist(), left.m2.tolist()
(array(1), [0.0, 1.0, 2.0], [0.0, 0.0, 0.0])
>>> acc.finalise(acc.combine(left, right)).tolist() == np.var(data, 0, ddof=1).tolist()
True
>>> left.mean.tolist()  # combine left its arguments as they were
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import numpy as np

from .context import shared_result
from .partialstates import (
    ArgState,
    CountState,
    ExtremeState,
    ProductState,
    RangeState,
    S,
    State,
    SumState,
    TruthState,
    VarState,
)
from .scratch import scratch_array

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = [
    "Accumulator",
    "AllTrue",
    "AnyTrue",
    "ArgMax",
    "ArgMin",
    "ArgState",
    "Count",
    "CountState",
    "ExtremeState",
    "Max",
    "Mean",
    "Min",
    "Prod",
    "ProductState",
    "Ptp",
    "RangeState",
    "State",
    "Sum",
    "SumState",
    "TruthState",
    "Var",
    "VarState",
]


# -- helpers --------------------------------------------------------------------


def accumulation_dtype(dtype: np.dtype) -> np.dtype:
    """The 64-bit dtype of ``dtype``'s kind, that partial sums are kept in.

    Examples
    --------
    >>> [str(accumulation_dtype(np.dtype(t))) for t in ("?", "i1", "u2", "f2", "c8")]
    ['int64', 'int64', 'uint64', 'float64', 'complex128']
    """
    if dtype.kind in "biu":
        return np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    if dtype.kind == "c":
        return np.dtype(np.complex128)
    return np.dtype(np.float64)


def _reduced_shape(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _count(data: np.ndarray, valid: np.ndarray | None, axes: tuple[int, ...],
           context: EvaluationContext | None) -> np.ndarray:
    """Valid elements per output element; a 0-d count when all are valid.

    A 0-d count broadcasts against the other state arrays, and saves
    allocating and merging an array of one repeated number on every tile.
    """
    if valid is None:
        return np.asarray(math.prod(data.shape[a] for a in axes), dtype=np.int64)

    def counted() -> tuple[Any, ...]:
        return valid, np.asarray(np.count_nonzero(valid, axis=axes), dtype=np.int64)

    # Counted once per tile for all the statistics of one input (the tile
    # cache); each gets its own copy, since the executor merges its states in
    # place (combine(..., spend=True)).
    result: np.ndarray = shared_result(context, ("count", id(valid), axes), counted)[1].copy()
    return result


#: The largest deviations buffer a thread keeps for its next tile, in bytes:
#: blocks of the executor take far less; a whole array reduced at once (a
#: small evaluation outside the executor) gets a buffer of its own, freed after.
_KEEP_SCRATCH = 64 << 20


def _tile_sum(data: np.ndarray, valid: np.ndarray | None, axes: tuple[int, ...],
              kind: np.dtype, context: EvaluationContext | None) -> np.ndarray:
    """The sum of a tile over ``axes`` in ``kind``, computed once per tile.

    Mean and variance of the same data in one pass both need it; the
    evaluation context's shared reads (see
    :meth:`lazyarray.context.EvaluationContext.cached_read`) share it between them.
    """
    def total() -> tuple[Any, ...]:
        where = True if valid is None else valid
        # The entry holds data and valid too: alive until the tile is done,
        # their ids cannot be reused by the temporaries of another statistic
        # (a cast copy, another validity mask) and alias this sum.
        return data, valid, np.asarray(np.add.reduce(data, axis=axes, dtype=kind, where=where,
                                                     initial=0))

    key = ("sum", id(data), id(valid), axes, kind.str)
    result: np.ndarray = shared_result(context, key, total)[2]
    return result


def _merge(ufunc: np.ufunc, first: np.ndarray, second: np.ndarray, spend: bool) -> np.ndarray:
    """``ufunc(first, second)``, written into ``first`` if ``spend`` and it can hold the result.

    ``spend`` says that ``first`` is the caller's to overwrite (a state
    merged with ``spend=True``, or a temporary of the merge): writing into it
    spares allocating an output-sized array per tile. The values are the
    same either way.
    """
    if spend and first.ndim and first.shape == np.broadcast_shapes(first.shape, second.shape):
        return ufunc(first, second, out=first)
    return ufunc(first, second)


def _identity(dtype: np.dtype, largest: bool) -> Any:
    """The value no element can beat: +inf / max for minima, -inf / min for maxima."""
    if dtype.kind == "b":
        return largest
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.max if largest else info.min
    return np.inf if largest else -np.inf


# -- accumulators ---------------------------------------------------------------


class Accumulator(abc.ABC, Generic[S]):
    """A reduction computed tile by tile, with states of type ``S``.

    Parameters
    ----------
    dtype : numpy.dtype
        The dtype of the data being reduced.
    ddof : float, optional
        Delta degrees of freedom (variance and standard deviation only); any
        real number, as numpy takes.
    """

    #: Scratch memory per element of a tile while :meth:`chunk` runs, in bytes.
    scratch_bytes: ClassVar[int] = 0
    #: Memory of the state per output element, in bytes (counts are 0-d
    #: unless masks or NaNs make them differ).
    state_bytes: ClassVar[int] = 8

    def __init__(self, dtype: np.dtype, ddof: float = 0):
        self.dtype = np.dtype(dtype)
        self.ddof = ddof

    @abc.abstractmethod
    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> S:
        """The partial state of one tile, reduced over ``axes``.

        Parameters
        ----------
        data : numpy.ndarray
            The tile; values where ``valid`` is false are ignored.
        valid : numpy.ndarray of bool or None
            Which elements count (``None``: all of them).
        axes : tuple of int
            Axes of the tile to reduce.
        origin, domain : tuple of int
            Where the tile starts in the reduced array, and that array's
            shape; only positional reductions (arg-min/max) use them.
        context : lazyarray.context.EvaluationContext, optional
            The evaluation of the tile: the statistics of one tile evaluated
            in one :meth:`~lazyarray.context.EvaluationContext.sharing_reads`
            block find its counts and sums once. Without it, each finds its own.

        Returns
        -------
        S
            A state whose arrays are its own (no other state shares them).
        """

    @abc.abstractmethod
    def combine(self, first: S, second: S, *, spend: bool = False) -> S:
        """Merge the states of two tiles; ``first`` comes first in C order.

        Parameters
        ----------
        first, second : S
            The states. They are left as they were, unless ``spend``.
        spend : bool, optional
            The caller owns both states and will not use them again (the
            executor, merging its running states): the result may be written
            into their arrays, and their other arrays overwritten. Nothing
            else should pass it.

        Returns
        -------
        S
            The merged state; without ``spend``, in arrays of its own.
        """

    @abc.abstractmethod
    def finalise(self, state: S) -> np.ndarray:
        """The result from a complete state, before casting to the result dtype."""


class Count(Accumulator[CountState]):
    """Number of valid elements."""

    state_bytes = 8

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> CountState:
        # Here the count is the result, so it is output-shaped even when
        # every element is valid (other states keep a 0-d count then).
        count = _count(data, valid, axes, context)
        return CountState(np.array(np.broadcast_to(count, _reduced_shape(data.shape, axes))))

    def combine(self, first: CountState, second: CountState, *, spend: bool = False
                ) -> CountState:
        return CountState(_merge(np.add, first.count, second.count, spend))

    def finalise(self, state: CountState) -> np.ndarray:
        return state.count


class Sum(Accumulator[SumState]):
    """Sum, accumulated in 64 bits of the data's kind."""

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> SumState:
        kind = accumulation_dtype(self.dtype)
        # A copy: the executor merges states in place, and the sum may be shared.
        total = _tile_sum(data, valid, axes, kind, context).copy()
        return SumState(_count(data, valid, axes, context), total)

    def combine(self, first: SumState, second: SumState, *, spend: bool = False) -> SumState:
        return SumState(_merge(np.add, first.count, second.count, spend),
                        _merge(np.add, first.total, second.total, spend))

    def finalise(self, state: SumState) -> np.ndarray:
        return state.total


class Prod(Accumulator[ProductState]):
    """Product, accumulated in 64 bits of the data's kind."""

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> ProductState:
        where = True if valid is None else valid
        product = np.multiply.reduce(data, axis=axes, dtype=accumulation_dtype(self.dtype),
                                     where=where, initial=1)
        return ProductState(_count(data, valid, axes, context), np.asarray(product))

    def combine(self, first: ProductState, second: ProductState, *, spend: bool = False
                ) -> ProductState:
        return ProductState(_merge(np.add, first.count, second.count, spend),
                            _merge(np.multiply, first.product, second.product, spend))

    def finalise(self, state: ProductState) -> np.ndarray:
        return state.product


class Mean(Sum):
    """Arithmetic mean: a sum and a count.

    ``dtype`` is the dtype numpy sums in: float64 for integer data (the
    caller passes it, as ``numpy.mean`` does, so large integers cannot
    overflow the sum), or an integer dtype only when one is asked for.
    """

    def finalise(self, state: SumState) -> np.ndarray:
        total = state.total
        if self.dtype.kind in "biu":
            # An integer dtype= was asked for: numpy sums in that dtype, wrapping
            # around, before it divides. The int64 sum wraps to the same value.
            total = total.astype(self.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.true_divide(total, state.count)


class Var(Accumulator[VarState]):
    """Variance (``std`` takes its square root), merged by the pairwise update
    of Chan, Golub and LeVeque (1979), so it is stable for any tiling.

    The state is the count, the mean and the sum of squared deviations from
    the mean (``m2``). Within a tile, the mean is found first and the
    deviations from it summed, which avoids the cancellation of the
    sum-of-squares formula.
    """

    scratch_bytes = 8  # deviations of the tile (float32 ones for float32 data)
    state_bytes = 16  # mean and M2 in float64; the count is 0-d without masks

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> VarState:
        kind = accumulation_dtype(self.dtype) if self.dtype.kind in "fc" else np.dtype(np.float64)
        count = _count(data, valid, axes, context)
        where = True if valid is None else valid
        with np.errstate(invalid="ignore", divide="ignore"):
            total = _tile_sum(data, valid, axes, kind, context)
            mean = np.true_divide(total, np.maximum(count, 1))
        # Deviations in float64 (float32 squares overflow past 1.8e19), in a
        # buffer the thread reuses from tile to tile (fresh ones would fault
        # in every page); the evaluator hands over tiles in cache-sized
        # blocks, so the buffer stays in the CPU cache.
        deviation = scratch_array(data.shape, kind, "accumulators.deviations",
                                  keep=_KEEP_SCRATCH)
        np.subtract(data, np.expand_dims(mean, axes), out=deviation, dtype=kind)
        if kind.kind == "c":
            squares = (deviation * deviation.conj()).real
        else:
            squares = np.square(deviation, out=deviation)
        m2 = np.asarray(np.add.reduce(squares, axis=axes, where=where))
        return VarState(count, mean, m2)

    def combine(self, first: VarState, second: VarState, *, spend: bool = False) -> VarState:
        # Chan, Golub and LeVeque's pairwise update. With spend, it is written
        # into the first state's arrays and the second's are scratch;
        # otherwise the arrays it makes are its own to write into. The same
        # operations in the same order either way: the same bits.
        n_a, n_b = first.count, second.count
        n = n_a + n_b  # 0-d unless masks or NaNs made counts differ
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(n > 0, n_b / np.maximum(n, 1), 0.0)
        spread = n_a * weight  # n_a * n_b / n
        delta = _merge(np.subtract, second.mean, first.mean, spend)
        m2 = _merge(np.add, first.m2, second.m2, spend)
        # delta * (delta * spread), not (delta * delta) * spread: merged with
        # an empty state (spread 0), a mean beyond the square root of the
        # largest float would square to inf, and inf * 0 is NaN.
        if np.iscomplexobj(delta):
            squared = (delta.conj() * (delta * spread)).real
        elif spend and second.m2.shape == delta.shape and second.m2.ndim:
            # second.m2 is spent, and added already.
            squared = np.multiply(delta, np.multiply(delta, spread, out=second.m2),
                                  out=second.m2)
        else:
            squared = delta * (delta * spread)
        m2 = _merge(np.add, m2, squared, True)
        mean = _merge(np.add, first.mean, _merge(np.multiply, delta, weight, True), spend)
        return VarState(n, mean, m2)

    def finalise(self, state: VarState) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return state.m2 / np.maximum(state.count - self.ddof, 0)


class _Extreme(Accumulator[ExtremeState]):
    """Minimum or maximum, kept exactly in the data's dtype; NaN propagates."""

    _pick: ClassVar[np.ufunc]
    _largest: ClassVar[bool]  # the identity: the largest value, for minima

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> ExtremeState:
        if valid is None:
            value = self._pick.reduce(data, axis=axes)
        else:
            value = self._pick.reduce(
                data, axis=axes, where=valid, initial=_identity(self.dtype, self._largest)
            )
        return ExtremeState(_count(data, valid, axes, context), np.asarray(value, dtype=self.dtype))

    def combine(self, first: ExtremeState, second: ExtremeState, *, spend: bool = False
                ) -> ExtremeState:
        return ExtremeState(_merge(np.add, first.count, second.count, spend),
                            _merge(self._pick, first.value, second.value, spend))

    def finalise(self, state: ExtremeState) -> np.ndarray:
        value = state.value
        if self.dtype.kind in "fc" and not state.count.all():
            # Nothing valid (all-NaN for the nan forms): NaN, as numpy gives.
            value = np.where(state.count > 0, value, np.nan)
        return value


class Min(_Extreme):
    """Minimum."""

    _pick = np.minimum
    _largest = True


class Max(_Extreme):
    """Maximum."""

    _pick = np.maximum
    _largest = False


class Ptp(Accumulator[RangeState]):
    """Peak to peak (maximum minus minimum), in the data's dtype as numpy does."""

    state_bytes = 24

    def __init__(self, dtype: np.dtype, ddof: float = 0):
        super().__init__(dtype, ddof)
        self._min, self._max = Min(dtype), Max(dtype)

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> RangeState:
        low = self._min.chunk(data, valid, axes, context=context)
        high = self._max.chunk(data, valid, axes, context=context)
        return RangeState(low.count, low.value, high.value)

    def combine(self, first: RangeState, second: RangeState, *, spend: bool = False
                ) -> RangeState:
        return RangeState(
            _merge(np.add, first.count, second.count, spend),
            _merge(np.minimum, first.low, second.low, spend),
            _merge(np.maximum, first.high, second.high, spend),
        )

    def finalise(self, state: RangeState) -> np.ndarray:
        high = self._max.finalise(ExtremeState(state.count, state.high))
        low = self._min.finalise(ExtremeState(state.count, state.low))
        with np.errstate(over="ignore", invalid="ignore"):
            return np.subtract(high, low, dtype=self.dtype)


class AnyTrue(Accumulator[TruthState]):
    """Whether any valid element is true."""

    _reduce: ClassVar[np.ufunc] = np.logical_or

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> TruthState:
        truth = data.astype(bool, copy=False)
        where = True if valid is None else valid
        value = self._reduce.reduce(truth, axis=axes, where=where, initial=self._reduce.identity)
        return TruthState(_count(data, valid, axes, context), np.asarray(value, dtype=bool))

    def combine(self, first: TruthState, second: TruthState, *, spend: bool = False
                ) -> TruthState:
        return TruthState(_merge(np.add, first.count, second.count, spend),
                          _merge(self._reduce, first.value, second.value, spend))

    def finalise(self, state: TruthState) -> np.ndarray:
        return state.value


class AllTrue(AnyTrue):
    """Whether every valid element is true."""

    _reduce = np.logical_and


class _ArgExtreme(Accumulator[ArgState]):
    """Position of the first minimum or maximum, along one axis or over all.

    The state holds the count, the extreme value and its position (along the
    reduced axis, or flat in C order over the whole array). NaN counts as the
    extreme, as in numpy; the ``nan`` forms pass NaN as invalid and numpy's
    rule (NaN read as +-inf) is applied by the caller.
    """

    scratch_bytes = 16  # invalid points replaced in a copy of the tile
    state_bytes = 32

    _better: ClassVar[np.ufunc]  # strictly better value
    _largest: ClassVar[bool]

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
        *,
        context: EvaluationContext | None = None,
    ) -> ArgState:
        count = _count(data, valid, axes, context)
        if valid is not None:
            data = np.where(valid, data, _identity(self.dtype, self._largest))
        find = np.argmin if self._largest else np.argmax
        if len(axes) < len(domain):  # along one axis
            axis = axes[0]
            local = find(data, axis=axis)
            value = np.take_along_axis(data, np.expand_dims(local, axis), axis).squeeze(axis)
            position = local.astype(np.intp) + origin[axis]
        else:  # over every axis: a flat position in the whole array, C order
            flat = int(find(data))
            value = np.asarray(data.reshape(-1)[flat])
            where = np.unravel_index(flat, data.shape)
            position = np.asarray(np.ravel_multi_index(
                tuple(int(w) + o for w, o in zip(where, origin)), domain
            ), dtype=np.intp)
        return ArgState(count, np.asarray(value), np.asarray(position))

    def combine(self, first: ArgState, second: ArgState, *, spend: bool = False) -> ArgState:
        # New arrays whatever spend says: np.where cannot write into an input.
        value_a, value_b = first.value, second.value
        nan_a, nan_b = np.isnan(value_a), np.isnan(value_b)  # NaN is the extreme
        same = (value_a == value_b) | (nan_a & nan_b)
        take_b = ((nan_b & ~nan_a) | (~nan_a & self._better(value_b, value_a))
                  | (same & (second.position < first.position)))
        return ArgState(first.count + second.count, np.where(take_b, value_b, value_a),
                        np.where(take_b, second.position, first.position))

    def finalise(self, state: ArgState) -> np.ndarray:
        return state.position


class ArgMin(_ArgExtreme):
    """Position of the first minimum."""

    _better = np.less
    _largest = True


class ArgMax(_ArgExtreme):
    """Position of the first maximum."""

    _better = np.greater
    _largest = False
