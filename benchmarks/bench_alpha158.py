"""Alpha158 speed, memory and equality against qlib itself, in one run.

    .venv/bin/python benchmarks/bench_alpha158.py 1000 2500 --qlib /work/qlib-venv/bin/python
    .venv/bin/python benchmarks/bench_alpha158.py 5000 2500          # ours only

Builds a seeded synthetic OHLCV panel (float32-exact values, as qlib stores them; a few
suspended days with zero volume), then times screener's 158 factors of
strategies/factors/alpha158.toml:

- ``to parquet``: ``bulk.write_values`` over ticker chunks into a Parquet file (the path that
  keeps memory bounded), with the process's peak resident memory;
- ``in memory`` (``--in-memory``): ``engine.factor_values`` on the whole panel at once.

With ``--qlib PYTHON`` it also runs benchmarks/qlib_alpha158.py in that interpreter (pyqlib's
own virtual environment) on the same fields with ``--workers`` processes, reports qlib's
``D.features`` time and compares every value: equal to 1e-5 relative or 1e-6 absolute, and
missing (NaN, inf) exactly where screener's are null.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from bench_factors import peak_rss, timed

from screener.bulk import ticker_chunks, write_values
from screener.engine import factor_values
from screener.factors.expr.execute import fields_frame
from screener.factors.expr.files import check_file

ROOT = Path(__file__).resolve().parents[1]
ALPHA158 = ROOT / "strategies" / "factors" / "alpha158.toml"
QLIB_SCRIPT = ROOT / "benchmarks" / "qlib_alpha158.py"


def ohlcv_panel(n_tickers: int, n_sessions: int, seed: int = 0) -> pl.DataFrame:
    """Back-adjusted OHLC, volume and amount, float32-exact; 0.5% of days have no volume."""
    rng = np.random.default_rng(seed)
    dates = pl.date_range(pl.date(2016, 1, 4), pl.date(2040, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5)[:n_sessions].to_numpy()
    close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_tickers, n_sessions)), axis=1))
    gap = np.exp(rng.normal(0, 0.01, close.shape))
    open_ = close * gap
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, close.shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, close.shape)))
    volume = rng.integers(1_000, 5_000_000, close.shape).astype(float)
    volume[rng.random(close.shape) < 0.005] = 0.0
    f32 = lambda a: a.astype(np.float32).astype(np.float64).ravel()  # noqa: E731
    return pl.DataFrame(
        {
            "ticker": np.repeat([f"{i:06d}.SZ" for i in range(n_tickers)], n_sessions),
            "date": np.tile(dates, n_tickers),
            "adj_open": f32(open_),
            "adj_high": f32(high),
            "adj_low": f32(low),
            "adj_close": f32(close),
            "volume": f32(volume),
            "amount": f32(volume * close),
            "adj_factor": np.ones(n_tickers * n_sessions),
        }
    )


def run_qlib(python: str, fields: pl.DataFrame, workers: int) -> tuple[float, pl.DataFrame]:
    """qlib's D.features seconds and its values (float32), in its own interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "fields.parquet", Path(tmp) / "qlib.parquet"
        fields.write_parquet(src)
        cmd = [python, str(QLIB_SCRIPT), str(src), str(out), "--workers", str(workers)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return float(done.stdout.strip().splitlines()[-1]), pl.read_parquet(out)


def compare(ours: pl.DataFrame, theirs: pl.DataFrame, names: list[str]) -> list[str]:
    """Factors whose values or missing pattern differ (1e-5 relative, 1e-6 absolute)."""
    theirs = theirs.with_columns(pl.col("date").cast(pl.Date))
    joined = ours.join(theirs, on=["ticker", "date"], how="inner", suffix="_q")
    assert joined.height == ours.height == theirs.height, (ours.height, theirs.height)
    bad = []
    for name in names:
        a = joined.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        b = joined.get_column(f"{name}_q").cast(pl.Float64).to_numpy()
        b = np.where(np.isfinite(b), b, np.nan)
        same_missing = np.array_equal(np.isnan(a), np.isnan(b))
        if not (same_missing and np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)):
            bad.append(name)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tickers", type=int, nargs="?", default=1000)
    parser.add_argument("sessions", type=int, nargs="?", default=2500)
    parser.add_argument("--qlib", help="python of a virtual environment with pyqlib")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--in-memory", action="store_true")
    args = parser.parse_args()
    factors = check_file(ALPHA158)
    names = [f.name for f in factors]
    factor_values(ohlcv_panel(2, 80), factors)  # numba: load (or compile) the kernels
    panel = ohlcv_panel(args.tickers, args.sessions)
    print(f"{args.tickers:,} x {args.sessions:,} = {panel.height:,} rows, {len(names)} factors")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "alpha158.parquet"
        with peak_rss() as rss:
            wall, cpu, written = timed(lambda: write_values(ticker_chunks(panel), factors, out))
        size = out.stat().st_size / 1e9
        peak = f"peak RSS {rss['peak']:.2f} GB (start {rss['start']:.2f})"
        print(f"to parquet: {wall:.2f} s wall, {cpu:.1f} s CPU, {written.chunks} chunks, ", end="")
        print(f"{size:.2f} GB file, {peak}")
        ours = pl.read_parquet(out) if args.qlib else None
    if args.in_memory:
        wall_m, cpu_m, _ = timed(lambda: factor_values(panel, factors))
        print(f"in memory: {wall_m:.2f} s wall, {cpu_m:.1f} s CPU")
    if args.qlib and ours is not None:
        start = time.perf_counter()
        seconds, theirs = run_qlib(args.qlib, fields_frame(panel), args.workers)
        whole = time.perf_counter() - start
        print(f"qlib D.features ({args.workers} workers): {seconds:.1f} s ", end="")
        print(f"(whole script {whole:.1f} s); screener is {seconds / wall:.1f}x faster")
        bad = compare(ours, theirs, names)
        print(f"equal to qlib (1e-5 rel, 1e-6 abs): {len(names) - len(bad)} of {len(names)}")
        if bad:
            print(f"differ: {', '.join(bad)}")
            sys.exit(1)


if __name__ == "__main__":
    main()
