"""The demo market's synthetic weekly notes: dated, drawn point in time, read back as drawn."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl

from screener.brokers.demo_notes import (
    BROKER,
    KIND,
    PER_METAL,
    SOURCE,
    listings,
    note_dates,
    note_text,
    read_notes,
    weekly_picks,
)
from screener.brokers.ledger import pick_performance
from screener.instruments import load_master
from screener.store import Store

D = dt.date.fromisoformat


def test_notes_fall_on_the_sundays_after_the_first_session() -> None:
    assert note_dates(D("2015-01-05"), D("2015-01-25")) == [
        D("2015-01-11"), D("2015-01-18"), D("2015-01-25"),
    ]  # fmt: skip
    assert note_dates(D("2015-01-11"), D("2015-01-17")) == []  # strictly after a Sunday start
    # a later end only adds notes: the dates up to an earlier end are kept as they were
    short, long = (
        note_dates(D("2015-01-05"), D("2019-06-30")),
        note_dates(D("2015-01-05"), D("2026-03-31")),
    )
    assert long[: len(short)] == short


def _master(*rows: tuple[str, str, str, str | None, str | None, list[str]]) -> pl.DataFrame:
    cols = ["ticker", "name", "board", "list_date", "delist_date", "metals"]
    frame = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])
    return frame.with_columns(pl.col("list_date", "delist_date").str.to_date())


def test_a_note_draws_only_names_listed_and_not_delisted_on_its_date() -> None:
    master = _master(
        ("600001.SH", "老铜业", "main", "2001-01-01", None, ["copper"]),
        ("600002.SH", "*ST旧铜", "main", "2001-01-01", "2020-06-01", ["copper"]),
        ("600003.SH", "新铜业", "main", "2020-03-02", None, ["copper", "gold"]),
        ("01234.HK", "港铜", "hk", None, None, ["copper"]),
    )
    shares = listings(master)

    def copper(day: str) -> set[str]:
        return {s.ticker for s in weekly_picks(shares, D(day)).get("copper", [])}

    assert copper("2020-03-01") == {"600001.SH", "600002.SH"}  # 600003 lists the next day
    assert copper("2020-06-01") == {"600001.SH", "600003.SH"}  # 600002 delisted that day
    three = copper("2020-03-02")  # three alive: PER_METAL of them
    assert len(three) == PER_METAL and three < {"600001.SH", "600002.SH", "600003.SH"}
    picks = weekly_picks(shares, D("2021-01-03"))
    assert [s.ticker for s in picks["gold"]] == ["600003.SH"]
    assert "01234.HK" not in {s.ticker for v in picks.values() for s in v}  # no demo bars
    text = note_text(D("2020-03-01"), weekly_picks(shares, D("2020-03-01")))
    assert "旧铜" in text and "*ST" not in text  # as notes write it: no risk-warning prefix


def test_coverage_changes_by_quarter_not_by_week() -> None:
    shares = listings(load_master())
    weeks = note_dates(D("2015-01-05"), D("2026-03-31"))
    draws = [weekly_picks(shares, d) for d in weeks]
    same = sum(a == b for a, b in itertools.pairwise(draws))
    # a new quarter every 13 weeks (91 days); listings and delistings change a few more
    changed = len(weeks) - 1 - same
    assert len(weeks) // 13 - 1 <= changed <= len(weeks) // 13 + 20
    assert draws == [weekly_picks(shares, d) for d in weeks]  # seeded: the same every time


def test_every_note_reads_back_as_drawn() -> None:
    """The reader of real notes gives each synthetic note's picks: the drawn tickers under
    their metal, resolved, dated by the note, by the made-up broker."""
    master = load_master()
    shares, weeks = listings(master), note_dates(D("2015-01-05"), D("2026-03-31"))
    for day, note in zip(weeks, read_notes(master, weeks), strict=True):
        drawn = {(m, s.ticker) for m, names in weekly_picks(shares, day).items() for s in names}
        picks = note.picks
        assert set(zip(picks["metal"], picks["ticker"], strict=True)) == drawn, day
        assert set(picks["status"]) == {"resolved"} and set(picks["broker"]) == {BROKER}
        assert set(picks["report_date"]) == {day} and note.kind == KIND


def test_the_demo_ledger_has_years_of_point_in_time_picks(demo_with_notes: Store) -> None:
    store = demo_with_notes
    sessions = store.sessions()
    notes = store.read_table("broker_notes").filter(pl.col("file_kind") == KIND)
    assert notes["report_date"].sort().to_list() == note_dates(sessions[0], sessions[-1])
    assert set(notes["source"]) == {SOURCE} and notes["body"].str.contains("SYNTHETIC").all()
    assert notes["title"].str.contains("（合成）").all()
    picks = store.read_table("broker_picks").filter(pl.col("broker") == BROKER)
    master = store.read_instruments().select("ticker", "list_date", "delist_date")
    dated = picks.join(master, on="ticker", how="left")
    alive = pl.col("list_date").fill_null(pl.col("report_date")) <= pl.col("report_date")
    alive &= pl.col("delist_date").is_null() | (pl.col("delist_date") > pl.col("report_date"))
    assert dated.filter(~alive).is_empty() and dated["ticker"].null_count() == 0
    delisted = master.drop_nulls("delist_date")  # the demo's delistings were drawn before
    assert delisted.join(picks, on="ticker").height > 0
    years = pick_performance(store).per_pick["report_date"].dt.year().unique().sort()
    assert years.to_list() == list(range(2015, 2027))
