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
from screener.thesis.metrics import performance_metrics
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Rebalance, Thesis


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
    if thesis.rebalance is not None:
        metrics["verdict"] = portfolio_verdict(thesis, thesis.rebalance, metrics)
    return metrics


def portfolio_verdict(thesis: Thesis, rebalance: Rebalance, metrics: dict[str, Any]) -> str:
    """A rebalanced portfolio's line: what it held, how it did against the sector and the
    Sharpe. Event-free: without triggers there is no event study to test."""
    s = thesis.select
    sector = (metrics.get("benchmarks") or {}).get(SECTOR_INDEX) or {}
    held = f"top {s.top_n} of the {s.universe} universe by {s.score}"
    return (
        f"{thesis.name}, {metrics['start']}..{metrics['end']}: {held}, rebalanced "
        f"{rebalance.describe()} ({metrics['episodes']} rebalances); annual return "
        f"{_pct(metrics.get('annual_return'))}, Sharpe {_ratio(metrics.get('sharpe'))}, max "
        f"drawdown {_pct(metrics.get('max_drawdown'))}; excess return over {SECTOR_INDEX} "
        f"{_pct(sector.get('excess_return'))} (information ratio "
        f"{_ratio(sector.get('information_ratio'))}); no event study: no trigger events."
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def equity_frame(run: Any) -> pl.DataFrame:
    """The run's daily book: date, value, cash, positions_value."""
    eq = run.equity.with_columns(pl.col("date").cast(pl.Date))
    return eq.with_columns(positions_value=pl.col("value") - pl.col("cash"))


def study(prep: Prepared, thesis: Thesis, compiled: Compiled) -> Any:
    """Event study of the selected names around each trigger (None without episodes, and for
    a rebalanced portfolio: its rebalances are a calendar, not events)."""
    if compiled.selections.height == 0 or thesis.rebalance is not None:
        return None
    picked = compiled.selections.get_column("ticker").unique().implode()
    # the study reads each event's own ticker only: leave the other names out of its joins
    returns = prep.panel.filter(pl.col("ticker").is_in(picked)).select(
        "date", "ticker", ret="ret_1d"
    )
    bench = {
        code: f.sort("date").select("date", ret=pl.col("close").pct_change()).drop_nulls()
        for code, f in prep.benchmarks.items()
    }
    events = compiled.selections.select(event_date="selection_date", ticker="ticker")
    return event_study(returns, bench[MARKET_INDEX], bench[SECTOR_INDEX], events)


def calendar_time(prep: Prepared, compiled: Compiled, equity: pl.DataFrame) -> dict[str, Any]:
    """Calendar-time portfolio: daily returns on sessions with positions, regressed on CSI 300
    with Newey-West errors (overlapping holdings make residuals autocorrelated)."""
    held = equity.sort("date").with_columns(ret=pl.col("value").pct_change())
    held = held.filter(pl.col("positions_value").shift(1) > 0).select("date", "ret")
    market = prep.benchmarks[MARKET_INDEX].sort("date")
    market = market.select("date", ret=pl.col("close").pct_change()).drop_nulls()
    return calendar_time_portfolio(held, market, n_episodes=compiled.episodes.height)
