"""Synthetic notes drawn over real trading history (../shared/realdata): point in time.

The weekly notes draw names listed and not delisted on each note's date by the instrument
master's dates. On a store of the real bars of every stock in the real-data set (2017 to its
last day, 2022-01-14, spanning three delistings), that rule must agree with when each name
really traded: no pick before a name's first real bar, none after the last bar of a name that
stopped trading, and the names that stopped were picked while they traded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from screener.brokers import demo_notes
from tests.conftest import require_realdata
from tests.realdata import real_store

START, END = dt.date(2017, 1, 3), dt.date(2022, 1, 14)


def test_synthetic_picks_fall_inside_each_names_real_trading_life(tmp_path: Path) -> None:
    bars = pl.read_parquet(require_realdata() / "stocks_daily.parquet")
    life = bars.group_by("ticker").agg(first=pl.col("date").min(), last=pl.col("date").max())
    with real_store(
        tmp_path / "real.duckdb", life["ticker"].to_list(), START, END, index_end=END
    ) as store:
        summary = demo_notes.load(store)
        picks = store.read_table("broker_picks")
        sessions = store.sessions()
    assert summary.notes_new == len(demo_notes.note_dates(sessions[0], sessions[-1]))
    traded = picks.join(life, on="ticker", how="inner")  # names with real bars
    assert traded.height > 0.9 * picks.height
    assert traded.filter(pl.col("report_date") < pl.col("first")).is_empty()
    stopped = traded.filter(pl.col("last") < END)
    assert stopped.filter(pl.col("report_date") > pl.col("last")).is_empty()
    assert stopped["ticker"].n_unique() >= 3  # the delistings of 2018, 2019 and 2021
