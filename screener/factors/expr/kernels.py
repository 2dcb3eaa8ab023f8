"""Array kernels with qlib's window semantics: partial windows from a ticker's first row.

qlib runs each rolling operator through pandas with ``min_periods=1`` (or its own Cython loops
for Slope, Rsquare and Resi), so a window of ``n`` rows near a ticker's start uses the rows it
has, and values that are not finite (NaN, +-inf) are skipped. These kernels do the same per
segment (``seg``: one integer per row, changing where a new ticker starts, as in
factors/kernels.py), write into ``out`` and never read a later row or another segment.
Where qlib or pandas have their own quirks, the kernel keeps them and says so.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

SUM, MEAN, COUNT, VAR, STD = 0, 1, 2, 3, 4
_INV_COND_TOL = np.finfo(np.float64).eps * 1e3  # pandas' roll_var: when to start afresh
SLOPE, RSQUARE, RESI = 0, 1, 2

_jit = nb.njit(nogil=True, cache=True, error_model="numpy")
_inline = nb.njit(nogil=True, cache=True, error_model="numpy", inline="always")
F8 = NDArray[np.float64]
I8 = NDArray[np.int64]


@_inline
def _segment_start(seg: I8, i: int, start: int) -> int:
    """The first row of row i's ticker, given the first row of row i - 1's."""
    return i if i == 0 or seg[i] != seg[i - 1] else start


@_jit
def moments(seg: I8, x: F8, n: int, kind: int, out: F8) -> None:
    """pandas' rolling sum, mean, count, var or std (ddof 1) with ``min_periods=1``, computed as
    pandas 3 computes them (pandas/_libs/window/aggregations.pyx) so that results agree to the
    last bit: Kahan sums, a run of equal values giving that value exactly, Welford's variance
    with Kahan compensation that starts the window afresh when it loses precision; rows that
    left the window are removed before the new row is added. Non-finite values are skipped.

    Bit for bit matters: pandas' variance of a window of equal values can keep a residue
    (4e-4 for ten zeros after volumes near 1e5), and qlib's ``Std(x, n) / (x + 1e-12)`` turns
    that residue into 4e8.
    """
    if kind in (VAR, STD):
        _rolling_var(seg, x, n, kind == STD, out)
    else:
        _rolling_sum(seg, x, n, kind, out)


@_jit
def _rolling_sum(seg: I8, x: F8, n: int, kind: int, out: F8) -> None:
    """roll_sum / roll_mean (and the count of finite values)."""
    state = _SUM0
    start = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            state, start = _SUM0, i
        elif i - n >= start:
            state = _sum_remove(state, x[i - n])
        state = _sum_add(state, x[i])
        out[i] = state[0] if kind == COUNT else _sum_value(state, kind == SUM)


# roll_sum's state: count, sum, compensation add, compensation remove, negatives, run of
# equal values, the last value
_SUM0 = (0, 0.0, 0.0, 0.0, 0, 0, np.nan)


@_inline
def _sum_add(state: tuple, v: float) -> tuple:
    nobs, total, add_c, rem_c, neg, run, last = state
    if not math.isfinite(v):
        return state
    y = v - add_c
    t = total + y
    run = run + 1 if v == last else 1
    return nobs + 1, t, t - total - y, rem_c, neg + (math.copysign(1.0, v) < 0.0), run, v


@_inline
def _sum_remove(state: tuple, v: float) -> tuple:
    nobs, total, add_c, rem_c, neg, run, last = state
    if not math.isfinite(v):
        return state
    y = -v - rem_c
    t = total + y
    return nobs - 1, t, add_c, t - total - y, neg - (math.copysign(1.0, v) < 0.0), run, last


@_inline
def _sum_value(state: tuple, as_sum: bool) -> float:
    nobs, total, _, _, neg, run, last = state
    if nobs == 0:
        return np.nan
    if as_sum:
        return last * nobs if run >= nobs else total
    if run >= nobs:
        return last
    mean = total / nobs
    if (neg == 0 and mean < 0.0) or (neg == nobs and mean > 0.0):
        return 0.0  # all of one sign: the mean has that sign
    return mean


@_jit
def _rolling_var(seg: I8, x: F8, n: int, root: bool, out: F8) -> None:
    """roll_var: Welford with Kahan compensation, afresh when numerically unstable."""
    state = _VAR0
    start = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            state, start = _VAR0, i
        state = _var_step(state, x, x, i, n, start)
        out[i] = _var_value(state, root)


# roll_var's state: count, mean, sum of squared deviations, compensation add and remove
_VAR0 = (0.0, 0.0, 0.0, 0.0, 0.0)


@_inline
def _var_step(state: tuple, x: F8, other: F8, i: int, n: int, start: int) -> tuple:
    """The window moved to end at row i: remove the row that left, add row i, and start
    afresh if that lost precision (pandas). A row counts where x and ``other`` are finite."""
    unstable = False
    if i - n >= start:
        state, unstable = _var_remove(state, x[i - n] + 0.0 * other[i - n])
    state, shaky = _var_add(state, x[i] + 0.0 * other[i])
    if unstable or shaky:
        state = _VAR0
        for j in range(max(start, i - n + 1), i + 1):
            state, _ = _var_add(state, x[j] + 0.0 * other[j])
    return state


@_inline
def _var_add(state: tuple, v: float) -> tuple:
    nobs, mean, ssq, add_c, rem_c = state
    if not math.isfinite(v):
        return state, False
    nobs += 1.0
    prev_mean = mean - add_c
    y = v - add_c
    t = y - mean
    add_c = t + mean - y
    new_mean = mean + t / nobs
    new_ssq = ssq + (v - prev_mean) * (v - new_mean)
    return (nobs, new_mean, new_ssq, add_c, rem_c), ssq * _INV_COND_TOL > new_ssq


@_inline
def _var_remove(state: tuple, v: float) -> tuple:
    nobs, mean, ssq, add_c, rem_c = state
    if not math.isfinite(v):
        return state, False
    nobs -= 1.0
    if nobs == 0.0:
        return (0.0, 0.0, 0.0, add_c, rem_c), False
    prev_mean = mean - rem_c
    y = v - rem_c
    t = y - mean
    rem_c = t + mean - y
    new_mean = mean - t / nobs
    new_ssq = ssq - (v - prev_mean) * (v - new_mean)
    return (nobs, new_mean, new_ssq, add_c, rem_c), ssq * _INV_COND_TOL > new_ssq


@_inline
def _var_value(state: tuple, root: bool) -> float:
    nobs, _, ssq, _, _ = state
    if nobs < 2.0:
        return np.nan
    var = ssq / (nobs - 1.0)
    return math.sqrt(max(var, 0.0)) if root else var


@_jit
def _window_sums(x: F8, a: int, b: int) -> tuple:
    """Count, centre and centred sums of the finite values of x[a:b]."""
    k = 0
    c = s1 = s2 = 0.0
    for j in range(a, b):
        v = x[j]
        if math.isfinite(v):
            if k == 0:
                c = v
            k += 1
            s1 += v - c
            s2 += (v - c) * (v - c)
    return k, c, s1, s2


@_jit
def shape(seg: I8, x: F8, n: int, kurt: bool, out: F8) -> None:
    """Rolling skewness (3+ values) or excess kurtosis (4+ values), pandas' bias-corrected
    formulas on the finite values; NaN where the variance is below 1e-14, as pandas."""
    start = 0
    for i in range(x.shape[0]):
        start = _segment_start(seg, i, start)
        a = max(start, i - n + 1)
        k, c, s1, _ = _window_sums(x, a, i + 1)
        out[i] = np.nan
        if k < (4 if kurt else 3):
            continue
        mean = c + s1 / k
        m2 = m3 = m4 = 0.0
        for j in range(a, i + 1):
            if math.isfinite(x[j]):
                d = x[j] - mean
                m2 += d * d
                m3 += d * d * d
                m4 += d * d * d * d
        m2, m3, m4 = m2 / k, m3 / k, m4 / k
        if m2 <= 1e-14:
            continue
        if kurt:
            g = (k * k - 1.0) * m4 / (m2 * m2) - 3.0 * (k - 1.0) ** 2
            out[i] = g / ((k - 2.0) * (k - 3.0))
        else:
            out[i] = math.sqrt(k * (k - 1.0)) * m3 / ((k - 2.0) * m2**1.5)


@_jit
def extreme(seg: I8, x: F8, n: int, largest: bool, position: bool, out: F8) -> None:
    """Rolling max or min of the finite values, or the 1-based position of numpy's argmax or
    argmin in the window (``position``): NaN counts there as the extreme, first one wins.

    qlib computes IdxMax as ``rolling(n, min_periods=1).apply(argmax + 1)``, and numpy's argmax
    returns the first NaN of a window that has one, while pandas' max skips NaN and inf alike.
    A monotone queue keeps the candidates, earliest first among equals (argmax's tie rule).
    """
    start = 0
    queue = np.empty(x.shape[0], np.int64)
    nans = np.empty(x.shape[0], np.int64)
    head = tail = nan_head = nan_tail = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            head = tail = nan_head = nan_tail = 0
            start = i
        a = max(start, i - n + 1)
        v = x[i]
        usable = (v == v) if position else math.isfinite(v)
        if usable:
            while tail > head and (x[queue[tail - 1]] < v if largest else x[queue[tail - 1]] > v):
                tail -= 1
            queue[tail] = i
            tail += 1
        elif v != v:
            nans[nan_tail] = i
            nan_tail += 1
        while head < tail and queue[head] < a:
            head += 1
        while nan_head < nan_tail and nans[nan_head] < a:
            nan_head += 1
        if position and nan_head < nan_tail and head < tail:
            out[i] = nans[nan_head] - a + 1.0
        elif head == tail:
            out[i] = np.nan
        else:
            out[i] = queue[head] - a + 1.0 if position else x[queue[head]]


@_jit
def quantile(seg: I8, x: F8, n: int, qs: F8, out: F8) -> None:
    """Rolling quantiles ``qs`` of the finite values, linear interpolation as pandas (q = 0.5:
    Med); ``out`` has one row per q, so Alpha158's 0.8 and 0.2 share one pass.

    The window's finite values are kept sorted: one insertion and one removal per row.
    """
    buf = np.empty(n, np.float64)
    k = start = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            k, start = 0, i
        elif i - n >= start and math.isfinite(x[i - n]):
            k = _remove(buf, k, x[i - n])
        if math.isfinite(x[i]):
            k = _insert(buf, k, x[i])
        for m in range(qs.shape[0]):
            if k == 0:
                out[m, i] = np.nan
                continue
            at = qs[m] * (k - 1)
            j = int(at)
            out[m, i] = buf[j] if at == j else buf[j] + (buf[j + 1] - buf[j]) * (at - j)


@_jit
def _insert(buf: F8, k: int, v: float) -> int:
    j = k
    while j > 0 and buf[j - 1] > v:
        buf[j] = buf[j - 1]
        j -= 1
    buf[j] = v
    return k + 1


@_jit
def _remove(buf: F8, k: int, v: float) -> int:
    j = np.searchsorted(buf[:k], v)
    for m in range(j, k - 1):
        buf[m] = buf[m + 1]
    return k - 1


@_jit
def rank(seg: I8, x: F8, n: int, out: F8) -> None:
    """pandas' ``rolling(n, min_periods=1).rank(pct=True)``: the average rank of the current
    value among the window's finite values, over their count; NaN if the current is not."""
    start = 0
    for i in range(x.shape[0]):
        start = _segment_start(seg, i, start)
        a = max(start, i - n + 1)
        v = x[i]
        if not math.isfinite(v):
            out[i] = np.nan
            continue
        below = equal = count = 0
        for j in range(a, i + 1):
            w = x[j]
            if math.isfinite(w):
                count += 1
                below += w < v
                equal += w == v
        out[i] = (below + (equal + 1) * 0.5) / count


@_jit
def mad(seg: I8, x: F8, n: int, out: F8) -> None:
    """qlib's Mad: mean absolute deviation from the mean of the window's non-NaN values."""
    start = 0
    for i in range(x.shape[0]):
        start = _segment_start(seg, i, start)
        a = max(start, i - n + 1)
        k = 0
        total = 0.0
        for j in range(a, i + 1):
            if x[j] == x[j]:
                k += 1
                total += x[j]
        if k == 0:
            out[i] = np.nan
            continue
        mean = total / k
        dev = 0.0
        for j in range(a, i + 1):
            if x[j] == x[j]:
                dev += abs(x[j] - mean)
        out[i] = dev / k


@_jit
def wma(seg: I8, x: F8, n: int, out: F8) -> None:
    """qlib's WMA as written: weights 1..L over the window's L rows, normalised to sum 1, then
    ``np.nanmean(w * x)``, i.e. divided by the count of non-NaN values (not by their weights)."""
    start = 0
    for i in range(x.shape[0]):
        start = _segment_start(seg, i, start)
        a = max(start, i - n + 1)
        length = i - a + 1
        scale = length * (length + 1) * 0.5
        k = 0
        total = 0.0
        for j in range(a, i + 1):
            if x[j] == x[j]:
                k += 1
                total += (j - a + 1) / scale * x[j]
        out[i] = total / k if k else np.nan


@_jit
def ema(seg: I8, x: F8, alpha: float, out: F8) -> None:
    """pandas' ``ewm(alpha=..., adjust=True, min_periods=1).mean()``, NaN aging the weights
    (``ignore_na=False``), restarted at each ticker: qlib's EMA (span n: alpha = 2 / (n + 1))."""
    weighted = old = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        if i == 0 or seg[i] != seg[i - 1]:
            weighted, old = v, 1.0
        elif weighted == weighted:
            old *= 1.0 - alpha
            if v == v:
                if weighted != v:  # pandas: constant runs stay exact
                    weighted = (old * weighted + v) / (old + 1.0)
                old += 1.0
        elif v == v:
            weighted, old = v, 1.0
        out[i] = weighted


@_jit
def regression(seg: I8, x: F8, n: int, kind: int, out: F8) -> None:
    """qlib's rolling Slope, Rsquare and Resi of x on its position, ported from its Cython
    (qlib/data/_libs/rolling.pyx): a window of n slots that starts full of NaN, running sums
    updated in the same order, NaN skipped; Resi is the current value minus the fitted one."""
    i_sum = x_sum = x2_sum = y_sum = y2_sum = xy_sum = 0.0
    na, start = n, 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            i_sum = x_sum = x2_sum = y_sum = y2_sum = xy_sum = 0.0
            na = n
            start = i
        v = x[i]
        xy_sum = xy_sum - y_sum
        x2_sum = x2_sum + i_sum - 2 * x_sum
        x_sum = x_sum - i_sum
        old = x[i - n] if i - n >= start else np.nan
        if not math.isnan(old):
            i_sum -= 1
            y_sum -= old
            y2_sum -= old * old
        else:
            na -= 1
        if math.isnan(v):
            na += 1
        else:
            i_sum += 1
            x_sum += n
            x2_sum += n * n
            y_sum += v
            y2_sum += v * v
            xy_sum += n * v
        k = n - na
        num = k * xy_sum - x_sum * y_sum
        den = k * x2_sum - x_sum * x_sum
        if kind == SLOPE:
            out[i] = num / den
        elif kind == RSQUARE:
            r = num / math.sqrt(den * (k * y2_sum - y_sum * y_sum))
            out[i] = r * r
        else:
            slope = num / den
            out[i] = v - (slope * n + (y_sum / k - slope * x_sum / k))


@_jit
def pair(seg: I8, x: F8, y: F8, n: int, corr: bool, out: F8) -> None:
    """pandas' rolling corr or cov (ddof 1, ``min_periods=1``) built as pandas builds it from
    rolling means and variances of the pairs where both sides are finite:
    ``(mean(xy) - mean(x) mean(y)) * k / (k - 1)``, over ``sqrt(var(x) var(y))`` for corr.
    qlib's Corr is then NaN where either side's own rolling std is within 2e-5 of 0.
    """
    start = 0
    sxy = sx = sy = _SUM0
    vx = vy = sdx = sdy = _VAR0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            sxy = sx = sy = _SUM0
            vx = vy = sdx = sdy = _VAR0
            start = i
        elif i - n >= start:
            a, b = x[i - n], y[i - n]
            sxy = _sum_remove(sxy, a * b)  # NaN unless both are finite
            sx = _sum_remove(sx, a + 0.0 * b)
            sy = _sum_remove(sy, b + 0.0 * a)
        a, b = x[i], y[i]
        sxy = _sum_add(sxy, a * b)
        sx = _sum_add(sx, a + 0.0 * b)
        sy = _sum_add(sy, b + 0.0 * a)
        k = sx[0]
        cov = np.nan
        if k > 1:
            cov = (_sum_value(sxy, False) - _sum_value(sx, False) * _sum_value(sy, False)) * (
                k / (k - 1.0)
            )
        if not corr:
            out[i] = cov
            continue
        vx = _var_step(vx, x, y, i, n, start)
        vy = _var_step(vy, y, x, i, n, start)
        sdx = _var_step(sdx, x, x, i, n, start)
        sdy = _var_step(sdy, y, y, i, n, start)
        flat = abs(_var_value(sdx, True)) <= 2e-5 or abs(_var_value(sdy, True)) <= 2e-5
        out[i] = np.nan if flat else cov / math.sqrt(_var_value(vx, False) * _var_value(vy, False))
