"""Run a thesis end to end: prepare (reads the store) -> compile (pure) -> execute ->
measure -> record.

1. ``prepare`` reads the store once (``prepare.py``).
2. ``compile_thesis`` is cheap and pure given a ``Prepared``: triggers, episodes, selections,
   weights, exits, target weights. Sweeps call it once per configuration.
3. ``execute`` runs the targets through the A-share execution engine on the traded names.
4. ``measure`` gives the metrics, the event study and the calendar-time portfolio.
5. ``record`` writes the run to the store's ``runs`` table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from screener.config import Settings
from screener.store import Store
from screener.thesis.compile import compile_thesis, weights_on
from screener.thesis.execute import execute, positions
from screener.thesis.measure import calendar_time, equity_frame, measure, study
from screener.thesis.prepare import prepare
from screener.thesis.record import BacktestResult, record, run_id_for, run_manifest
from screener.thesis.scrutiny import honest_numbers
from screener.thesis.spec import Thesis


def run_backtest(
    store: Store,
    thesis: Thesis,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    settings: Settings,
    params: Mapping[str, float] | None = None,
    record_run: bool = True,
) -> BacktestResult:
    """The whole thesis run on the store's data (``params`` override numeric fields)."""
    thesis = thesis.with_params(params or {})
    prep = prepare(store, thesis, start=start, end=end, settings=settings)
    compiled = compile_thesis(prep, thesis)
    run, trades = execute(prep, thesis, compiled)
    metrics = measure(prep, thesis, compiled, run, trades)
    metrics["calendar_time"] = calendar_time(prep, compiled, equity_frame(run))
    event = study(prep, thesis, compiled)
    metrics |= honest_numbers(
        prep,
        thesis,
        compiled,
        equity=equity_frame(run),
        metrics=metrics,
        event=None if event is None else event.summary,
        pick=lambda t: weights_on(prep, thesis, t),
    )
    result = BacktestResult(
        run_id=run_id_for(thesis, params or {}),
        thesis=thesis,
        params=dict(params or {}),
        compiled=compiled,
        equity=equity_frame(run),
        orders=run.orders,
        trades=trades,
        positions=positions(run),
        metrics=metrics,
        event_study=event,
        benchmarks=prep.benchmarks,
        manifest=run_manifest(store, thesis, prep),
    )
    if record_run:
        record(store, result)
    return result
