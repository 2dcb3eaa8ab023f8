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

from screener.config import Settings, SmtpSettings
from screener.delivery.daily import (
    BEFORE_THE_CLOSE,
    BEIJING,
    DONE,
    NOT_A_SESSION,
    email_screen,
    run_daily,
)
from screener.errors import ConfigError, DataUnavailableError
from screener.ingest import demo
from screener.report.terminal import SYNTHETIC_LABEL
from screener.store import Store
from tests.delivery.smtp_server import free_port, smtp_server

REPO = Path(__file__).resolve().parents[2]
NOTE = REPO / "data/broker_notes/2026-02-08_sample_weekly_note.txt"
DAY = dt.date(2026, 2, 9)  # a Monday session, the day after the sample note
EVENING = dt.datetime(2026, 2, 9, 17, 0, tzinfo=BEIJING)
RECIPIENTS = ("ana@example.com", "bo@example.com")


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
    assert store.sessions()[-1] == dt.date(2026, 2, 11)


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
