"""A real store from scratch (../shared/realdata): every file imports, bad rows quarantined, and
re-importing poorer copies of the same prices loses nothing.

The rows each file must refuse are derived here from ``known_issues.csv`` (the dataset's own
list of flagged rows), not written down: weekend rows everywhere, XSHG-holiday rows of Chinese
venues, and rows whose open or close lies outside the day's range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from screener.errors import InputError
from screener.ingest.files import ImportReport, import_files
from screener.ingest.importer import ConflictError
from screener.instruments import load_master
from screener.store import Store

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
REFUSED_KINDS = {
    "stocks_daily": {"weekend_date", "open_outside_low_high"},
    "commodities_daily": {"weekend_date", "cn_exchange_holiday_row", "ohlc_inconsistent"},
}


@dataclass
class Built:
    store: Store
    folder: Path
    stocks: ImportReport
    index: ImportReport
    series: ImportReport


def known_bad(dataset: str) -> set[tuple[str, str]]:
    issues = pl.read_csv(REALDATA / "known_issues.csv")
    rows = issues.filter(
        pl.col("dataset") == dataset, pl.col("kind").is_in(sorted(REFUSED_KINDS[dataset]))
    )
    return set(rows.select("key", "date").iter_rows())


def refused(path: Path) -> set[tuple[str, str]]:
    table = pl.read_csv(path, schema_overrides={"code": pl.String, "date": pl.String})
    return set(table.select("code", "date").iter_rows())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data checks need ../shared/realdata")
    folder = tmp_path_factory.mktemp("realstore")
    with Store(folder / "real.duckdb") as store:
        store.upsert("instruments", load_master())
        stocks = import_files(
            store,
            [REALDATA / "stocks_daily.parquet"],
            quarantine=folder / "stocks.refused.csv",
        )
        index = import_files(store, [REALDATA / "indices_daily.parquet"], kind="index")
        series = import_files(
            store,
            [REALDATA / "commodities_daily.parquet"],
            kind="series",
            quarantine=folder / "series.refused.csv",
        )
        yield Built(store, folder, stocks, index, series)


def test_strict_import_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data checks need ../shared/realdata")
    with Store(tmp_path / "strict.duckdb") as store:
        with pytest.raises(InputError) as err:
            import_files(store, [REALDATA / "stocks_daily.parquet"])
        assert store.read_bars().height == 0 and store.read_table("imports").height == 0
    text = str(err.value)
    bad = known_bad("stocks_daily")
    assert f"(and {len(bad) - 1} more problem(s), {len(bad)} row(s) in all" in text
    assert "--quarantine" in text and "\n" not in text


def test_every_file_imports_and_exactly_the_known_bad_rows_are_quarantined(built: Built) -> None:
    stocks_rows = pl.scan_parquet(REALDATA / "stocks_daily.parquet").select(pl.len()).collect()
    bad = known_bad("stocks_daily")
    assert refused(built.folder / "stocks.refused.csv") == bad
    assert built.stocks.total.new == stocks_rows.item() - len(bad)
    assert built.stocks.total.quarantined == len(bad)
    assert built.index.total.quarantined == 0
    assert refused(built.folder / "series.refused.csv") == known_bad("commodities_daily")
    imports = built.store.read_table("imports").sort("import_id")
    assert imports.get_column("rows_quarantined").to_list() == [
        len(bad),
        0,
        built.series.total.quarantined,
    ]
    assert imports.get_column("kind").to_list() == ["bars", "index", "series"]
    # weekday rows of LME and COMEX on XSHG holidays are not refused
    lme = built.store.read_series(
        ["LME.CU.CASH"], start=dt.date(2020, 1, 24), end=dt.date(2020, 1, 31)
    )
    assert dt.date(2020, 1, 28) in lme.get_column("date").to_list()


def test_poorer_copies_of_the_same_prices_lose_nothing(built: Built) -> None:
    store = built.store
    before = store.read_bars()
    steps = before.filter(pl.col("adj_factor") != pl.col("adj_factor").shift(1).over("ticker"))
    assert steps.get_column("ticker").n_unique() >= 140  # tickers with any adjustment step
    poor = built.folder / "poor.csv"
    pl.read_parquet(REALDATA / "stocks_daily.parquet").drop("prev_close", "amount").join(
        before.select("ticker", "date"), on=["ticker", "date"], how="semi"
    ).write_csv(poor)
    report = import_files(store, [poor])
    assert (report.total.new, report.total.updated, report.total.conflicting) == (0, 0, 0)
    assert report.total.unchanged == before.height
    after = store.read_bars()
    assert after.equals(before)


def test_a_different_close_is_a_conflict_until_a_side_is_chosen(built: Built) -> None:
    store = built.store
    row = store.read_bars(["600362.SH"], start=dt.date(2020, 6, 1), end=dt.date(2020, 6, 1))
    changed = row.select("ticker", "date", "open", "high", "low", "volume").with_columns(
        close=row["close"] + 0.01, high=pl.max_horizontal(row["high"], row["close"] + 0.01)
    )
    path = built.folder / "one.parquet"
    changed.write_parquet(path)
    with pytest.raises(ConflictError) as err:
        import_files(store, [path])
    assert "600362.SH 2020-06-01 close: stored" in str(err.value)
    assert store.read_bars(
        ["600362.SH"], start=dt.date(2020, 6, 1), end=dt.date(2020, 6, 1)
    ).equals(row)
    taken = import_files(store, [path], prefer="new")
    assert (taken.total.updated, taken.total.conflicting) == (1, 1)
    now = store.read_bars(["600362.SH"], start=dt.date(2020, 6, 1), end=dt.date(2020, 6, 1))
    assert now["close"][0] == pytest.approx(row["close"][0] + 0.01)
    last = store.read_table("imports").sort("import_id").row(-1, named=True)
    assert (last["policy"], last["rows_conflicting"], last["rows_updated"]) == ("new", 1, 1)
