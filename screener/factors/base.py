"""Factor values and the cross-section verbs that act on them.

A ``Factor`` is a value, not a computation: a name, a polars expression, how many sessions of
history it reads (``lookback``) and which way is better. Nothing runs until ``engine.evaluate``
puts the expressions into one lazy query over a panel (see panel.py).

Partitions, said once here and kept everywhere:

- time-series parts run along time per ticker, ``expr.over("ticker")`` (``per_ticker``), on a
  frame sorted by (ticker, date) with exactly one row per session between a ticker's first and
  last bar. ``shift(n)`` is therefore "n sessions ago" and a rolling window of n rows is n
  sessions. Nothing in a time-series part reads a later row, so a value at date t sees only rows
  at dates <= t.
- cross-section verbs (``rank``, ``zscore``, ``winsorize``, ``demean``) run across tickers per
  date, ``.over("date")``, or per date and group, ``.over(["date", by])`` with ``by`` a static
  panel column such as ``"metal"`` or ``"sw_l2"`` (rows with a null group form their own group).
  ``mask`` is a boolean expression: rows where it is not true become null and take no part in
  the group's statistics. Nulls never count; NaN counts as a value, so factor expressions turn
  undefined results into null (``safe_div``) and the engine turns any left-over NaN/inf to null.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass

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
        One value per panel row. Time-series parts are wrapped in ``.over("ticker")``.
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
    """Run ``expr`` along time for each ticker (the time-series partition)."""
    return expr.over(TICKER)


def safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den``, null where ``den`` is zero or null (undefined rather than inf or NaN)."""
    return pl.when(den != 0).then(num / den)


def pct_change(col: pl.Expr, n: int) -> pl.Expr:
    """``col / col.shift(n) - 1`` (use inside ``per_ticker``): the return over ``n`` sessions."""
    return safe_div(col, col.shift(n)) - 1


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
    values are all equal (std 0).

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [1, 1, 1], "x": [1.0, 2.0, 3.0]})
    >>> [round(v, 4) for v in frame.select(zscore(pl.col("x"))).to_series()]
    [-1.2247, 0.0, 1.2247]
    """
    x = _masked(expr, mask).cast(pl.Float64)
    sd = x.std(ddof=0)
    return pl.when(sd > 0).then((x - x.mean()) / sd).over(_partition(by))


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
    x = _masked(expr, mask).cast(pl.Float64)
    return (x - x.mean()).over(_partition(by))


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
