"""Every qlib operator against the pandas twin (tests/factors/qlib_twin.py), and no look-ahead."""

from __future__ import annotations

import functools

import numpy as np
import polars as pl
import pytest
from factors.qlib_twin import evaluate_twin
from factors.reference import Market, panel_of, perturb_after, synthetic_market
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from screener.engine import factor_values
from screener.factors.base import FactorError
from screener.factors.expr import PANEL_FIELDS, expression_factor
from screener.panel import PANEL_COLUMNS

# One formula per operator (and the infix forms), on prices, volume, vwap and a metal series.
EVERY_OPERATOR = {
    "mean": "Mean($close, 5) / $close",
    "std": "Std($close, 5) / $close",
    "var": "Var($close, 5)",
    "sum": "Sum(Greater($close - Ref($close, 1), 0), 5)"
    " / (Sum(Abs($close - Ref($close, 1)), 5) + 1e-12)",
    "count": "Count($vwap, 5)",
    "cnt": "Mean($close > Ref($close, 1), 10) - Mean($close < Ref($close, 1), 10)",
    "slope": "Slope($close, 10) / $close",
    "rsquare": "Rsquare($close, 10)",
    "resi": "Resi($close, 10) / $close",
    "max": "Max($high, 20) / $close",
    "min": "Min($low, 20) / $close",
    "quantile": "Quantile($close, 20, 0.8) / $close",
    "median": "Med($close, 9)",
    "mad": "Mad($close, 9)",
    "rank": "Rank($close, 20)",
    "idxmax": "IdxMax($high, 20) / 20",
    "idxmin": "IdxMin($low, 20) / 20",
    "corr": "Corr($close, Log($volume + 1), 20)",
    "cord": "Corr($close / Ref($close, 1), Log($volume / Ref($volume, 1) + 1), 20)",
    "cov": "Cov($close, $volume, 10)",
    "skew": "Skew($close, 10)",
    "kurt": "Kurt($close, 10)",
    "wma": "WMA($close, 7)",
    "ema": "EMA($close, 10)",
    "ema_alpha": "EMA($close, 0.3)",
    "delta": "Delta($close, 3)",
    "vstd": "Std($volume, 5) / ($volume + 1e-12)",
    "wvma": "Std(Abs($close / Ref($close, 1) - 1) * $volume, 10)"
    " / (Mean(Abs($close / Ref($close, 1) - 1) * $volume, 10) + 1e-12)",
    "vwap": "$vwap / $close",
    "if": "If($close > $open, $high, $low)",
    "power": "Power($close, 0.5) + Sign($close - $open) + Abs(Log($close)) + $close ** 2",
    "logic": "And($close > $open, $volume > 0) + Or(Lt($close, $open), Not(Gt($volume, 0)))",
    "compare": "Ne($close, Ref($close, 1)) * 1 + Eq($open, $close) * 2 + Ge($high, $close) * 4",
    "flags": "($close > $open) + Le($low, $open) + ($volume > 0) * ($high > $close)",
    "less": "Less($open, Ref($close, 2)) - Sub(Add($close, 1), Mul(2, Div($open, 2)))",
    "metal": "Mean($metal_close, 5) / Ref($sector_close, 3)",
}


def assert_like_qlib(ours: pl.DataFrame, twin: pl.DataFrame, names: list[str]) -> None:
    """Same rows and nulls; values within 1e-9 relative, or 1e-7 absolute: a window of equal
    values has a std of exactly 0 here and pandas' rounding residue (1e-8 of the price) there."""
    assert ours.select("ticker", "date").equals(twin.select("ticker", "date"))
    for name in names:
        a = ours.get_column(name).fill_null(np.nan).to_numpy()
        b = twin.get_column(name).fill_null(np.nan).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: null pattern differs"
        assert np.isfinite(b).sum() > 100, f"{name}: too few values to prove anything"
        close = np.isclose(a, b, rtol=1e-9, atol=1e-7, equal_nan=True)
        bad = np.flatnonzero(~close)[:3]
        assert close.all(), f"{name}: rows {bad}: {a[bad]} vs {b[bad]}"


def evaluate_exprs(panel: pl.DataFrame, exprs: dict[str, str]) -> pl.DataFrame:
    return factor_values(panel, [expression_factor(n, t) for n, t in exprs.items()])


@pytest.mark.parametrize("seed", [1, 2])
def test_every_operator_matches_qlibs_semantics(seed: int) -> None:
    panel = panel_of(synthetic_market(seed))
    ours = evaluate_exprs(panel, EVERY_OPERATOR)
    assert_like_qlib(ours, evaluate_twin(panel, EVERY_OPERATOR), list(EVERY_OPERATOR))


def test_values_start_on_a_tickers_first_row_as_in_qlib() -> None:
    """min_periods=1: a partial window gives a value; Ref leaves the first rows missing."""
    frame = pl.DataFrame({"ticker": ["A"] * 4, "date": range(4), "adj_close": [1.0, 3.0, 2.0, 4.0]})
    f = expression_factor("m", "Mean($close, 3)")
    g = expression_factor("r", "$close > Ref($close, 1)")
    got = factor_values(frame, [f, g])
    assert got.get_column("m").to_list() == [1.0, 2.0, 2.0, 3.0]
    assert got.get_column("r").to_list() == [0.0, 1.0, 0.0, 1.0]  # missing compares false


def test_two_comparisons_cannot_be_subtracted_as_in_numpy() -> None:
    frame = pl.DataFrame(
        {"ticker": ["A"] * 2, "date": [1, 2], "adj_close": [1.0, 2.0], "adj_open": [2.0, 1.0]}
    )
    with pytest.raises(FactorError, match="numpy cannot compute"):
        factor_values(frame, [expression_factor("f", "($close > $open) - ($open > $close)")])


def test_fields_are_panel_columns() -> None:
    assert set(PANEL_FIELDS) <= set(PANEL_COLUMNS)


@functools.cache
def _market(seed: int) -> Market:
    return synthetic_market(seed)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.sampled_from([1, 2]),
    cut_at=st.integers(min_value=3, max_value=318),
    noise=st.integers(min_value=0, max_value=2**31),
)
def test_nothing_after_t_changes_an_expression_up_to_t(seed: int, cut_at: int, noise: int) -> None:
    market = _market(seed)
    cut = market.sessions[cut_at]
    runs = [
        evaluate_exprs(panel_of(m), EVERY_OPERATOR)
        for m in (market, perturb_after(market, cut, noise))
    ]
    up_to = pl.col("date") <= cut
    assert_frame_equal(runs[0].filter(up_to), runs[1].filter(up_to), check_exact=True)
    assert not runs[0].filter(~up_to).equals(runs[1].filter(~up_to))  # the test has teeth


def test_a_ticker_alone_gets_the_same_expression_values_bit_for_bit() -> None:
    panel = panel_of(synthetic_market(5))
    together = evaluate_exprs(panel, EVERY_OPERATOR)
    for ticker in panel.get_column("ticker").unique().to_list():
        alone = evaluate_exprs(panel.filter(pl.col("ticker") == ticker), EVERY_OPERATOR)
        mine = together.filter(pl.col("ticker") == ticker)
        assert_frame_equal(alone, mine, check_exact=True)
