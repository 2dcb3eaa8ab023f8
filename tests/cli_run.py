"""Running the CLI as a user does: a subprocess, with the store and settings in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCREENER = [sys.executable, "-m", "screener"]
SAMPLE_NOTES = Path(__file__).resolve().parents[1] / "data" / "broker_notes"


def cli(
    *args: str, db: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {}), **({"SCREENER_DB": str(db)} if db else {})}
    return subprocess.run([*SCREENER, *args], capture_output=True, text=True, env=full, timeout=300)


def demo_store(folder: Path) -> Path:
    """``ingest demo`` to a fixed end (2026-03-31) into ``folder/demo.duckdb``."""
    db = folder / "demo.duckdb"
    done = cli("--db", str(db), "ingest", "demo", "--end", "2026-03-31")
    assert done.returncode == 0, done.stderr
    return db


def with_sample_note(db: Path) -> Path:
    """``db`` with the sample broker note(s) of data/broker_notes imported."""
    done = cli("picks", "import", *map(str, sorted(SAMPLE_NOTES.glob("*.txt"))), db=db)
    assert done.returncode == 0, done.stderr
    return db
