"""The inputs of :func:`~lazyarray.mapfiles.map_files`: their forms, variables and outputs, checked.

Every input is resolved, before any process starts, to a :class:`Task`: the
file or store and the variable(s) to open in it (or a ready-built lazy
graph), and the path of its output, formatted from ``outname``. No output
may be an input or another input's output (:func:`check_outputs`).

Examples
--------
>>> import os, tempfile, h5py, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "a.h5")
>>> with h5py.File(path, "w") as f:
...     _ = f.create_dataset("t", data=np.zeros(3))
>>> task = resolve(0, path + ":t", None, None, "{stem}_{variable}{suffix}")
>>> task.variables, os.path.basename(task.output)
('t', 'a_t.h5')
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..array import Array

__all__ = [
    "HDF5_SUFFIXES",
    "OPERATION",
    "ZARR_SUFFIXES",
    "Job",
    "Task",
    "check_callables",
    "check_outputs",
    "check_variables",
    "resolve",
]

#: The name that starts every message of :func:`~lazyarray.mapfiles.map_files`.
OPERATION = "map_files"

#: Output suffixes written as HDF5 files.
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5", ".nc", ".nc4")
#: Output suffixes written as Zarr arrays.
ZARR_SUFFIXES = (".zarr",)

_FIELDS = ("stem", "suffix", "name", "index", "variable")


@dataclass(frozen=True)
class Task:
    """One input, resolved: where it is, what to open, where its output goes."""

    index: int
    given: Any
    path: str | None
    variables: str | tuple[str, ...] | None
    graph: Any
    output: str | None
    default_name: str


@dataclass(frozen=True)
class Job:
    """What every task does (pickled once per task to the workers)."""

    fn: Callable[..., Any]
    pre: tuple[Callable[..., Any], ...]
    post: tuple[Callable[..., Any], ...]
    overwrite: bool


def check_callables(name: str, value: Any) -> tuple[Callable[..., Any], ...]:
    """``value``, a callable or a sequence of them, as a tuple of callables.

    Examples
    --------
    >>> check_callables("pre", print) == (print,)
    True
    >>> check_callables("post", [print, 3])
    Traceback (most recent call last):
    ...
    TypeError: map_files: post[1] must be callable, found int
    """
    items = (value,) if callable(value) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"{OPERATION}: {name} must be a callable or a sequence of callables, "
                        f"found {type(value).__name__}")
    for n, item in enumerate(items):
        if not callable(item):
            raise TypeError(f"{OPERATION}: {name}[{n}] must be callable, "
                            f"found {type(item).__name__}")
    return tuple(items)


def check_variables(value: Any, where: str) -> str | tuple[str, ...] | None:
    """``None``, one variable name, or a tuple of them (``fn`` then gets a dict).

    Examples
    --------
    >>> check_variables(["x", "y"], "variables")
    ('x', 'y')
    >>> check_variables([1], "variables")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: map_files: variables must be a variable name or a non-empty sequence ..., found [1]
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{OPERATION}: {where} must be a variable name or a non-empty sequence "
                    f"of names, found {value!r}")


def resolve(index: int, given: Any, variables: str | tuple[str, ...] | None,
            outdir: str | None, outname: str) -> Task:
    """``given`` as a task: its file or store and variables, or its graph; its output.

    The forms of an input: a path (``variables`` says what to open, except
    for a Zarr array store), ``"path:variable"``, ``(path, variable)`` or
    ``(path, [variables])``, a lazy array or a mapping of names to lazy
    arrays (pickled to the worker: by path when built from files).

    Parameters
    ----------
    index : int
        The input's position in the inputs.
    given : object
        The input, as given.
    variables : str or tuple of str, optional
        The variable(s) to open where ``given`` does not name its own.
    outdir : str, optional
        Where outputs go; by default beside the input.
    outname : str
        The output's file name, to be formatted (see :func:`map_files`).

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        For an input of no known form, missing, or whose variables or
        output cannot be told.

    Examples
    --------
    >>> import numpy as np
    >>> task = resolve(2, np.arange(3), None, "/out", "{stem}_out{suffix}")
    >>> task.output, task.default_name
    ('/out/input2_out.h5', 'data')
    """
    graph: Any = None
    path: str | None = None
    wanted = variables
    if isinstance(given, (Array, np.ndarray)) or (
            isinstance(given, Mapping) and given
            and all(isinstance(v, (Array, np.ndarray)) for v in given.values())):
        graph = given
    elif isinstance(given, tuple) and len(given) == 2 and isinstance(given[0], (str, os.PathLike)):
        path = os.fspath(given[0])
        wanted = check_variables(given[1], f"input {index}'s variables")
    elif isinstance(given, (str, os.PathLike)):
        path = os.fspath(given)
        if not os.path.exists(path) and ":" in path:
            head, _, tail = path.rpartition(":")
            if os.path.exists(head) and tail:
                path, wanted = head, tail
    else:
        raise TypeError(
            f"{OPERATION}: input {index} must be a path, 'path:variable', (path, variable(s)), "
            f"a lazy array or a dict of lazy arrays, found {type(given).__name__}")
    default_name = "data"
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{OPERATION}: input {index} does not exist: {path!r}")
        is_array_store = os.path.isdir(path) and any(
            os.path.exists(os.path.join(path, meta)) for meta in (".zarray", "zarr.json")
        ) and _zarr_is_array(path)
        if wanted is None and not is_array_store:
            raise ValueError(
                f"{OPERATION}: input {index} ({path!r}) is a file of named variables and no "
                "variable was named: say which with variables='name' (or a list), "
                "'path:name' or (path, 'name')")
        if isinstance(wanted, str):
            default_name = wanted.rsplit("/", 1)[-1]
    output = _output_path(index, path, wanted, outdir, outname)
    return Task(index, given, path, wanted, graph, output, default_name)


def _zarr_is_array(path: str) -> bool:
    if os.path.exists(os.path.join(path, ".zarray")):
        return True
    try:
        with open(os.path.join(path, "zarr.json")) as f:
            return json.load(f).get("node_type") == "array"
    except (OSError, ValueError):
        return False


def _output_path(index: int, path: str | None, variables: Any, outdir: str | None,
                 outname: str) -> str | None:
    """Where the task's arrays go: ``outname`` formatted, in ``outdir`` or beside the input."""
    if path is None and outdir is None:
        return None  # a graph input: fn may save only if outdir is given (checked when it does)
    source = Path(path.rstrip("/\\")) if path is not None else Path(f"input{index}.h5")
    variable = variables if isinstance(variables, str) else ""
    try:
        name = outname.format(stem=source.stem, suffix=source.suffix, name=source.name,
                              index=index, variable=variable.replace("/", "_"))
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"{OPERATION}: outname {outname!r} cannot be formatted ({error!r}); "
                         f"its fields are {', '.join(_FIELDS)}") from None
    folder = outdir if outdir is not None else str(source.parent)
    output = os.path.join(folder, name)
    suffix = Path(output).suffix.lower()
    if suffix not in HDF5_SUFFIXES + ZARR_SUFFIXES:
        raise ValueError(
            f"{OPERATION}: output {output!r} (from outname {outname!r}) must end in one of "
            f"{', '.join(HDF5_SUFFIXES)} (HDF5) or .zarr (Zarr), found {suffix or 'no suffix'!r}")
    return output


def check_outputs(tasks: Sequence[Task]) -> None:
    """No output may be an input, nor two inputs share one.

    Raises
    ------
    ValueError
        Naming the inputs concerned.
    """
    inputs = {os.path.realpath(t.path): t.index for t in tasks if t.path is not None}
    seen: dict[str, int] = {}
    for task in tasks:
        if task.output is None:
            continue
        real = os.path.realpath(task.output)
        if real in inputs:
            raise ValueError(f"{OPERATION}: input {task.index}'s output {task.output!r} is "
                             f"input {inputs[real]}; choose outname or outdir so that no "
                             "input is overwritten")
        if real in seen:
            raise ValueError(f"{OPERATION}: inputs {seen[real]} and {task.index} would both "
                             f"write {task.output!r}; put a field that differs in outname "
                             f"({', '.join(_FIELDS)})")
        seen[real] = task.index
