"""A-share order execution as numba kernels: what one session's instructions become.

``execute.py`` calls :func:`plan_session` from vectorbt's pre-segment callback and replays the
plan from its flexible order callback. The rules live here, free of vectorbt, so that they compile
once into numba's on-disk cache and the tests can drive them without the 3 s vectorbt import.

How one session ``i`` is planned (``plan_session``):

0. Corporate actions first (``plan_actions``): on an ex-date, before any order, every holding
   becomes ``ex_ratio`` times as many shares, at no cost and with cash unchanged; the ratio is the
   previous close over the exchange's ex-rights reference price, so the holding's value is
   continuous. Bonus shares are exact; a cash dividend is reinvested at the reference price
   (total return, like the back-adjusted series). A parked sale's target scales alike, and the
   holdings below are the scaled ones, so they may be fractional.
1. Value the portfolio at the previous close: the instruction ``target_weight[i-1]`` was decided
   then, so that is the value it refers to.
2. A ticker with an instruction gets a target in shares (``weight × value / price``, where price is
   the fill price of session ``i``); weight 0 means exit in full. A ticker without an instruction
   but with a pending sale keeps the pending target. A new instruction replaces a pending one.
3. Sales first, in ticker order. Size is lot-rounded; a full exit sells odd lots (and fractions)
   too. A sale that cannot fill (suspended, or the fill price at/below the down limit) stays
   pending and is retried every later session. A sale's costs are capped at its proceeds (a sale
   never costs cash).
4. Buys, in ticker order, with the cash left after the sales. A buy whose fill price is at/above the
   up limit, or whose name is suspended, is dropped (status ``BLOCKED``). If the buys need more cash
   than there is, each is scaled down by the same factor, lot-rounded, and capped by the cash still
   free, so cash never goes negative; one that cannot afford a lot is ``UNFUNDED``.

Costs per order: commission ``max(rate × value, minimum)``, stamp duty on sales only and the
transfer fee on both sides at the session's rates; slippage moves the fill price against the order.

T+1 holds by construction: one instruction per ticker per session, and sales are planned from the
holdings at the previous close, so a share bought in session ``i`` is never sold before ``i + 1``.
Shares from a corporate action can be sold on the ex-date itself (their listing day is not kept).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from screener import rules

BUY, SELL = 1, -1
FILLED, BLOCKED, PENDING, UNFUNDED, CORPORATE = 0, 1, 2, 3, 4
STATUS_NAMES = ("filled", "blocked", "pending", "unfunded", "corporate_action")

# Prices are whole fen; a gap below this is float noise, not a price difference.
PRICE_EPS = 1e-6
# Cash below a fen counts as none for a corporate action (vectorbt refuses buys on zero cash).
CASH_EPS = 0.01

LOG_DTYPE = np.dtype(
    [
        ("row", np.int64),
        ("col", np.int64),
        ("side", np.int64),
        ("status", np.int64),
        ("requested", np.float64),
        ("shares", np.float64),
        ("price", np.float64),
        ("commission", np.float64),
        ("stamp_duty", np.float64),
        ("transfer_fee", np.float64),
    ]
)


class MarketNb(NamedTuple):
    """Market arrays as the kernels read them; ``price`` is the fill price (open or close)."""

    price: np.ndarray  # (sessions, tickers) float
    up_limit: np.ndarray  # (sessions, tickers) float, NaN = no limit
    down_limit: np.ndarray  # (sessions, tickers) float, NaN = no limit
    suspended: np.ndarray  # (sessions, tickers) bool
    lot_min: np.ndarray  # (tickers,) float: smallest buy
    lot_step: np.ndarray  # (tickers,) float: increment above lot_min
    stamp_rate: np.ndarray  # (sessions,) float, sells only
    transfer_rate: np.ndarray  # (sessions,) float, both sides
    ex_ratio: np.ndarray  # (sessions, tickers) float: holdings multiply by it at the open, 1 = none


class FeesNb(NamedTuple):
    """Per-order costs that do not depend on the date."""

    commission_rate: float
    min_commission: float
    slippage: float  # fraction of price: buys fill higher, sells lower


class Book(NamedTuple):
    """Mutable simulation state shared by the callbacks, plus the order log they write."""

    pending: np.ndarray  # (tickers,) target shares of a pending sale, NaN = none
    buy_col: np.ndarray  # (tickers,) scratch: buys waiting for cash this session
    buy_qty: np.ndarray  # (tickers,) scratch
    plan_col: np.ndarray  # (3 × tickers,) this session's fills: corporate actions, sells, buys
    plan_size: np.ndarray  # (3 × tickers,) signed shares: + buy, - sell
    plan_price: np.ndarray  # (3 × tickers,) fill price after slippage
    plan_cost: np.ndarray  # (3 × tickers,) commission + stamp duty + transfer fee (vectorbt's
    # fixed fee; minus the order's value for a corporate action)
    n_plan: np.ndarray  # (1,) int
    n_fills: np.ndarray  # (1,) int: fills planned over the whole run
    log: np.ndarray  # LOG_DTYPE records: every instruction's outcome and corporate action
    n_log: np.ndarray  # (1,) int


def new_book(n_sessions: int, n_tickers: int, n_actions: int = 0) -> Book:
    """Empty state; the log holds one record per session and ticker, plus ``n_actions``
    corporate actions (at most one per ex-ratio that is not 1)."""
    m = n_tickers
    return Book(
        pending=np.full(m, np.nan),
        buy_col=np.zeros(m, dtype=np.int64),
        buy_qty=np.zeros(m),
        plan_col=np.zeros(3 * m, dtype=np.int64),  # a fill and up to two action orders each
        plan_size=np.zeros(3 * m),
        plan_price=np.zeros(3 * m),
        plan_cost=np.zeros(3 * m),
        n_plan=np.zeros(1, dtype=np.int64),
        n_fills=np.zeros(1, dtype=np.int64),
        log=np.empty(n_sessions * m + n_actions, dtype=LOG_DTYPE),
        n_log=np.zeros(1, dtype=np.int64),
    )


# the lot rules of rules.py, compiled for the order loop (one home for each rule)
lot_buy_shares = njit(cache=True)(rules.lot_buy_shares)
lot_sell_shares = njit(cache=True)(rules.lot_sell_shares)
_commission = njit(cache=True)(rules.commission)


@njit(cache=True)
def order_costs(
    value: float, is_sell: bool, fees: FeesNb, stamp_rate: float, transfer_rate: float
) -> tuple[float, float, float]:
    """(commission, stamp duty, transfer fee) of one order of ``value`` yuan."""
    commission = _commission(value, fees.commission_rate, fees.min_commission)
    stamp = stamp_rate * value if is_sell else 0.0
    return commission, stamp, transfer_rate * value


@njit(cache=True)
def buy_cash_needed(
    shares: float, price: float, fees: FeesNb, transfer_rate: float
) -> tuple[float, float]:
    """(value, costs) of buying ``shares`` at ``price``; the order needs value + costs in cash."""
    value = shares * price
    commission, stamp, transfer = order_costs(value, False, fees, 0.0, transfer_rate)
    return value, commission + stamp + transfer


@njit(cache=True)
def affordable_shares(
    cash: float, price: float, lot_min: float, lot_step: float, fees: FeesNb, transfer_rate: float
) -> float:
    """Most lot-valid shares whose value plus costs fit in ``cash``, minimum commission included."""
    if cash <= 0.0:
        return 0.0
    by_rate = cash / (price * (1.0 + fees.commission_rate + transfer_rate))
    by_minimum = (cash - fees.min_commission) / (price * (1.0 + transfer_rate))
    shares = lot_buy_shares(min(by_rate, by_minimum), lot_min, lot_step)
    while shares > 0.0:
        value, costs = buy_cash_needed(shares, price, fees, transfer_rate)
        if value + costs <= cash:
            break
        shares = shares - lot_step if shares - lot_step >= lot_min else 0.0
    return shares


@njit(cache=True)
def portfolio_value(cash: float, position: np.ndarray, val_price: np.ndarray) -> float:
    """Cash plus holdings at ``val_price`` (flat tickers skipped, so a NaN price cannot leak)."""
    value = cash
    for j in range(position.shape[0]):
        if position[j] != 0.0:
            value += position[j] * val_price[j]
    return value


@njit(cache=True)
def can_buy(mkt: MarketNb, i: int, j: int) -> bool:
    """A buy fills unless the name is suspended or the fill price is at/above the up limit."""
    price = mkt.price[i, j]
    if mkt.suspended[i, j] or not price > 0.0:
        return False
    up = mkt.up_limit[i, j]
    return not (np.isfinite(up) and price >= up - PRICE_EPS)


@njit(cache=True)
def can_sell(mkt: MarketNb, i: int, j: int) -> bool:
    """A sale fills unless the name is suspended or the fill price is at/below the down limit."""
    price = mkt.price[i, j]
    if mkt.suspended[i, j] or not price > 0.0:
        return False
    down = mkt.down_limit[i, j]
    return not (np.isfinite(down) and price <= down + PRICE_EPS)


@njit(cache=True)
def target_shares(weight: float, pending: float, value: float, price: float, last: float) -> float:
    """Shares to hold after the session: ``weight`` of ``value`` at ``price`` (or the ``last``
    close when there is no price), else the ``pending`` target; NaN when there is nothing to do."""
    if np.isnan(weight):
        return pending
    if weight <= 0.0:
        return 0.0
    ref = price if price > 0.0 else last  # suspended: size off the last close
    if not ref > 0.0:
        return np.nan  # no price yet (not listed): nothing can be sized or traded
    return weight * value / ref


@njit(cache=True)
def record(
    book: Book,
    i: int,
    j: int,
    side: int,
    status: int,
    requested: float,
    shares: float,
    price: float,
    costs: tuple[float, float, float],
) -> None:
    """Append one outcome to the order log."""
    k = book.n_log[0]
    if k >= book.log.shape[0]:
        raise IndexError("order log full")
    rec = book.log[k]
    rec["row"], rec["col"], rec["side"], rec["status"] = i, j, side, status
    rec["requested"], rec["shares"], rec["price"] = requested, shares, price
    rec["commission"], rec["stamp_duty"], rec["transfer_fee"] = costs
    book.n_log[0] = k + 1


@njit(cache=True)
def add_fill(book: Book, j: int, size: float, price: float, costs: float) -> None:
    """Queue a fill for the order callback to hand to vectorbt."""
    k = book.n_plan[0]
    book.plan_col[k], book.plan_size[k] = j, size
    book.plan_price[k], book.plan_cost[k] = price, costs
    book.n_plan[0] = k + 1
    book.n_fills[0] += 1


@njit(cache=True)
def ex_ratio_at(mkt: MarketNb, i: int, j: int, last: float) -> float:
    """Session ``i``'s corporate-action ratio for ticker ``j``; 1 when there is none, or no
    ``last`` close to apply it to."""
    ratio = mkt.ex_ratio[i, j]
    if not (np.isfinite(ratio) and ratio > 0.0 and last > 0.0):
        return 1.0
    return ratio


@njit(cache=True)
def plan_actions(
    i: int, cash: float, position: np.ndarray, val_price: np.ndarray, mkt: MarketNb, book: Book
) -> None:
    """Queue session ``i``'s corporate actions: each holding grows (or shrinks) by
    ``held × (ratio − 1)`` shares at the ex-reference price ``last close / ratio``.

    vectorbt gets an order whose fixed fee is minus its value, so the position changes and cash
    does not. It refuses any buy when cash is zero, so then the holding is sold and bought back
    ``ratio``-fold in two cash-neutral orders instead.
    """
    for j in range(position.shape[0]):
        held = position[j]
        ratio = ex_ratio_at(mkt, i, j, val_price[j])
        if held == 0.0 or ratio == 1.0:
            continue
        price, change = val_price[j] / ratio, held * (ratio - 1.0)
        book.pending[j] *= ratio  # a parked sale's target is in shares too
        side = BUY if change > 0.0 else SELL
        record(book, i, j, side, CORPORATE, abs(change), abs(change), price, (0.0, 0.0, 0.0))
        if change > 0.0 and cash < CASH_EPS:
            add_fill(book, j, -held, price, 0.0)
            add_fill(book, j, held + change, price, -change * price)
        else:
            add_fill(book, j, change, price, -change * price)


@njit(cache=True)
def plan_sell(
    i: int, j: int, held: float, target: float, cash: float, mkt: MarketNb, fees: FeesNb, book: Book
) -> float:
    """Fill or park a sale from ``held`` down to ``target`` shares; returns cash after it."""
    shares = lot_sell_shares(held - target, held, mkt.lot_min[j], mkt.lot_step[j])
    if shares <= 0.0:
        return cash
    if not can_sell(mkt, i, j):
        book.pending[j] = target
        record(book, i, j, SELL, PENDING, shares, 0.0, mkt.price[i, j], (0.0, 0.0, 0.0))
        return cash
    price = mkt.price[i, j] * (1.0 - fees.slippage)
    value = shares * price
    commission, stamp, transfer = order_costs(
        value, True, fees, mkt.stamp_rate[i], mkt.transfer_rate[i]
    )
    costs = commission + stamp + transfer
    if costs > value:  # a tiny sale cannot cost cash: the commission shrinks to what is left
        commission, costs = value - stamp - transfer, value
    record(book, i, j, SELL, FILLED, shares, shares, price, (commission, stamp, transfer))
    add_fill(book, j, -shares, price, costs)
    return cash + (value - costs)


@njit(cache=True)
def plan_buys(i: int, cash: float, n_buys: int, mkt: MarketNb, fees: FeesNb, book: Book) -> None:
    """Fund the session's buys from ``cash``: all of them, or each scaled by the same factor."""
    transfer_rate = mkt.transfer_rate[i]
    needed = 0.0
    for k in range(n_buys):
        j = book.buy_col[k]
        price = mkt.price[i, j] * (1.0 + fees.slippage)
        value, costs = buy_cash_needed(book.buy_qty[k], price, fees, transfer_rate)
        needed += value + costs
    scale = 1.0 if needed <= cash else cash / needed
    for k in range(n_buys):
        j, wanted = book.buy_col[k], book.buy_qty[k]
        lot_min, lot_step = mkt.lot_min[j], mkt.lot_step[j]
        price = mkt.price[i, j] * (1.0 + fees.slippage)
        shares = lot_buy_shares(wanted * scale, lot_min, lot_step)
        shares = min(shares, affordable_shares(cash, price, lot_min, lot_step, fees, transfer_rate))
        if shares <= 0.0:
            record(book, i, j, BUY, UNFUNDED, wanted, 0.0, price, (0.0, 0.0, 0.0))
            continue
        value = shares * price
        commission, stamp, transfer = order_costs(value, False, fees, 0.0, transfer_rate)
        costs = commission + stamp + transfer
        record(book, i, j, BUY, FILLED, wanted, shares, price, (commission, stamp, transfer))
        add_fill(book, j, shares, price, costs)
        cash -= value + costs


@njit(cache=True)
def plan_session(
    i: int,
    cash: float,
    position: np.ndarray,
    val_price: np.ndarray,
    mkt: MarketNb,
    weights: np.ndarray,
    fees: FeesNb,
    book: Book,
) -> None:
    """Plan session ``i``'s fills into ``book.plan_*`` and log every outcome (module docstring).

    ``cash`` and ``position`` are the holdings at the previous close, ``val_price`` the previous
    close (carried forward over missing prices); both are before session ``i``'s corporate
    actions, which are planned first.
    """
    book.n_plan[0] = 0
    plan_actions(i, cash, position, val_price, mkt, book)
    value = portfolio_value(cash, position, val_price)  # the same after corporate actions
    n_buys = 0
    for j in range(position.shape[0]):
        weight = weights[i - 1, j] if i > 0 else np.nan
        if np.isnan(weight) and np.isnan(book.pending[j]):
            continue  # the common case, kept cheap
        ratio = ex_ratio_at(mkt, i, j, val_price[j])
        last = val_price[j] / ratio  # the ex-reference price on an ex-date
        target = target_shares(weight, book.pending[j], value, mkt.price[i, j], last)
        book.pending[j] = np.nan  # consumed; plan_sell parks it again if the sale cannot fill
        held = position[j] + position[j] * (ratio - 1.0)  # as vectorbt adds the action's shares
        if np.isnan(target) or target == held:
            continue
        if target < held:
            cash = plan_sell(i, j, held, target, cash, mkt, fees, book)
            continue
        shares = lot_buy_shares(target - held, mkt.lot_min[j], mkt.lot_step[j])
        if shares <= 0.0:
            continue
        if not can_buy(mkt, i, j):
            record(book, i, j, BUY, BLOCKED, shares, 0.0, mkt.price[i, j], (0.0, 0.0, 0.0))
            continue
        book.buy_col[n_buys], book.buy_qty[n_buys] = j, shares
        n_buys += 1
    plan_buys(i, cash, n_buys, mkt, fees, book)
