"""Tests of lazyarray/storage/hdf5/{headers,btree,chunkindex}.py: what an HDF5 file states,
read from the file.

The superblock read must be where HDF5 found it (its user block size), the
object header must state the dataset's dimensions and layout, and the table
read from the B-tree must hold exactly the chunks HDF5 reports (origins,
stored sizes, filter masks, and addresses relative to the base address),
for any shape, chunking, allocation, filters, user block and object header
version; whatever it cannot read (another index, a corrupt node or header)
gives ``None``, and the chunk index then comes from HDF5.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lazyarray.storage import hdf5
from lazyarray.storage.hdf5 import btree, checksums, chunkindex, headers

_names = itertools.count()


def _sorted(table: np.ndarray, rank: int) -> np.ndarray:
    """``table``'s rows in C order of the chunks' origins."""
    return table[np.lexsort(table[:, :rank].T[::-1])] if len(table) else table


@contextmanager
def _opened(path: Path, name: str = "x") -> Iterator[tuple[h5py.Dataset, int]]:
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            yield f[name], fd
    finally:
        os.close(fd)


def _read_table(dataset: h5py.Dataset, fd: int, base: int = 0) -> np.ndarray | None:
    return btree.chunk_table(fd, h5py.h5o.get_info(dataset.id).addr, base, dataset.shape,
                               dataset.chunks, dataset.dtype.itemsize)


def _assert_same_chunks(dataset: h5py.Dataset, table: np.ndarray | None) -> None:
    """``table`` holds HDF5's chunks of ``dataset``, addresses relative to the base address."""
    assert table is not None
    assert table.dtype == np.int64 and table.shape == (dataset.id.get_num_chunks(), dataset.ndim + 3)
    ours = _sorted(table, dataset.ndim)
    base = dataset.file.userblock_size
    theirs = _sorted(chunkindex.hdf5_table(dataset, base), dataset.ndim)
    np.testing.assert_array_equal(ours[:, :-3], theirs[:, :-3])  # origins
    np.testing.assert_array_equal(ours[:, -2:], theirs[:, -2:])  # sizes, filter masks
    # Relative to the base address, which HDF5's reports (made file offsets) are not.
    np.testing.assert_array_equal(ours[:, -3] + base, theirs[:, -3])


def _storage(dataset: h5py.Dataset, fd: int) -> hdf5.Storage:
    storage = hdf5.storage_facts(dataset, fd)
    assert storage is not None
    return storage


def _hdf5_index(dataset: h5py.Dataset, storage: hdf5.Storage) -> hdf5.ChunkIndex:
    """The chunk index made from HDF5's report of the chunks alone."""
    table = chunkindex.hdf5_table(dataset, storage.base)
    return hdf5.ChunkIndex.from_table(dataset, table, storage.layout)


def _assert_same_index(a: hdf5.ChunkIndex, b: hdf5.ChunkIndex) -> None:
    assert a.chunks == b.chunks
    for name in ("offsets", "sizes", "masks"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), strict=True)


@st.composite
def stored(draw: Any) -> dict[str, Any]:
    """A dataset to write: shape, chunks of at most 1500 in the grid, part written."""
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 40), min_size=rank, max_size=rank)))
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    grid = [-(-n // c) for n, c in zip(shape, chunks)]
    while np.prod(grid) > 1500:
        axis = int(np.argmax(grid))
        chunks = chunks[:axis] + (min(shape[axis], chunks[axis] * 2),) + chunks[axis + 1:]
        grid = [-(-n // c) for n, c in zip(shape, chunks)]
    written = tuple(
        slice(a, draw(st.integers(a, n)))
        for a, n in zip((draw(st.integers(0, n - 1)) for n in shape), shape)
    )
    return {
        "shape": shape,
        "chunks": chunks,
        "written": written,
        "dtype": draw(st.sampled_from(["<f4", ">i2", "u1", "<f8"])),
        "filters": draw(st.sampled_from([{}, {"compression": "gzip", "shuffle": True},
                                         {"fletcher32": True}])),
        "track_order": draw(st.booleans()),
        # The 1.8 format: version 2 object headers (and superblock), still the B-tree.
        "libver": draw(st.sampled_from([None, ("v108", "v108")])),
        "userblock": draw(st.sampled_from([0, 512])),
    }


@settings(max_examples=60, deadline=None)
@given(case=stored())
def test_table_holds_the_chunks_hdf5_reports(
    case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.getbasetemp() / f"btree-{next(_names)}.h5"
    rng = np.random.default_rng(len(case["shape"]))
    with h5py.File(path, "w", userblock_size=case["userblock"], libver=case["libver"]) as f:
        x = f.create_dataset("x", shape=case["shape"], chunks=case["chunks"], dtype=case["dtype"],
                             track_order=case["track_order"], **case["filters"])
        part = x[case["written"]]
        x[case["written"]] = rng.integers(0, 100, part.shape).astype(case["dtype"])
    with _opened(path) as (dataset, fd):
        _assert_same_chunks(dataset, _read_table(dataset, fd, case["userblock"]))
        assert case["userblock"] == 0 or _read_table(dataset, fd, 0) is None
        # The chunk index built from it is HDF5's, file offsets included, and
        # the direct reader reads what h5py does.
        storage = _storage(dataset, fd)
        assert storage.base == case["userblock"] and storage.layout.version == 3
        _assert_same_index(hdf5.ChunkIndex.build(dataset, storage),
                           _hdf5_index(dataset, storage))
        reader = hdf5.direct_reader(dataset)
        assert reader is not None
        out = np.empty(dataset.shape, dataset.dtype)
        reader.read(tuple(range(n) for n in dataset.shape), out)
        np.testing.assert_array_equal(out, dataset[...])
    path.unlink()


def test_deep_trees_are_read_whole(tmp_path: Path) -> None:
    # 5000 chunks: leaves of at most 64, two levels of nodes above them.
    path = tmp_path / "deep.h5"
    data = np.arange(5000 * 3, dtype="<i4").reshape(5000, 3)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, chunks=(1, 3))
    with _opened(path) as (dataset, fd):
        table = _read_table(dataset, fd)
        _assert_same_chunks(dataset, table)
        assert table is not None and len(table) == 5000


def test_nothing_written_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(10, 10), chunks=(3, 3), dtype="f4")
    with _opened(path) as (dataset, fd):
        table = _read_table(dataset, fd)
        assert table is not None and table.shape == (0, 5)
        assert dataset.id.get_num_chunks() == 0


def test_other_chunk_indexes_are_left_to_hdf5(tmp_path: Path) -> None:
    # The latest file format indexes chunks otherwise (layout version 4).
    path = tmp_path / "latest.h5"
    data = np.arange(600.0).reshape(20, 30)
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("x", data=data, chunks=(3, 4))
        f.create_dataset("y", data=data, chunks=(3, 4), maxshape=(None, 30))
    with h5py.File(path, "r") as f, _opened(path) as (dataset, fd):
        for name in ("x", "y"):
            assert _read_table(f[name], fd) is None
            storage = _storage(f[name], fd)
            assert storage.layout.version >= 4
            index = hdf5.ChunkIndex.build(f[name], storage)
            _assert_same_index(index, _hdf5_index(f[name], storage))
        reader = hdf5.direct_reader(dataset)
        assert reader is not None
        out = np.empty(data.shape)
        reader.read((range(20), range(30)), out)
        np.testing.assert_array_equal(out, data)


def test_contiguous_and_compact_datasets_have_no_table(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("contiguous", data=np.arange(100.0))
        f.create_dataset("compact", data=np.arange(4.0),
                         dcpl=_compact_plist())
    with h5py.File(path, "r") as f, _opened(path, "contiguous") as (_, fd):
        for name in ("contiguous", "compact"):
            d = f[name]
            table = btree.chunk_table(fd, h5py.h5o.get_info(d.id).addr, 0, d.shape, (10,), 8)
            assert table is None


def _compact_plist() -> Any:
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(h5py.h5d.COMPACT)
    return plist


def _chunked_file(path: Path) -> np.ndarray:
    data = np.arange(40 * 30, dtype="<f4").reshape(40, 30)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=data, chunks=(2, 2))
    return data


def _first_leaf(path: Path) -> int:
    """The file offset of a leaf node of chunks (a node of type 1, level 0)."""
    content = path.read_bytes()
    at = content.find(b"TREE\x01\x00")
    assert at > 0
    return at


@pytest.mark.parametrize("damage", ["signature", "node type", "misaligned key", "outside key",
                                    "level", "truncated", "child beyond 2**63", "cycle"])
def test_a_damaged_tree_gives_none(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "good.h5"
    _chunked_file(path)
    bad = tmp_path / "bad.h5"
    shutil.copy(path, bad)
    leaf = _first_leaf(path)
    with open(bad, "r+b") as f:
        if damage == "signature":
            f.seek(leaf)
            f.write(b"TRFE")
        elif damage == "node type":
            f.seek(leaf + 4)
            f.write(b"\x00")
        elif damage == "misaligned key":
            f.seek(leaf + 24 + 8)  # the first key's origin along axis 0
            f.write((1).to_bytes(8, "little"))
        elif damage == "outside key":
            f.seek(leaf + 24 + 8)
            f.write((400).to_bytes(8, "little"))
        elif damage == "level":
            f.seek(leaf + 5)
            f.write(b"\x07")
        elif damage in ("child beyond 2**63", "cycle"):
            # The root (level 1): its first child's address, after its first key.
            root = path.read_bytes().find(b"TREE\x01\x01")
            assert root > 0
            f.seek(root + 24 + 8 + 8 * 3)
            f.write(b"\xff" * 8 if damage == "child beyond 2**63" else root.to_bytes(8, "little"))
        else:
            f.truncate(leaf + 30)
    with h5py.File(path, "r") as f:
        header = h5py.h5o.get_info(f["x"].id).addr
    fd = os.open(bad, os.O_RDONLY)
    try:
        assert btree.chunk_table(fd, header, 0, (40, 30), (2, 2), 4) is None
    finally:
        os.close(fd)


def test_a_table_short_of_chunks_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # HDF5's count of chunks is the check that no subtree was missed.
    path = tmp_path / "x.h5"
    data = _chunked_file(path)
    read = btree.btree_chunks
    monkeypatch.setattr(btree, "btree_chunks", lambda *a: read(*a)[:-1])
    with _opened(path) as (dataset, fd):
        assert chunkindex.btree_table(dataset, _storage(dataset, fd)) is None
        reader = hdf5.direct_reader(dataset)
        assert reader is not None
        out = np.empty(data.shape, data.dtype)
        reader.read((range(40), range(30)), out)
        np.testing.assert_array_equal(out, data)


def test_default_files_are_indexed_without_hdf5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.h5"
    data = _chunked_file(path)

    def refuse(*args: Any) -> np.ndarray:
        raise AssertionError("the chunk index was asked of HDF5")

    monkeypatch.setattr(chunkindex, "hdf5_table", refuse)
    with _opened(path) as (dataset, _):
        reader = hdf5.direct_reader(dataset)
        assert reader is not None
        out = np.empty((5, 7), data.dtype)
        reader.read((range(3, 8), range(20, 27)), out)
        np.testing.assert_array_equal(out, data[3:8, 20:27])


@pytest.fixture(scope="module", params=[None, "v108"], ids=["header-v1", "header-v2"])
def metadata(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int, list[int]]:
    """A file of one chunked dataset (a version 1 or 2 object header, 300 chunks in
    a tree of two levels), its object header's address and the offsets of its
    metadata: the object header and every B-tree node of chunks."""
    path = tmp_path_factory.mktemp("fuzz") / "x.h5"
    with h5py.File(path, "w", libver=request.param) as f:
        f.create_dataset("x", data=np.arange(1200, dtype="<f4").reshape(40, 30), chunks=(2, 2))
        header = h5py.h5o.get_info(f["x"].id).addr
    content = path.read_bytes()
    spans = [range(header, header + 256)]
    at = content.find(b"TREE\x01")
    while at >= 0:
        spans.append(range(at, at + 24 + 64 * 40))
        at = content.find(b"TREE\x01", at + 1)
    return content, header, [i for span in spans for i in span if i < len(content)]


@settings(max_examples=75, deadline=None)
@given(data=st.data())
def test_damaged_metadata_never_raises(
    data: Any, metadata: tuple[bytes, int, list[int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    content, header, where = metadata
    damaged = bytearray(content)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.sampled_from(where))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.getbasetemp() / f"fuzz-{next(_names)}.h5"
    path.write_bytes(bytes(damaged))
    fd = os.open(path, os.O_RDONLY)
    try:
        table = btree.chunk_table(fd, header, 0, (40, 30), (2, 2), 4)
    finally:
        os.close(fd)
        path.unlink()
    # Damage is caught (None), or missed where it changed nothing the table
    # holds (padding, sibling addresses, other messages of a version 1 header)
    # or only chunk addresses, sizes and masks, which HDF5 would read as they
    # are too.
    if table is not None:
        assert table.dtype == np.int64 and table.ndim == 2 and table.shape[1] == 5
        origins = table[:, :2]
        assert np.all(origins % 2 == 0) and np.all(origins < [40, 30])


# -- the superblock, checksums and object headers ------------------------------------------


def _superblock_of(path: Path) -> headers.Superblock | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return headers.read_superblock(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("libver, version", [(None, 0), (("v108", "v108"), 2), ("latest", 3)])
@pytest.mark.parametrize("userblock", [0, 512, 1024, 4096])
def test_the_superblock_is_where_hdf5_finds_it(tmp_path: Path, userblock: int, libver: Any,
                                               version: int) -> None:
    path = tmp_path / "s.h5"
    with h5py.File(path, "w", userblock_size=userblock, libver=libver) as f:
        f.create_dataset("x", data=np.arange(10.0))
    if userblock:
        # A user block holding the signature where HDF5 does not look.
        with open(path, "r+b") as file:
            for at in range(8, userblock, 300):
                file.seek(at)
                file.write(headers.SIGNATURE)
    superblock = _superblock_of(path)
    with h5py.File(path, "r") as f:
        assert superblock == headers.Superblock(version, f.userblock_size, userblock, 8, 8)


@pytest.mark.parametrize("libver", [None, "latest"])
def test_a_damaged_superblock_gives_none(tmp_path: Path, libver: Any) -> None:
    path = tmp_path / "s.h5"
    with h5py.File(path, "w", userblock_size=512, libver=libver):
        pass
    good = path.read_bytes()
    assert _superblock_of(path) is not None
    for at, value in [(512 + 8, 9), (512 + 13 if libver is None else 512 + 20, 1)]:
        bad = bytearray(good)
        bad[at] ^= value  # an unknown version; a size of offsets, or the base under its checksum
        path.write_bytes(bytes(bad))
        assert _superblock_of(path) is None
    path.write_bytes(good[:520])  # the signature, and nothing after it
    assert _superblock_of(path) is None
    path.write_bytes(bytes(4096))
    assert _superblock_of(path) is None


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=200), initval=st.integers(0, 2**32 - 1))
def test_lookup3_bytes_one_at_a_time(data: bytes, initval: int) -> None:
    """lookup3 equals a byte-at-a-time transcription of ``hashlittle``'s tail switch."""
    mask = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & mask

    a = b = c = (0xDEADBEEF + len(data) + initval) & mask
    rest = data
    while len(rest) > 12:
        a = (a + int.from_bytes(rest[0:4], "little")) & mask
        b = (b + int.from_bytes(rest[4:8], "little")) & mask
        c = (c + int.from_bytes(rest[8:12], "little")) & mask
        for x, y, z, k in [("a", "c", "b", 4), ("b", "a", "c", 6), ("c", "b", "a", 8),
                           ("a", "c", "b", 16), ("b", "a", "c", 19), ("c", "b", "a", 4)]:
            v = {"a": a, "b": b, "c": c}
            v[x] = ((v[x] - v[y]) & mask) ^ rot(v[y], k)
            v[y] = (v[y] + v[z]) & mask
            a, b, c = v["a"], v["b"], v["c"]
        rest = rest[12:]
    if rest:
        for i, byte in enumerate(rest):
            if i < 4:
                a = (a + (byte << (8 * i))) & mask
            elif i < 8:
                b = (b + (byte << (8 * (i - 4)))) & mask
            else:
                c = (c + (byte << (8 * (i - 8)))) & mask
        for x, y, k in [("c", "b", 14), ("a", "c", 11), ("b", "a", 25), ("c", "b", 16),
                        ("a", "c", 4), ("b", "a", 14), ("c", "b", 24)]:
            v = {"a": a, "b": b, "c": c}
            v[x] = ((v[x] ^ v[y]) - rot(v[y], k)) & mask
            a, b, c = v["a"], v["b"], v["c"]
    assert checksums.lookup3(data, initval) == c


def test_lookup3_is_hdf5s_checksum(tmp_path: Path) -> None:
    """Every version 2 object header and superblock HDF5 writes checks out."""
    path = tmp_path / "latest.h5"
    with h5py.File(path, "w", libver="latest") as f:
        for i in range(5):
            f.create_dataset(f"x{i}", data=np.arange(i + 1.0), chunks=(1,))
            f[f"x{i}"].attrs["a" * (i + 1)] = np.arange(10 * i)  # headers of several sizes
    content = path.read_bytes()
    assert checksums.lookup3(content[:44]) == int.from_bytes(content[44:48], "little")
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            for name in f:
                header = h5py.h5o.get_info(f[name].id).addr
                assert content[header : header + 4] == b"OHDR"
                stated = headers.read_dataset_header(fd, header, 0)
                assert stated is not None and stated.dims == f[name].shape
    finally:
        os.close(fd)


@pytest.mark.parametrize("libver", [None, "v108"], ids=["header-v1", "header-v2"])
def test_header_addresses_count_from_the_base_address(tmp_path: Path, libver: Any) -> None:
    """HDF5 gives an object's address relative to the base address (its native token)."""
    path = tmp_path / "h.h5"
    with h5py.File(path, "w", userblock_size=1024, libver=libver) as f:
        f.create_dataset("x", data=np.zeros((4, 5), "<i2"), chunks=(2, 5))
        f.create_dataset("c", data=np.zeros((3, 7), "<f4"))
    with _opened(path) as (_, fd), h5py.File(path, "r") as f:
        for name, layout_class in (("x", headers.CHUNKED), ("c", headers.CONTIGUOUS)):
            header = h5py.h5o.get_info(f[name].id).addr
            stated = headers.read_dataset_header(fd, header, 1024)
            assert stated is not None and stated.dims == f[name].shape
            assert stated.layout.layout_class == layout_class
            assert headers.read_dataset_header(fd, header, 0) != stated
        contiguous = headers.read_dataset_header(fd, h5py.h5o.get_info(f["c"].id).addr, 1024)
        assert contiguous is not None and contiguous.layout.address is not None
        assert contiguous.layout.address + 1024 == f["c"].id.get_offset()
        assert contiguous.layout.size == 3 * 7 * 4


def test_a_damaged_version_2_header_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "h.h5"
    with h5py.File(path, "w", libver="v108") as f:
        f.create_dataset("x", data=np.zeros((4, 5)), chunks=(2, 5))
        header = h5py.h5o.get_info(f["x"].id).addr
    content = bytearray(path.read_bytes())
    assert content[header : header + 4] == b"OHDR"
    content[header + 40] ^= 0x10  # somewhere among its messages, under the checksum
    path.write_bytes(bytes(content))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert headers.read_dataset_header(fd, header, 0) is None
    finally:
        os.close(fd)
