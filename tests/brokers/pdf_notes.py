"""PDF broker notes made in the test setup (reportlab, the STSong-Light CJK CID font: no font file).

Our own text, laid out the ways brokers' PDFs are: one or two columns, a running header and a
footer with the page number on every page, a table of picks with ruling lines, a list that runs
over a page break. ``scanned`` draws the page as an image only; ``password`` encrypts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FONT = "STSong-Light"
WIDTH, HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 56.0
LEADING = 18.0
COLUMN_CHARS = 18  # a two-column page wraps lines at this many characters (11 pt, 220 pt)


@dataclass
class Layout:
    header: str = "华东证券研究所  有色金属行业周报"
    footer: str = "请务必阅读正文之后的免责声明及其项下所有内容  第 {page} 页 / 共 {pages} 页"
    columns: int = 1
    table: Sequence[Sequence[str]] = field(default_factory=tuple)  # rows, drawn on page 1
    scanned: bool = False
    password: str | None = None
    created: tuple[int, int, int] = (2026, 2, 8)  # the PDF's creation date


def write_pdf(path: Path, pages: Sequence[Sequence[str]], layout: Layout) -> Path:
    """One PDF page per item of ``pages`` (each a list of text lines)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT), encrypt=layout.password)
    c.setCreator("screener tests")
    y, m, d = layout.created
    # reportlab stamps the current time; its info object takes a formatter for that stamp
    c._doc.info._dateFormatter = lambda *_: f"D:{y:04d}{m:02d}{d:02d}093000+08'00'"
    for number, lines in enumerate(pages, start=1):
        if layout.scanned:
            _image_page(c, lines)
        else:
            _text_page(c, lines, layout, number, len(pages))
        c.showPage()
    c.save()
    return path


def _text_page(c: Any, lines: Sequence[str], layout: Layout, number: int, total: int) -> None:
    c.setFont(FONT, 9)
    c.drawString(MARGIN, HEIGHT - 36, layout.header)
    footer = layout.footer.format(page=number, pages=total)
    c.drawString(MARGIN, 30, footer)
    c.setFont(FONT, 11)
    top = HEIGHT - 90
    if number == 1 and layout.table:
        top = _table(c, layout.table, top)
    if layout.columns == 1:
        for i, line in enumerate(lines):
            c.drawString(MARGIN, top - i * LEADING, line)
        return
    wrapped = [
        line[i : i + COLUMN_CHARS] for line in lines for i in range(0, len(line), COLUMN_CHARS)
    ]
    half = (len(wrapped) + 1) // 2
    gutter_x = WIDTH / 2 + 10
    for i, line in enumerate(wrapped[:half]):
        c.drawString(MARGIN, top - i * LEADING, line)
    for i, line in enumerate(wrapped[half:]):
        c.drawString(gutter_x, top - i * LEADING, line)


def _table(c: Any, rows: Sequence[Sequence[str]], top: float) -> float:
    """A ruled table of picks; returns the y below it."""
    widths = [90.0, 110.0, 90.0, 130.0][: len(rows[0])]
    height = 22.0
    x_edges = [MARGIN]
    for w in widths:
        x_edges.append(x_edges[-1] + w)
    for r, row in enumerate(rows):
        y = top - r * height
        for k, cell in enumerate(row):
            c.drawString(x_edges[k] + 4, y - 15, cell)
    bottom = top - len(rows) * height
    for r in range(len(rows) + 1):
        c.line(x_edges[0], top - r * height, x_edges[-1], top - r * height)
    for x in x_edges:
        c.line(x, top, x, bottom)
    return bottom - 30


def _image_page(c: Any, lines: Sequence[str]) -> None:
    """The page as a picture of text (a scan): no text layer at all."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    image = Image.new("L", (600, 300), 255)
    draw = ImageDraw.Draw(image)
    for i, _line in enumerate(lines[:10]):
        draw.rectangle((20, 20 + i * 25, 500, 34 + i * 25), fill=40)  # strokes, not glyphs
    c.drawImage(ImageReader(image), MARGIN, HEIGHT - 400, 480, 240)
