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
    from screener.report.colors import Colors
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


def _flags_take_no_value() -> None:
    """typer 0.29 prints a type beside every option in --help, ``<bool>`` for flags too; a flag
    takes no value, so it gets none (the one change we make to typer's help; remove it once
    typer stops)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display  # type: ignore[method-assign]


_flags_take_no_value()


class Format(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ColorConvention(enum.StrEnum):
    a_share = "a-share"  # a rise in red, as mainland quote screens show it
    intl = "intl"


class _State:
    db: Path | None = None
    debug: bool = False
    colors: ColorConvention | None = None


STATE = _State()


@app.callback()
def _main(
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="SCREENER_DB", help="DuckDB store file.", show_default=False),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    colors: Annotated[
        ColorConvention | None,
        typer.Option(
            "--colors",
            help="Rises red (a-share) or green (intl); default: colors in screener.toml.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Global options; the default store is data/screener.duckdb."""
    STATE.db = db
    STATE.debug = debug
    STATE.colors = colors


FormatOpt = Annotated[
    Format, typer.Option("--format", help="table on screen, or csv or json on stdout.")
]


def settings() -> Settings:
    """screener.toml and the environment, then the global options."""
    from dataclasses import replace

    from screener.config import Settings

    loaded = Settings.load(db=STATE.db)
    return loaded if STATE.colors is None else replace(loaded, colors=STATE.colors.value)


def colors() -> Colors:
    """The rise and fall colours every renderer of this command uses."""
    from screener.report.colors import colors_for

    return colors_for(settings().colors)


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


def emit_json(obj: Any, *, synthetic: bool = False) -> None:
    """JSON on stdout; from a demo store every object (or every record of an array) says
    ``"synthetic": true``, keeping the command's shape."""
    if synthetic and isinstance(obj, dict):
        obj = {**obj, "synthetic": True}
    elif synthetic and isinstance(obj, list):
        obj = [{**r, "synthetic": True} if isinstance(r, dict) else r for r in obj]
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")


def emit_frame(
    frame: Any,
    fmt: Format,
    title: str | None = None,
    *,
    metrics: bool = False,
    synthetic: bool = False,
    first: tuple[str, ...] = (),
) -> None:
    """Print a polars frame as a rich table, CSV or a JSON array of records.

    ``metrics``: the table shows returns and rates as percentages; ``first``: the columns a
    narrow terminal keeps longest after the first (``frame_table``).
    ``synthetic`` (a demo store): the table gets the banner, CSV a ``synthetic`` column and
    each JSON record a ``synthetic`` field.
    """
    if fmt is Format.json:  # serialised by polars from its columns, not row by row
        import polars as pl

        out = frame.with_columns(pl.lit(True).alias("synthetic")) if synthetic else frame
        sys.stdout.write(out.write_json() + "\n")
    elif fmt is Format.csv:
        import polars as pl

        out = frame.with_columns(pl.lit(True).alias("synthetic")) if synthetic else frame
        sys.stdout.write(out.write_csv())
    else:
        from screener.report.terminal import frame_table, synthetic_banner

        if synthetic:
            console().print(synthetic_banner())
        print_table(frame_table(frame, title=title, metrics=metrics, first=first))


def is_synthetic(store: Store) -> bool:
    """A store built from the synthetic demo market (its outputs say so)."""
    return store.get_meta("data_source") == "demo"


def print_table(table: Any) -> None:
    """A table on stdout: whole in a file or a pipe; in a terminal too narrow for it, the
    least needed columns are left out, with a line saying which (``report.fit``)."""
    out = console()
    if not out.is_terminal:
        need = out.measure(table, options=out.options.update_width(1 << 16)).maximum
        out.width = max(need, out.width)
    out.print(table)


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
