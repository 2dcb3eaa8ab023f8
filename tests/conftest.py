"""Shared fixtures: stores on disk in tmp dirs, the shared/ folder beside the repo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

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
