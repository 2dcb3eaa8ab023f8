"""The tear sheet of the dip thesis on the real 2015-2022 market (../shared/realdata).

Checked against what the run itself knows independently: the executor's book (names held at a
close iff the book holds positions), the headline drawdown, the executed P&L, and numpy
references for the last rolling window.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener.report.assemble import write_backtest_report
from screener.schema import SECTOR_INDEX
from screener.thesis.record import BacktestResult
from screener.thesis.tearsheet import OPEN_AT_END, UNKNOWN_METAL, TearSheet, tear_sheet


@pytest.fixture(scope="module")
def sheet(real_dip_run: BacktestResult) -> TearSheet:
    r = real_dip_run
    index = r.benchmarks[SECTOR_INDEX]
    return tear_sheet(r.equity, r.trades, index=index, selections=r.compiled.selections)


def test_attribution_adds_up_to_the_equity_pnl(real_dip_run: BacktestResult, sheet: TearSheet):
    values = real_dip_run.equity.get_column("value")
    total = values[-1] - values[0]
    trades = real_dip_run.trades
    assert trades.height >= 20  # several real crashes, up to ten names each
    still_open = trades.filter(pl.col("exit_date").is_null()).height
    closed = trades.get_column("pnl").sum()
    if still_open == 0:  # the executed trades alone explain the equity curve
        assert closed == pytest.approx(total, abs=1e-6)
    for frame in (sheet.by_metal, sheet.by_ticker):
        assert frame.get_column("pnl").sum() == pytest.approx(total, abs=1e-6)
        assert frame.get_column("trades").sum() == trades.height
        assert (OPEN_AT_END in frame.get_column(frame.columns[0]).to_list()) == (still_open > 0)
    assert UNKNOWN_METAL not in sheet.by_metal.get_column("metal").to_list()
    assert sheet.by_metal.height >= 3  # the sector's names span several metals


def held_by_orders(orders: pl.DataFrame, days: pl.Series) -> list[int]:
    """Names with shares at each close, summed from the order log (fills and corporate
    actions): a count that never looks at the round trips."""
    done = orders.filter(pl.col("status").is_in(["filled", "corporate_action"]))
    signed = pl.when(pl.col("side") == "buy").then("shares").otherwise(-pl.col("shares"))
    daily = done.group_by("ticker", "date").agg(delta=signed.sum()).sort("ticker", "date")
    shares = daily.with_columns(held=pl.col("delta").cum_sum().over("ticker"))
    grid = pl.DataFrame({"date": days}).join(shares.select("ticker").unique(), how="cross")
    filled = grid.sort("ticker", "date").join_asof(
        shares.select("ticker", "date", "held"), on="date", by="ticker", check_sortedness=False
    )
    counts = filled.group_by("date").agg(names=(pl.col("held").fill_null(0.0) > 1e-6).sum())
    return counts.sort("date").get_column("names").to_list()


def test_names_held_agree_with_the_executed_book(real_dip_run: BacktestResult, sheet: TearSheet):
    days = real_dip_run.equity.sort("date").get_column("date")
    names = sheet.exposure.get_column("names")
    assert names.to_list() == held_by_orders(real_dip_run.orders, days)
    book = real_dip_run.equity.sort("date").get_column("positions_value") > 0
    assert ((names > 0) == book).all() and names.max() >= 10
    invested = sheet.exposure.get_column("invested")
    assert invested.min() == 0.0 and 0.5 < invested.max() <= 1.0


def test_drawdowns_and_rolling_numbers_match_the_run(
    real_dip_run: BacktestResult, sheet: TearSheet
) -> None:
    m = real_dip_run.metrics
    worst = sheet.drawdowns.row(0, named=True)
    assert worst["depth"] == pytest.approx(m["max_drawdown"], abs=1e-12)
    assert str(worst["peak"]) == m["max_drawdown_start"]
    assert str(worst["trough"]) == m["max_drawdown_trough"]
    assert sheet.drawdowns.get_column("depth").is_sorted()
    eq = real_dip_run.equity.sort("date")
    index = real_dip_run.benchmarks[SECTOR_INDEX]
    joined = eq.join(index, on="date").sort("date")
    s = joined.get_column("value").pct_change().to_numpy()[-60:]
    b = joined.get_column("close").pct_change().to_numpy()[-60:]
    last = sheet.rolling.row(-1, named=True)
    if s.std(ddof=1) > 1e-12:
        assert last["sharpe"] == pytest.approx(s.mean() / s.std(ddof=1) * math.sqrt(242), abs=1e-9)
    assert last["beta"] == pytest.approx(np.polyfit(b, s, 1)[0], abs=1e-9)
    finite = sheet.rolling.get_column("beta").drop_nulls()
    assert finite.len() > 1000 and 0.0 <= finite.max() < 3.0


def test_the_page_lists_every_trade_and_writes_them_beside_it(
    real_dip_run: BacktestResult, tmp_path: Path
) -> None:
    page = write_backtest_report(real_dip_run, tmp_path).read_text("utf-8")
    listed = pl.read_csv(tmp_path / f"backtest_{real_dip_run.run_id}_trades.csv")
    assert listed.height == real_dip_run.trades.height
    assert listed.get_column("entry_date").is_sorted()
    body = page.split('<section id="trades">')[1].split("</section>")[0]
    assert body.count("<tr>") == 1 + listed.height
    for section in ("rolling", "drawdowns", "distribution", "exposure", "attribution"):
        assert f'<section id="{section}">' in page
