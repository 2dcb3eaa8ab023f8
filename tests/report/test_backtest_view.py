"""The terminal backtest report: number formats, benchmark rows, episodes and the event study."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import polars as pl
from rich.console import RenderableType

from screener.report.backtest_view import benchmark_table, metrics_table, render_backtest
from screener.report.terminal import SYNTHETIC_LABEL
from tests.report.rendering import plain_text

METRICS: dict[str, Any] = {
    "total_return": 0.679,
    "annual_return": 0.0443,
    "volatility": 0.1283,
    "sharpe": 0.4021,
    "max_drawdown": -0.3116,
    "max_drawdown_start": "2021-03-22",
    "hit_rate": 0.4706,
    "avg_loss": -0.0796,
    "exposure": 0.2414,
    "turnover": 6.375,
    "costs_paid": 68949.594,
    "trades": 221,
    "calmar": None,
    "benchmarks": {
        "801050.SI": {"total_return": 1.6109, "excess_return": -0.9319, "beta": 0.17},
        "000300.SH": {"total_return": 0.1597, "excess_return": 0.5193, "alpha": 0.0465},
    },
}


def rows(renderable: RenderableType) -> dict[str, list[str]]:
    """First cell of each line -> the other cells (cells are separated by 2+ spaces)."""
    found = {}
    for line in plain_text(renderable).splitlines():
        cells = [c for c in line.strip().split("  ") if c.strip()]
        if cells:
            found[cells[0].strip()] = [c.strip() for c in cells[1:]]
    return found


def test_returns_are_signed_shares_are_not_money_has_two_places() -> None:
    shown = rows(metrics_table(METRICS))
    assert shown["total_return"] == ["+67.90%"]
    assert shown["max_drawdown"] == ["-31.16%"]
    assert shown["avg_loss"] == ["-7.96%"]
    assert shown["volatility"] == ["12.83%"]
    assert shown["hit_rate"] == ["47.06%"]
    assert shown["exposure"] == ["24.14%"]
    assert shown["sharpe"] == ["0.402"]
    assert shown["turnover"] == ["6.38"]
    assert shown["costs_paid"] == ["68,949.59"]
    assert shown["trades"] == ["221"]
    assert shown["max_drawdown_start"] == ["2021-03-22"]
    assert shown["calmar"] == ["-"]
    assert "benchmarks" not in shown  # not a headline metric


def test_one_row_per_benchmark_with_dashes_for_missing_figures() -> None:
    shown = rows(benchmark_table(METRICS))
    assert shown["801050.SI"][:3] == ["+161.09%", "-93.19%", "0.170"]
    assert shown["000300.SH"][:4] == ["+15.97%", "+51.93%", "-", "+4.65%"]
    assert rows(benchmark_table({})).keys().isdisjoint({"801050.SI", "000300.SH"})


def result(
    *,
    event_study: Any = None,
    calendar_time: dict[str, Any] | None = None,
    rebalance: Any = None,
    verdict: str | None = None,
) -> Any:
    episodes = pl.DataFrame(
        {
            "episode": [0, 1],
            "trigger_date": [dt.date(2020, 5, 20), dt.date(2021, 1, 12)],
            "selection_date": [dt.date(2020, 5, 20), dt.date(2021, 1, 13)],
            "universe": [12, 30],
            "scored": [0, 28],
            "excluded": [12, 4],
            "selected": [0, 5],
            "amount_estimated": [0, 30],
            "reasons": ["12 no score", "2 no score, 2 limit-up"],
            "note": ["no name passed the filters: 12 no score (ret_20d): no metal series", None],
        }
    )
    return SimpleNamespace(
        manifest={"data_start": "2015-01-05", "data_end": "2026-11-27", "tickers": 31},
        thesis=SimpleNamespace(name="Copper breakout", rebalance=rebalance),
        run_id="20261127-053623-f04a3d",
        metrics={**METRICS, "calendar_time": calendar_time or {}, "verdict": verdict},
        compiled=SimpleNamespace(episodes=episodes),
        event_study=event_study,
    )


SUMMARY: dict[str, Any] = {
    "n_events": 40,
    "n_episodes": 12,
    "windows": {"selection": [-7, 0], "reaction": "close of day 0 to the open of day 1"}
    | {"holding": [1, 20]},
    "market": {"selection_car": -0.151, "reaction_car": 0.004, "car": 0.031, "too_few": False}
    | {"ci_low": -0.01, "ci_high": 0.07, "t": 1.5, "p_permutation": 0.16, "mde": 0.052}
    | {"t_bmp": 2.1, "t_kp": 1.7},
    "sector": {"car": -0.004, "t": -0.3, "too_few": False},
    "verdict": "Event study: holding-window CAR ... not distinguishable from chance.",
}


def test_the_whole_run_banner_header_episodes_and_event_study() -> None:
    ct = {"alpha_annual": 0.052, "alpha_t": 1.93, "maxlags": 5, "beta": 0.61, "n_obs": 700}
    out = plain_text(
        render_backtest(
            result(event_study=SimpleNamespace(summary=SUMMARY), calendar_time=ct),
            synthetic=True,
        )
    )
    assert SYNTHETIC_LABEL in out
    header = "Copper breakout  run 20261127-053623-f04a3d  2015-01-05..2026-11-27  (31 tickers)"
    assert header in out
    assert "2 trigger episodes" in out and "2021-01-12" in out
    assert "episode 2020-05-20: no name passed the filters: 12 no score" in out
    assert "amount = close x volume (no amount in the data) on 1 of 2 selection dates" in out
    assert shown_episode(out, "1") == ["2021-01-12", "2021-01-13", "30", "28", "4", "5", "30"]
    assert (
        "event study: 40 names in 12 episodes; CAR by window: selection [-7, 0] (context, not"
        in out
    )
    shown = rows(
        render_backtest(result(event_study=SimpleNamespace(summary=SUMMARY)), synthetic=False)
    )
    assert shown["market"] == [
        "-15.10%", "+0.40%", "+3.10%", "-1.00% to +7.00%", "1.500", "0.160", "±5.20%",
        "2.100", "1.700",
    ]  # fmt: skip
    assert shown["sector"][:3] == ["-", "-", "-0.40%"]
    assert SUMMARY["verdict"] in out
    assert "alpha +5.20%/yr (Newey-West t 1.93, 5 lags), beta 0.61, 700 sessions held" in out


def shown_episode(text: str, episode: str) -> list[str]:
    """The cells of one row of the episode table, up to the reasons."""
    for line in text.splitlines():
        cells = line.split()
        if cells[:1] == [episode] and len(cells) > 8:
            return cells[1:8]
    return []


def test_too_few_episodes_show_no_p_value() -> None:
    few = {**SUMMARY, "n_episodes": 6, "market": {**SUMMARY["market"], "too_few": True}}
    shown = rows(render_backtest(result(event_study=SimpleNamespace(summary=few)), synthetic=False))
    assert shown["market"][4:6] == ["1.500", "±5.20%"]  # t, then no p: the next is the MDE


def test_intervals_placebo_and_the_verdict_close_the_run() -> None:
    metrics = {
        **METRICS,
        "bootstrap": {"level": 0.95, "sharpe": [-0.2, 0.9], "max_drawdown": [-0.5, -0.2]},
        "placebo": {"percentile": 61.3, "draws": 1_000, "thesis_return": 0.024}
        | {"placebo_mean": 0.02, "placebo_low": -0.011, "placebo_high": 0.053}
        | {"percentile_range": [40.2, 79.9]},
        "verdict": "Copper breakout, 2015-01-05..2026-11-27: 37 independent episodes tested.",
    }
    shown = rows(metrics_table(metrics))
    assert shown["sharpe"] == ["0.402", "-0.200 to 0.900"]
    assert shown["max_drawdown"] == ["-31.16%", "-50.00% to -20.00%"]
    assert shown["total_return"] == ["+67.90%"]  # no interval, no cell
    run = result()
    run.metrics = {**metrics, "calendar_time": {}}
    out = plain_text(render_backtest(run, synthetic=False))
    assert "placebo: holding return +2.40% per episode, at 61.3% of 1,000 draws" in out
    assert "resampled pools move the percentile 40 to 80)" in out
    assert out.rstrip().endswith(metrics["verdict"])


def test_without_an_event_study_or_calendar_time_those_parts_are_left_out() -> None:
    out = plain_text(render_backtest(result(), synthetic=False))
    assert SYNTHETIC_LABEL not in out
    assert "event study" not in out and "calendar-time" not in out
    assert "+67.90%" in out


def test_a_rebalanced_run_shows_its_latest_rebalances_and_ends_with_its_verdict() -> None:
    line = "Monthly top-10 momentum, 2015-01-05..2026-11-27: top 10 of the sector universe"
    out = plain_text(render_backtest(result(rebalance="month", verdict=line), synthetic=False))
    assert "2 rebalances (the last 2)" in out and "trigger episodes" not in out
    assert out.rstrip().splitlines()[-1] == line
