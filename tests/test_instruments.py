"""Instrument master: the shipped CSV, its validation, name resolution and traditional forms."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from screener.errors import InputError
from screener.hanzi import to_simplified, to_traditional
from screener.instruments import (
    COLUMNS,
    METAL_TAGS,
    expected_listing,
    load_master,
    name_index,
    strip_st,
)
from screener.metals import METALS
from screener.schema import INSTRUMENTS, SECTOR_INDEX, SW_L2

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REALDATA_INSTRUMENTS = SHARED / "realdata" / "instruments.csv"
BROKER_PICKS = SHARED / "reference" / "broker_picks_2026-02-08.csv"

NON_METAL_PICKS = ["001376.SZ", "605196.SH", "002128.SZ", "000510.SZ", "002340.SZ"]
NON_METAL_PICKS += ["300919.SZ", "300390.SZ", "002645.SZ", "001203.SZ", "000923.SZ"]


@pytest.fixture(scope="module")
def master() -> pl.DataFrame:
    return load_master()


@pytest.fixture(scope="module")
def index(master: pl.DataFrame) -> dict[str, list[str]]:
    return name_index(master)


def _rows(master: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["ticker"]): r for r in master.iter_rows(named=True)}


def _read_shared(path: Path) -> list[dict[str, str]]:
    if not SHARED.exists():
        pytest.skip(f"shared reference data absent ({SHARED}); the master is checked against it")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- the shipped master ------------------------------------------------------------------


def test_master_conforms_to_the_instruments_table(master: pl.DataFrame) -> None:
    assert master.columns == list(INSTRUMENTS.columns)
    assert master.schema == pl.Schema(INSTRUMENTS.columns)
    assert master["ticker"].n_unique() == master.height
    assert master["name"].null_count() == 0
    a_shares = master.filter(pl.col("board") != "hk").height
    assert 130 <= a_shares <= 200 and master.height - a_shares == 20


def test_every_board_agrees_with_the_code_prefix(master: pl.DataFrame) -> None:
    for ticker, exchange, board in master.select("ticker", "exchange", "board").iter_rows():
        assert expected_listing(ticker) == (exchange, board), ticker


@pytest.mark.parametrize(
    ("ticker", "expected"),
    [
        ("600362.SH", ("SSE", "main")),
        ("605376.SH", ("SSE", "main")),
        ("688122.SH", ("SSE", "star")),
        ("000630.SZ", ("SZSE", "main")),
        ("003038.SZ", ("SZSE", "main")),
        ("300618.SZ", ("SZSE", "chinext")),
        ("301219.SZ", ("SZSE", "chinext")),
        ("871634.BJ", ("BSE", "bse")),
        ("430047.BJ", ("BSE", "bse")),
        ("920634.BJ", ("BSE", "bse")),
        ("01378.HK", ("HKEX", "hk")),
        ("600362.SZ", None),
        ("604000.SH", None),
        ("60036.SH", None),
        ("1378.HK", None),
        ("600362", None),
    ],
)
def test_expected_listing_from_code(ticker: str, expected: tuple[str, str] | None) -> None:
    assert expected_listing(ticker) == expected


def test_shenwan_members_have_a_nonferrous_l2_and_others_none(master: pl.DataFrame) -> None:
    members = master.filter(pl.col("sw_l1") == SECTOR_INDEX)
    others = master.filter(pl.col("sw_l1").is_null())
    assert members.height + others.height == master.height
    assert set(members["sw_l2"]) <= set(SW_L2)
    assert others["sw_l2"].null_count() == others.height
    assert members.height >= 120


def test_metal_tags_are_known_and_cover_every_series_tag(master: pl.DataFrame) -> None:
    assert set(METALS) <= set(METAL_TAGS)
    used = set(master["metals"].explode().drop_nulls())
    assert used <= set(METAL_TAGS)
    assert master.filter(pl.col("ticker") == "601899.SH")["metals"].item().to_list()[0] == "copper"


# H shares of A+H nonferrous companies, and the main miners and smelters listed only in Hong Kong.
H_SHARES = {"02899.HK": "601899.SH", "03993.HK": "603993.SH", "00358.HK": "600362.SH",
            "02600.HK": "601600.SH", "01772.HK": "002460.SZ", "09696.HK": "002466.SZ",
            "01787.HK": "600547.SH", "06680.HK": "300748.SZ", "06693.HK": "600988.SH"}  # fmt: skip
HK_ONLY = ["00486.HK", "01208.HK", "01258.HK", "01378.HK", "01818.HK", "02099.HK", "02245.HK",
           "02259.HK", "02788.HK", "03330.HK", "03858.HK"]  # fmt: skip


def test_hk_rows_are_h_shares_of_a_shares_or_hk_listed_only(master: pl.DataFrame) -> None:
    hk = master.filter(pl.col("board") == "hk")
    assert sorted(hk["ticker"]) == sorted([*H_SHARES, *HK_ONLY])
    assert set(hk["exchange"]) == {"HKEX"} and hk["sw_l1"].null_count() == hk.height
    rows = _rows(master)
    for h, a in H_SHARES.items():
        assert rows[h]["note"].startswith(f"H shares of {a}"), h
        assert rows[h]["metals"] == rows[a]["metals"], h
        assert rows[a]["name"] in (rows[h]["name"], *rows[h]["aliases"]), h
    assert all("HK-listed only" in rows[t]["note"] for t in HK_ONLY)


# --- against the shared reference data ---------------------------------------------------


def test_every_broker_pick_is_present_under_its_name(master: pl.DataFrame) -> None:
    rows = _rows(master)
    picks = _read_shared(BROKER_PICKS)
    assert len({p["ticker"] for p in picks}) == 52
    for pick in picks:
        row = rows[pick["ticker"]]
        assert pick["name"] == row["name"] or pick["name"] in row["aliases"], pick
        if pick["exchange"] == "HKEX":
            assert row["board"] == "hk" and row["exchange"] == "HKEX"


def test_non_metal_picks_are_outside_shenwan_with_their_metal_link(master: pl.DataFrame) -> None:
    rows = _rows(master)
    for ticker in NON_METAL_PICKS:
        row = rows[ticker]
        assert row["sw_l1"] is None, ticker
        assert "outside Shenwan 801050" in str(row["note"]), ticker
        assert row["metals"], ticker


def test_every_realdata_instrument_is_present_and_delisted_ones_are_dated(
    master: pl.DataFrame,
) -> None:
    rows = _rows(master)
    source = _read_shared(REALDATA_INSTRUMENTS)
    assert len(source) == 163
    for src in source:
        row = rows[src["ticker"]]
        assert (row["exchange"], row["board"]) == (src["exchange"], src["board"])
        if src["name"]:
            assert src["name"] == row["name"] or src["name"] in row["aliases"], src["ticker"]
        if src["delisted"] == "true":
            assert row["delist_date"] == date.fromisoformat(src["last_date_any_source"])
            assert "delisted" in str(row["note"])
        else:
            assert row["delist_date"] is None, src["ticker"]
    assert sum(1 for s in source if s["delisted"] == "true") == 8


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "ticker"),
    [
        ("银泰黄金", "000975.SZ"),
        ("银泰资源", "000975.SZ"),
        ("山金国际", "000975.SZ"),
        ("广晟有色", "600259.SH"),
        ("五矿稀土", "000831.SZ"),
        ("兴业矿业", "000426.SZ"),
        ("中润资源", "000506.SZ"),
        ("吉翔股份", "603399.SH"),
    ],
)
def test_former_names_resolve(index: dict[str, list[str]], alias: str, ticker: str) -> None:
    assert index[alias] == [ticker]


@pytest.mark.parametrize(
    ("text", "ticker"),
    [
        ("紫金礦業", "601899.SH"),
        ("贛鋒鋰業", "002460.SZ"),
        ("江西銅業", "600362.SH"),
        ("中國鋁業", "601600.SH"),
        ("華友鈷業", "603799.SH"),
        ("洛陽鉬業", "603993.SH"),
        ("天齊鋰業", "002466.SZ"),
        ("中國宏橋", "01378.HK"),
        ("招金礦業", "01818.HK"),
    ],
)
def test_traditional_forms_resolve(index: dict[str, list[str]], text: str, ticker: str) -> None:
    assert index[text][0] == ticker  # an A+H company: the A-share line first


def test_traditional_aliases_map_back_to_their_name(master: pl.DataFrame) -> None:
    for name, aliases in master.select("name", "aliases").iter_rows():
        traditional = to_traditional(name)
        assert to_simplified(traditional) == name
        if traditional != name:
            assert traditional in aliases, name
        for alias in aliases:
            if to_simplified(alias) != alias:  # written with traditional characters
                assert to_simplified(alias) == name, (name, alias)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("*ST全新", "全新"), ("ST华钰", "华钰"), ("S*ST东泰", "东泰"), ("SST合金", "合金")],
)
def test_strip_st(name: str, expected: str) -> None:
    assert strip_st(name) == expected
    assert strip_st(expected) == expected


def test_st_names_resolve_with_and_without_prefix(index: dict[str, list[str]]) -> None:
    assert index["*ST全新"] == ["000007.SZ"]
    assert index["全新"] == ["000007.SZ"]


def test_a_shared_name_is_one_company_listed_twice(index: dict[str, list[str]]) -> None:
    """The only names two securities share are an A-share and the H shares of the same company."""
    shared = {k: v for k, v in index.items() if len(v) > 1}
    assert shared, "A+H companies share their names"
    for key, tickers in shared.items():
        assert len(tickers) == 2 and H_SHARES.get(tickers[1]) == tickers[0], key


# --- validation of hand-edited files -----------------------------------------------------

GOOD = {
    "ticker": "600362.SH",
    "name": "江西铜业",
    "aliases": "江西銅業",
    "exchange": "SSE",
    "board": "main",
    "sw_l1": "801050.SI",
    "sw_l2": "801055.SI",
    "metals": "copper|gold",
    "list_date": "2002-01-11",
    "delist_date": "",
    "note": "",
}
OTHER = {**GOOD, "ticker": "000630.SZ", "name": "铜陵有色", "aliases": "", "exchange": "SZSE"}


def _write(tmp_path: Path, *rows: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> Path:
    path = tmp_path / "instruments.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_small_master_loads_with_empty_lists_and_null_dates(tmp_path: Path) -> None:
    frame = load_master(_write(tmp_path, GOOD, {**OTHER, "metals": "", "list_date": ""}))
    other = frame.row(1, named=True)
    assert other["aliases"] == [] and other["metals"] == []
    assert other["list_date"] is None and other["delist_date"] is None
    assert frame.row(0, named=True)["metals"] == ["copper", "gold"]


def test_shared_alias_lists_every_ticker(tmp_path: Path) -> None:
    master = load_master(_write(tmp_path, GOOD, {**OTHER, "aliases": "江西銅業"}))
    assert name_index(master)["江西銅業"] == ["600362.SH", "000630.SZ"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"board": "gem"}, "board", "unknown board"),
        ({"exchange": "NYSE"}, "exchange", "unknown exchange"),
        ({"ticker": "300618.SZ", "exchange": "SZSE"}, "board", "contradicts"),
        ({"ticker": "60036.SH"}, "ticker", "malformed ticker"),
        ({"metals": "copper|unobtainium"}, "metals", "unknown metal"),
        ({"sw_l2": "801052.SI"}, "sw_l2", "not a nonferrous L2"),
        ({"sw_l1": "", "sw_l2": "801055.SI"}, "sw_l2", "without sw_l1"),
        ({"sw_l1": "801040.SI"}, "sw_l1", "801050.SI or empty"),
        ({"list_date": "2024/01/11"}, "list_date", "bad date"),
        ({"list_date": "2024-02-30"}, "list_date", "no such day"),
        ({"delist_date": "2001-12-31"}, "delist_date", "before list_date"),
        ({"name": " "}, "name", "empty name"),
    ],
)
def test_bad_row_names_line_and_field(
    tmp_path: Path, change: dict[str, str], field: str, words: str
) -> None:
    path = _write(tmp_path, OTHER, {**GOOD, **change})
    with pytest.raises(InputError) as err:
        load_master(path)
    assert (err.value.line, err.value.field) == (3, field)
    assert words in str(err.value)
    assert f"{path}:3: field '{field}'" in str(err.value)


def test_duplicate_ticker_names_both_lines(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_master(_write(tmp_path, GOOD, OTHER, {**GOOD, "name": "江铜"}))
    assert (err.value.line, err.value.field) == (4, "ticker")
    assert "first on line 2" in str(err.value)


def test_missing_column_fails_on_the_header(tmp_path: Path) -> None:
    columns = tuple(c for c in COLUMNS if c != "metals")
    with pytest.raises(InputError) as err:
        load_master(_write(tmp_path, GOOD, columns=columns))
    assert err.value.line == 1
    assert "metals" in str(err.value)
