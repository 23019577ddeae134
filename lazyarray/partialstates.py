"""Partial states of the accumulators: small named, frozen records of arrays.

One record type per family of statistics (:class:`CountState`,
:class:`SumState`, :class:`ProductState`, :class:`VarState`,
:class:`ExtremeState`, :class:`RangeState`, :class:`TruthState`,
:class:`ArgState`, all :class:`State`), made and merged by the accumulators
of :mod:`lazyarray.accumulators`, whose fields everything else reads by name.

Examples
--------
>>> import numpy as np
>>> state = SumState(np.asarray(2), np.array([1.0, 3.0]))
>>> state.total.tolist(), state.replace(total=np.zeros(2)).total.tolist()
([1.0, 3.0], [0.0, 0.0])
"""

from __future__ import annotations

import dataclasses
from typing import Self, TypeVar

import numpy as np

__all__ = [
    "ArgState",
    "CountState",
    "ExtremeState",
    "ProductState",
    "RangeState",
    "S",
    "State",
    "SumState",
    "TruthState",
    "VarState",
]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of a state class, found once (dataclasses.fields is slow)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class State:
    """A partial state: named arrays shaped like the output region.

    Frozen, so a state's fields stay the arrays it was made with; the arrays
    themselves are only written by ``combine(..., spend=True)``.

    Attributes
    ----------
    count : numpy.ndarray of int64
        Valid inputs per output; 0-d when every input was valid (except in
        :class:`CountState`, where the count is the result).
    """

    count: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The state's arrays by field name, ``count`` first.

        Examples
        --------
        >>> state = SumState(np.asarray(2), np.array([1.0, 3.0]))
        >>> list(state.arrays())
        ['count', 'total']
        """
        return {name: getattr(self, name) for name in _field_names(type(self))}

    def replace(self, **arrays: np.ndarray) -> Self:
        """This state with the given fields replaced (the others are the same arrays)."""
        return type(self)(**{**self.arrays(), **arrays})


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class CountState(State):
    """The state of :class:`Count`: ``count``, output-shaped (it is the result)."""


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class SumState(State):
    """The state of :class:`Sum` and :class:`Mean`.

    Attributes
    ----------
    total : numpy.ndarray
        The sum of the valid inputs, in the 64-bit dtype of the data's kind
        (:func:`accumulation_dtype`).
    """

    total: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class ProductState(State):
    """The state of :class:`Prod`.

    Attributes
    ----------
    product : numpy.ndarray
        The product of the valid inputs, in the 64-bit dtype of the data's kind.
    """

    product: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class VarState(State):
    """The state of :class:`Var`.

    Attributes
    ----------
    mean : numpy.ndarray
        The mean of the valid inputs, in float64 (complex128 for complex data).
    m2 : numpy.ndarray of float64
        The sum of their squared deviations (moduli for complex data) from
        ``mean``.
    """

    mean: np.ndarray
    m2: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class ExtremeState(State):
    """The state of :class:`Min` and :class:`Max`.

    Attributes
    ----------
    value : numpy.ndarray
        The extreme valid input (NaN if any is NaN), in the data's dtype;
        the identity of the extreme (``+inf`` for minima, and so on) where
        nothing is valid.
    """

    value: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class RangeState(State):
    """The state of :class:`Ptp`: a minimum and a maximum.

    Attributes
    ----------
    low, high : numpy.ndarray
        The minimum and maximum, as the ``value`` of :class:`ExtremeState`.
    """

    low: np.ndarray
    high: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class TruthState(State):
    """The state of :class:`AnyTrue` and :class:`AllTrue`.

    Attributes
    ----------
    value : numpy.ndarray of bool
        Whether any (all) valid inputs are true.
    """

    value: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class ArgState(State):
    """The state of :class:`ArgMin` and :class:`ArgMax`.

    Attributes
    ----------
    value : numpy.ndarray
        The extreme value, in the data's dtype.
    position : numpy.ndarray of intp
        Where it first occurs: along the reduced axis, or flat in C order
        over the whole array.
    """

    value: np.ndarray
    position: np.ndarray


#: The state type of one accumulator.
S = TypeVar("S", bound=State)
