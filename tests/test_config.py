from pathlib import Path

import pytest

from screener.config import DEFAULT_DB, Settings, set_daily_screen
from screener.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = Settings.load(config_path=tmp_path / "none.toml", env={})
    assert s.db_path == DEFAULT_DB
    assert s.smtp.tls == "none"


def test_env_then_explicit_db(tmp_path: Path) -> None:
    env = {"SCREENER_DB": str(tmp_path / "env.duckdb")}
    assert (
        Settings.load(config_path=tmp_path / "x.toml", env=env).db_path == tmp_path / "env.duckdb"
    )
    explicit = Settings.load(config_path=tmp_path / "x.toml", env=env, db=tmp_path / "cli.duckdb")
    assert explicit.db_path == tmp_path / "cli.duckdb"


def test_file_values_and_smtp_section(tmp_path: Path) -> None:
    cfg = tmp_path / "screener.toml"
    cfg.write_text(
        'max_ffill_sessions = 3\n[smtp]\nhost = "mail.example"\nport = 587\ntls = "starttls"\n'
        'recipients = ["a@x", "b@y"]\n'
    )
    s = Settings.load(config_path=cfg, env={})
    assert s.max_ffill_sessions == 3
    assert (s.smtp.host, s.smtp.port, s.smtp.recipients) == ("mail.example", 587, ("a@x", "b@y"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_fill = 3\n", "unknown key 'max_fill'"),
        ('max_ffill_sessions = "3"\n', "'max_ffill_sessions' must be int"),
        ("[smtp]\nport = true\n", "'smtp.port' must be int"),
        ("[smtp]\nrecipients = 'a@x'\n", "'smtp.recipients' must be a list"),
        ("max_ffill_sessions = \n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "screener.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        Settings.load(config_path=cfg, env={})
    assert str(cfg) in str(err.value)


def test_the_daily_screen_setting_is_a_path(tmp_path: Path) -> None:
    cfg = tmp_path / "screener.toml"
    assert Settings.load(config_path=cfg, env={}).daily.screen is None  # the picks screen
    cfg.write_text('[daily]\nscreen = "strategies/screens/sector_oversold.toml"\n')
    screen = Settings.load(config_path=cfg, env={}).daily.screen
    assert screen == Path("strategies/screens/sector_oversold.toml")
    for bad in ("screen = 3", 'screen = ""', 'screens = "x.toml"'):
        cfg.write_text(f"[daily]\n{bad}\n")
        with pytest.raises(ConfigError, match=r"daily\.screen"):
            Settings.load(config_path=cfg, env={})


SECTOR = Path("strategies/screens/sector_oversold.toml")


def test_setting_the_daily_screen_keeps_everything_else(tmp_path: Path) -> None:
    """What `screener demo` does to screener.toml: the other settings and comments stay."""
    fresh = tmp_path / "new.toml"
    assert set_daily_screen(fresh, SECTOR).endswith("(set)")
    assert Settings.load(config_path=fresh, env={}).daily.screen == SECTOR
    mine = tmp_path / "screener.toml"
    text = '# mine\nschedule_cron = "0 17 * * 1-5"\n[smtp]\nhost = "relay"  # the relay\nport = 587'
    mine.write_text(text)  # no final newline
    set_daily_screen(mine, SECTOR)
    after = mine.read_text()
    assert after.startswith(text + "\n") and after.count("[daily]") == 1
    s = Settings.load(config_path=mine, env={})
    assert (s.daily.screen, s.schedule_cron, s.smtp.host, s.smtp.port) == (
        SECTOR, "0 17 * * 1-5", "relay", 587,
    )  # fmt: skip
    assert set_daily_screen(mine, SECTOR).endswith("'strategies/screens/sector_oversold.toml'")
    assert mine.read_text() == after  # set already: nothing written twice


def test_a_daily_screen_already_chosen_is_kept(tmp_path: Path) -> None:
    cfg = tmp_path / "screener.toml"
    cfg.write_text("[daily]  # mine\n\n[smtp]\nport = 2525\n")
    set_daily_screen(cfg, SECTOR)  # under the existing header, not a second table
    assert Settings.load(config_path=cfg, env={}).daily.screen == SECTOR
    chosen = '[daily]\nscreen = "strategies/screens/picks_oversold.toml"\n'
    cfg.write_text(chosen)
    assert "kept" in set_daily_screen(cfg, SECTOR) and cfg.read_text() == chosen
    inline = "daily = {}\n"  # a table the text edit cannot extend: refused, file untouched
    cfg.write_text(inline)
    with pytest.raises(ConfigError, match="cannot add"):
        set_daily_screen(cfg, SECTOR)
    assert cfg.read_text() == inline
