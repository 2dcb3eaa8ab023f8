"""Execution of target weights under A-share rules, on vectorbt: the one vectorbt/pandas door.

``simulate`` runs the engine of ``Portfolio.from_order_func(..., flexible=True)`` (vectorbt's
``flex_simulate_nb``) with one cash-sharing group, then wraps its records in a ``Portfolio``.
Per session, the pre-segment callback asks ``orders.plan_session`` for the session's fills
(sales first, lots, limits, suspensions, costs, cash) from the cash and positions vectorbt
carries, and the flexible order callback hands them to vectorbt one by one; the post-segment
callback keeps the equity. The kernel's log says what happened to every instruction, including
those that did not fill. (Calling the engine ourselves, rather than ``from_order_func``, is what
lets its build for our callbacks live in numba's disk cache: a new process loads it in ~0.3 s
instead of compiling for ~7 s.)

``simulate_plain`` runs the same weights through ``Portfolio.from_orders`` without the A-share
rules, as the baseline that shows what the rules cost.

Corporate actions (``MarketArrays.ex_ratio``): at the start of an ex-date, before any order,
every holding is multiplied by the ratio of the previous close to the exchange's ex-rights
reference price, at no cost and with cash unchanged, so its value is continuous. Bonus shares and
splits (送转) are exact. The store does not keep cash dividends apart, so a dividend is reinvested
at the reference price: returns are total returns, as on the back-adjusted series. Holdings
become fractional; a full sale sells all of it, a partial one whole lots. The actions are in
``orders`` (status ``corporate_action``, no costs), not in ``trades``; vectorbt's own records
carry them as orders whose fixed fee is minus their value (so its own trade and fee statistics
count them: read trades and costs from ``trades``). ``simulate_plain`` has no corporate actions:
it runs on raw prices.

vectorbt is imported on first use only (about 2-3 s), so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np
import polars as pl
from numba import njit

from screener import rules
from screener.rules import CostModel, board_lots
from screener.thesis import orders as ex
from screener.thesis.compile import Compiled
from screener.thesis.metrics import SHARE_NOISE, round_trips
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Thesis

Entry = Literal["open", "close"]
LONG_ONLY = 0  # vectorbt Direction.LongOnly

# vectorbt.portfolio.nb, bound by _vectorbt() before the callbacks below are first compiled:
# numba reads globals at compile time, so this module can be imported without vectorbt.
_vbt_nb: Any = None
# Hash of what _simulate_nb's build depends on outside this file (orders.py, rules.py, the
# vectorbt and numba versions), also bound by _vectorbt(); numba freezes it into the build.
_fingerprint = 0
# numba can cache a function that passes callbacks on only when it reaches them as module
# attributes (a bare global dispatcher is an unpicklable address), hence this self-reference.
_this = sys.modules[__name__]


@dataclass(frozen=True)
class MarketArrays:
    """Raw (unadjusted) market data, dense: sessions × tickers.

    ``close`` values the book (suspended days carry the last close); ``open``/``close`` are fill
    prices. Limits are NaN where there is none. ``lot_min``/``lot_step`` per ticker: main and
    ChiNext 100/100, STAR 200/1, BSE 100/1 (see ``rules.board_lots``). ``ex_ratio``: on an ex-date,
    the previous close over the exchange's reference price (前收盘价), by which holdings multiply
    at the open; 1.0 elsewhere, and None for no corporate actions at all.
    """

    dates: np.ndarray  # (sessions,) datetime64[D]
    tickers: tuple[str, ...]
    open: np.ndarray
    close: np.ndarray
    up_limit: np.ndarray
    down_limit: np.ndarray
    suspended: np.ndarray  # bool
    lot_min: np.ndarray  # (tickers,)
    lot_step: np.ndarray  # (tickers,)
    ex_ratio: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = (len(self.dates), len(self.tickers))
        for name in ("open", "close", "up_limit", "down_limit", "suspended"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"MarketArrays.{name} must have shape {shape}")
        for name in ("lot_min", "lot_step"):
            lots = np.asarray(getattr(self, name))
            if lots.shape != shape[1:] or not np.all(lots >= 1):
                raise ValueError(f"MarketArrays.{name} must be >= 1 per ticker")
        if self.ex_ratio is not None:
            if np.shape(self.ex_ratio) != shape:
                raise ValueError(f"MarketArrays.ex_ratio must have shape {shape}")
            if not np.all(np.isfinite(self.ex_ratio) & (np.asarray(self.ex_ratio) > 0)):
                raise ValueError("MarketArrays.ex_ratio must be finite and > 0 (1.0 = no action)")


@dataclass(frozen=True)
class Execution:
    """What a run did.

    ``equity``: date, value, cash (after each session's close). ``orders``: every instruction's
    outcome (date, ticker, side, requested, shares, price, value, commission, stamp_duty,
    transfer_fee, status in filled/blocked/pending/unfunded/corporate_action), in the order the
    engine met them (per session: corporate actions, sales and blocked buys by ticker, then funded
    buys); ``price`` is the fill
    price after slippage, or the session price that stopped the order; ``requested`` is the
    lot-rounded size asked for, ``shares`` what filled. ``trades``: the filled orders.
    ``portfolio``: the vectorbt Portfolio, for metrics.
    """

    equity: pl.DataFrame
    orders: pl.DataFrame
    trades: pl.DataFrame
    portfolio: Any


@njit  # not cached on its own: compiled into _simulate_nb (see there)
def _pre_segment_nb(c: Any, mkt: Any, weights: Any, fees: Any, book: Any) -> tuple[()]:
    """Plan session c.i from the holdings vectorbt carries (one group: columns are tickers)."""
    ex.plan_session(
        c.i, c.last_cash[c.group], c.last_position, c.last_val_price, mkt, weights, fees, book
    )
    return ()


@njit  # as _pre_segment_nb
def _flex_order_nb(c: Any, book: Any) -> Any:
    """Hand the planned fills to vectorbt in plan order (sales first); -1 ends the session."""
    k = c.call_idx
    if k >= book.n_plan[0]:
        return -1, _vbt_nb.order_nothing_nb()
    order = _vbt_nb.order_nb(
        size=book.plan_size[k],
        price=book.plan_price[k],
        fixed_fees=book.plan_cost[k],
        direction=LONG_ONLY,
        allow_partial=False,
        raise_reject=True,  # the plan already fits the cash: a rejection is a bug, say so
    )
    return book.plan_col[k], order


@njit  # as _pre_segment_nb
def _post_segment_nb(c: Any, equity: Any) -> None:
    """Keep value and cash after the session's close (vectorbt has just revalued the book)."""
    equity[c.i, 0] = c.last_value[c.group]
    equity[c.i, 1] = c.last_cash[c.group]


@njit(cache=True)
def _simulate_nb(
    close: np.ndarray,
    init_cash: float,
    mkt: ex.MarketNb,
    weights: np.ndarray,
    fees: ex.FeesNb,
    book: ex.Book,
    equity: np.ndarray,
    n_actions: int,
) -> tuple[int, np.ndarray, np.ndarray]:
    """vectorbt's flexible order-function simulation (what ``Portfolio.from_order_func(...,
    flexible=True)`` runs), compiled for our callbacks once and kept in numba's disk cache.

    numba reuses a cached build after checking only this file's timestamp, so the build also
    returns the ``_fingerprint`` it was compiled with: ``_run`` recompiles on a mismatch.
    """
    n, m = close.shape
    order_records, log_records = _vbt_nb.flex_simulate_nb(
        target_shape=(n, m),
        group_lens=np.array([m]),
        init_cash=np.array([init_cash]),
        cash_sharing=True,
        segment_mask=np.ones((n, 1), dtype=np.bool_),
        pre_segment_func_nb=_this._pre_segment_nb,
        pre_segment_args=(mkt, weights, fees, book),
        post_segment_func_nb=_this._post_segment_nb,
        post_segment_args=(equity,),
        flex_order_func_nb=_this._flex_order_nb,
        flex_order_args=(book,),
        close=close,
        fill_pos_record=False,
        max_orders=n * m + 2 * n_actions,  # a corporate action takes up to two orders
    )
    return _fingerprint, order_records, log_records


def simulate(
    market: MarketArrays,
    signals: np.ndarray,
    *,
    entry: Entry = "open",
    costs: CostModel,
    init_cash: float = 1_000_000.0,
) -> Execution:
    """Execute ``signals[t, j]`` (target weight decided at the close of t, NaN = no instruction)
    at session t+1's ``entry`` price under A-share rules (see ``thesis.orders``).

    A weight is a share of the book's value at the close of t; on a held name it rebalances to
    that weight (0 exits), so send NaN to simply hold. The last session's instructions have no
    next session and are dropped.
    """
    weights = _checked(market, signals, entry)
    vbt = _vectorbt()
    price = market.open if entry == "open" else market.close
    mkt = ex.MarketNb(
        price=np.ascontiguousarray(price, dtype=np.float64),
        up_limit=np.ascontiguousarray(market.up_limit, dtype=np.float64),
        down_limit=np.ascontiguousarray(market.down_limit, dtype=np.float64),
        suspended=np.ascontiguousarray(market.suspended, dtype=np.bool_),
        lot_min=np.asarray(market.lot_min, dtype=np.float64),
        lot_step=np.asarray(market.lot_step, dtype=np.float64),
        stamp_rate=costs.stamp_rate_on(market.dates),
        transfer_rate=costs.transfer_rate_on(market.dates),
        ex_ratio=np.ones(price.shape)
        if market.ex_ratio is None
        else np.ascontiguousarray(market.ex_ratio, dtype=np.float64),
    )
    fees = ex.FeesNb(costs.commission_rate, costs.min_commission, costs.slippage_bps / 10_000.0)
    close = np.ascontiguousarray(market.close, dtype=np.float64)
    book, equity, order_records, log_records = _run(close, float(init_cash), mkt, weights, fees)
    close_frame = _frame(market, close)
    wrapper = vbt.base.array_wrapper.ArrayWrapper.from_obj(close_frame, freq="1D", group_by=True)
    init = np.array([float(init_cash)])
    pf = vbt.Portfolio(wrapper, close_frame, order_records, log_records, init, True)
    orders = _log_frame(market, book.log[: book.n_log[0]])
    trades = orders.filter(pl.col("status") == "filled")
    if book.n_fills[0] != len(order_records):
        raise RuntimeError(f"engine filled {len(order_records)} orders, plan {book.n_fills[0]}")
    days = np.asarray(market.dates, dtype="datetime64[D]")
    frame = pl.DataFrame({"date": days, "value": equity[:, 0], "cash": equity[:, 1]})
    return Execution(frame, orders, trades, pf)


def _run(
    close: np.ndarray, init_cash: float, mkt: ex.MarketNb, weights: np.ndarray, fees: ex.FeesNb
) -> tuple[ex.Book, np.ndarray, np.ndarray, np.ndarray]:
    """Run _simulate_nb on fresh state; rebuild it first if its cached build is out of date."""
    (n, m), n_actions = weights.shape, int(np.count_nonzero(mkt.ex_ratio != 1.0))
    for _ in range(2):
        book = ex.new_book(n, m, n_actions)
        equity = np.full((len(close), 2), np.nan)
        built_with, orders, logs = _simulate_nb(
            close, init_cash, mkt, weights, fees, book, equity, n_actions
        )
        if built_with == _fingerprint:
            return book, equity, orders, logs
        _simulate_nb.recompile()  # orders.py, rules.py, vectorbt or numba changed since cached
    raise RuntimeError("numba keeps loading a stale build of the execution engine")


def simulate_plain(
    market: MarketArrays,
    signals: np.ndarray,
    *,
    entry: Entry = "open",
    costs: CostModel,
    init_cash: float = 1_000_000.0,
) -> Execution:
    """The same instructions through plain ``from_orders`` (target percent, fractional shares,
    commission rate and slippage only): no lots, limits, suspensions, minimum or stamp duty."""
    weights = _checked(market, signals, entry)
    vbt = _vectorbt()
    size = np.vstack([np.full((1, weights.shape[1]), np.nan), weights[:-1]])  # t's decision → t+1
    price = market.open if entry == "open" else market.close
    pf = vbt.Portfolio.from_orders(
        _frame(market, market.close),
        size=size,
        size_type="targetpercent",
        price=np.asarray(price, dtype=np.float64),
        fees=costs.commission_rate,
        slippage=costs.slippage_bps / 10_000.0,
        direction="longonly",
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        init_cash=init_cash,
        freq="1D",
    )
    rec = pf.orders.values
    log = np.zeros(len(rec), dtype=ex.LOG_DTYPE)
    log["row"], log["col"], log["status"] = rec["idx"], rec["col"], ex.FILLED
    log["side"] = np.where(rec["side"] == 0, ex.BUY, ex.SELL)
    log["requested"], log["shares"], log["price"] = rec["size"], rec["size"], rec["price"]
    log["commission"] = rec["fees"]
    orders = _log_frame(market, np.sort(log, order=["row", "col"]))
    equity = pl.DataFrame(
        {
            "date": np.asarray(market.dates, dtype="datetime64[D]"),
            "value": pf.value().to_numpy(),
            "cash": pf.cash().to_numpy(),
        }
    )
    return Execution(equity, orders, orders, pf)


def _vectorbt() -> Any:
    """Import vectorbt (slow); bind its numba helpers and the fingerprint for the callbacks."""
    global _vbt_nb, _fingerprint
    import vectorbt as vbt
    from vectorbt.portfolio import nb as vbt_nb

    if _vbt_nb is None:
        digest = hashlib.sha256(Path(ex.__file__).read_bytes())
        digest.update(Path(rules.__file__).read_bytes())  # the lot and commission rules
        digest.update(f"{vbt.__version__} {numba.__version__}".encode())
        _vbt_nb, _fingerprint = vbt_nb, int(digest.hexdigest()[:15], 16)
    return vbt


def _checked(market: MarketArrays, signals: np.ndarray, entry: str) -> np.ndarray:
    """Signals as C-contiguous float64 after checking shape, sign and ``entry``."""
    if entry not in ("open", "close"):
        raise ValueError(f"entry must be 'open' or 'close', got {entry!r}")
    weights = np.ascontiguousarray(signals, dtype=np.float64)
    shape = (len(market.dates), len(market.tickers))
    if weights.shape != shape:
        raise ValueError(f"signals must have shape {shape}, got {weights.shape}")
    given = weights[~np.isnan(weights)]
    if not np.all(np.isfinite(given) & (given >= 0)):
        raise ValueError("target weights must be NaN (no instruction) or finite and >= 0")
    return weights


def _frame(market: MarketArrays, values: np.ndarray) -> Any:
    """A pandas frame labelled by date and ticker, as vectorbt wants it."""
    import pandas as pd

    index = pd.DatetimeIndex(np.asarray(market.dates, dtype="datetime64[ns]"), name="date")
    return pd.DataFrame(values, index=index, columns=list(market.tickers), dtype=np.float64)


def _log_frame(market: MarketArrays, log: np.ndarray) -> pl.DataFrame:
    """The order log as a frame with dates, tickers and names instead of indices."""
    dates = np.asarray(market.dates, dtype="datetime64[D]")
    return pl.DataFrame(
        {
            "date": dates[log["row"]],
            "ticker": np.asarray(market.tickers, dtype=object)[log["col"]].astype(str),
            "side": np.where(log["side"] == ex.BUY, "buy", "sell"),
            "requested": log["requested"],
            "shares": log["shares"],
            "price": log["price"],
            "value": log["shares"] * log["price"],
            "commission": log["commission"],
            "stamp_duty": log["stamp_duty"],
            "transfer_fee": log["transfer_fee"],
            "status": np.asarray(ex.STATUS_NAMES, dtype=object)[log["status"]].astype(str),
        }
    )


def positions(run: Execution) -> pl.DataFrame:
    """The book per session: date, ticker, shares held after the close, their value at the
    close (the last close through a suspension) and weight (value over the book's value).

    Read from vectorbt's own book, so each session's values plus its cash are its equity.
    """
    pf = run.portfolio
    shares = pf.assets().to_numpy()
    rows, cols = np.nonzero(shares > SHARE_NOISE)
    value = shares[rows, cols] * pf.close.to_numpy()[rows, cols]
    return pl.DataFrame(
        {
            "date": run.equity["date"].to_numpy()[rows],
            "ticker": np.asarray(pf.close.columns, dtype=object)[cols].astype(str),
            "shares": shares[rows, cols],
            "value": value,
            "weight": value / run.equity["value"].to_numpy()[rows],
        },
        schema=POSITION_SCHEMA,
    )


POSITION_SCHEMA = {
    "date": pl.Date,
    "ticker": pl.String,
    "shares": pl.Float64,
    "value": pl.Float64,
    "weight": pl.Float64,
}


# -- a compiled thesis through the engine -------------------------------------------------------
def execute(prep: Prepared, thesis: Thesis, compiled: Compiled) -> tuple[Execution, pl.DataFrame]:
    """Simulate the targets on the traded names; (Execution, round-trip trades)."""
    market, cols = traded_market(prep, compiled.target)
    costs = CostModel().with_overrides(**thesis.costs)
    run = simulate(
        market,
        compiled.target[:, cols],
        entry="open" if thesis.entry.at == "open" else "close",
        costs=costs,
        init_cash=thesis.init_cash,
    )
    return run, round_trips(run.orders)  # with the corporate actions in a trip


def traded_market(prep: Prepared, target: np.ndarray) -> tuple[MarketArrays, np.ndarray]:
    """The market of the names a target matrix ever instructs, and their columns in it."""
    cols = np.flatnonzero(np.isfinite(target).any(axis=0))
    if cols.size == 0:  # nothing ever traded: keep one column so the equity curve exists
        cols = np.array([0])
    a = prep.arrays
    lot_min, lot_step = board_lots([prep.boards[j] for j in cols])
    close = _ffill(a["close"][:, cols])
    market = MarketArrays(
        dates=np.array(prep.sessions, dtype="datetime64[D]"),
        tickers=tuple(prep.tickers[j] for j in cols),
        open=a["open"][:, cols],
        close=close,
        up_limit=a["up_limit"][:, cols],
        down_limit=a["down_limit"][:, cols],
        suspended=a["suspended"][:, cols] | ~np.isfinite(a["open"][:, cols]),
        lot_min=lot_min,
        lot_step=lot_step,
        ex_ratio=_ex_ratio(close, a["prev_close"][:, cols]),
    )
    return market, cols


def _ex_ratio(close: np.ndarray, prev_close: np.ndarray) -> np.ndarray:
    """Corporate-action ratio per session: the last close over the exchange's reference price
    (前收盘价); 1.0 where they agree or either is unknown. ``close`` is carried forward, so the
    ratio of an ex-date during a suspension lands on the first bar after it."""
    ratio = np.ones_like(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio[1:] = close[:-1] / prev_close[1:]
    acts = np.isfinite(ratio) & (ratio > 0) & (np.abs(ratio - 1.0) > 1e-6)
    return np.where(acts, ratio, 1.0)


def _ffill(values: np.ndarray) -> np.ndarray:
    """Carry the last known value down each column (valuation through suspensions)."""
    rows = np.arange(len(values))[:, None]
    last = np.maximum.accumulate(np.where(np.isfinite(values), rows, 0), axis=0)
    return np.take_along_axis(values, last, axis=0)
