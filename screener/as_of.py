"""As-of dates: which stored session a command asked about date D reads. One rule, one home.

``factors``, ``screen``, ``email`` and ``run-daily`` all resolve their date here, so they agree:

- no D: the last stored session;
- D after the last stored session: the last stored session, with a note saying so (a store is
  often a day behind the calendar, and yesterday's close is what there is to look at);
- D inside the data but not a stored session (a weekend, a holiday, a day the store lacks): the
  last stored session before it, with a note;
- D before the first stored session: refused, naming the first one (there is nothing to show,
  and an empty answer would look like a real one).

A stored session is a date with at least one traded stock bar (``Store.sessions``).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from screener.errors import DataUnavailableError


@dataclass(frozen=True)
class AsOf:
    """The session to read for ``requested`` (None: the latest), and the store's last one."""

    requested: dt.date | None
    session: dt.date
    last: dt.date

    @property
    def note(self) -> str | None:
        """One line when the session is not the date asked for; None when it is."""
        if self.requested is None or self.requested == self.session:
            return None
        if self.requested > self.last:
            return f"last stored session is {self.session}; using it"
        return f"{self.requested} is not a stored session; using {self.session}, the one before it"


def resolve_as_of(sessions: Sequence[dt.date], requested: dt.date | None) -> AsOf:
    """Apply the rule above to ``sessions`` (sorted, as ``Store.sessions`` returns them)."""
    if not sessions:
        raise DataUnavailableError(
            "the store has no bars",
            hint="import some: `screener ingest csv|parquet FILE...` (or `screener ingest demo`)",
        )
    last = sessions[-1]
    if requested is None:
        return AsOf(None, last, last)
    i = bisect_right(sessions, requested)
    if i == 0:
        raise DataUnavailableError(
            f"{requested} is before the first stored session, {sessions[0]}",
            hint=f"pick a date from {sessions[0]} to {last}",
        )
    return AsOf(requested, sessions[i - 1], last)
