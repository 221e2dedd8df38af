"""Does the lexical base give tantivy's top 100 sooner at a million passages?

Usage: .venv/bin/python bench/lexical_base.py --index DIR [--queries 150] [--depth K]

The lexical base (`qa.index.impact_base`) is PISA's MaxScore over qa's own BM25 impacts,
searched instead of tantivy's walk of every posting. DIR is an index `bench/scale.py`
built (its build ends with `--optimize`, which builds the base). Warm, taking turns
question by question on the same questions as bench/lexical_pruning.py:
`LexicalIndex.search` as qa asks it (through the base) against tantivy's walk (the base
detached). Prints each one's median and p95; the agreement of the two top 100s, and how
far their scores differ (the impacts are rounded to 1/65536 of a point per term); and
the base's size on disk.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_pruning import agreement, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import impact_base, lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402
from qa.index.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
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
    for i, question in enumerate(asked):
        turns = [("tantivy's walk, top 100", lambda q=question: walk.search(q, k), ours),
                 ("the lexical base, top 100", lambda q=question: through_base.search(q, k),
                  theirs)]
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
