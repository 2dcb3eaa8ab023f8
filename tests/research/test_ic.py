"""IC and rank IC against the pandas/scipy reference (reference_research.py) to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from research.reference_research import daily_ic, reference_frame, summary
from research.seeded import FACTORS

from screener.research.data import FactorPanel, from_panel
from screener.research.ic import ic_series, ic_summary, newey_west

TOL = 1e-9


@pytest.fixture(scope="module")
def reference(research_panel: pl.DataFrame) -> pd.DataFrame:
    return reference_frame(research_panel, FACTORS, (1, 5, 20))


@pytest.mark.parametrize("factor", [f.name for f in FACTORS])
@pytest.mark.parametrize("horizon", [1, 5, 20])
def test_daily_ic_and_rank_ic_equal_scipy(
    research_data: FactorPanel, reference: pd.DataFrame, factor: str, horizon: int
) -> None:
    want = daily_ic(reference, factor, horizon, ["date"])
    got = ic_series(research_data, factor).filter(pl.col("horizon") == horizon)
    assert got["date"].to_list() == [d.date() for d in want["date"]]
    np.testing.assert_allclose(got["ic"].to_numpy(), want["ic"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["rank_ic"].to_numpy(), want["rank_ic"], rtol=0, atol=TOL)
    assert got["names"].to_list() == want["names"].to_list()


def test_summary_equals_the_reference_statistics(
    research_data: FactorPanel, reference: pd.DataFrame
) -> None:
    table = ic_summary(research_data)
    assert table.height == len(FACTORS) * 3
    for row in table.iter_rows(named=True):
        want = daily_ic(reference, row["factor"], row["horizon"], ["date"])
        for kind in ("ic", "rank_ic"):
            ref = summary(want[kind].to_numpy(), row["horizon"] - 1)
            got = [row[kind], row[f"{kind}_std"], row[f"{kind}ir"], row[f"{kind}_t"]]
            np.testing.assert_allclose(
                got, [ref["mean"], ref["std"], ref["ir"], ref["t"]], rtol=0, atol=TOL
            )
            assert row[f"{kind}_positive"] == pytest.approx(ref["positive"], abs=TOL)
        assert row["dates"] == len(want)
        assert row["names_per_date"] == pytest.approx(want["names"].mean(), abs=TOL)


def test_by_metal_is_the_ic_within_each_metal(
    research_data: FactorPanel, reference: pd.DataFrame
) -> None:
    table = ic_summary(research_data, ["ret_20d"], by_metal=True)
    assert sorted(table["metal"].unique()) == ["copper", "gold", "none", "tin"]
    for row in table.iter_rows(named=True):
        want = daily_ic(reference, "ret_20d", row["horizon"], ["date", "metal"])
        want = want[want["metal"] == row["metal"]]
        ref = summary(want["rank_ic"].to_numpy(), row["horizon"] - 1)
        assert row["dates"] == len(want)
        assert row["rank_ic"] == pytest.approx(ref["mean"], abs=TOL)
        assert row["rank_ic_t"] == pytest.approx(ref["t"], abs=TOL)
        names = reference.loc[reference["metal"] == row["metal"], "ticker"].nunique()
        assert 0 < row["names"] <= names


def test_close_entry_and_kept_unbuyable_names_change_the_sample(
    research_panel: pl.DataFrame, research_data: FactorPanel
) -> None:
    kept = from_panel(
        research_panel, FACTORS[:1], horizons=(5,), entry="close", keep_unbuyable=True
    )
    frame = reference_frame(research_panel, FACTORS[:1], (5,), entry="close", keep_unbuyable=True)
    want = daily_ic(frame, "ret_5d", 5, ["date"])
    got = ic_series(kept, "ret_5d")
    np.testing.assert_allclose(got["rank_ic"].to_numpy(), want["rank_ic"], rtol=0, atol=TOL)
    default = ic_series(research_data, "ret_5d").filter(pl.col("horizon") == 5)
    assert got["names"].sum() > default["names"].sum()  # no name left out as unbuyable


def test_newey_west_with_no_lag_is_the_plain_standard_error() -> None:
    x = np.random.default_rng(3).standard_normal(200)
    mean, se = newey_west(x, 0)
    assert mean == pytest.approx(x.mean()) and se == pytest.approx(x.std() / np.sqrt(200))
    assert np.isnan(newey_west(x[:1], 3)[1])
