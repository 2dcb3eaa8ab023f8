"""A backtest's tear sheet in numbers: rolling risk, drawdowns, returns, exposure, attribution.

Pure functions of the frames a run records (equity, trades, selections, the sector index), so
a recorded run's page shows what the live run showed; the report renders what ``tear_sheet``
returns and computes nothing. Returns are simple session returns of the equity curve and
annualise with ``metrics.SESSIONS_PER_YEAR``, as the headline metrics do.

- ``rolling_sharpe`` / ``rolling_beta``: over the last ``window`` session returns; null until
  the window is full and where the deviation is float noise (a flat, uninvested stretch).
- ``drawdown_table``: every underwater spell (peak = last session at the running high, trough,
  recovery = first session back at the peak), the deepest first; the first row is the headline
  ``max_drawdown`` of ``metrics``.
- ``return_distribution``: returns of the sessions invested at the previous close (a book mostly
  in cash would otherwise show little but a spike at zero), with historical VaR and CVaR.
- ``attribution``: closed trades' P&L (after costs) summed by metal and by ticker. Trades still
  open at the end have no P&L of their own; their mark-to-market is the remainder of the total,
  shown as its own row, so each table adds up to the equity curve's P&L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from screener.thesis.metrics import SESSIONS_PER_YEAR, names_held

WINDOW = 60  # sessions: about a quarter
TOP_DRAWDOWNS = 5
VAR_LEVEL = 0.95
OPEN_AT_END = "open at the end (marked to market)"
OUTSIDE_TRIPS = "outside the round trips"
UNKNOWN_METAL = "unknown"
_ZERO_SD = 1e-12  # as metrics: a smaller deviation is float noise, the ratio is undefined
_ROOT = math.sqrt(SESSIONS_PER_YEAR)


@dataclass(frozen=True)
class Distribution:
    """Session returns (invested sessions) and their summary; VaR and CVaR are returns (< 0)."""

    returns: np.ndarray
    sessions: int  # all sessions with a return, invested or not
    mean: float | None
    sd: float | None
    var: float | None  # the (1 - level) quantile, linear interpolation
    cvar: float | None  # mean of the returns at or below the VaR
    level: float = VAR_LEVEL


@dataclass(frozen=True)
class TearSheet:
    """Everything the fuller tear sheet shows, computed once."""

    rolling: pl.DataFrame  # date, sharpe, beta
    drawdowns: pl.DataFrame  # peak, trough, recovery, depth, to_trough, to_recovery, length
    distribution: Distribution
    exposure: pl.DataFrame  # date, invested (fraction of equity), names
    by_metal: pl.DataFrame  # metal, trades, pnl, share
    by_ticker: pl.DataFrame  # ticker, name, metal, trades, pnl, share
    trades: pl.DataFrame  # every round trip by entry date, with name, metal and sessions held
    total_pnl: float
    window: int = WINDOW


def session_returns(equity: pl.DataFrame) -> pl.DataFrame:
    """(date, ret): the equity curve's simple return into each session after the first."""
    eq = equity.sort("date").select("date", value=pl.col("value").cast(pl.Float64))
    return eq.select("date", ret=pl.col("value") / pl.col("value").shift(1) - 1.0).slice(1)


def _rolling(ratio: np.ndarray, window: int, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if ratio.size:
        out[window - 1 :] = ratio
    return out


def rolling_sharpe(equity: pl.DataFrame, *, window: int = WINDOW) -> pl.DataFrame:
    """(date, sharpe): annualised mean over deviation (ddof 1) of the last ``window`` returns."""
    rets = session_returns(equity)
    x = rets.get_column("ret").to_numpy()
    ratio = np.empty(0)
    if x.size >= window:
        w = sliding_window_view(x, window)
        sd = w.std(axis=1, ddof=1)
        ok = sd >= _ZERO_SD
        ratio = np.divide(w.mean(axis=1), sd, out=np.full(sd.size, np.nan), where=ok) * _ROOT
    values = _rolling(ratio, window, x.size)
    return rets.select("date", sharpe=pl.Series(values).fill_nan(None))


def rolling_beta(
    equity: pl.DataFrame, index: pl.DataFrame, *, window: int = WINDOW
) -> pl.DataFrame:
    """(date, beta): OLS slope of strategy on ``index`` (date, close) returns, last ``window``
    common sessions; null where the index barely moved."""
    joined = (
        equity.select("date", s=pl.col("value").cast(pl.Float64))
        .join(index.select("date", b=pl.col("close").cast(pl.Float64)), on="date", how="inner")
        .drop_nulls()
        .sort("date")
        .select("date", s=pl.col("s").pct_change(), b=pl.col("b").pct_change())
        .slice(1)
    )
    s, b = joined.get_column("s").to_numpy(), joined.get_column("b").to_numpy()
    slope = np.empty(0)
    if s.size >= window:
        ws, wb = sliding_window_view(s, window), sliding_window_view(b, window)
        db = wb - wb.mean(axis=1, keepdims=True)
        var = (db**2).sum(axis=1)
        cov = (db * (ws - ws.mean(axis=1, keepdims=True))).sum(axis=1)
        ok = np.sqrt(var / (window - 1)) >= _ZERO_SD
        slope = np.divide(cov, var, out=np.full(var.size, np.nan), where=ok)
    return joined.select("date", beta=pl.Series(_rolling(slope, window, s.size)).fill_nan(None))


def drawdown_table(equity: pl.DataFrame, *, top: int = TOP_DRAWDOWNS) -> pl.DataFrame:
    """The ``top`` deepest underwater spells, deepest first: peak, trough and recovery dates
    (recovery null when not recovered), depth (< 0) and their lengths in sessions (``length``
    runs to the last session when not recovered)."""
    eq = equity.sort("date")
    dates = eq.get_column("date").to_list()
    values = eq.get_column("value").cast(pl.Float64).to_numpy()
    peak = np.maximum.accumulate(values)
    under = values < peak
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    rows = []
    for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        top_at = first - 1  # the session before the spell closed at the running high
        trough = first + int(np.argmin(values[first:stop]))
        recovered = stop < len(values)
        rows.append(
            {
                "peak": dates[top_at],
                "trough": dates[trough],
                "recovery": dates[stop] if recovered else None,
                "depth": float(values[trough] / peak[top_at] - 1.0),
                "to_trough": trough - top_at,
                "to_recovery": stop - trough if recovered else None,
                "length": (stop if recovered else len(values) - 1) - top_at,
            }
        )
    schema = {"peak": pl.Date, "trough": pl.Date, "recovery": pl.Date, "depth": pl.Float64}
    schema |= dict.fromkeys(("to_trough", "to_recovery", "length"), pl.Int64)
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.sort("depth", "peak").head(top)


def return_distribution(equity: pl.DataFrame, *, level: float = VAR_LEVEL) -> Distribution:
    """Returns of the sessions that began invested (all of them without ``positions_value``)."""
    eq = equity.sort("date").with_columns(ret=pl.col("value") / pl.col("value").shift(1) - 1.0)
    invested = pl.col("positions_value").shift(1).fill_null(0.0).abs() > 0.0
    held = eq.filter(invested) if "positions_value" in eq.columns else eq.slice(1)
    x = held.get_column("ret").drop_nulls().to_numpy()
    sessions = eq.height - 1
    if x.size == 0:
        return Distribution(x, sessions, None, None, None, None, level)
    var = float(np.quantile(x, 1.0 - level))
    sd = float(x.std(ddof=1)) if x.size > 1 else None
    return Distribution(x, sessions, float(x.mean()), sd, var, float(x[x <= var].mean()), level)


def exposure(equity: pl.DataFrame, trades: pl.DataFrame) -> pl.DataFrame:
    """(date, invested, names): positions over equity at each close (null when the curve does
    not carry ``positions_value``), and the names held."""
    eq = equity.sort("date")
    invested = pl.lit(None, pl.Float64)
    if "positions_value" in eq.columns:
        invested = (pl.col("positions_value") / pl.col("value")).fill_null(0.0)
    names = names_held(eq.get_column("date"), trades)
    return eq.select("date", invested=invested, names=pl.Series(names))


def metal_of(trades: pl.DataFrame, selections: pl.DataFrame | None) -> pl.DataFrame:
    """``trades`` with the name and metal each ticker had when last selected before entry."""
    known = selections is not None and {"metal", "selection_date"} <= set(selections.columns)
    if not known or selections is None:
        return trades.with_columns(name=pl.lit(None, pl.String), metal=pl.lit(UNKNOWN_METAL))
    picked = selections.select(
        "ticker",
        "selection_date",
        name=pl.col("name") if "name" in selections.columns else pl.lit(None, pl.String),
        metal=pl.col("metal").cast(pl.String),
    ).sort("selection_date")
    joined = (
        trades.with_row_index("_i")
        .sort("entry_date")
        .join_asof(
            picked,
            left_on="entry_date",
            right_on="selection_date",
            by="ticker",
            strategy="backward",
            check_sortedness=False,  # both sides are sorted on their dates above
        )
    )
    filled = joined.with_columns(pl.col("metal").fill_null(UNKNOWN_METAL))
    return filled.sort("_i").drop("_i", "selection_date")


def trade_list(
    trades: pl.DataFrame, selections: pl.DataFrame | None, days: pl.Series
) -> pl.DataFrame:
    """Every round trip by entry date (then ticker), with name, metal and the sessions held
    (entry to exit; an open trip to the last session)."""
    named = metal_of(trades, selections)
    sessions = days.sort().to_numpy()
    entry = np.searchsorted(sessions, named.get_column("entry_date").to_numpy())
    exit_ = named.get_column("exit_date").fill_null(days.max()).to_numpy()
    held = np.searchsorted(sessions, exit_) - entry
    first = ["ticker", "name", "metal", "entry_date", "exit_date"]
    rest = [c for c in trades.columns if c not in first]
    out = named.with_columns(sessions=pl.Series(held, dtype=pl.Int64))
    return out.select(*first, "sessions", *rest).sort("entry_date", "ticker")


def attribution(
    trades: pl.DataFrame, total_pnl: float, *, by: str, extra: tuple[str, ...] = ()
) -> pl.DataFrame:
    """(by, *extra, trades, pnl, share) of the closed trades, largest P&L first, then the
    remainder of ``total_pnl`` as its own row: the column sums to ``total_pnl``."""
    closed = trades.filter(pl.col("pnl").is_not_null())
    grouped = closed.group_by(by, maintain_order=True).agg(
        *(pl.col(c).first() for c in extra), trades=pl.len(), pnl=pl.col("pnl").sum()
    )
    grouped = grouped.sort("pnl", by, descending=[True, False])
    rest = total_pnl - float(closed.get_column("pnl").sum())
    still_open = trades.height - closed.height
    if still_open or abs(rest) > 1e-6 * max(1.0, abs(total_pnl)):
        label = OPEN_AT_END if still_open else OUTSIDE_TRIPS
        row = {by: label, **dict.fromkeys(extra), "trades": still_open, "pnl": rest}
        grouped = pl.concat([grouped, pl.DataFrame([row], schema=grouped.schema)])
    share = pl.col("pnl") / total_pnl if total_pnl else pl.lit(None, pl.Float64)
    return grouped.with_columns(pl.col("trades").cast(pl.Int64), share=share)


def tear_sheet(
    equity: pl.DataFrame,
    trades: pl.DataFrame,
    *,
    index: pl.DataFrame | None,
    selections: pl.DataFrame | None,
    window: int = WINDOW,
) -> TearSheet:
    """The whole tear sheet of one run; ``index`` (date, close) is the beta's benchmark."""
    eq = equity.sort("date")
    values = eq.get_column("value").cast(pl.Float64)
    total = float(values[-1] - values[0])
    rolling = rolling_sharpe(eq, window=window)
    beta = (
        rolling_beta(eq, index, window=window)
        if index is not None
        else rolling.select("date", beta=pl.lit(None, pl.Float64))
    )
    listed = trade_list(trades, selections, eq.get_column("date"))
    return TearSheet(
        rolling=rolling.join(beta, on="date", how="left"),
        drawdowns=drawdown_table(eq),
        distribution=return_distribution(eq),
        exposure=exposure(eq, trades),
        by_metal=attribution(listed, total, by="metal"),
        by_ticker=attribution(listed, total, by="ticker", extra=("name", "metal")),
        trades=listed,
        total_pnl=total,
        window=window,
    )
