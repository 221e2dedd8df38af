"""Another commit's `src/`, extracted for side-by-side runs (imported by bench scripts).

`git archive` writes nothing into the repository (no worktree, no checkout): the tree
lands in a temporary folder, and running `python -m qa` with PYTHONPATH set to it runs
that commit's code with the same virtualenv.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def extract_source(commit: str, dest: Path) -> Path:
    """Extract `commit`'s src/ under `dest`; return the folder to put on PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"
