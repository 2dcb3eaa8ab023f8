"""The factor tear sheet page and the research tables: every chart inline, nothing external,
the synthetic banner exactly on demo data, and the numbers the research computed."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from report.rendering import plain_text
from research.seeded import FACTORS, seeded_panel

from screener.report.research_html import render_tear_sheet, write_tear_sheet
from screener.report.research_view import render_ic, render_quantiles
from screener.report.terminal import SYNTHETIC_LABEL
from screener.research.data import FactorPanel, from_panel
from screener.research.ic import ic_summary
from screener.research.tearsheet import TearSheet, tear_sheet


@pytest.fixture(scope="module")
def research() -> FactorPanel:
    fp = from_panel(seeded_panel(3), FACTORS, horizons=(1, 5, 20))
    return replace(fp, universe="sector", synthetic=True)


@pytest.fixture(scope="module")
def sheet(research: FactorPanel) -> TearSheet:
    return tear_sheet(research, "ret_20d", neutral="metal")


def test_the_page_has_every_chart_inline_and_nothing_external(sheet: TearSheet) -> None:
    page = render_tear_sheet(sheet)
    assert page.count("<svg") == 6
    refs = r"""(?:(?:src|href|action)\s*=\s*["']?|url\(|@import\s*["']?)\s*(?:https?:)?//"""
    assert re.findall(refs, page) == [] and "https://" not in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert "Factor ret_20d" in page and "within each metal" in page
    assert sheet.scope.line() in page.replace("&#39;", "'")


def test_the_page_shows_the_research_numbers(sheet: TearSheet) -> None:
    page = render_tear_sheet(sheet)
    ic = sheet.ic.filter(pl.col("horizon") == 20).row(0, named=True)
    assert f"{ic['rank_ic']:.3f}" in page  # the summary table, three places at this size
    spread = sheet.quantiles.spread.filter(pl.col("horizon") == 20).row(0, named=True)
    assert f"{spread['spread'] * 100:,.2f}%" in page
    assert sheet.horizon == 20 and sheet.ic_daily["ic_rolling"].null_count() == 19


def test_the_banner_only_on_synthetic_data(sheet: TearSheet, tmp_path: Path) -> None:
    path = write_tear_sheet(sheet, tmp_path)
    assert path.name == "factor_ret_20d.html"
    assert SYNTHETIC_LABEL in path.read_text(encoding="utf-8")
    real = replace(sheet, scope=replace(sheet.scope, synthetic=False))
    assert SYNTHETIC_LABEL not in render_tear_sheet(real)


def test_terminal_tables_carry_the_banner_and_the_scope(
    research: FactorPanel, sheet: TearSheet
) -> None:
    text = plain_text(render_ic(ic_summary(research), research.scope()), width=240)
    assert SYNTHETIC_LABEL in text and "rank_ic_t" in text and "ret_5d_pct" in text
    assert "forward returns from the next session's open" in text
    quantiles = plain_text(render_quantiles(sheet.quantiles, research.scope()), width=160)
    assert "Q5" in quantiles and "within each metal" in quantiles and "monotonicity" in quantiles
    real = replace(research, synthetic=False)
    assert SYNTHETIC_LABEL not in plain_text(render_ic(ic_summary(real), real.scope()))
