"""The few calls that go up the layers, installed once by the package.

lazyarray's modules import one way, from the public API down to storage.
Each imports only modules of its own layer or below (``tests/test_layers.py``
checks it):

0. basics and storage, which know no node: :mod:`~lazyarray.errors`,
   :mod:`~lazyarray.options`, :mod:`~lazyarray.axes`,
   :mod:`~lazyarray.indexing`, :mod:`~lazyarray.steps`,
   :mod:`~lazyarray.graph`, :mod:`~lazyarray.buffers`,
   :mod:`~lazyarray.scratch`, :mod:`~lazyarray.context`,
   :mod:`~lazyarray.files`, :mod:`~lazyarray.fillvalues` (numpy.ma's rules),
   :mod:`~lazyarray.planprotocol` (what the planner asks of a node),
   :mod:`~lazyarray.carries` (carries between regions of scans),
   :mod:`~lazyarray.arguments` (argument checks), this
   module; :mod:`lazyarray.storage`, :mod:`~lazyarray.encoding`,
   :mod:`~lazyarray.accumulators`, :mod:`~lazyarray.kernels`, :mod:`~lazyarray.kernelcache`,
   :mod:`~lazyarray.publish`;
1. the node: :mod:`~lazyarray.array` (:class:`~lazyarray.Array`), and
   :mod:`~lazyarray.pickling` (graphs pickled flat);
2. leaves, and coercion to them: :mod:`lazyarray.adapters` (a module per
   kind of source, and :func:`~lazyarray.asarray`),
   :mod:`~lazyarray.creation`; and :mod:`~lazyarray.cfencoding` (what a
   source's CF attributes say);
3. node kinds, each with its public functions: :mod:`~lazyarray.views`,
   :mod:`~lazyarray.elementwise`, :mod:`~lazyarray.mosaic`,
   :mod:`~lazyarray.aggregation`, :mod:`~lazyarray.masking`,
   :mod:`~lazyarray.mapblocks`, :mod:`~lazyarray.sequential`,
   :mod:`~lazyarray.scans`, :mod:`~lazyarray.rolling`;
4. conventions: :mod:`~lazyarray.cf` (the graphs that decode and encode);
5. planning and running: :mod:`lazyarray.planning` (which knows only the
   node and its protocol), :mod:`~lazyarray.fused`,
   :mod:`lazyarray.execution`, :mod:`~lazyarray.iteration`,
   :mod:`lazyarray.sampling`, :mod:`lazyarray.mapfiles`,
   :mod:`~lazyarray.writers`, :mod:`~lazyarray.testing`,
   :mod:`~lazyarray.arrayfunction` (numpy's functions on nodes),
   :mod:`~lazyarray.todask` (the export to Dask);
6. the package, :mod:`lazyarray`, which imports them, or loads them when
   first named (process pools, shared memory, file writers: PEP 562): the
   composition root.

A few calls must still go up at run time. Every node offers numpy's methods
(``x + 1`` builds an :class:`~lazyarray.Elementwise` node, ``x.mean()`` an
:class:`~lazyarray.Aggregation`, ``x.ndarray()`` runs the evaluator,
``x.chunks`` asks the planner, pickling flattens the graph), but the node
base is below every node kind; and :func:`~lazyarray.asarray`, which the
node kinds use to take their arguments, decodes HDF5 and Zarr sources by
their CF attributes with nodes of layers 3 and 4. Rather than import upward
inside functions (which hides the cycle and costs an import per call), the
lower layer calls the name it is given here, and :mod:`lazyarray`'s
``__init__`` gives every name its function once, when the package is
imported (:func:`install`). Importing any module of the package imports the
package first, so the names are set before any node exists: in a fresh
process that unpickles a graph too. Each call costs one attribute lookup.

:func:`~lazyarray.asarray` is with the leaves rather than above the node
kinds because every node kind's public functions take array-likes through
it: so the one call up is its CF decoding, where putting it above would
make every node kind call up for it.

Each name is that of the function installed under it, from the module the
comment names. Before :func:`install` runs (only while the package itself is
being imported) calling one raises ``RuntimeError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["install"]


_names: list[str] = []


def _not_installed(name: str) -> Callable[..., Any]:
    """What ``name`` is until it is installed: a function that says so."""
    _names.append(name)

    def call(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"lazyarray.upcalls.{name} was called before the lazyarray package installed "
            "it; it is installed when `import lazyarray` finishes"
        )

    return call


# lazyarray.elementwise: the operators and astype of every node.
apply_ufunc: Callable[..., Any] = _not_installed("apply_ufunc")
is_operand: Callable[[Any], bool] = _not_installed("is_operand")
astype: Callable[..., Any] = _not_installed("astype")
negative: Callable[..., Any] = _not_installed("negative")
positive: Callable[..., Any] = _not_installed("positive")
absolute: Callable[..., Any] = _not_installed("absolute")
invert: Callable[..., Any] = _not_installed("invert")

# lazyarray.views: transpose and new axes in keys.
transpose: Callable[..., Any] = _not_installed("transpose")
expand_dims: Callable[..., Any] = _not_installed("expand_dims")

# lazyarray.aggregation: the reductions as methods (x.mean()).
sum: Callable[..., Any] = _not_installed("sum")
prod: Callable[..., Any] = _not_installed("prod")
mean: Callable[..., Any] = _not_installed("mean")
std: Callable[..., Any] = _not_installed("std")
var: Callable[..., Any] = _not_installed("var")
min: Callable[..., Any] = _not_installed("min")
max: Callable[..., Any] = _not_installed("max")
ptp: Callable[..., Any] = _not_installed("ptp")
count: Callable[..., Any] = _not_installed("count")
any: Callable[..., Any] = _not_installed("any")
all: Callable[..., Any] = _not_installed("all")
argmin: Callable[..., Any] = _not_installed("argmin")
argmax: Callable[..., Any] = _not_installed("argmax")

# lazyarray.scans: the scans as methods (x.cumsum()).
cumsum: Callable[..., Any] = _not_installed("cumsum")
cumprod: Callable[..., Any] = _not_installed("cumprod")

# lazyarray.execution: realisation (x.ndarray(), float(x)...).
ndarrays: Callable[..., Any] = _not_installed("ndarrays")
masked_arrays: Callable[..., Any] = _not_installed("masked_arrays")

# lazyarray.iteration: x.iter_chunks(), x.iter_blocks().
iter_chunks: Callable[..., Any] = _not_installed("iter_chunks")
iter_blocks: Callable[..., Any] = _not_installed("iter_blocks")

# lazyarray.todask: x.to_dask().
to_dask: Callable[..., Any] = _not_installed("to_dask")

# lazyarray.arrayfunction: numpy's functions on nodes (np.mean(x)), x.real, x.imag.
array_function: Callable[..., Any] = _not_installed("array_function")

# lazyarray.planning: x.chunks; where stored chunks begin, for an aggregation
# deciding whether it streams.
block_grid: Callable[..., Any] = _not_installed("block_grid")
chunk_edges: Callable[..., Any] = _not_installed("chunk_edges")

# lazyarray.array_api: x.__array_namespace__().
array_namespace: Callable[..., Any] = _not_installed("array_namespace")

# lazyarray.pickling: pickling a node with inputs.
reduce_graph: Callable[..., Any] = _not_installed("reduce_graph")

# lazyarray.cf: asarray and open_dataset on HDF5 datasets and Zarr arrays.
wrap_file_source: Callable[..., Any] = _not_installed("wrap_file_source")

#: Every name above, which :func:`install` must be given.
NAMES = frozenset(_names)


def install(**functions: Callable[..., Any]) -> None:
    """Give each upward call its function: all of them, once, from ``lazyarray/__init__.py``.

    Raises
    ------
    TypeError
        For a name that is missing, unknown, or given something not callable.
    """
    missing, unknown = NAMES - functions.keys(), functions.keys() - NAMES
    if missing or unknown:
        raise TypeError(
            f"upcalls.install: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    for name, function in functions.items():
        if not callable(function):
            raise TypeError(f"upcalls.install: {name} is not callable: {function!r}")
    globals().update(functions)
