"""Turn retrieval evidence into a confidence that the corpus answers the question.

Fused scores only order passages; their scale says nothing about whether any passage
answers. The confidence is a logistic function of two signals with absolute meaning:
- the best answering sentence's cosine to the question (is anything about this?), and
- the question's coverage: the share of its IDF weight carried by words the corpus
  contains (a recipe asked of a politics corpus names things the corpus never says).
Coefficients are fitted by `bench/calibrate.py` (positives: the dev set's answerable
questions; negatives: its unanswerable ones plus SciFact claims, which this corpus
cannot answer) and copied here with the run's figures in docs/retrieval.md.
"""

from __future__ import annotations

import math

# Fitted by `bench/calibrate.py`.
SENTENCE_WEIGHT = 7.566
COVERAGE_WEIGHT = 5.287
BIAS = -6.837
THRESHOLD = 0.5


def confidence(best_sentence: float, coverage: float) -> float:
    """P(answerable) from the best sentence cosine and the question's coverage."""
    z = SENTENCE_WEIGHT * best_sentence + COVERAGE_WEIGHT * coverage + BIAS
    return 1.0 / (1.0 + math.exp(-z))
