"""Words of broker notes: metals and their headings, as the master's metal tags.

Text given here is normalised (``resolve.normalise``): half-width punctuation, simplified
characters.
"""

from __future__ import annotations

import re

# Chinese metal words → the metal tags of the instrument master (instruments.METAL_TAGS).
METAL_WORDS: dict[str, str] = {
    "黄金": "gold", "金": "gold", "金矿": "gold",
    "白银": "silver", "银": "silver",
    "铜": "copper", "铜矿": "copper",
    "铝": "aluminium", "电解铝": "aluminium", "氧化铝": "aluminium",
    "锌": "zinc", "铅锌": "zinc", "铅": "lead",
    "锡": "tin", "镍": "nickel", "钴": "cobalt",
    "锂": "lithium", "锂矿": "lithium", "锂盐": "lithium", "碳酸锂": "lithium",
    "稀土": "rare_earth", "轻稀土": "rare_earth", "重稀土": "rare_earth", "中重稀土": "rare_earth",
    "磁材": "magnet", "永磁": "magnet", "稀土永磁": "magnet", "稀土磁材": "magnet",
    "钕铁硼": "magnet", "磁性材料": "magnet", "永磁材料": "magnet",
    "钨": "tungsten", "钼": "molybdenum", "锑": "antimony", "钽": "tantalum", "铌": "niobium",
    "铀": "uranium", "锗": "germanium", "镓": "gallium", "铟": "indium", "钛": "titanium",
    "镁": "magnesium", "钒": "vanadium", "铂": "platinum", "钯": "palladium",
}  # fmt: skip

# Headings that group several metals: each opens a new section of a note.
GROUP_WORDS = frozenset(
    ["贵金属", "工业金属", "基本金属", "能源金属", "新能源金属", "小金属", "稀有金属",
     "战略金属", "战略小金属", "有色金属"]
)  # fmt: skip

_LABEL_PREFIX = re.compile(r"^(?:在|对于|关于|其中|而|对)")
_LABEL_SUFFIX = re.compile(
    r"(?:相关|受益)?(?:标的|公司|个股|板块|方面|行业|领域|产业链|企业|龙头)+$"
)
_FILLER_TAIL = re.compile(r"(?:我们|继续|仍然|仍|持续|重点|同时|此外|另外|可以|可|也)+$")


def metal_of(label: str) -> str | None:
    """The metal a short label names ("铜", "稀土标的", "稀土永磁方面"), else None."""
    text = _LABEL_PREFIX.sub("", label.strip(" *"))
    return METAL_WORDS.get(_LABEL_SUFFIX.sub("", text))


def phrase_metal(before: str) -> str | None:
    """The metal of the phrase right before a marker: "稀土方面，我们建议关注" → rare_earth."""
    pieces = [_FILLER_TAIL.sub("", p.strip(" *")) for p in re.split(r"[,、:;]", before)]
    last = pieces[-1] if pieces[-1] or len(pieces) == 1 else pieces[-2]
    return metal_of(last)
