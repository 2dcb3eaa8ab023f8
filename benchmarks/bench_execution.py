"""A-share execution speed vs plain vectorbt. Run: .venv/bin/python benchmarks/bench_execution.py

200 tickers x 2,900 sessions (about 12 years), random limit hits and suspensions, sparse random
target weights (entries at 5%, exits at 0). For each engine:

- fresh: a new process with an empty numba cache (first run after install: compiles everything);
- cold:  a new process with the cache filled (a new CLI run: import + cache load + run);
- warm:  the best of 3 more runs in that process (sweeps).

Engines: ``simulate`` (A-share rules, from_order_func engine), ``simulate_plain`` (from_orders,
no rules), and vectorbt ``from_signals`` on the same entries/exits (the brief's yardstick).
Every figure excludes building the random market; ``import`` is vectorbt's import.

Recorded (2 shared cores, load ~3; vectorbt 1.2.0, numba 0.68), seconds:

    engine            fresh    cold  import    warm   fills     MB
    simulate          20.90    0.33    2.12   0.021    5365    446
    simulate_plain    20.31    0.66    2.06   0.164    2319    525
    from_signals      12.01    6.35    3.15   0.037    2864    490
    simulate / from_signals: cold 0.05x, warm 0.58x

``from_signals`` compiles its loop in every new process (vectorbt does not cache it); our build
of vectorbt's order-function loop is cached (see screener/backtest.py). ``simulate_plain`` is
slower warm than ``simulate`` because it asks vectorbt for value and cash series afterwards,
which ``simulate`` records during the run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from screener.rules import CostModel, board_lots
from screener.thesis import execute as bt
from screener.thesis.execute import MarketArrays

N_SESSIONS, N_TICKERS = 2_900, 200
ENGINES = ("simulate", "simulate_plain", "from_signals")


def random_inputs(seed: int = 7) -> tuple[MarketArrays, np.ndarray]:
    """A random market and sparse target weights."""
    rng = np.random.default_rng(seed)
    n, m = N_SESSIONS, N_TICKERS
    steps = np.clip(rng.standard_t(4, (n, m)) * 0.02, -0.1, 0.1)
    close = np.round(10 * np.exp(np.cumsum(steps, axis=0)), 2)
    prev = np.vstack([close[:1], close[:-1]])
    up, down = np.round(prev * 1.1, 2), np.round(prev * 0.9, 2)
    open_ = np.clip(np.round(prev * (1 + rng.normal(0, 0.01, (n, m))), 2), down, up)
    hit = rng.random((n, m))
    open_ = np.where(hit < 0.02, up, np.where(hit > 0.98, down, open_))
    suspended = rng.random((n, m)) < 0.01
    boards = rng.choice(["main", "star", "bse"], m, p=[0.8, 0.15, 0.05])
    lot_min, lot_step = board_lots(list(boards))
    dates = np.busday_offset(np.datetime64("2014-01-02"), np.arange(n), roll="forward")
    market = MarketArrays(
        dates, tuple(f"T{j:03d}" for j in range(m)), open_, close, up, down, suspended,
        lot_min, lot_step,
    )  # fmt: skip
    draw = rng.random((n, m))
    signals = np.where(draw < 0.01, 0.05, np.where(draw > 0.99, 0.0, np.nan))
    return market, signals


def run_once(engine: str, market: MarketArrays, signals: np.ndarray) -> int:
    """One run of ``engine``; returns the number of fills (so nothing is optimised away)."""
    costs = CostModel(slippage_bps=5.0)
    if engine == "simulate":
        return bt.simulate(market, signals, costs=costs).trades.height
    if engine == "simulate_plain":
        return bt.simulate_plain(market, signals, costs=costs).trades.height
    import vectorbt as vbt

    shifted = np.vstack([np.full((1, signals.shape[1]), np.nan), signals[:-1]])
    pf = vbt.Portfolio.from_signals(
        market.close,
        entries=shifted > 0,
        exits=shifted == 0,
        size=50_000.0,
        size_type="value",
        price=market.open,
        fees=costs.commission_rate,
        cash_sharing=True,
        group_by=True,
        init_cash=1_000_000.0,
        freq="1D",
    )
    return len(pf.orders.values)


def child(engine: str) -> None:
    """Measure in this (new) process and print one JSON line."""
    market, signals = random_inputs()
    t0 = time.perf_counter()
    import vectorbt  # noqa: F401

    t1 = time.perf_counter()
    fills = run_once(engine, market, signals)
    t2 = time.perf_counter()
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        run_once(engine, market, signals)
        warm.append(time.perf_counter() - t)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"import": t1 - t0, "first": t2 - t1, "warm": min(warm), "fills": fills, "rss": rss_mb}
    print(json.dumps(out))


def measure(engine: str, cache_dir: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    cmd = [sys.executable, __file__, "--child", engine]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print(f"{N_TICKERS} tickers x {N_SESSIONS} sessions; seconds (import = vectorbt import)")
    print(f"{'engine':<15}{'fresh':>8}{'cold':>8}{'import':>8}{'warm':>8}{'fills':>8}{'MB':>7}")
    rows = {}
    for engine in ENGINES:
        with tempfile.TemporaryDirectory() as empty:
            fresh = measure(engine, empty)
        measure(engine, None)  # make sure the normal cache is filled
        cold = measure(engine, None)
        rows[engine] = cold
        print(
            f"{engine:<15}{fresh['first']:>8.2f}{cold['first']:>8.2f}{cold['import']:>8.2f}"
            f"{cold['warm']:>8.3f}{cold['fills']:>8.0f}{cold['rss']:>7.0f}"
        )
    base = rows["from_signals"]
    a_share = rows["simulate"]
    print(
        f"simulate / from_signals: cold {a_share['first'] / base['first']:.2f}x, "
        f"warm {a_share['warm'] / base['warm']:.2f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
