"""As-of values and the spliced metal price: hand-computed cases, a slow twin, no look-ahead."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from screener import calendar, metals
from screener.point_in_time import asof_on_sessions, metal_prices, session_frame

DAYS = calendar.sessions(dt.date(2026, 1, 5), dt.date(2026, 2, 13))  # 29 sessions, Mon 5 Jan on
CAL = session_frame(DAYS)
Obs = dict[str, dict[dt.date, float]]


def frame(obs: Obs) -> pl.DataFrame:
    """SERIES_DAILY-shaped rows (series_id, date, close) from {series: {date: close}}."""
    rows = [(sid, d, c) for sid, values in obs.items() for d, c in values.items()]
    return pl.DataFrame(
        rows, schema={"series_id": pl.String, "date": pl.Date, "close": pl.Float64}, orient="row"
    )


def prices(obs: Obs, metal: str, max_ffill: int, days: int = 7) -> pl.DataFrame:
    cal = session_frame(DAYS[:days])
    return metal_prices(frame(obs), cal, metal_names=[metal], max_ffill=max_ffill)


# -- asof_on_sessions ----------------------------------------------------------------------------


def known_by_loop(
    obs: dict[dt.date, float], days: list[dt.date], lagged: bool, max_ffill: int
) -> list[tuple[float | None, int | None]]:
    """For each session (close, age): the newest value known by then, null beyond max_ffill."""
    out: list[tuple[float | None, int | None]] = []
    for k, day in enumerate(days):
        seen = [d for d in sorted(obs) if d >= days[0] and (d < day if lagged else d <= day)]
        if not seen:
            out.append((None, None))
            continue
        entered = next(i for i, s in enumerate(days) if (s > seen[-1] if lagged else s >= seen[-1]))
        age = k - entered
        out.append((obs[seen[-1]] if age <= max_ffill else None, age))
    return out


@settings(max_examples=30, deadline=None)
@given(
    present=st.lists(st.booleans(), min_size=40, max_size=40),
    max_ffill=st.integers(0, 4),
    lagged=st.booleans(),
)
def test_asof_matches_a_loop(present: list[bool], max_ffill: int, lagged: bool) -> None:
    cal_days = [DAYS[0] + dt.timedelta(days=i) for i in range(40)]  # weekends included
    dates = [d for d, keep in zip(cal_days, present, strict=True) if keep]
    values = pl.DataFrame(
        {"id": "X", "date": dates, "close": [float(i) for i in range(len(dates))]},
        schema={"id": pl.String, "date": pl.Date, "close": pl.Float64},
    )
    got = asof_on_sessions(values, CAL, lagged={"X"} if lagged else set(), max_ffill=max_ffill)
    if not dates:
        assert got.get_column("close").null_count() == got.height
        return
    want = known_by_loop(dict(zip(dates, values["close"], strict=True)), DAYS, lagged, max_ffill)
    assert list(zip(got["close"], got["age"], strict=True)) == want


# -- metal_prices: hand-computed -------------------------------------------------------------------

# SHFE aluminium stops after Wed 7 Jan; LME aluminium and USD/CNY are dated every session and
# enter the next one. max_ffill = 1: SHFE is carried to Thu 8, unknown from Fri 9.
SHFE = {DAYS[0]: 20000.0, DAYS[1]: 20200.0, DAYS[2]: 20100.0}
LME = dict(zip(DAYS[:6], [2500.0, 2525.0, 2550.0, 2500.0, 2600.0, 2650.0], strict=True))
FX = dict(zip(DAYS[:6], [7.0, 7.0, 7.1, 7.1, 7.0, 7.0], strict=True))


def test_lme_takes_over_from_shfe_by_its_own_returns_in_cny() -> None:
    got = prices({"SHFE.AL": SHFE, "LME.AL.CASH": LME, metals.FX: FX}, "aluminium", 1)
    lme = ["LME.AL.CASH"] * 3
    assert got["series_id"].to_list() == ["SHFE.AL"] * 4 + lme
    assert got["currency"].to_list() == ["CNY"] * 7
    assert got["age"].to_list() == [0, 0, 0, 1, 0, 0, 0]
    assert got["stale"].to_list() == [False, False, False, True, False, False, False]
    # Fri 9: LME moved 2550 -> 2500 (dated Wed, Thu) at USD/CNY 7.1 both days
    # Mon 12, Tue 13: LME 2600, 2650 at 7.0 against 2550 at 7.1 on Thu
    want = [20000.0, 20200.0, 20100.0, 20100.0]
    want += [20100 * 2500 / 2550, 20100 * 2600 * 7.0 / (2550 * 7.1)]
    want += [20100 * 2650 * 7.0 / (2550 * 7.1)]
    assert got["close"].to_list() == pytest.approx(want, rel=1e-12)
    assert got["close"][:4].to_list() == want[:4]  # exactly SHFE's own closes
    two = got["close"][6] / got["close"][4] - 1  # a 2-session change across nothing but LME
    assert two == pytest.approx(2650 * 7.0 / (2500 * 7.1) - 1, rel=1e-12)


def test_without_fx_the_returns_are_usd_returns_and_say_so() -> None:
    got = prices({"SHFE.AL": SHFE, "LME.AL.CASH": LME}, "aluminium", 1)
    assert got["currency"].to_list() == ["CNY"] * 4 + ["USD"] * 3
    want = [20100 * x / 2550 for x in (2500.0, 2600.0, 2650.0)]
    assert got["close"][4:].to_list() == pytest.approx(want, rel=1e-12)


def test_an_lme_value_dated_t_is_first_used_on_the_next_session() -> None:
    got = prices({"LME.AL.CASH": LME}, "aluminium", 5)
    assert got["close"].to_list() == [None, *list(LME.values())]
    assert got["series_id"].to_list() == [None, *["LME.AL.CASH"] * 6]
    shfe = prices({"SHFE.AL": SHFE}, "aluminium", 5)
    assert shfe["close"][:3].to_list() == list(SHFE.values())  # domestic: on its own date


def test_with_no_series_on_both_sides_of_a_gap_the_level_carries() -> None:
    # SHFE known Mon-Wed (Wed carried), nothing Thu-Fri, LME from Mon 12 (dated Fri 9)
    shfe = {DAYS[0]: 100.0, DAYS[1]: 110.0}
    lme = {DAYS[4]: 50.0, DAYS[5]: 55.0}
    got = prices({"SHFE.AL": shfe, "LME.AL.CASH": lme}, "aluminium", 1)
    assert got["close"][:5].to_list() == [100.0, 110.0, 110.0, None, None]
    assert got["close"][5:].to_list() == pytest.approx([110.0, 121.0], rel=1e-12)
    assert got["series_id"].to_list() == ["SHFE.AL"] * 5 + ["LME.AL.CASH"] * 2
    assert got["age"].to_list() == [0, 0, 1, 2, 3, 0, 0]  # unknown rows: the age of SHFE


def test_the_preferred_series_wins_back_and_lead_is_not_zinc() -> None:
    shfe = {DAYS[0]: 100.0, DAYS[4]: 130.0, DAYS[5]: 120.0}  # max_ffill 0: known those days
    lme = {d: 10.0 + i for i, d in enumerate(DAYS[:6])}  # known Tue 6 (10) .. Tue 13 (15)
    zinc = {d: 1.0 for d in DAYS[:7]}
    got = prices({"SHFE.PB": shfe, "LME.PB.CASH": lme, "SHFE.ZN": zinc}, "lead", 0)
    pb, lme_pb = "SHFE.PB", "LME.PB.CASH"
    assert got["series_id"].to_list() == [pb, lme_pb, lme_pb, lme_pb, pb, pb, lme_pb]
    assert got["currency"].to_list() == ["CNY", "USD", "USD", "USD", "CNY", "CNY", "USD"]
    # Tue: nothing known Mon and Tue -> carries 100; Wed, Thu: LME 10 -> 11 -> 12;
    # Fri: SHFE is back, the step from Thu is LME's 12 -> 13; Mon: SHFE 130 -> 120;
    # Tue 13: LME again, by its 14 -> 15
    level = [100.0, 100.0, 110.0, 120.0, 130.0, 120.0, 120.0 * 15 / 14]
    assert got["close"].to_list() == pytest.approx(level, rel=1e-12)


def test_a_metal_without_any_series_in_the_store_is_all_null() -> None:
    got = prices({"SHFE.CU": {DAYS[0]: 1.0}}, "aluminium", 5)
    assert got.height == 7 and got["close"].null_count() == 7
    assert got["series_id"].null_count() == 7 and got["age"].null_count() == 7


# -- metal_prices: against a slow twin, and the future never reaches the past ---------------------


def metal_by_loop(
    obs: Obs, metal: str, days: list[dt.date], max_ffill: int
) -> list[tuple[float | None, str | None, str | None, int | None]]:
    """The rule in words: the first series known wins; the level moves, from the last session
    with a level, by the first series known on both (CNY if FX is known on both); else carries."""
    chain = metals.METAL_SERIES[metal]
    lag = metals.known_next_session
    known = {s: known_by_loop(obs.get(s, {}), days, lag(s), max_ffill) for s in chain}
    fx = [c for c, _ in known_by_loop(obs.get(metals.FX, {}), days, True, max_ffill)]
    out: list[tuple[float | None, str | None, str | None, int | None]] = []
    level, last = None, None
    for t in range(len(days)):
        win = next((s for s in chain if known[s][t][0] is not None), None)
        if win is None:
            seen = next((s for s in chain if known[s][t][1] is not None), None)
            out.append((None, seen, None, known[seen][t][1] if seen else None))
            continue
        usd = metals.in_usd(win)
        if last is None:
            level = known[win][t][0] * (fx[t] if usd and fx[t] is not None else 1.0)
        else:
            both = [
                s for s in chain if known[s][last][0] is not None and known[s][t][0] is not None
            ]
            ratio = 1.0
            if both:
                s = both[0]
                ratio = known[s][t][0] / known[s][last][0]
                if metals.in_usd(s) and fx[t] is not None and fx[last] is not None:
                    ratio *= fx[t] / fx[last]
            level *= ratio
        ccy = "USD" if usd and fx[t] is None else "CNY"
        out.append((level, win, ccy, known[win][t][1]))
        last = t
    return out


def random_obs(draw: st.DrawFn, n: int) -> Obs:
    obs: Obs = {}
    for sid in ("SHFE.CU", "LME.CU.CASH", "COMEX.HG", metals.FX):
        keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        moves = draw(st.lists(st.floats(0.8, 1.25), min_size=n, max_size=n))
        level, values = 100.0, {}
        for day, k, m in zip(DAYS[:n], keep, moves, strict=True):
            level *= m
            if k:
                values[day] = level
        obs[sid] = values
    return obs


@st.composite
def markets(draw: st.DrawFn) -> tuple[Obs, int]:
    return random_obs(draw, 20), draw(st.integers(0, 3))


@settings(max_examples=60, deadline=None)
@given(markets())
def test_metal_prices_match_the_slow_twin(market: tuple[Obs, int]) -> None:
    obs, max_ffill = market
    got = prices(obs, "copper", max_ffill, days=20)
    want = metal_by_loop(obs, "copper", DAYS[:20], max_ffill)
    rows = list(got.select("close", "series_id", "currency", "age").iter_rows())
    assert [r[1:] for r in rows] == [w[1:] for w in want]
    for (close, *_), (level, *_) in zip(rows, want, strict=True):
        assert (close is None) == (level is None)
        assert close is None or math.isclose(close, level, rel_tol=1e-9)


@settings(max_examples=40, deadline=None)
@given(markets(), st.integers(0, 18), st.floats(0.5, 2.0))
def test_values_after_t_change_nothing_up_to_t(
    market: tuple[Obs, int], cut: int, factor: float
) -> None:
    """Every series changed after t (LME, COMEX and FX from t itself: they enter on t+1)."""
    obs, max_ffill = market
    t = DAYS[cut]

    def future(sid: str, day: dt.date) -> bool:
        return day > t or (day == t and metals.known_next_session(sid))

    changed = {
        sid: {d: c * factor if future(sid, d) else c for d, c in values.items()}
        for sid, values in obs.items()
    }
    changed["LME.CU.CASH"][t] = 1e6  # a wild value dated t: known only on t+1
    before = prices(obs, "copper", max_ffill, days=20).filter(pl.col("date") <= t)
    after = prices(changed, "copper", max_ffill, days=20).filter(pl.col("date") <= t)
    assert_frame_equal(before, after, check_exact=True)
