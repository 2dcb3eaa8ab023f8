"""Fixtures of the research tests: the seeded panel (seeded.py) and its research data."""

from __future__ import annotations

import polars as pl
import pytest
from research.seeded import FACTORS, seeded_panel

from screener.research.data import FactorPanel, from_panel


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return seeded_panel(7)


@pytest.fixture(scope="module")
def research(panel: pl.DataFrame) -> FactorPanel:
    return from_panel(panel, FACTORS, horizons=(1, 5, 20))
