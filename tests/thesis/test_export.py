"""Data out: the tiny dip's trade list and book by hand, files that read back as written, a
returns series empyrical agrees with, and a run recorded before positions and exit reasons
were kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sample_markets import TINY_A, TINY_DIP, copper_store, copper_thesis, tiny_store
from sample_markets import TINY_SESSIONS as SESSIONS

from screener.config import Settings
from screener.store import Store
from screener.thesis import load_thesis
from screener.thesis.compile import EXIT_REASONS
from screener.thesis.export import TABLES, export_tables, write_tables
from screener.thesis.metrics import SESSIONS_PER_YEAR
from screener.thesis.record import BacktestResult, load_run, pack
from screener.thesis.run import run_backtest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BacktestResult]:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.toml").write_text(TINY_DIP, encoding="utf-8")
    with tiny_store(folder / "tiny.duckdb") as store:
        yield run_backtest(store, load_thesis(folder / "tiny.toml"), settings=Settings())


@pytest.fixture(scope="module")
def copper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, BacktestResult]]:
    folder = tmp_path_factory.mktemp("copper")
    with copper_store(folder, dt.date(2016, 12, 30)) as store:
        yield store, run_backtest(store, copper_thesis(folder), settings=Settings())


def test_the_tiny_dips_trade_and_book_by_hand(tiny: BacktestResult) -> None:
    """62,500 shares of A bought at the open of session 11 (8.00), held 3 sessions, sold at the
    open of 14 (8.30): the costs of test_run's hand-computed case, by kind."""
    tables = export_tables(tiny.frames())
    assert list(tables) == list(TABLES)
    trade = tables["trades"].row(0, named=True)
    assert tables["trades"].height == 1
    assert (trade["ticker"], trade["name"]) == ("600001.SH", "甲有色")
    assert (trade["entry_date"], trade["exit_date"]) == (SESSIONS[11], SESSIONS[14])
    assert (trade["exit_reason"], trade["holding_sessions"]) == ("hold", 3)
    sold = 62_500 * 8.30
    assert trade["commission"] == pytest.approx(500_000 * 0.00025 + sold * 0.00025)
    assert trade["stamp_duty"] == pytest.approx(sold * 0.0005)
    assert trade["transfer_fee"] == pytest.approx(500_000 * 0.00001 + sold * 0.00001)
    assert trade["costs"] == pytest.approx(tiny.metrics["costs_paid"])
    assert trade["pnl"] == pytest.approx((trade["exit_price"] - trade["entry_price"]) * 62_500)
    book = tables["positions"]
    assert book.select("date", "shares").rows() == [(SESSIONS[i], 62_500.0) for i in (11, 12, 13)]
    assert book["value"].to_list() == pytest.approx([62_500 * TINY_A[i] for i in (11, 12, 13)])
    equity = tables["equity"]
    assert equity["returns"][0] is None  # no return into the first session
    value = equity["value"].to_numpy()
    np.testing.assert_allclose(tables["returns"]["returns"], value[1:] / value[:-1] - 1)
    # the window opens on session 5, reversal_5d's first value; no return into its first day
    assert equity["date"][0] == SESSIONS[5] and tables["returns"]["date"][0] == SESSIONS[6]


def test_backtest_json_has_params_equity_and_trades(tiny: BacktestResult) -> None:
    """Before: ``params`` was {} (the overrides) and there was no equity or trade list."""
    out = json.loads(json.dumps(tiny.to_json()))  # JSON-safe as it is
    assert out["params"]["exit.hold_sessions"] == 3 and out["params"]["select.top_n"] == 1
    assert out["params"]["trigger.when.0.max_change_pct"] == -15.0
    assert out["params"]["costs.commission_rate"] == 0.00025 and out["overrides"] == {}
    assert out["params"]["costs.stamp_duty_rates"][0] == ["2008-09-19", 0.001]
    assert len(out["equity"]) == len(SESSIONS) - 5  # from reversal_5d's first value
    assert out["equity"][0]["date"] == SESSIONS[5].isoformat()
    assert [t["exit_reason"] for t in out["trades"]] == ["hold"]


def test_files_read_back_as_written(copper: tuple[Store, BacktestResult], tmp_path: Path) -> None:
    tables = export_tables(copper[1].frames())
    written = write_tables(tables, tmp_path / "run", synthetic=True)
    assert sorted(p.name for p in written) == sorted(
        f"{t}.{ext}" for t in TABLES for ext in ("parquet", "csv")
    )
    for name, table in tables.items():
        labelled = table.with_columns(synthetic=pl.lit(True))
        assert_frame_equal(pl.read_parquet(tmp_path / "run" / f"{name}.parquet"), labelled)
        csv = pl.read_csv(tmp_path / "run" / f"{name}.csv", try_parse_dates=True)
        assert_frame_equal(csv, labelled, check_dtypes=False, rel_tol=1e-12)
    reasons = set(tables["trades"]["exit_reason"])
    assert reasons <= {*EXIT_REASONS, "open"} and len(reasons) > 1
    assert tables["trades"].height == copper[1].trades.height > 5


def test_empyrical_reads_the_returns_as_our_metrics_do(
    copper: tuple[Store, BacktestResult], tmp_path: Path
) -> None:
    empyrical = pytest.importorskip("empyrical")
    result = copper[1]
    write_tables(export_tables(result.frames()), tmp_path, synthetic=False)
    returns = pl.read_parquet(tmp_path / "returns.parquet").to_pandas().set_index("date")
    r, m, n = returns["returns"], result.metrics, SESSIONS_PER_YEAR
    assert empyrical.sharpe_ratio(r, annualization=n) == pytest.approx(m["sharpe"], rel=1e-9)
    assert empyrical.sortino_ratio(r, annualization=n) == pytest.approx(m["sortino"], rel=1e-9)
    assert empyrical.max_drawdown(r) == pytest.approx(m["max_drawdown"], rel=1e-9)
    assert empyrical.annual_return(r, annualization=n) == pytest.approx(m["annual_return"])


def test_a_run_recorded_before_positions_and_reasons_still_exports(
    copper: tuple[Store, BacktestResult],
) -> None:
    """An older payload (no positions, holdings without exit_reason, trades without costs by
    kind): the same trades from its order log, no positions, reasons unknown."""
    store, result = copper
    frames = result.frames()
    old = {k: f for k, f in frames.items() if k != "positions"}
    old["holdings"] = frames["holdings"].drop("exit_reason")
    old["trades"] = frames["trades"].drop("commission", "stamp_duty", "transfer_fee")
    row = store.read_table("runs").filter(pl.col("run_id") == result.run_id)
    store.upsert("runs", row.with_columns(payload=pl.lit(pack(old))))
    _, stored = load_run(store, result.run_id)
    tables = export_tables(stored)
    assert "positions" not in tables
    now = export_tables(frames)["trades"]
    assert_frame_equal(tables["trades"].drop("exit_reason"), now.drop("exit_reason"))
    closed = tables["trades"].filter(pl.col("exit_date").is_not_null())
    assert closed["exit_reason"].null_count() == closed.height
