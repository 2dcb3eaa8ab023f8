"""XSHG trading sessions (SSE and SZSE share holidays).

exchange_calendars knows holidays up to its ``bound_max`` (2026-12-31 in 4.13.x). Past that we
fall back to weekdays and warn once, so nothing crashes on 2027-01-04; a store's own bar dates
(``Store.sessions``) are the better source there and callers may pass them in as ``known``.

Importing exchange_calendars costs 0.4-0.5 s (pandas), a third of a one-date screen. So its
weekday holidays ship with the package (``xshg_holidays.txt``, written by ``holiday_table``
and checked against the library by a test) and the library is imported only when the installed
version is not the one the table came from (a newer one may know the next year's holidays).
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

FIRST_SESSION = dt.date(2005, 1, 4)
HOLIDAY_TABLE = Path(__file__).with_name("xshg_holidays.txt")


class CalendarEndWarning(UserWarning):
    """Dates past the exchange calendar's holiday table are treated as weekday sessions."""


@functools.cache
def _xshg() -> tuple[tuple[dt.date, ...], dt.date]:
    """All sessions from FIRST_SESSION and the last date the holiday table covers."""
    version, last, holidays = _read_table(HOLIDAY_TABLE.read_text())
    if _installed_version() not in (None, version):
        return _from_library()
    return _weekdays(FIRST_SESSION, last, set(holidays)), last


def _installed_version() -> str | None:
    try:
        return metadata.version("exchange-calendars")
    except metadata.PackageNotFoundError:
        return None


def _from_library() -> tuple[tuple[dt.date, ...], dt.date]:
    import exchange_calendars as xcals  # lazy: pulls pandas, ~0.5 s

    cal = xcals.get_calendar("XSHG", start=FIRST_SESSION.isoformat())
    last = cal.last_session.date()
    days = tuple(ts.date() for ts in cal.sessions)
    return days, last


def _weekdays(start: dt.date, end: dt.date, skip: set[dt.date]) -> tuple[dt.date, ...]:
    count = (end - start).days + 1
    every = (start + dt.timedelta(days=k) for k in range(count))
    return tuple(d for d in every if d.weekday() < 5 and d not in skip)


def holiday_table() -> str:
    """The text of ``xshg_holidays.txt`` from the installed exchange_calendars: its version,
    the last date it covers, then every weekday without a session, one per line.
    Regenerate: ``python -c "from screener import calendar as c;
    c.HOLIDAY_TABLE.write_text(c.holiday_table())"``."""
    days, last = _from_library()
    holidays = sorted(set(_weekdays(FIRST_SESSION, last, set())) - set(days))
    head = f"exchange-calendars {_installed_version()} XSHG through {last}"
    return "\n".join([head, *(d.isoformat() for d in holidays)]) + "\n"


def _read_table(text: str) -> tuple[str, dt.date, list[dt.date]]:
    head, *rows = text.splitlines()
    _, version, _, _, last = head.split()
    return version, dt.date.fromisoformat(last), [dt.date.fromisoformat(r) for r in rows]


@functools.cache
def _warn_past_end(last: dt.date) -> None:
    warnings.warn(
        f"the XSHG holiday table ends on {last}: later dates are treated as weekday sessions "
        "(upgrade exchange-calendars for the new year's holidays)",
        CalendarEndWarning,
        stacklevel=3,
    )


def calendar_end() -> dt.date:
    """Last date the holiday table covers."""
    return _xshg()[1]


def sessions(start: dt.date, end: dt.date, *, known: Sequence[dt.date] = ()) -> list[dt.date]:
    """Sessions in [start, end]; past the table's end: ``known`` dates, else weekdays."""
    days, last = _xshg()
    out = list(days[bisect_left(days, start) : bisect_right(days, min(end, last))])
    if end > last:
        _warn_past_end(last)
        tail_start = max(start, last + dt.timedelta(days=1))
        known_tail = sorted(d for d in known if tail_start <= d <= end)
        if known_tail:
            out += known_tail
        else:
            d = tail_start
            while d <= end:
                if d.weekday() < 5:
                    out.append(d)
                d += dt.timedelta(days=1)
    return out


def is_session(day: dt.date) -> bool:
    return sessions(day, day) == [day]


def next_session(day: dt.date) -> dt.date:
    """First session strictly after ``day``."""
    found = sessions(day + dt.timedelta(days=1), day + dt.timedelta(days=30))
    return found[0]


def previous_session(day: dt.date) -> dt.date:
    """Last session strictly before ``day``."""
    found = sessions(day - dt.timedelta(days=30), day - dt.timedelta(days=1))
    return found[-1]


def last_session_on_or_before(day: dt.date) -> dt.date:
    found = sessions(day - dt.timedelta(days=30), day)
    return found[-1]
