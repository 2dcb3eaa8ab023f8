"""Broker-note reading speed: 1,000 notes of 5,000 characters against a master of 6,000 names.

The master is the shipped one (196 rows) plus synthetic A-shares with made-up four-character
names, each with a traditional-form alias, so the automaton holds about 12,000 keys. Each note
is one article of paragraphs drawn from the corpus notes (tests/fixtures/notes/corpus), so the
reader works as on real notes: cues, lists, tables, traditional characters, English, news
paragraphs full of names that are no picks; now and then a list of synthetic names. Aim:
<= 2 s for the 1,000 notes.

Two figures: reading (``read_note``: articles, cues, lists, picks and the explanation rows) and
the same with the result frames built (polars, about 1 ms a note, done when a caller first asks
for ``picks``).

    .venv/bin/python benchmarks/bench_notes.py [--notes 1000] [--chars 5000] [--names 6000]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import polars as pl

from screener.brokers import Lexicon, read_note
from screener.brokers.extract import find_cues
from screener.brokers.text import normalise
from screener.hanzi import to_traditional
from screener.instruments import load_master
from screener.schema import INSTRUMENTS

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "notes" / "corpus"
SYLLABLES = "金银铜铝锌锡镍钴锂稀磁钨钼锑钛镁华中国东西南北新宏兴盛鑫泰安达恒远"
SUFFIXES = ["矿业", "资源", "股份", "有色", "新材", "科技", "集团", "控股"]


def synthetic_master(size: int, seed: int = 7) -> pl.DataFrame:
    """The shipped master plus made-up A-shares up to ``size`` rows, names all distinct."""
    rng = random.Random(seed)
    master = load_master()
    taken = set(master["name"].to_list())
    rows = []
    code = 600000
    while master.height + len(rows) < size:
        name = "".join(rng.choice(SYLLABLES) for _ in range(2)) + rng.choice(SUFFIXES)
        if name in taken:
            continue
        taken.add(name)
        while f"{code}.SH" in set(master["ticker"]):
            code += 1
        rows.append({"ticker": f"{code}.SH", "name": name, "aliases": [to_traditional(name)],
                     "board": "main", "metals": ["copper"]})  # fmt: skip
        code += 1
    extra = INSTRUMENTS.conform(pl.DataFrame(rows))
    return pl.concat([master, extra])


def synthetic_notes(
    count: int, chars: int, names: list[str], *, prose: int = 0, seed: int = 11
) -> list[str]:
    """``count`` one-article notes of ``chars`` characters: a title and a date line, then
    paragraphs of the corpus notes (every style, their own title lines left out) in random
    order, each followed by ``prose`` paragraphs without a cue; now and then a list of
    synthetic names."""
    rng = random.Random(seed)
    paragraphs = [
        line
        for path in sorted(CORPUS.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").split("\n")[2:]
        if line.strip()
    ]
    plain = [p for p in paragraphs if not find_cues(normalise(p))]
    notes = []
    for n in range(count):
        parts = [f"有色金属周报（第{n}期）", "示例证券· 2026-03-16 08:00"]
        size = sum(len(p) + 1 for p in parts)
        while size < chars:
            line = rng.choice(paragraphs)
            if rng.random() < 0.05:
                line = f"另外建议关注{'、'.join(rng.sample(names, 3))}等公司。"
            for extra in [line, *rng.sample(plain, prose)]:
                parts.append(extra)
                size += len(extra) + 1
        notes.append("\n".join(parts)[:chars])
    return notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--names", type=int, default=6000)
    args = parser.parse_args()
    master = synthetic_master(args.names)
    t0 = time.perf_counter()
    lexicon = Lexicon.from_master(master)
    print(f"master: {master.height} names; lexicon built in {time.perf_counter() - t0:.3f} s")
    names = master["name"].tail(500).to_list()
    for prose, label in ((0, "corpus paragraphs"), (2, "+ 2 prose paragraphs after each")):
        notes = synthetic_notes(args.notes, args.chars, names, prose=prose)
        wall, cpu = time.perf_counter(), time.process_time()
        parsed = [read_note(text, lexicon) for text in notes]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        picks = sum(note.pick_count for note in parsed) / len(notes)
        t0 = time.perf_counter()
        for note in parsed:
            note.picks  # noqa: B018  (the frames, built on first use)
        frames = time.perf_counter() - t0
        size = f"{len(notes)} notes of {args.chars} characters, {picks:.0f} picks a note"
        print(f"{label}: {size}: {wall:.2f} s wall, {cpu:.2f} s CPU; + frames {frames:.2f} s")


if __name__ == "__main__":
    main()
