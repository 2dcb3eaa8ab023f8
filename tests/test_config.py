from pathlib import Path

import pytest

from screener.config import DEFAULT_DB, Settings
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
