"""Research commands: screen, theses, backtest, sweep, recorded runs."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from screener.cli.base import (
    Format,
    FormatOpt,
    app,
    console,
    emit_frame,
    emit_json,
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
    fmt: FormatOpt = Format.table,
) -> None:
    """Rank a universe on a date, with the factors that explain each rank."""
    from dataclasses import replace

    from screener.screen import Screen, check, load_screen, run_screen

    spec = load_screen(definition) if definition else Screen()
    if universe:
        spec = replace(spec, **Screen.parse_universe(universe))
    if score is not None:
        spec = replace(spec, score=score)
    if top is not None:
        spec = replace(spec, top_n=top)
    if include_st:
        spec = replace(spec, exclude_st=False)
    check(spec)
    from screener.report.screen_view import empty_reason, render_screen, screen_report

    with open_store(read_only=True) as store:
        on = session_for(store, date)
        result = run_screen(store, spec, on=on, settings=settings())
        if fmt is Format.table:
            report = screen_report(store, result, settings())
            console().print(render_screen(report, group_by_metal=by_metal))
            return
    if result.ranked.height == 0:
        print_note(empty_reason(result))
    if fmt is Format.csv:
        emit_frame(result.ranked, fmt)
    else:  # the array keeps its shape; each record says which session it is from
        emit_json([{**r, "as_of": on.isoformat()} for r in result.to_records()])


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
    fmt: FormatOpt = Format.table,
) -> None:
    """Run a thesis with A-share execution; prints metrics against 801050.SI and CSI 300."""
    from screener.runs import run_backtest
    from screener.thesis import load_thesis

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
    if fmt is Format.json:
        emit_json(result.to_json())
        return
    from screener.report.backtest_view import render_backtest

    console().print(render_backtest(result, synthetic=synthetic))


@app.command(rich_help_panel=PANEL)
def sweep(
    thesis: Annotated[Path, typer.Argument(help="A thesis file with a [sweep] table.")],
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

    from screener import cluster
    from screener.errors import ConfigError
    from screener.sweep import run_sweep
    from screener.thesis import load_thesis

    if address and engine is not Engine.ray:
        raise ConfigError("--address needs --engine ray")
    runner = cluster.RayEngine(address=address) if engine is Engine.ray else cluster.LocalEngine()
    spec = load_thesis(thesis)
    with open_store() as store, Progress(console=console(stderr=True), transient=True) as bar:
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
        emit_json(result.to_json())
        return
    (a, b), (c, d) = result.in_sample, result.out_of_sample
    title = f"sweep {result.run_id}: {result.n_configs} configurations"
    if result.resumed:
        title += f" ({result.resumed:,} resumed from an interrupted run)"
    title += f"; is_sharpe on {a}..{b}, oos_sharpe on {c}..{d}"
    emit_frame(result.table, fmt, title=title, metrics=True)
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

    from screener.runs import list_runs

    with open_store(read_only=True) as store:
        frame = list_runs(store)
    shown = frame.with_columns(
        pl.selectors.datetime().dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.selectors.date().cast(pl.String),
    )
    emit_frame(shown, fmt, title="runs", metrics=True)


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument()], fmt: FormatOpt = Format.json) -> None:
    """One run's parameters, metrics and manifest."""
    from screener.runs import load_run

    with open_store(read_only=True) as store:
        row, frames = load_run(store, run_id)
    if fmt is Format.json:
        emit_json({**row, "frames": {k: v.height for k, v in frames.items()}})
        return
    from screener.report.backtest_view import metrics_table

    console().print(metrics_table(row["metrics"]["metrics"], title=f"run {run_id}"))
