"""What the honest numbers add to a thesis backtest: .venv/bin/python benchmarks/bench_statistics.py

Builds the demo store as bench_backtest.py does (or reuses ``--db PATH``), then per shipped
thesis, warm (a first run_backtest in the process fills the caches numba and polars keep):

- ``bootstrap``: bootstrap.metric_intervals (2,000 stationary-bootstrap paths);
- ``placebo``: placebo.placebo (1,000 draws; the pool's screens are most of it), screens counted;
- ``added``: scrutiny.honest_numbers, the whole addition to run_backtest (both plus the verdict);
- ``run``: a whole warm run_backtest, for scale;

each the median wall and CPU seconds of ``--repeat`` runs, and the placebo percentile under five
pool seeds (how much the choice of the pool's sessions moves it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_backtest import REPO, THESES, build_store

from screener.config import Settings
from screener.store import Store
from screener.thesis import load_thesis, scrutiny
from screener.thesis.bootstrap import metric_intervals
from screener.thesis.compile import compile_thesis, weights_on
from screener.thesis.execute import execute
from screener.thesis.measure import equity_frame, measure, study
from screener.thesis.prepare import prepare
from screener.thesis.run import run_backtest


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (every thread of the process) of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def bench(store: Store, name: str, repeat: int) -> dict[str, Any]:
    thesis = load_thesis(REPO / "strategies" / name)
    settings = Settings()
    run_backtest(store, thesis, settings=settings, record_run=False)  # warm
    run_s = _median(
        lambda: run_backtest(store, thesis, settings=settings, record_run=False), repeat
    )
    prep = prepare(store, thesis, start=None, end=None, settings=settings)
    compiled = compile_thesis(prep, thesis)
    execution, trades = execute(prep, thesis, compiled)
    metrics = measure(prep, thesis, compiled, execution, trades)
    event = study(prep, thesis, compiled)
    equity = equity_frame(execution)
    screens = [0]

    def pick(t: int) -> dict[str, float]:
        screens[0] += 1
        # a fresh session each time: the screen caches per session, a repeat must pay again
        prep.cache.screens.pop((prep.sessions[t], thesis.select), None)
        return weights_on(prep, thesis, t)

    def honest(seed: int = 0) -> dict[str, Any]:
        return scrutiny.honest_numbers(
            prep,
            thesis,
            compiled,
            equity=equity,
            metrics=metrics,
            event=None if event is None else event.summary,
            pick=pick,
            seed=seed,
        )

    values = equity.get_column("value").to_numpy()
    boot_s = _median(lambda: metric_intervals(values, mean_block=thesis.exit.hold_sessions), repeat)
    added_s = _median(honest, repeat)
    screens_per_run = screens[0] // repeat
    percentiles = [honest(seed)["placebo"]["percentile"] for seed in range(5)]
    return {
        "thesis": name,
        "run": run_s,
        "added": added_s,
        "bootstrap": boot_s,
        "placebo": (added_s[0] - boot_s[0], added_s[1] - boot_s[1]),
        "screens": screens_per_run,
        "episodes": compiled.episodes.height,
        "percentiles": percentiles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an existing demo store (default: build one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "demo.duckdb"
        if args.db is None:
            build_store(path)
        print(f"load {os.getloadavg()[0]:.1f}; seconds, median of {args.repeat}")
        print("wall / CPU seconds")
        print(
            f"{'thesis':30} {'run':>11} {'added':>11} {'boot':>11} {'placebo':>11} "
            f"{'screens':>7} {'episodes':>8}  placebo percentile, pool seeds 0-4"
        )
        with Store(path, read_only=True) as store:
            for name in THESES:
                r = bench(store, name, args.repeat)
                ranks = ", ".join(f"{p:.0f}" if p is not None else "-" for p in r["percentiles"])
                parts = ("run", "added", "bootstrap", "placebo")
                cells = " ".join(f"{r[k][0]:5.2f}/{r[k][1]:5.2f}" for k in parts)
                print(f"{r['thesis']:30} {cells} {r['screens']:7d} {r['episodes']:8d}  {ranks}")
        print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
