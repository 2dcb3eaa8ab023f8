"""User-facing errors: one message that names where, and a hint that says how to fix it."""

from __future__ import annotations

from pathlib import Path

from screener.errors import ConfigError, DataUnavailableError, InputError, ScreenerError


def test_input_error_names_file_line_and_field() -> None:
    err = InputError(
        "price must be positive, got -1.0", path=Path("bars.csv"), line=7, field="close"
    )
    assert str(err) == "bars.csv:7: field 'close': price must be positive, got -1.0"
    assert (err.path, err.line, err.field) == (Path("bars.csv"), 7, "close")
    assert err.reason == "price must be positive, got -1.0"


def test_input_error_without_a_place_still_says_input() -> None:
    assert str(InputError("empty file")) == "<input>: empty file"
    assert str(InputError("bad", path="x.txt", field="date")) == "x.txt: field 'date': bad"


def test_the_hint_follows_the_message() -> None:
    err = DataUnavailableError("no bars on 2026-02-17", hint="pick an earlier --date")
    assert str(err) == "no bars on 2026-02-17 (hint: pick an earlier --date)"
    assert err.hint == "pick an earlier --date"


def test_every_user_error_is_a_screener_error_with_a_nonzero_exit() -> None:
    for cls in (InputError, ConfigError, DataUnavailableError):
        err = cls("x")
        assert isinstance(err, ScreenerError) and err.exit_code != 0
