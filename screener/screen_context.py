"""What a screen's readers need beside the ranking, read from the store here so that reports
never read it: the metal series' moves (and which metals each feeds), the 801050.SI drawdown
from its 250-session high and its recent closes, 60 sessions of adjusted closes per ranked name
for sparklines, and warnings about stale data and names that did not trade.

``screen_report`` returns a frozen ``ScreenReport``; ``report/screen_view.py`` renders it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from screener import metals
from screener.config import Settings
from screener.schema import SECTOR_INDEX
from screener.screen import ScreenResult
from screener.store import Store

SPARK_SESSIONS = 60
MOVE_WINDOWS = (1, 5, 20)
DRAWDOWN_SESSIONS = 250
CLOSES_SCHEMA = {"ticker": pl.String, "date": pl.Date, "adj_close": pl.Float64}


@dataclass(frozen=True)
class ScreenReport:
    """Everything a rendered screen shows; built by ``screen_report``, rendered in report/.

    ``metal_moves``: metals, series_id, in_use, date, close, chg_1d, chg_5d, chg_20d
    (fractions); see ``metal_moves``.
    ``closes``: ticker, date, adj_close over the last 60 sessions of each ranked name.
    ``sector_drawdown``: 801050.SI close over its 250-session high, minus 1 (<= 0).
    Hand-made reports (tests, e-mail previews) may build one directly.
    """

    result: ScreenResult
    store_path: str
    synthetic: bool
    metal_moves: pl.DataFrame
    sector_close: float | None
    sector_drawdown: float | None
    closes: pl.DataFrame
    warnings: tuple[str, ...]


def screen_report(store: Store, result: ScreenResult, settings: Settings) -> ScreenReport:
    """Gather the context of a screen: metal moves, sector drawdown, sparklines, warnings."""
    as_of = result.as_of
    warnings: list[str] = []
    sector: tuple[float | None, float | None, dt.date | None] = (None, None, None)
    moves, closes = _empty_moves(), pl.DataFrame(schema=CLOSES_SCHEMA)
    if as_of is None:
        warnings.append(f"no bars on or before {result.on}: nothing to screen")
    else:
        if as_of < result.on:
            warnings.append(f"{result.on} is not a session in the store: data are from {as_of}")
        moves = metal_moves(store, as_of, max_ffill=settings.max_ffill_sessions)
        closes = _closes(store, result.ranked["ticker"].to_list(), as_of)
        sector = _sector(store, as_of)
        warnings += _stale(store, moves, sector[2], as_of, settings.max_ffill_sessions)
        warnings += _halted(result)
    return ScreenReport(
        result=result,
        store_path=str(store.path),
        synthetic=store.get_meta("data_source") == "demo",
        metal_moves=moves,
        sector_close=sector[0],
        sector_drawdown=sector[1],
        closes=closes,
        warnings=tuple(warnings),
    )


def _empty_moves() -> pl.DataFrame:
    head = {"metals": pl.String, "series_id": pl.String, "in_use": pl.String, "date": pl.Date}
    head |= {"close": pl.Float64}
    return pl.DataFrame(schema={**head, **{f"chg_{k}d": pl.Float64 for k in MOVE_WINDOWS}})


def metal_moves(store: Store, as_of: dt.date, *, max_ffill: int) -> pl.DataFrame:
    """Every metal series in the store: its change over 1, 5 and 20 of its own observations as
    known on ``as_of``, the metals it serves and (``in_use``) those it feeds on ``as_of``.

    Venues that settle after the Beijing close (LME, COMEX, FX) count only values dated before
    ``as_of``. ``in_use`` comes from ``point_in_time.metal_prices``, as the panel's; a USD series
    fed without a known USDCNY is marked "(USD)". Rows in the order of ``metals.METAL_SERIES``.
    """
    from screener.point_in_time import read_metal_prices

    ids = list(dict.fromkeys(s for chain in metals.METAL_SERIES.values() for s in chain))
    start = as_of - dt.timedelta(days=3 * max(MOVE_WINDOWS) + 40)
    series = store.read_series(ids, start=start, end=as_of)
    lagged = [s for s in ids if metals.known_next_session(s)]
    known = series.filter(
        pl.when(pl.col("series_id").is_in(lagged))
        .then(pl.col("date") < as_of)
        .otherwise(pl.col("date") <= as_of)
    ).select("series_id", "date", close=pl.coalesce("close", "settle"))
    changes = [
        (pl.col("close") / pl.col("close").shift(k) - 1).over("series_id").alias(f"chg_{k}d")
        for k in MOVE_WINDOWS
    ]
    last = known.drop_nulls("close").sort("series_id", "date").with_columns(changes)
    last = last.group_by("series_id", maintain_order=True).last()
    sessions = [d for d in store.sessions() if d <= as_of][-(max_ffill + 2) :]
    fed = read_metal_prices(store, metals.METALS, sessions, max_ffill=max_ffill).filter(
        (pl.col("date") == as_of) & pl.col("close").is_not_null()
    )
    usd = pl.col("currency") == "USD"
    label = pl.when(usd).then(pl.col("metal") + " (USD)").otherwise("metal")
    in_use = fed.group_by("series_id", maintain_order=True).agg(in_use=label.str.join(", "))
    order = pl.DataFrame(
        {"series_id": ids, "metals": [", ".join(metals.metals_served(s)) for s in ids]}
    )
    return (
        order.join(last, on="series_id", how="inner", maintain_order="left")
        .join(in_use, on="series_id", how="left", maintain_order="left")
        .select(_empty_moves().columns)
    )


def _sector(store: Store, as_of: dt.date) -> tuple[float | None, float | None, dt.date | None]:
    """801050.SI close on its last date <= as_of, its drawdown from the 250-session high."""
    start = as_of - dt.timedelta(days=2 * DRAWDOWN_SESSIONS)
    index = store.read_index([SECTOR_INDEX], start=start, end=as_of).drop_nulls("close")
    if index.height == 0:
        return None, None, None
    closes = index["close"].tail(DRAWDOWN_SESSIONS)
    last = float(closes[-1])
    return last, last / float(closes.max()) - 1, index["date"][-1]  # type: ignore[arg-type]


def _closes(store: Store, tickers: list[str], as_of: dt.date) -> pl.DataFrame:
    """Adjusted closes of the last ``SPARK_SESSIONS`` bars of each ticker, for sparklines."""
    start = as_of - dt.timedelta(days=2 * SPARK_SESSIONS + 30)
    bars = store.read_bars(tickers, start=start, end=as_of)
    return (
        bars.select("ticker", "date", adj_close=pl.col("close") * pl.col("adj_factor"))
        .group_by("ticker", maintain_order=True)
        .tail(SPARK_SESSIONS)
    )


def _stale(
    store: Store, moves: pl.DataFrame, sector_date: dt.date | None, as_of: dt.date, limit: int
) -> list[str]:
    """A series (or the sector index) whose last value is more than ``limit`` sessions old."""
    sessions = [d for d in store.sessions() if d <= as_of]

    def age(day: dt.date) -> int:
        return sum(1 for d in sessions if d > day)

    out = []
    if sector_date is None:
        out.append(f"no {SECTOR_INDEX} data on or before {as_of}")
    elif age(sector_date) > limit:
        out.append(f"{SECTOR_INDEX} is stale: last value {sector_date}")
    for sid, day in moves.select("series_id", "date").iter_rows():
        if age(day) > limit + 1:  # +1: after-close venues are a session behind by design
            out.append(f"{sid} is stale: last value {day}, {age(day)} sessions before {as_of}")
    return out


def _halted(result: ScreenResult) -> list[str]:
    """Universe names that did not trade on the screen date."""
    halted = result.excluded.filter(pl.col("reason").str.contains("suspended|no bar"))
    if halted.height == 0:
        return []
    names = ", ".join(
        f"{t} {n or ''}".strip() for t, n in halted.select("ticker", "name").iter_rows()
    )
    return [f"{halted.height} universe name(s) did not trade on {result.as_of}: {names}"]


def sector_closes(store: Store, as_of: dt.date, *, sessions: int = SPARK_SESSIONS) -> pl.DataFrame:
    """801050.SI (date, close) over its last ``sessions`` dates up to ``as_of``, for the chart."""
    start = as_of - dt.timedelta(days=2 * sessions + 30)
    index = store.read_index([SECTOR_INDEX], start=start, end=as_of).drop_nulls("close")
    return index.sort("date").select("date", "close").tail(sessions)
