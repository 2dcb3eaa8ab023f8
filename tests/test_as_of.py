"""The as-of rule every dated command shares: which stored session a date reads, and the note."""

from __future__ import annotations

import datetime as dt

import pytest

from screener.as_of import resolve_as_of
from screener.errors import DataUnavailableError

D = dt.date.fromisoformat
SESSIONS = [D("2026-02-11"), D("2026-02-12"), D("2026-02-13"), D("2026-02-24")]  # Spring Festival


def test_no_date_is_the_last_session_without_a_note() -> None:
    when = resolve_as_of(SESSIONS, None)
    assert when.session == D("2026-02-24") and when.note is None


def test_a_stored_session_is_itself_without_a_note() -> None:
    when = resolve_as_of(SESSIONS, D("2026-02-12"))
    assert when.session == D("2026-02-12") and when.note is None


@pytest.mark.parametrize("day", ["2026-02-25", "2027-01-04", "2099-03-03"])
def test_after_the_last_session_uses_it_and_says_so(day: str) -> None:
    when = resolve_as_of(SESSIONS, D(day))
    assert when.session == D("2026-02-24")
    assert when.note == "last stored session is 2026-02-24; using it"


@pytest.mark.parametrize("day", ["2026-02-14", "2026-02-17", "2026-02-23"])  # Sat, holiday, Mon
def test_a_day_inside_the_data_without_a_session_uses_the_one_before(day: str) -> None:
    when = resolve_as_of(SESSIONS, D(day))
    assert when.session == D("2026-02-13")
    assert when.note == f"{day} is not a stored session; using 2026-02-13, the one before it"


def test_before_the_first_session_is_refused_naming_it() -> None:
    with pytest.raises(DataUnavailableError) as err:
        resolve_as_of(SESSIONS, D("2026-02-10"))
    assert str(err.value).startswith("2026-02-10 is before the first stored session, 2026-02-11")
    assert "pick a date from 2026-02-11 to 2026-02-24" in str(err.value)


def test_a_store_without_bars_is_refused_with_how_to_import() -> None:
    for day in (None, D("2026-02-12")):
        with pytest.raises(DataUnavailableError, match="the store has no bars") as err:
            resolve_as_of([], day)
        assert "screener ingest csv|parquet" in str(err.value)
