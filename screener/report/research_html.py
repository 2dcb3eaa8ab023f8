"""The factor tear sheet as one self-contained HTML page (inline CSS and SVG, offline), with
the synthetic banner on demo data like every other page."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from markupsafe import Markup

from screener.report import charts
from screener.report.colors import A_SHARE, Colors
from screener.report.html import _svg, environment, table_view, write_report
from screener.report.research_view import quantile_returns_wide
from screener.report.terminal import SYNTHETIC_LABEL
from screener.research.tearsheet import ROLLING, TearSheet

# table_view shows columns named *_ret as percentages
SPREAD_AS_RETURNS = {"spread": "spread_ret", "ci_low": "ci_low_ret", "ci_high": "ci_high_ret"}


def _charts(sheet: TearSheet, colors: Colors) -> dict[str, Markup]:
    q = sheet.quantiles
    shown = pl.col("horizon") == sheet.horizon
    returns = charts.quantile_returns_figure(q.returns.filter(shown), colors=colors)
    return {
        "ic": _svg(charts.ic_series_figure(sheet.ic_daily, rolling=ROLLING, colors=colors), "ic"),
        "histogram": _svg(charts.ic_histogram_figure(sheet.ic_daily["ic"]), "hist"),
        "decay": _svg(charts.ic_decay_figure(sheet.ic), "decay"),
        "quantiles": _svg(returns, "qret"),
        "cumulative": _svg(charts.cumulative_quantiles_figure(q.cumulative, colors=colors), "cum"),
        "turnover": _svg(
            charts.turnover_figure(q.turnover_series.filter(shown), rolling=ROLLING), "turn"
        ),
    }


def render_tear_sheet(sheet: TearSheet, *, colors: Colors = A_SHARE) -> str:
    """The page: IC per session, its histogram and decay, quantile returns, cumulative
    quantile returns, turnover, and the tables behind them."""
    q = sheet.quantiles
    return (
        environment()
        .get_template("research.html.j2")
        .render(
            data=sheet.scope,
            sheet=sheet,
            synthetic_label=SYNTHETIC_LABEL,
            colors=colors,
            rolling=ROLLING,
            charts=_charts(sheet, colors),
            ic=table_view(sheet.ic.drop("factor")),
            returns=table_view(quantile_returns_wide(q).rename(lambda c: f"ret {c}")),
            spread=table_view(q.spread.rename(SPREAD_AS_RETURNS)),
            turnover=table_view(q.turnover),
        )
    )


def write_tear_sheet(sheet: TearSheet, out_dir: Path, *, colors: Colors = A_SHARE) -> Path:
    """Write ``out_dir/factor_<name>.html``."""
    return write_report(render_tear_sheet(sheet, colors=colors), out_dir, f"factor_{sheet.factor}")
