"""``lazyarray build-kernels``: compile the fused kernels ahead of time for this machine.

A new process then loads the kernels in milliseconds, without numba (see
:mod:`lazyarray.kernelcache` and ``docs/performance.md``). Run it once per
machine type (or in a cluster image, on the nodes' CPU) after installing or
upgrading lazyarray, numba or numpy; it says where the build went and
keeps a build that is up to date.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="lazyarray")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["build-kernels", "--dtypes", "f4,f8", "--jobs", "2"])
>>> args.dtypes, args.jobs, args.force
('f4,f8', 2, False)
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from .. import kernelcache, kernels
from .common import UsageError

__all__ = ["add_parser", "run_build_kernels"]

_EXAMPLES = """\
examples:
  lazyarray build-kernels                     every kernel, into ~/.cache/lazyarray/kernels
  lazyarray build-kernels --dtypes f4,f8      float data only (faster to build)
  LAZYARRAY_KERNELS_DIR=/opt/lazyarray-kernels lazyarray build-kernels
                                              into a shared folder (a cluster image); the
                                              processes that use it set the same variable
"""


def add_parser(commands: Any) -> None:
    """Add the ``build-kernels`` subcommand to ``commands`` (argparse's subparsers)."""
    command = commands.add_parser(
        "build-kernels", help="compile the fused reduction kernels ahead of time for this machine",
        description="Compile lazyarray's fused reduction kernels with numba.pycc for this "
                    "machine's CPU, into the kernel cache ($LAZYARRAY_KERNELS_DIR, by default "
                    "~/.cache/lazyarray/kernels). New processes then load them in "
                    "milliseconds without importing numba. Needs numba and a C compiler.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--dir", default=None, metavar="FOLDER",
                         help="the cache root (default: $LAZYARRAY_KERNELS_DIR, or "
                              "~/.cache/lazyarray/kernels)")
    command.add_argument("--dtypes", default=None, metavar="LIST",
                         help="comma-separated data dtypes to compile for, among "
                              f"{','.join(kernelcache.DATA_DTYPES)} (default: all; u1 serves "
                              "booleans too)")
    command.add_argument("--jobs", type=int, default=None, metavar="N",
                         help="modules compiled in parallel processes (default: one per CPU)")
    command.add_argument("--force", action="store_true",
                         help="compile even if an up-to-date build is there, and replace it")
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS)


def run_build_kernels(args: argparse.Namespace, out: TextIO) -> int:
    """Build the kernels as ``args`` say, reporting progress on ``out``; the exit status."""
    if not kernels.available():
        raise UsageError("build-kernels needs numba: pip install lazyarray[fast]")
    dtypes = kernelcache.DATA_DTYPES
    if args.dtypes:
        dtypes = tuple(d.strip() for d in args.dtypes.split(",") if d.strip())
        unknown = [d for d in dtypes if d not in kernelcache.DATA_DTYPES]
        if unknown:
            raise UsageError(f"--dtypes: expected dtypes among "
                             f"{','.join(kernelcache.DATA_DTYPES)}, found {','.join(unknown)}")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: expected a positive integer, found {args.jobs}")

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    kernelcache.build(args.dir, dtypes=dtypes, jobs=args.jobs, force=args.force, log=say)
    return 0

