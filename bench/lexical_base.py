"""Does the lexical base give tantivy's top 100 sooner at a million passages?

Usage: .venv/bin/python bench/lexical_base.py --index DIR [--queries 150] [--depth K]
                                             [--optimize CORPUS] [--drift N --corpus CORPUS]

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

With --drift N --corpus CORPUS, the index is first moved away from its base as far as
the base is still used: about N passages added (new documents of the benchmark's
vocabulary, embedded by its hashing embedder) and about N removed (whole documents of
CORPUS taken out), each below the base's limit of 2,000 (`MAX_RECENT`, `MAX_REMOVED`),
so tantivy's statistics (passage count, document frequencies, mean lengths) have moved
while the base's scores have not; the agreement then says how far that drift moves the
top 100. Afterwards the added documents are removed, the others put back, and the
index optimized, which builds the base again (its time is printed).

With --optimize, first runs `qa index --optimize`'s update on
DIR with its corpus folder CORPUS (nothing changed: the time is the vector merge's,
nothing to merge, and the base's build) and prints its seconds and this process's peak
memory.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from lexical_pruning import agreement, memory_mb, report, timed  # noqa: E402
from scale import HashingEmbedder, Vocabulary, document, questions  # noqa: E402

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
    parser.add_argument("--drift", type=int, default=0, metavar="N")
    parser.add_argument("--corpus", type=Path, help="the index's corpus folder (--drift)")
    args = parser.parse_args()
    if args.drift:
        if args.corpus is None:
            sys.exit("--drift: needs --corpus, the index's corpus folder")
        with tempfile.TemporaryDirectory() as aside:
            paths = Paths(args.corpus, args.index)
            added, removed = drift(paths, args.drift, Path(aside))
            try:
                measure(args)
            finally:
                undo_drift(paths, added, removed, Path(aside))
        return
    if args.optimize:
        start = time.perf_counter()
        update_index(Paths(args.optimize, args.index), progress=False,
                     embedder=FakeEmbedder(), optimize=True)
        print(f"optimize_s={time.perf_counter() - start:.1f} "
              f"peak_rss_mb={memory_mb()[1]:.0f}")
    measure(args)


def drift(paths: Paths, passages: int, aside: Path) -> tuple[list[str], list[str]]:
    """Add documents until about `passages` passages are new, and take out whole
    documents holding about as many (moved to `aside`); returns both lists of names."""
    rng = random.Random(11)
    vocabulary, embedder = Vocabulary(), HashingEmbedder()
    added: list[str] = []
    generation = current_generation(paths.index)
    assert generation is not None
    store = Store(generation / STORE_FILE)
    base = impact_base.ImpactBase(generation / str(store.get_meta(impact_base.BASE_KEY)))
    # A batch of 20 adds about 160 passages (1,000-word documents) and takes out about
    # 100 (five a document): stop a batch short of `passages`, so as not to pass it.
    while len(store.chunk_ids_after(base.max_chunk_id)) < passages - 160:
        names = [f"drift-{len(added) + i}.md" for i in range(20)]
        for name in names:
            (paths.corpus / name).write_text(
                document(vocabulary, rng, 1000, name[:-3]), encoding="utf-8")
        update_index(paths, progress=False, embedder=embedder, only=names)
        added += names
    documents = sorted(set(store.document_stats()) - set(added))  # the base's own
    removed: list[str] = []
    while len(store.base_removes()) < passages - 100:
        names = [d for d in rng.sample(documents, 20) if d not in removed]
        for name in names:
            shutil.move(paths.corpus / name, aside / name.replace("/", "%"))
        update_index(paths, progress=False, embedder=embedder, only=names)
        removed += names
    print(f"drift: {len(store.chunk_ids_after(base.max_chunk_id))} passages added"
          f" ({len(added)} documents), {len(store.base_removes())} removed"
          f" ({len(removed)} documents) since the base was built", flush=True)
    store.close()
    return added, removed


def undo_drift(paths: Paths, added: list[str], removed: list[str], aside: Path) -> None:
    """Take the added documents out, put the removed ones back, and optimize (which
    builds the base again)."""
    for name in added:
        (paths.corpus / name).unlink()
    for name in removed:
        shutil.move(aside / name.replace("/", "%"), paths.corpus / name)
    embedder = HashingEmbedder()
    update_index(paths, progress=False, embedder=embedder, only=added + removed)
    start = time.perf_counter()
    update_index(paths, progress=False, embedder=embedder, optimize=True)
    print(f"undone; optimize_s={time.perf_counter() - start:.1f}")


def measure(args: argparse.Namespace) -> None:
    """The timings and the agreement, on the index as it stands."""
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
