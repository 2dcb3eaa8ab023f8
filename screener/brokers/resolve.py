"""Company names as brokers write them → tickers of the instrument master.

A name is looked up, never guessed: the longest known name (or former name, or traditional form)
found at the END of the written token wins, so a descriptor glued in front ("稀土永磁龙头北方稀土")
falls away while an unknown name stays unresolved. A name that several A-shares answer to is
reported as ambiguous with every candidate; a name only Hong Kong answers to is ``hk_only``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from screener.hanzi import to_simplified
from screener.instruments import name_index, strip_st

RESOLVED = "resolved"
HK_ONLY = "hk_only"
UNRESOLVED = "unresolved"
AMBIGUOUS = "ambiguous"

_WIDTH = str.maketrans({chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "})
# Traditional forms of the marker, heading and metal words a note uses around the names; the
# table in hanzi.py covers the characters of company names and more.
_MORE_T2S = str.maketrans(
    "議關標薦點鎳屬證們頭為與個產鏈類價漲報題銻鈮鈾釩鈀鎵銦應對於從這將續繼來佈噸億週須險錳級",
    "议关标荐点镍属证们头为与个产链类价涨报题锑铌铀钒钯镓铟应对于从这将续继来布吨亿周须险锰级",
)
_STAR_SUFFIX = re.compile(r"-[UWD]{1,2}$")  # STAR/ChiNext markers 寒武纪-U, 九号公司-WD
_MIN_PROPER_SUFFIX = 3  # a 2-character tail of a longer token is too weak to stand for a name
# "洛阳钼业两家公司", "北方稀土龙头": a generic noun after the name, tried when the whole fails
_GENERIC_TAIL = re.compile(
    r"(?:[两二三四五六七八九十几多]家)?(?:上市)?(?:公司|企业|龙头|标的|个股)$"
)
_CODE = re.compile(r"(?<![\d.])(?:(\d{6})(?:\.(SH|SZ|BJ))?|(\d{4,5})\.HK)(?!\d)")


@dataclass(frozen=True)
class Resolution:
    """What a written name resolves to; ``tickers`` has one entry unless ambiguous."""

    status: str
    tickers: tuple[str, ...]
    board: str | None

    @property
    def ticker(self) -> str | None:
        return self.tickers[0] if self.status in (RESOLVED, HK_ONLY) else None

    @property
    def known(self) -> bool:
        return self.status != UNRESOLVED


_NOT_FOUND = Resolution(UNRESOLVED, (), None)


def normalise(text: str) -> str:
    """Half-width punctuation and simplified characters; the length is unchanged, so offsets into
    the result point into the original text too."""
    return to_simplified(text.translate(_WIDTH)).translate(_MORE_T2S)


def _keys(name: str) -> set[str]:
    """Lookup keys of one master name: normalised, without ST prefix or STAR suffix."""
    simple = re.sub(r"\s+", "", normalise(name))
    keys = {simple, strip_st(simple), _STAR_SUFFIX.sub("", simple)}
    return {k for k in keys if len(k) >= 2}


class NameResolver:
    """Name → ticker lookup built once per master frame (columns ticker, name, aliases, board,
    metals)."""

    def __init__(self, master: pl.DataFrame) -> None:
        names: dict[str, list[str]] = {}
        for name, tickers in name_index(master).items():
            for key in _keys(name):
                bucket = names.setdefault(key, [])
                bucket.extend(t for t in tickers if t not in bucket)
        self._names = {k: tuple(v) for k, v in names.items()}
        self._longest = max((len(k) for k in self._names), default=0)
        self._board: dict[str, str] = dict(
            zip(master["ticker"].to_list(), master["board"].to_list(), strict=True)
        )
        self._metals: dict[str, tuple[str, ...]] = {
            t: tuple(ms or ())
            for t, ms in zip(master["ticker"].to_list(), master["metals"].to_list(), strict=True)
        }

    def metals(self, ticker: str) -> tuple[str, ...]:
        """The master's metal tags of ``ticker`` (empty when unknown)."""
        return self._metals.get(ticker, ())

    def resolve(self, written: str) -> Resolution:
        """Resolve a normalised token; the longest known name at its end decides."""
        token = strip_st(re.sub(r"\s+", "", written))
        found = self._tail(token)
        bare = _GENERIC_TAIL.sub("", token)
        if found is None and bare != token:
            found = self._tail(bare)
        return found or _NOT_FOUND

    def by_code(self, remarks: tuple[str, ...]) -> Resolution | None:
        """The security a stock code in parentheses names ("601899.SH", "601899", "1378.HK")."""
        for remark in remarks:
            for m in _CODE.finditer(remark.upper()):
                code, suffix, hk = m.groups()
                if hk:
                    found = [f"{int(hk):05d}.HK"]
                else:
                    found = [
                        t
                        for t in self._board
                        if t[:6] == code and (suffix is None or t.endswith("." + suffix))
                    ]
                if len(found) == 1 and found[0] in self._board:
                    return self._classify((found[0],))
        return None

    def _tail(self, token: str) -> Resolution | None:
        for size in range(min(len(token), self._longest), 1, -1):
            tail = token[-size:]
            if tail in self._names and (size == len(token) or size >= _MIN_PROPER_SUFFIX):
                return self._classify(self._names[tail])
        return None

    def joins(self, left: str, right: str) -> bool:
        """Whether a known name runs across the break between ``left`` and ``right``.

        PDF extraction breaks lines inside names ("赣锋\\n锂业"); such a break must be joined,
        while a break between two whole names ("紫金矿业\\n洛阳钼业") separates them.
        """
        for a in range(1, min(len(left), self._longest) + 1):
            for b in range(1, min(len(right), self._longest - a) + 1):
                whole = a == len(left) and b == len(right)
                key = left[-a:] + right[:b]
                if (whole or a + b >= _MIN_PROPER_SUFFIX) and key in self._names:
                    return True
        return False

    def covers(self, text: str, start: int, end: int) -> bool:
        """Whether a known name in ``text`` overlaps ``text[start:end]`` and reaches beyond it.

        Keeps conjunctions inside names (盛和资源) from splitting a list entry.
        """
        lo = max(0, start - self._longest + 1)
        for s in range(lo, end):
            for e in range(max(start + 1, s + 2), min(len(text), s + self._longest) + 1):
                if (s < start or e > end) and text[s:e] in self._names:
                    return True
        return False

    def _classify(self, tickers: tuple[str, ...]) -> Resolution:
        """A-shares win over the H-share line of the same company; HK only when nothing else."""
        a_shares = tuple(t for t in tickers if self._board.get(t) != "hk")
        hk = tuple(t for t in tickers if self._board.get(t) == "hk")
        if len(a_shares) == 1:
            return Resolution(RESOLVED, a_shares, self._board.get(a_shares[0]))
        if a_shares:
            return Resolution(AMBIGUOUS, a_shares, None)
        if len(hk) == 1:
            return Resolution(HK_ONLY, hk, "hk")
        return Resolution(AMBIGUOUS, hk, None)
