"""A seeded research panel: 40 names over 300 sessions with late listings, delistings,
unbuyable opens and ties, and the factors the research tests evaluate on it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from screener import calendar
from screener.factors.base import Factor
from screener.factors.library import REGISTRY
from screener.factors.timeseries import lag

METALS = ("copper", "gold", "tin", None)
# a factor with many ties: the 5-session return in whole percent
TIED = Factor(
    "ret_5d_pct",
    lag(pl.col("adj_close"), 5).map(
        lambda past: (pl.col("adj_close") / past - 1).mul(100).round(0)
    ),
    higher_is_better=True,
    doc="The 5-session return rounded to whole percent: many ties.",
)
FACTORS = (REGISTRY["ret_5d"], REGISTRY["ret_20d"], TIED)


def seeded_panel(seed: int, n_tickers: int = 40, n_sessions: int = 300) -> pl.DataFrame:
    """The panel columns research reads, one row per ticker and session of its life."""
    rng = np.random.default_rng(seed)
    days = calendar.sessions(dt.date(2023, 1, 3), dt.date(2025, 12, 31))[:n_sessions]
    frames = []
    for k in range(n_tickers):
        first = int(rng.integers(0, 40)) if k % 5 == 0 else 0
        last = n_sessions - int(rng.integers(1, 60)) if k % 7 == 0 else n_sessions
        n = last - first
        drift = rng.normal(0.0, 0.001)
        close = 10.0 * np.exp(np.cumsum(rng.normal(drift, 0.02, n)))
        frames.append(
            pl.DataFrame(
                {
                    "ticker": f"{600000 + k}.SH",
                    "date": days[first:last],
                    "adj_open": close * np.exp(rng.normal(0.0, 0.005, n)),
                    "adj_close": close,
                    "can_buy_open": rng.random(n) > 0.05,
                    "can_buy_close": rng.random(n) > 0.05,
                    "metal": METALS[k % len(METALS)],
                },
                schema_overrides={"metal": pl.String},
            )
        )
    return pl.concat(frames)
