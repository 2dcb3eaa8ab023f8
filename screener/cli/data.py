"""Commands that load and inspect data: store, ingest, factors, broker picks."""

from __future__ import annotations

import enum
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
    print_table,
    print_upserts,
    session_for,
    settings,
)

PANEL = "Data"  # the group in `screener --help`
CARD_TICKERS = 5  # up to this many tickers, `factors` prints factors down and tickers across

store_app = typer.Typer(help="Inspect the DuckDB store.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load data into the store.", no_args_is_help=True)
picks_app = typer.Typer(
    help="Broker notes: parse, import, list, performance.", no_args_is_help=True
)
app.add_typer(store_app, name="store", rich_help_panel=PANEL)
app.add_typer(ingest_app, name="ingest", rich_help_panel=PANEL)
app.add_typer(picks_app, name="picks", rich_help_panel=PANEL)


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
    """Build the deterministic synthetic demo market into the store."""
    from screener.ingest import demo

    with open_store() as store:
        results = demo.load(store, end=parse_date(end) if end else None)
    print_upserts(results)


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
    with open_store() as store:
        report = update_store(store, until=until, st_switch=settings().st_limit_switch)
    out = console()
    for line in report.lines():
        out.print(line, markup=False)


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
    import polars as pl

    from screener.factors.expr.files import catalog

    known = catalog(settings().strategies_dir, files=files or (), exprs=exprs or ())
    if list_:
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
    title = f"factors on {on}"
    if fmt is Format.table and 0 < frame.height <= CARD_TICKERS:
        from screener.report.terminal import factor_card

        ranked = [c for c in frame.columns if f"{c}_rank" in frame.columns]
        if synthetic:
            from screener.report.terminal import synthetic_banner

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
