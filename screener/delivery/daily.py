"""The daily job after the close, and its e-mail step alone; values back, nothing printed.

``run_daily`` walks one session:

1. Gate. Not an XSHG session: nothing to do. A session whose data cut-off (15:30 Beijing time,
   half an hour after the close) has not passed: nothing yet, unless forced.
2. Data. With ``settings.daily_update`` the job first extends the store to the session as
   ``screener update`` does (ingest/update.py); otherwise imports or an update run before it
   must have done so. The session screened is then the one ``as_of.resolve_as_of`` gives, as
   for every dated command: when the store stops before the day, its last session, with a
   note, and the page and e-mail carry that session's date, so a stale screen is never mailed
   under the day's date (the outbox would then block the right one).
3. Notes. Every ``*.txt`` in ``settings.notes_dir`` goes through ``ledger.import_notes``, one
   file at a time so one unreadable note is reported instead of blocking the job; importing
   is keyed by content, so a second run imports nothing.
4. Screen. The screen (``daily_screen``: ``--screen``, else ``[daily] screen`` of
   screener.toml, else ``Screen()``, the broker picks of 30 days) on the session, written as
   ``reports_dir/screen_<date>[_<name>].html`` (one page per screen and session). An empty
   screen says why in one line with what mends it: on the terminal, in the page, in the
   e-mail's subject and body.
5. E-mail. Dry run: one ``.eml`` per recipient in a folder, nothing sent. Otherwise one outbox
   row per (date, recipient), then ``mail.deliver``: a second run sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from screener import calendar
from screener.as_of import resolve_as_of
from screener.brokers.ledger import import_notes
from screener.config import Settings
from screener.delivery import mail
from screener.errors import ConfigError, ScreenerError
from screener.report.assemble import screen_report_data, with_warnings, write_screen_report
from screener.report.colors import colors_for
from screener.report.email_body import screen_email, screen_subject
from screener.report.html import ScreenReportData
from screener.screen import Screen, load_screen, run_screen
from screener.screen_context import screen_report, sector_closes
from screener.store import Store

BEIJING = ZoneInfo("Asia/Shanghai")
DATA_CUTOFF = dt.time(15, 30)  # the close is 15:00; daily data are complete half an hour later
NOT_A_SESSION = "not a session"
BEFORE_THE_CLOSE = "before the close"
DONE = "done"


@dataclass(frozen=True)
class NotesImport:
    """What the notes step did across the folder's files."""

    folder: Path
    files: int = 0
    notes_new: int = 0
    picks_new: int = 0
    picks_updated: int = 0
    picks_removed: int = 0
    unresolved: int = 0
    errors: tuple[str, ...] = ()

    def line(self) -> str:
        if not self.files:
            return f"notes: no *.txt in {self.folder}"
        text = (
            f"notes: {self.files} file(s) in {self.folder}: {self.notes_new} new note(s), "
            f"{self.picks_new} new pick(s), {self.picks_updated} updated, "
            f"{self.picks_removed} removed"
        )
        return text + (f", {self.unresolved} name(s) unresolved" if self.unresolved else "")


@dataclass(frozen=True)
class EmailOutcome:
    """The e-mail step: files written (dry run) or rows queued and the delivery report."""

    date: dt.date
    subject: str
    recipients: tuple[str, ...]
    written: tuple[Path, ...] = ()
    queued: int = 0
    delivery: mail.DeliveryReport | None = None
    note: str | None = None  # which session was screened, when not the date asked for
    empty: str | None = None  # why the screen ranked nobody, with what mends it

    @property
    def ok(self) -> bool:
        return self.delivery is None or self.delivery.ok

    def lines(self) -> list[str]:
        """What the screen held when it was empty, then what the mail did."""
        return [*([f"screen: no names: {self.empty}"] if self.empty else []), *self.sent_lines()]

    def sent_lines(self) -> list[str]:
        if self.delivery is None:
            n, where = len(self.written), f" to {self.written[0].parent}" if self.written else ""
            return [f"e-mail (dry run): {n} message(s) written{where}; nothing sent"]
        d = self.delivery
        head = (
            f"e-mail: {self.queued} queued for {len(self.recipients)} recipient(s), {d.sent} sent"
        )
        if d.still_queued:
            head += f", {d.still_queued} still queued (retried on the next run)"
        return [head, *(f"e-mail error: {e}" for e in d.errors)]


@dataclass(frozen=True)
class DailyOutcome:
    """What ``run_daily`` did; ``status`` is one of NOT_A_SESSION, BEFORE_THE_CLOSE, DONE."""

    on: dt.date
    status: str
    message: str
    data: str | None = None
    notes: NotesImport | None = None
    ranked: int = 0
    report_path: Path | None = None
    email: EmailOutcome | None = None
    warnings: tuple[str, ...] = ()
    note: str | None = None  # which session was screened, when not the day itself
    empty: str | None = None  # why the screen ranked nobody, with what mends it

    @property
    def ok(self) -> bool:
        """False only when mail could not be delivered; skipping a day is not a failure."""
        return self.email is None or self.email.ok

    def lines(self) -> list[str]:
        """One line per step, for the CLI and the cron log."""
        if self.status != DONE:
            return [self.message]
        out = [self.message] + ([self.data] if self.data else [])
        out += [self.notes.line()] if self.notes else []
        ranked = f"{self.ranked} name(s) ranked" if self.ranked else f"no names: {self.empty}"
        out += [f"screen: {ranked}; report {self.report_path}"]
        out += [f"warning: {w}" for w in self.warnings]
        return out + (self.email.sent_lines() if self.email else [])


# -- the job -----------------------------------------------------------------------------------
def run_daily(
    store: Store,
    settings: Settings,
    *,
    on: dt.date | None = None,
    dry_run_dir: Path | None = None,
    now: dt.datetime | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
    screen: Screen | None = None,
) -> DailyOutcome:
    """The daily job for session ``on`` (default: today in Beijing); see the module docstring.

    ``now`` is the wall clock (aware, or naive meaning Beijing time); ``force`` runs a session
    before its data cut-off; ``env`` holds the SMTP login (default: the process environment).
    Raises ConfigError before doing anything when mail is due but no recipient is configured
    or the SMTP login is half set.
    """
    screen = screen or daily_screen(settings)
    clock = beijing_now(now)
    day = on or clock.date()
    if not calendar.is_session(day):
        return DailyOutcome(day, NOT_A_SESSION, f"{day} is not an XSHG session: nothing to do")
    if not force and (day > clock.date() or (day == clock.date() and clock.time() < DATA_CUTOFF)):
        cutoff = DATA_CUTOFF.strftime("%H:%M")
        message = f"{day}: before the close (data complete at {cutoff} Beijing time): nothing done"
        return DailyOutcome(day, BEFORE_THE_CLOSE, message)
    recipients = _recipients(settings, None, dry_run=dry_run_dir is not None)
    credentials = None if dry_run_dir is not None else _credentials(env)
    data_line = update_data(store, settings, day)
    when = resolve_as_of(store.sessions(), day)
    notes = import_folder(store, settings.notes_dir)
    data = screen_data(store, settings, when.session, screen)
    data = with_warnings(data, tuple(f"broker note: {e}" for e in notes.errors))
    path = write_screen_report(data, settings.reports_dir, colors=colors_for(settings.colors))
    mail_now = clock if now is not None else None
    sent = _email(store, settings, data, recipients, dry_run_dir, credentials, mail_now)
    return DailyOutcome(
        on=day,
        status=DONE,
        message=f"{day}: daily job done",
        data=data_line,
        notes=notes,
        ranked=data.ranked.height,
        report_path=path,
        email=sent,
        warnings=tuple(data.warnings),
        note=when.note,
        empty=data.empty,
    )


def email_screen(
    store: Store,
    settings: Settings,
    *,
    on: dt.date | None = None,
    to: Sequence[str] | None = None,
    dry_run_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    screen: Screen | None = None,
) -> EmailOutcome:
    """The e-mail step alone: screen ``on`` (default: the store's last session) and mail it.

    ``to`` replaces ``settings.smtp.recipients``. The outbox still allows one message per
    (date, recipient), so repeating the command sends nothing twice.
    """
    screen = screen or daily_screen(settings)
    recipients = _recipients(settings, to, dry_run=dry_run_dir is not None)
    credentials = None if dry_run_dir is not None else _credentials(env)
    when = resolve_as_of(store.sessions(), on)
    data = screen_data(store, settings, when.session, screen)
    mail_now = beijing_now(now) if now is not None else None
    sent = _email(store, settings, data, recipients, dry_run_dir, credentials, mail_now)
    return replace(sent, note=when.note)


def daily_screen(settings: Settings, path: Path | None = None) -> Screen:
    """The screen the daily job sends: ``path`` (``--screen``), else ``[daily] screen`` of
    screener.toml, else the broker picks of the last 30 days (``Screen()``). Its score may
    name a factor of the strategies' factor files, as in ``screener screen --screen``."""
    from screener.factors.expr.files import catalog

    chosen = path or settings.daily.screen
    return load_screen(chosen, catalog(settings.strategies_dir)) if chosen else Screen()


def beijing_now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (default: the current time) in Beijing time; a naive value is taken as Beijing."""
    if now is None:
        return dt.datetime.now(BEIJING)
    return now.replace(tzinfo=BEIJING) if now.tzinfo is None else now.astimezone(BEIJING)


def update_data(store: Store, settings: Settings, day: dt.date) -> str:
    """Bring the store up to ``day`` if ``settings.daily_update``; say what was done."""
    line = "data: the store is used as it is (daily_update is off)"
    if settings.daily_update:
        from screener.ingest.update import update_store

        with store.transaction():  # the market and its notes, or neither
            report = update_store(store, until=day, st_switch=settings.st_limit_switch)
            added = sum(r.new for r in report.results.values())
            line = f"data: updated to {day}: {added} new row(s)" + "".join(
                f"; not updated: {why}" for why in report.not_updated
            )
            if store.get_meta("data_source") == "demo":  # its weekly notes grow with its market
                from screener.brokers import demo_notes

                line += f"; {demo_notes.summary_line(demo_notes.load(store))}"
    return line


def import_folder(store: Store, folder: Path) -> NotesImport:
    """Import every ``*.txt`` note in ``folder``; a file that fails is reported, not fatal."""
    from screener.instruments import load_master

    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files:
        return NotesImport(folder)
    master = load_master()
    totals = dict.fromkeys(("notes_new", "picks_new", "picks_updated", "picks_removed"), 0)
    unresolved, errors = 0, []
    for path in files:
        try:
            s = import_notes(store, [path], master)
        except ScreenerError as exc:
            errors.append(str(exc))
            continue
        for key in totals:
            totals[key] += getattr(s, key)
        unresolved += s.unresolved.height
    return NotesImport(folder, len(files), **totals, unresolved=unresolved, errors=tuple(errors))


def screen_data(store: Store, settings: Settings, day: dt.date, screen: Screen) -> ScreenReportData:
    """Run ``screen`` on ``day`` and gather what the page and the e-mail show."""
    result = run_screen(store, screen, on=day, settings=settings)
    report = screen_report(store, result, settings)
    sector = sector_closes(store, result.as_of) if result.as_of else None
    return screen_report_data(report, sector=sector)


# -- e-mail ------------------------------------------------------------------------------------
def _recipients(settings: Settings, to: Sequence[str] | None, *, dry_run: bool) -> tuple[str, ...]:
    """``to`` or the configured list; a dry run without any previews one to the sender."""
    chosen = tuple(r.strip() for r in (to if to is not None else settings.smtp.recipients))
    chosen = tuple(r for r in chosen if r)
    for r in chosen:  # a typo is caught before anything is built, dry runs included
        mail.check_address(r)
    if chosen:
        return chosen
    if dry_run:
        return (settings.smtp.sender,)
    raise ConfigError(
        "no e-mail recipients",
        hint="set smtp.recipients in screener.toml, pass --to a@x,b@y, or use --dry-run DIR",
    )


def _email(
    store: Store,
    settings: Settings,
    data: ScreenReportData,
    recipients: tuple[str, ...],
    dry_run_dir: Path | None,
    credentials: tuple[str | None, str | None] | None,
    now: dt.datetime | None,
) -> EmailOutcome:
    names = [str(n) for n in data.ranked.get_column("name").to_list()]
    subject = screen_subject(data.date, names, synthetic=data.synthetic, empty=data.empty)
    html, text, images = screen_email(data, colors=colors_for(settings.colors))

    def build(recipient: str) -> bytes:
        return mail.compose(
            subject=subject,
            sender=settings.smtp.sender,
            recipient=recipient,
            html=html,
            text=text,
            images=images,
            date=data.date,
            now=now,
        )

    if dry_run_dir is not None:
        written = tuple(_write_eml(dry_run_dir, data.date, r, build(r)) for r in recipients)
        return EmailOutcome(data.date, subject, recipients, written=written, empty=data.empty)
    user, password = credentials or (None, None)
    queued = mail.enqueue(
        store, screen_date=data.date, recipients=recipients, subject=subject, build=build, now=now
    )
    report = mail.deliver(store, settings.smtp, now=now, username=user, password=password)
    return EmailOutcome(
        data.date, subject, recipients, queued=queued, delivery=report, empty=data.empty
    )


def _write_eml(folder: Path, day: dt.date, recipient: str, message: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9@._-]+", "_", recipient).strip("_") or "recipient"
    path = folder / f"screen_{day.isoformat()}_{slug}.eml"
    path.write_bytes(message)
    return path


def _credentials(env: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """SMTP login from ``env`` (default: the process environment), never from settings."""
    return mail.credentials_from_env(os.environ if env is None else env)
