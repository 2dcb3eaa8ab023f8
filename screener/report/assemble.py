"""Turn results into report inputs: a backtest (live or recorded) and a screen.

The builders are pure: they reshape frames the stages already made into the dataclasses the
HTML and e-mail renderers take. A live ``BacktestResult`` is first reduced to what a recorded
run keeps in the store (metrics, manifest, frames), so ``screener report RUN_ID`` works offline
from the store and shows the same page as the run that made it. The store does not keep the
thesis's name and steps: ``recorded_thesis`` reads them from the thesis file when its sha256
still matches, else the page names the file and shows only the sweep overrides.
``write_*`` write the pages. Nothing here reads the store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from screener.errors import ScreenerError
from screener.report.colors import A_SHARE, Colors
from screener.report.html import (
    BacktestReportData,
    ScreenReportData,
    SweepGrid,
    fmt_num,
    render_backtest,
    render_screen,
    write_csv,
    write_report,
)
from screener.report.screen_view import coverage_lines, empty_reason
from screener.report.sweep_html import SweepReportData, render_sweep
from screener.schema import SECTOR_INDEX
from screener.screen import AMOUNT_FACTOR, ScreenResult
from screener.screen_context import SPARK_SESSIONS, ScreenReport
from screener.screen_coverage import episode_lines
from screener.thesis import Thesis
from screener.thesis.metrics import monthly_returns
from screener.thesis.record import BacktestResult
from screener.thesis.sweep import pair_slices
from screener.thesis.tearsheet import tear_sheet

SCREEN_TITLE = "Nonferrous metals screen"
AMOUNT_COLUMN = "amount 20d (m)"  # the 20-session mean daily amount in CNY millions
ESTIMATED_COLUMN = "amount estimated"  # shown only when some name's amount is close x volume
BENCH = "bench_"  # runs.record stores each benchmark as the frame bench_<index code>
RecordedRun = tuple[Mapping[str, Any], Mapping[str, pl.DataFrame]]


# -- backtest ----------------------------------------------------------------------------------
def backtest_report_data(
    result: BacktestResult, *, sweep: SweepGrid | None = None
) -> BacktestReportData:
    """The tear sheet of a run just made (reduced to what the store records, see above)."""
    es = result.event_study
    frames = {
        "equity": result.equity,
        "trades": result.trades,
        "selections": result.compiled.selections,
        "episodes": result.compiled.episodes,
        **({"car": es.car} if es is not None else {}),
        **{f"{BENCH}{code}": f for code, f in result.benchmarks.items()},
    }
    t = result.thesis
    manifest: dict[str, Any] = {"thesis_name": t.name, "thesis_description": t.description}
    manifest |= {"thesis_spec": t.spec(), **result.manifest}
    return _report_data(
        run_id=result.run_id,
        metrics=result.metrics,
        manifest=manifest,
        event=es.summary if es is not None else None,
        params=result.params,
        frames=frames,
        sweep=sweep,
    )


def report_data_from_run(
    row: Mapping[str, Any],
    frames: Mapping[str, pl.DataFrame],
    *,
    thesis: Thesis | None = None,
    sweep: SweepGrid | None = None,
) -> BacktestReportData:
    """The tear sheet of a recorded run: ``runs.load_run``'s row and frames, no recomputation.

    The store keeps the thesis's file and hash, not its name and steps; ``thesis`` (e.g. from
    ``recorded_thesis``) supplies them when its hash is the recorded one, and is ignored if not.
    """
    stored = row["metrics"]
    params = row.get("params") or {}
    manifest: dict[str, Any] = {"thesis_file": row.get("thesis_path")}
    manifest["thesis_sha256"] = row.get("thesis_hash")
    if thesis is not None and thesis.sha256 == row.get("thesis_hash"):
        t = thesis.with_params(params)
        manifest |= {"thesis_name": t.name, "thesis_description": t.description}
        manifest["thesis_spec"] = t.spec()
    manifest |= stored.get("manifest") or {}
    return _report_data(
        run_id=str(row["run_id"]),
        metrics=stored["metrics"],
        manifest=manifest,
        event=stored.get("event"),
        params=params,
        frames=frames,
        sweep=sweep,
    )


def recorded_thesis(row: Mapping[str, Any]) -> Thesis | None:
    """The run's thesis file if it is still there, unchanged (same sha256); else None."""
    from screener.thesis import load_thesis

    path = Path(str(row.get("thesis_path") or ""))
    if not path.is_file():
        return None
    try:
        thesis = load_thesis(path)
    except ScreenerError:
        return None
    return thesis if thesis.sha256 == row.get("thesis_hash") else None


def _report_data(
    *,
    run_id: str,
    metrics: Mapping[str, Any],
    manifest: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    frames: Mapping[str, pl.DataFrame],
    sweep: SweepGrid | None,
) -> BacktestReportData:
    equity = frames["equity"]
    name = manifest.get("thesis_name") or Path(str(manifest.get("thesis_file") or run_id)).stem
    car = frames.get("car")
    episodes = frames.get("episodes")
    spec = manifest.get("thesis_spec") or {}
    sector = frames.get(f"{BENCH}{SECTOR_INDEX}")
    tear = tear_sheet(equity, frames["trades"], index=sector, selections=frames.get("selections"))
    return BacktestReportData(
        title=str(name),
        thesis_summary={
            "name": name,
            "description": manifest.get("thesis_description") or "",
            "file": manifest.get("thesis_file") or "-",
            "sha256": manifest.get("thesis_sha256") or "-",
        },
        params=_params(manifest, params),
        metrics=metrics,
        equity=equity,
        benchmarks={
            k.removeprefix("bench_"): f for k, f in frames.items() if k.startswith("bench_")
        },
        monthly_returns=monthly_returns(equity),
        trades=tear.trades,
        data_range=_data_range(manifest, equity),
        manifest=_display_manifest(run_id, manifest),
        synthetic=bool(manifest.get("synthetic")),
        verdict=metrics.get("verdict"),
        placebo=metrics.get("placebo"),
        event_marks=_marks(event) if event is not None else None,
        event_verdict=event.get("verdict") if event is not None else None,
        episode_label="Rebalances" if "rebalance" in spec else "Trigger episodes",
        event_car=_car(car, event) if car is not None and event is not None else None,
        event_summary=_event_rows(event) if event is not None else None,
        sweep=sweep,
        episodes=episodes,
        episode_notes=() if episodes is None else tuple(episode_lines(episodes)),
        tear=tear,
        index_label=SECTOR_INDEX,
        trades_csv=f"{_page_name(run_id)}_trades.csv",
    )


def _page_name(run_id: str) -> str:
    return f"backtest_{run_id}"


def _params(manifest: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The thesis as run (when the manifest records it), else the sweep overrides alone."""
    spec = manifest.get("thesis_spec")
    if isinstance(spec, Mapping):
        return _drop_empty({**spec, **({"overrides": dict(overrides)} if overrides else {})})
    return dict(overrides)


def _drop_empty(value: Any) -> Any:
    """Unset options (None, "", {}) left out, in nested mappings and lists of them."""
    if isinstance(value, Mapping):
        pruned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != "" and v != {}}
    if isinstance(value, list | tuple):
        return [_drop_empty(v) for v in value]
    return value


def _data_range(manifest: Mapping[str, Any], equity: pl.DataFrame) -> tuple[dt.date, dt.date]:
    start, end = manifest.get("data_start"), manifest.get("data_end")
    if start and end:
        return dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end))
    dates = equity.get_column("date")
    return dates.min(), dates.max()  # type: ignore[return-value]


def _display_manifest(run_id: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Provenance rows; the spec is shown as parameters, not repeated here."""
    hidden = ("thesis_name", "thesis_spec", "thesis_description")
    shown = {k: v for k, v in manifest.items() if k not in hidden}
    return {"run_id": run_id, "thesis_name": manifest.get("thesis_name"), **shown}


def _car(car: pl.DataFrame, summary: Mapping[str, Any]) -> pl.DataFrame:
    """The chart's (rel_day[, role], car, lo, hi) of the summary's headline model."""
    m = summary.get("headline_model") or "market"
    roles = ["role"] if "role" in car.columns else []
    return car.select("rel_day", *roles, car=f"car_{m}", lo=f"lo_{m}", hi=f"hi_{m}").sort("rel_day")


def _marks(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What the chart marks and names: the entry fill, the model, the band's level."""
    model = summary.get("headline_model") or "market"
    entry_at = (summary.get("windows") or {}).get("entry_at") or "open"
    return {"entry_at": entry_at, "model": model, "level": (summary.get(model) or {}).get("level")}


def _event_rows(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary flat, keyed so the page formats each value: the windows by role, then per
    model each window's CAR and the holding window's tests. Below inference.MIN_EPISODES no
    p-value is shown: a significance marker the sample cannot carry."""
    w = summary.get("windows") or {}
    out: dict[str, Any] = {"episodes": summary.get("n_episodes"), "names": summary.get("n_events")}
    out["selection window (context, not tested)"] = w.get("selection")
    out["reaction window"] = w.get("reaction")
    out["holding window (tested)"] = w.get("holding")
    out["estimation window"] = w.get("estimation")
    for model in ("market", "sector"):
        s = summary.get(model) or {}
        out[f"selection CAR ({model})"] = s.get("selection_car")
        out[f"reaction CAR ({model})"] = s.get("reaction_car")
        out[f"holding CAR ({model})"] = s.get("car")
        out[f"holding CAR {s.get('level', 0.95):.0%} CI ({model})"] = (
            (s["ci_low"], s["ci_high"]) if s.get("ci_low") is not None else None
        )
        out[f"t_episodes ({model})"] = s.get("t")
        if not s.get("too_few", True):
            out[f"p_sign_flip ({model})"] = s.get("p_permutation")
        out[f"detectable CAR at {s.get('power', 0.8):.0%} power ({model})"] = s.get("mde")
        out[f"t_bmp ({model})"] = s.get("t_bmp")
        out[f"t_kp ({model})"] = s.get("t_kp")
    out["dropped"] = summary.get("dropped")
    if summary.get("warning"):
        out["warning"] = summary["warning"]
    return out


def write_backtest_report(
    source: BacktestResult | RecordedRun,
    out_dir: Path,
    *,
    sweep: SweepGrid | None = None,
    colors: Colors = A_SHARE,
) -> Path:
    """Render and write ``out_dir/backtest_<run_id>.html`` for a live or a recorded run, and
    its trade list beside it as ``backtest_<run_id>_trades.csv`` (the page links to it)."""
    if isinstance(source, BacktestResult):
        data = backtest_report_data(source, sweep=sweep)
    else:
        row, frames = source
        data = report_data_from_run(row, frames, thesis=recorded_thesis(row), sweep=sweep)
    if data.trades_csv:
        write_csv(data.trades, out_dir, data.trades_csv)
    page = render_backtest(data, colors=colors)
    return write_report(page, out_dir, _page_name(str(data.manifest["run_id"])))


def write_run_report(source: RecordedRun, out_dir: Path, *, colors: Colors = A_SHARE) -> Path:
    """A recorded run's page by its kind: a sweep's, or a backtest's tear sheet."""
    row, frames = source
    if row.get("kind") == "sweep":
        data = sweep_report_data(row, frames)
        return write_report(render_sweep(data, colors=colors), out_dir, f"sweep_{data.run_id}")
    return write_backtest_report(source, out_dir, colors=colors)


# -- sweep -------------------------------------------------------------------------------------
def sweep_report_data(
    row: Mapping[str, Any], frames: Mapping[str, pl.DataFrame]
) -> SweepReportData:
    """A recorded sweep (``sweep.record``'s row and frames) as its page's input."""
    stored = row["metrics"]
    manifest = stored.get("manifest") or {}
    params = sorted(row.get("params") or {})
    best = {k: stored["best_params"][k] for k in params}
    table = frames["table"]
    name = manifest.get("thesis_name") or Path(str(row.get("thesis_path") or "sweep")).stem
    shown = {k: v for k, v in manifest.items() if k not in ("thesis_spec", "thesis_description")}
    return SweepReportData(
        run_id=str(row["run_id"]),
        title=str(name),
        thesis_file=str(row.get("thesis_path") or "-"),
        synthetic=bool(manifest.get("synthetic")),
        verdict=str(stored.get("verdict") or ""),
        summary=_sweep_summary(stored),
        best=best,
        slices=pair_slices(table, params, best),
        table=table,
        walk_forward=frames["walk_forward"],
        manifest=[("run_id", str(row["run_id"])), *((k, str(v)) for k, v in shown.items())],
    )


def _sweep_summary(stored: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ranges, the best configuration's Sharpe on each, and how far to trust the pick."""
    best = stored.get("metrics") or {}
    trials = stored.get("trials") or {}
    (a, b), (c, d) = stored["in_sample"], stored["out_of_sample"]
    effective = trials.get("effective")
    return [
        (
            "Configurations",
            f"{stored.get('n_configs', 0):,} ({trials.get('distinct', '-')} distinct results)",
        ),
        ("In sample (the best chosen here)", f"{a} to {b}"),
        ("Out of sample", f"{c} to {d}"),
        ("Best: in-sample Sharpe", fmt_num(best.get("is_sharpe"))),
        ("Best: out-of-sample Sharpe", fmt_num(best.get("oos_sharpe"))),
        ("Best: deflated Sharpe (in sample)", fmt_num(stored.get("deflated_sharpe"), 3)),
        ("Effective independent trials", fmt_num(effective, 1)),
        (
            "Probability of backtest overfitting (CSCV)",
            fmt_num((stored.get("pbo") or {}).get("pbo")),
        ),
        ("Walk-forward folds", str(len(stored.get("walk_forward") or []))),
    ]


# -- screen ------------------------------------------------------------------------------------
def screen_report_data(
    report: ScreenReport, *, sector: pl.DataFrame | None = None
) -> ScreenReportData:
    """The terminal ``ScreenReport`` as HTML / e-mail input.

    ``sector`` (date, close of 801050.SI, see ``screen_context.sector_closes``) draws the
    chart; without it the page and the e-mail have no chart. The ScreenReport does not carry
    that history.
    """
    r = report.result
    empty = None if r.ranked.height else empty_reason(r)
    moves = report.metal_moves.rename(
        {c: "ret_" + c.removeprefix("chg_") for c in report.metal_moves.columns if c[:4] == "chg_"}
    )
    return ScreenReportData(
        date=r.on,
        ranked=_ranked(r),
        metal_moves=moves,
        synthetic=report.synthetic,
        new=_changed(r, "new"),
        dropped=_changed(r, "dropped"),
        warnings=tuple(report.warnings),
        sector=sector,
        prices=report.closes.select("date", "ticker", close="adj_close"),
        sector_label=SECTOR_INDEX,
        title=SCREEN_TITLE if r.screen.name == "screen" else f"{SCREEN_TITLE}: {r.screen.name}",
        sessions=SPARK_SESSIONS,
        coverage=(*([empty] if empty else []), *coverage_lines(r)),
        empty=empty,
        screen_name=r.screen.name,
    )


def _ranked(result: ScreenResult) -> pl.DataFrame:
    """Rank, names, score, the explaining factors, amount in millions, brokers, flags, prev."""
    ranked = result.ranked
    prev = result.changes.select("ticker", "prev_rank")
    wanted = ["rank", "ticker", "name", "metal", "score", *result.explain, AMOUNT_FACTOR]
    if ranked.get_column("amount_estimated").any():
        wanted.append("amount_estimated")
    wanted += ["brokers", "flags"]
    out = ranked.select([c for c in wanted if c in ranked.columns])
    if AMOUNT_FACTOR in out.columns:
        out = out.with_columns((pl.col(AMOUNT_FACTOR) / 1e6).alias(AMOUNT_FACTOR))
        out = out.rename(
            {AMOUNT_FACTOR: AMOUNT_COLUMN, "amount_estimated": ESTIMATED_COLUMN}, strict=False
        )
    if result.previous is None:
        return out
    return out.join(prev, on="ticker", how="left", maintain_order="left")


def _changed(result: ScreenResult, change: str) -> tuple[str, ...]:
    """'ticker name' of the names new to (or dropped from) the list since the last session."""
    if result.previous is None:
        return ()
    rows = result.changes.filter(pl.col("change") == change).select("ticker", "name")
    return tuple(f"{t} {n or ''}".strip() for t, n in rows.iter_rows())


def write_screen_report(
    report: ScreenReport | ScreenReportData, out_dir: Path, *, colors: Colors = A_SHARE
) -> Path:
    """Render and write ``out_dir/screen_<date>.html``, ``screen_<date>_<name>.html`` for a
    named screen: one page per (session, screen), so one screen's page never replaces
    another's (the demo's sector page and the daily job's picks page, say)."""
    data = report if isinstance(report, ScreenReportData) else screen_report_data(report)
    slug = re.sub(r"[^\w-]+", "_", data.screen_name).strip("_")
    stem = f"screen_{data.date.isoformat()}" + ("" if slug in ("", "screen") else f"_{slug}")
    return write_report(render_screen(data, colors=colors), out_dir, stem)


def with_warnings(data: ScreenReportData, extra: tuple[str, ...]) -> ScreenReportData:
    """The same screen with more warnings (e.g. a broker note the daily job could not read)."""
    return dataclasses.replace(data, warnings=(*data.warnings, *extra)) if extra else data
