"""Factor files: TOML definitions, errors at file:line:column, the catalog of nameable factors."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.errors import ConfigError
from screener.factors.expr.files import catalog, check_file, load_catalog
from screener.factors.library import REGISTRY

GOOD = """description = "Two of mine."

[factors.ma_gap_5]
expr = "Mean($close, 5) / $close - 1"
higher_is_better = false
doc = "Distance below the 5-session mean."

[factors.range_20]
expr = \"\"\"Max($high, 20)
  / Min($low, 20)\"\"\"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_factor_file_gives_factors_with_their_fields(tmp_path: Path) -> None:
    mine = {f.name: f for f in check_file(write(tmp_path, "mine.toml", GOOD))}
    assert mine["ma_gap_5"].lookback == 5 and not mine["ma_gap_5"].higher_is_better
    assert mine["ma_gap_5"].summary == "Distance below the 5-session mean."
    assert mine["range_20"].lookback == 20 and mine["range_20"].higher_is_better
    assert mine["range_20"].summary.startswith("qlib expression: Max($high, 20) / Min")


@pytest.mark.parametrize(
    ("expr_line", "where", "words"),
    [
        ('expr = "Mean($close, 5) / $clse"', ":3:27:", "unknown field $clse"),
        ('expr  =  "Ref($close, 5) +"', ":3:27:", "found the end"),
        ('expr = """Max($high, 20)\n  / Min($low, 0)"""', ":4:15:", "whole number >= 1"),
    ],
)
def test_errors_name_file_line_and_column(
    tmp_path: Path, expr_line: str, where: str, words: str
) -> None:
    path = write(tmp_path, "bad.toml", f"[factors.broken]\n# a comment\n{expr_line}\n")
    with pytest.raises(ConfigError) as err:
        check_file(path)
    assert f"{path}{where} factor broken: " in str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[factors.x]\nhigher_is_better = true\n", "needs an expr"),
        ('[factors.x]\nexpr = "$close"\nlookback = 5\n', "unknown key"),
        ("[factors.x]\nexpr = 5\n", "must be str"),
        ('title = "x"\n[factors.x]\nexpr = "$close"\n', "unknown key"),
        ('description = "nothing"\n', "needs [factors.<name>]"),
        ('[factors.Bad]\nexpr = "$close"\n', "lower-case identifier"),
    ],
)
def test_structure_errors_name_the_key(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"bad\.toml") as err:
        check_file(write(tmp_path, "bad.toml", text))
    assert words in str(err.value)


def test_the_catalog_reads_files_lazily_and_refuses_a_name_twice(tmp_path: Path) -> None:
    folder = tmp_path / "factors"
    write(folder, "a.toml", GOOD)
    write(folder, "b.toml", '[factors.typo]\nexpr = "Mean($close, 5"\n')
    known = catalog(tmp_path, exprs=["gap=$close/$open-1"])
    assert {"ret_20d", "ma_gap_5", "range_20", "typo", "gap"} <= set(known)
    assert known["ma_gap_5"].lookback == 5  # the broken one is never parsed
    assert known.in_file(folder / "a.toml") == ["ma_gap_5", "range_20"]
    with pytest.raises(ConfigError, match=r"b.toml:2:\d+: factor typo"):
        known["typo"]
    write(folder, "c.toml", '[factors.ma_gap_5]\nexpr = "$close"\n')
    with pytest.raises(ConfigError, match=r"ma_gap_5 is already defined in .*a\.toml:4"):
        catalog(tmp_path)
    with pytest.raises(ConfigError, match="already defined"):
        load_catalog(REGISTRY, exprs=["ret_20d=$close"])


def test_the_shipped_factor_files_parse() -> None:
    root = Path(__file__).resolve().parents[3] / "strategies" / "factors"
    for path in root.glob("*.toml"):
        assert check_file(path)
