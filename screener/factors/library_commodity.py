"""Sector and metal factors: the stock against the Shenwan nonferrous index and its metal.

``sector_close`` is 801050.SI on the same session. ``metal_close`` is the stock's metal series
joined as-of on the stock calendar (panel.py): foreign venues (LME, COMEX, FX) enter one session
late, and a value carried more than ``max_ffill_sessions`` sessions is null, so windows over it
are null too. Everything runs per ticker over that ticker's session rows (``windowed`` and the
``rolling_*`` verbs, see timeseries.py); a suspended session is a 0 stock return against the
benchmark's actual return (see library_price.py).
"""

from __future__ import annotations

import polars as pl

from screener.factors.base import Factor
from screener.factors.library_price import CLOSE, RET
from screener.factors.term import Term
from screener.factors.timeseries import pct_change, rolling_beta, rolling_corr

BENCHMARKS = {"sector": "sector_close", "metal": "metal_close"}


def _benchmark_ret(against: str) -> Term:
    if against not in BENCHMARKS:
        raise ValueError(f"against must be one of {sorted(BENCHMARKS)}, got {against!r}")
    return pct_change(pl.col(BENCHMARKS[against]), 1)  # per ticker: a kernel input


def beta(against: str, n: int) -> Factor:
    """``beta_{against}_{n}d``: cov(stock, benchmark) / var(benchmark) of ``n`` daily returns.

    ``against`` is ``"sector"`` (801050.SI) or ``"metal"`` (the stock's metal series). All ``n``
    pairs must be present, else null.

    Examples
    --------
    >>> example(beta("sector", 3), ret_1d=[None, 0.2, -0.2, 0.2],
    ...         sector_close=[100.0, 110.0, 99.0, 108.9])
    [None, None, None, 2.0]
    """
    bench = _benchmark_ret(against)
    return Factor(
        f"beta_{against}_{n}d",
        rolling_beta(RET, bench, n),
        higher_is_better=against == "metal",
        doc=f"Beta of daily returns to the {against} over {n} sessions (OLS slope).\n"
        + (
            "Higher ranks better: more leverage to the metal price."
            if against == "metal"
            else "Lower ranks better (low-beta names within the sector)."
        ),
    )


def correlation(against: str, n: int) -> Factor:
    """``corr_{against}_{n}d``: Pearson correlation of ``n`` daily returns with the benchmark.

    Null when either side did not move over the window (std 0), e.g. a suspended stock.

    Examples
    --------
    >>> example(correlation("metal", 3), ret_1d=[None, 0.01, -0.02, 0.03],
    ...         metal_close=[100.0, 101.0, 100.0, 100.5])
    [None, None, None, 0.7946]
    """
    bench = _benchmark_ret(against)
    return Factor(
        f"corr_{against}_{n}d",
        rolling_corr(RET, bench, n),
        higher_is_better=against == "metal",
        doc=f"Correlation of daily returns with the {against} over {n} sessions.\n"
        + (
            "Higher ranks better: a cleaner proxy for the metal."
            if against == "metal"
            else "Lower ranks better (diversifies the sector bet)."
        ),
    )


def metal_return(n: int) -> Factor:
    """``metal_ret_{n}d``: return of the stock's metal series over ``n`` sessions.

    Examples
    --------
    >>> example(metal_return(1), metal_close=[100.0, 103.0])
    [None, 0.03]
    """
    return Factor(
        f"metal_ret_{n}d",
        pct_change(pl.col("metal_close"), n),
        higher_is_better=True,
        doc=f"Return of the stock's metal series over {n} sessions (metal momentum).",
    )


def divergence(n: int) -> Factor:
    """``divergence_{n}d``: stock return minus its metal's return over ``n`` sessions.

    Very negative: the stock fell far more than its metal, the broker note's 错杀
    ("mis-killed") idea. ``higher_is_better`` is False so the most mis-killed ranks best, as an
    oversold screen wants.

    Examples
    --------
    >>> example(divergence(1), adj_close=[10.0, 9.0], metal_close=[100.0, 101.0])
    [None, -0.11]
    """
    gap = pct_change(CLOSE, n) - pct_change(pl.col("metal_close"), n)
    return Factor(
        f"divergence_{n}d",
        gap,
        higher_is_better=False,
        doc=f"Stock return minus its metal's return over {n} sessions; most negative ranks best.\n"
        "Very negative: the stock fell far more than its metal (错杀, mis-killed).",
    )


def relative_strength(n: int) -> Factor:
    """``rel_strength_{n}d``: stock return minus the sector index return over ``n`` sessions.

    Examples
    --------
    >>> example(relative_strength(1), adj_close=[10.0, 10.5], sector_close=[100.0, 102.0])
    [None, 0.03]
    """
    gap = pct_change(CLOSE, n) - pct_change(pl.col("sector_close"), n)
    return Factor(
        f"rel_strength_{n}d",
        gap,
        higher_is_better=True,
        doc=f"Stock return minus the 801050.SI return over {n} sessions; leaders rank better.",
    )
