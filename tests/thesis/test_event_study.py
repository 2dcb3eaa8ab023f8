"""screener.thesis.event_study on seeded synthetic markets with planted abnormal returns."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from screener.thesis.event_study import (
    EventStudyResult,
    calendar_time_portfolio,
    event_study,
    kolari_pynnonen_t,
    mean_residual_correlation,
    newey_west_lags,
)

SESSIONS = 420


@dataclass(frozen=True)
class Market:
    returns: pl.DataFrame
    market: pl.DataFrame
    sector: pl.DataFrame
    events: pl.DataFrame
    dates: list[dt.date]


def _dates(n: int) -> list[dt.date]:
    out, day = [], dt.date(2020, 1, 2)
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _market(
    seed: int,
    *,
    effect: float = 0.0,
    episodes: int = 8,
    names: int = 5,
    noise: float = 0.015,
    shared_factor: float = 0.0,
) -> Market:
    """Stocks follow a market model; each episode's names may share an extra factor.

    ``effect`` is added to each event name's return on its event date (day 0).
    """
    rng = np.random.default_rng(seed)
    n_tickers = episodes * names
    dates = _dates(SESSIONS)
    mkt = rng.normal(0.0003, 0.01, SESSIONS)
    sec = 1.1 * mkt + rng.normal(0, 0.004, SESSIONS)
    beta = rng.uniform(0.6, 1.4, n_tickers)
    ret = 0.0002 + beta * mkt[:, None] + rng.normal(0, noise, (SESSIONS, n_tickers))
    tickers = [f"{600000 + k}.SH" for k in range(n_tickers)]
    event_rows = []
    days = np.linspace(140, SESSIONS - 30, episodes).astype(int)
    for e, day in enumerate(days):
        members = range(e * names, (e + 1) * names)
        factor = rng.normal(0, 0.01, SESSIONS)
        for k in members:
            ret[:, k] += shared_factor * factor
            ret[day, k] += effect
            event_rows.append((dates[day], tickers[k]))
    returns = pl.DataFrame(
        {
            "date": [d for d in dates for _ in tickers],
            "ticker": tickers * SESSIONS,
            "ret": ret.ravel(),
        }
    )
    return Market(
        returns,
        pl.DataFrame({"date": dates, "ret": mkt}),
        pl.DataFrame({"date": dates, "ret": sec}),
        pl.DataFrame(event_rows, schema=["event_date", "ticker"], orient="row"),
        dates,
    )


def _run(m: Market, **kwargs: object) -> EventStudyResult:
    return event_study(m.returns, m.market, m.sector, m.events, **kwargs)  # type: ignore[arg-type]


# -- planted effects ----------------------------------------------------------------------


def test_planted_two_percent_shows_on_day_zero() -> None:
    res = _run(_market(0, effect=0.02, noise=0.005, episodes=12))
    car = res.car.sort("rel_day")
    jump = car.filter(pl.col("rel_day") == 0)["car_market"][0]
    jump -= car.filter(pl.col("rel_day") == -1)["car_market"][0]
    assert jump == pytest.approx(0.02, abs=0.003)
    s = res.summary
    assert s["n_events"] == 60 and s["n_episodes"] == 12 and s["warning"] is None
    assert s["market"]["car"] == pytest.approx(0.02, abs=0.01)
    for key in ("t_cross_section", "t_bmp", "t_kp"):
        assert s["market"][key] > 4
    assert s["market"]["p_bmp"] < 1e-4
    assert car["n_events"].to_list() == [60] * 26
    assert car["rel_day"].to_list() == list(range(-5, 21))


def test_no_effect_gives_small_t_on_average() -> None:
    # The market model is the true model of the synthetic stocks, so its null holds exactly.
    # (The sector model's does not: alpha != 0 and beta != 1.1 leave a drift in ret - sector.)
    ts = np.array(
        [_run(_market(seed, episodes=6)).summary["market"]["t_bmp"] for seed in range(20)]
    )
    assert np.mean(np.abs(ts)) < 1.2  # |t(29)| averages ~0.8 under the null
    assert np.mean(np.abs(ts) > 2.05) < 0.2
    assert abs(ts.mean()) < 0.6  # the mean of 20 t's has a standard error near 0.22


# -- the market model against an independent fit ------------------------------------------


def test_market_model_matches_lstsq_and_counts_sessions_not_days() -> None:
    m = _market(1, episodes=3)
    ticker = m.events["ticker"][0]
    event_day = m.dates.index(m.events["event_date"][0])
    # the name is suspended two sessions after the event: relative days skip those dates
    gone = {m.dates[event_day + 2], m.dates[event_day + 3]}
    returns = m.returns.filter(~((pl.col("ticker") == ticker) & pl.col("date").is_in(list(gone))))
    res = event_study(returns, m.market, m.sector, m.events)
    rows = res.abnormal.filter(pl.col("ticker") == ticker).sort("rel_day")
    assert rows.filter(pl.col("rel_day") == 2)["date"][0] == m.dates[event_day + 4]

    own = returns.filter(pl.col("ticker") == ticker).join(m.market, on="date", suffix="_m")
    own = own.sort("date").with_row_index("i")
    i0 = own.filter(pl.col("date") == m.dates[event_day])["i"][0]
    est = own.filter(pl.col("i").is_between(i0 - 120, i0 - 11))
    x, y = est["ret_m"].to_numpy(), est["ret"].to_numpy()
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    win = own.filter(pl.col("i").is_between(i0 - 5, i0 + 20))
    expected = win["ret"].to_numpy() - (a + b * win["ret_m"].to_numpy())
    np.testing.assert_allclose(rows["ar_market"].to_numpy(), expected, rtol=1e-9, atol=1e-14)
    sector = m.sector.filter(pl.col("date").is_in(win["date"].to_list()))["ret"].to_numpy()
    np.testing.assert_allclose(rows["ar_sector"].to_numpy(), win["ret"].to_numpy() - sector)


def _bmp_by_hand(m: Market, res: EventStudyResult) -> float:
    """Standardised CARs with the closed-form forecast variance, then their t."""
    scars = []
    for event_date, ticker in res.abnormal.select("event_date", "ticker").unique().rows():
        own = m.returns.filter(pl.col("ticker") == ticker).join(m.market, on="date", suffix="_m")
        own = own.sort("date")
        x, y = own["ret_m"].to_numpy(), own["ret"].to_numpy()
        i0 = m.dates.index(event_date)
        xe, ye = x[i0 - 120 : i0 - 10], y[i0 - 120 : i0 - 10]
        b, a = np.polyfit(xe, ye, 1)
        s2 = np.sum((ye - a - b * xe) ** 2) / (xe.size - 2)
        xw, yw = x[i0 - 5 : i0 + 21], y[i0 - 5 : i0 + 21]
        lw, sxx = xw.size, np.sum((xe - xe.mean()) ** 2)
        var = s2 * (lw + lw**2 / xe.size + (xw.sum() - lw * xe.mean()) ** 2 / sxx)
        scars.append(np.sum(yw - a - b * xw) / math.sqrt(var))
    z = np.array(scars)
    return float(z.mean() / (z.std(ddof=1) / math.sqrt(z.size)))


def test_bmp_t_matches_closed_form_standardisation() -> None:
    m = _market(2, effect=0.01)
    res = _run(m)
    assert res.summary["market"]["t_bmp"] == pytest.approx(_bmp_by_hand(m, res), rel=1e-8)
    t = res.summary["market"]["t_bmp"]
    assert res.summary["market"]["p_bmp"] == pytest.approx(2 * stats.t.sf(abs(t), 39))


def test_car_table_by_hand() -> None:
    res = _run(_market(3, effect=0.01, episodes=4))
    cars = (
        res.abnormal.sort("rel_day")
        .with_columns(c=pl.col("ar_sector").cum_sum().over("event_date", "ticker"))
        .filter(pl.col("rel_day") == 3)["c"]
        .to_numpy()
    )
    row = res.car.filter(pl.col("rel_day") == 3).row(0, named=True)
    se = cars.std(ddof=1) / math.sqrt(cars.size)
    assert row["car_sector"] == pytest.approx(cars.mean())
    assert row["se_sector"] == pytest.approx(se)
    assert row["t_sector"] == pytest.approx(cars.mean() / se)
    assert row["hi_sector"] == pytest.approx(cars.mean() + stats.t.ppf(0.975, 19) * se)
    last = res.car.filter(pl.col("rel_day") == 20)["car_market"][0]
    assert res.summary["market"]["car"] == pytest.approx(last)


# -- Kolari–Pynnönen ----------------------------------------------------------------------


def test_kp_equals_bmp_without_correlation_and_shrinks_with_it() -> None:
    assert kolari_pynnonen_t(3.0, 0.0, [5, 5, 5]) == pytest.approx(3.0)
    assert kolari_pynnonen_t(3.0, 0.4, [1, 1, 1, 1]) == pytest.approx(3.0)  # nothing shared
    one_cluster = kolari_pynnonen_t(3.0, 0.2, [10])
    assert one_cluster == pytest.approx(3.0 * math.sqrt(0.8 / (1 + 9 * 0.2)))
    assert kolari_pynnonen_t(3.0, 0.2, [5, 5]) < 3.0


def test_shared_factor_is_seen_in_residual_correlation_and_shrinks_t() -> None:
    res = _run(_market(4, effect=0.02, shared_factor=1.0))
    for model in ("market", "sector"):
        s = res.summary[model]
        assert s["mean_residual_corr"] > 0.15
        assert abs(s["t_kp"]) < abs(s["t_bmp"])
    calm = _run(_market(4, effect=0.02)).summary["market"]
    assert abs(calm["mean_residual_corr"]) < 0.05


def test_mean_residual_correlation_by_hand() -> None:
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(3, 40))
    dates = _dates(40)
    frame = pl.DataFrame(
        {
            "event_date": [dates[0]] * 80 + [dates[1]] * 40,
            "ticker": ["A"] * 40 + ["B"] * 40 + ["C"] * 40,  # C is alone in its episode
            "date": dates * 3,
            "resid": np.concatenate([a, a + b, c]),
        }
    )
    assert mean_residual_correlation(frame, "resid") == pytest.approx(np.corrcoef(a, a + b)[0, 1])
    assert mean_residual_correlation(frame.filter(pl.col("ticker") == "C"), "resid") is None


# -- counts, drops and warnings -----------------------------------------------------------


def test_episode_counts_drops_and_warning() -> None:
    m = _market(6, episodes=3)
    extra = pl.DataFrame(
        {
            "event_date": [m.dates[30], m.dates[-5], dt.date(2019, 6, 1)],
            "ticker": ["600000.SH", "600001.SH", "600002.SH"],
        }
    )
    events = pl.concat([m.events, m.events.head(2), extra])  # duplicates count once
    res = event_study(m.returns, m.market, m.sector, events)
    s = res.summary
    assert s["n_episodes"] == 3 and s["n_events"] == 15
    assert s["dropped"] == {"no_day0": 1, "estimation": 1, "window": 1}
    assert "3 episode" in s["warning"]
    assert res.abnormal.select("event_date", "ticker").n_unique() == 15


def test_min_estimation_obs_is_enforced() -> None:
    m = _market(7, episodes=2)
    res = _run(m, estimation=(-40, -11), min_estimation_obs=60)
    assert res.summary["n_events"] == 0 and res.summary["dropped"]["estimation"] == 10
    assert res.summary["market"]["car"] is None and res.abnormal.height == 0
    assert "no event" in res.summary["warning"]


def test_windows_must_not_overlap() -> None:
    m = _market(8, episodes=1)
    with pytest.raises(ValueError, match="before the event window"):
        _run(m, estimation=(-60, -3))


# -- calendar-time portfolio --------------------------------------------------------------


def _ar1_portfolio(seed: int, n: int = 600) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    mkt = rng.normal(0.0003, 0.01, n)
    u = np.zeros(n)
    shocks = rng.normal(0, 0.004, n)
    for t in range(1, n):
        u[t] = 0.7 * u[t - 1] + shocks[t]
    dates = _dates(n)
    port = pl.DataFrame({"date": dates, "ret": 0.0004 + 0.8 * mkt + u})
    return port, pl.DataFrame({"date": dates, "ret": mkt})


def test_calendar_time_alpha_uses_newey_west() -> None:
    port, mkt = _ar1_portfolio(9)
    out = calendar_time_portfolio(port, mkt)
    y, x = port["ret"].to_numpy(), mkt["ret"].to_numpy()
    lags = math.floor(4 * (600 / 100) ** (2 / 9))
    assert out["maxlags"] == lags == newey_west_lags(600) == 5
    hac = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    plain = sm.OLS(y, sm.add_constant(x)).fit()
    assert out["alpha"] == pytest.approx(hac.params[0])
    assert out["alpha_annual"] == pytest.approx(242 * hac.params[0])
    assert out["alpha_t"] == pytest.approx(hac.tvalues[0])
    assert out["alpha_p"] == pytest.approx(hac.pvalues[0])
    assert out["beta"] == pytest.approx(hac.params[1])
    assert out["n_obs"] == 600
    # positively autocorrelated residuals: HAC errors are wider, so |t| is smaller
    assert abs(out["alpha_t"]) < 0.8 * abs(plain.tvalues[0])


def test_calendar_time_excess_returns_and_warnings() -> None:
    port, mkt = _ar1_portfolio(10, n=300)
    rf = (1.03) ** (1 / 242) - 1
    out = calendar_time_portfolio(port, mkt, risk_free=0.03, maxlags=2, n_episodes=3)
    y, x = port["ret"].to_numpy() - rf, mkt["ret"].to_numpy() - rf
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 2})
    assert out["alpha"] == pytest.approx(fit.params[0])
    assert out["maxlags"] == 2 and out["n_episodes"] == 3
    assert "3 episode" in out["warning"]
    short = calendar_time_portfolio(port.head(2), mkt)
    assert short["alpha"] is None and short["n_obs"] == 2 and short["warning"]
