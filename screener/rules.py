"""A-share market rules as pure functions: price limits, tradability, lots, T+1 and costs.

Every rule cites ../shared/reference/ashare_rules.md (Part A, sections A1-A6). The scalar
functions are the readable statement of a rule; the polars expressions are their vectorised
twins for whole bar frames (tests check that both agree). Nothing here reads files or the
environment: callers pass ``Settings.st_limit_switch`` and a thesis's ``CostModel`` down.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal, TypeVar

import numpy as np
import polars as pl

from screener.config import Settings
from screener.errors import ConfigError

BOARDS = ("main", "chinext", "star", "bse")
Side = Literal["buy", "sell"]
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)

# Before this date Shanghai and Shenzhen had no daily limit at all [M: 1996-12-16 from memory;
# the real bars agree: moves beyond 10% are ~7x rarer after it].
PRICE_LIMITS_FROM = dt.date(1996, 12, 16)
CHINEXT_20PCT_FROM = dt.date(2020, 8, 24)  # first ChiNext registration-system session (A1)
MAIN_REGISTRATION_FROM = dt.date(2023, 4, 10)  # main-board listings from here: registration (A1)
ST_LIMIT_SWITCH: dt.date = Settings.st_limit_switch  # the default lives in Settings only
NO_LIMIT_SESSIONS = 5  # registration-system listings trade without a limit this many sessions


# -- price-limit percent -------------------------------------------------------------------


def is_registration_listing(board: str, list_date: dt.date) -> bool:
    """Whether a listing on ``list_date`` came under the registration system (A1).

    STAR and BSE were registration boards from their launch; ChiNext from 2020-08-24; the main
    board for listings from 2023-04-10. Only used to decide the no-limit first sessions.
    """
    _check_board(board)
    if board == "chinext":
        return list_date >= CHINEXT_20PCT_FROM
    if board == "main":
        return list_date >= MAIN_REGISTRATION_FROM
    return True


def limit_pct(
    board: str,
    *,
    is_st: bool,
    on: dt.date,
    session_no: int | None = None,
    st_switch: dt.date = ST_LIMIT_SWITCH,
    registration: bool | None = None,
) -> int | None:
    """Daily limit in percent for one bar, or None when no limit applies (A1).

    ``session_no`` is the 1-based session count since listing (None: a seasoned stock).
    ``registration`` says whether the listing came under the registration system; None infers
    it from ``on``, which is wrong only for a listing a few sessions before a board's switch
    date (pass it, or use ``with_limit_pct`` whose ``list_date`` column settles it).

    No limit: before 1996-12-16; the first 5 sessions of registration listings (BSE: the
    first day only); the listing day of older main/ChiNext IPOs, whose 64%-144%-of-offer-price
    band is an order-validity band, not a daily limit, and is not modelled.

    >>> limit_pct("chinext", is_st=False, on=dt.date(2020, 8, 21))
    10
    >>> limit_pct("chinext", is_st=False, on=dt.date(2020, 8, 24))
    20
    """
    _check_board(board)
    if registration is None:
        registration = is_registration_listing(board, on)
    if on < PRICE_LIMITS_FROM:
        return None
    if session_no is not None and (
        session_no == 1 or (registration and board != "bse" and session_no <= NO_LIMIT_SESSIONS)
    ):
        return None
    if board == "main":
        return 5 if is_st and on < st_switch else 10
    if board == "chinext":
        if on >= CHINEXT_20PCT_FROM:
            return 20  # ST ChiNext too (A1)
        return 5 if is_st else 10
    return 20 if board == "star" else 30  # ST STAR 20, ST BSE 30 [M]


def limit_pct_expr(*, st_switch: dt.date = ST_LIMIT_SWITCH) -> pl.Expr:
    """``limit_pct`` as one polars expression (Int64, null = no limit), named ``limit_pct``.

    Reads columns ``board``, ``is_st`` (null counts as not ST), ``date``, ``session_no``
    (null: seasoned) and ``list_date`` (null: inferred from ``date``, as in ``limit_pct``).
    A board outside ``BOARDS`` makes the query fail rather than silently mean "no limit".
    """
    board = pl.col("board").cast(pl.Enum(BOARDS), strict=True)
    on = pl.col("date")
    st = pl.col("is_st").fill_null(False)
    n = pl.col("session_no")
    listed = pl.coalesce(pl.col("list_date"), on)
    registration = (
        pl.when(board == "chinext")
        .then(listed >= CHINEXT_20PCT_FROM)
        .when(board == "main")
        .then(listed >= MAIN_REGISTRATION_FROM)
        .otherwise(True)
    )
    no_limit_start = (
        (n == 1) | (registration & (board != "bse") & (n <= NO_LIMIT_SESSIONS))
    ).fill_null(False)
    pct = (
        pl.when((on < PRICE_LIMITS_FROM) | no_limit_start)
        .then(None)
        .when(board == "main")
        .then(pl.when(st & (on < st_switch)).then(5).otherwise(10))
        .when(board == "chinext")
        .then(pl.when(on >= CHINEXT_20PCT_FROM).then(20).when(st).then(5).otherwise(10))
        .when(board == "star")
        .then(20)
        .otherwise(30)
    )
    return pct.cast(pl.Int64).alias("limit_pct")


def with_limit_pct(frame: F, *, st_switch: dt.date = ST_LIMIT_SWITCH) -> F:
    """Add ``limit_pct`` (see ``limit_pct_expr`` for the columns it needs)."""
    return frame.with_columns(limit_pct_expr(st_switch=st_switch))


# -- limit prices ------------------------------------------------------------------------


def limit_prices(prev_close: np.ndarray, pct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up and down limit prices for ``prev_close`` at integer percent ``pct`` (10, 20, 5, 30).

    Exact: works in integer fen, so 1.15 at +10% gives 1.27 (float ``round`` gives 1.26).
    A NaN ``pct`` or ``prev_close`` gives NaN limits (no limit that day).

    >>> limit_prices(np.array([1.15]), np.array([10]))
    (array([1.27]), array([1.04]))
    """
    pc = np.asarray(prev_close, dtype=np.float64)
    p = np.asarray(pct, dtype=np.float64)
    valid = np.isfinite(pc) & np.isfinite(p)
    fen = np.where(valid, np.rint(pc * 100.0), 0).astype(np.int64)
    pi = np.where(valid, p, 0).astype(np.int64)
    up = (fen * (100 + pi) + 50) // 100
    down = (fen * (100 - pi) + 50) // 100
    nan = np.full(pc.shape, np.nan)
    return np.where(valid, up / 100.0, nan), np.where(valid, down / 100.0, nan)


def limit_price_exprs(prev_close: pl.Expr, pct: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``limit_prices`` as polars expressions: the same integer-fen half-up arithmetic (A2).

    Null or NaN in either input gives a null limit (no limit). ``round`` is half-to-even like
    ``np.rint`` and ``_yuan`` divides exactly, so both forms agree bit for bit (a test checks
    100k prices).
    """
    valid = prev_close.is_not_null() & prev_close.is_finite() & pct.is_not_null()
    fen = pl.when(valid).then((prev_close * 100.0).round(0).cast(pl.Int64))
    p = pct.cast(pl.Int64)
    up = (fen * (100 + p) + 50) // 100
    down = (fen * (100 - p) + 50) // 100
    return _yuan(up).alias("up_limit"), _yuan(down).alias("down_limit")


def _yuan(fen: pl.Expr) -> pl.Expr:
    """Integer fen to the nearest float yuan, as ``fen / 100.0`` does in numpy.

    Polars (2.1) divides by a literal as a multiplication by its reciprocal, one ulp off for
    about one price in seven (162.89000000000001); an exact 2-place decimal is not.
    """
    return (fen.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"))).cast(pl.Float64)


def with_limit_prices(frame: F) -> F:
    """Add (or replace) ``up_limit`` and ``down_limit`` from ``prev_close`` and ``limit_pct``.

    Null ``limit_pct`` gives null limits. Vendor limit prices, where a source has them, are the
    safer truth on ex-rights days (A2): prefer them and use this to fill sources without.
    """
    up, down = limit_price_exprs(pl.col("prev_close"), pl.col("limit_pct"))
    return frame.with_columns(up, down)


# -- tradability -------------------------------------------------------------------------

TRADABILITY_COLUMNS = (
    "suspended",
    "opened_limit_up",
    "opened_limit_down",
    "closed_limit_up",
    "closed_limit_down",
    "one_price_limit",
    "can_buy_open",
    "can_sell_open",
    "can_buy_close",
    "can_sell_close",
)


def _fen(col: str) -> pl.Expr:
    """A price in integer fen, so a float artefact cannot move a price across its limit."""
    return (pl.col(col) * 100.0).round(0).cast(pl.Int64)


def tradability_exprs() -> dict[str, pl.Expr]:
    """Boolean tradability flags over a BARS_DAILY frame, keyed by column name (A1, A6).

    A null limit means no limit, so the limit flags are False. Suspended: the ``suspended``
    flag or zero volume. Buying needs the price below the up limit, selling above the down
    limit; a one-price bar (一字板: open = high = low = close at a limit) cannot be traded
    against all day.
    """
    suspended = pl.col("suspended").fill_null(False) | (pl.col("volume") == 0).fill_null(False)
    up, down = _fen("up_limit"), _fen("down_limit")
    o, h, lo, c = _fen("open"), _fen("high"), _fen("low"), _fen("close")
    opened_up = (o >= up).fill_null(False)
    opened_down = (o <= down).fill_null(False)
    closed_up = (c >= up).fill_null(False)
    closed_down = (c <= down).fill_null(False)
    one_price = ((o == h) & (h == lo) & (lo == c)).fill_null(False)
    return {
        "suspended": suspended,
        "opened_limit_up": opened_up,
        "opened_limit_down": opened_down,
        "closed_limit_up": closed_up,
        "closed_limit_down": closed_down,
        "one_price_limit": one_price & (closed_up | closed_down),
        "can_buy_open": ~suspended & ~opened_up,
        "can_sell_open": ~suspended & ~opened_down,
        "can_buy_close": ~suspended & ~closed_up,
        "can_sell_close": ~suspended & ~closed_down,
    }


def tradability(frame: F) -> F:
    """Add the ``TRADABILITY_COLUMNS`` flags to a bars frame.

    Needs ``open, high, low, close, volume, suspended, up_limit, down_limit``; ``suspended`` is
    replaced by the wider flag (the vendor flag or zero volume).
    """
    return frame.with_columns(**tradability_exprs())


# -- lots and T+1 --------------------------------------------------------------------------


def _check_board(board: str) -> None:
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; expected one of {BOARDS}")


BOARD_LOTS = {"main": (100, 100), "chinext": (100, 100), "star": (200, 1), "bse": (100, 1)}
SHARE_EPS = 1e-9  # share counts come from float division: 299.9999999999 is 300


def board_lots(boards: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lot_min, lot_step) per board name: main and ChiNext 100/100, STAR 200/1, BSE 100/1 (A4).

    STAR's per-order caps (100,000 shares for limit orders) are not modelled.
    """
    for board in boards:
        _check_board(board)
    pairs = np.array([BOARD_LOTS[b] for b in boards], dtype=np.float64).reshape(-1, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def lot_buy_shares(shares: float, lot_min: float, lot_step: float) -> float:
    """Largest valid buy size not above ``shares``: lot_min, then lot_step increments.

    Plain arithmetic so that execution compiles this very function with numba.

    >>> lot_buy_shares(300.3, 100.0, 100.0), lot_buy_shares(205.0, 200.0, 1.0)
    (300.0, 205.0)
    """
    if shares + SHARE_EPS < lot_min:
        return 0.0
    return lot_min + math.floor((shares - lot_min) / lot_step + SHARE_EPS) * lot_step


def lot_sell_shares(shares: float, held: float, lot_min: float, lot_step: float) -> float:
    """Valid sale size for selling ``shares`` of ``held``: all of it (odd lots included), or a
    lot-rounded part of at least ``lot_min`` (A4)."""
    if shares + SHARE_EPS >= held:
        return held
    if shares + SHARE_EPS < lot_min:  # as lot_buy_shares (numba compiles each alone)
        return 0.0
    return lot_min + math.floor((shares - lot_min) / lot_step + SHARE_EPS) * lot_step


# -- costs -------------------------------------------------------------------------------

RateSteps = tuple[tuple[dt.date, float], ...]


@dataclass(frozen=True)
class CostModel:
    """Trading costs (A5); the defaults here are the only place they are written down.

    ``*_rates`` are date steps ``(from_date, rate)`` in ascending order; the first rate also
    applies before its date (sell-only stamp duty began 2008-09-19; older both-sides duty and
    per-share transfer fees are not modelled). Fees are not rounded to the fen.
    """

    commission_rate: float = 0.00025  # both sides
    min_commission: float = 5.0  # yuan per order
    stamp_duty_rates: RateSteps = ((dt.date(2008, 9, 19), 0.001), (dt.date(2023, 8, 28), 0.0005))
    transfer_fee_rates: RateSteps = (
        (dt.date(2015, 8, 1), 0.00002),
        (dt.date(2022, 4, 29), 0.00001),
    )
    slippage_bps: float = 0.0  # fills move this many basis points against the order

    def with_overrides(self, **overrides: Any) -> CostModel:
        """A copy with ``overrides`` (e.g. a thesis's ``[costs]`` table) after checking them.

        Numbers must be finite and >= 0 (rates < 1). Rate steps are pairs of a date (or ISO
        string) and a rate, dates strictly ascending. Anything else raises ConfigError naming
        the key.
        """
        known = {f.name for f in fields(self)}
        checked: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                raise ConfigError(f"costs: unknown key '{key}' (known: {', '.join(sorted(known))})")
            if key.endswith("_rates"):
                checked[key] = _rate_steps(key, value)
            else:
                checked[key] = _non_negative(key, value, below_one=key == "commission_rate")
        return replace(self, **checked)

    def commission(self, value: float) -> float:
        """Broker commission on one order of ``value`` yuan: rate with a per-order minimum."""
        if value <= 0:
            return 0.0
        return commission(value, self.commission_rate, self.min_commission)

    def stamp_duty(self, value: float, on: dt.date, side: Side) -> float:
        """Stamp duty: sells only, at the rate in force ``on``."""
        if _side(side) == "buy":
            return 0.0
        return value * _scalar_rate(self.stamp_duty_rates, on)

    def transfer_fee(self, value: float, on: dt.date) -> float:
        """CSDC transfer fee: both sides, at the rate in force ``on``."""
        return value * _scalar_rate(self.transfer_fee_rates, on)

    def total(self, value: float, on: dt.date, side: Side) -> float:
        """All fees of one order (commission + stamp duty + transfer fee); slippage excluded."""
        return (
            self.commission(value) + self.stamp_duty(value, on, side) + self.transfer_fee(value, on)
        )

    def fill_price(self, price: float, side: Side) -> float:
        """The price a fill gets after slippage: buys pay up, sells receive less."""
        sign = 1.0 if _side(side) == "buy" else -1.0
        return price * (1.0 + sign * self.slippage_bps / 10_000.0)

    def stamp_rate_on(self, dates: np.ndarray) -> np.ndarray:
        """Sell-side stamp-duty rate per date (float64; NaT gives NaN), for numba kernels."""
        return _rates_on(self.stamp_duty_rates, dates)

    def transfer_rate_on(self, dates: np.ndarray) -> np.ndarray:
        """Transfer-fee rate per date (float64; NaT gives NaN), for numba kernels."""
        return _rates_on(self.transfer_fee_rates, dates)


def commission(value: float, rate: float, minimum: float) -> float:
    """Commission on one order: ``rate`` of its value, at least ``minimum`` yuan (A5). Plain
    arithmetic: execution compiles this very function with numba."""
    return max(value * rate, minimum)


def _side(side: str) -> Side:
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    return "buy" if side == "buy" else "sell"


def _rates_on(steps: RateSteps, dates: np.ndarray) -> np.ndarray:
    """Look up step rates for an array of dates (any datetime64 unit)."""
    days = np.asarray(dates).astype("datetime64[D]")
    starts = np.array([d for d, _ in steps], dtype="datetime64[D]")
    rates = np.array([r for _, r in steps], dtype=np.float64)
    idx = np.clip(np.searchsorted(starts, days, side="right") - 1, 0, len(steps) - 1)
    return np.where(np.isnat(days), np.nan, rates[idx])


def _scalar_rate(steps: RateSteps, on: dt.date) -> float:
    return float(_rates_on(steps, np.array([on], dtype="datetime64[D]"))[0])


def _non_negative(key: str, value: Any, *, below_one: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"costs: '{key}' must be a number, got {value!r}")
    if value < 0 or (below_one and value >= 1):
        bound = "in [0, 1)" if below_one else ">= 0"
        raise ConfigError(f"costs: '{key}' must be {bound}, got {value!r}")
    return float(value)


def _rate_steps(key: str, value: Any) -> RateSteps:
    """Check ``[(date, rate), ...]``: at least one step, ISO strings allowed, dates ascending."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ConfigError(f"costs: '{key}' must be a non-empty list of [date, rate] pairs")
    steps: list[tuple[dt.date, float]] = []
    for item in value:
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
            raise ConfigError(f"costs: '{key}' entries must be [date, rate] pairs, got {item!r}")
        when, rate = item
        try:
            day = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
        except ValueError:
            raise ConfigError(f"costs: '{key}' has a bad date {when!r}") from None
        if isinstance(day, dt.datetime):
            day = day.date()
        steps.append((day, _non_negative(key, rate, below_one=True)))
    if any(a[0] >= b[0] for a, b in pairwise(steps)):
        raise ConfigError(f"costs: '{key}' dates must be strictly ascending")
    return tuple(steps)
