"""Rich renderables for a backtest: metrics vs benchmarks, episodes, the event study."""

from __future__ import annotations

from typing import Any

import polars as pl
from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from screener.report.fit import KEEP, Column, FitTable
from screener.report.terminal import frame_table, metric_format, synthetic_banner
from screener.screen_coverage import episode_lines

TWO_PLACES = {"costs_paid", "turnover"}  # yuan; times the book traded
LAST_REBALANCES = 12  # rows of a rebalanced run's episode table in the terminal
SHOWN = (
    "total_return",
    "annual_return",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_start",
    "max_drawdown_end",
    "calmar",
    "hit_rate",
    "avg_win",
    "avg_loss",
    "exposure",
    "turnover",
    "costs_paid",
    "trades",
    "episodes",
    "orders_blocked",
)


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        percent = metric_format(key)
        if percent:
            return percent.format(value)
        return f"{value:,.2f}" if key in TWO_PLACES else f"{value:,.3f}"
    return str(value)


def metrics_table(metrics: dict[str, Any], *, title: str = "metrics") -> FitTable:
    """Headline metrics, with the bootstrap interval of those that have one."""
    columns = [Column("metric", priority=KEEP), Column("value", "right", KEEP)]
    intervals = metrics.get("bootstrap") or {}
    if intervals:
        columns.append(Column(f"{intervals['level']:.0%} CI (bootstrap)", "right"))
    table = FitTable(columns, title=title, box=box.SIMPLE_HEAVY, header_style="bold")
    for key in SHOWN:
        if key in metrics:
            cells = [key, _fmt(key, metrics[key])]
            if intervals:
                cells.append(_range(key, intervals.get(key)))
            table.add_row(*cells)
    return table


def _range(key: str, pair: Any) -> str:
    return "" if not pair else f"{_fmt(key, pair[0])} to {_fmt(key, pair[1])}"


def benchmark_table(metrics: dict[str, Any]) -> FitTable:
    """Strategy against each benchmark over the same sessions."""
    keys = ("total_return", "excess_return", "beta", "alpha", "information_ratio", "correlation")
    columns = [Column("benchmark", priority=KEEP)]
    columns += [Column(k, "right", -i) for i, k in enumerate(keys)]
    table = FitTable(
        columns, title="against the benchmarks", box=box.SIMPLE_HEAVY, header_style="bold"
    )
    for name, bench in (metrics.get("benchmarks") or {}).items():
        table.add_row(name, *(_fmt(k, bench.get(k)) for k in keys))
    return table


def render_backtest(result: Any, *, synthetic: bool) -> Group:
    """The whole run: banner, thesis, metrics, episodes with their picks, event-study CAR."""
    parts: list[RenderableType] = [synthetic_banner()] if synthetic else []
    m = result.manifest
    parts.append(
        f"[bold]{result.thesis.name}[/bold]  run {result.run_id}  "
        f"{m['data_start']}..{m['data_end']}  ({m['tickers']} tickers)"
    )
    parts += [metrics_table(result.metrics), benchmark_table(result.metrics)]
    episodes = result.compiled.episodes.with_columns(pl.selectors.temporal().cast(pl.String))
    shown = episodes.drop("note", strict=False).rename(
        {"amount_estimated": "amt est."}, strict=False
    )
    title = f"{episodes.height} trigger episodes"
    if result.thesis.rebalance is not None:  # one per month or week: the latest are enough
        title = f"{episodes.height} rebalances (the last {min(LAST_REBALANCES, shown.height)})"
        shown = shown.tail(LAST_REBALANCES)
    parts.append(frame_table(shown, title=title))
    parts += [Text(line, style="yellow") for line in episode_lines(result.compiled.episodes)]
    if result.event_study is not None:
        parts.append(_event_table(result.event_study.summary))
    ct = result.metrics.get("calendar_time") or {}
    if ct.get("alpha_annual") is not None:
        parts.append(
            f"calendar-time portfolio vs CSI 300: alpha {ct['alpha_annual']:+.2%}/yr "
            f"(Newey-West t {ct['alpha_t']:.2f}, {ct['maxlags']} lags), beta {ct['beta']:.2f}, "
            f"{ct['n_obs']} sessions held"
        )
    placebo = result.metrics.get("placebo") or {}
    if placebo.get("percentile") is not None:
        parts.append(
            f"placebo: holding return {placebo['thesis_return']:+.2%} per episode, at "
            f"{placebo['percentile']:.1f}% of {placebo['draws']:,} draws of matched random "
            f"sessions (their mean {placebo['placebo_mean']:+.2%}, 95% of them "
            f"{placebo['placebo_low']:+.2%} to {placebo['placebo_high']:+.2%}; resampled pools "
            "move the percentile {:.0f} to {:.0f})".format(*placebo["percentile_range"])
        )
    if result.metrics.get("verdict"):
        parts.append(Text(result.metrics["verdict"], style="bold"))
    return Group(*parts)


def _event_table(summary: dict[str, Any]) -> FitTable:
    """Each window's CAR per model, the holding window's tests; the verdict as the caption.
    Below inference.MIN_EPISODES the p column stays empty: no significance marker."""
    w = summary.get("windows") or {}
    columns = ("model", "selection", "reaction", "holding", "95% CI", "t", "p", "MDE")
    table = FitTable(
        [Column(c, "left" if c == "model" else "right", -i) for i, c in enumerate(columns)]
        + [Column("t BMP", "right", -8), Column("t KP", "right", -9)],
        title=f"event study: {summary.get('n_events')} names in {summary.get('n_episodes')} "
        f"episodes; CAR by window: selection {w.get('selection')} (context, not tested), "
        f"reaction ({w.get('reaction')}), holding {w.get('holding')} from the entry fill "
        "(tested: t and sign-flip p on episode means, MDE = the effect detectable at 80% power)",
        box=box.SIMPLE_HEAVY,
        header_style="bold",
    )
    for model in ("market", "sector"):
        s = summary.get(model) or {}
        ci = (s.get("ci_low"), s.get("ci_high")) if s.get("ci_low") is not None else None
        mde = s.get("mde")
        table.add_row(
            model,
            *(_fmt("total_return", s.get(k)) for k in ("selection_car", "reaction_car", "car")),
            _range("total_return", ci),
            _fmt("t", s.get("t")),
            "" if s.get("too_few", True) else _fmt("p", s.get("p_permutation")),
            "-" if mde is None else f"±{mde:.2%}",
            *(_fmt("t", s.get(k)) for k in ("t_bmp", "t_kp")),
        )
    table.options["caption"] = str(summary.get("verdict") or summary.get("warning") or "")
    return table
