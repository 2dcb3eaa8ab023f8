"""Demo commodity series (SHFE/GFEX/SMM/FX walks through rough real levels, LME/COMEX derived)
and the bars of its indices.

Model step 2 of screener.ingest.demo: Student-t walks on an industrial and a precious factor,
bridged through waypoints; LME/COMEX follow SHFE through USD/CNY plus a basis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from screener import metals
from screener.ingest.demo_paths import (
    D,
    Grid,
    Waypoints,
    ar1,
    bridge,
    seeded_draws,
    to_tick,
    waypoints,
)
from screener.schema import MARKET_INDEX, SERIES_DAILY


@dataclass(frozen=True)
class Spec:
    """A driven series: daily vol, price tick, factor loadings, typical volume, waypoints."""

    vol: float
    tick: float
    ind: float
    pm: float
    lots: float
    path: Waypoints


# Rough public levels (demo only), ending in the episode: base metals hold, precious fall.
DRIVEN: dict[str, Spec] = {
    "SHFE.CU": Spec(0.011, 10, 0.7, 0.1, 1.2e5, waypoints(
        "2015-01-05 45000, 2016-01-15 35500, 2018-06-08 55000, 2020-03-23 36500, "
        "2021-05-10 76000, 2022-07-15 53000, 2024-05-20 87000, 2025-01-02 73500, "
        "2025-12-31 98000, 2026-01-28 103000, 2026-02-06 99800, 2026-02-13 101500")),
    "SHFE.AL": Spec(0.009, 5, 0.6, 0.0, 2.0e5, waypoints(
        "2015-01-05 13200, 2015-11-25 9900, 2017-09-05 16500, 2020-04-01 11300, "
        "2021-10-15 24000, 2023-06-01 18000, 2025-12-31 22500, 2026-01-28 24500, "
        "2026-02-06 23600, 2026-02-13 23800")),
    "SHFE.ZN": Spec(0.012, 5, 0.6, 0.0, 1.5e5, waypoints(
        "2015-01-05 16800, 2016-01-15 12800, 2018-02-20 27000, 2020-03-23 14800, "
        "2022-04-15 28500, 2024-02-01 20500, 2026-01-28 25300, 2026-02-06 24300, "
        "2026-02-13 24500")),
    "SHFE.PB": Spec(0.010, 5, 0.5, 0.0, 1.0e5, waypoints(
        "2015-01-05 12800, 2016-01-15 13000, 2017-01-03 20000, 2018-07-02 18500, "
        "2020-03-23 13500, 2022-07-01 15000, 2024-05-20 18500, 2026-01-28 17300, "
        "2026-02-06 16900, 2026-02-13 17000")),
    "SHFE.SN": Spec(0.014, 10, 0.5, 0.0, 6.0e4, waypoints(
        "2015-01-05 128000, 2016-01-15 88000, 2022-03-08 340000, 2022-10-24 170000, "
        "2024-05-20 280000, 2025-12-31 330000, 2026-01-28 385000, 2026-02-06 368000, "
        "2026-02-13 375000")),
    "SHFE.NI": Spec(0.016, 10, 0.5, 0.0, 3.0e5, waypoints(
        "2015-01-05 118000, 2016-02-10 66000, 2022-03-07 220000, 2024-12-31 126000, "
        "2026-01-28 145000, 2026-02-06 136000, 2026-02-13 138000")),
    "SHFE.AU": Spec(0.009, 0.02, 0.1, 0.9, 2.0e5, waypoints(
        "2015-01-05 240, 2016-07-06 295, 2018-08-16 262, 2020-08-06 445, 2022-11-03 385, "
        "2024-10-30 630, 2025-10-20 990, 2026-01-28 1240, 2026-02-06 1100, 2026-02-13 1130")),
    "SHFE.AG": Spec(0.016, 1, 0.3, 0.8, 6.0e5, waypoints(
        "2015-01-05 3500, 2016-07-06 4600, 2020-03-18 3100, 2020-08-07 6600, "
        "2022-08-31 4100, 2024-05-20 8300, 2025-10-16 12500, 2026-01-28 28000, "
        "2026-02-06 19500, 2026-02-13 20500")),
    "GFEX.LC": Spec(0.025, 20, 0.3, 0.0, 4.0e5, waypoints(
        "2015-01-05 42000, 2017-12-01 170000, 2020-07-01 40000, 2022-11-15 560000, "
        "2023-07-21 250000, 2024-08-01 78000, 2025-06-20 60000, 2025-12-31 120000, "
        "2026-01-28 138000, 2026-02-06 133000, 2026-02-13 136000")),
    "SMM.NDPR": Spec(0.015, 500, 0.2, 0.0, 0, waypoints(
        "2015-01-05 300000, 2017-08-10 450000, 2020-01-02 280000, 2022-02-24 900000, "
        "2024-09-02 380000, 2025-12-31 620000, 2026-01-28 740000, 2026-02-06 770000, "
        "2026-02-13 775000")),
    "SMM.CO": Spec(0.015, 500, 0.3, 0.0, 0, waypoints(
        "2015-01-05 230000, 2018-04-02 680000, 2019-07-01 230000, 2022-03-01 560000, "
        "2024-12-02 170000, 2025-12-31 420000, 2026-01-28 440000, 2026-02-06 420000, "
        "2026-02-13 425000")),
    "SMM.W": Spec(0.012, 500, 0.2, 0.0, 0, waypoints(
        "2015-01-05 90000, 2016-01-04 60000, 2022-01-04 110000, 2024-06-03 140000, "
        "2025-12-31 480000, 2026-01-28 600000, 2026-02-06 673000, 2026-02-13 680000")),
    "FX.USDCNY": Spec(0.0025, 0.0001, -0.2, 0.0, 0, waypoints(
        "2015-01-05 6.20, 2016-12-30 6.95, 2018-03-26 6.28, 2019-09-03 7.16, 2021-05-31 6.37, "
        "2022-10-31 7.30, 2025-01-02 7.30, 2025-12-31 7.02, 2026-02-06 6.94, 2026-02-13 6.93")),
}  # fmt: skip
# Foreign prices from the domestic one: base * mult / (USDCNY * vat), plus a small basis.
DERIVED: dict[str, tuple[str, float, float, float, float]] = {  # base, mult, vat, tick, lots
    **{
        f"LME.{code}.{tenor}": (f"SHFE.{code}", 1.0, 1.13, 0.5, 0)
        for code in ("CU", "AL", "ZN", "PB", "NI", "SN")
        for tenor in ("CASH", "3M")
    },
    "COMEX.HG": ("SHFE.CU", 1 / 2204.62, 1.13, 0.0005, 1.0e5),  # CNY/t -> USD/lb
    "COMEX.GC": ("SHFE.AU", 31.1035, 1.0, 0.1, 2.0e5),
    "COMEX.SI": ("SHFE.AG", 0.0311035, 1.13, 0.005, 7.0e4),
}
LISTED = {"GFEX.LC": D("2023-07-21")}  # the latent price exists before; rows only from listing


def driver(tags: list[str] | None) -> str | None:
    """The series a demo stock's latent price loads on: its metal's first (domestic) one."""
    metal = metals.metal_of(tags)
    return metals.METAL_SERIES[metal][0] if metal else None


def commodity_logs(seed: int, grid: Grid) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Log close paths of every series and the draws their bars are made from."""
    f, _, _ = seeded_draws(seed, "factor:metals", grid, 2)
    logs, z = {}, {}
    for sid, spec in DRIVEN.items():
        z[sid] = seeded_draws(seed, f"series:{sid}", grid, 6)[0]
        own = np.sqrt(max(0.0, 1.0 - spec.ind**2 - spec.pm**2))
        r = spec.vol * (spec.ind * f[:, 0] + spec.pm * f[:, 1] + own * z[sid][:, 0])
        logs[sid] = bridge(r, grid, spec.path)
    for sid, (base, mult, vat, _, _) in DERIVED.items():
        z[sid] = seeded_draws(seed, f"series:{sid}", grid, 6)[0]
        basis = ar1(0.003 * z[sid][:, :1], 0.95)[:, 0]
        logs[sid] = logs[base] + np.log(mult / vat) - logs["FX.USDCNY"] + basis
    return logs, z


def series_frame(seed: int, grid: Grid, end: dt.date) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """SERIES_DAILY rows to ``end``; also returns each series' daily log return (full grid)."""
    logs, z = commodity_logs(seed, grid)
    n = grid.row(end + dt.timedelta(days=1))
    parts = []
    for sid, meta in metals.SERIES.items():
        spec = DRIVEN.get(sid)
        vol = spec.vol if spec else DRIVEN[DERIVED[sid][0]].vol
        tick, lots = (spec.tick, spec.lots) if spec else DERIVED[sid][3:]
        c = np.exp(logs[sid][:n])
        prev = np.exp(np.concatenate([logs[sid][:1], logs[sid][: n - 1]]))
        zz = z[sid][:n]
        o = prev * np.exp(0.3 * np.log(c / prev) + 0.25 * vol * zz[:, 1])
        h = np.maximum(o, c) * np.exp(0.4 * vol * np.abs(zz[:, 2]))
        lo = np.minimum(o, c) * np.exp(-0.4 * vol * np.abs(zz[:, 3]))
        settle = np.clip(c * np.exp(0.2 * vol * zz[:, 4]), lo, h)
        c, o, h, lo, settle = (to_tick(x, tick) for x in (c, o, h, lo, settle))
        if meta.exchange in ("LME", "SMM"):  # one published price a day
            o, h, lo, settle = c, c, c, c
        if meta.exchange == "FX":
            settle = c
        h, lo = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
        volume = lots * np.exp(0.3 * zz[:, 5] + 8.0 * np.abs(np.log(c / prev)))
        oi = lots * 2.5 * np.exp(0.1 * ar1(zz[:, 5:6], 0.98)[:, 0])
        cols = {"open": o, "high": h, "low": lo, "close": c, "settle": settle}
        if lots:
            cols |= {"volume": np.round(volume), "open_interest": np.round(oi)}
        frame = pl.DataFrame({"series_id": sid, "date": grid.days[:n], **cols})
        frame = frame.with_columns(unit=pl.lit(meta.unit), currency=pl.lit(meta.currency))
        parts.append(frame.filter(pl.col("date") >= LISTED.get(sid, dt.date.min)))
    returns = {sid: np.diff(v, prepend=v[0]) for sid, v in logs.items()}
    return SERIES_DAILY.conform(pl.concat(parts, how="diagonal_relaxed")), returns


# -- indices ----------------------------------------------------------------------------------
def ohlc_frame(code: str, days: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                c: np.ndarray, volume: np.ndarray, amount: np.ndarray) -> pl.DataFrame:  # fmt: skip
    """An INDEX_DAILY frame, levels rounded to 0.01 and high/low kept around open and close."""
    o, h, lo, c = (np.round(v, 2) for v in (o, h, lo, c))
    h, lo = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
    return pl.DataFrame({"index_code": code, "date": days, "open": o, "high": h, "low": lo,
                         "close": c, "volume": volume, "amount": np.round(amount, 2)})  # fmt: skip


def market_index(days: np.ndarray, log_level: np.ndarray, z: np.ndarray) -> pl.DataFrame:
    """CSI 300: the market factor itself, with a plausible bar around each close."""
    c = np.exp(log_level)
    prev = np.concatenate([c[:1], c[:-1]])
    o = prev * np.exp(0.3 * np.log(c / prev) + 0.002 * z[:, 0])
    h = np.maximum(o, c) * np.exp(0.004 * np.abs(z[:, 1]))
    lo = np.minimum(o, c) * np.exp(-0.004 * np.abs(z[:, 2]))
    volume = np.round(1.1e10 * np.exp(0.3 * z[:, 3]), -2)
    return ohlc_frame(MARKET_INDEX, days, o, h, lo, c, volume, volume * 24.0)
