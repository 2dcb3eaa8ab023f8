"""Numba kernels of factor research: ranks among a subset of each group, and correlations.

A group is one cross-section (a date, or a date and a metal) of a flattened sessions x tickers
grid. ``subset_ranks`` walks a group's rows in the order ``rank_kernels.group_order`` sorted
them once, so ranking one column among many subsets (one per factor and horizon) costs a
linear pass each instead of a sort. ``group_corr`` is the Pearson correlation per group in two
passes (means first), so large values (amounts in yuan) lose nothing to cancellation.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

_jit = nb.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def subset_ranks(
    x: NDArray[np.float64],
    order: NDArray[np.int64],
    offsets: NDArray[np.int64],
    counts: NDArray[np.int64],
    keep: NDArray[np.bool_],
    out: NDArray[np.float64],
) -> None:
    """Average ranks (1 = lowest, ties share their mean rank) of ``x`` among the kept rows of
    each group; ``out`` is written only where ``keep``.

    Group g's rows in ascending order of x are ``order[offsets[g]:offsets[g] + counts[g]]``;
    a kept row must be among them (a valid value).
    """
    for g in range(counts.shape[0]):
        lo, hi = offsets[g], offsets[g] + counts[g]
        below = 0
        j = lo
        while j < hi:
            value = x[order[j]]
            e, tied = j, 0
            while e < hi and x[order[e]] == value:
                tied += keep[order[e]]
                e += 1
            rank = below + (tied + 1) * 0.5
            for q in range(j, e):
                if keep[order[q]]:
                    out[order[q]] = rank
            below += tied
            j = e


@_jit
def group_corr(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    keep: NDArray[np.bool_],
    rows: NDArray[np.int64],
    offsets: NDArray[np.int64],
    corr: NDArray[np.float64],
    count: NDArray[np.int64],
) -> None:
    """Pearson correlation of x and y over the kept rows of each group (group g is
    ``rows[offsets[g]:offsets[g + 1]]``), and how many; NaN where a side does not vary.

    Sums run on values minus the group's first kept row (as ``kernels.group_demean``), so a
    side whose values are all equal has a spread of exactly 0, not rounding residue.
    """
    for g in range(corr.shape[0]):
        n = 0
        rx = ry = mx = my = 0.0
        for at in range(offsets[g], offsets[g + 1]):
            i = rows[at]
            if keep[i]:
                if n == 0:
                    rx, ry = x[i], y[i]
                n += 1
                mx += x[i] - rx
                my += y[i] - ry
        count[g] = n
        mx, my = rx + mx / max(n, 1), ry + my / max(n, 1)
        sxx = syy = sxy = 0.0
        for at in range(offsets[g], offsets[g + 1]):
            i = rows[at]
            if keep[i]:
                dx, dy = x[i] - mx, y[i] - my
                sxx += dx * dx
                syy += dy * dy
                sxy += dx * dy
        corr[g] = sxy / math.sqrt(sxx * syy) if sxx > 0.0 and syy > 0.0 else np.nan


@_jit
def group_means(
    x: NDArray[np.float64],
    keep: NDArray[np.bool_],
    codes: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None:
    """Mean of x over the kept rows of each code (``out``: one slot per code; NaN for none)."""
    total = np.zeros(out.shape[0])
    count = np.zeros(out.shape[0], np.int64)
    for i in range(x.shape[0]):
        if keep[i]:
            total[codes[i]] += x[i]
            count[codes[i]] += 1
    for g in range(out.shape[0]):
        out[g] = total[g] / count[g] if count[g] else np.nan


@_jit
def bucket_means(
    x: NDArray[np.float64], bucket: NDArray[np.int64], width: int, out: NDArray[np.float64]
) -> None:
    """Mean of x per session (row i // width of a flattened grid) and bucket (1..q), over the
    cells with a bucket and a finite x; ``out`` is sessions x q (NaN where none)."""
    count = np.zeros(out.shape, np.int64)
    out[:] = 0.0
    for i in range(x.shape[0]):
        b = bucket[i]
        if b > 0 and x[i] == x[i]:
            out[i // width, b - 1] += x[i]
            count[i // width, b - 1] += 1
    for t in range(out.shape[0]):
        for b in range(out.shape[1]):
            out[t, b] = out[t, b] / count[t, b] if count[t, b] else np.nan


@_jit
def quantile_buckets(
    rank: NDArray[np.float64], codes: NDArray[np.int64], quantiles: int, out: NDArray[np.int64]
) -> None:
    """Bucket ceil(q (r - 1) / (n - 1)), at least 1, of each ranked row (r: its average rank,
    NaN = unranked; n: the ranked rows of its group); 0 where unranked or n < q.

    In integers: 2 (r - 1) is whole for an average rank, so no rounding can cross a bucket edge.
    """
    size = np.zeros(codes.max() + 1 if codes.size else 0, np.int64)
    for i in range(rank.shape[0]):
        if rank[i] == rank[i]:
            size[codes[i]] += 1
    for i in range(rank.shape[0]):
        n = size[codes[i]]
        if rank[i] != rank[i] or n < quantiles:
            out[i] = 0
            continue
        twice_below = np.int64(round(2.0 * (rank[i] - 1.0)))
        span = 2 * (n - 1)
        out[i] = max(1, (quantiles * twice_below + span - 1) // span)
