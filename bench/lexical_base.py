"""Does the lexical base give tantivy's top 100 sooner at a million passages?

Usage: .venv/bin/python bench/lexical_base.py --index DIR [--queries 150] [--depth K]
                                             [--optimize CORPUS]

The lexical base (`qa.index.impact_base`) is PISA's MaxScore over qa's own BM25 impacts,
searched instead of tantivy's walk of every posting. DIR is an index `bench/scale.py`
built (its build ends with `--optimize`, which builds the base). Warm, taking turns
question by question on the same questions as bench/lexical_pruning.py:
`LexicalIndex.search` as qa asks it (through the base) against tantivy's walk (the base
detached). Prints each one's median and p95; the agreement of the two top 100s, and how
far their scores differ (the impacts are rounded to 1/65536 of a point per term); and
the base's size on disk. Also timed, in the same turns, what the design rests on:
tantivy's BM25 of given passages (a search restricted to their chunk ids, as
`LexicalIndex.scores` does) for the base's top 200 and its top 1, which is why the base's
own scores are used rather than re-scored; and tantivy's top 100 among the newest 1,000
passages, what a question pays for passages added since the base was built.

With --optimize, first runs `qa index --optimize`'s update on
DIR with its corpus folder CORPUS (nothing changed: the time is the vector merge's,
nothing to merge, and the base's build) and prints its seconds and this process's peak
memory.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from lexical_pruning import agreement, memory_mb, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import impact_base, lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402
from qa.index.store import Store  # noqa: E402
from qa.index.writer import update_index  # noqa: E402
from qa.settings import Paths  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--optimize", type=Path, metavar="CORPUS")
    args = parser.parse_args()
    if args.optimize:
        start = time.perf_counter()
        update_index(Paths(args.optimize, args.index), progress=False,
                     embedder=FakeEmbedder(), optimize=True)
        print(f"optimize_s={time.perf_counter() - start:.1f} "
              f"peak_rss_mb={memory_mb()[1]:.0f}")
    generation = current_generation(args.index)
    if generation is None:
        sys.exit(f"--index {args.index}: no index there; build one with bench/scale.py")
    store = Store(generation / STORE_FILE)
    view = impact_base.open_view(store, generation)
    if view is None:
        sys.exit(f"--index {args.index}: no usable lexical base; run `qa index --optimize`"
                 " on it (bench/scale.py's build does)")
    through_base = lexical.LexicalIndex(generation / LEXICAL_DIR)
    through_base.base = view
    walk = lexical.LexicalIndex(generation / LEXICAL_DIR)
    asked = questions()[: args.queries]
    k = args.depth
    for question in asked:  # warm both
        through_base.search(question, k)
        walk.search(question, k)
    times: dict[str, list[float]] = {}
    ours, theirs = [], []
    newest = store.chunk_ids_after(0)[-1_000:]
    for i, question in enumerate(asked):
        doubled = [c for c, _ in view.base.top(lexical.terms(question), 2 * k)]
        turns = [("tantivy's walk, top 100", lambda q=question: walk.search(q, k), ours),
                 ("the lexical base, top 100", lambda q=question: through_base.search(q, k),
                  theirs),
                 ("tantivy: BM25 of the base's top 200",
                  lambda q=question, ids=doubled: walk.scores(q, ids), []),
                 ("tantivy: BM25 of the base's top 1",
                  lambda q=question, ids=doubled[:1]: walk.scores(q, ids), []),
                 ("tantivy: top 100 of the newest 1,000",
                  lambda q=question: walk.search(q, k, within=newest), [])]
        for key, work, out in turns if i % 2 else turns[::-1]:
            out.append(timed(times, key, work))
    folder = generation / view.base.name
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"passages={store.count('chunks')} base_passages={view.base.passages} "
          f"questions={len(asked)} depth={k} base_bytes_per_passage="
          f"{size / view.base.passages:.0f}")
    report(times)
    agreement("base", ours, theirs)
    gaps = [abs(dict(a)[c] - s) for a, b in zip(ours, theirs, strict=True)
            for c, s in b if c in dict(a)]
    print(f"score differences on shared passages: max {max(gaps):.2e}, "
          f"median {statistics.median(gaps):.2e}")
    store.close()


if __name__ == "__main__":
    main()
