"""Note files by content: PDF (one or two columns, tables, running headers and footers, a list
over a page break), HTML (the article inside navigation and scripts) and text; a scanned or
encrypted PDF and a file that is no note are refused in one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from screener.brokers import Lexicon, parse_file
from screener.brokers.ledger import import_notes
from screener.brokers.note_files import html_text, note_text
from screener.errors import InputError
from screener.instruments import load_master
from screener.store import Store
from tests.brokers.pdf_notes import COLUMN_CHARS, Layout, write_pdf

BODY = [
    "有色金属周报（2026年2月8日）",
    "上周沪铜上涨2.1%，伦铝小幅回落，金价再创新高。",
    "铜：全球矿端扰动持续，冶炼加工费维持低位。",
    "建议关注：紫金矿业、洛阳钼业、江西铜业。",
    "黄金：央行购金延续，建议关注山东黄金、中金黄金。",
    "风险提示：需求不及预期；金属价格大幅波动。",
]


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_one_column_pdf_reads_in_order_without_its_running_lines(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "note.pdf", [BODY[:3], BODY[3:]], Layout())
    got = note_text(pdf)
    assert got.kind == "pdf" and got.pages == 2
    assert lines_of(got.text) == BODY  # header and "第 n 页 / 共 2 页" footers gone
    assert got.created == dt.date(2026, 2, 8)


def test_two_columns_read_left_then_right(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "two.pdf", [BODY, BODY[:1]], Layout(columns=2))
    got = lines_of(note_text(pdf).text)
    assert max(len(line) for line in got) <= COLUMN_CHARS  # wrapped in its column
    assert "".join(got) == "".join([*BODY, BODY[0]])


def test_a_table_of_picks_is_read_row_by_row(tmp_path: Path) -> None:
    rows = [("金属", "公司", "代码", "评级"), ("铜", "紫金矿业", "601899", "买入"),
            ("铝", "云铝股份", "000807", "增持")]  # fmt: skip
    pdf = write_pdf(tmp_path / "table.pdf", [BODY[:2], BODY[2:]], Layout(table=rows))
    got = lines_of(note_text(pdf).text)
    assert got[:3] == ["  ".join(r) for r in rows]
    assert got[3:] == BODY


def test_a_list_over_a_page_break_stays_in_order(tmp_path: Path) -> None:
    first = [*BODY[:2], "建议关注：紫金矿业、洛阳钼业、"]
    second = ["江西铜业、云铝股份。", BODY[-1]]
    got = lines_of(note_text(write_pdf(tmp_path / "break.pdf", [first, second], Layout())).text)
    assert got == first + second


def test_scanned_and_encrypted_pdfs_are_refused_in_one_line(tmp_path: Path) -> None:
    scanned = write_pdf(tmp_path / "scan.pdf", [BODY], Layout(scanned=True))
    with pytest.raises(InputError, match=r"scan\.pdf: scanned PDF: .*no text layer") as err:
        note_text(scanned)
    assert "\n" not in str(err.value)
    locked = write_pdf(tmp_path / "locked.pdf", [BODY], Layout(password="s3cret"))
    with pytest.raises(InputError, match=r"locked\.pdf: encrypted PDF"):
        note_text(locked)


def test_kind_is_read_from_the_content_not_the_name(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "note.pdf", [BODY], Layout())
    disguised = tmp_path / "note.txt"
    disguised.write_bytes(pdf.read_bytes())
    assert note_text(disguised).kind == "pdf"
    assert note_text(disguised).sha256 == note_text(pdf).sha256
    png = tmp_path / "chart.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(InputError, match="not a note: the file is a PNG image"):
        note_text(png)
    docx = tmp_path / "note.docx"
    docx.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(InputError, match="ZIP archive"):
        note_text(docx)


PAGE = """<!DOCTYPE html><html><head><title>周报</title><script>var x = "建议关注：假公司";</script>
<style>p {{ color: red }}</style></head><body>
<nav><a href="/">首页</a> | <a href="/r">研究</a> 建议关注 导航</nav>
<header>某证券研究门户</header>
<article>{body}</article>
<aside>热门：紫金矿业 股吧</aside><footer>版权所有 © 2026</footer></body></html>"""


def test_an_html_note_is_its_article(tmp_path: Path) -> None:
    body = "".join(f"<p>{line}</p>\n" for line in BODY)
    page = tmp_path / "note.html"
    page.write_text(PAGE.format(body=body), encoding="utf-8")
    got = note_text(page)
    assert got.kind == "html" and lines_of(got.text) == BODY


def test_html_text_joins_cells_and_ignores_source_line_breaks() -> None:
    html = "<table><tr><td>铜</td><td>紫金\n  矿业</td></tr></table><p>建议\n关注</p>"
    assert html_text(html).splitlines() == ["铜  紫金 矿业", "建议 关注"]


def test_gbk_text_notes_still_read(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes("\n".join(BODY).encode("gbk"))
    got = note_text(path)
    assert got.kind == "text" and lines_of(got.text) == BODY


# -- the same picks from every kind of file (the reader never knows the kind) -----------------
NOTE = [
    "华东证券 有色金属行业周报 2026年2月8日",
    "铜：全球矿端扰动持续，冶炼加工费维持低位，铜价中枢有望上移。",
    "建议关注：紫金矿业、洛阳钼业、江西铜业。",
    "黄金：央行购金延续，金价再创新高，建议关注山东黄金、中金黄金。",
    "铝：电解铝产能天花板稳固，建议关注云铝股份、神火股份。",
    "风险提示：需求不及预期；金属价格大幅波动。",
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.from_master(load_master())


def picked(path: Path, lexicon: Lexicon) -> list[tuple[str | None, str | None]]:
    note = parse_file(path, lexicon)
    return sorted(note.picks.select("ticker", "metal").iter_rows())


def test_pdf_and_html_notes_give_the_picks_of_their_text_twin(
    tmp_path: Path, lexicon: Lexicon
) -> None:
    twin = tmp_path / "twin.txt"
    twin.write_text("\n".join(NOTE), encoding="utf-8")
    expected = picked(twin, lexicon)
    assert len(expected) == 7
    rows = [("金属", "公司", "代码"), ("铜", "紫金矿业", "601899")]
    files = {
        "one column": write_pdf(tmp_path / "a.pdf", [NOTE[:3], NOTE[3:]], Layout()),
        # wrapped at 18 characters: names and cue phrases broken across lines
        "two columns": write_pdf(tmp_path / "b.pdf", [NOTE[:4], NOTE[4:]], Layout(columns=2)),
        "a table first": write_pdf(tmp_path / "c.pdf", [NOTE[:3], NOTE[3:]], Layout(table=rows)),
        "list over a page break": write_pdf(
            tmp_path / "d.pdf",
            [[*NOTE[:2], "建议关注：紫金矿业、洛阳"], ["钼业、江西铜业。", *NOTE[3:]]],
            Layout(),
        ),
    }
    page = tmp_path / "e.html"
    page.write_text(PAGE.format(body="".join(f"<p>{x}</p>" for x in NOTE)), encoding="utf-8")
    files["an html page"] = page
    for what, path in files.items():
        assert picked(path, lexicon) == expected, what


def test_a_pdf_without_a_date_in_its_text_is_dated_by_its_creation_date(
    tmp_path: Path, lexicon: Lexicon
) -> None:
    pdf = write_pdf(tmp_path / "nodate.pdf", [NOTE[1:]], Layout(created=(2026, 2, 9)))
    note = parse_file(pdf, lexicon)
    assert set(note.picks["report_date"].to_list()) == {dt.date(2026, 2, 9)}
    assert any("creation date" in w for w in note.warnings)


def test_importing_the_same_pdf_twice_changes_nothing_and_the_ledger_knows_the_file(
    tmp_path: Path, store: Store
) -> None:
    pdf = write_pdf(tmp_path / "weekly.pdf", [NOTE[:3], NOTE[3:]], Layout())
    first = import_notes(store, [pdf], load_master())
    assert first.notes_new == 1 and first.picks_new == 7
    again = import_notes(store, [pdf], load_master())
    assert (again.notes_new, again.notes_unchanged, again.picks_new) == (0, 1, 0)
    stored = store.read_table("broker_notes").row(0, named=True)
    assert stored["file_kind"] == "pdf" and stored["source"] == str(pdf)
    assert stored["file_sha256"] == note_text(pdf).sha256


def test_picks_import_refuses_scanned_and_encrypted_pdfs_in_one_line(tmp_path: Path) -> None:
    from tests.test_cli import cli

    db = tmp_path / "s.duckdb"
    scanned = write_pdf(tmp_path / "scan.pdf", [NOTE], Layout(scanned=True))
    locked = write_pdf(tmp_path / "locked.pdf", [NOTE], Layout(password="x"))
    for path, words in ((scanned, "scanned PDF"), (locked, "encrypted PDF")):
        done = cli("picks", "import", str(path), db=db)
        assert done.returncode == 1 and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
