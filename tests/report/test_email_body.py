"""Screen e-mail body: escaping, the cid image, the text alternative and the subject."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

from test_html import COVERAGE, EVIL, screen_data

from screener.delivery.mail import compose
from screener.report.email_body import (
    CHART_CID,
    display_width,
    screen_email,
    screen_subject,
    screen_text,
)
from screener.report.terminal import SYNTHETIC_LABEL

DAY = dt.date(2026, 2, 6)
TOP = ["紫金矿业", "江西铜业", "洛阳钼业", "铜陵有色", "北方稀土", "赣锋锂业"]


def test_user_text_is_escaped_in_html() -> None:
    html, _, _ = screen_email(screen_data())
    assert "<script" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    assert f"北方稀土{escaped}" in html  # a name in the ranked table
    assert f"New: 洛阳钼业, {escaped}" in html  # a new name
    assert f"3 days stale {escaped}" in html  # a warning note


def test_chart_is_referenced_by_its_cid() -> None:
    html, _, images = screen_email(screen_data())
    assert list(images) == [CHART_CID]
    assert re.findall(r'src="([^"]+)"', html) == [f"cid:{CHART_CID}"]
    png = images[CHART_CID]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_no_chart_without_sector_history() -> None:
    html, _, images = screen_email(screen_data(sector=None))
    assert images == {} and "cid:" not in html and "<img" not in html


def test_text_part_carries_the_same_names_aligned() -> None:
    data = screen_data()
    _, text, _ = screen_email(data)
    assert text == screen_text(data)
    for name in data.ranked.get_column("name"):
        assert name in text
    assert EVIL in text  # plain text: shown as it is, nothing to escape
    assert text.splitlines()[1] == f"*** {SYNTHETIC_LABEL} ***"
    block = text.split("Ranked names\n")[1].split("\n\n")[0].splitlines()
    assert len(block) == 2 + data.ranked.height
    # every row ends its right-aligned last column (ret_5d) at the same display column
    assert len({display_width(line) for line in block}) == 1
    assert "  3.10%" in block[2] and "-5.00%" in block[-1]


def test_text_columns_count_chinese_as_two() -> None:
    assert display_width("紫金矿业") == 8 and display_width("abc") == 3


def test_subject_format() -> None:
    assert (
        screen_subject(DAY, TOP)
        == "[screener] 2026-02-06 screen: 紫金矿业, 江西铜业, 洛阳钼业 (+3)"
    )
    assert screen_subject(DAY, TOP[:2]) == "[screener] 2026-02-06 screen: 紫金矿业, 江西铜业"
    assert screen_subject(DAY, []) == "[screener] 2026-02-06 screen: no names"
    why = screen_subject(DAY, [], empty="no picks:\r\nBcc: x@evil")  # why, on the one line
    assert why == "[screener] 2026-02-06 screen: no names: no picks: Bcc: x@evil"
    assert screen_subject(DAY, TOP[:1], empty="ignored") == "[screener] 2026-02-06 screen: 紫金矿业"
    synthetic = screen_subject(DAY, ["a\r\nBcc: x@evil"], synthetic=True)
    assert synthetic == "[screener] [SYNTHETIC] 2026-02-06 screen: a Bcc: x@evil"


def test_body_composes_into_a_message() -> None:
    data = screen_data()
    html, text, images = screen_email(data)
    raw = compose(
        subject=screen_subject(DAY, TOP, synthetic=True),
        sender="screener@example.com",
        recipient="pm@example.com",
        html=html,
        text=text,
        images=images,
        date=DAY,
    )
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert "紫金矿业" in str(msg["Subject"])
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{CHART_CID}>"
    assert image.get_content() == images[CHART_CID]
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None and "紫金矿业" in plain.get_content()


def test_both_parts_say_the_coverage() -> None:
    html, text, _ = screen_email(screen_data())
    for line in COVERAGE:
        assert line in html and line in text
