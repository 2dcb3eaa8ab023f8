"""screener.thesis.bootstrap: the resampling scheme, the metrics against the run's, coverage."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import polars as pl
import pytest

from screener.thesis.bootstrap import metric_intervals, path_metrics, stationary_indices
from screener.thesis.metrics import SESSIONS_PER_YEAR, performance_metrics


def _curve(rets: np.ndarray) -> np.ndarray:
    return 1e6 * np.concatenate([[1.0], np.cumprod(1.0 + rets)])


def test_path_metrics_score_a_path_as_analytics_does() -> None:
    rets = np.random.default_rng(0).normal(0.0004, 0.012, 600)
    values = _curve(rets)
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(values.size)]
    ref = performance_metrics(pl.DataFrame({"date": days, "value": values}))
    ours = {k: float(v[0]) for k, v in path_metrics(rets[None, :]).items()}
    for key in ("sharpe", "annual_return", "max_drawdown"):
        assert ours[key] == pytest.approx(ref[key], rel=1e-9)
    rising = path_metrics(np.full((1, 5), 0.01))
    assert rising["max_drawdown"][0] == 0.0 and math.isnan(rising["sharpe"][0])


def test_blocks_are_runs_of_consecutive_sessions_with_the_mean_length() -> None:
    idx = stationary_indices(1_000, 400, 10.0, np.random.default_rng(1))
    assert idx.shape == (400, 1_000) and idx.min() >= 0 and idx.max() <= 999
    step = np.diff(idx, axis=1)
    continues = (step == 1) | (step == -999)  # a block wraps from the last session to the first
    assert 1.0 / (1.0 - continues.mean()) == pytest.approx(10.0, rel=0.05)
    counts = np.bincount(idx[:, 0], minlength=1_000)
    assert counts.max() < 5  # the first session of each path is a uniform draw


def test_a_true_sharpe_is_covered_at_about_the_level() -> None:
    rng = np.random.default_rng(2)
    mu, sigma = 0.0006, 0.01
    truth = mu / sigma * math.sqrt(SESSIONS_PER_YEAR)
    covered = []
    for seed in range(120):
        out = metric_intervals(
            _curve(rng.normal(mu, sigma, 500)), mean_block=5, resamples=400, seed=seed
        )
        low, high = out["sharpe"]
        covered.append(low < truth < high)
    assert np.mean(covered) == pytest.approx(0.95, abs=0.06)


def test_longer_blocks_widen_the_interval_of_clustered_returns() -> None:
    """Returns that come in runs (positions held for 20 sessions): resampling single sessions
    breaks the runs and understates how far the annual return can swing."""
    rng = np.random.default_rng(3)
    runs = np.repeat(rng.normal(0.0, 0.01, 50), 20) + rng.normal(0, 0.002, 1_000)
    curve = _curve(runs)
    narrow = metric_intervals(curve, mean_block=1, resamples=1_000)["annual_return"]
    wide = metric_intervals(curve, mean_block=20, resamples=1_000)["annual_return"]
    assert wide[1] - wide[0] > 2.0 * (narrow[1] - narrow[0])


def test_seeded_json_safe_and_short_curves() -> None:
    curve = _curve(np.random.default_rng(4).normal(0.0, 0.01, 300))
    a = metric_intervals(curve, mean_block=20, resamples=300)
    assert a == metric_intervals(curve, mean_block=20, resamples=300)
    assert a["resamples"] == 300 and a["mean_block"] == 20 and a["level"] == 0.95
    assert a["max_drawdown"][0] <= a["max_drawdown"][1] <= 0.0
    json.dumps(a, allow_nan=False)
    short = metric_intervals(np.array([1.0, 1.01, 1.02]), mean_block=5)
    assert short["sharpe"] is None and short["max_drawdown"] is None
    flat = metric_intervals(np.ones(50), mean_block=5, resamples=100)
    assert flat["sharpe"] is None and flat["annual_return"] == [0.0, 0.0]
