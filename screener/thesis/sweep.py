"""Parameter sweeps: every configuration of a thesis's ``[sweep]`` grid, on data read once.

1. ``prepare`` reads the store once; ``cluster.warm`` computes the entry stage of each
   distinct (trigger, select, weigh) of the grid and keeps a snapshot that needs no store.
2. An engine (``cluster.LocalEngine`` in this process, ``cluster.RayEngine`` on a cluster) runs
   each configuration: ``with_params -> compile_thesis -> execute -> measure``, the steps of
   ``run.run_backtest``, so a row of the table equals that run's metrics. Configurations
   whose target matrices (and costs, entry, cash) are identical execute once (per task).
   Each result is checkpointed as it arrives (``cluster.Checkpoint``): an interrupted sweep, run
   again, computes only the configurations it had not finished.
3. The sessions are cut by ``metrics.walk_forward_splits`` (expanding window, ``folds`` equal
   test blocks). In-sample is the first fold's training range, out-of-sample the rest. The
   metrics of a configuration on a range come from its full equity curve sliced to that range:
   signals never read the future, so the slice is what the run did then (positions held at the
   cut are carried in, unlike a fresh run started on the range).
4. ``best`` is the configuration with the highest in-sample Sharpe; its deflated Sharpe ratio
   (on the in-sample range, where it was chosen) counts the configurations tried as
   ``overfitting.effective_trials`` does: identical curves once, correlated ones less than
   their number. ``pbo`` is the probability of backtest overfitting of the whole grid (CSCV).
   ``verdict`` says all of it in one line, with the ranges' dates, and warns when the best
   decays out of sample or most configurations give identical results.
5. The sweep is recorded in the store's ``runs`` table with kind ``sweep``; its checkpoint
   rows are then deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from screener.config import Settings
from screener.errors import ConfigError
from screener.store import Store
from screener.thesis import cluster, overfitting
from screener.thesis import metrics as perf
from screener.thesis.prepare import Prepared, prepare
from screener.thesis.record import pack, run_manifest
from screener.thesis.spec import Thesis
from screener.thesis.verdict import sweep_verdict

METRICS = (
    "total_return",
    "annual_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "trades",
    "episodes",
)
RANGE_METRICS = ("is_sharpe", "oos_sharpe")  # annualised, from the sliced equity curve
_ROOT = math.sqrt(perf.SESSIONS_PER_YEAR)
_ZERO_SD = 1e-12  # as metrics: a smaller deviation is float noise, the Sharpe is undefined


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep. ``table``: one row per configuration in grid order (``config`` is its
    position), the swept keys as columns, then ``METRICS`` and ``RANGE_METRICS``.
    ``walk_forward``: one row per fold with the configuration chosen on its training range."""

    run_id: str
    thesis: Thesis
    grid: dict[str, tuple[float, ...]]
    table: pl.DataFrame
    walk_forward: pl.DataFrame
    best: dict[str, Any]
    deflated_sharpe: float | None
    in_sample: tuple[dt.date, dt.date]
    out_of_sample: tuple[dt.date, dt.date]
    manifest: dict[str, Any]
    engine: str = "local"  # where the configurations ran (cluster.Engine.name)
    resumed: int = 0  # configurations an interrupted run had finished (not computed again)
    trials: dict[str, Any] = dataclasses.field(default_factory=dict)  # effective_trials
    pbo: dict[str, Any] = dataclasses.field(default_factory=dict)  # overfitting.pbo

    @property
    def n_configs(self) -> int:
        return self.table.height

    @property
    def params(self) -> list[str]:
        """The swept keys (the table's parameter columns)."""
        return sorted(self.grid)

    @property
    def verdict(self) -> str:
        """One line: the best configuration against how many independent ones were tried."""
        best = ", ".join(f"{k}={_short(self.best[k])}" for k in self.params) or "the thesis as is"
        return sweep_verdict(
            n_configs=self.n_configs,
            best=best,
            in_sample=self.in_sample,
            out_of_sample=self.out_of_sample,
            is_sharpe=self.best["is_sharpe"],
            oos_sharpe=self.best["oos_sharpe"],
            deflated=self.deflated_sharpe,
            trials=self.trials,
            pbo=self.pbo,
        )

    def heatmap(self, x: str, y: str, metric: str = "sharpe") -> pl.DataFrame:
        """Long frame (x, y, metric), one row per cell, sorted by x then y.

        Where other parameters vary too, a cell holds the **max** of the metric over them: the
        best the (x, y) pair can do, which is what a user picking parameters compares.
        """
        for name in (x, y):
            if name not in self.grid:
                raise ValueError(f"{name!r} is not a swept parameter (swept: {self.params})")
        if metric not in self.table.columns:
            raise ValueError(f"no metric {metric!r} in the sweep table")
        return self.table.group_by(x, y).agg(pl.col(metric).max()).sort(x, y)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe summary: dates as ISO strings, undefined numbers as None."""
        return _json_safe(
            {
                "run_id": self.run_id,
                "thesis": self.thesis.name,
                "grid": {k: list(v) for k, v in self.grid.items()},
                "n_configs": self.n_configs,
                "engine": self.engine,
                "resumed": self.resumed,
                "best": self.best,
                "deflated_sharpe": self.deflated_sharpe,
                "trials": self.trials,
                "pbo": self.pbo,
                "in_sample": list(self.in_sample),
                "out_of_sample": list(self.out_of_sample),
                "walk_forward": self.walk_forward.to_dicts(),
                "verdict": self.verdict,
                "manifest": self.manifest,
                "table": self.table.to_dicts(),
            }
        )


def run_sweep(
    store: Store,
    thesis: Thesis,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    settings: Settings,
    folds: int = 3,
    record_run: bool = True,
    progress: Callable[[int, int], None] | None = None,
    engine: cluster.Engine | None = None,
    resume: bool = True,
) -> SweepResult:
    """Run every configuration of ``thesis.grid()`` on ``[start, end]``.

    The sessions are cut into ``folds + 1`` equal blocks: the first is in-sample (and the first
    walk-forward training range), each later one a walk-forward test block. ``progress(done,
    total)`` is called after each configuration (for a progress bar). ``engine``: where the
    configurations run, ``cluster.LocalEngine()`` (the default) or ``cluster.RayEngine``;
    every engine gives the same result. ``resume``: save each finished configuration as it
    arrives and skip those an interrupted run of the same sweep saved (``cluster.Checkpoint``).
    """
    if folds < 1:
        raise ConfigError(f"folds must be >= 1, got {folds}")
    engine = engine or cluster.LocalEngine()
    configs = list(thesis.grid())
    prep = prepare(store, thesis, start=start, end=end, settings=settings)
    splits = _splits(prep.sessions, folds)
    # the driver resolves all that reads the store; engines get a snapshot that needs none
    configured = [thesis.with_params(p) for p in configs]
    prep = cluster.warm(prep, configured)
    checkpoint = cluster.Checkpoint(
        store, thesis, prep, configs, configured, metrics=METRICS, save=resume
    )
    results = checkpoint.load() if resume else {}
    resumed = len(results)
    todo = tuple((i, p) for i, p in enumerate(configs) if i not in results)

    def arrived(result: cluster.Evaluated) -> None:
        results[result.config] = result
        checkpoint.add(result)
        if progress is not None:
            progress(len(results), len(configs))

    if progress is not None and resumed:
        progress(resumed, len(configs))
    try:
        engine.run(cluster.Work(prep, thesis, todo), arrived)
    finally:
        checkpoint.flush()  # also when interrupted: what finished is kept
    rows = [
        {"config": i, **params, **{k: results[i].metrics[k] for k in METRICS}}
        for i, params in enumerate(configs)
    ]
    curves = np.vstack([results[i].values for i in range(len(configs))])
    result = _assemble(store, thesis, prep, configs, rows, curves, splits)
    result = dataclasses.replace(result, resumed=resumed, engine=engine.name)
    if record_run:
        record(store, result)
    checkpoint.clear()
    return result


def pair_slices(
    table: pl.DataFrame, params: Sequence[str], best: Mapping[str, Any]
) -> list[tuple[str, str, pl.DataFrame]]:
    """(x, y, rows) for every pair of swept ``params``: the configurations of ``table`` whose
    other parameters sit at the ``best`` configuration's values, one per heat-map cell (an
    average or a max over the rest would hide where the best's neighbours fall off)."""
    out = []
    for y, x in itertools.combinations(params, 2):
        fixed = [pl.col(k) == best[k] for k in params if k not in (x, y)]
        out.append((x, y, table.filter(*fixed) if fixed else table))
    return out


def _splits(sessions: list[dt.date], folds: int) -> list[tuple[int, int, int]]:
    """(train_end, test_start, test_end) session indices (ends exclusive) of each fold."""
    try:
        cut = perf.walk_forward_splits(sessions, folds, min_train=len(sessions) // (folds + 1))
    except ValueError as exc:
        raise ConfigError(f"cannot walk forward: {exc}", hint="use fewer folds") from None
    return [(train.len(), train.len(), train.len() + test.len()) for train, test in cut]


def _range_stats(values: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Annualised Sharpe and total return of every curve (rows) over sessions [lo, hi).

    The return into session ``lo`` (from the close before) belongs to the range. NaN where the
    curve is flat there or the range holds fewer than two returns.
    """
    seg = values[:, max(lo - 1, 0) : hi]
    rets = seg[:, 1:] / seg[:, :-1] - 1.0
    total = seg[:, -1] / seg[:, 0] - 1.0
    if rets.shape[1] < 2:
        return np.full(len(values), np.nan), total
    sd = rets.std(axis=1, ddof=1)
    ok = sd >= _ZERO_SD
    sharpe = np.divide(rets.mean(axis=1), sd, out=np.full(len(values), np.nan), where=ok)
    return sharpe * _ROOT, total


def _pick(scores: np.ndarray) -> int:
    """Highest score, NaN never chosen, ties to the earliest configuration (deterministic)."""
    filled = np.where(np.isfinite(scores), scores, -np.inf)
    return int(np.argmax(filled))


def _assemble(
    store: Store,
    thesis: Thesis,
    prep: Prepared,
    configs: list[dict[str, float]],
    rows: list[dict[str, Any]],
    values: np.ndarray,
    splits: list[tuple[int, int, int]],
) -> SweepResult:
    """Range metrics, the best configuration, walk-forward and the deflated Sharpe."""
    days, n = prep.sessions, len(prep.sessions)
    is_end, oos_start = splits[0][0], splits[0][1]
    is_sharpe, _ = _range_stats(values, 0, is_end)
    oos_sharpe, _ = _range_stats(values, oos_start, n)
    grid = {k: tuple(thesis.sweep[k]) for k in sorted(thesis.sweep)}
    table = pl.DataFrame(
        [
            {**row, "is_sharpe": _num(a), "oos_sharpe": _num(b)}
            for row, a, b in zip(rows, is_sharpe, oos_sharpe, strict=True)
        ],
        schema=_schema(grid),
        orient="row",
    )
    b = _pick(is_sharpe)
    rets = values[:, 1:] / values[:, :-1] - 1.0
    trials = overfitting.effective_trials(rets[:, : is_end - 1])
    return SweepResult(
        run_id=_sweep_id(thesis),
        thesis=thesis,
        grid=grid,
        table=table,
        walk_forward=_walk_forward(values, days, splits, configs, grid),
        best=table.row(b, named=True),
        deflated_sharpe=_deflated(values[:, :is_end], b, days[:is_end], is_sharpe, trials),
        in_sample=(days[0], days[is_end - 1]),
        out_of_sample=(days[oos_start], days[-1]),
        manifest=run_manifest(store, thesis, prep),
        trials=trials,
        pbo=overfitting.pbo(rets),
    )


def _schema(grid: Mapping[str, Any]) -> dict[str, pl.DataType]:
    ints = {"config", "trades", "episodes"}
    names = ["config", *METRICS, *RANGE_METRICS]
    return {"config": pl.Int64(), **_grid_schema(grid)} | {
        k: pl.Int64() if k in ints else pl.Float64() for k in names
    }


def _grid_schema(grid: Mapping[str, Any]) -> dict[str, pl.DataType]:
    """An integer field's column stays Int64 (its values are ints, ``spec._as_run``)."""
    return {
        k: pl.Int64() if all(type(v) is int for v in values) else pl.Float64()
        for k, values in grid.items()
    }


def _walk_forward(
    values: np.ndarray,
    days: list[dt.date],
    splits: list[tuple[int, int, int]],
    configs: list[dict[str, float]],
    grid: Mapping[str, Any],
) -> pl.DataFrame:
    """Per fold: the configuration with the best Sharpe on training, and how it did on test."""
    rows = []
    for fold, (train_end, test_start, test_end) in enumerate(splits):
        train_sharpe, _ = _range_stats(values, 0, train_end)
        c = _pick(train_sharpe)
        test_sharpe, test_return = _range_stats(values[c : c + 1], test_start, test_end)
        rows.append(
            {
                "fold": fold,
                "train_start": days[0],
                "train_end": days[train_end - 1],
                "test_start": days[test_start],
                "test_end": days[test_end - 1],
                "config": c,
                **configs[c],
                "train_sharpe": _num(train_sharpe[c]),
                "test_sharpe": _num(test_sharpe[0]),
                "test_return": _num(test_return[0]),
            }
        )
    schema: dict[str, Any] = {"fold": pl.Int64, **dict.fromkeys(_DATES, pl.Date)}
    schema |= {"config": pl.Int64, **_grid_schema(grid)}
    schema |= dict.fromkeys(("train_sharpe", "test_sharpe", "test_return"), pl.Float64)
    return pl.DataFrame(rows, schema=schema, orient="row")


_DATES = ("train_start", "train_end", "test_start", "test_end")


def _deflated(
    values: np.ndarray,
    best: int,
    days: list[dt.date],
    is_sharpe: np.ndarray,
    trials: Mapping[str, Any],
) -> float | None:
    """DSR of the best in-sample curve against the effective number of independent trials;
    the Sharpe's variance across trials from the distinct curves (copies add no spread)."""
    m = perf.sharpe_moments(pl.DataFrame({"date": days, "value": values[best]}))
    if m["sharpe"] is None or m["skew"] is None or m["kurtosis"] is None:
        return None
    distinct = is_sharpe[overfitting.distinct_rows(values)]
    per_session = distinct[np.isfinite(distinct)] / _ROOT
    var = float(per_session.var(ddof=1)) if per_session.size > 1 else 0.0
    return perf.deflated_sharpe_ratio(
        float(m["sharpe"]),
        n_trials=max(1, round(trials["effective"])),
        n_obs=int(m["n_obs"] or 0),
        skew=float(m["skew"]),
        kurtosis=float(m["kurtosis"]),
        sharpe_var_across_trials=var,
    )


def _sweep_id(thesis: Thesis) -> str:
    now = dt.datetime.now(dt.UTC)
    digest = hashlib.sha256(f"sweep{thesis.sha256}{sorted(thesis.sweep.items())}{now}".encode())
    return f"{now:%Y%m%d-%H%M%S}-{digest.hexdigest()[:6]}"


# -- the runs table ------------------------------------------------------------------------
def record(store: Store, result: SweepResult) -> None:
    """One ``runs`` row of kind 'sweep': params = the grid; metrics = the best configuration's
    metrics (what ``list_runs`` shows), the deflated Sharpe and walk-forward; payload = the
    table and walk-forward frames in ``runs``' zip-of-Parquet format."""
    summary = result.to_json()
    best = {k: v for k, v in summary["best"].items() if k not in result.grid}
    metrics = {
        "metrics": best,
        "best_params": {k: result.best[k] for k in result.params},
        **{k: summary[k] for k in ("n_configs", "engine", "resumed", "deflated_sharpe")},
        **{k: summary[k] for k in ("trials", "pbo")},
        **{k: summary[k] for k in ("verdict", "manifest")},
        **{k: summary[k] for k in ("in_sample", "out_of_sample", "walk_forward")},
    }
    m = result.manifest
    row = pl.DataFrame(
        {
            "run_id": [result.run_id],
            "kind": ["sweep"],
            "created_at": [dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            "thesis_path": [result.thesis.path],
            "thesis_hash": [result.thesis.sha256],
            "params": [json.dumps(summary["grid"])],
            "data_start": [dt.date.fromisoformat(m["data_start"])],
            "data_end": [dt.date.fromisoformat(m["data_end"])],
            "code_version": [m["code_version"]],
            "metrics": [json.dumps(metrics)],
            "payload": [pack({"table": result.table, "walk_forward": result.walk_forward})],
        }
    )
    store.upsert("runs", row)


# -- formatting ----------------------------------------------------------------------------
def _num(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _json_safe(obj: Any) -> Any:
    """Dates to ISO strings, NaN/inf to None, tuples to lists, all the way down."""
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, float):
        return _num(obj)
    return obj


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _short(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)
