"""The corpus of broker notes we wrote ourselves, and how well the reader does on it.

``tests/fixtures/notes/corpus/NAME.txt`` is a note; ``NAME.toml`` says what a careful reader
takes from it: the report ``date`` (absent when the note has none), the ``picks`` as
"TICKER NAME" strings, and the names the master lacks that a reader should report as
``unresolved``. The part of NAME before its first underscore is the note's style (weekly,
morning, deep, news, pdf, trad, en, mixed, company, multi).

A pick is its ticker, or "?name" when unresolved. Precision is the share of the reader's picks
that are expected; recall the share of expected picks the reader found.

    python -m tests.brokers.corpus        # the per-note table and the totals
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from screener.brokers import Lexicon, ParsedNote, parse_file
from screener.instruments import load_master

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "notes" / "corpus"


@dataclass(frozen=True)
class Expected:
    """A note's sidecar: its date and its picks (tickers, "?name" for unresolved ones)."""

    date: date | None
    picks: frozenset[str]


@dataclass(frozen=True)
class NoteScore:
    """The reader against the sidecar on one note."""

    name: str
    expected: Expected
    found: frozenset[str]
    dates: frozenset[date]  # report dates of the articles that gave picks

    @property
    def style(self) -> str:
        return self.name.split("_")[0]

    @property
    def hits(self) -> int:
        return len(self.found & self.expected.picks)

    @property
    def false(self) -> frozenset[str]:
        return self.found - self.expected.picks

    @property
    def missed(self) -> frozenset[str]:
        return self.expected.picks - self.found

    @property
    def date_ok(self) -> bool:
        want = {self.expected.date} if self.expected.date else set()
        return not self.found or self.dates == want


def notes() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))


def expected(note: Path) -> Expected:
    data = tomllib.loads(note.with_suffix(".toml").read_text(encoding="utf-8"))
    day = date.fromisoformat(data["date"]) if "date" in data else None
    picks = {p.split()[0] for p in data.get("picks", [])}
    picks |= {f"?{name}" for name in data.get("unresolved", [])}
    return Expected(day, frozenset(picks))


def found(note: ParsedNote) -> frozenset[str]:
    """The reader's picks as tickers, "?name" for names it could not resolve."""
    return frozenset(
        ticker if ticker else f"?{written}"
        for ticker, written in note.picks.select("ticker", "name_as_written").iter_rows()
    )


def score(lexicon: Lexicon) -> list[NoteScore]:
    scores = []
    for path in notes():
        note = parse_file(path, lexicon)
        dates = frozenset(note.picks["report_date"].drop_nulls().to_list())
        scores.append(NoteScore(path.stem, expected(path), found(note), dates))
    return scores


def totals(scores: list[NoteScore]) -> tuple[float, float]:
    """(precision, recall) over every pick of the corpus."""
    hits = sum(s.hits for s in scores)
    found_n = sum(len(s.found) for s in scores)
    wanted = sum(len(s.expected.picks) for s in scores)
    return hits / found_n if found_n else 1.0, hits / wanted if wanted else 1.0


def table(scores: list[NoteScore]) -> pl.DataFrame:
    """One row per note: expected and found picks, the false and the missed ones."""
    return pl.DataFrame(
        [
            {
                "note": s.name,
                "expected": len(s.expected.picks),
                "found": len(s.found),
                "hits": s.hits,
                "false": " ".join(sorted(s.false)),
                "missed": " ".join(sorted(s.missed)),
                "date_ok": s.date_ok,
            }
            for s in scores
        ]
    )


def main() -> int:
    scores = score(Lexicon.from_master(load_master()))
    wide = {"tbl_rows": -1, "tbl_width_chars": 160, "fmt_str_lengths": 60}
    with pl.Config(tbl_hide_dataframe_shape=True, **wide):
        print(table(scores))
    precision, recall = totals(scores)
    styles = sorted({s.style for s in scores})
    print(f"{len(scores)} notes in {len(styles)} styles ({', '.join(styles)})")
    print(f"precision {precision:.1%}, recall {recall:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
