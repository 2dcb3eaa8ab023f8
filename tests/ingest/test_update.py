"""``screener update``: the demo store regrows; a live store gets akshare's new rows, chained.

The live side runs the real akshare client code on recorded frames (tests/fixtures/akshare)
through stand-in fetch functions that take akshare's keywords.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from screener.errors import DataUnavailableError, InputError
from screener.ingest import akshare as ak
from screener.ingest.update import Live, update_store
from screener.store import Store
from tests.ingest.test_akshare import frame
from tests.sample_markets import copper_store

D = dt.date.fromisoformat


def test_a_demo_store_regrows_without_touching_its_history(tmp_path: Path) -> None:
    with copper_store(tmp_path, D("2026-01-30")) as store:
        held = store.read_table("bars_daily").height
        report = update_store(store, until=D("2026-02-13"))
        grown = store.read_table("bars_daily")
    (tmp_path / "direct").mkdir()
    with copper_store(tmp_path / "direct", D("2026-02-13")) as direct:
        assert grown.equals(direct.read_table("bars_daily"))
    bars = report.results["bars_daily"]
    assert (bars.updated, bars.unchanged) == (0, held)  # the history is left as it was
    assert bars.new == grown.height - held > 0
    assert grown["date"].max() == D("2026-02-13")


def stock(**kwargs: Any) -> Any:
    """stock_zh_a_hist from the recordings, between the dates asked for, with no bar on 06-04
    (the source does not list a suspended day)."""
    name = "hfq" if kwargs["adjust"] == "hfq" else "raw"
    rows = frame(f"stock_zh_a_hist_600000_{name}.csv")
    day = rows["日期"].str.replace("-", "", regex=False)
    keep = (day >= kwargs["start_date"]) & (day <= kwargs["end_date"]) & (day != "20240604")
    return rows[keep.to_numpy()]


def index(**_: Any) -> Any:
    return frame("index_hist_sw_801050.csv")


def futures(**_: Any) -> Any:
    return frame("futures_zh_daily_sina_CU0.csv")


LIVE = Live(stock=stock, index=index, futures=futures)


@pytest.fixture
def live_store(tmp_path: Path) -> Store:
    """600000.SH traded on 06-03 and suspended on 06-04 (its factor based at half akshare's),
    801050.SI and SHFE.CU to 06-03, and an LME series akshare does not carry."""
    bars = ak.map_stock_bars(
        frame("stock_zh_a_hist_600000_raw.csv"),
        frame("stock_zh_a_hist_600000_hfq.csv"),
        ticker="600000.SH",
    ).head(2)
    bars = bars.with_columns(
        pl.col("adj_factor") / 2,
        suspended=pl.Series([False, True]),
        close=pl.Series([10.0, 10.0]),  # a suspension bar carries the last close
    )
    instruments = pl.DataFrame(
        {
            "ticker": ["600000.SH"],
            "name": ["浦发银行"],
            "aliases": [[]],
            "exchange": "SSE",
            "board": "main",
            "metals": [[]],
            "list_date": D("1999-11-10"),
        }
    )
    lme = pl.DataFrame({"series_id": "LME.CU.CASH", "date": [D("2024-06-03")], "close": [9800.0]})
    store = Store(tmp_path / "live.duckdb")
    with store.transaction():
        store.upsert("instruments", instruments)
        store.upsert("bars_daily", bars)
        store.upsert("index_daily", ak.map_sw_index(index()).head(1))
        store.upsert("series_daily", ak.map_futures(futures(), series_id="SHFE.CU").head(1))
        store.upsert("series_daily", lme)
    return store


def test_a_live_store_gets_the_new_rows_chained_to_what_it_holds(live_store: Store) -> None:
    with live_store as store:
        report = update_store(store, until=D("2024-06-07"), live=LIVE)
        bars = store.read_table("bars_daily").sort("date")
        assert store.read_table("index_daily").height == 3
        series = store.read_table("series_daily")
    assert bars["date"].to_list() == [D(f"2024-06-0{d}") for d in range(3, 8)]
    new = bars.filter(pl.col("date") > D("2024-06-04"))
    assert new["prev_close"].to_list() == [9.7, 9.9, 10.89]  # from 涨跌额, ex-rights on 06-05
    # the factor continues the stored one (1.0 on the 06-04 suspension bar, close 10.0) with
    # the ex-rights step close[t-1] / prev_close[t] of each new bar: 10.0 / 9.7 on 06-05 only
    assert new["adj_factor"].to_list() == pytest.approx([10.0 / 9.7] * 3)
    assert series.filter(pl.col("series_id") == "SHFE.CU").height == 3
    assert report.results["bars_daily"].new == 3
    assert report.not_updated == ("LME.CU.CASH: no akshare source for this series",)
    assert report.lines()[0] == "up to 2024-06-07 from akshare"


def test_a_close_that_disagrees_with_the_store_stops_everything(live_store: Store) -> None:
    def adjusted(**kwargs: Any) -> Any:
        rows = stock(**kwargs)
        for column in ("开盘", "收盘", "最高", "最低"):
            rows[column] = rows[column] * 2  # another price basis
        return rows

    with live_store as store:
        before = store.info()["tables"]
        with pytest.raises(InputError) as err:
            update_store(store, until=D("2024-06-07"), live=Live(adjusted, index, futures))
        assert store.info()["tables"] == before
    assert "close of 600000.SH on 2024-06-03 is 20, the store holds 10" in str(err.value)
    assert err.value.field == "close"


def test_an_unreachable_source_leaves_the_store_unchanged(live_store: Store) -> None:
    def offline(**_: Any) -> Any:
        raise ConnectionError("[Errno 101] Network is unreachable")

    with live_store as store:
        before = store.info()["tables"]
        with pytest.raises(DataUnavailableError, match="cannot reach the akshare data source"):
            update_store(store, until=D("2024-06-07"), live=Live(stock, index, offline))
        assert store.info()["tables"] == before


def test_nothing_to_do_when_the_store_is_current(live_store: Store) -> None:
    with live_store as store:
        report = update_store(store, until=D("2024-06-03"), live=LIVE)
    assert report.results == {} and report.not_updated == ()
