"""Small demo markets and theses that several test modules build (each in its own fixtures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from screener import calendar
from screener.ingest import demo
from screener.instruments import load_master
from screener.store import Store
from screener.thesis import Thesis, load_thesis

COPPER = ["000630.SZ", "000878.SZ", "600362.SH", "601168.SH", "601899.SH", "603993.SH"]

# A copper breakout thesis with an 8-point grid: quick to sweep on the six copper names.
COPPER_BREAKOUT = """
name = "small copper breakout"
[trigger]
cooldown_sessions = 10
[[trigger.when]]
kind = "breakout_high"
series = "SHFE.CU"
window = 20
[select]
universe = "metal"
metal = "copper"
score = "ret_20d"
top_n = 3
min_avg_amount = 0.0
[weigh]
method = "equal"
max_weight = 0.3
[exit]
hold_sessions = 10
trailing_stop_pct = 8.0
[sweep]
"trigger.when.0.window" = [20, 40]
"exit.trailing_stop_pct" = [4.0, 10.0]
"exit.hold_sessions" = [5, 15]
"""

# The same names held as a rebalanced portfolio: the top 3 by momentum, re-ranked weekly.
WEEKLY_COPPER = """
name = "weekly copper momentum"
[rebalance]
every = "week"
[select]
universe = "metal"
metal = "copper"
score = "ret_20d"
top_n = 3
min_avg_amount = 0.0
[weigh]
method = "score"
max_weight = 0.4
"""


def copper_store(folder: Path, end: dt.date) -> Store:
    """A store holding the demo market of the six copper names up to ``end`` (caller closes)."""
    store = Store(folder / "demo.duckdb")
    demo.load(store, end=end, instruments=load_master().filter(pl.col("ticker").is_in(COPPER)))
    return store


def copper_thesis(folder: Path) -> Thesis:
    """COPPER_BREAKOUT loaded from a file in ``folder``, as a user's thesis would be."""
    path = folder / "copper.toml"
    path.write_text(COPPER_BREAKOUT, encoding="utf-8")
    return load_thesis(path)


def flat_bars(ticker: str, dates: list[dt.date], closes: list[float]) -> pl.DataFrame:
    """Bars whose open, high, low and close are the given close; prev_close chains them."""
    return pl.DataFrame(
        {
            "ticker": ticker,
            "date": dates,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "prev_close": [closes[0], *closes[:-1]],
            "volume": [1_000_000] * len(closes),
            "amount": [c * 1e6 for c in closes],
            "adj_factor": 1.0,
            "suspended": False,
            "is_st": False,
        }
    )


def two_name_store(path: Path, bars: pl.DataFrame, index: pl.DataFrame) -> Store:
    """A hand-made store: two main-board copper names 600001.SH and 600002.SH in SW 801055."""
    instruments = pl.DataFrame(
        {
            "ticker": ["600001.SH", "600002.SH"],
            "name": ["甲有色", "乙有色"],
            "aliases": [[], []],
            "exchange": "SSE",
            "board": "main",
            "sw_l1": "801050.SI",
            "sw_l2": "801055.SI",
            "metals": [["copper"], ["copper"]],
            "list_date": dt.date(2010, 1, 4),
        }
    )
    store = Store(path)
    with store.transaction():
        store.upsert("instruments", instruments)
        store.upsert("bars_daily", bars)
        store.upsert("index_daily", index)
    return store


# -- a hand-computed dip (tests/thesis/test_run.py works its trades out by hand) -----------
TINY_SESSIONS = calendar.sessions(dt.date(2024, 3, 1), dt.date(2024, 4, 30))[:30]
# Stock A slides 20% into session 10 while B slips 5%: a reversal screen must pick A.
TINY_A = [10.0] * 6 + [9.6, 9.2, 8.8, 8.4, 8.0, 8.0, 8.1, 8.2, 8.3] + [8.3] * 15
TINY_B = [20.0] * 6 + [19.8, 19.6, 19.4, 19.2, 19.0] + [19.0] * 19
TINY_INDEX = [100.0] * 4 + [100 - 16 * k / 7 for k in range(1, 8)] + [84.0] * 19

TINY_DIP = """
name = "tiny dip"
[trigger]
cooldown_sessions = 20
[[trigger.when]]
index = "801050.SI"
window = 7
max_change_pct = -15.0
[select]
universe = "sector"
score = "reversal_5d"
top_n = 1
min_avg_amount = 0.0
exclude_st = true
[weigh]
method = "equal"
max_weight = 0.5
gross = 0.5
[entry]
at = "open"
[exit]
hold_sessions = 3
"""


def tiny_store(path: Path) -> Store:
    """TINY_A and TINY_B under an 801050 that falls 16% in 7 sessions (caller closes)."""
    index = pl.DataFrame(
        {
            "index_code": ["801050.SI"] * 30 + ["000300.SH"] * 30,
            "date": TINY_SESSIONS * 2,
            "close": TINY_INDEX + [3000.0] * 30,
        }
    )
    a, b = (
        flat_bars("600001.SH", TINY_SESSIONS, TINY_A),
        flat_bars("600002.SH", TINY_SESSIONS, TINY_B),
    )
    return two_name_store(path, pl.concat([a, b]), index)
