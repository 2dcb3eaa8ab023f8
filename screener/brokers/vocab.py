"""Words of broker notes: recommendation cues, metals and their headings.

``CUES`` is the one table of the phrases that say a broker recommends what follows (or what
precedes). Phrases are written simplified, without spaces; the reader finds them after
``text.normalise`` (traditional characters, full-width forms) and across whitespace and line
breaks (``text.fold``), so 建議 關注 and 建议\\n关注 are 建议关注. Latin phrases are lower case.
"""

from __future__ import annotations

import re

# What follows a cue. LIST: a list of companies ("建议关注：紫金矿业、洛阳钼业"). LEAD: a company
# right away, else the word is no cue ("推荐紫金矿业" but not "推荐关注度"). TRAIL: the
# companies come before the cue, in its clause ("紫金矿业、洛阳钼业等有望受益。").
LIST, LEAD, TRAIL = "list", "lead", "trail"

CUES: dict[str, str] = {
    # a list follows
    "建议关注": LIST, "建议重点关注": LIST, "重点关注": LIST, "推荐关注": LIST, "重点推荐": LIST,
    "建议积极关注": LIST, "积极关注": LIST, "建议配置": LIST, "关注标的": LIST, "受益标的": LIST,
    "相关标的": LIST, "标的方面": LIST, "推荐标的": LIST, "核心标的": LIST, "重点标的": LIST,
    "相关公司": LIST, "受益公司": LIST, "推荐公司": LIST, "关注公司": LIST, "相关个股": LIST,
    "受益个股": LIST, "推荐个股": LIST, "核心受益": LIST, "受惠标的": LIST, "受惠股": LIST,
    "弹性标的": LIST, "龙头标的": LIST, "优质标的": LIST,
    "投资建议": LIST, "本月金股": LIST, "月度金股": LIST, "金股组合": LIST, "推荐组合": LIST,
    "核心组合": LIST, "首推": LIST, "首选": LIST, "优选": LIST, "核心推荐": LIST, "重点推介": LIST,
    "toppicks": LIST, "toppick": LIST, "keypicks": LIST, "ourpicks": LIST, "preferredpicks": LIST,
    "stockstowatch": LIST, "namestowatch": LIST, "beneficiaries": LIST, "preferrednames": LIST,
    "werecommend": LIST, "weprefer": LIST, "welike": LIST, "buy-rated": LIST,
    "weseevaluein": LIST, "seevaluein": LIST,
    # a company right after the word
    "推荐": LEAD, "看好": LEAD, "关注": LEAD, "持续推荐": LEAD, "继续推荐": LEAD, "推介": LEAD,
    "recommend": LEAD,
    # the companies before the cue
    "有望受益": TRAIL, "将受益": TRAIL, "充分受益": TRAIL, "持续受益": TRAIL, "直接受益": TRAIL,
    "最为受益": TRAIL, "值得关注": TRAIL, "值得重点关注": TRAIL, "有望受惠": TRAIL,
    "standtobenefit": TRAIL,
    "shouldbenefit": TRAIL,
}  # fmt: skip

# Advice that ends with a colon introduces lists ("我们建议从两个维度配置：\nA股：…").
INTRO_WORDS = ("建议", "推荐", "看好", "首选", "recommend", "prefer")

# A cue right after one of these says the opposite, or is someone else's: "暂不建议关注",
# "市场关注紫金矿业" (what the market watches is no recommendation).
NOT_BEFORE_CUE = ("不", "无需", "避免", "市场", "投资者", "资金", "not", "don't")

# Words that join the entries of a list ("紫金矿业和洛阳钼业", "CMOC and Zijin"), longest first.
CONJUNCTIONS = ("以及", "及", "和", "与", "as well as", "and", "&")

# Words that end a list: a contrast ("而", "but") or a comparison ("相比", "over"). Patterns:
# 但 is no contrast in 包括但不限于.
LIST_STOPS = ("而", "但(?!不限)", "不过", "然而", "相比", "相较", "相对于", "但是", "but", "over",
              "rather than", "instead of", "while", "whereas", "versus", "vs")  # fmt: skip

# A broker's rating of the company it writes about is a recommendation of it ("维持买入评级").
RATING_CUE = re.compile(
    r"(?:维持|给予|首次覆盖[^。;!?]{0,12}?给予|上调至|上调为|重申|(?:re)?iterate|maintain|initiate\w*)"
    r"[^。;!?]{0,6}?[\"“'「『]?(?:强烈推荐|推荐|买入|增持|优于大市|强于大市|跑赢行业|outperform|"
    r"overweight|buy)[\"”'」』]?\s*(?:投资)?(?:评级|rating)"
)
RATING_WORD = re.compile(
    r"(?:强烈推荐|谨慎推荐|审慎增持|谨慎增持|优于大市|强于大市|跑赢行业|推荐|买入|增持|持有|中性|"
    r"减持|卖出)(?:-[A-Z])?"
)


def _cue_pattern() -> re.Pattern[str]:
    """Every cue, longest first (an alternation takes the first that matches)."""
    return re.compile("|".join(re.escape(w) for w in sorted(CUES, key=len, reverse=True)))


# Matches cues in lower-cased text; Latin cues must stand as words (checked by the reader).
CUE_PATTERN = _cue_pattern()

# What the cells of a table of picks hold besides names and codes: headers, ratings, figures.
# A PDF may put each cell on its own line; a block of picks reads past them (extract.py).
TABLE_CELL = re.compile(
    r"[\d.,%+\-/()A-Za-z\s]+|(?:证券|股票)?(?:代码|简称|名称)|公司|(?:投资)?评级|收盘价|目标价"
    r"|市值|市盈率|(?:EPS|PE|PB)\s*\S*|买入|增持|推荐|强烈推荐|谨慎推荐|中性|持有|减持|优于大市"
    r"|强于大市|跑赢行业"
)

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
    "gold": "gold", "silver": "silver", "copper": "copper", "aluminium": "aluminium",
    "aluminum": "aluminium", "zinc": "zinc", "lead": "lead", "tin": "tin", "nickel": "nickel",
    "cobalt": "cobalt", "lithium": "lithium", "rareearths": "rare_earth",
    "rareearth": "rare_earth", "magnets": "magnet", "tungsten": "tungsten",
    "molybdenum": "molybdenum", "antimony": "antimony", "uranium": "uranium",
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
    return METAL_WORDS.get(_LABEL_SUFFIX.sub("", text).lower().replace(" ", ""))


def phrase_metal(before: str) -> str | None:
    """The metal of the phrase right before a marker: "稀土方面，我们建议关注" → rare_earth."""
    pieces = [_FILLER_TAIL.sub("", p.strip(" *")) for p in re.split(r"[,、:;]", before)]
    last = pieces[-1] if pieces[-1] or len(pieces) == 1 else pieces[-2]
    return metal_of(last)
