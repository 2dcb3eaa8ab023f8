"""Alpha158 on real prices (../shared/realdata) against the pandas twin of qlib's operators.

Real suspensions give windows of zero volume, flat prices and missing returns: the cases where
qlib's pandas arithmetic is most particular. qlib itself is not run here (it lives in its own
virtual environment); benchmarks/bench_alpha158.py compares with it directly, and
test_qlib_reference.py with its stored output on synthetic data.
"""

from __future__ import annotations

import tomllib

import numpy as np
import polars as pl
from conftest import require_realdata
from factors.qlib_twin import evaluate_twin
from factors.reference import panel_of, realdata_market
from test_qlib_reference import ALPHA158

from screener.engine import factor_values
from screener.factors.expr.files import check_file


def test_alpha158_on_real_data_matches_qlibs_operators() -> None:
    panel = panel_of(realdata_market(require_realdata()))
    assert panel.get_column("suspended").sum() > 50  # real suspensions are in the window
    formulas = {n: d["expr"] for n, d in tomllib.loads(ALPHA158.read_text())["factors"].items()}
    ours = factor_values(panel, check_file(ALPHA158))
    twin = evaluate_twin(panel, formulas).with_columns(pl.col("date").cast(pl.Date))
    assert ours.select("ticker", "date").equals(twin.select("ticker", "date"))
    for name in formulas:
        a = ours.get_column(name).fill_null(np.nan).to_numpy()
        b = twin.get_column(name).fill_null(np.nan).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: missing values differ"
        close = np.isclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        bad = np.flatnonzero(~close)[:3]
        assert close.all(), f"{name}: rows {bad}: {a[bad]} vs {b[bad]}"
