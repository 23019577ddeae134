"""Where results go: in-memory buffers and targets (arrays, HDF5 and Zarr datasets), checked before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ..array import Array
from ..encoding import ChunkEncoder, EncodedChunk, hdf5_cast, hdf5_encoder
from ..errors import ClosedFileError, DTypeError, ReadOnlyTargetError, ShapeError, located
from ..fillvalues import fill_masked
from ..foreign import is_zarr_array


class Sink:
    """Where one result goes: a user's sink, an in-memory buffer, or both.

    With ``direct_io``, the worker that makes a tile encodes it for a target
    that allows it (:meth:`prepare`); the main thread still takes tiles in
    order and stores the chunks (:meth:`write_chunks`).
    """

    def __init__(self, node: Array, masked: bool, target: Any = None, number: int = 0):
        self.node = node
        self.masked = masked
        self.target = target
        #: The target, in words, for error messages: found now, while a file
        #: closed later would still name itself.
        self.label = None if target is None else f"target {number} ({describe_target(target)})"
        self.data: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.encoder: ChunkEncoder | None = None
        if target is None:
            self.data = np.empty(node.shape, node.dtype)
            if masked:
                self.mask = np.zeros(node.shape, bool)
        elif not isinstance(target, np.ma.MaskedArray):  # a masked target keeps the mask
            self.encoder = hdf5_encoder(target)

    def prepare(self, region: tuple[slice, ...], value: np.ndarray,
                direct_io: bool) -> list[EncodedChunk] | None:
        """The worker's part of writing ``value`` at ``region``, if ``direct_io``.

        For a chunked HDF5 dataset, when ``region`` covers whole chunks of it
        and :mod:`lazyarray.encoding` reproduces its filters and the
        conversion to its dtype: the chunks, cast and encoded (pure numpy and
        zlib), for :meth:`write_chunks`. Otherwise ``None``: the main thread
        calls :meth:`write`.

        Zarr targets are left to :meth:`write`: Zarr already encodes in its
        own threads while the main thread waits, and writing from the
        workers measured no faster on two cores (issue 5).
        """
        encoder = self.encoder
        if encoder is None or not direct_io or not encoder.covers(region):
            return None
        cast = hdf5_cast(np.asarray(fill_masked(value, self.node.fill_value)), encoder.dtype)
        if cast is None:
            return None
        return encoder.encode(region, cast)

    def write_chunks(self, chunks: list[EncodedChunk]) -> None:
        """Store chunks made by :meth:`prepare`, as they are (main thread)."""
        try:
            write = self.target.id.write_direct_chunk
            for chunk in chunks:
                write(chunk.offset, chunk.data, chunk.filter_mask)
        except Exception as error:
            offsets = ", ".join(str(tuple(c.offset)) for c in chunks[:4])
            more = f" and {len(chunks) - 4} more" if len(chunks) > 4 else ""
            wrapped = located(error, f"writing {self.label}, chunks at elements "
                                     f"{offsets}{more}")
            if wrapped is None:
                raise
            raise wrapped from error

    def write(self, region: tuple[slice, ...], value: np.ndarray) -> None:
        if self.target is not None:
            try:
                if isinstance(self.target, np.ma.MaskedArray):
                    self.target[region] = value  # a masked target keeps the mask
                else:
                    self.target[region] = fill_masked(value, self.node.fill_value)
            except Exception as error:
                # Costs nothing unless raised; then the message names the target.
                where = ", ".join(f"{r.start}:{r.stop}" for r in region)
                wrapped = located(error, f"writing {self.label}, elements [{where}]")
                if wrapped is None:
                    raise
                raise wrapped from error
            return
        assert self.data is not None
        store(self.data, self.mask, region, value, self.node.fill_value)

    def result(self) -> np.ndarray:
        assert self.data is not None
        if self.mask is not None:
            return np.ma.MaskedArray(self.data, mask=self.mask, fill_value=self.node.fill_value)
        return self.data


def store(data: np.ndarray, mask: np.ndarray | None, region: tuple[Any, ...],
          value: np.ndarray, fill_value: Any) -> None:
    """Write ``value`` at ``region`` of an in-memory result: into ``data``
    with masked points filled by ``fill_value`` if ``mask`` is ``None``,
    else its data and mask apart."""
    if mask is None:
        data[region] = fill_masked(value, fill_value)
        return
    data[region] = np.ma.getdata(value)
    mask[region] = np.ma.getmaskarray(value)


def whole_result(node: Array, value: np.ndarray | None, masked: bool) -> np.ndarray:
    """The in-memory result of ``node`` whose whole ``value`` is known (a
    ``MaskedArray`` if ``masked``): what a :class:`Sink` without target
    holds once ``value`` is written over all of it, in fewer steps.
    ``value`` is ``None`` for an empty node, which has nothing to write."""
    data = np.empty(node.shape, node.dtype)
    mask = np.zeros(node.shape, bool) if masked else None
    if value is not None:
        store(data, mask, (Ellipsis,), value, node.fill_value)
    if mask is not None:
        return np.ma.MaskedArray(data, mask=mask, fill_value=node.fill_value)
    return data


@dataclass(frozen=True)
class Stored:
    """A stored value of a tile, as a worker hands it to the main thread.

    Attributes
    ----------
    value : numpy.ndarray or None
        The tile's values, for the sinks that write them; ``None`` when every
        sink of the value took encoded chunks instead (the tile's buffers are
        then free once the chunks are made).
    encoded : dict
        Encoded chunks by ``id`` of the sink that stores them.
    """

    value: np.ndarray | None
    encoded: dict[int, list[EncodedChunk]]


def describe_target(target: Any) -> str:
    """A target, in words for error messages: its file and dataset where it has them.

    Examples
    --------
    >>> describe_target(np.zeros(2))
    'a target of type ndarray'
    """

    if isinstance(target, h5py.Dataset):
        if not target.id.valid:
            return "an h5py.Dataset whose file was closed"
        return f"HDF5 dataset {target.name!r} of {target.file.filename!r}"
    if is_zarr_array(target):
        return f"Zarr array {'/' + target.path!r} of store {str(target.store)!r}"
    return f"a target of type {type(target).__name__}"


def refuse_unwritable(target: Any, number: int, operation: str) -> None:
    """Raise for a target that is closed or read-only, which no write could change."""

    if isinstance(target, h5py.Dataset):
        if not target.id.valid:
            raise ClosedFileError(
                f"{operation}: target {number} is an h5py.Dataset whose file was closed; "
                "open the file again (mode 'r+' or 'a')"
            )
        if target.file.mode != "r+":
            raise ReadOnlyTargetError(
                f"{operation}: target {number} ({describe_target(target)}) is in a file "
                "opened read-only; open it with mode 'r+' or 'a'"
            )
    elif is_zarr_array(target):
        if target.read_only:
            raise ReadOnlyTargetError(
                f"{operation}: target {number} ({describe_target(target)}) is read-only; "
                "open it with mode 'r+' or 'a'"
            )
    elif isinstance(target, np.ndarray) and not target.flags.writeable:
        raise ReadOnlyTargetError(
            f"{operation}: target {number} ({describe_target(target)}) is read-only "
            "(its writeable flag is off)"
        )


def check_targets(nodes: Sequence[Array], targets: Sequence[Any], operation: str) -> None:
    """Check sinks fit their sources, and can be written, before anything is read.

    Raises
    ------
    lazyarray.ShapeError, lazyarray.DTypeError
        For a target whose shape differs from its source's, or whose dtype
        the source cannot be cast to (same kind).
    lazyarray.errors.ClosedFileError, lazyarray.errors.ReadOnlyTargetError
        For an HDF5 target whose file was closed or opened read-only, a
        read-only Zarr array or a non-writeable ndarray.
    TypeError
        For a target without ``shape``, ``dtype`` and ``__setitem__``.

    Examples
    --------
    >>> import lazyarray as la
    >>> frozen = np.zeros(2)
    >>> frozen.flags.writeable = False
    >>> check_targets([la.asarray(np.ones(2))], [frozen], "save")
    Traceback (most recent call last):
    ...
    lazyarray.errors.ReadOnlyTargetError: save: target 0 (a target of type ndarray) is read-only (its writeable flag is off)
    """
    if len(nodes) != len(targets):
        raise ShapeError(
            f"{operation}: {len(nodes)} source(s) but {len(targets)} target(s); give one target per source"
        )
    for number, (node, target) in enumerate(zip(nodes, targets)):
        refuse_unwritable(target, number, operation)
        for attribute in ("shape", "dtype", "__setitem__"):
            if not hasattr(target, attribute):
                raise TypeError(
                    f"{operation}: target {number} must have shape, dtype and __setitem__; "
                    f"{type(target).__name__} has no {attribute}"
                )
        try:
            shape, dtype = tuple(target.shape), np.dtype(target.dtype)
        except TypeError as error:
            raise TypeError(f"{operation}: target {number} has shape {target.shape!r} and "
                            f"dtype {target.dtype!r}: not a shape and a dtype ({error})") from None
        if shape != node.shape:
            raise ShapeError(
                f"{operation}: source {number} has shape {node.shape}, target {number} has "
                f"shape {tuple(target.shape)}"
            )
        if not np.can_cast(node.dtype, dtype, casting="same_kind"):
            raise DTypeError(
                f"{operation}: source {number} of dtype {node.dtype} cannot be stored in "
                f"target {number} of dtype {dtype} (not a same-kind cast)"
            )
