"""Price, volume and trading-limit factors: constructors that return ``Factor`` values.

Every time-series part runs per ticker on the panel (one row per session, see base.py) and reads
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

from screener.factors.base import SESSIONS_PER_YEAR, Factor, pct_change, per_ticker, safe_div

CLOSE = pl.col("adj_close")
RET = pl.col("ret_1d")
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
        per_ticker(pct_change(CLOSE, n)),
        lookback=n + 1,
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
        -per_ticker(pct_change(CLOSE, n)),
        lookback=n + 1,
        higher_is_better=True,
        doc=f"Short-term reversal, -ret_{n}d: the biggest recent fall ranks best.",
    )


def _wilder_mean(x: pl.Expr, n: int) -> pl.Expr:
    """Wilder's smoothing of ``x`` (first value at row ``n``; row 0 of ``x`` is null).

    Seed: the simple mean of the first ``n`` values (rows 1..n), placed at row ``n``; then
    ``avg = (avg * (n - 1) + x) / n``, i.e. an EWM with alpha 1/n, adjust=False, started from
    the seed rather than from the first value.
    """
    row = pl.int_range(pl.len())
    seeded = pl.when(row < n).then(None).when(row == n).then(x.rolling_mean(n)).otherwise(x)
    return seeded.ewm_mean(alpha=1.0 / n, adjust=False)


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
    change = CLOSE.diff()
    gain = _wilder_mean(change.clip(lower_bound=0.0), n)
    loss = _wilder_mean((-change).clip(lower_bound=0.0), n)
    return Factor(
        f"rsi_{n}",
        per_ticker(100.0 * safe_div(gain, gain + loss)),
        lookback=n + 1,
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
        per_ticker(CLOSE / CLOSE.rolling_max(n) - 1),
        lookback=n,
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
        per_ticker(CLOSE / CLOSE.rolling_mean(n) - 1),
        lookback=n,
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
        per_ticker(RET.rolling_std(n) * ANNUALISE),
        lookback=n + 1,
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
        per_ticker(RET.clip(upper_bound=0.0).rolling_std(n) * ANNUALISE),
        lookback=n + 1,
        higher_is_better=False,
        doc=f"Annualised std of min(ret_1d, 0) over {n} sessions; fewer falls rank better.",
    )


def _surge(column: str, n: int) -> pl.Expr:
    """Today's ``column`` over its mean of the previous ``n`` sessions (null if they were all 0)."""
    x = pl.col(column).cast(pl.Float64)
    before = x.shift(1)
    traded = (before > 0).cast(pl.Int32).rolling_sum(n)  # exact count: no float residue
    return per_ticker(pl.when(traded > 0).then(x / before.rolling_mean(n)))


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
        lookback=n + 1,
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
        lookback=n + 1,
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
    daily = safe_div(RET.abs(), pl.col("amount") / 1e8)
    return Factor(
        f"amihud_{n}d",
        per_ticker(daily.rolling_mean(n)),
        lookback=n + 1,
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
        # clip: a rolling mean of zeros can leave a -1e-9 residue after large values
        per_ticker(pl.col("amount").rolling_mean(n).clip(lower_bound=0.0)),
        lookback=n,
        higher_is_better=True,
        doc=f"Mean amount traded (CNY) over {n} sessions (liquidity); higher ranks better.",
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
    flag = pl.col(f"closed_limit_{side}").cast(pl.Int64)
    return Factor(
        f"limit_{side}_count_{n}d",
        per_ticker(flag.rolling_sum(n)),
        lookback=n,
        higher_is_better=side == "up",
        doc=f"Sessions closed at the limit-{side} price among the last {n}; "
        + ("more ranks better (strength)." if side == "up" else "fewer ranks better."),
    )
