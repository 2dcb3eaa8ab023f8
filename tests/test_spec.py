"""TOML specs: typed loading that names the file, the line and the key of a mistake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from screener.errors import ConfigError
from screener.spec import TomlSource, build_spec, read_spec

SPEC = """name = "dip"
[select]
top_n = 5
score = "oversold_score"

[[trigger.when]]
kind = "drawdown"
window = 7
"""


@dataclass(frozen=True)
class Select:
    top_n: int = 10
    score: str = "ret_20d"
    max_weight: float = 0.2
    min_price: float | None = None
    by_metal: bool = False


def source(tmp_path: Path, text: str = SPEC) -> TomlSource:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return read_spec(path, "thesis")[0]


def test_a_table_becomes_its_dataclass_with_ints_accepted_as_floats(tmp_path: Path) -> None:
    src = source(tmp_path)
    raw = {"top_n": 5, "score": "oversold_score", "max_weight": 1, "min_price": None}
    spec = build_spec(src, Select, raw, "select")
    assert spec == Select(top_n=5, score="oversold_score", max_weight=1.0)
    assert isinstance(spec.max_weight, float)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"top_n": "5"}, "t.toml:3: 'select.top_n': must be int, got str '5'"),
        ({"top_n": True}, "t.toml:3: 'select.top_n': must be int, got bool True"),
        ({"by_metal": 1}, "t.toml: 'select.by_metal': must be bool, got int 1"),
        ({"top_nn": 5}, "'select.top_nn': unknown key (known: by_metal, max_weight, min_price,"),
        ({"max_weight": float("inf")}, "'select.max_weight': must be a finite number"),
    ],
)
def test_each_mistake_names_file_line_and_key(tmp_path: Path, raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_spec(source(tmp_path), Select, raw, "select")
    assert message in str(err.value)


def test_lines_are_found_inside_their_section_and_in_arrays_of_tables(tmp_path: Path) -> None:
    src = source(tmp_path)
    assert str(src.error("select.score", "x")).endswith("t.toml:4: 'select.score': x")
    assert str(src.error("trigger.when.0.window", "x")).startswith(f"{src.path}:8:")
    assert str(src.error("name", "x")).startswith(f"{src.path}:1:")
    assert str(src.error("exit.hold", "x")) == f"{src.path}: 'exit.hold': x"  # not in the file


def test_a_table_where_a_value_should_be_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'select': must be a table, got int"):
        build_spec(source(tmp_path), Select, 5, "select")


def test_unreadable_files_are_one_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such thesis file"):
        read_spec(tmp_path / "missing.toml", "thesis")
    with pytest.raises(ConfigError, match="cannot read this screen file"):
        read_spec(tmp_path, "screen")
    (tmp_path / "bad.toml").write_text('name = "unclosed', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_spec(tmp_path / "bad.toml", "thesis")
    (tmp_path / "bom.toml").write_bytes('\ufeffname = "ok"'.encode())
    assert read_spec(tmp_path / "bom.toml", "thesis")[1] == {"name": "ok"}
