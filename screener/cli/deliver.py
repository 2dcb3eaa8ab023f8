"""Delivery commands: HTML reports, e-mail, the daily job and its schedule, the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from screener.cli.base import (
    app,
    colors,
    console,
    csv_list,
    open_store,
    parse_date,
    print_note,
    settings,
)

PANEL = "Delivery"  # the group in `screener --help`

# -- reports, e-mail, the daily job ---------------------------------------------------------
ScreenOpt = Annotated[
    Path | None,
    typer.Option(
        "--screen",
        help="A screen TOML file (default: [daily] screen in screener.toml, else picks:30d).",
    ),
]
schedule_app = typer.Typer(help="The daily job's crontab entry.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule", rich_help_panel=PANEL)


@app.command(rich_help_panel=PANEL)
def report(
    target: Annotated[
        str, typer.Argument(help="A run id (see `screener runs list`) or a thesis file.")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default reports/).")] = None,
) -> None:
    """Write a self-contained HTML report of a recorded run (backtest or sweep), or run a thesis
    and report it."""
    from screener.report.assemble import write_backtest_report, write_run_report
    from screener.thesis import load_thesis
    from screener.thesis.record import load_run
    from screener.thesis.run import run_backtest

    folder, hues = out or settings().reports_dir, colors()
    if target.endswith(".toml"):
        with open_store() as store:
            result = run_backtest(store, load_thesis(Path(target)), settings=settings())
            path = write_backtest_report(result, folder, colors=hues)
    else:
        with open_store(read_only=True) as store:
            path = write_run_report(load_run(store, target), folder, colors=hues)
    console().print(f"report: {path}")


@app.command(rich_help_panel=PANEL)
def email(
    date: Annotated[
        str | None, typer.Option("--date", help="Screen date (default: last session).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Comma-separated recipients.")] = None,
    dry_run: Annotated[
        Path | None, typer.Option("--dry-run", help="Write .eml files here; send nothing.")
    ] = None,
    screen: ScreenOpt = None,
) -> None:
    """The screen as an e-mail: queued in the outbox, sent once per (date, recipient)."""
    from screener.delivery.daily import daily_screen, email_screen

    cfg = settings()
    chosen = daily_screen(cfg, screen)
    with open_store(read_only=False) as store:
        outcome = email_screen(
            store,
            cfg,
            on=parse_date(date) if date else None,
            to=csv_list(to),
            dry_run_dir=dry_run,
            screen=chosen,
        )
    print_note(outcome.note)
    _finish(outcome.lines(), outcome.ok)


@app.command("run-daily", rich_help_panel=PANEL)
def run_daily(
    date: Annotated[
        str | None, typer.Option("--date", help="Session (default: today, Beijing).")
    ] = None,
    dry_run: Annotated[
        Path | None, typer.Option("--dry-run", help="Write .eml files here; send nothing.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run before the 15:30 data cut-off.")
    ] = False,
    screen: ScreenOpt = None,
) -> None:
    """After the close: update data, import new notes, screen, e-mail, write the HTML report."""
    from screener.delivery.daily import daily_screen
    from screener.delivery.daily import run_daily as job

    cfg = settings()
    chosen = daily_screen(cfg, screen)
    with open_store() as store:
        outcome = job(
            store,
            cfg,
            on=parse_date(date) if date else None,
            dry_run_dir=dry_run,
            force=force,
            screen=chosen,
        )
    print_note(outcome.note)
    _finish(outcome.lines(), outcome.ok)


def _finish(lines: list[str], ok: bool) -> None:
    """One line per step, never wrapped: a cron log or a grep reads each as one line."""
    out = console()
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)
    if not ok:
        raise typer.Exit(1)


@schedule_app.command("show")
def schedule_show() -> None:
    """Print the crontab lines for `screener run-daily` (from schedule_cron in screener.toml)."""
    import sys

    from screener.delivery.schedule import crontab_block

    # plain lines: a crontab line must never be wrapped, whatever the terminal or pipe width
    block = crontab_block(settings(), project_dir=Path.cwd(), python=Path(sys.executable))
    sys.stdout.write("".join(f"{line}\n" for line in block))


@schedule_app.command("install")
def schedule_install(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; change nothing.")
    ] = False,
) -> None:
    """Install (or update) the managed crontab entry; idempotent, shows the diff."""
    import sys

    from screener.delivery.schedule import install

    result = install(
        settings(), project_dir=Path.cwd(), python=Path(sys.executable), dry_run=dry_run
    )
    console().print(result.diff or "crontab unchanged", markup=False)


# -- front door ----------------------------------------------------------------------------
DEMO_THESIS = Path("strategies/oversold_nonferrous_dip.toml")
DEMO_SCREEN = Path("strategies/screens/sector_oversold.toml")  # and the daily job's, after


@app.command(rich_help_panel=PANEL)
def demo() -> None:
    """The main job on the embedded default, end to end (no network).

    Builds the synthetic demo store with its weekly synthetic broker notes, imports the sample
    broker note, prints today's sector screen, backtests the default thesis with an HTML report
    in reports/, writes a dry-run e-mail of the screen to reports/outbox/, and makes that screen
    the daily job's in screener.toml ([daily] screen; one already set is kept).
    """
    from screener.brokers.ledger import import_notes
    from screener.cli.data import load_demo
    from screener.config import config_file, set_daily_screen
    from screener.coverage import store_summary
    from screener.delivery.daily import email_screen
    from screener.instruments import load_master
    from screener.report.assemble import write_backtest_report, write_screen_report
    from screener.report.backtest_view import render_backtest
    from screener.report.screen_view import render_screen
    from screener.report.terminal import store_summary_view
    from screener.screen import load_screen, run_screen
    from screener.screen_context import screen_report
    from screener.thesis import load_thesis
    from screener.thesis.run import run_backtest

    cfg, out, hues = settings(), console(), colors()
    daily = load_screen(DEMO_SCREEN)
    with open_store() as store:
        out.rule("1. the demo store")
        load_demo(store)
        out.print(store_summary_view(store_summary(store)))
        out.rule("2. the sample broker note")
        notes = import_notes(store, sorted(cfg.notes_dir.glob("*.txt")), load_master())
        out.print(
            f"notes: {notes.notes_new} new, {notes.notes_unchanged} unchanged; "
            f"picks: {notes.picks_new} new, {notes.picks_unchanged} unchanged"
        )
        today = store.sessions()[-1]
        out.rule(f"3. today's screen ({today})")
        result = run_screen(store, daily, on=today, settings=cfg)
        view = screen_report(store, result, cfg)
        out.print(render_screen(view, colors=hues))
        screen_html = write_screen_report(view, cfg.reports_dir, colors=hues)
        out.rule(f"4. backtest: {DEMO_THESIS}")
        bt = run_backtest(store, load_thesis(DEMO_THESIS), settings=cfg)
        out.print(render_backtest(bt, synthetic=bt.manifest["synthetic"]))
        report_html = write_backtest_report(bt, cfg.reports_dir, colors=hues)
        out.rule("5. the screen e-mail (dry run)")
        mail = email_screen(
            store, cfg, on=today, dry_run_dir=cfg.reports_dir / "outbox", screen=daily
        )
    _finish(mail.lines(), mail.ok)
    out.print(
        f"daily job: {set_daily_screen(config_file(), DEMO_SCREEN)}", markup=False, soft_wrap=True
    )
    out.rule("files")
    out.print(f"store:           {cfg.db_path}")
    out.print(f"screen report:   {screen_html}")
    out.print(f"backtest report: {report_html}  (run {bt.run_id})")
    trades = report_html.with_name(f"{report_html.stem}_trades.csv")  # written beside the page
    if trades.exists():
        line = f"trade list:      {trades}  (all data: `screener runs export {bt.run_id} DIR`)"
        out.print(line, markup=False, soft_wrap=True)
    out.print(f"e-mail (dry run): {cfg.reports_dir / 'outbox'}")
    out.print("next: `.venv/bin/screener --help`, e.g. `screener screen --date 2026-02-09`;")
    out.print("      `screener email --dry-run DIR` or `screener run-daily` send the screen above")
