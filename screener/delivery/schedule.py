"""The daily job in the user's crontab: one managed block, installed idempotently.

The block is three lines: a marker comment (``# screener run-daily (managed)...``), then
``CRON_TZ=Asia/Shanghai`` so the schedule reads in Beijing time, then the job::

    30 16 * * 1-5 cd /srv/screener && mkdir -p reports
        && /srv/screener/.venv/bin/screener run-daily >> reports/daily.log 2>&1   (one line)

CRON_TZ is honoured by cronie (Fedora, RHEL, Arch); Debian's and Ubuntu's cron ignore it and
read the schedule in the system time zone. CRON_TZ applies to every later line of a crontab,
so the block is appended at the end and replaced where it stands. The job decides in Beijing
time itself (``daily.run_daily``): fired in the wrong zone, it does nothing rather than
screen the wrong session. Cron passes no shell profile: SMTP credentials go in the crontab as
``SCREENER_SMTP_USER=...`` lines above the block (kept as they are). ``install`` takes the
crontab reader and writer as arguments, so tests never touch a real crontab.
"""

from __future__ import annotations

import difflib
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from screener.config import Settings
from screener.errors import ConfigError, ScreenerError

MARKER = "# screener run-daily (managed)"
TIME_ZONE = "Asia/Shanghai"
CRON_HINT = "five fields: minute hour day-of-month month day-of-week, e.g. '30 16 * * 1-5'"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names accepted as single values: not in ranges, as Debian's cron)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"^(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


# -- the entry ---------------------------------------------------------------------------------
def check_cron(expr: str) -> str:
    """The expression with single spaces, or ConfigError naming the first bad field."""
    parts = expr.split()
    if len(parts) != len(FIELDS):
        raise ConfigError(
            f"schedule_cron {expr!r} has {len(parts)} field(s), not {len(FIELDS)}", hint=CRON_HINT
        )
    for text, (name, low, high, names) in zip(parts, FIELDS, strict=True):
        for item in text.split(","):
            reason = _item_problem(item.lower(), low, high, names)
            if reason:
                raise ConfigError(
                    f"schedule_cron {expr!r}: {name} field {text!r}: {reason}", hint=CRON_HINT
                )
    return " ".join(parts)


def _item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    """Why one comma-separated item is invalid, or None (``*``, ``n``, ``a-b``, ``/step``)."""
    if item in names:
        return None
    match = _ITEM.match(item)
    if match is None:
        accepted = f" or one of {', '.join(names)}" if names else ""
        return f"{item!r} is not *, a number, a range a-b or a step /n{accepted}"
    star, first, last, step = match.groups()
    if step is not None and int(step) < 1:
        return f"step {step} must be >= 1"
    if star:
        return None
    a, b = int(first), int(last if last is not None else first)
    for value in (a, b):
        if not low <= value <= high:
            return f"{value} is out of range {low}-{high}"
    return f"range {a}-{b} runs backwards" if a > b else None


def crontab_line(settings: Settings, *, project_dir: Path, python: Path) -> str:
    """The job line: at ``settings.schedule_cron``, run-daily from the project, log appended.

    ``python`` is the virtual environment's interpreter; its ``screener`` script runs the job.
    """
    when = check_cron(settings.schedule_cron)
    reports = settings.reports_dir
    command = " ".join(
        [
            f"cd {_quote(project_dir)}",
            f"&& mkdir -p {_quote(reports)}",
            f"&& {_quote(python.parent / 'screener')} run-daily",
            f">> {_quote(reports / 'daily.log')} 2>&1",
        ]
    )
    return f"{when} {command}"


def _quote(path: Path) -> str:
    """Shell-quoted, with cron's ``%`` (a newline to cron) escaped."""
    return shlex.quote(str(path)).replace("%", r"\%")


def crontab_block(settings: Settings, *, project_dir: Path, python: Path) -> list[str]:
    """The managed lines: the marker, CRON_TZ, the job."""
    return [
        f"{MARKER}: Beijing times (CRON_TZ, cronie); keep these lines last",
        f"CRON_TZ={TIME_ZONE}",
        crontab_line(settings, project_dir=project_dir, python=python),
    ]


# -- installing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstallResult:
    """``diff`` is a unified diff of the crontab, empty when nothing changed."""

    changed: bool
    diff: str
    block: tuple[str, ...]


def merge(current: str, block: list[str]) -> str:
    """``current`` with our block replaced where it stands (duplicates dropped) or appended.

    A managed block is the marker line and the CRON_TZ or run-daily lines right after it;
    every other line is kept as it is.
    """
    lines = current.splitlines()
    out: list[str] = []
    placed, i = False, 0
    while i < len(lines):
        if not lines[i].startswith(MARKER):
            out.append(lines[i])
            i += 1
            continue
        i += 1
        while i < len(lines) and _managed(lines[i]):
            i += 1
        if not placed:
            out += block
            placed = True
    if not placed:
        out += ([""] if out and out[-1].strip() else []) + block
    return "\n".join(out) + "\n"


def _managed(line: str) -> bool:
    return line.startswith("CRON_TZ=") or (" run-daily" in line and not line.startswith("#"))


def install(
    settings: Settings,
    *,
    project_dir: Path,
    python: Path,
    read_crontab: Callable[[], str] | None = None,
    write_crontab: Callable[[str], None] | None = None,
    dry_run: bool = False,
) -> InstallResult:
    """Put the managed block in the user's crontab; write only when it changes."""
    block = crontab_block(settings, project_dir=project_dir, python=python)
    before = (read_crontab or read_user_crontab)()
    after = merge(before, block)
    if after == before:
        return InstallResult(changed=False, diff="", block=tuple(block))
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile="crontab (before)",
            tofile="crontab (after)",
        )
    )
    if not dry_run:
        (write_crontab or write_user_crontab)(after)
    return InstallResult(changed=True, diff=diff, block=tuple(block))


# -- the real crontab --------------------------------------------------------------------------
def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["crontab", *args], input=stdin, capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        raise ScreenerError(
            "crontab is not installed",
            hint="install cron (Debian: apt-get install cron), or add the lines of "
            "`screener schedule show` to your scheduler by hand",
        ) from None


def read_user_crontab() -> str:
    """``crontab -l``; a user without a crontab has an empty one."""
    proc = _crontab(["-l"])
    if proc.returncode == 0:
        return proc.stdout
    if "no crontab for" in proc.stderr.lower():
        return ""
    raise ScreenerError(f"crontab -l failed: {' '.join(proc.stderr.split())}")


def write_user_crontab(text: str) -> None:
    """Replace the user's crontab with ``text`` (``crontab -``)."""
    proc = _crontab(["-"], stdin=text)
    if proc.returncode != 0:
        raise ScreenerError(f"crontab - refused the new crontab: {' '.join(proc.stderr.split())}")
