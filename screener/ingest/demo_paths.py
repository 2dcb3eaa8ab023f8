"""Demo market building blocks: the session grid, seeded draws and bridged random walks.

Draws come from one generator per (seed, entity, calendar year), indexed by day of year, so a
date's draws never depend on the range asked for (screener.ingest.demo, model step 1).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from screener import calendar

D = dt.date.fromisoformat
HORIZON = D("2026-03-31")  # latent paths always reach this date: the episode is never cut
DF = 4.0  # Student-t degrees of freedom: fat tails
T_SCALE = float(np.sqrt((DF - 2.0) / DF))  # unit variance
Waypoints = tuple[tuple[dt.date, float], ...]


def waypoints(text: str) -> Waypoints:
    """Waypoints from ``"YYYY-MM-DD level, ..."``: compact enough to read as a table."""
    pairs = (item.split() for item in text.split(","))
    return tuple((D(day), float(level)) for day, level in pairs)


@dataclass(frozen=True)
class Grid:
    """The sessions the latent paths run on (from ``start`` to at least ``HORIZON``)."""

    dates: list[dt.date]
    days: np.ndarray  # datetime64[D]
    year: np.ndarray
    doy: np.ndarray  # 0-based day of year: the row of a yearly draw block

    @classmethod
    def build(cls, start: dt.date, end: dt.date) -> Grid:
        dates = calendar.sessions(start, max(end, HORIZON))
        days = np.array(dates, dtype="datetime64[D]")
        years = days.astype("datetime64[Y]")
        doy = (days - years.astype("datetime64[D]")).astype(np.int64)
        return cls(dates, days, years.astype(np.int64) + 1970, doy)

    @property
    def n(self) -> int:
        return len(self.dates)

    def row(self, day: dt.date) -> int:
        """First session on or after ``day`` (``n`` if none)."""
        return int(np.searchsorted(self.days, np.datetime64(day, "D")))


def seeded_draws(
    seed: int, key: str, grid: Grid, kt: int, ku: int = 0
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Unit-variance Student-t (n, kt) and uniform (n, ku) draws plus 8 event uniforms per year.

    One generator per (seed, key, year), so a date's draws never depend on the range asked for.
    """
    t, u = np.empty((grid.n, kt)), np.empty((grid.n, ku))
    events: dict[int, np.ndarray] = {}
    for year in np.unique(grid.year).tolist():
        rng = np.random.default_rng([seed, zlib.crc32(key.encode()), year])
        events[year] = rng.random(8)
        t_block = rng.standard_t(DF, size=(366, kt)) * T_SCALE
        u_block = rng.random((366, ku))
        rows = grid.year == year
        t[rows], u[rows] = t_block[grid.doy[rows]], u_block[grid.doy[rows]]
    return t, u, events


def bridge(r: np.ndarray, grid: Grid, path: Waypoints) -> np.ndarray:
    """Log levels of the walk ``r`` with a constant drift per segment so it meets each waypoint."""
    when = np.array([d for d, _ in path], dtype="datetime64[D]").astype(np.int64)
    logs = np.log([v for _, v in path])
    anchors = [(0, float(np.interp(grid.days[0].astype(np.int64), when, logs)))]
    anchors += [
        (int(np.searchsorted(grid.days.astype(np.int64), w)), lv)
        for w, lv in zip(when, logs, strict=True)
    ]
    r = r.copy()
    r[0] = 0.0
    for (a, la), (b, lb) in pairwise(anchors):
        if a < b < grid.n:
            r[a + 1 : b + 1] += (lb - la - r[a + 1 : b + 1].sum()) / (b - a)
    return anchors[0][1] + np.cumsum(r)


def ar1(x: np.ndarray, phi: float) -> np.ndarray:
    """y_t = phi * y_{t-1} + x_t along the first axis, from y_{-1} = 0."""
    y = np.empty_like(x)
    acc = np.zeros(x.shape[1:])
    for t in range(x.shape[0]):
        acc = phi * acc + x[t]
        y[t] = acc
    return y


def to_tick(x: np.ndarray, tick: float) -> np.ndarray:
    return np.round(np.rint(x / tick) * tick, 6)
