"""Run a thesis end to end: prepare data once, compile, execute, measure, record.

1. ``prepare`` reads the store once: the panel (back-adjusted prices, tradability, metal
   series as known each session), the score factors over every date (one lazy pass), the
   trigger subjects as known each session, and the benchmark indices.
2. ``compile_thesis`` is cheap and pure given a ``Prepared``: trigger masks -> episodes ->
   a screen ranked on each episode's session -> weights -> exits -> target weights. Sweeps call
   it once per configuration on the same ``Prepared``.
3. ``execute`` runs the targets through the A-share execution layer (backtest.simulate) on
   the traded names only, then metrics and the event study.
4. ``record`` writes the run (parameters, metrics, result frames) to the store's ``runs``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

import screener
from screener import analytics, signals
from screener.config import Settings
from screener.engine import evaluate
from screener.errors import DataUnavailableError
from screener.factors.library import lookup
from screener.panel import build_panel
from screener.point_in_time import read_subject
from screener.schema import MARKET_INDEX, SECTOR_INDEX
from screener.screen import (
    AMOUNT_FACTOR,
    explained_by,
    join_facts,
    panel_flags,
    rank_facts,
    universe_on,
)
from screener.store import Store
from screener.thesis import Thesis

WARMUP_DAYS = 420  # calendar days of history before start: the 250-session factors fill


@dataclass(frozen=True)
class Prepared:
    """Everything a compile needs, read once (sessions x tickers arrays share ``tickers``)."""

    sessions: list[dt.date]
    tickers: list[str]
    boards: list[str]
    values: pl.DataFrame  # factor values on the sessions: ticker, date, factors
    panel: pl.DataFrame  # the panel on the sessions
    subjects: dict[str, np.ndarray]  # index/series id -> closes as known each session
    arrays: dict[str, np.ndarray]  # open, close, up_limit, down_limit, suspended, adj_*
    benchmarks: dict[str, pl.DataFrame]  # index code -> date, close
    synthetic: bool
    universes: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # cache per session


def prepare(
    store: Store, thesis: Thesis, *, start: dt.date | None, end: dt.date | None, settings: Settings
) -> Prepared:
    """Read what the thesis (and every configuration of its sweep) needs."""
    days = store.sessions()
    if not days:
        raise DataUnavailableError("the store has no bars", hint="run `screener ingest demo`")
    start, end = start or days[0], end or days[-1]
    sessions = [d for d in days if start <= d <= end]
    if len(sessions) < 2:
        raise DataUnavailableError(f"fewer than two sessions between {start} and {end}")
    full = build_panel(
        store,
        tickers=_candidates(store, thesis),
        start=sessions[0] - dt.timedelta(days=WARMUP_DAYS),
        end=end,
        settings=settings,
    )
    factors = _factors_for(thesis)
    values = evaluate(full, factors, dates=sessions)
    panel = full.filter(pl.col("date").is_in(sessions))
    tickers = panel.get_column("ticker").unique().sort().to_list()
    boards = panel.group_by("ticker").agg(pl.col("board").last()).sort("ticker")["board"].to_list()
    return Prepared(
        sessions=sessions,
        tickers=tickers,
        boards=boards,
        values=values,
        panel=panel,
        subjects=_subjects(store, thesis, sessions, settings),
        arrays=_arrays(panel, sessions, tickers),
        benchmarks={
            code: store.read_index([code], start=sessions[0], end=end).select(
                "date", "open", "close"
            )
            for code in (SECTOR_INDEX, MARKET_INDEX)
        },
        synthetic=store.get_meta("data_source") == "demo",
    )


def _candidates(store: Store, thesis: Thesis) -> list[str] | None:
    """Tickers the thesis can ever select (a superset), or None for every ticker.

    Only when the score is a per-ticker factor: a composite z-scores the whole cross-section,
    so its value depends on every name and the panel must hold them all. Breadth conditions
    read the sector's members too.
    """
    screen = thesis.select
    if lookup([screen.score])[0].needs or screen.universe == "all":
        return None
    inst = store.read_instruments().filter(pl.col("board") != "hk")
    if screen.universe == "picks":
        picked = store.read_table("broker_picks").get_column("ticker").drop_nulls()
        keep = pl.col("ticker").is_in(picked.unique().to_list())
    elif screen.universe == "sector":
        keep = pl.col("sw_l1") == SECTOR_INDEX
    else:
        keep = pl.lit(True)
    if screen.metal is not None and screen.universe != "picks":
        keep &= pl.col("metals").list.contains(screen.metal)
    if any(c.kind == "breadth" for c in thesis.trigger.when):
        keep |= pl.col("sw_l1") == SECTOR_INDEX
    return inst.filter(keep).get_column("ticker").to_list()


def _factors_for(thesis: Thesis) -> list[Any]:
    screen = thesis.select
    return lookup(list(dict.fromkeys([screen.score, *explained_by(screen), AMOUNT_FACTOR])))


def _subjects(
    store: Store, thesis: Thesis, sessions: list[dt.date], settings: Settings
) -> dict[str, np.ndarray]:
    """Each trigger subject's close as known at each session (point_in_time.py: venue lag,
    carry, and a metal's series spliced)."""
    ids = {s for c in thesis.trigger.when if (s := signals.condition_subject(c))}
    out: dict[str, np.ndarray] = {}
    for sid in sorted(ids):
        known = read_subject(store, sid, sessions, max_ffill=settings.max_ffill_sessions)
        if known.get_column("age").is_null().all():
            raise DataUnavailableError(f"the store has no data for {sid}, which the trigger reads")
        out[sid] = known.sort("date").get_column("close").to_numpy().astype(float)
    return out


def _arrays(
    panel: pl.DataFrame, sessions: list[dt.date], tickers: list[str]
) -> dict[str, np.ndarray]:
    """Dense sessions x tickers arrays of what execution and exits read (one O(n) scatter)."""
    row = np.searchsorted(np.array(sessions, dtype="datetime64[D]"), panel["date"].to_numpy())
    # an Enum's physical code is the position in its categories (hashing, not string sorting)
    col = panel["ticker"].cast(pl.Enum(tickers)).to_physical().to_numpy()
    shape = (len(sessions), len(tickers))
    out: dict[str, np.ndarray] = {}
    for name in ("open", "close", "prev_close", "up_limit", "down_limit", "adj_open", "adj_close"):
        dense = np.full(shape, np.nan)
        dense[row, col] = panel[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[name] = dense
    suspended = np.ones(shape, dtype=bool)  # no bar (not listed yet, delisted): cannot trade
    suspended[row, col] = panel["suspended"].fill_null(True).to_numpy()
    out["suspended"] = suspended
    return out


@dataclass(frozen=True)
class Compiled:
    """A thesis on prepared data: which sessions fired, what was picked, the target matrix."""

    triggers: pl.DataFrame  # date, fired, cond_0..
    episodes: pl.DataFrame  # episode, trigger_date, universe, selected
    selections: pl.DataFrame  # episode, trigger_date, rank, ticker, name, metal, score, weight
    holdings: pl.DataFrame  # episode, ticker, weight, signal_date, exit_signal_date
    target: np.ndarray  # sessions x prepared.tickers


def compile_thesis(store: Store, prep: Prepared, thesis: Thesis) -> Compiled:
    """Trigger -> episodes -> ranked selection per episode -> weights -> exits -> targets."""
    entries = _entries(store, prep, thesis)
    plan = signals.plan_holdings(
        thesis,
        entries.chosen,
        tickers=prep.tickers,
        adj_entry=prep.arrays["adj_open" if thesis.entry.at == "open" else "adj_close"],
        adj_close=prep.arrays["adj_close"],
    )
    return Compiled(
        triggers=entries.triggers,
        episodes=entries.episodes,
        selections=entries.selections,
        holdings=signals.holdings_frame(plan, prep.sessions),
        target=signals.target_weights(plan, prep.tickers, len(prep.sessions)),
    )


@dataclass(frozen=True)
class _Entries:
    """What a compile decides before exits: shared by configurations that differ only there."""

    triggers: pl.DataFrame
    episodes: pl.DataFrame
    selections: pl.DataFrame
    chosen: dict[int, dict[str, float]]  # selection session -> weights


def _entries(store: Store, prep: Prepared, thesis: Thesis) -> _Entries:
    """Trigger masks, episodes and weighted selections (cached per trigger, select, weigh)."""
    key = ("entries", thesis.trigger, thesis.select, thesis.weigh)
    if key in prep.universes:
        return prep.universes[key]
    masks = [_mask(prep, c, i) for i, c in enumerate(thesis.trigger.when)]
    fired = np.logical_and.reduce(masks) if masks else np.zeros(len(prep.sessions), bool)
    starts = signals.episode_starts(fired, thesis.trigger.cooldown_sessions)
    chosen: dict[int, dict[str, float]] = {}
    picked, episodes = [], []
    for episode, start in enumerate(starts):
        last = min(start + thesis.trigger.select_within_sessions, len(prep.sessions) - 1)
        for t in range(start, last + 1):  # retry while the screen finds no name
            ranked, size = _select(store, prep, thesis, prep.sessions[t])
            if ranked.height:
                break
        w = signals.weights(ranked.select("ticker", "score"), thesis.weigh, thesis.select.top_n)
        chosen[t] = w
        episodes.append((episode, prep.sessions[start], prep.sessions[t], size, len(w)))
        picked.append(
            ranked.select("rank", "ticker", "name", "metal", "score").with_columns(
                episode=pl.lit(episode, pl.Int64),
                trigger_date=pl.lit(prep.sessions[start]),
                selection_date=pl.lit(prep.sessions[t]),
                weight=pl.Series([w[t_] for t_ in ranked["ticker"]], dtype=pl.Float64),
            )
        )
    triggers = pl.DataFrame(
        {"date": prep.sessions, "fired": fired, **{f"cond_{i}": m for i, m in enumerate(masks)}}
    )
    out = _Entries(
        triggers=triggers,
        episodes=pl.DataFrame(
            episodes,
            schema={
                "episode": pl.Int64,
                "trigger_date": pl.Date,
                "selection_date": pl.Date,
                "universe": pl.Int64,
                "selected": pl.Int64,
            },
            orient="row",
        ),
        selections=pl.concat(picked) if picked else _empty_selections(),
        chosen=chosen,
    )
    prep.universes[key] = out
    return out


def _mask(prep: Prepared, cond: Any, i: int) -> np.ndarray:
    sid = signals.condition_subject(cond)
    if sid is None:  # breadth: the sector members' own changes over the window
        adj = prep.arrays["adj_close"][:, _sector_columns(prep)]
        past = np.full_like(adj, np.nan)
        past[cond.window :] = adj[: -cond.window]
        return signals.condition_mask(cond, np.zeros(len(adj)), adj / past - 1.0)
    return signals.condition_mask(cond, prep.subjects[sid], np.empty((len(prep.sessions), 0)))


def _sector_columns(prep: Prepared) -> np.ndarray:
    members = prep.panel.filter(pl.col("sw_l2").is_not_null()).get_column("ticker").unique()
    return np.flatnonzero(np.isin(np.array(prep.tickers), members.to_numpy()))


def _select(store: Store, prep: Prepared, thesis: Thesis, on: dt.date) -> tuple[pl.DataFrame, int]:
    """The screen of the thesis ranked on ``on`` from prepared factor values (cached)."""
    screen = thesis.select
    key = (on, screen)
    if key not in prep.universes:
        universe, _ = universe_on(_TablesOnce(store, prep.universes), screen, on=on, as_of=on)
        values = prep.values.filter(pl.col("date") == on)
        flags = _flags(prep, screen.metal_window).filter(pl.col("date") == on).drop("date")
        facts = join_facts(screen, universe, values, flags, explain=explained_by(screen))
        passed = rank_facts(screen, facts, universe_size=universe.height)
        prep.universes[key] = (passed.ranked, passed.universe_size)
    return prep.universes[key]


class _TablesOnce:
    """``store.Tables`` with each table read once into ``cache`` (``Prepared.universes``): a
    compile screens up to ``select_within_sessions + 1`` sessions per episode."""

    def __init__(self, store: Store, cache: dict[tuple[Any, ...], Any]) -> None:
        self._store = store
        self._cache = cache

    def read_table(self, table: str) -> pl.DataFrame:
        return self._once(("table", table), lambda: self._store.read_table(table))

    def read_instruments(self) -> pl.DataFrame:
        return self._once(("instruments",), self._store.read_instruments)

    def _once(self, key: tuple[str, ...], read: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        if key not in self._cache:
            self._cache[key] = read()
        frame: pl.DataFrame = self._cache[key]
        return frame


def _flags(prep: Prepared, metal_window: int) -> pl.DataFrame:
    """Tradability flags and metal moves for every session, once per metal window."""
    key = ("flags", metal_window)
    if key not in prep.universes:
        prep.universes[key] = panel_flags(prep.panel, metal_window=metal_window)
    flags: pl.DataFrame = prep.universes[key]
    return flags


def _empty_selections() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "rank": pl.Int64,
            "ticker": pl.String,
            "name": pl.String,
            "metal": pl.String,
            "score": pl.Float64,
            "episode": pl.Int64,
            "trigger_date": pl.Date,
            "selection_date": pl.Date,
            "weight": pl.Float64,
        }
    )


@dataclass(frozen=True)
class BacktestResult:
    """A thesis run: every frame is polars; ``metrics`` and ``manifest`` are JSON-safe dicts."""

    run_id: str
    thesis: Thesis
    params: dict[str, Any]
    compiled: Compiled
    equity: pl.DataFrame  # date, value, cash, positions_value
    orders: pl.DataFrame
    trades: pl.DataFrame  # round trips (analytics.round_trips)
    metrics: dict[str, Any]
    event_study: Any  # event_study.EventStudyResult | None
    benchmarks: dict[str, pl.DataFrame]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thesis": self.thesis.name,
            "params": self.params,
            "metrics": self.metrics,
            "manifest": self.manifest,
        }


def execute(prep: Prepared, thesis: Thesis, compiled: Compiled) -> tuple[Any, pl.DataFrame]:
    """Simulate the targets on the traded names; (Execution, round-trip trades)."""
    from screener import backtest
    from screener.rules import CostModel

    cols = np.flatnonzero(np.isfinite(compiled.target).any(axis=0))
    if cols.size == 0:  # nothing ever traded: keep one column so the equity curve exists
        cols = np.array([0])
    a = prep.arrays
    lot_min, lot_step = backtest.board_lots([prep.boards[j] for j in cols])
    close = _ffill(a["close"][:, cols])
    market = backtest.MarketArrays(
        dates=np.array(prep.sessions, dtype="datetime64[D]"),
        tickers=tuple(prep.tickers[j] for j in cols),
        open=a["open"][:, cols],
        close=close,
        up_limit=a["up_limit"][:, cols],
        down_limit=a["down_limit"][:, cols],
        suspended=a["suspended"][:, cols] | ~np.isfinite(a["open"][:, cols]),
        lot_min=lot_min,
        lot_step=lot_step,
        ex_ratio=_ex_ratio(close, a["prev_close"][:, cols]),
    )
    costs = CostModel().with_overrides(**thesis.costs)
    run = backtest.simulate(
        market,
        compiled.target[:, cols],
        entry="open" if thesis.entry.at == "open" else "close",
        costs=costs,
        init_cash=thesis.init_cash,
    )
    return run, analytics.round_trips(run.orders)  # with the corporate actions in a trip


def _ex_ratio(close: np.ndarray, prev_close: np.ndarray) -> np.ndarray:
    """Corporate-action ratio per session: the last close over the exchange's reference price
    (前收盘价); 1.0 where they agree or either is unknown. ``close`` is carried forward, so the
    ratio of an ex-date during a suspension lands on the first bar after it."""
    ratio = np.ones_like(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio[1:] = close[:-1] / prev_close[1:]
    acts = np.isfinite(ratio) & (ratio > 0) & (np.abs(ratio - 1.0) > 1e-6)
    return np.where(acts, ratio, 1.0)


def _ffill(values: np.ndarray) -> np.ndarray:
    """Carry the last known value down each column (valuation through suspensions)."""
    rows = np.arange(len(values))[:, None]
    last = np.maximum.accumulate(np.where(np.isfinite(values), rows, 0), axis=0)
    return np.take_along_axis(values, last, axis=0)


def measure(
    prep: Prepared, thesis: Thesis, compiled: Compiled, run: Any, trades: pl.DataFrame
) -> dict[str, Any]:
    """Headline metrics with the episode count, costs paid and the two benchmarks."""
    equity = _equity(run)
    paid = (
        float(
            run.trades.select(pl.sum_horizontal("commission", "stamp_duty", "transfer_fee"))
            .sum()
            .item()
            or 0.0
        )
        if run.trades.height
        else 0.0
    )
    metrics = analytics.performance_metrics(
        equity, trades=trades, benchmarks=prep.benchmarks, costs_paid=paid
    )
    metrics["episodes"] = compiled.episodes.height
    metrics["orders_blocked"] = int(run.orders.filter(pl.col("status") == "blocked").height)
    return metrics


def _equity(run: Any) -> pl.DataFrame:
    eq = run.equity.with_columns(pl.col("date").cast(pl.Date))
    return eq.with_columns(positions_value=pl.col("value") - pl.col("cash"))


def study(prep: Prepared, thesis: Thesis, compiled: Compiled) -> Any:
    """Event study of the selected names around each selection session, its windows set by the
    thesis: the trigger's lookback, the entry fill, the hold (None without episodes)."""
    from screener.event_study import event_study
    from screener.event_windows import EventWindows

    if compiled.selections.height == 0:
        return None
    picked = compiled.selections.get_column("ticker").unique().implode()
    # the study reads each event's own ticker only: leave the other names out of its joins
    gap = pl.col("adj_open") / pl.col("adj_close").shift(1).over("ticker") - 1.0
    returns = (
        prep.panel.filter(pl.col("ticker").is_in(picked))
        .sort("ticker", "date")
        .select("date", "ticker", ret="ret_1d", gap=gap)
    )
    bench = {
        code: f.sort("date")
        .select(
            "date",
            ret=pl.col("close").pct_change(),
            gap=pl.col("open") / pl.col("close").shift(1) - 1.0,
        )
        .filter(pl.col("ret").is_not_null())
        for code, f in prep.benchmarks.items()
    }
    events = compiled.selections.select(event_date="selection_date", ticker="ticker")
    windows = EventWindows(
        selection=(-max(c.window for c in thesis.trigger.when), 0),
        holding_end=thesis.exit.hold_sessions,
        entry_at=thesis.entry.at,
    )
    return event_study(returns, bench[MARKET_INDEX], bench[SECTOR_INDEX], events, windows=windows)


def calendar_time(prep: Prepared, compiled: Compiled, equity: pl.DataFrame) -> dict[str, Any]:
    """Calendar-time portfolio: daily returns on sessions with positions, regressed on CSI 300
    with Newey-West errors (overlapping holdings make residuals autocorrelated)."""
    from screener.event_study import calendar_time_portfolio

    held = equity.sort("date").with_columns(ret=pl.col("value").pct_change())
    held = held.filter(pl.col("positions_value").shift(1) > 0).select("date", "ret")
    market = prep.benchmarks[MARKET_INDEX].sort("date")
    market = market.select("date", ret=pl.col("close").pct_change()).drop_nulls()
    return calendar_time_portfolio(held, market, n_episodes=compiled.episodes.height)


def run_backtest(
    store: Store,
    thesis: Thesis,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    settings: Settings,
    params: Mapping[str, float] | None = None,
    record_run: bool = True,
) -> BacktestResult:
    """The whole thesis run on the store's data (``params`` override numeric fields)."""
    from screener.scrutiny import honest_numbers

    thesis = thesis.with_params(params or {})
    prep = prepare(store, thesis, start=start, end=end, settings=settings)
    compiled = compile_thesis(store, prep, thesis)
    run, trades = execute(prep, thesis, compiled)
    metrics = measure(prep, thesis, compiled, run, trades)
    metrics["calendar_time"] = calendar_time(prep, compiled, _equity(run))
    event = study(prep, thesis, compiled)
    metrics |= honest_numbers(
        prep,
        thesis,
        compiled,
        equity=_equity(run),
        metrics=metrics,
        event=None if event is None else event.summary,
        pick=lambda t: _weights_on(store, prep, thesis, t),
    )
    result = BacktestResult(
        run_id=_run_id(thesis, params or {}),
        thesis=thesis,
        params=dict(params or {}),
        compiled=compiled,
        equity=_equity(run),
        orders=run.orders,
        trades=trades,
        metrics=metrics,
        event_study=event,
        benchmarks=prep.benchmarks,
        manifest=run_manifest(store, thesis, prep),
    )
    if record_run:
        record(store, result)
    return result


def _weights_on(store: Store, prep: Prepared, thesis: Thesis, t: int) -> dict[str, float]:
    """The thesis's screen and weighing on session ``t`` alone (no retry): a placebo entry."""
    ranked, _ = _select(store, prep, thesis, prep.sessions[t])
    return signals.weights(ranked.select("ticker", "score"), thesis.weigh, thesis.select.top_n)


def _run_id(thesis: Thesis, params: Mapping[str, float]) -> str:
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
FRAMES = ("equity", "orders", "trades", "selections", "holdings", "episodes", "car")


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
            "payload": [pack(_frames(result))],
        }
    )
    store.upsert("runs", row)


def _frames(result: BacktestResult) -> dict[str, pl.DataFrame]:
    c = result.compiled
    frames = {
        "equity": result.equity,
        "orders": result.orders,
        "trades": result.trades,
        "selections": c.selections,
        "holdings": c.holdings,
        "episodes": c.episodes,
    }
    if result.event_study is not None:
        frames["car"] = result.event_study.car
    for code, f in result.benchmarks.items():
        frames[f"bench_{code}"] = f
    return frames


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
