"""XSHG trading sessions (SSE and SZSE share holidays).

exchange_calendars knows holidays up to its ``bound_max`` (2026-12-31 in 4.13.2). Past that we
fall back to weekdays and warn once, so nothing crashes on 2027-01-04; a store's own bar dates
(``Store.sessions``) are the better source there and callers may pass them in as ``known``.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

FIRST_SESSION = dt.date(2005, 1, 4)


class CalendarEndWarning(UserWarning):
    """Dates past the exchange calendar's holiday table are treated as weekday sessions."""


@functools.cache
def _xshg() -> tuple[tuple[dt.date, ...], dt.date]:
    import exchange_calendars as xcals  # lazy: pulls pandas, ~0.5 s

    cal = xcals.get_calendar("XSHG", start=FIRST_SESSION.isoformat())
    last = cal.last_session.date()
    days = tuple(ts.date() for ts in cal.sessions)
    return days, last


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
