"""Array kernels behind the factor verbs: per-ticker windows, Wilder's mean, group demeaning.

Pure numpy functions compiled by numba (``nogil``, cached on disk), kept apart from the
expression layer: base.py wraps them as polars expressions (the per-date ranks are in
rank_kernels.py). Nothing here knows about frames, tickers or dates by name. Results go to an
``out`` array that the caller allocates with numpy: numba's own allocator does not ask for huge
pages, and first touching 100 MB of small pages costs more than most kernels here.

Segments. The window kernels take ``seg``, one integer per row that changes exactly where a new
ticker starts (``pl.col("ticker").rle_id()`` on a frame sorted by ticker, date). Every state is
reset at a segment start, so a value at row i reads only rows of its own segment up to i: no
look-ahead, and nothing from the ticker sorted before it.

Missing values are NaN on the way in and on the way out (a window with any NaN is NaN).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

VAR, COV, CORR, BETA = 1, 2, 3, 4
_CANCEL = 1e-4  # see _lost: restart when the spread is below 1e-4 of the squares

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
