"""Coverage of a store: what each table holds, what is missing, and what to import next.

``check_coverage`` answers from SQL aggregates (``Store.query``): per-ticker and per-series
summaries and the rows next to a gap come back, never the bars themselves, so a store of 500k
bars is checked in a fraction of a second. It returns a ``Coverage`` value; ``report`` renders
it and the CLI prints it or its JSON.

What counts as missing:

- a gap: more than ``GAP_DAYS`` calendar days between two consecutive rows of one ticker, index
  or series (longer than any exchange holiday, so a suspension or a hole in the file);
- a missing session: an XSHG session inside a table's span on which it has no row at all
  (bars and indices only; commodity series keep their own venue's calendar). Checked only where
  the holiday table reaches (``calendar.FIRST_SESSION`` to ``calendar.calendar_end()``);
- a name without a metal series: a stock with bars whose metal (its first tag that has
  series) has none of them in the store, or whose tags have no series at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from screener import calendar, metals, rules
from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.store import Store

GAP_DAYS = 14  # the Spring Festival closes the exchanges for at most 11 calendar days
KEYS = {"bars_daily": "ticker", "index_daily": "index_code", "series_daily": "series_id"}
XSHG_TABLES = ("bars_daily", "index_daily")
SHOWN = 5  # tickers named in a "what to import next" line
INDEX_ROLES = {
    SECTOR_INDEX: "the sector index (screen context, thesis triggers, benchmark)",
    MARKET_INDEX: "the market benchmark (CSI 300)",
}


@dataclass(frozen=True)
class TableCoverage:
    """One dated table: span, size, gaps (key, after, before, days) and missing sessions."""

    table: str
    rows: int
    keys: int
    first: dt.date | None
    last: dt.date | None
    gaps: pl.DataFrame
    checked: tuple[dt.date, dt.date] | None  # the span checked against XSHG; None: not checked
    missing_sessions: tuple[dt.date, ...]


@dataclass(frozen=True)
class Step:
    """One thing to import next: why, and the command that does it."""

    why: str
    command: str


@dataclass(frozen=True)
class Coverage:
    """What ``screener store check`` shows.

    ``indices``: index_code, rows, first, last. ``metals``: metal, names (stocks with bars it
    drives), preference (1 = first choice), series_id, rows, first, last (null when the series
    is absent). ``without_bars``: A-shares of the master with no bar (ticker, name, list_date,
    delist_date). ``not_in_master``: tickers with bars the master lacks (ticker, rows, first,
    last). ``without_series``: stocks with bars and no metal series (ticker, name, metal,
    wanted, reason). ``no_amount``: tickers with bars lacking ``amount`` (ticker, rows,
    no_amount).
    """

    path: str
    tables: tuple[TableCoverage, ...]
    indices: pl.DataFrame
    master_rows: int
    metals: pl.DataFrame
    without_bars: pl.DataFrame
    not_in_master: pl.DataFrame
    without_series: pl.DataFrame
    no_amount: pl.DataFrame
    next_steps: tuple[Step, ...]

    def table(self, name: str) -> TableCoverage:
        return next(t for t in self.tables if t.table == name)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready values; dates as ISO strings."""
        return {
            "path": self.path,
            "tables": [_table_json(t) for t in self.tables],
            "indices": _records(self.indices),
            "master_rows": self.master_rows,
            "metals": _records(self.metals),
            "without_bars": _records(self.without_bars),
            "not_in_master": _records(self.not_in_master),
            "without_series": _records(self.without_series),
            "no_amount": {
                "rows": int(self.no_amount["no_amount"].sum()),
                "tickers": _records(self.no_amount),
            },
            "next": [{"why": s.why, "command": s.command} for s in self.next_steps],
        }


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.selectors.temporal().cast(pl.String)).to_dicts()


def _table_json(t: TableCoverage) -> dict[str, Any]:
    iso = dt.date.isoformat
    return {
        "table": t.table,
        "rows": t.rows,
        "keys": t.keys,
        "first": t.first and iso(t.first),
        "last": t.last and iso(t.last),
        "gaps": _records(t.gaps),
        "checked": [iso(d) for d in t.checked] if t.checked else None,
        "missing_sessions": [iso(d) for d in t.missing_sessions],
    }


# -- computing ---------------------------------------------------------------------------------
def check_coverage(store: Store) -> Coverage:
    """Everything ``Coverage`` holds, from aggregates of ``store``."""
    tables = tuple(_table(store, name) for name in KEYS)
    per_ticker = store.query(
        "SELECT ticker, count(*) AS rows, min(date) AS first, max(date) AS last, "
        "count(*) FILTER (WHERE amount IS NULL) AS no_amount FROM bars_daily GROUP BY ticker "
        "ORDER BY ticker"
    )
    per_series, indices = _spans(store, "series_daily"), _spans(store, "index_daily")
    master = store.read_instruments()
    inst = master.filter(pl.col("board").is_in(rules.BOARDS))
    traded = inst.join(per_ticker.select("ticker"), on="ticker", how="semi")
    without_series = _without_series(traded, set(per_series["series_id"]))
    cov = Coverage(
        path=str(store.path),
        tables=tables,
        indices=indices,
        master_rows=master.height,
        metals=_metals(traded, per_series),
        without_bars=inst.join(per_ticker, on="ticker", how="anti").select(
            "ticker", "name", "list_date", "delist_date"
        ),
        not_in_master=per_ticker.join(inst, on="ticker", how="anti").select(
            "ticker", "rows", "first", "last"
        ),
        without_series=without_series,
        no_amount=per_ticker.filter(pl.col("no_amount") > 0).select("ticker", "rows", "no_amount"),
        next_steps=(),
    )
    return _with_next_steps(cov)


def _spans(store: Store, table: str) -> pl.DataFrame:
    """Rows, first and last date per key of a dated table."""
    key = KEYS[table]
    return store.query(
        f"SELECT {key}, count(*) AS rows, min(date) AS first, max(date) AS last "
        f"FROM {table} GROUP BY {key} ORDER BY {key}"
    )


def _table(store: Store, table: str) -> TableCoverage:
    key = KEYS[table]
    rows, keys, first, last = store.query(
        f"SELECT count(*), count(DISTINCT {key}), min(date), max(date) FROM {table}"
    ).row(0)
    gaps = store.query(
        f"WITH d AS (SELECT {key} AS key, lag(date) OVER (PARTITION BY {key} ORDER BY date) "
        f"AS after, date AS before FROM {table}) "
        "SELECT key, after, before, datediff('day', after, before) AS days FROM d "
        "WHERE datediff('day', after, before) > ? ORDER BY key, after",
        [GAP_DAYS],
    )
    checked: tuple[dt.date, dt.date] | None = None
    missing: tuple[dt.date, ...] = ()
    if table in XSHG_TABLES and first is not None:
        lo, hi = max(first, calendar.FIRST_SESSION), min(last, calendar.calendar_end())
        if lo <= hi:
            checked = (lo, hi)
            held = store.query(
                f"SELECT DISTINCT date FROM {table} WHERE date BETWEEN ? AND ?", [lo, hi]
            )
            have = set(held["date"])
            missing = tuple(d for d in calendar.sessions(lo, hi) if d not in have)
    return TableCoverage(table, rows, keys, first, last, gaps, checked, missing)


def _metals(traded: pl.DataFrame, per_series: pl.DataFrame) -> pl.DataFrame:
    """One row per (metal, series of its chain), with the names it drives and the span."""
    driving = [metals.metal_of(tags) for tags in traded["metals"].to_list()]
    rows = [
        {"metal": m, "names": driving.count(m), "preference": i, "series_id": sid}
        for m in metals.METALS
        for i, sid in enumerate(metals.METAL_SERIES.get(m, ()), start=1)
    ]
    schema = {"metal": pl.String, "names": pl.Int64, "preference": pl.Int64, "series_id": pl.String}
    chains = pl.DataFrame(rows, schema=schema)
    return chains.join(per_series, on="series_id", how="left", maintain_order="left")


def _without_series(traded: pl.DataFrame, present: set[str]) -> pl.DataFrame:
    """Stocks with bars whose metal has no series in the store, and why."""
    out = []
    for ticker, name, tags in traded.select("ticker", "name", "metals").iter_rows():
        metal = metals.metal_of(tags)
        wanted = metals.METAL_SERIES.get(metal, ()) if metal else ()
        if metal is None:
            reason = f"no metal with a series in its tags ({', '.join(tags or []) or 'none'})"
        elif not present.intersection(wanted):
            reason = f"none of {', '.join(wanted)} in the store"
        else:
            continue
        out.append((ticker, name, metal, ", ".join(wanted), reason))
    cols = ("ticker", "name", "metal", "wanted", "reason")
    return pl.DataFrame(out, schema=dict.fromkeys(cols, pl.String), orient="row")


# -- what to import next ------------------------------------------------------------------------
INGEST_BARS = "screener ingest csv|parquet <file>... --kind bars"


def _with_next_steps(cov: Coverage) -> Coverage:
    """``cov`` with ``next_steps``: the most blocking first."""
    steps: list[Step] = []
    bars = cov.table("bars_daily")
    if cov.master_rows == 0:
        why = "no instrument master: every universe is empty and no stock has a metal"
        steps.append(Step(why, "screener store init"))
    if bars.rows == 0:
        steps.append(Step("no stock bars", INGEST_BARS))
    steps += _index_steps(cov, bars)
    for metal, names, chain in _metals_without_series(cov.metals):
        why = f"{names} {metal} name(s) have no metal series: none of {', '.join(chain)} is stored"
        command = f"screener ingest csv|parquet <file> --kind series --ticker {chain[0]}"
        steps.append(Step(why, command))
    if cov.no_amount.height:
        rows = int(cov.no_amount["no_amount"].sum())
        why = (
            f"{rows:,} bar(s) of {cov.no_amount.height} ticker(s) have no amount: liquidity "
            "(avg_amount_20d) uses close x volume there, an estimate"
        )
        steps.append(Step(why, INGEST_BARS.replace("<file>", "<file with amount>")))
    if bars.missing_sessions:
        why = f"the bars miss {len(bars.missing_sessions)} XSHG session(s), e.g. {_few(bars)}"
        steps.append(Step(why, INGEST_BARS))
    if cov.not_in_master.height and cov.master_rows:
        why = f"{cov.not_in_master.height} ticker(s) with bars are not in the instrument master"
        steps.append(Step(why, "add them to data/instruments.csv, then `screener store init`"))
    if cov.without_bars.height and bars.rows:
        few = ", ".join(cov.without_bars["ticker"].head(SHOWN))
        more = ", ..." if cov.without_bars.height > SHOWN else ""
        why = f"{cov.without_bars.height} A-share(s) of the master have no bars ({few}{more})"
        steps.append(Step(why, INGEST_BARS))
    return replace(cov, next_steps=tuple(steps))


def _index_steps(cov: Coverage, bars: TableCoverage) -> list[Step]:
    """The sector and market indices: missing, or ending before the bars do."""
    command = "screener ingest csv|parquet <file> --kind index"
    steps = []
    for code, role in INDEX_ROLES.items():
        found = cov.indices.filter(pl.col("index_code") == code)
        if found.height == 0:
            steps.append(Step(f"no {code}: {role}", command))
        elif bars.last is not None and found["last"][0] < bars.last:
            why = f"{code} ends on {found['last'][0]}, the bars on {bars.last}: {role}"
            steps.append(Step(why, command))
    return steps


def _metals_without_series(frame: pl.DataFrame) -> list[tuple[str, int, tuple[str, ...]]]:
    """(metals, names, chain) per chain that drives stocks with bars and has no series present;
    metals sharing a chain (rare earths and magnets) come together."""
    per_metal = frame.group_by("metal", maintain_order=True).agg(
        pl.col("names").first(), pl.col("series_id"), present=pl.col("rows").is_not_null().any()
    )
    wanted: dict[tuple[str, ...], tuple[list[str], int]] = {}
    for metal, names, chain, present in per_metal.iter_rows():
        if names and not present:
            tags, count = wanted.get(tuple(chain), ([], 0))
            wanted[tuple(chain)] = ([*tags, metal], count + names)
    return [("/".join(tags), n, chain) for chain, (tags, n) in wanted.items()]


def _few(t: TableCoverage) -> str:
    shown = ", ".join(d.isoformat() for d in t.missing_sessions[:SHOWN])
    return shown + (" ..." if len(t.missing_sessions) > SHOWN else "")


@dataclass(frozen=True)
class StoreSummary:
    """What the store holds, for the demo's first screen: A-share tickers by metal and by
    board, each series' span and unit, and ``Store.info``."""

    by_metal: pl.DataFrame
    by_board: pl.DataFrame
    series: pl.DataFrame
    info: dict[str, Any]

    @property
    def synthetic(self) -> bool:
        return bool(self.info["meta"].get("data_source") == "demo")


def store_summary(store: Store) -> StoreSummary:
    """Count the master's A-shares by metal and board, and span every series."""
    a_shares = store.read_instruments().filter(pl.col("board") != "hk")
    by_metal = (
        a_shares.explode("metals")
        .group_by(pl.col("metals").fill_null("(none)").alias("metal"))
        .agg(pl.len().alias("tickers"))
        .sort("tickers", "metal", descending=[True, False])
    )
    by_board = a_shares.group_by("board").agg(pl.len().alias("tickers")).sort("board")
    series = store.query(
        "SELECT series_id, min(date) AS first, max(date) AS last, count(*) AS rows, "
        "any_value(unit) AS unit FROM series_daily GROUP BY 1 ORDER BY 1"
    )
    return StoreSummary(by_metal, by_board, series, store.info())
