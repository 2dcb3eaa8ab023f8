"""Tests for screener.thesis.overfitting: independent trials and PBO by hand and by a slow twin."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import rankdata

from screener.thesis.overfitting import distinct_rows, effective_trials, pbo


def test_identical_configurations_are_one_trial() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.01, (2, 500))
    returns = np.vstack([a, a, b, a])
    assert distinct_rows(returns).tolist() == [0, 2]
    out = effective_trials(returns)
    rho = np.corrcoef(a, b)[0, 1]
    assert out["distinct"] == 2 and out["mean_corr"] == pytest.approx(rho)
    assert out["effective"] == pytest.approx(rho + (1 - rho) * 2)
    assert effective_trials(np.vstack([a, a, a]))["effective"] == 1.0


def test_correlated_trials_count_less_than_their_number() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(0, 0.01, 1_000)
    returns = common + rng.normal(0, 0.005, (6, 1_000))  # pairwise correlation ~0.8
    out = effective_trials(returns)
    upper = np.corrcoef(returns)[np.triu_indices(6, k=1)]
    assert out["mean_corr"] == pytest.approx(upper.mean())
    assert out["effective"] == pytest.approx(upper.mean() + (1 - upper.mean()) * 6)
    assert 1.5 < out["effective"] < 2.5
    flat = effective_trials(np.vstack([returns[:2], np.zeros(1_000)]))
    assert flat["distinct"] == 3 and flat["effective"] == pytest.approx(
        np.corrcoef(returns[:2])[0, 1] + (1 - np.corrcoef(returns[:2])[0, 1]) * 2 + 1
    )


def test_pbo_worked_by_hand() -> None:
    """A shines in blocks 0-1 and sinks in 2-3; B earns a little everywhere. Of the six ways
    to train on two blocks, A wins training only on {0, 1} (then ranks last on {2, 3}); on
    {2, 3} B wins and ranks last on {0, 1}; on the four mixed splits A nets zero, B wins
    training and ranks first on test. Two of six splits overfit: PBO = 1/3."""
    a = [0.02, 0.01] * 2 + [-0.02, -0.01] * 2
    b = [0.001, 0.0] * 4
    out = pbo(np.array([a, b]), blocks=4)
    assert out == {"pbo": pytest.approx(1 / 3), "blocks": 4, "combinations": 6}


def _pbo_slow(returns: np.ndarray, blocks: int) -> float:
    """The paper's steps with loops: every half of the blocks trains, the rest tests."""
    cuts = np.array_split(np.arange(returns.shape[1]), blocks)
    logits = []
    for train in itertools.combinations(range(blocks), blocks // 2):
        rows_in = np.concatenate([cuts[i] for i in train])
        rows_out = np.concatenate([cuts[i] for i in range(blocks) if i not in train])

        def sharpe(rows: np.ndarray) -> np.ndarray:
            x = returns[:, rows]
            return x.mean(axis=1) / x.std(axis=1, ddof=1)

        best = int(np.argmax(sharpe(rows_in)))
        rank = rankdata(sharpe(rows_out))[best]
        omega = rank / (returns.shape[0] + 1)
        logits.append(np.log(omega / (1 - omega)))
    return float(np.mean(np.array(logits) <= 0))


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_pbo_equals_a_slow_twin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.0, 0.0008, 5)[:, None]
    returns = skill + rng.normal(0, 0.01, (5, 403))  # 403 sessions: unequal blocks
    assert pbo(returns, blocks=8)["pbo"] == pytest.approx(_pbo_slow(returns, 8))


def test_pbo_separates_skill_from_noise() -> None:
    rng = np.random.default_rng(5)
    noise = [pbo(rng.normal(0, 0.01, (12, 600)), blocks=10)["pbo"] for _ in range(15)]
    assert 0.3 < np.mean(noise) < 0.7  # the in-sample best of noise is a coin flip out of it
    skill = np.linspace(0, 0.002, 12)[:, None] + rng.normal(0, 0.01, (12, 600))
    assert pbo(skill, blocks=10)["pbo"] < 0.1
    assert pbo(skill[:1])["pbo"] is None
