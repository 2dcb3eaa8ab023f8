"""Factor values and the cross-section verbs that act on them.

A ``Factor`` is a value, not a computation: a name, a polars expression, how many sessions of
history it reads (``lookback``) and which way is better. Nothing runs until ``engine.evaluate``
puts the expressions into one lazy query over a panel (see panel.py).

Partitions, said once here and kept everywhere:

- time-series parts run along time per ticker, on a frame sorted by (ticker, date) with exactly
  one row per session between a ticker's first and last bar. ``shift(n)`` is therefore "n
  sessions ago" and a rolling window of n rows is n sessions. Nothing in a time-series part
  reads a later row, so a value at date t sees only rows at dates <= t. Three ways to say it,
  fastest first: ``windowed(expr, lookback)`` runs a finite-window expression down the whole
  column and keeps the rows whose window is one ticker; the ``rolling_*`` verbs and
  ``wilder_mean`` run array kernels (kernels.py) that restart at each ticker; ``per_ticker``
  (``expr.over("ticker")``) groups, for anything else. No value reads another ticker's rows,
  not even as rounding residue (tests/factors/test_kernels.py checks it bit for bit).
- cross-section verbs (``rank``, ``zscore``, ``winsorize``, ``demean``) run across tickers per
  date, ``.over("date")``, or per date and group, ``.over(["date", by])`` with ``by`` a static
  panel column such as ``"metal"`` or ``"sw_l2"`` (rows with a null group form their own group);
  ``zscore`` and ``demean`` run a kernel on integer codes of those groups
  (``partition_codes``).
  ``mask`` is a boolean expression: rows where it is not true become null and take no part in
  the group's statistics. Nulls never count; NaN counts as a value, so factor expressions turn
  undefined results into null (``safe_div``) and the engine turns any left-over NaN/inf to null.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from screener.errors import ScreenerError

TICKER = "ticker"
DATE = "date"
SESSIONS_PER_YEAR = 242  # A-share sessions a year (2024: 242, 2025: 243, 2026: 242)


class FactorError(ScreenerError):
    """A factor request cannot be met: unknown name, bad definition or a missing panel column."""

    exit_code = 2


@dataclass(frozen=True, eq=False)
class Factor:
    """A named polars expression over the panel, evaluated by ``engine.evaluate``.

    Parameters
    ----------
    name
        Output column, e.g. ``ret_20d``; snake case, the unit of time last.
    expr
        One value per panel row. Time-series parts are per ticker (``windowed``, the
        ``rolling_*`` verbs or ``per_ticker``; see the module docstring).
    lookback
        Sessions of history the value at a row reads, that row included (zipline's
        ``window_length``): the first non-null value of a ticker is on its ``lookback``-th row.
        ``ret_20d`` compares today with 20 sessions ago, so its lookback is 21.
    higher_is_better
        Direction for ranks and composites: the best name gets rank 1.
    doc
        First line: one-sentence meaning (``screener factors --list``); then details.
    needs
        Other factors whose output columns ``expr`` reads (composites); the engine evaluates
        them first. Panel columns are not listed: the engine reads them from the expression.

    Examples
    --------
    >>> f = Factor("close_up", pl.col("close") > 10, 1, True, "Close above 10 yuan.")
    >>> f.summary
    'Close above 10 yuan.'

    Equality is identity (an expression has no value equality); compare ``name`` instead.
    """

    name: str
    expr: pl.Expr
    lookback: int
    higher_is_better: bool
    doc: str
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise FactorError(f"factor name {self.name!r} must be a lower-case identifier")
        if self.lookback < 1:
            raise FactorError(f"factor {self.name}: lookback must be >= 1, got {self.lookback}")
        if not self.doc.strip():
            raise FactorError(f"factor {self.name}: doc must say what it means")

    @property
    def summary(self) -> str:
        """The one-line meaning: the first line of ``doc``."""
        return self.doc.strip().splitlines()[0]


# -- building blocks for factor expressions ------------------------------------------------


def per_ticker(expr: pl.Expr) -> pl.Expr:
    """Run ``expr`` along time for each ticker by grouping (``.over("ticker")``).

    The general form, for recursions and anything ``windowed`` and the kernels do not cover;
    it groups the rows once per query and evaluates ``expr`` ticker by ticker.
    """
    return expr.over(TICKER)


def safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den``, null where ``den`` is zero or null (undefined rather than inf or NaN)."""
    return pl.when(den != 0).then(num / den)


def pct_change(col: pl.Expr, n: int) -> pl.Expr:
    """``col / col.shift(n) - 1`` (inside ``windowed`` or ``per_ticker``): an n-session return."""
    return safe_div(col, col.shift(n)) - 1


def windowed(expr: pl.Expr, lookback: int) -> pl.Expr:
    """A time-series ``expr`` run down the whole column, kept where its window is one ticker.

    For expressions that read at most ``lookback - 1`` rows back (``shift``, polars'
    ``rolling_max``/``rolling_min``, integer ``rolling_sum`` and the ``rolling_*`` verbs below):
    on a frame sorted by (ticker, date) the value at a row is then the per-ticker value as soon
    as the row ``lookback - 1`` above is the same ticker, and null before, with no grouping.
    Not for float sums of polars' own ``rolling_sum``/``rolling_mean``/``rolling_std``: they
    carry rounding residue from earlier rows, i.e. from the ticker sorted before.

    Examples
    --------
    >>> frame = pl.DataFrame({"ticker": ["A", "A", "B", "B"], "x": [1.0, 2.0, 5.0, 6.0]})
    >>> frame.select(windowed(pl.col("x").diff(), 2)).to_series().to_list()
    [None, 1.0, None, 1.0]
    """
    if lookback <= 1:
        return expr
    return pl.when(pl.col(TICKER) == pl.col(TICKER).shift(lookback - 1)).then(expr)


def lag(x: pl.Expr, n: int) -> pl.Expr:
    """``x`` ``n`` sessions ago on the same ticker; null on each ticker's first ``n`` rows.

    Examples
    --------
    >>> frame = pl.DataFrame({"ticker": ["A", "A", "B", "B"], "x": [1.0, 2.0, 5.0, 6.0]})
    >>> frame.select(lag(pl.col("x"), 1)).to_series().to_list()
    [None, 1.0, None, 5.0]
    """
    return windowed(x.shift(n), n + 1)


def _kernel(name: str, n: int, *inputs: pl.Expr, kind: str | None = None) -> pl.Expr:
    """``kernels.<name>`` over each ticker's rows of ``inputs`` (Float64, null = missing)."""
    least = 1 if kind is None else 2
    if n < least:
        raise FactorError(f"this window needs at least {least} rows, got {n}")
    segments = pl.col(TICKER).rle_id()
    columns = [x.cast(pl.Float64).fill_null(float("nan")) for x in inputs]
    return pl.map_batches([segments, *columns], _runner(name, n, kind), return_dtype=pl.Float64)


@functools.cache
def _runner(name: str, n: int, kind: str | None) -> Callable[[Sequence[pl.Series]], pl.Series]:
    """One function per (kernel, window, kind): polars computes a repeated call only once
    when it is the same function object."""

    def run(series: Sequence[pl.Series]) -> pl.Series:
        from screener.factors import kernels  # numba: imported only when something runs

        seg, *cols = (s.to_numpy() for s in series)
        out = np.empty(len(seg))
        args = (*cols, n) if kind is None else (*cols, n, getattr(kernels, kind))
        getattr(kernels, name)(seg, *args, out)
        return pl.Series(out, nan_to_null=True)

    return run


def rolling_mean(x: pl.Expr, n: int) -> pl.Expr:
    """Mean of the last ``n`` values per ticker; null unless all ``n`` are present.

    This and the ``rolling_*`` verbs below run per ticker by themselves (kernels.rolling_mean
    and rolling_stat: the state restarts at each ticker), with no residue from other tickers,
    provided their inputs are per-ticker series too: panel columns, elementwise functions of
    them, ``lag``. (A bare ``shift`` on a ticker's first row reads the ticker before it, and a
    sliding state would remember that value at the 1e-16 level.)

    Examples
    --------
    >>> example(Factor("m", rolling_mean(pl.col("x"), 2), 2, True, "Mean."), x=[1.0, 2.0, 4.0])
    [None, 1.5, 3.0]
    """
    return _kernel("rolling_mean", n, x)


def rolling_var(x: pl.Expr, n: int) -> pl.Expr:
    """Sample variance (ddof 1) of the last ``n`` values per ticker; exactly 0 if all equal."""
    return _kernel("rolling_stat", n, x, x, kind="VAR")


def rolling_std(x: pl.Expr, n: int) -> pl.Expr:
    """Sample standard deviation (ddof 1) of the last ``n`` values per ticker.

    Examples
    --------
    >>> example(Factor("s", rolling_std(pl.col("x"), 2), 2, True, "Std."), x=[1.0, 3.0, 3.0])
    [None, 1.4142, 0.0]
    """
    return rolling_var(x, n).sqrt()


def rolling_cov(a: pl.Expr, b: pl.Expr, n: int) -> pl.Expr:
    """Sample covariance (ddof 1) of the last ``n`` pairs per ticker; null unless all present."""
    return _kernel("rolling_stat", n, a, b, kind="COV")


def rolling_corr(a: pl.Expr, b: pl.Expr, n: int) -> pl.Expr:
    """Pearson correlation of the last ``n`` pairs per ticker; null if either side is constant.

    Examples
    --------
    >>> f = Factor("c", rolling_corr(pl.col("a"), pl.col("b"), 3), 3, True, "Corr.")
    >>> example(f, a=[1.0, 2.0, 4.0, 4.0, 4.0], b=[1.0, 3.0, 5.0, 6.0, 7.0])
    [None, None, 0.982, 0.9449, None]
    """
    return _kernel("rolling_stat", n, a, b, kind="CORR")


def rolling_beta(a: pl.Expr, b: pl.Expr, n: int) -> pl.Expr:
    """OLS slope of ``a`` on ``b`` over the last ``n`` pairs per ticker, cov / var(b).

    Null unless all ``n`` pairs are present, and where ``b`` did not change.

    Examples
    --------
    >>> f = Factor("b", rolling_beta(pl.col("a"), pl.col("b"), 2), 2, True, "Beta.")
    >>> example(f, a=[1.0, 3.0, 3.0, 4.0], b=[1.0, 2.0, 3.0, 3.0])
    [None, 2.0, 0.0, None]
    """
    return _kernel("rolling_stat", n, a, b, kind="BETA")


def wilder_mean(x: pl.Expr, n: int) -> pl.Expr:
    """Wilder's smoothing per ticker: the mean of ``n`` values, then ``(avg * (n-1) + x) / n``.

    A ticker's first row is skipped (a change there would read the previous ticker), so the
    first value is on its row ``n``. A missing value interrupts the average until ``n`` present
    values follow. Infinite memory: a value depends on where the ticker's data start.

    Examples
    --------
    >>> example(Factor("w", wilder_mean(pl.col("x"), 2), 3, True, "W."), x=[9.0, 1.0, 3.0, 5.0])
    [None, None, 2.0, 3.5]
    """
    return _kernel("wilder_mean", n, x)


# -- cross-section verbs -------------------------------------------------------------------


def _partition(by: str | None) -> list[str]:
    return [DATE] if by is None else [DATE, by]


def _masked(expr: pl.Expr, mask: pl.Expr | None) -> pl.Expr:
    return expr if mask is None else pl.when(mask).then(expr)


def rank(
    expr: pl.Expr,
    *,
    by: str | None = None,
    mask: pl.Expr | None = None,
    descending: bool = False,
) -> pl.Expr:
    """Cross-sectional percentile rank in [0, 1] per date (and ``by`` group).

    ``(r - 1) / (n - 1)`` with ``r`` the average rank (ties share it) and ``n`` the count of
    non-null values: the highest value gets 1, the lowest 0, a group of one gets 0.5.
    ``descending=True`` gives 1 to the lowest value instead.

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [1, 1, 1, 2], "x": [3.0, 1.0, 2.0, 5.0]})
    >>> frame.select(rank(pl.col("x"))).to_series().to_list()
    [1.0, 0.0, 0.5, 0.5]
    """
    x = _masked(expr, mask)
    n = x.count()
    r = x.rank("average", descending=descending)
    pct = pl.when(n > 1).then((r - 1) / (n - 1)).otherwise(pl.when(x.is_not_null()).then(0.5))
    return pct.over(_partition(by))


def zscore(expr: pl.Expr, *, by: str | None = None, mask: pl.Expr | None = None) -> pl.Expr:
    """Cross-sectional z-score per date (and ``by`` group): ``(x - mean) / std``.

    Population standard deviation (ddof=0), as zipline's ``zscore``; null where the group's
    values are all equal (std 0, exactly: see ``kernels.group_demean``).

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [1, 1, 1], "x": [1.0, 2.0, 3.0]})
    >>> [round(v, 4) for v in frame.select(zscore(pl.col("x"))).to_series()]
    [-1.2247, 0.0, 1.2247]
    """
    return _by_group(_masked(expr, mask), by, standardise=True)


def winsorize(
    expr: pl.Expr,
    lower: float = 0.01,
    upper: float = 0.99,
    *,
    by: str | None = None,
    mask: pl.Expr | None = None,
) -> pl.Expr:
    """Clip values to their cross-sectional ``lower`` and ``upper`` quantiles per date.

    Quantiles use linear interpolation (numpy's default).

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [1] * 5, "x": [1.0, 2.0, 3.0, 4.0, 100.0]})
    >>> frame.select(winsorize(pl.col("x"), 0.0, 0.75)).to_series().to_list()
    [1.0, 2.0, 3.0, 4.0, 4.0]
    """
    if not 0.0 <= lower < upper <= 1.0:
        raise FactorError(f"winsorize needs 0 <= lower < upper <= 1, got {lower}, {upper}")
    x = _masked(expr, mask).cast(pl.Float64)
    lo, hi = x.quantile(lower, "linear"), x.quantile(upper, "linear")
    return x.clip(lo, hi).over(_partition(by))


def demean(expr: pl.Expr, *, by: str | None = None, mask: pl.Expr | None = None) -> pl.Expr:
    """Subtract the cross-sectional mean per date (and ``by`` group).

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [1, 1, 2], "x": [1.0, 3.0, 5.0]})
    >>> frame.select(demean(pl.col("x"))).to_series().to_list()
    [-1.0, 1.0, 0.0]
    """
    return _by_group(_masked(expr, mask), by, standardise=False)


def _by_group(x: pl.Expr, by: str | None, *, standardise: bool) -> pl.Expr:
    """``x`` minus its group mean (over the std if ``standardise``), groups = ``_partition(by)``.

    kernels.group_demean over integer group codes: a few sequential passes, where
    ``.over("date")`` on a ticker-sorted frame gathers every date's rows for each statistic.
    """
    keys = [pl.col(c) for c in _partition(by)]

    def run(series: Sequence[pl.Series]) -> pl.Series:
        from screener.factors import kernels  # numba: imported only when something runs

        *key_cols, values = series
        codes, n_groups = partition_codes(*key_cols)
        out = np.empty(len(values))
        kernels.group_demean(codes, values.to_numpy(), n_groups, standardise, out)
        return pl.Series(out, nan_to_null=True)  # a NaN among the values: null too

    return pl.map_batches([*keys, x.cast(pl.Float64)], run, return_dtype=pl.Float64)


def partition_codes(date: pl.Series, by: pl.Series | None = None) -> tuple[np.ndarray, int]:
    """One integer in [0, n_codes) per row, equal exactly within a (date, by) group.

    Dates (and integer stand-ins) without nulls use their day number minus the first unless
    the span is far wider than the row count; anything else, and ``by``, a dense rank in which
    null is a group of its own (0), as in ``.over``.
    """
    phys = date.to_physical()
    codes: np.ndarray | None = None
    if phys.dtype.is_integer() and phys.null_count() == 0 and len(phys) > 0:
        days = phys.cast(pl.Int64).to_numpy()
        lo, hi = int(days.min()), int(days.max())
        if hi - lo <= 4 * len(days):
            codes, n_codes = days - lo, hi - lo + 1
    if codes is None:
        codes, n_codes = _dense(date)
    if by is None:
        return codes, n_codes
    extra, n_extra = _dense(by)
    return codes * n_extra + extra, n_codes * n_extra


def _dense(s: pl.Series) -> tuple[np.ndarray, int]:
    dense = s.rank("dense").cast(pl.Int64).fill_null(0).to_numpy()
    return dense, int(dense.max(initial=0)) + 1


# -- composites ----------------------------------------------------------------------------


def composite(
    name: str,
    weights: Mapping[str, float],
    doc: str,
    *,
    registry: Mapping[str, Factor] | None = None,
) -> Factor:
    """A weighted sum of the components' cross-sectional z-scores, direction-corrected.

    Each component's z-score is negated when its ``higher_is_better`` is False, so a positive
    weight always rewards what that factor calls better and a negative weight the opposite.
    A name missing any component on a date gets null. ``registry`` defaults to
    ``screener.factors.library.REGISTRY``; the composite's lookback is its components' largest.

    Examples
    --------
    >>> f = composite("trend", {"ret_20d": 1.0, "vol_20d": 0.5}, "Up and calm.")
    >>> f.needs, f.lookback, f.higher_is_better
    (('ret_20d', 'vol_20d'), 21, True)
    """
    if registry is None:
        registry = _library_registry()
    if not weights:
        raise FactorError(f"composite {name}: no weights")
    terms: list[pl.Expr] = []
    parts: list[Factor] = []
    for component, weight in weights.items():
        if component not in registry:
            raise FactorError(
                f"composite {name}: unknown factor {component!r}",
                hint=f"known: {', '.join(sorted(registry))}",
            )
        if not math.isfinite(weight):
            raise FactorError(f"composite {name}: weight of {component} is {weight}")
        factor = registry[component]
        z = zscore(pl.col(component))
        terms.append(weight * (z if factor.higher_is_better else -z))
        parts.append(factor)
    expr = functools.reduce(operator.add, terms)  # not sum_horizontal: a null term stays null
    return Factor(
        name,
        expr,
        lookback=max(f.lookback for f in parts),
        higher_is_better=True,
        doc=doc,
        needs=tuple(weights),
    )


def _library_registry() -> Mapping[str, Factor]:
    """The shipped factor set; imported late because the library imports this module."""
    from screener.factors.library import REGISTRY

    return REGISTRY


def example(factor: Factor, **columns: list[float | None]) -> list[float | None]:
    """Evaluate ``factor`` on one ticker's columns (one value per session), rounded to 4 places.

    For the examples in factor docstrings and for trying a definition at the prompt.

    Examples
    --------
    >>> example(Factor("up", pl.col("close").diff(), 2, True, "Change."), close=[1.0, 1.5])
    [None, 0.5]
    """
    n = len(next(iter(columns.values())))
    frame = pl.DataFrame({TICKER: ["A"] * n, DATE: list(range(n)), **columns})
    values = frame.select(factor.expr.cast(pl.Float64)).to_series().to_list()
    return [None if v is None or not math.isfinite(v) else round(v, 4) for v in values]
