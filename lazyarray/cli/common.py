"""What the subcommands share: the usage error, sizes given in words, and glob expansion."""

from __future__ import annotations

import glob
import os
import re

__all__ = ["UsageError", "expand_paths", "parse_size"]


class UsageError(Exception):
    """A mistake of the command line's user: printed as one line, exit status 2.

    Bad arguments, paths that do not exist or hold no array, unknown
    variables, and files that cannot be mosaicked together.
    """


_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def parse_size(text: str) -> int:
    """A size in bytes from ``text``: a number and an optional unit.

    Decimal units (``kB``, ``MB``, ``GB``, ``TB``, or ``K``, ``M``, ``G``,
    ``T``) are powers of 1000, binary units (``KiB``, ``MiB``, ``GiB``,
    ``TiB``) powers of 1024, case aside.

    Raises
    ------
    UsageError
        For anything else, or a size below one byte.

    Examples
    --------
    >>> parse_size("512MiB"), parse_size("1.5 GB"), parse_size("4096")
    (536870912, 1500000000, 4096)
    >>> parse_size("lots")
    Traceback (most recent call last):
    ...
    lazyarray.cli.common.UsageError: expected a size such as 512MiB, 2GB or 1000000 (bytes), found 'lots'
    """
    found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = found and found.group(2).lower()
    if not found or unit not in _UNITS:
        raise UsageError(f"expected a size such as 512MiB, 2GB or 1000000 (bytes), found {text!r}")
    size = int(float(found.group(1)) * _UNITS[unit])
    if size < 1:
        raise UsageError(f"a size must be at least 1 byte, found {text!r}")
    return size


def expand_paths(patterns: list[str]) -> list[str]:
    """The paths ``patterns`` name: each existing path as it is, each glob pattern
    (one the shell left quoted) expanded and sorted.

    Raises
    ------
    UsageError
        For a path that does not exist, or a pattern that matches nothing.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> for name in ("b.nc", "a.nc"):
    ...     open(os.path.join(folder.name, name), "w").close()
    >>> [os.path.basename(p) for p in expand_paths([os.path.join(folder.name, "*.nc")])]
    ['a.nc', 'b.nc']
    >>> folder.cleanup()
    """
    found: list[str] = []
    for pattern in patterns:
        if os.path.exists(pattern):
            found.append(pattern)
        elif glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise UsageError(f"{pattern}: no file matches this pattern")
            found.extend(matches)
        else:
            raise UsageError(f"{pattern}: no such file or directory")
    return found
