"""Writers never destroy, never collide and leave nothing behind (issue 13, points 1 and 2).

Each test reproduces a finding of issue 13 (numbered as there) and checks the
values written against numpy. Faults are real: child processes killed by
SIGKILL, SIGTERM and SIGINT at random moments, a full tmpfs, threads and
processes racing for one path.
"""

from __future__ import annotations

import errno
import gc
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from test_writers import FailingArray

import lazyarray as la
from lazyarray import publish
from lazyarray.testing import CountingArray

ROOT = Path(__file__).resolve().parents[1]


def data(shape=(12, 10, 8), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("f4")


def read_hdf5(path, name="x"):
    with h5py.File(path, "r") as f:
        return f[name][...]


def read_zarr(path):
    return zarr.open_array(str(path), mode="r")[...]


def temporaries(folder):
    """Hidden partial outputs, as lazyarray names them now or named them before."""
    return sorted(p.name for p in Path(folder).iterdir()
                  if p.name.startswith(".") and p.name.endswith((".partial", ".old")))


def run_python(script, *args, timeout=60):
    """Run ``script`` in a new interpreter (a crash is a return code, not ours)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          check=False)


# Finding 1: a file never replaces a directory; a store replaces only a store.

@pytest.mark.parametrize("suffix", ["", "/", "/."])
def test_to_hdf5_never_replaces_a_directory(tmp_path, suffix):
    results = tmp_path / "results"
    (results / "sub").mkdir(parents=True)
    (results / "sub" / "keep.txt").write_text("precious")
    source = CountingArray(np.arange(4.0))
    with pytest.raises(IsADirectoryError, match="results.* is a directory"):
        la.to_hdf5(str(results) + suffix, {"x": la.asarray(source)}, overwrite=True)
    assert (results / "sub" / "keep.txt").read_text() == "precious"
    assert source.reads == 0 and temporaries(tmp_path) == []


def test_to_hdf5_path_with_trailing_slash_is_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError):
        la.to_hdf5(f"{tmp_path}/new.h5/", {"x": np.arange(3)})
    assert list(tmp_path.iterdir()) == []


def test_to_zarr_refuses_anything_but_a_store(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    plain = tmp_path / "plain.zarr"
    plain.write_text("a file")
    link = tmp_path / "link.zarr"
    zarr.create_array(str(tmp_path / "real.zarr"), shape=(2,), dtype="i8")
    link.symlink_to(tmp_path / "real.zarr")
    source = CountingArray(np.arange(4.0))
    for path, message in [(folder, "not a Zarr store"), (plain, "not a directory"),
                          (link, "symbolic link")]:
        with pytest.raises(FileExistsError, match=message):
            la.to_zarr(path, la.asarray(source), overwrite=True)
    assert (folder / "keep.txt").read_text() == "precious"
    assert plain.read_text() == "a file" and link.is_symlink()
    assert source.reads == 0 and temporaries(tmp_path) == []


def test_to_zarr_replaces_an_empty_directory_and_a_store(tmp_path):
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    a = data()
    la.to_zarr(empty, la.asarray(a) * 2, overwrite=True)
    np.testing.assert_array_equal(read_zarr(empty), a * 2)
    la.to_zarr(empty, la.asarray(a) - 1, overwrite=True)
    np.testing.assert_array_equal(read_zarr(empty), a - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.zarr"]


def test_replacing_a_store_always_leaves_one_at_the_path(tmp_path):
    path = tmp_path / "s.zarr"
    a = data((20, 30))
    la.to_zarr(path, a)
    missing = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            if not (path / "zarr.json").exists():
                missing.append(time.perf_counter())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for k in range(10):
            la.to_zarr(path, la.asarray(a) + k, overwrite=True, chunk_bytes=800)
    finally:
        done.set()
        watcher.join()
    assert missing == []
    np.testing.assert_array_equal(read_zarr(path), a + 9)


def test_replacing_a_store_without_exchange(tmp_path, renames, monkeypatch):
    path = tmp_path / "s.zarr"
    a = data((20, 30))
    la.to_zarr(path, a)
    la.to_zarr(path, la.asarray(a) * 2, overwrite=True, chunk_bytes=800)
    np.testing.assert_array_equal(read_zarr(path), a * 2)
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]
    # The new store cannot go in: the old one goes back.
    real_rename = os.rename

    def rename(source, destination):
        if ".partial" in str(source):
            raise PermissionError(errno.EACCES, "refused", str(destination))
        real_rename(source, destination)

    monkeypatch.setattr(publish, "_renameat2", lambda *args: False)
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(PermissionError, match="refused"):
        la.to_zarr(path, la.asarray(a) * 3, overwrite=True)
    np.testing.assert_array_equal(read_zarr(path), a * 2)
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]


# Finding 7: concurrent writers of one new path: one wins, the others fail.

@pytest.fixture(params=["renameat2", "fallback"])
def renames(request, monkeypatch):
    """Publishing with renameat2, and with what is used where there is none."""
    if request.param == "fallback":
        monkeypatch.setattr(publish, "_renameat2", lambda *args: False)
    return request.param


@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
def test_concurrent_threads_one_winner(tmp_path, writer, renames):
    path = tmp_path / ("same.h5" if writer == "hdf5" else "same.zarr")
    count = 4
    barrier = threading.Barrier(count)
    outcomes: dict[int, object] = {}
    a = data()

    def write(k):
        def meet(event):  # every writer has passed the up-front check before any publishes
            if event.done == 0:
                barrier.wait(timeout=20)

        try:
            if writer == "hdf5":
                la.to_hdf5(path, {"x": la.asarray(a) + k}, progress=meet)
            else:
                la.to_zarr(path, la.asarray(a) + k, progress=meet)
            outcomes[k] = "won"
        except FileExistsError as error:
            outcomes[k] = error

    threads = [threading.Thread(target=write, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, v in outcomes.items() if v == "won"]
    assert len(winners) == 1 and len(outcomes) == count
    assert all("another writer" in str(v) for v in outcomes.values() if v != "won")
    values = read_hdf5(path) if writer == "hdf5" else read_zarr(path)
    np.testing.assert_array_equal(values, a + winners[0])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


CONTENDER = """
import sys, time, numpy as np, lazyarray as la
from pathlib import Path
writer, path, k, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
a = np.random.default_rng(0).normal(size=(12, 10, 8)).astype("f4")
meeting = Path(path).parent / "meeting"
def meet(event):
    if event.done == 0:
        (meeting / str(k)).touch()
        deadline = time.time() + 20
        while len(list(meeting.iterdir())) < count and time.time() < deadline:
            time.sleep(0.005)
try:
    if writer == "hdf5":
        la.to_hdf5(path, {"x": la.asarray(a) + k}, progress=meet)
    else:
        la.to_zarr(path, la.asarray(a) + k, progress=meet)
    print("won")
except FileExistsError:
    print("lost")
"""


# Processes race as threads do (test_concurrent_threads_one_winner runs both
# writers fast); the Zarr race between processes runs with the slow tests.
@pytest.mark.parametrize("writer", ["hdf5", pytest.param("zarr", marks=pytest.mark.slow)])
def test_concurrent_processes_one_winner(tmp_path, writer):
    path = tmp_path / ("same.h5" if writer == "hdf5" else "same.zarr")
    (tmp_path / "meeting").mkdir()
    count = 3
    children = [subprocess.Popen([sys.executable, "-c", CONTENDER, writer, str(path), str(k),
                                  str(count)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
                for k in range(count)]
    said = [child.communicate(timeout=60)[0].strip() for child in children]
    assert sorted(said) == ["lost"] * (count - 1) + ["won"]
    values = read_hdf5(path) if writer == "hdf5" else read_zarr(path)
    np.testing.assert_array_equal(values, data() + said.index("won"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["meeting", path.name])


# Finding 8: data and directory are synced before the rename.

@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
def test_fsync_before_publishing(tmp_path, monkeypatch, writer):
    events: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def recorded(function):
        def publish_(temporary, path, *args):
            events.append(("publish", str(temporary)))
            return function(temporary, path, *args)
        return publish_

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(publish, "_publish_file", recorded(publish._publish_file))
    monkeypatch.setattr(publish, "_publish_store", recorded(publish._publish_store))
    a = data()
    if writer == "hdf5":
        path = tmp_path / "out.h5"
        la.to_hdf5(path, {"x": a * 3})
        np.testing.assert_array_equal(read_hdf5(path), a * 3)
    else:
        path = tmp_path / "out.zarr"
        la.to_zarr(path, la.asarray(a) * 3, chunk_bytes=800)
        np.testing.assert_array_equal(read_zarr(path), a * 3)
    [at] = [n for n, (what, _) in enumerate(events) if what == "publish"]
    temporary = events[at][1]
    before = [p for _, p in events[:at]]
    assert before[-1] == str(tmp_path)  # the directory last, after all the data
    if writer == "hdf5":
        assert before == [temporary, str(tmp_path)]
    else:
        written = {str(p) for p in Path(path).rglob("*")}
        synced = {p.replace(temporary, str(path)) for p in before[:-1]}
        assert synced == written | {str(path)}
        assert before[-2] == temporary  # the store's own directory after its contents
    assert events[at + 1:] == [("fsync", str(tmp_path))]  # and the rename made durable


@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
def test_fsync_false_publishes_without_syncing(tmp_path, monkeypatch, writer):
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    monkeypatch.setattr(os, "fdatasync", synced.append)
    a = data()
    if writer == "hdf5":
        path = tmp_path / "out.h5"
        la.to_hdf5(path, {"x": a * 3}, fsync=False)
        np.testing.assert_array_equal(read_hdf5(path), a * 3)
    else:
        path = tmp_path / "out.zarr"
        la.to_zarr(path, la.asarray(a) * 3, fsync=False)
        np.testing.assert_array_equal(read_zarr(path), a * 3)
    assert synced == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def _descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("fails", [False, True], ids=["written", "failed"])
def test_writeback_thread_stops_and_closes_its_file(tmp_path, fails):
    """The thread that sends the output to the disk while it is written ends with
    the write, whether it succeeds or fails, and leaves no descriptor open."""
    before = _descriptors()
    threads = threading.active_count()
    path = tmp_path / "out.h5"
    source = la.asarray(data()) * 2
    if fails:
        zeros = np.zeros(source.shape, source.dtype)
        source = source + la.asarray(FailingArray(zeros, fail_on=4, error=OSError("disk on fire")))
        with pytest.raises(OSError, match="disk on fire"):
            la.to_hdf5(path, {"x": source}, chunk_bytes=64)
        assert not path.exists()
    else:
        la.to_hdf5(path, {"x": source}, chunk_bytes=64)
        np.testing.assert_array_equal(read_hdf5(path), data() * 2)
    assert threading.active_count() == threads
    assert _descriptors() == before


def test_writeback_reports_a_failed_fdatasync(tmp_path, monkeypatch):
    """Where there is no sync_file_range, fdatasync sends the data; an error it
    reports is raised, since the final fsync may no longer see it."""
    path = tmp_path / "file"
    path.write_bytes(b"x" * 4096)

    def failing(descriptor):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(publish, "_c_library", lambda: False)
    monkeypatch.setattr(os, "fdatasync", failing)
    writeback = publish._Writeback(path, interval=0.01)
    writeback.start()
    time.sleep(0.1)
    with pytest.raises(OSError) as raised:
        writeback.close()
    assert raised.value.errno == errno.EIO


# Finding 4: stale temporaries of dead processes are removed by the next write.

def test_next_write_removes_only_stale_temporaries(tmp_path):
    me = publish.Owner.current()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    names = {
        "dead_pid": f".a.h5.lazyarray-{me.host}-{dead}-12345-0123456789ab.partial",
        "reused_pid": f".b.zarr.lazyarray-{me.host}-{me.pid}-{me.start + 7}-0123456789ab.partial",
        "alive": publish.temporary_path(tmp_path / "c.h5").name,
        "other_host": ".d.h5.lazyarray-elsewhere-1-2-0123456789ab.partial",
        "not_ours": ".e.h5.0123456789ab.partial",
        "restored": f".f.zarr.lazyarray-{me.host}-{dead}-12345-0123456789ab.old",
    }
    for key, name in names.items():
        if key in ("reused_pid", "restored"):
            zarr.create_array(str(tmp_path / name), shape=(3,), dtype="i8")[:] = [4, 5, 6]
        else:
            (tmp_path / name).write_bytes(b"x" * 1000)
    a = data()
    la.to_hdf5(tmp_path / "new.h5", {"x": a})
    np.testing.assert_array_equal(read_hdf5(tmp_path / "new.h5"), a)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([names["alive"], names["other_host"], names["not_ours"], "f.zarr",
                           "new.h5"])
    assert read_zarr(tmp_path / "f.zarr").tolist() == [4, 5, 6]  # the store moved aside is back


# Finding 5: KeyboardInterrupt removes the temporary and is raised as itself.

@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
@pytest.mark.parametrize("existing", [False, True])
def test_keyboard_interrupt_cleans_up(tmp_path, writer, existing):
    a = data((40, 10, 8))
    path = tmp_path / ("out.h5" if writer == "hdf5" else "out.zarr")
    if existing:
        (la.to_hdf5(path, {"x": -a}) if writer == "hdf5" else la.to_zarr(path, -la.asarray(a)))
    seen = []

    def interrupt(event):
        seen.append(event)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        if writer == "hdf5":
            la.to_hdf5(path, {"x": la.asarray(a) * 2}, overwrite=True, chunk_bytes=800,
                       progress=interrupt)
        else:
            la.to_zarr(path, la.asarray(a) * 2, overwrite=True, chunk_bytes=800,
                       progress=interrupt)
    assert len(seen) == 3
    assert [p.name for p in tmp_path.iterdir()] == ([path.name] if existing else [])
    if existing:
        np.testing.assert_array_equal(read_hdf5(path) if writer == "hdf5" else read_zarr(path),
                                      -a)


INTERRUPTED = """
import os, random, signal, sys, threading, numpy as np, h5py, zarr, lazyarray as la
writer, folder, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Ctrl-C raises KeyboardInterrupt even where this process inherited SIGINT
# ignored (a background job of a shell without job control, as some CI runs).
signal.signal(signal.SIGINT, signal.default_int_handler)
a = np.arange(400 * 100 * 100, dtype="f4").reshape(400, 100, 100)
rng = random.Random(trials)
for trial in range(trials):
    path = os.path.join(folder, f"t{trial}." + writer)
    # Tiles of several chunks, so Zarr has several writes in flight when Ctrl-C comes.
    timer = threading.Timer(rng.uniform(0, 0.1), os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        if writer == "zarr":
            la.to_zarr(path, la.asarray(a) + 1, chunk_bytes=2**22)
        else:
            la.to_hdf5(path, {"x": la.asarray(a) + 1}, chunk_bytes=2**22)
        timer.cancel()
        outcome = "done"
    except KeyboardInterrupt:
        outcome = "interrupted"
    timer.join()
    left = sorted(n for n in os.listdir(folder) if n.startswith("."))
    assert left == [], (outcome, left)
    if os.path.exists(path):
        if writer == "zarr":
            values = zarr.open_array(path, mode="r")[...]
        else:
            with h5py.File(path, "r") as f:
                values = f["x"][...]
        assert np.array_equal(values, a + 1), trial
    else:
        assert outcome == "interrupted"
    print(outcome, flush=True)
"""


@pytest.mark.parametrize("writer", ["zarr", "hdf5"])
def test_ctrl_c_during_the_writes(tmp_path, writer, trials=4):
    """Real SIGINTs at random moments: KeyboardInterrupt, and nothing left (finding 5)."""
    done = run_python(INTERRUPTED, writer, tmp_path, trials)
    assert done.returncode == 0, done.stderr[-3000:]
    said = done.stdout.split()
    assert len(said) == trials and set(said) <= {"done", "interrupted"}
    assert "interrupted" in said


@pytest.mark.slow
@pytest.mark.parametrize("writer", ["zarr", "hdf5"])
def test_ctrl_c_during_the_writes_many_trials(tmp_path, writer):
    test_ctrl_c_during_the_writes(tmp_path, writer, trials=40)


def test_h5py_objects_are_closed_before_the_error_leaves(tmp_path, monkeypatch):
    captured = []

    def failing_save(nodes, datasets, **kwargs):
        captured.extend(datasets)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("lazyarray.writers.save", failing_save)
    with pytest.raises(OSError) as caught:
        la.to_hdf5(tmp_path / "x.h5", {"x": data(), "y": data(seed=1)}, compression="lzf")
    assert caught.value.errno == errno.ENOSPC and len(captured) == 2
    assert not any(d.id.valid for d in captured)  # datasets closed, and the file with them
    assert list(tmp_path.iterdir()) == []
    del caught
    gc.collect()


# Findings 4, 5: processes killed at random moments leave the old or new output, or none.

KILLED = """
import signal, sys, numpy as np, lazyarray as la
writer, path, overwrite = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
# SIGINT raises KeyboardInterrupt even if this process inherited it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
shape = tuple(map(int, sys.argv[4].split(",")))
a = np.arange(np.prod(shape), dtype="f4").reshape(shape)
# What the writer imports on first use (lazyarray.writers, Zarr and asyncio),
# imported now: the signal is meant for the write, not for the imports.
import lazyarray.writers, zarr, asyncio
print("ready", flush=True)
if writer == "hdf5":
    la.to_hdf5(path, {"x": la.asarray(a) + 1}, overwrite=overwrite, chunk_bytes=20000,
               compression="gzip", compression_opts=1)
else:
    la.to_zarr(path, la.asarray(a) + 1, overwrite=overwrite, chunk_bytes=16000)
print("done", flush=True)
"""

# Writes that take about 0.2 s (HDF5) and 0.5 s (Zarr) alone, and the window
# after "ready" in which the signal comes (children run four at a time).
KILL_SHAPE = {"hdf5": (100, 100, 100), "zarr": (60, 50, 40)}
KILL_WINDOW = {"hdf5": 0.3, "zarr": 0.7}


def expected_killed(writer):
    shape = KILL_SHAPE[writer]
    return np.arange(np.prod(shape), dtype="f4").reshape(shape) + 1


def kill_trials(tmp_path, writer, signals, seed):
    """Run ``writer`` in one child per signal, each sent its signal at a random moment."""
    rng = random.Random(seed)
    old = np.full(KILL_SHAPE[writer], -1, "f4")
    cases = []
    for trial, signum in enumerate(signals):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir(parents=True)
        path = folder / ("out.h5" if writer == "hdf5" else "out.zarr")
        replacing = trial % 2 == 1
        if replacing:
            (la.to_hdf5(path, {"x": old}) if writer == "hdf5" else la.to_zarr(path, old))
        cases.append((folder, path, replacing, rng.uniform(0, KILL_WINDOW[writer]), signum))

    def run(folder, path, replacing, delay, signum, outcome):
        shape = ",".join(map(str, KILL_SHAPE[writer]))
        child = subprocess.Popen([sys.executable, "-c", KILLED, writer, str(path),
                                  "1" if replacing else "0", shape], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert child.stdout.readline() == "ready\n"
        time.sleep(delay)
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
        outcome.extend([child.returncode, out, err])

    outcomes: list[list] = [[] for _ in cases]
    threads = [threading.Thread(target=run, args=(*case, outcome))
               for case, outcome in zip(cases, outcomes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished = 0
    for (folder, path, replacing, delay, signum), (code, out, err) in zip(cases, outcomes):
        finished += "done" in out
        if code != 0:
            assert code == -signum, err
        assert "OSError" not in err and "Error" not in err.replace("KeyboardInterrupt", ""), err
        if signum != signal.SIGKILL:  # the process cleaned up itself
            assert temporaries(folder) == [], (delay, err)
        if path.exists():
            values = read_hdf5(path) if writer == "hdf5" else read_zarr(path)
            expected = [expected_killed(writer)] + ([old] if replacing else [])
            assert any(np.array_equal(values, e) for e in expected), delay
        else:
            assert not replacing and "done" not in out
        la.to_hdf5(folder / "next.h5", {"x": np.arange(3)})  # the next write cleans up
        np.testing.assert_array_equal(read_hdf5(folder / "next.h5"), np.arange(3))
        assert temporaries(folder) == []
    return finished


SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]


@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
def test_killed_writers_leave_complete_outputs_or_none(tmp_path, writer):
    # One of each way to die; make test-all tries each 20 times.
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    kill_trials(tmp_path, writer, signals, seed=len(writer))


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("writer", ["hdf5", "zarr"])
def test_killed_writers_many_trials(tmp_path, writer, signum):
    finished = sum(kill_trials(tmp_path / str(group), writer, [signum] * 4,
                               seed=100 * group + signum) for group in range(5))
    assert finished < 20  # most signals came during the write


# Findings 5, 6: a full disk removes what was written and raises ENOSPC, without crashing.

@pytest.fixture
def small_tmpfs(tmp_path):
    where = tmp_path / "tmpfs"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 2 MiB tmpfs to fill up (mount refused: "
                    f"{mounted.stderr.strip() or mounted.returncode})")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


FULL_DISK = """
import errno, gc, os, sys, numpy as np, h5py, zarr, lazyarray as la
folder = sys.argv[1]
big = np.random.default_rng(0).normal(size=(100, 100, 100)).astype("f4")  # 4 MB
small = np.arange(3000.0).reshape(30, 100)
modes = {
    "direct": lambda p, a, **k: la.to_hdf5(p + ".h5", {"x": a}, **k),
    "gzip": lambda p, a, **k: la.to_hdf5(p + ".h5", {"x": a}, compression="gzip", **k),
    "lzf": lambda p, a, **k: la.to_hdf5(p + ".h5", {"x": a}, compression="lzf", **k),
    "h5py": lambda p, a, **k: la.to_hdf5(p + ".h5", {"x": a}, direct_io=False, **k),
    "zarr": lambda p, a, **k: la.to_zarr(p + ".zarr", a, **k),
}
def read(path):
    if path.endswith(".h5"):
        with h5py.File(path, "r") as f:
            return f["x"][...]
    return zarr.open_array(path, mode="r")[...]
for mode, write in modes.items():
    path = os.path.join(folder, mode)
    try:
        write(path, la.asarray(big) + 1, chunk_bytes=200000)
    except OSError as error:
        assert error.errno == errno.ENOSPC, repr(error)
    else:
        raise AssertionError(mode + ": no error")
    gc.collect()  # the h5py objects the error held are collected without a crash
    assert os.listdir(folder) == [], os.listdir(folder)
    # The process is still usable, the space is back, and a write that fits works.
    write(path, la.asarray(small) * 2, chunk_bytes=8000)
    target = path + (".zarr" if mode == "zarr" else ".h5")
    assert np.array_equal(read(target), small * 2), mode
    (__import__("shutil").rmtree if mode == "zarr" else os.unlink)(target)
    print("ok", mode, flush=True)
"""


def test_full_disk_removes_partial_output_and_raises_enospc(small_tmpfs):
    done = run_python(FULL_DISK, small_tmpfs)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-3000:])
    assert done.stdout.split("\n")[:-1] == [f"ok {m}" for m in
                                            ("direct", "gzip", "lzf", "h5py", "zarr")]
    assert list(small_tmpfs.iterdir()) == []


def test_full_disk_in_process(small_tmpfs):
    a = data((100, 100, 100))
    with pytest.raises(OSError) as caught:
        la.to_zarr(small_tmpfs / "o.zarr", la.asarray(a) + 1, chunk_bytes=200000)
    assert caught.value.errno == errno.ENOSPC
    assert list(small_tmpfs.iterdir()) == []
    b = data((30, 100))
    la.to_hdf5(small_tmpfs / "fits.h5", {"x": la.asarray(b) - 1}, compression="lzf")
    np.testing.assert_array_equal(read_hdf5(small_tmpfs / "fits.h5"), b - 1)


def test_temporary_names_say_who_made_them(tmp_path):
    name = publish.temporary_path(tmp_path / "out.h5").name
    host = publish.Owner.current().host
    assert name.startswith(f".out.h5.lazyarray-{host}-{os.getpid()}-")
    assert name.endswith(".partial") and publish._PATTERN.match(name)["host"] == host
    assert "-" not in host and host.replace("_", "-") in (socket.gethostname(), host)
