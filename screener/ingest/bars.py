"""A vendor's daily bars -> stored bars: what the file gives, and what the store derives.

Price basis: the store keeps raw prices plus a back-adjustment factor (schema.BARS_DAILY).
Forward-adjusted (前复权, qfq) prices are rejected: they rescale the past with corporate actions
announced later, so they are not point-in-time (ashare_rules.md A8) and break absolute-price
rules (limit prices, lot sizes). ``allow_adjusted=True`` stores them as given with adj_factor
1.0 and no limit prices, and ``detected`` says so.

Given: the prices, volume and amount; prev_close from a 前收盘价 column or implied by a vendor
adj_factor; is_st from an is_st column or the name on each row; limit prices from the file, or
computed from the file's own prev_close (listing days from N/C names or the listing date).
Derived (``derive.py``, over the merged history): the rest of prev_close, adj_factor, suspended.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from screener import rules
from screener.errors import InputError
from screener.ingest import vendor_formats as vf
from screener.ingest.derive import derive_bars, step_counts
from screener.ingest.merge import with_lineage
from screener.schema import BARS_DAILY


def vendor_bars(
    frame: pl.DataFrame,
    basis: str,
    allow_adjusted: bool,
    st_switch: dt.date,
    path: Path,
    detected: dict[str, str],
) -> pl.DataFrame:
    """Stored bar columns: the file's values marked given, the rest derived from this file alone
    (an import derives them again over the merged stored history)."""
    adjusted = basis != "raw"
    if adjusted and not allow_adjusted:
        raise InputError(
            f"prices are {basis} ({detected['price_basis_evidence']}); adjusted prices are not "
            "point-in-time: they rescale the past with corporate actions announced later and "
            "break limit prices and lot sizes",
            path=path,
            field="close",
            hint="import raw (不复权) prices, or pass --allow-adjusted to store them as given",
        )
    frame = _given_prev_close(frame.sort("ticker", "date"), adjusted, detected)
    has_pc = "prev_close" in frame.columns
    # limits are the file's information only when its prev_close and ST status both are
    known_st = "is_st" in frame.columns or _has_values(frame, "name")
    frame = add_bar_flags(frame, st_switch=st_switch, limits=has_pc and known_st, detected=detected)
    if "limits" not in detected:
        detected["limits"] = (
            "none: prices stored as given"
            if adjusted
            else "left to the panel's rules (no prev_close)"
            if not has_pc
            else "left to the panel's rules (no name or is_st column: ST status unknown)"
        )
    given = BARS_DAILY.given_expr(frame.columns)
    bars = with_lineage(frame.with_columns(given.alias("given")), BARS_DAILY)
    bars = derive_bars(bars, source=str(path))
    if adjusted:
        detected["adj_factor"] = f"1.0: prices stored as given ({basis})"
    elif not has_pc:
        detected["adj_factor"] = "1.0: no prev_close column: no corporate-action adjustment"
    else:
        ex_rights, unexplained = step_counts(bars)
        detected["adj_factor"] = (
            "cumulative close[t-1]/prev_close[t] over the ticker's stored history, 1.0 on its "
            f"first bar; this file has {ex_rights} ex-rights step(s) and {unexplained} "
            "prev_close above the previous close (no corporate action explains it; kept)"
        )
    return bars


def _given_prev_close(
    frame: pl.DataFrame, adjusted: bool, detected: dict[str, str]
) -> pl.DataFrame:
    """Keep prev_close only where the file gives it (from its column, or its adj_factor:
    close[t-1] x adj[t-1] / adj[t]); elsewhere the store derives it from the previous close."""
    if not adjusted and _has_values(frame, "prev_close"):
        empty = frame.get_column("prev_close").null_count()
        detected["prev_close"] = "from the file" + (
            f" ({empty} empty: the previous close)" * bool(empty)
        )
        return frame.drop("adj_factor", strict=False)
    frame = frame.drop("prev_close", strict=False)
    if not adjusted and _has_values(frame, "adj_factor"):
        adj, close = pl.col("adj_factor"), pl.col("close")
        implied = (close.shift(1) * adj.shift(1) / adj).over("ticker")
        detected["prev_close"] = "from the file's adj_factor: close[t-1] x adj[t-1] / adj[t]"
        return frame.with_columns(implied.alias("prev_close")).drop("adj_factor")
    detected["prev_close"] = (
        "previous adjusted close" if adjusted else "previous close (no prev_close column)"
    )
    return frame.drop("adj_factor", strict=False)


def add_bar_flags(
    frame: pl.DataFrame,
    *,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
    limits: bool = True,
    detected: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Add ``suspended`` (volume 0), ``is_st`` and limit prices to raw bars with prev_close.

    Values already in the frame win (vendor limit prices are the safer truth on ex-rights days,
    ashare_rules.md A2). ``limits=False`` leaves them null (the panel's rules fill them).
    """
    detected = {} if detected is None else detected
    frame = frame.with_columns((pl.col("volume") == 0).alias("suspended"), _is_st(frame, detected))
    if _has_values(frame, "up_limit") and _has_values(frame, "down_limit"):
        detected["limits"] = "from the file"
        return frame
    if not limits:
        nulls = [pl.lit(None, pl.Float64).alias(c) for c in ("up_limit", "down_limit")]
        return frame.with_columns(nulls)
    return _limits(frame, st_switch, detected)


def _has_values(frame: pl.DataFrame, col: str) -> bool:
    return col in frame.columns and frame.get_column(col).null_count() < frame.height


def _is_st(frame: pl.DataFrame, detected: dict[str, str]) -> pl.Expr:
    if "is_st" in frame.columns and frame.schema["is_st"] == pl.String:
        detected["is_st"] = "from the file"
        flag = pl.col("is_st").str.strip_chars().str.to_lowercase()
        return flag.is_in(["true", "1", "t", "yes", "y"]).alias("is_st")
    if "is_st" in frame.columns:
        detected["is_st"] = "from the file"
        return pl.col("is_st").cast(pl.Boolean)
    if _has_values(frame, "name"):
        detected["is_st"] = "from the name on each row ('ST' in it)"
        return pl.col("name").str.to_uppercase().str.contains("ST", literal=True).alias("is_st")
    detected["is_st"] = "unknown (no name column): limit prices assume not ST"
    return pl.lit(None, pl.Boolean).alias("is_st")


def _limits(frame: pl.DataFrame, st_switch: dt.date, detected: dict[str, str]) -> pl.DataFrame:
    """Official limit prices from prev_close with rules.limit_pct (exact half-up to the fen).

    A name starting with N marks a listing day (session 1) and C a registration listing's
    first sessions; both trade without a limit. A ``list_date`` column equal to a ticker's first
    bar numbers its sessions from 1. Otherwise every bar counts as seasoned.
    """
    name = pl.col("name") if "name" in frame.columns else pl.lit(None, pl.String)
    listed = pl.col("list_date") if "list_date" in frame.columns else pl.lit(None, pl.Date)
    from_listing = pl.when(pl.col("date").first().over("ticker") == listed).then(
        pl.int_range(1, pl.len() + 1).over("ticker")
    )
    by_name = pl.when(name.str.starts_with("N")).then(1).when(name.str.starts_with("C")).then(2)
    helpers = ("board", "session_no", "list_date", "limit_pct")
    out = frame.sort("ticker", "date").with_columns(
        vf.board_of(pl.col("ticker")).alias("board"),
        pl.coalesce(from_listing, by_name).cast(pl.Int64).alias("session_no"),
        listed.alias("list_date"),
    )
    out = rules.with_limit_prices(rules.with_limit_pct(out, st_switch=st_switch))
    detected["limits"] = (
        "computed from prev_close with rules.limit_pct (board from the code; none before "
        f"{rules.PRICE_LIMITS_FROM}, on N-named listing days, C-named registration days and, "
        "where the file starts on the listing date, the first sessions of a listing)"
    )
    return out.drop(helpers)
