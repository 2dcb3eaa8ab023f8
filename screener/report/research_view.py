"""Rich renderables for factor research: the IC table and a factor's quantile tables."""

from __future__ import annotations

import polars as pl
from rich.console import Group, RenderableType
from rich.text import Text

from screener.report.terminal import frame_table, synthetic_banner
from screener.research.data import Scope
from screener.research.quantiles import QuantileAnalysis


def _framed(parts: list[RenderableType], scope: Scope) -> Group:
    """Banner first on synthetic data, the scope's line last."""
    head: list[RenderableType] = [synthetic_banner()] if scope.synthetic else []
    return Group(*head, *parts, Text(scope.line(), style="dim"))


def render_ic(table: pl.DataFrame, scope: Scope) -> Group:
    """IC and rank IC per factor (and metal) and horizon."""
    title = "IC and rank IC per session: mean, std, IR, Newey-West t (h - 1 lags), share > 0"
    return _framed([frame_table(table, title=title, float_digits=3)], scope)


def quantile_returns_wide(analysis: QuantileAnalysis) -> pl.DataFrame:
    """Mean forward return per horizon (rows) and quantile (columns Q1..Qn)."""
    wide = analysis.returns.pivot(on="quantile", index="horizon", values="mean_return")
    return wide.rename({c: f"Q{c}" for c in wide.columns if c != "horizon"}).sort("horizon")


def render_quantiles(analysis: QuantileAnalysis, scope: Scope) -> Group:
    """Quantile returns, the top-minus-bottom spread and turnover of one factor (returns and
    the spread in percent)."""
    neutral = f", within each {analysis.neutral}" if analysis.neutral else ""
    name = f"{analysis.factor}: {analysis.quantiles} quantiles{neutral}"
    wide = quantile_returns_wide(analysis)
    percent = wide.with_columns(pl.exclude("horizon") * 100)
    spread = analysis.spread.with_columns(pl.col("spread", "ci_low", "ci_high") * 100)
    parts: list[RenderableType] = [
        frame_table(percent, title=f"{name}: mean forward return, %", float_digits=3),
        frame_table(spread, title="top minus bottom quantile, % (95% Newey-West interval)"),
        frame_table(analysis.turnover, title="top-quantile turnover, rank autocorrelation"),
    ]
    return _framed(parts, scope)
