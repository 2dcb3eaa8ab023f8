"""Cues and the walk over an article: which cue governs which names."""

from __future__ import annotations

import pytest

from screener.brokers import Lexicon, read_note
from screener.brokers.extract import RATING, find_cues
from screener.brokers.text import normalise
from screener.brokers.vocab import CUES, LEAD, LIST, TRAIL
from screener.hanzi import to_traditional
from screener.instruments import load_master

REQUIRED = ["建议关注", "重点关注", "推荐关注", "重点推荐", "建议重点关注", "受益标的", "相关标的",
            "标的方面", "关注标的", "关注"]  # fmt: skip


@pytest.fixture(scope="module")
def master() -> Lexicon:
    return Lexicon.from_master(load_master())


def tickers(master: Lexicon, text: str) -> list[str]:
    return read_note(text, master).picks["ticker"].to_list()


@pytest.mark.parametrize("phrase", REQUIRED)
def test_the_cue_table_has_the_usual_phrasings_in_both_scripts(phrase: str) -> None:
    assert phrase in CUES
    (cue,) = find_cues(normalise(to_traditional(phrase) + "紫金矿业"))
    assert cue.phrase == phrase


def test_cue_kinds_and_what_they_read(master: Lexicon) -> None:
    assert {CUES["相关标的"], CUES["推荐"], CUES["有望受益"]} == {LIST, LEAD, TRAIL}
    assert tickers(master, "推荐紫金矿业、洛阳钼业。") == ["601899.SH", "603993.SH"]
    assert tickers(master, "推荐关注度较高的板块。") == []  # 推荐 before no company
    assert tickers(master, "紫金矿业、洛阳钼业等龙头有望受益。") == ["601899.SH", "603993.SH"]
    assert tickers(master, "我们看好铜价，紫金矿业发布公告。") == []


def test_a_cue_negated_or_of_another_subject_is_no_cue(master: Lexicon) -> None:
    assert tickers(master, "暂不建议关注紫金矿业。市场关注洛阳钼业的复产。") == []
    assert [c.phrase for c in find_cues("不建议关注紫金矿业")] == []


def test_a_rating_recommends_the_company_it_is_about(master: Lexicon) -> None:
    text = "紫金矿业（601899）年报点评\n业绩符合预期。我们维持“买入”评级。"
    (cue,) = [c for c in find_cues(normalise(text)) if c.kind == RATING]
    assert cue.phrase == "维持“买入”评级"
    assert tickers(master, text) == ["601899.SH"]
    assert tickers(master, "西藏珠峰：评级由“增持”下调至“中性”。") == []


def test_a_cue_that_ends_its_sentence_looks_back(master: Lexicon) -> None:
    assert tickers(master, "金力永磁海外订单增长较快，建议关注。") == ["300748.SZ"]


def test_advice_ending_with_a_colon_opens_lists(master: Lexicon) -> None:
    text = "我们建议从两个维度配置：\nA股：紫金矿业、洛阳钼业；\n港股：招金矿业。\n估值偏低。"
    assert tickers(master, text) == ["601899.SH", "603993.SH", "01818.HK"]


def test_a_table_under_a_cue_is_read_row_by_row(master: Lexicon) -> None:
    cells = ["相关标的", "代码", "简称", "评级", "601899.SH", "紫金矿业", "买入", "600547.SH",
             "山东黄金", "增持", "风险提示", "紫金矿业海外项目的政治风险"]  # fmt: skip
    assert tickers(master, "\n".join(cells)) == ["601899.SH", "600547.SH"]
    rows = ["重点推荐公司盈利预测", "| 代码 | 名称 | 评级 |", "| 601899.SH | 紫金矿业 | 买入 |",
            "| 01378.HK | 中国宏桥 | 买入 |"]  # fmt: skip
    assert tickers(master, "\n".join(rows)) == ["601899.SH", "01378.HK"]


def test_a_list_ends_where_it_visibly_ends(master: Lexicon) -> None:
    assert tickers(master, "建议关注紫金矿业，而洛阳钼业短期承压。") == ["601899.SH"]
    preference = "We prefer Zijin Mining (2899 HK) over Chalco (2600 HK)."
    assert tickers(master, preference) == ["02899.HK"]
    assert tickers(master, "建议关注紫金矿业等，江西铜业近期检修。") == ["601899.SH"]
    goes_on = "建议关注紫金矿业等铜企，以及中国铝业等铝企。"
    assert tickers(master, goes_on) == ["601899.SH", "601600.SH"]


def test_parallel_lists_after_a_list(master: Lexicon) -> None:
    items = ["建议关注：", "（1）紫金矿业：铜产量增长；", "（2）洛阳钼业：钴价上行。",
             "风险提示：价格下跌。"]  # fmt: skip
    assert tickers(master, "\n".join(items)) == ["601899.SH", "603993.SH"]
    labelled = "受益标的：\n黄金：山东黄金、中金黄金\n铜：紫金矿业\n风险提示"
    assert tickers(master, labelled) == ["600547.SH", "600489.SH", "601899.SH"]
    assert tickers(master, "相关标的包括但不限于紫金矿业、洛阳钼业。") == ["601899.SH", "603993.SH"]
