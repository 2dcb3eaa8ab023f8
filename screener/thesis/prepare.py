"""Prepare: the only place a backtest reads the store. Everything a compile needs, read once.

``prepare`` reads the panel (back-adjusted prices, tradability, metal prices as known each
session) from the largest lookback of the factors the thesis uses before ``start`` (so every
factor is complete on the first session, and no more history is read), the factor values on
every session (one pass), the trigger subjects as known each session, the benchmark indices,
and the tables a screen's universe reads (instrument master, broker picks) as a snapshot. A
``Prepared`` is plain data: compile runs on it without a store, sweeps reuse it for every
configuration, and Ray workers receive it as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from screener.config import Settings
from screener.engine import evaluate, lookback
from screener.errors import DataUnavailableError
from screener.factors.library import lookup
from screener.panel import build_panel
from screener.point_in_time import read_subject
from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.screen import AMOUNT_FACTOR, ESTIMATED_FACTOR, explained_by
from screener.store import Store
from screener.tables import TableSnapshot
from screener.thesis.spec import Thesis, factor_catalog


@dataclass
class CompileCache:
    """What compiles on one ``Prepared`` share (sweeps compile it once per configuration):
    the entry stage per ``compile.entries_key``, each screen's ranking per (session, screen),
    and the panel's flags per metal window."""

    entries: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    screens: dict[tuple[dt.date, Any], Any] = field(default_factory=dict)
    flags: dict[int, pl.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """Everything a compile needs, read once (sessions x tickers arrays share ``tickers``)."""

    sessions: list[dt.date]
    tickers: list[str]
    boards: list[str]
    values: pl.DataFrame  # factor values on the sessions: ticker, date, factors
    panel: pl.DataFrame  # the panel on the sessions
    # index/series id -> closes as known each session, from ``lead`` sessions before the first
    subjects: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]  # open, close, up_limit, down_limit, suspended, adj_*
    benchmarks: dict[str, pl.DataFrame]  # index code -> date, close
    synthetic: bool
    tables: TableSnapshot  # instruments and broker picks as stored: a compile reads no store
    cache: CompileCache = field(default_factory=lambda: CompileCache())
    # trigger history before the first session (a window reaching back before --start still
    # sees its start): how many sessions, and the sector's adj_close on them (lead x tickers)
    lead: int = 0
    lead_adj_close: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))


def prepare(
    store: Store, thesis: Thesis, *, start: dt.date | None, end: dt.date | None, settings: Settings
) -> Prepared:
    """Read what the thesis (and every configuration of its sweep) needs."""
    days = store.sessions()
    if not days:
        raise DataUnavailableError("the store has no bars", hint="run `screener ingest demo`")
    if start is not None and end is not None and start > end:
        raise DataUnavailableError(f"--start {start} is after --end {end}", hint="swap them")
    factors = _factors_for(thesis)
    # without --start the tested window opens when the score is first defined: before it the
    # thesis can select nothing, and its cash-only sessions and unscorable episodes would only
    # dilute the numbers (a trigger still sees the history before it: _trigger_lead)
    history = _score_history(thesis)
    if start is None and history >= len(days) - 1:
        raise DataUnavailableError(
            f"the score {thesis.select.score} needs {history + 1} sessions of history and the "
            f"store has {len(days)}: no session to test",
            hint="import more history, or pass --start to test from the first stored session",
        )
    start, end = start or days[history], end or days[-1]
    sessions = [d for d in days if start <= d <= end]
    if len(sessions) < 2:
        raise DataUnavailableError(f"fewer than two sessions between {start} and {end}")
    first = days.index(sessions[0])
    warm_up = max([f.lookback for f in factors] + [thesis.select.metal_window + 1])
    lead = min(first, _trigger_lead(thesis))
    full = build_panel(
        store,
        tickers=_candidates(store, thesis),
        start=days[max(first - max(warm_up, lead), 0)],
        end=end,
        settings=settings,
    )
    values = evaluate(full, factors, dates=sessions)
    panel = full.filter(pl.col("date").is_in(sessions))
    tickers = panel.get_column("ticker").unique().sort().to_list()
    ahead = days[first - lead : first]
    before = full.filter(pl.col("date").is_in(ahead) & pl.col("ticker").is_in(tickers))
    boards = panel.group_by("ticker").agg(pl.col("board").last()).sort("ticker")["board"].to_list()
    return Prepared(
        sessions=sessions,
        tickers=tickers,
        boards=boards,
        values=values,
        panel=panel,
        subjects=_subjects(store, thesis, [*ahead, *sessions], settings),
        arrays=_arrays(panel, sessions, tickers),
        benchmarks={
            code: store.read_index([code], start=sessions[0], end=end).select(
                "date", "open", "close"
            )
            for code in (SECTOR_INDEX, MARKET_INDEX)
        },
        synthetic=store.get_meta("data_source") == "demo",
        tables=TableSnapshot.of(store, ["broker_picks"]),
        lead=lead,
        lead_adj_close=_arrays(before, ahead, tickers)["adj_close"],
    )


def _candidates(store: Store, thesis: Thesis) -> list[str] | None:
    """Tickers the thesis can ever select (a superset), or None for every ticker.

    Only when the score is a per-ticker factor: a composite z-scores the whole cross-section,
    so its value depends on every name and the panel must hold them all. Breadth conditions
    read the sector's members too.
    """
    screen = thesis.select
    if lookup([screen.score], factor_catalog(thesis))[0].needs or screen.universe == "all":
        return None
    inst = store.read_instruments().filter(pl.col("board") != "hk")
    if screen.universe == "picks":
        picked = store.read_table("broker_picks").get_column("ticker").drop_nulls()
        keep = pl.col("ticker").is_in(picked.unique().to_list())
    elif screen.universe == "sector":
        keep = pl.col("sw_l1") == SECTOR_INDEX
    else:
        keep = pl.lit(True)
    if screen.metal is not None and screen.universe != "picks":
        keep &= pl.col("metals").list.contains(screen.metal)
    if any(c.kind == "breadth" for c in thesis.trigger.when):
        keep |= pl.col("sw_l1") == SECTOR_INDEX
    return inst.filter(keep).get_column("ticker").to_list()


def _score_history(thesis: Thesis) -> int:
    """Sessions of history the score needs before its first value."""
    known = factor_catalog(thesis)
    return lookback(lookup([thesis.select.score], known), known) - 1


def _trigger_lead(thesis: Thesis) -> int:
    """The longest trigger window, swept ones included: history a trigger reads before a
    session."""
    swept = [
        int(v)
        for key, values in thesis.sweep.items()
        if key.startswith("trigger.when") and key.endswith(".window")
        for v in values
    ]
    return max([c.window for c in thesis.trigger.when] + swept, default=0)


def _factors_for(thesis: Thesis) -> list[Any]:
    screen = thesis.select
    known = factor_catalog(thesis)
    names = [screen.score, *explained_by(screen, known), AMOUNT_FACTOR, ESTIMATED_FACTOR]
    return lookup(list(dict.fromkeys(names)), known)


def _subjects(
    store: Store, thesis: Thesis, sessions: list[dt.date], settings: Settings
) -> dict[str, np.ndarray]:
    """Each trigger subject's close as known at each session (point_in_time.py: venue lag,
    carry, and a metal's series spliced)."""
    ids = {s for c in thesis.trigger.when if (s := c.subject)}
    out: dict[str, np.ndarray] = {}
    for sid in sorted(ids):
        known = read_subject(store, sid, sessions, max_ffill=settings.max_ffill_sessions)
        if known.get_column("age").is_null().all():
            raise DataUnavailableError(f"the store has no data for {sid}, which the trigger reads")
        out[sid] = known.sort("date").get_column("close").to_numpy().astype(float)
    return out


def _arrays(
    panel: pl.DataFrame, sessions: list[dt.date], tickers: list[str]
) -> dict[str, np.ndarray]:
    """Dense sessions x tickers arrays of what execution and exits read (one O(n) scatter)."""
    row = np.searchsorted(np.array(sessions, dtype="datetime64[D]"), panel["date"].to_numpy())
    # an Enum's physical code is the position in its categories (hashing, not string sorting)
    col = panel["ticker"].cast(pl.Enum(tickers)).to_physical().to_numpy()
    shape = (len(sessions), len(tickers))
    out: dict[str, np.ndarray] = {}
    for name in ("open", "close", "prev_close", "up_limit", "down_limit", "adj_open", "adj_close"):
        dense = np.full(shape, np.nan)
        dense[row, col] = panel[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[name] = dense
    suspended = np.ones(shape, dtype=bool)  # no bar (not listed yet, delisted): cannot trade
    suspended[row, col] = panel["suspended"].fill_null(True).to_numpy()
    out["suspended"] = suspended
    return out
