"""Theses: spec (TOML vocabulary) -> prepare (the only store reader of a backtest) -> compile
(pure) -> execute (A-share execution on vectorbt) -> measure -> record; sweep and cluster run
many configurations of one thesis. ``screener.thesis`` itself exports the spec's values."""

from screener.thesis.spec import (
    Condition,
    Entry,
    Exit,
    Rebalance,
    Thesis,
    Trigger,
    Weigh,
    list_theses,
    load_thesis,
)

__all__ = [
    "Condition",
    "Entry",
    "Exit",
    "Rebalance",
    "Thesis",
    "Trigger",
    "Weigh",
    "list_theses",
    "load_thesis",
]
