"""Checksums HDF5 computes: Fletcher-32 over chunk data, lookup3 over metadata.

* :func:`fletcher32` is the checksum of HDF5's fletcher32 filter, stored
  after each chunk's bytes; :func:`check_fletcher32` undoes the filter on
  reading (the readers) and :mod:`lazyarray.encoding` applies it on writing.
  It is the one implementation of the checksum in lazyarray.
* :func:`lookup3` is the checksum of HDF5's newer metadata (version 2
  superblocks, version 2 object headers), checked by
  :mod:`lazyarray.storage.hdf5.headers`.

Pure numpy and Python: nothing here knows h5py.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

import numpy as np

__all__ = ["check_fletcher32", "fletcher32", "lookup3"]


def fletcher32(data: Any) -> int:
    """HDF5's Fletcher-32 checksum of ``data`` (bytes-like), as its filter computes it.

    HDF5 sums big-endian 16-bit words in blocks of 360, folding both sums
    to 16 bits after each block (an odd last byte is a word with a zero low
    byte). Folding keeps each sum's value modulo 65535, so the sums follow
    in closed form from per-block totals computed with numpy; only data
    whose blocks could overflow HDF5's 32-bit second sum (words near 0xffff
    throughout) are summed block by block, to wrap exactly as HDF5 does.

    Examples
    --------
    >>> hex(fletcher32(b"abcde"))
    '0x4ff029c7'
    >>> fletcher32(b"\\xff" * 720) == fletcher32(bytearray(b"\\xff" * 720))
    True
    >>> fletcher32(bytes(6)), hex(fletcher32(b"\\xff\\xff"))
    (0, '0xffffffff')
    """
    raw = np.frombuffer(data, np.uint8)
    words = raw[: raw.size - raw.size % 2].view(">u2")
    odd = int(raw[-1]) << 8 if raw.size % 2 else None
    p = 65535
    nblocks = -(-words.size // 360)
    blocks = np.zeros((nblocks, 360), np.float64)
    blocks.ravel()[: words.size] = words
    # Exact in float64: at most 360 * 65535 * 359 < 2**53.
    totals = blocks.sum(axis=1).astype(np.int64)
    weighted = (blocks @ np.arange(360.0)).astype(np.int64)
    lengths = np.full(nblocks, 360, np.int64)
    if nblocks:
        lengths[-1] = words.size - 360 * (nblocks - 1)
    # What each block adds to the second sum, besides n times the first sum.
    second = lengths * totals - weighted
    if nblocks and int(second.max()) + 361 * 0x1FFFE >= 2**32:
        s1 = s2 = 0
        for n, w, t in zip(lengths.tolist(), totals.tolist(), second.tolist()):
            s2 = (s2 + n * s1 + t) & 0xFFFFFFFF
            s1 += w
            s1 = (s1 & 0xFFFF) + (s1 >> 16)
            s2 = (s2 & 0xFFFF) + (s2 >> 16)
        if odd is not None:
            s1 += odd
            s2 += s1
            s1 = (s1 & 0xFFFF) + (s1 >> 16)
            s2 = (s2 & 0xFFFF) + (s2 >> 16)
        s1 = (s1 & 0xFFFF) + (s1 >> 16)
        s2 = (s2 & 0xFFFF) + (s2 >> 16)
        return (s2 << 16) | s1
    # Sum1 is the sum of all words; sum2 the sum of sum1 after each word.
    # Both are congruent modulo 65535 to the folded values, which lie in
    # 1..65535 unless every word is zero.
    count = words.size + (odd is not None)
    starts = (count - 360 * np.arange(nblocks, dtype=np.int64)) % p
    sum1 = int(totals.sum()) + (odd or 0)
    sum2 = int(((starts * (totals % p)) % p - weighted % p).sum()) + (odd or 0)
    if sum1 == 0:
        return 0
    return ((((sum2 - 1) % p) + 1) << 16) | (((sum1 - 1) % p) + 1)


def _check_fletcher32(data: Any) -> Any:
    """``data`` without its trailing checksum, which must match (HDF5's rules)."""
    view = memoryview(data).cast("B")
    if view.nbytes < 4:
        raise ValueError(f"{view.nbytes} bytes, too short to hold a checksum")
    stored = int.from_bytes(view[-4:], "little")
    body = view[:-4]
    computed = fletcher32(body)
    # HDF5 before 1.6.3 stored the checksum with its bytes swapped in pairs
    # on little-endian machines; HDF5 still accepts both.
    native = computed.to_bytes(4, sys.byteorder)
    swapped = int.from_bytes(bytes((native[1], native[0], native[3], native[2])), sys.byteorder)
    if stored not in (computed, swapped):
        raise ValueError(f"checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
    return body


def check_fletcher32(data: Any) -> Any:
    """``data`` without its trailing checksum, which must match (HDF5's rules).

    Raises
    ------
    ValueError
        If ``data`` is too short to hold a checksum, or the checksum does not match.

    Examples
    --------
    >>> body = b"abcde"
    >>> bytes(check_fletcher32(body + fletcher32(body).to_bytes(4, "little")))
    b'abcde'
    """
    view = memoryview(data).cast("B")
    if view.nbytes < 4:
        raise ValueError(f"{view.nbytes} bytes, too short to hold a checksum")
    stored = int.from_bytes(view[-4:], "little")
    body = view[:-4]
    computed = fletcher32(body)
    # HDF5 before 1.6.3 stored the checksum with its bytes swapped in pairs
    # on little-endian machines; HDF5 still accepts both.
    native = computed.to_bytes(4, sys.byteorder)
    swapped = int.from_bytes(bytes((native[1], native[0], native[3], native[2])), sys.byteorder)
    if stored not in (computed, swapped):
        raise ValueError(f"checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
    return body


def _rotate(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins's lookup3 hash of ``data`` (``hashlittle``), HDF5's metadata checksum.

    HDF5 (``H5_checksum_lookup3``) checks its version 2 superblocks, object
    headers and other newer structures with it. The bytes are taken as
    little-endian 32-bit words in blocks of three; every block but the last
    is mixed into the state, the last (padded with zeros) is added and the
    state finalised.

    Examples
    --------
    >>> hex(lookup3(b""))
    '0xdeadbeef'
    >>> hex(lookup3(b"Four score and seven years ago"))
    '0x17770551'
    """
    mask = 0xFFFFFFFF
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & mask
    if not n:
        return c
    words = struct.unpack(f"<{-(-n // 12) * 3}I", data + bytes(-n % 12))
    for i in range(0, len(words) - 3, 3):
        a = (a + words[i]) & mask
        b = (b + words[i + 1]) & mask
        c = (c + words[i + 2]) & mask
        # mix(a, b, c)
        a = ((a - c) & mask) ^ _rotate(c, 4)
        c = (c + b) & mask
        b = ((b - a) & mask) ^ _rotate(a, 6)
        a = (a + c) & mask
        c = ((c - b) & mask) ^ _rotate(b, 8)
        b = (b + a) & mask
        a = ((a - c) & mask) ^ _rotate(c, 16)
        c = (c + b) & mask
        b = ((b - a) & mask) ^ _rotate(a, 19)
        a = (a + c) & mask
        c = ((c - b) & mask) ^ _rotate(b, 4)
        b = (b + a) & mask
    a = (a + words[-3]) & mask
    b = (b + words[-2]) & mask
    c = (c + words[-1]) & mask
    # final(a, b, c)
    c = ((c ^ b) - _rotate(b, 14)) & mask
    a = ((a ^ c) - _rotate(c, 11)) & mask
    b = ((b ^ a) - _rotate(a, 25)) & mask
    c = ((c ^ b) - _rotate(b, 16)) & mask
    a = ((a ^ c) - _rotate(c, 4)) & mask
    b = ((b ^ a) - _rotate(a, 14)) & mask
    c = ((c ^ b) - _rotate(b, 24)) & mask
    return c
