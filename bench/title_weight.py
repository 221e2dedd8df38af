"""BM25's title weight: each value measured on BM25 alone, chosen leaving one set out.

Usage: .venv/bin/python bench/title_weight.py --root DIR --scifact-index DIR

The lexical query weighs a question word found in the document's title by
`qa.index.lexical.TITLE_BOOST` against one found in the passage's body (tantivy 0.25
exposes no other BM25 parameter: k1 and b are fixed at 1.2 and 0.75). The weight acts at
query time, so one index serves every value. For each value of WEIGHTS, BM25's own
ranking (`lexical.search`, top 10, no dense side, no reranking) is scored on dev and
squad-dev (indexed under DIR/dev and DIR/squad-dev, as bench/refit.py leaves them: MRR@10
over answerable questions, a passage counting when it holds the answer) and on SciFact
train claims (nDCG@10, abstracts ranked by their first passage). The value chosen for
each set is the one with the best mean over the two other sets (leave one set out); its
figure on the held-out set is printed beside that set's best and today's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from qa.evaluation.beir import load_beir_queries, trec_scores
from qa.evaluation.questions import Question, load_questions
from qa.index import lexical
from qa.search.searcher import Searcher

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WEIGHTS = (0.0, 0.15, 0.3, 0.6, 1.0, 2.0)


def mrr(searcher: Searcher, questions: list[Question]) -> float:
    total, n = 0.0, 0
    for q in questions:
        if not q.answerable:
            continue
        n += 1
        ids = [cid for cid, _ in searcher.lexical.search(q.question, 10)]
        passages = searcher.store.passages(ids)
        for rank, cid in enumerate(ids, 1):
            p = passages[cid]
            held = (q.contains_span(p.path, p.start, p.end) if q.spans
                    else q.answered_by(p.text))
            if held:
                total += 1.0 / rank
                break
    return total / n


def ndcg(searcher: Searcher, claims: dict[str, str], qrels: dict[str, dict[str, int]]) -> float:
    doc_of = {cid: Path(path).stem for cid, path in searcher.store.chunk_paths().items()}
    run = {}
    for qid, claim in claims.items():
        docs: dict[str, float] = {}
        for rank, (cid, _) in enumerate(searcher.lexical.search(claim, 100)):
            docs.setdefault(doc_of[cid], -float(rank))
        run[qid] = docs
    return trec_scores({q: qrels[q] for q in claims}, run)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="holds dev/ and squad-dev/ indexes")
    parser.add_argument("--scifact-index", required=True)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    sets = {"dev": (root / "dev", load_questions(SHARED / "eval/dev.jsonl")),
            "squad-dev": (root / "squad-dev",
                          load_questions(SHARED / "eval/squad-dev/questions.jsonl"))}
    claims, qrels = load_beir_queries(SHARED / "benchmarks/scifact", "train")
    table: dict[str, list[float]] = {}
    for name, (index, questions) in sets.items():
        searcher = Searcher(index)
        try:
            table[name] = []
            for w in WEIGHTS:
                lexical.TITLE_BOOST = w
                table[name].append(mrr(searcher, questions))
        finally:
            searcher.close()
    searcher = Searcher(Path(args.scifact_index).resolve())
    try:
        held = {Path(p).stem for p in searcher.store.chunk_paths().values()}
        mine = {q: c for q, c in claims.items() if set(qrels[q]) <= held}
        table["scifact train"] = []
        for w in WEIGHTS:
            lexical.TITLE_BOOST = w
            table["scifact train"].append(ndcg(searcher, mine, qrels))
    finally:
        searcher.close()
    print(f"BM25 alone; SciFact train: {len(mine)} claims, {len(held)} abstracts")
    print(f"{'title weight':<14}" + "".join(f"{n:>15}" for n in table))
    for i, w in enumerate(WEIGHTS):
        print(f"{w:<14}" + "".join(f"{v[i]:>15.4f}" for v in table.values()))
    today = WEIGHTS.index(0.3)
    for name in table:
        others = np.mean([v for n, v in table.items() if n != name], axis=0)
        chosen = int(np.argmax(others))
        print(f"held out {name:<14} chosen on the others {WEIGHTS[chosen]}:"
              f" {table[name][chosen]:.4f} (best {max(table[name]):.4f},"
              f" 0.3 today {table[name][today]:.4f})")


if __name__ == "__main__":
    main()
