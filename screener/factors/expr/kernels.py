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
SLOPE, RSQUARE, RESI = 0, 1, 2

_jit = nb.njit(nogil=True, cache=True, error_model="numpy")
F8 = NDArray[np.float64]
I8 = NDArray[np.int64]


@_jit
def _starts(seg: I8, n: int) -> I8:
    """For each row, the first row of its window: ``n`` rows back, not before its segment."""
    lo = np.empty(seg.shape[0], np.int64)
    start = 0
    for i in range(seg.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            start = i
        lo[i] = max(start, i - n + 1)
    return lo


@_jit
def moments(seg: I8, x: F8, n: int, kind: int, out: F8) -> None:
    """Rolling sum, mean, count (of finite values), variance or std (ddof 1) over finite values.

    Sums of values minus a centre (the window's first finite value at each refresh) slide
    along and are recomputed every ``n`` rows so rounding cannot build up. As pandas does, a
    window whose finite values are all equal has variance exactly 0, and one value has none.
    """
    lo = _starts(seg, n)
    k = since = 0
    c = s1 = s2 = 0.0
    same = 0  # finite values equal to the previous finite value, in a row (pandas' counter)
    prev = np.nan
    for i in range(x.shape[0]):
        fresh = i == 0 or seg[i] != seg[i - 1]
        if fresh:
            same, prev = 0, np.nan
        v = x[i]
        if math.isfinite(v):
            same = same + 1 if v == prev else 1
            prev = v
        if fresh or since >= n or k == 0:
            k, c, s1, s2 = _window_sums(x, lo[i], i + 1)
            since = 0
        else:
            since += 1
            if math.isfinite(v):
                k += 1
                s1 += v - c
                s2 += (v - c) * (v - c)
            if lo[i] > lo[i - 1]:
                w = x[lo[i - 1]]
                if math.isfinite(w):
                    k -= 1
                    s1 -= w - c
                    s2 -= (w - c) * (w - c)
        out[i] = _moment(kind, k, c, s1, s2, same >= k)


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
def _moment(kind: int, k: int, c: float, s1: float, s2: float, flat: bool) -> float:
    if kind == COUNT:
        return float(k)
    if k == 0:
        return np.nan
    if kind == SUM:
        return c * k + s1
    if kind == MEAN:
        return c + s1 / k
    if k < 2:
        return np.nan
    var = 0.0 if flat else max((s2 - s1 * s1 / k) / (k - 1), 0.0)
    return var if kind == VAR else math.sqrt(var)


@_jit
def shape(seg: I8, x: F8, n: int, kurt: bool, out: F8) -> None:
    """Rolling skewness (3+ values) or excess kurtosis (4+ values), pandas' bias-corrected
    formulas on the finite values; NaN where the variance is below 1e-14, as pandas."""
    lo = _starts(seg, n)
    for i in range(x.shape[0]):
        k, c, s1, _ = _window_sums(x, lo[i], i + 1)
        out[i] = np.nan
        if k < (4 if kurt else 3):
            continue
        mean = c + s1 / k
        m2 = m3 = m4 = 0.0
        for j in range(lo[i], i + 1):
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
    lo = _starts(seg, n)
    queue = np.empty(x.shape[0], np.int64)
    nans = np.empty(x.shape[0], np.int64)
    head = tail = nan_head = nan_tail = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            head = tail = nan_head = nan_tail = 0
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
        while head < tail and queue[head] < lo[i]:
            head += 1
        while nan_head < nan_tail and nans[nan_head] < lo[i]:
            nan_head += 1
        if position and nan_head < nan_tail and head < tail:
            out[i] = nans[nan_head] - lo[i] + 1.0
        elif head == tail:
            out[i] = np.nan
        else:
            out[i] = queue[head] - lo[i] + 1.0 if position else x[queue[head]]


@_jit
def quantile(seg: I8, x: F8, n: int, q: float, out: F8) -> None:
    """Rolling quantile of the finite values, linear interpolation as pandas (q = 0.5: Med).

    The window's finite values are kept sorted: one insertion and one removal per row.
    """
    lo = _starts(seg, n)
    buf = np.empty(n, np.float64)
    k = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1]:
            k = 0
        elif lo[i] > lo[i - 1] and math.isfinite(x[lo[i - 1]]):
            k = _remove(buf, k, x[lo[i - 1]])
        if math.isfinite(x[i]):
            k = _insert(buf, k, x[i])
        if k == 0:
            out[i] = np.nan
            continue
        at = q * (k - 1)
        j = int(at)
        if at == j:
            out[i] = buf[j]
        else:
            out[i] = buf[j] + (buf[j + 1] - buf[j]) * (at - j)


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
    j = 0
    while buf[j] != v:
        j += 1
    for m in range(j, k - 1):
        buf[m] = buf[m + 1]
    return k - 1


@_jit
def rank(seg: I8, x: F8, n: int, out: F8) -> None:
    """pandas' ``rolling(n, min_periods=1).rank(pct=True)``: the average rank of the current
    value among the window's finite values, over their count; NaN if the current is not."""
    lo = _starts(seg, n)
    for i in range(x.shape[0]):
        v = x[i]
        if not math.isfinite(v):
            out[i] = np.nan
            continue
        below = equal = count = 0
        for j in range(lo[i], i + 1):
            w = x[j]
            if math.isfinite(w):
                count += 1
                below += w < v
                equal += w == v
        out[i] = (below + (equal + 1) * 0.5) / count


@_jit
def mad(seg: I8, x: F8, n: int, out: F8) -> None:
    """qlib's Mad: mean absolute deviation from the mean of the window's non-NaN values."""
    lo = _starts(seg, n)
    for i in range(x.shape[0]):
        k = 0
        total = 0.0
        for j in range(lo[i], i + 1):
            if x[j] == x[j]:
                k += 1
                total += x[j]
        if k == 0:
            out[i] = np.nan
            continue
        mean = total / k
        dev = 0.0
        for j in range(lo[i], i + 1):
            if x[j] == x[j]:
                dev += abs(x[j] - mean)
        out[i] = dev / k


@_jit
def wma(seg: I8, x: F8, n: int, out: F8) -> None:
    """qlib's WMA as written: weights 1..L over the window's L rows, normalised to sum 1, then
    ``np.nanmean(w * x)``, i.e. divided by the count of non-NaN values (not by their weights)."""
    lo = _starts(seg, n)
    for i in range(x.shape[0]):
        length = i - lo[i] + 1
        scale = length * (length + 1) * 0.5
        k = 0
        total = 0.0
        for j in range(lo[i], i + 1):
            if x[j] == x[j]:
                k += 1
                total += (j - lo[i] + 1) / scale * x[j]
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
    """pandas' rolling corr or cov (ddof 1) with ``min_periods=1`` on the pairs where both are
    finite; qlib's Corr is then NaN where either side's rolling std is within 2e-5 of 0
    (each side's std on its own finite values, as qlib calls ``Std`` on them).

    Centred sums slide along, recomputed every ``n`` rows (see ``moments``); ``acc`` holds,
    for pairs: count, x, y, xx, yy, xy; then count, x, xx of x alone and of y alone.
    """
    lo = _starts(seg, n)
    acc = np.zeros(12)
    cx = cy = 0.0
    since = 0
    for i in range(x.shape[0]):
        if i == 0 or seg[i] != seg[i - 1] or since >= n:
            cx, cy = _centre(x, y, lo[i], i + 1)
            acc[:] = 0.0
            for j in range(lo[i], i + 1):
                _accumulate(acc, x[j], y[j], cx, cy, 1.0)
            since = 0
        else:
            since += 1
            _accumulate(acc, x[i], y[i], cx, cy, 1.0)
            if lo[i] > lo[i - 1]:
                _accumulate(acc, x[lo[i - 1]], y[lo[i - 1]], cx, cy, -1.0)
        out[i] = _pair_value(acc, corr)


@_jit
def _centre(x: F8, y: F8, a: int, b: int) -> tuple:
    """A finite value of each side in x[a:b], y[a:b] (0 if none): the sums' centres."""
    cx = cy = np.nan
    for j in range(a, b):
        if cx != cx and math.isfinite(x[j]):
            cx = x[j]
        if cy != cy and math.isfinite(y[j]):
            cy = y[j]
    return (0.0 if cx != cx else cx), (0.0 if cy != cy else cy)


@_jit
def _accumulate(acc: F8, u: float, v: float, cx: float, cy: float, sign: float) -> None:
    fu, fv = math.isfinite(u), math.isfinite(v)
    du, dv = u - cx, v - cy
    if fu and fv:
        acc[0] += sign
        acc[1] += sign * du
        acc[2] += sign * dv
        acc[3] += sign * du * du
        acc[4] += sign * dv * dv
        acc[5] += sign * du * dv
    if fu:
        acc[6] += sign
        acc[7] += sign * du
        acc[8] += sign * du * du
    if fv:
        acc[9] += sign
        acc[10] += sign * dv
        acc[11] += sign * dv * dv


@_jit
def _spread(k: float, s1: float, s2: float) -> float:
    """Sum of squared deviations from the mean, from centred sums (never below 0)."""
    return max(s2 - s1 * s1 / k, 0.0)


@_jit
def _pair_value(acc: F8, corr: bool) -> float:
    k = acc[0]
    if k < 2:
        return np.nan
    cov = acc[5] - acc[1] * acc[2] / k
    if not corr:
        return cov / (k - 1)
    for at in (6, 9):  # qlib: NaN where either side's own std is within 2e-5 of 0
        m = acc[at]
        if m >= 2 and math.sqrt(_spread(m, acc[at + 1], acc[at + 2]) / (m - 1)) <= 2e-5:
            return np.nan
    sxx, syy = _spread(k, acc[1], acc[3]), _spread(k, acc[2], acc[4])
    if sxx == 0.0 or syy == 0.0:
        return np.nan
    return cov / math.sqrt(sxx * syy)
