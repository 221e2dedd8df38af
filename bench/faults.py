"""The fault tests, run and counted: kills, a full disk, a read-only index, damaged pages.

Usage: .venv/bin/python bench/faults.py

Runs the fault-injection tests through pytest (the same tests CI runs) and prints, for
each, whether it held, how long it took, and how many kills landed where the test kills
a process: SIGKILL at random moments of an incremental update (the fake model) and of
`qa index` with the real model, and of `--rebuild`. After every kill the test checks that
the index still answers from a committed state, and at the end that it equals a clean
build. The others: a full disk (a tmpfs of 8 MB, or a file size limit where mounting is
not allowed; and a first build with the real model on a 3 MB tmpfs), a read-only index
(mode bits, and a read-only mount), and a damaged SQLite page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAULT_TESTS = ["tests/cli/test_faults.py", "tests/index/test_crash_safety.py",
               "tests/index/test_generations.py"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "faults.xml"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}", "-o", "junit_family=xunit1", *FAULT_TESTS],
            cwd=REPO, env=dict(os.environ), capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        cases = ET.parse(report).getroot().iter("testcase")
        held = kills = total = 0
        for case in cases:
            total += 1
            outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")),
                           "held")
            held += outcome == "held"
            landed = sum(int(p.get("value", 0)) for p in case.iter("property")
                         if p.get("name") == "kills")
            kills += landed
            note = f"  {landed} kills" if landed else ""
            print(f"{outcome:>7} {float(case.get('time', 0)):6.1f} s  "
                  f"{Path(case.get('file', '')).name}::{case.get('name')}{note}")
    print(f"{held} of {total} fault tests held, {kills} kills in all, in {seconds:.0f} s"
          f" (pytest exit {done.returncode})")
    if done.returncode:
        print(done.stdout[done.stdout.find("= FAILURES ="):])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
