"""screener.thesis.event_study on seeded synthetic markets with planted abnormal returns.

The markets split each session's return into an overnight gap and an intraday part, so the
windows by role can be planted apart: a fall in the selection window, a gap on the entry day's
open (reaction) and a drift from the entry fill on (holding).
"""

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
from screener.thesis.event_windows import EventWindows
from tests.conftest import weekdays

SESSIONS = 420
WINDOWS = EventWindows(selection=(-7, 0), holding_end=20, entry_at="open")


@dataclass(frozen=True)
class Market:
    returns: pl.DataFrame
    market: pl.DataFrame
    sector: pl.DataFrame
    events: pl.DataFrame
    dates: list[dt.date]


def _compound(gap: np.ndarray, intraday: np.ndarray) -> np.ndarray:
    return (1.0 + gap) * (1.0 + intraday) - 1.0


def _market(
    seed: int,
    *,
    episodes: int = 8,
    names: int = 5,
    noise: float = 0.015,
    shared_factor: float = 0.0,
    fall: float = 0.0,
    reaction: float = 0.0,
    drift: float = 0.0,
    sessions: int = SESSIONS,
) -> Market:
    """Stocks follow a market model, gap and intraday alike; an episode's names may share an
    extra factor. Planted on each event name: ``fall`` per session on days -6..0 (selection),
    ``reaction`` on day 1's open gap, ``drift`` intraday on day 1 and per session on days 2..20.
    """
    rng = np.random.default_rng(seed)
    n_tickers = episodes * names
    dates = weekdays(sessions)
    m_gap, m_intra = rng.normal(0.0001, 0.004, sessions), rng.normal(0.0002, 0.009, sessions)
    s_gap = 1.1 * m_gap + rng.normal(0, 0.001, sessions)
    s_intra = 1.1 * m_intra + rng.normal(0, 0.004, sessions)
    beta = rng.uniform(0.6, 1.4, n_tickers)
    gap = beta * m_gap[:, None] + rng.normal(0, noise / 3, (sessions, n_tickers))
    intra = 0.0002 + beta * m_intra[:, None] + rng.normal(0, noise, (sessions, n_tickers))
    tickers = [f"{600000 + k}.SH" for k in range(n_tickers)]
    event_rows = []
    days = np.linspace(140, sessions - 30, episodes).astype(int)
    for e, day in enumerate(days):
        factor = rng.normal(0, 0.01, sessions)
        for k in range(e * names, (e + 1) * names):
            intra[:, k] += shared_factor * factor
            intra[day - 6 : day + 1, k] += fall
            gap[day + 1, k] += reaction
            intra[day + 1 : day + 21, k] += drift
            event_rows.append((dates[day], tickers[k]))
    returns = pl.DataFrame(
        {
            "date": [d for d in dates for _ in tickers],
            "ticker": tickers * sessions,
            "ret": _compound(gap, intra).ravel(),
            "gap": gap.ravel(),
        }
    )
    return Market(
        returns,
        pl.DataFrame({"date": dates, "ret": _compound(m_gap, m_intra), "gap": m_gap}),
        pl.DataFrame({"date": dates, "ret": _compound(s_gap, s_intra), "gap": s_gap}),
        pl.DataFrame(event_rows, schema=["event_date", "ticker"], orient="row"),
        dates,
    )


def _run(m: Market, **kwargs: object) -> EventStudyResult:
    kwargs.setdefault("windows", WINDOWS)
    return event_study(m.returns, m.market, m.sector, m.events, **kwargs)  # type: ignore[arg-type]


# -- windows by role: planted effects ------------------------------------------------------


def test_a_planted_holding_drift_is_recovered_and_the_selection_fall_stays_context() -> None:
    m = _market(0, episodes=12, fall=-0.03, reaction=0.02, drift=0.002, noise=0.01)
    res = _run(m)
    s = res.summary
    assert s["n_events"] == 60 and s["n_episodes"] == 12 and s["warning"] is None
    planted = 20 * 0.002
    for model in ("market", "sector"):
        tests = s[model]
        assert tests["ci_low"] < planted < tests["ci_high"]
        assert tests["car"] == pytest.approx(planted, abs=0.012)
        assert tests["selection_car"] == pytest.approx(-0.21, abs=0.03)  # context, not tested
        assert tests["reaction_car"] == pytest.approx(0.02, abs=0.004)
        assert tests["p_permutation"] < 0.01 and not tests["too_few"]
    assert "+4." in s["verdict"] or "+3." in s["verdict"] or "+5." in s["verdict"]
    assert "distinguishable from chance" in s["verdict"] and "not" not in s["verdict"]
    car = res.car.sort("rel_day")
    assert car["rel_day"].to_list() == list(range(-7, 21))
    assert car["role"].to_list() == ["selection"] * 8 + ["holding"] * 20
    day0 = car.filter(pl.col("rel_day") == 0).row(0, named=True)
    assert day0["car_market"] == pytest.approx(-0.21, abs=0.03)
    assert day0["lo_market"] is None and day0["se_market"] is None  # no band on context
    first = car.filter(pl.col("rel_day") == 1).row(0, named=True)
    assert abs(first["car_market"]) < 0.01  # from the fill: neither the fall nor the gap
    last = car.filter(pl.col("rel_day") == 20).row(0, named=True)
    assert last["car_market"] == pytest.approx(s["market"]["car"])
    assert last["n_episodes"] == 12 and last["n_events"] == 60


def test_entering_at_the_close_moves_day_one_into_the_reaction() -> None:
    m = _market(1, episodes=12, reaction=0.03, drift=0.002, noise=0.01)
    at_close = EventWindows(selection=(-7, 0), holding_end=20, entry_at="close")
    s = _run(m, windows=at_close).summary["market"]  # the true model of these stocks
    # day 1 entirely (the gap and its intraday drift) is reaction; holding is days 2..20
    assert s["reaction_car"] == pytest.approx(0.03 + 0.002, abs=0.005)
    assert s["car"] == pytest.approx(19 * 0.002, abs=0.01)
    car = _run(m, windows=at_close).car
    assert car.filter(pl.col("rel_day") == 1)["role"].to_list() == ["reaction"]


def test_the_entry_day_splits_at_the_open_by_hand() -> None:
    m = _market(2, episodes=3)
    res = _run(m)
    event_date, ticker = m.events.row(0)
    i0 = m.dates.index(event_date)
    own = m.returns.filter(pl.col("ticker") == ticker).sort("date")
    r, g = own["ret"][i0 + 1], own["gap"][i0 + 1]
    s_r, s_g = m.sector["ret"][i0 + 1], m.sector["gap"][i0 + 1]
    row = res.cars.filter((pl.col("event_date") == event_date) & (pl.col("ticker") == ticker))
    assert row["reaction_sector"][0] == pytest.approx(g - s_g)
    day1 = res.abnormal.filter(
        (pl.col("ticker") == ticker)
        & (pl.col("event_date") == event_date)
        & (pl.col("rel_day") == 1)
    )
    intraday = (1 + r) / (1 + g) - 1 - ((1 + s_r) / (1 + s_g) - 1)
    assert day1["hold_sector"][0] == pytest.approx(intraday)
    assert day1["ar_sector"][0] == pytest.approx(r - s_r)
    later = own["ret"].to_numpy()[i0 + 2 : i0 + 21] - m.sector["ret"].to_numpy()[i0 + 2 : i0 + 21]
    assert row["holding_sector"][0] == pytest.approx(intraday + later.sum())
    sel = own["ret"].to_numpy()[i0 - 7 : i0 + 1] - m.sector["ret"].to_numpy()[i0 - 7 : i0 + 1]
    assert row["selection_sector"][0] == pytest.approx(sel.sum())


def test_no_effect_rejects_at_about_the_nominal_rate() -> None:
    """The market model is the true model of the synthetic stocks, so its null holds exactly;
    the episode tests should reject about 5% of seeded nulls."""
    ps, covered = [], 0
    for seed in range(120):
        m = _market(1000 + seed, episodes=12, names=2, sessions=330)
        s = _run(m).summary["market"]
        ps.append(s["p_permutation"])
        covered += s["ci_low"] < 0.0 < s["ci_high"]
    rate = np.mean(np.array(ps) < 0.05)
    assert 0.01 <= rate <= 0.11  # 120 draws of a 5% coin: 95% of them land in [1.7%, 9.2%]
    assert covered / 120 == pytest.approx(1 - rate, abs=1e-9)  # the interval inverts the test


# -- the market model against an independent fit ------------------------------------------


def test_market_model_matches_lstsq_and_counts_sessions_not_days() -> None:
    m = _market(3, episodes=3)
    ticker = m.events["ticker"][0]
    event_day = m.dates.index(m.events["event_date"][0])
    # the name is suspended two sessions after the event: relative days skip those dates
    gone = {m.dates[event_day + 2], m.dates[event_day + 3]}
    returns = m.returns.filter(~((pl.col("ticker") == ticker) & pl.col("date").is_in(list(gone))))
    res = event_study(returns, m.market, m.sector, m.events, windows=WINDOWS)
    rows = res.abnormal.filter(pl.col("ticker") == ticker).sort("rel_day")
    assert rows.filter(pl.col("rel_day") == 2)["date"][0] == m.dates[event_day + 4]

    own = returns.filter(pl.col("ticker") == ticker).join(m.market, on="date", suffix="_m")
    own = own.sort("date").with_row_index("i")
    i0 = own.filter(pl.col("date") == m.dates[event_day])["i"][0]
    assert WINDOWS.estimation == (-122, -13)  # ends before the selection window (-7, 0)
    est = own.filter(pl.col("i").is_between(i0 - 122, i0 - 13))
    x, y = est["ret_m"].to_numpy(), est["ret"].to_numpy()
    (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    win = own.filter(pl.col("i").is_between(i0 - 7, i0 + 20))
    expected = win["ret"].to_numpy() - (a + b * win["ret_m"].to_numpy())
    np.testing.assert_allclose(rows["ar_market"].to_numpy(), expected, rtol=1e-9, atol=1e-14)
    sector = m.sector.filter(pl.col("date").is_in(win["date"].to_list()))["ret"].to_numpy()
    np.testing.assert_allclose(rows["ar_sector"].to_numpy(), win["ret"].to_numpy() - sector)


def _bmp_by_hand(m: Market, res: EventStudyResult) -> float:
    """Standardised holding CARs (entry at the close: days 2..20) with the closed-form forecast
    variance, then their t."""
    scars = []
    for event_date, ticker in res.cars.select("event_date", "ticker").rows():
        own = m.returns.filter(pl.col("ticker") == ticker).join(m.market, on="date", suffix="_m")
        own = own.sort("date")
        x, y = own["ret_m"].to_numpy(), own["ret"].to_numpy()
        i0 = m.dates.index(event_date)
        xe, ye = x[i0 - 122 : i0 - 12], y[i0 - 122 : i0 - 12]
        b, a = np.polyfit(xe, ye, 1)
        s2 = np.sum((ye - a - b * xe) ** 2) / (xe.size - 2)
        xw, yw = x[i0 + 2 : i0 + 21], y[i0 + 2 : i0 + 21]
        lw, sxx = xw.size, np.sum((xe - xe.mean()) ** 2)
        var = s2 * (lw + lw**2 / xe.size + (xw.sum() - lw * xe.mean()) ** 2 / sxx)
        scars.append(np.sum(yw - a - b * xw) / math.sqrt(var))
    z = np.array(scars)
    return float(z.mean() / (z.std(ddof=1) / math.sqrt(z.size)))


def test_bmp_t_matches_closed_form_standardisation() -> None:
    m = _market(4, drift=0.001)
    res = _run(m, windows=EventWindows(selection=(-7, 0), holding_end=20, entry_at="close"))
    assert res.summary["market"]["t_bmp"] == pytest.approx(_bmp_by_hand(m, res), rel=1e-8)
    t = res.summary["market"]["t_bmp"]
    assert res.summary["market"]["p_bmp"] == pytest.approx(2 * stats.t.sf(abs(t), 39))


def test_car_table_weighs_episodes_equally_by_hand() -> None:
    m = _market(5, drift=0.001, episodes=4)
    res = _run(m)
    cum = (
        res.abnormal.sort("rel_day")
        .filter(pl.col("rel_day").is_between(1, 3))
        .with_columns(c=pl.col("hold_sector").cum_sum().over("event_date", "ticker"))
        .filter(pl.col("rel_day") == 3)
    )
    per_episode = cum.group_by("event_date").agg(pl.col("c").mean())["c"].to_numpy()
    row = res.car.filter(pl.col("rel_day") == 3).row(0, named=True)
    se = per_episode.std(ddof=1) / math.sqrt(per_episode.size)
    assert row["car_sector"] == pytest.approx(per_episode.mean())
    assert row["se_sector"] == pytest.approx(se)
    assert row["t_sector"] == pytest.approx(per_episode.mean() / se)
    assert row["hi_sector"] == pytest.approx(per_episode.mean() + stats.t.ppf(0.975, 3) * se)
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
    res = _run(_market(8, drift=0.002, shared_factor=1.0))
    for model in ("market", "sector"):
        s = res.summary[model]
        assert s["mean_residual_corr"] > 0.15
        assert abs(s["t_kp"]) < abs(s["t_bmp"])
    calm = _run(_market(8, drift=0.002)).summary["market"]
    assert abs(calm["mean_residual_corr"]) < 0.05


def test_mean_residual_correlation_by_hand() -> None:
    rng = np.random.default_rng(5)
    a, b, c = rng.normal(size=(3, 40))
    dates = weekdays(40)
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


def test_episode_counts_drops_and_too_few_wording() -> None:
    m = _market(6, episodes=3)
    extra = pl.DataFrame(
        {
            "event_date": [m.dates[30], m.dates[-5], dt.date(2019, 6, 1)],
            "ticker": ["600000.SH", "600001.SH", "600002.SH"],
        }
    )
    events = pl.concat([m.events, m.events.head(2), extra])  # duplicates count once
    res = event_study(m.returns, m.market, m.sector, events, windows=WINDOWS)
    s = res.summary
    assert s["n_episodes"] == 3 and s["n_events"] == 15
    assert s["dropped"] == {"no_day0": 1, "estimation": 1, "window": 1}
    assert s["warning"] == "3 episodes: too few to conclude"
    assert "3 episodes: too few to conclude" in s["verdict"]
    assert "distinguishable" not in s["verdict"]  # no significance marker either way
    assert s["market"]["ci_low"] is None  # three episodes cannot reject any mean
    assert res.abnormal.select("event_date", "ticker").n_unique() == 15


def test_min_estimation_obs_is_enforced() -> None:
    m = _market(7, episodes=2)
    short = EventWindows(selection=(-7, 0), holding_end=20, estimation_sessions=30)
    res = _run(m, windows=short, min_estimation_obs=60)
    assert res.summary["n_events"] == 0 and res.summary["dropped"]["estimation"] == 10
    assert res.summary["market"]["car"] is None and res.abnormal.height == 0
    assert "no event" in res.summary["warning"] and "nothing to test" in res.summary["verdict"]


def test_windows_are_checked() -> None:
    with pytest.raises(ValueError, match="selection window"):
        EventWindows(selection=(-7, 2))
    with pytest.raises(ValueError, match="holding_end"):
        EventWindows(holding_end=0)
    w = EventWindows(selection=(-60, 0), estimation_gap=5, estimation_sessions=110)
    assert w.estimation == (-175, -66) and w.estimation[1] < w.selection[0]


# -- calendar-time portfolio --------------------------------------------------------------


def _ar1_portfolio(seed: int, n: int = 600) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    mkt = rng.normal(0.0003, 0.01, n)
    u = np.zeros(n)
    shocks = rng.normal(0, 0.004, n)
    for t in range(1, n):
        u[t] = 0.7 * u[t - 1] + shocks[t]
    dates = weekdays(n)
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
