"""akshare live source, offline: the map_* functions on fixture frames with akshare's columns.

The fixture values are made up (tests/fixtures/akshare/*.csv); the column names are those
akshare returns. The fetch functions take ``fetch=`` so the offline failure is injected.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from screener import schema
from screener.errors import DataUnavailableError, InputError
from screener.ingest import akshare as ak

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "akshare"


def frame(name: str) -> Any:
    """A pandas frame as akshare returns it (codes stay text: '801050', not 801050)."""
    table = pl.read_csv(
        FIXTURES / name, schema_overrides={"代码": pl.String, "股票代码": pl.String}
    )
    return table.to_pandas()


def test_stock_bars_map_to_raw_bars_with_hfq_factor_and_limits() -> None:
    bars = ak.map_stock_bars(
        frame("stock_zh_a_hist_600000_raw.csv"),
        frame("stock_zh_a_hist_600000_hfq.csv"),
        ticker="600000.SH",
    )
    assert bars.schema == pl.Schema(schema.BARS_DAILY.columns)
    assert bars["ticker"].unique().to_list() == ["600000.SH"]
    assert bars["volume"].to_list() == [10_000_000, 12_000_000, 9_000_000, 15_000_000, 11_000_000]
    # 2024-06-05 is ex-dividend: close 9.90 with 涨跌额 0.20 -> exchange pre-close 9.70
    assert bars["prev_close"].to_list() == [10.0, 10.0, 9.7, 9.9, 10.89]
    factor = bars["adj_factor"].to_list()
    assert factor[:2] == [2.0, 2.0]
    assert factor[2:] == pytest.approx([20.0 * 10.2 / 9.7 / 10] * 3, abs=1e-3)
    # the ex-date step of the factor is the one prev_close implies
    assert factor[2] / factor[1] == pytest.approx(10.2 / 9.7, abs=1e-3)
    # 9.90 x 1.1 = 10.89: the 2024-06-06 close is the limit-up price
    assert bars["up_limit"].to_list() == [11.0, 11.0, 10.67, 10.89, 11.98]
    assert bars.filter(pl.col("close") == pl.col("up_limit"))["date"].to_list() == [
        dt.date(2024, 6, 6)
    ]
    assert bars["is_st"].null_count() == 5  # no point-in-time name from this source


def test_stock_bars_without_a_matching_hfq_date_are_refused() -> None:
    hfq = frame("stock_zh_a_hist_600000_hfq.csv").iloc[:-1]
    with pytest.raises(InputError, match="no back-adjusted close"):
        ak.map_stock_bars(frame("stock_zh_a_hist_600000_raw.csv"), hfq, ticker="600000.SH")


def test_sw_index_maps_units_to_shares_and_cny() -> None:
    index = ak.map_sw_index(frame("index_hist_sw_801050.csv"))
    assert index.schema == pl.Schema(schema.INDEX_DAILY.columns)
    assert index["index_code"].unique().to_list() == ["801050.SI"]
    assert index["volume"][0] == pytest.approx(5_796_610_000)
    assert index["amount"][0] == pytest.approx(61_466_000_000)
    assert index["close"].to_list() == [4700.5, 4650.25, 4712.8]


def test_sw_index_with_changed_units_is_refused() -> None:
    odd = frame("index_hist_sw_801050.csv")
    odd["成交额"] = odd["成交额"] * 1e6
    with pytest.raises(InputError, match="units"):
        ak.map_sw_index(odd)


def test_futures_map_to_series_with_registry_units_and_null_settle() -> None:
    series = ak.map_futures(frame("futures_zh_daily_sina_CU0.csv"), series_id="SHFE.CU")
    assert series.schema == pl.Schema(schema.SERIES_DAILY.columns)
    assert series["unit"].unique().to_list() == ["CNY/t"]
    assert series["open_interest"].to_list() == [175241.0, 162899.0, 176877.0]
    assert series["settle"].to_list() == [80250.0, 80120.0, None]  # Sina's 0 means none


def test_mapped_rows_are_validated_like_files() -> None:
    bad = frame("futures_zh_daily_sina_CU0.csv")
    bad.loc[1, "high"] = 70000.0  # below the low
    with pytest.raises(InputError) as err:
        ak.map_futures(bad, series_id="SHFE.CU")
    assert "futures_zh_daily_sina SHFE.CU:2: field 'high'" in str(err.value)


def offline(**_: Any) -> Any:
    raise ConnectionError("[Errno 101] Network is unreachable")


@pytest.mark.parametrize(
    "call",
    [
        lambda: ak.fetch_stock_bars("600000.SH", fetch=offline),
        lambda: ak.fetch_sw_index("801050.SI", fetch=offline),
        lambda: ak.fetch_futures("SHFE.CU", fetch=offline),
    ],
)
def test_offline_is_one_clear_sentence(call: Any) -> None:
    with pytest.raises(DataUnavailableError) as err:
        call()
    msg = str(err.value)
    assert "cannot reach the akshare data source" in msg and "network unreachable" in msg
    assert "\n" not in msg and err.value.__cause__ is None


def test_fetch_passes_akshare_its_arguments() -> None:
    calls: list[dict[str, Any]] = []

    def fake(**kwargs: Any) -> Any:
        calls.append(kwargs)
        name = "hfq" if kwargs["adjust"] == "hfq" else "raw"
        return frame(f"stock_zh_a_hist_600000_{name}.csv")

    bars = ak.fetch_stock_bars(
        "sh600000", start=dt.date(2024, 6, 3), end=dt.date(2024, 6, 7), fetch=fake
    )
    assert bars.height == 5
    assert [c["adjust"] for c in calls] == ["", "hfq"]
    assert calls[0] | {"adjust": None} == {
        "symbol": "600000",
        "period": "daily",
        "start_date": "20240603",
        "end_date": "20240607",
        "adjust": None,
    }


def test_empty_answer_and_unknown_series() -> None:
    with pytest.raises(DataUnavailableError, match="no rows"):
        ak.fetch_sw_index("801050.SI", fetch=lambda **_: frame("index_hist_sw_801050.csv")[:0])
    with pytest.raises(InputError, match="no Sina continuous contract"):
        ak.fetch_futures("LME.CU.CASH", fetch=offline)


@pytest.mark.skipif(importlib.util.find_spec("akshare") is not None, reason="akshare installed")
def test_missing_akshare_says_how_to_install_it() -> None:
    with pytest.raises(DataUnavailableError, match=r"pip install 'screener\[live\]'"):
        ak.fetch_sw_index("801050.SI")
