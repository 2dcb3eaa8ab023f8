"""A recorded sweep as a page: `screener report <sweep run id>` renders heat-maps and the
in-/out-of-sample tables instead of failing on the grid's lists."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sample_markets import copper_store, copper_thesis

from screener.config import Settings
from screener.report.assemble import sweep_report_data, write_run_report
from screener.report.html import fmt_num
from screener.report.sweep_html import render_sweep
from screener.report.terminal import SYNTHETIC_LABEL
from screener.thesis.record import load_run
from screener.thesis.sweep import SweepResult, run_sweep

Recorded = tuple[dict[str, Any], dict[str, pl.DataFrame], SweepResult, Path]
WINDOW, STOP, HOLD = "trigger.when.0.window", "exit.trailing_stop_pct", "exit.hold_sessions"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The copper breakout's 2 x 2 x 2 grid, swept and recorded on the small copper market."""
    folder = tmp_path_factory.mktemp("sweep_page")
    with copper_store(folder, dt.date(2016, 12, 30)) as store:
        result = run_sweep(store, copper_thesis(folder), settings=Settings())
        row, frames = load_run(store, result.run_id)
    (db,) = folder.glob("*.duckdb")
    return row, frames, result, db


def test_the_report_command_writes_a_sweep_page(recorded: Recorded, tmp_path: Path) -> None:
    """`screener report <a sweep's run id>` once failed in spec.coerce on the grid's lists."""
    _, _, result, db = recorded
    cmd = [sys.executable, "-m", "screener", "--db", str(db), "report", result.run_id]
    done = subprocess.run([*cmd, "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("report:")
    assert (tmp_path / f"sweep_{result.run_id}.html").read_text("utf-8").count("<svg") == 6


def synthetic_sweep() -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """A recorded sweep made by hand (no store): a 3 x 3 x 2 grid whose in-sample Sharpe peaks
    inside it, three walk-forward folds."""
    grid = {"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0], "c": [0.5, 1.5]}
    rows = [
        {"config": i, "a": a, "b": b, "c": c, "sharpe": a - b / 20 + c}
        | {"is_sharpe": 1.0 - (a - 2) ** 2 - (b / 10 - 2) ** 2 + c, "oos_sharpe": a / 4 - c}
        for i, (a, b, c) in enumerate(
            (a, b, c) for a in grid["a"] for b in grid["b"] for c in grid["c"]
        )
    ]
    days = [dt.date(2020, 1, 2), dt.date(2021, 1, 4), dt.date(2022, 1, 4), dt.date(2023, 1, 3)]
    folds = pl.DataFrame(
        {
            "fold": [0, 1, 2],
            "train_start": [days[0]] * 3,
            "train_end": days[1:],
            "config": [9, 9, 3],
            "a": [2.0, 2.0, 1.0],
            "test_sharpe": [0.4, -0.1, 0.2],
        }
    )
    metrics = {
        "metrics": {"is_sharpe": 2.5, "oos_sharpe": 0.0, "sharpe": 2.5},
        "best_params": {"a": 2.0, "b": 20.0, "c": 1.5},
        "n_configs": len(rows),
        "deflated_sharpe": 0.42,
        "trials": {"effective": 6.5, "distinct": 18},
        "pbo": {"pbo": 0.3},
        "verdict": "best of 18 configurations <b>tried</b>",
        "manifest": {"thesis_name": "hand sweep", "synthetic": True},
        "in_sample": ["2020-01-02", "2020-12-31"],
        "out_of_sample": ["2021-01-04", "2023-12-29"],
        "walk_forward": folds.with_columns(pl.selectors.date().cast(pl.String)).to_dicts(),
    }
    row = {"run_id": "sweep-1", "kind": "sweep", "thesis_path": "hand.toml", "params": grid}
    return row | {"metrics": metrics}, {"table": pl.DataFrame(rows), "walk_forward": folds}


def test_a_hand_made_sweep_renders_with_its_best_framed() -> None:
    row, frames = synthetic_sweep()
    data = sweep_report_data(row, frames)
    html = render_sweep(data)
    assert html.count("<svg") == 3 * 2 and "best of 18 configurations &lt;b&gt;tried" in html
    assert "highest in-sample Sharpe: a=2, b=20, c=1.5." in html
    assert [rows.height for _, _, rows in data.slices] == [9, 6, 6]  # c, b, a fixed
    assert section(html, "configurations").count("<tr>") == 1 + 18


def section(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert found, f"no section {name}"
    return found.group(1)


def test_a_recorded_sweep_is_written_as_its_own_page(recorded: Recorded, tmp_path: Path) -> None:
    row, frames, result, _ = recorded
    path = write_run_report((row, frames), tmp_path)
    assert path.name == f"sweep_{result.run_id}.html"
    html = path.read_text(encoding="utf-8")
    assert section(html, "heatmaps").count("<svg") == 3 * 2  # 3 pairs, in and out of sample
    assert section(html, "configurations").count("<tr>") == 1 + 8
    assert section(html, "walk-forward").count("<tr>") == 1 + 3
    summary = section(html, "summary")
    assert fmt_num(result.best["is_sharpe"]) in summary
    (a, b), (c, d) = result.in_sample, result.out_of_sample
    assert f"<td>{a} to {b}</td>" in summary and f"<td>{c} to {d}</td>" in summary
    best = ", ".join(f"{k}={result.best[k]:g}" for k in result.params)
    assert f"highest in-sample Sharpe: {best}." in summary
    assert result.verdict.replace("'", "&#39;") in section(html, "verdict")
    assert (SYNTHETIC_LABEL in html) == result.manifest["synthetic"]


def test_each_heatmap_holds_the_configurations_at_the_best(recorded: Recorded) -> None:
    row, frames, result, _ = recorded
    data = sweep_report_data(row, frames)
    assert [(x, y) for x, y, _ in data.slices] == [(STOP, HOLD), (WINDOW, HOLD), (WINDOW, STOP)]
    for x, y, rows in data.slices:
        (other,) = {HOLD, STOP, WINDOW} - {x, y}
        assert rows.height == 4 and rows[other].to_list() == [result.best[other]] * 4
        assert rows.select(x, y).n_unique() == 4
    html = render_sweep(data)
    assert f"{HOLD} by {STOP} ({WINDOW}={result.best[WINDOW]:g})" in html


def test_parameters_show_as_the_thesis_writes_them(recorded: Recorded) -> None:
    row, frames, _, _ = recorded
    percent = {**row, "params": {"exit.stop_loss_pct": [5.0, 12.5], **row["params"]}}
    added = pl.lit(12.5).alias("exit.stop_loss_pct")
    table, folds = (frames[k].with_columns(added) for k in ("table", "walk_forward"))
    best = {**row["metrics"]["best_params"], "exit.stop_loss_pct": 12.5}
    stored = {**percent, "metrics": {**row["metrics"], "best_params": best}}
    html = render_sweep(sweep_report_data(stored, {"table": table, "walk_forward": folds}))
    configurations = section(html, "configurations")
    assert "<td>12.5</td>" in configurations and "1,250" not in configurations  # not a percent
    assert "<td>20</td>" in configurations and "<td>20.00</td>" not in configurations
