import datetime as dt

import pytest

from screener import calendar


def test_spring_festival_2026_closure() -> None:
    days = calendar.sessions(dt.date(2026, 2, 12), dt.date(2026, 2, 25))
    assert days == [
        dt.date(2026, 2, 12),
        dt.date(2026, 2, 13),
        dt.date(2026, 2, 24),
        dt.date(2026, 2, 25),
    ]
    assert calendar.next_session(dt.date(2026, 2, 13)) == dt.date(2026, 2, 24)
    assert calendar.previous_session(dt.date(2026, 2, 24)) == dt.date(2026, 2, 13)


def test_weekend_and_makeup_saturday_are_not_sessions() -> None:
    assert not calendar.is_session(dt.date(2026, 2, 14))  # a make-up working Saturday
    assert calendar.is_session(dt.date(2026, 2, 6))


def test_session_counts_per_year() -> None:
    assert len(calendar.sessions(dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 242
    assert len(calendar.sessions(dt.date(2025, 1, 1), dt.date(2025, 12, 31))) == 243


def test_past_the_holiday_table_falls_back_to_weekdays_with_a_warning() -> None:
    end = calendar.calendar_end()
    assert end >= dt.date(2026, 12, 31)
    start = end + dt.timedelta(days=1)
    calendar._warn_past_end.cache_clear()
    with pytest.warns(calendar.CalendarEndWarning, match="holiday table ends"):
        days = calendar.sessions(start, start + dt.timedelta(days=13))
    assert days and all(d.weekday() < 5 for d in days)
    assert len(days) == 10
    assert calendar.next_session(end) > end  # never crashes past the table


def test_known_dates_beat_weekdays_past_the_end() -> None:
    end = calendar.calendar_end()
    known = [end + dt.timedelta(days=5), end + dt.timedelta(days=6)]
    got = calendar.sessions(end - dt.timedelta(days=3), end + dt.timedelta(days=20), known=known)
    assert got[-2:] == known
