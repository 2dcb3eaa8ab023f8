"""Tables never cut numbers: FitTable by hand, then every table of the CLI at 60-120 columns on
a demo store, then the screen and factor tables on a store of real bars."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console, Group, RenderableType
from rich.text import Text

from screener.config import Settings
from screener.engine import compute_factors
from screener.report.backtest_view import render_backtest
from screener.report.fit import KEEP, Column, FitTable
from screener.report.screen_view import render_screen
from screener.report.terminal import frame_table
from screener.screen import Screen, run_screen
from screener.screen_context import screen_report
from screener.store import Store
from screener.thesis import load_thesis
from screener.thesis.run import run_backtest
from tests.conftest import REPO
from tests.realdata import real_store
from tests.report.rendering import plain_text
from tests.test_cli import cli

WIDTHS = (60, 80, 100, 120)
CUT = re.compile(r"[0-9%.,]…|^[\s│┃]*…", re.MULTILINE)  # a number, ticker or rank cut
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def wide_table() -> FitTable:
    columns = [Column("ticker", priority=KEEP), Column("name", shrink=True, priority=KEEP)]
    columns += [Column(f"factor_{k}", "right", priority=-k) for k in range(8)]
    rows = [
        ["601899.SH", "紫金矿业股份有限公司", *(f"+{120 + k:.4f}%" for k in range(8))],
        ["[bold]x[/bold]", "江西铜业", *(f"{-k * 1_000_000:,}" for k in range(8))],
    ]
    return FitTable(columns, rows, title="wide")


def kept_cells(renderable: RenderableType, width: int) -> Iterator[str]:
    """The text of every cell of a column not marked shrink that a FitTable keeps at ``width``."""
    parts = renderable.renderables if isinstance(renderable, Group) else [renderable]
    console = Console(width=width, file=io.StringIO())
    for part in parts:
        if isinstance(part, FitTable):
            kept, _ = part.layout(console, width)
            for row in part.rows:
                for i in kept:
                    if not part.columns[i].shrink:
                        yield row[i].plain if isinstance(row[i], Text) else row[i]


def assert_whole(renderable: RenderableType, width: int) -> str:
    """Every cell of a number column the tables keep prints whole (text such as a list of
    reasons may end in '…'), and no line is wider than the terminal."""
    out = plain_text(renderable, width)
    assert max(len(line.rstrip()) for line in out.splitlines()) <= width
    for cell in kept_cells(renderable, width):
        assert cell in out, (width, cell)
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_a_narrow_table_leaves_out_its_least_needed_columns_and_says_which(width: int) -> None:
    table = wide_table()
    out = assert_whole(table, width)
    kept, _ = table.layout(Console(width=width, file=io.StringIO()), width)
    left_out = [c.header for i, c in enumerate(table.columns) if i not in kept]
    assert left_out and left_out == [f"factor_{k}" for k in range(len(kept) - 2, 8)]
    said = " ".join(out.split())  # the line wraps like any text
    assert f"{len(left_out)} column(s) left out at {width} columns: {', '.join(left_out)}" in said
    assert "[bold]x[/bold]" in out  # a value is never read as markup


def test_measured_it_asks_for_every_column_whole() -> None:
    out = plain_text(wide_table(), width=400)
    assert "left out" not in out and "紫金矿业股份有限公司" in out and "+127.0000%" in out


def test_a_name_shortens_before_any_column_goes() -> None:
    out = plain_text(wide_table(), width=140)  # 146 whole, 134 with the name cut to 8
    assert "紫金矿业股份有限公司" not in out and "紫金矿业" in out and "…" in out
    assert "+127.0000%" in out and "left out" not in out


# -- the CLI's tables on a demo store ----------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo market to 2026-03-31 with the sample note and one recorded backtest."""
    db = tmp_path_factory.mktemp("fit") / "demo.duckdb"
    assert cli("ingest", "demo", "--end", "2026-03-31", db=db).returncode == 0
    notes = sorted((REPO / "data" / "broker_notes").glob("*.txt"))
    assert cli("picks", "import", *map(str, notes), db=db).returncode == 0
    return db


def at_width(width: int, *args: str, db: Path) -> str:
    """What a terminal ``width`` columns wide shows for the command."""
    done = cli(*args, db=db, env={"COLUMNS": str(width), "TTY_COMPATIBLE": "1"})
    assert done.returncode == 0, done.stderr
    return ANSI.sub("", done.stdout)


def json_of(*args: str, db: Path) -> list[dict[str, object]]:
    done = cli(*args, "--format", "json", db=db)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


SCREEN = ("screen", "--date", "2026-02-06", "--universe", "sector")
FACTORS = ("factors", "--date", "2026-02-06", "--metal", "copper")
FACTORS += ("--factors", "ret_20d,rsi_14,drawdown_250d,divergence_7d,amihud_20d")


@pytest.mark.parametrize("width", WIDTHS)
def test_screen_and_factors_print_every_rank_ticker_and_first_number_whole(
    demo: Path, width: int
) -> None:
    screen = at_width(width, *SCREEN, db=demo)
    assert not CUT.search(screen), CUT.search(screen)
    for row in json_of(*SCREEN, db=demo):
        assert re.search(rf"\b{row['rank']} {row['ticker']} ", screen)
        assert f"{row['score']:.2f}" in screen
    factors = at_width(width, *FACTORS, db=demo)
    assert not CUT.search(factors), CUT.search(factors)
    for row in json_of(*FACTORS, db=demo):
        assert re.search(rf"{row['ticker']} +{row['ret_20d']:.4f} ", factors)  # no constant date
    if width < 120:
        assert f"left out at {width} columns" in factors and "--format csv/json" in factors


def test_backtest_and_runs_print_every_number_they_keep_whole(demo: Path) -> None:
    settings = Settings.load(db=demo, env={})
    thesis = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
    with Store(demo) as store:
        result = run_backtest(store, thesis, start=dt.date(2025, 6, 1), settings=settings)
    for width in WIDTHS:
        out = assert_whole(render_backtest(result, synthetic=True), width)
        assert f"{result.metrics['total_return']:+.2%}" in out
        runs = at_width(width, "runs", "list", db=demo)
        assert not CUT.search(runs), CUT.search(runs)
        total = f"{result.metrics['total_return']:+.2%}"
        assert re.search(rf"{result.run_id} +backtest .* {re.escape(total)} ", runs)


# -- real bars -----------------------------------------------------------------------------
TICKERS = ["601899.SH", "600362.SH", "603993.SH", "000630.SZ", "600111.SH", "002460.SZ"]
TICKERS += ["600547.SH", "000878.SZ"]


def test_real_screen_and_factor_tables_keep_numbers_whole(tmp_path: Path) -> None:
    day, settings = dt.date(2021, 12, 31), Settings()
    with real_store(
        tmp_path / "real.duckdb", TICKERS, dt.date(2020, 1, 2), day, index_end=day
    ) as store:
        result = run_screen(
            store, Screen(universe="all", score="ret_20d", top_n=8), on=day, settings=settings
        )
        screen = render_screen(screen_report(store, result, settings))
        frame = compute_factors(store, on=day, settings=settings)
    factors = frame_table(frame.with_columns(pl.selectors.date().cast(pl.String)))
    assert result.ranked.height == len(TICKERS)
    for width in WIDTHS:
        for ticker in TICKERS:
            assert ticker in assert_whole(screen, width) and ticker in assert_whole(factors, width)
