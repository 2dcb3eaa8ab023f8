"""The default dip thesis with a sector universe on the real 2015-2022 market (../shared/realdata).

The trigger finds the real 801050.SI crashes; the names it picks fell with the sector, so the
selection window's abnormal return is deeply negative. That fall chose the names: it is context.
The run must report the holding window (from the entry fill) with its interval, and claim no
significance the handful of episodes cannot carry. The test asserts the wording class, not the
numbers.
"""

from __future__ import annotations

import polars as pl
import pytest

from screener.thesis.record import BacktestResult


@pytest.fixture(scope="module")
def result(real_dip_run: BacktestResult) -> BacktestResult:
    return real_dip_run


def test_the_verdict_reports_the_holding_window_and_claims_nothing_it_cannot(
    result: BacktestResult,
) -> None:
    verdict = result.metrics["verdict"]
    print(verdict)
    assert result.event_study is not None
    summary = result.event_study.summary
    n = summary["n_episodes"]
    assert n >= 3  # the 2015 crash (twice), and later falls of the real index
    assert "holding-window CAR (entry fill to day +20, market model)" in verdict
    assert "95% CI" in verdict and "detectable at 80% power" in verdict
    if n < 10:
        assert f"{n} episodes: too few to conclude" in verdict
        assert "distinguishable" not in verdict
    else:
        assert "not distinguishable from chance" in verdict
    assert "matched random-date placebos" in verdict and "Sharpe" in verdict


def test_the_selection_fall_is_context_not_the_headline(result: BacktestResult) -> None:
    assert result.event_study is not None
    market = result.event_study.summary["market"]
    print({k: market[k] for k in ("selection_car", "reaction_car", "car", "ci_low", "ci_high")})
    assert market["selection_car"] < -0.05  # the fall that picked the names
    assert market["car"] > market["selection_car"]  # the headline starts at the fill
    assert market["ci_low"] < market["car"] < market["ci_high"]
    car = result.event_study.car
    assert car.filter(pl.col("rel_day") <= 0)["lo_market"].null_count() == 8  # no band: context
    assert car.filter(pl.col("role") == "holding")["rel_day"].to_list() == list(range(1, 21))
