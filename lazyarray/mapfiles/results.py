"""What :func:`~lazyarray.mapfiles.map_files` reports of each input, and its cancellation.

Examples
--------
>>> result = FileResult("a.h5", "a_out.h5", {"mean": 2.5}, None, 0.1, None)
>>> result.ok, result.meta["mean"]
(True, 2.5)
>>> issubclass(MapFilesCancelled, RuntimeError)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FileResult", "MapFilesCancelled"]


@dataclass(frozen=True)
class FileResult:
    """What :func:`map_files` did with one input.

    Attributes
    ----------
    input : object
        The input, as given.
    output : str or None
        The file or store written (complete: outputs are published whole),
        or ``None`` when nothing was saved (``fn`` returned no arrays, the
        input was skipped, or failed before its output was published).
    meta : dict
        ``fn``'s metadata, lazy values computed (0-d results as numpy
        scalars), with what the ``post`` callables added; empty for a
        failed or skipped input.
    error : BaseException or None
        The exception that stopped this input: the original one when it
        pickles (with a note holding the worker's traceback), else a
        ``RuntimeError`` with its ``repr`` and traceback.
    seconds : float
        Wall-clock time of the input in its process, in seconds.
    peak_bytes : int or None
        Peak growth of the worker's resident memory while it processed this
        input, in bytes: the kernel's high-water mark (``VmHWM``, reset
        before the input through ``/proc/self/clear_refs``) minus the
        resident memory before it. Memory the allocator kept from an
        earlier input and reused is not counted again. ``None`` where this
        cannot be measured: not Linux, or ``processes=0`` (resetting the
        caller's own high-water mark would falsify its measurements).
    skipped : bool
        A ``pre`` callable returned ``None``: nothing was opened or run.
    """

    input: Any
    output: str | None
    meta: dict[str, Any]
    error: BaseException | None
    seconds: float
    peak_bytes: int | None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """Whether the input was processed without error (skipped inputs are not)."""
        return self.error is None and not self.skipped


class MapFilesCancelled(RuntimeError):
    """An input stopped because another one failed under ``errors="raise"``."""
