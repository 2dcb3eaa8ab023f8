"""Bootstrap: the README's two commands. Needs nothing but Python >= 3.11 and pip.

    python3 tasks.py demo    # venv + install + the main job on the embedded demo store
    python3 tasks.py test    # venv + install + browser + the whole test suite

The virtual environment lives in .venv and is reinstalled only when pyproject.toml changes. The
browser tests open the HTML reports in real Chromium with a CJK font: `test` installs both with
apt-get where it can (root, or password-less sudo, on Debian/Ubuntu) and otherwise says exactly
what to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
EXTRAS = "dev,cluster"  # tests need pytest & co, and Ray for the cluster sweep engine
BROWSER_PACKAGES = ("chromium", "fonts-wqy-microhei")  # Debian/Ubuntu names
BROWSER_HINT = (
    "the browser tests need Chromium and a CJK font: run "
    f"`sudo apt-get install -y {' '.join(BROWSER_PACKAGES)}` (Debian/Ubuntu), "
    "or set SCREENER_NO_BROWSER=1 to skip those tests"
)


def ensure_env() -> None:
    """Create .venv and install the package with its dev extra, once per pyproject version."""
    project = (ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()
    wanted = hashlib.sha256(project).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing screener and its dependencies into .venv ...", flush=True)
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    STAMP.write_text(wanted)


def browser_ready() -> bool:
    """Chromium on PATH and a CJK font known to fontconfig (Chinese names must render)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return False
    if not shutil.which("fc-list"):
        return False
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout.lower()
    return "wqy" in fonts


def ensure_browser() -> bool:
    """Install what the browser tests need where we can; False (after one line saying what to
    install) where we cannot. SCREENER_NO_BROWSER=1 means the user chose to skip them."""
    if os.environ.get("SCREENER_NO_BROWSER") == "1" or browser_ready():
        return True
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    sudo = [] if root else ["sudo", "-n"] if shutil.which("sudo") else None
    if shutil.which("apt-get") and sudo is not None:
        print(f"installing {' and '.join(BROWSER_PACKAGES)} for the browser tests ...", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        apt = [*sudo, "apt-get"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*apt, "update", "-qq"], env=env, **quiet)
        subprocess.run([*apt, "install", "-y", "-qq", *BROWSER_PACKAGES], env=env, **quiet)
        if browser_ready():
            return True
    print(f"tasks.py: {BROWSER_HINT}", file=sys.stderr, flush=True)
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_env()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if argv[0] == "demo":
        cmd = [str(BIN / "screener"), "demo"]
    else:
        ensure_browser()  # without it the browser tests fail and say what to install
        cmd = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
