"""Where a sweep's configurations run (this process, or Ray tasks on many machines) and how
finished ones are kept so that an interrupted sweep resumes.

1. The driver (``sweep.run_sweep``) prepares once and ``warm``s the compile cache: the entry
   stage (trigger masks, episodes, the screen's picks and weights) of each distinct (trigger,
   select, weigh) in the grid is computed once, before the ``Prepared`` data travel.
2. An engine evaluates configurations on that ``Prepared``: compile (pure, the entries come
   from the cache) -> exits -> execute -> measure, the steps of ``run.run_backtest``.
   ``LocalEngine`` loops in this process. ``RayEngine`` puts the ``Prepared`` in Ray's object
   store once and runs chunks of configurations as tasks; workers never open the DuckDB file
   (one writer, on one machine).
3. Each result goes back to the driver as it finishes (``on_result``); the driver saves it
   in the store (``Checkpoint``) and, at the end, records the sweep and drops the checkpoint.
4. A worker that dies (crash, OOM kill, lost node) is retried: Ray re-runs its task up to
   ``max_retries`` times. Evaluation is pure, so a retry returns the same numbers.

Ray is the optional extra ``cluster``: it is imported only inside ``RayEngine.run``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import polars as pl

import screener
from screener.errors import ScreenerError
from screener.thesis.compile import compile_thesis, entries_key
from screener.thesis.execute import execute
from screener.thesis.measure import measure
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Thesis

if TYPE_CHECKING:
    from screener.store import Store

Config = tuple[int, dict[str, float]]  # (position in the grid, swept parameters)


@dataclass(frozen=True)
class Evaluated:
    """One configuration's outcome: its grid position, metrics and equity value per session."""

    config: int
    metrics: dict[str, Any]
    values: np.ndarray


@dataclass(frozen=True)
class Work:
    """What an engine evaluates: ``thesis.with_params(params)`` for each of ``configs``."""

    snapshot: Prepared  # the cache warmed with every configuration's entries
    thesis: Thesis
    configs: tuple[Config, ...]


class Engine(Protocol):
    """Runs ``work`` and calls ``on_result`` on the driver once per configuration, in any order.

    An exception from ``on_result`` (e.g. the user's Ctrl-C) stops the engine and propagates.
    """

    name: ClassVar[str]

    def run(self, work: Work, on_result: Callable[[Evaluated], None]) -> None: ...


# -- the prepared data ---------------------------------------------------------------------
def warm(prep: Prepared, theses: Iterable[Thesis]) -> Prepared:
    """``prep`` with the entry stage of every thesis in its compile cache (computed once here,
    not once per worker)."""
    for thesis in theses:
        if entries_key(thesis) not in prep.cache.entries:
            compile_thesis(prep, thesis)
    return prep


def fingerprint(snapshot: Prepared) -> str:
    """A digest of the data evaluations read (sessions, names, arrays, indices)."""
    h = hashlib.sha256(repr((snapshot.sessions, snapshot.tickers, snapshot.boards)).encode())
    for name in sorted(snapshot.arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(snapshot.arrays[name]).tobytes())
    for code in sorted(snapshot.benchmarks):
        h.update(code.encode())
        for column in snapshot.benchmarks[code].get_columns():
            h.update(column.to_numpy().tobytes())
    return h.hexdigest()


def entries_digest(snapshot: Prepared, thesis: Thesis) -> str:
    """A digest of the thesis's entries: the weights chosen on each session."""
    warm(snapshot, [thesis])
    entries = snapshot.cache.entries[entries_key(thesis)]
    chosen = sorted((t, sorted(w.items())) for t, w in entries.chosen.items())
    return hashlib.sha256(repr((chosen, entries.episodes.height)).encode()).hexdigest()


# -- evaluation ----------------------------------------------------------------------------
def evaluate(snapshot: Prepared, thesis: Thesis, configs: Iterable[Config]) -> Iterator[Evaluated]:
    """Each configuration on the prepared data; equal target matrices execute once."""
    memo: dict[bytes, tuple[dict[str, Any], np.ndarray]] = {}
    for i, params in configs:
        configured = thesis.with_params(params)
        compiled = compile_thesis(snapshot, configured)
        key = _execution_key(configured, compiled.target)
        if key not in memo:
            run, trades = execute(snapshot, configured, compiled)
            metrics = measure(snapshot, configured, compiled, run, trades)
            memo[key] = (metrics, run.equity.get_column("value").to_numpy())
        metrics, values = memo[key]
        # measure reads the compile only for the episode count; the rest follows the execution
        yield Evaluated(i, {**metrics, "episodes": compiled.episodes.height}, values)


def _execution_key(thesis: Thesis, target: np.ndarray) -> bytes:
    """What execute depends on beyond the snapshot: the instructions, fill, costs and cash."""
    where = np.flatnonzero(~np.isnan(target))
    h = hashlib.blake2b(where.tobytes(), digest_size=16)
    h.update(target.ravel()[where].tobytes())
    h.update(repr((thesis.entry.at, sorted(thesis.costs.items()), thesis.init_cash)).encode())
    return h.digest()


@dataclass(frozen=True)
class LocalEngine:
    """Every configuration in this process, in grid order. Needs no Ray."""

    name: ClassVar[str] = "local"

    def run(self, work: Work, on_result: Callable[[Evaluated], None]) -> None:
        for result in evaluate(work.snapshot, work.thesis, work.configs):
            on_result(result)


# -- Ray -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RayEngine:
    """Chunks of configurations as Ray tasks on the cluster at ``address``.

    ``address``: a running cluster's head (``HOST:6379``); None connects to the cluster started
    with ``ray start`` on this machine if there is one, else starts a private one with
    ``num_cpus`` workers (all cores when None) for the length of the sweep. When this
    process has already called ``ray.init`` (a notebook), that session is used as it is.
    ``max_retries``: re-runs of a task whose worker died. ``chunk_size``: configurations per
    task (None: about four tasks per CPU, at most 16 configurations each).
    ``before_task`` runs in the worker before each task (fault drills in tests).
    """

    address: str | None = None
    num_cpus: int | None = None
    max_retries: int = 3
    chunk_size: int | None = None
    before_task: Callable[[], None] | None = None

    name: ClassVar[str] = "ray"

    def run(self, work: Work, on_result: Callable[[Evaluated], None]) -> None:
        try:
            import ray
        except ImportError:
            raise ScreenerError(
                "the ray engine needs Ray, which is not installed",
                hint="pip install 'screener[cluster]', or use --engine local",
            ) from None
        if not work.configs:  # every configuration was resumed from the checkpoint
            return
        owned = not ray.is_initialized()
        if owned:
            self._connect()
        try:
            self._gather(work, on_result)
        except ray.exceptions.RayTaskError:
            raise  # an error in our code on a worker: ray.get re-raises it as its own type
        except ray.exceptions.RayError as exc:
            raise ScreenerError(
                f"the Ray sweep failed: {type(exc).__name__}: {exc}",
                hint="finished configurations are saved; run the same sweep again to resume",
            ) from exc
        finally:
            if owned:
                ray.shutdown()

    def _connect(self) -> None:
        import ray

        try:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, TimeoutError, ValueError) as exc:
            raise ScreenerError(
                f"cannot reach a Ray cluster at {self.address or 'this machine'}: {exc}",
                hint="start one with `ray start --head`, then pass --address HEAD:6379",
            ) from None

    def _gather(self, work: Work, on_result: Callable[[Evaluated], None]) -> None:
        """Submit every chunk, then hand results to ``on_result`` as tasks finish."""
        import ray

        task = ray.remote(num_cpus=1, max_retries=self.max_retries)(_evaluate_chunk)
        snapshot, thesis = ray.put(work.snapshot), ray.put(work.thesis)
        size = self.chunk_size or _chunk_size(len(work.configs), ray.cluster_resources())
        pending = [
            task.remote(snapshot, thesis, chunk, self.before_task)
            for chunk in _chunks(work.configs, size)
        ]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for result in ray.get(done[0]):
                    on_result(result)
        finally:
            for ref in pending:  # interrupted or failed: stop what is still queued or running
                ray.cancel(ref)


def _evaluate_chunk(
    snapshot: Prepared,
    thesis: Thesis,
    configs: Sequence[Config],
    before_task: Callable[[], None] | None,
) -> list[Evaluated]:
    """A Ray task (runs in a worker): ``evaluate`` on the shared snapshot."""
    if before_task is not None:
        before_task()
    return list(evaluate(snapshot, thesis, configs))


def _chunk_size(n: int, resources: dict[str, Any]) -> int:
    """About four tasks per CPU (load balance, fine-grained checkpoints), 1..16 per task."""
    cpus = max(1, int(resources.get("CPU", 1)))
    return max(1, min(16, math.ceil(n / (4 * cpus))))


def _chunks(configs: Sequence[Config], size: int) -> Iterator[tuple[Config, ...]]:
    for lo in range(0, len(configs), size):
        yield tuple(configs[lo : lo + size])


# -- checkpoints ---------------------------------------------------------------------------
FLUSH_SECONDS = 1.0  # write at most this often (a write of ~40 rows takes 15-40 ms), and on stop


class Checkpoint:
    """Finished configurations in the store's ``sweep_results``, so an interrupted sweep resumes.

    A row's key is a digest of everything its result depends on: the thesis (file hash and
    steps as loaded), the parameters, the data (range and a fingerprint of the prepared arrays
    and benchmarks), the entries it traded and the code (a digest of the package source). A
    rerun of the same sweep on the same data finds the rows and computes only the rest;
    changed data, code or thesis give new keys, so stale rows are never reused. Rows are
    written as results arrive, in small transactions at most every ``FLUSH_SECONDS`` and on
    any stop (Ctrl-C included); they are deleted when the sweep finishes.
    """

    def __init__(
        self,
        store: Store,
        thesis: Thesis,
        prep: Prepared,
        configs: list[dict[str, float]],
        configured: list[Thesis],
        *,
        metrics: Sequence[str],
        save: bool,
    ) -> None:
        """``configured``: ``thesis.with_params(p)`` for each ``p`` of ``configs``;
        ``metrics``: the metrics a result keeps (the sweep table's)."""
        self.store, self.thesis, self.configs = store, thesis, configs
        self.metrics = tuple(metrics)
        self.keys = _config_keys(thesis, prep, configs, configured)
        self.sweep_key = hashlib.sha256("".join(self.keys).encode()).hexdigest()
        self.range = (prep.sessions[0], prep.sessions[-1])
        self.save = save and not store.read_only
        self._pending: dict[str, dict[str, Any]] = {}
        self._last = time.monotonic()

    def load(self) -> dict[int, Evaluated]:
        """The configurations (by grid position) whose results are already stored."""
        found = self.store.query(
            "SELECT config_key, metrics, equity FROM sweep_results "
            "WHERE config_key IN (SELECT unnest(?::VARCHAR[]))",
            [self.keys],
        )
        saved = {key: (json.loads(m), np.frombuffer(b, dtype="<f8")) for key, m, b in found.rows()}
        return {i: Evaluated(i, *saved[key]) for i, key in enumerate(self.keys) if key in saved}

    def add(self, result: Evaluated) -> None:
        if not self.save:
            return
        self._pending[self.keys[result.config]] = self._row(result)
        if time.monotonic() - self._last >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what arrived since the last write, in one transaction."""
        if self._pending:
            self.store.upsert("sweep_results", pl.DataFrame(list(self._pending.values())))
            self._pending.clear()
        self._last = time.monotonic()

    def clear(self) -> None:
        """The sweep finished: its rows are no longer needed."""
        if self.save:
            self.store.delete("sweep_results", sweep_key=self.sweep_key)

    def _row(self, result: Evaluated) -> dict[str, Any]:
        metrics = {k: _plain(result.metrics[k]) for k in self.metrics}
        return {
            "config_key": self.keys[result.config],
            "sweep_key": self.sweep_key,
            "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "thesis_hash": self.thesis.sha256,
            "params": json.dumps(self.configs[result.config]),
            "data_start": self.range[0],
            "data_end": self.range[1],
            "code_version": screener.__version__,
            "metrics": json.dumps(metrics),  # floats as repr: they read back bit for bit
            "equity": np.asarray(result.values, dtype="<f8").tobytes(),
        }


def _config_keys(
    thesis: Thesis,
    prep: Prepared,
    configs: list[dict[str, float]],
    configured: list[Thesis],
) -> list[str]:
    """The checkpoint key of each configuration (see ``Checkpoint``)."""
    common = {
        "thesis": thesis.sha256,
        "spec": thesis.spec(),  # the base steps; each configuration's are these + its params
        "data": fingerprint(prep),
        "range": [prep.sessions[0].isoformat(), prep.sessions[-1].isoformat()],
        "code": _code_digest(),
    }
    base = hashlib.sha256(json.dumps(common, sort_keys=True, default=str).encode())
    entries: dict[tuple[Any, ...], str] = {}
    keys = []
    for params, config in zip(configs, configured, strict=True):
        e = entries_key(config)
        if e not in entries:
            entries[e] = entries_digest(prep, config)
        h = base.copy()
        h.update(json.dumps([sorted(params.items()), entries[e]]).encode())
        keys.append(h.hexdigest())
    return keys


def _code_digest() -> str:
    """The package's source: the version string does not change with every edit."""
    h = hashlib.sha256(screener.__version__.encode())
    root = Path(screener.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _plain(x: Any) -> Any:
    """numpy scalars as Python numbers (JSON)."""
    return x.item() if isinstance(x, np.generic) else x
