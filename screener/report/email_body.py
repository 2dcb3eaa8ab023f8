"""The daily screen as an e-mail body: escaped HTML with an inline chart, and plain text.

``screen_email`` returns exactly what ``mail.compose`` takes: the HTML refers to its chart as
``cid:chart`` and the PNG travels in ``images["chart"]``. Styles are inline because many mail
clients drop ``<style>`` blocks; the text part aligns its columns for a monospace font, counting
a Chinese character as two columns.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from functools import partial

from screener.report import charts
from screener.report.colors import A_SHARE, Colors
from screener.report.html import ScreenReportData, TableView, environment, screen_chart, table_view
from screener.report.terminal import SYNTHETIC_LABEL

CHART_CID = "chart"
CHART_INCHES = 6.5
SUBJECT_NAMES = 3
_CELL = "padding:3px 8px;border-bottom:1px solid #e4e7ec;text-align:left;"
_NUM = "text-align:right;white-space:nowrap;"


def screen_email(
    data: ScreenReportData, *, dpi: int = 150, colors: Colors = A_SHARE
) -> tuple[str, str, dict[str, bytes]]:
    """(html, text, images) for ``mail.compose``; no chart image without a sector history.

    The chart is drawn 6.5 inches wide, the 648 px column at 100 dpi, and rendered at ``dpi``
    so it stays sharp on high-density screens.
    """
    fig = screen_chart(data, width=CHART_INCHES)
    images = {} if fig is None else {CHART_CID: charts.to_png(fig, dpi=dpi)}
    html = (
        environment()
        .get_template("screen_email.html.j2")
        .render(
            data=data,
            synthetic_label=SYNTHETIC_LABEL,
            colors=colors,
            chart_cid=CHART_CID if images else None,
            ranked=table_view(data.ranked),
            moves=table_view(data.metal_moves),
            cell_style=partial(cell_style, colors=colors),
        )
    )
    return html, screen_text(data), images


def cell_style(cls: str, *, colors: Colors = A_SHARE) -> str:
    """Inline CSS for a table cell of the given ``Cell.cls`` classes (mail clients drop the
    page's stylesheet, so a rise's colour is written into each cell)."""
    styles = {"num": _NUM, "up": f"color:{colors.up.hex};", "down": f"color:{colors.down.hex};"}
    return _CELL + "".join(styles.get(part, "") for part in cls.split())


def screen_subject(
    date: dt.date,
    top_names: Sequence[str],
    *,
    synthetic: bool = False,
    shown: int = SUBJECT_NAMES,
    empty: str | None = None,
) -> str:
    """'[screener] 2026-02-06 screen: 紫金矿业, 江西铜业, 洛阳钼业 (+3)'; without names,
    'screen: no names: <empty>' (why, from ``ScreenReportData.empty``), so the inbox says why.

    Names are folded to one line each, so a stray newline can never start a new header.
    """
    names = [" ".join(name.split()) for name in top_names]
    why = f"no names: {' '.join(empty.split())}" if empty else "no names"
    listed = ", ".join(names[:shown]) or why
    more = f" (+{len(names) - shown})" if len(names) > shown else ""
    tag = "[screener] [SYNTHETIC]" if synthetic else "[screener]"
    return f"{tag} {date.isoformat()} screen: {listed}{more}"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospace font: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def text_table(view: TableView) -> list[str]:
    """The table as aligned lines: a header, a rule, then one line per row."""
    cells = [[c.text for c in row] for row in view.rows]
    widths = [
        max([display_width(col), *(display_width(row[i]) for row in cells)])
        for i, col in enumerate(view.columns)
    ]

    def line(values: Sequence[str]) -> str:
        parts = zip(values, widths, view.numeric, strict=True)
        return "  ".join(_pad(v, w, right=num) for v, w, num in parts).rstrip()

    return [line(view.columns), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def screen_text(data: ScreenReportData) -> str:
    """The plain-text alternative: the same sections as the HTML, without the chart."""
    lines = [f"{data.title} - {data.date.isoformat()}"]
    if data.synthetic:
        lines.append(f"*** {SYNTHETIC_LABEL} ***")
    lines.append("")
    if data.warnings:
        lines += ["Warnings:", *(f"  - {w}" for w in data.warnings), ""]
    lines += ["Ranked names", *text_table(table_view(data.ranked)), ""]
    lines += [*data.coverage, ""] if data.coverage else []
    lines += [f"New: {', '.join(data.new) or 'none'}"]
    lines += [f"Dropped: {', '.join(data.dropped) or 'none'}", ""]
    lines += ["Metal moves", *text_table(table_view(data.metal_moves))]
    return "\n".join(lines) + "\n"
