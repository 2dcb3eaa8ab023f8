"""A slow, obvious, day-by-day A-share execution simulator: the yardstick for the engine.

Plain Python over dicts, written from the rules as stated (screener.thesis.orders's docstring and
../shared/reference/ashare_rules.md Part A), with its own scalar lot rules (``buyable_shares``,
``sell_quantity``, below) and rules.py's CostModel for costs. It shares no code with
screener.thesis.orders, so agreement between the two means something.
Corporate actions (``MarketArrays.ex_ratio``) multiply holdings at the open of the ex-date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from screener.rules import BOARDS, CostModel
from screener.thesis.execute import MarketArrays

BOARD_OF_LOTS = {(100, 100): "main", (200, 1): "star", (100, 1): "bse"}
TICK_NOISE = 1e-6  # prices are whole fen: closer than this to a limit is at the limit


@dataclass
class Result:
    """Order outcomes (one dict each), and cash and value after every session's close."""

    orders: list[dict[str, object]] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)


def run(
    market: MarketArrays, signals: np.ndarray, *, entry: str, costs: CostModel, init_cash: float
) -> Result:
    """Simulate session by session: value the book, set targets, sell, then buy."""
    return _Sim(market, signals, entry, costs, init_cash).run()


def assert_same(orders: Any, equity: Any, ref: Result) -> None:
    """The engine's order log and book (polars frames) equal the reference's, trade by trade
    and to the fen. Sizes are whole lots except after a corporate action: there float noise
    may differ, hence the tolerances."""
    keys = ["date", "ticker", "side", "status"]
    assert orders.select(keys).rows() == [tuple(o[k] for k in keys) for o in ref.orders]
    numbers = ["requested", "shares", "price", "commission", "stamp_duty", "transfer_fee"]
    got = orders.select(numbers).to_numpy()
    want = np.array([[o[k] for k in numbers] for o in ref.orders]).reshape(-1, len(numbers))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(equity["cash"].to_numpy(), ref.cash, atol=0.01, rtol=0)
    np.testing.assert_allclose(equity["value"].to_numpy(), ref.value, atol=0.01, rtol=0)
    assert equity["cash"].min() >= -1e-6


class _Sim:
    def __init__(
        self,
        market: MarketArrays,
        signals: np.ndarray,
        entry: str,
        costs: CostModel,
        init_cash: float,
    ) -> None:
        self.m, self.signals, self.costs = market, signals, costs
        self.prices = market.open if entry == "open" else market.close
        self.tickers = list(market.tickers)
        self.boards = [
            BOARD_OF_LOTS[(int(market.lot_min[j]), int(market.lot_step[j]))]
            for j in range(len(self.tickers))
        ]
        self.held = [0.0] * len(self.tickers)
        self.last_close = [math.nan] * len(self.tickers)
        self.pending: dict[int, float] = {}  # ticker index -> shares to hold once the sale fills
        self.cash = float(init_cash)
        self.result = Result()

    def run(self) -> Result:
        for i, day in enumerate(self.m.dates.astype("datetime64[D]").astype(object)):
            self.corporate_actions(i, day)
            self.session(i, day)
            for j in range(len(self.tickers)):
                if not math.isnan(self.m.close[i, j]):
                    self.last_close[j] = float(self.m.close[i, j])
            self.result.cash.append(self.cash)
            self.result.value.append(self.book_value())
        return self.result

    def book_value(self) -> float:
        value = self.cash
        for j, shares in enumerate(self.held):
            if shares != 0:
                value += shares * self.last_close[j]
        return value

    def corporate_actions(self, i: int, day: dt.date) -> None:
        """Ex-date at the open: holdings (and parked sale targets) times the ratio; the last close
        becomes the exchange's reference price, last close / ratio. No cash moves."""
        if self.m.ex_ratio is None:
            return
        for j in range(len(self.tickers)):
            ratio = float(self.m.ex_ratio[i, j])
            if ratio == 1.0 or not self.last_close[j] > 0:
                continue
            self.last_close[j] /= ratio
            if j in self.pending:
                self.pending[j] *= ratio
            if self.held[j] == 0:
                continue
            change = self.held[j] * (ratio - 1)
            self.held[j] *= ratio
            side = "buy" if change > 0 else "sell"
            price = self.last_close[j]
            self.record(day, j, side, "corporate_action", abs(change), abs(change), price)

    def session(self, i: int, day: dt.date) -> None:
        value = self.book_value()  # at the previous close, when the instruction was decided
        buys = []
        for j in range(len(self.tickers)):
            target = self.target(i, j, value)
            if target is None or target == self.held[j]:
                continue
            if target < self.held[j]:
                self.sell(i, j, day, target)
                continue
            price = float(self.prices[i, j])
            wanted = buyable_shares(target - self.held[j], 1.0, self.boards[j])  # value at 1 yuan
            if wanted == 0:
                continue
            limit_up = price >= self.m.up_limit[i, j] - TICK_NOISE
            if self.m.suspended[i, j] or not price > 0 or limit_up:
                self.record(day, j, "buy", "blocked", wanted, 0, price)
            else:
                buys.append((j, wanted))
        self.buy_all(i, day, buys)

    def target(self, i: int, j: int, value: float) -> float | None:
        """Shares to hold after session i; a new instruction replaces a parked sale."""
        weight = self.signals[i - 1, j] if i > 0 else math.nan
        if math.isnan(weight):
            return self.pending.pop(j, None)
        self.pending.pop(j, None)
        if weight == 0:
            return 0.0
        price = self.prices[i, j]
        if price > 0:
            return weight * value / price
        if self.last_close[j] > 0:  # suspended without a price: size off the last close
            return weight * value / self.last_close[j]
        return None

    def sell(self, i: int, j: int, day: dt.date, target: float) -> None:
        """Sell down to target, or park the sale when the name cannot be sold today."""
        held = self.held[j]
        if target <= 0:
            shares = held  # odd lots and fractions (from corporate actions) leave in full
        else:
            # A partial sale is whole lots; a fraction counts as one more odd share kept back.
            wanted = math.floor(held - target + 1e-9)
            shares = sell_quantity(math.ceil(held - 1e-9), wanted, self.boards[j])
        if shares == 0:
            return
        price = float(self.prices[i, j])
        if self.m.suspended[i, j] or not price > 0 or price <= self.m.down_limit[i, j] + TICK_NOISE:
            self.pending[j] = target
            self.record(day, j, "sell", "pending", shares, 0, price)
            return
        fill = self.costs.fill_price(price, "sell")
        value = shares * fill
        commission = self.costs.commission(value)
        stamp = self.costs.stamp_duty(value, day, "sell")
        transfer = self.costs.transfer_fee(value, day)
        total = commission + stamp + transfer
        if total > value:  # a sale never costs cash: the commission shrinks
            commission, total = value - stamp - transfer, value
        self.held[j] -= shares
        self.cash += value - total
        self.record(day, j, "sell", "filled", shares, shares, fill, commission, stamp, transfer)

    def buy_cost(self, value: float, day: dt.date) -> float:
        return self.costs.commission(value) + 0.0 + self.costs.transfer_fee(value, day)

    def buy_all(self, i: int, day: dt.date, buys: list[tuple[int, int]]) -> None:
        """Buy in ticker order; if cash is short, every buy is scaled by the same factor first."""
        needed = 0.0
        for j, wanted in buys:
            fill = self.costs.fill_price(float(self.prices[i, j]), "buy")
            needed += wanted * fill + self.buy_cost(wanted * fill, day)
        scale = 1.0 if needed <= self.cash else self.cash / needed
        for j, wanted in buys:
            fill = self.costs.fill_price(float(self.prices[i, j]), "buy")
            shares = buyable_shares(wanted * scale, 1.0, self.boards[j])
            while shares > 0 and shares * fill + self.buy_cost(shares * fill, day) > self.cash:
                shares = one_lot_less(shares, self.boards[j])
            if shares == 0:
                self.record(day, j, "buy", "unfunded", wanted, 0, fill)
                continue
            value = shares * fill
            commission, transfer = self.costs.commission(value), self.costs.transfer_fee(value, day)
            self.held[j] += shares
            self.cash -= value + (commission + 0.0 + transfer)
            self.record(day, j, "buy", "filled", wanted, shares, fill, commission, 0.0, transfer)

    def record(
        self,
        day: dt.date,
        j: int,
        side: str,
        status: str,
        requested: float,
        shares: float,
        price: float,
        commission: float = 0.0,
        stamp: float = 0.0,
        transfer: float = 0.0,
    ) -> None:
        self.result.orders.append(
            {
                "date": day,
                "ticker": self.tickers[j],
                "side": side,
                "status": status,
                "requested": float(requested),
                "shares": float(shares),
                "price": price,
                "commission": commission,
                "stamp_duty": stamp,
                "transfer_fee": transfer,
            }
        )


def one_lot_less(shares: int, board: str) -> int:
    """The next smaller valid buy size (A4), or 0."""
    step, minimum = (100, 100) if board == "main" else (1, 200 if board == "star" else 100)
    return shares - step if shares - step >= minimum else 0


# -- the lot rules, written again from A4 (the engine compiles rules.lot_*_shares) -------------
def _check_board(board: str) -> None:
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; expected one of {BOARDS}")


def buyable_shares(cash_or_value: float, price: float, board: str) -> int:
    """Most shares one buy order may carry for ``cash_or_value`` yuan at ``price`` (A4).

    Main and ChiNext: multiples of 100. STAR: at least 200, then any count. BSE: at least
    100, then any count. Costs are not deducted here: pass the cash left after them. STAR's
    per-order caps (100,000 shares for limit orders) are not modelled.

    >>> buyable_shares(10_000, 33.3, "main"), buyable_shares(2_055, 10.0, "star")
    (300, 205)
    """
    _check_board(board)
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"price must be positive and finite, got {price!r}")
    if not math.isfinite(cash_or_value) or cash_or_value <= 0:
        return 0
    # The tiny relative nudge keeps e.g. 3330 / 33.3 from flooring to 99.
    shares = math.floor(cash_or_value / price * (1.0 + 1e-12))
    if board in ("main", "chinext"):
        return shares // 100 * 100
    minimum = 200 if board == "star" else 100
    return shares if shares >= minimum else 0


def sell_quantity(position: int, wanted: int, board: str) -> int:
    """Shares one sell order may carry when ``wanted`` of a sellable ``position`` are to go (A4).

    Selling everything is always allowed (odd lots leave in that one order). Otherwise main and
    ChiNext round down to 100s, keeping any odd lot for the final sale; STAR needs at least
    200 and BSE at least 100 per partial order. Returns 0 when no valid partial order exists.
    """
    _check_board(board)
    if position < 0 or wanted < 0:
        raise ValueError(f"position and wanted must be >= 0, got {position}, {wanted}")
    if wanted >= position:
        return position
    if board in ("main", "chinext"):
        return wanted // 100 * 100
    minimum = 200 if board == "star" else 100
    return wanted if wanted >= minimum else 0
