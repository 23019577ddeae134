"""Random lazy graphs paired with the numpy arrays they stand for (hypothesis strategies).

:func:`graphs` builds a lazy array and, step by step, the numpy array it
stands for: sources (numpy, HDF5, Zarr), keys of every kind, transposes,
mosaics and concatenations, stacks, and elementwise maths with scalars and
with other (broadcast) sources. Used by the random-graph tests of the
executor and of the evaluation context.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np
import zarr
from hypothesis import strategies as st
from numpy_oracle import numpy_accepts, quiet
from strategies import keys, oindex

import lazyarray as la

#: One dtype of each kind and width class the kernels compile for (booleans and
#: uint8 share theirs); int16 is left to the kernels' tests in ``make test-all``
#: (``tests/test_fused.py``), so a fresh machine compiles fewer kernels for ``make test``.
DTYPES = [np.dtype(t) for t in ("?", "i1", "i8", "u1", "u8", "f4", "f8", "c16")]


# -- sources -----------------------------------------------------------------------


class Sources:
    """Makes lazy sources of numpy data: in memory, in an HDF5 file, in a Zarr group.

    With ``folder``, each HDF5 source is a file of its own there, written,
    closed and opened by path (:func:`lazyarray.open_dataset`), so that the
    graphs can be pickled and evaluated in another process; ``h5file`` is
    then not used.
    """

    def __init__(self, h5file: h5py.File | None, group: zarr.Group,
                 folder: Path | None = None):
        self._h5 = h5file
        self._zarr = group
        self._folder = folder
        self._names = itertools.count()

    def make(self, kind: str, data: np.ndarray, chunks: tuple[int, ...]) -> la.Array:
        if kind == "numpy" or data.size == 0:  # files get data with something in it
            return la.asarray(data.copy())
        name = f"x{next(self._names)}"
        if kind == "hdf5" and self._folder is not None:
            path = self._folder / f"{name}.h5"
            with h5py.File(path, "w") as file:
                file.create_dataset(name, data=data, chunks=chunks)
            return la.open_dataset(path, name)
        if kind == "hdf5":
            assert self._h5 is not None
            self._h5.create_dataset(name, data=data, chunks=chunks)
            return la.asarray(self._h5[name])
        array = self._zarr.create_array(name=name, shape=data.shape, chunks=chunks,
                                        dtype=data.dtype)
        array[...] = data
        return la.asarray(array)


@st.composite
def source_data(draw, shape, dtype=None):
    """An array of ``shape``: small integers, booleans, or floats with
    (sometimes) NaN and infinities, so extremes tie and NaN rules matter."""
    dtype = np.dtype(dtype) if dtype is not None else draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == bool:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else -5
        return rng.integers(low, 6, shape).astype(dtype)
    data = np.round(rng.standard_normal(shape) * 10, draw(st.integers(0, 3)))
    if dtype.kind == "c":
        data = data + 1j * np.round(rng.standard_normal(shape) * 3, 1)
    data = data.astype(dtype)
    if data.size and draw(st.integers(0, 4)) == 0:  # special values, some of the time
        special = [np.nan, np.nan, np.inf, -np.inf]
        flat = data.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, data.size - 1))] = draw(st.sampled_from(special))
    return data


@st.composite
def leaves(draw, sources, shape=None, dtype=None):
    """A (lazy, numpy) pair for a new source."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    data = draw(source_data(shape, dtype))
    kind = draw(st.sampled_from(["numpy", "hdf5", "zarr"]))
    chunks = tuple(draw(st.integers(1, max(n, 1))) for n in shape)
    return sources.make(kind, data, chunks), data


# -- graph steps: each applies the same thing to the lazy array and to numpy -------------


UNARY = {
    "negative": (la.negative, np.negative),
    "absolute": (la.absolute, np.absolute),
    "square": (la.square, np.square),
    "sqrt": (la.sqrt, np.sqrt),
    "greater than 0": (lambda x: x > 0, lambda x: x > 0),
    "as float32": (lambda x: x.astype(np.float32), lambda x: x.astype(np.float32)),
    "as int16": (lambda x: x.astype(np.int16), lambda x: x.astype(np.int16)),
}
SCALAR = {
    "+ 3": lambda x: x + 3,
    "* 2": lambda x: x * 2,
    "- 1.5": lambda x: x - 1.5,
    "2 - x": lambda x: 2 - x,
    "/ 4": lambda x: x / 4,
    "// 2": lambda x: x // 2,
}
BINARY = {
    "+": lambda x, y: x + y,
    "*": lambda x, y: x * y,
    "-": lambda x, y: x - y,
    "maximum": lambda x, y: (la if isinstance(x, la.Array) else np).maximum(x, y),
}


@st.composite
def steps(draw, sources, lazy, expected):
    """One random step applied to the pair."""
    step = draw(st.sampled_from(["key", "transpose", "unary", "scalar", "binary", "mosaic",
                                 "concatenate", "stack"]))
    ndim = expected.ndim
    if step == "key":
        key = draw(keys(expected.shape), label="key")
        return lazy[key], oindex(expected, key)
    if step == "transpose" and ndim > 1:
        order = draw(st.permutations(range(ndim)))
        return la.transpose(lazy, order), np.transpose(expected, order)
    if step == "unary":
        name = draw(st.sampled_from(sorted(UNARY)))
        lazy_func, numpy_func = UNARY[name]
        if numpy_accepts(numpy_func, expected):
            with quiet():
                return lazy_func(lazy), numpy_func(expected)
    if step == "scalar":
        func = SCALAR[draw(st.sampled_from(sorted(SCALAR)))]
        if numpy_accepts(func, expected):
            with quiet():
                return func(lazy), func(expected)
    if step == "binary":
        # Another source that broadcasts against this one, either way round.
        shape = [draw(st.sampled_from([n, 1])) for n in expected.shape]
        shape = shape[draw(st.integers(0, len(shape))):]
        if draw(st.booleans()):
            shape = [draw(st.integers(1, 3))] + list(expected.shape)
        other, other_data = draw(leaves(sources, tuple(shape)))
        func = BINARY[draw(st.sampled_from(sorted(BINARY)))]
        if draw(st.booleans()):
            lazy, expected, other, other_data = other, other_data, lazy, expected
        if numpy_accepts(func, expected, other_data):
            with quiet():
                return func(lazy, other), func(expected, other_data)
    if step in ("mosaic", "concatenate") and ndim:
        axis = draw(st.integers(-ndim, ndim - 1))
        pieces = [(lazy, expected)]
        for _ in range(draw(st.integers(1, 2))):
            shape = list(expected.shape)
            shape[axis] = draw(st.integers(1, 3))
            dtype = expected.dtype if step == "mosaic" else None
            pieces.append(draw(leaves(sources, tuple(shape), dtype)))
        order = draw(st.permutations(range(len(pieces))))
        members = [pieces[i] for i in order]
        joined = np.concatenate([m[1] for m in members], axis=axis)
        if step == "mosaic":
            return la.LinearMosaic([m[0] for m in members], axis=axis), joined
        return la.concatenate([m[0] for m in members], axis=axis), joined
    if step == "stack":
        axis = draw(st.integers(-ndim - 1, ndim))
        other, other_data = draw(leaves(sources, expected.shape))
        return la.stack([lazy, other], axis=axis), np.stack([expected, other_data], axis=axis)
    return lazy, expected


@st.composite
def graphs(draw, sources):
    """A (lazy, numpy) pair: a source and up to four steps, at most ~1000 elements."""
    lazy, expected = draw(leaves(sources))
    for _ in range(draw(st.integers(0, 4))):
        new_lazy, new_expected = draw(steps(sources, lazy, expected))
        if new_expected.size <= 1000:
            lazy, expected = new_lazy, new_expected
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    return lazy, expected


