"""A copper breakout on the real 2016-2019 market (../shared/realdata), recorded, exported from
the store and read back: the book adds up to the equity, the returns compound to it and the
trade list accounts for every cost the run paid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sample_markets import COPPER, copper_thesis

from screener.config import Settings
from screener.thesis.compile import EXIT_REASONS
from screener.thesis.export import TABLES, export_tables, write_tables
from screener.thesis.record import load_run
from screener.thesis.run import run_backtest
from tests.realdata import clean_series, real_store

START, END = dt.date(2016, 1, 4), dt.date(2019, 12, 31)
HISTORY = dt.date(2015, 1, 5)  # warm-up for the 20-60 session windows


def test_a_real_run_exported_from_the_store_reads_back_whole(tmp_path: Path) -> None:
    with real_store(tmp_path / "real.duckdb", COPPER, HISTORY, END, index_end=END) as store:
        store.upsert("series_daily", clean_series(["SHFE.CU"], HISTORY, END))
        result = run_backtest(
            store, copper_thesis(tmp_path), start=START, end=END, settings=Settings()
        )
        _, frames = load_run(store, result.run_id)
    write_tables(export_tables(frames), tmp_path / "out", synthetic=False)
    read = {t: pl.read_parquet(tmp_path / "out" / f"{t}.parquet") for t in TABLES}
    equity, trades = read["equity"], read["trades"]
    assert "synthetic" not in equity.columns  # real data are not labelled synthetic
    book = read["positions"].group_by("date").agg(pl.col("value").sum())
    held = equity.join(book, on="date", how="left").fill_null(0.0)
    np.testing.assert_allclose(held["value_right"] + held["cash"], held["value"], rtol=1e-9)
    growth = (1 + read["returns"]["returns"]).product()
    assert equity["value"][0] * growth == pytest.approx(equity["value"][-1], rel=1e-9)
    assert trades.height == result.trades.height >= 5
    assert trades["costs"].sum() == pytest.approx(result.metrics["costs_paid"], rel=1e-9)
    assert set(trades["exit_reason"]) <= {*EXIT_REASONS, "open"}
    assert (trades["holding_sessions"] >= 1).all()
    assert trades["name"].null_count() == 0
