"""Compile (pure): a thesis on prepared data -> trigger episodes, selections and targets.

No store here: ``compile_thesis(prep, thesis)`` reads only the ``Prepared`` data, so sweeps
call it once per configuration and Ray workers run it on what they were sent. The walk:
trigger masks (each condition on its subject's closes as known each session) -> episodes
(merged within a cooldown) -> the thesis's screen ranked on the episode's session (retried
for ``select_within_sessions`` while it finds nobody; each episode records its coverage) ->
weights -> exits -> the target matrix.

A rebalanced portfolio walks the same path: its schedule (``rebalance_sessions``) fires in
place of the trigger, every rebalance is an episode, and a name's exit is the next rebalance,
dropped when the screen picks it again (``rebalance_holdings``).

All decisions use data known at the close of session t and become ``target[t, j]`` (NaN = no
instruction, 0 = exit); execution fills them at t+1 (never at t).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from screener.screen import (
    explained_by,
    facts_on,
    join_facts,
    panel_flags,
    rank_facts,
    universe_on,
)
from screener.screen_coverage import EPISODE_SCHEMA, Coverage
from screener.thesis.prepare import Prepared
from screener.thesis.spec import Condition, Exit, Thesis, Weigh, factor_catalog


@dataclass(frozen=True)
class Compiled:
    """A thesis on prepared data: which sessions fired, what was picked, the target matrix."""

    triggers: pl.DataFrame  # date, fired, cond_0..
    episodes: pl.DataFrame  # episode, trigger_date, selection_date, EPISODE_SCHEMA (coverage)
    selections: pl.DataFrame  # episode, trigger_date, rank, ticker, name, metal, score, weight
    holdings: pl.DataFrame  # episode, ticker, weight, signal_date, exit_signal_date, exit_reason
    target: np.ndarray  # sessions x prepared.tickers


def compile_thesis(prep: Prepared, thesis: Thesis) -> Compiled:
    """Trigger -> episodes -> ranked selection per episode -> weights -> exits -> targets."""
    entries = _entries(prep, thesis)
    if thesis.rebalance is not None:
        plan = rebalance_holdings(entries.chosen)
    else:
        plan = plan_holdings(
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
        holdings=holdings_frame(plan, prep.sessions),
        target=target_weights(plan, prep.tickers, len(prep.sessions)),
    )


def entries_key(thesis: Thesis) -> tuple[Any, ...]:
    """What the entry stage depends on: configurations that differ only in their exits share
    it (the one key of ``CompileCache.entries``)."""
    return (thesis.trigger, thesis.rebalance, thesis.select, thesis.weigh)


@dataclass(frozen=True)
class _Entries:
    """What a compile decides before exits: shared by configurations that differ only there."""

    triggers: pl.DataFrame
    episodes: pl.DataFrame
    selections: pl.DataFrame
    chosen: dict[int, dict[str, float]]  # selection session -> weights


def _entries(prep: Prepared, thesis: Thesis) -> _Entries:
    """Trigger masks, episodes and weighted selections (cached per trigger, select, weigh)."""
    key = entries_key(thesis)
    if key in prep.cache.entries:
        cached: _Entries = prep.cache.entries[key]
        return cached
    masks = [_mask(prep, c, i) for i, c in enumerate(thesis.trigger.when)]
    if thesis.rebalance is not None:  # every scheduled session is an episode of its own
        fired, cooldown = rebalance_sessions(prep.sessions, thesis.rebalance.every), 0
    else:
        fired = np.logical_and.reduce(masks) if masks else np.zeros(len(prep.sessions), bool)
        cooldown = thesis.trigger.cooldown_sessions
    starts = episode_starts(fired, cooldown)
    chosen: dict[int, dict[str, float]] = {}
    picked, episodes = [], []
    for episode, start in enumerate(starts):
        last = min(start + thesis.trigger.select_within_sessions, len(prep.sessions) - 1)
        for t in range(start, last + 1):  # retry while the screen finds no name
            ranked, coverage = _select(prep, thesis, prep.sessions[t])
            if ranked.height:
                break
        w = weights(ranked.select("ticker", "score"), thesis.weigh, thesis.select.top_n)
        chosen[t] = w
        dates = {"trigger_date": prep.sessions[start], "selection_date": prep.sessions[t]}
        counts = coverage.episode_row(thesis.select, prep.sessions[t], selected=len(w))
        episodes.append({"episode": episode, **dates, **counts})
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
                **EPISODE_SCHEMA,
            },
        ),
        selections=pl.concat(picked) if picked else _empty_selections(),
        chosen=chosen,
    )
    prep.cache.entries[key] = out
    return out


def weights_on(prep: Prepared, thesis: Thesis, t: int) -> dict[str, float]:
    """The thesis's screen and weighing on session ``t`` alone (no retry): a placebo entry."""
    ranked, _ = _select(prep, thesis, prep.sessions[t])
    return weights(ranked.select("ticker", "score"), thesis.weigh, thesis.select.top_n)


def _mask(prep: Prepared, cond: Any, i: int) -> np.ndarray:
    """Where ``cond`` holds on each session, its window reaching into the ``lead`` sessions
    before the first (so a backtest from any --start sees a trigger on its first sessions)."""
    sid = cond.subject
    if sid is None:  # breadth: the sector members' own changes over the window
        closes = np.vstack([prep.lead_adj_close, prep.arrays["adj_close"]])
        adj = closes[:, _sector_columns(prep)]
        past = np.full_like(adj, np.nan)
        past[cond.window :] = adj[: -cond.window]
        return condition_mask(cond, np.zeros(len(adj)), adj / past - 1.0)[prep.lead :]
    closes = prep.subjects[sid]
    return condition_mask(cond, closes, np.empty((len(closes), 0)))[prep.lead :]


def _sector_columns(prep: Prepared) -> np.ndarray:
    members = prep.panel.filter(pl.col("sw_l2").is_not_null()).get_column("ticker").unique()
    return np.flatnonzero(np.isin(np.array(prep.tickers), members.to_numpy()))


def _select(prep: Prepared, thesis: Thesis, on: dt.date) -> tuple[pl.DataFrame, Coverage]:
    """The screen of the thesis ranked on ``on`` from prepared factor values, and its
    coverage (cached)."""
    screen = thesis.select
    key = (on, screen)
    if key not in prep.cache.screens:
        universe, _ = universe_on(prep.tables, screen, on=on, as_of=on)
        values = prep.values.filter(pl.col("date") == on)
        flags = _flags(prep, screen.metal_window).filter(pl.col("date") == on)
        known = factor_catalog(thesis)
        facts = join_facts(screen, values, flags, explain=explained_by(screen, known))
        rows = facts_on(universe, facts, on)
        passed = rank_facts(screen, rows, universe_size=universe.height, catalog=known)
        prep.cache.screens[key] = (passed.ranked, passed.coverage)
    ranked, coverage = prep.cache.screens[key]
    return ranked, coverage


def _flags(prep: Prepared, metal_window: int) -> pl.DataFrame:
    """Tradability flags and metal moves for every session, once per metal window."""
    if metal_window not in prep.cache.flags:
        prep.cache.flags[metal_window] = panel_flags(prep.panel, metal_window=metal_window)
    return prep.cache.flags[metal_window]


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


# -- the decisions: triggers, episodes, weights, exits, targets ------------------------------
def condition_mask(cond: Condition, close: np.ndarray, breadth_change: np.ndarray) -> np.ndarray:
    """Where the condition holds on each session, from closes known at that session.

    ``close``: the subject's closes on the backtest sessions (NaN = unknown). ``breadth_change``:
    sessions x sector stocks, each stock's change over ``cond.window`` (NaN = not trading).
    Unknown inputs never fire.
    """
    n = cond.window
    if cond.kind == "breadth":
        hit = breadth_change <= (cond.max_change_pct or 0.0) / 100.0
        known = np.isfinite(breadth_change)
        share = np.divide(hit.sum(1), known.sum(1), out=np.zeros(len(hit)), where=known.any(1))
        return share * 100.0 >= (cond.min_share_pct or 100.0)
    past = np.full_like(close, np.nan)
    past[n:] = close[:-n] if n else close
    if cond.kind == "change":
        change = (close / past - 1.0) * 100.0
        ok = np.isfinite(change)
        if cond.min_change_pct is not None:
            ok &= change >= cond.min_change_pct
        if cond.max_change_pct is not None:
            ok &= change <= cond.max_change_pct
        return ok
    window = _rolling_extreme(close, n, high=cond.kind == "breakout_high")
    with np.errstate(invalid="ignore"):
        return close > window if cond.kind == "breakout_high" else close < window


def _rolling_extreme(close: np.ndarray, n: int, *, high: bool) -> np.ndarray:
    """Max (or min) of the previous ``n`` closes, excluding today; NaN until n are known."""
    out = np.full_like(close, np.nan)
    if n < 1 or len(close) <= n:
        return out
    past = np.lib.stride_tricks.sliding_window_view(close, n)[:-1]  # row k: closes k..k+n-1
    extreme = past.max(axis=1) if high else past.min(axis=1)
    out[n:] = np.where(np.isfinite(past).all(axis=1), extreme, np.nan)
    return out


def rebalance_sessions(sessions: Sequence[dt.date], every: int | str) -> np.ndarray:
    """Where a rebalanced portfolio re-ranks: the first session, then the last session of each
    month or ISO week (``"month"``, ``"week"``), or every ``every`` sessions. The last session
    is left out: its book could only fill after the data end.

    >>> days = [dt.date(2024, m, d) for m, d in ((1, 30), (1, 31), (2, 1), (2, 2))]
    >>> rebalance_sessions(days, "month").tolist()
    [True, True, False, False]
    """
    n = len(sessions)
    if isinstance(every, int):
        fired = np.arange(n) % every == 0
    else:
        period = [(d.year, d.month) if every == "month" else d.isocalendar()[:2] for d in sessions]
        fired = np.array([i == 0 or period[i] != period[i + 1] for i in range(n - 1)] + [False])
    fired[-1] = False
    return fired


def episode_starts(fired: np.ndarray, cooldown: int) -> list[int]:
    """Sessions that start an episode: a firing session with no episode start in the previous
    ``cooldown`` sessions (so a multi-day sell-off is one episode, not seven)."""
    starts: list[int] = []
    for i in np.flatnonzero(fired):
        if not starts or i - starts[-1] > cooldown:
            starts.append(int(i))
    return starts


def weights(scores: pl.DataFrame, weigh: Weigh, top_n: int) -> dict[str, float]:
    """Target weights of the selected names (rows in rank order: ticker, score).

    ``equal``: gross / top_n each; ``score``: proportional to rank-transformed scores (the best
    name gets the most), scaled so that a full book uses ``gross``. Both capped at max_weight;
    cash left over stays idle (fewer names than top_n, or capped weights).
    """
    tickers = scores.get_column("ticker").to_list()
    if not tickers:
        return {}
    if weigh.method == "equal":
        raw = np.full(len(tickers), 1.0 / top_n)
    else:
        ranks = np.arange(len(tickers), 0, -1, dtype=float)  # best first
        raw = ranks / ranks.sum() * len(tickers) / top_n
    w = np.minimum(raw * weigh.gross, weigh.max_weight)
    return dict(zip(tickers, w.tolist(), strict=True))


# Why a holding was sold (``Holding.reason``, the trade list's ``exit_reason``).
EXIT_REASONS = ("hold", "take_profit", "stop_loss", "trailing_stop", "rebalance")


def exit_session(
    entry_price: float, closes: np.ndarray, entry_index: int, rule: Exit, *, first_check: int
) -> tuple[int, str] | None:
    """First session (absolute index) whose close triggers an exit, and which rule fired
    (one of ``EXIT_REASONS``); None while the hold runs past the data.

    ``closes``: the name's back-adjusted closes for all sessions; ``first_check``: the first
    session whose close may trigger (the entry session itself when entering at the open).
    Hold N sessions: the decision is taken at the close of entry_index + N - 1.
    """
    last = min(entry_index + rule.hold_sessions - 1, len(closes) - 1)
    peak = entry_price
    for d in range(first_check, last + 1):
        c = closes[d]
        if not np.isfinite(c):
            continue
        ret = c / entry_price - 1.0
        peak = max(peak, c)
        if rule.take_profit_pct is not None and ret * 100 >= rule.take_profit_pct:
            return d, "take_profit"
        if rule.stop_loss_pct is not None and ret * 100 <= -rule.stop_loss_pct:
            return d, "stop_loss"
        if rule.trailing_stop_pct is not None and (c / peak - 1) * 100 <= -rule.trailing_stop_pct:
            return d, "trailing_stop"
    return (last, "hold") if entry_index + rule.hold_sessions - 1 < len(closes) else None


@dataclass(frozen=True)
class Holding:
    """One name bought in one episode: signal at ``signal``, exit decided at ``exit`` by the
    rule ``reason`` (``EXIT_REASONS``; None with no exit)."""

    episode: int
    ticker: str
    weight: float
    signal: int
    exit: int | None
    reason: str | None = None


def plan_holdings(
    thesis: Thesis,
    selections: Mapping[int, dict[str, float]],
    *,
    tickers: Sequence[str],
    adj_entry: np.ndarray,
    adj_close: np.ndarray,
) -> list[Holding]:
    """Entries and exits per (episode, name). A name re-selected while held is re-targeted and
    its exit clock restarts (the earlier exit is dropped)."""
    col = {t: j for j, t in enumerate(tickers)}
    n = adj_close.shape[0]
    at_open = thesis.entry.at == "open"
    plan: list[Holding] = []
    for episode, (t, chosen) in enumerate(sorted(selections.items())):
        for ticker, w in chosen.items():
            j, e = col[ticker], t + 1
            exit_at = None
            if e < n and np.isfinite(adj_entry[e, j]):
                first = e if at_open else e + 1
                exit_at = exit_session(
                    adj_entry[e, j], adj_close[:, j], e, thesis.exit, first_check=first
                )
            plan.append(Holding(episode, ticker, w, t, *(exit_at or (None, None))))
    return _supersede(plan)


def rebalance_holdings(selections: Mapping[int, dict[str, float]]) -> list[Holding]:
    """Each rebalance's names held to the next rebalance; a name picked again stays (its
    weight re-set, the earlier exit dropped), one left out is sold."""
    sessions = sorted(selections)
    ends = [*sessions[1:], None]
    plan = [
        Holding(k, ticker, w, t, ends[k], None if ends[k] is None else "rebalance")
        for k, t in enumerate(sessions)
        for ticker, w in selections[t].items()
    ]
    return _supersede(plan)


def _supersede(plan: list[Holding]) -> list[Holding]:
    out: list[Holding] = []
    latest: dict[str, int] = {}
    for h in sorted(plan, key=lambda h: (h.signal, h.episode)):
        prev = latest.get(h.ticker)
        if prev is not None:
            p = out[prev]
            if p.exit is None or p.exit >= h.signal:  # still held when re-selected
                out[prev] = Holding(p.episode, p.ticker, p.weight, p.signal, None, None)
        latest[h.ticker] = len(out)
        out.append(h)
    return out


def target_weights(plan: Sequence[Holding], tickers: Sequence[str], n_sessions: int) -> np.ndarray:
    """The dense target matrix the execution layer reads: weight at the signal, 0 at the exit."""
    target = np.full((n_sessions, len(tickers)), np.nan)
    col = {t: j for j, t in enumerate(tickers)}
    for h in plan:
        target[h.signal, col[h.ticker]] = h.weight
    for h in plan:
        if h.exit is not None and np.isnan(target[h.exit, col[h.ticker]]):
            target[h.exit, col[h.ticker]] = 0.0
    return target


def holdings_frame(plan: Sequence[Holding], sessions: Sequence[dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "episode": [h.episode for h in plan],
            "ticker": [h.ticker for h in plan],
            "weight": [h.weight for h in plan],
            "signal_date": [sessions[h.signal] for h in plan],
            "exit_signal_date": [sessions[h.exit] if h.exit is not None else None for h in plan],
            "exit_reason": [h.reason for h in plan],
        },
        schema={
            "episode": pl.Int64,
            "ticker": pl.String,
            "weight": pl.Float64,
            "signal_date": pl.Date,
            "exit_signal_date": pl.Date,
            "exit_reason": pl.String,
        },
    )
