"""Folding a note's text: one script and width, phrases whole, offsets back to the original."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from screener.brokers.text import fold, normalise, tidy

PHRASES = ("建议关注", "紫金矿业", "洛阳钼业", "welike", "zijinmining")


def finder(flat: str) -> Iterable[tuple[int, int, Any, bool]]:
    """A stand-in for the lexicon and the cue table: a few phrases, all joinable."""
    low = flat.lower()
    for phrase in PHRASES:
        for m in re.finditer(phrase, low):
            yield m.start(), m.end(), phrase, True


def test_normalise_keeps_the_length() -> None:
    text = "建議關注紫金礦業（２８９９．ＨＫ）　等"
    assert normalise(text) == "建议关注紫金矿业(2899.HK) 等"
    assert len(normalise(text)) == len(text)


def test_whitespace_inside_a_phrase_goes_and_elsewhere_stays() -> None:
    folded = fold("铜：建议 关注紫金\n矿业、洛阳钼业\n\n本周铜价上涨 3%。", finder)
    assert folded.text == "铜:建议关注紫金矿业、洛阳钼业\n\n本周铜价上涨 3%。"
    assert [(s, e, w) for s, e, w in folded.phrases] == [
        (2, 6, "建议关注"), (6, 10, "紫金矿业"), (11, 15, "洛阳钼业")]  # fmt: skip


def test_full_width_spaces_and_line_breaks_inside_a_cue() -> None:
    for written in ("建议　关注", "建\n议\n关\n注", "建  议 关\r\n注"):
        assert "建议关注紫金矿业" in fold(f"{written}紫金矿业。", finder).text, written


def test_latin_phrases_only_at_word_edges() -> None:
    text = fold("Overall, we like Zijin Mining (2899 HK).", finder).text
    assert "welike ZijinMining" in text  # the case is kept: the reader matches in lower case
    glued = fold("wewe like them", finder).text  # "we like" inside "wewe like" is no phrase
    assert glued == "wewe like them"


def test_offsets_map_back_to_the_original() -> None:
    source = "標題\n建議 關注紫金\n礦業等。"
    folded = fold(source, finder)
    start = folded.text.index("紫金矿业")
    assert folded.written(start, start + 4) == "紫金礦業"  # the original characters, tidied
    assert folded.line(start) == 2 and folded.line(start + 3) == 3
    assert source[folded.origin(start)] == "紫"


def test_hard_wrapped_text_is_joined_but_not_short_lines_or_tables() -> None:
    paragraph = "本周铜价上涨，建议关注紫金矿业、洛阳钼业、江西铜业、铜陵有色、云南铜业等公司。" * 3
    wrapped = "\n".join(paragraph[i : i + 20] for i in range(0, len(paragraph), 20))
    assert fold("标题\n" + wrapped, finder).text == "标题\n" + normalise(paragraph)
    row = "601899.SH 紫金矿业  买入  12.5  3.4  9.9"
    table = "\n".join(["代码      名称      评级", *[row] * 6])
    assert fold(table, finder).text == table


def test_tidy() -> None:
    assert tidy("赣锋\n锂业") == "赣锋锂业"
    assert tidy(" Zijin\n Mining ") == "Zijin Mining"
    assert tidy("紫金矿业") == "紫金矿业"
