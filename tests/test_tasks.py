"""The README's test command on a machine without a browser: tasks.py installs Chromium and a
CJK font where it can, and otherwise says exactly what to install.

apt-get, sudo, chromium and fc-list are stand-in scripts on a clean PATH (the system package
manager is the edge we cannot run for real in a test); tasks.py's own code runs unchanged.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body)  # the script's own tools
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def ensure_browser(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SCREENER_NO_BROWSER"}
    env["PATH"] = str(path)
    code = "import sys, tasks; sys.exit(0 if tasks.ensure_browser() else 3)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_installs_chromium_and_font_with_apt_when_missing(tmp_path: Path) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "apt.log"
    # apt-get "installs" by writing chromium and fc-list into the same folder
    script(
        bin_,
        "apt-get",
        f'echo "$@" >> {log}\n'
        'case "$1" in install)\n'
        f"  printf '#!/bin/sh\\n' > {bin_}/chromium; chmod +x {bin_}/chromium\n"
        f"  printf '#!/bin/sh\\necho /usr/share/fonts/wqy-microhei.ttc\\n' > {bin_}/fc-list\n"
        f"  chmod +x {bin_}/fc-list;;\nesac\n",
    )
    script(bin_, "sudo", '[ "$1" = "-n" ] && shift\nexec "$@"\n')
    assert not (bin_ / "chromium").exists()

    run = ensure_browser(bin_)

    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update")
    assert calls[1].split()[:2] == ["install", "-y"]
    assert {"chromium", "fonts-wqy-microhei"} <= set(calls[1].split())
    assert "installing chromium" in run.stdout


def test_says_exactly_what_to_install_without_a_package_manager(tmp_path: Path) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()

    run = ensure_browser(bin_)

    assert run.returncode == 3
    line = run.stderr.strip()
    assert "apt-get install -y chromium fonts-wqy-microhei" in line
    assert "SCREENER_NO_BROWSER=1" in line
    assert len(line.splitlines()) == 1


def test_a_failed_install_is_reported_not_hidden(tmp_path: Path) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    script(bin_, "apt-get", "exit 100\n")
    script(bin_, "sudo", '[ "$1" = "-n" ] && shift\nexec "$@"\n')

    run = ensure_browser(bin_)

    assert run.returncode == 3
    assert "apt-get install -y chromium" in run.stderr
