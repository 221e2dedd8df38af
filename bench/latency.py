"""Query latency: a cold `qa ask` (new process) and a warm in-process search.

Usage: .venv/bin/python bench/latency.py [--runs 10] [--warm 100]

Cold: the median wall time of `qa ask QUESTION` in a fresh process, index already
built, freshness check included (it is what users run). Warm: the median and p90 of
`Searcher.search` after one warm-up question, cycling through the dev questions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from qa.evaluation.questions import load_questions
from qa.index.layout import index_exists
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
QUESTION = "why did Baku reject mediators?"


def cold(runs: int) -> list[float]:
    qa = str(Path(sys.executable).with_name("qa"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([qa, "ask", QUESTION], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def warm(paths: Paths, runs: int, dev: Path) -> list[float]:
    questions = [q.question for q in load_questions(dev)]
    searcher = Searcher(paths.index)
    searcher.search(QUESTION)
    times = []
    for n in range(runs):
        start = time.perf_counter()
        searcher.search(questions[n % len(questions)])
        times.append(time.perf_counter() - start)
    searcher.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--dev", default=str(REPO.parent / "shared/eval/dev.jsonl"))
    args = parser.parse_args()
    paths = Paths.resolve()
    if not index_exists(paths.index):
        update_index(paths)
    c = cold(args.runs)
    w = warm(paths, args.warm, Path(args.dev))
    p90 = statistics.quantiles(w, n=10)[-1]
    print(f"cold qa ask ({args.runs} runs): median {statistics.median(c):.3f} s,"
          f" min {min(c):.3f} s, max {max(c):.3f} s")
    print(f"warm search ({args.warm} runs): median {statistics.median(w) * 1000:.1f} ms,"
          f" p90 {p90 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
