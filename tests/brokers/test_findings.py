"""The rows an article gives: one pick per company and metal, repeats and mentions explained."""

from __future__ import annotations

import pytest

from screener.brokers import Lexicon, read_note
from screener.instruments import load_master


@pytest.fixture(scope="module")
def master() -> Lexicon:
    return Lexicon.from_master(load_master())


def test_a_company_picked_twice_for_one_metal_is_one_pick(master: Lexicon) -> None:
    text = "铜：建议关注紫金矿业。重点推荐紫金矿业、洛阳钼业。\n钴：推荐洛阳钼业。"
    note = read_note(text, master)
    assert note.picks.select("seq", "metal", "ticker").rows() == [
        (1, "copper", "601899.SH"),
        (2, "copper", "603993.SH"),
        (3, "cobalt", "603993.SH"),  # the same company for another metal is another pick
    ]
    decisions = note.candidates.select("decision", "seq", "reason").rows()
    assert decisions[1] == ("repeat", 1, "same as pick #1")


def test_unresolved_names_come_with_their_context(master: Lexicon) -> None:
    note = read_note("铝：建议关注中国宏桥、示范铝业、中国铝业。", master)
    assert note.unresolved.select("seq", "name_as_written", "status").rows() == [
        (2, "示范铝业", "unresolved")
    ]
    assert "中国宏桥、示范铝业、中国铝业" in note.unresolved["context"][0]


def test_warnings_for_codes_naming_another_company(master: Lexicon) -> None:
    note = read_note("铜：建议关注紫金矿业（601600.SH）。", master)
    assert note.picks["ticker"].to_list() == ["601899.SH"]
    assert note.warnings == ("紫金矿业: code 601600.SH names another company",)
