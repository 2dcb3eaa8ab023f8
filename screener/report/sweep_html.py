"""A recorded parameter sweep as one self-contained HTML page (inline CSS and SVG, offline).

Heat-maps: one per pair of swept parameters, the others fixed at the best configuration (the
highest in-sample Sharpe, as the sweep chose it), in-sample and out-of-sample Sharpe side by
side: a best cell whose neighbours fall off, or that fades out of sample, shows at a glance.
Then the in-/out-of-sample table of every configuration and the walk-forward folds as stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from markupsafe import Markup

from screener.report import charts
from screener.report.colors import A_SHARE, Colors
from screener.report.html import _svg, environment, table_view
from screener.report.terminal import SYNTHETIC_LABEL

HEATMAP_METRICS = (("is_sharpe", "in-sample Sharpe"), ("oos_sharpe", "out-of-sample Sharpe"))


@dataclass(frozen=True)
class SweepReportData:
    """What the sweep page shows; ``slices`` are ``sweep.pair_slices``."""

    run_id: str
    title: str
    thesis_file: str
    synthetic: bool
    verdict: str
    summary: Sequence[tuple[str, str]]  # label, text
    best: Mapping[str, Any]  # the chosen configuration's parameters
    slices: Sequence[tuple[str, str, pl.DataFrame]]  # x, y, the configurations of the cells
    table: pl.DataFrame  # config, parameters, metrics, is_sharpe, oos_sharpe
    walk_forward: pl.DataFrame
    manifest: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class HeatMap:
    x: str
    y: str
    fixed: str  # "a=1, b=2" or "" when the sweep has two parameters
    svgs: tuple[tuple[str, Markup], ...]  # (metric label, chart)


def _heatmaps(data: SweepReportData) -> list[HeatMap]:
    out = []
    for k, (x, y, rows) in enumerate(data.slices):
        fixed = ", ".join(
            f"{p}={charts.grid_value(v)}" for p, v in data.best.items() if p not in (x, y)
        )
        svgs = tuple(
            (label, _svg(charts.sweep_figure(rows, x=x, y=y, metric=metric), f"heat{k}{metric}"))
            for metric, label in HEATMAP_METRICS
        )
        out.append(HeatMap(x, y, fixed, svgs))
    return out


def _as_written(frame: pl.DataFrame, data: SweepReportData) -> pl.DataFrame:
    """Parameter columns as the thesis writes them, not as numbers a column name would turn
    into percentages (``*_pct``) or pad with decimals."""
    params = [p for p in data.best if p in frame.columns]
    as_text = pl.col(*params).map_elements(charts.grid_value, return_dtype=pl.String)
    return frame.with_columns(as_text) if params else frame


def render_sweep(data: SweepReportData, *, colors: Colors = A_SHARE) -> str:
    """The sweep page: verdict, summary, heat-maps, every configuration, walk-forward."""
    table = _as_written(data.table.sort("is_sharpe", descending=True, nulls_last=True), data)
    return (
        environment()
        .get_template("sweep.html.j2")
        .render(
            data=data,
            synthetic_label=SYNTHETIC_LABEL,
            colors=colors,
            heatmaps=_heatmaps(data),
            best=", ".join(f"{k}={charts.grid_value(v)}" for k, v in data.best.items()),
            table=table_view(table),
            walk_forward=table_view(_as_written(data.walk_forward, data)),
        )
    )
