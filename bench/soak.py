"""Soak: readers asking questions while a writer adds, edits and removes documents.

Usage: .venv/bin/python bench/soak.py [--seconds 300] [--readers 4]

Four reader processes (two opening a new Searcher per question like `qa ask`, two
keeping one open like the TUI) ask questions in a loop for the given time while a
writer process changes one to three documents and runs an incremental update, again
and again. All use the tests' fake embedder, so the figures measure the index, not the
model. Prints the questions per second (all readers together), the number of writes
and of document changes, and every problem the check found: reader errors, passages
from no committed state (a removed document, a torn passage), or a final index that
differs from a clean rebuild. tests/index/test_soak.py runs the same for 45 s in CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.soak import run_soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_soak(Path(tmp), args.seconds, args.readers)
    print(f"{args.readers} readers, 1 writer, {result.seconds:.0f} s:"
          f" {result.questions} questions ({result.questions_per_second:.1f}/s),"
          f" {result.writes} writes ({result.changes} document changes),"
          f" {len(result.problems)} problems")
    for problem in result.problems[:20]:
        print("  " + problem)
    sys.exit(1 if result.problems else 0)


if __name__ == "__main__":
    main()
