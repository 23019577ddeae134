"""Progress of an evaluation: the events a callback receives, and the bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """A progress event of an evaluation.

    A ``progress`` callback receives one event before anything is read
    (``done == 0``), then one after each tile that read source data, the
    last with ``done == total``.

    Attributes
    ----------
    done : int
        Bytes of source data processed so far.
    total : int
        Bytes of source data the whole evaluation processes.
    elapsed : float
        Seconds since the evaluation started.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> events = []
    >>> _ = la.asarray(np.zeros(1000)).sum().ndarray(chunk_bytes=4000, progress=events.append)
    >>> [(e.done, e.total) for e in events]
    [(0, 8000), (4000, 8000), (8000, 8000)]
    >>> events[0].eta is None, events[-1].eta
    (True, 0.0)
    """

    done: int
    total: int
    elapsed: float

    @property
    def eta(self) -> float | None:
        """Estimated seconds left, once anything is done."""
        if not self.done:
            return None
        return self.elapsed * (self.total - self.done) / self.done


class Reporter:
    """Sends :class:`Progress` events to a callback or a tqdm bar."""

    def __init__(self, progress: bool | Callable[[Progress], Any], total: int):
        self._callback: Callable[[Progress], Any] | None = None
        self._bar: Any = None
        self._total = total
        self._done = 0
        self._start = time.perf_counter()
        if progress is True:
            try:
                from tqdm.auto import tqdm
            except ImportError as error:  # tqdm is optional
                raise ImportError("progress=True shows a tqdm bar: install tqdm, or pass a "
                                  "callable to receive lazyarray.Progress events") from error

            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc="lazyarray")
        elif callable(progress):
            self._callback = progress
            # A first event before anything is read, so a callback learns the
            # total (and sees eta None) even before the first tile is done.
            progress(Progress(0, total, 0.0))

    def advance(self, nbytes: int) -> None:
        if not nbytes:  # passes over in-memory results read nothing: no event
            return
        self._done += nbytes
        if self._bar is not None:
            self._bar.update(nbytes)
        if self._callback is not None:
            self._callback(Progress(self._done, self._total, time.perf_counter() - self._start))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
