"""Broker-note commands: parse (and explain), import, list, performance of the picks."""

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
    emit_json,
    is_synthetic,
    open_store,
    parse_date,
)

picks_app = typer.Typer(
    help="Broker notes: parse, import, list, performance.", no_args_is_help=True
)
app.add_typer(picks_app, name="picks", rich_help_panel="Data")


DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Report date YYYY-MM-DD of every article (else from the text)."),
]


@picks_app.command("parse")
def picks_parse(
    path: Annotated[Path, typer.Argument()],
    explain: Annotated[
        bool, typer.Option("--explain", help="Every cue and every name or code: read how, and why.")
    ] = False,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One row per recommendation in a note file (nothing is stored)."""
    import polars as pl

    from screener.brokers import Lexicon, parse_file
    from screener.instruments import load_master

    day = parse_date(date) if date else None
    note = parse_file(path, Lexicon.from_master(load_master()), date=day)
    if explain:
        _explain(note, fmt)
        return
    cols = ["broker", "report_date", "title", "metal", "name_as_written", "ticker", "board",
            "rating", "status", "span"]  # fmt: skip
    emit_frame(note.picks.select(cols).with_columns(pl.col("report_date").cast(pl.String)), fmt)
    err = console(stderr=True)
    if note.unresolved.height:
        err.print(f"{note.unresolved.height} name(s) unresolved or ambiguous")
    if note.cue_count and not note.resolved:
        err.print(f"{note.cue_count} recommendation cue(s) but no resolved pick: see --explain")


def _explain(note: Any, fmt: Format) -> None:
    """Articles, cues and every candidate with its decision; warnings last (stderr in JSON)."""
    import polars as pl

    articles = note.article_frame().with_columns(pl.col("report_date").cast(pl.String))
    if fmt is Format.json:
        emit_json(
            {
                "file_kind": note.kind,
                "text": note.text,
                "articles": articles.to_dicts(),
                "cues": note.cues.to_dicts(),
                "candidates": note.candidates.to_dicts(),
                "warnings": list(note.warnings),
            }
        )
        return
    if fmt is Format.csv:
        emit_frame(note.candidates, fmt)
        return
    if note.kind != "text":  # what extraction read from the PDF or page, picks marked
        from screener.report.terminal import marked_text

        console().print(marked_text(note.text, note.picks["name_as_written"].to_list()))
    emit_frame(articles, fmt, title="articles")
    emit_frame(note.cues, fmt, title="cues: what each gave")
    emit_frame(note.candidates.drop("context"), fmt, title="names and codes: decision and why")
    for warning in note.warnings:
        console().print(f"warning: {warning}", markup=False)


@picks_app.command("import")
def picks_import(
    paths: Annotated[list[Path], typer.Argument()],
    date: DateOpt = None,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Import a note with recommendation cues but no pick."),
    ] = False,
) -> None:
    """Store notes and their picks (by content hash: importing twice changes nothing)."""
    from screener.brokers.ledger import import_notes
    from screener.instruments import load_master

    day = parse_date(date) if date else None
    with open_store() as store:
        s = import_notes(store, paths, load_master(), date=day, allow_empty=allow_empty)
    console().print(
        f"notes: {s.notes_new} new, {s.notes_unchanged} unchanged; picks: {s.picks_new} new, "
        f"{s.picks_updated} updated, {s.picks_unchanged} unchanged, {s.picks_removed} removed; "
        f"unresolved names: {s.unresolved.height}; warnings: {len(s.warnings)}"
    )
    for row in s.unresolved.iter_rows(named=True):
        console().print(
            f"  {row['status']}: {row['name_as_written']} ({row['context']})", markup=False
        )
    for warning in s.warnings:
        console().print(f"  warning: {warning}", markup=False)


@picks_app.command("list")
def picks_list(
    since: Annotated[str | None, typer.Option(help="Report date on or after YYYY-MM-DD.")] = None,
    broker: Annotated[
        str | None, typer.Option(help="Only this broker's picks (as the note names it).")
    ] = None,
    metal: Annotated[
        str | None, typer.Option(help="Only picks for this metal, e.g. copper.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Stored picks, newest first."""
    import polars as pl

    from screener.brokers.ledger import list_picks

    with open_store(read_only=True) as store:
        picks = list_picks(
            store, since=parse_date(since) if since else None, broker=broker, metal=metal
        )
        synthetic = is_synthetic(store)
    out = picks.drop("note_id", "span").with_columns(pl.col("report_date").cast(pl.String))
    emit_frame(out, fmt, title="broker picks", synthetic=synthetic)


@picks_app.command("performance")
def picks_performance(
    horizons: Annotated[str, typer.Option(help="Sessions after entry.")] = "5,20,60",
    fmt: FormatOpt = Format.table,
) -> None:
    """Return of each pick after its report vs 801050.SI and CSI 300; hit rates by group."""
    from screener.brokers.ledger import pick_performance

    hs = _horizons(horizons)
    with open_store(read_only=True) as store:
        perf = pick_performance(store, horizons=hs)
        synthetic = is_synthetic(store)
    if fmt is Format.json:
        both = {"summary": perf.summary.to_dicts(), "per_pick": perf.per_pick.to_dicts()}
        emit_json(both, synthetic=synthetic)
        return
    title = f"pick performance (notional {perf.notional:,.0f} CNY)"
    emit_frame(perf.summary, fmt, title=title, metrics=True, synthetic=synthetic)


def _horizons(text: str) -> tuple[int, ...]:
    """``--horizons`` as sessions after entry: whole numbers of at least 2 (a T+1 sale)."""
    from screener.errors import ScreenerError

    parts = csv_list(text) or []
    if not parts or not all(p.isdigit() and int(p) >= 2 for p in parts):
        raise ScreenerError(
            f"--horizons '{text}': give sessions after entry, whole numbers of at least 2 "
            "(T+1: a pick bought on day 1 sells from day 2), e.g. 5,20,60"
        )
    return tuple(int(p) for p in parts)
