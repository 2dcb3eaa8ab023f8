"""A backtest's honest numbers: bootstrap intervals, the placebo and the verdict line.

``run.run_backtest`` adds them to a run's metrics once its event study is done. Sweeps leave
them out: a placebo per configuration would cost a pool of screens each, and the sweep has its
own line (overfitting.py, verdict.sweep_verdict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from screener.thesis import bootstrap, placebo
from screener.thesis.verdict import backtest_verdict, portfolio_verdict

if TYPE_CHECKING:
    from screener.thesis.compile import Compiled
    from screener.thesis.prepare import Prepared
    from screener.thesis.spec import Thesis


def honest_numbers(
    prep: Prepared,
    thesis: Thesis,
    compiled: Compiled,
    *,
    equity: pl.DataFrame,
    metrics: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    pick: Callable[[int], placebo.Weights],
    seed: int = 0,
) -> dict[str, Any]:
    """``bootstrap``, ``placebo`` and ``verdict`` for a run's metrics (JSON-safe).

    ``pick``: the thesis's weights on a session index (its screen and weighing, no retry). The
    bootstrap's mean block is the thesis's hold: returns that share positions stay together.
    ``seed`` seeds the resampling, the placebo's pool and its draws.
    """
    values = equity.sort("date").get_column("value").to_numpy()
    if thesis.rebalance is not None:  # a calendar, not events: no placebo of trigger dates
        return _portfolio_numbers(prep, thesis, compiled, values, metrics, seed)
    hold = thesis.exit.hold_sessions
    intervals = bootstrap.metric_intervals(values, mean_block=float(hold), seed=seed)
    column = {t: j for j, t in enumerate(prep.tickers)}
    entry = prep.arrays["adj_open" if thesis.entry.at == "open" else "adj_close"]

    def measure(weights: placebo.Weights, signal: int) -> float | None:
        return placebo.holding_return(
            weights, signal, entry=entry, close=prep.arrays["adj_close"], column=column, hold=hold
        )

    ranked = placebo.placebo(
        sessions=prep.sessions,
        fired=compiled.triggers.get_column("fired").to_numpy(),
        episodes=_traded(prep, compiled),
        pick=pick,
        measure=measure,
        hold=hold,
        seed=seed,
    )
    line = backtest_verdict(
        thesis=thesis.name,
        span=(prep.sessions[0], prep.sessions[-1]),
        episodes=compiled.episodes.height,
        event=event,
        placebo=ranked,
        bootstrap=intervals,
        sharpe=metrics.get("sharpe"),
    )
    return {"bootstrap": intervals, "placebo": ranked, "verdict": line}


def _portfolio_numbers(
    prep: Prepared,
    thesis: Thesis,
    compiled: Compiled,
    values: Any,
    metrics: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """A rebalanced portfolio: intervals with blocks as long as a holding period (the sessions
    between rebalances), and its event-free verdict."""
    block = max(1.0, len(prep.sessions) / max(1, compiled.episodes.height))
    intervals = bootstrap.metric_intervals(values, mean_block=block, seed=seed)
    s = thesis.select
    line = portfolio_verdict(
        thesis=thesis.name,
        held=f"top {s.top_n} of the {s.universe} universe by {s.score}",
        schedule=thesis.rebalance.describe() if thesis.rebalance else "",
        metrics=metrics,
        bootstrap=intervals,
    )
    return {"bootstrap": intervals, "verdict": line}


def _traded(prep: Prepared, compiled: Compiled) -> dict[int, dict[str, float]]:
    """Signal session index -> the weights chosen on it, for every episode that picked names."""
    index = {d: i for i, d in enumerate(prep.sessions)}
    out: dict[int, dict[str, float]] = {}
    for (day,), rows in compiled.selections.group_by("selection_date"):
        out[index[day]] = dict(zip(rows["ticker"], rows["weight"], strict=True))
    return out
