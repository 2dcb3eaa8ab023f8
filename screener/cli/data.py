"""Commands that load and inspect data: store, ingest, update."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screener.cli.base import (
    Format,
    FormatOpt,
    app,
    console,
    emit_frame,
    emit_json,
    is_synthetic,
    open_store,
    parse_date,
    print_table,
    print_upserts,
    settings,
)

if TYPE_CHECKING:
    import datetime as dt

    from screener.store import Store

PANEL = "Data"  # the group in `screener --help`

store_app = typer.Typer(help="Inspect the DuckDB store.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load data into the store.", no_args_is_help=True)
app.add_typer(store_app, name="store", rich_help_panel=PANEL)
app.add_typer(ingest_app, name="ingest", rich_help_panel=PANEL)


# -- store ---------------------------------------------------------------------------------
@store_app.command("info")
def store_info(fmt: FormatOpt = Format.table) -> None:
    """Row counts and date ranges per table."""
    with open_store(read_only=True) as store:
        info = store.info()
        synthetic = is_synthetic(store)
    if fmt is Format.json:
        emit_json(info, synthetic=synthetic)
    else:
        from screener.report.terminal import store_info_table

        console().print(store_info_table(info))


@store_app.command("init")
def store_init() -> None:
    """Create the schema and load the instrument master (data/instruments.csv), no bars.

    The first step for your own data; running it again changes nothing.
    """
    from screener.ingest.master import ensure_master

    with open_store() as store:
        result = ensure_master(store)
        path = store.path
    print_upserts({"instruments": result})
    console().print(
        f"store {path} is ready: next `screener ingest csv|parquet FILE...`, "
        "then `screener store check`",
        markup=False,
    )


@store_app.command("check")
def store_check(fmt: FormatOpt = Format.table) -> None:
    """Coverage: spans, gaps, missing sessions, metal series, names lacking data, what to
    import next."""
    from screener.coverage import check_coverage

    with open_store(read_only=True) as store:
        coverage = check_coverage(store)
        synthetic = is_synthetic(store)
    if fmt is Format.json:
        emit_json(coverage.to_json(), synthetic=synthetic)
        return
    from screener.report.coverage_view import render_coverage

    print_table(render_coverage(coverage))


@store_app.command("imports")
def store_imports(fmt: FormatOpt = Format.table) -> None:
    """Every import, oldest first: source, content hash, what it did (lineage)."""
    import polars as pl

    with open_store(read_only=True) as store:
        imports = store.read_table("imports")
        synthetic = is_synthetic(store)
    cols = ["import_id", "finished_at", "origin", "kind", "source", "format", "policy"]
    counts = [c for c in imports.columns if c.startswith("rows_")]
    out = imports.select(
        *cols, pl.col("content_hash").str.slice(0, 12).alias("sha256"), *counts
    ).rename({c: c.removeprefix("rows_") for c in counts})
    if imports.is_empty():
        console(stderr=True).print(
            "no imports yet: `screener ingest csv|parquet FILE...` (or `screener ingest demo`)",
            markup=False,
        )
    emit_frame(
        out.with_columns(pl.col("finished_at").dt.strftime("%Y-%m-%d %H:%M:%S")),
        fmt,
        title="imports",
        synthetic=synthetic,
    )


# -- ingest --------------------------------------------------------------------------------
@ingest_app.command("demo")
def ingest_demo(
    end: Annotated[
        str | None, typer.Option(help="Last date (default: last session on or before today).")
    ] = None,
) -> None:
    """Build the deterministic synthetic demo market, with its weekly broker notes, into the
    store."""
    with open_store() as store:
        load_demo(store, end=parse_date(end) if end else None)


def load_demo(store: Store, *, end: dt.date | None = None) -> None:
    """The demo market to ``end`` and its synthetic weekly notes, in one transaction (a kill
    between the two would leave a market without notes); says what changed."""
    from screener.brokers import demo_notes
    from screener.ingest import demo

    with store.transaction():
        market = demo.load(store, end=end)
        notes = demo_notes.load(store)
    print_upserts(market)
    console().print(demo_notes.summary_line(notes), markup=False)


class Kind(enum.StrEnum):
    bars = "bars"
    idx = "index"  # the value is what users type; `index` would shadow str.index
    series = "series"


class PreferChoice(enum.StrEnum):
    refuse = "refuse"
    new = "new"
    stored = "stored"


def _import_files(
    paths: list[Path],
    kind: Kind,
    fmt: str,
    ticker: str | None,
    dry_run: bool,
    adjusted: bool,
    prefer: PreferChoice,
    quarantine: Path | None,
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
            prefer=prefer.value,
            quarantine=quarantine,
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
PreferOpt = Annotated[
    PreferChoice,
    typer.Option(
        "--prefer",
        help="When a value differs from one another import stored: refuse the import (list "
        "the conflicts), or take the new or the stored value.",
    ),
]
QuarantineOpt = Annotated[
    Path | None,
    typer.Option(
        "--quarantine",
        help="Import the good rows and write every refused row (file, line, field, reason) "
        "to this CSV.",
    ),
]


def _file_command(name: str, doc: str) -> None:
    """Register `ingest NAME`: the CSV and Parquet importers take the same options."""

    def command(
        paths: PathsArg,
        kind: KindOpt = Kind.bars,
        fmt: FmtOpt = "auto",
        ticker: TickerOpt = None,
        dry_run: DryOpt = False,
        allow_adjusted: AdjOpt = False,
        prefer: PreferOpt = PreferChoice.refuse,
        quarantine: QuarantineOpt = None,
    ) -> None:
        _import_files(paths, kind, fmt, ticker, dry_run, allow_adjusted, prefer, quarantine)

    command.__doc__ = doc
    ingest_app.command(name)(command)


_file_command(
    "csv", "Import vendor CSV exports (banner rows, Chinese headers, akshare/Tushare layouts)."
)
_file_command("parquet", "Import Parquet files with English columns matching the store's tables.")


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

    from screener.ingest import akshare

    first, last = (parse_date(start) if start else None), (parse_date(end) if end else None)
    switch = settings().st_limit_switch
    bars = [akshare.fetch_stock_bars(t, start=first, end=last, st_switch=switch) for t in tickers]
    idx = [akshare.fetch_sw_index(c, start=first, end=last) for c in index]
    fut = [akshare.fetch_futures(s) for s in futures]
    with open_store() as store:
        fetched = {"bars_daily": bars, "index_daily": idx, "series_daily": fut}
        results = akshare.upsert_fetched(store, fetched)
    print_upserts(results)


@app.command(rich_help_panel=PANEL)
def update(
    date: Annotated[
        str | None, typer.Option("--date", help="Last session to reach (default: the latest).")
    ] = None,
) -> None:
    """Extend every stock, index and series the store follows up to a session.

    A demo store regrows its synthetic market; any other store fetches the new rows from akshare
    (extra `live`) and writes them in one transaction.
    """
    import datetime as dt

    from screener import calendar
    from screener.ingest.update import update_store

    until = parse_date(date) if date else calendar.last_session_on_or_before(dt.date.today())
    with open_store() as store, store.transaction():  # the market and its notes, or neither
        report = update_store(store, until=until, st_switch=settings().st_limit_switch)
        lines = report.lines()
        if is_synthetic(store):  # the demo's weekly notes grow with its market
            from screener.brokers import demo_notes

            lines.append(demo_notes.summary_line(demo_notes.load(store)))
    out = console()
    for line in lines:
        out.print(line, markup=False)
