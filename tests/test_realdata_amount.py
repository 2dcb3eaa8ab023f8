"""The sector screen on real bars without ``amount`` (../shared/realdata).

The store holds the real bars (2019-2021) of every Shenwan nonferrous name in the real file,
imported without their ``amount`` column as a poorer vendor file gives them, with 801050.SI,
CSI 300 and the real metal series. Before close x volume stood in, every name was "illiquid"
and the default sector screen ranked nobody. Now it ranks, says the amount was estimated, and
its coverage adds up; the estimate is checked against the vendor's own amounts in the file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import polars as pl
import pytest

from screener import metals
from screener.config import Settings
from screener.instruments import load_master
from screener.schema import SECTOR_INDEX
from screener.screen import Screen, run_screen
from screener.store import Store
from tests.conftest import require_realdata
from tests.realdata import clean_series, real_store

START, END = dt.date(2019, 1, 2), dt.date(2021, 12, 31)
SETTINGS = Settings()
SERIES = sorted({s for chain in metals.METAL_SERIES.values() for s in chain} | {metals.FX})


def sector_tickers() -> list[str]:
    master = load_master()
    return master.filter(pl.col("sw_l1") == SECTOR_INDEX)["ticker"].to_list()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    tickers = sector_tickers()
    with real_store(path, tickers, START, END, index_end=END, without=("amount",)) as s:
        s.upsert("series_daily", clean_series(SERIES, START - dt.timedelta(days=30), END))
        yield s


def vendor_amounts(on: dt.date) -> pl.DataFrame:
    """ticker, the vendor's own mean amount over the 20 sessions to ``on`` (from the file)."""
    rows = pl.read_parquet(require_realdata() / "stocks_daily.parquet").filter(
        pl.col("ticker").is_in(sector_tickers()), pl.col("date").is_between(START, on)
    )
    last = rows.sort("date").group_by("ticker").tail(20)
    return last.group_by("ticker").agg(vendor=pl.col("amount").mean(), n=pl.len())


def test_the_sector_screen_ranks_and_says_the_amount_was_estimated(store: Store) -> None:
    assert store.query("SELECT count(*) AS n FROM bars_daily WHERE amount IS NOT NULL")["n"][0] == 0
    on = END
    result = run_screen(store, Screen(universe="sector"), on=on, settings=SETTINGS)
    cov = result.coverage
    print("coverage:", cov.headline(result.screen), "|", cov.estimate_line())
    assert result.ranked.height == 10 and result.ranked["amount_estimated"].all()
    assert cov.amount_estimated > 0 and "close x volume" in (cov.estimate_line() or "")
    assert cov.universe == result.universe_size and cov.passed + cov.excluded == cov.universe
    tally = Counter(r for reasons in result.excluded["reason"] for r in reasons.split(", "))
    assert dict(cov.reasons) == tally
    assert cov.scored >= cov.passed > 0


def test_the_estimate_is_close_to_the_vendors_amount(store: Store) -> None:
    """Over 20 sessions close x volume is within 3% of the vendor's amount for every name, and
    the liquidity filter excludes the same names either way."""
    from screener.engine import compute_factors

    estimated = compute_factors(store, on=END, factors=["avg_amount_20d"], settings=SETTINGS)
    both = estimated.join(vendor_amounts(END).filter(pl.col("n") == 20), on="ticker")
    assert both.height > 100
    ratio = both["avg_amount_20d"] / both["vendor"]
    print(f"estimate / vendor over 20 sessions: min {ratio.min():.4f}, max {ratio.max():.4f}")
    assert ratio.min() > 0.97 and ratio.max() < 1.03  # type: ignore[operator]
    illiquid = both.filter(pl.col("avg_amount_20d") < 20e6)["ticker"].sort().to_list()
    assert illiquid == both.filter(pl.col("vendor") < 20e6)["ticker"].sort().to_list()
