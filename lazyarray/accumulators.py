"""Streaming reducers: each statistic as ``chunk``, ``combine`` and ``finalise``.

An accumulator turns one tile of data into a small *partial state*
(:meth:`Accumulator.chunk`), merges two partial states
(:meth:`Accumulator.combine`) and turns a state into the result
(:meth:`Accumulator.finalise`). States are tuples of arrays shaped like the
output region, and the first array of every state is the number of valid
(unmasked, and for the ``nan`` forms not-NaN) inputs, which masked results,
``mdtol`` and empty-slice rules are decided from; that count is 0-d (it
broadcasts) when every input of the tile is valid. ``combine`` may write
into its arguments: a state is merged once.

Partials accumulate in float64 (complex128 for complex data, int64 or uint64
for integer sums) and merge with exact formulas, so a result does not depend
on how the data was cut into tiles beyond floating-point rounding.

Examples
--------
>>> import numpy as np
>>> acc = Var(np.dtype("f4"), ddof=1)
>>> data = np.arange(12, dtype="f4").reshape(4, 3)
>>> left, right = acc.chunk(data[:1], None, (0,)), acc.chunk(data[1:], None, (0,))
>>> acc.finalise(acc.combine(left, right)).tolist() == np.var(data, 0, ddof=1).tolist()
True
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .tilecache import cached_read

__all__ = [
    "Accumulator",
    "AllTrue",
    "AnyTrue",
    "ArgMax",
    "ArgMin",
    "Count",
    "Max",
    "Mean",
    "Min",
    "Prod",
    "Ptp",
    "State",
    "Sum",
    "Var",
]

State = tuple[np.ndarray, ...]


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


def _count(data: np.ndarray, valid: np.ndarray | None, axes: tuple[int, ...]) -> np.ndarray:
    """Valid elements per output element; a 0-d count when all are valid.

    A 0-d count broadcasts against the other state arrays, and saves
    allocating and merging an array of one repeated number on every tile.
    """
    if valid is None:
        return np.asarray(math.prod(data.shape[a] for a in axes), dtype=np.int64)

    def counted() -> tuple[Any, ...]:
        return valid, np.asarray(np.count_nonzero(valid, axis=axes), dtype=np.int64)

    # Counted once per tile for all the statistics of one input (the tile
    # cache); each gets its own copy, since states are merged in place.
    result: np.ndarray = cached_read(("count", id(valid), axes), counted)[1].copy()
    return result


_scratch = threading.local()


def _scratch_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A per-thread buffer for tile temporaries, reused from tile to tile.

    Fresh multi-megabyte arrays cost page faults on every tile (see DESIGN,
    section 12); a worker thread needs one such temporary at a time.
    """
    nbytes = math.prod(shape) * dtype.itemsize
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _scratch.buffer = np.empty(nbytes, np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def _tile_sum(data: np.ndarray, valid: np.ndarray | None, axes: tuple[int, ...],
              kind: np.dtype) -> np.ndarray:
    """The sum of a tile over ``axes`` in ``kind``, computed once per tile.

    Mean and variance of the same data in one pass both need it; the tile
    cache (see :mod:`lazyarray.tilecache`) shares it between them.
    """
    def total() -> tuple[Any, ...]:
        where = True if valid is None else valid
        # The entry holds data and valid too: alive until the tile is done,
        # their ids cannot be reused by the temporaries of another statistic
        # (a cast copy, another validity mask) and alias this sum.
        return data, valid, np.asarray(np.add.reduce(data, axis=axes, dtype=kind, where=where,
                                                     initial=0))

    result: np.ndarray = cached_read(("sum", id(data), id(valid), axes, kind.str), total)[2]
    return result


def _merge(ufunc: np.ufunc, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``ufunc(first, second)``, written into ``first`` when it can hold the result.

    States belong to the main thread once handed over, so merging in place
    is safe, and it spares allocating an output-sized array per tile.
    """
    if first.ndim and first.shape == np.broadcast_shapes(first.shape, second.shape):
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


class Accumulator(abc.ABC):
    """A reduction computed tile by tile.

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
    ) -> State:
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
        """

    @abc.abstractmethod
    def combine(self, first: State, second: State) -> State:
        """Merge the states of two tiles; ``first`` comes first in C order.

        Both arguments are spent: the result may reuse their memory.
        """

    @abc.abstractmethod
    def finalise(self, state: State) -> np.ndarray:
        """The result from a complete state, before casting to the result dtype."""


class Count(Accumulator):
    """Number of valid elements."""

    state_bytes = 8

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
    ) -> State:
        # Here the count is the result, so it is output-shaped even when
        # every element is valid (other states keep a 0-d count then).
        count = _count(data, valid, axes)
        return (np.array(np.broadcast_to(count, _reduced_shape(data.shape, axes))),)

    def combine(self, first: State, second: State) -> State:
        return (_merge(np.add, first[0], second[0]),)

    def finalise(self, state: State) -> np.ndarray:
        return state[0]


class Sum(Accumulator):
    """Sum, accumulated in 64 bits of the data's kind."""

    _reduce: ClassVar[np.ufunc] = np.add

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
    ) -> State:
        kind = accumulation_dtype(self.dtype)
        if self._reduce is np.add:
            # A copy: the state is merged in place, and the sum may be shared.
            return _count(data, valid, axes), _tile_sum(data, valid, axes, kind).copy()
        where = True if valid is None else valid
        total = self._reduce.reduce(data, axis=axes, dtype=kind, where=where,
                                    initial=self._reduce.identity)
        return _count(data, valid, axes), np.asarray(total)

    def combine(self, first: State, second: State) -> State:
        return _merge(np.add, first[0], second[0]), _merge(self._reduce, first[1], second[1])

    def finalise(self, state: State) -> np.ndarray:
        return state[1]


class Prod(Sum):
    """Product, accumulated in 64 bits of the data's kind."""

    _reduce = np.multiply


class Mean(Sum):
    """Arithmetic mean: a sum and a count.

    ``dtype`` is the dtype numpy sums in: float64 for integer data (the
    caller passes it, as ``numpy.mean`` does, so large integers cannot
    overflow the sum), or an integer dtype only when one is asked for.
    """

    def finalise(self, state: State) -> np.ndarray:
        count, total = state
        if self.dtype.kind in "biu":
            # An integer dtype= was asked for: numpy sums in that dtype, wrapping
            # around, before it divides. The int64 sum wraps to the same value.
            total = total.astype(self.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.true_divide(total, count)


class Var(Accumulator):
    """Variance (``std`` takes its square root), merged by the pairwise update
    of Chan, Golub and LeVeque (1979), so it is stable for any tiling.

    The state is the count, the mean and the sum of squared deviations from
    the mean (``M2``). Within a tile, the mean is found first and the
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
    ) -> State:
        kind = accumulation_dtype(self.dtype) if self.dtype.kind in "fc" else np.dtype(np.float64)
        count = _count(data, valid, axes)
        where = True if valid is None else valid
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.true_divide(_tile_sum(data, valid, axes, kind), np.maximum(count, 1))
        # Deviations in float64 (float32 squares overflow past 1.8e19), in a
        # buffer reused from tile to tile; the evaluator hands over tiles in
        # cache-sized blocks, so the buffer stays in the CPU cache.
        deviation = _scratch_buffer(data.shape, kind)
        np.subtract(data, np.expand_dims(mean, axes), out=deviation, dtype=kind)
        if kind.kind == "c":
            squares = (deviation * deviation.conj()).real
        else:
            squares = np.square(deviation, out=deviation)
        m2 = np.asarray(np.add.reduce(squares, axis=axes, where=where))
        return count, mean, m2

    def combine(self, first: State, second: State) -> State:
        # Chan, Golub and LeVeque's pairwise update, written in place into the
        # first state (owned by the main thread) and the spent second one.
        n_a, mean_a, m2_a = first
        n_b, mean_b, m2_b = second
        n = n_a + n_b  # 0-d unless masks or NaNs made counts differ
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(n > 0, n_b / np.maximum(n, 1), 0.0)
        spread = n_a * weight  # n_a * n_b / n
        delta = _merge(np.subtract, mean_b, mean_a)
        m2 = _merge(np.add, m2_a, m2_b)
        if np.iscomplexobj(delta):
            squared = (delta * delta.conj()).real
        elif m2_b.shape == delta.shape and m2_b.ndim:
            squared = np.multiply(delta, delta, out=m2_b)  # m2_b is spent
        else:
            squared = delta * delta
        m2 = _merge(np.add, m2, _merge(np.multiply, squared, spread))
        mean = _merge(np.add, mean_a, _merge(np.multiply, delta, weight))
        return n, mean, m2

    def finalise(self, state: State) -> np.ndarray:
        count, _, m2 = state
        with np.errstate(invalid="ignore", divide="ignore"):
            return m2 / np.maximum(count - self.ddof, 0)


class _Extreme(Accumulator):
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
    ) -> State:
        if valid is None:
            value = self._pick.reduce(data, axis=axes)
        else:
            value = self._pick.reduce(
                data, axis=axes, where=valid, initial=_identity(self.dtype, self._largest)
            )
        return _count(data, valid, axes), np.asarray(value, dtype=self.dtype)

    def combine(self, first: State, second: State) -> State:
        return _merge(np.add, first[0], second[0]), _merge(self._pick, first[1], second[1])

    def finalise(self, state: State) -> np.ndarray:
        count, value = state
        if self.dtype.kind in "fc" and not count.all():
            # Nothing valid (all-NaN for the nan forms): NaN, as numpy gives.
            value = np.where(count > 0, value, np.nan)
        return value


class Min(_Extreme):
    """Minimum."""

    _pick = np.minimum
    _largest = True


class Max(_Extreme):
    """Maximum."""

    _pick = np.maximum
    _largest = False


class Ptp(Accumulator):
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
    ) -> State:
        count, low = self._min.chunk(data, valid, axes)
        _, high = self._max.chunk(data, valid, axes)
        return count, low, high

    def combine(self, first: State, second: State) -> State:
        return (
            _merge(np.add, first[0], second[0]),
            _merge(np.minimum, first[1], second[1]),
            _merge(np.maximum, first[2], second[2]),
        )

    def finalise(self, state: State) -> np.ndarray:
        count, low, high = state
        with np.errstate(over="ignore", invalid="ignore"):
            return np.subtract(
                self._max.finalise((count, high)), self._min.finalise((count, low)), dtype=self.dtype
            )


class AnyTrue(Accumulator):
    """Whether any valid element is true."""

    _reduce: ClassVar[np.ufunc] = np.logical_or

    def chunk(
        self,
        data: np.ndarray,
        valid: np.ndarray | None,
        axes: tuple[int, ...],
        origin: tuple[int, ...] = (),
        domain: tuple[int, ...] = (),
    ) -> State:
        truth = data.astype(bool, copy=False)
        where = True if valid is None else valid
        value = self._reduce.reduce(truth, axis=axes, where=where, initial=self._reduce.identity)
        return _count(data, valid, axes), np.asarray(value, dtype=bool)

    def combine(self, first: State, second: State) -> State:
        return _merge(np.add, first[0], second[0]), _merge(self._reduce, first[1], second[1])

    def finalise(self, state: State) -> np.ndarray:
        return state[1]


class AllTrue(AnyTrue):
    """Whether every valid element is true."""

    _reduce = np.logical_and


class _ArgExtreme(Accumulator):
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
    ) -> State:
        count = _count(data, valid, axes)
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
        return count, np.asarray(value), np.asarray(position)

    def combine(self, first: State, second: State) -> State:
        n_a, value_a, at_a = first
        n_b, value_b, at_b = second
        nan_a, nan_b = np.isnan(value_a), np.isnan(value_b)  # NaN is the extreme
        same = (value_a == value_b) | (nan_a & nan_b)
        take_b = (nan_b & ~nan_a) | (~nan_a & self._better(value_b, value_a)) | (same & (at_b < at_a))
        return n_a + n_b, np.where(take_b, value_b, value_a), np.where(take_b, at_b, at_a)

    def finalise(self, state: State) -> np.ndarray:
        return state[2]


class ArgMin(_ArgExtreme):
    """Position of the first minimum."""

    _better = np.less
    _largest = True


class ArgMax(_ArgExtreme):
    """Position of the first maximum."""

    _better = np.greater
    _largest = False
