"""Tests for screener.thesis.verdict: the wording classes a sceptical reader relies on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from screener.thesis.verdict import backtest_verdict, event_verdict, holding_clause, sweep_verdict


def _summary(n: int, **tests: Any) -> dict[str, Any]:
    base = {"car": 0.021, "ci_low": -0.03, "ci_high": 0.075, "p_permutation": 0.43}
    return {
        "n_episodes": n,
        "n_events": 5 * n,
        "headline_model": "market",
        "windows": {"holding": [1, 20]},
        "market": base | {"mde": 0.098} | tests,
    }


def test_too_few_episodes_conclude_nothing_either_way() -> None:
    line = holding_clause(_summary(6, p_permutation=0.001))
    assert "6 episodes: too few to conclude" in line
    assert "distinguishable" not in line and "p 0.00" not in line
    assert line.startswith("holding-window CAR (entry fill to day +20, market model) +2.1%")
    assert "(95% CI -3.0% to +7.5%) over 6 episodes (30 names)" in line
    assert line.endswith("detectable at 80% power: ±9.8%")


def test_enough_episodes_say_whether_chance_explains_it() -> None:
    assert "not distinguishable from chance (sign-flip p 0.43)" in holding_clause(_summary(12))
    strong = holding_clause(_summary(12, p_permutation=0.004))
    assert "; distinguishable from chance (sign-flip p 0.00)" in strong


def test_missing_interval_and_no_episode() -> None:
    five = holding_clause(_summary(5, ci_low=None, ci_high=None))
    assert "(no 95% CI: 5 episodes cannot reject any mean)" in five
    one = holding_clause(_summary(1, ci_low=None, ci_high=None, mde=None))
    assert "1 episode: too few to conclude" in one and "no detectable effect from 1 episode" in one
    assert event_verdict(_summary(0)) == (
        "Event study: holding-window CAR (entry fill to day +20, market model): no episode "
        "with enough data, nothing to test."
    )


def test_the_backtest_line_names_what_was_tested_and_the_chance_references() -> None:
    placebo = {"percentile": 61.3, "draws": 1_000, "thesis_return": 0.024}
    placebo |= {"percentile_range": [40.2, 79.9]}
    line = backtest_verdict(
        thesis="Dip",
        span=(dt.date(2015, 1, 5), dt.date(2021, 12, 31)),
        episodes=7,
        event=_summary(6),
        placebo=placebo,
        bootstrap={"sharpe": [-0.5, 1.3]},
        sharpe=0.41,
    )
    assert line.startswith("Dip, 2015-01-05..2021-12-31: 6 of 7 trigger episodes tested; ")
    assert "raw holding return +2.4% per episode, at the 61st percentile of 1,000 matched" in line
    assert "placebos (40 to 80 over resampled pools of sessions)" in line
    assert line.endswith("; Sharpe 0.41 (95% CI -0.50 to 1.30).")
    for pct, words in ((0.0, "below all"), (100.0, "above all"), (12.0, "at the 12th")):
        placed = backtest_verdict(
            thesis="Dip",
            span=(dt.date(2015, 1, 5), dt.date(2021, 12, 31)),
            episodes=6,
            event=_summary(6),
            placebo=placebo | {"percentile": pct},
            bootstrap=None,
            sharpe=None,
        )
        assert f", {words} " in placed and "6 independent episodes tested" in placed
        assert placed.endswith("Sharpe n/a.")


def test_the_sweep_line_warns_of_decay_and_identical_results() -> None:
    def line(oos: float | None, distinct: int) -> str:
        return sweep_verdict(
            n_configs=18,
            best="exit.hold_sessions=20",
            in_sample=(dt.date(2015, 1, 5), dt.date(2017, 12, 29)),
            out_of_sample=(dt.date(2018, 1, 2), dt.date(2021, 12, 31)),
            is_sharpe=1.2,
            oos_sharpe=oos,
            deflated=0.62,
            trials={"effective": 4.24, "mean_corr": 0.81, "distinct": distinct},
            pbo={"pbo": 0.55, "blocks": 16, "combinations": 12_870},
        )

    calm = line(0.9, 12)
    assert "best of 18 configurations tried, about 4.2 independent (12 distinct" in calm
    assert "in-sample 2015-01-05..2017-12-29 Sharpe 1.20" in calm
    assert "out-of-sample 2018-01-02..2021-12-31 0.90" in calm
    assert "luckiest of 4.2 independent trials" in calm
    assert "probability of backtest overfitting 0.55 (CSCV, 16 blocks, 12,870 splits)" in calm
    assert "WARNING" not in calm
    assert "WARNING: out-of-sample Sharpe is below half the in-sample one" in line(0.19, 12)
    assert "WARNING: most configurations give identical results (6 distinct of 18)" in line(0.9, 6)
