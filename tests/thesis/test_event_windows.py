"""Tests for screener.thesis.event_windows: roles, the estimation window, the entry day by hand."""

from __future__ import annotations

import numpy as np
import pytest

from screener.thesis.event_windows import EventWindows, holding_bench_sum, split_abnormal

REL = np.array([-1, 0, 1, 2, 3])
STOCK = (np.array([0.01, -0.05, 0.03, 0.02, -0.01]), np.array([0.0, -0.02, 0.04, 0.0, 0.0]))
BENCH = (np.array([0.00, -0.02, 0.01, 0.01, 0.00]), np.array([0.0, -0.01, 0.005, 0.0, 0.0]))


def test_roles_and_the_estimation_window() -> None:
    at_open = EventWindows(selection=(-7, 0), holding_end=20)
    assert [at_open.role(d) for d in (-7, 0, 1, 20)] == ["selection"] * 2 + ["holding"] * 2
    assert at_open.holding_days == 20 and at_open.estimation == (-122, -13)
    at_close = EventWindows(selection=(-7, 0), holding_end=20, entry_at="close")
    assert at_close.role(1) == "reaction" and at_close.role(2) == "holding"
    assert at_close.holding_days == 19
    assert at_close.to_json()["reaction"] == "close of day 0 to the close of day 1"
    assert at_close.to_json()["holding"] == [2, 20]


def test_entry_at_the_open_splits_day_one_by_hand() -> None:
    w = EventWindows(selection=(-1, 0), holding_end=3)
    a, b = 0.001, 1.2
    daily, held, reaction = split_abnormal(w, REL, STOCK, BENCH, a, b)
    np.testing.assert_allclose(daily, STOCK[0] - (a + b * BENCH[0]))
    intraday, bench_intraday = 1.03 / 1.04 - 1, 1.01 / 1.005 - 1
    assert reaction == pytest.approx(0.04 - b * 0.005)
    np.testing.assert_allclose(held, [0, 0, intraday - a - b * bench_intraday, *daily[3:]])
    assert holding_bench_sum(w, REL, BENCH) == pytest.approx(bench_intraday + 0.01 + 0.0)


def test_entry_at_the_close_puts_day_one_in_the_reaction() -> None:
    w = EventWindows(selection=(-1, 0), holding_end=3, entry_at="close")
    _, held, reaction = split_abnormal(w, REL, STOCK, BENCH, 0.0, 1.0)
    assert reaction == pytest.approx(0.03 - 0.01)
    np.testing.assert_allclose(held, [0, 0, 0, 0.02 - 0.01, -0.01])
    assert holding_bench_sum(w, REL, BENCH) == pytest.approx(0.01)


def test_windows_refuse_what_cannot_be_meant() -> None:
    for bad in (
        {"selection": (-7, 2)},
        {"selection": (3, 0)},
        {"holding_end": 0},
        {"entry_at": "vwap"},
        {"estimation_sessions": 2},
    ):
        with pytest.raises(ValueError):
            EventWindows(**bad)  # type: ignore[arg-type]
