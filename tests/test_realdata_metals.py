"""Metal series with fallbacks on real data (../shared/realdata): no SHFE aluminium in the store.

The store holds real bars of four aluminium names and the lead name 600531.SH (2019-2021),
801050.SI and CSI 300, and real commodity rows of SHFE zinc and lead, LME aluminium and lead and
USD/CNY; SHFE aluminium is absent (the real file has none). Aluminium names must get their metal
factors and ``oversold_score`` from LME.AL.CASH in CNY, a session late, the screen must say so,
and lead names must follow SHFE lead, not zinc.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from unittest import mock

import polars as pl
import pytest

from screener import metals
from screener.config import Settings
from screener.engine import compute_factors
from screener.screen import Screen, run_screen
from screener.screen_context import metal_moves
from screener.store import Store
from tests.realdata import clean_series, real_store

ALUMINIUM = ["000807.SZ", "000933.SZ", "601600.SH", "601677.SH"]
LEAD = "600531.SH"  # tagged lead, silver, gold
START, END = dt.date(2019, 1, 2), dt.date(2021, 12, 31)
SERIES = ["SHFE.ZN", "SHFE.PB", "LME.AL.CASH", "LME.PB.CASH", metals.FX]
SETTINGS = Settings()
ALL_IN = Screen(universe="metal", metal="aluminium", top_n=10, min_avg_amount=0.0,
                exclude_st=False, require_tradable=False)  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    with real_store(path, [*ALUMINIUM, LEAD], START, END, index_end=END) as s:
        s.upsert("series_daily", clean_series(SERIES, START - dt.timedelta(days=30), END))
        yield s


def test_aluminium_names_are_scored_from_lme_and_the_output_names_it(store: Store) -> None:
    result = run_screen(store, ALL_IN, on=END, settings=SETTINGS)
    assert set(result.excluded["reason"]) == {"no bar"}  # the master's names not in this store
    assert sorted(result.ranked["ticker"]) == ALUMINIUM
    assert result.ranked["score"].null_count() == 0
    assert set(result.ranked["metal_series"]) == {"LME.AL.CASH"}
    assert set(result.ranked["metal_currency"]) == {"CNY"}  # USD/CNY is in the store
    moves = metal_moves(store, END, max_ffill=SETTINGS.max_ffill_sessions)
    in_use = dict(moves.select("series_id", "in_use").iter_rows())
    assert in_use == {"SHFE.ZN": "zinc", "SHFE.PB": "lead", "LME.AL.CASH": "aluminium",
                      "LME.PB.CASH": None}  # fmt: skip


def test_without_the_fallback_every_aluminium_name_had_no_score(store: Store) -> None:
    """What the store gave before: SHFE aluminium only, so nothing at all."""
    with mock.patch.dict(metals.METAL_SERIES, {"aluminium": ("SHFE.AL",)}):
        result = run_screen(store, ALL_IN, on=END, settings=SETTINGS)
    assert result.ranked.height == 0
    ours = result.excluded.filter(pl.col("ticker").is_in(ALUMINIUM))
    assert ours.height == len(ALUMINIUM) and set(ours["reason"]) == {"no score"}


def known_on(series: str, sessions: list[dt.date]) -> list[float]:
    """A plain as-of: the last value dated before (LME, FX) or on (SHFE) each session."""
    rows = clean_series([series], START - dt.timedelta(days=30), END).sort("date")
    late = metals.known_next_session(series)
    out = []
    for day in sessions:
        seen = rows.filter(pl.col("date") < day if late else pl.col("date") <= day)
        out.append(float(seen["close"][-1]))
    return out


def test_metal_factors_follow_lme_in_cny_and_lead_follows_shfe_lead(store: Store) -> None:
    sessions = [d for d in store.sessions() if d <= END]
    ends = [sessions[-21], sessions[-1]]
    lme, fx, pb = (known_on(s, ends) for s in ("LME.AL.CASH", metals.FX, "SHFE.PB"))
    aluminium = lme[1] * fx[1] / (lme[0] * fx[0]) - 1
    lead = pb[1] / pb[0] - 1
    values = compute_factors(store, on=END, factors=["metal_ret_20d", "divergence_20d"])
    got = dict(values.select("ticker", "metal_ret_20d").iter_rows())
    print(f"metal_ret_20d on {END}: aluminium {aluminium:+.4%} (LME x USDCNY), lead {lead:+.4%}")
    for ticker in ALUMINIUM:
        assert got[ticker] == pytest.approx(aluminium, rel=1e-9)
    assert got[LEAD] == pytest.approx(lead, rel=1e-9)
    zinc = known_on("SHFE.ZN", ends)
    assert abs(got[LEAD] - (zinc[1] / zinc[0] - 1)) > 1e-4  # not zinc's move
    assert values["divergence_20d"].null_count() == 0
