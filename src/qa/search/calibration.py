"""Turn retrieval evidence into a confidence that the corpus answers the question.

Fused scores only order passages; their scale says nothing about whether any passage
answers. The confidence is a logistic function of signals with absolute meaning:
- the best sentence cosine to the question among the results (is anything about this?);
- the question's coverage: the share of its IDF weight carried by words the corpus
  contains (a recipe asked of a politics corpus names things the corpus never says);
- the top passage's marked sentence: its cosine and its overlap (the share of the
  question's IDF weight it says), and the highest overlap of any sentence in the results.
Coefficients are fitted by `bench/refit.py` (answerable against unanswerable questions of
dev and squad-dev, and SciFact claims asked of the dev corpus, which cannot answer them)
and live in `qa.search.fitted`, with the run's report in docs/quality-fit.txt. The top
passage's own overlap and the heaviest question term it lacks were tried as well and
lowered squad-dev's AUROC under cross-validation (0.621 to 0.609).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qa.search import fitted
from qa.search.answer_marking import MarkedPassage

THRESHOLD = 0.5
CONFIDENCE_FEATURES = ("best sentence cosine", "coverage", "top marked sentence cosine",
                       "top marked sentence overlap", "best sentence overlap")


def confidence_features(marks: Sequence[MarkedPassage], coverage: float) -> np.ndarray:
    """The CONFIDENCE_FEATURES of a question's results (marked passages in rank order)."""
    if not marks:
        return np.array([0.0, coverage, 0.0, 0.0, 0.0])
    top = marks[0]
    best = int(np.argmax(top.scores))
    return np.array([
        max(m.best_cosine for m in marks), coverage, float(top.features[best, 0]),
        float(top.features[best, 1]), max(float(m.features[:, 1].max()) for m in marks),
    ])


def confidence(features: np.ndarray) -> float:
    """P(answerable) from the CONFIDENCE_FEATURES, by the fitted model."""
    z = float(features @ np.asarray(fitted.CONFIDENCE)) + fitted.CONFIDENCE_BIAS
    return 1.0 / (1.0 + math.exp(-max(min(z, 500.0), -500.0)))
