"""Evaluate factors over a panel: one lazy polars query for the values, one kernel pass for ranks.

The algorithm, step by step (``evaluate``):

1. Resolve. Add every factor a requested factor ``needs`` (transitively, from
   ``library.REGISTRY`` unless the request carries its own) and sort them into levels: level 0
   reads only panel columns, level k reads the output of levels below k (composites).
2. Check. Every panel column an expression reads (``expr.meta.root_names()``) must exist;
   otherwise a FactorError names the factor and the column before anything runs.
3. Order. The panel must be sorted by (ticker, date) with one row per session (panel.py makes
   it so): a DataFrame is checked and sorted if needed, a LazyFrame is sorted. Time-series
   parts rely on it: ``windowed`` expressions run down the whole column and the per-ticker
   kernels restart where the ticker changes (base.py).
4. Compute. One ``with_columns`` per level, all of a level's expressions together so polars
   computes shared parts once (the ticker masks, the benchmark returns); each value is made
   Float64 with NaN and +-inf as null (``_clean``).
5. Select dates. Only now are rows outside ``dates`` dropped: the time-series windows have
   already read their history.
6. Collect, in memory (polars' streaming engine, the default, took twice as long on these
   window-heavy expressions): ticker, date and the requested factor values. Steps 1-6 are
   ``factor_values``.
7. Rank (``cross_sectional_ranks``): ``<name>_rank``, the cross-sectional percentile rank per
   date in [0, 1], 1 = best by the factor's ``higher_is_better``, exactly as ``base.rank``
   defines it (average ranks for ties, 0.5 alone, null stays null), then stored as Float32.
   Rows are grouped by date once (a counting sort), then ``rank_kernels.percentile_ranks``
   radix-sorts each date's values, one factor per thread; a polars ``rank().over("date")``
   costs several times more.

Why Float32 ranks, when factor values stay Float64: Float32 holds a percentile in [0, 1] to
within 3e-8, while two different average ranks among n names are at least 1 / (2n - 2) apart
(5e-5 for 10,000 names); rounding keeps their order and ties stay ties (one Float64 each
before rounding). It halves the ranks' memory, 1.5 GB of the result at 5,000 tickers x 2,500
sessions. Compare ranks to 1e-7 (``RANK_TOLERANCE``); factor values stay exact to 1e-9.

``compute_factors`` is the one-call form for a single date: it loads only the history the
largest lookback needs (a lookback includes what an infinite-memory factor, Wilder's RSI, needs
to forget its start) from the store, builds the panel for every stock in the store and
evaluates on that date.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pyarrow as pa

from screener import calendar, metals
from screener.config import Settings
from screener.errors import DataUnavailableError
from screener.factors.base import DATE, TICKER, Factor, FactorError, partition_codes
from screener.factors.library import REGISTRY, lookup
from screener.panel import build_panel
from screener.store import Store

# How far a Float32 rank may be from its exact Float64 percentile (see step 7).
RANK_TOLERANCE = 1e-7


def evaluate(
    panel: pl.DataFrame | pl.LazyFrame,
    factors: Sequence[Factor],
    *,
    dates: Sequence[dt.date] | None = None,
) -> pl.DataFrame:
    """Factor values and cross-sectional ranks for every panel row (or only ``dates``).

    Parameters
    ----------
    panel
        A panel (panel.PANEL_COLUMNS, or at least the columns the factors read).
    factors
        The factors to return; those they need are computed too but not returned.
    dates
        Keep only these dates (ranks are per date, so they do not change).

    Returns
    -------
    pl.DataFrame
        ticker, date, one Float64 column per factor, then ``<name>_rank`` (Float32) for each.
    """
    values = factor_values(panel, factors, dates=dates)
    return values.with_columns(cross_sectional_ranks(values, factors))


def factor_values(
    panel: pl.DataFrame | pl.LazyFrame,
    factors: Sequence[Factor],
    *,
    dates: Sequence[dt.date] | None = None,
) -> pl.DataFrame:
    """Steps 1-6 of ``evaluate``: ticker, date and one Float64 column per factor, no ranks."""
    levels = resolve(factors)
    lazy = _ordered(panel)
    _check_columns(levels, lazy.collect_schema().names())
    for level in levels:
        lazy = lazy.with_columns(_clean(f.expr).alias(f.name) for f in level)
    if dates is not None:
        lazy = lazy.filter(pl.col(DATE).is_in(list(dates)))
    wanted = list(dict.fromkeys(f.name for f in factors))
    return lazy.select(TICKER, DATE, *wanted).collect(engine="in-memory")


def cross_sectional_ranks(values: pl.DataFrame, factors: Sequence[Factor]) -> list[pl.Series]:
    """Step 7 of ``evaluate``: ``<name>_rank`` per factor, ``base.rank`` per date, Float32.

    ``values`` needs a ``date`` column and one Float64 column per factor (null = no value;
    NaN would rank as a value, see ``_clean``). A factor's ``higher_is_better`` gives the
    direction; a name given twice is ranked once.
    """
    from screener.factors import rank_kernels  # numba: imported only when something is ranked

    rows, offsets = _rows_by_date(values.get_column(DATE))
    lowest_best = {f.name: not f.higher_is_better for f in factors}

    def one(name: str) -> pl.Series:
        column = _arrow_float(values.get_column(name))
        validity, data = column.buffers()
        x = np.frombuffer(data, np.float64, len(column))
        if validity is None:  # no nulls
            bitmap = np.full(len(column) // 8 + 1, 255, np.uint8)
        else:  # a copy (1/64 of the values): the rank must not keep the values' buffers alive
            bitmap = np.frombuffer(validity, np.uint8).copy()
        out = np.empty(len(column), np.float32)
        rank_kernels.percentile_ranks(x, bitmap, rows, offsets, lowest_best[name], out)
        # the values' own validity: a rank is null exactly where its value is
        nulls = None if validity is None else pa.py_buffer(bitmap)
        ranked = pa.Array.from_buffers(pa.float32(), len(column), [nulls, pa.py_buffer(out)])
        return pl.Series(f"{name}_rank", ranked)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # kernels drop the GIL
        return list(pool.map(one, lowest_best))


def _rows_by_date(date: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers grouped by date (``rank_kernels.group_rows``); the codes are freed on return."""
    from screener.factors import rank_kernels

    codes, n_codes = partition_codes(date)
    rows = np.empty(len(date), np.int64)
    offsets = np.zeros(n_codes + 1, np.int64)
    rank_kernels.group_rows(codes, rows, offsets)
    return rows, offsets


def _arrow_float(column: pl.Series) -> pa.Array:
    """A Float64 column as one Arrow array at offset 0, without a copy when it already is."""
    floats = column.cast(pl.Float64)
    arrow = floats.rechunk().to_arrow()
    if arrow.offset:  # a slice of a larger buffer: copy (NaN does not occur, see _clean)
        arrow = pa.array(floats.to_numpy(), from_pandas=True)
    return arrow


def resolve(
    factors: Sequence[Factor], catalog: Mapping[str, Factor] = REGISTRY
) -> list[list[Factor]]:
    """Factors and everything they need, in dependency levels (level 0 reads only the panel).

    Needs are looked up in the request, then in ``catalog`` (the request wins a name clash).
    """
    requested = {f.name: f for f in factors}
    level: dict[str, int] = {}
    found: dict[str, Factor] = {}

    def known(name: str) -> Factor | None:
        return requested.get(name) or catalog.get(name)

    def visit(f: Factor, path: tuple[str, ...]) -> int:
        if f.name in path:
            raise FactorError(f"factor {f.name} needs itself: {' -> '.join((*path, f.name))}")
        if f.name not in level:
            missing = [n for n in f.needs if known(n) is None]
            if missing:
                raise FactorError(f"factor {f.name} needs unknown factor(s) {missing}")
            deps = [visit(known(n), (*path, f.name)) for n in f.needs]  # type: ignore[arg-type]
            level[f.name] = 1 + max(deps) if deps else 0
            found[f.name] = f
        return level[f.name]

    for f in factors:
        visit(f, ())
    out: list[list[Factor]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name, k in level.items():
        out[k].append(found[name])
    return out


def _clean(expr: pl.Expr) -> pl.Expr:
    """Float64 with NaN and +-inf as null: "undefined" has one spelling.

    A function of the whole column rather than ``when(x.is_finite()).then(x)``, which names
    ``x`` twice (polars then computed it twice) and always writes a new column: most factors
    have no NaN or inf left, and their column passes through as it is.
    """
    return expr.cast(pl.Float64).map_batches(_finite_or_null, return_dtype=pl.Float64)


def _finite_or_null(x: pl.Series) -> pl.Series:
    finite = x.is_finite()
    return x if finite.all() else pl.select(pl.when(finite).then(x)).to_series()


def _ordered(panel: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The panel as a LazyFrame sorted by (ticker, date); sorting is skipped when it already is."""
    columns = panel.collect_schema().names()
    for col in (TICKER, DATE):
        if col not in columns:
            raise FactorError(f"the panel has no {col!r} column")
    if isinstance(panel, pl.LazyFrame):
        return panel.sort(TICKER, DATE)
    step_ok = (pl.col(TICKER) > pl.col(TICKER).shift(1)) | (
        (pl.col(TICKER) == pl.col(TICKER).shift(1)) & (pl.col(DATE) > pl.col(DATE).shift(1))
    )
    in_order = panel.select(step_ok.slice(1).all()).item()
    ordered = panel if in_order else panel.sort(TICKER, DATE)
    # say so: a per_ticker (.over) expression then groups by slices rather than by hashing
    return ordered.lazy().with_columns(pl.col(TICKER).set_sorted())


def _check_columns(levels: list[list[Factor]], columns: list[str]) -> None:
    available = set(columns)
    for level in levels:
        for f in level:
            missing = sorted(set(f.expr.meta.root_names()) - available)
            if missing:
                raise FactorError(
                    f"factor {f.name} reads column(s) {missing} that the panel does not have"
                )
        available |= {f.name for f in level}


def compute_factors(
    store: Store,
    *,
    on: dt.date,
    tickers: Sequence[str] | None = None,
    metal: str | None = None,
    factors: Sequence[str] | None = None,
    settings: Settings | None = None,
    catalog: Mapping[str, Factor] = REGISTRY,
) -> pl.DataFrame:
    """Factor values and ranks on one date, as ``screener factors`` prints them.

    Parameters
    ----------
    store
        Where bars, indices, series and instruments are read from.
    on
        The date; a non-session rolls back to the last session on or before it (the ``date``
        column says which).
    tickers, metal
        Which rows to return (at most one of the two): these tickers, or every stock tagged with
        ``metal`` (any of its tags). Default: every stock with a bar on that session. Ranks are
        always against every stock in the store on that date, so a ticker's rank does not
        depend on which others were asked for.
    factors
        Names from ``catalog`` (default: every factor of the library, in registry order).
    settings
        ``max_ffill_sessions`` and the ST limit switch (default: ``Settings()``).
    catalog
        The factors one can name: the library (default), or a factor-file catalog
        (factors/expr/files.py).

    Returns
    -------
    pl.DataFrame
        ticker, date, one column per factor (null where undefined), then ``<name>_rank``;
        sorted by ticker.
    """
    settings = settings or Settings()
    chosen = lookup(factors, catalog) if factors is not None else list(REGISTRY.values())
    if tickers is not None and metal is not None:
        raise FactorError("give tickers or a metal, not both")
    days = sessions_ending(store, on, lookback(chosen, catalog))
    session = days[-1]
    panel = build_panel(store, start=days[0], end=session, settings=settings)
    values = evaluate(panel, chosen, dates=[session])
    if values.height == 0:
        raise DataUnavailableError(
            f"no bars on {session}", hint="run `screener update` or pick an earlier --date"
        )
    return _select_rows(values, store, tickers=tickers, metal=metal).sort(TICKER)


def lookback(factors: Sequence[Factor], catalog: Mapping[str, Factor] = REGISTRY) -> int:
    """Sessions of history the factors (and all they need) read to give their value on a date."""
    return max(f.lookback for level in resolve(factors, catalog) for f in level)


def sessions_ending(store: Store, on: dt.date, count: int) -> list[dt.date]:
    """The last ``count`` sessions on or before ``on`` (fewer if the calendar starts later)."""
    known = store.sessions() if on > calendar.calendar_end() else ()
    span = count * 3 // 2 + 30
    while True:
        start = on - dt.timedelta(days=span)
        days = calendar.sessions(start, on, known=known)
        if len(days) >= count or start < calendar.FIRST_SESSION:
            break
        span *= 2
    if not days:
        raise DataUnavailableError(f"no trading session on or before {on}")
    return days[-count:]


def _select_rows(
    values: pl.DataFrame, store: Store, *, tickers: Sequence[str] | None, metal: str | None
) -> pl.DataFrame:
    if tickers is not None:
        missing = sorted(set(tickers) - set(values.get_column(TICKER)))
        if missing:
            raise DataUnavailableError(
                f"no bars for {', '.join(missing)} on {values.get_column(DATE)[0]}",
                hint="check the ticker (e.g. 600362.SH) or run `screener update`",
            )
        return values.filter(pl.col(TICKER).is_in(list(tickers)))
    if metal is not None:
        if metal not in metals.METALS:
            raise FactorError(
                f"unknown metal {metal!r}", hint=f"known: {', '.join(sorted(metals.METALS))}"
            )
        tagged = store.read_instruments().filter(pl.col("metals").list.contains(metal))
        rows = values.filter(pl.col(TICKER).is_in(tagged.get_column(TICKER).to_list()))
        if rows.height == 0:
            raise DataUnavailableError(f"no stock tagged {metal} has a bar on that date")
        return rows
    return values
