"""A plain pandas/scipy reference for factor research, from the definitions in the docstrings
of screener/research, sharing no code with it: labels by ``groupby().shift``, per-session
``scipy.stats.pearsonr``/``spearmanr``, ``pandas.qcut`` buckets, statsmodels' Newey-West
(HAC) errors, Python sets for turnover. Slow and obvious on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd
import polars as pl
import statsmodels.api as sm
from scipy import stats

from screener.engine import factor_values
from screener.factors.base import Factor

MIN_NAMES = 5
Z95 = stats.norm.ppf(0.975)


def reference_frame(
    panel: pl.DataFrame,
    factors: Sequence[Factor],
    horizons: Sequence[int],
    *,
    entry: str = "open",
    keep_unbuyable: bool = False,
) -> pd.DataFrame:
    """date, ticker, metal, factor values, fwd_<h>d and eligible, one row per panel row."""
    p = panel.to_pandas().sort_values(["ticker", "date"]).reset_index(drop=True)
    by = p.groupby("ticker")
    price, lead, flag = (
        ("adj_open", 1, "can_buy_open")
        if entry == "open"
        else (
            "adj_close",
            0,
            "can_buy_close",
        )
    )
    start = by[price].shift(-lead)
    for h in sorted({*horizons, 1}):
        p[f"fwd_{h}d"] = by[price].shift(-(lead + h)) / start - 1.0
    buyable = by[flag].shift(-lead).fillna(False).astype(bool)
    p["eligible"] = buyable | keep_unbuyable
    p["metal"] = p["metal"].fillna("none")
    values = factor_values(panel, factors).to_pandas()
    return p.merge(values, on=["ticker", "date"], how="left")


def daily_ic(frame: pd.DataFrame, factor: str, horizon: int, by: Sequence[str]) -> pd.DataFrame:
    """Per cross-section: ic, rank_ic, names (at least MIN_NAMES names, both sides vary)."""
    ret = f"fwd_{horizon}d"
    rows = frame[frame["eligible"] & frame[factor].notna() & frame[ret].notna()]
    out = []
    for key, sub in rows.groupby(list(by)):
        x, y = sub[factor].to_numpy(), sub[ret].to_numpy()
        if len(sub) < MIN_NAMES or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        ic = stats.pearsonr(x, y).statistic
        rank_ic = stats.spearmanr(x, y).statistic
        out.append((*key, ic, rank_ic, len(sub)))
    return pd.DataFrame(out, columns=[*by, "ic", "rank_ic", "names"])


def summary(series: np.ndarray, lags: int) -> dict[str, float]:
    """mean, std (ddof 1), ir, Newey-West t (statsmodels HAC on a constant), share > 0."""
    x = np.asarray(series, dtype=float)
    fit = sm.OLS(x, np.ones(len(x))).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)),
        "ir": float(x.mean() / x.std(ddof=1)),
        "t": float(fit.tvalues[0]),
        "se": float(fit.bse[0]),
        "positive": float((x > 0).mean()),
    }


def buckets(frame: pd.DataFrame, factor: str, q: int, by: Sequence[str]) -> pd.Series:
    """Quantile 1..q per row of each cross-section with >= q names (NaN elsewhere):
    ``pandas.qcut`` where its edges are distinct, else (ties) the bucket of each value's
    average rank, ceil(q (r - 1) / (n - 1)) in exact fractions."""
    rows = frame[frame["eligible"] & frame[factor].notna()]
    out = pd.Series(np.nan, index=frame.index)
    for _, sub in rows.groupby(list(by)):
        if len(sub) < q:
            continue
        values = sub[factor]
        if values.nunique() == len(values):
            out[sub.index] = pd.qcut(values, q, labels=False) + 1
            continue
        n = len(values)
        rank = values.rank(method="average")
        out[sub.index] = [
            max(1, math.ceil(Fraction(q) * (Fraction(r) - 1) / (n - 1))) for r in rank
        ]
    return out


def quantile_means(
    frame: pd.DataFrame, bucket: pd.Series, horizon: int, neutral: bool
) -> pd.DataFrame:
    """date x quantile: the mean forward return of each bucket (metal-demeaned if neutral)."""
    ret = f"fwd_{horizon}d"
    rows = frame.assign(bucket=bucket)[bucket.notna() & frame[ret].notna()].copy()
    if neutral:
        rows[ret] = rows[ret] - rows.groupby(["date", "metal"])[ret].transform("mean")
    return rows.groupby(["date", "bucket"])[ret].mean().unstack("bucket")


def turnover(bucket: pd.Series, frame: pd.DataFrame, top: int, lag: int, days: list) -> float:
    """Mean over sessions of |top(t) - top(t - lag)| / |top(t)|."""
    names = {d: set() for d in days}
    for d, t in frame.loc[bucket == top, ["date", "ticker"]].itertuples(index=False):
        names[d].add(t)
    shares = [
        len(names[days[i]] - names[days[i - lag]]) / len(names[days[i]])
        for i in range(lag, len(days))
        if names[days[i]] and names[days[i - lag]]
    ]
    return float(np.mean(shares))


def rank_autocorrelation(
    frame: pd.DataFrame, factor: str, lag: int, days: list, by: Sequence[str]
) -> float:
    """Mean over sessions of the Pearson correlation of the factor's ranks on t and t - lag."""
    rows = frame[frame["eligible"] & frame[factor].notna()].copy()
    rows["rank"] = rows.groupby(list(by))[factor].rank(method="average")
    wide = rows.pivot(index="date", columns="ticker", values="rank").reindex(days)
    corrs = []
    for i in range(lag, len(days)):
        pair = pd.DataFrame({"now": wide.iloc[i], "before": wide.iloc[i - lag]}).dropna()
        if len(pair) >= MIN_NAMES:
            corrs.append(stats.pearsonr(pair["now"], pair["before"]).statistic)
    return float(np.mean(corrs))
