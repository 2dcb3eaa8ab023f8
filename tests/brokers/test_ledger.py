"""Ledger: idempotent import, point-in-time queries and pick performance checked by hand.

The performance store is hand-made: 30 weekday sessions from 2026-01-05 (index 0) to 2026-02-13
(index 29), three stocks and the two benchmark indices, with prices simple enough that every
expected figure below is written from first principles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from screener.brokers.ledger import (
    HK_NOTE,
    import_notes,
    list_picks,
    pick_performance,
    picks_known_on,
)
from screener.errors import InputError
from screener.instruments import load_master
from screener.rules import CostModel
from screener.schema import BROKER_PICKS, MARKET_INDEX, SECTOR_INDEX
from screener.store import Store

D = dt.date.fromisoformat
SESSIONS = [D("2026-01-05") + dt.timedelta(days=7 * (i // 5) + i % 5) for i in range(30)]

GOLD_NOTE = """金价回落带来配置机会
中信证券研究所· 2026-02-02 08:00
中信证券认为金价短期回调。黄金方面,建议关注山东黄金、紫金矿业。铜方面,建议关注洛阳钼业、江西铜业。
铝价企稳
国投证券· 2026-02-05 09:00
铝:建议关注中国铝业、云铝股份、中国宏桥。
"""


@pytest.fixture(scope="module")
def master() -> pl.DataFrame:
    return load_master()


# -- import ------------------------------------------------------------------------------------


def test_import_twice_changes_nothing(store: Store, master: pl.DataFrame, tmp_path: Path) -> None:
    note = tmp_path / "week6.txt"
    note.write_text(GOLD_NOTE, encoding="utf-8")
    first = import_notes(store, [note], master, now=dt.datetime(2026, 2, 8, 18))
    assert (first.notes_new, first.notes_unchanged) == (2, 0)
    assert (first.picks_new, first.picks_unchanged) == (7, 0)
    assert first.changed
    second = import_notes(store, [note, note], master, now=dt.datetime(2026, 2, 9, 18))
    assert (second.notes_new, second.notes_unchanged) == (0, 2)
    assert (second.picks_new, second.picks_updated, second.picks_unchanged) == (0, 0, 7)
    assert not second.changed
    notes = store.read_table("broker_notes")
    assert notes["imported_at"].to_list() == [dt.datetime(2026, 2, 8, 18)] * 2  # first import kept
    assert set(notes["broker"]) == {"中信证券", "国投证券"}


def test_import_resolves_after_the_master_learns_a_name(
    store: Store, master: pl.DataFrame, tmp_path: Path
) -> None:
    note = tmp_path / "n.txt"
    note.write_text(GOLD_NOTE, encoding="utf-8")
    partial = master.filter(~pl.col("ticker").is_in(["601600.SH", "02600.HK"]))  # 中国铝业 unknown
    first = import_notes(store, [note], partial)
    assert "中国铝业" in first.unresolved["name_as_written"].to_list()
    again = import_notes(store, [note], master)
    assert again.picks_updated >= 1 and again.notes_new == 0
    row = list_picks(store).filter(pl.col("name_as_written") == "中国铝业")
    assert row.select("ticker", "status").row(0) == ("601600.SH", "resolved")


def test_a_bad_file_writes_nothing(store: Store, master: pl.DataFrame, tmp_path: Path) -> None:
    good, empty, undated = tmp_path / "good.txt", tmp_path / "empty.txt", tmp_path / "undated.txt"
    good.write_text(GOLD_NOTE, encoding="utf-8")
    empty.write_text("  \n", encoding="utf-8")
    undated.write_text("铜的机会\n铜方面,建议关注江西铜业、洛阳钼业。\n", encoding="utf-8")
    for bad in (empty, undated, tmp_path / "missing.txt"):
        with pytest.raises(InputError, match=bad.name):
            import_notes(store, [good, bad], master)
        assert store.read_table("broker_notes").height == 0
        assert store.read_table("broker_picks").height == 0


def test_a_note_with_cues_but_no_pick_is_refused_unless_allowed(
    store: Store, master: pl.DataFrame, tmp_path: Path
) -> None:
    good, unread = tmp_path / "good.txt", tmp_path / "unread.txt"
    good.write_text(GOLD_NOTE, encoding="utf-8")
    unread.write_text("有色周评 2026-03-05\n建议关注铜价走势与库存变化。\n", encoding="utf-8")
    with pytest.raises(InputError, match="recommendation cue") as err:
        import_notes(store, [good, unread], master)
    assert "unread.txt" in str(err.value) and "--explain" in str(err.value)
    assert "\n" not in str(err.value)
    assert store.read_table("broker_notes").height == 0
    allowed = import_notes(store, [good, unread], master, allow_empty=True)
    assert allowed.notes_new == 2 and allowed.files_without_picks == (str(unread),)


def test_a_date_given_places_an_undated_note(
    store: Store, master: pl.DataFrame, tmp_path: Path
) -> None:
    note = tmp_path / "undated.txt"
    note.write_text("铜的机会\n铜方面,建议关注江西铜业、洛阳钼业。\n", encoding="utf-8")
    with pytest.raises(InputError, match="no date") as err:
        import_notes(store, [note], master)
    assert "--date" in str(err.value)
    done = import_notes(store, [note], master, date=D("2026-02-06"))
    assert done.picks_new == 2
    assert set(list_picks(store)["report_date"]) == {D("2026-02-06")}


def test_the_summary_counts_unresolved_names_and_warnings(
    store: Store, master: pl.DataFrame, tmp_path: Path
) -> None:
    note = tmp_path / "n.txt"
    note.write_text("铝周报 2026-03-04\n铝：建议关注中国铝业（601899.SH）、示范铝业。\n", "utf-8")
    done = import_notes(store, [note], master)
    assert done.unresolved["name_as_written"].to_list() == ["示范铝业"]
    assert done.warnings == ("中国铝业: code 601899.SH names another company",)


def test_list_and_point_in_time(store: Store, master: pl.DataFrame, tmp_path: Path) -> None:
    note = tmp_path / "n.txt"
    note.write_text(GOLD_NOTE, encoding="utf-8")
    import_notes(store, [note], master)
    assert list_picks(store, broker="国投证券")["ticker"].to_list() == [
        "601600.SH",
        "000807.SZ",
        "01378.HK",
    ]
    assert list_picks(store, metal="gold")["ticker"].to_list() == ["600547.SH", "601899.SH"]
    assert list_picks(store, since=D("2026-02-03")).height == 3
    # Before the first note nothing is known; on its date its picks are.
    assert picks_known_on(store, D("2026-02-01"), window_days=30).a_share.height == 0
    on_2nd = picks_known_on(store, D("2026-02-02"), window_days=30)
    assert on_2nd.a_share["report_date"].max() == D("2026-02-02")
    assert on_2nd.a_share.height == 4 and on_2nd.hk_only.height == 0
    on_5th = picks_known_on(store, D("2026-02-05"), window_days=2)  # the 2nd is outside 2 days
    assert on_5th.a_share["ticker"].to_list() == ["601600.SH", "000807.SZ"]
    assert on_5th.hk_only["ticker"].to_list() == ["01378.HK"]
    assert on_5th.hk_only["note"].to_list() == [HK_NOTE]


# -- performance: the hand-made market ---------------------------------------------------------


def _bar(ticker: str, i: int, o: float, c: float, prev: float, adj: float = 1.0) -> dict:
    up, down = round(prev * 1.1, 2), round(prev * 0.9, 2)
    return dict(ticker=ticker, date=SESSIONS[i], open=o, high=max(o, c), low=min(o, c), close=c,
                prev_close=prev, volume=1_000_000, amount=c * 1e6, adj_factor=adj,
                suspended=False, up_limit=up, down_limit=down, is_st=False)  # fmt: skip


def _market() -> pl.DataFrame:
    """Three stocks: A trends up, B goes ex-rights on session 8, C opens limit-up then halts."""
    rows = []
    for i in range(30):  # A 600547.SH: open 10.0 + 0.1 i, close open + 0.05
        rows.append(_bar("600547.SH", i, 10.0 + 0.1 * i, 10.05 + 0.1 * i, 9.95 + 0.1 * i))
    for i in range(30):  # B 601899.SH: 20.0 flat; 16.8 raw with adj 1.25 from session 8 (ex-date)
        ex = i >= 8
        prev = 16.0 if i == 8 else (16.8 if ex else 20.0)
        rows.append(_bar("601899.SH", i, 16.8 if ex else 20.0, 16.8 if ex else 20.0, prev,
                         1.25 if ex else 1.0))  # fmt: skip
    # C 600362.SH: 10.0 flat; a one-price limit-up bar at 11.0 on session 5; no bar on 6
    # (halted); opens 11.5 on 7 and closes at 12.0 from then on.
    c_bars = {i: (10.0, 10.0, 10.0) for i in range(5)} | {5: (11.0, 11.0, 10.0)}
    c_bars |= {7: (11.5, 12.0, 11.0)} | {i: (12.0, 12.0, 12.0) for i in range(8, 30)}
    rows += [_bar("600362.SH", i, o, c, prev) for i, (o, c, prev) in c_bars.items()]
    return pl.DataFrame(rows)


def _indices() -> pl.DataFrame:
    """Sector: open 1000 + 10 i, close open + 5. CSI 300: close 4000 + 20 i and no opens."""
    rows = [
        dict(index_code=SECTOR_INDEX, date=d, open=1000.0 + 10 * i, close=1005.0 + 10 * i)
        for i, d in enumerate(SESSIONS)
    ] + [dict(index_code=MARKET_INDEX, date=d, open=None, close=4000.0 + 20 * i)
         for i, d in enumerate(SESSIONS)]  # fmt: skip
    return pl.DataFrame(rows)


def _pick(seq: int, broker: str, day: str, metal: str, ticker: str | None, status: str) -> dict:
    board = "hk" if status == "hk_only" else ("main" if ticker else None)
    return {"note_id": f"n{seq}", "seq": seq, "broker": broker, "report_date": D(day),
            "title": "t", "metal": metal, "name_as_written": "x", "ticker": ticker,
            "board": board, "status": status}  # fmt: skip


PICKS = [
    _pick(1, "中信证券", "2026-01-11", "gold", "600547.SH", "resolved"),  # Sunday: enters idx 5
    _pick(2, "国投证券", "2026-01-12", "copper", "601899.SH", "resolved"),  # a session: idx 6
    _pick(3, "中信证券", "2026-01-11", "copper", "600362.SH", "resolved"),  # limit-up, halt: idx 7
    _pick(4, "国投证券", "2026-01-25", "gold", "600547.SH", "resolved"),  # idx 15: no 20d exit
    _pick(5, "国投证券", "2026-01-11", "aluminium", "01378.HK", "hk_only"),
    _pick(6, "国投证券", "2026-01-11", "gold", None, "unresolved"),
]


@pytest.fixture
def market(store: Store) -> Store:
    store.upsert("bars_daily", _market())
    store.upsert("index_daily", _indices())
    store.upsert("broker_picks", pl.DataFrame(PICKS, schema_overrides=BROKER_PICKS.columns))
    store.upsert("instruments", load_master().filter(pl.col("ticker").is_in(
        ["600547.SH", "601899.SH", "600362.SH", "01378.HK"])))  # fmt: skip
    return store


def _net(notional: float, growth: float, commission: float = 0.00025) -> float:
    """Net return from first principles: pay commission (min 5) + 0.001% transfer on the buy;
    on the sell, commission (min 5) + 0.001% transfer + 0.05% stamp duty (2026 rates)."""
    buy = notional + max(notional * commission, 5.0) + notional * 0.00001
    value = notional * growth
    sell = value - max(value * commission, 5.0) - value * 0.00001 - value * 0.0005
    return sell / buy - 1


def test_entries_follow_the_a_share_rules(market: Store) -> None:
    perf = pick_performance(market, horizons=(5, 20, 60)).per_pick
    assert perf["seq"].to_list() == [1, 3, 2, 4]  # A-share resolved only, by report date
    got = {r["seq"]: r for r in perf.iter_rows(named=True)}
    assert (got[1]["entry_date"], got[1]["entry_delay"], got[1]["entry_price"]) == (
        SESSIONS[5], 0, 10.5)  # fmt: skip
    assert (got[2]["entry_date"], got[2]["entry_delay"]) == (SESSIONS[6], 0)  # not the same day
    # C opened at its up limit on session 5 and had no bar on 6: bought on 7, two sessions late.
    assert (got[3]["entry_date"], got[3]["entry_delay"], got[3]["entry_price"]) == (
        SESSIONS[7], 2, 11.5)  # fmt: skip
    assert got[1]["exit_date_5d"] == SESSIONS[9] and got[1]["exit_date_20d"] == SESSIONS[24]
    assert got[4]["exit_date_5d"] == SESSIONS[19] and got[4]["exit_date_20d"] is None
    assert perf["ret_60d"].null_count() == perf.height


def test_returns_match_a_hand_computation(market: Store) -> None:
    perf = pick_performance(market, horizons=(5, 20)).per_pick
    got = {r["seq"]: r for r in perf.iter_rows(named=True)}
    a = got[1]  # open 10.5 on session 5; close 10.95 on session 9 and 12.45 on 24
    assert a["ret_5d"] == pytest.approx(_net(100_000, 10.95 / 10.5), abs=1e-12)
    assert a["ret_20d"] == pytest.approx(_net(100_000, 12.45 / 10.5), abs=1e-12)
    # Sector: open of session 5 (1050) to close of 9 (1095). CSI 300 has no opens: the close
    # of session 4 (4080) to the close of 9 (4180).
    assert a["sector_ret_5d"] == pytest.approx(1095 / 1050 - 1, abs=1e-12)
    assert a["market_ret_5d"] == pytest.approx(4180 / 4080 - 1, abs=1e-12)
    assert a["excess_sector_5d"] == pytest.approx(a["ret_5d"] - (1095 / 1050 - 1), abs=1e-12)
    assert a["excess_market_20d"] == pytest.approx(a["ret_20d"] - (4480 / 4080 - 1), abs=1e-12)
    b = got[2]  # bought 20.0 raw (adj 1.0); sold 16.8 raw after the ex-date (adj 1.25) = 21.0
    assert b["ret_5d"] == pytest.approx(_net(100_000, 16.8 * 1.25 / 20.0), abs=1e-12)
    assert b["ret_5d"] > 0.04  # the raw price fell 16%: only adjusted prices show the gain
    c = got[3]  # bought 11.5 on session 7, close 12.0 on session 11
    assert c["ret_5d"] == pytest.approx(_net(100_000, 12.0 / 11.5), abs=1e-12)
    assert c["sector_ret_5d"] == pytest.approx(1115 / 1070 - 1, abs=1e-12)


def test_minimum_commission_and_custom_costs(market: Store) -> None:
    small = pick_performance(market, horizons=(5,), notional=10_000).per_pick
    a = small.filter(pl.col("seq") == 1).row(0, named=True)
    assert a["ret_5d"] == pytest.approx(_net(10_000, 10.95 / 10.5), abs=1e-12)  # 5-yuan minimum
    gross = CostModel(commission_rate=0.0, min_commission=0.0,
                      stamp_duty_rates=((D("2000-01-01"), 0.0),),
                      transfer_fee_rates=((D("2000-01-01"), 0.0),))  # fmt: skip
    free = pick_performance(market, horizons=(5,), costs=gross).per_pick
    assert free.filter(pl.col("seq") == 1)["ret_5d"].item() == pytest.approx(10.95 / 10.5 - 1)


def test_summary_counts_only_picks_with_data(market: Store) -> None:
    result = pick_performance(market, horizons=(5, 20, 60))
    s = result.summary
    sector = pl.col("benchmark") == SECTOR_INDEX

    def row(by: str, group: str, h: int) -> dict:
        return s.filter((pl.col("by") == by) & (pl.col("group") == group) & sector
                        & (pl.col("horizon") == h)).row(0, named=True)  # fmt: skip

    assert row("all", "all", 5)["count"] == 4
    assert row("all", "all", 20)["count"] == 3  # pick 4 ends past the data
    assert row("all", "all", 60)["count"] == 0 and row("all", "all", 60)["hit_rate"] is None
    per = result.per_pick
    ex = per.filter(pl.col("broker") == "中信证券")["excess_sector_5d"].to_list()
    citic = row("broker", "中信证券", 5)
    assert citic["count"] == 2
    assert citic["mean_excess"] == pytest.approx(sum(ex) / 2)
    assert citic["hit_rate"] == pytest.approx(sum(e > 0 for e in ex) / 2)
    gold = row("metal", "gold", 20)
    assert gold["count"] == 1  # pick 1 only: pick 4 has no 20-session exit
    assert gold["median_excess"] == pytest.approx(per["excess_sector_20d"][0])
    assert set(s["by"]) == {"all", "broker", "metal"}


def test_performance_of_an_empty_ledger(store: Store) -> None:
    result = pick_performance(store)
    assert result.per_pick.height == 0 and "excess_market_60d" in result.per_pick.columns
    assert result.summary.height == 0
    with pytest.raises(ValueError, match="T\\+1"):
        pick_performance(store, horizons=(1, 5))
