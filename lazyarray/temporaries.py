"""Temporaries beside a destination: their names, their owners, and removing stale ones.

A writer creates its output under a temporary name beside the destination
(:func:`temporary_path`), so that nothing is at the destination's name
until :mod:`lazyarray.publish` publishes it. The name says who made it:
``.<name>.lazyarray-<host>-<pid>-<start>-<hex>.partial`` (``.old`` for a
store moved aside while being replaced), where ``<start>`` is the process's
start time in clock ticks since boot (``/proc/<pid>/stat``), so that a later
write can tell whether their owner is still running (:class:`Owner`), even
after its pid was reused. A write removes the temporaries beside its
destination whose owner is gone (:func:`remove_stale`).

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> mine = temporary_path(os.path.join(folder, "out.h5"))
>>> mine.touch()
>>> remove_stale(folder), os.listdir(folder) == [mine.name]  # its owner is alive
([], True)
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "NAME_PATTERN",
    "Owner",
    "remove_path",
    "remove_stale",
    "temporary_path",
]

#: Names of temporaries, whoever made them: the destination's name (cut to
#: 120 characters, ``_NAME_LIMIT``), the owner and a random token.
NAME_PATTERN = re.compile(
    r"^\.(?P<name>.+)\.lazyarray-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)-(?P<start>\d+)"
    r"-(?P<token>[0-9a-f]{12})\.(?P<suffix>partial|old)$"
)
_NAME_LIMIT = 120


def _process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None if there is none.

    Without ``/proc``, 0 for a process that exists (its start is unknown).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0
    except OSError:
        return 0
    # The command name (field 2) is in parentheses and may hold spaces; the
    # state is field 3 and the start time field 22, the 20th after it. A
    # zombie has finished: only its exit status is left to collect.
    fields = stat[stat.rindex(b")") + 2:].split()
    return None if fields[0] == b"Z" else int(fields[19])


@dataclass(frozen=True)
class Owner:
    """The process that made a temporary: host, pid and start time.

    Examples
    --------
    >>> me = Owner.current()
    >>> me.alive(), Owner(me.host, me.pid, me.start + 1).alive()
    (True, False)
    >>> Owner("elsewhere", 1, 0).alive()  # another host's: never judged gone
    True
    """

    host: str
    pid: int
    start: int

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        host = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "localhost"
        return cls(host, pid, _process_start(pid) or 0)

    def alive(self) -> bool:
        """False only for a process of this host that is gone (or whose pid was reused)."""
        if self.host != Owner.current().host:
            return True
        start = _process_start(self.pid)
        return start is not None and (start == self.start or 0 in (start, self.start))


def temporary_path(path: str | os.PathLike[str], suffix: str = "partial") -> Path:
    """A new temporary name beside ``path``, naming this process as its owner.

    Examples
    --------
    >>> name = temporary_path("/data/out.h5").name
    >>> name.startswith(".out.h5.lazyarray-"), name.endswith(".partial")
    (True, True)
    >>> NAME_PATTERN.match(name)["pid"] == str(os.getpid())
    True
    """
    path = Path(path)
    me = Owner.current()
    return path.with_name(f".{path.name[:_NAME_LIMIT]}.lazyarray-{me.host}-{me.pid}-{me.start}"
                          f"-{uuid.uuid4().hex[:12]}.{suffix}")


def remove_path(path: Path) -> None:
    """Remove a file or a tree; what is already gone is no error."""
    if path.is_dir() and not path.is_symlink():
        def gone_is_fine(function: Any, name: str, info: Any) -> None:
            if not isinstance(info[1], FileNotFoundError):
                raise info[1]

        shutil.rmtree(path, onerror=gone_is_fine)
    else:
        path.unlink(missing_ok=True)


def remove_stale(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the temporaries in ``directory`` whose owner process is gone.

    Only names that match the temporaries' pattern and were made on this host
    by a process that no longer runs (or whose pid now belongs to a process
    that started at another time) are touched. A store that was moved aside
    (``.old``) while being replaced goes back to its name if nothing is there
    now; otherwise it is removed.

    Returns
    -------
    list of str
        The names removed or restored.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> me = Owner.current()
    >>> dead = f".a.h5.lazyarray-{me.host}-{me.pid}-{me.start + 1}-0123456789ab.partial"
    >>> mine = temporary_path(os.path.join(folder, "b.h5")).name
    >>> for name in (dead, mine, "other.partial"):
    ...     open(os.path.join(folder, name), "w").close()
    >>> remove_stale(folder) == [dead]
    True
    >>> sorted(os.listdir(folder)) == sorted([mine, "other.partial"])
    True
    """
    directory = Path(directory)
    removed: list[str] = []
    try:
        with os.scandir(directory) as listing:
            entries = list(listing)
    except OSError:
        return removed
    for entry in entries:
        match = NAME_PATTERN.match(entry.name)
        if match is None:
            continue
        owner = Owner(match["host"], int(match["pid"]), int(match["start"]))
        if owner.alive():
            continue
        path = Path(entry.path)
        target = directory / match["name"]
        try:
            if (match["suffix"] == "old" and len(match["name"]) < _NAME_LIMIT
                    and not os.path.lexists(target)):
                os.rename(path, target)
            else:
                remove_path(path)
        except OSError:
            continue  # another process is cleaning it up, or it cannot be: leave it
        removed.append(entry.name)
    return removed
