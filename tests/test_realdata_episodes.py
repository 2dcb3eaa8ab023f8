"""The dip thesis's trigger on the real Shenwan nonferrous index (../shared/realdata).

The store holds the real 801050.SI and CSI 300 closes and twenty real sector stocks
(2015-2021, through the vendor-file importer). The episodes ``compile_thesis`` finds must equal
a plain loop over the index closes: a 7-session change of -15% or worse fires, and a firing
session starts an episode only if the last start is more than ``cooldown`` sessions back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest

from screener.config import Settings
from screener.instruments import load_master
from screener.schema import SECTOR_INDEX
from screener.store import Store
from screener.thesis import Thesis, load_thesis
from screener.thesis.compile import compile_thesis
from screener.thesis.prepare import prepare
from tests.conftest import REALDATA, REPO, require_realdata
from tests.realdata import plain_episodes, real_store

START, END = dt.date(2015, 1, 5), dt.date(2021, 12, 31)
N_STOCKS = 20


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = require_realdata()
    stocks = pl.read_parquet(root / "stocks_daily.parquet").filter(
        pl.col("date").is_between(START, END)
    )
    tickers = _sector_names(stocks, load_master())
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    with real_store(path, tickers, START, END, index_end=dt.date(2024, 12, 31)) as s:
        yield s


def _sector_names(stocks: pl.DataFrame, master: pl.DataFrame) -> list[str]:
    """The sector names with the most sessions in the window (ties by ticker)."""
    sector = master.filter(pl.col("sw_l1") == SECTOR_INDEX).select("ticker")
    counts = stocks.join(sector, on="ticker").group_by("ticker").len()
    ranked = counts.sort(["len", "ticker"], descending=[True, False])
    return ranked["ticker"].head(N_STOCKS).to_list()


@pytest.fixture(scope="module")
def thesis() -> Thesis:
    dip = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
    return dataclasses.replace(dip, select=dataclasses.replace(dip.select, universe="sector"))


def test_trigger_episodes_match_a_plain_scan_of_the_index(store: Store, thesis: Thesis) -> None:
    # from the first stored session (by default the window opens at the score's first value,
    # after the 2015 crash): the trigger scan covers the whole index history
    prep = prepare(store, thesis, start=store.sessions()[0], end=None, settings=Settings())
    cond = thesis.trigger.when[0]
    assert (cond.index, cond.window, cond.max_change_pct) == (SECTOR_INDEX, 7, -15.0)
    raw = pl.read_parquet(REALDATA / "indices_daily.parquet")
    index = raw.filter(
        pl.col("index_code") == SECTOR_INDEX,
        pl.col("date").is_between(prep.sessions[0], prep.sessions[-1]),
    ).sort("date")
    assert index["date"].to_list() == prep.sessions  # the same calendar: no gaps, no extras
    days, closes = index["date"].to_list(), index["close"].to_list()
    # the thesis's cooldown (20), and shorter ones whose boundary falls inside the 2015 crash
    for cooldown in (20, 5, 0):
        spec = thesis.with_params({"trigger.cooldown_sessions": cooldown})
        compiled = compile_thesis(prep, spec)
        found = compiled.episodes["trigger_date"].to_list()
        expected = plain_episodes(days, closes, window=7, drop_pct=-15.0, cooldown=cooldown)
        print(
            f"801050.SI 7-session change <= -15%, cooldown {cooldown}:",
            ", ".join(d.isoformat() for d in found),
        )
        assert found == expected
        assert sum(d.year == 2015 for d in found) >= 2  # the 2015 crash: June-July and August
        assert max(compiled.episodes["universe"]) > 0  # the sector screen ran on real names
