"""Rich renderables for the terminal. Returns renderables; never prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from screener.report.fit import KEEP, Column, FitTable

if TYPE_CHECKING:
    from screener.coverage import StoreSummary

SYNTHETIC_LABEL = "SYNTHETIC DEMO DATA: not real prices"
# Metric names shown as percentages in metric tables: returns with a sign, shares without.
SIGNED_PCT = frozenset(
    {
        "total_return",
        "annual_return",
        "max_drawdown",
        "avg_win",
        "avg_loss",
        "excess_return",
        "alpha",
        "mean_return",
        "mean_excess",
        "median_excess",
        "test_return",
    }
)
PCT = frozenset({"volatility", "hit_rate", "exposure"})
# Columns of words that may end in an ellipsis when the terminal is narrow (never numbers).
TEXT_COLUMNS = frozenset(
    {"name", "meaning", "description", "thesis_path", "note", "flags", "brokers", "reasons"}
)
KEYS = frozenset({"ticker", "run_id", "factor", "metric"})  # never left out


def metric_format(name: str) -> str | None:
    """How a metric called ``name`` prints: a signed or a plain percentage, or None."""
    if name in SIGNED_PCT:
        return "{:+.2%}"
    return "{:.2%}" if name in PCT else None


def frame_table(
    frame: pl.DataFrame,
    *,
    title: str | None = None,
    float_digits: int = 4,
    metrics: bool = False,
    first: Sequence[str] = (),
) -> FitTable:
    """Any polars frame as a table; numbers right-aligned, nulls shown as '-'.

    A float column holding only whole numbers (a parameter grid, a count) prints without
    decimals. With ``metrics``, columns named in SIGNED_PCT and PCT print as percentages
    (CSV and JSON keep the fractions). In a narrow terminal, columns holding one value are
    left out first, then the rightmost, then those named in ``first``; the first column and
    KEYS always stay.
    """
    columns, formats = [], []
    for k, (col, dtype) in enumerate(frame.schema.items()):
        keep = k == 0 or col in KEYS
        priority = KEEP if keep else len(first) - first.index(col) if col in first else -k
        if not keep and frame.height > 1 and frame.get_column(col).n_unique() == 1:
            priority -= len(frame.columns)  # one value on every row (a date): it tells least
        right = dtype.is_numeric()
        shrink = col in TEXT_COLUMNS and not right
        columns.append(Column(col, "right" if right else "left", priority, shrink))
        percent = metric_format(col) if metrics else None
        if percent:
            formats.append(percent)
        elif dtype.is_float() and _whole(frame.get_column(col)):
            formats.append("{:,.0f}")
        else:
            formats.append("")
    rows = [
        [_cell(v, float_digits, f) for v, f in zip(row, formats, strict=True)]
        for row in frame.iter_rows()
    ]
    return FitTable(columns, rows, title=title, box=box.SIMPLE_HEAVY, header_style="bold")


def factor_card(values: pl.DataFrame, factors: list[str], *, title: str | None = None) -> FitTable:
    """Factors down, tickers across: each ticker's value, then its rank (1 = best).

    For a few names (``screener factors --tickers``), where one row per ticker would need a
    column per factor and per rank. Narrow, the ranks go first, then the last tickers.
    """
    columns = [Column("factor", priority=KEEP)]
    for k, ticker in enumerate(values.get_column("ticker")):
        columns.append(Column(ticker, "right", priority=-k))
        columns.append(Column("rank", "right", priority=-k - 100, style="dim"))
    table = FitTable(columns, title=title, box=box.SIMPLE_HEAVY, header_style="bold")
    for name in factors:
        cells = []
        for value, rank in values.select(name, f"{name}_rank").iter_rows():
            cells += [_cell(value, 4, ""), "-" if rank is None else f"{rank:.2f}"]
        table.add_row(name, *cells)
    return table


def _whole(column: pl.Series) -> bool:
    values = column.drop_nulls().drop_nans()
    return values.len() > 0 and bool((values.abs() < 1e15).all() and (values % 1 == 0).all())


def _cell(value: Any, digits: int, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if fmt:
            return fmt.format(value)
        # amounts in yuan and share counts read best whole, with separators
        return f"{value:,.0f}" if abs(value) >= 1e6 else f"{value:.{digits}f}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def store_info_table(info: dict[str, Any], *, banner: bool = True) -> Group:
    columns = [Column("table", priority=KEEP), Column("rows", "right", KEEP)]
    columns += [Column("first", priority=-1), Column("last", priority=-2)]
    table = FitTable(
        columns, title=f"store {info['path']}", box=box.SIMPLE_HEAVY, header_style="bold"
    )
    for name, entry in info["tables"].items():
        table.add_row(
            name,
            f"{entry['rows']:,}",
            entry.get("first_date") or "-",
            entry.get("last_date") or "-",
        )
    parts: list[Any] = [table]
    if banner and info["meta"].get("data_source") == "demo":
        parts.insert(0, synthetic_banner())
    return Group(*parts)


def synthetic_banner() -> Panel:
    return Panel(Text(SYNTHETIC_LABEL, style="bold black on yellow", justify="center"))


def store_summary_view(summary: StoreSummary) -> Group:
    """What the store holds: tickers by metal and board, date ranges, series, row counts."""
    parts: list[Any] = []
    if summary.synthetic:
        parts.append(synthetic_banner())
    parts += [
        frame_table(summary.by_metal, title="A-share tickers by metal"),
        frame_table(summary.by_board, title="A-share tickers by board"),
        frame_table(summary.series, title="commodity and FX series"),
        store_info_table(summary.info, banner=False),
    ]
    return Group(*parts)


def marked_text(text: str, names: list[str], *, title: str = "text as read") -> Panel:
    """A note's text with every written name of a pick in reverse video (what became picks)."""
    out = Text(text)
    for name in sorted(set(filter(None, names)), key=len, reverse=True):
        out.highlight_words([name], style="reverse bold")
    return Panel(out, title=title, title_align="left")
