"""The Python API: what the command line does, for a notebook or a script.

Each function is the CLI's own path (``cli/`` calls ``screen_spec`` from here too), without
the printing: frames are polars, results are frozen dataclasses. ``docs/python-api.md`` shows
them at work; its examples are run as doctests by the test suite.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from screener.as_of import resolve_as_of
from screener.config import Settings
from screener.engine import compute_factors
from screener.factors.expr.files import Catalog, catalog
from screener.screen import Screen, ScreenResult, check, load_screen, run_screen
from screener.store import Store
from screener.thesis import Thesis, load_thesis
from screener.thesis.export import export_tables, write_tables
from screener.thesis.record import BacktestResult, list_runs
from screener.thesis.record import load_run as _load_run
from screener.thesis.run import run_backtest

__all__ = [
    "BacktestResult",
    "Run",
    "ScreenResult",
    "backtest",
    "export_run",
    "factors",
    "is_synthetic",
    "load_run",
    "open_store",
    "runs",
    "screen",
    "screen_spec",
]


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> Store:
    """The DuckDB store at ``path`` (default: screener.toml's, else data/screener.duckdb).

    Use it in a ``with`` block, or call ``close()``: DuckDB lets one process write a file.
    """
    return Store(Settings.load(db=Path(path) if path else None).db_path, read_only=read_only)


def is_synthetic(store: Store) -> bool:
    """A store built from the synthetic demo market (every output from it says so)."""
    return store.get_meta("data_source") == "demo"


def factors(
    store: Store,
    date: str | dt.date | None = None,
    *,
    tickers: Sequence[str] | None = None,
    metal: str | None = None,
    names: Sequence[str] | None = None,
    exprs: Sequence[str] = (),
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Factor values and ranks (1 = best) on the last session on or before ``date`` (default:
    the last), as ``screener factors`` shows them; ``exprs`` are qlib expressions NAME=EXPR."""
    settings = settings or Settings.load()
    return compute_factors(
        store,
        on=session(store, date),
        tickers=tickers,
        metal=metal,
        factors=names,
        settings=settings,
        catalog=catalog(settings.strategies_dir, exprs=exprs),
    )


def screen_spec(
    known: Catalog,
    definition: str | Path | Screen | None = None,
    *,
    universe: str | None = None,
    score: str | None = None,
    top: int | None = None,
    include_st: bool = False,
) -> Screen:
    """A screen (a file, a ``Screen``, or the default) with the CLI's overrides, checked."""
    if isinstance(definition, Screen):
        spec = definition
    else:
        spec = load_screen(definition, known) if definition else Screen()
    if universe:
        spec = dataclasses.replace(spec, **Screen.parse_universe(universe))
    if score is not None:
        spec = dataclasses.replace(spec, score=score)
    if top is not None:
        spec = dataclasses.replace(spec, top_n=top)
    if include_st:
        spec = dataclasses.replace(spec, exclude_st=False)
    check(spec, known)
    return spec


def screen(
    store: Store,
    definition: str | Path | Screen | None = None,
    *,
    date: str | dt.date | None = None,
    universe: str | None = None,
    score: str | None = None,
    top: int | None = None,
    exprs: Sequence[str] = (),
    settings: Settings | None = None,
) -> ScreenResult:
    """Rank a universe on a date, as ``screener screen`` does; ``definition`` is a screen file
    or a ``Screen``, ``universe`` ``picks[:30d] | sector | metal:copper | all``."""
    settings = settings or Settings.load()
    known = catalog(settings.strategies_dir, exprs=exprs)
    spec = screen_spec(known, definition, universe=universe, score=score, top=top)
    return run_screen(store, spec, on=session(store, date), settings=settings, catalog=known)


def backtest(
    store: Store,
    thesis: str | Path | Thesis,
    *,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    params: Mapping[str, float] | None = None,
    record: bool = True,
    settings: Settings | None = None,
) -> BacktestResult:
    """Run a thesis file (or ``Thesis``) as ``screener backtest`` does; ``params`` override
    its numbers by dotted key ({"exit.hold_sessions": 10}); ``record`` keeps it in ``runs``."""
    return run_backtest(
        store,
        thesis if isinstance(thesis, Thesis) else load_thesis(thesis),
        start=_date(start),
        end=_date(end),
        settings=settings or Settings.load(),
        params=params,
        record_run=record,
    )


@dataclasses.dataclass(frozen=True)
class Run:
    """A recorded run: its ``runs`` row (params and metrics decoded) and its frames."""

    run_id: str
    kind: str  # backtest | sweep
    created_at: dt.datetime
    thesis_path: str
    params: dict[str, Any]
    metrics: dict[str, Any]  # metrics, manifest and (backtests) the event study
    frames: dict[str, pl.DataFrame]

    def tables(self) -> dict[str, pl.DataFrame]:
        """A backtest's equity, returns, positions and trades (``thesis.export``)."""
        return export_tables(self.frames)

    def returns(self) -> pl.DataFrame:
        """date, returns: simple daily returns, as quantstats and empyrical take them."""
        return self.tables()["returns"]


def runs(store: Store) -> pl.DataFrame:
    """The recorded runs, newest first (``screener runs list``)."""
    return list_runs(store)


def load_run(store: Store, run_id: str) -> Run:
    """One recorded run (``screener runs show``)."""
    row, frames = _load_run(store, run_id)
    fields = {f.name for f in dataclasses.fields(Run)} - {"frames"}
    return Run(**{k: v for k, v in row.items() if k in fields}, frames=frames)


def export_run(store: Store, run_id: str, directory: str | Path) -> list[Path]:
    """Write a recorded backtest's tables as Parquet and CSV (``screener runs export``)."""
    tables = load_run(store, run_id).tables()
    return write_tables(tables, Path(directory), synthetic=is_synthetic(store))


def session(store: Store, date: str | dt.date | None) -> dt.date:
    """The stored session a date reads: the last on or before it (``screener.as_of``)."""
    return resolve_as_of(store.sessions(), _date(date)).session


def _date(value: str | dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
