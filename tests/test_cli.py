"""The command-line contract: exit codes, one-line errors, JSON-only stdout, fast --help."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_run import cli, demo_store, with_sample_note


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_store(tmp_path_factory.mktemp("cli"))


def test_help_is_fast_and_lists_commands() -> None:
    start = time.perf_counter()
    done = cli("--help")
    assert done.returncode == 0
    assert "ingest" in done.stdout and "store" in done.stdout
    # a loose bound so an accidental heavy import (vectorbt ~3 s) is caught; figures in benchmarks
    assert time.perf_counter() - start < 2.5


def test_store_info_json_is_pure_json(demo_db: Path) -> None:
    done = cli("store", "info", "--format", "json", db=demo_db)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    bars = info["tables"]["bars_daily"]
    assert bars["rows"] > 100_000
    assert bars["first_date"] == "2015-01-05" and bars["last_date"] == "2026-03-31"
    assert info["meta"]["data_source"] == "demo"


def test_reingest_demo_changes_nothing(demo_db: Path) -> None:
    done = cli("ingest", "demo", "--end", "2026-03-31", db=demo_db)
    assert done.returncode == 0
    assert "bars_daily: 0 new, 0 updated" in done.stdout
    assert "(unchanged)" in done.stdout
    notes = next(line for line in done.stdout.splitlines() if line.startswith("broker notes"))
    assert ": 0 new," in notes and "picks: 0 new, 0 updated" in notes  # the weekly notes too


def test_user_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    done = cli("store", "info", db=tmp_path / "missing.duckdb")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr and "does not exist" in done.stderr


def test_bad_date_and_usage_errors(tmp_path: Path) -> None:
    done = cli("ingest", "demo", "--end", "2026-13-01", db=tmp_path / "x.duckdb")
    assert done.returncode == 1 and "is not a date" in done.stderr
    usage = cli("store", "info", "--format", "yaml")
    assert usage.returncode == 2


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = cli("--debug", "store", "info", db=tmp_path / "missing.duckdb")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_ingest_csv_bad_file_exits_1_and_writes_nothing(demo_db: Path, tmp_path: Path) -> None:
    before = json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout)
    good = tmp_path / "600362.csv"
    good.write_text("date,open,high,low,close,volume\n2026-03-30,10,11,9,10.5,1000\n")
    bad = tmp_path / "000630.csv"
    bad.write_text("date,open,high,low,close,volume\n2026-03-30,10,9,11,10.5,1000\n")
    done = cli("ingest", "csv", str(good), str(bad), db=demo_db)
    assert done.returncode == 1
    assert "000630.csv:2" in done.stderr and "Traceback" not in done.stderr
    after = json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout)
    assert after == before
    clash = cli("ingest", "csv", str(good), db=demo_db)  # other prices than the demo's
    assert clash.returncode == 1 and "differ from stored values" in clash.stderr
    assert "--prefer new" in clash.stderr and clash.stderr.count("\n") == 1
    dry = cli("ingest", "csv", str(good), "--dry-run", "--prefer", "new", db=demo_db)
    assert dry.returncode == 0, dry.stderr
    assert "would write bars_daily: 0 new, 1 updated, 0 unchanged, 1 conflicting" in dry.stdout
    assert json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout) == before


@pytest.fixture(scope="module")
def demo_with_note(demo_db: Path) -> Path:
    return with_sample_note(demo_db)


def test_screen_json_respects_point_in_time_picks(demo_with_note: Path) -> None:
    """The sample note (dated 02-08, by 示例证券) is unseen on 02-06; the demo's synthetic
    weekly notes (合成证券) fill the universe on both days."""
    before = cli("screen", "--date", "2026-02-06", "--format", "json", db=demo_with_note)
    assert before.returncode == 0
    brokers_before = {b for r in json.loads(before.stdout) for b in r["brokers"].split(", ")}
    assert brokers_before == {"合成证券"}
    after = cli("screen", "--date", "2026-02-09", "--format", "json", db=demo_with_note)
    ranked = json.loads(after.stdout)
    assert 0 < len(ranked) <= 10 and [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert "示例证券" in {b for r in ranked for b in r["brokers"].split(", ")}


def test_factors_json_and_list(demo_db: Path) -> None:
    done = cli(
        "factors",
        "--date",
        "2026-02-06",
        "--tickers",
        "600362.SH,000630.SZ",
        "--factors",
        "ret_20d,rsi_14,drawdown_250d",
        "--format",
        "json",
        db=demo_db,
    )
    rows = json.loads(done.stdout)
    assert [r["ticker"] for r in rows] == ["000630.SZ", "600362.SH"]
    assert {"ret_20d", "rsi_14", "drawdown_250d"} <= set(rows[0])
    listing = cli("factors", "--list", "--format", "json")
    assert len(json.loads(listing.stdout)) >= 25


def test_factors_from_expressions_and_factor_files(demo_db: Path, tmp_path: Path) -> None:
    on = ("factors", "--date", "2026-02-06", "--format", "json")
    gap = cli(*on, "--tickers", "600362.SH", "--expr", "gap=$close/$open-1", db=demo_db)
    assert gap.returncode == 0, gap.stderr
    [row] = json.loads(gap.stdout)
    assert set(row) == {"ticker", "date", "gap", "gap_rank", "as_of", "synthetic"}
    alpha = cli(*on, "--file", "strategies/factors/alpha158.toml", db=demo_db)
    rows = json.loads(alpha.stdout)
    assert len(rows) > 100 and {"kmid", "roc60", "vsumd60", "cord5_rank"} <= set(rows[0])
    bad = cli(*on, "--expr", "m=Mean($close, 5", db=demo_db)
    assert bad.returncode == 2 and "--expr 'm=Mean($close, 5': column 17" in bad.stderr
    out = tmp_path / "alpha.parquet"
    span = ("--start", "2026-02-02", "--end", "2026-02-06", "--out", str(out))
    done = cli("factors", "--file", "strategies/factors/alpha158.toml", *span, db=demo_db)
    assert done.returncode == 0, done.stderr
    import polars as pl

    values = pl.read_parquet(out)
    assert values.get_column("date").n_unique() == 5 and values.width == 2 + 158
    assert values.filter(pl.col("ticker") == "600362.SH").get_column("kmid").null_count() == 0


def test_screen_scores_by_an_expression(demo_db: Path) -> None:
    args = ("screen", "--date", "2026-02-06", "--universe", "sector", "--format", "json")
    expr = ("--expr", "mom_20=$close/Ref($close, 20)", "--score", "mom_20", "--top", "3")
    done = cli(*args, *expr, db=demo_db)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 3 and rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"]
    unknown = cli(*args, "--score", "mom_20", db=demo_db)
    assert unknown.returncode != 0 and "unknown factor 'mom_20'" in unknown.stderr


WIDE_FACTORS = ("factors", "--date", "2026-02-06", "--metal", "copper")
WIDE_FACTORS += ("--factors", "ret_20d,rsi_14,drawdown_250d,divergence_7d,amihud_20d")


def test_factors_table_piped_is_printed_whole(demo_db: Path) -> None:
    done = cli(*WIDE_FACTORS, db=demo_db, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout  # rich cuts cells to fit with an ellipsis
    header = next(line for line in done.stdout.splitlines() if "ticker" in line)
    assert header.split() == [
        "ticker",
        "date",
        *("ret_20d", "rsi_14", "drawdown_250d", "divergence_7d", "amihud_20d"),
        *("ret_20d_rank", "rsi_14_rank", "drawdown_250d_rank", "divergence_7d_rank"),
        "amihud_20d_rank",
    ]
    assert "600362.SH" in done.stdout and done.stderr == ""


def test_factors_table_too_wide_for_the_terminal_leaves_out_columns(demo_db: Path) -> None:
    done = cli(*WIDE_FACTORS, db=demo_db, env={"COLUMNS": "80", "TTY_COMPATIBLE": "1"})
    assert done.returncode == 0, done.stderr
    assert "left out at 80 columns" in done.stdout and "…" not in done.stdout  # nothing cut


def test_factors_for_a_few_tickers_print_factors_down(demo_db: Path) -> None:
    args = ("factors", "--date", "2026-02-06", "--tickers", "600362.SH,000630.SZ")
    done = cli(*args, "--factors", "ret_20d,rsi_14", db=demo_db)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "SYNTHETIC DEMO DATA" in out[1]  # the banner, three lines, then the card
    lines = [line.split() for line in out[3:] if line.strip()]
    assert lines[0] == ["factors", "on", "2026-02-06"]
    assert lines[1] == ["factor", "000630.SZ", "rank", "600362.SH", "rank"]
    rows = {line[0]: line[1:] for line in lines[3:]}
    records = json.loads(
        cli(*args, "--factors", "ret_20d,rsi_14", "--format", "json", db=demo_db).stdout
    )
    for name in ("ret_20d", "rsi_14"):
        expected = [
            cell
            for r in records  # sorted by ticker, as the columns are
            for cell in (f"{r[name]:.4f}", f"{r[f'{name}_rank']:.2f}")
        ]
        assert rows[name] == expected


def test_backtest_json_report_and_runs(demo_with_note: Path, tmp_path: Path) -> None:
    done = cli(
        "backtest",
        "strategies/oversold_nonferrous_dip.toml",
        "--start",
        "2025-06-01",
        "--format",
        "json",
        "--out",
        str(tmp_path / "out"),
        db=demo_with_note,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["params"]["exit.hold_sessions"] == 20  # every parameter as run, not {}
    assert result["equity"][-1]["value"] > 0 and result["trades"][0]["exit_reason"]
    _check_export(tmp_path / "out", result, done.stderr)
    exported = cli("runs", "export", result["run_id"], str(tmp_path / "again"), db=demo_with_note)
    assert exported.returncode == 0, exported.stderr
    for name in ("equity", "returns", "positions", "trades"):
        again = (tmp_path / "again" / f"{name}.csv").read_text(encoding="utf-8")
        assert again == (tmp_path / "out" / f"{name}.csv").read_text(encoding="utf-8")
    metrics = result["metrics"]
    for key in (
        "total_return",
        "annual_return",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "hit_rate",
        "turnover",
        "trades",
        "episodes",
        "benchmarks",
    ):
        assert key in metrics
    assert metrics["episodes"] >= 1
    assert result["amount_estimated"] is False and len(result["episodes"]) == metrics["episodes"]
    assert {"universe", "scored", "excluded", "selected", "reasons"} <= set(result["episodes"][0])
    shown = cli("runs", "show", result["run_id"], db=demo_with_note)
    assert json.loads(shown.stdout)["episodes"] == result["episodes"]  # as recorded
    assert metrics["verdict"].startswith("Oversold nonferrous dip, 2025-06-03..")
    assert "too few to conclude" in metrics["verdict"]  # one traded episode
    assert {"sharpe", "annual_return", "max_drawdown"} <= set(metrics["bootstrap"])
    assert metrics["placebo"]["draws"] == 1_000
    report = cli("report", result["run_id"], "--out", str(tmp_path), db=demo_with_note)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / f"backtest_{result['run_id']}.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and "<svg" in html
    assert 'id="verdict"' in html and "too few to conclude" in html


def test_update_regrows_a_demo_store_to_the_session_asked(demo_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, copy)
    done = cli("update", "--date", "2026-04-03", db=copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "up to 2026-04-03 from the synthetic demo market"
    assert "bars_daily:" in done.stdout and "0 updated" in done.stdout
    info = json.loads(cli("store", "info", "--format", "json", db=copy).stdout)
    assert info["tables"]["bars_daily"]["last_date"] == "2026-04-03"
    notes = done.stdout.splitlines()[-1]  # no Sunday since the last note (03-29): none new
    assert notes.startswith("broker notes (synthetic") and ": 0 new, " in notes
    later = cli("update", "--date", "2026-04-09", db=copy).stdout.splitlines()[-1]
    assert ": 1 new, " in later  # the note of Sunday 2026-04-05


def test_store_init_and_check_on_a_store_of_ones_own(tmp_path: Path) -> None:
    import polars as pl

    from screener.store import Store

    db = tmp_path / "own.duckdb"
    days = [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    bars = pl.DataFrame({"ticker": ["600362.SH"] * 2, "date": days, "close": [50.0, 51.0]})
    with Store(db) as store:
        store.upsert("bars_daily", bars)
    empty = cli("screen", "--universe", "all", db=db)
    assert empty.returncode == 0, empty.stderr
    assert "no instrument master (run `screener store init`)" in empty.stdout
    check = json.loads(cli("store", "check", "--format", "json", db=db).stdout)
    assert check["master_rows"] == 0 and check["next"][0]["command"] == "screener store init"
    first, again = cli("store", "init", db=db), cli("store", "init", db=db)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "instruments: 196 new, 0 updated, 0 unchanged (changed)" in first.stdout
    assert "instruments: 0 new, 0 updated, 196 unchanged (unchanged)" in again.stdout
    table = cli("store", "check", db=db)
    assert table.returncode == 0 and "what to import next:" in table.stdout
    assert "no 801050.SI" in table.stdout and "screener store init" not in table.stdout


def test_a_date_after_the_data_uses_the_last_session_visibly(demo_db: Path) -> None:
    note = "last stored session is 2026-03-31; using it\n"
    args = ("--date", "2026-04-03", "--format", "json")
    factors = cli("factors", *args, "--tickers", "600362.SH", "--factors", "ret_20d", db=demo_db)
    assert factors.returncode == 0 and factors.stderr == note
    [row] = json.loads(factors.stdout)
    assert row["date"] == row["as_of"] == "2026-03-31"
    screen = cli("screen", *args, "--universe", "sector", db=demo_db)
    assert screen.returncode == 0 and screen.stderr == note
    ranked = json.loads(screen.stdout)
    assert len(ranked) == 10 and {r["as_of"] for r in ranked} == {"2026-03-31"}
    saturday = cli("screen", "--date", "2026-03-28", "--format", "json", db=demo_db)
    assert saturday.stderr.startswith("2026-03-28 is not a stored session; using 2026-03-27")


def test_a_date_before_the_data_is_refused_by_every_dated_command(
    demo_db: Path, tmp_path: Path
) -> None:
    for command in (
        ("factors",),
        ("screen",),
        ("email", "--dry-run", str(tmp_path)),
        ("run-daily", "--force", "--dry-run", str(tmp_path)),
    ):
        done = cli(*command, "--date", "2014-06-03", db=demo_db)
        assert done.returncode == 1, (command, done.stdout)
        assert done.stderr.startswith(
            "error: 2014-06-03 is before the first stored session, 2015-01-05"
        ), command
        assert done.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):  # a group (typer's own, not click's class)
            yield from _commands(cmd, (*path, name))


def test_every_help_shows_every_option_with_its_help_and_no_bool_type() -> None:
    """--help of every command: flags without a `<bool>` type, every option explained, and
    help texts with square brackets ([sweep]) printed whole, not eaten as markup."""
    import typer.main
    from typer.testing import CliRunner

    from screener.cli import app

    root = typer.main.get_command(app)
    runner = CliRunner()
    seen = 0
    for path, cmd in _commands(root):
        done = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert done.exit_code == 0, (path, done.output)
        assert "<bool>" not in done.output, path
        for param in cmd.params:
            if getattr(param, "hidden", False) or param.param_type_name != "option":
                continue
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
            words = param.help.replace("\\[", "[").split()[:4]
            assert " ".join(words) in " ".join(done.output.split()), (path, param.opts)
        seen += 1
    assert seen >= 30


def test_bad_option_values_are_one_line_not_a_traceback(demo_db: Path, tmp_path: Path) -> None:
    cases = [
        (("picks", "performance", "--horizons", "1,20"), "--horizons '1,20'"),
        (("picks", "performance", "--horizons", "abc"), "whole numbers of at least 2"),
        (("picks", "performance", "--horizons", ""), "--horizons ''"),
        (("email", "--to", "not-an-address", "--dry-run", str(tmp_path)), "not an e-mail"),
        (
            ("backtest", "strategies/copper_breakout.toml", "--start", "2020-01-01",
             "--end", "2019-01-01"),
            "--start 2020-01-01 is after --end 2019-01-01",
        ),
    ]  # fmt: skip
    for args, words in cases:
        done = cli(*args, db=demo_db)
        assert done.returncode == 1, args
        assert words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.count("\n") == 1, args


def _check_export(folder: Path, result: dict[str, Any], stderr: str) -> None:
    """The --out files of a demo run: each labelled synthetic, the trades those of the JSON."""
    import polars as pl

    assert f"wrote 8 files to {folder}" in stderr
    for name in ("equity", "returns", "positions", "trades"):
        frame = pl.read_parquet(folder / f"{name}.parquet")
        assert frame["synthetic"].all() and frame.height > 0
        assert (
            (folder / f"{name}.csv")
            .read_text(encoding="utf-8")
            .split("\n")[0]
            .endswith(",synthetic")
        )
    trades = pl.read_csv(folder / "trades.csv")
    assert trades["pnl"].to_list() == pytest.approx([t["pnl"] for t in result["trades"]])
    returns = pl.read_parquet(folder / "returns.parquet")
    assert returns.columns == ["date", "returns", "synthetic"]


def test_backtest_csv_is_csv(demo_db: Path) -> None:
    done = cli("backtest", "strategies/copper_breakout.toml", "--format", "csv", db=demo_db)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "metric,value,synthetic"  # a demo store: every CSV row says so
    assert any(ln.startswith("total_return,") and ln.endswith(",true") for ln in lines)
    assert not any("━" in ln for ln in lines)


def test_demo_outputs_say_synthetic_in_every_format(demo_db: Path) -> None:
    """JSON keeps each command's shape (arrays stay arrays) and adds the field; CSV a column."""
    factors = json.loads(
        cli("factors", "--tickers", "600362.SH", "--format", "json", db=demo_db).stdout
    )
    assert isinstance(factors, list) and all(r["synthetic"] is True for r in factors)
    runs = cli("runs", "list", "--format", "csv", db=demo_db).stdout.splitlines()
    assert runs[0].endswith(",synthetic")
    info = json.loads(cli("store", "info", "--format", "json", db=demo_db).stdout)
    assert info["synthetic"] is True and "tables" in info
    table = cli("picks", "performance", db=demo_db)
    assert "SYNTHETIC DEMO DATA" in table.stdout


def test_picks_parse_explain_and_import_of_a_note_read_as_empty(tmp_path: Path) -> None:
    unread = tmp_path / "unread.txt"
    unread.write_text("有色周评 2026-03-05\n建议 关注铜价走势与库存变化。\n", encoding="utf-8")
    db = tmp_path / "picks.duckdb"
    refused = cli("picks", "import", str(unread), db=db)
    assert refused.returncode == 1 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "1 recommendation cue(s) but no resolved pick" in refused.stderr
    assert f"screener picks parse {unread} --explain" in refused.stderr
    allowed = cli("picks", "import", str(unread), "--allow-empty", db=db)
    assert allowed.returncode == 0, allowed.stderr
    assert "notes: 0 new" in allowed.stdout and "unresolved names: 0; warnings: 0" in allowed.stdout
    explained = cli("picks", "parse", str(unread), "--explain", "--format", "json")
    assert json.loads(explained.stdout)["cues"][0]["cue"] == "建议关注"
    table = cli("picks", "parse", str(unread), "--explain")
    assert table.returncode == 0 and "cues: what each gave" in table.stdout


def test_picks_import_with_a_date_for_an_undated_note(tmp_path: Path) -> None:
    note = tmp_path / "undated.txt"
    note.write_text("铜的机会\n铜方面，建议关注江西铜业、洛阳钼业。\n", encoding="utf-8")
    db = tmp_path / "picks.duckdb"
    refused = cli("picks", "import", str(note), db=db)
    assert refused.returncode == 1 and "pass --date YYYY-MM-DD" in refused.stderr
    done = cli("picks", "import", str(note), "--date", "2026-02-06", db=db)
    assert done.returncode == 0, done.stderr
    assert "picks: 2 new" in done.stdout
    listed = cli("picks", "list", "--format", "json", db=db)
    assert {p["report_date"] for p in json.loads(listed.stdout)} == {"2026-02-06"}


def test_research_ic_quantiles_and_tear_sheet(demo_db: Path, tmp_path: Path) -> None:
    done = cli(
        "research",
        "ic",
        "ret_20d,divergence_20d",
        "--horizons",
        "1,5",
        "--format",
        "json",
        db=demo_db,
    )
    assert done.returncode == 0, done.stderr
    ic = json.loads(done.stdout)
    assert ic["synthetic"] is True and ic["universe"] == "sector" and ic["entry"] == "open"
    assert [(r["factor"], r["horizon"]) for r in ic["rows"]] == [
        ("ret_20d", 1),
        ("ret_20d", 5),
        ("divergence_20d", 1),
        ("divergence_20d", 5),
    ]
    assert all(-1 < r["rank_ic"] < 1 and r["dates"] > 1000 for r in ic["rows"])
    by_metal = cli("research", "ic", "ret_20d", "--by-metal", "--format", "csv", db=demo_db)
    assert by_metal.stdout.startswith("factor,metal,horizon,ic,") and "copper" in by_metal.stdout
    done = cli(
        "research", "quantiles", "ret_20d", "--neutral", "metal", "--format", "json", db=demo_db
    )
    q = json.loads(done.stdout)
    assert q["neutral"] == "metal" and len(q["returns"]) == 5 * 4 and len(q["spread"]) == 4
    table = cli("research", "quantiles", "ret_20d", "--entry", "close", db=demo_db)
    assert "SYNTHETIC" in table.stdout and "forward returns from the close" in table.stdout
    report = cli("research", "report", "ret_20d", "--out", str(tmp_path), db=demo_db)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "factor_ret_20d.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and html.count("<svg") == 6


def test_research_refuses_unknown_factors_and_bad_horizons(demo_db: Path) -> None:
    unknown = cli("research", "ic", "ret_21d", db=demo_db)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1  # a FactorError
    assert "unknown factor(s): ret_21d" in unknown.stderr
    bad = cli("research", "ic", "ret_20d", "--horizons", "1,x", db=demo_db)
    assert bad.returncode == 1 and "--horizons" in bad.stderr
