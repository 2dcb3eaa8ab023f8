"""Array kernels behind the factor verbs: per-ticker windows, Wilder's mean, per-date ranks.

Pure numpy functions compiled by numba (``nogil``, cached on disk), kept apart from the
expression layer: base.py wraps the window kernels as polars expressions and the engine calls
the rank kernel. Nothing here knows about frames, tickers or dates by name. Results go to an
``out`` array that the caller allocates with numpy: numba's own allocator does not ask for huge
pages, and first touching 100 MB of small pages costs more than most kernels here.

Segments. The window kernels take ``seg``, one integer per row that changes exactly where a new
ticker starts (``pl.col("ticker").rle_id()`` on a frame sorted by ticker, date). Every state is
reset at a segment start, so a value at row i reads only rows of its own segment up to i: no
look-ahead, and nothing from the ticker sorted before it.

Missing values are NaN on the way in and on the way out of the window and group kernels (a
window with any NaN is NaN); the rank kernel reads the Arrow validity bitmap instead.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

VAR, COV, CORR, BETA = 1, 2, 3, 4
_CANCEL = 1e-4  # see _lost: restart when the spread is below 1e-4 of the squares
_TOP = np.uint64(1) << np.uint64(63)
_HIGH = np.uint64(0xFFFFFFFF) << np.uint64(32)
_DIGIT_BITS = 11
_DIGITS = 2048  # 2**_DIGIT_BITS buckets per radix pass
_PASSES = 3  # 3 x 11 bits cover the top 32 bits of a key
_SHORT_RUN = 32  # runs of equal top bits up to this long are insertion-sorted

# numpy's error model: x / 0 gives inf or NaN (then null), no zero-division checks in loops
_jit = nb.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def _fresh(x: NDArray[np.float64], y: NDArray[np.float64], lo: int, hi: int) -> tuple:
    """Centres (the means of rows lo..hi) and the sums of centred values and products."""
    k = hi - lo
    cx = 0.0
    cy = 0.0
    for j in range(lo, hi):
        cx += x[j]
        cy += y[j]
    cx /= k
    cy /= k
    sx = sy = sxx = syy = sxy = 0.0
    for j in range(lo, hi):
        dx = x[j] - cx
        dy = y[j] - cy
        sx += dx
        sy += dy
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    return cx, cy, sx, sy, sxx, syy, sxy


@_jit
def rolling_mean(
    seg: NDArray[np.int64], x: NDArray[np.float64], n: int, out: NDArray[np.float64]
) -> None:
    """Per-segment trailing mean of ``n`` rows; NaN as in ``rolling_stat``.

    The same centred sliding sum, redone every ``n`` rows, and n equal values give exactly
    that value. Kept apart from ``rolling_stat``: carrying a second series and the squares
    made a mean three times slower.
    """
    start = last_bad = since = 0
    live = False
    cx = sx = 0.0
    moves = 0  # exact count of unequal neighbours inside the window
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            start, last_bad, live, moves = i, i - 1, False, 0
        if not math.isfinite(x[i]):
            last_bad = i
        moves += _moved(x, i, start, n)
        if i - start + 1 < n or last_bad > i - n:
            out[i] = np.nan
            live = False
            continue
        if not live or since >= n:
            cx = 0.0
            for j in range(i - n + 1, i + 1):
                cx += x[j]
            cx /= n
            sx = 0.0
            for j in range(i - n + 1, i + 1):
                sx += x[j] - cx
            live, since = True, 0
        else:
            sx = sx + (x[i] - cx) - (x[i - n] - cx)
            since += 1
        out[i] = x[i] if moves == 0 else cx + sx / n


@_jit
def rolling_stat(
    seg: NDArray[np.int64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    n: int,
    kind: int,
    out: NDArray[np.float64],
) -> None:
    """Per-segment trailing window of ``n`` rows: VAR of x; COV, CORR or BETA of (x, y).

    VAR and COV have ddof 1; BETA is cov(x, y) / var(y). NaN until a segment has ``n`` rows
    and wherever the window holds a NaN in x or y. A window whose x (or y) never changes has
    variance exactly 0 (the counts of changes are exact integers), so CORR is NaN there, and
    BETA where y is constant.

    The window slides by adding and removing centred values, centred on the means of a fresh
    two-pass computation that is redone every ``n`` rows so rounding cannot build up, and at
    once when the window's spread becomes small next to its distance from the centre (a
    level shift, then a quiet stretch). Each restart depends only on the segment's own rows
    up to the current one.
    """
    start = last_bad = since = 0
    live = False
    cx = cy = sx = sy = sxx = syy = sxy = 0.0
    moves_x = moves_y = 0  # exact counts of unequal neighbours inside the window
    paired = kind != VAR  # VAR reads x alone (y is x)
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            start, last_bad, live, moves_x, moves_y = i, i - 1, False, 0, 0
        if not (math.isfinite(x[i]) and (not paired or math.isfinite(y[i]))):
            last_bad = i
        moves_x += _moved(x, i, start, n)
        if paired:
            moves_y += _moved(y, i, start, n)
        if i - start + 1 < n or last_bad > i - n:
            out[i] = np.nan
            live = False
            continue
        if not live or since >= n:
            cx, cy, sx, sy, sxx, syy, sxy = _fresh(x, y, i - n + 1, i + 1)
            live, since = True, 0
        else:
            sx, sy, sxx, syy, sxy = _slide(x, y, i, n, cx, cy, sx, sy, sxx, syy, sxy)
            since += 1
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        if since and (_lost(sxx, vx, moves_x) or (paired and _lost(syy, vy, moves_y))):
            # the window drifted far from the centre: cancellation; start afresh
            cx, cy, sx, sy, sxx, syy, sxy = _fresh(x, y, i - n + 1, i + 1)
            vx, vy, since = sxx - sx * sx / n, syy - sy * sy / n, 0
        vx = 0.0 if moves_x == 0 else max(vx, 0.0)
        vy = 0.0 if moves_y == 0 else max(vy, 0.0)
        cov = 0.0 if moves_x == 0 or moves_y == 0 else sxy - sx * sy / n
        out[i] = _finish(kind, vx, vy, cov, n)


@_jit
def _moved(z: NDArray[np.float64], i: int, start: int, n: int) -> int:
    """How the count of unequal neighbours in the window changes as it moves to end at i."""
    change = 0
    if i > start:
        change += z[i] != z[i - 1]
    if i - n >= start:
        change -= z[i - n + 1] != z[i - n]
    return change


@_jit
def _slide(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    i: int,
    n: int,
    cx: float,
    cy: float,
    sx: float,
    sy: float,
    sxx: float,
    syy: float,
    sxy: float,
) -> tuple:
    """The centred sums with row i - n out of the window and row i in."""
    dx, dy = x[i - n] - cx, y[i - n] - cy
    ax, ay = x[i] - cx, y[i] - cy
    return (
        sx + ax - dx,
        sy + ay - dy,
        sxx + ax * ax - dx * dx,
        syy + ay * ay - dy * dy,
        sxy + ax * ay - dx * dy,
    )


@_jit
def _lost(squares: float, spread: float, moves: int) -> bool:
    """True when ``spread`` (sum of squared deviations from the mean) is so small next to
    ``squares`` (from the centre) that rounding of order 1e-16 x squares could exceed 1e-12 of it.
    """
    return moves > 0 and not spread > squares * _CANCEL


@_jit
def _finish(kind: int, vx: float, vy: float, cov: float, n: int) -> float:
    """The statistic from the window's sums of squared and cross deviations."""
    if kind == VAR:
        return vx / (n - 1)
    if kind == COV:
        return cov / (n - 1)
    if kind == BETA:
        return cov / vy if vy > 0.0 else np.nan
    return cov / math.sqrt(vx * vy) if vx > 0.0 and vy > 0.0 else np.nan


@_jit
def wilder_mean(
    seg: NDArray[np.int64], x: NDArray[np.float64], n: int, out: NDArray[np.float64]
) -> None:
    """Wilder's smoothing per segment: a mean of ``n`` values, then (avg * (n - 1) + x) / n.

    The first row of a segment is skipped (x there is a change from the previous ticker). The
    seed sits on the first row whose ``n`` values up to it are all present; a missing value
    stops the average, which re-seeds the same way once ``n`` present values follow.
    """
    last_bad = 0
    avg = np.nan
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            last_bad, avg = i, np.nan
            out[i] = np.nan
            continue
        v = x[i]
        if not math.isfinite(v):
            last_bad, avg = i, np.nan
        elif avg == avg:
            avg = (avg * (n - 1) + v) / n
        elif i - last_bad >= n:
            total = 0.0
            for j in range(i - n + 1, i + 1):
                total += x[j]
            avg = total / n
        out[i] = avg


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
    width = 1
    for g in range(offsets.shape[0] - 1):
        width = max(width, offsets[g + 1] - offsets[g])
    full = np.empty(width, np.uint64)
    where = np.empty(width, np.int64)
    packed = np.empty(width, np.uint64)
    pct = np.empty(width)
    spare = np.empty(width, np.uint64)
    hist = np.empty((_PASSES, _DIGITS), np.int64)
    bits = x.view(np.uint64)
    zero = np.uint64(0)
    invert = zero - np.uint64(descending)  # all ones when descending: complement the keys
    for g in range(offsets.shape[0] - 1):
        m = 0
        for at in range(offsets[g], offsets[g + 1]):
            r = rows[at]
            b = bits[r]
            b = zero if b == _TOP else b  # -0.0
            k = b ^ ((zero - (b >> np.uint64(63))) | _TOP) ^ invert
            full[m] = k
            where[m] = r
            packed[m] = (k & _HIGH) | np.uint64(m)
            m += (valid[r >> 3] >> (r & 7)) & 1  # a null is written over by the next row
        _rank_group(packed, full, pct, spare, hist, m)
        for q in range(m):
            out[where[q]] = pct[q]


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


@_jit
def group_demean(
    codes: NDArray[np.int64],
    x: NDArray[np.float64],
    n_groups: int,
    standardise: bool,
    out: NDArray[np.float64],
) -> None:
    """``x`` minus its group's mean (divided by the group's population std if ``standardise``).

    NaN in x is missing: it takes no part and stays NaN. Where the std is 0 the z-score is NaN.
    Sums run on values minus one member of each group, so equal values give a mean equal to
    that value and a std of exactly 0 (a plain sum / n can miss it by 1e-17).
    """
    ref = np.full(n_groups, np.nan)
    count = np.zeros(n_groups)
    total = np.zeros(n_groups)
    squares = np.zeros(n_groups)
    for i in range(x.shape[0]):
        g = codes[i]
        if x[i] == x[i]:
            if count[g] == 0.0:
                ref[g] = x[i]
            count[g] += 1.0
            total[g] += x[i] - ref[g]
    for g in range(n_groups):
        total[g] /= count[g]  # now the mean minus ref
    for i in range(x.shape[0]):
        g = codes[i]
        if x[i] == x[i]:
            d = x[i] - ref[g] - total[g]
            squares[g] += d * d
    for i in range(x.shape[0]):
        g = codes[i]
        d = x[i] - ref[g] - total[g]
        if standardise:
            sd = math.sqrt(squares[g] / count[g])
            d = d / sd if sd > 0.0 else np.nan
        out[i] = d
