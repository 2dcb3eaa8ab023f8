"""Vendor-file import: every real vendor sample, every validation error, the batch transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from screener import schema
from screener.errors import InputError
from screener.ingest import files
from screener.ingest.importer import ConflictError
from screener.store import Store

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SAMPLES = SHARED / "realdata" / "vendor_samples"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"


def samples() -> Path:
    if not SAMPLES.exists():
        pytest.skip(f"{SAMPLES} is absent: the vendor samples live in ../shared/realdata")
    return SAMPLES


# -- the real vendor samples --------------------------------------------------------------------
GANLEI_600362 = "ganlei333_stockdata/sh600362.csv"
GANLEI_000630 = "ganlei333_stockdata/sz000630.csv"
SUIWENFENG = "suiwenfeng_stock/600362.csv"
CONFIDENT = "confident-always_stockIdea/data/000630.csv"
TSZLAM_601899 = "tszlam_trading/data/601899.csv"
TSZLAM_300618 = "tszlam_trading/data_at_8dd5478/300618.csv"


@pytest.mark.parametrize(
    ("sample", "layout", "ticker", "unit", "rows", "source"),
    [
        (GANLEI_600362, "xbx", "600362.SH", "shares", 4779, "column 股票代码 (sh600362"),
        (GANLEI_000630, "xbx", "000630.SZ", "shares", 5868, "column 股票代码 (sz000630"),
        (SUIWENFENG, "cn-ohlc", "600362.SH", "shares", 1013, "file name 600362.csv"),
        (CONFIDENT, "english", "000630.SZ", "shares", 6760, "file name 000630.csv"),
        (TSZLAM_601899, "akshare", "601899.SH", "lots", 842, "file name 601899.csv"),
        (TSZLAM_300618, "akshare", "300618.SZ", "lots", 818, "file name 300618.csv"),
    ],
)
def test_vendor_sample_is_detected(
    sample: str, layout: str, ticker: str, unit: str, rows: int, source: str
) -> None:
    got = files.read_vendor_file(samples() / sample, allow_adjusted=True)
    d = got.detected
    assert d["format"].split(":")[0] == layout
    assert got.frame.get_column("ticker").unique().to_list() == [ticker]
    assert d["volume_unit"].startswith(unit)
    assert d["ticker_source"].startswith(source)
    assert got.frame.height == rows == int(d["rows"])
    assert got.frame.schema == pl.Schema(schema.BARS_DAILY.stored_columns)


def test_ganlei_banner_dates_and_prev_close_adjustment() -> None:
    got = files.read_vendor_file(samples() / GANLEI_600362)
    d = got.detected
    assert d["banner"].startswith("skipped 1 line") and d["header_line"] == "2"
    assert d["price_basis"] == "raw" and d["prev_close"] == "from the file"
    assert d["date_format"] == "YYYY-MM-DD" and d["is_st"].startswith("from the name")
    assert "this file has 21 ex-rights step(s) and 0 prev_close above" in d["adj_factor"]
    assert got.frame.get_column("adj_factor")[0] == 1.0
    assert got.frame.get_column("adj_factor").is_sorted()  # only dividends here: steps > 1


def test_suiwenfeng_yyyymmdd_dates_and_no_prev_close() -> None:
    got = files.read_vendor_file(samples() / SUIWENFENG)
    d = got.detected
    assert d["date_format"] == "YYYYMMDD" and d["price_basis"] == "raw"
    assert d["price_basis_evidence"].startswith("detected:")
    assert d["adj_factor"] == "1.0: no prev_close column: no corporate-action adjustment"
    assert got.frame.get_column("date")[0] == dt.date(2021, 3, 18)
    assert got.frame.get_column("adj_factor").unique().to_list() == [1.0]
    assert got.frame.get_column("prev_close")[1] == got.frame.get_column("close")[0]


@pytest.mark.parametrize("sample", [TSZLAM_601899, TSZLAM_300618])
def test_tszlam_samples_are_forward_adjusted_and_rejected(sample: str) -> None:
    with pytest.raises(InputError) as err:
        files.read_vendor_file(samples() / sample)
    assert "forward-adjusted" in str(err.value) and "not point-in-time" in str(err.value)
    assert err.value.field == "close" and sample.split("/")[-1] in str(err.value)
    kept = files.read_vendor_file(samples() / sample, allow_adjusted=True)
    assert kept.detected["price_basis"] == "forward-adjusted"
    assert "old prices are scaled down" in kept.detected["price_basis_evidence"]
    assert kept.frame.get_column("adj_factor").unique().to_list() == [1.0]
    assert kept.frame.get_column("up_limit").null_count() == kept.frame.height


def test_explicit_format_states_the_basis() -> None:
    got = files.read_vendor_file(samples() / TSZLAM_300618, fmt="akshare-qfq", allow_adjusted=True)
    assert got.detected["price_basis_evidence"] == "stated by --format akshare-qfq"


@pytest.mark.parametrize(
    ("ticker", "sample"),
    [
        ("600362.SH", GANLEI_600362),
        ("600362.SH", SUIWENFENG),
        ("000630.SZ", GANLEI_000630),
        ("000630.SZ", CONFIDENT),
    ],
)
def test_samples_agree_with_stocks_daily(ticker: str, sample: str) -> None:
    ref = pl.read_parquet(samples().parent / "stocks_daily.parquet").filter(
        pl.col("ticker") == ticker
    )
    got = files.read_vendor_file(samples() / sample).frame
    both = got.join(ref, on=["ticker", "date"], suffix="_ref")
    assert both.height >= 200
    for col in ("open", "high", "low", "close"):
        assert (both[col] == both[f"{col}_ref"]).all(), col
    # volume in shares; confident-always stores floats that went through float32 (1522257664)
    rel = (both["volume"] / both["volume_ref"] - 1).abs().max()
    assert isinstance(rel, float) and rel < 1e-7


# -- small fixtures I wrote ---------------------------------------------------------------------
def test_gbk_file_with_banner_name_st_and_limits() -> None:
    got = files.read_vendor_file(FIXTURES / "sz000001_gbk.csv")
    d, f = got.detected, got.frame
    assert d["encoding"] == "gbk" and d["banner"] == "skipped 1 line(s): 示例数据，仅供测试"
    assert f["ticker"].unique().to_list() == ["000001.SZ"]
    assert f["is_st"].to_list() == [False, False, False, True, True]
    assert f["suspended"].to_list() == [False, False, False, False, True]
    # 11.10 x 0.95 = 10.545 rounds half-up to 10.55 (float round gives 10.54); ST is 5 %
    assert f["up_limit"].to_list() == [11.0, 11.22, 12.12, 11.66, 12.24]
    assert f["down_limit"].to_list() == [9.0, 9.18, 9.92, 10.55, 11.08]
    step = 11.22 / 11.02  # ex-dividend on 2024-06-05: prev_close 11.02 below the close 11.22
    assert f["adj_factor"].to_list() == pytest.approx([1.0, 1.0, step, step, step], rel=1e-12)


def test_tushare_layout_scales_lots_and_thousands_and_sorts() -> None:
    got = files.read_vendor_file(FIXTURES / "tushare_daily.csv")
    f = got.frame
    assert f["date"].is_sorted() and f["date"][0] == dt.date(2024, 6, 3)
    assert f["volume"].to_list() == [1_500_000, 2_000_000, 1_234_567]
    assert f["amount"].to_list() == pytest.approx([11_985_000, 16_200_000, 10_061_720])
    assert f["prev_close"].to_list() == [7.9, 8.0, 8.1]


def test_akshare_raw_is_detected_and_adjusted_variants_are_told_apart(tmp_path: Path) -> None:
    path = FIXTURES / "000001_akshare_raw.csv"
    raw = files.read_vendor_file(path)
    assert raw.detected["price_basis"] == "raw"
    assert raw.detected["volume_unit"].startswith("lots")
    text = pl.read_csv(path, infer_schema=False)
    prices = ["开盘", "收盘", "最高", "最低"]
    old = pl.int_range(pl.len()) < 30
    for name, scale, basis in (("qfq", 0.95, "forward"), ("hfq", 1.05, "back")):
        where = old if name == "qfq" else ~old
        scaled = text.with_columns(
            pl.when(where)
            .then((pl.col(c).cast(pl.Float64) * scale).round(2))
            .otherwise(pl.col(c).cast(pl.Float64))
            .alias(c)
            for c in prices
        )
        out = tmp_path / f"000001_{name}.csv"
        scaled.write_csv(out)
        got = files.read_vendor_file(out, allow_adjusted=True)
        assert got.detected["price_basis"] == f"{basis}-adjusted", got.detected


# -- validation errors --------------------------------------------------------------------------
HEADER = "date,open,high,low,close,volume,amount"
GOOD = [
    "2024-06-03,10.00,10.50,9.80,10.20,1000000,10200000",
    "2024-06-04,10.20,10.60,10.10,10.40,1100000,11440000",
    "2024-06-05,10.40,10.45,10.00,10.10,900000,9090000",
    "2024-06-06,10.10,10.30,10.00,10.25,950000,9737500",
]


def write(
    tmp_path: Path, rows: list[str], *, name: str = "600000.csv", header: str = HEADER
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def replaced(row: int, text: str) -> list[str]:
    return [text if i == row else r for i, r in enumerate(GOOD)]


@pytest.mark.parametrize(
    ("rows", "line", "field", "words"),
    [
        (
            replaced(1, "2024-06-04,10.20,10.00,10.60,10.40,1100000,11440000"),
            3,
            "high",
            "below low",
        ),
        (replaced(1, "2024-06-04,10.20,10.60,10.10,10.70,1100000,11440000"), 3, "close", "outside"),
        (replaced(2, "2024-06-05,9.90,10.45,10.00,10.10,900000,9090000"), 4, "open", "outside"),
        (replaced(2, "2024-06-05,10.40,10.45,10.00,-1,900000,9090000"), 4, "close", "positive"),
        (replaced(3, "2024-06-06,10.10,10.30,10.00,nan,950000,9737500"), 5, "close", "finite"),
        (replaced(3, "2024-06-06,10.10,inf,10.00,10.25,950000,9737500"), 5, "high", "finite"),
        (replaced(1, "2024-06-04,10.20,10.60,10.10,10.40,1100000,12x"), 3, "amount", "'12x'"),
        (replaced(1, "2024-06-04,10.20,10.60,10.10,10.40,-5,11440000"), 3, "volume", "negative"),
        (replaced(1, "2024-06-04,10.20,10.60,10.10,,1100000,11440000"), 3, "close", "empty"),
        ([*GOOD, "2024-06-04,10.20,10.60,10.10,10.45,1100000,11440000"], 6, "date", "duplicate"),
        ([*GOOD, "2024-06-08,10.20,10.60,10.10,10.45,1100000,11440000"], 6, "date", "Saturday"),
        (replaced(0, "2024-06-10,10.00,10.50,9.80,10.20,1000000,10200000"), 2, "date", "holiday"),
        (replaced(2, "20240605,10.40,10.45,10.00,10.10,900000,9090000"), 4, "date", "20240605"),
        (replaced(0, "June 3,10.00,10.50,9.80,10.20,1000000,10200000"), 2, "date", "June 3"),
    ],
)
def test_first_error_names_file_line_and_field(
    tmp_path: Path, rows: list[str], line: int, field: str, words: str
) -> None:
    path = write(tmp_path, rows)
    with pytest.raises(InputError) as err:
        files.read_vendor_file(path)
    msg = str(err.value)
    assert f"{path}:{line}: field '{field}'" in msg, msg
    assert words in msg
    assert (err.value.line, err.value.field) == (line, field)


def test_banner_lines_count_in_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "600000.csv"
    bad = replaced(1, "2024-06-04,10.20,10.00,10.60,10.40,1100000,11440000")
    path.write_text("\n".join(["exported by a test", HEADER, *bad]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        files.read_vendor_file(path)
    assert err.value.line == 4 and err.value.field == "high"


def test_unknown_ticker_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, name="600001.csv")
    with pytest.raises(InputError) as err:
        files.read_vendor_file(path, known_tickers={"600000.SH"})
    assert f"{path}:2: field 'ticker'" in str(err.value) and "600001.SH" in str(err.value)


def test_identical_duplicates_are_dropped_and_counted(tmp_path: Path) -> None:
    got = files.read_vendor_file(write(tmp_path, [*GOOD, GOOD[1], GOOD[2]]))
    assert got.frame.height == 4 and got.detected["duplicates_dropped"] == "2"


def test_weekdays_past_the_calendar_end_are_allowed(tmp_path: Path) -> None:
    rows = ["2027-01-04,10.00,10.50,9.80,10.20,1000000,10200000"]
    assert files.read_vendor_file(write(tmp_path, rows)).frame.height == 1
    with pytest.raises(InputError, match="Saturday"):
        files.read_vendor_file(write(tmp_path, ["2027-01-02" + rows[0][10:]]))


def test_missing_column_empty_file_and_bad_encoding(tmp_path: Path) -> None:
    no_volume = write(
        tmp_path, [r.rsplit(",", 2)[0] for r in GOOD], header="date,open,high,low,close"
    )
    with pytest.raises(InputError) as err:
        files.read_vendor_file(no_volume)
    assert f"{no_volume}:1: field 'volume'" in str(err.value) and "成交量" in str(err.value)
    empty = tmp_path / "600000.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        files.read_vendor_file(empty)
    with pytest.raises(InputError, match="no data rows"):
        files.read_vendor_file(write(tmp_path, []))
    latin1 = tmp_path / "600002.csv"
    latin1.write_bytes((HEADER + "\n2024-06-03,caf\xe9,1,1,1,1,1\n").encode("latin-1"))
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        files.read_vendor_file(latin1)


def test_ticker_from_override_and_unreadable_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, name="copper.csv")
    with pytest.raises(InputError, match="pass --ticker"):
        files.read_vendor_file(path)
    got = files.read_vendor_file(path, ticker="sz000630")
    assert got.frame["ticker"].unique().to_list() == ["000630.SZ"]
    assert got.detected["ticker_source"] == "override 'sz000630' -> 000630.SZ"


@pytest.mark.parametrize(
    ("raw", "ticker"),
    [
        ("sh600362", "600362.SH"),
        ("600362.SH", "600362.SH"),
        ("000630", "000630.SZ"),
        ("300618", "300618.SZ"),
        ("830799", "830799.BJ"),
        ("920001", "920001.BJ"),
        ("430047", "430047.BJ"),
        ("688981", "688981.SH"),
        ("630", "000630.SZ"),  # a spreadsheet dropped the leading zeros
    ],
)
def test_code_forms(raw: str, ticker: str) -> None:
    from screener.ingest.vendor_formats import stock_ticker

    assert stock_ticker(raw) == ticker


# -- the batch import ---------------------------------------------------------------------------
def snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {name: store.read_table(name).rows() for name in schema.TABLES}


def test_import_counts_reimport_is_a_no_op_and_dry_run_writes_nothing(store: Store) -> None:
    paths = [samples() / GANLEI_600362, samples() / GANLEI_000630]
    dry = files.import_files(store, paths, dry_run=True)
    assert dry.dry_run and dry.total.new == 4779 + 5868
    assert store.read_bars().height == 0 and store.read_table("imports").height == 0
    first = files.import_files(store, paths)
    assert [f.result.new for f in first.files] == [4779, 5868]
    assert store.read_bars().height == 4779 + 5868
    again = files.import_files(store, paths)
    assert (again.total.new, again.total.updated, again.total.unchanged) == (0, 0, 10647)
    assert files.describe(again)[2] == "wrote bars_daily: 0 new, 0 updated, 10647 unchanged"
    imports = store.read_table("imports")
    assert imports.get_column("import_id").to_list() == [1, 2, 3, 4]
    assert imports.get_column("rows_unchanged").to_list() == [0, 0, 4779, 5868]
    assert imports.get_column("content_hash").n_unique() == 2


def test_a_bad_file_in_the_batch_writes_nothing(store: Store, tmp_path: Path) -> None:
    tickers = ["600000.SH", "600362.SH"]  # a master of one's own: 600000.SH is not a metal name
    store.upsert("instruments", pl.DataFrame({"ticker": tickers, "name": ["浦发银行", "江西铜业"]}))
    files.import_files(store, [FIXTURES / "tushare_daily.csv"])
    before = snapshot(store)
    bad = write(tmp_path, replaced(3, "2024-06-06,10.10,10.30,10.00,10.35,950000,9737500"))
    with pytest.raises(InputError, match=r"600000\.csv:5: field 'close'"):
        files.import_files(store, [samples() / GANLEI_600362, bad])
    assert snapshot(store) == before


def test_overlapping_files_in_one_batch_merge_and_a_disagreement_is_a_conflict(
    store: Store, tmp_path: Path
) -> None:
    batch = [samples() / GANLEI_600362, samples() / SUIWENFENG]
    report = files.import_files(store, batch)
    assert [f.result.new for f in report.files] == [4779, 809]
    assert report.files[1].result.unchanged == 204  # the overlap agrees on every given value
    lines = (samples() / SUIWENFENG).read_text().splitlines()
    changed = lines[1].split(",")
    changed[4] = f"{float(changed[4]) + 0.05:.2f}"  # 收盘价 of the first row
    other = tmp_path / "600362.csv"
    other.write_text("\n".join([lines[0], ",".join(changed), *lines[2:]]) + "\n")
    before = snapshot(store)
    with pytest.raises(ConflictError) as err:
        files.import_files(store, [other])
    assert "1 value(s) in 1 row(s) differ" in str(err.value) and "--prefer new" in str(err.value)
    assert snapshot(store) == before


def test_a_poorer_file_never_resets_what_a_richer_one_stored(store: Store) -> None:
    files.import_files(store, [samples() / GANLEI_600362])
    rich = store.read_bars(["600362.SH"])
    report = files.import_files(store, [samples() / SUIWENFENG])  # no prev_close column
    assert (report.total.updated, report.total.new, report.total.unchanged) == (0, 809, 204)
    bars = store.read_bars(["600362.SH"])
    kept = bars.join(rich, on=["ticker", "date"], suffix="_rich")
    for col in ("prev_close", "adj_factor", "amount", "up_limit", "is_st"):
        assert kept[col].eq_missing(kept[f"{col}_rich"]).all(), col
    seam = bars.filter(pl.col("date").is_between(dt.date(2022, 1, 14), dt.date(2022, 1, 17)))
    assert seam["adj_factor"][0] == seam["adj_factor"][1] > 1.0  # continued past the rich file
    again = files.import_files(store, [samples() / SUIWENFENG])
    assert again.total.updated == 0 and again.total.unchanged == 1013


def test_a_store_without_a_master_gets_it_first_and_says_so(store: Store) -> None:
    report = files.import_files(store, [samples() / GANLEI_600362])
    assert store.read_instruments().height > 100
    assert any("had no instrument master" in n for n in report.notes)
    with pytest.raises(
        InputError, match=r"unknown ticker 600000\.SH: not in the instrument master"
    ):
        files.import_files(store, [FIXTURES / "tushare_daily.csv"])


def test_unknown_tickers_are_checked_against_the_instruments(store: Store) -> None:
    store.upsert("instruments", pl.DataFrame({"ticker": ["600362.SH"], "name": ["江西铜业"]}))
    with pytest.raises(InputError, match=r"unknown ticker 000630\.SZ"):
        files.import_files(store, [samples() / GANLEI_000630])
    report = files.import_files(store, [samples() / GANLEI_600362])
    assert report.total.new == 4779 and not report.notes


def test_index_and_series_kinds_read_the_akshare_layouts() -> None:
    akshare = FIXTURES.parent / "akshare"
    index = files.read_vendor_file(akshare / "index_hist_sw_801050.csv", kind="index")
    assert index.detected["format"].startswith("sw-index")
    assert index.frame["index_code"].unique().to_list() == ["801050.SI"]
    assert index.frame["volume"][0] == pytest.approx(5_796_610_000)  # 万股 -> shares
    assert index.frame["amount"][0] == pytest.approx(61_466_000_000)  # 亿元 -> CNY
    series = files.read_vendor_file(
        akshare / "futures_zh_daily_sina_CU0.csv", kind="series", ticker="SHFE.CU"
    )
    assert series.frame.schema == pl.Schema(schema.SERIES_DAILY.stored_columns)
    assert series.frame["unit"].unique().to_list() == ["CNY/t"]
    assert series.frame["settle"].to_list() == [80250.0, 80120.0, None]


@pytest.mark.parametrize(
    ("first", "label"),
    [
        ("2024-06-03", "YYYY-MM-DD"),
        ("20240603", "YYYYMMDD"),
        ("2024/6/3", "YYYY/MM/DD"),
        ("2024-06-03 00:00:00", "YYYY-MM-DD 00:00:00"),
        ("2024-06-03T00:00:00", "YYYY-MM-DDT00:00:00"),
    ],
)
def test_date_layouts(tmp_path: Path, first: str, label: str) -> None:
    got = files.read_vendor_file(write(tmp_path, [first + GOOD[0][10:]]))
    assert got.detected["date_format"] == label
    assert got.frame["date"].to_list() == [dt.date(2024, 6, 3)]


def test_a_two_digit_year_is_refused_not_stored_as_year_24(tmp_path: Path) -> None:
    rows = [GOOD[0], "24-06-04,10.20,10.60,10.10,10.40,1100000,11440000"]
    with pytest.raises(InputError, match=r":3: field 'date': date 0024-06-04 is before 1990-12-19"):
        files.read_vendor_file(write(tmp_path, rows))


def test_any_header_naming_date_and_close_is_read(tmp_path: Path) -> None:
    """akshare's columns without its extras (振幅, 涨跌幅): no named layout, the aliases do."""
    header = "日期,开盘,收盘,最高,最低,成交量,成交额"
    rows = ["2024-06-03,10.00,10.20,10.50,9.80,10000,10200000"]
    got = files.read_vendor_file(write(tmp_path, rows, header=header))
    assert got.detected["format"].startswith("generic")
    assert got.detected["volume_unit"].startswith("lots")  # amount / (volume x close) = 100
    assert got.frame["volume"].to_list() == [1_000_000]
