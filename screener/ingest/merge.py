"""Column-wise merge of incoming market rows into stored ones: nothing stored is ever lost.

A cell is *given* when an import supplied it (its bit is set in the row's ``given`` mask,
schema.LINEAGE) and *derived* when the store computed it (bars: prev_close where no import gave
one, adj_factor, suspended; see ``derive.py``). For each (row, column) the merge applies:

1. the incoming row has no value there (column absent from the file, or cell empty): the stored
   value stays;
2. only the incoming row gives a value: it is taken (it fills a null or replaces a derived value);
3. both give values that agree within ``REL_TOL``: nothing changes;
4. both give different values: a *conflict*. ``prefer="refuse"`` (the default) lets the caller
   stop the import and report every conflict; ``"new"`` takes the incoming value; ``"stored"``
   keeps the stored one. Either way the conflict is listed.

Derived columns are not merged here: the caller recomputes them over the merged history.

Example
-------
>>> import polars as pl
>>> from screener.schema import INDEX_DAILY
>>> d = pl.date(2024, 1, 2)
>>> old = pl.DataFrame({"index_code": ["X"], "close": [10.0], "amount": [5.0]})
>>> new = pl.DataFrame({"index_code": ["X"], "close": [10.0]})  # no amount column
>>> stored = with_lineage(old.with_columns(date=d), INDEX_DAILY, import_id=1)
>>> m = merge(stored, with_lineage(new.with_columns(date=d), INDEX_DAILY), INDEX_DAILY,
...           prefer="refuse", import_id=2)
>>> m.frame.select("close", "amount", "import_id").row(0), m.status.to_list()
((10.0, 5.0, 1), ['unchanged'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from screener.schema import Table

Prefer = Literal["refuse", "new", "stored"]
PREFER: tuple[Prefer, ...] = ("refuse", "new", "stored")

# Two supplied numbers closer than this (relative) are the same value: vendors' float32
# artefacts (273.8999938964844 for 273.9, a volume of 1522257664) differ by ~1e-8; a real price
# difference of one fen on a 1,000-yuan price is 1e-5.
REL_TOL = 1e-6

STATUS = ("new", "updated", "unchanged", "stored_only")
CONFLICT_SCHEMA = {
    "column": pl.String,
    "stored": pl.String,
    "new": pl.String,
    "stored_import_id": pl.Int64,
}


def with_lineage(
    frame: pl.DataFrame, table: Table, *, import_id: int | None = None, given: bool = True
) -> pl.DataFrame:
    """``frame`` conformed to ``table.stored_columns``; ``given`` from its non-null cells
    (unless the frame already has one) and ``import_id`` set to ``import_id``."""
    out = frame
    if "given" not in out.columns:
        mask = table.given_expr(out.columns) if given else pl.lit(0, pl.Int32)
        out = out.with_columns(mask.alias("given"))
    out = out.with_columns(pl.lit(import_id, pl.Int64).alias("import_id"))
    return out.select(
        pl.col(c).cast(t) if c in out.columns else pl.lit(None, t).alias(c)
        for c, t in table.stored_columns.items()
    )


def _same(a: pl.Expr, b: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Equal, or for numbers within REL_TOL (volumes that went through float32 included)."""
    if dtype.is_numeric():
        a, b = a.cast(pl.Float64), b.cast(pl.Float64)
        scale = pl.max_horizontal(a.abs(), b.abs())
        return (a == b) | ((a - b).abs() <= REL_TOL * scale)
    return a.eq_missing(b)


@dataclass(frozen=True)
class Merged:
    """Every stored and incoming row, merged (``table.stored_columns``, key order).

    ``status`` per row: new, updated (an imported value filled or replaced a stored one),
    unchanged, or stored_only (not in the import). ``conflicts``: one row per differing
    value, the key columns first. Derived columns still hold stored (or incoming) values.
    """

    frame: pl.DataFrame
    status: pl.Series
    conflicts: pl.DataFrame
    key: tuple[str, ...]

    def count(self, status: str) -> int:
        return int((self.status == status).sum())

    @property
    def conflicting_rows(self) -> int:
        if self.conflicts.is_empty():
            return 0
        return self.conflicts.select(self.key).n_unique()


def merge(
    stored: pl.DataFrame,
    incoming: pl.DataFrame,
    table: Table,
    *,
    prefer: Prefer,
    import_id: int,
) -> Merged:
    """Merge ``incoming`` into ``stored`` column by column (see the module docstring).

    Both frames have ``table.stored_columns``; each key at most once in each. ``import_id``
    marks the rows this import sets (new or updated).
    """
    key = list(table.key)
    if stored.is_empty():  # a first import: every row is new, nothing to compare
        frame = incoming.with_columns(pl.lit(import_id, pl.Int64).alias("import_id"))
        fresh = pl.Series("_status", ["new"] * frame.height, dtype=pl.String)
        return Merged(
            frame.select(list(table.stored_columns)), fresh, _no_conflicts(table), table.key
        )
    both = stored.with_columns(pl.lit(True).alias("_s")).join(
        incoming.with_columns(pl.lit(True).alias("_n")),
        on=key,
        how="full",
        coalesce=True,
        suffix="_in",
    )
    s_given = pl.col("given").fill_null(0)
    n_given = pl.col("given_in").fill_null(0)
    values, taken, differs = [], [], []
    for c in table.given_columns:
        b = table.bit(c)
        s_has, n_has = (s_given & b) != 0, (n_given & b) != 0
        differ = s_has & n_has & ~_same(pl.col(c), pl.col(f"{c}_in"), table.columns[c])
        take = n_has & (~s_has | (differ & (prefer == "new")))
        values.append(pl.when(take).then(pl.col(f"{c}_in")).otherwise(pl.col(c)).alias(c))
        taken.append(take)
        differs.append(differ.alias(f"_differs_{c}"))
    both = both.with_columns(differs)
    found = _conflicts(both, table)
    arrived = pl.col("_n").fill_null(False)
    new_row = arrived & ~pl.col("_s").fill_null(False)
    updated = pl.any_horizontal(taken) if taken else pl.lit(False)
    status = (
        pl.when(new_row)
        .then(pl.lit("new"))
        .when(arrived & updated)
        .then(pl.lit("updated"))
        .when(arrived)
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("stored_only"))
    )
    derived = [pl.coalesce(c, f"{c}_in").alias(c) for c in table.derived]
    merged = both.with_columns(
        *values,
        *derived,
        (s_given | n_given).alias("given"),
        pl.when(new_row | (arrived & updated))
        .then(pl.lit(import_id, pl.Int64))
        .otherwise(pl.col("import_id"))
        .alias("import_id"),
        status.alias("_status"),
    )
    return Merged(
        merged.select(list(table.stored_columns)), merged.get_column("_status"), found, table.key
    )


def _conflicts(both: pl.DataFrame, table: Table) -> pl.DataFrame:
    """One row per differing value (key, column, stored, new, stored_import_id), key order."""
    flags = [f"_differs_{c}" for c in table.given_columns]
    rows = both.filter(pl.any_horizontal(flags))
    if rows.is_empty():
        return _no_conflicts(table)
    key = list(table.key)
    parts = [
        rows.filter(f"_differs_{c}").select(
            *key,
            pl.lit(c).alias("column"),
            pl.col(c).cast(pl.String).alias("stored"),
            pl.col(f"{c}_in").cast(pl.String).alias("new"),
            pl.col("import_id").alias("stored_import_id"),
        )
        for c in table.given_columns
    ]
    return pl.concat(parts).sort([*key, "column"])


def _no_conflicts(table: Table) -> pl.DataFrame:
    return pl.DataFrame(schema={**{k: table.columns[k] for k in table.key}, **CONFLICT_SCHEMA})


def changed_rows(before: pl.DataFrame, after: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Rows of ``after`` that are new or differ from ``before`` in any stored column."""
    if before.is_empty():
        return after
    key = list(table.key)
    cols = [c for c in table.stored_columns if c not in key]
    joined = after.join(before, on=key, how="left", suffix="_was")
    same = [pl.col(c).eq_missing(pl.col(f"{c}_was")) for c in cols]
    return joined.filter(~pl.all_horizontal(same)).select(after.columns)
