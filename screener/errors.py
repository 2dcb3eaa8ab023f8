"""User-facing errors. The CLI prints each as one line and exits non-zero; no traceback."""

from __future__ import annotations

from pathlib import Path


class ScreenerError(Exception):
    """An error the user can fix; ``str(err)`` is the whole message, ``hint`` says how."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg} (hint: {self.hint})" if self.hint else msg


class InputError(ScreenerError):
    """Bad input data: names the file, the line (1-based, as an editor shows it) and the field."""

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = str(path) if path is not None else "<input>"
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {reason}", hint=hint)
        self.path, self.line, self.field, self.reason = path, line, field, reason


class StoreError(ScreenerError):
    """The store cannot be opened or written (locked, corrupt, newer schema)."""


class ConfigError(ScreenerError):
    """A settings, thesis or screen file is invalid: names the file and key."""


class DataUnavailableError(ScreenerError):
    """Data the request needs is missing from the store or the live source is unreachable."""
