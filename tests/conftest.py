"""Shared fixtures: stores on disk in tmp dirs, the shared/ folder beside the repo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screener.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata"


def weekdays(n: int, start: dt.date = dt.date(2020, 1, 2)) -> list[dt.date]:
    """``n`` consecutive weekdays from ``start``: synthetic sessions for statistics tests."""
    out, day = [], start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.duckdb") as s:
        yield s


def require_realdata() -> Path:
    """The real-data folder, or a skip that says why (CI always has it)."""
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data validation needs ../shared/realdata")
    return REALDATA


@pytest.fixture(scope="session")
def demo_without_amount(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo market to 2026-03-31 with the sample broker note, its bars stripped of
    ``amount`` as a vendor file without that column leaves them. Tests must not write to it."""
    import polars as pl

    from screener.brokers.ledger import import_notes
    from screener.ingest import demo
    from screener.instruments import load_master

    with Store(tmp_path_factory.mktemp("no_amount") / "demo.duckdb") as store:
        demo.load(store, end=dt.date(2026, 3, 31))
        bars = store.read_bars().with_columns(amount=pl.lit(None, pl.Float64))
        store.upsert("bars_daily", bars)
        import_notes(store, sorted((REPO / "data" / "broker_notes").glob("*.txt")), load_master())
        yield store


@pytest.fixture(scope="session")
def demo_with_notes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo market to 2026-03-31 with its synthetic weekly notes and the sample note, as
    `screener demo` builds it. Tests must not write to it."""
    from screener.brokers import demo_notes
    from screener.brokers.ledger import import_notes
    from screener.ingest import demo
    from screener.instruments import load_master

    with Store(tmp_path_factory.mktemp("notes") / "demo.duckdb") as store:
        demo.load(store, end=dt.date(2026, 3, 31))
        demo_notes.load(store)
        import_notes(store, sorted((REPO / "data" / "broker_notes").glob("*.txt")), load_master())
        yield store


@pytest.fixture(scope="session")
def research_panel() -> Any:
    """The seeded research panel (tests/research/seeded.py): 40 names over 300 sessions."""
    from research.seeded import seeded_panel

    return seeded_panel(7)


@pytest.fixture(scope="session")
def research_data(research_panel: Any) -> Any:
    """The seeded panel's research data: its factors at horizons 1, 5 and 20."""
    from research.seeded import FACTORS

    from screener.research.data import from_panel

    return from_panel(research_panel, FACTORS, horizons=(1, 5, 20))


@pytest.fixture(scope="session")
def real_dip_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``tests.realdata.real_dip_run``: one real-data backtest for every module that reads it."""
    from tests.realdata import real_dip_run

    return real_dip_run(tmp_path_factory.mktemp("real_dip") / "real.duckdb")
