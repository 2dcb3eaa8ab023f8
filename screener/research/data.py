"""The research data: factor values, labels and cross-sections on a sessions x tickers grid.

``load`` is the only place factor research reads the store: the panel from the largest
lookback of the factors before ``start`` (so every factor is complete on the first session),
the universe's members on every session (``screen.universe_on``: point in time, delisted
names included while listed), and whether the store is the synthetic demo. ``from_panel``
does the rest on a panel in memory: the factor values (``engine.factor_values``), the labels
(labels.py) and the dense arrays the statistics read. A ``FactorPanel`` is plain data; its
``cache`` keeps each column's per-session sort for the statistics that rank it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from screener.config import Settings
from screener.engine import factor_values
from screener.errors import DataUnavailableError
from screener.factors.base import Factor
from screener.factors.library import REGISTRY, lookup
from screener.panel import build_panel
from screener.research.cross_section import Grouping, Sorted, by_date, by_date_and, sort
from screener.research.labels import HORIZONS, forward_returns, label
from screener.screen import Screen, universe_on
from screener.store import Store
from screener.tables import Tables, TableSnapshot

NO_METAL = "none"  # the label of names without a metal tag


@dataclass(frozen=True)
class Scope:
    """What a research result rests on, for the line under every table and page."""

    universe: str
    entry: str
    kept_unbuyable: bool
    span: tuple[dt.date, dt.date]
    sessions: int
    names: int
    synthetic: bool

    def line(self) -> str:
        """One sentence: universe, sessions and the labels' convention."""
        entry = "the next session's open" if self.entry == "open" else "the close"
        unbuyable = "kept" if self.kept_unbuyable else "left out"
        return (
            f"universe {self.universe}: {self.names} names, {self.sessions:,} sessions "
            f"{self.span[0]}..{self.span[1]}; forward returns from {entry}, names that "
            f"could not be bought there {unbuyable}"
        )


@dataclass(frozen=True)
class FactorPanel:
    """Sessions x tickers arrays (NaN = missing) of factor values and forward returns.

    ``eligible``: in the universe on that session and buyable at the entry (unless
    ``kept_unbuyable``); a factor's cross-section on t is its eligible names with a value.
    ``returns`` holds every horizon asked for and 1 (the cumulative quantile returns).
    ``metal``: each ticker's first metal tag as a code into ``metals`` (last: ``NO_METAL``).
    """

    sessions: list[dt.date]
    tickers: list[str]
    factors: dict[str, Factor]
    values: dict[str, np.ndarray]
    returns: dict[int, np.ndarray]
    eligible: np.ndarray
    metal: np.ndarray
    metals: list[str]
    horizons: tuple[int, ...]
    entry: str = "open"
    universe: str = "all"
    kept_unbuyable: bool = False
    synthetic: bool = False
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.sessions), len(self.tickers)

    def cross_section(self, factor: str) -> np.ndarray:
        """Eligible names with a value of ``factor``: the names compared on each session."""
        return self.eligible & np.isfinite(self.values[factor])

    def scope(self) -> Scope:
        return Scope(
            universe=self.universe,
            entry=self.entry,
            kept_unbuyable=self.kept_unbuyable,
            span=(self.sessions[0], self.sessions[-1]),
            sessions=len(self.sessions),
            names=len(self.tickers),
            synthetic=self.synthetic,
        )

    def grouping(self, by_metal: bool = False) -> Grouping:
        """The cross-sections: each session, or each session and metal (made once)."""
        key = ("grouping", by_metal)
        if key not in self.cache:
            shape = self.shape
            split = by_date_and(shape, self.metal, len(self.metals)) if by_metal else None
            self.cache[key] = split or by_date(shape)
        grouping: Grouping = self.cache[key]
        return grouping

    def sorted(self, column: str | int, by_metal: bool = False) -> Sorted:
        """A factor (its name) or a horizon's returns (its session count) sorted within each
        cross-section, once: every subset of it is then ranked by a linear walk."""
        self.sort_ahead([column], by_metal)
        ordered: Sorted = self.cache[("sorted", column, by_metal)]
        return ordered

    def sort_ahead(self, columns: Sequence[str | int], by_metal: bool = False) -> None:
        """Sort the columns not sorted yet, side by side (the sort kernel drops the GIL)."""
        todo = [c for c in dict.fromkeys(columns) if ("sorted", c, by_metal) not in self.cache]
        grouping = self.grouping(by_metal)

        def one(column: str | int) -> Sorted:
            values = self.returns[column] if isinstance(column, int) else self.values[column]
            return sort(values, grouping)

        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1) or 1) as pool:
            for column, done in zip(todo, pool.map(one, todo), strict=True):
                self.cache[("sorted", column, by_metal)] = done

    def scratch(self, count: int) -> list[np.ndarray]:
        """``count`` flat float buffers of the grid's size, made once: fresh memory costs more
        than filling used memory again."""
        key = ("scratch", count)
        if key not in self.cache:
            self.cache[key] = [np.empty(self.eligible.size) for _ in range(count)]
        buffers: list[np.ndarray] = self.cache[key]
        return buffers


def factor_set(
    names: Sequence[str] | None, catalog: Mapping[str, Factor] | None = None
) -> list[Factor]:
    """The factors called ``names`` (None: every factor of the library), in order: the one
    place research looks factors up. ``catalog``: the library plus factor files (expressions)."""
    if names is None:
        return list(REGISTRY.values())
    return lookup(list(names), catalog or REGISTRY)


def load(
    store: Store,
    factors: Sequence[Factor],
    *,
    universe: str = "sector",
    start: dt.date | None = None,
    end: dt.date | None = None,
    horizons: Sequence[int] = HORIZONS,
    entry: str = "open",
    keep_unbuyable: bool = False,
    settings: Settings,
) -> FactorPanel:
    """Read what research on ``factors`` needs from the store, then ``from_panel``.

    ``universe``: the screen's form ``sector | metal:copper | picks[:30d] | all``. Nothing
    after ``end`` is read: the last sessions lack the labels that would reach past it.
    """
    screen = replace(Screen(), **Screen.parse_universe(universe))
    days = store.sessions()
    sessions = [d for d in days if (start or days[0]) <= d <= (end or days[-1])] if days else []
    if len(sessions) < 2:
        raise DataUnavailableError(
            f"fewer than two sessions between {start or 'the start'} and {end or 'the end'}",
            hint="run `screener ingest demo` or widen --start/--end",
        )
    warm_up = max(f.lookback for f in factors)
    first = days.index(sessions[0])
    panel = build_panel(
        store, start=days[max(first - warm_up, 0)], end=sessions[-1], settings=settings
    )
    members = universe_members(TableSnapshot.of(store, ["broker_picks"]), screen, sessions)
    research = from_panel(
        panel,
        factors,
        horizons=horizons,
        entry=entry,
        sessions=sessions,
        members=members,
        keep_unbuyable=keep_unbuyable,
    )
    return replace(research, universe=universe, synthetic=store.get_meta("data_source") == "demo")


def universe_members(tables: Tables, screen: Screen, sessions: list[dt.date]) -> pl.DataFrame:
    """date, ticker: the screen's universe on every session (``universe_on``, as a screen on
    that session sees it).

    Membership changes only where a name lists or delists, or a broker pick enters or leaves
    its window, so ``universe_on`` runs on those sessions (and the first) and holds until the
    next one. tests/research/test_data.py checks this against a call on every session.
    """
    inst = tables.read_instruments()
    edges = [
        *inst.get_column("list_date").drop_nulls(),
        *inst.get_column("delist_date").drop_nulls(),
    ]
    if screen.universe == "picks":
        reported = tables.read_table("broker_picks").get_column("report_date").drop_nulls()
        window = dt.timedelta(days=screen.picks_window_days + 1)
        edges += [*reported, *(d + window for d in reported)]
    days = np.array(sessions, dtype="datetime64[D]")
    changes = np.unique(np.searchsorted(days, np.array(edges, dtype="datetime64[D]")))
    starts = [0, *(int(i) for i in changes if 0 < i < len(sessions))]
    parts = []
    for i, stop in zip(starts, [*starts[1:], len(sessions)], strict=True):
        names, _ = universe_on(tables, screen, on=sessions[i], as_of=sessions[i])
        span = pl.DataFrame({"date": sessions[i:stop]}, schema={"date": pl.Date})
        parts.append(span.join(names.select("ticker"), how="cross"))
    return pl.concat(parts)


def from_panel(
    panel: pl.DataFrame,
    factors: Sequence[Factor],
    *,
    horizons: Sequence[int] = HORIZONS,
    entry: str = "open",
    sessions: Sequence[dt.date] | None = None,
    members: pl.DataFrame | None = None,
    keep_unbuyable: bool = False,
) -> FactorPanel:
    """Factor values and labels of a panel (panel.py's columns) as dense arrays.

    ``sessions``: the dates studied (default: every panel date; earlier rows are warm-up).
    ``members``: date, ticker of the universe (default: every name).
    """
    dates = panel.get_column("date").unique() if sessions is None else pl.Series(sessions)
    days = dates.sort().to_list()
    every = sorted({*horizons, 1})
    values = factor_values(panel, factors, dates=days)
    labels = forward_returns(panel, every, entry=entry).filter(pl.col("date").is_in(days))
    if not labels.select("ticker", "date").equals(values.select("ticker", "date")):
        raise ValueError("factor values and labels disagree on rows: is the panel sorted?")
    frame = pl.concat([values, labels.drop("ticker", "date")], how="horizontal")
    del values, labels
    if members is not None:  # names never in the universe take no place in the arrays
        members = members.filter(pl.col("date").is_in(days))
        in_universe = members.get_column("ticker").unique().implode()
        frame = frame.filter(pl.col("ticker").is_in(in_universe))
    tickers = frame.get_column("ticker").unique().sort().to_list()
    dense = _Grid.of(frame, days, tickers)
    present = dense.mask()
    if members is not None:
        present &= _Grid.of(members.filter(pl.col("ticker").is_in(tickers)), days, tickers).mask()
    buyable = dense("buyable", False).astype(bool)
    names, codes = _metal_codes(panel, tickers)
    return FactorPanel(
        sessions=list(days),
        tickers=tickers,
        factors={f.name: f for f in factors},
        values={f.name: dense(f.name, np.nan) for f in factors},
        returns={h: dense(label(h), np.nan) for h in every},
        eligible=present & (buyable | keep_unbuyable),
        metal=codes,
        metals=names,
        horizons=tuple(horizons),
        entry=entry,
        kept_unbuyable=keep_unbuyable,
    )


@dataclass(frozen=True)
class _Grid:
    """Where each row of a (ticker, date) frame sits on the sessions x tickers grid."""

    rows: np.ndarray
    cols: np.ndarray
    shape: tuple[int, int]
    frame: pl.DataFrame

    @classmethod
    def of(cls, frame: pl.DataFrame, sessions: list[dt.date], tickers: list[str]) -> _Grid:
        """Each row's session (by a table from day number to session) and ticker (its code
        in an Enum of ``tickers``); every row's date and ticker must be among them."""
        days = np.array(sessions, dtype="datetime64[D]").astype(np.int64)
        table = np.full(days[-1] - days[0] + 1, -1, np.int64)
        table[days - days[0]] = np.arange(len(days))
        rows = table[frame["date"].to_physical().to_numpy().astype(np.int64) - days[0]]
        cols = frame["ticker"].cast(pl.Enum(tickers)).to_physical().to_numpy()
        return cls(rows, cols, (len(sessions), len(tickers)), frame)

    def __call__(self, name: str, empty: float | bool) -> np.ndarray:
        """One column as a dense array, ``empty`` where the frame has no row."""
        out = np.full(self.shape, empty, dtype=np.float64)
        out[self.rows, self.cols] = self.frame[name].cast(pl.Float64).fill_null(empty).to_numpy()
        return out

    def mask(self) -> np.ndarray:
        """True where the frame has a row."""
        out = np.zeros(self.shape, bool)
        out[self.rows, self.cols] = True
        return out


def _metal_codes(panel: pl.DataFrame, tickers: list[str]) -> tuple[list[str], np.ndarray]:
    """Each ticker's metal (first tag) as a code; names without one share ``NO_METAL``."""
    last = panel.filter(pl.col("ticker") != pl.col("ticker").shift(-1).fill_null(""))  # sorted
    metal = dict(last.select("ticker", "metal").iter_rows())
    names = [*sorted({m for m in metal.values() if m}), NO_METAL]
    code = {m: i for i, m in enumerate(names)}
    return names, np.array([code[metal.get(t) or NO_METAL] for t in tickers], dtype=np.int64)
