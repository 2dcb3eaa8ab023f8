"""Importers fed Parquet and arbitrary bytes; and what fuzzing found, pinned (each case once
crashed or stored bad data)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re

import helpers
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import FUZZ, SESSIONS, StorePool, import_outcome, valid_parquet
from hypothesis import event, given
from hypothesis import strategies as st

from screener.errors import InputError

# the shared stores, as fixtures of this module (pytest finds fixtures by name here)
pool, template = helpers.pool, helpers.template

VALID_PARQUET = valid_parquet()


def test_valid_parquet_is_stored(pool: StorePool) -> None:
    error, stored = import_outcome(pool, "bars.parquet", VALID_PARQUET)
    assert error is None and stored.filter(pl.col("date") >= SESSIONS[0]).height == 30


@FUZZ
@given(st.integers(0, len(VALID_PARQUET) - 1), st.integers(0, 255), st.booleans())
def test_broken_parquet_is_refused_cleanly(pool: StorePool, at: int, byte: int, cut: bool) -> None:
    data = (
        VALID_PARQUET[:at] if cut else VALID_PARQUET[:at] + bytes([byte]) + VALID_PARQUET[at + 1 :]
    )
    error, _ = import_outcome(pool, "bars.parquet", data)
    event("refused" if error else "stored")


@FUZZ
@given(st.binary(max_size=2000), st.booleans())
def test_arbitrary_bytes_are_an_input_error(pool: StorePool, data: bytes, header: bool) -> None:
    head = b"date,open,high,low,close,volume\n" if header else b""
    error, _ = import_outcome(pool, "600362.csv", head + data)
    event("refused" if error else "stored")
    if not header:
        assert isinstance(error, InputError)


ENGLISH = "date,open,high,low,close,prev_close,volume\n"
FOUND = {
    # a UTF-8 byte-order mark on GBK bytes: UnicodeDecodeError
    "bom_gbk": (
        "600362.csv",
        b"\xef\xbb\xbf"
        + "日期,开盘价,最高价,最低价,收盘价,成交量\n2024-01-02,1,2,1,1.5,100\n".encode("gbk"),
        r"byte-order mark but is not UTF-8",
    ),
    # a 100k-character cell: polars panicked formatting the message about it
    "long_cell": (
        "600362.csv",
        (
            ENGLISH.replace("prev_close,", "")
            + "2024/01/02,1,2,1,1.5,100\n2024/01/0"
            + "铜" * 100_000
            + "3,1,2,1,1.5,100\n2024-01-04,1,2,1,1.5,100\n"
        ).encode(),
        r":3: field 'date': a cell of 100010 characters",
    ),
    # 1e17 CNY: InvalidOperationError casting the limit price to integer fen
    "huge_price": (
        "600362.csv",
        (ENGLISH + "2024-01-02,1,1e17,1,1,1,100\n").encode(),
        r":2: field 'high': 1e\+17 is implausibly large",
    ),
    # a broken prev_close of 2.47e-307: adj_factor = inf stored
    "tiny_prev_close": (
        "600362.csv",
        (
            ENGLISH + "2024-01-02,10,10,10,10,10,100\n2024-01-03,10,10,10,10,2.47e-307,100\n"
        ).encode(),
        r":3: field 'prev_close': prev_close 2.47e-307 is more than 100 times off the previous "
        r"close 10.0",
    ),
    # two columns named close once stripped: DuplicateError
    "close_twice": (
        "600362.csv",
        b"date,open,high,low,close, close,volume\n2024-01-02,1,2,1,1.5,1.6,100\n",
        r":1: column 'close' appears twice in the header",
    ),
    # a column named _line: DuplicateError
    "line_column": (
        "600362.csv",
        b"date,open,high,low,close,volume,_line\n2024-01-02,1,2,1,1.5,100,7\n",
        None,
    ),
    # a polars parse error quoting the file over several lines: a multi-line CLI message
    "stray_quote": (
        "600362.csv",
        b'date,open,high,low,close,volume\n"2024-01-02,1,2,1,1.5,100\n',
        r"not a readable CSV: [^\n]*$",
    ),
    # one row, then two equal copies with another volume: the copies were dropped as repeats
    "conflicting_copies": (
        "600362.csv",
        (ENGLISH + "2024-01-02,1,1,1,1,1,1\n" + "2024-01-02,1,1,1,1,1,0\n" * 2).encode(),
        r":3: field 'date': duplicate \(ticker, date\) 600362.SH 2024-01-02 with different",
    ),
    # a quoted cell spanning two lines: the message quoting it broke the one-line CLI error
    "newline_in_cell": (
        "600362.csv",
        b'date,open,high,low,close,volume\n2024-01-02,1,2,1,"1.5\n2024-01-03",100\n',
        r":2: field 'close': a cell spanning lines: a stray quote",
    ),
    # a stray quote in an ignored column swallowed the next row (a Saturday) without a word
    "swallowed_row": (
        "600362.csv",
        (
            ENGLISH.replace("\n", ",note\n")
            + '2024-01-02,1,1,1,1,1,1,"\n2024-03-09,1,1,1,1,1,1,"\n'
        ).encode(),
        r":2: field 'note': a cell spanning lines",
    ),
    # a Thrift field out of range: polars panicked reading it
    "parquet_thrift": ("bars.parquet", b"", None),
}


@pytest.mark.parametrize("case", sorted(FOUND))
def test_what_the_fuzzing_found(pool: StorePool, case: str) -> None:
    name, data, message = FOUND[case]
    if case == "parquet_thrift":
        data = VALID_PARQUET[:49] + bytes([49]) + VALID_PARQUET[50:]
    error, _ = import_outcome(pool, name, data)
    if message is None:
        return  # either way is right, as long as it is no crash
    assert error is not None, case
    assert re.search(message, str(error)), str(error)[:300]
    assert "\n" not in str(error)


PARQUET_TYPES = {
    # a column type (pyarrow) -> whether the file is stored (True) or refused (False)
    "decimal256": (pa.array([decimal.Decimal("1.5")], type=pa.decimal256(60, 2)), True),  # panic
    "decimal128": (pa.array([decimal.Decimal("1.5")], type=pa.decimal128(10, 2)), True),
    "float16": (pa.array([1.5], type=pa.float16()), True),
    "struct": (pa.array([{"a": 1.5}]), False),  # InvalidOperationError in the range check
    "list": (pa.array([[1.5]]), False),
    "duration": (pa.array([dt.timedelta(days=1)]), False),
    "binary": (pa.array([b"1.5"]), False),
}


@pytest.mark.parametrize("kind", sorted(PARQUET_TYPES))
def test_parquet_close_of_any_column_type(pool: StorePool, kind: str) -> None:
    column, stored = PARQUET_TYPES[kind]
    columns = {"date": ["2024-01-02"], "open": [1.5], "high": [1.5], "low": [1.5]}
    buf = io.BytesIO()
    pq.write_table(pa.table({**columns, "close": column, "volume": [100]}), buf)
    error, _ = import_outcome(pool, "600362.parquet", buf.getvalue())
    assert (error is None) == stored, error


def test_prev_close_far_off_the_stored_close_is_refused(pool: StorePool) -> None:
    """The file's own first bar cannot be checked against its past; the store's can."""
    # the template's 600362.SH closes at 10.2 on 2023-12-29
    text = ENGLISH + "2024-01-02,10,10,10,10,0.05,100\n"
    error, _ = import_outcome(pool, "600362.csv", text.encode())
    assert error is not None and "times off the previous stored close" in str(error), error
