"""What the reader found in one article, as rows: the picks, the names left unresolved, and for
``picks parse --explain`` every cue and every name or code with the decision taken and why.

A company picked twice for the same metal in one article is one pick; the second mention is
a "repeat". A name no cue governs is a "mention", kept apart from the picks with the reason:
no cue in its sentence, or the list of the cue before it had already ended (and where).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from screener.brokers.extract import RATING, CueRead, Reading
from screener.brokers.lexicon import AMBIGUOUS, UNRESOLVED, Lexicon
from screener.brokers.lists import SENTENCE_END, Mention
from screener.brokers.text import Folded
from screener.brokers.vocab import RATING_WORD, TRAIL
from screener.schema import BROKER_PICKS

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
# One row per name or code the reader met: what was read, what it resolved to, and why.
CANDIDATES_SCHEMA: dict[str, pl.DataType] = {
    "article": pl.Int64(),
    "line": pl.Int64(),
    "written": pl.String(),
    "decision": pl.String(),  # pick, repeat, unresolved, ambiguous, mention
    "seq": pl.Int64(),
    "ticker": pl.String(),
    "name": pl.String(),
    "via": pl.String(),  # the master's name, alias or the code that decided it
    "metal": pl.String(),
    "reason": pl.String(),
    "context": pl.String(),
}
CUES_SCHEMA: dict[str, pl.DataType] = {
    "article": pl.Int64(),
    "line": pl.Int64(),
    "written": pl.String(),
    "cue": pl.String(),
    "kind": pl.String(),
    "picks": pl.Int64(),
    "ended": pl.String(),
}
_CONTEXT = 24  # characters of text kept either side of a name


@dataclass(frozen=True)
class ArticleInfo:
    """What the rows of one article repeat: its id, number, broker, date, title, first line."""

    note_id: str
    number: int  # 1-based position in the file
    broker: str | None
    report_date: date | None
    title: str
    line: int  # line of the file where the article starts


class ArticleFindings:
    """What one article gave: its picks, unresolved names and warnings at once; the rows that
    explain the reading (every candidate, every cue) when asked for."""

    def __init__(self, info: ArticleInfo, folded: Folded, reading: Reading, lexicon: Lexicon):
        self.info, self.folded, self.reading, self.lexicon = info, folded, reading, lexicon
        self.picks: list[dict[str, Any]] = []
        self.unresolved: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._decided: list[tuple[Mention, str, int, str | None]] = []  # decision, seq, metal
        seen: dict[tuple[str, str | None], int] = {}
        spans: dict[tuple[int, int], str] = {}  # the text of each list, once per list
        for m in reading.mentions:
            res = m.resolution
            metal = m.metal or _section_metal(m.section, res.ticker, lexicon)
            key = (res.ticker or m.written, metal)
            if key in seen:
                self._decided.append((m, "repeat", seen[key], metal))
                continue
            seq = seen[key] = len(seen) + 1
            if m.span not in spans:
                spans[m.span] = folded.written(*m.span).replace("**", "")
            self.picks.append(_pick(info, spans[m.span], m, seq, metal))
            status = res.status
            self._decided.append((m, status if status in (UNRESOLVED, AMBIGUOUS) else "pick", seq,
                                  metal))  # fmt: skip
            if status in (UNRESOLVED, AMBIGUOUS):
                context = _Where(info, folded, m.start, m.end).context()
                self.unresolved.append(_issue(info, m, seq, context))
            if m.warning:
                self.warnings.append(m.warning)
            if status == AMBIGUOUS:
                self.warnings.append(f"{m.written}: ambiguous, one of {', '.join(res.tickers)}")

    def candidates(self) -> list[dict[str, Any]]:
        """One row per name or code met: every list entry, then every name no cue governs."""
        info, folded, lexicon = self.info, self.folded, self.lexicon
        cue_of = {id(m): r for r in self.reading.cues for m in r.mentions}
        rows: list[tuple[int, dict[str, Any]]] = []  # (offset, row): in reading order
        for m, decision, seq, metal in self._decided:
            read = cue_of[id(m)]
            line = info.line + folded.line(read.cue.start) - 1
            why = f"same as pick #{seq}" if decision == "repeat" else _why(read, m, line)
            where = _Where(info, folded, m.start, m.end)
            rows.append((m.start, where.row(decision, seq, m.resolution, lexicon, metal, why)))
        picked = {m.start for m, _, _, _ in self._decided}
        for hit in (h for h in self.reading.hits if h.start not in picked):
            reason = _outside(folded.text, self.reading.cues, hit.start)
            where = _Where(info, folded, hit.start, hit.end)
            row = where.row("mention", None, lexicon.resolve(hit), lexicon, None, reason)
            rows.append((hit.start, row))
        return [row for _, row in sorted(rows, key=lambda r: r[0])]

    def cues(self) -> list[dict[str, Any]]:
        """One row per cue: where, what kind, how many picks, why its list ended."""
        return [_cue_row(self.info, self.folded, r) for r in _merged(self.reading.cues)]


@dataclass(frozen=True)
class _Where:
    info: ArticleInfo
    folded: Folded
    start: int
    end: int

    def context(self) -> str:
        source = self.folded.source
        lo = max(0, self.folded.origin(self.start) - _CONTEXT)
        hi = self.folded.origin_end(self.end) + _CONTEXT
        return re.sub(r"\s+", " ", source[lo:hi]).strip()

    def row(
        self, decision: str, seq: int | None, res: Any, lex: Lexicon, metal: str | None, why: str
    ) -> dict[str, Any]:
        ticker = res.ticker
        return {
            "article": self.info.number,
            "line": self.info.line + self.folded.line(self.start) - 1,
            "written": self.folded.written(self.start, self.end).replace("**", ""),
            "decision": decision,
            "seq": seq,
            "ticker": ticker if ticker else ", ".join(res.tickers) or None,
            "name": lex.name(ticker) if ticker else None,
            "via": res.via or None,
            "metal": metal,
            "reason": why,
            "context": self.context(),
        }


def _pick(info: ArticleInfo, span: str, m: Mention, seq: int, metal: str | None) -> dict[str, Any]:
    res = m.resolution
    rating = next((r[0] for remark in m.remarks if (r := RATING_WORD.search(remark))), None)
    return {
        "note_id": info.note_id,
        "seq": seq,
        "broker": info.broker,
        "report_date": info.report_date,
        "title": info.title,
        "metal": metal,
        "name_as_written": m.written,
        "ticker": res.ticker,
        "board": res.board,
        "rating": rating,
        "status": res.status,
        "span": span,
        "candidates": list(res.tickers),
    }


def _issue(info: ArticleInfo, m: Mention, seq: int, context: str) -> dict[str, Any]:
    res = m.resolution
    return {
        "note_id": info.note_id,
        "seq": seq,
        "name_as_written": m.written,
        "status": res.status,
        "candidates": list(res.tickers),
        "context": context,
    }


def _why(read: CueRead, m: Mention, line: int) -> str:
    """Why a list entry is a pick, or why it did not resolve."""
    cue, res = read.cue, m.resolution
    said = f"{cue.phrase[:16]} (line {line})"
    if res.status == UNRESOLVED:
        reason = res.via or "no name, alias or code of the master matches it"
        return f"after {said}, but {reason}"
    if res.status == AMBIGUOUS:
        return f"after {said}, but {len(res.tickers)} securities carry this name"
    if cue.kind == RATING:
        return f"rated: {said} ({read.ended_by})"
    if cue.kind == TRAIL or read.ended_by == "clause before the cue":
        return f"named before {said}"
    return f"in the list after {said}"


def _section_metal(section: tuple[str, ...], ticker: str | None, lexicon: Lexicon) -> str | None:
    """A list without a metal of its own: the one section metal the company is tagged with,
    else the section's lead metal (贵金属 → 黄金 before 白银)."""
    if not section:
        return None
    if ticker is not None:
        tagged = [m for m in section if m in lexicon.metals(ticker)]
        if len(tagged) == 1:
            return tagged[0]
    return section[0]


def _outside(text: str, reads: tuple[CueRead, ...], pos: int) -> str:
    """Why a name is no pick: the cue before it in its sentence had ended its list, or none."""
    before = [r for r in reads if r.cue.end <= pos and r.cue.kind not in (TRAIL, RATING)]
    if before:
        last = before[-1]
        between = text[last.cue.end : pos]
        if not SENTENCE_END.search(between) and "\n\n" not in between:
            return f"the list after {last.cue.phrase} had ended ({last.ended_by}) before it"
    return "no recommendation cue governs it"


def _merged(reads: tuple[CueRead, ...]) -> list[CueRead]:
    """One row per cue: the rows of a block are the reads of its cue."""
    by_cue: dict[int, CueRead] = {}
    for r in reads:
        old = by_cue.get(r.cue.start)
        by_cue[r.cue.start] = r if old is None else CueRead(r.cue, old.mentions + r.mentions,
                                                           r.ended_by)  # fmt: skip
    return list(by_cue.values())


def _cue_row(info: ArticleInfo, folded: Folded, read: CueRead) -> dict[str, Any]:
    cue = read.cue
    return {
        "article": info.number,
        "line": info.line + folded.line(cue.start) - 1,
        "written": folded.written(cue.start, cue.end),
        "cue": cue.phrase,
        "kind": cue.kind,
        "picks": len(read.mentions),
        "ended": read.ended_by,
    }
