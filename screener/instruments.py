"""Instrument master: tickers, names and aliases, exchange, board, Shenwan class, metal tags.

The master lives in ``data/instruments.csv`` (one row per security, ``|``-separated lists). It is
loaded into a frame conformed to ``schema.INSTRUMENTS`` after every row has been checked, so a bad
edit fails at load time with the file, line and field instead of surfacing later as a wrong join.

Names matter as much as tickers: broker notes write former names (银泰黄金 for 山金国际), names
with or without the ST prefix, and sometimes traditional characters (紫金礦業, see ``hanzi.py``).
``name_index`` maps every such spelling to the tickers that carry it; a list, so an ambiguous name
stays visible. A company listed in Shanghai or Shenzhen and in Hong Kong has a row per line under
the same name: readers prefer the A-share line unless told otherwise (brokers/lexicon.py).

Example
-------
>>> master = load_master()
>>> name_index(master)["洛陽鉬業"]
['603993.SH', '03993.HK']
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path

import polars as pl

from screener.errors import InputError
from screener.schema import INSTRUMENTS, SECTOR_INDEX, SW_L2

MASTER_CSV = Path(__file__).resolve().parents[1] / "data" / "instruments.csv"

COLUMNS: tuple[str, ...] = tuple(INSTRUMENTS.columns)
LIST_COLUMNS = ("aliases", "metals")
DATE_COLUMNS = ("list_date", "delist_date")

EXCHANGES = frozenset({"SSE", "SZSE", "BSE", "HKEX"})
BOARDS = frozenset({"main", "chinext", "star", "bse", "hk"})

# Metal tags; the first tag of a row is the metal that drives the stock. A superset of
# ``metals.METALS`` (the tags that have a price series): the others still group stocks.
METAL_TAGS: tuple[str, ...] = (
    "copper",
    "aluminium",
    "zinc",
    "lead",
    "tin",
    "nickel",
    "gold",
    "silver",
    "lithium",
    "cobalt",
    "rare_earth",
    "magnet",
    "tungsten",
    "molybdenum",
    "antimony",
    "titanium",
    "magnesium",
    "germanium",
    "gallium",
    "uranium",
    "other",
)

# (ticker pattern, exchange, board), first match wins. The code prefix fixes the board, so a
# row whose board disagrees with its code is an editing mistake, not a choice.
_BOARD_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^60[0135]\d{3}\.SH$"), "SSE", "main"),
    (re.compile(r"^68[89]\d{3}\.SH$"), "SSE", "star"),
    (re.compile(r"^00[0123]\d{3}\.SZ$"), "SZSE", "main"),
    (re.compile(r"^30[01]\d{3}\.SZ$"), "SZSE", "chinext"),
    (re.compile(r"^(8\d{5}|43\d{4}|920\d{3})\.BJ$"), "BSE", "bse"),
    (re.compile(r"^\d{5}\.HK$"), "HKEX", "hk"),
)

_ST_PREFIX = re.compile(r"^S?[*＊]?ST\s*")  # ST, *ST, SST, S*ST
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_Fail = Callable[[str, str], InputError]  # (field, reason) -> the error to raise


def strip_st(name: str) -> str:
    """``name`` without a risk-warning prefix (ST, *ST, S*ST, SST): notes often drop it."""
    return _ST_PREFIX.sub("", name)


def expected_listing(ticker: str) -> tuple[str, str] | None:
    """(exchange, board) implied by the ticker's code and suffix; None if it is malformed."""
    for pattern, exchange, board in _BOARD_RULES:
        if pattern.match(ticker):
            return exchange, board
    return None


def load_master(path: Path | None = None) -> pl.DataFrame:
    """Read and validate the instrument master; returns a frame conformed to INSTRUMENTS.

    Raises InputError naming the file, 1-based line and field of the first bad value: a
    malformed ticker, unknown exchange/board/metal, a board that contradicts the code prefix,
    an sw_l2 outside the five nonferrous L2 codes, a duplicate ticker, a bad date, or a
    delist_date before the list_date.
    """
    path = MASTER_CSV if path is None else path
    rows = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        _check_header(reader.fieldnames, path)
        for raw in reader:
            line = reader.line_num
            row = _parse_row(raw, path=path, line=line)
            ticker = str(row["ticker"])
            if ticker in seen:
                reason = f"duplicate ticker {ticker} (first on line {seen[ticker]})"
                raise InputError(reason, path=path, line=line, field="ticker")
            seen[ticker] = line
            rows.append(row)
    frame = pl.DataFrame(rows, schema=INSTRUMENTS.columns, orient="row")
    return INSTRUMENTS.conform(frame, source=str(path))


def name_index(master: pl.DataFrame) -> dict[str, list[str]]:
    """Map every name, alias and ST-less name to the tickers carrying it, in master order.

    A key with more than one ticker is ambiguous and must be resolved by the caller (for
    instance with the date of the text), never by picking the first.
    """
    index: dict[str, list[str]] = {}
    for ticker, name, aliases in master.select("ticker", "name", "aliases").iter_rows():
        for key in (name, strip_st(name), *(aliases or [])):
            tickers = index.setdefault(key, [])
            if ticker not in tickers:
                tickers.append(ticker)
    return index


def _check_header(fieldnames: Iterable[str] | None, path: Path) -> None:
    missing = [c for c in COLUMNS if c not in (fieldnames or [])]
    if missing:
        raise InputError(f"missing column(s) {missing}", path=path, line=1)


def _parse_row(raw: Mapping[str, str | None], *, path: Path, line: int) -> dict[str, object]:
    """One CSV row to typed values, validating each field; errors name the line and field."""
    text = {c: (raw.get(c) or "").strip() for c in COLUMNS}

    def fail(field: str, reason: str) -> InputError:
        return InputError(reason, path=path, line=line, field=field)

    ticker = text["ticker"]
    listing = expected_listing(ticker)
    if listing is None:
        raise fail("ticker", f"malformed ticker {ticker!r} (e.g. 600362.SH, 01378.HK)")
    if not text["name"]:
        raise fail("name", "empty name")
    if text["exchange"] not in EXCHANGES:
        raise fail("exchange", f"unknown exchange {text['exchange']!r}; one of {sorted(EXCHANGES)}")
    if text["board"] not in BOARDS:
        raise fail("board", f"unknown board {text['board']!r}; one of {sorted(BOARDS)}")
    if (text["exchange"], text["board"]) != listing:
        found = f"{text['exchange']}/{text['board']}"
        raise fail("board", f"{found} contradicts the code of {ticker} ({'/'.join(listing)})")
    _check_shenwan(text["sw_l1"], text["sw_l2"], fail)
    metals = _split(text["metals"])
    unknown = [m for m in metals if m not in METAL_TAGS]
    if unknown:
        raise fail("metals", f"unknown metal tag(s) {unknown}; see instruments.METAL_TAGS")
    dates = {c: _parse_date(text[c], c, fail) for c in DATE_COLUMNS}
    listed, delisted = dates["list_date"], dates["delist_date"]
    if listed and delisted and delisted < listed:
        raise fail("delist_date", f"delist_date {delisted} is before list_date {listed}")
    return {
        **{c: text[c] or None for c in COLUMNS},
        "aliases": _split(text["aliases"]),
        "metals": metals,
        **dates,
    }


def _check_shenwan(sw_l1: str, sw_l2: str, fail: _Fail) -> None:
    """sw_l1 is 801050.SI or empty; members need one of the five L2 codes, others none."""
    if sw_l1 not in ("", SECTOR_INDEX):
        raise fail("sw_l1", f"sw_l1 must be {SECTOR_INDEX} or empty, got {sw_l1!r}")
    if sw_l1 and sw_l2 not in SW_L2:
        raise fail("sw_l2", f"sw_l2 {sw_l2!r} is not a nonferrous L2 code {sorted(SW_L2)}")
    if not sw_l1 and sw_l2:
        raise fail("sw_l2", f"sw_l2 {sw_l2!r} given without sw_l1 {SECTOR_INDEX}")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _parse_date(value: str, field: str, fail: _Fail) -> date | None:
    if not value:
        return None
    if not _ISO_DATE.match(value):
        raise fail(field, f"bad date {value!r}; expected YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(field, f"bad date {value!r}; no such day") from None
