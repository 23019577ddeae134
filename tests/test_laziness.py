"""Laziness: building and indexing every kind of node reads nothing.

Every source here is a :class:`Tripwire`, an ``InaccessibleArray`` that also
records any attempt to read it or convert it with ``__array__``, so that an
attempt is caught even if something swallowed the ``AssertionError``. Only
realisation may read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.testing import InaccessibleArray


class Tripwire(InaccessibleArray):
    """An ``InaccessibleArray`` that remembers every read and ``__array__`` call."""

    def __init__(self, shape: Any, dtype: Any):
        super().__init__(shape, dtype)
        self.touches: list[str] = []

    def __getitem__(self, key: Any) -> Any:
        self.touches.append(f"read {key!r}")
        return super().__getitem__(key)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        self.touches.append("__array__")
        return super().__array__(*args, **kwargs)


class Ortho(Tripwire):
    """A tripwire standing for a source indexed orthogonally (netCDF4-like)."""


Sources = Callable[[Any, Any], Tripwire]


def object_array(items: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out.reshape(shape)


# Each builder makes a node from tripwires made by ``src(shape, dtype)``.
BUILDERS: dict[str, Callable[[Sources], la.Array]] = {
    # adapters
    "asarray": lambda src: la.asarray(src((4, 5, 6), "f4")),
    "NumpyArrayAdapter": lambda src: la.NumpyArrayAdapter(src((4, 5, 6), "i2"), keys=np.s_[::-1]),
    "OrthoArrayAdapter": lambda src: la.OrthoArrayAdapter(src((4, 5, 6), "f8")),
    "ensure_array": lambda src: la.ensure_array(src((4, 5), "u1")),
    # creation
    "ConstantArray": lambda src: la.ConstantArray((4, 5, 6), 3, "f4"),
    "zeros": lambda src: la.zeros((4, 5)),
    "full": lambda src: la.full((4, 5), 7, "i1"),
    # mosaics and stacks
    "LinearMosaic": lambda src: la.LinearMosaic([src((2, 5, 6), "f4"), src((0, 5, 6), "f4"),
                                                 src((3, 5, 6), "f4")], 0),
    "LinearMosaic negative axis": lambda src: la.LinearMosaic(
        (src((4, 5, 2), "i4"), la.asarray(src((4, 5, 3), "i4"))), -1),
    "LinearMosaic of object array": lambda src: la.LinearMosaic(
        object_array([src((4, 2), "f8"), src((4, 3), "f8")], (2,)), 1),
    "mosaic of mosaics": lambda src: la.LinearMosaic(
        [la.LinearMosaic([src((2, 3), "f4"), src((2, 4), "f4")], 1), src((3, 7), "f4")], 0),
    "ArrayStack": lambda src: la.ArrayStack([src((5, 6), "f4") for _ in range(4)]),
    "ArrayStack grid": lambda src: la.ArrayStack(object_array([src((5,), "i8") for _ in range(6)], (2, 3))),
    "multidim_array_stack": lambda src: la.ArrayStack.multidim_array_stack(
        [src((5,), "i8") for _ in range(6)], (3, 2), order="F"),
    "concatenate promoting": lambda src: la.concatenate([src((2, 5), "i2"), src((3, 5), "f4")]),
    "stack promoting": lambda src: la.stack([src((4, 5), "u1"), src((4, 5), "i1")], axis=-1),
    "stack of mosaics": lambda src: la.stack(
        [la.LinearMosaic([src((2, 3), "f4"), src((2, 3), "f4")], 0)] * 2, axis=1),
    # axis views
    "transpose": lambda src: la.transpose(src((4, 5, 6), "f4"), (2, 0, 1)),
    ".T": lambda src: la.asarray(src((4, 5, 6), "f4")).T,
    "Array.transpose": lambda src: la.asarray(src((4, 5, 6), "f4")).transpose(1, -1, 0),
    "TransposedArray": lambda src: la.TransposedArray(la.asarray(src((4, 5), "f4"))),
    "moveaxis": lambda src: la.moveaxis(src((4, 5, 6), "f4"), 0, -1),
    "expand_dims": lambda src: la.expand_dims(src((4, 5), "f4"), (0, -1)),
    "squeeze": lambda src: la.squeeze(src((4, 1, 5), "f4")),
    "broadcast_to": lambda src: la.broadcast_to(src((1, 5), "f4"), (3, 4, 5)),
    "BroadcastArray": lambda src: la.BroadcastArray(src((1, 5), "f4"), {0: 4}, leading_shape=(3,)),
    "views of views": lambda src: la.broadcast_to(la.asarray(src((4, 5), "f4")).T[:, None], (5, 3, 4)),
    # elementwise
    "operators": lambda src: -(la.asarray(src((4, 5), "f4")) * 2 + src((4, 5), "f4")) ** 2 / 3,
    "integer operators": lambda src: ~((la.asarray(src((4, 5), "i4")) // 3 % 2) << 1 | 5) ^ 3 & 1,
    "comparisons": lambda src: (la.asarray(src((4, 5), "f4")) > 0) != (la.asarray(src((4, 5), "f4")) <= 1),
    "reflected operators": lambda src: src((4, 5), "f8") + (1 - la.asarray(src((4, 5), "f8"))),
    "abs": lambda src: abs(la.asarray(src((4, 5), "f4"))),
    "numpy ufunc dispatch": lambda src: np.hypot(la.asarray(src((4, 5), "f4")), src((5,), "f4")),
    "lazy ufunc": lambda src: la.sqrt(src((4, 5), "f4")),
    "ufunc with two outputs": lambda src: la.divmod(src((4, 5), "i4"), 3)[1],
    "broadcasting operands": lambda src: la.asarray(src((4, 1), "f4")) + src((5,), "f8"),
    "where": lambda src: la.where(la.asarray(src((4, 5), "f4")) > 0, src((4, 5), "f4"), 0.0),
    "clip": lambda src: la.clip(src((4, 5), "f4"), 0, src((5,), "f4")),
    "clip lower": lambda src: la.clip(src((4, 5), "i2"), 0),
    "astype": lambda src: la.astype(src((4, 5), "f8"), "i2"),
    "Array.astype": lambda src: la.asarray(src((4, 5), "f8")).astype("f4"),
    "elementwise of views and mosaics": lambda src: la.concatenate(
        [src((2, 5), "f4"), src((3, 5), "f4")]).T * la.broadcast_to(src((1,), "f4"), (5, 5)),
}


def sample_keys(shape: tuple[int, ...]) -> list[Any]:
    """Keys of every kind for ``shape``: ints, slices of any step, index lists
    with repeats, masks, None and Ellipsis."""
    out: list[Any] = [(), Ellipsis, None, np.s_[None, ..., None]]
    if not shape:
        return out
    if not shape[0]:
        return out + [np.s_[::-1], [], np.s_[..., None]]
    n = shape[0]
    out += [0, -1, np.s_[::-1], np.s_[n - 1 : 0 : -2], [n - 1, 0, 0], np.array([1, 0]) % n,
            [i % 2 == 0 for i in range(n)], np.s_[..., -1], np.s_[1:, None]]
    if len(shape) > 1:
        out += [np.s_[::2, [-1, 0, 0]], np.s_[0, ::-1], np.s_[[0, -1], :, None]]
    return out


@pytest.mark.parametrize("name", list(BUILDERS))
def test_building_and_indexing_reads_nothing(name):
    sources: list[Tripwire] = []

    def src(shape: Any, dtype: Any) -> Tripwire:
        kind = Ortho if "Ortho" in name else Tripwire
        sources.append(kind(shape, dtype))
        return sources[-1]

    node = BUILDERS[name](src)
    nodes = [node]
    for key in sample_keys(node.shape):
        once = node[key]
        nodes.append(once)
        nodes += [once[k] for k in sample_keys(once.shape)[:6]]
    if node.ndim:
        nodes += list(node)
    for each in nodes:
        # metadata never reads
        assert repr(each).startswith(f"<{type(each).__name__} shape={each.shape}")
        assert each.ndim == len(each.shape)
        assert each.nbytes == math.prod(each.shape) * each.dtype.itemsize
        assert each.fill_value is not None
    assert [s.touches for s in sources] == [[] for _ in sources]

    # Realising reads (when the node has sources), and never through __array__.
    if sources and node.size:
        with pytest.raises(AssertionError, match="InaccessibleArray was read"):
            node.ndarray()
        assert any(s.touches for s in sources)
        assert not any("__array__" in touch for s in sources for touch in s.touches)
    else:
        assert node.ndarray().shape == node.shape


def test_realising_one_selection_reads_only_its_tile():
    """The same graph realises without error where the selection avoids tripwires."""
    readable = np.arange(10.0).reshape(2, 5)
    mosaic = la.LinearMosaic([Tripwire((2, 5), "f8"), readable, Tripwire((2, 5), "f8")], 0)
    expression = (mosaic * 2).T[::-1, 2:4] + 1
    np.testing.assert_array_equal(expression.ndarray(), (readable * 2).T[::-1] + 1)


def test_evaluation_never_calls_array_protocol():
    """Sources are read by indexing, even when an evaluation reads them all."""

    class Recorder:
        def __init__(self, array: np.ndarray):
            self.array, self.shape, self.dtype, self.calls = array, array.shape, array.dtype, []

        def __getitem__(self, key: Any) -> np.ndarray:
            self.calls.append("getitem")
            return self.array[key]

        def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
            self.calls.append("__array__")
            return self.array

    source = Recorder(np.arange(6.0).reshape(2, 3))
    result = la.stack([la.concatenate([source, source], 1), la.zeros((2, 6))]).T + 1
    expected = np.stack([np.concatenate([source.array] * 2, 1), np.zeros((2, 6))]).T + 1
    np.testing.assert_array_equal(result.ndarray(), expected)
    assert source.calls and set(source.calls) == {"getitem"}
