"""Two processes on one store: wait, or a clear StoreError; readers share; nothing corrupts.

DuckDB lets one process hold a store read-write (an exclusive file lock for as long as it is
open) or any number hold it read-only. ``Store`` retries a locked open every 0.1 s up to
``lock_timeout`` (10 s by default), then raises StoreError "in use by another process". The
tests hold a store in a writer process and open it from others.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import REPO, SCREENER, fingerprint, run_cli

from screener import cli
from screener.errors import StoreError
from screener.store import SCHEMA_VERSION, Store

# Holds the store read-write: writes rows inside a transaction, says so, waits, commits, exits.
WRITER = """
import sys, time, datetime as dt
import polars as pl
from screener.store import Store
db, rows, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with Store(db) as store:
    bars = pl.select(i=pl.int_range(0, rows)).select(
        ticker=(600000 + pl.col("i") % 100).cast(pl.String) + ".SH",
        date=pl.lit(dt.date(2020, 1, 1)) + pl.duration(days=pl.col("i") // 100),
        close=pl.lit(10.0),
    )
    with store.transaction():
        store.upsert("bars_daily", bars)
        print("inside", flush=True)
        time.sleep(hold)
    print("committed", flush=True)
"""
CSV = "date,open,high,low,close,volume\n2024-06-03,10,10.5,9.9,10.2,1000\n"


@contextmanager
def writer(db: Path, rows: int, hold: float) -> Iterator[subprocess.Popen[str]]:
    """A process inside a write transaction on ``db`` for ``hold`` seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(rows), str(hold)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
        yield proc
    finally:
        if proc.poll() is None and hold > 60:
            proc.kill()
        proc.wait(timeout=120)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shared.duckdb"
    Store(path).close()  # an empty store with its schema
    return path


def bars_rows(db: Path) -> int:
    with Store(db, read_only=True) as store:
        return fingerprint(store)["bars_daily"][0]


def test_an_open_waits_for_the_writer_then_succeeds(db: Path) -> None:
    with writer(db, rows=50_000, hold=2.0) as proc:
        start = time.monotonic()
        with Store(db, read_only=True, lock_timeout=30) as store:
            waited = time.monotonic() - start
            assert fingerprint(store)["bars_daily"][0] == 50_000  # the committed write
        assert proc.stdout is not None and proc.stdout.readline().strip() == "committed"
    assert 1.5 < waited < 25


def test_a_cli_command_waits_for_the_writer_then_succeeds(db: Path) -> None:
    with writer(db, rows=50_000, hold=3.0) as proc:
        reader = subprocess.Popen(
            [*SCREENER, "--db", str(db), "store", "info", "--format", "json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "committed"
        assert reader.poll() is None  # still waiting when the writer let go
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert json.loads(out)["tables"]["bars_daily"]["rows"] == 50_000


@pytest.mark.parametrize("read_only", [False, True])
def test_past_the_lock_timeout_a_clear_store_error(db: Path, read_only: bool) -> None:
    with writer(db, rows=1000, hold=600):
        start = time.monotonic()
        with pytest.raises(StoreError, match=r"in use by another process \(waited 0.5 s\)") as err:
            Store(db, read_only=read_only, lock_timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 5
        assert "hint: wait for the other screener command" in str(err.value)
    # the writer was killed inside its transaction: the store is as it was, and opens
    with Store(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert fingerprint(store)["bars_daily"] == (0, 0)


def test_cli_past_the_lock_timeout_is_one_line_exit_1(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process with a 0.3 s timeout (a real command waits the default 10 s)."""
    csv = db.parent / "600362.csv"
    csv.write_text(CSV)
    monkeypatch.setattr(cli.data, "open_store", lambda read_only=False: Store(db, lock_timeout=0.3))
    with writer(db, rows=1000, hold=600):
        code = cli.run(lambda: cli.app(["--db", str(db), "ingest", "csv", str(csv)]))
    err = capsys.readouterr().err
    cli.STATE.db = None
    assert code == 1
    assert err.startswith("error: store ") and err.count("\n") == 1
    assert "in use by another process (waited 0.3 s) (hint: wait for the other" in err
    assert bars_rows(db) == 0  # neither the killed writer nor the refused import wrote


def test_two_readers_at_once(db: Path) -> None:
    with writer(db, rows=2000, hold=0.0):
        pass  # some rows to read
    with Store(db, read_only=True, lock_timeout=0.0) as first:
        start = time.monotonic()
        done = run_cli("--db", str(db), "store", "info", "--format", "json")
        assert done.returncode == 0, done.stderr
        with Store(db, read_only=True, lock_timeout=0.0) as second:  # same process, same lock
            assert fingerprint(second) == fingerprint(first)
        assert json.loads(done.stdout)["tables"]["bars_daily"]["rows"] == 2000
        assert time.monotonic() - start < 8  # no lock wait: startup only


def test_a_reader_holds_writers_off_until_it_closes(db: Path) -> None:
    csv = db.parent / "600362.csv"
    csv.write_text(CSV)
    reader = Store(db, read_only=True)
    proc = subprocess.Popen(
        [*SCREENER, "--db", str(db), "ingest", "csv", str(csv)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)  # the importer is up and retrying the lock
    assert proc.poll() is None, proc.communicate()
    reader.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert bars_rows(db) == 1


def test_two_importers_at_once_both_land(db: Path) -> None:
    files = []
    for code, day in (("600362", "2024-06-03"), ("000630", "2024-06-04")):
        path = db.parent / f"{code}.csv"
        path.write_text(CSV.replace("2024-06-03", day))
        files.append(path)
    procs = [
        subprocess.Popen(
            [*SCREENER, "--db", str(db), "ingest", "csv", str(f)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    with Store(db, read_only=True) as store:
        assert store.read_bars().select("ticker", "date").rows() == [
            ("000630.SZ", dt.date(2024, 6, 4)),
            ("600362.SH", dt.date(2024, 6, 3)),
        ]
