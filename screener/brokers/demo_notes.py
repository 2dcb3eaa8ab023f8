"""Synthetic broker notes for the demo market: one note a week, by metal, from its first week.

Why: the demo's default thesis buys among recent broker picks; with the sample note alone the
ledger starts in February 2026, so every earlier trigger episode had an empty universe and
``picks performance`` had a few weeks to show. These notes give the demo years of picks.

How a note is drawn, so it stays honest and repeatable:

1. Dates: every Sunday after the store's first session, up to its last session (a later end
   only adds notes; a note is never rewritten because the data grew). ``ingest demo``,
   ``update`` and the daily job's update of a demo store load them after the market.
2. Point in time: for each metal, the A-share names of the store's master tagged with it that
   are listed on the note's date and not delisted by then.
3. Picks: up to ``PER_METAL`` (2) of them, ranked by a seeded hash of (metal, quarter, ticker): a
   broker's coverage list changes each quarter, not each week, as real weekly notes do.
4. Import: the text (labelled synthetic in its header, broker ``合成证券``, file kind
   ``synthetic``) is read by ``notes.read_note`` and stored by ``ledger.import_parsed``, the
   path of every note file, so a pick means the same whatever its origin.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import polars as pl

from screener.brokers.ledger import ImportSummary, import_parsed
from screener.brokers.lexicon import Lexicon
from screener.brokers.notes import ParsedNote, read_note
from screener.brokers.vocab import METAL_WORDS
from screener.instruments import strip_st
from screener.rules import BOARDS
from screener.store import Store

SEED = 20260208
BROKER = "合成证券"  # a made-up broker: the outlet of every synthetic note
SOURCE = "synthetic weekly notes of the demo market"
KIND = "synthetic"  # broker_notes.file_kind: no file, generated
PER_METAL = 2
ROTATION_DAYS = 91  # a coverage list lasts a quarter
HEADER = (
    "【合成数据】本文由 screener 演示市场按固定种子生成，不是任何券商的研究报告，不构成投资建议。\n"
    "SYNTHETIC note generated for the screener demo market: not a real broker's note, "
    "not investment advice.\n"
)


def _heads() -> dict[str, str]:
    """metal -> the word a note heads its list with: the first Chinese word the reader maps
    to it (so the note reads back through the very vocabulary of real notes)."""
    heads: dict[str, str] = {}
    for word, tag in METAL_WORDS.items():
        if not word.isascii():
            heads.setdefault(tag, word)
    return heads


METAL_HEADS = _heads()


def note_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """Sundays after ``first`` up to ``last``: the dates of the weekly notes."""
    day = first + dt.timedelta(days=6 - first.weekday() or 7)
    out = []
    while day <= last:
        out.append(day)
        day += dt.timedelta(days=7)
    return out


@dataclass(frozen=True)
class Listing:
    """An A-share of the master, as a note's draw needs it."""

    ticker: str
    name: str
    list_date: dt.date | None
    delist_date: dt.date | None
    metals: tuple[str, ...]

    def alive(self, day: dt.date) -> bool:
        listed = self.list_date is None or self.list_date <= day
        return listed and (self.delist_date is None or self.delist_date > day)


def listings(master: pl.DataFrame) -> list[Listing]:
    """The master's A-shares (HK listings have no demo bars), once per run of notes."""
    shares = master.filter(pl.col("board").is_in(BOARDS))
    cols = shares.select("ticker", "name", "list_date", "delist_date", "metals").rows()
    return [Listing(t, n, ld, dd, tuple(m or ())) for t, n, ld, dd, m in cols]


def weekly_picks(shares: list[Listing], day: dt.date, seed: int = SEED) -> dict[str, list[Listing]]:
    """metal -> the names a note dated ``day`` recommends (steps 2 and 3 of the docstring)."""
    alive = [s for s in shares if s.alive(day)]
    quarter = (day - dt.date(2000, 1, 2)).days // ROTATION_DAYS
    picks: dict[str, list[Listing]] = {}
    for metal in METAL_HEADS:
        pool = [s for s in alive if metal in s.metals]
        pool.sort(key=lambda s: zlib.crc32(f"{seed}:{metal}:{quarter}:{s.ticker}".encode()))
        if pool:
            picks[metal] = pool[:PER_METAL]
    return picks


def note_text(day: dt.date, picks: dict[str, list[Listing]]) -> str:
    """The note as a broker's weekly reads: header, title, date line, a list per metal (names
    as notes write them, without a risk-warning prefix)."""
    week = day.isocalendar()
    lines = [
        HEADER,
        f"有色金属周报（合成）：{week.year}年第{week.week}周",
        f"{BROKER}· {day.isoformat()} 16:00",
        "本周观点",
        "- SYNTHETIC: 本文为演示市场的合成周报，所列公司按固定种子抽取，仅用于测试与演示。",
        "- **建议关注公司**：",
        *(
            f"  - **{METAL_HEADS[m]}**：{'、'.join(strip_st(s.name) for s in names)}等。"
            for m, names in picks.items()
        ),
        "风险提示",
        "- 合成数据，不代表任何观点。",
    ]
    return "\n".join(lines) + "\n"


def read_notes(master: pl.DataFrame, dates: list[dt.date], seed: int = SEED) -> list[ParsedNote]:
    """The notes of ``dates`` read as any note text is read."""
    lexicon, shares = Lexicon.from_master(master), listings(master)
    return [
        read_note(note_text(d, weekly_picks(shares, d, seed)), lexicon, source=SOURCE, kind=KIND)
        for d in dates
    ]


def load(store: Store, *, seed: int = SEED) -> ImportSummary:
    """Import the weekly notes over the store's sessions, drawn from its master (the demo
    market's, with its delistings). Deterministic: a second run changes nothing."""
    sessions = store.sessions()
    dates = note_dates(sessions[0], sessions[-1]) if sessions else []
    return import_parsed(store, read_notes(store.read_instruments(), dates, seed))


def summary_line(s: ImportSummary) -> str:
    """What a load did, in one line (``ingest demo``, ``update`` and the daily job say it)."""
    return (
        f"broker notes ({SOURCE}): {s.notes_new} new, {s.notes_unchanged} unchanged; "
        f"picks: {s.picks_new} new, {s.picks_updated} updated"
    )
