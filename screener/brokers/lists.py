"""One recommendation list → its entries: "紫金矿业、洛阳钼业和江西铜业等".

Names come from the dictionary scan (``lexicon.Lexicon.names``) and are read whole, so
separators only say where an entry ends: 、 , / | and 及/和/与/以及/and (the 和 of 盛和资源 is
inside a name, so it separates nothing). Text in parentheses stays with its entry: a rating
(买入), a remark (A、H), a stock code (601899.SH), or the names of a metal group
"铜（紫金矿业、洛阳钼业）".

An entry with names gives one pick per name, whatever else it says ("紫金矿业近期…"). An entry
without one gives a pick by the stock code in it, else an unresolved pick when it is shaped like
a company name ("示范铝业"), else nothing: it is prose. The list ends at a sentence end, a colon,
a semicolon, a line break not followed by a name, a contrast word (而, 但, over), after the entry
that holds 等 (unless the next one goes on with 以及/及/和), or at the first prose entry after a
pick. Before its first pick a list reads past prose ("…的龙头公司，如紫金矿业").

Offsets are offsets of the folded text (``text.Folded.text``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from screener.brokers.lexicon import NOT_FOUND, Code, Hit, Lexicon, Resolution
from screener.brokers.text import Folded
from screener.brokers.vocab import CONJUNCTIONS, GROUP_WORDS, LIST_STOPS, metal_of

# Sentence ends; a Latin full stop only before whitespace and not after a digit ("1. "), an
# initial or an abbreviation ("Co. Ltd").
SENTENCE_END = re.compile(
    r"[。!?]|(?<![0-9])(?<!\b[A-Z])(?<!\b[Cc]o)(?<!\b[Nn]o)(?<!\b[Vv]s)(?<!\b[Ll]td)"
    r"(?<!\b[Ii]nc)(?<!\b[Cc]orp)\.(?=\s|$)"
)
CITATION = re.compile(r"\[\d+(?:[,-]\d+)*\]")  # "[3]", "[3][7]": a PDF summary's sources
_BULLET_ITEM = re.compile(r"(?<=\s)[-•]\s")
_SEPARATORS = "、,/|"
_HAN_CONJ = "|".join(c for c in CONJUNCTIONS if not c.isascii())
_LATIN_CONJ = "|".join(re.escape(c) for c in CONJUNCTIONS if c.isascii())
_CONJ = re.compile(rf"{_HAN_CONJ}|(?<=\s)(?:{_LATIN_CONJ})(?=\s)", re.IGNORECASE)
_CONJ_FIRST = {c[0] for c in CONJUNCTIONS}
# A conjunction that carries a list on: after 等 ("等，以及…"), or at a clause's start.
GOES_ON = re.compile(rf"\s*(?:{_HAN_CONJ}|(?:{_LATIN_CONJ})(?![a-z]))", re.IGNORECASE)
_OPEN, _CLOSE = "([【", ")]】"
_BULLET = re.compile(r"[ \t]*(?:[-•*]+[ \t]*|\(?[一二三四五六七八九十\d]{1,2}[).、][ \t]*)?")
_H_SHARES = re.compile(r"\s*\(?\s*h股?\s*\)?(?![a-z0-9、,/+&])", re.IGNORECASE)
_STOP_FIRST = {w[0] for w in LIST_STOPS}
# Characters (and words) where an entry may end or change; everything else is read past.
_SPECIAL = re.compile(
    r"[、,/|:;()\[\]【】\n。!?.等及和与&•\-]|(?<=\s)(?:and|as well as|"
    + "|".join(w for w in LIST_STOPS if w.isascii())
    + r")(?![a-z])"
)
_STOP = re.compile("|".join(rf"(?<![a-z])(?:{w})(?![a-z])" for w in LIST_STOPS), re.IGNORECASE)
_NAME_SHAPE = re.compile(r"(?:\*?ST)?[\u4e00-\u9fffA-Za-z]{2,8}")
_NOT_NAME = re.compile(
    r"[的了是在将把被对价]|板块|行业|方面|走势|需求|供给|机会|配置|趋势|以下|如下|龙头|标的|个股"
    r"|买入|增持|持有|评级|公告|^(?:优质|相关|核心|重点|上市)*(?:公司|企业)$"
)
_STRIP = re.compile(r"[\s*]+")
# How company names end (see ``_plausible``).
_COMPANY_TAIL = re.compile(
    r"(?:矿业|资源|股份|集团|控股|实业|科技|材料|新材|能源|有色|黄金|白银|稀土|铜业|铝业|锂业|钴业"
    r"|钼业|锡业|锌业|镍业|钨业|磁材|磁业|国际|发展|合金|金属|电子|电气|工业|化工|环保|精密)$"
)


def _plausible(name: str, beside_known: bool) -> bool:
    """An unknown entry is taken for a company when it ends like one (示范铝业), or when it is
    short and stands in a list with known companies (新金路, 铜冠铜箔 beside 海亮股份)."""
    return _COMPANY_TAIL.search(name) is not None or (beside_known and len(name) <= 4)


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

    written: str  # as the note wrote it (original characters)
    start: int  # offsets of the name (or the unknown entry) in the folded text
    end: int
    remarks: tuple[str, ...]  # text inside parentheses after the name
    metal: str | None  # the metal the list is stated for; None → decided from the section
    section: tuple[str, ...]  # metals of the enclosing section, lead metal first
    span: tuple[int, int]  # offsets of the whole list (cue or label included)
    resolution: Resolution
    warning: str | None = None  # e.g. a code beside the name that names another company


@dataclass(frozen=True)
class ListRead:
    """The entries of one list, where it ended and why."""

    mentions: tuple[Mention, ...]
    end: int
    ended_by: str


class _Part(NamedTuple):
    """A pick while its list is read: where, what it resolved to, its metal and remarks."""

    start: int
    end: int
    res: Resolution
    warning: str | None
    metal: str | None
    remarks: tuple[str, ...]


@dataclass
class _Entry:
    start: int
    end: int = 0
    parens: list[tuple[int, int]] = field(default_factory=list)
    after_comma: bool = False
    deng: int | None = None  # offset of 等: names after it do not count


class ListReader:
    """Reads the lists of one folded article text, given its names and codes."""

    def __init__(
        self, folded: Folded, hits: Sequence[Hit], codes: Sequence[Code], lexicon: Lexicon
    ) -> None:
        self.f, self.t, self.lex = folded, folded.text, lexicon
        self.low = folded.low
        self.hits, self.codes = hits, codes
        self._hit_starts = [h.start for h in hits]
        self._code_starts = [c.start for c in codes]

    def hit_at(self, pos: int) -> Hit | None:
        """The name that starts at ``pos``, if any."""
        i = bisect_left(self._hit_starts, pos)
        return self.hits[i] if i < len(self.hits) and self.hits[i].start == pos else None

    def code_at(self, pos: int) -> Code | None:
        i = bisect_left(self._code_starts, pos)
        return self.codes[i] if i < len(self.codes) and self.codes[i].start == pos else None

    def hits_in(self, start: int, end: int) -> list[Hit]:
        i = bisect_left(self._hit_starts, start)
        out = []
        while i < len(self.hits) and self.hits[i].start < end:
            out.append(self.hits[i])
            i += 1
        return out

    def _codes_in(self, start: int, end: int) -> list[Code]:
        i = bisect_left(self._code_starts, start)
        out = []
        while i < len(self.codes) and self.codes[i].end <= end:
            out.append(self.codes[i])
            i += 1
        return out

    # -- the list -----------------------------------------------------------------------------
    def read(
        self, start: int, stop: int, metal: str | None, *, span_start: int, section: tuple[str, ...]
    ) -> ListRead:
        """The entries of the list starting at ``start`` (never reading past ``stop``)."""
        found: list[_Part] = []
        pos, ended_by, last_end, prose = start, "end of text", start, False
        while pos < stop:
            hit = self.hit_at(pos)
            if hit is not None and hit.end < stop and self.t[hit.end] in _SEPARATORS:
                # the common entry, a name and a separator: nothing else to look at
                res = self.lex.resolve(hit)
                found.append(_Part(hit.start, hit.end, res, None, metal, ()))
                last_end, pos = max(last_end, hit.end), hit.end + 1
                continue
            entry, nxt, why = self._entry(pos, stop)
            if entry is not None:
                parts = self._parts(entry, metal, unknown=not prose)
                if parts is None and found:  # prose after a pick ends the list
                    ended_by = f"prose: {self._quote(entry.start, entry.end)}"
                    break
                prose = prose or parts is None
                if parts:
                    found.extend(parts)
                    last_end = max(last_end, entry.end)
                if why is None and entry.deng is not None:
                    why = "" if GOES_ON.match(self.low, nxt) else "等"
            if why:
                ended_by = why
                break
            pos = nxt
        known = any(p.res.known for p in found)
        names = [(p, self.f.written(p.start, p.end).replace("**", "")) for p in found]
        names = [(p, w) for p, w in names if p.res.known or _plausible(w, known)]
        span = (span_start, max([last_end, *(p.end for p, _ in names)]))
        mentions = tuple(
            Mention(w, p.start, p.end, p.remarks, p.metal, section, span, p.res, p.warning)
            for p, w in names
        )
        return ListRead(mentions, span[1] if names else start, ended_by)

    def _entry(self, pos: int, stop: int) -> tuple[_Entry | None, int, str | None]:
        """The entry at ``pos``: (entry or None, where the next begins, why the list ends)."""
        t, low = self.t, self.low
        entry, depth = _Entry(pos), 0
        entry.after_comma = pos > 0 and t[pos - 1] == ","
        lead = GOES_ON.match(low, pos)  # "、以及…", "，和…": the conjunction opens the entry
        j = lead.end() if lead else pos
        stop_word = _STOP.match(low, j) if low[j : j + 1] in _STOP_FIRST else None
        if stop_word:  # "，而洛阳钼业…": a contrast, not a list entry
            return self._close(entry, j), j, f"contrast: {stop_word[0]}"
        while j < stop:
            special = _SPECIAL.search(low, j, stop)
            k = special.start() if special else stop
            hit = self._hit_over(k)
            if hit is not None and hit.start >= j and not depth:  # a character inside a name
                j = hit.end
                continue
            if special is None:
                j = stop
                break
            c = t[k]
            if depth:
                if c in "\n。;":  # an unclosed parenthesis ends with its sentence
                    return self._close(entry, k), k, "unclosed bracket"
                depth += (c in _OPEN) - (c in _CLOSE)
                if depth == 0:
                    entry.parens[-1] = (entry.parens[-1][0], k)
            elif (end := self._ends_entry(entry, k, stop)) is not None:
                return end
            elif c in _OPEN:
                depth = 1
                entry.parens.append((k + 1, k + 1))
            elif c == "等" and entry.deng is None:
                entry.deng = k
            j = k + 1
        return self._close(entry, min(j, stop)), min(j, stop), None

    def _ends_entry(
        self, entry: _Entry, k: int, stop: int
    ) -> tuple[_Entry | None, int, str | None] | None:
        """What the character at ``k`` does to the entry, outside parentheses: end it (and
        maybe the list), or nothing (None)."""
        t, low, c = self.t, self.low, self.t[k]
        if c in _SEPARATORS:
            return self._close(entry, k), k + 1, None
        if c == "\n":
            goes_on, nxt = self._line_break(k, stop)
            return self._close(entry, k), nxt, None if goes_on else "line break"
        if c in ":;" or c in _CLOSE:
            why = {":": "colon", ";": "semicolon"}.get(c, "sentence end")
            return self._close(entry, k), k + 1, why
        if c in "。!?" or (c == "." and SENTENCE_END.match(t, k)):
            return self._close(entry, k), k + 1, "sentence end"
        if (c == "[" and CITATION.match(t, k)) or (c in "-•" and _BULLET_ITEM.match(t, k)):
            return self._close(entry, k), k, "sentence end"
        if c in _CONJ_FIRST and (conj := _CONJ.match(low, k)) and k > entry.start:
            return self._close(entry, k), conj.end(), None
        if c.isalpha() and t[k - 1].isspace() and (stop_word := _STOP.match(low, k)):
            return self._close(entry, k), k, f"contrast: {stop_word[0]}"
        return None

    def _hit_over(self, k: int) -> Hit | None:
        """The name that holds the character at ``k``, if any."""
        i = bisect_right(self._hit_starts, k) - 1
        return self.hits[i] if i >= 0 and self.hits[i].end > k else None

    def _close(self, entry: _Entry, end: int) -> _Entry | None:
        entry.end = end
        return entry if self.t[entry.start : end].strip(" *\t") else None

    def _line_break(self, j: int, stop: int) -> tuple[bool, int]:
        """At a line break inside a list: whether the list goes on, and where."""
        k = j
        while k < stop and self.t[k].isspace():
            k += 1
        if self.t.count("\n", j, k) >= 2 or k >= stop:
            return False, k
        bullet = _BULLET.match(self.t, k)
        k2 = bullet.end() if bullet else k
        named = self.hit_at(k2) is not None or self.code_at(k2) is not None
        return named or self.t[k2 : k2 + 1] in tuple(_SEPARATORS), k2

    # -- one entry ----------------------------------------------------------------------------
    def _parts(self, entry: _Entry, metal: str | None, *, unknown: bool) -> list[_Part] | None:
        """The picks of one entry; None when it is prose. ``unknown``: an entry shaped like a
        name is an unresolved pick (not after prose the list read past)."""
        limit = entry.deng if entry.deng is not None else entry.end
        own = self.hits_in(entry.start, limit)
        in_parens: list[Hit] = []
        if entry.parens:
            in_parens = [h for a, b in entry.parens for h in self.hits_in(a, b)]
            inner = {h.start for h in in_parens}
            own = [h for h in own if h.start not in inner]
        remarks = tuple(self.t[a:b].strip() for a, b in entry.parens)
        if own:
            return [_Part(h.start, h.end, *self._resolve(h, entry, own), metal, remarks)
                    for h in own]  # fmt: skip
        head = self._head(entry)
        group = metal_of(head)
        if in_parens and (group or not looks_like_name(head)):  # 铜（紫金矿业、洛阳钼业）
            return [_Part(h.start, h.end, *self._resolve(h, entry, in_parens), group or metal,
                          remarks) for h in in_parens]  # fmt: skip
        codes = [c for c in self._codes_in(entry.start, entry.end) if self._counts(c, entry)]
        if codes and looks_like_name(head):  # "示范铜业（000630）": the code says who it is
            by_code = self.lex.resolve_code(codes[0])
            return [_Part(entry.start, self._head_end(entry), by_code, None, metal, remarks)]
        if codes:
            return [_Part(c.start, c.end, self.lex.resolve_code(c), None, metal, remarks)
                    for c in codes]  # fmt: skip
        if unknown and looks_like_name(head) and not entry.after_comma:
            return [_Part(entry.start, self._head_end(entry), NOT_FOUND, None, metal, remarks)]
        return None

    def _resolve(self, hit: Hit, entry: _Entry, names: list[Hit]) -> tuple[Resolution, str | None]:
        """A name with the codes that stand beside it (up to the next name) and 'H股'."""
        h_shares = "h" in self.low[hit.end : hit.end + 3] and bool(
            _H_SHARES.match(self.low, hit.end)
        )
        if not self._codes_in(entry.start, entry.end):
            return self.lex.resolve(hit, h_shares=h_shares), None
        after = [h.start for h in names if h.start > hit.start]
        before = [h.end for h in names if h.end <= hit.start]
        beside = self._codes_in(hit.end, after[0] if after else entry.end)
        if not beside:  # "SH600547山东黄金", "2899.HK 紫金矿业": the code comes first
            beside = self._codes_in(before[-1] if before else entry.start, hit.start)
        codes = [c for c in beside if c.tickers or not c.bare]
        res = self.lex.resolve(hit, codes=codes, h_shares=h_shares)
        named = {t for c in codes if not c.bare for t in c.tickers}
        warn = None
        if named and not named & set(hit.key.tickers):
            shown = ", ".join(c.text for c in codes)
            warn = f"{self.f.written(hit.start, hit.end)}: code {shown} names another company"
        return res, warn

    def _counts(self, code: Code, entry: _Entry) -> bool:
        """A bare six-digit number is a code only in brackets ("示范铜业（000630）")."""
        return not code.bare or any(a <= code.start and code.end <= b for a, b in entry.parens)

    def _head(self, entry: _Entry) -> str:
        """The entry's text outside parentheses, without whitespace and markdown stars."""
        return _STRIP.sub("", self.t[entry.start : self._head_end(entry)])

    def _head_end(self, entry: _Entry) -> int:
        end = entry.deng if entry.deng is not None else entry.end
        return min([end, *(a - 1 for a, _ in entry.parens)])

    def _quote(self, start: int, end: int) -> str:
        text = " ".join(self.f.written(start, end).split())
        return text if len(text) <= 20 else text[:19] + "…"
