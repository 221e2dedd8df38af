"""How fast would a warm query be if the lexical side cost nothing?

Usage: .venv/bin/python bench/lexical_floor.py --index DIR [--queries 150] [--rounds 2]

Any faster lexical engine (bm25s, a compiled loop of qa's own, a binding with block-max
WAND) can at best make the lexical side free. This measures that bound on a built index
(for example one `bench/scale.py` left in its cache folder): each question is asked
through `Searcher.search` as shipped, and again with the lexical side's two calls
(`LexicalIndex.search`, the top of the pool, and `LexicalIndex.scores`, BM25 of the
dense side's other candidates) answered from a cache filled beforehand with their own
results, so both runs rank, mark and answer exactly alike. The two take turns, question
by question, warm (the cache is filled in a first untimed pass), in one process, so
the machine's drift weighs on each alike. Prints the median and p95 (ms) of each, and
what is left of the median without the lexical side.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import questions  # noqa: E402

from qa.index.lexical import LexicalIndex  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402


def cached(call: Callable[..., Any]) -> Callable[..., Any]:
    """`call` (a LexicalIndex method) answered from a cache of its own results, by its
    arguments: the first call of each runs it, the others cost a dict lookup."""
    results: dict[tuple, Any] = {}

    def lookup(self: LexicalIndex, question: str, ids_or_limit: Any, *rest: Any,
               **named: Any) -> Any:
        key = (question, _frozen(ids_or_limit), _frozen(rest), _frozen(sorted(named.items())))
        if key not in results:
            results[key] = call(self, question, ids_or_limit, *rest, **named)
        return results[key]

    return lookup


def _frozen(value: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_frozen(v) for v in value)
    if hasattr(value, "tolist"):
        return _frozen(value.tolist())
    return value


def use(calls: dict[str, Callable[..., Any]]) -> None:
    """Answer LexicalIndex's methods by `calls` (method name -> function) from now on."""
    for name, call in calls.items():
        setattr(LexicalIndex, name, call)


def print_times(times: dict[str, list[float]]) -> None:
    """One line per code: the median and p95 of its times (seconds), in ms."""
    for name, found in times.items():
        ordered = sorted(found)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"{name:22} p50_ms={1000 * statistics.median(ordered):.1f}"
              f" p95_ms={1000 * p95:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asked = questions()[: args.queries]
    searcher = Searcher(args.index)
    searcher.search("warm up the query model", 5)
    real = {"search": LexicalIndex.search, "scores": LexicalIndex.scores}
    free = {name: cached(call) for name, call in real.items()}

    use(free)
    for question in asked:  # fills the cache: the lexical side's own results
        searcher.search(question, 5)
    times: dict[str, list[float]] = {"as shipped": [], "lexical side free": []}
    for _ in range(args.rounds):
        for question in asked:
            for name, calls in (("as shipped", real), ("lexical side free", free)):
                use(calls)
                start = time.perf_counter()
                searcher.search(question, 5)
                times[name].append(time.perf_counter() - start)
    use(real)
    print_times(times)
    shipped, floor = (statistics.median(times[n]) for n in times)
    print(f"without the lexical side the median is {floor / shipped:.2f}x as shipped"
          f" ({len(asked)} questions x {args.rounds} rounds)")


if __name__ == "__main__":
    main()
