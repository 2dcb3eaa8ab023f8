"""The command-line contract: exit codes, one-line errors, JSON-only stdout, fast --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCREENER = [sys.executable, "-m", "screener"]


def cli(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCREENER_DB": str(db)} if db else dict(os.environ)
    return subprocess.run([*SCREENER, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    done = cli("--db", str(db), "ingest", "demo", "--end", "2026-03-31")
    assert done.returncode == 0, done.stderr
    return db


def test_help_is_fast_and_lists_commands() -> None:
    start = time.perf_counter()
    done = cli("--help")
    assert done.returncode == 0
    assert "ingest" in done.stdout and "store" in done.stdout
    # a loose bound so an accidental heavy import (vectorbt ~3 s) is caught; figures in benchmarks
    assert time.perf_counter() - start < 2.5


def test_store_info_json_is_pure_json(demo_db: Path) -> None:
    done = cli("store", "info", "--format", "json", db=demo_db)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    bars = info["tables"]["bars_daily"]
    assert bars["rows"] > 100_000
    assert bars["first_date"] == "2015-01-05" and bars["last_date"] == "2026-03-31"
    assert info["meta"]["data_source"] == "demo"


def test_reingest_demo_changes_nothing(demo_db: Path) -> None:
    done = cli("ingest", "demo", "--end", "2026-03-31", db=demo_db)
    assert done.returncode == 0
    assert "bars_daily: 0 inserted, 0 updated" in done.stdout
    assert "(unchanged)" in done.stdout


def test_user_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    done = cli("store", "info", db=tmp_path / "missing.duckdb")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr and "does not exist" in done.stderr


def test_bad_date_and_usage_errors(tmp_path: Path) -> None:
    done = cli("ingest", "demo", "--end", "2026-13-01", db=tmp_path / "x.duckdb")
    assert done.returncode == 1 and "is not a date" in done.stderr
    usage = cli("store", "info", "--format", "yaml")
    assert usage.returncode == 2


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = cli("--debug", "store", "info", db=tmp_path / "missing.duckdb")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_ingest_csv_bad_file_exits_1_and_writes_nothing(demo_db: Path, tmp_path: Path) -> None:
    before = json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout)
    good = tmp_path / "600362.csv"
    good.write_text("date,open,high,low,close,volume\n2026-03-30,10,11,9,10.5,1000\n")
    bad = tmp_path / "000630.csv"
    bad.write_text("date,open,high,low,close,volume\n2026-03-30,10,9,11,10.5,1000\n")
    done = cli("ingest", "csv", str(good), str(bad), db=demo_db)
    assert done.returncode == 1
    assert "000630.csv:2" in done.stderr and "Traceback" not in done.stderr
    after = json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout)
    assert after == before
    dry = cli("ingest", "csv", str(good), "--dry-run", db=demo_db)
    assert dry.returncode == 0 and "would write bars_daily: 0 new, 1 updated" in dry.stdout
    assert json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout) == before
