"""Bootstrap: the README's two commands. Needs nothing but Python >= 3.11 and pip.

    python3 tasks.py demo    # venv + install + the main job on the embedded demo store
    python3 tasks.py test    # venv + install + the whole test suite

The virtual environment lives in .venv and is reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
EXTRAS = "dev,cluster"  # tests need pytest & co, and Ray for the cluster sweep engine


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


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_env()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if argv[0] == "demo":
        cmd = [str(BIN / "screener"), "demo"]
    else:
        cmd = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
