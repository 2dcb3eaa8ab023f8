"""The Python API: docs/python-api.md's examples run as doctests on a small demo store, and
the API gives what the CLI's paths give."""

from __future__ import annotations

import datetime as dt
import doctest
from pathlib import Path

import pytest
from sample_markets import copper_store

from screener import api
from tests.conftest import REPO


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo.duckdb (the six copper names to 2016-12-30) beside the repository's strategies."""
    folder = tmp_path_factory.mktemp("api")
    copper_store(folder, dt.date(2016, 12, 30)).close()
    (folder / "strategies").symlink_to(REPO / "strategies")
    return folder


def test_the_python_api_page_runs(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    monkeypatch.delenv("SCREENER_DB", raising=False)
    monkeypatch.delenv("SCREENER_CONFIG", raising=False)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    done = doctest.testfile(
        str(REPO / "docs" / "python-api.md"), module_relative=False, optionflags=flags
    )
    assert done.attempted > 20 and done.failed == 0


def test_screen_spec_is_the_clis(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Screen value and its file give the same ranking; overrides apply to either."""
    from screener.screen import Screen

    monkeypatch.chdir(folder)
    with api.open_store("demo.duckdb", read_only=True) as store:
        by_value = api.screen(store, Screen(universe="metal", metal="copper"), top=2)
        by_text = api.screen(store, universe="metal:copper", top=2)
    assert by_value.ranked.equals(by_text.ranked) and by_value.ranked.height == 2
