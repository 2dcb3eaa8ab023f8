"""The README's "Your own data" path on the real files (../shared/realdata), command by command.

A store built from scratch with the CLI from the three real files (bad vendor rows quarantined)
runs a sector screen and the default dip thesis with a sector universe: the screen ranks real
names, the thesis finds every trigger episode of the real 801050.SI and trades.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from screener.config import Settings
from screener.schema import SECTOR_INDEX
from screener.store import Store
from screener.thesis import load_thesis
from screener.thesis.run import run_backtest
from tests.conftest import REPO, require_realdata
from tests.realdata import plain_episodes
from tests.test_cli import cli


@pytest.fixture(scope="module")
def own_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = require_realdata()
    folder = tmp_path_factory.mktemp("own")
    db = folder / "my.duckdb"
    steps = [
        ("store", "init"),
        ("ingest", "parquet", str(root / "stocks_daily.parquet"), "--quarantine",
         str(folder / "stocks.refused.csv")),
        ("ingest", "parquet", str(root / "indices_daily.parquet"), "--kind", "index"),
        ("ingest", "parquet", str(root / "commodities_daily.parquet"), "--kind", "series",
         "--quarantine", str(folder / "series.refused.csv")),
    ]  # fmt: skip
    for step in steps:
        done = cli(*step, db=db)
        assert done.returncode == 0, (step, done.stderr)
        assert "Traceback" not in done.stderr
    yield db


def test_the_store_knows_what_it_holds(own_db: Path) -> None:
    done = cli("store", "check", "--format", "json", db=own_db)
    assert done.returncode == 0, done.stderr
    check = json.loads(done.stdout)
    assert "bars_daily" in json.dumps(check) and "LME.AL.CASH" in json.dumps(check)
    imports = cli("store", "imports", "--format", "json", db=own_db)
    rows = json.loads(imports.stdout)
    assert [r["kind"] for r in rows] == ["bars", "index", "series"]
    assert rows[0]["quarantined"] > 0 and rows[2]["quarantined"] > 0


def test_a_sector_screen_on_a_real_date_ranks_real_names(own_db: Path) -> None:
    done = cli(
        "screen", "--universe", "sector", "--date", "2021-12-31", "--format", "json", db=own_db
    )
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)
    assert len(ranked) == 10
    assert all(r["ticker"][-3:] in (".SH", ".SZ") for r in ranked)


def test_the_dip_thesis_on_the_sector_finds_every_episode_and_trades(own_db: Path) -> None:
    dip = load_thesis(REPO / "strategies" / "oversold_nonferrous_dip.toml")
    thesis = dataclasses.replace(dip, select=dataclasses.replace(dip.select, universe="sector"))
    start, end = dt.date(2015, 1, 5), dt.date(2022, 1, 14)
    with Store(own_db, read_only=True) as store:
        result = run_backtest(
            store, thesis, start=start, end=end, settings=Settings(), record_run=False
        )
    index = (
        pl.read_parquet(require_realdata() / "indices_daily.parquet")
        .filter(pl.col("index_code") == SECTOR_INDEX, pl.col("date").is_between(start, end))
        .sort("date")
    )
    expected = plain_episodes(
        index["date"].to_list(), index["close"].to_list(), window=7, drop_pct=-15.0, cooldown=20
    )
    found = result.compiled.episodes["trigger_date"].to_list()
    assert found == expected and len(found) >= 3
    assert result.trades.height > 0
    traded = set(result.trades["ticker"].to_list())
    assert len(traded) >= 5
