"""Tests of lazyarray.options: defaults, set_options nesting and restoring, validation."""

from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np
import pytest

import lazyarray as la
from lazyarray.options import Options, get_options, set_options

MiB = 2**20


def test_defaults():
    options = get_options()
    assert options == Options()
    assert options.memory_limit == 256 * MiB
    assert options.chunk_bytes == 32 * MiB
    assert options.workers == (os.cpu_count() or 1)
    assert options.progress is False


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_options().chunk_bytes = 1  # type: ignore[misc]


def test_set_options_yields_the_options_in_force_and_restores_them():
    before = get_options()
    with set_options(chunk_bytes=4096, workers=1) as options:
        assert options is get_options()
        assert (options.chunk_bytes, options.workers) == (4096, 1)
        assert options.memory_limit == before.memory_limit
    assert get_options() == before


def test_set_options_nests():
    with set_options(chunk_bytes=4096, memory_limit=MiB):
        with set_options(chunk_bytes=64) as inner:
            assert (inner.chunk_bytes, inner.memory_limit) == (64, MiB)  # outer kept
            with set_options(workers=3):
                assert (get_options().chunk_bytes, get_options().workers) == (64, 3)
            assert get_options().workers == Options().workers
        assert (get_options().chunk_bytes, get_options().memory_limit) == (4096, MiB)
    assert get_options() == Options()


def test_set_options_restores_after_an_exception():
    with pytest.raises(RuntimeError, match="inside"), set_options(chunk_bytes=8):
        raise RuntimeError("inside")
    assert get_options() == Options()


def test_get_options_overrides_and_ignores_none():
    with set_options(chunk_bytes=4096):
        assert get_options(chunk_bytes=8).chunk_bytes == 8
        assert get_options(chunk_bytes=None).chunk_bytes == 4096
        assert get_options().chunk_bytes == 4096  # overrides do not stick


@pytest.mark.parametrize("name", ["chunk_size", "memory", "Workers", "progress_bar"])
def test_unknown_names_raise_type_error(name):
    with pytest.raises(TypeError, match=name), set_options(**{name: 1}):
        pass  # pragma: no cover
    with pytest.raises(TypeError, match=name):
        get_options(**{name: 1})
    with pytest.raises(TypeError, match=name):
        la.asarray(np.zeros(2)).ndarray(**{name: 1})
    assert get_options() == Options()


@pytest.mark.parametrize("name", ["memory_limit", "chunk_bytes", "workers"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "8", True, False, [4]], ids=repr)
def test_bad_sizes_raise(name, value):
    with pytest.raises(ValueError, match=name), set_options(**{name: value}):
        pass  # pragma: no cover
    with pytest.raises(ValueError, match=name):
        Options(**{name: value})
    assert get_options() == Options()


@pytest.mark.parametrize("value", ["yes", 1, 0, 2.5], ids=repr)
def test_bad_progress_raises(value):
    with pytest.raises(TypeError, match="progress"):
        Options(progress=value)


@pytest.mark.parametrize("value", [True, False, print, lambda *args: None])
def test_progress_is_a_flag_or_a_callable(value):
    assert Options(progress=value).progress is value


@pytest.mark.parametrize("name", ["memory_limit", "chunk_bytes", "workers"])
def test_numpy_integers_are_sizes(name):
    options = Options(**{name: np.int64(4096)})
    assert getattr(options, name) == 4096 and type(getattr(options, name)) is int
    with set_options(**{name: np.uint16(8)}):
        assert getattr(get_options(), name) == 8


def test_options_do_not_leak_between_threads():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def other():
        with set_options(chunk_bytes=64):
            seen["inside"] = get_options().chunk_bytes
            entered.set()
            release.wait(10)
        seen["after"] = get_options().chunk_bytes

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(10)
    assert get_options() == Options()  # the other thread's block does not apply here
    with set_options(chunk_bytes=128):
        release.set()
        thread.join(10)
        assert get_options().chunk_bytes == 128
    assert seen == {"inside": 64, "after": Options().chunk_bytes}


@pytest.mark.parametrize("name", ["direct_io", "fsync"])
@pytest.mark.parametrize("value", [1, 0, "yes", None], ids=repr)
def test_flags_must_be_booleans(name, value):
    if value is None:  # None means "not given" to get_options, as elsewhere
        assert getattr(get_options(**{name: value}), name) is True
        return
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        Options(**{name: value})
    with pytest.raises(TypeError, match=name), set_options(**{name: value}):
        pass  # pragma: no cover
