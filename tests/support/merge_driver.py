"""Run `qa index --optimize` (the writer, with the fake embedder) and SIGKILL this very
process at a chosen step of the merge, for the kill-during-merge test.

Usage: python -m tests.support.merge_driver CORPUS INDEX STEP (from the repo root)
STEP: written (the merged file written, not yet renamed), renamed (renamed into the
vectors folder, not yet named by a commit), committing (inside the transaction that
names it), committed (committed, the replaced files not yet removed).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from qa import atomic
from qa.index import segment_writer
from qa.index.store import Store
from qa.index.writer import update_index
from qa.settings import Paths
from tests.conftest import FakeEmbedder

merging = False


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner: Any, name: str) -> None:
    """Kill right after `owner.name` returns, once a merge has begun."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if merging:
            _die()
        return result

    setattr(owner, name, wrapper)


def _at_first_removal() -> None:
    """Kill when the merge removes the first file it replaced (after its commit)."""
    original = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if merging and self.name.startswith("seg-"):
            _die()
        original(self, missing_ok=missing_ok)

    Path.unlink = unlink  # type: ignore[method-assign]


def _merge_marked() -> None:
    original = segment_writer.SegmentWriter.merge

    def merge(self: Any, *args: Any, **kwargs: Any) -> None:
        global merging
        merging = True
        original(self, *args, **kwargs)

    segment_writer.SegmentWriter.merge = merge  # type: ignore[method-assign]


STEPS = {
    "written": lambda: _after(segment_writer.faiss, "write_index"),
    "renamed": lambda: _after(atomic.os, "replace"),
    "committing": lambda: _after(Store, "replace_segments"),
    "committed": _at_first_removal,
}

if __name__ == "__main__":
    _merge_marked()
    STEPS[sys.argv[3]]()
    update_index(Paths(Path(sys.argv[1]), Path(sys.argv[2])), progress=False,
                 embedder=FakeEmbedder(), optimize=True)
    print("finished without being killed")
