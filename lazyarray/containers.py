"""``ArrayContainer``: Biggus's base class of arrays that wrap one array.

Biggus built its views (new axes, casts, masks by value) as subclasses of
``ArrayContainer``, which hold the wrapped array as ``.array`` and pass
``dtype``, ``shape``, indexing and realisation through to it. Code written
for Biggus subclasses it the same way, overriding some of these. Here it is
a node with one input: indexing selects the input (pushing the key down to
the sources, as Biggus returned ``self.array[keys]``), evaluation gives the
input's values, so a container costs nothing in a graph. A subclass that
overrides Biggus's hooks (``__getitem__`` or ``_getitem_full_keys``,
``ndarray`` and ``masked_array``) is indexed and realised through them.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> c = la.ArrayContainer(np.arange(6).reshape(2, 3))
>>> c.array.tolist(), c.shape, c[1].ndarray().tolist()
([[0, 1, 2], [3, 4, 5]], (2, 3), [3, 4, 5])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array, _biggus_index, _biggus_value
from .indexing import Key
from .steps import Steps

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["ArrayContainer"]


class ArrayContainer(Array):
    """An array that passes its metadata, indexing and values through to another.

    Parameters
    ----------
    contained_array : Array or array-like
        Kept as given in :attr:`array` (Biggus's attribute), and wrapped
        (never realised) with :func:`lazyarray.asarray` as the node's input.

    Examples
    --------
    A Biggus-style subclass that changes the values, through ``ndarray`` and
    ``masked_array``, and keeps itself under indexing:

    >>> import numpy as np, lazyarray as la
    >>> class Doubled(la.ArrayContainer):
    ...     def __getitem__(self, keys):
    ...         return Doubled(self.array[keys])
    ...     def ndarray(self):
    ...         return la.asarray(self.array).ndarray() * 2
    ...     def masked_array(self):
    ...         return la.asarray(self.array).masked_array() * 2
    >>> d = Doubled(np.arange(4))
    >>> d[1:].ndarray().tolist(), (d + 1).ndarray().tolist()
    ([2, 4, 6], [1, 3, 5, 7])
    """

    def __init__(self, contained_array: Any):
        self.array = contained_array
        self._input = asarray(contained_array)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._input.shape

    @property
    def dtype(self) -> np.dtype:
        return self._input.dtype

    @property
    def fill_value(self) -> Any:
        return self._input.fill_value

    @property
    def masked(self) -> bool:
        # A subclass realising itself by Biggus's contract may mask points
        # that its input does not: evaluate it masked, so they are honoured.
        return self._input.masked or type(self).ndarray is not Array.ndarray

    @property
    def inputs(self) -> tuple[Array, ...]:
        return (self._input,)

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        # A copy, so that a subclass keeps its own state; .array stays what
        # was given, as Biggus's code that realises it expects.
        # (Not copy.copy: it would pickle the graph through __reduce_ex__.)
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._forget_graph()  # of the old input
        clone._input = inputs[0]
        return clone

    def __getitem__(self, key: Any) -> Array:
        # Biggus passed indexing straight to the contained array; so does
        # this, unless a subclass defines its own hook.
        if type(self)._getitem_full_keys is not Array._getitem_full_keys:
            return super().__getitem__(key)
        return self._input[key]

    def _index_steps(self, key: Key) -> Steps[Array]:
        cls = type(self)
        if cls._getitem_full_keys is not Array._getitem_full_keys:
            return _biggus_index(self, key, "_getitem_full_keys")
        if cls.__getitem__ is not ArrayContainer.__getitem__:
            return _biggus_index(self, key, "__getitem__")
        return (yield self._input._select_steps(key))

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        if type(self).ndarray is not Array.ndarray:
            return _biggus_value(self, masked)
        return (yield self._input._evaluate_steps(context, masked))
