"""SIGKILL in the middle of a write: the store opens afterwards, whole or untouched.

A process killed with SIGKILL runs no handler, so this is what a power cut or the OOM killer does.
DuckDB writes a transaction to its WAL at commit and replays complete WAL records on the next
open; a transaction cut short leaves nothing. The tests kill real commands at several points of
their write (`screener ingest demo`, the run record of `screener backtest`) and a process held
inside an open transaction, then check that the store opens, has the current schema version and
holds either none or all of the data: never half a table or a partial run row.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import REPO, SCREENER, fingerprint, run_cli

from screener.store import SCHEMA_VERSION, Store
from screener.thesis import record as runs

END = "2026-06-30"  # a fixed end date: the demo market has the same rows on every run
THESIS = REPO / "strategies" / "oversold_nonferrous_dip.toml"
DEMO_TABLES = (  # the market and its weekly notes: one transaction
    "instruments",
    "bars_daily",
    "index_daily",
    "series_daily",
    "broker_notes",
    "broker_picks",
)


def sizes(db: Path) -> tuple[int, int]:
    """Bytes of the store file and of its WAL (-1 while absent)."""
    wal = Path(f"{db}.wal")
    return (db.stat().st_size if db.exists() else -1, wal.stat().st_size if wal.exists() else -1)


def kill_when(args: list[str], ready: Callable[[], bool], delay: float) -> bool:
    """Start ``screener *args``, wait until ``ready()``, wait ``delay`` seconds, SIGKILL it.

    Returns whether it was still running (it may finish first when the machine is fast).
    """
    proc = subprocess.Popen(
        [*SCREENER, *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    start = time.monotonic()
    try:
        while not ready() and proc.poll() is None:
            assert time.monotonic() - start < 120, f"{args}: not ready after 120 s"
            time.sleep(0.002)
        time.sleep(delay)
        running = proc.poll() is None
        if running:
            os.kill(proc.pid, signal.SIGKILL)
        return running
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def assert_opens_with_schema(db: Path) -> Store:
    store = Store(db, read_only=True)
    assert store.schema_version() == SCHEMA_VERSION
    store.info()  # every table readable
    return store


# -- ingest demo ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo market ingested to the end: the complete state a killed ingest may reach."""
    db = tmp_path_factory.mktemp("complete") / "demo.duckdb"
    done = run_cli("--db", str(db), "ingest", "demo", "--end", END)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def complete(demo_db: Path) -> dict[str, tuple[int, int]]:
    with Store(demo_db, read_only=True) as store:
        return fingerprint(store)


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3])
def test_ingest_killed_mid_write_leaves_all_or_nothing(
    tmp_path: Path, complete: dict[str, tuple[int, int]], delay: float
) -> None:
    """Killed ``delay`` s after the store file starts growing past its empty schema."""
    db = tmp_path / "killed.duckdb"
    empty_size = 12288  # a new store with its tables and no rows

    def writing() -> bool:
        return sizes(db)[0] > empty_size or sizes(db)[1] > 100_000

    killed = kill_when(["--db", str(db), "ingest", "demo", "--end", END], writing, delay)
    with assert_opens_with_schema(db) as store:
        got = fingerprint(store)
    states = {"empty" if got[t][0] == 0 else "complete" if got[t] == complete[t] else "partial"
              for t in DEMO_TABLES}  # fmt: skip
    assert states in ({"empty"}, {"complete"}), (killed, got)
    if states == {"complete"}:  # the transaction committed before the kill
        assert got["meta"] == complete["meta"]


def test_ingest_killed_before_the_write_leaves_an_empty_store(tmp_path: Path) -> None:
    db = tmp_path / "early.duckdb"
    killed = kill_when(["--db", str(db), "ingest", "demo", "--end", END], db.exists, 0.05)
    assert killed
    if db.exists():  # killed between creating the file and the migration commit: still opens
        with Store(db) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert all(n == 0 for t, (n, _) in fingerprint(store).items() if t != "meta")


# -- a process held inside an open transaction ----------------------------------------------------
HOLD = """
import sys, time, datetime as dt
import polars as pl
from screener.store import Store
store = Store(sys.argv[1])
bars = pl.select(i=pl.int_range(0, 600_000)).select(
    ticker=(600000 + pl.col("i") % 1000).cast(pl.String) + ".SH",
    date=pl.lit(dt.date(1990, 1, 1)) + pl.duration(days=pl.col("i") // 1000),
    close=pl.lit(10.0),
)
with store.transaction():
    store.upsert("bars_daily", bars)
    store.upsert("runs", pl.DataFrame({"run_id": ["held"], "payload": [b"x" * 5_000_000]}))
    print("inside", flush=True)
    time.sleep(600)
"""


def test_kill_inside_an_open_transaction_changes_nothing(tmp_path: Path, demo_db: Path) -> None:
    db = tmp_path / "held.duckdb"
    db.write_bytes(demo_db.read_bytes())
    with Store(db, read_only=True) as store:
        before = fingerprint(store)
    before_sizes = sizes(db)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
        # the uncommitted rows are on disk already (DuckDB writes full row groups early)
        assert sizes(db)[0] > before_sizes[0]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    with assert_opens_with_schema(db) as store:
        assert fingerprint(store) == before


# -- backtest: the run record ---------------------------------------------------------------------
@pytest.mark.parametrize("when", ["computing", "recording"])
def test_backtest_killed_leaves_no_partial_run(
    tmp_path: Path, demo_db: Path, complete: dict[str, tuple[int, int]], when: str
) -> None:
    """Killed while computing (no row) or as the WAL of its run record appears (row or none)."""
    db = tmp_path / "bt.duckdb"
    db.write_bytes(demo_db.read_bytes())
    args = ["--db", str(db), "backtest", str(THESIS), "--start", "2026-01-05", "--format", "json"]
    if when == "computing":
        killed = kill_when(args, lambda: True, 2.5)
    else:
        killed = kill_when(args, lambda: sizes(db)[1] > 0, 0.0)
    with assert_opens_with_schema(db) as store:
        rows = runs.list_runs(store)
        assert rows.height <= 1
        if when == "computing" and killed:
            assert rows.height == 0
        for run_id in rows.get_column("run_id"):  # a stored run is whole: its frames unpack
            row, frames = runs.load_run(store, run_id)
            assert row["metrics"]["manifest"]["data_end"] == END
            assert frames["equity"].get_column("date").max() == dt.date.fromisoformat(END)
        got = fingerprint(store)
    assert all(got[t] == complete[t] for t in DEMO_TABLES)  # a backtest only adds its run
