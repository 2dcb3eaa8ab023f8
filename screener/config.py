"""Settings: one frozen value built from screener.toml and the environment, passed down.

Secrets (SMTP user and password) come only from the environment and are never stored here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from screener.errors import ConfigError

DEFAULT_DB = Path("data/screener.duckdb")
CONFIG_FILE = Path("screener.toml")
COLOR_CONVENTIONS = ("a-share", "intl")  # a rise in red (mainland screens) or in green


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    tls: str = "none"  # none, starttls, ssl
    sender: str = "screener@localhost"
    recipients: tuple[str, ...] = ()
    timeout_s: float = 10.0
    max_attempts: int = 5


@dataclass(frozen=True)
class DailySettings:
    """The daily job (``run-daily``, ``email``): which screen it sends (None: broker picks of
    the last 30 days, ``screen.Screen()``)."""

    screen: Path | None = None  # a screen TOML file, relative to the working directory


@dataclass(frozen=True)
class Settings:
    """Everything configurable; defaults suit the embedded demo store."""

    db_path: Path = DEFAULT_DB
    max_ffill_sessions: int = 5  # never carry a commodity value across a longer gap
    st_limit_switch: dt.date = dt.date(2026, 7, 6)  # main-board ST limit ±5% -> ±10%
    notes_dir: Path = Path("data/broker_notes")
    reports_dir: Path = Path("reports")
    strategies_dir: Path = Path("strategies")
    schedule_cron: str = "30 16 * * 1-5"  # after the 15:00 close, Asia/Shanghai
    daily_update: bool = False  # run-daily first runs `screener update` up to the session
    colors: str = "a-share"  # one of COLOR_CONVENTIONS: every report's rise and fall colours
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    daily: DailySettings = field(default_factory=DailySettings)

    @classmethod
    def load(
        cls,
        *,
        config_path: Path | None = None,
        db: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read ``screener.toml`` (if present), then ``SCREENER_DB``, then an explicit ``db``."""
        env = os.environ if env is None else env
        path = config_path or config_file(env)
        raw = _read(path)
        values = _section(raw, path, "", cls, skip={"smtp", "daily"})
        if values.get("colors", COLOR_CONVENTIONS[0]) not in COLOR_CONVENTIONS:
            known = " or ".join(f"'{c}'" for c in COLOR_CONVENTIONS)
            raise ConfigError(f"{path}: 'colors' must be {known}, got {values['colors']!r}")
        smtp = SmtpSettings(**_section(raw.get("smtp", {}), path, "smtp.", SmtpSettings))
        daily = DailySettings(**_section(raw.get("daily", {}), path, "daily.", DailySettings))
        settings = cls(**values, smtp=smtp, daily=daily)
        db_path = db or (Path(env["SCREENER_DB"]) if env.get("SCREENER_DB") else None)
        if db_path is not None:
            settings = cls(**{**settings.__dict__, "db_path": db_path})
        return settings


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """The settings file: ``SCREENER_CONFIG``, else ``screener.toml`` in the working directory."""
    env = os.environ if env is None else env
    return Path(env.get("SCREENER_CONFIG", CONFIG_FILE))


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _section(
    raw: Mapping[str, Any], path: Path, prefix: str, klass: type, skip: set[str] | None = None
) -> dict[str, Any]:
    """Check keys and types of one TOML table against a dataclass; convert paths and tuples."""
    known = {f.name: f for f in fields(klass) if f.name not in (skip or set())}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in (skip or set()):
            continue
        if key not in known:
            raise ConfigError(f"{path}: unknown key '{prefix}{key}' (known: {', '.join(known)})")
        default = getattr(klass(), key)
        if isinstance(default, Path) or (default is None and "Path" in str(known[key].type)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: '{prefix}{key}' must be a path (a string)")
            value = Path(value)
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: '{prefix}{key}' must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool) != isinstance(value, bool) or not isinstance(
            value, type(default) if not isinstance(default, float) else (int, float)
        ):
            raise ConfigError(
                f"{path}: '{prefix}{key}' must be {type(default).__name__}, got {value!r}"
            )
        out[key] = value
    return out


def set_daily_screen(path: Path, screen: Path) -> str:
    """Make ``screen`` the daily job's screen in the settings file ``path``; say what was done.

    Edits the text, so comments and every other setting stay as written: a new file gets a
    ``[daily]`` table, an existing one gets ``screen`` under its ``[daily]`` header (or the
    table appended). A file that already names a daily screen is left alone: that choice is
    the user's.
    """
    daily = _read(path).get("daily", {})
    current = daily.get("screen") if isinstance(daily, dict) else None
    if current is not None:
        kept = "" if Path(str(current)) == screen else " (kept: the file already names one)"
        return f"{path}: [daily] screen = {current!r}{kept}"
    line = f"screen = {json.dumps(screen.as_posix(), ensure_ascii=False)}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    header = next((i for i, t in enumerate(lines) if _DAILY_HEADER.match(t)), None)
    if header is not None:
        lines.insert(header + 1, line)
    else:
        if text and not text.endswith("\n"):
            lines[-1] += "\n"
        lines += [*(["\n"] if text else []), _DAILY_COMMENT, "[daily]\n", line]
    new_text = "".join(lines)
    try:
        written = tomllib.loads(new_text)["daily"]["screen"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        written = None
    if written != screen.as_posix():
        raise ConfigError(
            f"{path}: cannot add [daily] screen to this file",
            hint=f"add it by hand: {line.strip()}",
        )
    path.write_text(new_text, encoding="utf-8")
    return f"{path}: [daily] screen = {screen.as_posix()!r} (set)"


_DAILY_HEADER = re.compile(r"^\s*\[\s*daily\s*\]\s*(#.*)?$")
_DAILY_COMMENT = (
    "# The screen `screener email` and `screener run-daily` send (--screen overrides it).\n"
)
