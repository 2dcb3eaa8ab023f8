"""Forward returns by hand, and no look-ahead: the future moves only labels that reach it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from research.seeded import FACTORS

from screener.research.data import from_panel
from screener.research.labels import forward_returns

HAND = pl.DataFrame(
    {
        "ticker": ["A"] * 4 + ["B"] * 2,
        "date": [1, 2, 3, 4, 1, 2],
        "adj_open": [10.0, 11.0, 12.0, 15.0, 5.0, 6.0],
        "adj_close": [10.5, 11.5, 12.5, 14.0, 5.5, 6.5],
        "can_buy_open": [True, False, True, True, True, True],
        "can_buy_close": [True, True, False, True, True, True],
    }
)


def test_open_entry_buys_the_next_open_and_sells_h_sessions_later() -> None:
    got = forward_returns(HAND, [1, 2])
    # A on 1: bought at the open of 2 (11), sold at the open of 3 (12) or 4 (15)
    assert got["fwd_1d"].to_list()[:3] == pytest.approx([12 / 11 - 1, 15 / 12 - 1, None])
    assert got["fwd_2d"].to_list()[:2] == pytest.approx([15 / 11 - 1, None])
    assert got["fwd_1d"].to_list()[4:] == [None, None]  # B's future is not another ticker's
    # buyable: can the name be bought at the open of the next session?
    assert got["buyable"].to_list() == [False, True, True, False, True, False]


def test_close_entry_is_close_to_close_from_the_signal_day() -> None:
    got = forward_returns(HAND, [1], entry="close")
    assert got["fwd_1d"].to_list() == pytest.approx(
        [11.5 / 10.5 - 1, 12.5 / 11.5 - 1, 14 / 12.5 - 1, None, 6.5 / 5.5 - 1, None]
    )
    assert got["buyable"].to_list() == [True, True, False, True, True, True]


def test_bad_horizons_and_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="horizons"):
        forward_returns(HAND, [0])
    with pytest.raises(ValueError, match="entry"):
        forward_returns(HAND, [1], entry="vwap")


@pytest.mark.parametrize("entry", ["open", "close"])
def test_prices_after_t_move_no_factor_and_only_labels_reaching_past_t(
    research_panel: pl.DataFrame, entry: str
) -> None:
    days = research_panel.get_column("date").unique().sort()
    t = 150
    shock = pl.Series(np.random.default_rng(1).uniform(0.8, 1.25, research_panel.height))
    later = pl.col("date") > days[t]
    moved = research_panel.with_columns(
        pl.when(later).then(pl.col(c) * shock).otherwise(pl.col(c)).alias(c)
        for c in ("adj_open", "adj_close")
    )
    before = from_panel(research_panel, FACTORS, horizons=(1, 5, 20), entry=entry)
    after = from_panel(moved, FACTORS, horizons=(1, 5, 20), entry=entry)
    for name in before.values:
        np.testing.assert_array_equal(before.values[name][: t + 1], after.values[name][: t + 1])
        assert not np.array_equal(before.values[name][t + 1 :], after.values[name][t + 1 :])
    lead = 1 if entry == "open" else 0
    for h in (1, 5, 20):
        last_untouched = t - lead - h  # its exit price is dated t at the latest
        a, b = before.returns[h], after.returns[h]
        np.testing.assert_array_equal(a[: last_untouched + 1], b[: last_untouched + 1])
        reach = slice(last_untouched + 1, t + 1)
        assert not np.array_equal(a[reach], b[reach])
