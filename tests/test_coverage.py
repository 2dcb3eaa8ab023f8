"""store check's numbers: spans, gaps, missing sessions, metal series, names lacking data, the
next imports; on a hand-made store, past the holiday table, and on the real data."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from conftest import require_realdata
from report.rendering import plain_text

from screener import calendar, metals, rules
from screener.coverage import GAP_DAYS, check_coverage
from screener.ingest.master import ensure_master
from screener.instruments import load_master
from screener.report.coverage_view import render_coverage
from screener.schema import SECTOR_INDEX
from screener.store import Store

D = dt.date.fromisoformat
DAYS = calendar.sessions(D("2026-01-05"), D("2026-03-31"))
HOLE = [d for d in DAYS if D("2026-02-02") <= d <= D("2026-02-27")]  # 600362.SH: no bars
LOST = D("2026-03-10")  # no bar at all


def bars(ticker: str, days: list[dt.date], *, amount: float | None = 1e7) -> pl.DataFrame:
    n = len(days)
    return pl.DataFrame(
        {"ticker": [ticker] * n, "date": days, "close": [10.0] * n, "volume": [1000] * n,
         "amount": [amount] * n, "adj_factor": [1.0] * n, "suspended": [False] * n}
    )  # fmt: skip


def dated(key: str, code: str, days: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame({key: [code] * len(days), "date": days, "close": [1.0] * len(days)})


@pytest.fixture
def filled(store: Store) -> Store:
    """Copper with a hole, aluminium with 5 bars lacking amount, a ticker the master lacks."""
    days = [d for d in DAYS if d != LOST]
    ensure_master(store)
    store.upsert("bars_daily", bars("600362.SH", [d for d in days if d not in HOLE]))
    store.upsert(
        "bars_daily",
        pl.concat([bars("000807.SZ", days[:-5]), bars("000807.SZ", days[-5:], amount=None)]),
    )
    store.upsert("bars_daily", bars("601999.SH", days))
    store.upsert("series_daily", dated("series_id", "SHFE.CU", days))
    store.upsert("index_daily", dated("index_code", SECTOR_INDEX, days))
    return store


def test_tables_spans_gaps_and_missing_sessions(filled: Store) -> None:
    cov = check_coverage(filled)
    b = cov.table("bars_daily")
    assert (b.rows, b.keys) == (3 * (len(DAYS) - 1) - len(HOLE), 3)
    assert (b.first, b.last) == (DAYS[0], DAYS[-1])
    before, after = max(d for d in DAYS if d < HOLE[0]), min(d for d in DAYS if d > HOLE[-1])
    assert b.gaps.rows() == [("600362.SH", before, after, (after - before).days)]
    assert (after - before).days > GAP_DAYS
    assert b.checked == (DAYS[0], DAYS[-1]) and b.missing_sessions == (LOST,)
    assert cov.table("index_daily").missing_sessions == (LOST,)
    series = cov.table("series_daily")
    assert series.checked is None and series.missing_sessions == () and series.keys == 1


def test_metals_names_and_amount(filled: Store) -> None:
    cov = check_coverage(filled)
    copper = cov.metals.filter(pl.col("series_id") == "SHFE.CU").row(0, named=True)
    assert copper["rows"] == len(DAYS) - 1 and copper["names"] == 1
    assert cov.metals.filter(pl.col("series_id") == "SHFE.AL")["rows"].to_list() == [None]
    assert cov.without_series.select("ticker", "metal").rows() == [("000807.SZ", "aluminium")]
    assert cov.without_series["reason"][0].startswith("none of SHFE.AL")
    assert cov.not_in_master["ticker"].to_list() == ["601999.SH"]
    assert cov.no_amount.rows() == [("000807.SZ", len(DAYS) - 1, 5)]
    a_shares = load_master().filter(pl.col("board").is_in(rules.BOARDS)).height
    assert cov.without_bars.height == a_shares - 2
    assert "600362.SH" not in cov.without_bars["ticker"].to_list()


def test_what_to_import_next_names_the_commands(filled: Store) -> None:
    steps = check_coverage(filled).next_steps
    commands = [s.command for s in steps]
    assert commands[0] == "screener ingest csv|parquet <file> --kind index"  # no 000300.SH
    assert steps[0].why.startswith("no 000300.SH")
    assert "screener ingest csv|parquet <file> --kind series --ticker SHFE.AL" in commands
    whys = " | ".join(s.why for s in steps)
    assert "1 aluminium name(s) have no metal series" in whys
    assert "5 bar(s) of 1 ticker(s) have no amount" in whys
    assert f"the bars miss 1 XSHG session(s), e.g. {LOST}" in whys
    assert "1 ticker(s) with bars are not in the instrument master" in whys
    text = plain_text(render_coverage(check_coverage(filled)), width=240)
    assert "what to import next:" in text and "--ticker SHFE.AL" in text
    assert f"1 in {DAYS[0]} .. {DAYS[-1]}: {LOST}" in text


def test_an_empty_store_says_init_first(store: Store) -> None:
    cov = check_coverage(store)
    assert [s.command for s in cov.next_steps][:2] == [
        "screener store init",
        "screener ingest csv|parquet <file>... --kind bars",
    ]
    assert cov.table("bars_daily").checked is None and cov.to_json()["master_rows"] == 0


def test_past_the_holiday_table_nothing_crashes_or_warns(store: Store) -> None:
    end = calendar.calendar_end()
    days = [*calendar.sessions(end - dt.timedelta(days=10), end), end + dt.timedelta(days=4)]
    store.upsert("bars_daily", bars("600362.SH", days))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cov = check_coverage(store)
    b = cov.table("bars_daily")
    assert b.checked == (days[0], end) and b.last == days[-1] and b.missing_sessions == ()


def test_a_metal_with_fallback_series(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = {**metals.METAL_SERIES, "aluminium": ("SHFE.AL", "LME.AL.CASH")}
    monkeypatch.setattr(metals, "METAL_SERIES", chain)
    filled.upsert("series_daily", dated("series_id", "LME.AL.CASH", DAYS[:3]))
    cov = check_coverage(filled)
    alu = cov.metals.filter(pl.col("metal") == "aluminium")
    assert alu.select("preference", "series_id", "rows").rows() == [
        (1, "SHFE.AL", None),
        (2, "LME.AL.CASH", 3),
    ]
    assert cov.without_series.height == 0


def test_json_is_plain_values(filled: Store) -> None:
    import json

    out = json.loads(json.dumps(check_coverage(filled).to_json()))
    bars_json = out["tables"][0]
    assert bars_json["table"] == "bars_daily" and bars_json["missing_sessions"] == [str(LOST)]
    assert out["no_amount"] == {
        "rows": 5,
        "tickers": [{"ticker": "000807.SZ", "rows": len(DAYS) - 1, "no_amount": 5}],
    }
    assert out["next"][0]["command"].startswith("screener ingest")


# -- real data -----------------------------------------------------------------------------------
REAL_TICKERS = ["000007.SZ", "000630.SZ", "000693.SZ", "000807.SZ", "600362.SH", "601600.SH"]


def real_bars(tickers: list[str] | None) -> pl.DataFrame:
    """Ganlei bars with the columns the store wants: adj_factor chained from prev_close."""
    stocks = pl.read_parquet(require_realdata() / "stocks_daily.parquet")
    if tickers is not None:
        stocks = stocks.filter(pl.col("ticker").is_in(tickers))
    step = (pl.col("close").shift(1) / pl.col("prev_close")).fill_null(1.0)
    return stocks.sort("ticker", "date").with_columns(
        adj_factor=step.cum_prod().over("ticker"), suspended=pl.lit(False)
    )


@pytest.fixture(scope="module")
def real(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Store, pl.DataFrame, pl.DataFrame]]:
    """A few real tickers (000693.SZ without amount from 2015), 801050.SI and SHFE.CU."""
    root = require_realdata()
    stocks = real_bars(REAL_TICKERS).with_columns(
        amount=pl.when((pl.col("ticker") == "000693.SZ") & (pl.col("date") >= D("2015-01-01")))
        .then(None)
        .otherwise("amount")
    )
    index = pl.read_parquet(root / "indices_daily.parquet").filter(
        pl.col("index_code") == SECTOR_INDEX
    )
    series = pl.read_parquet(root / "commodities_daily.parquet").filter(
        pl.col("series_id") == "SHFE.CU"
    )
    with Store(tmp_path_factory.mktemp("real") / "real.duckdb") as store:
        ensure_master(store)
        store.upsert("bars_daily", stocks)
        store.upsert("index_daily", index)
        store.upsert("series_daily", series)
        yield store, stocks, index


def _gaps(frame: pl.DataFrame, key: str) -> int:
    step = (pl.col("date") - pl.col("date").shift(1).over(key)).dt.total_days()
    return frame.sort(key, "date").filter(step > GAP_DAYS).height


def _missing(dates: pl.Series) -> list[dt.date]:
    lo, hi = max(dates.min(), calendar.FIRST_SESSION), min(dates.max(), calendar.calendar_end())
    have = set(dates.to_list())
    return [d for d in calendar.sessions(lo, hi) if d not in have]


def test_real_store_counts_match_the_parquet(
    real: tuple[Store, pl.DataFrame, pl.DataFrame],
) -> None:
    store, stocks, index = real
    cov = check_coverage(store)
    b = cov.table("bars_daily")
    assert (b.rows, b.keys) == (stocks.height, stocks["ticker"].n_unique())
    assert (b.first, b.last) == (stocks["date"].min(), stocks["date"].max())
    assert b.gaps.height == _gaps(stocks, "ticker") > 0
    assert list(b.missing_sessions) == _missing(stocks["date"])
    i = cov.table("index_daily")
    assert (i.rows, i.first, i.last) == (index.height, index["date"].min(), index["date"].max())
    assert list(i.missing_sessions) == _missing(index["date"]) and i.gaps.height == 0
    lacking = stocks.filter(pl.col("amount").is_null())
    assert int(cov.no_amount["no_amount"].sum()) == lacking.height > 0
    assert cov.no_amount["ticker"].to_list() == ["000693.SZ"]
    master = load_master().filter(pl.col("board").is_in(rules.BOARDS))
    assert cov.without_bars.height == master.height - len(REAL_TICKERS)
    # only SHFE.CU is stored: a name has a metal series when its first metal with series is copper
    tags = master.filter(pl.col("ticker").is_in(REAL_TICKERS)).select("ticker", "metals")
    first = {t: next((m for m in ms if m in metals.METALS), None) for t, ms in tags.iter_rows()}
    assert sorted(cov.without_series["ticker"]) == sorted(
        t for t, m in first.items() if m != "copper"
    )


def test_check_is_fast_on_the_whole_real_set(tmp_path: Path) -> None:
    stocks = real_bars(None)
    assert stocks.height > 500_000
    with Store(tmp_path / "all.duckdb") as store:
        ensure_master(store)
        store.upsert("bars_daily", stocks)
        calendar.calendar_end()  # the holiday table loads once per process (pandas, ~0.4 s)
        start = time.perf_counter()
        cov = check_coverage(store)
        took = time.perf_counter() - start
    assert cov.table("bars_daily").rows == stocks.height and cov.not_in_master.height == 0
    assert took < 1.0, f"store check took {took:.2f} s on {stocks.height:,} bars"
