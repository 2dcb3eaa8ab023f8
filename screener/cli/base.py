"""What every command shares: the typer app, global options, the store, output formats."""

from __future__ import annotations

import enum
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import datetime as dt

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


FormatOpt = Annotated[Format, typer.Option("--format")]


def settings() -> Settings:
    from screener.config import Settings

    return Settings.load(db=STATE.db)


def open_store(*, read_only: bool = False) -> Store:
    from screener.store import Store

    return Store(settings().db_path, read_only=read_only)


# Width of piped or redirected output (rich's default there, 80, cuts the screen's tables);
# the reports are laid out for 120 columns. COLUMNS, when set, wins.
PIPED_WIDTH = 120


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPED_WIDTH
    return out


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")


def emit_frame(frame: Any, fmt: Format, title: str | None = None, *, metrics: bool = False) -> None:
    """Print a polars frame as a rich table, CSV or a JSON array of records.

    ``metrics``: the table shows returns and rates as percentages (``frame_table``).
    """
    if fmt is Format.json:  # serialised by polars from its columns, not row by row
        sys.stdout.write(frame.write_json() + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(frame.write_csv())
    else:
        from screener.report.terminal import frame_table

        print_table(frame_table(frame, title=title, metrics=metrics))


def print_table(table: Any) -> None:
    """A rich table on stdout: whole in a file or a pipe; in a terminal too narrow for it,
    cut to fit, with a line on stderr saying so."""
    out = console()
    need = out.measure(table, options=out.options.update_width(1 << 16)).maximum
    if not out.is_terminal:
        out.width = max(need, out.width)
    out.print(table)
    if need > out.width:
        console(stderr=True).print(
            f"the table needs {need} columns and has {out.width}: --format csv prints every value"
        )


def print_upserts(results: dict[str, Any]) -> None:
    out = console()
    for table, r in results.items():
        state = "changed" if r.changed else "unchanged"
        out.print(f"{table}: {r.describe()} ({state})", markup=False)


def parse_date(text: str) -> Any:
    import datetime as dt

    from screener.errors import ScreenerError

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ScreenerError(f"'{text}' is not a date (use YYYY-MM-DD)") from None


def session_for(store: Store, date: str | None) -> dt.date:
    """The stored session ``--date`` reads (one rule: ``screener.as_of``); its note on stderr."""
    from screener.as_of import resolve_as_of

    when = resolve_as_of(store.sessions(), parse_date(date) if date else None)
    print_note(when.note)
    return when.session


def print_note(note: str | None) -> None:
    """A side remark (e.g. which session a command used) on stderr, so JSON stays pure."""
    if note:
        console(stderr=True).print(note, markup=False)


def csv_list(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None
