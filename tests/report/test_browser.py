"""Written HTML reports in a real headless Chromium: no console errors, no network, a real page.

Needs Debian's ``chromium`` and a CJK font: ``python3 tasks.py test`` installs both with apt-get
where it can (CI included). Without a browser these tests fail, on purpose, so CI cannot pass
without ever opening a report. On a machine without one, set ``SCREENER_NO_BROWSER=1`` to skip.

Chromium is driven from the command line, no extra Python package: ``--screenshot`` writes the
PNG; ``--enable-logging=stderr`` prints every console message and uncaught error of the page as
a ``CONSOLE`` line (our pages run no script, so any such line is a fault); ``--log-net-log``
records each network request with the page that made it, and DNS is switched off, so a report
that reaches for a URL both fails to load it and is caught asking.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from test_html import backtest_data, screen_data, sweep_grid, tear_data
from test_sweep_html import synthetic_sweep

from screener.report.assemble import sweep_report_data
from screener.report.html import render_backtest, render_screen, write_csv, write_report
from screener.report.sweep_html import render_sweep

WINDOW = (1280, 2000)
BANNER_YELLOW = np.array([1.0, 0xD6 / 255, 0.0])  # the synthetic banner, #ffd600
STRATEGY_BLUE = np.array([0x1F, 0x3B, 0x73]) / 255  # charts.STRATEGY


@dataclass(frozen=True)
class Visit:
    console: list[str]  # CONSOLE lines: console.* calls and uncaught errors of the page
    requests: list[str]  # URLs the page asked the network for
    pixels: np.ndarray  # the screenshot, height x width x RGB in [0, 1]
    png_bytes: int


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get("SCREENER_NO_BROWSER") == "1":
        pytest.skip("SCREENER_NO_BROWSER=1: browser checks of the HTML reports skipped")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail(
            "chromium is not installed; the HTML reports must be checked in a browser. "
            "Install it (apt-get install -y chromium fonts-wqy-microhei) or set "
            "SCREENER_NO_BROWSER=1 to skip.",
            pytrace=False,
        )
    return exe


def visit(exe: str, page: Path, work: Path) -> Visit:
    """Open ``page`` once in headless Chromium, offline, and collect what it did."""
    shot, netlog = work / "shot.png", work / "net.json"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",  # the CI container runs as root, where the sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={work / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={netlog}",
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        page.as_uri(),
    ]
    env = {**os.environ, "HOME": str(work)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert shot.exists(), f"chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr}"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Visit(console, page_requests(netlog), matplotlib.image.imread(shot), shot.stat().st_size)


def page_requests(netlog: Path) -> list[str]:
    """URLs requested on behalf of a file:// page (Chromium's own update pings are not)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start and "file://" in e["params"].get("network_isolation_key", "")
    ]


def near(pixels: np.ndarray, colour: np.ndarray, tol: float = 0.06) -> int:
    """How many pixels are within ``tol`` of ``colour`` on every channel."""
    return int((np.abs(pixels[..., :3] - colour) < tol).all(axis=-1).sum())


def assert_clean(v: Visit) -> None:
    assert v.console == [], "the page logged to the console:\n" + "\n".join(v.console)
    assert v.requests == [], f"the page requested {v.requests}"
    assert v.pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert v.png_bytes > 20_000
    colours = np.unique((v.pixels[::8, ::8, :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the screenshot is (nearly) one colour"


def test_backtest_report_opens_cleanly(chromium: str, tmp_path: Path) -> None:
    path = write_report(render_backtest(backtest_data(sweep=sweep_grid())), tmp_path, "bt")
    v = visit(chromium, path, tmp_path)
    assert_clean(v)
    assert (np.abs(v.pixels[15, 640, :3] - BANNER_YELLOW) < 0.05).all()  # synthetic banner
    assert near(v.pixels, STRATEGY_BLUE) > 500  # the equity curve (inline SVG) was drawn


def test_screen_report_opens_cleanly(chromium: str, tmp_path: Path) -> None:
    path = write_report(render_screen(screen_data(synthetic=False)), tmp_path, "screen")
    v = visit(chromium, path, tmp_path)
    assert_clean(v)
    assert near(v.pixels, BANNER_YELLOW, 0.05) == 0  # not synthetic: no banner
    assert near(v.pixels, np.zeros(3), 0.08) > 300  # the sector index line and the text


# Measures the laid-out page from inside: each section's charts (rendered width x height) and
# table rows, and the trade list's link. Run on a copy of the page, never on the page itself.
MEASURE = """<script>
const m = {};
for (const s of document.querySelectorAll("section[id]")) {
  m[s.id] = {
    charts: [...s.querySelectorAll("svg.chart")].map(e => {
      const r = e.getBoundingClientRect(); return [r.width, r.height]; }),
    rows: s.querySelectorAll("table.frame tbody tr").length,
    links: [...s.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
  };
}
console.log("MEASURED " + encodeURIComponent(JSON.stringify(m)));
</script>"""


def measure(exe: str, page: Path, work: Path) -> dict[str, Any]:
    """The page's sections as laid out by Chromium (a copy of the page with MEASURE run)."""
    probe = page.with_name(f"measured_{page.name}")
    probe.write_text(page.read_text("utf-8").replace("</body>", MEASURE + "</body>"), "utf-8")
    (work / "probe").mkdir(exist_ok=True)
    lines = visit(exe, probe, work / "probe").console
    (found,) = [line.split("MEASURED ")[1].split('"')[0] for line in lines if "MEASURED " in line]
    return json.loads(urllib.parse.unquote(found))


def drawn(section: dict[str, Any]) -> int:
    """How many of the section's charts were laid out with a non-zero size."""
    return sum(1 for w, h in section["charts"] if w > 100 and h > 50)


def test_the_fuller_tear_sheet_opens_cleanly_with_every_chart_and_trade(
    chromium: str, tmp_path: Path
) -> None:
    data = tear_data()
    assert data.trades_csv is not None
    write_csv(data.trades, tmp_path, data.trades_csv)
    path = write_report(render_backtest(data), tmp_path, "tear")
    assert_clean(visit(chromium, path, tmp_path))
    m = measure(chromium, path, tmp_path)
    for section in ("rolling", "distribution", "exposure", "attribution"):
        assert drawn(m[section]) == len(m[section]["charts"]) == 1, section
    assert m["drawdowns"]["rows"] == data.tear.drawdowns.height > 0  # type: ignore[union-attr]
    assert m["attribution"]["rows"] == 4 + 1 + 79 + 1  # metals and tickers, each + open row
    assert m["trades"]["rows"] == data.trades.height == 80
    assert m["trades"]["links"] == [data.trades_csv] and (tmp_path / data.trades_csv).is_file()


def test_the_sweep_report_opens_cleanly_with_its_heatmaps(chromium: str, tmp_path: Path) -> None:
    row, frames = synthetic_sweep()
    path = write_report(render_sweep(sweep_report_data(row, frames)), tmp_path, "sweep")
    v = visit(chromium, path, tmp_path)
    assert_clean(v)
    assert (np.abs(v.pixels[15, 640, :3] - BANNER_YELLOW) < 0.05).all()  # synthetic banner
    m = measure(chromium, path, tmp_path)
    assert drawn(m["heatmaps"]) == len(m["heatmaps"]["charts"]) == 3 * 2
    assert m["configurations"]["rows"] == frames["table"].height == 18
    assert m["walk-forward"]["rows"] == 3


def test_checks_catch_a_broken_page(chromium: str, tmp_path: Path) -> None:
    """The detectors themselves: a script error, a console error and a remote image."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><p>x</p>'
        '<script>console.error("boom"); notDefined();</script>'
        '<img src="https://example.invalid/pixel.png">',
        encoding="utf-8",
    )
    v = visit(chromium, bad, tmp_path)
    assert any('"boom"' in line for line in v.console)
    assert any("Uncaught ReferenceError" in line for line in v.console)
    assert v.requests == ["https://example.invalid/pixel.png"]
