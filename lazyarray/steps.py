"""Deep graphs without deep recursion: node methods written as steps.

Evaluating a node needs its inputs' values, and selecting from it needs
their selections, so both are naturally recursive: a chain of 10 000
``x = x + 1.0`` would take 10 000 nested Python calls, beyond the
interpreter's recursion limit. Nodes write these methods as *steps*
instead: a generator that yields the steps of each input it needs, receives
that input's result, and returns its own. :func:`run` drives the generators
from an explicit stack, so the depth of a graph costs heap memory (one
suspended generator per level), never call-stack frames.

A step for an input is requested as
``value = yield node._evaluate_steps(context, masked)``; leaves, and nodes
that need no input's result, return at once.

Examples
--------
>>> def countdown(n):
...     if n == 0:
...         return 0
...     below = yield countdown(n - 1)
...     return below + 1
>>> run(countdown(100_000))
100000
>>> def failing():
...     raise ValueError("deep down")
...     yield
>>> def outer():
...     try:
...         yield failing()
...     except ValueError as error:
...         return f"caught: {error}"
>>> run(outer())
'caught: deep down'
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

__all__ = ["MEMO", "Steps", "run"]

T = TypeVar("T")




class _MemoRequest:
    """The type of :data:`MEMO`."""

    def __repr__(self) -> str:
        return "lazyarray.steps.MEMO"


#: Yielded by a step instead of another step, it receives the memo of the
#: run in progress: a dict that the steps of one :func:`run` share, to reuse
#: one step's result in others (the selection of a node that several nodes
#: use, say). Each outermost :func:`run` has a memo of its own.
#:
#: >>> def counted(name):
#: ...     seen = (yield MEMO).setdefault("seen", [])
#: ...     seen.append(name)
#: ...     return len(seen)
#: >>> def both():
#: ...     first = yield counted("a")
#: ...     second = yield counted("b")
#: ...     return first, second
#: >>> run(both()), run(both())
#: ((1, 2), (1, 2))
MEMO = _MemoRequest()

#: A method written as steps: yields the steps of its inputs (or :data:`MEMO`),
#: returns a ``T``.
Steps = Generator["Steps[Any] | _MemoRequest", Any, T]


def run(steps: Steps[T]) -> T:
    """The result of ``steps``, with every step it requests run first
    (and :data:`MEMO` answered with the run's memo).

    An exception raised in a step is thrown into the step that requested it,
    where it can be handled as from a call; unhandled, it propagates out of
    :func:`run` with its traceback.
    """
    memo: dict[Any, Any] = {}
    stack: list[Steps[Any]] = [steps]
    value: Any = None
    error: BaseException | None = None
    while True:
        top = stack[-1]
        try:
            if error is None:
                request = top.send(value)
            else:
                thrown, error = error, None
                request = top.throw(thrown)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value
            value = done.value
            continue
        except BaseException as failure:
            stack.pop()
            if not stack:
                raise
            value, error = None, failure
            continue
        if isinstance(request, _MemoRequest):  # MEMO, the only one
            value = memo
            continue
        stack.append(request)
        value = None
