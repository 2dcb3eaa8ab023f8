"""The factor library: every factor against its slow reference, lookbacks, and no look-ahead."""

from __future__ import annotations

import doctest
import functools
from pathlib import Path
from unittest import mock

import numpy as np
import polars as pl
import pytest
from factors.reference import (
    Market,
    panel_of,
    perturb_after,
    realdata_market,
    reference_factors,
    reference_oversold,
    synthetic_market,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from screener import metals
from screener.engine import evaluate
from screener.factors import base, library, library_commodity, library_price, term, timeseries
from screener.factors.library import REGISTRY
from screener.factors.timeseries import wilder_warm_up

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
BASE_FACTORS = [f for f in REGISTRY.values() if not f.needs]
REQUIRED = (
    "ret_1d",
    "ret_5d",
    "ret_20d",
    "ret_60d",
    "ret_120d",
    "reversal_5d",
    "rsi_14",
    "drawdown_60d",
    "drawdown_250d",
    "ma_dist_20d",
    "ma_dist_60d",
    "vol_20d",
    "vol_60d",
    "downside_vol_20d",
    "volume_surge_20d",
    "amount_surge_20d",
    "amihud_20d",
    "beta_sector_60d",
    "corr_sector_60d",
    "beta_metal_60d",
    "corr_metal_60d",
    "metal_ret_5d",
    "metal_ret_20d",
    "divergence_7d",
    "divergence_20d",
    "rel_strength_20d",
    "limit_up_count_20d",
    "limit_down_count_20d",
    "avg_amount_20d",
    "amount_estimated_20d",
    "oversold_score",
)


def assert_matches(fast: pl.DataFrame, ref: pl.DataFrame, names: list[str]) -> None:
    """Same nulls; values within 1e-9 relative (1e-12 of the column's scale near zero)."""
    assert fast.select("ticker", "date").equals(ref.select("ticker", "date"))
    for name in names:
        a = fast.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        b = ref.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: null pattern differs"
        assert np.isfinite(b).sum() > 50, f"{name}: too few values to prove anything"
        scale = np.nanmax(np.abs(b))
        close = np.isclose(a, b, rtol=1e-9, atol=1e-12 * scale, equal_nan=True)
        assert close.all(), f"{name}: {np.flatnonzero(~close)[:5]} {a[~close][:3]} {b[~close][:3]}"


def test_registry_has_the_named_factors() -> None:
    assert set(REQUIRED) <= set(REGISTRY)
    assert len(REGISTRY) >= 25
    for name, f in REGISTRY.items():
        assert f.name == name
        assert f.summary and len(f.summary) < 120
    table = library.describe()
    assert table.columns == ["name", "lookback", "higher_is_better", "summary"]
    assert table.height == len(REGISTRY)
    rsi = 15 + wilder_warm_up(14)  # Wilder's average: its first value, then forgetting its start
    expected = {"ret_20d": 21, "rsi_14": rsi, "drawdown_250d": 250, "beta_metal_60d": 61}
    assert {n: REGISTRY[n].lookback for n in expected} == expected
    assert rsi == 264 and REGISTRY["oversold_score"].lookback == rsi


def test_directions() -> None:
    worse_when_higher = {"rsi_14", "divergence_7d", "divergence_20d", "vol_20d", "amihud_20d"}
    for name in worse_when_higher:
        assert not REGISTRY[name].higher_is_better
    assert REGISTRY["reversal_5d"].higher_is_better and REGISTRY["ret_20d"].higher_is_better


def test_unknown_names_are_factor_errors() -> None:
    with pytest.raises(base.FactorError, match="nope"):
        library.lookup(["ret_5d", "nope"])


@pytest.mark.parametrize(
    "module", [base, term, timeseries, library_price, library_commodity, library]
)
def test_docstring_examples(module: object) -> None:
    names = {"example": base.example, "Factor": base.Factor, "pl": pl}
    result = doctest.testmod(module, extraglobs=names)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_every_factor_matches_its_reference_on_synthetic_data(seed: int) -> None:
    panel = panel_of(synthetic_market(seed))
    fast = evaluate(panel, list(REGISTRY.values()))
    ref = reference_factors(panel)
    assert_matches(fast, ref, [f.name for f in BASE_FACTORS])
    oversold = ref.with_columns(pl.Series("oversold_score", reference_oversold(ref)))
    assert_matches(fast, oversold, ["oversold_score"])


def test_the_lookback_is_the_history_a_value_needs_and_no_more() -> None:
    """On gap-free data the last value from only the last ``lookback`` rows equals the value
    from all rows (Wilder's RSI: to 1e-8); a window's first value is on row lookback - 1, an
    infinite-memory value's (RSI) arrives earlier by its warm-up."""
    n, rng = 300, np.random.default_rng(7)
    frame = pl.DataFrame(
        {
            "ticker": np.repeat(["A", "B"], n),
            "date": np.tile(np.arange(n), 2),
            "adj_close": 10 * np.exp(np.cumsum(rng.normal(0, 0.02, 2 * n))),
            "sector_close": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2 * n))),
            "metal_close": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2 * n))),
            "volume": rng.integers(1, 1000, 2 * n),
            "amount": rng.uniform(1e6, 1e7, 2 * n),
            "amount_estimated": rng.random(2 * n) < 0.1,
            "closed_limit_up": rng.random(2 * n) < 0.1,
            "closed_limit_down": rng.random(2 * n) < 0.1,
        }
    ).with_columns(
        (pl.col("adj_close") / pl.col("adj_close").shift(1) - 1).over("ticker").alias("ret_1d")
    )
    out = evaluate(frame, list(REGISTRY.values()))
    # the score's first value waits for its 250-session window, not for RSI's warm-up
    warm_up = {
        "rsi_14": wilder_warm_up(14),
        "oversold_score": REGISTRY["oversold_score"].lookback - 250,
    }
    for f in REGISTRY.values():
        for ticker in ("A", "B"):
            values = out.filter(pl.col("ticker") == ticker).get_column(f.name)
            first = values.is_not_null().arg_max()
            expect = f.lookback - 1 - warm_up.get(f.name, 0)
            assert first == expect, f"{f.name}: first value on row {first}"
    for f in REGISTRY.values():
        tail = frame.filter(pl.col("date") >= n - f.lookback)
        alone = evaluate(tail, [f]).filter(pl.col("date") == n - 1).get_column(f.name)
        full = out.filter(pl.col("date") == n - 1).get_column(f.name)
        np.testing.assert_allclose(alone, full, rtol=1e-8, err_msg=f.name)


def test_every_factor_matches_its_reference_on_real_data() -> None:
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data validation needs ../shared/realdata")
    panel = panel_of(realdata_market(REALDATA))
    assert panel.get_column("suspended").sum() > 50  # real suspensions are in the window
    fast = evaluate(panel, list(REGISTRY.values()))
    ref = reference_factors(panel)
    assert_matches(fast, ref, [f.name for f in BASE_FACTORS])
    oversold = ref.with_columns(pl.Series("oversold_score", reference_oversold(ref)))
    assert_matches(fast, oversold, ["oversold_score"])


# -- no look-ahead ---------------------------------------------------------------------------


@functools.cache
def _market(seed: int) -> Market:
    return synthetic_market(seed)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.sampled_from([1, 2, 3]),
    cut_at=st.integers(min_value=3, max_value=318),
    noise=st.integers(min_value=0, max_value=2**31),
    foreign=st.booleans(),
)
def test_nothing_after_t_changes_anything_up_to_t(
    seed: int, cut_at: int, noise: int, foreign: bool
) -> None:
    market = _market(seed)
    cut = market.sessions[cut_at]
    changed = perturb_after(market, cut, noise)
    # foreign=True: copper names follow LME (a value dated t is known only on the next session)
    copper = {"copper": ("LME.CU.CASH",)} if foreign else {}
    with mock.patch.dict(metals.METAL_SERIES, copper):
        runs = []
        for m in (market, changed):
            panel = panel_of(m)
            values = evaluate(panel, list(REGISTRY.values()))
            runs.append(panel.join(values, on=["ticker", "date"]))
    up_to = pl.col("date") <= cut
    assert_frame_equal(runs[0].filter(up_to), runs[1].filter(up_to), check_exact=True)
    if foreign:
        assert runs[0].filter(pl.col("metal_series") == "LME.CU.CASH").height > 0
    assert not runs[0].filter(~up_to).equals(runs[1].filter(~up_to))  # the test has teeth


def test_a_ticker_alone_gets_the_same_values_bit_for_bit() -> None:
    """No time-series part reads another ticker: not even rounding residue of its values."""
    panel = panel_of(synthetic_market(5))
    names = [f.name for f in BASE_FACTORS]
    together = evaluate(panel, BASE_FACTORS).select("ticker", "date", *names)
    for ticker in panel.get_column("ticker").unique().to_list():
        alone = evaluate(panel.filter(pl.col("ticker") == ticker), BASE_FACTORS)
        mine = together.filter(pl.col("ticker") == ticker)
        assert_frame_equal(alone.select("ticker", "date", *names), mine, check_exact=True)
