"""The `factors` command: factor values and ranks on a date, or every session into Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from screener.cli.base import (
    Format,
    FormatOpt,
    app,
    console,
    csv_list,
    emit_frame,
    is_synthetic,
    open_store,
    parse_date,
    print_table,
    session_for,
    settings,
)

PANEL = "Data"  # the group in `screener --help`
CARD_TICKERS = 5  # up to this many tickers, `factors` prints factors down and tickers across


@app.command(rich_help_panel=PANEL)
def factors(
    date: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: last session).")
    ] = None,
    tickers: Annotated[str | None, typer.Option(help="Comma-separated tickers.")] = None,
    metal: Annotated[str | None, typer.Option(help="Every stock tagged with this metal.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every stock (the default).")] = False,
    names: Annotated[str | None, typer.Option("--factors", help="Comma-separated factors.")] = None,
    exprs: Annotated[
        list[str] | None,
        typer.Option("--expr", help="A qlib expression as a factor, NAME=EXPR (repeatable)."),
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", help="A factor file (TOML): all its factors (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Every session from --start to --end into this Parquet file."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="With --out: first session.")] = None,
    end: Annotated[str | None, typer.Option(help="With --out: last session.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the factors and exit.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Factor values and cross-sectional ranks (1 = best) on a date.

    Names come from the library, the factor files in strategies/factors/, --file and --expr.
    Without --factors: the library's factors, or only those of --file and --expr when given.
    """
    from screener.factors.expr.files import catalog

    known = catalog(settings().strategies_dir, files=files or (), exprs=exprs or ())
    if list_:
        _list(known, fmt)
        return
    chosen = csv_list(names)
    if chosen is None and (files or exprs):
        chosen = [n for f in files or () for n in known.in_file(f)] + list(known.extra)
    if out is not None:
        _export_factors(known, chosen, out, start, end)
        return
    from screener.engine import compute_factors

    with open_store(read_only=True) as store:
        on = session_for(store, date)
        frame = compute_factors(
            store,
            on=on,
            tickers=csv_list(tickers),
            metal=metal,
            factors=chosen,
            settings=settings(),
            catalog=known,
        )
        synthetic = is_synthetic(store)
    _show(frame, on, fmt, synthetic=synthetic)


def _list(known: Any, fmt: Format) -> None:
    import polars as pl

    rows = [
        {
            "factor": name,
            "lookback": known[name].lookback,
            "higher_is_better": known[name].higher_is_better,
            "meaning": known[name].summary,
        }
        for name in known
    ]
    emit_frame(pl.DataFrame(rows), fmt, title="factors")


def _show(frame: Any, on: Any, fmt: Format, *, synthetic: bool) -> None:
    """A few tickers as a card (factors down, tickers across), else a table, CSV or JSON."""
    import polars as pl

    title = f"factors on {on}"
    if fmt is Format.table and 0 < frame.height <= CARD_TICKERS:
        from screener.report.terminal import factor_card, synthetic_banner

        ranked = [c for c in frame.columns if f"{c}_rank" in frame.columns]
        if synthetic:
            console().print(synthetic_banner())
        print_table(factor_card(frame, ranked, title=title))
        return
    if fmt is Format.json:  # every JSON output that reads a date says which session it used
        frame = frame.with_columns(as_of=pl.lit(on))
    frame = frame.with_columns(pl.selectors.date().cast(pl.String))
    emit_frame(frame, fmt, title=title, synthetic=synthetic)


def _export_factors(
    known: Any, chosen: list[str] | None, out: Path, start: str | None, end: str | None
) -> None:
    """Every session from start to end (default: all) of the chosen factors into Parquet."""
    from screener.bulk import export_factors
    from screener.factors.library import lookup

    names = chosen or [n for n in known.library if not known[n].needs]
    with open_store(read_only=True) as store:
        days = store.sessions()
        done = export_factors(
            store,
            lookup(names, known),
            out=out,
            start=parse_date(start) if start else days[0],
            end=parse_date(end) if end else days[-1],
            settings=settings(),
        )
    console().print(f"{done.rows:,} rows x {done.factors} factors -> {out}", markup=False)
