"""Fitted weights of answer marking, reranking and the confidence.

Written by `bench/refit.py`, which fits them with cross-validation and writes its report
to docs/quality-fit.txt; re-run it (do not edit by hand) when the lexical engine, the
chunker or the stored vectors change.
"""

# answer_marking.MARKING_FEATURES
MARKING = (3.4645, 5.9414, 1.0191, 0.3435)
# reranking.RANKING_FEATURES
RANKING = (1.3726, 2.4449, 1.4959)
# calibration.CONFIDENCE_FEATURES
CONFIDENCE = (3.4392, 1.8417, 3.6758, -2.0471, -0.7079)
CONFIDENCE_BIAS = -3.4198
