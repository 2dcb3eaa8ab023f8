"""Write incoming market rows into the store without losing anything, and record the import.

Every writer of bars, index and series rows (vendor files, akshare, the demo market, updates)
comes through ``write_rows``: read the stored window the rows touch, merge column by column
(``merge.py``), recompute derived bar columns over the merged history (``derive.py``), write
only the rows that changed, and add one row to ``imports`` (lineage: each written row keeps the
id of the import that last supplied one of its values). All of it inside the caller's
transaction when there is one, so a failure anywhere leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from screener.errors import InputError
from screener.ingest.derive import derive_bars
from screener.ingest.merge import Merged, Prefer, changed_rows, merge, with_lineage
from screener.ingest.validate import report_path
from screener.schema import BARS_DAILY, IMPORTS, Table
from screener.store import Store, UpsertResult

SHOWN_CONFLICTS = 3  # in the error line; the CSV lists them all


@dataclass(frozen=True)
class Source:
    """Where incoming rows came from, for the ``imports`` table."""

    origin: str  # file, akshare, demo
    name: str  # the file path, or the fetch
    kind: str  # bars, index, series
    fmt: str = ""
    content_hash: str | None = None
    quarantined: int = 0


@dataclass(frozen=True)
class ImportResult:
    """What one import did to its table, by natural key (a row of ``imports``); summed over
    several imports (``sum_results``) the ``import_id`` is None."""

    import_id: int | None
    table: str
    read: int
    new: int
    updated: int
    unchanged: int
    conflicting: int
    quarantined: int
    rederived: int

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.rederived)

    def as_upsert(self) -> UpsertResult:
        return UpsertResult(self.table, self.new, self.updated + self.rederived, self.unchanged)

    def describe(self) -> str:
        parts = [f"{self.new} new", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.conflicting:
            parts.append(f"{self.conflicting} conflicting")
        if self.quarantined:
            parts.append(f"{self.quarantined} quarantined")
        if self.rederived:
            parts.append(f"{self.rederived} re-derived (prev_close/adj_factor)")
        return ", ".join(parts)


def sum_results(table: str, results: Sequence[ImportResult]) -> ImportResult:
    """The counts of several imports into one table added up."""
    counts = [sum(getattr(r, f) for r in results) for f in COUNTS]
    return ImportResult(None, table, *counts)


COUNTS = ("read", "new", "updated", "unchanged", "conflicting", "quarantined", "rederived")


class ConflictError(InputError):
    """Imported values differ from stored values another import supplied; nothing written."""

    def __init__(self, source: Source, merged: Merged, written_to: Path) -> None:
        conflicts, key = merged.conflicts, merged.key
        shown = "; ".join(
            f"{' '.join(str(r[k]) for k in key)} {r['column']}: stored {r['stored']} "
            f"(import {r['stored_import_id']}) vs new {r['new']}"
            for r in conflicts.head(SHOWN_CONFLICTS).iter_rows(named=True)
        )
        super().__init__(
            f"{conflicts.height} value(s) in {merged.conflicting_rows} row(s) differ from stored "
            f"values another import supplied ({shown}); all listed in {written_to}",
            path=source.name,
            hint="nothing was written; choose with --prefer new (take the file's values) or "
            "--prefer stored (keep the store's)",
        )
        self.conflicts = conflicts


def write_rows(
    store: Store,
    table: Table,
    rows: pl.DataFrame,
    source: Source,
    *,
    prefer: Prefer = "refuse",
) -> ImportResult:
    """Merge ``rows`` (table columns, plus ``given`` when the caller knows which cells were
    supplied; keys unique) into ``store`` and record the import. Raises ConflictError under
    ``prefer="refuse"`` when a supplied value differs from a stored one."""
    started = dt.datetime.now()
    incoming = with_lineage(rows, table)
    with store.transaction():
        import_id = store.next_import_id()
        firsts = _firsts(incoming, table)
        stored = store.read_window(table.name, firsts)
        merged = merge(stored, incoming, table, prefer=prefer, import_id=import_id)
        if merged.conflicts.height and prefer == "refuse":
            path = report_path("conflicts", source.name)
            merged.conflicts.write_csv(path)
            raise ConflictError(source, merged, path)
        after = _derived(merged.frame, stored, firsts, table, source.name)
        changed = changed_rows(stored, after, table)
        store.replace_rows(table.name, changed)
        result = _result(import_id, table, incoming.height, merged, changed, source)
        _record(store, result, source, prefer, started)
    return result


def _firsts(incoming: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Each incoming code's first date: the stored window starts at its last bar before it."""
    code = table.key[0]
    return incoming.group_by(code).agg(pl.col("date").min().alias("first"))


def _derived(
    merged: pl.DataFrame, stored: pl.DataFrame, firsts: pl.DataFrame, table: Table, name: str
) -> pl.DataFrame:
    """Bars: derived columns recomputed from each ticker's anchor (its stored bar before the
    import's first date, kept as it is) onward. Other tables derive nothing."""
    if table is not BARS_DAILY:
        return merged
    anchors = (
        stored.group_by("ticker")
        .agg(pl.col("date").min().alias("_anchor_date"))
        .join(firsts, on="ticker")
        .filter(pl.col("_anchor_date") < pl.col("first"))
        .select("ticker", "_anchor_date")
    )
    marked = merged.join(anchors, on="ticker", how="left").with_columns(
        (pl.col("date") == pl.col("_anchor_date")).fill_null(False).alias("_anchor")
    )
    return derive_bars(marked, source=name).select(list(table.stored_columns))


def _result(
    import_id: int,
    table: Table,
    read: int,
    merged: Merged,
    changed: pl.DataFrame,
    source: Source,
) -> ImportResult:
    key = list(table.key)
    rederived = 0
    if merged.count("new") < merged.frame.height:  # stored rows whose derived values moved
        status = merged.frame.select(key).with_columns(merged.status.alias("status"))
        moved = changed.select(key).join(status, on=key, how="left").get_column("status")
        rederived = int(moved.is_in(["unchanged", "stored_only"]).sum())
    return ImportResult(
        import_id=import_id,
        table=table.name,
        read=read,
        new=merged.count("new"),
        updated=merged.count("updated"),
        unchanged=merged.count("unchanged"),
        conflicting=merged.conflicting_rows,
        quarantined=source.quarantined,
        rederived=rederived,
    )


def _record(
    store: Store, result: ImportResult, source: Source, prefer: Prefer, started: dt.datetime
) -> None:
    row = {
        "import_id": result.import_id,
        "started_at": started,
        "finished_at": dt.datetime.now(),
        "origin": source.origin,
        "source": source.name,
        "content_hash": source.content_hash,
        "kind": source.kind,
        "format": source.fmt,
        "policy": prefer,
        "rows_read": result.read + result.quarantined,
        "rows_new": result.new,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "rows_conflicting": result.conflicting,
        "rows_quarantined": result.quarantined,
        "rows_rederived": result.rederived,
        "note": None,
    }
    store.upsert(IMPORTS.name, pl.DataFrame([row], schema=IMPORTS.columns), source="imports")
