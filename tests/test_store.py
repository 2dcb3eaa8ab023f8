import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from screener import schema
from screener.errors import InputError, StoreError
from screener.store import MIGRATIONS, SCHEMA_VERSION, Store


def bars(n: int = 3, ticker: str = "600362.SH", close: float = 10.0) -> pl.DataFrame:
    dates = [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(n)]
    return pl.DataFrame(
        {
            "ticker": [ticker] * n,
            "date": dates,
            "open": [close] * n,
            "high": [close + 0.5] * n,
            "low": [close - 0.5] * n,
            "close": [close] * n,
            "prev_close": [close] * n,
            "volume": [1000] * n,
            "amount": [close * 1000] * n,
            "adj_factor": [1.0] * n,
            "suspended": [False] * n,
            "is_st": [False] * n,
        }
    )


def snapshot(store: Store) -> dict[str, list]:
    return {name: store.read_table(name).rows() for name in schema.TABLES}


def test_round_trip_preserves_values_and_types(store: Store) -> None:
    frame = bars()
    result = store.upsert("bars_daily", frame)
    assert (result.inserted, result.updated, result.unchanged) == (3, 0, 0)
    back = store.read_bars(["600362.SH"])
    assert back.schema == pl.Schema(schema.BARS_DAILY.columns)
    assert back.select(frame.columns).equals(frame)
    assert back["up_limit"].null_count() == 3  # optional columns arrive as null


def test_upsert_is_idempotent_and_counts_changes(store: Store) -> None:
    store.upsert("bars_daily", bars())
    again = store.upsert("bars_daily", bars())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert not again.changed
    changed = bars(4).with_columns(
        pl.when(pl.col("date") == dt.date(2024, 1, 3))
        .then(11.0)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    result = store.upsert("bars_daily", changed)
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 2)
    got = store.read_bars().filter(pl.col("date") == dt.date(2024, 1, 3))["close"].to_list()
    assert got == [11.0]
    assert store.read_bars().height == 4


def test_duplicate_key_in_one_frame_is_rejected_and_nothing_written(store: Store) -> None:
    store.upsert("bars_daily", bars(2))
    before = snapshot(store)
    dup = pl.concat([bars(2), bars(1, close=12.0)])
    with pytest.raises(InputError, match="duplicate key"):
        store.upsert("bars_daily", dup, source="x.csv")
    assert snapshot(store) == before


def test_transaction_rolls_back_every_write(store: Store) -> None:
    store.upsert("bars_daily", bars(2))
    before = snapshot(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert("bars_daily", bars(5, close=20.0))
        store.upsert(
            "index_daily",
            pl.DataFrame(
                {"index_code": ["801050.SI"], "date": [dt.date(2024, 1, 2)], "close": [1.0]}
            ),
        )
        raise RuntimeError("boom")
    assert snapshot(store) == before


def test_bad_types_are_an_input_error_not_a_traceback(store: Store) -> None:
    bad = bars(1).with_columns(pl.lit("abc").alias("close"))
    with pytest.raises(InputError, match="bars_daily"):
        store.upsert("bars_daily", bad, source="bad.csv")
    with pytest.raises(InputError, match="empty key"):
        store.upsert("bars_daily", bars(1).with_columns(pl.lit(None, pl.String).alias("ticker")))


def test_migrations_create_the_schema_tables_exactly(store: Store) -> None:
    for name, table in schema.TABLES.items():
        assert store.columns(name) == list(table.stored_columns), name
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)


def test_forward_migration_from_an_older_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.duckdb"
    with Store(path) as s:
        s.upsert("bars_daily", bars(2))
    extra = "ALTER TABLE runs ADD COLUMN note VARCHAR;"
    monkeypatch.setattr("screener.store.MIGRATIONS", [*MIGRATIONS, extra])
    monkeypatch.setattr("screener.store.SCHEMA_VERSION", len(MIGRATIONS) + 1)
    with Store(path) as s:
        assert s.schema_version() == len(MIGRATIONS) + 1
        assert "note" in s.columns("runs")
        assert s.read_bars().height == 2  # data survives the migration


def test_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_read_only_needs_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def test_info_reports_rows_and_date_ranges(store: Store) -> None:
    store.upsert("bars_daily", bars(3))
    store.set_meta("data_source", "demo")
    info = store.info()
    assert info["tables"]["bars_daily"] == {
        "rows": 3,
        "first_date": "2024-01-02",
        "last_date": "2024-01-04",
    }
    assert info["tables"]["index_daily"]["rows"] == 0
    assert info["meta"]["data_source"] == "demo"


def test_read_filters_by_ticker_and_dates(store: Store) -> None:
    store.upsert("bars_daily", pl.concat([bars(5), bars(5, ticker="000630.SZ", close=4.0)]))
    one = store.read_bars(["000630.SZ"], start=dt.date(2024, 1, 3), end=dt.date(2024, 1, 4))
    assert one["ticker"].unique().to_list() == ["000630.SZ"]
    assert one["date"].to_list() == [dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    assert store.read_bars().height == 10


def test_locked_store_gives_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "locked.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); "
            "print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError, match="in use by another process"):
            Store(path, lock_timeout=0.3)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("order", ["sorted", "unsorted"])
def test_duplicate_detection_on_sorted_and_unsorted_frames(store: Store, order: str) -> None:
    frame = pl.concat([bars(3), bars(3, ticker="000630.SZ"), bars(1, ticker="000630.SZ")])
    frame = frame.sort("ticker", "date") if order == "sorted" else frame.reverse()
    with pytest.raises(InputError, match=r"duplicate key \(ticker=000630.SZ, date=2024-01-02\)"):
        store.upsert("bars_daily", frame)
    assert store.upsert("bars_daily", frame.unique(["ticker", "date"])).inserted == 6


def test_reads_after_meta_lookups_do_not_leave_results_open(store: Store) -> None:
    store.upsert("bars_daily", bars(2))
    store.set_meta("data_source", "demo")
    assert store.get_meta("data_source") == "demo"
    assert store.read_bars().height == 2  # DuckDB 2 refuses a query while a result is unread
    assert store.get_meta("missing") is None
    assert store.info()["tables"]["bars_daily"]["rows"] == 2


def test_someone_elses_duckdb_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE trades (id INTEGER)")
    con.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="not a screener store \\(it has tables trades\\)"):
            Store(path, read_only=read_only)
    con = duckdb.connect(str(path))
    assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [
        ("trades",)
    ]
    con.close()


def test_sessions_follow_writes_and_a_read_only_store_keeps_its_answer(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as rw:
        rw.upsert("bars_daily", bars(2))
        assert rw.sessions() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
        rw.upsert("bars_daily", bars(3))  # a read-write store is asked afresh every time
        assert len(rw.sessions()) == 3
        rw.upsert("bars_daily", bars(1).with_columns(suspended=pl.lit(True)))
        assert rw.sessions()[0] == dt.date(2024, 1, 3)  # a day of only suspended bars is none
    with Store(path, read_only=True) as ro:
        first = ro.sessions()
        first.clear()  # callers get their own list
        assert ro.sessions() == [dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
        # why keeping the answer is safe: no writer gets in while it is open
        write = f"import duckdb; duckdb.connect({str(path)!r}).close()"
        done = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True)
        assert done.returncode != 0 and "lock" in done.stderr.lower()


def test_reads_come_back_in_key_order_whatever_the_write_order(store: Store) -> None:
    """Bars written newest first, tickers interleaved: read_bars still sorts by (ticker, date)."""
    frames = [bars(3, ticker=t).reverse() for t in ("600362.SH", "000630.SZ", "601899.SH")]
    for frame in frames:
        for row in range(frame.height):
            store.upsert("bars_daily", frame.slice(row, 1))
    got = store.read_bars()
    assert got.select("ticker", "date").rows() == sorted(got.select("ticker", "date").rows())
    assert got.height == 9
    assert store.read_bars(["601899.SH"]).get_column("date").is_sorted()
