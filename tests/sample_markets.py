"""Small demo markets and theses that several test modules build (each in its own fixtures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

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
