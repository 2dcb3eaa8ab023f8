"""A note's date, read from its header in the usual forms."""

from __future__ import annotations

from datetime import date

import pytest

from screener.brokers.dates import note_date

DAY = date(2026, 2, 8)


@pytest.mark.parametrize(
    "header",
    [
        "示例证券研究所 2026年2月8日",
        "示例证券研究所 2026 年 2 月 8 日",
        "发布时间 2026-02-08 16:00",
        "2026/2/8",
        "2026.02.08",
        "报告编号 20260208",
        "Example Securities, 8 Feb 2026",
        "Example Securities | February 8, 2026",
        "有色金属周报（2026年第6周）\n2月8日",
        "２０２６年２月８日",
    ],
)
def test_the_usual_forms(header: str) -> None:
    found = note_date(f"有色金属周报\n{header}\n本周铜价上涨。")
    assert found is not None and found[0] == DAY


def test_a_labelled_date_anywhere_counts() -> None:
    body = "\n".join(["正文"] * 12)
    assert note_date(f"周报\n{body}\n报告日期：2026年2月8日") == (DAY, "2026年2月8日")


def test_dates_the_body_talks_about_do_not() -> None:
    body = "\n".join(["正文"] * 12)
    assert note_date(f"周报\n{body}\n截至2026年2月6日，库存下降。") is None
    assert note_date("周报\n截至2月6日库存下降") is None  # a day without a year


def test_impossible_days_are_no_dates() -> None:
    assert note_date("周报 2026年2月30日") is None
