"""What was known at each session: series values on the stock calendar, and each metal's price.

``asof_on_sessions`` puts values dated on a venue's calendar onto the A-share sessions
(``read_subject``: what a thesis trigger reads).
``metal_prices`` is the one place a metal's price is built (the panel's ``metal_*`` columns,
thesis triggers on a metal and the screen's metal table all read it):

1. Known. Every series of the metal (``metals.METAL_SERIES``) and FX.USDCNY as known at each
   session: a value dated t enters on t, or on the next session for venues that settle after
   the Beijing close (``metals.known_next_session``), and is carried at most ``max_ffill``
   sessions.
2. Currency. A USD series counts in CNY (x USDCNY as known that session) where FX is known,
   else in USD: its returns are then USD returns, and ``currency`` says so.
3. Winner. On each session the first series of the metal's tuple known that session speaks for
   it: ``series_id``, ``currency``, ``stale`` and ``age`` are the winner's. With none known,
   ``close`` is null and the row names the first series that has had a value (``age`` says how
   long ago it entered).
4. Splice. ``close`` is a chained level. While the same series wins in the same currency it
   moves exactly as that series. When the winner changes, the level moves, from the last
   session with a level, by the return of the first series known on both sessions (in CNY if
   FX is known on both, else in USD), so an n-session change never compares two series'
   levels. With no series known on both, the level carries over unchanged (a zero return, as
   a stale carry gives). The first level of the window is the first winner's own value.

So ratios of ``close`` are returns; the level itself is in the unit of the first winner of the
window, and two windows that start on different sessions may differ by a constant factor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from screener import metals
from screener.store import Store

METAL_PRICES = {
    "metal": pl.String,
    "date": pl.Date,
    "close": pl.Float64,
    "series_id": pl.String,
    "currency": pl.String,
    "stale": pl.Boolean,
    "age": pl.Int64,
}


def session_frame(sessions: Sequence[dt.date]) -> pl.DataFrame:
    """The calendar as the functions here take it: ``date`` and its 0-based position ``_i``."""
    return pl.DataFrame({"date": list(sessions)}, schema={"date": pl.Date}).with_row_index("_i")


def asof_on_sessions(
    values: pl.DataFrame, cal: pl.DataFrame, *, lagged: set[str], max_ffill: int
) -> pl.DataFrame:
    """Values (id, date, close) as known at each session: id, date, close, stale, age.

    ``cal`` is ``session_frame(sessions)``. ``lagged`` ids enter the first session strictly
    after their date, others the first session on or after it. Values dated before the first
    session are dropped. A value is carried at most ``max_ffill`` sessions (close null beyond;
    age and stale still say why). Rows are sorted by (id, date), one per id and session.
    """
    sess = cal.get_column("date").to_numpy()
    first = cal.get_column("date").min()
    v = values.filter(pl.col("close").is_finite()).sort("id", "date")
    when = v.get_column("date").to_numpy()
    late = v.get_column("id").is_in(sorted(lagged)).to_numpy()
    pos = np.where(
        late, np.searchsorted(sess, when, side="right"), np.searchsorted(sess, when, side="left")
    )
    v = (
        v.with_columns(pl.Series("_i", pos, dtype=pl.UInt32))
        .filter((pl.col("date") >= first) & (pl.col("_i") < len(sess)))
        .unique(subset=["id", "_i"], keep="last", maintain_order=True)
        .select("id", "_i", "close", pl.col("_i").alias("_src"))
    )
    ids = pl.DataFrame({"id": values.get_column("id").unique().sort()})
    grid = ids.join(cal, how="cross").join(v, on=["id", "_i"], how="left").sort("id", "_i")
    grid = grid.with_columns(pl.col("close", "_src").forward_fill().over("id"))
    age = (pl.col("_i").cast(pl.Int64) - pl.col("_src").cast(pl.Int64)).alias("age")
    return grid.select(
        "id",
        "date",
        pl.when(age <= max_ffill).then(pl.col("close")).alias("close"),
        (age > 0).alias("stale"),
        age,
    )


def series_on_sessions(series: pl.DataFrame, cal: pl.DataFrame, *, max_ffill: int) -> pl.DataFrame:
    """SERIES_DAILY rows as known at each session, each venue's lag applied (``asof_on_sessions``
    columns). The value is the close, or the settlement where a vendor gives only that."""
    value = pl.coalesce("close", "settle") if "settle" in series.columns else pl.col("close")
    values = series.select(pl.col("series_id").alias("id"), "date", value.alias("close"))
    lagged = {i for i in values.get_column("id").unique() if metals.known_next_session(i)}
    return asof_on_sessions(values, cal, lagged=lagged, max_ffill=max_ffill)


def metal_prices(
    series: pl.DataFrame, cal: pl.DataFrame, *, metal_names: Sequence[str], max_ffill: int
) -> pl.DataFrame:
    """Each metal's price as known at each session (steps 1-4 of the module docstring).

    ``series``: SERIES_DAILY rows (series_id, date, close[, settle]) of at least
    ``metals.series_needed(metal_names)``; others are ignored. Returns ``METAL_PRICES`` columns,
    one row per metal and session of ``cal``.
    """
    wanted = metals.series_needed(metal_names)
    known = series_on_sessions(
        series.filter(pl.col("series_id").is_in(wanted)), cal, max_ffill=max_ffill
    )
    by_id = known.partition_by("id", as_dict=True, include_key=False)
    n = cal.height

    def column(sid: str, name: str) -> np.ndarray:
        one = by_id.get((sid,))
        return np.full(n, np.nan) if one is None else one.get_column(name).to_numpy().astype(float)

    fx = column(metals.FX, "close")
    parts = []
    for metal in metal_names:
        ids = metals.METAL_SERIES[metal]
        close = np.column_stack([column(s, "close") for s in ids])
        age = np.column_stack([column(s, "age") for s in ids])
        usd = np.array([metals.in_usd(s) for s in ids])
        level, win, cny = _splice(close, usd, fx)
        speaker = np.where(win >= 0, win, _first_true(np.isfinite(age)))
        rows = np.arange(n)
        spoke = speaker >= 0
        parts.append(
            pl.DataFrame(
                {
                    "metal": metal,
                    "date": cal.get_column("date"),
                    "close": level,
                    "series_id": [ids[j] if j >= 0 else None for j in speaker],
                    "currency": [
                        ("CNY" if c else "USD") if w >= 0 else None
                        for w, c in zip(win, cny, strict=True)
                    ],
                    "age": np.where(spoke, age[rows, speaker], np.nan),
                },
                schema_overrides={"series_id": pl.String, "currency": pl.String},
                nan_to_null=True,
            )
        )
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=METAL_PRICES)
    return frame.with_columns(pl.col("age").cast(pl.Int64), stale=pl.col("age") > 0).select(
        **{c: pl.col(c).cast(t) for c, t in METAL_PRICES.items()}
    )


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Per row, the first column where ``mask`` holds, else -1."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


def _splice(
    close: np.ndarray, usd: np.ndarray, fx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chained level of step 4, the winning column (-1: none) and whether it counts in CNY.

    ``close``: sessions x series as known each session (NaN: unknown), in preference order;
    ``usd``: which columns are USD; ``fx``: USDCNY as known each session (NaN: unknown).
    """
    known = np.isfinite(close)
    converted = usd[None, :] & np.isfinite(fx)[:, None]
    value = np.where(converted, close * fx[:, None], close)
    win = _first_true(known)
    rows = np.flatnonzero(win >= 0)
    cny = ~usd[win] | np.isfinite(fx)
    own = value[rows, win[rows]]
    feed = win[rows] * 2 + cny[rows]  # the series and the currency it counts in
    starts = np.flatnonzero(np.r_[True, feed[1:] != feed[:-1]]) if rows.size else rows
    scale = np.ones(len(starts))
    for j in range(1, len(starts)):  # only where the feed changes: rare
        s = starts[j]
        before = own[s - 1] * scale[j - 1]
        scale[j] = before * _link(close, usd, fx, rows[s - 1], rows[s]) / own[s]
    level = np.full(len(close), np.nan)
    level[rows] = own * np.repeat(scale, np.diff(np.r_[starts, len(rows)]))
    return level, win, cny


def _link(close: np.ndarray, usd: np.ndarray, fx: np.ndarray, p: int, t: int) -> float:
    """Session p to t: the ratio of the first series known on both (1.0 if none is)."""
    both = np.flatnonzero(np.isfinite(close[p]) & np.isfinite(close[t]))
    if not both.size:
        return 1.0
    j = both[0]
    ratio = float(close[t, j] / close[p, j])
    if usd[j] and np.isfinite(fx[p]) and np.isfinite(fx[t]):
        ratio *= float(fx[t] / fx[p])
    return ratio


def read_metal_prices(
    store: Store, metal_names: Sequence[str], sessions: Sequence[dt.date], *, max_ffill: int
) -> pl.DataFrame:
    """``metal_prices`` on ``sessions`` from the store's series (values dated before the first
    session are not seen: start ``max_ffill + 1`` sessions early to know the first fully)."""
    series = store.read_series(
        metals.series_needed(metal_names), start=sessions[0], end=sessions[-1]
    )
    cal = session_frame(sessions)
    return metal_prices(series, cal, metal_names=metal_names, max_ffill=max_ffill)


def read_subject(
    store: Store, subject: str, sessions: Sequence[dt.date], *, max_ffill: int
) -> pl.DataFrame:
    """What a thesis trigger reads, as known at each session (date, close, age): a metal
    (``read_metal_prices``), a series (its venue's lag) or an index (its own date)."""
    if subject in metals.METAL_SERIES:
        return read_metal_prices(store, [subject], sessions, max_ffill=max_ffill)
    cal = session_frame(sessions)
    if subject in metals.SERIES:
        series = store.read_series([subject], start=sessions[0])
        return series_on_sessions(series, cal, max_ffill=max_ffill)
    index = store.read_index([subject], start=sessions[0])
    values = index.select(id="index_code", date="date", close="close")
    return asof_on_sessions(values, cal, lagged=set(), max_ffill=max_ffill)
