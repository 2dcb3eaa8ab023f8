"""Inference on trigger episodes: the episode is the unit of evidence, not the name.

Names picked on one date share one market shock, so they are one draw, not ten. Every test here
takes one number per episode (e.g. the mean holding-window CAR of its names):

- ``t`` and ``p_t``: the one-sample t of the episode means (n - 1 degrees of freedom);
- ``p_permutation`` and the ``ci``: the sign-flip permutation test of a zero mean (all 2^n sign
  patterns up to ``EXACT_UP_TO`` episodes, else ``FLIPS`` seeded random ones) and the interval
  that inverts it: every mean the test would not reject at 1 - ``LEVEL``. It assumes episodes
  are independent and symmetric about their mean, not normal. Five episodes or fewer can never
  be rejected at 5% (at best p = 2/32), so their interval is unbounded: ``ci`` is None;
- ``mde``: the smallest true mean that a two-sided 5% t-test detects with 80% power at this n
  and dispersion (noncentral t), what the sample *could* have found.

Below ``MIN_EPISODES`` the result is "too few to conclude", whatever p says: a p-value from six
crashes describes six crashes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

import numpy as np
import polars as pl

MIN_EPISODES = 10
LEVEL = 0.95
POWER = 0.8
EXACT_UP_TO = 12  # 4,096 sign patterns
FLIPS = 4_000
SEED = 0
_ZERO_SD = 1e-12  # below this a sample's dispersion is float noise: no test


@dataclass(frozen=True)
class EpisodeTest:
    """Tests of a zero mean over one value per episode (JSON-safe via ``to_json``)."""

    n_episodes: int
    mean: float | None
    sd: float | None
    t: float | None
    p_t: float | None
    p_permutation: float | None
    ci_low: float | None  # None: unbounded (too few episodes to reject any mean)
    ci_high: float | None
    mde: float | None
    level: float = LEVEL
    power: float = POWER

    @property
    def too_few(self) -> bool:
        return self.n_episodes < MIN_EPISODES

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"too_few": self.too_few}


def too_few_text(n_episodes: int) -> str | None:
    """The one wording of a sample that cannot carry a conclusion (None when it can)."""
    if n_episodes == 0:
        return "no episode: nothing to test"
    if n_episodes < MIN_EPISODES:
        return f"{n_episodes} episode{'s' if n_episodes != 1 else ''}: too few to conclude"
    return None


def episode_means(frame: pl.DataFrame, column: str, *, by: str = "event_date") -> np.ndarray:
    """One value per episode: the mean of ``column`` over the episode's rows, in ``by`` order."""
    means = frame.group_by(by).agg(pl.col(column).mean()).sort(by).get_column(column)
    return means.drop_nulls().drop_nans().to_numpy().astype(float)


def episode_test(values: np.ndarray, *, seed: int = SEED) -> EpisodeTest:
    """t, sign-flip p and interval, and detectable effect for one value per episode."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n < 2 or float(x.std(ddof=1)) < _ZERO_SD:
        return _untestable(n, float(x.mean()) if n else None)
    from scipy import stats

    mean, sd = float(x.mean()), float(x.std(ddof=1))
    t = mean / (sd / math.sqrt(n))
    signs = sign_patterns(n, seed=seed)
    lo, hi = permutation_interval(x, signs)
    return EpisodeTest(
        n_episodes=n,
        mean=mean,
        sd=sd,
        t=t,
        p_t=float(2.0 * stats.t.sf(abs(t), n - 1)),
        p_permutation=permutation_p(x, signs),
        ci_low=lo,
        ci_high=hi,
        mde=minimum_detectable_effect(sd, n),
    )


def _untestable(n: int, mean: float | None) -> EpisodeTest:
    """No dispersion to test against: the mean alone, if any."""
    return EpisodeTest(
        n_episodes=n,
        mean=mean,
        sd=None,
        t=None,
        p_t=None,
        p_permutation=None,
        ci_low=None,
        ci_high=None,
        mde=None,
    )


def sign_patterns(n: int, *, seed: int = SEED) -> np.ndarray:
    """Rows of +-1: every pattern for small n, else the identity plus ``FLIPS`` random ones."""
    if n <= EXACT_UP_TO:
        return np.array(list(product((1.0, -1.0), repeat=n)))
    rng = np.random.default_rng(seed)
    random = rng.choice((1.0, -1.0), size=(FLIPS, n))
    return np.vstack([np.ones(n), random])


def permutation_p(x: np.ndarray, signs: np.ndarray, mu: float = 0.0) -> float:
    """Two-sided sign-flip p of mean ``mu``: the share of patterns at least as extreme."""
    centred = x - mu
    observed = abs(centred.mean())
    flipped = np.abs(signs @ centred) / x.size
    return float(np.mean(flipped >= observed - 1e-12 * (1.0 + observed)))


def permutation_interval(x: np.ndarray, signs: np.ndarray) -> tuple[float | None, float | None]:
    """The means the sign-flip test does not reject at 1 - LEVEL; None where unbounded.

    Each bound by bisection between the sample mean (never rejected) and a point beyond every
    observation (rejected whenever the test can reject at all).
    """
    alpha = 1.0 - LEVEL
    mean, spread = float(x.mean()), float(x.max() - x.min())
    bounds: list[float | None] = []
    for far in (float(x.min()) - spread, float(x.max()) + spread):
        if permutation_p(x, signs, far) > alpha:
            bounds.append(None)
            continue
        inside, outside = mean, far
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if permutation_p(x, signs, mid) > alpha:
                inside = mid
            else:
                outside = mid
        bounds.append(inside)
    return bounds[0], bounds[1]


def minimum_detectable_effect(sd: float, n: int, *, alpha: float = 1.0 - LEVEL) -> float | None:
    """Smallest true mean a two-sided one-sample t-test finds with ``POWER`` (noncentral t)."""
    from scipy import optimize, stats

    if n < 2 or sd <= 0.0:
        return None
    df = n - 1
    crit = float(stats.t.ppf(1.0 - alpha / 2.0, df))

    def shortfall(nc: float) -> float:
        # the far tail underflows to NaN in scipy for large nc; it is 0 there
        far = float(np.nan_to_num(stats.nct.cdf(-crit, df, nc)))
        return float(stats.nct.sf(crit, df, nc)) + far - POWER

    high = 1.0
    while shortfall(high) < 0.0:  # power rises with the noncentrality: bracket it
        high *= 2.0
    nc = optimize.brentq(shortfall, 0.0, high)
    return float(nc * sd / math.sqrt(n))
