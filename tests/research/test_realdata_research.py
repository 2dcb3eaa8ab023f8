"""Factor research on real bars (../shared/realdata) against the pandas/scipy reference.

The store holds the real 801050.SI and CSI 300 and the real bars of every sector name that
traded from mid-2018 to 2021 without delisting (106 names), imported through the vendor-file
importer. IC, rank IC and the quantile statistics of a momentum factor, an amount in yuan
(large values: no cancellation) and a count with many ties equal the reference to 1e-9.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import polars as pl
import pytest
from research.reference_research import (
    buckets,
    daily_ic,
    quantile_means,
    reference_frame,
    summary,
    turnover,
)

from screener.config import Settings
from screener.instruments import load_master
from screener.panel import build_panel
from screener.research.data import FactorPanel, factor_set, load
from screener.research.ic import ic_series, ic_summary
from screener.research.quantiles import quantile_analysis
from screener.schema import SECTOR_INDEX
from screener.store import Store
from tests.conftest import require_realdata
from tests.realdata import real_store

START, END = dt.date(2018, 1, 2), dt.date(2021, 12, 31)
STUDY = dt.date(2020, 1, 2)
NAMES = ("ret_20d", "avg_amount_20d", "limit_up_count_20d")
HORIZONS = (1, 5, 20)
TOL = 1e-9


def _sector_names() -> list[str]:
    stocks = pl.read_parquet(require_realdata() / "stocks_daily.parquet")
    span = stocks.group_by("ticker").agg(first=pl.col("date").min(), last=pl.col("date").max())
    sector = load_master().filter(pl.col("sw_l1") == SECTOR_INDEX, pl.col("delist_date").is_null())
    alive = span.join(sector.select("ticker"), on="ticker").filter(
        pl.col("first") <= dt.date(2018, 6, 1), pl.col("last") >= END
    )
    return alive.get_column("ticker").sort().to_list()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("real_research") / "real.duckdb"
    with real_store(path, _sector_names(), START, END, index_end=END) as s:
        yield s


@pytest.fixture(scope="module")
def research(store: Store) -> FactorPanel:
    return load(
        store, factor_set(NAMES), start=STUDY, end=END, horizons=HORIZONS, settings=Settings()
    )


@pytest.fixture(scope="module")
def reference(store: Store, research: FactorPanel) -> pd.DataFrame:
    panel = build_panel(store, start=START, end=END, settings=Settings())
    frame = reference_frame(panel, factor_set(NAMES), HORIZONS)
    return frame[frame["date"] >= pd.Timestamp(STUDY)].reset_index(drop=True)


def test_every_name_is_in_the_sector_universe(research: FactorPanel) -> None:
    assert research.tickers == _sector_names() and len(research.tickers) == 106
    assert not research.synthetic


@pytest.mark.parametrize("factor", NAMES)
def test_real_ic_and_rank_ic_equal_the_reference(
    research: FactorPanel, reference: pd.DataFrame, factor: str
) -> None:
    table = ic_summary(research, [factor])
    series = ic_series(research, factor)
    for h in HORIZONS:
        want = daily_ic(reference, factor, h, ["date"])
        got = series.filter(pl.col("horizon") == h)
        assert got.height == len(want) > 400
        np.testing.assert_allclose(got["ic"].to_numpy(), want["ic"], rtol=0, atol=TOL)
        np.testing.assert_allclose(got["rank_ic"].to_numpy(), want["rank_ic"], rtol=0, atol=TOL)
        row = table.filter(pl.col("horizon") == h).row(0, named=True)
        ref = summary(want["rank_ic"].to_numpy(), h - 1)
        assert row["rank_ic"] == pytest.approx(ref["mean"], abs=TOL)
        assert row["rank_ic_t"] == pytest.approx(ref["t"], abs=TOL)


@pytest.mark.parametrize("factor", NAMES)
def test_real_quantiles_equal_the_reference(
    research: FactorPanel, reference: pd.DataFrame, factor: str
) -> None:
    result = quantile_analysis(research, factor, quantiles=5)
    bucket = buckets(reference, factor, 5, ["date"])
    days = [pd.Timestamp(d) for d in research.sessions]
    for h in HORIZONS:
        daily = quantile_means(reference, bucket, h, neutral=False)
        got = result.returns.filter(pl.col("horizon") == h).sort("quantile")
        present = [int(k) for k in daily.columns]
        want = daily.mean().to_numpy()
        np.testing.assert_allclose(
            got.filter(pl.col("quantile").is_in(present))["mean_return"].to_numpy(),
            want,
            rtol=0,
            atol=TOL,
        )
        spread = result.spread.filter(pl.col("horizon") == h).row(0, named=True)
        if 1 in present and 5 in present:
            assert spread["spread"] == pytest.approx(
                summary((daily[5] - daily[1]).dropna().to_numpy(), h - 1)["mean"], abs=TOL
            )
        top = result.turnover.filter(pl.col("horizon") == h).row(0, named=True)["turnover"]
        assert top == pytest.approx(turnover(bucket, reference, 5, h, days), abs=TOL)
