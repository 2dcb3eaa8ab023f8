"""A 1,000-configuration sweep, local vs Ray. Run: .venv/bin/python benchmarks/bench_cluster.py

strategies/copper_breakout.toml on the demo market (2015-01-05 to today, 179 instruments), its
grid extended to 5 trigger windows x 8 trailing stops x 5 holding periods x 5 stop losses =
1,000 configurations (5 distinct entry stages). Each engine runs in a new process (the figures
include importing, preparing, resolving entries, the checkpoint writes and recording the run):

- ``local``: ``LocalEngine`` in the driver process;
- ``local-noresume``: the same without checkpoint writes (``resume=False``);
- ``ray``: ``RayEngine`` on a private Ray started with 2 CPUs (``ray.init`` timed apart).

``eval`` is the time from the first to the last configuration result; ``per config`` is eval /
1,000. ``driver MB`` is the driver's peak RSS; ``tree MB`` the peak total RSS of the driver and
every process it started (Ray's raylet, GCS, object store and workers), sampled every 0.2 s;
``CPU s`` the CPU seconds that tree spent during ``run_sweep`` (less sensitive than wall time
to other work on the machine).
The demo store is built in a temporary folder unless ``--db PATH`` names one.

Recorded 2026-11-26 on 2 cores shared with other jobs (load average 3 to 9 during every run,
so wall times vary by 2x between runs; CPU seconds are steadier). The least loaded of five
runs (load 3-5):

    engine            process ray.init   sweep    1st    eval  per config  CPU s  driver MB  tree MB
    local                33.7      0.0    33.1    6.2    26.7      26.7ms     33        873      840
    local-noresume       28.4      0.0    27.9    5.8    22.0      22.0ms     28        907      846
    ray                  35.7      4.2    30.8    7.0    23.6      23.6ms     44        698     2573

Over the five runs: local 26.7-49.2 ms per configuration, Ray 23.6-46.8 ms; CPU seconds
29-33 (local) and 43-51 (Ray: two workers importing vectorbt/numba, the raylet and GCS).
Every run gave the same table and best on every engine.

10,000 configurations (``--configs 10000 --engines ray,local``), 2026-11-27, load 3-4:

    engine            process ray.init   sweep    1st    eval  per config  CPU s  driver MB  tree MB
    ray                 368.6      4.0   363.4   12.7   348.3      34.8ms    393       1427     4121
    local               294.9      0.0   294.2    9.1   281.7      28.2ms    257       1364     1347
 Checkpoint writes, profiled apart:
0.11 s for 200 configurations (0.5 ms each); the local/local-noresume gap is noise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
GRID = {
    "trigger.when.0.window": (20.0, 40.0, 60.0, 90.0, 120.0),
    "exit.trailing_stop_pct": (4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0),
    "exit.hold_sessions": (5.0, 10.0, 20.0, 30.0, 40.0),
    "exit.stop_loss_pct": (3.0, 5.0, 8.0, 12.0, 20.0),
}
GRID_10K = {  # --configs 10000: 10 x 10 x 10 x 10 (10 distinct entry stages)
    "trigger.when.0.window": (20.0, 30.0, 40.0, 50.0, 60.0, 75.0, 90.0, 105.0, 120.0, 150.0),
    "exit.trailing_stop_pct": (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0),
    "exit.hold_sessions": (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0),
    "exit.stop_loss_pct": (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0),
}
ENGINES = ("local", "local-noresume", "ray")


class Tree:
    """Peak total RSS and CPU seconds of this process and its descendants, sampled in a thread
    (a process's CPU counts up to its last sample)."""

    def __init__(self) -> None:
        self.peak = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # it ended while we looked
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
            self.peak = max(self.peak, total)

    def stop(self) -> tuple[float, float]:
        """(peak MB, CPU seconds)."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20, sum(self.cpu.values())


def one(engine_name: str, db: str, grid: dict[str, tuple[float, ...]]) -> dict[str, Any]:
    """Run the sweep with one engine in this process; its figures."""
    t0 = time.perf_counter()
    from screener.config import Settings
    from screener.store import Store
    from screener.thesis import cluster, load_thesis
    from screener.thesis.sweep import run_sweep

    tree = Tree()
    thesis = load_thesis(REPO / "strategies" / "copper_breakout.toml")
    thesis = dataclasses.replace(thesis, sweep=grid)
    engine: cluster.Engine = cluster.LocalEngine()
    ray_init = 0.0
    if engine_name == "ray":
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
        ray_init = time.perf_counter() - t
        engine = cluster.RayEngine()
    stamps: list[float] = []
    with Store(db) as store:
        t, cpu0 = time.perf_counter(), sum(tree.cpu.values())
        result = run_sweep(
            store,
            thesis,
            settings=Settings(),
            engine=engine,
            resume=engine_name != "local-noresume",
            progress=lambda done, total: stamps.append(time.perf_counter()),
        )
        sweep_s = time.perf_counter() - t
        tree_mb, cpu = tree.stop()
    first = stamps[0] - t
    evaluation = stamps[-1] - stamps[0]
    return {
        "engine": engine_name,
        "configs": result.n_configs,
        "process_s": time.perf_counter() - t0,
        "ray_init_s": ray_init,
        "sweep_s": sweep_s,
        "first_result_s": first,
        "eval_s": evaluation,
        "per_config_ms": 1000 * evaluation / max(1, result.n_configs - 1),
        "driver_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tree_mb": tree_mb,
        "cpu_s": cpu - cpu0,
        "best": {k: result.best[k] for k in result.params},
        "table_sum": float(result.table["total_return"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--one", choices=ENGINES)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--configs", type=int, choices=(1000, 10000), default=1000)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.db, GRID_10K if args.configs == 10000 else GRID)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "demo.duckdb")
        if not args.db:
            cli = [sys.executable, "-m", "screener", "--db", db, "ingest", "demo"]
            subprocess.run(cli, check=True, capture_output=True)
        rows = []
        for name in args.engines.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    name,
                    "--db",
                    db,
                    "--configs",
                    str(args.configs),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'engine':<16}{'process':>9}{'ray.init':>9}{'sweep':>8}{'1st':>7}{'eval':>8}", end="")
    print(f"{'per config':>12}{'CPU s':>7}{'driver MB':>11}{'tree MB':>9}")
    for r in rows:
        print(
            f"{r['engine']:<16}{r['process_s']:>9.1f}{r['ray_init_s']:>9.1f}{r['sweep_s']:>8.1f}"
            f"{r['first_result_s']:>7.1f}{r['eval_s']:>8.1f}{r['per_config_ms']:>10.1f}ms"
            f"{r['cpu_s']:>7.0f}"
            f"{r['driver_mb']:>11.0f}{r['tree_mb']:>9.0f}"
        )
    same = len({json.dumps([r["best"], r["table_sum"]]) for r in rows}) == 1
    print(f"same best and table across engines: {same}")


if __name__ == "__main__":
    main()
