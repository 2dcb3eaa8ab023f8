"""Sweeps on a small synthetic market: rows equal single runs, honest walk-forward, DSR, record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
import pytest
from sample_markets import copper_store, copper_thesis

from screener.config import Settings
from screener.errors import ConfigError
from screener.store import Store
from screener.thesis import Rebalance, Thesis, Trigger, cluster
from screener.thesis.metrics import SESSIONS_PER_YEAR, deflated_sharpe_ratio
from screener.thesis.record import list_runs, load_run
from screener.thesis.run import run_backtest
from screener.thesis.sweep import METRICS, SweepResult, pair_slices, run_sweep

SETTINGS = Settings()
END = dt.date(2016, 12, 30)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with copper_store(tmp_path_factory.mktemp("sweep"), END) as s:
        yield s


@pytest.fixture(scope="module")
def thesis(tmp_path_factory: pytest.TempPathFactory) -> Thesis:
    return copper_thesis(tmp_path_factory.mktemp("thesis"))


@pytest.fixture(scope="module")
def result(store: Store, thesis: Thesis) -> SweepResult:
    return run_sweep(store, thesis, settings=SETTINGS)


def test_one_row_per_grid_point_in_grid_order(result: SweepResult, thesis: Thesis) -> None:
    keys = sorted(thesis.sweep)
    combos = itertools.product(*(thesis.sweep[k] for k in keys))
    expected = [dict(zip(keys, combo, strict=True)) for combo in combos]
    assert result.n_configs == len(expected) == 8
    assert result.table.select(keys).to_dicts() == expected
    assert result.table["config"].to_list() == list(range(8))
    assert set(METRICS) <= set(result.table.columns)
    assert result.table["sharpe"].n_unique() > 2  # the grid points really differ
    assert result.table["episodes"].min() > 0  # type: ignore[operator]


@pytest.mark.parametrize("config", [0, 5])
def test_a_row_equals_the_single_run(
    store: Store, thesis: Thesis, result: SweepResult, config: int
) -> None:
    row = result.table.row(config, named=True)
    params = {k: row[k] for k in result.params}
    single = run_backtest(store, thesis, settings=SETTINGS, params=params, record_run=False)
    assert row["total_return"] == pytest.approx(single.metrics["total_return"], abs=1e-9)
    assert row["sharpe"] == pytest.approx(single.metrics["sharpe"], abs=1e-9)
    for key in ("trades", "episodes", "hit_rate", "max_drawdown", "calmar"):
        assert row[key] == single.metrics[key]
    # in-sample Sharpe: the single run's equity up to the end of the in-sample range
    eq = single.equity.filter(pl.col("date") <= result.in_sample[1])["value"].to_numpy()
    assert row["is_sharpe"] == pytest.approx(_sharpe(eq), abs=1e-9)


def test_a_rebalanced_thesis_sweeps_its_schedule(store: Store, thesis: Thesis) -> None:
    """Every 5 or 20 sessions: each row equals its single run (schedules differ, so do rows)."""
    rebalanced = dataclasses.replace(
        _with_sweep(thesis, {"rebalance.every": (5.0, 20.0)}),
        trigger=Trigger(),
        rebalance=Rebalance(10),
    )
    result = run_sweep(store, rebalanced, settings=SETTINGS, record_run=False)
    assert result.table["rebalance.every"].to_list() == [5.0, 20.0]
    for row in result.table.iter_rows(named=True):
        params = {"rebalance.every": row["rebalance.every"]}
        single = run_backtest(store, rebalanced, settings=SETTINGS, params=params, record_run=False)
        assert row["total_return"] == pytest.approx(single.metrics["total_return"], abs=1e-9)
        assert row["episodes"] == single.metrics["episodes"] == single.compiled.episodes.height
    assert result.table["episodes"][0] > 3 * result.table["episodes"][1]


def test_equal_targets_execute_once(
    store: Store, thesis: Thesis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal weights of 1/3 sit under both caps: the two configurations trade identically."""
    calls: list[int] = []
    real = cluster.execute

    def counted(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(cluster, "execute", counted)
    caps = _with_sweep(thesis, {"weigh.max_weight": (0.4, 0.5)})
    result = run_sweep(store, caps, settings=SETTINGS, record_run=False)
    assert len(calls) == 1
    single = run_backtest(
        store, thesis, settings=SETTINGS, params={"weigh.max_weight": 0.5}, record_run=False
    )
    for row in result.table.iter_rows(named=True):
        assert row["total_return"] == pytest.approx(single.metrics["total_return"], abs=1e-9)
        assert row["episodes"] == single.metrics["episodes"]


def test_walk_forward_folds_are_ordered_and_pick_the_train_best(
    store: Store, thesis: Thesis, result: SweepResult
) -> None:
    wf = result.walk_forward
    assert wf.height == 3
    for a, b in itertools.pairwise(wf.iter_rows(named=True)):
        assert a["test_end"] < b["test_start"]  # test blocks do not overlap
        assert b["train_end"] > a["train_end"]  # the training window expands
    for fold in wf.iter_rows(named=True):
        assert fold["train_end"] < fold["test_start"]
        # a sweep that stops at the training end sees only that range: its Sharpe ranking is
        # the one the fold must have used
        train = run_sweep(store, thesis, end=fold["train_end"], settings=SETTINGS, record_run=False)
        sharpe = train.table["sharpe"].fill_null(-math.inf).to_numpy()
        assert fold["config"] == int(np.argmax(sharpe))
        assert fold["train_sharpe"] == pytest.approx(sharpe.max(), abs=1e-9)
    first = wf.row(0, named=True)
    assert first["config"] == result.best["config"]  # fold 0 trains on the in-sample range
    assert result.best["is_sharpe"] == result.table["is_sharpe"].max()


def test_fold_test_metrics_come_from_the_chosen_curve(
    store: Store, thesis: Thesis, result: SweepResult
) -> None:
    fold = result.walk_forward.row(1, named=True)
    params = {k: fold[k] for k in result.params}
    eq = run_backtest(store, thesis, settings=SETTINGS, params=params, record_run=False).equity
    before = eq.filter(pl.col("date") < fold["test_start"])["value"][-1]
    test = eq.filter(pl.col("date").is_between(fold["test_start"], fold["test_end"]))["value"]
    curve = np.concatenate([[before], test.to_numpy()])  # the return into the first test day
    assert fold["test_return"] == pytest.approx(curve[-1] / curve[0] - 1, abs=1e-12)
    assert fold["test_sharpe"] == pytest.approx(_sharpe(curve), abs=1e-9)


def test_repeated_configurations_are_one_trial(
    store: Store, thesis: Thesis, result: SweepResult
) -> None:
    """Before: every grid point counted as a trial, so repeating the grid lowered the deflated
    Sharpe. Identical curves are one trial: repeating changes nothing but the warning."""
    assert result.deflated_sharpe is not None and 0.0 < result.deflated_sharpe < 1.0
    small = _with_sweep(thesis, {"exit.trailing_stop_pct": (4.0, 10.0)})
    twice = _with_sweep(thesis, {"exit.trailing_stop_pct": (4.0, 10.0, 4.0, 10.0)})
    a = run_sweep(store, small, settings=SETTINGS, record_run=False)
    b = run_sweep(store, twice, settings=SETTINGS, record_run=False)
    assert b.n_configs == 2 * a.n_configs
    assert b.best["exit.trailing_stop_pct"] == a.best["exit.trailing_stop_pct"]
    assert b.deflated_sharpe == pytest.approx(a.deflated_sharpe)
    assert b.trials == pytest.approx(a.trials) and b.trials["distinct"] == 2
    assert "2 configurations" in a.verdict and "4 configurations" in b.verdict
    assert "identical results" not in a.verdict
    assert "most configurations give identical results (2 distinct of 4)" in b.verdict


def test_deflated_sharpe_counts_effective_trials_by_hand(
    store: Store, thesis: Thesis, result: SweepResult
) -> None:
    """The DSR of the in-sample best, its hurdle from rho + (1 - rho) M independent trials of
    the M distinct in-sample curves, and the spread of their Sharpe ratios."""
    curves = {}
    for row in result.table.iter_rows(named=True):
        params = {k: row[k] for k in result.params}
        eq = run_backtest(store, thesis, settings=SETTINGS, params=params, record_run=False)
        in_sample = eq.equity.filter(pl.col("date") <= result.in_sample[1])["value"].to_numpy()
        curves.setdefault(tuple(in_sample), row["config"])
    distinct = [np.array(c) for c in curves]
    assert result.trials["distinct"] == len(distinct)
    rets = np.array([np.diff(c) / c[:-1] for c in distinct])
    corr = np.corrcoef(rets)[np.triu_indices(len(distinct), k=1)].mean()
    effective = corr + (1 - corr) * len(distinct)
    assert result.trials["effective"] == pytest.approx(effective)
    best = np.array(next(c for c, i in curves.items() if i == result.best["config"]))
    r = np.diff(best) / best[:-1]
    centred = r - r.mean()
    sharpes = [x.mean() / x.std(ddof=1) for x in rets]
    expected = deflated_sharpe_ratio(
        r.mean() / r.std(ddof=1),
        n_trials=round(effective),
        n_obs=r.size,
        skew=np.mean(centred**3) / np.mean(centred**2) ** 1.5,
        kurtosis=np.mean(centred**4) / np.mean(centred**2) ** 2,
        sharpe_var_across_trials=float(np.var(sharpes, ddof=1)),
    )
    assert result.deflated_sharpe == pytest.approx(expected, rel=1e-9)


def test_verdict_states_the_ranges_and_overfitting(result: SweepResult) -> None:
    v = result.verdict
    (a, b), (c, d) = result.in_sample, result.out_of_sample
    assert f"in-sample {a}..{b}" in v and f"out-of-sample {c}..{d}" in v
    assert "independent" in v and "probability of backtest overfitting" in v
    assert result.pbo["combinations"] == 12_870 and 0.0 <= result.pbo["pbo"] <= 1.0
    is_sharpe, oos_sharpe = result.best["is_sharpe"], result.best["oos_sharpe"]
    decayed = is_sharpe > 0 and (oos_sharpe is None or oos_sharpe < is_sharpe / 2)
    assert ("below half the in-sample" in v) == decayed


def test_heatmap_takes_the_max_over_the_other_parameters(result: SweepResult) -> None:
    x, y = "trigger.when.0.window", "exit.trailing_stop_pct"
    cells = result.heatmap(x, y, metric="total_return")
    assert cells.columns == [x, y, "total_return"] and cells.height == 4
    for xv, yv, value in cells.iter_rows():
        group = result.table.filter((pl.col(x) == xv) & (pl.col(y) == yv))
        assert group.height == 2 and value == group["total_return"].max()
    with pytest.raises(ValueError, match="not a swept parameter"):
        result.heatmap(x, "select.top_n")


def test_pair_slices_fix_the_other_parameters_at_the_best(result: SweepResult) -> None:
    slices = pair_slices(result.table, result.params, result.best)
    pairs = [(x, y) for y, x in itertools.combinations(result.params, 2)]
    assert [(x, y) for x, y, _ in slices] == pairs and len(pairs) == 3
    for x, y, rows in slices:
        at_best = [
            r
            for r in result.table.iter_rows(named=True)
            if all(r[k] == result.best[k] for k in result.params if k not in (x, y))
        ]
        assert rows.to_dicts() == at_best and len(at_best) == 4
    assert pair_slices(result.table, result.params[:2], result.best)[0][2].equals(result.table)
    assert pair_slices(result.table, result.params[:1], result.best) == []


def test_recorded_listed_and_json_safe(store: Store, result: SweepResult) -> None:
    listed = list_runs(store).filter(pl.col("run_id") == result.run_id)
    assert listed["kind"].to_list() == ["sweep"]
    assert listed["sharpe"][0] == pytest.approx(result.best["sharpe"])
    row, frames = load_run(store, result.run_id)
    assert row["params"] == {k: list(v) for k, v in result.grid.items()}
    assert all(type(v) is int for v in row["params"]["exit.hold_sessions"])  # not 10.0
    assert result.table.schema["exit.hold_sessions"] == pl.Int64
    assert row["metrics"]["n_configs"] == 8
    assert row["metrics"]["best_params"] == {k: result.best[k] for k in result.params}
    assert len(row["metrics"]["walk_forward"]) == 3
    assert row["metrics"]["trials"] == pytest.approx(result.trials)
    assert row["metrics"]["pbo"] == pytest.approx(result.pbo)
    assert frames["table"].equals(result.table)
    text = json.dumps(result.to_json(), allow_nan=False)
    assert result.verdict in text and "8 configurations" in result.verdict


def _with_sweep(thesis: Thesis, sweep: dict[str, tuple[float, ...]]) -> Thesis:
    return dataclasses.replace(thesis, sweep=sweep)


def _sharpe(values: np.ndarray) -> float:
    rets = np.diff(values) / values[:-1]
    return float(rets.mean() / rets.std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR))


def test_folds_need_enough_sessions(store: Store, thesis: Thesis) -> None:
    with pytest.raises(ConfigError, match="fewer folds"):
        run_sweep(store, thesis, start=dt.date(2016, 12, 26), end=END, settings=SETTINGS, folds=10)
