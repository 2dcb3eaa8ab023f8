"""The importer on the real ganlei bars (../shared/realdata/stocks_daily.parquet, 506k rows).

Checks the adjustment factor against prev_close at every ex-rights date, the computed limit
prices against bars that closed at the limit, and that validation catches each known bad row
the README lists (and nothing else).
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest

from screener import rules
from screener.ingest import files
from screener.ingest import validate as v

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"


@pytest.fixture(scope="module")
def stocks() -> pl.DataFrame:
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data checks need ../shared/realdata")
    return pl.read_parquet(REALDATA / "stocks_daily.parquet")


@pytest.fixture(scope="module")
def imported(stocks: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """The whole file through read_vendor_file, minus the rows validation rejects."""
    bad = v.check_frame(stocks)
    clean = stocks.with_row_index("row", offset=1).filter(
        ~pl.col("row").is_in(bad["line"].implode())
    )
    path = tmp_path_factory.mktemp("real") / "stocks.parquet"
    clean.drop("row").write_parquet(path)
    inst = pl.read_csv(REALDATA / "instruments.csv", try_parse_dates=True)
    listed = dict(inst.drop_nulls("list_date").select("ticker", "list_date").iter_rows())
    got = files.read_vendor_file(path, list_dates=listed)
    return got.frame.join(clean.select("ticker", "date", "name"), on=["ticker", "date"])


def test_known_bad_rows_are_exactly_the_ones_caught(stocks: pl.DataFrame) -> None:
    problems = v.check_frame(stocks)
    rows = stocks.with_row_index("line", offset=1).join(problems, on="line")
    caught = {(r["ticker"], str(r["date"]), r["field"]) for r in rows.iter_rows(named=True)}
    weekends = [("000007.SZ", d) for d in ("1992-05-03", "1992-10-04", "1993-05-01", "1993-05-02")]
    weekends += [("000506.SZ", "1993-05-01"), ("000506.SZ", "1993-05-02")]
    expected = {(t, d, "date") for t, d in weekends} | {("000007.SZ", "1993-01-04", "open")}
    assert caught == expected
    # 1993-10-11 repeats 1993-10-08 in both tickers: a copy on another date is not an error
    copies = stocks.filter(pl.col("date") == dt.date(1993, 10, 11))
    assert {"000007.SZ", "000506.SZ"} <= set(copies["ticker"])
    assert not any(day == "1993-10-11" for _, day, _ in caught)


def test_validation_of_the_whole_file_is_fast(stocks: pl.DataFrame) -> None:
    v.check_frame(stocks.head(10))  # load the exchange calendar outside the timing
    start = time.perf_counter()
    v.check_frame(stocks)
    assert time.perf_counter() - start < 2.0


def test_adj_factor_makes_the_adjusted_close_continuous(imported: pl.DataFrame) -> None:
    f = imported.sort("ticker", "date").with_columns(
        (pl.col("close") * pl.col("adj_factor")).alias("adj_close")
    )
    prev = f.with_columns(
        pl.col("adj_close").shift(1).over("ticker").alias("adj_prev"),
        pl.col("close").shift(1).over("ticker").alias("close_prev"),
    ).drop_nulls("adj_prev")
    implied = pl.col("adj_prev") * pl.col("close") / pl.col("prev_close")
    err = prev.select(((implied - pl.col("adj_close")).abs() / pl.col("adj_close")).max()).item()
    assert err < 1e-9
    ex_dates = prev.filter(pl.col("prev_close") != pl.col("close_prev"))
    assert ex_dates.height > 1500  # the README counts 1,735 such rows, 1,510 of them ex-rights
    first = f.group_by("ticker").agg(pl.col("adj_factor").first())
    assert (first["adj_factor"] == 1.0).all()


def test_adj_factor_matches_a_slow_reference(imported: pl.DataFrame) -> None:
    one = imported.filter(pl.col("ticker") == "000630.SZ").sort("date")
    closes, prevs = one["close"].to_list(), one["prev_close"].to_list()
    factor, expected = 1.0, [1.0]
    for i in range(1, len(closes)):
        factor *= closes[i - 1] / prevs[i]
        expected.append(factor)
    assert one["adj_factor"].to_list() == pytest.approx(expected, rel=1e-12)


def half_up(price: float, pct: int) -> float:
    exact = Decimal(str(price)) * (100 + pct) / 100
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("st", "pct", "column", "least"),
    [
        (False, 10, "up_limit", 7000),
        (False, -10, "down_limit", 3500),
        (True, 5, "up_limit", 2500),
        (True, -5, "down_limit", 2000),
    ],
)
def test_bars_that_closed_at_the_limit_match_the_computed_limit(
    imported: pl.DataFrame, st: bool, pct: int, column: str, least: int
) -> None:
    """Main-board bars whose close is prev_close x (1 +- pct), naively rounded, are at the limit."""
    main = imported.filter(
        pl.col("ticker").str.slice(0, 3).is_in(["600", "601", "603", "000", "002"]),
        pl.col("name").str.contains("ST") == st,
    )
    at_limit = main.filter(pl.col("close") == (pl.col("prev_close") * (1 + pct / 100)).round(2))
    matches = at_limit.filter(pl.col(column) == pl.col("close"))
    others = at_limit.filter(pl.col(column).is_null() | (pl.col(column) != pl.col("close")))
    assert matches.height > least
    assert others.height < 0.005 * at_limit.height
    for r in others.iter_rows(named=True):
        explained = (
            r["date"] < rules.PRICE_LIMITS_FROM  # no limits at all before 1996-12-16
            or (r["name"] or "").startswith("N")  # listing day
            # float round(x, 2) lost a half fen (A2): the exact half-up limit is one fen away,
            # so this bar closed one fen short of the limit, and the importer says so
            or r[column] == half_up(r["prev_close"], pct) != r["close"]
        )
        assert explained, r


def test_limits_bound_the_day_range_after_the_reform_era(imported: pl.DataFrame) -> None:
    """No bar trades outside its limits, bar relistings and restructuring resumptions.

    Those resume without a limit (ashare_rules.md A1) and the file does not say which days
    they are; 1997-2006 adds bad prev_close values and the split-share reform (G) days.
    """
    priced = imported.filter(pl.col("up_limit").is_not_null())
    outside = priced.filter(
        (pl.col("high") > pl.col("up_limit") + 1e-9) | (pl.col("low") < pl.col("down_limit") - 1e-9)
    )
    assert outside.height < 0.0005 * priced.height  # 194 of ~480k
    late = outside.filter(pl.col("date") >= dt.date(2007, 1, 1))
    assert late.height <= 15


def test_commodity_calendar_issues_are_caught() -> None:
    """README: 61 SHFE rows on exchange holidays, 3 on Sunday 2008-07-20, weekend copies."""
    if not REALDATA.exists():
        pytest.skip(f"{REALDATA} is absent: real-data checks need ../shared/realdata")
    series = pl.read_parquet(REALDATA / "commodities_daily.parquet")
    problems = v.check_frame(series, kind="series").filter(pl.col("field") == "date")
    rows = series.with_row_index("line", offset=1).join(problems, on="line")
    shfe = rows.filter(pl.col("series_id").str.starts_with("SHFE."))
    assert shfe.height == 64
    assert shfe.filter(pl.col("date") == dt.date(2008, 7, 20)).height == 3
    lme = rows.filter(pl.col("series_id").str.starts_with("LME."))
    assert lme.height == 12 and set(lme["date"]) == {dt.date(2008, 11, 8)}
    assert rows.filter(pl.col("series_id") == "FX.USDCNY").height == 7


def test_raw_bars_of_any_window_read_as_raw_prices(stocks: pl.DataFrame) -> None:
    """A file of real raw bars without prev_close is never taken for adjusted prices, whatever
    its window: a crash (January 2016) puts the VWAP above the close for weeks."""
    from screener.ingest import evidence as vf

    for year in range(2000, 2021):
        for span in (1, 2):
            window = stocks.filter(
                pl.col("date").is_between(dt.date(year, 1, 1), dt.date(year + span - 1, 12, 31))
            )
            basis, why = vf.price_basis_evidence(window.drop("prev_close"), 1.0)
            assert basis == "raw", (year, span, why)
