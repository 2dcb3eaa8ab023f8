"""The instrument master in a store of one's own data: the step before any import.

The master (``data/instruments.csv``, read by ``instruments.load_master``) holds names, boards,
Shenwan membership and metal tags. Without it a screen's universe is empty and no stock has a
metal series, so ``screener store init`` writes it, and the file importers call
``ensure_master`` first on a store that has none. The demo store is refused: its master is the
demo's own (with a made-up delisting) and the demo rewrites it.
"""

from __future__ import annotations

from pathlib import Path

from screener.errors import StoreError
from screener.instruments import MASTER_CSV, load_master
from screener.schema import INSTRUMENTS
from screener.store import Store, UpsertResult


def ensure_master(store: Store, *, path: Path | None = None) -> UpsertResult:
    """Upsert the master (default ``data/instruments.csv``) into ``store``, one transaction.

    New tickers are inserted and changed rows refreshed; nothing is deleted, so a second run
    reports every row unchanged.
    """
    if store.get_meta("data_source") == "demo":
        raise StoreError(
            f"store {store.path} is the synthetic demo: its instrument master came with it",
            hint="give your own data its own store with --db PATH",
        )
    path = path or MASTER_CSV
    return store.upsert(INSTRUMENTS.name, load_master(path), source=str(path))
