"""``lazyarray stats``: statistics along one axis of a variable mosaicked from many files.

The steps:

1. open the variable in each input (``--var``, or the one data variable that
   has the axis), decoded as lazyarray decodes it, and check that the inputs
   can be mosaicked: same dimensions, same shape but along the axis, same
   decoded dtype, same units of the axis's coordinate;
2. mosaic them along the axis (:func:`lazyarray.concatenate`) and build
   every statistic asked for over it, with ``keepdims`` (lazy: nothing read);
3. ``--explain``: print the plan of the evaluation and stop, having read no
   data; otherwise read the coordinates, check that the other axes'
   coordinates agree between inputs, and write the output with lazyarray
   streaming all statistics into it in one pass (:mod:`lazyarray.cli.outputs`).

What the output holds (as ``cdo timmean`` and kin write theirs): the reduced
axis kept with length 1, its coordinate the middle of the cell the
statistic covers, whose bounds (``<axis>_bnds``, or the input's bounds
variable's name) run from the first input cell's start to the last one's
end (from the first to the last coordinate value if the inputs have no
bounds); the other axes and their coordinates as in the first input; one
variable per statistic, ``<var>_<op>`` (``tas_mean``, ``tas_std``), with the
input's attributes but its CF packing (results are written decoded), its
``cell_methods`` extended (``"time: mean"``) and its units adapted (``var``:
squared; ``count``: none); global attributes of the first input, with a
``history`` line.

Examples
--------
>>> parse_ops("mean,std,count")
('mean', 'std', 'count')
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

import lazyarray as la
from lazyarray.array import format_bytes
from lazyarray.planning import make_plan
from lazyarray.writers import output_chunks

from .common import UsageError, expand_paths
from .inputs import Store, Variable, open_store
from .outputs import (
    Coordinate,
    Layout,
    OutputVariable,
    netcdf_fill_value,
    write_netcdf,
    write_zarr,
)

__all__ = ["OPERATIONS", "Operation", "parse_ops", "run_stats"]


@dataclass(frozen=True)
class Operation:
    """A statistic the command offers: lazyarray's function and what CF calls it.

    ``cell_method`` is its CF ``cell_methods`` word (``None``: CF has none);
    ``units`` says what becomes of the input's units: ``"same"``,
    ``"squared"`` or ``"none"``.
    """

    function: Any
    cell_method: str | None
    units: str = "same"
    ddof: bool = False


#: The statistics of ``--op``, by name.
OPERATIONS = {
    "mean": Operation(la.mean, "mean"),
    "std": Operation(la.std, "standard_deviation", ddof=True),
    "var": Operation(la.var, "variance", units="squared", ddof=True),
    "min": Operation(la.min, "minimum"),
    "max": Operation(la.max, "maximum"),
    "sum": Operation(la.sum, "sum"),
    "ptp": Operation(la.ptp, "range"),
    "count": Operation(la.count, None, units="none"),
    "prod": Operation(la.prod, None, units="none"),
}

#: Attributes that describe how values are stored, not what they mean: not carried
#: to results, which are written decoded.
_ENCODING = {"_FillValue", "missing_value", "valid_min", "valid_max", "valid_range",
             "scale_factor", "add_offset", "_Unsigned", "_ARRAY_DIMENSIONS", "coordinates",
             "actual_range"}


def parse_ops(text: str) -> tuple[str, ...]:
    """The statistics a ``--op`` list names, in order, each once.

    Raises
    ------
    UsageError
        For a name that is not one of :data:`OPERATIONS`.
    """
    names: list[str] = []
    for name in (n.strip() for n in text.split(",")):
        if name not in OPERATIONS:
            raise UsageError(f"--op: unknown statistic {name!r}; expected some of "
                             f"{','.join(OPERATIONS)}")
        if name not in names:
            names.append(name)
    return tuple(names)


def _is_coordinate(variable: Variable) -> bool:
    return variable.dims == (variable.name.rsplit("/", 1)[-1],)


def _data_variables(store: Store) -> list[Variable]:
    """Variables that hold data: numbers, not coordinates nor cell bounds."""
    variables = store.variables()
    bounds = {str(v.attrs.get("bounds")) for v in variables if "bounds" in v.attrs}
    return [v for v in variables
            if v.dtype.kind in "biuf" and v.shape and not _is_coordinate(v)
            and v.name not in bounds]


def _choose_variable(store: Store, axis: str) -> str:
    """The one data variable of ``store`` that has ``axis``."""
    candidates = [v for v in _data_variables(store)
                  if (axis in v.dims if not axis.lstrip("-").isdigit()
                      else -len(v.dims) <= int(axis) < len(v.dims))]
    if len(candidates) == 1:
        return candidates[0].name
    if not candidates:
        raise UsageError(f"{store.path}: no data variable has axis {axis!r}; name one with --var")
    names = ", ".join(v.name for v in candidates)
    raise UsageError(f"{store.path}: several data variables have axis {axis!r} ({names}); "
                     "choose one with --var")


def _axis_of(variable: Variable, axis: str) -> int:
    if axis.lstrip("-").isdigit():
        number = int(axis)
        if not -len(variable.dims) <= number < len(variable.dims):
            raise UsageError(f"{variable.where}: --axis {number} is out of range for its "
                             f"{len(variable.dims)} dimensions {variable.dims}")
        return number % len(variable.dims)
    if axis not in variable.dims:
        raise UsageError(f"{variable.where}: has no axis {axis!r}; its dimensions are "
                         f"{variable.dims}")
    return variable.dims.index(axis)


def _check_mosaic(variables: list[Variable], arrays: list[la.Array], axis: int) -> None:
    """Refuse inputs that cannot be mosaicked along ``axis``, naming the first that differs."""
    first, first_array = variables[0], arrays[0]
    for variable, array in zip(variables[1:], arrays[1:]):
        problems = []
        if variable.dims != first.dims:
            problems.append(f"dimensions {variable.dims}, expected {first.dims}")
        else:
            others = [n for a, n in enumerate(variable.shape) if a != axis]
            expected = [n for a, n in enumerate(first.shape) if a != axis]
            if others != expected:
                problems.append(f"shape {variable.shape}, expected {first.shape} but along "
                                f"axis {first.dims[axis]!r}")
        # Stored dtypes may differ (packed in one file, not in another): the mosaic is of
        # the decoded values.
        if array.dtype != first_array.dtype:
            problems.append(f"dtype {array.dtype} ({variable.dtype} stored), expected "
                            f"{first_array.dtype} ({first.dtype} stored)")
        if problems:
            raise UsageError(f"{variable.where}: cannot be mosaicked with {first.where}: "
                             + "; ".join(problems))


def _coordinate(store: Store, dim: str) -> Variable | None:
    for variable in store.variables():
        if variable.name == dim and variable.dims == (dim,):
            return variable
    return None


def _carried(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in ("_ARRAY_DIMENSIONS",)}


def _reduced_coordinates(stores: list[Store], dim: str) -> list[Coordinate]:
    """The reduced axis's coordinate, one cell long, and its bounds."""
    coordinates = [_coordinate(s, dim) for s in stores]
    first = coordinates[0]
    if first is None:
        return []
    units = first.attrs.get("units")
    for store, coordinate in zip(stores[1:], coordinates[1:]):
        if coordinate is None:
            raise UsageError(f"{store.path}: cannot be mosaicked with {first.where}: it has "
                             f"no coordinate variable {dim!r}")
        if coordinate.attrs.get("units") != units:
            raise UsageError(f"{coordinate.where}: cannot be mosaicked with {first.where}: "
                             f"units {coordinate.attrs.get('units')!r}, expected {units!r}")
    values = [s.values(dim) for s in stores]
    bounds_name = first.attrs.get("bounds")
    bounds_dim = "bnds"
    lower: Any = values[0][0]
    upper: Any = values[-1][-1]
    if bounds_name is not None and all(
            any(v.name == bounds_name for v in s.variables()) for s in stores):
        found = [s.values(str(bounds_name)) for s in stores]
        if all(b.ndim == 2 and b.shape[1] == 2 for b in found):
            lower, upper = found[0][0].min(), found[-1][-1].max()
            bounds_dim = stores[0].variable(str(bounds_name)).dims[1]
    bounds_name = str(bounds_name or f"{dim}_bnds")
    dtype = np.result_type(values[0].dtype, np.float64) if values[0].dtype.kind in "iu" else \
        values[0].dtype
    middle = (np.asarray(lower, np.float64) + np.asarray(upper, np.float64)) / 2
    attrs = {**_carried(first.attrs), "bounds": bounds_name}
    return [
        Coordinate(dim, (dim,), np.asarray([middle], dtype), attrs),
        Coordinate(bounds_name, (dim, bounds_dim), np.asarray([[lower, upper]], dtype)),
    ]


def _kept_coordinates(stores: list[Store], dims: tuple[str, ...],
                      reduced: str) -> list[Coordinate]:
    """The other axes' coordinates, as the first input has them (all inputs must agree)."""
    found = []
    for dim in dims:
        if dim == reduced:
            continue
        coordinate = _coordinate(stores[0], dim)
        if coordinate is None:
            continue
        values = stores[0].values(dim)
        for store in stores[1:]:
            other = _coordinate(store, dim)
            if other is None or not np.array_equal(store.values(dim), values, equal_nan=True):
                raise UsageError(f"{store.path}:{dim}: cannot be mosaicked with "
                                 f"{coordinate.where}: the coordinate values differ")
        found.append(Coordinate(dim, (dim,), values, _carried(coordinate.attrs)))
    return found


def _result_attrs(attrs: dict[str, Any], op: str, dim: str) -> dict[str, Any]:
    operation = OPERATIONS[op]
    result = {k: v for k, v in attrs.items() if k not in _ENCODING}
    units = result.pop("units", None)
    if units is not None and operation.units == "same":
        result["units"] = units
    elif units is not None and operation.units == "squared":
        result["units"] = f"({units})^2"
    if op in ("count", "prod"):
        result.pop("standard_name", None)
    if op == "count":
        result["long_name"] = f"number of values that are not missing along {dim}"
    if operation.cell_method is not None:
        earlier = str(result.get("cell_methods", "")).strip()
        result["cell_methods"] = (earlier + " " if earlier else "") + \
            f"{dim}: {operation.cell_method}"
    return result


def _history(argv: list[str] | None) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S %Y")
    words = ["lazyarray", *(argv if argv is not None else sys.argv[1:])]
    return f"{now}: {' '.join(shlex.quote(w) for w in words)}"


def run_stats(args: Any, out: Any, argv: list[str] | None = None) -> int:
    """Run ``lazyarray stats`` with the parsed ``args``; print on ``out``."""
    ops = parse_ops(args.op)
    output = os.fspath(args.output)
    suffix = os.path.splitext(output.rstrip("/"))[1].lower()
    if suffix not in (".nc", ".nc4", ".zarr"):
        raise UsageError(f"{output}: the output must end in .nc (netCDF-4) or .zarr (Zarr), "
                         f"found {suffix or 'no suffix'!r}")
    if os.path.lexists(output) and not (args.overwrite or args.explain):
        raise UsageError(f"{output}: exists; pass --overwrite to replace it")
    if args.mdtol is not None and not 0 <= args.mdtol <= 1:
        raise UsageError(f"--mdtol must be between 0 and 1, found {args.mdtol}")
    paths = expand_paths(args.inputs)
    if any(os.path.abspath(p) == os.path.abspath(output) for p in paths):
        raise UsageError(f"{output}: is also an input")
    with contextlib.ExitStack() as stack:
        stores = [stack.enter_context(open_store(p)) for p in paths]
        name = args.var or _choose_variable(stores[0], args.axis)
        variables = [s.variable(name) for s in stores]
        axis = _axis_of(variables[0], args.axis)
        dim = variables[0].dims[axis]
        arrays = []
        for store, variable in zip(stores, variables):
            try:
                arrays.append(store.lazy(variable.name))
            except (la.LazyArrayError, ValueError, TypeError) as error:
                raise UsageError(f"{variable.where}: cannot be decoded: {error}") from error
        _check_mosaic(variables, arrays, axis)
        empty = [v.where for v in variables if v.shape[axis] == 0]
        if empty:
            raise UsageError(f"{empty[0]}: has no values along {dim!r}")
        data = arrays[0] if len(arrays) == 1 else la.concatenate(arrays, axis=axis)
        results = _results(data, ops, axis, args)
        # A Zarr store that is one array has no variable name: the store's is used.
        base = (variables[0].name.rsplit("/", 1)[-1]
                or os.path.splitext(os.path.basename(paths[0].rstrip("/")))[0])
        names = [f"{base}_{op}" for op in ops]
        options = {"memory_limit": args.memory_limit, "workers": args.workers,
                   "progress": not args.no_progress}
        plan = make_plan(results, la.get_options(**options), in_memory=[False] * len(results))
        if args.explain:
            out.write(_explain(paths, variables[0], data, dim, names, results, output, plan))
            return 0
        chunks = _chunks(results, axis, plan)
        coordinates = (_kept_coordinates(stores, variables[0].dims, dim)
                       + _reduced_coordinates(stores, dim))
        outputs = [
            OutputVariable(n, variables[0].dims, r, _result_attrs(variables[0].attrs, op, dim),
                           c, netcdf_fill_value(r.dtype) if r.masked else None)
            for n, r, op, c in zip(names, results, ops, chunks)]
        dimensions = dict(zip(variables[0].dims, results[0].shape))
        for c in coordinates:
            for d, n in zip(c.dims, c.values.shape):
                dimensions.setdefault(d, n)
        attrs = dict(stores[0].global_attrs())
        history = _history(argv)
        attrs["history"] = (history + "\n" + str(attrs["history"])
                            if "history" in attrs else history)
        layout = Layout(dimensions, coordinates, outputs, attrs)
        write = write_zarr if suffix == ".zarr" else write_netcdf
        try:
            write(output, layout, overwrite=args.overwrite, **options)
        except (FileExistsError, IsADirectoryError) as error:
            raise UsageError(f"{output}: {error}") from error
    return 0


def _results(data: la.Array, ops: tuple[str, ...], axis: int, args: Any) -> list[la.Array]:
    results = []
    for op in ops:
        operation = OPERATIONS[op]
        kwargs: dict[str, Any] = {"keepdims": True}
        # A count is the number of valid values whatever their fraction: no mdtol.
        if args.mdtol is not None and op != "count":
            kwargs["mdtol"] = args.mdtol
        if operation.ddof:
            kwargs["ddof"] = args.ddof
        result = operation.function(data, axis, **kwargs)
        if op == "count":
            # Never missing (0 where all values are): written without a _FillValue.
            result = la.filled(result, 0)
        results.append(result)
    return results


def _chunks(results: list[la.Array], axis: int, plan: Any) -> list[tuple[int, ...]]:
    """Output chunks that the plan's tiles cover whole (each written once)."""
    tile = next((p.tile for p in plan.passes if p.reductions), results[0].shape)
    shape = tuple(1 if a == axis else min(n, t)
                  for a, (n, t) in enumerate(zip(results[0].shape, tile)))
    return [output_chunks(shape, r.dtype.itemsize) for r in results]


def _explain(paths: list[str], variable: Variable, data: la.Array, dim: str, names: list[str],
             results: list[la.Array], output: str, plan: Any) -> str:
    lines = [
        (f"Reads {variable.name!r} from {len(paths)} input{'s' if len(paths) > 1 else ''} "
         f"({paths[0]}{' ...' if len(paths) > 1 else ''}), mosaicked along {dim!r}: "
         f"{data.shape} {data.dtype}{' masked' if data.masked else ''}, "
         f"{format_bytes(data.nbytes)} decoded."),
        f"Writes {output}: " + ", ".join(
            f"{n} {r.shape} {r.dtype}" for n, r in zip(names, results)) + ".",
        plan.explain(),
    ]
    return "\n".join(lines) + "\n"

