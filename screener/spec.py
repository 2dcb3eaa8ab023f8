"""Declarative TOML specs (theses, screens): typed loading that names file, line and key.

``build_spec`` turns one TOML table into a frozen dataclass, refusing unknown keys and wrong
types; ``TomlSource.error`` points at the offending line. Semantic checks stay with each spec.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from screener.errors import ConfigError

INT64_MAX = 2**63 - 1


def read_spec(path: Path, what: str) -> tuple[TomlSource, dict[str, Any]]:
    """Read a TOML spec (a BOM from Notepad is fine); any fault is one ConfigError."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except OSError as exc:  # a folder, no permission, ...
        raise ConfigError(f"{path}: cannot read this {what} file: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return TomlSource(path, text), raw


class TomlSource:
    """The file being loaded: turns a dotted key into 'file:line: key' for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def error(self, key: str, reason: str) -> ConfigError:
        line = self._line_of(key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: '{key}': {reason}")

    def _line_of(self, key: str) -> int | None:
        """Best effort: the line of the last dotted part inside its [section]."""
        parts = [p for p in key.split(".") if not p.isdigit()]
        section, leaf = parts[0] if len(parts) > 1 else "", parts[-1]
        in_section = section == ""
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            if text.startswith("["):
                name = text.strip("[]").strip()
                in_section = name == section or name.startswith(section + ".")
                if name.split(".")[-1] == leaf and not section:
                    return number
                continue
            bare = text.split("=", 1)[0].strip().strip('"')
            if in_section and "=" in text and bare in (leaf, key.split(".", 1)[-1]):
                return number
        return None


def check_type(src: TomlSource, key: str, kind: Any, value: Any) -> Any:
    """Check one scalar against its annotation; ints are accepted where floats are expected."""
    optional = type(None) in get_args(kind)
    base = base_type(kind)
    if value is None and optional:
        return None
    if base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, base)
    if not ok:
        raise src.error(key, f"must be {base.__name__}, got {type(value).__name__} {value!r}")
    if base in (int, float) and not (math.isfinite(value) and abs(value) <= INT64_MAX):
        raise src.error(key, f"must be a finite number of sensible size, got {value!r}")
    return float(value) if base is float else value


def build_spec(src: TomlSource, cls: type, raw: Any, prefix: str) -> Any:
    """Instantiate a spec dataclass from a TOML table, rejecting unknown keys and bad types."""
    if not isinstance(raw, dict):
        raise src.error(prefix, f"must be a table, got {type(raw).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            raise src.error(dotted, f"unknown key (known: {', '.join(sorted(known))})")
        values[key] = check_type(src, dotted, hints[key], value)
    return cls(**values)


def coerce(kind: Any, value: float) -> Any:
    base = base_type(kind)
    return int(value) if base is int else float(value)


def base_type(kind: Any) -> Any:
    args = [a for a in get_args(kind) if a is not type(None)]
    return args[0] if get_origin(kind) is not None and args else kind
