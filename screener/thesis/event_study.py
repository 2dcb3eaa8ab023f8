"""Event study of thesis trigger episodes, and the calendar-time portfolio alpha.

How :func:`event_study` works:

1. Join each stock's returns with the market and sector returns on date and drop rows missing
   any of them. Relative days count the remaining rows of a ticker (trading sessions), so a
   suspension shifts the window instead of leaving a hole in it.
2. Day 0 of an event (event_date, ticker) is the ticker's row on event_date; events without
   one are dropped. So are events whose estimation window has fewer than
   ``min_estimation_obs`` rows, and events whose event window runs past the ticker's data.
3. Market model: OLS (statsmodels) of ret on market ret over the estimation window;
   ``ar_market = ret - (alpha + beta * market)``. Sector model: ``ar_sector = ret - sector``.
4. CAR per event cumulates abnormal returns from the window's first day. The ``car`` table
   averages them across events per relative day, with cross-sectional standard errors.
5. Whole-window tests per model: the plain cross-sectional t; BMP (Boehmer, Musumeci & Poulsen
   1991), the t of CARs standardised by their estimation-window forecast error; and Kolari &
   Pynnönen (2010), which shrinks the BMP t for the correlation of names sharing an event date.

Names picked on the same date are one episode, not independent draws: the summary always says
how many episodes a result rests on and warns when they are few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from screener.thesis.metrics import SESSIONS_PER_YEAR

MIN_EPISODES = 5
MODELS = ("market", "sector")
# Pairs of estimation-window residual series overlapping on fewer sessions are not correlated.
_MIN_PAIR_OBS = 10


@dataclass(frozen=True)
class EventStudyResult:
    """``abnormal``: one row per event and relative day; ``car``: one row per relative day;
    ``summary``: JSON-safe counts and whole-window tests per model."""

    abnormal: pl.DataFrame
    car: pl.DataFrame
    summary: dict[str, Any]


@dataclass(frozen=True)
class _EventFit:
    """One kept event: its window rows, standardised CARs and estimation residuals."""

    window: pl.DataFrame  # event_date, ticker, rel_day, date, ret, ar_market, ar_sector
    scar: dict[str, float]  # model -> CAR / its forecast standard deviation (BMP)
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


def _panel(returns: pl.DataFrame, market: pl.DataFrame, sector: pl.DataFrame) -> pl.DataFrame:
    """(ticker, date, ret, mkt, sec, idx): idx numbers each ticker's sessions from 0."""
    return (
        returns.select("date", "ticker", pl.col("ret").cast(pl.Float64))
        .join(market.select("date", mkt=pl.col("ret").cast(pl.Float64)), on="date", how="inner")
        .join(sector.select("date", sec=pl.col("ret").cast(pl.Float64)), on="date", how="inner")
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


def _fit_event(
    rows: pl.DataFrame, window: tuple[int, int], estimation: tuple[int, int], min_obs: int
) -> _EventFit | str:
    """Fit one event's models; a string names why the event was dropped."""
    from statsmodels.regression.linear_model import OLS  # not .api: 0.2 s, not 0.4 s
    from statsmodels.tools.tools import add_constant

    # numpy on the event's few hundred rows: polars' per-call overhead dominated at 200+ events
    rel = rows.get_column("rel_day").to_numpy()
    ret, mkt, sec = (rows.get_column(c).to_numpy() for c in ("ret", "mkt", "sec"))
    in_est = (rel >= estimation[0]) & (rel <= estimation[1])
    in_win = (rel >= window[0]) & (rel <= window[1])
    n_win = window[1] - window[0] + 1
    if in_est.sum() < min_obs:
        return "estimation"
    if in_win.sum() < n_win:
        return "window"
    y, x = ret[in_est], mkt[in_est]
    fit = OLS(y, add_constant(x, has_constant="add")).fit()
    alpha, beta = (float(p) for p in fit.params)
    ar_market = ret[in_win] - (alpha + beta * mkt[in_win])
    ar_sector = ret[in_win] - sec[in_win]
    # Var(CAR) under the market model adds the estimation error of alpha + beta * sum(mkt).
    load = np.array([n_win, mkt[in_win].sum()])
    var_market = fit.scale * (n_win + load @ fit.normalized_cov_params @ load)
    sector_resid = y - sec[in_est]
    var_sector = n_win * float(np.var(sector_resid, ddof=1))
    scar = {
        "market": _ratio(float(ar_market.sum()), var_market),
        "sector": _ratio(float(ar_sector.sum()), var_sector),
    }
    residuals = pl.DataFrame(
        {
            "date": rows.get_column("date").filter(in_est),
            "resid_market": fit.resid,
            "resid_sector": sector_resid,
        }
    )
    keep = ["event_date", "ticker", "rel_day", "date", "ret"]
    win = rows.filter(in_win).select(keep).with_columns(ar_market=ar_market, ar_sector=ar_sector)
    return _EventFit(win, scar, residuals)


def _ratio(car: float, variance: float) -> float:
    return car / math.sqrt(variance) if variance > 0 else math.nan


def _car_table(abnormal: pl.DataFrame, n_events: int) -> pl.DataFrame:
    """Mean CAR per relative day per model, its standard error, t and 95% band (t quantile)."""
    from scipy import stats

    q = float(stats.t.ppf(0.975, n_events - 1)) if n_events > 1 else math.nan
    cum = abnormal.sort("rel_day").with_columns(
        pl.col(f"ar_{m}").cum_sum().over("event_date", "ticker").alias(f"car_{m}") for m in MODELS
    )
    aggs: list[pl.Expr] = [pl.len().alias("n_events")]
    for m in MODELS:
        aggs += [
            pl.col(f"car_{m}").mean(),
            (pl.col(f"car_{m}").std(ddof=1) / pl.len().sqrt()).alias(f"se_{m}"),
        ]
    table = cum.group_by("rel_day").agg(aggs).sort("rel_day")
    derived: list[pl.Expr] = []
    for m in MODELS:
        car, se = pl.col(f"car_{m}"), pl.col(f"se_{m}")
        usable = se > 0
        derived += [
            pl.when(usable).then(car / se).alias(f"t_{m}"),
            pl.when(usable).then(car - q * se).alias(f"lo_{m}"),
            pl.when(usable).then(car + q * se).alias(f"hi_{m}"),
        ]
    return table.with_columns(derived).fill_nan(None)


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
    model: str, cars: np.ndarray, scars: np.ndarray, residuals: pl.DataFrame, sizes: np.ndarray
) -> dict[str, float | None]:
    """Whole-window CAR and its cross-sectional, BMP and Kolari–Pynnönen t and p."""
    df = cars.size - 1
    t_cs = _t_stat(cars)
    finite = scars[np.isfinite(scars)]
    t_bmp = _t_stat(finite)
    rbar = mean_residual_correlation(residuals, f"resid_{model}")
    t_kp = None if t_bmp is None else kolari_pynnonen_t(t_bmp, rbar or 0.0, sizes)
    return {
        "car": _num(cars.mean()) if cars.size else None,
        "t_cross_section": t_cs,
        "p_cross_section": _two_sided_p(t_cs, df),
        "t_bmp": t_bmp,
        "p_bmp": _two_sided_p(t_bmp, finite.size - 1),
        "mean_residual_corr": _num(rbar),
        "t_kp": t_kp,
        "p_kp": _two_sided_p(t_kp, finite.size - 1),
    }


def _warning(n_episodes: int) -> str | None:
    if n_episodes == 0:
        return "no event has enough data: nothing to test"
    if n_episodes < MIN_EPISODES:
        return (
            f"only {n_episodes} episode(s) (distinct event dates): the t-statistics rest on few "
            "independent draws; read the result as anecdotal"
        )
    return None


def _check_windows(window: tuple[int, int], estimation: tuple[int, int], min_obs: int) -> None:
    if window[0] > window[1] or estimation[0] > estimation[1]:
        raise ValueError("window and estimation are (first, last) relative days, first <= last")
    if estimation[1] >= window[0]:
        raise ValueError("the estimation window must end before the event window starts")
    if min_obs < 3:
        raise ValueError("min_estimation_obs must be >= 3 to fit alpha, beta and a variance")


def event_study(
    returns: pl.DataFrame,
    market: pl.DataFrame,
    sector: pl.DataFrame,
    events: pl.DataFrame,
    *,
    window: tuple[int, int] = (-5, 20),
    estimation: tuple[int, int] = (-120, -11),
    min_estimation_obs: int = 60,
) -> EventStudyResult:
    """Abnormal returns around thesis trigger episodes under a market and a sector model.

    Needs ``returns`` (date, ticker, ret) of daily simple stock returns, ``market`` and
    ``sector`` (date, ret) and ``events`` (event_date, ticker): the names picked per episode.
    """
    _check_windows(window, estimation, min_estimation_obs)
    panel = _panel(returns, market, sector)
    rows, no_day0 = _locate(events, panel, estimation[0], window[1])
    dropped = {"no_day0": no_day0, "estimation": 0, "window": 0}
    fits: list[_EventFit] = []
    for event_rows in rows.partition_by("event_date", "ticker", maintain_order=True):
        fit = _fit_event(event_rows, window, estimation, min_estimation_obs)
        if isinstance(fit, str):
            dropped[fit] += 1
        else:
            fits.append(fit)
    return _assemble(fits, dropped, window, estimation)


def _assemble(
    fits: list[_EventFit],
    dropped: dict[str, int],
    window: tuple[int, int],
    estimation: tuple[int, int],
) -> EventStudyResult:
    """Stack the kept events into the abnormal and CAR tables and the summary."""
    schema = {"event_date": pl.Date, "ticker": pl.String, "rel_day": pl.Int64, "date": pl.Date}
    empty = pl.DataFrame(schema=schema | {m: pl.Float64 for m in ("ret", "ar_market", "ar_sector")})
    abnormal = pl.concat([f.window for f in fits]) if fits else empty
    residuals = (
        pl.concat(
            f.residuals.with_columns(
                event_date=pl.lit(f.window["event_date"][0]), ticker=pl.lit(f.window["ticker"][0])
            )
            for f in fits
        )
        if fits
        else pl.DataFrame(schema={"event_date": pl.Date, "ticker": pl.String, "date": pl.Date})
    )
    sizes = abnormal.group_by("event_date").agg(pl.col("ticker").n_unique()).get_column("ticker")
    totals = abnormal.group_by("event_date", "ticker", maintain_order=True).agg(
        pl.col("ar_market").sum(), pl.col("ar_sector").sum()
    )
    summary: dict[str, Any] = {
        "n_episodes": sizes.len(),
        "n_events": len(fits),
        "dropped": dropped,
        "window": list(window),
        "estimation": list(estimation),
    }
    for m in MODELS:
        scars = np.array([f.scar[m] for f in fits], dtype=float)
        cars = totals.get_column(f"ar_{m}").to_numpy()
        summary[m] = _model_tests(m, cars, scars, residuals, sizes.to_numpy())
    summary["warning"] = _warning(sizes.len())
    return EventStudyResult(abnormal, _car_table(abnormal, len(fits)), summary)


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
