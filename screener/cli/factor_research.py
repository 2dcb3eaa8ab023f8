"""Factor research commands: IC, quantiles and the tear sheet of factors over a universe."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from screener.cli.base import (
    Format,
    FormatOpt,
    app,
    colors,
    console,
    emit_frame,
    emit_json,
    open_store,
    parse_date,
    print_table,
    settings,
)

if TYPE_CHECKING:
    from screener.research.data import FactorPanel, Scope

research_app = typer.Typer(
    help="Factor research: IC, quantile returns and tear sheets.", no_args_is_help=True
)
app.add_typer(research_app, name="research", rich_help_panel="Research")


class Entry(enum.StrEnum):
    open = "open"
    close = "close"


class Neutral(enum.StrEnum):
    metal = "metal"


UniverseOpt = Annotated[str, typer.Option(help="sector | metal:copper | picks[:30d] | all")]
StartOpt = Annotated[str | None, typer.Option(help="First factor date YYYY-MM-DD.")]
EndOpt = Annotated[str | None, typer.Option(help="Last date read YYYY-MM-DD.")]
HorizonsOpt = Annotated[str, typer.Option(help="Forward-return horizons in sessions.")]
EntryOpt = Annotated[
    Entry, typer.Option(help="Forward returns from the next open, or close to close.")
]
KeepOpt = Annotated[
    bool,
    typer.Option("--keep-unbuyable", help="Keep names that could not be bought at the entry."),
]
QuantilesOpt = Annotated[int, typer.Option("--quantiles", help="How many quantiles.")]
NeutralOpt = Annotated[
    Neutral | None, typer.Option(help="Quantiles within each metal, returns less its mean.")
]


def _research(
    names: list[str] | None,
    universe: str,
    start: str | None,
    end: str | None,
    horizons: str,
    entry: Entry,
    keep_unbuyable: bool,
) -> FactorPanel:
    """The research data of ``names`` (None: every factor) as the shared options ask."""
    from screener.factors.expr.files import catalog
    from screener.research.data import factor_set, load

    factors = factor_set(names, catalog(settings().strategies_dir))
    with open_store(read_only=True) as store:
        return load(
            store,
            factors,
            universe=universe,
            start=parse_date(start) if start else None,
            end=parse_date(end) if end else None,
            horizons=_horizons(horizons),
            entry=entry.value,
            keep_unbuyable=keep_unbuyable,
            settings=settings(),
        )


def _horizons(text: str) -> list[int]:
    from screener.errors import ConfigError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise ConfigError(f"--horizons {text!r}: give sessions ahead, e.g. 1,5,20,60")
    if len(set(parts)) != len(parts):
        raise ConfigError(f"--horizons {text!r}: a horizon is given twice")
    return [int(p) for p in parts]


def _scope(scope: Scope) -> dict[str, Any]:
    return {
        "universe": scope.universe,
        "entry": scope.entry,
        "kept_unbuyable": scope.kept_unbuyable,
        "start": scope.span[0].isoformat(),
        "end": scope.span[1].isoformat(),
        "sessions": scope.sessions,
        "names": scope.names,
        "synthetic": scope.synthetic,
    }


@research_app.command("ic")
def ic(
    factors: Annotated[str, typer.Argument(help="FACTOR[,FACTOR...], or all.")],
    universe: UniverseOpt = "sector",
    start: StartOpt = None,
    end: EndOpt = None,
    horizons: HorizonsOpt = "1,5,20,60",
    by_metal: Annotated[bool, typer.Option("--by-metal", help="One row per metal.")] = False,
    entry: EntryOpt = Entry.open,
    keep_unbuyable: KeepOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """IC and rank IC per factor and horizon: mean, std, IR, Newey-West t, share > 0."""
    from screener.research.ic import ic_summary

    names = None if factors.strip() == "all" else [f.strip() for f in factors.split(",")]
    research = _research(names, universe, start, end, horizons, entry, keep_unbuyable)
    table = ic_summary(research, by_metal=by_metal)
    synthetic = research.scope().synthetic
    if fmt is Format.json:
        emit_json({**_scope(research.scope()), "rows": table.to_dicts()}, synthetic=synthetic)
    elif fmt is Format.csv:
        emit_frame(table, fmt, synthetic=synthetic)
    else:
        from screener.report.research_view import render_ic

        print_table(render_ic(table, research.scope()))


@research_app.command("quantiles")
def quantiles(
    factor: Annotated[str, typer.Argument(help="One factor.")],
    count: QuantilesOpt = 5,
    neutral: NeutralOpt = None,
    universe: UniverseOpt = "sector",
    start: StartOpt = None,
    end: EndOpt = None,
    horizons: HorizonsOpt = "1,5,20,60",
    entry: EntryOpt = Entry.open,
    keep_unbuyable: KeepOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Mean forward return per quantile, top-minus-bottom spread, turnover, autocorrelation."""
    from screener.research.quantiles import quantile_analysis

    research = _research([factor], universe, start, end, horizons, entry, keep_unbuyable)
    result = quantile_analysis(
        research, factor, quantiles=count, neutral=neutral.value if neutral else None
    )
    if fmt is Format.json:
        frames = {k: getattr(result, k).to_dicts() for k in ("returns", "spread", "turnover")}
        head = {"factor": factor, "quantiles": count, "neutral": result.neutral}
        synthetic = research.scope().synthetic
        emit_json({**_scope(research.scope()), **head, **frames}, synthetic=synthetic)
    elif fmt is Format.csv:
        emit_frame(result.returns, fmt, synthetic=research.scope().synthetic)
    else:
        from screener.report.research_view import render_quantiles

        print_table(render_quantiles(result, research.scope()))


@research_app.command("report")
def report(
    factor: Annotated[str, typer.Argument(help="One factor.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default reports/).")] = None,
    count: QuantilesOpt = 5,
    neutral: NeutralOpt = None,
    universe: UniverseOpt = "sector",
    start: StartOpt = None,
    end: EndOpt = None,
    horizons: HorizonsOpt = "1,5,20,60",
    entry: EntryOpt = Entry.open,
    keep_unbuyable: KeepOpt = False,
) -> None:
    """Write one factor's tear sheet as a self-contained HTML page."""
    from screener.report.research_html import write_tear_sheet
    from screener.research.tearsheet import tear_sheet

    research = _research([factor], universe, start, end, horizons, entry, keep_unbuyable)
    sheet = tear_sheet(
        research, factor, quantiles=count, neutral=neutral.value if neutral else None
    )
    path = write_tear_sheet(sheet, out or settings().reports_dir, colors=colors())
    console().print(f"tear sheet: {path}")
