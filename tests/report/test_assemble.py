"""Report assembly: a tiny run's tear sheet, live and recorded; a screen as page input."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sample_markets import TINY_DIP, flat_bars, two_name_store

from screener import calendar
from screener.config import Settings
from screener.report.assemble import (
    AMOUNT_COLUMN,
    ESTIMATED_COLUMN,
    backtest_report_data,
    recorded_thesis,
    report_data_from_run,
    screen_report_data,
    write_backtest_report,
    write_screen_report,
)
from screener.report.html import fmt_num, fmt_pct, render_backtest
from screener.report.terminal import SYNTHETIC_LABEL
from screener.screen import Screen, ScreenResult
from screener.screen_context import ScreenReport
from screener.screen_coverage import Coverage
from screener.store import Store
from screener.thesis import load_thesis
from screener.thesis.record import BacktestResult, load_run
from screener.thesis.run import run_backtest

N = 175
SESSIONS = calendar.sessions(dt.date(2023, 6, 1), dt.date(2024, 6, 28))[:N]
DIP = 150  # the sector falls ~16% over the 7 sessions ending here
THESIS = TINY_DIP.replace(
    'name = "tiny dip"\n',
    'name = "tiny dip"\ndescription = "the sector fell: buy the name that fell most"\n',
)


def path(rets: np.ndarray, start: float) -> list[float]:
    return [round(float(x), 2) for x in start * np.cumprod(1.0 + rets)]


def tiny_market() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two copper names and two indices on seeded random walks, with the sector dip at DIP."""
    rng = np.random.default_rng(11)
    market = rng.normal(0.0, 0.01, N)
    sector = 0.8 * market + rng.normal(0.0, 0.008, N)
    sector[DIP - 6 : DIP + 1] = -0.025
    stock_a = 1.1 * sector + rng.normal(0.0, 0.01, N)
    stock_a[DIP - 4 : DIP + 1] -= 0.01  # A falls hardest: the reversal screen picks it
    stock_b = 0.9 * sector + rng.normal(0.0, 0.01, N)
    index = pl.DataFrame(
        {
            "index_code": ["801050.SI"] * N + ["000300.SH"] * N,
            "date": SESSIONS * 2,
            "close": path(sector, 5000.0) + path(market, 3500.0),
        }
    )
    return index, pl.concat(
        [
            flat_bars("600001.SH", SESSIONS, path(stock_a, 10.0)),
            flat_bars("600002.SH", SESSIONS, path(stock_b, 20.0)),
        ]
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, BacktestResult, Path]:
    """One recorded run on a tiny store marked as the demo (synthetic) source."""
    folder = tmp_path_factory.mktemp("assemble")
    index, stock_bars = tiny_market()
    store = two_name_store(folder / "tiny.duckdb", stock_bars, index)
    store.set_meta("data_source", "demo")
    thesis_path = folder / "tiny_dip.toml"
    thesis_path.write_text(THESIS, encoding="utf-8")
    result = run_backtest(store, load_thesis(thesis_path), settings=Settings())
    return store, result, thesis_path


def section(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert found, f"no section {name}"
    return found.group(1)


def test_the_run_has_a_trade_and_an_event_study(run: tuple[Store, BacktestResult, Path]) -> None:
    """Guards the fixture: the page tests below need both to mean anything."""
    _, result, _ = run
    assert result.trades.height == 1 and result.trades["ticker"][0] == "600001.SH"
    assert result.event_study is not None and result.event_study.summary["n_events"] == 1


def test_page_shows_metrics_trades_event_study_and_label(
    run: tuple[Store, BacktestResult, Path],
) -> None:
    _, result, _ = run
    data = backtest_report_data(result)
    html = render_backtest(data)
    metrics = section(html, "metrics")
    assert fmt_pct(result.metrics["total_return"]) in metrics
    assert fmt_num(result.metrics["sharpe"]) in metrics
    trades = section(html, "trades")
    assert "600001.SH" in trades and "甲有色" in trades  # the name joined from the selection
    assert fmt_pct(result.trades["return_pct"][0]) in trades
    event = section(html, "event-study")
    car = result.event_study.summary["market"]["car"]
    assert "holding CAR (market)" in event and fmt_pct(car) in event and "<svg" in event
    assert "selection window (context, not tested)" in event and "p_sign_flip" not in event
    assert result.event_study.summary["verdict"] in event  # 1 episode: too few to conclude
    assert data.event_car is not None
    assert data.event_car.columns == ["rel_day", "role", "car", "lo", "hi"]
    assert result.metrics["verdict"] in section(html, "verdict")
    assert SYNTHETIC_LABEL in html and data.title == "tiny dip"
    episodes = section(html, "episodes")  # one dip, both names in the sector, one selected
    assert str(result.compiled.episodes["trigger_date"][0]) in episodes
    assert result.compiled.episodes.select("universe", "selected").row(0) == (2, 1)
    assert data.episode_notes == ()  # nothing empty, every amount from the vendor
    assert "select.score" in section(html, "thesis") and "reversal_5d" in html


def test_no_label_and_no_event_section_when_absent(
    run: tuple[Store, BacktestResult, Path],
) -> None:
    _, result, _ = run
    real = replace(result, manifest={**result.manifest, "synthetic": False}, event_study=None)
    html = render_backtest(backtest_report_data(real))
    assert SYNTHETIC_LABEL not in html
    assert 'id="event-study"' not in html


def test_recorded_run_renders_the_same_page(run: tuple[Store, BacktestResult, Path]) -> None:
    store, result, _ = run
    row, frames = load_run(store, result.run_id)
    live = render_backtest(backtest_report_data(result))
    recorded = render_backtest(report_data_from_run(row, frames, thesis=recorded_thesis(row)))
    assert recorded == live
    bare = render_backtest(report_data_from_run(row, frames))  # the store alone
    assert section(bare, "metrics") == section(live, "metrics")
    assert section(bare, "trades") == section(live, "trades")
    assert section(bare, "event-study") == section(live, "event-study")


def test_an_edited_thesis_file_is_not_passed_off_as_the_run(
    run: tuple[Store, BacktestResult, Path], tmp_path: Path
) -> None:
    store, result, _ = run
    row, frames = load_run(store, result.run_id)
    edited = tmp_path / "tiny_dip.toml"
    edited.write_text(THESIS.replace("top_n = 1", "top_n = 2"), encoding="utf-8")
    assert recorded_thesis({**row, "thesis_path": str(edited)}) is None
    assert recorded_thesis({**row, "thesis_path": str(tmp_path / "gone.toml")}) is None
    data = report_data_from_run(row, frames, thesis=load_thesis(edited))
    # the report shows the run as recorded (name and spec from the manifest), not the edited file
    assert data.title == result.thesis.name
    assert data.params["select"]["top_n"] == 1


def test_writers_name_the_files(run: tuple[Store, BacktestResult, Path], tmp_path: Path) -> None:
    store, result, _ = run
    live = write_backtest_report(result, tmp_path / "a")
    recorded = write_backtest_report(load_run(store, result.run_id), tmp_path / "b")
    assert live.name == recorded.name == f"backtest_{result.run_id}.html"
    assert live.read_text(encoding="utf-8") == recorded.read_text(encoding="utf-8")


def test_the_trade_list_is_written_beside_the_page_and_the_pnl_adds_up(
    run: tuple[Store, BacktestResult, Path], tmp_path: Path
) -> None:
    store, result, _ = run
    page = write_backtest_report(load_run(store, result.run_id), tmp_path).read_text("utf-8")
    csv = tmp_path / f"backtest_{result.run_id}_trades.csv"
    listed = pl.read_csv(csv, try_parse_dates=True)
    assert listed.select(result.trades.columns).equals(result.trades.sort("entry_date"))
    assert listed.select("name", "metal", "sessions").row(0) == ("甲有色", "copper", 3)
    assert f'<a href="{csv.name}">' in section(page, "trades")
    # the executed trades' P&L is the equity curve's: nothing is left over to attribute
    values = result.equity.get_column("value")
    total = values[-1] - values[0]
    assert result.trades.get_column("pnl").sum() == pytest.approx(total, abs=1e-6)
    tear = backtest_report_data(result).tear
    assert tear is not None and tear.total_pnl == pytest.approx(total, abs=1e-9)
    assert tear.by_metal.rows() == [("copper", 1, pytest.approx(total), pytest.approx(1.0))]
    assert tear.by_ticker.get_column("ticker").to_list() == ["600001.SH"]
    assert "P&amp;L, " + fmt_num(total) + " CNY" in section(page, "attribution")


def test_a_rebalanced_run_opens_with_its_verdict_and_lists_rebalances(
    run: tuple[Store, BacktestResult, Path], tmp_path: Path
) -> None:
    """The same tiny store, rebalanced every 20 sessions: the recorded run's page says so."""
    store, _, _ = run
    path = tmp_path / "rotation.toml"
    text = THESIS.split("[trigger]")[0] + '[rebalance]\nevery = 20\n[select]\nuniverse = "sector"\n'
    path.write_text(text + 'score = "ret_20d"\ntop_n = 1\nmin_avg_amount = 0.0\n', "utf-8")
    result = run_backtest(store, load_thesis(path), settings=Settings())
    html = write_backtest_report(load_run(store, result.run_id), tmp_path).read_text("utf-8")
    assert result.metrics["verdict"] in html.replace("&#39;", "'")
    assert html.index('id="verdict"') < html.index('id="thesis"')
    episodes = section(html, "episodes")
    assert "<h2>Rebalances</h2>" in episodes and "Trigger episodes" not in episodes
    assert 'id="event-study"' not in html and "rebalance.every" in section(html, "thesis")


# -- screen ------------------------------------------------------------------------------------
DAY, PREV = dt.date(2026, 2, 9), dt.date(2026, 2, 6)


def screen_report(*, previous: dt.date | None = PREV) -> ScreenReport:
    """A hand-made screen: two ranked names, one new, one moved up, one dropped."""
    ranked = pl.DataFrame(
        {
            "rank": [1, 2],
            "ticker": ["601899.SH", "600362.SH"],
            "name": ["紫金矿业", "江西铜业"],
            "metal": ["gold", "copper"],
            "board": ["main", "main"],
            "score": [1.5, 0.9],
            "drawdown_250d": [-0.31, -0.22],
            "avg_amount_20d": [2.5e9, 8.0e8],
            "amount_estimated": [False, False],
            "brokers": ["示例证券", "示例证券"],
            "flags": [None, "ST"],
        }
    )
    changes = pl.DataFrame(
        {
            "ticker": ["601899.SH", "600362.SH", "603993.SH"],
            "name": ["紫金矿业", "江西铜业", "洛阳钼业"],
            "rank": [1, 2, None],
            "prev_rank": [None, 3, 1],
            "move": [None, 1, None],
            "change": ["new", "up", "dropped"],
        }
    )
    result = ScreenResult(
        screen=Screen(),
        on=DAY,
        as_of=DAY,
        previous=previous,
        universe_size=3,
        ranked=ranked,
        excluded=pl.DataFrame(schema={"ticker": pl.String, "name": pl.String, "reason": pl.String}),
        changes=changes,
        explain=("drawdown_250d",),
        coverage=Coverage(universe=3, scored=3, passed=2, reasons=(("illiquid", 1),)),
    )
    moves = pl.DataFrame(
        {
            "metals": ["copper"],
            "series_id": ["SHFE.CU"],
            "date": [DAY],
            "close": [98_880.0],
            "chg_1d": [-0.009],
            "chg_5d": [-0.042],
            "chg_20d": [0.016],
        }
    )
    days = calendar.sessions(dt.date(2025, 12, 1), DAY)
    closes = pl.DataFrame(
        {
            "ticker": ["601899.SH"] * len(days),
            "date": days,
            "adj_close": np.linspace(20, 25, len(days)),
        }
    )
    return ScreenReport(result, "x.duckdb", True, moves, 7676.0, -0.128, closes, ("stale",))


def test_screen_data_carries_the_report() -> None:
    sector = pl.DataFrame({"date": [PREV, DAY], "close": [7600.0, 7676.0]})
    data = screen_report_data(screen_report(), sector=sector)
    assert data.date == DAY and data.synthetic and data.warnings == ("stale",)
    assert data.metal_moves.columns[-3:] == ["ret_1d", "ret_5d", "ret_20d"]
    assert data.ranked.columns == [
        "rank", "ticker", "name", "metal", "score", "drawdown_250d", AMOUNT_COLUMN,
        "brokers", "flags", "prev_rank",
    ]  # fmt: skip
    assert data.ranked[AMOUNT_COLUMN].to_list() == [2500.0, 800.0]  # CNY millions
    assert data.ranked["prev_rank"].to_list() == [None, 3]
    assert (data.new, data.dropped) == (("601899.SH 紫金矿业",), ("603993.SH 洛阳钼业",))
    assert data.prices is not None and data.prices.columns == ["date", "ticker", "close"]
    assert data.sector is sector and data.top_tickers() == ["601899.SH", "600362.SH"]


def test_first_screen_has_no_changes() -> None:
    data = screen_report_data(screen_report(previous=None))
    assert (data.new, data.dropped) == ((), ())
    assert "prev_rank" not in data.ranked.columns


def test_screen_page_is_written_by_date(tmp_path: Path) -> None:
    sector = pl.DataFrame({"date": calendar.sessions(dt.date(2025, 12, 1), DAY)}).with_columns(
        close=pl.int_range(pl.len()).cast(pl.Float64) + 7000.0
    )
    with_chart = write_screen_report(screen_report_data(screen_report(), sector=sector), tmp_path)
    assert with_chart == tmp_path / "screen_2026-02-09.html"
    html = with_chart.read_text(encoding="utf-8")
    assert "紫金矿业" in html and SYNTHETIC_LABEL in html and "<svg" in html
    assert "-0.90%" in html  # copper's 1-day move, a ret_ column shown as a percentage
    plain = write_screen_report(screen_report(), tmp_path / "plain").read_text(encoding="utf-8")
    assert 'id="chart"' not in plain and "江西铜业" in plain


def test_screen_data_says_coverage_and_marks_estimated_amounts() -> None:
    report = screen_report()
    r = report.result
    estimated = r.ranked.with_columns(amount_estimated=pl.Series([True, False]))
    cover = replace(r.coverage, amount_estimated=3)
    data = screen_report_data(replace(report, result=replace(r, ranked=estimated, coverage=cover)))
    assert data.coverage[0] == (
        "coverage: 3 in the universe, 3 scored, 2 passed, 1 excluded; "
        "most: illiquid (20-session amount below 20m CNY): 1"
    )
    assert data.coverage[-1].startswith("≈ amount = close x volume (no amount in the data)")
    assert data.ranked[ESTIMATED_COLUMN].to_list() == [True, False]
    assert ESTIMATED_COLUMN not in screen_report_data(report).ranked.columns  # vendor amounts
    empty = replace(r, ranked=r.ranked.clear(), universe_size=0, coverage=Coverage())
    said = screen_report_data(replace(report, result=empty)).coverage[0]
    assert said.startswith("the universe is empty: no broker picks known in the 30 days to")
