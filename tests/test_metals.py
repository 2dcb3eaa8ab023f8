"""Metal tags and their series: every series registered, fallbacks in order, venue timing right."""

from __future__ import annotations

import polars as pl
import pytest

from screener.metals import (
    FX,
    METAL_SERIES,
    SERIES,
    in_usd,
    known_next_session,
    metal_of,
    metals_served,
    series_needed,
)
from tests.conftest import require_realdata


def test_every_metal_series_is_registered_and_listed_once() -> None:
    for metal, ids in METAL_SERIES.items():
        assert ids and set(ids) <= set(SERIES), metal
        assert len(set(ids)) == len(ids), metal


def test_only_venues_that_settle_after_the_beijing_close_are_lagged() -> None:
    lagged = {s.series_id for s in SERIES.values() if s.settles_after_close}
    assert lagged == {s for s in SERIES if s.startswith(("LME.", "COMEX.", "FX."))}
    assert known_next_session("LME.AL.CASH") and not known_next_session("SHFE.AL")
    assert known_next_session("XYZ.UNKNOWN")  # unknown venues count as late: never early
    # the preferred series of a metal is known at the A-share close
    assert not any(SERIES[ids[0]].settles_after_close for ids in METAL_SERIES.values())


def test_fallbacks_follow_the_issue() -> None:
    assert METAL_SERIES["aluminium"] == ("SHFE.AL", "LME.AL.CASH")
    assert METAL_SERIES["lead"] == ("SHFE.PB", "LME.PB.CASH")  # lead's own, not zinc's
    assert METAL_SERIES["copper"] == ("SHFE.CU", "LME.CU.CASH", "COMEX.HG")
    assert METAL_SERIES["gold"] == ("SHFE.AU", "COMEX.GC")
    assert METAL_SERIES["silver"] == ("SHFE.AG", "COMEX.SI")


def test_units_are_in_the_series_currency() -> None:
    for s in SERIES.values():
        assert s.series_id.startswith(s.exchange + ".")
        assert s.unit.startswith(s.currency) or s.series_id == FX, s
        assert in_usd(s.series_id) == (s.currency == "USD")


def test_registry_covers_every_real_series_with_its_unit_and_currency() -> None:
    real = pl.read_parquet(require_realdata() / "commodities_daily.parquet")
    meta = real.select("series_id", "unit", "currency").unique().sort("series_id")
    for sid, unit, currency in meta.iter_rows():
        assert sid in SERIES, sid
        assert (SERIES[sid].unit, SERIES[sid].currency) == (unit, currency), sid


def test_series_needed_adds_fx_only_for_usd_series() -> None:
    assert series_needed(["aluminium"]) == ["SHFE.AL", "LME.AL.CASH", FX]
    assert series_needed(["rare_earth", "magnet", "lithium"]) == ["SMM.NDPR", "GFEX.LC"]
    assert metals_served("SMM.NDPR") == ["rare_earth", "magnet"]
    assert metals_served("LME.PB.CASH") == ["lead"]


@pytest.mark.parametrize(
    ("tags", "metal"),
    [
        (["copper"], "copper"),
        (["other", "gold", "copper"], "gold"),  # the first tag that has series
        (["magnet"], "magnet"),
        (["titanium"], None),
        ([], None),
        (None, None),
    ],
)
def test_a_stock_follows_its_first_metal_with_series(
    tags: list[str] | None, metal: str | None
) -> None:
    assert metal_of(tags) == metal
