"""A broker note file (PDF, HTML or text, told apart by content) -> its text in reading order.

The reader never knows the file kind: ``note_text(path)`` gives plain text, and the note is
read from it exactly as a text note. What extraction does, and why:

- **PDF** (pdfplumber, pure Python on pdfminer.six: it exposes each character's position, which
  reading order needs). Per page, words are grouped into lines by their baseline; a page whose
  body has an empty vertical band near the middle is read as two columns (left, then right,
  between the full-width lines that cut across); tables are read row by row (cells joined by
  two spaces). Lines in the top or bottom band of the pages that repeat on most pages
  (running headers and footers, once digits are ignored) and bare page numbers are dropped.
- **HTML** (the standard library's parser): the ``<article>`` or ``<main>`` when there is one;
  scripts, styles, navigation, headers, footers and forms are dropped; block elements break
  lines and table cells are joined by two spaces.
- **Text**: UTF-8 (with or without BOM), GBK or GB18030.

Refused with one line saying which: a PDF that needs a password, a PDF with no text layer
(scanned: there is no OCR), and a file that is none of these (an image, an archive, a Word file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from screener.errors import InputError

HEADER_BAND = 0.09  # share of the page height at the top and at the bottom holding running lines
REPEATED_ON = 0.5  # a band line on at least this share of the pages (and two) is a running line
GUTTER_BAND = (0.3, 0.7)  # where a two-column page's gutter can lie, as a share of the width
MAX_CROSSING = 0.08  # share of body words that may cross the gutter (titles, full-width rows)
CELL_GAP = "  "
_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK (and of GB2312)
MIN_GUTTER = 8  # points: a narrower empty band is a gap between words, not between columns
LINE_TOLERANCE = 2.5  # points: words whose tops differ by less sit on one line

_PAGE_NUMBER = re.compile(
    r"^[\s\-—–·]*(?:第\s*\d+\s*页(?:\s*[/／,，]?\s*共\s*\d+\s*页)?|\d+\s*[/／]\s*\d+|"
    r"(?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?|\d{1,4})[\s\-—–·]*$",
    re.IGNORECASE,
)
_NOT_NOTES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or a Word/Excel file)",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"{\\rtf": "an RTF document",
}


@dataclass(frozen=True)
class NoteText:
    """A note's text in reading order, and what the file was."""

    text: str
    kind: str  # pdf, html, text
    sha256: str  # of the file's bytes: the same file imported twice is the same note
    created: dt.date | None = None  # a PDF's creation date, for notes whose text has no date
    pages: int = 1
    warnings: tuple[str, ...] = field(default_factory=tuple)


def note_text(path: str | Path) -> NoteText:
    """Read ``path`` and extract its text (see the module docstring)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the note ({exc.strerror})", path=path) from None
    digest = hashlib.sha256(raw).hexdigest()
    kind = _kind(raw, path)
    if kind == "pdf":
        text, created, pages = _pdf_text(raw, path)
        return NoteText(text, "pdf", digest, created=created, pages=pages)
    decoded = decode_note(raw, path=path)
    if kind == "html" or _looks_like_html(decoded):
        return NoteText(html_text(decoded), "html", digest)
    return NoteText(decoded, "text", digest)


def _kind(raw: bytes, path: Path) -> str:
    head = raw[:1024].lstrip()
    if b"%PDF-" in raw[:1024]:
        return "pdf"
    for magic, what in _NOT_NOTES.items():
        if head.startswith(magic):
            raise InputError(f"not a note: the file is {what}", path=path)
    return "text"


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


def _looks_like_html(text: str) -> bool:
    head = text[:2048].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<?xml")) or (
        head.startswith("<") and any(t in head for t in ("<body", "<head", "<div", "<p>"))
    )


# -- PDF ---------------------------------------------------------------------------------------
def _pdf_text(raw: bytes, path: Path) -> tuple[str, dt.date | None, int]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        pdf = pdfplumber.open(io.BytesIO(raw))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise InputError("encrypted PDF: it needs a password to open", path=path) from None
        raise InputError(f"not a readable PDF ({type(cause).__name__})", path=path) from None
    with pdf:
        created = _pdf_date(pdf.metadata.get("CreationDate"))
        content = [_page_content(page) for page in pdf.pages]
        images = sum(len(page.images) for page in pdf.pages)
    pages = _laid_out(content)
    if not any(lines for _, lines in pages):
        if images:
            raise InputError(
                "scanned PDF: the pages are images with no text layer (no OCR here)", path=path
            )
        raise InputError("the PDF has no text", path=path)
    return "\n".join(_without_running_lines(pages)), created, len(pages)


def _pdf_date(value: Any) -> dt.date | None:
    """A PDF date string (D:20260208093000+08'00') -> its date."""
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    found = re.search(r"(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not found:
        return None
    try:
        return dt.date(*(int(g) for g in found.groups()))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Line:
    top: float
    x0: float
    x1: float
    text: str


@dataclass(frozen=True)
class _Page:
    """One page's words and table rows (outside the tables), its characters and its gutter."""

    height: float
    words: list[dict[str, Any]]
    rows: list[_Line]
    chars: list[dict[str, Any]]
    gutter: float | None


def _page_content(page: Any) -> _Page:
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    words = [
        w
        for w in page.extract_words(x_tolerance=1.5, y_tolerance=2.5, keep_blank_chars=True)
        if not any(_inside(w, box) for box in boxes)
    ]
    rows = [_table_row(t.bbox, cells, i) for t in tables for i, cells in enumerate(t.extract())]
    chars = [c for c in page.chars if not any(_inside(c, box) for box in boxes)]
    gutter = _gutter(chars, float(page.width), float(page.height))
    return _Page(float(page.height), words, [r for r in rows if r.text], chars, gutter)


def _laid_out(pages: list[_Page]) -> list[tuple[float, list[_Line]]]:
    """Every page's lines in reading order. A page too short to show its own gutter (a last
    page of a few lines) takes the document's, when no character of it lies in that band."""
    found = sorted(p.gutter for p in pages if p.gutter is not None)
    shared = found[len(found) // 2] if found else None
    out = []
    for page in pages:
        gutter = page.gutter
        if gutter is None and shared is not None and not _crosses(page, shared):
            gutter = shared
        lines = _lines(page.words, gutter) + page.rows
        out.append((page.height, _reading_order(lines, gutter)))
    return out


def _crosses(page: _Page, x: float) -> bool:
    """Whether some body character (not a running header or footer) lies on ``x``."""
    half, h = MIN_GUTTER / 2, page.height
    return any(
        c["x0"] - half < x < c["x1"] + half
        for c in page.chars
        if HEADER_BAND * h < c["top"] < (1 - HEADER_BAND) * h
    )


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _table_row(box: tuple[float, ...], cells: list[Any], i: int) -> _Line:
    text = CELL_GAP.join(" ".join(str(c or "").split()) for c in cells if c not in (None, ""))
    return _Line(box[1] + i * 1e-3, box[0], box[2], text)


def _gutter(chars: list[dict[str, Any]], width: float, height: float) -> float | None:
    """The x of an empty vertical band near the middle that splits the body in two columns:
    crossed by at most MAX_CROSSING of the body's lines, with a fifth of the text each side."""
    body = [c for c in chars if HEADER_BAND * height < c["top"] < (1 - HEADER_BAND) * height]
    row_of = {r: i for i, r in enumerate(sorted({round(c["top"] / LINE_TOLERANCE) for c in body}))}
    if len(row_of) < 4:
        return None
    lo, hi = (int(width * f) for f in GUTTER_BAND)
    covered = np.zeros((len(row_of), hi - lo + 1), dtype=bool)
    for c in body:  # a glyph covers its box and a point either side (no seams between glyphs)
        a, b = max(int(c["x0"]) - 1 - lo, 0), min(int(c["x1"]) + 2 - lo, hi - lo + 1)
        if a < b:
            covered[row_of[round(c["top"] / LINE_TOLERANCE)], a:b] = True
    crossing = covered.sum(axis=0)
    best = int(crossing.min())
    if best > MAX_CROSSING * len(row_of):
        return None
    runs = np.flatnonzero(np.diff(np.concatenate(([0], crossing == best, [0])).astype(int)))
    starts, ends = runs[::2], runs[1::2]
    widest = int(np.argmax(ends - starts))
    if ends[widest] - starts[widest] < MIN_GUTTER:
        return None
    x = lo + (starts[widest] + ends[widest]) / 2  # the middle of the widest empty band
    left = sum(1 for c in body if c["x1"] <= x)
    right = sum(1 for c in body if c["x0"] >= x)
    return float(x) if min(left, right) >= 0.2 * len(body) else None


def _lines(words: list[dict[str, Any]], gutter: float | None) -> list[_Line]:
    """Words of one baseline (and one column) joined: CJK runs as they are, Latin with spaces."""
    sides: dict[int, list[dict[str, Any]]] = {}
    for w in words:
        crossing = gutter is None or w["x0"] < gutter < w["x1"]
        sides.setdefault(0 if crossing else 1 + (w["x0"] >= gutter), []).append(w)
    out = []
    for side in sides.values():
        side.sort(key=lambda w: (w["top"], w["x0"]))
        group = [side[0]]
        for w in side[1:]:
            if w["top"] - group[0]["top"] > LINE_TOLERANCE:
                out.append(_joined(group))
                group = []
            group.append(w)
        out.append(_joined(group))
    return out


def _joined(group: list[dict[str, Any]]) -> _Line:
    group = sorted(group, key=lambda w: w["x0"])
    text = group[0]["text"]
    for a, b in itertools.pairwise(group):
        text += (" " if b["x0"] - a["x1"] > 1.0 else "") + b["text"]
    return _Line(group[0]["top"], group[0]["x0"], group[-1]["x1"], text.strip())


def _reading_order(lines: list[_Line], gutter: float | None) -> list[_Line]:
    """Top to bottom; with two columns, between lines that cross the gutter: left, then right."""
    lines = sorted(lines, key=lambda line: (line.top, line.x0))
    if gutter is None:
        return lines
    out: list[_Line] = []
    left: list[_Line] = []
    right: list[_Line] = []
    for line in lines:
        if line.x0 < gutter < line.x1:
            out += left + right + [line]
            left, right = [], []
        elif line.x1 <= gutter:
            left.append(line)
        else:
            right.append(line)
    return out + left + right


def _without_running_lines(pages: list[tuple[float, list[_Line]]]) -> list[str]:
    """Every page's lines minus running headers/footers and bare page numbers."""

    def band(height: float, line: _Line) -> bool:
        return line.top < HEADER_BAND * height or line.top > (1 - HEADER_BAND) * height

    def shape(text: str) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))

    seen = Counter(
        s for height, lines in pages for s in {shape(x.text) for x in lines if band(height, x)}
    )
    need = max(2, REPEATED_ON * len(pages))
    out = []
    for height, lines in pages:
        for line in lines:
            if band(height, line) and (
                seen[shape(line.text)] >= need or _PAGE_NUMBER.match(line.text)
            ):
                continue
            out.append(line.text)
    return out


# -- HTML --------------------------------------------------------------------------------------
# elements whose text is not the article's, and elements that end a line
_SKIP = frozenset(("script", "style", "noscript", "nav", "header", "footer", "aside", "form"))
_SKIP |= {"button", "select", "svg", "iframe", "template", "head"}
_BLOCK = frozenset(("p", "div", "br", "li", "tr", "section", "article", "main", "table", "hr"))
_BLOCK |= {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "pre", "dd", "dt"}


class _Text(HTMLParser):
    """Collects text outside skipped elements; keeps the article/main part apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.main: list[str] = []
        self._skip = 0
        self._main = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        if tag in ("article", "main"):
            self._main += 1
        self._emit("\n" if tag in _BLOCK else CELL_GAP if tag in ("td", "th") else "")

    def handle_endtag(self, tag: str) -> None:
        self._emit("\n" if tag in _BLOCK else "")
        if tag in _SKIP and self._skip:
            self._skip -= 1
        if tag in ("article", "main") and self._main:
            self._main -= 1

    def handle_data(self, data: str) -> None:
        self._emit(re.sub(r"\s+", " ", data))  # source line breaks are not text

    def _emit(self, text: str) -> None:
        if self._skip or not text:
            return
        self.parts.append(text)
        if self._main:
            self.main.append(text)


def html_text(html: str) -> str:
    """The article's text of an HTML page: one line per block, cells joined by two spaces."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    chosen = parser.main if "".join(parser.main).strip() else parser.parts
    lines = ("".join(chosen)).split("\n")
    return "\n".join(line.strip() for line in lines if line.strip())
