"""The dictionary of names and the stock codes: found anywhere, resolved to one line."""

from __future__ import annotations

import polars as pl
import pytest

from screener.brokers.lexicon import AMBIGUOUS, HK_ONLY, RESOLVED, UNRESOLVED, Lexicon
from screener.brokers.notes import _phrases
from screener.brokers.text import Folded, fold
from screener.instruments import load_master
from screener.schema import INSTRUMENTS


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.from_master(load_master())


def folded(lexicon: Lexicon, text: str) -> Folded:
    return fold(text, lambda flat: _phrases(flat, lexicon))


def names(lexicon: Lexicon, text: str) -> list[str]:
    f = folded(lexicon, text)
    return [f.text[h.start : h.end] for h in lexicon.names(f, openers=("推荐",))]


def test_a_name_is_found_whatever_follows_it(lexicon: Lexicon) -> None:
    assert names(lexicon, "天齐锂业缅甸项目复产，紫金矿业近期公告") == ["天齐锂业", "紫金矿业"]
    assert names(lexicon, "宏创控股/中国宏桥") == ["宏创控股", "中国宏桥"]
    assert names(lexicon, "盛和资源和北方稀土") == ["盛和资源", "北方稀土"]  # 和 inside a name


def test_the_longest_name_wins(lexicon: Lexicon) -> None:
    assert names(lexicon, "紫金黄金国际与紫金矿业") == ["紫金黄金国际", "紫金矿业"]


def test_two_character_names_only_stand_alone(lexicon: Lexicon) -> None:
    assert names(lexicon, "全新的周期") == []  # 全新 (an ST name without its prefix) in prose
    assert names(lexicon, "推荐紫金、洛钼、江铜等") == ["紫金", "洛钼", "江铜"]
    assert names(lexicon, "*ST金泰、金泰集团") == ["*ST金泰"]


def test_latin_names_only_as_whole_words(lexicon: Lexicon) -> None:
    assert names(lexicon, "We like CMOC and Zijin Mining.") == ["CMOC", "ZijinMining"]
    assert names(lexicon, "CMOCX, zijinminingco") == []


@pytest.mark.parametrize(
    ("text", "tickers", "bare"),
    [
        ("紫金矿业(601899)", ("601899.SH",), True),
        ("(601899.SH)", ("601899.SH",), False),
        ("601899 CH", ("601899.SH",), False),
        ("SH601899", ("601899.SH",), False),
        ("sh.600547", ("600547.SH",), False),
        ("002466-CN", ("002466.SZ",), False),
        ("2899.HK", ("02899.HK",), False),
        ("02899 HK", ("02899.HK",), False),
        ("2899 HK Equity", ("02899.HK",), False),
        ("HK:1818", ("01818.HK",), False),
        ("招金礦業(1818)", ("01818.HK",), True),
        ("888888.SH", (), False),
    ],
)
def test_codes_in_their_usual_forms(
    lexicon: Lexicon, text: str, tickers: tuple[str, ...], bare: bool
) -> None:
    (code,) = lexicon.codes(folded(lexicon, text).text)
    assert (code.tickers, code.bare) == (tickers, bare)


def test_prices_years_and_dates_are_no_codes(lexicon: Lexicon) -> None:
    assert lexicon.codes("收于13060.0美元，2026年，20260208，增长25%，(2026)年报")[:1] == []


def resolve(lexicon: Lexicon, text: str) -> tuple[str, tuple[str, ...]]:
    f = folded(lexicon, text)
    hit = lexicon.names(f)[0]
    codes = lexicon.codes(f.text)
    res = lexicon.resolve(hit, codes=codes, h_shares="H股" in text)
    return res.status, res.tickers


def test_an_a_and_h_company_is_its_a_share_unless_asked(lexicon: Lexicon) -> None:
    assert resolve(lexicon, "紫金矿业") == (RESOLVED, ("601899.SH",))
    assert resolve(lexicon, "紫金矿业(2899.HK)") == (HK_ONLY, ("02899.HK",))
    assert resolve(lexicon, "紫金矿业H股") == (HK_ONLY, ("02899.HK",))
    assert resolve(lexicon, "紫金矿业(601899.SH/2899.HK)") == (RESOLVED, ("601899.SH",))
    assert resolve(lexicon, "招金矿业") == (HK_ONLY, ("01818.HK",))


def test_what_decided_it_is_said(lexicon: Lexicon) -> None:
    f = folded(lexicon, "Zijin Mining (2899 HK)")
    res = lexicon.resolve(lexicon.names(f)[0], codes=lexicon.codes(f.text))
    assert res.via == "alias Zijin Mining + code 2899 HK"


def test_a_shared_name_of_two_a_shares_is_ambiguous() -> None:
    rows = {"ticker": ["605999.SH", "002999.SZ"], "name": ["示例黄金", "示例矿业"],
            "aliases": [[], ["示例黄金"]], "board": ["main", "main"],
            "metals": [["gold"], ["gold"]]}  # fmt: skip
    extra = INSTRUMENTS.conform(pl.DataFrame(rows))
    lexicon = Lexicon.from_master(pl.concat([load_master(), extra]))
    assert resolve(lexicon, "示例黄金")[0] == AMBIGUOUS


def test_a_code_the_master_lacks_resolves_nothing(lexicon: Lexicon) -> None:
    (code,) = lexicon.codes("(888888.SH)")
    res = lexicon.resolve_code(code)
    assert res.status == UNRESOLVED and "not in the master" in res.via
