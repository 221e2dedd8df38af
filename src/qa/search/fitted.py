"""Fitted weights of answer marking, reranking and the confidence.

Written by `bench/refit.py`, which fits them with cross-validation and writes its report
to docs/quality-fit.txt; re-run it (do not edit by hand) when the lexical engine, the
chunker or the stored vectors change.
"""

# answer_marking.MARKING_FEATURES
MARKING = (3.4621, 6.7643, 0.7217, 0.0982)
# reranking.RANKING_FEATURES
RANKING = (1.3726, 2.4449, 1.4959)
# calibration.CONFIDENCE_FEATURES
CONFIDENCE = (3.6426, 1.7915, 4.2148, -1.8513, -0.6857)
CONFIDENCE_BIAS = -3.4603
