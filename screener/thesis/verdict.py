"""One plain line per backtest, event study and sweep that a sceptical reader would sign.

Each line says what was tested, on how many independent episodes, the effect with its
interval, whether it is distinguishable from chance, and how large an effect the sample could
have detected. The wording lives here only; the numbers come from inference.py, placebo.py,
bootstrap.py and overfitting.py. Below inference.MIN_EPISODES no line claims or denies an
effect: it says the sample is too small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from screener.schema import SECTOR_INDEX
from screener.thesis import inference

SIGNIFICANCE = 1.0 - inference.LEVEL


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _count(n: int) -> str:
    return f"{n} episode{'s' if n != 1 else ''}"


def _rank(percentile: float) -> str:
    """Where a number falls among placebos, in words: 'at the 61st percentile', 'below all'."""
    if percentile in (0.0, 100.0):
        return "below all" if percentile == 0.0 else "above all"
    k = min(max(round(percentile), 1), 99)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"at the {k}{suffix} percentile"


def _interval(low: float | None, high: float | None, fmt: Any = _pct) -> str:
    return f"{fmt(low)} to {fmt(high)}"


def holding_clause(summary: Mapping[str, Any]) -> str:
    """The holding-window effect of an event-study summary, its interval, chance and power."""
    n = int(summary.get("n_episodes") or 0)
    model = str(summary.get("headline_model") or "market")
    tests: Mapping[str, Any] = summary.get(model) or {}
    holding = (summary.get("windows") or {}).get("holding") or [None, None]
    what = f"holding-window CAR (entry fill to day +{holding[1]}, {model} model)"
    if n == 0:
        return f"{what}: no episode with enough data, nothing to test"
    level = f"{inference.LEVEL:.0%}"
    if tests.get("ci_low") is not None and tests.get("ci_high") is not None:
        ci = f"{level} CI {_interval(tests['ci_low'], tests['ci_high'])}"
    else:
        ci = f"no {level} CI: {_count(n)} cannot reject any mean"
    mde = tests.get("mde")
    power = f"{inference.POWER:.0%}"
    detect = (
        f"detectable at {power} power: ±{abs(mde):.1%}"
        if mde is not None
        else f"no detectable effect from {_count(n)}"
    )
    return (
        f"{what} {_pct(tests.get('car'))} per episode ({ci}) over {_count(n)} "
        f"({summary.get('n_events')} names); {chance_clause(n, tests.get('p_permutation'))}; "
        f"{detect}"
    )


def chance_clause(n_episodes: int, p: float | None) -> str:
    """Too few to conclude, else (not) distinguishable from chance with the sign-flip p."""
    too_few = inference.too_few_text(n_episodes)
    if too_few is not None:
        return too_few
    if p is None:
        return "no test possible (no dispersion across episodes)"
    side = "distinguishable" if p < SIGNIFICANCE else "not distinguishable"
    return f"{side} from chance (sign-flip p {p:.2f})"


def event_verdict(summary: Mapping[str, Any]) -> str:
    """The event study's line."""
    return f"Event study: {holding_clause(summary)}."


def backtest_verdict(
    *,
    thesis: str,
    span: tuple[dt.date, dt.date],
    episodes: int,
    event: Mapping[str, Any] | None,
    placebo: Mapping[str, Any] | None,
    bootstrap: Mapping[str, Any] | None,
    sharpe: float | None,
) -> str:
    """The backtest's line: the holding-window effect, its placebo rank and the Sharpe's CI."""
    tested = int((event or {}).get("n_episodes") or 0)
    of = f" of {episodes} trigger episodes" if tested != episodes else " independent episodes"
    parts = [f"{thesis}, {span[0]}..{span[1]}: {tested}{of} tested"]
    parts.append(holding_clause(event) if event else "no event study (no names picked)")
    if placebo and placebo.get("percentile") is not None:
        low, high = placebo["percentile_range"]
        parts.append(
            f"raw holding return {_pct(placebo['thesis_return'])} per episode, "
            f"{_rank(placebo['percentile'])} of {placebo['draws']:,} matched random-date "
            f"placebos ({low:.0f} to {high:.0f} over resampled pools of sessions)"
        )
    elif placebo:
        parts.append(f"no placebo: {placebo.get('reason')}")
    ci = (bootstrap or {}).get("sharpe")
    sharpe_ci = f" ({inference.LEVEL:.0%} CI {_interval(ci[0], ci[1], fmt=_ratio)})" if ci else ""
    parts.append(f"Sharpe {_ratio(sharpe)}{sharpe_ci}")
    return "; ".join(parts) + "."


def portfolio_verdict(
    *,
    thesis: str,
    held: str,
    schedule: str,
    metrics: Mapping[str, Any],
    bootstrap: Mapping[str, Any] | None,
) -> str:
    """A rebalanced portfolio's line: what it held, how it did against the sector, and the
    Sharpe with its interval. Event-free: without triggers there is no event study to test."""
    sector = (metrics.get("benchmarks") or {}).get(SECTOR_INDEX) or {}
    ci = (bootstrap or {}).get("sharpe")
    sharpe_ci = f" ({inference.LEVEL:.0%} CI {_interval(ci[0], ci[1], fmt=_ratio)})" if ci else ""
    return (
        f"{thesis}, {metrics['start']}..{metrics['end']}: {held}, rebalanced {schedule} "
        f"({metrics['episodes']} rebalances); annual return {_pct(metrics.get('annual_return'))}, "
        f"Sharpe {_ratio(metrics.get('sharpe'))}{sharpe_ci}, max drawdown "
        f"{_pct(metrics.get('max_drawdown'))}; excess return over {SECTOR_INDEX} "
        f"{_pct(sector.get('excess_return'))} (information ratio "
        f"{_ratio(sector.get('information_ratio'))}); no event study: no trigger events."
    )


def sweep_verdict(
    *,
    n_configs: int,
    best: str,
    in_sample: tuple[dt.date, dt.date],
    out_of_sample: tuple[dt.date, dt.date],
    is_sharpe: float | None,
    oos_sharpe: float | None,
    deflated: float | None,
    trials: Mapping[str, Any],
    pbo: Mapping[str, Any] | None,
) -> str:
    """The sweep's line: the best configuration against how many were really tried."""
    n = f"{n_configs:,} configuration{'s' if n_configs != 1 else ''}"
    eff = trials.get("effective")
    independent = (
        f"about {eff:.1f} independent ({trials.get('distinct')} distinct results, mean return "
        f"correlation {_ratio(trials.get('mean_corr'))})"
        if eff is not None
        else "independence unknown"
    )
    luckiest = "one trial" if eff is None else f"{eff:.1f} independent trials"
    parts = [
        f"best of {n} tried, {independent}: {best}",
        f"in-sample {in_sample[0]}..{in_sample[1]} Sharpe {_ratio(is_sharpe)}, "
        f"out-of-sample {out_of_sample[0]}..{out_of_sample[1]} {_ratio(oos_sharpe)}",
        f"in-sample deflated Sharpe {_ratio(deflated)} (the chance it beats the luckiest of "
        f"{luckiest} without skill)",
    ]
    if pbo and pbo.get("pbo") is not None:
        parts.append(
            f"probability of backtest overfitting {pbo['pbo']:.2f} "
            f"(CSCV, {pbo['blocks']} blocks, {pbo['combinations']:,} splits)"
        )
    parts += sweep_warnings(n_configs, is_sharpe, oos_sharpe, trials)
    return "; ".join(parts) + "."


def sweep_warnings(
    n_configs: int, is_sharpe: float | None, oos_sharpe: float | None, trials: Mapping[str, Any]
) -> list[str]:
    """Warnings a sweep's reader must not miss: decay out of sample, a grid that barely varies."""
    out = []
    if (
        is_sharpe is not None
        and is_sharpe > 0
        and (oos_sharpe is None or oos_sharpe < is_sharpe / 2)
    ):
        out.append("WARNING: out-of-sample Sharpe is below half the in-sample one")
    distinct = trials.get("distinct")
    if distinct is not None and n_configs > 1 and distinct <= n_configs / 2:
        out.append(
            f"WARNING: most configurations give identical results ({distinct} distinct of "
            f"{n_configs:,})"
        )
    return out
