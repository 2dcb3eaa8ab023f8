"""Record: a thesis run as a result object, and the ``runs`` table it is kept in.

``BacktestResult`` holds every frame of a run (polars) with its metrics and manifest;
``record`` writes one row (parameters, metrics, the frames as zipped Parquet) and
``load_run``/``list_runs`` read them back for reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

import screener
from screener.screen_coverage import estimated_episodes
from screener.store import Store
from screener.thesis.compile import Compiled
from screener.thesis.export import export_tables
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Thesis


@dataclass(frozen=True)
class BacktestResult:
    """A thesis run: every frame is polars; ``metrics`` and ``manifest`` are JSON-safe dicts."""

    run_id: str
    thesis: Thesis
    params: dict[str, Any]
    compiled: Compiled
    equity: pl.DataFrame  # date, value, cash, positions_value
    orders: pl.DataFrame
    trades: pl.DataFrame  # round trips (metrics.round_trips)
    positions: pl.DataFrame  # date, ticker, shares, value, weight (execute.positions)
    metrics: dict[str, Any]
    event_study: Any  # event_study.EventStudyResult | None
    benchmarks: dict[str, pl.DataFrame]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Run, every parameter as run (``params``; the ones given over the file's:
        ``overrides``), metrics, manifest, each episode's coverage, the daily equity and the
        trade list (dates as ISO strings)."""
        tables = export_tables(self.frames())
        return {
            "run_id": self.run_id,
            "thesis": self.thesis.name,
            "params": self.thesis.params(),
            "overrides": self.params,
            "metrics": self.metrics,
            "manifest": self.manifest,
            "amount_estimated": estimated_episodes(self.compiled.episodes) > 0,
            "episodes": _records(self.compiled.episodes),
            "equity": _records(tables["equity"]),
            "trades": _records(tables["trades"]),
        }

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames a record keeps (``FRAMES``, and each benchmark's as ``bench_CODE``)."""
        c = self.compiled
        frames = {
            "equity": self.equity,
            "orders": self.orders,
            "trades": self.trades,
            "positions": self.positions,
            "selections": c.selections,
            "holdings": c.holdings,
            "episodes": c.episodes,
        }
        if self.event_study is not None:
            frames["car"] = self.event_study.car
        for code, f in self.benchmarks.items():
            frames[f"bench_{code}"] = f
        return frames


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.selectors.temporal().cast(pl.String)).to_dicts()


def run_id_for(thesis: Thesis, params: Mapping[str, float]) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(f"{thesis.sha256}{sorted(params.items())}{stamp}".encode()).hexdigest()
    return f"{stamp}-{digest[:6]}"


def run_manifest(store: Store, thesis: Thesis, prep: Prepared) -> dict[str, Any]:
    return {
        "thesis_file": thesis.path,
        "thesis_name": thesis.name,
        "thesis_description": thesis.description,
        "thesis_spec": thesis.spec(),
        "thesis_sha256": thesis.sha256,
        "code_version": screener.__version__,
        "data_source": store.get_meta("data_source") or "files",
        "synthetic": prep.synthetic,
        "data_start": prep.sessions[0].isoformat(),
        "data_end": prep.sessions[-1].isoformat(),
        "tickers": len(prep.tickers),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# -- the runs table ------------------------------------------------------------------------
FRAMES = ("equity", "orders", "trades", "positions", "selections", "holdings", "episodes", "car")


def record(store: Store, result: BacktestResult, *, kind: str = "backtest") -> None:
    """One row in ``runs``: parameters, metrics and the result frames (zipped Parquet)."""
    m = result.manifest
    row = pl.DataFrame(
        {
            "run_id": [result.run_id],
            "kind": [kind],
            "created_at": [dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            "thesis_path": [result.thesis.path],
            "thesis_hash": [result.thesis.sha256],
            "params": [json.dumps(result.params)],
            "data_start": [dt.date.fromisoformat(m["data_start"])],
            "data_end": [dt.date.fromisoformat(m["data_end"])],
            "code_version": [m["code_version"]],
            "metrics": [
                json.dumps(
                    {"metrics": result.metrics, "manifest": m, "event": _event_summary(result)},
                    default=str,
                )
            ],
            "payload": [pack(result.frames())],
        }
    )
    store.upsert("runs", row)


def _event_summary(result: BacktestResult) -> dict[str, Any] | None:
    return result.event_study.summary if result.event_study is not None else None


def pack(frames: Mapping[str, pl.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in frames.items():
            part = io.BytesIO()
            frame.write_parquet(part)
            zf.writestr(f"{name}.parquet", part.getvalue())
    return buf.getvalue()


def unpack(payload: bytes) -> dict[str, pl.DataFrame]:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        return {n.removesuffix(".parquet"): pl.read_parquet(zf.read(n)) for n in zf.namelist()}


def list_runs(store: Store) -> pl.DataFrame:
    runs = store.read_table("runs")
    return runs.select(
        "run_id",
        "kind",
        "created_at",
        "thesis_path",
        "data_start",
        "data_end",
        "params",
        total_return=pl.col("metrics")
        .str.json_path_match("$.metrics.total_return")
        .cast(pl.Float64),
        sharpe=pl.col("metrics").str.json_path_match("$.metrics.sharpe").cast(pl.Float64),
    ).sort("created_at", descending=True)


def load_run(store: Store, run_id: str) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """A recorded run: its row (metrics etc. decoded) and its frames."""
    from screener.errors import ScreenerError

    runs = store.read_table("runs").filter(pl.col("run_id") == run_id)
    if runs.height == 0:
        raise ScreenerError(f"no run {run_id!r}", hint="`screener runs list` shows the ids")
    row = runs.row(0, named=True)
    payload = row.pop("payload")
    row["metrics"] = json.loads(row["metrics"])
    row["params"] = json.loads(row["params"])
    return row, unpack(payload)
