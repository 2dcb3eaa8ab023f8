"""A screen in the terminal: gather its context (``screen_report``), render it (``render_screen``).

Gathering reads the store and returns a frozen ``ScreenReport`` of frames and numbers; rendering
turns that into a rich renderable and never reads data or prints. The report shows the ranked
names (60-session sparklines of adjusted closes, rank moves against the previous session), the
metal series' moves over 1/5/20 sessions, the 801050.SI drawdown from its 250-session high,
freshness warnings and, on the demo store, the synthetic-data label.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from screener import metals
from screener.config import Settings
from screener.report.terminal import SYNTHETIC_LABEL, synthetic_banner
from screener.schema import SECTOR_INDEX
from screener.screen import ScreenResult
from screener.store import Store

SPARK_SESSIONS = 60
MOVE_WINDOWS = (1, 5, 20)
DRAWDOWN_SESSIONS = 250
CLOSES_SCHEMA = {"ticker": pl.String, "date": pl.Date, "adj_close": pl.Float64}


@dataclass(frozen=True)
class ScreenReport:
    """Everything a rendered screen shows; built by ``screen_report``, rendered in report/.

    ``metal_moves``: metals, series_id, in_use, date, close, chg_1d, chg_5d, chg_20d
    (fractions); see ``metal_moves``.
    ``closes``: ticker, date, adj_close over the last 60 sessions of each ranked name.
    ``sector_drawdown``: 801050.SI close over its 250-session high, minus 1 (<= 0).
    Hand-made reports (tests, e-mail previews) may build one directly.
    """

    result: ScreenResult
    store_path: str
    synthetic: bool
    metal_moves: pl.DataFrame
    sector_close: float | None
    sector_drawdown: float | None
    closes: pl.DataFrame
    warnings: tuple[str, ...]


def screen_report(store: Store, result: ScreenResult, settings: Settings) -> ScreenReport:
    """Gather the context of a screen: metal moves, sector drawdown, sparklines, warnings."""
    as_of = result.as_of
    warnings: list[str] = []
    sector: tuple[float | None, float | None, dt.date | None] = (None, None, None)
    moves, closes = _empty_moves(), pl.DataFrame(schema=CLOSES_SCHEMA)
    if as_of is None:
        warnings.append(f"no bars on or before {result.on}: nothing to screen")
    else:
        if as_of < result.on:
            warnings.append(f"{result.on} is not a session in the store: data are from {as_of}")
        moves = metal_moves(store, as_of, max_ffill=settings.max_ffill_sessions)
        closes = _closes(store, result.ranked["ticker"].to_list(), as_of)
        sector = _sector(store, as_of)
        warnings += _stale(store, moves, sector[2], as_of, settings.max_ffill_sessions)
        warnings += _halted(result)
    return ScreenReport(
        result=result,
        store_path=str(store.path),
        synthetic=store.get_meta("data_source") == "demo",
        metal_moves=moves,
        sector_close=sector[0],
        sector_drawdown=sector[1],
        closes=closes,
        warnings=tuple(warnings),
    )


def _empty_moves() -> pl.DataFrame:
    head = {"metals": pl.String, "series_id": pl.String, "in_use": pl.String, "date": pl.Date}
    head |= {"close": pl.Float64}
    return pl.DataFrame(schema={**head, **{f"chg_{k}d": pl.Float64 for k in MOVE_WINDOWS}})


def metal_moves(store: Store, as_of: dt.date, *, max_ffill: int) -> pl.DataFrame:
    """Every metal series in the store: its change over 1, 5 and 20 of its own observations as
    known on ``as_of``, the metals it serves and (``in_use``) those it feeds on ``as_of``.

    Venues that settle after the Beijing close (LME, COMEX, FX) count only values dated before
    ``as_of``. ``in_use`` comes from ``point_in_time.metal_prices``, as the panel's; a USD series
    fed without a known USDCNY is marked "(USD)". Rows in the order of ``metals.METAL_SERIES``.
    """
    from screener.point_in_time import read_metal_prices

    ids = list(dict.fromkeys(s for chain in metals.METAL_SERIES.values() for s in chain))
    start = as_of - dt.timedelta(days=3 * max(MOVE_WINDOWS) + 40)
    series = store.read_series(ids, start=start, end=as_of)
    lagged = [s for s in ids if metals.known_next_session(s)]
    known = series.filter(
        pl.when(pl.col("series_id").is_in(lagged))
        .then(pl.col("date") < as_of)
        .otherwise(pl.col("date") <= as_of)
    ).select("series_id", "date", close=pl.coalesce("close", "settle"))
    changes = [
        (pl.col("close") / pl.col("close").shift(k) - 1).over("series_id").alias(f"chg_{k}d")
        for k in MOVE_WINDOWS
    ]
    last = known.drop_nulls("close").sort("series_id", "date").with_columns(changes)
    last = last.group_by("series_id", maintain_order=True).last()
    sessions = [d for d in store.sessions() if d <= as_of][-(max_ffill + 2) :]
    fed = read_metal_prices(store, metals.METALS, sessions, max_ffill=max_ffill).filter(
        (pl.col("date") == as_of) & pl.col("close").is_not_null()
    )
    usd = pl.col("currency") == "USD"
    label = pl.when(usd).then(pl.col("metal") + " (USD)").otherwise("metal")
    in_use = fed.group_by("series_id", maintain_order=True).agg(in_use=label.str.join(", "))
    order = pl.DataFrame(
        {"series_id": ids, "metals": [", ".join(metals.metals_served(s)) for s in ids]}
    )
    return (
        order.join(last, on="series_id", how="inner", maintain_order="left")
        .join(in_use, on="series_id", how="left", maintain_order="left")
        .select(_empty_moves().columns)
    )


def _sector(store: Store, as_of: dt.date) -> tuple[float | None, float | None, dt.date | None]:
    """801050.SI close on its last date <= as_of, its drawdown from the 250-session high."""
    start = as_of - dt.timedelta(days=2 * DRAWDOWN_SESSIONS)
    index = store.read_index([SECTOR_INDEX], start=start, end=as_of).drop_nulls("close")
    if index.height == 0:
        return None, None, None
    closes = index["close"].tail(DRAWDOWN_SESSIONS)
    last = float(closes[-1])
    return last, last / float(closes.max()) - 1, index["date"][-1]  # type: ignore[arg-type]


def _closes(store: Store, tickers: list[str], as_of: dt.date) -> pl.DataFrame:
    """Adjusted closes of the last ``SPARK_SESSIONS`` bars of each ticker, for sparklines."""
    start = as_of - dt.timedelta(days=2 * SPARK_SESSIONS + 30)
    bars = store.read_bars(tickers, start=start, end=as_of)
    return (
        bars.select("ticker", "date", adj_close=pl.col("close") * pl.col("adj_factor"))
        .group_by("ticker", maintain_order=True)
        .tail(SPARK_SESSIONS)
    )


def _stale(
    store: Store, moves: pl.DataFrame, sector_date: dt.date | None, as_of: dt.date, limit: int
) -> list[str]:
    """A series (or the sector index) whose last value is more than ``limit`` sessions old."""
    sessions = [d for d in store.sessions() if d <= as_of]

    def age(day: dt.date) -> int:
        return sum(1 for d in sessions if d > day)

    out = []
    if sector_date is None:
        out.append(f"no {SECTOR_INDEX} data on or before {as_of}")
    elif age(sector_date) > limit:
        out.append(f"{SECTOR_INDEX} is stale: last value {sector_date}")
    for sid, day in moves.select("series_id", "date").iter_rows():
        if age(day) > limit + 1:  # +1: after-close venues are a session behind by design
            out.append(f"{sid} is stale: last value {day}, {age(day)} sessions before {as_of}")
    return out


def _halted(result: ScreenResult) -> list[str]:
    """Universe names that did not trade on the screen date."""
    halted = result.excluded.filter(pl.col("reason").str.contains("suspended|no bar"))
    if halted.height == 0:
        return []
    names = ", ".join(
        f"{t} {n or ''}".strip() for t, n in halted.select("ticker", "name").iter_rows()
    )
    return [f"{halted.height} universe name(s) did not trade on {result.as_of}: {names}"]


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


def render_screen(report: ScreenReport, *, group_by_metal: bool = False) -> Group:
    """The screen as one rich renderable: header, context, ranked table(s), changes, warnings."""
    result = report.result
    parts: list[RenderableType] = []
    if report.synthetic:
        parts.append(synthetic_banner())
    parts += [_header(report), _sector_line(report), _moves_table(report.metal_moves)]
    if result.ranked.height == 0:
        parts.append(Text(empty_reason(result), style="bold"))
    elif group_by_metal:
        for metal, rows in result.ranked.group_by("metal", maintain_order=True):
            parts.append(_ranked_table(report, rows, title=str(metal[0] or "(no metal)")))
    else:
        parts.append(_ranked_table(report, result.ranked, title=None))
    parts += [_series_line(result)] if result.ranked.height else []
    parts.append(_changes_line(result))
    for line in coverage_lines(result):
        parts.append(Text(line, style="yellow" if line.startswith(ESTIMATED_MARK) else "dim"))
    parts += [Text(f"warning: {w}", style="yellow") for w in report.warnings]
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


def _sector_line(report: ScreenReport) -> Text:
    if report.sector_close is None or report.sector_drawdown is None:
        return Text(f"{SECTOR_INDEX}: no data", style="dim")
    text = Text(f"{SECTOR_INDEX} {report.sector_close:,.2f}: ")
    text.append(f"{report.sector_drawdown:+.1%}", style=_sign_style(report.sector_drawdown))
    text.append(" from its 250-session high")
    return text


def _moves_table(moves: pl.DataFrame) -> Table:
    table = Table(title="metal series", box=box.SIMPLE, header_style="bold", title_justify="left")
    for col in ("metal", "series", "in use for", "as of"):
        table.add_column(col)
    for col in ("close", *(f"{k}d" for k in MOVE_WINDOWS)):
        table.add_column(col, justify="right")
    for row in moves.iter_rows(named=True):
        changes = [_pct(row[f"chg_{k}d"]) for k in MOVE_WINDOWS]
        table.add_row(row["metals"], row["series_id"], row["in_use"] or "-", str(row["date"]),
                      f"{row['close']:,.2f}", *changes)  # fmt: skip
    return table


def _ranked_table(report: ScreenReport, rows: pl.DataFrame, *, title: str | None) -> Table:
    result = report.result
    grouped = title is not None
    numbers = ["score", *result.explain, AMOUNT_COLUMN]
    table = Table(  # the box draws one space between columns; no padding: 14 columns in 120
        title=title,
        box=box.SIMPLE_HEAVY,
        header_style="bold",
        title_justify="left",
        padding=0,
        pad_edge=False,
    )
    table.add_column("#", justify="right", no_wrap=True)
    for col in ("ticker", "name", *([] if grouped else ["metal"])):
        table.add_column(col, no_wrap=True)
    for col in numbers:
        table.add_column(_heading(col), justify="right", no_wrap=True)
    table.add_column(f"{SPARK_SESSIONS} sessions", no_wrap=True)
    table.add_column("vs\nprev", justify="right", no_wrap=True)
    show_brokers = result.screen.universe == "picks"
    if show_brokers:
        table.add_column("brokers")
    table.add_column("flags")
    moves = dict(result.changes.select("ticker", "change").iter_rows())
    shifts = dict(result.changes.select("ticker", "move").iter_rows())
    for row in rows.iter_rows(named=True):
        ticker = row["ticker"]
        cells: list[RenderableType] = [str(row["rank"]), ticker, row["name"] or "-"]
        cells += [] if grouped else [row["metal"] or "-"]
        estimated = bool(row["amount_estimated"])  # close x volume: the legend is under the table
        cells += [
            _number(result.screen.score if c == "score" else c, row[c], estimated=estimated)
            for c in numbers
        ]
        cells += [_spark(report.closes, ticker), _move(moves.get(ticker), shifts.get(ticker))]
        cells += [_brokers(row["brokers"])] if show_brokers else []
        cells.append(Text(row["flags"] or "", style="yellow"))
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


def _number(column: str, value: float | None, *, estimated: bool = False) -> Text:
    if value is None:
        return Text("-")
    if column == AMOUNT_COLUMN:
        return Text(f"{ESTIMATED_MARK if estimated else ''}{value / 1e6:,.1f}")
    if column.startswith(PERCENT_PREFIXES):
        return _pct(value)
    return Text(f"{value:.2f}")


def _pct(value: float | None) -> Text:
    if value is None:
        return Text("-")
    return Text(f"{value:+.1%}", style=_sign_style(value))


def _sign_style(value: float) -> str:
    return "green" if value > 0 else "red" if value < 0 else ""


def _spark(closes: pl.DataFrame, ticker: str) -> Text:
    values = closes.filter(pl.col("ticker") == ticker).sort("date")["adj_close"].to_list()
    line = sparkline(values)
    return Text(line, style=_sign_style(values[-1] - values[0]) if len(values) > 1 else "")


def _move(change: str | None, shift: int | None) -> Text:
    if change == "new":
        return Text("new", style="cyan")
    if change in ("up", "down") and shift is not None:
        arrow = "▲" if shift > 0 else "▼"
        return Text(f"{arrow}{abs(shift)}", style=_sign_style(shift))
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
