"""Broker-note text → articles → picks: one row per company a note recommends, per metal.

A file of financial news holds several articles, each a title line, an ``outlet· date`` line and a
body. Picks come from the lists after markers such as 建议关注 (see ``extract.py``); names are
resolved against the instrument master (see ``resolve.py``). Nothing is guessed: a name the master
does not know stays ``unresolved`` and a name two A-shares answer to stays ``ambiguous``.

Example::

    note = parse_file("data/broker_notes/2026-02-08_sample_weekly_note.txt", load_master())
    note.picks.select("metal", "name_as_written", "ticker", "status")  # 56 rows
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from screener.brokers.extract import find_mentions, reflow
from screener.brokers.lists import Mention
from screener.brokers.resolve import AMBIGUOUS, UNRESOLVED, NameResolver, Resolution, normalise
from screener.errors import InputError
from screener.schema import BROKER_NOTES, BROKER_PICKS

# BROKER_PICKS plus ``candidates``: every ticker the name matched (two or more if ambiguous).
PICKS_SCHEMA: dict[str, pl.DataType] = {**BROKER_PICKS.columns, "candidates": pl.List(pl.String())}

UNRESOLVED_SCHEMA: dict[str, pl.DataType] = {
    "note_id": pl.String(),
    "seq": pl.Int64(),
    "name_as_written": pl.String(),
    "status": pl.String(),
    "candidates": pl.List(pl.String()),
    "context": pl.String(),
}

_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK (and of GB2312)
_DATE_LINE = re.compile(
    r"^\s*(?:(?:来源:\s*)?(?P<outlet>[^\d\n]{1,30}?)\s*(?:[·•|｜]|\s)\s*)?"
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*$"
)
_BROKER = r"[\u4e00-\u9fff]{2,4}(?:证券|期货)|中金公司|中信建投|申万宏源"
_BROKER_OUTLET = re.compile(rf"({_BROKER})(?:股份有限公司)?(?:研究所|研究院|研究部)?")
_BROKER_TITLE = re.compile(rf"\s*({_BROKER})(?:研究所)?\s*[:|]")
_BROKER_BODY = re.compile(
    rf"(?:据|近日|日前|今日|^|[^\u4e00-\u9fff])({_BROKER})(?:研究所)?"
    r"(?:研报|发布|认为|表示|指出|称|最新)"
)
_RATING = re.compile(
    r"(?:强烈推荐|谨慎推荐|审慎增持|谨慎增持|优于大市|强于大市|跑赢行业|推荐|买入|增持|持有|中性|"
    r"减持|卖出)(?:-[A-Z])?"
)
_CONTEXT = 24  # characters of text kept either side of an unresolved name


@dataclass(frozen=True)
class Article:
    """One article of a news file; ``line`` and ``body_line`` are 1-based line numbers."""

    title: str
    outlet: str | None
    published: date | None
    body: str
    line: int
    body_line: int
    text: str  # the article as it stands in the file, title to end: what note_id hashes

    @property
    def note_id(self) -> str:
        """Content address: importing the same article twice changes nothing."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def broker(self) -> str | None:
        """The broker behind the article: its outlet, a "XX证券:" title, or "XX证券认为"."""
        if m := _BROKER_OUTLET.fullmatch(normalise(self.outlet or "")):
            return m[1]
        if m := _BROKER_TITLE.match(normalise(self.title)):
            return m[1]
        if m := _BROKER_BODY.search(normalise(self.body[:400])):
            return m[1]
        return None


@dataclass(frozen=True)
class ParsedNote:
    """The articles of one text and the picks found in them.

    ``picks`` has the ``BROKER_PICKS`` columns plus ``candidates``; ``unresolved`` lists the
    entries that did not resolve to one security (status unresolved or ambiguous) with the text
    around them, so the master can be extended by hand.
    """

    source: str
    articles: tuple[Article, ...]
    picks: pl.DataFrame
    unresolved: pl.DataFrame

    def notes(self) -> pl.DataFrame:
        """``BROKER_NOTES`` rows for the articles that gave picks (imported_at left null)."""
        ids = set(self.picks["note_id"].to_list())
        rows = [
            {
                "note_id": a.note_id,
                "source": self.source,
                "broker": a.broker,
                "report_date": a.published,
                "title": a.title,
                "body": a.body,
            }
            for a in self.articles
            if a.note_id in ids
        ]
        return BROKER_NOTES.conform(pl.DataFrame(rows, schema=_notes_schema()), source=self.source)


def _notes_schema() -> dict[str, pl.DataType]:
    return {k: v for k, v in BROKER_NOTES.columns.items() if k != "imported_at"}


def _clean(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _date_line(line: str) -> tuple[str | None, date] | None:
    """``(outlet, date)`` when ``line`` is an "outlet· 2026-02-08 14:13" line, else None."""
    m = _DATE_LINE.match(normalise(line))
    if m is None:
        return None
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None
    outlet = (m["outlet"] or "").strip(" ·•|:")
    return (outlet or None), day


def split_articles(text: str) -> list[Article]:
    """Cut a news file into articles at each title line followed by an outlet/date line.

    Lines before the first title (page furniture) are dropped. Text without any date line is one
    article whose body is the whole text (its first line doubles as the title).
    """
    lines = _clean(text).split("\n")
    heads = [
        (i, found)
        for i in range(1, len(lines))
        if lines[i - 1].strip()
        and _date_line(lines[i - 1]) is None
        and (found := _date_line(lines[i])) is not None
    ]
    if not heads:
        body = "\n".join(lines).rstrip()
        first = next((n for n, line in enumerate(lines) if line.strip()), 0)
        title = lines[first].strip() if lines else ""
        return [Article(title, None, None, body, first + 1, 1, body.strip())] if title else []
    articles = []
    for n, (i, (outlet, day)) in enumerate(heads):
        end = heads[n + 1][0] - 1 if n + 1 < len(heads) else len(lines)
        body = "\n".join(lines[i + 1 : end]).rstrip()
        whole = "\n".join(lines[i - 1 : end]).strip()
        articles.append(Article(lines[i - 1].strip(), outlet, day, body, i, i + 2, whole))
    return articles


def parse_note(text: str, master: pl.DataFrame, *, source: str = "<text>") -> ParsedNote:
    """Find the picks of every article in ``text``.

    ``master`` is the instrument master (``screener.instruments.load_master()``): columns ticker,
    name, aliases, board, metals.
    """
    resolver = NameResolver(master)
    articles = tuple(split_articles(text))
    picks: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    for article in articles:
        orig = reflow(article.body)
        norm = normalise(orig)  # same length as orig: offsets point into both
        fixed = {
            "note_id": article.note_id,
            "broker": article.broker,
            "report_date": article.published,
            "title": article.title,
        }
        for seq, mention in enumerate(find_mentions(norm, orig, resolver), start=1):
            row = fixed | {"seq": seq} | _pick_fields(orig, mention, resolver)
            picks.append(row)
            if row["status"] in (UNRESOLVED, AMBIGUOUS):
                issues.append(_issue_row(row, orig, mention))
    return ParsedNote(
        source=source,
        articles=articles,
        picks=pl.DataFrame(picks, schema=PICKS_SCHEMA),
        unresolved=pl.DataFrame(issues, schema=UNRESOLVED_SCHEMA),
    )


def decode_note(raw: bytes, *, path: str | Path) -> str:
    """Bytes → text: UTF-8 (with or without BOM), else GBK/GB18030; anything else is an error."""
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # UTF-16 and binary files decode as Latin-ish junk with NULs
            break
        return text
    raise InputError(
        "not text in UTF-8, GBK or GB18030", path=path, hint="save the note as UTF-8 text"
    )


def parse_file(path: str | Path, master: pl.DataFrame) -> ParsedNote:
    """Read a note file (UTF-8, UTF-8 with BOM, GBK or GB18030) and parse it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the note ({exc.strerror})", path=path) from None
    text = decode_note(raw, path=path)
    if not text.strip():
        raise InputError("the note is empty", path=path)
    return parse_note(text, master, source=str(path))


def _pick_fields(body: str, mention: Mention, resolver: NameResolver) -> dict[str, Any]:
    """The columns of a pick that come from the list entry itself."""
    res = mention.resolution
    return {
        "metal": mention.metal or _section_metal(mention.section, res, resolver),
        "name_as_written": mention.written,
        "ticker": res.ticker,
        "board": res.board,
        "rating": next((m[0] for r in mention.remarks if (m := _RATING.search(r))), None),
        "status": res.status,
        "span": body[mention.span[0] : mention.span[1]].replace("**", ""),
        "candidates": list(res.tickers),
    }


def _section_metal(section: tuple[str, ...], res: Resolution, resolver: NameResolver) -> str | None:
    """A list without a metal of its own: the one section metal the company is tagged with,
    else the section's lead metal (贵金属 → 黄金 before 白银)."""
    if not section:
        return None
    if res.ticker is not None:
        tagged = [m for m in section if m in resolver.metals(res.ticker)]
        if len(tagged) == 1:
            return tagged[0]
    return section[0]


def _issue_row(row: dict[str, Any], body: str, mention: Mention) -> dict[str, Any]:
    lo, hi = max(0, mention.start - _CONTEXT), mention.end + _CONTEXT
    context = re.sub(r"\s+", " ", body[lo:hi]).strip()
    return {k: row[k] for k in ("note_id", "seq", "name_as_written", "status", "candidates")} | {
        "context": context
    }
