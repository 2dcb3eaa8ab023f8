"""ensure_master: the instrument master into a store of one's own data, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.errors import StoreError
from screener.ingest.master import ensure_master
from screener.instruments import MASTER_CSV, load_master
from screener.store import Store


def test_loads_the_master_and_a_second_run_changes_nothing(store: Store) -> None:
    master = load_master()
    first = ensure_master(store)
    assert (first.inserted, first.updated, first.unchanged) == (master.height, 0, 0)
    assert store.read_instruments().equals(master.sort("ticker"))
    again = ensure_master(store)
    assert not again.changed and again.unchanged == master.height
    assert store.read_table("bars_daily").height == 0  # the master only, no bars


def test_an_edited_master_refreshes_its_rows_and_deletes_none(store: Store, tmp_path: Path) -> None:
    ensure_master(store)
    lines = MASTER_CSV.read_text(encoding="utf-8").splitlines()
    kept = [line.replace(",江西铜业,", ",江西铜业股份,") for line in lines[:-10]]  # 10 rows fewer
    csv = tmp_path / "instruments.csv"
    csv.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = ensure_master(store, path=csv)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, len(kept) - 2)
    names = dict(store.read_instruments().select("ticker", "name").iter_rows())
    assert names["600362.SH"] == "江西铜业股份" and len(names) == len(lines) - 1


def test_the_demo_store_is_refused(store: Store) -> None:
    store.set_meta("data_source", "demo")
    with pytest.raises(StoreError, match="synthetic demo") as err:
        ensure_master(store)
    assert "--db" in str(err.value) and store.read_instruments().height == 0
