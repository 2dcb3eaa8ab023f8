"""Terminal tables: cell formats, the synthetic banner only on demo data, the store summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from rich.console import RenderableType

from screener.coverage import store_summary
from screener.report.terminal import (
    SYNTHETIC_LABEL,
    factor_card,
    frame_table,
    store_info_table,
    store_summary_view,
)
from tests.report.rendering import plain_text
from tests.sample_markets import flat_bars, two_name_store

D = dt.date.fromisoformat


def cells(renderable: RenderableType) -> list[list[str]]:
    return [line.split() for line in plain_text(renderable).splitlines() if line.strip()]


def test_frame_cells_nulls_large_numbers_lists_and_alignment() -> None:
    frame = pl.DataFrame(
        {
            "ticker": ["600362.SH", "000630.SZ"],
            "close": [61.234567, None],
            "amount": [1_234_567_890.0, 2_500_000.5],
            "metals": [["copper", "gold"], []],
            "volume": [1200, 3],
        }
    )
    rows = cells(frame_table(frame, title="t"))
    assert rows[1] == ["ticker", "close", "amount", "metals", "volume"]
    assert rows[3] == ["600362.SH", "61.2346", "1,234,567,890", "copper,gold", "1200"]
    assert rows[4] == ["000630.SZ", "-", "2,500,000", "3"]  # the empty list is an empty cell
    lines = plain_text(frame_table(frame)).splitlines()
    row = next(line for line in lines if "000630.SZ" in line)
    # numbers end under their header's right edge; text starts under its header's left edge
    header = next(line for line in lines if "ticker" in line)
    assert row.rindex("3") + 1 == header.index("volume") + len("volume")
    assert row.index("000630.SZ") == header.index("ticker")


def test_frame_table_digits_are_settable() -> None:
    frame = pl.DataFrame({"ret": [0.123456]})
    assert cells(frame_table(frame, float_digits=2))[-1] == ["0.12"]


def test_whole_floats_lose_their_decimals_and_metric_tables_show_percentages() -> None:
    frame = pl.DataFrame(
        {
            "exit.hold_sessions": [5.0, 20.0, None],
            "total_return": [1.2066, -0.0303, 0.0],
            "hit_rate": [0.3909, 0.5, None],
            "sharpe": [0.5448, -0.1, 1.0],
        }
    )
    assert cells(frame_table(frame))[-3:] == [
        ["5", "1.2066", "0.3909", "0.5448"],
        ["20", "-0.0303", "0.5000", "-0.1000"],
        ["-", "0.0000", "-", "1.0000"],
    ]
    assert cells(frame_table(frame, metrics=True))[-3:] == [
        ["5", "+120.66%", "39.09%", "0.5448"],
        ["20", "-3.03%", "50.00%", "-0.1000"],
        ["-", "+0.00%", "-", "1.0000"],
    ]


INFO = {
    "path": "data/screener.duckdb",
    "tables": {
        "bars_daily": {"rows": 448166, "first_date": "2015-01-05", "last_date": "2026-11-27"},
        "runs": {"rows": 0},
    },
}


def test_store_info_counts_rows_and_flags_only_demo_data() -> None:
    demo = plain_text(store_info_table({**INFO, "meta": {"data_source": "demo"}}))
    assert SYNTHETIC_LABEL in demo
    assert "store data/screener.duckdb" in demo
    rows = cells(store_info_table({**INFO, "meta": {"data_source": "demo"}}, banner=False))
    assert ["bars_daily", "448,166", "2015-01-05", "2026-11-27"] in rows
    assert ["runs", "0", "-", "-"] in rows
    real = plain_text(store_info_table({**INFO, "meta": {"data_source": "akshare"}}))
    assert SYNTHETIC_LABEL not in real


def test_the_store_summary_counts_names_by_metal_and_board(tmp_path: Path) -> None:
    dates = [D("2026-02-09"), D("2026-02-10")]
    bars = pl.concat([flat_bars(t, dates, [10.0, 10.5]) for t in ("600001.SH", "600002.SH")])
    index = pl.DataFrame({"index_code": "801050.SI", "date": dates, "close": [100.0, 101.0]})
    with two_name_store(tmp_path / "s.duckdb", bars, index) as store:
        shown = cells(store_summary_view(store_summary(store)))
    assert ["copper", "2"] in shown
    assert ["main", "2"] in shown
    assert ["bars_daily", "4", "2026-02-09", "2026-02-10"] in shown
    assert not any(SYNTHETIC_LABEL in " ".join(row) for row in shown)  # not the demo source


def test_factor_card_puts_factors_down_and_each_tickers_value_and_rank_across() -> None:
    values = pl.DataFrame(
        {
            "ticker": ["000630.SZ", "600362.SH"],
            "ret_20d": [-0.0225, None],
            "ret_20d_rank": [0.8, None],
            "avg_amount_20d": [61_540_000.0, 2_059_500.0],
            "avg_amount_20d_rank": [1.0, 0.0],
        },
        schema_overrides={"ret_20d_rank": pl.Float32, "avg_amount_20d_rank": pl.Float32},
    )
    rows = cells(factor_card(values, ["ret_20d", "avg_amount_20d"], title="card"))
    assert rows[1] == ["factor", "000630.SZ", "rank", "600362.SH", "rank"]
    assert rows[3] == ["ret_20d", "-0.0225", "0.80", "-", "-"]
    assert rows[4] == ["avg_amount_20d", "61,540,000", "1.00", "2,059,500", "0.00"]
