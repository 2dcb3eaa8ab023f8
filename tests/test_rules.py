"""Tests for screener.rules: each A-share rule against a hand-computed case, plus real bars."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener.config import Settings
from screener.errors import ConfigError
from screener.rules import (
    BOARDS,
    ST_LIMIT_SWITCH,
    TRADABILITY_COLUMNS,
    CostModel,
    is_registration_listing,
    limit_pct,
    limit_pct_expr,
    limit_price_exprs,
    limit_prices,
    tradability,
    with_limit_pct,
    with_limit_prices,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
STOCKS = SHARED / "realdata" / "stocks_daily.parquet"
D = dt.date

# -- limit prices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prev_close", "pct", "up", "down"),
    [
        (1.15, 10, 1.27, 1.04),  # 1.265 -> 1.27 half-up; 1.035 -> 1.04
        (1.15, 5, 1.21, 1.09),  # 1.2075 -> 1.21; 1.0925 -> 1.09
        (1.15, 20, 1.38, 0.92),
        (1.15, 30, 1.50, 0.81),  # 0.805 -> 0.81 half-up
        (10.05, 5, 10.55, 9.55),  # 10.5525 -> 10.55; 9.5475 -> 9.55
        (7.25, 10, 7.98, 6.53),  # 7.975 -> 7.98; 6.525 -> 6.53
    ],
)
def test_limit_prices_hand_cases(prev_close: float, pct: int, up: float, down: float) -> None:
    got_up, got_down = limit_prices(np.array([prev_close]), np.array([pct]))
    assert (got_up[0], got_down[0]) == (up, down)
    frame = pl.DataFrame({"prev_close": [prev_close], "limit_pct": [pct]})
    assert with_limit_prices(frame).row(0)[2:] == (up, down)


def test_float_round_is_the_trap_we_avoid() -> None:
    assert round(1.15 * 1.10, 2) == 1.26  # why limit_prices works in integer fen
    assert limit_prices(np.array([1.15]), np.array([10]))[0][0] == 1.27


def test_limit_prices_missing_inputs_mean_no_limit() -> None:
    up, down = limit_prices(np.array([np.nan, 10.0]), np.array([10, np.nan]))
    assert np.isnan(up).all() and np.isnan(down).all()
    frame = pl.DataFrame(
        {"prev_close": [None, float("nan"), 10.0], "limit_pct": [10, 10, None]},
        schema={"prev_close": pl.Float64, "limit_pct": pl.Int64},
    )
    out = with_limit_prices(frame)
    assert out["up_limit"].null_count() == 3 and out["down_limit"].null_count() == 3


def test_polars_fen_arithmetic_equals_numpy_on_100k_prices() -> None:
    rng = np.random.default_rng(20240824)
    n = 100_000
    on_tick = rng.integers(1, 300_000, n // 2) / 100.0  # real prices: whole fen up to 3,000
    off_tick = rng.uniform(0.01, 3_000.0, n - n // 2)  # and arbitrary floats
    prev = np.concatenate([on_tick, off_tick])
    for pct in (5, 10, 20, 30):
        want_up, want_down = limit_prices(prev, np.full(n, pct))
        frame = pl.DataFrame({"prev_close": prev, "limit_pct": np.full(n, pct)})
        got = with_limit_prices(frame.lazy()).collect()
        assert np.array_equal(got["up_limit"].to_numpy(), want_up)
        assert np.array_equal(got["down_limit"].to_numpy(), want_down)


def test_limit_price_exprs_can_take_any_expressions() -> None:
    up, down = limit_price_exprs(pl.lit(1.15), pl.lit(10))
    assert pl.select(up, down).row(0) == (1.27, 1.04)


# -- limit percent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("board", "is_st", "on", "st_switch", "want"),
    [
        ("main", False, D(2024, 1, 2), ST_LIMIT_SWITCH, 10),
        ("chinext", False, D(2020, 8, 21), ST_LIMIT_SWITCH, 10),  # last 10% session
        ("chinext", False, D(2020, 8, 24), ST_LIMIT_SWITCH, 20),
        ("chinext", True, D(2020, 8, 21), ST_LIMIT_SWITCH, 5),
        ("chinext", True, D(2020, 8, 24), ST_LIMIT_SWITCH, 20),
        ("main", True, D(2026, 7, 3), ST_LIMIT_SWITCH, 5),  # ST main board before the switch
        ("main", True, D(2026, 7, 6), ST_LIMIT_SWITCH, 10),  # and from it
        ("main", True, D(2025, 6, 2), D(2025, 6, 1), 10),
        ("main", True, D(2025, 5, 30), D(2025, 6, 1), 5),
        ("star", False, D(2021, 3, 1), ST_LIMIT_SWITCH, 20),
        ("star", True, D(2021, 3, 1), ST_LIMIT_SWITCH, 20),
        ("bse", False, D(2022, 3, 1), ST_LIMIT_SWITCH, 30),
        ("main", False, D(1996, 12, 13), ST_LIMIT_SWITCH, None),  # no limits before 1996-12-16
        ("main", False, D(1996, 12, 16), ST_LIMIT_SWITCH, 10),
    ],
)
def test_limit_pct_seasoned(
    board: str, is_st: bool, on: dt.date, st_switch: dt.date, want: int | None
) -> None:
    assert limit_pct(board, is_st=is_st, on=on, st_switch=st_switch) == want


@pytest.mark.parametrize("session_no", [1, 2, 3, 4, 5])
def test_star_first_five_sessions_have_no_limit(session_no: int) -> None:
    assert limit_pct("star", is_st=False, on=D(2021, 3, 1), session_no=session_no) is None


@pytest.mark.parametrize(
    ("board", "on", "registration", "limits"),
    [
        # limits for sessions 1..7
        ("star", D(2021, 3, 1), None, [None] * 5 + [20, 20]),
        ("chinext", D(2021, 3, 1), None, [None] * 5 + [20, 20]),
        ("chinext", D(2019, 3, 1), None, [None] + [10] * 6),  # old system: listing day only
        ("main", D(2023, 4, 12), None, [None] * 5 + [10, 10]),  # registration main board
        ("main", D(2023, 4, 12), False, [None] + [10] * 6),  # listed 2023-04-06 (old system)
        ("main", D(2022, 3, 1), None, [None] + [10] * 6),  # 144%/64% band not modelled
        ("bse", D(2022, 3, 1), None, [None] + [30] * 6),  # BSE: first day only
    ],
)
def test_limit_pct_first_sessions(
    board: str, on: dt.date, registration: bool | None, limits: list[int | None]
) -> None:
    got = [
        limit_pct(board, is_st=False, on=on, session_no=n, registration=registration)
        for n in range(1, 8)
    ]
    assert got == limits


def test_registration_listing_dates() -> None:
    assert not is_registration_listing("chinext", D(2020, 8, 21))
    assert is_registration_listing("chinext", D(2020, 8, 24))
    assert not is_registration_listing("main", D(2023, 4, 7))
    assert is_registration_listing("main", D(2023, 4, 10))
    assert is_registration_listing("star", D(2019, 7, 22))


def test_unknown_board_is_refused() -> None:
    with pytest.raises(ValueError, match="hk"):
        limit_pct("hk", is_st=False, on=D(2024, 1, 2))
    frame = pl.DataFrame(
        {"board": ["hk"], "is_st": [False], "date": [D(2024, 1, 2)]},
    ).with_columns(session_no=pl.lit(None, pl.Int64), list_date=pl.lit(None, pl.Date))
    with pytest.raises(pl.exceptions.InvalidOperationError, match="hk"):
        with_limit_pct(frame)


def test_st_switch_default_is_the_setting() -> None:
    assert ST_LIMIT_SWITCH == Settings().st_limit_switch == D(2026, 7, 6)
    assert limit_pct("main", is_st=True, on=D(2026, 7, 3)) == 5
    assert limit_pct("main", is_st=True, on=D(2026, 7, 6)) == 10


def test_limit_pct_expr_agrees_with_scalar_on_a_grid() -> None:
    dates = [D(1996, 12, 13), D(2019, 3, 1), D(2020, 8, 21), D(2020, 8, 24), D(2023, 4, 7)]
    dates += [D(2023, 4, 10), D(2023, 4, 14), D(2026, 7, 3), D(2026, 7, 6)]
    list_dates = [None, D(2019, 2, 25), D(2020, 8, 20), D(2020, 8, 24), D(2023, 4, 6)]
    list_dates += [D(2023, 4, 10)]
    sessions = [None, 1, 2, 5, 6]
    st_switch = D(2026, 7, 6)
    grid = list(itertools.product(BOARDS, [False, True, None], dates, sessions, list_dates))
    frame = pl.DataFrame(
        grid,
        schema={
            "board": pl.String,
            "is_st": pl.Boolean,
            "date": pl.Date,
            "session_no": pl.Int64,
            "list_date": pl.Date,
        },
        orient="row",
    )
    got = frame.select(limit_pct_expr(st_switch=st_switch))["limit_pct"].to_list()
    want = [
        limit_pct(
            board,
            is_st=bool(st),
            on=on,
            session_no=n,
            st_switch=st_switch,
            registration=is_registration_listing(board, listed or on),
        )
        for board, st, on, n, listed in grid
    ]
    assert got == want
    assert {None, 5, 10, 20, 30} == set(want)  # the grid reaches every branch


# -- tradability -------------------------------------------------------------------------


def _bars() -> pl.DataFrame:
    """Hand-made bars, prev_close 10 with limits 11 / 9 unless said otherwise."""
    rows = [
        # name, open, high, low, close, volume, suspended, up, down
        ("one_price_up", 11.0, 11.0, 11.0, 11.0, 1_000, False, 11.0, 9.0),
        ("opened_down", 9.0, 9.8, 9.0, 9.5, 5_000, False, 11.0, 9.0),
        ("zero_volume", 10.0, 10.0, 10.0, 10.0, 0, False, 11.0, 9.0),
        ("flag_suspended", None, None, None, None, None, True, 11.0, 9.0),
        ("normal", 10.1, 10.5, 9.9, 10.2, 8_000, False, 11.0, 9.0),
        ("no_limit", 15.0, 16.0, 14.0, 15.5, 9_000, False, None, None),
        ("float_noise_up", 11.000000000000002, 11.0, 10.5, 10.999999999999998, 7, False, 11.0, 9.0),
        ("one_price_down", 9.0, 9.0, 9.0, 9.0, 300, None, 11.0, 9.0),
    ]
    cols = ["case", "open", "high", "low", "close", "volume", "suspended"]
    return pl.DataFrame(rows, schema=[*cols, "up_limit", "down_limit"], orient="row").with_columns(
        pl.col("volume").cast(pl.Int64)
    )


EXPECTED = {
    # case: (suspended, opened_up, opened_down, closed_up, closed_down, one_price,
    #        can_buy_open, can_sell_open, can_buy_close, can_sell_close)
    "one_price_up": (0, 1, 0, 1, 0, 1, 0, 1, 0, 1),
    "opened_down": (0, 0, 1, 0, 0, 0, 1, 0, 1, 1),
    "zero_volume": (1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "flag_suspended": (1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "normal": (0, 0, 0, 0, 0, 0, 1, 1, 1, 1),
    "no_limit": (0, 0, 0, 0, 0, 0, 1, 1, 1, 1),
    "float_noise_up": (0, 1, 0, 1, 0, 0, 0, 1, 0, 1),
    "one_price_down": (0, 0, 1, 0, 1, 1, 1, 0, 1, 0),
}


def test_tradability_hand_made_bars() -> None:
    out = tradability(_bars())
    assert tradability(_bars().lazy()).collect().equals(out)
    for row in out.iter_rows(named=True):
        got = tuple(int(row[f]) for f in TRADABILITY_COLUMNS)
        assert got == EXPECTED[row["case"]], row["case"]


# -- lots and T+1 --------------------------------------------------------------------------


# -- costs -------------------------------------------------------------------------------


def test_commission_minimum() -> None:
    costs = CostModel()
    assert costs.commission(10_000) == 5.0  # 2.5 below the 5-yuan minimum
    assert costs.commission(100_000) == pytest.approx(25.0)
    assert costs.commission(0) == 0.0


def test_stamp_duty_sell_only_and_2023_cut() -> None:
    costs = CostModel()
    assert costs.stamp_duty(100_000, D(2023, 8, 25), "sell") == pytest.approx(100.0)
    assert costs.stamp_duty(100_000, D(2023, 8, 28), "sell") == pytest.approx(50.0)
    assert costs.stamp_duty(100_000, D(2023, 8, 25), "buy") == 0.0
    assert costs.stamp_duty(100_000, D(2005, 1, 4), "sell") == pytest.approx(100.0)
    with pytest.raises(ValueError, match="side"):
        costs.stamp_duty(100_000, D(2023, 8, 25), "short")  # type: ignore[arg-type]


def test_transfer_fee_2022_cut_both_sides() -> None:
    costs = CostModel()
    assert costs.transfer_fee(100_000, D(2022, 4, 28)) == pytest.approx(2.0)
    assert costs.transfer_fee(100_000, D(2022, 4, 29)) == pytest.approx(1.0)


def test_total_fees() -> None:
    costs = CostModel()
    # 25 commission + 50 stamp duty + 1 transfer fee
    assert costs.total(100_000, D(2023, 8, 28), "sell") == pytest.approx(76.0)
    # 5 minimum commission + 0 stamp duty + 0.1 transfer fee
    assert costs.total(10_000, D(2023, 8, 28), "buy") == pytest.approx(5.1)


def test_fill_price_slippage() -> None:
    costs = CostModel(slippage_bps=10)
    assert costs.fill_price(10.0, "buy") == pytest.approx(10.01)
    assert costs.fill_price(10.0, "sell") == pytest.approx(9.99)
    assert CostModel().fill_price(10.0, "buy") == 10.0


def test_rate_arrays_for_kernels() -> None:
    costs = CostModel()
    days = np.array(["2022-04-28", "2022-04-29", "2023-08-25", "2023-08-28", "NaT"], "M8[D]")
    stamp = costs.stamp_rate_on(days)
    np.testing.assert_array_equal(stamp, [0.001, 0.001, 0.001, 0.0005, np.nan])
    np.testing.assert_array_equal(
        costs.transfer_rate_on(days.astype("M8[ns]")), [0.00002, 0.00001, 0.00001, 0.00001, np.nan]
    )
    assert stamp.dtype == np.float64


def test_overrides_apply_and_leave_defaults_alone() -> None:
    base = CostModel()
    costs = base.with_overrides(
        commission_rate=0.0003,
        min_commission=0,
        slippage_bps=5,
        stamp_duty_rates=[["2008-09-19", 0.001], [D(2030, 1, 2), 0.0]],
    )
    assert (costs.commission_rate, costs.min_commission, costs.slippage_bps) == (0.0003, 0.0, 5.0)
    assert costs.stamp_duty(100_000, D(2030, 1, 2), "sell") == 0.0
    assert costs.stamp_duty(100_000, D(2023, 8, 28), "sell") == pytest.approx(100.0)
    assert base == CostModel() and base.commission_rate == 0.00025


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"comission_rate": 0.0003}, "comission_rate"),  # typo: unknown key
        ({"min_commission": -1.0}, "min_commission"),
        ({"slippage_bps": float("nan")}, "slippage_bps"),
        ({"slippage_bps": True}, "slippage_bps"),
        ({"commission_rate": 1.5}, "commission_rate"),
        ({"stamp_duty_rates": []}, "stamp_duty_rates"),
        ({"stamp_duty_rates": [["2023-08-28", -0.1]]}, "stamp_duty_rates"),
        ({"transfer_fee_rates": [["not a date", 0.0]]}, "transfer_fee_rates"),
        ({"transfer_fee_rates": [["2022-04-29", 0.0], ["2015-08-01", 0.0]]}, "transfer_fee_rates"),
    ],
)
def test_overrides_validation_names_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        CostModel().with_overrides(**overrides)


# -- real bars ---------------------------------------------------------------------------


def _real_limits(prefixes: list[str], board: str) -> pl.DataFrame:
    """Real bars of one board with our limits; ST from the row's name, list date = first bar."""
    if not STOCKS.exists():
        pytest.skip(f"real-data folder absent: {STOCKS}")
    bars = (
        pl.scan_parquet(STOCKS)
        .filter(pl.col("ticker").str.slice(0, 3).is_in(prefixes))
        .sort("ticker", "date")
        .with_columns(
            board=pl.lit(board),
            is_st=pl.col("name").str.contains("ST"),
            session_no=pl.int_range(1, pl.len() + 1).over("ticker"),
            list_date=pl.col("date").min().over("ticker"),
        )
    )
    return with_limit_prices(with_limit_pct(bars)).collect()


def _fen(col: str) -> pl.Expr:
    # Stored closes are vendor floats (323.40000000000003), so compare whole fen.
    return (pl.col(col) * 100).round(0).cast(pl.Int64)


def _near_nominal_limit(pct: int) -> pl.Expr:
    """Close within half a fen of prev_close x (1 + pct%), ties counted up: a limit-up close."""
    gap = pl.col("close") * 100 - pl.col("prev_close") * (100 + pct)
    return (gap > -0.5 + 1e-6) & (gap <= 0.5 + 1e-6)


def test_real_chinext_limit_up_closes_match_up_limit_before_and_after_reform() -> None:
    bars = _real_limits(["300", "301"], "chinext").filter(pl.col("limit_pct").is_not_null())
    before = bars.filter(pl.col("date") < D(2020, 8, 24), _near_nominal_limit(10))
    after = bars.filter(pl.col("date") >= D(2020, 8, 24), _near_nominal_limit(20))
    assert before.height > 0 and after.height > 0
    assert (before["limit_pct"] == 10).all() and (after["limit_pct"] == 20).all()
    for found in (before, after):
        assert found.filter(_fen("close") != _fen("up_limit")).is_empty()
    # Among them are half-fen ties where the naive float round() is one fen short.
    naive = [round(p * 1.1, 2) for p in before["prev_close"]]
    assert (before["close"].round(2) != pl.Series(naive)).sum() > 0


def test_real_chinext_never_closes_beyond_our_limits() -> None:
    bars = _real_limits(["300", "301"], "chinext").filter(pl.col("limit_pct").is_not_null())
    beyond = bars.filter((_fen("close") > _fen("up_limit")) | (_fen("close") < _fen("down_limit")))
    assert beyond.is_empty(), beyond.select("ticker", "date", "prev_close", "close")
    # ... and the 20% regime was used: closes beyond +10% exist only after the reform.
    big = bars.filter(pl.col("close") > pl.col("prev_close") * 1.11)
    assert big.height > 0 and (big["date"] >= D(2020, 8, 24)).all()


def test_real_main_board_st_closes_at_five_percent() -> None:
    bars = _real_limits(["000", "001", "002", "600", "601", "603"], "main")
    st_up = bars.filter(pl.col("is_st"), pl.col("session_no") > 1, _near_nominal_limit(5))
    assert st_up.height > 0 and (st_up["limit_pct"] == 5).all()
    assert st_up.filter(_fen("close") != _fen("up_limit")).is_empty()
