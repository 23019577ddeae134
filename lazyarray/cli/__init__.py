"""The ``lazyarray`` command line: ``lazyarray info`` and ``lazyarray stats``.

Installed as the console script ``lazyarray``, and runnable as
``python -m lazyarray``. See ``docs/cli.md``.

* :mod:`.info`: what variables hold and how lazyarray reads them;
* :mod:`.stats`: statistics along an axis of a variable mosaicked from many
  files, streamed into a netCDF-4 file or a Zarr store;
* :mod:`.inputs`, :mod:`.outputs`: the files read and written;
* :mod:`.common`: the usage error, sizes, globs.

A mistake of the user (bad arguments, a missing file, an unknown variable,
files that cannot be mosaicked) prints one line, ``lazyarray: error: ...``,
on stderr and exits with status 2; other errors print one line too and exit
with status 1. ``--debug`` shows the traceback instead.

Examples
--------
>>> main(["stats", "--op", "mean", "--axis", "time", "missing.nc", "-o", "out.nc"])
2
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any, NoReturn

import lazyarray as la

from .buildkernels import add_parser as add_build_kernels_parser
from .buildkernels import run_build_kernels
from .common import UsageError, parse_size
from .info import run_info
from .stats import OPERATIONS, run_stats

__all__ = ["main", "make_parser"]

_DESCRIPTION = "Look into netCDF-4, HDF5 and Zarr files, and compute statistics of them with lazyarray."

_EXAMPLES = """\
examples:
  lazyarray info sst.nc                        every variable of a file
  lazyarray info sst.nc:sst store.zarr:tas     one variable of each
  lazyarray info --json sst.nc:sst             the same, as JSON

  lazyarray stats --op mean,std --axis time tas_day_*.nc -o tas_stats.nc
  lazyarray stats --op min,max,count --axis 0 --var tas 'data/*.nc' -o range.zarr
  lazyarray stats --op mean --axis time --explain tas_day_*.nc -o tas_mean.nc
"""

_STATS_EXAMPLES = """\
examples:
  lazyarray stats --op mean,std --axis time tas_day_*.nc -o tas_stats.nc
      mean and standard deviation over time of 'tas' mosaicked from every
      file, written as tas_mean and tas_std to tas_stats.nc
  lazyarray stats --op mean --axis time --var pr --mdtol 0.2 'pr/*.nc' -o pr.zarr
      a quoted glob is expanded (sorted); points with more than 20 % of
      values missing are missing in the result; the output is a Zarr store
  lazyarray stats --op mean,max --axis time --explain tas_day_*.nc -o out.nc
      the evaluation's plan, reading no data

The reduced axis is kept with length 1, its coordinate the middle of the cell
the statistic covers, with cell bounds (<axis>_bnds), as cdo's timmean does.
"""


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return number


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are one line like the command's other errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"lazyarray: error: {message} (see {self.prog} --help)\n")


def make_parser() -> argparse.ArgumentParser:
    """The ``lazyarray`` argument parser, with its ``info`` and ``stats`` subcommands."""
    parser = _Parser(
        prog="lazyarray", description=_DESCRIPTION, epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lazyarray {la.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of one line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = commands.add_parser(
        "info", help="describe variables: shape, storage, CF attributes, decoding",
        description="Describe variables of netCDF-4/HDF5 files and Zarr stores: dimensions, "
                    "dtypes, chunks, filters, fill value, CF attributes and what lazyarray's "
                    "decoding does with them, sizes, and whether the direct reader applies.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    info.add_argument("targets", nargs="+", metavar="PATH[:VARIABLE]",
                      help="a file or store, with a variable's name after a colon (default: "
                           "every array variable)")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                      help=argparse.SUPPRESS)

    stats = commands.add_parser(
        "stats", help="statistics along an axis, streamed to netCDF-4 or Zarr",
        description="Statistics along one axis of a variable mosaicked from many files, "
                    "computed in one pass in bounded memory and written to a netCDF-4 file "
                    "(.nc) or a Zarr store (.zarr). Results are named <var>_<op>.",
        epilog=_STATS_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    stats.add_argument("inputs", nargs="+", metavar="IN",
                       help="input files or stores, mosaicked along the axis in this order; "
                            "a quoted glob is expanded and sorted")
    stats.add_argument("-o", "--output", required=True, metavar="OUT",
                       help="the output: *.nc (netCDF-4) or *.zarr (Zarr store)")
    stats.add_argument("--op", required=True, metavar="OPS",
                       help=f"comma-separated statistics among {','.join(OPERATIONS)}")
    stats.add_argument("--axis", required=True,
                       help="the axis reduced: a dimension's name, or its number")
    stats.add_argument("--var", help="the variable (default: the one data variable with the axis)")
    stats.add_argument("--mdtol", type=float, default=None,
                       help="largest fraction of missing values along the axis for which a "
                            "result is computed (default 1: missing only if all are; count "
                            "ignores it)")
    stats.add_argument("--ddof", type=int, default=0,
                       help="delta degrees of freedom of std and var (default 0, as numpy; "
                            "cdo's timstd is 0 too, timstd1 is 1)")
    stats.add_argument("--memory-limit", type=_size, default=None, metavar="SIZE",
                       help="budget for data in flight, e.g. 512MiB (default: lazyarray's, "
                            f"{la.get_options().memory_limit // 2**20}MiB)")
    stats.add_argument("--workers", type=_positive, default=None, metavar="N",
                       help="worker threads (default: one per core)")
    stats.add_argument("--explain", action="store_true",
                       help="print the plan of the evaluation and exit, reading no data")
    stats.add_argument("--no-progress", action="store_true", help="show no progress bar")
    stats.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    stats.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS)
    add_build_kernels_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status.

    0 on success, 2 for a mistake of the user (argparse's status for bad
    usage), 1 for any other error; errors print one line on stderr, or their
    traceback with ``--debug``.
    """
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse exits for --help, --version and bad usage
        return int(exit.code or 0) if not isinstance(exit.code, str) else 2
    debug = bool(getattr(args, "debug", False))
    try:
        if args.command == "info":
            return run_info(args.targets, args.json, sys.stdout)
        if args.command == "build-kernels":
            return run_build_kernels(args, sys.stdout)
        return run_stats(args, sys.stdout, argv)
    except (UsageError, la.MemoryBudgetError) as error:
        # A budget too small for the data is a bad --memory-limit: the user's to fix.
        if debug:
            traceback.print_exc()
        print(f"{parser.prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one place every error becomes a line
        if debug:
            traceback.print_exc()
        message = f"{type(error).__name__}: {error}"
        print(f"{parser.prog}: error: {_one_line(message)}", file=sys.stderr)
        return 1


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())
