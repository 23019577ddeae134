"""Arrays made of other arrays: ``LinearMosaic`` (tiles joined along an axis)
and ``ArrayStack`` (arrays joined along new axes), with numpy's
``concatenate`` and ``stack`` built on them.

Indexing a mosaic indexes only the tiles the selection touches, so a selection
inside one tile reads no other tile.

Examples
--------
>>> import numpy as np, lazyarray as la
>>> m = la.LinearMosaic([np.arange(3), np.arange(10, 14)], axis=0)
>>> m[1:5].ndarray().tolist()
[1, 2, 10, 11]
>>> m[5:0:-2].ndarray().tolist()
[12, 10, 1]
>>> la.ArrayStack([np.zeros(2), np.ones(2)]).ndarray().tolist()
[[0.0, 0.0], [1.0, 1.0]]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from .adapters import asarray
from .array import Array
from .axes import normalise_axis
from .errors import DTypeError, ShapeError
from .fillvalues import fill_masked, fill_value_argument, joined_fill_value
from .indexing import Key, key_shape, orthogonal_take, sorted_union, sorted_unique
from .planprotocol import Edges, Placement
from .steps import Steps
from .views import moveaxis, with_fill_value

if TYPE_CHECKING:
    from .context import EvaluationContext

__all__ = ["ArrayStack", "LinearMosaic", "concatenate", "stack"]


def _as_members(arrays: Any, operation: str) -> list[Array]:
    """Lists, tuples or object arrays of arrays as lazy arrays, never realised."""
    if isinstance(arrays, np.ndarray) and arrays.dtype == object:
        items = list(arrays.ravel())
    elif isinstance(arrays, (list, tuple)):
        items = list(arrays)
    else:
        raise TypeError(
            f"{operation}: expected a list, tuple or object array of arrays, got "
            f"{type(arrays).__name__}"
        )
    if not items:
        raise ShapeError(f"{operation}: needs at least one array, got none")
    return [asarray(item) for item in items]


def _promoted(arrays: list[Array]) -> list[Array]:
    """Members cast to their common dtype by numpy's promotion rules."""
    dtype = np.result_type(*(a.dtype for a in arrays))
    return [a if a.dtype == dtype else a.astype(dtype) for a in arrays]


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _clip_range(r: range, low: int, high: int) -> range:
    """The part of ``r`` with ``low <= value < high`` (contiguous in ``r``)."""
    if r.step > 0:
        first = max(0, _ceil_div(low - r.start, r.step))
        stop = min(len(r), _ceil_div(high - r.start, r.step))
    else:
        step = -r.step
        first = max(0, (r.start - high) // step + 1)
        stop = min(len(r), (r.start - low) // step + 1)
    return r[first:max(first, stop)]


def _check_tiles(
    tiles: list[Array], axis: Any, operation: str, noun: str = "tile", same_dtype: bool = True
) -> int:
    """The normalised ``axis``, once ``tiles`` are checked to fit along it
    (and to share one dtype, if ``same_dtype``). Messages call them ``noun``."""
    first = tiles[0]
    if first.ndim == 0:
        raise ShapeError(f"{operation}: {noun}s must have at least one dimension; {noun} 0 is 0-d")
    axis = normalise_axis(axis, first.ndim, operation)
    for i, tile in enumerate(tiles[1:], start=1):
        if tile.ndim != first.ndim:
            raise ShapeError(
                f"{operation}: {noun} {i} has {tile.ndim} dimensions, expected "
                f"{first.ndim} (those of {noun} 0)"
            )
        expected = first.shape[:axis] + tile.shape[axis : axis + 1] + first.shape[axis + 1 :]
        if tile.shape != expected:
            raise ShapeError(
                f"{operation}: {noun} {i} has shape {tile.shape}, expected {expected} "
                f"off axis {axis}"
            )
        if same_dtype and tile.dtype != first.dtype:
            raise DTypeError(
                f"{operation}: {noun} {i} has dtype {tile.dtype}, expected {first.dtype} "
                f"(that of {noun} 0); cast it with astype, or use concatenate to promote"
            )
    return axis


class LinearMosaic(Array):
    """Tiles joined end to end along one axis (Biggus's name).

    Parameters
    ----------
    tiles : list, tuple or object array of arrays, or one lazy array
        Lazy arrays or ndarrays, equal in dtype and in shape off ``axis``.
        They are wrapped, never realised. One lazy array alone is a mosaic
        of one tile, as Biggus allowed.
    axis : int
        The axis along which the tiles follow each other (negative counts
        from the end).

    Raises
    ------
    ShapeError, DTypeError, AxisError

    Examples
    --------
    >>> import numpy as np
    >>> LinearMosaic([np.zeros((2, 3)), np.zeros((2, 4))], axis=-1).shape
    (2, 7)
    >>> LinearMosaic([np.zeros((2, 3)), np.zeros((3, 4))], axis=1)
    Traceback (most recent call last):
    ...
    lazyarray.errors.ShapeError: LinearMosaic: tile 1 has shape (3, 4), expected (2, 4) off axis 1
    """

    def __init__(self, tiles: Any, axis: int):
        # One lazy array alone is a mosaic of one tile, as Biggus allowed.
        members = _as_members([tiles] if isinstance(tiles, Array) else tiles, "LinearMosaic")
        self._setup(members, _check_tiles(members, axis, "LinearMosaic"))

    def _setup(self, tiles: list[Array], axis: int, fill_value: Any = None) -> None:
        self._tiles = tuple(tiles)
        self._axis = axis
        self._ends = list(np.cumsum([t.shape[axis] for t in tiles]).tolist())
        first = tiles[0].shape
        self._shape = first[:axis] + (self._ends[-1],) + first[axis + 1 :]
        # A part of a mosaic keeps the whole mosaic's fill value.
        self._fill_value = (
            joined_fill_value(tiles, tiles[0].dtype) if fill_value is None else fill_value
        )

    @classmethod
    def _trusted(cls, tiles: list[Array], axis: int, fill_value: Any = None) -> LinearMosaic:
        mosaic = cls.__new__(cls)
        mosaic._setup(tiles, axis, fill_value)
        return mosaic

    @property
    def tiles(self) -> tuple[Array, ...]:
        """The tiles, in order."""
        return self._tiles

    @property
    def axis(self) -> int:
        """The axis the tiles are joined along."""
        return self._axis

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._tiles[0].dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def inputs(self) -> tuple[Array, ...]:
        return self._tiles

    def _start(self, tile: int) -> int:
        return self._ends[tile - 1] if tile else 0

    def _pieces(self, item: range | np.ndarray) -> list[tuple[int, range | np.ndarray]]:
        """(tile, key item local to that tile) for each run of ``item`` in one tile."""
        if isinstance(item, range):
            if not len(item):
                return []
            tiles = range(
                bisect.bisect_right(self._ends, item[0]),
                bisect.bisect_right(self._ends, item[-1]) + (1 if item.step > 0 else -1),
                1 if item.step > 0 else -1,
            )
            pieces: list[tuple[int, range | np.ndarray]] = []
            for t in tiles:
                start = self._start(t)
                part = _clip_range(item, start, self._ends[t])
                if len(part):
                    local = range(part.start - start, part.start - start + len(part) * part.step, part.step)
                    pieces.append((t, local))
            return pieces
        tile_of = np.searchsorted(self._ends, item, side="right")
        cuts = np.flatnonzero(np.diff(tile_of)) + 1
        return [
            (int(tile_of[run[0]]), item[run] - self._start(int(tile_of[run[0]])))
            for run in np.split(np.arange(item.size), cuts)
            if run.size
        ]

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        return LinearMosaic._trusted(list(inputs), self._axis, self._fill_value)

    # -- planner protocol ---------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # Each tile follows the mosaic's axes, shifted to its start along the
        # joined axis, and lies between its start and end there.
        placements = []
        for number, tile in enumerate(self._tiles):
            start = self._start(number)
            axes = tuple((a, start if a == self._axis else 0, 1) for a in range(self.ndim))
            placements.append(Placement(tile, axes, ((self._axis, start, self._ends[number]),)))
        return tuple(placements)

    def _plan_edges(self, kind: str, edges_of: Callable[[Array], Edges]) -> Edges:
        # The tiles' ends are edges too (of every kind): a tile of a pass
        # across one reads two sources, and joins their parts into a copy.
        edges = list(super()._plan_edges(kind, edges_of))
        starts = np.array([s for s in self._ends[:-1] if s], np.intp)
        along = edges[self._axis]
        edges[self._axis] = sorted_unique(starts) if along is None else sorted_union(starts, along)
        return tuple(edges)

    def _plan_own_bytes(self, joined: bool) -> int:
        # Joining parts of two tiles makes a copy; a part of one tile is itself.
        return super()._plan_own_bytes(joined) if joined else 0

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        return max(parts)  # the tiles make up one tile of the pass together

    def _index_steps(self, key: Key) -> Steps[Array]:
        axis = self._axis
        item = key[axis]
        if isinstance(item, int):
            tile = bisect.bisect_right(self._ends, item)
            pieces: list[tuple[int, Any]] = [(tile, item - self._start(tile))]
        else:
            pieces = self._pieces(item) or [(0, range(0))]
        parts = []
        for tile, local in pieces:
            parts.append((yield self._tiles[tile]._select_steps(
                key[:axis] + (local,) + key[axis + 1 :]
            )))
        if len(parts) == 1:
            # Without masks the fill value is the dtype's default, and so the tile's.
            return with_fill_value(parts[0], self._fill_value) if self.masked else parts[0]
        new_axis = axis - sum(isinstance(k, int) for k in key[:axis])
        return LinearMosaic._trusted(parts, new_axis, self._fill_value)

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        with_masks = masked or self.masked
        parts = []
        for tile in self._tiles:
            parts.append((yield tile._evaluate_steps(context, with_masks)))
        if not with_masks:
            return np.concatenate(parts, axis=self._axis)
        # Masked tiles realised plainly are filled with the mosaic's fill value,
        # which may not be theirs.
        result = np.ma.concatenate(parts, axis=self._axis)
        if not masked:
            return fill_masked(result, self._fill_value)
        return np.ma.MaskedArray(
            result.data, mask=result.mask,
            fill_value=fill_value_argument(self._fill_value, self.dtype),
        )


class ArrayStack(Array):
    """Arrays of one shape arranged in an N-d grid: new leading axes (Biggus's name).

    Parameters
    ----------
    stack : list, tuple or object ndarray of arrays
        The members, lazy arrays or ndarrays of equal shape and dtype; a list
        or tuple is a 1-D arrangement. They are wrapped, never realised.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.empty((2, 3), dtype=object)
    >>> for i, j in np.ndindex(grid.shape):
    ...     grid[i, j] = np.full(4, 10 * i + j)
    >>> s = ArrayStack(grid)
    >>> s.shape
    (2, 3, 4)
    >>> s[1, ::2, 0].ndarray().tolist()
    [10, 12]
    """

    def __init__(self, stack: Any):
        if isinstance(stack, np.ndarray) and stack.dtype == object:
            grid = np.empty(stack.shape, dtype=object)
        elif isinstance(stack, (list, tuple)):
            grid = np.empty(len(stack), dtype=object)
        else:
            raise TypeError(
                f"ArrayStack: expected a list, tuple or object array of arrays, got "
                f"{type(stack).__name__}"
            )
        members = _as_members(stack, "ArrayStack")
        for flat, member in enumerate(members):
            grid[np.unravel_index(flat, grid.shape)] = member
        first = members[0]
        for flat, member in enumerate(members[1:], start=1):
            where = tuple(int(i) for i in np.unravel_index(flat, grid.shape))
            if member.shape != first.shape:
                raise ShapeError(
                    f"ArrayStack: member {where} has shape {member.shape}, expected "
                    f"{first.shape} (that of the first member)"
                )
            if member.dtype != first.dtype:
                raise DTypeError(
                    f"ArrayStack: member {where} has dtype {member.dtype}, expected "
                    f"{first.dtype} (that of the first member)"
                )
        self._setup(grid, first.shape, first.dtype, joined_fill_value(members, first.dtype),
                    any(m.masked for m in members))

    def _setup(self, grid: np.ndarray, item_shape: tuple[int, ...], dtype: np.dtype,
               fill_value: Any, masked: bool) -> None:
        self._grid = grid
        self._item_shape = item_shape
        self._dtype = dtype
        self._fill_value = fill_value
        # Kept, not found from the members: an empty selection has none.
        self._masked = masked

    @classmethod
    def _trusted(cls, grid: np.ndarray, item_shape: tuple[int, ...], dtype: np.dtype,
                 fill_value: Any, masked: bool) -> ArrayStack:
        stack = cls.__new__(cls)
        stack._setup(grid, item_shape, dtype, fill_value, masked)
        return stack

    @staticmethod
    def multidim_array_stack(
        arrays: Sequence[Any], shape: Sequence[int], order: Literal["C", "F"] = "C"
    ) -> ArrayStack:
        """Stack a flat sequence of arrays into a grid of ``shape`` (Biggus's API).

        Parameters
        ----------
        arrays : sequence of arrays
            ``prod(shape)`` arrays of one shape and dtype.
        shape : sequence of int
            The shape of the grid of arrays.
        order : {'C', 'F'}
            The order in which ``arrays`` fill the grid.

        Examples
        --------
        >>> import numpy as np
        >>> s = ArrayStack.multidim_array_stack([np.full(2, i) for i in range(6)], (2, 3), order="F")
        >>> s[:, :, 0].ndarray().tolist()
        [[0, 2, 4], [1, 3, 5]]
        """
        arrays = list(arrays)
        if any(isinstance(a, (list, tuple)) for a in arrays):
            raise ShapeError(
                "multidim_array_stack: expected a flat sequence of arrays (the grid's "
                "shape says how they stack), found nested lists; or give ArrayStack an "
                "object array of the grid"
            )
        members = _as_members(arrays, "multidim_array_stack")
        shape = tuple(int(n) for n in shape)
        if len(members) != math.prod(shape):
            # Biggus's words, which were numpy's reshape's.
            raise ShapeError(
                f"multidim_array_stack: total size of new array must be unchanged: "
                f"{len(members)} arrays cannot fill a grid of shape {shape} "
                f"({math.prod(shape)} places)"
            )
        if order not in ("C", "F"):
            raise ValueError(f"multidim_array_stack: order must be 'C' or 'F', got {order!r}")
        flat = np.empty(len(members), dtype=object)
        for i, member in enumerate(members):
            flat[i] = member
        return ArrayStack(flat.reshape(shape, order=order))

    @property
    def stack(self) -> np.ndarray:
        """The object array of members (Biggus's name)."""
        return self._grid

    @property
    def shape(self) -> tuple[int, ...]:
        return self._grid.shape + self._item_shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def fill_value(self) -> Any:
        return self._fill_value

    @property
    def masked(self) -> bool:
        return self._masked

    @property
    def inputs(self) -> tuple[Array, ...]:
        return tuple(self._grid.ravel())

    def _with_inputs(self, inputs: tuple[Array, ...]) -> Array:
        grid = np.empty(self._grid.shape, dtype=object)
        for flat, member in enumerate(inputs):
            grid[np.unravel_index(flat, grid.shape)] = member
        return ArrayStack._trusted(grid, self._item_shape, self._dtype, self._fill_value,
                                   self._masked)

    # -- planner protocol ---------------------------------------------------
    def _plan_placements(self) -> tuple[Placement, ...]:
        # Members follow the trailing axes, each at one place of the grid.
        grid = self._grid.shape
        axes = tuple((len(grid) + a, 0, 1) for a in range(len(self._item_shape)))
        return tuple(
            Placement(member, axes, tuple(
                (a, int(i), int(i) + 1) for a, i in enumerate(np.unravel_index(flat, grid))
            ))
            for flat, member in enumerate(self.inputs)
        )

    def _plan_input_bytes(self, parts: Sequence[int]) -> int:
        return max(parts)  # the members make up one tile of the pass together

    def _index_steps(self, key: Key) -> Steps[Array]:
        outer, inner = key[: self._grid.ndim], key[self._grid.ndim :]
        chosen = orthogonal_take(self._grid, outer)
        if isinstance(chosen, Array):  # every outer item was an int
            part = yield chosen._select_steps(inner)
            return with_fill_value(part, self._fill_value) if self._masked else part
        grid = np.empty(chosen.shape, dtype=object)
        for where in np.ndindex(chosen.shape):
            grid[where] = yield chosen[where]._select_steps(inner)
        return ArrayStack._trusted(grid, key_shape(inner), self._dtype, self._fill_value,
                                   self._masked)

    def _compute_steps(self, context: EvaluationContext, masked: bool) -> Steps[np.ndarray]:
        # Masked members realised plainly are filled with the stack's fill
        # value, which may not be theirs: they are evaluated masked.
        with_masks = masked or self.masked
        data = np.empty(self.shape, self._dtype)
        mask = np.zeros(self.shape, bool) if with_masks else None
        for where in np.ndindex(self._grid.shape):
            value = yield cast(Array, self._grid[where])._evaluate_steps(context, with_masks)
            data[where] = np.ma.getdata(value)
            if mask is not None:
                mask[where] = np.ma.getmaskarray(value)
        if mask is None:
            return data
        if not masked:
            return fill_masked(np.ma.MaskedArray(data, mask=mask), self._fill_value)
        return np.ma.MaskedArray(
            data, mask=mask, fill_value=fill_value_argument(self._fill_value, self._dtype)
        )


def concatenate(arrays: Any, axis: int = 0) -> Array:
    """Join arrays along an existing axis, as ``numpy.concatenate``; lazily.

    Unlike :class:`LinearMosaic`, dtypes may differ: they are promoted as
    numpy does.

    Examples
    --------
    >>> import numpy as np
    >>> concatenate([np.zeros(2, "i2"), np.ones(1, "f4")]).ndarray()
    array([0., 0., 1.], dtype=float32)
    """
    members = _as_members(arrays, "concatenate")
    if any(m.ndim == 0 for m in members):
        raise ShapeError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = _check_tiles(members, axis, "concatenate", noun="array", same_dtype=False)
    return LinearMosaic._trusted(_promoted(members), axis)


def stack(arrays: Any, axis: int = 0) -> Array:
    """Join arrays of one shape along a new axis, as ``numpy.stack``; lazily.

    Examples
    --------
    >>> import numpy as np
    >>> stack([np.arange(3), np.arange(3)], axis=-1).shape
    (3, 2)
    """
    members = _as_members(arrays, "stack")
    for i, member in enumerate(members[1:], start=1):
        if member.shape != members[0].shape:
            raise ShapeError(
                f"stack: array {i} has shape {member.shape}, expected {members[0].shape} "
                "(that of array 0); all arrays must have the same shape"
            )
    axis = normalise_axis(axis, members[0].ndim + 1, "stack")
    return moveaxis(ArrayStack(_promoted(members)), 0, axis)
