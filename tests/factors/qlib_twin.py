"""A slow twin of qlib's expression engine: pandas operators per ticker, run the way qlib runs
them (its ops.py calls pandas' rolling with ``min_periods=1``; formulas become Python through
a regular expression and ``eval``, here on this test-only namespace).

Every operator is written from qlib 0.9.7's ``qlib/data/ops.py`` (Slope, Rsquare and Resi from
its Cython loops as plain Python), so it checks the grammar, the operators and the kernels of
``screener.factors.expr`` at once without sharing a line with them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl
from scipy.stats import percentileofscore  # noqa: F401  (qlib's fallback; pandas' rank is used)


def _roll(s: pd.Series, n: int) -> pd.core.window.Rolling:
    return s.rolling(int(n), min_periods=1)


def _isclose0(s: pd.Series) -> np.ndarray:
    return np.isclose(s, 0, atol=2e-05)


def _cython(values: np.ndarray, n: int, kind: str) -> np.ndarray:
    """qlib's rolling.pyx Slope / Rsquare / Resi, line for line."""
    n = int(n)
    window = [np.nan] * n
    i_sum = x_sum = x2_sum = y_sum = y2_sum = xy_sum = 0.0
    na = n
    out = np.empty(len(values))
    for t, val in enumerate(values):
        window.append(val)
        xy_sum -= y_sum
        x2_sum += i_sum - 2 * x_sum
        x_sum -= i_sum
        old = window.pop(0)
        if not np.isnan(old):
            i_sum -= 1
            y_sum -= old
            y2_sum -= old * old
        else:
            na -= 1
        if np.isnan(val):
            na += 1
        else:
            i_sum += 1
            x_sum += n
            x2_sum += n * n
            y_sum += val
            y2_sum += val * val
            xy_sum += n * val
        k = n - na
        with np.errstate(all="ignore"):
            num = k * xy_sum - x_sum * y_sum
            den = k * x2_sum - x_sum * x_sum
            if kind == "slope":
                out[t] = np.float64(num) / den
            elif kind == "rsquare":
                r = np.float64(num) / np.sqrt(den * (k * y2_sum - y_sum * y_sum))
                out[t] = r * r
            else:
                slope = np.float64(num) / den
                out[t] = val - (slope * n + (np.float64(y_sum) / k - slope * x_sum / k))
    return out


def _apply(s: pd.Series, n: int, fn) -> pd.Series:  # type: ignore[no-untyped-def]
    return _roll(s, n).apply(fn, raw=True)


def _wma(x: np.ndarray) -> float:
    w = np.arange(len(x)) + 1
    w = w / w.sum()
    return float(np.nanmean(w * x))


def _mad(x: np.ndarray) -> float:
    x1 = x[~np.isnan(x)]
    return float(np.mean(np.abs(x1 - x1.mean())))


def _corr(a: pd.Series, b: pd.Series, n: int) -> pd.Series:
    res = _roll(a, n).corr(b)
    res[_isclose0(_roll(a, n).std()) | _isclose0(_roll(b, n).std())] = np.nan
    return res


def _rsquare(s: pd.Series, n: int) -> pd.Series:
    res = pd.Series(_cython(s.to_numpy(float), n, "rsquare"), index=s.index)
    res[_isclose0(_roll(s, n).std())] = np.nan
    return res


def _ema(s: pd.Series, n: float) -> pd.Series:
    if 0 < n < 1:
        return s.ewm(alpha=n, min_periods=1).mean()
    return s.ewm(span=n, min_periods=1).mean()


def _series(fn):  # type: ignore[no-untyped-def]
    return lambda s, n: pd.Series(fn(s, n), index=s.index)


OPS = {
    "Ref": lambda s, n: s.shift(int(n)),
    "Delta": lambda s, n: s - s.shift(int(n)),
    "Mean": lambda s, n: _roll(s, n).mean(),
    "Sum": lambda s, n: _roll(s, n).sum(),
    "Std": lambda s, n: _roll(s, n).std(),
    "Var": lambda s, n: _roll(s, n).var(),
    "Skew": lambda s, n: _roll(s, n).skew(),
    "Kurt": lambda s, n: _roll(s, n).kurt(),
    "Max": lambda s, n: _roll(s, n).max(),
    "Min": lambda s, n: _roll(s, n).min(),
    "Med": lambda s, n: _roll(s, n).median(),
    "Count": lambda s, n: _roll(s, n).count(),
    "Rank": lambda s, n: _roll(s, n).rank(pct=True),
    "Quantile": lambda s, n, q: _roll(s, n).quantile(q),
    "IdxMax": lambda s, n: _apply(s, n, lambda x: x.argmax() + 1),
    "IdxMin": lambda s, n: _apply(s, n, lambda x: x.argmin() + 1),
    "Mad": lambda s, n: _apply(s, n, _mad),
    "WMA": lambda s, n: _apply(s, n, _wma),
    "EMA": _ema,
    "Slope": _series(lambda s, n: _cython(s.to_numpy(float), n, "slope")),
    "Resi": _series(lambda s, n: _cython(s.to_numpy(float), n, "resi")),
    "Rsquare": _rsquare,
    "Corr": _corr,
    "Cov": lambda a, b, n: _roll(a, n).cov(b),
    "Abs": np.abs,
    "Sign": np.sign,
    "Log": np.log,
    "Not": np.bitwise_not,
    "Power": np.power,
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Greater": np.maximum,
    "Less": np.minimum,
    "Gt": np.greater,
    "Ge": np.greater_equal,
    "Lt": np.less,
    "Le": np.less_equal,
    "Eq": np.equal,
    "Ne": np.not_equal,
    "And": np.bitwise_and,
    "Or": np.bitwise_or,
    "If": lambda c, a, b: pd.Series(np.where(c, a, b), index=c.index),
}
FIELDS = {
    "open": "adj_open",
    "high": "adj_high",
    "low": "adj_low",
    "close": "adj_close",
    "volume": "volume",
    "amount": "amount",
}


def ticker_fields(g: pd.DataFrame) -> dict[str, pd.Series]:
    """One ticker's qlib fields from its panel rows, float32 as qlib stores them (NaN missing)."""
    fields = {k: g[v].astype(float) for k, v in FIELDS.items()}
    volume = g["volume"].astype(float)
    fields["vwap"] = (g["amount"] / volume * g["adj_factor"]).where(volume > 0)
    for col in ("metal_close", "sector_close", "adj_factor", "ret_1d"):
        if col in g:
            fields[col] = g[col].astype(float)
    return {k: v.astype(np.float32) for k, v in fields.items()}


def evaluate_twin(panel: pl.DataFrame, exprs: dict[str, str]) -> pl.DataFrame:
    """ticker, date and one Float64 column per expression, NaN and +-inf as null."""
    frame = panel.to_pandas()
    out = []
    code = {name: re.sub(r"\$(\w+)", r'F["\1"]', text) for name, text in exprs.items()}
    for ticker, g in frame.groupby("ticker", sort=True):
        env = {**OPS, "F": ticker_fields(g.reset_index(drop=True))}
        with np.errstate(all="ignore"):
            values = {n: pd.Series(eval(c, env)).astype(float) for n, c in code.items()}
        block = pd.DataFrame(values)
        block.insert(0, "date", g["date"].to_numpy())
        block.insert(0, "ticker", ticker)
        out.append(block)
    result = pl.from_pandas(pd.concat(out, ignore_index=True))
    return result.with_columns(
        pl.when(pl.col(n).is_finite()).then(pl.col(n)).alias(n) for n in exprs
    )
