"""The daily screen e-mail: compose MIME messages, queue them in the outbox, deliver over SMTP.

This is the only module that sends mail. It never prints; callers get values back.

Outbox rows (``schema.OUTBOX``) are keyed by (screen_date, recipient), so a job that runs twice
queues one message per recipient per screen date. A row is ``queued`` until an SMTP server has
accepted it, then ``sent``; a failed row stays ``queued`` with ``attempts``, a one-line
``last_error`` and a back-off time, so nothing is lost while the server is down.

Locking: two overlapping ``deliver`` runs must not send the same row twice.

1. Across processes, the DuckDB file itself is the lock: a ``Store`` opened read-write is
   exclusive to one process, and a second ``screener email`` waits ``lock_timeout`` then fails.
   The CLI therefore keeps its store open from ``enqueue`` until ``deliver`` returns.
2. Within one process (two Store objects on one file share a database) ``deliver`` also takes a
   non-blocking ``flock`` on ``<db>.mail.lock``; if it is held, ``deliver`` raises at once.

What no lock can fix: a crash between the server's "250 OK" and the ``sent`` mark re-sends that
message on the next run. The Message-ID is derived from (screen_date, recipient) so the copy is
recognisably the same message.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import polars as pl

from screener import schema
from screener.config import SmtpSettings
from screener.errors import ConfigError, ScreenerError, StoreError
from screener.store import Store

USER_ENV = "SCREENER_SMTP_USER"
PASSWORD_ENV = "SCREENER_SMTP_PASSWORD"
TLS_MODES = ("none", "starttls", "ssl")
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)
_MAX_ERROR_CHARS = 200


# -- composition ---------------------------------------------------------------------------
def compose(
    *,
    subject: str,
    sender: str,
    recipient: str,
    html: str,
    text: str,
    images: Mapping[str, bytes],
    date: dt.date,
    now: dt.datetime | None = None,
) -> bytes:
    """The complete RFC 5322 bytes: text/plain, then text/html with its inline PNGs.

    ``html`` must already be escaped; it refers to each image as ``cid:<key of images>``.
    ``date`` is the screen date: with the recipient it fixes the Message-ID. ``now`` sets the
    Date header (default: the current time).
    """
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = subject  # the policy encodes non-ASCII (Chinese names) as RFC 2047 UTF-8
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC).astimezone())
    msg["Message-ID"] = message_id(date, recipient, sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    html_part = list(msg.iter_parts())[1]
    for cid, png in images.items():
        # add_related turns the text/html part into multipart/related on the first image.
        html_part.add_related(png, "image", "png", cid=f"<{cid}>", disposition="inline")
    return msg.as_bytes()


def message_id(date: dt.date, recipient: str, sender: str) -> str:
    """Stable per (screen date, recipient): a re-sent copy carries the same Message-ID."""
    digest = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2].strip("<> ") or "screener.localhost"
    return f"<screen.{date:%Y%m%d}.{digest}@{domain}>"


# -- outbox --------------------------------------------------------------------------------
def enqueue(
    store: Store,
    *,
    screen_date: dt.date,
    recipients: Iterable[str],
    subject: str,
    build: Callable[[str], bytes],
    now: dt.datetime | None = None,
) -> int:
    """Queue one message per recipient not yet in the outbox for ``screen_date``.

    Rows already queued or sent are left exactly as they are, so running the job twice sends
    nothing twice. ``build(recipient)`` is called only for new rows. Returns the count queued.
    """
    wanted = list(dict.fromkeys(r.strip() for r in recipients))
    for r in wanted:
        check_address(r)
    stamp = _naive_utc(now)
    with store.transaction():
        outbox = store.read_table("outbox")
        have = set(outbox.filter(pl.col("screen_date") == screen_date)["recipient"])
        rows = [
            {
                "screen_date": screen_date,
                "recipient": r,
                "subject": subject,
                "message": build(r),
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": stamp,
                "created_at": stamp,
            }
            for r in wanted
            if r not in have
        ]
        if rows:
            store.upsert("outbox", pl.DataFrame(rows), source="outbox")
    return len(rows)


def retry_delay(attempts: int) -> dt.timedelta:
    """Back-off before the next run may retry: 30 s, 60 s, 120 s, ... capped at one hour."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def credentials_from_env(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(user, password) from SCREENER_SMTP_USER / SCREENER_SMTP_PASSWORD; both or neither."""
    user, password = env.get(USER_ENV) or None, env.get(PASSWORD_ENV) or None
    if (user is None) != (password is None):
        missing = PASSWORD_ENV if password is None else USER_ENV
        raise ConfigError(f"{missing} is not set", hint=f"set both {USER_ENV} and {PASSWORD_ENV}")
    return user, password


# -- delivery ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver`` run did; ``still_queued`` counts every unsent row afterwards."""

    sent: int
    still_queued: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.still_queued == 0


class _Failure(Exception):
    """One failed SMTP try: ``transient`` is worth retrying; ``session`` = server unusable."""

    def __init__(self, line: str, *, transient: bool, session: bool) -> None:
        super().__init__(line)
        self.line, self.transient, self.session = line, transient, session


def deliver(
    store: Store,
    smtp: SmtpSettings,
    *,
    now: dt.datetime | None = None,
    username: str | None = None,
    password: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait_s: float = 30.0,
) -> DeliveryReport:
    """Send every queued row due at ``now``; mark each sent the moment the server accepts it.

    A message gets at most ``smtp.max_attempts`` SMTP tries per run, with pauses of 1, 2, 4 ...
    s between transient failures, all pauses together at most ``max_wait_s``. A row that still
    fails stays queued: ``attempts`` + 1, ``last_error``, ``next_attempt_at`` = now +
    ``retry_delay``. When the server itself cannot be reached, the remaining rows are marked
    failed without further tries. Credentials are used for login only, never recorded.
    """
    _check_settings(smtp, username)
    if store.read_only:  # a message we could not mark as sent would go out again next run
        raise StoreError(f"store {store.path} was opened read-only; delivery must record sends")

    def clock() -> dt.datetime:
        return _naive_utc(now)  # the current time unless the caller fixed ``now``

    errors: list[str] = []
    sent = 0
    with _mail_lock(store.path):
        session = _Session(smtp, username, password, sleep=sleep, max_wait_s=max_wait_s)
        blocked: _Failure | None = None
        try:
            for row in _due(store, clock()):
                failure = blocked or session.send_with_retries(row["recipient"], row["message"])
                if failure is None:
                    _update(store, row, status="sent", sent_at=clock(), last_error=None)
                    sent += 1
                    continue
                blocked = failure if failure.session else None
                line = _scrub(f"{row['recipient']}: {failure.line}", username, password)
                _record_failure(store, row, line, clock())
                errors.append(line)
        finally:
            session.close()
        queued = store.read_table("outbox").filter(pl.col("status") == "queued").height
    return DeliveryReport(sent=sent, still_queued=queued, errors=errors)


class _Session:
    """One SMTP connection, opened lazily, reused across messages, dropped after any failure."""

    def __init__(
        self,
        smtp: SmtpSettings,
        username: str | None,
        password: str | None,
        *,
        sleep: Callable[[float], None],
        max_wait_s: float,
    ) -> None:
        self._smtp, self._user, self._password = smtp, username, password
        self._sleep, self._wait_left = sleep, max_wait_s  # pause budget for the whole run
        self._conn: smtplib.SMTP | None = None

    def send_with_retries(self, recipient: str, message: bytes) -> _Failure | None:
        """None once the server accepted the message, else the last failure."""
        tries = max(self._smtp.max_attempts, 1)
        for i in range(tries):
            try:
                self.send(recipient, message)
                return None
            except _Failure as failure:
                pause = min(float(2**i), self._wait_left)
                if not failure.transient or i == tries - 1 or pause <= 0:
                    return failure
                self._wait_left -= pause
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def send(self, recipient: str, message: bytes) -> None:
        opening = self._conn is None
        try:
            if self._conn is None:
                self._conn = self._open()
            opening = False
            self._conn.sendmail(self._smtp.sender, [recipient], message)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            line, transient = _describe(exc, self._smtp)
            if opening:
                line = f"cannot use {self._smtp.host}:{self._smtp.port}: {line}"
            raise _Failure(line, transient=transient, session=opening) from None

    def _open(self) -> smtplib.SMTP:
        s = self._smtp
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.tls == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        try:
            if s.tls == "starttls":
                conn.starttls(context=context)
            if self._user is not None:
                conn.login(self._user, self._password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        if self._conn is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn.close()
            self._conn = None


def _describe(exc: BaseException, smtp: SmtpSettings) -> tuple[str, bool]:
    """A short reason and whether a retry may succeed (4xx replies and network trouble)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (550, b"refused"))
        return f"recipient refused: {code} {_text(reply)}", 400 <= code < 500
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login failed: {exc.smtp_code} {_text(exc.smtp_error)}", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"server does not support it: {exc}", False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            return f"no answer within {smtp.timeout_s:g} s", True
        return f"server disconnected: {exc}", True
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}", False
    if isinstance(exc, TimeoutError):
        return f"no answer within {smtp.timeout_s:g} s", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", True
    return f"{type(exc).__name__}: {exc}", isinstance(exc, OSError)


def _due(store: Store, now: dt.datetime) -> list[dict[str, Any]]:
    """Queued messages whose back-off has passed, oldest first (the outbox is small)."""
    waited = pl.col("next_attempt_at").is_null() | (pl.col("next_attempt_at") <= now)
    due = store.read_table("outbox").filter((pl.col("status") == "queued") & waited)
    return due.sort("created_at", "screen_date", "recipient").to_dicts()


def _record_failure(store: Store, row: dict[str, Any], line: str, now: dt.datetime) -> None:
    attempts = int(row["attempts"] or 0) + 1
    _update(store, row, last_error=line, next_attempt_at=now + retry_delay(attempts))


def _update(store: Store, row: dict[str, Any], **changes: Any) -> None:
    """Rewrite one row (its own transaction); every delivery counts as an attempt."""
    new = {**row, **changes, "attempts": int(row["attempts"] or 0) + 1}
    store.upsert("outbox", pl.DataFrame([new], schema=schema.OUTBOX.columns), source="outbox")


@contextmanager
def _mail_lock(db_path: Path) -> Iterator[None]:
    """Exclusive, non-blocking: a second delivery run fails at once instead of double-sending."""
    lock_path = Path(f"{db_path}.mail.lock")
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScreenerError(
                "another screener e-mail run is in progress",
                hint=f"wait for it to finish (lock file {lock_path})",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- small helpers -------------------------------------------------------------------------
def _check_settings(smtp: SmtpSettings, username: str | None) -> None:
    if smtp.tls not in TLS_MODES:
        raise ConfigError(f"smtp.tls must be one of {', '.join(TLS_MODES)}, got {smtp.tls!r}")
    if username is not None and smtp.tls == "none" and not _is_loopback(smtp.host):
        raise ConfigError(
            f"refusing to send SMTP credentials unencrypted to {smtp.host}",
            hint="set smtp.tls to 'starttls' or 'ssl'",
        )


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def check_address(recipient: str) -> None:
    """Catch config typos before anything is queued; the server judges the rest."""
    local, at, domain = recipient.rpartition("@")
    if not (local and at and domain) or any(c.isspace() or c in "<>,;" for c in recipient):
        raise ConfigError(
            f"{recipient!r} is not an e-mail address", hint="fix --to or smtp.recipients"
        )


def _naive_utc(when: dt.datetime | None) -> dt.datetime:
    """Outbox timestamps are naive UTC; an aware ``when`` is converted, a naive one trusted."""
    if when is None:
        when = dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _scrub(line: str, *secrets: str | None) -> str:
    """One line, bounded length, with any credential a server might echo blanked out."""
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    line = " ".join(line.split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 3] + "..."
