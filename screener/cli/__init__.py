"""Command line: the only package that prints. Wires Settings -> Store -> stages -> renderers.

Heavy modules (polars, duckdb, vectorbt) are imported inside commands so `--help` stays instant.
User errors (ScreenerError) print one line on stderr and exit 1; `--debug` shows the traceback.
Commands live by group in `data`, `factors`, `picks`, `research`, `factor_research` and
`deliver`; importing them registers them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

# importing a group registers its commands; `--help` shows the groups in this order
from screener.cli import data  # noqa: F401

# isort: split
from screener.cli import factors, picks  # noqa: F401

# isort: split
from screener.cli import research  # noqa: F401

# isort: split
from screener.cli import factor_research  # noqa: F401

# isort: split
from screener.cli import deliver  # noqa: F401
from screener.cli.base import STATE, app

__all__ = ["STATE", "app", "main", "run"]


def run(fn: Callable[[], Any]) -> int:
    """Call the typer app; turn user errors into one line on stderr and an exit code."""
    from screener.errors import ScreenerError

    try:
        fn()
    except SystemExit as exc:  # typer's standalone mode: usage errors (2), --help (0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ScreenerError as exc:
        if STATE.debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 0


def main() -> None:
    code = run(app)
    if "vectorbt" in sys.modules and "ray" not in sys.modules:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's teardown: once vectorbt (with pandas, scipy, sklearn) is
    loaded, unloading it takes 0.7-1 s, as long as a warm backtest. Nothing is lost: the store
    was closed by its context manager, exit handlers run here and the streams are flushed.
    (Not with Ray loaded: its driver shutdown is left to the normal exit.)"""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, e.g. `| head`
            stream.flush()
    os._exit(code)
