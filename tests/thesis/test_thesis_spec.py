import json
from pathlib import Path

import pytest
from sample_markets import WEEKLY_COPPER

from screener.errors import ConfigError
from screener.thesis import Condition, Rebalance, list_theses, load_thesis

STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"

MINIMAL = """
name = "t"
[[trigger.when]]
index = "801050.SI"
window = 7
max_change_pct = -15.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_theses_load() -> None:
    theses = list_theses(STRATEGIES)
    names = {t.name for t in theses}
    assert "Oversold nonferrous dip" in names and len(theses) >= 3
    dip = load_thesis(STRATEGIES / "oversold_nonferrous_dip.toml")
    assert dip.trigger.when[0] == Condition(
        kind="change", index="801050.SI", window=7, max_change_pct=-15.0
    )
    assert dip.select.universe == "picks" and dip.entry.at == "open"
    assert dip.costs["min_commission"] == 5.0
    assert len(dip.sha256) == 64
    monthly = load_thesis(STRATEGIES / "monthly_top10_momentum.toml")
    assert monthly.rebalance == Rebalance("month") and monthly.select.top_n == 10
    weekly = load_thesis(STRATEGIES / "weekly_divergence_laggards.toml")
    assert weekly.rebalance == Rebalance("week") and weekly.select.score == "divergence_20d"


def test_minimal_thesis_takes_defaults(tmp_path: Path) -> None:
    t = load_thesis(write(tmp_path, MINIMAL))
    assert t.exit.hold_sessions == 20 and t.weigh.method == "equal"
    assert list(t.grid()) == [{}]


def test_grid_and_with_params(tmp_path: Path) -> None:
    sweep = '"exit.hold_sessions" = [5, 10]\n"trigger.when.0.max_change_pct" = [-10, -15]\n'
    text = MINIMAL + "[sweep]\n" + sweep
    t = load_thesis(write(tmp_path, text))
    grid = list(t.grid())
    assert len(grid) == 4
    changed = t.with_params({"exit.hold_sessions": 5.0, "trigger.when.0.max_change_pct": -10.0})
    assert changed.exit.hold_sessions == 5 and isinstance(changed.exit.hold_sessions, int)
    assert changed.trigger.when[0].max_change_pct == -10.0
    assert t.exit.hold_sessions == 20  # the original is untouched (frozen values)


def test_a_grid_keeps_integer_fields_integers(tmp_path: Path) -> None:
    """Before: every swept value became a float, so a stored grid said hold_sessions 5.0."""
    sweep = '"exit.hold_sessions" = [5, 10]\n"trigger.when.0.max_change_pct" = [-10, -15]\n'
    t = load_thesis(write(tmp_path, MINIMAL + "[sweep]\n" + sweep))
    assert [type(v) for v in t.sweep["exit.hold_sessions"]] == [int, int]
    assert [type(v) for v in t.sweep["trigger.when.0.max_change_pct"]] == [float, float]
    assert (
        json.dumps(next(t.grid()))
        == '{"exit.hold_sessions": 5, "trigger.when.0.max_change_pct": -10.0}'
    )
    with pytest.raises(ConfigError, match=r"'sweep.exit.hold_sessions': 5.5 is not a whole"):
        load_thesis(write(tmp_path, MINIMAL + '[sweep]\n"exit.hold_sessions" = [5.5]\n'))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[exit]\nhold_sesions = 5\n", r"t.toml:\d+: 'exit.hold_sesions': unknown key"),
        ('[exit]\nhold_sessions = "5"\n', r"'exit.hold_sessions': must be int"),
        ("[exit]\nhold_sessions = 0\n", r"'exit.hold_sessions': must be >= 1"),
        ("[weigh]\nmax_weight = 1.5\n", r"'weigh.max_weight': must be in \(0, 1\]"),
        ('[select]\nscore = "no_such_factor"\n', r"'select.score': unknown factor"),
        ('[select]\nuniverse = "metal"\n', r"'select.metal': universe 'metal' needs"),
        ('[entry]\nat = "noon"\n', r"'entry.at': must be one of"),
        ("[costs]\nstamp = 0.1\n", r"'costs.stamp': unknown cost"),
        ("[costs]\ncommission_rate = -0.1\n", r"'costs.commission_rate': must be >= 0"),
        ('[sweep]\n"exit.hold_sessions" = [10, 0]\n', r"'sweep.exit.hold_sessions': a swept"),
        ('[sweep]\n"exit.nothing" = [1]\n', r"'sweep.exit.nothing': names no numeric field"),
        ("colour = 1\n", r"'colour': unknown key"),
    ],
)
def test_bad_thesis_names_file_line_and_key(tmp_path: Path, extra: str, message: str) -> None:
    text = MINIMAL + extra if extra.startswith("[") else extra + MINIMAL  # top-level keys first
    with pytest.raises(ConfigError, match=message):
        load_thesis(write(tmp_path, text))


def test_error_points_at_the_offending_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "[exit]\nhold_sessions = 20\nstop_los_pct = 5\n")
    with pytest.raises(ConfigError) as err:
        load_thesis(path)
    line = int(str(err.value).split(":")[1])
    assert path.read_text().splitlines()[line - 1].startswith("stop_los_pct")


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ('index = "801050.SI"\nseries = "SHFE.CU"\nmax_change_pct = -1\n', "exactly one of"),
        ('series = "SHFE.XX"\nmax_change_pct = -1\n', "unknown series"),
        ('index = "801050.SI"\n', "needs min_change_pct or max_change_pct"),
        ('index = "801050.SI"\nmin_change_pct = 5\nmax_change_pct = 1\n', "must not exceed"),
        ('kind = "moon"\nindex = "801050.SI"\n', "must be one of"),
    ],
)
def test_bad_conditions(tmp_path: Path, cond: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_thesis(write(tmp_path, f'name = "t"\n[[trigger.when]]\n{cond}'))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_thesis(write(tmp_path, "name = \n"))
    with pytest.raises(ConfigError, match="no such thesis file"):
        load_thesis(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="at least one"):
        load_thesis(write(tmp_path, 'name = "t"\n'))


def test_a_thesis_may_score_by_an_expression_in_its_factor_files(tmp_path: Path) -> None:
    text = (STRATEGIES / "copper_breakout.toml").read_text(encoding="utf-8")
    thesis = tmp_path / "mine.toml"
    thesis.write_text(text.replace('"beta_metal_60d"', '"mom_20"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown factor 'mom_20'"):
        load_thesis(thesis)
    (tmp_path / "factors").mkdir()
    (tmp_path / "factors" / "mine.toml").write_text(
        '[factors.mom_20]\nexpr = "$close / Ref($close, 20)"\n', encoding="utf-8"
    )
    assert load_thesis(thesis).select.score == "mom_20"


def test_spec_refuses_what_a_rebalanced_thesis_cannot_use(tmp_path: Path) -> None:
    thesis = load_thesis(write(tmp_path, WEEKLY_COPPER))
    assert thesis.rebalance == Rebalance("week")
    assert "trigger" not in thesis.spec() and "exit" not in thesis.spec()
    assert thesis.spec()["rebalance"] == {"every": "week"}
    assert "rebalance" not in load_thesis(STRATEGIES / "copper_breakout.toml").spec()
    bad = {
        '[rebalance]\nevery = "day"': "rebalance.every",
        "[rebalance]\nevery = 0": "rebalance.every",
        "[rebalance]\nevery = true": "rebalance.every",
        "[rebalance]\nperiod = 5": "rebalance.period",
        "[rebalance]\nevery = 5\n[exit]\nhold_sessions = 3": "'exit'",
        "[rebalance]\nevery = 5\n[trigger]\ncooldown_sessions = 3": "'trigger'",
        '[rebalance]\nevery = "month"\n[sweep]\n"rebalance.every" = [5, 10]': "numeric",
        '[rebalance]\nevery = 5\n[sweep]\n"exit.hold_sessions" = [5, 10]': "no numeric field",
    }
    for body, key in bad.items():
        with pytest.raises(ConfigError, match=key):
            load_thesis(write(tmp_path, f'name = "x"\n{body}\n'))
    swept = load_thesis(write(tmp_path, 'name = "x"\n[rebalance]\nevery = 5\n'))
    assert swept.with_params({"rebalance.every": 10.0}).rebalance == Rebalance(10)
