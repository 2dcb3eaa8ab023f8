"""The whole pipeline at market scale. Run: .venv/bin/python benchmarks/bench_market.py [N ...]

For each N (default 500 1000 2000 5000 tickers), in a fresh subprocess so peak memory is per
size: a synthetic market of N tickers from 2016-09-01 (about 2,500 sessions to today) built by
the demo generator on a made-up instrument master, then

1. ingest: ``demo.load`` into a new DuckDB store (bars, indices, series in one transaction);
2. factors: the full factor set with cross-sectional ranks on the last session
   (``engine.compute_factors``: loads only the history the largest lookback needs);
3. screen: the sector oversold screen on the last session (``screen.run_screen``);
4. thesis: ``strategies/copper_breakout.toml`` end to end (``runs.run_backtest``).

Prints seconds per stage and the peak RSS of the subprocess (aim: within 8 GB at N = 5,000).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = dt.date(2016, 9, 1)
METALS = ["copper", "aluminium", "gold", "lithium", "rare_earth", "tin", "nickel", "cobalt"]


def master(n: int) -> object:
    import polars as pl

    boards = ["main"] * 6 + ["chinext", "star"]
    rows = []
    for i in range(n):
        board = boards[i % len(boards)]
        code = {"main": 600000 + i, "chinext": 300000 + i, "star": 688000 + i}[board]
        suffix = "SZ" if board == "chinext" else "SH"
        rows.append(
            {
                "ticker": f"{code:06d}.{suffix}",
                "name": f"合成{i:04d}",
                "aliases": [],
                "exchange": "SZSE" if suffix == "SZ" else "SSE",
                "board": board,
                "sw_l1": "801050.SI",
                "sw_l2": "801055.SI",
                "metals": [METALS[i % len(METALS)]],
                "list_date": dt.date(2010, 1, 4),
            }
        )
    return pl.DataFrame(rows)


def one_size(n: int) -> dict[str, float]:
    from screener.config import Settings
    from screener.engine import compute_factors
    from screener.ingest import demo
    from screener.runs import run_backtest
    from screener.screen import Screen, run_screen
    from screener.store import Store
    from screener.thesis import load_thesis

    settings, out = Settings(), {"tickers": float(n)}
    end = dt.date.today()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "m.duckdb") as store:
        t = time.perf_counter()
        market = demo.generate(master(n), start=START, end=end)  # type: ignore[arg-type]
        out["generate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with store.transaction():
            store.upsert("instruments", market.instruments)
            store.upsert("bars_daily", market.bars)
            store.upsert("index_daily", market.index)
            store.upsert("series_daily", market.series)
        out["bars"] = float(market.bars.height)
        del market
        out["ingest_s"] = time.perf_counter() - t
        last = store.sessions()[-1]
        t = time.perf_counter()
        compute_factors(store, on=last, settings=settings)
        out["factors_s"] = time.perf_counter() - t
        t = time.perf_counter()
        run_screen(store, Screen(universe="sector"), on=last, settings=settings)
        out["screen_s"] = time.perf_counter() - t
        t = time.perf_counter()
        thesis = load_thesis(
            Path(__file__).resolve().parents[1] / "strategies/copper_breakout.toml"
        )
        run_backtest(store, thesis, settings=settings, record_run=False)
        out["thesis_s"] = time.perf_counter() - t
    out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def main(sizes: list[int]) -> None:
    print("tickers     bars  generate  ingest  factors  screen  thesis  peak GB")
    for n in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True
        )
        if done.returncode:
            print(f"{n}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{n:7d} {r['bars']:>8,.0f} {r['generate_s']:9.1f} {r['ingest_s']:7.1f} "
            f"{r['factors_s']:8.1f} {r['screen_s']:7.1f} {r['thesis_s']:7.1f} {r['peak_gb']:8.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(one_size(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [500, 1000, 2000, 5000])
