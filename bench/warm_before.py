"""Warm queries with this tree's code against another revision's, taking turns, on one index.

Usage: .venv/bin/python bench/warm_before.py --index DIR --before REV
                                            [--before-path DIR] [--rounds 3] [--queries 300]

The machine's speed swings up to 3x from minute to minute, so a change to the query path
is judged by the two codes asked alternately, not by figures from different hours. Each
round runs `bench/scale.py`'s query worker (warm up, then `--queries` questions: SciFact's
test claims and the dev questions, through `Searcher.search`, in a process of its own)
once with this tree's `qa` and once with REV's (its src/, extracted by `git archive`),
the order alternating, and checks that both gave the same answers. `--before-path` puts
a folder of other library versions first on the old code's path (e.g. `pip install
--target DIR --no-deps tantivy==0.25.0`), for a change that came with a dependency's
upgrade. Prints each run's median, p95 and peak RSS with the load average at its start,
then the medians over the rounds and their ratio, and on how many questions the two
answered alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from revisions import checkout

SCALE = Path(__file__).with_name("scale.py")


def run(index: Path, queries: int, pythonpath: str | None
        ) -> tuple[float, float, float, list]:
    """One query process: median and p95 in ms, peak RSS in MB, and its answers."""
    env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else None
    out = subprocess.run([sys.executable, str(SCALE), "--query-worker", str(index),
                          "--queries", str(queries)], capture_output=True, text=True,
                         check=True, env=env)
    result = json.loads(out.stdout.splitlines()[-1])
    times = sorted(result["times"])
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return statistics.median(times) * 1000, p95 * 1000, result["rss_mb"], result["answers"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--before", required=True, metavar="REV")
    parser.add_argument("--before-path", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    medians: dict[str, list[float]] = {"now": [], "before": []}
    answers: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as scratch:
        old = str(checkout(args.before, Path(scratch)))
        if args.before_path:
            old = os.pathsep.join([old, str(args.before_path)])
        codes = {"now": None, "before": old}
        for round_no in range(args.rounds):
            order = list(codes) if round_no % 2 == 0 else list(codes)[::-1]
            for name in order:
                load = os.getloadavg()[0]
                p50, p95, rss, answers[name] = run(args.index, args.queries, codes[name])
                medians[name].append(p50)
                print(f"round {round_no + 1} {name:6} load={load:4.1f} p50_ms={p50:.1f}"
                      f" p95_ms={p95:.1f} rss_mb={rss:.0f}", flush=True)
    now, before = (statistics.median(medians[n]) for n in ("now", "before"))
    print(f"median of the rounds' p50: now {now:.1f} ms, before {before:.1f} ms,"
          f" ratio {now / before:.2f}x")
    same = sum(a == b for a, b in zip(answers["now"], answers["before"], strict=True))
    print(f"same answers (passages, scores, marked sentences, confidence): {same} of"
          f" {len(answers['now'])} questions")


if __name__ == "__main__":
    main()
