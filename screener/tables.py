"""The reads a screen's universe needs, from a store or from a snapshot of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import polars as pl


class Tables(Protocol):
    """The reads a screen's universe needs: the instrument master and small tables (picks).

    ``Store`` has them; a backtest compile passes a wrapper that reads each table once.
    """

    def read_instruments(self) -> pl.DataFrame: ...

    def read_table(self, table: str) -> pl.DataFrame: ...


@dataclass(frozen=True)
class TableSnapshot:
    """``Tables`` as they were when read: a backtest's compile screens from it without a store
    (and a sweep's workers receive it with the rest of the prepared data)."""

    instruments: pl.DataFrame
    tables: dict[str, pl.DataFrame]

    @classmethod
    def of(cls, store: Tables, names: Sequence[str]) -> TableSnapshot:
        return cls(store.read_instruments(), {n: store.read_table(n) for n in names})

    def read_instruments(self) -> pl.DataFrame:
        return self.instruments

    def read_table(self, table: str) -> pl.DataFrame:
        if table not in self.tables:
            raise KeyError(f"table {table!r} was not read into this snapshot")
        return self.tables[table]
