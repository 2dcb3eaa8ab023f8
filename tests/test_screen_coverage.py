"""Coverage of a screen: counts from a hand-made facts frame, and the sentences that say them."""

from __future__ import annotations

import datetime as dt

import polars as pl

from screener.screen import Screen
from screener.screen_coverage import Coverage, episode_lines, estimated_episodes

DAY = dt.date(2019, 5, 6)
SCREEN = Screen(universe="sector", score="oversold_score", min_avg_amount=20e6)


def facts() -> pl.DataFrame:
    """Six names: two pass, one illiquid and unscored, two unscored without a metal series
    (one also suspended), one without a bar."""
    return pl.DataFrame(
        {
            "ticker": ["A", "B", "C", "D", "E", "F"],
            "_reasons": [[], [], ["illiquid", "no score"], ["no score"],
                         ["suspended", "no score"], ["no bar"]],
            "score": [1.0, 0.5, None, None, None, None],
            "metal_series": ["SHFE.CU", "SHFE.CU", "SHFE.CU", None, None, None],
            "has_bar": [True, True, True, True, True, None],
            "amount_estimated_20d": [20, 0, 3, 0, 20, None],
        },
        schema_overrides={"_reasons": pl.List(pl.String), "score": pl.Float64},
    )  # fmt: skip


def test_counts_from_the_facts() -> None:
    cov = Coverage.of(facts(), estimated="amount_estimated_20d")
    assert cov == Coverage(
        universe=6,
        scored=2,
        passed=2,
        reasons=(("no score", 3), ("illiquid", 1), ("no bar", 1), ("suspended", 1)),
        amount_estimated=3,  # A, C and E: F has no bar, so no window
        no_metal_series=2,  # D and E; F has no bar, C has its series
    )
    assert cov.excluded == 4 and cov.passed + cov.excluded == cov.universe
    assert Coverage.of(facts().clear(), estimated="amount_estimated_20d") == Coverage()


def test_the_headline_names_the_largest_reason_in_words() -> None:
    cov = Coverage(universe=136, scored=116, passed=74, reasons=(("illiquid", 41), ("ST", 3)))
    assert cov.headline(SCREEN) == (
        "136 in the universe, 116 scored, 74 passed, 62 excluded; "
        "most: illiquid (20-session amount below 20m CNY): 41"
    )
    assert cov.counts() == "41 illiquid, 3 ST"
    assert Coverage(universe=3, scored=3, passed=3).headline(SCREEN).endswith("0 excluded")


def test_an_empty_selection_says_why_with_the_fix() -> None:
    cov = Coverage(universe=61, scored=41, reasons=(("illiquid", 41), ("no score", 20)),
                   no_metal_series=20)  # fmt: skip
    assert cov.why_empty(SCREEN, DAY) == (
        "no name passed the filters: 41 illiquid (20-session amount below 20m CNY): lower "
        "min_avg_amount in the screen file or the thesis's [select]; 20 no score "
        "(oversold_score): no metal series, import one with "
        "`screener ingest parquet FILE --kind series`"
    )
    history = Coverage(universe=5, scored=0, reasons=(("no score", 5),), no_metal_series=1)
    assert "`screener store check`" in history.why_empty(SCREEN, DAY)
    market = Coverage(universe=2, scored=2, reasons=(("limit-up", 2),))
    assert market.why_empty(SCREEN, DAY) == "no name passed the filters: 2 limit-up"
    picks = Coverage().why_empty(Screen(universe="picks", picks_window_days=30), DAY)
    assert picks == (
        "the universe is empty: no broker picks known in the 30 days to 2019-05-06 "
        "(import a note: `screener picks import NOTE.txt`)"
    )
    assert "`screener store check`" in Coverage().why_empty(SCREEN, DAY)


def test_an_estimate_is_said_only_when_made() -> None:
    assert Coverage(universe=4, scored=4, passed=4).estimate_line() is None
    line = Coverage(universe=4, scored=4, passed=4, amount_estimated=3).estimate_line()
    assert line == (
        "amount = close x volume (no amount in the data) for 3 of 4 names; "
        "liquidity figures rest on it"
    )


def test_json_and_episode_rows() -> None:
    cov = Coverage(universe=5, scored=4, passed=2, reasons=(("no score", 1), ("ST", 2)),
                   amount_estimated=5)  # fmt: skip
    assert cov.to_json(SCREEN) == {
        "universe": 5,
        "scored": 4,
        "passed": 2,
        "excluded": 3,
        "reasons": {"no score": 1, "ST": 2},
        "amount_estimated": 5,
        "summary": cov.headline(SCREEN),
    }
    row = cov.episode_row(SCREEN, DAY, selected=2)
    assert row == {"universe": 5, "scored": 4, "excluded": 3, "selected": 2,
                   "amount_estimated": 5, "reasons": "1 no score, 2 ST", "note": None}  # fmt: skip
    empty = Coverage(universe=5, scored=5, reasons=(("ST", 5),)).episode_row(
        SCREEN, DAY, selected=0
    )
    assert empty["note"] == "no name passed the filters: 5 ST: exclude_st = false keeps ST names"


def test_episode_lines_say_each_empty_selection_and_the_estimate() -> None:
    episodes = pl.DataFrame(
        {
            "trigger_date": [DAY, dt.date(2020, 3, 9)],
            "selection_date": [dt.date(2019, 5, 9), dt.date(2020, 3, 9)],
            "amount_estimated": [0, 12],
            "note": ["the universe is empty", None],
        }
    )
    assert episode_lines(episodes) == [
        "episode 2019-05-06 (screened 2019-05-09): the universe is empty",
        "amount = close x volume (no amount in the data) on 1 of 2 selection dates; "
        "liquidity figures rest on it",
    ]
    recorded_before = episodes.select("trigger_date", "selection_date")  # older runs
    assert episode_lines(recorded_before) == [] and estimated_episodes(recorded_before) == 0
