"""Sweeps on Ray equal local ones; dead workers are retried; interrupted sweeps resume."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from polars.testing import assert_frame_equal
from sample_markets import copper_store, copper_thesis

from screener.config import Settings
from screener.store import Store
from screener.thesis import Thesis, cluster
from screener.thesis.cluster import Evaluated, LocalEngine, RayEngine, Work
from screener.thesis.prepare import prepare
from screener.thesis.record import load_run
from screener.thesis.sweep import SweepResult, run_sweep

SETTINGS = Settings()
START, END = dt.date(2015, 6, 1), dt.date(2016, 6, 30)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with copper_store(tmp_path_factory.mktemp("cluster"), END) as s:
        yield s


@pytest.fixture(scope="module")
def thesis(tmp_path_factory: pytest.TempPathFactory) -> Thesis:
    return copper_thesis(tmp_path_factory.mktemp("thesis"))


@pytest.fixture(scope="module")
def local(store: Store, thesis: Thesis) -> SweepResult:
    return sweep(store, thesis, record_run=False)


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    # workers cannot import this test module: ship the fault hook (die_once) by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()


def sweep(store: Store, thesis: Thesis, **options: Any) -> SweepResult:
    return run_sweep(store, thesis, start=START, end=END, settings=SETTINGS, **options)


def assert_same(a: SweepResult, b: SweepResult) -> None:
    """Exactly the same numbers (NaN equal to NaN), the same choice and walk-forward."""
    assert_frame_equal(a.table, b.table, check_exact=True)
    assert_frame_equal(a.walk_forward, b.walk_forward, check_exact=True)
    assert a.best == b.best
    assert a.deflated_sharpe == b.deflated_sharpe
    assert (a.in_sample, a.out_of_sample) == (b.in_sample, b.out_of_sample)


@dataclasses.dataclass
class Counting:
    """An engine that counts the configurations it is asked to compute."""

    inner: cluster.Engine
    computed: int = 0
    name: ClassVar[str] = "counting"

    def run(self, work: Work, on_result: Callable[[Evaluated], None]) -> None:
        self.computed += len(work.configs)
        self.inner.run(work, on_result)


def stop_after(n: int) -> Callable[[int, int], None]:
    """A progress callback that plays the user's Ctrl-C once ``n`` results are in."""

    def progress(done: int, total: int) -> None:
        if done >= n:
            raise KeyboardInterrupt

    return progress


def die_once(marker: str) -> None:
    """Kill this worker process unless a worker already died (the marker records it)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    os._exit(1)


# -- engines ---------------------------------------------------------------------------------
def test_a_private_ray_is_started_and_stopped(
    store: Store, thesis: Thesis, local: SweepResult
) -> None:
    """Without a running Ray (the CLI's case) the engine starts one and shuts it down."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("Ray already runs in this process (this test runs first in file order)")
    two = dataclasses.replace(thesis, sweep={"exit.hold_sessions": (5.0, 15.0)})
    result = sweep(store, two, engine=RayEngine(num_cpus=2), record_run=False)
    assert not ray.is_initialized()
    assert_same(result, sweep(store, two, record_run=False))


def test_ray_sweep_equals_local(
    store: Store, thesis: Thesis, local: SweepResult, ray_session: None
) -> None:
    result = sweep(store, thesis, engine=RayEngine(chunk_size=3))
    assert_same(result, local)
    assert result.engine == "ray" and result.n_configs == 8
    row, frames = load_run(store, result.run_id)  # recorded as the local engine records
    assert row["kind"] == "sweep" and row["metrics"]["engine"] == "ray"
    assert_frame_equal(frames["table"], local.table, check_exact=True)


def test_a_dead_worker_is_retried(
    store: Store, thesis: Thesis, local: SweepResult, ray_session: None, tmp_path: Path
) -> None:
    marker = tmp_path / "died"
    engine = RayEngine(chunk_size=2, before_task=functools.partial(die_once, str(marker)))
    result = sweep(store, thesis, engine=engine, record_run=False)
    assert marker.exists()  # one worker did exit mid-sweep
    assert_same(result, local)


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_an_interrupted_sweep_resumes(
    store: Store, thesis: Thesis, local: SweepResult, engine: str, request: pytest.FixtureRequest
) -> None:
    if engine == "ray":
        request.getfixturevalue("ray_session")
    inner: cluster.Engine = RayEngine(chunk_size=2) if engine == "ray" else LocalEngine()
    with pytest.raises(KeyboardInterrupt):
        sweep(store, thesis, engine=inner, progress=stop_after(3))
    assert store.read_table("sweep_results").height == 3  # saved on the way out
    counting = Counting(inner)
    seen: list[tuple[int, int]] = []
    result = sweep(store, thesis, engine=counting, progress=lambda d, t: seen.append((d, t)))
    assert (result.resumed, counting.computed) == (3, 5)
    assert seen[0] == (3, 8) and seen[-1] == (8, 8)
    assert_same(result, local)
    assert store.read_table("sweep_results").height == 0  # finished: the checkpoint is gone


def test_checkpoints_of_another_thesis_or_range_are_not_reused(
    store: Store, thesis: Thesis, local: SweepResult
) -> None:
    with pytest.raises(KeyboardInterrupt):
        sweep(store, thesis, progress=stop_after(8))
    assert store.read_table("sweep_results").height == 8
    costly = dataclasses.replace(thesis, costs={"commission_rate": 0.001})
    shorter = dt.timedelta(days=7)
    other_range = run_sweep(
        store, thesis, start=START, end=END - shorter, settings=SETTINGS, record_run=False
    )
    assert other_range.resumed == 0
    assert sweep(store, costly, record_run=False).resumed == 0
    assert sweep(store, thesis, record_run=False).resumed == 8
    assert store.read_table("sweep_results").height == 0


def test_without_resume_nothing_is_saved(store: Store, thesis: Thesis, local: SweepResult) -> None:
    with pytest.raises(KeyboardInterrupt):
        sweep(store, thesis, progress=stop_after(2), resume=False)
    assert store.read_table("sweep_results").height == 0
    assert_same(sweep(store, thesis, resume=False, record_run=False), local)


# -- what workers get -------------------------------------------------------------------------
def test_workers_get_the_prepared_data_and_need_no_store(store: Store, thesis: Thesis) -> None:
    prep = prepare(store, thesis, start=START, end=END, settings=SETTINGS)
    configs = list(enumerate(thesis.grid()))
    short = [(i, p) for i, p in configs if p["trigger.when.0.window"] == 20]
    warmed = cluster.warm(prep, [thesis.with_params(p) for _, p in short])
    assert len(warmed.cache.entries) == 1  # one (trigger, select, weigh) among the four
    shipped = pickle.loads(pickle.dumps(warmed))  # what Ray's object store carries
    got = list(cluster.evaluate(shipped, thesis, short))
    assert [r.config for r in got] == [0, 2, 4, 6]
    # a configuration whose entries were not warmed compiles them on the worker (pure)
    other = list(cluster.evaluate(shipped, thesis, [configs[1]]))
    assert other[0].config == 1 and len(shipped.cache.entries) == 2


def test_the_local_engine_needs_no_ray(
    store: Store, thesis: Thesis, local: SweepResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert_same(sweep(store, thesis, record_run=False), local)
    with pytest.raises(Exception, match="needs Ray"):
        sweep(store, thesis, engine=RayEngine(), record_run=False)
