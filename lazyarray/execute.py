"""The evaluator: realise lazy arrays into memory, tile by tile.

Each result is cut into tiles that fit ``chunk_bytes`` (see
:mod:`lazyarray.plan`); each tile is the node indexed down to that region,
which pushes the selection to the sources, so a tile reads only what it needs
and memory stays bounded by the result plus one tile.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> a = la.asarray(np.arange(6).reshape(2, 3))
>>> [r.tolist() for r in la.ndarrays([a, a.T * 2])]
[[[0, 1, 2], [3, 4, 5]], [[0, 6], [2, 8], [4, 10]]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .adapters import asarray
from .adapters.base import ArrayAdapter
from .array import Array
from .indexing import is_full
from .options import get_options
from .plan import iter_tiles, tile_shape

__all__ = ["compute", "masked_arrays", "ndarrays"]


def _largest_itemsize(node: Array) -> int:
    """The widest dtype of any node of the graph: it sizes tile temporaries."""
    largest, seen, todo = 0, set(), [node]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        largest = max(largest, current.dtype.itemsize)
        todo.extend(current.inputs)
    return largest


def _storage_chunks(node: Array) -> tuple[int, ...] | None:
    """Chunks to align tiles to: those of an adapter showing its whole source."""
    if isinstance(node, ArrayAdapter) and is_full(node.key, node.concrete.shape):
        return node.chunks
    return None


def _realise(node: Array, masked: bool, chunk_bytes: int) -> np.ndarray:
    data = np.empty(node.shape, node.dtype)
    mask = np.zeros(node.shape, bool) if masked else None
    tile = tile_shape(node.shape, _largest_itemsize(node), chunk_bytes, _storage_chunks(node))
    for region in iter_tiles(node.shape, tile):
        value = node[region]._evaluate(masked)
        data[region] = np.ma.getdata(value)
        if mask is not None:
            mask[region] = np.ma.getmaskarray(value)
    if mask is not None:
        return np.ma.MaskedArray(data, mask=mask, fill_value=node.fill_value)
    return data


def _evaluate_all(arrays: Iterable[Any], masked: bool, options: dict[str, Any]) -> list[np.ndarray]:
    if isinstance(arrays, (Array, np.ndarray)):
        raise TypeError("expected a sequence of arrays; wrap a single array in a list")
    nodes = [asarray(a) for a in arrays]
    settings = get_options(**options)
    return [_realise(node, masked, settings.chunk_bytes) for node in nodes]


def ndarrays(arrays: Sequence[Any], **options: Any) -> list[np.ndarray]:
    """Realise several lazy arrays as plain ndarrays (masked points filled).

    Parameters
    ----------
    arrays : sequence of arrays
    **options
        Evaluation options (see :class:`lazyarray.Options`).

    Returns
    -------
    list of numpy.ndarray
    """
    return _evaluate_all(arrays, False, options)


def masked_arrays(arrays: Sequence[Any], **options: Any) -> list[np.ma.MaskedArray]:
    """Realise several lazy arrays as ``numpy.ma.MaskedArray``.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> m = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    >>> la.masked_arrays([la.asarray(m) * 2])[0].tolist()
    [2, None, 6]
    """
    return _evaluate_all(arrays, True, options)


def compute(*arrays: Any, **options: Any) -> tuple[np.ndarray, ...]:
    """Realise the given arrays as ndarrays, returning them as a tuple.

    Examples
    --------
    >>> import numpy as np, lazyarray as la
    >>> a, b = la.compute(la.zeros(2), la.ones(1))
    >>> a.tolist(), b.tolist()
    ([0.0, 0.0], [1.0])
    """
    return tuple(ndarrays(arrays, **options))
