"""The per-ticker window verbs and the cross-section kernels against plain loops."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from factors.reference import cross_section
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.factors.base import FactorError, demean, partition_codes, zscore
from screener.factors.timeseries import (
    rolling_beta,
    rolling_corr,
    rolling_cov,
    rolling_mean,
    rolling_std,
    rolling_var,
    wilder_mean,
    windowed,
)

NAN = float("nan")


def series_frame(seed: int, lengths: tuple[int, ...] = (90, 1, 130, 45)) -> pl.DataFrame:
    """Tickers of different lengths: gaps (null), NaN, flat stretches, a level shift."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, n in enumerate(lengths):
        a = rng.normal(0.0, 0.02, n) + 1e3 * (k == 2)  # one ticker far from zero
        b = rng.normal(0.0, 0.01, n)
        a[rng.random(n) < 0.03] = NAN
        b[10:35] = 0.25  # a flat stretch longer than the windows
        if n > 60:
            a[40:66] = a[40]  # x flat too (value may be NaN: then a gap)
        if k == 2:  # from 1e3 down to a quiet 1.0: cancellation unless the window restarts
            a[70:110] = 1.0 + rng.normal(0.0, 1e-6, 40)
        parts.append(
            pl.DataFrame({"ticker": f"T{k}", "date": np.arange(n), "a": a, "b": b}).with_columns(
                pl.when(pl.Series(rng.random(n) < 0.03)).then(None).otherwise("b").alias("b")
            )
        )
    return pl.concat(parts)


def by_ticker_loop(frame: pl.DataFrame, n: int, fn, pair: bool) -> list[float | None]:  # type: ignore[no-untyped-def]
    """fn(window_a, window_b) on every full window of a ticker whose values (of a, and of b if
    ``pair``) are all finite."""
    out: list[float | None] = []
    for (_,), g in frame.group_by("ticker", maintain_order=True):
        a = g.get_column("a").fill_null(NAN).to_numpy()
        b = g.get_column("b").fill_null(NAN).to_numpy()
        for i in range(len(a)):
            wa, wb = a[max(0, i - n + 1) : i + 1], b[max(0, i - n + 1) : i + 1]
            ok = i >= n - 1 and np.isfinite(wa).all() and (not pair or np.isfinite(wb).all())
            value = fn(wa, wb) if ok else NAN
            out.append(None if value is None or not math.isfinite(value) else value)
    return out


def _var(w: np.ndarray) -> float:
    return float(np.sum((w - np.mean(w)) ** 2) / (len(w) - 1))


def _cov(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum((a - np.mean(a)) * (b - np.mean(b))) / (len(a) - 1))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    flat = np.all(a == a[0]) or np.all(b == b[0])
    return NAN if flat else _cov(a, b) / math.sqrt(_var(a) * _var(b))


def _beta(a: np.ndarray, b: np.ndarray) -> float:
    return NAN if np.all(b == b[0]) else _cov(a, b) / _var(b)


def _var_exact(w: np.ndarray) -> float:
    return 0.0 if np.all(w == w[0]) else _var(w)


VERBS = {
    "mean": (lambda n: rolling_mean(pl.col("a"), n).expr, lambda a, b: float(np.mean(a))),
    "var": (lambda n: rolling_var(pl.col("a"), n).expr, lambda a, b: _var_exact(a)),
    "std": (lambda n: rolling_std(pl.col("a"), n).expr, lambda a, b: math.sqrt(_var_exact(a))),
    "cov": (lambda n: rolling_cov(pl.col("a"), pl.col("b"), n).expr, _cov),
    "corr": (lambda n: rolling_corr(pl.col("a"), pl.col("b"), n).expr, _corr),
    "beta": (lambda n: rolling_beta(pl.col("a"), pl.col("b"), n).expr, _beta),
}


def assert_close(fast: list[float | None], slow: list[float | None], rel: float = 1e-9) -> None:
    assert [v is None for v in fast] == [v is None for v in slow]
    for k, (x, y) in enumerate(zip(fast, slow, strict=True)):
        if x is not None and y is not None:
            assert math.isclose(x, y, rel_tol=rel, abs_tol=1e-12), (k, x, y)


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("n", [2, 5, 20])
@pytest.mark.parametrize("seed", [1, 2])
def test_rolling_verbs_match_loops(verb: str, n: int, seed: int) -> None:
    frame = series_frame(seed)
    make, fn = VERBS[verb]
    if verb == "mean":  # the 1-row window is allowed for a mean only
        assert (
            frame.select(rolling_mean(pl.col("a"), 1).expr)
            .to_series()
            .equals(frame.get_column("a").fill_nan(None), null_equal=True)
        )
    fast = frame.select(make(n)).to_series().to_list()
    assert_close(fast, by_ticker_loop(frame, n, fn, pair=verb in ("cov", "corr", "beta")))


def test_flat_windows_are_exactly_flat() -> None:
    """After large values leave the window, equal values have variance 0 and their own mean."""
    b = [1e9, -3e8, 7.5e8] + [0.1] * 6
    frame = pl.DataFrame({"ticker": "A", "a": np.linspace(0.0, 1.0, 9), "b": b})
    tail = frame.select(
        rolling_var(pl.col("b"), 3).expr.alias("var"),
        rolling_mean(pl.col("b"), 3).expr.alias("mean"),
        rolling_corr(pl.col("a"), pl.col("b"), 3).expr.alias("corr"),
        rolling_beta(pl.col("a"), pl.col("b"), 3).expr.alias("beta"),
    ).tail(4)
    assert tail.get_column("var").to_list() == [0.0] * 4
    assert tail.get_column("mean").to_list() == [0.1] * 4
    assert tail.get_column("corr").null_count() == tail.get_column("beta").null_count() == 4


def test_window_verbs_reject_empty_windows() -> None:
    with pytest.raises(FactorError):
        rolling_var(pl.col("a"), 1)
    with pytest.raises(FactorError):
        rolling_mean(pl.col("a"), 0)


def wilder_loop(x: np.ndarray, n: int) -> list[float | None]:
    """Skip row 0; seed with the mean of n present values; a missing value restarts."""
    out: list[float | None] = [None]
    avg, run = NAN, 0
    for i in range(1, len(x)):
        run = run + 1 if math.isfinite(x[i]) else 0
        if not math.isfinite(x[i]):
            avg = NAN
        elif math.isfinite(avg):
            avg = (avg * (n - 1) + x[i]) / n
        elif run >= n:
            avg = float(np.sum(x[i - n + 1 : i + 1]) / n)
        out.append(avg if math.isfinite(avg) else None)
    return out


def test_wilder_mean_matches_its_loop_per_ticker() -> None:
    frame = series_frame(4)
    fast = frame.select(wilder_mean(pl.col("a"), 14).expr).to_series().to_list()
    slow: list[float | None] = []
    for (_,), g in frame.group_by("ticker", maintain_order=True):
        slow += wilder_loop(g.get_column("a").fill_null(NAN).to_numpy(), 14)
    assert_close(fast, slow)
    assert any(v is not None for v in fast)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(), st.sampled_from([0.0, -0.0, 1.5, -2.0, 1e300, -1e-300]), st.floats(-1e6, 1e6)
        ),
        min_size=2,
        max_size=60,
    ),
    split=st.integers(0, 60),
)
def test_one_ticker_never_reads_another(values: list[float | None], split: int) -> None:
    """Ticker B's windows are the same, bit for bit, whatever ticker A (sorted before) holds."""
    schema = {"ticker": pl.String, "date": pl.Int64, "a": pl.Float64, "b": pl.Float64}
    b = pl.DataFrame(
        {"ticker": "B", "date": range(len(values)), "a": values, "b": values[::-1]}, schema=schema
    )
    a = pl.DataFrame(
        {"ticker": "A", "date": range(split), "a": [1e9 * k for k in range(split)]},
        schema={k: v for k, v in schema.items() if k != "b"},
    ).with_columns(b=pl.col("a") * -3.0)
    exprs = [make(5).alias(name) for name, (make, _) in VERBS.items()]
    exprs.append(wilder_mean(pl.col("a"), 3).expr.alias("wilder"))
    exprs.append(windowed(pl.col("a"), 5, lambda a: a - a.shift(4)).expr.alias("windowed"))
    alone = b.select(exprs)
    within = pl.concat([a, b]).select(exprs).slice(split)
    assert alone.equals(within, null_equal=True)


def grouped_frame(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    x = np.round(rng.normal(0, 1, n), 1)
    x[rng.random(n) < 0.1] = NAN
    return pl.DataFrame(
        {
            "date": rng.integers(0, 7, n),
            "g": rng.choice(np.array(["a", "b", None], dtype=object), n),
            "x": x,
        }
    ).with_columns(pl.col("x").fill_nan(None))


@pytest.mark.parametrize("by", [None, "g"])
def test_zscore_and_demean_match_loops_on_many_groups(by: str | None) -> None:
    frame = grouped_frame(5)
    for op, verb in (("zscore", zscore), ("demean", demean)):
        fast = frame.select(verb(pl.col("x"), by=by)).to_series().to_list()
        slow = cross_section(frame, "x", op, by=by)
        assert_close(fast, slow, rel=1e-12)


def test_zscore_of_equal_values_is_null() -> None:
    frame = pl.DataFrame({"date": [1] * 3 + [2] * 7, "x": [0.1] * 3 + [0.7] * 7})
    assert frame.select(zscore(pl.col("x"))).to_series().null_count() == 10
    assert frame.select(demean(pl.col("x"))).to_series().to_list() == [0.0] * 10


def test_partition_codes_group_equal_keys_only() -> None:
    dates = pl.Series([3, 1, None, 3, 10**12, 1])  # a null; a span far wider than the rows
    codes, n = partition_codes(dates)
    assert n == len(set(codes)) == 4
    assert codes[0] == codes[3] and codes[1] == codes[5]
    by = pl.Series(["x", "y", "x", "x", None, "y"])
    codes, n = partition_codes(dates, by)
    assert codes[0] == codes[3] and codes[1] == codes[5] and len(set(codes)) == 4
    assert max(codes) < n
    days = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 5), eager=True)
    codes, n = partition_codes(days)
    assert list(codes) == [0, 1, 2, 3, 4] and n == 5
