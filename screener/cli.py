"""Command line: the only module that prints. Wires Settings -> Store -> stages -> renderers.

Heavy modules (polars, duckdb, vectorbt) are imported inside commands so `--help` stays instant.
User errors (ScreenerError) print one line on stderr and exit 1; `--debug` shows the traceback.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from screener.config import Settings
    from screener.store import Store

app = typer.Typer(
    help="Research tool for A-share nonferrous-metal stocks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
store_app = typer.Typer(help="Inspect the DuckDB store.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load data into the store.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(ingest_app, name="ingest")


class Engine(enum.StrEnum):
    local = "local"
    ray = "ray"


class Format(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class _State:
    db: Path | None = None
    debug: bool = False


STATE = _State()


@app.callback()
def _main(
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="SCREENER_DB", help="DuckDB store file.", show_default=False),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Global options; the default store is data/screener.duckdb."""
    STATE.db = db
    STATE.debug = debug


def settings() -> Settings:
    from screener.config import Settings

    return Settings.load(db=STATE.db)


def open_store(*, read_only: bool = False) -> Store:
    from screener.store import Store

    return Store(settings().db_path, read_only=read_only)


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")


def emit_frame(frame: Any, fmt: Format, title: str | None = None) -> None:
    """Print a polars frame as a rich table, CSV or a JSON array of records."""
    if fmt is Format.json:
        emit_json(frame.to_dicts())
    elif fmt is Format.csv:
        sys.stdout.write(frame.write_csv())
    else:
        from screener.report.terminal import frame_table

        console().print(frame_table(frame, title=title))


# -- store ---------------------------------------------------------------------------------
@store_app.command("info")
def store_info(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Row counts and date ranges per table."""
    with open_store(read_only=True) as store:
        info = store.info()
    if fmt is Format.json:
        emit_json(info)
    else:
        from screener.report.terminal import store_info_table

        console().print(store_info_table(info))


# -- ingest --------------------------------------------------------------------------------
@ingest_app.command("demo")
def ingest_demo(
    end: Annotated[
        str | None, typer.Option(help="Last date (default: last session on or before today).")
    ] = None,
) -> None:
    """Build the deterministic synthetic demo market into the store."""
    from screener.ingest import demo

    with open_store() as store:
        results = demo.load(store, end=_date(end) if end else None)
    _print_upserts(results)


class Kind(enum.StrEnum):
    bars = "bars"
    idx = "index"  # the value is what users type; `index` would shadow str.index
    series = "series"


def _import_files(
    paths: list[Path], kind: Kind, fmt: str, ticker: str | None, dry_run: bool, adjusted: bool
) -> None:
    from screener.ingest import files

    with open_store() as store:
        report = files.import_files(
            store,
            paths,
            kind=kind.value,
            fmt=fmt,
            ticker=ticker,
            dry_run=dry_run,
            allow_adjusted=adjusted,
            st_switch=settings().st_limit_switch,
        )
    out = console()
    for f in report.files:
        out.print(f"[bold]{f.path}[/bold]")
        for key, text in f.detected.items():
            out.print(f"  {key}: {text}", markup=False)
    for line in files.describe(report):
        out.print(line, markup=False)


PathsArg = Annotated[list[Path], typer.Argument(help="Vendor files to import.")]
KindOpt = Annotated[Kind, typer.Option("--kind", help="Table the files feed.")]
FmtOpt = Annotated[
    str, typer.Option("--format", help="Layout (auto detects): see `screener ingest formats`.")
]
TickerOpt = Annotated[
    str | None, typer.Option("--ticker", help="Override the ticker / index code / series id.")
]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Validate and count; write nothing.")]
AdjOpt = Annotated[
    bool, typer.Option("--allow-adjusted", help="Store forward/back-adjusted prices as given.")
]


@ingest_app.command("csv")
def ingest_csv(
    paths: PathsArg,
    kind: KindOpt = Kind.bars,
    fmt: FmtOpt = "auto",
    ticker: TickerOpt = None,
    dry_run: DryOpt = False,
    allow_adjusted: AdjOpt = False,
) -> None:
    """Import vendor CSV exports (banner rows, Chinese headers, akshare/Tushare layouts)."""
    _import_files(paths, kind, fmt, ticker, dry_run, allow_adjusted)


@ingest_app.command("parquet")
def ingest_parquet(
    paths: PathsArg,
    kind: KindOpt = Kind.bars,
    fmt: FmtOpt = "auto",
    ticker: TickerOpt = None,
    dry_run: DryOpt = False,
    allow_adjusted: AdjOpt = False,
) -> None:
    """Import Parquet files with English columns matching the store's tables."""
    _import_files(paths, kind, fmt, ticker, dry_run, allow_adjusted)


@ingest_app.command("formats")
def ingest_formats() -> None:
    """List the vendor layouts `--format` accepts."""
    from screener.ingest.vendor_formats import FMT_CHOICES

    console().print("\n".join(FMT_CHOICES))


@ingest_app.command("akshare")
def ingest_akshare(
    tickers: Annotated[list[str], typer.Argument(help="A-share tickers, e.g. 600362.SH.")],
    start: Annotated[str | None, typer.Option(help="First date YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date YYYY-MM-DD.")] = None,
    index: Annotated[list[str], typer.Option(help="Shenwan index codes to fetch too.")] = [],  # noqa: B006
    futures: Annotated[list[str], typer.Option(help="SHFE series ids, e.g. SHFE.CU.")] = [],  # noqa: B006
) -> None:
    """Fetch live data with akshare (extra `live`) and upsert it in one transaction."""
    import polars as pl

    from screener.ingest import akshare

    first, last = (_date(start) if start else None), (_date(end) if end else None)
    switch = settings().st_limit_switch
    bars = [akshare.fetch_stock_bars(t, start=first, end=last, st_switch=switch) for t in tickers]
    idx = [akshare.fetch_sw_index(c, start=first, end=last) for c in index]
    fut = [akshare.fetch_futures(s) for s in futures]
    results: dict[str, Any] = {}
    with open_store() as store, store.transaction():
        for table, frames in (("bars_daily", bars), ("index_daily", idx), ("series_daily", fut)):
            if frames:
                results[table] = store.upsert(table, pl.concat(frames), source="akshare")
    _print_upserts(results)


def _print_upserts(results: dict[str, Any]) -> None:
    out = console()
    for table, r in results.items():
        state = "changed" if r.changed else "unchanged"
        counts = f"{r.inserted} inserted, {r.updated} updated, {r.unchanged} unchanged"
        out.print(f"{table}: {counts} ({state})")


def _date(text: str) -> Any:
    import datetime as dt

    from screener.errors import ScreenerError

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ScreenerError(f"'{text}' is not a date (use YYYY-MM-DD)") from None


# -- research ------------------------------------------------------------------------------
picks_app = typer.Typer(
    help="Broker notes: parse, import, list, performance.", no_args_is_help=True
)
runs_app = typer.Typer(help="Recorded backtest runs.", no_args_is_help=True)
app.add_typer(picks_app, name="picks")
app.add_typer(runs_app, name="runs")
FormatOpt = Annotated[Format, typer.Option("--format")]


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@app.command()
def factors(
    date: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: last session).")
    ] = None,
    tickers: Annotated[str | None, typer.Option(help="Comma-separated tickers.")] = None,
    metal: Annotated[str | None, typer.Option(help="Every stock tagged with this metal.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every stock (the default).")] = False,
    names: Annotated[str | None, typer.Option("--factors", help="Comma-separated factors.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the factors and exit.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Factor values and cross-sectional ranks (1 = best) on a date."""
    import polars as pl

    if list_:
        from screener.factors.library import REGISTRY

        rows = [
            {
                "factor": f.name,
                "lookback": f.lookback,
                "higher_is_better": f.higher_is_better,
                "meaning": f.doc.strip().splitlines()[0],
            }
            for f in REGISTRY.values()
        ]
        emit_frame(pl.DataFrame(rows), fmt, title="factors")
        return
    from screener.engine import compute_factors

    with open_store(read_only=True) as store:
        on = _date(date) if date else store.sessions()[-1]
        frame = compute_factors(
            store,
            on=on,
            tickers=_csv(tickers),
            metal=metal,
            factors=_csv(names),
            settings=settings(),
        )
    emit_frame(frame.with_columns(pl.col("date").cast(pl.String)), fmt, title=f"factors on {on}")


@picks_app.command("parse")
def picks_parse(path: Annotated[Path, typer.Argument()], fmt: FormatOpt = Format.table) -> None:
    """One row per recommendation in a note file (nothing is stored)."""
    import polars as pl

    from screener.brokers.notes import parse_file
    from screener.instruments import load_master

    parsed = parse_file(path, load_master())
    cols = [
        "broker",
        "report_date",
        "title",
        "metal",
        "name_as_written",
        "ticker",
        "board",
        "rating",
        "status",
        "span",
    ]
    emit_frame(parsed.picks.select(cols).with_columns(pl.col("report_date").cast(pl.String)), fmt)
    if fmt is Format.table and parsed.unresolved.height:
        console(stderr=True).print(f"{parsed.unresolved.height} name(s) unresolved or ambiguous")


@picks_app.command("import")
def picks_import(paths: Annotated[list[Path], typer.Argument()]) -> None:
    """Store notes and their picks (by content hash: importing twice changes nothing)."""
    from screener.brokers.ledger import import_notes
    from screener.instruments import load_master

    with open_store() as store:
        s = import_notes(store, paths, load_master())
    console().print(
        f"notes: {s.notes_new} new, {s.notes_unchanged} unchanged; picks: {s.picks_new} new, "
        f"{s.picks_updated} updated, {s.picks_unchanged} unchanged, {s.picks_removed} removed"
    )
    for row in s.unresolved.iter_rows(named=True):
        console().print(
            f"  {row['status']}: {row['name_as_written']} ({row['context']})", markup=False
        )


@picks_app.command("list")
def picks_list(
    since: Annotated[str | None, typer.Option(help="Report date on or after YYYY-MM-DD.")] = None,
    broker: Annotated[str | None, typer.Option()] = None,
    metal: Annotated[str | None, typer.Option()] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Stored picks, newest first."""
    import polars as pl

    from screener.brokers.ledger import list_picks

    with open_store(read_only=True) as store:
        picks = list_picks(store, since=_date(since) if since else None, broker=broker, metal=metal)
    out = picks.drop("note_id", "span").with_columns(pl.col("report_date").cast(pl.String))
    emit_frame(out, fmt, title="broker picks")


@picks_app.command("performance")
def picks_performance(
    horizons: Annotated[str, typer.Option(help="Sessions after entry.")] = "5,20,60",
    fmt: FormatOpt = Format.table,
) -> None:
    """Return of each pick after its report vs 801050.SI and CSI 300; hit rates by group."""
    from screener.brokers.ledger import pick_performance

    hs = tuple(int(h) for h in _csv(horizons) or ())
    with open_store(read_only=True) as store:
        perf = pick_performance(store, horizons=hs)
    if fmt is Format.json:
        emit_json({"summary": perf.summary.to_dicts(), "per_pick": perf.per_pick.to_dicts()})
        return
    emit_frame(perf.summary, fmt, title=f"pick performance (notional {perf.notional:,.0f} CNY)")


@app.command()
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

    from screener.screen import Screen, check, load_screen

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
    with open_store(read_only=True) as store:
        on = _date(date) if date else _today_session(store)
        result = run_screen_cli(store, spec, on)
        if fmt is not Format.table:
            emit_frame(result.ranked, fmt) if fmt is Format.csv else emit_json(result.to_records())
            return
        from screener.report.screen_view import render_screen, screen_report

        console().print(
            render_screen(screen_report(store, result, settings()), group_by_metal=by_metal)
        )


def run_screen_cli(store: Store, spec: Any, on: Any) -> Any:
    from screener.screen import run_screen

    return run_screen(store, spec, on=on, settings=settings())


def _today_session(store: Store) -> Any:
    import datetime as dt

    days = store.sessions()
    return days[-1] if days else dt.date.today()


@app.command()
def theses() -> None:
    """The thesis files, one line each."""
    from screener.thesis import list_theses

    for t in list_theses(settings().strategies_dir):
        console().print(f"[bold]{Path(t.path).name}[/bold]  {t.name}: {t.description}")


@app.command()
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
            start=_date(start) if start else None,
            end=_date(end) if end else None,
            settings=settings(),
        )
        synthetic = result.manifest["synthetic"]
    if fmt is Format.json:
        emit_json(result.to_json())
        return
    from screener.report.backtest_view import render_backtest

    console().print(render_backtest(result, synthetic=synthetic))


@app.command()
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
                start=_date(start) if start else None,
                end=_date(end) if end else None,
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
    title = f"sweep {result.run_id}: {result.n_configs} configurations"
    if result.resumed:
        title += f" ({result.resumed:,} resumed from an interrupted run)"
    emit_frame(result.table, fmt, title=title)
    if fmt is Format.table:
        emit_frame(result.walk_forward, fmt, title="walk-forward (chosen on train, scored on test)")
        console().print(result.verdict, markup=False)


@runs_app.command("list")
def runs_list(fmt: FormatOpt = Format.table) -> None:
    """Recorded runs, newest first."""
    import polars as pl

    from screener.runs import list_runs

    with open_store(read_only=True) as store:
        frame = list_runs(store)
    emit_frame(frame.with_columns(pl.selectors.temporal().cast(pl.String)), fmt, title="runs")


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


# -- reports, e-mail, the daily job ---------------------------------------------------------
schedule_app = typer.Typer(help="The daily job's crontab entry.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@app.command()
def report(
    target: Annotated[
        str, typer.Argument(help="A run id (see `screener runs list`) or a thesis file.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default reports/).")] = None,
) -> None:
    """Write a self-contained HTML report of a recorded run, or run a thesis and report it."""
    from screener.report.assemble import write_backtest_report
    from screener.runs import load_run, run_backtest
    from screener.thesis import load_thesis

    folder = out or settings().reports_dir
    if target.endswith(".toml"):
        with open_store() as store:
            path = write_backtest_report(
                run_backtest(store, load_thesis(Path(target)), settings=settings()), folder
            )
    else:
        with open_store(read_only=True) as store:
            path = write_backtest_report(load_run(store, target), folder)
    console().print(f"report: {path}")


@app.command()
def email(
    date: Annotated[
        str | None, typer.Option("--date", help="Screen date (default: last session).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Comma-separated recipients.")] = None,
    dry_run: Annotated[
        Path | None, typer.Option("--dry-run", help="Write .eml files here; send nothing.")
    ] = None,
) -> None:
    """The screen as an e-mail: queued in the outbox, sent once per (date, recipient)."""
    from screener.daily import email_screen

    with open_store(read_only=False) as store:
        outcome = email_screen(
            store, settings(), on=_date(date) if date else None, to=_csv(to), dry_run_dir=dry_run
        )
    _finish(outcome.lines(), outcome.ok)


@app.command("run-daily")
def run_daily(
    date: Annotated[
        str | None, typer.Option("--date", help="Session (default: today, Beijing).")
    ] = None,
    dry_run: Annotated[
        Path | None, typer.Option("--dry-run", help="Write .eml files here; send nothing.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run before the 15:30 data cut-off.")
    ] = False,
) -> None:
    """After the close: update data, import new notes, screen, e-mail, write the HTML report."""
    from screener.daily import run_daily as job

    with open_store() as store:
        outcome = job(
            store, settings(), on=_date(date) if date else None, dry_run_dir=dry_run, force=force
        )
    _finish(outcome.lines(), outcome.ok)


def _finish(lines: list[str], ok: bool) -> None:
    out = console()
    for line in lines:
        out.print(line, markup=False)
    if not ok:
        raise typer.Exit(1)


@schedule_app.command("show")
def schedule_show() -> None:
    """Print the crontab lines for `screener run-daily` (from schedule_cron in screener.toml)."""
    import sys

    from screener.schedule import crontab_block

    for line in crontab_block(settings(), project_dir=Path.cwd(), python=Path(sys.executable)):
        console().print(line, markup=False)


@schedule_app.command("install")
def schedule_install(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; change nothing.")
    ] = False,
) -> None:
    """Install (or update) the managed crontab entry; idempotent, shows the diff."""
    import sys

    from screener.schedule import install

    result = install(
        settings(), project_dir=Path.cwd(), python=Path(sys.executable), dry_run=dry_run
    )
    console().print(result.diff or "crontab unchanged", markup=False)


# -- front door ----------------------------------------------------------------------------
DEMO_THESIS = Path("strategies/oversold_nonferrous_dip.toml")


@app.command()
def demo() -> None:
    """The main job on the embedded default, end to end (no network).

    Builds the synthetic demo store, imports the sample broker note, prints today's sector screen,
    backtests the default thesis with an HTML report in reports/, and writes a dry-run e-mail of
    the screen to reports/outbox/.
    """
    from screener.brokers.ledger import import_notes
    from screener.daily import email_screen
    from screener.ingest import demo as demo_source
    from screener.instruments import load_master
    from screener.report.assemble import write_backtest_report, write_screen_report
    from screener.report.backtest_view import render_backtest
    from screener.report.screen_view import render_screen, screen_report
    from screener.report.terminal import demo_summary
    from screener.runs import run_backtest
    from screener.screen import Screen, run_screen
    from screener.thesis import load_thesis

    cfg, out = settings(), console()
    daily = Screen(universe="sector", name="sector oversold", score="oversold_score", top_n=10)
    with open_store() as store:
        out.rule("1. the demo store")
        _print_upserts(demo_source.load(store))
        out.print(demo_summary(store))
        out.rule("2. the sample broker note")
        notes = import_notes(store, sorted(cfg.notes_dir.glob("*.txt")), load_master())
        out.print(
            f"notes: {notes.notes_new} new, {notes.notes_unchanged} unchanged; "
            f"picks: {notes.picks_new} new, {notes.picks_unchanged} unchanged"
        )
        today = store.sessions()[-1]
        out.rule(f"3. today's screen ({today})")
        result = run_screen(store, daily, on=today, settings=cfg)
        view = screen_report(store, result, cfg)
        out.print(render_screen(view))
        screen_html = write_screen_report(view, cfg.reports_dir)
        out.rule(f"4. backtest: {DEMO_THESIS}")
        bt = run_backtest(store, load_thesis(DEMO_THESIS), settings=cfg)
        out.print(render_backtest(bt, synthetic=bt.manifest["synthetic"]))
        report_html = write_backtest_report(bt, cfg.reports_dir)
        out.rule("5. the screen e-mail (dry run)")
        mail = email_screen(
            store, cfg, on=today, dry_run_dir=cfg.reports_dir / "outbox", screen=daily
        )
    for line in mail.lines():
        out.print(line, markup=False)
    out.rule("files")
    out.print(f"store:           {cfg.db_path}")
    out.print(f"screen report:   {screen_html}")
    out.print(f"backtest report: {report_html}  (run {bt.run_id})")
    out.print(f"e-mail (dry run): {cfg.reports_dir / 'outbox'}")
    out.print("next: `.venv/bin/screener --help`, e.g. `screener screen --date 2026-02-09`")


def run(fn: Callable[[], Any]) -> int:
    """Call the typer app; turn user errors into one line on stderr and an exit code."""
    from screener.errors import ScreenerError

    try:
        fn()
    except SystemExit as exc:  # typer's standalone mode: usage errors (2), --help (0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ScreenerError as exc:
        if STATE.debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 0


def main() -> None:
    sys.exit(run(app))
