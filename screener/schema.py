"""Table and column contracts shared by the store, importers and stages.

Each table is a ``Table``: ordered columns with polars dtypes and a natural key. The store's
migrations create exactly these columns (a test checks it); importers validate frames against
them before anything is written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from screener.errors import InputError


@dataclass(frozen=True)
class Table:
    """A stored table: ``columns`` maps name to polars dtype; ``key`` is the natural key.

    Market-data tables (bars, index, series) also store ``LINEAGE`` columns after ``columns``:
    which cells an import supplied and which import last set the row (``ingest/merge.py``).
    ``derived`` names the value columns the store computes rather than takes from an import.
    """

    name: str
    columns: dict[str, pl.DataType]
    key: tuple[str, ...]
    lineage: bool = False
    derived: tuple[str, ...] = ()

    @property
    def value_columns(self) -> list[str]:
        return [c for c in self.columns if c not in self.key]

    @property
    def given_columns(self) -> list[str]:
        """Columns an import can supply, in bit order of the ``given`` mask."""
        return [c for c in self.value_columns if c not in self.derived]

    def bit(self, column: str) -> int:
        """The ``given`` bit of one of ``given_columns``."""
        return 1 << self.given_columns.index(column)

    def given_expr(self, present: Collection[str]) -> pl.Expr:
        """``given`` for rows with the columns ``present``: a bit per non-null supplied cell."""
        parts = [
            pl.when(pl.col(c).is_not_null()).then(pl.lit(self.bit(c))).otherwise(0)
            for c in self.given_columns
            if c in present
        ]
        return pl.sum_horizontal(parts).cast(pl.Int32) if parts else pl.lit(0, pl.Int32)

    @property
    def stored_columns(self) -> dict[str, pl.DataType]:
        return {**self.columns, **LINEAGE} if self.lineage else dict(self.columns)

    def conform(self, frame: pl.DataFrame, *, source: str = "<frame>") -> pl.DataFrame:
        """Select and cast ``frame`` to this table's columns; missing optional columns are null.

        Raises InputError when a key column is missing or null, or a value cannot be cast.
        """
        missing_keys = [k for k in self.key if k not in frame.columns]
        if missing_keys:
            raise InputError(f"missing key column(s) {missing_keys} for {self.name}", path=source)
        exprs = []
        for name, dtype in self.columns.items():
            if name in frame.columns:
                exprs.append(pl.col(name).cast(dtype, strict=True))
            else:
                exprs.append(pl.lit(None, dtype=dtype).alias(name))
        try:
            out = frame.select(exprs)
        except pl.exceptions.PolarsError as exc:
            raise InputError(
                f"cannot convert columns to {self.name} types: {exc}", path=source
            ) from None
        for k in self.key:
            nulls = out.get_column(k).null_count()
            if nulls:
                raise InputError(f"{nulls} row(s) with empty key", path=source, field=k)
        return out


D = pl.Date()
F = pl.Float64()
I = pl.Int64()  # noqa: E741 - short dtype aliases keep the table definitions readable
S = pl.String()
B = pl.Boolean()
TS = pl.Datetime("us")

# Lineage of a market-data row. ``given``: bit i set when the i-th of the table's
# ``given_columns`` holds a value an import supplied (clear: derived by the store, or empty).
# ``import_id``: the import (table ``imports``) that last supplied a value of the row.
LINEAGE: dict[str, pl.DataType] = {"given": pl.Int32(), "import_id": pl.Int64()}

INSTRUMENTS = Table(
    "instruments",
    {
        "ticker": S,  # 600362.SH, 000630.SZ, 688xxx.SH, 8xxxxx.BJ, 01378.HK
        "name": S,
        "aliases": pl.List(S),  # former names and traditional-character forms
        "exchange": S,  # SSE, SZSE, BSE, HKEX
        "board": S,  # main, chinext, star, bse, hk
        "sw_l1": S,  # 801050.SI for Shenwan nonferrous; null for other industries
        "sw_l2": S,  # 801051.SI .. 801056.SI
        "metals": pl.List(S),  # copper, aluminium, gold, ... (links to commodity series)
        "list_date": D,
        "delist_date": D,
        "note": S,  # e.g. "HK-listed only", "non-metal name in a broker note"
    },
    ("ticker",),
)

BARS_DAILY = Table(
    "bars_daily",
    {
        "ticker": S,
        "date": D,
        "open": F,  # raw (unadjusted) prices in CNY
        "high": F,
        "low": F,
        "close": F,
        "prev_close": F,  # exchange 前收盘价: ex-rights reference price on ex-dates
        "volume": I,  # shares
        "amount": F,  # CNY
        "adj_factor": F,  # back-adjustment (后复权) factor: adjusted = raw * adj_factor
        "suspended": B,
        "up_limit": F,  # official limit prices; null when no limit applies
        "down_limit": F,
        "is_st": B,
    },
    ("ticker", "date"),
    lineage=True,
    # recomputed over each ticker's merged history: prev_close only where no import gave it
    derived=("adj_factor", "suspended"),
)

INDEX_DAILY = Table(
    "index_daily",
    {
        "index_code": S,  # 801050.SI, 000300.SH
        "date": D,
        "open": F,
        "high": F,
        "low": F,
        "close": F,
        "volume": F,
        "amount": F,
    },
    ("index_code", "date"),
    lineage=True,
)

SERIES_DAILY = Table(
    "series_daily",
    {
        "series_id": S,  # SHFE.CU, LME.CU.CASH, COMEX.GC, GFEX.LC, SMM.NDPR, FX.USDCNY
        "date": D,  # the venue's own trading date
        "open": F,
        "high": F,
        "low": F,
        "close": F,
        "settle": F,
        "volume": F,
        "open_interest": F,
        "unit": S,  # CNY/t, USD/oz, ...
        "currency": S,
    },
    ("series_id", "date"),
    lineage=True,
)

BROKER_NOTES = Table(
    "broker_notes",
    {
        "note_id": S,  # sha256 of the article text: importing twice changes nothing
        "source": S,  # file it came from
        "broker": S,
        "report_date": D,
        "title": S,
        "body": S,
        "imported_at": TS,
        "file_kind": S,  # what the file was: text, pdf, html
        "file_sha256": S,  # of the file's bytes (a PDF's, not its extracted text's)
    },
    ("note_id",),
)

BROKER_PICKS = Table(
    "broker_picks",
    {
        "note_id": S,
        "seq": I,  # order within the note
        "broker": S,
        "report_date": D,  # a pick is known from this date on, never before
        "title": S,
        "metal": S,
        "name_as_written": S,
        "ticker": S,  # null when unresolved
        "board": S,
        "rating": S,
        "status": S,  # resolved, hk_only, unresolved, ambiguous
        "span": S,  # the text the pick came from
    },
    ("note_id", "seq"),
)

RUNS = Table(
    "runs",
    {
        "run_id": S,
        "kind": S,  # backtest, sweep, screen
        "created_at": TS,
        "thesis_path": S,
        "thesis_hash": S,
        "params": S,  # JSON
        "data_start": D,
        "data_end": D,
        "code_version": S,
        "metrics": S,  # JSON
        "payload": pl.Binary(),  # parquet bytes of the result frames, for reports
    },
    ("run_id",),
)

OUTBOX = Table(
    "outbox",
    {
        "screen_date": D,  # one message per (screen_date, recipient), however often the job runs
        "recipient": S,
        "subject": S,
        "message": pl.Binary(),  # the complete RFC 5322 bytes, as it will be sent
        "status": S,  # queued, sent
        "attempts": I,
        "last_error": S,
        "next_attempt_at": TS,  # back-off: not retried before this time
        "created_at": TS,
        "sent_at": TS,
    },
    ("screen_date", "recipient"),
)

SWEEP_RESULTS = Table(
    "sweep_results",
    {
        # one finished configuration of a sweep, kept until the sweep finishes so that an
        # interrupted sweep resumes without recomputing it (screener.thesis.cluster.Checkpoint)
        "config_key": S,  # sha256 of what the result depends on: thesis, parameters, data, code
        "sweep_key": S,  # the sweep that computed it: its rows go when that sweep finishes
        "created_at": TS,
        "thesis_hash": S,
        "params": S,  # JSON
        "data_start": D,
        "data_end": D,
        "code_version": S,
        "metrics": S,  # JSON: the sweep table's metrics (floats round-trip exactly)
        "equity": pl.Binary(),  # the equity value per session, little-endian float64
    },
    ("config_key",),
)

META = Table("meta", {"key": S, "value": S}, ("key",))

IMPORTS = Table(
    "imports",
    {
        "import_id": I,
        "started_at": TS,
        "finished_at": TS,
        "origin": S,  # file, akshare, demo
        "source": S,  # file path (or the fetch) the rows came from
        "content_hash": S,  # sha256 of the file's bytes (files only)
        "kind": S,  # bars, index, series
        "format": S,  # the layout detected
        "policy": S,  # conflicts: refuse, new, stored
        "rows_read": I,
        "rows_new": I,
        "rows_updated": I,  # an imported value filled or replaced a stored one
        "rows_unchanged": I,
        "rows_conflicting": I,  # a value differed from one another import supplied
        "rows_quarantined": I,  # refused by validation, written to the quarantine file
        "rows_rederived": I,  # only derived values (prev_close, adj_factor) moved
        "note": S,
    },
    ("import_id",),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        INSTRUMENTS,
        BARS_DAILY,
        INDEX_DAILY,
        SERIES_DAILY,
        BROKER_NOTES,
        BROKER_PICKS,
        RUNS,
        OUTBOX,
        SWEEP_RESULTS,
        META,
        IMPORTS,
    )
}

# Tables whose rows are dated; `store info` reports their date range from this column.
DATE_COLUMN: dict[str, str] = {
    "bars_daily": "date",
    "index_daily": "date",
    "series_daily": "date",
    "broker_notes": "report_date",
    "broker_picks": "report_date",
    "runs": "created_at",
    "outbox": "screen_date",
    "sweep_results": "created_at",
    "imports": "started_at",
}

SECTOR_INDEX = "801050.SI"  # Shenwan 有色金属 L1
MARKET_INDEX = "000300.SH"  # CSI 300
SW_L2 = {
    "801051.SI": "金属新材料",
    "801053.SI": "贵金属",
    "801054.SI": "小金属",
    "801055.SI": "工业金属",
    "801056.SI": "能源金属",
}
