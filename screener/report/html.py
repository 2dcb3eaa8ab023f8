"""Self-contained HTML reports: a backtest tear sheet and the daily screen.

Pages open offline: CSS is inline, charts are inline SVG, and nothing refers to a URL. Jinja2
autoescapes every value, so a name, note or description is always shown as text; only the SVG
made by ``charts`` is marked safe. Renderers return strings; ``write_report`` is the one writer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from screener.report import charts
from screener.report.colors import A_SHARE, Colors
from screener.report.terminal import SYNTHETIC_LABEL
from screener.thesis.metrics import drawdown_series
from screener.thesis.tearsheet import Distribution, TearSheet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DASH = "-"
NOT_RECOVERED = "not recovered"
# (metrics key, label, format) in display order; absent keys show as "-".
METRICS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"),
    ("annual_return", "Annual return", "pct"),
    ("volatility", "Volatility (annual)", "pct"),
    ("sharpe", "Sharpe", "ratio"),
    ("sortino", "Sortino", "ratio"),
    ("calmar", "Calmar", "ratio"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("max_drawdown_start", "Drawdown start", "text"),
    ("max_drawdown_trough", "Drawdown trough", "text"),
    ("max_drawdown_end", "Drawdown recovered", "text"),
    ("hit_rate", "Hit rate", "pct"),
    ("avg_win", "Average win", "pct"),
    ("avg_loss", "Average loss", "pct"),
    ("exposure", "Exposure", "pct"),
    ("turnover", "Turnover (x a year)", "ratio"),
    ("costs_paid", "Costs paid (CNY)", "money"),
    ("trades", "Trades", "int"),
    ("episodes", "Episodes", "int"),
)
BENCHMARK_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Benchmark return", "pct"),
    ("excess_return", "Excess return", "pct"),
    ("beta", "Beta", "ratio"),
    ("alpha", "Alpha (annual)", "pct"),
    ("information_ratio", "Information ratio", "ratio"),
)


@dataclass(frozen=True)
class SweepGrid:
    """A parameter sweep: one row per run, two parameter columns and the metric to colour."""

    frame: pl.DataFrame
    x: str
    y: str
    metric: str


@dataclass(frozen=True)
class BacktestReportData:
    """Everything the backtest page shows; frames follow ``analytics``' column contracts."""

    title: str
    thesis_summary: Mapping[str, Any]  # name, description, file, sha256
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]  # analytics.performance_metrics (+ episodes)
    equity: pl.DataFrame  # date, value
    benchmarks: Mapping[str, pl.DataFrame]  # name -> (date, close)
    monthly_returns: pl.DataFrame  # year, month, ret
    trades: pl.DataFrame  # every round trip (tearsheet.trade_list), shown as they are
    data_range: tuple[dt.date, dt.date]
    manifest: Mapping[str, Any]
    synthetic: bool
    verdict: str | None = None  # the run's one line (verdict.py)
    placebo: Mapping[str, Any] | None = None  # placebo.placebo
    event_marks: Mapping[str, Any] | None = None  # entry_at, model, level: the chart's marks
    event_verdict: str | None = None  # the event study's one line
    episode_label: str = "Trigger episodes"  # or "Rebalances"
    event_car: pl.DataFrame | None = None  # rel_day, role, car, lo, hi
    event_summary: Mapping[str, Any] | None = None  # incl. "episodes" and t-stats
    sweep: SweepGrid | None = None
    episodes: pl.DataFrame | None = None  # runs.Compiled.episodes: dates and coverage
    episode_notes: Sequence[str] = ()  # screen_coverage.episode_lines
    tear: TearSheet | None = None  # rolling risk, drawdowns, distribution, exposure, attribution
    index_label: str = "801050.SI"  # the rolling beta's index
    trades_csv: str | None = None  # the trade list's CSV file beside the page, for a link


@dataclass(frozen=True)
class ScreenReportData:
    """The daily screen, shared by the HTML page and the e-mail."""

    date: dt.date
    ranked: pl.DataFrame  # rank, ticker, name, metal, score, factor columns
    metal_moves: pl.DataFrame  # metal or series, ret_1d, ret_5d, ret_20d
    synthetic: bool
    new: Sequence[str] = ()
    dropped: Sequence[str] = ()
    warnings: Sequence[str] = ()
    sector: pl.DataFrame | None = None  # date, close of the sector index
    prices: pl.DataFrame | None = None  # date, ticker, close of (at least) the top names
    sector_label: str = "801050.SI"
    title: str = "Nonferrous metals screen"
    coverage: Sequence[str] = ()  # screen_view.coverage_lines
    empty: str | None = None  # why nothing ranked, with what mends it (screen_view.empty_reason)
    screen_name: str = "screen"  # the Screen's name: pages of two screens never share a file
    chart_names: int = 5
    sessions: int = 120

    def top_tickers(self) -> list[str]:
        """Tickers to draw beside the index: the best ``chart_names`` ranks."""
        ranked = self.ranked.sort("rank") if "rank" in self.ranked.columns else self.ranked
        return [str(t) for t in ranked.get_column("ticker").head(self.chart_names).to_list()]


@dataclass(frozen=True)
class Cell:
    text: str
    cls: str = ""


@dataclass(frozen=True)
class TableView:
    """A frame already formatted for display: ``total`` rows existed, ``rows`` are shown."""

    columns: list[str]
    numeric: list[bool]
    rows: list[list[Cell]]
    total: int


# -- formatting --------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_pct(value: Any, digits: int = 2) -> str:
    """A fraction as a percentage: 0.1234 -> '12.34%'."""
    return DASH if _missing(value) else f"{float(value) * 100:,.{digits}f}%"


def fmt_num(value: Any, digits: int = 2) -> str:
    return DASH if _missing(value) else f"{float(value):,.{digits}f}"


def format_value(kind: str, value: Any) -> str:
    """One metric by its kind: pct, ratio, money, int or text."""
    if _missing(value):
        return DASH
    if kind == "pct":
        return fmt_pct(value)
    if kind == "ratio":
        return fmt_num(value)
    if kind == "money":
        return fmt_num(value, 2)
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def is_pct_column(name: str) -> bool:
    """Columns holding fractions shown as percentages: returns (ret_*, chg_*), weights."""
    from screener.report.screen_view import PERCENT_PREFIXES

    key = name.lower()
    return key.startswith(("ret", "chg", *PERCENT_PREFIXES)) or key.endswith(
        ("_pct", "return", "_ret", "weight")
    )


def _cell(column: str, value: Any, digits: int) -> Cell:
    if _missing(value):
        return Cell(DASH, "num")
    if isinstance(value, bool):
        return Cell("yes" if value else "no")
    if isinstance(value, int):
        return Cell(f"{value:,}", "num")
    if isinstance(value, float):
        if is_pct_column(column):
            sign = "up" if value > 0 else "down" if value < 0 else ""
            return Cell(fmt_pct(value), f"num {sign}".strip())
        return Cell(fmt_num(value, digits), "num")
    if isinstance(value, dt.date):
        return Cell(value.isoformat())
    if isinstance(value, list):
        return Cell(", ".join(map(str, value)))
    return Cell(str(value))


def _digits(column: pl.Series) -> int:
    """One precision per column, set by its largest value: 12,345 / 12.35 / 0.123."""
    if not column.dtype.is_float():
        return 0
    top = column.abs().max()
    if not isinstance(top, float) or not math.isfinite(top):
        return 2
    return 0 if top >= 1000 else 2 if top >= 1 else 3


def table_view(frame: pl.DataFrame, *, limit: int | None = None) -> TableView:
    """Format every cell of ``frame`` (its first ``limit`` rows) for an HTML or text table."""
    shown = frame if limit is None else frame.head(limit)
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    digits = [_digits(shown.get_column(c)) for c in frame.columns]
    rows = [
        [_cell(c, v, d) for c, v, d in zip(frame.columns, row, digits, strict=True)]
        for row in shown.iter_rows()
    ]
    return TableView(list(frame.columns), numeric, rows, frame.height)


def _auto(key: str, value: Any) -> str:
    """Format an unlabelled summary value by the habits of its key's name (a pair of numbers
    is a range: each end formatted so)."""
    if isinstance(value, tuple) and len(value) == 2:
        return f"{_auto(key, value[0])} to {_auto(key, value[1])}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DASH if value is None else _plain(value)
    k = key.lower()
    if isinstance(value, int):
        return f"{value:,}"
    if k.startswith("t_") or "tstat" in k or "t_stat" in k:
        return fmt_num(value, 2)
    if k.startswith("p_") or k.endswith(("_p", "pvalue", "p_value")):
        return fmt_num(value, 3)
    if "car" in k or "ret" in k or k.endswith(("_pct", "mean", "median")):
        return fmt_pct(value)
    return fmt_num(value, 2)


def _plain(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested parameters as dotted keys: {'exit': {'hold': 5}} -> [('exit.hold', '5')]."""
    out: list[tuple[str, str]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(_flatten(value, f"{name}."))
        else:
            out.append((name, _plain(value)))
    return out


# -- rendering ---------------------------------------------------------------------------------
@cache
def environment() -> Environment:
    """The shared Jinja2 environment: package templates, autoescape on, strict undefined."""
    return Environment(
        loader=PackageLoader("screener.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _svg(fig: Figure, prefix: str) -> Markup:
    """Our own chart markup, the one thing exempt from escaping (matplotlib escapes its text)."""
    return Markup(charts.to_svg(fig, prefix=prefix))


def _metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Label and text per metric; a bootstrap interval, where the run has one, beside it."""
    intervals: Mapping[str, Any] = metrics.get("bootstrap") or {}
    rows = []
    for key, label, kind in METRICS:
        text = format_value(kind, metrics.get(key))
        if key == "max_drawdown_end" and text == DASH and metrics.get("max_drawdown_start"):
            text = NOT_RECOVERED
        if intervals.get(key):
            low, high = (format_value(kind, v) for v in intervals[key])
            text += f" ({intervals['level']:.0%} CI {low} to {high})"
        rows.append((label, text))
    return rows


def _placebo_rows(placebo: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What the placebo compared and where the thesis ranks (empty without a placebo)."""
    if not placebo:
        return []
    if placebo.get("percentile") is None:
        return [("Placebo", f"none: {placebo.get('reason')}")]
    pool = ", ".join(f"{y}: {n}" for y, n in (placebo.get("pool") or {}).items())
    return [
        ("Thesis holding return (per episode)", fmt_pct(placebo["thesis_return"])),
        ("Percentile among placebos", fmt_num(placebo["percentile"], 1)),
        (
            "Percentile over resampled pools (5th to 95th)",
            " to ".join(fmt_num(p, 1) for p in placebo["percentile_range"]),
        ),
        ("Placebo mean", fmt_pct(placebo["placebo_mean"])),
        (
            "Placebo 95% range",
            f"{fmt_pct(placebo['placebo_low'])} to {fmt_pct(placebo['placebo_high'])}",
        ),
        ("Draws x episodes", f"{placebo['draws']:,} x {placebo['episodes']}"),
        ("Sessions screened per year", pool),
    ]


def _benchmark_rows(metrics: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    stats: Mapping[str, Mapping[str, Any]] = metrics.get("benchmarks") or {}
    return [
        (name, [format_value(kind, row.get(key)) for key, _, kind in BENCHMARK_COLUMNS])
        for name, row in stats.items()
    ]


def _backtest_charts(data: BacktestReportData, colors: Colors) -> dict[str, Markup]:
    worst = (data.metrics.get("max_drawdown_start"), data.metrics.get("max_drawdown_end"))
    drawdown = charts.drawdown_figure(drawdown_series(data.equity), worst=worst, colors=colors)
    out = {
        "equity": _svg(charts.equity_figure(data.equity, data.benchmarks), "equity"),
        "drawdown": _svg(drawdown, "dd"),
    }
    if data.monthly_returns.height:
        out["monthly"] = _svg(charts.monthly_figure(data.monthly_returns, colors=colors), "monthly")
    if data.event_car is not None and data.event_car.height:
        fig = charts.event_car_figure(data.event_car, **(data.event_marks or {}))
        out["event"] = _svg(fig, "event")
    if data.sweep is not None and data.sweep.frame.height:
        s = data.sweep
        out["sweep"] = _svg(charts.sweep_figure(s.frame, x=s.x, y=s.y, metric=s.metric), "sweep")
    return out


def _tear_charts(tear: TearSheet, index_label: str, colors: Colors) -> dict[str, Markup]:
    """The fuller tear sheet's figures (those with something to draw)."""
    out = {}
    if tear.rolling.height:
        fig = charts.rolling_figure(tear.rolling, window=tear.window, index_label=index_label)
        out["rolling"] = _svg(fig, "rolling")
        out["exposure"] = _svg(charts.exposure_figure(tear.exposure), "exposure")
    d = tear.distribution
    if d.mean is not None and d.var is not None:
        fig = charts.distribution_figure(
            d.returns, mean=d.mean, var=d.var, level=d.level, colors=colors
        )
        out["distribution"] = _svg(fig, "dist")
    if tear.by_metal.height:
        fig = charts.attribution_figure(tear.by_metal, key="metal", colors=colors)
        out["by_metal"] = _svg(fig, "metal")
    return out


def _distribution_rows(d: Distribution) -> list[tuple[str, str]]:
    return [
        ("Sessions (invested at the previous close)", f"{d.returns.size:,} of {d.sessions:,}"),
        ("Mean", fmt_pct(d.mean, 3)),
        ("Standard deviation", fmt_pct(d.sd, 3)),
        (f"VaR {d.level:.0%} (historical, one session)", fmt_pct(d.var, 3)),
        (f"CVaR {d.level:.0%} (mean at or below the VaR)", fmt_pct(d.cvar, 3)),
    ]


def _tear_tables(tear: TearSheet | None) -> dict[str, Any]:
    """The tear sheet's tables, formatted; a recovery not yet made says so."""
    if tear is None:
        return {}
    drawdowns = tear.drawdowns.select(
        pl.col("peak", "trough").cast(pl.String),
        pl.col("recovery").cast(pl.String).fill_null(NOT_RECOVERED),
        depth_pct="depth",
        sessions_to_trough="to_trough",
        sessions_to_recovery="to_recovery",
        length=pl.col("length"),
    )
    # text, not a coloured number: a loss is a positive share of a negative total
    share = pl.col("share").map_elements(fmt_pct, return_dtype=pl.String)
    return {
        "drawdowns": table_view(drawdowns),
        "distribution": _distribution_rows(tear.distribution),
        "by_metal": table_view(tear.by_metal.with_columns(share)),
        "by_ticker": table_view(tear.by_ticker.with_columns(share)),
        "total_pnl": fmt_num(tear.total_pnl),
    }


def render_backtest(data: BacktestReportData, *, colors: Colors = A_SHARE) -> str:
    """The backtest tear sheet as one self-contained HTML page."""
    summary = data.event_summary
    metric_rows = _metric_rows(data.metrics)
    half = (len(metric_rows) + 1) // 2
    tear = {} if data.tear is None else _tear_charts(data.tear, data.index_label, colors)
    return (
        environment()
        .get_template("backtest.html.j2")
        .render(
            data=data,
            synthetic_label=SYNTHETIC_LABEL,
            colors=colors,
            charts=_backtest_charts(data, colors) | tear,
            tear=_tear_tables(data.tear),
            placebo=_placebo_rows(data.placebo),
            metric_halves=(metric_rows[:half], metric_rows[half:]),
            benchmark_header=[label for _, label, _ in BENCHMARK_COLUMNS],
            benchmark_rows=_benchmark_rows(data.metrics),
            params=_flatten(data.params),
            trades=table_view(data.trades),
            episode_table=None
            if data.episodes is None
            else table_view(data.episodes.drop("note", strict=False)),
            event_rows=[(k, _auto(k, v)) for k, v in summary.items()] if summary else [],
            episodes=None if summary is None else summary.get("episodes"),
            manifest=[(k, _plain(v)) for k, v in data.manifest.items()],
        )
    )


def screen_chart(data: ScreenReportData, *, width: float = 8.0) -> Figure | None:
    """The screen's figure (sector index + top names), or None without an index history."""
    if data.sector is None or data.sector.height < 2:
        return None
    return charts.screen_figure(
        data.sector,
        data.prices,
        tickers=data.top_tickers(),
        sector_label=data.sector_label,
        sessions=data.sessions,
        width=width,
    )


def render_screen(data: ScreenReportData, *, colors: Colors = A_SHARE) -> str:
    """The daily screen as one self-contained HTML page."""
    fig = screen_chart(data)
    return (
        environment()
        .get_template("screen.html.j2")
        .render(
            data=data,
            synthetic_label=SYNTHETIC_LABEL,
            colors=colors,
            chart=None if fig is None else _svg(fig, "screen"),
            ranked=table_view(data.ranked),
            moves=table_view(data.metal_moves),
        )
    )


def write_report(html: str, out_dir: Path, name: str) -> Path:
    """Write ``html`` to ``out_dir/name[.html]`` (UTF-8, atomically) and return the path."""
    return _write(html, out_dir, name if name.endswith(".html") else f"{name}.html")


def write_csv(frame: pl.DataFrame, out_dir: Path, name: str) -> Path:
    """Write ``frame`` to ``out_dir/name`` as CSV (UTF-8, dates ISO, atomically)."""
    return _write(frame.write_csv(), out_dir, name)


def _write(text: str, out_dir: Path, name: str) -> Path:
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"report name must be a plain file name, got {name!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
