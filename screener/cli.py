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


# -- front door ----------------------------------------------------------------------------
@app.command()
def demo() -> None:
    """The main job on the embedded default: build the demo store and summarise it."""
    from screener.ingest import demo as demo_source
    from screener.report.terminal import demo_summary

    with open_store() as store:
        results = demo_source.load(store)
        _print_upserts(results)
        console().print(demo_summary(store))


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
