"""Row checks before anything is written: each bad row found, on its line, with a clear reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from screener.errors import InputError
from screener.ingest.validate import (
    LINE,
    check_frame,
    parse_dates,
    parse_numbers,
    problems,
    raise_all,
    split_refused,
    validated,
)

D = dt.date.fromisoformat
KNOWN = ["600362.SH", "000630.SZ"]


def bars(*rows: dict[str, object]) -> pl.DataFrame:
    """Clean 600362.SH bars on 2026-02-09.. unless a row says otherwise."""
    base = {"ticker": "600362.SH", "open": 10.0, "high": 10.5, "low": 9.8, "close": 10.2}
    days = ["2026-02-09", "2026-02-10", "2026-02-11", "2026-02-12", "2026-02-13"]
    filled = [{**base, "date": D(days[i % 5]), "volume": 1000, **r} for i, r in enumerate(rows)]
    return pl.DataFrame(filled, schema_overrides={"volume": pl.Int64})


def found(frame: pl.DataFrame, kind: str = "bars") -> list[tuple[int, str]]:
    checked = check_frame(frame, kind=kind, known_tickers=KNOWN if kind == "bars" else None)
    return list(zip(checked["line"], checked["field"], strict=True))


def test_a_clean_frame_has_no_problems() -> None:
    assert found(bars({}, {}, {}, {}, {})) == []


def test_each_bad_value_is_caught_on_its_row() -> None:
    frame = bars(
        {"close": -1.0, "low": -2.0},  # 1: non-positive prices
        {"high": 9.0, "low": 9.5, "open": 9.2, "close": 9.3},  # 2: high below low
        {"open": 11.0},  # 3: open above the high
        {"volume": -5},  # 4: negative volume
        {"close": float("nan")},  # 5: not a number
        {"date": D("2026-02-14"), "high": 2e9, "close": 2e9},  # 6: Saturday, absurd price
    )
    checked = check_frame(frame, known_tickers=KNOWN)
    got = list(zip(checked["line"], checked["field"], checked["reason"], strict=True))
    assert (1, "close", "price must be positive, got -1.0") in got
    assert (1, "low", "price must be positive, got -2.0") in got
    assert (2, "high", "high 9.0 is below low 9.5") in got
    assert (3, "open", "open 11.0 is outside the day's range [low 9.8, high 10.5]") in got
    assert (4, "volume", "must not be negative, got -5") in got
    assert (5, "close", "not a finite number (NaN)") in got
    assert (6, "date", "2026-02-14 is a Saturday: not a trading session") in got
    assert (6, "high", "2000000000.0 is implausibly large (above 1e+09)") in got
    assert checked["line"].is_sorted()


def test_unknown_tickers_and_exchange_holidays() -> None:
    frame = bars({"ticker": "601899.SH"}, {"date": D("2026-02-17")})  # Spring Festival closure
    checked = check_frame(frame, known_tickers=KNOWN)
    assert checked.rows() == [
        (
            1,
            "ticker",
            "unknown ticker 601899.SH: not in the instrument master (add it to "
            "data/instruments.csv, then run `screener store init`)",
        ),
        (2, "date", "2026-02-17 is not an XSHG session (exchange holiday)"),
    ]


def test_a_china_venue_keeps_xshg_holidays_a_foreign_one_trades_through_them() -> None:
    series = pl.DataFrame(
        {
            "series_id": ["SHFE.CU", "LME.CU.CASH"],
            "date": [D("2026-02-17"), D("2026-02-17")],
            "close": [99_800.0, 12_900.0],
        }
    )
    assert found(series, kind="series") == [(1, "date")]


def test_weekdays_past_the_holiday_table_pass_weekends_do_not() -> None:
    frame = bars({"date": D("2027-01-04")}, {"date": D("2027-01-09")})  # Monday, Saturday
    assert found(frame) == [(2, "date")]


def test_identical_repeats_are_dropped_differing_ones_name_the_first_line() -> None:
    frame = bars({}, {}, {}, {}, {}, {}, {"close": 10.3})  # row 6 repeats row 1, row 7 row 2
    checked = check_frame(frame, known_tickers=KNOWN)
    reason = "duplicate (ticker, date) 600362.SH 2026-02-10 with different values (first at line 2)"
    assert checked.rows() == [(7, "date", reason)]
    kept = validated(bars({}, {}, {}, {}, {}, {}), kind="bars", source="x.csv")
    assert kept.height == 5  # the identical copy on row 6 is gone, nothing raised


def test_unreadable_numbers_and_dates_are_quoted_on_one_short_line() -> None:
    raw = pl.DataFrame(
        {
            LINE: [2, 3, 4],
            "close": ["10.5", "1,234", "x" * 60 + "\nnext"],
            "date": ["2026-02-09", "2026/02/10", "2026-02-11"],
        }
    )
    numbers, bad = parse_numbers(raw, ["close", "volume"])
    assert numbers["close"].to_list() == [10.5, None, None]
    assert bad.select("line", "reason").rows() == [
        (3, "cannot read a number from '1,234'"),
        (4, f"cannot read a number from '{'x' * 40}...'"),
    ]
    dates, bad = parse_dates(raw, "%Y-%m-%d", "YYYY-MM-DD")
    assert dates["date"].to_list() == [D("2026-02-09"), None, D("2026-02-11")]
    reason = "cannot read date '2026/02/10' as YYYY-MM-DD (the format of the file's first date)"
    assert bad.select("line", "field", "reason").rows() == [(3, "date", reason)]


def test_the_first_problem_in_file_order_is_raised_with_the_count_of_the_rest() -> None:
    frame = bars({}, {"volume": -5}, {"close": -1.0})  # the close: not positive, below the low
    problems = check_frame(frame, known_tickers=KNOWN).with_columns(rank=pl.lit(0, pl.Int32))
    with pytest.raises(InputError) as err:
        raise_all(problems, "bars.csv")
    assert (err.value.line, err.value.field) == (2, "volume")
    text = str(err.value)
    assert text.startswith(
        "bars.csv:2: field 'volume': must not be negative, got -5 (and 2 more problem(s), "
        "2 row(s) in all: line 3 close: "
    )
    assert "--quarantine" in text and "\n" not in text
    listed = Path(text.split("all listed in ")[1].split(")")[0])
    assert pl.read_csv(listed).select("line", "field").rows() == [
        (2, "volume"),
        (3, "close"),
        (3, "close"),
    ]
    raise_all(check_frame(bars({})).with_columns(rank=pl.lit(0, pl.Int32)), "ok.csv")


def test_one_problem_is_one_plain_line() -> None:
    problems = check_frame(bars({}, {"volume": -5})).with_columns(rank=pl.lit(0, pl.Int32))
    with pytest.raises(
        InputError, match=r"^x\.csv:2: field 'volume': must not be negative, got -5$"
    ):
        raise_all(problems, "x.csv")


def test_refused_rows_come_out_whole_with_every_reason() -> None:
    frame = bars({}, {"volume": -5, "close": -1.0}, {}).with_row_index(LINE, offset=1)
    frame = frame.with_columns(pl.col(LINE).cast(pl.Int64))
    problems = check_frame(frame.drop(LINE)).with_columns(rank=pl.lit(0, pl.Int32))
    kept, refused = split_refused(frame, problems, "ticker")
    assert kept.get_column(LINE).to_list() == [1, 3]
    assert refused.select("line", "code", "date").rows() == [(2, "600362.SH", "2026-02-10")]
    assert set(refused["field"][0].split("; ")) == {"volume", "close"}
    assert refused["reason"][0].count("; ") >= 1


def test_a_repeat_with_other_values_refuses_every_row_of_that_key() -> None:
    frame = bars({}, {"date": D("2026-02-09"), "close": 10.4}, {}).with_row_index(LINE, offset=1)
    frame = frame.with_columns(pl.col(LINE).cast(pl.Int64))
    _, _, found = problems(frame, "bars", None)
    kept, refused = split_refused(frame, found, "ticker")
    assert kept.get_column(LINE).to_list() == [3]
    assert refused.get_column("line").to_list() == [1, 2]
