"""Quantile analysis: the forward returns of a factor's quantiles, their spread and stability.

On each session the factor's cross-section (data.py: eligible names with a value), or each
metal's part of it with ``neutral="metal"``, with at least ``quantiles`` names, is cut into
``quantiles`` buckets by value, 1 the lowest: a name whose average rank among n is r goes to
bucket ceil(q (r - 1) / (n - 1)), at least 1. That is ``pandas.qcut``'s bucket wherever qcut
finds distinct edges; tied values share the bucket of their average rank.

- ``returns``: per horizon and quantile, the mean over sessions of the quantile's mean
  forward return (its names with a return); with ``neutral="metal"`` each return less its
  metal's mean among the bucketed names that session.
- ``spread``: top minus bottom quantile per session; its mean, the 95% interval and t from
  Newey-West errors with h - 1 lags (h-session returns overlap); ``monotonicity``, the
  Spearman correlation of quantile number and mean return (1: every step up earns more).
- ``cumulative``: growth of 1 in each quantile, equal weight, rebalanced every session, from
  the 1-session forward returns (no costs), dated by the session the buckets were formed.
- ``turnover``: the share of the top quantile's names on t that were not in it h sessions
  before; ``autocorrelation``: the Pearson correlation, across names, of the factor's ranks on
  t and h sessions before. Both are means over the sessions where they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl

from screener.research.cross_section import bucket_means, buckets, correlations, means, ranks
from screener.research.data import FactorPanel
from screener.research.ic import MIN_NAMES, newey_west

NEUTRAL = ("metal",)
LEVEL = 0.95
_Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)


@dataclass(frozen=True)
class QuantileAnalysis:
    """One factor's quantiles (see the module docstring for each frame)."""

    factor: str
    quantiles: int
    neutral: str | None
    returns: pl.DataFrame  # horizon, quantile, mean_return, dates
    spread: pl.DataFrame  # horizon, spread, ci_low, ci_high, t, dates, monotonicity
    cumulative: pl.DataFrame  # date, quantile, growth
    turnover: pl.DataFrame  # horizon, turnover, autocorrelation
    turnover_series: pl.DataFrame  # date, horizon, turnover


def factor_ranks(fp: FactorPanel, factor: str, by_metal: bool) -> np.ndarray:
    """Average ranks (1 = lowest) within each cross-section (flat; NaN outside it)."""
    keep = fp.cross_section(factor).ravel()
    return ranks(fp.sorted(factor, by_metal), fp.grouping(by_metal), keep)


def quantile_analysis(
    fp: FactorPanel, factor: str, *, quantiles: int = 5, neutral: str | None = None
) -> QuantileAnalysis:
    """Quantile returns, spread, cumulative returns, turnover and rank autocorrelation."""
    if quantiles < 2:
        raise ValueError(f"quantiles must be >= 2, got {quantiles}")
    if neutral is not None and neutral not in NEUTRAL:
        raise ValueError(f"neutral must be one of {NEUTRAL}, got {neutral!r}")
    by_metal = neutral is not None
    rank = factor_ranks(fp, factor, by_metal)
    bucket = buckets(rank, fp.grouping(by_metal), quantiles)
    by_horizon = {h: quantile_means(fp, bucket, h, quantiles, by_metal) for h in fp.horizons}
    daily = by_horizon[1] if 1 in by_horizon else quantile_means(fp, bucket, 1, quantiles, by_metal)
    top = (bucket == quantiles).reshape(fp.shape)
    lagged = [_turnover(top, h) for h in fp.horizons]
    rank = rank.reshape(fp.shape)
    return QuantileAnalysis(
        factor=factor,
        quantiles=quantiles,
        neutral=neutral,
        returns=_returns_frame(by_horizon),
        spread=_spread_frame(by_horizon),
        cumulative=_cumulative(fp, daily),
        turnover=pl.DataFrame(
            {
                "horizon": list(fp.horizons),
                "turnover": [_mean(t) for t in lagged],
                "autocorrelation": [_mean(_rank_autocorrelation(fp, rank, h)) for h in fp.horizons],
            },
            schema={"horizon": pl.Int64, "turnover": pl.Float64, "autocorrelation": pl.Float64},
        ),
        turnover_series=pl.concat(
            pl.DataFrame(
                {"date": fp.sessions, "horizon": h, "turnover": t},
                schema={"date": pl.Date, "horizon": pl.Int64, "turnover": pl.Float64},
            ).filter(pl.col("turnover").is_not_nan())
            for h, t in zip(fp.horizons, lagged, strict=True)
        ),
    )


def quantile_means(
    fp: FactorPanel, bucket: np.ndarray, horizon: int, quantiles: int, neutral: bool
) -> np.ndarray:
    """Sessions x quantiles: each quantile's mean forward return (NaN: none with a return);
    ``neutral``: each return less its metal's mean among the bucketed names that session."""
    returns = fp.returns[horizon].ravel()
    if neutral:
        has = (bucket > 0) & np.isfinite(returns)
        metal = fp.grouping(by_metal=True)
        returns = returns - means(returns, has, metal.codes, metal.n_groups)[metal.codes]
    return bucket_means(returns, bucket, fp.grouping(), quantiles)


def _returns_frame(by_horizon: dict[int, np.ndarray]) -> pl.DataFrame:
    rows = [
        {"horizon": h, "quantile": k + 1, "mean_return": _mean(m[:, k]), "dates": _count(m[:, k])}
        for h, m in by_horizon.items()
        for k in range(m.shape[1])
    ]
    schema = {"horizon": pl.Int64, "quantile": pl.Int64, "mean_return": pl.Float64}
    return pl.DataFrame(rows, schema={**schema, "dates": pl.Int64})


def _spread_frame(by_horizon: dict[int, np.ndarray]) -> pl.DataFrame:
    rows = []
    for h, m in by_horizon.items():
        spread = m[:, -1] - m[:, 0]
        spread = spread[np.isfinite(spread)]
        mean, se = newey_west(spread, h - 1)
        rows.append(
            {
                "horizon": h,
                "spread": _num(mean),
                "ci_low": _num(mean - _Z * se),
                "ci_high": _num(mean + _Z * se),
                "t": _num(mean / se) if se > 0 else None,
                "dates": int(spread.size),
                "monotonicity": _monotonicity(_column_means(m)),
            }
        )
    floats = dict.fromkeys(("spread", "ci_low", "ci_high", "t"), pl.Float64)
    schema = {"horizon": pl.Int64, **floats, "dates": pl.Int64, "monotonicity": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def _monotonicity(mean_returns: np.ndarray) -> float | None:
    """Spearman correlation of quantile number and mean return (None if any is missing)."""
    if not np.isfinite(mean_returns).all():
        return None
    ranked = pl.Series(mean_returns).rank("average").to_numpy().astype(float)
    order = np.arange(1.0, len(mean_returns) + 1)
    if ranked.std() == 0:
        return None
    return float(np.corrcoef(order, ranked)[0, 1])


def _cumulative(fp: FactorPanel, daily: np.ndarray) -> pl.DataFrame:
    """Growth of 1 per quantile over the sessions from the first to the last with a return
    (a quantile without one on a session in between earns nothing that session)."""
    known = np.flatnonzero(np.isfinite(daily).any(axis=1))
    if not known.size:
        return pl.DataFrame(schema={"date": pl.Date, "quantile": pl.Int64, "growth": pl.Float64})
    first, last = int(known[0]), int(known[-1]) + 1
    growth = np.cumprod(1.0 + np.nan_to_num(daily[first:last]), axis=0)
    days, q = growth.shape
    return pl.DataFrame(
        {
            "date": np.repeat(np.array(fp.sessions[first:last], dtype="datetime64[D]"), q),
            "quantile": np.tile(np.arange(1, q + 1), days),
            "growth": growth.ravel(),
        }
    ).cast({"date": pl.Date, "quantile": pl.Int64})


def _turnover(top: np.ndarray, lag: int) -> np.ndarray:
    """Per session: the share of the top quantile's names that were not in it ``lag``
    sessions before (NaN where either has no top quantile)."""
    out = np.full(top.shape[0], np.nan)
    now, before = top[lag:], top[: len(top) - lag]
    size = now.sum(axis=1)
    ok = (size > 0) & before.any(axis=1)
    out[lag:][ok] = (now & ~before).sum(axis=1)[ok] / size[ok]
    return out


def _rank_autocorrelation(fp: FactorPanel, rank: np.ndarray, lag: int) -> np.ndarray:
    """Per session: the correlation across names of the factor's ranks (T x N) on t and
    t - lag (NaN before ``lag`` and where fewer than ``MIN_NAMES`` names have both)."""
    out = np.full(len(rank), np.nan)
    if lag >= len(rank):
        return out
    now, before = rank[lag:], rank[: len(rank) - lag]
    both = (np.isfinite(now) & np.isfinite(before)).ravel()
    grouping = fp.grouping().head(len(now))
    corr, count = correlations(now.ravel(), before.ravel(), both, grouping)
    corr[count < MIN_NAMES] = np.nan
    out[lag:] = corr
    return out


def _mean(x: np.ndarray) -> float | None:
    finite = x[np.isfinite(x)]
    return float(finite.mean()) if finite.size else None


def _column_means(m: np.ndarray) -> np.ndarray:
    """Each column's mean over its finite values (NaN for a column without any)."""
    count = np.isfinite(m).sum(axis=0)
    total = np.nan_to_num(m).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _count(x: np.ndarray) -> int:
    return int(np.isfinite(x).sum())


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
