"""Run qlib's own Alpha158 on a panel of fields: qlib's reference values, and its time.

Runs in a separate virtual environment with pyqlib (never a dependency of screener)::

    python3 -m venv /work/qlib-venv && /work/qlib-venv/bin/pip install pyqlib
    /work/qlib-venv/bin/python benchmarks/qlib_alpha158.py FIELDS.parquet OUT.parquet [--workers 2]

FIELDS.parquet: ticker, date and qlib's fields open, high, low, close, volume, amount, vwap
(screener's back-adjusted panel values; bench_alpha158.py and make_qlib_fixture.py write it).
The script writes them as a qlib data folder (float32 .bin files, one calendar), asks
``D.features`` for the 158 expressions of strategies/factors/alpha158.toml over the whole
calendar, and writes ticker, date and one float32 column per factor (named as in the TOML)
to OUT.parquet. It prints the seconds ``D.features`` took.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

FIELDS = ("open", "high", "low", "close", "volume", "amount", "vwap")
ALPHA158 = Path(__file__).resolve().parents[1] / "strategies" / "factors" / "alpha158.toml"


def write_qlib_data(fields: pd.DataFrame, root: Path) -> list[str]:
    """qlib's file layout: calendars/day.txt, instruments/all.txt, features/<code>/<f>.day.bin
    (float32: the start index in the calendar, then the values)."""
    calendar = np.sort(fields["date"].unique())
    (root / "calendars").mkdir(parents=True)
    pd.Series(pd.to_datetime(calendar).strftime("%Y-%m-%d")).to_csv(
        root / "calendars" / "day.txt", index=False, header=False
    )
    where = {d: i for i, d in enumerate(calendar)}
    codes, spans = [], []
    for ticker, g in fields.groupby("ticker", sort=True):
        code = ticker.replace(".", "_").lower()
        folder = root / "features" / code
        folder.mkdir(parents=True)
        first = where[g["date"].iloc[0]]
        for f in FIELDS:
            values = np.concatenate([[first], g[f].to_numpy(np.float64)]).astype("<f4")
            values.tofile(folder / f"{f}.day.bin")
        days = pd.to_datetime(g["date"])
        spans.append(f"{code}\t{days.iloc[0]:%Y-%m-%d}\t{days.iloc[-1]:%Y-%m-%d}")
        codes.append((code, ticker))
    (root / "instruments").mkdir()
    (root / "instruments" / "all.txt").write_text("\n".join(spans) + "\n")
    return [c for c, _ in codes]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("fields", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import qlib
    from qlib.data import D

    fields = pd.read_parquet(args.fields).sort_values(["ticker", "date"])
    names = {t.replace(".", "_").lower(): t for t in fields["ticker"].unique()}
    spec = tomllib.loads(ALPHA158.read_text())["factors"]
    with tempfile.TemporaryDirectory() as tmp:
        codes = write_qlib_data(fields, Path(tmp))
        qlib.init(
            provider_uri=tmp,
            region="cn",
            kernels=args.workers,
            expression_cache=None,
            dataset_cache=None,
        )
        start = time.perf_counter()
        frame = D.features(codes, [d["expr"] for d in spec.values()], freq="day")
        seconds = time.perf_counter() - start
    frame.columns = list(spec)
    frame = frame.reset_index()
    frame.insert(0, "ticker", frame.pop("instrument").map(names))
    frame.insert(1, "date", frame.pop("datetime").dt.date)
    frame.astype({n: np.float32 for n in spec}).to_parquet(args.out, index=False)
    shape = f"{len(frame):,} rows x {len(spec)} features"
    print(f"qlib D.features: {seconds:.2f} s, {shape}, {args.workers} workers", file=sys.stderr)
    print(f"{seconds:.3f}")


if __name__ == "__main__":
    main()
