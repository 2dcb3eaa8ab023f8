"""The daily job: the session gate, notes, the screen page, and mail (dry run and real SMTP)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from screener.brokers.demo_notes import SOURCE, note_dates
from screener.config import DailySettings, Settings, SmtpSettings
from screener.delivery.daily import (
    BEFORE_THE_CLOSE,
    BEIJING,
    DONE,
    NOT_A_SESSION,
    daily_screen,
    email_screen,
    run_daily,
)
from screener.errors import ConfigError, DataUnavailableError
from screener.ingest import demo
from screener.report.assemble import write_screen_report
from screener.report.terminal import SYNTHETIC_LABEL
from screener.screen import load_screen, run_screen
from screener.screen_context import screen_report
from screener.store import Store
from tests.delivery.smtp_server import free_port, smtp_server

REPO = Path(__file__).resolve().parents[2]
NOTE = REPO / "data/broker_notes/2026-02-08_sample_weekly_note.txt"
DAY = dt.date(2026, 2, 9)  # a Monday session, the day after the sample note
EVENING = dt.datetime(2026, 2, 9, 17, 0, tzinfo=BEIJING)
RECIPIENTS = ("ana@example.com", "bo@example.com")
SECTOR = REPO / "strategies/screens/sector_oversold.toml"  # the demo's screen


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo market up to 2026-02-10, built once; each test works on a copy."""
    path = tmp_path_factory.mktemp("daily") / "demo.duckdb"
    with Store(path) as store:
        demo.load(store, end=dt.date(2026, 2, 10))
    return path


@pytest.fixture
def store(demo_file: Path, tmp_path: Path) -> Iterator[Store]:
    copy = tmp_path / "store.duckdb"
    shutil.copyfile(demo_file, copy)
    with Store(copy) as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(NOTE, notes / NOTE.name)
    smtp = SmtpSettings(sender="screener@example.com", recipients=RECIPIENTS, max_attempts=1)
    return Settings(notes_dir=notes, reports_dir=tmp_path / "reports", smtp=smtp)


def parse(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def count(store: Store, table: str) -> int:
    return store.read_table(table).height


@pytest.mark.parametrize("day", [dt.date(2026, 2, 17), dt.date(2026, 2, 8)])  # holiday, Sunday
def test_not_a_session_does_nothing(tmp_path: Path, settings: Settings, day: dt.date) -> None:
    with Store(tmp_path / "empty.duckdb") as store:
        out = run_daily(store, settings, on=day, now=EVENING, dry_run_dir=tmp_path / "eml")
        assert count(store, "broker_notes") == 0
    assert out.status == NOT_A_SESSION and out.ok
    assert out.lines() == [f"{day} is not an XSHG session: nothing to do"]
    assert not settings.reports_dir.exists() and not (tmp_path / "eml").exists()


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (dt.datetime(2026, 2, 9, 15, 29, tzinfo=BEIJING), BEFORE_THE_CLOSE),
        (dt.datetime(2026, 2, 9, 7, 29, tzinfo=dt.UTC), BEFORE_THE_CLOSE),  # 15:29 in Beijing
        (dt.datetime(2026, 2, 8, 20, 0, tzinfo=BEIJING), BEFORE_THE_CLOSE),  # the day before
        (dt.datetime(2026, 2, 9, 7, 31, tzinfo=dt.UTC), DONE),  # 15:31 in Beijing
        (dt.datetime(2026, 2, 9, 15, 31), DONE),  # naive: Beijing time
    ],
)
def test_the_close_gate_reads_beijing_time(
    store: Store, settings: Settings, tmp_path: Path, now: dt.datetime, status: str
) -> None:
    out = run_daily(store, settings, on=DAY, now=now, dry_run_dir=tmp_path / "eml")
    assert out.status == status
    assert settings.reports_dir.exists() == (status == DONE)


def test_force_runs_before_the_close(store: Store, settings: Settings, tmp_path: Path) -> None:
    morning = dt.datetime(2026, 2, 9, 10, 0, tzinfo=BEIJING)
    assert run_daily(store, settings, now=morning, dry_run_dir=tmp_path).status == BEFORE_THE_CLOSE
    out = run_daily(store, settings, now=morning, dry_run_dir=tmp_path / "eml", force=True)
    assert out.status == DONE and out.on == DAY  # ``on`` defaults to today in Beijing


def test_dry_run_writes_the_page_and_one_eml_per_recipient(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    outdir = tmp_path / "eml"
    out = run_daily(store, settings, on=DAY, now=EVENING, dry_run_dir=outdir)
    assert out.status == DONE and out.ok
    assert out.notes is not None and out.notes.notes_new == 1 and out.notes.picks_new > 40
    page = settings.reports_dir / "screen_2026-02-09.html"
    assert out.report_path == page
    html = page.read_text(encoding="utf-8")
    assert SYNTHETIC_LABEL in html and "湖南黄金" in html  # the top name of the demo screen
    files = sorted(outdir.glob("*.eml"))
    assert [f.name for f in files] == [f"screen_2026-02-09_{r}.eml" for r in RECIPIENTS]
    for path, recipient in zip(files, RECIPIENTS, strict=True):
        msg = parse(path)
        assert "2026-02-09" in msg["Subject"] and "[SYNTHETIC]" in msg["Subject"]
        assert msg["To"] == recipient
        plain, rich = msg.get_body(("plain",)), msg.get_body(("html",))
        assert plain is not None and rich is not None
        assert "湖南黄金" in plain.get_content() and 'src="cid:chart"' in rich.get_content()
        images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
        assert [p["Content-ID"] for p in images] == ["<chart>"]
    assert count(store, "outbox") == 0  # a dry run queues and sends nothing
    assert any("dry run" in line for line in out.lines())


def test_a_second_run_imports_nothing_new(store: Store, settings: Settings, tmp_path: Path) -> None:
    run_daily(store, settings, on=DAY, now=EVENING, dry_run_dir=tmp_path / "eml")
    picks = count(store, "broker_picks")
    again = run_daily(store, settings, on=DAY, now=EVENING, dry_run_dir=tmp_path / "eml")
    assert again.notes is not None
    assert (again.notes.files, again.notes.notes_new, again.notes.picks_new) == (1, 0, 0)
    assert count(store, "broker_picks") == picks and count(store, "broker_notes") == 1


def test_an_unreadable_note_is_a_warning_not_a_failure(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    (settings.notes_dir / "0_empty.txt").write_text("", encoding="utf-8")
    out = run_daily(store, settings, on=DAY, now=EVENING, dry_run_dir=tmp_path / "eml")
    assert out.status == DONE and out.notes is not None
    assert out.notes.notes_new == 1 and len(out.notes.errors) == 1
    assert "0_empty.txt" in out.notes.errors[0]
    assert any("0_empty.txt" in w for w in out.warnings)
    assert "0_empty.txt" in out.report_path.read_text(encoding="utf-8")  # type: ignore[union-attr]


@pytest.mark.filterwarnings("ignore::screener.calendar.CalendarEndWarning")
@pytest.mark.parametrize("day", [dt.date(2026, 2, 11), dt.date(2099, 3, 3)])  # past the table too
def test_a_day_the_store_lacks_screens_its_last_session_visibly(
    store: Store, settings: Settings, tmp_path: Path, day: dt.date
) -> None:
    later = dt.datetime.combine(day, dt.time(17), tzinfo=BEIJING)
    out = run_daily(store, settings, now=later, dry_run_dir=tmp_path / "eml")
    assert out.status == DONE and out.on == day
    assert out.note == "last stored session is 2026-02-10; using it"
    assert out.report_path == settings.reports_dir / "screen_2026-02-10.html"  # dated by its data
    names = [f.name for f in (tmp_path / "eml").glob("*.eml")]
    assert sorted(names) == [f"screen_2026-02-10_{r}.eml" for r in RECIPIENTS]


def test_a_day_before_the_data_stops_the_job_before_any_work(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    early = dt.datetime(2014, 3, 4, 17, 0, tzinfo=BEIJING)
    with pytest.raises(DataUnavailableError, match="before the first stored session, 2015-01-05"):
        run_daily(store, settings, now=early, dry_run_dir=tmp_path / "eml")
    assert not settings.reports_dir.exists() and count(store, "broker_notes") == 0


def test_email_after_the_last_session_mails_it_under_its_own_date(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    out = email_screen(store, settings, on=dt.date(2026, 2, 14), dry_run_dir=tmp_path)
    assert out.note == "last stored session is 2026-02-10; using it"
    assert out.date == dt.date(2026, 2, 10) and all("2026-02-10" in p.name for p in out.written)
    on_time = email_screen(store, settings, on=dt.date(2026, 2, 10), dry_run_dir=tmp_path)
    assert on_time.note is None


def test_with_daily_update_the_job_first_extends_the_store(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    later = dt.datetime(2026, 2, 11, 17, 0, tzinfo=BEIJING)
    updating = replace(settings, daily_update=True)
    outcome = run_daily(store, updating, now=later, dry_run_dir=tmp_path / "eml")
    assert outcome.status == DONE and outcome.on == dt.date(2026, 2, 11)
    assert outcome.data.startswith("data: updated to 2026-02-11: ")
    assert int(outcome.data.split(": ")[2].split()[0]) > 0
    sessions = store.sessions()
    assert sessions[-1] == dt.date(2026, 2, 11)
    weekly = len(note_dates(sessions[0], sessions[-1]))  # the demo's notes grow with it
    assert f"; broker notes ({SOURCE}): {weekly} new, 0 unchanged" in outcome.data


def test_no_recipients_is_a_config_error_before_any_work(store: Store, settings: Settings) -> None:
    bare = replace(settings, smtp=replace(settings.smtp, recipients=()))
    with pytest.raises(ConfigError, match="no e-mail recipients") as info:
        run_daily(store, bare, on=DAY, now=EVENING, env={})
    assert "--dry-run" in str(info.value)
    assert not settings.reports_dir.exists() and count(store, "broker_notes") == 0
    with pytest.raises(ConfigError):
        email_screen(store, bare, on=DAY, env={})


def test_dry_run_without_recipients_previews_to_the_sender(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    bare = replace(settings, smtp=replace(settings.smtp, recipients=()))
    out = email_screen(store, bare, on=DAY, dry_run_dir=tmp_path, now=EVENING)
    assert [p.name for p in out.written] == ["screen_2026-02-09_screener@example.com.eml"]
    assert out.ok and out.delivery is None


def test_real_smtp_one_message_per_recipient_even_run_twice(
    store: Store, settings: Settings
) -> None:
    with smtp_server() as (port, handler):
        smtp = replace(settings.smtp, port=port)
        live = replace(settings, smtp=smtp)
        first = run_daily(store, live, on=DAY, now=EVENING, env={})
        second = run_daily(store, live, on=DAY, now=EVENING, env={})
        by_command = email_screen(store, live, on=DAY, to=[RECIPIENTS[0]], now=EVENING, env={})
    assert first.ok and first.email is not None and first.email.delivery is not None
    assert (first.email.queued, first.email.delivery.sent) == (2, 2)
    assert second.email is not None and second.email.delivery is not None
    assert (second.email.queued, second.email.delivery.sent) == (0, 0)
    assert by_command.queued == 0 and by_command.ok
    assert sorted(r for m in handler.received for r in m.rcpt_tos) == list(RECIPIENTS)
    msg = email.message_from_bytes(handler.received[0].data, policy=email.policy.default)
    assert "2026-02-09" in str(msg["Subject"])


def test_smtp_down_is_not_ok_and_the_next_run_delivers(store: Store, settings: Settings) -> None:
    port = free_port()
    live = replace(settings, smtp=replace(settings.smtp, port=port))
    down = run_daily(store, live, on=DAY, now=EVENING, env={})
    assert not down.ok and down.email is not None and down.email.delivery is not None
    assert down.email.delivery.still_queued == 2
    assert any(line.startswith("e-mail error:") for line in down.lines())
    with smtp_server(port=port) as (_, handler):
        later = EVENING + dt.timedelta(minutes=5)  # past the retry back-off
        up = run_daily(store, live, on=DAY, now=later, env={})
    assert up.ok and len(handler.received) == 2
    assert up.email is not None and up.email.queued == 0  # the queued rows, not new ones


# -- which screen, and an empty one -----------------------------------------------------------
def test_the_daily_screen_is_the_setting_unless_an_option_names_another(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Fails before [daily] screen: the job always sent the broker picks of 30 days."""
    sector = replace(settings, daily=DailySettings(screen=SECTOR))
    out = run_daily(store, sector, on=DAY, now=EVENING, dry_run_dir=tmp_path / "job")
    assert out.report_path == settings.reports_dir / "screen_2026-02-09_sector_oversold.html"
    expected = run_screen(store, load_screen(SECTOR), on=DAY, settings=settings).ranked
    assert out.ranked == expected.height == 10
    assert out.email is not None and expected["name"][0] in out.email.subject
    by_setting = email_screen(store, sector, on=DAY, dry_run_dir=tmp_path / "setting")
    by_option = email_screen(
        store, settings, on=DAY, dry_run_dir=tmp_path / "option", screen=daily_screen(sector)
    )
    assert by_setting.subject == by_option.subject == out.email.subject
    picks = email_screen(store, sector, on=DAY, dry_run_dir=tmp_path / "picks", screen=None)
    assert picks.subject == by_setting.subject  # None: the setting, not the picks screen
    missing = replace(settings, daily=DailySettings(screen=tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml: no such screen file"):
        run_daily(store, missing, on=DAY, now=EVENING, dry_run_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_the_daily_page_never_replaces_another_screens_page(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Fails before pages were named by screen: after `screener demo`, `run-daily` (the picks
    screen, empty without notes) wrote its empty page over the demo's sector page."""
    demo_screen = run_screen(store, load_screen(SECTOR), on=DAY, settings=settings)
    demo_page = write_screen_report(
        screen_report(store, demo_screen, settings), settings.reports_dir
    )
    shown = demo_page.read_text(encoding="utf-8")
    no_notes = replace(settings, notes_dir=tmp_path / "none")
    out = run_daily(store, no_notes, on=DAY, now=EVENING, dry_run_dir=tmp_path / "eml")
    assert out.ranked == 0 and out.report_path == settings.reports_dir / "screen_2026-02-09.html"
    assert demo_page.read_text(encoding="utf-8") == shown


def test_an_empty_screen_says_why_in_one_line_everywhere(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Fails before: the terminal said "0 name(s) ranked" and the subject "no names", neither
    why. Now the reason (no picks known) and its mend (`screener picks import`) are one line on
    the terminal, in the subject (through a real SMTP server), the e-mail bodies and the page."""
    why = "no broker picks known in the 30 days to 2026-02-09"
    mend = "`screener picks import NOTE.txt`"
    no_notes = replace(settings, notes_dir=tmp_path / "none")
    out = run_daily(store, no_notes, on=DAY, now=EVENING, dry_run_dir=tmp_path / "eml")
    line = next(x for x in out.lines() if x.startswith("screen: "))
    assert line.startswith("screen: no names: ") and why in line and mend in line
    msg = parse(next((tmp_path / "eml").glob("*.eml")))
    for part in (msg["Subject"], msg.get_body(("plain",)), msg.get_body(("html",))):
        text = part if isinstance(part, str) else part.get_content()  # type: ignore[union-attr]
        assert why in " ".join(text.split()) and mend in text
    assert why in out.report_path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    with smtp_server() as (port, handler):
        live = replace(no_notes, smtp=replace(settings.smtp, port=port))
        sent = email_screen(store, live, on=DAY, now=EVENING, env={})
    assert sent.lines()[0].startswith("screen: no names: ") and mend in sent.lines()[0]
    subjects = {str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
                for m in handler.received}  # fmt: skip
    assert len(subjects) == 1 and why in " ".join(subjects.pop().split())
