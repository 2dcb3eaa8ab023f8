"""One colour convention: terminal, HTML page, e-mail and charts agree for both settings."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from test_html import screen_data
from test_screen_view import _report, _result

from screener.config import Settings
from screener.errors import ConfigError
from screener.report import charts
from screener.report.colors import A_SHARE, INTL, Colors, colors_for
from screener.report.email_body import screen_email
from screener.report.html import render_screen as screen_page
from screener.report.screen_view import render_screen

BOTH = pytest.mark.parametrize("colors", [A_SHARE, INTL], ids=["a-share", "intl"])


def terminal_colour(colors: Colors, text: str) -> str | None:
    """The colour name the terminal screen gives the cell reading ``text``."""
    console = Console(width=160, color_system="standard", file=io.StringIO())
    lines = console.render_lines(render_screen(_report(_result()), colors=colors), pad=False)
    for segment in (s for line in lines for s in line):
        if segment.text.strip() == text and segment.style and segment.style.color:
            return segment.style.color.name
    return None


@BOTH
def test_terminal_page_and_email_give_a_rise_and_a_fall_the_same_colours(colors: Colors) -> None:
    # terminal: SMM.NDPR rose 21.5% over 20 sessions, SHFE.AU fell 6.4%
    assert terminal_colour(colors, "+21.5%") == colors.up.name
    assert terminal_colour(colors, "-6.4%") == colors.down.name
    page = screen_page(screen_data(), colors=colors)
    assert f"--up: {colors.up.hex}; --down: {colors.down.hex};" in page
    assert '<td class="num up">3.10%</td>' in page  # copper's 5-session move
    html, _, _ = screen_email(screen_data(), colors=colors)
    cell = re.compile(r'<td style="([^"]*)">(-?[0-9.]+%)</td>')
    styles = {value: style for style, value in cell.findall(html)}
    assert f"color:{colors.up.hex};" in styles["3.10%"]
    assert f"color:{colors.down.hex};" in styles["-1.70%"]
    assert _hex(charts.gain_loss(colors)(1.0)) == colors.up.hex
    assert _hex(charts.gain_loss(colors)(0.0)) == colors.down.hex


@BOTH
def test_every_report_states_its_convention_in_one_line(colors: Colors) -> None:
    legend = colors.legend
    assert legend.startswith(f"{colors.up.name.capitalize()} is a rise, {colors.down.name} a fall")
    console = Console(width=160, color_system=None, file=io.StringIO(), record=True)
    console.print(render_screen(_report(_result()), colors=colors))
    assert legend in console.export_text()
    assert legend in screen_page(screen_data(), colors=colors)
    assert legend in screen_email(screen_data(), colors=colors)[0]


def test_a_share_is_the_default_and_intl_swaps(tmp_path: Path) -> None:
    assert (A_SHARE.up.name, A_SHARE.down.name) == ("red", "green")
    assert (INTL.up, INTL.down) == (A_SHARE.down, A_SHARE.up)
    assert colors_for(Settings.load(config_path=tmp_path / "none.toml", env={}).colors) is A_SHARE
    toml = tmp_path / "screener.toml"
    toml.write_text('colors = "intl"\n')
    assert colors_for(Settings.load(config_path=toml, env={}).colors) is INTL
    toml.write_text('colors = "western"\n')
    with pytest.raises(ConfigError, match="'colors' must be 'a-share' or 'intl'"):
        Settings.load(config_path=toml, env={})


def _hex(rgba: tuple[float, float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgba[:3])


def test_the_colors_option_overrides_screener_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screener.cli.base import STATE, ColorConvention, colors

    toml = tmp_path / "screener.toml"
    toml.write_text('colors = "intl"\n')
    monkeypatch.setenv("SCREENER_CONFIG", str(toml))
    assert colors() is INTL
    monkeypatch.setattr(STATE, "colors", ColorConvention.a_share)
    assert colors() is A_SHARE
