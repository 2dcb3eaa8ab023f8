"""One factor's tear sheet: every number its page shows, computed here (report/ renders it).

The IC of one horizon per session with its rolling mean and its distribution, the IC summary
by horizon (its decay), and the quantile analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from screener.research.data import FactorPanel, Scope
from screener.research.ic import ic_series, ic_summary
from screener.research.quantiles import QuantileAnalysis, quantile_analysis

ROLLING = 20  # sessions in the IC's rolling mean: about a month
SHOWN_HORIZON = 20  # the horizon drawn per session, when it was asked for


@dataclass(frozen=True)
class TearSheet:
    """``ic``: ic_summary's rows, one per horizon; ``ic_daily``: date, ic, rank_ic, names,
    ic_rolling (the mean IC of the last ``ROLLING`` sessions) at ``horizon``."""

    factor: str
    description: str
    higher_is_better: bool
    horizon: int
    scope: Scope
    ic: pl.DataFrame
    ic_daily: pl.DataFrame
    quantiles: QuantileAnalysis


def tear_sheet(
    fp: FactorPanel,
    factor: str,
    *,
    quantiles: int = 5,
    neutral: str | None = None,
    horizon: int | None = None,
) -> TearSheet:
    """The tear sheet of ``factor``; ``horizon`` (default 20 sessions if studied, else the
    first) is the one drawn session by session."""
    shown = horizon or (SHOWN_HORIZON if SHOWN_HORIZON in fp.horizons else fp.horizons[0])
    if shown not in fp.horizons:
        raise ValueError(f"horizon {shown} was not studied (horizons: {list(fp.horizons)})")
    daily = ic_series(fp, factor).filter(pl.col("horizon") == shown).drop("horizon")
    f = fp.factors[factor]
    return TearSheet(
        factor=factor,
        description=f.summary,
        higher_is_better=f.higher_is_better,
        horizon=shown,
        scope=fp.scope(),
        ic=ic_summary(fp, [factor]),
        ic_daily=daily.with_columns(ic_rolling=pl.col("ic").rolling_mean(ROLLING)),
        quantiles=quantile_analysis(fp, factor, quantiles=quantiles, neutral=neutral),
    )
