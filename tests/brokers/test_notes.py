"""Broker notes → picks: the real seed against its reference, and one own-written note per case."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.brokers import Lexicon, parse_file, read_note, split_articles
from screener.errors import InputError
from screener.instruments import load_master
from screener.schema import BROKER_NOTES, BROKER_PICKS, INSTRUMENTS

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_c39457497266e666.txt"
REFERENCE = SHARED / "reference" / "broker_picks_2026-02-08.csv"
SAMPLE = REPO / "data" / "broker_notes" / "2026-02-08_sample_weekly_note.txt"
NOTES = REPO / "tests" / "fixtures" / "notes"
REFERENCE_METALS = {"rare earth": "rare_earth", "magnets": "magnet"}


@pytest.fixture(scope="module")
def master() -> Lexicon:
    return Lexicon.from_master(load_master())


def triples(picks: pl.DataFrame) -> list[tuple[str | None, str, str | None]]:
    return [(r["metal"], r["name_as_written"], r["ticker"]) for r in picks.iter_rows(named=True)]


def pairs(picks: pl.DataFrame) -> set[tuple[str, str]]:
    return {(r["metal"], r["ticker"]) for r in picks.iter_rows(named=True)}


def reference_pairs() -> set[tuple[str, str]]:
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is absent: the seed check needs ../shared/reference")
    ref = pl.read_csv(REFERENCE)
    return {(REFERENCE_METALS.get(m, m), t) for m, t in ref.select("metal", "ticker").iter_rows()}


# --- the bar: the real seed and the sample note give exactly the reference picks -------------


def test_seed_gives_exactly_the_reference_pairs(master: Lexicon) -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} is absent: the seed check needs ../shared/seeds")
    expected = reference_pairs()
    note = parse_file(SEED, master)
    assert pairs(note.picks) == expected
    assert note.picks.height == 56 and note.unresolved.height == 0
    broker_notes = {a.note_id for a in note.articles if a.broker == "国投证券"}
    assert len(note.articles) == 10 and len(broker_notes) == 1
    assert set(note.picks["note_id"]) == broker_notes  # the news articles give nothing
    assert set(note.picks["report_date"]) == {date(2026, 2, 8)}
    hk = note.picks.filter(pl.col("status") == "hk_only")
    assert sorted(set(hk["ticker"])) == ["01378.HK", "02245.HK", "02788.HK"]
    assert set(hk["board"]) == {"hk"}


def test_sample_note_gives_the_reference_pairs(master: Lexicon) -> None:
    head = SAMPLE.read_text(encoding="utf-8").splitlines()[:2]
    assert "样例" in head[0] and "not a real broker" in head[1]
    note = parse_file(SAMPLE, master)
    assert pairs(note.picks) == reference_pairs()
    assert note.picks.height == 56 and note.unresolved.height == 0
    assert set(note.picks["broker"]) == {"示例证券"}
    assert note.articles[0].title.startswith("有色金属周报（样例）")


@pytest.mark.parametrize("width", [17, 24, 27, 33, 41])
def test_sample_note_hard_wrapped_like_pdf_text(width: int, master: Lexicon) -> None:
    """Every line cut every ``width`` characters, through names, markers and labels."""
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    wrapped = [line[i : i + width] for line in lines for i in range(0, len(line) or 1, width)]
    note = read_note("\n".join(wrapped), master)
    assert pairs(note.picks) == reference_pairs()
    assert note.unresolved.height == 0


# --- articles ---------------------------------------------------------------------------------


def test_split_articles_reads_title_outlet_date_and_lines() -> None:
    text = (NOTES / "multi_article.txt").read_text(encoding="utf-8")
    articles = split_articles(text)
    assert [(a.title[:6], a.outlet, a.published, a.line, a.body_line) for a in articles] == [
        ("有色板块周末", "示例财经", date(2026, 3, 2), 3, 5),
        ("铜价再创阶段", "示例证券", date(2026, 3, 2), 6, 8),
        ("锂盐价格企稳", "示例日报", date(2026, 3, 1), 11, 13),
    ]
    assert [a.broker for a in articles] == [None, "示例证券", "样本证券"]
    assert articles[1].body.startswith("行业评级") and "碳酸锂" not in articles[1].body
    assert articles[2].note_id == hashlib.sha256(articles[2].text.encode()).hexdigest()
    assert articles[2].text.startswith("锂盐价格企稳") and articles[2].text.endswith("天齐锂业。")


def test_text_without_date_line_is_one_article(master: Lexicon) -> None:
    (article,) = split_articles("铜：建议关注紫金矿业。\n")
    assert article.title == "铜：建议关注紫金矿业。"
    assert (article.published, article.outlet) == (None, None)
    picks = read_note("铜：建议关注紫金矿业。", master).picks
    assert triples(picks) == [("copper", "紫金矿业", "601899.SH")]
    assert picks["report_date"].to_list() == [None]


def test_several_articles_keep_their_own_broker_and_numbering(master: Lexicon) -> None:
    picks = parse_file(NOTES / "multi_article.txt", master).picks
    assert picks.select("broker", "seq", "ticker").rows() == [
        ("示例证券", 1, "601899.SH"),
        ("示例证券", 2, "603993.SH"),
        ("示例证券", 3, "600362.SH"),
        ("样本证券", 1, "002460.SZ"),
        ("样本证券", 2, "002466.SZ"),
    ]
    assert set(picks["metal"][:3]) == {"copper"} and set(picks["metal"][3:]) == {"lithium"}
    assert picks["report_date"].to_list() == [date(2026, 3, 2)] * 3 + [date(2026, 3, 1)] * 2


# --- lists --------------------------------------------------------------------------------------


def test_separators_conjunctions_deng_and_pairs(master: Lexicon) -> None:
    picks = parse_file(NOTES / "separators.txt", master).picks
    assert triples(picks) == [
        ("rare_earth", "北方稀土", "600111.SH"),
        ("rare_earth", "盛和资源", "600392.SH"),  # 和 inside a name does not split it
        ("rare_earth", "中国稀土", "000831.SZ"),
        ("rare_earth", "中稀有色", "600259.SH"),
        ("aluminium", "中国铝业", "601600.SH"),  # "相关标的有" is not part of the name
        ("aluminium", "云铝股份", "000807.SZ"),
        ("aluminium", "天山铝业", "002532.SZ"),
        ("tin", "锡业股份", "000960.SZ"),
        ("tin", "兴业银锡", "000426.SZ"),
        ("tin", "华锡有色", "600301.SH"),
        ("aluminium", "宏创控股", "002379.SZ"),
        ("aluminium", "中国宏桥", "01378.HK"),
    ]


def test_descriptors_parentheses_and_ratings(master: Lexicon) -> None:
    picks = parse_file(NOTES / "descriptors.txt", master).picks
    assert triples(picks) == [
        ("rare_earth", "北方稀土", "600111.SH"),  # the descriptor before it is no part of it
        ("rare_earth", "中国稀土", "000831.SZ"),  # (the second 北方稀土 is the same pick)
        ("copper", "紫金矿业", "601899.SH"),  # (A、H): the 、 inside does not split
        ("copper", "洛阳钼业", "603993.SH"),
        ("copper", "江西铜业", "600362.SH"),
    ]
    assert picks["rating"].to_list() == [None, None, None, "买入", "增持"]
    assert "北方稀土（轻稀土龙头）" in picks["span"][0]


def test_former_names_resolve_to_the_current_ticker(master: Lexicon) -> None:
    picks = parse_file(NOTES / "renamed.txt", master).picks
    assert triples(picks) == [
        ("gold", "银泰黄金", "000975.SZ"),
        ("rare_earth", "广晟有色", "600259.SH"),
        ("rare_earth", "五矿稀土", "000831.SZ"),
    ]


def test_traditional_characters(master: Lexicon) -> None:
    note = parse_file(NOTES / "traditional.txt", master)
    assert triples(note.picks) == [
        ("copper", "紫金礦業", "601899.SH"),
        ("lithium", "贛鋒鋰業", "002460.SZ"),
        ("lithium", "天齊鋰業", "002466.SZ"),
    ]
    assert note.articles[0].broker == "示例证券"


def test_line_breaks_inside_and_between_names(master: Lexicon) -> None:
    picks = parse_file(NOTES / "pdf_breaks.txt", master).picks
    assert triples(picks) == [
        ("lithium", "赣锋锂业", "002460.SZ"),
        ("lithium", "天齐锂业", "002466.SZ"),
        ("lithium", "中矿资源", "002738.SZ"),
        ("copper", "紫金矿业", "601899.SH"),
        ("copper", "洛阳钼业", "603993.SH"),
    ]


def test_st_prefix_is_kept_as_written_and_ignored_for_lookup(master: Lexicon) -> None:
    picks = read_note("黄金：建议关注*ST金泰、山东黄金。", master).picks
    assert triples(picks) == [("gold", "*ST金泰", "600385.SH"), ("gold", "山东黄金", "600547.SH")]


def test_lists_under_a_marker_with_labelled_lines(master: Lexicon) -> None:
    picks = parse_file(NOTES / "block.txt", master).picks
    assert picks.select("metal", "ticker").rows() == [
        ("copper", "601899.SH"),
        ("copper", "603993.SH"),
        ("aluminium", "601600.SH"),
        ("aluminium", "000807.SZ"),
    ]
    assert picks["span"].to_list()[2] == "铝：中国铝业、云铝股份"


def test_metal_from_section_tags_and_from_the_phrase_before_the_marker(
    master: Lexicon,
) -> None:
    picks = parse_file(NOTES / "section.txt", master).picks
    assert picks.select("metal", "ticker").rows() == [
        ("gold", "600547.SH"),
        ("silver", "000603.SZ"),  # tagged silver only: the section's silver, not its lead metal
        ("gold", "000975.SZ"),  # tagged gold and silver: the section's lead metal
        ("magnet", "300748.SZ"),  # "稀土永磁方面，我们建议关注"
        ("magnet", "600366.SH"),
    ]


def test_metal_groups_inline_labels_codes_and_generic_tails(master: Lexicon) -> None:
    picks = parse_file(NOTES / "grouped.txt", master).picks
    assert triples(picks) == [
        ("copper", "紫金矿业", "601899.SH"),  # 建议关注：铜：…；铝：…；锡：…
        ("copper", "洛阳钼业", "603993.SH"),
        ("aluminium", "中国铝业", "601600.SH"),
        ("aluminium", "云铝股份", "000807.SZ"),
        ("tin", "锡业股份", "000960.SZ"),
        ("cobalt", "华友钴业", "603799.SH"),  # 钴（华友钴业、寒锐钴业）
        ("cobalt", "寒锐钴业", "300618.SZ"),
        ("lithium", "赣锋锂业", "002460.SZ"),
        (None, "紫金矿业", "601899.SH"),
        (None, "示范铜业", "000630.SZ"),  # unknown name, but the note gives the code
        (None, "江西铜业", "600362.SH"),
        (None, "西部矿业", "601168.SH"),
    ]  # the last line names companies without a marker: no picks from it


def test_sector_lists_and_prose_are_not_picks(master: Lexicon) -> None:
    note = parse_file(NOTES / "no_picks.txt", master)
    assert note.picks.height == 0 and note.unresolved.height == 0


# --- resolution outcomes -----------------------------------------------------------------------


def test_hong_kong_only_and_unknown_names(master: Lexicon) -> None:
    note = parse_file(NOTES / "hk_unknown.txt", master)
    rows = note.picks.select("name_as_written", "ticker", "board", "status").rows()
    assert rows == [
        ("中国宏桥", "01378.HK", "hk", "hk_only"),
        ("创新实业", "02788.HK", "hk", "hk_only"),
        ("示范铝业", None, None, "unresolved"),
        ("中国铝业", "601600.SH", "main", "resolved"),
        ("力勤资源", "02245.HK", "hk", "hk_only"),
        ("示范镍业", None, None, "unresolved"),
    ]
    issues = note.unresolved
    assert issues["name_as_written"].to_list() == ["示范铝业", "示范镍业"]
    assert issues["seq"].to_list() == [3, 6]
    assert "创新实业、示范铝业、中国铝业" in issues["context"][0]
    assert "力勤资源、示范镍业等" in issues["context"][1]


def test_a_stock_code_in_parentheses_identifies_an_unknown_name(master: Lexicon) -> None:
    picks = read_note(
        "铝：建议关注示范宏桥（1378.HK）、示范铝业（601600）、示范锡业（888888）。", master
    )
    rows = picks.picks.select("name_as_written", "ticker", "status").rows()
    assert rows == [
        ("示范宏桥", "01378.HK", "hk_only"),
        ("示范铝业", "601600.SH", "resolved"),
        ("示范锡业", None, "unresolved"),  # a code the master does not know decides nothing
    ]


def test_a_name_two_securities_share_is_ambiguous() -> None:
    extra = INSTRUMENTS.conform(
        pl.DataFrame(
            {
                "ticker": ["605999.SH", "002999.SZ"],
                "name": ["示例黄金", "示例矿业"],
                "aliases": [[], ["示例黄金"]],  # a former name now carried by another company
                "board": ["main", "main"],
                "metals": [["gold"], ["gold"]],
            }
        )
    )
    lexicon = Lexicon.from_master(pl.concat([load_master(), extra]))
    note = parse_file(NOTES / "ambiguous.txt", lexicon)
    first = note.picks.row(0, named=True)
    assert (first["status"], first["ticker"], first["board"]) == ("ambiguous", None, None)
    assert sorted(first["candidates"]) == ["002999.SZ", "605999.SH"]
    assert note.picks.row(1, named=True)["status"] == "resolved"
    assert note.unresolved.select("status", "name_as_written").rows() == [("ambiguous", "示例黄金")]


# --- files and contracts -----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_file_encodings_give_the_same_picks(encoding: str, master: Lexicon, tmp_path: Path) -> None:
    text = (NOTES / "separators.txt").read_text(encoding="utf-8")
    path = tmp_path / f"note_{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    expected = read_note(text, master).picks
    got = parse_file(path, master).picks
    assert got.equals(expected)  # same rows, same note_id: the id hashes text, not bytes


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("铜：建议关注紫金矿业。".encode("utf-16"), "not text"),
        (b"\x81\x30\xff\xfe\x00 binary", "not text"),
        (b"  \n", "empty"),
    ],
)
def test_unreadable_files_name_the_file(
    payload: bytes, reason: str, master: Lexicon, tmp_path: Path
) -> None:
    path = tmp_path / "bad_note.txt"
    path.write_bytes(payload)
    with pytest.raises(InputError, match=reason) as err:
        parse_file(path, master)
    assert str(path) in str(err.value)


def test_missing_file_names_the_file(master: Lexicon, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.txt"):
        parse_file(tmp_path / "nowhere.txt", master)


def test_picks_and_notes_fit_the_store_tables(master: Lexicon) -> None:
    note = parse_file(NOTES / "multi_article.txt", master)
    stored = BROKER_PICKS.conform(note.picks)
    assert stored.columns == list(BROKER_PICKS.columns)
    assert stored.select("note_id", "seq").is_unique().all()
    notes = note.notes()
    assert notes.columns == list(BROKER_NOTES.columns) and notes.height == 2
    assert set(notes["note_id"]) == set(note.picks["note_id"])


# --- property: any list of known names survives separators and PDF line breaks ------------------


def _single_names(master: pl.DataFrame) -> list[tuple[str, str]]:
    """A-share names that name one ticker and are not the tail of a longer name."""
    names = master.filter(pl.col("board") != "hk").select("name", "ticker").rows()
    plain = [(n, t) for n, t in names if "ST" not in n and len(n) >= 3]
    return [(n, t) for n, t in plain if not any(o != n and o.endswith(n) for o, _ in plain)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_list_of_known_names_round_trips(master: Lexicon, data: st.DataObject) -> None:
    names = _single_names(load_master())
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=6, unique=True))
    seps = data.draw(st.lists(st.sampled_from(["、", "，", "/", "及", "和", "与", "、\n"]),
                              min_size=len(chosen), max_size=len(chosen)))  # fmt: skip
    written = []
    for name, _ in chosen:
        cut = data.draw(st.integers(0, len(name) - 1))
        written.append(name[:cut] + "\n" + name[cut:] if cut else name)  # PDF-style break
    body = "".join(w + s for w, s in zip(written, seps, strict=True))[: -len(seps[-1])]
    picks = read_note(f"铜：建议关注{body}等。", master).picks
    assert picks["ticker"].to_list() == [t for _, t in chosen]
    assert set(picks["metal"]) == {"copper"}


# --- the three failure classes of issue 13 (each gave nothing before) ----------------------------


SPACED_CUES = ["建议 关注", "建議 關注", "建议\n关注", "建议　关注", "建 议 关 注", "相关\n标的：",
               "重点\r\n推荐"]  # fmt: skip


@pytest.mark.parametrize("cue", SPACED_CUES)
def test_a_cue_with_whitespace_or_traditional_characters_inside(master: Lexicon, cue: str) -> None:
    picks = read_note(f"铜：{cue}紫金矿业、洛阳钼业。", master).picks
    expected = [("copper", "601899.SH"), ("copper", "603993.SH")]
    assert picks.select("metal", "ticker").rows() == expected


def test_a_name_followed_directly_by_more_text(master: Lexicon) -> None:
    note = read_note(
        "锂：建议关注天齐锂业缅甸项目复产进展，以及赣锋锂业。\n铜：相关标的：紫金矿业近期公告上调产量指引。",
        master,
    )
    assert triples(note.picks) == [
        ("lithium", "天齐锂业", "002466.SZ"),
        ("lithium", "赣锋锂业", "002460.SZ"),
        ("copper", "紫金矿业", "601899.SH"),
    ]


def test_hong_kong_listed_companies_resolve(master: Lexicon) -> None:
    note = read_note(
        "黄金：建议关注招金矿业（01818.HK）、紫金矿业（2899.HK）、中金黄金；"
        "铜：洛阳钼业H股、江西铜业（A/H）、五矿资源。",
        master,
    )
    rows = note.picks.select("name_as_written", "ticker", "board", "status").rows()
    assert rows == [
        ("招金矿业", "01818.HK", "hk", "hk_only"),
        ("紫金矿业", "02899.HK", "hk", "hk_only"),
        ("中金黄金", "600489.SH", "main", "resolved"),
        ("洛阳钼业", "03993.HK", "hk", "hk_only"),
        ("江西铜业", "600362.SH", "main", "resolved"),
        ("五矿资源", "01208.HK", "hk", "hk_only"),
    ]
    assert note.unresolved.height == 0


# --- dates ---------------------------------------------------------------------------------------


def test_a_note_without_date_lines_is_dated_by_its_header(master: Lexicon) -> None:
    text = "有色金属周报\n示例证券研究所 2026年3月15日 星期日\n铜：建议关注紫金矿业。"
    note = read_note(text, master)
    assert note.picks["report_date"].to_list() == [date(2026, 3, 15)]
    assert note.articles[0].dated_by == "text: 2026年3月15日"


def test_a_date_given_wins_and_an_undated_note_has_none(master: Lexicon) -> None:
    undated = read_note("铜：建议关注紫金矿业。", master)
    assert undated.picks["report_date"].to_list() == [None]
    given = read_note("周报 2026-03-15\n铜：建议关注紫金矿业。", master, date=date(2026, 3, 16))
    assert given.picks["report_date"].to_list() == [date(2026, 3, 16)]
    assert given.articles[0].dated_by == "--date"


# --- explaining the reading ----------------------------------------------------------------------


def test_the_explanation_says_what_was_read_and_why(master: Lexicon) -> None:
    note = read_note(
        "紫金矿业公告一季度产量指引。\n"
        "铜：建议关注紫金矿业、示范铜业、洛阳钼业等，江西铜业近期检修。\n"
        "受益标的：紫金矿业（2899.HK）。",
        master,
    )
    rows = note.candidates.select("line", "written", "decision", "ticker", "via").rows()
    assert rows == [
        (1, "紫金矿业", "mention", "601899.SH", "name 紫金矿业"),
        (2, "紫金矿业", "pick", "601899.SH", "name 紫金矿业"),
        (2, "示范铜业", "unresolved", None, None),
        (2, "洛阳钼业", "pick", "603993.SH", "name 洛阳钼业"),
        (2, "江西铜业", "mention", "600362.SH", "name 江西铜业"),
        (3, "紫金矿业", "pick", "02899.HK", "name 紫金矿业 + code 2899.HK"),
    ]
    reasons = note.candidates["reason"].to_list()
    assert reasons[0] == "no recommendation cue governs it"
    assert reasons[1] == "in the list after 建议关注 (line 2)"
    assert reasons[2].startswith("after 建议关注 (line 2), but no name")
    assert reasons[4] == "the list after 建议关注 had ended (等) before it"
    cues = note.cues.select("line", "cue", "kind", "picks", "ended").rows()
    assert cues == [(2, "建议关注", "list", 3, "等"), (3, "受益标的", "list", 1, "sentence end")]
