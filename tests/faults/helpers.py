"""Shared pieces of the fault tests: valid vendor files to break, store fingerprints, the CLI.

``VendorTable`` is a vendor CSV as header + rows of text cells, rendered in one of the layouts
``files.read_vendor_file`` recognises; the fuzz tests break it at the cell, text and byte
level. ``fingerprint`` summarises every table so a failed write can be shown to have changed
nothing; ``StorePool`` hands out copies of a template store; ``bad_bars`` says why stored bars
are not valid.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, settings

from screener import calendar, schema
from screener.errors import ScreenerError
from screener.ingest import files
from screener.store import Store

REPO = Path(__file__).resolve().parents[2]
SCREENER = [sys.executable, "-m", "screener"]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

# Tickers the template store's instrument master knows (code as the file writes it, name).
TICKERS: dict[str, str] = {
    "600362.SH": "江西铜业",
    "000630.SZ": "铜陵有色",
    "300618.SZ": "寒锐钴业",
    "601899.SH": "紫金矿业",
}
SESSIONS: tuple[dt.date, ...] = tuple(calendar.sessions(dt.date(2024, 1, 2), dt.date(2024, 12, 31)))
TEMPLATE_END = dt.date(2023, 12, 29)  # the template's bars end here, the fuzzed files start later


# -- valid bars -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One raw daily bar in fen and shares, so every rendering is exact."""

    ticker: str
    date: dt.date
    open: int
    high: int
    low: int
    close: int
    prev_close: int
    volume: int
    amount: int  # fen


def walk(ticker: str, start: int, n: int, moves: list[tuple[int, int, int, int]]) -> list[Bar]:
    """``n`` consecutive 2024 sessions from ``start``; each move is (close change in basis
    points, open offset bp, wick bp, lots traded); prices stay inside a 10% limit."""
    bars, prev = [], 1000 + 37 * sum(map(ord, ticker)) % 4000  # 10.00 to 50.00 CNY
    for i in range(n):
        change, open_off, wick, lots = moves[i % len(moves)]
        close = max(100, prev + prev * max(-900, min(900, change)) // 10_000)
        opening = max(100, prev + prev * max(-900, min(900, open_off)) // 10_000)
        high = max(opening, close) + max(opening, close) * wick // 10_000
        low = max(1, min(opening, close) - min(opening, close) * wick // 10_000)
        volume = lots * 100  # amount at the close price keeps the VWAP test of the basis at 1
        bars.append(
            Bar(
                ticker, SESSIONS[start + i], opening, high, low, close, prev, volume, volume * close
            )
        )
        prev = close
    return bars


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


# -- rendering ----------------------------------------------------------------------------------
DATE_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "YYYYMMDD": "%Y%m%d", "YYYY/MM/DD": "%Y/%m/%d"}
LAYOUTS: dict[str, list[str]] = {
    "english": ["ticker", "date", "open", "high", "low", "close", "prev_close", "volume", "amount"],
    "english-bare": ["date", "open", "high", "low", "close", "prev_close", "volume", "amount"],
    "xbx": [
        "股票代码",
        "股票名称",
        "交易日期",
        "开盘价",
        "最高价",
        "最低价",
        "收盘价",
        "前收盘价",
        "成交量",
        "成交额",
    ],
    "tushare": [
        "ts_code",
        "trade_date",
        "open",
        "high",
        "low",
        "close",
        "pre_close",
        "change",
        "vol",
        "amount",
    ],
    "cn-ohlc": ["日期", "开盘价", "最高价", "最低价", "收盘价", "成交量", "成交额"],
}
# Header cell -> what it holds (the importer ignores the cells not listed).
CANON = {
    **dict.fromkeys(("ticker", "股票代码", "ts_code"), "ticker"),
    "股票名称": "name",
    **dict.fromkeys(("date", "交易日期", "trade_date", "日期"), "date"),
    **dict.fromkeys(("open", "开盘价"), "open"),
    **dict.fromkeys(("high", "最高价"), "high"),
    **dict.fromkeys(("low", "最低价"), "low"),
    **dict.fromkeys(("close", "收盘价"), "close"),
    **dict.fromkeys(("prev_close", "前收盘价", "pre_close"), "prev_close"),
    **dict.fromkeys(("volume", "vol", "成交量"), "volume"),
    **dict.fromkeys(("amount", "成交额"), "amount"),
}
REQUIRED = frozenset({"ticker", "date", "open", "high", "low", "close", "volume"})


@dataclass(frozen=True)
class VendorTable:
    """A vendor CSV as cells, with where its date and code columns are."""

    layout: str
    header: list[str]
    rows: list[list[str]]
    banner: list[str] = field(default_factory=list)
    file_name: str = "bars.csv"
    date_format: str = "YYYY-MM-DD"

    def text(self, newline: str = "\n") -> str:
        lines = [*self.banner, ",".join(self.header), *(",".join(r) for r in self.rows)]
        return newline.join(lines) + newline

    def column(self, canon: str) -> int | None:
        """Index of the column holding ``canon`` (a CANON value), None when there is none."""
        return next((i for i, h in enumerate(self.header) if CANON.get(h) == canon), None)

    def with_rows(self, rows: list[list[str]]) -> VendorTable:
        return replace(self, rows=rows)


def render(bars: list[Bar], layout: str, date_format: str = "YYYY-MM-DD") -> VendorTable:
    """``bars`` as a file of ``layout`` (one ticker for the layouts without a code column).

    Tushare writes dates as YYYYMMDD, volume in lots and amount in thousand CNY; xbx writes
    codes as sh600362 under a banner line.
    """
    header = LAYOUTS[layout]
    tushare = layout == "tushare"
    fmt = DATE_FORMATS["YYYYMMDD" if tushare else date_format]

    def cell(b: Bar, name: str) -> str:
        what = CANON.get(name, name)
        if what == "ticker":
            return _xbx_code(b.ticker) if layout == "xbx" else b.ticker
        if what in ("open", "high", "low", "close", "prev_close"):
            return yuan(getattr(b, what))
        if what == "volume":
            return str(b.volume // 100 if tushare else b.volume)
        if what == "amount":
            return f"{b.amount / 100_000:.5f}" if tushare else yuan(b.amount)
        return {"name": TICKERS[b.ticker], "date": b.date.strftime(fmt)}.get(what) or yuan(
            b.close - b.prev_close  # Tushare's change
        )

    return VendorTable(
        layout,
        list(header),
        [[cell(b, h) for h in header] for b in bars],
        banner=["数据由邢不行整理，仅供测试"] if layout == "xbx" else [],
        file_name=f"{bars[0].ticker[:6]}.csv"
        if "ticker" not in map(CANON.get, header)
        else "bars.csv",
        date_format="YYYYMMDD" if tushare else date_format,
    )


def _xbx_code(ticker: str) -> str:
    code, ex = ticker.split(".")
    return ex.lower() + code


# -- the store ------------------------------------------------------------------------------------
def build_template(path: Path) -> Path:
    """A store with the instrument master of ``TICKERS``, 2023 bars for them, an index and a
    series, a broker note and a run: every table has rows a failed import must not touch."""
    with Store(path) as store, store.transaction():
        store.upsert(
            "instruments",
            pl.DataFrame(
                {
                    "ticker": list(TICKERS),
                    "name": list(TICKERS.values()),
                    "exchange": ["SSE" if t.endswith("SH") else "SZSE" for t in TICKERS],
                    "board": ["chinext" if t.startswith("30") else "main" for t in TICKERS],
                    "list_date": [dt.date(2010, 1, 4)] * len(TICKERS),
                }
            ),
        )
        days = calendar.sessions(dt.date(2023, 12, 1), TEMPLATE_END)
        rows = []
        for ticker in TICKERS:
            for i, d in enumerate(days):
                close = 10.0 + i / 100
                rows.append(
                    {
                        "ticker": ticker,
                        "date": d,
                        "open": close,
                        "high": close + 0.1,
                        "low": close - 0.1,
                        "close": close,
                        "prev_close": close - 0.01,
                        "volume": 1000 * (i + 1),
                        "amount": 1000 * (i + 1) * close,
                        "adj_factor": 1.0,
                        "suspended": False,
                        "is_st": False,
                    }
                )
        store.upsert("bars_daily", pl.DataFrame(rows))
        store.upsert(
            "index_daily",
            pl.DataFrame({"index_code": ["801050.SI"] * len(days), "date": days, "close": 3000.0}),
        )
        store.upsert(
            "series_daily",
            pl.DataFrame({"series_id": ["SHFE.CU"] * len(days), "date": days, "close": 70000.0}),
        )
        store.upsert(
            "broker_picks",
            pl.DataFrame({"note_id": ["n1"], "seq": [1], "ticker": ["600362.SH"]}),
        )
        store.upsert("runs", pl.DataFrame({"run_id": ["r1"], "kind": ["backtest"]}))
        store.set_meta("data_source", "files")
    return path


def fingerprint(store: Store) -> dict[str, tuple[int, int]]:
    """Row count and the sum of row hashes of every table, to compare a store before and after.

    Order-independent and exact in practice (a 64-bit hash per row); reading every row into
    Python to compare would cost ten times as much.
    """
    sql = " UNION ALL ".join(
        f"SELECT '{name}' AS t, count(*) AS n, coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR AS h "
        f"FROM {name} x"
        for name in schema.TABLES
    )
    return {t: (n, int(h)) for t, n, h in store.query(sql).iter_rows()}


class StorePool:
    """Copies of a template store, reused while a test leaves them as they were.

    ``take`` hands out a store equal to the template; ``spoil`` marks it changed (after an
    import that succeeded), so the next ``take`` copies the template again.
    """

    def __init__(self, template: Path, folder: Path) -> None:
        self.template, self.folder = template, folder
        self.store: Store | None = None
        self.copies = 0

    def take(self) -> Store:
        if self.store is None:
            self.copies += 1
            path = self.folder / f"copy{self.copies}.duckdb"
            shutil.copyfile(self.template, path)
            self.store = Store(path, lock_timeout=1.0)
        return self.store

    def spoil(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store.path.unlink()
            Path(f"{self.store.path}.wal").unlink(missing_ok=True)
            self.store = None

    def close(self) -> None:
        self.spoil()


def crash_or_error(exc: BaseException) -> ScreenerError:
    """The ScreenerError itself; anything else (a polars panic is a BaseException) becomes an
    AssertionError, so hypothesis shrinks it like any failure."""
    if isinstance(exc, ScreenerError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    raise AssertionError(f"crash: {type(exc).__name__}: {str(exc)[:300]}") from exc


def import_outcome(
    pool: StorePool, name: str, data: bytes
) -> tuple[ScreenerError | None, pl.DataFrame]:
    """Import one file into a store equal to the template: (the error or None, stored bars).

    Checks the guarantees that hold either way: a failure names the file and changes no table;
    a success touches no table but bars_daily and imports (its lineage), and leaves only valid
    bars.
    """
    store = pool.take()
    before = fingerprint(store)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            files.import_files(store, [path])
        except BaseException as exc:
            try:
                error = crash_or_error(exc)
                assert fingerprint(store) == before, "a failed import changed the store"
            except BaseException:
                pool.spoil()
                raise
            assert str(path) in str(error), f"the error does not name the file: {error}"
            return error, store.read_bars()
    after, stored = fingerprint(store), store.read_bars()
    pool.spoil()
    changed = sorted(t for t in before if after[t] != before[t])
    assert changed in ([], ["bars_daily", "imports"]), f"the import changed {changed}"
    assert bad_bars(stored) == []
    return None, stored


def valid_parquet() -> bytes:
    """30 bars of 600362.SH as Parquet, the columns typed as our own schema export has them."""
    table = render(walk("600362.SH", 0, 30, [(100, 0, 50, 10)]), "english")
    frame = pl.read_csv(table.text().encode(), infer_schema=False)
    buf = io.BytesIO()
    frame.with_columns(pl.col(c).cast(pl.Float64) for c in frame.columns[2:]).write_parquet(buf)
    return buf.getvalue()


# the importer fault tests' stores (import these fixtures into a test module to use them)
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "template.duckdb")


@pytest.fixture(scope="module")
def pool(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorePool]:
    stores = StorePool(template, tmp_path_factory.mktemp("pool"))
    yield stores
    stores.close()


# hypothesis settings of the fuzz properties: FUZZ_EXAMPLES examples, no deadline
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- invariants of what was stored ----------------------------------------------------------------
def bad_bars(frame: pl.DataFrame) -> list[str]:
    """Why stored bars are not valid daily data (an empty list when they are)."""
    found = []
    floats = [c for c, t in frame.schema.items() if t == pl.Float64]
    for row in frame.iter_rows(named=True):
        where = f"{row['ticker']} {row['date']}"
        for c in floats:
            if row[c] is not None and not math.isfinite(row[c]):
                found.append(f"{where}: {c} = {row[c]}")
        for c in ("open", "high", "low", "close", "prev_close", "adj_factor"):
            if row[c] is not None and not row[c] > 0:
                found.append(f"{where}: {c} = {row[c]} is not positive")
        if None in (row["open"], row["high"], row["low"], row["close"], row["volume"]):
            found.append(f"{where}: empty OHLCV")
        elif (
            not row["low"]
            <= min(row["open"], row["close"])
            <= max(row["open"], row["close"])
            <= row["high"]
        ):
            found.append(f"{where}: OHLC out of order")
        if row["volume"] is not None and row["volume"] < 0:
            found.append(f"{where}: negative volume")
        if row["date"].weekday() >= 5:
            found.append(f"{where}: weekend")
        up, down = row["up_limit"], row["down_limit"]
        if up is not None and down is not None and not 0 <= down <= up:
            found.append(f"{where}: limits {down}..{up}")
    if frame.select(pl.struct("ticker", "date").is_duplicated().any()).item():
        found.append("duplicate (ticker, date)")
    return found


# -- the command line -----------------------------------------------------------------------------
def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    return subprocess.run(
        [*SCREENER, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO
    )


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SCREENER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
