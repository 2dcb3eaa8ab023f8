"""Report charts: the numbers they draw (rebasing, heatmap cells, best cell) and their SVG."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest

from screener.report.charts import (
    ascii_label,
    equity_figure,
    monthly_figure,
    rebase_on,
    sweep_figure,
    to_svg,
)

D = dt.date.fromisoformat


def series(*rows: tuple[str, float]) -> pl.DataFrame:
    return pl.DataFrame({"date": [D(d) for d, _ in rows], "close": [c for _, c in rows]})


def test_rebase_takes_the_last_earlier_close_never_a_later_one() -> None:
    dates = pl.Series([D("2024-01-02"), D("2024-01-03"), D("2024-01-04"), D("2024-01-05")])
    index = series(("2024-01-03", 200.0), ("2024-01-05", 250.0), ("2024-01-04", 220.0))
    got = rebase_on(dates, index.filter(pl.col("date") != D("2024-01-04")))
    # 01-02 is before the series (gap); 01-04 is missing: 01-03's close, not 01-05's
    np.testing.assert_array_equal(got, [np.nan, 1.0, 1.0, 1.25])
    np.testing.assert_array_equal(rebase_on(dates, index), [np.nan, 1.0, 1.1, 1.25])


def test_rebase_keeps_the_callers_date_order_and_refuses_a_zero_base() -> None:
    dates = pl.Series([D("2024-01-05"), D("2024-01-03")])
    index = series(("2024-01-03", 200.0), ("2024-01-05", 250.0))
    np.testing.assert_array_equal(rebase_on(dates, index), [1.0, 0.8])  # based on the first row
    zero = series(("2024-01-03", 200.0), ("2024-01-05", 0.0))  # the base (first row) is 0
    assert np.isnan(rebase_on(dates, zero)).all()
    assert np.isnan(rebase_on(dates, index.clear())).all()


def test_equity_chart_draws_growth_of_one_for_strategy_and_benchmark() -> None:
    equity = pl.DataFrame(
        {"date": [D("2024-01-03"), D("2024-01-02")], "value": [1_050_000.0, 1_000_000.0]}
    )
    bench = {"801050.SI 申万有色": series(("2024-01-02", 4000.0), ("2024-01-03", 3800.0))}
    ax = equity_figure(equity, bench).axes[0]
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    np.testing.assert_allclose(lines["strategy"], [1.0, 1.05])
    np.testing.assert_allclose(lines["801050.SI"], [1.0, 0.95])  # CJK dropped from the label


def test_monthly_heatmap_compounds_the_year_column() -> None:
    monthly = pl.DataFrame(
        {"year": [2024, 2024, 2025], "month": [1, 2, 12], "ret": [0.10, -0.05, None]},
        schema_overrides={"ret": pl.Float64},
    )
    texts = [t.get_text() for t in monthly_figure(monthly).axes[0].texts]
    # 1.10 x 0.95 - 1 = +4.5% for 2024; 2025 has no return: blank cells, no year figure
    assert texts == ["+10.0%", "-5.0%", "+4.5%"]


def test_sweep_heatmap_averages_other_parameters_and_frames_the_best_cell() -> None:
    sweep = pl.DataFrame(
        {
            "window": [20, 20, 40, 40, 20, 40],
            "stop": [5, 10, 5, 10, 5, 5],
            "hold": [1, 1, 1, 1, 2, 2],
            "sharpe": [0.2, 0.9, 0.4, 0.1, 0.6, 0.8],
        }
    )
    ax = sweep_figure(sweep, x="window", y="stop", metric="sharpe").axes[0]
    # rows stop 5, 10; columns window 20, 40; stop 5 cells average over hold 1 and 2
    assert [t.get_text() for t in ax.texts] == ["0.40", "0.60", "0.90", "0.10"]
    (frame,) = ax.patches
    assert frame.get_xy() == (-0.5, 0.5)  # window 20, stop 10: 0.90


def test_svg_is_inline_with_ids_unique_to_its_prefix() -> None:
    equity = pl.DataFrame({"date": [D("2024-01-02"), D("2024-01-03")], "value": [1.0, 1.1]})
    svg = to_svg(equity_figure(equity, {}), prefix="eq")
    assert svg.startswith("<svg ") and "<?xml" not in svg and "xmlns" not in svg[:200]
    assert 'class="chart"' in svg and re.search(r'style="max-width: [0-9.]+pt"', svg)
    ids = re.findall(r'id="([^"]+)"', svg)
    assert ids and all(i.startswith("eq-") for i in ids)
    refs = re.findall(r'(?:href="#|url\(#)([^")]+)', svg)
    assert all(r.startswith("eq-") for r in refs)


@pytest.mark.parametrize(
    ("text", "label"), [("紫金矿业 601899.SH", "601899.SH"), ("紫金", "?"), ("SHFE.CU", "SHFE.CU")]
)
def test_labels_drop_what_the_fonts_cannot_draw(text: str, label: str) -> None:
    assert ascii_label(text) == label
