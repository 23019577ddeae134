"""Options and progress (DESIGN.md section 6): progress events and bars,
options as keywords over ``set_options``, and results that do not depend on
the number of workers.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lazyarray as la
from lazyarray.options import get_options

DATA = np.random.default_rng(0).standard_normal((64, 40)) * 1e3 + 7


def test_progress_callback_events():
    events: list[la.Progress] = []
    a = la.asarray(DATA)
    mean, doubled = la.ndarrays([la.mean(a, 0), a * 2], chunk_bytes=640, progress=events.append)
    np.testing.assert_allclose(mean, DATA.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(doubled, DATA * 2)

    total = DATA.nbytes  # one pass reads a once
    assert all(isinstance(e, la.Progress) and e.total == total for e in events)
    done = [e.done for e in events]
    assert done[0] == 0 and done[-1] == total
    assert all(x < y for x, y in itertools.pairwise(done))  # strictly increasing
    assert len(events) == 1 + la.plan([a], chunk_bytes=640).passes[0].tile_count
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    # No estimate before anything is done; then numbers, reaching 0 at the end.
    assert events[0].eta is None
    assert all(isinstance(e.eta, float) and e.eta >= 0 for e in events[1:])
    assert events[-1].eta == 0.0


def test_progress_of_a_two_stage_evaluation_counts_both_passes():
    events: list[la.Progress] = []
    a = la.asarray(DATA)
    [anomalies] = la.ndarrays([a - la.mean(a, 0)], chunk_bytes=640, progress=events.append,
                              workers=3)
    np.testing.assert_allclose(anomalies, DATA - DATA.mean(0), rtol=1e-12, atol=1e-9)
    assert events[0].done == 0 and events[-1].done == events[-1].total == 2 * DATA.nbytes
    assert [e.done for e in events] == sorted({e.done for e in events})


def test_progress_event_eta_arithmetic():
    assert la.Progress(0, 100, 0.0).eta is None
    assert la.Progress(25, 100, 2.0).eta == pytest.approx(6.0)
    assert la.Progress(100, 100, 8.0).eta == 0.0


def test_progress_of_constants_reads_nothing():
    events: list[la.Progress] = []
    [result] = la.ndarrays([la.zeros((10, 10)) + 1], progress=events.append)
    np.testing.assert_array_equal(result, np.ones((10, 10)))
    assert [(e.done, e.total) for e in events] == [(0, 0)]


def test_progress_true_shows_a_tqdm_bar(capsys):
    a = la.asarray(DATA)
    [total] = la.ndarrays([la.sum(a)], chunk_bytes=640, progress=True)
    np.testing.assert_allclose(total, DATA.sum(), rtol=1e-12)
    err = capsys.readouterr().err
    assert "lazyarray" in err
    assert "100%" in err
    assert "20.0k/20.0k" in err and "B/s" in err  # 20 KiB of 20 KiB, in bytes


def test_progress_false_prints_nothing(capsys):
    la.ndarrays([la.sum(la.asarray(DATA))], chunk_bytes=640, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_from_set_options_and_keyword_override():
    context: list[la.Progress] = []
    keyword: list[la.Progress] = []
    a = la.asarray(DATA)
    with la.set_options(progress=context.append, chunk_bytes=640):
        first = a.sum().ndarray()
        second = a.sum().ndarray(progress=keyword.append)
    np.testing.assert_allclose([first, second], [DATA.sum()] * 2, rtol=1e-12)
    assert context and context[-1].done == DATA.nbytes
    assert keyword and keyword[-1].done == DATA.nbytes
    assert len(context) == len(keyword)  # the keyword's run did not also report to the context's


def test_options_as_keywords_override_set_options():
    a = la.asarray(DATA)
    with la.set_options(chunk_bytes=2**20, memory_limit=2**30, workers=1):
        assert get_options().workers == 1
        # The plan follows the keywords, the context where none is given.
        plan = la.plan([la.mean(a, 0)], chunk_bytes=640, workers=3)
        assert plan.workers == 3 and plan.memory_limit == 2**30
        assert plan.passes[0].tile == (2, 40)
        assert la.plan([la.mean(a, 0)]).passes[0].tile == (64, 40)
        assert la.plan([la.mean(a, 0)]).workers == 1
        with pytest.raises(la.MemoryBudgetError, match="memory_limit is 4 B"):
            la.ndarrays([la.mean(a, 0)], memory_limit=4)  # not one float64 fits
        [mean] = la.ndarrays([la.mean(a, 0)], chunk_bytes=640, workers=3)
    np.testing.assert_allclose(mean, DATA.mean(0), rtol=1e-12)
    assert get_options().chunk_bytes == 32 * 2**20  # restored


STATISTICS = {
    "mean": (lambda x: la.mean(x, 0), lambda x: x.mean(0)),
    "std": (lambda x: la.std(x, 0), lambda x: x.std(0)),
    "var over all": (lambda x: la.var(x), lambda x: x.var()),
    "sum over axis 1": (lambda x: la.sum(x, 1), lambda x: x.sum(1)),
    "nanmean": (lambda x: la.nanmean(x, 0), lambda x: np.nanmean(x, 0)),
    "argmax": (lambda x: la.argmax(x, 0), lambda x: x.argmax(0)),
}


@pytest.mark.parametrize("budget", ["chunk_bytes", "memory_limit"])
def test_reductions_are_bit_identical_for_any_number_of_workers(budget):
    data = np.random.default_rng(1).standard_normal((600, 20, 10)) * 1e4 + 3
    data[::7, 3] = np.nan
    a = la.asarray(data)
    # Tiles sized by chunk_bytes, or by memory_limit (which once made tiles,
    # and so the order partial results merge in, depend on workers).
    options = {"chunk_bytes": 4000} if budget == "chunk_bytes" else {"memory_limit": 2**19}
    lazy = [make(a) for make, _ in STATISTICS.values()]
    assert la.plan(lazy, **options).passes[0].tile_count > 4
    runs = {workers: la.ndarrays(lazy, workers=workers, **options) for workers in (1, 2, 3)}
    for name, one, two, three in zip(STATISTICS, runs[1], runs[2], runs[3]):
        assert one.tobytes() == two.tobytes() == three.tobytes(), name
    with np.errstate(invalid="ignore"):
        for (name, (_, expected)), actual in zip(STATISTICS.items(), runs[1]):
            np.testing.assert_allclose(actual, expected(data), rtol=1e-10, err_msg=name)


def test_saved_arrays_are_identical_for_any_number_of_workers():
    a = la.asarray(DATA)
    outs = {w: np.empty(DATA.shape) for w in (1, 3)}
    for workers, out in outs.items():
        la.save([la.sqrt(abs(a)) * 3], [out], chunk_bytes=320, workers=workers)
    assert outs[1].tobytes() == outs[3].tobytes()
    np.testing.assert_array_equal(outs[1], np.sqrt(abs(DATA)) * 3)
