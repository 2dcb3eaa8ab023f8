"""Data out: a run's daily equity and returns, its book and its trade list, as frames and as
Parquet and CSV files, so the run can be read by pandas, quantstats, empyrical or a spreadsheet.

Everything is derived from a run's frames (``record.FRAMES``: those of a ``BacktestResult`` or
of a recorded run) by the functions that made them, so a run exported now and one exported
from the store are the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from screener.errors import ScreenerError
from screener.thesis.metrics import COST_KINDS, round_trips

# The exported tables, in the order they are written.
TABLES = ("equity", "returns", "positions", "trades")


def export_tables(frames: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The exported tables of a backtest's frames (``positions`` only when the run kept it:
    runs recorded before it was stored have none)."""
    if "equity" not in frames or "orders" not in frames:
        raise ScreenerError(
            "only a backtest has equity, positions and trades to export",
            hint="a sweep's table: `screener runs show RUN_ID` or `screener sweep --format csv`",
        )
    equity = equity_table(frames["equity"])
    tables = {"equity": equity, "returns": equity.select("date", "returns").drop_nulls()}
    if "positions" in frames:
        tables["positions"] = frames["positions"]
    tables["trades"] = trade_list(
        frames["orders"],
        holdings=frames.get("holdings"),
        selections=frames.get("selections"),
        sessions=equity.get_column("date"),
    )
    return tables


def equity_table(equity: pl.DataFrame) -> pl.DataFrame:
    """date, value, cash, positions_value and ``returns``: the simple daily return of the book
    (value over the previous session's value, less one; null on the first session), the form
    quantstats and empyrical take."""
    return equity.sort("date").with_columns(returns=pl.col("value").pct_change())


def trade_list(
    orders: pl.DataFrame,
    *,
    holdings: pl.DataFrame | None,
    selections: pl.DataFrame | None,
    sessions: pl.Series,
) -> pl.DataFrame:
    """Every round trip (``metrics.round_trips`` of the order log), with the name, why it was
    sold, how many sessions it was held and its costs by kind.

    Prices are per share bought and net of costs, so ``pnl`` is (exit - entry) x shares.
    ``exit_reason``: the exit rule of the holding whose exit signal preceded the sale
    (``compile.EXIT_REASONS``), ``open`` for a trip still held at the end, null for runs
    recorded before reasons were kept. ``holding_sessions``: sessions from entry to exit (to
    the last session while open).
    """
    index = pl.DataFrame({"date": sessions, "_i": pl.int_range(len(sessions), eager=True)})
    trips = round_trips(orders).sort("entry_date", "ticker")
    trips = trips.join(index.rename({"date": "entry_date"}), on="entry_date", how="left")
    trips = trips.join(
        index.rename({"date": "exit_date", "_i": "_j"}), on="exit_date", how="left"
    ).with_columns(
        holding_sessions=pl.col("_j").fill_null(len(sessions) - 1) - pl.col("_i"),
        costs=pl.sum_horizontal(COST_KINDS),
    )
    trips = _with_reasons(_with_names(trips, selections), holdings)
    return trips.select(
        "ticker",
        "name",
        "entry_date",
        "entry_price",
        "exit_date",
        "exit_price",
        "exit_reason",
        "holding_sessions",
        "shares",
        *COST_KINDS,
        "costs",
        "pnl",
        "return_pct",
    )


def _with_names(trips: pl.DataFrame, selections: pl.DataFrame | None) -> pl.DataFrame:
    if selections is None or "name" not in selections.columns:
        return trips.with_columns(name=pl.lit(None, pl.String))
    names = selections.select("ticker", "name").unique("ticker", keep="first")
    return trips.join(names, on="ticker", how="left", maintain_order="left")


def _with_reasons(trips: pl.DataFrame, holdings: pl.DataFrame | None) -> pl.DataFrame:
    """The reason of the latest exit signal of the ticker before the trip's sale."""
    if holdings is None or "exit_reason" not in holdings.columns:
        reason = pl.when(pl.col("exit_date").is_null()).then(pl.lit("open"))
        return trips.with_columns(exit_reason=reason.otherwise(None))
    exits = (
        holdings.filter(pl.col("exit_signal_date").is_not_null())
        .select("ticker", "exit_signal_date", "exit_reason")
        .sort("exit_signal_date")
    )
    closed = trips.filter(pl.col("exit_date").is_not_null()).sort("exit_date")
    closed = closed.join_asof(
        exits,
        left_on="exit_date",
        right_on="exit_signal_date",
        by="ticker",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,  # sorted by exit_date, so within every ticker too
    )
    still = trips.filter(pl.col("exit_date").is_null()).with_columns(exit_reason=pl.lit("open"))
    return pl.concat([closed.drop("exit_signal_date"), still], how="diagonal_relaxed").sort(
        "entry_date", "ticker"
    )


def write_tables(
    tables: Mapping[str, pl.DataFrame], directory: Path, *, synthetic: bool
) -> list[Path]:
    """Each table as ``NAME.parquet`` and ``NAME.csv`` in ``directory`` (made if missing);
    from a demo store each file has a ``synthetic`` column. Returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        out = table.with_columns(synthetic=pl.lit(True)) if synthetic else table
        for path in (directory / f"{name}.parquet", directory / f"{name}.csv"):
            out.write_parquet(path) if path.suffix == ".parquet" else out.write_csv(path)
            written.append(path)
    return written
