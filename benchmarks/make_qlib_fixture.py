"""Regenerate tests/fixtures/qlib/: qlib's own Alpha158 on the seeded synthetic test market.

    .venv/bin/python benchmarks/make_qlib_fixture.py /work/qlib-venv/bin/python

Builds the panel of ``synthetic_market(1)`` (tests/factors/reference.py: six stocks over 320
sessions with suspensions, zero volumes, limit days, a late listing and a delisting), keeps the
columns the expressions read (``alpha158_panel.parquet``), runs benchmarks/qlib_alpha158.py on
their qlib fields in the given interpreter (pyqlib's own virtual environment) and stores its
158 values per row (``alpha158_qlib.parquet``). tests/factors/expr/test_qlib_reference.py
compares screener's values with them.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench_alpha158 import run_qlib  # noqa: E402
from factors.reference import panel_of, synthetic_market  # noqa: E402

from screener.factors.expr.execute import fields_frame  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "qlib"
COLUMNS = ("adj_open", "adj_high", "adj_low", "adj_close", "volume", "amount", "adj_factor")


def main() -> None:
    panel = panel_of(synthetic_market(1)).select("ticker", "date", *COLUMNS)
    seconds, theirs = run_qlib(sys.argv[1], fields_frame(panel), workers=1)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    panel.write_parquet(FIXTURES / "alpha158_panel.parquet")
    theirs.write_parquet(FIXTURES / "alpha158_qlib.parquet")
    print(f"{panel.height} rows; qlib took {seconds:.1f} s; written to {FIXTURES}")


if __name__ == "__main__":
    main()
