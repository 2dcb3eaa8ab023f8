"""Metal tags and their series: every tag has a registered series, and venue timing is right."""

from __future__ import annotations

import pytest

from screener.metals import METAL_SERIES, SERIES, series_for


def test_every_metal_tag_points_at_a_registered_series() -> None:
    assert set(METAL_SERIES.values()) <= set(SERIES)


def test_only_venues_that_settle_after_the_beijing_close_are_lagged() -> None:
    lagged = {s.series_id for s in SERIES.values() if s.settles_after_close}
    assert lagged == {"LME.CU.CASH", "LME.AL.CASH", "COMEX.GC", "COMEX.SI", "FX.USDCNY"}
    # what a screen reads for a metal is known at the A-share close
    assert not any(SERIES[s].settles_after_close for s in METAL_SERIES.values())


def test_units_are_in_the_series_currency() -> None:
    for s in SERIES.values():
        assert s.series_id.startswith(s.exchange + ".")
        assert s.unit.startswith(s.currency) or s.series_id == "FX.USDCNY", s


@pytest.mark.parametrize(
    ("tags", "series"),
    [
        (["copper"], "SHFE.CU"),
        (["other", "gold", "copper"], "SHFE.AU"),  # the first tag that has a series
        (["magnet"], "SMM.NDPR"),
        (["titanium"], None),
        ([], None),
        (None, None),
    ],
)
def test_a_stock_follows_its_first_metal_with_a_series(
    tags: list[str] | None, series: str | None
) -> None:
    assert series_for(tags) == series
