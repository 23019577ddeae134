"""The import graph runs one way, from the public API down to storage (issue 14, point 6).

Each module of ``lazyarray/`` has a layer (the list in :mod:`lazyarray.upcalls`),
and imports only modules of its layer or below, without cycles. Calls that
must go up at run time go through :mod:`lazyarray.upcalls`, not through
imports inside functions: those are allowed only for optional dependencies
imported lazily. Imports under ``if TYPE_CHECKING:`` are for annotations
and do not count.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import lazyarray as la
from lazyarray import upcalls

ROOT = Path(la.__file__).parent

#: Each module's layer, by the longest dotted prefix of its name that is listed.
LAYERS = {
    # 0: basics and storage, which know no node.
    "lazyarray.errors": 0,
    "lazyarray.arguments": 0,
    "lazyarray.options": 0,
    "lazyarray.axes": 0,
    "lazyarray.indexing": 0,
    "lazyarray.steps": 0,
    "lazyarray.graph": 0,
    "lazyarray.buffers": 0,
    "lazyarray.scratch": 0,
    "lazyarray.context": 0,
    "lazyarray.carries": 0,
    "lazyarray.foreign": 0,
    "lazyarray.files": 0,
    "lazyarray.fillvalues": 0,
    "lazyarray.planprotocol": 0,
    "lazyarray.upcalls": 0,
    "lazyarray.storage": 0,
    "lazyarray.encoding": 0,
    "lazyarray.accumulators": 0,
    "lazyarray.partialstates": 0,
    "lazyarray.reductions": 0,
    "lazyarray.blocklayout": 0,
    "lazyarray.kernels": 0,
    "lazyarray.kernelcache": 0,
    "lazyarray.temporaries": 0,
    "lazyarray.publish": 0,
    "lazyarray.blockspec": 0,
    # 1: the node.
    "lazyarray.array": 1,
    "lazyarray.pickling": 1,
    # 2: leaves, coercion to them, and what sources' metadata say.
    "lazyarray.adapters": 2,
    "lazyarray.creation": 2,
    "lazyarray.cfencoding": 2,
    # 3: node kinds.
    "lazyarray.views": 3,
    "lazyarray.elementwisenode": 3,
    "lazyarray.elementwise": 3,
    "lazyarray.mosaic": 3,
    "lazyarray.aggregation": 3,
    "lazyarray.maskedelementwise": 3,
    "lazyarray.masking": 3,
    "lazyarray.mapblocks": 3,
    "lazyarray.sequential": 3,
    "lazyarray.scans": 3,
    "lazyarray.quantiles": 3,
    "lazyarray.rolling": 3,
    "lazyarray.containers": 3,
    "lazyarray.windows": 3,
    "lazyarray.reshape": 3,
    # 4: conventions.
    "lazyarray.cf": 4,
    # 5: planning and running.
    "lazyarray.planning": 5,
    "lazyarray.fused": 5,
    "lazyarray.execution": 5,
    "lazyarray.writers": 5,
    "lazyarray.testing": 5,
    "lazyarray.iteration": 5,
    "lazyarray.sampling": 5,
    "lazyarray.mapfiles": 5,
    "lazyarray.arrayfunction": 5,
    "lazyarray.todask": 5,
    "lazyarray.array_api": 5,
    "lazyarray.xarraysources": 5,
    # 6: the composition root.
    "lazyarray": 6,
    "lazyarray.xarray_": 6,
    # Above the root: what uses the whole package.
    "lazyarray.cli": 6,
    "lazyarray.__main__": 6,
}

#: Imports inside functions that are allowed: optional dependencies imported
#: lazily (numba's kernels compile on first use, and numba may be missing).
LAZY_OPTIONAL = {
    ("lazyarray.fused", "lazyarray.kernels"),
    # The ahead-of-time build compiles the kernels module, which imports the cache.
    ("lazyarray.kernelcache", "lazyarray.kernels"),
}

#: Imports inside functions that remain to be removed: none.
PENDING: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("lazyarray",) + path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} has no layer: add it to LAYERS (and to lazyarray.upcalls)")


def _imports(module: str) -> Iterator[tuple[str, bool]]:
    """``(imported lazyarray module, inside a function)`` for each import of ``module``."""
    path = MODULES[module]
    package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from (i for other in child.orelse for i in visit(other, in_function))
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")[: None if package else -1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    name = f"{target}.{alias.name}"
                    found = name if name in MODULES else target
                    if found in MODULES and found != module:
                        yield found, in_function
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in MODULES:
                        yield alias.name, in_function
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            yield from visit(child, inside)

    return visit(ast.parse(path.read_text()), False)


def test_every_module_imports_only_its_layer_or_below() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {imported} (layer {_layer(imported)})"
        for module in MODULES
        for imported, _ in _imports(module)
        if _layer(imported) > _layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_module_imports_have_no_cycles() -> None:
    graph = {m: {i for i, inner in _imports(m) if not inner} for m in MODULES}
    # The package's __init__ imports its submodules, which Python imports after it
    # starts: that is no cycle. Depth-first search for back edges elsewhere.
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if module.startswith(imported + "."):
                continue  # a submodule importing its own package's names
            if state.get(imported) == 1:
                cycles.append(path[path.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_imports_inside_functions_are_only_lazy_optional_dependencies() -> None:
    inner = {(m, i) for m in MODULES for i, inside in _imports(m) if inside}
    assert inner - LAZY_OPTIONAL - PENDING == set()


def test_every_upcall_is_installed() -> None:
    for name in upcalls.NAMES:
        function = getattr(upcalls, name)
        assert function.__module__.startswith("lazyarray.") and function.__name__ == name, (
            name, function)
        assert function.__module__ != "lazyarray.upcalls", name


def test_install_refuses_an_incomplete_set() -> None:
    with pytest.raises(TypeError, match="missing"):
        upcalls.install(sum=np.sum)


def test_a_fresh_process_unpickles_and_uses_a_graph(tmp_path: Path) -> None:
    # Importing lazyarray.pickling (as unpickling does) imports the package
    # first, which installs the upward calls.
    y = la.asarray(np.arange(4.0))
    for _ in range(1500):  # deeper than the recursion limit
        y = y + 0.0
    (tmp_path / "graph.pkl").write_bytes(pickle.dumps(y.mean(keepdims=True)))
    code = (
        "import pickle, sys; g = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "print(float(g[0]), (g.T * 2).sum().ndarray(), g.chunks)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "graph.pkl")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1.5", "3.0", "((1,),)"]
