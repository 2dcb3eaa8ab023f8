"""Per-date rank kernels: rows grouped by a code, percentile ranks and sort orders per group.

Compiled by numba (``nogil``, cached on disk) like kernels.py. The engine groups a factor's rows
by date (``group_rows``) and ranks each date (``percentile_ranks``); factor research sorts a
column once per group (``group_order``) and ranks it among many subsets of each group by
walking that order. Values are read with an Arrow validity bitmap (bit i for row i, least
significant bit first), so a polars column is read without copying it.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

_TOP = np.uint64(1) << np.uint64(63)
_HIGH = np.uint64(0xFFFFFFFF) << np.uint64(32)
_DIGIT_BITS = 11
_DIGITS = 2048  # 2**_DIGIT_BITS buckets per radix pass
_PASSES = 3  # 3 x 11 bits cover the top 32 bits of a key
_SHORT_RUN = 32  # runs of equal top bits up to this long are insertion-sorted

_jit = nb.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def group_rows(
    codes: NDArray[np.int64], rows: NDArray[np.int64], offsets: NDArray[np.int64]
) -> None:
    """Rows grouped by ``codes`` (0 <= code < len(offsets) - 1), each group in row order.

    Fills ``rows`` and ``offsets`` (zeros from the caller) by a counting sort: group g is
    ``rows[offsets[g]:offsets[g + 1]]``.
    """
    for c in codes:
        offsets[c + 1] += 1
    for g in range(offsets.shape[0] - 1):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    for i in range(codes.shape[0]):
        c = codes[i]
        rows[fill[c]] = i
        fill[c] += 1


@_jit
def percentile_ranks(
    x: NDArray[np.float64],
    valid: NDArray[np.uint8],
    rows: NDArray[np.int64],
    offsets: NDArray[np.int64],
    descending: bool,
    out: NDArray[np.float32],
) -> None:
    """``(r - 1) / (k - 1)`` per group, r the average rank (ties share it) among the group's k
    valid values; 0.5 for a group of one. ``out`` is not written where a value is not valid.

    ``valid`` is an Arrow validity bitmap (bit i for row i, least significant bit first), so a
    polars column is read without copying it. Keys are the order-preserving 64-bit image of
    each float: the sign bit flipped for a positive, every bit for a negative, -0.0 as 0.0
    (computed without branches: gathering a date's rows is what costs, not the sort).
    """
    full, where, packed, spare, hist = _buffers(offsets)
    pct = np.empty(full.shape[0])
    bits = x.view(np.uint64)
    invert = np.uint64(0) - np.uint64(descending)  # all ones when descending: complement keys
    for g in range(offsets.shape[0] - 1):
        m = _gather(bits, valid, rows, offsets[g], offsets[g + 1], invert, full, where, packed)
        _rank_group(packed, full, pct, spare, hist, m)
        for q in range(m):
            out[where[q]] = pct[q]


@_jit
def group_order(
    x: NDArray[np.float64],
    valid: NDArray[np.uint8],
    rows: NDArray[np.int64],
    offsets: NDArray[np.int64],
    order: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> None:
    """Each group's valid rows in ascending order of ``x`` (the keys and sort of
    ``percentile_ranks``): group g's ``counts[g]`` rows fill ``order[offsets[g]:]``.

    For ranking one column among many subsets of each group: a walk of the order per subset is
    linear, where a sort per subset is not.
    """
    full, where, packed, spare, hist = _buffers(offsets)
    bits = x.view(np.uint64)
    low = ~_HIGH
    for g in range(offsets.shape[0] - 1):
        m = _gather(
            bits, valid, rows, offsets[g], offsets[g + 1], np.uint64(0), full, where, packed
        )
        counts[g] = m
        if m == 1:
            order[offsets[g]] = where[0]
        elif m > 1:
            ranked = _radix_sort_high(packed, spare, hist, m)
            _settle(ranked, full, m)
            for q in range(m):
                order[offsets[g] + q] = where[ranked[q] & low]


@_jit
def _buffers(offsets: NDArray[np.int64]) -> tuple:
    """Scratch for the largest group: keys, rows, packed keys, the radix sort's spare and bins."""
    width = 1
    for g in range(offsets.shape[0] - 1):
        width = max(width, offsets[g + 1] - offsets[g])
    full = np.empty(width, np.uint64)
    where = np.empty(width, np.int64)
    packed = np.empty(width, np.uint64)
    spare = np.empty(width, np.uint64)
    hist = np.empty((_PASSES, _DIGITS), np.int64)
    return full, where, packed, spare, hist


@_jit
def _gather(
    bits: NDArray[np.uint64],
    valid: NDArray[np.uint8],
    rows: NDArray[np.int64],
    lo: int,
    hi: int,
    invert: np.uint64,
    full: NDArray[np.uint64],
    where: NDArray[np.int64],
    packed: NDArray[np.uint64],
) -> int:
    """The valid rows of rows[lo:hi]: their keys (``full``), rows (``where``) and top 32 key
    bits with the position below (``packed``); returns how many there are."""
    zero = np.uint64(0)
    m = 0
    for at in range(lo, hi):
        r = rows[at]
        b = bits[r]
        b = zero if b == _TOP else b  # -0.0
        k = b ^ ((zero - (b >> np.uint64(63))) | _TOP) ^ invert
        full[m] = k
        where[m] = r
        packed[m] = (k & _HIGH) | np.uint64(m)
        m += (valid[r >> 3] >> (r & 7)) & 1  # a null is written over by the next row
    return m


@_jit
def _rank_group(
    packed: NDArray[np.uint64],
    full: NDArray[np.uint64],
    pct: NDArray[np.float64],
    spare: NDArray[np.uint64],
    hist: NDArray[np.int64],
    m: int,
) -> None:
    """pct[i] = percentile rank of full[i] among full[:m] (keys: see ``percentile_ranks``).

    A radix sort orders the group by the top 32 bits of the keys, carrying each one's position
    in the low 32 bits of ``packed``; runs sharing the top 32 bits (equal values, or values
    within about 1e-6 of each other) are then sorted on the full key.
    """
    if m == 1:
        pct[0] = 0.5
    elif m > 1:
        order = _radix_sort_high(packed, spare, hist, m)
        _settle(order, full, m)
        _assign(order, full, pct, m)


@_jit
def _radix_sort_high(
    keys: NDArray[np.uint64], spare: NDArray[np.uint64], hist: NDArray[np.int64], m: int
) -> NDArray[np.uint64]:
    """LSD radix sort of keys[:m] on bits 32..63 (stable); returns the buffer holding them."""
    hist[:, :] = 0
    mask = np.uint64(_DIGITS - 1)
    for j in range(m):
        k = keys[j]
        for p in range(_PASSES):
            hist[p, (k >> np.uint64(32 + _DIGIT_BITS * p)) & mask] += 1
    src, dst = keys, spare
    for p in range(_PASSES):
        shift = np.uint64(32 + _DIGIT_BITS * p)
        if hist[p, (src[0] >> shift) & mask] == m:
            continue  # every key has the same digit here
        total = 0
        for d in range(_DIGITS):
            count = hist[p, d]
            hist[p, d] = total
            total += count
        for j in range(m):
            k = src[j]
            d = (k >> shift) & mask
            dst[hist[p, d]] = k
            hist[p, d] += 1
        src, dst = dst, src
    return src


@_jit
def _settle(order: NDArray[np.uint64], full: NDArray[np.uint64], m: int) -> None:
    """Sort each run of order[:m] sharing the top 32 bits by the full key.

    Runs are short, or long and already in order (equal values: counts, ties at 0), which
    is checked first; a long one out of order, a date whose values all agree to 1e-6, is
    merge-sorted rather than insertion-sorted.
    """
    low = ~_HIGH
    j = 0
    while j < m:
        e = j + 1
        while e < m and (order[e] & _HIGH) == (order[j] & _HIGH):
            e += 1
        if e - j > _SHORT_RUN:
            if not _in_order(order, full, j, e):
                run = order[j:e].copy()
                keys = np.empty(e - j, np.uint64)
                for q in range(e - j):
                    keys[q] = full[run[q] & low]
                order[j:e] = run[np.argsort(keys, kind="mergesort")]
        else:
            for a in range(j + 1, e):
                item = order[a]
                key = full[item & low]
                b = a - 1
                while b >= j and full[order[b] & low] > key:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = item
        j = e


@_jit
def _in_order(order: NDArray[np.uint64], full: NDArray[np.uint64], j: int, e: int) -> bool:
    """True when order[j:e] is already sorted by the full key."""
    low = ~_HIGH
    q = j + 1
    while q < e and full[order[q] & low] >= full[order[q - 1] & low]:
        q += 1
    return q == e


@_jit
def _assign(
    order: NDArray[np.uint64], full: NDArray[np.uint64], pct: NDArray[np.float64], m: int
) -> None:
    """Average ranks of the sorted group as percentiles, at each key's own position in pct."""
    low = ~_HIGH
    denom = m - 1.0
    j = 0
    while j < m:
        key = full[order[j] & low]
        e = j + 1
        while e < m and full[order[e] & low] == key:
            e += 1
        value = ((j + 1 + e) * 0.5 - 1.0) / denom  # average 1-based rank of sorted j..e-1
        for q in range(j, e):
            pct[order[q] & low] = value
        j = e
