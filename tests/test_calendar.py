import datetime as dt
from pathlib import Path

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


def test_the_shipped_holiday_table_is_the_installed_library_s() -> None:
    """The table must be regenerated when exchange-calendars changes (see holiday_table)."""
    assert calendar.HOLIDAY_TABLE.read_text() == calendar.holiday_table()
    days, last = calendar._from_library()
    assert calendar._xshg() == (days, last)


def test_the_table_is_read_only_for_the_library_version_it_came_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A made-up table (one holiday, 2024-01-02) wins only when its version is installed."""
    installed = calendar._installed_version()
    day = dt.date(2024, 1, 2)
    for version, used in ((installed, True), ("0.0.1", False)):
        table = tmp_path / f"{version}.txt"
        table.write_text(f"exchange-calendars {version} XSHG through 2026-12-31\n{day}\n")
        monkeypatch.setattr(calendar, "HOLIDAY_TABLE", table)
        calendar._xshg.cache_clear()
        try:
            assert calendar.is_session(day) is not used
            assert calendar.is_session(dt.date(2024, 2, 12)) is used  # a real holiday
        finally:
            calendar._xshg.cache_clear()


def test_sessions_from_the_table_do_not_import_exchange_calendars() -> None:
    import subprocess
    import sys

    code = (
        "import sys, datetime as dt\n"
        "from screener import calendar\n"
        "assert len(calendar.sessions(dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 242\n"
        "print('exchange_calendars' in sys.modules, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
