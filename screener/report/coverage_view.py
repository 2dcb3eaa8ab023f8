"""``screener store check`` in the terminal: a ``coverage.Coverage`` as one rich renderable.

Tables first (span, size, gaps, sessions missing against XSHG), then each metal's series in
order of preference, then the names that lack something, and last what to import next.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from screener.coverage import GAP_DAYS, Coverage, TableCoverage
from screener.report.fit import KEEP, Column, FitTable

SHOWN = 5  # names listed on a line before "and N more"


def render_coverage(cov: Coverage) -> Group:
    """Every part of ``cov``; nothing is queried here."""
    parts: list[RenderableType] = [
        _tables(cov),
        _metals(cov.metals),
        _names_line(
            f"master ({cov.master_rows} instruments): A-shares without bars", cov.without_bars
        ),
        _names_line("tickers with bars not in the master", cov.not_in_master),
        _names_line("names with bars and no metal series", cov.without_series),
        _amount_line(cov.no_amount),
        _next_steps(cov),
    ]
    return Group(*parts)


def _tables(cov: Coverage) -> FitTable:
    """Narrow, the list of missing sessions shortens first, then the gap columns go."""
    names = ("table", "rows", "keys", "first", "last", f"gaps > {GAP_DAYS} d", "longest gap")
    columns = [
        Column(c, "right" if c in ("rows", "keys") else "left", -k) for k, c in enumerate(names)
    ]
    columns[0] = Column("table", priority=KEEP)
    columns.append(Column("XSHG sessions missing", priority=-1, shrink=True))
    table = FitTable(columns, title=f"store {cov.path}", box=box.SIMPLE_HEAVY, header_style="bold")
    for t in cov.tables:
        table.add_row(
            t.table,
            f"{t.rows:,}",
            f"{t.keys:,}",
            _day(t.first),
            _day(t.last),
            f"{t.gaps.height:,}",
            _longest(t.gaps),
            _missing(t),
        )
    return table


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day else "-"


def _longest(gaps: pl.DataFrame) -> str:
    if gaps.height == 0:
        return "-"
    key, after, before, days = gaps.sort("days", descending=True).row(0)
    return f"{days} d: {key} {after} .. {before}"


def _missing(t: TableCoverage) -> str:
    if t.checked is None:
        return "not checked (own venue calendar)" if t.rows else "-"
    lo, hi = t.checked
    shown = ", ".join(d.isoformat() for d in t.missing_sessions[:SHOWN])
    more = f" and {len(t.missing_sessions) - SHOWN} more" if len(t.missing_sessions) > SHOWN else ""
    head = f"{len(t.missing_sessions)} in {lo} .. {hi}"
    return head + (f": {shown}{more}" if shown else "")


def _metals(frame: pl.DataFrame) -> FitTable:
    names = ("metal", "names", "#", "series", "rows", "first", "last")
    columns = [
        Column(c, "right" if c in ("names", "#", "rows") else "left", -k)
        for k, c in enumerate(names)
    ]
    title = "metal series, in order of preference"
    table = FitTable(columns, title=title, box=box.SIMPLE, header_style="bold")
    for row in frame.iter_rows(named=True):
        first = row["preference"] == 1
        present = row["rows"] is not None
        table.add_row(
            row["metal"] if first else "",
            str(row["names"]) if first else "",
            str(row["preference"]),
            Text(row["series_id"], style="" if present else "red"),
            f"{row['rows']:,}" if present else "absent",
            _day(row["first"]),
            _day(row["last"]),
        )
    return table


def _names_line(label: str, frame: pl.DataFrame) -> Text:
    if frame.height == 0:
        return Text(f"{label}: none", style="dim")
    named = "name" in frame.columns
    items = [f"{r['ticker']} {r['name'] or ''}".strip() if named else r["ticker"]
             for r in frame.head(SHOWN).iter_rows(named=True)]  # fmt: skip
    more = f" and {frame.height - SHOWN} more" if frame.height > SHOWN else ""
    return Text(f"{label}: {frame.height}: {', '.join(items)}{more}")


def _amount_line(no_amount: pl.DataFrame) -> Text:
    if no_amount.height == 0:
        return Text("bars without amount: none", style="dim")
    rows = int(no_amount["no_amount"].sum())
    return Text(
        f"bars without amount: {rows:,} row(s) of {no_amount.height} ticker(s) "
        "(liquidity uses close x volume there)",
        style="yellow",
    )


def _next_steps(cov: Coverage) -> Text:
    if not cov.next_steps:
        return Text("what to import next: nothing, every check passed", style="green")
    text = Text("what to import next:\n", style="bold")
    for i, step in enumerate(cov.next_steps, start=1):
        text.append(f"{i}. {step.why}\n", style="")
        text.append(f"   {step.command}\n", style="cyan")
    text.rstrip()
    return text
