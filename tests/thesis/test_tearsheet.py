"""Tear-sheet numbers against independent references: pandas rolling windows, numpy polyfit,
a brute-force walk of the equity curve, and hand-computed attribution."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from screener.thesis.metrics import names_held, performance_metrics
from screener.thesis.tearsheet import (
    OPEN_AT_END,
    attribution,
    drawdown_table,
    exposure,
    return_distribution,
    rolling_beta,
    rolling_sharpe,
    tear_sheet,
    trade_list,
)
from tests.conftest import weekdays

N = 400


def curve(seed: int, n: int = N, flat: slice | None = None) -> np.ndarray:
    """A random walk of equity; ``flat`` sessions repeat the previous value (in cash)."""
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0004, 0.015, n)
    rets[0] = 0.0
    if flat is not None:
        rets[flat] = 0.0
    return 1_000_000 * np.cumprod(1.0 + rets)


def equity(values: np.ndarray, days: list[dt.date] | None = None) -> pl.DataFrame:
    return pl.DataFrame({"date": days or weekdays(len(values)), "value": values})


def test_rolling_sharpe_equals_a_pandas_rolling_reference() -> None:
    values = curve(1, flat=slice(150, 230))  # 80 flat sessions: some windows have no risk
    got = rolling_sharpe(equity(values), window=60)
    rets = pd.Series(values).pct_change().iloc[1:].reset_index(drop=True)
    roll = rets.rolling(60)
    ref = (roll.mean() / roll.std(ddof=1) * math.sqrt(242)).to_numpy()
    sharpe = got.get_column("sharpe").to_numpy().astype(float)
    assert got.height == N - 1 and got.get_column("date")[0] == weekdays(2)[1]
    assert np.isnan(sharpe[:59]).all() and np.isfinite(sharpe[59])
    flat = rets.rolling(60).std().to_numpy() < 1e-12
    assert flat.sum() == 80 - 60 + 1 and np.isnan(sharpe[flat]).all()  # no risk: no ratio
    both = np.isfinite(sharpe) & ~flat
    assert both.sum() == N - 1 - 59 - flat.sum()
    np.testing.assert_allclose(sharpe[both], ref[both], rtol=0, atol=1e-9)


def test_rolling_beta_equals_polyfit_and_cov_on_common_sessions() -> None:
    days = weekdays(N)
    strat = equity(curve(2), days)
    rng = np.random.default_rng(3)
    index = pl.DataFrame({"date": days, "close": 3000 * np.cumprod(1 + rng.normal(0, 0.01, N))})
    index = index.filter(pl.col("date") != days[100])  # a session the index lacks
    got = rolling_beta(strat, index, window=60)
    common = strat.join(index, on="date").sort("date")
    s = np.diff(common["value"].to_numpy()) / common["value"].to_numpy()[:-1]
    b = np.diff(common["close"].to_numpy()) / common["close"].to_numpy()[:-1]
    assert got.height == len(s) == N - 2
    beta = got.get_column("beta").to_numpy().astype(float)
    assert np.isnan(beta[:59]).all()
    for end in range(60, len(s) + 1):
        sw, bw = s[end - 60 : end], b[end - 60 : end]
        slope = np.polyfit(bw, sw, 1)[0]
        assert beta[end - 1] == pytest.approx(slope, abs=1e-9)
        assert beta[end - 1] == pytest.approx(np.cov(sw, bw)[0, 1] / bw.var(ddof=1), abs=1e-9)


def test_rolling_beta_of_a_flat_book_is_zero_and_of_a_flat_index_undefined() -> None:
    days = weekdays(80)
    cash = equity(np.full(80, 1e6), days)
    moving = pl.DataFrame({"date": days, "close": curve(4, 80)})
    assert rolling_beta(cash, moving, window=60)["beta"].drop_nulls().to_list() == [0.0] * 20
    still = pl.DataFrame({"date": days, "close": np.full(80, 3000.0)})
    assert rolling_beta(equity(curve(5, 80), days), still, window=60)["beta"].null_count() == 79


def brute_drawdowns(dates: list[dt.date], values: np.ndarray) -> list[dict[str, object]]:
    """Walk the curve once: a spell opens below the high and closes back at it."""
    spells: list[dict[str, object]] = []
    high, high_at, spell = values[0], 0, None
    for i, v in enumerate(values):
        if spell is None and v < high:
            spell = {"peak_i": high_at, "trough_i": i}
        if spell is not None:
            if v < values[int(spell["trough_i"])]:  # type: ignore[call-overload]
                spell["trough_i"] = i
            if v >= high:
                spell["end_i"] = i
                spells.append(spell)
                spell = None
        if v >= high:
            high, high_at = v, i
    if spell is not None:
        spells.append({**spell, "end_i": None})
    out = []
    for sp in spells:
        p, t, e = int(sp["peak_i"]), int(sp["trough_i"]), sp["end_i"]  # type: ignore[call-overload]
        out.append(
            {
                "peak": dates[p],
                "trough": dates[t],
                "recovery": None if e is None else dates[int(e)],  # type: ignore[call-overload]
                "depth": values[t] / values[p] - 1.0,
                "to_trough": t - p,
                "to_recovery": None if e is None else int(e) - t,  # type: ignore[call-overload]
                "length": (len(values) - 1 if e is None else int(e)) - p,  # type: ignore[call-overload]
            }
        )
    return sorted(out, key=lambda r: r["depth"])[:5]  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("seed", [6, 8, 9, 12])
def test_drawdown_table_equals_a_brute_force_walk(seed: int) -> None:
    values = curve(seed, flat=slice(200, 240))
    values[-30:] = values[-31] * np.linspace(0.99, 0.9, 30)  # ends under water
    days = weekdays(N)
    got = drawdown_table(equity(values, days))
    ref = brute_drawdowns(days, values)
    assert got.height == len(ref) == 5
    for row, want in zip(got.iter_rows(named=True), ref, strict=True):
        assert row == {**want, "depth": pytest.approx(want["depth"], abs=1e-12)}
    worst = performance_metrics(equity(values, days))
    assert got["depth"][0] == pytest.approx(worst["max_drawdown"], abs=1e-12)
    assert str(got["peak"][0]) == worst["max_drawdown_start"]
    assert str(got["trough"][0]) == worst["max_drawdown_trough"]
    end = worst["max_drawdown_end"]
    assert (None if got["recovery"][0] is None else str(got["recovery"][0])) == end


def test_drawdown_table_says_not_recovered_and_counts_to_the_end() -> None:
    values = np.array([100.0, 110, 99, 105, 110, 120, 90, 95, 100])
    got = drawdown_table(equity(values)).to_dicts()
    days = weekdays(9)
    assert got[0] == {
        "peak": days[5],
        "trough": days[6],
        "recovery": None,
        "depth": pytest.approx(-0.25),
        "to_trough": 1,
        "to_recovery": None,
        "length": 3,
    }
    assert got[1]["peak"] == days[1] and got[1]["recovery"] == days[4]
    assert (got[1]["to_trough"], got[1]["to_recovery"], got[1]["length"]) == (1, 2, 3)
    assert drawdown_table(equity(np.array([1.0, 2.0, 3.0]))).height == 0


def test_return_distribution_of_invested_sessions_equals_pandas() -> None:
    values = curve(10, flat=slice(100, 300))
    eq = equity(values).with_columns(positions_value=pl.col("value") * 0.9)
    in_cash = pl.int_range(pl.len()).is_between(99, 298)  # held nothing at those closes
    eq = eq.with_columns(positions_value=pl.when(in_cash).then(0.0).otherwise("positions_value"))
    dist = return_distribution(eq)
    rets = pd.Series(values).pct_change()
    held = rets[(eq["positions_value"].shift(1).fill_null(0.0) > 0).to_numpy()]
    assert dist.sessions == N - 1 and dist.returns.size == len(held) == N - 1 - 200
    np.testing.assert_allclose(dist.returns, held.to_numpy(), atol=0)
    assert dist.mean == pytest.approx(held.mean(), abs=1e-15)
    assert dist.sd == pytest.approx(held.std(), abs=1e-15)
    assert dist.var == pytest.approx(held.quantile(0.05), abs=1e-15)
    assert dist.cvar == pytest.approx(held[held <= held.quantile(0.05)].mean(), abs=1e-15)
    none = return_distribution(equity(np.full(5, 1.0)).with_columns(positions_value=0.0))
    assert none.returns.size == 0 and none.var is None and none.sessions == 4


TRADES = pl.DataFrame(
    {
        "ticker": ["600002.SH", "600001.SH", "600003.SH", "600001.SH", "600004.SH"],
        "entry_date": [3, 1, 3, 8, 9],
        "exit_date": [6, 5, 7, 9, None],
        "shares": [100.0, 200.0, 300.0, 100.0, 100.0],
        "pnl": [500.0, -200.0, 1000.0, 50.0, None],
        "return_pct": [0.05, -0.02, 0.1, 0.005, None],
    }
)


def trades_on(days: list[dt.date]) -> pl.DataFrame:
    return TRADES.with_columns(
        pl.col("entry_date", "exit_date").map_elements(days.__getitem__, return_dtype=pl.Date)
    )


def test_names_held_equals_a_count_per_session() -> None:
    days = weekdays(12)
    trades = trades_on(days)
    got = names_held(pl.Series(days), trades)
    want = [
        sum(
            1
            for t in trades.iter_rows(named=True)
            if t["entry_date"] <= d and (t["exit_date"] is None or d < t["exit_date"])
        )
        for d in days
    ]
    assert got.tolist() == want == [0, 1, 1, 3, 3, 2, 1, 0, 1, 1, 1, 1]
    eq = equity(np.full(12, 100.0), days).with_columns(positions_value=pl.Series([0.0] * 12))
    assert exposure(eq, trades).get_column("names").to_list() == want


def selections_on(days: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ticker": ["600001.SH", "600002.SH", "600003.SH", "600001.SH", "600004.SH"],
            "name": ["甲", "乙", "丙", "甲", "丁"],
            "metal": ["copper", "gold", "copper", "zinc", "gold"],  # 600001 re-tagged later
            "selection_date": [days[0], days[2], days[2], days[7], days[8]],
        }
    )


def test_attribution_adds_up_to_the_total_pnl_with_open_trades_marked() -> None:
    days = weekdays(12)
    listed = trade_list(trades_on(days), selections_on(days), pl.Series(days))
    assert listed["ticker"].to_list() == [
        "600001.SH",
        "600002.SH",
        "600003.SH",
        "600001.SH",
        "600004.SH",
    ]
    assert listed["metal"].to_list() == ["copper", "gold", "copper", "zinc", "gold"]
    assert listed["sessions"].to_list() == [4, 3, 4, 1, 2]  # the open one to the last session
    total = 1_350.0 + 375.0  # the closed trades' P&L and the open one's mark at the end
    by_metal = attribution(listed, total, by="metal")
    assert by_metal.rows() == [
        ("copper", 2, 800.0, 800 / total),
        ("gold", 1, 500.0, 500 / total),
        ("zinc", 1, 50.0, 50 / total),
        (OPEN_AT_END, 1, 375.0, 375 / total),
    ]
    by_ticker = attribution(listed, total, by="ticker", extra=("name", "metal"))
    assert by_ticker["ticker"].to_list()[0] == "600003.SH"
    assert by_ticker.filter(pl.col("ticker") == "600001.SH").row(0) == (
        "600001.SH",
        "甲",
        "copper",
        2,
        -150.0,
        -150.0 / total,
    )
    for frame in (by_metal, by_ticker):
        assert frame["pnl"].sum() == pytest.approx(total, abs=1e-9)
        assert frame["share"].sum() == pytest.approx(1.0, abs=1e-12)


def test_attribution_without_open_trades_has_no_remainder_row() -> None:
    closed = trades_on(weekdays(12)).filter(pl.col("pnl").is_not_null())
    frame = attribution(closed.with_columns(metal=pl.lit("copper")), 1_350.0, by="metal")
    assert frame.rows() == [("copper", 4, 1_350.0, 1.0)]


def test_tear_sheet_of_a_book_in_cash_is_empty_not_an_error() -> None:
    days = weekdays(100)
    cash = equity(np.full(100, 1e6), days).with_columns(positions_value=0.0)
    empty = TRADES.clear().with_columns(pl.col("entry_date", "exit_date").cast(pl.Date))
    index = pl.DataFrame({"date": days, "close": curve(11, 100)})
    sheet = tear_sheet(cash, empty, index=index, selections=None)
    assert sheet.total_pnl == 0.0 and sheet.drawdowns.height == 0 and sheet.trades.height == 0
    assert sheet.rolling["sharpe"].null_count() == 99
    assert sheet.rolling["beta"].drop_nulls().unique().to_list() == [0.0]
    assert sheet.by_metal.height == 0 and sheet.exposure["names"].max() == 0
