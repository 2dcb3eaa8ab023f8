"""Backtest metrics with A-share annualisation, drawdowns, deflated Sharpe and walk-forward splits.

Everything annualises with ``SESSIONS_PER_YEAR`` = 242 XSHG sessions, not 252. Outputs are
JSON-safe: a metric that is undefined (flat equity, no trades, zero volatility) is ``None``,
never ``inf`` or ``NaN``, and dates are ISO strings, so reports and the run manifest can store
them as they are.

Return-based metrics use simple session returns ``value[t] / value[t-1] - 1`` of the equity
curve. ``risk_free`` is an annual rate, compounded to a per-session rate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

SESSIONS_PER_YEAR = 242
# A standard deviation below this is the float noise of a constant series, not risk.
_ZERO_SD = 1e-12
_EULER_GAMMA = 0.5772156649015329


def _num(x: float | np.floating[Any] | None) -> float | None:
    """A JSON-safe float: ``None`` for missing, ``inf`` and ``NaN``."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _equity(equity: pl.DataFrame) -> pl.DataFrame:
    """Validate an equity frame (date, value[, positions_value]) and sort it by date."""
    missing = {"date", "value"} - set(equity.columns)
    if missing:
        raise ValueError(f"equity frame lacks column(s) {sorted(missing)}")
    eq = equity.sort("date").with_columns(pl.col("value").cast(pl.Float64))
    if eq.height == 0:
        raise ValueError("equity frame is empty")
    if eq.get_column("date").is_duplicated().any():
        raise ValueError("equity frame has duplicate dates")
    values = eq.get_column("value").to_numpy()
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("equity values must be finite and positive")
    return eq


def _simple_returns(values: np.ndarray) -> np.ndarray:
    return values[1:] / values[:-1] - 1.0


def _per_session(annual_rate: float) -> float:
    return (1.0 + annual_rate) ** (1.0 / SESSIONS_PER_YEAR) - 1.0


def _risk_ratios(rets: np.ndarray, rf_session: float) -> dict[str, float | None]:
    """Annualised volatility, Sharpe and Sortino; Sortino's downside deviation targets rf."""
    if rets.size < 2:
        return {"volatility": None, "sharpe": None, "sortino": None}
    root = math.sqrt(SESSIONS_PER_YEAR)
    sd = float(rets.std(ddof=1))
    excess = rets - rf_session
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    flat = sd < _ZERO_SD
    return {
        "volatility": 0.0 if flat else sd * root,
        "sharpe": None if flat else _num(excess.mean() / sd * root),
        "sortino": None if downside < _ZERO_SD else _num(excess.mean() / downside * root),
    }


def _drawdown(dates: list[dt.date], values: np.ndarray) -> dict[str, Any]:
    """Deepest peak-to-trough fall: start = last session at the peak, end = first back at it."""
    peak = np.maximum.accumulate(values)
    depth = values / peak - 1.0
    trough = int(np.argmin(depth))
    if depth[trough] >= 0.0:
        return {"max_drawdown": 0.0, "start": None, "trough": None, "end": None}
    top = peak[trough]
    start = int(np.flatnonzero(values[: trough + 1] >= top)[-1])
    recovered = np.flatnonzero(values[trough:] >= top)
    end = trough + int(recovered[0]) if recovered.size else None
    return {
        "max_drawdown": float(depth[trough]),
        "start": dates[start],
        "trough": dates[trough],
        "end": None if end is None else dates[end],
    }


def _exposure(eq: pl.DataFrame, trades: pl.DataFrame | None) -> float | None:
    """Share of sessions that end holding a position.

    From ``positions_value`` when the equity frame has it, else from the trades' holding spans
    (``names_held``).
    """
    if "positions_value" in eq.columns:
        held = eq.get_column("positions_value").fill_null(0.0).abs() > 0.0
        return float(held.mean())  # type: ignore[arg-type]
    if trades is None:
        return None
    return float((names_held(eq.get_column("date"), trades) > 0).mean())


def names_held(days: pl.Series, trades: pl.DataFrame) -> np.ndarray:
    """How many round trips are open at the close of each of ``days`` (sorted sessions).

    A trip is held at the close of entry_date .. the session before exit_date (a sale at the
    open or the close of exit_date leaves it flat by that close); an open trip to the end.
    """
    spans = trades.select(
        entry=pl.col("entry_date").cast(days.dtype),
        stop=pl.col("exit_date").cast(days.dtype).fill_null(days.max()),
        open_=pl.col("exit_date").is_null(),
    ).drop_nulls("entry")
    sorted_days = days.to_numpy()
    starts = np.searchsorted(sorted_days, spans.get_column("entry").to_numpy(), side="left")
    stops = np.searchsorted(sorted_days, spans.get_column("stop").to_numpy(), side="left")
    stops = np.where(spans.get_column("open_").to_numpy(), days.len(), stops)
    # +1 where a holding span starts, -1 where it stops; the running sum counts open positions.
    delta = np.zeros(days.len() + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, stops, -1)
    return np.cumsum(delta)[:-1]


def _trade_stats(trades: pl.DataFrame | None, mean_equity: float, years: float) -> dict[str, Any]:
    """Hit rate and average win/loss of closed round trips, and annualised two-sided turnover."""
    if trades is None:
        return dict.fromkeys(("turnover", "hit_rate", "avg_win", "avg_loss", "trades"))
    closed = trades.filter(pl.col("exit_date").is_not_null() & pl.col("pnl").is_not_null())
    leg = pl.col("shares").cast(pl.Float64)
    traded = trades.select(
        (pl.col("entry_price").cast(pl.Float64) * leg).sum()
        + (pl.col("exit_price").cast(pl.Float64) * leg)
        .filter(pl.col("exit_date").is_not_null())
        .sum()
    ).item()
    wins = closed.filter(pl.col("pnl") > 0).get_column("return_pct")
    losses = closed.filter(pl.col("pnl") < 0).get_column("return_pct")
    n = closed.height
    return {
        "turnover": _num(traded / mean_equity / years) if years > 0 else None,
        "hit_rate": wins.len() / n if n else None,
        "avg_win": _num(wins.mean()) if wins.len() else None,  # type: ignore[arg-type]
        "avg_loss": _num(losses.mean()) if losses.len() else None,  # type: ignore[arg-type]
        "trades": n,
    }


def _benchmark_stats(eq: pl.DataFrame, bench: pl.DataFrame) -> dict[str, Any]:
    """Strategy against one benchmark on their common sessions.

    beta and alpha come from the OLS line of session strategy returns on benchmark returns
    (alpha annualised x242); the information ratio is mean active return over its standard
    deviation, annualised with sqrt(242).
    """
    joined = (
        eq.select("date", "value")
        .join(bench.select("date", pl.col("close").cast(pl.Float64)), on="date", how="inner")
        .drop_nulls()
        .sort("date")
    )
    out: dict[str, Any] = dict.fromkeys(
        ("total_return", "excess_return", "beta", "alpha", "information_ratio", "correlation")
    )
    out["n_obs"] = max(joined.height - 1, 0)
    if joined.height < 2:
        return out
    strat, ref = joined.get_column("value").to_numpy(), joined.get_column("close").to_numpy()
    rs, rb = _simple_returns(strat), _simple_returns(ref)
    out["total_return"] = _num(ref[-1] / ref[0] - 1.0)
    out["excess_return"] = _num((strat[-1] / strat[0] - 1.0) - (ref[-1] / ref[0] - 1.0))
    if rs.size < 2:
        return out
    sd_s, sd_b = float(rs.std(ddof=1)), float(rb.std(ddof=1))
    if sd_b >= _ZERO_SD:
        beta = float(np.cov(rs, rb, ddof=1)[0, 1] / rb.var(ddof=1))
        out["beta"] = _num(beta)
        out["alpha"] = _num((rs.mean() - beta * rb.mean()) * SESSIONS_PER_YEAR)
        if sd_s >= _ZERO_SD:
            out["correlation"] = _num(np.corrcoef(rs, rb)[0, 1])
    active = rs - rb
    tracking = float(active.std(ddof=1))
    if tracking >= _ZERO_SD:
        out["information_ratio"] = _num(active.mean() / tracking * math.sqrt(SESSIONS_PER_YEAR))
    return out


def performance_metrics(
    equity: pl.DataFrame,
    *,
    trades: pl.DataFrame | None = None,
    benchmarks: dict[str, pl.DataFrame] | None = None,
    costs_paid: float | None = None,
    risk_free: float = 0.0,
) -> dict[str, Any]:
    """Headline metrics of one backtest, JSON-safe.

    Needs ``equity`` (date, value[, positions_value]); ``trades`` follows the execution
    layer's contract (ticker, entry_date, exit_date, entry_price, exit_price, shares, pnl,
    return_pct as a fraction; may be empty); each benchmark is (date, close).
    Turnover counts both legs: buying and later selling the whole book once a year is 2.0.
    """
    eq = _equity(equity)
    dates = eq.get_column("date").to_list()
    values = eq.get_column("value").to_numpy()
    rets = _simple_returns(values)
    years = rets.size / SESSIONS_PER_YEAR
    total = float(values[-1] / values[0] - 1.0)
    annual = _num((1.0 + total) ** (1.0 / years) - 1.0) if years > 0 else None
    dd = _drawdown(dates, values)
    mdd = dd["max_drawdown"]
    out: dict[str, Any] = {
        "start": _iso(dates[0]),
        "end": _iso(dates[-1]),
        "sessions": len(dates),
        "total_return": total,
        "annual_return": annual,
        **_risk_ratios(rets, _per_session(risk_free)),
        "max_drawdown": mdd,
        "max_drawdown_start": _iso(dd["start"]),
        "max_drawdown_trough": _iso(dd["trough"]),
        "max_drawdown_end": _iso(dd["end"]),
        "calmar": _num(annual / -mdd) if annual is not None and mdd < 0 else None,
        "exposure": _exposure(eq, trades),
        **_trade_stats(trades, float(values.mean()), years),
        "costs_paid": _num(costs_paid),
    }
    out["benchmarks"] = {
        name: _benchmark_stats(eq, frame) for name, frame in (benchmarks or {}).items()
    }
    return out


def drawdown_series(equity: pl.DataFrame) -> pl.DataFrame:
    """(date, drawdown): the fall from the running peak, 0 at a new high, negative below it."""
    eq = _equity(equity)
    return eq.select("date", drawdown=pl.col("value") / pl.col("value").cum_max() - 1.0)


def monthly_returns(equity: pl.DataFrame) -> pl.DataFrame:
    """(year, month, ret) from month-end to month-end, for a heatmap.

    The first month runs from the first equity value, since the month before is unknown.
    """
    eq = _equity(equity)
    first = eq.get_column("value")[0]
    ends = eq.group_by(
        year=pl.col("date").dt.year(), month=pl.col("date").dt.month(), maintain_order=True
    ).agg(pl.col("value").last())
    base = pl.col("value").shift(1).fill_null(first)
    return ends.select("year", "month", ret=pl.col("value") / base - 1.0)


def sharpe_moments(equity: pl.DataFrame) -> dict[str, float | int | None]:
    """Per-session Sharpe, n_obs, skew and (non-excess) kurtosis: the inputs of the (D)PSR."""
    rets = _simple_returns(_equity(equity).get_column("value").to_numpy())
    out: dict[str, float | int | None] = {"sharpe": None, "n_obs": int(rets.size)}
    out |= {"skew": None, "kurtosis": None}
    if rets.size < 2 or rets.std(ddof=1) < _ZERO_SD:
        return out
    centred = rets - rets.mean()
    m2 = float(np.mean(centred**2))
    out["sharpe"] = _num(rets.mean() / rets.std(ddof=1))
    out["skew"] = _num(np.mean(centred**3) / m2**1.5)
    out["kurtosis"] = _num(np.mean(centred**4) / m2**2)
    return out


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark_sharpe: float, n_obs: int, skew: float, kurtosis: float
) -> float | None:
    """P(true Sharpe > benchmark_sharpe) given an observed one (Bailey & López de Prado 2012).

    Sharpe ratios are per observation (not annualised); ``kurtosis`` is non-excess (normal: 3).
    """
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or denom <= 0.0:
        return None
    z = (sharpe - benchmark_sharpe) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return NormalDist().cdf(z)


def expected_max_sharpe(n_trials: int, sharpe_var_across_trials: float) -> float:
    """Expected maximum Sharpe of ``n_trials`` skill-less trials (the DSR's hurdle SR0)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1:
        return 0.0
    z = NormalDist().inv_cdf
    spread = (1.0 - _EULER_GAMMA) * z(1.0 - 1.0 / n_trials) + _EULER_GAMMA * z(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return math.sqrt(sharpe_var_across_trials) * spread


def deflated_sharpe_ratio(
    sharpe: float,
    n_trials: int,
    n_obs: int,
    skew: float,
    kurtosis: float,
    sharpe_var_across_trials: float,
) -> float | None:
    """P(true Sharpe > the best of ``n_trials`` lucky ones) (Bailey & López de Prado 2014).

    A sweep that tried many parameter sets must clear a higher bar than one that tried one;
    this is the PSR against :func:`expected_max_sharpe`. Per-observation Sharpe ratios and
    their variance across the trials; ``kurtosis`` is non-excess.
    """
    hurdle = expected_max_sharpe(n_trials, sharpe_var_across_trials)
    return probabilistic_sharpe_ratio(sharpe, hurdle, n_obs, skew, kurtosis)


def walk_forward_splits(
    dates: Sequence[dt.date] | pl.Series, n_folds: int, *, min_train: int, gap: int = 0
) -> list[tuple[pl.Series, pl.Series]]:
    """Expanding-window (train, test) date splits for out-of-sample checks.

    The sessions after the first ``min_train + gap`` are cut into ``n_folds`` contiguous test
    blocks of near-equal size; each fold trains on every session up to ``gap`` sessions before
    its test block (a gap keeps holding periods that straddle the cut out of training).
    """
    if n_folds < 1 or min_train < 1 or gap < 0:
        raise ValueError("need n_folds >= 1, min_train >= 1 and gap >= 0")
    days = pl.Series("date", list(dates)).unique().sort()
    first_test = min_train + gap
    if days.len() - first_test < n_folds:
        raise ValueError(
            f"{days.len()} sessions cannot hold min_train={min_train} + gap={gap} "
            f"and {n_folds} test folds"
        )
    blocks = np.array_split(np.arange(first_test, days.len()), n_folds)
    return [(days.slice(0, int(b[0]) - gap), days.slice(int(b[0]), b.size)) for b in blocks]


def round_trips(fills: pl.DataFrame) -> pl.DataFrame:
    """Pair filled orders into round trips: one per flat-to-flat cycle of a ticker.

    ``fills``: date, ticker, side (buy/sell), shares, price, value, commission, stamp_duty,
    transfer_fee; or a backtest's whole order log (with ``status``): its filled orders, and its
    corporate actions (status ``corporate_action``), which change the shares held at no cost.
    Prices are volume-weighted per side and in the shares bought: ``exit_price`` is the proceeds
    per share bought, so a bonus issue during the trip is folded in as on a back-adjusted series.
    ``pnl`` is after every cost and ``return_pct`` is pnl over the cash paid in; the costs of
    both sides are also given by kind (commission, stamp_duty, transfer_fee). A cycle still
    open at the end has no exit.
    """
    rows: list[dict[str, Any]] = []
    if "status" in fills.columns:
        fills = fills.filter(pl.col("status").is_in(["filled", "corporate_action"]))
        action = pl.col("status") == "corporate_action"
    else:
        action = pl.lit(False)
    # Per ticker and day: corporate actions (at the open), then sales, then buys.
    ordered = fills.with_columns(_action=action).sort(
        "ticker", "date", ~pl.col("_action"), pl.col("side") == "buy"
    )
    for (ticker,), group in ordered.group_by("ticker", maintain_order=True):
        held, cycle = 0.0, _new_cycle()
        for f in group.iter_rows(named=True):
            cost = f["commission"] + f["stamp_duty"] + f["transfer_fee"]
            for kind in COST_KINDS:
                cycle[kind] += f[kind]
            if f["_action"]:
                held += f["shares"] if f["side"] == "buy" else -f["shares"]
            elif f["side"] == "buy":
                cycle["entry_date"] = cycle["entry_date"] or f["date"]
                cycle["bought"] += f["shares"]
                cycle["paid"] += f["value"] + cost
                held += f["shares"]
            else:
                cycle["sold"] += f["shares"]
                cycle["received"] += f["value"] - cost
                cycle["exit_date"] = f["date"]
                held -= f["shares"]
            if held < SHARE_NOISE and cycle["entry_date"] is not None:
                rows.append(_trip(str(ticker), cycle, closed=True))
                held, cycle = 0.0, _new_cycle()
        if cycle["entry_date"] is not None:
            rows.append(_trip(str(ticker), cycle, closed=False))
    return pl.DataFrame(rows, schema=ROUND_TRIP_SCHEMA)


# Corporate actions make holdings fractional: "flat" allows for float noise in the share count.
SHARE_NOISE = 1e-6

ROUND_TRIP_SCHEMA = {
    "ticker": pl.String,
    "entry_date": pl.Date,
    "exit_date": pl.Date,
    "entry_price": pl.Float64,
    "exit_price": pl.Float64,
    "shares": pl.Float64,
    "pnl": pl.Float64,
    "return_pct": pl.Float64,
    "commission": pl.Float64,
    "stamp_duty": pl.Float64,
    "transfer_fee": pl.Float64,
}
COST_KINDS = ("commission", "stamp_duty", "transfer_fee")


def _new_cycle() -> dict[str, Any]:
    return {
        "entry_date": None,
        "exit_date": None,
        "bought": 0.0,
        "sold": 0.0,
        "paid": 0.0,
        "received": 0.0,
        **dict.fromkeys(COST_KINDS, 0.0),
    }


def _trip(ticker: str, c: dict[str, Any], *, closed: bool) -> dict[str, Any]:
    pnl = c["received"] - c["paid"] if closed else None
    return {
        "ticker": ticker,
        "entry_date": c["entry_date"],
        "exit_date": c["exit_date"] if closed else None,
        "entry_price": c["paid"] / c["bought"] if c["bought"] else None,
        "exit_price": c["received"] / c["bought"] if closed and c["bought"] else None,
        "shares": c["bought"],
        "pnl": pnl,
        "return_pct": pnl / c["paid"] if pnl is not None and c["paid"] else None,
        **{kind: c[kind] for kind in COST_KINDS},
    }
