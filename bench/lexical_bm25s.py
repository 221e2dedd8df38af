"""Would bm25s (eager sparse BM25 in Python) answer the lexical side's top 100 within its
budget at a million passages, and with tantivy's ranking?

Usage: .venv/bin/pip install -e ".[bench]"     (bm25s and numba; not qa's dependencies)
       .venv/bin/python bench/lexical_bm25s.py --index DIR [--queries 150]
                                               [--tantivy-lengths]

On an index `bench/scale.py` built (DIR is its index folder), reads every live passage
(the store's `chunks`) with its document's title, analyses them with qa's own analyzer
(`qa.index.lexical.term_sequence`: tantivy's simple tokens, remove_long(40), lower case,
English stemmer, so both engines see the same terms) and builds bm25s indexes (method
"lucene", k1 1.2, b 0.75, float32): one over the bodies and one over the titles, each
passage a document. bm25s stores every (term, passage) BM25 score in a sparse matrix,
term by term, and a question sums its terms' columns into a dense array of every
passage's score, then selects the top k.

The two matrices are joined into one (the title columns scaled by qa's TITLE_BOOST), so
bm25s can answer qa's real query (each question term on the body, plus on the title at
0.3), and a body-only query (body columns only). Then the same questions as
bench/lexical_pruning.py (SciFact's test claims, then the dev questions), warm (one
untimed pass first), taking turns question by question, each kind of query:
- tantivy: `qa.index.lexical`'s query (or the same without its title clauses) through
  `LexicalIndex._run`, as qa runs it (top 100, chunk ids read from stored documents),
  and tantivy's search alone (the same top 100 without reading chunk ids);
- bm25s, numpy backend (`retrieve`, one thread);
- bm25s, numba backend (`retrieve`, JIT-compiled scoring and top k, one thread).
Prints medians and p95 (ms), the build's time and memory (RSS), and agreement with
tantivy: mean overlap of the top 10 and top 100 sets, how often the top 1 is the same,
and tantivy's scores against bm25s's times (k1 + 1) (bm25s's "lucene" leaves out the
constant factor k1 + 1 of tantivy's tf part; tantivy also stores each passage's length
in one byte, rounded down, so its scores are not exactly those of the true lengths),
and, for tantivy's top 10 that bm25s's top 10 leaves out, how far below bm25s's 10th
score bm25s puts them (small gaps: near-ties that the lengths' rounding reorders).
With --tantivy-lengths, bm25s scores each passage on its length as tantivy stores it
(rounded down to one of 256 values, Lucene's one-byte scheme; the average length stays
the exact one, as tantivy's), to see whether that rounding is the whole difference.

The lexical folder is copied into a temporary folder first: nothing is written in DIR.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np
import tantivy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_pruning import agreement, memory_mb, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402

K = 100
K1, B = 1.2, 0.75


def round_lengths_as_tantivy() -> None:
    """Make bm25s's builds score a passage on its length as tantivy's fieldnorm stores
    it: one byte, 0 to 39 exactly, then 3 significant bits (Lucene's SmallFloat
    `intToByte4`, kept in tantivy's `fieldnorm/code.rs`), rounded down."""

    def decoded(code: int) -> int:
        if code < 24:
            return code
        bits, shift = (code - 24) & 7, (code - 24) >> 3
        return 24 + (bits if shift == 0 else (bits | 8) << (shift - 1))

    table = [decoded(code) for code in range(256)]
    select = bm25s.scoring._select_tfc_scorer

    def rounded_select(method: str) -> Callable[..., object]:
        tfc = select(method)

        def rounded(tf_array, l_d, l_avg, k1, b, delta=None):  # type: ignore[no-untyped-def]
            length = table[bisect.bisect_right(table, l_d) - 1]
            return tfc(tf_array=tf_array, l_d=length, l_avg=l_avg, k1=k1, b=b, delta=delta)

        return rounded

    bm25s.scoring._select_tfc_scorer = rounded_select


def passages(store: Path) -> tuple[np.ndarray, list[array], list[array], dict[str, int],
                                   dict[str, int]]:
    """Every live passage's chunk id and its body's and title's term ids (qa's analyzer),
    with the two vocabularies. A document's title is analysed once; its passages share it."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for doc_id, cid, start, end in db.execute(
            "SELECT doc_id, id, start, end FROM chunks ORDER BY doc_id, id"):
        spans.setdefault(doc_id, []).append((cid, start, end))
    body_vocab: dict[str, int] = {}
    title_vocab: dict[str, int] = {}
    chunk_ids, bodies, titles = [], [], []
    for doc_id, title, text in db.execute("SELECT id, title, text FROM documents ORDER BY id"):
        title_ids = array("i", [title_vocab.setdefault(t, len(title_vocab))
                                for t in lexical.term_sequence(title)])
        for cid, start, end in spans.pop(doc_id, ()):
            chunk_ids.append(cid)
            bodies.append(array("i", [body_vocab.setdefault(t, len(body_vocab))
                                      for t in lexical.term_sequence(text[start:end])]))
            titles.append(title_ids)
    db.close()
    return np.array(chunk_ids, dtype=np.int64), bodies, titles, body_vocab, title_vocab


def build(ids: list[array], vocab: dict[str, int]) -> dict:
    engine = bm25s.BM25(method="lucene", k1=K1, b=B)
    engine.index((ids, vocab), create_empty_token=False, show_progress=False)
    return engine.scores


def joined(body: dict, title: dict, boost: float) -> dict:
    """One score matrix: the body's term columns, then the title's scaled by `boost`."""
    offset = body["indptr"][-1]
    return {"data": np.concatenate([body["data"], (title["data"] * boost).astype(np.float32)]),
            "indices": np.concatenate([body["indices"], title["indices"]]),
            "indptr": np.concatenate([body["indptr"], title["indptr"][1:] + offset]),
            "num_docs": body["num_docs"]}


def engine(scores: dict, vocab: dict[str, int], backend: str) -> bm25s.BM25:
    found = bm25s.BM25(method="lucene", k1=K1, b=B, backend=backend)
    found.scores, found.vocab_dict = scores, vocab
    found.unique_token_ids_set = set(vocab.values())
    found.nonoccurrence_array = None
    return found


def body_query(found: list[str]) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(lexical.SCHEMA, "body", t))
         for t in found])


def score_agreement(name: str, tantivy_hits: list[list[tuple[int, float]]],
                    bm25s_hits: list[list[tuple[int, float]]],
                    exact: list[dict[int, float]]) -> None:
    """The overlaps (`agreement`), then tantivy's score over bm25s's x (k1+1) for
    tantivy's top 100 (`exact`: bm25s's score of every passage, by chunk id)."""
    agreement(name, tantivy_hits, bm25s_hits)
    ratios, gaps = [], []
    for ours, theirs, scores in zip(tantivy_hits, bm25s_hits, exact, strict=True):
        a, b = [c for c, _ in ours], [c for c, _ in theirs]
        ratios += [score / ((K1 + 1) * scores[c]) for c, score in ours if scores.get(c)]
        # how far below bm25s's own 10th score bm25s puts tantivy's top 10 it left out
        tenth = theirs[min(9, len(theirs) - 1)][1] if theirs else 0.0
        gaps += [1 - scores.get(c, 0.0) / tenth for c in a[:10] if c not in b[:10] and tenth]
    ratios_sorted = sorted(ratios)
    spread = [abs(r - 1) for r in ratios]
    print(f"  score tantivy/(bm25s*(k1+1)) over tantivy's top 100: "
          f"median={statistics.median(ratios):.4f} min={ratios_sorted[0]:.4f} "
          f"max={ratios_sorted[-1]:.4f} mean |1-r|={statistics.mean(spread):.4f}")
    if gaps:
        print(f"  tantivy's top 10 missing from bm25s's ({len(gaps)}): their bm25s score "
              f"below bm25s's 10th by median {statistics.median(gaps):.2%}, "
              f"at most {max(gaps):.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--tantivy-lengths", action="store_true")
    args = parser.parse_args()
    if args.tantivy_lengths:
        round_lengths_as_tantivy()
    generation = current_generation(args.index)
    if generation is None:
        sys.exit(f"--index {args.index}: no index there; build one with bench/scale.py")
    copy = Path(tempfile.mkdtemp(prefix="lexical-bm25s-"))
    try:
        run(generation, copy / LEXICAL_DIR, args.queries, args.tantivy_lengths)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run(generation: Path, lexical_copy: Path, count: int, tantivy_lengths: bool) -> None:
    shutil.copytree(generation / LEXICAL_DIR, lexical_copy,
                    ignore=shutil.ignore_patterns(".tantivy-*.lock"))
    index = lexical.LexicalIndex(lexical_copy)
    rss_start, _ = memory_mb()

    start = time.perf_counter()
    chunk_ids, bodies, titles, body_vocab, title_vocab = passages(generation / STORE_FILE)
    tokenize_s = time.perf_counter() - start
    rss_tokens, _ = memory_mb()
    tokens = sum(len(b) for b in bodies)
    start = time.perf_counter()
    body = build(bodies, body_vocab)
    body_s = time.perf_counter() - start
    start = time.perf_counter()
    title = build(titles, title_vocab)
    title_s = time.perf_counter() - start
    del bodies, titles
    gc.collect()
    rss_built, peak_built = memory_mb()
    body_mb = sum(body[k].nbytes for k in ("data", "indices", "indptr")) / 2**20
    title_mb = sum(title[k].nbytes for k in ("data", "indices", "indptr")) / 2**20
    scores = joined(body, title, lexical.TITLE_BOOST)
    del body, title
    gc.collect()
    vocab = {**{f"b:{t}": i for t, i in body_vocab.items()},
             **{f"t:{t}": len(body_vocab) + i for t, i in title_vocab.items()}}
    engines = {name: engine(scores, vocab, name) for name in ("numpy", "numba")}
    rss_joined, peak = memory_mb()
    print(f"bm25s {bm25s.__version__} tantivy-py (pinned 0.25) passages={len(chunk_ids)} "
          f"tantivy_docs={index.count()} body_tokens={tokens} body_terms={len(body_vocab)} "
          f"title_terms={len(title_vocab)} stored_scores={len(scores['data'])} "
          f"bm25s_lengths={'as tantivy stores them' if tantivy_lengths else 'exact'}")
    print(f"build: analyse (qa's analyzer, from SQLite) {tokenize_s:.1f} s, bm25s body "
          f"{body_s:.1f} s, bm25s titles {title_s:.1f} s")
    print(f"memory: RSS {rss_start:.0f} MB before, {rss_tokens:.0f} MB with the term ids, "
          f"{rss_built:.0f} MB with both bm25s indexes built (their arrays: body "
          f"{body_mb:.0f} MB, titles {title_mb:.0f} MB), {rss_joined:.0f} MB joined; "
          f"peak {max(peak, peak_built):.0f} MB")

    asked = questions()[:count]
    found = [lexical.terms(q) for q in asked]
    queries: dict[str, dict[str, Callable[[list[str]], list[tuple[int, float]]]]] = {}
    for kind, fields in (("full", ("b", "t")), ("body", ("b",))):
        tantivy_query = (lexical._query if kind == "full" else body_query)

        def bm25s_top(terms: list[str], name: str, fields: tuple[str, ...] = fields
                      ) -> list[tuple[int, float]]:
            tokens = [f"{f}:{t}" for f in fields for t in terms if f"{f}:{t}" in vocab]
            if not tokens:
                return []
            rows, values = engines[name].retrieve([tokens], k=K, show_progress=False,
                                                  n_threads=0)
            return [(int(c), float(s)) for c, s in zip(chunk_ids[rows[0]], values[0],
                                                       strict=True) if s > 0]

        queries[kind] = {
            "tantivy": lambda t, q=tantivy_query: index._run(q(t), K) if t else [],
            "tantivy search alone": lambda t, q=tantivy_query: [
                (a.segment_ord, s) for s, a in
                index.index.searcher().search(q(t), K, count=False).hits] if t else [],
            "bm25s numpy": lambda t, f=bm25s_top: f(t, "numpy"),
            "bm25s numba": lambda t, f=bm25s_top: f(t, "numba"),
        }

    for kind in queries:  # warm: the numba functions compile, the pages come in
        for run_one in queries[kind].values():
            for terms in found:
                run_one(terms)
    times: dict[str, list[float]] = {}
    hits: dict[str, list[list[tuple[int, float]]]] = {}
    for i, terms in enumerate(found):
        for kind, runs in queries.items():
            names = list(runs)
            turn = i % len(names)
            for name in names[turn:] + names[:turn]:
                got = timed(times, f"{kind}: {name}, top {K}",
                            lambda r=runs[name], t=terms: r(t))
                hits.setdefault(f"{kind}: {name}", []).append(got)
    print(f"questions={len(found)} (warm, taking turns; medians and p95 in ms)")
    report(dict(sorted(times.items())))

    row_of = {int(c): row for row, c in enumerate(chunk_ids)}
    for kind, fields in (("full", ("b", "t")), ("body", ("b",))):
        exact = []  # bm25s's score of each of tantivy's top 100
        for terms, ours in zip(found, hits[f"{kind}: tantivy"], strict=True):
            ids = [vocab[f"{f}:{t}"] for f in fields for t in terms if f"{f}:{t}" in vocab]
            every = engines["numba"].get_scores(ids) if ids else None
            exact.append({c: float(every[row_of[c]]) for c, _ in ours} if ids else {})
        for name in ("bm25s numpy", "bm25s numba"):
            score_agreement(f"{kind}: tantivy vs {name}", hits[f"{kind}: tantivy"],
                            hits[f"{kind}: {name}"], exact)
        tie = sum(1 for ours in hits[f"{kind}: tantivy"]
                  if len(ours) == K and ours[-2][1] == ours[-1][1])
        print(f"  {kind}: tantivy top 100s with a tie at the 100th score: {tie}")


if __name__ == "__main__":
    main()
