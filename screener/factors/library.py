"""The shipped factor set: ``REGISTRY`` maps each name to its ``Factor``.

Names follow one family pattern, ``<what>_<window>d`` (``ret_20d``, ``drawdown_250d``,
``beta_metal_60d``), except ``rsi_14`` (the period, as traders write it). Definitions live in
library_price.py (price, volume, limits) and library_commodity.py (sector and metal); the
constructors there build other windows, e.g. ``returns(10)``. ``describe()`` is the table behind
``screener factors --list``.

Directions (``higher_is_better``) follow what a long-only screen calls better: momentum,
liquidity and metal leverage up; volatility, illiquidity and limit-down counts down; and the
oversold family (``reversal_5d`` up, ``rsi_14`` and ``divergence_*`` down) so that the most
oversold name ranks 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from screener.factors.base import Factor, FactorError, composite
from screener.factors.library_commodity import (
    beta,
    correlation,
    divergence,
    metal_return,
    relative_strength,
)
from screener.factors.library_price import (
    amihud,
    amount_estimated,
    amount_surge,
    avg_amount,
    downside_volatility,
    drawdown,
    limit_count,
    ma_distance,
    returns,
    reversal,
    rsi,
    volatility,
    volume_surge,
)

_BASE: tuple[Factor, ...] = (
    *(returns(n) for n in (1, 5, 20, 60, 120)),
    reversal(5),
    rsi(14),
    drawdown(60),
    drawdown(250),
    ma_distance(20),
    ma_distance(60),
    volatility(20),
    volatility(60),
    downside_volatility(20),
    volume_surge(20),
    amount_surge(20),
    amihud(20),
    avg_amount(20),
    amount_estimated(20),
    limit_count(20, "up"),
    limit_count(20, "down"),
    beta("sector", 60),
    correlation("sector", 60),
    beta("metal", 60),
    correlation("metal", 60),
    metal_return(5),
    metal_return(20),
    divergence(7),
    divergence(20),
    relative_strength(20),
)

# Weights apply to direction-corrected z-scores (base.composite). drawdown_250d and ret_20d
# call "near the high" and "up" better, so negative weights reward the deep fall an oversold
# screen looks for; rsi_14 and divergence_20d already rank the oversold / mis-killed name best.
OVERSOLD_WEIGHTS: dict[str, float] = {
    "drawdown_250d": -0.30,
    "ret_20d": -0.20,
    "rsi_14": 0.25,
    "divergence_20d": 0.25,
}

REGISTRY: dict[str, Factor] = {f.name: f for f in _BASE}
REGISTRY["oversold_score"] = composite(
    "oversold_score",
    OVERSOLD_WEIGHTS,
    "Oversold composite: deep 250d drawdown, weak 20d return, low RSI, fell more than its metal.\n"
    "Sum of cross-sectional z-scores per date: -0.30 drawdown_250d, -0.20 ret_20d, "
    "-0.25 rsi_14, -0.25 divergence_20d (signs as applied to the raw values); higher = more "
    "oversold; null if any part is null.",
    registry=REGISTRY,
)


def describe(names: list[str] | None = None) -> pl.DataFrame:
    """One row per factor: name, lookback (sessions), higher_is_better, summary.

    Examples
    --------
    >>> describe(["ret_20d"]).row(0)
    ('ret_20d', 21, True, 'Return over 20 sessions, adj_close / adj_close 20 sessions ago - 1.')
    """
    chosen = lookup(names) if names is not None else list(REGISTRY.values())
    return pl.DataFrame(
        {
            "name": [f.name for f in chosen],
            "lookback": [f.lookback for f in chosen],
            "higher_is_better": [f.higher_is_better for f in chosen],
            "summary": [f.summary for f in chosen],
        },
        schema={
            "name": pl.String,
            "lookback": pl.Int64,
            "higher_is_better": pl.Boolean,
            "summary": pl.String,
        },
    )


def lookup(names: Sequence[str], catalog: Mapping[str, Factor] = REGISTRY) -> list[Factor]:
    """The factors of ``catalog`` called ``names``, in order; FactorError names any unknown one.

    Examples
    --------
    >>> [f.lookback for f in lookup(["ret_5d", "drawdown_250d"])]
    [6, 250]
    """
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise FactorError(
            f"unknown factor(s): {', '.join(unknown)}",
            hint="`screener factors --list` shows the factor names",
        )
    return [catalog[n] for n in names]
