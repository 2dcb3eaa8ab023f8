"""Research commands: screen, theses, backtest, sweep, recorded runs."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from screener.cli.base import (
    Format,
    FormatOpt,
    app,
    colors,
    console,
    emit_frame,
    emit_json,
    is_synthetic,
    open_store,
    parse_date,
    print_note,
    session_for,
    settings,
)

PANEL = "Research"  # the group in `screener --help`


class Engine(enum.StrEnum):
    local = "local"
    ray = "ray"


runs_app = typer.Typer(help="Recorded backtest runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs", rich_help_panel=PANEL)


@app.command(rich_help_panel=PANEL)
def screen(
    date: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: last session).")
    ] = None,
    universe: Annotated[
        str | None, typer.Option(help="picks[:30d] | sector | metal:copper | all")
    ] = None,
    score: Annotated[str | None, typer.Option(help="Factor or composite to rank on.")] = None,
    top: Annotated[int | None, typer.Option("--top", help="How many names.")] = None,
    definition: Annotated[Path | None, typer.Option("--screen", help="A screen TOML file.")] = None,
    by_metal: Annotated[bool, typer.Option("--by-metal", help="Group the table by metal.")] = False,
    include_st: Annotated[bool, typer.Option("--include-st", help="Keep ST names.")] = False,
    exprs: Annotated[
        list[str] | None,
        typer.Option("--expr", help="A qlib expression as a factor, NAME=EXPR (repeatable)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Rank a universe on a date, with the factors that explain each rank.

    --score may name any factor: the library's, one of strategies/factors/*.toml, or an --expr.
    """
    from screener.api import screen_spec
    from screener.factors.expr.files import catalog
    from screener.screen import run_screen

    known = catalog(settings().strategies_dir, exprs=exprs or ())
    spec = screen_spec(
        known, definition, universe=universe, score=score, top=top, include_st=include_st
    )
    from screener.report.screen_view import empty_reason, render_screen
    from screener.screen_context import screen_report

    with open_store(read_only=True) as store:
        on = session_for(store, date)
        result = run_screen(store, spec, on=on, settings=settings(), catalog=known)
        synthetic = is_synthetic(store)
        if fmt is Format.table:
            report = screen_report(store, result, settings())
            console().print(render_screen(report, group_by_metal=by_metal, colors=colors()))
            return
    if result.ranked.height == 0:
        print_note(empty_reason(result))
    print_note(result.coverage.estimate_line())
    if fmt is Format.csv:
        emit_frame(result.ranked, fmt, synthetic=synthetic)
    else:  # the array keeps its shape; each record says which session and coverage it is from
        cover = {"as_of": on.isoformat(), "coverage": result.coverage.to_json(result.screen)}
        emit_json([{**r, **cover} for r in result.to_records()], synthetic=synthetic)


@app.command(rich_help_panel=PANEL)
def theses() -> None:
    """The thesis files, one line each."""
    from screener.thesis import list_theses

    for t in list_theses(settings().strategies_dir):
        console().print(f"[bold]{Path(t.path).name}[/bold]  {t.name}: {t.description}")


@app.command(rich_help_panel=PANEL)
def backtest(
    thesis: Annotated[
        Path, typer.Argument(help="A thesis file, e.g. strategies/oversold_nonferrous_dip.toml")
    ],
    start: Annotated[str | None, typer.Option(help="First date YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date YYYY-MM-DD.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Also write equity, returns, positions and trades (Parquet, CSV) here."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run a thesis with A-share execution; prints metrics against 801050.SI and CSI 300."""
    from screener.thesis import load_thesis
    from screener.thesis.run import run_backtest

    spec = load_thesis(thesis)
    with open_store() as store:
        result = run_backtest(
            store,
            spec,
            start=parse_date(start) if start else None,
            end=parse_date(end) if end else None,
            settings=settings(),
        )
        synthetic = result.manifest["synthetic"]
    if out is not None:
        _export(result.frames(), out, synthetic=synthetic)
    if fmt is Format.json:
        emit_json(result.to_json(), synthetic=synthetic)
        return
    if fmt is Format.csv:  # the headline metrics, one per line (nested results: --format json)
        import polars as pl

        scalars = [(k, v) for k, v in result.metrics.items() if isinstance(v, int | float | str)]
        rows = {"metric": [k for k, _ in scalars], "value": [str(v) for _, v in scalars]}
        emit_frame(pl.DataFrame(rows), fmt, synthetic=synthetic)
        return
    from screener.report.backtest_view import render_backtest

    console().print(render_backtest(result, synthetic=synthetic))


@app.command(rich_help_panel=PANEL)
def sweep(
    thesis: Annotated[Path, typer.Argument(help="A thesis file with a \\[sweep] table.")],
    start: Annotated[str | None, typer.Option(help="First date YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date YYYY-MM-DD.")] = None,
    folds: Annotated[int, typer.Option(help="Walk-forward test blocks.")] = 3,
    engine: Annotated[
        Engine, typer.Option(help="Where configurations run: this process, or a Ray cluster.")
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option(help="Ray head HOST:6379 (--engine ray; default: Ray on this machine)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Skip configurations an interrupted run of this sweep finished."),
    ] = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run a thesis's parameter grid: table, walk-forward, deflated Sharpe of the best."""
    from rich.progress import Progress

    from screener.errors import ConfigError
    from screener.thesis import cluster, load_thesis
    from screener.thesis.sweep import run_sweep

    if address and engine is not Engine.ray:
        raise ConfigError("--address needs --engine ray")
    runner = cluster.RayEngine(address=address) if engine is Engine.ray else cluster.LocalEngine()
    spec = load_thesis(thesis)
    with open_store() as store, Progress(console=console(stderr=True), transient=True) as bar:
        synthetic = is_synthetic(store)
        task = bar.add_task("configurations", total=None)
        try:
            result = run_sweep(
                store,
                spec,
                start=parse_date(start) if start else None,
                end=parse_date(end) if end else None,
                settings=settings(),
                folds=folds,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                engine=runner,
                resume=resume,
            )
        except KeyboardInterrupt:
            done = int(bar.tasks[0].completed)
            if resume and done:
                console(stderr=True).print(
                    f"{done:,} finished configurations are saved: run the same command again "
                    "to compute only the rest"
                )
            raise
    if fmt is Format.json:
        emit_json(result.to_json(), synthetic=synthetic)
        return
    (a, b), (c, d) = result.in_sample, result.out_of_sample
    title = f"sweep {result.run_id}: {result.n_configs} configurations"
    if result.resumed:
        title += f" ({result.resumed:,} resumed from an interrupted run)"
    title += f"; is_sharpe on {a}..{b}, oos_sharpe on {c}..{d}"
    emit_frame(result.table, fmt, title=title, metrics=True, synthetic=synthetic)
    if fmt is Format.table:
        walk = (
            f"walk-forward: {result.walk_forward.height} folds, each configuration chosen on its "
            "expanding training range and scored on the next test block"
        )
        emit_frame(result.walk_forward, fmt, title=walk, metrics=True)
        console().print(result.verdict, markup=False)


@runs_app.command("list")
def runs_list(fmt: FormatOpt = Format.table) -> None:
    """Recorded runs, newest first."""
    import polars as pl

    from screener.thesis.record import list_runs

    with open_store(read_only=True) as store:
        frame = list_runs(store)
        synthetic = is_synthetic(store)
    shown = frame.with_columns(
        pl.selectors.datetime().dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.selectors.date().cast(pl.String),
    )
    first = ("kind", "total_return", "sharpe")  # what a run found, before where it came from
    emit_frame(shown, fmt, title="runs", metrics=True, synthetic=synthetic, first=first)


@runs_app.command("export")
def runs_export(
    run_id: Annotated[str, typer.Argument(help="A backtest's run id (`screener runs list`).")],
    out: Annotated[Path, typer.Argument(help="Directory to write the files into.")],
) -> None:
    """Write a recorded backtest's equity, returns, positions and trades as Parquet and CSV."""
    from screener.thesis.record import load_run

    with open_store(read_only=True) as store:
        _, frames = load_run(store, run_id)
        synthetic = is_synthetic(store)
    _export(frames, out, synthetic=synthetic)


def _export(frames: dict[str, Any], out: Path, *, synthetic: bool) -> None:
    """The run's tables into ``out``; what was written (and any table missing) on stderr."""
    from screener.thesis.export import TABLES, export_tables, write_tables

    tables = export_tables(frames)
    written = write_tables(tables, out, synthetic=synthetic)
    print_note(f"wrote {len(written)} files to {out}: {', '.join(tables)} (.parquet, .csv)")
    if missing := [t for t in TABLES if t not in tables]:
        print_note(f"no {', '.join(missing)}: the run was recorded before they were kept")


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument()], fmt: FormatOpt = Format.json) -> None:
    """One run's parameters, metrics, manifest and (backtests) each episode's coverage."""
    import polars as pl

    from screener.screen_coverage import episode_lines
    from screener.thesis.record import load_run

    with open_store(read_only=True) as store:
        row, frames = load_run(store, run_id)
        synthetic = is_synthetic(store)
    episodes = frames.get("episodes", pl.DataFrame())
    if fmt is Format.json:  # the stored record (metrics, manifest, event) at the top level
        records = episodes.with_columns(pl.selectors.temporal().cast(pl.String)).to_dicts()
        stored = {k: v for k, v in row.items() if k != "metrics"} | row["metrics"]
        counts = {"frames": {k: v.height for k, v in frames.items()}, "episodes": records}
        emit_json({**stored, **counts}, synthetic=synthetic)
        return
    from screener.report.backtest_view import metrics_table

    console().print(metrics_table(row["metrics"]["metrics"], title=f"run {run_id}"))
    for line in episode_lines(episodes):
        console().print(line, markup=False)
