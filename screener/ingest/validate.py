"""Vectorised checks of incoming daily rows, before anything is written.

Every check returns a *problems* frame (``line``, ``field``, ``reason``, ``rank``) instead of
raising, so a caller can either stop at the first problem in file order (``raise_first``, what
imports do) or list them all (what the real-data tests do to show each known bad row is caught).
``line`` is the 1-based line an editor shows (header and banner lines included); for Parquet it
is the 1-based row number.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Collection
from pathlib import Path

import polars as pl

from screener import calendar, schema
from screener.errors import InputError
from screener.ingest.derive import MAX_STEP, out_of_range

LINE = "_line"  # column carrying each row's source line through parsing and validation
KINDS = ("bars", "index", "series")
TABLES = {"bars": schema.BARS_DAILY, "index": schema.INDEX_DAILY, "series": schema.SERIES_DAILY}
KEY_COLUMN: dict[str, str] = {"bars": "ticker", "index": "index_code", "series": "series_id"}
REQUIRED = {
    "bars": ("date", "open", "high", "low", "close", "volume"),
    "index": ("date", "close"),
    "series": ("date", "close"),
}
CHINA_VENUES = ("SHFE", "GFEX", "INE", "DCE", "CZCE", "SMM")  # series_id prefixes on XSHG holidays
# Far above any real quote (a 1e9 price, 1e15 shares a day) and far below where the integer-fen
# limit arithmetic (rules.limit_price_exprs) and the Int64 volume column overflow.
MAX_PRICE = 1e9
MAXIMA = {
    **dict.fromkeys(("open", "high", "low", "close", "prev_close", "settle"), MAX_PRICE),
    **dict.fromkeys(("up_limit", "down_limit"), MAX_PRICE),
    "volume": 1e15,
}
DUPLICATE_RANK = 7  # the rank of "same (code, date), different values"
STEP_RANK = 8
PROBLEM_SCHEMA = {"line": pl.Int64, "field": pl.String, "reason": pl.String, "rank": pl.Int32}


def no_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def _problems(
    frame: pl.DataFrame, mask: pl.Expr, field: str, reason: pl.Expr, rank: int
) -> pl.DataFrame:
    return frame.filter(mask).select(
        pl.col(LINE).cast(pl.Int64).alias("line"),
        pl.lit(field).alias("field"),
        reason.cast(pl.String).alias("reason"),
        pl.lit(rank, dtype=pl.Int32).alias("rank"),
    )


SHOWN_CHARS = 40  # of a bad cell quoted in a message


def shown(text: pl.Expr) -> pl.Expr:
    """A cell as a message quotes it: on one line (a quoted cell may span lines), cut short."""
    one_line = text.str.replace_all("\r", "\\r", literal=True).str.replace_all(
        "\n", "\\n", literal=True
    )
    cut = one_line.str.slice(0, SHOWN_CHARS) + "..."
    return pl.when(one_line.str.len_chars() > SHOWN_CHARS).then(cut).otherwise(one_line)


def shown_text(text: str) -> str:
    """``shown`` for one Python string."""
    one_line = text.replace("\r", "\\r").replace("\n", "\\n")
    return one_line[:SHOWN_CHARS] + "..." if len(one_line) > SHOWN_CHARS else one_line


def parse_numbers(raw: pl.DataFrame, columns: Collection[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to Float64; a non-empty cell that is not a number is a problem."""
    casts, found = [], [no_problems()]
    for col in columns:
        if col not in raw.columns:
            continue
        if raw.schema[col] != pl.String:
            casts.append(pl.col(col).cast(pl.Float64))
            continue
        text = pl.col(col).str.strip_chars()
        number = text.cast(pl.Float64, strict=False)
        casts.append(number.alias(col))
        bad = text.is_not_null() & (text != "") & number.is_null()
        msg = pl.format("cannot read a number from '{}'", shown(pl.col(col)))
        found.append(_problems(raw, bad, col, msg, 0))
    return raw.with_columns(casts), pl.concat(found)


def parse_dates(raw: pl.DataFrame, fmt: str, label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse ``date`` with the one format the file uses; other layouts are mixed formats."""
    if raw.schema["date"] in (pl.Date, pl.Datetime):
        return raw.with_columns(pl.col("date").cast(pl.Date)), no_problems()
    text = pl.col("date").cast(pl.String).str.strip_chars()
    parsed = text.str.strptime(pl.Datetime, fmt, strict=False).dt.date()
    out = raw.with_columns(parsed.alias("date"), text.alias("_date_text"))
    bad = pl.col("date").is_null()
    msg = pl.format(
        "cannot read date '{}' as {} (the format of the file's first date)",
        shown(pl.col("_date_text").fill_null("")),
        pl.lit(label),
    )
    return out.drop("_date_text"), _problems(out, bad, "date", msg, 0)


def check_values(frame: pl.DataFrame, required: Collection[str]) -> pl.DataFrame:
    """Empty required cells, NaN/inf, non-positive prices, negative volume, implausibly large
    prices and volumes, OHLC order."""
    found = [no_problems()]
    for col in required:
        if col in frame.columns:
            found.append(_problems(frame, pl.col(col).is_null(), col, pl.lit("empty value"), 1))
    floats = [c for c, t in frame.schema.items() if t == pl.Float64]
    for col in floats:
        bad = pl.col(col).is_nan() | pl.col(col).is_infinite()
        msg = pl.format("not a finite number ({})", pl.col(col))
        found.append(_problems(frame, bad, col, msg, 1))
    for col in ("open", "high", "low", "close", "prev_close", "settle"):
        if col in frame.columns:
            msg = pl.format("price must be positive, got {}", pl.col(col))
            found.append(_problems(frame, pl.col(col) <= 0, col, msg, 2))
    for col in ("volume", "amount", "open_interest"):
        if col in frame.columns:
            msg = pl.format("must not be negative, got {}", pl.col(col))
            found.append(_problems(frame, pl.col(col) < 0, col, msg, 2))
    for col, limit in MAXIMA.items():
        if col in frame.columns:
            too_big = pl.col(col).is_finite() & (pl.col(col).abs() > limit)
            msg = pl.format("{} is implausibly large (above {})", pl.col(col), pl.lit(f"{limit:g}"))
            found.append(_problems(frame, too_big, col, msg, 2))
    found.append(_ohlc_order(frame))
    return pl.concat(found)


def _ohlc_order(frame: pl.DataFrame) -> pl.DataFrame:
    """high >= low, and open and close inside [low, high], where those prices exist."""
    if not {"high", "low"} <= set(frame.columns):
        return no_problems()
    hi, lo = pl.col("high"), pl.col("low")
    found = [_problems(frame, hi < lo, "high", pl.format("high {} is below low {}", hi, lo), 3)]
    for col in ("open", "close"):
        if col in frame.columns:
            c = pl.col(col)
            msg = pl.format(
                "{} {} is outside the day's range [low {}, high {}]", pl.lit(col), c, lo, hi
            )
            found.append(_problems(frame, (c < lo) | (c > hi), col, msg, 4))
    return pl.concat(found)


def check_keys(frame: pl.DataFrame, key: str, known: Collection[str] | None) -> pl.DataFrame:
    """Unreadable codes (null after normalising) and codes missing from the instrument master."""
    found = [_problems(frame, pl.col(key).is_null(), key, pl.lit("cannot read the code"), 1)]
    if known is not None:
        bad = pl.col(key).is_not_null() & ~pl.col(key).is_in(list(known))
        msg = pl.format(
            "unknown {} {}: not in the instrument master (add it to data/instruments.csv, then "
            "run `screener store init`)",
            pl.lit(key),
            pl.col(key),
        )
        found.append(_problems(frame, bad, key, msg, 5))
    return pl.concat(found)


def check_sessions(frame: pl.DataFrame, *, holidays: bool) -> pl.DataFrame:
    """Weekend dates always; weekday exchange holidays where the XSHG table covers the date.

    Before ``calendar.FIRST_SESSION`` only weekends are checked (the holiday table is loaded from
    there); past ``calendar.calendar_end()`` weekdays are allowed, as the calendar module does.
    """
    dates = frame.get_column("date").drop_nulls()
    if dates.is_empty():
        return no_problems()
    weekday = pl.col("date").dt.weekday()
    name = pl.col("date").dt.strftime("%A")
    msg = pl.format("{} is a {}: not a trading session", pl.col("date"), name)
    found = [_problems(frame, weekday >= 6, "date", msg, 6)]
    first_day, last_day = dates.min(), dates.max()
    assert isinstance(first_day, dt.date) and isinstance(last_day, dt.date)
    lo, hi = max(first_day, calendar.FIRST_SESSION), min(last_day, calendar.calendar_end())
    if holidays and lo <= hi:
        open_days = pl.Series("s", calendar.sessions(lo, hi), dtype=pl.Date)
        bad = (
            (weekday <= 5)
            & pl.col("date").is_between(lo, hi)
            & ~pl.col("date").is_in(open_days.implode())
        )
        msg = pl.format("{} is not an XSHG session (exchange holiday)", pl.col("date"))
        found.append(_problems(frame, bad, "date", msg, 6))
    return pl.concat(found)


# The first session of any A-share or index (SSE, 1990-12-19); series may be older, but a
# year like 0024 is a two-digit year read as four, never a price.
EARLIEST = {"bars": dt.date(1990, 12, 19), "index": dt.date(1990, 12, 19)}
EARLIEST_SERIES = dt.date(1900, 1, 1)


def check_dates(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Dates before anything the table can hold (a "24-01-05" read as the year 24)."""
    first = EARLIEST.get(kind, EARLIEST_SERIES)
    msg = pl.format(
        "date {} is before {}: not a trading day of this market", pl.col("date"), pl.lit(str(first))
    )
    return _problems(frame, pl.col("date") < first, "date", msg, 0)


def check_steps(frame: pl.DataFrame) -> pl.DataFrame:
    """A prev_close more than derive.MAX_STEP times off the previous row's close (bars)."""
    if "prev_close" not in frame.columns or "ticker" not in frame.columns:
        return no_problems()
    ordered = frame.sort("ticker", "date").with_columns(
        pl.col("close").shift(1).over("ticker").alias("_previous")
    )
    msg = pl.format(
        "prev_close {} is more than {} times off the previous close {}: no corporate action "
        "moves a price that far",
        pl.col("prev_close"),
        pl.lit(f"{MAX_STEP:g}"),
        pl.col("_previous"),
    )
    bad = out_of_range(pl.col("_previous") / pl.col("prev_close"))
    return _problems(ordered, bad, "prev_close", msg, STEP_RANK)


def split_duplicates(frame: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Drop repeats of a (key, date) row that are identical; differing repeats are problems.

    Returns (frame without identical repeats, how many were dropped, problems). Whole rows are
    compared only among the rows whose key repeats, which are few or none.
    """
    repeats = frame.filter(pl.struct(key, "date").is_duplicated())
    if repeats.is_empty():
        return frame, 0, no_problems()
    values = pl.struct(c for c in frame.columns if c != LINE)
    later = pl.col(LINE) != pl.col("_first")
    # each repeat against the first row of its key (not against each other: two equal repeats
    # of a different first row are a conflict, not a harmless copy)
    marked = repeats.sort(LINE).with_columns(
        pl.col(LINE).first().over(key, "date").alias("_first"),
        values.eq_missing(values.first().over(key, "date")).alias("_as_first"),
    )
    marked = marked.with_columns((pl.col("_as_first") & later).alias("_same"))
    msg = pl.format(
        "duplicate ({}, date) {} {} with different values (first at line {})",
        pl.lit(key),
        pl.col(key),
        pl.col("date"),
        pl.col("_first"),
    )
    problems = _problems(marked, later & ~pl.col("_same"), "date", msg, DUPLICATE_RANK)
    same = marked.filter("_same").get_column(LINE)
    return frame.filter(~pl.col(LINE).is_in(same.implode())), same.len(), problems


def first(problems: pl.DataFrame) -> dict[str, object] | None:
    """The problem on the earliest line (ties: parse errors before value checks)."""
    if problems.is_empty():
        return None
    return problems.sort("line", "rank", "field").row(0, named=True)


SHOWN_PROBLEMS = 4  # after the first, in the error line; the CSV lists them all


def report_path(what: str, source: str | Path) -> Path:
    """Where the full list of an import's problems or conflicts goes (the error names it)."""
    folder = Path(tempfile.gettempdir()) / "screener"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{Path(source).name or 'import'}.{what}.csv"


def raise_all(problems: pl.DataFrame, path: str | Path) -> None:
    """Raise one InputError for every problem: the first in full (file, line, field), the next
    few in short, all of them in a CSV the message names."""
    top = first(problems)
    if top is None:
        return
    line, field, reason = int(str(top["line"])), str(top["field"]), str(top["reason"])
    if problems.height == 1:
        raise InputError(reason, path=path, line=line, field=field)
    ordered = problems.sort("line", "rank", "field")
    listed = report_path("problems", path)
    ordered.select(pl.lit(str(path)).alias("file"), "line", "field", "reason").write_csv(listed)
    nxt = ordered.slice(1, SHOWN_PROBLEMS).iter_rows(named=True)
    shortly = "; ".join(f"line {r['line']} {r['field']}: {r['reason']}" for r in nxt)
    rows = ordered.get_column("line").n_unique()
    raise InputError(
        f"{reason} (and {problems.height - 1} more problem(s), {rows} row(s) in all: "
        f"{shortly}{'; ...' if problems.height > SHOWN_PROBLEMS + 1 else ''}; all listed in "
        f"{listed})",
        path=path,
        line=line,
        field=field,
        hint="fix them, or import the good rows with --quarantine FILE.csv (it lists the rest)",
    )


def split_refused(
    frame: pl.DataFrame, problems: pl.DataFrame, key: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows without a problem, one row per refused line: line, code, date, field, reason).

    A row with any problem is refused whole; when a (code, date) repeats with different
    values, every one of its rows is refused (which one is right cannot be known).
    """
    dup_lines = problems.filter(pl.col("rank") == DUPLICATE_RANK).get_column("line")
    dup_keys = frame.filter(pl.col(LINE).is_in(dup_lines.implode())).select(key, "date")
    same_key = frame.join(dup_keys, on=[key, "date"], how="semi").select(
        pl.col(LINE).alias("line"),
        pl.lit("date").alias("field"),
        pl.lit("a repeat of this (code, date) has different values").alias("reason"),
        pl.lit(DUPLICATE_RANK, pl.Int32).alias("rank"),
    )
    every = pl.concat([problems, same_key]).unique(["line", "field", "reason"])
    per_line = (
        every.sort("line", "rank", "field")
        .group_by("line", maintain_order=True)
        .agg(
            pl.col("field").unique(maintain_order=True).str.join("; "),
            pl.col("reason").str.join("; "),
        )
    )
    where = frame.select(
        pl.col(LINE).alias("line"),
        pl.col(key).cast(pl.String).alias("code"),
        pl.col("date").cast(pl.String),
    )
    refused = per_line.join(where, on="line", how="left").select(
        "line", "code", "date", "field", "reason"
    )
    kept = frame.filter(~pl.col(LINE).is_in(per_line.get_column("line").implode()))
    return kept, refused


# -- whole frames --------------------------------------------------------------------------
def problems(
    frame: pl.DataFrame, kind: str, known: Collection[str] | None
) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    key = KEY_COLUMN[kind]
    found = [
        check_keys(frame, key, known if kind == "bars" else None),
        check_values(frame, REQUIRED[kind]),
    ]
    if kind == "series":
        china = pl.col(key).str.split(".").list.first().is_in(list(CHINA_VENUES))
        found.append(check_sessions(frame.filter(china), holidays=True))
        found.append(check_sessions(frame.filter(~china), holidays=False))
    else:
        found.append(check_sessions(frame, holidays=True))
    found.append(check_dates(frame, kind))
    if kind == "bars":
        found.append(check_steps(frame))
    frame, dropped, dup_problems = split_duplicates(frame, key)
    found.append(dup_problems)
    return frame, dropped, pl.concat(found)


def check_frame(
    frame: pl.DataFrame, *, kind: str = "bars", known_tickers: Collection[str] | None = None
) -> pl.DataFrame:
    """Every problem in an already-typed frame (schema column names), one row each.

    Columns ``line`` (1-based row number), ``field``, ``reason``; empty when the frame is clean.
    For other sources (akshare) and for listing all known bad rows of a data set at once.
    """
    framed = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    return problems(framed, kind, known_tickers)[2].sort("line", "rank").drop("rank")


def validated(
    frame: pl.DataFrame,
    *,
    kind: str,
    source: str,
    known_tickers: Collection[str] | None = None,
) -> pl.DataFrame:
    """``frame`` (schema names) checked like a file, identical repeats dropped, conformed.

    Raises InputError for the first problem; ``line`` is then the 1-based row number.
    """
    framed = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    framed, _, bad = problems(framed, kind, known_tickers)
    raise_all(bad, source)
    key = KEY_COLUMN[kind]
    return TABLES[kind].conform(framed.drop(LINE).sort(key, "date"), source=source)
