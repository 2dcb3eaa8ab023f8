"""Vendor CSV layouts: header names, units and price basis of each export we know.

A layout is recognised by the column names of its header (``detect_format``). Its traits say what
the file alone cannot: the volume unit (akshare/Eastmoney and Tushare count lots of 100 shares),
the amount unit (Tushare: thousand CNY) and whether prices are raw by construction. What a trait
leaves open ("detect") is decided from the data in ``files.py`` and reported in ``detected``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from screener.errors import InputError
from screener.ingest.validate import KEY_COLUMN, LINE

# Canonical column -> header names vendors use for it, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("股票代码", "证券代码", "代码", "ts_code", "ticker", "code", "symbol"),
    "index_code": ("指数代码", "代码", "index_code", "ts_code", "code", "symbol"),
    "series_id": ("series_id", "symbol", "code"),
    "name": ("股票名称", "证券名称", "名称", "name"),
    "date": ("交易日期", "日期", "date", "trade_date"),
    "open": ("开盘价", "开盘", "open"),
    "high": ("最高价", "最高", "high"),
    "low": ("最低价", "最低", "low"),
    "close": ("收盘价", "收盘", "close"),
    "prev_close": ("前收盘价", "昨收", "prev_close", "pre_close"),
    "volume": ("成交量", "volume", "vol"),
    "amount": ("成交额", "amount"),
    "settle": ("结算价", "settle"),
    "open_interest": ("持仓量", "open_interest", "hold", "oi"),
    "unit": ("unit",),
    "currency": ("currency",),
    # Values a vendor may already carry; they win over our computation (see files.py).
    "adj_factor": ("adj_factor",),
    "up_limit": ("up_limit",),
    "down_limit": ("down_limit",),
    "is_st": ("is_st",),
}

HEADER_SCAN_LINES = 10
SHARES_PER = {"shares": 1.0, "lots": 100.0, "10k shares": 1e4}  # volume units vendors use
PRICE_COLUMNS = ("open", "high", "low", "close", "prev_close", "settle")
NUMBER_COLUMNS = (*PRICE_COLUMNS, "volume", "amount", "open_interest", "adj_factor")
NUMBER_COLUMNS_ALL = (*NUMBER_COLUMNS, "up_limit", "down_limit")


@dataclass(frozen=True)
class VendorFormat:
    """One export layout. ``signature``: header names that must all be present to match it."""

    name: str
    description: str
    signature: frozenset[str]
    kinds: frozenset[str] = frozenset({"bars"})
    volume_unit: str = "detect"  # a SHARES_PER key, or detect (from amount / volume / close)
    amount_scale: float = 1.0  # multiply to get CNY (Tushare daily: thousand CNY)
    price_basis: str = "detect"  # raw | detect | forward-adjusted | back-adjusted
    basis_note: str = ""
    any_of: frozenset[str] = field(default_factory=frozenset)  # at least one of these too


FORMATS: tuple[VendorFormat, ...] = (
    VendorFormat(
        "xbx",
        "邢不行 export: banner line, Chinese headers with 前收盘价, code like sh600362",
        frozenset({"股票代码", "交易日期", "开盘价", "收盘价", "前收盘价"}),
        volume_unit="shares",
        price_basis="raw",
        basis_note="the layout carries the exchange 前收盘价, so prices are unadjusted",
    ),
    VendorFormat(
        "akshare",
        "akshare stock_zh_a_hist (Eastmoney): 日期,开盘,收盘,最高,最低,成交量(lots),成交额,...",
        frozenset({"日期", "开盘", "收盘", "最高", "最低", "成交量"}),
        volume_unit="lots",
        any_of=frozenset({"振幅", "涨跌幅", "涨跌额", "换手率"}),
    ),
    VendorFormat(
        "sw-index",
        "akshare index_hist_sw (Shenwan): 代码,日期,收盘,开盘,最高,最低,成交量,成交额",
        frozenset({"代码", "日期", "收盘", "开盘", "最高", "最低"}),
        kinds=frozenset({"index"}),
        volume_unit="10k shares",  # Shenwan publishes 万股 and 亿元 (see akshare.py)
        amount_scale=1e8,
        price_basis="raw",
    ),
    VendorFormat(
        "cn-ohlc",
        "Chinese headers 日期,开盘价,最高价,最低价,收盘价,成交量[,成交额]",
        frozenset({"日期", "开盘价", "最高价", "最低价", "收盘价"}),
        kinds=frozenset({"bars", "index", "series"}),
    ),
    VendorFormat(
        "tushare",
        "Tushare daily: ts_code,trade_date,open,...,pre_close,vol(lots),amount(kCNY)",
        frozenset({"ts_code", "trade_date", "close", "vol"}),
        kinds=frozenset({"bars", "index"}),
        volume_unit="lots",
        amount_scale=1000.0,
        price_basis="raw",
        basis_note="Tushare daily is unadjusted by definition",
    ),
    VendorFormat(
        "sina-futures",
        "akshare futures_zh_daily_sina: date,open,high,low,close,volume,hold[,settle]",
        frozenset({"date", "open", "high", "low", "close", "volume", "hold"}),
        kinds=frozenset({"series"}),
        volume_unit="shares",
        price_basis="raw",
    ),
    VendorFormat(
        "english",
        "English headers date,open,high,low,close[,volume,amount,...] (also our own schema)",
        frozenset({"date", "close"}),
        kinds=frozenset({"bars", "index", "series"}),
    ),
    VendorFormat(
        "generic",
        "any other header naming a date and a close (日期/交易日期/date, 收盘/收盘价/close, ...): "
        "volume unit and price basis read from the data",
        frozenset(),
        kinds=frozenset({"bars", "index", "series"}),
    ),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
# ``fmt`` values that pick the akshare layout and also state the price basis.
BASIS_OVERRIDES = {
    "akshare-raw": "raw",
    "akshare-qfq": "forward-adjusted",
    "akshare-hfq": "back-adjusted",
}
FMT_CHOICES: tuple[str, ...] = ("auto", *FORMAT_NAMES, *BASIS_OVERRIDES, "parquet")


def by_name(name: str) -> VendorFormat:
    return next(f for f in FORMATS if f.name == name)


def detect_format(header: list[str], kind: str) -> VendorFormat | None:
    """The first layout whose signature the header holds and that serves ``kind``."""
    cols = set(header)
    for fmt in FORMATS:
        signed = bool(fmt.signature) and fmt.signature <= cols
        if kind in fmt.kinds and signed and (not fmt.any_of or fmt.any_of & cols):
            return fmt
    if {"date", "close"} <= set(column_map(header, kind)):  # the aliases name the columns
        return by_name("generic")
    return None


def looks_like_header(cells: list[str]) -> bool:
    """A header names a date column and at least two price columns (banner lines do not)."""
    cols = set(cells)
    has_date = bool(cols & set(ALIASES["date"]))
    prices = sum(bool(cols & set(ALIASES[c])) for c in ("open", "high", "low", "close"))
    return has_date and prices >= 2


def column_map(header: list[str], kind: str) -> dict[str, str]:
    """Canonical name -> header name, first alias present wins; each header used once."""
    wanted = ["name", "date", "open", "high", "low", "close", "prev_close", "volume", "amount"]
    wanted += ["settle", "open_interest", "unit", "currency"]
    wanted += ["adj_factor", "up_limit", "down_limit", "is_st"]
    out: dict[str, str] = {}
    used: set[str] = set()
    for canon in [KEY_COLUMN[kind], *wanted]:
        for alias in ALIASES[canon]:
            if alias in header and alias not in used:
                out[canon] = alias
                used.add(alias)
                break
    return out


def resolve_keys(
    frame: pl.DataFrame, kind: str, override: str | None, path: Path, detected: dict[str, str]
) -> pl.DataFrame:
    """Normalise the key column; from ``override``, else the column, else the file name."""
    key = KEY_COLUMN[kind]
    if override is not None:
        if key in frame.columns and frame.get_column(key).n_unique() > 1:
            raise InputError(
                f"--ticker given but the file holds {frame.get_column(key).n_unique()} codes",
                path=path,
                field=key,
            )
        value = NORMALISERS[kind](override)
        if value is None:
            raise InputError(f"cannot read the code '{override}' given with --ticker", path=path)
        detected["ticker_source"] = f"override {override!r} -> {value}"
        return frame.with_columns(pl.lit(value).alias(key))
    if key in frame.columns:
        raw = frame.get_column(key).cast(pl.String)
        sample = raw.drop_nulls().head(1).to_list()
        out = frame.with_columns(normalise_keys(raw, kind).alias(key))
        shown = f" ({sample[0]} -> {out.get_column(key).head(1).item()})" if sample else ""
        detected["ticker_source"] += shown
        return out
    first_token = re.split(r"[_\-\s]", path.stem)[0]  # 600362_daily.csv names 600362
    value = NORMALISERS[kind](path.stem) or NORMALISERS[kind](first_token)
    if value is None:
        raise InputError(
            f"no code column and the file name '{path.name}' is not a code",
            path=path,
            field=key,
            hint="pass --ticker",
        )
    detected["ticker_source"] = f"file name {path.name} -> {value}"
    return frame.with_columns(pl.lit(value).alias(key))


# -- dates ----------------------------------------------------------------------------------
DATE_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d", "YYYY-MM-DD"),
    (r"^\d{8}$", "%Y%m%d", "YYYYMMDD"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d", "YYYY/MM/DD"),
    (r"^\d{4}-\d{2}-\d{2} 00:00:00$", "%Y-%m-%d %H:%M:%S", "YYYY-MM-DD 00:00:00"),
    (r"^\d{4}-\d{2}-\d{2}T00:00:00$", "%Y-%m-%dT%H:%M:%S", "YYYY-MM-DDT00:00:00"),
)


def date_format_of(sample: str) -> tuple[str, str] | None:
    """(strptime format, label) of the first date value, or None when no layout fits."""
    for pattern, fmt, label in DATE_PATTERNS:
        if re.match(pattern, sample.strip()):
            return fmt, label
    return None


# -- tickers --------------------------------------------------------------------------------
_PREFIXED = re.compile(r"^(SH|SZ|BJ)\.?(\d{6})$")
_SUFFIXED = re.compile(r"^(\d{6})\.(SH|SZ|BJ|SS)$")


def exchange_of(code: str) -> str | None:
    """Exchange suffix of a bare 6-digit A-share code by its prefix (6 SH; 0/3 SZ; 4/8/92 BJ)."""
    if code.startswith("92") or code[0] in "48":
        return "BJ"
    if code[0] == "6":
        return "SH"
    if code[0] in "03":
        return "SZ"
    return None


def stock_ticker(raw: str) -> str | None:
    """sh600362 / 600362 / 600362.SH / SZ.000630 -> 600362.SH; None when it is no A-share code."""
    s = raw.strip().upper()
    if m := _PREFIXED.match(s):
        return f"{m.group(2)}.{m.group(1)}"
    if m := _SUFFIXED.match(s):
        return f"{m.group(1)}.{'SH' if m.group(2) == 'SS' else m.group(2)}"
    if s.isdigit() and len(s) <= 6:
        code = s.zfill(6)  # spreadsheets drop leading zeros: 630 is 000630
        ex = exchange_of(code)
        return f"{code}.{ex}" if ex else None
    return None


_INDEX = re.compile(r"^(SH|SZ)?\.?(\d{6})(?:\.(SH|SZ|SI|CSI))?$")


def index_code(raw: str) -> str | None:
    """801050 -> 801050.SI; 000300 -> 000300.SH; 399006 -> 399006.SZ; a given suffix wins."""
    m = _INDEX.match(raw.strip().upper())
    if not m:
        return None
    prefix, code, suffix = m.groups()
    ex = suffix or prefix
    if ex is None:
        ex = "SZ" if code.startswith("399") else "SI" if code[:2] in ("80", "85", "86") else "SH"
    return f"{code}.{ex}"


_SERIES = re.compile(r"^[A-Z0-9]+(\.[A-Z0-9]+)+$")


def series_id(raw: str) -> str | None:
    s = raw.strip().upper()
    return s if _SERIES.match(s) else None


NORMALISERS = {"bars": stock_ticker, "index": index_code, "series": series_id}


def normalise_keys(values: pl.Series, kind: str) -> pl.Series:
    """Vectorised over distinct values (few per file): invalid codes become null."""
    fn = NORMALISERS[kind]
    uniq = values.drop_nulls().unique()
    mapping = {v: fn(v) for v in uniq.to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def board_of(tickers: pl.Expr) -> pl.Expr:
    """main / chinext / star / bse from the code prefix (ashare_rules.md A1)."""
    code = tickers.str.slice(0, 6)
    return (
        pl.when(tickers.str.ends_with(".BJ"))
        .then(pl.lit("bse"))
        .when(code.str.starts_with("30"))
        .then(pl.lit("chinext"))
        .when(code.str.starts_with("68"))
        .then(pl.lit("star"))
        .otherwise(pl.lit("main"))
    )


# -- reading bytes ------------------------------------------------------------------------------
def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (with or without BOM) or GBK; anything else is an InputError."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:  # the BOM promises UTF-8: do not guess another codec
            at = exc.start + 3
            raise InputError(
                f"starts with a UTF-8 byte-order mark but is not UTF-8 (byte 0x{data[at]:02x} "
                f"at offset {at})",
                path=path,
                hint="re-save the file as UTF-8",
            ) from None
    if b"\x00" in data[:4096]:
        raise InputError("binary data (NUL bytes): not a CSV text file", path=path)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk"), "gbk"
    except UnicodeDecodeError as exc:
        raise InputError(
            f"text is neither UTF-8 nor GBK (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            path=path,
            hint="re-save the file as UTF-8",
        ) from None


def _split_cells(line: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.strip().split(",")]


def load_csv(path: Path, detected: dict[str, str]) -> pl.DataFrame:
    """All columns as text with a ``_line`` column; banner lines above the header skipped."""
    data = path.read_bytes()
    if not data.strip():
        raise InputError("empty file", path=path)
    text, detected["encoding"] = _decode(data, path)
    text = text.replace("\r\n", "\n")
    head = text.split("\n", HEADER_SCAN_LINES)[:HEADER_SCAN_LINES]
    at = next((i for i, line in enumerate(head) if looks_like_header(_split_cells(line))), None)
    if at is None:
        raise InputError(
            f"no header with a date and price columns in the first {HEADER_SCAN_LINES} lines",
            path=path,
            line=1,
        )
    banner = [line.strip() for line in head[:at] if line.strip()]
    detected["banner"] = f"skipped {at} line(s): {' | '.join(banner)}" if at else "none"
    detected["header_line"] = str(at + 1)
    _reject_repeated_columns(head[at], path, at + 1)
    body = text.split("\n", at)[-1] if at else text
    try:
        raw = pl.read_csv(body.encode("utf-8"), infer_schema=False, raise_if_empty=False)
        raw = raw.rename({c: c.strip() for c in raw.columns})
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"not a readable CSV: {first_line(exc)}", path=path) from None
    raw = raw.drop(LINE, strict=False)  # a column of that name would be ignored anyway
    raw = raw.with_row_index(LINE, offset=at + 2).with_columns(pl.col(LINE).cast(pl.Int64))
    blank = pl.all_horizontal(pl.exclude(LINE).is_null())
    return _reject_odd_cells(raw.filter(~blank), path, csv=True)


def first_line(exc: Exception, limit: int = 200) -> str:
    """A library message cut to one short line (polars adds hints and file excerpts)."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + "..."


def _reject_repeated_columns(header: str, path: Path, line: int) -> None:
    """Two columns with one name (spaces aside) make it ambiguous which one holds the data."""
    seen: set[str] = set()
    for name in _split_cells(header):
        if name and name in seen:
            raise InputError(f"column '{name}' appears twice in the header", path=path, line=line)
        seen.add(name)


MAX_CELL_CHARS = 1000  # a daily bar's longest cell is a name of a few characters


def _reject_odd_cells(raw: pl.DataFrame, path: Path, *, csv: bool) -> pl.DataFrame:
    """InputError at the first text cell longer than MAX_CELL_CHARS or, in a CSV, spanning lines.

    A stray quote makes the CSV reader swallow the lines up to the next quote into one cell:
    whole rows would vanish without a word. Long cells are no vendor data either, and polars 2.1
    panics formatting messages from a filtered column holding a string over 64 KiB
    (tests/faults/test_fuzz_importers.py).
    """
    text = [c for c, t in raw.schema.items() if t == pl.String]
    if not text:
        return raw
    size = {c: pl.col(c).str.len_chars().fill_null(0) for c in text}
    if csv:  # a line break counts as too long
        breaks = {c: pl.col(c).str.contains("[\r\n]").fill_null(False) for c in text}
        size = {c: pl.when(breaks[c]).then(-1).otherwise(size[c]) for c in text}
    odd = raw.select(LINE, *[e.alias(c) for c, e in size.items()]).filter(
        pl.any_horizontal((pl.col(c) > MAX_CELL_CHARS) | (pl.col(c) < 0) for c in text)
    )
    if odd.is_empty():
        return raw
    row = odd.row(0, named=True)
    col = next(c for c in text if row[c] > MAX_CELL_CHARS or row[c] < 0)
    reason = (
        'a cell spanning lines: a stray quote (") joins the lines up to the next one'
        if row[col] < 0
        else f"a cell of {row[col]} characters (at most {MAX_CELL_CHARS}): not daily price data"
    )
    raise InputError(reason, path=path, line=int(row[LINE]), field=col)


def load_parquet(path: Path, detected: dict[str, str]) -> pl.DataFrame:
    """The file's columns as they are typed, with a ``_line`` column (the 1-based row).

    Read with pyarrow, fully validated, then handed to polars without metadata: polars 2.1's own
    reader aborts the process on some corrupt files (an allocation of 2**61 bytes) and panics on
    others, and ``from_arrow`` panics on invalid UTF-8 (tests/faults/test_fuzz_importers.py).
    """
    import pyarrow as pa  # lazy, like every heavy import
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        table.validate(full=True)
        raw = pl.from_arrow(table.cast(_plain_schema(table.schema, path)))
    except (OSError, UnicodeDecodeError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise InputError(f"not a readable Parquet file: {first_line(exc)}", path=path) from None
    assert isinstance(raw, pl.DataFrame)
    raw = raw.drop(LINE, strict=False)
    detected.update(encoding="parquet", banner="none", header_line="none (Parquet: line = row)")
    raw = raw.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    return _reject_odd_cells(raw, path, csv=False)


def _plain_schema(schema: Any, path: Path) -> Any:
    """The Parquet columns as types polars reads safely, without metadata: floats and decimals
    as float64, dictionaries decoded. Nested, binary and other types are an InputError (polars
    2.1 panics on a decimal256 column)."""
    import pyarrow as pa
    import pyarrow.types as pt

    fields = []
    for f in schema:
        kind = f.type.value_type if pt.is_dictionary(f.type) else f.type
        if pt.is_floating(kind) or pt.is_decimal(kind):
            kind = pa.float64()
        plain = pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind)
        plain |= pt.is_string(kind) or pt.is_large_string(kind) or pt.is_string_view(kind)
        plain |= pt.is_date(kind) or pt.is_timestamp(kind) or pt.is_null(kind)
        if not plain:
            raise InputError(
                f"column '{f.name}' holds {f.type}: expected numbers, text or dates",
                path=path,
                field=f.name,
            )
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def is_parquet(path: Path, fmt: str) -> bool:
    if fmt == "parquet" or path.suffix.lower() in (".parquet", ".pq"):
        return True
    with path.open("rb") as fh:
        return fh.read(4) == b"PAR1"
