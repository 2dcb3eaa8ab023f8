"""Tests for screener.thesis.orders: the numba rule kernels, driven directly (no vectorbt)."""

from __future__ import annotations

import numpy as np
import pytest

from screener.rules import BOARDS
from screener.thesis import orders as ex
from tests.reference_sim import buyable_shares, sell_quantity

LOTS = {
    "main": (100.0, 100.0),
    "chinext": (100.0, 100.0),
    "star": (200.0, 1.0),
    "bse": (100.0, 1.0),
}
FEES = ex.FeesNb(commission_rate=0.00025, min_commission=5.0, slippage=0.0)


@pytest.mark.parametrize("board", BOARDS)
def test_lot_kernels_agree_with_rules(board: str) -> None:
    lot_min, lot_step = LOTS[board]
    for shares in [0, 1, 99, 100, 101, 150, 199, 200, 201, 250, 299, 1234]:
        assert ex.lot_buy_shares(float(shares), lot_min, lot_step) == buyable_shares(
            shares, 1.0, board
        )
        for held in [50, 150, 250, 1234]:
            want = min(shares, held)
            expected = sell_quantity(held, want, board)
            assert ex.lot_sell_shares(float(want), float(held), lot_min, lot_step) == expected


def test_lot_kernels_hand_cases() -> None:
    assert ex.lot_buy_shares(250.7, 200.0, 1.0) == 250.0  # STAR: 200, then 1-share steps
    assert ex.lot_buy_shares(199.0, 200.0, 1.0) == 0.0
    assert ex.lot_buy_shares(299.9999999999, 100.0, 100.0) == 300.0  # float noise is 300
    assert ex.lot_sell_shares(150.0, 150.0, 100.0, 100.0) == 150.0  # odd lot goes in full
    assert ex.lot_sell_shares(130.0, 150.0, 100.0, 100.0) == 100.0  # partial: whole lots
    assert ex.lot_sell_shares(150.0, 300.0, 200.0, 1.0) == 0.0  # STAR partial needs 200


def test_order_costs_minimum_commission_and_sell_only_stamp() -> None:
    assert ex.order_costs(1_000.0, False, FEES, 0.0005, 0.00001) == pytest.approx((5.0, 0.0, 0.01))
    assert ex.order_costs(100_000.0, True, FEES, 0.0005, 0.00001) == pytest.approx(
        (25.0, 50.0, 1.0)
    )


def test_affordable_shares_pays_the_minimum_commission() -> None:
    # 1,004 yuan at 10.00: 100 shares cost 1,000 + 5 minimum commission + 0.01 transfer > 1,004.
    assert ex.affordable_shares(1_004.0, 10.0, 100.0, 100.0, FEES, 0.00001) == 0.0
    assert ex.affordable_shares(1_005.01, 10.0, 100.0, 100.0, FEES, 0.00001) == 100.0
    # Above the minimum the rate binds: 1,000,000 buys floor(1e6 / (10 * 1.00026)) to the lot.
    assert ex.affordable_shares(1e6, 10.0, 100.0, 100.0, FEES, 0.00001) == 99_900.0
    star = ex.affordable_shares(2_060.0, 10.0, 200.0, 1.0, FEES, 0.00001)
    value, costs = ex.buy_cash_needed(star, 10.0, FEES, 0.00001)
    assert star == 205.0 and value + costs <= 2_060.0
    assert ex.buy_cash_needed(star + 1, 10.0, FEES, 0.00001)[0] + 5.0 > 2_060.0


def one_session(
    held: list[float],
    weights: list[float],
    *,
    price: float = 10.0,
    cash: float = 0.0,
    lots: tuple[float, float] = (100.0, 100.0),
    down_limit: float = np.nan,
    ex_ratio: float = 1.0,
) -> ex.Book:
    """Plan session 1 for tickers holding ``held``, given instructions ``weights`` at session 0;
    session 1 is an ex-date with ``ex_ratio`` for every ticker."""
    m = len(held)
    shape = (2, m)
    mkt = ex.MarketNb(
        price=np.full(shape, price),
        up_limit=np.full(shape, np.nan),
        down_limit=np.full(shape, down_limit),
        suspended=np.zeros(shape, dtype=bool),
        lot_min=np.full(m, lots[0]),
        lot_step=np.full(m, lots[1]),
        stamp_rate=np.full(2, 0.0005),
        transfer_rate=np.full(2, 0.00001),
        ex_ratio=np.array([np.ones(m), np.full(m, ex_ratio)]),
    )
    signals = np.vstack([weights, np.full(m, np.nan)])
    book = ex.new_book(2, m)
    position = np.array(held, dtype=float)
    ex.plan_session(1, cash, position, np.full(m, price), mkt, signals, FEES, book)
    return book


def test_main_board_odd_remainder_is_sold_in_full() -> None:
    book = one_session([150.0], [0.0])
    assert book.n_plan[0] == 1 and book.plan_size[0] == -150.0
    # A partial cut keeps the odd lot for the final sale: 150 -> target 20 sells 100.
    book = one_session([150.0], [20 * 10.0 / 1_500.0])
    assert book.plan_size[0] == -100.0


def test_blocked_sale_parks_its_target_and_a_new_instruction_replaces_it() -> None:
    book = one_session([300.0], [0.0], down_limit=10.0)
    assert book.n_plan[0] == 0 and book.pending[0] == 0.0
    log = book.log[: book.n_log[0]]
    assert log["status"].tolist() == [ex.PENDING] and log["requested"].tolist() == [300.0]


def test_sales_fund_the_same_sessions_buys() -> None:
    # All in A (1,000 shares at 10); switch fully to B: the sale pays for B in the same session.
    book = one_session([1_000.0, 0.0], [0.0, 0.99])
    assert book.n_plan[0] == 2
    assert book.plan_col[:2].tolist() == [0, 1]  # sale first
    assert book.plan_size[:2].tolist() == [-1_000.0, 900.0]


def test_short_cash_scales_every_buy_alike_and_never_overdraws() -> None:
    book = one_session([0.0, 0.0], [0.8, 0.8], cash=100_000.0)
    sizes = book.plan_size[: book.n_plan[0]]
    assert sizes.tolist() == [4_900.0, 4_900.0]  # each wanted 8,000; scaled by ~0.62, to lots
    spent = sizes * 10.0 + book.plan_cost[: book.n_plan[0]]
    assert spent.sum() <= 100_000.0
    log = book.log[: book.n_log[0]]
    assert log["requested"].tolist() == [8_000.0, 8_000.0]


def test_unaffordable_buy_is_logged_unfunded() -> None:
    book = one_session([0.0], [1.0], cash=1_004.0)
    log = book.log[: book.n_log[0]]
    assert book.n_plan[0] == 0 and log["status"].tolist() == [ex.UNFUNDED]


def test_corporate_action_is_planned_first_and_costs_no_cash() -> None:
    # 10-for-10 on 150 shares, then an exit: 150 bonus shares at the reference 10 / 2, whose
    # fixed fee is minus their value, then the sale of all 300.
    book = one_session([150.0], [0.0], cash=1_000.0, ex_ratio=2.0)
    n = book.n_plan[0]
    assert book.plan_size[:n].tolist() == [150.0, -300.0]
    assert book.plan_price[0] == 5.0 and book.plan_cost[0] == -750.0
    log = book.log[: book.n_log[0]]
    assert log["status"].tolist() == [ex.CORPORATE, ex.FILLED]
    assert log["shares"].tolist() == [150.0, 300.0] and log["commission"][0] == 0.0


def test_corporate_action_on_zero_cash_sells_and_buys_back() -> None:
    # vectorbt refuses any buy without cash: two cash-neutral orders instead of one.
    book = one_session([100.0], [np.nan], cash=0.0, ex_ratio=1.5)
    n = book.n_plan[0]
    assert book.plan_size[:n].tolist() == [-100.0, 150.0]
    value = book.plan_size[:n] * book.plan_price[:n] + book.plan_cost[:n]
    assert value.sum() == pytest.approx(0.0, abs=1e-9)
    assert book.n_log[0] == 1 and book.log[0]["status"] == ex.CORPORATE


def test_partial_sale_of_a_fractional_holding_keeps_lots_whole() -> None:
    # 1,000 shares at 10 and a ratio of 1.0325 become 1,032.5 shares: cutting to 500 sells 500
    # (whole lots), keeping 532.5; the exit then sells the fraction too.
    book = one_session([1_000.0], [0.5], cash=0.0, ex_ratio=1.0325)
    assert book.plan_size[book.n_plan[0] - 1] == -500.0
    book = one_session([1_000.0], [0.0], cash=0.0, ex_ratio=1.0325)
    assert book.plan_size[book.n_plan[0] - 1] == -1_032.5


# -- the reference's own lot rules, by hand (A4) ------------------------------------------
@pytest.mark.parametrize(
    ("cash", "price", "board", "want"),
    [
        (10_000, 33.3, "main", 300),  # 300.3 shares -> 3 lots
        (10_000, 33.3, "chinext", 300),
        (3_330, 33.3, "main", 100),  # exactly one lot despite float division
        (9_999, 100.0, "main", 0),
        (1_999, 10.0, "star", 0),  # 199 shares: below STAR's 200 minimum
        (2_000, 10.0, "star", 200),
        (2_055, 10.0, "star", 205),  # then 1-share steps
        (999, 10.0, "bse", 0),
        (1_055, 10.0, "bse", 105),
        (0, 10.0, "main", 0),
        (-5, 10.0, "main", 0),
    ],
)
def test_buyable_shares(cash: float, price: float, board: str, want: int) -> None:
    assert buyable_shares(cash, price, board) == want


def test_buyable_shares_refuses_bad_price_and_board() -> None:
    with pytest.raises(ValueError, match="price"):
        buyable_shares(1_000, 0.0, "main")
    with pytest.raises(ValueError, match="board"):
        buyable_shares(1_000, 10.0, "nasdaq")


@pytest.mark.parametrize(
    ("position", "wanted", "board", "want"),
    [
        (250, 250, "main", 250),  # the odd lot goes with the whole position
        (250, 1_000, "main", 250),
        (250, 230, "main", 200),  # partial sells in 100s, odd lot kept for the last order
        (150, 60, "chinext", 0),
        (350, 150, "star", 0),  # partial STAR order below 200
        (350, 210, "star", 210),
        (150, 100, "star", 0),  # a remainder under 200 goes in one order only
        (150, 150, "star", 150),
        (150, 99, "bse", 0),
        (150, 120, "bse", 120),
    ],
)
def test_sell_quantity(position: int, wanted: int, board: str, want: int) -> None:
    assert sell_quantity(position, wanted, board) == want
