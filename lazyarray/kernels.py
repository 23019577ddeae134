"""Fused reduction kernels: count, sum, minimum, maximum and M2 of a block in one sweep.

numpy sweeps memory once per statistic (and once more for a float64 copy
of float32 data); these kernels update every requested statistic of one
block in a single sweep, and compute the deviations of variance in a second
sweep over the same block while it is still in the CPU cache (or, over
adjacent elements, in the same sweep, from a shift). They are
compiled with numba (the ``lazyarray[fast]`` extra): ahead of time, by
``lazyarray build-kernels`` (:mod:`lazyarray.kernelcache`), or by numba's
JIT on first use, cached on disk. This module is imported only when a
kernel is first wanted, and imports numba only when the JIT must compile
or load one: :func:`sweep` and :func:`into` give a :class:`Kernel`, which
runs the ahead-of-time export for its dtypes when this machine's build has
it, and numba's otherwise.

A block is described to a kernel as a flat one-dimensional view of the
memory it spans and a *layout*: ``A`` kept-outer rows (``sa`` elements
apart), ``R`` reduced rows (``sr`` apart) and ``B`` kept-inner elements,
adjacent in memory. Two loop orders cover the layouts:

1. ``"outer"`` (``B > 1``): the innermost loop runs over the ``B`` outputs,
   each with its own accumulators, which vectorises without reordering any
   sum (every output is summed in the order numpy sums an outer axis).
2. ``"inner"`` (``B == 1``, reduced elements adjacent): up to :data:`LANES`
   partial accumulators per output, each taking every ``LANES``-th element
   of a segment of :data:`SEGMENT` elements (the segment as rows of lanes,
   summed as the outer loop sums rows, which vectorises too), folded at the
   segment's end. A variance's squared deviations are summed in the same
   sweep, from a shift (the segment's first value), and the segments'
   counts, means and M2 merged, so a long row (a reduction over whole
   planes) is read from memory once.

Outputs are flat arrays of ``A * B`` elements that the caller initialises:
``count`` to 0, ``total`` to 0, ``low`` and ``high`` to the identities of
minimum and maximum (``+inf`` / the dtype's largest, and so on), ``m2`` to 0.

Compiled variants
-----------------
numba compiles a kernel once per combination of its compile-time choices
and argument dtypes, about a second each, and a new machine (or a test run
with an empty cache) pays for every combination it meets. So only what
changes the innermost loop's memory traffic is a compile-time choice of
:func:`sweep`: whether a mask is read (``masked``) and whether NaN is
tested and counts kept (``skipnan``). Whether the extremes and the
deviations of a variance are found are arguments of the compiled kernel:
the deviations are a loop of their own, and LLVM moves the one
loop-invariant test left in the innermost loop (``extremes``) out of it
(unswitching), so each path runs as fast as a kernel compiled for it. With
two or more such tests it does not, which is why ``masked`` and
``skipnan`` stay compile-time. That makes at most 4 variants per layout
and pair of dtypes (2 for integers, which have no NaN), where there were
16. :func:`into`, whose loop holds more, keeps all its choices
compile-time: a single argument more costs its loop up to a quarter of its
speed.

Compiled kernels are cached on disk by numba: in ``__pycache__`` beside
this module when that is writable, otherwise in numba's per-user cache
directory; ``NUMBA_CACHE_DIR`` chooses another place. Loading even one
of them in a new process costs 0.75 to 1 s and 115 MB (numba's import and
its typing registry); an ahead-of-time build loads in a few milliseconds
and megabytes, without numba. Both are compiled from the functions below
(:func:`python_kernel`), by the same LLVM for the same CPU and its
features, with the same options (no GIL, numpy's error model): they give
the same bits.

Examples
--------
>>> import numpy as np
>>> data = np.array([[1.0, 5.0], [3.0, np.nan], [2.0, 4.0]]).reshape(-1)
>>> count, total = np.zeros(2, np.int64), np.zeros(2)
>>> low, high = np.full(2, np.inf), np.full(2, -np.inf)
>>> mean, m2 = np.zeros(2), np.zeros(2)
>>> no_mask = np.zeros(1, bool)
>>> layout = (1, 3, 2, 0, 2, 0, 0)  # A, R, B, sa, sr, ma, mr
>>> kernel = sweep("outer", masked=False, skipnan=True)
>>> kernel(data, no_mask, *layout, count, total, low, high, mean, m2, True, True)
>>> count.tolist(), total.tolist(), low.tolist(), high.tolist(), m2.tolist()
([3, 2], [6.0, 9.0], [1.0, 4.0], [3.0, 5.0], [2.0, 0.5])
"""

# x != x is the NaN test that numba compiles, vectorised, for every dtype
# (for integers it is constant false); ruff takes it for a mistake.
# ruff: noqa: PLR0124

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import numpy as np

from . import kernelcache

__all__ = ["LANES", "SEGMENT", "STRIP", "Kernel", "available", "into", "python_kernel", "sweep"]

#: Outputs that :func:`into` updates together, through every reduced row:
#: their running values (up to 32 bytes each) stay in the L1 cache.
STRIP = 512

#: Partial accumulators per output of the ``"inner"`` loop, at most: a row of
#: a segment's elements, whose update is a loop long enough to vectorise
#: (numba's loop vectoriser leaves a loop over 16 fixed lanes scalar). Their
#: arrays (up to 4 KB each) stay in the L1 cache. Measured, one core, 50
#: rows of 10 000 float32: sums 2.2 -> 3.8 G elements/s, mean and variance
#: 0.95 -> 2.4, against 16 lanes and a second sweep for the deviations.
LANES = 512

#: Elements of a reduced row whose count, mean and squared deviations are
#: found together, then merged into the row's by the pairwise update of Chan,
#: Golub and LeVeque (128 KB of float32: a segment swept twice, where its
#: shift was far from its mean, is read again from the L2 cache).
SEGMENT = 1 << 15

#: Values beyond this take the ``"inner"`` variance's second sweep: their
#: squared deviations may overflow, and then do as numpy's.
HUGE = 1e150


def available() -> bool:
    """Whether numba is installed, so that the kernels can be compiled (found, not imported)."""
    try:
        return find_spec("numba") is not None
    except (ImportError, ValueError):  # a broken install, or numba blocked in sys.modules
        return False


def _jit(kernel: Callable[..., None]) -> Callable[..., None]:
    """``kernel`` compiled by numba (as it is without numba: for doctests, not speed).

    The closure's constants are compile-time: numba compiles each
    combination with its untaken branches removed, and keys its disk cache
    on them. error_model="numpy": no division checks (no division can be by
    zero).
    """
    if not available():
        return kernel
    import numba

    compiled: Callable[..., None] = numba.njit(cache=True, nogil=True, error_model="numpy")(kernel)
    return compiled


#: The dtypes of the arrays each kernel takes, by argument position: "D"
#: the data's (argument 0), "T" the total's (argument 10), else a dtype.
_B, _I8, _F8 = np.dtype("?"), np.dtype("i8"), np.dtype("f8")
_ARRAYS: dict[str, tuple[tuple[int, str | np.dtype], ...]] = {
    "sweep": ((0, "D"), (1, _B), (9, _I8), (10, "T"), (11, "D"), (12, "D"), (13, _F8),
              (14, _F8)),
    "into": ((0, "D"), (1, _B), (9, _I8), (10, "T"), (11, "D"), (12, "D"), (13, _I8),
             (15, _F8), (16, _F8), (17, _F8), (18, _F8), (19, _F8)),
}


class Kernel:
    """One compiled variant of a kernel: its ahead-of-time export for the dtypes, or numba's.

    Called with a kernel's arguments, it runs the export of this machine's
    ahead-of-time build (:mod:`lazyarray.kernelcache`) for the data's and
    the total's dtypes when there is one and every array is one-dimensional,
    C-contiguous and of the dtype the export was compiled for (an export
    checks no type: anything else would be misread), and otherwise the
    function compiled by numba's JIT, which numba imports on first use.
    Both are compiled from the same function, :attr:`python`, by the same
    LLVM for this CPU: they give the same bits.

    Parameters
    ----------
    kind : {"sweep", "into"}
    flags : tuple
        The compile-time choices (the arguments of :func:`sweep` or :func:`into`).
    python : callable
        The kernel as Python code, as numba compiles it.
    """

    def __init__(self, kind: str, flags: tuple[Any, ...], python: Callable[..., None]) -> None:
        self.kind = kind
        self.flags = flags
        self.python = python
        self._arrays = _ARRAYS[kind]
        self._exports: dict[tuple[np.dtype, np.dtype], Callable[..., None] | None] = {}
        self._generation = kernelcache.generation
        self._jitted: Callable[..., None] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Kernel({self.kind!r}, {self.flags!r})"

    def export(self, data: np.dtype, total: np.dtype) -> Callable[..., None] | None:
        """The ahead-of-time export for ``data`` and ``total`` dtypes, or ``None``."""
        key = (data, total)
        if self._generation != kernelcache.generation:  # the build was looked up again
            self._exports, self._generation = {}, kernelcache.generation
        try:
            return self._exports[key]
        except KeyError:
            found = kernelcache.find_export(kernelcache.export_name(self.kind, self.flags, data,
                                                                    total))
            self._exports[key] = found
            return found

    def jit(self) -> Callable[..., None]:
        """The kernel compiled by numba's JIT (imported and compiled on first use)."""
        if self._jitted is None:
            with self._lock:
                if self._jitted is None:
                    self._jitted = _jit(self.python)
        return self._jitted

    @property
    def signatures(self) -> list[Any]:
        """The argument types numba's JIT compiled this kernel for (none before its first use)."""
        jitted = self._jitted
        return list(getattr(jitted, "signatures", ())) if jitted is not None else []

    def choose(self, *args: Any) -> tuple[str, Callable[..., None]]:
        """Which compiled function a call with ``args`` runs: ``("aot", f)`` or ``("jit", f)``."""
        data, total = args[0].dtype, args[10].dtype
        found = self.export(data, total)
        if found is not None:
            for position, code in self._arrays:
                array = args[position]
                wanted = data if code == "D" else total if code == "T" else code
                if array.dtype != wanted or array.ndim != 1 or not array.flags.c_contiguous:
                    break
            else:
                return "aot", found
        return "jit", self.jit()

    def __call__(self, *args: Any) -> None:
        how, function = self.choose(*args)
        if how == "jit":
            # numba compiles a variant per read-only flag of each array: the
            # data and the mask, which a kernel only reads, are always given
            # read-only, so that a block of a file and one made in memory
            # share a compilation (each costs a second or more).
            args = (_read_only(args[0]), _read_only(args[1]), *args[2:])
        function(*args)


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, or a read-only view of it where it is writable."""
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


def python_kernel(kind: str, flags: tuple[Any, ...]) -> Callable[..., None]:
    """The kernel ``kind`` (``"sweep"`` or ``"into"``) for ``flags``, as Python code.

    What numba compiles, by JIT or ahead of time.
    """
    if kind == "sweep":
        layout, masked, skipnan = flags
        if layout not in ("outer", "inner"):
            raise ValueError(f"sweep: layout must be 'outer' or 'inner', got {layout!r}")
        return (_outer if layout == "outer" else _inner)(masked, skipnan)
    if kind == "into":
        return _into(*flags)
    raise ValueError(f"python_kernel: kind must be 'sweep' or 'into', got {kind!r}")


@functools.cache
def sweep(layout: str, masked: bool, skipnan: bool) -> Kernel:
    """The compiled kernel for ``layout``, reading a mask or skipping NaN or neither.

    Parameters
    ----------
    layout : {"outer", "inner"}
        The loop order (see the module's notes).
    masked : bool
        Elements whose ``mask`` is true are skipped (``mask`` is laid out
        like the data, with its own strides ``ma`` and ``mr``).
    skipnan : bool
        NaN elements are skipped (the ``nan`` forms, for float data).

    Returns
    -------
    callable
        ``kernel(data, mask, A, R, B, sa, sr, ma, mr, count, total, low, high,
        mean, m2, extremes, deviations)``. ``count`` is written only with
        ``masked`` or ``skipnan`` (otherwise every output counts ``R``).
        With ``extremes``, the kernel finds the minimum and maximum (``low``
        and ``high``); with ``deviations``, the mean (``total / max(count,
        1)``) and the sum of squared deviations from it (``m2``), in
        float64: in a second sweep over each kept-outer row while it is in
        the CPU cache (``"outer"``), or in the same sweep, segment by
        segment (``"inner"``). Unused arrays may be any one-element arrays of the
        right dtype (the dtype of the used ones, so that no other variant is
        compiled for them).
    """
    flags = (layout, bool(masked), bool(skipnan))
    return Kernel("sweep", flags, python_kernel("sweep", flags))


def _outer(masked: bool, skipnan: bool) -> Callable[..., None]:
    counting = masked or skipnan

    def kernel(data: Any, mask: Any, A: int, R: int, B: int, sa: int, sr: int, ma: int,
               mr: int, count: Any, total: Any, low: Any, high: Any, mean: Any,
               m2: Any, extremes: bool, deviations: bool) -> None:
        # Rows are taken as slices and indexed from 0 by the loop counter:
        # numba then knows the index is not negative (no wrap-around test),
        # and the loop reads contiguous vectors instead of gathering.
        for a in range(A):
            o = a * B
            n_out = count[o:o + B] if counting else count
            t_out = total[o:o + B]
            l_out = low[o:o + B] if extremes else low
            h_out = high[o:o + B] if extremes else high
            for r in range(R):
                row = data[a * sa + r * sr:a * sa + r * sr + B]
                flags = mask[a * ma + r * mr:a * ma + r * mr + B] if masked else mask
                # Branch-free updates (selects), so the loop over b vectorises;
                # LLVM moves the test of extremes out of it.
                for b in range(B):
                    x = row[b]
                    ok = True
                    if masked:
                        ok = not flags[b]
                    if skipnan:
                        ok = ok & (x == x)
                    if counting:
                        n_out[b] += ok
                    s = t_out[b]
                    t_out[b] = s + x if ok else s
                    if extremes:
                        # x != x: NaN beats everything, as in numpy.minimum.
                        lo = l_out[b]
                        l_out[b] = x if ok & ((x < lo) | (x != x)) else lo
                        hi = h_out[b]
                        h_out[b] = x if ok & ((x > hi) | (x != x)) else hi
            if deviations:
                # Deviations from the block's own mean, not the sum-of-squares
                # formula, whose cancellation loses the variance of data far
                # from zero; the slab is still in the CPU cache.
                c_out = mean[o:o + B]
                q_out = m2[o:o + B]
                for b in range(B):
                    c_out[b] = t_out[b] / max(n_out[b] if counting else R, 1)
                for r in range(R):
                    row = data[a * sa + r * sr:a * sa + r * sr + B]
                    flags = mask[a * ma + r * mr:a * ma + r * mr + B] if masked else mask
                    for b in range(B):
                        x = row[b]
                        ok = True
                        if masked:
                            ok = not flags[b]
                        if skipnan:
                            ok = ok & (x == x)
                        e = x - c_out[b]
                        s2 = q_out[b]
                        q_out[b] = s2 + e * e if ok else s2

    return kernel


def _inner(masked: bool, skipnan: bool) -> Callable[..., None]:
    counting = masked or skipnan
    width = LANES
    segment = SEGMENT
    huge = HUGE

    def kernel(data: Any, mask: Any, A: int, R: int, B: int, sa: int, sr: int, ma: int,
               mr: int, count: Any, total: Any, low: Any, high: Any, mean: Any,
               m2: Any, extremes: bool, deviations: bool) -> None:
        lane_count = np.zeros(width, np.int64)
        lane_total = np.empty(width, total.dtype)
        lane_low = np.empty(width, low.dtype)
        lane_high = np.empty(width, high.dtype)
        lane_s1 = np.empty(width, np.float64)
        lane_s2 = np.empty(width, np.float64)
        zero = np.zeros(1, total.dtype)
        for a in range(A):
            n = 0
            s = total[a]
            lo = low[0]
            hi = high[0]
            if extremes:
                lo = low[a]
                hi = high[a]
            row_n = 0
            row_mean = 0.0
            row_m2 = 0.0
            for start in range(0, R, segment):
                stop = min(start + segment, R)
                length = stop - start
                # The segment as rows of `lanes` elements, each lane summing
                # its column: the loop over a row's lanes updates arrays
                # element by element, which LLVM vectorises (a loop over a
                # few scalar accumulators it would not, without numba's
                # SLP vectoriser, which numba leaves off).
                # At least 8 rows where the segment has them, so that folding
                # the lanes costs little beside the rows; the elements that
                # fill no whole row are a last, partial row.
                lanes = min(width, length, max(16, length // 128 * 16))
                rows = length // lanes
                rest = length - rows * lanes
                seg = data[a * sa + start:a * sa + stop]
                segf = mask[a * ma + start:a * ma + stop] if masked else mask
                # Deviations from a shift, the segment's first valid finite
                # element, in the same sweep: M2 = S2 - S1**2 / n, exact
                # algebra, and accurate while the shift is within a few
                # standard deviations of the mean (checked below; a second
                # sweep from the segment's mean cost twice this loop's time).
                shift = 0.0
                if deviations:
                    for r in range(length):
                        x = seg[r]
                        ok = True
                        if masked:
                            ok = not segf[r]
                        if ok and x == x and abs(x) < np.inf:
                            shift = x
                            break
                c_out = lane_count[:lanes]
                t_out = lane_total[:lanes]
                l_out = lane_low[:lanes]
                h_out = lane_high[:lanes]
                s1_out = lane_s1[:lanes]
                s2_out = lane_s2[:lanes]
                for j in range(lanes):
                    c_out[j] = 0
                    t_out[j] = 0
                    s1_out[j] = 0.0
                    s2_out[j] = 0.0
                    if extremes:
                        l_out[j] = lo
                        h_out[j] = hi
                for q in range(rows + (rest > 0)):
                    used = lanes if q < rows else rest
                    row = seg[q * lanes:q * lanes + used]
                    flags = segf[q * lanes:q * lanes + used] if masked else segf
                    for j in range(used):
                        x = row[j]
                        ok = True
                        if masked:
                            ok = not flags[j]
                        if skipnan:
                            ok = ok & (x == x)
                        if counting:
                            c_out[j] += ok
                        t = t_out[j]
                        t_out[j] = t + x if ok else t
                        if deviations:
                            e = x - shift
                            t1 = s1_out[j]
                            s1_out[j] = t1 + e if ok else t1
                            t2 = s2_out[j]
                            s2_out[j] = t2 + e * e if ok else t2
                        if extremes:
                            y = l_out[j]
                            l_out[j] = x if ok & ((x < y) | (x != x)) else y
                            y = h_out[j]
                            h_out[j] = x if ok & ((x > y) | (x != x)) else y
                part_n = 0
                part_s = zero[0]
                part_s1 = 0.0
                part_s2 = 0.0
                for j in range(lanes):
                    part_n += c_out[j]
                    part_s += t_out[j]
                    part_s1 += s1_out[j]
                    part_s2 += s2_out[j]
                    if extremes:
                        y = l_out[j]
                        lo = y if (y < lo) | (y != y) else lo
                        y = h_out[j]
                        hi = y if (y > hi) | (y != y) else hi
                if not counting:
                    part_n = length
                n += part_n
                s += part_s
                if deviations and part_n:
                    # The mean as the shift plus the deviations' mean: more
                    # accurate than the sum's mean, whose rounding grows with
                    # the values (and enters the merges of segments).
                    mean_shift = part_s1 / part_n
                    centre = shift + mean_shift
                    if not abs(centre) < np.inf:
                        centre = part_s / part_n
                    moved = part_s1 * mean_shift  # n (mean - shift)**2
                    part_m2 = part_s2 - moved
                    # Rounding may leave a spread of equal values just below
                    # 0; NaN passes (x < 0 is false).
                    part_m2 = 0.0 if part_m2 < 0.0 else part_m2  # noqa: FURB136 (NaN stays)
                    if (not moved <= 0.99 * part_s2 or not part_m2 < np.inf
                            or not abs(shift) < huge) and abs(part_s) < np.inf:
                        # A second sweep, from the sum's mean, as numpy takes
                        # them: where the shift was far from the mean (more
                        # than 10 standard deviations: the subtraction would
                        # lose more than 7 bits), where finite values' squares
                        # from it overflowed where those from the mean may
                        # not, and for values so large that numpy's squares
                        # from its rounded mean may overflow (which would
                        # make its variance inf, as the result then is too).
                        centre = part_s / part_n
                        for j in range(lanes):
                            s2_out[j] = 0.0
                        for q in range(rows + (rest > 0)):
                            used = lanes if q < rows else rest
                            row = seg[q * lanes:q * lanes + used]
                            flags = segf[q * lanes:q * lanes + used] if masked else segf
                            for j in range(used):
                                x = row[j]
                                ok = True
                                if masked:
                                    ok = not flags[j]
                                if skipnan:
                                    ok = ok & (x == x)
                                e = x - centre
                                t2 = s2_out[j]
                                s2_out[j] = t2 + e * e if ok else t2
                        part_m2 = 0.0
                        for j in range(lanes):
                            part_m2 += s2_out[j]
                    if row_n:
                        merged = row_n + part_n
                        delta = centre - row_mean
                        row_mean += delta * part_n / merged
                        row_m2 += part_m2 + delta * (delta * (row_n * part_n / merged))
                        row_n = merged
                    else:
                        # The first segment with data is taken as it is: the
                        # update's delta (its mean less 0) would overflow for
                        # values near the square root of the largest float
                        # and give 0 * inf, NaN.
                        row_n, row_mean, row_m2 = part_n, centre, part_m2
            if counting:
                count[a] = n
            total[a] = s
            if extremes:
                low[a] = lo
                high[a] = hi
            if deviations:
                mean[a] = row_mean
                m2[a] = m2[a] + row_m2

    return kernel


@functools.cache
def into(masked: bool, skipnan: bool, summing: bool, extremes: bool,
         variance: bool) -> Kernel:
    """The compiled kernel that adds a block into running states, ``"outer"`` layout.

    Where :func:`sweep` finds a block's own statistics, which the caller
    then merges into the states of the blocks before it, this kernel updates
    those states directly, in the same sweep: the running sum, minimum and
    maximum take the block's elements, and the running mean and M2 of a
    variance take sums of deviations from the running mean (the *shifted
    data* update: with ``c`` the running mean, ``n'`` the new count and
    ``S1``, ``S2`` the sums of ``x - c`` and ``(x - c)**2`` over the block,
    ``M2' = M2 + S2 - S1**2 / n'`` and ``mean' = c + S1 / n'``, exact
    algebra, and well conditioned because ``c`` is close to the block's mean).
    Where nothing was counted yet, the centre is the block's first element
    when it counts and is finite (0 otherwise).

    Parameters
    ----------
    masked, skipnan : bool
        As for :func:`sweep`.
    summing, extremes, variance : bool
        Update the running ``total``; ``low`` and ``high``; the running
        ``mean`` and ``m2`` of a variance.

    Returns
    -------
    callable
        ``kernel(data, mask, A, R, B, sa, sr, ma, mr, found, total, low, high,
        count, step, mean, m2, centre, s1, s2)``. ``found`` (int64, ``A * B``,
        zeroed by the caller) receives the block's valid counts with
        ``masked`` or ``skipnan``; ``count`` is the variance's running count
        *before* this block, read at ``count[i * step]`` (``step`` 0 for a
        count shared by every output); ``centre``, ``s1`` and ``s2`` are
        float64 scratch of ``B`` elements. The caller adds the block's counts
        to the running counts afterwards.
    """
    flags = (bool(masked), bool(skipnan), bool(summing), bool(extremes), bool(variance))
    return Kernel("into", flags, python_kernel("into", flags))


def _into(masked: bool, skipnan: bool, summing: bool, extremes: bool,
          variance: bool) -> Callable[..., None]:
    counting = masked or skipnan
    strip = STRIP

    def kernel(data: Any, mask: Any, A: int, R: int, B: int, sa: int, sr: int, ma: int,
               mr: int, found: Any, total: Any, low: Any, high: Any, count: Any, step: int,
               mean: Any, m2: Any, centre: Any, s1: Any, s2: Any) -> None:
        # Outputs are taken a strip at a time, every reduced row of the strip
        # before the next: the strip's running values stay in the L1 cache,
        # where a whole row of outputs (a block's worth) would not.
        for a in range(A):
            for o in range(a * B, a * B + B, strip):
                w = min(strip, a * B + B - o)
                d = a * sa + o - a * B
                k = a * ma + o - a * B
                n_out = found[o:o + w] if counting else found
                t_out = total[o:o + w] if summing else total
                l_out = low[o:o + w] if extremes else low
                h_out = high[o:o + w] if extremes else high
                if variance:
                    first = data[d:d + w]
                    flags = mask[k:k + w] if masked else mask
                    for b in range(w):
                        x = first[b]
                        ok = True
                        if masked:
                            ok = not flags[b]
                        start = x if ok and x == x and abs(x) < np.inf else 0.0
                        centre[b] = mean[o + b] if count[(o + b) * step] > 0 else start
                        s1[b] = 0.0
                        s2[b] = 0.0
                # Four reduced rows at a time: each running value is loaded
                # and stored once per four elements, not once per element
                # (the loads and stores limited the loop). Each value still
                # takes the rows' elements one by one, in order: the same
                # bits as row by row.
                r = 0
                while r + 4 <= R:
                    row0 = data[d + r * sr:d + r * sr + w]
                    row1 = data[d + (r + 1) * sr:d + (r + 1) * sr + w]
                    row2 = data[d + (r + 2) * sr:d + (r + 2) * sr + w]
                    row3 = data[d + (r + 3) * sr:d + (r + 3) * sr + w]
                    flags0 = mask[k + r * mr:k + r * mr + w] if masked else mask
                    flags1 = mask[k + (r + 1) * mr:k + (r + 1) * mr + w] if masked else mask
                    flags2 = mask[k + (r + 2) * mr:k + (r + 2) * mr + w] if masked else mask
                    flags3 = mask[k + (r + 3) * mr:k + (r + 3) * mr + w] if masked else mask
                    for b in range(w):
                        x0 = row0[b]
                        x1 = row1[b]
                        x2 = row2[b]
                        x3 = row3[b]
                        ok0 = ok1 = ok2 = ok3 = True
                        if masked:
                            ok0 = not flags0[b]
                            ok1 = not flags1[b]
                            ok2 = not flags2[b]
                            ok3 = not flags3[b]
                        if skipnan:
                            ok0 = ok0 & (x0 == x0)
                            ok1 = ok1 & (x1 == x1)
                            ok2 = ok2 & (x2 == x2)
                            ok3 = ok3 & (x3 == x3)
                        if counting:
                            n_out[b] += ok0 + ok1 + ok2 + ok3
                        if summing:
                            t = t_out[b]
                            t = t + x0 if ok0 else t
                            t = t + x1 if ok1 else t
                            t = t + x2 if ok2 else t
                            t_out[b] = t + x3 if ok3 else t
                        if extremes:
                            lo = l_out[b]
                            lo = x0 if ok0 & ((x0 < lo) | (x0 != x0)) else lo
                            lo = x1 if ok1 & ((x1 < lo) | (x1 != x1)) else lo
                            lo = x2 if ok2 & ((x2 < lo) | (x2 != x2)) else lo
                            l_out[b] = x3 if ok3 & ((x3 < lo) | (x3 != x3)) else lo
                            hi = h_out[b]
                            hi = x0 if ok0 & ((x0 > hi) | (x0 != x0)) else hi
                            hi = x1 if ok1 & ((x1 > hi) | (x1 != x1)) else hi
                            hi = x2 if ok2 & ((x2 > hi) | (x2 != x2)) else hi
                            h_out[b] = x3 if ok3 & ((x3 > hi) | (x3 != x3)) else hi
                        if variance:
                            c = centre[b]
                            d1 = s1[b]
                            d2 = s2[b]
                            e = x0 - c
                            d1 = d1 + e if ok0 else d1
                            d2 = d2 + e * e if ok0 else d2
                            e = x1 - c
                            d1 = d1 + e if ok1 else d1
                            d2 = d2 + e * e if ok1 else d2
                            e = x2 - c
                            d1 = d1 + e if ok2 else d1
                            d2 = d2 + e * e if ok2 else d2
                            e = x3 - c
                            s1[b] = d1 + e if ok3 else d1
                            s2[b] = d2 + e * e if ok3 else d2
                    r += 4
                while r < R:
                    row = data[d + r * sr:d + r * sr + w]
                    flags = mask[k + r * mr:k + r * mr + w] if masked else mask
                    for b in range(w):
                        x = row[b]
                        ok = True
                        if masked:
                            ok = not flags[b]
                        if skipnan:
                            ok = ok & (x == x)
                        if counting:
                            n_out[b] += ok
                        if summing:
                            t = t_out[b]
                            t_out[b] = t + x if ok else t
                        if extremes:
                            lo = l_out[b]
                            l_out[b] = x if ok & ((x < lo) | (x != x)) else lo
                            hi = h_out[b]
                            h_out[b] = x if ok & ((x > hi) | (x != x)) else hi
                        if variance:
                            e = x - centre[b]
                            d1 = s1[b]
                            s1[b] = d1 + e if ok else d1
                            d2 = s2[b]
                            s2[b] = d2 + e * e if ok else d2
                    r += 1
                if variance:
                    # Selects, not a branch, so that the loop vectorises (a
                    # division by a count of 0 is computed, and discarded).
                    for b in range(w):
                        n = count[(o + b) * step] + (n_out[b] if counting else R)
                        shift = s1[b]
                        moved = centre[b] + shift / n
                        grown = m2[o + b] + (s2[b] - shift * shift / n)
                        mean[o + b] = moved if n > 0 else mean[o + b]
                        m2[o + b] = grown if n > 0 else m2[o + b]

    return kernel
