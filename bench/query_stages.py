"""Where a warm query's time goes, and the thread counts of the query path, side by side.

Usage: .venv/bin/python bench/query_stages.py --index DIR [--queries 200]

On a built index (for example one `bench/scale.py` left in its cache folder), each
question is asked through the stages of `Searcher.search` one by one, each timed:
embedding the question (ONNX), the dense side (FAISS over the vector segments), the
lexical side (tantivy), then the whole search. The thread counts are compared in the
same loop, question by question, so the machine's drift weighs on each alike:
- the ONNX query encoder with 1 and with 2 intra-op threads;
- a FAISS search with 1 and with 2 OpenMP threads;
- the whole search as shipped (the lexical side in the searcher's worker thread, beside
  the question's embedding and the pool's reads) and with that worker's calls made
  inline, one after the other, as before.
Prints one line per measurement: median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import faiss

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import questions  # noqa: E402

from qa.embed.model import fingerprint  # noqa: E402
from qa.embed.query_encoder import QueryEncoder  # noqa: E402
from qa.index.layout import encoder_path  # noqa: E402
from qa.search.searcher import POOL_DEPTH, Searcher  # noqa: E402


def timed(times: list[float], work: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = work()
    times.append((time.perf_counter() - start) * 1000)
    return result


def faiss_threads(threads: int, work: Callable[[], object]) -> Callable[[], object]:
    """`work` with FAISS's OpenMP pool set to `threads` (the search's own setting
    bypassed: DenseIndex.search pins one thread, so the segments are searched here)."""
    def run() -> object:
        faiss.omp_set_num_threads(threads)
        return work()
    return run


class Inline(Executor):
    """Runs each submitted call at once, in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def stages(searcher: Searcher, inline: Searcher, encoders: dict[int, QueryEncoder],
           question: str, turn: int, times: dict[str, list[float]]) -> None:
    """Time one question's stages into `times`, each way being compared."""
    for threads, encoder in encoders.items():
        vector = timed(times[f"embed, onnx {threads} thread(s)"],
                       lambda e=encoder: e.encode([question])[0])
    dense = searcher.dense
    for threads in (1, 2):
        timed(times[f"dense top {POOL_DEPTH}, faiss {threads} thread(s)"], faiss_threads(
            threads, lambda: [s.search(vector, POOL_DEPTH, None, dense.deleted)
                              for s in dense.segments]))
    timed(times[f"lexical top {POOL_DEPTH}"],
          lambda: searcher.lexical.search(question, POOL_DEPTH, None))
    wholes = [("whole search (as qa ships it)", searcher),
              ("whole search, lexical side inline", inline)]
    if turn % 2:  # the first to ask a question pages in what it reads: take turns
        wholes.reverse()
    for name, asking in wholes:
        timed(times[name], lambda a=asking: a.search(question, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    searcher, inline = Searcher(args.index), Searcher(args.index)
    inline._worker = Inline()  # the comparison this bench makes
    path = encoder_path(args.index, fingerprint())
    encoders = {n: QueryEncoder(path, threads=n) for n in (1, 2)}
    asked = questions()
    searcher.search("warm up", 5)
    inline.search("warm up", 5)
    times: dict[str, list[float]] = defaultdict(list)
    for n in range(args.queries):
        stages(searcher, inline, encoders, asked[n % len(asked)], n, times)
    for name, found in times.items():
        ordered = sorted(found)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"{name:<36} p50_ms={statistics.median(found):7.2f} p95_ms={p95:7.2f}")
    searcher.close()
    inline.close()


if __name__ == "__main__":
    main()
