"""Script forms: the traditional ↔ simplified table and full-width ↔ half-width forms."""

from __future__ import annotations

from screener.hanzi import _READ_ONLY, _S2T, half_width, to_simplified, to_traditional


def test_character_conversion_leaves_other_text_alone() -> None:
    assert to_traditional("北方稀土") == "北方稀土"
    assert to_traditional("云南铜业 601899.SH") == "雲南銅業 601899.SH"
    assert to_simplified("雲南銅業") == "云南铜业"
    assert to_simplified("建議關注紫金礦業、洛陽鉬業") == "建议关注紫金矿业、洛阳钼业"


def test_the_table_round_trips_and_writes_one_form_per_character() -> None:
    assert len(set(_S2T.values())) == len(_S2T)  # two simplified characters never share a form
    assert not set(_S2T) & set(_S2T.values())  # no chains: a traditional form is never simplified
    assert not set(_READ_ONLY) & (set(_S2T) | set(_S2T.values()))
    every = "".join(_S2T)
    assert to_simplified(to_traditional(every)) == every


def test_other_forms_are_read_too() -> None:
    assert to_simplified("衆爲後裡週") == "众为后里周"


def test_half_width() -> None:
    assert half_width("（601899．SH）：ＡＢ　１") == "(601899.SH):AB 1"
    assert half_width("紫金矿业、洛阳钼业。") == "紫金矿业、洛阳钼业。"  # no half-width forms
