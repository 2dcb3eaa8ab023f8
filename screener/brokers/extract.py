"""Recommendation lists inside one article: where they are and which metal they are for.

The walk, in order:

1. Cut the body (already unwrapped by ``reflow`` if it was hard-wrapped) into segments at
   sentence ends (。；!? and citation marks like ``[3]``) and at item breaks (line breaks,
   `` - `` bullets). A segment may open with a label ("铜：", "**铝**:").
2. Headings set the context: a group heading (贵金属, 工业金属, ...) or any other short line opens
   a new section; a metal label adds its metal to the section (the first is the lead metal).
3. A marker (建议关注, 相关标的, ...) is followed by a list (read by ``lists.ListReader``). Its
   metal is a label right after the marker ("建议关注：铜：..."), else the phrase right before it
   ("稀土方面，建议关注"), else the label of the item, else it is decided per company from the
   section (``notes.py``). A marker followed by nothing, or a list ended by "；", opens a block:
   the next items that are lists ("**铜**:洛阳钼业、...") are read under their own labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from screener.brokers.lists import BOUNDARY, ListReader, Mention
from screener.brokers.resolve import NameResolver
from screener.brokers.vocab import metal_of, phrase_metal

MARKER = re.compile(
    r"建议(?:重点)?关注|推荐关注|重点推荐|标的方面|(?:相关|受益|推荐|关注|核心)(?:标的|公司|个股)"
)
# After the marker: "公司", then "有/包括/为" only when a noun precedes it (not "建议关注有色...").
_LEAD = re.compile(r"(?:(?<=公司|标的|个股)|公司|标的|个股)(?:有|包括|如下|如|为)?")
_COLON = re.compile(r"(?:\*\*)?\s*:?(?:\*\*)?")
_HEAD = re.compile(r"\s*(?:[-•*]\s+)?(?:\(?[一二三四五六七八九十\d]{1,2}[).、]\s*)?(?:\*\*)?\s*")
_LABEL = re.compile(r"(?P<label>[^,、。:;\s*()]{1,12}?)(?:\*\*)?\s*:(?:\*\*)?\s*")
_SEMICOLON = re.compile(r"[\s*]*;")
_MIN_WRAPPED, _MIN_WIDTH = 5, 16  # a wrapped text: at least 5 full lines of 16+ characters
_SENTENCE_END = set("。;!?；！？]】:：")
_BULLET_START = re.compile(r"\s*(?:[-•*]\s|\(?[一二三四五六七八九十\d]{1,2}[).、])")


def reflow(text: str) -> str:
    """Undo hard line wrapping (text copied from a PDF) so markers, labels and names are whole.

    Only text that looks wrapped is touched: at least half of its lines, and at least
    ``_MIN_WRAPPED``, reach the common width. Such a full line is joined to the next unless it
    ends a sentence or the next line starts a bullet; short lines (headings, paragraph ends)
    keep their break. Line breaks in other text are left to the list reader.
    """
    lines = text.split("\n")
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    if len(lengths) < _MIN_WRAPPED:
        return text
    width = lengths[(3 * len(lengths)) // 4]
    full = [width >= _MIN_WIDTH and len(line.rstrip()) >= 0.8 * width for line in lines]
    if sum(full) < max(_MIN_WRAPPED, len(lengths) / 2):
        return text
    out = [lines[0]]
    for prev, line, wrapped in zip(lines, lines[1:], full, strict=False):
        tail = prev.rstrip()[-1:]
        if not wrapped or tail in _SENTENCE_END or _BULLET_START.match(line):
            out.append("\n" + line)
        else:  # words of Latin text were wrapped at a space; anything else at any character
            out.append(" " + line if _is_letter(tail) and _is_letter(line[:1]) else line)
    return "".join(out)


def _is_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _lead_end(text: str, pos: int) -> int:
    """Where the list after a marker starts: past "公司有", "标的：", "**:" and the like."""
    lead = _LEAD.match(text, pos)
    pos = lead.end() if lead else pos
    colon = _COLON.match(text, pos)
    return colon.end() if colon else pos


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    new_item: bool  # preceded by a line break or bullet (or the start of the text)
    ends_item: bool  # followed by a line break or bullet (or the end of the text)


@dataclass(frozen=True)
class _Block:
    """A marker whose lists follow in the next items; ``metal`` is the marker's own."""

    metal: str | None


def segments(text: str) -> list[_Segment]:
    """Split ``text`` at sentence ends and item breaks (see the module docstring)."""
    out: list[_Segment] = []
    start, prev_item = 0, True
    for m in BOUNDARY.finditer(text):
        is_item = m.lastgroup == "item"
        out.append(_Segment(start, m.start(), prev_item, is_item))
        start, prev_item = m.end(), is_item
    out.append(_Segment(start, len(text), prev_item, True))
    return out


def find_mentions(norm: str, orig: str, resolver: NameResolver) -> list[Mention]:
    """Every recommendation-list entry in one article body, in reading order.

    ``norm`` is ``resolve.normalise(orig)``: the same length, so offsets point into both.
    """
    return _Walker(norm, orig, resolver).run()


class _Walker:
    """Reads one article body segment by segment, keeping the heading context."""

    def __init__(self, norm: str, orig: str, resolver: NameResolver) -> None:
        self.t = norm
        self.lists = ListReader(norm, orig, resolver)
        self.section: list[str] = []
        self.block: _Block | None = None
        self.consumed = 0  # text before this offset belongs to a list already read
        self.found: list[Mention] = []

    def run(self) -> list[Mention]:
        item_metal: str | None = None
        for seg in segments(self.t):
            if seg.new_item:
                item_metal = None
            if seg.start < self.consumed or not self.t[seg.start : seg.end].strip():
                continue
            head = _HEAD.match(self.t, seg.start, seg.end)
            start = head.end() if head else seg.start
            label = _LABEL.match(self.t, start, seg.end)
            label_metal = metal_of(label["label"]) if label else None
            item_metal = label_metal or item_metal
            self._segment(seg, start, label, label_metal, item_metal)
        return self.found

    def _segment(
        self,
        seg: _Segment,
        start: int,
        label: re.Match[str] | None,
        label_metal: str | None,
        item_metal: str | None,
    ) -> None:
        """One segment: continue an open block, note a heading, or read the lists after markers."""
        body = label.end() if label else start
        markers = list(MARKER.finditer(self.t, start, seg.end))
        in_block = self.block is not None and not markers and (label is None or label_metal)
        if in_block and self._block_list(start, body, label_metal):
            return
        self.block = None
        if label_metal:
            self.section.append(label_metal)
        elif not markers and label is None:
            self._heading(seg, start)
        for i, marker in enumerate(markers):
            stop = markers[i + 1].start() if i + 1 < len(markers) else len(self.t)
            metal = phrase_metal(self.t[body : marker.start()]) or item_metal
            first = _lead_end(self.t, marker.end())
            inline = _LABEL.match(self.t, first, stop)  # 建议关注：铜：紫金矿业…
            list_metal = metal_of(inline["label"]) if inline else None
            if inline and list_metal:
                first = inline.end()
            end = self._read(marker.start(), first, stop, list_metal or metal)
            if i + 1 < len(markers):
                continue
            if end is None and not self.t[first : seg.end].strip(" *:"):
                self.block = _Block(metal)  # "建议关注：" and nothing else: lists follow
            elif end is not None and _SEMICOLON.match(self.t, end):
                self.block = _Block(metal)  # "铜：…；铝：…": parallel lists follow

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

    def _block_list(self, label_start: int, body: int, label_metal: str | None) -> bool:
        """An item inside a block is a list only if it names at least one known company."""
        assert self.block is not None
        metal = label_metal or self.block.metal
        mentions = self.lists.read(
            body, len(self.t), metal, span_start=label_start, section=self._section()
        )
        if not any(m.resolution.known for m in mentions):
            return False
        self._keep(mentions)
        return True

    def _read(self, span_start: int, first: int, stop: int, metal: str | None) -> int | None:
        """Read the list after a marker; the offset where it ends, None when there is none."""
        mentions = self.lists.read(
            first, stop, metal, span_start=span_start, section=self._section()
        )
        self._keep(mentions)
        return mentions[-1].span[1] if mentions else None

    def _section(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.section))

    def _keep(self, mentions: list[Mention]) -> None:
        if mentions:
            self.found.extend(mentions)
            self.consumed = max(self.consumed, mentions[-1].span[1])
