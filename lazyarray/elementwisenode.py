"""The :class:`Elementwise` node: a function applied to broadcast operands, tile by tile.

An :class:`Elementwise` node holds a function and its operands (lazy arrays
broadcast to the result's shape, and scalars), and finds its dtype by
calling the function on empty arrays, so numpy's own promotion rules hold.
Indexing it indexes its operands, so ``(a + b)[k]`` reads only what ``k``
selects of ``a`` and ``b``. The public functions that build these nodes
(every numpy ufunc, ``where``, ``clip``, ``astype``) are
:mod:`lazyarray.elementwise`'s.

Evaluated on a tile, an expression makes as few arrays as it can: a ufunc
writes its result over an operand that only it can see (the result of the
step below, made for it) wherever numpy gives the same bits that way, or
else into an array an earlier step has finished with; the first result of
a chain goes into a buffer the pass lends again to later tiles
(:meth:`lazyarray.context.EvaluationContext.scratch_buffer`). So ``(a - b) * 2.5 + 1`` fills
one reused buffer per tile. :meth:`Elementwise._owned_steps` says why nothing
else can see what is overwritten; which functions can write into given memory,
and where that gives numpy's bits exactly, is decided here too
(:func:`_writer`, :func:`_in_place`), so the functions of the public API that
the node recognises are defined here (:func:`cast_values`,
:func:`where_values`, the ``clip_*`` functions, :func:`nth_output`).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> y = Elementwise(np.multiply, [la.asarray(np.arange(3.0)), 2.5])
>>> y.dtype, y[1:].ndarray().tolist()
(dtype('float64'), [2.5, 5.0])
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import Array
from .buffers import SCRATCH_MIN_BYTES
from .fillvalues import fill_masked, fill_value_argument, result_fill_value
from .indexing import Key, key_shape
from .steps import Steps
from .views import broadcast_shapes, broadcast_to

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = [
    "Elementwise",
    "cast_values",
    "clip_lower",
    "clip_unbounded",
    "clip_upper",
    "clip_values",
    "nth_output",
    "typed_scalar",
    "where_values",
]

Scalar = numbers.Number | np.generic


def _as_operand(value: Any) -> Array | Scalar:
    if isinstance(value, Array):  # first: numbers.Number is an ABC, slow to test
        return value
    # Python scalars stay scalars so that numpy treats them as weakly typed.
    if isinstance(value, (numbers.Number, np.generic)):
        return value
    return asarray(value)


def _name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None) or getattr(getattr(func, "func", None), "__name__", None)
    return str(name or "function")


class Elementwise(Array):
    """A function applied elementwise to broadcast operands.

    Parameters
    ----------
    func : callable
        Takes one numpy array (or scalar) per operand and returns an array of
        the broadcast shape. Must be picklable (ufuncs and module functions
        are) for graphs to pickle.
    operands : sequence
        Lazy arrays, ndarrays or scalars.
    masked_func : callable, optional
        The function applied in masked mode; ``func`` by default.
    name : str, optional
        Used in error messages; the function's name by default.
    fill_value : scalar or callable, optional
        The result's fill value, or a function of the result's dtype that
        gives it. By default numpy.ma's: that of the first masked operand
        (the first array operand if none is masked), converted to the
        result's dtype by :func:`~lazyarray.fillvalues.carried_fill_value`.

    Examples
    --------
    >>> import numpy as np
    >>> Elementwise(np.hypot, [np.array([3.0]), 4]).ndarray()
    array([5.])
    """

    def __init__(
        self,
        func: Callable[..., Any],
        operands: Sequence[Any],
        masked_func: Callable[..., Any] | None = None,
        name: str | None = None,
        fill_value: Any = None,
    ):
        name = name or _name(func)
        values = [_as_operand(op) for op in operands]
        arrays = [v for v in values if isinstance(v, Array)]
        shape = broadcast_shapes(*(a.shape for a in arrays), operation=name)
        # The result dtype is numpy's: call the function on empty stand-ins.
        probe = func(*[np.empty((0,), v.dtype) if isinstance(v, Array) else v for v in values])
        dtype = np.asarray(probe).dtype
        if fill_value is None:
            fill_value = result_fill_value(arrays, dtype)
        elif callable(fill_value):
            fill_value = fill_value(dtype)
        self._setup(
            func,
            masked_func or func,
            tuple([broadcast_to(v, shape) if isinstance(v, Array) else v for v in values]),
            shape,
            dtype,
            fill_value,
        )

    def _setup(
        self,
        func: Callable[..., Any],
        masked_func: Callable[..., Any],
        operands: tuple[Any, ...],
        shape: tuple[int, ...],
        dtype: np.dtype,
        fill_value: Any,
    ) -> None:
        self._func = func
        self._masked_func = masked_func
        self._operands = operands
        self._inputs = tuple([op for op in operands if isinstance(op, Array)])
        self._shape = shape
        self._dtype = dtype
        # Fixed when the node is built: a selection of it, or its operands
        # replaced by computed results, keeps it.
        self._fill_value = fill_value
        self._writer, self._makes_new, self._in_place = _function_facts(func, dtype)
        #: Whether the result is below the size of lent scratch buffers.
        self._small = math.prod(shape) * dtype.itemsize < SCRATCH_MIN_BYTES

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def func(self) -> Callable[..., Any]:
        """The function applied in plain mode."""
        return self._func

    @property
    def _makes_fresh_values(self) -> bool:  # type: ignore[override]
        # Ufuncs, casts, where and clip always return a new array.
        return self._makes_new

    @property
    def operands(self) -> tuple[Any, ...]:
        """Operands, arrays broadcast to this node's shape, scalars as given."""
        return self._operands

    @property
    def inputs(self) -> tuple[Array, ...]:
        return self._inputs

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        replacements = iter(inputs)
        node = Elementwise.__new__(Elementwise)
        node._setup(
            self._func,
            self._masked_func,
            tuple(next(replacements) if isinstance(op, Array) else op for op in self._operands),
            self._shape,
            self._dtype,
            self._fill_value,
        )
        return node

    def _index_steps(self, key: Key) -> Steps[Array]:
        operands = []
        for op in self._operands:
            operands.append((yield op._select_steps(key)) if isinstance(op, Array) else op)
        node = Elementwise.__new__(Elementwise)
        node._setup(
            self._func,
            self._masked_func,
            tuple(operands),
            key_shape(key),
            self._dtype,
            self._fill_value,
        )
        return node

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        value, _ = yield from self._owned_steps(context, masked, [])
        return value

    def _evaluate_owned_steps(
        self, context: EvaluationContext, masked: bool, free: list[np.ndarray]
    ) -> Steps[tuple[np.ndarray, bool]]:
        """This node's value, and whether the caller owns it, as steps (see
        :meth:`_owned_steps`). A node that several nodes of the evaluation use
        is computed once (:meth:`~lazyarray.array.Array._evaluate_steps`), and
        nobody owns its value."""
        # Outside an evaluation's memo, sharing is unknown: owned by nobody.
        if context.memo is None or id(self) in context.memo.get("shared", ()):
            return (yield self._evaluate_steps(context, masked)), False
        return (yield from self._owned_steps(context, masked, free))

    def _owned_steps(
        self, context: EvaluationContext, masked: bool, free: list[np.ndarray]
    ) -> Steps[tuple[np.ndarray, bool]]:
        """This node's value, and whether the caller owns it (may overwrite it), as steps.

        A value is *owned* when it was made by this very call and nothing
        but the call's locals refers to it: a ufunc's new output, a scratch
        buffer lent for the tile (:meth:`~lazyarray.context.EvaluationContext.scratch_buffer`),
        or memory of an owned operand. A parent that receives an owned value
        takes it over: it writes its own result into it
        (``np.multiply(value, 2.5, out=value)``) where that gives numpy's
        bits exactly (:func:`_in_place`), so ``(a - b) * 2.5 + 1`` makes one
        array per tile, not three. Otherwise its result goes into an array of
        ``free``: owned values that earlier steps of this evaluation have
        finished with (so a chain of ``exp`` and ``sin`` alternates between
        two arrays), or into a scratch buffer.

        Why nothing else can see what is overwritten:

        1. Only :class:`Elementwise` nodes hand out owned values, and only
           for functions known to return a new array that shares no memory
           with their arguments (ufuncs, casts, ``where``, ``clip``).
           Sources return reads the tile cache shares with other consumers,
           views return views of their input's value, and an arbitrary
           function may return its argument: those values are never owned,
           so never written into.
        2. A node that several nodes of one evaluation use (``x * x``,
           ``y = a + 1; y * y``) is computed once and its value shared: nobody
           owns it (:meth:`_evaluate_owned_steps`). A node in several results
           of a pass is evaluated once per result, and each owns its array.
        3. A parent takes over only operands that are exactly
           :class:`Elementwise` (a subclass might keep what it returns). An
           owned operand it does not write into is dead once its function
           has returned (the result shares no memory with it), so it joins
           ``free`` for the rest of this evaluation, which is one call tree
           in one thread.

        The caller of the top node, in turn, must either take the value over
        or let it go: the executor copies it into sinks, then gives the
        tile's lent buffers back, and
        :meth:`~lazyarray.buffers.BufferPool.give_back` reuses a buffer only
        once nothing refers to it.
        """
        if masked or self.masked:
            with_mask = yield self._evaluate_masked_steps(context)
            # A masked array realised plainly: numpy.ma's result, masked points
            # filled with this node's fill value (not computed from the inputs'
            # fill values, which would give log(1e20) where log(-1) is masked).
            # Not owned: numpy.ma's results may share their data with an input.
            return (with_mask if masked else fill_masked(with_mask, self._fill_value)), False
        values: list[Any] = []
        if self._small:
            # Below the size of lent scratch buffers, reusing memory saves
            # nothing: the plain function, its value owned by nobody (so
            # nobody checks whom it belongs to), as for small graphs.
            for op in self._operands:
                values.append((yield op._evaluate_steps(context, False))
                              if isinstance(op, Array) else op)
            result = self._func(*values)
            if not isinstance(result, np.ndarray):  # 0-d results come back as scalars
                result = np.asarray(result, dtype=self._dtype)
            return result, False
        owned: list[np.ndarray] = []
        for op in self._operands:
            if type(op) is Elementwise:
                value, mine = yield op._evaluate_owned_steps(context, False, free)
                if mine:
                    owned.append(value)
            elif isinstance(op, Array):
                value = yield op._evaluate_steps(context, False)
            else:
                value = op
            values.append(value)
        if self._writer is None:
            result = self._func(*values)
        else:
            result = self._writer(values, self._out(context, values, owned, free))
        if not isinstance(result, np.ndarray):  # 0-d results come back as scalars
            result = np.asarray(result, dtype=self._dtype)
        if not (self._makes_new and type(result) is np.ndarray):
            return result, False
        for value in values:
            if (isinstance(value, np.ndarray) and np.may_share_memory(value, result)
                    and not _among(value, owned)):
                # Not what these functions do, but then the result is someone else's too.
                return result, False
        for value in owned:
            if value is not result and not np.may_share_memory(value, result):
                free.append(value)
        return result, True

    def _out(self, context: EvaluationContext, values: list[Any], owned: list[np.ndarray],
             free: list[np.ndarray]) -> np.ndarray | None:
        """Where this node's result goes: an owned operand, a free array, scratch or new.

        An array of ``free`` or a scratch buffer is C-contiguous, so it is
        used only when the operands are too: numpy then allocates a
        C-contiguous result itself, and runs the same loop.
        """
        if self._in_place:
            for value in owned:
                if (type(value) is np.ndarray and value.dtype == self._dtype
                        and value.shape == self._shape and value.flags.writeable):
                    return value
        if not all(v.flags.c_contiguous for v in values if isinstance(v, np.ndarray)):
            return None
        for number, spare in enumerate(free):
            if (spare.dtype == self._dtype and spare.shape == self._shape
                    and spare.flags.c_contiguous and spare.flags.writeable):
                return free.pop(number)
        return context.scratch_buffer(self._shape, self._dtype)

    def _evaluate_masked_steps(self, context: EvaluationContext) -> Steps[np.ma.MaskedArray]:
        values = []
        for op in self._operands:
            values.append((yield op._evaluate_steps(context, True)) if isinstance(op, Array) else op)
        # Masked points hold arbitrary data (fill values, the inputs of masked
        # results): numpy's floating-point warnings about them would be noise.
        with np.errstate(all="ignore"):
            result = self._masked_func(*values)
            # Rebuild from data and mask, in the declared dtype: numpy.ma returns a
            # fully masked 0-d result as np.ma.masked (a float64, which would then
            # reach the next ufunc), and its results keep their first operand's
            # fill value unconverted (complex for abs of a complex array).
            data = np.asarray(np.ma.getdata(result), dtype=self._dtype)
        return np.ma.MaskedArray(
            data, mask=np.ma.getmask(result),
            fill_value=fill_value_argument(self._fill_value, self._dtype),
        )


#: Writes a node's result, given its operands' values and an array to write
#: it into (``None``: a new one); see :func:`_writer`.
Writer = Callable[[Sequence[Any], "np.ndarray | None"], Any]

#: Result dtypes that ufuncs write in place as they would into a new array.
#: Not strings (their width is the result's, found per call) nor objects.
_WRITABLE_KINDS = frozenset("biufcmM")


def _function_facts(func: Callable[..., Any], dtype: np.dtype
                    ) -> tuple[Writer | None, bool, bool]:
    """:func:`_writer`, :func:`_makes_new` and :func:`_in_place` of ``func``
    with results of ``dtype``; found once per ufunc and dtype, as every node
    built (and every selection of one) asks."""
    if type(func) is np.ufunc:
        return _ufunc_facts(func, dtype)
    writer = _writer(func, dtype)
    return writer, _makes_new(func, writer), _in_place(func, dtype)


@functools.lru_cache(maxsize=1024)
def _ufunc_facts(func: np.ufunc, dtype: np.dtype) -> tuple[Writer | None, bool, bool]:
    writer = _writer(func, dtype)
    return writer, _makes_new(func, writer), _in_place(func, dtype)


def _writer(func: Callable[..., Any], dtype: np.dtype) -> Writer | None:
    """How to compute ``func`` into a given array of ``dtype``, if it can be.

    For ufuncs (of one output or several), casts and ``clip``: functions
    that always make a new array, and can make it in memory given to them.
    ``None`` for any other function, which may return (a view of) an
    argument, and for results that are not plain numbers.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2)
    >>> _writer(np.add, np.dtype("f8"))([np.ones(2), 1.5], out) is out
    True
    >>> _writer(lambda x: x, np.dtype("f8")) is None
    True
    """
    if dtype.kind not in _WRITABLE_KINDS:
        return None
    if isinstance(func, np.ufunc):
        return functools.partial(_write_ufunc, func) if func.nout == 1 else None
    if isinstance(func, functools.partial):
        if func.func is nth_output and not func.keywords and isinstance(func.args[0], np.ufunc):
            return functools.partial(_write_output, *func.args)
        if func.func is cast_values and not func.args and set(func.keywords) == {"dtype"}:
            return functools.partial(_write_cast, func.keywords["dtype"])
        return None
    if any(func is clip for clip in (clip_values, clip_lower, clip_upper)):
        return functools.partial(_write_clip, func)
    return None


def _makes_new(func: Callable[..., Any], writer: Writer | None) -> bool:
    """Whether ``func`` always returns a new array, which its caller may then own."""
    return writer is not None or func is where_values or func is clip_unbounded


#: Ufuncs whose result is exact or one correctly rounded IEEE operation per
#: element, on integers, booleans and float32/float64: any loop numpy picks
#: gives the same bits. numpy picks other loops when an output overlaps an
#: input, and for the rest these give other bits: complex64 multiply and
#: float16 arcsin differ in the last place when computed in place.
_EXACT = frozenset({
    np.add, np.subtract, np.multiply, np.true_divide, np.sqrt, np.square, np.reciprocal,
    np.negative, np.positive, np.absolute, np.fabs, np.conjugate, np.copysign,
    np.floor, np.ceil, np.trunc, np.rint,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.left_shift, np.right_shift,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
})
#: Those that are also exact on complex numbers (componentwise).
_EXACT_COMPLEX = frozenset({np.add, np.subtract, np.negative, np.positive, np.conjugate})


def _in_place(func: Callable[..., Any], dtype: np.dtype) -> bool:
    """Whether ``func`` may write its result of ``dtype`` over an operand.

    Examples
    --------
    >>> import numpy as np
    >>> _in_place(np.multiply, np.dtype("f4")), _in_place(np.multiply, np.dtype("c8"))
    (True, False)
    """
    if not isinstance(func, np.ufunc) or func.nout != 1:
        return False
    if dtype.kind in "biu" or dtype in (np.float32, np.float64):
        return func in _EXACT
    if dtype in (np.complex64, np.complex128):
        return func in _EXACT_COMPLEX
    return False


def _among(value: Any, arrays: Sequence[np.ndarray]) -> bool:
    """Whether ``value`` is one of ``arrays`` (identity, not equality)."""
    return any(value is array for array in arrays)


def _write_ufunc(ufunc: np.ufunc, values: Sequence[Any], out: np.ndarray | None) -> Any:
    return ufunc(*values) if out is None else ufunc(*values, out=out)


def _write_output(ufunc: np.ufunc, index: int, values: Sequence[Any],
                  out: np.ndarray | None) -> Any:
    # The other outputs are new arrays numpy allocates and this node drops.
    outs = tuple(out if i == index else None for i in range(ufunc.nout))
    return ufunc(*values, out=outs)[index]


def _write_cast(dtype: np.dtype, values: Sequence[Any], out: np.ndarray | None) -> Any:
    (value,) = values
    if out is None or type(value) is not np.ndarray:
        return cast_values(value, dtype)
    # ndarray.astype's unsafe cast, with the same warnings, into lent memory.
    np.copyto(out, value, casting="unsafe")
    return out


def _write_clip(func: Callable[..., Any], values: Sequence[Any], out: np.ndarray | None) -> Any:
    return func(*values, out=out)




# -- functions of lazyarray.elementwise's public API, known to make new arrays ------------
# Module functions, so that graphs pickle; :func:`_writer` and :func:`_makes_new`
# know them, so their results may be written in place and owned.


def nth_output(func: Callable[..., Any], index: int, *args: Any) -> Any:
    """Output ``index`` of a ufunc with several outputs (picklable)."""
    return func(*args)[index]


def cast_values(value: Any, dtype: np.dtype) -> Any:
    """``value`` cast to ``dtype`` as ``ndarray.astype`` casts; its mask kept (``astype``)."""
    if isinstance(value, np.ma.MaskedArray):
        # Not MaskedArray.astype, which also casts the fill value, warning when
        # it does not fit; the node carries its own (see carried_fill_value).
        return np.ma.MaskedArray(value.data.astype(dtype), mask=value.mask)
    return value.astype(dtype)


def where_values(condition: Any, x: Any, y: Any) -> Any:
    """``numpy.where``, or ``numpy.ma.where`` for masked values (``where``)."""
    if any(isinstance(v, np.ma.MaskedArray) for v in (condition, x, y)):
        # numpy.ma.where makes a Python scalar a 0-d array of its default
        # dtype (where(c, uint64_data, 0) would be float64): type it as numpy 2
        # types it against the other choice, as numpy.ma's functions are called.
        dtypes = [v.dtype for v in (x, y) if isinstance(v, (np.ndarray, np.generic))]
        return np.ma.where(condition, typed_scalar(x, dtypes), typed_scalar(y, dtypes))
    return np.where(condition, x, y)


def typed_scalar(value: Any, dtypes: list[np.dtype]) -> Any:
    """A Python scalar as a 0-d array of the dtype numpy 2 gives it against ``dtypes``.

    For numpy.ma's functions, which would give it its default dtype instead.

    Examples
    --------
    >>> typed_scalar(0.1, [np.dtype("f4")]).dtype, typed_scalar(np.int8(1), [np.dtype("f4")])
    (dtype('float32'), np.int8(1))
    """
    if not dtypes or not isinstance(value, (int, float, complex)) or isinstance(value, np.generic):
        return value
    try:
        return np.asarray(value, dtype=np.result_type(value, *dtypes))
    except (OverflowError, TypeError):
        # Out of range for the arrays' dtype (numpy allows that only in
        # comparisons, which numpy.ma makes exactly in a wider type), or no
        # common dtype at all: numpy.ma's own handling is numpy's.
        return value


def clip_values(a: Any, a_min: Any, a_max: Any, out: np.ndarray | None = None) -> Any:
    """``numpy.clip`` between two bounds (``clip``)."""
    return np.clip(a, a_min, a_max, out=out)


def clip_unbounded(a: Any) -> Any:
    """``numpy.clip`` without bounds: a copy, or numpy's refusal (``clip``)."""
    return np.clip(a, None, None)


def clip_lower(a: Any, a_min: Any, out: np.ndarray | None = None) -> Any:
    """``numpy.clip`` with a lower bound only (``clip``)."""
    return np.clip(a, a_min, None, out=out)


def clip_upper(a: Any, a_max: Any, out: np.ndarray | None = None) -> Any:
    """``numpy.clip`` with an upper bound only (``clip``)."""
    return np.clip(a, None, a_max, out=out)
