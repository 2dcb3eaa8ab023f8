"""Event study of thesis trigger episodes, and the calendar-time portfolio alpha.

How :func:`event_study` works (the windows by role are event_windows.py's):

1. Join each stock's returns and open gaps with the market's and the sector's on date and drop
   rows missing a return. Relative days count the remaining rows of a ticker (trading
   sessions), so a suspension shifts the window instead of leaving a hole in it.
2. Day 0 of an event (event_date, ticker) is the ticker's row on event_date: the session whose
   close picked it. Events without one are dropped; so are events whose estimation window has
   fewer than ``min_estimation_obs`` rows, and events whose window runs past the ticker's data.
3. Market model: OLS (statsmodels) of ret on market ret over the estimation window, which ends
   before the selection window; sector model: ``ret - sector``. Each day's abnormal return, the
   part of it inside the holding window, and the reaction from day 0's close to the entry fill.
4. Per event, the CAR of each window (selection, reaction, holding). The headline is the
   holding CAR, tested with the episode as the unit (inference.py: t on episode means, the
   sign-flip interval, the detectable effect). Beside it, BMP (Boehmer, Musumeci & Poulsen
   1991: CARs standardised by their estimation-window forecast error) and Kolari & Pynnönen
   (2010), which shrinks the BMP t for the correlation of names sharing an event date.
5. The ``car`` table: mean CAR per relative day and role, episodes weighted equally, with a
   band on the holding days only.

Names picked on the same date are one episode, not independent draws: the summary always says
how many episodes a result rests on, and below inference.MIN_EPISODES that it is too few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from screener.thesis import inference
from screener.thesis.event_windows import (
    ROLES,
    EventWindows,
    car_by_role,
    holding_bench_sum,
    split_abnormal,
)
from screener.thesis.metrics import SESSIONS_PER_YEAR
from screener.thesis.verdict import event_verdict

MODELS = ("market", "sector")
HEADLINE = "market"  # the model of the verdict and the chart; both are tabulated
# Pairs of estimation-window residual series overlapping on fewer sessions are not correlated.
_MIN_PAIR_OBS = 10


@dataclass(frozen=True)
class EventStudyResult:
    """``abnormal``: one row per event and relative day; ``cars``: one row per event with each
    window's CAR per model; ``car``: one row per relative day; ``summary``: JSON-safe counts,
    windows and the holding-window tests per model."""

    abnormal: pl.DataFrame
    cars: pl.DataFrame
    car: pl.DataFrame
    summary: dict[str, Any]


@dataclass(frozen=True)
class _EventFit:
    """One kept event: its window rows, window CARs, standardised CARs, estimation residuals."""

    window: pl.DataFrame  # event_date, ticker, rel_day, date, ret, ar_*, hold_* per model
    cars: dict[str, float]  # <role>_<model> -> CAR of that window
    scar: dict[str, float]  # model -> holding CAR / its forecast standard deviation (BMP)
    residuals: pl.DataFrame  # date, resid_market, resid_sector over the estimation window


def _num(x: float | np.floating[Any] | None) -> float | None:
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _two_sided_p(t: float | None, df: int) -> float | None:
    from scipy import stats  # statsmodels' own dependency; lazy like statsmodels

    if t is None or df < 1:
        return None
    return _num(2.0 * stats.t.sf(abs(t), df))


def _t_stat(sample: np.ndarray) -> float | None:
    """One-sample t of mean zero; None below two observations or with no dispersion."""
    if sample.size < 2:
        return None
    sd = float(sample.std(ddof=1))
    return None if sd == 0.0 else _num(sample.mean() / (sd / math.sqrt(sample.size)))


def _returns(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """(date[, ticker], <name>, <name>_gap): a missing open gap counts as 0, so the whole day
    falls in the holding window (an index without opens, a name without an open)."""
    gap = pl.col("gap") if "gap" in frame.columns else pl.lit(0.0)
    keys = [c for c in ("date", "ticker") if c in frame.columns]
    return frame.select(
        *keys,
        pl.col("ret").cast(pl.Float64).alias(name),
        gap.cast(pl.Float64).fill_null(0.0).alias(f"{name}_gap"),
    )


def _panel(returns: pl.DataFrame, market: pl.DataFrame, sector: pl.DataFrame) -> pl.DataFrame:
    """(ticker, date, ret, mkt, sec and their gaps, idx): idx numbers each ticker's sessions."""
    return (
        _returns(returns, "ret")
        .join(_returns(market, "mkt"), on="date", how="inner")
        .join(_returns(sector, "sec"), on="date", how="inner")
        .drop_nulls()
        .sort("ticker", "date")
        .with_columns(idx=pl.int_range(pl.len()).over("ticker"))
    )


def _locate(
    events: pl.DataFrame, panel: pl.DataFrame, first: int, last: int
) -> tuple[pl.DataFrame, int]:
    """Rows rel_day in [first, last] around each event's day 0; also the count without a day 0."""
    date_type = panel.schema["date"]
    wanted = events.select(pl.col("event_date").cast(date_type), "ticker").unique()
    day0 = wanted.join(
        panel.select("ticker", event_date="date", idx0="idx"), on=["ticker", "event_date"]
    )
    rows = (
        day0.with_columns(rel_day=pl.int_ranges(first, last + 1))
        .explode("rel_day")
        .with_columns(idx=pl.col("idx0") + pl.col("rel_day"))
        .join(panel, on=["ticker", "idx"], how="inner")
        .drop("idx0", "idx")
        .sort("event_date", "ticker", "rel_day")
    )
    return rows, wanted.height - day0.height


def _fit_event(rows: pl.DataFrame, w: EventWindows, min_obs: int) -> _EventFit | str:
    """Fit one event's models; a string names why the event was dropped."""
    from statsmodels.regression.linear_model import OLS  # not .api: 0.2 s, not 0.4 s
    from statsmodels.tools.tools import add_constant

    # numpy on the event's few hundred rows: polars' per-call overhead dominated at 200+ events
    rel = rows.get_column("rel_day").to_numpy()
    col = {c: rows.get_column(c).to_numpy() for c in ("ret", "mkt", "sec")}
    gap = {c: rows.get_column(f"{c}_gap").to_numpy() for c in ("ret", "mkt", "sec")}
    first, last = w.span
    in_est = (rel >= w.estimation[0]) & (rel <= w.estimation[1])
    in_win = (rel >= first) & (rel <= last)
    if in_est.sum() < min_obs:
        return "estimation"
    if in_win.sum() < last - first + 1:
        return "window"
    y, x = col["ret"][in_est], col["mkt"][in_est]
    fit = OLS(y, add_constant(x, has_constant="add")).fit()
    alpha, beta = (float(p) for p in fit.params)
    wrel = rel[in_win]
    stock = (col["ret"][in_win], gap["ret"][in_win])
    market = (col["mkt"][in_win], gap["mkt"][in_win])
    sector = (col["sec"][in_win], gap["sec"][in_win])
    parts = {
        "market": split_abnormal(w, wrel, stock, market, alpha, beta),
        "sector": split_abnormal(w, wrel, stock, sector, 0.0, 1.0),
    }
    # Var(holding CAR) under the market model adds the estimation error of alpha + beta * sum(mkt)
    load = np.array([w.holding_days, holding_bench_sum(w, wrel, market)])
    var_market = fit.scale * (w.holding_days + load @ fit.normalized_cov_params @ load)
    sector_resid = y - col["sec"][in_est]
    var_sector = w.holding_days * float(np.var(sector_resid, ddof=1))
    variances = {"market": var_market, "sector": var_sector}
    cars: dict[str, float] = {}
    for m, (daily, held, reaction) in parts.items():
        cars[f"selection_{m}"] = float(daily[wrel <= 0].sum())
        cars[f"reaction_{m}"] = reaction
        cars[f"holding_{m}"] = float(held.sum())
    residuals = pl.DataFrame(
        {
            "date": rows.get_column("date").filter(in_est),
            "resid_market": fit.resid,
            "resid_sector": sector_resid,
        }
    )
    keep = ["event_date", "ticker", "rel_day", "date", "ret"]
    win = rows.filter(in_win).select(keep)
    win = win.with_columns(
        **{f"ar_{m}": p[0] for m, p in parts.items()},
        **{f"hold_{m}": p[1] for m, p in parts.items()},
    )
    scar = {m: _ratio(cars[f"holding_{m}"], variances[m]) for m in MODELS}
    return _EventFit(win, cars, scar, residuals)


def _ratio(car: float, variance: float) -> float:
    return car / math.sqrt(variance) if variance > 0 else math.nan


def mean_residual_correlation(residuals: pl.DataFrame, column: str) -> float | None:
    """Mean pairwise correlation of estimation residuals among names sharing an event date.

    Needs (event_date, ticker, date, ``column``). Pairs are correlated on their common dates;
    None when no episode has two names with enough overlap.
    """
    total, pairs = 0.0, 0
    for episode in residuals.partition_by("event_date"):
        # dates x tickers by scatter (a polars pivot per episode cost more than the correlations)
        day = episode.get_column("date").rank("dense").to_numpy().astype(np.int64) - 1
        name = episode.get_column("ticker").rank("dense").to_numpy().astype(np.int64) - 1
        mat = np.full((int(day.max()) + 1, int(name.max()) + 1), np.nan)
        mat[day, name] = episode.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()
        for i in range(mat.shape[1]):
            for j in range(i + 1, mat.shape[1]):
                both = np.isfinite(mat[:, i]) & np.isfinite(mat[:, j])
                a, b = mat[both, i], mat[both, j]
                if a.size < _MIN_PAIR_OBS or a.std() == 0 or b.std() == 0:
                    continue
                total += float(np.corrcoef(a, b)[0, 1])
                pairs += 1
    return total / pairs if pairs else None


def kolari_pynnonen_t(
    t_bmp: float, mean_corr: float, cluster_sizes: list[int] | np.ndarray
) -> float | None:
    """BMP t adjusted for cross-correlation within clusters (Kolari & Pynnönen 2010).

    For one cluster of n names this is ``t * sqrt((1 - r) / (1 + (n - 1) r))``. With several
    episodes (clusters of sizes n_k, N names, P = sum n_k (n_k - 1) correlated ordered pairs,
    uncorrelated across episodes) the same reasoning gives
    ``t * sqrt((1 - r P / (N (N - 1))) / (1 + r P / N))``, which reduces to the above.
    """
    sizes = np.asarray(cluster_sizes, dtype=float)
    n = float(sizes.sum())
    if n < 2:
        return None
    pairs = float((sizes * (sizes - 1)).sum())
    shrink_var = 1.0 - mean_corr * pairs / (n * (n - 1))
    inflate_var = 1.0 + mean_corr * pairs / n
    if shrink_var <= 0 or inflate_var <= 0:
        return None
    return t_bmp * math.sqrt(shrink_var / inflate_var)


def _model_tests(
    model: str, cars: pl.DataFrame, scars: np.ndarray, residuals: pl.DataFrame, sizes: np.ndarray
) -> dict[str, Any]:
    """Each window's mean CAR (episodes weighted equally); the holding window's episode tests,
    and its BMP and Kolari–Pynnönen t."""
    finite = scars[np.isfinite(scars)]
    t_bmp = _t_stat(finite)
    rbar = mean_residual_correlation(residuals, f"resid_{model}")
    t_kp = None if t_bmp is None else kolari_pynnonen_t(t_bmp, rbar or 0.0, sizes)
    context = {
        f"{role}_car": _num(inference.episode_means(cars, f"{role}_{model}").mean())
        if cars.height
        else None
        for role in ("selection", "reaction")
    }
    test = inference.episode_test(inference.episode_means(cars, f"holding_{model}"))
    return {
        **context,
        "car": test.mean,
        **{k: v for k, v in test.to_json().items() if k != "mean"},
        "t_bmp": t_bmp,
        "p_bmp": _two_sided_p(t_bmp, finite.size - 1),
        "mean_residual_corr": _num(rbar),
        "t_kp": t_kp,
        "p_kp": _two_sided_p(t_kp, finite.size - 1),
    }


def _warning(n_episodes: int) -> str | None:
    if n_episodes == 0:
        return "no event has enough data: nothing to test"
    return inference.too_few_text(n_episodes)


def event_study(
    returns: pl.DataFrame,
    market: pl.DataFrame,
    sector: pl.DataFrame,
    events: pl.DataFrame,
    *,
    windows: EventWindows | None = None,
    min_estimation_obs: int = 60,
) -> EventStudyResult:
    """Abnormal returns around thesis trigger episodes under a market and a sector model.

    Needs ``returns`` (date, ticker, ret[, gap]) of daily simple stock returns, ``market`` and
    ``sector`` (date, ret[, gap]) and ``events`` (event_date, ticker): the names picked per
    episode. ``gap`` is the open over the previous close, minus 1 (it splits the entry day when
    the thesis enters at the open; 0 where absent).
    """
    w = windows or EventWindows()
    if min_estimation_obs < 3:
        raise ValueError("min_estimation_obs must be >= 3 to fit alpha, beta and a variance")
    panel = _panel(returns, market, sector)
    rows, no_day0 = _locate(events, panel, w.estimation[0], w.holding_end)
    dropped = {"no_day0": no_day0, "estimation": 0, "window": 0}
    fits: list[_EventFit] = []
    for event_rows in rows.partition_by("event_date", "ticker", maintain_order=True):
        fit = _fit_event(event_rows, w, min_estimation_obs)
        if isinstance(fit, str):
            dropped[fit] += 1
        else:
            fits.append(fit)
    return _assemble(fits, dropped, w)


def _assemble(fits: list[_EventFit], dropped: dict[str, int], w: EventWindows) -> EventStudyResult:
    """Stack the kept events into the abnormal, per-event and CAR tables and the summary."""
    keys: dict[str, Any] = {"event_date": pl.Date, "ticker": pl.String}
    values = ["ret", *(f"{k}_{m}" for k in ("ar", "hold") for m in MODELS)]
    abnormal = (
        pl.concat([f.window for f in fits])
        if fits
        else pl.DataFrame(
            schema=keys | {"rel_day": pl.Int64, "date": pl.Date} | dict.fromkeys(values, pl.Float64)
        )
    )
    firsts = [
        {"event_date": f.window["event_date"][0], "ticker": f.window["ticker"][0]} for f in fits
    ]
    window_cols = dict.fromkeys((f"{r}_{m}" for r in ROLES for m in MODELS), pl.Float64)
    cars = pl.DataFrame(
        [key | f.cars for key, f in zip(firsts, fits, strict=True)],
        schema=keys | window_cols,
        orient="row",
    )
    residuals = (
        pl.concat(
            f.residuals.with_columns(event_date=pl.lit(k["event_date"]), ticker=pl.lit(k["ticker"]))
            for k, f in zip(firsts, fits, strict=True)
        )
        if fits
        else pl.DataFrame(schema=keys | {"date": pl.Date})
    )
    sizes = cars.group_by("event_date").agg(pl.len()).get_column("len").to_numpy()
    summary: dict[str, Any] = {
        "n_episodes": int(sizes.size),
        "n_events": len(fits),
        "dropped": dropped,
        "windows": w.to_json(),
        "headline_model": HEADLINE,
    }
    for m in MODELS:
        scars = np.array([f.scar[m] for f in fits], dtype=float)
        summary[m] = _model_tests(m, cars, scars, residuals, sizes)
    summary["warning"] = _warning(int(sizes.size))
    summary["verdict"] = event_verdict(summary)
    return EventStudyResult(abnormal, cars, car_by_role(abnormal, w, MODELS), summary)


def newey_west_lags(n_obs: int) -> int:
    """The usual automatic HAC lag length floor(4 (T / 100)^(2/9))."""
    return math.floor(4.0 * (n_obs / 100.0) ** (2.0 / 9.0))


def calendar_time_portfolio(
    portfolio_returns: pl.DataFrame,
    market: pl.DataFrame,
    *,
    risk_free: float = 0.0,
    maxlags: int | None = None,
    n_episodes: int | None = None,
) -> dict[str, Any]:
    """Alpha of the calendar-time portfolio of event names, with Newey–West HAC t-statistics.

    OLS of the daily portfolio excess return on the market excess return over their common
    dates; ``risk_free`` is an annual rate. Overlapping holdings make the residuals
    autocorrelated, hence HAC. Alpha is annualised x242. Pass ``n_episodes`` to have it
    reported and warned on.
    """
    from statsmodels.regression.linear_model import OLS  # not .api: 0.2 s, not 0.4 s
    from statsmodels.tools.tools import add_constant

    rf = (1.0 + risk_free) ** (1.0 / SESSIONS_PER_YEAR) - 1.0
    joined = (
        portfolio_returns.select("date", port=pl.col("ret").cast(pl.Float64))
        .join(market.select("date", mkt=pl.col("ret").cast(pl.Float64)), on="date")
        .drop_nulls()
        .sort("date")
    )
    n = joined.height
    lags = newey_west_lags(n) if maxlags is None else maxlags
    out: dict[str, Any] = {"n_obs": n, "maxlags": lags, "n_episodes": n_episodes}
    out |= dict.fromkeys(("alpha", "alpha_annual", "alpha_t", "alpha_p", "beta", "beta_t"))
    out["warning"] = None if n_episodes is None else _warning(n_episodes)
    x = joined.get_column("mkt").to_numpy() - rf
    if n < 3 or x.std() == 0:
        out["warning"] = out["warning"] or f"only {n} usable session(s): no regression"
        return out
    y = joined.get_column("port").to_numpy() - rf
    fit = OLS(y, add_constant(x, has_constant="add")).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags}
    )
    out |= {
        "alpha": _num(fit.params[0]),
        "alpha_annual": _num(fit.params[0] * SESSIONS_PER_YEAR),
        "alpha_t": _num(fit.tvalues[0]),
        "alpha_p": _num(fit.pvalues[0]),
        "beta": _num(fit.params[1]),
        "beta_t": _num(fit.tvalues[1]),
    }
    return out
