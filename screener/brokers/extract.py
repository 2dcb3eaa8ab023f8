"""Recommendation lists inside one article: where they are and which metal they are for.

The walk over the folded text (``text.fold``), in order:

1. Cut the text into segments at sentence ends (。；!? a Latin full stop, citation marks like
   ``[3]``) and at item breaks (line breaks, `` - `` bullets). A segment may open with a label
   ("铜：", "**铝**:").
2. Headings set the context: a group heading (贵金属, 工业金属, ...) or any other short line opens
   a new section; a metal label adds its metal to the section (the first is the lead metal).
3. Cues (``vocab.CUES``) say where picks are. After a LIST cue (建议关注, 相关标的, ...) comes a
   list (``lists.ListReader``); a LEAD cue (推荐, 看好) reads a list when a company follows at
   once, else only its clause ("关注冶炼费触底后铜陵有色的修复机会"); a TRAIL cue (有望受益), a
   cue that ends its sentence ("…，建议关注。") and a rating (维持"买入"评级) take the companies
   of the nearest clause before them that names any (a rating without one: the company its
   paragraph or the title is about). A cue right after 不 or 市场 is someone else's, or no
   recommendation. The metal of a list is a label right after the cue ("建议关注：铜：..."), else
   the phrase right before it ("稀土方面，建议关注"), else the label of the item, else it is
   decided per company from the section (``findings.py``).
4. A cue followed by nothing (or by a short heading such as "估值表"), a list ended by "；", and
   advice that ends with a colon ("我们建议从两个维度配置：") open a block: the next items that
   start with a company are read as lists ("**铜**:洛阳钼业、…", "港股：招金矿业", a table row,
   "1、紫金矿业：…"); a table's header lines and its nameless cells ("买入", "12.5") are
   passed over.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from screener.brokers.lexicon import Hit, Lexicon
from screener.brokers.lists import CITATION, GOES_ON, SENTENCE_END, ListRead, ListReader, Mention
from screener.brokers.text import Folded, lower_ascii
from screener.brokers.vocab import (
    CUE_PATTERN,
    CUES,
    INTRO_WORDS,
    LEAD,
    LIST,
    NOT_BEFORE_CUE,
    RATING_CUE,
    TABLE_CELL,
    TRAIL,
    metal_of,
    phrase_metal,
)

RATING = "rating"  # the kind of a rating cue ("维持买入评级")

# Where segments end: each alternative starts with its own character, so the scan is fast; the
# context a bullet or a full stop needs is checked by ``_boundary``.
_BOUNDARY = re.compile(r"\n|[-•*](?=\s)|[;。!?]|\.(?=\s|$)|\[\d")
_BULLET_AT_LINE_START = re.compile(r"[ \t]*\*$")
# After the cue: "公司", then "有/包括/为" only when a noun precedes it (not "建议关注有色...").
_LEAD = re.compile(r"(?:(?<=公司|标的|个股)|公司|标的|个股)(?:有|包括|如下|如|为)?")
_COLON = re.compile(r"(?:\*\*)?\s*:?(?:\*\*)?\s*")
_LEAD_WORDS = re.compile(r"[^,、。;!?:\n\d]{1,6}:")
_HEAD = re.compile(r"\s*(?:[-•*]\s+)?(?:\(?[一二三四五六七八九十\d]{1,2}[).、]\s*)?(?:\*\*)?\s*")
_LABEL = re.compile(r"(?P<label>[^,、。:;\s*()]{1,12}?)(?:\*\*)?\s*:(?:\*\*)?\s*")
_SEMICOLON = re.compile(r"[\s*]*;")
_ROW_START = re.compile(r"[\s|*]*")  # a table row: "| 601899.SH | 紫金矿业 | …"
_CLAUSE = re.compile(r"[,;。!?\n]")
_PARENS = re.compile(r"\([^)]*\)")
_SENTENCE_AFTER = re.compile(r"[\s*]*(?:[。!?]|$)")
_OPENERS = tuple(CUES)  # a two-character name right after a cue stands alone
_RATING_WORD = re.compile(r"评级|rating")
_RATING_REACH = 40  # characters a rating phrase may run before its 评级
_PHRASE = 24  # characters before a cue that may name its metal ("稀土永磁方面，我们建议关注")
_SHORT = 20  # a segment this short may be a heading; a label sits within this many characters
_BLOCK_TITLE = 8  # "相关标的估值表": a cue and a few words of heading open a block
_TABLE_HEADER = 2  # nameless lines a block passes over before its first row
_CELLS = 12  # cells of a table set one a line ("买入", "12.5") a block reads past in a row


@dataclass(frozen=True)
class Cue:
    """A cue found in the folded text; ``phrase`` is its entry in ``vocab.CUES``."""

    start: int
    end: int
    phrase: str
    kind: str


@dataclass(frozen=True)
class CueRead:
    """A cue and what was read after (or before) it."""

    cue: Cue
    mentions: tuple[Mention, ...]
    ended_by: str


@dataclass(frozen=True)
class Reading:
    """The picks of one article in reading order, and every cue with what it gave."""

    mentions: tuple[Mention, ...]
    cues: tuple[CueRead, ...]
    hits: tuple[Hit, ...]  # every name in the text, picked or not


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    new_item: bool  # preceded by a line break or bullet (or the start of the text)
    ends_item: bool  # followed by a line break or bullet (or the end of the text)


@dataclass
class _Block:
    """A cue whose lists follow in the next items; ``metal`` is the cue's own."""

    cue: Cue
    metal: str | None
    headers: int = _TABLE_HEADER  # nameless items still allowed before the first row
    rows: int = 0
    cells: int = 0  # table cells without a name read past since the last row


def segments(text: str) -> list[_Segment]:
    """Split ``text`` at sentence ends and item breaks (see the module docstring)."""
    out: list[_Segment] = []
    start, prev_item = 0, True
    for m in _BOUNDARY.finditer(text):
        i = m.start()
        c = text[i]
        if c in "\n;。!?":  # the common cases, without a call
            found: tuple[str, int] | None = ("item" if c == "\n" else "sentence", i + 1)
        else:
            found = _boundary(text, i)
        if found is None:
            continue
        is_item = found[0] == "item"
        out.append(_Segment(start, i, prev_item, is_item))
        start, prev_item = found[1], is_item
    out.append(_Segment(start, len(text), prev_item, True))
    return out


def _boundary(text: str, i: int) -> tuple[str, int] | None:
    """("item" or "sentence", where the next segment starts) for a boundary at ``i``."""
    c = text[i]
    if c == "\n":
        return "item", i + 1
    if c in "-•":  # a bullet: at the start of a line or after a space
        return ("item", i + 2) if i == 0 or text[i - 1].isspace() else None
    if c == "*":  # a markdown bullet, alone at the start of its line
        line = text.rfind("\n", 0, i) + 1
        return ("item", i + 2) if _BULLET_AT_LINE_START.match(text[line : i + 1]) else None
    if c == "[":
        m = CITATION.match(text, i)
        return ("sentence", m.end()) if m else None
    if c == ".":
        return ("sentence", i + 1) if SENTENCE_END.match(text, i) else None
    return "sentence", i + 1


def cue_spans(flat: str) -> list[tuple[int, int, str, bool]]:
    """Cue phrases in a lower-case text without whitespace, for ``text.fold`` to join."""
    return [(m.start(), m.end(), m[0], True) for m in CUE_PATTERN.finditer(flat)]


def find_cues(
    text: str, *, phrases: tuple[tuple[int, int, object], ...] | None = None
) -> list[Cue]:
    """The cues of a folded text: every ``vocab.CUES`` phrase and rating, in order, except
    those a negation or another subject takes ("不建议关注", "市场关注"). ``phrases``: what
    ``text.fold`` found (the cue phrases among them need no second search)."""
    low = lower_ascii(text)
    spans = (
        [(a, b) for a, b, what in phrases if isinstance(what, str)]
        if phrases is not None
        else [m.span() for m in CUE_PATTERN.finditer(low)]
    )
    found = [
        Cue(a, b, low[a:b], CUES[low[a:b]])
        for a, b in spans
        if _whole_word(low, a, b) and not _taken(low, a)
    ]
    ratings = []
    for word in _RATING_WORD.finditer(low):  # a rating ends with 评级: look just before it
        m = RATING_CUE.search(low, max(0, word.start() - _RATING_REACH), word.end())
        if m is not None and m.end() == word.end():
            ratings.append(Cue(m.start(), m.end(), m[0], RATING))
    found = [c for c in found if not any(r.start <= c.start < r.end for r in ratings)]
    return sorted(found + ratings, key=lambda c: c.start)


def read_article(folded: Folded, lexicon: Lexicon) -> Reading:
    """Every recommendation-list entry of one folded article, and what each cue gave."""
    walker = _Walker(folded, lexicon)
    walker.run()
    return Reading(tuple(walker.found), tuple(walker.reads), tuple(walker.lists.hits))


def _whole_word(low: str, start: int, end: int) -> bool:
    """A Latin cue must not be part of a longer word ("like" in "likely")."""
    if not low[start].isascii():
        return True
    glued = (start and low[start - 1].isalpha()) or (end < len(low) and low[end].isalpha())
    return not glued


def _ends_sentence(text: str, pos: int) -> bool:
    """Nothing but the end of the sentence follows ``pos`` ("…，建议关注。")."""
    return _SENTENCE_AFTER.match(text, pos) is not None


def _taken(low: str, start: int) -> bool:
    before = low[max(0, start - 12) : start].rstrip()
    return before.endswith(NOT_BEFORE_CUE)


def _lead_end(text: str, pos: int, *, words: bool = False) -> int:
    """Where the list after a cue starts: past "公司有", "标的：", "**:"; with ``words`` also
    past a few words that end with a colon ("建议关注个股名单：")."""
    lead = _LEAD.match(text, pos)
    pos = lead.end() if lead else pos
    short = _LEAD_WORDS.match(text, pos) if words else None
    pos = short.end() - 1 if short else pos
    colon = _COLON.match(text, pos)
    return colon.end() if colon else pos


class _Walker:
    """Reads one article segment by segment, keeping the heading context."""

    def __init__(self, folded: Folded, lexicon: Lexicon) -> None:
        self.t = folded.text
        names = lexicon.names(folded, openers=_OPENERS)
        self.lists = ListReader(folded, names, lexicon.codes(self.t), lexicon)
        self.cues = find_cues(folded.low, phrases=folded.phrases)
        self._cue_starts = [c.start for c in self.cues]
        self.section: list[str] = []
        self.block: _Block | None = None
        self.consumed = 0  # text before this offset belongs to a list already read
        self.found: list[Mention] = []
        self.reads: list[CueRead] = []

    def run(self) -> None:
        item_metal: str | None = None
        t = self.t
        for seg in segments(t):
            if seg.new_item:
                item_metal = None
            if seg.end <= self.consumed or not t[seg.start : seg.end].strip():
                continue
            if self._plain_prose(seg):
                continue
            if seg.start < self.consumed:  # the rest of a segment a list ran into
                self._cues(self._cues_in(self.consumed, seg.end), seg, self.consumed, item_metal)
                continue
            head = _HEAD.match(t, seg.start, seg.end)
            start = head.end() if head else seg.start
            label = _LABEL.match(t, start, seg.end)
            label_metal = metal_of(label["label"]) if label else None
            item_metal = label_metal or item_metal
            self._segment(seg, start, label, label_metal, item_metal)

    def _plain_prose(self, seg: _Segment) -> bool:
        """A segment with nothing for the walk: no cue, no open block, too long for a heading,
        no label near its start and no colon at its end (most of a note, skipped quickly)."""
        if self.block is not None or seg.end - seg.start <= _SHORT:
            return False
        t = self.t
        tail = t[max(seg.start, seg.end - 4) : seg.end].rstrip(" *")
        if t.find(":", seg.start, seg.start + _SHORT) >= 0 or tail.endswith(":"):
            return False
        lo = bisect_left(self._cue_starts, seg.start)
        return lo == len(self.cues) or self.cues[lo].start >= seg.end

    def _cues_in(self, start: int, end: int) -> list[Cue]:
        lo = bisect_left(self._cue_starts, start)
        return self.cues[lo : bisect_left(self._cue_starts, end, lo)]

    def _segment(
        self,
        seg: _Segment,
        start: int,
        label: re.Match[str] | None,
        label_metal: str | None,
        item_metal: str | None,
    ) -> None:
        """One segment: continue an open block, note a heading, or read what its cues say."""
        cues = self._cues_in(start, seg.end)
        if self.block is not None and not cues and self._block_item(start, label, label_metal):
            return
        self.block = None
        if label_metal:
            self.section.append(label_metal)
        elif not cues and label is None:
            self._heading(seg, start)
        if not cues:
            self._intro(seg, start)
        body = label.end() if label else start
        self._cues(cues, seg, body, item_metal)

    def _cues(self, cues: list[Cue], seg: _Segment, body: int, item_metal: str | None) -> None:
        for i, cue in enumerate(cues):
            stop = cues[i + 1].start if i + 1 < len(cues) else len(self.t)
            floor = max(seg.start, body, self.consumed)
            lead = _lead_end(self.t, cue.end)
            if cue.kind in (TRAIL, RATING) or _ends_sentence(self.t, lead):
                self._before(cue, floor, item_metal)  # "…，建议关注。" looks back too
                continue
            before = self.t[max(body, cue.start - _PHRASE) : cue.start]
            metal = phrase_metal(before) or item_metal
            read = self._after(cue, stop, metal)
            if read is None or i + 1 < len(cues):
                continue
            rest = _PARENS.sub("", self.t[lead : seg.end]).strip(" *:")
            if not read.mentions and len(rest) <= _BLOCK_TITLE:
                self.block = _Block(cue, metal)  # "建议关注：" and nothing else: lists follow
            elif read.mentions and self._more_follow(read):
                self.block = _Block(cue, metal)  # "铜：…；铝：…", "（1）紫金矿业：…（2）…"

    def _more_follow(self, read: ListRead) -> bool:
        """Whether parallel lists follow a list: it ended at "；", at the colon of an item
        "（1）紫金矿业：…", or at a line break before a labelled line ("铜：紫金矿业")."""
        if read.ended_by == "colon" or _SEMICOLON.match(self.t, read.end):
            return True
        if read.ended_by != "line break":
            return False
        line = self.t.find("\n", read.end) + 1
        head = _HEAD.match(self.t, line)
        label = _LABEL.match(self.t, head.end() if head else line)
        return label is not None and self.lists.hit_at(label.start()) is None

    def _after(self, cue: Cue, stop: int, metal: str | None) -> ListRead | None:
        """Read the list after a LIST or LEAD cue. A LEAD word not followed by a company at
        once governs only its clause ("关注冶炼费触底后铜陵有色的修复机会"); None when that
        names no company either."""
        first = _lead_end(self.t, cue.end, words=cue.kind == LIST)
        if cue.kind == LEAD and self.lists.hit_at(first) is None:
            clause = _CLAUSE.search(self.t, first, stop)
            stop = clause.start() if clause else stop
            if not self.lists.hits_in(first, stop):
                return None
        inline = _LABEL.match(self.t, first, stop)  # 建议关注：铜：紫金矿业…
        list_metal = metal_of(inline["label"]) if inline else None
        if inline and list_metal:
            first = inline.end()
        read = self.lists.read(
            first, stop, list_metal or metal, span_start=cue.start, section=self._section()
        )
        self._keep(cue, read.mentions, read.ended_by)
        return read

    def _before(self, cue: Cue, floor: int, metal: str | None) -> None:
        """A TRAIL cue, a rating or a cue that ends its sentence: the names of the nearest
        clause before it that names any (with the clauses "以及…" continues); for a rating also
        its own words, else the company its paragraph (or the title) is about."""
        end = cue.end if cue.kind == RATING else cue.start
        bounds = [floor, *(m.end() for m in _CLAUSE.finditer(self.t, floor, end))]
        named = [k for k, a in enumerate(bounds) if self.lists.hits_in(a, end)]
        if named:
            k = named[-1]
            while k and GOES_ON.match(self.t, bounds[k]) and self.lists.hits_in(bounds[k - 1], end):
                k -= 1
            read = self.lists.read(bounds[k], end, metal, span_start=bounds[k],
                                   section=self._section())  # fmt: skip
            self._keep(cue, read.mentions, "clause before the cue")
            return
        if cue.kind == RATING and (about := self._subject(cue.start)) is not None:
            read = self.lists.read(about.start, about.end, metal, span_start=about.start,
                                   section=self._section())  # fmt: skip
            self._keep(cue, read.mentions, "the company its paragraph is about")
            return
        self._keep(cue, (), "no company named before it")

    def _subject(self, pos: int) -> Hit | None:
        """The company a rating is about: the one named by the first line of its paragraph (an
        item's title), else by the article's title, else the first its paragraph names."""
        para = self.t.rfind("\n\n", 0, pos) + 1
        heads = (self._line_hits(para), self._line_hits(0), self.lists.hits_in(para, pos))
        return next((hits[0] for hits in heads if hits), None)

    def _line_hits(self, start: int) -> list[Hit]:
        end = self.t.find("\n", start)
        return self.lists.hits_in(start, end if end >= 0 else len(self.t))

    def _intro(self, seg: _Segment, start: int) -> None:
        """ "我们建议从…配置：" and lists after it: advice that ends with a colon opens a block."""
        text = self.t[start : seg.end].rstrip(" *")
        if text.endswith(":") and any(w in lower_ascii(text) for w in INTRO_WORDS):
            self.block = _Block(Cue(start, seg.end, text, LIST), None)

    def _block_item(self, start: int, label: re.Match[str] | None, label_metal: str | None) -> bool:
        """An item inside a block: a list when it starts with a known company (after a label
        such as "铜：" or "港股：", a bullet or a table's "|"); a table's header lines before the
        first row are passed over."""
        assert self.block is not None
        named_label = label is not None and self.lists.hit_at(label.start()) is not None
        body = label.end() if label is not None and not named_label else start
        row = _ROW_START.match(self.t, body)
        first = row.end() if row else body
        if self.lists.hit_at(first) is None and self.lists.code_at(first) is None:
            cell = TABLE_CELL.fullmatch(self.t[start : self._item_end(start)].strip(" *|"))
            if cell and self.block.cells < _CELLS:  # "买入", "证券简称": a table's own cells
                self.block.cells += 1
                return True
            if not self.block.rows and self.block.headers:
                self.block.headers -= 1
                return True
            return False
        self.block.cells = 0
        metal = label_metal or self.block.metal
        read = self.lists.read(body, len(self.t), metal, span_start=start, section=self._section())
        self.block.rows += 1
        self._keep(self.block.cue, read.mentions, read.ended_by)
        return True

    def _item_end(self, start: int) -> int:
        end = self.t.find("\n", start)
        return end if end >= 0 else len(self.t)

    def _heading(self, seg: _Segment, start: int) -> None:
        """A short line on its own: a metal heading joins the section, any other opens one."""
        text = self.t[start : seg.end].strip(" *:")
        if not seg.ends_item or not 0 < len(text) <= 12 or re.search(r"\d", text):
            return
        metal = metal_of(text)
        if metal:
            self.section.append(metal)
        else:
            self.section = []

    def _section(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.section))

    def _keep(self, cue: Cue, mentions: tuple[Mention, ...], ended_by: str) -> None:
        self.reads.append(CueRead(cue, mentions, ended_by))
        if mentions:
            self.found.extend(mentions)
            self.consumed = max(self.consumed, mentions[-1].span[1])
