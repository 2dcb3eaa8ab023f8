"""The reader on the corpus of notes we wrote: precision, recall, and what must not matter.

The corpus and its scoring live in ``tests/brokers/corpus.py`` (``python -m
tests.brokers.corpus`` prints the per-note table).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.brokers import Lexicon, ParsedNote, read_note
from screener.brokers.vocab import CUES
from screener.hanzi import to_traditional
from screener.instruments import load_master
from tests.brokers import corpus

NOTES = corpus.notes()
CJK_CUES = sorted((c for c in CUES if not c.isascii()), key=len, reverse=True)
WHITESPACE = st.sampled_from([" ", "  ", "\n", "\u3000", "\r\n", "\t", " \n "])


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.from_master(load_master())


def test_the_corpus_has_forty_notes_in_eight_styles_each_with_its_picks() -> None:
    assert len(NOTES) >= 40
    assert len({p.stem.split("_")[0] for p in NOTES}) >= 8
    for note in NOTES:
        assert note.with_suffix(".toml").exists(), note


def test_precision_and_recall(lexicon: Lexicon) -> None:
    scores = corpus.score(lexicon)
    precision, recall = corpus.totals(scores)
    report = "\n".join(
        f"{s.name}: false {sorted(s.false)} missed {sorted(s.missed)} date_ok {s.date_ok}"
        for s in scores
        if s.false or s.missed or not s.date_ok
    )
    assert recall == 1.0 and precision >= 0.98, f"{precision=:.3f} {recall=:.3f}\n{report}"
    assert all(s.date_ok for s in scores), report
    assert corpus.table(scores).height == len(NOTES)


def picks(note: ParsedNote) -> Counter[tuple[str | None, str | None]]:
    return Counter(note.picks.select("ticker", "metal").iter_rows())


def _cue_spots(text: str) -> list[tuple[int, int]]:
    """Where the cue phrases of the table stand in ``text`` (longest first, no overlaps)."""
    spots: list[tuple[int, int]] = []
    for cue in CJK_CUES:
        start = text.find(cue)
        while start >= 0:
            if not any(a < start + len(cue) and start < b for a, b in spots):
                spots.append((start, start + len(cue)))
            start = text.find(cue, start + 1)
    return sorted(spots)


NOTES_WITH_CUES = [p for p in NOTES if _cue_spots(p.read_text(encoding="utf-8"))]
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data())
def test_whitespace_inside_a_cue_changes_nothing(lexicon: Lexicon, data: st.DataObject) -> None:
    path: Path = data.draw(st.sampled_from(NOTES_WITH_CUES))
    text = path.read_text(encoding="utf-8")
    start, end = data.draw(st.sampled_from(_cue_spots(text)))
    cuts = data.draw(st.lists(st.integers(start + 1, end - 1), min_size=1, max_size=3, unique=True))
    spaced = text
    for cut in sorted(cuts, reverse=True):
        spaced = spaced[:cut] + data.draw(WHITESPACE) + spaced[cut:]
    assert picks(read_note(spaced, lexicon)) == picks(read_note(text, lexicon)), (path.name, cuts)


@SETTINGS
@given(data=st.data())
def test_traditional_characters_change_nothing(lexicon: Lexicon, data: st.DataObject) -> None:
    path: Path = data.draw(st.sampled_from(NOTES))
    text = path.read_text(encoding="utf-8")
    swappable = [i for i, c in enumerate(text) if to_traditional(c) != c]
    if not swappable:
        return
    chosen = set(data.draw(st.lists(st.sampled_from(swappable), min_size=1, unique=True)))
    mixed = "".join(to_traditional(c) if i in chosen else c for i, c in enumerate(text))
    assert picks(read_note(mixed, lexicon)) == picks(read_note(text, lexicon)), path.name
