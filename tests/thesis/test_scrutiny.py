"""A backtest's honest numbers on the six copper names of the demo market: recorded, JSON-safe,
and the verdict built from the event study, the placebo and the bootstrap of the same run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sample_markets import copper_store, copper_thesis

from screener.config import Settings
from screener.store import Store
from screener.thesis.record import BacktestResult, load_run
from screener.thesis.run import run_backtest

END = dt.date(2017, 12, 29)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, BacktestResult]]:
    with copper_store(tmp_path_factory.mktemp("scrutiny"), END) as store:
        thesis = copper_thesis(tmp_path_factory.mktemp("thesis"))
        yield store, run_backtest(store, thesis, settings=Settings())


def test_intervals_bracket_the_point_metrics(run: tuple[Store, BacktestResult]) -> None:
    _, result = run
    m = result.metrics
    boot = m["bootstrap"]
    assert boot["resamples"] == 2_000 and boot["mean_block"] == 10.0  # the thesis's hold
    for key in ("sharpe", "annual_return", "max_drawdown"):
        low, high = boot[key]
        assert low < m[key] < high


def test_placebo_counts_the_traded_episodes(run: tuple[Store, BacktestResult]) -> None:
    _, result = run
    placebo = result.metrics["placebo"]
    traded = result.compiled.selections["selection_date"].n_unique()
    assert placebo["episodes"] == traded > 0
    assert set(placebo["pool"]) <= {str(y) for y in range(2015, 2018)}
    assert 0.0 <= placebo["percentile"] <= 100.0
    assert placebo["placebo_low"] <= placebo["placebo_mean"] <= placebo["placebo_high"]


def test_one_verdict_line_from_the_same_numbers(run: tuple[Store, BacktestResult]) -> None:
    store, result = run
    verdict = result.metrics["verdict"]
    event = result.event_study.summary
    opens = result.equity["date"][0]  # the score's first value: the tested window's start
    assert verdict.startswith(f"small copper breakout, {opens}..{END}: ")
    assert event["verdict"].removeprefix("Event study: ").removesuffix(".") in verdict
    assert "of 1,000 matched random-date placebos" in verdict and "percentile" in verdict
    low, high = result.metrics["bootstrap"]["sharpe"]
    assert f"Sharpe {result.metrics['sharpe']:.2f} (95% CI {low:.2f} to {high:.2f})" in verdict
    assert "\n" not in verdict
    row, _ = load_run(store, result.run_id)
    assert row["metrics"]["metrics"]["verdict"] == verdict
    json.dumps(result.to_json(), allow_nan=False)
