"""Information coefficients: does a factor's cross-section on t line up with the returns after t?

On each session (and metal, ``by_metal``), over the factor's cross-section (data.py: eligible
names with a value) that has a forward return at the horizon, with at least ``MIN_NAMES`` names:

- IC: the Pearson correlation of factor value and forward return;
- rank IC: Spearman's, the Pearson correlation of their average ranks among those names.

``ic_summary`` gives per factor and horizon the mean of each, its standard deviation (ddof 1),
the IR (mean / std, per session, not annualised), the Newey-West t of the mean with ``h - 1``
lags (returns over h sessions overlap, so neighbouring ICs share h - 1 sessions of them), the
share of sessions above zero, the sessions and the names. Signs are those of the raw factor:
a factor that ranks low values best (``higher_is_better`` False) predicts with a negative IC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from screener.research.cross_section import correlations, ranks
from screener.research.data import FactorPanel

MIN_NAMES = 5  # fewer names than this on a session (and metal): no IC that day


def daily_ic(
    fp: FactorPanel, factor: str, horizon: int, *, by_metal: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IC, rank IC and names per cross-section (session x metal cells when ``by_metal``);
    NaN where fewer than ``MIN_NAMES`` names or a side does not vary."""
    grouping = fp.grouping(by_metal)
    keep = (fp.cross_section(factor) & np.isfinite(fp.returns[horizon])).ravel()
    values, returns = fp.sorted(factor, by_metal), fp.sorted(horizon, by_metal)
    ic, names = correlations(values.values, returns.values, keep, grouping)
    first, second = fp.scratch(2)  # the correlation reads the kept cells only
    ranked = ranks(values, grouping, keep, first), ranks(returns, grouping, keep, second)
    rank_ic, _ = correlations(*ranked, keep, grouping)
    few = names < MIN_NAMES
    ic[few] = rank_ic[few] = np.nan
    return ic, rank_ic, names


def newey_west(x: np.ndarray, lags: int) -> tuple[float, float]:
    """Mean of a series and its Newey-West standard error (Bartlett weights 1 - l / (lags + 1),
    autocovariances divided by n, no small-sample correction); NaN for fewer than 2 values."""
    n = len(x)
    if n < 2:
        return (float(x.mean()) if n else math.nan), math.nan
    e = x - x.mean()
    variance = float(e @ e) / n
    for lag in range(1, min(lags, n - 1) + 1):
        variance += 2.0 * (1.0 - lag / (lags + 1.0)) * float(e[lag:] @ e[:-lag]) / n
    return float(x.mean()), math.sqrt(max(variance, 0.0) / n)


def summarise(series: np.ndarray, lags: int) -> dict[str, float | None]:
    """Mean, std, IR, Newey-West t and share above zero of one IC series (NaN = no IC)."""
    x = series[np.isfinite(series)]
    if x.size == 0:
        return dict.fromkeys(("mean", "std", "ir", "t", "positive"))
    mean, se = newey_west(x, lags)
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    return {
        "mean": mean,
        "std": _num(std),
        "ir": _num(mean / std) if std > 0 else None,
        "t": _num(mean / se) if se > 0 else None,
        "positive": float((x > 0).mean()),
    }


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def ic_summary(
    fp: FactorPanel, factors: Sequence[str] | None = None, *, by_metal: bool = False
) -> pl.DataFrame:
    """One row per factor (and metal) and horizon; see the module docstring for the columns."""
    rows = []
    per = len(fp.metals) if by_metal else 1
    chosen = list(factors or fp.factors)
    fp.sort_ahead([*chosen, *fp.horizons], by_metal)
    for factor in chosen:
        for h in fp.horizons:
            ic, rank_ic, names = daily_ic(fp, factor, h, by_metal=by_metal)
            used = _used_names(fp, factor, h, np.isfinite(rank_ic), per)
            for g in range(per):
                cells = slice(g, None, per)
                rows.append(
                    {
                        "factor": factor,
                        **({"metal": fp.metals[g]} if by_metal else {}),
                        "horizon": h,
                        **_prefixed("ic", summarise(ic[cells], h - 1)),
                        **_prefixed("rank_ic", summarise(rank_ic[cells], h - 1)),
                        "dates": int(np.isfinite(rank_ic[cells]).sum()),
                        "names": int(used[g]),
                        "names_per_date": _mean_or_none(names[cells][np.isfinite(rank_ic[cells])]),
                    }
                )
    table = pl.DataFrame(rows, schema=_schema(by_metal))
    return table.filter(pl.col("dates") > 0) if by_metal else table  # metals outside it


def _prefixed(prefix: str, stats: dict[str, float | None]) -> dict[str, float | None]:
    """{'mean': ..} -> {'ic': .., 'ic_std': .., 'icir': ..}: the summary's column names."""
    names = {"mean": prefix, "std": f"{prefix}_std", "ir": f"{prefix}ir", "t": f"{prefix}_t"}
    names["positive"] = f"{prefix}_positive"
    return {names[k]: v for k, v in stats.items()}


def _used_names(
    fp: FactorPanel, factor: str, horizon: int, counted: np.ndarray, per: int
) -> np.ndarray:
    """Distinct names behind the counted cross-sections, per metal (or one total)."""
    label = fp.metal if per > 1 else np.zeros(len(fp.tickers), np.int64)
    keep = fp.cross_section(factor) & np.isfinite(fp.returns[horizon])
    keep &= counted.reshape(len(fp.sessions), per)[:, label]
    return np.bincount(label[keep.any(axis=0)], minlength=per)


def _mean_or_none(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def _schema(by_metal: bool) -> dict[str, pl.DataType]:
    stats = ("", "_std", "ir", "_t", "_positive")
    floats = {f"{p}{s}": pl.Float64() for p in ("ic", "rank_ic") for s in stats}
    head: dict[str, pl.DataType] = {"factor": pl.String()}
    if by_metal:
        head["metal"] = pl.String()
    counts = {"dates": pl.Int64(), "names": pl.Int64(), "names_per_date": pl.Float64()}
    return {**head, "horizon": pl.Int64(), **floats, **counts}


def ic_series(fp: FactorPanel, factor: str) -> pl.DataFrame:
    """date, horizon, ic, rank_ic, names: every session with a rank IC."""
    parts = []
    for h in fp.horizons:
        ic, rank_ic, names = daily_ic(fp, factor, h)
        parts.append(
            pl.DataFrame(
                {"date": fp.sessions, "horizon": h, "ic": ic, "rank_ic": rank_ic, "names": names},
                schema={
                    "date": pl.Date,
                    "horizon": pl.Int64,
                    "ic": pl.Float64,
                    "rank_ic": pl.Float64,
                    "names": pl.Int64,
                },
            ).filter(pl.col("rank_ic").is_not_nan())
        )
    return pl.concat(parts)
