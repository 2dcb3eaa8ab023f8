"""The recommendation ledger: broker picks stored point in time, and how they performed.

A pick is known from its note's ``report_date`` on, never before: ``picks_known_on`` is the only
way screens read picks, so a screen dated before a note cannot see it. Notes are keyed by the
sha256 of their text, so importing a file twice changes nothing.

Performance (``pick_performance``) follows the A-share rules a buyer would meet:

1. Entry is the open of the first session after the report date. If that open is at the up
   limit, or the name is suspended (or has no bar), the buyer waits for the first session whose
   open is buyable; the wait is ``entry_delay`` in sessions (at most ``max_entry_delay``).
2. The exit for horizon ``h`` is the close of the ``h``-th session counting the entry session as
   the first (``h >= 2``: T+1 forbids selling on the entry day). Sessions are the store's
   sessions, so a suspension does not stretch the horizon: a suspended name is valued at its
   last close. Past the end of the data the horizon is null.
3. Fills use raw prices (the open paid, the close received); the return across ex-dates uses
   back-adjusted prices (raw × adj_factor), i.e. dividends reinvested.
4. Costs on a ``notional`` buy: commission with its per-order minimum and transfer fee on both
   legs, stamp duty on the exit sell, slippage on both fills (``rules.CostModel``).
5. Benchmarks over the same window: 801050.SI and 000300.SH from the entry session's open (its
   previous close when the index has no open) to the exit session's close. Excess = the pick's
   net return minus the index return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener import rules
from screener.brokers.findings import UNRESOLVED_SCHEMA
from screener.brokers.lexicon import HK_ONLY, RESOLVED, Lexicon
from screener.brokers.notes import ParsedNote, parse_file
from screener.errors import InputError
from screener.schema import BROKER_NOTES, BROKER_PICKS, MARKET_INDEX, SECTOR_INDEX
from screener.store import Store
from screener.tables import Tables

HORIZONS: tuple[int, ...] = (5, 20, 60)
NOTIONAL = 100_000.0  # CNY per pick: large enough that the 5-yuan minimum rarely binds
MAX_ENTRY_DELAY = 10  # sessions a buyer waits for a buyable open before giving up
BENCHMARKS: dict[str, str] = {"sector": SECTOR_INDEX, "market": MARKET_INDEX}
HK_NOTE = "HK-listed only: excluded from A-share screens"
PICK_KEY = ("note_id", "seq")


# -- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    """What ``import_notes`` did; ``unresolved`` lists names to add to the instrument master and
    ``warnings`` what a reader of the notes should check (a code beside a name that names
    another company, an ambiguous name)."""

    files: tuple[str, ...]
    notes_new: int
    notes_unchanged: int
    picks_new: int
    picks_updated: int
    picks_unchanged: int
    picks_removed: int
    files_without_picks: tuple[str, ...]
    unresolved: pl.DataFrame
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.notes_new or self.picks_new or self.picks_updated or self.picks_removed)


def import_notes(
    store: Store,
    paths: Iterable[str | Path],
    master: pl.DataFrame,
    *,
    date: dt.date | None = None,
    allow_empty: bool = False,
    now: dt.datetime | None = None,
) -> ImportSummary:
    """Parse note files and store their notes and picks in one transaction.

    Every file is parsed before anything is written, so one bad file raises InputError naming
    it and the store is unchanged: unreadable, empty, with picks but no date (pass ``date``),
    or with a recommendation cue but no resolved pick (a note the reader could not read; pass
    ``allow_empty`` to import it anyway). Notes already stored keep their first ``source`` and
    ``imported_at``. Picks of a re-imported note are replaced when a re-parse differs (e.g.
    after the master learnt a name); picks the re-parse no longer finds are removed.
    """
    files = tuple(str(p) for p in paths)
    lexicon = Lexicon.from_master(master)
    parsed = [_parse(Path(p), lexicon, date=date, allow_empty=allow_empty) for p in files]
    return import_parsed(store, parsed, now=now)


def import_parsed(
    store: Store, parsed: Sequence[ParsedNote], *, now: dt.datetime | None = None
) -> ImportSummary:
    """Store parsed notes and their picks in one transaction (see ``import_notes``).

    The one writer of the ledger: note files come through ``import_notes``, the demo market's
    synthetic notes (``demo_notes``) straight from their text.
    """
    files = tuple(p.source for p in parsed)
    notes = _unique(
        [p.notes() for p in parsed], BROKER_NOTES.columns, ("note_id",), exclude="imported_at"
    )
    picks = _unique([p.picks for p in parsed], BROKER_PICKS.columns, PICK_KEY)
    stamp = now or dt.datetime.now()
    source = "; ".join(dict.fromkeys(files))
    with store.transaction():
        known = _existing_ids(store, notes["note_id"].to_list())
        fresh = notes.filter(~pl.col("note_id").is_in(known)).with_columns(
            imported_at=pl.lit(stamp, dtype=pl.Datetime("us"))
        )
        store.upsert("broker_notes", fresh, source=source)
        removed = _remove_stale_picks(store, picks, known)
        result = store.upsert("broker_picks", picks, source=source)
    unresolved = [p.unresolved for p in parsed]
    return ImportSummary(
        files=files,
        notes_new=fresh.height,
        notes_unchanged=notes.height - fresh.height,
        picks_new=result.inserted,
        picks_updated=result.updated,
        picks_unchanged=result.unchanged,
        picks_removed=removed,
        files_without_picks=tuple(p.source for p in parsed if p.picks.height == 0),
        unresolved=pl.concat(unresolved) if unresolved else pl.DataFrame(schema=UNRESOLVED_SCHEMA),
        warnings=tuple(w for p in parsed for w in p.warnings),
    )


def _parse(path: Path, lexicon: Lexicon, *, date: dt.date | None, allow_empty: bool) -> ParsedNote:
    """Parse one file and refuse what cannot be placed in time or was not read at all."""
    note = parse_file(path, lexicon, date=date)
    undated = note.picks.filter(pl.col("report_date").is_null())
    if undated.height:
        title = undated["title"][0]
        raise InputError(
            f"article {title!r} has picks but no date, so they cannot be placed in time",
            path=path,
            hint="pass --date YYYY-MM-DD (or add an 'outlet· YYYY-MM-DD' line under the title)",
        )
    if note.cue_count and not note.resolved and not allow_empty:
        raise InputError(
            f"{note.cue_count} recommendation cue(s) but no resolved pick, so nothing was imported",
            path=path,
            hint=f"see `screener picks parse {path} --explain`; --allow-empty imports it anyway",
        )
    return note


def _unique(
    frames: Sequence[pl.DataFrame],
    columns: dict[str, pl.DataType],
    key: tuple[str, ...],
    *,
    exclude: str | None = None,
) -> pl.DataFrame:
    """Concatenate frames keeping the first row per key (the same article in two files)."""
    cols = [c for c in columns if c != exclude]
    if not frames:
        return pl.DataFrame(schema={c: columns[c] for c in cols})
    return pl.concat([f.select(cols) for f in frames]).unique(
        key, keep="first", maintain_order=True
    )


def _existing_ids(store: Store, note_ids: list[str]) -> list[str]:
    if not note_ids:
        return []
    found = store.query(
        "SELECT note_id FROM broker_notes WHERE note_id IN (SELECT unnest(?::VARCHAR[]))",
        [note_ids],
    )
    return found["note_id"].to_list()


def _remove_stale_picks(store: Store, picks: pl.DataFrame, known_notes: list[str]) -> int:
    """Delete stored picks of re-imported notes that the new parse no longer yields."""
    if not known_notes:
        return 0
    stored = store.query(
        "SELECT note_id, seq FROM broker_picks WHERE note_id IN (SELECT unnest(?::VARCHAR[]))",
        [known_notes],
    )
    stale = stored.join(picks.select(PICK_KEY), on=list(PICK_KEY), how="anti")
    for note_id, seq in stale.iter_rows():
        store.delete("broker_picks", note_id=note_id, seq=seq)
    return stale.height


# -- queries ---------------------------------------------------------------------------------


def list_picks(
    store: Tables,
    *,
    since: dt.date | None = None,
    broker: str | None = None,
    metal: str | None = None,
) -> pl.DataFrame:
    """Stored picks (``BROKER_PICKS`` columns) by report date, optionally filtered."""
    picks = store.read_table("broker_picks")
    if since is not None:
        picks = picks.filter(pl.col("report_date") >= since)
    if broker is not None:
        picks = picks.filter(pl.col("broker") == broker)
    if metal is not None:
        picks = picks.filter(pl.col("metal") == metal)
    return picks.sort("report_date", *PICK_KEY)


@dataclass(frozen=True)
class KnownPicks:
    """Picks known on ``on``: A-share ones for screens; HK-only ones kept apart with a note."""

    on: dt.date
    window_days: int
    a_share: pl.DataFrame
    hk_only: pl.DataFrame
    note: str = HK_NOTE


def picks_known_on(store: Tables, on: dt.date, *, window_days: int) -> KnownPicks:
    """Picks with ``on - window_days <= report_date <= on``: what a screen on ``on`` may see.

    ``a_share`` holds resolved picks of A-share tickers, ``hk_only`` those only listed in Hong
    Kong; unresolved and ambiguous picks are in neither (``list_picks`` shows them).
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0, got {window_days}")
    start = on - dt.timedelta(days=window_days)
    picks = list_picks(store).filter(pl.col("report_date").is_between(start, on))
    return KnownPicks(
        on=on,
        window_days=window_days,
        a_share=_a_share(picks),
        hk_only=picks.filter(pl.col("status") == HK_ONLY).with_columns(note=pl.lit(HK_NOTE)),
    )


def _a_share(picks: pl.DataFrame) -> pl.DataFrame:
    """Resolved picks of a ticker that trades in Shanghai, Shenzhen or Beijing."""
    return picks.filter(
        (pl.col("status") == RESOLVED)
        & pl.col("ticker").is_not_null()
        & (pl.col("board").fill_null("") != "hk")
    )


# -- performance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceResult:
    """``per_pick``: one row per resolved A-share pick; ``summary``: a long table of statistics.

    ``summary`` columns: by (all, broker, metal), group, horizon, benchmark (index code),
    count (picks with data at that horizon), hit_rate (share with excess > 0), mean_return,
    mean_excess, median_excess. Returns are fractions (0.05 = 5%).
    """

    per_pick: pl.DataFrame
    summary: pl.DataFrame
    horizons: tuple[int, ...]
    notional: float


def pick_performance(
    store: Store,
    *,
    horizons: Sequence[int] = HORIZONS,
    costs: rules.CostModel | None = None,
    notional: float = NOTIONAL,
    max_entry_delay: int = MAX_ENTRY_DELAY,
) -> PerformanceResult:
    """Entry, net return and excess return of every resolved A-share pick (module docstring).

    ``costs`` None means the default ``rules.CostModel``. ``per_pick`` has, per horizon ``h``:
    ``exit_date_{h}d``, ``ret_{h}d`` (net of costs), ``sector_ret_{h}d``, ``market_ret_{h}d``,
    ``excess_sector_{h}d``, ``excess_market_{h}d``; null where the data end before the exit.
    """
    horizons = tuple(horizons)
    if not horizons or min(horizons) < 2:
        raise ValueError(f"horizons must be >= 2 sessions (T+1), got {horizons}")
    costs = costs or rules.CostModel()
    picks = _a_share(store.read_table("broker_picks")).select(
        *PICK_KEY, "broker", "report_date", "metal", "ticker", "board"
    )
    sessions = _sessions(store, costs)
    bars = _fill_bars(store, picks)
    frame = _entries(picks, sessions, bars, max_entry_delay)
    levels = _index_levels(store)
    for h in horizons:
        frame = _horizon(frame, h, sessions, bars, levels, costs, notional)
    names = store.read_instruments().select("ticker", "name")
    frame = frame.join(names, on="ticker", how="left").sort("report_date", *PICK_KEY)
    per_pick = frame.select(
        *PICK_KEY, "broker", "report_date", "metal", "ticker", "name", "board",
        "entry_date", "entry_delay", "entry_price",
        *(c for h in horizons for c in _horizon_columns(h)),
    )  # fmt: skip
    return PerformanceResult(per_pick, _summary(per_pick, horizons), horizons, notional)


def _horizon_columns(h: int) -> list[str]:
    return [
        f"exit_date_{h}d",
        f"ret_{h}d",
        *(f"{b}_ret_{h}d" for b in BENCHMARKS),
        *(f"excess_{b}_{h}d" for b in BENCHMARKS),
    ]


def _sessions(store: Store, costs: rules.CostModel) -> pl.DataFrame:
    """The store's sessions numbered in order, with the fee rates in force on each."""
    days = pl.Series("date", store.sessions(), dtype=pl.Date)
    as_np = days.to_numpy().astype("datetime64[D]")
    return pl.DataFrame(
        {
            "date": days,
            "idx": pl.int_range(days.len(), eager=True, dtype=pl.Int64),
            "transfer_rate": costs.transfer_rate_on(as_np),
            "stamp_rate": costs.stamp_rate_on(as_np),
        }
    )


def _fill_bars(store: Store, picks: pl.DataFrame) -> pl.DataFrame:
    """Raw open/close, adjustment factor and the buyable-open flag of the picked tickers."""
    tickers = picks["ticker"].unique().to_list()
    start = picks["report_date"].min() if picks.height else None
    bars = rules.tradability(store.read_bars(tickers, start=start))  # type: ignore[arg-type]
    return bars.select("ticker", "date", "open", "close", "adj_factor", "can_buy_open").sort(
        "ticker", "date"
    )


def _entries(
    picks: pl.DataFrame, sessions: pl.DataFrame, bars: pl.DataFrame, max_delay: int
) -> pl.DataFrame:
    """First buyable open after the report date, and how many sessions the buyer waited."""
    nominal = sessions.select(next_session=pl.col("date"), next_idx=pl.col("idx"))
    buyable = (
        bars.filter(pl.col("can_buy_open"))
        .join(sessions, on="date")
        .select(
            "ticker",
            entry_date=pl.col("date"),
            entry_idx=pl.col("idx"),
            entry_price=pl.col("open"),
            entry_adj=pl.col("adj_factor"),
            buy_transfer=pl.col("transfer_rate"),
        )
        .sort("entry_date")
    )
    out = (
        picks.sort("report_date")
        .join_asof(
            nominal,
            left_on="report_date",
            right_on="next_session",
            strategy="forward",
            allow_exact_matches=False,
        )
        .join_asof(
            buyable,
            left_on="report_date",
            right_on="entry_date",
            by="ticker",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .with_columns(entry_delay=pl.col("entry_idx") - pl.col("next_idx"))
    )
    late = pl.col("entry_delay") > max_delay
    entry_cols = ["entry_date", "entry_idx", "entry_price", "entry_adj", "buy_transfer"]
    return out.with_columns(
        *(pl.when(~late).then(pl.col(c)).alias(c) for c in [*entry_cols, "entry_delay"])
    )


def _index_levels(store: Store) -> pl.DataFrame:
    """Per index and date: the entry level (open, else the previous close) and the close."""
    index = store.read_index(list(BENCHMARKS.values())).sort("index_code", "date")
    return index.select(
        "index_code",
        "date",
        entry_level=pl.coalesce(pl.col("open"), pl.col("close").shift(1).over("index_code")),
        close=pl.col("close"),
    )


def _horizon(
    frame: pl.DataFrame,
    h: int,
    sessions: pl.DataFrame,
    bars: pl.DataFrame,
    levels: pl.DataFrame,
    costs: rules.CostModel,
    notional: float,
) -> pl.DataFrame:
    """Add the net return over ``h`` sessions and the benchmarks' returns over the same window."""
    exits = sessions.select(
        _xidx=pl.col("idx"),
        _xdate=pl.col("date"),
        _sell_rate=pl.col("transfer_rate") + pl.col("stamp_rate"),
    )
    closes = bars.select("ticker", _cdate="date", _xclose="close", _xadj="adj_factor")
    out = (
        frame.with_columns(_xidx=pl.col("entry_idx") + (h - 1))
        .join(exits, on="_xidx", how="left")
        .sort("_xdate", nulls_last=True)
        .join_asof(
            closes,
            left_on="_xdate",
            right_on="_cdate",
            by="ticker",
            strategy="backward",
            check_sortedness=False,
        )
    )
    slip = costs.slippage_bps / 10_000.0
    growth = (pl.col("_xclose") * pl.col("_xadj") * (1 - slip)) / (
        pl.col("entry_price") * pl.col("entry_adj") * (1 + slip)
    )
    value_out = notional * growth
    buy_cost = costs.commission(notional) + notional * pl.col("buy_transfer")
    sell_cost = pl.max_horizontal(value_out * costs.commission_rate, pl.lit(costs.min_commission))
    sell_cost = sell_cost + value_out * pl.col("_sell_rate")
    net = (value_out - sell_cost) / (notional + buy_cost) - 1
    out = out.with_columns(pl.col("_xdate").alias(f"exit_date_{h}d"), net.alias(f"ret_{h}d"))
    for name, code in BENCHMARKS.items():
        out = _benchmark(out, h, name, levels.filter(pl.col("index_code") == code))
    return out.drop("_xidx", "_xdate", "_sell_rate", "_cdate", "_xclose", "_xadj")


def _benchmark(frame: pl.DataFrame, h: int, name: str, levels: pl.DataFrame) -> pl.DataFrame:
    """One index's return from the entry session's open to the exit session's close."""
    entry = levels.select(entry_date="date", _in="entry_level")
    exit_ = levels.select(_xdate="date", _out="close")
    ret = pl.col("_out") / pl.col("_in") - 1
    return (
        frame.join(entry, on="entry_date", how="left")
        .join(exit_, on="_xdate", how="left")
        .with_columns(
            ret.alias(f"{name}_ret_{h}d"),
            (pl.col(f"ret_{h}d") - ret).alias(f"excess_{name}_{h}d"),
        )
        .drop("_in", "_out")
    )


def _summary(per_pick: pl.DataFrame, horizons: tuple[int, ...]) -> pl.DataFrame:
    """Count, hit rate, mean and median excess by broker and by metal, per horizon and index."""
    long = pl.concat(
        [
            per_pick.select(
                broker=pl.col("broker").fill_null("(unknown)"),
                metal=pl.col("metal").fill_null("(none)"),
                horizon=pl.lit(h, dtype=pl.Int64),
                benchmark=pl.lit(code),
                ret=pl.col(f"ret_{h}d"),
                excess=pl.col(f"excess_{name}_{h}d"),
            )
            for h in horizons
            for name, code in BENCHMARKS.items()
        ]
    )
    has_data = pl.col("excess").is_not_null()
    stats = [
        has_data.sum().cast(pl.Int64).alias("count"),
        (pl.col("excess") > 0).mean().alias("hit_rate"),
        pl.col("ret").filter(has_data).mean().alias("mean_return"),
        pl.col("excess").mean().alias("mean_excess"),
        pl.col("excess").median().alias("median_excess"),
    ]
    parts = []
    for by, group in (
        ("all", pl.lit("all")),
        ("broker", pl.col("broker")),
        ("metal", pl.col("metal")),
    ):
        parts.append(
            long.group_by(group.alias("group"), "horizon", "benchmark")
            .agg(stats)
            .select(pl.lit(by).alias("by"), pl.all())
        )
    order = pl.col("by").replace_strict({"all": 0, "broker": 1, "metal": 2}, return_dtype=pl.Int8)
    return pl.concat(parts).sort(order, "group", "horizon", "benchmark")
