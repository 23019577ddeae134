"""Faults (DESIGN.md section 6): an exception in any tile, read or sink cancels
the rest of the evaluation and reaches the caller promptly, with no worker
thread left behind; a save that cannot fit its targets raises before anything
is written. A read or write error keeps its class and message, adds where it
happened (which source or target, which elements), and keeps the original as
its ``__cause__`` (see tests/test_errors_say_where.py).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import lazyarray as la
from lazyarray.errors import DTypeError, ShapeError

WORKERS = [1, 2, 3]


class ReadFailed(Exception):
    """Raised by :class:`FailingSource`: a type nothing else raises."""


class FailingSource:
    """A fast in-memory source whose ``n``-th read raises :class:`ReadFailed`."""

    def __init__(self, array: np.ndarray, n: int):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.n, self.reads = n, 0
        self.raised_at: float | None = None
        self.lock = threading.Lock()

    def __getitem__(self, key):
        with self.lock:
            self.reads += 1
            if self.reads == self.n:
                self.raised_at = time.perf_counter()
                raise ReadFailed(f"read {self.n} of the source failed")
        return self.array[key]


class FailingSink:
    """A target whose ``n``-th write raises :class:`OSError`."""

    def __init__(self, shape, dtype, n: int):
        self.data = np.zeros(shape, dtype)
        self.shape, self.dtype = self.data.shape, self.data.dtype
        self.n, self.writes = n, 0
        self.raised_at: float | None = None

    def __setitem__(self, key, value):
        self.writes += 1
        if self.writes == self.n:
            self.raised_at = time.perf_counter()
            raise OSError(28, f"write {self.n} of the sink failed")
        self.data[key] = value


def lazyarray_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lazyarray")]


DATA = np.arange(120 * 30, dtype=np.float64).reshape(120, 30) / 7
# 2 rows (480 bytes) a tile: 60 tiles, so the 10th read comes early.
CHUNK_BYTES = 480

CALLS = {
    "ndarrays": lambda a, **o: la.ndarrays([a * 2, a + 1], **o),
    "compute": lambda a, **o: la.compute(a.sum(), **o),
    "masked_arrays": lambda a, **o: la.masked_arrays([a - 1], **o),
    "save": lambda a, **o: la.save([a * 2], [np.zeros(DATA.shape)], **o),
    "save with compute": lambda a, **o: la.save([a], [np.zeros(DATA.shape)],
                                                compute=[la.max(a, 0)], **o),
    "reductions": lambda a, **o: la.ndarrays([la.mean(a, 0), la.std(a, 0), la.min(a, 1)], **o),
    "anomalies (second stage)": lambda a, **o: la.ndarrays([a - la.mean(a, 0)], **o),
}
EXPECTED = {
    "ndarrays": lambda: [DATA * 2, DATA + 1],
    "compute": lambda: [DATA.sum()],
    "masked_arrays": lambda: [DATA - 1],
    "save": list,
    "save with compute": lambda: [DATA.max(0)],
    "reductions": lambda: [DATA.mean(0), DATA.std(0), DATA.min(1)],
    "anomalies (second stage)": lambda: [DATA - DATA.mean(0)],
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("call", list(CALLS))
def test_a_failing_read_raises_itself_promptly_and_leaves_no_thread(call, workers):
    # The anomalies read the source twice (a stage for the mean, then one for
    # the difference): fail in the second stage.
    n = 70 if call.startswith("anomalies") else 10
    source = FailingSource(DATA, n)
    a = la.asarray(source)
    with pytest.raises(ReadFailed, match=f"^read {n} of the source failed; reading a source "
                                         r"of type FailingSource, elements \[\d+:\d+, 0:30\]$"
                       ) as caught:
        CALLS[call](a, chunk_bytes=CHUNK_BYTES, workers=workers)
    caught_at = time.perf_counter()
    assert type(caught.value) is ReadFailed  # its own class, told where
    assert type(caught.value.__cause__) is ReadFailed
    assert str(caught.value.__cause__) == f"read {n} of the source failed"
    assert source.raised_at is not None
    assert caught_at - source.raised_at < 1.0, f"{caught_at - source.raised_at:.2f} s"
    assert lazyarray_threads() == []
    # The rest was cancelled: only reads already under way went on.
    assert source.reads < n + 2 * workers + 2
    # And the same graph evaluates once the source works again.
    source.n = 0
    results = CALLS[call](a, chunk_bytes=CHUNK_BYTES, workers=workers)
    for actual, expected in zip(results, EXPECTED[call]()):
        np.testing.assert_allclose(np.ma.getdata(actual), expected, rtol=1e-12)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("workers", WORKERS)
def test_the_first_failure_in_tile_order_wins(workers):
    """Several tiles fail: the caller sees the one first in traversal order."""

    class EveryRead:
        shape, dtype = DATA.shape, DATA.dtype

        def __getitem__(self, key):
            raise ReadFailed(f"rows {key[0].start}:{key[0].stop}")

    with pytest.raises(ReadFailed, match=r"^rows 0:2; reading .* elements \[0:2, 0:30\]$"):
        la.ndarrays([la.asarray(EveryRead()) * 2], chunk_bytes=CHUNK_BYTES, workers=workers)
    assert lazyarray_threads() == []


@pytest.mark.timeout(20)
@pytest.mark.parametrize("workers", WORKERS)
def test_a_failing_function_raises_itself(workers):
    def explode(x):
        if (x > 100).any():
            raise ArithmeticError("too big")
        return x

    a = la.asarray(DATA)
    with pytest.raises(ArithmeticError, match="too big"):
        la.ndarrays([la.Elementwise(explode, [a]), la.sum(a)], chunk_bytes=CHUNK_BYTES,
                    workers=workers)
    assert lazyarray_threads() == []
    small = la.Elementwise(explode, [a[:10]])
    np.testing.assert_array_equal(small.ndarray(workers=workers), DATA[:10])


@pytest.mark.timeout(20)
@pytest.mark.parametrize("workers", WORKERS)
def test_a_failing_sink_raises_itself_promptly(workers):
    sink = FailingSink(DATA.shape, DATA.dtype, n=5)
    other = np.zeros(DATA.shape)
    a = la.asarray(DATA)
    with pytest.raises(OSError, match=r"write 5 of the sink failed; writing target 1 \(a "
                                      r"target of type FailingSink\), elements \[8:10, 0:30\]"
                       ) as caught:
        la.save([a * 2, a], [other, sink], compute=[la.mean(a, 0)], chunk_bytes=CHUNK_BYTES,
                workers=workers)
    assert time.perf_counter() - sink.raised_at < 1.0
    assert caught.value.errno == 28
    assert lazyarray_threads() == []
    assert sink.writes == 5  # nothing written after the failure
    np.testing.assert_array_equal(sink.data[:8], DATA[:8])  # the 4 writes before it


@pytest.mark.timeout(20)
def test_a_failing_progress_callback_raises_itself():
    def callback(event):
        if event.done > DATA.nbytes // 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        la.asarray(DATA).sum().ndarray(chunk_bytes=CHUNK_BYTES, progress=callback, workers=2)
    assert lazyarray_threads() == []


@pytest.mark.timeout(20)
def test_keyboard_interrupt_in_a_worker_reaches_the_caller():
    class Interrupting:
        shape, dtype = DATA.shape, DATA.dtype

        def __getitem__(self, key):
            if key[0].start == 20:
                raise KeyboardInterrupt
            return DATA[key]

    with pytest.raises(KeyboardInterrupt):
        la.ndarrays([la.asarray(Interrupting())], chunk_bytes=CHUNK_BYTES, workers=2)
    assert lazyarray_threads() == []


# -- save checks its targets before writing ----------------------------------------


class Untouchable:
    """A target that must never be written."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, np.dtype(dtype)

    def __setitem__(self, key, value):
        raise AssertionError(f"written at {key!r}")


@pytest.mark.parametrize(
    "target, error, words",
    [
        (np.zeros((10, 3)), ShapeError, r"source 1 has shape \(10, 4\), target 1 has shape \(10, 3\)"),
        (np.zeros(40), ShapeError, r"shape \(10, 4\).*shape \(40,\)"),
        (Untouchable((4, 10), "f8"), ShapeError, r"\(10, 4\).*\(4, 10\)"),
        (np.zeros((10, 4), np.int32), DTypeError, "float64 cannot be stored in target 1 of dtype int32"),
        (Untouchable((10, 4), bool), DTypeError, "bool"),
    ],
)
def test_save_checks_shapes_and_dtypes_before_writing(target, error, words):
    data = np.arange(40.0).reshape(10, 4)
    first = np.full((10, 4), -1.0)
    # Checking reads nothing.
    source = la.asarray(la.testing.InaccessibleArray((10, 4), "f8"))
    assert issubclass(error, ValueError)
    before = np.array(target, copy=True) if isinstance(target, np.ndarray) else None
    with pytest.raises(error, match=words):
        la.save([la.asarray(data), source], [first, target])
    np.testing.assert_array_equal(first, -1.0)  # the good target is untouched too
    if before is not None:
        np.testing.assert_array_equal(target, before)


def test_save_casts_within_a_kind():
    data = np.arange(40.0).reshape(10, 4) / 3
    single, wide = np.zeros((10, 4), np.float32), np.zeros((10, 4), np.complex128)
    la.save([la.asarray(data), la.asarray(data)], [single, wide])
    np.testing.assert_array_equal(single, data.astype(np.float32))
    np.testing.assert_array_equal(wide, data.astype(np.complex128))


def test_save_refuses_a_wrong_number_of_targets_and_non_targets():
    data = la.asarray(np.arange(4.0))
    out = np.zeros(4)
    with pytest.raises(ShapeError, match="2 source"):
        la.save([data, data], [out])
    with pytest.raises(TypeError, match="__setitem__"):
        la.save([data], [(0.0, 0.0, 0.0, 0.0)])
    np.testing.assert_array_equal(out, 0.0)
