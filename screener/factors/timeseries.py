"""Time-series verbs: each returns a ``Term`` whose lookback it derives from its window.

Everything here runs along time per ticker on a frame sorted by (ticker, date) with one row per
session (see base.py). Three ways, fastest first: ``windowed`` runs a finite-window expression
down the whole column and keeps the rows whose window is one ticker (``lag``,
``rolling_max``/``rolling_min``, integer ``rolling_sum``); the ``rolling_*`` statistics and
``wilder_mean`` run array kernels (kernels.py) that restart at each ticker; ``per_ticker``
groups (``.over("ticker")``), for anything else. Inputs are terms, polars expressions (one row
each) or numbers; a window of ``n`` rows over ``x`` reads ``n - 1`` sessions more than ``x``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from screener.factors.base import TICKER, FactorError
from screener.factors.term import Term, combine, term


def per_ticker(expr: pl.Expr, lookback: int) -> Term:
    """Run ``expr`` along time for each ticker by grouping (``.over("ticker")``).

    The general form, for recursions and anything ``windowed`` and the kernels do not cover;
    ``lookback`` is the history ``expr`` reads, said here because a grouped expression cannot
    be inspected.
    """
    return Term(expr.over(TICKER), lookback)


def safe_div(num: object, den: object) -> Term:
    """``num / den``, null where ``den`` is zero or null (undefined rather than inf or NaN)."""
    return combine(lambda a, b: pl.when(b != 0).then(a / b), num, den)


def pct_change(x: object, n: int) -> Term:
    """``x / lag(x, n) - 1``: an n-session return, null where the old value is 0."""
    return safe_div(x, lag(x, n)) - 1


def windowed(x: object, n: int, fn: Callable[[pl.Expr], pl.Expr]) -> Term:
    """``fn(x)`` run down the whole column, kept where its ``n``-row window is one ticker.

    For ``fn`` that reads at most ``n - 1`` rows back (``shift``, polars'
    ``rolling_max``/``rolling_min``, integer ``rolling_sum``): on a frame sorted by (ticker,
    date) the value at a row is then the per-ticker value as soon as the row ``n - 1`` above is
    the same ticker, and null before, with no grouping. Not for float sums of polars' own
    ``rolling_sum``/``rolling_mean``/``rolling_std``: they carry rounding residue from earlier
    rows, i.e. from the ticker sorted before. The result reads ``n - 1`` rows more than ``x``.

    Examples
    --------
    >>> frame = pl.DataFrame({"ticker": ["A", "A", "B", "B"], "x": [1.0, 2.0, 5.0, 6.0]})
    >>> t = windowed(pl.col("x"), 2, pl.Expr.diff)
    >>> frame.select(t.expr).to_series().to_list(), t.lookback
    ([None, 1.0, None, 1.0], 2)
    """
    x = term(x)
    if n <= 1:
        return x.map(fn)
    same = pl.col(TICKER) == pl.col(TICKER).shift(n - 1)
    return Term(pl.when(same).then(fn(x.expr)), x.lookback + n - 1)


def lag(x: object, n: int) -> Term:
    """``x`` ``n`` sessions ago on the same ticker; null on each ticker's first ``n`` rows.

    Examples
    --------
    >>> frame = pl.DataFrame({"ticker": ["A", "A", "B", "B"], "x": [1.0, 2.0, 5.0, 6.0]})
    >>> frame.select(lag(pl.col("x"), 1).expr).to_series().to_list()
    [None, 1.0, None, 5.0]
    """
    return windowed(x, n + 1, lambda e: e.shift(n))


def rolling_max(x: object, n: int) -> Term:
    """Largest of the last ``n`` values per ticker; null unless all ``n`` are present."""
    return windowed(x, n, lambda e: e.rolling_max(n))


def rolling_count(x: object, n: int) -> Term:
    """Sum of the last ``n`` values of an integer or boolean ``x`` per ticker (exact)."""
    return windowed(x, n, lambda e: e.cast(pl.Int64).rolling_sum(n))


def kernel(
    name: str,
    inputs: Sequence[object],
    params: tuple[object, ...],
    *,
    reads: int,
) -> Term:
    """``kernels.<name>(seg, *inputs, *params, out)`` over each ticker's rows (Float64, null =
    missing), restarting at each ticker; a ``str`` in ``params`` names a constant of kernels.

    ``reads``: how many rows before the current one the kernel reads (a window of n: n - 1).
    """
    parts = [term(x) for x in inputs]
    segments = pl.col(TICKER).rle_id()
    columns = [t.expr.cast(pl.Float64).fill_null(float("nan")) for t in parts]
    run = _runner(name, params)
    expr = pl.map_batches([segments, *columns], run, return_dtype=pl.Float64)
    return Term(expr, max(t.lookback for t in parts) + reads)


@functools.cache
def _runner(name: str, params: tuple[object, ...]) -> Callable[[Sequence[pl.Series]], pl.Series]:
    """One function per (kernel, parameters): polars computes a repeated call only once when
    it is the same function object."""

    def run(series: Sequence[pl.Series]) -> pl.Series:
        from screener.factors import kernels  # numba: imported only when something runs

        seg, *cols = (s.to_numpy() for s in series)
        out = np.empty(len(seg))
        args = [getattr(kernels, p) if isinstance(p, str) else p for p in params]
        getattr(kernels, name)(seg, *cols, *args, out)
        return pl.Series(out, nan_to_null=True)

    return run


def _at_least(n: int, least: int) -> int:
    if n < least:
        raise FactorError(f"this window needs at least {least} rows, got {n}")
    return n


def rolling_mean(x: object, n: int) -> Term:
    """Mean of the last ``n`` values per ticker; null unless all ``n`` are present.

    This and the ``rolling_*`` verbs below run per ticker by themselves (kernels.rolling_mean
    and rolling_stat: the state restarts at each ticker), with no residue from other tickers,
    provided their inputs are per-ticker series too: panel columns, elementwise functions of
    them, ``lag``. (A bare ``shift`` on a ticker's first row reads the ticker before it, and a
    sliding state would remember that value at the 1e-16 level.)

    Examples
    --------
    >>> example(Factor("m", rolling_mean(pl.col("x"), 2), True, "Mean."), x=[1.0, 2.0, 4.0])
    [None, 1.5, 3.0]
    """
    return kernel("rolling_mean", [x], (_at_least(n, 1),), reads=n - 1)


def rolling_var(x: object, n: int) -> Term:
    """Sample variance (ddof 1) of the last ``n`` values per ticker; exactly 0 if all equal."""
    return kernel("rolling_stat", [x, x], (_at_least(n, 2), "VAR"), reads=n - 1)


def rolling_std(x: object, n: int) -> Term:
    """Sample standard deviation (ddof 1) of the last ``n`` values per ticker.

    Examples
    --------
    >>> example(Factor("s", rolling_std(pl.col("x"), 2), True, "Std."), x=[1.0, 3.0, 3.0])
    [None, 1.4142, 0.0]
    """
    return rolling_var(x, n).map(pl.Expr.sqrt)


def rolling_cov(a: object, b: object, n: int) -> Term:
    """Sample covariance (ddof 1) of the last ``n`` pairs per ticker; null unless all present."""
    return kernel("rolling_stat", [a, b], (_at_least(n, 2), "COV"), reads=n - 1)


def rolling_corr(a: object, b: object, n: int) -> Term:
    """Pearson correlation of the last ``n`` pairs per ticker; null if either side is constant.

    Examples
    --------
    >>> f = Factor("c", rolling_corr(pl.col("a"), pl.col("b"), 3), True, "Corr.")
    >>> example(f, a=[1.0, 2.0, 4.0, 4.0, 4.0], b=[1.0, 3.0, 5.0, 6.0, 7.0])
    [None, None, 0.982, 0.9449, None]
    """
    return kernel("rolling_stat", [a, b], (_at_least(n, 2), "CORR"), reads=n - 1)


def rolling_beta(a: object, b: object, n: int) -> Term:
    """OLS slope of ``a`` on ``b`` over the last ``n`` pairs per ticker, cov / var(b).

    Null unless all ``n`` pairs are present, and where ``b`` did not change.

    Examples
    --------
    >>> f = Factor("b", rolling_beta(pl.col("a"), pl.col("b"), 2), True, "Beta.")
    >>> example(f, a=[1.0, 3.0, 3.0, 4.0], b=[1.0, 2.0, 3.0, 3.0])
    [None, 2.0, 0.0, None]
    """
    return kernel("rolling_stat", [a, b], (_at_least(n, 2), "BETA"), reads=n - 1)


def wilder_mean(x: object, n: int) -> Term:
    """Wilder's smoothing per ticker: the mean of ``n`` values, then ``(avg * (n-1) + x) / n``.

    A ticker's first row is skipped (a change there would read the previous ticker), so the
    first value is on its row ``n``. A missing value interrupts the average until ``n`` present
    values follow. Infinite memory: the lookback adds the rows it takes to forget the start
    (``wilder_warm_up``), so a value reads as it would with all history.

    Examples
    --------
    >>> example(Factor("w", wilder_mean(pl.col("x"), 2), True, "W."), x=[9.0, 1.0, 3.0, 5.0])
    [None, None, 2.0, 3.5]
    """
    return kernel("wilder_mean", [x], (_at_least(n, 1),), reads=n + wilder_warm_up(n))


WILDER_FORGETS = 1e-8  # a start's weight in Wilder's average below this counts as forgotten


def wilder_warm_up(n: int) -> int:
    """Rows after the first value until the start's weight ((n-1)/n)^k falls below
    WILDER_FORGETS: part of the lookback, so a value does not depend on where the data start
    (RSI-14: 249 rows)."""
    if n <= 1:
        return 0
    return math.ceil(math.log(WILDER_FORGETS) / math.log((n - 1) / n))
