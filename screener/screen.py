"""Screens: a universe, filters and a score → the ranked names to look at after a close.

A ``Screen`` is a value (STYLE habit 1); ``run_screen`` executes it on one date:

1. Date. ``as_of`` is the last store session on or before ``on``: its close is the data used.
2. Universe. ``picks``: A-share tickers of broker picks known on ``on`` (report date within
   ``picks_window_days``, never later than ``on``; HK-only picks are listed as excluded);
   ``sector``: Shenwan 801050.SI members; ``metal``: stocks tagged with ``metal``; ``all``: every
   A-share. Names not listed on ``as_of`` are not in it. ``metal`` also narrows other universes.
3. Filters, each giving a reason in ``excluded``: no bar on ``as_of``; suspended, or opened or
   closed at the up limit (``require_tradable``); ST on ``as_of`` (``exclude_st``); 20-session
   average amount below ``min_avg_amount`` (``illiquid``; where the data have no amount the
   panel's close x volume stands in, and ``amount_estimated`` says so); the metal fell more
   than ``metal_max_drop_pct`` over ``metal_window`` sessions; no score. ``coverage`` counts
   the universe, the scored, the passed and each reason (screen_coverage.py).
4. Score and rank: factors on ``as_of`` for every stock (ranks against all, as in
   ``engine.compute_factors``); the best score ranks 1 (by the factor's direction, ties by
   ticker); the first ``top_n`` are ``ranked``.
5. Changes against the same screen on the previous session (one panel serves both).

Tradable here means a buyer could act at the next open as far as today's close can tell: the
name traded today (not suspended, volume > 0), did not open at its up limit (a limit-up open,
e.g. a one-price 一字板 run, is the case where the next open is most likely unbuyable too) and did
not close at its up limit (no seller at the close; the next open is likely at or near the limit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from screener.brokers.ledger import picks_known_on
from screener.config import Settings
from screener.errors import ConfigError
from screener.instruments import METAL_TAGS
from screener.schema import SECTOR_INDEX
from screener.screen_coverage import Coverage
from screener.spec import build_spec, read_spec
from screener.store import Store
from screener.tables import Tables

if TYPE_CHECKING:
    from screener.factors.base import Factor

Catalog = Mapping[str, "Factor"]  # factor name -> Factor (the library, or factors/expr/files.py)

UNIVERSES = ("picks", "sector", "metal", "all")
AMOUNT_FACTOR = "avg_amount_20d"
ESTIMATED_FACTOR = "amount_estimated_20d"  # sessions of AMOUNT_FACTOR's window estimated
HK_REASON = "HK-listed: no A-share bars"


@dataclass(frozen=True)
class Screen:
    """What to rank and how; ``name`` and ``description`` label it in reports."""

    universe: str = "picks"
    picks_window_days: int = 30  # picks reported within this many days up to the screen date
    metal: str | None = None  # the universe "metal", or a narrowing of any other universe
    score: str = "oversold_score"
    top_n: int = 10
    exclude_st: bool = True
    min_avg_amount: float = 20e6  # CNY, 20-session mean of daily amount
    require_tradable: bool = True
    metal_max_drop_pct: float | None = None  # keep names whose metal fell less than this
    metal_window: int = 7  # sessions over which the metal's move is measured
    name: str = "screen"
    description: str = ""

    @staticmethod
    def parse_universe(text: str) -> dict[str, Any]:
        """The CLI form ``picks[:30d] | sector | metal:copper | all`` as Screen fields.

        Use as ``dataclasses.replace(screen, **Screen.parse_universe(text))``.

        >>> Screen.parse_universe("picks:14d")
        {'universe': 'picks', 'picks_window_days': 14}
        """
        kind, _, arg = text.strip().partition(":")
        fields: dict[str, Any] = {"universe": kind}
        if kind == "picks" and arg:
            days = arg.removesuffix("d")
            if not days.isdigit() or int(days) < 1:
                raise ConfigError(f"--universe {text!r}: the window is a day count, e.g. picks:30d")
            fields["picks_window_days"] = int(days)
        elif kind == "metal":
            fields["metal"] = arg or None
        elif arg or kind not in UNIVERSES:
            raise ConfigError(f"--universe {text!r}: use picks[:30d], sector, metal:<metal> or all")
        bad = next(problems(replace(Screen(), **fields)), None)
        if bad:
            raise ConfigError(f"--universe {text!r}: {bad[1]}")
        return fields


def problems(screen: Screen, catalog: Catalog | None = None) -> Iterator[tuple[str, str]]:
    """(key, reason) for every invalid field; empty for a valid screen.

    ``catalog``: the factors a score may name (default: the library; see ``known``).
    """
    s = screen
    checks = [
        ("universe", s.universe in UNIVERSES, f"must be one of {', '.join(UNIVERSES)}"),
        (
            "metal",
            s.metal in METAL_TAGS if s.metal is not None else s.universe != "metal",
            f"universe 'metal' needs a known metal (one of {', '.join(METAL_TAGS)})",
        ),
        ("score", s.score in known(catalog), f"unknown factor {s.score!r}"),
        ("top_n", s.top_n >= 1, "must be >= 1"),
        ("picks_window_days", s.picks_window_days >= 1, "must be >= 1"),
        ("min_avg_amount", s.min_avg_amount >= 0, "must be >= 0"),
        ("metal_window", s.metal_window >= 1, "must be >= 1"),
        (
            "metal_max_drop_pct",
            s.metal_max_drop_pct is None or 0 < s.metal_max_drop_pct <= 100,
            "must be in (0, 100]",
        ),
    ]
    for key, ok, reason in checks:
        if not ok:
            yield key, reason


def check(screen: Screen, catalog: Catalog | None = None) -> Screen:
    """The screen itself, or a ConfigError naming its first invalid field."""
    for key, reason in problems(screen, catalog):
        raise ConfigError(f"screen {screen.name!r}: '{key}': {reason}")
    return screen


def load_screen(path: str | Path, catalog: Catalog | None = None) -> Screen:
    """Read a screen file: top-level keys are ``Screen`` fields (the name defaults to the stem).

    ConfigError names the file, line and key of an unknown key, a wrong type or a bad value.
    """
    path = Path(path)
    src, raw = read_spec(path, "screen")
    screen: Screen = build_spec(src, Screen, {"name": path.stem, **raw}, "")
    for key, reason in problems(screen, catalog):
        raise src.error(key, reason)
    return screen


def list_screens(folder: Path) -> list[Screen]:
    """Every screen file in a folder, by file name (an invalid file raises)."""
    return [load_screen(p) for p in sorted(folder.glob("*.toml"))]


# -- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenResult:
    """A screen on one date.

    ``ranked``: rank, ticker, name, metal, board, score, the factor columns that explain the
    score (a composite's components), avg_amount_20d, amount_estimated (that average rests on
    close x volume for at least one session), metal_series and metal_currency (the series that
    fed the metal factors on ``as_of``, and CNY or USD: see point_in_time.py), brokers (picks
    universe), flags.
    ``excluded``: ticker, name, reason (comma-separated). ``changes``: ticker, name, rank,
    prev_rank, move (positive = up), change (new, dropped, up, down, same). ``coverage``: the
    counts behind ``ranked`` (screen_coverage.py).
    """

    screen: Screen
    on: dt.date
    as_of: dt.date | None  # the session whose close was used; None: no data on or before on
    previous: dt.date | None  # the session ``changes`` compares with
    universe_size: int
    ranked: pl.DataFrame
    excluded: pl.DataFrame
    changes: pl.DataFrame
    explain: tuple[str, ...]
    coverage: Coverage
    master_empty: bool = False  # the store has no instrument master, so no universe

    def to_records(self) -> list[dict[str, Any]]:
        """``ranked`` as JSON-ready dicts in rank order (dates as ISO strings)."""
        frame = self.ranked.with_columns(pl.selectors.temporal().cast(pl.String))
        return frame.to_dicts()


def run_screen(
    store: Store,
    screen: Screen,
    *,
    on: dt.date,
    settings: Settings,
    catalog: Catalog | None = None,
) -> ScreenResult:
    """Run ``screen`` on ``on`` (see the module docstring for each step)."""
    check(screen, catalog)
    sessions = store.sessions()
    past = [d for d in sessions if d <= on]
    as_of = past[-1] if past else None
    previous = past[-2] if len(past) > 1 else None
    explain = explained_by(screen, catalog)
    today = universe_on(store, screen, on=on, as_of=as_of) if as_of else None
    before = universe_on(store, screen, on=previous, as_of=previous) if previous else None
    pairs = ((previous, before), (as_of, today))
    scored = [d for d, u in pairs if d is not None and u is not None and u[0].height]
    catalog_ = known(catalog)
    facts = _facts(store, screen, scored, explain=explain, settings=settings, catalog=catalog_)
    now = _evaluate(screen, today, facts, as_of=as_of, explain=explain, catalog=catalog)
    then = _evaluate(screen, before, facts, as_of=previous, explain=explain, catalog=catalog)
    return ScreenResult(
        screen=screen,
        on=on,
        as_of=as_of,
        previous=previous,
        universe_size=now.universe_size,
        ranked=now.ranked,
        excluded=now.excluded,
        changes=_changes(now.ranked, then.ranked),
        explain=now.explain,
        coverage=now.coverage,
        master_empty=store.read_instruments().is_empty(),
    )


def _changes(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """New, dropped and moved names between two ranked frames."""
    cur = now.select("ticker", "name", "rank")
    old = before.select(
        "ticker", pl.col("name").alias("_old_name"), pl.col("rank").alias("prev_rank")
    )
    joined = cur.join(old, on="ticker", how="full", coalesce=True)
    move = pl.col("prev_rank") - pl.col("rank")
    change = (
        pl.when(pl.col("prev_rank").is_null())
        .then(pl.lit("new"))
        .when(pl.col("rank").is_null())
        .then(pl.lit("dropped"))
        .when(move > 0)
        .then(pl.lit("up"))
        .when(move < 0)
        .then(pl.lit("down"))
        .otherwise(pl.lit("same"))
    )
    return joined.select(
        "ticker",
        pl.coalesce("name", "_old_name").alias("name"),
        "rank",
        "prev_rank",
        move.alias("move"),
        change.alias("change"),
    ).sort(pl.col("rank").fill_null(1_000_000), "prev_rank")


@dataclass(frozen=True)
class _Pass:
    """One evaluation of a screen on one session."""

    ranked: pl.DataFrame
    excluded: pl.DataFrame
    universe_size: int
    explain: tuple[str, ...]
    coverage: Coverage


EXCLUDED_SCHEMA = {"ticker": pl.String, "name": pl.String, "reason": pl.String}


Universe = tuple[pl.DataFrame, pl.DataFrame]  # universe_on: names, and HK-only exclusions


def _evaluate(
    screen: Screen,
    universe: Universe | None,
    facts: pl.DataFrame | None,
    *,
    as_of: dt.date | None,
    explain: tuple[str, ...],
    catalog: Catalog | None,
) -> _Pass:
    """One session's pass: the universe joined to that session's facts, filtered and ranked."""
    if universe is None or as_of is None:
        none = pl.DataFrame(schema=EXCLUDED_SCHEMA)
        return _Pass(_empty_ranked(explain), none, 0, explain, Coverage())
    names, hk = universe
    if names.height == 0 or facts is None:
        return _Pass(_empty_ranked(explain), hk, 0, explain, Coverage())
    joined = facts_on(names, facts, as_of)
    return rank_facts(screen, joined, hk=hk, universe_size=names.height, catalog=catalog)


def known(catalog: Catalog | None) -> Catalog:
    """The factors a screen may name: ``catalog``, or the factor library."""
    if catalog is not None:
        return catalog
    from screener.factors.library import REGISTRY

    return REGISTRY


def explained_by(screen: Screen, catalog: Catalog | None = None) -> tuple[str, ...]:
    """The factor columns shown next to the score: a composite's components."""
    return known(catalog)[screen.score].needs


def rank_facts(
    screen: Screen,
    facts: pl.DataFrame,
    *,
    hk: pl.DataFrame | None = None,
    universe_size: int,
    catalog: Catalog | None = None,
) -> _Pass:
    """Filter and rank one session's facts (see ``join_facts``); pure, no store access."""
    factor = known(catalog)[screen.score]
    explain = factor.needs
    empty = _empty_ranked(explain)
    hk = pl.DataFrame(schema=EXCLUDED_SCHEMA) if hk is None else hk
    reasons, flags = _reasons(screen)
    facts = facts.with_columns(_reasons=reasons, flags=flags)
    eligible = (
        facts.filter(pl.col("_reasons").list.len() == 0)
        .sort("score", "ticker", descending=[factor.higher_is_better, False], nulls_last=True)
        .head(screen.top_n)
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    )
    excluded = facts.filter(pl.col("_reasons").list.len() > 0).select(
        "ticker", "name", reason=pl.col("_reasons").list.join(", ")
    )
    estimated = pl.col(ESTIMATED_FACTOR).fill_null(0) > 0
    return _Pass(
        ranked=eligible.with_columns(amount_estimated=estimated)
        .select(empty.columns)
        .cast(empty.schema),
        excluded=pl.concat([hk, excluded]).sort("ticker"),
        universe_size=universe_size,
        explain=explain,
        coverage=Coverage.of(facts, estimated=ESTIMATED_FACTOR),
    )


def _empty_ranked(explain: tuple[str, ...]) -> pl.DataFrame:
    numbers = dict.fromkeys(["score", *explain, AMOUNT_FACTOR], pl.Float64)
    head = {"rank": pl.Int64, **dict.fromkeys(["ticker", "name", "metal", "board"], pl.String)}
    tail = dict.fromkeys(["metal_series", "metal_currency", "brokers", "flags"], pl.String)
    return pl.DataFrame(schema={**head, **numbers, "amount_estimated": pl.Boolean, **tail})


def universe_on(
    store: Tables, screen: Screen, *, on: dt.date, as_of: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Universe rows (ticker, name, metal, board, metals, brokers) and HK-only exclusions."""
    inst = store.read_instruments()
    listed = (pl.col("list_date").fill_null(as_of) <= as_of) & (
        pl.col("delist_date").fill_null(as_of + dt.timedelta(days=1)) > as_of
    )
    shares = inst.filter((pl.col("board") != "hk") & listed).select(
        "ticker", "name", "board", "metals", "sw_l1", metal=pl.col("metals").list.first()
    )
    hk = pl.DataFrame(schema=EXCLUDED_SCHEMA)
    if screen.universe == "picks":
        known = picks_known_on(store, on, window_days=screen.picks_window_days)
        picked = (
            known.a_share.sort("report_date")
            .group_by("ticker", maintain_order=True)
            .agg(
                pick_metal=pl.col("metal").drop_nulls().last(),
                brokers=pl.col("broker").drop_nulls().unique().sort().str.join(", "),
            )
        )
        base = picked.join(shares, on="ticker", how="left").with_columns(
            metal=pl.coalesce("pick_metal", "metal")
        )
        gone = base.filter(pl.col("board").is_null()).select(
            "ticker", name=pl.lit(None, pl.String), reason=pl.lit("not listed")
        )
        names = inst.select("ticker", "name")
        hk_rows = known.hk_only.select("ticker").unique().join(names, on="ticker", how="left")
        hk = pl.concat([hk_rows.with_columns(reason=pl.lit(HK_REASON)), gone])
        base = base.filter(pl.col("board").is_not_null())
    else:
        base = shares.with_columns(
            brokers=pl.lit(None, pl.String), pick_metal=pl.lit(None, pl.String)
        )
        if screen.universe == "sector":
            base = base.filter(pl.col("sw_l1") == SECTOR_INDEX)
    if screen.metal is not None:
        tagged = pl.col("metals").list.contains(screen.metal)
        base = base.filter(tagged | (pl.col("pick_metal") == screen.metal))
        if screen.universe == "metal":
            base = base.with_columns(metal=pl.lit(screen.metal))
    return base.select("ticker", "name", "metal", "board", "brokers").sort("ticker"), hk


def _facts(
    store: Store,
    screen: Screen,
    days: list[dt.date],
    *,
    explain: tuple[str, ...],
    settings: Settings,
    catalog: Catalog,
) -> pl.DataFrame | None:
    """``join_facts``' columns per (ticker, date) of ``days`` for every stock, from one panel:
    building it is most of a screen's time, so both sessions and the flags share it."""
    if not days:
        return None
    from screener.engine import evaluate, lookback, sessions_ending
    from screener.factors.library import lookup
    from screener.panel import build_panel

    shown = list(dict.fromkeys([*explain, AMOUNT_FACTOR]))
    chosen = lookup(list(dict.fromkeys([screen.score, *shown, ESTIMATED_FACTOR])), catalog)
    depth = max(lookback(chosen, catalog), screen.metal_window + 1) + len(days) - 1
    history = sessions_ending(store, days[-1], depth)
    panel = build_panel(store, start=history[0], end=history[-1], settings=settings)
    values = evaluate(panel, chosen, dates=days)
    flags = panel_flags(panel, metal_window=screen.metal_window)
    flags = flags.filter(pl.col("date").is_in(days))
    return join_facts(screen, values, flags, explain=explain)


def join_facts(
    screen: Screen,
    values: pl.DataFrame,
    flags: pl.DataFrame,
    *,
    explain: tuple[str, ...],
) -> pl.DataFrame:
    """Per (ticker, date): factor values (score first) and tradability flags (``panel_flags``);
    join it to a universe on ``ticker`` for one date to get the rows ``rank_facts`` takes."""
    shown = list(dict.fromkeys([*explain, AMOUNT_FACTOR, ESTIMATED_FACTOR]))
    values = values.select("ticker", "date", pl.col(screen.score).alias("score"), *shown)
    return values.join(flags, on=["ticker", "date"], how="left")


def facts_on(universe: pl.DataFrame, facts: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The universe's rows with their ``join_facts`` columns on ``day`` (the rows
    ``rank_facts`` takes); a name without facts that day keeps nulls (no bar)."""
    return universe.join(facts.filter(pl.col("date") == day).drop("date"), on="ticker", how="left")


def panel_flags(panel: pl.DataFrame, *, metal_window: int) -> pl.DataFrame:
    """Per (ticker, date): tradability flags, the metal's move over ``metal_window`` and the
    series that fed the metal's price that day (with the currency of its returns)."""
    then = pl.col("metal_close").shift(metal_window).over("ticker")
    return panel.with_columns(metal_move=pl.col("metal_close") / then - 1).select(
        "date",
        "ticker",
        "suspended",
        "is_st",
        "metal_move",
        "metal_series",
        "metal_currency",
        has_bar=pl.lit(True),
        limit_up=pl.col("opened_limit_up") | pl.col("closed_limit_up"),
        limit_down=pl.col("closed_limit_down"),
    )


def _reasons(screen: Screen) -> tuple[pl.Expr, pl.Expr]:
    """Exclusion reasons (a list per row) and the soft flags of the filters switched off."""
    bar = pl.col("has_bar").fill_null(False)
    amount = pl.col(AMOUNT_FACTOR)
    drop = screen.metal_max_drop_pct
    tests: list[tuple[str, pl.Expr, bool]] = [
        ("suspended", pl.col("suspended"), screen.require_tradable),
        ("limit-up", pl.col("limit_up"), screen.require_tradable),
        ("ST", pl.col("is_st"), screen.exclude_st),
        ("limit-down", pl.col("limit_down"), False),
        (
            "illiquid",
            amount.is_null() | (amount < screen.min_avg_amount),
            screen.min_avg_amount > 0,
        ),
        ("no score", pl.col("score").is_null(), True),
    ]
    if drop is not None:
        move = pl.col("metal_move")
        tests += [
            (f"metal fell > {drop:g}%", move < -drop / 100, True),
            ("metal move unknown", move.is_null(), True),
        ]

    def listed(active: bool) -> pl.Expr:
        chosen = [
            pl.when(test.fill_null(False) & bar).then(pl.lit(label))
            for label, test, on in tests
            if on == active
        ]
        if active:  # a name without a bar gets that one reason, not its consequences
            chosen.insert(0, pl.when(~bar).then(pl.lit("no bar")))
        if not chosen:
            return pl.lit([], pl.List(pl.String))
        return pl.concat_list(chosen).list.drop_nulls()

    flags = listed(False).list.join(", ")
    return listed(True), pl.when(flags != "").then(flags)
