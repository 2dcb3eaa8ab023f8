"""Factor values and cross-section verbs against per-date loops, with groups, masks and ties."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from factors.reference import cross_section
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.factors.base import (
    Factor,
    FactorError,
    composite,
    demean,
    example,
    rank,
    winsorize,
    zscore,
)
from screener.factors.library import REGISTRY
from screener.factors.term import Term, term
from screener.factors.timeseries import lag, per_ticker, rolling_mean


def cross_frame(seed: int, n_dates: int = 12, n_tickers: int = 40) -> pl.DataFrame:
    """Values with ties, nulls, NaN-free; two group columns with a null group; a mask."""
    rng = np.random.default_rng(seed)
    n = n_dates * n_tickers
    x = np.round(rng.normal(0, 1, n), 1)  # rounding makes ties
    x[rng.random(n) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_tickers),
            "ticker": np.tile([f"T{i:02d}" for i in range(n_tickers)], n_dates),
            "x": x,
            "metal": rng.choice(np.array(["copper", "gold", "lithium", None], dtype=object), n),
            "sw_l2": rng.choice(["801053.SI", "801055.SI"], n),
            "liquid": rng.random(n) < 0.7,
        }
    ).with_columns(pl.col("x").fill_nan(None))


OPS = {
    "rank": lambda e, **kw: rank(e, **kw),
    "zscore": lambda e, **kw: zscore(e, **kw),
    "demean": lambda e, **kw: demean(e, **kw),
    "winsorize": lambda e, **kw: winsorize(e, 0.01, 0.99, **kw),
}


def assert_same(fast: list[float | None], slow: list[float | None]) -> None:
    assert [v is None for v in fast] == [v is None for v in slow]
    for a, b in zip(fast, slow, strict=True):
        if a is not None and b is not None:
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (a, b)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("by", [None, "metal", "sw_l2"])
@pytest.mark.parametrize("masked", [False, True])
def test_cross_section_ops_match_loops(op: str, by: str | None, masked: bool) -> None:
    frame = cross_frame(seed=3)
    mask = pl.col("liquid") if masked else None
    fast = frame.select(OPS[op](pl.col("x"), by=by, mask=mask)).to_series().to_list()
    slow = cross_section(frame, "x", op, by=by, mask="liquid" if masked else None)
    assert_same(fast, slow)
    if masked:  # masked-out rows are null whatever their value
        liquid = frame.get_column("liquid").to_list()
        assert all(v is None for v, keep in zip(fast, liquid, strict=True) if not keep)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-5, 5).map(float)), min_size=1, max_size=15),
    descending=st.booleans(),
)
def test_rank_is_a_percentile_with_shared_ties(
    values: list[float | None], descending: bool
) -> None:
    frame = pl.DataFrame(
        {"date": [0] * len(values), "x": values}, schema={"date": pl.Int64, "x": pl.Float64}
    )
    got = frame.select(rank(pl.col("x"), descending=descending)).to_series().to_list()
    assert_same(got, cross_section(frame, "x", "rank", descending=descending))
    present = [g for g in got if g is not None]
    assert all(0.0 <= g <= 1.0 for g in present)
    assert not present or math.isclose(sum(present) / len(present), 0.5)  # average ranks
    xs = [v for v in values if v is not None]
    if len(xs) > 1:
        best = min(xs) if descending else max(xs)
        if xs.count(best) == 1:
            assert got[values.index(best)] == 1.0


def test_rank_examples_by_hand() -> None:
    frame = pl.DataFrame({"date": [1, 1, 1, 1], "x": [10.0, 20.0, 20.0, None]})
    assert frame.select(rank(pl.col("x"))).to_series().to_list() == [0.0, 0.75, 0.75, None]
    low_first = frame.select(rank(pl.col("x"), descending=True)).to_series().to_list()
    assert low_first == [1.0, 0.25, 0.25, None]


def test_zscore_is_null_when_all_equal() -> None:
    frame = pl.DataFrame({"date": [1, 1, 2, 2], "x": [3.0, 3.0, 1.0, 2.0]})
    assert frame.select(zscore(pl.col("x"))).to_series().to_list() == [None, None, -1.0, 1.0]


def test_winsorize_rejects_bad_bounds() -> None:
    with pytest.raises(FactorError):
        winsorize(pl.col("x"), 0.9, 0.1)


def test_composite_is_the_weighted_sum_of_direction_corrected_zscores() -> None:
    rng = np.random.default_rng(5)
    frame = pl.DataFrame(
        {
            "date": np.repeat([0, 1], 6),
            "ret_20d": rng.normal(0, 0.1, 12),
            "rsi_14": rng.uniform(10, 90, 12),
        }
    )
    f = composite("mix", {"ret_20d": 2.0, "rsi_14": 0.5}, "Momentum, oversold.", registry=REGISTRY)
    assert f.needs == ("ret_20d", "rsi_14") and f.higher_is_better
    assert f.lookback == max(REGISTRY["ret_20d"].lookback, REGISTRY["rsi_14"].lookback)
    got = frame.select(f.expr).to_series().to_list()
    z_ret = cross_section(frame, "ret_20d", "zscore")
    z_rsi = cross_section(frame, "rsi_14", "zscore")  # rsi_14: lower is better, so it is negated
    want = [2.0 * a - 0.5 * b for a, b in zip(z_ret, z_rsi, strict=True)]
    assert_same(got, want)


def test_composite_null_component_gives_null() -> None:
    frame = pl.DataFrame(
        {"date": [0, 0, 0], "ret_20d": [0.1, 0.2, 0.3], "rsi_14": [30.0, None, 50.0]}
    )
    f = composite("mix", {"ret_20d": 1.0, "rsi_14": 1.0}, "Mix.", registry=REGISTRY)
    assert frame.select(f.expr).to_series().to_list()[1] is None


def test_composite_rejects_unknown_or_bad_weights() -> None:
    with pytest.raises(FactorError, match="unknown factor"):
        composite("c", {"nope": 1.0}, "C.", registry=REGISTRY)
    with pytest.raises(FactorError, match="weight"):
        composite("c", {"ret_20d": float("nan")}, "C.", registry=REGISTRY)
    with pytest.raises(FactorError, match="no weights"):
        composite("c", {}, "C.", registry=REGISTRY)


@pytest.mark.parametrize(("name", "doc"), [("Bad-Name", "Doc."), ("ok", "  ")])
def test_factor_validates_its_fields(name: str, doc: str) -> None:
    with pytest.raises(FactorError):
        Factor(name, pl.col("close"), True, doc)


def test_a_term_cannot_claim_less_than_its_own_row() -> None:
    with pytest.raises(ValueError, match="at least its own row"):
        Term(pl.col("close"), 0)


def test_lookback_is_derived_from_the_windows_used() -> None:
    x = term(pl.col("x"))
    assert Factor("p", x, True, "Plain.").lookback == 1
    assert Factor("l", x - lag(x, 3), True, "Lag.").lookback == 4
    assert Factor("m", rolling_mean(lag(x, 1), 5) / x, True, "Mean.").lookback == 6
    assert Factor("g", per_ticker(x.expr.cum_sum(), 9), True, "Grouped.").lookback == 9


def test_example_runs_a_factor_on_one_ticker() -> None:
    f = Factor("chg", per_ticker(pl.col("x") - pl.col("x").shift(1), 2), True, "Change.")
    assert example(f, x=[1.0, 1.25, 1.0]) == [None, 0.25, -0.25]
