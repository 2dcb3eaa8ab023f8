"""Importers fed broken input: a ScreenerError or valid data, never a crash or a half write.

Vendor CSVs are generated valid in five layouts, then broken at the cell level (NaN, inf, 1e308,
-0, empty cells, weekend and holiday dates, mixed date formats, duplicate rows with different
values, negative prices, high < low, unknown tickers), the column level (missing, duplicate and
extra columns, no header, header twice), the text level (truncation, BOM in the middle, stray
quotes and separators, very long lines) and the byte level (UTF-16, latin-1, Big5, a UTF-8 BOM on
GBK bytes, flipped bytes). For each file ``import_files`` must either raise a ScreenerError that
names the file, leaving every table exactly as it was, or succeed only when the file is valid,
storing valid bars. Mutations that certainly make a file invalid must be refused.

``FUZZ_EXAMPLES`` (default 150) sets the examples per property; docs/reliability.md has the
figures of a large run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import helpers
import polars as pl
import pytest
from helpers import (
    CANON,
    DATE_FORMATS,
    FUZZ,
    FUZZ_EXAMPLES,
    LAYOUTS,
    REQUIRED,
    SESSIONS,
    TICKERS,
    Bar,
    StorePool,
    VendorTable,
    crash_or_error,
    import_outcome,
    render,
    run_cli,
    walk,
)
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from screener import cli

# the shared stores, as fixtures of this module (pytest finds fixtures by name here)
pool, template = helpers.pool, helpers.template

# The valid-file and in-process CLI properties succeed or fail the same way as the main one
# (every example of the first writes a store): a third of the examples keeps them quick.
FEWER = settings(FUZZ, max_examples=max(10, FUZZ_EXAMPLES // 3))
FUNCTION_SCOPED = HealthCheck.function_scoped_fixture  # capsys, read before and after each run
CLI_EXAMPLES = int(os.environ.get("FUZZ_CLI_EXAMPLES", "4"))  # a process each

PRICES = ("open", "high", "low", "close", "prev_close")
NUMBERS: dict[str, tuple[str, ...]] = {
    "nonfinite": ("NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1e400"),
    "text": ("abc", "0x1A", "1.2.3", "--1", "一"),
    "nonpositive": ("-0", "0", "-0.0", "-3.5", "-1e308"),
    "empty": ("", "  "),
    "huge": ("1e308", "1.7976931348623157e308", "1e17", "9e15"),
    "odd": ("1e-320", "+5", "5.", " 7.50 ", "１２", "1_000", "0.001", "1e3"),
}
BAD_DATES = ("2024-02-30", "2024-13-01", "N/A", "", "20241301", "2024-01-0", "24-01-05")
# Saturday, Sunday, and a Tuesday that was the National Day holiday.
NOT_SESSIONS = (dt.date(2024, 3, 9), dt.date(2024, 6, 16), dt.date(2024, 10, 1))


@dataclass
class Case:
    """A file being broken: the cells, the steps taken, whether a step made it invalid."""

    table: VendorTable
    steps: list[str] = field(default_factory=list)
    invalid: bool = False

    def note(self, step: str, *, invalid: bool = False, blurs: bool = False) -> None:
        """Record a step; ``blurs``: it may also undo an earlier step (a cut, a stray quote)."""
        self.steps.append(step)
        self.invalid = (self.invalid and not blurs) or invalid


# -- valid files ----------------------------------------------------------------------------------
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[VendorTable, list[Bar]]:
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    coded = "ticker" in map(CANON.get, LAYOUTS[layout])
    tickers = draw(
        st.lists(
            st.sampled_from(sorted(TICKERS)), min_size=1, max_size=2 if coded else 1, unique=True
        )
    )
    n = draw(st.integers(1, 45))
    start = draw(st.integers(0, len(SESSIONS) - n))
    move = st.tuples(
        st.integers(-900, 900), st.integers(-900, 900), st.integers(0, 300), st.integers(0, 50_000)
    )
    moves = draw(st.lists(move, min_size=1, max_size=6))
    bars = [b for t in tickers for b in walk(t, start, n, moves)]
    table = render(bars, layout, draw(st.sampled_from(sorted(DATE_FORMATS))))
    order = draw(st.permutations(range(len(table.rows))))  # vendors do not always sort
    return table.with_rows([table.rows[i] for i in order]), bars


# -- cell, row and column mutations ---------------------------------------------------------------
def _set_cell(case: Case, row: int, col: int, value: str) -> None:
    rows = [list(r) for r in case.table.rows]
    rows[row] += [""] * (col + 1 - len(rows[row]))  # a row cut short earlier
    rows[row][col] = value
    case.table = case.table.with_rows(rows)


def _any_row(draw: st.DrawFn, case: Case) -> int:
    return draw(st.integers(0, len(case.table.rows) - 1))


def bad_number(draw: st.DrawFn, case: Case) -> None:
    t = case.table
    cols = [i for i, h in enumerate(t.header) if CANON.get(h) in (*PRICES, "volume", "amount")]
    if not cols:
        return
    col, row = draw(st.sampled_from(cols)), _any_row(draw, case)
    kind = draw(st.sampled_from(sorted(NUMBERS)))
    value = draw(st.sampled_from(NUMBERS[kind]))
    _set_cell(case, row, col, value)
    case.note(
        f"{t.header[col]}[{row}]={value!r}", invalid=refused(CANON[t.header[col]], kind, value)
    )


def refused(what: str, kind: str, value: str) -> bool:
    """Whether ``value`` (of NUMBERS[kind]) in a column holding ``what`` must be refused."""
    if kind in ("nonfinite", "text"):
        return True
    if kind == "nonpositive":
        return what in PRICES or float(value) < 0  # a volume or amount of 0 (or -0) is fine
    if kind == "empty":
        return what in REQUIRED
    if kind == "huge":
        return what in (*PRICES, "volume")
    return False


def _date_of(case: Case, row: int) -> dt.date | None:
    col = case.table.column("date")
    try:
        text = case.table.rows[row][col] if col is not None else ""
        return dt.datetime.strptime(text, DATE_FORMATS[case.table.date_format]).date()
    except (IndexError, ValueError):
        return None


def not_a_session(draw: st.DrawFn, case: Case) -> None:
    col, row = case.table.column("date"), _any_row(draw, case)
    if col is not None:
        day = draw(st.sampled_from(NOT_SESSIONS))
        _set_cell(case, row, col, day.strftime(DATE_FORMATS[case.table.date_format]))
        case.note(f"date[{row}]={day} ({day:%A})", invalid=True)


def mixed_dates(draw: st.DrawFn, case: Case) -> None:
    col, row = case.table.column("date"), _any_row(draw, case)
    day = _date_of(case, row)
    if col is None or day is None or len(case.table.rows) < 2:
        return
    other = draw(st.sampled_from([f for f in DATE_FORMATS if f != case.table.date_format]))
    _set_cell(case, row, col, day.strftime(DATE_FORMATS[other]))
    case.note(f"date[{row}] as {other}", invalid=True)


def bad_date(draw: st.DrawFn, case: Case) -> None:
    col, row = case.table.column("date"), _any_row(draw, case)
    if col is not None:
        value = draw(st.sampled_from(BAD_DATES))
        _set_cell(case, row, col, value)
        case.note(f"date[{row}]={value!r}", invalid=True)


def duplicate_row(draw: st.DrawFn, case: Case) -> None:
    """The same row again, as is (harmless) or with another close or volume (ambiguous)."""
    t, i = case.table, _any_row(draw, case)
    copy = list(t.rows[i])
    same = draw(st.booleans())
    if not same:
        cols = [c for c in map(t.column, ("high", "low", "close", "volume")) if c is not None]
        if len(cols) < 4 or len(copy) != len(t.header):
            return  # a column was dropped or a row cut short by an earlier step
        hi, lo, close, vol = cols
        if copy[close] != copy[lo]:
            copy[close] = copy[lo]
        elif copy[close] != copy[hi]:
            copy[close] = copy[hi]
        else:
            copy[vol] += "1"  # 0 -> 01, 500 -> 5001: another volume
    rows = [list(r) for r in t.rows]
    rows.insert(draw(st.integers(0, len(rows))), copy)
    case.table = t.with_rows(rows)
    case.note(f"row {i} repeated {'as is' if same else 'with other values'}", invalid=not same)


def swap_high_low(draw: st.DrawFn, case: Case) -> None:
    t, row = case.table, _any_row(draw, case)
    hi, lo = t.column("high"), t.column("low")
    if hi is None or lo is None or max(hi, lo) >= len(t.rows[row]):
        return
    a, b = t.rows[row][hi], t.rows[row][lo]
    try:
        ordered = float(a) > float(b)  # not already swapped, nor broken by another step
    except ValueError:
        return
    if ordered:
        _set_cell(case, row, hi, b)
        _set_cell(case, row, lo, a)
        case.note(f"high<low in row {row}", invalid=True)


def unknown_ticker(draw: st.DrawFn, case: Case) -> None:
    col, row = case.table.column("ticker"), _any_row(draw, case)
    if col is not None:
        value = draw(st.sampled_from(["600000.SH", "sh600001", "999999", "", "XYZ", "600362.HK"]))
        _set_cell(case, row, col, value)
        case.note(f"code[{row}]={value!r}", invalid=True)


def ragged_row(draw: st.DrawFn, case: Case) -> None:
    rows = [list(r) for r in case.table.rows]
    row = _any_row(draw, case)
    if draw(st.booleans()):
        keep = draw(st.integers(0, max(0, len(rows[row]) - 1)))
        rows[row] = rows[row][:keep]
        case.note(f"row {row} cut to {keep} cells")
    else:
        rows[row] += draw(st.lists(st.sampled_from(["1", "", "x"]), min_size=1, max_size=3))
        case.note(f"row {row} has extra cells")
    case.table = case.table.with_rows(rows)


def drop_row(draw: st.DrawFn, case: Case) -> None:
    if len(case.table.rows) > 1:
        i = _any_row(draw, case)
        case.table = case.table.with_rows(case.table.rows[:i] + case.table.rows[i + 1 :])
        case.note(f"row {i} deleted")


def drop_column(draw: st.DrawFn, case: Case) -> None:
    t = case.table
    col = draw(st.integers(0, len(t.header) - 1))
    name = t.header[col]
    header = t.header[:col] + t.header[col + 1 :]
    case.table = replace(t, header=header, rows=[r[:col] + r[col + 1 :] for r in t.rows])
    case.note(f"column {name} deleted", invalid=CANON.get(name) in REQUIRED)


EXTRA_NAMES = ("turnover", "备注", "pct_chg2", "", "_line", "close", "日期", "name", "is_st")
EXTRA_VALUES = ("", "x", "1.5", "ST", "N", "true", "2024-01-02", "NaN", ",", '"')


def extra_column(draw: st.DrawFn, case: Case) -> None:
    t = case.table
    name = draw(st.sampled_from(EXTRA_NAMES))
    rows = [[*r, draw(st.sampled_from(EXTRA_VALUES))] for r in t.rows]
    case.table = replace(t, header=[*t.header, name], rows=rows)
    case.note(f"extra column {name!r}")


def rename_header(draw: st.DrawFn, case: Case) -> None:
    """A duplicate, a case change, stray spaces or a BOM on a header cell."""
    t = case.table
    col = draw(st.integers(0, len(t.header) - 1))
    old = t.header[col]
    new = {
        "duplicate": t.header[(col + 1) % len(t.header)],
        "upper": old.upper(),
        "spaces": f"  {old} ",
        "bom": "\ufeff" + old,
    }[draw(st.sampled_from(["duplicate", "upper", "spaces", "bom"]))]
    case.table = replace(t, header=[*t.header[:col], new, *t.header[col + 1 :]])
    # a header that no longer names a date hands over to a header repeated among the rows
    case.note(f"header {old!r} -> {new!r}", blurs=True)


def header_lines(draw: st.DrawFn, case: Case) -> None:
    t = case.table
    if draw(st.booleans()):
        case.table = replace(t, header=[], banner=[])
        header_row = any(CANON.get(cell) == "date" for row in t.rows for cell in row)
        # a header repeated among the rows takes over, undoing the repeat
        case.note("no header", invalid=not header_row, blurs=header_row)
    else:
        rows = [list(r) for r in t.rows]
        rows.insert(draw(st.integers(0, len(rows))), list(t.header))
        case.table = t.with_rows(rows)
        case.note("header repeated among the rows", invalid=True)


CELL_MUTATIONS: tuple[Callable[[st.DrawFn, Case], None], ...] = (
    bad_number,
    not_a_session,
    mixed_dates,
    bad_date,
    duplicate_row,
    swap_high_low,
    unknown_ticker,
    ragged_row,
    drop_row,
    drop_column,
    extra_column,
    rename_header,
    header_lines,
)


# -- text and byte mutations ----------------------------------------------------------------------
def _text_of(table: VendorTable, newline: str) -> str:
    if not table.header:
        lines = [",".join(r) for r in table.rows]
        return newline.join(lines) + newline
    return table.text(newline)


TEXT_NOISE = st.text(
    alphabet=st.sampled_from(list(',"\n\r\t \ufeff\x00;0123456789.-eE铜锂' + "\u3000\ufffd")),
    min_size=1,
    max_size=8,
)


def mutate_text(draw: st.DrawFn, case: Case, text: str) -> str:
    """Cut the text, or insert a BOM, stray characters, a very long run or blank lines."""
    how = draw(st.sampled_from(["truncate", "bom", "noise", "long", "blank", "none"]))
    at = draw(st.integers(0, len(text)))
    if how == "truncate":
        case.note(f"text cut at {at}/{len(text)}", blurs=True)
        return text[:at]
    if how == "bom":
        case.note(f"BOM at {at}", blurs=True)
        return text[:at] + "\ufeff" + text[at:]
    if how == "noise":
        noise = draw(TEXT_NOISE)
        case.note(f"{noise!r} at {at}", blurs=True)
        return text[:at] + noise + text[at:]
    if how == "long":
        size = draw(st.sampled_from([10_000, 200_000, 1_000_000]))
        cell = draw(st.sampled_from(["9", "x", "铜", ","]))
        case.note(f"{size}-char run of {cell!r} at {at}", blurs=True)
        return text[:at] + cell * size + text[at:]
    if how == "blank":
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines)))
        case.note(f"blank lines at line {i}", blurs=True)
        return "\n".join([*lines[:i], "", "  ", *lines[i:]])
    return text


BYTE_STEPS = ("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "latin-1", "big5",
              "bom+gbk", "flip", "cut", "nul")  # fmt: skip


def to_bytes(draw: st.DrawFn, case: Case, text: str) -> bytes:
    """Encode, rightly or wrongly, and maybe damage the bytes."""
    how = draw(st.sampled_from(BYTE_STEPS))
    if how in ("utf-16", "utf-16-le"):
        case.note(how, invalid=True)  # ASCII commas become NUL-padded: not a CSV
        return text.encode(how)
    if how in ("latin-1", "big5"):
        case.note(how, blurs=True)
        return text.encode(how, errors="replace")
    if how == "bom+gbk":
        case.note("UTF-8 BOM on GBK bytes", blurs=True)
        return b"\xef\xbb\xbf" + text.encode("gbk", errors="replace")
    data = text.encode("utf-8" if how in ("flip", "cut", "nul") else how, errors="replace")
    if how in ("utf-8", "utf-8-sig", "gbk", "gb18030") or not data:
        case.note(how)
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "flip":
        byte = draw(st.integers(0, 255))
        case.note(f"byte {at} -> 0x{byte:02x}", blurs=True)
        return data[:at] + bytes([byte]) + data[at + 1 :]
    if how == "nul":
        case.note(f"NUL at byte {at}", blurs=True)
        return data[:at] + b"\x00" + data[at:]
    case.note(f"bytes cut at {at}/{len(data)}", blurs=True)
    return data[:at]


@st.composite
def broken_files(draw: st.DrawFn) -> tuple[Case, bytes, list[Bar]]:
    table, bars = draw(valid_files())
    case = Case(table)
    chosen = draw(st.lists(st.sampled_from(CELL_MUTATIONS), max_size=3))
    # what removes rows, columns or cells first, so it cannot undo a later breaking step
    for mutation in sorted(chosen, key=lambda m: m not in (drop_row, drop_column, ragged_row)):
        if case.table.header and case.table.rows:
            mutation(draw, case)
    text = _text_of(case.table, draw(st.sampled_from(["\n", "\r\n"])))
    if draw(st.booleans()):
        text = mutate_text(draw, case, text)
    return case, to_bytes(draw, case, text), bars


# -- the property ---------------------------------------------------------------------------------
@FEWER
@given(valid_files(), st.sampled_from(ENCODINGS), st.sampled_from(["\n", "\r\n"]))
def test_import_of_every_valid_layout_stores_the_file(
    pool: StorePool, file: tuple[VendorTable, list[Bar]], encoding: str, newline: str
) -> None:
    table, bars = file
    error, stored = import_outcome(pool, table.file_name, table.text(newline).encode(encoding))
    assert error is None, f"a valid {table.layout} file was refused: {error}"
    got = stored.filter(pl.col("date") >= SESSIONS[0]).select("ticker", "date", "close", "volume")
    want = pl.DataFrame(
        [(b.ticker, b.date, b.close / 100, b.volume) for b in bars],
        schema=got.schema,
        orient="row",
    ).sort("ticker", "date")
    assert got.equals(want)


@FUZZ
@given(broken_files())
def test_broken_files_are_refused_cleanly_or_stored_valid(
    pool: StorePool, file: tuple[Case, bytes, list[Bar]]
) -> None:
    case, data, _ = file
    error, _ = import_outcome(pool, case.table.file_name, data)
    event("refused" if error else "stored")  # counted by --hypothesis-show-statistics
    if case.invalid:
        event("certainly invalid")
        assert error is not None, f"accepted an invalid file: {case.steps}"


@FUZZ
@given(st.sampled_from(sorted(LAYOUTS)), st.text(max_size=500))
def test_arbitrary_text_under_a_valid_header(pool: StorePool, layout: str, body: str) -> None:
    table = render(walk("600362.SH", 0, 1, [(0, 0, 0, 1)]), layout)
    head = "\n".join([*table.banner, ",".join(table.header)]) + "\n"
    error, _ = import_outcome(pool, table.file_name, (head + body).encode("utf-8", "surrogatepass"))
    event("refused" if error else "stored")


# -- the command line -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_db(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the template the CLI tests share (a refused import leaves it as it was)."""
    db = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    shutil.copyfile(template, db)
    yield db
    cli.STATE.db = None  # the in-process runs set the global option


@settings(FEWER, suppress_health_check=[*FUZZ.suppress_health_check, FUNCTION_SCOPED])
@given(broken_files())
def test_cli_reports_broken_files_in_one_line(
    cli_db: Path, capsys: pytest.CaptureFixture[str], file: tuple[Case, bytes, list[Bar]]
) -> None:
    """In process (fast, many examples): exit 1 and one `error:` line for every refused file."""
    case, data, _ = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / case.table.file_name
        path.write_bytes(data)
        capsys.readouterr()
        try:
            code = cli.run(lambda: cli.app(["--db", str(cli_db), "ingest", "csv", str(path)]))
        except BaseException as exc:
            crash_or_error(exc)
            raise
        err = capsys.readouterr().err
    event(f"exit {code}")
    if code == 0:
        assert not case.invalid, case.steps
        return
    assert code == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1, err


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(broken_files())
def test_cli_subprocess_has_no_traceback(cli_db: Path, file: tuple[Case, bytes, list[Bar]]) -> None:
    """A handful of refused files through `python -m screener` (a process each: slow)."""
    case, data, _ = file
    assume(case.invalid)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / case.table.file_name
        path.write_bytes(data)
        done = run_cli("--db", str(cli_db), "ingest", "csv", str(path))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, (case.steps, done.stderr)
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
