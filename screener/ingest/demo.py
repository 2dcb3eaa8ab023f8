"""Demo market: a synthetic, deterministic A-share nonferrous market, the embedded default source.

Why synthetic: every command, test and tutorial must run without network or licences. The
market is shaped so the real questions have answers: limit bars, suspensions, an ST spell, a
delisting, ex-rights days, and the Feb-2026 sector sell-off of the seed broker note.

Model, in order:
1. Random numbers (``demo_paths``) come from one generator per (seed, entity, calendar year),
   indexed by day of year, so the draws of a date never depend on ``end``; latent paths are
   built to at least ``HORIZON`` and cut, so adding a day never changes history.
2. Commodities (``demo_series``): Student-t walks on an industrial and a precious factor,
   bridged through rough real levels (``DRIVEN`` waypoints); LME/COMEX follow SHFE through
   USD/CNY plus a basis.
3. Stocks: a latent total-return path ``beta_mkt*CSI300 + beta_sector*sector + beta_metal*metal
   + AR(1) idiosyncratic (with jumps)``; raw closes chase it inside the exchange limits (so
   limit runs and one-price bars appear), with dividends and bonus shares on ex-dates.
4. Indices: 000300.SH is the market factor; 801050.SI and the L2 indices are float-cap-weighted
   total-return indices of their members. On the ``EPISODE`` days the sector shock is solved
   so the 801050.SI members' cap-weighted return hits the scripted target.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from screener import calendar, rules
from screener.ingest.demo_paths import D, Grid, ar1, bridge, seeded_draws, waypoints
from screener.ingest.demo_series import DRIVEN, driver, market_index, ohlc_frame, series_frame
from screener.ingest.importer import ImportResult, Source, write_rows
from screener.schema import (
    BARS_DAILY,
    INDEX_DAILY,
    INSTRUMENTS,
    SECTOR_INDEX,
    SERIES_DAILY,
    SW_L2,
)
from screener.store import Store, UpsertResult

START = D("2015-01-05")
JUMP_RATE = 3.0 / 242.0  # idiosyncratic news jumps per session
CALM = (D("2026-01-01"), D("2026-02-24"))  # no jumps: the scripted episode stays clean
ST_SPELL = (D("2019-04-08"), D("2019-10-31"))  # one main-board name is ST in this window
FALLBACK_DELIST = D("2021-02-24")  # used only when the master has no delisting in range
# Cap-weighted daily return of the 801050.SI members: -15.9% over the 7 sessions to
# 2026-02-06 (the broker note's "7 sessions, -15%"), then a partial rebound.
EPISODE: dict[dt.date, float] = {
    D(d): r
    for d, r in (
        ("2026-01-29", -0.020), ("2026-01-30", -0.045), ("2026-02-02", -0.030),
        ("2026-02-03", 0.010), ("2026-02-04", -0.035), ("2026-02-05", -0.035),
        ("2026-02-06", -0.015), ("2026-02-09", 0.035), ("2026-02-10", 0.020),
        ("2026-02-11", -0.005), ("2026-02-12", 0.015), ("2026-02-13", 0.010),
    )
}  # fmt: skip
INDEX_BASE = {SECTOR_INDEX: 3300.0, "801051.SI": 2500.0, "801053.SI": 1800.0,
              "801054.SI": 2600.0, "801055.SI": 2200.0, "801056.SI": 3000.0}  # fmt: skip


_CSI300 = waypoints(
    "2015-01-05 3641, 2015-06-08 5354, 2015-08-26 3025, 2016-01-28 2853, 2018-01-24 4389, "
    "2019-01-03 2965, 2021-02-10 5808, 2022-10-31 3508, 2024-02-05 3167, 2024-10-08 4256, "
    "2025-04-08 3563, 2025-12-31 4630, 2026-01-28 4700, 2026-02-06 4640, 2026-02-13 4660"
)
# The sector factor's level (nonferrous against the market), before the scripted episode.
_SECTOR = waypoints(
    "2015-01-05 1.0, 2015-06-12 1.28, 2016-01-28 0.86, 2017-08-31 1.22, 2018-12-28 0.78, "
    "2021-09-13 1.25, 2024-02-05 0.80, 2025-12-31 1.0"
)


@dataclass(frozen=True)
class DemoMarket:
    """Generated frames, conformed to their tables.

    ``instruments`` is the master as used: when it had no delisting after ``start``, one
    seasoned main-board name gets a made-up ``delist_date`` (noted as "demo delisting").
    """

    bars: pl.DataFrame
    index: pl.DataFrame
    series: pl.DataFrame
    instruments: pl.DataFrame


# -- stocks ----------------------------------------------------------------------------------


def _hash(seed: int, ticker: str) -> int:
    return zlib.crc32(f"{seed}:{ticker}".encode())


def _prepare_master(instruments: pl.DataFrame, start: dt.date, seed: int) -> pl.DataFrame:
    """The A-share master as used: with one demo delisting if none falls after ``start``."""
    master = INSTRUMENTS.conform(instruments, source="instruments").sort("ticker")
    shares = master.filter(pl.col("board").is_in(rules.BOARDS))
    if shares.filter(pl.col("delist_date") > start).height or not shares.height:
        return master
    seasoned = shares.filter(
        (pl.col("board") == "main") & pl.col("list_date").fill_null(start).le(start)
    )
    pool = (seasoned if seasoned.height else shares)["ticker"].to_list()
    pick = min(pool, key=lambda t: _hash(seed, t))
    when = max(FALLBACK_DELIST, start + dt.timedelta(days=400))
    note = pl.concat_str(
        pl.col("note"), pl.lit("demo delisting"), separator="; ", ignore_nulls=True
    )
    return master.with_columns(
        delist_date=pl.when(pl.col("ticker") == pick).then(pl.lit(when)).otherwise("delist_date"),
        note=pl.when(pl.col("ticker") == pick).then(note).otherwise("note"),
    )


@dataclass(frozen=True)
class _Universe:
    """Per-ticker constants of the A-shares with bars in the grid (arrays of length N)."""

    tickers: list[str]
    board: np.ndarray
    list_date: list[dt.date | None]
    sector: np.ndarray  # member of 801050.SI
    l2: np.ndarray
    series: list[str | None]
    first: np.ndarray  # grid row of the first bar
    last: np.ndarray  # grid row of the last bar (inclusive)
    ipo: np.ndarray  # listed inside the range: offer price, pop, no-limit first sessions
    p: np.ndarray  # (N, 9) uniforms: price, betas, vol, episode loading, size, turnover, pop

    @classmethod
    def build(cls, master: pl.DataFrame, grid: Grid, seed: int) -> _Universe:
        rows = master.filter(pl.col("board").is_in(rules.BOARDS)).to_dicts()
        start, keep = grid.dates[0], []
        for r in rows:
            first = grid.row(max(r["list_date"] or start, start))
            last = grid.row((r["delist_date"] or grid.dates[-1]) + dt.timedelta(days=1)) - 1
            if first <= last and first < grid.n:
                keep.append((r, first, last))
        keys = [zlib.crc32(f"params:{r['ticker']}".encode()) for r, _, _ in keep]
        p = [np.random.default_rng([seed, key]).random(9) for key in keys]
        return cls(
            tickers=[r["ticker"] for r, _, _ in keep],
            board=np.array([r["board"] for r, _, _ in keep], dtype=object),
            list_date=[r["list_date"] for r, _, _ in keep],
            sector=np.array([r["sw_l1"] == SECTOR_INDEX for r, _, _ in keep], dtype=bool),
            l2=np.array([r["sw_l2"] or "" for r, _, _ in keep], dtype=object),
            series=[driver(r["metals"]) for r, _, _ in keep],
            first=np.array([f for _, f, _ in keep], dtype=np.int64),
            last=np.array([la for _, _, la in keep], dtype=np.int64),
            ipo=np.array([(r["list_date"] or dt.date.min) >= start for r, _, _ in keep], bool),
            p=np.array(p).reshape(len(keep), 9),
        )

    @property
    def n(self) -> int:
        return len(self.tickers)

    @property
    def price0(self) -> np.ndarray:
        """Offer price (IPO) or price at ``start``: 3 to 60 CNY, log-uniform."""
        return np.round(np.exp(np.log(3.0) + self.p[:, 0] * np.log(20.0)), 2)

    @property
    def shares0(self) -> np.ndarray:
        """Float shares at the first bar: a float cap of 3 to 80 bn CNY."""
        return np.round(np.exp(np.log(3e9) + self.p[:, 6] * np.log(80 / 3)) / self.price0, -4)

    @property
    def sig(self) -> np.ndarray:
        """Daily idiosyncratic volatility."""
        return 0.012 + 0.01 * self.p[:, 4]


@dataclass(frozen=True)
class _Status:
    """(rows, N) masks and corporate actions on the full grid."""

    active: np.ndarray
    first: np.ndarray
    suspended: np.ndarray
    st: np.ndarray
    div_yield: np.ndarray  # cash dividend as a fraction of the previous close, on ex-dates
    bonus: np.ndarray  # bonus shares per 10 held (10送转n), on ex-dates

    @property
    def trading(self) -> np.ndarray:
        """Bars with a return: listed before today and not suspended."""
        return self.active & ~self.first & ~self.suspended


def _status(uni: _Universe, grid: Grid, events: list[dict[int, np.ndarray]], st: int) -> _Status:
    """Suspensions, ex-dates (moved to the next tradable day) and the ST spell of ticker ``st``."""
    rows = np.arange(grid.n)[:, None]
    active = (rows >= uni.first) & (rows <= uni.last)
    first = rows == uni.first
    susp = np.zeros_like(active)
    div, bonus = np.zeros(active.shape), np.zeros(active.shape, dtype=np.int64)
    for i, per_year in enumerate(events):
        for year, ev in per_year.items():
            if ev[5] < 0.12:
                s0 = dt.date(year, 1, 1) + dt.timedelta(days=10 + int(ev[6] * 330))
                susp[grid.row(s0) : grid.row(s0 + dt.timedelta(days=4 + int(ev[7] * 35))), i] = True
        susp[:, i] &= active[:, i] & ~first[:, i]
        ok = np.flatnonzero(active[:, i] & ~first[:, i] & ~susp[:, i])
        for year, ev in per_year.items():
            at = np.searchsorted(
                ok, grid.row(dt.date(year, 1, 1) + dt.timedelta(150 + int(ev[1] * 60)))
            )
            if at < ok.size and (ev[0] < 0.55 or ev[3] < 0.10):
                div[ok[at], i] = 0.004 + 0.025 * ev[2] if ev[0] < 0.55 else 0.0
                bonus[ok[at], i] = (2, 3, 5, 10)[int(ev[4] * 4)] if ev[3] < 0.10 else 0
    st_mask = np.zeros_like(active)
    if st >= 0:
        st_mask[grid.row(ST_SPELL[0]) : grid.row(ST_SPELL[1] + dt.timedelta(days=1)), st] = True
        st_mask &= active
    return _Status(active, first, susp, st_mask, div, bonus)


def _pick_st(uni: _Universe, grid: Grid, seed: int) -> int:
    """A seasoned main-board name trading through the whole ST spell (-1 if none)."""
    a, b = grid.row(ST_SPELL[0]), grid.row(ST_SPELL[1])
    ok = [
        i for i in range(uni.n) if uni.board[i] == "main" and uni.first[i] < a and uni.last[i] > b
    ]
    return min(ok, key=lambda i: _hash(seed, uni.tickers[i])) if ok and b < grid.n else -1


def _solve_shock(
    base: np.ndarray, k: np.ndarray, weight: np.ndarray, moving: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Shock per row so the ``weight``-ed mean of expm1(base + k * shock) equals ``target``.

    Members that do not move that day (suspended) keep their weight with a zero return.
    """
    lo, hi = np.full(len(target), -1.0), np.full(len(target), 1.0)
    total = np.maximum(weight.sum(axis=1), 1e-300)
    for _ in range(60):  # bisection: the mean is increasing in the shock since k > 0
        mid = (lo + hi) / 2
        val = (weight * np.where(moving, np.expm1(base + np.outer(mid, k)), 0.0)).sum(axis=1)
        lo, hi = np.where(val < target * total, mid, lo), np.where(val < target * total, hi, mid)
    return np.where(weight.sum(axis=1) > 0, (lo + hi) / 2, np.log1p(target))


def _prices(ret: np.ndarray, uni: _Universe) -> np.ndarray:
    """Latent price from daily log returns: the offer (or start) price at the first bar."""
    level = np.cumsum(ret, axis=0)
    before = np.where(uni.first > 0, level[np.maximum(uni.first - 1, 0), np.arange(uni.n)], 0.0)
    pop = (0.2 + 0.8 * uni.p[:, 8]) * uni.ipo  # IPO pop above the offer price
    log_price = np.log(uni.price0) + level - before + pop
    # A smooth, monotone floor: moves fade below 4 CNY, as A-share penny stocks are rare.
    floor = np.log(4.0)
    return np.exp(
        np.where(log_price < floor, floor - np.log1p(np.maximum(floor - log_price, 0)), log_price)
    )


def _latent(
    uni: _Universe, grid: Grid, status: _Status, factors: np.ndarray, metal: dict[str, np.ndarray],
    draws: tuple[np.ndarray, np.ndarray], st: int,
) -> np.ndarray:  # fmt: skip
    """Latent total-return price (rows, N) that raw closes chase; solves the episode shock."""
    p, n = uni.p, grid.n
    beta_m, beta_s = 0.6 + 0.7 * p[:, 1], 0.6 + 0.8 * p[:, 2]
    k = beta_s * (0.4 + 1.4 * p[:, 5])  # episode loading: the 'mis-killed' names have a high one
    x = np.zeros((n, uni.n))
    for i, sid in enumerate(uni.series):  # metal beta 0.3-0.9, damped for the wildest series
        x[:, i] = (
            metal[sid] * (0.3 + 0.6 * p[i, 3]) * min(1.0, 0.012 / DRIVEN[sid].vol) if sid else 0
        )
    u = draws[1][:, :, 0] / JUMP_RATE
    jump = np.where(u < 1.0, np.where(u < 0.5, 1.0, -1.0) * (0.08 + 0.32 * (2 * u % 1.0)), 0.0)
    jump[grid.row(CALM[0]) : grid.row(CALM[1])] = 0.0
    if st >= 0:
        jump[grid.row(ST_SPELL[0]), st] = -0.25  # the ST announcement
    idio = ar1(uni.sig * draws[0][:, :, 0] + jump, 0.997)
    m, s = factors[:, 0], factors[:, 1]
    ret = np.outer(m, beta_m) + np.outer(s, beta_s) + x + np.diff(idio, axis=0, prepend=0)
    rows = np.arange(n)[:, None]
    ret -= 0.004 * ((rows > uni.last - 60) & (rows <= uni.last) & (uni.last < n - 1))  # delisting
    e = np.array([grid.row(d) for d in EPISODE if grid.dates[0] <= d <= grid.dates[-1]], dtype=int)
    if e.size:  # weights: float caps the day before the episode, as the index weighs them
        held = uni.sector & status.active[e] & ~status.first[e]
        weight = held * _prices(ret, uni)[max(e[0] - 1, 0)] * uni.shares0
        base = ret[e] - np.outer(s[e], beta_s)
        target = np.array([EPISODE[grid.dates[r]] for r in e])
        ret[e] = base + np.outer(_solve_shock(base, k, weight, status.trading[e], target), k)
    return _prices(ret, uni)


def _limit_pct(uni: _Universe, status: _Status, grid: Grid, n: int) -> np.ndarray:
    """(n, N) limit percent from ``rules.limit_pct_expr`` (NaN: no limit that day)."""
    rows = np.arange(n)[:, None]
    session_no = np.where(uni.ipo, rows - uni.first + 1, 0).ravel()
    listed = np.array([d or np.datetime64("NaT") for d in uni.list_date], dtype="datetime64[D]")
    frame = pl.DataFrame(
        {
            "board": np.tile(uni.board.astype(str), n),
            "is_st": status.st[:n].ravel(),
            "date": np.repeat(grid.days[:n], uni.n),
            "session_no": pl.Series(session_no).replace(0, None),
            "list_date": np.tile(listed, n),
        }
    )
    pct = frame.select(rules.limit_pct_expr()).to_series().cast(pl.Float64)
    return pct.fill_null(np.nan).to_numpy().reshape(n, uni.n)


def _simulate(
    latent: np.ndarray, pct: np.ndarray, status: _Status, offer: np.ndarray
) -> dict[str, np.ndarray]:
    """Raw prices day by day: ex-rights reference, limits, then the close chasing the latent."""
    n, width = pct.shape
    out = {
        k: np.full((n, width), np.nan)
        for k in ("prev_close", "close", "adj", "up", "down", "want", "bonus")
    }
    close, adj = np.full(width, np.nan), np.ones(width)
    for t in range(n):
        pc = np.where(status.first[t], offer, close)
        bonus = np.where(pc >= 15.0, status.bonus[t], 0)  # 高送转 comes with a high price
        ex = (status.div_yield[t] > 0) | (bonus > 0)
        if ex.any():  # ex-rights reference = (close - cash) / (1 + bonus), half-up to the fen
            fen = np.rint(np.nan_to_num(pc) * 100).astype(np.int64)
            cash = np.where(
                status.div_yield[t] > 0, np.maximum(np.rint(status.div_yield[t] * fen), 1), 0
            )
            den = 10 + bonus
            ref = np.maximum((20 * (fen - cash.astype(np.int64)) + den) // (2 * den), 1)
            adj = np.where(ex, adj * fen / ref, adj)
            pc = np.where(ex, ref / 100.0, pc)
        up, down = rules.limit_prices(pc, pct[t])
        want = latent[t] / adj
        c = np.fmin(np.fmax(np.maximum(np.rint(want * 100) / 100, 0.01), down), up)
        c = np.where(status.suspended[t], pc, c)
        close = np.where(status.active[t], c, close)
        for name, v in zip(out, (pc, c, adj, up, down, want, bonus), strict=True):
            out[name][t] = v
    return out


def _bars(
    uni: _Universe,
    status: _Status,
    sim: dict[str, np.ndarray],
    draws: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """Open, high, low, volume and amount around the simulated closes; one-price limit bars."""
    pc, c, up, down = sim["prev_close"], sim["close"], sim["up"], sim["down"]
    n = pc.shape[0]
    z, u, sig = draws[0][:n], draws[1][:n], uni.sig
    susp, first = status.suspended[:n], status.first[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(c / pc)
        o = pc * np.exp(0.35 * r + 0.5 * sig * z[:, :, 1])
        h = np.maximum(o, c) * (1 + 0.6 * sig * -np.log1p(-u[:, :, 1]))
        lo = np.maximum(np.minimum(o, c) * (1 - 0.6 * sig * -np.log1p(-u[:, :, 2])), 0.01)
        o, h, lo = (np.fmin(np.fmax(np.rint(v * 100) / 100, down), up) for v in (o, h, lo))
        one = ((c == up) & (sim["want"] > up * 1.06)) | ((c == down) & (sim["want"] < down * 0.94))
        o, h, lo = (np.where(one | susp, c, v) for v in (o, h, lo))
        h, lo = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
        shares = uni.shares0 * np.cumprod(1 + np.nan_to_num(sim["bonus"]) / 10, axis=0)
        turnover = (0.006 + 0.024 * uni.p[:, 7]) * np.exp(0.4 * z[:, :, 2] + 5 * np.abs(r))
        volume = shares * np.minimum(
            turnover * np.where(one, 0.05, 1) * np.where(first, 20, 1), 0.7
        )
        volume = np.where(susp, 0, np.maximum(np.rint(volume / 100), 1) * 100)
        amount = np.round(volume * (o + h + lo + c) / 4, 2)
    return {"open": o, "high": h, "low": lo, "volume": volume, "amount": amount, "shares": shares}


# -- indices and assembly -------------------------------------------------------------------


def _member_index(
    code: str, members: np.ndarray, days: np.ndarray, status: _Status, px: dict[str, np.ndarray]
) -> pl.DataFrame | None:
    """Float-cap-weighted total-return index of ``members`` (as Shenwan weighs by float cap).

    Weights are shares x prev_close; a suspended member keeps its weight at a zero return.
    """
    n = len(days)
    held = members & status.active[:n]
    if not held.any():
        return None
    w = np.where(held & ~status.first[:n], px["shares"] * px["prev_close"], 0.0)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = {
            k: np.where(total > 0, np.nansum(w * px[k] / px["prev_close"], axis=1) / total, 1.0)
            for k in ("open", "high", "low", "close")
        }
    t0 = int(np.argmax(held.any(axis=1)))
    base = INDEX_BASE[code]
    close = base * np.cumprod(mean["close"][t0:])
    prev = np.concatenate([[base], close[:-1]])
    o = prev * mean["open"][t0:]
    volume, amount = (np.where(held, px[k], 0).sum(axis=1)[t0:] for k in ("volume", "amount"))
    h = np.maximum.reduce([prev * mean["high"][t0:], o, close])
    lo = np.minimum.reduce([prev * mean["low"][t0:], o, close])
    return ohlc_frame(code, days[t0:], o, h, lo, close, volume.astype(float), amount)


def _long(
    uni: _Universe, status: _Status, days: np.ndarray, cols: dict[str, np.ndarray]
) -> pl.DataFrame:
    """BARS_DAILY rows (ticker, date order) from (rows, N) matrices, for active cells only."""
    n = len(days)
    i, t = np.nonzero(status.active[:n].T)
    data: dict[str, object] = {"ticker": np.array(uni.tickers, dtype=object)[i], "date": days[t]}
    for name, m in cols.items():
        data[name] = pl.Series(name, m[t, i], nan_to_null=True) if m.dtype.kind == "f" else m[t, i]
    return BARS_DAILY.conform(pl.DataFrame(data))


def generate(
    instruments: pl.DataFrame,
    *,
    start: dt.date = START,
    end: dt.date,
    seed: int = 20260208,
) -> DemoMarket:
    """The demo market from ``start`` to ``end`` for the A-shares in ``instruments``.

    Pure and deterministic: the same seed gives the same rows, and a later ``end`` only adds
    rows. Needs INSTRUMENTS columns; HK listings get no bars.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    grid = Grid.build(start, end)
    n = grid.row(end + dt.timedelta(days=1))
    series, metal = series_frame(seed, grid, end)
    f = seeded_draws(seed, "factor:market", grid, 6)[0]
    logs = bridge(0.013 * f[:, 0], grid, _CSI300), bridge(0.011 * f[:, 1], grid, _SECTOR)
    factors = np.column_stack([np.diff(v, prepend=v[0]) for v in logs])
    master = _prepare_master(instruments, start, seed)
    uni = _Universe.build(master, grid, seed)
    per = [seeded_draws(seed, f"stock:{t}", grid, 3, 3) for t in uni.tickers]
    draws = (
        np.stack([d[0] for d in per], axis=1) if per else np.zeros((grid.n, 0, 3)),
        np.stack([d[1] for d in per], axis=1) if per else np.zeros((grid.n, 0, 3)),
    )
    st = _pick_st(uni, grid, seed)
    status = _status(uni, grid, [d[2] for d in per], st)
    latent = _latent(uni, grid, status, factors, metal, draws, st)
    sim = _simulate(latent[:n], _limit_pct(uni, status, grid, n), status, uni.price0)
    px = {"prev_close": sim["prev_close"], "close": sim["close"], **_bars(uni, status, sim, draws)}
    cols = {**px, "adj_factor": sim["adj"], "suspended": status.suspended[:n],
            "up_limit": sim["up"], "down_limit": sim["down"], "is_st": status.st[:n]}  # fmt: skip
    days = grid.days[:n]
    index = [market_index(days, logs[0][:n], f[:n, 2:])]
    groups = {SECTOR_INDEX: uni.sector} | {code: uni.l2 == code for code in SW_L2}
    index += [
        x
        for code, mask in groups.items()
        if (x := _member_index(code, mask, days, status, px)) is not None
    ]
    return DemoMarket(
        bars=_long(uni, status, days, cols),
        index=INDEX_DAILY.conform(pl.concat(index)),
        series=series,
        instruments=master,
    )


def load(
    store: Store, *, end: dt.date | None = None, instruments: pl.DataFrame | None = None
) -> dict[str, UpsertResult | ImportResult]:
    """Write the demo market (and its instrument master) into ``store`` in one transaction.

    ``end`` defaults to the last XSHG session on or before today; ``instruments`` to the
    maintained master. Deterministic, so a second run reports every row unchanged. Market data
    goes through the same column-wise merge as every import (one ``imports`` row per table).
    """
    if instruments is None:
        from screener.instruments import load_master  # lazy: the master reads a CSV

        instruments = load_master()
    end = end or calendar.last_session_on_or_before(dt.date.today())
    market = generate(instruments, end=end)
    with store.transaction():
        results: dict[str, UpsertResult | ImportResult] = {
            INSTRUMENTS.name: store.upsert(INSTRUMENTS.name, market.instruments, source="demo")
        }
        for kind, table, frame in (
            ("bars", BARS_DAILY, market.bars),
            ("index", INDEX_DAILY, market.index),
            ("series", SERIES_DAILY, market.series),
        ):
            source = Source("demo", "the synthetic demo market", kind)
            results[table.name] = write_rows(store, table, frame, source)
        store.set_meta("data_source", "demo")
    return results
