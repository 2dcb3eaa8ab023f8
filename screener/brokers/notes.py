"""Broker-note text → articles → picks: one row per company a note recommends, per metal.

``read_note(text, lexicon, date=None)`` is the reader's entry point and takes plain text, so a
PDF or HTML extractor can plug in before it. A file of financial news holds several articles,
each a title line, an ``outlet· date`` line and a body; a note without such lines is one
article, dated by its header (``dates.py``) or by ``date``. Each article is folded
(``text.py``), its names found by dictionary (``lexicon.py``) and its cues and lists read
(``extract.py``, ``lists.py``). Nothing is guessed: a name the master does not know stays
``unresolved``, a name two A-shares answer to stays ``ambiguous``, and a name no cue governs is
a mention, not a pick (``findings.py`` says why for each).

Example::

    lexicon = Lexicon.from_master(load_master())
    note = parse_file("data/broker_notes/2026-02-08_sample_weekly_note.txt", lexicon)
    note.picks.select("metal", "name_as_written", "ticker", "status")  # 56 rows
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import polars as pl

from screener.brokers.dates import note_date
from screener.brokers.extract import cue_spans, read_article
from screener.brokers.findings import (
    CANDIDATES_SCHEMA,
    CUES_SCHEMA,
    PICKS_SCHEMA,
    UNRESOLVED_SCHEMA,
    ArticleFindings,
    ArticleInfo,
)
from screener.brokers.lexicon import Lexicon
from screener.brokers.note_files import note_text
from screener.brokers.text import PhraseFinder, fold, normalise, phrase_breaks
from screener.errors import InputError
from screener.schema import BROKER_NOTES

_TITLE_LINES = 4  # lines above a date line that may hold a title broken inside a phrase
_DATE_LINE = re.compile(
    r"^[ \t]*(?:(?:来源:[ \t]*)?(?P<outlet>[^\d\n]{1,30}?)[ \t]*(?:[·•|｜]|[ \t])[ \t]*)?"
    r"(?P<y>\d{4})[ \t]*[-/.年][ \t]*(?P<m>\d{1,2})[ \t]*[-/.月][ \t]*(?P<d>\d{1,2})[ \t]*日?"
    r"(?:[ \t]*\d{1,2}:\d{2}(?::\d{2})?)?[ \t]*$",
    re.MULTILINE,
)
_YEAR_SEP = re.compile(r"\d{4}[ \t]*[-/.年]")  # what every date line holds
_BROKER = r"[\u4e00-\u9fff]{2,4}(?:证券|期货)|中金公司|中信建投|申万宏源"
_BROKER_OUTLET = re.compile(rf"({_BROKER})(?:股份有限公司)?(?:研究所|研究院|研究部)?")
_BROKER_TITLE = re.compile(rf"\s*({_BROKER})(?:研究所)?\s*[:|]")
_BROKER_BODY = re.compile(
    rf"(?:据|近日|日前|今日|^|[^\u4e00-\u9fff])({_BROKER})(?:研究所)?"
    r"(?:研报|发布|认为|表示|指出|称|最新)"
)


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
    dated_by: str | None = None  # where ``published`` comes from: "date line", "text: …"

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
    """The articles of one text and what was found in them.

    ``picks`` has the ``BROKER_PICKS`` columns plus ``candidates``; ``unresolved`` lists the
    picks that did not resolve to one security (status unresolved or ambiguous) with the text
    around them, so the master can be extended by hand. ``candidates`` and ``cues`` explain the
    reading (``findings.py``); ``warnings`` are things a reader of the note should check. The
    frames are built on first use: a frame costs about as much as reading a note.
    """

    source: str
    articles: tuple[Article, ...]
    found: tuple[ArticleFindings, ...]
    kind: str = "text"  # of the file the text came from: text, pdf, html
    text: str = ""  # the text that was read (a PDF's or a page's, as extracted)
    file_sha256: str = ""  # of the file's bytes, when read from a file

    @cached_property
    def picks(self) -> pl.DataFrame:
        return _frame([r for f in self.found for r in f.picks], PICKS_SCHEMA)

    @cached_property
    def unresolved(self) -> pl.DataFrame:
        return _frame([r for f in self.found for r in f.unresolved], UNRESOLVED_SCHEMA)

    @cached_property
    def candidates(self) -> pl.DataFrame:
        return _frame([r for f in self.found for r in f.candidates()], CANDIDATES_SCHEMA)

    @cached_property
    def cues(self) -> pl.DataFrame:
        return _frame([r for f in self.found for r in f.cues()], CUES_SCHEMA)

    @property
    def warnings(self) -> tuple[str, ...]:
        dated = [
            f"{a.title!r} is dated {a.published} by {CREATED}: the text gives no date"
            for a in self.articles
            if a.dated_by == CREATED
        ]
        return tuple(dict.fromkeys([*dated, *(w for f in self.found for w in f.warnings)]))

    @property
    def pick_count(self) -> int:
        return sum(len(f.picks) for f in self.found)

    @property
    def resolved(self) -> int:
        """Picks that name one security (A-share or Hong Kong)."""
        return sum(p["ticker"] is not None for f in self.found for p in f.picks)

    @property
    def cue_count(self) -> int:
        return sum(len(f.reading.cues) for f in self.found)

    def article_frame(self) -> pl.DataFrame:
        """One row per article: where it starts, its broker, date and where the date came from."""
        rows = [
            (n, a.line, a.title, a.broker, a.published, a.dated_by)
            for n, a in enumerate(self.articles, start=1)
        ]
        schema = ["article", "line", "title", "broker", "report_date", "dated_by"]
        return pl.DataFrame(rows, schema=schema, orient="row")

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
                "file_kind": self.kind,
                "file_sha256": self.file_sha256 or None,
            }
            for a in self.articles
            if a.note_id in ids
        ]
        return BROKER_NOTES.conform(pl.DataFrame(rows, schema=_notes_schema()), source=self.source)


def _notes_schema() -> dict[str, pl.DataType]:
    return {k: v for k, v in BROKER_NOTES.columns.items() if k != "imported_at"}


def _clean(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _date_lines(text: str) -> dict[int, tuple[str | None, date]]:
    """Line number (0-based) → ``(outlet, date)`` of every "outlet· 2026-02-08 14:13" line."""
    found: dict[int, tuple[str | None, date]] = {}
    norm = normalise(text)
    starts = {norm.rfind("\n", 0, y.start()) + 1 for y in _YEAR_SEP.finditer(norm)}
    for m in (_DATE_LINE.match(norm, at) for at in sorted(starts)):  # lines with a year only
        if m is None:
            continue
        try:
            day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
        outlet = (m["outlet"] or "").strip(" ·•|:")
        found[text.count("\n", 0, m.start())] = ((outlet or None), day)
    return found


def split_articles(text: str, phrases: PhraseFinder | None = None) -> list[Article]:
    """Cut a news file into articles at each title line followed by an outlet/date line.

    Lines before the first title (page furniture) are dropped. Text without any date line is one
    article whose body is the whole text (its first line doubles as the title). With
    ``phrases`` (``text.fold``'s finder), a line break inside a phrase ("建议\\n关注") ends no
    line, so a title keeps all of its lines.
    """
    clean = _clean(text)
    lines = clean.split("\n")
    dated = _date_lines(clean)
    heads = [i for i, (outlet, _) in sorted(dated.items()) if i > 0 and outlet is not None]
    if not heads:
        body = "\n".join(lines).rstrip()
        first = next((n for n, line in enumerate(lines) if line.strip()), 0)
        title = lines[first].strip() if lines else ""
        return [Article(title, None, None, body, first + 1, 1, body.strip())] if title else []
    start_of = _logical_lines(lines, _title_breaks(lines, heads, phrases) if phrases else set())
    heads = [
        i for i in heads if lines[i - 1].strip() and start_of[i] == i and i - 1 not in dated
    ]  # a bare date under a line is a note's header, not a new article
    articles = []
    for n, i in enumerate(heads):
        outlet, day = dated[i]
        top = start_of[i - 1]  # the title's first line
        end = start_of[heads[n + 1] - 1] if n + 1 < len(heads) else len(lines)
        title = "".join(lines[top:i]).strip()
        body = "\n".join(lines[i + 1 : end]).rstrip()
        whole = "\n".join(lines[top:end]).strip()
        articles.append(Article(title, outlet, day, body, top + 1, i + 2, whole))
    return articles


def _title_breaks(lines: list[str], heads: list[int], phrases: PhraseFinder) -> set[int]:
    """Offsets of the line breaks inside phrases in the few lines above each date line (where
    a title is; scanning only there keeps splitting a file cheap)."""
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    joined: set[int] = set()
    for i in heads:
        top = max(0, i - _TITLE_LINES)
        window = "\n".join(lines[top:i])
        joined |= {starts[top] + k for k in phrase_breaks(window, phrases)}
    return joined


def _logical_lines(lines: list[str], joined: set[int]) -> list[int]:
    """For each line, the first line of the logical line it belongs to: lines run on past a
    break in ``joined`` (offsets of line breaks in the text of ``lines``)."""
    start_of: list[int] = []
    pos = 0
    for i, line in enumerate(lines):
        start_of.append(start_of[i - 1] if i and pos - 1 in joined else i)
        pos += len(line) + 1
    return start_of


def read_note(
    text: str,
    lexicon: Lexicon,
    *,
    date: date | None = None,
    source: str = "<text>",
    created: date | None = None,
    kind: str = "text",
) -> ParsedNote:
    """Find the picks of every article in ``text`` (plain text, as decoded from a file).

    ``date``, when given, is the report date of every article, whatever the text says; without
    it an article is dated by its date line, else by its header (``dates.note_date``), else by
    ``created`` (a PDF's creation date). ``kind`` is the file's (text, pdf, html).
    """
    phrases: PhraseFinder = partial(_phrases, lexicon=lexicon)
    articles, found = [], []
    for number, raw in enumerate(split_articles(text, phrases), start=1):
        folded = fold(raw.text, phrases)
        article = _dated(raw, date, folded.text, created)
        articles.append(article)
        info = ArticleInfo(
            article.note_id, number, article.broker, article.published, article.title,
            article.line,
        )  # fmt: skip
        found.append(ArticleFindings(info, folded, read_article(folded, lexicon), lexicon))
    return ParsedNote(source, tuple(articles), tuple(found), kind=kind, text=text)


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows → a frame, column by column (several times faster than from a list of dicts)."""
    return pl.DataFrame({c: [r[c] for r in rows] for c in schema}, schema=schema)


def _phrases(flat: str, lexicon: Lexicon) -> list[tuple[int, int, Any, bool]]:
    return [*lexicon.phrases(flat), *cue_spans(flat)]


def _dated(
    article: Article, date: date | None, folded: str, created: date | None = None
) -> Article:
    """The article with its report date: ``date`` if given, its date line, else its header
    (read in the ``folded`` text, where no line break inside a phrase adds a line), else the
    file's creation date (a PDF's metadata: a warning says so)."""
    if date is not None:
        return dataclasses.replace(article, published=date, dated_by="--date")
    if article.published is not None:
        return dataclasses.replace(article, dated_by="date line")
    found = note_date(folded)
    if found is not None:
        return dataclasses.replace(article, published=found[0], dated_by=f"text: {found[1]}")
    if created is not None:
        return dataclasses.replace(article, published=created, dated_by=CREATED)
    return article


CREATED = "the file's creation date"


def parse_file(path: str | Path, lexicon: Lexicon, *, date: date | None = None) -> ParsedNote:
    """Read a note file, PDF, HTML or text told apart by content (``note_files.note_text``:
    text in reading order; text files in UTF-8, GBK or GB18030), and parse its text."""
    note = note_text(path)
    if not note.text.strip():
        raise InputError("the note is empty", path=path)
    parsed = read_note(
        note.text, lexicon, date=date, source=str(path), created=note.created, kind=note.kind
    )
    return dataclasses.replace(parsed, file_sha256=note.sha256)
