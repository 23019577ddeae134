"""Elementwise maths: the :class:`Elementwise` node and lazy numpy ufuncs.

Every numpy ufunc of one or two inputs has a lazy counterpart here of the same
name (``add``, ``sqrt``, ``logical_and``...), plus Biggus's short names
(``sub``, ``mod``), :func:`where`, :func:`clip` and :func:`astype`. Operands
broadcast by numpy's rules, and result dtypes are numpy's own: the dtype is
found by calling the function on empty arrays, so numpy 2's promotion rules
(a Python scalar does not upcast ``float32``) hold by construction.

Indexing an elementwise node indexes its operands, so ``(a + b)[k]`` reads
only what ``k`` selects of ``a`` and ``b``.

Evaluated on a tile, an expression makes as few arrays as it can: a ufunc
writes its result over an operand that only it can see (the result of the
step below, made for it) wherever numpy gives the same bits that way, or
else into an array an earlier step has finished with; the first result of
a chain goes into a buffer the pass lends again to later tiles
(:func:`lazyarray.buffers.scratch_buffer`). So ``(a - b) * 2.5 + 1`` fills
one reused buffer per tile (see :meth:`Elementwise._evaluate_owned_steps`).

Examples
--------
>>> import numpy as np, lazyarray as la
>>> x = la.asarray(np.arange(4, dtype=np.float32))
>>> y = la.sqrt(x) + 2.5
>>> y.dtype
dtype('float32')
>>> np.add(x, np.ones(4)).dtype  # numpy dispatches to the lazy ufunc
dtype('float64')
>>> y[::2].ndarray().tolist()
[2.5, 3.9142136573791504]

In masked mode each function is numpy.ma's (``log`` masks the logarithms of
negative numbers, ``divide`` masks division by zero), and a result carries
numpy.ma's fill value: that of its first masked operand, converted to the
result's dtype (see :func:`lazyarray.array.carried_fill_value`):

>>> m = la.asarray(np.ma.masked_array([4, -1, 9], mask=[0, 0, 1], fill_value=-99))
>>> r = la.sqrt(m)
>>> r.masked_array().tolist(), r.fill_value
([2.0, None, None], np.float64(-99.0))
>>> r.ndarray().tolist()  # masked points become the fill value
[2.0, -99.0, -99.0]
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .adapters import asarray
from .array import (
    Array,
    carried_fill_value,
    default_fill_value,
    fill_masked,
    fill_value_argument,
)
from .buffers import scratch_buffer
from .indexing import Key
from .steps import Steps, memo
from .views import broadcast_shapes, broadcast_to

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = [
    "Elementwise",
    "apply_ufunc",
    "astype",
    "clip",
    "is_operand",
    "where",
]

Scalar = numbers.Number | np.generic


def is_operand(value: Any) -> bool:
    """Whether ``value`` can take part in lazy elementwise maths."""
    return isinstance(value, (Array, np.ndarray, numbers.Number, np.generic, list, tuple)) or all(
        hasattr(value, name) for name in ("shape", "dtype", "__getitem__")
    )


def _as_operand(value: Any) -> Array | Scalar:
    # Python scalars stay scalars so that numpy treats them as weakly typed.
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, Array):
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
        result's dtype by :func:`~lazyarray.array.carried_fill_value`.

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
        probe = func(*(np.empty((0,), v.dtype) if isinstance(v, Array) else v for v in values))
        dtype = np.asarray(probe).dtype
        if fill_value is None:
            fill_value = _carried(arrays, dtype)
        elif callable(fill_value):
            fill_value = fill_value(dtype)
        self._setup(
            func,
            masked_func or func,
            tuple(broadcast_to(v, shape) if isinstance(v, Array) else v for v in values),
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
        self._inputs = tuple(op for op in operands if isinstance(op, Array))
        self._shape = shape
        self._dtype = dtype
        # Fixed when the node is built: a selection of it, or its operands
        # replaced by computed results, keeps it.
        self._fill_value = fill_value
        self._writer = _writer(func, dtype)
        self._makes_new = _makes_new(func, self._writer)
        self._in_place = _in_place(func, dtype)

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
            tuple(len(item) for item in key if not isinstance(item, int)),
            self._dtype,
            self._fill_value,
        )
        return node

    def _compute_steps(self, masked: bool) -> Steps[np.ndarray]:
        value, _ = yield from self._owned_steps(masked, [])
        return value

    def _evaluate_owned_steps(
        self, masked: bool, free: list[np.ndarray]
    ) -> Steps[tuple[np.ndarray, bool]]:
        """This node's value, and whether the caller owns it, as steps (see
        :meth:`_owned_steps`). A node that several nodes of the evaluation use
        is computed once (:meth:`~lazyarray.array.Array._evaluate_steps`), and
        nobody owns its value."""
        if id(self) in memo().get("shared", ()):
            return (yield self._evaluate_steps(masked)), False
        return (yield from self._owned_steps(masked, free))

    def _owned_steps(
        self, masked: bool, free: list[np.ndarray]
    ) -> Steps[tuple[np.ndarray, bool]]:
        """This node's value, and whether the caller owns it (may overwrite it), as steps.

        A value is *owned* when it was made by this very call and nothing
        but the call's locals refers to it: a ufunc's new output, a scratch
        buffer lent for the tile (:func:`~lazyarray.buffers.scratch_buffer`),
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
            with_mask = yield self._evaluate_masked_steps()
            # A masked array realised plainly: numpy.ma's result, masked points
            # filled with this node's fill value (not computed from the inputs'
            # fill values, which would give log(1e20) where log(-1) is masked).
            # Not owned: numpy.ma's results may share their data with an input.
            return (with_mask if masked else fill_masked(with_mask, self._fill_value)), False
        values: list[Any] = []
        owned: list[np.ndarray] = []
        for op in self._operands:
            if type(op) is Elementwise:
                value, mine = yield op._evaluate_owned_steps(False, free)
                if mine:
                    owned.append(value)
            elif isinstance(op, Array):
                value = yield op._evaluate_steps(False)
            else:
                value = op
            values.append(value)
        if self._writer is None:
            result = self._func(*values)
        else:
            result = self._writer(values, self._out(values, owned, free))
        if not isinstance(result, np.ndarray):  # 0-d results come back as scalars
            result = np.asarray(result, dtype=self._dtype)
        if not (self._makes_new and type(result) is np.ndarray):
            return result, False
        if any(isinstance(v, np.ndarray) and np.may_share_memory(v, result)
               for v in values if not any(v is mine for mine in owned)):
            # Not what these functions do, but then the result is someone else's too.
            return result, False
        for value in owned:
            if value is not result and not np.may_share_memory(value, result):
                free.append(value)
        return result, True

    def _out(self, values: list[Any], owned: list[np.ndarray],
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
        return scratch_buffer(self._shape, self._dtype)

    def _evaluate_masked_steps(self) -> Steps[np.ma.MaskedArray]:
        values = []
        for op in self._operands:
            values.append((yield op._evaluate_steps(True)) if isinstance(op, Array) else op)
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


def _carried(arrays: Sequence[Array], dtype: np.dtype) -> Any:
    """numpy.ma's fill value for a result of ``dtype`` computed from ``arrays``.

    numpy.ma's operations take the fill value of their first masked operand
    (scalars and plain arrays have none); here the first operand that is
    masked, else the first array (whose fill value is then the default).
    """
    if not arrays:
        return default_fill_value(dtype)
    first = next((a for a in arrays if a.masked), arrays[0])
    return carried_fill_value(first.fill_value, first.dtype, dtype)


def _output(func: Callable[..., Any], index: int, *args: Any) -> Any:
    """Output ``index`` of a ufunc with several outputs (picklable)."""
    return func(*args)[index]


#: Writes a node's result, given its operands' values and an array to write
#: it into (``None``: a new one); see :func:`_writer`.
Writer = Callable[[Sequence[Any], "np.ndarray | None"], Any]

#: Result dtypes that ufuncs write in place as they would into a new array.
#: Not strings (their width is the result's, found per call) nor objects.
_WRITABLE_KINDS = frozenset("biufcmM")


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
        if func.func is _output and not func.keywords and isinstance(func.args[0], np.ufunc):
            return functools.partial(_write_output, *func.args)
        if func.func is _cast and not func.args and set(func.keywords) == {"dtype"}:
            return functools.partial(_write_cast, func.keywords["dtype"])
        return None
    if any(func is clip for clip in (_clip, _clip_lower, _clip_upper)):
        return functools.partial(_write_clip, func)
    return None


def _makes_new(func: Callable[..., Any], writer: Writer | None) -> bool:
    """Whether ``func`` always returns a new array, which its caller may then own."""
    return writer is not None or func is _where or func is _clip_unbounded


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
        return _cast(value, dtype)
    # ndarray.astype's unsafe cast, with the same warnings, into lent memory.
    np.copyto(out, value, casting="unsafe")
    return out


def _write_clip(func: Callable[..., Any], values: Sequence[Any], out: np.ndarray | None) -> Any:
    return func(*values, out=out)


#: Ufuncs whose numpy.ma counterparts give results the default fill value,
#: not their first operand's: ``maximum`` and ``minimum`` are ``numpy.ma.where``
#: underneath, and the shifts build a new masked array (numpy.ma then takes
#: the shift count's fill value when it is a masked array, which lazyarray
#: does not copy: the count is not the data).
_DEFAULT_FILL_VALUE = frozenset({np.maximum, np.minimum, np.left_shift, np.right_shift})


def _masked_counterpart(ufunc: np.ufunc) -> Callable[..., Any]:
    """numpy.ma's version of a ufunc where it has one (it masks domain errors).

    Some are plain functions rather than masked ufuncs: ``np.ma.power`` masks
    invalid results, as the domained ufuncs do, so it is the one to use. The
    shifts are not: numpy.ma's mask only the shifted array's masked points
    with its own shape, and fail when the shift count broadcasts it; the
    ufunc on masked arrays masks both operands' points, broadcast, which is
    what numpy.ma gives wherever it works.
    """
    counterpart = getattr(np.ma, ufunc.__name__, None)
    if not callable(counterpart) or ufunc in (np.left_shift, np.right_shift):
        return ufunc
    return functools.partial(_call_masked, counterpart)


def _call_masked(counterpart: Callable[..., Any], *args: Any) -> Any:
    """Call a numpy.ma function with Python scalars typed as numpy 2 types them.

    numpy.ma turns a Python scalar into a 0-d array of its default dtype, so
    ``float32_data == 0.1`` would compare in float64 and disagree with numpy
    (and with the node's declared dtype); give each scalar the dtype numpy 2's
    weak promotion gives it against the arrays instead.
    """
    dtypes = [a.dtype for a in args if isinstance(a, (np.ndarray, np.generic))]
    return counterpart(*(_typed_scalar(a, dtypes) for a in args))


def _typed_scalar(value: Any, dtypes: list[np.dtype]) -> Any:
    if not dtypes or not isinstance(value, (int, float, complex)) or isinstance(value, np.generic):
        return value
    try:
        return np.asarray(value, dtype=np.result_type(value, *dtypes))
    except (OverflowError, TypeError):
        # Out of range for the arrays' dtype (numpy allows that only in
        # comparisons, which numpy.ma makes exactly in a wider type), or no
        # common dtype at all: numpy.ma's own handling is numpy's.
        return value


def apply_ufunc(ufunc: np.ufunc, *operands: Any) -> Any:
    """Apply a numpy ufunc lazily; a tuple of arrays for ufuncs with several outputs.

    Examples
    --------
    >>> import numpy as np
    >>> q, r = apply_ufunc(np.divmod, np.array([7, 8]), 3)
    >>> q.ndarray().tolist(), r.ndarray().tolist()
    ([2, 2], [1, 2])
    """
    if ufunc.signature is not None:
        raise TypeError(f"{ufunc.__name__} is a generalised ufunc; only elementwise ufuncs are lazy")
    if len(operands) != ufunc.nin:
        raise TypeError(
            f"{ufunc.__name__} takes {ufunc.nin} operand(s), got {len(operands)}"
        )
    masked = _masked_counterpart(ufunc)
    fill_value = default_fill_value if ufunc in _DEFAULT_FILL_VALUE else None
    if ufunc.nout == 1:
        return Elementwise(ufunc, operands, masked_func=masked, name=ufunc.__name__,
                           fill_value=fill_value)
    return tuple(
        Elementwise(
            functools.partial(_output, ufunc, i),
            operands,
            masked_func=functools.partial(_output, masked, i) if masked is not ufunc else None,
            name=ufunc.__name__,
        )
        for i in range(ufunc.nout)
    )


def _lazy(ufunc: np.ufunc) -> Callable[..., Any]:
    def wrapper(*operands: Any) -> Any:
        return apply_ufunc(ufunc, *operands)

    wrapper.__name__ = wrapper.__qualname__ = ufunc.__name__
    wrapper.__doc__ = (
        f"Lazy ``numpy.{ufunc.__name__}``: {ufunc.nin} operand(s), numpy's broadcasting "
        "and dtype rules; returns a lazy array"
        + (" (a tuple of them)." if ufunc.nout > 1 else ".")
    )
    return wrapper


def _cast(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, np.ma.MaskedArray):
        # Not MaskedArray.astype, which also casts the fill value, warning when
        # it does not fit; the node carries its own (see carried_fill_value).
        return np.ma.MaskedArray(value.data.astype(dtype), mask=value.mask)
    return value.astype(dtype)


def astype(array: Any, dtype: DTypeLike) -> Array:
    """Cast lazily to ``dtype``, with numpy's unsafe casting as ``ndarray.astype``.

    The fill value is cast too, as numpy.ma casts it, except that one that
    does not fit (``1e20`` in an integer type) gives the new dtype's default
    rather than an undefined number (see
    :func:`~lazyarray.array.carried_fill_value`).

    Examples
    --------
    >>> import numpy as np
    >>> astype(np.array([1.7, -1.7]), "i2").ndarray()
    array([ 1, -1], dtype=int16)
    >>> m = np.ma.masked_array([1.5, 2.5], mask=[0, 1], fill_value=-9.5)
    >>> astype(m, "i2").fill_value
    np.int16(-9)
    """
    array = asarray(array)
    dtype = np.dtype(dtype)
    if dtype == array.dtype:
        return array
    return Elementwise(functools.partial(_cast, dtype=dtype), [array], name="astype")


def _where(condition: Any, x: Any, y: Any) -> Any:
    if any(isinstance(v, np.ma.MaskedArray) for v in (condition, x, y)):
        # numpy.ma.where makes a Python scalar a 0-d array of its default
        # dtype (where(c, uint64_data, 0) would be float64): type it as numpy 2
        # types it against the other choice, as _call_masked does.
        dtypes = [v.dtype for v in (x, y) if isinstance(v, (np.ndarray, np.generic))]
        return np.ma.where(condition, _typed_scalar(x, dtypes), _typed_scalar(y, dtypes))
    return np.where(condition, x, y)


def where(condition: Any, x: Any, y: Any) -> Array:
    """Elements of ``x`` where ``condition`` holds, else of ``y``; lazily.

    Examples
    --------
    >>> import numpy as np
    >>> where(np.array([True, False]), 1, np.array([5.0, 6.0])).ndarray().tolist()
    [1.0, 6.0]

    In masked mode it is ``numpy.ma.where``: masked where the chosen value
    is masked or the condition is, with the default fill value (numpy.ma's
    ``where`` keeps none of its operands').
    """
    return Elementwise(_where, [condition, x, y], name="where", fill_value=default_fill_value)


def _clip(a: Any, a_min: Any, a_max: Any, out: np.ndarray | None = None) -> Any:
    return np.clip(a, a_min, a_max, out=out)


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Array:
    """Limit values to ``[a_min, a_max]`` (either may be ``None``), as ``numpy.clip``.

    Examples
    --------
    >>> import numpy as np
    >>> clip(np.arange(5), 1, 3).ndarray().tolist()
    [1, 1, 2, 3, 3]
    """
    operands = [a] + [bound for bound in (a_min, a_max) if bound is not None]
    if a_min is None and a_max is None:
        # numpy 2.0 refuses this, later versions copy: the probe does as numpy does.
        return Elementwise(_clip_unbounded, operands, name="clip")
    if a_min is None:
        return Elementwise(_clip_upper, operands, name="clip")
    if a_max is None:
        return Elementwise(_clip_lower, operands, name="clip")
    return Elementwise(_clip, operands, name="clip")


def _clip_unbounded(a: Any) -> Any:
    return np.clip(a, None, None)


def _clip_lower(a: Any, a_min: Any, out: np.ndarray | None = None) -> Any:
    return np.clip(a, a_min, None, out=out)


def _clip_upper(a: Any, a_max: Any, out: np.ndarray | None = None) -> Any:
    return np.clip(a, None, a_max, out=out)


# Every elementwise numpy ufunc of one or two inputs, under numpy's own names.
absolute = _lazy(np.absolute)
abs = absolute
add = _lazy(np.add)
arccos = _lazy(np.arccos)
arccosh = _lazy(np.arccosh)
arcsin = _lazy(np.arcsin)
arcsinh = _lazy(np.arcsinh)
arctan = _lazy(np.arctan)
arctan2 = _lazy(np.arctan2)
arctanh = _lazy(np.arctanh)
acos, acosh, asin, asinh, atan, atan2, atanh = (
    arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
)
bitwise_and = _lazy(np.bitwise_and)
bitwise_count = _lazy(np.bitwise_count)
bitwise_or = _lazy(np.bitwise_or)
bitwise_xor = _lazy(np.bitwise_xor)
invert = _lazy(np.invert)
bitwise_not = bitwise_invert = invert
cbrt = _lazy(np.cbrt)
ceil = _lazy(np.ceil)
conjugate = _lazy(np.conjugate)
conj = conjugate
copysign = _lazy(np.copysign)
cos = _lazy(np.cos)
cosh = _lazy(np.cosh)
deg2rad = _lazy(np.deg2rad)
degrees = _lazy(np.degrees)
divmod = _lazy(np.divmod)
equal = _lazy(np.equal)
exp = _lazy(np.exp)
exp2 = _lazy(np.exp2)
expm1 = _lazy(np.expm1)
fabs = _lazy(np.fabs)
float_power = _lazy(np.float_power)
floor = _lazy(np.floor)
floor_divide = _lazy(np.floor_divide)
fmax = _lazy(np.fmax)
fmin = _lazy(np.fmin)
fmod = _lazy(np.fmod)
frexp = _lazy(np.frexp)
gcd = _lazy(np.gcd)
greater = _lazy(np.greater)
greater_equal = _lazy(np.greater_equal)
heaviside = _lazy(np.heaviside)
hypot = _lazy(np.hypot)
isfinite = _lazy(np.isfinite)
isinf = _lazy(np.isinf)
isnan = _lazy(np.isnan)
isnat = _lazy(np.isnat)
lcm = _lazy(np.lcm)
ldexp = _lazy(np.ldexp)
left_shift = _lazy(np.left_shift)
bitwise_left_shift = left_shift
less = _lazy(np.less)
less_equal = _lazy(np.less_equal)
log = _lazy(np.log)
log10 = _lazy(np.log10)
log1p = _lazy(np.log1p)
log2 = _lazy(np.log2)
logaddexp = _lazy(np.logaddexp)
logaddexp2 = _lazy(np.logaddexp2)
logical_and = _lazy(np.logical_and)
logical_not = _lazy(np.logical_not)
logical_or = _lazy(np.logical_or)
logical_xor = _lazy(np.logical_xor)
maximum = _lazy(np.maximum)
minimum = _lazy(np.minimum)
remainder = _lazy(np.remainder)
mod = remainder
modf = _lazy(np.modf)
multiply = _lazy(np.multiply)
negative = _lazy(np.negative)
nextafter = _lazy(np.nextafter)
not_equal = _lazy(np.not_equal)
positive = _lazy(np.positive)
power = _lazy(np.power)
pow = power
rad2deg = _lazy(np.rad2deg)
radians = _lazy(np.radians)
reciprocal = _lazy(np.reciprocal)
right_shift = _lazy(np.right_shift)
bitwise_right_shift = right_shift
rint = _lazy(np.rint)
sign = _lazy(np.sign)
signbit = _lazy(np.signbit)
sin = _lazy(np.sin)
sinh = _lazy(np.sinh)
spacing = _lazy(np.spacing)
sqrt = _lazy(np.sqrt)
square = _lazy(np.square)
subtract = _lazy(np.subtract)
sub = subtract
tan = _lazy(np.tan)
tanh = _lazy(np.tanh)
divide = _lazy(np.divide)
true_divide = divide
trunc = _lazy(np.trunc)

