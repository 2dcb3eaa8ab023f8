"""Factor files: named qlib expressions in TOML, and the catalog of every factor one can name.

A factor file (``strategies/factors/*.toml``)::

    description = "What the set is for."          # optional

    [factors.ma_gap_5]
    expr = "Mean($close, 5) / $close - 1"
    higher_is_better = false                        # optional, default true
    doc = "Distance below the 5-session mean."     # optional, default: the expression

Expressions are parsed when a factor is first asked for, so a catalog of many files costs
nothing until used; ``check_file`` parses a whole file. An error names the file, the line and
the column of the bad token (``alpha.toml:12:27: factor ma_gap_5: ...``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screener.errors import ConfigError
from screener.factors.base import Factor, FactorError
from screener.factors.expr import ExprError, expression_factor, from_assignment
from screener.spec import TomlSource, check_type, read_spec

FACTOR_KEYS = {"expr": str, "higher_is_better": bool, "doc": str}


@dataclass(frozen=True)
class Definition:
    """One factor of a file, not yet parsed: where it is and what it says."""

    name: str
    text: str
    higher_is_better: bool
    doc: str | None
    path: Path
    line: int | None  # of the ``expr`` value
    column: int  # 1-based column of the expression's first character on that line


def read_factor_file(path: Path) -> list[Definition]:
    """The definitions of one factor file, checked for keys and types (not yet parsed)."""
    src, raw = read_spec(path, "factor")
    unknown = set(raw) - {"description", "factors"}
    if unknown:
        raise src.error(sorted(unknown)[0], "unknown key (known: description, factors)")
    table = raw.get("factors")
    if not isinstance(table, dict) or not table:
        raise src.error("factors", "a factor file needs [factors.<name>] tables")
    return [_definition(src, path, name, spec) for name, spec in table.items()]


def _definition(src: TomlSource, path: Path, name: str, spec: Any) -> Definition:
    key = f"factors.{name}"
    if not isinstance(spec, dict):
        raise src.error(key, "must be a table with an expr")
    for k, v in spec.items():
        if k not in FACTOR_KEYS:
            raise src.error(f"{key}.{k}", f"unknown key (known: {', '.join(FACTOR_KEYS)})")
        check_type(src, f"{key}.{k}", FACTOR_KEYS[k], v)
    if "expr" not in spec:
        raise src.error(key, "needs an expr")
    line, column = _locate(src, name)
    return Definition(
        name, spec["expr"], spec.get("higher_is_better", True), spec.get("doc"), path, line, column
    )


def _locate(src: TomlSource, name: str) -> tuple[int | None, int]:
    """Line of ``expr = "..."`` in [factors.<name>] and the column its text starts at."""
    in_table = False
    for number, raw in enumerate(src.lines, start=1):
        text = raw.strip()
        if text.startswith("["):
            in_table = text.strip("[] ") in (f"factors.{name}", f'factors."{name}"')
            continue
        key, sep, value = raw.partition("=")
        if in_table and sep and key.strip() == "expr":
            start = len(key) + 1 + len(value) - len(value.lstrip())
            quote = value.lstrip()[:3]
            return number, start + (3 if quote in ('"""', "'''") else 1) + 1
    return None, 1


def build(d: Definition) -> Factor:
    """The factor of a definition; an error says file, line and column of the bad token."""
    try:
        return expression_factor(d.name, d.text, higher_is_better=d.higher_is_better, doc=d.doc)
    except ExprError as err:
        before = d.text[: err.pos]
        line = None if d.line is None else d.line + before.count("\n")
        column = err.pos + d.column if "\n" not in before else len(before.rsplit("\n", 1)[1]) + 1
        where = f"{d.path}:{line}:{column}" if line else f"{d.path}: column {column}"
        raise ConfigError(f"{where}: factor {d.name}: {err.reason}") from None
    except FactorError as err:
        raise ConfigError(f"{d.path}:{d.line}: factor {d.name}: {err}") from None


def check_file(path: Path) -> list[Factor]:
    """Every factor of a file, parsed: the first bad one raises."""
    return [build(d) for d in read_factor_file(path)]


@dataclass(frozen=True, eq=False)
class Catalog(Mapping[str, Factor]):
    """Every factor one can name: the library, factor files, ``--expr`` assignments.

    A file's factors are parsed on first use (``_built`` memoises them); a name defined twice
    is refused, naming both places.
    """

    library: Mapping[str, Factor]
    definitions: Mapping[str, Definition] = field(default_factory=dict)
    extra: Mapping[str, Factor] = field(default_factory=dict)
    _built: dict[str, Factor] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, name: str) -> Factor:
        if name in self.extra:
            return self.extra[name]
        if name in self.library:
            return self.library[name]
        if name not in self._built:
            self._built[name] = build(self.definitions[name])
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.library
        yield from self.definitions
        yield from (n for n in self.extra if n not in self.library)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return name in self.extra or name in self.library or name in self.definitions

    def in_file(self, path: Path) -> list[str]:
        """The names a file of the catalog (its folder or its ``files``) defines, in order."""
        resolved = path.resolve()
        return [n for n, d in self.definitions.items() if d.path.resolve() == resolved]


def load_catalog(
    library: Mapping[str, Factor],
    *,
    folder: Path | None = None,
    files: Sequence[Path] = (),
    exprs: Sequence[str] = (),
) -> Catalog:
    """The library, every ``*.toml`` in ``folder`` (if it exists), ``files``, then ``exprs``.

    A factor name given twice (library, files, or a file and an ``--expr``) is a ConfigError.
    """
    paths = sorted(folder.glob("*.toml")) if folder is not None and folder.is_dir() else []
    paths += [p for p in files if p.resolve() not in {q.resolve() for q in paths}]
    definitions: dict[str, Definition] = {}
    for path in paths:
        for d in read_factor_file(path):
            other = definitions.get(d.name)
            if d.name in library or other is not None:
                first = "the factor library" if other is None else f"{other.path}:{other.line}"
                raise ConfigError(f"{path}:{d.line}: factor {d.name} is already defined in {first}")
            definitions[d.name] = d
    extra: dict[str, Factor] = {}
    for text in exprs:
        factor = from_assignment(text)
        if factor.name in library or factor.name in definitions or factor.name in extra:
            raise ConfigError(f"--expr {text!r}: factor {factor.name} is already defined")
        extra[factor.name] = factor
    return Catalog(library, definitions, extra)


def catalog(
    strategies_dir: Path | None, *, files: Sequence[Path] = (), exprs: Sequence[str] = ()
) -> Catalog:
    """The library plus ``<strategies_dir>/factors/*.toml``, ``files`` and ``exprs``."""
    from screener.factors.library import REGISTRY

    folder = None if strategies_dir is None else strategies_dir / "factors"
    return load_catalog(REGISTRY, folder=folder, files=files, exprs=exprs)
