"""Factor engine speed and memory: the full set with ranks, and a pandas comparison.

    .venv/bin/python benchmarks/bench_factors.py              # 5,000 tickers x 2,500 sessions
    .venv/bin/python benchmarks/bench_factors.py 1000 2500    # smaller

Builds a synthetic panel (numpy, seeded; the columns factors read), then times
``engine.evaluate`` over every registered factor plus the cross-sectional ranks, sampling the
process's resident memory for the peak. Then computes a subset of factors the way a pandas user
would (``groupby("ticker").rolling(...)``, ``groupby().pct_change``, ``groupby("date").rank``),
checks the numbers agree with polars and prints the speed ratio on that subset.

The polars side is ``engine.evaluate`` step by step: ``engine.factor_values`` (the time
series) then ``engine.cross_sectional_ranks``; the first call in a fresh clone also compiles
the numba kernels (about 9 s, then cached in ``screener/factors/__pycache__``), which the
warm-up on two tickers absorbs and reports.

Recorded on the shared 2-core, 24 GB development box, 5,000 x 2,500 (12.5 M rows). Other jobs
shared the box all through 03:35-04:45 UTC on 2026-11-27 (load 0.6-8 on 2 cores), so CPU
seconds are inflated too (cache and memory contention) and only back-to-back runs compare:

- this engine (window kernels with a mean of its own, ranks stored as Float32), quietest run
  (load 0.6 at the start, 1.0 at the end): evaluate, 30 factors + 30 ranks, 12.6 s wall, 24.6 s
  CPU (time series 5.7 s / 10.8 s, ranks 6.9 s / 13.7 s); peak RSS 6.23 GB, +4.66 GB over the
  panel, the result 4.76 GB (30 Float64 values 3.0 GB, 30 Float32 ranks 1.5 GB). Subset vs
  pandas 23.5x (time series 12.2x, ranks 31.6x; 0.76 + 1.05 s against 9.27 + 33.29 s: the
  polars side as fast as the previous commit's quiet run below, pandas 30% slower than then).
  Five more runs at load 1-3.6: 13.2-26.2 s wall, 23.2-26.6 s CPU, peak 6.23 GB each time,
  subset 9.7-12.2x.
- back to back with the previous commit (numba kernels, Float64 ranks), same panel, previous
  then this: at load 1.0-1.9, 17.7 s wall / 34.2 s CPU then 13.2 / 25.4 (ranks 21.7 then
  14.9 s CPU; subset polars 2.63 then 2.12 s); at load 2.3-2.9 (before the VAR-only path),
  30.8 / 34.0 then 20.4 / 27.9. Peak RSS 7.83-7.93 GB then 6.23 GB.
- previous commit on a quiet box (load ~1): 12.9 s wall, 24.5 s CPU (time series 5.0 s / 9.4
  s, ranks 7.9 s / 15.2 s), peak 7.84 GB; subset 18.1x (0.75 + 1.06 s against 4.60 + 28.31 s).
- before the numba kernels (polars ``.over("ticker")`` windows, ``rank().over("date")``):
  75-77 s wall, 86-95 s CPU, peak RSS 9.9-10.1 GB; subset vs pandas 5.8-6.9x.

Where the time goes (single kernel calls, 12.5 M rows): a rank, 0.25-0.3 s of CPU per factor,
half gathering each date's values from the ticker-sorted column and writing back, half the
radix sort (a counting factor's long runs of ties no longer go through a merge sort); a
pairwise window (vol, corr, beta) 0.2-0.35 s, a rolling mean 0.06 s (was 0.19 s inside the
pairwise kernel); each polars elementwise step 0.02-0.04 s. Targets of issue 3: <= 5 s wall is
not met (23-27 s of CPU measured under contention; 10 s at most would fit on 2 cores); <= 6 GB
peak is missed by 0.2 GB: the panel (0.83 GB) and the result (4.5 GB of buffers) are 5.3 GB
before the interpreter, numba and polars' allocator cache; >= 20x pandas was met in the
quietest run (23.5x) but only because pandas ran slower than in the previous record: against
that record's 32.9 s it would be 18x, and under load it is 10-12x.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl
import psutil

from screener import engine
from screener.factors.base import Factor
from screener.factors.library import REGISTRY

PANDAS_SUBSET = ("ret_20d", "ma_dist_20d", "vol_20d", "drawdown_250d", "volume_surge_20d")


def synthetic_panel(n_tickers: int, n_sessions: int, seed: int = 0) -> pl.DataFrame:
    """The panel columns the factor set reads, sorted by (ticker, date), float64 prices."""
    rng = np.random.default_rng(seed)
    n = n_tickers * n_sessions
    dates = pl.date_range(pl.date(2016, 1, 4), pl.date(2040, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5)[:n_sessions]
    sector = 4000 * np.exp(np.cumsum(rng.normal(0, 0.012, n_sessions)))
    metal = 7e4 * np.exp(np.cumsum(rng.normal(0, 0.01, (4, n_sessions)), axis=1))
    which = rng.integers(0, 4, n_tickers)
    rets = rng.normal(0, 0.022, (n_tickers, n_sessions))
    close = 10 * np.exp(np.cumsum(rets, axis=1)).ravel()
    volume = rng.integers(0, 5_000_000, n)
    frame = pl.DataFrame(
        {
            "ticker": np.repeat([f"{i:06d}.SZ" for i in range(n_tickers)], n_sessions),
            "date": np.tile(dates.to_numpy(), n_tickers),
            "adj_close": close,
            "volume": volume,
            "amount": volume * close,
            "closed_limit_up": rng.random(n) < 0.01,
            "closed_limit_down": rng.random(n) < 0.01,
            "sector_close": np.tile(sector, n_tickers),
            "metal_close": metal[which].ravel(),
            "metal": np.repeat(np.array(["copper", "gold", "lithium", "zinc"])[which], n_sessions),
        }
    )
    return frame.with_columns(
        (pl.col("adj_close") / pl.col("adj_close").shift(1) - 1).over("ticker").alias("ret_1d")
    )


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Sample resident memory every 5 ms; yields a dict filled with start/peak in GB."""
    proc, out, stop = psutil.Process(), {}, threading.Event()
    out["start"] = out["peak"] = proc.memory_info().rss / 1e9

    def sample() -> None:
        while not stop.is_set():
            out["peak"] = max(out["peak"], proc.memory_info().rss / 1e9)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds (all threads) and the result of ``fn()``."""
    cpu0, wall0 = _cpu(), time.perf_counter()
    result = fn()
    return time.perf_counter() - wall0, _cpu() - cpu0, result


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def pandas_series(panel: pl.DataFrame) -> Any:
    """PANDAS_SUBSET written as a pandas user would: groupby("ticker") then rolling/pct_change."""
    df = panel.select("ticker", "date", "adj_close", "ret_1d", "volume").to_pandas()
    g = df.groupby("ticker", sort=False)
    out = df[["ticker", "date"]].copy()
    out["ret_20d"] = g["adj_close"].pct_change(20, fill_method=None)
    sma = g["adj_close"].rolling(20).mean().reset_index(level=0, drop=True)
    out["ma_dist_20d"] = df["adj_close"] / sma - 1
    vol = g["ret_1d"].rolling(20).std().reset_index(level=0, drop=True)
    out["vol_20d"] = vol * np.sqrt(242)
    high = g["adj_close"].rolling(250).max().reset_index(level=0, drop=True)
    out["drawdown_250d"] = df["adj_close"] / high - 1
    prev = g["volume"].shift(1).astype(float)
    mean_prev = prev.groupby(df["ticker"], sort=False).rolling(20).mean()
    out["volume_surge_20d"] = df["volume"] / mean_prev.reset_index(level=0, drop=True)
    return out


def pandas_ranks(out: Any) -> Any:
    """Percentile ranks per date, 1 = best, as ``engine.evaluate`` defines them."""
    for name in PANDAS_SUBSET:
        by_date = out.groupby("date")[name]
        r = by_date.rank(ascending=REGISTRY[name].higher_is_better)
        out[f"{name}_rank"] = (r - 1) / (by_date.transform("count") - 1)
    return out


def main(n_tickers: int = 5000, n_sessions: int = 2500) -> None:
    print(f"panel: {n_tickers:,} tickers x {n_sessions:,} sessions")
    seconds, _, panel = timed(lambda: synthetic_panel(n_tickers, n_sessions))
    size = panel.estimated_size() / 1e9
    print(f"  built in {seconds:.1f} s: {panel.height:,} rows, {size:.2f} GB")
    factors = list(REGISTRY.values())
    seconds, _, _ = timed(lambda: engine.evaluate(panel.head(2 * n_sessions), factors))
    print(f"  warm-up on 2 tickers (numba kernels compiled or loaded from cache): {seconds:.1f} s")
    time_evaluate(panel, factors)
    gc.collect()
    compare_with_pandas(panel)


def time_evaluate(panel: pl.DataFrame, factors: list[Factor]) -> None:
    """``engine.evaluate`` step by step: the values, the ranks, the frame; peak RSS over all."""
    gc.collect()
    with peak_rss() as mem:
        ts = timed(lambda: engine.factor_values(panel, factors))
        values = ts[2]
        ranks = timed(lambda: engine.cross_sectional_ranks(values, factors))
        columns = ranks[2]
        total = timed(lambda: values.with_columns(columns))
    print(f"polars engine.evaluate, {len(factors)} factors + {len(factors)} ranks:")
    for label, part in (("time series", ts), ("ranks", ranks)):
        print(f"  {label:12s} {part[0]:6.2f} s wall {part[1]:6.2f} s CPU")
    wall, cpu = ts[0] + ranks[0] + total[0], ts[1] + ranks[1] + total[1]
    print(
        f"  {'total':12s} {wall:6.2f} s wall {cpu:6.2f} s CPU; peak RSS {mem['peak']:.2f} GB "
        f"({mem['peak'] - mem['start']:+.2f} GB over the panel); "
        f"result {total[2].estimated_size() / 1e9:.2f} GB"
    )


def compare_with_pandas(panel: pl.DataFrame) -> None:
    subset = [REGISTRY[n] for n in PANDAS_SUBSET]
    ts_pl = timed(lambda: engine.factor_values(panel, subset))
    rk_pl = timed(lambda: ts_pl[2].with_columns(engine.cross_sectional_ranks(ts_pl[2], subset)))
    ts_pd = timed(lambda: pandas_series(panel))
    rk_pd = timed(lambda: pandas_ranks(ts_pd[2]))
    fast, slow = rk_pl[2], rk_pd[2]
    for name in PANDAS_SUBSET:
        for col, rtol, atol in ((name, 1e-9, 1e-12), (f"{name}_rank", 0.0, engine.RANK_TOLERANCE)):
            a = fast.get_column(col).cast(pl.Float64).fill_null(np.nan).to_numpy()
            b = slow[col].to_numpy(dtype=float)
            assert np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True), col
    print(f"subset {', '.join(PANDAS_SUBSET)} (values agree to 1e-9, ranks to 1e-7), wall s:")
    for label, p, q in (("time series", ts_pl, ts_pd), ("ranks", rk_pl, rk_pd)):
        print(f"  {label:12s} polars {p[0]:6.2f}  pandas {q[0]:6.2f}  ratio {q[0] / p[0]:5.1f}x")
    pl_s, pd_s = ts_pl[0] + rk_pl[0], ts_pd[0] + rk_pd[0]
    print(f"  {'total':12s} polars {pl_s:6.2f}  pandas {pd_s:6.2f}  ratio {pd_s / pl_s:5.1f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
