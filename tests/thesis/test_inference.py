"""Tests for screener.thesis.inference: episode tests against scipy, statsmodels and hand counts."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from screener.thesis.inference import (
    MIN_EPISODES,
    episode_means,
    episode_test,
    minimum_detectable_effect,
    permutation_p,
    sign_patterns,
    too_few_text,
)


def test_t_matches_scipy_and_mde_matches_statsmodels() -> None:
    x = np.random.default_rng(0).normal(0.01, 0.04, 14)
    res = episode_test(x)
    ref = stats.ttest_1samp(x, 0.0)
    assert res.t == pytest.approx(ref.statistic) and res.p_t == pytest.approx(ref.pvalue)
    d = TTestPower().solve_power(nobs=14, alpha=0.05, power=0.8)  # Cohen's d
    assert res.mde == pytest.approx(d * x.std(ddof=1), rel=1e-5)
    for n in (2, 3, 6, 30):
        d = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8)
        assert minimum_detectable_effect(0.05, n) == pytest.approx(d * 0.05, rel=1e-5)


def test_sign_flip_p_counts_patterns_by_hand() -> None:
    x = np.array([0.03, 0.01, 0.02, -0.01])
    # 16 patterns of signs; the observed sum is 0.05. At least as far from 0: flipping
    # nothing, the -0.01, or the 0.01 and the -0.01 (sum 0.05, 0.07, 0.05), and the mirror
    # image of each: 6 of 16.
    assert permutation_p(x, sign_patterns(4)) == pytest.approx(6 / 16)
    sums = [abs(np.dot(s, x)) for s in itertools.product((1, -1), repeat=4)]
    assert permutation_p(x, sign_patterns(4)) == np.mean(np.array(sums) >= abs(x.sum()) - 1e-15)


def test_interval_inverts_the_test_and_is_unbounded_below_six_episodes() -> None:
    x = np.random.default_rng(1).normal(0.02, 0.03, 8)
    res = episode_test(x)
    signs = sign_patterns(8)
    assert res.ci_low is not None and res.ci_high is not None
    assert res.ci_low < res.mean < res.ci_high
    assert (
        permutation_p(x, signs, res.ci_low + 1e-6)
        > 0.05
        >= permutation_p(x, signs, res.ci_low - 1e-4)
    )
    assert (
        permutation_p(x, signs, res.ci_high - 1e-6)
        > 0.05
        >= permutation_p(x, signs, res.ci_high + 1e-4)
    )
    five = episode_test(np.array([0.05, 0.06, 0.04, 0.07, 0.05]))
    assert five.p_permutation == pytest.approx(2 / 32)  # the smallest p five signs allow
    assert five.ci_low is None and five.ci_high is None and five.too_few


def test_rejects_at_the_nominal_rate_under_the_null() -> None:
    rng = np.random.default_rng(2)
    signs = sign_patterns(12)
    p_perm, p_t = [], []
    for _ in range(2_000):
        x = rng.standard_t(4, 12) * 0.03  # fat tails, symmetric: the sign-flip null holds
        p_perm.append(permutation_p(x, signs))
        p_t.append(stats.ttest_1samp(x, 0.0).pvalue)
    assert np.mean(np.array(p_perm) < 0.05) == pytest.approx(0.05, abs=0.015)
    assert np.mean(np.array(p_t) < 0.05) == pytest.approx(0.05, abs=0.02)


def test_a_planted_mean_is_covered_at_about_the_level() -> None:
    rng = np.random.default_rng(3)
    covered = [
        (r.ci_low or -np.inf) < 0.01 < (r.ci_high or np.inf)
        for r in (episode_test(rng.normal(0.01, 0.02, 15), seed=s) for s in range(300))
    ]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.04)


def test_small_and_flat_samples() -> None:
    assert episode_test(np.array([])).n_episodes == 0
    one = episode_test(np.array([0.02]))
    assert one.mean == 0.02 and one.t is None and one.ci_low is None and one.mde is None
    flat = episode_test(np.full(12, 0.01))
    assert flat.sd is None and flat.p_permutation is None
    assert set(one.to_json()) >= {"n_episodes", "mean", "ci_low", "mde", "too_few"}


def test_too_few_wording() -> None:
    assert MIN_EPISODES == 10
    assert too_few_text(0) == "no episode: nothing to test"
    assert too_few_text(1) == "1 episode: too few to conclude"
    assert too_few_text(9) == "9 episodes: too few to conclude"
    assert too_few_text(10) is None


def test_episode_means_average_the_names_of_an_episode() -> None:
    d1, d2 = dt.date(2020, 1, 2), dt.date(2020, 3, 2)
    frame = pl.DataFrame(
        {"event_date": [d2, d1, d1, d2], "ticker": list("abcd"), "car": [0.1, 0.2, 0.4, 0.3]}
    )
    assert episode_means(frame, "car").tolist() == pytest.approx([0.3, 0.2])
