"""Evaluation options: defaults, a context manager to change them, and resolution.

Options apply to every evaluation call (``ndarray``, ``ndarrays``, ``save``...).
They can be set for a block of code with :func:`set_options`, or passed as
keywords to a single call, which wins over the context.

Examples
--------
>>> from lazyarray.options import get_options, set_options
>>> get_options().chunk_bytes == 32 * 2**20
True
>>> with set_options(chunk_bytes=2**20):
...     get_options().chunk_bytes
1048576
>>> get_options(chunk_bytes=4096).chunk_bytes
4096
"""

from __future__ import annotations

import contextvars
import numbers
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["Options", "get_options", "set_options"]

MiB = 2**20
#: The values of :attr:`Options.kernels`.
KERNELS = ("auto", "numba", "numpy")


@dataclass(frozen=True)
class Options:
    """The settings of an evaluation.

    Parameters
    ----------
    memory_limit : int
        Budget for data in flight during an evaluation, in bytes, on top of
        the result buffers that live in memory.
    chunk_bytes : int
        Target size of one tile of work, in bytes.
    workers : int
        Number of worker threads.
    progress : bool or callable
        ``True`` shows a progress bar; a callable receives progress events.
    kernels : {"auto", "numba", "numpy"}
        How reductions are computed per tile: ``"numba"`` with fused compiled
        kernels (one sweep over memory for every statistic; needs the
        ``lazyarray[fast]`` extra), ``"numpy"`` with numpy's reductions,
        ``"auto"`` (default) with numba when it is installed, except for sums
        and means alone of blocks under 16 384 elements, which numpy reduces
        faster. Results agree to floating-point rounding; counts, minima and
        maxima exactly.
    direct_io : bool
        Read and write storage chunks directly where a dataset allows it
        (HDF5 chunks, and Zarr chunks of local stores, read from the files
        and decoded in the worker threads; HDF5 output chunks encoded in the
        workers and written whole); ``False`` always goes through the
        storage library's own reading and writing. Results are identical.
    max_open_files : int
        How many files lazyarray keeps open for graphs built from paths
        (:func:`lazyarray.open_dataset`, unpickled graphs), one descriptor
        each (default 128). Beyond it the least recently used file is closed,
        once no read is in progress on it, and reopened when next read. See
        :mod:`lazyarray.files`.
    fsync : bool
        Whether :func:`~lazyarray.to_hdf5` and :func:`~lazyarray.to_zarr`
        wait until their output is on the disk (``fsync``) before publishing
        it under its name (default ``True``), so that not even a power loss
        can leave a complete-looking output with data missing. The disk
        writes while the evaluation computes; what it has not written by the
        end is waited for. ``False`` publishes once the data is in the
        operating system's cache: a crash of the process still leaves the
        old output or none, but a power loss soon after may leave the new
        one incomplete.
    """

    memory_limit: int = 256 * MiB
    chunk_bytes: int = 32 * MiB
    workers: int = os.cpu_count() or 1
    progress: bool | Callable[..., Any] = False
    kernels: str = "auto"
    direct_io: bool = True
    max_open_files: int = 128
    fsync: bool = True

    def __post_init__(self) -> None:
        for name in ("memory_limit", "chunk_bytes", "workers", "max_open_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            # Sizes are often computed with numpy; keep plain ints.
            object.__setattr__(self, name, int(value))
        if not (isinstance(self.progress, bool) or callable(self.progress)):
            raise TypeError(f"progress must be True, False or a callable, got {self.progress!r}")
        if self.kernels not in KERNELS:
            raise ValueError(
                f"kernels must be one of {', '.join(map(repr, KERNELS))}, got {self.kernels!r}"
            )
        for name in ("direct_io", "fsync"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")


_current: contextvars.ContextVar[Options] = contextvars.ContextVar(
    "lazyarray_options", default=Options()  # noqa: B039 - Options is frozen
)
_NAMES = frozenset(f.name for f in fields(Options))


def _check_names(kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - _NAMES)
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(_NAMES))}"
        )


def get_options(**overrides: Any) -> Options:
    """Return the options in force, with ``overrides`` (not ``None``) applied."""
    if not overrides:  # the common case, on every small evaluation
        return _current.get()
    overrides = {k: v for k, v in overrides.items() if v is not None}
    _check_names(overrides)
    current = _current.get()
    return replace(current, **overrides) if overrides else current


@contextmanager
def set_options(**kwargs: Any) -> Iterator[Options]:
    """Change evaluation options inside a ``with`` block.

    Parameters
    ----------
    **kwargs
        Any field of :class:`Options`.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> with set_options(chunk_bytes=64):
    ...     int(la.asarray(np.arange(100)).ndarray().sum())
    4950
    """
    token = _current.set(get_options(**kwargs))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
