"""The :class:`MaskedElementwise` node: an elementwise function of its operands' data and masks.

Where an :class:`~lazyarray.elementwisenode.Elementwise` node applies its
function in the mode it is evaluated in, this node always takes its
operands masked and gives data and a mask of its own, so that what it masks
(or fills) is the same in both modes. numpy.ma's lazy mask makers
(:mod:`lazyarray.masking`) and CF decoding (:class:`lazyarray.cf.Decoded`)
are built on it.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> def negative_masked(x):
...     return np.ma.getdata(x), np.ma.getdata(x) < 0
>>> m = MaskedElementwise(negative_masked, [la.asarray(np.array([1, -2]))], (2,),
...                       np.dtype("i8"), np.int64(-1))
>>> m.masked_array().tolist(), m.ndarray().tolist()
([1, None], [1, -1])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .array import Array
from .errors import ShapeError
from .indexing import Key, key_shape
from .steps import Steps

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["Kernel", "MaskedElementwise"]

#: What a kernel returns: the result's data, and its mask (``None``: nothing masked).
Kernel = Callable[..., tuple[np.ndarray, np.ndarray | None]]


class MaskedElementwise(Array):
    """An elementwise function of the data *and masks* of its operands.

    Unlike :class:`~lazyarray.elementwisenode.Elementwise`, whose operands are
    evaluated in the mode asked for, this node always evaluates its operands
    in masked mode: its result depends on their masks even when it is
    realised as a plain array (``filled`` and ``getmaskarray`` have no mask
    of their own, and a masked result realised with ``ndarray()`` must fill
    the input's masked points with the *result's* fill value, not the
    input's). It also carries its own ``fill_value``.

    Parameters
    ----------
    kernel : callable
        Takes one value per operand (a ``MaskedArray`` for each lazy operand,
        the scalar itself otherwise) and returns ``(data, mask)``, ``mask``
        being ``None`` when nothing is masked. Must be picklable for graphs
        to pickle (module functions and ``functools.partial`` of them are).
    operands : sequence
        Lazy arrays, all of the result's shape, or scalars.
    shape : tuple of int
        The result's shape.
    dtype : numpy.dtype
        The result's dtype.
    fill_value : scalar
        The result's fill value.
    masked : bool, optional
        Whether the result has a mask (``filled`` and ``getmaskarray`` have
        none).
    """

    def __init__(
        self,
        kernel: Kernel,
        operands: Sequence[Any],
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill_value: Any,
        masked: bool = True,
    ):
        for operand in operands:
            if isinstance(operand, Array) and operand.shape != shape:
                raise ShapeError(
                    f"{type(self).__name__}: operand of shape {operand.shape}, expected {shape}"
                )
        self._kernel = kernel
        self._operands = tuple(operands)
        self._inputs = tuple(op for op in self._operands if isinstance(op, Array))
        self._shape = tuple(shape)
        self._dtype = np.dtype(dtype)
        self._fill_value = fill_value
        self._masked = masked

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
    def masked(self) -> bool:
        """Whether this array has a mask, whatever its inputs: known statically."""
        return self._masked

    @property
    def kernel(self) -> Kernel:
        """The function of the operands' values that gives data and mask."""
        return self._kernel

    @property
    def operands(self) -> tuple[Any, ...]:
        """Operands: lazy arrays of this node's shape, and scalars."""
        return self._operands

    @property
    def inputs(self) -> tuple[Array, ...]:
        return self._inputs

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        replacements = iter(inputs)
        operands = [next(replacements) if isinstance(op, Array) else op for op in self._operands]
        return MaskedElementwise(
            self._kernel, operands, self._shape, self._dtype, self._fill_value, self._masked
        )

    def _index_steps(self, key: Key) -> Steps[Array]:
        # Elementwise: the selection of the result is the result of the selections.
        operands = []
        for op in self._operands:
            operands.append((yield op._select_steps(key)) if isinstance(op, Array) else op)
        return MaskedElementwise(
            self._kernel, operands, key_shape(key), self._dtype, self._fill_value, self._masked
        )

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        values = []
        for op in self._operands:
            values.append((yield op._evaluate_steps(context, True)) if isinstance(op, Array) else op)
        data, mask = self._kernel(*values)
        data = np.asarray(data, dtype=self._dtype)
        if mask is not None and np.shape(mask) != data.shape:
            # A scalar condition masks all or nothing: give the mask its full shape.
            mask = np.broadcast_to(mask, data.shape).copy()
        if not masked and (mask is None or not mask.any()):
            return data
        given: Any = np.ma.nomask if mask is None else mask
        # numpy.ma converts the fill value as it fills (its default 999999
        # wraps to 63 in int8), but warns where a default overflows (1e20 in
        # float16 becomes inf): the value written is the same, without the warning.
        with np.errstate(over="ignore", invalid="ignore"):
            result = np.ma.MaskedArray(data, mask=given, fill_value=self._fill_value)
            return result if masked else result.filled(self._fill_value)
