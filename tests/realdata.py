"""Stores built from ../shared/realdata for validation tests (the data never enter the repo).

``real_store`` writes the maintained instrument master, 801050.SI and CSI 300, and real bars of
chosen tickers (optionally without some columns, as a poorer vendor file would give them)
through the vendor-file importer; ``clean_series`` gives commodity rows an
importer would accept (the whole file is refused today over ~1,500 vendor rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from screener import calendar, metals
from screener.ingest.files import import_files
from screener.instruments import load_master
from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.store import Store
from screener.thesis.record import BacktestResult
from tests.conftest import REPO, require_realdata


def real_store(
    path: Path,
    tickers: list[str],
    start: dt.date,
    end: dt.date,
    *,
    index_end: dt.date,
    without: Sequence[str] = (),
) -> Store:
    """A store (caller closes) with the master, the two indices from ``start`` to
    ``index_end`` and the real bars of ``tickers`` from ``start`` to ``end``, less the
    ``without`` columns."""
    root = require_realdata()
    index = pl.read_parquet(root / "indices_daily.parquet").filter(
        pl.col("index_code").is_in([SECTOR_INDEX, MARKET_INDEX]),
        pl.col("date").is_between(start, index_end),
    )
    stocks = (
        pl.read_parquet(root / "stocks_daily.parquet")
        .filter(pl.col("ticker").is_in(tickers), pl.col("date").is_between(start, end))
        .drop(without)
    )
    index.write_parquet(path.parent / "index.parquet")
    stocks.write_parquet(path.parent / "stocks.parquet")
    store = Store(path)
    store.upsert("instruments", load_master())
    import_files(store, [path.parent / "index.parquet"], kind="index")
    import_files(store, [path.parent / "stocks.parquet"], kind="bars")
    return store


def clean_series(series_ids: list[str], start: dt.date, end: dt.date) -> pl.DataFrame:
    """Real commodity rows of ``series_ids`` in [start, end], minus the vendor rows a validator
    refuses: weekend dates, domestic rows on A-share holidays, open/close outside [low, high]."""
    rows = pl.read_parquet(require_realdata() / "commodities_daily.parquet").filter(
        pl.col("series_id").is_in(series_ids), pl.col("date").is_between(start, end)
    )
    sessions = calendar.sessions(start, end)
    domestic = [s for s in series_ids if not metals.known_next_session(s)]
    low, high = pl.col("low"), pl.col("high")
    inside = (low.is_null() | (low <= pl.min_horizontal("open", "close"))) & (
        high.is_null() | (high >= pl.max_horizontal("open", "close"))
    )
    return rows.filter(
        pl.col("date").dt.weekday() <= 5,
        ~pl.col("series_id").is_in(domestic) | pl.col("date").is_in(sessions),
        inside,
    )


def plain_episodes(
    days: list[dt.date], closes: list[float], window: int, drop_pct: float, cooldown: int
) -> list[dt.date]:
    """The obvious loop: fire on a `window`-session change <= drop_pct, merge within cooldown."""
    starts: list[int] = []
    for i in range(window, len(closes)):
        change_pct = (closes[i] / closes[i - window] - 1.0) * 100.0
        if change_pct <= drop_pct and (not starts or i - starts[-1] >= cooldown + 1):
            starts.append(i)
    return [days[i] for i in starts]


DIP_START, DIP_END = dt.date(2015, 1, 5), dt.date(2022, 1, 14)
DIP_HISTORY = dt.date(2013, 6, 3)  # bars from here: the 250-session factors are warm by 2015


def real_dip_run(path: Path) -> BacktestResult:
    """The default dip thesis with a sector universe on the real 2015-2022 market, unrecorded,
    on a store written at ``path`` (kept open only for the run)."""
    import dataclasses

    from screener.config import Settings
    from screener.thesis import load_thesis
    from screener.thesis.run import run_backtest

    root = require_realdata()
    sector = load_master().filter(pl.col("sw_l1") == SECTOR_INDEX).get_column("ticker")
    traded = pl.read_parquet(root / "stocks_daily.parquet", columns=["ticker"]).unique()
    tickers = sorted(set(sector.to_list()) & set(traded.get_column("ticker").to_list()))
    ids = pl.read_parquet(root / "commodities_daily.parquet", columns=["series_id"]).unique()
    with real_store(path, tickers, DIP_HISTORY, DIP_END, index_end=DIP_END) as store:
        series = clean_series(ids.get_column("series_id").to_list(), DIP_HISTORY, DIP_END)
        store.upsert("series_daily", series)
        dip = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
        thesis = dataclasses.replace(dip, select=dataclasses.replace(dip.select, universe="sector"))
        return run_backtest(
            store, thesis, start=DIP_START, end=DIP_END, settings=Settings(), record_run=False
        )
