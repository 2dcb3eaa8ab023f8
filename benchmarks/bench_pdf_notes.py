"""Broker notes from PDF: one 20-page note parsed, and 100 notes imported. Figures in README.md.

Run: .venv/bin/python benchmarks/bench_pdf_notes.py

The PDFs are made here as the tests make theirs (tests/brokers/pdf_notes.py: reportlab, a CJK
CID font, a running header and a page-numbered footer): a 20-page note of 38 lines a page, and
100 notes of 6 pages (one and two columns alternating), each with its own date and picks.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from screener.brokers import Lexicon, parse_file  # noqa: E402
from screener.brokers.ledger import import_notes  # noqa: E402
from screener.instruments import load_master  # noqa: E402
from screener.store import Store  # noqa: E402
from tests.brokers.pdf_notes import Layout, write_pdf  # noqa: E402

PARAGRAPH = [
    "铜：全球矿端扰动持续，冶炼加工费维持低位，铜价中枢有望上移。",
    "建议关注：紫金矿业、洛阳钼业、江西铜业。",
    "黄金：央行购金延续，金价再创新高，建议关注山东黄金、中金黄金。",
    "铝：电解铝产能天花板稳固，建议关注云铝股份、神火股份。",
    "上周沪铜上涨2.1%，伦铝小幅回落，库存去化延续。",
    "风险提示：需求不及预期；金属价格大幅波动。",
]


def note_pages(day: int, pages: int, lines: int) -> list[list[str]]:
    head = [f"华东证券 有色金属行业周报 2026年1月{day}日"]
    body = [PARAGRAPH[i % len(PARAGRAPH)] for i in range(pages * lines)]
    text = head + body
    return [text[i * lines : (i + 1) * lines] for i in range(pages)]


def main() -> None:
    master = load_master()
    lexicon = Lexicon.from_master(master)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = write_pdf(folder / "twenty.pdf", note_pages(8, 20, 38), Layout())
        parse_file(big, lexicon)  # warm the imports
        t0 = time.perf_counter()
        note = parse_file(big, lexicon)
        one = time.perf_counter() - t0
        print(f"20-page PDF note: {one:.2f} s ({note.picks.height} picks)")
        paths = [
            write_pdf(
                folder / f"note{i:03d}.pdf",
                note_pages(1 + i % 28, 6, 38),
                Layout(columns=1 + i % 2),
            )
            for i in range(100)
        ]
        with Store(folder / "notes.duckdb") as store:
            t0 = time.perf_counter()
            done = import_notes(store, paths, master)
            secs = time.perf_counter() - t0
        print(
            f"100 PDF notes (6 pages each) imported: {secs:.1f} s "
            f"({done.notes_new} notes, {done.picks_new} picks); load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
