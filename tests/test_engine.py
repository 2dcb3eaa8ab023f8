"""The engine: dependency levels, one-pass evaluation, ranks, and compute_factors on a store."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import numpy as np
import polars as pl
import pytest
from factors.reference import Market, panel_of, synthetic_market
from polars.testing import assert_frame_equal, assert_series_equal

from screener import engine
from screener.config import Settings
from screener.errors import DataUnavailableError
from screener.factors.base import Factor, FactorError, composite, rank
from screener.factors.library import REGISTRY
from screener.store import Store

SETTINGS = Settings(max_ffill_sessions=5)


@pytest.fixture(scope="module")
def market() -> Market:
    return synthetic_market(11)


@pytest.fixture(scope="module")
def panel(market: Market) -> pl.DataFrame:
    return panel_of(market)


@pytest.fixture
def loaded(store: Store, market: Market) -> Store:
    store.upsert("bars_daily", market.bars)
    store.upsert("instruments", market.instruments)
    store.upsert("index_daily", market.index)
    store.upsert("series_daily", market.series)
    return store


def test_resolve_orders_dependencies_in_levels() -> None:
    levels = engine.resolve([REGISTRY["oversold_score"], REGISTRY["ret_20d"]])
    names = [sorted(f.name for f in level) for level in levels]
    assert names == [["divergence_20d", "drawdown_250d", "ret_20d", "rsi_14"], ["oversold_score"]]
    double = composite("double", {"oversold_score": 1.0}, "Twice removed.", registry=REGISTRY)
    assert len(engine.resolve([double])) == 3


def test_resolve_rejects_cycles_and_unknown_needs() -> None:
    loop = Factor("loop", pl.col("loop"), True, "Itself.", needs=("loop",))
    with pytest.raises(FactorError, match="needs itself"):
        engine.resolve([loop])
    orphan = Factor("orphan", pl.col("x"), True, "Orphan.", needs=("nope",))
    with pytest.raises(FactorError, match="unknown"):
        engine.resolve([orphan])


def test_evaluate_returns_values_then_ranks(panel: pl.DataFrame, market: Market) -> None:
    chosen = [REGISTRY["oversold_score"], REGISTRY["rsi_14"]]
    out = engine.evaluate(panel, chosen)
    assert out.columns == [
        "ticker",
        "date",
        "oversold_score",
        "rsi_14",
        "oversold_score_rank",
        "rsi_14_rank",
    ]
    assert out.height == panel.height
    assert [out.schema[c] for c in out.columns[2:]] == [pl.Float64] * 2 + [pl.Float32] * 2
    day = out.drop_nulls("rsi_14").filter(pl.col("date") == market.sessions[-8])
    assert day.height >= 4
    lowest = day.sort("rsi_14").row(0, named=True)  # lower RSI is better: rank 1
    assert lowest["rsi_14_rank"] == 1.0
    assert day.get_column("rsi_14_rank").min() == 0.0


def test_dates_lazy_and_unsorted_input_give_the_same_numbers(panel: pl.DataFrame) -> None:
    factors = list(REGISTRY.values())
    full = engine.evaluate(panel, factors)
    picked = [panel.get_column("date")[-1], panel.get_column("date")[-40]]
    some = engine.evaluate(panel, factors, dates=picked)
    assert_frame_equal(some, full.filter(pl.col("date").is_in(picked)))
    shuffled = panel.sample(fraction=1.0, shuffle=True, seed=3)
    assert_frame_equal(engine.evaluate(shuffled, factors), full)
    assert_frame_equal(engine.evaluate(panel.lazy(), factors), full)


def test_undefined_values_are_null_not_nan_or_inf() -> None:
    frame = pl.DataFrame({"ticker": ["A", "B"], "date": [1, 1], "x": [0.0, 1.0]})
    ratio = Factor("ratio", 1.0 / pl.col("x"), True, "Inverse.")
    nan = Factor("nan", pl.col("x") / pl.col("x"), True, "Self ratio.")
    out = engine.evaluate(frame, [ratio, nan])
    assert out.get_column("ratio").to_list() == [None, 1.0]
    assert out.get_column("nan").to_list() == [None, 1.0]
    assert out.get_column("ratio_rank").to_list() == [None, 0.5]


def test_missing_panel_columns_fail_before_running(panel: pl.DataFrame) -> None:
    with pytest.raises(FactorError, match=r"metal_close"):
        engine.evaluate(panel.drop("metal_close"), [REGISTRY["metal_ret_5d"]])


def test_compute_factors_equals_evaluate_on_the_full_history(
    loaded: Store, market: Market, panel: pl.DataFrame
) -> None:
    on = market.sessions[-4]  # every live name has a row (the last bars differ)
    got = engine.compute_factors(loaded, on=on, settings=SETTINGS)
    want = engine.evaluate(panel, list(REGISTRY.values()), dates=[on]).sort("ticker")
    assert_frame_equal(got, want)
    assert got.height == 5  # the sixth name was delisted before `on`


def test_compute_factors_loads_only_the_history_it_needs(
    loaded: Store, market: Market, panel: pl.DataFrame
) -> None:
    on = market.sessions[-4]  # every live name has a row (the last bars differ)
    with mock.patch.object(engine, "build_panel", wraps=engine.build_panel) as spy:
        got = engine.compute_factors(loaded, on=on, factors=["ret_5d", "rsi_14"], settings=SETTINGS)
    depth = REGISTRY["rsi_14"].lookback  # includes Wilder's warm-up
    assert spy.call_args.kwargs["start"] == market.sessions[-4 - depth + 1]
    want = engine.evaluate(panel, [REGISTRY["ret_5d"], REGISTRY["rsi_14"]], dates=[on])
    want = want.sort("ticker")
    assert_frame_equal(got.drop("rsi_14"), want.drop("rsi_14"))  # a window: exact
    # Wilder's RSI remembers its start by (13/14)^k: the lookback takes it below 1e-8
    np.testing.assert_allclose(got.get_column("rsi_14"), want.get_column("rsi_14"), rtol=1e-6)


def test_compute_factors_selects_rows_but_ranks_against_everyone(
    loaded: Store, market: Market
) -> None:
    on = market.sessions[-4]  # every live name has a row (the last bars differ)
    everyone = engine.compute_factors(loaded, on=on, factors=["ret_20d"], settings=SETTINGS)
    one = engine.compute_factors(
        loaded, on=on, tickers=["600001.SH"], factors=["ret_20d"], settings=SETTINGS
    )
    assert one.to_dicts() == everyone.filter(pl.col("ticker") == "600001.SH").to_dicts()
    gold = engine.compute_factors(loaded, on=on, metal="gold", factors=["ret_20d"])
    assert gold.get_column("ticker").to_list() == ["000003.SZ", "600002.SH"]  # any tag


def test_compute_factors_rolls_a_weekend_back_to_friday(loaded: Store, market: Market) -> None:
    friday = next(d for d in reversed(market.sessions) if d.weekday() == 4)
    out = engine.compute_factors(
        loaded, on=friday + dt.timedelta(days=1), factors=["ret_1d"], settings=SETTINGS
    )
    assert set(out.get_column("date")) == {friday}


def test_compute_factors_errors(loaded: Store, market: Market) -> None:
    on = market.sessions[-4]  # every live name has a row (the last bars differ)
    with pytest.raises(FactorError, match="unknown factor"):
        engine.compute_factors(loaded, on=on, factors=["ret_7y"])
    with pytest.raises(FactorError, match="not both"):
        engine.compute_factors(loaded, on=on, tickers=["600001.SH"], metal="copper")
    with pytest.raises(FactorError, match="unknown metal"):
        engine.compute_factors(loaded, on=on, metal="unobtainium")
    with pytest.raises(DataUnavailableError, match=r"600999\.SH"):
        engine.compute_factors(loaded, on=on, tickers=["600001.SH", "600999.SH"])
    with pytest.raises(DataUnavailableError, match="no bars"):
        engine.compute_factors(loaded, on=on + dt.timedelta(days=60))


def test_compute_factors_on_the_demo_market(store: Store) -> None:
    """End to end on the demo store: the seed note's date, copper names, every factor."""
    from screener.ingest import demo
    from screener.instruments import load_master

    market = demo.generate(load_master(), start=dt.date(2024, 6, 3), end=dt.date(2026, 2, 13))
    store.upsert("instruments", market.instruments)
    store.upsert("bars_daily", market.bars)
    store.upsert("index_daily", market.index)
    store.upsert("series_daily", market.series)
    out = engine.compute_factors(store, on=dt.date(2026, 2, 6), metal="copper")
    assert out.height >= 5
    assert set(out.get_column("date")) == {dt.date(2026, 2, 6)}
    for name in REGISTRY:
        values = out.get_column(name)
        assert values.null_count() < out.height, f"{name} is null for every copper name"
        ranks = out.get_column(f"{name}_rank").drop_nulls()
        assert ranks.is_between(0.0, 1.0).all()
    # the scripted sell-off: the sector fell about 15% in the 7 sessions to 2026-02-06
    assert out.get_column("ret_5d").median() < 0  # type: ignore[operator]


def test_compute_factors_on_an_empty_store(store: Store) -> None:
    with pytest.raises(DataUnavailableError, match="no bars"):
        engine.compute_factors(store, on=dt.date(2026, 2, 6))


def rank_frame(seed: int, n_dates: int = 6, width: int = 3000) -> pl.DataFrame:
    """Dates of many names (more than one radix digit), of one name, and of none; ties, -0.0,
    values equal in their top 32 key bits, nulls."""
    rng = np.random.default_rng(seed)
    n = n_dates * width
    x = rng.normal(0.0, 1.0, n)
    x = np.where(rng.random(n) < 0.3, np.round(x, 1), x)  # ties
    x = np.where(rng.random(n) < 0.05, 0.0, x)
    x = np.where(rng.random(n) < 0.05, -0.0, x)
    near = 1.0 + rng.integers(0, 50, n) * 2.0**-45  # same top 32 bits, different values
    x = np.where(rng.random(n) < 0.1, near, x)
    dates = np.repeat(np.arange(n_dates), width)
    dates[-1] = n_dates  # a date with a single name
    frame = pl.DataFrame({"date": dates, "ticker": np.tile(np.arange(width), n_dates), "x": x})
    gaps = pl.Series(rng.random(n) < 0.1)
    frame = frame.with_columns(pl.when(gaps).then(None).otherwise("x").alias("x"))
    return frame.with_columns(pl.when(pl.col("date") == 2).then(None).otherwise("x").alias("x"))


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_ranks_are_base_rank(higher_is_better: bool) -> None:
    """Float32 ranks within RANK_TOLERANCE of polars' Float64 ranks; ties share one rank."""
    frame = rank_frame(7)
    factor = Factor("x", pl.col("x"), higher_is_better, "X.")
    for shaped in (frame, frame.drop_nulls(), frame.slice(1234), pl.concat([frame, frame])):
        (got,) = engine.cross_sectional_ranks(shaped, [factor])
        want = shaped.select(rank(pl.col("x"), descending=not higher_is_better).alias("x_rank"))
        assert got.dtype == pl.Float32
        assert_series_equal(
            got, want.to_series(), check_dtypes=False, abs_tol=engine.RANK_TOLERANCE, rel_tol=0.0
        )
        tied = shaped.with_columns(got).drop_nulls().group_by("date", "x")
        assert tied.agg(pl.col("x_rank").n_unique()).get_column("x_rank").max() == 1
    assert got.null_count() == 2 * frame.get_column("x").null_count()
