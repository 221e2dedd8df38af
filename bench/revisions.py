"""The code of another git revision, beside the working tree's, for side-by-side runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def checkout(rev: str, base: Path) -> Path:
    """The src/ folder of git revision `rev`, extracted under `base` (a process run
    with it first on PYTHONPATH imports that revision's `qa`)."""
    target = base / "before"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    short = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"before: the code of {rev} ({short})", flush=True)
    return target / "src"
