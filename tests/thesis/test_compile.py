import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener import calendar
from screener.thesis import Condition, Entry, Exit, Rebalance, Thesis, Weigh
from screener.thesis import compile as signals

NAN = np.nan


def test_change_condition_fires_on_a_15pct_drop_over_7_sessions() -> None:
    close = np.array([100.0] * 8 + [84.0, 86.0, 90.0])
    cond = Condition(kind="change", index="801050.SI", window=7, max_change_pct=-15.0)
    mask = signals.condition_mask(cond, close, np.empty((len(close), 0)))
    # 84/100 - 1 = -16% at index 8; 86/100 = -14% at 9 does not fire
    assert mask.tolist() == [False] * 8 + [True, False, False]


def test_change_needs_known_values_and_respects_both_bounds() -> None:
    close = np.array([NAN, 100.0, 103.0, 107.0])
    cond = Condition(
        kind="change", series="SHFE.CU", window=1, min_change_pct=2.0, max_change_pct=3.5
    )
    assert signals.condition_mask(cond, close, np.empty((4, 0))).tolist() == [
        False,
        False,
        True,
        False,
    ]


def test_breakout_compares_with_the_previous_window_only() -> None:
    close = np.array([1.0, 3.0, 2.0, 3.0, 3.5, 1.0])
    cond = Condition(kind="breakout_high", series="SHFE.CU", window=3)
    # index 3: 3.0 is not above max(1,3,2)=3; index 4: 3.5 > max(3,2,3)
    assert signals.condition_mask(cond, close, np.empty((6, 0))).tolist() == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    low = Condition(kind="breakdown_low", series="SHFE.CU", window=3)
    assert signals.condition_mask(low, close, np.empty((6, 0)))[5]


def test_breadth_share_of_known_stocks() -> None:
    change = np.array([[-0.2, -0.1, NAN], [-0.2, 0.0, 0.1], [NAN, NAN, NAN]])
    cond = Condition(kind="breadth", window=5, max_change_pct=-10.0, min_share_pct=60.0)
    # row 0: 2 of 2 known are <= -10%; row 1: 1 of 3; row 2: nothing known
    assert signals.condition_mask(cond, np.zeros(3), change).tolist() == [True, False, False]


def test_episodes_merge_within_the_cooldown() -> None:
    fired = np.array([0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1], dtype=bool)
    assert signals.episode_starts(fired, cooldown=5) == [1, 11]
    assert signals.episode_starts(fired, cooldown=0) == [1, 2, 3, 6, 11]


def test_weights_equal_leave_cash_idle_and_cap() -> None:
    picks = pl.DataFrame({"ticker": ["a", "b", "c"], "score": [3.0, 2.0, 1.0]})
    eq = signals.weights(picks, Weigh(method="equal", max_weight=0.2), top_n=10)
    assert eq == {"a": 0.1, "b": 0.1, "c": 0.1}  # 3 of 10 slots: 70% stays in cash
    capped = signals.weights(picks, Weigh(method="equal", max_weight=0.05), top_n=10)
    assert set(capped.values()) == {0.05}
    sc = signals.weights(picks, Weigh(method="score", max_weight=1.0), top_n=3)
    assert sc["a"] == pytest.approx(0.5) and sc["c"] == pytest.approx(1 / 6)
    assert sum(sc.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Exit(hold_sessions=3), (4, "hold")),  # entered at 2: decision at the close of 2 + 3 - 1
        (Exit(hold_sessions=10, take_profit_pct=9.0), (3, "take_profit")),  # 110/100 at 3
        (Exit(hold_sessions=10, stop_loss_pct=5.0), (5, "stop_loss")),  # 94/100 at index 5
        (Exit(hold_sessions=10, trailing_stop_pct=10.0), (5, "trailing_stop")),  # 94/110 - 1
        (Exit(hold_sessions=30), None),  # the hold runs past the data: still held at the end
    ],
)
def test_exit_rules(rule: Exit, expected: tuple[int, str] | None) -> None:
    closes = np.array([100, 100, 100, 110, 104, 94, 95, 96, 97, 98, 99], dtype=float)
    assert signals.exit_session(100.0, closes, 2, rule, first_check=2) == expected


def thesis(**exit_kw: float) -> Thesis:
    return Thesis(name="t", exit=Exit(**exit_kw), entry=Entry(at="open"))  # type: ignore[arg-type]


def test_plan_and_target_matrix() -> None:
    adj = np.tile(np.arange(100.0, 112.0)[:, None], (1, 2))
    plan = signals.plan_holdings(
        thesis(hold_sessions=3),
        {1: {"a": 0.2}, 8: {"b": 0.3}},
        tickers=["a", "b"],
        adj_entry=adj,
        adj_close=adj,
    )
    target = signals.target_weights(plan, ["a", "b"], 12)
    # a: signal at 1, enters at 2, exit decided at close of 4; b: signal 8, exit at 11
    assert target[1, 0] == 0.2 and target[4, 0] == 0.0
    assert target[8, 1] == 0.3 and target[11, 1] == 0.0
    assert np.isnan(target).sum() == 24 - 4


def test_reselected_name_is_retargeted_and_its_first_exit_dropped() -> None:
    adj = np.full((12, 1), 100.0)
    plan = signals.plan_holdings(
        thesis(hold_sessions=5),
        {1: {"a": 0.2}, 4: {"a": 0.1}},
        tickers=["a"],
        adj_entry=adj,
        adj_close=adj,
    )
    target = signals.target_weights(plan, ["a"], 12)
    # first hold would exit at 2+5-1=6, but the name is re-selected at 4: exit moves to 5+5-1=9
    assert target[:, 0].tolist()[1] == 0.2 and target[4, 0] == 0.1
    assert np.isnan(target[6, 0]) and target[9, 0] == 0.0
    frame = signals.holdings_frame(
        plan, [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(12)]
    )
    assert frame["exit_signal_date"].to_list()[0] is None
    assert frame["exit_reason"].to_list() == [None, "hold"]  # the first exit was dropped


def test_rebalanced_holdings_exit_at_the_next_rebalance() -> None:
    plan = signals.rebalance_holdings({1: {"a": 0.5, "b": 0.5}, 5: {"a": 0.5}})
    reasons = [(h.ticker, h.signal, h.exit, h.reason) for h in plan]
    assert reasons == [("a", 1, None, None), ("b", 1, 5, "rebalance"), ("a", 5, None, None)]


@settings(max_examples=40, deadline=None)
@given(
    closes=st.lists(st.floats(50, 150), min_size=30, max_size=30),
    cut=st.integers(10, 28),
    bump=st.floats(0.5, 2.0),
)
def test_trigger_and_exits_never_read_the_future(
    closes: list[float], cut: int, bump: float
) -> None:
    """Perturb every value after session `cut`: masks and exit decisions up to `cut` stand."""
    a = np.array(closes)
    b = a.copy()
    b[cut + 1 :] *= bump
    for cond in (
        Condition(kind="change", index="x", window=7, max_change_pct=-5.0),
        Condition(kind="breakout_high", index="x", window=5),
    ):
        ma = signals.condition_mask(cond, a, np.empty((30, 0)))
        mb = signals.condition_mask(cond, b, np.empty((30, 0)))
        assert (ma[: cut + 1] == mb[: cut + 1]).all()
    rule = Exit(hold_sessions=40, take_profit_pct=10.0, stop_loss_pct=10.0, trailing_stop_pct=5.0)
    ea = signals.exit_session(a[0], a, 0, rule, first_check=0)
    eb = signals.exit_session(b[0], b, 0, rule, first_check=0)
    if ea is not None and ea[0] <= cut:
        assert eb == ea


def test_schedules_by_hand() -> None:
    days = calendar.sessions(dt.date(2024, 1, 25), dt.date(2024, 2, 9))  # Thu .. Thu 8 Feb
    by_month = [days[i] for i in np.flatnonzero(signals.rebalance_sessions(days, "month"))]
    assert by_month == [dt.date(2024, 1, 25), dt.date(2024, 1, 31)]  # the last session: none
    by_week = [days[i] for i in np.flatnonzero(signals.rebalance_sessions(days, "week"))]
    assert by_week == [dt.date(2024, 1, 25), dt.date(2024, 1, 26), dt.date(2024, 2, 2)]
    every_four = np.flatnonzero(signals.rebalance_sessions(days, 4)).tolist()
    assert every_four == [0, 4, 8] and len(days) == 11  # 9 Feb: Spring Festival
    assert Rebalance("week").describe() == "every week" and Rebalance(20).describe() == (
        "every 20 sessions"
    )


@pytest.mark.parametrize(
    "condition",
    [
        'index = "801050.SI"\nwindow = 7\nmax_change_pct = -15.0',
        'kind = "breadth"\nwindow = 7\nmax_change_pct = -10.0\nmin_share_pct = 50.0',
    ],
)
def test_a_later_start_sees_the_triggers_of_a_run_from_the_first_session(
    tmp_path: Path, condition: str
) -> None:
    """A window reaching back before --start reads the stored history (it was blind for its
    first ``window`` sessions): the tiny market's 801050 falls 16% into session 10 and stock A
    20%, so starting at session 8 keeps every trigger of the run from session 0."""
    from sample_markets import TINY_DIP, TINY_SESSIONS, tiny_store

    from screener.config import Settings
    from screener.thesis import load_thesis
    from screener.thesis.prepare import prepare

    path = tmp_path / "t.toml"
    path.write_text(
        TINY_DIP.replace('index = "801050.SI"\nwindow = 7\nmax_change_pct = -15.0', condition)
    )
    thesis = load_thesis(path)
    later = TINY_SESSIONS[8]
    with tiny_store(tmp_path / "tiny.duckdb") as store:
        whole, cut = (
            signals.compile_thesis(prepare(store, thesis, start=s, end=None, settings=Settings()),
                                   thesis).triggers
            for s in (None, later)
        )  # fmt: skip
    shared = whole.filter(pl.col("date") >= later)
    assert cut.equals(shared)
    assert cut.filter("fired").height > 0


def test_a_store_shorter_than_the_score_s_history_says_why(tmp_path: Path) -> None:
    """The tiny market has 30 sessions; a 250-session score leaves nothing to test by default."""
    from sample_markets import TINY_DIP, TINY_SESSIONS, tiny_store

    from screener.config import Settings
    from screener.errors import DataUnavailableError
    from screener.thesis import load_thesis
    from screener.thesis.prepare import prepare

    path = tmp_path / "t.toml"
    path.write_text(TINY_DIP.replace('score = "reversal_5d"', 'score = "drawdown_250d"'))
    thesis = load_thesis(path)
    with tiny_store(tmp_path / "tiny.duckdb") as store:
        with pytest.raises(DataUnavailableError, match=r"needs 250 sessions .* store has 30"):
            prepare(store, thesis, start=None, end=None, settings=Settings())
        prep = prepare(store, thesis, start=TINY_SESSIONS[0], end=None, settings=Settings())
    assert prep.sessions == TINY_SESSIONS
