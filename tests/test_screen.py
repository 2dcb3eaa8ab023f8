"""Screens on a hand-made store: universe, filters, ranking, point in time and changes.

The store holds the 73 XSHG sessions from 2025-11-03 to 2026-02-13. Each stock's close grows
by a fixed rate per session (rounded to the fen), so the score ``ret_5d`` of every name is
known in advance; the last session carries the cases a screen must filter: a close at the up
limit, a suspension, an ST flag, and a name that never trades enough.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener import calendar, rules
from screener.brokers.ledger import import_notes
from screener.config import Settings
from screener.errors import ConfigError
from screener.instruments import load_master
from screener.metals import METAL_SERIES
from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.screen import Screen, load_screen, run_screen
from screener.screen_coverage import Coverage
from screener.store import Store

D = dt.date.fromisoformat
SESSIONS = calendar.sessions(D("2025-11-03"), D("2026-02-13"))
AS_OF, PREVIOUS = SESSIONS[-1], SESSIONS[-2]  # Friday 2026-02-13, Thursday 2026-02-12
SETTINGS = Settings()
REPO = Path(__file__).resolve().parents[1]

# ticker: (first close, growth per session, volume); the order of growth sets the ranking.
STOCKS = {
    "600547.SH": (20.0, -0.004, 2e6),  # 山东黄金, gold
    "601899.SH": (15.0, 0.003, 2e6),  # 紫金矿业, copper|gold
    "600362.SH": (30.0, -0.006, 2e6),  # 江西铜业, copper: closes at its up limit on AS_OF
    "601600.SH": (8.0, -0.008, 8e6),  # 中国铝业, aluminium: suspended on AS_OF
    "000807.SZ": (12.0, -0.010, 6e6),  # 云铝股份, aluminium: ST on AS_OF
    "603993.SH": (9.0, -0.012, 1e4),  # 洛阳钼业, copper: trades ~0.1m CNY a day
    "000630.SZ": (4.0, -0.002, 1e7),  # 铜陵有色, copper
    "600489.SH": (14.0, -0.001, 2e6),  # 中金黄金, gold|copper
}
NOTES = {  # file name: (report date, names) -- one broker note per file
    "a.txt": ("2026-02-10", "山东黄金、紫金矿业、江西铜业、中国铝业、云铝股份、洛阳钼业、中国宏桥"),
    "b.txt": ("2026-02-13", "铜陵有色"),
    "c.txt": ("2026-02-14", "中金黄金"),
}


def closes(ticker: str) -> list[float]:
    p0, growth, _ = STOCKS[ticker]
    return [round(p0 * (1 + growth) ** i, 2) for i in range(len(SESSIONS))]


def _limits(prev: float, pct: int) -> tuple[float, float]:
    up, down = rules.limit_prices(np.array([prev]), np.array([pct]))
    return float(up[0]), float(down[0])


def _bars(ticker: str) -> list[dict]:
    _, _, volume = STOCKS[ticker]
    cs, rows = closes(ticker), []
    for i, day in enumerate(SESSIONS):
        prev = cs[i - 1] if i else cs[0]
        last = i == len(SESSIONS) - 1
        st = last and ticker == "000807.SZ"
        up, down = _limits(prev, 5 if st else 10)
        close, vol, halted = cs[i], volume, False
        if last and ticker == "600362.SH":
            close = cs[i] = up
        if last and ticker == "601600.SH":
            close, vol, halted = prev, 0, True
        rows.append(dict(ticker=ticker, date=day, open=prev, high=max(prev, close),
                         low=min(prev, close), close=close, prev_close=prev, volume=int(vol),
                         amount=close * vol, adj_factor=1.0, suspended=halted, up_limit=up,
                         down_limit=down, is_st=st))  # fmt: skip
    return rows


def _series() -> pl.DataFrame:
    """SHFE copper falls 10.5% over the last 7 sessions; gold is flat; aluminium edges up."""
    n = len(SESSIONS)
    cu = [100_000.0 * (1 - 0.015 * max(0, i - (n - 8))) for i in range(n)]
    paths = {
        "SHFE.CU": cu,
        "SHFE.AU": [1000.0] * n,
        "SHFE.AL": [20_000 + 10.0 * i for i in range(n)],
    }
    return pl.DataFrame(
        [
            dict(series_id=s, date=d, close=v)
            for s, path in paths.items()
            for d, v in zip(SESSIONS, path, strict=True)
        ]
    )


def _index() -> pl.DataFrame:
    rows = [dict(index_code=code, date=d, open=base + i, close=base + i)
            for code, base in ((SECTOR_INDEX, 5000.0), (MARKET_INDEX, 4000.0))
            for i, d in enumerate(SESSIONS)]  # fmt: skip
    return pl.DataFrame(rows)


def write_notes(folder: Path) -> list[Path]:
    paths = []
    for name, (day, names) in NOTES.items():
        path = folder / name
        path.write_text(
            f"有色金属周报\n国投证券· {day} 08:00\n建议关注{names}。\n", encoding="utf-8"
        )
        paths.append(path)
    return paths


def build_market(store: Store, folder: Path, *, notes: bool = True) -> Store:
    master = load_master()
    tickers = [*STOCKS, "01378.HK"]
    store.upsert("instruments", master.filter(pl.col("ticker").is_in(tickers)))
    store.upsert("bars_daily", pl.DataFrame([r for t in STOCKS for r in _bars(t)]))
    store.upsert("series_daily", _series())
    store.upsert("index_daily", _index())
    if notes:
        import_notes(store, write_notes(folder), master)
    return store


@pytest.fixture
def market(store: Store, tmp_path: Path) -> Store:
    return build_market(store, tmp_path)


def ret_5d(ticker: str) -> float:
    cs = closes(ticker)
    return cs[-1] / cs[-6] - 1


PICKS_RET5 = Screen(universe="picks", score="ret_5d", top_n=10, name="t")


# -- definitions -------------------------------------------------------------------------------


def test_parse_universe() -> None:
    assert Screen.parse_universe("picks") == {"universe": "picks"}
    assert Screen.parse_universe("picks:14d") == {"universe": "picks", "picks_window_days": 14}
    assert Screen.parse_universe("metal:copper") == {"universe": "metal", "metal": "copper"}
    assert Screen.parse_universe("sector") == {"universe": "sector"}
    for bad in ("picks:x", "picks:0d", "metal", "metal:unobtainium", "sector:x", "world"):
        with pytest.raises(ConfigError, match="--universe"):
            Screen.parse_universe(bad)


def test_shipped_screens_load() -> None:
    folder = REPO / "strategies" / "screens"
    picks = load_screen(folder / "picks_oversold.toml")
    assert (picks.name, picks.universe, picks.score, picks.top_n) == (
        "picks_oversold", "picks", "oversold_score", 10)  # fmt: skip
    div = load_screen(folder / "sector_divergence.toml")
    assert (div.universe, div.metal_max_drop_pct, div.metal_window) == ("sector", 5.0, 7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('universe = "picks"\ntop = 5\n', r"bad\.toml:2: 'top': unknown key"),
        ('top_n = "ten"\n', r"bad\.toml:1: 'top_n': must be int, got str"),
        ("exclude_st = 1\n", r"'exclude_st': must be bool"),
        ("top_n = 0\n", r"bad\.toml:1: 'top_n': must be >= 1"),
        ('universe = "metal"\n', r"'metal': universe 'metal' needs a known metal"),
        ('score = "lucky_number"\n', r"'score': unknown factor 'lucky_number'"),
        ("metal_max_drop_pct = -5\n", r"'metal_max_drop_pct': must be in \(0, 100\]"),
        ("top_n = \n", r"not valid TOML"),
    ],
)
def test_screen_file_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_screen(path)


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "copper_watch.toml"
    path.write_text('universe = "metal"\nmetal = "copper"\n', encoding="utf-8")
    assert load_screen(path) == Screen(universe="metal", metal="copper", name="copper_watch")


# -- running -----------------------------------------------------------------------------------


def test_picks_screen_ranks_filters_and_explains(market: Store) -> None:
    result = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS)
    assert (result.as_of, result.previous, result.universe_size) == (AS_OF, PREVIOUS, 7)
    ranked = result.ranked
    assert ranked["ticker"].to_list() == ["601899.SH", "000630.SZ", "600547.SH"]
    assert ranked["rank"].to_list() == [1, 2, 3]
    for ticker, score in ranked.select("ticker", "score").iter_rows():
        assert score == pytest.approx(ret_5d(ticker), abs=1e-12)
    assert ranked.columns == ["rank", "ticker", "name", "metal", "board", "score",
                              "avg_amount_20d", "amount_estimated", "metal_series",
                              "metal_currency", "brokers", "flags"]  # fmt: skip
    assert not ranked["amount_estimated"].any()  # every bar has its amount
    fed = ranked.select("metal", "metal_series", "metal_currency").rows()
    assert fed == [("copper", "SHFE.CU", "CNY"), ("copper", "SHFE.CU", "CNY"),
                   ("gold", "SHFE.AU", "CNY")]  # fmt: skip
    assert ranked.row(0, named=True)["name"] == "紫金矿业"
    assert ranked["brokers"].to_list() == ["国投证券"] * 3
    reasons = dict(result.excluded.select("ticker", "reason").iter_rows())
    assert reasons == {
        "600362.SH": "limit-up",
        "601600.SH": "suspended",
        "000807.SZ": "ST",
        "603993.SH": "illiquid",
        "01378.HK": "HK-listed: no A-share bars",
    }
    # the 7 A-share picks (the HK-only one is outside): all have ret_5d, 3 pass, 4 reasons
    reasons = (("ST", 1), ("illiquid", 1), ("limit-up", 1), ("suspended", 1))
    assert result.coverage == Coverage(universe=7, scored=7, passed=3, reasons=reasons)


def test_bars_without_amount_screen_as_with_it_and_say_so(market: Store, tmp_path: Path) -> None:
    """Bars from a file without amount: close x volume stands in (here exactly the amount the
    bars had), so the screen ranks and filters alike and says the amount was estimated."""
    with Store(tmp_path / "no_amount.duckdb") as bare:
        build_market(bare, tmp_path)
        bare.upsert("bars_daily", bare.read_bars().with_columns(amount=pl.lit(None, pl.Float64)))
        without = run_screen(bare, PICKS_RET5, on=AS_OF, settings=SETTINGS)
    given = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS)
    assert without.ranked["ticker"].to_list() == given.ranked["ticker"].to_list()
    assert without.excluded.equals(given.excluded)  # 603993.SH is still the illiquid one
    amounts = without.ranked["avg_amount_20d"].to_list()
    assert amounts == pytest.approx(given.ranked["avg_amount_20d"].to_list(), rel=1e-12)
    assert without.ranked["amount_estimated"].all()
    assert without.coverage == dataclasses.replace(given.coverage, amount_estimated=7)
    assert given.coverage.estimate_line() is None
    assert "close x volume" in (without.coverage.estimate_line() or "")


def test_a_pick_never_appears_before_its_report_date(market: Store) -> None:
    before = run_screen(market, PICKS_RET5, on=PREVIOUS, settings=SETTINGS)
    assert "000630.SZ" not in before.ranked["ticker"].to_list()  # its note is dated AS_OF
    on_the_day = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS)
    assert "000630.SZ" in on_the_day.ranked["ticker"].to_list()
    assert "600489.SH" not in on_the_day.ranked["ticker"].to_list()  # note of Saturday 02-14
    saturday = run_screen(market, PICKS_RET5, on=D("2026-02-14"), settings=SETTINGS)
    assert saturday.as_of == AS_OF  # the data of Friday, the picks known on Saturday
    assert saturday.ranked["ticker"].to_list()[:2] == ["601899.SH", "600489.SH"]
    expired = run_screen(market, dataclasses.replace(PICKS_RET5, picks_window_days=2), on=AS_OF,
                         settings=SETTINGS)  # fmt: skip
    assert expired.ranked["ticker"].to_list() == ["000630.SZ"]  # the 02-10 note is 3 days old


def test_changes_against_the_previous_session(market: Store) -> None:
    result = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS)
    # 02-12: all of note a was tradable: 601899, 600547, 600362, 601600, 000807 ranked 1-5.
    got = {t: (c, m) for t, c, m in result.changes.select("ticker", "change", "move").iter_rows()}
    assert got == {
        "601899.SH": ("same", 0),
        "000630.SZ": ("new", None),
        "600547.SH": ("down", -1),
        "600362.SH": ("dropped", None),
        "601600.SH": ("dropped", None),
        "000807.SZ": ("dropped", None),
    }


def test_switched_off_filters_become_flags(market: Store) -> None:
    loose = dataclasses.replace(PICKS_RET5, exclude_st=False, require_tradable=False)
    result = run_screen(market, loose, on=AS_OF, settings=SETTINGS)
    flags = dict(result.ranked.select("ticker", "flags").iter_rows())
    assert flags["000807.SZ"] == "ST"
    assert flags["600362.SH"] == "limit-up"
    assert flags["601600.SH"] == "suspended"
    assert flags["601899.SH"] is None
    assert dict(result.excluded.select("ticker", "reason").iter_rows()) == {
        "603993.SH": "illiquid", "01378.HK": "HK-listed: no A-share bars"}  # fmt: skip
    top2 = run_screen(market, dataclasses.replace(loose, top_n=2), on=AS_OF, settings=SETTINGS)
    assert top2.ranked["ticker"].to_list() == result.ranked["ticker"].to_list()[:2]


def test_sector_universe_with_the_metal_filter(market: Store) -> None:
    screen = Screen(universe="sector", score="ret_5d", metal_max_drop_pct=5.0, metal_window=7)
    result = run_screen(market, screen, on=AS_OF, settings=SETTINGS)
    assert result.universe_size == 8
    assert result.ranked["ticker"].to_list() == ["600489.SH", "600547.SH"]  # gold held up
    reasons = dict(result.excluded.select("ticker", "reason").iter_rows())
    assert reasons["601899.SH"] == "metal fell > 5%"  # copper: 89,500 / 100,000 - 1 = -10.5%
    assert reasons["603993.SH"] == "illiquid, metal fell > 5%"
    assert reasons["600362.SH"] == "limit-up, metal fell > 5%"
    assert reasons["601600.SH"] == "suspended"  # aluminium rose: only the halt counts
    lenient = dataclasses.replace(screen, metal_max_drop_pct=11.0)
    assert "601899.SH" in run_screen(market, lenient, on=AS_OF, settings=SETTINGS).ranked["ticker"]


def test_metal_universe(market: Store) -> None:
    copper = Screen(universe="metal", metal="copper", score="ret_5d")
    result = run_screen(market, copper, on=AS_OF, settings=SETTINGS)
    # Tagged copper: 601899 (copper|gold), 600362, 603993, 000630 and 600489 (gold|copper).
    assert result.universe_size == 5
    assert result.ranked["ticker"].to_list() == ["601899.SH", "600489.SH", "000630.SZ"]
    assert set(result.ranked["metal"]) == {"copper"}
    narrowed = Screen(universe="picks", metal="gold", score="ret_5d")
    got = run_screen(market, narrowed, on=AS_OF, settings=SETTINGS).ranked["ticker"].to_list()
    assert got == ["601899.SH", "600547.SH"]


def test_empty_universe_is_an_empty_result(market: Store) -> None:
    result = run_screen(market, Screen(), on=D("2026-02-01"), settings=SETTINGS)  # before notes
    assert result.universe_size == 0 and result.ranked.height == 0
    assert result.ranked.columns[:6] == ["rank", "ticker", "name", "metal", "board", "score"]
    assert "drawdown_250d" in result.ranked.columns  # the composite's components
    assert result.to_records() == [] and json.dumps(result.to_records()) == "[]"
    nothing = run_screen(market, Screen(), on=D("2020-01-01"), settings=SETTINGS)
    assert nothing.as_of is None and nothing.ranked.height == 0 and nothing.previous is None


def test_a_store_without_a_master_is_said_to_have_none(market: Store) -> None:
    universe = Screen(universe="all", score="ret_5d")
    assert not run_screen(market, universe, on=AS_OF, settings=SETTINGS).master_empty
    market.delete("instruments")
    bare = run_screen(market, universe, on=AS_OF, settings=SETTINGS)
    assert bare.master_empty and bare.universe_size == 0 and bare.as_of == AS_OF


def test_records_are_json_in_rank_order(market: Store) -> None:
    records = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS).to_records()
    assert [r["rank"] for r in records] == [1, 2, 3]
    assert records[0]["ticker"] == "601899.SH"
    assert json.loads(json.dumps(records, ensure_ascii=False)) == records


def test_run_screen_rejects_an_invalid_screen(market: Store) -> None:
    with pytest.raises(ConfigError, match="top_n"):
        run_screen(market, Screen(top_n=0), on=AS_OF, settings=SETTINGS)


@pytest.mark.parametrize("case", ["opened at the limit", "closed at the limit"])
def test_a_limit_up_open_or_close_is_not_tradable(market: Store, case: str) -> None:
    bar = pl.DataFrame(_bars("600362.SH")[-1:])
    up = bar["up_limit"][0]
    if case == "opened at the limit":  # 一字板 broken late: opened at the limit, closed 1% below
        bar = bar.with_columns(open=pl.lit(up), high=pl.lit(up), close=pl.lit(round(up * 0.99, 2)))
    market.upsert("bars_daily", bar)
    excluded = run_screen(market, PICKS_RET5, on=AS_OF, settings=SETTINGS).excluded
    assert dict(excluded.select("ticker", "reason").iter_rows())["600362.SH"] == "limit-up"


# -- the shipped screens on the demo market ----------------------------------------------------

DEMO_NOTE = """有色板块错杀机会凸显
国投证券· 2026-02-08 17:12
黄金方面,建议关注山东黄金、中金黄金、赤峰黄金。铜方面,建议关注紫金矿业、洛阳钼业、江西铜业。
"""


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from screener.ingest import demo

    folder = tmp_path_factory.mktemp("demo")
    with Store(folder / "demo.duckdb") as store:
        demo.load(store, end=D("2026-02-13"))
        note = folder / "note.txt"
        note.write_text(DEMO_NOTE, encoding="utf-8")
        import_notes(store, [note], load_master())
        yield store


def test_shipped_screens_on_the_demo_market(demo_store: Store) -> None:
    folder = REPO / "strategies" / "screens"
    picks = load_screen(folder / "picks_oversold.toml")
    friday = run_screen(demo_store, picks, on=D("2026-02-06"), settings=SETTINGS)
    assert friday.universe_size == 0 and friday.to_records() == []  # the note is from Sunday
    monday = run_screen(demo_store, picks, on=D("2026-02-09"), settings=SETTINGS)
    noted = {"600547.SH", "600489.SH", "600988.SH", "601899.SH", "603993.SH", "600362.SH"}
    assert monday.universe_size == 6 and 0 < monday.ranked.height <= 6
    assert set(monday.ranked["ticker"]) | set(monday.excluded["ticker"]) == noted
    scores = monday.ranked["score"].to_list()
    assert scores == sorted(scores, reverse=True) and None not in scores
    assert monday.ranked.columns[6:10] == ["drawdown_250d", "ret_20d", "rsi_14", "divergence_20d"]
    assert set(monday.changes["change"]) == {"new"}
    div = load_screen(folder / "sector_divergence.toml")
    sector = run_screen(demo_store, div, on=D("2026-02-06"), settings=SETTINGS)
    assert sector.universe_size > 100 and 0 < sector.ranked.height <= div.top_n
    scores = sector.ranked["score"].to_list()
    assert scores == sorted(scores)  # divergence: the most negative ranks first
    # the demo has every series and USD/CNY: each name's metal is fed by its first series
    first = {ids[0] for ids in METAL_SERIES.values()}
    assert set(sector.ranked["metal_series"]) <= first
    assert set(sector.ranked["metal_currency"]) == {"CNY"}


def test_default_sector_screen_on_bars_without_amount(demo_without_amount: Store) -> None:
    """Fails before close x volume stood in: every name was "illiquid" and nothing ranked.
    The coverage counts are checked against the master, the factor values and the excluded
    list, each read on its own."""
    from screener.engine import compute_factors

    store, on = demo_without_amount, D("2026-02-09")
    result = run_screen(store, Screen(universe="sector"), on=on, settings=SETTINGS)
    assert result.ranked.height == 10 and result.ranked["amount_estimated"].all()
    cov = result.coverage
    listed = store.read_instruments().filter(
        pl.col("sw_l1") == SECTOR_INDEX,
        pl.col("board") != "hk",
        pl.col("list_date").is_null() | (pl.col("list_date") <= on),
        pl.col("delist_date").is_null() | (pl.col("delist_date") > on),
    )
    assert cov.universe == listed.height == result.universe_size
    values = compute_factors(store, on=on, factors=["oversold_score"], settings=SETTINGS)
    in_universe = values.filter(pl.col("ticker").is_in(listed["ticker"].implode()))
    assert cov.scored == in_universe["oversold_score"].is_not_null().sum()
    tally = Counter(r for reasons in result.excluded["reason"] for r in reasons.split(", "))
    assert dict(cov.reasons) == tally and "illiquid" not in tally
    assert cov.excluded == result.excluded.height and cov.passed == cov.universe - cov.excluded
    traded = store.read_bars(listed["ticker"].to_list(), start=on, end=on)
    assert cov.amount_estimated == traded.height  # every name with a bar that day
