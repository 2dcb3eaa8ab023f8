"""Tests for screener.thesis.placebo: holding returns by hand, matching, calibration, seeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from screener.thesis.placebo import DRAWS, holding_return, placebo
from tests.conftest import weekdays


def test_holding_return_by_hand() -> None:
    nan = np.nan
    entry = np.array([[10.0, 20.0, 5.0], [10.0, 20.0, nan], [11.0, 21.0, 5.0]])
    close = np.array([[10.0, 20.0, 5.0], [10.5, 20.0, 5.0], [12.0, nan, 6.0], [13.0, nan, 7.0]])
    column = {"A": 0, "B": 1, "C": 2}
    # signal 0, fill at session 1's price, close of session 0 + 2: A 10 -> 12, B 20 -> 20
    # (suspended at the end: its last known close), C has no fill and is left out
    weights = {"A": 0.25, "B": 0.5, "C": 0.25}
    got = holding_return(weights, 0, entry=entry, close=close, column=column, hold=2)
    assert got == pytest.approx((0.25 * 0.2 + 0.5 * 0.0) / 0.75)
    assert holding_return({}, 0, entry=entry, close=close, column=column, hold=2) is None
    too_late = holding_return(weights, 1, entry=entry, close=close, column=column, hold=3)
    assert too_late is None  # the window would end after the data
    only_c = holding_return({"C": 1.0}, 0, entry=entry, close=close, column=column, hold=2)
    assert only_c is None


@dataclass(frozen=True)
class World:
    """A session's 'holding return' is noise plus ``edge`` on the thesis's signal sessions."""

    sessions: list[dt.date]
    fired: np.ndarray
    episodes: dict[int, dict[str, float]]
    value: np.ndarray

    def measure(self, weights: Mapping[str, float], t: int) -> float | None:
        return float(self.value[t]) if weights else None

    def run(
        self,
        pick: Callable[[int], dict[str, float]] = lambda t: {"A": 1.0},
        episodes: dict[int, dict[str, float]] | None = None,
    ) -> dict[str, Any]:
        return placebo(
            sessions=self.sessions,
            fired=self.fired,
            episodes=self.episodes if episodes is None else episodes,
            pick=pick,
            measure=self.measure,
            hold=20,
        )


def _world(seed: int, *, edge: float, years: int = 3) -> World:
    rng = np.random.default_rng(seed)
    sessions = weekdays(250 * years, dt.date(2019, 1, 2))
    value = rng.normal(0.0, 0.05, len(sessions))
    fired = np.zeros(len(sessions), dtype=bool)
    signals = rng.choice(np.arange(5, len(sessions) - 30), size=12, replace=False)
    fired[signals] = True
    value[signals] += edge
    return World(sessions, fired, {int(t): {"A": 1.0} for t in signals}, value)


def test_matched_sessions_come_from_the_episode_years_and_never_fire() -> None:
    world = _world(0, edge=0.0)
    screened: list[int] = []

    def pick(t: int) -> dict[str, float]:
        screened.append(t)
        return {"A": 1.0}

    out = world.run(pick)
    years = {world.sessions[t].year for t in world.episodes}
    assert all(world.sessions[t].year in years and not world.fired[t] for t in screened)
    assert not set(screened) & set(world.episodes) and len(set(screened)) == len(screened)
    assert all(t + 20 < len(world.sessions) for t in screened)
    assert sum(out["pool"].values()) == len(screened) <= 100 + 4 * len(years)
    assert out["draws"] == DRAWS and out["episodes"] == 12
    own = [world.value[t] for t in world.episodes]
    assert out["thesis_return"] == pytest.approx(np.mean(own))
    assert world.run(pick) == out  # seeded
    low, high = out["percentile_range"]
    assert low <= out["percentile"] <= high


def test_a_larger_pool_moves_the_percentile_less(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(2, edge=0.0)
    low, high = world.run()["percentile_range"]
    monkeypatch.setattr("screener.thesis.placebo.POOL_SCREENS", 600)
    wider_pool = world.run()["percentile_range"]
    assert wider_pool[1] - wider_pool[0] < 0.7 * (high - low)


def test_a_real_edge_ranks_high_and_none_ranks_anywhere() -> None:
    def rank(seed: int, edge: float) -> float:
        return float(_world(seed, edge=edge).run()["percentile"])

    assert min(rank(s, 0.08) for s in range(5)) > 97.0
    nulls = np.array([rank(s, 0.0) for s in range(40)])
    assert 35.0 < nulls.mean() < 65.0  # uniform on average: the thesis dates are any dates
    assert np.mean(nulls > 97.5) < 0.1


def test_years_without_a_placebo_session_are_named() -> None:
    world = _world(1, edge=0.0)
    out = world.run(pick=lambda t: {})
    assert out["percentile"] is None and "picks a name" in out["reason"]
    none = world.run(pick=lambda t: {}, episodes={})
    assert none["percentile"] is None and none["episodes"] == 0
