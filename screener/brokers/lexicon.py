"""Company names and stock codes in a note → instruments of the master.

Names are found by dictionary, not by punctuation: every name, former name and alias of the
master (and the current name without its ST prefix or STAR suffix) is a key of one Aho-Corasick
automaton (pyahocorasick), built once per master. ``names`` reports the longest key at each
place, so a name is found whatever follows it (紫金矿业近期…, 天齐锂业缅甸…) and 中国宏桥 is
found inside 宏创控股/中国宏桥. Keys are folded like the text (``text.normalise``, lower-case
Latin, no whitespace). Two guards keep short keys honest: a key of two Chinese characters (金泰,
an ST name without its prefix) counts only where it stands alone, and a key that starts or ends
with a Latin letter or digit (CMOC, Zijin Mining) only as whole words.

What a name resolves to: one A-share → resolved; several A-shares → ambiguous, all listed; a
company listed in Shanghai or Shenzhen and in Hong Kong → its A-share line, unless the note asks
for the H shares (an HK code next to the name, or "H股"); a company only Hong Kong lists →
hk_only. Stock codes are read in the usual forms (601899, 601899.SH, SH601899, 601899 CH,
002466-CN, 2899.HK, 02899 HK, HK2899, and 紫金礦業(2899) in Hong Kong notes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick
import polars as pl

from screener.brokers.text import Folded, lower_ascii, normalise
from screener.instruments import strip_st

RESOLVED = "resolved"
HK_ONLY = "hk_only"  # resolved to a Hong Kong line: no A-share bars
UNRESOLVED = "unresolved"
AMBIGUOUS = "ambiguous"

_STAR_SUFFIX = re.compile(r"-[UWD]{1,2}$")  # STAR/ChiNext markers 寒武纪-U, 九号公司-WD
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_AFTER_SHORT = set("等及和与")  # "金泰等", "金泰和…" still leave 金泰 standing alone
_CODE = re.compile(
    r"(?<![0-9A-Za-z.])(?:"
    r"(?P<pre>sh|sz|bj)\s*[.:]?\s*(?P<a1>\d{6})"
    r"|(?P<a2>\d{6})\s*[-.]?\s*(?P<suf>sh|sz|bj|ss|ch|c1|c2|cn)"
    r"|(?P<h1>\d{1,5})\s*[-.]?\s*hk(?:\s+equity)?"
    r"|hk\s*[.:]?\s*(?P<h2>\d{1,5})"
    r"|(?P<bare>\d{6})"
    r"|(?<=\()(?P<hk_bare>\d{4,5})(?=\))"
    r")(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_EXCHANGE = {"sh": ".SH", "ss": ".SH", "sz": ".SZ", "bj": ".BJ"}
_DIGITS = re.compile(r"\d+")
_PREFIX = re.compile(r"(?:sh|sz|bj|hk)\s*[.:]?\s*$", re.IGNORECASE)  # SH601899, HK 2899


@dataclass(frozen=True)
class Resolution:
    """What a name or code resolves to; ``tickers`` has one entry unless ambiguous.

    ``via`` says what decided it: "name 紫金矿业", "alias 紫金礦業", "code 2899.HK".
    """

    status: str
    tickers: tuple[str, ...]
    board: str | None
    via: str = ""

    @property
    def ticker(self) -> str | None:
        return self.tickers[0] if self.status in (RESOLVED, HK_ONLY) else None

    @property
    def known(self) -> bool:
        return self.status != UNRESOLVED


NOT_FOUND = Resolution(UNRESOLVED, (), None)


@dataclass(frozen=True)
class Key:
    """One folded spelling and the securities that carry it, with the master text it came
    from per ticker ("name 紫金矿业", "alias Zijin Mining")."""

    text: str
    tickers: tuple[str, ...]
    vias: tuple[str, ...]
    short: bool  # two Chinese characters: counts only standing alone


@dataclass(frozen=True)
class Hit:
    """A key found in a text: ``text[start:end]`` spells it."""

    start: int
    end: int
    key: Key


@dataclass(frozen=True)
class Code:
    """A stock code found in a text; ``tickers`` are the master's securities it names."""

    start: int
    end: int
    text: str
    tickers: tuple[str, ...]
    bare: bool  # digits without an exchange: a code only beside a name it may stand for


def fold_key(name: str) -> str:
    """The form a name is looked up in: normalised, lower-case Latin, no whitespace."""
    return lower_ascii(_SPACE.sub("", normalise(name)))


class Lexicon:
    """Names and codes of one instrument master (columns ticker, name, aliases, board,
    metals). Build it once with ``from_master`` and read any number of notes with it."""

    def __init__(self, keys: Sequence[Key], master: pl.DataFrame) -> None:
        self._keys = tuple(keys)
        self._auto = ahocorasick.Automaton()
        for key in self._keys:  # what a match gives back, ready for ``phrases``
            self._auto.add_word(key.text, (len(key.text), key, not key.short))
        self._auto.make_automaton()
        rows = master.select("ticker", "name", "board", "metals").rows()
        self._name = {t: n for t, n, _, _ in rows}
        self._board = {t: b for t, _, b, _ in rows}
        self._metals = {t: tuple(ms or ()) for t, _, _, ms in rows}
        self._by_code: dict[str, list[str]] = {}
        for t in self._board:
            self._by_code.setdefault(t.split(".")[0], []).append(t)
        self._plain = {key.text: self._by_name(key) for key in self._keys}

    @classmethod
    def from_master(cls, master: pl.DataFrame) -> Lexicon:
        """Every name, alias, ST-less and STAR-less current name of ``master`` as a key."""
        found: dict[str, dict[str, str]] = {}  # key → ticker → via
        for ticker, name, aliases in master.select("ticker", "name", "aliases").rows():
            spellings = [
                ("name", name, f) for f in (name, strip_st(name), _STAR_SUFFIX.sub("", name))
            ]
            spellings += [("alias", a, a) for a in aliases or ()]
            for kind, shown, form in spellings:
                key = fold_key(form)
                if len(key) >= 2:
                    found.setdefault(key, {}).setdefault(ticker, f"{kind} {shown}")
        keys = [
            Key(k, tuple(v), tuple(v.values()), len(k) == 2 and bool(_HAN.fullmatch(k[0])))
            for k, v in found.items()
        ]
        return cls(keys, master)

    # -- lookups ------------------------------------------------------------------------------
    def name(self, ticker: str) -> str | None:
        """The master's current name of ``ticker``."""
        return self._name.get(ticker)

    def metals(self, ticker: str) -> tuple[str, ...]:
        """The master's metal tags of ``ticker`` (empty when unknown)."""
        return self._metals.get(ticker, ())

    # -- scanning -----------------------------------------------------------------------------
    def phrases(self, flat: str) -> list[tuple[int, int, Key, bool]]:
        """Names in ``flat`` (lower-case, without whitespace) for ``text.fold``: each with its key,
        and whether the whitespace a PDF put inside it may go (not in a two-character key)."""
        return [
            (last + 1 - size, last + 1, key, joins)
            for last, (size, key, joins) in self._auto.iter_long(flat)
        ]

    def names(self, folded: Folded, *, openers: tuple[str, ...] = ()) -> list[Hit]:
        """Every name of a folded text (the phrases ``fold`` kept whole), longest first where
        keys overlap. A two-character name right after one of ``openers`` (cue words:
        "看好云铝") stands alone too."""
        text, low = folded.text, folded.low
        return [
            Hit(start, end, key)
            for start, end, key in folded.phrases
            if isinstance(key, Key)
            and (not key.short or _alone(text, start, end, low[:start].endswith(openers)))
            and _whole_words(low, start, end)
        ]

    def codes(self, text: str) -> list[Code]:
        """Every stock code in ``text`` (normalised); ``tickers`` empty for codes not in the
        master."""
        out: list[Code] = []
        for run in _DIGITS.finditer(text):  # every code has digits: try only where they are
            if (out and run.start() < out[-1].end) or not _may_be_code(text, run):
                continue
            for at in _starts(text, run.start()):
                m = _CODE.match(text, at)
                if m is not None and m.end() >= run.end():
                    code = self._code(m)
                    if code.tickers or not code.bare:  # a bare number naming nothing: no code
                        out.append(code)
                    break
        return out

    def _code(self, m: re.Match[str]) -> Code:
        six = m["a1"] or m["a2"] or m["bare"]
        if six:
            mark = (m["pre"] or m["suf"] or "").lower()
            suffix = _EXCHANGE.get(mark)
            found = [t for t in self._by_code.get(six, ()) if not t.endswith(".HK")]
            tickers = tuple(t for t in found if suffix is None or t.endswith(suffix))
        else:
            hk = f"{int(m['h1'] or m['h2'] or m['hk_bare']):05d}.HK"
            tickers = (hk,) if hk in self._board else ()
        bare = m["bare"] is not None or m["hk_bare"] is not None
        return Code(m.start(), m.end(), m[0], tickers, bare)

    # -- resolution ---------------------------------------------------------------------------
    def resolve(
        self, hit: Hit, *, codes: Sequence[Code] = (), h_shares: bool = False
    ) -> Resolution:
        """What ``hit`` names: the A-share line by default; the line a code beside it names;
        the H shares when the note says so (``h_shares``)."""
        key = hit.key
        if not codes and not h_shares:
            return self._plain[key.text]
        coded = [t for c in codes for t in c.tickers if t in key.tickers]
        if coded:
            chosen = next((t for t in coded if self._board.get(t) != "hk"), coded[0])
            code = next(c.text for c in codes if chosen in c.tickers)
            return self._classify((chosen,), f"{key.vias[key.tickers.index(chosen)]} + code {code}")
        if h_shares:
            hk = tuple(t for t in key.tickers if self._board.get(t) == "hk")
            if len(hk) == 1:
                return self._classify(hk, f"{key.vias[key.tickers.index(hk[0])]} + H股")
        return self._plain[key.text]  # the H shares asked for, but the name has none

    def _by_name(self, key: Key) -> Resolution:
        """What a name resolves to with nothing beside it (worked out once per key)."""
        res = self._classify(key.tickers, "")
        via = key.vias[key.tickers.index(res.tickers[0])] if res.ticker else "; ".join(key.vias)
        return Resolution(res.status, res.tickers, res.board, via)

    def resolve_code(self, code: Code) -> Resolution:
        """What a code names on its own (unresolved when the master lacks it)."""
        if not code.tickers:
            return Resolution(UNRESOLVED, (), None, f"code {code.text} is not in the master")
        return self._classify(code.tickers, f"code {code.text}")

    def _classify(self, tickers: Sequence[str], via: str) -> Resolution:
        """A-shares win over the H-share line of the same company; HK only when nothing else."""
        a_shares = tuple(t for t in tickers if self._board.get(t) != "hk")
        hk = tuple(t for t in tickers if self._board.get(t) == "hk")
        if len(a_shares) == 1:
            return Resolution(RESOLVED, a_shares, self._board.get(a_shares[0]), via)
        if a_shares:
            return Resolution(AMBIGUOUS, a_shares, None, via)
        if len(hk) == 1:
            return Resolution(HK_ONLY, hk, "hk", via)
        return Resolution(AMBIGUOUS, hk, None, via)


def _may_be_code(text: str, run: re.Match[str]) -> bool:
    """Six digits, or fewer with "HK" or brackets around them: a price or a year is no code."""
    start, end = run.span()
    if end - start == 6:
        return True
    if end - start > 5:
        return False
    around = text[max(0, start - 4) : end + 4].lower()
    return "hk" in around or (text[start - 1 : start] == "(" and text[end : end + 1] == ")")


def _starts(text: str, digits: int) -> list[int]:
    """Where a code holding the digits at ``digits`` may start: at an exchange prefix before
    them ("SH601899", "HK: 2899"), else at the digits."""
    before = _PREFIX.search(text, max(0, digits - 5), digits)
    return [before.start(), digits] if before else [digits]


def _alone(text: str, start: int, end: int, opened: bool) -> bool:
    """A two-character name not glued to other Chinese characters (金泰、… but not 金泰和路);
    ``opened``: what comes before it is a cue, not part of a word."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    free_before = opened or not _HAN.match(before)
    return free_before and (not _HAN.match(after) or after in _AFTER_SHORT)


def _whole_words(low: str, start: int, end: int) -> bool:
    """A key that starts or ends with a Latin letter or digit must not run into another."""
    first, last = low[start], low[end - 1]
    if first.isascii() and first.isalnum() and start and _alnum(low[start - 1]):
        return False
    return not (last.isascii() and last.isalnum() and end < len(low) and _alnum(low[end]))


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()
