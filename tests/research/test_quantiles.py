"""Quantile buckets, returns, spread, cumulative returns, turnover and rank autocorrelation
against the pandas/scipy reference (reference_research.py) to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from research.reference_research import (
    Z95,
    buckets,
    quantile_means,
    rank_autocorrelation,
    reference_frame,
    summary,
    turnover,
)
from research.seeded import FACTORS
from scipy import stats

from screener.research.cross_section import buckets as fast_buckets
from screener.research.data import FactorPanel
from screener.research.quantiles import factor_ranks, quantile_analysis

TOL = 1e-9
Q = 5


@pytest.fixture(scope="module")
def reference(research_panel: pl.DataFrame) -> pd.DataFrame:
    return reference_frame(research_panel, FACTORS, (1, 5, 20))


def _by(neutral: str | None) -> list[str]:
    return ["date", "metal"] if neutral else ["date"]


@pytest.mark.parametrize("factor", ["ret_20d", "ret_5d_pct"])
@pytest.mark.parametrize("neutral", [None, "metal"])
def test_buckets_are_qcut_or_the_average_rank_rule(
    research_data: FactorPanel, reference: pd.DataFrame, factor: str, neutral: str | None
) -> None:
    by_metal = neutral is not None
    rank = factor_ranks(research_data, factor, by_metal)
    got = fast_buckets(rank, research_data.grouping(by_metal), Q).reshape(research_data.shape)
    want = buckets(reference, factor, Q, _by(neutral))
    cell = reference.assign(want=want.fillna(0).astype(int))
    rows = [research_data.sessions.index(d.date()) for d in cell["date"]]
    cols = [research_data.tickers.index(t) for t in cell["ticker"]]
    assert np.array_equal(got[rows, cols], cell["want"].to_numpy())
    assert got.sum() == cell["want"].sum()  # no bucket outside the reference's rows


@pytest.mark.parametrize("factor", ["ret_20d", "ret_5d_pct"])
@pytest.mark.parametrize("neutral", [None, "metal"])
def test_returns_spread_and_monotonicity_equal_the_reference(
    research_data: FactorPanel, reference: pd.DataFrame, factor: str, neutral: str | None
) -> None:
    result = quantile_analysis(research_data, factor, quantiles=Q, neutral=neutral)
    bucket = buckets(reference, factor, Q, _by(neutral))
    for h in (1, 5, 20):
        daily = quantile_means(reference, bucket, h, neutral is not None)
        got = result.returns.filter(pl.col("horizon") == h).sort("quantile")
        np.testing.assert_allclose(got["mean_return"].to_numpy(), daily.mean(), rtol=0, atol=TOL)
        assert got["dates"].to_list() == daily.count().to_list()
        spread = (daily[Q] - daily[1]).dropna().to_numpy()
        ref = summary(spread, h - 1)
        row = result.spread.filter(pl.col("horizon") == h).row(0, named=True)
        assert row["dates"] == len(spread)
        np.testing.assert_allclose(
            [row["spread"], row["t"], row["ci_low"], row["ci_high"]],
            [ref["mean"], ref["t"], ref["mean"] - Z95 * ref["se"], ref["mean"] + Z95 * ref["se"]],
            rtol=0,
            atol=TOL,
        )
        monotone = stats.spearmanr(np.arange(1, Q + 1), daily.mean().to_numpy()).statistic
        assert row["monotonicity"] == pytest.approx(monotone, abs=TOL)


@pytest.mark.parametrize("neutral", [None, "metal"])
def test_turnover_autocorrelation_and_cumulative_returns(
    research_data: FactorPanel, reference: pd.DataFrame, neutral: str | None
) -> None:
    result = quantile_analysis(research_data, "ret_20d", quantiles=Q, neutral=neutral)
    bucket = buckets(reference, "ret_20d", Q, _by(neutral))
    days = [pd.Timestamp(d) for d in research_data.sessions]
    for h in (1, 5, 20):
        row = result.turnover.filter(pl.col("horizon") == h).row(0, named=True)
        assert row["turnover"] == pytest.approx(turnover(bucket, reference, Q, h, days), abs=TOL)
        want = rank_autocorrelation(reference, "ret_20d", h, days, _by(neutral))
        assert row["autocorrelation"] == pytest.approx(want, abs=TOL)
    daily = quantile_means(reference, bucket, 1, neutral is not None)
    growth = (1.0 + daily.reindex(days).dropna(how="all").fillna(0.0)).cumprod()
    got = result.cumulative.pivot(on="quantile", index="date", values="growth").sort("date")
    assert got["date"].to_list() == [d.date() for d in growth.index]
    for k in range(1, Q + 1):
        np.testing.assert_allclose(got[str(k)].to_numpy(), growth[k], rtol=1e-12, atol=0)


def test_bad_arguments_are_refused(research_data: FactorPanel) -> None:
    with pytest.raises(ValueError, match="quantiles"):
        quantile_analysis(research_data, "ret_20d", quantiles=1)
    with pytest.raises(ValueError, match="neutral"):
        quantile_analysis(research_data, "ret_20d", neutral="board")
