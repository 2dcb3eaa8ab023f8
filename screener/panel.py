"""Research panel: one long frame per (ticker, session), the only input factors read.

Built in this order (``assemble_panel``):

1. Stock grid. Each ticker gets one row per session of the stock calendar from its first to
   its last bar; bars dated off the calendar are dropped. A session without a bar (vendor files
   omit suspended days) becomes a suspended row: OHLC and prev_close = the last close, volume
   and amount 0, adj_factor and is_st carried from the last bar. So ``shift(n)`` over a ticker
   is always "n sessions ago". A bar without ``amount`` (files with no such column) gets
   close x volume (raw CNY x shares, a little off the vendor's VWAP-based figure) and
   ``amount_estimated`` = True: every factor reading amount (liquidity, surges, Amihud) then
   agrees on one estimate, and the store keeps only what vendors gave.
2. Prices. ``adj_open/high/low/close`` = raw x ``adj_factor`` (后复权, back-adjusted: the past
   never changes when a later dividend arrives; forward adjustment would leak the future).
   ``ret_1d`` = adj_close / previous adj_close - 1 (0 on suspended rows). A null adj_factor is
   carried forward; leading nulls stay null rather than invent a jump.
3. Limits and tradability. Vendor ``up_limit``/``down_limit`` win; where null they come from
   rules (board, ST, date, prev_close). ``rules.tradability`` adds the flags (suspended,
   opened/closed at a limit, one-price bars, can_buy/can_sell at open/close).
4. Static columns from the instrument master: ``board``, ``metal`` (first metal tag) and
   ``sw_l2``.
5. As-of joins on the stock calendar (point_in_time.py): ``sector_close`` (801050.SI) and
   ``market_close`` (000300.SH) enter on their own date; the metal columns come from
   ``point_in_time.metal_prices`` for the metal the stock follows (``metals.metal_of``: its
   first tag that has series). A value is carried forward at most ``max_ffill`` sessions, null
   beyond (a carry never looks ahead to see how long a gap will be). ``metal_close`` is the spliced
   level (its ratios are returns), ``metal_series`` the series that fed the row,
   ``metal_currency`` CNY or USD (a USD series without a known USDCNY), ``metal_age`` the
   sessions since that series' value entered (0 = fresh) and ``metal_stale`` = age > 0.

The first session passed in ``sessions`` cannot see series values dated before it (the
session before it is unknown); ``build_panel`` therefore starts the calendar ``max_ffill + 1``
sessions before the first bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from screener import calendar, metals, rules
from screener.config import Settings
from screener.errors import DataUnavailableError
from screener.point_in_time import asof_on_sessions, metal_prices, session_frame
from screener.schema import BARS_DAILY, MARKET_INDEX, SECTOR_INDEX
from screener.store import Store

PRICE_COLUMNS = ("open", "high", "low", "close")
STATIC_COLUMNS = ("board", "metal", "sw_l2")
PANEL_COLUMNS: tuple[str, ...] = (
    "ticker",
    "date",
    *PRICE_COLUMNS,
    "prev_close",
    "volume",
    "amount",
    "amount_estimated",
    "adj_factor",
    *(f"adj_{c}" for c in PRICE_COLUMNS),
    "ret_1d",
    "is_st",
    "up_limit",
    "down_limit",
    *rules.TRADABILITY_COLUMNS,
    *STATIC_COLUMNS,
    "sector_close",
    "market_close",
    "metal_close",
    "metal_series",
    "metal_currency",
    "metal_stale",
    "metal_age",
)


def build_panel(
    store: Store,
    *,
    tickers: Sequence[str] | None = None,
    start: dt.date,
    end: dt.date,
    settings: Settings,
) -> pl.DataFrame:
    """The panel for ``tickers`` (None: every ticker with bars) from ``start`` to ``end``.

    Reads bars, the instrument master, the two indices and the metal series the tickers need
    (from ``max_ffill_sessions + 1`` sessions before ``start``, so the first rows' as-of values
    are complete), then calls ``assemble_panel``. Columns: ``PANEL_COLUMNS``.
    """
    known = store.sessions() if end > calendar.calendar_end() else ()
    lead = settings.max_ffill_sessions + 1
    before = calendar.sessions(
        start - dt.timedelta(days=2 * lead + 30), start - dt.timedelta(days=1), known=known
    )[-lead:]
    sessions = [*before, *calendar.sessions(start, end, known=known)]
    if not sessions:
        raise DataUnavailableError(f"no trading session between {start} and {end}")
    bars = store.read_bars(tickers, start=start, end=end)
    instruments = store.read_instruments()
    wanted = instruments.filter(
        pl.col("ticker").is_in(bars.get_column("ticker").unique().implode())
    )
    followed = {m for m in map(metals.metal_of, wanted.get_column("metals").to_list()) if m}
    return assemble_panel(
        bars,
        instruments,
        store.read_index([SECTOR_INDEX, MARKET_INDEX], start=sessions[0], end=end),
        store.read_series(metals.series_needed(sorted(followed)), start=sessions[0], end=end),
        sessions=sessions,
        max_ffill=settings.max_ffill_sessions,
        st_switch=settings.st_limit_switch,
    )


def assemble_panel(
    bars: pl.DataFrame,
    instruments: pl.DataFrame,
    index: pl.DataFrame,
    series: pl.DataFrame,
    *,
    sessions: Sequence[dt.date],
    max_ffill: int,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
) -> pl.DataFrame:
    """The panel from in-memory frames (no store): see the module docstring for each step.

    Parameters
    ----------
    bars
        BARS_DAILY columns (missing optional columns are null): ticker, date, raw OHLC, ...
    instruments
        INSTRUMENTS columns; at least ticker, board, sw_l2, metals, list_date.
    index, series
        INDEX_DAILY / SERIES_DAILY rows (index_code or series_id, date, close).
    sessions
        The stock calendar, ascending.
    max_ffill
        Sessions a sector, market or metal value may be carried forward.

    Returns
    -------
    pl.DataFrame
        ``PANEL_COLUMNS``, sorted by (ticker, date).
    """
    if not sessions:
        raise ValueError("assemble_panel needs at least one session")
    cal = session_frame(sessions)
    frame = _stock_grid(_conform_bars(bars), cal)
    frame = _with_static(frame, instruments)
    frame = _with_limits(frame, st_switch)
    frame = rules.tradability(frame)
    frame = frame.with_columns(
        *(pl.col(c).mul(pl.col("adj_factor")).alias(f"adj_{c}") for c in PRICE_COLUMNS)
    ).with_columns(
        (pl.col("adj_close") / pl.col("adj_close").shift(1) - 1).over("ticker").alias("ret_1d")
    )
    frame = _with_indices(frame, index, cal, max_ffill)
    frame = _with_metal(frame, series, cal, max_ffill)
    return frame.select(PANEL_COLUMNS)  # in the grid's (ticker, date) order: joins keep it


def _conform_bars(bars: pl.DataFrame) -> pl.DataFrame:
    return bars.select(
        pl.col(c).cast(t) if c in bars.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in BARS_DAILY.columns.items()
    )


def _stock_grid(bars: pl.DataFrame, cal: pl.DataFrame) -> pl.DataFrame:
    """One row per session between each ticker's first and last bar; gaps become suspended."""
    on_cal = bars.join(cal, on="date", how="inner")
    span = on_cal.group_by("ticker").agg(
        pl.col("_i").min().alias("lo"), pl.col("_i").max(), pl.col("_i").n_unique().alias("n")
    )
    whole = (span["_i"] - span["lo"] + 1 == span["n"]).all() and span["n"].sum() == on_cal.height
    if whole:  # one bar on every session of every span (the usual case): no grid to build
        rest = [c for c in on_cal.columns if c not in ("ticker", "_i", "date")]
        grid = on_cal.select("ticker", "_i", "date", *rest).sort("ticker", "date")
    else:
        grid = (
            span.select(
                "ticker", pl.int_ranges("lo", pl.col("_i") + 1, dtype=pl.UInt32).alias("_i")
            )
            .explode("_i")
            .join(cal, on="_i")
            .join(on_cal.drop("_i"), on=["ticker", "date"], how="left")
            .sort("ticker", "date")
        )
    # a bar without a vendor amount gets close x volume, flagged (the store keeps none)
    estimate = pl.col("close") * pl.col("volume")
    estimated = (pl.col("amount").is_null() & estimate.is_not_null()).alias("amount_estimated")
    carry = ("close", "adj_factor", "is_st")
    if whole and grid.select(pl.any_horizontal(pl.col(carry).is_null().any())).item() is False:
        return grid.with_columns(  # nothing to carry
            pl.col("suspended").fill_null(False),
            pl.coalesce("amount", estimate).alias("amount"),
            estimated,
        )
    missing = pl.col("close").is_null()
    last = pl.col("close").forward_fill().over("ticker")
    grid = grid.with_columns(
        *(pl.when(missing).then(last).otherwise(pl.col(c)).alias(c) for c in PRICE_COLUMNS),
        pl.when(missing).then(0).otherwise(pl.col("volume")).alias("volume"),
        pl.when(missing).then(0.0).otherwise(pl.coalesce("amount", estimate)).alias("amount"),
        estimated,
        (missing | pl.col("suspended").fill_null(False)).alias("suspended"),
        pl.col("adj_factor", "is_st").forward_fill().over("ticker"),
        missing.alias("_missing"),
    )
    prev = pl.col("close").shift(1).over("ticker")
    return grid.with_columns(
        pl.when(pl.col("_missing")).then(prev).otherwise(pl.col("prev_close")).alias("prev_close")
    ).drop("_missing")


def _with_static(frame: pl.DataFrame, instruments: pl.DataFrame) -> pl.DataFrame:
    """Join board, metal (first tag), sw_l2, list_date and the metal followed (``_follows``)."""
    tags = instruments.get_column("metals").to_list()
    static = instruments.select(
        "ticker",
        "board",
        pl.col("metals").list.first().alias("metal"),
        "sw_l2",
        "list_date",
        pl.Series("_follows", [metals.metal_of(t) for t in tags], dtype=pl.String),
    )
    return frame.join(static, on="ticker", how="left", maintain_order="left")


def _with_limits(frame: pl.DataFrame, st_switch: dt.date) -> pl.DataFrame:
    """Fill null limit prices from the rules (vendor limits win); unknown boards get none.

    Only rows missing a limit are computed (vendors usually give them).

    ``session_no`` is known only when the panel starts on the listing day; otherwise the stock
    counts as seasoned (an edge case only for listings a few sessions before the panel).
    """
    need = frame.select(pl.col("up_limit").is_null() | pl.col("down_limit").is_null()).to_series()
    if not need.any():
        return frame
    listed_here = pl.col("list_date") == pl.col("date").first().over("ticker")
    ruled = (
        frame.select(
            "date",
            "is_st",
            "list_date",
            "prev_close",
            "up_limit",
            "down_limit",
            pl.when(pl.col("board").is_in(rules.BOARDS)).then(pl.col("board")).alias("board"),
            pl.when(listed_here)
            .then(pl.int_range(1, pl.len() + 1).over("ticker"))
            .alias("session_no"),
        )
        .with_row_index("_row")
        .filter(need)  # the rules are row-wise once session_no is counted
        .with_columns(rules.limit_pct_expr(st_switch=st_switch))
    )
    up, down = rules.limit_price_exprs(pl.col("prev_close"), pl.col("limit_pct"))
    known = pl.col("board").is_not_null()
    filled = ruled.select(
        "_row",
        pl.coalesce(pl.col("up_limit"), pl.when(known).then(up)).alias("up_limit"),
        pl.coalesce(pl.col("down_limit"), pl.when(known).then(down)).alias("down_limit"),
    )
    rows = filled.get_column("_row")
    return frame.with_columns(
        frame.get_column(c).clone().scatter(rows, filled.get_column(c))
        for c in ("up_limit", "down_limit")
    )


def _with_indices(
    frame: pl.DataFrame, index: pl.DataFrame, cal: pl.DataFrame, max_ffill: int
) -> pl.DataFrame:
    """sector_close and market_close (domestic indices: a close enters its own session)."""
    values = index.select(pl.col("index_code").alias("id"), "date", "close").filter(
        pl.col("id").is_in([SECTOR_INDEX, MARKET_INDEX])
    )
    known = asof_on_sessions(values, cal, lagged=set(), max_ffill=max_ffill)
    for code, name in ((SECTOR_INDEX, "sector_close"), (MARKET_INDEX, "market_close")):
        one = known.filter(pl.col("id") == code).select("date", pl.col("close").alias(name))
        frame = frame.join(one, on="date", how="left", maintain_order="left")
    return frame


def _with_metal(
    frame: pl.DataFrame, series: pl.DataFrame, cal: pl.DataFrame, max_ffill: int
) -> pl.DataFrame:
    """The metal columns of the metal each row follows (``point_in_time.metal_prices``)."""
    followed = frame.get_column("_follows").drop_nulls().unique().sort().to_list()
    known = metal_prices(series, cal, metal_names=followed, max_ffill=max_ffill).select(
        pl.col("metal").alias("_follows"),
        "date",
        metal_close="close",
        metal_series="series_id",
        metal_currency="currency",
        metal_stale="stale",
        metal_age="age",
    )
    return frame.join(known, on=["_follows", "date"], how="left", maintain_order="left")
