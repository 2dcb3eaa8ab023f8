"""Alpha158 against qlib itself: the fixture is qlib 0.9.7's own output on the seeded test market.

benchmarks/make_qlib_fixture.py regenerates it (pyqlib in its own virtual environment, never a
dependency). Real data is checked against the pandas twin of qlib's operators instead
(test_realdata_alpha158.py): running qlib at test time would need that environment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from screener.bulk import ticker_chunks, write_values
from screener.engine import factor_values
from screener.factors.base import Factor
from screener.factors.expr.files import check_file

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "qlib"
ALPHA158 = ROOT / "strategies" / "factors" / "alpha158.toml"


@pytest.fixture(scope="module")
def alpha158() -> list[Factor]:
    return check_file(ALPHA158)


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return pl.read_parquet(FIXTURES / "alpha158_panel.parquet")


def assert_equal_to_qlib(ours: pl.DataFrame, names: list[str]) -> None:
    """Every value within 1e-5 relative or 1e-6 absolute of qlib's; missing (NaN, inf in qlib,
    null here) in exactly the same places."""
    qlib = pl.read_parquet(FIXTURES / "alpha158_qlib.parquet")
    assert ours.select("ticker", "date").equals(qlib.select("ticker", "date"))
    for name in names:
        a = ours.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()
        b = qlib.get_column(name).cast(pl.Float64).to_numpy()
        b = np.where(np.isfinite(b), b, np.nan)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: missing values differ"
        close = np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        bad = np.flatnonzero(~close)[:3]
        assert close.all(), f"{name}: rows {bad}: {a[bad]} vs qlib {b[bad]}"


def test_alpha158_has_qlibs_158_features(alpha158: list[Factor]) -> None:
    assert len(alpha158) == 158
    assert {f.name for f in alpha158} >= {"kmid", "vwap0", "roc60", "cord5", "vsumd60"}
    lookbacks = {f.name: f.lookback for f in alpha158}
    assert lookbacks["kmid"] == 1 and lookbacks["roc60"] == 61 and lookbacks["cord60"] == 61


def test_every_alpha158_feature_equals_qlibs(alpha158: list[Factor], panel: pl.DataFrame) -> None:
    assert_equal_to_qlib(factor_values(panel, alpha158), [f.name for f in alpha158])


def test_bulk_path_gives_the_same_values_chunk_by_chunk(
    alpha158: list[Factor], panel: pl.DataFrame, tmp_path: Path
) -> None:
    """Shared nodes, two threads, chunks of one or two tickers: qlib's values still, and the
    per-factor path's to the float32 bit."""
    out = tmp_path / "alpha158.parquet"
    written = write_values(ticker_chunks(panel, rows=400), alpha158, out)
    assert written.chunks >= 4 and written.rows == panel.height
    bulk = pl.read_parquet(out)
    names = [f.name for f in alpha158]
    assert_equal_to_qlib(bulk, names)
    single = factor_values(panel, alpha158).with_columns(pl.col(names).cast(pl.Float32))
    assert bulk.equals(single)
