"""End to end: a thesis on a tiny hand-made store against a hand-computed trade list; a
rebalanced portfolio by hand, against the screen run on each rebalance date, and against the
slow reference simulator trade by trade (tests/reference_sim.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import reference_sim
from sample_markets import (
    TINY_DIP,
    WEEKLY_COPPER,
    copper_store,
    flat_bars,
    tiny_store,
    two_name_store,
)
from sample_markets import TINY_SESSIONS as SESSIONS

from screener import calendar
from screener.config import Settings
from screener.rules import CostModel
from screener.screen import run_screen
from screener.store import Store
from screener.thesis import Thesis, load_thesis
from screener.thesis.compile import compile_thesis
from screener.thesis.execute import traded_market
from screener.thesis.prepare import prepare
from screener.thesis.record import list_runs, load_run
from screener.thesis.run import run_backtest
from tests.conftest import REPO

THESIS = TINY_DIP


@pytest.fixture
def tiny(tmp_path: Path) -> Store:
    return tiny_store(tmp_path / "tiny.duckdb")


def test_hand_computed_trades_and_cash(tiny: Store, tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    result = run_backtest(tiny, load_thesis(path), settings=Settings())
    ep = result.compiled.episodes.row(0, named=True)
    assert result.compiled.episodes.height == 1 and ep["trigger_date"] == SESSIONS[10]
    assert result.compiled.selections["ticker"].to_list() == ["600001.SH"]
    fills = result.orders.filter(pl.col("status") == "filled").sort("date")
    # buy at the open of session 11: 0.5 x 1,000,000 / 8.00 = 62,500 shares (whole lots)
    # exit: hold 3 sessions from 11 -> decided at the close of 13, sold at the open of 14 (8.30)
    assert fills.select("date", "ticker", "side", "shares").rows() == [
        (SESSIONS[11], "600001.SH", "buy", 62_500.0),
        (SESSIONS[14], "600001.SH", "sell", 62_500.0),
    ]
    buy_cost = 500_000 * 0.00025 + 500_000 * 0.00001  # commission 125 + transfer fee 5
    sell_value = 62_500 * 8.30  # 518,750
    sell_cost = sell_value * (0.00025 + 0.0005 + 0.00001)  # commission, stamp duty, transfer
    cash = 1_000_000 - 500_000 - buy_cost + sell_value - sell_cost
    assert result.equity["value"][-1] == pytest.approx(cash, abs=0.01)
    trip = result.trades.row(0, named=True)
    assert trip["pnl"] == pytest.approx(cash - 1_000_000, abs=0.01)
    assert result.metrics["episodes"] == 1 and result.metrics["trades"] == 1
    assert result.metrics["costs_paid"] == pytest.approx(buy_cost + sell_cost, abs=0.01)
    held = result.metrics["calendar_time"]
    assert held["n_episodes"] == 1 and held["n_obs"] == 3  # sessions 12-14 follow a held close
    assert held["warning"] == "1 episode: too few to conclude"
    # 30 sessions leave no estimation window: the verdict says what was (not) tested
    verdict = result.metrics["verdict"]
    # the window opens on session 5, where reversal_5d (6 sessions) has its first value
    assert verdict.startswith(f"tiny dip, {SESSIONS[5]}..{SESSIONS[-1]}: 0 of 1 trigger episodes")
    assert "nothing to test" in verdict and "distinguishable" not in verdict
    placebo = result.metrics["placebo"]
    assert placebo["episodes"] == 1 and placebo["draws"] == 1_000
    # the thesis's own holding return: 8.00 at the open of session 11 to 8.20 at the close
    # of 13, where the exit is decided (the sale at the next open is not part of the window)
    assert placebo["thesis_return"] == pytest.approx(8.2 / 8.0 - 1)


def test_run_is_recorded_and_reloadable(tiny: Store, tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    result = run_backtest(tiny, load_thesis(path), settings=Settings())
    listed = list_runs(tiny)
    assert listed["run_id"].to_list() == [result.run_id]
    row, frames = load_run(tiny, result.run_id)
    assert row["thesis_hash"] == result.thesis.sha256
    assert row["metrics"]["metrics"]["total_return"] == pytest.approx(
        result.metrics["total_return"]
    )
    assert frames["equity"].equals(result.equity)
    assert frames["selections"]["ticker"].to_list() == ["600001.SH"]


def test_future_prices_do_not_move_past_decisions(tiny: Store, tmp_path: Path) -> None:
    """Perturb every bar after the exit fill: the trades up to it must not change."""
    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    before = run_backtest(tiny, load_thesis(path), settings=Settings(), record_run=False)
    later = [d for d in SESSIONS if d > SESSIONS[14]]
    shocked = (
        tiny.read_bars()
        .filter(pl.col("date").is_in(later))
        .with_columns(pl.col("open", "high", "low", "close", "prev_close") * 1.07)
    )
    tiny.upsert("bars_daily", shocked)
    after = run_backtest(tiny, load_thesis(path), settings=Settings(), record_run=False)
    keep = pl.col("date") <= SESSIONS[14]
    assert before.orders.filter(keep).equals(after.orders.filter(keep))
    assert before.equity.filter(keep).equals(after.equity.filter(keep))


def test_a_metal_trigger_reads_its_fallback_series_a_session_late(
    tiny: Store, tmp_path: Path
) -> None:
    """No SHFE aluminium: the trigger reads LME aluminium, whose value dated t counts on t+1."""
    from dataclasses import replace

    from screener.thesis import Condition
    from screener.thesis.compile import compile_thesis
    from screener.thesis.prepare import prepare

    lme = [100.0] * 10 + [110.0] * 20  # +10% dated session 10
    tiny.upsert(
        "series_daily", pl.DataFrame({"series_id": "LME.AL.CASH", "date": SESSIONS, "close": lme})
    )
    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    thesis = load_thesis(path)
    up = Condition(kind="change", metal="aluminium", window=1, min_change_pct=5.0)
    thesis = replace(thesis, trigger=replace(thesis.trigger, when=(up,)))
    prep = prepare(tiny, thesis, start=SESSIONS[0], end=None, settings=Settings())
    assert prep.subjects["aluminium"][10:13].tolist() == [100.0, 110.0, 110.0]
    fired = compile_thesis(prep, thesis).triggers.filter(pl.col("fired"))
    assert fired["date"].to_list() == [SESSIONS[11]]


def test_panel_holds_only_names_the_thesis_can_select(tiny: Store, tmp_path: Path) -> None:
    """A per-ticker score needs only its universe; a composite z-scores every name."""
    from dataclasses import replace

    from screener.thesis.prepare import _candidates

    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    thesis = load_thesis(path)
    assert _candidates(tiny, thesis) == ["600001.SH", "600002.SH"]  # the sector
    gold = replace(thesis, select=replace(thesis.select, universe="metal", metal="gold"))
    assert _candidates(tiny, gold) == []
    composite = replace(thesis, select=replace(thesis.select, score="oversold_score"))
    assert _candidates(tiny, composite) is None


def test_a_bonus_issue_during_the_hold_keeps_the_value(tiny: Store, tmp_path: Path) -> None:
    """A 10-for-10 bonus (送转) on A at session 13: the shares double at no cost, the value is
    continuous, and the exit sells them all for what the same trade fetched without it."""
    ex = SESSIONS[13]
    bonus = (
        tiny.read_bars(["600001.SH"])
        .filter(pl.col("date") >= ex)
        .with_columns(
            pl.col("open", "high", "low", "close", "prev_close") / 2, pl.col("adj_factor") * 2
        )
    )
    tiny.upsert("bars_daily", bonus)
    path = tmp_path / "tiny.toml"
    path.write_text(THESIS, encoding="utf-8")
    result = run_backtest(tiny, load_thesis(path), settings=Settings(), record_run=False)
    moves = result.orders.filter(pl.col("status").is_in(["filled", "corporate_action"]))
    assert moves.select("date", "side", "shares", "status").rows() == [
        (SESSIONS[11], "buy", 62_500.0, "filled"),
        (ex, "buy", 62_500.0, "corporate_action"),
        (SESSIONS[14], "sell", 125_000.0, "filled"),
    ]
    action = moves.row(1, named=True)
    assert action["commission"] == action["stamp_duty"] == action["transfer_fee"] == 0.0
    value = dict(result.equity.select("date", "value").rows())
    cash_after_buy = 1_000_000 - 500_000 - (125 + 5)
    assert value[SESSIONS[12]] == pytest.approx(cash_after_buy + 62_500 * 8.1, abs=0.01)
    assert value[ex] == pytest.approx(cash_after_buy + 125_000 * 8.2 / 2, abs=0.01)
    sell_value = 125_000 * 8.30 / 2  # 518,750: what 62,500 shares at 8.30 fetched
    cash = cash_after_buy + sell_value - sell_value * (0.00025 + 0.0005 + 0.00001)
    assert result.equity["value"][-1] == pytest.approx(cash, abs=0.01)
    trip = result.trades.row(0, named=True)
    assert trip["shares"] == 62_500 and trip["pnl"] == pytest.approx(cash - 1_000_000, abs=0.01)
    assert result.metrics["trades"] == 1


def test_the_dip_thesis_trades_on_bars_without_amount(demo_without_amount: Store) -> None:
    """Fails before close x volume stood in: every pick was "illiquid", nothing was selected and
    nothing traded. Each episode records its selection date's coverage, checked here against
    the broker-picks table, the selections and the same screen run on that date."""
    from screener.screen import run_screen

    store = demo_without_amount
    dip = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
    start = dt.date(2025, 6, 1)
    result = run_backtest(store, dip, start=start, settings=Settings(), record_run=False)
    assert result.metrics["trades"] > 0
    episodes = result.compiled.episodes
    assert episodes.height == 2
    picks = store.read_table("broker_picks").filter(pl.col("status") == "resolved")
    for row in episodes.iter_rows(named=True):
        day = row["selection_date"]
        window = picks.filter(
            pl.col("report_date").is_between(day - dt.timedelta(days=30), day),
            pl.col("board") != "hk",
        )
        assert row["universe"] == window["ticker"].n_unique()
        chosen = result.compiled.selections.filter(pl.col("episode") == row["episode"])
        assert row["selected"] == chosen.height
        screen = run_screen(store, dip.select, on=day, settings=Settings())
        cov = screen.coverage
        assert (row["scored"], row["excluded"]) == (cov.scored, cov.excluded)
        assert row["reasons"] == (cov.counts() or None)
    first, second = episodes.row(0, named=True), episodes.row(1, named=True)
    assert first["universe"] == 0 and "no broker picks known" in first["note"]
    assert "`screener picks import NOTE.txt`" in first["note"]
    assert second["selected"] == 10 and second["note"] is None
    assert second["amount_estimated"] == second["universe"]  # no bar has an amount
    as_json = result.to_json()
    assert as_json["amount_estimated"] is True
    assert [e["universe"] for e in as_json["episodes"]] == episodes["universe"].to_list()


def test_the_dip_thesis_trades_in_every_trigger_episode_of_the_demo(
    demo_with_notes: Store,
) -> None:
    """Fails while the demo's only broker note was the 2026 sample (the earlier episodes had an
    empty universe), and while the tested window opened on the store's first session (the
    2015-08 trigger came before drawdown_250d had a value: it could score nobody). With the
    synthetic weekly notes and the window opening on the score's first value, every episode
    selects its top names and trades them at the next open."""
    from screener.engine import lookback
    from screener.thesis.spec import factor_catalog

    store = demo_with_notes
    sessions = store.sessions()
    dip = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
    result = run_backtest(store, dip, settings=Settings(), record_run=False)
    known = factor_catalog(dip)
    opens = sessions[lookback([known[dip.select.score]], known) - 1]
    assert result.equity["date"][0] == opens
    episodes = result.compiled.episodes
    assert episodes.height >= 3 and (episodes["universe"] > 0).all()
    entries = set(result.trades["entry_date"])
    for row in episodes.iter_rows(named=True):
        assert row["selected"] == dip.select.top_n and row["note"] is None
        assert sessions[sessions.index(row["selection_date"]) + 1] in entries


# -- rebalanced portfolios: two names that take turns leading ---------------------------------
DAYS = calendar.sessions(dt.date(2024, 3, 1), dt.date(2024, 5, 31))[:30]
# A rises through session 14 then falls; B is flat then rises from session 15
RISER = [10.0 + 0.1 * i for i in range(15)] + [11.4 - 0.1 * i for i in range(15)]
LATER = [20.0] * 15 + [20.0 + 0.4 * i for i in range(1, 16)]
EVERY_FIVE = """
name = "two-name rotation"
[rebalance]
every = 5
[select]
universe = "sector"
score = "ret_5d"
top_n = 1
min_avg_amount = 0.0
[weigh]
method = "equal"
max_weight = 1.0
gross = 0.5
"""


@pytest.fixture
def rotation(tmp_path: Path) -> Store:
    index = pl.DataFrame(
        {
            "index_code": ["801050.SI"] * 30 + ["000300.SH"] * 30,
            "date": DAYS * 2,
            "close": [100.0] * 30 + [3000.0] * 30,
        }
    )
    bars = pl.concat([flat_bars("600001.SH", DAYS, RISER), flat_bars("600002.SH", DAYS, LATER)])
    return two_name_store(tmp_path / "rotation.duckdb", bars, index)


def write(folder: Path, text: str) -> Path:
    path = folder / "rebalanced.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rebalanced_targets_and_trades_by_hand(rotation: Store, tmp_path: Path) -> None:
    """From session 10 (ret_5d reads the 5 sessions before): rebalances at 10, 15, 20 and 25
    (29, the last, cannot fill). ret_5d at 10: A 11.0 / 10.5 - 1 = +4.8%, B 0; at 15: A
    11.4 / 11.0 - 1 = +3.6%, B 20.4 / 20 - 1 = +2.0%; at 20: A 10.9 / 11.4 - 1 = -4.4%, B
    22.0 / 20.4 - 1 = +7.8%; at 25 B again. Each fills at the next open."""
    thesis = load_thesis(write(tmp_path, EVERY_FIVE))
    result = run_backtest(rotation, thesis, start=DAYS[10], settings=Settings(), record_run=False)
    picked = result.compiled.selections.select("selection_date", "ticker").rows()
    assert picked == [
        (DAYS[10], "600001.SH"),  # A +5% over 5 sessions, B flat
        (DAYS[15], "600001.SH"),  # A 11.4 -> ... its 5-session return still above B's 0
        (DAYS[20], "600002.SH"),  # A falling, B rising
        (DAYS[25], "600002.SH"),
    ]
    fills = result.orders.filter(pl.col("status") == "filled")
    value_15, value_20, value_25 = (
        result.equity.filter(pl.col("date") == DAYS[i])["value"].item() for i in (15, 20, 25)
    )
    a_held = 1_000_000 * 0.5 // RISER[11] // 100 * 100  # half the book at A's open of 11
    a_sold = a_held - value_15 * 0.5 // RISER[16]  # re-weighed to half: whole lots go
    b_bought = value_20 * 0.5 // LATER[21] // 100 * 100
    b_sold = b_bought - value_25 * 0.5 // LATER[26]
    assert fills.select("date", "ticker", "side", "shares").rows() == [
        (DAYS[11], "600001.SH", "buy", a_held),  # 45,000
        (DAYS[16], "600001.SH", "sell", a_sold // 100 * 100),  # 100 of 45,000
        (DAYS[21], "600001.SH", "sell", a_held - a_sold // 100 * 100),  # dropped: all
        (DAYS[21], "600002.SH", "buy", b_bought),  # 21,700
        (DAYS[26], "600002.SH", "sell", b_sold // 100 * 100),  # 1,100
    ]
    assert result.compiled.episodes.height == 4 and result.metrics["episodes"] == 4
    assert (
        result.event_study is None and "rebalanced every 5 sessions" in (result.metrics["verdict"])
    )


def test_rebalanced_prices_after_t_move_no_earlier_order(rotation: Store, tmp_path: Path) -> None:
    thesis = load_thesis(write(tmp_path, EVERY_FIVE))
    before = run_backtest(rotation, thesis, start=DAYS[10], settings=Settings(), record_run=False)
    shocked = (
        rotation.read_bars()
        .filter(pl.col("date") > DAYS[18])
        .with_columns(pl.col("open", "high", "low", "close", "prev_close") * 1.3)
    )
    rotation.upsert("bars_daily", shocked)
    after = run_backtest(rotation, thesis, start=DAYS[10], settings=Settings(), record_run=False)
    keep = pl.col("date") <= DAYS[18]
    assert before.orders.filter(keep).equals(after.orders.filter(keep))
    assert before.equity.filter(keep).equals(after.equity.filter(keep))


# -- the demo market's copper names, weekly ----------------------------------------------------
@pytest.fixture(scope="module")
def copper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with copper_store(tmp_path_factory.mktemp("copper"), dt.date(2025, 12, 31)) as store:
        yield store


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory) -> Thesis:
    return load_thesis(write(tmp_path_factory.mktemp("weekly"), WEEKLY_COPPER))


def test_weekly_portfolio_equals_the_reference_simulator_trade_by_trade(
    copper: Store, weekly: Thesis
) -> None:
    start = dt.date(2024, 1, 2)
    result = run_backtest(copper, weekly, start=start, settings=Settings(), record_run=False)
    prep = prepare(copper, weekly, start=start, end=None, settings=Settings())
    compiled = compile_thesis(prep, weekly)
    assert np.array_equal(compiled.target, result.compiled.target, equal_nan=True)
    market, cols = traded_market(prep, compiled.target)
    costs = CostModel().with_overrides(**weekly.costs)
    ref = reference_sim.run(
        market, compiled.target[:, cols], entry="open", costs=costs, init_cash=weekly.init_cash
    )
    reference_sim.assert_same(result.orders, result.equity, ref)
    assert result.metrics["trades"] > 50 and result.compiled.episodes.height > 90


def test_each_rebalance_holds_what_the_screen_ranks_that_day(copper: Store, weekly: Thesis) -> None:
    start = dt.date(2025, 6, 2)
    result = run_backtest(copper, weekly, start=start, settings=Settings(), record_run=False)
    selections = result.compiled.selections
    for row in result.compiled.episodes.iter_rows(named=True):
        day = row["selection_date"]
        ranked = run_screen(copper, weekly.select, on=day, settings=Settings()).ranked
        held = selections.filter(pl.col("episode") == row["episode"])
        assert held.select("rank", "ticker").rows() == ranked.select("rank", "ticker").rows()
    assert set(result.compiled.triggers.filter(pl.col("fired"))["date"]) == set(
        result.compiled.episodes["selection_date"]
    )
