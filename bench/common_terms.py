"""Leaving the corpus's most common terms out of the BM25 query: speed and quality.

Usage: .venv/bin/python bench/common_terms.py [--shares none 0.5 0.2 0.1]
                                             [--scale-index DIR] [--queries 150]

At a million passages most of a warm query is tantivy walking the postings of terms
that most passages hold (docs/scale.md). `qa.index.lexical.COMMON_SHARE` leaves terms
held by more than that share of the passages out of the query. For each share this
prints the quality on the real sets, with the real model, through the whole pipeline
(`qa eval` on dev and squad-dev, `qa eval --beir` on SciFact test; indexes are built
once, under index/, as `qa eval` does), and, with --scale-index (an index
bench/scale.py built), the lexical side's time there (top 100, then BM25 of 100 other
passages, as a query pays) and how many of full BM25's top 10 it keeps.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scale import questions  # noqa: E402

from qa.evaluation import beir as beir_eval  # noqa: E402
from qa.evaluation.questions import eval_paths, load_questions, score_questions  # noqa: E402
from qa.index import lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, current_generation  # noqa: E402
from qa.index.writer import update_index  # noqa: E402
from qa.search import fusion  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402
from qa.settings import Paths  # noqa: E402

SHARED = REPO.parent / "shared"
QUESTION_SETS = {"dev": SHARED / "eval" / "dev.jsonl",
                 "squad-dev": SHARED / "eval" / "squad-dev" / "questions.jsonl"}
SCIFACT = SHARED / "benchmarks" / "scifact"


def quality(paths: Paths) -> dict[str, str]:
    """Hybrid and BM25 figures on each set, with the share in force."""
    out = {}
    for name, file in QUESTION_SETS.items():
        qpaths = eval_paths(paths, file, corpus_given=False)
        update_index(qpaths, progress=False)
        searcher = Searcher(qpaths.index)
        try:
            asked = load_questions(str(file))
            for mode in ("bm25", "hybrid"):
                s = score_questions(searcher, asked, mode)
                out[f"{name} {mode}"] = (f"Hit@1={s.rate(s.hit1):.3f} Hit@3={s.rate(s.hit3):.3f}"
                                         f" MRR@10={s.mrr10:.3f}"
                                         f" marked={s.rate(s.top_marked):.3f}")
            out[f"{name} abstention"] = (
                f"unanswerable_rejected={s.rejected_unanswerable}/{s.unanswerable}"
                f" answerable_rejected={s.rejected_answerable}/{s.answerable}"
                f" auroc={s.auroc if s.auroc is None else round(s.auroc, 3)}")
        finally:
            searcher.close()
    bpaths = beir_eval.beir_paths(paths, SCIFACT)
    beir_eval.materialise_beir_corpus(SCIFACT, bpaths.corpus)
    update_index(bpaths, progress=False)
    queries, qrels = beir_eval.load_beir_queries(SCIFACT, "test")
    searcher = Searcher(bpaths.index)
    try:
        runs = beir_eval.beir_runs(searcher, queries,
                                   {m: (m, fusion.DEFAULT) for m in ("hybrid", "bm25")})
    finally:
        searcher.close()
    for mode, run in runs.items():
        ndcg, recall = beir_eval.trec_scores(qrels, run)
        out[f"scifact-test {mode}"] = f"nDCG@10={ndcg:.4f} Recall@100={recall:.4f}"
    return out


def speed(index: Path, count: int, full_top10: dict[str, set[int]]) -> str:
    """Median ms of the lexical side at `index`, and the share of full BM25's top 10 kept."""
    found = lexical.LexicalIndex(current_generation(index) / LEXICAL_DIR)
    others = random.Random(0).sample(range(1, found.count()), 100)
    times, kept = [], []
    for question in questions()[:count]:
        start = time.perf_counter()
        top = found.search(question, 100)
        found.scores(question, others)
        times.append((time.perf_counter() - start) * 1000)
        if question not in full_top10:
            full_top10[question] = {cid for cid, _ in top[:10]}
        kept.append(len(full_top10[question] & {cid for cid, _ in top[:10]}) / 10)
    return (f"lexical_p50_ms={statistics.median(times):.2f}"
            f" full_top10_kept={statistics.mean(kept):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", nargs="+", default=["none", "0.5", "0.2", "0.1"])
    parser.add_argument("--scale-index", type=Path)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    paths = Paths.resolve()
    full_top10: dict[str, set[int]] = {}
    shares = [None if s == "none" else float(s) for s in args.shares]
    if args.scale_index and shares[0] is not None:
        shares.insert(0, None)  # full BM25's top 10, the reference, comes first
    for share in shares:
        lexical.COMMON_SHARE = share
        print(f"== common share {share}", flush=True)
        if args.scale_index:
            print(f"  scale: {speed(args.scale_index, args.queries, full_top10)}", flush=True)
        if not args.no_quality:
            for name, line in quality(paths).items():
                print(f"  {name:<22} {line}", flush=True)


if __name__ == "__main__":
    main()
