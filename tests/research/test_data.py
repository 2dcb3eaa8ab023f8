"""Research data from a store: the universe on every session, warm-up, nothing after --end."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from screener.config import Settings
from screener.research.data import factor_set, load, universe_members
from screener.screen import Screen, universe_on
from screener.store import Store
from screener.tables import TableSnapshot

START, END = dt.date(2025, 12, 1), dt.date(2026, 3, 31)


@pytest.mark.parametrize("universe", ["picks:30d", "sector", "metal:copper"])
def test_members_equal_the_screen_universe_on_every_session(
    demo_without_amount: Store, universe: str
) -> None:
    store = demo_without_amount
    screen = replace(Screen(), **Screen.parse_universe(universe))
    sessions = [d for d in store.sessions() if START <= d <= END]
    tables = TableSnapshot.of(store, ["broker_picks"])
    got = universe_members(tables, screen, sessions).sort("date", "ticker")
    want = pl.concat(
        universe_on(tables, screen, on=d, as_of=d)[0].select(pl.lit(d).alias("date"), "ticker")
        for d in sessions
    ).sort("date", "ticker")
    assert got.equals(want)
    assert got.height > 0


def test_load_reads_the_warm_up_and_nothing_after_the_end(demo_without_amount: Store) -> None:
    research = load(
        demo_without_amount,
        factor_set(["ret_20d", "oversold_score"]),
        universe="sector",
        start=START,
        end=dt.date(2026, 2, 27),
        horizons=(1, 5),
        settings=Settings(),
    )
    assert research.sessions[0] == dt.date(2025, 12, 1) and research.synthetic
    assert research.sessions[-1] == dt.date(2026, 2, 27)
    first = research.values["ret_20d"][0]
    assert np.isfinite(first).mean() > 0.9  # the lookback was read before the start
    assert np.isnan(research.returns[1][-2:]).all()  # their exits lie after the end
    assert np.isfinite(research.returns[1][-3]).any()
    sector = demo_without_amount.read_instruments().filter(pl.col("sw_l1") == "801050.SI")
    assert set(research.tickers) <= set(sector["ticker"])
    assert research.eligible.any() and not research.eligible.all()  # some opens unbuyable
