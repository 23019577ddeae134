"""The lazyarray exception family.

Every exception also inherits the built-in exception that existing ``except``
clauses expect, so code written for numpy or Biggus keeps catching them.

Examples
--------
>>> from lazyarray.errors import IndexingError, LazyArrayError
>>> issubclass(IndexingError, IndexError) and issubclass(IndexingError, LazyArrayError)
True
"""

from __future__ import annotations

import builtins
import pickle
import traceback
from typing import Any

__all__ = [
    "AxisError",
    "ChunkDecodeError",
    "ClosedFileError",
    "DTypeError",
    "FillValueError",
    "IndexingError",
    "LazyArrayError",
    "MaskedSourceError",
    "MemoryBudgetError",
    "ReadOnlyTargetError",
    "ShapeError",
    "UnsupportedDTypeError",
    "located",
    "portable",
]


class LazyArrayError(Exception):
    """Base class of every error lazyarray raises on purpose."""


class IndexingError(LazyArrayError, IndexError):
    """A key is out of range, has too many indices, or a mask of the wrong length."""


class ShapeError(LazyArrayError, ValueError):
    """Tiles, stack members, operands or sinks whose shapes do not fit together."""


class DTypeError(LazyArrayError, ValueError):
    """Tiles or stack members whose dtypes differ where one dtype is required."""


class FillValueError(DTypeError, TypeError):
    """A fill value that the array's dtype cannot hold (1000 for ``int8``, 0.5 for
    an integer dtype). Also a ``TypeError``, as ``numpy.ma`` raises for it."""


class AxisError(LazyArrayError, ValueError, IndexError):
    """An axis is out of range or repeated.

    A ``ValueError`` and an ``IndexError``, as ``numpy.exceptions.AxisError``
    is, so that code written for numpy catches it either way.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> try:
    ...     la.sum(np.zeros(3), axis=1)
    ... except IndexError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    AxisError True
    """


class UnsupportedDTypeError(DTypeError, TypeError):
    """A source whose dtype has no numpy arithmetic (object, void, structured,
    variable-length strings), refused when it is wrapped. Also a ``TypeError``,
    as numpy raises for arithmetic it cannot do."""


class MaskedSourceError(LazyArrayError, ValueError):
    """A source returned masked points (``numpy.ma.MaskedArray``) but was wrapped
    as unmasked, so its masked points would have entered results as data."""


class ChunkDecodeError(LazyArrayError, OSError):
    """A stored chunk that cannot be decoded (corrupt, truncated, or an unknown
    filter); the message names the file, the dataset and the chunk.

    Parameters
    ----------
    message : str
    chunk : tuple of int or str, optional
        The chunk's grid position (HDF5) or key (Zarr), when the message names
        it; :func:`located` then leaves the error as it is.
    """

    def __init__(self, message: str, *, chunk: Any = None):
        super().__init__(message)
        self.chunk = chunk

    def __reduce__(self) -> tuple[Any, ...]:
        return (_chunk_decode_error, (str(self), self.chunk))


def _chunk_decode_error(message: str, chunk: Any) -> ChunkDecodeError:
    return ChunkDecodeError(message, chunk=chunk)


class ClosedFileError(LazyArrayError, ValueError):
    """A source or target whose file was closed (an ``h5py.Dataset`` of a closed
    file). Also a ``ValueError``, as Python raises for I/O on a closed file."""


class ReadOnlyTargetError(LazyArrayError, ValueError):
    """A target that cannot be written: an HDF5 dataset of a file opened read-only,
    a read-only Zarr array, a non-writeable ndarray. Refused before anything is
    read. Also a ``ValueError``, as numpy raises for a read-only destination."""


class MemoryBudgetError(LazyArrayError, MemoryError):
    """An evaluation plan cannot fit the memory limit."""


#: Exceptions that stop a program rather than report a fault: never rewrapped.
_PASS_THROUGH = (MemoryError, RecursionError)


def _rebuilt(error: Exception, message: str) -> Exception:
    """An exception of ``error``'s class (else its nearest built-in class) with ``message``."""
    kind = type(error)
    if isinstance(error, OSError) and error.errno is not None:
        arguments: tuple[Any, ...] = (error.errno, f"{error.strerror}; {message}")
    else:
        arguments = (f"{error}; {message}" if str(error) else message,)
    try:
        rebuilt: Exception | None = kind(*arguments)
    except Exception:  # noqa: BLE001 - a class whose constructor wants other arguments
        rebuilt = None
    if type(rebuilt) is kind:
        assert rebuilt is not None
        return rebuilt
    builtin = next(c for c in kind.__mro__ if c.__module__ == "builtins")
    try:
        return builtin(*arguments)
    except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError's five arguments
        return builtins.Exception(*arguments)


def located(error: BaseException, where: str) -> BaseException | None:
    """``error`` told where it happened, or ``None`` to re-raise it as it is.

    The new exception has ``error``'s class (or, when that class cannot be
    made from a message, its nearest built-in class, so that ``except``
    clauses written for the original still catch it), the original message
    followed by ``where``, and the original as ``__cause__`` (set by the
    caller's ``raise ... from error``). An ``OSError`` keeps its ``errno``.
    Nothing is done for exceptions that are not ``Exception`` (a
    ``KeyboardInterrupt``), for ``MemoryError`` and ``RecursionError``, for
    errors already located (by an inner adapter), and for a
    :class:`ChunkDecodeError` that names its chunk.

    Parameters
    ----------
    error : BaseException
        What was raised.
    where : str
        What was being done, e.g. ``"reading HDF5 dataset '/x' of '/d/f.h5',
        elements [0:10]"``.

    Examples
    --------
    >>> error = located(OSError(5, "Input/output error"), "reading '/x' of 'f.h5'")
    >>> type(error).__name__, error.errno, str(error)
    ('OSError', 5, "[Errno 5] Input/output error; reading '/x' of 'f.h5'")
    >>> located(KeyboardInterrupt(), "reading") is None
    True
    >>> located(ChunkDecodeError("f.h5: dataset '/x': chunk (0,)", chunk=(0,)), "reading") is None
    True
    """
    if not isinstance(error, Exception) or isinstance(error, _PASS_THROUGH):
        return None
    if getattr(error, "lazyarray_where", None) is not None:
        return None
    if isinstance(error, ChunkDecodeError) and error.chunk is not None:
        return None
    rebuilt = _rebuilt(error, where)
    rebuilt.lazyarray_where = where  # type: ignore[attr-defined]
    return rebuilt


def portable(error: BaseException, where: str) -> BaseException:
    """``error`` fit to be sent to another process, with its traceback told.

    An exception raised in a worker process reaches the caller pickled,
    without its traceback. When ``error`` pickles, the result is the copy
    the other process will receive, with a note holding the traceback (so
    that the caller sees where the error happened, and the original is left
    as it is); otherwise a ``RuntimeError`` whose message is ``error``'s
    ``repr`` and traceback.

    Parameters
    ----------
    error : BaseException
        What was raised, in this process.
    where : str
        Which process, for the note or the message (e.g. ``"map_files
        worker 1234"``).

    Returns
    -------
    BaseException
        An exception that pickles.

    Examples
    --------
    >>> sent = portable(ValueError("bad value"), "worker 7")
    >>> type(sent).__name__, str(sent), sent.__notes__[0]
    ('ValueError', 'bad value', '[worker 7] ValueError: bad value\\n')
    >>> class Local(Exception):  # a class pickle cannot find by name
    ...     pass
    >>> sent = portable(Local("boom"), "worker 7")
    >>> type(sent).__name__, str(sent).splitlines()[0]
    ('RuntimeError', "Local('boom') (which does not pickle), in worker 7; its traceback:")
    """
    text = "".join(traceback.format_exception(error))
    try:
        sent = pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure to pickle makes it unportable
        return RuntimeError(f"{error!r} (which does not pickle), in {where}; "
                            f"its traceback:\n{text}")
    sent.add_note(f"[{where}] {text}")
    return sent
