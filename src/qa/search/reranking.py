"""Rerank the head of the fused ranking by what each passage says of the question.

Fusion weighs BM25 over the whole passage, where a word said once counts much as a word
said often, and the title not at all beside the body. The head (RERANK_DEPTH distinct
passages) is reordered by a linear model of:
- the fused score, z-scored within the head;
- the share of the question's IDF weight that the passage's text holds, and that its
  document's title holds (`QueryTerms`).
Every feature is normalised within the question's own head or weight, so no weight
depends on the scale of one BM25 engine. The weights are fitted by `bench/refit.py`
(pairwise logistic regression, cross-validated over dev, squad-dev and SciFact train
questions) and live in `qa.search.fitted`. It also tried each passage's best sentence
(cosine, as is and z-scored, and overlap), its best marking score, and each side's own
score in place of the fused one, with each question or each data set weighing the same:
every set holding a sentence feature raised squad-dev and cost dev one or two of its
thirteen questions, and the others did no better than these three (docs/quality-fit.txt).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.index.records import Passage
from qa.search import fitted
from qa.search.fusion import zscore
from qa.search.terms import QueryTerms

RERANK_DEPTH = 20
RANKING_FEATURES = ("fused score z", "passage overlap", "title overlap")


def ranking_features(fused: np.ndarray, passages: Sequence[Passage],
                     terms: QueryTerms) -> np.ndarray:
    """The RANKING_FEATURES of the head's passages, one row each."""
    titles = {title: terms.overlap(title) for title in {p.title for p in passages}}
    return np.column_stack([
        zscore(np.asarray(fused, dtype=np.float64)),
        terms.overlaps([p.text for p in passages]),
        np.array([titles[p.title] for p in passages]),
    ])


def reranked(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, scores): the head's positions best first by the fitted model (ties keep
    the fused order), and the model's score at each of those positions."""
    scores = features @ np.asarray(fitted.RANKING)
    order = np.argsort(-scores, kind="stable")
    return order, scores[order]
