"""The date of a note, read from its text: a pick is known from that day on.

A note says when it was written near its top (title, broker line, "发布日期：…") in one of the
usual forms: 2026年2月8日, 2026-02-08, 2026/2/8, 2026.2.8, 20260208, 8 Feb 2026, Feb 8, 2026;
or as 2月8日 with the year elsewhere in the header (2026年第6周, 2026). Dates further down are
what the note talks about (截至2月6日的库存), not when it was written, so only the header and
labelled dates count.

>>> note_date("有色金属周报\\n示例证券研究所 2026年2月8日\\n正文……")
(datetime.date(2026, 2, 8), '2026年2月8日')
"""

from __future__ import annotations

import re
from datetime import date

from screener.brokers.text import normalise

HEADER_LINES = 6  # non-empty lines at the top of a note that may carry its date

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ("jan january", "feb february", "mar march", "apr april", "may", "jun june",
         "jul july", "aug august", "sep sept september", "oct october", "nov november",
         "dec december")
    )
    for m in names.split()
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_FULL = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*日?"
    r"|[-/.]\s*(?P<m2>\d{1,2})\s*[-/.]\s*(?P<d2>\d{1,2})(?!\d)"
    r"|(?P<m3>[01]\d)(?P<d3>[0-3]\d)(?!\d))"
    rf"|(?<![a-z])(?P<d4>\d{{1,2}})\s+(?P<mon4>{_MONTH})\.?,?\s+(?P<y4>(?:19|20)\d{{2}})"
    rf"|(?<![a-z])(?P<mon5>{_MONTH})\.?\s+(?P<d5>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y5>(?:19|20)\d{2})",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?!\d))")
_LABEL = re.compile(r"(?:发布日期|报告日期|发布时间|日期|date|published)\s*[:：]?\s*", re.I)


def note_date(text: str) -> tuple[date, str] | None:
    """The date a note was written, and the text it was read from; None when it has none."""
    lines = [line for line in normalise(text).split("\n") if line.strip()]
    header = "\n".join(lines[:HEADER_LINES])
    found = _first_full(header)
    if found is None:
        for m in _LABEL.finditer("\n".join(lines)):
            found = _full_at(_FULL.match("\n".join(lines), m.end()))
            if found:
                break
    return found or _month_day(header)


def _first_full(text: str) -> tuple[date, str] | None:
    for m in _FULL.finditer(text):
        found = _full_at(m)
        if found:
            return found
    return None


def _full_at(m: re.Match[str] | None) -> tuple[date, str] | None:
    """The date a match of ``_FULL`` spells, if it is a real day."""
    if m is None:
        return None
    if m["y4"] or m["y5"]:
        y, mon = m["y4"] or m["y5"], _MONTHS[(m["mon4"] or m["mon5"]).lower()]
        return _day(int(y), mon, int(m["d4"] or m["d5"]), m[0])
    month = m["m1"] or m["m2"] or m["m3"]
    return _day(int(m["y"]), int(month), int(m["d1"] or m["d2"] or m["d3"]), m[0])


def _month_day(header: str) -> tuple[date, str] | None:
    """2月8日 in the header, with the year the header states elsewhere."""
    day, year = _MONTH_DAY.search(header), _YEAR.search(header)
    if day is None or year is None:
        return None
    return _day(int(year[1]), int(day["m"]), int(day["d"]), f"{day[0]} ({year[1]})")


def _day(y: int, m: int, d: int, shown: str) -> tuple[date, str] | None:
    try:
        return date(y, m, d), shown.strip()
    except ValueError:
        return None
