"""The terminal screen report: gathering checked by hand, rendering against text snapshots.

Snapshots live in tests/report/snapshots/. After a deliberate change of the layout, regenerate
them with ``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/report/test_screen_view.py`` and read the
diff before committing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from pathlib import Path

import polars as pl
import pytest
from rich.console import RenderableType

from screener import calendar
from screener.config import Settings
from screener.report.screen_view import empty_reason, render_screen, sparkline
from screener.report.terminal import SYNTHETIC_LABEL
from screener.schema import SECTOR_INDEX
from screener.screen import Screen, ScreenResult
from screener.screen_context import CLOSES_SCHEMA, ScreenReport, metal_moves, screen_report
from screener.screen_coverage import Coverage
from screener.store import Store
from tests.report.rendering import plain_text

D = dt.date.fromisoformat
SNAPSHOTS = Path(__file__).parent / "snapshots"
SESSIONS = calendar.sessions(D("2025-10-09"), D("2026-02-13"))  # 83 sessions
AS_OF = SESSIONS[-1]
EXPLAIN = ("drawdown_250d", "ret_20d", "rsi_14", "divergence_20d")
SCREEN = Screen(name="picks_oversold", universe="picks", score="oversold_score", top_n=5)


def check_snapshot(name: str, renderable: RenderableType) -> None:
    """Render as a 120-column monochrome terminal would and compare with the stored text."""
    text = plain_text(renderable)
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed (UPDATE_SNAPSHOTS=1)"


def _ranked() -> pl.DataFrame:
    cols = ["rank", "ticker", "name", "metal", "score", *EXPLAIN, "avg_amount_20d"]
    rows = [
        (1, "002155.SZ", "湖南黄金", "gold", 1.38, -0.421, -0.243, 32.4, -0.171, 153.0e6),
        (2, "603979.SH", "金诚信", "copper", 1.08, -0.222, -0.221, 31.1, -0.212, 3170.6e6),
        (3, "600547.SH", "山东黄金", "gold", 0.99, -0.302, -0.075, 44.0, -0.291, 54.9e6),
        (4, "600362.SH", "江西铜业", "copper", -0.12, -0.050, 0.012, 51.5, 0.004, 820.0e6),
    ]
    extra = pl.DataFrame(
        {
            "board": ["main"] * 4,
            "metal_series": ["SHFE.AU", "SHFE.CU", "SHFE.AU", "SHFE.CU"],
            "metal_currency": ["CNY"] * 4,
            "brokers": ["国投证券", "国投证券, 中信证券", "中信证券", "国投证券"],
            "flags": [None, None, "limit-down", None],
            "amount_estimated": [False] * 4,
        }
    )
    frame = pl.concat([pl.DataFrame(rows, schema=cols, orient="row"), extra], how="horizontal")
    tail = ["amount_estimated", "metal_series", "metal_currency", "brokers", "flags"]
    return frame.select(*cols[:4], "board", *cols[4:], *tail)


def _result(ranked: pl.DataFrame | None = None, *, size: int = 7) -> ScreenResult:
    ranked = _ranked() if ranked is None else ranked
    excluded = pl.DataFrame(
        {
            "ticker": ["01378.HK", "601600.SH", "000807.SZ", "600988.SH"],
            "name": ["中国宏桥", "中国铝业", "云铝股份", "赤峰黄金"],
            "reason": ["HK-only", "suspended", "ST, illiquid", "no score"],
        }
    )
    changes = pl.DataFrame(
        {
            "ticker": ["002155.SZ", "603979.SH", "600547.SH", "600362.SH", "601600.SH"],
            "name": ["湖南黄金", "金诚信", "山东黄金", "江西铜业", "中国铝业"],
            "rank": [1, 2, 3, 4, None],
            "prev_rank": [None, 1, 4, 3, 2],
            "move": [None, -1, 1, -1, None],
            "change": ["new", "down", "up", "down", "dropped"],
        },
        schema_overrides={"rank": pl.Int64, "prev_rank": pl.Int64, "move": pl.Int64},
    )
    previous = SESSIONS[-2]
    reasons = (("ST", 1), ("illiquid", 1), ("no score", 1), ("suspended", 1))
    cover = Coverage(universe=7, scored=6, passed=4, reasons=reasons) if size else Coverage()
    return ScreenResult(
        SCREEN, AS_OF, AS_OF, previous, size, ranked, excluded, changes, EXPLAIN, cover
    )


def _report(result: ScreenResult, *, synthetic: bool = True) -> ScreenReport:
    moves = pl.DataFrame(
        {
            "metals": ["copper", "gold", "rare_earth, magnet"],
            "series_id": ["SHFE.CU", "SHFE.AU", "SMM.NDPR"],
            "in_use": ["copper", "gold", "rare_earth, magnet"],
            "date": [AS_OF] * 3,
            "close": [98_880.0, 1_109.0, 770_000.0],
            "chg_1d": [-0.009, 0.008, 0.0],
            "chg_5d": [-0.042, -0.066, 0.006],
            "chg_20d": [-0.016, -0.064, 0.215],
        }
    )
    closes = pl.DataFrame(
        [
            {"ticker": t, "date": SESSIONS[i - 60], "adj_close": 10 + 3 * math.sin(i / (3 + k))}
            for k, t in enumerate(result.ranked["ticker"])
            for i in range(60)
        ],
        schema=CLOSES_SCHEMA,
    )
    warnings = (
        "SHFE.AL is stale: last value 2026-01-30, 10 sessions before 2026-02-13",
        "1 universe name(s) did not trade on 2026-02-13: 601600.SH 中国铝业",
    )
    path = "data/screener.duckdb"
    return ScreenReport(result, path, synthetic, moves, 5123.45, -0.1834, closes, warnings)


# -- rendering ---------------------------------------------------------------------------------


def test_sparkline() -> None:
    assert sparkline([1.0, 2.0, 3.0, 2.0]) == "▁▅█▅"
    assert sparkline([5.0, 5.0]) == "▁▁"
    assert sparkline([None, float("nan")]) == ""
    long = sparkline([float(i) for i in range(60)], width=20)
    assert len(long) == 20 and long[0] == "▁" and long[-1] == "█"
    assert list(long) == sorted(long)  # a rising series never steps down


def test_render_snapshot() -> None:
    check_snapshot("screen_table.txt", render_screen(_report(_result())))


def test_render_grouped_by_metal_snapshot() -> None:
    check_snapshot("screen_by_metal.txt", render_screen(_report(_result()), group_by_metal=True))


def test_render_empty_universe_snapshot() -> None:
    empty = _result(_ranked().clear(), size=0)
    check_snapshot("screen_empty.txt", render_screen(_report(empty, synthetic=False)))


def test_an_empty_universe_without_a_master_says_to_load_it() -> None:
    bare = dataclasses.replace(_result(_ranked().clear(), size=0), master_empty=True)
    reason = "the universe is empty: the store has no instrument master (run `screener store init`)"
    assert empty_reason(bare) == reason
    assert reason in plain_text(render_screen(_report(bare, synthetic=False)))


def test_render_content() -> None:
    text = plain_text(render_screen(_report(_result())))
    assert text.count(SYNTHETIC_LABEL) == 2  # banner on top, label at the bottom
    assert "-18.3% from its 250-session high" in text
    assert "since 2026-02-12: 1 new, 1 dropped (601600.SH 中国铝业)" in text
    assert "excluded: 1 HK-only, 1 ST, 1 illiquid, 1 no score, 1 suspended" in text
    assert "coverage: 7 in the universe, 6 scored, 4 passed, 3 excluded; most: ST: 1" in text
    assert "close x volume" not in text and "≈" not in text


def test_an_estimated_amount_is_marked_and_said() -> None:
    ranked = _ranked().with_columns(amount_estimated=pl.Series([True, False, True, False]))
    result = _result(ranked)
    result = dataclasses.replace(
        result, coverage=dataclasses.replace(result.coverage, amount_estimated=5)
    )
    text = plain_text(render_screen(_report(result)))
    assert "≈153.0" in text and "≈54.9" in text and " 3,170.6 " in text
    line = "≈ amount = close x volume (no amount in the data) for 5 of 7 names; liquidity figures"
    assert line in text
    assert "warning: SHFE.AL is stale" in text
    assert "▲1" in text and "▼1" in text and "-42.1%" in text and "3,170.6" in text
    assert SYNTHETIC_LABEL not in plain_text(render_screen(_report(_result(), synthetic=False)))
    assert "metal prices from: SHFE.AU (2), SHFE.CU (2)" in text


def test_render_names_a_fallback_series_and_usd_returns() -> None:
    lme = pl.when(pl.col("metal") == "copper")
    ranked = _ranked().with_columns(
        metal_series=lme.then(pl.lit("LME.CU.CASH")).otherwise("metal_series"),
        metal_currency=lme.then(pl.lit("USD")).otherwise("metal_currency"),
    )
    text = plain_text(render_screen(_report(_result(ranked))))
    assert "metal prices from: SHFE.AU (2), LME.CU.CASH in USD (no USDCNY known) (2)" in text


# -- gathering ---------------------------------------------------------------------------------


def _store(store: Store) -> Store:
    """Two stocks, SHFE copper rising 100 a session, aluminium stopping 10 sessions early, and
    801050.SI rising to 6,000 then falling to 4,800."""
    n = len(SESSIONS)
    bars = [
        dict(ticker=t, date=d, open=10.0 + i, high=10.0 + i, low=10.0 + i, close=10.0 + i,
             prev_close=10.0 + i, volume=1, amount=1.0, adj_factor=2.0 if t == "600547.SH" else 1.0)
        for t in ("002155.SZ", "600547.SH") for i, d in enumerate(SESSIONS)
    ]  # fmt: skip
    series = [
        dict(series_id="SHFE.CU", date=d, close=90_000.0 + 100 * i) for i, d in enumerate(SESSIONS)
    ]
    series += [dict(series_id="SHFE.AL", date=d, close=20_000.0) for d in SESSIONS[: n - 10]]
    peak = n - 21
    sector = [
        5000.0 + 1000.0 * i / peak if i <= peak else 6000.0 - 60.0 * (i - peak) for i in range(n)
    ]
    store.upsert("bars_daily", pl.DataFrame(bars))
    store.upsert("series_daily", pl.DataFrame(series))
    store.upsert("index_daily", pl.DataFrame(
        {"index_code": SECTOR_INDEX, "date": SESSIONS, "close": sector}))  # fmt: skip
    return store


def test_screen_report_gathers_moves_drawdown_and_warnings(store: Store) -> None:
    _store(store)
    ranked = _ranked().filter(pl.col("ticker").is_in(["002155.SZ", "600547.SH"]))
    report = screen_report(store, _result(ranked), Settings())
    cu = report.metal_moves.filter(pl.col("series_id") == "SHFE.CU").row(0, named=True)
    last = 90_000.0 + 100 * (len(SESSIONS) - 1)
    assert cu["close"] == last and cu["metals"] == "copper"
    assert cu["chg_1d"] == pytest.approx(last / (last - 100) - 1)
    assert cu["chg_20d"] == pytest.approx(last / (last - 2000) - 1)
    assert report.metal_moves["series_id"].to_list() == ["SHFE.CU", "SHFE.AL"]  # metal order
    assert report.sector_close == pytest.approx(4800.0)
    assert report.sector_drawdown == pytest.approx(4800.0 / 6000.0 - 1)
    stale = [w for w in report.warnings if "stale" in w]
    assert stale == [f"SHFE.AL is stale: last value {SESSIONS[-11]}, 10 sessions before {AS_OF}"]
    assert any("601600.SH 中国铝业" in w for w in report.warnings)  # suspended in the universe
    assert not report.synthetic
    spark = report.closes.filter(pl.col("ticker") == "600547.SH")
    assert spark.height == 60 and spark["adj_close"][-1] == 2.0 * (10.0 + len(SESSIONS) - 1)
    store.set_meta("data_source", "demo")
    assert screen_report(store, _result(ranked), Settings()).synthetic


def test_metal_moves_list_every_series_and_mark_the_one_in_use(store: Store) -> None:
    _store(store)
    n = len(SESSIONS)
    lme = [dict(series_id="LME.AL.CASH", date=d, close=2500.0 + i) for i, d in enumerate(SESSIONS)]
    store.upsert("series_daily", pl.DataFrame(lme))
    moves = metal_moves(store, AS_OF, max_ffill=5)
    assert moves.select("series_id", "metals", "in_use").rows() == [
        ("SHFE.CU", "copper", "copper"),
        ("SHFE.AL", "aluminium", None),  # 10 sessions old: LME stands in
        ("LME.AL.CASH", "aluminium", "aluminium (USD)"),  # no USD/CNY in the store
    ]
    al = moves.row(2, named=True)
    assert (al["date"], al["close"]) == (SESSIONS[-2], 2500.0 + n - 2)  # LME: a session late
    fx = [dict(series_id="FX.USDCNY", date=d, close=7.0) for d in SESSIONS]
    store.upsert("series_daily", pl.DataFrame(fx))
    assert metal_moves(store, AS_OF, max_ffill=5)["in_use"][2] == "aluminium"


def test_screen_report_on_a_non_session_and_before_any_data(store: Store) -> None:
    _store(store)
    saturday = ScreenResult(SCREEN, D("2026-02-14"), AS_OF, SESSIONS[-2], 0,
                            _ranked().clear(), _result().excluded.clear(),
                            _result().changes.clear(), EXPLAIN, Coverage())  # fmt: skip
    report = screen_report(store, saturday, Settings())
    assert report.warnings[0] == f"2026-02-14 is not a session in the store: data are from {AS_OF}"
    none = ScreenResult(SCREEN, D("2020-01-01"), None, None, 0, _ranked().clear(),
                        _result().excluded.clear(), _result().changes.clear(), EXPLAIN,
                        Coverage())  # fmt: skip
    report = screen_report(store, none, Settings())
    assert report.warnings == ("no bars on or before 2020-01-01: nothing to screen",)
    assert report.metal_moves.height == 0 and report.sector_drawdown is None
    assert "no data on or before 2020-01-01" in plain_text(render_screen(report))
