"""Placebo: the thesis's selection and holding rules on matched random non-trigger sessions.

A holding-window return means little alone: the same screen may earn as much on any day of
those years (a rising sector, a score that pays everywhere). So:

1. The thesis's number: per traded episode, the weighted mean return of its names from the
   entry fill (the open of the session after the signal, or its close) to the close of session
   +h (h = the thesis's hold); then the mean over episodes.
2. A pool per episode year: that year's sessions on which the trigger did not fire and whose
   holding window ends inside the data, in a seeded random order, screened as the thesis
   screens (``pick``: the same universe, filters, score, top_n and weights) until the year's
   share of ``POOL_SCREENS`` is spent (shares follow the years' episode counts). Sessions whose
   screen picks nobody are skipped, as is the thesis's retry (``select_within_sessions``): a
   placebo session is one on which the screen picks names.
3. Each of ``DRAWS`` draws takes, for every episode, a pool session of the episode's year (with
   replacement, so a finite pool does not shrink the spread) and averages as in (1).
4. The percentile is the share of draws below the thesis's number, ties counting half.
   ``percentile_range`` (5th to 95th) is the same percentile over ``POOL_RESAMPLES``
   resamples of the pools: how much a different pool of sessions could move it.

A screen costs ~5 ms, so a pool of sessions is screened, not every session of those years:
``pool`` in the result says how many sessions each year's draws came from.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

DRAWS = 1_000
POOL_SCREENS = 100  # ~0.5 s of screens on the demo market
MIN_SCREENS_PER_YEAR = 4
POOL_RESAMPLES = 100
SEED = 0

Weights = Mapping[str, float]


def holding_return(
    weights: Weights,
    signal: int,
    *,
    entry: np.ndarray,
    close: np.ndarray,
    column: Mapping[str, int],
    hold: int,
) -> float | None:
    """Weighted mean return of the names from the fill after ``signal`` to the close of
    ``signal + hold`` (the last close known by then, for a name suspended at the end); names
    without an entry price are left out (the fill did not happen)."""
    if not weights or signal + hold >= len(close):
        return None
    cols = np.array([column[t] for t in weights])
    w = np.array(list(weights.values()), dtype=float)
    held = close[signal + 1 : signal + hold + 1, cols]
    last = np.where(np.isfinite(held), np.arange(hold)[:, None], -1).max(axis=0)
    exit_price = np.where(last >= 0, held[np.maximum(last, 0), np.arange(cols.size)], np.nan)
    ret = exit_price / entry[signal + 1, cols] - 1.0
    ok = np.isfinite(ret) & (w > 0)
    return float(np.average(ret[ok], weights=w[ok])) if ok.any() else None


def placebo(
    *,
    sessions: list[dt.date],
    fired: np.ndarray,
    episodes: Mapping[int, Weights],
    pick: Callable[[int], Weights],
    measure: Callable[[Weights, int], float | None],
    hold: int,
    draws: int = DRAWS,
    seed: int = SEED,
) -> dict[str, Any]:
    """The thesis's holding return against ``draws`` matched random-session placebos (JSON-safe).

    ``episodes``: signal session -> weights of the traded episodes; ``pick``: the thesis's
    weights on a session; ``measure``: a holding return of ``hold`` sessions (see
    ``holding_return``).
    """
    own = {t: r for t, w in episodes.items() if (r := measure(w, t)) is not None}
    out: dict[str, Any] = {"draws": draws, "seed": seed, "episodes": len(own)}
    if not own:
        return out | {"percentile": None, "reason": "no traded episode with a whole holding"}
    years = Counter(sessions[t].year for t in own)
    rng = np.random.default_rng(seed)
    usable = [
        t
        for t in range(len(sessions) - hold)
        if not fired[t] and t not in episodes and sessions[t].year in years
    ]
    pools = {
        y: _pool(y, k, len(own), sessions, usable, pick, measure, rng) for y, k in years.items()
    }
    empty = sorted(y for y, pool in pools.items() if not pool)
    out["pool"] = {str(y): len(p) for y, p in sorted(pools.items())}
    if empty:
        reason = f"no non-trigger session of {', '.join(map(str, empty))} picks a name"
        return out | {"percentile": None, "reason": reason}
    stat = float(np.mean(list(own.values())))
    draw = {y: rng.integers(0, len(pools[y]), size=(draws, k)) for y, k in years.items()}
    placebos = sum(np.array(pools[y])[i].sum(axis=1) for y, i in draw.items()) / len(own)
    # the pool is a sample of each year's sessions: resampling it shows how far another pool
    # could move the percentile
    again = {y: rng.integers(0, len(p), size=(POOL_RESAMPLES, len(p))) for y, p in pools.items()}
    moved = sum(np.array(pools[y])[again[y][:, i]].sum(axis=2) for y, i in draw.items())
    spread = _percentile(stat, moved / len(own))
    return out | {
        "thesis_return": stat,
        "placebo_mean": float(placebos.mean()),
        "placebo_low": float(np.percentile(placebos, 2.5)),
        "placebo_high": float(np.percentile(placebos, 97.5)),
        "percentile": float(_percentile(stat, placebos[None, :])[0]),
        "percentile_range": [float(np.percentile(spread, 5)), float(np.percentile(spread, 95))],
    }


def _percentile(stat: float, placebos: np.ndarray) -> np.ndarray:
    """Per row of draws: the share below ``stat``, ties counting half, in percent."""
    below = (placebos < stat).sum(axis=1)
    tied = (placebos == stat).sum(axis=1)
    return 100.0 * (below + tied / 2.0) / placebos.shape[1]


def _pool(
    year: int,
    episodes: int,
    total: int,
    sessions: list[dt.date],
    usable: list[int],
    pick: Callable[[int], Weights],
    measure: Callable[[Weights, int], float | None],
    rng: np.random.Generator,
) -> list[float]:
    """Holding returns of the year's screened placebo sessions that picked names."""
    budget = max(MIN_SCREENS_PER_YEAR, round(POOL_SCREENS * episodes / total))
    candidates = [t for t in usable if sessions[t].year == year]
    out = []
    for t in rng.permutation(candidates)[:budget]:
        r = measure(pick(int(t)), int(t))
        if r is not None:
            out.append(r)
    return out
