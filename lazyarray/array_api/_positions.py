"""``PositionArray``: a leaf whose values are a function of their positions.

``arange``, ``linspace``, ``eye`` and the masks of ``tril`` and ``triu``
store no values: a rule computes each element from its index along every
axis, for just the region a tile needs. A selection composes its key with
the one the node already holds, so indexing reads nothing and costs nothing.

Examples
--------
>>> import numpy as np
>>> from lazyarray.array_api._positions import Diagonal, PositionArray
>>> eye = PositionArray(Diagonal(k=1), (3, 4), np.dtype("int8"))
>>> eye
<PositionArray shape=(3, 4) dtype=int8 size=12 B>
>>> eye[1:, ::-1].ndarray().tolist()
[[0, 1, 0, 0], [1, 0, 0, 0]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..array import Array
from ..indexing import Key, compose_keys, full_key, key_shape

if TYPE_CHECKING:
    from ..context import EvaluationContext

__all__ = ["Arange", "Diagonal", "Linspace", "PositionArray", "Rule", "Triangle"]


class Rule(Protocol):
    """Values from positions: called with one integer array per axis of the
    whole array, broadcastable together, it returns the values there (of any
    dtype: they are converted to the array's)."""

    def __call__(self, *positions: np.ndarray) -> np.ndarray: ...


class PositionArray(Array):
    """A lazy array whose element at each position is ``rule(*position)``.

    Parameters
    ----------
    rule : Rule
        Picklable (a frozen dataclass), as graphs are pickled to processes.
    shape : sequence of int
        The whole array's shape.
    dtype : numpy.dtype
    key : normalised key, optional
        The selection of the whole array this node is (all of it by default).
    """

    def __init__(self, rule: Rule, shape: Sequence[int], dtype: np.dtype,
                 key: Key | None = None):
        self._rule = rule
        self._whole = tuple(int(n) for n in shape)
        self._dtype = np.dtype(dtype)
        self._key = full_key(self._whole) if key is None else key
        self._shape = key_shape(self._key)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def inputs(self) -> tuple[Array, ...]:
        return ()

    @property
    def rule(self) -> Rule:
        """The function of the positions."""
        return self._rule

    def _index(self, key: Key) -> Array:
        return PositionArray(self._rule, self._whole, self._dtype,
                             compose_keys(self._key, key))

    def _evaluate(self, context: EvaluationContext, masked: bool) -> np.ndarray:
        # One array of positions per axis of the whole array, shaped to
        # broadcast over the axes this selection keeps (a dropped axis is a
        # scalar position).
        kept = sum(not isinstance(item, int) for item in self._key)
        positions, axis = [], 0
        for item in self._key:
            if isinstance(item, int):
                positions.append(np.asarray(item, dtype=np.int64))
                continue
            along = np.asarray(item, dtype=np.int64) if isinstance(item, np.ndarray) else (
                np.arange(item.start, item.stop, item.step, dtype=np.int64))
            positions.append(along.reshape((1,) * axis + (-1,) + (1,) * (kept - axis - 1)))
            axis += 1
        values = np.asarray(self._rule(*positions))
        # A new array of the selection's shape: parents may own and write it.
        data = np.empty(self._shape, self._dtype)
        data[...] = values.astype(self._dtype, copy=False)
        return np.ma.MaskedArray(data) if masked else data


@dataclasses.dataclass(frozen=True)
class Diagonal:
    """Ones on the ``k``-th diagonal of the last two axes, zeros elsewhere (``eye``)."""

    k: int

    def __call__(self, *positions: np.ndarray) -> np.ndarray:
        rows, columns = positions[-2:]
        return columns - rows == self.k


@dataclasses.dataclass(frozen=True)
class Triangle:
    """True on and below (``lower``) or on and above the ``k``-th diagonal."""

    k: int
    lower: bool

    def __call__(self, *positions: np.ndarray) -> np.ndarray:
        rows, columns = positions[-2:]
        offset = columns - rows
        return offset <= self.k if self.lower else offset >= self.k


@dataclasses.dataclass(frozen=True)
class Arange:
    """``numpy.arange``'s values, computed as numpy fills them.

    numpy stores ``first = start`` and ``second = start + step`` in the dtype,
    then ``first + i * (second - first)`` in the dtype's arithmetic for the
    others; so does this, so that the values agree with numpy's to the bit.
    """

    first: Any
    second: Any
    dtype: np.dtype

    def __call__(self, *positions: np.ndarray) -> np.ndarray:
        (i,) = positions
        # Integers wrap as numpy's C loop does: computed wide, cast down.
        wide = self.dtype if self.dtype.kind in "fc" else np.dtype(
            np.uint64 if self.dtype.kind == "u" else np.int64)
        first = np.asarray(self.first, self.dtype).astype(wide)
        second = np.asarray(self.second, self.dtype).astype(wide)
        delta = second - first
        values = first + i.astype(wide) * delta
        values = np.where(i == 1, second, values)
        return np.where(i == 0, first, values).astype(self.dtype)


@dataclasses.dataclass(frozen=True)
class Linspace:
    """``numpy.linspace``'s values, computed as numpy computes them (in ``compute``'s
    dtype, the last one ``stop`` exactly when it is an end point)."""

    start: Any
    stop: Any
    num: int
    endpoint: bool
    compute: np.dtype
    dtype: np.dtype

    def __call__(self, *positions: np.ndarray) -> np.ndarray:
        (i,) = positions
        div = self.num - 1 if self.endpoint else self.num
        delta = np.subtract(self.stop, self.start, dtype=self.compute)
        y = i.astype(self.compute)
        if div > 0:
            step = delta / div
            y = y / div * delta if np.all(step == 0) else y * step
        else:
            y = y * delta
        y = y + np.asarray(self.start, self.compute)
        if self.endpoint and self.num > 1:
            y = np.where(i == self.num - 1, np.asarray(self.stop, self.compute), y)
        if self.dtype.kind in "iu":
            y = np.floor(y)
        return y.astype(self.dtype)
