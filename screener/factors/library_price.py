"""Price, volume and trading-limit factors: constructors that return ``Factor`` values.

Every time-series part runs per ticker on the panel (one row per session) through the verbs of
timeseries.py, which derive each factor's lookback from the windows it uses. They read
back-adjusted prices (``adj_close``: raw x adj_factor, never forward-adjusted) and the panel's
``ret_1d``. Values are null until the lookback is filled.

Suspended sessions are ordinary sessions in every window: the panel carries the last close, so
their return is 0 and their volume and amount are 0. A long suspension therefore lowers
volatility and volume averages; screens exclude such names with the panel's ``suspended`` flag
rather than factors skipping days (which would make a 20-session window span months).
"""

from __future__ import annotations

import math

import polars as pl

from screener.factors.base import SESSIONS_PER_YEAR, Factor
from screener.factors.term import Term, combine, term
from screener.factors.timeseries import (
    lag,
    pct_change,
    rolling_count,
    rolling_max,
    rolling_mean,
    rolling_std,
    safe_div,
    wilder_mean,
)

CLOSE = term(pl.col("adj_close"))
RET = Term(pl.col("ret_1d"), 2)  # the panel's ret_1d reads the previous close
ANNUALISE = math.sqrt(SESSIONS_PER_YEAR)


def _sessions(n: int) -> str:
    return "1 session" if n == 1 else f"{n} sessions"


def returns(n: int) -> Factor:
    """``ret_{n}d``: return of the back-adjusted close over ``n`` sessions (momentum).

    Examples
    --------
    >>> example(returns(2), adj_close=[10.0, 10.5, 11.0])
    [None, None, 0.1]
    """
    return Factor(
        f"ret_{n}d",
        pct_change(CLOSE, n),
        higher_is_better=True,
        doc=f"Return over {_sessions(n)}, adj_close / adj_close {_sessions(n)} ago - 1.\n"
        "Momentum: higher ranks better.",
    )


def reversal(n: int) -> Factor:
    """``reversal_{n}d``: minus the ``n``-session return, so recent losers rank best.

    Examples
    --------
    >>> example(reversal(1), adj_close=[10.0, 9.0])
    [None, 0.1]
    """
    return Factor(
        f"reversal_{n}d",
        -pct_change(CLOSE, n),
        higher_is_better=True,
        doc=f"Short-term reversal, -ret_{n}d: the biggest recent fall ranks best.",
    )


def rsi(n: int = 14) -> Factor:
    """``rsi_{n}``: Wilder's relative strength index, 100 x avg gain / (avg gain + avg loss).

    Wilder's recursion has infinite memory: a value depends on where the data start by a
    factor ((n-1)/n)^k after k sessions; ``engine.compute_factors`` loads enough history for
    that to be below 1e-7.

    Examples
    --------
    >>> example(rsi(2), adj_close=[10.0, 11.0, 10.5, 10.8])
    [None, None, 66.6667, 76.1905]
    """
    # on a ticker's first row a change reads the previous ticker: wilder_mean skips that row
    change = CLOSE.map(pl.Expr.diff)
    gain = wilder_mean(change.map(lambda c: c.clip(lower_bound=0.0)), n)
    loss = wilder_mean((-change).map(lambda c: c.clip(lower_bound=0.0)), n)
    return Factor(
        f"rsi_{n}",
        # Wilder's 100 - 100 / (1 + RS): 100 with no losses, 0 with no gains, else null (0/0)
        100.0 - 100.0 / (1.0 + gain / loss),
        higher_is_better=False,
        doc=f"Wilder's {n}-session RSI (0-100); low = oversold, so lower ranks better.\n"
        f"Seed: simple mean of the first {n} gains and losses; then (prev*{n - 1} + x)/{n}.",
    )


def drawdown(n: int) -> Factor:
    """``drawdown_{n}d``: adj_close over its ``n``-session high, minus 1 (0 at a new high).

    Examples
    --------
    >>> example(drawdown(3), adj_close=[10.0, 12.0, 9.0, 11.0])
    [None, None, -0.25, -0.0833]
    """
    return Factor(
        f"drawdown_{n}d",
        CLOSE / rolling_max(CLOSE, n) - 1,
        higher_is_better=True,
        doc=f"Distance below the {n}-session high, adj_close / rolling max - 1 (<= 0).\n"
        "Nearer the high ranks better; oversold_score uses it the other way round.",
    )


def ma_distance(n: int) -> Factor:
    """``ma_dist_{n}d``: adj_close over its ``n``-session simple moving average, minus 1.

    Examples
    --------
    >>> example(ma_distance(2), adj_close=[10.0, 12.0, 9.0])
    [None, 0.0909, -0.1429]
    """
    return Factor(
        f"ma_dist_{n}d",
        CLOSE / rolling_mean(CLOSE, n) - 1,
        higher_is_better=True,
        doc=f"Distance from the {n}-session moving average, adj_close / SMA - 1 (trend).",
    )


def volatility(n: int) -> Factor:
    """``vol_{n}d``: standard deviation (ddof 1) of ``n`` daily returns, x sqrt(242).

    Examples
    --------
    >>> example(volatility(2), ret_1d=[None, 0.01, -0.01])
    [None, None, 0.22]
    """
    return Factor(
        f"vol_{n}d",
        rolling_std(RET, n) * ANNUALISE,
        higher_is_better=False,
        doc=f"Annualised volatility of {n} daily returns (std x sqrt 242); calmer ranks better.",
    )


def downside_volatility(n: int) -> Factor:
    """``downside_vol_{n}d``: standard deviation of min(ret_1d, 0) over ``n`` sessions, annualised.

    Up days count as 0, so only falls add dispersion.

    Examples
    --------
    >>> example(downside_volatility(2), ret_1d=[None, 0.03, -0.01])
    [None, None, 0.11]
    """
    return Factor(
        f"downside_vol_{n}d",
        rolling_std(RET.map(lambda r: r.clip(upper_bound=0.0)), n) * ANNUALISE,
        higher_is_better=False,
        doc=f"Annualised std of min(ret_1d, 0) over {n} sessions; fewer falls rank better.",
    )


def _surge(column: str, n: int) -> Term:
    """Today's ``column`` over its mean of the previous ``n`` sessions (null if they were all 0)."""
    x = pl.col(column).cast(pl.Float64)
    before = lag(x, 1)
    traded = rolling_count(before > 0, n)  # an integer count: exact
    mean = combine(lambda m, t: pl.when(t > 0).then(m), rolling_mean(before, n), traded)
    return term(x) / mean


def volume_surge(n: int) -> Factor:
    """``volume_surge_{n}d``: volume over the mean volume of the previous ``n`` sessions.

    Examples
    --------
    >>> example(volume_surge(2), volume=[100.0, 300.0, 400.0])
    [None, None, 2.0]
    """
    return Factor(
        f"volume_surge_{n}d",
        _surge("volume", n),
        higher_is_better=True,
        doc=f"Volume / mean volume of the previous {n} sessions (attention); higher ranks better.",
    )


def amount_surge(n: int) -> Factor:
    """``amount_surge_{n}d``: traded value over its mean of the previous ``n`` sessions.

    Examples
    --------
    >>> example(amount_surge(2), amount=[1e6, 3e6, 1e6])
    [None, None, 0.5]
    """
    return Factor(
        f"amount_surge_{n}d",
        _surge("amount", n),
        higher_is_better=True,
        doc=f"Amount (CNY) / mean amount of the previous {n} sessions; higher ranks better.",
    )


def amihud(n: int) -> Factor:
    """``amihud_{n}d``: mean over ``n`` sessions of abs(ret_1d) per 100 million CNY traded.

    A day with no trading (suspended) has no ratio, so a window containing one is null.

    Examples
    --------
    >>> example(amihud(2), ret_1d=[None, 0.02, -0.01], amount=[1e8, 2e8, 5e7])
    [None, None, 0.015]
    """
    daily = safe_div(abs(RET), pl.col("amount") / 1e8)
    return Factor(
        f"amihud_{n}d",
        rolling_mean(daily, n),
        higher_is_better=False,
        doc=f"Amihud illiquidity: mean |ret_1d| per 1e8 CNY traded over {n} sessions; "
        "more liquid ranks better.",
    )


def avg_amount(n: int) -> Factor:
    """``avg_amount_{n}d``: mean traded value (CNY) over ``n`` sessions, for liquidity filters.

    Examples
    --------
    >>> example(avg_amount(2), amount=[1e6, 3e6, 0.0])
    [None, 2000000.0, 1500000.0]
    """
    return Factor(
        f"avg_amount_{n}d",
        # clip: a sliding mean can leave a -1e-9 residue after large values
        rolling_mean(pl.col("amount"), n).map(lambda m: m.clip(lower_bound=0.0)),
        higher_is_better=True,
        doc=f"Mean amount traded (CNY) over {n} sessions (liquidity); higher ranks better.",
    )


def amount_estimated(n: int) -> Factor:
    """``amount_estimated_{n}d``: sessions among the last ``n`` whose amount is an estimate.

    The panel estimates a bar's amount as close x volume where the vendor gave none; this says
    how many of the sessions behind ``avg_amount_{n}d`` rest on it (0: all from the vendor).

    Examples
    --------
    >>> example(amount_estimated(2), amount_estimated=[True, True, False])
    [None, 2.0, 1.0]
    """
    return Factor(
        f"amount_estimated_{n}d",
        rolling_count(pl.col("amount_estimated"), n),
        higher_is_better=False,
        doc=f"Sessions among the last {n} whose amount is close x volume (no vendor amount); "
        "fewer ranks better.",
    )


def limit_count(n: int, side: str) -> Factor:
    """``limit_{side}_count_{n}d``: sessions among the last ``n`` that closed at the limit.

    ``side`` is ``"up"`` or ``"down"``; reads the panel's ``closed_limit_up`` /
    ``closed_limit_down`` flags (rules.tradability: close at the official limit price).

    Examples
    --------
    >>> example(limit_count(2, "up"), closed_limit_up=[True, False, True])
    [None, 1.0, 1.0]
    """
    if side not in ("up", "down"):
        raise ValueError(f"side must be 'up' or 'down', got {side!r}")
    flag = pl.col(f"closed_limit_{side}")
    return Factor(
        f"limit_{side}_count_{n}d",
        rolling_count(flag, n),
        higher_is_better=side == "up",
        doc=f"Sessions closed at the limit-{side} price among the last {n}; "
        + ("more ranks better (strength)." if side == "up" else "fewer ranks better."),
    )
