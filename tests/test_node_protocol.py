"""A node class defined here alone plans like lazyarray's own (issue 14, point 2).

The planner names no node class: it asks each node, through the planner
protocol of :class:`lazyarray.Array`, how its axes lie over its inputs'.
:class:`Reverse`, written for these tests only, reverses one axis of its
input; it says so in one method (``_plan_placements``), and the planner then
sees its input's storage chunks reversed, cuts tiles on their edges, and
reads each stored chunk once, with no change to ``lazyarray/``.

Sources are small chunked HDF5 datasets in ``tmp_path``; every result is
compared with numpy.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import pytest

import lazyarray as la
from lazyarray.planning import chunk_edges
from lazyarray.planprotocol import Placement
from lazyarray.testing import assert_array_equal


class Reverse(la.Array):
    """``array`` reversed along ``axis``, as ``numpy.flip(array, axis)``.

    Indexing pushes the mirrored key down to the input, so a selection of a
    reversal is a selection of the source. ``log``, when given, records each
    key pushed down (one per tile an evaluation selects).
    """

    def __init__(self, array: Any, axis: int, log: list[tuple[Any, ...]] | None = None):
        self._array = la.asarray(array)
        self._axis = axis
        self._log = log

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def fill_value(self) -> Any:
        return self._array.fill_value

    @property
    def inputs(self) -> tuple[la.Array, ...]:
        return (self._array,)

    def _with_inputs(self, inputs: tuple[la.Array, ...]) -> la.Array:
        return Reverse(inputs[0], self._axis, self._log)

    def _mirrored(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """``key`` (normalised) of this node as the key of its input."""
        last = self.shape[self._axis] - 1
        item = key[self._axis]
        if isinstance(item, range):
            mirrored: Any = range(last - item.start, last - item.start - len(item) * item.step,
                                  -item.step)
            if mirrored.step < 0 and mirrored.stop < -1:  # the same elements, stop normalised
                mirrored = range(mirrored.start, -1, mirrored.step)
        else:
            mirrored = last - item  # an int, or an index array
        return key[: self._axis] + (mirrored,) + key[self._axis + 1 :]

    def _index_steps(self, key: Any) -> Any:
        mirrored = self._mirrored(key)
        if self._log is not None:
            self._log.append(mirrored)
        return (yield self._array._select_steps(mirrored))

    def _compute_steps(self, context: Any, masked: bool) -> Any:
        value = yield self._array._evaluate_steps(context, masked)
        return np.flip(value, self._axis)

    # -- planner protocol ---------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # Input position p along the reversed axis is position last - p here.
        last = self.shape[self._axis] - 1
        axes = tuple((a, last, -1) if a == self._axis else (a, 0, 1) for a in range(self.ndim))
        return (Placement(self._array, axes),)


def _dataset(tmp_path: Any, shape: tuple[int, ...], chunks: tuple[int, ...],
             compression: str | None = "gzip") -> tuple[h5py.Dataset, np.ndarray]:
    values = np.arange(np.prod(shape), dtype="f4").reshape(shape) * 0.5 - 3
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=values, chunks=chunks, compression=compression)
    return h5py.File(path, "r")["x"], values


def _chunks_touched(key: tuple[Any, ...], chunks: tuple[int, ...]) -> set[tuple[int, ...]]:
    """The stored chunks a (normalised) key of the source reads."""
    per_axis = []
    for item, c in zip(key, chunks):
        positions = (np.array([item]) if isinstance(item, int)
                     else np.arange(item.start, item.stop, item.step) if isinstance(item, range)
                     else np.asarray(item))
        per_axis.append(sorted(set((positions // c).tolist())))
    found: set[tuple[int, ...]] = {()}
    for ids in per_axis:
        found = {t + (i,) for t in found for i in ids}
    return found


def _every_chunk_once(log: list[tuple[Any, ...]], shape: tuple[int, ...],
                      chunks: tuple[int, ...], window: Any = None) -> None:
    """Every stored chunk is read by exactly one of the keys in ``log``, keys of
    the source, or of its ``window`` (a normalised key of it) when given."""
    seen: dict[tuple[int, ...], int] = {}
    for key in log:
        if window is not None:
            key = tuple(np.asarray(w)[np.atleast_1d(np.asarray(k))] if isinstance(w, range) else w
                        for w, k in zip(window, key))
        for chunk in _chunks_touched(key, chunks):
            seen[chunk] = seen.get(chunk, 0) + 1
    grid = tuple(-(-n // c) for n, c in zip(shape, chunks))
    assert set(seen) == set(np.ndindex(grid)), "some stored chunk was not read"
    assert set(seen.values()) == {1}, f"chunks read more than once: {seen}"


@pytest.mark.parametrize("axis", [0, 1])
def test_a_reversal_computes_as_numpy_flips(tmp_path, axis):
    dataset, values = _dataset(tmp_path, (10, 6), (4, 3))
    r = Reverse(dataset, axis)
    flipped = np.flip(values, axis)
    assert r.shape == flipped.shape and r.dtype == flipped.dtype
    assert_array_equal(r, flipped)
    for chunk_bytes in (24, 100, 10**6):
        np.testing.assert_array_equal(r.ndarray(chunk_bytes=chunk_bytes), flipped)
        np.testing.assert_allclose(la.mean(r, axis=0).ndarray(chunk_bytes=chunk_bytes),
                                   flipped.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(la.mean(Reverse(dataset, 0), axis=0).ndarray(),
                               values[::-1].mean(axis=0), rtol=1e-6)
    for key in [np.s_[1:7], np.s_[::-3], np.s_[[4, 0, 5]], np.s_[5], np.s_[:, 2:4],
                np.s_[8:1:-2, ::2], np.s_[3, [5, 0]]]:
        assert_array_equal(r[key], flipped[key])
        assert_array_equal((r * 2)[key], flipped[key] * 2)


def test_the_planner_sees_the_input_chunks_reversed(tmp_path):
    dataset, _ = _dataset(tmp_path, (10, 6), (4, 6))
    x = la.asarray(dataset)
    edges = chunk_edges(Reverse(x, 0))
    assert chunk_edges(x)[0].tolist() == [4, 8]
    assert edges[0].tolist() == [2, 6] and edges[1].tolist() == []
    assert chunk_edges(Reverse(x, 1))[0].tolist() == [4, 8]


@pytest.mark.parametrize("reduce", [False, True])
def test_tiles_end_on_the_reversed_chunk_edges_and_read_each_chunk_once(tmp_path, reduce):
    shape, chunks = (10, 6), (4, 6)
    dataset, values = _dataset(tmp_path, shape, chunks)
    log: list[tuple[Any, ...]] = []
    r = Reverse(dataset, 0, log)
    target = la.mean(r, axis=1) if reduce else r * 2
    chunk_bytes = 4 * 6 * 4  # one stored chunk of float32
    [step] = la.plan([target], chunk_bytes=chunk_bytes).passes
    # The stored chunks, rows 0-3, 4-7 and 8-9, are rows 6-9, 2-5 and 0-1 reversed.
    assert step.bounds[0] == (0, 2, 6, 10)
    assert step.read_bytes == step.stored_bytes == dataset.size * 4 and not step.notes
    with la.set_options(chunk_bytes=chunk_bytes):
        assert target.chunks == (((2, 4, 4),) if reduce else ((2, 4, 4), (6,)))
    result = target.ndarray(chunk_bytes=chunk_bytes)
    expected = values[::-1].mean(axis=1) if reduce else values[::-1] * 2
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    assert len(log) == step.tile_count == 3
    _every_chunk_once(log, shape, chunks)


def test_a_reversal_of_a_window_with_a_stride_reads_each_chunk_once(tmp_path):
    shape, chunks = (24, 5), (5, 5)
    dataset, values = _dataset(tmp_path, shape, chunks)
    log: list[tuple[Any, ...]] = []
    window = la.asarray(dataset)[1:23:2]  # source rows 1, 3, ... 21: chunks of 2 or 3 rows
    r = Reverse(window, 0, log)
    [step] = la.plan([r + 1], chunk_bytes=3 * 5 * 4).passes
    # Reversed, the window's rows 21 | 19 17 15 | 13 11 | 9 7 5 | 3 1 change chunk
    # after 1, 4, 6 and 9 of them: tiles of at most 3 rows end there.
    assert step.bounds[0] == (0, 1, 4, 6, 9, 11)
    assert step.read_bytes == step.stored_bytes
    np.testing.assert_array_equal((r + 1).ndarray(chunk_bytes=3 * 5 * 4),
                                  values[1:23:2][::-1] + 1)
    # Each tile reads the rows of one stored chunk that the window takes.
    _every_chunk_once(log, shape, chunks, window=(range(1, 23, 2), range(5)))


def test_reversed_members_of_a_mosaic_keep_their_chunks_whole(tmp_path):
    shape, chunks = (9, 4), (3, 4)
    dataset, values = _dataset(tmp_path, shape, chunks)
    x = la.asarray(dataset)
    log: list[tuple[Any, ...]] = []
    # Source rows 8 7 | 6 | 5 4 3 | 2 1 0: the parts' end (2) and, in the second
    # part, where the chunks of rows 3-5 and 0-2 begin reversed (3 and 6).
    m = la.concatenate([Reverse(x[7:], 0, log), Reverse(x[:7], 0, log)])
    expected = np.concatenate([values[7:][::-1], values[:7][::-1]])
    [step] = la.plan([m * 1], chunk_bytes=3 * 4 * 4).passes
    assert step.read_bytes == step.stored_bytes
    assert set(step.bounds[0]) >= {0, 2, 3, 6, 9}  # the parts' ends and their chunks' edges
    np.testing.assert_array_equal((m * 1).ndarray(chunk_bytes=3 * 4 * 4), expected)
    np.testing.assert_allclose(la.mean(m, 0).ndarray(chunk_bytes=3 * 4 * 4),
                               expected.mean(0), rtol=1e-6)
