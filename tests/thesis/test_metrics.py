"""Tests for screener.thesis.metrics: metrics against closed forms and hand-computed paths."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from screener.thesis.metrics import (
    SESSIONS_PER_YEAR,
    deflated_sharpe_ratio,
    drawdown_series,
    expected_max_sharpe,
    monthly_returns,
    performance_metrics,
    probabilistic_sharpe_ratio,
    sharpe_moments,
    walk_forward_splits,
)
from tests.conftest import weekdays

START = dt.date(2024, 1, 2)


def _days(n: int) -> list[dt.date]:
    """n consecutive weekdays: the metrics only need ordered, distinct dates."""
    return weekdays(n, START)


def _equity(values: list[float] | np.ndarray, **extra: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"date": _days(len(values)), "value": list(values), **extra})


def _from_returns(rets: np.ndarray, start: float = 1_000_000.0) -> np.ndarray:
    return start * np.concatenate([[1.0], np.cumprod(1.0 + rets)])


# -- headline metrics ---------------------------------------------------------------------


def test_constant_return_has_closed_form_growth_and_no_sharpe() -> None:
    r, n = 0.001, 121  # half a year of sessions
    m = performance_metrics(_equity(_from_returns(np.full(n, r))))
    assert m["total_return"] == pytest.approx((1 + r) ** n - 1, rel=1e-12)
    assert m["annual_return"] == pytest.approx((1 + r) ** SESSIONS_PER_YEAR - 1, rel=1e-10)
    assert m["volatility"] == 0.0
    assert m["sharpe"] is None and m["sortino"] is None
    assert m["max_drawdown"] == 0.0 and m["max_drawdown_start"] is None
    assert m["calmar"] is None
    assert m["sessions"] == n + 1
    assert m["trades"] is None and m["turnover"] is None  # no trade list: unknown, not 0
    json.dumps(m, allow_nan=False)  # JSON-safe: no NaN/inf, no date objects


def test_flat_equity_is_all_zero_or_none() -> None:
    m = performance_metrics(_equity([5.0] * 30), trades=_trades([]))
    assert m["total_return"] == 0.0 and m["annual_return"] == 0.0
    assert m["volatility"] == 0.0 and m["sharpe"] is None and m["calmar"] is None
    assert m["trades"] == 0 and m["hit_rate"] is None and m["avg_win"] is None
    assert m["turnover"] == 0.0 and m["exposure"] == 0.0
    json.dumps(m, allow_nan=False)


def test_single_row_equity_has_no_annualised_numbers() -> None:
    m = performance_metrics(_equity([1.0]))
    assert m["total_return"] == 0.0
    assert m["annual_return"] is None and m["volatility"] is None and m["sharpe"] is None


@pytest.mark.parametrize("bad", [[1.0, 0.0, 2.0], [1.0, float("nan")], []])
def test_invalid_equity_is_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        performance_metrics(_equity(bad))


def test_sharpe_sortino_volatility_match_hand_computation() -> None:
    rets = np.random.default_rng(1).normal(0.0005, 0.012, 500)
    rf = 0.02
    m = performance_metrics(_equity(_from_returns(rets)), risk_free=rf)
    rf_d = (1 + rf) ** (1 / 242) - 1
    ex = rets - rf_d
    assert m["volatility"] == pytest.approx(rets.std(ddof=1) * math.sqrt(242), rel=1e-10)
    assert m["sharpe"] == pytest.approx(ex.mean() / rets.std(ddof=1) * math.sqrt(242), rel=1e-9)
    downside = math.sqrt(np.mean(np.minimum(ex, 0) ** 2))
    assert m["sortino"] == pytest.approx(ex.mean() / downside * math.sqrt(242), rel=1e-9)
    years = 500 / 242
    growth = np.prod(1 + rets)
    assert m["annual_return"] == pytest.approx(growth ** (1 / years) - 1, rel=1e-9)


# -- drawdowns ----------------------------------------------------------------------------


def test_drawdown_dates_on_a_known_path() -> None:
    values = [100, 110, 110, 99, 88, 95, 110, 120, 114]
    days = _days(len(values))
    m = performance_metrics(_equity(values))
    assert m["max_drawdown"] == pytest.approx(88 / 110 - 1)
    assert m["max_drawdown_start"] == days[2].isoformat()  # last session at the peak
    assert m["max_drawdown_trough"] == days[4].isoformat()
    assert m["max_drawdown_end"] == days[6].isoformat()  # first session back at 110
    assert m["calmar"] == pytest.approx(m["annual_return"] / 0.2)


def test_unrecovered_drawdown_has_no_end() -> None:
    m = performance_metrics(_equity([100, 120, 90, 100]))
    assert m["max_drawdown"] == pytest.approx(-0.25)
    assert m["max_drawdown_end"] is None


def test_drawdown_series_by_hand() -> None:
    dd = drawdown_series(_equity([100, 110, 99, 121, 110]))
    expected = [0.0, 0.0, 99 / 110 - 1, 0.0, 110 / 121 - 1]
    assert dd.columns == ["date", "drawdown"]
    np.testing.assert_allclose(dd.get_column("drawdown").to_numpy(), expected)


# -- trades, exposure, turnover -----------------------------------------------------------


def _trades(rows: list[tuple[int, int | None, float, float | None, float, float]]) -> pl.DataFrame:
    """rows: entry session, exit session (None = open), entry price, exit price, shares, pnl."""
    days = _days(20)
    return pl.DataFrame(
        {
            "ticker": ["600362.SH"] * len(rows),
            "entry_date": [days[r[0]] for r in rows],
            "exit_date": [None if r[1] is None else days[r[1]] for r in rows],
            "entry_price": [r[2] for r in rows],
            "exit_price": [r[3] for r in rows],
            "shares": [r[4] for r in rows],
            "pnl": [r[5] for r in rows],
            "return_pct": [None if r[3] is None else r[3] / r[2] - 1 for r in rows],
        },
        schema_overrides={"exit_date": pl.Date, "exit_price": pl.Float64, "pnl": pl.Float64},
    )


def test_trade_statistics_by_hand() -> None:
    trades = _trades(
        [
            (1, 3, 10.0, 11.0, 100, 95.0),  # win, +10%
            (2, 5, 20.0, 18.0, 100, -205.0),  # loss, -10%
            (4, 6, 10.0, 12.0, 200, 390.0),  # win, +20%
            (7, None, 5.0, None, 100, None),  # still open: not a round trip
        ]
    )
    values = [10_000.0] * 10
    m = performance_metrics(_equity(values), trades=trades, costs_paid=12.5)
    assert m["trades"] == 3
    assert m["hit_rate"] == pytest.approx(2 / 3)
    assert m["avg_win"] == pytest.approx((0.10 + 0.20) / 2)
    assert m["avg_loss"] == pytest.approx(-0.10)
    traded = (1000 + 2000 + 2000 + 500) + (1100 + 1800 + 2400)
    assert m["turnover"] == pytest.approx(traded / 10_000 / (9 / 242))
    # held at the close of sessions 1,2 | 2,3,4 | 4,5 | 7,8,9 -> sessions 1..5 and 7..9
    assert m["exposure"] == pytest.approx(8 / 10)
    assert m["costs_paid"] == 12.5


def test_exposure_prefers_positions_value() -> None:
    eq = _equity([1.0, 1.0, 1.1, 1.2], positions_value=[0.0, 0.5, 0.0, 0.9])
    assert performance_metrics(eq)["exposure"] == pytest.approx(0.5)
    assert performance_metrics(_equity([1.0, 1.1]))["exposure"] is None


# -- benchmarks ---------------------------------------------------------------------------


def _bench(closes: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"date": _days(closes.size), "close": closes})


def test_beta_is_two_when_strategy_is_twice_the_benchmark() -> None:
    rb = np.random.default_rng(2).normal(0.0003, 0.01, 300)
    bench = _from_returns(rb, 4000.0)
    strat = _from_returns(2 * rb)
    b = performance_metrics(_equity(strat), benchmarks={"csi300": _bench(bench)})["benchmarks"]
    s = b["csi300"]
    assert s["beta"] == pytest.approx(2.0, rel=1e-10)
    assert s["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert s["correlation"] == pytest.approx(1.0)
    assert s["total_return"] == pytest.approx(bench[-1] / bench[0] - 1)
    assert s["excess_return"] == pytest.approx((strat[-1] / strat[0] - 1) - s["total_return"])
    active = 2 * rb - rb
    assert s["information_ratio"] == pytest.approx(
        active.mean() / active.std(ddof=1) * math.sqrt(242), rel=1e-9
    )
    assert s["n_obs"] == 300


def test_alpha_beta_match_lstsq_on_common_dates() -> None:
    rng = np.random.default_rng(3)
    rb = rng.normal(0.0, 0.01, 400)
    rs = 0.0004 + 0.7 * rb + rng.normal(0, 0.008, 400)
    bench = _bench(_from_returns(rb, 100.0))
    # the benchmark misses 3 sessions: both series are then measured on the common dates
    bench = bench.filter(~pl.int_range(pl.len()).is_in([50, 51, 200]))
    eq = _equity(_from_returns(rs))
    s = performance_metrics(eq, benchmarks={"sw": bench})["benchmarks"]["sw"]
    j = eq.join(bench, on="date")
    x = j["close"].to_numpy()[1:] / j["close"].to_numpy()[:-1] - 1
    y = j["value"].to_numpy()[1:] / j["value"].to_numpy()[:-1] - 1
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    assert s["beta"] == pytest.approx(b, rel=1e-9)
    assert s["alpha"] == pytest.approx(a * 242, rel=1e-9)
    assert s["correlation"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert s["n_obs"] == 397


def test_flat_benchmark_gives_none_not_nan() -> None:
    eq = _equity(_from_returns(np.random.default_rng(4).normal(0, 0.01, 20)))
    s = performance_metrics(eq, benchmarks={"flat": _bench(np.full(21, 7.0))})["benchmarks"]
    assert s["flat"]["beta"] is None and s["flat"]["correlation"] is None
    assert s["flat"]["total_return"] == 0.0
    json.dumps(s, allow_nan=False)


# -- monthly returns ----------------------------------------------------------------------


def test_monthly_returns_month_end_to_month_end() -> None:
    eq = pl.DataFrame(
        {
            "date": [
                dt.date(2024, 1, 15),
                dt.date(2024, 1, 31),
                dt.date(2024, 2, 10),
                dt.date(2024, 2, 29),
                dt.date(2024, 4, 1),
            ],
            "value": [100.0, 110.0, 99.0, 121.0, 133.1],
        }
    )
    out = monthly_returns(eq)
    assert out.columns == ["year", "month", "ret"]
    assert out.select("year", "month").rows() == [(2024, 1), (2024, 2), (2024, 4)]
    np.testing.assert_allclose(out["ret"].to_numpy(), [0.10, 0.10, 0.10])


# -- probabilistic and deflated Sharpe ----------------------------------------------------


def test_psr_matches_normal_closed_form() -> None:
    sr, n = 0.08, 500
    expected = stats.norm.cdf(sr * math.sqrt(n - 1) / math.sqrt(1 + sr**2 / 2))
    assert probabilistic_sharpe_ratio(sr, 0.0, n, 0.0, 3.0) == pytest.approx(expected)
    assert deflated_sharpe_ratio(sr, 1, n, 0.0, 3.0, 0.01) == pytest.approx(expected)


def test_dsr_reproduces_the_papers_example() -> None:
    # Bailey & López de Prado (2014), section 5: SR 2.5 annualised over 1250 daily obs,
    # 100 trials, V[SR] 0.5 annualised, skew -3, kurtosis 10 -> SR0 = 0.1132, DSR = 0.9004.
    sr, var = 2.5 / math.sqrt(250), 0.5 / 250
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=1e-4)
    assert deflated_sharpe_ratio(sr, 100, 1250, -3.0, 10.0, var) == pytest.approx(0.9004, abs=1e-3)


def test_dsr_falls_as_trials_grow() -> None:
    values = [deflated_sharpe_ratio(0.1, n, 750, -0.5, 5.0, 0.002) for n in (1, 2, 10, 100, 1000)]
    assert all(v is not None for v in values)
    assert all(a > b for a, b in itertools.pairwise(values))


def test_psr_is_none_when_the_variance_term_is_not_positive() -> None:
    assert probabilistic_sharpe_ratio(1.0, 0.0, 100, 5.0, 3.0) is None
    with pytest.raises(ValueError):
        expected_max_sharpe(0, 0.1)


def test_sharpe_moments_of_a_curve() -> None:
    rets = np.random.default_rng(5).standard_t(5, 1000) * 0.01
    m = sharpe_moments(_equity(_from_returns(rets)))
    assert m["n_obs"] == 1000
    assert m["sharpe"] == pytest.approx(rets.mean() / rets.std(ddof=1), rel=1e-9)
    assert m["skew"] == pytest.approx(stats.skew(rets), rel=1e-7)
    assert m["kurtosis"] == pytest.approx(stats.kurtosis(rets, fisher=False), rel=1e-7)


# -- walk-forward splits ------------------------------------------------------------------


@pytest.mark.parametrize(("n", "folds", "min_train", "gap"), [(100, 4, 40, 0), (57, 5, 20, 3)])
def test_walk_forward_splits_are_expanding_and_disjoint(
    n: int, folds: int, min_train: int, gap: int
) -> None:
    days = _days(n)
    shuffled = days[::-1] + days[:5]  # order and duplicates do not matter
    splits = walk_forward_splits(shuffled, folds, min_train=min_train, gap=gap)
    assert len(splits) == folds
    tested: list[dt.date] = []
    for k, (train, test) in enumerate(splits):
        assert train.to_list() == days[: train.len()]  # expanding from the first session
        assert train.len() >= min_train
        i = days.index(test[0])
        assert test.to_list() == days[i : i + test.len()]  # contiguous
        assert days.index(train[-1]) == i - gap - 1  # gap sessions between train and test
        assert not set(train.to_list()) & set(test.to_list())
        if k:
            assert train.len() > splits[k - 1][0].len()
        tested += test.to_list()
    assert tested == days[min_train + gap :]  # every later session tested exactly once
    sizes = [t.len() for _, t in splits]
    assert max(sizes) - min(sizes) <= 1


def test_walk_forward_rejects_too_few_sessions() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        walk_forward_splits(_days(10), 5, min_train=8)


def test_round_trips_pair_fills_flat_to_flat() -> None:
    from screener.thesis.metrics import round_trips

    d = [dt.date(2026, 3, i) for i in (2, 3, 4, 5, 6)]
    fills = pl.DataFrame(
        {
            "date": [d[0], d[1], d[2], d[3], d[4]],
            "ticker": ["a", "a", "a", "b", "a"],
            "side": ["buy", "buy", "sell", "buy", "buy"],
            "shares": [100.0, 100.0, 200.0, 200.0, 100.0],
            "price": [10.0, 11.0, 12.0, 5.0, 12.0],
            "value": [1000.0, 1100.0, 2400.0, 1000.0, 1200.0],
            "commission": [5.0, 5.0, 5.0, 5.0, 5.0],
            "stamp_duty": [0.0, 0.0, 1.2, 0.0, 0.0],
            "transfer_fee": [0.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    trips = round_trips(fills).sort("ticker", "entry_date")
    first = trips.row(0, named=True)
    # paid 1000+5 + 1100+5 = 2110; received 2400 - 5 - 1.2 = 2393.8
    assert first["entry_date"] == d[0] and first["exit_date"] == d[2]
    assert first["pnl"] == pytest.approx(2393.8 - 2110.0)
    assert first["return_pct"] == pytest.approx((2393.8 - 2110.0) / 2110.0)
    assert first["entry_price"] == pytest.approx(2110.0 / 200)
    reopened = trips.row(1, named=True)
    assert reopened["ticker"] == "a" and reopened["exit_date"] is None and reopened["pnl"] is None
    assert trips.filter(pl.col("ticker") == "b")["pnl"].to_list() == [None]
