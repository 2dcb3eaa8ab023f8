"""Derived bar columns, computed over a ticker's whole stored history (never one file alone).

- ``prev_close``: the given one where an import supplied it, else the previous bar's close
  (no corporate action can be seen without the exchange's 前收盘价).
- ``adj_factor``: the back-adjustment (后复权) factor, cumulative close[t-1] / prev_close[t],
  1.0 on each ticker's first stored bar. Adjusted = raw x adj_factor never changes the past
  when a later dividend arrives (forward adjustment would leak the future).
- ``suspended``: volume 0.

Limit prices are not derived here: a file's own (or computed from its own prev_close) are
stored as given, and the panel fills the rest from ``rules`` (one home for the rule).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from screener.errors import InputError
from screener.schema import BARS_DAILY

# close[t-1] / prev_close[t] is the ex-rights step: 0.48 to 5.1 over 155 real tickers' history.
# A step 100 times off is a broken cell, and compounding such steps overflows adj_factor.
MAX_STEP = 100.0
PREV_CLOSE_GIVEN = BARS_DAILY.bit("prev_close")


def step_expr() -> pl.Expr:
    """close[t-1] / prev_close[t] per ticker (null on a first bar); needs rows sorted by date."""
    return pl.col("close").shift(1).over("ticker") / pl.col("prev_close")


def out_of_range(step: pl.Expr) -> pl.Expr:
    return (step > MAX_STEP) | (step < 1 / MAX_STEP)


def derive_bars(bars: pl.DataFrame, *, source: str = "<store>") -> pl.DataFrame:
    """``bars`` (stored columns, any order) with prev_close, adj_factor and suspended derived,
    sorted by (ticker, date).

    An optional boolean ``_anchor`` column marks each ticker's first row when it is a stored
    bar the history continues from: its prev_close and adj_factor are kept, and later factors
    build on it (so an import reads only the stored rows from its anchor on). Raises
    InputError when a prev_close is more than MAX_STEP times off the previous close in the
    merged history (two sources in different units, or a broken cell).
    """
    out = _by_ticker_and_date(bars)
    anchor = pl.col("_anchor") if "_anchor" in out.columns else pl.lit(False)
    given = (pl.col("given").fill_null(0) & PREV_CLOSE_GIVEN) != 0
    # rows are sorted, so a ticker's previous row is the previous row unless the ticker changes
    first = (pl.col("ticker") != pl.col("ticker").shift(1)).fill_null(True)
    previous = pl.when(first).then(None).otherwise(pl.col("close").shift(1))
    out = out.with_columns(
        first.alias("_first"),
        pl.when(given | anchor).then(pl.col("prev_close")).otherwise(previous).alias("prev_close"),
        (pl.col("volume") == 0).alias("suspended"),
    ).with_columns((previous / pl.col("prev_close")).alias("_step"))
    bad = out.filter(out_of_range(pl.col("_step")) & ~anchor)
    if bad.height:
        row = bad.row(0, named=True)
        raise InputError(
            f"{row['ticker']} {row['date']}: prev_close {row['prev_close']:g} is more than "
            f"{MAX_STEP:g} times off the previous stored close; no corporate action moves a "
            "price that far (a source in other units?)",
            path=source,
            field="prev_close",
        )
    base = out.select(
        pl.when(anchor).then(pl.col("adj_factor")).otherwise(pl.col("_step")).fill_null(1.0)
    ).to_series()
    starts = out.get_column("_first").arg_true().to_numpy()
    adj = _cumulative_products(base.to_numpy(), starts)
    return out.with_columns(pl.Series("adj_factor", adj)).drop(
        "_anchor", "_first", "_step", strict=False
    )


def _by_ticker_and_date(bars: pl.DataFrame) -> pl.DataFrame:
    """``bars`` sorted by (ticker, date); an O(n) check spares the sort of sorted input."""
    if bars.height < 2:
        return bars
    t, d = pl.col("ticker"), pl.col("date")
    ordered = ((t > t.shift(1)) | ((t == t.shift(1)) & (d > d.shift(1)))).slice(1).all()
    return bars if bars.select(ordered).item() else bars.sort("ticker", "date")


def _cumulative_products(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running product restarting at each start, multiplied left to right (so a history
    derived in one go and one continued from an anchor agree to the last bit)."""
    out = np.empty_like(values)
    ends = [*starts[1:].tolist(), len(values)]
    for lo, hi in zip(starts.tolist(), ends, strict=True):
        np.multiply.accumulate(values[lo:hi], out=out[lo:hi])
    return out


def step_counts(bars: pl.DataFrame) -> tuple[int, int]:
    """(ex-rights steps, unexplained steps) of derived bars: prev_close below the previous close
    (a dividend or split), and above it, which no corporate action explains (kept as given)."""
    step = step_expr()
    counts = bars.sort("ticker", "date").select(
        (step > 1).sum().alias("ex_rights"), (step < 1).sum().alias("unexplained")
    )
    ex_rights, unexplained = counts.row(0)
    return int(ex_rights), int(unexplained)
