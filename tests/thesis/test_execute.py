"""Tests for screener.thesis.execute: A-share execution on vectorbt against hand-computed cases and
against the slow reference simulator (tests/reference_sim.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
import reference_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.rules import CostModel, board_lots, limit_prices
from screener.thesis.execute import Execution, MarketArrays, positions, simulate, simulate_plain
from screener.thesis.metrics import round_trips

COSTS = CostModel()
D = dt.date


def flat_market(
    n: int, boards: list[str], *, price: float = 10.0, start: str = "2024-01-02"
) -> MarketArrays:
    """n weekday sessions at a constant price with ±10% limits; tests poke holes in it."""
    m = len(boards)
    dates = np.busday_offset(np.datetime64(start), np.arange(n), roll="forward")
    lot_min, lot_step = board_lots(boards)
    full = np.full((n, m), price)
    return MarketArrays(
        dates=dates,
        tickers=tuple(f"T{j}" for j in range(m)),
        open=full.copy(),
        close=full.copy(),
        up_limit=np.full((n, m), round(price * 1.1, 2)),
        down_limit=np.full((n, m), round(price * 0.9, 2)),
        suspended=np.zeros((n, m), dtype=bool),
        lot_min=lot_min,
        lot_step=lot_step,
    )


def no_signals(market: MarketArrays) -> np.ndarray:
    return np.full((len(market.dates), len(market.tickers)), np.nan)


def run_both(market: MarketArrays, signals: np.ndarray, **kwargs: object) -> Execution:
    """The engine's run, after checking that the reference simulator agrees with it."""
    kwargs = {"entry": "open", "costs": COSTS, "init_cash": 1_000_000.0, **kwargs}
    result = simulate(market, signals, **kwargs)  # type: ignore[arg-type]
    ref = reference_sim.run(market, signals, **kwargs)  # type: ignore[arg-type]
    reference_sim.assert_same(result.orders, result.equity, ref)
    return result


def outcomes(result: Execution) -> list[tuple[object, ...]]:
    return result.orders.select("date", "ticker", "side", "status", "shares").rows()


def test_buy_at_a_limit_up_open_is_blocked_and_dropped() -> None:
    mkt = flat_market(4, ["main"])
    mkt.open[1, 0] = 11.0  # opens at the up limit: 一字板
    sig = no_signals(mkt)
    sig[0, 0] = 0.5
    result = run_both(mkt, sig)
    assert outcomes(result) == [(D(2024, 1, 3), "T0", "buy", "blocked", 0.0)]
    assert result.trades.height == 0  # not carried to the next session
    assert result.equity["value"].to_list() == [1_000_000.0] * 4


def test_close_entry_checks_the_close_against_the_limit() -> None:
    mkt = flat_market(3, ["main", "main"])
    mkt.open[1, 0], mkt.close[1, 0] = 11.0, 10.5  # opened at the limit, closed below: fills
    mkt.close[1, 1] = 11.0  # closed at limit-up: a close buy cannot fill
    sig = no_signals(mkt)
    sig[0] = [0.3, 0.3]
    result = run_both(mkt, sig, entry="close")
    assert sorted(outcomes(result)) == [
        (D(2024, 1, 3), "T0", "buy", "filled", 28_500.0),
        (D(2024, 1, 3), "T1", "buy", "blocked", 0.0),
    ]
    assert result.trades["price"].to_list() == [10.5]


def test_limit_down_exit_streak_stays_pending_until_it_can_fill() -> None:
    mkt = flat_market(8, ["main"])
    mkt.open[2:5, 0] = 9.0  # three sessions opening at the down limit
    mkt.open[5, 0] = 9.5
    sig = no_signals(mkt)
    sig[0, 0], sig[1, 0] = 0.5, 0.0  # buy, then exit decided at the close of session 1
    result = run_both(mkt, sig, costs=CostModel(slippage_bps=10.0))
    sells = result.orders.filter(pl.col("side") == "sell")
    assert sells.select("date", "status", "shares").rows() == [
        (D(2024, 1, 4), "pending", 0.0),
        (D(2024, 1, 5), "pending", 0.0),
        (D(2024, 1, 8), "pending", 0.0),
        (D(2024, 1, 9), "filled", 50_000.0),
    ]
    assert sells["price"][-1] == pytest.approx(9.5 * (1 - 0.001))


def test_suspension_blocks_fills_and_the_sale_fills_on_resumption() -> None:
    mkt = flat_market(7, ["main", "main"])
    mkt.suspended[2:5, 0] = True
    mkt.open[2:5, 0] = np.nan  # no trading; the close carries the last close
    mkt.close[1, 0] = mkt.close[2:5, 0] = 10.4
    mkt.open[5, 0] = 9.8
    sig = no_signals(mkt)
    sig[0, 0] = 0.4
    sig[2, 0], sig[2, 1] = 0.0, 0.3  # exit T0 while suspended; buy T1 on a suspended day
    mkt.suspended[3, 1] = True
    result = run_both(mkt, sig)
    t1 = result.orders.filter(pl.col("ticker") == "T1")
    assert t1.select("date", "status").rows() == [(D(2024, 1, 5), "blocked")]
    t0 = result.orders.filter(pl.col("ticker") == "T0")
    assert t0.select("date", "side", "status").rows() == [
        (D(2024, 1, 3), "buy", "filled"),
        (D(2024, 1, 5), "sell", "pending"),
        (D(2024, 1, 8), "sell", "pending"),
        (D(2024, 1, 9), "sell", "filled"),
    ]
    assert t0["price"][-1] == 9.8
    value = result.equity["value"].to_list()
    assert value[2] == value[3] == value[4]  # frozen at the last close while suspended


def test_star_lots_start_at_200_then_single_shares() -> None:
    mkt = flat_market(3, ["star", "star", "bse"])
    sig = no_signals(mkt)
    sig[0] = [2_507.0 / 1e6, 1_999.0 / 1e6, 1_509.0 / 1e6]  # 250.7, 199.9, 150.9 shares at 10
    result = run_both(mkt, sig)
    assert outcomes(result) == [
        (D(2024, 1, 3), "T0", "buy", "filled", 250.0),
        (D(2024, 1, 3), "T2", "buy", "filled", 150.0),
    ]


def test_small_order_pays_the_minimum_commission() -> None:
    mkt = flat_market(3, ["main"])
    sig = no_signals(mkt)
    sig[0, 0] = 0.001  # 1,000 yuan: 0.025% would be 0.25 yuan
    trade = run_both(mkt, sig).trades.row(0, named=True)
    assert trade["value"] == 1_000.0 and trade["commission"] == 5.0


@pytest.mark.parametrize(
    ("sell_day", "stamp", "transfer"),
    [
        ("2022-04-28", 0.001, 0.00002),
        ("2022-04-29", 0.001, 0.00001),
        ("2023-08-25", 0.001, 0.00001),
        ("2023-08-28", 0.0005, 0.00001),
    ],
)
def test_stamp_duty_and_transfer_fee_follow_the_sale_date(
    sell_day: str, stamp: float, transfer: float
) -> None:
    start = np.busday_offset(np.datetime64(sell_day), -2, roll="forward")
    mkt = flat_market(3, ["main"], start=str(start))
    sig = no_signals(mkt)
    sig[0, 0], sig[1, 0] = 0.5, 0.0
    sale = run_both(mkt, sig).trades.filter(pl.col("side") == "sell").row(0, named=True)
    assert str(sale["date"]) == sell_day
    assert sale["stamp_duty"] == pytest.approx(500_000.0 * stamp)
    assert sale["transfer_fee"] == pytest.approx(500_000.0 * transfer)


@pytest.mark.parametrize("entry", ["open", "close"])
def test_t_plus_one_exit_decided_on_the_buy_day_sells_next_session(entry: str) -> None:
    mkt = flat_market(4, ["main"])
    sig = no_signals(mkt)
    sig[0, 0], sig[1, 0] = 0.5, 0.0  # exit decided at the close of the session the buy filled
    trades = run_both(mkt, sig, entry=entry).trades
    assert trades.select("date", "side").rows() == [
        (D(2024, 1, 3), "buy"),
        (D(2024, 1, 4), "sell"),
    ]


def test_short_cash_scales_buys_down_and_cash_never_goes_negative() -> None:
    mkt = flat_market(4, ["main", "main", "star"])
    sig = no_signals(mkt)
    sig[0] = [0.6, 0.6, 0.6]
    result = run_both(mkt, sig, init_cash=100_000.0)
    buys = result.trades
    assert buys["requested"].to_list() == [6_000.0, 6_000.0, 6_000.0]
    assert buys["shares"].to_list() == [3_300.0, 3_300.0, 3_332.0]  # 6,000 × 100k / 180k, to lots
    assert 0.0 <= result.equity["cash"][-1] < 10.0 * 100 + 5.0


def test_a_sale_funds_a_buy_in_the_same_session() -> None:
    mkt = flat_market(4, ["main", "main"])
    sig = no_signals(mkt)
    sig[0, 0] = 0.99
    sig[1] = [0.0, 0.98]
    trades = run_both(mkt, sig, init_cash=100_000.0).trades
    assert trades.select("date", "ticker", "side", "shares").rows() == [
        (D(2024, 1, 3), "T0", "buy", 9_900.0),
        (D(2024, 1, 4), "T0", "sell", 9_900.0),
        (D(2024, 1, 4), "T1", "buy", 9_700.0),
    ]


def test_signal_at_t_fills_at_t_plus_one_never_at_t() -> None:
    mkt = flat_market(4, ["main"])
    sig = no_signals(mkt)
    sig[1, 0] = 0.5
    base = simulate(mkt, sig, costs=COSTS)
    assert base.trades["date"].to_list() == [D(2024, 1, 4)]
    mkt.open[1, 0] = 10.5  # the decision day's open: no effect
    assert simulate(mkt, sig, costs=COSTS).orders.equals(base.orders)
    mkt.open[2, 0] = 10.2  # the next session's open: that is the fill
    moved = simulate(mkt, sig, costs=COSTS).trades
    assert moved["price"].to_list() == [10.2] and moved["shares"].to_list() == [49_000.0]


def test_plain_baseline_ignores_the_a_share_rules() -> None:
    mkt = flat_market(3, ["main"])
    mkt.open[1, 0] = 11.0  # limit-up open: the A-share engine blocks this buy
    sig = no_signals(mkt)
    sig[0, 0] = 0.5
    plain = simulate_plain(mkt, sig, costs=COSTS)
    assert plain.trades.select("date", "side", "price").rows() == [(D(2024, 1, 3), "buy", 11.0)]
    assert plain.trades["shares"][0] == pytest.approx(500_000.0 / 11.0 / 1.00025, rel=1e-3)


def test_bad_inputs_are_refused() -> None:
    mkt = flat_market(3, ["main"])
    with pytest.raises(ValueError, match="shape"):
        simulate(mkt, np.zeros((2, 1)), costs=COSTS)
    with pytest.raises(ValueError, match=">= 0"):
        simulate(mkt, np.full((3, 1), -0.1), costs=COSTS)
    with pytest.raises(ValueError, match="entry"):
        simulate(mkt, no_signals(mkt), costs=COSTS, entry="vwap")  # type: ignore[arg-type]


# -- engine == reference on random markets ------------------------------------------------

LIMIT_PCT = {"main": 10, "star": 20, "bse": 30}


EX_RATIOS = [2.0, 1.5, 1.3, 1.05, 1.01, 0.5]  # bonus issues, dividends, a reverse split


def random_market(rng: np.random.Generator, n: int, boards: list[str], start: str) -> MarketArrays:
    """A random walk in fen with official-style limits, limit hits, suspensions and ex-dates."""
    m = len(boards)
    close = np.empty((n, m))
    open_ = np.empty((n, m))
    up, down = np.full((n, m), np.nan), np.full((n, m), np.nan)
    suspended = rng.random((n, m)) < 0.1
    prev = np.round(rng.uniform(3, 30, m), 2)
    pct = np.array([LIMIT_PCT[b] for b in boards])
    ex_ratio = np.ones((n, m))
    for i in range(n):
        if i > 0:
            acts = rng.random(m) < 0.1
            ref = np.where(acts, np.round(prev / rng.choice(EX_RATIOS, m), 2), prev)  # 前收盘价
            ex_ratio[i], prev = prev / ref, ref
            up[i], down[i] = limit_prices(prev, pct)
        lo, hi = (down[i], up[i]) if i > 0 else (prev * 0.9, prev * 1.1)
        draw = np.round(prev * (1 + rng.normal(0, 0.05, (2, m))), 2)
        draw = np.clip(draw, lo, hi)
        hit = rng.random((2, m))
        draw = np.where(hit < 0.12, hi, np.where(hit > 0.88, lo, draw))
        open_[i], close[i] = draw
        open_[i] = np.where(suspended[i], np.where(rng.random(m) < 0.5, np.nan, prev), open_[i])
        close[i] = np.where(suspended[i], prev, close[i])
        prev = close[i]
    lot_min, lot_step = board_lots(boards)
    dates = np.busday_offset(np.datetime64(start), np.arange(n), roll="forward")
    tickers = tuple(f"T{j}" for j in range(m))
    return MarketArrays(
        dates, tickers, open_, close, up, down, suspended, lot_min, lot_step, ex_ratio=ex_ratio
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 25),
    boards=st.lists(st.sampled_from(["main", "star", "bse"]), min_size=1, max_size=4),
    start=st.sampled_from(["2022-04-20", "2023-08-15", "2024-01-02"]),
    entry=st.sampled_from(["open", "close"]),
    init_cash=st.sampled_from([3_000.0, 30_000.0, 300_000.0, 1_000_000.0]),
    slippage_bps=st.sampled_from([0.0, 5.0, 20.0]),
)
def test_engine_matches_reference_on_random_markets(
    seed: int,
    n: int,
    boards: list[str],
    start: str,
    entry: str,
    init_cash: float,
    slippage_bps: float,
) -> None:
    rng = np.random.default_rng(seed)
    mkt = random_market(rng, n, boards, start)
    weights = rng.choice([0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8], size=(n, len(boards)))
    sig = np.where(rng.random((n, len(boards))) < 0.35, weights, np.nan)
    costs = CostModel(slippage_bps=slippage_bps)
    result = run_both(mkt, sig, entry=entry, costs=costs, init_cash=init_cash)
    ref = reference_sim.run(mkt, sig, entry=entry, costs=costs, init_cash=init_cash)
    pf = result.portfolio
    assert abs(pf.cash().iloc[-1] - ref.cash[-1]) < 0.01
    # The equity frame is vectorbt's own book, as its metrics see it.
    np.testing.assert_allclose(result.equity["value"].to_numpy(), pf.value().to_numpy())
    np.testing.assert_allclose(result.equity["cash"].to_numpy(), pf.cash().to_numpy())


# -- corporate actions ---------------------------------------------------------------------


def with_ex_date(mkt: MarketArrays, day: int, reference: float, col: int = 0) -> MarketArrays:
    """``day`` is an ex-date of ticker ``col`` with the exchange's ``reference`` price (前收盘价):
    its prices from ``day`` on scale by reference / previous close, to the fen."""
    scale = reference / mkt.close[day - 1, col]
    for prices in (mkt.open, mkt.close, mkt.up_limit, mkt.down_limit):
        prices[day:, col] = np.round(prices[day:, col] * scale, 2)
    ratio = np.ones(mkt.close.shape) if mkt.ex_ratio is None else mkt.ex_ratio.copy()
    ratio[day, col] = mkt.close[day - 1, col] / reference
    return dataclasses.replace(mkt, ex_ratio=ratio)


def test_bonus_issue_doubles_the_holding_and_keeps_its_value() -> None:
    mkt = with_ex_date(flat_market(6, ["main"]), 3, 5.0)  # 10-for-10 (10送10): 10.00 -> 5.00
    sig = no_signals(mkt)
    sig[0, 0], sig[4, 0] = 0.5, 0.0
    result = run_both(mkt, sig)
    assert outcomes(result) == [
        (D(2024, 1, 3), "T0", "buy", "filled", 50_000.0),
        (D(2024, 1, 5), "T0", "buy", "corporate_action", 50_000.0),
        (D(2024, 1, 9), "T0", "sell", "filled", 100_000.0),
    ]
    action = result.orders.row(1, named=True)
    assert action["price"] == 5.0
    assert action["commission"] == action["stamp_duty"] == action["transfer_fee"] == 0.0
    assert result.trades["side"].to_list() == ["buy", "sell"]  # the bonus is not a trade
    value, cash = result.equity["value"].to_list(), result.equity["cash"].to_list()
    assert value[2] == value[3] == value[4] and cash[2] == cash[3]  # continuous, no cash moved
    pf = result.portfolio
    np.testing.assert_allclose(result.equity["value"].to_numpy(), pf.value().to_numpy())
    trip = round_trips(result.orders).row(0, named=True)
    paid = 500_000.0 + 125.0 + 5.0  # commission 0.025%, transfer fee 0.001%
    received = 500_000.0 - 125.0 - 250.0 - 5.0  # and stamp duty 0.05%
    assert trip["shares"] == 50_000.0 and trip["exit_price"] == pytest.approx(received / 50_000)
    assert trip["pnl"] == pytest.approx(received - paid)
    costs = (trip["commission"], trip["stamp_duty"], trip["transfer_fee"])
    assert costs == pytest.approx((250.0, 250.0, 10.0))  # both sides, the sale's duty
    book = positions(result)  # held from the 3rd; the bonus doubles the shares on the 5th
    assert book.select("date", "shares").rows() == [
        (D(2024, 1, 3), 50_000.0),
        (D(2024, 1, 4), 50_000.0),
        (D(2024, 1, 5), 100_000.0),
        (D(2024, 1, 8), 100_000.0),
    ]
    assert book["value"].to_list() == pytest.approx([500_000.0] * 4)
    assert book["weight"].to_list() == pytest.approx(
        (book["value"] / np.array(value[1:5])).to_list()
    )


def test_positions_and_cash_add_up_to_the_equity() -> None:
    rng = np.random.default_rng(7)
    mkt = random_market(rng, 60, ["main", "star", "bse"], "2024-01-02")
    sig = np.where(rng.random((60, 3)) < 0.3, rng.choice([0.0, 0.2, 0.4], size=(60, 3)), np.nan)
    result = run_both(mkt, sig)
    book = positions(result).group_by("date").agg(pl.col("value", "weight").sum())
    eq = result.equity.join(book, on="date", how="left").fill_null(0.0)
    assert book.height > 10
    np.testing.assert_allclose(eq["value_right"] + eq["cash"], eq["value"], rtol=1e-12)
    np.testing.assert_allclose(eq["weight"], 1 - eq["cash"] / eq["value"], atol=1e-12)


def test_cash_dividend_is_reinvested_at_the_reference_price() -> None:
    # 0.30 a share: 10.00 -> 9.70; 50,000 shares become 50,000 × 10 / 9.7 = 51,546.39...
    mkt = with_ex_date(flat_market(7, ["main"]), 3, 9.7)
    sig = no_signals(mkt)
    sig[0, 0], sig[3, 0], sig[4, 0] = 0.5, 0.25, 0.0  # buy, cut to a quarter, exit
    result = run_both(mkt, sig)
    shares = result.orders["shares"].to_list()
    assert result.orders["status"].to_list() == ["filled", "corporate_action", "filled", "filled"]
    assert shares[1] == pytest.approx(50_000.0 * (10 / 9.7 - 1))
    assert shares[2] % 100 == 0  # a partial sale is whole lots
    assert shares[2] + shares[3] == pytest.approx(50_000.0 * 10 / 9.7)  # the exit sells the rest
    value = result.equity["value"].to_list()
    assert value[3] == pytest.approx(value[2], abs=0.01)
    assert result.equity["value"][-1] == result.equity["cash"][-1]  # flat at the end
    assert round_trips(result.orders).height == 1


def test_bonus_issue_with_no_cash_left_still_fills() -> None:
    # 100 shares at 10 + 5 minimum commission + 0.01 transfer fee spend every yuan.
    mkt = with_ex_date(flat_market(5, ["main"]), 3, 5.0)
    sig = no_signals(mkt)
    sig[0, 0] = 1.0
    result = run_both(mkt, sig, init_cash=1_005.01)
    assert result.equity["cash"][2] == 0.0
    assert outcomes(result)[1] == (D(2024, 1, 5), "T0", "buy", "corporate_action", 100.0)
    pf = result.portfolio
    np.testing.assert_allclose(result.equity["value"].to_numpy(), pf.value().to_numpy())
    assert pf.assets().iloc[-1, 0] == 200.0


def test_ex_date_during_a_suspension_applies_on_resumption_to_the_parked_sale() -> None:
    mkt = flat_market(7, ["main"])
    mkt.suspended[2:4, 0] = True
    mkt.open[2:4, 0] = np.nan  # the close carries the last close
    mkt = with_ex_date(mkt, 4, 5.0)  # the first bar back is the ex-date
    sig = no_signals(mkt)
    sig[0, 0], sig[2, 0] = 0.5, 0.0  # exit decided while suspended: parked
    result = run_both(mkt, sig)
    assert outcomes(result)[1:] == [
        (D(2024, 1, 5), "T0", "sell", "pending", 0.0),
        (D(2024, 1, 8), "T0", "buy", "corporate_action", 50_000.0),
        (D(2024, 1, 8), "T0", "sell", "filled", 100_000.0),
    ]
