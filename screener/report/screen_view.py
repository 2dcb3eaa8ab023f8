"""A screen in the terminal: ``render_screen`` turns a ``ScreenReport`` (gathered upstream by
``screen_context.screen_report``) into a rich renderable; it never reads data or prints.

It shows the ranked names (60-session sparklines of adjusted closes, rank moves against the
previous session), the metal series' moves over 1/5/20 sessions, the 801050.SI drawdown from its
250-session high, freshness warnings and, on the demo store, the synthetic-data label.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import polars as pl
from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from screener.report.colors import A_SHARE, Colors
from screener.report.fit import KEEP, Column, FitTable
from screener.report.terminal import SYNTHETIC_LABEL, synthetic_banner
from screener.schema import SECTOR_INDEX
from screener.screen import ScreenResult
from screener.screen_context import MOVE_WINDOWS, SPARK_SESSIONS, ScreenReport

# -- render -----------------------------------------------------------------------------------

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 15  # characters for 60 sessions: each shows the last close of 4 sessions
# Factor families whose values are fractions (shown as percentages).
PERCENT_PREFIXES = ("ret_", "reversal_", "drawdown_", "ma_dist_", "vol_", "downside_vol_",
                    "metal_ret_", "divergence_", "rel_strength_")  # fmt: skip


def sparkline(values: Sequence[float | None], width: int = SPARK_WIDTH) -> str:
    """Unicode block sparkline of ``values`` (None/NaN skipped), at most ``width`` characters.

    >>> sparkline([1.0, 2.0, 3.0, 2.0])
    '▁▅█▅'
    """
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if len(vals) > width:  # the last value of each of ``width`` equal buckets
        vals = [vals[math.ceil((i + 1) * len(vals) / width) - 1] for i in range(width)]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return BLOCKS[0] * len(vals)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[math.floor((v - lo) / (hi - lo) * top + 0.5)] for v in vals)


def render_screen(
    report: ScreenReport, *, group_by_metal: bool = False, colors: Colors = A_SHARE
) -> Group:
    """The screen as one rich renderable: header, context, ranked table(s), changes, warnings,
    the colour legend."""
    result = report.result
    parts: list[RenderableType] = []
    if report.synthetic:
        parts.append(synthetic_banner())
    parts += [
        _header(report),
        _sector_line(report, colors),
        _moves_table(report.metal_moves, colors),
    ]
    if result.ranked.height == 0:
        parts.append(Text(empty_reason(result), style="bold"))
    elif group_by_metal:
        for metal, rows in result.ranked.group_by("metal", maintain_order=True):
            title = str(metal[0] or "(no metal)")
            parts.append(_ranked_table(report, rows, title=title, colors=colors))
    else:
        parts.append(_ranked_table(report, result.ranked, title=None, colors=colors))
    parts += [_series_line(result)] if result.ranked.height else []
    parts.append(_changes_line(result))
    for line in coverage_lines(result):
        parts.append(Text(line, style="yellow" if line.startswith(ESTIMATED_MARK) else "dim"))
    parts += [Text(f"warning: {w}", style="yellow") for w in report.warnings]
    parts.append(Text(colors.legend, style="dim"))
    if report.synthetic:
        parts.append(Text(SYNTHETIC_LABEL, style="bold black on yellow"))
    return Group(*parts)


def _universe_label(result: ScreenResult) -> str:
    s = result.screen
    label = {"picks": f"picks:{s.picks_window_days}d", "metal": f"metal:{s.metal}"}.get(
        s.universe, s.universe
    )
    return label + (f" ({s.metal} only)" if s.metal and s.universe != "metal" else "")


def _header(report: ScreenReport) -> Text:
    r, s = report.result, report.result.screen
    data = f"close of {r.as_of}" if r.as_of else "no data"
    text = Text()
    text.append(f"{s.name}", style="bold")
    text.append(f"  {r.on} ({data})  universe {_universe_label(r)}: {r.universe_size} names, ")
    text.append(f"{r.excluded.height} excluded; top {s.top_n} by {s.score}\n")
    text.append(f"store {report.store_path}", style="dim")
    return text


def _sector_line(report: ScreenReport, colors: Colors) -> Text:
    if report.sector_close is None or report.sector_drawdown is None:
        return Text(f"{SECTOR_INDEX}: no data", style="dim")
    text = Text(f"{SECTOR_INDEX} {report.sector_close:,.2f}: ")
    text.append(f"{report.sector_drawdown:+.1%}", style=colors.style(report.sector_drawdown))
    text.append(" from its 250-session high")
    return text


def _moves_table(moves: pl.DataFrame, colors: Colors) -> FitTable:
    """Narrow, the metal shortens; then 'in use for', 'as of', the close and the longest
    moves go."""
    columns = [Column("metal", priority=KEEP, shrink=True), Column("series", priority=KEEP)]
    columns += [Column("in use for", priority=-9, shrink=True), Column("as of", priority=-8)]
    columns.append(Column("close", "right", priority=-7))
    columns += [Column(f"{k}d", "right", priority=-i) for i, k in enumerate(MOVE_WINDOWS)]
    table = FitTable(
        columns, title="metal series", box=box.SIMPLE, header_style="bold", title_justify="left"
    )
    for row in moves.iter_rows(named=True):
        changes = [_pct(row[f"chg_{k}d"], colors) for k in MOVE_WINDOWS]
        table.add_row(row["metals"], row["series_id"], row["in_use"] or "-", str(row["date"]),
                      f"{row['close']:,.2f}", *changes)  # fmt: skip
    return table


def _ranked_columns(result: ScreenResult, *, grouped: bool) -> list[Column]:
    """Rank, ticker, name and score always; narrow, the brokers, sparkline and amount go first,
    then the explaining factors from the last (a name shortens before anything goes)."""
    columns = [Column("#", "right", KEEP), Column("ticker", priority=KEEP)]
    columns.append(Column("name", priority=KEEP, shrink=True))
    columns += [] if grouped else [Column("metal", priority=-40, shrink=True)]
    columns.append(Column(_heading("score"), "right", KEEP))
    columns += [Column(_heading(c), "right", -k) for k, c in enumerate(result.explain, start=1)]
    columns.append(Column(_heading(AMOUNT_COLUMN), "right", -50))
    columns.append(Column(f"{SPARK_SESSIONS} sessions", priority=-60))
    columns.append(Column("vs\nprev", "right", -30))
    columns += [Column("brokers", priority=-70, shrink=True)] if _brokers_shown(result) else []
    return [*columns, Column("flags", priority=-20, shrink=True, style="yellow")]


def _brokers_shown(result: ScreenResult) -> bool:
    return result.screen.universe == "picks"


def _ranked_table(
    report: ScreenReport, rows: pl.DataFrame, *, title: str | None, colors: Colors
) -> FitTable:
    result = report.result
    grouped = title is not None
    numbers = ["score", *result.explain, AMOUNT_COLUMN]
    table = FitTable(  # the box draws one space between columns; no padding: 14 columns in 120
        _ranked_columns(result, grouped=grouped),
        title=title,
        box=box.SIMPLE_HEAVY,
        header_style="bold",
        title_justify="left",
        padding=0,
        pad_edge=False,
    )
    show_brokers = _brokers_shown(result)
    moves = dict(result.changes.select("ticker", "change").iter_rows())
    shifts = dict(result.changes.select("ticker", "move").iter_rows())
    for row in rows.iter_rows(named=True):
        ticker = row["ticker"]
        cells: list[str | Text] = [str(row["rank"]), ticker, row["name"] or "-"]
        cells += [] if grouped else [row["metal"] or "-"]
        estimated = bool(row["amount_estimated"])  # close x volume: the legend is under the table
        cells += [
            _number(result.screen.score if c == "score" else c, row[c], colors, estimated)
            for c in numbers
        ]
        cells += [
            _spark(report.closes, ticker, colors),
            _move(moves.get(ticker), shifts.get(ticker), colors),
        ]
        cells += [_brokers(row["brokers"])] if show_brokers else []
        cells.append(row["flags"] or "")
        table.add_row(*cells)
    return table


AMOUNT_COLUMN = "avg_amount_20d"
ESTIMATED_MARK = "≈"


# Short words for factor headings, so a factor column is as narrow as its values.
SHORT = {"drawdown": "dd", "divergence": "div", "reversal": "rev", "rel_strength": "rel str",
         "ma_dist": "ma dist", "downside_vol": "down vol", "volume_surge": "vol surge",
         "amount_surge": "amt surge", "limit_up_count": "lim-up n", "limit_down_count": "lim-dn n",
         "avg_amount": "amount", "metal_ret": "metal", "beta_sector": "β sector",
         "beta_metal": "β metal", "corr_sector": "ρ sector", "corr_metal": "ρ metal"}  # fmt: skip


def _heading(column: str) -> str:
    """Two lines, the window below: ``drawdown_250d`` -> ``dd`` over ``250d``."""
    if column == AMOUNT_COLUMN:
        return "amount\n20d m"
    stem, _, window = column.rpartition("_")
    if not stem:
        return column
    return f"{SHORT.get(stem, stem.replace('_', ' '))}\n{window}"


def _brokers(names: str | None) -> str:
    """国投证券, 中信证券 -> 国投, 中信: the suffix says nothing and costs a column."""
    if not names:
        return "-"
    return ", ".join(re.sub(r"(证券|期货|公司)$", "", n) or n for n in names.split(", "))


def _number(column: str, value: float | None, colors: Colors, estimated: bool) -> Text:
    if value is None:
        return Text("-")
    if column == AMOUNT_COLUMN:
        return Text(f"{ESTIMATED_MARK if estimated else ''}{value / 1e6:,.1f}")
    if column.startswith(PERCENT_PREFIXES):
        return _pct(value, colors)
    return Text(f"{value:.2f}")


def _pct(value: float | None, colors: Colors) -> Text:
    if value is None:
        return Text("-")
    return Text(f"{value:+.1%}", style=colors.style(value))


def _spark(closes: pl.DataFrame, ticker: str, colors: Colors) -> Text:
    values = closes.filter(pl.col("ticker") == ticker).sort("date")["adj_close"].to_list()
    line = sparkline(values)
    return Text(line, style=colors.style(values[-1] - values[0]) if len(values) > 1 else "")


def _move(change: str | None, shift: int | None, colors: Colors) -> Text:
    if change == "new":
        return Text("new", style="cyan")
    if change in ("up", "down") and shift is not None:
        arrow = "▲" if shift > 0 else "▼"
        return Text(f"{arrow}{abs(shift)}", style=colors.style(shift))
    return Text("=" if change == "same" else "-")


def empty_reason(result: ScreenResult) -> str:
    """Why a screen ranked nobody, in words, with what mends it."""
    if result.as_of is None:
        return f"no data on or before {result.on}"
    if result.universe_size == 0 and result.master_empty:
        return (
            "the universe is empty: the store has no instrument master (run `screener store init`)"
        )
    return result.coverage.why_empty(result.screen, result.on)


def _series_line(result: ScreenResult) -> Text:
    """Which series fed the ranked names' metal factors: a fallback or a USD one shows here."""
    fed = result.ranked.drop_nulls("metal_series")
    counts = fed.group_by("metal_series", "metal_currency", maintain_order=True).len()
    parts = [
        f"{sid}{' in USD (no USDCNY known)' if ccy == 'USD' else ''} ({n})"
        for sid, ccy, n in counts.iter_rows()
    ]
    return Text("metal prices from: " + (", ".join(parts) or "no metal series"), style="dim")


def _changes_line(result: ScreenResult) -> Text:
    if result.previous is None:
        return Text("no previous session to compare with", style="dim")
    changes = result.changes
    new = changes.filter(pl.col("change") == "new")["ticker"].to_list()
    dropped = changes.filter(pl.col("change") == "dropped")
    text = Text(f"since {result.previous}: ")
    text.append(f"{len(new)} new", style="cyan" if new else "")
    gone = [f"{t} {n or ''}".strip() for t, n in dropped.select("ticker", "name").iter_rows()]
    text.append(f", {len(gone)} dropped" + (f" ({', '.join(gone)})" if gone else ""))
    return text


def coverage_lines(result: ScreenResult) -> list[str]:
    """Coverage in words, every exclusion counted (HK-only picks too) and, marked with
    ``ESTIMATED_MARK``, whether amounts were estimated: the terminal, page and e-mail show these."""
    counts = Counter(
        part for reason in result.excluded["reason"].to_list() for part in reason.split(", ")
    )
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    excluded = ", ".join(f"{n} {reason}" for reason, n in ordered) or "none"
    lines = [f"coverage: {result.coverage.headline(result.screen)}", f"excluded: {excluded}"]
    estimated = result.coverage.estimate_line()
    return lines + ([f"{ESTIMATED_MARK} {estimated}"] if estimated else [])
