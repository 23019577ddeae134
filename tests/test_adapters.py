"""Tests of lazyarray.adapters: every source indexes exactly like numpy, orthogonally.

One conformance class, :class:`AdapterConformance`, holds the properties; it is
subclassed once per kind of source (in-memory numpy, masked numpy, chunked and
contiguous HDF5, Zarr with and without shards, a generic numpy-like object,
an h5py dataset through the generic adapter, and an orthogonal source through
:class:`~lazyarray.OrthoArrayAdapter`). Every result is checked against
:func:`strategies.oindex` in values, shape and dtype, and the declared shape
and dtype against the realised ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
import zarr.storage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import arrays, keys, oindex, shapes

import lazyarray as la
from lazyarray.context import EvaluationContext
from lazyarray.testing import CountingArray, InaccessibleArray, assert_array_equal

#: ``wrap(array, draw)``: a lazy array over a new source holding ``array``;
#: ``draw`` (hypothesis's, or ``None`` for the simplest layout) draws the storage
#: layout (chunks, shards) when there is a choice.
Draw = Callable[..., Any] | None
Wrap = Callable[[np.ndarray, Draw], la.Array]


# -- sources that hold their library's limits ------------------------------


def _check_positive_slice(item: Any) -> None:
    """Fail unless ``item`` is a slice with a positive (or no) step."""
    assert isinstance(item, slice), f"expected a slice, got {item!r}"
    assert item.step is None or item.step > 0, f"slice with step {item.step} read"


def _check_increasing(item: Any) -> None:
    """Fail unless ``item`` is a 1-D strictly increasing integer array."""
    assert (
        isinstance(item, np.ndarray) and item.ndim == 1 and item.dtype.kind in "iu"
    ), item
    assert np.all(np.diff(item) > 0), f"index array {item} is not strictly increasing"


class NumpyLikeSource:
    """An array-like source indexed like numpy, within h5py's limits.

    It serves ints, slices of positive step and at most one strictly
    increasing index array per read (what the generic adapter promises to ask
    of any numpy-like library) and fails on anything else.
    """

    def __init__(self, array: np.ndarray):
        self._array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        assert len(items) <= len(self.shape), f"too many items in {key!r}"
        arrays = [item for item in items if isinstance(item, np.ndarray)]
        assert len(arrays) <= 1, f"{len(arrays)} index arrays in one read: {key!r}"
        for item in items:
            if isinstance(item, np.ndarray):
                _check_increasing(item)
            elif not isinstance(item, int):
                _check_positive_slice(item)
        return self._array[key]


class IncreasingOrthoSource:
    """An array-like source indexed orthogonally, with increasing index arrays only.

    Like a netCDF4 variable: any number of strictly increasing index arrays,
    slices of positive step, ints. Fails on anything else.
    """

    def __init__(self, array: np.ndarray):
        self._array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        assert len(items) == len(self.shape), f"expected one item per axis: {key!r}"
        for item in items:
            if isinstance(item, np.ndarray):
                _check_increasing(item)
            elif not isinstance(item, int):
                _check_positive_slice(item)
        return oindex(self._array, items)


def _chunks(draw: Draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A chunk shape for ``shape``: at most three chunks along each axis."""
    if draw is None:
        return tuple(max(n, 1) for n in shape)
    return tuple(draw(st.integers(max(1, math.ceil(n / 3)), max(n, 1))) for n in shape)


# -- the conformance class ----------------------------------------------------

#: Keys every adapter must refuse, on an array of shape (4, 5, 6):
#: (key, exception, message pattern).
INVALID_KEYS = [
    (4, la.IndexingError, r"index 4 is out of range for axis 0 with size 4"),
    (-5, la.IndexingError, r"index -5 is out of range for axis 0 with size 4"),
    ((0, 5), la.IndexingError, r"index 5 is out of range for axis 1 with size 5"),
    ((..., -7), la.IndexingError, r"index -7 is out of range for axis 2 with size 6"),
    ((0, [1, 5]), la.IndexingError, r"index 5 is out of range for axis 1 with size 5"),
    (([0, -5],), la.IndexingError, r"index -5 is out of range for axis 0 with size 4"),
    ((np.array([1, 4]),), la.IndexingError, r"index 4 is out of range for axis 0"),
    (([10**20],), la.IndexingError, r"index 100000000000000000000 is out of range"),
    (
        (np.array([2**63 + 5], np.uint64),),
        la.IndexingError,
        r"index 9223372036854775813 is out of range",
    ),
    (
        (0, 0, 0, 0),
        la.IndexingError,
        r"too many indices.* 3-dimensional.* 4 were indexed",
    ),
    ((None, 0, 0, 0, 0), la.IndexingError, r"too many indices.* 3-dimensional.* 4"),
    ((..., 0, ...), la.IndexingError, r"single ellipsis"),
    (([True, False],), la.IndexingError, r"length 2 does not match axis 0 with size 4"),
    ((0, [True] * 6), la.IndexingError, r"length 6 does not match axis 1 with size 5"),
    (1.5, TypeError, r"float"),
    ((0, np.float64(1.0)), TypeError, r"float"),
    ("a", TypeError, r"str"),
    ((slice(None), "a"), TypeError, r"str"),
    (([0.5, 1.5],), TypeError, r"integers or booleans"),
    (([[0, 1]],), TypeError, r"1-D"),
    ((np.zeros((2, 2), int),), TypeError, r"1-D"),
    ((np.ones((4, 5), bool),), TypeError, r"1-D"),
    (True, TypeError, r"boolean scalar"),
    ((slice(0, 2, 0),), ValueError, r"step"),
]


#: The conformance tests run once per subclass, by design: hypothesis's check
#: against one test function run from several classes does not apply.
conformance = settings(
    suppress_health_check=[
        *settings.default.suppress_health_check,
        HealthCheck.differing_executors,
    ]
)


#: Keys that random search rarely builds, on an array of shape (6, 5, 4).
TRICKY_KEYS = [
    pytest.param((slice(None, None, -1),), id="reversed"),
    pytest.param(([5, 1, 1, 3], slice(None, None, 2), [2, 0]), id="h5py-limits"),
    pytest.param((1, slice(None), [0, 1, 3]), id="int-slice-array"),
    pytest.param(([4, 0, 2], 3, slice(None, None, -2)), id="array-int-negative-step"),
    pytest.param((-1, [3, 3, 0, 1], [True, False, True, True]), id="int-array-mask"),
    pytest.param(([0, 2, 5], [1, 0, 4], [3, 1]), id="three-arrays"),
    pytest.param(([0, 2, 4], [4, 2, 0], slice(3, 0, -1)), id="progressions"),
    pytest.param((None, 2, ..., None, 1), id="new-axes"),
    pytest.param(([], slice(None), 0), id="empty-list"),
    pytest.param((slice(4, 1), [2, 2]), id="empty-slice"),
    pytest.param((np.array([5], np.uint8), -5, np.int64(-1)), id="numpy-ints"),
    pytest.param(((2, 0), (4,), (True, False, False, True)), id="tuples"),
    pytest.param((slice(-100, 100, 4), slice(100, -100, -3)), id="wide-bounds"),
    pytest.param((2, 3, 1), id="all-ints"),
]


class AdapterConformance:
    """The properties every adapter has; subclasses provide the ``wrap`` fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        """``wrap(array, draw)``: a lazy array over a new source holding ``array``."""
        raise NotImplementedError

    @pytest.mark.parametrize("key", TRICKY_KEYS)
    def test_getitem_tricky_key(self, wrap: Wrap, key: Any) -> None:
        array = np.arange(120, dtype="i4").reshape(6, 5, 4)
        assert_array_equal(wrap(array, None)[key], oindex(array, key))

    @conformance
    @given(data=st.data())
    def test_getitem_matches_numpy(self, wrap: Wrap, data: st.DataObject) -> None:
        array = data.draw(arrays(), label="array")
        key = data.draw(keys(array.shape), label="key")
        lazy = wrap(array, data.draw)[key]
        assert_array_equal(lazy, oindex(array, key))

    @conformance
    @given(data=st.data())
    def test_getitem_twice_matches_numpy(self, wrap: Wrap, data: st.DataObject) -> None:
        array = data.draw(arrays(), label="array")
        key1 = data.draw(keys(array.shape), label="key1")
        first = oindex(array, key1)
        key2 = data.draw(keys(first.shape), label="key2")
        assert_array_equal(wrap(array, data.draw)[key1][key2], oindex(first, key2))

    @conformance
    @given(data=st.data())
    def test_evaluate_gives_declared_shape_and_dtype(
        self, wrap: Wrap, data: st.DataObject
    ) -> None:
        # Mosaics and elementwise nodes build on their inputs' _evaluate, so
        # each selection must come back as an array of the declared dtype,
        # never as a scalar of another one.
        array = data.draw(arrays(), label="array")
        key = data.draw(keys(array.shape, new_axes=False), label="key")
        lazy = wrap(array, data.draw)[key]
        for masked in (False, True):
            value = EvaluationContext().evaluate(lazy, masked=masked)
            assert isinstance(value, np.ndarray)
            assert isinstance(value, np.ma.MaskedArray) == masked
            assert (value.shape, value.dtype) == (lazy.shape, lazy.dtype)

    @conformance
    @given(data=st.data())
    def test_keys_argument_matches_numpy(self, wrap: Wrap, data: st.DataObject) -> None:
        # Biggus's Adapter(source, keys=key) shows source[key]: one key, an item
        # per axis of the source, applied as indexing applies it.
        array = data.draw(arrays(), label="array")
        key = data.draw(keys(array.shape, new_axes=False), label="key")
        adapter = wrap(array, data.draw)
        keyed = type(adapter)(adapter.concrete, keys=key)
        assert_array_equal(keyed, oindex(array, key))
        assert_array_equal(keyed, adapter[key])
        if not isinstance(key, tuple):
            assert_array_equal(type(adapter)(adapter.concrete, keys=(key,)), oindex(array, key))

    def test_keys_argument_is_one_key(self, wrap: Wrap) -> None:
        # The case: a reversed stride on the second axis, not two keys in turn.
        array = np.arange(60).reshape(5, 12)
        adapter = wrap(array, None)
        keyed = type(adapter)(adapter.concrete, keys=(slice(None), slice(None, None, -3)))
        assert keyed.shape == (5, 4)
        assert_array_equal(keyed, array[:, ::-3])
        with pytest.raises(IndexError, match="None"):
            type(adapter)(adapter.concrete, keys=(None, 0))

    @pytest.mark.parametrize("key, error, match", INVALID_KEYS)
    def test_invalid_key_raises(
        self, wrap: Wrap, key: Any, error: type, match: str
    ) -> None:
        source = wrap(np.zeros((4, 5, 6), "f4"), None)
        with pytest.raises(error, match=match):
            source[key]

    def test_index_error_is_an_index_error(self, wrap: Wrap) -> None:
        with pytest.raises(IndexError):
            wrap(np.zeros(3, "i2"), None)[3]


# -- one subclass per source kind -----------------------------------------------


class TestNumpyArrayAdapter(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        return lambda array, draw: la.NumpyArrayAdapter(array)


class TestMaskedNumpyArrayAdapter(AdapterConformance):
    """A masked source whose masked points hold the fill value, so ``ndarray()`` is ``array``."""

    @staticmethod
    def masked(array: np.ndarray) -> np.ma.MaskedArray:
        """``array`` masked where it equals its first element, filled with that element."""
        if array.size == 0:
            return np.ma.masked_array(array, mask=np.zeros(array.shape, bool))
        first = array.flat[0]
        return np.ma.masked_array(array, mask=array == first, fill_value=first)

    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        return lambda array, draw: la.NumpyArrayAdapter(cls.masked(array))

    @given(data=st.data())
    def test_masked_array_matches_numpy(self, data: st.DataObject) -> None:
        array = data.draw(arrays(), label="array")
        key = data.draw(keys(array.shape), label="key")
        source = self.masked(array)
        expected = np.ma.masked_array(
            oindex(array, key), mask=oindex(np.ma.getmaskarray(source), key)
        )
        assert_array_equal(la.asarray(source)[key], expected)


@pytest.fixture(scope="module")
def h5file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[h5py.File]:
    """One HDF5 file per module; each source is a new small dataset in it."""
    with h5py.File(tmp_path_factory.mktemp("hdf5") / "sources.h5", "w") as file:
        yield file


def _hdf5_dataset(
    file: h5py.File, array: np.ndarray, chunks: tuple[int, ...] | None
) -> h5py.Dataset:
    """A new dataset of ``file`` holding ``array``, chunked as asked."""
    name = f"x{len(file)}"
    if chunks is None or array.ndim == 0:  # scalar datasets cannot be chunked
        return file.create_dataset(name, data=array)
    # HDF5 refuses chunks longer than a fixed axis, so zero-length axes are resizable.
    maxshape = tuple(None if n == 0 else n for n in array.shape)
    return file.create_dataset(name, data=array, chunks=chunks, maxshape=maxshape)


class TestHDF5ChunkedAdapter(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls, h5file: h5py.File) -> Wrap:
        return lambda array, draw: la.HDF5ArrayAdapter(
            _hdf5_dataset(h5file, array, _chunks(draw, array.shape))
        )


class TestHDF5ContiguousAdapter(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls, h5file: h5py.File) -> Wrap:
        return lambda array, draw: la.HDF5ArrayAdapter(
            _hdf5_dataset(h5file, array, None)
        )


class TestNumpyArrayAdapterOverHDF5(AdapterConformance):
    """Biggus allowed an ``h5py.Dataset`` in ``NumpyArrayAdapter``: the generic path."""

    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls, h5file: h5py.File) -> Wrap:
        return lambda array, draw: la.NumpyArrayAdapter(
            _hdf5_dataset(h5file, array, _chunks(draw, array.shape))
        )


def _zarr_array(array: np.ndarray, draw: Draw) -> zarr.Array:
    """A new in-memory Zarr array holding ``array``, sometimes sharded."""
    chunks = _chunks(draw, array.shape)
    shards = None
    if draw is not None and array.ndim and draw(st.booleans(), label="sharded"):
        shards = tuple(c * draw(st.integers(1, 2)) for c in chunks)
    z = zarr.create_array(
        zarr.storage.MemoryStore(),
        shape=array.shape,
        dtype=array.dtype,
        chunks=chunks or "auto",
        shards=shards,
    )
    z[...] = array
    return z


class TestZarrArrayAdapter(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        return lambda array, draw: la.ZarrArrayAdapter(_zarr_array(array, draw))


class TestNumpyArrayAdapterOverArrayLike(AdapterConformance):
    """The generic adapter over an object indexed like numpy, within h5py's limits."""

    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        return lambda array, draw: la.NumpyArrayAdapter(NumpyLikeSource(array))

    @given(data=st.data())
    def test_reads_each_element_once_within_the_selection(
        self, data: st.DataObject
    ) -> None:
        array = data.draw(arrays(), label="array")
        key = data.draw(keys(array.shape, new_axes=False), label="key")
        source = CountingArray(array)
        lazy = la.NumpyArrayAdapter(source)[key]
        assert_array_equal(lazy, oindex(array, key))
        # In one tile (as here), elements are read at most once, and only inside
        # the selection's bounding box.
        assert source.counts.max(initial=0) <= 1
        outside = ~_bounding_box(_selection_mask(array.shape, key))
        assert not np.any(source.counts[outside])


class TestOrthoArrayAdapter(AdapterConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def wrap(cls) -> Wrap:
        return lambda array, draw: la.OrthoArrayAdapter(IncreasingOrthoSource(array))


def _selection_mask(shape: tuple[int, ...], key: Any) -> np.ndarray:
    """Boolean array of ``shape``: True at the elements ``key`` selects."""
    positions = oindex(np.arange(math.prod(shape)).reshape(shape), key)
    mask = np.zeros(math.prod(shape), bool)
    mask[positions.ravel()] = True
    return mask.reshape(shape)


def _bounding_box(selected: np.ndarray) -> np.ndarray:
    """Boolean array: True inside the smallest box holding every True of ``selected``."""
    box = np.zeros(selected.shape, bool)
    if not selected.any():
        return box
    ranges = []
    for axis in range(selected.ndim):
        hit = np.flatnonzero(
            selected.any(axis=tuple(a for a in range(selected.ndim) if a != axis))
        )
        ranges.append(slice(hit[0], hit[-1] + 1))
    box[tuple(ranges)] = True
    return box


# -- storage, laziness, dispatch ---------------------------------------------------


def _hdf5(tmp_path: Any, chunks: Any) -> la.Array:
    """An adapter over a new (6, 5, 4) int32 HDF5 dataset with ``chunks``."""
    file = h5py.File(tmp_path / f"chunks{chunks}.h5", "w")
    return la.HDF5ArrayAdapter(
        file.create_dataset(
            "x", data=np.arange(120, dtype="i4").reshape(6, 5, 4), chunks=chunks
        )
    )


def _zarr(tmp_path: Any, chunks: Any, shards: Any = None) -> la.Array:
    """An adapter over a new (6, 5, 4) int32 Zarr array on disk."""
    z = zarr.create_array(
        zarr.storage.LocalStore(tmp_path / "x.zarr"),
        shape=(6, 5, 4),
        dtype="i4",
        chunks=chunks,
        shards=shards,
    )
    z[...] = np.arange(120, dtype="i4").reshape(6, 5, 4)
    return la.ZarrArrayAdapter(z)


#: (factory of an adapter over a (6, 5, 4) source, the chunks it reports)
CHUNKS = [
    pytest.param(lambda tmp: _hdf5(tmp, (2, 5, 1)), (2, 5, 1), id="hdf5-chunked"),
    pytest.param(lambda tmp: _hdf5(tmp, None), None, id="hdf5-contiguous"),
    pytest.param(lambda tmp: _zarr(tmp, (3, 2, 4)), (3, 2, 4), id="zarr"),
    pytest.param(
        lambda tmp: _zarr(tmp, (1, 1, 2), (2, 5, 4)), (2, 5, 4), id="zarr-sharded"
    ),
    pytest.param(lambda tmp: la.asarray(np.zeros((6, 5, 4))), None, id="numpy"),
    pytest.param(
        lambda tmp: la.asarray(np.ma.zeros((6, 5, 4))), None, id="numpy-masked"
    ),
    pytest.param(
        lambda tmp: la.asarray(InaccessibleArray((6, 5, 4), "f4")),
        None,
        id="array-like",
    ),
]


@pytest.mark.parametrize("make, chunks", CHUNKS)
def test_chunks_are_the_storage_chunks(tmp_path: Any, make: Any, chunks: Any) -> None:
    adapter = make(tmp_path)
    assert adapter.storage_chunks == chunks
    assert adapter[1:, ::-1].storage_chunks == chunks  # a view reads the same storage


@pytest.mark.parametrize("key", TRICKY_KEYS[:2])
@pytest.mark.parametrize("chunks", [None, (4, 2, 3)])
def test_hdf5_reads_what_h5py_cannot_index(
    tmp_path: Any, key: Any, chunks: Any
) -> None:
    # h5py refuses negative steps, unsorted or repeated lists and two lists in one read.
    adapter = _hdf5(tmp_path, chunks)
    array = np.arange(120, dtype="i4").reshape(6, 5, 4)
    with pytest.raises((TypeError, ValueError)):
        adapter.concrete[key]
    assert_array_equal(adapter[key], oindex(array, key))


def test_hdf5_indexing_keeps_the_dataset() -> None:
    # An in-memory file has no path to reopen: views must use the open dataset.
    with h5py.File("memory.h5", "w", driver="core", backing_store=False) as file:
        adapter = la.asarray(file.create_dataset("x", data=np.arange(10.0)))
        view = adapter[2:8][::-2]
        assert view.concrete is adapter.concrete
        assert_array_equal(view, np.arange(10.0)[2:8][::-2])


@given(data=st.data())
def test_adapters_over_inaccessible_sources_read_nothing(data: st.DataObject) -> None:
    shape = data.draw(shapes(), label="shape")
    dtype = data.draw(st.sampled_from(["f4", "i8", "?", "c16"]), label="dtype")
    key1 = data.draw(keys(shape), label="key1")
    first = oindex(np.zeros(shape, dtype), key1)
    key2 = data.draw(keys(first.shape), label="key2")
    second = oindex(first, key2)
    source = InaccessibleArray(shape, dtype)
    for adapter in (
        la.asarray(source),
        la.NumpyArrayAdapter(source),
        la.OrthoArrayAdapter(source),
    ):
        view = adapter[key1]
        assert (view.shape, view.dtype) == (first.shape, first.dtype)
        assert (view[key2].shape, view[key2].dtype) == (second.shape, second.dtype)
        assert f"shape={second.shape}" in repr(view[key2])


#: (source factory, the adapter class :func:`lazyarray.asarray` picks for it)
DISPATCH = [
    pytest.param(lambda tmp: np.arange(3), la.NumpyArrayAdapter, id="ndarray"),
    pytest.param(lambda tmp: np.ma.arange(3), la.NumpyArrayAdapter, id="masked"),
    pytest.param(lambda tmp: [[1, 2], [3, 4]], la.NumpyArrayAdapter, id="list"),
    pytest.param(
        lambda tmp: InaccessibleArray((2,), "i1"), la.NumpyArrayAdapter, id="array-like"
    ),
    pytest.param(lambda tmp: _hdf5(tmp, None).concrete, la.HDF5ArrayAdapter, id="hdf5"),
    pytest.param(
        lambda tmp: _zarr(tmp, (3, 5, 4)).concrete, la.ZarrArrayAdapter, id="zarr"
    ),
]


@pytest.mark.parametrize("make, adapter", DISPATCH)
def test_asarray_picks_the_adapter(tmp_path: Any, make: Any, adapter: type) -> None:
    source = make(tmp_path)
    lazy = la.asarray(source)
    assert type(lazy) is adapter
    assert lazy.shape == np.shape(source)
    assert la.asarray(lazy) is lazy


@pytest.mark.parametrize(
    "adapter, source",
    [
        (la.HDF5ArrayAdapter, np.zeros(3)),
        (la.ZarrArrayAdapter, np.zeros(3)),
        (la.NumpyArrayAdapter, object()),
        (la.OrthoArrayAdapter, [1, 2]),
    ],
)
def test_adapters_refuse_other_sources(adapter: type, source: Any) -> None:
    with pytest.raises(TypeError, match=adapter.__name__):
        adapter(source)
