"""The daily job from the command line: e-mail, run-daily, the demo's daily screen, cron lines."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_run import SCREENER, cli, demo_store, with_sample_note


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_store(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def demo_with_note(demo_db: Path) -> Path:
    return with_sample_note(demo_db)


def test_email_dry_run_and_daily_on_a_holiday(demo_with_note: Path, tmp_path: Path) -> None:
    done = cli("email", "--date", "2026-02-09", "--dry-run", str(tmp_path), db=demo_with_note)
    assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("*.eml"))) == 1
    holiday = cli("run-daily", "--date", "2026-02-17", db=demo_with_note)  # Spring Festival
    assert holiday.returncode == 0 and "not" in holiday.stdout.lower()


SECTOR_SCREEN = "strategies/screens/sector_oversold.toml"


def subject(folder: Path) -> str:
    """The subject of the one .eml a dry run wrote in ``folder``."""
    import email
    import email.policy

    (path,) = folder.glob("*.eml")
    return str(email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"])


def daily_config(tmp_path: Path, extra: str = "") -> dict[str, str]:
    """A screener.toml in ``tmp_path`` (pages there, no notes folder) as SCREENER_CONFIG."""
    tmp_path.mkdir(exist_ok=True)
    cfg = tmp_path / "screener.toml"
    cfg.write_text(
        f'reports_dir = "{tmp_path / "reports"}"\nnotes_dir = "{tmp_path / "notes"}"\n{extra}'
    )
    return {"SCREENER_CONFIG": str(cfg)}


def test_email_and_run_daily_send_the_configured_or_given_screen(
    demo_db: Path, tmp_path: Path
) -> None:
    env = daily_config(tmp_path, f'[daily]\nscreen = "{SECTOR_SCREEN}"\n')
    day = ("--date", "2026-02-09")
    configured = cli("email", *day, "--dry-run", str(tmp_path / "a"), db=demo_db, env=env)
    assert configured.returncode == 0, configured.stderr
    given = cli("email", *day, "--dry-run", str(tmp_path / "b"), "--screen", SECTOR_SCREEN,
                db=demo_db, env=daily_config(tmp_path / "plain"))  # fmt: skip
    assert subject(tmp_path / "a") == subject(tmp_path / "b") and given.returncode == 0
    job = cli("run-daily", *day, "--force", "--dry-run", str(tmp_path / "c"), db=demo_db, env=env)
    assert "screen: 10 name(s) ranked; report " in job.stdout
    assert (tmp_path / "reports" / "screen_2026-02-09_sector_oversold.html").exists()
    bad = cli("email", "--screen", "nope.toml", "--dry-run", str(tmp_path), db=demo_db)
    assert bad.returncode == 1 and bad.stderr == "error: nope.toml: no such screen file\n"


def test_an_empty_daily_screen_says_why_on_one_line(demo_db: Path, tmp_path: Path) -> None:
    """Before the first synthetic note (2015-01-11) the picks screen is empty: one line says
    why and what mends it, unwrapped even past 120 columns."""
    args = ("--date", "2015-01-06", "--dry-run", str(tmp_path / "eml"))
    done = cli("email", *args, db=demo_db, env=daily_config(tmp_path))
    first = done.stdout.splitlines()[0]
    assert first.startswith("screen: no names: the universe is empty: no broker picks known")
    assert first.endswith("(import a note: `screener picks import NOTE.txt`)")
    assert "no broker picks known in the 30 days to 2015-01-06" in subject(tmp_path / "eml")


def test_demo_makes_the_next_email_send_its_screen(tmp_path: Path) -> None:
    """Fails before: the demo's sector screen lived only in the demo; `email` sent the empty
    picks screen and `run-daily` wrote it over the demo's page. Settings already in the file
    stay."""
    from screener.config import Settings

    env = daily_config(tmp_path, "[smtp]\nport = 2525  # my relay\n")
    db = tmp_path / "demo.duckdb"
    demo = cli("demo", db=db, env=env)
    assert demo.returncode == 0, demo.stderr
    assert f"[daily] screen = '{SECTOR_SCREEN}' (set)" in demo.stdout
    settings = Settings.load(config_path=Path(env["SCREENER_CONFIG"]), env={})
    assert settings.daily.screen == Path(SECTOR_SCREEN) and settings.smtp.port == 2525
    (page,) = (tmp_path / "reports").glob("screen_*.html")
    (trades,) = (tmp_path / "reports").glob("backtest_*_trades.csv")  # listed with the files
    assert f"trade list:      {trades}" in demo.stdout
    shown = page.read_text(encoding="utf-8")
    day = page.name.split("_")[1]
    mail = cli("email", "--dry-run", str(tmp_path / "next"), db=db, env=env)
    assert mail.returncode == 0 and subject(tmp_path / "next") == subject(
        tmp_path / "reports" / "outbox"
    )
    job = cli("run-daily", "--date", day, "--force", "--dry-run", str(tmp_path / "job"), db=db,
              env=env)  # fmt: skip
    assert job.returncode == 0 and f"report {page}" in job.stdout
    assert sorted((tmp_path / "reports").glob("screen_*.html")) == [page]
    assert page.read_text(encoding="utf-8").count("<tr") == shown.count("<tr")


def test_schedule_show_prints_the_managed_cron_line() -> None:
    done = cli("schedule", "show")
    assert done.returncode == 0
    assert "run-daily" in done.stdout and "30 16 * * 1-5" in done.stdout


def test_cron_lines_are_never_wrapped(tmp_path: Path) -> None:
    deep = tmp_path / ("a-very-long-project-folder-name-" * 4) / "and-deeper"
    deep.mkdir(parents=True)
    full = {**os.environ, "SCREENER_DB": str(tmp_path / "x.duckdb")}
    done = subprocess.run(
        [*SCREENER, "schedule", "show"], capture_output=True, text=True, env=full, cwd=deep
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and str(deep) in lines[2] and lines[2].endswith("2>&1")
