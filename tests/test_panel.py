"""The research panel: suspended rows, adjusted prices, limits, as-of joins without look-ahead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
import pytest
from factors.reference import synthetic_market
from polars.testing import assert_frame_equal

from screener import calendar
from screener.config import Settings
from screener.panel import PANEL_COLUMNS, assemble_panel, build_panel
from screener.store import Store

DAYS = calendar.sessions(dt.date(2026, 1, 5), dt.date(2026, 2, 13))  # 29 sessions, Mon 5 Jan on


def bars(ticker: str, rows: Sequence[tuple[int, float, float]], **extra: object) -> pl.DataFrame:
    """Bars on DAYS[i] with (i, close, adj_factor); open/high/low = close, prev = last close."""
    closes = [c for _, c, _ in rows]
    return pl.DataFrame(
        {
            "ticker": ticker,
            "date": [DAYS[i] for i, _, _ in rows],
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "prev_close": [closes[0], *closes[:-1]],
            "volume": 1000,
            "amount": [1000.0 * c for c in closes],
            "adj_factor": [float(a) for _, _, a in rows],
            **extra,
        }
    )


INSTRUMENTS = pl.DataFrame(
    {
        "ticker": ["600001.SH", "300002.SZ", "600006.SH"],
        "board": ["main", "chinext", None],
        "sw_l2": ["801055.SI", "801056.SI", None],
        "metals": [["copper", "gold"], ["lithium"], []],
        "list_date": [dt.date(2001, 1, 1), dt.date(2020, 1, 1), None],
    },
    schema_overrides={"metals": pl.List(pl.String)},
)
NO_INDEX = pl.DataFrame(schema={"index_code": pl.String, "date": pl.Date, "close": pl.Float64})
NO_SERIES = pl.DataFrame(schema={"series_id": pl.String, "date": pl.Date, "close": pl.Float64})
CU = {DAYS[0]: 70000.0}


def series(sid: str, values: dict[dt.date, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"series_id": sid, "date": list(values), "close": list(values.values())},
        schema=NO_SERIES.schema,
    )


def panel(
    b: pl.DataFrame,
    index: pl.DataFrame = NO_INDEX,
    series: pl.DataFrame = NO_SERIES,
    max_ffill: int = 5,
) -> pl.DataFrame:
    return assemble_panel(b, INSTRUMENTS, index, series, sessions=DAYS, max_ffill=max_ffill)


def test_columns_order_and_static_fields() -> None:
    b = pl.concat([bars("600001.SH", [(0, 10.0, 1.0)]), bars("300002.SZ", [(1, 5.0, 1)])])
    p = panel(b)
    assert tuple(p.columns) == PANEL_COLUMNS
    assert p.get_column("ticker").to_list() == ["300002.SZ", "600001.SH"]
    first = p.row(1, named=True)
    assert (first["board"], first["metal"], first["sw_l2"]) == ("main", "copper", "801055.SI")
    assert first["metal_series"] is None  # no series value known: nothing fed the row
    gold_and_copper = pl.concat([series("SHFE.AU", {DAYS[0]: 400.0}), series("SHFE.CU", CU)])
    first = panel(b, series=gold_and_copper).row(1, named=True)
    assert (first["metal_series"], first["metal_close"]) == ("SHFE.CU", 70000.0)  # first tag


def test_missing_sessions_become_suspended_rows_with_the_last_close() -> None:
    p = panel(bars("600001.SH", [(0, 10.0, 1.0), (1, 11.0, 1.0), (4, 12.1, 1.0)]))
    assert p.get_column("date").to_list() == DAYS[:5]  # first to last bar, no more
    gap = p.filter(pl.col("date").is_in(DAYS[2:4]))
    assert gap.get_column("suspended").to_list() == [True, True]
    for col in ("open", "high", "low", "close", "prev_close"):
        assert gap.get_column(col).to_list() == [11.0, 11.0]
    assert gap.get_column("volume").to_list() == [0, 0]
    assert gap.get_column("ret_1d").to_list() == [0.0, 0.0]
    assert not gap.get_column("can_buy_open").any()
    assert p.get_column("ret_1d").to_list()[4] == pytest.approx(0.1)  # 12.1 over the last 11


def test_a_bar_without_amount_gets_close_times_volume_and_says_so() -> None:
    """Vendor amounts stay as given; a missing one is close x volume, flagged; a suspended row
    the grid makes has amount 0, not an estimate."""
    b = bars("600001.SH", [(0, 10.0, 1.0), (1, 11.0, 1.0), (3, 12.0, 1.0)]).with_columns(
        pl.Series("amount", [12_345.0, None, None])
    )
    p = panel(b)
    assert p.get_column("amount").to_list() == [12_345.0, 11.0 * 1000, 0.0, 12.0 * 1000]
    assert p.get_column("amount_estimated").to_list() == [False, True, False, True]


def test_whole_spans_skip_the_grid_and_give_the_same_panel() -> None:
    """Names with a bar on every session take a short cut; one gapped name anywhere sends
    every name through the grid: the rows of the whole names must not change."""
    whole = pl.concat(
        [
            bars("600001.SH", [(i, 10.0 + i, 1.0 + (i > 6)) for i in range(12)]),
            bars("600003.SH", [(i, 20.0 - i / 2, 1.0) for i in range(3, 15)]),
        ]
    )
    gapped = bars("300002.SZ", [(i, 5.0 + i / 10, 1.0) for i in (2, 3, 6, 7)])
    short_cut = panel(whole)
    via_grid = panel(pl.concat([gapped, whole]))
    assert_frame_equal(short_cut, via_grid.filter(pl.col("ticker") != "300002.SZ"))
    assert_frame_equal(via_grid, via_grid.sort("ticker", "date"))  # built in order, not sorted
    assert via_grid.filter(pl.col("ticker") == "300002.SZ")["suspended"].to_list() == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def test_zero_volume_bar_is_suspended() -> None:
    b = bars("600001.SH", [(0, 10.0, 1.0), (1, 10.0, 1.0)]).with_columns(
        pl.Series("volume", [1000, 0])
    )
    assert panel(b).get_column("suspended").to_list() == [False, True]


def test_back_adjusted_prices_and_returns_across_an_ex_date() -> None:
    # a 10% bonus issue: raw close falls 10 -> 9.2 but the adjusted series rises 1.2%
    b = bars("600001.SH", [(0, 10.0, 1.0), (1, 9.2, 1.1)]).with_columns(
        pl.Series("prev_close", [10.0, 10.0 / 1.1])
    )
    p = panel(b)
    assert p.get_column("adj_close").to_list() == [10.0, pytest.approx(10.12)]
    assert p.get_column("adj_open").to_list()[1] == pytest.approx(9.2 * 1.1)
    assert p.get_column("ret_1d").to_list()[1] == pytest.approx(0.012)


def test_back_adjustment_never_changes_the_past() -> None:
    """A later corporate action (factor x2 from day 3) leaves earlier adjusted prices alone."""
    before = panel(bars("600001.SH", [(0, 10.0, 1.0), (1, 10.5, 1.0), (2, 11.0, 1.0)]))
    after = panel(
        bars("600001.SH", [(0, 10.0, 1.0), (1, 10.5, 1.0), (2, 11.0, 1.0), (3, 5.6, 2.0)])
    )
    assert after.head(3).get_column("adj_close").equals(before.get_column("adj_close"))


def test_leading_null_adj_factor_stays_null_and_later_nulls_carry() -> None:
    b = bars("600001.SH", [(0, 10.0, 1.0), (1, 10.0, 1.0), (2, 11.0, 1.0)]).with_columns(
        pl.Series("adj_factor", [None, 1.5, None])
    )
    assert panel(b).get_column("adj_close").to_list() == [None, 15.0, 16.5]


def test_limit_prices_vendor_first_then_rules() -> None:
    b = pl.concat(
        [
            bars("600001.SH", [(0, 10.0, 1.0), (1, 11.0, 1.0)]).with_columns(
                up_limit=pl.Series([11.0, 99.0]), down_limit=pl.Series([9.0, None])
            ),
            bars("300002.SZ", [(0, 1.15, 1.0), (1, 1.15, 1.0)]),
            bars("600006.SH", [(0, 5.0, 1.0)]),  # no board: no limit invented
        ],
        how="diagonal",
    )
    p = panel(b).sort("ticker", "date")
    rows = {(r["ticker"], r["date"]): r for r in p.iter_rows(named=True)}
    assert rows["600001.SH", DAYS[0]]["up_limit"] == 11.0  # vendor
    assert rows["600001.SH", DAYS[1]]["up_limit"] == 99.0
    assert rows["600001.SH", DAYS[1]]["down_limit"] == 9.0  # rules: 10.0 x 0.9
    assert rows["600001.SH", DAYS[0]]["closed_limit_up"] is False
    assert rows["300002.SZ", DAYS[1]]["up_limit"] == 1.38  # ChiNext 20%, half-up fen
    assert rows["600006.SH", DAYS[0]]["up_limit"] is None


def test_domestic_values_enter_their_own_session_foreign_the_next() -> None:
    b = bars("600001.SH", [(i, 10.0, 1.0) for i in range(6)])
    cu = {DAYS[1]: 100.0, DAYS[2]: 101.0, DAYS[4]: 104.0}
    p = panel(b, series=series("SHFE.CU", cu))
    assert p.get_column("metal_close").to_list() == [None, 100.0, 101.0, 101.0, 104.0, 104.0]
    assert p.get_column("metal_stale").to_list() == [None, False, False, True, False, True]
    assert p.get_column("metal_age").to_list() == [None, 0, 0, 1, 0, 1]
    p = panel(b, series=series("LME.CU.CASH", cu))  # copper falls back on LME
    assert p.get_column("metal_close").to_list() == [None, None, 100.0, 101.0, 101.0, 104.0]
    assert p.get_column("metal_stale").to_list() == [None, None, False, False, True, False]
    assert p.get_column("metal_series").to_list() == [None, None] + ["LME.CU.CASH"] * 4
    assert p.get_column("metal_currency").to_list() == [None, None] + ["USD"] * 4  # no FX


def test_each_stock_follows_its_own_metal_through_its_fallbacks() -> None:
    tags = INSTRUMENTS.with_columns(pl.Series("metals", [["aluminium"], ["lead", "zinc"], []]))
    b = pl.concat([bars(t, [(i, 10.0, 1.0) for i in range(4)]) for t in ("600001.SH", "300002.SZ")])
    values = pl.concat(
        [
            series("LME.AL.CASH", {DAYS[i]: 2500.0 + i for i in range(4)}),
            series("SHFE.PB", {DAYS[i]: 17000.0 + i for i in range(4)}),
            series("SHFE.ZN", {DAYS[i]: 24000.0 + i for i in range(4)}),
        ]
    )
    p = assemble_panel(b, tags, NO_INDEX, values, sessions=DAYS, max_ffill=5)
    al, pb = (p.filter(pl.col("ticker") == t) for t in ("600001.SH", "300002.SZ"))
    assert al["metal_series"].to_list() == [None] + ["LME.AL.CASH"] * 3  # no SHFE.AL: LME
    assert al["metal_close"].to_list() == [None, 2500.0, 2501.0, 2502.0]  # a session late
    assert pb["metal_series"].to_list() == ["SHFE.PB"] * 4  # lead's own series, not zinc's
    assert pb["metal_close"].to_list() == [17000.0, 17001.0, 17002.0, 17003.0]


def test_weekend_and_holiday_values_enter_the_next_session() -> None:
    b = bars("600001.SH", [(i, 10.0, 1.0) for i in range(6)])
    saturday = DAYS[4] + dt.timedelta(days=1)  # DAYS[4] is Friday 9 Jan
    assert saturday.weekday() == 5
    p = panel(b, series=series("SHFE.CU", {DAYS[0]: 1.0, saturday: 2.0}))
    assert p.get_column("metal_close").to_list() == [1.0, 1.0, 1.0, 1.0, 1.0, 2.0]


def test_carry_stops_after_max_ffill_sessions() -> None:
    b = bars("600001.SH", [(i, 10.0, 1.0) for i in range(8)])
    p = panel(b, series=series("SHFE.CU", {DAYS[0]: 1.0, DAYS[7]: 2.0}), max_ffill=3)
    assert p.get_column("metal_close").to_list() == [1.0] * 4 + [None] * 3 + [2.0]
    assert p.get_column("metal_age").to_list() == [0, 1, 2, 3, 4, 5, 6, 0]
    idx = pl.DataFrame({"index_code": "801050.SI", "date": [DAYS[0]], "close": [7.0]})
    p = panel(b, index=idx, max_ffill=2)
    assert p.get_column("sector_close").to_list() == [7.0] * 3 + [None] * 5
    assert p.get_column("market_close").null_count() == 8


def test_build_panel_reads_the_store_like_assemble_panel(store: Store) -> None:
    market = synthetic_market(4)
    store.upsert("bars_daily", market.bars)
    store.upsert("instruments", market.instruments)
    store.upsert("index_daily", market.index)
    store.upsert("series_daily", market.series)
    start, end = market.sessions[0], market.sessions[-1]
    got = build_panel(store, start=start, end=end, settings=Settings(max_ffill_sessions=5))
    want = assemble_panel(
        market.bars,
        market.instruments,
        market.index,
        market.series,
        sessions=market.sessions,
        max_ffill=5,
    )
    assert_frame_equal(got, want)
    some = build_panel(store, tickers=["600001.SH"], start=start, end=end, settings=Settings())
    assert some.get_column("ticker").unique().to_list() == ["600001.SH"]
    assert some.get_column("metal_close").null_count() < some.height


def test_a_late_window_sees_series_values_from_before_it(store: Store) -> None:
    """Rows at the window start carry the last series value from before the window."""
    market = synthetic_market(4)
    store.upsert("bars_daily", market.bars)
    store.upsert("instruments", market.instruments)
    store.upsert("series_daily", market.series)
    full = assemble_panel(
        market.bars,
        market.instruments,
        market.index.clear(),
        market.series,
        sessions=market.sessions,
        max_ffill=5,
    )
    start = market.sessions[64]  # inside the synthetic series gap (sessions 60-67)
    late = build_panel(store, start=start, end=market.sessions[-1], settings=Settings())
    cols = ["metal_close", "metal_age", "metal_stale"]
    both = late.join(full, on=["ticker", "date"], suffix="_full")
    assert both.height > 0.9 * late.height  # only names suspended at the start differ
    for col in cols:
        assert both.get_column(col).equals(both.get_column(f"{col}_full")), col
    first = both.filter(pl.col("date") == start)
    assert (first.get_column("metal_age") > 0).any()  # carried from before the window
