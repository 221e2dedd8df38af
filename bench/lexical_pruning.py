"""Why the lexical side's top 100 costs what it does at a million passages, and what
exact pruning could save.

Usage: .venv/bin/python bench/lexical_pruning.py --index DIR [--queries 150]
                                                [--one-segment DIR] [--share 0.5]

On an index `bench/scale.py` built (DIR is its index folder), asks SciFact's test claims
and the dev questions (as bench/scale.py does) straight to tantivy, and prints:
- `segments`: the full BM25 query's top 100 on the index as built (tantivy's merge policy
  leaves several segments, each searched for its own top 100) against a copy of the
  same passages in one segment, the two taking turns question by question. The copy is
  written once into --one-segment (default: `lexical-one-segment` beside DIR).
- `pruning`: the full query's top 1 against its top 100 with a count of every match (a
  collector that must see every posting). Were block-max WAND at work, the top 1 would
  skip most postings; equal times say it is not (tantivy-py's `Searcher.search` wraps
  the top k in a multi-collector, which tantivy cannot prune).
- `chunk ids` (with tantivy-py 0.27 or later, which has `fast_field_values`): reading
  the top 100's chunk ids from the stored documents (`doc`, as qa does) against the
  fast-field column by document address.
- `top_k`: the time of a top k for k = 10, 100 and 500, for the full query and for its
  clauses whose terms at most `--share` of the passages hold ("rare"). Block-max WAND
  saves work when the k-th score is hard to reach; a time that does not move with k
  says the walk of the postings, not the heap, is the cost.
- `certified`: an exact two-phase search would take the rare clauses' top K first, then
  add the common clauses' scores to those K. That is exact when no passage outside them
  can reach the full top 100: when the 100th full score exceeds the K-th rare score plus
  the most the common clauses can add (per clause, its boost times IDF times k1 + 1,
  BM25's bound). The share of questions this certifies, per K (the rest would fall back
  to the full query).
Prints one line per measurement: medians and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tantivy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402

K1 = 1.2  # tantivy's BM25 k1 (fixed): a clause adds at most boost * idf * (k1 + 1)
Clause = tuple[str, str, float]  # field, term, boost


def one_segment_copy(generation: Path, folder: Path) -> tantivy.Searcher:
    """The generation's passages indexed again in one tantivy segment (one commit, a
    writer heap that never fills), unless `folder` already holds that copy."""
    if not (folder / "meta.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        writer = tantivy.Index(lexical.SCHEMA, path=str(folder)).writer(
            heap_size=3_500_000_000, num_threads=1)
        store = sqlite3.connect(f"file:{generation / STORE_FILE}?mode=ro", uri=True)
        for doc_id, title, text in store.execute("SELECT id, title, text FROM documents"):
            for cid, start, end in store.execute(
                    "SELECT id, start, end FROM chunks WHERE doc_id = ?", (doc_id,)):
                writer.add_document(tantivy.Document(chunk_id=cid, seq=0, title=title,
                                                     body=text[start:end]))
        writer.commit()
        writer.wait_merging_threads()
    return tantivy.Index.open(str(folder)).searcher()


def union(clauses: list[Clause]) -> tantivy.Query:
    parts = []
    for field, term, boost in clauses:
        query = tantivy.Query.term_query(lexical.SCHEMA, field, term)
        parts.append((tantivy.Occur.Should,
                      query if boost == 1.0 else tantivy.Query.boost_query(query, boost)))
    return tantivy.Query.boolean_query(parts)


def clauses_of(question: str) -> list[Clause]:
    """The clauses `qa.index.lexical` asks for a question: body, and title weighted low."""
    return [(field, term, boost) for term in lexical.terms(question)
            for field, boost in (("body", 1.0), ("title", lexical.TITLE_BOOST))]


def timed(times: dict[str, list[float]], key: str, work: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = work()
    times.setdefault(key, []).append((time.perf_counter() - start) * 1000)
    return result


def memory_mb() -> tuple[float, float]:
    """This process's resident set now and its peak so far (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def agreement(name: str, ours: list[list[tuple[int, float]]],
              theirs: list[list[tuple[int, float]]]) -> None:
    """Print how far another engine's top 100s (`theirs`) agree with tantivy's (`ours`),
    question by question: mean top-10 and top-100 overlaps, and how often the top 1 is
    the same."""
    top10, top100, first = [], [], 0
    for a_hits, b_hits in zip(ours, theirs, strict=True):
        a, b = [c for c, _ in a_hits], [c for c, _ in b_hits]
        if not a and not b:
            continue
        top10.append(len(set(a[:10]) & set(b[:10])) / max(len(a[:10]), 1))
        top100.append(len(set(a) & set(b)) / max(len(a), 1))
        first += bool(a and b and a[0] == b[0])
    print(f"agreement {name}: questions={len(top10)} top10_overlap={statistics.mean(top10):.3f} "
          f"top100_overlap={statistics.mean(top100):.3f} same_top1={first / len(top10):.3f}")


def report(times: dict[str, list[float]]) -> None:
    for key, values in times.items():
        values = sorted(values)
        p95 = values[max(0, round(0.95 * len(values)) - 1)]
        print(f"{key:34s} p50_ms={statistics.median(values):7.2f} p95_ms={p95:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--one-segment", type=Path)
    parser.add_argument("--share", type=float, default=0.5)
    args = parser.parse_args()
    generation = current_generation(args.index)
    if generation is None:
        sys.exit(f"--index {args.index}: no index there; build one with bench/scale.py")
    built = tantivy.Index.open(str(generation / LEXICAL_DIR)).searcher()
    single = one_segment_copy(generation, args.one_segment
                              or args.index.parent / "lexical-one-segment")
    asked = questions()[: args.queries]
    n = built.num_docs
    times: dict[str, list[float]]
    print(f"{tantivy.__version__} passages={n} segments_built={built.num_segments} "
          f"segments_copy={single.num_segments} questions={len(asked)}")

    times = {}
    for question in asked:
        query = union(clauses_of(question))
        timed(times, "pruning: full, top 1", lambda q=query: built.search(q, 1, count=False))
        timed(times, "pruning: full, top 100 and count",
              lambda q=query: built.search(q, 100, count=True))
        if not hasattr(built, "fast_field_values"):
            continue
        hits = built.search(query, 100, count=False).hits
        addresses = [address for _, address in hits]
        stored = timed(times, "chunk ids: stored documents, top 100",
                       lambda a=addresses: [built.doc(x)["chunk_id"][0] for x in a])
        column = timed(times, "chunk ids: fast field, top 100",
                       lambda a=addresses: built.fast_field_values("chunk_id", a))
        assert stored == column, "the fast field and the stored documents disagree"
    report(times)

    times = {}
    for i, question in enumerate(asked):
        query = union(clauses_of(question))
        turns = [("built", built), ("one segment", single)]
        for name, searcher in turns if i % 2 else turns[::-1]:
            timed(times, f"segments: {name}, full top 100",
                  lambda s=searcher, q=query: s.search(q, 100, count=False))
    report(times)

    times = {}
    depths = (100, 300, 500, 1000)
    certified = dict.fromkeys(depths, 0)
    with_common = 0
    for question in asked:
        clauses = clauses_of(question)
        common = [c for c in clauses if built.doc_freq(c[0], c[1]) > args.share * n]
        rare = [c for c in clauses if c not in common]
        full_query, rare_query = union(clauses), union(rare) if rare else None
        for k in (10, 100, 500):
            timed(times, f"top_k: full, k={k}",
                  lambda k=k, q=full_query: built.search(q, k, count=False))
            if rare_query is not None:
                timed(times, f"top_k: rare (share {args.share}), k={k}",
                      lambda k=k, q=rare_query: built.search(q, k, count=False))
        if not common or not rare:
            continue
        with_common += 1
        bound = sum(boost * (K1 + 1) * math.log(1 + (n - df + 0.5) / (df + 0.5))
                    for field, term, boost in common
                    for df in [built.doc_freq(field, term)])
        full = built.search(full_query, 100, count=False).hits
        for k in depths:
            top = built.search(rare_query, k, count=False).hits
            if len(full) < 100 or len(top) < k or full[-1][0] > top[-1][0] + bound:
                certified[k] += 1
    report(times)
    print(f"certified: questions with common and rare terms={with_common} " + " ".join(
        f"K={k}:{certified[k] / max(with_common, 1):.2f}" for k in depths))


if __name__ == "__main__":
    main()
