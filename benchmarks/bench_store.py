"""Store ingest and read benchmarks. Run: .venv/bin/python benchmarks/bench_store.py

Figures go to benchmarks/README.md. Measures, through the column-wise merge every import uses
(``ingest.importer.write_rows``: read the stored window, merge, derive, write, record):
1. the whole real stock set (../shared/realdata/stocks_daily.parquet) into a new store, then
   the same file again through ``import_files`` (validation included) into the full store;
2. a 5,000-ticker x 2,500-session synthetic panel (12.5M rows) from Parquet into a new store;
3. a re-ingest of 1% changed rows into the full store (conflicts taken with prefer="new");
4. single-ticker 10-year read latency (median of 200 reads).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from screener.ingest.files import import_files
from screener.ingest.importer import Source, write_rows
from screener.schema import BARS_DAILY
from screener.store import Store

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def synthetic_bars(n_tickers: int, n_sessions: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pl.date_range(pl.date(2014, 1, 1), pl.date(2040, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5)[:n_sessions]
    tickers = [f"{600000 + i:06d}.SH" for i in range(n_tickers)]
    steps = rng.standard_t(4, size=(n_tickers, n_sessions)) * 0.015
    close = np.round(10 * np.exp(np.cumsum(steps, axis=1)), 2).ravel()
    n = close.size
    return pl.DataFrame(
        {
            "ticker": np.repeat(tickers, n_sessions),
            "date": np.tile(dates.to_numpy(), n_tickers),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "prev_close": close,
            "volume": rng.integers(1, 10_000, n) * 100,
            "amount": close * 1e5,
            "is_st": np.zeros(n, dtype=bool),
        }
    )


def timed_ingest(store: Store, parquet: Path, prefer: str = "refuse") -> tuple[float, int]:
    t0 = time.perf_counter()
    frame = pl.read_parquet(parquet)
    source = Source("file", str(parquet), "bars")
    result = write_rows(store, BARS_DAILY, frame, source, prefer=prefer)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result.new + result.updated + result.unchanged


def read_latency(store: Store, ticker: str, reps: int = 200) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        store.read_bars([ticker])
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        if REALDATA.exists():
            real = pl.read_parquet(REALDATA / "stocks_daily.parquet").drop("name")
            real = real.unique(["ticker", "date"], keep="first").sort("ticker", "date")
            real.write_parquet(tmpdir / "real.parquet")
            with Store(tmpdir / "real.duckdb") as store:
                secs, rows = timed_ingest(store, tmpdir / "real.parquet")
                print(
                    f"real stocks: {rows:,} rows in {secs:.2f} s = {rows / secs / 1e6:.2f} M rows/s"
                )
                ms = read_latency(store, "600362.SH")
                print(f"real stocks: read 600362.SH all history {ms:.2f} ms")
                t0 = time.perf_counter()
                report = import_files(
                    store, [tmpdir / "real.parquet"], quarantine=tmpdir / "refused.csv"
                )
                secs = time.perf_counter() - t0
                print(
                    f"real stocks again, import_files into the full store: {secs:.2f} s "
                    f"({report.total.describe()})"
                )
        synth = synthetic_bars(5000, 2500)
        synth.write_parquet(tmpdir / "synth.parquet")
        del synth
        with Store(tmpdir / "synth.duckdb") as store:
            secs, rows = timed_ingest(store, tmpdir / "synth.parquet")
            rate = rows / secs / 1e6
            print(f"synthetic 5000x2500: {rows:,} rows in {secs:.2f} s = {rate:.2f} M rows/s")
            print(
                f"synthetic: read one ticker (2,500 rows) {read_latency(store, '602500.SH'):.2f} ms"
            )
            changed = (
                pl.read_parquet(tmpdir / "synth.parquet")
                .filter(pl.col("ticker").is_in([f"{600000 + i:06d}.SH" for i in range(50)]))
                .with_columns(pl.col("close", "high") + 0.01)
            )
            changed.write_parquet(tmpdir / "changed.parquet")
            secs, rows = timed_ingest(store, tmpdir / "changed.parquet", prefer="new")
            print(f"merge of {rows:,} changed rows into 12.5M: {secs:.2f} s")
        size = (tmpdir / "synth.duckdb").stat().st_size / 2**20
        print(f"synthetic store file: {size:,.0f} MiB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
