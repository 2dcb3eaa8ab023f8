"""A note's text as the reader sees it: one script, one width, phrases whole.

``fold`` turns the text of a note into a ``Folded`` text in three steps:

1. ``normalise``: simplified characters and half-width punctuation (hanzi.py). Character for
   character, so offsets do not move.
2. Whitespace inside a known phrase goes: "建议 关注", "建議\\n關注", "赣锋\\n锂业" and a PDF's
   "中 国 铝 业" are found on the text with every whitespace removed, and only the whitespace
   inside such a finding is dropped. Whitespace anywhere else stays, because line breaks and
   spaces carry the structure of lists and tables.
3. Hard wrapping is undone (``_wrapped_breaks``): in text copied from a PDF, a full-width line
   continues on the next unless it ends a sentence or the next starts a bullet.

``Folded.origin`` maps an offset of the folded text back into the original, so everything the
reader reports can quote the note as it was written.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from typing import Any

import numpy as np

from screener.hanzi import plain

# Finds known phrases in a lower-case text with no whitespace: (start, end, what, joins) where
# ``what`` is anything the caller wants back and ``joins`` says whether whitespace inside it may
# go.
PhraseFinder = Callable[[str], Iterable[tuple[int, int, Any, bool]]]

_SPACE = re.compile(r"\s+")
_BREAK = re.compile("\n")
_SPACE_CODES = np.array([chr(c).isspace() for c in range(0x3001)])  # whitespace code points
_HAN_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")
_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
_MIN_WRAPPED, _MIN_WIDTH = 5, 16  # a wrapped text: at least 5 full lines of 16+ characters
_SENTENCE_END = set("。;!?；！？]】:：")
_TABLE_ROW = re.compile(r"\||\S(?: {2,}|\t)\S")  # columns: "| a | b |", "a   b"
_BULLET_START = re.compile(r"\s*(?:[-•*]\s|\(?[一二三四五六七八九十\d]{1,2}[).、])")


def normalise(text: str) -> str:
    """Simplified characters and half-width forms, offsets unchanged (紫金礦業（2899．HK）)."""
    return plain(text)


def lower_ascii(text: str) -> str:
    """Latin letters in lower case, offsets unchanged (``str.lower`` unless it would change
    the length, as for 'İ')."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_LOWER)


@dataclass(frozen=True)
class Folded:
    """``text`` is what the reader reads; ``origin`` maps its offsets into ``source``."""

    text: str
    source: str
    cuts: tuple[int, ...]  # offsets in ``text`` where removed characters were
    shifts: tuple[int, ...]  # characters removed up to and including each cut
    breaks: tuple[int, ...]  # offsets of the line breaks of ``source``
    phrases: tuple[tuple[int, int, Any], ...] = ()  # what the finder found, whole in ``text``

    def origin(self, i: int) -> int:
        """Offset in ``source`` of the character at ``i`` in ``text``."""
        k = bisect_right(self.cuts, i)
        return i + (self.shifts[k - 1] if k else 0)

    def origin_end(self, j: int) -> int:
        """Offset in ``source`` just past the character at ``j - 1`` in ``text``."""
        return self.origin(j - 1) + 1 if j > 0 else 0

    def written(self, start: int, end: int) -> str:
        """The original characters of ``text[start:end]`` (traditional, full-width), its line
        breaks and spaces tidied: none between Chinese characters, one elsewhere."""
        return tidy(self.source[self.origin(start) : self.origin_end(end)])

    @cached_property
    def low(self) -> str:
        """``text`` in lower case (same offsets): what names and cues are matched in."""
        return lower_ascii(self.text)

    def line(self, i: int) -> int:
        """1-based line of ``source`` that holds the character at ``i`` in ``text``."""
        return bisect_right(self.breaks, self.origin(i) - 1) + 1


def tidy(text: str) -> str:
    """Whitespace runs → one space, and none where both sides are Chinese ("赣锋\\n锂业")."""
    if _SPACE.search(text) is None:
        return text
    return _HAN_GAP.sub("", _SPACE.sub(" ", text)).strip()


def fold(source: str, phrases: PhraseFinder) -> Folded:
    """Normalise ``source``, drop whitespace inside phrases ``phrases`` finds, undo wrapping.

    ``phrases`` gets the normalised text without whitespace and yields what it finds there
    (see ``PhraseFinder``). A phrase that starts or ends with a Latin letter or digit counts
    only where it starts or ends a word of the normalised text ("we like", not "welike" in
    "overall we like"). The phrases that stand whole in the folded text come back in
    ``Folded.phrases``, at their offsets there.
    """
    norm = normalise(source)
    inner, found = _inside_phrases(norm, phrases)
    dropped = _runs(sorted(inner))
    kept_origin = _origin_map(dropped)
    breaks, spaces = _wrapped_breaks(_remove(norm, dropped))
    text = norm
    if spaces:  # a wrapped line of Latin text continues after a space, not glued
        chars = list(norm)
        for i in spaces:
            chars[kept_origin(i)] = " "
        text = "".join(chars)
    dropped = _runs(sorted(inner | {kept_origin(i) for i in breaks}))
    cuts, shifts = _cut_table(dropped)
    newlines = tuple(m.start() for m in _BREAK.finditer(source))
    folded = Folded(_remove(text, dropped), source, cuts, shifts, newlines)
    return dataclasses.replace(folded, phrases=_whole(found, dropped))


def phrase_breaks(source: str, phrases: PhraseFinder) -> set[int]:
    """Offsets of the line breaks of ``source`` that fall inside a phrase ("建议\\n关注"): no
    line ends there, for splitting a file into articles as for reading one."""
    norm = normalise(source)
    return {i for i in _inside_phrases(norm, phrases)[0] if norm[i] == "\n"}


def _inside_phrases(
    norm: str, phrases: PhraseFinder
) -> tuple[set[int], list[tuple[int, int, int, Any]]]:
    """The whitespace inside joinable phrases of ``norm``, and every phrase found: (start, end,
    its length without whitespace, what) in ``norm``."""
    flat, flat_origin = _without_whitespace(norm)
    inner: set[int] = set()
    found: list[tuple[int, int, int, Any]] = []
    spans = list(phrases(lower_ascii(flat)))
    starts = flat_origin[[s for s, _, _, _ in spans]].tolist() if spans else []
    lasts = flat_origin[[e - 1 for _, e, _, _ in spans]].tolist() if spans else []
    for (start, end, what, joins), a, last in zip(spans, starts, lasts, strict=True):
        b = last + 1
        if (norm[a].isascii() or norm[last].isascii()) and not _word_edges(norm, a, b):
            continue
        if b - a > end - start and joins:
            inner.update(i for i in range(a, b) if norm[i].isspace())
        found.append((a, b, end - start, what))
    return inner, found


def _without_whitespace(text: str) -> tuple[str, np.ndarray]:
    """``text`` without whitespace, and for each of its characters the offset in ``text``."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    low = codes < _SPACE_CODES.size
    space = np.zeros(codes.size, dtype=bool)
    space[low] = _SPACE_CODES[codes[low]]
    keep = np.flatnonzero(~space)
    return codes[keep].tobytes().decode("utf-32-le"), keep


def _whole(
    found: list[tuple[int, int, int, Any]], dropped: list[tuple[int, int]]
) -> tuple[tuple[int, int, Any], ...]:
    """Phrases at their offsets in the folded text, those the folding left whole."""
    starts = [a for a, _ in dropped]
    removed = list(accumulate(n for _, n in dropped))
    out = []
    for a, b, length, what in found:
        i, j = bisect_right(starts, a), bisect_right(starts, b - 1)
        start = a - (removed[i - 1] if i else 0)
        end = b - (removed[j - 1] if j else 0)
        if end - start == length:
            out.append((start, end, what))
    return tuple(out)


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions → (start, length) runs of consecutive positions."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][0] + runs[-1][1] == p:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((p, 1))
    return runs


def _remove(text: str, runs: list[tuple[int, int]]) -> str:
    """``text`` without the characters of ``runs``."""
    if not runs:
        return text
    parts, pos = [], 0
    for start, length in runs:
        parts.append(text[pos:start])
        pos = start + length
    parts.append(text[pos:])
    return "".join(parts)


def _origin_map(runs: list[tuple[int, int]]) -> Callable[[int], int]:
    """Offsets of a text with ``runs`` taken out → offsets of the original text."""
    cuts, shifts = _cut_table(runs)

    def origin(i: int) -> int:
        k = bisect_right(cuts, i)
        return i + (shifts[k - 1] if k else 0)

    return origin


def _cut_table(runs: list[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where each removed run sits in the shorter text, and the characters removed up to it."""
    cuts: list[int] = []
    shifts: list[int] = []
    total = 0
    for start, length in runs:
        cuts.append(start - total)
        total += length
        shifts.append(total)
    return tuple(cuts), tuple(shifts)


def _wrapped_breaks(text: str) -> tuple[list[int], list[int]]:
    """Line breaks of hard-wrapped text to remove, and those to turn into a space.

    Only text that looks wrapped is touched: at least half of its lines, and at least
    ``_MIN_WRAPPED``, reach the common width. Such a full line is joined to the next unless it
    ends a sentence or the next line starts a bullet; short lines (headings, paragraph ends)
    and table rows (columns set apart by "|" or runs of spaces) keep their break. Latin words
    wrapped at a space get the space back.
    """
    lines = text.split("\n")
    sizes = [len(line.rstrip()) for line in lines]
    lengths = sorted(n for n in sizes if n)
    if len(lengths) < _MIN_WRAPPED or lengths[(3 * len(lengths)) // 4] < _MIN_WIDTH:
        return [], []
    width = lengths[(3 * len(lengths)) // 4]
    enough = max(_MIN_WRAPPED, len(lengths) / 2)
    if sum(n >= 0.8 * width for n in sizes) < enough:  # most text: not wrapped, said quickly
        return [], []
    full = [
        n >= 0.8 * width and not _TABLE_ROW.search(ln) for n, ln in zip(sizes, lines, strict=True)
    ]
    if sum(full) < enough:
        return [], []
    breaks: list[int] = []
    spaces: list[int] = []
    pos = 0
    for prev, line, wrapped in zip(lines, lines[1:], full, strict=False):
        pos += len(prev)  # the line break after ``prev``
        tail = prev.rstrip()[-1:]
        row = _TABLE_ROW.search(line)
        if wrapped and tail not in _SENTENCE_END and not _BULLET_START.match(line) and not row:
            latin = _is_letter(tail) and _is_letter(line[:1])
            (spaces if latin else breaks).append(pos)
        pos += 1
    return breaks, spaces


def _word_edges(text: str, a: int, b: int) -> bool:
    """``text[a:b]`` does not cut a run of Latin letters or digits at either end."""
    glued_left = a > 0 and _alnum(text[a]) and _alnum(text[a - 1])
    glued_right = b < len(text) and _alnum(text[b - 1]) and _alnum(text[b])
    return not (glued_left or glued_right)


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _is_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()
