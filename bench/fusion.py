"""Compare fusion methods on the dev questions and on SciFact's train split.

Usage: .venv/bin/python bench/fusion.py [--beir ../shared/benchmarks/scifact]

Candidates are computed once per question (both scores for the whole pool), then every
fusion variant is replayed on them, so the comparison is exact and cheap. Tuning uses
SciFact *train* only; the test split is reported by `qa eval --beir`.
Selection rule: the best mean of (dev MRR@10, SciFact-train nDCG@10).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa.evaluation.beir import (
    beir_paths,
    beir_runs,
    load_beir_queries,
    materialise_beir_corpus,
    trec_scores,
)
from qa.evaluation.questions import load_questions, score_questions
from qa.index.layout import index_exists
from qa.index.writer import update_index
from qa.search.fusion import Fusion
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]


def variants() -> dict[str, tuple[str, Fusion]]:
    out: dict[str, tuple[str, Fusion]] = {"bm25": ("bm25", Fusion("rrf")),
                                          "dense": ("dense", Fusion("rrf"))}
    for k in (10, 30, 60):
        for w in (0.3, 0.4, 0.5, 0.6, 0.7):
            out[f"rrf k={k} w={w}"] = ("hybrid", Fusion("rrf", w, k))
    for method in ("minmax", "zscore"):
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            out[f"{method} w={w}"] = ("hybrid", Fusion(method, w))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beir", default=str(REPO.parent / "shared/benchmarks/scifact"))
    parser.add_argument("--dev", default=str(REPO.parent / "shared/eval/dev.jsonl"))
    args = parser.parse_args()
    paths = Paths.resolve()
    if not index_exists(paths.index):
        update_index(paths)
    table = variants()
    questions = load_questions(args.dev)
    searcher = Searcher(paths.index)
    dev = {}
    for name, (mode, fusion) in table.items():
        s = score_questions(searcher, questions, mode, fusion)
        dev[name] = (s.hit1, s.hit3, s.mrr10, s.answerable)
    searcher.close()

    beir_dir = Path(args.beir).resolve()
    bpaths = beir_paths(paths, beir_dir)
    materialise_beir_corpus(beir_dir, bpaths.corpus)
    update_index(bpaths)
    queries, qrels = load_beir_queries(beir_dir, "train")
    searcher = Searcher(bpaths.index)
    runs = beir_runs(searcher, queries, table)
    searcher.close()
    beir = {name: trec_scores(qrels, run) for name, run in runs.items()}

    print(f"{'variant':<22}{'dev Hit@1':>10}{'dev Hit@3':>10}{'dev MRR':>9}"
          f"{'train nDCG@10':>15}{'train R@100':>13}{'mean':>8}")
    ranked = sorted(table, key=lambda n: -(dev[n][2] + beir[n][0]) / 2)
    for name in ranked:
        h1, h3, mrr, a = dev[name]
        ndcg, rec = beir[name]
        print(f"{name:<22}{h1:>7}/{a:<2}{h3:>7}/{a:<2}{mrr:>9.3f}{ndcg:>15.4f}{rec:>13.4f}"
              f"{(mrr + ndcg) / 2:>8.4f}")


if __name__ == "__main__":
    main()
