"""The fuzz tests with many more examples than CI runs, and the count of each.

Usage: .venv/bin/python bench/fuzz.py [--examples 5000]

Runs every fuzz test (loaders and front matter, whole `qa index` runs on corpora with
random files, random command lines and environments) with QA_FUZZ_EXAMPLES examples
each, through pytest with Hypothesis' statistics, and prints how many examples each
ran and how many failed. Without --examples, each test runs its CI budget, so the
printed counts are what CI runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FUZZ_TESTS = ["tests/ingest/test_fuzz_loaders.py", "tests/index/test_fuzz_corpus.py",
              "tests/cli/test_fuzz_cli.py"]
_TEST = re.compile(r"^(tests/\S+::\S+):$")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=None,
                        help="examples per fuzz test (default: each test's CI budget)")
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("QA_FUZZ_EXAMPLES", None)
    if args.examples:
        env["QA_FUZZ_EXAMPLES"] = str(args.examples)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--hypothesis-show-statistics", *FUZZ_TESTS],
        cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    totals = _counts(done.stdout)
    for test, (passing, failing) in totals.items():
        print(f"{passing:6d} passing {failing:3d} failing  {test}")
    print(f"{sum(p for p, _ in totals.values())} examples in {len(totals)} fuzz tests,"
          f" {sum(f for _, f in totals.values())} failing, in {seconds:.0f} s"
          f" (pytest exit {done.returncode})")
    if done.returncode:
        print(_failures(done.stdout + done.stderr))
    sys.exit(done.returncode)


def _failures(report: str) -> str:
    """The whole failure report (Hypothesis' falsifying example, its traceback and the
    `@reproduce_failure` line), so a rare failure in a long run is never lost."""
    start = report.find("= FAILURES =")
    start = report.rfind("\n", 0, start) + 1 if start >= 0 else 0
    end = report.find("-- Hypothesis Statistics --", start)
    return report[start:end if end > start else None]


def _counts(report: str) -> dict[str, tuple[int, int]]:
    """Passing and failing examples per test, over Hypothesis' phases (reuse, generate,
    shrink), from its statistics report."""
    totals: dict[str, tuple[int, int]] = {}
    test = None
    for line in report.splitlines():
        named = _TEST.match(line.strip())
        if named:
            test = named.group(1)
            continue
        counts = _COUNTS.search(line)
        if counts and test:
            passing, failing = totals.get(test, (0, 0))
            totals[test] = (passing + int(counts.group(1)), failing + int(counts.group(2)))
    return totals


if __name__ == "__main__":
    main()
