"""Vendor CSV/Parquet exports -> validated frames for the store, and the batch import.

``read_vendor_file`` turns one file into a frame conformed to ``bars_daily``, ``index_daily`` or
``series_daily`` plus ``detected``: a plain account of what was inferred and how (layout,
encoding, banner, date format, volume unit, price basis, ticker source), so a user can check it.
It raises InputError naming file, line and field at the first bad row. ``import_files`` reads
and validates every file first, then writes them all in one store transaction.

Price basis: the store keeps raw prices plus a back-adjustment factor (schema.BARS_DAILY).
Forward-adjusted (前复权, qfq) prices are rejected for bars: they rescale the past with
corporate actions announced later, so they are not point-in-time (ashare_rules.md A8) and break
absolute-price rules (limit prices, lot sizes). ``allow_adjusted=True`` stores them as given with
adj_factor 1.0 and no limit prices, and ``detected`` says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from screener import calendar, metals, rules, schema
from screener.errors import InputError
from screener.ingest import validate as v
from screener.ingest import vendor_formats as vf
from screener.store import Store, UpsertResult

KINDS = v.KINDS
TABLES = v.TABLES


@dataclass(frozen=True)
class VendorFrame:
    """One file, parsed and validated: ``frame`` is conformed to ``table``.

    ``detected`` holds one sentence per decision: format, encoding, banner, header_line,
    columns, ignored_columns, ticker_source, date_format, volume_unit, price_basis and
    price_basis_evidence, duplicates_dropped, calendar, then for bars prev_close, adj_factor,
    is_st and limits; finally tickers, rows and date_range.
    """

    path: Path
    kind: str
    frame: pl.DataFrame
    detected: dict[str, str]

    @property
    def table(self) -> schema.Table:
        return TABLES[self.kind]


@dataclass(frozen=True)
class FileImport:
    """What one file contributed to an import."""

    path: Path
    rows: int
    detected: dict[str, str]
    result: UpsertResult


@dataclass(frozen=True)
class ImportReport:
    """Per-file detail and the summed upsert counts; ``dry_run`` means nothing was written."""

    table: str
    files: tuple[FileImport, ...]
    result: UpsertResult
    dry_run: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


# -- layout and columns -------------------------------------------------------------------------
def _pick_format(header: list[str], kind: str, fmt: str, path: Path) -> vf.VendorFormat:
    """The layout named by ``fmt``, or the first one whose signature the header holds."""
    if fmt in ("auto", "parquet"):
        found = vf.detect_format(header, kind)
        if found is None:
            raise InputError(
                f"unknown layout for {kind}: header {header[:12]} matches none of "
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


def _parse(frame: pl.DataFrame, path: Path, detected: dict[str, str]) -> pl.DataFrame:
    """Typed columns; unreadable numbers and dates are reported at their line."""
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
    v.raise_first(pl.concat([number_problems, date_problems]), path)
    return frame


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
) -> VendorFrame:
    """Parse and validate one vendor CSV or Parquet file.

    ``kind`` picks the table (bars, index, series); ``fmt`` a layout from
    ``vendor_formats.FMT_CHOICES`` or ``auto``; ``ticker`` overrides the code (stock ticker, index
    code or series id). ``known_tickers``: stock tickers allowed (None: not checked).
    ``allow_adjusted`` stores qfq/hfq bars as given; ``st_switch`` is Settings.st_limit_switch;
    ``list_dates`` (ticker -> listing date) lets a file that starts at listing skip the limits
    of the first sessions.
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
    frame = _parse(frame, path, detected)
    frame = vf.scale_units(frame, layout, kind, detected)
    basis = vf.price_basis(frame, layout, fmt, kind, path, detected)
    if layout.name == "sina-futures" and "settle" in frame.columns:  # Sina writes 0 for none
        frame = frame.with_columns(pl.col("settle").replace(0.0, None))
    frame = _validate(frame, kind, path, known_tickers, detected)
    if kind == "bars":
        if list_dates:
            listed = pl.col("ticker").replace_strict(list_dates, default=None, return_dtype=pl.Date)
            frame = frame.with_columns(listed.alias("list_date"))
        frame = _bars_columns(frame, basis, allow_adjusted, st_switch, path, detected)
    elif kind == "series":
        frame = _series_columns(frame)
    frame = frame.sort(v.KEY_COLUMN[kind], "date")
    out = TABLES[kind].conform(frame, source=str(path))
    key = out.get_column(v.KEY_COLUMN[kind]).unique().sort()
    detected["tickers"] = ", ".join(key.head(5).to_list()) + (
        f" ... ({key.len()} codes)" if key.len() > 5 else ""
    )
    detected["rows"] = str(out.height)
    dates = out.get_column("date")
    detected["date_range"] = f"{dates.min()!s}..{dates.max()!s}"
    return VendorFrame(path, kind, out, detected)


def _validate(
    frame: pl.DataFrame,
    kind: str,
    path: Path,
    known: Collection[str] | None,
    detected: dict[str, str],
) -> pl.DataFrame:
    """All row checks; drop identical duplicates; raise the first problem in file order."""
    frame, dropped, problems = v.problems(frame, kind, known)
    v.raise_first(problems, path)
    detected["duplicates_dropped"] = str(dropped)
    detected["calendar"] = (
        "weekends rejected everywhere; exchange holidays rejected between "
        f"{calendar.FIRST_SESSION} and {calendar.calendar_end()}"
    )
    return frame


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


# -- bars: prev_close, adj_factor, suspension, ST, limit prices ---------------------------------
def _bars_columns(
    frame: pl.DataFrame,
    basis: str,
    allow_adjusted: bool,
    st_switch: dt.date,
    path: Path,
    detected: dict[str, str],
) -> pl.DataFrame:
    """Derive what the store needs and the file lacks; values the file has are kept."""
    adjusted = basis != "raw"
    if adjusted and not allow_adjusted:
        raise InputError(
            f"prices are {basis} ({detected['price_basis_evidence']}); adjusted prices are not "
            "point-in-time: they rescale the past with corporate actions announced later and "
            "break limit prices and lot sizes",
            path=path,
            field="close",
            hint="import raw (不复权) prices, or pass --allow-adjusted to store them as given",
        )
    frame = frame.sort("ticker", "date")
    prev = pl.col("close").shift(1).over("ticker")
    has_pc = _has_values(frame, "prev_close") and not adjusted
    if has_pc:
        filled = frame.get_column("prev_close").null_count()
        frame = frame.with_columns(pl.coalesce(pl.col("prev_close"), prev).alias("prev_close"))
        detected["prev_close"] = "from the file" + (
            f" ({filled} empty: previous close)" * bool(filled)
        )
    else:
        frame = frame.with_columns(prev.alias("prev_close"))
        detected["prev_close"] = (
            "previous adjusted close" if adjusted else "previous close (no prev_close column)"
        )
    if has_pc:
        _check_steps(frame, path)
    frame = _adj_factor(frame, adjusted, has_pc, basis, detected)
    return add_bar_flags(frame, st_switch=st_switch, limits=not adjusted, detected=detected)


# close[t-1] / prev_close[t] is the ex-rights step: 0.48 to 5.1 over 155 real tickers' history.
# A step 100 times off is a broken cell, and compounding such steps overflows adj_factor.
MAX_STEP = 100.0


def _check_steps(frame: pl.DataFrame, path: Path) -> None:
    """InputError at the first prev_close more than MAX_STEP times off the previous close."""
    previous = pl.col("close").shift(1).over("ticker")
    step = previous / pl.col("prev_close")
    bad = frame.select(v.LINE, "prev_close", previous.alias("previous"), step.alias("step")).filter(
        (pl.col("step") > MAX_STEP) | (pl.col("step") < 1 / MAX_STEP)
    )
    if bad.is_empty():
        return
    row = bad.sort(v.LINE).row(0, named=True)
    raise InputError(
        f"prev_close {row['prev_close']:g} is {row['step']:.3g} times off the previous close "
        f"{row['previous']:g}: no corporate action moves a price that far",
        path=path,
        line=int(row[v.LINE]),
        field="prev_close",
    )


def add_bar_flags(
    frame: pl.DataFrame,
    *,
    st_switch: dt.date = rules.ST_LIMIT_SWITCH,
    limits: bool = True,
    detected: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Add ``suspended`` (volume 0), ``is_st`` and limit prices to raw bars with prev_close.

    Values already in the frame win (vendor limit prices are the safer truth on ex-rights days,
    ashare_rules.md A2). ``limits=False`` leaves them null (adjusted prices have none).
    """
    detected = {} if detected is None else detected
    frame = frame.with_columns((pl.col("volume") == 0).alias("suspended"), _is_st(frame, detected))
    if _has_values(frame, "up_limit") and _has_values(frame, "down_limit"):
        detected["limits"] = "from the file"
        return frame
    if not limits:
        detected["limits"] = "none: adjusted prices have no exchange limit prices"
        nulls = [pl.lit(None, pl.Float64).alias(c) for c in ("up_limit", "down_limit")]
        return frame.with_columns(nulls)
    return _limits(frame, st_switch, detected)


def _has_values(frame: pl.DataFrame, col: str) -> bool:
    return col in frame.columns and frame.get_column(col).null_count() < frame.height


def _adj_factor(
    frame: pl.DataFrame, adjusted: bool, has_pc: bool, basis: str, detected: dict[str, str]
) -> pl.DataFrame:
    """Back-adjustment factor: cumulative close[t-1] / prev_close[t], 1.0 on each first bar."""
    if _has_values(frame, "adj_factor"):
        detected["adj_factor"] = "from the file"
        return frame
    if adjusted or not has_pc:
        why = (
            f"1.0: prices stored as given ({basis})"
            if adjusted
            else "1.0: no prev_close column: no corporate-action adjustment"
        )
        detected["adj_factor"] = why
        return frame.with_columns(pl.lit(1.0).alias("adj_factor"))
    step = (pl.col("close").shift(1).over("ticker") / pl.col("prev_close")).fill_null(1.0)
    frame = frame.with_columns(step.alias("_step"))
    frame = frame.with_columns(pl.col("_step").cum_prod().over("ticker").alias("adj_factor"))
    down, up = frame.select(
        (pl.col("_step") < 1).sum().alias("down"), (pl.col("_step") > 1).sum().alias("up")
    ).row(0)
    detected["adj_factor"] = (
        f"from prev_close: cumulative close[t-1]/prev_close[t], 1.0 on the first bar; "
        f"{up} ex-rights step(s) above 1; {down} step(s) below 1 (prev_close above the previous "
        "close, which no corporate action explains) kept as given"
    )
    return frame.drop("_step")


def _is_st(frame: pl.DataFrame, detected: dict[str, str]) -> pl.Expr:
    if "is_st" in frame.columns and frame.schema["is_st"] == pl.String:
        detected["is_st"] = "from the file"
        flag = pl.col("is_st").str.strip_chars().str.to_lowercase()
        return flag.is_in(["true", "1", "t", "yes", "y"]).alias("is_st")
    if "is_st" in frame.columns:
        detected["is_st"] = "from the file"
        return pl.col("is_st").cast(pl.Boolean)
    if _has_values(frame, "name"):
        detected["is_st"] = "from the name on each row ('ST' in it)"
        return pl.col("name").str.to_uppercase().str.contains("ST", literal=True).alias("is_st")
    detected["is_st"] = "unknown (no name column): limit prices assume not ST"
    return pl.lit(None, pl.Boolean).alias("is_st")


def _limits(frame: pl.DataFrame, st_switch: dt.date, detected: dict[str, str]) -> pl.DataFrame:
    """Official limit prices from prev_close with rules.limit_pct (exact half-up to the fen).

    A name starting with N marks a listing day (session 1) and C a registration listing's
    first sessions; both trade without a limit. A ``list_date`` column equal to a ticker's first
    bar numbers its sessions from 1. Otherwise every bar counts as seasoned.
    """
    name = pl.col("name") if "name" in frame.columns else pl.lit(None, pl.String)
    listed = pl.col("list_date") if "list_date" in frame.columns else pl.lit(None, pl.Date)
    from_listing = pl.when(pl.col("date").first().over("ticker") == listed).then(
        pl.int_range(1, pl.len() + 1).over("ticker")
    )
    by_name = pl.when(name.str.starts_with("N")).then(1).when(name.str.starts_with("C")).then(2)
    helpers = ("board", "session_no", "list_date", "limit_pct")
    out = frame.sort("ticker", "date").with_columns(
        vf.board_of(pl.col("ticker")).alias("board"),
        pl.coalesce(from_listing, by_name).cast(pl.Int64).alias("session_no"),
        listed.alias("list_date"),
    )
    out = rules.with_limit_prices(rules.with_limit_pct(out, st_switch=st_switch))
    detected["limits"] = (
        "computed from prev_close with rules.limit_pct (board from the code; none before "
        f"{rules.PRICE_LIMITS_FROM}, on N-named listing days, C-named registration days and, "
        "where the file starts on the listing date, the first sessions of a listing)"
    )
    return out.drop(helpers)


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
) -> ImportReport:
    """Parse and validate every file, then upsert all of them in one transaction.

    Any error leaves the store untouched. ``dry_run`` performs the upserts inside the
    transaction to count inserts/updates exactly, then rolls it back (so do not call it from
    inside an open ``store.transaction()``, which would keep the writes). For bars, tickers are
    checked against the instruments table when it has rows, and its list_date is used.
    """
    if not paths:
        raise InputError("no files given")
    notes: list[str] = []
    known: set[str] | None = None
    listed: dict[str, dt.date] = {}
    if kind == "bars":
        inst = store.read_instruments()
        known = set(inst.get_column("ticker").to_list())
        listed = dict(inst.drop_nulls("list_date").select("ticker", "list_date").iter_rows())
        if not known:
            known = None
            notes.append("the instruments table is empty: tickers were not checked against it")
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
        )
        for p in paths
    ]
    v.check_overlaps([(x.path, x.frame) for x in frames], kind)
    table = TABLES[kind].name
    done: list[FileImport] = []
    try:
        with store.transaction():
            for vfr in frames:
                frame = _chain_to_store(store, vfr, notes) if kind == "bars" else vfr.frame
                result = store.upsert(table, frame, source=str(vfr.path))
                done.append(FileImport(vfr.path, frame.height, vfr.detected, result))
            if dry_run:
                raise _DryRun
    except _DryRun:
        notes.append("dry run: nothing was written")
    total = (
        sum((f.result for f in done[1:]), done[0].result) if done else UpsertResult(table, 0, 0, 0)
    )
    return ImportReport(table, tuple(done), total, dry_run, tuple(notes))


def _chain_to_store(store: Store, vfr: VendorFrame, notes: list[str]) -> pl.DataFrame:
    """Continue each ticker's adj_factor from the last stored bar before the file's first date.

    A file's own factor starts at 1.0; scaling it by the stored factor (times the ex-rights step
    into the first bar, when the file has prev_close) keeps the adjusted series continuous
    across sources and makes re-importing the same file a no-op.
    """
    frame = vfr.frame
    source = vfr.detected.get("adj_factor", "")
    if source.startswith("from the file") or "stored as given" in source:
        return frame
    firsts = frame.group_by("ticker").agg(
        pl.col("date").first(), pl.col("prev_close").first(), pl.col("adj_factor").first()
    )
    stored = store.query(
        "WITH f AS (SELECT unnest(?::VARCHAR[]) AS ticker, unnest(?::DATE[]) AS first) "
        "SELECT b.ticker, b.date AS s_date, b.close AS s_close, b.adj_factor AS s_adj "
        "FROM bars_daily b JOIN f ON b.ticker = f.ticker AND b.date < f.first "
        "QUALIFY row_number() OVER (PARTITION BY b.ticker ORDER BY b.date DESC) = 1",
        [firsts.get_column("ticker").to_list(), firsts.get_column("date").to_list()],
    )
    if stored.is_empty():
        return frame
    with_pc = source.startswith("from prev_close")
    step = (pl.col("s_close") / pl.col("prev_close") if with_pc else pl.lit(1.0)).fill_null(1.0)
    joined = (
        firsts.join(stored.cast({"s_date": pl.Date}), on="ticker")
        .filter(pl.col("s_adj").is_not_null())
        .with_columns(step.alias("_step"))
    )
    off = joined.filter((pl.col("_step") > MAX_STEP) | (pl.col("_step") < 1 / MAX_STEP))
    if not off.is_empty():
        row = off.sort("ticker").row(0, named=True)
        raise InputError(
            f"the first bar of {row['ticker']} ({row['date']}) has prev_close "
            f"{row['prev_close']:g}, {row['_step']:.3g} times off the stored close "
            f"{row['s_close']:g} of {row['s_date']}",
            path=vfr.path,
            field="prev_close",
        )
    k = joined.select(
        "ticker", (pl.col("s_adj") * pl.col("_step") / pl.col("adj_factor")).alias("_k")
    )
    notes.append(
        f"{vfr.path}: adj_factor of {k.height} ticker(s) continued from the stored bars before it"
    )
    out = frame.join(k, on="ticker", how="left")
    return out.with_columns(pl.col("adj_factor") * pl.col("_k").fill_null(1.0)).drop("_k")


def describe(report: ImportReport) -> list[str]:
    """Plain lines for the CLI: one per file, then the total (the CLI prints them)."""
    lines = []
    for f in report.files:
        r = f.result
        lines.append(
            f"{f.path}: {f.rows} rows ({f.detected.get('format', '?').split(':')[0]}, "
            f"{f.detected.get('tickers', '')}) -> {r.inserted} new, {r.updated} updated, "
            f"{r.unchanged} unchanged"
        )
    t = report.result
    verb = "would write" if report.dry_run else "wrote"
    lines.append(
        f"{verb} {report.table}: {t.inserted} new, {t.updated} updated, {t.unchanged} unchanged"
    )
    return lines + list(report.notes)
