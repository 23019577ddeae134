"""The HDF5 fast paths rely on what the file states, never on guesses (DESIGN, section 10c).

The direct reader (lazyarray/storage/hdf5/) finds a dataset's bytes
from the superblock's base address, the object header's layout message and
the chunk index. These tests put it on the files where a guess would go
wrong: user blocks of every size holding zeros, junk or a copy of the stored
data; all-zero first chunks and all-zero files (which a zero-filled user
block matches byte for byte); partly written datasets; every filter it
decodes; contiguous and chunked layouts in HDF5's default and latest file
formats; files netCDF-4 wrote or added to; superblocks moved behind a user
block afterwards; layouts whose partial edge chunks are stored unfiltered.
Every read is compared with h5py's and with the numpy data written, and the
fast path must be taken on every file that states what it needs.

The cases a random draw rarely makes are forced in a fixed cross product
(:func:`test_fixed_cases`, data from a fixed seed), so that they always run;
the hypothesis property (:func:`test_any_file`) mixes them further.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyarray as la
from lazyarray.storage.hdf5 import (
    ChunkedReader,
    ContiguousReader,
    checksums,
    chunkindex,
    direct_reader,
    headers,
    unsupported_reason,
)

#: Filter pipelines the direct reader decodes, as h5py's create_dataset keywords.
FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "gzip": {"compression": "gzip", "compression_opts": 1},
    "shuffle": {"shuffle": True},
    "fletcher32": {"fletcher32": True},
    "gzip+shuffle": {"compression": "gzip", "shuffle": True},
    "gzip+fletcher32": {"compression": "gzip", "fletcher32": True},
    "shuffle+fletcher32": {"shuffle": True, "fletcher32": True},
    "gzip+shuffle+fletcher32": {"compression": "gzip", "shuffle": True, "fletcher32": True},
}

#: What a dataset holds: random values, an all-zero first chunk (or first row
#: of contiguous data), zeros only, or some chunks (rows) written and the rest
#: never.
CONTENTS = ("random", "zero-first", "all-zero", "partial")

USERBLOCKS = (0, 512, 1024, 4096)

#: What the user block holds: zeros (h5py's), arbitrary bytes, or copies of the
#: dataset's stored bytes (the adversarial case for anything matching bytes).
USERBLOCK_FILLS = ("zeros", "junk", "data")


@dataclass(frozen=True)
class Case:
    """One file of one dataset ``x`` to write and read back."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...] | None  # None: contiguous
    dtype: str
    filters: str = "none"
    content: str = "random"
    userblock: int = 0
    userblock_fill: str = "zeros"
    libver: str | None = None  # None: HDF5's default (earliest) format
    fill: int | None = None
    seed: int = 0


def _values(case: Case) -> np.ndarray:
    rng = np.random.default_rng(case.seed)
    dtype = np.dtype(case.dtype)
    if case.content == "all-zero":
        return np.zeros(case.shape, dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, case.shape, endpoint=True).astype(dtype)
    else:
        data = (np.cumsum(rng.normal(size=case.shape), axis=-1) * 100).astype(dtype)
    if case.content == "zero-first":
        first = case.chunks or (1, *case.shape[1:])
        data[tuple(slice(0, c) for c in first)] = 0
    return data


def write(path: Path, case: Case) -> np.ndarray:
    """Write ``case`` to ``path``; the values the dataset holds."""
    data = _values(case)
    dtype = np.dtype(case.dtype)
    fill = np.zeros((), dtype) if case.fill is None else np.asarray(case.fill).astype(dtype)
    expected = np.full(case.shape, fill, dtype)
    with h5py.File(path, "w", userblock_size=case.userblock, libver=case.libver) as f:
        dset = f.create_dataset("x", case.shape, dtype, chunks=case.chunks,
                                fillvalue=case.fill, **FILTERS[case.filters])
        if case.content != "partial":
            dset[...] = data
            expected = data
        else:
            rng = np.random.default_rng(case.seed + 1)
            step = case.chunks or (1, *case.shape[1:])
            origins = list(itertools.product(*(range(0, n, c) for n, c in zip(case.shape, step))))
            for origin in origins:
                if rng.random() < 0.5:
                    region = tuple(slice(o, o + c) for o, c in zip(origin, step))
                    dset[region] = data[region]
                    expected[region] = data[region]
    _fill_userblock(path, case)
    return expected


def _stored_bytes(dset: h5py.Dataset) -> tuple[bytes, int | None]:
    """The first stored chunk's (or the contiguous data's) bytes, and their address
    relative to the base address as HDF5 reports it, if anything is stored."""
    base = dset.file.userblock_size
    if dset.chunks is None:
        if not dset.id.get_storage_size():
            return b"", None
        return dset[...].tobytes(), dset.id.get_offset() - base  # get_offset adds the base
    if not dset.id.get_num_chunks():
        return b"", None
    info = dset.id.get_chunk_info(0)
    _, data = dset.id.read_direct_chunk(info.chunk_offset)
    shift = chunkindex.chunk_address_shift(base)
    return bytes(data), info.byte_offset + shift - base


def _fill_userblock(path: Path, case: Case) -> None:
    if not case.userblock or case.userblock_fill == "zeros":
        return
    if case.userblock_fill == "junk":
        block = bytearray(np.random.default_rng(case.seed + 2).bytes(case.userblock))
    else:
        with h5py.File(path, "r") as f:
            stored, relative = _stored_bytes(f["x"])
        stored = stored or b"\x00"
        block = bytearray((stored * (case.userblock // len(stored) + 1))[: case.userblock])
        # Where a reader that forgot the base address would look, if that is
        # inside the user block: the very bytes it would expect to find.
        if relative is not None and relative + len(stored) <= case.userblock:
            block[relative : relative + len(stored)] = stored
    block[:8] = bytes(8)  # never the HDF5 signature, which HDF5 would take for the superblock
    with open(path, "r+b") as file:
        file.write(block)


def _same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, strict=True)


def check(path: Path, expected: np.ndarray, direct: bool = True, thorough: bool = True) -> None:
    """Every way of reading ``x`` gives ``expected``; the direct path is taken if ``direct``.

    The reader alone, a lazy array's values and sum, and if ``thorough`` a
    stepped selection and the sum read through h5py too.
    """
    with h5py.File(path, "r") as f:
        dset = f["x"]
        _same(dset[...], expected)
        reader = direct_reader(dset)
        assert (reader is not None) == direct, unsupported_reason(dset)
        if reader is not None:
            out = np.empty(expected.shape, expected.dtype)
            reader.read(tuple(range(n) for n in expected.shape), out)
            _same(out, expected)
        x = la.asarray(dset)
        _same(x.ndarray(workers=2), expected)
        if thorough:
            _same(x[::-1, 1::2].ndarray(workers=2, chunk_bytes=256), expected[::-1, 1::2])
        for direct_io in (True, False) if thorough else (True,):
            # (The planner tiles by what the reader reads best, so float sums may
            # differ from each other in their last bits.)
            got = la.sum(x, axis=0).ndarray(direct_io=direct_io, workers=2, chunk_bytes=512)
            want = expected.sum(axis=0, dtype=got.dtype)
            if expected.dtype.kind == "f":
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
            else:
                _same(got, want)


# -- the fixed cross product: the cases a random draw rarely makes, always run -----------

#: Layouts and filter pipelines of the fixed cases: contiguous, then chunked with
#: no filter, each filter alone and all of them.
LAYOUTS = [(None, "none")] + [((2, 20), f) for f in
                              ("none", "gzip", "shuffle", "fletcher32", "gzip+shuffle+fletcher32")]


@pytest.mark.parametrize("libver", [None, "latest"], ids=["default", "latest"])
@pytest.mark.parametrize(("chunks", "filters"), LAYOUTS,
                         ids=[f"{'chunked' if c else 'contiguous'}-{f}" for c, f in LAYOUTS])
@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("userblock", USERBLOCKS)
def test_fixed_cases(tmp_path: Path, userblock: int, content: str, chunks: Any, filters: str,
                     libver: str | None) -> None:
    case = Case((5, 50), chunks, "<f4", filters, content, userblock, libver=libver, seed=12)
    check(tmp_path / "x.h5", write(tmp_path / "x.h5", case), thorough=False)


@pytest.mark.parametrize("libver", [None, "latest"], ids=["default", "latest"])
@pytest.mark.parametrize("chunks", [None, (1, 40), (3, 7)], ids=["contiguous", "rows", "blocks"])
@pytest.mark.parametrize("content", ["zero-first", "random"])
@pytest.mark.parametrize("fill", ["junk", "data"])
def test_userblock_contents_do_not_matter(tmp_path: Path, fill: str, content: str, chunks: Any,
                                          libver: str | None) -> None:
    """A user block is the user's: arbitrary bytes, or copies of the data where a
    reader that mistook the base address would find them."""
    case = Case((6, 40), chunks, "<i2", "none", content, 4096, fill, libver, seed=13)
    check(tmp_path / "x.h5", write(tmp_path / "x.h5", case))


def test_the_reported_bug(tmp_path: Path) -> None:
    """Issue 12: a 512-byte user block and an all-zero first chunk of rows."""
    path = tmp_path / "bug.h5"
    data = np.random.default_rng(0).random((4, 1000)).astype("f4")
    data[0] = 0
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("x", data=data, chunks=(1, 1000))
    with h5py.File(path, "r") as f:
        assert la.asarray(f["x"]).ndarray().sum() == f["x"][...].sum() == data.sum()
    check(path, data)


# -- the property: any mix of them -------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> Case:
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(2, 9), min_size=rank, max_size=rank)))
    contiguous = draw(st.integers(0, 3)) == 0
    chunks = None if contiguous else tuple(draw(st.integers(1, n)) for n in shape)
    return Case(
        shape=shape,
        chunks=chunks,
        dtype=draw(st.sampled_from(["<f4", ">f8", "<i2", ">u4", "u1"])),
        filters="none" if contiguous else draw(st.sampled_from(sorted(FILTERS))),
        content=draw(st.sampled_from(CONTENTS)),
        userblock=draw(st.sampled_from(USERBLOCKS)),
        userblock_fill=draw(st.sampled_from(USERBLOCK_FILLS)),
        libver=draw(st.sampled_from([None, "latest"])),
        fill=draw(st.sampled_from([None, 7])),
        seed=draw(st.integers(0, 2**16)),
    )


_names = itertools.count()


@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_any_file(tmp_path_factory: pytest.TempPathFactory, case: Case) -> None:
    path = tmp_path_factory.getbasetemp() / f"facts-{next(_names)}.h5"
    if len(case.shape) == 1:  # check() steps along a second axis
        case = replace(case, shape=(*case.shape, 1),
                       chunks=None if case.chunks is None else (*case.chunks, 1))
    try:
        check(path, write(path, case))
    finally:
        path.unlink()


# -- files other programs wrote ---------------------------------------------------------


def test_netcdf4_adds_to_a_file_with_a_user_block(tmp_path: Path) -> None:
    """netCDF-4 writes no user block, but appends to a file that has one."""
    path = tmp_path / "n.nc"
    with h5py.File(path, "w", userblock_size=1024, track_order=True):
        pass
    values = np.arange(4 * 30, dtype="f4").reshape(4, 30)
    with netCDF4.Dataset(path, "a") as nc:
        nc.createDimension("t", None)
        nc.createDimension("x", 30)
        v = nc.createVariable("v", "f4", ("t", "x"), zlib=True, shuffle=True,
                              chunksizes=(2, 7), fill_value=-9.0)
        v[0:3] = np.zeros((3, 30), "f4")  # the first chunks all zero, as the user block is
        v[5:9] = values
        c = nc.createVariable("c", "i2", ("x",), contiguous=True)
        c[:] = np.arange(30)
    expected = np.full((9, 30), -9.0, "f4")
    expected[:3] = 0
    expected[5:] = values
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 1024
        for name, want in (("v", expected), ("c", np.arange(30, dtype="i2"))):
            assert direct_reader(f[name]) is not None
            _same(la.asarray(f[name]).ndarray(workers=2), want)
            _same(la.asarray(f[name])[::-2].ndarray(chunk_bytes=64), want[::-2])


def test_netcdf4_files(tmp_path: Path) -> None:
    path = tmp_path / "n.nc"
    rng = np.random.default_rng(14)
    data = (rng.normal(size=(7, 11, 13)) * 50).astype("f4")
    data[0] = 0
    with netCDF4.Dataset(path, "w") as nc:
        for name, size in zip("tyx", (None, 11, 13)):
            nc.createDimension(name, size)
        options = {
            "zlib": {"zlib": True, "complevel": 4},
            "shuffle": {"zlib": True, "shuffle": True},
            "fletcher32": {"fletcher32": True},
            "chunked": {"chunksizes": (3, 4, 5)},
        }
        for name, kwargs in options.items():
            nc.createVariable(name, "f4", ("t", "y", "x"), **kwargs)[:] = data
        nc.createVariable("contiguous", "f8", ("y", "x"), contiguous=True)[:] = data[1]
        nc.createVariable("sparse", "i4", ("t", "y", "x"), fill_value=-1, chunksizes=(1, 11, 13))
        nc["sparse"][4] = np.ones((11, 13), "i4")
    sparse = np.full((5, 11, 13), -1, "i4")  # the HDF5 dataset ends at the last record written
    sparse[4] = 1
    with h5py.File(path, "r") as f:
        for name in [*options, "contiguous", "sparse"]:
            want = {"contiguous": data[1].astype("f8"), "sparse": sparse}.get(name, data)
            assert direct_reader(f[name]) is not None, name
            _same(la.asarray(f[name]).ndarray(workers=2), want)
            _same(la.asarray(f[name])[1:, ::3].ndarray(chunk_bytes=128), want[1:, ::3])


def test_h5py_appends_after_the_user_block(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    data = np.arange(12 * 10, dtype="<i8").reshape(12, 10)
    with h5py.File(path, "w", userblock_size=2048) as f:
        f.create_dataset("x", data=np.zeros((4, 10), "<i8"), chunks=(2, 5), maxshape=(None, 10),
                         compression="gzip")
    with h5py.File(path, "a") as f:
        f["x"].resize((12, 10))
        f["x"][4:] = data[4:]
        f.create_dataset("y", data=data[::-1])
    expected = data.copy()
    expected[:4] = 0
    check(path, expected)
    with h5py.File(path, "r") as f:
        assert direct_reader(f["y"]) is not None
        _same(la.asarray(f["y"]).ndarray(), data[::-1])


@pytest.mark.parametrize("libver", [None, "latest"], ids=["superblock-v0", "superblock-v3"])
def test_a_user_block_prepended_afterwards(tmp_path: Path, libver: str | None) -> None:
    """A file moved behind a user block (as ``h5jam`` does): HDF5 takes the superblock's
    location for the base address. Where the superblock's stated base address says
    otherwise, the direct reader does not choose between them: h5py reads."""
    plain = tmp_path / "plain.h5"
    data = np.arange(20 * 30, dtype="<f8").reshape(20, 30)
    data[:4] = 0
    with h5py.File(plain, "w", libver=libver) as f:
        f.create_dataset("x", data=data, chunks=(4, 5), compression="gzip")
        f.create_dataset("c", data=data)
    content = bytearray(b"\x07" * 512 + plain.read_bytes())
    version = content[512 + 8]
    moved = tmp_path / "moved.h5"
    moved.write_bytes(content)
    check(moved, data, direct=False)  # stated base 0, superblock at 512
    # State the base address, and the end-of-file address, which counts from 0.
    base, eof = (24, 40) if version == 0 else (12, 28)
    struct.pack_into("<Q", content, 512 + base, 512)
    struct.pack_into("<Q", content, 512 + eof, struct.unpack_from("<Q", content, 512 + eof)[0] + 512)
    if version >= 2:  # HDF5 refuses the file unless the checksum is HDF5's lookup3
        struct.pack_into("<I", content, 512 + 44, checksums.lookup3(bytes(content[512 : 512 + 44])))
    moved.write_bytes(content)
    check(moved, data)
    with h5py.File(moved, "r") as f:
        assert f.userblock_size == 512
        _same(la.asarray(f["c"]).ndarray(), data)


# -- layouts whose partial edge chunks are stored without filters -----------------------


def hdf5_function(name: str, *argtypes: Any) -> Any:
    """A function of the HDF5 library h5py uses, that h5py does not wrap; skips the
    test where it cannot be found (it is looked up through h5py's own module)."""
    try:
        function = getattr(ctypes.CDLL(h5py.h5p.__file__), name)
    except (OSError, AttributeError):
        pytest.skip(f"{name} is not reachable through ctypes here")
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


def dont_filter_partial_chunks(dcpl: Any) -> None:
    """``H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS)``."""
    assert hdf5_function("H5Pset_chunk_opts", ctypes.c_int64, ctypes.c_uint)(dcpl.id, 2) == 0


def create_unfiltered_edges(f: h5py.File, name: str, shape: tuple[int, ...],
                            chunks: tuple[int, ...], dtype: str, unlimited: bool = False,
                            **filters: bool) -> h5py.Dataset:
    """A chunked dataset with deflate, shuffle and fletcher32 (or those given), whose
    partial edge chunks HDF5 stores unfiltered."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    if filters.get("shuffle", True):
        dcpl.set_shuffle()
    if filters.get("gzip", True):
        dcpl.set_deflate(4)
    if filters.get("fletcher32", True):
        dcpl.set_fletcher32()
    dont_filter_partial_chunks(dcpl)
    maxshape = (h5py.h5s.UNLIMITED,) * len(shape) if unlimited else shape
    space = h5py.h5s.create_simple(shape, maxshape)
    h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(np.dtype(dtype)), space, dcpl=dcpl)
    return f[name]


@pytest.mark.parametrize("libver", [None, "latest"], ids=["layout-v4", "layout-v5"])
@pytest.mark.parametrize("userblock", [0, 512])
def test_partial_edge_chunks_stored_unfiltered(tmp_path: Path, libver: str | None,
                                               userblock: int) -> None:
    path = tmp_path / "edges.h5"
    data = np.arange(7 * 10, dtype="<f8").reshape(7, 10)
    with h5py.File(path, "w", libver=libver, userblock_size=userblock) as f:
        create_unfiltered_edges(f, "x", (7, 10), (2, 4), "<f8")[...] = data
        create_unfiltered_edges(f, "y", (7, 10), (2, 4), "<f8", unlimited=True)[...] = data
    with h5py.File(path, "r") as f:
        for name in "xy":
            reader = direct_reader(f[name])
            assert isinstance(reader, ChunkedReader) and reader.index is not None
            partial = np.zeros((4, 3), bool)
            partial[-1] = partial[:, -1] = True
            # The layout says so: every filter skipped there, none elsewhere.
            assert np.all(reader.index.masks[partial] == 0xFFFFFFFF)
            assert np.all(reader.index.masks[~partial] == 0)
            assert np.all(reader.index.sizes[partial] == 2 * 4 * 8)
    check(path, data)


def test_partial_edge_chunks_after_resizing(tmp_path: Path) -> None:
    """Which chunks are partial follows the current extent, as HDF5 reads them."""
    path = tmp_path / "resized.h5"
    data = np.arange(9 * 11, dtype="<i4").reshape(9, 11)
    with h5py.File(path, "w") as f:
        dset = create_unfiltered_edges(f, "x", (5, 6), (2, 4), "<i4", unlimited=True)
        dset[...] = data[:5, :6]
        dset.resize((9, 11))  # the old edge chunks are whole now
        dset[5:, :] = data[5:, :]
        dset[:, 6:] = data[:, 6:]
    check(path, data)
    with h5py.File(path, "a") as f:
        f["x"].resize((7, 5))  # and some whole ones are partial again
    check(path, data[:7, :5].copy())


# -- what the file cannot state to the reader: h5py reads ------------------------------


def test_addresses_not_of_8_bytes_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "sizes.h5"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(4, 4)
    fcpl.set_userblock(512)
    data = np.arange(60, dtype="<u2").reshape(6, 10)
    with h5py.File(h5py.h5f.create(os.fsencode(path), h5py.h5f.ACC_TRUNC, fcpl=fcpl)) as f:
        f.create_dataset("x", data=data, chunks=(2, 5), compression="gzip")
    check(path, data, direct=False)


def test_superblock_version_1(tmp_path: Path) -> None:
    """A B-tree K for chunks other than HDF5's default makes a version 1 superblock,
    whose base address field sits 4 bytes further on."""
    path = tmp_path / "v1.h5"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    assert hdf5_function("H5Pset_istore_k", ctypes.c_int64, ctypes.c_uint)(fcpl.id, 8) == 0
    fcpl.set_userblock(1024)
    data = np.arange(30 * 20, dtype="<i4").reshape(30, 20)
    data[:2] = 0
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST)  # as h5py does
    created = h5py.h5f.create(os.fsencode(path), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    with h5py.File(created) as f:
        f.create_dataset("x", data=data, chunks=(2, 2), shuffle=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        superblock = headers.read_superblock(fd)
    finally:
        os.close(fd)
    assert superblock is not None and superblock.version == 1
    assert superblock.location == superblock.base_address == 1024
    check(path, data)


def test_contiguous_reader_reads_at_the_stated_address(tmp_path: Path) -> None:
    """The address and size come from the layout message; unallocated data reads as
    the fill value (HDF5 2.0's ``H5Dget_offset`` adds the user block even to the
    undefined address, which is never asked)."""
    path = tmp_path / "c.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("x", data=np.zeros((3, 4), "f4"))
        f.create_dataset("empty", (3, 4), "f4", fillvalue=1.5)
    with h5py.File(path, "r") as f:
        reader = direct_reader(f["x"])
        assert isinstance(reader, ContiguousReader)
        assert reader.offset == f["x"].id.get_offset()  # which includes the user block
        empty = direct_reader(f["empty"])
        assert isinstance(empty, ContiguousReader) and empty.offset is None
        _same(la.asarray(f["empty"]).ndarray(), np.full((3, 4), 1.5, "f4"))
