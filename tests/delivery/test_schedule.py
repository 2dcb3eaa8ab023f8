"""The crontab entry: its text, cron validation, idempotent install; a fake crontab only."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest

from screener.config import Settings, SmtpSettings
from screener.delivery.schedule import (
    MARKER,
    check_cron,
    crontab_block,
    crontab_line,
    install,
    read_user_crontab,
    write_user_crontab,
)
from screener.errors import ConfigError, ScreenerError

REPO = Path(__file__).resolve().parents[2]
PROJECT = Path("/srv/my screener")
PYTHON = PROJECT / ".venv/bin/python"
FOREIGN = "MAILTO=me@example.com\n0 3 * * * /usr/local/bin/backup --quiet\n"


class FakeCrontab:
    """The user's crontab in memory; counts writes."""

    def __init__(self, text: str = "") -> None:
        self.text, self.writes = text, 0

    def read(self) -> str:
        return self.text

    def write(self, text: str) -> None:
        self.text, self.writes = text, self.writes + 1


def put(settings: Settings, tab: FakeCrontab, **kwargs: bool) -> tuple[bool, str]:
    result = install(
        settings,
        project_dir=PROJECT,
        python=PYTHON,
        read_crontab=tab.read,
        write_crontab=tab.write,
        **kwargs,
    )
    return result.changed, result.diff


def test_line_runs_the_daily_job_from_the_project_with_a_log() -> None:
    line = crontab_line(Settings(), project_dir=PROJECT, python=PYTHON)
    assert line == (
        "30 16 * * 1-5 cd '/srv/my screener' && mkdir -p reports && "
        "'/srv/my screener/.venv/bin/screener' run-daily >> reports/daily.log 2>&1"
    )
    block = crontab_block(Settings(), project_dir=PROJECT, python=PYTHON)
    assert block[0].startswith(MARKER) and block[1] == "CRON_TZ=Asia/Shanghai"
    assert block[2] == line


def test_line_escapes_cron_percent_and_uses_the_reports_dir() -> None:
    settings = replace(Settings(), reports_dir=Path("out/100%"), schedule_cron="0  17 * * mon")
    line = crontab_line(settings, project_dir=Path("/p"), python=Path("/p/.venv/bin/python"))
    assert line.startswith("0 17 * * mon cd /p && mkdir -p out/100\\% && ")
    assert line.endswith(">> out/100\\%/daily.log 2>&1")


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("30 16 * *", "4 field(s), not 5"),
        ("60 16 * * 1-5", "minute field '60': 60 is out of range 0-59"),
        ("30 24 * * 1-5", "hour field '24': 24 is out of range 0-23"),
        ("30 16 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
        ("30 16 * 13 *", "month field '13'"),
        ("30 16 * * 8", "day-of-week field '8': 8 is out of range 0-7"),
        ("30 16 * * 5-1", "day-of-week field '5-1': range 5-1 runs backwards"),
        ("*/0 16 * * *", "minute field '*/0': step 0 must be >= 1"),
        ("30 16 * * mon-fri", "day-of-week field 'mon-fri': 'mon-fri' is not *"),
        ("30 16,x * * *", "hour field '16,x'"),
        ("@daily", "1 field(s)"),
    ],
)
def test_invalid_cron_names_the_field(expr: str, words: str) -> None:
    with pytest.raises(ConfigError, match="schedule_cron") as info:
        check_cron(expr)
    assert words in str(info.value)
    assert "minute hour day-of-month month day-of-week" in str(info.value)  # the hint
    with pytest.raises(ConfigError):
        crontab_line(replace(Settings(), schedule_cron=expr), project_dir=PROJECT, python=PYTHON)


@pytest.mark.parametrize("expr", ["0,30 9-15/2 1 jan mon", "*/5 * * * 7", "0 0 31 12 0"])
def test_valid_cron_passes(expr: str) -> None:
    assert check_cron(expr) == expr


def test_install_adds_once_and_keeps_foreign_lines() -> None:
    tab = FakeCrontab(FOREIGN)
    changed, diff = put(Settings(), tab)
    assert changed and tab.writes == 1
    assert tab.text.startswith(FOREIGN)  # the user's lines first, untouched
    assert tab.text.count(MARKER) == 1 and tab.text.endswith("2>&1\n")
    assert "+CRON_TZ=Asia/Shanghai" in diff and "-0 3 * * *" not in diff
    assert diff.startswith("--- crontab (before)\n+++ crontab (after)\n")
    again, diff2 = put(Settings(), tab)
    assert (again, diff2, tab.writes) == (False, "", 1)


def test_install_into_an_empty_crontab() -> None:
    tab = FakeCrontab("")
    assert put(Settings(), tab)[0]
    assert tab.text.splitlines()[0].startswith(MARKER)


def test_a_new_schedule_replaces_the_managed_line_in_place() -> None:
    tab = FakeCrontab(FOREIGN)
    put(Settings(), tab)
    tab.text += "15 8 * * * /usr/bin/later-job\n"  # the user appended a line after our block
    changed, diff = put(replace(Settings(), schedule_cron="0 17 * * 1-5"), tab)
    assert changed
    assert "-30 16 * * 1-5 cd" in diff and "+0 17 * * 1-5 cd" in diff
    lines = tab.text.splitlines()
    assert lines[-1] == "15 8 * * * /usr/bin/later-job"
    assert sum(line.startswith("0 17 * * 1-5 cd") for line in lines) == 1
    assert not any(line.startswith("30 16") for line in lines)


def test_duplicate_blocks_collapse_to_one() -> None:
    block = "\n".join(crontab_block(Settings(), project_dir=PROJECT, python=PYTHON))
    tab = FakeCrontab(f"{block}\n{FOREIGN}{block}\n")
    assert put(Settings(), tab)[0]
    assert tab.text == f"{block}\n{FOREIGN}"


def test_dry_run_shows_the_diff_and_writes_nothing() -> None:
    tab = FakeCrontab(FOREIGN)
    changed, diff = put(Settings(), tab, dry_run=True)
    assert changed and "+CRON_TZ=Asia/Shanghai" in diff
    assert (tab.text, tab.writes) == (FOREIGN, 0)


def test_invalid_cron_installs_nothing() -> None:
    tab = FakeCrontab(FOREIGN)
    with pytest.raises(ConfigError):
        put(replace(Settings(), schedule_cron="99 * * * *"), tab)
    assert (tab.text, tab.writes) == (FOREIGN, 0)


# -- the real crontab command, as a stand-in script on PATH ------------------------------------
def fake_crontab(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir()
    exe = folder / "crontab"
    exe.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin:/bin")


def test_no_crontab_for_the_user_reads_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_crontab(tmp_path / "bin", 'echo "no crontab for alice" >&2; exit 1', monkeypatch)
    assert read_user_crontab() == ""


def test_crontab_round_trip_through_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "saved"
    script = f'if [ "$1" = "-" ]; then cat > "{saved}"; else cat "{saved}"; fi'
    fake_crontab(tmp_path / "bin", script, monkeypatch)
    write_user_crontab(FOREIGN)
    assert read_user_crontab() == FOREIGN


def test_crontab_failures_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_crontab(tmp_path / "bin", 'echo "bad minute\n  line 3" >&2; exit 1', monkeypatch)
    with pytest.raises(ScreenerError, match="crontab - refused the new crontab: bad minute line 3"):
        write_user_crontab("junk\n")


def test_missing_crontab_command_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no crontab anywhere
    with pytest.raises(ScreenerError, match="crontab is not installed") as info:
        read_user_crontab()
    assert "screener schedule show" in str(info.value)


# -- the example settings file -----------------------------------------------------------------
def test_example_settings_document_every_field_and_load() -> None:
    path = REPO / "screener.toml.example"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    top = {f.name for f in fields(Settings)}
    assert set(raw) == top  # every field present (smtp as its table), nothing unknown
    assert set(raw["smtp"]) == {f.name for f in fields(SmtpSettings)}
    settings = Settings.load(config_path=path, env={})
    assert settings == Settings()  # the example shows the defaults
    assert crontab_line(settings, project_dir=PROJECT, python=PYTHON).startswith("30 16 * * 1-5")
    text = path.read_text(encoding="utf-8")
    assert "SCREENER_SMTP_USER" in text and "SCREENER_SMTP_PASSWORD" in text
    assert "password" not in raw["smtp"] and "user" not in raw["smtp"]
