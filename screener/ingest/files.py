"""Vendor CSV/Parquet exports -> validated frames for the store, and the batch import.

``read_vendor_file`` turns one file into a frame with the stored columns of ``bars_daily``,
``index_daily`` or ``series_daily`` (``given`` marks what the file supplied) plus ``detected``:
a plain account of what was inferred and how (layout, encoding, banner, date format, volume
unit, price basis, ticker source), so a user can check it. Bad rows raise one InputError that
lists them all (file, line, field), or with ``quarantine`` are left out and listed.
``import_files`` reads and validates every file first, then merges them all into the store in
one transaction (``importer.write_rows``: column by column, nothing stored is lost).

What a file's bars give and what the store derives is ``bars.py``'s job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from screener import calendar, metals, rules, schema
from screener.errors import InputError
from screener.ingest import evidence
from screener.ingest import validate as v
from screener.ingest import vendor_formats as vf
from screener.ingest.bars import vendor_bars
from screener.ingest.importer import ImportResult, Source, sum_results, write_rows
from screener.ingest.master import ensure_master
from screener.ingest.merge import Prefer, with_lineage
from screener.instruments import load_master
from screener.store import Store

KINDS = v.KINDS
TABLES = v.TABLES


@dataclass(frozen=True)
class VendorFrame:
    """One file, parsed and validated: ``frame`` has ``table``'s stored columns (``given``
    marks the cells the file supplied), ``refused`` the rows quarantined (line, code, date,
    field, reason).

    ``detected`` holds one sentence per decision: format, encoding, banner, header_line,
    columns, ignored_columns, ticker_source, date_format, volume_unit, price_basis and
    price_basis_evidence, duplicates_dropped, calendar, then for bars prev_close, is_st,
    limits and adj_factor; finally tickers, rows and date_range.
    """

    path: Path
    kind: str
    frame: pl.DataFrame
    detected: dict[str, str]
    refused: pl.DataFrame

    @property
    def table(self) -> schema.Table:
        return TABLES[self.kind]


@dataclass(frozen=True)
class FileImport:
    """What one file contributed to an import."""

    path: Path
    rows: int
    detected: dict[str, str]
    result: ImportResult


@dataclass(frozen=True)
class ImportReport:
    """Per-file detail and the summed counts; ``dry_run`` means nothing was written."""

    table: str
    files: tuple[FileImport, ...]
    dry_run: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> ImportResult:
        return sum_results(self.table, [f.result for f in self.files])


# -- layout and columns -------------------------------------------------------------------------
def _pick_format(header: list[str], kind: str, fmt: str, path: Path) -> vf.VendorFormat:
    """The layout named by ``fmt``, or the first one whose signature the header holds."""
    if fmt in ("auto", "parquet"):
        found = vf.detect_format(header, kind)
        if found is None:
            raise InputError(
                f"unknown layout for {kind}: header {[h for h in header if h != v.LINE][:12]} "
                f"matches none of "
                f"{', '.join(vf.FORMAT_NAMES)}",
                path=path,
                hint="rename the columns to date,open,high,low,close,volume or pass --format",
            )
        return found
    name = "akshare" if fmt in vf.BASIS_OVERRIDES else fmt
    if name not in vf.FORMAT_NAMES:
        raise InputError(f"unknown format '{fmt}' (choose from {', '.join(vf.FMT_CHOICES)})")
    chosen = vf.by_name(name)
    missing = sorted(chosen.signature - set(header))
    if missing:
        raise InputError(f"--format {fmt} needs column(s) {missing}", path=path, line=1)
    return chosen


def _columns(raw: pl.DataFrame, kind: str, path: Path, detected: dict[str, str]) -> pl.DataFrame:
    """Rename vendor headers to schema names; a missing required column is an InputError."""
    cmap = vf.column_map(raw.columns, kind)
    line = int(detected["header_line"]) if detected["header_line"].isdigit() else None
    for col in v.REQUIRED[kind]:
        if col not in cmap:
            names = "/".join(vf.ALIASES[col])
            raise InputError(f"missing required column ({names})", path=path, line=line, field=col)
    ignored = [c for c in raw.columns if c not in cmap.values() and c != v.LINE]
    renamed = [f"{src}->{dst}" for dst, src in cmap.items() if src != dst]
    detected["columns"] = ", ".join(renamed) or "schema names"
    detected["ignored_columns"] = ", ".join(ignored) or "none"
    key = v.KEY_COLUMN[kind]
    if key in cmap:
        detected["ticker_source"] = f"column {cmap[key]}"
    return raw.select(v.LINE, *[pl.col(src).alias(dst) for dst, src in cmap.items()])


def _parse(
    frame: pl.DataFrame, path: Path, detected: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed columns, and a problem for each unreadable number or date (at its line)."""
    frame, number_problems = v.parse_numbers(frame, vf.NUMBER_COLUMNS_ALL)
    sample = frame.get_column("date").drop_nulls().head(1)
    if sample.is_empty():
        raise InputError("no data rows", path=path)
    if frame.schema["date"] in (pl.Date, pl.Datetime):
        detected["date_format"] = "typed date column"
        frame, date_problems = v.parse_dates(frame, "", "")
    else:
        found = vf.date_format_of(str(sample.item()))
        if found is None:
            first_line = frame.filter(pl.col("date").is_not_null()).get_column(v.LINE).head(1)
            raise InputError(
                f"cannot read date '{v.shown_text(str(sample.item()))}' "
                "(expected YYYY-MM-DD or YYYYMMDD)",
                path=path,
                line=int(first_line.item()),
                field="date",
            )
        detected["date_format"] = found[1]
        frame, date_problems = v.parse_dates(frame, *found)
    return frame, pl.concat([number_problems, date_problems])


# -- the public reader --------------------------------------------------------------------------
def read_vendor_file(
    path: str | Path,
    *,
    kind: str = "bars",
    fmt: str = "auto",
    ticker: str | None = None,
    known_tickers: Collection[str] | None = None,
    allow_adjusted: bool = False,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
    list_dates: Mapping[str, dt.date] | None = None,
    quarantine: bool = False,
) -> VendorFrame:
    """Parse and validate one vendor CSV or Parquet file.

    ``kind`` picks the table (bars, index, series); ``fmt`` a layout from
    ``vendor_formats.FMT_CHOICES`` or ``auto``; ``ticker`` overrides the code (stock ticker, index
    code or series id). ``known_tickers``: stock tickers allowed (None: not checked).
    ``allow_adjusted`` stores qfq/hfq bars as given; ``st_switch`` is Settings.st_limit_switch;
    ``list_dates`` (ticker -> listing date) lets a file that starts at listing skip the limits
    of the first sessions. Every bad row is an InputError (all listed at once), unless
    ``quarantine``: then bad rows are left out and listed in ``refused``.
    """
    path = Path(path)
    if kind not in KINDS:
        raise InputError(f"unknown kind '{kind}' (choose from {', '.join(KINDS)})", path=path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    detected: dict[str, str] = {}
    parquet = vf.is_parquet(path, fmt)
    raw = vf.load_parquet(path, detected) if parquet else vf.load_csv(path, detected)
    if raw.is_empty():
        raise InputError("empty file: no data rows", path=path)
    layout = _pick_format(raw.columns, kind, fmt, path)
    detected["format"] = f"{'parquet/' if parquet else ''}{layout.name}: {layout.description}"
    frame = _columns(raw, kind, path, detected)
    frame = vf.resolve_keys(frame, kind, ticker, path, detected)
    frame, parse_problems = _parse(frame, path, detected)
    frame = evidence.scale_units(frame, layout, kind, detected)
    basis = evidence.price_basis(frame, layout, fmt, kind, path, detected)
    if layout.name == "sina-futures" and "settle" in frame.columns:  # Sina writes 0 for none
        frame = frame.with_columns(pl.col("settle").replace(0.0, None))
    frame, refused = _validate(
        frame, kind, path, known_tickers, parse_problems, quarantine, detected
    )
    _describe_checks(kind, refused, quarantine, detected)
    if frame.is_empty():
        raise InputError(f"every one of the {refused.height} rows was refused", path=path)
    if kind == "bars":
        if list_dates:
            listed = pl.col("ticker").replace_strict(list_dates, default=None, return_dtype=pl.Date)
            frame = frame.with_columns(listed.alias("list_date"))
        out = vendor_bars(frame, basis, allow_adjusted, st_switch, path, detected)
    else:
        out = with_lineage(_series_columns(frame) if kind == "series" else frame, TABLES[kind])
    out = out.sort(v.KEY_COLUMN[kind], "date")
    key = out.get_column(v.KEY_COLUMN[kind]).unique().sort()
    detected["tickers"] = ", ".join(key.head(5).to_list()) + (
        f" ... ({key.len()} codes)" if key.len() > 5 else ""
    )
    detected["rows"] = str(out.height)
    dates = out.get_column("date")
    detected["date_range"] = f"{dates.min()!s}..{dates.max()!s}"
    return VendorFrame(path, kind, out, detected, refused)


def _validate(
    frame: pl.DataFrame,
    kind: str,
    path: Path,
    known: Collection[str] | None,
    parse_problems: pl.DataFrame,
    quarantine: bool,
    detected: dict[str, str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All row checks, identical repeats dropped; (good rows, refused rows).

    Strict: any problem raises one InputError listing them all. ``quarantine``: rows with a
    problem are refused whole and returned apart.
    """
    frame, dropped, problems = v.problems(frame, kind, known)
    problems = pl.concat([parse_problems, problems])
    detected["duplicates_dropped"] = str(dropped)
    if not quarantine:
        v.raise_all(problems, path)
        return frame, v.split_refused(frame.head(0), problems.head(0), v.KEY_COLUMN[kind])[1]
    return v.split_refused(frame, problems, v.KEY_COLUMN[kind])


def _describe_checks(
    kind: str, refused: pl.DataFrame, quarantine: bool, detected: dict[str, str]
) -> None:
    detected["calendar"] = (
        "weekends refused everywhere; XSHG holidays refused for stocks, indices and Chinese "
        f"venues' series between {calendar.FIRST_SESSION} and {calendar.calendar_end()}"
        + ("; foreign venues' series may trade on XSHG holidays" if kind == "series" else "")
    )
    if quarantine:
        detected["quarantined"] = f"{refused.height} row(s) refused"


def _series_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Unit and currency from the metals registry where the file has none."""
    units = {s: spec.unit for s, spec in metals.SERIES.items()}
    ccys = {s: spec.currency for s, spec in metals.SERIES.items()}
    fills = []
    for col, table in (("unit", units), ("currency", ccys)):
        known = pl.col("series_id").replace_strict(table, default=None, return_dtype=pl.String)
        fills.append(
            pl.coalesce(pl.col(col), known).alias(col) if col in frame.columns else known.alias(col)
        )
    return frame.with_columns(fills)


# -- the batch import ---------------------------------------------------------------------------
class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back after counting."""


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    kind: str = "bars",
    fmt: str = "auto",
    ticker: str | None = None,
    dry_run: bool = False,
    allow_adjusted: bool = False,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
    prefer: Prefer = "refuse",
    quarantine: Path | None = None,
) -> ImportReport:
    """Parse and validate every file, then merge them into the store in one transaction.

    Any error leaves the store untouched. Each file is one import (``imports`` table), merged
    column by column (``merge.py``): a value the store holds from another import is never
    overwritten by a different one unless ``prefer="new"``. ``quarantine``: a CSV path; bad
    rows are left out and written there instead of failing the import. ``dry_run`` performs
    the writes inside the transaction to count them exactly, then rolls it back (so do not call
    it from inside an open ``store.transaction()``). For bars, tickers are checked against the
    instrument master, and its list_date is used; a store without a master (not the demo) gets
    ``data/instruments.csv`` first, as ``screener store init`` does, and a note says so.
    """
    if not paths:
        raise InputError("no files given")
    notes: list[str] = []
    inst = store.read_instruments()
    init = inst.is_empty() and store.get_meta("data_source") != "demo"
    if init:  # a store of one's own data starts with the master (as `screener store init`)
        inst = load_master()
    known: set[str] | None = None
    listed: dict[str, dt.date] = {}
    if kind == "bars":
        known = set(inst.get_column("ticker").to_list()) or None
        listed = dict(inst.drop_nulls("list_date").select("ticker", "list_date").iter_rows())
    frames = [
        read_vendor_file(
            p,
            kind=kind,
            fmt=fmt,
            ticker=ticker,
            known_tickers=known,
            allow_adjusted=allow_adjusted,
            st_switch=st_switch,
            list_dates=listed,
            quarantine=quarantine is not None,
        )
        for p in paths
    ]
    if quarantine is not None:
        notes.append(_write_quarantine(frames, quarantine))
    done: list[FileImport] = []
    try:
        with store.transaction():
            if init:
                loaded = ensure_master(store)
                notes.append(
                    f"the store had no instrument master: loaded {loaded.inserted} instruments "
                    "from data/instruments.csv first (as `screener store init` does)"
                )
            for vfr in frames:
                source = Source(
                    "file",
                    str(vfr.path),
                    kind,
                    fmt=vfr.detected.get("format", "").split(":")[0],
                    content_hash=hashlib.sha256(vfr.path.read_bytes()).hexdigest(),
                    quarantined=vfr.refused.height,
                )
                result = write_rows(store, TABLES[kind], vfr.frame, source, prefer=prefer)
                done.append(FileImport(vfr.path, vfr.frame.height, vfr.detected, result))
            if dry_run:
                raise _DryRun
    except _DryRun:
        notes.append("dry run: nothing was written")
    return ImportReport(TABLES[kind].name, tuple(done), dry_run, tuple(notes))


def _write_quarantine(frames: Sequence[VendorFrame], path: Path) -> str:
    """Every refused row of the batch, with file, line, field and reason, into ``path``."""
    refused = pl.concat(
        [f.refused.select(pl.lit(str(f.path)).alias("file"), pl.all()) for f in frames]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    refused.write_csv(path)
    return f"{refused.height} refused row(s) written to {path}"


def describe(report: ImportReport) -> list[str]:
    """Plain lines for the CLI: one per file, then the total (the CLI prints them)."""
    lines = []
    for f in report.files:
        lines.append(
            f"{f.path}: {f.rows} rows ({f.detected.get('format', '?').split(':')[0]}, "
            f"{f.detected.get('tickers', '')}) -> {f.result.describe()} "
            f"(import {f.result.import_id})"
        )
    verb = "would write" if report.dry_run else "wrote"
    lines.append(f"{verb} {report.table}: {report.total.describe()}")
    return lines + list(report.notes)
