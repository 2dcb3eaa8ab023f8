"""Coverage of a screen on one session: who was looked at, who fell out and why, in words.

``screen.rank_facts`` counts it from the very frame it filters, so a screen and each thesis
episode report the same numbers. The words for each exclusion reason and the command that
mends it live here, once: terminal, pages, e-mail and backtest reports use these sentences.
A name excluded for two reasons counts under both in ``reasons``; ``universe = passed +
excluded`` always holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from screener.screen import Screen

IMPORT_SERIES = "no metal series, import one with `screener ingest parquet FILE --kind series`"
# What mends a reason, where something does (suspensions and limits are the market's doing).
FIXES = {
    "no bar": "import the day's bars: `screener ingest parquet FILE` or `screener update`",
    "illiquid": "lower min_avg_amount in the screen file or the thesis's [select]",
    "ST": "exclude_st = false keeps ST names",
    "metal move unknown": IMPORT_SERIES,
}
PICKS_FIX = "import a note: `screener picks import NOTE.txt`"


@dataclass(frozen=True)
class Coverage:
    """Counts of one screen pass (see the module docstring)."""

    universe: int = 0  # names in the universe on the session
    scored: int = 0  # of them, names with a score
    passed: int = 0  # names that passed every filter; the first top_n are ranked
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, names), most first
    amount_estimated: int = 0  # names whose 20-session amount rests on close x volume
    no_metal_series: int = 0  # names without a score whose metal had no series that day

    @property
    def excluded(self) -> int:
        return self.universe - self.passed

    @classmethod
    def of(cls, facts: pl.DataFrame, *, estimated: str) -> Coverage:
        """From ``rank_facts``' frame: one row per universe name with ``_reasons`` (a list),
        ``score``, ``metal_series``, ``has_bar`` and the ``estimated`` session count."""
        counts = facts.get_column("_reasons").explode().drop_nulls().value_counts()
        ordered = counts.sort(["count", "_reasons"], descending=[True, False]).rows()
        no_score = pl.col("score").is_null() & pl.col("has_bar").fill_null(False)
        sums = facts.select(
            scored=pl.col("score").is_not_null().sum(),
            passed=(pl.col("_reasons").list.len() == 0).sum(),
            amount_estimated=(pl.col(estimated) > 0).sum(),
            no_metal_series=(no_score & pl.col("metal_series").is_null()).sum(),
        ).row(0, named=True)
        return cls(
            universe=facts.height,
            reasons=tuple((str(r), int(n)) for r, n in ordered),
            **{k: int(v) for k, v in sums.items()},
        )

    def fix(self, reason: str, screen: Screen) -> str | None:
        """The command or setting that mends ``reason``, if any."""
        if reason == "no score":
            if self.no_metal_series * 2 >= dict(self.reasons).get(reason, 0):
                return IMPORT_SERIES
            return "too little history? `screener store check` shows each name's span"
        return FIXES.get(reason)

    def headline(self, screen: Screen) -> str:
        """'136 in the universe, 120 scored, 74 passed, 62 excluded; most: <reason>: 41'."""
        text = (
            f"{self.universe} in the universe, {self.scored} scored, {self.passed} passed, "
            f"{self.excluded} excluded"
        )
        if not self.reasons:
            return text
        reason, count = self.reasons[0]
        return f"{text}; most: {reason_words(reason, screen)}: {count}"

    def counts(self) -> str:
        """'41 illiquid, 20 no score' (every reason, most first)."""
        return ", ".join(f"{n} {reason}" for reason, n in self.reasons)

    def estimate_line(self) -> str | None:
        """The sentence that says liquidity came from close x volume, or None if it did not."""
        if not self.amount_estimated:
            return None
        return (
            f"amount = close x volume (no amount in the data) for {self.amount_estimated} of "
            f"{self.universe} names; liquidity figures rest on it"
        )

    def why_empty(self, screen: Screen, on: dt.date) -> str:
        """One line on why nothing was selected, with what mends each reason."""
        if self.universe == 0:
            if screen.universe == "picks":
                window = screen.picks_window_days
                return (
                    f"the universe is empty: no broker picks known in the {window} days to "
                    f"{on} ({PICKS_FIX})"
                )
            return "the universe is empty: no listed name matches (`screener store check`)"
        parts = []
        for reason, count in self.reasons:
            mend = self.fix(reason, screen)
            parts.append(f"{count} {reason_words(reason, screen)}" + (f": {mend}" if mend else ""))
        return "no name passed the filters: " + "; ".join(parts)

    def to_json(self, screen: Screen) -> dict[str, Any]:
        """JSON-ready counts with the headline; ``reasons`` keeps the most-first order."""
        return {
            "universe": self.universe,
            "scored": self.scored,
            "passed": self.passed,
            "excluded": self.excluded,
            "reasons": dict(self.reasons),
            "amount_estimated": self.amount_estimated,
            "summary": self.headline(screen),
        }

    def episode_row(self, screen: Screen, on: dt.date, *, selected: int) -> dict[str, Any]:
        """The columns a thesis episode records for its selection date (thesis/compile.py)."""
        return {
            "universe": self.universe,
            "scored": self.scored,
            "excluded": self.excluded,
            "selected": selected,
            "amount_estimated": self.amount_estimated,
            "reasons": self.counts() or None,
            "note": None if selected else self.why_empty(screen, on),
        }


def reason_words(reason: str, screen: Screen) -> str:
    """A reason as a reader needs it: 'illiquid (20-session amount below 20m CNY)'."""
    if reason == "illiquid":
        return f"illiquid (20-session amount below {screen.min_avg_amount / 1e6:g}m CNY)"
    if reason == "no score":
        return f"no score ({screen.score})"
    return reason


EPISODE_SCHEMA: Mapping[str, pl.DataType] = {
    "universe": pl.Int64(),
    "scored": pl.Int64(),
    "excluded": pl.Int64(),
    "selected": pl.Int64(),
    "amount_estimated": pl.Int64(),
    "reasons": pl.String(),
    "note": pl.String(),
}


def episode_lines(episodes: pl.DataFrame) -> list[str]:
    """Sentences under a backtest's episode table: each empty selection and why, and whether
    liquidity was estimated. Works on recorded runs too (older ones lack the columns)."""
    out = []
    if "note" in episodes.columns:
        rows = episodes.drop_nulls("note").select("trigger_date", "selection_date", "note")
        for trigger, screened, note in rows.iter_rows():
            late = f" (screened {screened})" if screened != trigger else ""
            out.append(f"episode {trigger}{late}: {note}")
    hit = estimated_episodes(episodes)
    if hit:
        out.append(
            f"amount = close x volume (no amount in the data) on {hit} of {episodes.height} "
            "selection dates; liquidity figures rest on it"
        )
    return out


def estimated_episodes(episodes: pl.DataFrame) -> int:
    """Episodes whose selection date had names with an estimated amount (0 for old runs)."""
    if "amount_estimated" not in episodes.columns:
        return 0
    return episodes.filter(pl.col("amount_estimated") > 0).height
