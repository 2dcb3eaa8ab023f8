"""Measure: a thesis run's metrics, its event study and its calendar-time portfolio.

``measure`` gives the headline metrics (with the episode count, the costs paid and the two
benchmarks; a rebalanced portfolio's one-line verdict), ``study`` the event study of the
selected names around each trigger, and ``calendar_time`` the portfolio regression with
Newey-West errors. Prices and returns come from the ``Prepared`` data; nothing here reads the
store.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.thesis.compile import Compiled
from screener.thesis.event_study import calendar_time_portfolio, event_study
from screener.thesis.event_windows import EventWindows
from screener.thesis.metrics import performance_metrics
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Thesis


def measure(
    prep: Prepared, thesis: Thesis, compiled: Compiled, run: Any, trades: pl.DataFrame
) -> dict[str, Any]:
    """Headline metrics with the episode count, costs paid and the two benchmarks."""
    equity = equity_frame(run)
    paid = (
        float(
            run.trades.select(pl.sum_horizontal("commission", "stamp_duty", "transfer_fee"))
            .sum()
            .item()
            or 0.0
        )
        if run.trades.height
        else 0.0
    )
    metrics = performance_metrics(
        equity, trades=trades, benchmarks=prep.benchmarks, costs_paid=paid
    )
    metrics["episodes"] = compiled.episodes.height
    metrics["orders_blocked"] = int(run.orders.filter(pl.col("status") == "blocked").height)
    return metrics


def equity_frame(run: Any) -> pl.DataFrame:
    """The run's daily book: date, value, cash, positions_value."""
    eq = run.equity.with_columns(pl.col("date").cast(pl.Date))
    return eq.with_columns(positions_value=pl.col("value") - pl.col("cash"))


def study(prep: Prepared, thesis: Thesis, compiled: Compiled) -> Any:
    """Event study of the selected names around each selection session, its windows set by the
    thesis: the trigger's lookback, the entry fill, the hold (None without episodes, and for a
    rebalanced portfolio: its rebalances are a calendar, not events)."""
    if compiled.selections.height == 0 or thesis.rebalance is not None:
        return None
    picked = compiled.selections.get_column("ticker").unique().implode()
    # the study reads each event's own ticker only: leave the other names out of its joins
    gap = pl.col("adj_open") / pl.col("adj_close").shift(1).over("ticker") - 1.0
    returns = (
        prep.panel.filter(pl.col("ticker").is_in(picked))
        .sort("ticker", "date")
        .select("date", "ticker", ret="ret_1d", gap=gap)
    )
    bench = {
        code: f.sort("date")
        .select(
            "date",
            ret=pl.col("close").pct_change(),
            gap=pl.col("open") / pl.col("close").shift(1) - 1.0,
        )
        .filter(pl.col("ret").is_not_null())
        for code, f in prep.benchmarks.items()
    }
    events = compiled.selections.select(event_date="selection_date", ticker="ticker")
    windows = EventWindows(
        selection=(-max(c.window for c in thesis.trigger.when), 0),
        holding_end=thesis.exit.hold_sessions,
        entry_at=thesis.entry.at,
    )
    return event_study(returns, bench[MARKET_INDEX], bench[SECTOR_INDEX], events, windows=windows)


def calendar_time(prep: Prepared, compiled: Compiled, equity: pl.DataFrame) -> dict[str, Any]:
    """Calendar-time portfolio: daily returns on sessions with positions, regressed on CSI 300
    with Newey-West errors (overlapping holdings make residuals autocorrelated)."""
    held = equity.sort("date").with_columns(ret=pl.col("value").pct_change())
    held = held.filter(pl.col("positions_value").shift(1) > 0).select("date", "ret")
    market = prep.benchmarks[MARKET_INDEX].sort("date")
    market = market.select("date", ret=pl.col("close").pct_change()).drop_nulls()
    return calendar_time_portfolio(held, market, n_episodes=compiled.episodes.height)
