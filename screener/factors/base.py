"""Factor values and the cross-section verbs that act on them.

A ``Factor`` is a value, not a computation: a name, a ``Term`` (a polars expression and the
sessions of history it reads, derived from the windows it uses: term.py), and which way is
better. Nothing runs until ``engine.evaluate`` puts the expressions into one lazy query over a
panel (see panel.py).

Partitions, said once here and kept everywhere:

- time-series parts run along time per ticker, on a frame sorted by (ticker, date) with exactly
  one row per session between a ticker's first and last bar. ``shift(n)`` is therefore "n
  sessions ago" and a rolling window of n rows is n sessions. Nothing in a time-series part
  reads a later row, so a value at date t sees only rows at dates <= t. The verbs live in
  timeseries.py (``lag``, ``windowed``, the ``rolling_*`` kernels, ``wilder_mean``,
  ``per_ticker``) and in the expression language (expr/). No value reads another ticker's
  rows, not even as rounding residue (tests/factors/test_kernels.py checks it bit for bit).
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from screener.errors import ScreenerError
from screener.factors.term import Term, term

TICKER = "ticker"
DATE = "date"
SESSIONS_PER_YEAR = 242  # A-share sessions a year (2024: 242, 2025: 243, 2026: 242)


class FactorError(ScreenerError):
    """A factor request cannot be met: unknown name, bad definition or a missing panel column."""

    exit_code = 2


@dataclass(frozen=True, eq=False)
class Factor:
    """A named term over the panel, evaluated by ``engine.evaluate``.

    Parameters
    ----------
    name
        Output column, e.g. ``ret_20d``; snake case, the unit of time last.
    term
        One value per panel row and the history it reads (a ``Term``; a bare polars expression
        reads its own row only). Build time-series parts with the verbs of timeseries.py or
        the expression language, which derive the lookback from the windows used.
    higher_is_better
        Direction for ranks and composites: the best name gets rank 1.
    doc
        First line: one-sentence meaning (``screener factors --list``); then details.
    needs
        Other factors whose output columns the term reads (composites); the engine evaluates
        them first. Panel columns are not listed: the engine reads them from the expression.
    source
        Where the definition came from, for messages: ``library``, or an expression's text.

    Examples
    --------
    >>> f = Factor("close_up", pl.col("close") > 10, True, "Close above 10 yuan.")
    >>> f.summary, f.lookback
    ('Close above 10 yuan.', 1)

    Equality is identity (an expression has no value equality); compare ``name`` instead.
    """

    name: str
    term: Term | pl.Expr
    higher_is_better: bool
    doc: str
    needs: tuple[str, ...] = ()
    source: str = "library"

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise FactorError(f"factor name {self.name!r} must be a lower-case identifier")
        if not self.doc.strip():
            raise FactorError(f"factor {self.name}: doc must say what it means")
        object.__setattr__(self, "term", term(self.term))

    @property
    def expr(self) -> pl.Expr:
        """The polars expression: one value per panel row."""
        return term(self.term).expr

    @property
    def lookback(self) -> int:
        """Sessions of history the value at a row reads, that row included (zipline's
        ``window_length``), derived from the windows the term uses: ``ret_20d`` compares today
        with 20 sessions ago, so its lookback is 21."""
        return term(self.term).lookback

    @property
    def summary(self) -> str:
        """The one-line meaning: the first line of ``doc``."""
        return self.doc.strip().splitlines()[0]


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
    registry: Mapping[str, Factor],
) -> Factor:
    """A weighted sum of the components' cross-sectional z-scores, direction-corrected.

    Each component's z-score is negated when its ``higher_is_better`` is False, so a positive
    weight always rewards what that factor calls better and a negative weight the opposite.
    A name missing any component on a date gets null. Components are looked up in
    ``registry``; the composite's lookback is its components' largest.

    Examples
    --------
    >>> from screener.factors.library import REGISTRY
    >>> f = composite("trend", {"ret_20d": 1.0, "vol_20d": 0.5}, "Up and calm.", registry=REGISTRY)
    >>> f.needs, f.lookback, f.higher_is_better
    (('ret_20d', 'vol_20d'), 21, True)
    """
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
        Term(expr, max(f.lookback for f in parts)),
        higher_is_better=True,
        doc=doc,
        needs=tuple(weights),
    )


def example(factor: Factor, **columns: list[float | None]) -> list[float | None]:
    """Evaluate ``factor`` on one ticker's columns (one value per session), rounded to 4 places.

    For the examples in factor docstrings and for trying a definition at the prompt.

    Examples
    --------
    >>> example(Factor("twice", 2 * pl.col("close"), True, "Twice."), close=[1.0, 1.5])
    [2.0, 3.0]
    """
    n = len(next(iter(columns.values())))
    frame = pl.DataFrame({TICKER: ["A"] * n, DATE: list(range(n)), **columns})
    values = frame.select(factor.expr.cast(pl.Float64)).to_series().to_list()
    return [None if v is None or not math.isfinite(v) else round(v, 4) for v in values]
