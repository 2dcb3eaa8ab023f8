"""One recommendation list → its entries, resolved: "紫金矿业、洛阳钼业和江西铜业等".

Reading stops where the list visibly ends: at 等 (and whatever follows it in that entry), a
sentence end or a new label, a line break not followed by a name, or an entry that is neither a
known name nor name-shaped (prose, a metal word). Entries split at 、 , / and, where no known name
spans them, at 及/和/与/以及. Text in parentheses stays with its entry: a rating (买入), a remark
(轻稀土龙头, A、H), a stock code (601899.SH), or the names of a metal group
"铜（紫金矿业、洛阳钼业）".

Text given here is normalised (``resolve.normalise``) and has the length of the original, so
offsets point into both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from screener.brokers.resolve import NameResolver, Resolution
from screener.brokers.vocab import GROUP_WORDS, metal_of

# Item breaks (line break, bullet) and sentence ends (incl. citation marks "[3]", "[3][7]").
BOUNDARY = re.compile(
    r"(?P<item>\n|(?:^|(?<=\s))[-•]\s|^[ \t]*\*\s)|(?P<sentence>[。;!?]|\[\d+(?:[,-]\d+)*\])",
    re.MULTILINE,
)
_DENG = re.compile(r"等.*$")  # "等", "等公司", "等铜矿龙头": the list ends with this entry
_CONJ = re.compile(r"以及|及|和|与")
_SEPARATORS = "、,/"
_PEEK_STOP = set(_SEPARATORS + ":()等*。;!?[")
_PEEK = 12  # characters looked at past a line break: longer than any company name
_NAME_SHAPE = re.compile(r"(?:\*?ST)?[\u4e00-\u9fffA-Za-z]{2,8}")
_NOT_NAME = re.compile(
    r"[的了是在将把被对价]|板块|行业|方面|走势|需求|供给|机会|配置|趋势|以下|如下|龙头|标的|个股"
    r"|^(?:优质|相关|核心|重点|上市)*(?:公司|企业)$"
)


def looks_like_name(text: str) -> bool:
    """Whether an unknown entry could be a company name rather than prose or a sector word."""
    return (
        _NAME_SHAPE.fullmatch(text) is not None
        and _NOT_NAME.search(text) is None
        and metal_of(text) is None
        and text not in GROUP_WORDS
    )


@dataclass(frozen=True)
class Mention:
    """One entry of a recommendation list, resolved against the master."""

    written: str  # as the note wrote it (original characters), parentheses left out
    start: int  # offsets of the entry in the article body
    end: int
    remarks: tuple[str, ...]  # normalised text inside parentheses after the name
    metal: str | None  # the metal the list is stated for; None → decided from the section
    section: tuple[str, ...]  # metals of the enclosing section, lead metal first
    span: tuple[int, int]  # offsets of the whole list (marker or label included)
    resolution: Resolution


@dataclass
class _Entry:
    """A list entry while it is read: offsets of its name characters and of its remarks."""

    chars: list[int] = field(default_factory=list)
    parens: list[tuple[int, int]] = field(default_factory=list)
    after_comma: bool = False

    def text(self, t: str) -> str:
        return "".join(t[i] for i in self.chars)


class _Part(NamedTuple):
    chars: list[int]
    entry: _Entry
    resolution: Resolution
    metal: str | None


class ListReader:
    """Reads the lists of one article body (normalised ``norm``, original ``orig``)."""

    def __init__(self, norm: str, orig: str, resolver: NameResolver) -> None:
        self.t, self.orig, self.res = norm, orig, resolver

    def read(
        self, start: int, stop: int, metal: str | None, *, span_start: int, section: tuple[str, ...]
    ) -> list[Mention]:
        """The entries of the list starting at ``start`` (never reading past ``stop``)."""
        parts = self._parts(self._scan(start, stop), metal)
        if not parts:
            return []
        last = parts[-1].entry
        span = (span_start, max([*last.chars, *(b for _, b in last.parens)]) + 1)
        return [
            Mention(
                written="".join(self.orig[i] for i in p.chars),
                start=p.chars[0],
                end=p.chars[-1] + 1,
                remarks=self._remarks(p.entry),
                metal=p.metal,
                section=section,
                span=span,
                resolution=p.resolution,
            )
            for p in parts
        ]

    def _remarks(self, entry: _Entry) -> tuple[str, ...]:
        return tuple(self.t[a:b].strip() for a, b in entry.parens)

    def _scan(self, start: int, stop: int) -> list[_Entry]:
        """Cut the text from ``start`` into entries until the list visibly ends."""
        t = self.t
        entries, cur, depth, j = [], _Entry(), 0, start
        while j < stop:
            c = t[j]
            if depth and c in "\n。;":  # an unclosed parenthesis ends with its sentence
                break
            if depth or c == "(":
                depth += (c == "(") - (c == ")")
                if c == "(" and depth == 1:
                    cur.parens.append((j + 1, j + 1))
                elif depth == 0:
                    cur.parens[-1] = (cur.parens[-1][0], j)
                j += 1
                continue
            if c.isspace():
                k = j
                while k < stop and t[k].isspace():
                    k += 1
                action = self._soft_break(cur, j, k, stop)
                if action == "end":
                    break
                if action == "split":
                    entries.append(cur)
                    cur = _Entry()
                j = k
                continue
            if c in ":)" or BOUNDARY.match(t, j):
                break
            if c in _SEPARATORS:
                entries.append(cur)
                if _DENG.search(cur.text(t)):
                    break
                cur = _Entry(after_comma=c == ",")
            elif not (c == "*" and "**" in t[j - 1 : j + 2]):  # markdown bold, not *ST
                cur.chars.append(j)
            j += 1
        entries.append(cur)
        return [e for e in entries if e.chars]

    def _soft_break(self, cur: _Entry, j: int, k: int, stop: int) -> str:
        """Whitespace inside a list: join a name broken by a line break, split, or end."""
        t = self.t
        if t.count("\n", j, k) >= 2 or k >= stop:
            return "end"
        if not cur.chars:
            return "join"
        word = self._peek(k, stop)
        if self.res.joins(cur.text(t), word) or t[k] in _SEPARATORS or t[k] == "等":
            return "join"  # a name broken in two, or the list goes on after the break
        if word and self.res.resolve(word).known:
            return "split"
        return "end"

    def _peek(self, k: int, stop: int) -> str:
        """The word after a line break, up to the next separator or space."""
        end = k
        while end < stop and end - k < _PEEK and not _ends_word(self.t[end]):
            end += 1
        return self.t[k:end]

    def _parts(self, entries: list[_Entry], metal: str | None) -> list[_Part]:
        """Resolve entries; an unknown entry that is not name-shaped ends the list."""
        parts: list[_Part] = []
        for entry in entries:
            deng = _DENG.search(entry.text(self.t))
            chars = entry.chars[: deng.start()] if deng else entry.chars
            group = metal_of("".join(self.t[i] for i in chars))
            if group and entry.parens:  # 铜（紫金矿业、洛阳钼业）: the names are inside
                for a, b in entry.parens:
                    parts += self._parts(self._scan(a, b), group)
            else:
                for piece in self._split_conjunctions(chars):
                    name = "".join(self.t[i] for i in piece)
                    res = self._resolve(name, entry)
                    if not res.known and (entry.after_comma or not looks_like_name(name)):
                        return parts
                    parts.append(_Part(piece, entry, res, metal))
            if deng:
                break
        return parts

    def _resolve(self, name: str, entry: _Entry) -> Resolution:
        """By name; a stock code in the parentheses settles an unknown or ambiguous name."""
        res = self.res.resolve(name)
        if res.ticker is None:
            coded = self.res.by_code(self._remarks(entry))
            if coded is not None and (not res.known or coded.tickers[0] in res.tickers):
                return coded
        return res

    def _split_conjunctions(self, chars: list[int]) -> list[list[int]]:
        """Split "紫金矿业和洛阳钼业" but not "盛和资源": only where no known name spans 和."""
        text = "".join(self.t[i] for i in chars)
        for m in _CONJ.finditer(text):
            a, b = m.span()
            if a == 0 or b >= len(text) or self.res.covers(text, a, b):
                continue
            left, right = text[:a], text[b:]
            if any(self.res.resolve(s).known for s in (left, right, _CONJ.split(right)[0])):
                return [chars[:a], *self._split_conjunctions(chars[b:])]
        return [chars]


def _ends_word(c: str) -> bool:
    """Characters that end the word peeked at after a line break."""
    return c.isspace() or c in _PEEK_STOP
