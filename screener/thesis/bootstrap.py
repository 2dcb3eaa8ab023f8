"""Stationary-bootstrap intervals for a backtest's Sharpe, annual return and max drawdown.

A point Sharpe from a few episodes looks precise and is not. The session returns of the equity
curve are resampled in blocks of random (geometric) length with mean ``mean_block`` sessions
(Politis & Romano 1994), so returns that share positions stay together; each resampled path is
scored as analytics.performance_metrics scores the real one (x242 sessions, no risk-free rate),
and the interval is the percentile one at inference.LEVEL.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from screener.thesis.inference import LEVEL
from screener.thesis.metrics import SESSIONS_PER_YEAR

RESAMPLES = 2_000
SEED = 0
_CHUNK = 250  # resampled paths scored at once: bounds memory at ~250 x sessions floats
_ZERO_SD = 1e-12  # as analytics: a smaller deviation is a flat curve, its Sharpe undefined
METRICS = ("sharpe", "annual_return", "max_drawdown")


def stationary_indices(
    n: int, resamples: int, mean_block: float, rng: np.random.Generator
) -> np.ndarray:
    """(resamples, n) indices into a series of n: blocks of geometric length (mean
    ``mean_block``) from uniform starts, wrapping past the last session to the first."""
    # three times the expected number of blocks: falling short of n is vanishingly rare, and
    # then the last block runs on to the end
    k = int(3 * n / mean_block) + 32
    ends = np.minimum(np.cumsum(rng.geometric(1.0 / mean_block, size=(resamples, k)), axis=1), n)
    ends[:, -1] = n
    lengths = np.diff(ends, axis=1, prepend=0).ravel()
    begins = np.cumsum(lengths) - lengths  # where each block begins in the flattened paths
    starts = rng.integers(0, n, size=lengths.size)
    index = np.repeat(starts - begins, lengths) + np.arange(resamples * n)
    return (index % n).reshape(resamples, n)


def path_metrics(returns: np.ndarray) -> dict[str, np.ndarray]:
    """Sharpe, annual return and max drawdown of each row of session returns."""
    n = returns.shape[1]
    sd = returns.std(axis=1, ddof=1)
    flat = sd < _ZERO_SD
    sharpe = np.where(flat, np.nan, returns.mean(axis=1) / np.where(flat, 1.0, sd))
    growth = np.cumprod(1.0 + returns, axis=1)
    peak = np.maximum.accumulate(np.maximum(growth, 1.0), axis=1)  # the start counts as a peak
    return {
        "sharpe": sharpe * math.sqrt(SESSIONS_PER_YEAR),
        "annual_return": growth[:, -1] ** (SESSIONS_PER_YEAR / n) - 1.0,
        "max_drawdown": np.minimum((growth / peak - 1.0).min(axis=1), 0.0),
    }


def metric_intervals(
    values: np.ndarray, *, mean_block: float, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, Any]:
    """Percentile intervals of ``METRICS`` over stationary-bootstrap paths of an equity curve.

    ``values``: the equity curve, one value per session. JSON-safe; an interval is None where
    the curve has fewer than three returns or every resampled path is flat.
    """
    rets = np.diff(values) / values[:-1]
    out: dict[str, Any] = {
        "method": "stationary bootstrap (Politis & Romano 1994)",
        "resamples": resamples,
        "mean_block": mean_block,
        "level": LEVEL,
        "seed": seed,
    }
    if rets.size < 3:
        return out | dict.fromkeys(METRICS)
    rng = np.random.default_rng(seed)
    scored: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    for done in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - done)
        idx = stationary_indices(rets.size, size, mean_block, rng)
        for key, value in path_metrics(rets[idx]).items():
            scored[key].append(value)
    tail = 100.0 * (1.0 - LEVEL) / 2.0
    for key in METRICS:
        sample = np.concatenate(scored[key])
        sample = sample[np.isfinite(sample)]
        out[key] = (
            [float(np.percentile(sample, tail)), float(np.percentile(sample, 100.0 - tail))]
            if sample.size
            else None
        )
    return out
