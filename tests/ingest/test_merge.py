"""The column-wise merge: a value is replaced only by a value another import supplies.

Hand-made rows check each rule of ``merge.py``; a Hypothesis property then runs random
sequences of imports (random subsets of the columns and rows of a real file, some with changed
prices taken with ``prefer="new"``) through the real importer into a real DuckDB file, and checks
every stored value against the last import that supplied it, and every derived value against a
derivation from scratch over what is stored.
"""

from __future__ import annotations

import datetime as dt
import doctest
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.ingest import files, merge
from screener.ingest.derive import derive_bars
from screener.ingest.importer import ConflictError, Source, write_rows
from screener.ingest.merge import merge as merge_rows
from screener.ingest.merge import with_lineage
from screener.schema import BARS_DAILY, INDEX_DAILY
from screener.store import Store

D = dt.date.fromisoformat
REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


def index_rows(**cols: list[object]) -> pl.DataFrame:
    days = [D("2024-01-02"), D("2024-01-03"), D("2024-01-04")][: len(next(iter(cols.values())))]
    return pl.DataFrame({"index_code": "X", "date": days, **cols})


def test_the_module_example_runs() -> None:
    assert doctest.testmod(merge).failed == 0


def test_each_rule_of_the_merge() -> None:
    stored = with_lineage(
        index_rows(close=[10.0, 11.0], amount=[5.0, None]), INDEX_DAILY, import_id=1
    )
    incoming = with_lineage(
        index_rows(close=[10.0, 11.5, 12.0], volume=[7.0, 8.0, 9.0]), INDEX_DAILY
    )
    for prefer, close_2 in (("stored", 11.0), ("new", 11.5)):
        m = merge_rows(stored, incoming, INDEX_DAILY, prefer=prefer, import_id=2)  # type: ignore[arg-type]
        out = m.frame.sort("date")
        assert out["close"].to_list() == [10.0, close_2, 12.0]
        assert out["amount"].to_list() == [5.0, None, None]  # absent from the import: kept
        assert out["volume"].to_list() == [7.0, 8.0, 9.0]  # only the import gives it: taken
        assert m.status.to_list() == ["updated", "updated", "new"]  # volume filled on both
        assert out["import_id"].to_list() == [2, 2, 2]
        assert m.conflicts.select("date", "column", "stored", "new").rows() == [
            (D("2024-01-03"), "close", "11.0", "11.5")
        ]
        assert m.conflicts["stored_import_id"].to_list() == [1]
        assert m.conflicting_rows == 1


def test_equal_values_within_the_tolerance_are_unchanged() -> None:
    stored = with_lineage(
        index_rows(close=[273.9], volume=[1522257700.0]), INDEX_DAILY, import_id=1
    )
    float32 = with_lineage(
        index_rows(close=[273.8999938964844], volume=[1522257664.0]), INDEX_DAILY
    )
    m = merge_rows(stored, float32, INDEX_DAILY, prefer="refuse", import_id=2)
    assert m.conflicts.is_empty() and m.status.to_list() == ["unchanged"]
    assert m.frame["close"].to_list() == [273.9] and m.frame["import_id"].to_list() == [1]
    fen = with_lineage(index_rows(close=[273.91]), INDEX_DAILY)
    assert merge_rows(stored, fen, INDEX_DAILY, prefer="refuse", import_id=2).conflicts.height == 1


def test_a_given_value_replaces_a_derived_one_without_a_conflict() -> None:
    bars = pl.DataFrame(
        {
            "ticker": "600000.SH",
            "date": [D("2024-01-02"), D("2024-01-03")],
            "open": 10.0,
            "high": 10.0,
            "low": 10.0,
            "close": [10.0, 9.0],
            "volume": 100,
        }
    )
    stored = derive_bars(with_lineage(bars, BARS_DAILY, import_id=1))
    assert stored["prev_close"].to_list() == [None, 10.0]  # derived: the previous close
    richer = with_lineage(bars.with_columns(prev_close=pl.Series([9.5, 9.0])), BARS_DAILY)
    m = merge_rows(stored, richer, BARS_DAILY, prefer="refuse", import_id=2)
    assert m.conflicts.is_empty()
    after = derive_bars(m.frame)
    assert after["prev_close"].to_list() == [9.5, 9.0]
    assert after["adj_factor"].to_list() == pytest.approx([1.0, 10.0 / 9.0])


def test_write_rows_refuses_a_conflict_lists_it_and_writes_nothing(store: Store) -> None:
    source = Source("file", "a.csv", "index")
    write_rows(store, INDEX_DAILY, index_rows(close=[10.0, 11.0]), source)
    before = store.read_index()
    with pytest.raises(ConflictError) as err:
        write_rows(
            store, INDEX_DAILY, index_rows(close=[10.0, 11.5]), Source("file", "b.csv", "index")
        )
    assert "b.csv: 1 value(s) in 1 row(s) differ" in str(err.value)
    assert "X 2024-01-03 close: stored 11.0 (import 1) vs new 11.5" in str(err.value)
    listed = Path(str(err.value).split("all listed in ")[1].split(" (hint")[0])
    assert pl.read_csv(listed).height == 1
    assert store.read_index().equals(before) and store.read_table("imports").height == 1
    taken = write_rows(
        store,
        INDEX_DAILY,
        index_rows(close=[10.0, 11.5]),
        Source("file", "b.csv", "index"),
        prefer="new",
    )
    assert (taken.updated, taken.unchanged, taken.conflicting) == (1, 1, 1)
    imports = store.read_table("imports")
    assert imports.select("policy", "rows_conflicting").rows()[-1] == ("new", 1)


# -- the property on real bars ------------------------------------------------------------------
OPTIONAL = ("prev_close", "amount", "name")
PICKED = ("600362.SH", "000630.SZ", "002192.SZ")
REQUIRED = ("ticker", "date", "open", "high", "low", "close", "volume")
CHECKED = ("open", "high", "low", "close", "volume", "amount", "prev_close", "is_st")


@pytest.fixture(scope="module")
def real_bars() -> pl.DataFrame:
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data checks need ../shared/realdata")
    stocks = pl.scan_parquet(REALDATA / "stocks_daily.parquet")
    # three names with ex-rights days and an ST spell, 2016-2017: small enough to run often
    picked = list(PICKED)
    return (
        stocks.filter(
            pl.col("ticker").is_in(picked),
            pl.col("date").is_between(D("2016-01-01"), D("2017-12-31")),
        )
        .collect()
        .with_row_index("row")
    )


imports_strategy = st.lists(
    st.tuples(
        st.sets(st.sampled_from(OPTIONAL)),  # optional columns the file has
        st.integers(0, 2**32 - 1),  # which rows (a seed)
        st.floats(0.3, 1.0),  # the share of rows
        st.sampled_from([1.0, 1.0, 1.001]),  # 1.001: other prices (a conflict, prefer new)
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=imports_strategy)
def test_every_stored_value_is_the_last_one_supplied(
    plan: list[tuple[set[str], int, float, float]],
    real_bars: pl.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    expected: dict[tuple[int, str], object] = {}
    with Store(folder / "p.duckdb") as store:
        for i, (optional, seed, share, scale) in enumerate(plan):
            rows = real_bars.sample(fraction=share, seed=seed).sort("row")
            prices = [pl.col(c) * scale for c in ("open", "high", "low", "close")]
            if "prev_close" in optional:
                prices.append(pl.col("prev_close") * scale)
            rows = rows.with_columns(prices) if scale != 1.0 else rows
            cols = [*REQUIRED, *sorted(optional)]
            path = folder / f"import{i}.parquet"
            rows.select(cols).write_parquet(path)
            files.import_files(store, [path], prefer="new")
            for r in rows.iter_rows(named=True):
                for c in CHECKED:
                    if c == "is_st" and "name" in optional:
                        expected[(r["row"], c)] = "ST" in r["name"].upper()
                    elif c in cols:
                        expected[(r["row"], c)] = r[c]
        firsts = pl.DataFrame({"ticker": PICKED, "first": [D("1990-01-01")] * len(PICKED)})
        stored = store.read_window("bars_daily", firsts)
    keyed = stored.join(real_bars.select("ticker", "date", "row"), on=["ticker", "date"])
    by_row = {r["row"]: r for r in keyed.iter_rows(named=True)}
    for (row, col), value in expected.items():
        got = by_row[row][col]
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9), (row, col)
        else:
            assert got == value, (row, col)
    # derived values are those of a derivation from scratch over what is stored
    again = derive_bars(stored)
    assert again["adj_factor"].to_list() == pytest.approx(
        stored.sort("ticker", "date")["adj_factor"].to_list()
    )
    assert again["prev_close"].to_list() == pytest.approx(
        stored.sort("ticker", "date")["prev_close"].to_list(), nan_ok=True
    )
