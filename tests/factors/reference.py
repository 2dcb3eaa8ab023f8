"""Slow, obvious references for the factor tests, and the seeded synthetic market they run on.

Every reference is a plain loop over numpy arrays, written from the definition in the factor's
doc without looking at its polars expression. NaN stands for null. A window counts only when
every value in it is present, as in the fast version.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from screener import calendar, metals, rules
from screener.factors.library import OVERSOLD_WEIGHTS, REGISTRY
from screener.panel import assemble_panel

NAN = float("nan")
ANNUAL = math.sqrt(242)


# -- synthetic market ----------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    bars: pl.DataFrame
    instruments: pl.DataFrame
    index: pl.DataFrame
    series: pl.DataFrame
    sessions: list[dt.date]


TICKERS: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("600001.SH", "main", ["copper"], "801055.SI"),
    ("600002.SH", "main", ["copper", "gold"], "801055.SI"),
    ("000003.SZ", "main", ["gold"], "801053.SI"),
    ("300004.SZ", "chinext", ["lithium"], "801056.SI"),
    ("688005.SH", "star", [], "801051.SI"),
    ("600006.SH", "main", ["aluminium"], None),
)


def synthetic_market(seed: int, n_sessions: int = 320) -> Market:
    """Six stocks over ``n_sessions`` XSHG sessions from 2023-01-03, with the awkward cases.

    Omitted bars (suspensions) and zero-volume bars, ex-dividend days (prev_close below the
    last close), limit-up and limit-down closes, an ST spell, a stock without vendor limit
    prices, a late listing, an early delisting; indices and metal series with gaps longer than
    a week, rows on non-sessions, and a foreign series with weekend dates.
    """
    rng = np.random.default_rng(seed)
    days = calendar.sessions(dt.date(2023, 1, 3), dt.date(2025, 6, 30))[:n_sessions]
    frames = [_stock_bars(rng, t, board, days, k) for k, (t, board, _, _) in enumerate(TICKERS)]
    instruments = pl.DataFrame(
        {
            "ticker": [t[0] for t in TICKERS],
            "board": [t[1] for t in TICKERS],
            "metals": [t[2] for t in TICKERS],
            "sw_l2": [t[3] for t in TICKERS],
            "list_date": [days[0]] * 3 + [days[12]] + [None, days[0]],
        },
        schema_overrides={"metals": pl.List(pl.String), "list_date": pl.Date},
    )
    return Market(
        bars=pl.concat(frames).sort("ticker", "date"),
        instruments=instruments,
        index=_index(rng, days),
        series=_series(rng, days),
        sessions=days,
    )


def _walk(rng: np.random.Generator, n: int, vol: float, start: float) -> np.ndarray:
    return start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))


def _stock_bars(
    rng: np.random.Generator, ticker: str, board: str, days: list[dt.date], k: int
) -> pl.DataFrame:
    n = len(days)
    pct = 20 if board in ("chinext", "star") else 10
    first = 12 if k == 3 else int(rng.integers(0, 4))
    last = n - 40 if k == 5 else n - 1 - int(rng.integers(0, 3))
    close = np.empty(n)
    prev = np.empty(n)
    up = np.empty(n)
    down = np.empty(n)
    level = float(rng.uniform(4.0, 60.0))
    st = np.zeros(n, dtype=bool)
    if k == 1:
        st[100:160] = True
    for i in range(n):
        prev[i] = level if i == 0 else close[i - 1]
        if i > 0 and rng.random() < 0.01:  # ex-dividend: the reference price drops
            prev[i] = round(close[i - 1] * 0.97, 2)
        p = 5 if st[i] else pct
        up_i, down_i = rules.limit_prices(np.array([prev[i]]), np.array([p]))
        up[i], down[i] = up_i[0], down_i[0]
        draw = rng.random()
        if draw < 0.03:
            close[i] = up[i]
        elif draw < 0.05:
            close[i] = down[i]
        else:
            move = prev[i] * math.exp(rng.normal(0.0, 0.025))
            close[i] = round(min(max(move, down[i]), up[i]), 2)
    adj = np.cumprod(np.r_[1.0, close[:-1] / prev[1:]])
    openp = np.round(np.clip(prev * np.exp(rng.normal(0, 0.01, n)), down, up), 2)
    high = np.maximum(openp, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(openp, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(10_000, 2_000_000, n)
    keep = np.zeros(n, dtype=bool)
    keep[first : last + 1] = True
    for _ in range(int(rng.integers(1, 4))):  # vendor-omitted suspensions, some long
        a = int(rng.integers(first + 5, last - 30))
        keep[a : a + int(rng.choice([1, 3, 12, 30]))] = False
    zero = rng.random(n) < 0.01  # bars present with volume 0 (suspended by the vendor flag)
    volume = np.where(zero, 0, volume)
    amount = volume * close * rng.uniform(0.98, 1.02, n)
    if k == 1:  # bars from a file without amount: the panel estimates them
        amount[200:260] = np.nan
    frame = pl.DataFrame(
        {
            "ticker": ticker,
            "date": days,
            "open": openp,
            "high": np.round(high, 2),
            "low": np.round(low, 2),
            "close": close,
            "prev_close": prev,
            "volume": volume,
            "amount": pl.Series(amount, nan_to_null=True),
            "adj_factor": adj,
            "suspended": zero,
            "up_limit": None if k == 2 else up,
            "down_limit": None if k == 2 else down,
            "is_st": st,
        }
    )
    return frame.filter(pl.Series(keep))


def _index(rng: np.random.Generator, days: list[dt.date]) -> pl.DataFrame:
    n = len(days)
    sector = _walk(rng, n, 0.015, 4000.0)
    market = _walk(rng, n, 0.01, 3800.0)
    keep = np.ones(n, dtype=bool)
    keep[150:158] = False  # an eight-session hole: beyond max_ffill
    keep[200] = False
    rows = [
        pl.DataFrame({"index_code": code, "date": days, "close": values}).filter(pl.Series(keep))
        for code, values in (("801050.SI", sector), ("000300.SH", market))
    ]
    return pl.concat(rows)


def _series(rng: np.random.Generator, days: list[dt.date]) -> pl.DataFrame:
    n = len(days)
    out = []
    for sid, start in (("SHFE.CU", 68000.0), ("SHFE.AU", 420.0), ("GFEX.LC", 250000.0)):
        values = _walk(rng, n, 0.012, start)
        keep = rng.random(n) > 0.05
        keep[60:68] = False  # gap longer than max_ffill
        dates = list(days)
        dates[30] = days[30] + dt.timedelta(days=5 - days[30].weekday())  # a Saturday row
        out.append(
            pl.DataFrame({"series_id": sid, "date": dates, "close": values}).filter(pl.Series(keep))
        )
    weekdays = [days[0] + dt.timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    foreign = [d for d in weekdays if d.weekday() < 5 or d.day % 7 == 0]
    out.append(
        pl.DataFrame(
            {
                "series_id": "LME.CU.CASH",
                "date": foreign,
                "close": _walk(rng, len(foreign), 0.012, 9000.0),
            }
        )
    )
    return pl.concat(out).unique(["series_id", "date"], keep="first").sort("series_id", "date")


def panel_of(market: Market, max_ffill: int = 5) -> pl.DataFrame:
    return assemble_panel(
        market.bars,
        market.instruments,
        market.index,
        market.series,
        sessions=market.sessions,
        max_ffill=max_ffill,
    )


def perturb_after(market: Market, cut: dt.date, seed: int) -> Market:
    """Change every value after ``cut`` (foreign series: from ``cut`` on), drop some rows."""
    rng = np.random.default_rng(seed)

    def jiggle(frame: pl.DataFrame, late: pl.Expr, cols: list[str]) -> pl.DataFrame:
        k = frame.height
        scaled = [
            pl.when(late).then(pl.col(c) * pl.Series(rng.uniform(0.5, 1.5, k))).otherwise(c)
            for c in cols
        ]
        drop = late & pl.Series(rng.random(k) < 0.2)
        return frame.with_columns(scaled).filter(~drop)

    after = pl.col("date") > cut
    prices = ["open", "high", "low", "close", "prev_close", "amount", "adj_factor"]
    prices += ["up_limit", "down_limit"]
    bars = jiggle(market.bars, after, prices).with_columns(
        pl.when(after).then(pl.col("volume") * 3).otherwise("volume").alias("volume"),
        pl.when(after).then(~pl.col("suspended")).otherwise("suspended").alias("suspended"),
        pl.when(after).then(~pl.col("is_st")).otherwise("is_st").alias("is_st"),
    )
    lagged = [s for s, v in metals.SERIES.items() if v.settles_after_close]
    foreign = pl.col("series_id").is_in(lagged)
    series = jiggle(market.series, after | (foreign & (pl.col("date") == cut)), ["close"])
    extra = pl.DataFrame({"series_id": ["LME.CU.CASH"], "date": [cut], "close": [1.0]})
    series = pl.concat([series.filter(~(foreign & (pl.col("date") == cut))), extra])
    index = jiggle(market.index, after, ["close"])
    return Market(bars, market.instruments, index, series, market.sessions)


def realdata_market(root: Path) -> Market:
    """Four real copper and gold stocks, 2015-2022, with their indices and metal series."""
    start, end = dt.date(2015, 1, 5), dt.date(2022, 1, 14)
    tags = {
        "600362.SH": "copper",
        "000630.SZ": "copper",
        "600490.SH": "copper",
        "601899.SH": "gold",
    }
    stocks = (
        pl.scan_parquet(root / "stocks_daily.parquet")
        .filter(pl.col("ticker").is_in(list(tags)), pl.col("date").is_between(start, end))
        .sort("ticker", "date")
        .with_columns(
            (pl.col("close").shift(1) / pl.col("prev_close"))
            .fill_null(1.0)
            .cum_prod()
            .over("ticker")
            .alias("adj_factor")
        )
        .collect()
    )
    index = (
        pl.scan_parquet(root / "indices_daily.parquet")
        .filter(pl.col("index_code").is_in(["801050.SI", "000300.SH"]))
        .collect()
    )
    series = (
        pl.scan_parquet(root / "commodities_daily.parquet")
        .filter(pl.col("series_id").is_in(["SHFE.CU", "SHFE.AU"]))
        .collect()
    )
    instruments = pl.DataFrame(
        {
            "ticker": list(tags),
            "board": ["main"] * len(tags),
            "sw_l2": [None] * len(tags),
            "metals": [[m] for m in tags.values()],
            "list_date": [None] * len(tags),
        },
        schema_overrides={"sw_l2": pl.String, "list_date": pl.Date},
    )
    return Market(stocks, instruments, index, series, calendar.sessions(start, end))


# -- per-ticker time-series references -----------------------------------------------------


def _windowed(x: np.ndarray, n: int, fn: Callable[[np.ndarray], float]) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1 : i + 1]
        if np.all(np.isfinite(w)):
            out[i] = fn(w)
    return out


def _change(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i in range(n, len(x)):
        if np.isfinite(x[i]) and np.isfinite(x[i - n]) and x[i - n] != 0:
            out[i] = x[i] / x[i - n] - 1
    return out


def _mean(w: np.ndarray) -> float:
    return float(np.sum(w) / len(w))


def _std(w: np.ndarray) -> float:
    return math.sqrt(_cov(w, w))


def _cov(a: np.ndarray, b: np.ndarray) -> float:
    """Sample covariance (n - 1), two-pass."""
    return float(np.sum((a - _mean(a)) * (b - _mean(b))) / (len(a) - 1))


def wilder_rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    """RSI as Wilder (and TA-Lib) define it: SMA seed of n gains/losses, then (prev*(n-1)+x)/n."""
    out = np.full(len(close), NAN)
    if len(close) <= n:
        return out
    diff = np.diff(close)
    gain, loss = np.maximum(diff, 0.0), np.maximum(-diff, 0.0)
    avg_g, avg_l = sum(gain[:n]) / n, sum(loss[:n]) / n
    for i in range(n, len(close)):
        if i > n:
            avg_g = (avg_g * (n - 1) + gain[i - 1]) / n
            avg_l = (avg_l * (n - 1) + loss[i - 1]) / n
        out[i] = 100.0 * avg_g / (avg_g + avg_l) if avg_g + avg_l != 0 else NAN
    return out


def _pair(a: np.ndarray, b: np.ndarray, n: int, fn: Callable[..., float]) -> np.ndarray:
    out = np.full(len(a), NAN)
    for i in range(n - 1, len(a)):
        wa, wb = a[i - n + 1 : i + 1], b[i - n + 1 : i + 1]
        if np.all(np.isfinite(wa)) and np.all(np.isfinite(wb)):
            out[i] = fn(wa, wb)
    return out


def _beta(a: np.ndarray, b: np.ndarray) -> float:
    var = _cov(b, b)
    return _cov(a, b) / var if var != 0 else NAN


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = _std(a), _std(b)
    return _cov(a, b) / (sa * sb) if sa > 0 and sb > 0 else NAN


def _surge(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i in range(n, len(x)):
        before = x[i - n : i]
        if np.all(np.isfinite(before)) and np.isfinite(x[i]) and np.any(before > 0):
            out[i] = x[i] / _mean(before)
    return out


def _series_refs(g: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    c, s, m = g["adj_close"], g["sector_close"], g["metal_close"]
    r = _change(c, 1)
    rs, rm = _change(s, 1), _change(m, 1)
    amount = g["amount"]
    daily_illiq = np.array(
        [
            abs(x) / (a / 1e8) if a != 0 and np.isfinite(x) else NAN
            for x, a in zip(r, amount, strict=True)
        ]
    )
    out = {f"ret_{n}d": _change(c, n) for n in (1, 5, 20, 60, 120)}
    out |= {
        "reversal_5d": -_change(c, 5),
        "rsi_14": wilder_rsi(c, 14),
        "drawdown_60d": c / _windowed(c, 60, np.max) - 1,
        "drawdown_250d": c / _windowed(c, 250, np.max) - 1,
        "ma_dist_20d": c / _windowed(c, 20, _mean) - 1,
        "ma_dist_60d": c / _windowed(c, 60, _mean) - 1,
        "vol_20d": _windowed(r, 20, _std) * ANNUAL,
        "vol_60d": _windowed(r, 60, _std) * ANNUAL,
        "downside_vol_20d": _windowed(np.minimum(r, 0.0), 20, _std) * ANNUAL,
        "volume_surge_20d": _surge(g["volume"].astype(float), 20),
        "amount_surge_20d": _surge(amount, 20),
        "amihud_20d": _windowed(daily_illiq, 20, _mean),
        "avg_amount_20d": _windowed(amount, 20, _mean),
        "amount_estimated_20d": _windowed(g["amount_estimated"], 20, np.sum),
        "limit_up_count_20d": _windowed(g["closed_limit_up"].astype(float), 20, np.sum),
        "limit_down_count_20d": _windowed(g["closed_limit_down"].astype(float), 20, np.sum),
        "beta_sector_60d": _pair(r, rs, 60, _beta),
        "corr_sector_60d": _pair(r, rs, 60, _corr),
        "beta_metal_60d": _pair(r, rm, 60, _beta),
        "corr_metal_60d": _pair(r, rm, 60, _corr),
        "metal_ret_5d": _change(m, 5),
        "metal_ret_20d": _change(m, 20),
        "divergence_7d": _change(c, 7) - _change(m, 7),
        "divergence_20d": _change(c, 20) - _change(m, 20),
        "rel_strength_20d": _change(c, 20) - _change(s, 20),
    }
    return out


def reference_factors(panel: pl.DataFrame) -> pl.DataFrame:
    """ticker, date and every registered factor, computed ticker by ticker with loops."""
    parts = []
    for (ticker,), g in panel.sort("ticker", "date").group_by("ticker", maintain_order=True):
        cols = {
            c: g.get_column(c).cast(pl.Float64).fill_null(NAN).to_numpy()
            for c in (
                "adj_close",
                "sector_close",
                "metal_close",
                "amount",
                "amount_estimated",
                "volume",
                "closed_limit_up",
                "closed_limit_down",
            )
        }
        refs = _series_refs(cols)
        parts.append(pl.DataFrame({"ticker": ticker, "date": g.get_column("date"), **refs}))
    out = pl.concat(parts)
    return out.with_columns(pl.col(c).fill_nan(None) for c in out.columns[2:])


# -- cross-section references --------------------------------------------------------------


def _groups(frame: pl.DataFrame, by: str | None) -> dict[tuple[object, ...], list[int]]:
    keys = frame.get_column("date").to_list()
    extra = frame.get_column(by).to_list() if by else [None] * frame.height
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(zip(keys, extra, strict=True)):
        groups.setdefault(key, []).append(i)
    return groups


def cross_section(
    frame: pl.DataFrame,
    column: str,
    op: str,
    *,
    by: str | None = None,
    mask: str | None = None,
    descending: bool = False,
) -> list[float | None]:
    """rank / zscore / demean / winsorize (1%, 99%) of ``column`` per date, by nested loops."""
    values = frame.get_column(column).to_list()
    keep = frame.get_column(mask).to_list() if mask else [True] * frame.height
    out: list[float | None] = [None] * frame.height
    for rows in _groups(frame, by).values():
        live = [i for i in rows if keep[i] is True and values[i] is not None]
        xs = [float(values[i]) for i in live]
        for i, v in zip(live, _one_group(xs, op, descending), strict=True):
            out[i] = v
    return out


def _one_group(xs: list[float], op: str, descending: bool) -> Sequence[float | None]:
    n = len(xs)
    if op == "rank":
        if n == 1:
            return [0.5]
        sign = -1.0 if descending else 1.0
        ranks = []
        for x in xs:
            below = sum(1 for y in xs if sign * y < sign * x)
            ties = sum(1 for y in xs if y == x)
            ranks.append((below + (ties + 1) / 2 - 1) / (n - 1))
        return ranks
    mean = sum(xs) / n if n else 0.0
    if op == "demean":
        return [x - mean for x in xs]
    if op == "zscore":
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / n) if n else 0.0
        return [(x - mean) / sd if sd > 0 else None for x in xs]
    if op == "winsorize":
        lo, hi = float(np.quantile(xs, 0.01)), float(np.quantile(xs, 0.99))
        return [min(max(x, lo), hi) for x in xs]
    raise ValueError(op)


def reference_oversold(frame: pl.DataFrame) -> list[float | None]:
    """oversold_score from the component columns of ``frame``, per date by loops."""
    total: list[float | None] = [0.0] * frame.height
    for name, weight in OVERSOLD_WEIGHTS.items():
        z = cross_section(frame, name, "zscore")
        sign = 1.0 if REGISTRY[name].higher_is_better else -1.0
        total = [
            None if t is None or zi is None else t + weight * sign * zi
            for t, zi in zip(total, z, strict=True)
        ]
    return total
