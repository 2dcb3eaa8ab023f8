"""How much a sweep's best configuration owes to having tried many: independent trials and PBO.

- ``effective_trials``: configurations whose curves are identical are one trial; the distinct
  ones count as ``rho + (1 - rho) * M`` independent trials, where ``rho`` is the mean pairwise
  correlation of their session returns (M uncorrelated trials count M, M copies count 1). The
  deflated Sharpe ratio's hurdle (analytics.expected_max_sharpe) takes this count, not the raw
  grid size, so near-duplicate configurations neither inflate nor hide the search.
- ``pbo``: the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado & Zhu 2017). The sessions are cut into
  ``blocks`` equal blocks; for every way of choosing half of them as the training set, the
  configuration with the best training Sharpe is ranked among all on the other half. PBO is the
  share of splits where it lands at or below the median (logit of its relative rank <= 0).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

BLOCKS = 16  # C(16, 8) = 12,870 splits
_BATCH = 2_048  # splits scored at once: bounds memory at ~2,048 x configurations floats
_ZERO_SD = 1e-12


def distinct_rows(values: np.ndarray) -> np.ndarray:
    """Indices of the first of each group of identical rows (configurations that did the same)."""
    _, first = np.unique(values, axis=0, return_index=True)
    return np.sort(first)


def effective_trials(returns: np.ndarray) -> dict[str, Any]:
    """Independent trials among configurations (rows of session returns); JSON-safe.

    Flat rows (a configuration that never traded) have no correlation: they count once, as a
    trial of their own, when present.
    """
    rows = returns[distinct_rows(returns)]
    moving = rows[rows.std(axis=1) >= _ZERO_SD]
    m = moving.shape[0]
    flat = rows.shape[0] - m
    if m < 2:
        return {"effective": float(m + flat), "mean_corr": None, "distinct": int(rows.shape[0])}
    corr = np.corrcoef(moving)
    rho = float(corr[np.triu_indices(m, k=1)].mean())
    effective = min(max(rho + (1.0 - rho) * m, 1.0), float(m)) + flat
    return {"effective": effective, "mean_corr": rho, "distinct": int(rows.shape[0])}


def _block_sums(returns: np.ndarray, blocks: int) -> tuple[np.ndarray, ...]:
    """Per block and configuration: count, sum and sum of squares of session returns."""
    cuts = np.array_split(np.arange(returns.shape[1]), blocks)
    count = np.array([c.size for c in cuts], dtype=float)[:, None]
    total = np.stack([returns[:, c].sum(axis=1) for c in cuts])
    square = np.stack([(returns[:, c] ** 2).sum(axis=1) for c in cuts])
    return count, total, square


def _sharpe(count: np.ndarray, total: np.ndarray, square: np.ndarray) -> np.ndarray:
    """Per-session Sharpe from pooled sums; 0 for a flat configuration (no return, no risk)."""
    mean = total / count
    var = np.maximum(square - total * mean, 0.0) / (count - 1.0)
    sd = np.sqrt(var)
    return np.divide(mean, sd, out=np.zeros_like(mean), where=sd >= _ZERO_SD)


def pbo(returns: np.ndarray, *, blocks: int = BLOCKS) -> dict[str, Any]:
    """PBO by CSCV of configurations (rows) of session returns (columns); JSON-safe.

    The best training configuration is the first of equals; its rank among the test Sharpes
    averages ties, and its relative rank is rank / (configurations + 1).
    """
    n_configs, n_sessions = returns.shape
    blocks = min(blocks, 2 * (n_sessions // 4))  # even, at least two sessions a block
    out: dict[str, Any] = {"pbo": None, "blocks": blocks, "combinations": 0}
    if n_configs < 2 or blocks < 2:
        return out
    sums = _block_sums(returns, blocks)
    chosen = np.array(list(combinations(range(blocks), blocks // 2)))
    splits = np.zeros((len(chosen), blocks))
    np.put_along_axis(splits, chosen, 1.0, axis=1)  # 1 marks a training block
    logits = np.concatenate(
        [_logits(splits[i : i + _BATCH], sums) for i in range(0, len(splits), _BATCH)]
    )
    return out | {"pbo": float(np.mean(logits <= 0.0)), "combinations": len(splits)}


def _logits(train: np.ndarray, sums: tuple[np.ndarray, ...]) -> np.ndarray:
    """Logit of the test rank of each split's best training configuration."""
    fit = _sharpe(*(train @ s for s in sums))
    held_out = _sharpe(*((1.0 - train) @ s for s in sums))
    chosen = np.argmax(fit, axis=1)
    score = held_out[np.arange(len(chosen)), chosen][:, None]
    below = (held_out < score).sum(axis=1)
    tied = (held_out == score).sum(axis=1)  # includes the chosen one itself
    omega = (below + (tied + 1) / 2.0) / (held_out.shape[1] + 1.0)
    return np.log(omega / (1.0 - omega))
