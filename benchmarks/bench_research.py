"""Factor research speed and memory: .venv/bin/python benchmarks/bench_research.py

    .venv/bin/python benchmarks/bench_research.py [--db PATH] [--tickers 5000 --sessions 2500]

1. The demo market (built in a temp dir, or ``--db``), sector universe, horizons 1/5/20/60:
   ``research.data.load`` of every factor (store -> panel -> factor values, labels, the
   universe on every session), then ``ic_summary`` of every factor and ``quantile_analysis``
   of every factor. The analysis is timed on a fresh copy of the loaded data (no sort kept),
   after one untimed pass that loads numba's cached kernels.
2. One factor (``ret_20d``) over a synthetic market of ``--tickers`` x ``--sessions``:
   ``from_panel`` (factor values, labels, dense arrays), ``ic_summary`` and
   ``quantile_analysis`` at horizons 1/5/20/60, with the process's peak resident memory
   (sampled every 5 ms, as bench_factors.py).
3. ``strategies/monthly_top10_momentum.toml`` on the demo market: ``run_backtest`` warm (the
   second run in one process).

Each figure prints with the 1-minute load average: the box's 2 cores are shared, so treat
single figures as upper bounds. Recorded figures are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from bench_factors import peak_rss, synthetic_panel, timed

REPO = Path(__file__).resolve().parents[1]
HORIZONS = (1, 5, 20, 60)


def build_store(path: Path) -> None:
    """The demo market, as ``screener ingest demo`` makes it."""
    from screener.ingest import demo
    from screener.store import Store

    with Store(path) as store:
        demo.load(store)


def load_line(label: str, wall: float, cpu: float, extra: str = "") -> None:
    print(f"{label:<44}{wall:>8.2f} s wall {cpu:>7.2f} s cpu  load {os.getloadavg()[0]:.1f}{extra}")


def bench_demo(db: Path) -> None:
    from screener.config import Settings
    from screener.research.data import factor_set, load
    from screener.research.ic import ic_summary
    from screener.research.quantiles import quantile_analysis
    from screener.store import Store

    with Store(db, read_only=True) as store:
        wall, cpu, research = timed(
            lambda: load(store, factor_set(None), horizons=HORIZONS, settings=Settings())
        )
    load_line(f"demo load: {research.shape[0]:,} x {research.shape[1]} names", wall, cpu)

    def analyse(fp):  # type: ignore[no-untyped-def]
        ic_summary(fp)
        for name in fp.factors:
            quantile_analysis(fp, name)

    analyse(research)  # loads the cached numba kernels
    fresh = dataclasses.replace(research, cache={})
    wall, cpu, _ = timed(lambda: analyse(fresh))
    load_line(f"demo IC + quantiles, {len(research.factors)} factors x 4", wall, cpu)


def market(n_tickers: int, n_sessions: int) -> pl.DataFrame:
    """bench_factors' synthetic market, slimmed to what research on ret_20d reads."""
    rng = np.random.default_rng(1)
    panel = synthetic_panel(n_tickers, n_sessions).select("ticker", "date", "adj_close", "metal")
    n = panel.height
    return panel.with_columns(
        adj_open=pl.col("adj_close") * np.exp(rng.normal(0.0, 0.005, n)),
        can_buy_open=pl.Series(rng.random(n) > 0.02),
        can_buy_close=pl.Series(rng.random(n) > 0.02),
    )


def bench_one_factor(n_tickers: int, n_sessions: int) -> None:
    from screener.research.data import factor_set, from_panel
    from screener.research.ic import ic_summary
    from screener.research.quantiles import quantile_analysis

    factors = factor_set(["ret_20d"])
    warm = from_panel(market(50, 300), factors, horizons=HORIZONS)
    ic_summary(warm)
    quantile_analysis(warm, "ret_20d")  # loads the cached numba kernels
    panel = market(n_tickers, n_sessions)

    def run() -> None:
        fp = from_panel(panel, factors, horizons=HORIZONS)
        ic_summary(fp)
        quantile_analysis(fp, "ret_20d")

    with peak_rss() as rss:
        wall, cpu, _ = timed(run)
    extra = f"  peak RSS {rss['peak']:.2f} GB (panel and interpreter before: {rss['start']:.2f})"
    load_line(f"ret_20d over {n_tickers:,} x {n_sessions:,}", wall, cpu, extra)


def bench_monthly(db: Path) -> None:
    from screener.config import Settings
    from screener.store import Store
    from screener.thesis import load_thesis
    from screener.thesis.run import run_backtest

    thesis = load_thesis(REPO / "strategies" / "monthly_top10_momentum.toml")
    with Store(db, read_only=True) as store:
        run_backtest(store, thesis, settings=Settings(), record_run=False)
        wall, cpu, result = timed(
            lambda: run_backtest(store, thesis, settings=Settings(), record_run=False)
        )
    m = result.metrics
    extra = f"  {m['trades']} trades, {m['episodes']} rebalances"
    load_line("monthly top-10 momentum, warm", wall, cpu, extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an existing demo store (default: build one)")
    parser.add_argument("--tickers", type=int, default=5_000)
    parser.add_argument("--sessions", type=int, default=2_500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "demo.duckdb"
        if args.db is None:
            build_store(db)
        bench_demo(db)
        bench_monthly(db)
    bench_one_factor(args.tickers, args.sessions)


if __name__ == "__main__":
    main()
