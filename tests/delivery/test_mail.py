"""Mail: MIME composition, the outbox, and delivery over a real SMTP exchange on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import subprocess
import sys
import threading
from email.message import EmailMessage

import pytest

from screener.config import SmtpSettings
from screener.delivery.mail import (
    DeliveryReport,
    compose,
    credentials_from_env,
    deliver,
    enqueue,
    message_id,
    retry_delay,
)
from screener.errors import ConfigError, ScreenerError, StoreError
from screener.store import Store
from tests.delivery.smtp_server import (
    Authenticator,
    RecordingHandler,
    free_port,
    silent_server,
    smtp_server,
)

DAY = dt.date(2024, 3, 1)
T0 = dt.datetime(2024, 3, 1, 8, 30)
SENDER = "Screener <screener@example.com>"
NAME = "紫金矿业<script>alert(1)</script>"
SUBJECT = f"有色金属选股 {DAY}: {NAME}"
# aiosmtpd warns about AUTH without TLS: the test server is on 127.0.0.1 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def settings(port: int, **overrides: object) -> SmtpSettings:
    base = {"host": "127.0.0.1", "port": port, "sender": "screener@example.com"}
    base |= {"timeout_s": 5.0, "max_attempts": 3}
    return SmtpSettings(**(base | overrides))  # type: ignore[arg-type]


def build(recipient: str) -> bytes:
    return compose(
        subject=SUBJECT,
        sender=SENDER,
        recipient=recipient,
        html=f'<p>{html.escape(NAME)}</p><img src="cid:chart-1">',
        text=f"Top pick: {NAME}",
        images={"chart-1": PNG},
        date=DAY,
        now=dt.datetime(2024, 3, 1, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )


def queue(store: Store, *recipients: str) -> int:
    return enqueue(
        store, screen_date=DAY, recipients=recipients, subject=SUBJECT, build=build, now=T0
    )


def outbox(store: Store) -> list[dict[str, object]]:
    return store.read_table("outbox").to_dicts()


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.fixture
def pauses() -> list[float]:
    return []


# -- composition -------------------------------------------------------------------------------
def test_real_exchange_delivers_headers_parts_and_inline_image(
    store: Store, pauses: list[float]
) -> None:
    assert queue(store, "ana@example.com") == 1
    with smtp_server() as (port, handler):
        report = deliver(store, settings(port), now=T0, sleep=pauses.append)
    assert report == DeliveryReport(sent=1, still_queued=0, errors=[]) and report.ok
    [got] = handler.received
    assert got.rcpt_tos == ["ana@example.com"] and got.mail_from == "screener@example.com"
    stored: bytes = store.read_table("outbox").item(0, "message")
    assert got.data.rstrip(b"\r\n") == stored.rstrip(b"\r\n")  # sent exactly as stored
    msg = parse(got.data)
    assert msg["Subject"] == SUBJECT  # Chinese survives RFC 2047 encoding
    assert msg["From"] == SENDER and msg["To"] == "ana@example.com"
    assert msg["Message-ID"] == message_id(DAY, "ana@example.com", SENDER)
    assert msg["Date"].datetime == dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().strip() == f"Top pick: {NAME}"  # verbatim in text
    assert related.get_content_type() == "multipart/related"
    body, image = related.iter_parts()
    assert body.get_content_type() == "text/html"
    page = body.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert image.get_content_type() == "image/png" and image.get_content() == PNG
    assert image["Content-ID"] == "<chart-1>" and image.get_content_disposition() == "inline"
    assert 'src="cid:chart-1"' in page


def test_message_id_depends_on_date_and_recipient_only() -> None:
    first = parse(build("ana@example.com"))
    again = parse(build("ana@example.com"))
    assert first["Message-ID"] == again["Message-ID"]
    assert message_id(DAY, "bo@example.com", SENDER) != first["Message-ID"]
    assert message_id(DAY + dt.timedelta(days=1), "ana@example.com", SENDER) != first["Message-ID"]


# -- outbox ------------------------------------------------------------------------------------
def test_running_the_job_twice_sends_once(store: Store, pauses: list[float]) -> None:
    built: list[str] = []

    def counting_build(recipient: str) -> bytes:
        built.append(recipient)
        return build(recipient)

    with smtp_server() as (port, handler):
        for _ in range(2):
            enqueue(
                store,
                screen_date=DAY,
                recipients=["ana@example.com", "bo@example.com"],
                subject=SUBJECT,
                build=counting_build,
                now=T0,
            )
            deliver(store, settings(port), now=T0, sleep=pauses.append)
    assert built == ["ana@example.com", "bo@example.com"]
    assert sorted(r.rcpt_tos[0] for r in handler.received) == ["ana@example.com", "bo@example.com"]
    assert {r["status"] for r in outbox(store)} == {"sent"}


def test_enqueue_leaves_queued_and_sent_rows_untouched(store: Store) -> None:
    assert queue(store, "ana@example.com") == 1
    before = outbox(store)
    n = enqueue(
        store,
        screen_date=DAY,
        recipients=["ana@example.com", "bo@example.com", "bo@example.com"],
        subject="another subject",
        build=lambda r: b"other",
        now=T0 + dt.timedelta(hours=1),
    )
    assert n == 1
    rows = outbox(store)
    assert rows[0] == before[0]
    assert rows[1]["recipient"] == "bo@example.com" and rows[1]["status"] == "queued"


def test_enqueue_rejects_a_bad_address_and_queues_nothing(store: Store) -> None:
    with pytest.raises(ConfigError, match="not an e-mail address"):
        queue(store, "ana@example.com", "bo example.com")
    assert outbox(store) == []


# -- failures and retries ----------------------------------------------------------------------
def test_refused_then_accepted_is_delivered_exactly_once(store: Store, pauses: list[float]) -> None:
    queue(store, "ana@example.com")
    with smtp_server(RecordingHandler(refuse_first=1)) as (port, handler):
        report = deliver(store, settings(port), now=T0, sleep=pauses.append)
    assert report.ok and report.sent == 1
    assert handler.data_commands == 2 and len(handler.received) == 1
    assert pauses == [1.0]
    [row] = outbox(store)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] == T0


def test_in_process_pauses_stop_at_max_wait(store: Store, pauses: list[float]) -> None:
    queue(store, "ana@example.com")
    with smtp_server(RecordingHandler(refuse_first=3)) as (port, handler):
        smtp = settings(port, max_attempts=5)
        report = deliver(store, smtp, now=T0, sleep=pauses.append, max_wait_s=1.5)
    assert pauses == [1.0, 0.5] and handler.data_commands == 3
    assert not report.ok and report.still_queued == 1
    assert report.errors == ["ana@example.com: SMTP 451 4.3.0 Try again later"]


def test_permanent_refusal_is_not_retried_but_kept(store: Store, pauses: list[float]) -> None:
    queue(store, "ana@example.com")
    refuse = RecordingHandler(refuse_first=99, refuse_with="550 5.1.1 Mailbox unavailable")
    with smtp_server(refuse) as (port, handler):
        report = deliver(store, settings(port), now=T0, sleep=pauses.append)
    assert handler.data_commands == 1 and pauses == []
    [row] = outbox(store)
    assert row["status"] == "queued" and row["attempts"] == 1
    assert row["last_error"] == "ana@example.com: SMTP 550 5.1.1 Mailbox unavailable"
    assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=30)
    assert report.errors == [row["last_error"]]


def test_silent_server_keeps_rows_then_recovery_sends_each_once(
    store: Store, pauses: list[float]
) -> None:
    queue(store, "ana@example.com", "bo@example.com")
    with silent_server() as (port, accepted):
        smtp = settings(port, timeout_s=0.5, max_attempts=2)
        report = deliver(store, smtp, now=T0, sleep=pauses.append)
        # the first message tried twice; the second was not tried against a dead server
        assert len(accepted) == 2 and pauses == [1.0]
    assert not report.ok and report.sent == 0 and report.still_queued == 2
    assert len(report.errors) == 2 and all("no answer within 0.5 s" in e for e in report.errors)
    rows = outbox(store)
    assert [r["status"] for r in rows] == ["queued", "queued"]
    assert all(r["attempts"] == 1 and r["last_error"] for r in rows)
    assert all(r["next_attempt_at"] == T0 + dt.timedelta(seconds=30) for r in rows)
    with smtp_server(port=port) as (_, handler):
        early = deliver(store, smtp, now=T0 + dt.timedelta(seconds=10), sleep=pauses.append)
        assert early.sent == 0 and handler.data_commands == 0  # backing off
        later = T0 + dt.timedelta(seconds=31)
        assert deliver(store, smtp, now=later, sleep=pauses.append).ok
        assert deliver(store, smtp, now=later, sleep=pauses.append).sent == 0
    assert sorted(r.rcpt_tos[0] for r in handler.received) == ["ana@example.com", "bo@example.com"]
    assert all(r["status"] == "sent" and r["attempts"] == 2 for r in outbox(store))


def test_connection_refused_keeps_the_row(store: Store, pauses: list[float]) -> None:
    queue(store, "ana@example.com")
    report = deliver(store, settings(free_port()), now=T0, sleep=pauses.append)
    assert report.still_queued == 1 and len(pauses) == 2
    assert report.errors[0].endswith("connection refused")


@pytest.mark.parametrize(
    ("tls", "reason"), [("starttls", "does not support"), ("ssl", "TLS error")]
)
def test_tls_mismatch_is_a_permanent_error(
    store: Store, pauses: list[float], tls: str, reason: str
) -> None:
    queue(store, "ana@example.com")
    with smtp_server() as (port, handler):
        report = deliver(store, settings(port, tls=tls), now=T0, sleep=pauses.append)
    assert reason in report.errors[0] and pauses == [] and handler.received == []


def test_backoff_doubles_and_caps_at_one_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8, 30)] == [
        30,
        60,
        120,
        1920,
        3600,
        3600,
    ]


# -- credentials -------------------------------------------------------------------------------
def test_credentials_come_from_env_both_or_neither() -> None:
    env = {"SCREENER_SMTP_USER": "u", "SCREENER_SMTP_PASSWORD": "p"}
    assert credentials_from_env(env) == ("u", "p")
    assert credentials_from_env({}) == (None, None)
    with pytest.raises(ConfigError, match="SCREENER_SMTP_PASSWORD"):
        credentials_from_env({"SCREENER_SMTP_USER": "u"})


def _cells(store: Store) -> str:
    return repr(store.read_table("outbox").rows())


def test_login_uses_env_credentials_and_never_records_them(
    store: Store, pauses: list[float]
) -> None:
    auth = Authenticator("mailer", "s3cret-Pw")
    env = {"SCREENER_SMTP_USER": "mailer", "SCREENER_SMTP_PASSWORD": "s3cret-Pw"}
    user, password = credentials_from_env(env)
    queue(store, "ana@example.com")
    with smtp_server(auth=auth) as (port, handler):
        no_login = deliver(store, settings(port), now=T0, sleep=pauses.append)
        assert no_login.still_queued == 1 and handler.received == []  # server requires AUTH
        later = T0 + dt.timedelta(minutes=5)
        report = deliver(
            store, settings(port), now=later, username=user, password=password, sleep=pauses.append
        )
    assert report.ok and auth.tried == [("mailer", "s3cret-Pw")] and len(handler.received) == 1
    assert "s3cret-Pw" not in _cells(store) and "mailer" not in _cells(store)


def test_failed_login_keeps_the_row_and_hides_credentials(
    store: Store, pauses: list[float]
) -> None:
    auth = Authenticator("mailer", "right-password")
    queue(store, "ana@example.com")
    with smtp_server(auth=auth) as (port, handler):
        report = deliver(
            store,
            settings(port),
            now=T0,
            username="mailer",
            password="wrong-password",
            sleep=pauses.append,
        )
    assert set(auth.tried) == {("mailer", "wrong-password")} and pauses == []
    assert "login failed: 535" in report.errors[0]
    text = " ".join(report.errors) + _cells(store)
    assert "wrong-password" not in text and "mailer" not in text
    assert outbox(store)[0]["status"] == "queued" and handler.received == []


def test_a_server_reply_quoting_the_credentials_is_scrubbed(
    store: Store, pauses: list[float]
) -> None:
    auth = Authenticator("mailer", "s3cret-Pw")
    quoting = RecordingHandler(mail_reply="553 5.7.1 mailer (pw s3cret-Pw) may not send")
    queue(store, "ana@example.com")
    with smtp_server(quoting, auth=auth) as (port, _):
        report = deliver(store, settings(port), now=T0, username="mailer", password="s3cret-Pw")
    assert report.errors == ["ana@example.com: SMTP 553 5.7.1 *** (pw ***) may not send"]
    assert outbox(store)[0]["last_error"] == report.errors[0]


def test_a_read_only_store_is_refused_before_anything_is_sent(
    store: Store, pauses: list[float]
) -> None:
    queue(store, "ana@example.com")
    store.close()
    with (
        Store(store.path, read_only=True) as readonly,
        smtp_server() as (port, handler),
        pytest.raises(StoreError, match="read-only"),
    ):
        deliver(readonly, settings(port), now=T0, sleep=pauses.append)
    assert handler.data_commands == 0


def test_refuses_to_send_credentials_unencrypted_to_a_remote_host(store: Store) -> None:
    smtp = settings(25, host="smtp.example.com")
    with pytest.raises(ConfigError, match="unencrypted"):
        deliver(store, smtp, username="u", password="p")


# -- overlapping runs --------------------------------------------------------------------------
def test_an_overlapping_run_in_the_same_process_is_refused(
    store: Store, pauses: list[float]
) -> None:
    queue(store, "ana@example.com")
    held = RecordingHandler(hold=threading.Event())
    reports: list[DeliveryReport] = []
    with smtp_server(held) as (port, handler):
        first = threading.Thread(
            target=lambda: reports.append(
                deliver(store, settings(port), now=T0, sleep=pauses.append)
            )
        )
        first.start()
        assert handler.entered.wait(10)  # the first run is inside the SMTP DATA exchange
        with Store(store.path) as second, pytest.raises(ScreenerError, match="in progress"):
            deliver(second, settings(port), now=T0, sleep=pauses.append)
        assert held.hold is not None
        held.hold.set()
        first.join(10)
    assert reports[0].sent == 1 and len(handler.received) == 1
    assert handler.data_commands == 1


def test_another_process_cannot_open_the_store_while_a_run_holds_it(store: Store) -> None:
    """The cross-process lock is the DuckDB write lock the CLI holds from enqueue to deliver."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from screener.store import Store; "
            "s = Store(sys.argv[1], lock_timeout=0.3); print('opened')",
            str(store.path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "opened" not in out
    assert StoreError.__name__ in err and "in use by another process" in err
