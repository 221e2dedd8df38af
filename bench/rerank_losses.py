"""Which dev questions reranking by the passages' best marking score loses, and to what.

Usage: .venv/bin/python bench/rerank_losses.py [--weight 1.0] [--root DIR]

docs/quality-fit.txt shows that adding the best marking score (z-scored within the
head) to the fused score raises squad-dev and lowers dev. This prints, for each dev
question whose first relevant passage moves, the passages that overtake it: the fused
score z, the marking score z, and the marked sentence. Dev is indexed as in
bench/refit.py (DIR/dev, default index/refit/).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from refit import REPO, SHARED, ask, head_features

from qa.evaluation.questions import load_questions
from qa.index.writer import update_index
from qa.search import fitted
from qa.search.reranking import RANKING_FEATURES
from qa.search.searcher import Searcher
from qa.settings import Paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight", type=float, default=1.0,
                        help="weight of the marking score z beside the fused score z (1)")
    parser.add_argument("--root", default=str(REPO / "index" / "refit"))
    args = parser.parse_args()
    fitted.RANKING = tuple(np.eye(len(RANKING_FEATURES))[0])  # the fused order
    paths = Paths(REPO / "corpus", Path(args.root).resolve() / "dev")
    update_index(paths, progress=False)
    searcher = Searcher(paths.index)
    try:
        dev = ask(searcher, "dev", [q for q in load_questions(SHARED / "eval/dev.jsonl")
                                    if q.answerable])
    finally:
        searcher.close()
    w = np.zeros(len(RANKING_FEATURES) + 2)
    w[0], w[len(RANKING_FEATURES)] = 1.0, args.weight
    for a in dev:
        a.marks = [replace(m, scores=m.features @ np.asarray(fitted.MARKING)) for m in a.marks]
        f = head_features(a)
        order = list(np.argsort(-(f @ w), kind="stable"))
        relevant = [i for i in order if a.relevant[i]]
        fused_first = next((i for i in range(len(order)) if a.relevant[i]), None)
        if not relevant or order.index(relevant[0]) == fused_first:
            continue
        print(f"{a.question.question}\n  answer: fused rank {fused_first + 1}, now rank"
              f" {order.index(relevant[0]) + 1}")
        for i in [*order[: order.index(relevant[0]) + 1]]:
            h = a.answer.hits[i]
            print(f"  {'answer' if a.relevant[i] else 'over it':<8}fused z {f[i, 0]:+.2f}"
                  f"  marking z {f[i, len(RANKING_FEATURES)]:+.2f}  {h.answer[:110]!r}")


if __name__ == "__main__":
    main()
