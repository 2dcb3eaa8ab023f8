"""``screener update``: bring a store up to a session with what it already follows.

A demo store is extended by regenerating the synthetic market to the new end date, which
leaves every earlier row as it was. Any other store is extended from akshare, name by name:
each stock, Shenwan index and SHFE/GFEX series already in the store gets the rows after its
last stored date. Everything is fetched and checked first, then written in one transaction,
so a source that fails leaves the store unchanged. Series akshare does not carry (LME, COMEX,
FX, SMM, CSI 300) are listed as not updated.

Continuity. Stock bars are fetched from ``OVERLAP_DAYS`` before the last stored day the stock
traded, so the first new bar has its previous close, and that day checks both sources: a raw
close that differs from the stored one stops the update (a different price basis would corrupt
returns). adj_factor is derived again over the stored history when the rows are merged in, so
adjusted prices stay continuous whichever source wrote the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from screener import rules
from screener.errors import InputError
from screener.ingest import akshare as ak
from screener.ingest.importer import ImportResult
from screener.store import Store

OVERLAP_DAYS = 20  # calendar days re-read before the last stored bar (longer than any closure)
CLOSE_TOLERANCE = 0.005  # yuan: half a fen


@dataclass(frozen=True)
class Live:
    """The akshare functions an update calls; tests pass stand-ins with the same keywords."""

    stock: ak.Fetch | None = None
    index: ak.Fetch | None = None
    futures: ak.Fetch | None = None


@dataclass(frozen=True)
class UpdateReport:
    """What an update wrote (per table) and what it could not update, with why."""

    until: dt.date
    source: str
    results: dict[str, ImportResult] = field(default_factory=dict)
    not_updated: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [f"up to {self.until} from {self.source}"]
        for table, r in self.results.items():
            out.append(f"{table}: {r.describe()}")
        out += [f"not updated: {why}" for why in self.not_updated]
        return out


def update_store(
    store: Store,
    *,
    until: dt.date,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
    live: Live | None = None,
) -> UpdateReport:
    """Extend ``store`` to ``until`` (see the module docstring); one transaction."""
    if store.get_meta("data_source") == "demo":
        from screener.ingest import demo

        grown = demo.load(store, end=until, instruments=store.read_instruments())
        market = {t: r for t, r in grown.items() if isinstance(r, ImportResult)}
        return UpdateReport(until, "the synthetic demo market", market)
    live = live or Live()
    frames = {
        "bars_daily": _stock_bars(store, until, st_switch, live),
        "index_daily": [],
        "series_daily": [],
    }
    skipped: list[str] = []
    for code, last in _last_dates(store, "index_daily", "index_code", until):
        if not code.endswith(".SI"):
            skipped.append(f"{code}: akshare serves Shenwan (.SI) indices only")
            continue
        index = ak.fetch_sw_index(
            code, start=last + dt.timedelta(days=1), end=until, fetch=live.index
        )
        frames["index_daily"].append(index)
    for series_id, last in _last_dates(store, "series_daily", "series_id", until):
        if series_id not in ak.FUTURES_SYMBOLS:
            skipped.append(f"{series_id}: no akshare source for this series")
            continue
        series = ak.fetch_futures(series_id, fetch=live.futures)
        after = (pl.col("date") > last) & (pl.col("date") <= until)
        frames["series_daily"].append(series.filter(after))
    new = {table: [p for p in parts if p.height] for table, parts in frames.items()}
    return UpdateReport(until, "akshare", ak.upsert_fetched(store, new), tuple(skipped))


def _last_dates(store: Store, table: str, key: str, until: dt.date) -> list[tuple[str, dt.date]]:
    """(code, last stored date) for every code of ``table`` whose last date is before ``until``."""
    rows = store.query(
        f"SELECT {key} AS code, max(date) AS last FROM {table} GROUP BY 1 "
        "HAVING max(date) < ? ORDER BY 1",
        [until],
    )
    return [(code, last) for code, last in rows.iter_rows()]


def _stock_bars(store: Store, until: dt.date, st_switch: dt.date, live: Live) -> list[pl.DataFrame]:
    """New bars of every stored stock still listed after its last bar, chained to the store.

    The check day is the last stored session the stock traded (a suspension bar has no
    counterpart at the source).
    """
    stored = store.query(
        "WITH m AS (SELECT b.ticker, max(b.date) AS last, "
        "coalesce(max(b.date) FILTER (WHERE NOT coalesce(b.suspended, false)), max(b.date)) "
        "AS anchor FROM bars_daily b LEFT JOIN instruments i ON i.ticker = b.ticker "
        "GROUP BY b.ticker, i.delist_date "
        "HAVING max(b.date) < ? AND (i.delist_date IS NULL OR i.delist_date > max(b.date))) "
        "SELECT m.ticker, m.last, m.anchor, b.close FROM m "
        "JOIN bars_daily b ON b.ticker = m.ticker AND b.date = m.anchor ORDER BY 1",
        [until],
    )
    out = []
    for ticker, last, anchor, close in stored.iter_rows():
        start = anchor - dt.timedelta(days=OVERLAP_DAYS)
        fetched = ak.fetch_stock_bars(
            ticker, start=start, end=until, fetch=live.stock, st_switch=st_switch
        )
        out.append(_checked_new_rows(fetched, ticker, last, anchor, close))
    return out


def _checked_new_rows(
    fetched: pl.DataFrame, ticker: str, last: dt.date, anchor: dt.date, close: float
) -> pl.DataFrame:
    """The rows after ``last``, once the source agrees with the stored close of ``anchor``
    (adj_factor is derived again over the stored history when they are written)."""
    source = f"akshare stock_zh_a_hist {ticker}"
    overlap = fetched.filter(pl.col("date") == anchor)
    if overlap.is_empty():
        raise InputError(
            f"the source has no bar of {ticker} on {anchor}, its last stored trading day: "
            "cannot check that the two agree",
            path=source,
            field="date",
        )
    theirs = overlap.row(0, named=True)
    if abs(theirs["close"] - close) > CLOSE_TOLERANCE:
        raise InputError(
            f"the source's close of {ticker} on {anchor} is {theirs['close']:g}, the store "
            f"holds {close:g}: different price bases (raw against adjusted?)",
            path=source,
            field="close",
        )
    return fetched.filter(pl.col("date") > last)
