"""HTML reports: numbers formatted, charts inline, nothing external, user text escaped."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener.report.html import (
    BacktestReportData,
    ScreenReportData,
    SweepGrid,
    fmt_num,
    fmt_pct,
    render_backtest,
    render_screen,
    table_view,
    write_csv,
    write_report,
)
from screener.report.terminal import SYNTHETIC_LABEL
from screener.thesis.metrics import monthly_returns
from screener.thesis.tearsheet import tear_sheet

EVIL = "<script>alert('x')</script>"
START = dt.date(2023, 1, 3)


def sessions(n: int, start: dt.date = START) -> list[dt.date]:
    days = pl.date_range(start, start + dt.timedelta(days=2 * n), eager=True)
    return [d for d in days.to_list() if d.weekday() < 5][:n]


def walk(n: int, seed: int, drift: float = 0.0004, vol: float = 0.015) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumprod(1.0 + rng.normal(drift, vol, n))


def backtest_data(**overrides: object) -> BacktestReportData:
    """A two-year synthetic backtest with every section filled."""
    days = sessions(480)
    equity = pl.DataFrame({"date": days, "value": 1_000_000 * walk(480, 1)})
    # benchmarks start earlier than the strategy: the chart must rebase at the strategy start
    bench_days = sessions(520, START - dt.timedelta(days=60))
    benchmarks = {
        "801050.SI": pl.DataFrame({"date": bench_days, "close": 4000 * walk(520, 2)}),
        "000300.SH": pl.DataFrame({"date": bench_days, "close": 3800 * walk(520, 3, 0.0001)}),
    }
    monthly = monthly_returns(equity)
    trades = pl.DataFrame(
        {
            "ticker": [EVIL if i == 0 else f"60{i:04d}.SH" for i in range(80)],
            "entry_date": [days[i] for i in range(80)],
            "exit_date": [days[i + 5] for i in range(80)],
            "entry_price": np.linspace(5, 25, 80),
            "exit_price": np.linspace(5.3, 24, 80),
            "shares": [100 * (i + 1) for i in range(80)],
            "return_pct": np.linspace(-0.08, 0.12, 80),
        }
    )
    rel = np.arange(-7, 21)
    role = ["selection" if r <= 0 else "holding" for r in rel]
    car = np.where(rel <= 0, -0.02 * (rel + 8), 0.002 * rel)
    band = np.where(rel <= 0, np.nan, 0.01)
    event_car = pl.DataFrame(
        {"rel_day": rel, "role": role, "car": car, "lo": car - band, "hi": car + band}
    )
    fields: dict[str, object] = {
        "title": "Oversold nonferrous dip",
        "thesis_summary": {
            "name": "oversold_nonferrous_dip",
            "description": f"Buy the dip {EVIL} after a sector fall; see https://evil.example/x",
            "file": "strategies/oversold_nonferrous_dip.toml",
            "sha256": "ab" * 32,
        },
        "params": {"trigger": {"fall": 0.15, "sessions": 7}, "exit": {"hold": 20}, "top_n": 5},
        "metrics": METRICS,
        "equity": equity,
        "benchmarks": benchmarks,
        "monthly_returns": monthly,
        "trades": trades,
        "event_car": event_car,
        "event_marks": {"entry_at": "open", "model": "market", "level": 0.95},
        "event_verdict": f"Event study: holding-window CAR +3.9% {EVIL}",
        "event_summary": {
            "episodes": 17,
            "car_20d": 0.0391,
            "t_stat_car": 2.345,
            "p_value": 0.0213,
        },
        "data_range": (days[0], days[-1]),
        "manifest": {
            "run_id": "run-42",
            "thesis_hash": "ab" * 32,
            "code_version": "0.1.0+g1234abc",
            "created_at": "2026-02-06T18:00:00",
            "data_source": "demo",
        },
        "synthetic": True,
    }
    fields.update(overrides)
    return BacktestReportData(**fields)  # type: ignore[arg-type]


METRICS = {
    "total_return": 0.2345,
    "annual_return": 0.1123,
    "volatility": 0.2187,
    "sharpe": 0.8765,
    "sortino": 1.2345,
    "max_drawdown": -0.1834,
    "max_drawdown_start": "2023-05-04",
    "max_drawdown_trough": "2023-08-01",
    "max_drawdown_end": None,
    "calmar": 0.6123,
    "hit_rate": 0.5625,
    "avg_win": 0.0512,
    "avg_loss": -0.0321,
    "exposure": 0.4567,
    "turnover": 6.54,
    "costs_paid": 12345.678,
    "trades": 80,
    "episodes": 17,
    "benchmarks": {
        "801050.SI": {
            "total_return": 0.05,
            "excess_return": 0.1845,
            "beta": 0.91,
            "alpha": 0.07,
            "information_ratio": 0.55,
        },
    },
}


def tear_data(**overrides: object) -> BacktestReportData:
    """``backtest_data`` with the fuller tear sheet: a book invested two sessions in three,
    trades with P&L on four metals, the last still open."""
    base = backtest_data(**overrides)
    invested = pl.when(pl.int_range(pl.len()) % 3 < 2).then(pl.col("value") * 0.8).otherwise(0.0)
    equity = base.equity.with_columns(positions_value=invested)
    trades = base.trades.with_columns(
        pnl=pl.col("return_pct") * pl.col("entry_price") * pl.col("shares"),
        exit_date=pl.when(pl.int_range(pl.len()) < 79).then("exit_date"),
    ).with_columns(pl.when(pl.col("exit_date").is_not_null()).then(pl.col("pnl", "return_pct")))
    metals = ["copper", "gold", "zinc", "lithium"]
    selections = trades.select(
        "ticker",
        name=pl.lit("名"),
        metal=pl.Series([metals[i % 4] for i in range(trades.height)]),
        selection_date="entry_date",
    )
    index = base.benchmarks["801050.SI"]
    tear = tear_sheet(equity, trades, index=index, selections=selections)
    return replace(base, equity=equity, trades=tear.trades, tear=tear, trades_csv="bt_trades.csv")


def sweep_grid() -> SweepGrid:
    rows = [
        {"fall": f, "hold": h, "sharpe": f * 4 + h / 40}
        for f in (0.1, 0.15, 0.2)
        for h in (5, 10, 20)
    ]
    return SweepGrid(pl.DataFrame(rows), x="hold", y="fall", metric="sharpe")


COVERAGE = (
    "coverage: 9 in the universe, 8 scored, 6 passed, 3 excluded; most: limit-up: 2",
    "excluded: 2 limit-up, 1 no score",
    "≈ amount = close x volume (no amount in the data) for 9 of 9 names; liquidity figures rest "
    "on it",
)


def screen_data(**overrides: object) -> ScreenReportData:
    """A screen of six names with a sector history, one hostile name and note."""
    days = sessions(200)
    tickers = ["601899.SH", "600362.SH", "603993.SH", "000630.SZ", "600111.SH", "002460.SZ"]
    names = ["紫金矿业", "江西铜业", "洛阳钼业", "铜陵有色", f"北方稀土{EVIL}", "赣锋锂业"]
    ranked = pl.DataFrame(
        {
            "rank": list(range(1, 7)),
            "ticker": tickers,
            "name": names,
            "metal": ["gold", "copper", "molybdenum", "copper", "rare_earth", "lithium"],
            "score": [1.91, 1.52, 1.13, 0.72, 0.31, -0.2],
            "momentum_20d": [0.12, 0.08, 0.05, -0.01, 0.02, -0.04],
            "ret_5d": [0.031, -0.012, 0.004, 0.0, 0.021, -0.05],
        }
    )
    prices = pl.concat(
        pl.DataFrame({"date": days, "ticker": t, "close": 10 * walk(200, 10 + i)})
        for i, t in enumerate(tickers)
    )
    fields: dict[str, object] = {
        "date": dt.date(2026, 2, 6),
        "ranked": ranked,
        "metal_moves": pl.DataFrame(
            {
                "metal": ["copper", "gold", "aluminium"],
                "ret_1d": [0.0123, -0.0045, 0.0],
                "ret_5d": [0.031, 0.002, -0.017],
                "ret_20d": [0.081, 0.044, -0.023],
            }
        ),
        "synthetic": True,
        "new": ["洛阳钼业", EVIL],
        "dropped": ["中国铝业"],
        "warnings": [f"copper series is 3 days stale {EVIL}"],
        "sector": pl.DataFrame({"date": days, "close": 4000 * walk(200, 9)}),
        "prices": prices,
        "coverage": COVERAGE,
    }
    fields.update(overrides)
    return ScreenReportData(**fields)  # type: ignore[arg-type]


def inline_charts(page: str) -> int:
    return page.count("<svg") + page.count("data:image/png")


def external_refs(page: str) -> list[str]:
    """URLs outside text: in an attribute, a CSS url() or an @import."""
    return re.findall(
        r"""(?:(?:src|href|action)\s*=\s*["']?|url\(|@import\s*["']?)\s*(?:https?:)?//""", page
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_backtest(backtest_data())


def test_backtest_metrics_are_formatted(page: str) -> None:
    for text in ("23.45%", "11.23%", "21.87%", "0.88", "1.23", "-18.34%", "56.25%", "-3.21%"):
        assert f"<td>{text}</td>" in page, text
    assert "<td>12,345.68</td>" in page  # costs
    assert "<td>not recovered</td>" in page  # max_drawdown_end None after a start
    assert (
        '<td class="num">18.45%</td>' in page and '<td class="num">0.55</td>' in page
    )  # the benchmark row


def test_backtest_has_every_chart_inline_and_no_external_reference(page: str) -> None:
    assert inline_charts(page) == 4  # equity, drawdown, monthly, event CAR; no sweep given
    assert external_refs(page) == []
    assert "xmlns" not in page and "<?xml" not in page
    assert re.findall(r"https?://", page) == ["https://"]  # only the description's text
    assert "see https://evil.example/x" in page
    assert '<meta charset="utf-8">' in page


def test_backtest_escapes_user_text(page: str) -> None:
    assert "<script" not in page
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    assert page.count(escaped) == 3  # thesis, trade, the event study's verdict


def test_backtest_synthetic_label_only_when_synthetic(page: str) -> None:
    assert f'<div class="synthetic" role="alert">{SYNTHETIC_LABEL}</div>' in page
    real = render_backtest(backtest_data(synthetic=False, event_car=None, event_summary=None))
    assert SYNTHETIC_LABEL not in real
    assert 'id="event-study"' not in real


def test_backtest_lists_every_trade(page: str) -> None:
    body = page.split('id="trades"')[1].split("</section>")[0]
    assert "80 trades, by entry date." in body and "<a " not in body  # no CSV: no link
    assert body.count("<tr>") == 81  # header + every trade
    assert '<td class="num down">-8.00%</td>' in body  # return_pct of the first trade


def test_backtest_event_study_states_episodes(page: str) -> None:
    body = page.split('id="event-study"')[1].split("</section>")[0]
    assert "17 episodes." in body
    assert "<td>3.91%</td>" in body and "<td>2.35</td>" in body and "<td>0.021</td>" in body


def test_event_chart_marks_the_trigger_and_the_entry_and_names_model_and_level(
    page: str,
) -> None:
    body = page.split('id="event-study"')[1].split("</section>")[0]
    for label in (
        "day 0: trigger (names picked)",
        "entry fill (open of day 1)",
        "95% band (episodes as units)",
        "selection and reaction: context, not tested",
        "market model",
    ):
        assert label in body, label
    assert "Event study: holding-window CAR +3.9% &lt;script&gt;" in body


def test_verdict_intervals_and_placebo_when_the_run_has_them() -> None:
    assert 'id="verdict"' not in render_backtest(backtest_data())
    metrics = {**METRICS, "bootstrap": {"level": 0.95, "sharpe": [-0.2, 1.4]}}
    placebo = {"percentile": 61.25, "draws": 1_000, "episodes": 12, "thesis_return": 0.024}
    placebo |= {"placebo_mean": 0.02, "placebo_low": -0.011, "placebo_high": 0.053}
    placebo |= {"pool": {"2023": 40, "2024": 60}, "percentile_range": [40.25, 79.9]}
    page = render_backtest(
        backtest_data(metrics=metrics, placebo=placebo, verdict=f"17 episodes: too few {EVIL}")
    )
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    assert "17 episodes: too few &lt;script&gt;" in verdict
    assert page.index('id="verdict"') < page.index('id="metrics"')  # read first
    assert "<td>0.88 (95% CI -0.20 to 1.40)</td>" in page
    assert "<td>11.23%</td>" in page  # no interval given: the value alone
    assert "<td>2.40%</td>" in page and "<td>61.2</td>" in page and "<td>1,000 x 12</td>" in page
    assert "<td>2023: 40, 2024: 60</td>" in page and "<td>-1.10% to 5.30%</td>" in page
    assert "<td>40.2 to 79.9</td>" in page
    none = render_backtest(backtest_data(placebo={"percentile": None, "reason": "no year"}))
    assert "<td>none: no year</td>" in none


def test_sweep_section_only_when_given(page: str) -> None:
    assert 'id="sweep"' not in page
    with_sweep = render_backtest(backtest_data(sweep=sweep_grid()))
    assert 'id="sweep"' in with_sweep
    assert inline_charts(with_sweep) == inline_charts(page) + 1
    assert "sharpe by hold and fall" in with_sweep


def test_backtest_manifest_and_params(page: str) -> None:
    assert "<td>run-42</td>" in page and "<td>0.1.0+g1234abc</td>" in page
    assert "<th>trigger.fall</th><td>0.15</td>" in page
    assert "Data from 2023-01-03 to" in page


def test_backtest_with_sparse_inputs() -> None:
    """No trades, no months, no benchmarks, no event study: the page still renders."""
    base = backtest_data()
    page = render_backtest(
        replace(
            base,
            benchmarks={},
            metrics={"total_return": 0.0},
            trades=base.trades.clear(),
            monthly_returns=base.monthly_returns.clear(),
            event_car=None,
            event_summary=None,
        )
    )
    assert "0 trades, by entry date." in page and 'class="frame"' not in page
    assert inline_charts(page) == 2  # equity and drawdown only
    assert "Against the benchmarks" not in page and "Monthly returns" not in page
    assert "<td>0.00%</td>" in page and "<td>-</td>" in page  # absent metrics show a dash


def test_chart_ids_are_unique_across_a_page(page: str) -> None:
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_screen_page() -> None:
    page = render_screen(screen_data())
    assert "<script" not in page
    assert (
        "北方稀土&lt;script&gt;" in page and "copper series is 3 days stale &lt;script&gt;" in page
    )
    assert "紫金矿业" in page and inline_charts(page) == 1 and external_refs(page) == []
    assert '<td class="num up">1.23%</td>' in page and '<td class="num down">-0.45%</td>' in page
    assert '<span class="tag dropped">中国铝业</span>' in page
    assert SYNTHETIC_LABEL in page


def test_screen_page_without_history_or_warnings() -> None:
    page = render_screen(screen_data(sector=None, warnings=(), synthetic=False, new=()))
    assert inline_charts(page) == 0 and 'id="warnings"' not in page
    assert SYNTHETIC_LABEL not in page
    assert "New: none" in page


def test_table_view_formats_by_column() -> None:
    frame = pl.DataFrame(
        {"ticker": ["a"], "ret_1d": [-0.01234], "chg_5d": [0.5], "score": [1.23456], "n": [1200]}
    )
    (row,) = table_view(frame).rows
    assert [c.text for c in row] == ["a", "-1.23%", "50.00%", "1.23", "1,200"]
    assert (row[1].cls, row[2].cls) == ("num down", "num up")
    assert fmt_pct(None) == "-" and fmt_pct(float("nan")) == "-"


def test_write_report(tmp_path: Path) -> None:
    path = write_report("<p>紫金</p>", tmp_path / "out", "screen-2026-02-06")
    assert path == tmp_path / "out" / "screen-2026-02-06.html"
    assert path.read_text(encoding="utf-8") == "<p>紫金</p>"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    with pytest.raises(ValueError, match="plain file name"):
        write_report("x", tmp_path, "../escape")


def test_screen_page_says_its_coverage() -> None:
    page = render_screen(screen_data())
    found = re.search(r'<section id="coverage">(.*?)</section>', page, re.S)
    assert found and all(line in found.group(1) for line in COVERAGE)
    assert 'id="coverage"' not in render_screen(screen_data(coverage=()))


def test_backtest_page_lists_episodes_and_why_one_selected_nothing() -> None:
    episodes = pl.DataFrame(
        {
            "episode": [0, 1],
            "trigger_date": [dt.date(2025, 6, 23), dt.date(2026, 2, 6)],
            "universe": [0, 49],
            "selected": [0, 10],
            "note": ["the universe is empty: no broker picks known <b>", None],
        }
    )
    notes = ("episode 2025-06-23: the universe is empty: no broker picks known <b>",)
    page = render_backtest(backtest_data(episodes=episodes, episode_notes=notes))
    found = re.search(r'<section id="episodes">(.*?)</section>', page, re.S)
    assert found and "2026-02-06" in found.group(1) and "<td>49</td>" not in found.group(1)
    assert ">49</td>" in found.group(1) and "note" not in found.group(1).split("</thead>")[0]
    assert "episode 2025-06-23: the universe is empty: no broker picks known &lt;b&gt;" in page
    assert 'id="episodes"' not in render_backtest(backtest_data())


def test_the_fuller_tear_sheet_shows_its_sections_and_numbers() -> None:
    data = tear_data()
    assert data.tear is not None
    page = render_backtest(data)
    assert inline_charts(page) == 4 + 4  # + rolling, distribution, exposure, P&L by metal
    assert external_refs(page) == []
    rolling = page.split('id="rolling"')[1].split("</section>")[0]
    assert "last 60 session returns" in rolling and "801050.SI" in rolling
    drawdowns = page.split('id="drawdowns"')[1].split("</section>")[0]
    assert data.tear.drawdowns.height == 4  # this walk is under water four times
    assert "The deepest five" in drawdowns and drawdowns.count("<tr>") == 1 + 4
    worst = data.tear.drawdowns.row(0, named=True)
    assert f"<td>{worst['peak']}</td>" in drawdowns and fmt_pct(worst["depth"]) in drawdowns
    if worst["recovery"] is None:
        assert "<td>not recovered</td>" in drawdowns
    dist = page.split('id="distribution"')[1].split("</section>")[0]
    d = data.tear.distribution
    assert f"{d.returns.size:,} of 479" in dist and fmt_pct(d.var, 3) in dist
    attribution = page.split('id="attribution"')[1].split("</section>")[0]
    assert f"the run's P&amp;L, {fmt_num(data.tear.total_pnl)} CNY" in attribution
    assert "open at the end (marked to market)" in attribution
    assert attribution.count("<tr>") == (1 + 4 + 1) + (1 + 79 + 1)  # metals, tickers, open row
    trades = page.split('id="trades"')[1].split("</section>")[0]
    assert '<a href="bt_trades.csv">bt_trades.csv</a>' in trades and trades.count("<tr>") == 81


def test_write_csv_is_plain_and_atomic(tmp_path: Path) -> None:
    data = tear_data()
    path = write_csv(data.trades, tmp_path, "t.csv")
    assert pl.read_csv(path, try_parse_dates=True).equals(data.trades)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
    with pytest.raises(ValueError, match="plain file name"):
        write_csv(data.trades, tmp_path, "../t.csv")
