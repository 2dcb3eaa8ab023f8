"""Event windows by role, around day 0: the session at whose close the names were picked.

- **selection** ``[-w, 0]``: the trigger's own lookback (the fall that made the names cheap).
  It is how the names came to be chosen, so its abnormal return is context, never tested.
- **reaction**: from the close of day 0 to the entry fill: the overnight gap of day 1 when the
  thesis enters at the open, all of day 1 when it enters at the close.
- **holding**: from the entry fill price to the close of day ``h`` (the thesis's hold, decided
  at that close): what a trader could have earned. The headline CAR and its tests live here.

An abnormal return is ``r - (a + b * bench)``: the market model's fitted alpha and beta, or the
sector model's ``a = 0, b = 1``. On an entry day at the open, the gap part is ``g - b * g_bench``
and the part from the fill is ``i - (a + b * i_bench)`` with ``i = (1 + r) / (1 + g) - 1``; the
day's alpha is counted in the holding part. The estimation window of the market model ends
``estimation_gap`` sessions before the selection window starts, so the fall never fits the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

ENTRY_DAY = 1  # signals at the close of day 0 fill on day 1 (open or close)
ROLES = ("selection", "reaction", "holding")


@dataclass(frozen=True)
class EventWindows:
    """Which relative session plays which role (see the module docstring)."""

    selection: tuple[int, int] = (-7, 0)
    holding_end: int = 20
    entry_at: str = "open"  # "open" or "close" of ENTRY_DAY
    estimation_sessions: int = 110
    estimation_gap: int = 5

    def __post_init__(self) -> None:
        first, last = self.selection
        if first > last or last != 0:
            raise ValueError("the selection window is (first, 0) with first <= 0")
        if self.holding_end < ENTRY_DAY or self.entry_at not in ("open", "close"):
            raise ValueError("holding_end must be >= 1 and entry_at 'open' or 'close'")
        if self.estimation_sessions < 3 or self.estimation_gap < 0:
            raise ValueError("estimation_sessions must be >= 3 and estimation_gap >= 0")

    @property
    def span(self) -> tuple[int, int]:
        """First and last relative day of the event window (selection start .. holding end)."""
        return self.selection[0], self.holding_end

    @property
    def estimation(self) -> tuple[int, int]:
        end = self.selection[0] - self.estimation_gap - 1
        return end - self.estimation_sessions + 1, end

    @property
    def first_holding_day(self) -> int:
        """The first session whose (part) return is held: the entry day at the open."""
        return ENTRY_DAY if self.entry_at == "open" else ENTRY_DAY + 1

    @property
    def holding_days(self) -> int:
        """Sessions in the holding window; the entry day's part from the open counts as one
        (the forecast variance of the holding CAR takes this many daily errors)."""
        return self.holding_end - self.first_holding_day + 1

    def role(self, rel_day: int) -> str:
        if rel_day <= 0:
            return "selection"
        return "holding" if rel_day >= self.first_holding_day else "reaction"

    def to_json(self) -> dict[str, Any]:
        return {
            "selection": list(self.selection),
            "reaction": f"close of day 0 to the {self.entry_at} of day {ENTRY_DAY}",
            "holding": [self.first_holding_day, self.holding_end],
            "entry_day": ENTRY_DAY,
            "entry_at": self.entry_at,
            "estimation": list(self.estimation),
        }


def split_abnormal(
    w: EventWindows,
    rel: np.ndarray,
    stock: tuple[np.ndarray, np.ndarray],
    bench: tuple[np.ndarray, np.ndarray],
    a: float,
    b: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Daily abnormal returns, the part of each day inside the holding window, and the reaction.

    ``stock`` and ``bench`` are (close-to-close return, open gap) per window row.
    """
    (r, g), (m, mg) = stock, bench
    daily = r - (a + b * m)
    held = np.where(rel >= w.first_holding_day, daily, 0.0)
    entry = np.flatnonzero(rel == ENTRY_DAY)
    if entry.size == 0:
        return daily, held, float("nan")
    e = int(entry[0])
    if w.entry_at == "close":
        return daily, held, float(daily[e])
    intraday = (1.0 + r[e]) / (1.0 + g[e]) - 1.0
    bench_intraday = (1.0 + m[e]) / (1.0 + mg[e]) - 1.0
    held[e] = intraday - (a + b * bench_intraday)
    return daily, held, float(g[e] - b * mg[e])


def holding_bench_sum(
    w: EventWindows, rel: np.ndarray, bench: tuple[np.ndarray, np.ndarray]
) -> float:
    """Sum of the benchmark's returns over the holding window (from the fill on the entry day),
    which the market model's forecast variance of the holding CAR needs."""
    m, mg = bench
    part = np.where(rel >= w.first_holding_day, m, 0.0)
    if w.entry_at == "open":
        day = rel == ENTRY_DAY
        part = np.where(day, (1.0 + m) / (1.0 + mg) - 1.0, part)
    return float(part.sum())


def car_by_role(abnormal: pl.DataFrame, w: EventWindows, models: tuple[str, ...]) -> pl.DataFrame:
    """Mean CAR per relative day, episodes weighted equally, for the chart and the table.

    Needs (event_date, ticker, rel_day, ar_<model>, hold_<model>). Selection days cumulate from
    the window's first day; reaction days from day 1; holding days from the entry fill. Only the
    holding days carry a standard error across episode means and a ``LEVEL`` band (t quantile,
    episodes - 1 degrees of freedom): the other roles are context.
    """
    from scipy import stats

    from screener.thesis.inference import LEVEL

    days = range(w.span[0], w.span[1] + 1)
    roles = pl.DataFrame({"rel_day": list(days), "role": [w.role(d) for d in days]})
    held = pl.col("role") == "holding"
    cum = abnormal.sort("rel_day").join(roles, on="rel_day", how="left", maintain_order="left")
    cum = cum.with_columns(
        pl.when(held)
        .then(pl.col(f"hold_{m}"))
        .otherwise(pl.col(f"ar_{m}"))
        .cum_sum()
        .over("event_date", "ticker", "role")
        .alias(f"car_{m}")
        for m in models
    )
    per_episode = cum.group_by("rel_day", "role", "event_date").agg(
        pl.len().alias("_names"), *(pl.col(f"car_{m}").mean() for m in models)
    )
    aggs: list[pl.Expr] = [pl.len().alias("n_episodes"), pl.col("_names").sum().alias("n_events")]
    for m in models:
        aggs += [
            pl.col(f"car_{m}").mean(),
            (pl.col(f"car_{m}").std(ddof=1) / pl.len().sqrt()).alias(f"se_{m}"),
        ]
    table = per_episode.group_by("rel_day", "role").agg(aggs).sort("rel_day")
    n = table.filter(pl.col("role") == "holding").get_column("n_episodes").max()
    q = float(stats.t.ppf(0.5 + LEVEL / 2, int(n) - 1)) if isinstance(n, int) and n > 1 else None
    derived: list[pl.Expr] = []
    for m in models:
        car, se = pl.col(f"car_{m}"), pl.col(f"se_{m}")
        usable = held & (se > 0) & pl.lit(q is not None)
        derived += [
            pl.when(usable).then(car / se).alias(f"t_{m}"),
            pl.when(usable).then(car - (q or 0.0) * se).alias(f"lo_{m}"),
            pl.when(usable).then(car + (q or 0.0) * se).alias(f"hi_{m}"),
            pl.when(held).then(se).alias(f"se_{m}"),
        ]
    return table.with_columns(derived).fill_nan(None)
