"""Thesis files: a declarative spec in TOML with a closed vocabulary. Nothing is eval'd.

A thesis reads as a sentence of small steps (bt): **when** the trigger fires (`trigger`),
**what** to buy (`select`, a screen), **how much** (`weigh`), **when to fill** (`entry`),
**when to leave** (`exit`), at what **cost** (`costs`), and which numbers to **sweep**.
A rebalanced factor portfolio replaces the trigger and the exit with a schedule
(`rebalance`): on each rebalance session the screen's top names become the book, and names
that drop out are sold. Loading validates every key, type and value and names the file, line
and key on error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from screener.screen import Screen
from screener.spec import TomlSource, build_spec, check_type, coerce, read_spec

if TYPE_CHECKING:
    from screener.factors.base import Factor

CONDITION_KINDS = ("change", "breakout_high", "breakdown_low", "breadth")
WEIGH_METHODS = ("equal", "score")
REBALANCE_PERIODS = ("month", "week")
ENTRY_AT = ("open", "close")


@dataclass(frozen=True)
class Condition:
    """One test on an index, a commodity series or a metal's series over ``window`` sessions.

    kind ``change``: the close-to-close change over ``window`` lies in [min_change_pct,
    max_change_pct]; ``breakout_high``/``breakdown_low``: the close is above the highest
    (below the lowest) close of the previous ``window`` sessions; ``breadth``: at least
    ``min_share_pct`` % of the sector's stocks changed by <= ``max_change_pct`` over ``window``.
    Exactly one of ``index``, ``series``, ``metal`` names the subject (breadth uses the sector).
    """

    kind: str = "change"
    index: str | None = None
    series: str | None = None
    metal: str | None = None
    window: int = 7
    min_change_pct: float | None = None
    max_change_pct: float | None = None
    min_share_pct: float | None = None

    @property
    def subject(self) -> str | None:
        """The metal, index code or series id the condition reads (None for breadth: the
        sector's stocks). A metal is read as ``point_in_time.metal_prices`` splices it."""
        if self.kind == "breadth":
            return None
        return self.metal or self.index or self.series


@dataclass(frozen=True)
class Trigger:
    when: tuple[Condition, ...] = ()
    cooldown_sessions: int = 20  # triggers closer than this to an episode's start merge into it
    # while the screen finds no name (e.g. the note came out the weekend after the sell-off),
    # retry it on up to this many following sessions, each with only what is known that day
    select_within_sessions: int = 0


@dataclass(frozen=True)
class Rebalance:
    """When a rebalanced portfolio re-ranks: at the close of each month's or week's last
    session (``"month"``, ``"week"``), or every ``N`` sessions (an integer), and on the first
    session. The new book fills at the next session, as every thesis decision does."""

    every: int | str = "month"

    def describe(self) -> str:
        """'every month', 'every 20 sessions'."""
        return f"every {self.every}" + (" sessions" if isinstance(self.every, int) else "")


@dataclass(frozen=True)
class Weigh:
    method: str = "equal"
    max_weight: float = 0.2
    gross: float = 1.0  # fraction of equity invested when every slot is filled


@dataclass(frozen=True)
class Entry:
    at: str = "open"  # the session after the signal: its open or its close


@dataclass(frozen=True)
class Exit:
    hold_sessions: int = 20
    take_profit_pct: float | None = None
    stop_loss_pct: float | None = None
    trailing_stop_pct: float | None = None


@dataclass(frozen=True)
class Thesis:
    name: str
    description: str = ""
    trigger: Trigger = field(default_factory=Trigger)
    rebalance: Rebalance | None = None  # a rebalanced portfolio: no trigger, no exit rules
    select: Screen = field(default_factory=Screen)  # the selection is a screen
    weigh: Weigh = field(default_factory=Weigh)
    entry: Entry = field(default_factory=Entry)
    exit: Exit = field(default_factory=Exit)
    costs: Mapping[str, float] = field(default_factory=dict)
    sweep: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    init_cash: float = 1_000_000.0
    path: str = "<thesis>"
    sha256: str = ""

    def with_params(self, params: Mapping[str, float]) -> Thesis:
        """A copy with dotted numeric fields replaced, e.g. {"exit.hold_sessions": 10}."""
        out = self
        for dotted, value in params.items():
            section, _, key = dotted.partition(".")
            if section == "costs":
                out = replace(out, costs={**out.costs, key: value})
                continue
            if section == "trigger" and key.startswith("when"):
                out = _replace_condition(out, key, value)
                continue
            part = getattr(out, section)
            kind = get_type_hints(type(part))[key]
            out = replace(out, **{section: replace(part, **{key: coerce(kind, value)})})
        return out

    def spec(self) -> dict[str, Any]:
        """The steps as run (overrides applied), JSON-safe: trigger, select, ..., costs."""
        spec = dataclasses.asdict(self)
        unused = ("trigger", "exit") if self.rebalance else ("rebalance",)
        for key in ("name", "description", "path", "sha256", "sweep", *unused):
            spec.pop(key, None)
        for key in ("name", "description"):
            spec["select"].pop(key, None)
        spec["costs"] = dict(spec["costs"])
        return spec

    def params(self) -> dict[str, Any]:
        """Every parameter as run, by the dotted key a sweep uses (``exit.hold_sessions``,
        ``trigger.when.0.window``), costs with the defaults the thesis does not override (rate
        steps as [ISO date, rate]); JSON-safe."""
        from screener.rules import CostModel

        costs = dataclasses.asdict(CostModel().with_overrides(**self.costs))
        steps = {k: [[d.isoformat(), r] for d, r in v] for k, v in costs.items() if "_rates" in k}
        return _dotted({**self.spec(), "costs": costs | steps})

    def grid(self) -> Iterator[dict[str, float]]:
        """Every combination of the sweep lists (one empty dict when there is no sweep)."""
        keys = sorted(self.sweep)
        for combo in itertools.product(*(self.sweep[k] for k in keys)):
            yield dict(zip(keys, combo, strict=True))


def _dotted(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables (and lists of tables) flattened to dotted keys; other values as they are."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
            value = {str(i): v for i, v in enumerate(value)}
        if isinstance(value, Mapping):
            out |= _dotted(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _replace_condition(thesis: Thesis, key: str, value: float) -> Thesis:
    """Sweep keys address conditions as ``trigger.when.0.max_change_pct``."""
    _, index, attr = key.split(".")
    conds = list(thesis.trigger.when)
    kind = get_type_hints(Condition)[attr]
    conds[int(index)] = replace(conds[int(index)], **{attr: coerce(kind, value)})
    return replace(thesis, trigger=replace(thesis.trigger, when=tuple(conds)))


_SECTIONS: dict[str, type] = {"select": Screen, "weigh": Weigh, "entry": Entry, "exit": Exit}
_TOP_LEVEL = {
    "name",
    "description",
    "init_cash",
    "trigger",
    "rebalance",
    "costs",
    "sweep",
    *_SECTIONS,
}


def load_thesis(path: str | Path) -> Thesis:
    """Read and validate a thesis file; ConfigError names the file, line and key on any fault."""
    path = Path(path)
    src, raw = read_spec(path, "thesis")
    for key in raw:
        if key not in _TOP_LEVEL:
            raise src.error(key, f"unknown key (known: {', '.join(sorted(_TOP_LEVEL))})")
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise src.error("name", "a thesis needs a non-empty name")
    rebalanced = "rebalance" in raw
    for key in ("trigger", "exit") if rebalanced else ():
        if key in raw:
            raise src.error(key, "a rebalanced thesis holds its names until the next rebalance")
    thesis = Thesis(
        name=raw["name"],
        description=check_type(src, "description", str, raw.get("description", "")),
        init_cash=check_type(src, "init_cash", float, raw.get("init_cash", 1_000_000.0)),
        trigger=Trigger() if rebalanced else _trigger(src, raw.get("trigger", {})),
        rebalance=_rebalance(src, raw["rebalance"]) if rebalanced else None,
        costs=_costs(src, raw.get("costs", {})),
        path=str(path),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        **{name: build_spec(src, cls, raw.get(name, {}), name) for name, cls in _SECTIONS.items()},
    )
    validate(thesis, src)  # the fields as written first: a fault is blamed on its own key
    return replace(thesis, sweep=_sweep(src, thesis, raw.get("sweep", {})))


def _trigger(src: TomlSource, raw: Any) -> Trigger:
    if not isinstance(raw, dict):
        raise src.error("trigger", "must be a table")
    conds = raw.get("when", [])
    if not isinstance(conds, list) or not conds:
        raise src.error("trigger.when", "needs at least one [[trigger.when]] condition")
    rest = {k: v for k, v in raw.items() if k != "when"}
    base = build_spec(src, Trigger, rest, "trigger")
    built = tuple(build_spec(src, Condition, c, f"trigger.when.{i}") for i, c in enumerate(conds))
    return replace(base, when=built)


def _rebalance(src: TomlSource, raw: Any) -> Rebalance:
    """``every``: "month", "week" or a session count (build_spec takes one type per key)."""
    if not isinstance(raw, dict):
        raise src.error("rebalance", "must be a table")
    for key in raw:
        if key != "every":
            raise src.error(f"rebalance.{key}", "unknown key (known: every)")
    every = raw.get("every", Rebalance.every)
    if isinstance(every, bool) or not isinstance(every, int | str):
        raise src.error("rebalance.every", f"must be {' or '.join(REBALANCE_PERIODS)} or a count")
    return Rebalance(every=every)


def _costs(src: TomlSource, raw: Any) -> dict[str, float]:
    from screener.rules import CostModel  # the defaults live there, in one place

    if not isinstance(raw, dict):
        raise src.error("costs", "must be a table")
    known = {f.name for f in fields(CostModel) if f.type in ("float", float)}
    out = {}
    for key, value in raw.items():
        if key not in known:
            raise src.error(f"costs.{key}", f"unknown cost (known: {', '.join(sorted(known))})")
        out[key] = check_type(src, f"costs.{key}", float, value)
        if out[key] < 0:
            raise src.error(f"costs.{key}", "must be >= 0")
    return out


def _sweep(src: TomlSource, thesis: Thesis, raw: Any) -> dict[str, tuple[float, ...]]:
    if not isinstance(raw, dict):
        raise src.error("sweep", "must be a table of dotted keys to lists")
    out = {}
    for key, values in raw.items():
        name = f"sweep.{key}"
        if not isinstance(values, list) or not values:
            raise src.error(name, "must be a non-empty list of numbers")
        for v in values:
            check_type(src, name, float, v)
        try:
            current = _lookup(thesis, key)
        except (AttributeError, IndexError, KeyError, ValueError):
            raise src.error(name, "names no numeric field of this thesis") from None
        if isinstance(current, bool) or not isinstance(current, int | float | None):
            raise src.error(name, "can only sweep numeric fields")
        for v in values:
            validate(thesis.with_params({key: v}), src, key_prefix=name)
        out[key] = tuple(_as_run(src, thesis, key, v) for v in values)
    return out


def _as_run(src: TomlSource, thesis: Thesis, key: str, value: float) -> float:
    """A swept value as the run reads it: an integer field's grid stays integers (stored and
    shown as 5, not 5.0), and refuses a fraction it would silently truncate."""
    ran = _lookup(thesis.with_params({key: value}), key)
    if key.startswith("costs.") or not isinstance(ran, int):
        return float(value)
    if ran != value:
        raise src.error(f"sweep.{key}", f"{value} is not a whole number (the field is an integer)")
    return ran


def _lookup(thesis: Thesis, dotted: str) -> Any:
    section, _, key = dotted.partition(".")
    if section == "costs":
        from screener.rules import CostModel

        return dict(dataclasses.asdict(CostModel()), **thesis.costs)[key]
    if section == "trigger" and key.startswith("when."):
        _, index, attr = key.split(".")
        return getattr(thesis.trigger.when[int(index)], attr)
    unused = ("trigger", "exit") if thesis.rebalance else ("rebalance",)
    if section not in {"trigger", "rebalance", *_SECTIONS} or section in unused:
        raise KeyError(dotted)
    return getattr(getattr(thesis, section), key)


def validate(
    thesis: Thesis, src: TomlSource | None = None, *, key_prefix: str | None = None
) -> None:
    """Impossible values are ConfigErrors naming the key (and the sweep entry that caused it)."""
    src = src or TomlSource(Path(thesis.path), "")
    for key, ok, reason in _rules(thesis):
        if not ok:
            if key_prefix:
                raise src.error(key_prefix, f"a swept value makes {key} invalid: {reason}")
            raise src.error(key, reason)


def factor_catalog(t: Thesis) -> Mapping[str, Factor]:
    """The factors a thesis may score by: the library, and the factor files of ``factors/``
    beside the thesis file (strategies/factors/*.toml), read only when the score needs them."""
    from screener.factors.expr.files import catalog
    from screener.factors.library import REGISTRY

    if t.select.score in REGISTRY or not t.path:
        return REGISTRY
    return catalog(Path(t.path).parent)


def _rules(t: Thesis) -> Iterator[tuple[str, bool, str]]:
    from screener.metals import METAL_SERIES, SERIES
    from screener.screen import problems

    for i, c in enumerate(t.trigger.when):
        k = f"trigger.when.{i}"
        subjects = [s for s in (c.index, c.series, c.metal) if s]
        yield f"{k}.kind", c.kind in CONDITION_KINDS, f"must be one of {CONDITION_KINDS}"
        yield f"{k}.window", c.window >= 1, "must be >= 1 session"
        if c.kind != "breadth":
            yield k, len(subjects) == 1, "name exactly one of index, series, metal"
        yield f"{k}.series", c.series is None or c.series in SERIES, f"unknown series {c.series!r}"
        yield f"{k}.metal", c.metal is None or c.metal in METAL_SERIES, f"unknown metal {c.metal!r}"
        if c.kind == "change":
            has_bound = c.min_change_pct is not None or c.max_change_pct is not None
            yield k, has_bound, "a change condition needs min_change_pct or max_change_pct"
            ordered = None in (c.min_change_pct, c.max_change_pct) or (
                (c.min_change_pct or 0) <= (c.max_change_pct or 0)
            )
            yield f"{k}.min_change_pct", ordered, "must not exceed max_change_pct"
        if c.kind == "breadth":
            share_ok = c.min_share_pct is not None and 0 < c.min_share_pct <= 100
            yield f"{k}.min_share_pct", share_ok, "breadth needs min_share_pct in (0, 100]"
    if t.rebalance is not None:
        every = t.rebalance.every
        ok = every in REBALANCE_PERIODS or (isinstance(every, int) and every >= 1)
        yield "rebalance.every", ok, f"must be {' or '.join(REBALANCE_PERIODS)} or a count >= 1"
    yield "trigger.cooldown_sessions", t.trigger.cooldown_sessions >= 0, "must be >= 0"
    yield "trigger.select_within_sessions", t.trigger.select_within_sessions >= 0, "must be >= 0"
    for key, reason in problems(t.select, factor_catalog(t)):
        yield f"select.{key}", False, reason
    w = t.weigh
    yield "weigh.method", w.method in WEIGH_METHODS, f"must be one of {WEIGH_METHODS}"
    yield "weigh.max_weight", 0 < w.max_weight <= 1, "must be in (0, 1]"
    yield "weigh.gross", 0 < w.gross <= 1, "must be in (0, 1]"
    yield "entry.at", t.entry.at in ENTRY_AT, f"must be one of {ENTRY_AT}"
    e = t.exit
    yield "exit.hold_sessions", e.hold_sessions >= 1, "must be >= 1"
    for name in ("take_profit_pct", "stop_loss_pct", "trailing_stop_pct"):
        value = getattr(e, name)
        limit = 1000 if name == "take_profit_pct" else 100
        ok = value is None or 0 < value < limit
        yield f"exit.{name}", ok, f"must be in (0, {limit})"
    yield "init_cash", t.init_cash > 0, "must be > 0"


def list_theses(folder: Path) -> list[Thesis]:
    """Every thesis file in a folder, sorted by file name (invalid files raise)."""
    return [load_thesis(p) for p in sorted(folder.glob("*.toml"))]
