"""Fitted weights of answer marking, reranking and the confidence.

Written by `bench/refit.py`, which fits them with cross-validation and writes its report
to docs/quality-fit.txt; re-run it (do not edit by hand) when the lexical engine, the
chunker or the stored vectors change.
"""

# answer_marking.MARKING_FEATURES
MARKING = (3.4646, 5.9411, 1.0192, 0.3432)
# reranking.RANKING_FEATURES
RANKING = (1.3726, 2.4449, 1.4959)
# calibration.CONFIDENCE_FEATURES
CONFIDENCE = (3.4416, 1.8415, 3.6748, -2.0470, -0.7096)
CONFIDENCE_BIAS = -3.4198
