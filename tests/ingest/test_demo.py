"""The demo market: deterministic, prefix-stable, and shaped like an A-share market."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener import metals, rules
from screener.calendar import CalendarEndWarning
from screener.ingest import demo
from screener.ingest.demo_series import driver
from screener.schema import (
    BARS_DAILY,
    INDEX_DAILY,
    INSTRUMENTS,
    MARKET_INDEX,
    SECTOR_INDEX,
    SERIES_DAILY,
    SW_L2,
)
from screener.store import Store

D = dt.date.fromisoformat
END = D("2026-03-31")
WINDOW_END = D("2026-02-06")

# ticker, board, metals, sw_l2 (None: not a nonferrous name), list date, delist date
ROWS = [
    ("601899.SH", "main", ["gold", "copper"], "801055.SI", "2008-04-25", None),
    ("600362.SH", "main", ["copper"], "801055.SI", "2002-01-11", None),
    ("000630.SZ", "main", ["copper"], "801055.SI", "1996-11-20", None),
    ("600547.SH", "main", ["gold"], "801053.SI", "2003-08-28", None),
    ("600111.SH", "main", ["rare_earth"], "801054.SI", "1997-09-24", None),
    ("002460.SZ", "main", ["lithium"], "801056.SI", "2010-08-10", None),
    ("000960.SZ", "main", ["tin"], "801055.SI", "2000-02-21", None),
    ("600432.SH", "main", ["nickel"], "801055.SI", "2003-09-05", "2018-07-11"),
    ("300748.SZ", "chinext", ["magnet"], "801051.SI", "2018-09-21", None),
    ("300618.SZ", "chinext", ["cobalt"], "801056.SI", "2017-03-06", None),
    ("688122.SH", "star", [], "801051.SI", "2019-07-22", None),
    ("920099.BJ", "bse", ["tungsten"], "801054.SI", "2022-06-01", None),
    ("605376.SH", "main", [], None, "2020-12-08", None),
    ("01378.HK", "hk", ["aluminium"], None, "2011-03-24", None),
]


def instruments(rows: list[tuple] = ROWS) -> pl.DataFrame:
    """A hand-made master: every board, several metals, an IPO inside the range, a delisting."""
    return INSTRUMENTS.conform(
        pl.DataFrame(
            {
                "ticker": [r[0] for r in rows],
                "name": [f"demo {r[0]}" for r in rows],
                "board": [r[1] for r in rows],
                "metals": [r[2] for r in rows],
                "sw_l1": [None if r[3] is None else SECTOR_INDEX for r in rows],
                "sw_l2": [r[3] for r in rows],
                "list_date": [D(r[4]) for r in rows],
                "delist_date": [None if r[5] is None else D(r[5]) for r in rows],
            },
            schema_overrides={"metals": pl.List(pl.String)},
        )
    )


@pytest.fixture(scope="module")
def market() -> demo.DemoMarket:
    return demo.generate(instruments(), end=END)


@pytest.fixture(scope="module")
def bars(market: demo.DemoMarket) -> pl.DataFrame:
    """Bars with the board and the previous row's raw close and adjustment factor."""
    boards = market.instruments.select("ticker", "board")
    return (
        market.bars.join(boards, on="ticker")
        .sort("ticker", "date")
        .with_columns(
            last_close=pl.col("close").shift(1).over("ticker"),
            last_adj=pl.col("adj_factor").shift(1).over("ticker"),
        )
    )


def drop_into(frame: pl.DataFrame, day: dt.date, sessions: int = 7) -> float:
    """Return of ``close`` over the ``sessions`` rows ending on ``day`` (one series, by date)."""
    close = frame.sort("date")["close"].to_list()
    at = frame.sort("date")["date"].to_list().index(day)
    return close[at] / close[at - sessions] - 1.0


def test_generate_is_deterministic_and_seeded() -> None:
    start, end = D("2025-09-01"), D("2025-12-31")
    a = demo.generate(instruments(), start=start, end=end)
    b = demo.generate(instruments(), start=start, end=end)
    assert a.bars.equals(b.bars) and a.index.equals(b.index) and a.series.equals(b.series)
    other = demo.generate(instruments(), start=start, end=end, seed=7)
    assert not other.bars.equals(a.bars)


def test_history_does_not_change_when_end_moves() -> None:
    start, e1 = D("2025-06-03"), D("2026-02-24")
    short = demo.generate(instruments(), start=start, end=e1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarEndWarning)  # 2027 is past the holiday table
        long = demo.generate(instruments(), start=start, end=D("2027-01-20"))
    assert long.bars["date"].max() == D("2027-01-20")
    for name in ("bars", "index", "series"):
        old, new = getattr(short, name), getattr(long, name)
        assert old["date"].max() == e1
        assert new.filter(pl.col("date") <= e1).equals(old), name


def test_rows_conform_to_schema_with_unique_keys(market: demo.DemoMarket) -> None:
    for table, frame in (
        (BARS_DAILY, market.bars),
        (INDEX_DAILY, market.index),
        (SERIES_DAILY, market.series),
        (INSTRUMENTS, market.instruments),
    ):
        assert table.conform(frame).equals(frame)
        assert frame.select(table.key).is_duplicated().sum() == 0
    assert "01378.HK" not in market.bars["ticker"].to_list()  # HK listings get no bars


def test_ohlc_volume_and_amount_are_consistent(bars: pl.DataFrame) -> None:
    bad = bars.filter(
        (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("volume") % 100 != 0)
        | ((pl.col("volume") == 0) != pl.col("suspended"))
        | (pl.col("amount") < pl.col("volume") * pl.col("low") - 0.01)
        | (pl.col("amount") > pl.col("volume") * pl.col("high") + 0.01)
    )
    assert bad.height == 0
    cents = pl.col("close") * 100
    assert bars.filter((cents - cents.round(0)).abs() > 1e-6).height == 0


def test_prices_stay_within_limits_and_limits_follow_the_rules(bars: pl.DataFrame) -> None:
    limited = bars.filter(pl.col("up_limit").is_not_null())
    outside = limited.filter(
        (pl.col("high") > pl.col("up_limit")) | (pl.col("low") < pl.col("down_limit"))
    )
    assert outside.height == 0
    # Hand-written board rule, independent of rules.limit_pct: 5% for ST main, 20% ChiNext
    # from 2020-08-24, 20% STAR, 30% BSE, else 10%.
    row = limited.to_dict(as_series=False)
    pct = [
        {"main": 5 if st else 10, "star": 20, "bse": 30}.get(b, 20 if d >= D("2020-08-24") else 10)
        for b, st, d in zip(row["board"], row["is_st"], row["date"], strict=True)
    ]
    up, down = rules.limit_prices(np.array(row["prev_close"]), np.array(pct))
    assert np.array_equal(up, row["up_limit"]) and np.array_equal(down, row["down_limit"])
    # No limit only in the first sessions of a listing inside the range.
    free = bars.filter(pl.col("up_limit").is_null())
    assert free.height and free["ticker"].unique().sort().to_list() == [
        "300618.SZ", "300748.SZ", "605376.SH", "688122.SH", "920099.BJ"
    ]  # fmt: skip
    assert free.filter(pl.col("ticker") == "688122.SH").height == rules.NO_LIMIT_SESSIONS


def test_every_board_has_limit_bars_and_some_are_one_price(bars: pl.DataFrame) -> None:
    at_up = pl.col("close") == pl.col("up_limit")
    at_down = pl.col("close") == pl.col("down_limit")
    for board in rules.BOARDS:
        of_board = bars.filter(pl.col("board") == board)
        assert of_board.filter(at_up).height > 0, board
        assert of_board.filter(at_down).height > 0, board
    flat = (pl.col("open") == pl.col("high")) & (pl.col("low") == pl.col("close"))
    one_price = bars.filter(flat & (pl.col("open") == pl.col("close")) & (at_up | at_down))
    assert one_price.filter(~pl.col("suspended")).height > 0
    assert one_price.filter(at_up & (pl.col("volume") > 0)).height > 0


def test_suspensions_are_multi_day_flat_and_without_volume(bars: pl.DataFrame) -> None:
    susp = bars.filter(pl.col("suspended"))
    assert susp.height > 0
    assert (susp["volume"] == 0).all() and (susp["amount"] == 0).all()
    for col in ("open", "high", "low", "close"):
        assert (susp[col] == susp["prev_close"]).all()
    runs = (
        bars.with_columns(run=(pl.col("suspended") != pl.col("suspended").shift(1)).cum_sum())
        .filter(pl.col("suspended"))
        .group_by("ticker", "run")
        .len()
    )
    assert (runs["len"] >= 3).any()


def test_one_st_spell_on_a_main_board_name_with_5pct_limits(bars: pl.DataFrame) -> None:
    st = bars.filter(pl.col("is_st"))
    assert st["ticker"].n_unique() == 1 and (st["board"] == "main").all()
    assert st.height > 100  # some months
    up, down = rules.limit_prices(st["prev_close"].to_numpy(), np.full(st.height, 5))
    assert np.array_equal(up, st["up_limit"].to_numpy())
    assert np.array_equal(down, st["down_limit"].to_numpy())
    assert st.filter(pl.col("close") == pl.col("down_limit")).height >= 2  # the ST sell-off


def test_delisted_ticker_stops_at_its_delist_date(bars: pl.DataFrame) -> None:
    gone = bars.filter(pl.col("ticker") == "600432.SH")
    assert gone["date"].max() == D("2018-07-11")


def test_a_delisting_is_made_up_when_the_master_has_none() -> None:
    rows = [r for r in ROWS if r[5] is None]
    m = demo.generate(instruments(rows), start=D("2019-06-03"), end=D("2021-06-30"))
    delisted = m.instruments.filter(pl.col("delist_date").is_not_null())
    assert delisted.height == 1 and delisted["board"][0] == "main"
    ticker, when = delisted["ticker"][0], delisted["delist_date"][0]
    assert m.bars.filter(pl.col("ticker") == ticker)["date"].max() == when
    assert "demo delisting" in delisted["note"][0]


def test_ex_dates_step_adj_factor_without_jumps_in_adjusted_prices(bars: pl.DataFrame) -> None:
    seen = bars.filter(pl.col("last_close").is_not_null())
    ex = seen.filter(pl.col("prev_close") != pl.col("last_close"))
    plain = seen.filter(pl.col("prev_close") == pl.col("last_close"))
    assert ex.height >= 10
    assert (ex["prev_close"] < ex["last_close"]).all()  # cash and bonus lower the reference
    assert (ex["prev_close"] < ex["last_close"] / 1.15).any()  # bonus shares (10送转2 or more)
    assert (plain["adj_factor"] == plain["last_adj"]).all()
    step = ex["adj_factor"] / ex["last_adj"]
    assert np.allclose(step, ex["last_close"] / ex["prev_close"], rtol=1e-12)
    adj_ret = seen["close"] * seen["adj_factor"] / (seen["last_close"] * seen["last_adj"])
    assert np.allclose(adj_ret, seen["close"] / seen["prev_close"], rtol=1e-12)
    first = bars.group_by("ticker").agg(pl.col("adj_factor").first())
    assert (first["adj_factor"] == 1.0).all()


def test_sector_sell_off_while_metals_hold_then_rebound(market: demo.DemoMarket) -> None:
    sector = market.index.filter(pl.col("index_code") == SECTOR_INDEX)
    assert -0.17 <= drop_into(sector, WINDOW_END) <= -0.13
    assert drop_into(sector, D("2026-02-13"), 5) > 0.02  # a partial rebound
    for sid in ("SHFE.CU", "SHFE.AL", "SHFE.SN", "SMM.NDPR", "GFEX.LC"):
        assert drop_into(market.series.filter(pl.col("series_id") == sid), WINDOW_END) > -0.05
    assert drop_into(market.series.filter(pl.col("series_id") == "SHFE.AG"), WINDOW_END) < -0.1
    # Some names fall far harder than their (holding) metal: what a divergence screen finds.
    misses = []
    for ticker, tags in market.instruments.select("ticker", "metals").iter_rows():
        series_id = driver(tags)
        if series_id is None or ticker not in market.bars["ticker"].to_list():
            continue
        metal = drop_into(market.series.filter(pl.col("series_id") == series_id), WINDOW_END)
        adjusted = market.bars.filter(pl.col("ticker") == ticker).with_columns(
            close=pl.col("close") * pl.col("adj_factor")
        )
        if metal > -0.05 and drop_into(adjusted, WINDOW_END) < -0.2:
            misses.append(ticker)
    assert misses


def test_indices_cover_market_sector_and_l2(market: demo.DemoMarket) -> None:
    codes = set(market.index["index_code"].unique())
    assert codes == {MARKET_INDEX, SECTOR_INDEX, *SW_L2}
    bad = market.index.filter(
        (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("volume") < 0)
    )
    assert bad.height == 0
    busy = market.index.filter(pl.col("index_code").is_in([MARKET_INDEX, SECTOR_INDEX]))
    assert (busy["volume"] > 0).all()  # an L2 index may idle while its only member is halted
    csi = market.index.filter(pl.col("index_code") == MARKET_INDEX).sort("date")
    assert csi["date"][0] == demo.START and 3000 < csi["close"][0] < 4000


def test_series_match_the_registry(market: demo.DemoMarket) -> None:
    got = market.series.group_by("series_id").agg(pl.col("unit", "currency").unique())
    assert set(got["series_id"]) == set(metals.SERIES)
    for sid, units, currencies in got.iter_rows():
        assert units == [metals.SERIES[sid].unit] and currencies == [metals.SERIES[sid].currency]
    lc = market.series.filter(pl.col("series_id") == "GFEX.LC")
    assert lc["date"].min() == D("2023-07-21")
    last = market.series.filter(pl.col("date") == WINDOW_END)
    level = dict(zip(last["series_id"], last["close"], strict=True))
    assert 60_000 < level["SHFE.CU"] < 140_000 and 6.2 < level["FX.USDCNY"] < 7.4
    # LME copper follows SHFE through USD/CNY and 13% VAT, within the basis.
    implied = level["SHFE.CU"] / level["FX.USDCNY"] / 1.13
    assert abs(level["LME.CU.CASH"] / implied - 1) < 0.06


def test_load_twice_changes_nothing(tmp_path: Path) -> None:
    master = instruments(ROWS[:4])
    with Store(tmp_path / "demo.duckdb") as store:
        first = demo.load(store, end=D("2015-06-30"), instruments=master)
        assert first["bars_daily"].new > 0 and first["instruments"].inserted == 4
        again = demo.load(store, end=D("2015-06-30"), instruments=master)
        assert all(not r.changed for r in again.values())
        assert again["bars_daily"].unchanged == first["bars_daily"].new
        assert store.read_bars().height == first["bars_daily"].new
        assert store.get_meta("data_source") == "demo"


def test_full_master_generation_time() -> None:
    """~180 A-shares 2015..2026-11-26; the time is printed for the record, not asserted."""
    from screener.instruments import load_master

    master = load_master()
    began = time.perf_counter()
    m = demo.generate(master, end=D("2026-11-26"))
    took = time.perf_counter() - began
    print(f"demo.generate: {master.height} instruments, {m.bars.height} bars in {took:.2f} s")
    assert m.bars["ticker"].n_unique() > 100
    hk = set(master.filter(pl.col("board") == "hk")["ticker"])
    assert len(hk) == 20 and not hk & set(m.bars["ticker"])  # the HK lines get no bars
    a_shares = master.filter(pl.col("board") != "hk")
    same = demo.generate(a_shares, end=D("2026-11-26"))
    assert same.bars.equals(m.bars)  # and change nothing for the A-shares
