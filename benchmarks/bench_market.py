"""The whole pipeline at market scale. Run: .venv/bin/python benchmarks/bench_market.py [N ...]

For each N (default 500 1000 2000 5000 tickers): a synthetic market of N tickers from
2016-09-01 (about 2,500 sessions to today), built by the demo generator on a made-up instrument
master in its own process and written to Parquet; then, in a fresh process whose peak memory is
reported (the pipeline alone):

1. ingest: the Parquet files into a new DuckDB store in one transaction;
2. factors: the full factor set with cross-sectional ranks on the last session
   (``engine.compute_factors``: loads only the history the largest lookback needs);
3. screen: the sector oversold screen on the last session (``screen.run_screen``);
4. thesis: ``strategies/copper_breakout.toml`` end to end (``thesis.run.run_backtest``).

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


def generate(n: int, folder: Path) -> dict[str, float]:
    """Write the synthetic market of ``n`` tickers as Parquet (kept out of the measured run)."""
    from screener.ingest import demo

    t = time.perf_counter()
    market = demo.generate(master(n), start=START, end=dt.date.today())  # type: ignore[arg-type]
    for name in ("instruments", "bars", "index", "series"):
        getattr(market, name).write_parquet(folder / f"{name}.parquet")
    return {"generate_s": time.perf_counter() - t, "bars": float(market.bars.height)}


def pipeline(folder: Path) -> dict[str, float]:
    """Ingest the Parquet files, then factors, a screen and one thesis; peak RSS of it all."""
    import polars as pl

    from screener.config import Settings
    from screener.engine import compute_factors
    from screener.screen import Screen, run_screen
    from screener.store import Store
    from screener.thesis import load_thesis
    from screener.thesis.run import run_backtest

    settings, out = Settings(), {}
    tables = {"instruments": "instruments", "bars": "bars_daily", "index": "index_daily",
              "series": "series_daily"}  # fmt: skip
    with Store(folder / "m.duckdb") as store:
        t = time.perf_counter()
        with store.transaction():
            for name, table in tables.items():
                store.upsert(table, pl.read_parquet(folder / f"{name}.parquet"))
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


def _child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(sizes: list[int]) -> None:
    print("tickers       bars  generate  ingest  factors  screen  thesis  peak GB (pipeline)")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            g = _child("--generate", str(n), tmp)
            r = _child("--pipeline", tmp)
        print(
            f"{n:7d} {g['bars']:>10,.0f} {g['generate_s']:9.1f} {r['ingest_s']:7.1f} "
            f"{r['factors_s']:8.1f} {r['screen_s']:7.1f} {r['thesis_s']:7.1f} {r['peak_gb']:8.2f}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        print(json.dumps(generate(int(sys.argv[2]), Path(sys.argv[3]))))
    elif sys.argv[1:2] == ["--pipeline"]:
        print(json.dumps(pipeline(Path(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [500, 1000, 2000, 5000])
